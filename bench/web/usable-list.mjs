// Time to a usable page in Chromium (/usr/bin/chromium through playwright-core, as the front
// end's tests drive it): from navigation start to the page's first control in the DOM, enabled
// and hydrated: React has attached its props to the element and committed the hydration of the
// page (its root is no longer dehydrated), so the control's handler runs on a click. (Both are
// React's internals, read as React 19 keeps them; should they change, the probe never fires
// and the run fails.)
// For the task page the control is the first task's checkbox, with all 50 tasks in the DOM.
// A probe added before the page's own scripts (Playwright's init script, which the page's
// Content-Security-Policy does not apply to) checks every millisecond; performance.now() counts
// from navigation start. Each run is a fresh navigation; "cold" runs each get a new browser
// context (empty HTTP cache, as a first visit), "warm" runs reuse one whose cache holds the
// page's JavaScript (as every visit after the first: the chunks are immutable).

/** Runs in the page, at document start: marks when `count` items are in the DOM and `control` is usable. */
function probe({ control, items, count }) {
  const marks = {};
  window.__benchWeb = marks;
  const hydrated = (element) => Object.keys(element).some((key) => key.startsWith("__reactProps$"));
  // Next.js hydrates the whole document; its root is committed once no longer dehydrated.
  const committed = () => {
    const key = Object.keys(document).find((name) => name.startsWith("__reactContainer$"));
    return key !== undefined && document[key].stateNode?.current?.memoizedState?.isDehydrated === false;
  };
  const check = () => {
    const first = document.querySelector(control);
    if (first && marks.inDom === undefined && document.querySelectorAll(items).length >= count) marks.inDom = performance.now();
    if (marks.inDom !== undefined && marks.hydrated === undefined && hydrated(first)) marks.hydrated = performance.now();
    if (marks.hydrated !== undefined && !first.disabled && committed()) {
      marks.usable = performance.now();
      return;
    }
    setTimeout(check, 1);
  };
  check();
}

/** The median of `values`. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** One navigation in `context`: its marks and the browser's own timings (ms from navigation start). */
async function visit(context, url, target) {
  const page = await context.newPage();
  try {
    await page.addInitScript(probe, target);
    await page.goto(url, { waitUntil: "load" });
    if (new URL(page.url()).pathname !== new URL(url).pathname) throw new Error(`${url} went to ${page.url()}`);
    await page.waitForFunction(() => window.__benchWeb.usable !== undefined, null, { polling: 100, timeout: 15_000 });
    return await page.evaluate(() => {
      const [navigation] = performance.getEntriesByType("navigation");
      const paint = performance.getEntriesByName("first-contentful-paint")[0];
      return {
        ...window.__benchWeb,
        responseStart: navigation.responseStart,
        firstContentfulPaint: paint?.startTime,
        load: navigation.loadEventEnd,
        htmlBytes: navigation.transferSize,
      };
    });
  } finally {
    await page.close();
  }
}

/**
 * `runs` navigations to `url` per cache state (one more first, not counted), each mark's median.
 * `cookies` are added to every context; `target` says what usable means (see `probe`).
 */
export async function timeToUsable(browser, url, { cookies = [], target, runs }) {
  const newContext = async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    await context.addCookies(cookies.map(([name, value]) => ({ name, value, url })));
    return context;
  };
  const results = { cold: [], warm: [] };
  for (let i = 0; i <= runs; i++) {
    const context = await newContext();
    const marks = await visit(context, url, target).finally(() => context.close());
    if (i > 0) results.cold.push(marks);
  }
  const warm = await newContext();
  try {
    for (let i = 0; i <= runs; i++) {
      const marks = await visit(warm, url, target);
      if (i > 0) results.warm.push(marks);
    }
  } finally {
    await warm.close();
  }
  const medians = (list) => Object.fromEntries(Object.keys(list[0]).map((key) => [key, median(list.map((m) => m[key]))]));
  return { cold: medians(results.cold), warm: medians(results.warm), runs };
}
