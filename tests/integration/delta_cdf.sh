#!/usr/bin/env bash
# lh-timeout: 120
# delta_cdf.sh — issue 12: the change data feed in SQL. table_changes('t',
# from[, to]) against the shared cdf-table fixture's documented history,
# and against our own writes once ALTER TABLE ... SET TBLPROPERTIES
# ('delta.enableChangeDataFeed' = 'true') turned it on: UPDATE, DELETE and
# MERGE write _change_data files (cdc actions), so the feed shows
# update_preimage / update_postimage. Other roles read the feed through
# their view: masks and row filters apply (ADR 0253, 0240).
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
FEAT=$ROOT/tests/data/delta-features
lh_sql_start "$DATA"
kinds() { qa "SELECT string_agg(k || ':' || n, ',' ORDER BY k) FROM (SELECT _change_type AS k, count(*) AS n FROM table_changes($1) GROUP BY 1)"; jget '.rows[0][0]'; }

# --- the fixture's documented history
mkdir -p "$DATA/external"
cp -r "$FEAT/cdf-table" "$DATA/external/"
http_json POST /catalog/datasets '{"name":"cdf","format":"delta","location":"external/cdf-table"}' "${A[@]}"
check_eq "cdf-table registers" "$HTTP_STATUS" 201
check_eq "feed v1..v3: 6 pre, 6 post, 1 delete" "$(kinds "'cdf', 1, 3")" "delete:1,update_postimage:6,update_preimage:6"
check_eq "feed v0: 10 inserts" "$(kinds "'cdf', 0, 0")" "insert:10"
qa "SELECT name, _commit_version FROM table_changes('cdf', 3, 3)"
check_eq "the v3 delete is Dennis" "$(jget '.rows[0] | map(tostring) | join(",")')" "Dennis,3"
qa "SELECT count(*) FROM table_changes('cdf', 1) AS c WHERE c._commit_timestamp IS NOT NULL"
check_eq "to defaults to the latest; commit timestamps set" "$(jget '.rows[0][0]')" 13
qa "SELECT * FROM table_changes('cdf')"
check_eq "a malformed call is 400" "$HTTP_STATUS" 400
qa "SELECT * FROM table_changes('nope', 0, 1)"
check_eq "an unknown dataset is 404" "$HTTP_STATUS" 404

# --- our own writes
LOG=$DATA/tables/acc/_delta_log
qw "CREATE TABLE acc AS SELECT i AS id, 100 AS balance, 'user' || i || '@example.com' AS email FROM range(4) t(i)"
qa "SELECT * FROM table_changes('acc', 0, 0)"
check_eq "the feed on a table that does not enable it is 422" "$HTTP_STATUS" 422
qw "ALTER TABLE acc SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')"
check_eq "SET TBLPROPERTIES is version 1" "$HTTP_STATUS/$(jget .version)/$(jget .operation)" "200/1/SET TBLPROPERTIES"
check_eq "v1 raises the protocol to writer 4 and sets the property" "$(jq -r 'select(.protocol) | .protocol.minWriterVersion' "$(commit 1)")/$(jq -r 'select(.metaData) | .metaData.configuration."delta.enableChangeDataFeed"' "$(commit 1)")" "4/true"
check_eq "v1 adds and removes no file" "$(grep -c '^{"add"\|^{"remove"' "$(commit 1)")" 0
qw "ALTER TABLE acc SET TBLPROPERTIES ('delta.appendOnly' = 'true')"
check_eq "another property is refused (422)" "$HTTP_STATUS" 422
qw "UPDATE acc SET balance = 7 WHERE id = 1"
V=$(jget .version)
check_eq "UPDATE's commit carries one cdc action" "$(grep -c '^{"cdc"' "$(commit "$V")")" 1
CDC=$(jq -r 'select(.cdc) | .cdc.path' "$(commit "$V")")
check "the cdc file is under _change_data/" test -f "$DATA/tables/acc/$CDC"
check_eq "cdc action: dataChange false" "$(jq -r 'select(.cdc) | .cdc.dataChange' "$(commit "$V")")" false
qa "SELECT string_agg(_change_type || ':' || id || ':' || balance || ':' || _commit_version, ',' ORDER BY _change_type) FROM table_changes('acc', $V, $V)"
check_eq "the feed shows the update's two images" "$(jget '.rows[0][0]')" "update_postimage:1:7:$V,update_preimage:1:100:$V"
qw "DELETE FROM acc WHERE id = 2"
qa "MERGE INTO acc USING (VALUES (3, 30), (8, 80)) AS s(id, b) ON acc.id = s.id WHEN MATCHED THEN UPDATE SET balance = s.b WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.b, NULL)"
VM=$(jget .version)
qw "INSERT INTO acc (id, balance) VALUES (9, 90)"
check_eq "feed v2..latest: DELETE, MERGE (pre/post + insert), INSERT" "$(kinds "'acc', $V")" "delete:1,insert:2,update_postimage:2,update_preimage:2"
qa "SELECT string_agg(_change_type || ':' || id || ':' || balance, ',' ORDER BY id, _change_type) FROM table_changes('acc', $VM, $VM)"
check_eq "the MERGE's changes" "$(jget '.rows[0][0]')" "update_postimage:3:30,update_preimage:3:100,insert:8:80"
qa "SELECT count(*) FROM table_changes('acc', 0, 2)"
check_eq "a range reaching before the feed was on is 422" "$HTTP_STATUS" 422
qr "SELECT string_agg(id || ':' || balance, ',' ORDER BY id) FROM acc"
check_eq "the table's rows" "$(jget '.rows[0][0]')" "0:100,1:7,3:30,8:80,9:90"

# --- other roles read the feed through their view (ADR 0240): masks and row filters apply
qa "SELECT count(*) FILTER (WHERE email LIKE '%@example.com') FROM table_changes('acc', $V, $V)"
check_eq "admin sees the stored e-mails in the feed" "$(jget '.rows[0][0]')" 2
qr "SELECT count(*), count(*) FILTER (WHERE email LIKE '%@example.com') FROM table_changes('acc', $V, $V)"
check_eq "a read key gets the feed with the e-mail column as its view shows it" "$HTTP_STATUS/$(jget '.rows[0] | map(tostring) | join(",")')" "200/2,0"
qr "SELECT email FROM acc WHERE id = 1"
RE=$(jget '.rows[0][0]')
qr "SELECT email FROM table_changes('acc', $V, $V) WHERE _change_type = 'update_postimage'"
check_eq "the same masked value as the role's view of the table" "$(jget '.rows[0][0]')" "$RE"
http_json POST /access/roles '{"name":"low","level":"read","max_sensitivity":"confidential","pii_default":"deny","row_filters":{"acc":"id < 2"}}' "${A[@]}"
http_json POST /access/keys '{"name":"low-1","role":"low"}' "${A[@]}"
LK=(-H "X-API-Key: $(jget .key)")
http_json POST /query/sql "$(jq -n --arg s "SELECT string_agg(DISTINCT id::VARCHAR, ',') FROM table_changes('acc', $V)" '{sql:$s}')" "${LK[@]}"
check_eq "a row filter applies to the feed" "$HTTP_STATUS/$(jget '.rows[0][0]')" "200/1"
t_done
