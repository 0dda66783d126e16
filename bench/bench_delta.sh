#!/usr/bin/env bash
# bench_delta.sh — issue 12 sections (b) and (c) on a 10M-row table of 100
# files (one CREATE TABLE AS and 99 INSERTs of 100K rows, over HTTP):
#  (c) a selective range query (1% of the keys) with file pruning by the
#      files' min/max stats (ADR 0255): files read of files total, time with
#      pruning beside the same query written so it cannot prune (id + 0);
#  (b) UPDATE of 1% and DELETE of 1% of the rows, once scattered over every
#      file (id % 100 = k) and once a contiguous 1% key range, on a
#      copy-on-write table and on a twin with deletion vectors (ADR 0257),
#      beside DuckDB on its own native (in-memory) table of the same rows.
# Each statement runs once (it changes the table); times are curl's
# time_total for POST /query/sql (the statement's whole work, commit
# included) and duck_exec's for DuckDB. Results are checked equal across
# the three tables.
#
# Knobs: BENCH_QUICK=1 (1M rows, 20 files, 3 runs), BENCH_ROWS, BENCH_FILES, BENCH_RUNS.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if [ "$BENCH_QUICK" = 1 ]; then ROWS=${BENCH_ROWS:-1000000}; FILES=${BENCH_FILES:-20}; RUNS=${BENCH_RUNS:-3}
else ROWS=${BENCH_ROWS:-10000000}; FILES=${BENCH_FILES:-100}; RUNS=${BENCH_RUNS:-10}; fi
DUCK=$BENCH_ROOT/build/duck_exec
[ -x "$DUCK" ] || bench_die "$DUCK is missing (make build)"
[ -x "$LH_BIN" ] || bench_die "$LH_BIN is missing (make build)"
MACHINE=$(bench_machine)
DATA=$BENCH_TMP/data
mkdir -p "$DATA"
bench_start_server "$DATA"
bench_log "server on $LH_URL"
PER=$((ROWS / FILES))

