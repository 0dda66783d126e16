#!/usr/bin/env bash
# tombstones_views.sh — soft deletes and AI-safe views against a real
# server: tombstone 3 candidates → the count drops by 3, the raw rows stay
# under __raw__candidates, an AI-safe view (whitelist, mask, hash, filter)
# leaves them out too; a restart keeps tombstones and views; compaction
# drops the rows from the Parquet data itself (read back with read_parquet)
# and clears the tombstones; bad requests get the documented errors.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
t_ok "server starts"

N=500
CSV=$LH_TMP/candidates.csv
{ echo "candidate_id,name,email,phone,city,status,years"
  for i in $(seq 1 $N); do
    st=active; [ $((i % 10)) = 0 ] && st=blocked
    printf 'CAN%08d,Person %d,p%d@example.com,555-%04d,City%d,%s,%d\n' "$i" "$i" "$i" "$i" $((i % 7)) "$st" $((i % 30))
  done
} >"$CSV"
http PUT /storage/objects/uploads/candidates.csv --data-binary @"$CSV"
http_json POST /catalog/datasets '{"name":"candidates","objects":["uploads/candidates.csv"]}'
check_eq "register candidates" "$HTTP_STATUS" 201

count() { http_json POST /query/sql "{\"sql\":\"$1\"}"; jget '.rows[0][0]'; }

# --- tombstones
http_json POST /catalog/datasets/by-name/candidates/tombstone \
  '{"row_key_column":"candidate_id","row_key_values":["CAN00000007","CAN00000008","CAN00000011"],"actor":"dpo","reason":"erasure request"}'
check_eq "tombstone is 201" "$HTTP_STATUS" 201
check_eq "tombstone reports 3 keys" "$(jget .keys)" 3
check_eq "tombstone object under _catalog/tombstones/candidates/" "$(jget '.object | startswith("_catalog/tombstones/candidates/")')" true
check_eq "count drops by 3" "$(count 'SELECT count(*) FROM candidates')" $((N - 3))
check_eq "a tombstoned id is gone" "$(count "SELECT count(*) FROM candidates WHERE candidate_id = 'CAN00000008'")" 0
check_eq "__raw__candidates keeps every row" "$(count 'SELECT count(*) FROM __raw__candidates')" $N
http GET /catalog/datasets/by-name/candidates/tombstone
check_eq "GET tombstones lists 3" "$(jget .count)" 3
check_eq "GET tombstones: key column" "$(jget .row_key_column)" candidate_id
check_eq "GET tombstones: actor and reason" "$(jget '.tombstones[0] | .actor + "/" + .reason')" "dpo/erasure request"
http_json POST /catalog/datasets/by-name/candidates/tombstone '{"row_key_column":"email","row_key_values":["p1@example.com"]}'
check_eq "another key column is 400" "$HTTP_STATUS" 400
check_eq "the error names the column in use" "$(jget '.error.message | contains("candidate_id")')" true
http_json POST /catalog/datasets/by-name/candidates/tombstone '{"row_key_column":"nope","row_key_values":["x"]}'
check_eq "unknown column is 400" "$HTTP_STATUS" 400
http_json POST /catalog/datasets/by-name/candidates/tombstone '{"row_key_column":"candidate_id","row_key_values":[]}'
check_eq "empty key list is 400" "$HTTP_STATUS" 400
http_json POST /catalog/datasets/by-name/ghost/tombstone '{"row_key_column":"id","row_key_values":["1"]}'
check_eq "unknown dataset is 404" "$HTTP_STATUS" 404

# --- AI-safe view
VIEW='{"name":"candidates_safe","base_dataset":"candidates","columns":["candidate_id","name","phone","city","years"],
 "row_filter":"status <> '"'"'blocked'"'"'","redactions":{"candidate_id":{"kind":"mask","keep_prefix":3,"keep_suffix":2},
 "phone":{"kind":"hash"},"name":{"kind":"null"}}}'
