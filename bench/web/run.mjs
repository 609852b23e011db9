// `make bench-web`: what the front end costs, each figure beside its baseline from the same run,
// printed as Markdown (progress on standard error):
//   1. a BFF route handler's overhead: GET /api/tasks through `next start` against the API
//      called directly with the user's token, and a bare Next.js route handler answering the
//      same bytes (bench/web/overhead.mjs); goal: at most 3 ms added at p50;
//   2. the task page's first-load JavaScript against a bare page built by the same Next.js
//      (bench/web/first-load-js.mjs, bench/web/bare-app.mjs); goal: at most 1.25x;
//   3. the time to a usable task list (50 tasks, server-rendered) in Chromium, against the same
//      page without tasks and the bare page (bench/web/usable-list.mjs).
// Needs web/ built (`npm run build` in web/), `taskgate-local` (TASKGATE_LOCAL, or
// target/debug/taskgate-local), the root's `npm ci` (autocannon) and Chromium. Waits first,
// for at most BENCH_WEB_WAIT_MINUTES (default 15), until the 1-minute load average is below
// BENCH_WEB_MAX_LOAD (default 0.5). BENCH_WEB_SECONDS (default 20) per load run,
// BENCH_WEB_BROWSER_RUNS (default 15) navigations per page and cache state.
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, release } from "node:os";
import { join } from "node:path";
import { launch, requireChromium } from "../../web/test/chromium.mjs";
import { Visitor, WEB_DIR, requireTools } from "../../web/test/helpers.mjs";
import { buildBareApp } from "./bare-app.mjs";
import { firstLoadJs } from "./first-load-js.mjs";
import { DURATION_S, LOADS, measureOverhead } from "./overhead.mjs";
import { waitForQuiet, watchOthers } from "./quiet.mjs";
import { PAGE, TASKS, apiBuild, coreSplit, pin, stackWithTasks } from "./stack.mjs";
import { timeToUsable } from "./usable-list.mjs";

const MAX_LOAD = Number(process.env.BENCH_WEB_MAX_LOAD ?? 0.5);
const WAIT_MINUTES = Number(process.env.BENCH_WEB_WAIT_MINUTES ?? 15);
const BROWSER_RUNS = Number(process.env.BENCH_WEB_BROWSER_RUNS ?? 15);
const BFF_GOAL_MS = 3;
const JS_GOAL = 1.25;

const log = (line) => console.error(`bench-web: ${line}`);
const ms = (value) => `${value.toFixed(2)} ms`;
const kB = (bytes) => `${(bytes / 1000).toFixed(1)} kB`;
/** Other processes' CPU during a part, and a warning when it was enough to move the figures. */
const others = ({ percent, busiest }) =>
  `${percent.toFixed(1)}% of a core${busiest ? ` (${busiest})` : ""}${percent > 5 ? ", disturbed: run again on a quiet machine" : ""}`;

function machine(chromiumVersion) {
  const osName = /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "Linux";
  const next = JSON.parse(readFileSync(join(WEB_DIR, "node_modules", "next", "package.json"), "utf8")).version;
  return `${cpus()[0].model.trim()}, ${cpus().length} cores, ${osName} (Linux ${release()}); Node.js ${process.version}, Next.js ${next}, Chromium ${chromiumVersion}`;
}

