// Preloaded into `next start` by bench/web/profile.mjs (`NODE_OPTIONS=--require …`; Node 20 does
// not take --cpu-prof there). The first SIGUSR2 starts V8's sampling CPU profiler (every 100 µs),
// its sampling heap profiler (every 32 KiB allocated, collected objects included) and a record of
// the garbage collector's pauses; the second stops them and writes PROFILE_PREFIX.cpuprofile,
// .heapprofile and .gc.json, then says so in a line on standard error.
const inspector = require("node:inspector");
const { writeFileSync } = require("node:fs");
const { PerformanceObserver, constants } = require("node:perf_hooks");

const prefix = process.env.PROFILE_PREFIX;
const session = new inspector.Session();
session.connect();
const post = (method, params = {}) =>
  new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));

const KINDS = { [constants.NODE_PERFORMANCE_GC_MINOR]: "scavenge", [constants.NODE_PERFORMANCE_GC_MAJOR]: "mark-compact", [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental marking", [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weak callbacks" };
let pauses = null;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) pauses?.push({ kind: KINDS[entry.detail.kind] ?? String(entry.detail.kind), ms: entry.duration });
}).observe({ entryTypes: ["gc"] });

let running = false;
process.on("SIGUSR2", async () => {
  running = !running;
  if (running) {
    pauses = [];
    await post("Profiler.enable");
    await post("Profiler.setSamplingInterval", { interval: 100 });
    await post("HeapProfiler.enable");
    await post("HeapProfiler.startSampling", { samplingInterval: 32768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    await post("Profiler.start");
    return;
  }
  const { profile } = await post("Profiler.stop");
  const { profile: heap } = await post("HeapProfiler.stopSampling");
  writeFileSync(`${prefix}.cpuprofile`, JSON.stringify(profile));
  writeFileSync(`${prefix}.heapprofile`, JSON.stringify(heap));
  writeFileSync(`${prefix}.gc.json`, JSON.stringify(pauses));
  pauses = null;
  process.stderr.write(`profiler: written to ${prefix}.*\n`);
});
