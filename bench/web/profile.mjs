// Where a BFF request's time goes: `next start` profiled in process (bench/web/profiler.cjs) while
// GET /api/tasks runs back to back on one connection (autocannon), per request:
//   - CPU by package: V8's samples (every 100 µs, wall clock: a sample taken while the process
//     waits for its core counts where it stopped), mapped through the build's source maps; a
//     built-in's time goes to the package that called it;
//   - the app's own functions (inclusive: an async function's synchronous part, up to its awaits);
//   - memory allocated, by package (V8's sampling heap profiler), and the garbage collector's
//     pauses, which set the tail of the latency.
// Run it after `make bench-web` has built everything: `node bench/web/profile.mjs`
// (BENCH_WEB_SECONDS, default 20; BENCH_WEB_KEEP_PROFILE=1 keeps the profiles).
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { SourceMap } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitUntil } from "../../web/test/helpers.mjs";
import { DURATION_S, autocannon, quantile } from "./overhead.mjs";
import { apiBuild, stackWithTasks } from "./stack.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));

/** The package a path belongs to (`better-auth`, `@better-auth/core`), a Node.js module, or the app. */
function owner(path, mapped) {
  path = decodeURIComponent(path);
  const modules = path.lastIndexOf("node_modules/");
  if (modules >= 0) {
    const [first, second] = path.slice(modules + "node_modules/".length).split("/");
    return first.startsWith("@") ? `${first}/${second}` : first;
  }
  if (path.startsWith("node:internal/deps/undici")) return "node: undici (fetch)";
  if (path.startsWith("node:")) return `node: ${path.slice("node:".length).replace(/^internal\//, "").split("/")[0]}`;
  return mapped ? `app: ${path.replace(/^(\.\.\/)+/, "")}` : path;
}

/**
 * Resolves call frames: owner and, for the app's own code, `file:line  source line`. Frames in
 * the build (.next/) go through its source maps; files run from node_modules (Next.js's server)
 * keep their own path. A frame without a script belongs to its caller (`inherited`).
 */
function frames() {
  const maps = new Map();
  const mapOf = (url) => {
    if (!maps.has(url)) {
      // CPU profiles name scripts by file: URL, heap profiles by path.
      const path = url.startsWith("file://") ? fileURLToPath(url) : url;
      const map = path.includes("/.next/") ? `${path}.map` : null;
      maps.set(url, map && existsSync(map) ? new SourceMap(JSON.parse(readFileSync(map, "utf8"))) : null);
    }
    return maps.get(url);
  };
  return (callFrame, inherited) => {
    const { url, functionName, lineNumber, columnNumber } = callFrame;
    if (["(idle)", "(program)", "(garbage collector)", "(root)"].includes(functionName)) return { owner: `V8: ${functionName}` };
    if (!url) return { owner: inherited ?? "V8: built-ins" };
    const entry = mapOf(url)?.findEntry(lineNumber, columnNumber);
    const source = entry?.originalSource;
    if (!source) return { owner: owner(url, false) };
    const result = { owner: owner(source, true) };
    if (result.owner.startsWith("app: ")) {
      const map = mapOf(url);
      const content = map.payload.sourcesContent?.[map.payload.sources.indexOf(source)] ?? "";
      const text = (content.split("\n")[entry.originalLine] ?? "").trim().slice(0, 80);
      result.app = `${result.owner.slice(5)}:${entry.originalLine + 1}  ${text}`;
    }
    return result;
  };
}

const perRequest = (totals, requests) => [...totals].map(([name, value]) => ({ name, value: value / requests })).sort((a, b) => b.value - a.value);
const add = (map, key, value) => map.set(key, (map.get(key) ?? 0) + value);

/** The CPU profile per request: `cpu` (ms, by owner), `appFunctions` (ms, inclusive) and `busy` (ms). */
export function summarizeCpu(profile, requests, resolve = frames()) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  const info = new Map();
  const stack = [profile.nodes[0].id];
  while (stack.length) {
    const id = stack.pop();
    const node = nodes.get(id);
    info.set(id, resolve(node.callFrame, info.get(parent.get(id))?.owner));
    for (const child of node.children ?? []) {
      parent.set(child, id);
      stack.push(child);
    }
  }
  const cpu = new Map();
  const app = new Map();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    add(cpu, info.get(id).owner, ms);
    if (info.get(id).owner !== "V8: (idle)") busy += ms;
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const name = info.get(at).app;
      if (name && !seen.has(name)) add(app, name, ms);
      if (name) seen.add(name);
    }
  });
  return { busy: busy / requests, cpu: perRequest(cpu, requests), appFunctions: perRequest(app, requests) };
}

