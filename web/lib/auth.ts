// The one auth module: Better Auth (sessions in cookies, the jwt plugin), and the short-lived
// API tokens the backend-for-frontend attaches to its calls. Server only.
import "server-only";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { bearer, jwt, type JWKOptions } from "better-auth/plugins";
import Database from "better-sqlite3";
import { SignJWT, decodeJwt } from "jose";
import { Pool } from "pg";
import { signingSecret, type SecretSource } from "./signing-secret";

const DAY = 24 * 60 * 60;

function env(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
}

function seconds(name: string, fallback: number): number {
  const raw = env(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number of seconds`);
  return value;
}

function required(name: string): string {
  const value = env(name);
  if (!value) throw new Error(`${name} is not set (see docs/web.md, "Environment")`);
  return value;
}

/**
 * HS256 mode's secret: a Secrets Manager secret id (`AUTH_HS256_SECRET_ID`), or the value itself
 * for development (`AUTH_HS256_SECRET`); neither means JWKS mode.
 */
function hs256Source(): SecretSource | undefined {
  const value = env("AUTH_HS256_SECRET");
  const secretId = env("AUTH_HS256_SECRET_ID");
  if (value && secretId) throw new Error("set AUTH_HS256_SECRET_ID or AUTH_HS256_SECRET, not both");
  if (secretId) return { secretId, refreshSeconds: seconds("AUTH_HS256_SECRET_REFRESH_SECONDS", 5 * 60) };
  if (value && Buffer.byteLength(value) < 32) throw new Error("AUTH_HS256_SECRET must be at least 32 bytes");
  return value ? { value } : undefined;
}

/** The algorithms Better Auth's jwt plugin signs with, all of which the API verifies. */
const JWT_ALGORITHMS = ["EdDSA", "ES256", "ES512", "PS256", "RS256"] as const;
const isJwtAlgorithm = (value: string): value is (typeof JWT_ALGORITHMS)[number] => (JWT_ALGORITHMS as readonly string[]).includes(value);

/**
 * The jwt plugin's signing keys: `JWT_ALG` (default EdDSA, on Ed25519), and for PS256 and RS256
 * an RSA modulus of `JWT_RSA_MODULUS_LENGTH` bits (default 2048; the API takes 2048 to 8192).
 */
function keyPair(): JWKOptions {
  const alg = env("JWT_ALG") ?? "EdDSA";
  if (!isJwtAlgorithm(alg)) {
    throw new Error(`JWT_ALG must be one of ${JWT_ALGORITHMS.join(", ")}, not ${JSON.stringify(alg)}`);
  }
  if (alg === "PS256" || alg === "RS256") {
    const modulusLength = Number(env("JWT_RSA_MODULUS_LENGTH") ?? 2048);
    if (!Number.isInteger(modulusLength) || modulusLength < 2048 || modulusLength > 8192) {
      throw new Error("JWT_RSA_MODULUS_LENGTH must be a whole number of bits from 2048 to 8192");
    }
    return { alg, modulusLength };
  }
  return alg === "EdDSA" ? { alg, crv: "Ed25519" } : { alg };
}

/**
 * Better Auth's HTTP token endpoint (`GET /api/auth/token`): closed (`off`, the default: the BFF
 * mints in-process), or open to native clients that present the bearer plugin's session token
 * (`bearer`).
 */
function tokenEndpoint(): "off" | "bearer" {
  const value = env("AUTH_TOKEN_ENDPOINT") ?? "off";
  if (value !== "off" && value !== "bearer") throw new Error(`AUTH_TOKEN_ENDPOINT must be off or bearer, not ${JSON.stringify(value)}`);
  return value;
}

/** Settings read from the environment. */
export function settings() {
  const baseURL = required("BETTER_AUTH_URL").replace(/\/+$/, "");
  const host = new URL(baseURL).hostname;
  return {
    baseURL,
    origin: new URL(baseURL).origin,
    apiURL: required("API_URL").replace(/\/+$/, ""),
    issuer: env("AUTH_ISSUER") ?? baseURL,
    audience: env("AUTH_AUDIENCE") ?? baseURL,
    hs256: hs256Source(),
    tokenSeconds: seconds("JWT_EXPIRATION_SECONDS", 15 * 60),
    keyPair: keyPair(),
    rotationSeconds: seconds("JWKS_ROTATION_INTERVAL_SECONDS", 30 * DAY),
    graceSeconds: seconds("JWKS_GRACE_PERIOD_SECONDS", 30 * DAY),
    // Secure cookies everywhere except on a loopback host, where browsers allow plain http.
    secureCookies: !["localhost", "127.0.0.1", "[::1]"].includes(host),
    trustedOrigins: list("BETTER_AUTH_TRUSTED_ORIGINS"),
    tokenEndpoint: tokenEndpoint(),
    trustedProxies: list("AUTH_TRUSTED_PROXIES"),
  };
}

function list(name: string): string[] {
  return (env(name) ?? "").split(",").map((item) => item.trim()).filter(Boolean);
}

function createAuth(database: Pool | Database.Database) {
  const s = settings();
  return betterAuth({
    baseURL: s.baseURL,
    secret: required("BETTER_AUTH_SECRET"),
    database,
    emailAndPassword: { enabled: true, autoSignIn: true, minPasswordLength: 8 },
    // A session in use is refreshed (and its `updatedAt`, the devices page's "last active", set)
    // at most once an hour.
    session: { updateAge: 60 * 60 },
    trustedOrigins: s.trustedOrigins,
    // The HTTP token endpoint, unless opened to native clients (app/api/auth/[...all]/route.ts);
    // the BFF's own `auth.api.getToken` calls are in-process and unaffected.
    disabledPaths: s.tokenEndpoint === "off" ? ["/token"] : [],
    // Better Auth's rate limits, per client address: counted in PostgreSQL, so that they hold across
    // instances, or in this process's memory with SQLite. Most of the test servers turn them off.
    rateLimit: {
      enabled: env("AUTH_RATE_LIMIT") !== "off",
      storage: database instanceof Pool ? "database" : "memory",
    },
    advanced: {
      useSecureCookies: s.secureCookies,
      defaultCookieAttributes: { httpOnly: true, sameSite: "lax", secure: s.secureCookies },
      // Behind a load balancer, the client is the rightmost address in X-Forwarded-For that is
      // not one of these proxies (a client's own X-Forwarded-For entries come before).
      ipAddress: s.trustedProxies.length > 0 ? { trustedProxies: s.trustedProxies } : undefined,
    },
    plugins: [
      // Only for native clients, with the token endpoint open: `Authorization: Bearer <session token>`.
      ...(s.tokenEndpoint === "bearer" ? [bearer({ requireSignature: true })] : []),
      jwt({
        jwks: { keyPairConfig: s.keyPair, rotationInterval: s.rotationSeconds, gracePeriod: s.graceSeconds },
        jwt: {
          issuer: s.issuer,
          audience: s.audience,
          expirationTime: `${s.tokenSeconds}s`,
          // Only the session id (`sid`), which the API can revoke, besides the standard claims.
          definePayload: ({ session }) => ({ sid: session.id }),
        },
        // The browser never sees a JWT: no `set-auth-jwt` header on get-session.
        disableSettingJwtHeader: true,
      }),
    ],
  });
}

type Auth = ReturnType<typeof createAuth>;
export type Session = NonNullable<Awaited<ReturnType<Auth["api"]["getSession"]>>>;

let ready: Promise<Auth> | undefined;

/** An arbitrary number naming the lock that instances take, one at a time, to migrate the schema. */
const MIGRATION_LOCK = 7_202_604;

/**
 * Better Auth's migrations. On PostgreSQL one instance at a time (an advisory lock held on a
 * connection of its own): instances started together on a new schema would otherwise both
 * create the same table, and one would fail.
 */
async function migrate(auth: Auth, database: Pool | Database.Database): Promise<void> {
  // Read the schema when it is this instance's turn: what another one created is then not missing.
  const run = async () => (await getMigrations(auth.options)).runMigrations();
  if (!(database instanceof Pool)) return run();
  const lock = await database.connect();
  try {
    await lock.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await run();
  } finally {
    await lock.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
    lock.release();
  }
}

/** Better Auth's database: PostgreSQL at `DATABASE_URL`, or the SQLite file `SQLITE_PATH`. */
function openDatabase(): Pool | Database.Database {
  const databaseURL = env("DATABASE_URL");
  if (!databaseURL) return new Database(env("SQLITE_PATH") ?? "taskgate.db");
  const pool = new Pool({ connectionString: databaseURL });
  // An idle connection the server ends (a restart, a failover) is dropped, and a new one opened
  // for the next query; unheard, its error would end the process.
  pool.on("error", (error) => console.error("taskgate: an idle PostgreSQL connection was closed:", error.message));
  return pool;
}

/** Better Auth, with its schema created or brought up to date by its own migrations (once). */
export function getAuth(): Promise<Auth> {
  ready ??= (async () => {
    const database = openDatabase();
    const auth = createAuth(database);
    await migrate(auth, database);
    return auth;
  })().catch((error) => {
    ready = undefined;
    throw error;
  });
  return ready;
}

/** The signed-in user's session from the request's cookie, or null. */
export async function getSession(headers: Headers): Promise<Session | null> {
  const auth = await getAuth();
  return auth.api.getSession({ headers });
}

// API tokens, cached per session until shortly before they expire. One cache per process:
// Next.js compiles this module once for the pages and once for the route handlers, and a token
// dropped by either (a session signed out, a token the API refused) must be gone for both.
type CachedToken = { token: string; exp: number };
const processWide = globalThis as typeof globalThis & { taskgateApiTokens?: Map<string, CachedToken> };
const tokens = (processWide.taskgateApiTokens ??= new Map<string, CachedToken>());
const MAX_CACHED = 10_000;

async function issueToken(session: Session, headers: Headers): Promise<string> {
  const s = settings();
  if (s.hs256) {
    const secret = await signingSecret(s.hs256);
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sid: session.session.id })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(session.user.id)
      .setIssuer(s.issuer)
      .setAudience(s.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + s.tokenSeconds)
      .sign(secret);
  }
  const auth = await getAuth();
  const { token } = await auth.api.getToken({ headers });
  return token;
}

/** A valid API token for this session: from the cache, or freshly issued. */
export async function getApiToken(session: Session, headers: Headers): Promise<string> {
  const now = Date.now() / 1000;
  const cached = tokens.get(session.session.id);
  if (cached && cached.exp > now) return cached.token;
  const token = await issueToken(session, headers);
  const { exp = now, iat = now } = decodeJwt(token);
  // Refresh a minute early, or a quarter of the lifetime for very short tokens.
  const margin = Math.min(60, (exp - iat) / 4);
  if (tokens.size >= MAX_CACHED) {
    for (const [id, entry] of tokens) if (entry.exp <= now) tokens.delete(id);
    if (tokens.size >= MAX_CACHED) tokens.clear();
  }
  tokens.set(session.session.id, { token, exp: exp - margin });
  return token;
}

/** Forget the cached API tokens of these sessions (signed out, or a token the API refused). */
export function dropApiTokens(...sessionIds: string[]): void {
  for (const id of sessionIds) tokens.delete(id);
}

/** Every unexpired Better Auth session of a user (each with its `token`: never for the browser). */
export async function userSessions(userId: string) {
  const { internalAdapter } = await (await getAuth()).$context;
  return internalAdapter.listSessions(userId, { onlyActiveSessions: true });
}
