#!/usr/bin/env bash
# journal_access.sh — the event journal and access control through the
# gateway, with auth on (admin/read/write keys) over demo data:
# journal: record events and updates (actor = the caller's key), history in
# order across the buffer and Parquet files, recent/stats, flush on demand,
# by the 5 s timer and at shutdown, the journal_events SQL view, bad input;
# access: built-in and custom roles (persisted, admin fixed), decisions for
# the demo's candidates table, masked queries, and the audit record of
# every /query/sql (ok, error, rows), which survives a restart.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
LAKEHOUSE_DATA=$DATA "$LH_BIN" demo --scale 0.02 --seed 7 >"$LH_TMP/demo.log" 2>&1
check_eq "demo generates at scale 0.02" "$?" 0
KEYS="admin-key:admin,reader-key:read,writer-key:write" # named key1, key2, key3
start() { lh_start "$DATA" LAKEHOUSE_AUTH_ENABLED=true LAKEHOUSE_API_KEYS="$KEYS"; }
start || { t_fail "server starts"; t_done; exit 1; }
t_ok "server starts with auth on"
A=(-H 'X-API-Key: admin-key'); R=(-H 'X-API-Key: reader-key'); W=(-H 'X-API-Key: writer-key')
sql() { curl -s "$@" -H 'Content-Type: application/json' --data-binary "$(jq -n --arg s "$SQL" '{sql:$s}')" "$LH_URL/query/sql"; }

# ---- journal: recording -----------------------------------------------------
http_json POST /journal/event '{"entity":"candidate","entity_id":"C-1","event_type":"create","source":"ats","workspace":"ws-a"}' "${W[@]}"
check_eq "POST /journal/event is 201" "$HTTP_STATUS" 201
check_eq "the event gets a uuid" "$(jget '.id | length')" 36
check_eq "the actor defaults to the caller's key" "$(jget .actor)" key3
check_eq "the event keeps its source and workspace" "$(jget '.source + "/" + .workspace')" "ats/ws-a"
http_json POST /journal/update '{"entity":"candidate","entity_id":"C-1","actor":"alice","changes":[{"field":"status","old_value":"new","new_value":"screened"},{"field":"desired_salary","old_value":90000,"new_value":95000}]}' "${W[@]}"
check_eq "POST /journal/update is 201" "$HTTP_STATUS" 201
check_eq "an update with 2 changes records 2 events" "$(jget '[.events[].event_type] | join(",")')" "update,update"
check_eq "non-string values are kept as JSON text" "$(jget '.events[1].new_value')" 95000
http_json POST /journal/update '{"entity":"candidate","entity_id":"C-2","field":"status","old_value":"new","new_value":"placed"}' "${W[@]}"
check_eq "a single-field update is 201" "$HTTP_STATUS" 201
http_json POST /journal/event '{"entity":"candidate","entity_id":"C-1"}' "${R[@]}"
check_eq "a read key may not record (403)" "$HTTP_STATUS" 403
http_json POST /journal/event '{"entity":"candidate"}' "${W[@]}"
check_eq "an event without entity_id is 400" "$HTTP_STATUS/$(jget .error.code)" "400/bad_request"
http_json POST /journal/event '{"entity":"candidate","entity_id":"C-1","colour":"red"}' "${W[@]}"
check_eq "an unknown field is 400 naming it" "$(jget '.error.message | contains("colour")')" true
http_json POST /journal/update '{"entity":"candidate","entity_id":"C-1","changes":[{"field":"a"},{"new_value":1}]}' "${W[@]}"
check_eq "an update with a bad change is 400 naming it" "$HTTP_STATUS/$(jget '.error.message | contains("changes[1]")')" "400/true"
http_json POST /journal/event '{"entity":"candidate","entity_id":"C 7/x","field":"note","new_value":"odd id"}' "${W[@]}"

# ---- journal: reading --------------------------------------------------------
http GET /journal/history/C-1 "${R[@]}"
check_eq "history is 200 for a reader" "$HTTP_STATUS" 200
check_eq "history lists the entity's events in order" "$(jget '[.events[] | .event_type + ":" + (.field // "-")] | join(",")')" "create:-,update:status,update:desired_salary"
check_eq "history names the entity" "$(jget .entity_id)" C-1
http GET "/journal/history/C%207%2Fx" "${R[@]}"
check_eq "history of a percent-encoded id" "$(jget '.events[0].new_value')" "odd id"
http GET "/journal/history/C-1?field=status" "${R[@]}"
check_eq "history filters by field" "$(jget .count)" 1
http GET "/journal/recent?limit=2" "${R[@]}"
check_eq "recent is newest first, truncated" "$(jget '.events[0].entity_id + "," + (.truncated|tostring)')" "C 7/x,true"
http GET "/journal/recent?actor=alice" "${R[@]}"
check_eq "recent filters by actor" "$(jget .count)" 2
http GET "/journal/recent?limit=0" "${R[@]}"
check_eq "a bad limit is 400" "$HTTP_STATUS" 400
http GET "/journal/recent?since=yesterday" "${R[@]}"
check_eq "a bad since is 400" "$HTTP_STATUS" 400
http GET "/journal/recent?since=2000-01-01T00:00:00Z" "${R[@]}"
check_eq "since in RFC 3339 keeps newer events" "$(jget .count)" 5
http GET /journal/stats "${R[@]}"
check_eq "stats before a flush: 5 events buffered, no file" "$(jget '[.total_events, .buffered, .files] | join(",")')" "5,5,0"
check_eq "stats count by entity and actor" "$(jget '[.by_entity.candidate, .by_actor.alice] | join(",")')" "5,2"

