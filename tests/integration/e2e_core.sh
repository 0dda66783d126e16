#!/usr/bin/env bash
# e2e_core.sh — the spine end to end against a real server: PUT a CSV,
# register it, query an aggregate, PATCH metadata, restart, everything still
# there; then bad inputs each get the documented error and change nothing.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
t_ok "server starts"

# --- health, status, metrics
http GET /health
check_eq "GET /health is 200" "$HTTP_STATUS" 200
check_eq "health says ok" "$(jget .status)" ok
http GET /system/status
check_eq "system status: every component healthy (storage catalog query ai jobs admission)" \
  "$(jget '[.components | to_entries[] | select(.value.ok == true) | .key] | sort | join(" ")')" \
  "admission ai catalog jobs query storage"

# --- storage
CSV=$LH_TMP/people.csv
{ echo "id,name,email,city,salary"
  for i in $(seq 1 100); do echo "$i,Person $i,person$i@example.com,City$((i % 5)),$((50000 + i * 100))"; done
} >"$CSV"
http PUT /storage/objects/uploads/people.csv --data-binary @"$CSV"
check_eq "PUT object is 201" "$HTTP_STATUS" 201
check_eq "PUT returns the SHA-256" "$(jget .sha256)" "$(sha256sum "$CSV" | cut -d' ' -f1)"
check_eq "PUT returns the size" "$(jget .size)" "$(stat -c %s "$CSV")"
http GET /storage/objects/uploads/people.csv
check_eq "GET object returns the same bytes" "$(echo "$HTTP_BODY" | sha256sum | cut -d' ' -f1)" "$(sha256sum "$CSV" | cut -d' ' -f1)"
http GET "/storage/objects?prefix=uploads/"
check_eq "LIST by prefix finds it" "$(jget '.objects[0].key')" "uploads/people.csv"

# --- catalog
http_json POST /catalog/datasets '{"name":"people","objects":["uploads/people.csv"],"description":"test people","owner":"qa","tags":["test"]}'
check_eq "register CSV is 201" "$HTTP_STATUS" 201
check_eq "manifest row_count" "$(jget .row_count)" 100
check_eq "manifest has 5 columns" "$(jget '.columns | length')" 5
check_eq "email column flagged as PII" "$(jget '.columns[] | select(.name=="email") | .pii | index("email") != null')" true
check_eq "lineage names the source object" "$(jget '.lineage.source | tostring | contains("uploads/people.csv")')" true
check_eq "schema fingerprint present" "$(jget '.schema_fingerprint | length')" 64
http GET /catalog/datasets/by-name/people
check_eq "GET by name" "$(jget .name)" people

http_json POST /query/sql '{"sql":"SELECT city, count(*) AS n, sum(salary) AS total FROM people GROUP BY city ORDER BY city"}'
check_eq "aggregate query is 200" "$HTTP_STATUS" 200
check_eq "aggregate has 5 groups" "$(jget .row_count)" 5
check_eq "aggregate values" "$(jget '.rows[0] | @csv')" '"City0",20,1105000'
check_eq "columns carry types" "$(jget '.columns[1].type')" BIGINT
http_json POST /query/sql '{"sql":"SELECT id FROM people ORDER BY id","limit":7}'
check_eq "limit applies" "$(jget .row_count)" 7
check_eq "truncated is reported" "$(jget .truncated)" true

http_json PATCH /catalog/datasets/by-name/people/metadata '{"description":"People we place","owner":"ops","sensitivity":"confidential","tags":["hr","demo"],"columns":[{"name":"city","description":"home city"}]}'
check_eq "PATCH metadata is 200" "$HTTP_STATUS" 200
check_eq "PATCH changed description" "$(jget .description)" "People we place"

# --- restart: everything still there
lh_stop
lh_start "$DATA" || t_fail "server restarts"
http GET /catalog/datasets/by-name/people
check_eq "after restart: description kept" "$(jget .description)" "People we place"
check_eq "after restart: column description kept" "$(jget '.columns[] | select(.name=="city") | .description')" "home city"
check_eq "after restart: tags kept" "$(jget '.tags | join(",")')" "hr,demo"
http_json POST /query/sql '{"sql":"SELECT count(*) AS n FROM people"}'
check_eq "after restart: query works" "$(jget '.rows[0][0]')" 100

