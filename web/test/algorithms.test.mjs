// Better Auth signing with another algorithm than EdDSA (`JWT_ALG`), end to end in JWKS mode: the
// real front end issues ES512 tokens (P-521), and RS256 tokens with a 4096-bit modulus
// (`JWT_RSA_MODULUS_LENGTH`); the API takes the keys from the front end's JWKS URL and accepts
// each user's tokens on their own path only. A value the front end does not know stops its start.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NATIVE_TOKENS, api, decodeJwt, kid, requireTools, startStack, startStackWithTwoUsers } from "./helpers.mjs";

requireTools();

const tasksOf = (user) => `/api/${user.id}/tasks`;

/** The JWS header of a token. */
const headerOf = (token) => JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString());

const CASES = [
  { alg: "ES512", env: { JWT_ALG: "ES512" }, key: { kty: "EC", crv: "P-521" } },
  { alg: "RS256", env: { JWT_ALG: "RS256", JWT_RSA_MODULUS_LENGTH: "4096" }, key: { kty: "RSA", bits: 4096 } },
];

for (const { alg, env, key } of CASES) {
  describe(`Better Auth's ${alg} tokens at the API (JWKS mode)`, () => {
    let stack, alice, bob, aliceToken, bobToken, published;
    after(() => stack?.stop());
    before(async () => {
      ({ stack, alice, bob } = await startStackWithTwoUsers("jwks", { webEnv: { ...NATIVE_TOKENS, ...env } }));
      [aliceToken, bobToken] = [await alice.token(), await bob.token()];
      published = (await (await fetch(`${stack.baseURL}/api/auth/jwks`)).json()).keys;
    });

    it(`the front end publishes its ${alg} key and signs with it`, () => {
      assert.equal(published.length, 1);
      const [jwk] = published;
      assert.equal(jwk.alg, alg);
      assert.equal(jwk.kty, key.kty);
      if (key.crv) assert.equal(jwk.crv, key.crv);
      if (key.bits) assert.equal(Buffer.from(jwk.n, "base64url").length * 8, key.bits);
      for (const token of [aliceToken, bobToken]) {
        assert.deepEqual({ alg: headerOf(token).alg, kid: kid(token) }, { alg, kid: jwk.kid });
      }
      assert.equal(decodeJwt(aliceToken).sub, alice.user.id);
    });

    it("the API accepts each user's tokens on their own path, through the front end's handlers too", async () => {
      for (const [user, token] of [[alice.user, aliceToken], [bob.user, bobToken]]) {
        const created = await api(stack.apiURL, token, "POST", tasksOf(user), { body: { title: `${user.name}'s ${alg} task` } });
        assert.equal(created.status, 201);
        const listed = await api(stack.apiURL, token, "GET", tasksOf(user));
        assert.deepEqual(listed.json.items.map((t) => t.title), [`${user.name}'s ${alg} task`]);
      }
      // The handlers mint in-process with the same key.
      assert.equal((await alice.fetch("/api/tasks", { method: "POST", body: { title: "through the handlers" } })).status, 201);
      assert.equal((await alice.fetch("/api/tasks")).status, 200);
    });

    it("a user's token on another user's path is 403, and the other user's tasks are unchanged; a broken signature is 401", async () => {
      const before = await api(stack.apiURL, bobToken, "GET", tasksOf(bob.user));
      assert.equal((await api(stack.apiURL, aliceToken, "GET", tasksOf(bob.user))).status, 403);
      const planted = await api(stack.apiURL, aliceToken, "POST", tasksOf(bob.user), { body: { title: "planted" } });
      assert.equal(planted.status, 403);
      assert.deepEqual((await api(stack.apiURL, bobToken, "GET", tasksOf(bob.user))).json, before.json);
      const [header, payload, signature] = aliceToken.split(".");
      const bytes = Buffer.from(signature, "base64url");
      bytes[bytes.length - 1] ^= 1;
      const broken = [header, payload, bytes.toString("base64url")].join(".");
      assert.equal((await api(stack.apiURL, broken, "GET", tasksOf(alice.user))).status, 401);
    });
  });
}

describe("signing settings the front end does not know stop its start with one line", () => {
  for (const [webEnv, message] of [
    [{ JWT_ALG: "HS256" }, /the front end cannot start: JWT_ALG must be one of EdDSA, ES256, ES512, PS256, RS256, not "HS256"\n/],
    [{ JWT_ALG: "RS256", JWT_RSA_MODULUS_LENGTH: "1024" }, /the front end cannot start: JWT_RSA_MODULUS_LENGTH must be a whole number of bits from 2048 to 8192\n/],
  ]) {
    it(JSON.stringify(webEnv), async () => {
      await assert.rejects(startStack({ webEnv }), message);
    });
  }
});
