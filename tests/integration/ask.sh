#!/usr/bin/env bash
# ask.sh — Ask (POST /ai/sql) against a local server speaking the Ollama API
# (tests/mock/ai_server.js) that returns fixed SQL: valid, invalid-then-valid
# (the retry carries DuckDB's error), a DROP TABLE that must be refused, and
# no LLM configured (503 with the hint). Also the dataset summary written by
# the LLM.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
LAKEHOUSE_DATA=$DATA "$LH_BIN" demo --scale 0.01 >"$LH_TMP/demo.log" 2>&1
check_eq "demo data" "$?" 0

# --- no LLM: 503 with the hint
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
http_json POST /ai/sql '{"question":"How many candidates are there?"}'
check_eq "no LLM configured is 503" "$HTTP_STATUS" 503
check_eq "the hint names the config to set" "$(jget '.error.hint | test("LAKEHOUSE_AI_URL")')" true
http GET /catalog/datasets/by-name/candidates/summary
check_eq "summary without an LLM is the computed profile" "$(jget .source) $(jget '.profile.columns | length')" "profile 18"
check_eq "profile: ssn has no nulls and is all distinct" "$(jget '.profile.columns[] | select(.name=="ssn") | [.null_rate, (.distinct == 1000)] | map(tostring) | join(" ")')" "0 true"
check_eq "profile: status has top values" "$(jget '.profile.columns[] | select(.name=="status") | .top | length > 0')" true
lh_stop

# --- the mock model server
mock_start "$ROOT/tests/mock/ai_server.js" --port 0
mock() { curl -s -X POST "$MOCK_URL/__control" --data-binary "$1" >/dev/null; }
lh_start "$DATA" LAKEHOUSE_AI_PROVIDER=ollama LAKEHOUSE_AI_URL="$MOCK_URL" LAKEHOUSE_AI_MODEL=mock-sql \
  || { t_fail "server starts with ollama"; t_done; exit 1; }

mock '{"replies":["```sql\nSELECT state, count(*) AS n FROM candidates GROUP BY state ORDER BY n DESC, state LIMIT 3;\n```"]}'
http_json POST /ai/sql '{"question":"Which three states have the most candidates?"}'
check_eq "valid SQL: 200" "$HTTP_STATUS" 200
check_eq "valid SQL: rows" "$(jget .row_count)" 3
check_eq "valid SQL: the SQL is returned without fences" "$(jget '.sql | startswith("SELECT state")')" true
check_eq "valid SQL: one attempt" "$(jget .attempts)" 1
prompt=$(curl -s "$MOCK_URL/__stats" | jq -r '.last.body')
check_eq "the prompt carries the catalog's tables and descriptions" \
  "$(echo "$prompt" | jq -r '[.messages[] | select(.role=="system") | .content] | join(" ") | (contains("candidates (") and contains("resume_text") and contains("People we place"))')" true

mock '{"replies":["SELECT count(*) FROM candidate","SELECT count(*) AS n FROM candidates"]}'
http_json POST /ai/sql '{"question":"How many candidates?"}'
check_eq "invalid-then-valid: 200" "$HTTP_STATUS" 200
check_eq "invalid-then-valid: two attempts" "$(jget .attempts)" 2
check_eq "invalid-then-valid: the answer" "$(jget '.rows[0][0]')" 1000
prompt=$(curl -s "$MOCK_URL/__stats" | jq -r '.last.body')
check_eq "the retry tells the model DuckDB's error" "$(echo "$prompt" | jq -r '[.messages[] | .content] | join(" ") | test("candidate.*does not exist"; "i")')" true

mock '{"replies":["DROP TABLE candidates"]}'
http_json POST /ai/sql '{"question":"Please delete everything"}'
check_eq "DROP TABLE is refused (422)" "$HTTP_STATUS" 422
check_eq "refusal says why" "$(jget '.error.message | test("not a read-only")')" true
http_json POST /query/sql '{"sql":"SELECT count(*) FROM candidates"}'
check_eq "the table is still there" "$(jget '.rows[0][0]')" 1000

mock '{"replies":["SELEC nonsense","SELECT * FROM nowhere"]}'
http_json POST /ai/sql '{"question":"gibberish"}'
check_eq "still invalid after the retry: 422" "$HTTP_STATUS" 422
check_eq "the error carries the SQL and DuckDB's message" "$(jget '.error.message | (contains("nowhere") and test("attempts"))')" true

http_json POST /ai/sql '{}'
check_eq "a missing question is 400" "$HTTP_STATUS" 400

mock '{"replies":["Candidates holds one row per person we place, with contact details and resumes."]}'
http GET /catalog/datasets/by-name/candidates/summary
check_eq "summary written by the LLM" "$(jget .source) $(jget '.summary | startswith("Candidates holds")')" "llm true"
lh_stop

# --- auth on: the model's SQL runs as the caller; the summary prompt carries no masked value
lh_start "$DATA" LAKEHOUSE_AUTH_ENABLED=true LAKEHOUSE_API_KEYS="ask-admin:admin,ask-read:read" \
  LAKEHOUSE_AI_PROVIDER=ollama LAKEHOUSE_AI_URL="$MOCK_URL" LAKEHOUSE_AI_MODEL=mock-sql \
  || { t_fail "server starts with auth"; t_done; exit 1; }
RK=(-H 'X-API-Key: ask-read')
mock '{"replies":["SELECT ssn FROM candidates LIMIT 3","SELECT ssn FROM __raw__candidates LIMIT 3"]}'
http_json POST /ai/sql '{"question":"Show me SSNs"}' "${RK[@]}"
check_eq "Ask as read: the model's SSN query is refused" "$HTTP_STATUS" 422
check "…and no SSN comes back" bash -c '! grep -qE "[0-9]{3}-[0-9]{2}-[0-9]{4}" <<<"$1"' _ "$HTTP_BODY"
mock '{"replies":["SELECT email FROM candidates ORDER BY candidate_id LIMIT 3"]}'
http_json POST /ai/sql '{"question":"e-mails?"}' "${RK[@]}"
check_eq "Ask as read: e-mails come back hashed" "$HTTP_STATUS $(jget '[.rows[][0] | test("^[0-9a-f]{16}$")] | all')" "200 true"
mock '{"replies":["A summary."]}'
http GET /catalog/datasets/by-name/candidates/summary "${RK[@]}"
check_eq "summary as read: 200 from the LLM" "$HTTP_STATUS $(jget .source)" "200 llm"
prompt=$(curl -s "$MOCK_URL/__stats" | jq -r '.last.body')
check "the LLM got no e-mail or SSN value" bash -c "! grep -qE '[a-z0-9._]+@[a-z0-9.]+\\.[a-z]+|[0-9]{3}-[0-9]{2}-[0-9]{4}' <<<\"\$1\"" _ "$prompt"
lh_stop
t_done
