// The one API client module: what every backend-for-frontend route handler does. Checks that a
// state-changing request comes from this app (CSRF), reads the Better Auth session from the
// cookie, refuses a body larger than the API accepts, attaches the user's API token and calls the
// Rust API at API_URL on the session user's own path. Its own answers are problems in the API's
// `type` scheme. Server only.
import "server-only";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { dropApiTokens, getApiToken, getSession, settings, type Session } from "./auth";
import { PROBLEM_TYPE_PREFIX, type Problem, type TaskPage } from "./types";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Headers passed through from the browser to the API, and back. */
const REQUEST_HEADERS = ["content-type", "if-match", "idempotency-key"];
const RESPONSE_HEADERS = ["content-type", "etag", "idempotent-replayed", "retry-after", "allow"];
const TASK_ID = /^[0-9A-Za-z]{1,64}$/;
/** The API's own limit on a request body; a larger one is refused here, before it is read whole. */
const MAX_BODY_BYTES = 16 * 1024;

/** The problems the backend-for-frontend answers itself, by kind: status and title. */
const PROBLEMS = {
  "csrf-refused": [403, "Forbidden"],
  unauthorized: [401, "Unauthorized"],
  "not-found": [404, "Not Found"],
  "body-too-large": [413, "Payload Too Large"],
  "invalid-report": [400, "Bad Request"],
  "api-unreachable": [502, "Bad Gateway"],
  "api-rejects-tokens": [502, "Bad Gateway"],
} as const;

export type ProblemKind = keyof typeof PROBLEMS;

/** An RFC 9457 answer whose `type` follows the API's scheme (`tag:taskgate,2026:problem:<kind>`). */
export function problem(kind: ProblemKind, detail: string): Response {
  const [status, title] = PROBLEMS[kind];
  const body: Problem = { type: `${PROBLEM_TYPE_PREFIX}${kind}`, title, status, detail };
  return Response.json(body, {
    status,
    headers: { "content-type": "application/problem+json", "cache-control": "no-store" },
  });
}

/**
 * CSRF: a state-changing request must say it comes from this app's own origin (`Origin`), or
 * the browser must say it is same-origin (`Sec-Fetch-Site`). Anything else is refused.
 */
export function fromThisApp(request: Request): boolean {
  if (SAFE_METHODS.has(request.method)) return true;
  const origin = request.headers.get("origin");
  if (origin !== null) return origin === settings().origin;
  return request.headers.get("sec-fetch-site") === "same-origin";
}

type Call = { method: string; path: string; query?: URLSearchParams; body?: Uint8Array<ArrayBuffer>; headers?: Headers };

/** One request to the API on the session user's own path (`/api/{user_id}` + `call.path`) with `token`. */
export function sendToApi(session: Session, token: string, call: Call): Promise<Response> {
  const query = call.query && [...call.query].length > 0 ? `?${call.query}` : "";
  const url = `${settings().apiURL}/api/${encodeURIComponent(session.user.id)}${call.path}${query}`;
  const headers = new Headers(call.headers);
  headers.set("authorization", `Bearer ${token}`);
  headers.set("accept", "application/json");
  return fetch(url, { method: call.method, headers, body: call.body, cache: "no-store" });
}

/**
 * Waits until the next whole second. A revocation refuses tokens issued before the whole second
 * after it (`iat` has whole seconds), and the one that refused a token may have been made in this
 * second (by anyone: this is not known here), so a token minted now could be refused as well.
 */
function nextWholeSecond(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000)));
}

/**
 * The answer when the API refuses a token the session was just given (401): the reason is
 * logged (the token's header and claims, the API's answer; never the token itself).
 */
export async function rejectsTokens(token: string, response: Response): Promise<Response> {
  const { alg, kid } = decodeProtectedHeader(token);
  const { iss, aud, iat, exp } = decodeJwt(token);
  const { detail } = (await response.json().catch(() => ({}))) as Partial<Problem>;
  const reason = { alg, kid, iss, aud, iat, exp, wwwAuthenticate: response.headers.get("www-authenticate"), detail };
  console.error("taskgate API refused this app's token:", JSON.stringify(reason));
  return problem("api-rejects-tokens", "The task service does not accept this app's sign-in tokens.");
}

