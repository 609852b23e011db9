// The Rust API end to end with real tokens: the front end's Better Auth server issues them
// (JWKS mode) or mints them with the shared secret (HS256 mode), and `taskgate-local` verifies
// them over HTTP.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NATIVE_TOKENS, Visitor, api, decodeJwt, kid, mintHs256, requireTools, startStack, startStackWithTwoUsers, waitUntil } from "./helpers.mjs";

requireTools();

const tasksOf = (user) => `/api/${user.id}/tasks`;

function tamper(token) {
  const [header, payload, signature] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
  claims.sub = "someone-else";
  return [header, Buffer.from(JSON.stringify(claims)).toString("base64url"), signature].join(".");
}

function flipSignature(token) {
  const [header, payload, signature] = token.split(".");
  const bytes = Buffer.from(signature, "base64url");
  bytes[0] ^= 1;
  return [header, payload, bytes.toString("base64url")].join(".");
}

for (const mode of ["jwks", "hs256"]) {
  describe(`API with real tokens (${mode})`, () => {
    let stack, alice, bob, aliceToken, bobToken;

    after(() => stack?.stop());
    before(async () => {
      ({ stack, alice, bob } = await startStackWithTwoUsers(mode, { webEnv: NATIVE_TOKENS }));
      if (mode === "jwks") {
        [aliceToken, bobToken] = [await alice.token(), await bob.token()];
      } else {
        [aliceToken, bobToken] = [await mintHs256(alice.user.id, stack.baseURL), await mintHs256(bob.user.id, stack.baseURL)];
      }
    });

    if (mode === "jwks") {
      it("Better Auth issues EdDSA tokens with the claims the API expects", () => {
        const header = JSON.parse(Buffer.from(aliceToken.split(".")[0], "base64url").toString());
        const claims = decodeJwt(aliceToken);
        assert.equal(header.alg, "EdDSA");
        assert.ok(header.kid);
        assert.equal(claims.sub, alice.user.id);
        assert.equal(claims.iss, stack.baseURL);
        assert.equal(claims.aud, stack.baseURL);
        assert.equal(claims.exp - claims.iat, 900);
      });

      it("AUTH_TOKEN_ENDPOINT=bearer: a native client's session token gets a JWT; the cookie alone, a browser, a tampered or unsigned session token get none", async () => {
        const tokenWith = (headers) => fetch(`${stack.baseURL}/api/auth/token`, { headers });
        const bearer = { authorization: `Bearer ${alice.sessionToken}` };
        assert.equal(decodeJwt(await alice.token()).sub, alice.user.id);
        // The cookie is not looked at: Bob's cookie with Alice's session token is Alice.
        const mixed = await tokenWith({ ...bearer, cookie: bob.cookieHeader() });
        assert.equal(decodeJwt((await mixed.json()).token).sub, alice.user.id);
        assert.equal((await alice.fetch("/api/auth/token")).status, 404, "the cookie alone");
        assert.equal((await tokenWith({ ...bearer, "sec-fetch-site": "same-origin" })).status, 404, "a browser");
        const [value, signature] = alice.sessionToken.split(".");
        for (const token of [`${value}.${signature.slice(0, -2)}AA`, value]) {
          const response = await tokenWith({ authorization: `Bearer ${token}` });
          assert.equal(response.status, 401, token === value ? "unsigned" : "tampered");
          assert.doesNotMatch(await response.text(), /eyJ/);
        }
        // A browser never sees the session token: no `set-auth-token` on its sign-in.
        const signIn = (headers) =>
          fetch(`${stack.baseURL}/api/auth/sign-in/email`, {
            method: "POST",
            headers: { origin: stack.baseURL, "content-type": "application/json", ...headers },
            body: JSON.stringify({ email: alice.email, password: "correct horse battery" }),
          });
        assert.ok((await signIn({})).headers.get("set-auth-token"), "a native client gets its session token");
        const browser = await signIn({ "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors" });
        assert.equal(browser.status, 200);
        assert.equal(browser.headers.get("set-auth-token"), null);
      });
    } else {
      it("a Better Auth EdDSA token is refused by the API in HS256 mode", async () => {
        assert.equal((await api(stack.apiURL, await alice.token(), "GET", tasksOf(alice.user))).status, 401);
      });
    }

    it("each user's create, read, list, update, toggle and delete work", async () => {
      for (const [user, token] of [[alice.user, aliceToken], [bob.user, bobToken]]) {
        const created = await api(stack.apiURL, token, "POST", tasksOf(user), { body: { title: `${user.name}'s task` } });
        assert.equal(created.status, 201);
        assert.equal(created.headers.get("etag"), '"1"');
        const id = created.json.id;
        assert.equal((await api(stack.apiURL, token, "GET", `${tasksOf(user)}/${id}`)).json.title, `${user.name}'s task`);
        const list = await api(stack.apiURL, token, "GET", tasksOf(user));
        assert.ok(list.json.items.some((t) => t.id === id));
        const updated = await api(stack.apiURL, token, "PUT", `${tasksOf(user)}/${id}`, {
          body: { title: "Renamed", description: "with notes" },
          headers: { "if-match": '"1"' },
        });
        assert.equal(updated.status, 200);
        assert.equal(updated.json.version, 2);
        const stale = await api(stack.apiURL, token, "PUT", `${tasksOf(user)}/${id}`, { body: { title: "x" }, headers: { "if-match": '"1"' } });
        assert.equal(stale.status, 412);
        const toggled = await api(stack.apiURL, token, "PATCH", `${tasksOf(user)}/${id}/complete`);
        assert.equal(toggled.json.completed, true);
        assert.equal((await api(stack.apiURL, token, "DELETE", `${tasksOf(user)}/${id}`)).status, 204);
        assert.equal((await api(stack.apiURL, token, "GET", `${tasksOf(user)}/${id}`)).status, 404);
      }
    });

    it("user A's token on B's path is 403 and B's data is unchanged; B never sees A's tasks", async () => {
      const bobTask = (await api(stack.apiURL, bobToken, "POST", tasksOf(bob.user), { body: { title: "Bob's secret" } })).json;
      const aliceTask = (await api(stack.apiURL, aliceToken, "POST", tasksOf(alice.user), { body: { title: "Alice's plan" } })).json;
      const before = (await api(stack.apiURL, bobToken, "GET", tasksOf(bob.user))).json;

      const attempts = [
        ["GET", tasksOf(bob.user)],
        ["POST", tasksOf(bob.user), { title: "planted by Alice" }],
        ["GET", `${tasksOf(bob.user)}/${bobTask.id}`],
        ["PUT", `${tasksOf(bob.user)}/${bobTask.id}`, { title: "changed by Alice" }],
        ["PATCH", `${tasksOf(bob.user)}/${bobTask.id}/complete`],
        ["DELETE", `${tasksOf(bob.user)}/${bobTask.id}`],
      ];
      for (const [method, path, body] of attempts) {
        assert.equal((await api(stack.apiURL, aliceToken, method, path, { body })).status, 403, `${method} ${path}`);
      }
      const after = (await api(stack.apiURL, bobToken, "GET", tasksOf(bob.user))).json;
      assert.deepEqual(after, before);
      assert.ok(!after.items.some((t) => t.id === aliceTask.id || t.user_id !== bob.user.id));
      // Bob asking for Alice's task id on his own path finds nothing.
      assert.equal((await api(stack.apiURL, bobToken, "GET", `${tasksOf(bob.user)}/${aliceTask.id}`)).status, 404);
    });

    it("a tampered token and one with a broken signature are 401", async () => {
      for (const token of [tamper(aliceToken), flipSignature(aliceToken)]) {
        const response = await api(stack.apiURL, token, "GET", tasksOf(alice.user));
        assert.equal(response.status, 401);
        assert.match(response.headers.get("www-authenticate") ?? "", /invalid_token/);
      }
    });

    if (mode === "hs256") {
      it("an expired token and one signed with another secret are 401", async () => {
        const expired = await mintHs256(alice.user.id, stack.baseURL, { iat: Math.floor(Date.now() / 1000) - 3600, expiresIn: 900 });
        const foreign = await mintHs256(alice.user.id, stack.baseURL, { secret: "another-secret-that-is-at-least-32-bytes-long" });
        for (const token of [expired, foreign]) assert.equal((await api(stack.apiURL, token, "GET", tasksOf(alice.user))).status, 401);
      });
    }
  });
}

