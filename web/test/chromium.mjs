// Debian's Chromium driven by playwright-core (never a downloaded browser), for the tests of
// what a person sees; screenshots go to web/test-results/.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { WEB_DIR } from "./helpers.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SHOTS = join(WEB_DIR, "test-results");

/** Fails (never skips) when Chromium is missing, with how to install it. */
export function requireChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: run scripts/install-test-deps.sh, or as root: apt-get update && apt-get install -y chromium`);
  }
  mkdirSync(SHOTS, { recursive: true });
}

/**
 * The Content-Security-Policy violations Chromium reports in `context` (its console messages), so
 * a test can assert that the app works under the policy without any.
 */
export function cspViolations(context) {
  const found = [];
  context.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) found.push(message.text());
  });
  return found;
}

export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