/**
 * One call to the API as the session's user. A refused token is not an ended session: on a 401
 * the cached token is dropped and Better Auth asked for the session. Gone: 401 `unauthorized`.
 * Alive: a fresh token, minted in the next whole second, and one more try; refused again: 502
 * `api-rejects-tokens`, with the reason logged. So there is never a loop, nor a sign-out for a
 * token the API refuses while the session lives.
 */
export async function callApi(session: Session, requestHeaders: Headers, call: Call): Promise<Response> {
  const first = await sendToApi(session, await getApiToken(session, requestHeaders), call);
  if (first.status !== 401) return first;
  await first.arrayBuffer().catch(() => undefined); // read to the end, so the connection is reused
  dropApiTokens(session.session.id);
  if (!(await getSession(requestHeaders))) return problem("unauthorized", "Your session has ended. Please sign in again.");
  await nextWholeSecond();
  const fresh = await getApiToken(session, requestHeaders);
  const second = await sendToApi(session, fresh, call);
  if (second.status !== 401) return second;
  dropApiTokens(session.session.id);
  return rejectsTokens(fresh, second);
}

/** The API's answer for the browser: its status, body and a short list of headers. */
export function passThrough(response: Response): Response {
  const headers = new Headers({ "cache-control": "no-store" });
  for (const name of RESPONSE_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return new Response(response.status === 204 ? null : response.body, { status: response.status, headers });
}

/**
 * The request's body, or null when it is larger than `limit` (by default what the API accepts):
 * refused by its `Content-Length` before any of it is read, or as soon as a streamed body passes
 * the limit.
 */
export async function readBody(request: Request, limit = MAX_BODY_BYTES): Promise<Uint8Array<ArrayBuffer> | null> {
  if (Number(request.headers.get("content-length")) > limit) return null;
  const body = new Uint8Array(limit);
  let size = 0;
  const reader = request.body?.getReader();
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > limit) {
      await reader.cancel();
      return null;
    }
    body.set(value, size);
    size += value.byteLength;
  }
  return body.slice(0, size);
}

/** A route handler's whole job: CSRF check, session, then the API call it describes. */
export async function forward(request: Request, path: string, query?: URLSearchParams): Promise<Response> {
  if (!fromThisApp(request)) {
    return problem("csrf-refused", "This request did not come from this app.");
  }
  const session = await getSession(request.headers);
  if (!session) return problem("unauthorized", "Please sign in.");
  const headers = new Headers();
  for (const name of REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  if (request.method === "POST" && !headers.has("idempotency-key")) {
    headers.set("idempotency-key", crypto.randomUUID());
  }
  const body = SAFE_METHODS.has(request.method) || request.method === "DELETE" ? undefined : await readBody(request);
  if (body === null) {
    return problem("body-too-large", `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
  }
  try {
    return passThrough(await callApi(session, request.headers, { method: request.method, path: `/tasks${path}`, query, body, headers }));
  } catch (error) {
    return unreachable(error);
  }
}

/** The answer when the API cannot be reached (logged). */
export function unreachable(error: unknown): Response {
  console.error("taskgate API unreachable:", error instanceof Error ? error.message : error);
  return problem("api-unreachable", "The task service cannot be reached. Try again in a moment.");
}

/** `/{id}` for a task id that is a plain id, or null (nothing else reaches the API's path). */
export function taskPath(id: string, suffix = ""): string | null {
  return TASK_ID.test(id) ? `/${id}${suffix}` : null;
}

/** Only the list parameters the API knows. */
export function listQuery(url: string): URLSearchParams {
  const from = new URL(url).searchParams;
  const query = new URLSearchParams();
  for (const name of ["status", "limit", "cursor"]) {
    const value = from.get(name);
    if (value) query.set(name, value);
  }
  return query;
}

/** The first page of the user's tasks for the server-rendered task page, or the problem met. */
export async function firstPage(session: Session, headers: Headers): Promise<TaskPage | { status: number; kind: string }> {
  const response = await callApi(session, headers, { method: "GET", path: "/tasks" }).catch(unreachable);
  if (response.ok) return (await response.json()) as TaskPage;
  const { type = "" } = (await response.json().catch(() => ({}))) as Partial<Problem>;
  return { status: response.status, kind: type.replace(PROBLEM_TYPE_PREFIX, "") };
}