async function main() {
  requireTools();
  requireChromium();
  const split = coreSplit();
  if (split) pin(process.pid, split.client);

  log("building the bare Next.js app (a temporary directory)");
  const bare = buildBareApp("{}");
  let stack, bareServer, browser;
  try {
    const started = new Date();
    const loadBefore = await waitForQuiet(MAX_LOAD, WAIT_MINUTES, log);
    log(`1-minute load average ${loadBefore}; starting the stack (taskgate-local: ${apiBuild().build})`);
    const seeded = await stackWithTasks({ split });
    stack = seeded.stack;
    const bffURL = `${stack.baseURL}/api/tasks`;
    const bytes = Buffer.from(await (await fetch(bffURL, { headers: { cookie: seeded.cookie } })).arrayBuffer());
    writeFileSync(join(bare.dir, "tasks.json"), bytes);
    bareServer = await bare.start();
    if (split) pin(bareServer.web.child.pid, split.server);

    // 1. The BFF's overhead.
    const loadRuns = watchOthers();
    const overhead = await measureOverhead(
      {
        direct: { url: `${stack.apiURL}${seeded.directPath}`, headers: { authorization: `Bearer ${seeded.token}` } },
        floor: { url: `${bareServer.url}/api/tasks`, headers: {} },
        bff: { url: bffURL, headers: { cookie: seeded.cookie } },
      },
      LOADS,
      log,
    );
    const othersDuringLoad = loadRuns();

    // 2. First-load JavaScript.
    const tasksJs = firstLoadJs(WEB_DIR, "/tasks");
    const bareJs = firstLoadJs(bare.dir, "/", bare.stats);

    // 3. Time to a usable page.
    log(`Chromium: ${BROWSER_RUNS} navigations per page and cache state`);
    const browserRuns = watchOthers();
    browser = await launch();
    const tasksPage = await timeToUsable(browser, `${stack.baseURL}/tasks`, {
      cookies: [...seeded.user.cookies],
      target: { control: "ul.tasks > li input[type=checkbox]", items: "ul.tasks > li", count: PAGE },
      runs: BROWSER_RUNS,
    });
    const empty = new Visitor(stack.baseURL);
    await empty.signUp("Empty");
    const emptyPage = await timeToUsable(browser, `${stack.baseURL}/tasks`, {
      cookies: [...empty.cookies],
      target: { control: ".filters button", items: ".filters button", count: 1 },
      runs: BROWSER_RUNS,
    });
    const barePage = await timeToUsable(browser, `${bareServer.url}/`, {
      target: { control: "main button", items: "main button", count: 1 },
      runs: BROWSER_RUNS,
    });
    const othersDuringBrowser = browserRuns();

    const api = apiBuild();
    const out = [];
    out.push(`## The front end's cost: run of ${started.toISOString().slice(0, 16).replace("T", " ")} UTC`, "");
    out.push(`Machine: ${machine(browser.version())}.`);
    out.push(
      `Servers (next start, taskgate-local ${api.build} in JWKS mode with its in-memory store) ${split ? `pinned to core ${split.server}, autocannon and Chromium to core ${split.client}` : "not pinned (fewer than 2 cores or no taskset)"}. One user with ${TASKS} tasks; every list is the first page of ${PAGE}.`,
      `1-minute load average before: ${loadBefore}; CPU of other processes during the load runs: ${others(othersDuringLoad)}, during the browser runs: ${others(othersDuringBrowser)}.`,
      "",
    );
    out.push(`### BFF overhead (autocannon, ${DURATION_S} s per run after a warm-up, each request's own time)`, "");
    out.push("| load | API direct p50 / p99 | bare Next.js route p50 / p99 | BFF p50 / p99 | BFF added p50 / p99 | BFF requests/s (API direct) |");
    out.push("|---|---|---|---|---|---|");
    for (const { load, results: r } of overhead) {
      out.push(
        `| ${load.name} | ${ms(r.direct.p50)} / ${ms(r.direct.p99)} | ${ms(r.floor.p50)} / ${ms(r.floor.p99)} | ${ms(r.bff.p50)} / ${ms(r.bff.p99)} | ` +
          `+${ms(r.bff.p50 - r.direct.p50)} / +${ms(r.bff.p99 - r.direct.p99)} | ${Math.round(r.bff.requestsPerSecond)} (${Math.round(r.direct.requestsPerSecond)}) |`,
      );
    }
    const added = overhead[0].results.bff.p50 - overhead[0].results.direct.p50;
    out.push("", `Goal (one connection): at most ${BFF_GOAL_MS} ms added at p50: ${ms(added)}, ${added <= BFF_GOAL_MS ? "met" : "NOT met"}.`, "");
    out.push("### First-load JavaScript (next build's .next/diagnostics/route-bundle-stats.json)", "");
    out.push("| page | files | uncompressed (Next.js's figure) | gzipped (level 9) |", "|---|---|---|---|");
    out.push(`| /tasks | ${tasksJs.files} | ${kB(tasksJs.bytes)} | ${kB(tasksJs.gzipped)} |`);
    out.push(`| bare page (same Next.js) | ${bareJs.files} | ${kB(bareJs.bytes)} | ${kB(bareJs.gzipped)} |`);
    const ratio = tasksJs.bytes / bareJs.bytes;
    out.push(`| ratio | | ${ratio.toFixed(2)}x | ${(tasksJs.gzipped / bareJs.gzipped).toFixed(2)}x |`);
    out.push("", `Goal: at most ${JS_GOAL}x: ${ratio.toFixed(2)}x, ${ratio <= JS_GOAL ? "met" : "NOT met"}.`, "");
    out.push(`### Time to a usable page in Chromium (medians of ${BROWSER_RUNS} navigations, ms from navigation start)`, "");
    out.push("| page, cache | first byte | in the DOM | first contentful paint | load event | control hydrated | usable | HTML transferred |");
    out.push("|---|---|---|---|---|---|---|---|");
    const pages = [["/tasks, 50 tasks", tasksPage], ["/tasks, no task", emptyPage], ["bare page", barePage]];
    for (const [name, result] of pages) {
      for (const cache of ["cold", "warm"]) {
        const m = result[cache];
        out.push(
          `| ${name}, ${cache} | ${ms(m.responseStart)} | ${ms(m.inDom)} | ${ms(m.firstContentfulPaint)} | ${ms(m.load)} | ${ms(m.hydrated)} | **${ms(m.usable)}** | ${kB(m.htmlBytes)} |`,
        );
      }
    }
    out.push(
      "",
      "In the DOM: the 50 tasks (no task: the filter buttons; bare: its button); control: the first task's checkbox (the first filter button; the button); usable: that control hydrated and enabled, and the page's hydration committed.",
    );
    console.log(out.join("\n"));
  } finally {
    await browser?.close();
    await bareServer?.web.stop();
    await stack?.stop();
    bare.remove();
  }
}

await main();
