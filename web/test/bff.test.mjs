// The backend-for-frontend route handlers (`/api/tasks...`) as a browser uses them: cookie in,
// JSON out, no token ever. The same tests in JWKS mode and in HS256 mode (the handlers mint).
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import { Visitor, api, requireTools, startStack, startStackWithTwoUsers, waitUntil } from "./helpers.mjs";

requireTools();

const json = async (response) => ({ status: response.status, headers: response.headers, body: await response.json() });

for (const mode of ["jwks", "hs256"]) {
  describe(`front end handlers (${mode})`, () => {
    let stack, alice, bob;
    after(() => stack?.stop());
    before(async () => {
      ({ stack, alice, bob } = await startStackWithTwoUsers(mode));
    });

    it("sets the session as an httpOnly, SameSite=Lax cookie", async () => {
      const visitor = new Visitor(stack.baseURL);
      const response = await visitor.fetch("/api/auth/sign-up/email", {
        method: "POST",
        body: { name: "Carol", email: `carol-${Date.now()}@example.com`, password: "correct horse battery" },
      });
      const cookie = response.headers.getSetCookie().find((c) => c.includes("session_token"));
      assert.match(cookie, /HttpOnly/i);
      assert.match(cookie, /SameSite=Lax/i);
      assert.equal(response.headers.get("set-auth-jwt"), null);
    });

    it("signed out: the handlers answer 401 and the task page redirects to sign in on the server", async () => {
      const stranger = new Visitor(stack.baseURL);
      assert.equal((await stranger.fetch("/api/tasks")).status, 401);
      const page = await stranger.fetch("/tasks");
      assert.ok([302, 303, 307].includes(page.status), `status ${page.status}`);
      assert.equal(new URL(page.headers.get("location"), stack.baseURL).pathname, "/sign-in");
      assert.doesNotMatch(await page.text(), /Your tasks|What needs doing/);
    });

    it("create, list, filter, load more, edit with If-Match, toggle and delete through the handlers", async () => {
      const created = [];
      for (const title of ["one", "two", "three"]) {
        const r = await json(await alice.fetch("/api/tasks", { method: "POST", body: { title } }));
        assert.equal(r.status, 201);
        assert.equal(r.headers.get("etag"), '"1"');
        assert.equal(r.headers.get("location"), null, "the API's Location is not passed on");
        created.push(r.body);
      }
      const firstPage = await json(await alice.fetch("/api/tasks?limit=2"));
      assert.deepEqual(firstPage.body.items.map((t) => t.title), ["three", "two"]);
      const secondPage = await json(await alice.fetch(`/api/tasks?limit=2&cursor=${encodeURIComponent(firstPage.body.next_cursor)}`));
      assert.deepEqual(secondPage.body.items.map((t) => t.title), ["one"]);

      const [one, two] = created;
      const edited = await json(await alice.fetch(`/api/tasks/${one.id}`, { method: "PUT", body: { title: "one, edited" }, headers: { "if-match": '"1"' } }));
      assert.equal(edited.status, 200);
      const stale = await json(await alice.fetch(`/api/tasks/${one.id}`, { method: "PUT", body: { title: "lost" }, headers: { "if-match": '"1"' } }));
      assert.equal(stale.status, 412);
      assert.equal(stale.headers.get("content-type"), "application/problem+json");

      const toggled = await json(await alice.fetch(`/api/tasks/${two.id}/complete`, { method: "PATCH", headers: { "if-match": '"1"' } }));
      assert.equal(toggled.body.completed, true);
      const done = await json(await alice.fetch("/api/tasks?status=completed"));
      assert.deepEqual(done.body.items.map((t) => t.id), [two.id]);
      const pending = await json(await alice.fetch("/api/tasks?status=pending"));
      assert.ok(!pending.body.items.some((t) => t.id === two.id));

      assert.equal((await alice.fetch(`/api/tasks/${two.id}`, { method: "DELETE" })).status, 204);
      assert.equal((await alice.fetch(`/api/tasks/${two.id}`)).status, 404);
      assert.equal((await alice.fetch("/api/tasks/..%2F..%2Fother")).status, 404);
    });

    it("the same Idempotency-Key twice (a double-click) creates one task", async () => {
      const headers = { "idempotency-key": `double-click-${Date.now()}` };
      const first = await alice.fetch("/api/tasks", { method: "POST", body: { title: "once" }, headers });
      const second = await alice.fetch("/api/tasks", { method: "POST", body: { title: "once" }, headers });
      assert.equal(first.status, 201);
      assert.equal(second.headers.get("idempotent-replayed"), "true");
      assert.equal((await first.json()).id, (await second.json()).id);
      const all = await json(await alice.fetch("/api/tasks?limit=100"));
      assert.equal(all.body.items.filter((t) => t.title === "once").length, 1);
    });

    it("each user sees only their own tasks", async () => {
      await bob.fetch("/api/tasks", { method: "POST", body: { title: "Bob's only task" } });
      const bobs = await json(await bob.fetch("/api/tasks"));
      assert.deepEqual(bobs.body.items.map((t) => t.title), ["Bob's only task"]);
      const alices = await json(await alice.fetch("/api/tasks?limit=100"));
      assert.ok(alices.body.items.every((t) => t.user_id === alice.user.id));
      // Alice cannot reach Bob's task by id through her own session.
      assert.equal((await alice.fetch(`/api/tasks/${bobs.body.items[0].id}`)).status, 404);
    });

    it("a cross-site request to a handler is refused with 403 and changes nothing", async () => {
      const before = await json(await alice.fetch("/api/tasks?limit=100"));
      const attempts = [
        { origin: "https://evil.example", body: { title: "csrf json" } },
        { origin: "null", body: { title: "csrf sandboxed" } },
        { origin: null, headers: { "sec-fetch-site": "cross-site" }, body: { title: "csrf no origin" } },
        { origin: null, body: { title: "csrf without any header" } },
        { origin: "https://evil.example", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "title=csrf+form" },
      ];
      for (const { origin, headers, body } of attempts) {
        const response = await alice.fetch("/api/tasks", { method: "POST", origin, headers, body });
        assert.equal(response.status, 403, JSON.stringify({ origin, headers }));
      }
      const target = before.body.items[0];
      assert.equal((await alice.fetch(`/api/tasks/${target.id}`, { method: "DELETE", origin: "https://evil.example" })).status, 403);
      const same = await json(await alice.fetch("/api/tasks?limit=100"));
      assert.deepEqual(same.body, before.body);
    });

    it("the token endpoint is closed: 404 with no JWT to a client holding the session cookie, browser or not", async () => {
      for (const headers of [{}, { "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors" }]) {
        for (const path of ["/api/auth/token", "/api/auth/token/", "/api/auth/token?x=1"]) {
          const response = await alice.fetch(path, { headers, redirect: "follow" });
          assert.equal(response.status, 404, `${path} ${JSON.stringify(headers)}`);
          assert.doesNotMatch(await response.text(), /eyJ/);
        }
      }
    });

    it("after sign-out the old session cookie gets nothing from the handlers", async () => {
      const carol = new Visitor(stack.baseURL);
      await carol.signUp("Carol");
      assert.equal((await carol.fetch("/api/tasks")).status, 200);
      const oldCookies = new Map(carol.cookies);
      assert.equal((await carol.fetch("/api/auth/sign-out", { method: "POST", body: {} })).status, 200);
      const replay = new Visitor(stack.baseURL);
      replay.cookies = oldCookies;
      assert.equal((await replay.fetch("/api/tasks")).status, 401);
      assert.equal((await replay.fetch("/api/tasks", { method: "POST", body: { title: "after sign-out" } })).status, 401);
    });

    it("the API itself refuses a request without a token", async () => {
      assert.equal((await api(stack.apiURL, null, "GET", `/api/${alice.user.id}/tasks`)).status, 401);
    });
  });
}

