/** A task as the API returns it. */
export type Task = {
  id: string;
  user_id: string;
  title: string;
  description: string | null;
  completed: boolean;
  created_at: string;
  updated_at: string;
  version: number;
};

/** One page of the list: `next_cursor` loads the next. */
export type TaskPage = { items: Task[]; next_cursor: string | null };

/** Every problem's `type`, from the API and from the backend-for-frontend: this, then its kind. */
export const PROBLEM_TYPE_PREFIX = "tag:taskgate,2026:problem:";

/** An RFC 9457 problem as the API and the backend-for-frontend send it. */
export type Problem = { type: string; title: string; status: number; detail: string };

/** One of the user's sessions as the devices page shows it (times in ISO 8601). */
export type Device = {
  id: string;
  browser: string;
  os: string;
  signedInAt: string;
  lastActiveAt: string;
  current: boolean;
};
