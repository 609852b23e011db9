// The API's types come from its contract, openapi.yaml at the repository's root:
// lib/api-types.ts is generated from it by openapi-typescript (`npm run api-types`, run before
// every build, dev server and type check), so web/ cannot drift from the API unnoticed.
import type { components } from "./api-types";

type Schemas = components["schemas"];

/** A task as the API returns it. */
export type Task = Schemas["Task"];

/** One page of the list: `next_cursor` loads the next. */
export type TaskPage = Schemas["TaskPage"];

/** The body of a create. */
export type NewTask = Schemas["NewTask"];

/** The body of an update. */
export type TaskChanges = Schemas["TaskChanges"];

/** Every problem's `type`, from the API and from the backend-for-frontend: this, then its kind. */
export const PROBLEM_TYPE_PREFIX = "tag:taskgate,2026:problem:";

/** An RFC 9457 problem as the API and the backend-for-frontend send it. */
export type Problem = Schemas["Problem"];

/** One of the user's sessions as the devices page shows it (times in ISO 8601). */
export type Device = {
  id: string;
  browser: string;
  os: string;
  signedInAt: string;
  lastActiveAt: string;
  current: boolean;
};
