#!/usr/bin/env bash
# lh-timeout: 300
# s3_callers.sh — the modules that keep state in the primary bucket, on an
# S3 bucket (s3rver from npm, on a free loopback port with a temp folder):
# runs test_remote_bucket with LH_TEST_S3_ENDPOINT so each of its cases
# (tables, catalog, logs, vector index files) runs against S3 (ADR 0235).
source "$(dirname "$0")/../lib.sh"

S3RVER=$ROOT/node_modules/.bin/s3rver
if [ ! -x "$S3RVER" ]; then
  t_fail "s3rver installed" "run ./scripts/deps.sh (npm ci installs s3rver)"; t_done; exit
fi

S3_PORT=$(free_port)
S3_URL="http://127.0.0.1:$S3_PORT"
mkdir -p "$LH_TMP/s3"
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

UNIT=$(dirname "$LH_BIN")/tests/test_remote_bucket
[ -x "$UNIT" ] || UNIT=$ROOT/build/tests/test_remote_bucket
if [ ! -x "$UNIT" ]; then
  t_fail "test_remote_bucket built" "make build"
elif (cd "$ROOT" && TMPDIR=$LH_TMP LH_TEST_S3_ENDPOINT=$S3_URL LH_TEST_S3_BUCKET=lake "$UNIT") >"$LH_TMP/unit.out" 2>&1; then
  t_ok "test_remote_bucket: every case on an S3 bucket ($(grep -c '\[       OK \]' "$LH_TMP/unit.out") passed)"
else
  t_fail "test_remote_bucket on an S3 bucket" "$(tail -30 "$LH_TMP/unit.out")"
fi
t_done
