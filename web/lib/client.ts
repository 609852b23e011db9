// The browser's side of the backend-for-frontend: calls /api/tasks and /api/sessions and turns
// the problem+json answers into words. No token ever passes through here.
import { PROBLEM_TYPE_PREFIX, type NewTask, type Problem, type Task, type TaskChanges, type TaskPage } from "./types";

export type { Task, TaskPage };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Words for a problem whose kind matters more than its status. */
const WORDS_BY_KIND = new Map([
  ["task-quota-exceeded", "You have reached your task limit. Delete some tasks to add more."],
  ["api-rejects-tokens", "The task service is not accepting this app's sign-in just now. You are still signed in: try again in a minute."],
]);

/** Words for the other problems, by status. */
const WORDS: Record<number, string> = {
  400: "That was not accepted",
  403: "You are not allowed to do that.",
  404: "That task no longer exists.",
  412: "This task was changed elsewhere. It has been reloaded: check it and try again.",
  413: "That is too long.",
  422: "That request was already sent with different content.",
  429: "Too many requests. Wait a moment and try again.",
  502: "The task service cannot be reached. Try again in a moment.",
  503: "The task service is busy. Try again in a moment.",
};

/** The words a person reads for a problem of this status and kind; `fallback` when there are none. */
export function problemWords(status: number, kind: string, { detail = "", fallback = "Something went wrong. Try again." } = {}): string {
  const text = WORDS_BY_KIND.get(kind) ?? WORDS[status] ?? fallback;
  return status === 400 && detail ? `${text}: ${detail}` : text;
}

/** The words a person reads for a problem answer. */
async function words(response: Response): Promise<string> {
  const problem = (await response.json().catch(() => ({}))) as Partial<Problem>;
  const kind = problem.type?.startsWith(PROBLEM_TYPE_PREFIX) ? problem.type.slice(PROBLEM_TYPE_PREFIX.length) : "";
  return problemWords(response.status, kind, { detail: problem.detail });
}

type Init = { body?: unknown; headers?: Record<string, string>; keepalive?: boolean };

async function request<T>(method: string, path: string, init: Init = {}): Promise<{ data: T; etag: string | null }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    credentials: "same-origin",
    cache: "no-store",
    keepalive: init.keepalive,
  });
  if (response.status === 401) {
    window.location.assign("/sign-in?notice=session-ended");
    throw new ApiError(401, "Your session has ended. Please sign in again.");
  }
  if (!response.ok) throw new ApiError(response.status, await words(response));
  const data = response.status === 204 ? (undefined as T) : ((await response.json()) as T);
  return { data, etag: response.headers.get("etag") };
}

function newKey(): string {
  return typeof crypto.randomUUID === "function" ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

const ifMatch = (task: Task) => ({ "if-match": `"${task.version}"` });

export const tasks = {
  list: (status: string, cursor?: string | null) => {
    const query = new URLSearchParams({ status, limit: "20" });
    if (cursor) query.set("cursor", cursor);
    return request<TaskPage>("GET", `/api/tasks?${query}`).then((r) => r.data);
  },
  get: (id: string) => request<Task>("GET", `/api/tasks/${id}`).then((r) => r.data),
  /** One key per submission: a double-click or a retry creates one task. */
  create: (title: string, description: string | null, key = newKey()) =>
    request<Task>("POST", "/api/tasks", { body: { title, description } satisfies NewTask, headers: { "idempotency-key": key } }).then((r) => r.data),
  update: (task: Task, title: string, description: string | null) =>
    request<Task>("PUT", `/api/tasks/${task.id}`, { body: { title, description } satisfies TaskChanges, headers: ifMatch(task) }).then((r) => r.data),
  toggle: (task: Task) => request<Task>("PATCH", `/api/tasks/${task.id}/complete`, { headers: ifMatch(task) }).then((r) => r.data),
  /** `keepalive`: the request outlives the page (sent as the page is left). */
  remove: (task: Task, { keepalive = false } = {}) =>
    request<void>("DELETE", `/api/tasks/${task.id}`, { headers: ifMatch(task), keepalive }).then(() => undefined),
  newKey,
};

/** Where the sign-in page goes after "sign out everywhere", by the answer's status. */
function afterSignOutEverywhere(status: number): string {
  if (status === 204) return "/sign-in?notice=signed-out-everywhere";
  if (status === 401) return "/sign-in?notice=session-ended";
  // Every session has ended, but the API was not told: tokens already issued live on until they expire.
  return "/sign-in?notice=signed-out-everywhere-unconfirmed";
}

export const sessions = {
  /** Signs out another of the user's devices. */
  signOut: (id: string) => request<void>("DELETE", `/api/sessions/${encodeURIComponent(id)}`).then(() => undefined),
  /** Signs out every device, this one too, then shows the sign-in page with what happened. */
  signOutEverywhere: async () => {
    const status = await fetch("/api/sessions", { method: "DELETE", credentials: "same-origin", cache: "no-store" }).then(
      (response) => response.status,
      () => 0,
    );
    window.location.assign(afterSignOutEverywhere(status));
  },
};
