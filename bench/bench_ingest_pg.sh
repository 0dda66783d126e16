#!/usr/bin/env bash
# bench_ingest_pg.sh — issue 3's database figure: POST /ingest/db of a
# 1M-row PostgreSQL table into a dataset (Parquet + Delta commit), rows/s
# beside `psql \copy` of the same table to a CSV file, both against the same
# throwaway PostgreSQL 15 (tests/db_lib.sh: temp folder, free port) on this
# machine. Runs alternate (ours, psql, ours, ...) so drift hits both alike;
# the table is overwritten each run. Prints one markdown section.
#
# Knobs: BENCH_QUICK=1 (100K rows, 2 runs), BENCH_RUNS (5), BENCH_PG_ROWS.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$BENCH_ROOT/tests/db_lib.sh"
trap 'db_stop_all || true; bench_cleanup || true' EXIT

if [ "$BENCH_QUICK" = 1 ]; then ROWS=${BENCH_PG_ROWS:-100000}; RUNS=${BENCH_RUNS:-2}
else ROWS=${BENCH_PG_ROWS:-1000000}; RUNS=${BENCH_RUNS:-5}; fi
[ -x "$LH_BIN" ] || bench_die "$LH_BIN is missing (make build)"
command -v psql >/dev/null || bench_die "psql is missing (make deps)"

MACHINE=$(bench_machine)
PW=bench-pw
pg_start || bench_die "postgres did not start"
pg_sql postgres "CREATE ROLE etl LOGIN PASSWORD '$PW'" >/dev/null
pg_sql postgres "CREATE DATABASE shop OWNER etl" >/dev/null
bench_log "generating $ROWS rows in postgres"
pg_sql shop "CREATE TABLE orders AS SELECT g::bigint AS id, (g % 5000)::int AS customer_id,
  md5(g::text) AS sku, (g % 97 + 1)::int AS qty, (g * 1.37)::numeric(12,2) AS amount,
  (g % 3 = 0) AS paid, timestamptz '2026-01-01 00:00:00+00' - g * interval '1 minute' AS ordered_at,
  'note ' || (g % 1000) AS note
  FROM generate_series(1, $ROWS) g;
ALTER TABLE orders ADD PRIMARY KEY (id); GRANT SELECT ON orders TO etl;" >/dev/null
pg_sql shop "VACUUM ANALYZE orders" >/dev/null

DATA=$BENCH_TMP/data
mkdir -p "$DATA"
bench_start_server "$DATA"
DSN="postgres://etl:$PW@127.0.0.1:$PG_PORT/shop"
CSV=$BENCH_TMP/orders.csv

ours=(); theirs=(); read_ms=()
for i in $(seq 1 "$RUNS"); do
  body=$(curl -s -X POST "$LH_URL/ingest/db" -H 'Content-Type: application/json' \
    -d "{\"dsn\":\"$DSN\",\"table\":\"orders\",\"mode\":\"overwrite\"}")
  rows=$(echo "$body" | jq -r .rows)
  [ "$rows" = "$ROWS" ] || bench_die "ingest answered: $body"
  ours+=("$(echo "$body" | jq -r .elapsed_ms)")
  read_ms+=("$(echo "$body" | jq -r .read_ms)")
  t0=$(date +%s%N)
  PGPASSWORD=$PW psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U etl -d shop -c "\\copy orders TO '$CSV' CSV" >/dev/null
  theirs+=("$(( ($(date +%s%N) - t0) / 1000000 ))")
  bench_log "run $i: ingest ${ours[-1]} ms (read ${read_ms[-1]} ms), psql \\copy ${theirs[-1]} ms"
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
m_ours=$(median "${ours[@]}"); m_read=$(median "${read_ms[@]}"); m_theirs=$(median "${theirs[@]}")
rate() { awk -v r="$ROWS" -v ms="$1" 'BEGIN {printf "%.0f", r * 1000 / (ms > 0 ? ms : 1)}'; }
csv_mb=$(awk -v b="$(stat -c %s "$CSV")" 'BEGIN {printf "%.0f", b / 1048576}')
http_code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$LH_URL/query/sql" -H 'Content-Type: application/json' \
  -d '{"sql":"SELECT count(*) FROM orders"}')
[ "$http_code" = 200 ] || bench_die "the dataset does not answer SQL"
label=$(bench_label "$ROWS")

cat <<EOF
## PostgreSQL ingest ($label rows)

$MACHINE

A $label-row \`orders\` table (bigint key, ints, md5 text, numeric(12,2), boolean, timestamptz, text)
in a local PostgreSQL 15. **lakehouse** is \`POST /ingest/db\` end to end: keyset pages of 50K rows over
libpq, spooled and converted by DuckDB into one Parquet file and one Delta commit with the types kept
(DECIMAL, TIMESTAMP WITH TIME ZONE, ...). **psql \\copy** writes the same table to a ${csv_mb} MB CSV file
and nothing else. Median of $RUNS alternating runs.

| path | median ms | rows/s |
| --- | ---: | ---: |
| lakehouse \`POST /ingest/db\` (total) | $m_ours | $(rate "$m_ours") |
| — of which reading PostgreSQL | $m_read | $(rate "$m_read") |
| psql \`\\copy\` to CSV | $m_theirs | $(rate "$m_theirs") |

Ratio lakehouse / psql \\copy: $(awk -v a="$m_ours" -v b="$m_theirs" 'BEGIN {printf "%.2f", a / (b > 0 ? b : 1)}')× the time
(target: ≥ 300K rows/s; the seed moved 586 rows in 196 ms, about 3K rows/s).
EOF
