// `make stack` (scripts/stack.sh) as a person runs it: it builds what it needs, starts both
// servers, shows one address, and whichever signal stops it (Ctrl-C's SIGINT, SIGTERM from a
// process manager, SIGHUP from a closed terminal) stops both servers and frees both ports.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { REPO_DIR, freePort, requireTools, startProcess, waitUntil } from "./helpers.mjs";

requireTools();
try {
  execFileSync("cargo", ["--version"], { stdio: "ignore" });
} catch {
  throw new Error("cargo is missing (scripts/stack.sh builds taskgate-local with it): install Rust from https://rustup.rs");
}

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
const scratch = mkdtempSync(join(tmpdir(), "taskgate-stack-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Every process below `root`, each as `{ pid, args }`. */
function descendants(root) {
  const rows = execFileSync("ps", ["-e", "-o", "pid=,ppid=,args="], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/))
    .filter(Boolean)
    .map(([, pid, ppid, args]) => ({ pid: Number(pid), ppid: Number(ppid), args }));
  const found = [];
  for (let parents = new Set([root]); parents.size > 0; ) {
    const children = rows.filter((row) => parents.has(row.ppid));
    found.push(...children);
    parents = new Set(children.map((row) => row.pid));
  }
  return found;
}

/** True while `pid` runs (a zombie, already ended and waiting to be reaped, does not count). */
function running(pid) {
  try {
    return !execFileSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" }).trim().startsWith("Z");
  } catch {
    return false; // ps exits 1: no such process
  }
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** scripts/stack.sh on free ports, waited for until it says it is running. */
async function runStack(env = {}) {
  const [webPort, apiPort] = [await freePort(), await freePort()];
  const run = startProcess(
    "scripts/stack.sh",
    "bash",
    [join(REPO_DIR, "scripts", "stack.sh")],
    {
      WEB_PORT: String(webPort),
      PORT: String(apiPort),
      BETTER_AUTH_SECRET: "test-only-better-auth-secret-0123456789abcdef",
      SQLITE_PATH: join(scratch, `accounts-${webPort}.db`),
      ...env,
    },
    REPO_DIR,
  );
  // The first run may compile taskgate-local.
  await waitUntil("scripts/stack.sh to say it is running", () => run.output().includes("taskgate is running"), {
    timeoutMs: 15 * 60_000,
    giveUpIf: run.failIfExited,
  });
  return { run, webPort, apiPort };
}

describe("make stack (scripts/stack.sh)", () => {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    it(`shows one address; stopped by ${signal}, both servers stop, both ports are free, no process it started is left`, async (t) => {
      // One run also finds taskgate-local where CARGO_TARGET_DIR says cargo puts it: here a
      // second path to the same target directory, so nothing is compiled again.
      const targetDir = join(scratch, `target-${signal}`);
      const env = {};
      if (signal === "SIGHUP") {
        symlinkSync(process.env.CARGO_TARGET_DIR ?? join(REPO_DIR, "target"), targetDir);
        env.CARGO_TARGET_DIR = targetDir;
      }
      const { run, webPort, apiPort } = await runStack(env);
      t.after(() => run.stop());

      // One address for the app; a page asked for by the other loopback name says to go there.
      const app = `http://localhost:${webPort}`;
      const output = run.output();
      assert.match(output, new RegExp(`open ${app} `));
      assert.doesNotMatch(output, /- (Local|Network):/, output);
      // The other name appears only where the API's log says where it fetched the keys.
      const shown = output.replaceAll(`source="http://127.0.0.1:${webPort}/api/auth/jwks"`, "");
      assert.doesNotMatch(shown, new RegExp(`(127\\.0\\.0\\.1|\\[::1\\]):${webPort}\\b`), output);
      const elsewhere = await fetch(`http://127.0.0.1:${webPort}/sign-up?from=here`, { redirect: "manual" });
      assert.equal(elsewhere.headers.get("refresh"), `0; url=${app}/sign-up?from=here`);
      assert.match(await elsewhere.text(), new RegExp(`taskgate is at <a href="${app}/sign-up\\?from=here">`));
      // The API routes answer by either name (the API fetches the JWKS by 127.0.0.1).
      assert.equal((await fetch(`http://127.0.0.1:${webPort}/api/auth/jwks`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${apiPort}/api/nobody/tasks`)).status, 401);

      const started = descendants(run.child.pid);
      const api = started.find((p) => /taskgate-local/.test(p.args));
      assert.ok(started.some((p) => /next-server/.test(p.args)), JSON.stringify(started));
      assert.ok(api, JSON.stringify(started));
      if (env.CARGO_TARGET_DIR) assert.ok(api.args.startsWith(join(targetDir, "debug", "taskgate-local")), api.args);

      const exited = new Promise((resolve) => run.child.once("exit", (code) => resolve(code)));
      run.child.kill(signal);
      const late = new Promise((resolve) => setTimeout(() => resolve("still running after 20 s"), 20_000).unref());
      const code = await Promise.race([exited, late]);
      assert.equal(code, EXIT_CODES[signal], run.output());
      assert.match(run.output(), /Stopped\.\n*$/);
      for (const { pid, args } of started) assert.equal(running(pid), false, `still running: ${pid} ${args}`);
      assert.equal(await portIsFree(webPort), true, `port ${webPort} (front end) is still taken`);
      assert.equal(await portIsFree(apiPort), true, `port ${apiPort} (API) is still taken`);
    });
  }
});