describe("API with real tokens (jwks): expiry", () => {
  it("a Better Auth token is accepted until it expires, then 401", async (t) => {
    const stack = await startStack({ webEnv: { ...NATIVE_TOKENS, JWT_EXPIRATION_SECONDS: "2" }, apiEnv: { AUTH_LEEWAY_SECONDS: "0" } });
    t.after(() => stack.stop());
    const alice = new Visitor(stack.baseURL);
    await alice.signUp("Alice");
    const token = await alice.token();
    const { exp } = decodeJwt(token);
    assert.equal((await api(stack.apiURL, token, "GET", tasksOf(alice.user))).status, 200);
    await waitUntil("the token to expire", () => Date.now() / 1000 > exp + 1, { timeoutMs: 10_000 });
    assert.equal((await api(stack.apiURL, token, "GET", tasksOf(alice.user))).status, 401);
    // A fresh token works again.
    assert.equal((await api(stack.apiURL, await alice.token(), "GET", tasksOf(alice.user))).status, 200);
  });
});

describe("API with real tokens (jwks): key rotation", () => {
  it("after Better Auth rotates its key, new tokens verify without restarting the API, old ones within the grace period", async (t) => {
    const stack = await startStack({
      webEnv: { ...NATIVE_TOKENS, JWKS_ROTATION_INTERVAL_SECONDS: "4", JWKS_GRACE_PERIOD_SECONDS: "600" },
    });
    t.after(() => stack.stop());
    const alice = new Visitor(stack.baseURL);
    await alice.signUp("Alice");
    const path = tasksOf(alice.user);
    const oldToken = await alice.token();
    assert.equal((await api(stack.apiURL, oldToken, "GET", path)).status, 200);

    let newToken;
    await waitUntil("Better Auth to sign with a new key", async () => {
      newToken = await alice.token();
      return kid(newToken) !== kid(oldToken);
    }, { timeoutMs: 20_000, intervalMs: 500 });
    const jwks = await (await fetch(`${stack.baseURL}/api/auth/jwks`)).json();
    assert.ok(jwks.keys.some((k) => k.kid === kid(oldToken)), "the old key is still published");
    assert.ok(jwks.keys.some((k) => k.kid === kid(newToken)), "the new key is published");

    // The API refreshes on an unknown kid at most once per 30 s: poll, bounded.
    const pid = stack.api.child.pid;
    await waitUntil("the API to accept the new key", async () => (await api(stack.apiURL, newToken, "GET", path)).status === 200, {
      timeoutMs: 45_000,
      intervalMs: 1_000,
    });
    assert.equal(stack.api.child.pid, pid);
    assert.equal(stack.api.child.exitCode, null, "the API was not restarted");
    assert.equal((await api(stack.apiURL, oldToken, "GET", path)).status, 200, "old token within the grace period");
  });
});
