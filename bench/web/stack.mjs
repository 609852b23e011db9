// The stack the front-end benchmarks run against: `next start` of web/'s build and
// `taskgate-local` (JWKS mode, in-memory store), started by web/test/helpers.mjs, with one user
// who has TASKS tasks (a full first page of 50), the user's session cookie, and an API token of
// the user's for calling the API directly. The servers are pinned to one core, this process (the
// load generator, the browser) to another.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { API_BINARY, NATIVE_TOKENS, Visitor, startStack } from "../../web/test/helpers.mjs";

/** More than a page (the API's default limit is 50), so the first page is full. */
export const TASKS = 60;
/** The first page the task page renders, and the list the load runs ask for. */
export const PAGE = 50;

/** Which build of `taskgate-local` runs: "release" or "debug" (from its path), and the path. */
export function apiBuild() {
  const build = /\/release\//.test(API_BINARY) ? "release" : /\/debug\//.test(API_BINARY) ? "debug" : "unknown build";
  return { build, path: API_BINARY };
}

/** The cores this process may run on. */
function allowedCores() {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "";
  return list.split(",").flatMap((range) => {
    const [from, to = from] = range.split("-").map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

function hasTaskset() {
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * The split of the machine: `server` for the front end and the API, `client` for this process and
 * what it starts afterwards (autocannon runs in it; Chromium inherits it). Null when there are
 * fewer than two cores or no `taskset` (nothing is pinned then, and the report says so).
 */
export function coreSplit() {
  const cores = allowedCores();
  if (cores.length < 2 || !hasTaskset()) return null;
  return { server: cores[0], client: cores[1] };
}

/** Pins every thread of `pid` to `core` (`taskset -a -p`). */
export function pin(pid, core) {
  execFileSync("taskset", ["-a", "-p", "-c", String(core), String(pid)], { stdio: "ignore" });
}

/**
 * The stack with one user and TASKS tasks made through the front end. Answers the stack, the
 * user's cookie header and a direct API token (`token`, minted by Better Auth for another session
 * of the same user, through a second front end instance with the token endpoint open: the
 * measured instance keeps the default settings).
 */
export async function stackWithTasks({ webEnv = {}, split = coreSplit() } = {}) {
  if (split) pin(process.pid, split.client);
  const stack = await startStack({ mode: "jwks", webEnv });
  try {
    if (split) for (const pid of [stack.web.child.pid, stack.api.child.pid]) pin(pid, split.server);
    const user = new Visitor(stack.baseURL);
    await user.signUp("Bench");
    for (let i = 1; i <= TASKS; i++) {
      const body = { title: `Task ${i}: ${["write the report", "call the bank", "buy milk", "book the train"][i % 4]}` };
      if (i % 3 === 0) body.description = "Some notes about this task, a line or so long, as people write them.";
      const response = await user.fetch("/api/tasks", { method: "POST", body });
      if (response.status !== 201) throw new Error(`creating task ${i}: ${response.status} ${await response.text()}`);
    }
    const native = await stack.addFrontEnd(NATIVE_TOKENS);
    const client = new Visitor(native.url, { origin: stack.baseURL });
    await client.signIn(user.email);
    const token = await client.token();
    await native.web.stop();
    return { stack, user, cookie: user.cookieHeader(), token, directPath: `/api/${encodeURIComponent(user.user.id)}/tasks` };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}
