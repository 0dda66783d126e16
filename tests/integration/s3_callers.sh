#!/usr/bin/env bash
# lh-timeout: 300
# s3_callers.sh — the modules that keep state in the primary bucket, on an
# S3 bucket (s3rver from npm behind the conditional-write shim, lib.sh lh_s3_start):
# runs test_remote_bucket with LH_TEST_S3_ENDPOINT so each of its cases
# (tables, catalog, logs, vector index files) runs against S3 (ADR 0235).
source "$(dirname "$0")/../lib.sh"

if ! lh_s3_start; then  # s3rver behind the conditional-write shim (If-None-Match: *)
  t_fail "s3rver and the shim start" "run ./scripts/deps.sh (npm ci installs s3rver)"; t_done; exit
fi
t_ok "s3rver and the conditional-write shim start"

UNIT=$(dirname "$LH_BIN")/tests/test_remote_bucket
[ -x "$UNIT" ] || UNIT=$ROOT/build/tests/test_remote_bucket
if [ ! -x "$UNIT" ]; then
  t_fail "test_remote_bucket built" "make build"
elif (cd "$ROOT" && TMPDIR=$LH_TMP LH_TEST_S3_ENDPOINT=$S3_URL LH_TEST_S3_BUCKET=lake "$UNIT") >"$LH_TMP/unit.out" 2>&1; then
  t_ok "test_remote_bucket: every case on an S3 bucket ($(grep -c '\[       OK \]' "$LH_TMP/unit.out") passed)"
  grep -h 'files downloaded' "$LH_TMP/unit.out" | sed 's/^/# /'  # pruning before the fetch (ADR 0245)
else
  t_fail "test_remote_bucket on an S3 bucket" "$(tail -30 "$LH_TMP/unit.out")"
fi
t_done
