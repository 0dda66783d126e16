#!/usr/bin/env bash
# lh-timeout: 120
# delta_merge.sh — issue 12: MERGE INTO over HTTP as one Delta commit
# (operation MERGE, copy-on-write of the touched files only), with the
# per-kind counts and the new version; a dataset, VALUES and a subquery as
# the source; a read key refused (403); bad clauses refused with nothing
# committed.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
lh_sql_start "$DATA"
LOG=$DATA/tables/acc/_delta_log
ci() { jq -r "select(.commitInfo) | .commitInfo | $2" "$(commit "$1")"; }

# v0: ids 0..4 in one file; v1: ids 10, 11 in a second file
qw "CREATE TABLE acc AS SELECT i AS id, 100 AS balance, 'n' || i AS name FROM range(5) t(i)"
qw "INSERT INTO acc VALUES (10, 5, 'ten'), (11, 6, 'eleven')"
check_eq "setup: two versions" "$(jget .version)" 1
FILE0=$(jq -r 'select(.add) | .add.path' "$(commit 0)")
FILE1=$(jq -r 'select(.add) | .add.path' "$(commit 1)")

# --- MERGE with VALUES: update id 1, delete id 2, insert id 20; touches only the first file
qw "MERGE INTO acc USING (VALUES (1, 7, 'one'), (2, 0, NULL), (20, 1, 'twenty')) AS s(id, balance, name)
    ON acc.id = s.id
    WHEN MATCHED AND s.name IS NULL THEN DELETE
    WHEN MATCHED THEN UPDATE SET balance = acc.balance + s.balance, name = s.name
    WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.balance, s.name)"
check_eq "MERGE is 200" "$HTTP_STATUS" 200
check_eq "MERGE counts rows_affected/inserted/updated/deleted/version" \
  "$(jget '[.rows_affected, .inserted, .updated, .deleted, .version, .committed] | join(",")')" "3,1,1,1,2,true"
check_eq "v2 is one MERGE commit" "$(ci 2 .operation)" MERGE
check_eq "v2 removes only the touched file and adds one" "$(actions 2 remove)/$(actions 2 add)" "1/1"
check_eq "v2 removes the file of ids 0..4" "$(jq -r 'select(.remove) | .remove.path' "$(commit 2)")" "$FILE0"
check_eq "v2 operationParameters.predicate" "$(ci 2 .operationParameters.predicate)" "acc.id = s.id"
check_eq "v2 matchedPredicates (Spark's form)" "$(ci 2 '.operationParameters.matchedPredicates | fromjson | map(.actionType) | join(",")')" "delete,update"
check_eq "v2 matched delete keeps its condition" "$(ci 2 '.operationParameters.matchedPredicates | fromjson | .[0].predicate')" "s.name IS NULL"
check_eq "v2 notMatchedPredicates" "$(ci 2 '.operationParameters.notMatchedPredicates | fromjson | map(.actionType) | join(",")')" "insert"
check_eq "v2 metrics inserted/updated/deleted/copied" \
  "$(ci 2 '.operationMetrics | [.numTargetRowsInserted, .numTargetRowsUpdated, .numTargetRowsDeleted, .numTargetRowsCopied] | join(",")')" "1,1,1,3"
check_eq "v2 readVersion and not a blind append" "$(ci 2 '[.readVersion, .isBlindAppend] | join(",")')" "1,false"
qr "SELECT string_agg(id || ':' || balance || ':' || name, ' ' ORDER BY id) FROM acc"
check_eq "rows after MERGE" "$(jget '.rows[0][0]')" "0:100:n0 1:107:one 3:100:n3 4:100:n4 10:5:ten 11:6:eleven 20:1:twenty"
check_eq "the untouched file is still active" "$(grep -c "$FILE1" "$(commit 2)")" 0

# --- MERGE from a dataset (updates in the second file only), with an alias
qw "CREATE TABLE upd AS SELECT 11 AS id, 60 AS balance UNION ALL SELECT 30, 3"
qw "MERGE INTO acc AS t USING upd u ON t.id = u.id
    WHEN MATCHED THEN UPDATE SET balance = u.balance
    WHEN NOT MATCHED AND u.balance > 100 THEN INSERT (id, balance) VALUES (u.id, u.balance)"
check_eq "MERGE from a dataset: one updated, the insert's condition false" \
  "$(jget '[.rows_affected, .inserted, .updated, .deleted] | join(",")')" "1,0,1,0"
check_eq "v3 removes the file of ids 10, 11" "$(jq -r 'select(.remove) | .remove.path' "$(commit 3)")" "$FILE1"
qr "SELECT balance FROM acc WHERE id = 11"
check_eq "dataset-sourced update applied" "$(jget '.rows[0][0]')" 60

