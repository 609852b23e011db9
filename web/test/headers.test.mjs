// The security headers of every page and route handler of the build (the list comes from the
// build itself, so a new page or handler is checked or the test fails), over http and with an
// https app URL (HSTS, upgrade-insecure-requests, report-to); the Content-Security-Policy's nonce,
// fresh per request and on every script Next.js renders; and the CSP report endpoint.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Visitor, WEB_DIR, requireTools, startStack } from "./helpers.mjs";

requireTools();

/** Every page and route handler of the build (`/tasks`, `/api/tasks/[id]`, ...). */
const ROUTES = Object.values(JSON.parse(readFileSync(join(WEB_DIR, ".next", "app-path-routes-manifest.json"), "utf8")));

const HSTS = "max-age=63072000; includeSubDomains";
const ROUTE_HANDLER_CSP = "default-src 'none'; frame-ancestors 'none'";

/** The page policy as a map of directive to value, and its nonce. */
function parsePolicy(header) {
  const directives = new Map(header.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values.join(" ")]));
  const nonce = directives.get("script-src")?.match(/'nonce-([^']+)'/)?.[1];
  return { directives, nonce };
}

/** The page policy a page must carry: `https` adds upgrade-insecure-requests and report-to. */
function expectedPagePolicy(nonce, https) {
  return new Map([
    ["default-src", "'self'"],
    ["script-src", `'self' 'nonce-${nonce}' 'strict-dynamic'`],
    ["style-src", `'self' 'nonce-${nonce}'`],
    ["img-src", "'self'"],
    ["font-src", "'self'"],
    ["connect-src", "'self'"],
    ["object-src", "'none'"],
    ["base-uri", "'none'"],
    ["form-action", "'self'"],
    ["frame-ancestors", "'none'"],
    ...(https ? [["upgrade-insecure-requests", ""], ["report-to", "csp"]] : []),
    ["report-uri", "/api/csp-report"],
  ]);
}

/** What every answer carries, page or route handler. */
function assertCommonHeaders(headers, https, what) {
  assert.equal(headers.get("x-content-type-options"), "nosniff", what);
  assert.equal(headers.get("x-frame-options"), "DENY", what);
  assert.equal(headers.get("referrer-policy"), "same-origin", what);
  assert.equal(headers.get("cross-origin-opener-policy"), "same-origin", what);
  assert.equal(headers.get("cross-origin-resource-policy"), "same-origin", what);
  const permissions = headers.get("permissions-policy") ?? "";
  for (const feature of ["camera", "microphone", "geolocation", "payment", "usb", "browsing-topics"]) {
    assert.match(permissions, new RegExp(`(^|, )${feature}=\\(\\)(,|$)`), `${what}: ${feature} denied`);
  }
  assert.equal(headers.get("strict-transport-security"), https ? HSTS : null, what);
}

