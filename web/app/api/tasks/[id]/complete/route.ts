import { forward, problem, taskPath } from "@/lib/api";

export const dynamic = "force-dynamic";

export async function PATCH(request: Request, { params }: { params: Promise<{ id: string }> }) {
  const path = taskPath((await params).id, "/complete");
  return path ? forward(request, path) : problem("not-found", "There is no such task.");
}
