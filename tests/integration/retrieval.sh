#!/usr/bin/env bash
# retrieval.sh — retrieval people can trust, through a real server with auth
# on (searches as the read role) and the mock model server as the LLM and
# the cross-encoder: hybrid search by default ranking an identifier first,
# keyword mode, SQL-filtered search (exactly k allowed rows, hostile
# filters refused), vector_search(..., filter :=, mode :=) in SQL, /ai/rerank
# and the search rerank stage answered by the mock cross-encoder, RAG whose
# model cites a passage that does not exist falling back to the extractive
# answer with a note.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data

mock_start "$ROOT/tests/mock/ai_server.js" --port 0
mock() { curl -s -X POST "$MOCK_URL/__control" --data-binary "$1" >/dev/null; }
mstat() { curl -s "$MOCK_URL/__stats" | jq -r "$1"; }

KEYS="admin-key:admin,reader-key:read"
lh_start "$DATA" LAKEHOUSE_AUTH_ENABLED=true LAKEHOUSE_API_KEYS="$KEYS" LAKEHOUSE_AI_PROVIDER=ollama \
  LAKEHOUSE_AI_URL="$MOCK_URL" LAKEHOUSE_AI_MODEL=mock-chat LAKEHOUSE_AI_RERANK_MODEL=mock-rerank ||
  { t_fail "server starts"; t_done; exit 1; }
t_ok "server starts"
A=(-H 'X-API-Key: admin-key'); R=(-H 'X-API-Key: reader-key')

TOPICS=("ICU registered nurse with critical care and ventilator experience"
  "Java developer building Spring Boot services on AWS"
  "forklift operator working warehouse night shifts"
  "accountant preparing tax returns and payroll reports")
{ echo "id,city,ssn,body"
  for i in $(seq 1 300); do
    city=Lima; [ $((i % 25)) -eq 0 ] && city=Oslo
    extra=""; [ "$i" -eq 150 ] && extra=" Invoice INV-39921-QX was paid late."
    echo "$i,$city,$(printf '123-45-%04d' "$i"),\"Candidate $i is a ${TOPICS[$((i % 4))]}. Code word uniq$i.$extra\""
  done; } >"$LH_TMP/people.csv"
http PUT /storage/objects/uploads/people.csv --data-binary @"$LH_TMP/people.csv" "${A[@]}"
http_json POST /catalog/datasets '{"name":"people","objects":["uploads/people.csv"]}' "${A[@]}"
check_eq "dataset registered" "$HTTP_STATUS" 201
http_json POST /vectors/index '{"dataset":"people","id_column":"id","text_column":"body","index_name":"people_idx"}' "${A[@]}"
JOB=$(jget .job_id)
for _ in $(seq 1 300); do
  http GET "/jobs/$JOB" "${A[@]}"
  case "$(jget .state)" in done|failed) break ;; esac
  sleep 0.1
done
check_eq "the index builds" "$(jget .state)" done
http GET /vectors/indexes/people_idx "${R[@]}"
check_eq "the index has a keyword index of its generation" "$(jget .keyword.file)/$(jget .keyword.language)" "bm25-1.bin/en"

# --- hybrid by default, keyword mode
http_json POST /vectors/search '{"index":"people_idx","query":"INV-39921-QX","k":5}' "${R[@]}"
check_eq "default search is hybrid and ranks the identifier's document first" "$HTTP_STATUS/$(jget .mode)/$(jget '.results[0].doc_id')" "200/hybrid/150"
check "hybrid hits carry both scores" test "$(jget '.results[0].keyword_score != null and .results[0].vector_score != null')" = true
http_json POST /vectors/search '{"index":"people_idx","query":"inv-39921-qx","k":5,"mode":"keyword"}' "${R[@]}"
check_eq "keyword mode finds it alone" "$(jget .mode)/$(jget '.results | length')/$(jget '.results[0].doc_id')" "keyword/1/150"
http_json POST /vectors/search '{"index":"people_idx","query":"nurse","k":5,"weights":{"vector":1,"keyword":0.5}}' "${R[@]}"
check_eq "weights are echoed" "$(jget .weights.keyword)" 0.5
http_json POST /vectors/search '{"index":"people_idx","query":"nurse","weights":{"vector":-1}}' "${R[@]}"
check_eq "a negative weight is 400" "$HTTP_STATUS" 400

# --- filtered search
http_json POST /vectors/search '{"index":"people_idx","query":"Java developer Spring Boot","k":5,"filter":"city = '"'Oslo'"'"}' "${R[@]}"
check_eq "filtered search is 200 with 12 allowed rows" "$HTTP_STATUS/$(jget .filter.allowed_rows)" "200/12"
check_eq "exactly k results, all from Oslo" "$(jget '[.results[].doc_id | tonumber % 25] | map(tostring) | join(",")')" "0,0,0,0,0"
check_eq "the Java developers of Oslo come first" "$(jget '[.results[0:3][].text | contains("Java")] | all')" true
for bad in "nope_col = 1" "1=1); DROP TABLE people; --" "city = 'Oslo') OR (1=1" "city = 'Oslo" "x; SELECT 1"; do
  http_json POST /vectors/search "$(jq -cn --arg f "$bad" '{index:"people_idx",query:"nurse",filter:$f}')" "${R[@]}"
  check_eq "hostile or wrong filter is 400: $bad" "$HTTP_STATUS" 400
