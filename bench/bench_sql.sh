#!/usr/bin/env bash
# bench_sql.sh — issue 2's figures: POST /query/sql latency (filter,
# group-by, point lookup) on a 1M- and a 10M-row table beside the same SQL
# run by DuckDB in process; JSON rendering rate of a 100K-row result; and
# GET /health throughput under wrk. Prints one markdown section.
#
# Tables take the user's path: generated to Parquet by DuckDB (build/bench_sql
# gen), uploaded with PUT /storage/objects, registered with POST
# /catalog/datasets (which rewrites them as Delta tables). Timing is done by
# build/bench_sql (C, libcurl keep-alive, interleaved rounds); see its header.
#
# Knobs: BENCH_QUICK=1 (100K/300K rows, 5 runs, 3 s of wrk), BENCH_RUNS,
# BENCH_SIZES ("1000000 10000000"), BENCH_WRK_SECONDS, BENCH_WRK_REPEATS.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

HELPER=$BENCH_ROOT/build/bench_sql
if [ "$BENCH_QUICK" = 1 ]; then
  SIZES=${BENCH_SIZES:-"100000 300000"}; RUNS=${BENCH_RUNS:-5}
  WRK_S=${BENCH_WRK_SECONDS:-3}; WRK_N=${BENCH_WRK_REPEATS:-1}
else
  SIZES=${BENCH_SIZES:-"1000000 10000000"}; RUNS=${BENCH_RUNS:-30}
  WRK_S=${BENCH_WRK_SECONDS:-10}; WRK_N=${BENCH_WRK_REPEATS:-3}
fi
JSON_ROWS=100000
[ -x "$HELPER" ] || bench_die "$HELPER is missing (make build)"
[ -x "$LH_BIN" ] || bench_die "$LH_BIN is missing (make build)"
command -v wrk >/dev/null || bench_die "wrk is not installed (make deps)"

MACHINE=$(bench_machine)
DATA=$BENCH_TMP/data
mkdir -p "$DATA"
bench_start_server "$DATA"
bench_log "server on $LH_URL, data in a temp folder"

# load_table ROWS NAME — generate, PUT, register; sets LOAD_TIMES="gen_s put_s register_s"
load_table() {
  local rows=$1 name=$2 file=$BENCH_TMP/$2.parquet t0 t1 t2 t3 code
  t0=$(date +%s.%N)
  "$HELPER" gen "$file" "$rows"
  t1=$(date +%s.%N)
  code=$(curl -s -o "$BENCH_TMP/put.out" -w '%{http_code}' -T "$file" "$LH_URL/storage/objects/bench/$name.parquet")
  [ "$code" = 201 ] || bench_die "PUT $name: $code $(cat "$BENCH_TMP/put.out")"
  t2=$(date +%s.%N)
  code=$(curl -s -o "$BENCH_TMP/reg.out" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "{\"name\":\"$name\",\"objects\":[\"bench/$name.parquet\"]}" "$LH_URL/catalog/datasets")
  [ "$code" = 201 ] || bench_die "register $name: $code $(cat "$BENCH_TMP/reg.out")"
  t3=$(date +%s.%N)
  curl -s -X DELETE "$LH_URL/storage/objects/bench/$name.parquet" >/dev/null
  rm -f "$file"
  local got; got=$(jq -r .row_count "$BENCH_TMP/reg.out")
  [ "$got" = "$rows" ] || bench_die "$name registered with $got rows, want $rows"
  LOAD_TIMES=$(echo "$t0 $t1 $t2 $t3" | awk '{printf "%.1f %.1f %.1f", $2 - $1, $3 - $2, $4 - $3}')
}

SQL_ROWS=$BENCH_TMP/sql_rows.md
LOAD_ROWS=$BENCH_TMP/load_rows.md
: >"$SQL_ROWS"; : >"$LOAD_ROWS"
FIRST=
for rows in $SIZES; do
  label=$(bench_label "$rows"); name="t$(echo "$label" | tr 'A-Z' 'a-z')"
  [ -n "$FIRST" ] || FIRST=$name
  bench_log "loading $label rows as dataset $name"
  load_table "$rows" "$name"
  echo "| $label | ${LOAD_TIMES// / | } |" >>"$LOAD_ROWS"
  bench_log "timing SQL on $name ($RUNS runs per path)"
  "$HELPER" sql "$LH_URL" "$DATA" "$name" "$RUNS" "$label" >>"$SQL_ROWS"
done

bench_log "JSON rendering of $JSON_ROWS rows from $FIRST"
JSON_OUT=$("$HELPER" json "$LH_URL" "$DATA" "$FIRST" "$RUNS" "$JSON_ROWS" "$BENCH_TMP" "$(bench_label $JSON_ROWS) rows")

