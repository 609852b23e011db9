// A page's first-load JavaScript as `next build` accounts it. Next.js 16 no longer prints sizes
// in the build's report; it writes them to .next/diagnostics/route-bundle-stats.json instead:
// per route, the JavaScript files the page loads first (its segments' entry chunks and the
// shared main chunks, not the legacy polyfills) and their uncompressed total. Next.js 15's report
// ("First Load JS") gave the same files gzipped; both are given here, gzip at level 9 as that
// report computed it (gzip-size).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/** The route's first-load JavaScript in `projectDir`: files, uncompressed bytes (Next.js's figure) and gzipped bytes. */
export function firstLoadJs(projectDir, route, stats = readStats(projectDir)) {
  const row = stats.find((entry) => entry.route === route);
  if (!row) throw new Error(`no route ${route} in ${projectDir}/.next/diagnostics/route-bundle-stats.json`);
  const gzipped = row.firstLoadChunkPaths.reduce((sum, file) => sum + gzipSync(readFileSync(join(projectDir, file)), { level: 9 }).length, 0);
  return { files: row.firstLoadChunkPaths.length, bytes: row.firstLoadUncompressedJsBytes, gzipped };
}

function readStats(projectDir) {
  return JSON.parse(readFileSync(join(projectDir, ".next", "diagnostics", "route-bundle-stats.json"), "utf8"));
}
