#!/usr/bin/env bash
# s3_vacuum.sh — orphaned uploads on an S3 primary (issue 11.6): a data file
# uploaded without a commit (what a kill -9 between the upload and the Delta
# commit leaves) is never read, survives a restart after kill -9 (start-up
# does not guess), and is removed by VACUUM … RETAIN 0 HOURS FORCE, while
# every committed row stays. s3rver behind the conditional-write shim.
# lh-timeout: 240
source "$(dirname "$0")/../lib.sh"
LH_BIN=$(readlink -f "$LH_BIN")
cd "$LH_TMP" || exit 1

if ! lh_s3_start; then
  t_fail "s3rver and the shim start" "run ./scripts/deps.sh (npm ci installs s3rver)"; t_done; exit
fi
export LH_TEST_PRIMARY=s3
lh_start "$LH_TMP/data" || { t_fail "server starts on S3"; t_done; exit 1; }
LOC=$(lh_data_location "$LH_TMP/data")
PREFIX=${LOC#s3://lake/}
sql() { http_json POST /query/sql "$(jq -nc --arg s "$1" '{sql: $s}')"; }

sql "CREATE TABLE acc AS SELECT i AS id, 100 AS balance FROM range(50) t(i)"
check_eq "CREATE TABLE AS on the S3 primary" "$HTTP_STATUS" 200
sql "INSERT INTO acc SELECT i, 7 FROM range(50, 60) t(i)"
check_eq "INSERT is a second commit" "$HTTP_STATUS" 200

# an uncommitted data file in the table's folder of the bucket, as a crash
# leaves it: a copy of a committed file (the same schema, so a reader that
# listed the folder instead of replaying the log would count its rows twice)
orphan=$(find "$LH_TMP/s3/lake/$PREFIX/tables/acc" -name '*.parquet._S3rver_object' | head -1)
check "a committed data file is in s3rver's store" test -n "$orphan"
s3c() { curl -s -o "$LH_TMP/s3body" -w '%{http_code}' -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
          --aws-sigv4 'aws:amz:us-east-1:s3' --user S3RVER:S3RVER "$@"; }
KEY="$PREFIX/tables/acc/part-orphan-crash.parquet"
check_eq "an orphaned upload lands in the table's folder" "$(s3c -X PUT --data-binary @"$orphan" "$S3_URL/lake/$KEY")" 200

sql "SELECT count(*) AS n, sum(balance) AS s FROM acc"
check_eq "queries read committed files only" "$(jget '.rows[0] | map(tostring) | join(",")')" "60,5070"

kill -9 "$LH_PID"; wait "$LH_PID" 2>/dev/null; LH_PID=
lh_start "$LH_TMP/data" || t_fail "restart after kill -9"
check_eq "start-up does not delete the orphan (no guessing)" "$(s3c -I "$S3_URL/lake/$KEY")" 200
sql "SELECT count(*) FROM acc"
check_eq "after the restart: the committed rows" "$(jget '.rows[0][0]')" 60

sql "VACUUM acc RETAIN 0 HOURS FORCE DRY RUN"
check "VACUUM DRY RUN lists the orphan" grep -q "part-orphan-crash.parquet" <<<"$HTTP_BODY"
check_eq "DRY RUN deletes nothing" "$(s3c -I "$S3_URL/lake/$KEY")" 200
sql "VACUUM acc RETAIN 0 HOURS FORCE"
check_eq "VACUUM answers 200" "$HTTP_STATUS" 200
check "VACUUM deleted at least the orphan ($(jget .files_deleted))" test "$(jget .files_deleted)" -ge 1
check_eq "the orphan is gone from the bucket" "$(s3c -I "$S3_URL/lake/$KEY")" 404
sql "SELECT count(*) AS n, sum(balance) AS s FROM acc"
check_eq "every committed row is still there" "$(jget '.rows[0] | map(tostring) | join(",")')" "60,5070"
lh_stop
t_done
