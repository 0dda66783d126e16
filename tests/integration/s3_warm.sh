#!/usr/bin/env bash
# s3_warm.sh — what a warm query costs on an S3 primary (ADR 0273): s3rver
# from npm behind the shim (lib.sh lh_s3_start), which lists the requests it
# forwarded (/_shim/stats "recent"). On an unchanged dataset whose files are
# in the read cache, 20 warm queries send nothing to S3 but the access
# audit's rounds (a segment and the head per round of up to 1 s, not per
# query) and the lease's renewal; the queries' audit records reach the
# bucket within a round (audit/verify counts them); a commit by this server
# is seen by the next query with no request to check for it.
# lh-timeout: 120
source "$(dirname "$0")/../lib.sh"
LH_BIN=$(readlink -f "$LH_BIN")
cd "$LH_TMP" || exit 1

if ! lh_s3_start; then
  t_fail "s3rver and the shim start" "run ./scripts/deps.sh (npm ci installs s3rver)"; t_done; exit
fi
LH_TEST_PRIMARY=s3 lh_start "$LH_TMP/data" || { t_fail "server starts on the S3 primary"; t_done; exit; }
t_ok "server starts on the S3 primary"
PREFIX=$(LH_TEST_PRIMARY=s3 lh_data_location "$LH_TMP/data"); PREFIX=${PREFIX#s3://lake/}

# jpost PATH JSON / jget PATH — the answer's body
jpost() { curl -s -H 'Content-Type: application/json' --data-binary "$2" "$LH_URL$1"; }
jget() { curl -s "$LH_URL$1"; }
sql() { jpost /query/sql "$(jq -cn --arg s "$1" '{sql:$s}')"; }
awk 'BEGIN { print "id,city,amount"; for (i = 1; i <= 5000; i++) printf "%d,City%d,%d\n", i, i % 50, i % 100 }' >"$LH_TMP/rows.csv"
check_eq "rows.csv uploaded" \
  "$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary @"$LH_TMP/rows.csv" "$LH_URL/storage/objects/in/rows.csv")" 201
check_eq "registered as dataset warm" \
  "$(jpost /catalog/datasets '{"name":"warm","objects":["in/rows.csv"]}' | jq -r .name)" warm
Q='SELECT city, count(*) AS n, sum(amount) AS total FROM warm GROUP BY city ORDER BY city'
check_eq "the first query answers 50 groups (and fills the read cache)" "$(sql "$Q" | jq '.rows | length')" 50
sleep 1.5  # the first query's audit round goes out
audit_before=$(jget /access/audit/verify | jq .records)

curl -s -X POST "$S3_URL/_shim/reset" >/dev/null
t0=$(date +%s%N)
bad=0
for _ in $(seq 1 20); do [ "$(sql "$Q" | jq '.rows | length')" = 50 ] || bad=1; done
secs=$(( ($(date +%s%N) - t0 + 999999999) / 1000000000 ))
recent=$(curl -s "$S3_URL/_shim/stats" | jq -r '.recent[]')
check_eq "20 warm queries answer 50 groups each" "$bad" 0
others=$(grep -v -e " /lake/$PREFIX/_access/audit/[0-9]*\.jsonl\$" -e " /lake/$PREFIX/_access/audit\.head\$" \
              -e " /lake/$PREFIX/_lakehouse\.lock\$" <<<"$recent" | grep -c .)
check_eq "warm queries send S3 nothing but audit rounds and the lease (no LIST/HEAD/GET of the Delta log or data)" \
  "$others" 0
segs=$(grep -c "^PUT /lake/$PREFIX/_access/audit/" <<<"$recent")
check "audit segments: one per round of up to 1 s, not one per query ($segs in ${secs} s for 20 queries)" \
  test "$segs" -le $((secs + 1))
sleep 1.5
check_eq "the warm queries' audit records reach the bucket within a round (audit/verify: ok, 20 more records)" \
  "$(jget /access/audit/verify | jq -c "[.ok, .records - $audit_before >= 20]")" "[true,true]"

curl -s -X PUT --data-binary $'id,city,amount\n9001,City7,5\n' "$LH_URL/storage/objects/in/more.csv" >/dev/null
check_eq "an append by this server commits" \
  "$(jpost /catalog/datasets/by-name/warm/append '{"objects":["in/more.csv"]}' | jq -r '.version // .error')" 1
check_eq "the next query sees it (versions are learnt at commit, no freshness request)" \
  "$(sql "SELECT count(*) FROM warm" | jq -c '.rows[0][0]')" 5001
t_done
