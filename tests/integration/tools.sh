#!/usr/bin/env bash
# tools.sh — the tool registry against demo data (scale 0.02, seed 7):
# each tool's happy path with answers checked against independent SQL,
# parameter violations are 422 naming the parameter, an injection attempt is
# treated as a literal, role checks (403) are audited, audit survives restart.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
LAKEHOUSE_DATA=$DATA "$LH_BIN" demo --scale 0.02 --seed 7 >"$LH_TMP/demo.log" 2>&1
check_eq "demo generates at scale 0.02" "$?" 0
KEYS="admin-key:admin,reader-key:read,writer-key:write"
lh_start "$DATA" LAKEHOUSE_AUTH_ENABLED=true LAKEHOUSE_API_KEYS="$KEYS" || { t_fail "server starts"; t_done; exit 1; }
t_ok "server starts with auth on"
A=(-H 'X-API-Key: admin-key'); R=(-H 'X-API-Key: reader-key'); W=(-H 'X-API-Key: writer-key')
sql() { curl -s "${A[@]}" -H 'Content-Type: application/json' --data-binary "$(jq -n --arg s "$1" '{sql:$s}')" "$LH_URL/query/sql"; }
call() { http_json POST "/tools/$1/call" "$2" "${@:3}"; }

# --- describe
http GET /tools "${R[@]}"
check_eq "GET /tools lists 7 tools" "$(jget '.tools | length')" 7
check_eq "search_candidates is described as JSON Schema" "$(jget '.tools[] | select(.name=="search_candidates") | .parameters.required | join(",")')" skills
http GET /tools/revenue_by_client "${R[@]}"
check_eq "GET /tools/{name}: date parameters have format date" "$(jget '.parameters.properties.start_date.format')" date
check_eq "GET /tools/{name}: permission" "$(jget .permission)" read
http GET /tools/nope "${R[@]}"
check_eq "unknown tool is 404" "$HTTP_STATUS" 404

# --- happy paths with known answers
call get_candidate '{"params":{"candidate_id":1}}' "${R[@]}"
check_eq "get_candidate is 200" "$HTTP_STATUS" 200
want=$(sql "SELECT first_name || ' ' || email FROM candidates WHERE candidate_id = 1" | jq -r '.rows[0][0]')
check_eq "get_candidate returns candidate 1" "$(jget '.rows[0][1]')" "${want%% *}"
check_eq "get_candidate as read: the e-mail is hashed (its role's view)" "$(jget '.rows[0][3] | test("^[0-9a-f]{16}$")')" true
call get_candidate '{"params":{"candidate_id":1}}' "${A[@]}"
check_eq "get_candidate as admin: the e-mail itself" "$(jget '.rows[0][1] + " " + .rows[0][3]')" "$want"
call get_candidate '{"params":{"candidate_id":1}}' "${R[@]}"
check_eq "get_candidate never returns the SSN" "$(jget '[.columns[].name] | index("ssn")')" null
want=$(sql "SELECT count(*) FROM placements WHERE candidate_id = 1" | jq -r '.rows[0][0]')
check_eq "get_candidate counts placements" "$(jget '.rows[0][14]')" "$want"

call revenue_by_client '{"params":{"start_date":"2026-01-01","end_date":"2026-06-30","limit":3}}' "${R[@]}"
check_eq "revenue_by_client is 200" "$HTTP_STATUS" 200
check_eq "revenue_by_client returns 3 rows" "$(jget .row_count)" 3
want=$(sql "SELECT client_id, round(sum(hours*bill_rate),2) r FROM timesheets WHERE week_ending >= DATE '2026-01-01' AND week_ending <= DATE '2026-06-30' GROUP BY 1 ORDER BY r DESC, client_id LIMIT 1" | jq -c '.rows[0]')
check_eq "revenue_by_client top client matches SQL" "$(jget '[.rows[0][0], .rows[0][2]] | tostring')" "$want"

call recruiter_performance '{"params":{"start_date":"2025-01-01","end_date":"2026-10-31","limit":250}}' "${R[@]}"
check_eq "recruiter_performance is 200" "$HTTP_STATUS" 200
want=$(sql "SELECT count(*) FROM placements WHERE start_date BETWEEN DATE '2025-01-01' AND DATE '2026-10-31'" | jq -r '.rows[0][0]')
check_eq "recruiter_performance placements add up" "$(jget '[.rows[][3]] | add')" "$want"

call cold_leads '{"params":{"days":120,"as_of":"2026-10-31","limit":1000}}' "${R[@]}"
check_eq "cold_leads is 200" "$HTTP_STATUS" 200
want=$(sql "SELECT count(*) FROM candidates c WHERE status IN ('active','passive') AND NOT EXISTS (SELECT 1 FROM activities a WHERE a.candidate_id = c.candidate_id AND CAST(a.activity_at AS DATE) > DATE '2026-10-31' - 120 AND a.activity_at < DATE '2026-11-01')" | jq -r '.rows[0][0]')
check_eq "cold_leads finds every silent candidate" "$(jget .row_count)" "$want"

call open_jobs '{"params":{"category":"IT","limit":1000}}' "${R[@]}"
want=$(sql "SELECT count(*) FROM job_orders WHERE status='open' AND category='IT'" | jq -r '.rows[0][0]')
check_eq "open_jobs by category matches SQL" "$(jget .row_count)" "$want"

