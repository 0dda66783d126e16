#!/usr/bin/env bash
# concurrent_writers.sh — many writers on one dataset at once (issue 9.4).
# 16 clients append their own batches to one dataset through
# /catalog/datasets/by-name/{name}/append while compactions run, and 8
# clients ingest distinct files into another through /ingest/file: every
# acknowledged append is there exactly once, the manifest's row_count is
# the table's, and a compaction never loses a row. A second server on the
# same data folder refuses to start naming the first one's pid; after a
# kill -9 of the first, a restart is not blocked by a stale lock.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
CLIENTS=${WRITERS_CLIENTS:-16}
PER=${WRITERS_APPENDS:-4}
ROWS=5

lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
FIRST_PID=$LH_PID

# --- a second server on the same folder refuses, naming the holder
out=$(env LAKEHOUSE_PORT=$(free_port) LAKEHOUSE_DATA="$DATA" LAKEHOUSE_GRPC_PORT=0 timeout 60 "$LH_BIN" serve 2>&1)
rc=$?
check "a second server on the same data folder exits non-zero" test "$rc" -ne 0 -a "$rc" -ne 124
check "its message says the folder is in use, by which pid" \
  grep -q "in use by another lakehouse process (pid $FIRST_PID)" <<<"$out"
check "the first server still answers" curl -fs "$LH_URL/health"

# --- batches: one CSV object per (client, seq), ROWS rows each
batch() { echo "client,seq,n"; for n in $(seq 1 $ROWS); do echo "$1,$2,$n"; done; }
batch 0 0 >"$LH_TMP/b.csv"
http PUT /storage/objects/in/c0-0.csv --data-binary @"$LH_TMP/b.csv"
http_json POST /catalog/datasets '{"name":"events","objects":["in/c0-0.csv"]}'
check_eq "dataset registered" "$HTTP_STATUS" 201
for c in $(seq 1 "$CLIENTS"); do
  for s in $(seq 1 "$PER"); do
    batch "$c" "$s" >"$LH_TMP/b.csv"
    curl -s -o /dev/null -T "$LH_TMP/b.csv" "$LH_URL/storage/objects/in/c$c-$s.csv"
  done
done

appender() { # client: appends its PER batches, one line per acknowledged one
  local c=$1 s code
  for s in $(seq 1 "$PER"); do
    code=$(curl -s -o "$LH_TMP/r.$c.$s" -w '%{http_code}' -H 'Content-Type: application/json' \
      --data-binary "{\"objects\":[\"in/c$c-$s.csv\"]}" "$LH_URL/catalog/datasets/by-name/events/append")
    [ "$code" = 200 ] && echo "$c,$s" >>"$LH_TMP/acked.$c"
    [ "$code" = 200 ] || echo "$code $(head -c 300 "$LH_TMP/r.$c.$s")" >>"$LH_TMP/refused"
  done
}
ingester() { # client: ingests one file of its own into "ingested"; a 503 is retried
  local c=$1 code try  # after a pause, as a client honouring Retry-After would (bounded)
  batch "$c" 99 >"$LH_TMP/ing.$c.csv"
  for try in $(seq 1 40); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -F file=@"$LH_TMP/ing.$c.csv" -F dataset=ingested "$LH_URL/ingest/file")
    [ "$code" = 503 ] || break
    sleep 0.5
  done
  [ "$code" = 200 ] || [ "$code" = 201 ] && echo "$c" >>"$LH_TMP/ingested.$c"
}
compactor() { # compacts until told to stop; counts failures other than a 409
  while [ ! -f "$LH_TMP/stop" ]; do
    code=$(curl -s -o "$LH_TMP/compact.out" -w '%{http_code}' -H 'Content-Type: application/json' \
      -d '{"dataset":"events"}' "$LH_URL/query/compact")
    case "$code" in 200) echo 1 >>"$LH_TMP/compactions" ;; 409|503) ;; *) echo "$code" >>"$LH_TMP/compact_errors" ;; esac
    sleep 0.2
  done
}

compactor & comp=$!
pids=()
for c in $(seq 1 "$CLIENTS"); do appender "$c" & pids+=($!); done
for c in $(seq 1 8); do ingester "$c" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
touch "$LH_TMP/stop"; wait "$comp"

acked=$(cat "$LH_TMP"/acked.* 2>/dev/null | wc -l)
check "appends were acknowledged ($acked of $((CLIENTS * PER)))" test "$acked" -gt 0
[ -f "$LH_TMP/refused" ] && echo "# refused: $(sort "$LH_TMP/refused" | uniq -c | head -5)"
check "compactions ran during the appends ($(cat "$LH_TMP/compactions" 2>/dev/null | wc -l))" test -s "$LH_TMP/compactions"
check_eq "no compaction failed other than by a conflict" "$(cat "$LH_TMP/compact_errors" 2>/dev/null | wc -l)" 0

q() { curl -s -H 'Content-Type: application/json' -d "{\"sql\":\"$1\",\"limit\":100000}" "$LH_URL/query/sql"; }
check_eq "every row is in a whole batch of $ROWS" \
  "$(q "SELECT count(*) FROM (SELECT client, seq FROM events GROUP BY 1, 2 HAVING count(*) <> $ROWS)" | jq -r '.rows[0][0]')" 0
q "SELECT client || ',' || seq FROM events WHERE client > 0 GROUP BY 1" | jq -r '.rows[][0]' | sort >"$LH_TMP/present"
cat "$LH_TMP"/acked.* | sort >"$LH_TMP/acked"
check_eq "every acknowledged append is there" "$(comm -23 "$LH_TMP/acked" "$LH_TMP/present" | wc -l)" 0
check_eq "nothing else is (no unacknowledged or doubled batch)" "$(comm -13 "$LH_TMP/acked" "$LH_TMP/present" | wc -l)" 0
total=$(q "SELECT count(*) FROM events" | jq -r '.rows[0][0]')
check_eq "row count exact" "$total" $(( (acked + 1) * ROWS ))
http GET /catalog/datasets/by-name/events
check_eq "manifest row_count follows the table" "$(jget .row_count)" "$total"
ing=$(cat "$LH_TMP"/ingested.* 2>/dev/null | wc -l)
check "ingests were acknowledged ($ing of 8)" test "$ing" -gt 0
check_eq "every acknowledged /ingest/file is there exactly once ($ing files)" \
  "$(q "SELECT count(*) FROM ingested" | jq -r '.rows[0][0]')" $((ing * ROWS))

# --- kill -9 leaves no stale lock
kill -9 "$LH_PID"; wait "$LH_PID" 2>/dev/null
lh_start "$DATA" || t_fail "restart after kill -9 is not blocked by the lock"
check_eq "after the restart the count is the same" "$(q "SELECT count(*) FROM events" | jq -r '.rows[0][0]')" "$total"
grep -q "in use" "$LH_TMP/server.log" && echo "# (the refusal above is in the log)"
lh_stop
t_done
