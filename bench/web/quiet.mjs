// A quiet machine for the measurements: wait for a low load average before, and tell afterwards
// how much CPU other processes (anything outside this process and its children) took meanwhile,
// so that a disturbed run says so. Linux /proc only.
import { readFileSync, readdirSync } from "node:fs";

/** The 1-minute load average. */
export const loadAverage = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);

/** Waits until the 1-minute load average is below `max`, at most `minutes`; answers the load then. */
export async function waitForQuiet(max, minutes, log) {
  const deadline = Date.now() + minutes * 60_000;
  let said = 0;
  while (loadAverage() >= max && Date.now() < deadline) {
    if (Date.now() - said > 60_000) {
      log(`waiting for the 1-minute load average (${loadAverage()}) to fall below ${max}`);
      said = Date.now();
    }
    await new Promise((r) => setTimeout(r, 5_000));
  }
  return loadAverage();
}

/** Every process's parent and CPU time so far (clock ticks, user + system). */
function processes() {
  const found = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const command = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      found.set(Number(name), { command, parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // it ended meanwhile
    }
  }
  return found;
}

/**
 * Starts watching; the answer, called at the end, gives the CPU other processes used meanwhile,
 * in % of one core (`percent`), and the busiest of them (`busiest`: "command 3.2%"). Processes
 * that began and ended in between are not seen.
 */
export function watchOthers() {
  const before = processes();
  const started = Date.now();
  return () => {
    const after = processes();
    const seconds = (Date.now() - started) / 1000;
    const ours = (pid) => {
      for (let at = pid; at > 1; at = after.get(at)?.parent ?? 0) if (at === process.pid) return true;
      return false;
    };
    const used = [...after]
      .filter(([pid]) => !ours(pid))
      .map(([pid, { command, ticks }]) => ({ command, percent: ((ticks - (before.get(pid)?.ticks ?? 0)) / 100 / seconds) * 100 }))
      .filter(({ percent }) => percent > 0)
      .sort((a, b) => b.percent - a.percent);
    const percent = used.reduce((sum, { percent: p }) => sum + p, 0);
    return { percent, busiest: used.slice(0, 3).map(({ command, percent: p }) => `${command} ${p.toFixed(1)}%`).join(", ") };
  };
}