call search_candidates '{"params":{"skills":"registered nurse ICU","limit":5}}' "${R[@]}"
check_eq "search_candidates is 200" "$HTTP_STATUS" 200
check "search_candidates returns candidates" test "$(jget .row_count)" -gt 0
check_eq "search_candidates leaves out do_not_contact" "$(jget '[.rows[][9]] | index("do_not_contact")')" null
check_eq "search_candidates finds nurses first" "$(jget '.rows[0][6] | test("Nurse|ICU|Registered")')" true
check_eq "search_candidates says it used hybrid search" "$(jget .search.mode)" hybrid
# filters are pushed into the search: a rare city still yields `limit` rows, all of it
CITY=$(sql "SELECT city FROM candidates WHERE status <> 'do_not_contact' AND years_experience >= 5 GROUP BY city HAVING count(*) BETWEEN 8 AND 40 ORDER BY count(*), city LIMIT 1" | jq -r '.rows[0][0]')
call search_candidates "$(jq -cn --arg c "$CITY" '{params:{skills:"registered nurse ICU",city:$c,min_years:5,limit:5}}')" "${R[@]}"
check_eq "search_candidates with a rare city returns exactly limit rows" "$HTTP_STATUS/$(jget .row_count)" "200/5"
check_eq "... all in that city, with the years asked for" "$(jget "[.rows[] | (.[3] == \"$CITY\" and .[7] >= 5)] | all")" true
check "... and the filter it pushed down is reported" grep -q "years_experience >= 5" <<<"$(jget .search.filter)"
call search_candidates "{\"params\":{\"skills\":\"nurse\",\"city\":\"x') OR (1=1\",\"limit\":3}}" "${R[@]}"
check_eq "a hostile city is a literal inside the filter (no rows, no error)" "$HTTP_STATUS/$(jget .row_count)" "200/0"

# --- parameter violations: 422 naming the parameter, nothing runs
viol() { # name params want-param
  call "$1" "{\"params\":$2}" "${R[@]}"
  if [ "$HTTP_STATUS" = 422 ] && jget .error.message | grep -q "'$3'"; then t_ok "$1 $2 → 422 naming $3"
  else t_fail "$1 $2 → 422 naming $3" "got $HTTP_STATUS $HTTP_BODY"; fi
}
viol get_candidate '{}' candidate_id
viol get_candidate '{"candidate_id":"7"}' candidate_id
viol get_candidate '{"candidate_id":0}' candidate_id
viol revenue_by_client '{"start_date":"2026-02-30","end_date":"2026-03-01"}' start_date
viol revenue_by_client '{"start_date":"2026-05-01","end_date":"2026-03-01"}' end_date
viol revenue_by_client '{"start_date":"2026-01-01","end_date":"2026-03-01","limit":5000}' limit
viol cold_leads '{"days":-3}' days
viol open_jobs '{"category":"Plumbing"}' category
viol search_candidates '{"skills":"java","colour":"blue"}' colour
viol search_candidates '{"skills":""}' skills

# --- injection: the string is a literal, nothing changes
before=$(sql "SELECT count(*) FROM candidates" | jq -r '.rows[0][0]')
call open_jobs "{\"params\":{\"city\":\"x' OR '1'='1\"}}" "${R[@]}"
check_eq "injection in a string parameter is a literal (no rows)" "$(jget .row_count)" 0
call search_candidates "{\"params\":{\"skills\":\"java'); DROP TABLE candidates; --\",\"limit\":3}}" "${R[@]}"
check_eq "injection in skills still answers 200" "$HTTP_STATUS" 200
check_eq "injection changed nothing" "$(sql "SELECT count(*) FROM candidates" | jq -r '.rows[0][0]')" "$before"

# --- permissions
before=$(sql "SELECT count(*) FROM activities" | jq -r '.rows[0][0]')
call log_activity '{"params":{"candidate_id":1,"activity_type":"call","subject":"Checked in"}}' "${R[@]}"
check_eq "a read key cannot call a write tool (403)" "$HTTP_STATUS" 403
call log_activity '{"params":{"candidate_id":1,"activity_type":"call","subject":"Checked in; DROP TABLE x"}}' "${W[@]}"
check_eq "a write key can call it" "$HTTP_STATUS" 200
check_eq "the write tool appended one row" "$(sql "SELECT count(*) FROM activities" | jq -r '.rows[0][0]')" "$((before + 1))"
check_eq "the subject was stored literally" "$(sql "SELECT subject FROM activities ORDER BY activity_id DESC LIMIT 1" | jq -r '.rows[0][0]')" "Checked in; DROP TABLE x"
http POST /tools/get_candidate/call -H 'Content-Type: application/json' --data-binary '{"params":{"candidate_id":1}}'
check_eq "no key is 401" "$HTTP_STATUS" 401

# --- audit
http GET /tools/audit "${R[@]}"
check_eq "audit needs admin" "$HTTP_STATUS" 403
http GET "/tools/audit?limit=500" "${A[@]}"
check_eq "the denial is audited" "$(jget '[.records[] | select(.tool=="log_activity" and .outcome=="denied" and .caller=="key2")] | length')" 1
check_eq "invalid calls are audited" "$(jget '[.records[] | select(.outcome=="invalid")] | length')" 10
check_eq "audit records rows and duration" "$(jget '[.records[] | select(.tool=="revenue_by_client" and .outcome=="ok")][0] | (.rows == 3 and .elapsed_ms > 0)')" true
n_before=$(jget '.records | length')
lh_stop
lh_start "$DATA" LAKEHOUSE_AUTH_ENABLED=true LAKEHOUSE_API_KEYS="$KEYS" || t_fail "server restarts"
http GET "/tools/audit?limit=500" "${A[@]}"
check_eq "audit survives a restart" "$(jget '.records | length')" "$n_before"
lh_stop
t_done
