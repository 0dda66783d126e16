#!/usr/bin/env bash
# crash_appends.sh — kill -9 the server in the middle of appends, 50 times.
# After every restart: the table reads at its last committed version (row
# count a whole number of appends, never fewer than were acknowledged),
# manifests parse, the Delta log has no gap, and no temp file survives.
source "$(dirname "$0")/../lib.sh"
LH_BIN=${LH_CRASH_BIN:-$ROOT/build/lakehouse}   # the plain build: 50 restarts
ROUNDS=${CRASH_ROUNDS:-50}
DATA=$LH_TMP/data
CSV=$LH_TMP/batch.csv
{ echo "id,label"; for i in $(seq 1 10); do echo "$i,row $i"; done; } >"$CSV"

lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
http PUT /storage/objects/in/batch.csv --data-binary @"$CSV"
http_json POST /catalog/datasets '{"name":"events","objects":["in/batch.csv"]}'
check_eq "dataset registered" "$HTTP_STATUS" 201

acked=0; bad_count=0; lost=0; bad_manifest=0; temps_left=0; log_gaps=0; not_up=0
for round in $(seq 1 "$ROUNDS"); do
  : >"$LH_TMP/acks"
  ( while true; do
      code=$(post_status /catalog/datasets/by-name/events/append '{"objects":["in/batch.csv"]}')
      [ "$code" = 200 ] && echo 1 >>"$LH_TMP/acks"
      [ "$code" = 000 ] && break
    done ) &
  writer=$!
  sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
  kill -9 "$LH_PID"; wait "$LH_PID" 2>/dev/null
  wait "$writer" 2>/dev/null
  acked=$((acked + $(wc -l <"$LH_TMP/acks")))
  lh_start "$DATA" || { not_up=$((not_up + 1)); continue; }
  n=$(curl -s -H 'Content-Type: application/json' -d '{"sql":"SELECT count(*) FROM events"}' "$LH_URL/query/sql" | jq -r '.rows[0][0]')
  [[ "$n" =~ ^[0-9]+$ ]] && [ $((n % 10)) -eq 0 ] || { bad_count=$((bad_count + 1)); echo "# round $round: count '$n'"; continue; }
  [ $((n / 10 - 1)) -ge "$acked" ] || { lost=$((lost + 1)); echo "# round $round: $n rows but $acked appends acknowledged"; }
  VIEW=$(lh_data_view "$DATA")  # the data folder, or (primary on S3) its objects as files
  for m in "$VIEW"/_catalog/datasets/*.json; do jq -e .name "$m" >/dev/null 2>&1 || bad_manifest=$((bad_manifest + 1)); done
  [ "$(find "$VIEW" -name '.*.tmp-*' | wc -l)" -eq 0 ] || temps_left=$((temps_left + 1))
  delta_log_whole "$VIEW/tables/events" || log_gaps=$((log_gaps + 1))
  # the manifest follows the table after a crash between commit and manifest write
  rc=$(jq -r .row_count "$VIEW/_catalog/datasets/events.json")
  [ "$rc" = "$n" ] || { bad_count=$((bad_count + 1)); echo "# round $round: manifest row_count $rc, table $n"; }
done
check_eq "server came back after every kill -9 ($ROUNDS rounds)" "$not_up" 0
check "appends were acknowledged during the rounds ($acked)" test "$acked" -gt 0
check_eq "every restart reads a whole committed version, manifest in step" "$bad_count" 0
check_eq "no acknowledged append was lost" "$lost" 0
check_eq "no torn manifest" "$bad_manifest" 0
check_eq "no temp file survives a restart" "$temps_left" 0
check_eq "Delta log has no gaps" "$log_gaps" 0
lh_stop
t_done
