// What a backend-for-frontend route handler adds to a request: GET /api/tasks through
// `next start` with the session cookie, against GET /api/{user}/tasks on `taskgate-local` with
// the user's bearer token (the same 50 tasks), under the same autocannon load: the same
// connections and duration, each after a warm-up that is not counted (the BFF's API token is
// cached from then on). Latencies are each response's own time (autocannon's `response`
// event, in fractional milliseconds: its histogram keeps whole milliseconds only).

/** autocannon, from the repository root's node_modules (package.json pins it). */
export const { default: autocannon } = await import("autocannon").catch(() => {
  throw new Error("autocannon is missing: run `npm ci` at the repository root (`make test-deps` does)");
});

/**
 * The loads: each connection sends its next request as soon as it has the answer to the last.
 * (autocannon's rate limits send each second's quota in one burst, so they are not used.) One
 * connection gives each request's own time; eight keep the servers busy (their latency is
 * mostly the wait for the requests ahead).
 */
export const LOADS = [
  { name: "1 connection", connections: 1 },
  { name: "8 connections", connections: 8 },
];

const seconds = (name, fallback) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of seconds`);
  return value;
};
export const DURATION_S = seconds("BENCH_WEB_SECONDS", 20);
const WARMUP_S = seconds("BENCH_WEB_WARMUP_SECONDS", 5);

/** The value at quantile `q` of sorted `values` (nearest rank). */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** One autocannon run of `duration` seconds: requests/s, p50, p99 (ms), and the answers that were not 200. */
async function run(url, headers, load, duration) {
  const latencies = [];
  const instance = autocannon({
    url,
    headers,
    connections: load.connections,
    duration,
  });
  instance.on("response", (_client, status, _bytes, ms) => {
    if (status === 200) latencies.push(ms);
  });
  const result = await instance;
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: result.requests.total / duration,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    count: latencies.length,
    failed: result.non2xx + result.errors + result.timeouts,
  };
}

/**
 * Each target under each load, the targets taking turns: `targets` maps a name to { url, headers }
 * (here: "direct", the API; "floor", a bare Next.js route handler answering the same bytes;
 * "bff", the BFF). Every target must answer 200 with the same 50 tasks first.
 */
export async function measureOverhead(targets, loads = LOADS, log = (line) => console.error(line)) {
  const lists = await Promise.all(
    Object.values(targets).map(async ({ url, headers }) => {
      const response = await fetch(url, { headers });
      if (response.status !== 200) throw new Error(`${url}: ${response.status} ${await response.text()}`);
      return JSON.stringify((await response.json()).items);
    }),
  );
  if (new Set(lists).size !== 1 || JSON.parse(lists[0]).length !== 50) throw new Error("the targets did not answer the same 50 tasks");
  const rows = [];
  for (const load of loads) {
    const row = { load, results: {} };
    for (const [name, { url, headers }] of Object.entries(targets)) {
      log(`${name}, ${load.name}: ${WARMUP_S} s warm-up, ${DURATION_S} s measured`);
      await run(url, headers, load, WARMUP_S);
      const result = await run(url, headers, load, DURATION_S);
      if (result.failed > 0) throw new Error(`${name}, ${load.name}: ${result.failed} requests failed or were not 200`);
      row.results[name] = result;
    }
    rows.push(row);
  }
  return rows;
}
