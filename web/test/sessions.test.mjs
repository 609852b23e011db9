// Sign-out that ends API access, through the backend-for-frontend's handlers: the `sid` claim,
// "sign out everywhere" (`DELETE /api/sessions`), signing out one device
// (`DELETE /api/sessions/{id}`), and how the handlers answer an API 401 (a refused token is not an
// ended session). The front end reaches the API through a recording proxy, so each test sees
// every call the front end makes and the tokens it sends (a token never reaches a page).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NATIVE_TOKENS, Visitor, api, decodeJwt, mintHs256, requireTools, startStack, waitUntil } from "./helpers.mjs";

requireTools();

/** Each API instance keeps a user's revocation state at most this long: the bound, set small here. */
const REVOCATION_TTL_S = 1;
const PROBLEM = "tag:taskgate,2026:problem:";

const tasksOf = (user) => `/api/${user.id}/tasks`;

async function problemOf(response) {
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  const body = await response.json();
  assert.equal(body.status, response.status);
  return { status: response.status, kind: body.type.replace(PROBLEM, "") };
}

/** The calls the front end made to the API since `from`, as `METHOD path status`. */
const callsSince = (stack, from) => stack.apiCalls.slice(from).map((c) => `${c.method} ${c.path.replace(/\?.*/, "")} ${c.status}`);

/** The token the front end last sent for this user. */
const lastTokenOf = (stack, user) => stack.apiCalls.findLast((c) => c.path.startsWith(`/api/${user.id}/`)).token;

/** Waits until the API refuses every token, and returns how many seconds that took. */
async function secondsUntilRefused(stack, user, tokens) {
  const start = Date.now();
  await waitUntil(
    "the API to refuse the tokens issued before the revocation",
    async () => {
      for (const token of tokens) if ((await api(stack.apiURL, token, "GET", tasksOf(user))).status !== 401) return false;
      return true;
    },
    { timeoutMs: (REVOCATION_TTL_S + 2) * 1000, intervalMs: 100 },
  );
  return (Date.now() - start) / 1000;
}

/** A user and two of their sessions (two devices), each having called the API through the front end. */
async function userWithTwoSessions(stack, name) {
  const first = new Visitor(stack.baseURL);
  await first.signUp(name);
  const second = new Visitor(stack.baseURL);
  await second.signIn(first.email);
  for (const device of [first, second]) assert.equal((await device.fetch("/api/tasks")).status, 200);
  return [first, second];
}

