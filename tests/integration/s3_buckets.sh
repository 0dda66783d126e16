#!/usr/bin/env bash
# s3_buckets.sh — the bucket registry against a real S3 server (s3rver from
# npm, on a free loopback port with a temp folder): object I/O through
# /storage/buckets/<s3 bucket>/objects (small and 1 MB+ streamed objects,
# list, delete), rescue fallback with its headers, hard fail when missing,
# unknown buckets, the error journal, bucket health (also with S3 down),
# runtime provisioning, refusal to remove primary/rescue, and the secrets
# file's 0600 rule. Also runs test_buckets' S3 cases against the server.
source "$(dirname "$0")/../lib.sh"

S3RVER=$ROOT/node_modules/.bin/s3rver
if [ ! -x "$S3RVER" ]; then
  t_fail "s3rver installed" "run ./scripts/deps.sh (npm ci installs s3rver)"; t_done; exit
fi

S3_PORT=$(free_port)
S3_URL="http://127.0.0.1:$S3_PORT"
mkdir -p "$LH_TMP/s3" "$LH_TMP/rescue" "$LH_TMP/data"
start_s3() {
  "$S3RVER" -d "$LH_TMP/s3" -a 127.0.0.1 -p "$S3_PORT" -s --configure-bucket lake >"$LH_TMP/s3.log" 2>&1 &
  S3_PID=$!
  LH_PIDS+=("$S3_PID")
  for _ in $(seq 1 100); do
    (echo >/dev/tcp/127.0.0.1/$S3_PORT) >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
check "s3rver starts" start_s3

cat >"$LH_TMP/secrets.toml" <<EOF
[s3rver]
access_key = "S3RVER"
secret_key = "S3RVER"
[s3wrong]
access_key = "NOT-S3RVER"
secret_key = "S3RVER"
EOF
chmod 600 "$LH_TMP/secrets.toml"
cat >"$LH_TMP/lakehouse.toml" <<EOF
[storage]
secrets_file = "$LH_TMP/secrets.toml"
rescue_bucket = "rescue"

[[storage.buckets]]
name = "rescue"
backend = "local"
root = "$LH_TMP/rescue"

[[storage.buckets]]
name = "s3lake"
backend = "s3"
endpoint = "$S3_URL"
bucket = "lake"
secret_ref = "s3rver"
EOF

start_lh() {
  LH_PORT=$(free_port)
  LH_URL="http://127.0.0.1:$LH_PORT"
  LAKEHOUSE_AUTH_ENABLED=false LAKEHOUSE_PORT=$LH_PORT LAKEHOUSE_DATA="$LH_TMP/data" LAKEHOUSE_STORAGE_CACHE_DIR="$LH_TMP/cache" "$LH_BIN" --config "$LH_TMP/lakehouse.toml" serve \
    >>"$LH_TMP/server.out" 2>>"$LH_TMP/server.log" &
  LH_PID=$!
  LH_PIDS+=("$LH_PID")
  for _ in $(seq 1 200); do
    curl -fs "$LH_URL/health" >/dev/null 2>&1 && return 0
    kill -0 "$LH_PID" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
check "server starts with a local rescue bucket and an S3 bucket" start_lh

http GET /storage/buckets
check_eq "GET /storage/buckets lists primary, rescue, s3lake" \
  "$(jget '[.buckets[].name] | join(",")') $(jget .rescue)" "primary,rescue,s3lake rescue"
check_eq "s3lake is an s3 bucket at s3://lake" "$(jget '.buckets[2].backend + " " + .buckets[2].location')" "s3 s3://lake"

B=/storage/buckets/s3lake/objects
# hdr NAME — a response header of the last `http` call (from curl -D)
hdr() { grep -i "^$1:" "$LH_TMP/headers" | tail -1 | cut -d' ' -f2- | tr -d '\r'; }

printf 'hello s3' >"$LH_TMP/small"
http PUT "$B/docs/hello.txt" --data-binary @"$LH_TMP/small"
check_eq "PUT small object to S3 -> 201, 8 bytes" "$HTTP_STATUS $(jget .size)" "201 8"
http GET "$B/docs/hello.txt" -D "$LH_TMP/headers"
check_eq "GET it back from S3" "$HTTP_STATUS $HTTP_BODY" "200 hello s3"
check_eq "served by s3lake, no rescue" "$(hdr X-Lakehouse-Bucket) $(hdr X-Lakehouse-Rescue-Used)" "s3lake false"
check "the object is in the S3 server's store" test -n "$(find "$LH_TMP/s3/lake" -path '*hello.txt*' | head -1)"

head -c 1500000 /dev/urandom >"$LH_TMP/big"
want=$(sha256sum "$LH_TMP/big" | cut -d' ' -f1)
http PUT "$B/blobs/big%20file.bin" --data-binary @"$LH_TMP/big"
check_eq "PUT 1.5 MB object (streamed, key with a space) -> 201, sha256" "$HTTP_STATUS $(jget .size) $(jget .sha256)" "201 1500000 $want"
curl -s -o "$LH_TMP/big.out" "$LH_URL$B/blobs/big%20file.bin"
check_eq "GET 1.5 MB object back intact" "$(sha256sum <"$LH_TMP/big.out" | cut -d' ' -f1)" "$want"

http PUT "$B/docs/second.txt" --data-binary 'two'
http GET "$B?prefix=docs/"
check_eq "LIST ?prefix=docs/ on S3" "$(jget '[.objects[].key] | join(",")') $(jget '.objects[0].size')" \
  "docs/hello.txt,docs/second.txt 8"
http GET "$B"
check_eq "LIST all on S3 (3 objects)" "$(jget '.objects | length')" "3"

http DELETE "$B/docs/second.txt"
check_eq "DELETE on S3 -> 204" "$HTTP_STATUS" "204"
http GET "$B/docs/second.txt"
check_eq "deleted object: hard fail 404 (not in rescue either)" "$HTTP_STATUS $(jget .error.code)" "404 not_found"
http DELETE "$B/docs/second.txt"
check_eq "DELETE missing on S3 -> 404" "$HTTP_STATUS" "404"
http GET "$B/../etc/passwd"
check "bad key refused" test "$HTTP_STATUS" != 200

# rescue fallback
http PUT /storage/buckets/rescue/objects/shared/r.txt --data-binary 'from rescue'
check_eq "PUT to the rescue bucket" "$HTTP_STATUS" "201"
check "rescue object is a file in its root" test -f "$LH_TMP/rescue/shared/r.txt"
http GET /storage/buckets/s3lake/objects/shared/r.txt -D "$LH_TMP/headers"
check_eq "S3 miss served by rescue" "$HTTP_STATUS $HTTP_BODY" "200 from rescue"
check_eq "rescue headers" "$(hdr X-Lakehouse-Bucket) $(hdr X-Lakehouse-Rescue-Used)" "rescue true"
http GET /storage/buckets/primary/objects/shared/r.txt -D "$LH_TMP/headers"
check_eq "primary miss served by rescue too" "$HTTP_STATUS $(hdr X-Lakehouse-Rescue-Used)" "200 true"

# unknown buckets
http PUT /storage/buckets/nosuch/objects/a.txt --data-binary 'x'
check_eq "PUT to unknown bucket -> 503" "$HTTP_STATUS $(jget .error.code)" "503 unavailable"
http GET /storage/buckets/nosuch/objects/a.txt
check_eq "GET from unknown bucket -> 404" "$HTTP_STATUS" "404"

# legacy root is the primary bucket
http PUT /storage/objects/legacy/one.txt --data-binary 'legacy'
http GET /storage/buckets/primary/objects/legacy/one.txt -D "$LH_TMP/headers"
check_eq "legacy /storage/objects is bucket primary" "$HTTP_STATUS $HTTP_BODY $(hdr X-Lakehouse-Rescue-Used)" "200 legacy false"

# cross-bucket SQL: a dataset in primary joined with a CSV in the local rescue bucket
printf 'id,name\n1,cat\n2,dog\n3,eel\n' >"$LH_TMP/animals.csv"
http PUT /storage/objects/uploads/animals.csv --data-binary @"$LH_TMP/animals.csv"
http_json POST /catalog/datasets '{"name":"animals","objects":["uploads/animals.csv"]}'
check_eq "dataset animals registered in primary" "$HTTP_STATUS" "201"
printf 'person\nann\nbob\n' >"$LH_TMP/people.csv"
http PUT /storage/buckets/rescue/objects/people_test.csv --data-binary @"$LH_TMP/people.csv"
RROOT=$(curl -s "$LH_URL/storage/buckets" | jq -r '.buckets[] | select(.name=="rescue") | .location')
http_json POST /query/sql "{\"sql\":\"SELECT count(*) AS n FROM read_csv('$RROOT/people_test.csv') p CROSS JOIN animals a\"}"
check_eq "cross-bucket SQL: rescue-bucket CSV x primary dataset" "$HTTP_STATUS $(jget '.rows[0][0]')" "200 6"
http_json POST /query/sql '{"sql":"SELECT count(*) FROM read_csv(\u0027/etc/passwd\u0027)"}'
check "SQL still cannot read outside the buckets" test "$HTTP_STATUS" != 200

http GET /storage/errors
check_eq "error journal records the rescue fallbacks" \
  "$(jget '[.errors[] | select(.rescue_used) | .bucket + ":" + .key + ":" + .served_by] | join(",")')" \
  "s3lake:shared/r.txt:rescue,primary:shared/r.txt:rescue"
check "journal is _errors/bucket_errors.jsonl in primary" test -s "$LH_TMP/data/_errors/bucket_errors.jsonl"

http GET /storage/bucket-health
check_eq "bucket-health: all 3 reachable" "$(jget .status) $(jget .reachable) $(jget .unreachable)" "ok 3 0"
check_eq "bucket-health counts journal entries per bucket" "$(jget '.buckets[] | select(.name=="s3lake") | .errors_recorded')" "1"

# runtime lifecycle
http_json POST /storage/buckets '{"name":"testing","backend":"local"}'
check_eq "POST /storage/buckets provisions a local bucket" "$HTTP_STATUS $(jget '[.buckets[].name] | join(",")')" \
  "201 primary,rescue,s3lake,testing"
http PUT /storage/buckets/testing/objects/t.txt --data-binary 'tt'
http GET /storage/buckets/testing/objects/t.txt
check_eq "I/O on the provisioned bucket" "$HTTP_STATUS $HTTP_BODY" "200 tt"
http_json POST /storage/buckets "{\"name\":\"s3alias\",\"backend\":\"s3\",\"endpoint\":\"$S3_URL\",\"bucket\":\"lake\",\"secret_ref\":\"s3rver\"}"
check_eq "POST provisions an S3 bucket (secret from the secrets file)" "$HTTP_STATUS" "201"
http GET /storage/buckets/s3alias/objects/docs/hello.txt
check_eq "the new S3 bucket reads the same store" "$HTTP_STATUS $HTTP_BODY" "200 hello s3"
# our SigV4 signer (ADR 0165) writes the Authorization header s3rver parses:
# an unknown access key is refused (s3rver does not recompute v4 signatures;
# tests/unit/test_sigv4.c checks them against AWS's published vectors)
http_json POST /storage/buckets "{\"name\":\"s3wrong\",\"backend\":\"s3\",\"endpoint\":\"$S3_URL\",\"bucket\":\"lake\",\"secret_ref\":\"s3wrong\"}"
http GET /storage/buckets/s3wrong/objects/docs/hello.txt
check_eq "a request signed with an unknown access key is refused (InvalidAccessKeyId)" \
  "$([ "$HTTP_STATUS" != 200 ] && echo refused) $(echo "$HTTP_BODY" | grep -c InvalidAccessKeyId)" "refused 1"
http DELETE /storage/buckets/s3wrong
http_json POST /storage/buckets '{"name":"testing","backend":"local"}'
check_eq "POST an existing name -> 409" "$HTTP_STATUS" "409"
http_json POST /storage/buckets '{"name":"x","backend":"local","root":"/tmp"}'
check_eq "POST a local bucket with a root -> 400" "$HTTP_STATUS" "400"
http DELETE /storage/buckets/primary
check_eq "DELETE primary refused" "$HTTP_STATUS $(jget .error.code)" "409 conflict"
http DELETE /storage/buckets/rescue
check_eq "DELETE rescue refused" "$HTTP_STATUS" "409"
http DELETE /storage/buckets/testing
check_eq "DELETE testing -> 204" "$HTTP_STATUS" "204"
http GET /storage/buckets/testing/objects/t.txt
check_eq "unregistered bucket is gone (404)" "$HTTP_STATUS" "404"
http DELETE /storage/buckets/testing
check_eq "DELETE unknown bucket -> 404" "$HTTP_STATUS" "404"

# put-if-absent and the S3 backend API, from the unit test binary, through
# the conditional-write shim (s3rver alone ignores If-None-Match: *)
UNIT=$ROOT/build/san/tests/test_buckets
[ -x "$UNIT" ] || UNIT=$ROOT/build/tests/test_buckets
mock_start "$ROOT/tests/helpers/s3shim.js" --upstream "127.0.0.1:$S3_PORT"
if [ -x "$UNIT" ]; then
  if LH_TEST_S3_ENDPOINT=$MOCK_URL LH_TEST_S3_RAW_ENDPOINT=$S3_URL LH_TEST_S3_BUCKET=lake "$UNIT" >"$LH_TMP/unit.out" 2>&1; then
    t_ok "test_buckets S3 cases (put-if-absent, list, delete) against s3rver"
  else
    t_fail "test_buckets S3 cases against s3rver" "$(tail -20 "$LH_TMP/unit.out")"
  fi
fi

# S3 down: health degrades, writes fail with 503 and are journaled, reads of
# objects the rescue bucket holds still work
kill -9 "$S3_PID"; wait "$S3_PID" 2>/dev/null
http GET /storage/bucket-health
check_eq "bucket-health with S3 down: degraded" "$(jget .status) $(jget '.buckets[] | select(.name=="s3lake") | .reachable')" \
  "degraded false"
http PUT "$B/docs/down.txt" --data-binary 'x'
check_eq "PUT with S3 down -> 503" "$HTTP_STATUS $(jget .error.code)" "503 unavailable"
http GET "$B/shared/r.txt" -D "$LH_TMP/headers"
check_eq "GET with S3 down still served by rescue" "$HTTP_STATUS $(hdr X-Lakehouse-Rescue-Used)" "200 true"
http GET "$B/docs/hello.txt"
check_eq "GET of an S3-only object with S3 down -> 503" "$HTTP_STATUS" "503"
http GET '/storage/errors?limit=3'
check_eq "journal has the failed put (unavailable), limit=3" \
  "$(jget '[.errors[] | select(.op=="put") | .code] | join(",")') $(jget '.errors | length')" "unavailable 3"
lh_stop

# runtime buckets are remembered (primary's _buckets/registry.json); removed ones are not
check "restart (S3 still down)" start_lh
http GET /storage/buckets
check_eq "after restart: s3alias restored, testing stays removed" \
  "$(jget '[.buckets[] | .name + ":" + (.runtime | tostring)] | join(",")')" \
  "primary:false,rescue:false,s3lake:false,s3alias:true"
lh_stop

# the secrets file must be 0600
chmod 644 "$LH_TMP/secrets.toml"
out=$(LAKEHOUSE_AUTH_ENABLED=false LAKEHOUSE_PORT=$(free_port) LAKEHOUSE_DATA="$LH_TMP/data" timeout 20 "$LH_BIN" --config "$LH_TMP/lakehouse.toml" serve 2>&1); rc=$?
check_eq "server refuses a 0644 secrets file" "$rc $(echo "$out" | grep -c 'mode 644; refusing')" "1 1"

t_done