# --- inserts only: no file removed, one added; INSERT * and a subquery source
qw "MERGE INTO acc USING (SELECT 40 AS id, 4 AS balance, 'forty' AS name) s ON acc.id = s.id WHEN NOT MATCHED THEN INSERT *"
check_eq "insert-only MERGE" "$(jget '[.inserted, .version] | join(",")')" "1,4"
check_eq "v4 adds one file and removes none" "$(actions 4 add)/$(actions 4 remove 2>/dev/null || true)" "1/0"

# --- nothing matched or inserted: no commit
N=$(ncommits)
qw "MERGE INTO acc USING (SELECT 999 AS id) s ON acc.id = s.id WHEN MATCHED THEN DELETE"
check_eq "a MERGE that changes nothing commits nothing" "$(jget '[.rows_affected, .committed] | join(",")')/$(ncommits)" "0,false/$N"

# --- refusals, nothing committed
qr "MERGE INTO acc USING upd u ON acc.id = u.id WHEN MATCHED THEN DELETE"
check_eq "read key MERGE is 403" "$HTTP_STATUS" 403
qw "MERGE INTO acc USING upd u ON acc.id = u.id WHEN NOT MATCHED BY SOURCE THEN DELETE"
check_eq "WHEN NOT MATCHED BY SOURCE is 422" "$HTTP_STATUS" 422
qw "MERGE INTO acc USING upd u ON acc.id = u.id"
check_eq "MERGE without WHEN is 400" "$HTTP_STATUS" 400
qw "MERGE INTO acc USING upd u ON acc.id = u.id WHEN MATCHED THEN UPDATE SET nope = 1"
check_eq "MERGE setting an unknown column is 400" "$HTTP_STATUS" 400
qw "MERGE INTO acc USING (SELECT * FROM read_csv('/etc/passwd')) u ON true WHEN MATCHED THEN DELETE"
check_eq "MERGE reading a raw file is refused" "$([ "$HTTP_STATUS" -ge 400 ] && [ "$HTTP_STATUS" -lt 500 ] && echo refused)" refused
check_eq "no commit after the refused MERGEs" "$(ncommits)" "$N"
qr "SELECT count(*) FROM acc"
check_eq "rows unchanged by the refused MERGEs" "$(jget '.rows[0][0]')" 8

# --- a write role that sees the table through a row filter may not MERGE (its counts would leak rows)
A=(-H 'X-API-Key: admin-key')
http_json POST /access/roles '{"name":"deskw","level":"write","max_sensitivity":"confidential","pii_default":"allow","row_filters":{"acc":"id < 5"}}' "${A[@]}"
check_eq "custom write role with a row filter" "$HTTP_STATUS" 201
http_json POST /access/keys '{"name":"deskw-1","role":"deskw"}' "${A[@]}"
DK=(-H "X-API-Key: $(jget .key)")
N=$(ncommits)
http_json POST /query/sql "$(jq -n '{sql:"MERGE INTO acc USING (SELECT 11 AS id) s ON acc.id = s.id WHEN MATCHED THEN DELETE"}')" "${DK[@]}"
check_eq "MERGE by a row-filtered write role is 403" "$HTTP_STATUS/$(jget '.error.message | contains("row filter")')" "403/true"
check_eq "nothing committed by it" "$(ncommits)" "$N"

# --- concurrent MERGE increments mixed with UPDATEs of the same row: none lost
qw "CREATE TABLE counter AS SELECT 1 AS id, 0 AS n"
PIDS=()
for i in $(seq 1 8); do
  if [ $((i % 2)) = 0 ]; then S='UPDATE counter SET n = n + 1 WHERE id = 1'
  else S='MERGE INTO counter c USING (SELECT 1 AS id) s ON c.id = s.id WHEN MATCHED THEN UPDATE SET n = c.n + 1'; fi
  curl -s -o "$LH_TMP/inc.$i" -w '%{http_code}' "${W[@]}" -H 'Content-Type: application/json' \
    --data-binary "$(jq -n --arg s "$S" '{sql:$s}')" "$LH_URL/query/sql" >"$LH_TMP/inc.$i.code" &
  PIDS+=($!)
done
wait "${PIDS[@]}"
OKS=$(for f in "$LH_TMP"/inc.*.code; do cat "$f"; echo; done | grep -c '^200$')
qr "SELECT n FROM counter WHERE id = 1"
check_eq "eight concurrent MERGE/UPDATE increments acknowledged" "$OKS" 8
check_eq "every acknowledged increment applied" "$(jget '.rows[0][0]')" "$OKS"
t_done
