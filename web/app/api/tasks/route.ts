import { forward, listQuery } from "@/lib/api";

export const dynamic = "force-dynamic";

export async function GET(request: Request) {
  return forward(request, "", listQuery(request.url));
}

export async function POST(request: Request) {
  return forward(request, "");
}