# --- bad inputs: documented error, nothing changes
snapshot() { curl -s "$LH_URL/catalog/datasets" | jq -S 'del(.datasets[].updated_at)' | sha256sum; curl -s "$LH_URL/storage/objects?prefix=" | jq -c '[.objects[] | select(.key | startswith("_access/") | not)]' | sha256sum; } # _access/: the query audit log records the refused queries (ADR 0082)
before=$(snapshot)
http POST /catalog/datasets -H 'Content-Type: application/json' --data-binary '{"name": "x", "objects": [}'
check_eq "malformed JSON body is 400" "$HTTP_STATUS" 400
check_eq "malformed JSON error says where" "$(jget '.error.message | test("line 1 column")')" true
check_eq "error shape has code" "$(jget .error.code)" bad_request
http GET /catalog/datasets/by-name/nope
check_eq "unknown dataset is 404" "$HTTP_STATUS" 404
check_eq "404 code" "$(jget .error.code)" not_found
http PUT "/storage/objects/a/..%2F..%2Fetc%2Fpasswd" --data-binary x
check_eq "traversal key is 400" "$HTTP_STATUS" 400
http PUT "/storage/objects/a/../b" --path-as-is --data-binary x
check_eq "dot-dot key is 400" "$HTTP_STATUS" 400
http PUT "/storage/objects/a%00b" --data-binary x
check_eq "NUL in key is 400" "$HTTP_STATUS" 400
head -c $((17 * 1024 * 1024)) /dev/zero >"$LH_TMP/big.json"
http POST /query/sql -H 'Content-Type: application/json' --data-binary @"$LH_TMP/big.json"
check_eq "oversize body is 413" "$HTTP_STATUS" 413
http_json POST /query/sql '{"sql":"SELEC 1"}'
check_eq "broken SQL is 400" "$HTTP_STATUS" 400
check_eq "broken SQL carries DuckDB's message" "$(jget '.error.message | test("syntax error"; "i")')" true
http_json POST /query/sql '{"sql":"SELECT * FROM no_such_table"}'
check_eq "unknown table is 400" "$HTTP_STATUS" 400
check_eq "unknown table message names it" "$(jget '.error.message | test("no_such_table")')" true
http_json POST /query/sql '{"sql":"DROP VIEW people"}'
check_eq "a write statement is refused" "$HTTP_STATUS" 403
http_json POST /catalog/datasets '{"name":"people","objects":["uploads/people.csv"]}'
check_eq "duplicate dataset is 409" "$HTTP_STATUS" 409
http_json POST /catalog/datasets '{"name":"ghost","objects":["uploads/missing.csv"]}'
check_eq "missing object is 404" "$HTTP_STATUS" 404
http_json POST /catalog/datasets '{"name":"bad name;","objects":["uploads/people.csv"]}'
check_eq "invalid dataset name is 400" "$HTTP_STATUS" 400
http_json PATCH /catalog/datasets/by-name/people/metadata '{"sensitivity":"ultra"}'
check_eq "bad PATCH value is 400" "$HTTP_STATUS" 400
http GET /no/such/route
check_eq "unknown route is 404" "$HTTP_STATUS" 404
http DELETE /health
check_eq "wrong method is 405" "$HTTP_STATUS" 405
check_eq "bad inputs changed nothing" "$(snapshot)" "$before"

# --- timeout really interrupts
start=$(date +%s%N)
http_json POST /query/sql '{"sql":"SELECT count(*) FROM range(100000000000) a","timeout_ms":300}'
ms=$(( ($(date +%s%N) - start) / 1000000 ))
case "$HTTP_STATUS" in 408|504) t_ok "timeout answers 408/504";; *) t_fail "timeout answers 408/504" "got $HTTP_STATUS $HTTP_BODY";; esac
check "timeout returns within 5 s (took ${ms} ms)" test "$ms" -lt 5000
http_json POST /query/sql '{"sql":"SELECT 42 AS x"}'
check_eq "server still answers after a timeout" "$(jget '.rows[0][0]')" 42

# --- metrics reflect the traffic
http GET /metrics
check "metrics count requests" grep -q 'lakehouse_http_requests_total{' <<<"$HTTP_BODY"
check "metrics have a latency histogram" grep -q 'lakehouse_http_request_duration_seconds_bucket' <<<"$HTTP_BODY"
check "metrics count errors" grep -q 'lakehouse_http_request_errors_total' <<<"$HTTP_BODY"

# --- delete
http DELETE /catalog/datasets/by-name/people
check_eq "DELETE dataset is 204" "$HTTP_STATUS" 204
http GET /catalog/datasets/by-name/people
check_eq "deleted dataset is gone" "$HTTP_STATUS" 404
http DELETE /storage/objects/uploads/people.csv
check_eq "DELETE object is 204" "$HTTP_STATUS" 204
http GET /storage/objects/uploads/people.csv
check_eq "deleted object is 404" "$HTTP_STATUS" 404
lh_stop
t_done
