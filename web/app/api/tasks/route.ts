import { forward, listQuery } from "@/lib/api";
import { withSecurityHeaders } from "@/lib/security-headers";

export const dynamic = "force-dynamic";

export const GET = withSecurityHeaders(async (request: Request) => forward(request, "", listQuery(request.url)));

export const POST = withSecurityHeaders(async (request: Request) => forward(request, ""));
