import { forward, problem, taskPath } from "@/lib/api";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ id: string }> };

async function handle(request: Request, { params }: Context) {
  const path = taskPath((await params).id);
  return path ? forward(request, path) : problem("not-found", "There is no such task.");
}

export { handle as GET, handle as PUT, handle as DELETE };