for (const mode of ["jwks", "hs256"]) {
  describe(`front end handlers (${mode}): short-lived tokens`, () => {
    it("an expiring API token is replaced without the user noticing", async (t) => {
      const stack = await startStack({ mode, webEnv: { JWT_EXPIRATION_SECONDS: "2" }, apiEnv: { AUTH_LEEWAY_SECONDS: "0" } });
      t.after(() => stack.stop());
      const alice = new Visitor(stack.baseURL);
      await alice.signUp("Alice");
      assert.equal((await alice.fetch("/api/tasks", { method: "POST", body: { title: "before" } })).status, 201);
      const start = Date.now();
      await waitUntil("the first token to expire", () => Date.now() - start > 3_000, { timeoutMs: 5_000 });
      assert.equal((await alice.fetch("/api/tasks", { method: "POST", body: { title: "after" } })).status, 201);
      const titles = (await (await alice.fetch("/api/tasks")).json()).items.map((task) => task.title);
      assert.deepEqual(titles, ["after", "before"]);
    });
  });
}

const PROBLEM = "tag:taskgate,2026:problem:";

/** A response's problem, checked to be RFC 9457 in the API's `type` scheme. */
async function problemOf(response) {
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  const body = await response.json();
  assert.equal(body.status, response.status);
  assert.ok(body.type.startsWith(PROBLEM), body.type);
  assert.ok(body.title && body.detail, JSON.stringify(body));
  return { status: response.status, kind: body.type.slice(PROBLEM.length) };
}

/**
 * A POST to /api/tasks that sends `first` and then waits, the body never finished: answers
 * with the status and body of a response that comes anyway (the handler refused the body
 * without reading it whole), or null after 5 s.
 */
