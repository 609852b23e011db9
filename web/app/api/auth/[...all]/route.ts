// Better Auth's own routes (sign-up, sign-in, sign-out, jwks), behind its trustedOrigins check.
// Two additions: sign-out also revokes the session's API tokens at the API and drops its cached
// one, and the token endpoint is closed: 404 for everyone, unless `AUTH_TOKEN_ENDPOINT=bearer`
// opens it to native clients presenting a session token (never a cookie, never a browser).
import { dropApiTokens, getAuth, getSession, settings } from "@/lib/auth";
import { problem } from "@/lib/api";
import { withSecurityHeaders } from "@/lib/security-headers";
import { revokeOnSignOut } from "@/lib/sessions";

export const dynamic = "force-dynamic";

/** Browsers send `Sec-Fetch-Site` on every request to a secure origin (https or loopback). */
function fromBrowser(request: Request): boolean {
  return request.headers.has("sec-fetch-site");
}

/**
 * `GET /api/auth/token`. The BFF mints API tokens in-process, so by default nobody gets one here.
 * With `AUTH_TOKEN_ENDPOINT=bearer`, a native client (not a browser) gets one for the session
 * whose token it presents (`Authorization: Bearer`); its cookies are not looked at.
 */
async function token(request: Request): Promise<Response> {
  const bearer = /^bearer\s+\S/i.test(request.headers.get("authorization") ?? "");
  if (settings().tokenEndpoint !== "bearer" || fromBrowser(request) || !bearer) {
    return problem("not-found", "There is no token endpoint here.");
  }
  const headers = new Headers(request.headers);
  headers.delete("cookie");
  return (await getAuth()).handler(new Request(request.url, { method: "GET", headers }));
}

/**
 * Better Auth's answer, without the bearer plugin's `set-auth-token` (the session token) when a
 * browser asked: page script can read that header, and the session stays in its httpOnly cookie.
 */
function forBrowser(request: Request, response: Response): Response {
  if (!fromBrowser(request) || !response.headers.has("set-auth-token")) return response;
  const headers = new Headers(response.headers);
  headers.delete("set-auth-token");
  headers.delete("access-control-expose-headers");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** The token endpoint's path, as Better Auth's router sees it (trailing slashes dropped). */
const isTokenEndpoint = (request: Request) => new URL(request.url).pathname.replace(/\/+$/, "") === "/api/auth/token";

export const GET = withSecurityHeaders(async (request: Request) => {
  if (isTokenEndpoint(request)) return token(request);
  return forBrowser(request, await (await getAuth()).handler(request));
});

export const POST = withSecurityHeaders(async (request: Request) => {
  const auth = await getAuth();
  if (!new URL(request.url).pathname.endsWith("/sign-out")) return forBrowser(request, await auth.handler(request));
  const session = await getSession(request.headers);
  if (session) await revokeOnSignOut(request, session);
  const response = await auth.handler(request);
  if (session && response.ok) dropApiTokens(session.session.id);
  return response;
});
