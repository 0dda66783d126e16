#!/usr/bin/env bash
# crash_soak.sh — concurrent appenders, journal writers and a tombstone
# writer against a server that is kill -9'd and restarted 10 times (issue 9:
# "the same soak with 10 kill -9 / restarts"). After every restart the table
# reads at a committed version (whole batches, no log gap, manifest in
# step); at the end every acknowledged append is present exactly once and
# every acknowledged journal event and tombstone is present. Bounded: about
# 60-90 s.
source "$(dirname "$0")/../lib.sh"
LH_BIN=${LH_CRASH_BIN:-$LH_BIN}
ROUNDS=${CRASH_ROUNDS:-10}
APPENDERS=${CRASH_APPENDERS:-6}
JOURNALERS=${CRASH_JOURNALERS:-4}
ROWS=4
DATA=$LH_TMP/data
mkdir -p "$LH_TMP/acks"

batch() { echo "writer,round,seq,n"; for n in $(seq 1 $ROWS); do echo "$1,$2,$3,$n"; done; }

lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
batch 0 0 0 >"$LH_TMP/b0.csv"
http PUT /storage/objects/in/b0.csv --data-binary @"$LH_TMP/b0.csv"
http_json POST /catalog/datasets '{"name":"soak","objects":["in/b0.csv"]}'
check_eq "dataset registered" "$HTTP_STATUS" 201
{ echo "id"; seq 1 20000; } >"$LH_TMP/victims.csv"
http PUT /storage/objects/in/victims.csv --data-binary @"$LH_TMP/victims.csv"
http_json POST /catalog/datasets '{"name":"victims","objects":["in/victims.csv"]}'
check_eq "tombstone target registered" "$HTTP_STATUS" 201

# appender W R: uploads and appends its own batches until the server dies;
# a batch is acknowledged by a 200 on the append
appender() {
  local w=$1 r=$2 s=0 code f="$LH_TMP/w$w.r$r.csv"
  while true; do
    s=$((s + 1))
    batch "$w" "$r" "$s" >"$f"
    code=$(curl -s -o /dev/null -w '%{http_code}' -T "$f" "$LH_URL/storage/objects/in/w$w-r$r-s$s.csv")
    [ "$code" = 000 ] && break
    [ "$code" = 200 ] || [ "$code" = 201 ] || continue
    code=$(post_status /catalog/datasets/by-name/soak/append "{\"objects\":[\"in/w$w-r$r-s$s.csv\"]}")
    [ "$code" = 200 ] && echo "$w,$r,$s" >>"$LH_TMP/acks/append.$w.$r"
    [ "$code" = 000 ] && break
  done
}
# journaler W R: posts events with unique entity ids until the server dies
journaler() {
  local w=$1 r=$2 s=0 code
  while true; do
    s=$((s + 1))
    code=$(post_status /journal/event "{\"entity\":\"soak\",\"entity_id\":\"j$w-r$r-$s\",\"field\":\"n\",\"new_value\":$s}")
    [ "$code" = 200 ] || [ "$code" = 201 ] && echo "j$w-r$r-$s" >>"$LH_TMP/acks/journal.$w.$r"
    [ "$code" = 000 ] && break
  done
}
# tombstoner R: soft-deletes its own ids of "victims" (round R: R*1000+s) until the server dies
tombstoner() {
  local r=$1 s=0 code
  while [ $s -lt 999 ]; do
    s=$((s + 1))
    code=$(post_status /catalog/datasets/by-name/victims/tombstone \
      "{\"row_key_column\":\"id\",\"row_key_values\":[$((r * 1000 + s))]}")
    [ "$code" = 200 ] || [ "$code" = 201 ] && echo "$((r * 1000 + s))" >>"$LH_TMP/acks/tomb.$r"
    [ "$code" = 000 ] && break
  done
}
q() { curl -s -H 'Content-Type: application/json' -d "{\"sql\":\"$1\",\"limit\":100000}" "$LH_URL/query/sql"; }

