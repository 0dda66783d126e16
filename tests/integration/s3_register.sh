#!/usr/bin/env bash
# s3_register.sh — datasets in any bucket (ADR 0237), on s3rver from npm
# behind the conditional-write shim (lib.sh lh_s3_start; free loopback ports,
# stopped at the end). The primary is s3://lake/wh; [[storage.buckets]] adds
# "spark" (another S3 bucket behind the shim), "near" (a local folder) and
# "plain" (s3rver itself, which ignores If-None-Match). Spark-written Delta
# tables from tests/data are uploaded straight to S3 (curl, SigV4) and
# registered in place: read where they are with their documented rows, with
# nothing written into them; SQL joins datasets of three buckets; an INSERT
# into a registered table commits the next version in its own bucket;
# X-Lakehouse-Bucket on POST /ingest/file puts a new dataset in an S3 bucket;
# a store that ignores If-None-Match is refused for datasets; a restart with
# an empty cache reads everything back from the buckets.
# lh-timeout: 300
source "$(dirname "$0")/../lib.sh"
LH_BIN=$(readlink -f "$LH_BIN")
cd "$LH_TMP" || exit 1
DATA=$ROOT/tests/data

LH_S3_MORE_BUCKETS=spark
if ! lh_s3_start; then
  t_fail "s3rver and the shim start" "run ./scripts/deps.sh (npm ci installs s3rver)"; t_done; exit
fi
t_ok "s3rver (buckets lake, spark) and the conditional-write shim start"

s3c() { curl -s -o "$LH_TMP/s3body" -w '%{http_code}' -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
          --aws-sigv4 'aws:amz:us-east-1:s3' --user S3RVER:S3RVER "$@"; }
