#!/usr/bin/env bash
# bench_lookup.sh — issue 12 section (a): a point lookup by key on the demo's
# `candidates` (SELECT * FROM candidates WHERE candidate_id = 4242) end to
# end over HTTP, beside DuckDB in process on the table's own files and on a
# copy of the same rows written by DuckDB with default settings (one file,
# default row groups). The demo writes every table clustered by its
# <entity>_id with small row groups (ADR 0200), so the lookup reads one
# small row group of one file.
#
# The data comes from `lakehouse demo --no-index` (the resumes vector index
# is not needed here) in a temp folder; timing is done by build/bench_sql
# lookup (C, libcurl keep-alive, interleaved rounds).
#
# Knobs: BENCH_QUICK=1 (demo scale 0.1, 5 runs), BENCH_RUNS, BENCH_SCALE.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

HELPER=$BENCH_ROOT/build/bench_sql
if [ "$BENCH_QUICK" = 1 ]; then SCALE=${BENCH_SCALE:-0.1}; RUNS=${BENCH_RUNS:-5}
else SCALE=${BENCH_SCALE:-1}; RUNS=${BENCH_RUNS:-30}; fi
[ -x "$HELPER" ] || bench_die "$HELPER is missing (make build)"
[ -x "$LH_BIN" ] || bench_die "$LH_BIN is missing (make build)"

MACHINE=$(bench_machine)
DATA=$BENCH_TMP/data
mkdir -p "$DATA" "$BENCH_TMP/cwd"
bench_log "generating the demo (scale $SCALE, no vector index)"
t0=$(date +%s.%N)
(cd "$BENCH_TMP/cwd" && LAKEHOUSE_DATA="$DATA" "$LH_BIN" demo --scale "$SCALE" --no-index) \
  >>"$BENCH_TMP/demo.log" 2>&1 || { tail -5 "$BENCH_TMP/demo.log" >&2; bench_die "demo failed"; }
GEN_S=$(echo "$t0 $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')
bench_start_server "$DATA"
bench_log "server on $LH_URL"

ROWS=$(curl -fs "$LH_URL/catalog/datasets/by-name/candidates" | jq -r .row_count)
KEY=$(curl -fs "$LH_URL/catalog/datasets/by-name/candidates" | jq -r '.clustering_key | join(",")')
NFILES=$(curl -fs "$LH_URL/catalog/datasets/by-name/candidates" | jq -r '.files | length')
FILE_LIST=$(curl -fs "$LH_URL/catalog/datasets/by-name/candidates" | jq -r --arg d "$DATA" '[.files[] | "\u0027" + $d + "/tables/candidates/" + .path + "\u0027"] | join(",")')
NGROUPS=$("$BENCH_ROOT/build/duck_exec" "SELECT DISTINCT file_name, row_group_id FROM parquet_metadata([$FILE_LIST])" | awk '{print $2}')
ID=4242; [ "$ROWS" -gt "$ID" ] || ID=$((ROWS / 2))
bench_log "timing the lookup on candidates ($ROWS rows, clustered by $KEY, $RUNS runs per path)"
ROW=$("$HELPER" lookup "$LH_URL" "$DATA" candidates "candidate_id = $ID" "$RUNS" "$BENCH_TMP" "candidates ($(bench_label "$ROWS") rows)")

cat <<EOF2
## Point lookup by key on the demo's candidates (issue 12, section a)

Produced by \`${BENCH_COMMAND:-bash bench/bench_lookup.sh}\` (this section: \`bench/bench_lookup.sh\`) on $MACHINE.
DuckDB $("$HELPER" version). Data: \`lakehouse demo --scale $SCALE --no-index\` ($GEN_S s) in a temp folder;
\`candidates\` is $ROWS rows (with resume text, ~2 KB a row) in $NFILES file(s) and $NGROUPS row groups, clustering key \`$KEY\`:
rows sorted by it on write, row groups of about 2 MiB (ADR 0200), so the Parquet min/max
statistics of all row groups but one exclude the key. Server: \`build/lakehouse serve\` with defaults.

$RUNS timed runs per path after 3 warm-up runs, interleaved round by round. Times in ms.
**HTTP** = \`POST /query/sql\` (libcurl, keep-alive) to the last byte of the JSON; **engine** = the
lakehouse query engine in the bench process (no HTTP); **DuckDB, lakehouse files** = plain DuckDB
over the table's own Parquet files; **DuckDB, default file** = plain DuckDB over the same rows
written by \`COPY ... TO (FORMAT parquet)\` with DuckDB's defaults — the peer. Ratio = HTTP median /
peer median. Targets: HTTP median ≤ 5 ms and ratio ≤ 0.2×.

| table | query | rows out | HTTP median | HTTP p90 | engine median | DuckDB, lakehouse files | DuckDB, default file | HTTP / peer | ≤ 5 ms | ≤ 0.2× |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |
$ROW
EOF2
