# lib.sh — shared helpers for integration tests (sourced, bash).
# Prints TAP: "ok N - name" / "not ok N - name" (+ "# detail" lines), which
# tests/run.sh counts. Servers are started on free loopback ports with their
# own temp data folders and are always stopped on exit: gracefully (SIGTERM,
# so the sanitized server runs LeakSanitizer), and a sanitizer report in the
# server log is a failing test (ADR 0162). Skips: t_skip for what the project
# installs (a failure in strict runs), t_skip_optional for what it does not.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LH_BIN=${LH_BIN:-$ROOT/build/san/lakehouse}
[ -x "$LH_BIN" ] || LH_BIN=$ROOT/build/lakehouse
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
SAN_REPORT='ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:'
LH_LOG_SEEN=0  # lines of $LH_TMP/server.log already checked for sanitizer reports
T_N=0
T_FAILED=0
LH_PIDS=()
LH_TMP=$(mktemp -d /tmp/lh-it-XXXXXX)

t_ok() { T_N=$((T_N + 1)); echo "ok $T_N - $1"; }
t_fail() {
  T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $1"
  shift; for d in "$@"; do printf '%s\n' "$d" | head -c 4000 | sed 's/^/# /'; done
}
# t_skip NAME REASON — a test not run for want of something the project
# installs itself (scripts/deps.sh, tests/data, make build): strict runs
# (make test, CI=true) count it as a failure
t_skip() { T_N=$((T_N + 1)); echo "ok $T_N - $1 # SKIP $2"; }
# t_skip_optional NAME REASON — a test not run for want of something the
# project does not install (a GPU, a real Ollama): a skip even when strict
t_skip_optional() { T_N=$((T_N + 1)); echo "ok $T_N - $1 # SKIP optional: $2"; }
# check NAME COMMAND... — passes when the command exits 0
check() { local name=$1; shift; if "$@" >/dev/null 2>&1; then t_ok "$name"; else t_fail "$name" "command: $*"; fi; }
# check_eq NAME GOT WANT
check_eq() {
  if [ "$2" == "$3" ]; then t_ok "$1"; else t_fail "$1" "got:  $2" "want: $3"; fi
}

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 12000))  # below the kernel's ephemeral range (32768+), so no client socket holds it
    (echo >/dev/tcp/127.0.0.1/$p) >/dev/null 2>&1 || { echo $p; return 0; }
  done
  return 1
}

# lh_s3_start — starts s3rver (npm; bucket "lake" and those named in
# LH_S3_MORE_BUCKETS, in $LH_TMP/s3) and the
# conditional-write shim in front of it (tests/helpers/s3shim.js, which adds
# If-None-Match: * that s3rver ignores), each on a free loopback port. Sets
# S3_RAW_URL (s3rver itself), S3_URL (the shim), S3_PID, S3_SHIM_PID; both
# are stopped at the end like the servers. Returns 1 without s3rver.
lh_s3_start() {
  local s3rver=$ROOT/node_modules/.bin/s3rver
  [ -x "$s3rver" ] || return 1
  [ -n "${S3_URL:-}" ] && return 0
  S3_RAW_PORT=$(free_port)
  S3_RAW_URL="http://127.0.0.1:$S3_RAW_PORT"
  mkdir -p "$LH_TMP/s3"
  local -a more=() b
  for b in ${LH_S3_MORE_BUCKETS:-}; do more+=(--configure-bucket "$b"); done
  "$s3rver" -d "$LH_TMP/s3" -a 127.0.0.1 -p "$S3_RAW_PORT" -s --configure-bucket lake "${more[@]}" >"$LH_TMP/s3.log" 2>&1 &
  S3_PID=$!
  LH_PIDS+=("$S3_PID")
  local up=0
  for _ in $(seq 1 100); do
    (echo >/dev/tcp/127.0.0.1/$S3_RAW_PORT) >/dev/null 2>&1 && { up=1; break; }
    sleep 0.1
  done
  [ "$up" = 1 ] || return 1
  mock_start "$ROOT/tests/helpers/s3shim.js" --upstream "127.0.0.1:$S3_RAW_PORT"
  S3_SHIM_PID=$MOCK_PID
  [ "$MOCK_URL" != "http://127.0.0.1:" ] || return 1
  S3_URL=$MOCK_URL
}