not_up=0; torn=0; gaps=0; behind=0; t0=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
  pids=()
  for w in $(seq 1 "$APPENDERS"); do appender "$w" "$round" & pids+=($!); done
  for w in $(seq 1 "$JOURNALERS"); do journaler "$w" "$round" & pids+=($!); done
  tombstoner "$round" & pids+=($!)
  sleep "$((2 + RANDOM % 3)).$((RANDOM % 10))"
  kill -9 "$LH_PID"; wait "$LH_PID" 2>/dev/null
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  lh_start "$DATA" || { not_up=$((not_up + 1)); echo "# round $round: no restart"; break; }
  # a committed version: whole batches only, the log without gaps, the manifest in step
  n=$(q "SELECT count(*) FROM soak" | jq -r '.rows[0][0]')
  part=$(q "SELECT count(*) FROM (SELECT writer, round, seq FROM soak GROUP BY ALL HAVING count(*) <> $ROWS)" | jq -r '.rows[0][0]')
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$part" = 0 ] || { torn=$((torn + 1)); echo "# round $round: count '$n', partial batches '$part'"; }
  delta_log_whole "$DATA/tables/soak" || { gaps=$((gaps + 1)); echo "# round $round: log gap"; }
  rc=$(jq -r .row_count "$DATA/_catalog/datasets/soak.json" 2>/dev/null)
  [ "$rc" = "$n" ] || { behind=$((behind + 1)); echo "# round $round: manifest row_count $rc, table $n"; }
done
echo "# $ROUNDS rounds in $(( $(date +%s) - t0 )) s"

check_eq "the server came back after every kill -9 ($ROUNDS rounds)" "$not_up" 0
check_eq "every restart reads whole committed batches" "$torn" 0
check_eq "the Delta log never has a gap" "$gaps" 0
check_eq "the manifest follows the table after every restart" "$behind" 0

cat "$LH_TMP"/acks/append.* 2>/dev/null | sort >"$LH_TMP/acked"
q "SELECT writer || ',' || round || ',' || seq FROM soak WHERE writer > 0 GROUP BY 1" | jq -r '.rows[][0]' | sort >"$LH_TMP/present"
check "appends were acknowledged ($(wc -l <"$LH_TMP/acked"))" test -s "$LH_TMP/acked"
check_eq "every acknowledged append is present" "$(comm -23 "$LH_TMP/acked" "$LH_TMP/present" | wc -l)" 0
check_eq "... exactly once" "$(q "SELECT count(*) FROM (SELECT writer, round, seq FROM soak GROUP BY ALL HAVING count(*) <> $ROWS)" | jq -r '.rows[0][0]')" 0

cat "$LH_TMP"/acks/journal.* 2>/dev/null | sort >"$LH_TMP/jacked"
curl -s "$LH_URL/journal/recent?limit=10000&entity=soak" | jq -r '.events[].entity_id' | sort >"$LH_TMP/jall"
check "journal events were acknowledged ($(wc -l <"$LH_TMP/jacked"))" test -s "$LH_TMP/jacked"
check_eq "every acknowledged journal event survived the kills" "$(comm -23 "$LH_TMP/jacked" "$LH_TMP/jall" | wc -l)" 0
check_eq "no journal event is doubled by a replay" "$(uniq -d "$LH_TMP/jall" | wc -l)" 0
cat "$LH_TMP"/acks/tomb.* 2>/dev/null | sort >"$LH_TMP/tacked"
curl -s "$LH_URL/catalog/datasets/by-name/victims/tombstone" | jq -r '.tombstones[].row_key_value' | sort -u >"$LH_TMP/tall"
check "tombstones were acknowledged ($(wc -l <"$LH_TMP/tacked"))" test -s "$LH_TMP/tacked"
check_eq "every acknowledged tombstone survived the kills" "$(comm -23 "$LH_TMP/tacked" "$LH_TMP/tall" | wc -l)" 0
check_eq "... and hides its row" "$(q "SELECT count(*) FROM victims" | jq -r '.rows[0][0]')" $((20000 - $(wc -l <"$LH_TMP/tall")))
lh_stop
t_done
