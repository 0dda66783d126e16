# lib.sh — helpers shared by the bench/bench_*.sh scripts (sourced, bash).
#
# A bench script prints exactly one markdown section on stdout (it starts
# with "## ") and its progress on stderr; bench/run.sh collects the sections
# into docs/BENCHMARKS.md. Servers run on free loopback ports with their own
# temp data folders and are always stopped on exit.
#
# Knobs every script honours:
#   BENCH_QUICK=1   small sizes and few runs: a smoke run, not figures
#   LH_BIN          server binary (default build/lakehouse)

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LH_BIN=${LH_BIN:-$BENCH_ROOT/build/lakehouse}
BENCH_QUICK=${BENCH_QUICK:-0}
BENCH_TMP=$(mktemp -d -t lh-bench-XXXXXX)
BENCH_PIDS=()

bench_log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
bench_die() { bench_log "FAILED: $*"; exit 1; }

# Stops our servers and removes the temp folder. Runs from the EXIT trap,
# where set -e is still on: nothing in it may fail, and the script's own
# exit status is kept.
bench_cleanup() {
  local rc=$? p
  for p in "${BENCH_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${BENCH_PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$BENCH_TMP" || true
  return $rc
}
trap bench_cleanup EXIT

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 12000))  # below the kernel's ephemeral range (32768+), so no client socket holds it
    (echo >/dev/tcp/127.0.0.1/$p) >/dev/null 2>&1 || { echo "$p"; return 0; }
  done
  return 1
}

# bench_start_server DATA_DIR [ENV=VAL...] — sets LH_URL and LH_PID. Runs in
# a scratch folder so no lakehouse.toml of the caller's is picked up.
bench_start_server() {
  local data=$1; shift
  local port; port=$(free_port) || bench_die "no free port"
  LH_URL="http://127.0.0.1:$port"
  mkdir -p "$BENCH_TMP/cwd"
  (cd "$BENCH_TMP/cwd" && exec env LAKEHOUSE_AUTH_ENABLED=false LAKEHOUSE_PORT="$port" LAKEHOUSE_DATA="$data" "$@" "$LH_BIN" serve \
    >>"$BENCH_TMP/server.log" 2>&1) &
  LH_PID=$!
  BENCH_PIDS+=("$LH_PID")
  for _ in $(seq 1 400); do
    curl -fs "$LH_URL/health" >/dev/null 2>&1 && return 0
    kill -0 "$LH_PID" 2>/dev/null || { tail -5 "$BENCH_TMP/server.log" >&2; bench_die "server exited"; }
    sleep 0.05
  done
  bench_die "server did not answer /health"
}

# 1000000 → 1M, 100000 → 100K
bench_label() {
  local n=$1
  if [ $((n % 1000000)) -eq 0 ]; then echo "$((n / 1000000))M"
  elif [ $((n % 1000)) -eq 0 ]; then echo "$((n / 1000))K"
  else echo "$n"; fi
}

# One line naming the machine and the moment, for every section.
bench_machine() {
  local cpu mem load commit
  cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')
  [ -n "$cpu" ] || cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
  mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null)
  load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
  commit=$(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
  echo "$(date -u +%Y-%m-%dT%H:%MZ), commit $commit (plus uncommitted changes, if any); machine: nproc $(nproc), ${cpu:-unknown CPU}, $mem RAM, Linux $(uname -r); load average at start $load"
}