# lh_s3_secrets FILE — a 0600 secrets file whose [s3rver] table holds s3rver's keys
lh_s3_secrets() { printf '[s3rver]\naccess_key = "S3RVER"\nsecret_key = "S3RVER"\n' >"$1"; chmod 600 "$1"; }
# lh_s3_bucket_toml NAME ENDPOINT BUCKET — a [[storage.buckets]] table for an
# s3rver bucket (keys from lh_s3_secrets' [s3rver])
lh_s3_bucket_toml() {
  printf '[[storage.buckets]]\nname = "%s"\nbackend = "s3"\nendpoint = "%s"\nbucket = "%s"\nsecret_ref = "s3rver"\n\n' "$1" "$2" "$3"
}

# lh_s3_env — the AWS_* variables (and cache folder) for a lakehouse whose
# data is on the shim's s3rver, one per line, for `env`
lh_s3_env() {
  printf '%s\n' AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 \
    "AWS_ENDPOINT_URL=$S3_URL" "LAKEHOUSE_STORAGE_CACHE_DIR=$LH_TMP/s3cache"
}

# lh_data_location DATA_DIR — where lh_start puts DATA_DIR's data: the folder
# itself, or with LH_TEST_PRIMARY=s3 the prefix of s3://lake named after it
# (one prefix per folder, so a restart on the same folder finds its data)
lh_data_location() {
  if [ "${LH_TEST_PRIMARY:-}" = s3 ] && [ "${1#s3://}" = "$1" ]; then
    echo "s3://lake/t-$(printf '%s' "$1" | sha256sum | cut -c1-12)"
  else
    echo "$1"
  fi
}

