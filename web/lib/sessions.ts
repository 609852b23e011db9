// The user's sessions: the devices page's list, and the two ways to end them, one device or
// every device. Each ends the Better Auth session(s) and revokes their API tokens at the API, so
// a token that already left (another instance's cache, a log, a proxy) stops working too, within
// the API's bound. Server only.
import "server-only";
import Bowser from "bowser";
import { dropApiTokens, getApiToken, getAuth, getSession, userSessions, type Session } from "./auth";
import { callApi, fromThisApp, passThrough, problem, rejectsTokens, sendToApi, unreachable } from "./api";
import type { Device } from "./types";

/** Browser (with its major version) and operating system, from a user agent. */
function describe(userAgent: string | null | undefined): { browser: string; os: string } {
  const { browser, os } = Bowser.parse(userAgent ?? "");
  const major = browser.version?.split(".")[0];
  return {
    browser: browser.name ? [browser.name, major].filter(Boolean).join(" ") : "Unknown browser",
    os: os.name || "an unknown system",
  };
}

/** The user's sessions, this one first, then the most recently active. */
export async function devices(session: Session): Promise<Device[]> {
  const sessions = await userSessions(session.user.id);
  return sessions
    .map((s) => ({
      id: s.id,
      ...describe(s.userAgent),
      signedInAt: new Date(s.createdAt).toISOString(),
      lastActiveAt: new Date(s.updatedAt).toISOString(),
      current: s.id === session.session.id,
    }))
    .sort((a, b) => Number(b.current) - Number(a.current) || b.lastActiveAt.localeCompare(a.lastActiveAt));
}

/** `response` with Better Auth's cookie changes added (a signed-out session's cookie cleared). */
function withCookies(response: Response, from: Headers): Response {
  for (const cookie of from.getSetCookie()) response.headers.append("set-cookie", cookie);
  return response;
}

const noContent = () => new Response(null, { status: 204, headers: { "cache-control": "no-store" } });

/**
 * A plain sign-out of this session: before Better Auth ends it, its tokens are revoked at the API
 * (`DELETE /api/{user_id}/sessions/{id}`), so a token of it that already left (a log, a proxy,
 * another instance's cache) stops working too. Best effort: the sign-out goes on whatever the API
 * answers, and a failure is logged (the tokens then live until they expire). A cookie sign-out
 * must come from this app (CSRF); a native client's, with its bearer session token
 * (`AUTH_TOKEN_ENDPOINT=bearer`), cannot be forged by another site.
 */
export async function revokeOnSignOut(request: Request, session: Session): Promise<void> {
  const bearer = /^bearer\s/i.test(request.headers.get("authorization") ?? "");
  if (!bearer && !fromThisApp(request)) return;
  const path = `/sessions/${encodeURIComponent(session.session.id)}`;
  const revoked = await callApi(session, request.headers, { method: "DELETE", path }).catch(unreachable);
  if (revoked.status !== 204) {
    console.error(JSON.stringify({ event: "sign-out", outcome: "api-not-told", status: revoked.status }));
  }
}

/**
 * Signs out one of the user's sessions (`DELETE /api/sessions/{id}`): its tokens are revoked at
 * the API (`DELETE /api/{user_id}/sessions/{id}`), then its Better Auth session is ended and this
 * instance's cached token for it dropped. The id must name one of the user's own sessions.
 */
export async function signOutDevice(request: Request, id: string): Promise<Response> {
  if (!fromThisApp(request)) return problem("csrf-refused", "This request did not come from this app.");
  const session = await getSession(request.headers);
  if (!session) return problem("unauthorized", "Please sign in.");
  const target = (await userSessions(session.user.id)).find((s) => s.id === id);
  if (!target) return problem("not-found", "There is no such session.");
  // The API first: a revoked `sid` refuses every token of that session, even one minted later.
  const revoked = await callApi(session, request.headers, { method: "DELETE", path: `/sessions/${encodeURIComponent(id)}` }).catch(
    unreachable,
  );
  if (revoked.status !== 204) return passThrough(revoked);
  const auth = await getAuth();
  const { headers } = await auth.api.revokeSession({ headers: request.headers, body: { token: target.token }, returnHeaders: true });
  dropApiTokens(id);
  return withCookies(noContent(), headers);
}

/**
 * Signs out every session of the user (`DELETE /api/sessions`): with an API token taken while
 * this session is alive, every Better Auth session is ended, then every token issued so far is
 * revoked at the API (`DELETE /api/{user_id}/sessions`), in that order so that no token minted
 * in between escapes. This instance's cached tokens for them are dropped. The answer clears the
 * session cookie whatever the API says; a problem means the API was not told.
 */
export async function signOutEverywhere(request: Request): Promise<Response> {
  if (!fromThisApp(request)) return problem("csrf-refused", "This request did not come from this app.");
  const session = await getSession(request.headers);
  if (!session) return problem("unauthorized", "Please sign in.");
  const token = await getApiToken(session, request.headers).catch((error: unknown) => ({ error }));
  const ids = (await userSessions(session.user.id)).map((s) => s.id);
  const auth = await getAuth();
  const { headers } = await auth.api.revokeSessions({ headers: request.headers, returnHeaders: true });
  dropApiTokens(...ids);
  let answer: Response;
  try {
    if (typeof token !== "string") throw token.error;
    const response = await sendToApi(session, token, { method: "DELETE", path: "/sessions" });
    answer = response.status === 204 ? noContent() : response.status === 401 ? await rejectsTokens(token, response) : passThrough(response);
  } catch (error) {
    answer = unreachable(error);
  }
  return withCookies(answer, headers);
}