for (const scheme of ["http", "https"]) {
  const https = scheme === "https";
  describe(`security headers (app URL ${scheme})`, () => {
    let stack, publicOrigin, alice, stranger, taskId, answers;
    after(() => stack?.stop());
    before(async () => {
      // With an https app URL (as behind a TLS-terminating load balancer) the server still
      // listens on plain http here; only the headers it sends change.
      stack = await startStack({ webEnv: https ? { BETTER_AUTH_URL: "https://taskgate.example" } : {} });
      publicOrigin = https ? "https://taskgate.example" : stack.baseURL;
      alice = new Visitor(stack.baseURL, { origin: publicOrigin });
      await alice.signUp("Alice");
      stranger = new Visitor(stack.baseURL, { origin: publicOrigin });
      const created = await alice.fetch("/api/tasks", { method: "POST", body: { title: "a task" } });
      assert.equal(created.status, 201);
      taskId = (await created.json()).id;
      const report = { "csp-report": { "document-uri": `${publicOrigin}/tasks`, "effective-directive": "img-src", "blocked-uri": "https://elsewhere.example/x.png" } };

      // One request per page and route handler: [route, who, path, options, status].
      const table = [
        ["/", alice, "/", {}, 307],
        ["/sign-in", stranger, "/sign-in", {}, 200],
        ["/sign-up", stranger, "/sign-up", {}, 200],
        ["/tasks", alice, "/tasks", {}, 200],
        ["/devices", alice, "/devices", {}, 200],
        ["/_not-found", stranger, "/no-such-page", {}, 404],
        ["/_global-error", stranger, "/_global-error", {}, 500],
        ["/api/auth/[...all]", alice, "/api/auth/get-session", {}, 200],
        ["/api/auth/[...all]", stranger, "/api/auth/jwks", {}, 200],
        ["/api/auth/[...all]", alice, "/api/auth/token", {}, 404],
        ["/api/auth/[...all]", stranger, "/api/auth/sign-in/email", { method: "POST", body: { email: alice.email, password: "wrong password" } }, 401],
        ["/api/csp-report", stranger, "/api/csp-report", { method: "POST", headers: { "content-type": "application/csp-report" }, body: JSON.stringify(report) }, 204],
        ["/api/sessions", stranger, "/api/sessions", { method: "DELETE" }, 401],
        ["/api/sessions/[id]", alice, "/api/sessions/no-such-session", { method: "DELETE" }, 404],
        ["/api/tasks", alice, "/api/tasks", {}, 200],
        ["/api/tasks", alice, "/api/tasks", { method: "POST", body: { title: "another" } }, 201],
        ["/api/tasks/[id]", alice, `/api/tasks/${taskId}`, {}, 200],
        ["/api/tasks/[id]", alice, `/api/tasks/${taskId}`, { method: "PUT", headers: { "if-match": '"1"' }, body: { title: "edited" } }, 200],
        ["/api/tasks/[id]/complete", alice, `/api/tasks/${taskId}/complete`, { method: "PATCH", headers: { "if-match": '"2"' } }, 200],
      ];
      assert.deepEqual([...new Set(table.map(([route]) => route))].sort(), [...ROUTES].sort(), "every page and route handler of the build is asked");
      answers = [];
      for (const [route, who, path, options, status] of table) {
        const response = await who.fetch(path, options);
        const what = `${options.method ?? "GET"} ${path}`;
        assert.equal(response.status, status, what);
        answers.push({ route, what, status, page: !route.startsWith("/api/"), headers: response.headers, body: await response.text() });
      }
    });

    it("every page and route handler carries nosniff, X-Frame-Options, Referrer-Policy, Permissions-Policy, COOP and CORP, and HSTS only on https", () => {
      for (const { what, headers } of answers) assertCommonHeaders(headers, https, what);
    });

    it("every page carries the nonce-based Content-Security-Policy (no unsafe-inline or unsafe-eval), with a fresh nonce on each of Next.js's scripts", () => {
      const nonces = new Set();
      for (const { route, what, status, headers, body } of answers.filter((a) => a.page)) {
        const header = headers.get("content-security-policy");
        assert.ok(header, `${what}: a policy`);
        assert.doesNotMatch(header, /unsafe-inline|unsafe-eval|\*/, what);
        const { directives, nonce } = parsePolicy(header);
        assert.ok(nonce && Buffer.from(nonce, "base64").length >= 16, `${what}: a nonce of 16 bytes or more`);
        assert.deepEqual(directives, expectedPagePolicy(nonce, https), what);
        assert.equal(headers.get("reporting-endpoints"), https ? `csp="${publicOrigin}/api/csp-report"` : null, what);
        nonces.add(nonce);
        // Next.js prerenders its global error page at build time: no nonce there, so its scripts
        // do not run (app/global-error.tsx is plain HTML and CSS). Every other page is rendered
        // per request, and each of its scripts carries this request's nonce.
        if (route === "/_global-error" || status === 307) continue;
        const scripts = body.match(/<script\b[^>]*>/g) ?? [];
        assert.ok(scripts.length > 0, `${what}: Next.js's scripts are in the page`);
        for (const tag of scripts) assert.ok(tag.includes(`nonce="${nonce}"`), `${what}: ${tag}`);
      }
      assert.equal(nonces.size, answers.filter((a) => a.page).length, "a fresh nonce for each request");
    });

    if (!https) {
      it("the answer that sends a page asked for by the other loopback name to the app carries the page headers too", async () => {
        const response = await fetch(`${stack.baseURL.replace("127.0.0.1", "localhost")}/sign-in`);
        assert.match(response.headers.get("refresh"), /^0; url=http:\/\/127\.0\.0\.1:\d+\/sign-in$/);
        assertCommonHeaders(response.headers, false, "the other loopback name");
        const { directives, nonce } = parsePolicy(response.headers.get("content-security-policy"));
        assert.deepEqual(directives, expectedPagePolicy(nonce, false));
      });
    }

    it("every route handler answers with a policy that lets nothing run, load or frame it", () => {
      for (const { what, headers } of answers.filter((a) => !a.page)) {
        assert.equal(headers.get("content-security-policy"), ROUTE_HANDLER_CSP, what);
        assert.equal(headers.get("reporting-endpoints"), null, what);
      }
    });
  });
}

