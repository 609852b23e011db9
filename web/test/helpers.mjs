// Test helpers: start the front end (`next start` of the build) and `taskgate-local` on free
// loopback ports (with, when asked, a proxy between them that records each API call), wait
// until they answer, and stop them at the end (also on failure); moto for Secrets Manager.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer, request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SignJWT, decodeJwt } from "jose";

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_DIR = resolve(WEB_DIR, "..");
export const API_BINARY = process.env.TASKGATE_LOCAL ?? join(REPO_DIR, "target", "debug", "taskgate-local");

const children = new Set();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Polls `check` until it returns true, at most `timeoutMs`; `what` names it in the failure.
 * `giveUpIf` throws when waiting is pointless (the process that should answer has exited).
 */
export async function waitUntil(what, check, { timeoutMs = 30_000, intervalMs = 200, giveUpIf } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    giveUpIf?.();
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

/** `env` without the variables set to null (the way to unset one a default would set). */
function withoutNulls(env) {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== null));
}

/**
 * A child process with its output kept (the last 20 kB) and a `stop` that ends it. `as` may give
 * the `uid` and `gid` it runs as.
 */
export function startProcess(name, command, args, env, cwd, as = {}) {
  const child = spawn(command, args, { cwd, env: withoutNulls({ ...minimalEnv(), ...env }), stdio: ["ignore", "pipe", "pipe"], ...as });
  children.add(child);
  let output = "";
  const keep = (chunk) => {
    output = (output + chunk).slice(-20_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  child.on("exit", () => children.delete(child));
  return {
    child,
    output: () => output,
    failIfExited() {
      if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}):\n${output}`);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The parent's environment without anything that would configure the servers by accident. */
export function minimalEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(AUTH_|TASKS_TABLE|AWS_|BETTER_AUTH_|API_URL|DATABASE_URL|SQLITE_PATH|JWT_|JWKS_|PORT$)/.test(key)) continue;
    env[key] = value;
  }
  return env;
}

/** Fails (never skips) when something the tests need is missing, with how to install it. */
export function requireTools() {
  if (!existsSync(join(WEB_DIR, "node_modules", "next", "package.json"))) {
    throw new Error("web/node_modules is missing: run `npm ci` in web/ (or `scripts/install-test-deps.sh`)");
  }
  if (!existsSync(join(WEB_DIR, ".next", "BUILD_ID"))) {
    throw new Error("the front end is not built: run `npm run build` in web/ (`npm test` builds it first)");
  }
  if (!existsSync(API_BINARY)) {
    throw new Error(`taskgate-local is missing at ${API_BINARY}: run \`cargo build -p taskgate-local\` at the repository root`);
  }
}

export const HS256_SECRET = "a-test-only-shared-secret-of-at-least-32-bytes!";

/** What to run when moto is missing. */
const INSTALL_MOTO = "run `make test-deps` at the repository root (it installs requirements-dev.txt into .venv/)";

/**
 * moto in server mode (the version pinned in requirements-dev.txt, from the repository's .venv)
 * on a port it binds itself, for Secrets Manager. It ends when its standard input closes: on
 * `stop`, or when this process exits.
 */
