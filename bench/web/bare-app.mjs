// The baseline the task page is compared with: a bare Next.js app, built by the same Next.js
// (web/node_modules, linked) in a temporary directory that is removed afterwards. It has
//   /            a page rendered per request, like the task page, holding one small client
//                component (a button), so that a browser can tell when it is hydrated;
//   /api/tasks   a route handler answering the same JSON bytes as the BFF's GET /api/tasks,
//                without any work: what Next.js itself costs a route handler.
// Turbopack resolves only inside its root, and node_modules is a link to web/'s, so the root
// is `/` (its only visible trace in the output is one path string of about 40 bytes).
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WEB_DIR, freePort, startProcess, waitUntil } from "../../web/test/helpers.mjs";

const NEXT = join(WEB_DIR, "node_modules", "next", "dist", "bin", "next");

const FILES = {
  "package.json": JSON.stringify({ name: "bare", private: true }),
  "next.config.js": `module.exports = { turbopack: { root: "/" }, outputFileTracingRoot: "/", poweredByHeader: false };\n`,
  "app/layout.js": `export const metadata = { title: "bare" };
export default function RootLayout({ children }) {
  return <html lang="en"><body>{children}</body></html>;
}
`,
  "app/page.js": `import { connection } from "next/server";
import { Counter } from "./counter";
export default async function Page() {
  await connection();
  return <main><h1>Bare</h1><Counter /></main>;
}
`,
  "app/counter.js": `"use client";
import { useState } from "react";
export function Counter() {
  const [count, setCount] = useState(0);
  return <button type="button" onClick={() => setCount(count + 1)}>Clicked {count} times</button>;
}
`,
  "app/api/tasks/route.js": `import { readFileSync } from "node:fs";
import { join } from "node:path";
const body = readFileSync(join(process.cwd(), "tasks.json"));
export const dynamic = "force-dynamic";
export function GET() {
  return new Response(body, { headers: { "content-type": "application/json", "cache-control": "no-store" } });
}
`,
};

/**
 * Writes and builds the bare app; `tasksJson` is the body its /api/tasks answers. Answers its
 * directory, `next build`'s output, its route bundle stats, `start()` and `remove()`.
 */
export function buildBareApp(tasksJson) {
  const dir = mkdtempSync(join(tmpdir(), "taskgate-bare-next-"));
  try {
    for (const [name, content] of Object.entries(FILES)) {
      mkdirSync(join(dir, name, ".."), { recursive: true });
      writeFileSync(join(dir, name), content);
    }
    writeFileSync(join(dir, "tasks.json"), tasksJson);
    symlinkSync(join(WEB_DIR, "node_modules"), join(dir, "node_modules"));
    const output = execFileSync(process.execPath, [NEXT, "build"], {
      cwd: dir,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stats = JSON.parse(readFileSync(join(dir, ".next", "diagnostics", "route-bundle-stats.json"), "utf8"));
    return {
      dir,
      output,
      stats,
      /** `next start` of the bare app on a free loopback port: { url, web }. */
      async start() {
        const port = await freePort();
        const web = startProcess("bare next start", process.execPath, [NEXT, "start", "-p", String(port), "-H", "127.0.0.1"], { NEXT_TELEMETRY_DISABLED: "1" }, dir);
        const url = `http://127.0.0.1:${port}`;
        try {
          await waitUntil("the bare app to answer", async () => (await fetch(`${url}/api/tasks`)).ok, { giveUpIf: web.failIfExited });
        } catch (error) {
          await web.stop();
          throw error;
        }
        return { url, web };
      },
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