for (const mode of ["jwks", "hs256"]) {
  describe(`sign-out that ends API access (${mode})`, () => {
    let stack;
    after(() => stack?.stop());
    before(async () => {
      stack = await startStack({ mode, recordApiCalls: true, webEnv: NATIVE_TOKENS, apiEnv: { REVOCATION_TTL_S: String(REVOCATION_TTL_S) } });
    });

    it("the API tokens carry the session id as `sid`", async () => {
      const [first, second] = await userWithTwoSessions(stack, "Sid");
      for (const device of [first, second]) {
        await device.fetch("/api/tasks");
        const { sid, sub } = decodeJwt(lastTokenOf(stack, device.user));
        const { session } = await device.session();
        assert.equal(sub, device.user.id);
        assert.equal(sid, session.id);
        if (mode === "jwks") assert.equal(decodeJwt(await device.token()).sid, session.id, "Better Auth's own token endpoint");
      }
      assert.notEqual((await first.session()).session.id, (await second.session()).session.id, "one sid per session");
    });

    it("sign out everywhere ends every session, and every token issued before is 401 at the API within the bound", async () => {
      const [first, second] = await userWithTwoSessions(stack, "Eve");
      const captured = [lastTokenOf(stack, first.user)];
      await second.fetch("/api/tasks");
      captured.push(lastTokenOf(stack, second.user));
      captured.push(mode === "jwks" ? await first.token() : await mintHs256(first.user.id, stack.baseURL));
      for (const token of captured) assert.equal((await api(stack.apiURL, token, "GET", tasksOf(first.user))).status, 200);
      const bystander = new Visitor(stack.baseURL);
      await bystander.signUp("Bystander");

      const from = stack.apiCalls.length;
      const response = await first.fetch("/api/sessions", { method: "DELETE" });
      assert.equal(response.status, 204);
      assert.equal(response.headers.get("cache-control"), "no-store");
      assert.deepEqual(callsSince(stack, from), [`DELETE /api/${first.user.id}/sessions 204`]);
      assert.ok(![...first.cookies.keys()].some((name) => name.includes("session_token")), "the session cookie is cleared");

      const seconds = await secondsUntilRefused(stack, first.user, captured);
      console.log(`sign out everywhere (${mode}): tokens issued before refused after ${seconds.toFixed(2)} s (bound ${REVOCATION_TTL_S} s)`);
      assert.ok(seconds <= REVOCATION_TTL_S + 0.5, `${seconds} s`);

      // The other device's next action: its session has ended, and the API is not called.
      const later = stack.apiCalls.length;
      assert.deepEqual(await problemOf(await second.fetch("/api/tasks")), { status: 401, kind: "unauthorized" });
      assert.equal(stack.apiCalls.length, later);
      // Another user is unaffected; signing in again works (tokens issued after the revocation).
      assert.equal((await bystander.fetch("/api/tasks")).status, 200);
      const again = new Visitor(stack.baseURL);
      await again.signIn(first.email);
      assert.equal((await again.fetch("/api/tasks", { method: "POST", body: { title: "after" } })).status, 201);
    });

    it("a plain sign-out revokes this session's tokens at the API; the user's other session keeps working", async () => {
      const [first, second] = await userWithTwoSessions(stack, "Plain");
      const firstId = (await first.session()).session.id;
      await first.fetch("/api/tasks");
      const firstToken = lastTokenOf(stack, first.user);
      await second.fetch("/api/tasks");
      const secondToken = lastTokenOf(stack, second.user);
      assert.notEqual(decodeJwt(firstToken).sid, decodeJwt(secondToken).sid);

      const from = stack.apiCalls.length;
      const response = await first.fetch("/api/auth/sign-out", { method: "POST", body: {} });
      assert.equal(response.status, 200);
      assert.deepEqual(callsSince(stack, from), [`DELETE /api/${first.user.id}/sessions/${firstId} 204`]);
      const seconds = await secondsUntilRefused(stack, first.user, [firstToken]);
      assert.ok(seconds <= REVOCATION_TTL_S + 0.5, `${seconds} s`);
      assert.equal((await api(stack.apiURL, secondToken, "GET", tasksOf(first.user))).status, 200, "the other session's token");
      assert.equal((await second.fetch("/api/tasks")).status, 200, "the other session");
    });

    if (mode === "jwks") {
      it("a native client's sign-out with its bearer session token ends the session and revokes its tokens at the API", async () => {
        const native = new Visitor(stack.baseURL);
        await native.signUp("Native");
        const token = await native.token();
        const { sid } = decodeJwt(token);
        assert.equal((await api(stack.apiURL, token, "GET", tasksOf(native.user))).status, 200);
        const from = stack.apiCalls.length;
        const bearer = { authorization: `Bearer ${native.sessionToken}` };
        const response = await fetch(`${stack.baseURL}/api/auth/sign-out`, { method: "POST", headers: { ...bearer, "content-type": "application/json" }, body: "{}" });
        assert.equal(response.status, 200);
        assert.deepEqual(callsSince(stack, from), [`DELETE /api/${native.user.id}/sessions/${sid} 204`]);
        assert.equal((await fetch(`${stack.baseURL}/api/auth/token`, { headers: bearer })).status, 401, "the session has ended");
        const seconds = await secondsUntilRefused(stack, native.user, [token]);
        assert.ok(seconds <= REVOCATION_TTL_S + 0.5, `${seconds} s`);
      });
    }

    it("signing out one device: only the user's own sessions; its tokens are 401 at the API, the others keep working", async () => {
      const [first, second] = await userWithTwoSessions(stack, "Dev");
      const other = new Visitor(stack.baseURL);
      await other.signUp("Other");
      const theirs = (await other.session()).session.id;
      const secondId = (await second.session()).session.id;
      const secondToken = lastTokenOf(stack, second.user);

      // Another user's session id, or an unknown one: 404, and nothing reaches the API.
      let from = stack.apiCalls.length;
      for (const id of [theirs, "no-such-session", "..%2Fsessions"]) {
        assert.deepEqual(await problemOf(await first.fetch(`/api/sessions/${id}`, { method: "DELETE" })), { status: 404, kind: "not-found" });
      }
      assert.deepEqual(callsSince(stack, from), []);
      assert.equal((await other.fetch("/api/tasks")).status, 200);

      from = stack.apiCalls.length;
      const response = await first.fetch(`/api/sessions/${secondId}`, { method: "DELETE" });
      assert.equal(response.status, 204);
      assert.deepEqual(callsSince(stack, from), [`DELETE /api/${first.user.id}/sessions/${secondId} 204`]);
      assert.ok([...first.cookies.keys()].some((name) => name.includes("session_token")), "this device stays signed in");

      const seconds = await secondsUntilRefused(stack, first.user, [secondToken]);
      console.log(`one device signed out (${mode}): its token refused after ${seconds.toFixed(2)} s (bound ${REVOCATION_TTL_S} s)`);
      assert.deepEqual(await problemOf(await second.fetch("/api/tasks")), { status: 401, kind: "unauthorized" });
      assert.equal((await first.fetch("/api/tasks")).status, 200);
      assert.equal((await api(stack.apiURL, lastTokenOf(stack, first.user), "GET", tasksOf(first.user))).status, 200);

      // Its own session id signs this device out.
      const own = (await first.session()).session.id;
      assert.equal((await first.fetch(`/api/sessions/${own}`, { method: "DELETE" })).status, 204);
      assert.deepEqual(await problemOf(await first.fetch("/api/tasks")), { status: 401, kind: "unauthorized" });
    });

    it("both routes refuse other origins (403) and the signed out (401), and change nothing", async () => {
      const [first, second] = await userWithTwoSessions(stack, "Csrf");
      const secondId = (await second.session()).session.id;
      const from = stack.apiCalls.length;
      for (const path of ["/api/sessions", `/api/sessions/${secondId}`]) {
        for (const origin of ["https://evil.example", "null", null]) {
          const response = await first.fetch(path, { method: "DELETE", origin });
          assert.deepEqual(await problemOf(response), { status: 403, kind: "csrf-refused" }, `${path} from ${origin}`);
        }
        assert.deepEqual(await problemOf(await new Visitor(stack.baseURL).fetch(path, { method: "DELETE" })), { status: 401, kind: "unauthorized" });
      }
      assert.deepEqual(callsSince(stack, from), []);
      for (const device of [first, second]) assert.equal((await device.fetch("/api/tasks")).status, 200);
    });

    it("when the API cannot be reached, sign out everywhere still ends every session and the sign-in page says the API was not told", async () => {
      const [first, second] = await userWithTwoSessions(stack, "Out");
      await stack.api.stop();
      const response = await first.fetch("/api/sessions", { method: "DELETE" });
      assert.deepEqual(await problemOf(response), { status: 502, kind: "api-unreachable" });
      assert.ok(![...first.cookies.keys()].some((name) => name.includes("session_token")), "the session cookie is cleared");
      assert.equal(await second.session(), null);
      const page = await (await first.fetch("/sign-in?notice=signed-out-everywhere-unconfirmed")).text();
      assert.match(page, /You have signed out on every device, but the task service could not be told/);
      assert.match(page, /for up to 15 minutes/);
    });
  });
}

