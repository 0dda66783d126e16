#!/usr/bin/env bash
# bench_ingest_csv.sh — issue 3's figure: CSV ingest of a 1M-row, 10-column
# file end to end through POST /ingest/file (multipart upload streamed to
# disk, pre-scan, DuckDB read_csv with the sniffed dialect, Parquet + Delta
# commit, manifest with PII sampling), beside DuckDB's own
# read_csv → Parquet on the same file in one process (build/duck_exec).
# Prints one markdown section.
#
# Runs are interleaved (lakehouse, DuckDB, lakehouse, ...) so machine noise
# hits both alike; medians are reported. The lakehouse time is curl's total
# (upload included); the job's own duration (after the upload) is shown too.
#
# Knobs: BENCH_QUICK=1 (100K rows, 1 run), BENCH_ROWS, BENCH_RUNS.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DUCK=$BENCH_ROOT/build/duck_exec
if [ "$BENCH_QUICK" = 1 ]; then ROWS=${BENCH_ROWS:-100000}; RUNS=${BENCH_RUNS:-1}
else ROWS=${BENCH_ROWS:-1000000}; RUNS=${BENCH_RUNS:-7}; fi
[ -x "$DUCK" ] || bench_die "$DUCK is missing (make build)"
[ -x "$LH_BIN" ] || bench_die "$LH_BIN is missing (make build)"

MACHINE=$(bench_machine)
CSV=$BENCH_TMP/bench_people.csv
bench_log "generating $ROWS rows x 10 columns"
"$DUCK" "COPY (SELECT i AS id, 'name_' || i AS name, i % 90 AS age, round(i * 1.37 % 1000, 2) AS score,
          DATE '2020-01-01' + (i % 1500)::INTEGER AS joined, 'city_' || (i % 50) AS city, i % 2 = 0 AS active,
          (i * 7919) % 100000 AS amount, 'user' || i || '@example.com' AS email,
          TIMESTAMP '2024-01-01 00:00:00' + to_seconds(i) AS updated_at
        FROM range($ROWS) t(i)) TO '$CSV' (HEADER)" >/dev/null
SIZE_MB=$(awk -v b="$(stat -c %s "$CSV")" 'BEGIN {printf "%.0f", b / 1048576}')

DATA=$BENCH_TMP/data
mkdir -p "$DATA"
bench_start_server "$DATA"
bench_log "server on $LH_URL"

LH_TIMES=(); JOB_TIMES=(); DUCK_TIMES=()
for run in $(seq 1 "$RUNS"); do
  out=$BENCH_TMP/ingest.json
  t=$(curl -s -o "$out" -w '%{time_total}' -F "file=@$CSV" -F "dataset=bench_$run" "$LH_URL/ingest/file")
  rows=$(jq -r .rows "$out")
  [ "$rows" = "$ROWS" ] || bench_die "ingest run $run: $(head -c 300 "$out")"
  job=$(jq -r .job_id "$out")
  jt=$(curl -s "$LH_URL/jobs/$job" | jq -r '[.created_at, .finished_at] | map(capture("T(?<h>..):(?<m>..):(?<s>.*)Z") | (.h|tonumber)*3600 + (.m|tonumber)*60 + (.s|tonumber)) | .[1] - .[0]')
  LH_TIMES+=("$t"); JOB_TIMES+=("$jt")
  bench_log "run $run: lakehouse ${t}s (job ${jt}s)"
  read -r dt drows < <("$DUCK" "COPY (SELECT * FROM read_csv('$CSV')) TO '$BENCH_TMP/duck_$run.parquet' (FORMAT parquet, COMPRESSION snappy)")
  [ "$drows" = "$ROWS" ] || bench_die "duckdb run $run copied $drows rows"
  rm -f "$BENCH_TMP/duck_$run.parquet"
  DUCK_TIMES+=("$dt")
  bench_log "run $run: duckdb ${dt}s"
  curl -s -X DELETE "$LH_URL/catalog/datasets/by-name/bench_$run" >/dev/null
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
LH=$(median "${LH_TIMES[@]}"); JOB=$(median "${JOB_TIMES[@]}"); DK=$(median "${DUCK_TIMES[@]}")
r3() { awk -v x="$1" 'BEGIN {printf "%.3f", x}'; }
LH=$(r3 "$LH"); JOB=$(r3 "$JOB"); DK=$(r3 "$DK")
rate() { awk -v r="$ROWS" -v t="$1" 'BEGIN {printf "%.0f", r / t}'; }
# "vs DuckDB": per run (each lakehouse run against the DuckDB run right after it), then the median
ratios() { local -n num=$1 den=$2; local i; for i in "${!num[@]}"; do awk -v a="${num[$i]}" -v b="${den[$i]}" 'BEGIN {print a / b}'; done; }
RATIO=$(awk -v x="$(median $(ratios DUCK_TIMES LH_TIMES))" 'BEGIN {printf "%.2f", x}')
JRATIO=$(awk -v x="$(median $(ratios DUCK_TIMES JOB_TIMES))" 'BEGIN {printf "%.2f", x}')
LABEL=$(bench_label "$ROWS")

cat <<EOF
## CSV ingest: POST /ingest/file vs DuckDB read_csv → Parquet

$MACHINE

A $LABEL-row, 10-column CSV ($SIZE_MB MiB: integers, decimals, text, dates, booleans, e-mails,
timestamps) ingested $RUNS time(s), interleaved with DuckDB 1.4.4 doing
\`COPY (SELECT * FROM read_csv(file)) TO 'x.parquet' (FORMAT parquet, COMPRESSION snappy)\` on the
same file in one process (\`build/duck_exec\`, all cores). Medians; "vs DuckDB" is the median of the
per-run ratios (each lakehouse run against the DuckDB run right after it), which cancels most of
the noise of a shared machine.

| path | seconds | rows/s | vs DuckDB |
| --- | ---: | ---: | ---: |
| lakehouse, end to end (\`curl -F file=@…\`: upload + ingest + commit) | $LH | $(rate "$LH") | ${RATIO}× |
| lakehouse, the ingest job alone (after the upload) | $JOB | $(rate "$JOB") | ${JRATIO}× |
| DuckDB \`read_csv\` → Parquet | $DK | $(rate "$DK") | 1.00× |

The lakehouse path does more than DuckDB's: the upload is streamed to a staging file and hashed
(SHA-256, for dedup), the whole file is pre-scanned for broken records and invalid UTF-8 (so a bad
file is a 422 naming the line), and after DuckDB writes the Parquet file the table module reads its footer
for Delta statistics (min/max/null counts), commits the Delta log, and the catalog samples rows
for PII detection and persists the manifest. Target: ≥ 0.70× DuckDB end to end.
EOF
