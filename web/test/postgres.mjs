// A real PostgreSQL server for the tests (Debian's `postgresql` package): a new cluster in a
// temporary directory, listening on a free loopback port with password authentication, stopped
// and removed at the end (also on failure). PostgreSQL refuses to run as root: as root, initdb and
// the server run as the `postgres` user (the uid and gid the package made, given to the child
// processes directly, as `runuser -u postgres` would but without a process in between, so that
// stopping the server is one signal to it).
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort, startProcess, waitUntil } from "./helpers.mjs";

const INSTALL = "run scripts/install-test-deps.sh, or as root on Debian: apt-get update && apt-get install -y postgresql";

/** Where Debian puts the server's programs: /usr/lib/postgresql/<version>/bin, the newest version. */
function binDir() {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)) : [];
  const found = versions
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, "bin"))
    .find((dir) => existsSync(join(dir, "postgres")) && existsSync(join(dir, "initdb")));
  if (!found) throw new Error(`PostgreSQL is missing (no ${root}/<version>/bin/postgres): ${INSTALL}`);
  return found;
}

/** As root: the `postgres` user's uid and gid, for the server's processes. Otherwise this user. */
function serverUser() {
  if (process.getuid() !== 0) return {};
  try {
    const [uid, gid] = ["-u", "-g"].map((flag) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim()));
    return { uid, gid };
  } catch {
    throw new Error(`PostgreSQL runs as the postgres user, which is missing: ${INSTALL}`);
  }
}

/**
 * A PostgreSQL server with one database, `taskgate`, owned by the user `taskgate` (password
 * authentication). Its `url` is a DATABASE_URL; `query` runs SQL as that user; `restart` stops
 * the server and starts it again on the same port and files; `stop` ends it and removes its files.
 * The caller stops it (`after(() => postgres?.stop())`).
 */
export async function startPostgres() {
  const bin = binDir();
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), "taskgate-postgres-"));
  const data = join(dir, "data");
  const password = `test-only-${Math.random().toString(36).slice(2)}`;
  let server;
  let pool;
  // Should this process end without `stop` (a crash), the server is killed with the other children
  // (helpers.mjs) and its files go too.
  const removeFiles = () => rmSync(dir, { recursive: true, force: true });
  process.on("exit", removeFiles);
  const stopServer = async () => {
    // SIGINT: PostgreSQL's fast shutdown (clients are disconnected, nothing is waited for).
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      const exited = new Promise((r) => server.child.once("exit", r));
      server.child.kill("SIGINT");
      await exited;
    }
  };
  const stop = async () => {
    await pool?.end().catch(() => undefined);
    await stopServer();
    removeFiles();
    process.off("exit", removeFiles);
  };
  let port;
  const admin = () => `postgres://taskgate:${password}@127.0.0.1:${port}/postgres`;
  const startServer = async () => {
    // Loopback TCP only: no Unix socket (the default directory belongs to the system's own cluster).
    server = startProcess(
      "postgres",
      join(bin, "postgres"),
      ["-D", data, "-p", String(port), "-h", "127.0.0.1", "-k", "", "-c", "fsync=off", "-c", "max_connections=50"],
      { LANG: "C.UTF-8" },
      dir,
      user,
    );
    await waitUntil(
      "PostgreSQL to accept connections",
      async () => {
        const client = new pg.Client({ connectionString: admin() });
        await client.connect();
        await client.end();
        return true;
      },
      { giveUpIf: server.failIfExited, intervalMs: 100 },
    );
  };
  try {
    writeFileSync(join(dir, "password"), password, { mode: 0o600 });
    if (user.uid !== undefined) for (const path of [dir, join(dir, "password")]) chownSync(path, user.uid, user.gid);
    const init = spawnSync(
      join(bin, "initdb"),
      ["-D", data, "-U", "taskgate", `--pwfile=${join(dir, "password")}`, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
      { ...user, cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH, LANG: "C.UTF-8" } },
    );
    if (init.status !== 0) throw new Error(`initdb failed (${init.status}):\n${init.stdout}\n${init.stderr}`);
    port = await freePort();
    await startServer();
    const client = new pg.Client({ connectionString: admin() });
    await client.connect();
    await client.query("CREATE DATABASE taskgate");
    await client.end();
    const url = `postgres://taskgate:${password}@127.0.0.1:${port}/taskgate`;
    pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on("error", () => undefined); // an idle connection ended by the server's stop
    return {
      url,
      /** DATABASE_URL of another database on this server. */
      urlOf: (database) => `postgres://taskgate:${password}@127.0.0.1:${port}/${database}`,
      query: (sql, params) => pool.query(sql, params),
      async restart() {
        await stopServer();
        await startServer();
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