# ---- journal: flushing -------------------------------------------------------
http POST /journal/flush "${R[@]}"
check_eq "a read key may not flush (403)" "$HTTP_STATUS" 403
http POST /journal/flush "${W[@]}"
check_eq "POST /journal/flush writes the buffer" "$HTTP_STATUS/$(jget .flushed)" "200/5"
check_eq "into _journal/events-*.parquet" "$(jget '.file | test("^_journal/events-[0-9]+-[0-9]+\\.parquet$")')" true
http GET "/storage/objects?prefix=_journal/" "${R[@]}"
check_eq "a read key does not list reserved storage" "$(jget '.objects | length')" 0
http GET "/storage/objects?prefix=_journal/" "${A[@]}"
check_eq "the Parquet file is in the bucket" "$(jget '[.objects[].key | select(endswith(".parquet"))] | length')" 1
http GET /journal/history/C-1 "${R[@]}"
check_eq "history reads the Parquet file" "$(jget .count)" 3
http POST /journal/flush "${W[@]}"
check_eq "flushing an empty buffer writes nothing" "$(jget '(.flushed|tostring) + "," + (.file|tostring)')" "0,null"
SQL="SELECT count(*), count(DISTINCT entity_id) FROM journal_events"
check_eq "the journal_events view reads the files by SQL" "$(sql "${A[@]}" | jq -c '.rows[0]')" "[5,3]"
http_json POST /journal/event '{"entity":"candidate","entity_id":"C-1","field":"status","new_value":"placed"}' "${W[@]}"
http GET /journal/history/C-1 "${R[@]}"
check_eq "history joins file and buffer" "$(jget '(.count|tostring) + "," + .events[3].new_value')" "4,placed"
ok=0
for _ in $(seq 1 80); do # default timer: 5 s
  http GET /journal/stats "${R[@]}"
  [ "$(jget .buffered)" = 0 ] && { ok=1; break; }
  sleep 0.1
done
check_eq "the flush thread writes the buffer within the 5 s interval" "$ok/$(jget .files)" "1/2"

# ---- access: roles and decisions -----------------------------------------------
http GET /access/roles "${R[@]}"
check_eq "GET /access/roles lists the 6 built-ins" "$(jget '[.roles[].name] | join(",")')" "admin,agent,analyst,read,recruiter,write"
http_json POST /access/check '{"role":"agent","dataset":"candidates"}' "${R[@]}"
check_eq "POST /access/check is 200" "$HTTP_STATUS" 200
dec() { jget "[.columns[] | select(.name==\"$1\") | .decision + (if .mask then \":\" + .mask else \"\" end)][0]"; }
check_eq "agent: ssn denied" "$(dec ssn)" deny
check_eq "agent: email hashed" "$(dec email)" mask:hash
check_eq "agent: phone partial" "$(dec phone)" mask:partial
check_eq "agent: desired_salary partial" "$(dec desired_salary)" mask:partial
check_eq "agent: internal columns allowed" "$(dec skills)" allow
check_eq "the decision carries a masked SELECT without ssn" "$(jget '.select | (contains("lh_mask_hash") and (contains("\"ssn\"") | not))')" true
http_json POST /access/check '{"role":"recruiter","dataset":"candidates","columns":["email","ssn"]}' "${R[@]}"
check_eq "recruiter: email allowed, ssn denied" "$(jget '[.allowed[0], .denied[0]] | join(",")')" "email,ssn"
http_json POST /access/check '{"role":"ghost","dataset":"candidates"}' "${R[@]}"
check_eq "an unknown role is 404" "$HTTP_STATUS" 404
http_json POST /access/check '{"role":"agent","dataset":"nope"}' "${R[@]}"
check_eq "an unknown dataset is 404" "$HTTP_STATUS" 404
http_json POST /access/check '{"role":"agent","dataset":"candidates","columns":["nope"]}' "${R[@]}"
check_eq "an unknown column is 422" "$HTTP_STATUS" 422
http_json POST /access/check '{"dataset":"candidates"}' "${R[@]}"
check_eq "a missing role is 400" "$HTTP_STATUS" 400

