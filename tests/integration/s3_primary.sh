#!/usr/bin/env bash
# s3_primary.sh — the primary bucket on S3 (ADR 0230–0234): s3rver from npm
# behind the conditional-write shim (tests/helpers/s3shim.js), both on free
# loopback ports. Checks the shim itself (If-None-Match: *, injected
# failures), start-up with LAKEHOUSE_DATA=s3://lake/<prefix> and its clear
# refusals (another scheme, s3rver without the shim, wrong keys, no such
# bucket, unreachable endpoint, a second server on a live lease), a restart
# after kill -9 taking the lease over at once, the cache counters on
# /metrics; runs test_storage_s3's server cases (probe, prefixes, multipart,
# retries, racing Delta commits, lease, reads through the cache); then
# re-runs the core, ingest and crash suites with LH_TEST_PRIMARY=s3.
# lh-timeout: 1500
source "$(dirname "$0")/../lib.sh"
LH_BIN=$(readlink -f "$LH_BIN")
cd "$LH_TMP" || exit 1  # servers that fail to start must not leave anything in the checkout

if ! lh_s3_start; then
  t_fail "s3rver and the shim start" "run ./scripts/deps.sh (npm ci installs s3rver)"; t_done; exit
fi
t_ok "s3rver and the conditional-write shim start"

# --- the shim: verbatim forwarding, If-None-Match: *, injected failures
s3c() { curl -s -o "$LH_TMP/s3body" -w '%{http_code}' -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
          --aws-sigv4 'aws:amz:us-east-1:s3' --user S3RVER:S3RVER "$@"; }
check_eq "shim: a PUT with If-None-Match: * creates the key" \
  "$(s3c -X PUT -H 'If-None-Match: *' --data-binary one "$S3_URL/lake/shim/k")" 200
check_eq "shim: the second one is refused 412 PreconditionFailed" \
  "$(s3c -X PUT -H 'If-None-Match: *' --data-binary two "$S3_URL/lake/shim/k") $(grep -o PreconditionFailed "$LH_TMP/s3body")" \
  "412 PreconditionFailed"
check_eq "shim: the object kept the first writer's bytes" "$(s3c "$S3_URL/lake/shim/k") $(cat "$LH_TMP/s3body")" "200 one"
check_eq "s3rver alone ignores If-None-Match (the reason for the shim)" \
  "$(s3c -X PUT -H 'If-None-Match: *' --data-binary two "$S3_RAW_URL/lake/shim/k")" 200
curl -s -X POST "$S3_URL/_shim/fail?method=GET&count=2&status=503" >/dev/null
check_eq "shim: injected 503s, then forwarding again" \
  "$(s3c "$S3_URL/lake/shim/k") $(s3c "$S3_URL/lake/shim/k") $(s3c "$S3_URL/lake/shim/k")" "503 503 200"
curl -s -X POST "$S3_URL/_shim/reset" >/dev/null