http_json POST /catalog/views "$VIEW"
check_eq "create view is 201" "$HTTP_STATUS" 201
http_json POST /query/sql '{"sql":"SELECT * FROM candidates_safe ORDER BY years LIMIT 1"}'
check_eq "SELECT * shows only the whitelist" "$(jget '[.columns[].name] | join(",")')" "candidate_id,name,phone,city,years"
http_json POST /query/sql '{"sql":"SELECT email FROM candidates_safe"}'
check_eq "SELECT email (not whitelisted) fails" "$HTTP_STATUS" 400
check_eq "the error names it" "$(jget '.error.message | contains("email")')" true
http_json POST /query/sql '{"sql":"SELECT candidate_id FROM candidates_safe WHERE years = 1 AND city = '"'"'City1'"'"' ORDER BY 1 LIMIT 1"}'
check_eq "candidate_id is masked" "$(jget '.rows[0][0] | test("^CAN\\*{6}[0-9]{2}$")')" true
check_eq "blocked rows are filtered, tombstoned rows too" "$(count 'SELECT count(*) FROM candidates_safe')" $((N - N / 10 - 3))
check_eq "phones are hashed" "$(count 'SELECT count(*) FROM candidates_safe WHERE length(phone) = 64 AND phone NOT LIKE '"'"'555-%'"'"'')" $((N - N / 10 - 3))
check_eq "names are nulled" "$(count 'SELECT count(name) FROM candidates_safe')" 0
http GET /catalog/views/candidates_safe
check_eq "GET view" "$(jget .base_dataset)" candidates
check_eq "GET view shows its SQL" "$(jget '.sql | startswith("SELECT")')" true
http GET /catalog/views
check_eq "list views" "$(jget '.views | length')" 1
http_json POST /catalog/views '{"name":"v2","base_dataset":"candidates","columns":["city"],"row_filter":"1=1; DROP TABLE x"}'
check_eq "a filter with ';' is 400" "$HTTP_STATUS" 400
http_json POST /catalog/views '{"name":"v2","base_dataset":"candidates","columns":["city"],"row_filter":"city IN (SELECT city FROM candidates)"}'
check_eq "a filter with a subquery is 400" "$HTTP_STATUS" 400
http_json POST /catalog/views '{"name":"v2","base_dataset":"candidates","columns":["city"],"row_filter":"salary > 1"}'
check_eq "a filter DuckDB cannot bind is 400" "$HTTP_STATUS" 400
http_json POST /catalog/views '{"name":"v2","base_dataset":"candidates","columns":["salary"]}'
check_eq "an unknown column is 400" "$HTTP_STATUS" 400
http_json POST /catalog/views '{"name":"candidates","base_dataset":"candidates","columns":["city"]}'
check_eq "a view named like a dataset is 409" "$HTTP_STATUS" 409
http_json POST /catalog/views '{"name":"v2","base_dataset":"ghost","columns":["city"]}'
check_eq "a view over no dataset is 404" "$HTTP_STATUS" 404
http GET /catalog/views/v2
check_eq "refused views were not stored" "$HTTP_STATUS" 404

# --- restart keeps tombstones and views
lh_stop
lh_start "$DATA" || t_fail "server restarts"
check_eq "after restart: count still drops by 3" "$(count 'SELECT count(*) FROM candidates')" $((N - 3))
check_eq "after restart: the view is published" "$(count 'SELECT count(*) FROM candidates_safe')" $((N - N / 10 - 3))
http GET /catalog/datasets/by-name/candidates/tombstone
check_eq "after restart: 3 tombstones" "$(jget .count)" 3

# --- compaction applies them physically
http_json POST /query/compact '{"dataset":"candidates"}'
check_eq "compact is 200" "$HTTP_STATUS" 200
check_eq "compact: tombstones_applied" "$(jget .tombstones_applied)" 3
check_eq "compact: rows_dropped_by_tombstones" "$(jget .rows_dropped_by_tombstones)" 3
check_eq "compact: rows" "$(jget .rows)" $((N - 3))
http GET /catalog/datasets/by-name/candidates
check_eq "one data file" "$(jget '.files | length')" 1
FILE="$(cd "$DATA" && pwd)/$(jget .location)/$(jget '.files[0].path')"
check_eq "the Parquet file holds $((N - 3)) rows" "$(count "SELECT count(*) FROM read_parquet('$FILE')")" $((N - 3))
check_eq "the Parquet file lacks the tombstoned ids" \
  "$(count "SELECT count(*) FROM read_parquet('$FILE') WHERE candidate_id IN ('CAN00000007','CAN00000008','CAN00000011')")" 0
check_eq "no other Parquet file is left" "$(find "$DATA/tables/candidates" -name '*.parquet' -not -path '*_delta_log*' | wc -l | tr -d ' ')" 1
http GET /catalog/datasets/by-name/candidates/tombstone
check_eq "tombstones are cleared" "$(jget .count)" 0
check_eq "tombstone files are gone" "$(find "$DATA/_catalog" -path '*tombstones*' -name '*.jsonl' | wc -l | tr -d ' ')" 0
http_json POST /query/sql '{"sql":"SELECT count(*) FROM __raw__candidates"}'
check_eq "__raw__candidates is gone" "$HTTP_STATUS" 400
check_eq "count is unchanged by compaction" "$(count 'SELECT count(*) FROM candidates')" $((N - 3))
check_eq "the view still answers" "$(count 'SELECT count(*) FROM candidates_safe')" $((N - N / 10 - 3))

# --- delete the view
http DELETE /catalog/views/candidates_safe
check_eq "delete view is 204" "$HTTP_STATUS" 204
http_json POST /query/sql '{"sql":"SELECT count(*) FROM candidates_safe"}'
check_eq "the deleted view is gone" "$HTTP_STATUS" 400
http DELETE /catalog/views/candidates_safe
check_eq "deleting again is 404" "$HTTP_STATUS" 404
t_done