ROLE='{"name":"payroll","description":"pay data only","max_sensitivity":"confidential","pii":{"salary":"allow","email":"mask:partial"}}'
http_json POST /access/roles "$ROLE" "${W[@]}"
check_eq "a write key may not define roles (403)" "$HTTP_STATUS" 403
http_json POST /access/roles "$ROLE" "${A[@]}"
check_eq "POST /access/roles creates (201)" "$HTTP_STATUS" 201
check_eq "unnamed PII kinds default to deny" "$(jget .pii.phone)" deny
http_json POST /access/roles "$ROLE" "${A[@]}"
check_eq "posting it again replaces (200)" "$HTTP_STATUS" 200
http_json POST /access/roles '{"name":"admin","max_sensitivity":"public"}' "${A[@]}"
check_eq "admin cannot be changed (403)" "$HTTP_STATUS" 403
http_json POST /access/roles '{"name":"x","pii":{"email":"sometimes"}}' "${A[@]}"
check_eq "a bad rule is 400" "$HTTP_STATUS" 400
http_json POST /access/roles '{"name":"temp","max_sensitivity":"public"}' "${A[@]}"
http DELETE /access/roles/temp "${A[@]}"
check_eq "DELETE /access/roles/{name} is 204" "$HTTP_STATUS" 204
http DELETE /access/roles/temp "${A[@]}"
check_eq "deleting it again is 404" "$HTTP_STATUS" 404

# ---- access: masked queries ------------------------------------------------------
http_json POST /access/keys '{"name":"pay","role":"payroll"}' "${A[@]}"; P=(-H "X-API-Key: $(jget .key)")
http_json POST /access/keys '{"name":"bot","role":"agent"}' "${A[@]}"; G=(-H "X-API-Key: $(jget .key)")
http_json POST /access/query '{"role":"payroll","dataset":"candidates"}' "${R[@]}"
check_eq "POST /access/query with another role than the caller's is 403" "$HTTP_STATUS" 403
http_json POST /access/query '{"dataset":"candidates","columns":["candidate_id","email","phone","desired_salary"],"limit":3}' "${P[@]}"
check_eq "POST /access/query is 200 with 3 rows" "$HTTP_STATUS/$(jget .row_count)" "200/3"
check_eq "denied columns are left out" "$(jget '[.columns[].name] | join(",")')" "candidate_id,email,desired_salary"
check_eq "partial e-mails keep the first letter and the domain" "$(jget '.rows[0][1] | test("^.\\*\\*\\*@")')" true
SQL="SELECT desired_salary FROM candidates ORDER BY candidate_id LIMIT 1"
check_eq "allowed columns are unchanged" "$(jget '.rows[0][2]')" "$(sql "${A[@]}" | jq -r '.rows[0][0]')"
http_json POST /access/query '{"role":"agent","dataset":"candidates","columns":["ssn"]}' "${G[@]}"
check_eq "a query of only denied columns is 403" "$HTTP_STATUS" 403

# ---- access: query audit -----------------------------------------------------------
SQL="SELECT candidate_id FROM candidates ORDER BY 1 LIMIT 4"; sql "${R[@]}" >/dev/null
SQL="SELECT nope FROM candidates"; sql "${R[@]}" >/dev/null
http GET /access/audit "${R[@]}"
check_eq "a read key may not read the audit log (403)" "$HTTP_STATUS" 403
http GET "/access/audit?caller=key2" "${A[@]}"
check_eq "the failed query is audited as an error" "$(jget '[.records[] | select(.kind == "sql")][0] | .outcome + "," + .kind + "," + .role')" "error,sql,read"
check_eq "the good query is audited with its rows" "$(jget '[.records[] | select(.kind == "sql")][1] | .outcome + "," + (.rows|tostring) + "," + .sql')" "ok,4,SELECT candidate_id FROM candidates ORDER BY 1 LIMIT 4"
check_eq "the refused GET /access/audit is audited too" "$(jget '.records[0] | .kind + "," + .outcome + "," + .sql')" "auth,denied,GET /access/audit"
check "the audit record has a duration" test "$(jget '[.records[] | select(.kind == "sql")][1].elapsed_ms >= 0')" = true
http GET "/access/audit?outcome=denied" "${A[@]}"
check_eq "the denied masked query is audited" "$(jget '[.records[] | select(.kind != "auth")][0] | .kind + "," + .role')" "access_query,agent"

# ---- restart: journal flushed at shutdown, roles and audit persisted -----------------
http_json POST /journal/event '{"entity":"job","entity_id":"J-1","field":"status","new_value":"open"}' "${W[@]}"
lh_stop
start || { t_fail "server restarts"; t_done; exit 1; }
http GET /journal/history/J-1 "${R[@]}"
check_eq "an event buffered at shutdown is flushed and found after restart" "$(jget '.events[0].new_value')" open
http GET /journal/stats "${R[@]}"
check_eq "all 7 events are in files after restart" "$(jget '[.total_events, .buffered] | join(",")')" "7,0"
http GET /access/roles/payroll "${R[@]}"
check_eq "custom roles survive a restart" "$(jget .pii.email)" mask:partial
http GET "/access/audit?caller=key2&limit=5" "${A[@]}"
check_eq "the audit log survives a restart" "$(jget '[.records[] | select(.kind == "sql") | .sql] | index("SELECT nope FROM candidates")')" 0

t_done
