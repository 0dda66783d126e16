#!/usr/bin/env bash
# bench_concurrency.sh — issue 9's figures: throughput and p50/p99 at 1, 2,
# 4, 8, 16 and 64 concurrent clients for a point lookup, a group-by, the
# search_candidates tool and a vector search on the demo data, over HTTP
# (build/load_client bench: one keep-alive connection per client) beside
# the same requests in process from the same number of threads
# (build/load_client duck / inproc: DuckDB for the SQL, the lakehouse modules for
# the tool and the vector search, which DuckDB alone cannot run). The two
# sides alternate per client count so machine noise hits both alike.
#
# Knobs: BENCH_QUICK=1 (1 s per point, scale 0.01), BENCH_CONC_SECONDS
# (default 5), BENCH_CONC_SCALE (demo scale, default 0.1), BENCH_CONC_CLIENTS
# ("1 2 4 8 16 64"), BENCH_CONC_OPS ("point groupby tool vector").
set -euo pipefail
source "$(dirname "$0")/lib.sh"

LOAD=$BENCH_ROOT/build/load_client
PEER=$LOAD
if [ "$BENCH_QUICK" = 1 ]; then SECS=${BENCH_CONC_SECONDS:-1}; SCALE=${BENCH_CONC_SCALE:-0.01}
else SECS=${BENCH_CONC_SECONDS:-5}; SCALE=${BENCH_CONC_SCALE:-0.1}; fi
CLIENTS=${BENCH_CONC_CLIENTS:-"1 2 4 8 16 64"}
OPS=${BENCH_CONC_OPS:-"point groupby tool vector"}
for b in "$LOAD" "$PEER" "$LH_BIN"; do [ -x "$b" ] || bench_die "$b is missing (make build)"; done

MACHINE=$(bench_machine)
DATA=$BENCH_TMP/data
mkdir -p "$BENCH_TMP/cwd"
bench_log "demo data, scale $SCALE"
(cd "$BENCH_TMP/cwd" && LAKEHOUSE_DATA=$DATA "$LH_BIN" demo --scale "$SCALE" >"$BENCH_TMP/demo.log" 2>&1) \
  || bench_die "demo: $(tail -3 "$BENCH_TMP/demo.log")"
# queues deep enough for 64 clients, so the figures measure work, not refusals
bench_start_server "$DATA" LAKEHOUSE_SERVER_QUERY_QUEUE=128 LAKEHOUSE_SERVER_VECTOR_QUEUE=128 LAKEHOUSE_GRPC_ENABLED=false
bench_log "server on $LH_URL"

field() { echo "$1" | awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}'; }
ROWS=$BENCH_TMP/rows.md; TARGETS=$BENCH_TMP/targets.md
: >"$ROWS"; : >"$TARGETS"
for op in $OPS; do
  mode=duck; [ "$op" = tool ] || [ "$op" = vector ] && mode=inproc
  declare -A rps=() p50=() p99=() peer=()
  for n in $CLIENTS; do
    bench_log "$op: $n clients"
    h=$("$LOAD" bench "$LH_URL" "$SECS" "$n" "$op") || bench_die "$op over HTTP at $n clients: $h"
    p=$("$PEER" "$mode" "$DATA" "$SECS" "$n" "$op" 2>/dev/null) || bench_die "$op in process at $n threads"
    rps[$n]=$(field "$h" rps); p50[$n]=$(field "$h" p50_ms); p99[$n]=$(field "$h" p99_ms); peer[$n]=$(field "$p" rps)
    ratio=$(awk -v a="${rps[$n]}" -v b="${peer[$n]}" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}')
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %sx | %s |\n' "$op" "$n" "${rps[$n]}" "${p50[$n]}" "${p99[$n]}" \
      "${peer[$n]}" "$(field "$p" p50_ms)" "$(field "$p" p99_ms)" "$ratio" "$(field "$h" busy)" >>"$ROWS"
  done
  if [ -n "${rps[64]:-}" ] && [ -n "${rps[2]:-}" ] && [ -n "${rps[16]:-}" ]; then
    awk -v op="$op" -v r2="${rps[2]}" -v r64="${rps[64]}" -v r16="${rps[16]}" -v d16="${peer[16]}" \
        -v a="${p50[16]}" -v b="${p99[16]}" 'BEGIN {
      ratio = (d16 > 0) ? r16 / d16 : 0; tail = (a > 0) ? b / a : 0
      printf "| %s | %.0f vs %.0f: %s | %.2fx: %s | %.1fx: %s |\n", op, r64, r2, (r64 >= r2) ? "met" : "missed",
        ratio, (ratio >= 0.8) ? "met" : "missed", tail, (a > 0 && tail <= 5) ? "met" : "missed" }' >>"$TARGETS"
  fi
  unset rps p50 p99 peer
done

cat <<EOF
## Concurrency (issue 9)

$MACHINE. Command: \`$BENCH_COMMAND\` (BENCH_CONC_SECONDS=$SECS). Demo data at scale $SCALE; $SECS s per point. The server runs
with its defaults (thread per connection, admission budgets of ADR 0181) except deeper query and
vector queues (128) so that 64 clients measure work rather than refusals. HTTP: \`build/load_client
bench\`, one keep-alive connection per client, time to the last byte; only 2xx answers count.
Peer: the same requests from the same number of threads in process — DuckDB (one connection per
thread, over the view of \`candidates\` the catalog publishes: a scan of its Parquet files) for the SQL; the lakehouse modules without HTTP
(\`tools_call\`, \`vindex_search_ex\`) for the tool and the vector search, which DuckDB alone has no
equivalent for. Point lookup: \`SELECT candidate_id, first_name, last_name, city, state, status FROM
candidates WHERE candidate_id = <random 1..1000>\`; group-by: \`SELECT state, count(*) AS n,
avg(desired_salary) AS avg_salary FROM candidates GROUP BY state ORDER BY n DESC, state\`; tool:
\`search_candidates {"skills": <one of 10 phrases>, "limit": 10}\`; vector: \`POST /vectors/search
{"index": "resumes", "query": <one of 10 phrases>, "k": 10}\` (hybrid, the default).

| request | clients | HTTP req/s | p50 ms | p99 ms | in process req/s | p50 ms | p99 ms | HTTP / in process | 503s |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
$(cat "$ROWS")

Targets: throughput never falls as clients grow (64 ≥ 2); at 16 clients ≥ 0.8x the in-process
throughput; p99 at 16 clients ≤ 5x p50.

| request | 64 vs 2 clients (req/s) | HTTP / in process at 16 | p99 / p50 at 16 |
|---|---|---|---|
$(cat "$TARGETS")
EOF
