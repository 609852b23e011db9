#!/usr/bin/env bash
# `make stack`: the whole stack on this machine. The front end (Next.js + Better Auth) on
# http://localhost:${WEB_PORT:-3000} and taskgate-local on http://127.0.0.1:${PORT:-8000}, which
# verifies Better Auth's tokens through the front end's JWKS. Ctrl-C (or SIGTERM, SIGHUP) stops
# both. Pages asked for at http://127.0.0.1:${WEB_PORT:-3000} are redirected to localhost.
#
# In-memory tasks unless TASKS_TABLE is set (with AWS_* as for `make dev`, e.g. DynamoDB Local
# from `make dynamodb`). Accounts live in web/taskgate.db (SQLite) unless DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."

WEB_PORT=${WEB_PORT:-3000}
API_PORT=${PORT:-8000}
APP_URL=${BETTER_AUTH_URL:-http://localhost:$WEB_PORT}
API_URL=${API_URL:-http://127.0.0.1:$API_PORT}

command -v npm >/dev/null || { echo "make stack needs Node 20.9+ and npm: e.g. apt-get install -y nodejs npm" >&2; exit 1; }
command -v cargo >/dev/null || { echo "make stack needs Rust (cargo): https://rustup.rs" >&2; exit 1; }

# What web/ needs, when missing or when its lock file changed.
if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
# A production build of the front end, unless one newer than every source file is there.
if [ ! -f web/.next/BUILD_ID ] || [ -n "$(find web/app web/components web/lib web/next.config.ts web/proxy.ts web/package-lock.json web/instrumentation.ts -newer web/.next/BUILD_ID -print -quit)" ]; then
    (cd web && NEXT_TELEMETRY_DISABLED=1 npx next build)
fi
# taskgate-local, run from where cargo put it (CARGO_TARGET_DIR and cargo's config are honoured).
API_BIN=$(cargo build -p taskgate-local --bin taskgate-local --message-format=json-render-diagnostics |
    node -e 'let out = "";
        process.stdin.on("data", (chunk) => (out += chunk)).on("end", () => {
            const built = out.split("\n").filter(Boolean).map((line) => JSON.parse(line))
                .find((m) => m.reason === "compiler-artifact" && m.target.name === "taskgate-local" && m.executable);
            if (!built) process.exit(1);
            console.log(built.executable);
        });') || { echo "cargo did not build taskgate-local (see its output above)" >&2; exit 1; }

# A Better Auth secret for this machine, made once and kept out of git (web/.stack-secret is ignored).
if [ -z "${BETTER_AUTH_SECRET:-}" ]; then
    if [ ! -f web/.stack-secret ]; then
        (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > web/.stack-secret)
    fi
    BETTER_AUTH_SECRET=$(cat web/.stack-secret)
fi

# Both servers are children of this script (no npx or other wrapper in between), so stopping
# them stops everything it started, whichever signal stops the script.
servers=()
stop() {
    trap - INT TERM HUP EXIT
    for pid in "${servers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    echo
    echo "Stopped."
}
trap stop EXIT
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap 'stop; exit 129' HUP

wait_for() { # url, what, pid
    for _ in $(seq 1 150); do
        kill -0 "$3" 2>/dev/null || { echo "$2 did not start (see its output above)" >&2; exit 1; }
        code=$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)
        [ "$code" != 000 ] && return 0
        sleep 0.2
    done
    echo "$2 did not answer on $1 within 30 s" >&2
    exit 1
}

# The front end. Next names the address it listens on (127.0.0.1): those lines are left out, so
# the one address shown is the app's own (below). The filter ends when Next's output does.
(cd web && exec env BETTER_AUTH_URL="$APP_URL" BETTER_AUTH_SECRET="$BETTER_AUTH_SECRET" API_URL="$API_URL" \
    AUTH_ISSUER="${AUTH_ISSUER:-$APP_URL}" AUTH_AUDIENCE="${AUTH_AUDIENCE:-$APP_URL}" NEXT_TELEMETRY_DISABLED=1 \
    node_modules/.bin/next start -p "$WEB_PORT" -H 127.0.0.1) |
    (trap '' INT TERM HUP; exec grep --line-buffered -vE '^ *- (Local|Network): ') &
servers+=("$(jobs -p %%)") # the pipeline's first process: Next itself
wait_for "http://127.0.0.1:$WEB_PORT/api/auth/jwks" "The front end" "${servers[0]}"

env PORT="$API_PORT" AUTH_JWKS_URL="http://127.0.0.1:$WEB_PORT/api/auth/jwks" \
    AUTH_ISSUER="${AUTH_ISSUER:-$APP_URL}" AUTH_AUDIENCE="${AUTH_AUDIENCE:-$APP_URL}" \
    CORS_ALLOWED_ORIGINS="${CORS_ALLOWED_ORIGINS:-$APP_URL}" \
    "$API_BIN" &
servers+=($!)
wait_for "$API_URL/api/nobody/tasks" "taskgate-local" "${servers[1]}"

accounts="web/${SQLITE_PATH:-taskgate.db} (SQLite)"
[[ "${SQLITE_PATH:-}" == /* ]] && accounts="$SQLITE_PATH (SQLite)"
[ -n "${DATABASE_URL:-}" ] && accounts="PostgreSQL (DATABASE_URL)"
tasks="in memory"; [ -n "${TASKS_TABLE:-}" ] && tasks="in DynamoDB table $TASKS_TABLE"
cat <<MSG

  taskgate is running: open $APP_URL and create an account.
    front end  $APP_URL   (Next.js + Better Auth; accounts in $accounts)
    API        $API_URL   (taskgate-local, JWKS mode; tasks $tasks)
  Ctrl-C stops both.

MSG
wait -n || true
echo "One of the two servers stopped; stopping the other." >&2
exit 1
