// HS256 mode with the secret in AWS Secrets Manager (moto in server mode): the front end signs
// API tokens with the secret's AWSCURRENT value, re-reads it on an interval, and after a rotation
// signs with the new value without a restart; while it cannot be reached, with the last value
// read. Setting both the value and the secret id is refused.
import assert from "node:assert/strict";
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { jwtVerify } from "jose";
import { after, before, describe, it } from "node:test";
import { Visitor, requireTools, startMoto, startStack, waitUntil } from "./helpers.mjs";

requireTools();

const REFRESH_SECONDS = 2;
const FIRST = "the-first-hs256-secret-for-this-test-0123456789";
const SECOND = "the-second-hs256-secret-after-rotation-9876543210";

const verifiedWith = (token, secret) => jwtVerify(token, new TextEncoder().encode(secret)).then(() => true, () => false);

describe("HS256 mode with the secret in Secrets Manager (moto)", () => {
  let moto, secretId, aws, rotate;
  after(() => moto?.stop());
  before(async () => {
    moto = await startMoto();
    aws = {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    };
    const client = new SecretsManagerClient({
      endpoint: moto.endpoint,
      region: aws.AWS_REGION,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    secretId = (await client.send(new CreateSecretCommand({ Name: "taskgate/web-hs256", SecretString: FIRST }))).ARN;
    rotate = (value) => client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value }));
  });

  const fromSecretsManager = () => ({ ...aws, AUTH_HS256_SECRET: null, AUTH_HS256_SECRET_ID: secretId });

  it("signs with AWSCURRENT; after a rotation, with the new value within the re-read interval, without a restart", async (t) => {
    // Both sides read the same secret; the API reads it when it starts.
    const stack = await startStack({
      mode: "hs256",
      recordApiCalls: true,
      webEnv: { ...fromSecretsManager(), AUTH_HS256_SECRET_REFRESH_SECONDS: String(REFRESH_SECONDS) },
      apiEnv: fromSecretsManager(),
    });
    t.after(() => stack.stop());
    const alice = new Visitor(stack.baseURL);
    await alice.signUp("Alice");
    assert.equal((await alice.fetch("/api/tasks", { method: "POST", body: { title: "signed with the first" } })).status, 201);
    assert.equal((await alice.fetch("/api/tasks")).status, 200);
    assert.ok(await verifiedWith(stack.apiCalls.at(-1).token, FIRST));

    await rotate(SECOND);
    const rotatedAt = Date.now();
    await stack.restartApi(); // the API's own re-read, without waiting for its interval
    const webPid = stack.web.child.pid;

    // A new session gets a new token: signed with the new value once the front end has re-read it.
    let bob;
    await waitUntil(
      "the front end to sign with the new secret",
      async () => {
        bob = new Visitor(stack.baseURL);
        await bob.signUp("Bob");
        assert.equal((await bob.fetch("/api/tasks", { method: "POST", body: { title: "signed with the second" } })).status, 201);
        return verifiedWith(stack.apiCalls.at(-1).token, SECOND);
      },
      { timeoutMs: (REFRESH_SECONDS + 5) * 1000, intervalMs: 250 },
    );
    const seconds = (Date.now() - rotatedAt) / 1000;
    console.log(`the front end signed with the rotated secret ${seconds.toFixed(1)} s after the rotation (interval ${REFRESH_SECONDS} s)`);
    assert.ok(seconds <= REFRESH_SECONDS + 3, `${seconds} s`);
    assert.equal(stack.web.child.pid, webPid, "the front end was not restarted");
    assert.equal(stack.web.child.exitCode, null);
    // Alice's cached token, signed with the first value, is still good: it is the API's AWSPREVIOUS.
    const from = stack.apiCalls.length;
    assert.equal((await alice.fetch("/api/tasks")).status, 200);
    assert.deepEqual(stack.apiCalls.slice(from).map((c) => c.status), [200]);
    assert.ok(await verifiedWith(stack.apiCalls.at(-1).token, FIRST));
    assert.doesNotMatch(stack.web.output(), new RegExp(`${FIRST}|${SECOND}`), "a secret in the log");
  });

  it("AUTH_HS256_SECRET and AUTH_HS256_SECRET_ID together are a configuration error", async () => {
    await assert.rejects(
      startStack({ mode: "hs256", webEnv: { ...fromSecretsManager(), AUTH_HS256_SECRET: FIRST } }),
      /the front end cannot start: set AUTH_HS256_SECRET_ID or AUTH_HS256_SECRET, not both/,
    );
  });

  it("when Secrets Manager cannot be reached, the last value read goes on signing, with a warning", async (t) => {
    await rotate(FIRST);
    const stack = await startStack({
      mode: "hs256",
      recordApiCalls: true,
      webEnv: { ...fromSecretsManager(), AUTH_HS256_SECRET_REFRESH_SECONDS: "1" },
      apiEnv: { AUTH_HS256_SECRET: FIRST },
    });
    t.after(() => stack.stop());
    const alice = new Visitor(stack.baseURL);
    await alice.signUp("Alice");
    assert.equal((await alice.fetch("/api/tasks")).status, 200);

    await moto.stop();
    const stopped = Date.now();
    await waitUntil("the re-read interval to pass", () => Date.now() - stopped > 1_200, { timeoutMs: 3_000, intervalMs: 100 });
    const bob = new Visitor(stack.baseURL);
    await bob.signUp("Bob");
    assert.equal((await bob.fetch("/api/tasks", { method: "POST", body: { title: "signed all the same" } })).status, 201);
    assert.ok(await verifiedWith(stack.apiCalls.at(-1).token, FIRST));
    assert.match(stack.web.output(), /re-reading the HS256 secret failed; signing with the last one read/);
  });
});