function postWithoutFinishing(visitor, headers, first) {
  const url = new URL("/api/tasks", visitor.baseURL);
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      method: "POST",
      headers: { cookie: visitor.cookieHeader(), origin: visitor.baseURL, "content-type": "application/json", ...headers },
    });
    const timer = setTimeout(() => {
      request.destroy();
      resolve(null);
    }, 5_000);
    request.on("error", (error) => (error.code === "ECONNRESET" ? undefined : reject(error)));
    request.on("response", (response) => {
      let text = "";
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => {
        clearTimeout(timer);
        request.destroy();
        resolve({ status: response.status ?? response.statusCode, body: JSON.parse(text) });
      });
    });
    request.write(first);
  });
}

describe("front end handlers: problems and limits", () => {
  let stack;
  after(() => stack?.stop());
  before(async () => {
    stack = await startStack({ apiEnv: { TASK_QUOTA: "2" } });
  });

  it("the handlers' own problems are problem+json in the API's type scheme", async () => {
    const alice = new Visitor(stack.baseURL);
    await alice.signUp("Alice");
    const stranger = new Visitor(stack.baseURL);
    const cases = [
      [await alice.fetch("/api/tasks", { method: "POST", origin: "https://evil.example", body: { title: "x" } }), 403, "csrf-refused"],
      [await stranger.fetch("/api/tasks"), 401, "unauthorized"],
      [await alice.fetch("/api/tasks/not..an..id"), 404, "not-found"],
      [await alice.fetch("/api/tasks/not..an..id/complete", { method: "PATCH" }), 404, "not-found"],
      [await alice.fetch("/api/auth/token", { headers: { "sec-fetch-site": "same-origin" } }), 404, "not-found"],
      [await alice.fetch("/api/tasks", { method: "POST", body: { title: "x".repeat(17 * 1024) } }), 413, "body-too-large"],
    ];
    for (const [response, status, kind] of cases) assert.deepEqual(await problemOf(response), { status, kind });
    // The API's own problems pass through unchanged.
    const missing = await alice.fetch("/api/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV");
    assert.deepEqual(await problemOf(missing), { status: 404, kind: "not-found" });
  });

  it("an AUTH_TOKEN_ENDPOINT the front end does not know stops its start with one line", async () => {
    await assert.rejects(
      startStack({ webEnv: { AUTH_TOKEN_ENDPOINT: "cookie" } }),
      /the front end cannot start: AUTH_TOKEN_ENDPOINT must be off or bearer, not "cookie"\n/,
    );
  });

  it("a body over 16 KiB is refused with 413 before it is read whole: by Content-Length, or as a stream passes the limit", async () => {
    const alice = new Visitor(stack.baseURL);
    await alice.signUp("Alice");
    const json = (title) => JSON.stringify({ title });

    // Declared too large: refused after the first kilobyte, the rest never sent.
    const declared = await postWithoutFinishing(alice, { "content-length": String(1024 * 1024) }, "x".repeat(1024));
    assert.equal(declared?.status, 413, "no answer before the whole body was sent");
    assert.equal(declared.body.type, `${PROBLEM}body-too-large`);

    // Chunked, with no length: refused once 17 KiB have come, the body still unfinished.
    const streamed = await postWithoutFinishing(alice, { "transfer-encoding": "chunked" }, "x".repeat(17 * 1024));
    assert.equal(streamed?.status, 413, "no answer before the end of the stream");

    // A chunked body of 17 KiB, in 1 KiB chunks, through fetch.
    const chunks = (text) =>
      new ReadableStream({
        start(controller) {
          for (let i = 0; i < text.length; i += 1024) controller.enqueue(new TextEncoder().encode(text.slice(i, i + 1024)));
          controller.close();
        },
      });
    const headers = { cookie: alice.cookieHeader(), origin: stack.baseURL, "content-type": "application/json" };
    const big = await fetch(`${stack.baseURL}/api/tasks`, { method: "POST", headers, body: chunks(json("x".repeat(17 * 1024))), duplex: "half" });
    assert.deepEqual(await problemOf(big), { status: 413, kind: "body-too-large" });

    // A chunked body under the limit goes through.
    const small = await fetch(`${stack.baseURL}/api/tasks`, { method: "POST", headers, body: chunks(json("streamed")), duplex: "half" });
    assert.equal(small.status, 201);
    const titles = (await (await alice.fetch("/api/tasks")).json()).items.map((task) => task.title);
    assert.deepEqual(titles, ["streamed"]);
  });

  it("past the task quota the API's 409 task-quota-exceeded reaches the browser unchanged", async () => {
    const carol = new Visitor(stack.baseURL);
    await carol.signUp("Carol");
    for (const title of ["one", "two"]) assert.equal((await carol.fetch("/api/tasks", { method: "POST", body: { title } })).status, 201);
    const third = await carol.fetch("/api/tasks", { method: "POST", body: { title: "three" } });
    assert.deepEqual(await problemOf(third), { status: 409, kind: "task-quota-exceeded" });
  });

  it("when the API cannot be reached the handlers answer 502 api-unreachable", async () => {
    const dave = new Visitor(stack.baseURL);
    await dave.signUp("Dave");
    await stack.api.stop();
    assert.deepEqual(await problemOf(await dave.fetch("/api/tasks")), { status: 502, kind: "api-unreachable" });
  });
});
