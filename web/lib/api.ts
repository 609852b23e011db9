// The one API client module: what every backend-for-frontend route handler does. Checks that a
// state-changing request comes from this app (CSRF), reads the Better Auth session from the
// cookie, refuses a body larger than the API accepts, attaches the user's API token and calls the
// Rust API at API_URL on the session user's own path. Its own answers are problems in the API's
// `type` scheme. Server only.
import "server-only";
import { dropApiToken, getApiToken, getSession, settings, type Session } from "./auth";
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
  "api-unreachable": [502, "Bad Gateway"],
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

/** One call to the API as the session's user; a refused token is dropped and retried once. */
export async function callApi(session: Session, requestHeaders: Headers, call: Call): Promise<Response> {
  const { apiURL } = settings();
  const query = call.query && [...call.query].length > 0 ? `?${call.query}` : "";
  const url = `${apiURL}/api/${encodeURIComponent(session.user.id)}/tasks${call.path}${query}`;
  for (let attempt = 0; ; attempt++) {
    const headers = new Headers(call.headers);
    headers.set("authorization", `Bearer ${await getApiToken(session, requestHeaders)}`);
    headers.set("accept", "application/json");
    const response = await fetch(url, { method: call.method, headers, body: call.body, cache: "no-store" });
    if (response.status !== 401 || attempt > 0) return response;
    dropApiToken(session.session.id);
  }
}

function passThrough(response: Response): Response {
  const headers = new Headers({ "cache-control": "no-store" });
  for (const name of RESPONSE_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return new Response(response.status === 204 ? null : response.body, { status: response.status, headers });
}

/**
 * The request's body, or null when it is larger than the API accepts: refused by its
 * `Content-Length` before any of it is read, or as soon as a streamed body passes the limit.
 */
async function readBody(request: Request): Promise<Uint8Array<ArrayBuffer> | null> {
  if (Number(request.headers.get("content-length")) > MAX_BODY_BYTES) return null;
  const body = new Uint8Array(MAX_BODY_BYTES);
  let size = 0;
  const reader = request.body?.getReader();
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > MAX_BODY_BYTES) {
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
    const response = await callApi(session, request.headers, { method: request.method, path, query, body, headers });
    if (response.status === 401) dropApiToken(session.session.id);
    return passThrough(response);
  } catch (error) {
    console.error("taskgate API unreachable:", error instanceof Error ? error.message : error);
    return problem("api-unreachable", "The task service cannot be reached. Try again in a moment.");
  }
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

/** The first page of the user's tasks, for the server-rendered task page. */
export async function firstPage(session: Session, headers: Headers): Promise<TaskPage | { status: number }> {
  try {
    const response = await callApi(session, headers, { method: "GET", path: "" });
    if (!response.ok) return { status: response.status };
    return (await response.json()) as TaskPage;
  } catch {
    return { status: 502 };
  }
}
