#!/usr/bin/env bash
# s3_writers.sh — writers on an S3 primary with auth on (issue 11): s3rver
# from npm behind the conditional-write shim (lib.sh lh_s3_start). A
# write-role key (not admin) registers a Spark table in place on S3 and a
# read key is refused; two clients registering one name at once get one 201
# and one clear 409; two clients appending to one dataset at once lose no
# commit (every acknowledged batch is there once, the Delta log has every
# version, refusals are 409s). A long-lived table gets its checkpoint and
# _last_checkpoint on S3 as on disk (every 10th version), and after a
# restart with an empty cache its snapshot is read from the checkpoint, not
# from the commits before it (the shim's list of forwarded requests).
# lh-timeout: 240
source "$(dirname "$0")/../lib.sh"
LH_BIN=$(readlink -f "$LH_BIN")
cd "$LH_TMP" || exit 1
DATA=$ROOT/tests/data

if ! lh_s3_start; then
  t_fail "s3rver and the shim start" "run ./scripts/deps.sh (npm ci installs s3rver)"; t_done; exit
fi
S3ENV=()
mapfile -t S3ENV < <(lh_s3_env)
KEYS="k-admin:admin,k-write:write,k-read:read"
start_lh() { lh_start s3://lake/wr "${S3ENV[@]}" LAKEHOUSE_AUTH_ENABLED=true LAKEHOUSE_API_KEYS="$KEYS"; }
check "server starts on s3://lake/wr with auth on" start_lh

s3c() { curl -s -o "$LH_TMP/s3body" -w '%{http_code}' -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
          --aws-sigv4 'aws:amz:us-east-1:s3' --user S3RVER:S3RVER "$@"; }
bad=0
while IFS= read -r -d '' f; do
  [ "$(s3c -X PUT -T "$f" "$S3_URL/lake/wr/spark/snap/${f#"$DATA/delta/snapshot-data3/"}")" = 200 ] || bad=1
done < <(find "$DATA/delta/snapshot-data3" -type f -print0)
check_eq "snapshot-data3 (Spark) uploaded to s3://lake/wr/spark/snap" "$bad" 0
# as KEY: post PATH JSON — prints "STATUS BODY"
post() { curl -s -w '\n%{http_code}' -H "X-API-Key: $1" -H 'Content-Type: application/json' --data-binary "$3" "$LH_URL$2" |
         { body=$(cat); echo "${body##*$'\n'} ${body%$'\n'*}"; }; }
sqlas() { post "$1" /query/sql "$(jq -cn --arg s "$2" '{sql:$s}')"; }
REG='{"name":"snap","format":"delta","location":"spark/snap"}'

# --- a write key registers in place; a read key may not
r=$(post k-read /catalog/datasets "$REG")
check_eq "a read key cannot register (403)" "${r%% *}" 403
r=$(post k-write /catalog/datasets "$REG")
check_eq "a write key (not admin) registers snapshot-data3 in place on S3: 30 rows, version 3" \
  "${r%% *} $(jq -r '"\(.row_count) \(.version) \(.location)"' <<<"${r#* }")" "201 30 3 spark/snap"
r=$(sqlas k-read "SELECT count(*) FROM snap")
check_eq "a read key reads it" "$r" '200 {"columns":[{"name":"count_star()","type":"BIGINT"}],"rows":[[30]],"row_count":1,"truncated":false,"elapsed_ms":'"$(jq .elapsed_ms <<<"${r#* }")"'}'

# --- two clients register one name at once: one wins, the other is a clear 409
pids=()  # waited by pid: a bare wait would wait for the servers too
for i in 1 2; do (post k-write /catalog/datasets '{"name":"twice","format":"delta","location":"spark/snap"}' >"$LH_TMP/reg.$i") & pids+=($!); done
wait "${pids[@]}"
codes=$(cut -d' ' -f1 "$LH_TMP/reg.1" "$LH_TMP/reg.2" | sort | tr '\n' ' ')
check_eq "two concurrent registrations of one name: one 201, one 409" "$codes" "201 409 "
check "the 409 says the name is taken" grep -qi "exist" <(grep -h '^409' "$LH_TMP/reg.1" "$LH_TMP/reg.2")

# --- two clients append to one dataset at once
batch() { echo "client,seq,n"; for n in 1 2 3; do echo "$1,$2,$n"; done; }
batch 0 0 >"$LH_TMP/b.csv"
curl -s -o /dev/null -H 'X-API-Key: k-write' -T "$LH_TMP/b.csv" "$LH_URL/storage/objects/in/c0-0.csv"
r=$(post k-write /catalog/datasets '{"name":"ev","objects":["in/c0-0.csv"]}')
check_eq "dataset ev registered from a CSV by the write key" "${r%% *}" 201
PER=6
for c in 1 2; do for s in $(seq 1 $PER); do
  batch "$c" "$s" >"$LH_TMP/b.csv"
  curl -s -o /dev/null -H 'X-API-Key: k-write' -T "$LH_TMP/b.csv" "$LH_URL/storage/objects/in/c$c-$s.csv"
done; done
appender() {
  local c=$1 s r
  for s in $(seq 1 $PER); do
    r=$(post k-write /catalog/datasets/by-name/ev/append "{\"objects\":[\"in/c$c-$s.csv\"]}")
    case "${r%% *}" in 200) echo "$c,$s" >>"$LH_TMP/acked" ;; *) echo "$r" | head -c 300 >>"$LH_TMP/refused"; echo >>"$LH_TMP/refused" ;; esac
  done
}
: >"$LH_TMP/acked"; : >"$LH_TMP/refused"
appender 1 & pids=($!); appender 2 & pids+=($!); wait "${pids[@]}"
acked=$(grep -c . "$LH_TMP/acked")
others=$(grep -v '^409 ' "$LH_TMP/refused" | grep -c .)
check_eq "concurrent appends: every answer is 200 or a 409 ($acked acknowledged)" "$others" 0
r=$(sqlas k-read "SELECT string_agg(DISTINCT client || ',' || seq, ' ' ORDER BY client || ',' || seq), count(*) FROM ev WHERE client > 0")
check_eq "every acknowledged batch is there exactly once (3 rows each), nothing else" \
  "$(jq -r '.rows[0] | "\(.[0] // "") \(.[1])"' <<<"${r#* }")" \
  "$(sort "$LH_TMP/acked" | tr '\n' ' ' | sed 's/ $//') $((acked * 3))"
log=$(cd "$LH_TMP/s3/lake/wr" 2>/dev/null && find . -path '*tables/ev/_delta_log/*.json._S3rver_object' | sed 's|.*/||; s|\.json\._S3rver_object||' | sort)
check_eq "the Delta log of ev holds every version 0..$acked, none twice or missing" \
  "$(grep -c . <<<"$log") $(sed 's/^0*//; s/^$/0/' <<<"$log" | tail -1)" "$((acked + 1)) $acked"

# --- checkpoints on S3: a long-lived table gets one every 10 versions
v=$acked
for s in $(seq $((v + 1)) 11); do
  batch 9 "$s" >"$LH_TMP/b.csv"
  curl -s -o /dev/null -H 'X-API-Key: k-write' -T "$LH_TMP/b.csv" "$LH_URL/storage/objects/in/c9-$s.csv"
  r=$(post k-write /catalog/datasets/by-name/ev/append "{\"objects\":[\"in/c9-$s.csv\"]}")
  [ "${r%% *}" = 200 ] || t_fail "append $s" "$r"
done
check_eq "ev reached version 11" "$(s3c "$S3_URL/lake/wr/tables/ev/_delta_log/00000000000000000011.json")" 200
check_eq "version 10 has its checkpoint on S3 (00000000000000000010.checkpoint.parquet)" \
  "$(s3c -I "$S3_URL/lake/wr/tables/ev/_delta_log/00000000000000000010.checkpoint.parquet")" 200
check_eq "_last_checkpoint names version 10" \
  "$(s3c "$S3_URL/lake/wr/tables/ev/_delta_log/_last_checkpoint") $(jq -c .version "$LH_TMP/s3body")" "200 10"
rows_before=$(sqlas k-read "SELECT count(*) FROM ev" | cut -d' ' -f2- | jq -c '.rows[0][0]')
lh_stop
rm -rf "$LH_TMP/s3cache"
curl -s -X POST "$S3_URL/_shim/reset" >/dev/null
check "restart with an empty cache" start_lh
r=$(sqlas k-read "SELECT count(*) FROM ev")
check_eq "ev reads the same rows after the restart" "$(jq -c '.rows[0][0]' <<<"${r#* }")" "$rows_before"
recent=$(curl -s "$S3_URL/_shim/stats" | jq -r '.recent[]' | grep ' /lake/wr/tables/ev/_delta_log/')
check "the snapshot was read from the checkpoint" grep -q 'GET /lake/wr/tables/ev/_delta_log/00000000000000000010.checkpoint.parquet' <<<"$recent"
check_eq "and not from the commits it covers (no GET of versions 0..10)" \
  "$(grep -cE 'GET /lake/wr/tables/ev/_delta_log/0000000000000000000[0-9]\.json|00000000000000000010\.json' <<<"$recent")" 0
t_done
