import { forward, problem, taskPath } from "@/lib/api";
import { withSecurityHeaders } from "@/lib/security-headers";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ id: string }> };

const handle = withSecurityHeaders(async (request: Request, { params }: Context) => {
  const path = taskPath((await params).id);
  return path ? forward(request, path) : problem("not-found", "There is no such task.");
});

export { handle as GET, handle as PUT, handle as DELETE };