# upload DIR URL_PREFIX — every file of a fixture table, as another engine would
upload() {
  local f k bad=0
  while IFS= read -r -d '' f; do
    k=${f#"$1"/}
    [ "$(s3c -X PUT -T "$f" "$2/$k")" = 200 ] || bad=1
  done < <(find "$1" -type f -print0)
  return $bad
}
# listing BUCKET PREFIX — the object keys s3rver holds under it (its own store)
listing() { (cd "$LH_TMP/s3/$1" 2>/dev/null && find "$2" -type f -name '*._S3rver_object' 2>/dev/null | sort); }

check "snapshot-data3 (Spark) uploaded to s3://lake/wh/spark/snapshot-data3" \
  upload "$DATA/delta/snapshot-data3" "$S3_URL/lake/wh/spark/snapshot-data3"
check "table-with-dv-small (deletion vectors) uploaded to s3://spark/dv" \
  upload "$DATA/delta-features/table-with-dv-small" "$S3_URL/spark/dv"
check "table_with_column_mapping uploaded to s3://spark/cm" \
  upload "$DATA/delta-features/table_with_column_mapping" "$S3_URL/spark/cm"
mkdir -p "$LH_TMP/near"
cp -r "$DATA/delta/basic-with-inserts-deletes-checkpoint" "$LH_TMP/near/basic"
BEFORE_LAKE=$(listing lake wh/spark)
BEFORE_SPARK=$(listing spark dv; listing spark cm)
check_eq "s3rver holds every uploaded object (12 of snapshot-data3; 4 + 4 of dv, cm)" \
  "$(grep -c . <<<"$BEFORE_LAKE") $(grep -c . <<<"$BEFORE_SPARK")" "12 8"

lh_s3_secrets "$LH_TMP/secrets.toml"
{ printf '[storage]\nsecrets_file = "%s"\n\n' "$LH_TMP/secrets.toml"
  lh_s3_bucket_toml spark "$S3_URL" spark
  printf '[[storage.buckets]]\nname = "near"\nbackend = "local"\nroot = "%s"\n\n' "$LH_TMP/near"
  lh_s3_bucket_toml plain "$S3_RAW_URL" spark; } >"$LH_TMP/lakehouse.toml"
S3ENV=()
mapfile -t S3ENV < <(lh_s3_env)
LH_CONFIG=$LH_TMP/lakehouse.toml
start_lh() { lh_start "${PRIMARY:-s3://lake/wh}" "${S3ENV[@]}"; }
check "server starts: primary s3://lake/wh, buckets spark (S3), near (local), plain (raw s3rver)" start_lh

register() { # NAME LOCATION BUCKET
  http_json POST /catalog/datasets "$(jq -cn --arg n "$1" --arg l "$2" --arg b "$3" \
    '{name:$n, format:"delta", location:$l} + (if $b == "" then {} else {bucket:$b} end)')"
}
sql() { http_json POST /query/sql "$(jq -cn --arg s "$1" '{sql:$s}')"; }

# --- register in place on the S3 primary
register snap spark/snapshot-data3 ""
check_eq "snapshot-data3 registers in place on the S3 primary: 30 rows, version 3, bucket primary" \
  "$HTTP_STATUS $(jget .row_count) $(jget .version) $(jget .bucket) $(jget .location)" "201 30 3 primary spark/snapshot-data3"
sql "SELECT count(*), count(*) FILTER (WHERE col2 LIKE 'data-2-%'), count(*) FILTER (WHERE col2 LIKE 'data-3-%'), max(col1) FROM snap"
check_eq "its documented rows through /query/sql: 10 data-2, 20 data-3, col1 up to 19" \
  "$HTTP_STATUS $(jget '.rows[0] | map(tostring) | join(",")')" "200 30,10,20,19"
sql "SELECT col2 FROM snap WHERE col1 = 7 ORDER BY col2"
check_eq "a point read: data-2-7, data-3-7" "$(jget '[.rows[][0]] | join(",")')" "data-2-7,data-3-7"

# --- register in place in another S3 bucket
register dv dv spark
check_eq "the deletion-vector table registers in place in bucket spark: 8 rows" \
  "$HTTP_STATUS $(jget .row_count) $(jget .bucket)" "201 8 spark"
sql "SELECT string_agg(value::VARCHAR, ',' ORDER BY value) FROM dv"
check_eq "the deletion vector read from S3 removes 0 and 9" "$(jget '.rows[0][0]')" "1,2,3,4,5,6,7,8"
register cm cm spark
check_eq "the column-mapped table registers in place in bucket spark: 5 rows" \
  "$HTTP_STATUS $(jget .row_count) $(jget '[.columns[].name] | join(",")')" "201 5 Company Very Short,Super Name"
sql 'SELECT "Super Name" FROM cm WHERE "Company Very Short" = '"'BME'"
check_eq "logical names, partition values by physical name" "$(jget '[.rows[][0]] | join(",")')" "Timothy Lamb"

# --- and in a local bucket
register basic basic near
check_eq "a Spark table in local bucket near registers in place: 41 rows" \
  "$HTTP_STATUS $(jget .row_count) $(jget .bucket)" "201 41 near"

check_eq "register wrote nothing into the tables on S3 (no copy, no commit)" \
  "$(listing lake wh/spark) | $(listing spark dv; listing spark cm)" "$BEFORE_LAKE | $BEFORE_SPARK"
http GET /storage/buckets/spark/objects?prefix=_catalog
check_eq "the manifests stay in the primary (none in bucket spark)" "$(jget '.objects | length')" 0

# --- refusals
register p dv plain
check_eq "a store that ignores If-None-Match is refused for datasets" \
  "$(test "$HTTP_STATUS" -ge 400 && echo refused) $(grep -c 'does not honour conditional writes' <<<"$HTTP_BODY")" "refused 1"
check "the refusal names the bucket" grep -q "bucket 'plain'" <<<"$HTTP_BODY"
register q dv nosuch
check_eq "an unknown bucket is 404" "$HTTP_STATUS" 404
http_json POST /catalog/datasets '{"name":"q","format":"delta","location":"dv","bucket":"spark"}' -H "X-Lakehouse-Bucket: near"
check_eq "a header and a body naming different buckets is 400" "$HTTP_STATUS" 400
register r nothere spark
check_eq "no Delta table at the location: 404 naming the bucket" \
  "$HTTP_STATUS $(grep -c "bucket 'spark'" <<<"$HTTP_BODY")" "404 1"
http GET /catalog/datasets
check_eq "refused registrations left no dataset" "$(jget '[.datasets[].name] | sort | join(",")')" "basic,cm,dv,snap"

# --- a new dataset in an S3 bucket through X-Lakehouse-Bucket on /ingest/file
printf 'value,label\n1,one\n2,two\n8,eight\n' >"$LH_TMP/labels.csv"
http POST /ingest/file -F "file=@$LH_TMP/labels.csv" -F dataset=labels -H "X-Lakehouse-Bucket: spark" -D "$LH_TMP/hdr"
check_eq "POST /ingest/file with X-Lakehouse-Bucket: spark makes the dataset there" \
  "$HTTP_STATUS $(jget .rows) $(grep -i '^x-lakehouse-bucket:' "$LH_TMP/hdr" | tr -d '\r' | cut -d' ' -f2)" "201 3 spark"
http GET /catalog/datasets/by-name/labels
check_eq "its manifest names bucket spark, location tables/labels" "$(jget .bucket) $(jget .location)" "spark tables/labels"
check "its Delta commit is in s3://spark/tables/labels/_delta_log" \
  test -n "$(listing spark tables/labels/_delta_log | grep '00000000000000000000.json')"
http POST /ingest/file -F "file=@$LH_TMP/labels.csv" -F dataset=snap -H "X-Lakehouse-Bucket: spark"
check_eq "appending to a dataset of another bucket through the header is 409 naming both" \
  "$HTTP_STATUS $(grep -c "lives in bucket 'primary', not 'spark'" <<<"$HTTP_BODY")" "409 1"
http_json POST /ingest/db '{}' -H "X-Lakehouse-Bucket: spark"
check_eq "routes that cannot pick a bucket refuse the header (422)" "$HTTP_STATUS" 422

# --- cross-bucket joins: S3 primary x S3 bucket x local bucket
sql "SELECT d.value, l.label FROM dv d JOIN labels l ON l.value = d.value ORDER BY d.value"
check_eq "join: dv (bucket spark) with labels (bucket spark, ingested)" "$(jget '[.rows[] | map(tostring) | join(":")] | join(",")')" "1:one,2:two,8:eight"
sql "SELECT count(*) FROM snap s JOIN dv d ON s.col1 = d.value JOIN basic b ON b.id = s.col1"
check_eq "join: snap (S3 primary) x dv (S3 bucket spark) x basic (local bucket near)" "$HTTP_STATUS $(jget '.rows[0][0]')" "200 8"
sql "SELECT string_agg(DISTINCT s.col1::VARCHAR, ',' ORDER BY s.col1::VARCHAR) FROM snap s JOIN basic b ON b.id = s.col1 WHERE s.col1 < 12"
check_eq "join: S3 primary x local bucket (ids 5..9 deleted in basic)" "$(jget '.rows[0][0]')" "0,1,10,11,2,3,4"

# --- our writes to a registered table commit in its bucket with put-if-absent
sql "INSERT INTO dv VALUES (42)"
check_eq "INSERT into the registered DV table (bucket spark)" "$HTTP_STATUS" 200
check "it committed version 2 in s3://spark/dv/_delta_log" \
  test -n "$(listing spark dv/_delta_log | grep '00000000000000000002.json')"
sql "SELECT count(*), sum(value) FROM dv"
check_eq "the table reads 9 rows, the DV still applied" "$(jget '.rows[0] | map(tostring) | join(",")')" "9,78"
printf '%s\n' '{"commitInfo":{"timestamp":1733300000000,"operation":"WRITE","engineInfo":"another-writer"}}' \
  >"$LH_TMP/v3.json"
check_eq "another writer commits version 3 of dv straight to S3 (If-None-Match: *)" \
  "$(s3c -X PUT -H 'If-None-Match: *' -T "$LH_TMP/v3.json" "$S3_URL/spark/dv/_delta_log/00000000000000000003.json")" 200
sql "INSERT INTO dv VALUES (43)"
check_eq "our next INSERT lands as version 4; the other writer's version 3 is intact" \
  "$HTTP_STATUS $(listing spark dv/_delta_log | grep -c '00000000000000000004.json') $(s3c "$S3_URL/spark/dv/_delta_log/00000000000000000003.json") $(grep -c another-writer "$LH_TMP/s3body")" \
  "200 1 200 1"
sql "INSERT INTO snap VALUES (100, 'ours-100')"
check "INSERT into the table on the S3 primary commits version 4 there" \
  test -n "$(listing lake wh/spark/snapshot-data3/_delta_log | grep '00000000000000000004.json')"

# --- a restart with an empty cache reads every bucket back
lh_stop
rm -rf "$LH_TMP/s3cache"
check "server restarts with an empty cache" start_lh
sql "SELECT (SELECT count(*) FROM snap), (SELECT count(*) FROM dv), (SELECT count(*) FROM cm), (SELECT count(*) FROM basic), (SELECT count(*) FROM labels)"
check_eq "after the restart: snap 31, dv 10, cm 5, basic 41, labels 3" "$(jget '.rows[0] | map(tostring) | join(",")')" "31,10,5,41,3"

# --- delete keeps a registered table, removes one we made
http DELETE /catalog/datasets/by-name/dv
http DELETE /catalog/datasets/by-name/labels
check_eq "deleting the registered dv keeps its objects in bucket spark" \
  "$(listing spark dv | grep -c '00000000000000000000.json')" 1
check_eq "deleting labels removes its table from bucket spark" "$(listing spark tables/labels | wc -l)" 0

# --- a local primary with datasets in an S3 bucket (DuckDB reads the S3 caches' root)
lh_stop
PRIMARY=$LH_TMP/localdata
check "a server with a local primary and the same buckets starts" start_lh
register cm2 cm spark
check_eq "local primary: the column-mapped table registers in place in S3 bucket spark" \
  "$HTTP_STATUS $(jget .row_count) $(jget .bucket)" "201 5 spark"
register basic2 basic near
sql 'SELECT count(*) FROM cm2 c JOIN basic2 b ON b.id < 3 WHERE c."Company Very Short" = '"'BMS'"
check_eq "local primary: a join of an S3 bucket's dataset and a local bucket's" "$HTTP_STATUS $(jget '.rows[0][0]')" "200 12"
http_json POST /storage/buckets "$(jq -cn --arg e "$S3_URL" '{name:"late", backend:"s3", endpoint:$e, bucket:"spark", secret_ref:"s3rver"}')"
check_eq "an S3 bucket added at run time" "$HTTP_STATUS" 201
register cm3 cm late
sql 'SELECT count(*) FROM cm3'
check_eq "a dataset registered in place in it reads (its cache lies below the allowed cache root)" \
  "$HTTP_STATUS $(jget '.rows[0][0]')" "200 5"
rm -rf "$LH_TMP/s3cache"
sql 'SELECT count(*) FROM cm2'
check_eq "local primary: evicted copies of the S3 dataset come back before the statement" "$HTTP_STATUS $(jget '.rows[0][0]')" "200 5"

t_done