export async function startMoto() {
  const python = join(REPO_DIR, ".venv", "bin", "python");
  if (!existsSync(python)) throw new Error(`moto runs from the repository's .venv, which is missing: ${INSTALL_MOTO}`);
  const child = spawn(python, [join(REPO_DIR, "tests", "tools", "moto_server.py")], { stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  child.on("exit", () => children.delete(child));
  let output = "";
  child.stderr.on("data", (chunk) => (output = (output + chunk).slice(-20_000)));
  const port = await new Promise((resolvePort, reject) => {
    child.stdout.once("data", (chunk) => resolvePort(Number(String(chunk).trim())));
    child.once("exit", () => reject(new Error(`moto did not start (${INSTALL_MOTO}):\n${output}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.stdin.end();
      await exited;
    },
  };
}

/**
 * The whole stack: the front end, then `taskgate-local` pointed at it. `mode` is "jwks" (the API
 * fetches Better Auth's JWKS) or "hs256" (the front end mints tokens with a shared secret).
 * `webEnv` and `apiEnv` add to (or, with null, unset) each side's environment. With
 * `recordApiCalls`, the front end reaches the API through a recording proxy (`stack.apiCalls`).
 * `stack.restartApi(env)` starts the API again on its port with `env` added.
 * The caller stops it (`after(() => stack?.stop())`, or `t.after`).
 */
export async function startStack(options = {}) {
  requireTools();
  // A port found free can be taken before the server binds it (by another test file's
  // connection, say): such a start is tried again on new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStackOnce(options);
    } catch (error) {
      if (attempt === 3 || !/EADDRINUSE|Address already in use/.test(error.message)) throw error;
    }
  }
}

/** `next start` of the build on `port` with `env`. */
export function startFrontEnd(port, env) {
  const next = join(WEB_DIR, "node_modules", "next", "dist", "bin", "next");
  return startProcess("next start", process.execPath, [next, "start", "-p", String(port), "-H", "127.0.0.1"], env, WEB_DIR);
}

/** Waits until the front end at `url` serves its JWKS (its migrations have run). */
export function frontEndReady(url, web) {
  return waitUntil("the front end to serve its JWKS", async () => (await fetch(`${url}/api/auth/jwks`)).ok, { giveUpIf: web.failIfExited });
}

async function startStackOnce({ mode = "jwks", webEnv = {}, apiEnv = {}, recordApiCalls = false }) {
  const [webPort, apiPort] = [await freePort(), await freePort()];
  const baseURL = `http://127.0.0.1:${webPort}`;
  const apiURL = `http://127.0.0.1:${apiPort}`;
  const proxy = recordApiCalls ? await recordingProxy(apiURL) : undefined;
  const dataDir = mkdtempSync(join(tmpdir(), "taskgate-web-"));
  const shared = { AUTH_ISSUER: baseURL, AUTH_AUDIENCE: baseURL, ...(mode === "hs256" ? { AUTH_HS256_SECRET: HS256_SECRET } : {}) };
  const frontEndEnv = {
    ...shared,
    BETTER_AUTH_URL: baseURL,
    BETTER_AUTH_SECRET: "test-only-better-auth-secret-0123456789abcdef",
    API_URL: proxy?.url ?? apiURL,
    SQLITE_PATH: join(dataDir, "auth.db"),
    NEXT_TELEMETRY_DISABLED: "1",
    AUTH_RATE_LIMIT: "off",
    ...webEnv,
  };
  const web = startFrontEnd(webPort, frontEndEnv);
  const more = [];
  let api;
  const stopAll = async () => {
    await Promise.all([web.stop(), ...more.map((m) => m.stop()), api?.stop(), proxy?.close()]);
    rmSync(dataDir, { recursive: true, force: true });
  };
  const keys = mode === "jwks" ? { AUTH_JWKS_URL: `${baseURL}/api/auth/jwks` } : {};
  const startApi = async (env) => {
    api = startProcess("taskgate-local", API_BINARY, [], { ...shared, ...keys, PORT: String(apiPort), RUST_LOG: "warn", ...apiEnv, ...env });
    await waitUntil("taskgate-local to answer", async () => (await fetch(`${apiURL}/api/nobody/tasks`)).status === 401, {
      giveUpIf: api.failIfExited,
    });
    return api;
  };
  try {
    await frontEndReady(baseURL, web);
    await startApi({});
  } catch (error) {
    await stopAll();
    throw error;
  }
  const stack = {
    baseURL,
    apiURL,
    web,
    api,
    apiCalls: proxy?.calls,
    /** Runs `hook` when the next call reaches the proxy, before it goes on to the API; settles as `hook` does. */
    beforeNextApiCall: (hook) => proxy.beforeNext(hook),
    async restartApi(env = {}) {
      await api.stop();
      stack.api = await startApi(env);
    },
    /**
     * One more front end instance, as behind a load balancer: the same environment (the public
     * URL `baseURL`, secret, database; `env` added), its own port. Stopped with the stack;
     * answers its URL.
     */
    async addFrontEnd(env = {}) {
      const url = `http://127.0.0.1:${await freePort()}`;
      const instance = startFrontEnd(Number(new URL(url).port), { ...frontEndEnv, ...env });
      more.push(instance);
      await frontEndReady(url, instance);
      return { url, web: instance };
    },
    stop: stopAll,
  };
  return stack;
}

/**
 * An HTTP proxy in front of the API that records each call the front end makes: method, path,
 * status and the bearer token (tests read its claims; a token never reaches a page).
 */
async function recordingProxy(target) {
  const calls = [];
  let hook;
  const server = createHttpServer(async (request, response) => {
    const call = { method: request.method, path: request.url, token: request.headers.authorization?.replace(/^Bearer /, ""), status: 0 };
    calls.push(call);
    const run = hook;
    hook = undefined;
    await run?.();
    const headers = { ...request.headers };
    delete headers.host;
    const upstream = httpRequest(new URL(request.url, target), { method: request.method, headers }, (answer) => {
      call.status = answer.statusCode;
      response.writeHead(answer.statusCode, answer.headers);
      answer.pipe(response);
    });
    upstream.on("error", () => response.destroy());
    request.pipe(upstream);
  });
  server.keepAliveTimeout = 500;
  await new Promise((resolveListen) => server.listen(0, "127.0.0.1", resolveListen));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    calls,
    /** Runs `fn` when the next call arrives, before it goes on; the promise settles as `fn` does. */
    beforeNext(fn) {
      return new Promise((resolveHook, rejectHook) => {
        hook = () => Promise.resolve().then(fn).then(resolveHook, rejectHook);
      });
    },
    close: () => new Promise((resolveClose) => server.close(resolveClose).closeAllConnections()),
  };
}

/** The front end's setting that opens Better Auth's token endpoint to native clients (`Visitor.token()`). */
export const NATIVE_TOKENS = { AUTH_TOKEN_ENDPOINT: "bearer" };

/** A stack in `mode` (and `options` for `startStack`) with two users, Alice and Bob, signed up through the front end. */
export async function startStackWithTwoUsers(mode, options = {}) {
  const stack = await startStack({ mode, ...options });
  try {
    const alice = new Visitor(stack.baseURL);
    const bob = new Visitor(stack.baseURL);
    await alice.signUp("Alice");
    await bob.signUp("Bob");
    return { stack, alice, bob };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

/**
 * A person using the app: a cookie jar and the calls a browser or a script would make. `origin`
 * is the app's public origin, sent as `Origin` (another instance of the front end than the one
 * at `baseURL` has the same public URL).
 */
export class Visitor {
  cookies = new Map();
  /** The bearer plugin's session token (`set-auth-token`), when the token endpoint is open to native clients. */
  sessionToken = null;

  constructor(baseURL, { origin = baseURL } = {}) {
    this.baseURL = baseURL;
    this.origin = origin;
  }

  cookieHeader() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  async fetch(path, { method = "GET", headers = {}, body, origin = this.origin, redirect = "manual" } = {}) {
    const h = new Headers(headers);
    if (this.cookies.size) h.set("cookie", this.cookieHeader());
    if (origin && method !== "GET") h.set("origin", origin);
    if (body !== undefined && typeof body !== "string") {
      h.set("content-type", "application/json");
      body = JSON.stringify(body);
    }
    const response = await fetch(`${this.baseURL}${path}`, { method, headers: h, body, redirect });
    this.sessionToken = response.headers.get("set-auth-token") ?? this.sessionToken;
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const [name, value] = [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)];
      if (attributes.some((a) => /^\s*max-age=0$/i.test(a)) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  async signUp(name) {
    const email = `${name.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
    const response = await this.fetch("/api/auth/sign-up/email", {
      method: "POST",
      body: { name, email, password: "correct horse battery" },
    });
    if (!response.ok) throw new Error(`sign-up failed: ${response.status} ${await response.text()}`);
    const { user } = await response.json();
    this.user = user;
    this.email = email;
    return user;
  }

  /** Signs in as an existing user (another session of theirs). */
  async signIn(email, password = "correct horse battery") {
    const response = await this.fetch("/api/auth/sign-in/email", { method: "POST", body: { email, password } });
    if (!response.ok) throw new Error(`sign-in failed: ${response.status} ${await response.text()}`);
    this.user = (await response.json()).user;
    this.email = email;
    return this.user;
  }

  /** This visitor's Better Auth session (`{ session, user }`), or null. */
  async session() {
    return (await this.fetch("/api/auth/get-session")).json();
  }

  /**
   * A JWT from Better Auth's `/api/auth/token` as a native client gets one: with the session
   * token (`Authorization: Bearer`), no cookie. The stack needs `NATIVE_TOKENS` in its `webEnv`.
   */
  async token() {
    if (!this.sessionToken) throw new Error("no session token: start the stack with webEnv NATIVE_TOKENS");
    const response = await fetch(`${this.baseURL}/api/auth/token`, { headers: { authorization: `Bearer ${this.sessionToken}` } });
    if (!response.ok) throw new Error(`token failed: ${response.status} ${await response.text()}`);
    return (await response.json()).token;
  }
}

/** An HS256 token as the front end mints it, for the HS256-mode tests. */
export async function mintHs256(sub, issuer, { expiresIn = 900, iat = Math.floor(Date.now() / 1000), secret = HS256_SECRET } = {}) {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(sub)
    .setIssuer(issuer)
    .setAudience(issuer)
    .setIssuedAt(iat)
    .setExpirationTime(iat + expiresIn)
    .sign(new TextEncoder().encode(secret));
}

/** Calls the API directly with a bearer token. */
export async function api(apiURL, token, method, path, { body, headers = {} } = {}) {
  const h = new Headers(headers);
  if (token) h.set("authorization", `Bearer ${token}`);
  if (body !== undefined) h.set("content-type", "application/json");
  const response = await fetch(`${apiURL}${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

export function kid(token) {
  return JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString()).kid;
}

export { decodeJwt };
