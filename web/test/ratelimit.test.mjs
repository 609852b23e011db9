// Better Auth's rate limits as the front end configures them (on; in this process's memory with
// SQLite; PostgreSQL's shared storage is in postgres.test.mjs): brute force against sign-in and
// sign-up from one client gets 429, and behind a load balancer (`AUTH_TRUSTED_PROXIES`) the
// client is the address the balancer saw, whatever a client puts in X-Forwarded-For itself.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { requireTools, startStack } from "./helpers.mjs";

requireTools();

/** Better Auth's limit on sign-in and sign-up: 3 requests per 10 s per client address. */
const ALLOWED = 3;

describe("rate limits on sign-in and sign-up", () => {
  let stack;
  after(() => stack?.stop());
  before(async () => {
    // Rate limits on (the other test servers turn them off); the load balancer in front would be in 10.0.0.0/8.
    stack = await startStack({ webEnv: { AUTH_RATE_LIMIT: null, AUTH_TRUSTED_PROXIES: "10.0.0.0/8" } });
  });

  const signIn = (email, password, headers = {}) =>
    fetch(`${stack.baseURL}/api/auth/sign-in/email`, {
      method: "POST",
      headers: { origin: stack.baseURL, "content-type": "application/json", ...headers },
      body: JSON.stringify({ email, password }),
    });

  const signUp = (email, headers = {}) =>
    fetch(`${stack.baseURL}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { origin: stack.baseURL, "content-type": "application/json", ...headers },
      body: JSON.stringify({ name: "Someone", email, password: "correct horse battery" }),
    });

  it("sign-in brute force from one client: wrong passwords, then 429 even for the right one, with when to try again", async () => {
    // The victim signed up from elsewhere (through the balancer), so this client's sign-up count stays untouched.
    const email = `victim-${Date.now()}@example.com`;
    assert.equal((await signUp(email, { "x-forwarded-for": "192.0.2.1, 10.0.0.1" })).status, 200);
    for (let attempt = 1; attempt <= ALLOWED; attempt++) {
      assert.equal((await signIn(email, `guess number ${attempt}`)).status, 401, `attempt ${attempt}`);
    }
    const limited = await signIn(email, "correct horse battery");
    assert.equal(limited.status, 429);
    const retryAfter = Number(limited.headers.get("x-retry-after"));
    assert.ok(retryAfter > 0 && retryAfter <= 10, `X-Retry-After ${retryAfter}`);
    assert.doesNotMatch(limited.headers.get("set-cookie") ?? "", /session_token/, "no session for a limited attempt");
  });

  it("sign-up brute force from one client: 429 after three", async () => {
    const email = (n) => `bulk-${n}-${Date.now()}@example.com`;
    for (let n = 1; n <= ALLOWED; n++) assert.equal((await signUp(email(n))).status, 200, `sign-up ${n}`);
    assert.equal((await signUp(email(ALLOWED + 1))).status, 429);
  });

  it("behind a load balancer, a client's own X-Forwarded-For entries do not escape the limit, and other clients are not limited with it", async () => {
    // The balancer appends the address it saw; what comes before is the client's to choose.
    const via = (client, spoofed) => ({ "x-forwarded-for": `${spoofed}, ${client}, 10.1.2.3` });
    for (let attempt = 1; attempt <= ALLOWED; attempt++) {
      const response = await signIn("nobody@example.com", "guess", via("198.51.100.7", `203.0.113.${attempt}`));
      assert.equal(response.status, 401, `attempt ${attempt}`);
    }
    assert.equal((await signIn("nobody@example.com", "guess", via("198.51.100.7", "203.0.113.99"))).status, 429);
    assert.equal((await signIn("nobody@example.com", "guess", via("198.51.100.8", "203.0.113.1"))).status, 401, "another client");
  });
});