# lh_data_view DATA_DIR — a local folder holding DATA_DIR's objects as files,
# for tests that inspect what the server wrote: DATA_DIR itself, or with
# LH_TEST_PRIMARY=s3 a fresh view of its S3 prefix built from s3rver's store
# (each "<key>._S3rver_object" hard-linked as "<key>"); rebuilt on each call
lh_data_view() {
  local loc; loc=$(lh_data_location "$1")
  if [ "$loc" = "$1" ]; then echo "$1"; return 0; fi
  local src=$LH_TMP/s3/lake/${loc#s3://lake/} view=$LH_TMP/s3view/${loc#s3://lake/} f k
  rm -rf "$view"; mkdir -p "$view"
  if [ -d "$src" ]; then
    while IFS= read -r -d '' f; do
      k=${f#"$src"/}; k=${k%._S3rver_object}
      mkdir -p "$view/$(dirname "$k")" && ln "$f" "$view/$k"
    done < <(find "$src" -type f -name '*._S3rver_object' -print0)
  fi
  echo "$view"
}

# lh_start DATA_DIR [ENV=VAL...] — starts a server, sets LH_URL and LH_PID.
# Auth is on by default in the server; tests run it off (loopback only)
# unless they pass LAKEHOUSE_AUTH_ENABLED=true themselves.
# A port taken between the probe and the bind is retried with another one.
# With LH_TEST_PRIMARY=s3 the data lives on s3rver behind the shim (started
# on first use) under a prefix named after DATA_DIR (lh_data_location).
# LH_CONFIG names a config file to start it with (--config).
lh_start() {
  local data=$1; shift
  local -a s3env=() cd_args=() cfg_args=()
  [ -n "${LH_CONFIG:-}" ] && cfg_args=(--config "$LH_CONFIG")
  if [ "${LH_TEST_PRIMARY:-}" = s3 ]; then
    lh_s3_start || { echo "# LH_TEST_PRIMARY=s3: s3rver or the shim did not start"; return 1; }
    mapfile -t s3env < <(lh_s3_env)
    cd_args=(--chdir="$LH_TMP")  # a file a module still writes by local path lands in the temp folder
    data=$(lh_data_location "$data")
  fi
  set -- "${s3env[@]}" "$@"
  local attempt
  for attempt in 1 2 3; do
    LH_PORT=$(free_port)
    LH_URL="http://127.0.0.1:$LH_PORT"
    env "${cd_args[@]}" LAKEHOUSE_AUTH_ENABLED=false LAKEHOUSE_PORT=$LH_PORT LAKEHOUSE_DATA="$data" LAKEHOUSE_GRPC_PORT=0 "$@" "$LH_BIN" "${cfg_args[@]}" serve \
      >>"$LH_TMP/server.out" 2>>"$LH_TMP/server.log" &
    LH_PID=$!
    LH_PIDS+=("$LH_PID")
    for _ in $(seq 1 600); do  # up to 30 s: a sanitized server on a busy machine starts slowly
      curl -fs "$LH_URL/health" >/dev/null 2>&1 && return 0
      if ! kill -0 "$LH_PID" 2>/dev/null; then
        wait "$LH_PID" 2>/dev/null
        tail -1 "$LH_TMP/server.log" | grep -q 'cannot listen' && continue 2
        echo "# server exited; log:"; tail -5 "$LH_TMP/server.log" | sed 's/^/# /'; return 1
      fi
      sleep 0.05
    done
    return 1
  done
  return 1
}

# mock_start SCRIPT [ARGS...] — starts a node mock server (it prints "PORT n"),
# sets MOCK_URL and MOCK_PID; stopped on exit like the servers.
mock_start() {
  local out; out=$(mktemp "$LH_TMP/mock.XXXXXX")
  node "$@" >"$out" 2>&1 &
  MOCK_PID=$!
  LH_PIDS+=("$MOCK_PID")
  for _ in $(seq 1 100); do grep -q '^PORT ' "$out" 2>/dev/null && break; sleep 0.05; done
  MOCK_URL="http://127.0.0.1:$(sed -n 's/^PORT //p' "$out" | head -1)"
}

# lh_own PID — true while PID is in this suite's process group: a PID we
# recorded whose process has exited may already belong to someone else's
# process (PIDs cycle fast on a busy machine), which must never be signalled
LH_PGID=$(ps -o pgid= -p $$ | tr -d ' ')
lh_own() { [ -n "$1" ] && [ "$(ps -o pgid= -p "$1" 2>/dev/null | tr -d ' ')" = "$LH_PGID" ]; }
# lh_is_server PID — true while PID runs the lakehouse binary under test
lh_is_server() { [ "$(readlink -f "/proc/$1/exe" 2>/dev/null)" = "$(readlink -f "$LH_BIN")" ]; }

# lh_term PID — SIGTERM, then up to 30 s for a clean exit (a sanitized server
# reports leaks on its way out); kills it and returns 1 when it does not exit
lh_term() {
  lh_own "$1" || { wait "$1" 2>/dev/null; return 0; }
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 600); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$1" 2>/dev/null; then kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null; return 1; fi
  wait "$1" 2>/dev/null
  return 0
}

# lh_check_log — fails a test when the server log gained a sanitizer report
# (leak, memory error, UB) since the last check; the whole log is kept in
# build/test-artifacts/sanitizer/ for reading
lh_check_log() {
  local log=$LH_TMP/server.log
  [ -f "$log" ] || return 0
  local total; total=$(wc -l <"$log")
  [ "$total" -gt "$LH_LOG_SEEN" ] || return 0
  local report; report=$(tail -n +"$((LH_LOG_SEEN + 1))" "$log" | grep -m1 -A40 -E "$SAN_REPORT")
  LH_LOG_SEEN=$total
  [ -n "$report" ] || return 0
  local keep=$ROOT/build/test-artifacts/sanitizer; mkdir -p "$keep"
  keep=$keep/$(basename "$0" .sh)-server.log; cp "$log" "$keep"
  t_fail "server exits without a sanitizer report" "$report" "(whole log: $keep)"
}

# lh_stop — graceful stop of LH_PID, then the log check; a server that
# ignores SIGTERM for 30 s is killed and fails a test
lh_stop() {
  [ -n "${LH_PID:-}" ] || return 0
  lh_term "$LH_PID" || t_fail "server $LH_PID exits on SIGTERM within 30 s"
  LH_PID=
  lh_check_log
}

# http METHOD PATH [curl args...] — prints "STATUS BODY" into $HTTP_STATUS/$HTTP_BODY
http() {
  local method=$1 path=$2; shift 2
  local out
  out=$(curl -s -X "$method" -o "$LH_TMP/body" -w '%{http_code}' "$@" "$LH_URL$path")
  HTTP_STATUS=$out
  HTTP_BODY=$(cat "$LH_TMP/body")
}
# http_json METHOD PATH JSON [curl args...]
http_json() { local m=$1 p=$2 j=$3; shift 3; http "$m" "$p" -H 'Content-Type: application/json' --data-binary "$j" "$@"; }
jget() { echo "$HTTP_BODY" | jq -r "$1" 2>/dev/null; }
# post_status PATH JSON — POSTs JSON, prints only the HTTP status (000: no
# server); for concurrent background loops (no shared body file)
post_status() { curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$2" "$LH_URL$1"; }
# delta_log_whole TABLE_DIR — true when its _delta_log holds every commit 0..latest
delta_log_whole() {
  local last cnt
  last=$(ls "$1/_delta_log/" | grep -E '^[0-9]{20}\.json$' | sort | tail -1 | sed 's/^0*//; s/\.json$//')
  cnt=$(ls "$1/_delta_log/" | grep -cE '^[0-9]{20}\.json$')
  [ "$cnt" -eq $((${last:-0} + 1)) ]
}

# ---- SQL suites (the delta_*.sh tests): queries over HTTP and the table's log
# lh_sql SQL [curl args...] — POST /query/sql {"sql": SQL}, with "limit":
# $LH_SQL_LIMIT when that is set; sets HTTP_STATUS / HTTP_BODY
lh_sql() {
  local s=$1; shift
  http_json POST /query/sql "$(jq -n --arg s "$s" --argjson l "${LH_SQL_LIMIT:-null}" \
    'if $l == null then {sql:$s} else {sql:$s, limit:$l} end')" "$@"
}
# the keys lh_sql_start gives the server (for a restart with the same keys)
LH_SQL_KEYS="admin-key:admin,reader-key:read,writer-key:write"
# lh_sql_start DATA_DIR [ENV=VAL...] — lh_start with auth on and LH_SQL_KEYS
# (a failed start ends the suite); sets A, W, R: the admin, writer and reader
# key's curl header, for qa, qw, qr below and the tests' own requests
lh_sql_start() {
  local data=$1; shift
  lh_start "$data" LAKEHOUSE_AUTH_ENABLED=true LAKEHOUSE_API_KEYS="$LH_SQL_KEYS" "$@" ||
    { t_fail "server starts"; t_done; exit 1; }
  t_ok "server starts with auth on"
  A=(-H 'X-API-Key: admin-key'); W=(-H 'X-API-Key: writer-key'); R=(-H 'X-API-Key: reader-key')
}
# q / qa / qw / qr SQL — lh_sql with no key (auth off), as admin, writer, reader
q() { lh_sql "$1"; }
qa() { lh_sql "$1" "${A[@]}"; }
qw() { lh_sql "$1" "${W[@]}"; }
qr() { lh_sql "$1" "${R[@]}"; }
# with LOG set to a table's _delta_log folder: commit V — the path of commit
# V; actions V KIND — how many KIND actions it holds; ncommits — how many commits
commit() { printf '%s/%020d.json' "$LOG" "$1"; }
actions() { grep -c "^{\"$2\"" "$(commit "$1")"; }
ncommits() { ls "$LOG" | grep -c '\.json$'; }

t_done() {
  for p in "${LH_PIDS[@]}"; do
    lh_own "$p" || continue
    if lh_is_server "$p"; then lh_term "$p" || t_fail "server $p exits on SIGTERM within 30 s"
    else kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; fi
  done
  lh_check_log
  if [ "$T_FAILED" -gt 0 ] && [ -f "$LH_TMP/server.log" ]; then
    echo "# last server log lines:"; tail -15 "$LH_TMP/server.log" | sed 's/^/# /'
  fi
  echo "1..$T_N"
  rm -rf "$LH_TMP"
  [ "$T_FAILED" -eq 0 ]
}
# lh_kill_all — kill -9 what is left of this suite's processes (the EXIT trap)
lh_kill_all() { for p in "${LH_PIDS[@]}"; do lh_own "$p" && kill -9 "$p" 2>/dev/null; done; }
trap lh_kill_all EXIT