# --- start-up
S3ENV=()
mapfile -t S3ENV < <(lh_s3_env)
# serve_once ENV... — a server start expected to fail: "rc<TAB>log" of it
serve_once() {
  local out rc
  out=$(env "${S3ENV[@]}" LAKEHOUSE_AUTH_ENABLED=false LAKEHOUSE_PORT="$(free_port)" LAKEHOUSE_GRPC_PORT=0 "$@" \
        timeout 30 "$LH_BIN" serve 2>&1); rc=$?
  printf '%s\t%s' "$rc" "$out"
}
r=$(serve_once LAKEHOUSE_DATA=gs://lake/wh)
check_eq "gs:// root: start-up error naming the scheme" "${r%%$'\t'*} $(grep -c "unsupported scheme 'gs://'" <<<"$r")" "1 1"
r=$(serve_once LAKEHOUSE_DATA=s3://lake/plain "AWS_ENDPOINT_URL=$S3_RAW_URL")
check_eq "s3rver without the shim: refused for datasets (no conditional writes)" \
  "${r%%$'\t'*} $(grep -c 'does not honour conditional writes' <<<"$r")" "1 1"
r=$(serve_once LAKEHOUSE_DATA=s3://lake/wh AWS_ACCESS_KEY_ID=NOT-S3RVER)
check_eq "wrong access key: start-up error naming the bucket and InvalidAccessKeyId" \
  "${r%%$'\t'*} $(grep -c "bucket 'lake' answered 403 InvalidAccessKeyId" <<<"$r")" "1 1"
r=$(serve_once LAKEHOUSE_DATA=s3://nosuch/wh)
check_eq "missing bucket: start-up error naming it and NoSuchBucket" \
  "${r%%$'\t'*} $(grep -c "bucket 'nosuch' answered 404 NoSuchBucket" <<<"$r")" "1 1"
r=$(serve_once LAKEHOUSE_DATA=s3://lake/wh "AWS_ENDPOINT_URL=http://127.0.0.1:$(free_port)" LAKEHOUSE_STORAGE_S3_MAX_ATTEMPTS=2)
check_eq "unreachable endpoint: start-up error" "${r%%$'\t'*} $(grep -c "s3://lake/wh.*unreachable" <<<"$r")" "1 1"
check "no folder named s3: was created" test ! -e "s3:"

LH_TEST_PRIMARY=s3 lh_start "$LH_TMP/data" || { t_fail "server starts on s3://lake/<prefix>"; t_done; exit 1; }
t_ok "server starts with its primary on S3 (behind the shim)"
LOC=$(LH_TEST_PRIMARY=s3 lh_data_location "$LH_TMP/data")
http GET /storage/buckets
check_eq "primary is the S3 prefix" "$(jget '.buckets[0].backend + " " + .buckets[0].location')" "s3 $LOC"
check "the lease object is in the bucket" test -n "$(find "$LH_TMP/s3/lake/${LOC#s3://lake/}" -name '_lakehouse.lock*' | head -1)"
http PUT /storage/objects/docs/hello.txt --data-binary 'hello s3 primary'
http GET /storage/objects/docs/hello.txt
check_eq "object round trip through the S3 primary" "$HTTP_STATUS $HTTP_BODY" "200 hello s3 primary"
check "the object is under the prefix in s3rver's store" \
  test -n "$(find "$LH_TMP/s3/lake/${LOC#s3://lake/}/docs" -name 'hello.txt*' | head -1)"
http GET /metrics
check "/metrics has the storage cache counters" \
  grep -q '^lakehouse_storage_cache_hits_total ' <<<"$HTTP_BODY"
check "/metrics: misses and bytes" grep -q '^lakehouse_storage_cache_bytes ' <<<"$HTTP_BODY"
r=$(serve_once "LAKEHOUSE_DATA=$LOC")
check_eq "a second server on the same prefix refuses while the lease is live" \
  "${r%%$'\t'*} $(grep -c "in use by another lakehouse process (host .*, pid $LH_PID" <<<"$r")" "1 1"
kill -9 "$LH_PID"; wait "$LH_PID" 2>/dev/null; LH_PID=
LH_TEST_PRIMARY=s3 lh_start "$LH_TMP/data"
check_eq "restart after kill -9 takes the lease over at once" \
  "$? $(grep -c 'taking over the lease.*that process is gone' "$LH_TMP/server.log")" "0 1"
http GET /storage/objects/docs/hello.txt
check_eq "the object survived the crash" "$HTTP_STATUS $HTTP_BODY" "200 hello s3 primary"
lh_stop
check "a clean stop deletes the lease" test -z "$(find "$LH_TMP/s3/lake/${LOC#s3://lake/}" -maxdepth 1 -name '_lakehouse.lock*' | head -1)"

# --- the S3 backend's unit cases against the server
UNIT=$(dirname "$LH_BIN")/tests/test_storage_s3  # the build the server under test comes from
[ -x "$UNIT" ] || UNIT=$ROOT/build/tests/test_storage_s3
if [ -x "$UNIT" ]; then
  if LH_TEST_S3_ENDPOINT=$S3_URL LH_TEST_S3_RAW_ENDPOINT=$S3_RAW_URL "$UNIT" >"$LH_TMP/unit.out" 2>&1; then
    t_ok "test_storage_s3 server cases (probe, prefix, multipart, retries, racing commits, lease, cache)"
  else
    t_fail "test_storage_s3 server cases" "$(grep -E 'not ok|FAIL|error' "$LH_TMP/unit.out" | head -20)"
  fi
else
  t_fail "test_storage_s3 is built" "make build"
fi

# --- the core, ingest and crash suites again, primary on S3
for suite in ${S3_RERUN_SUITES-e2e_core ingest_files crash_appends}; do
  out=$(LH_TEST_PRIMARY=s3 CRASH_ROUNDS=${S3_CRASH_ROUNDS:-10} timeout 600 bash "$ROOT/tests/integration/$suite.sh" 2>&1); rc=$?
  summary="$(grep -c '^ok ' <<<"$out") passed, $(grep -c '^not ok ' <<<"$out") failed"
  if [ "$rc" = 0 ] && ! grep -q '^not ok ' <<<"$out"; then
    t_ok "$suite.sh with the primary on S3 ($summary)"
  else
    t_fail "$suite.sh with the primary on S3 ($summary)" "$(grep -A3 '^not ok ' <<<"$out" | head -40)"
  fi
done

t_done