done
http_json POST /vectors/search '{"index":"people_idx","query":"nurse","filter":42}' "${R[@]}"
check_eq "a non-string filter is 400" "$HTTP_STATUS" 400

# --- the filter runs as the caller
http_json POST /vectors/search '{"index":"people_idx","query":"nurse","k":3,"filter":"ssn = '"'123-45-0150'"'"}' "${A[@]}"
check_eq "admin may filter on the SSN column" "$HTTP_STATUS/$(jget .filter.allowed_rows)/$(jget '.results[0].doc_id')" "200/1/150"
http_json POST /vectors/search '{"index":"people_idx","query":"nurse","k":3,"filter":"ssn = '"'123-45-0150'"'"}' "${R[@]}"
check "the read role cannot use the SSN as an oracle" test "$HTTP_STATUS" != 200 -o "$(jget .filter.allowed_rows)" = 0
http_json POST /vectors/search '{"index":"people_idx","query":"nurse","filter":"id IN (SELECT 1 FROM read_csv('"'/etc/passwd'"'))"}' "${R[@]}"
check_eq "a filter reading files is refused for the read role" "$HTTP_STATUS" 403

# --- SQL (vector functions are the system's and admin's: the guard refuses them to other roles)
SQL="SELECT p.id, p.city FROM vector_search('people_idx', 'nurse', 4, filter := 'city = ''Oslo''', mode := 'keyword') v JOIN people p ON p.id = CAST(v.doc_id AS BIGINT)"
http_json POST /query/sql "$(jq -cn --arg s "$SQL" '{sql:$s}')" "${A[@]}"
check_eq "vector_search takes filter and mode in SQL" "$HTTP_STATUS/$(jget '[.rows[][1]] | unique | join(",")')/$(jget .row_count)" "200/Oslo/3"
SQL="SELECT * FROM vector_search('people_idx', 'nurse', 4, filter := 'nope = 1')"
http_json POST /query/sql "$(jq -cn --arg s "$SQL" '{sql:$s}')" "${A[@]}"
check_eq "a bad filter in SQL is 400" "$HTTP_STATUS" 400
http_json POST /query/sql "$(jq -cn --arg s "$SQL" '{sql:$s}')" "${R[@]}"
check_eq "vector_search in the read role's own SQL is refused" "$HTTP_STATUS" 403

# --- rerank: the mock cross-encoder
http_json POST /ai/rerank '{"query":"forklift night shifts","documents":["java developer","forklift operator working warehouse night shifts","night owl"]}' "${R[@]}"
check_eq "/ai/rerank uses the cross-encoder" "$HTTP_STATUS/$(jget .reranker)/$(jget '.results[0].index')" "200/cross-encoder:mock-rerank/1"
check_eq "the mock scored the pairs" "$(mstat '.requests["/v1/rerank"]')" 1
check_eq "its scores are the cross-encoder's" "$(jget '.results[0].score')" 1
http_json POST /vectors/search '{"index":"people_idx","query":"forklift warehouse","k":3,"rerank":true}' "${R[@]}"
check_eq "search rerank stage names the cross-encoder" "$HTTP_STATUS/$(jget .reranker)" "200/cross-encoder:mock-rerank"
check_eq "reranked hits hold the query words" "$(jget '[.results[].text | contains("forklift")] | all')" true
mock '{"mode":"badshape"}'
http_json POST /ai/rerank '{"query":"a","documents":["a","b"]}' "${R[@]}"
check_eq "a cross-encoder answering too few scores is 502" "$HTTP_STATUS" 502
mock '{"mode":"ok"}'

# --- RAG citations
mock '{"reply":"Candidate 4 is a nurse [9]."}'
http_json POST /vectors/rag '{"index":"people_idx","question":"Which candidate is an ICU nurse?","k":3}' "${R[@]}"
check_eq "a model citing a passage that does not exist: extractive" "$HTTP_STATUS/$(jget .mode)" "200/extractive"
check "the note says why" grep -q "\[9\], which does not exist" <<<"$(jget .note)"
mock '{"reply":"Candidate 4 is an ICU nurse [1]."}'
http_json POST /vectors/rag '{"index":"people_idx","question":"Which candidate is an ICU nurse?","k":3,"filter":"city = '"'Oslo'"'"}' "${R[@]}"
check_eq "a well-cited model answer is kept" "$(jget .mode)/$(jget .answer)" "llm/Candidate 4 is an ICU nurse [1]."
check_eq "RAG passages honour the filter" "$(jget '[.citations[].doc_id | tonumber % 25] | unique | map(tostring) | join(",")')" 0
mock '{"mode":"fail","status":500}'
http_json POST /vectors/rag '{"index":"people_idx","question":"Which candidate is an ICU nurse?","k":3}' "${R[@]}"
check_eq "a failing model: extractive with a note" "$HTTP_STATUS/$(jget .mode)/$(jget '.note | test("model failed")')" "200/extractive/true"
mock '{"mode":"ok"}'

lh_stop
t_done
