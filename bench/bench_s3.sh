#!/usr/bin/env bash
# bench_s3.sh — the primary bucket on S3 vs a local folder: ingest rows/s
# (PUT a CSV, register it as a Delta dataset), and one aggregate query's
# latency cold (a fresh server; for S3 an empty read cache, so the Parquet
# files are downloaded) and warm (median of repeated runs). S3 is s3rver 3.7.1
# (npm, loopback, storing on the local disk) behind the conditional-write
# shim (tests/helpers/s3shim.js), so the S3 figures are our S3 path's
# overhead, not real S3 latency. Target (issue 11): warm <= 1.1x local.
#
# Knobs: BENCH_QUICK=1 (50K rows, 5 runs), BENCH_ROWS, BENCH_RUNS.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

S3RVER=$BENCH_ROOT/node_modules/.bin/s3rver
[ -x "$S3RVER" ] || bench_die "$S3RVER is missing (scripts/deps.sh runs npm ci)"
[ -x "$LH_BIN" ] || bench_die "$LH_BIN is missing (make build)"
if [ "$BENCH_QUICK" = 1 ]; then ROWS=${BENCH_ROWS:-50000}; RUNS=${BENCH_RUNS:-5}
else ROWS=${BENCH_ROWS:-1000000}; RUNS=${BENCH_RUNS:-31}; fi
MACHINE=$(bench_machine)

S3_PORT=$(free_port) || bench_die "no free port"
mkdir -p "$BENCH_TMP/s3"
"$S3RVER" -d "$BENCH_TMP/s3" -a 127.0.0.1 -p "$S3_PORT" -s --configure-bucket lake >"$BENCH_TMP/s3.log" 2>&1 &
BENCH_PIDS+=("$!")
for _ in $(seq 1 100); do (echo >/dev/tcp/127.0.0.1/$S3_PORT) >/dev/null 2>&1 && break; sleep 0.1; done
node "$BENCH_ROOT/tests/helpers/s3shim.js" --upstream "127.0.0.1:$S3_PORT" >"$BENCH_TMP/shim.out" 2>&1 &
BENCH_PIDS+=("$!")
for _ in $(seq 1 100); do grep -q '^PORT ' "$BENCH_TMP/shim.out" && break; sleep 0.05; done
SHIM_URL="http://127.0.0.1:$(sed -n 's/^PORT //p' "$BENCH_TMP/shim.out")"
S3ENV=(AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 "AWS_ENDPOINT_URL=$SHIM_URL"
       "LAKEHOUSE_STORAGE_CACHE_DIR=$BENCH_TMP/cache")

bench_log "generating $ROWS rows"
awk -v n="$ROWS" 'BEGIN { print "id,city,amount,note"; for (i = 1; i <= n; i++) printf "%d,City%d,%d,row %d\n", i, i % 50, (i * 37) % 10000, i }' \
  >"$BENCH_TMP/rows.csv"
SQL='{"sql":"SELECT city, count(*) AS n, sum(amount) AS total FROM bench GROUP BY city ORDER BY city"}'
secs() { date +%s.%N; }
query_s() { curl -s -o "$BENCH_TMP/q.json" -w '%{time_total}' -H 'Content-Type: application/json' -d "$SQL" "$LH_URL/query/sql"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
stop_server() { kill -TERM "$LH_PID"; for _ in $(seq 1 200); do kill -0 "$LH_PID" 2>/dev/null || break; sleep 0.05; done; }

# ingest_cold NAME DATA [ENV...] — sets <NAME>_INGEST (rows/s) and <NAME>_COLD (ms);
# leaves the server running with LH_URL in <NAME>_URL for the warm rounds
ingest_cold() {
  local name=$1 data=$2; shift 2
  bench_start_server "$data" "$@"
  local t0 t1
  t0=$(secs)
  curl -sf -o /dev/null -X PUT --data-binary @"$BENCH_TMP/rows.csv" "$LH_URL/storage/objects/in/rows.csv" || bench_die "$name: PUT"
  curl -sf -o /dev/null -H 'Content-Type: application/json' -d '{"name":"bench","objects":["in/rows.csv"]}' \
    "$LH_URL/catalog/datasets" || bench_die "$name: register"
  t1=$(secs)
  printf -v "${name}_INGEST" '%.0f' "$(echo "$ROWS / ($t1 - $t0)" | bc -l)"
  stop_server
  rm -rf "$BENCH_TMP/cache"  # S3: cold means nothing cached
  bench_start_server "$data" "$@"
  printf -v "${name}_COLD" '%.1f' "$(echo "$(query_s) * 1000" | bc -l)"
  [ "$(jq -r '.rows | length' "$BENCH_TMP/q.json")" = 50 ] || bench_die "$name: query answered $(head -c 300 "$BENCH_TMP/q.json")"
  jq -c '.rows[0]' "$BENCH_TMP/q.json" >"$BENCH_TMP/$name.first"
  printf -v "${name}_URL" '%s' "$LH_URL"
}
ingest_cold LOCAL "$BENCH_TMP/data"
ingest_cold S3 "s3://lake/bench" "${S3ENV[@]}"
# warm: both servers up, queries interleaved so both see the same machine load
: >"$BENCH_TMP/warm.LOCAL"; : >"$BENCH_TMP/warm.S3"
for _ in $(seq 1 "$RUNS"); do
  for name in LOCAL S3; do
    url_var=${name}_URL; LH_URL=${!url_var}
    query_s >>"$BENCH_TMP/warm.$name"; echo >>"$BENCH_TMP/warm.$name"
  done
done
for name in LOCAL S3; do
  printf -v "${name}_WARM" '%.1f' "$(echo "$(median <"$BENCH_TMP/warm.$name") * 1000" | bc -l)"
  bench_log "$name: ingest $(eval echo \$${name}_INGEST) rows/s, cold $(eval echo \$${name}_COLD) ms, warm $(eval echo \$${name}_WARM) ms"
done
cmp -s "$BENCH_TMP/LOCAL.first" "$BENCH_TMP/S3.first" || bench_die "S3 and local answers differ"
ratio() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }

cat <<EOF2
## The primary on S3 (s3rver behind the shim) vs a local folder

Produced by \`${BENCH_COMMAND:-bench/bench_s3.sh}\` (this section: \`bench/bench_s3.sh\`) on $MACHINE.

$(bench_label "$ROWS") rows (4 columns) as a CSV, registered as a Delta dataset; the query is a
GROUP BY over the 50 cities. Ingest: PUT + register, rows per second. Cold: the first query
after a restart (S3: with the read cache emptied, so the Parquet files are downloaded); warm:
median of $RUNS runs after it, the two servers queried in turn so both see the same load. s3rver is a Node.js S3 emulator on loopback storing to the local
disk, so these are our S3 path's costs (signing, the shim, downloads into the cache), not real
S3 latency. Target: warm S3 <= 1.1x local. A warm query downloads nothing (the read cache
serves the Parquet files) and sends S3 nothing on its path; the access audit goes out as two
PUTs (segment, head) per round of up to 1 s, not per query (ADR 0273).

| | local | S3 | S3 / local |
| --- | --- | --- | --- |
| ingest (rows/s) | $LOCAL_INGEST | $S3_INGEST | $(ratio "$S3_INGEST" "$LOCAL_INGEST") |
| query cold (ms) | $LOCAL_COLD | $S3_COLD | $(ratio "$S3_COLD" "$LOCAL_COLD") |
| query warm (ms) | $LOCAL_WARM | $S3_WARM | $(ratio "$S3_WARM" "$LOCAL_WARM") |
EOF2
