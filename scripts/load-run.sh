#!/usr/bin/env bash
# A load run: taskgate-local (release, in-memory store, development auth) under wrk, on
# loopback, bounded in time. Prints requests/s and latency per route, and the server's peak
# memory. Needs wrk (`apt-get install -y wrk`).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
port=${PORT:-18080}
seconds=${SECONDS_PER_ROUTE:-10}
cargo build --release -p taskgate-local
out=$(mktemp)
# The POST run creates far more than the default per-user quota: lift it, to measure creates.
PORT=$port RUST_LOG=warn TASK_QUOTA=4294967295 ./target/release/taskgate-local >"$out" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$out" "$out.lua"' EXIT
for _ in $(seq 50); do grep -q 'export TOKEN=' "$out" && break; sleep 0.1; done
token=$(sed -n 's/.*export TOKEN=//p' "$out")
base="http://127.0.0.1:$port/api/demo-user/tasks"
auth="Authorization: Bearer $token"
id=""
for n in $(seq 100); do
  id=$(curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' \
    -d "{\"title\":\"task $n\"}" "$base" | sed 's/.*"id":"\([0-9A-Z]*\)".*/\1/')
done
cat >"$out.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"title":"load run"}'
wrk.headers["Content-Type"] = "application/json"
LUA
run() { echo "== $1"; shift; wrk -t2 -c16 -d"${seconds}s" --latency -H "$auth" "$@" | grep -E 'Requests/sec|^ +50%|^ +99%|Non-2xx'; }
rss() { echo "== peak RSS of taskgate-local $1: $(awk '/VmHWM/ {print $2 " " $3}' /proc/$server/status)"; }
run "GET one task" "$base/$id"
run "GET list (limit 50)" "$base?limit=50"
rss "after the GET runs (100 tasks stored)"
run "POST create" -s "$out.lua" "$base"
rss "after the POST run (every created task is kept in memory)"
