// Debian's Chromium driven by playwright-core (never a downloaded browser), for the tests of
// what a person sees; screenshots go to web/test-results/.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before } from "node:test";
import { chromium } from "playwright-core";
import { WEB_DIR, startStack } from "./helpers.mjs";

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

/**
 * Chromium and a stack (`startStack(stackOptions)`) for the tests of the `describe` that calls
 * this: both start before its tests and stop after them. The tests read `.browser` and `.stack`
 * of what it returns.
 */
export function browserAndStackForSuite(stackOptions) {
  const running = {};
  after(async () => {
    await running.browser?.close();
    await running.stack?.stop();
  });
  before(async () => {
    running.browser = await launch();
    running.stack = await startStack(stackOptions);
  });
  return running;
}

/**
 * A page in a fresh context of `browser` (15 s default timeout). When test `t` ends the context
 * closes, and `t` fails if the page met a Content-Security-Policy violation.
 */
export async function cspCheckedPage(t, browser, viewport = { width: 1100, height: 760 }) {
  const context = await browser.newContext({ viewport });
  const violations = cspViolations(context);
  t.after(async () => {
    await context.close();
    assert.deepEqual(violations, [], "everything works under the Content-Security-Policy");
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
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