# sql SQL — POST /query/sql; body in $OUT, seconds in $SECS; dies on an error
sql() {
  local res
  res=$(curl -s -o "$BENCH_TMP/out" -w '%{http_code} %{time_total}' "$LH_URL/query/sql" \
    -H 'Content-Type: application/json' -d "$(jq -cn --arg s "$1" '{sql:$s, limit:100}')")
  OUT=$(cat "$BENCH_TMP/out"); SECS=${res#* }
  [ "${res%% *}" = 200 ] || bench_die "$1: $OUT"
}
ms() { awk -v s="$1" 'BEGIN {printf "%.1f\n", s * 1000}'; }
median() { sort -n | awk '{a[NR] = $1} END {printf "%.1f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

gen() { echo "SELECT i AS id, (hash(i) % 1000)::BIGINT AS g, i * 2 AS v, 'row ' || i AS name FROM range($1, $2) t(i)"; }
bench_log "writing cow and dv: $ROWS rows in $FILES files each"
t0=$(date +%s.%N)
sql "CREATE TABLE cow AS $(gen 0 $PER)"
sql "CREATE TABLE dv TBLPROPERTIES ('delta.enableDeletionVectors' = 'true') AS $(gen 0 $PER)"
for k in $(seq 1 $((FILES - 1))); do
  sql "INSERT INTO cow $(gen $((k * PER)) $(((k + 1) * PER)))"
  sql "INSERT INTO dv $(gen $((k * PER)) $(((k + 1) * PER)))"
done
LOAD_S=$(echo "$t0 $(date +%s.%N)" | awk '{printf "%.0f", $2 - $1}')

# ---- (c) the selective range query
LO=$((ROWS * 45 / 100 + PER / 2)); HI=$((LO + ROWS / 100 - 1))
RANGE_Q="SELECT count(*), sum(v) FROM cow WHERE id BETWEEN $LO AND $HI"
NOPRUNE_Q="SELECT count(*), sum(v) FROM cow WHERE id + 0 BETWEEN $LO AND $HI"
sql "$RANGE_Q"; SCANNED=$(echo "$OUT" | jq .files_scanned); TOTAL=$(echo "$OUT" | jq .files_total); R1=$(echo "$OUT" | jq -c .rows)
sql "$NOPRUNE_Q"; R2=$(echo "$OUT" | jq -c .rows)
[ "$R1" = "$R2" ] || bench_die "pruned and unpruned answers differ: $R1 vs $R2"
: >"$BENCH_TMP/p"; : >"$BENCH_TMP/u"
for _ in $(seq 1 "$RUNS"); do
  sql "$RANGE_Q"; ms "$SECS" >>"$BENCH_TMP/p"
  sql "$NOPRUNE_Q"; ms "$SECS" >>"$BENCH_TMP/u"
done
P_MS=$(median <"$BENCH_TMP/p"); U_MS=$(median <"$BENCH_TMP/u")
PRUNED_PCT=$(awk -v s="$SCANNED" -v t="$TOTAL" 'BEGIN {printf "%.0f", 100 * (t - s) / t}')
MET_C=$([ "$PRUNED_PCT" -ge 90 ] && echo yes || echo no)

# ---- (b) UPDATE / DELETE of 1%
bench_log "DuckDB on its native table"
DUCK_T=$("$DUCK" "CREATE TABLE cow AS $(gen 0 $ROWS)" \
  "DELETE FROM cow WHERE id % 100 = 0" "UPDATE cow SET v = -1 WHERE id % 100 = 1" \
  "DELETE FROM cow WHERE id BETWEEN $((ROWS / 4)) AND $((ROWS / 4 + ROWS / 100 - 1))" \
  "UPDATE cow SET v = -2 WHERE id BETWEEN $((ROWS / 2)) AND $((ROWS / 2 + ROWS / 100 - 1))" \
  "SELECT id FROM cow")
mapfile -t DT < <(echo "$DUCK_T" | awk '{print $1}')
STMTS=("DELETE FROM @ WHERE id % 100 = 0" "UPDATE @ SET v = -1 WHERE id % 100 = 1"
       "DELETE FROM @ WHERE id BETWEEN $((ROWS / 4)) AND $((ROWS / 4 + ROWS / 100 - 1))"
       "UPDATE @ SET v = -2 WHERE id BETWEEN $((ROWS / 2)) AND $((ROWS / 2 + ROWS / 100 - 1))")
LABELS=("DELETE 1%, scattered (every file)" "UPDATE 1%, scattered (every file)" "DELETE 1%, one key range" "UPDATE 1%, one key range")
TABLE_ROWS=""
for i in 0 1 2 3; do
  bench_log "${LABELS[$i]}"
  sql "${STMTS[$i]//@/cow}"; C_S=$SECS; C_N=$(echo "$OUT" | jq .rows_affected)
  sql "${STMTS[$i]//@/dv}"; D_S=$SECS; D_N=$(echo "$OUT" | jq .rows_affected)
  [ "$C_N" = "$D_N" ] || bench_die "${STMTS[$i]}: $C_N vs $D_N rows"
  K_S=${DT[$((i + 1))]}
  row=$(awk -v c="$C_S" -v d="$D_S" -v k="$K_S" 'BEGIN {
    printf "%.0f | %.0f | %.0f | %.1f× | %.1f× | %s", c * 1000, d * 1000, k * 1000, c / k, d / k, (d / k <= 3 ? "yes" : "no") }')
  TABLE_ROWS+="| ${LABELS[$i]} | $C_N | $row |"$'\n'
done
sql "SELECT count(*) || ',' || sum(v) FROM cow"; RC=$(echo "$OUT" | jq -r '.rows[0][0]')
sql "SELECT count(*) || ',' || sum(v) FROM dv"; RD=$(echo "$OUT" | jq -r '.rows[0][0]')
RK=$(echo "$DUCK_T" | tail -1 | awk '{print $2}') # rows left
[ "$RC" = "$RD" ] || bench_die "copy-on-write and DV tables differ: $RC vs $RD"
[ "${RC%%,*}" = "$RK" ] || bench_die "DuckDB kept $RK rows, the Delta tables ${RC%%,*}"

cat <<EOF2
## Writes and pruning on a 10M-row Delta table (issue 12, sections b and c)

Produced by \`${BENCH_COMMAND:-bash bench/bench_delta.sh}\` (this section: \`bench/bench_delta.sh\`) on $MACHINE.
Data: $(bench_label "$ROWS") rows (\`id\`, \`g\`, \`v\`, \`name\`) written over HTTP as one \`CREATE TABLE AS\` and
$((FILES - 1)) \`INSERT\`s of $(bench_label "$PER") rows: $FILES files per table, twice ($LOAD_S s for both): \`cow\`
(copy-on-write) and \`dv\` (\`TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')\`, protocol 3/7).
Server: \`build/lakehouse serve\` with defaults; DuckDB $("$DUCK" "SELECT version()" >/dev/null 2>&1; echo in process via \`build/duck_exec\`).

**(c) Selective range query** \`$RANGE_Q\` (1% of the keys): files pruned by their Delta min/max
stats before DuckDB opens one (ADR 0255). Medians of $RUNS runs, interleaved, over HTTP (curl).

| files read / total | pruned | target ≥ 90% | pruned query | same query, unprunable (\`id + 0\`) |
| ---: | ---: | --- | ---: | ---: |
| $SCANNED / $TOTAL | $PRUNED_PCT% | $MET_C | $P_MS ms | $U_MS ms |

**(b) UPDATE and DELETE of 1% of the rows**, each statement once, in this order, on both tables
(HTTP, the whole statement: planning, writing, the commit) and on DuckDB's own in-memory table of the
same rows. Ratio = lakehouse / DuckDB; the target is ≤ 3× with deletion vectors. After the four
statements both Delta tables hold \`count, sum(v)\` = $RC; DuckDB's table $RK rows.

| statement | rows | copy-on-write ms | deletion vectors ms | DuckDB native ms | CoW / DuckDB | DV / DuckDB | DV ≤ 3× |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |
$TABLE_ROWS
Copy-on-write rewrites every file holding a matched row into one new file: the scattered 1% touches
all $FILES, so the first statement rewrites the whole table (and leaves it one file, which the later
statements rewrite again). Deletion vectors rewrite nothing for a DELETE (one bitmap file per touched
data file) and write only the updated rows for an UPDATE; what they still pay per statement is the
plan (one scan of the predicate's columns with file and row numbers), the commit, the manifest refresh
(a sample of rows read through the new DVs) and, for each DV of more than 32 ranges, the cached
Parquet file of its row numbers the reader anti-joins (ADR 0220) — the largest part of the scattered
case, one such file per data file. DuckDB's native table updates in place in memory, with no file,
commit or log to write.
EOF2
