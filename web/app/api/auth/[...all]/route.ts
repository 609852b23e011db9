// Better Auth's own routes (sign-up, sign-in, sign-out, jwks, token), behind its trustedOrigins
// check. Two additions: sign-out also revokes the session's API tokens at the API and drops its
// cached one, and the token endpoint answers only clients that are not browsers, so no page
// script can obtain a JWT.
import { dropApiTokens, getAuth, getSession } from "@/lib/auth";
import { problem } from "@/lib/api";
import { revokeOnSignOut } from "@/lib/sessions";

export const dynamic = "force-dynamic";

/** Browsers send `Sec-Fetch-Site` on every request to a secure origin (https or loopback). */
function fromBrowser(request: Request): boolean {
  return request.headers.has("sec-fetch-site");
}

export async function GET(request: Request) {
  if (new URL(request.url).pathname.endsWith("/token") && fromBrowser(request)) {
    return problem("not-found", "API tokens are not given to browsers.");
  }
  return (await getAuth()).handler(request);
}

export async function POST(request: Request) {
  const auth = await getAuth();
  if (!new URL(request.url).pathname.endsWith("/sign-out")) return auth.handler(request);
  const session = await getSession(request.headers);
  if (session) await revokeOnSignOut(request, session);
  const response = await auth.handler(request);
  if (session && response.ok) dropApiTokens(session.session.id);
  return response;
}