describe("the handlers' answer to an API 401 (jwks)", () => {
  let stack;
  after(() => stack?.stop());
  before(async () => {
    stack = await startStack({ recordApiCalls: true, webEnv: NATIVE_TOKENS, apiEnv: { REVOCATION_TTL_S: String(REVOCATION_TTL_S) } });
  });

  /** A signed-up visitor whose front end has an API token cached, and a token of theirs for the test's own calls. */
  async function signedUp(name) {
    const visitor = new Visitor(stack.baseURL);
    await visitor.signUp(name);
    assert.equal((await visitor.fetch("/api/tasks")).status, 200);
    return { visitor, token: await visitor.token() };
  }

  it("a refused token while the session lives: one fresh token, one retry, and the request succeeds", async () => {
    const { visitor, token } = await signedUp("Retry");
    const cached = lastTokenOf(stack, visitor.user);
    // Revoked at the API by another client (every token issued so far); the session lives on.
    assert.equal((await api(stack.apiURL, token, "DELETE", `/api/${visitor.user.id}/sessions`)).status, 204);

    const from = stack.apiCalls.length;
    assert.equal((await visitor.fetch("/api/tasks", { method: "POST", body: { title: "still here" } })).status, 201);
    const tasks = `/api/${visitor.user.id}/tasks`;
    assert.deepEqual(callsSince(stack, from), [`POST ${tasks} 401`, `POST ${tasks} 201`]);
    const [refused, fresh] = stack.apiCalls.slice(from).map((c) => decodeJwt(c.token));
    assert.equal(stack.apiCalls[from].token, cached);
    assert.ok(fresh.iat > refused.iat);
    assert.equal(fresh.sid, refused.sid);
    // The fresh token is cached: the next request is one call.
    const next = stack.apiCalls.length;
    assert.equal((await visitor.fetch("/api/tasks")).status, 200);
    assert.deepEqual(callsSince(stack, next), [`GET ${tasks} 200`]);
  });

  it("the session ended while the call was under way: 401 unauthorized, one API call", async () => {
    const { visitor, token } = await signedUp("Ended");
    const elsewhere = new Visitor(stack.baseURL);
    elsewhere.cookies = new Map(visitor.cookies);
    const { session } = await visitor.session();
    // Signed out elsewhere (the same session), which also revokes the session's tokens at the API.
    const hooked = stack.beforeNextApiCall(async () => {
      assert.equal((await elsewhere.fetch("/api/auth/sign-out", { method: "POST", body: {} })).status, 200);
    });
    const from = stack.apiCalls.length;
    const response = await visitor.fetch("/api/tasks");
    await hooked;
    assert.deepEqual(await problemOf(response), { status: 401, kind: "unauthorized" });
    assert.deepEqual(callsSince(stack, from), [
      `GET /api/${visitor.user.id}/tasks 401`,
      `DELETE /api/${visitor.user.id}/sessions/${session.id} 204`,
    ]);
    assert.equal((await api(stack.apiURL, token, "GET", `/api/${visitor.user.id}/tasks`)).status, 401);
  });

  it("the API refuses a fresh token too: 502 api-rejects-tokens, the reason logged without the token, the session kept, no loop", async () => {
    const { visitor, token } = await signedUp("Refused");
    const { session } = await visitor.session();
    // This session's tokens revoked at the API while Better Auth's session lives: every fresh token is refused too.
    assert.equal((await api(stack.apiURL, token, "DELETE", `/api/${visitor.user.id}/sessions/${session.id}`)).status, 204);

    const tasks = `/api/${visitor.user.id}/tasks`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const from = stack.apiCalls.length;
      const response = await visitor.fetch("/api/tasks");
      assert.deepEqual(await problemOf(response), { status: 502, kind: "api-rejects-tokens" });
      assert.deepEqual(callsSince(stack, from), [`GET ${tasks} 401`, `GET ${tasks} 401`]);
    }
    assert.equal((await visitor.session())?.user.id, visitor.user.id, "still signed in");
    const log = stack.web.output();
    assert.match(log, /refused this app's token/);
    for (const call of stack.apiCalls.filter((c) => c.path.startsWith(`/api/${visitor.user.id}/`))) {
      assert.ok(!log.includes(call.token.split(".")[2]), "a token in the log");
    }
  });
});
