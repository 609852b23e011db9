import { forward, problem, taskPath } from "@/lib/api";
import { withSecurityHeaders } from "@/lib/security-headers";

export const dynamic = "force-dynamic";

export const PATCH = withSecurityHeaders(async (request: Request, { params }: { params: Promise<{ id: string }> }) => {
  const path = taskPath((await params).id, "/complete");
  return path ? forward(request, path) : problem("not-found", "There is no such task.");
});