/** The heap profile per request: kB allocated, in all and by owner. */
export function summarizeHeap(heap, requests, resolve = frames()) {
  const allocated = new Map();
  let total = 0;
  const walk = (node, inherited) => {
    const { owner: who } = resolve(node.callFrame, inherited);
    add(allocated, who, node.selfSize / 1000);
    total += node.selfSize / 1000;
    for (const child of node.children) walk(child, who);
  };
  walk(heap.head, undefined);
  return { total: total / requests, byOwner: perRequest(allocated, requests) };
}

/** The garbage collector's pauses: count per 100 requests, median and largest pause, by kind. */
export function summarizeGc(pauses, requests) {
  const kinds = new Map();
  for (const pause of pauses) kinds.set(pause.kind, [...(kinds.get(pause.kind) ?? []), pause]);
  return [...kinds].map(([kind, list]) => {
    const sorted = list.map((pause) => pause.ms).sort((a, b) => a - b);
    return { kind, per100: (list.length / requests) * 100, median: quantile(sorted, 0.5), max: sorted.at(-1), total: sorted.reduce((a, b) => a + b, 0) / requests };
  });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "taskgate-bench-web-"));
  const prefix = join(dir, "next-start");
  const { stack, cookie } = await stackWithTasks({ webEnv: { NODE_OPTIONS: `--require ${join(HERE, "profiler.cjs")}`, PROFILE_PREFIX: prefix } });
  try {
    const load = (duration) => autocannon({ url: `${stack.baseURL}/api/tasks`, headers: { cookie }, connections: 1, duration });
    await load(5);
    stack.web.child.kill("SIGUSR2");
    await new Promise((r) => setTimeout(r, 200));
    const result = await load(DURATION_S);
    stack.web.child.kill("SIGUSR2");
    await waitUntil("the profiles", () => stack.web.output().includes("profiler: written"));
    if (result.non2xx + result.errors > 0) throw new Error(`${result.non2xx + result.errors} requests failed`);
    const requests = result.requests.total;
    const read = (suffix) => JSON.parse(readFileSync(`${prefix}.${suffix}`, "utf8"));
    const resolve = frames();
    const cpu = summarizeCpu(read("cpuprofile"), requests, resolve);
    const heap = summarizeHeap(read("heapprofile"), requests, resolve);
    const gc = summarizeGc(read("gc.json"), requests);
    const out = [];
    out.push(`GET /api/tasks through next start, 1 connection, ${DURATION_S} s: ${requests} requests (taskgate-local ${apiBuild().build}).`);
    out.push(`next start per request: ${cpu.busy.toFixed(3)} ms not idle (sampled), ${heap.total.toFixed(0)} kB allocated.`, "");
    out.push("| time by package | ms per request |", "|---|---|");
    for (const { name, value } of cpu.cpu.filter(({ value }) => value >= 0.005)) out.push(`| ${name} | ${value.toFixed(3)} |`);
    out.push("", "| the app's functions (inclusive, up to their awaits) | ms per request |", "|---|---|");
    for (const { name, value } of cpu.appFunctions.filter(({ value }) => value >= 0.005)) out.push(`| \`${name.replaceAll("|", "\\|")}\` | ${value.toFixed(3)} |`);
    out.push("", "| allocated by package | kB per request |", "|---|---|");
    for (const { name, value } of heap.byOwner.filter(({ value }) => value >= 1)) out.push(`| ${name} | ${value.toFixed(0)} |`);
    out.push("", "| garbage collector | pauses per 100 requests | median pause | largest | ms per request |", "|---|---|---|---|---|");
    for (const g of gc) out.push(`| ${g.kind} | ${g.per100.toFixed(1)} | ${g.median.toFixed(2)} ms | ${g.max.toFixed(2)} ms | ${g.total.toFixed(3)} |`);
    console.log(out.join("\n"));
    if (process.env.BENCH_WEB_KEEP_PROFILE) console.error(`bench-web: profiles kept in ${dir}`);
  } finally {
    await stack.stop();
    if (!process.env.BENCH_WEB_KEEP_PROFILE) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