describe("the Content-Security-Policy report endpoint", () => {
  let stack;
  after(() => stack?.stop());
  before(async () => {
    stack = await startStack();
  });

  const post = (body, contentType) =>
    fetch(`${stack.baseURL}/api/csp-report`, { method: "POST", headers: { "content-type": contentType }, body });
  const logged = () =>
    stack.web
      .output()
      .split("\n")
      .filter((line) => line.includes('"event":"csp-violation"'))
      .map((line) => JSON.parse(line));

  it("logs each violation of either kind of report as one JSON line, URLs without query or fragment, and answers 204 with nothing echoed", async () => {
    const before = logged().length;
    const reportUri = {
      "csp-report": {
        "document-uri": `${stack.baseURL}/tasks?token=do-not-log-me#fragment`,
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "original-policy": "default-src 'self'",
        "blocked-uri": "inline",
        disposition: "enforce",
        "status-code": 200,
        "line-number": 3,
        "column-number": 7,
        "script-sample": "do-not-log-me-either",
        "source-file": `${stack.baseURL}/tasks?token=do-not-log-me`,
      },
    };
    const reportingApi = [
      { type: "deprecation", url: `${stack.baseURL}/tasks`, body: { id: "something" } },
      {
        type: "csp-violation",
        age: 10,
        url: `${stack.baseURL}/sign-in`,
        user_agent: "Chromium",
        body: {
          documentURL: `${stack.baseURL}/sign-in`,
          blockedURL: "https://evil.example/steal.js?session=do-not-log-me",
          effectiveDirective: "script-src-elem",
          originalPolicy: "default-src 'self'",
          disposition: "enforce",
          statusCode: 200,
          sample: "do-not-log-me-either",
          lineNumber: 1,
          columnNumber: 2,
        },
      },
    ];
    for (const [body, type] of [[reportUri, "application/csp-report"], [reportingApi, "application/reports+json"]]) {
      const response = await post(JSON.stringify(body), type);
      assert.equal(response.status, 204);
      assert.equal(await response.text(), "");
    }
    assert.deepEqual(logged().slice(before), [
      {
        event: "csp-violation",
        document: `${stack.baseURL}/tasks`,
        directive: "script-src-elem",
        blocked: "inline",
        disposition: "enforce",
        source: `${stack.baseURL}/tasks`,
        line: 3,
        column: 7,
        status: 200,
      },
      {
        event: "csp-violation",
        document: `${stack.baseURL}/sign-in`,
        directive: "script-src-elem",
        blocked: "https://evil.example/steal.js",
        disposition: "enforce",
        line: 1,
        column: 2,
        status: 200,
      },
    ]);
    assert.doesNotMatch(stack.web.output(), /do-not-log-me/);
  });

  it("refuses what is not a report with a problem, a body over 32 KiB with 413 before reading it whole, and a GET with 405", async () => {
    const before = logged().length;
    const problemOf = async (response) => ({ status: response.status, type: (await response.json()).type });
    const kind = (k) => `tag:taskgate,2026:problem:${k}`;
    assert.deepEqual(await problemOf(await post("{not json", "application/csp-report")), { status: 400, type: kind("invalid-report") });
    assert.deepEqual(await problemOf(await post("{}", "application/csp-report")), { status: 400, type: kind("invalid-report") });
    assert.deepEqual(await problemOf(await post('{"csp-report":{}}', "text/plain")), { status: 400, type: kind("invalid-report") });
    const huge = JSON.stringify({ "csp-report": { "document-uri": "x".repeat(40 * 1024) } });
    assert.deepEqual(await problemOf(await post(huge, "application/csp-report")), { status: 413, type: kind("body-too-large") });
    assert.equal((await fetch(`${stack.baseURL}/api/csp-report`)).status, 405);
    assert.equal(logged().length, before, "nothing logged");
  });
});
