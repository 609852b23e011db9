// Better Auth on a real PostgreSQL server (DATABASE_URL), as the front end is hosted: two
// instances on one database behind one public URL. Migrations at start (also two instances
// starting together on a new database), sign-up and sign-in, sessions, the JWKS kept in
// PostgreSQL and verified by the API through it, the rate limits shared by the instances, and a
// database restart the instances ride out.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { NATIVE_TOKENS, Visitor, api, decodeJwt, kid, requireTools, startStack } from "./helpers.mjs";
import { startPostgres } from "./postgres.mjs";

requireTools();

const PASSWORD = "correct horse battery";
const BETTER_AUTH_TABLES = ["account", "jwks", "rateLimit", "session", "user", "verification"];

/** The rows `sql` selects in the database at `url`. */
async function rowsIn(url, sql, params = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** The tables of the `public` schema of the database at `url`. */
async function tablesOf(url) {
  const rows = await rowsIn(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
  return rows.map((r) => r.table_name);
}

describe("Better Auth on PostgreSQL: two front end instances on one database", () => {
  let postgres, stack, first, second;
  after(async () => {
    await stack?.stop();
    await postgres?.stop();
  });
  before(async () => {
    postgres = await startPostgres();
    // The first instance migrates the new database as it starts; the API verifies through its JWKS.
    stack = await startStack({ webEnv: { DATABASE_URL: postgres.url, ...NATIVE_TOKENS } });
    first = stack.baseURL;
    second = (await stack.addFrontEnd()).url;
  });

  /** A visitor of one instance; both share the app's public origin (the first's URL). */
  const visitorOf = (url) => new Visitor(url, { origin: first });
  const sessionRows = async (userId) => (await postgres.query('SELECT id FROM "session" WHERE "userId" = $1', [userId])).rows.map((r) => r.id);

  it("the migrations at start created Better Auth's tables, the rate limits' among them", async () => {
    assert.deepEqual(await tablesOf(postgres.url), BETTER_AUTH_TABLES);
  });

  it("sign-up on one instance, sign-in on the other, a wrong password refused: the user and both sessions are rows in PostgreSQL", async () => {
    const laptop = visitorOf(first);
    const user = await laptop.signUp("Ada");
    const phone = visitorOf(second);
    await phone.signIn(laptop.email);
    const wrong = await visitorOf(second).fetch("/api/auth/sign-in/email", { method: "POST", body: { email: laptop.email, password: "not the password" } });
    assert.equal(wrong.status, 401);
    const { rows } = await postgres.query('SELECT id, email FROM "user" WHERE email = $1', [laptop.email]);
    assert.deepEqual(rows, [{ id: user.id, email: laptop.email }]);
    const ids = [(await laptop.session()).session.id, (await phone.session()).session.id];
    assert.deepEqual((await sessionRows(user.id)).sort(), ids.sort());
  });

  it("sessions: both listed by either instance, one signed out on the devices route: gone from PostgreSQL, its cookie and its tokens refused", async () => {
    const laptop = visitorOf(first);
    const user = await laptop.signUp("Grace");
    const phone = visitorOf(second);
    await phone.signIn(laptop.email);
    const phoneSession = (await phone.session()).session.id;
    const phoneToken = await phone.token();
    assert.equal((await api(stack.apiURL, phoneToken, "GET", `/api/${user.id}/tasks`)).status, 200);
    for (const visitor of [laptop, phone]) {
      const listed = await (await visitor.fetch("/api/auth/list-sessions")).json();
      assert.equal(listed.length, 2, visitor.baseURL);
    }

    // The laptop, on the second instance this time, signs the phone out.
    const laptopOnSecond = visitorOf(second);
    laptopOnSecond.cookies = new Map(laptop.cookies);
    assert.equal((await laptopOnSecond.fetch(`/api/sessions/${encodeURIComponent(phoneSession)}`, { method: "DELETE" })).status, 204);
    assert.deepEqual(await sessionRows(user.id), [(await laptop.session()).session.id]);
    assert.equal((await (await laptop.fetch("/api/auth/list-sessions")).json()).length, 1);
    assert.equal(await phone.session(), null);
    assert.equal((await phone.fetch("/api/tasks")).status, 401);
    const refused = await api(stack.apiURL, phoneToken, "GET", `/api/${user.id}/tasks`);
    assert.equal(refused.status, 401, "the API revoked the phone's tokens");
  });

  it("JWKS: the signing key is stored in PostgreSQL and served by both instances; the API verifies through it tokens minted by either, and 403 across users", async () => {
    const keys = (await postgres.query('SELECT id, "publicKey" FROM jwks')).rows;
    assert.ok(keys.length >= 1);
    const published = [];
    for (const url of [first, second]) published.push((await (await fetch(`${url}/api/auth/jwks`)).json()).keys.map((k) => k.kid).sort());
    assert.deepEqual(published[0], keys.map((k) => k.id).sort());
    assert.deepEqual(published[1], published[0], "both instances publish the same keys");

    const alice = visitorOf(second);
    await alice.signUp("Alice");
    const bob = visitorOf(first);
    await bob.signUp("Bob");
    // Through each instance's handlers (their tokens minted in-process), and with native tokens.
    for (const [visitor, title] of [[alice, "minted by the second instance"], [bob, "minted by the first instance"]]) {
      assert.equal((await visitor.fetch("/api/tasks", { method: "POST", body: { title } })).status, 201);
    }
    const aliceToken = await alice.token();
    assert.ok(published[0].includes(kid(aliceToken)), "signed with a key from PostgreSQL");
    const aliceTasks = await api(stack.apiURL, aliceToken, "GET", `/api/${alice.user.id}/tasks`);
    assert.equal(aliceTasks.status, 200);
    assert.deepEqual(aliceTasks.json.items.map((t) => t.title), ["minted by the second instance"]);
    assert.equal(decodeJwt(aliceToken).sub, alice.user.id);
    assert.equal((await api(stack.apiURL, aliceToken, "GET", `/api/${bob.user.id}/tasks`)).status, 403);
  });

  it("a PostgreSQL restart: both instances carry on without one of their own", async () => {
    await postgres.restart();
    for (const url of [first, second]) {
      const visitor = visitorOf(url);
      await visitor.signUp("Rita");
      assert.equal((await visitor.fetch("/api/tasks")).status, 200, url);
    }
    assert.match(stack.web.output(), /an idle PostgreSQL connection was closed/, "the restart ended connections the instance held");
    assert.equal(stack.web.child.exitCode, null);
  });

  describe("rate limits across instances (two more, started together on a new database)", () => {
    let limited;
    before(async () => {
      await postgres.query("CREATE DATABASE taskgate_limits");
      const env = { DATABASE_URL: postgres.urlOf("taskgate_limits"), AUTH_RATE_LIMIT: null };
      // Both migrate the new database as they start; one waits for the other (an advisory lock).
      limited = (await Promise.all([stack.addFrontEnd(env), stack.addFrontEnd(env)])).map((instance) => instance.url);
    });

    it("both started, and the new database has Better Auth's tables", async () => {
      assert.deepEqual(await tablesOf(postgres.urlOf("taskgate_limits")), BETTER_AUTH_TABLES);
    });

    it("sign-up brute force spread over both instances gets 429 after three", async () => {
      const signUp = (url, n) =>
        visitorOf(url).fetch("/api/auth/sign-up/email", {
          method: "POST",
          body: { name: "Bulk", email: `bulk-${n}-${Date.now()}@example.com`, password: PASSWORD },
        });
      for (let n = 1; n <= 3; n++) assert.equal((await signUp(limited[n % 2], n)).status, 200, `sign-up ${n}`);
      assert.equal((await signUp(limited[0], 4)).status, 429);
      assert.equal((await signUp(limited[1], 5)).status, 429);
    });

    it("sign-in brute force spread over both instances gets 429 after three, even with the right password", async () => {
      const email = "nobody-yet@example.com";
      const signIn = (url, password) => visitorOf(url).fetch("/api/auth/sign-in/email", { method: "POST", body: { email, password } });
      for (let attempt = 1; attempt <= 3; attempt++) {
        assert.equal((await signIn(limited[attempt % 2], `guess ${attempt}`)).status, 401, `attempt ${attempt}`);
      }
      assert.equal((await signIn(limited[0], PASSWORD)).status, 429);
      assert.equal((await signIn(limited[1], PASSWORD)).status, 429);
      const rows = await rowsIn(postgres.urlOf("taskgate_limits"), 'SELECT key, count FROM "rateLimit" WHERE key LIKE $1', ["%/sign-in/email"]);
      assert.equal(rows.length, 1, "one count, kept in PostgreSQL");
      assert.equal(Number(rows[0].count), 3);
    });
  });
});
