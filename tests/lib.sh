# lib.sh — shared helpers for integration tests (sourced, bash).
# Prints TAP: "ok N - name" / "not ok N - name" (+ "# detail" lines), which
# tests/run.sh counts. Servers are started on free loopback ports with their
# own temp data folders and are always stopped on exit.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LH_BIN=${LH_BIN:-$ROOT/build/san/lakehouse}
[ -x "$LH_BIN" ] || LH_BIN=$ROOT/build/lakehouse
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
T_N=0
T_FAILED=0
LH_PIDS=()
LH_TMP=$(mktemp -d /tmp/lh-it-XXXXXX)

t_ok() { T_N=$((T_N + 1)); echo "ok $T_N - $1"; }
t_fail() {
  T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $1"
  shift; for d in "$@"; do echo "# $d" | head -c 2000; echo; done
}
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

# lh_start DATA_DIR [ENV=VAL...] — starts a server, sets LH_URL and LH_PID.
# Auth is on by default in the server; tests run it off (loopback only)
# unless they pass LAKEHOUSE_AUTH_ENABLED=true themselves.
# A port taken between the probe and the bind is retried with another one.
lh_start() {
  local data=$1; shift
  local attempt
  for attempt in 1 2 3; do
    LH_PORT=$(free_port)
    LH_URL="http://127.0.0.1:$LH_PORT"
    env LAKEHOUSE_AUTH_ENABLED=false LAKEHOUSE_PORT=$LH_PORT LAKEHOUSE_DATA="$data" LAKEHOUSE_GRPC_PORT=0 "$@" "$LH_BIN" serve \
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

lh_stop() { # graceful stop of LH_PID
  [ -n "${LH_PID:-}" ] || return 0
  kill -TERM "$LH_PID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$LH_PID" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$LH_PID" 2>/dev/null
  wait "$LH_PID" 2>/dev/null
  LH_PID=
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

t_done() {
  for p in "${LH_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  if [ "$T_FAILED" -gt 0 ] && [ -f "$LH_TMP/server.log" ]; then
    echo "# last server log lines:"; tail -15 "$LH_TMP/server.log" | sed 's/^/# /'
  fi
  echo "1..$T_N"
  rm -rf "$LH_TMP"
  [ "$T_FAILED" -eq 0 ]
}
trap 'for p in "${LH_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done' EXIT