# /health under wrk, WRK_N times; sets H_MED H_MIN H_MAX (req/s), H_P50 H_P99 (median run), H_ERR
health_bench() {
  local i out rps=() lat50=() lat99=() errs=0
  for i in $(seq 1 "$WRK_N"); do
    out=$(wrk -t2 -c64 -d"${WRK_S}s" --latency "$LH_URL/health")
    rps+=("$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')")
    lat50+=("$(echo "$out" | awk '$1 == "50%" {print $2}')")
    lat99+=("$(echo "$out" | awk '$1 == "99%" {print $2}')")
    errs=$((errs + $(echo "$out" | awk '/Non-2xx|Socket errors/ {n++} END {print n + 0}')))
  done
  local mid=$(( (WRK_N + 1) / 2 - 1 ))
  local sorted; sorted=$(printf '%s\n' "${rps[@]}" | sort -g)
  H_MED=$(echo "$sorted" | sed -n "$((mid + 1))p"); H_MIN=$(echo "$sorted" | head -1)
  H_MAX=$(echo "$sorted" | tail -1); H_ERR=$errs
  local i_med; for i_med in "${!rps[@]}"; do [ "${rps[$i_med]}" = "$H_MED" ] && break; done
  H_P50=${lat50[$i_med]}; H_P99=${lat99[$i_med]}
}
bench_log "GET /health under wrk -t2 -c64 -d${WRK_S}s, $WRK_N time(s)"
health_bench
H_VERDICT=$(awk -v r="$H_MED" 'BEGIN {print (r >= 20000 ? "PASS" : "MISS")}')

NOTES=$BENCH_ROOT/bench/bench_sql.notes.md
cat <<EOF
## SQL: POST /query/sql vs DuckDB in process; JSON rendering; /health (issue 2)

Produced by \`${BENCH_COMMAND:-bash bench/bench_sql.sh}\` (this section: \`bench/bench_sql.sh\`) on $MACHINE.
DuckDB $("$HELPER" version). Server: \`build/lakehouse serve\` with default settings (2 HTTP threads,
DuckDB threads = cores, pool of 4 connections) on a loopback port, its own temp data folder.

### Latency of the three queries

$RUNS timed runs per path after 3 warm-up runs; the four paths run interleaved, round by round,
in rotating order. Times in ms. **HTTP** = \`POST /query/sql\` from a C client (libcurl, one
keep-alive connection) to the last byte of the JSON; **engine** = the same lakehouse query engine
and catalog views in the bench process (\`query_open\` + \`query_cursor_read\`, JSON rendered, no
HTTP); **DuckDB** = plain DuckDB in the bench process over the same Parquet files (\`duckdb_query\`,
full result materialised) — the peer; **DuckDB streamed** = that DuckDB asked for a streaming
result, as the engine does, fetched to the end (shows what streaming itself costs).
Ratio = HTTP median / DuckDB median; target ≤ 1.30×.

| table | query | rows out | HTTP median | HTTP p90 | engine median | DuckDB streamed median | DuckDB median | DuckDB p90 | HTTP / DuckDB | target ≤ 1.3× |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |
$(cat "$SQL_ROWS")

### JSON rendering of a $(bench_label $JSON_ROWS)-row, 8-column result (table $FIRST)

MB = 10^6 bytes of response body; rate = MB / median time (query included). Target ≥ 100 MB/s
for the HTTP path. Peer: DuckDB's own JSON writer on the same rows (its objects repeat the keys
on every row, so it writes more bytes per row than our arrays do).

| result | path | MB | median ms | p90 ms | MB/s | target ≥ 100 MB/s |
| --- | --- | ---: | ---: | ---: | ---: | --- |
$JSON_OUT

### GET /health throughput

\`wrk -t2 -c64 -d${WRK_S}s --latency\`, run $WRK_N time(s); the median run is quoted. wrk and the
server share the same $(nproc) cores. The seed publishes no /health figure to compare with.

| requests/s (median) | min – max | latency p50 | latency p99 | errors | target ≥ 20K req/s |
| ---: | ---: | ---: | ---: | ---: | --- |
| $(printf '%.0f' "$H_MED") | $(printf '%.0f' "$H_MIN") – $(printf '%.0f' "$H_MAX") | $H_P50 | $H_P99 | $H_ERR | $H_VERDICT |

### Loading the tables (context, not a target)

Seconds: DuckDB writes the Parquet file, \`PUT /storage/objects\` uploads it, \`POST
/catalog/datasets\` rewrites it as a Delta table (one snappy Parquet file, 122,880-row groups).

| table | generate s | PUT s | register s |
| --- | ---: | ---: | ---: |
$(cat "$LOAD_ROWS")

### The SQL

$("$HELPER" queries)
EOF
if [ -f "$NOTES" ]; then echo; cat "$NOTES"; fi
bench_log "done"
