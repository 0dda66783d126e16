#!/usr/bin/env bash
# ai_providers.sh — POST /ai/embed, /ai/generate, /ai/rerank and the ai part
# of /system/status, through a real server, for each provider:
#   builtin  (default) deterministic normalised vectors, rerank order, 503
#            with a config hint for generate, request validation;
#   ollama   against tests/mock/ai_server.js: batching, connection reuse,
#            /api/generate vs /api/chat, retry after 429, 500s, garbage,
#            wrong shapes, a hanging server (timeout), a missing model, and
#            recovery afterwards;
#   openai   the same wire checks for /v1/embeddings and /v1/chat/completions,
#            index order, the Bearer key;
#   down     a provider nobody listens for: clear 503s, status ok=false,
#            builtin embeddings still served.
source "$(dirname "$0")/../lib.sh"

# --- the mock model server
mock_start "$ROOT/tests/mock/ai_server.js" --port 0
check "mock model server answers" curl -fs "$MOCK_URL/api/tags"
mock() { curl -s -X POST "$MOCK_URL/__control" --data-binary "$1" >/dev/null; }
mock_reset() { curl -s -X POST "$MOCK_URL/__reset" >/dev/null; }
mstat() { curl -s "$MOCK_URL/__stats" | jq -r "$1"; }
texts_json() { jq -cn --argjson n "$1" '[range($n) | "text number \(.) about nurses and shifts"]'; }
embed() { http_json POST /ai/embed "$1"; }
jgetc() { echo "$HTTP_BODY" | jq -c "$1" 2>/dev/null; }
# runs a command and leaves its duration in ELAPSED_MS
timed() { local t0; t0=$(date +%s%N); "$@"; ELAPSED_MS=$(( ($(date +%s%N) - t0) / 1000000 )); }

# ============================================================ builtin
lh_start "$LH_TMP/d1" || { t_fail "builtin server starts"; t_done; exit 1; }
http GET /system/status
check_eq "status: builtin provider" "$(jget '.components.ai | [.provider, .ok, .generate, .embed_model, .dims] | map(tostring) | join(" ")')" "builtin true false builtin-hash-v1 384"

embed '{"texts":["Senior Java developer, Spring Boot","ICU registered nurse",""]}'
check_eq "builtin embed is 200" "$HTTP_STATUS" 200
check_eq "builtin embed: model, dims, rows" "$(jget '[.model, .dims, (.embeddings | length), (.embeddings[0] | length)] | map(tostring) | join(" ")')" "builtin-hash-v1 384 3 384"
check_eq "builtin embed: rows are unit length (empty text: zero)" \
  "$(jget '[.embeddings[] | (map(. * .) | add | sqrt * 1000 | round)] | map(tostring) | join(" ")')" "1000 1000 0"
first=$(jgetc '.embeddings[0]')
embed '{"texts":["Senior Java developer, Spring Boot"]}'
check_eq "builtin embed is deterministic" "$(jgetc '.embeddings[0]')" "$first"

http_json POST /ai/rerank '{"query":"ICU nurse night shift","documents":["forklift operator","java developer","night shift ICU registered nurse"]}'
check_eq "builtin rerank is 200" "$HTTP_STATUS" 200
check_eq "builtin rerank puts the nurse first" "$(jget '.results[0].index')" 2
check_eq "builtin rerank sorts by score desc" "$(jget '[.results[].score] | . == (sort | reverse)')" true
check_eq "builtin rerank returns every document" "$(jget '.results | length')" 3
http_json POST /ai/rerank '{"query":"nurse","documents":["a nurse","b","c"],"top_k":1}'
check_eq "rerank top_k" "$(jget '.results | length')" 1
http_json POST /ai/rerank '{"query":"nurse","documents":[]}'
check_eq "rerank of no documents is empty" "$HTTP_STATUS $(jget '.results | length')" "200 0"

http_json POST /ai/generate '{"prompt":"hello"}'
check_eq "builtin generate is 503" "$HTTP_STATUS $(jget .error.code)" "503 unavailable"
check "builtin generate hint names the config" grep -q 'LAKEHOUSE_AI_MODEL' <<<"$(jget .error.hint)"

embed '{"texts":"not a list"}'
check_eq "embed: texts must be a list" "$HTTP_STATUS" 400
embed '{"texts":["ok", 3]}'
check_eq "embed: texts must be strings" "$HTTP_STATUS $(jget .error.message)" "400 'texts'[1] is not a string"
embed '{"texts":[]}'
check_eq "embed: empty texts is 400" "$HTTP_STATUS" 400
embed '{"texts":["x"],"model":"nomic-embed-text"}'
check_eq "embed: builtin refuses other models" "$HTTP_STATUS" 400
embed '{"texts":['
check_eq "embed: bad JSON is 400" "$HTTP_STATUS" 400
http_json POST /ai/generate '{"system":"x"}'
check_eq "generate: prompt is required" "$HTTP_STATUS" 400
http_json POST /ai/rerank '{"documents":["a"]}'
check_eq "rerank: query is required" "$HTTP_STATUS" 400
texts_json 5000 | jq -c '{texts: .}' >"$LH_TMP/big.json"
http POST /ai/embed -H 'Content-Type: application/json' --data-binary @"$LH_TMP/big.json"
check_eq "embed: more than 4096 texts is 413" "$HTTP_STATUS" 413
lh_stop

# ============================================================ ollama
mock_reset
lh_start "$LH_TMP/d2" LAKEHOUSE_AI_PROVIDER=ollama LAKEHOUSE_AI_URL="$MOCK_URL" \
  LAKEHOUSE_AI_MODEL=mock-chat LAKEHOUSE_EMBED_MODEL=mock-embed LAKEHOUSE_AI_TIMEOUT_MS=1500 ||
  { t_fail "ollama server starts"; t_done; exit 1; }
http GET /system/status
check_eq "status: ollama provider, probed" "$(jget '.components.ai | [.provider, .ok, .generate, .model, .embed_model] | map(tostring) | join(" ")')" "ollama true true mock-chat mock-embed"
check_eq "status probes /api/tags" "$(mstat '.requests["/api/tags"]')" 1

mock_reset
embed "{\"texts\":$(texts_json 70)}"
check_eq "ollama embed of 70 texts is 200" "$HTTP_STATUS $(jget '.embeddings | length') $(jget .dims) $(jget .model)" "200 70 16 mock-embed"
check_eq "ollama embed: batches of 32 to /api/embed" "$(mstat '.batches | map(tostring) | join(",")') $(mstat '.requests["/api/embed"]')" "32,32,6 3"
check_eq "ollama embed: one connection carries the three batches" "$(mstat .connections)" 1
check_eq "ollama embed: rows are unit length" "$(jget '[.embeddings[] | (map(. * .) | add | sqrt * 1000 | round)] | unique | map(tostring) | join(" ")')" "1000"
row41=$(jgetc '.embeddings[41]')
embed '{"texts":["text number 41 about nurses and shifts"]}'
check_eq "ollama embed: row i belongs to text i" "$(jgetc '.embeddings[0]')" "$row41"

mock_reset
http_json POST /ai/generate '{"prompt":"what is 2+2?"}'
check_eq "ollama generate is 200" "$HTTP_STATUS $(jget .model)" "200 mock-chat"
check_eq "ollama generate text" "$(jget .text)" "[mock:mock-chat] echo: what is 2+2?"
check_eq "no system prompt: /api/generate, not streamed" "$(mstat '.requests["/api/generate"]') $(mstat '.last.body | fromjson | .stream')" "1 false"
http_json POST /ai/generate '{"prompt":"hi","system":"be terse","model":"other-llm"}'
check_eq "system prompt: /api/chat with both roles" "$(mstat '.requests["/api/chat"]') $(mstat '.last.body | fromjson | [.messages[].role] | join(",")')" "1 system,user"
check_eq "generate with system and model" "$(jget .model) | $(jget .text)" "other-llm | [mock:other-llm] system=be terse | echo: hi"

http_json POST /ai/rerank '{"query":"zebra","documents":["apple pie","zebra zone","banana"]}'
check_eq "ollama rerank via embeddings" "$HTTP_STATUS $(jget '.results[0].index') $(jget .model)" "200 1 mock-embed"

mock_reset; mock '{"mode":"fail","status":429,"times":2}'
embed '{"texts":["a","b"]}'
check_eq "429 twice then success: 200 after 3 requests" "$HTTP_STATUS $(mstat '.requests["/api/embed"]')" "200 3"
mock_reset; mock '{"mode":"fail","status":503,"times":1}'
http_json POST /ai/generate '{"prompt":"p"}'
check_eq "503 once then success for generate" "$HTTP_STATUS $(mstat '.requests["/api/generate"]')" "200 2"

mock_reset; mock '{"mode":"fail","status":500}'
embed '{"texts":["a"]}'
check_eq "500s: 502 after 1 + 3 retries" "$HTTP_STATUS $(jget .error.code) $(mstat '.requests["/api/embed"]')" "502 bad_gateway 4"
check "500s: message names the status and the server's words" grep -q 'HTTP 500.*mock failure' <<<"$(jget .error.message)"
mock_reset; mock '{"mode":"fail","status":429}'
embed '{"texts":["a"]}'
check_eq "429 forever: 503 naming the rate limit" "$HTTP_STATUS $(jget .error.message | grep -o 'rate limiting')" "503 rate limiting"

mock_reset; mock '{"mode":"garbage"}'
embed '{"texts":["a"]}'
check_eq "garbage: 502" "$HTTP_STATUS $(jget .error.code)" "502 bad_gateway"
check "garbage: message says it is not JSON and quotes it" grep -q "not a JSON object: '<html>" <<<"$(jget .error.message)"
http_json POST /ai/generate '{"prompt":"p"}'
check_eq "garbage: generate 502 too" "$HTTP_STATUS" 502

mock_reset; mock '{"mode":"badshape"}'
embed '{"texts":["a","b","c"]}'
check_eq "wrong embedding count: 502" "$HTTP_STATUS" 502
check "wrong embedding count: message says so" grep -q '2 embeddings for 3 texts' <<<"$(jget .error.message)"
http_json POST /ai/generate '{"prompt":"p"}'
check_eq "answer without text: 502" "$HTTP_STATUS" 502

mock_reset; mock '{"mode":"hang"}'
timed embed '{"texts":["a"]}'
check_eq "hang: timeout error" "$HTTP_STATUS $(jget .error.code)" "408 timeout"
check "hang: message names the limit" grep -q 'within 1500 ms' <<<"$(jget .error.message)"
check "hang: answered within ~1.5 s, not retried (${ELAPSED_MS} ms)" test "$ELAPSED_MS" -lt 4000
check_eq "hang: one request only" "$(mstat '.requests["/api/embed"]')" 1

mock_reset; mock '{"mode":"missing_model"}'
embed '{"texts":["a"]}'
check_eq "missing model: 503" "$HTTP_STATUS $(jget .error.code)" "503 unavailable"
check "missing model: message names the model" grep -q "model 'mock-embed' is not available" <<<"$(jget .error.message)"
check "missing model: hint says ollama pull" grep -q 'ollama pull mock-embed' <<<"$(jget .error.hint)"
http_json POST /ai/generate '{"prompt":"p"}'
check "missing LLM: hint names LAKEHOUSE_AI_MODEL" grep -q 'LAKEHOUSE_AI_MODEL' <<<"$(jget .error.hint)"

mock_reset
embed '{"texts":["back to normal"]}'
check_eq "recovers after the failures" "$HTTP_STATUS $(jget '.embeddings | length')" "200 1"
embed '{"texts":["local"],"model":"builtin-hash"}'
check_eq "builtin model on the ollama provider stays local" "$HTTP_STATUS $(jget .dims) $(jget .model) $(mstat '.requests["/api/embed"]')" "200 384 builtin-hash-v1 1"
lh_stop

# ============================================================ openai
mock_reset
lh_start "$LH_TMP/d3" LAKEHOUSE_AI_PROVIDER=openai LAKEHOUSE_AI_URL="$MOCK_URL/v1" \
  LAKEHOUSE_AI_MODEL=mock-chat LAKEHOUSE_EMBED_MODEL=mock-embed LAKEHOUSE_AI_API_KEY=sk-it-test ||
  { t_fail "openai server starts"; t_done; exit 1; }
http GET /system/status
check_eq "status: openai provider, probed via /v1/models" "$(jget '.components.ai | [.provider, .ok] | map(tostring) | join(" ")') $(mstat '.requests["/v1/models"]')" "openai true 1"
embed "{\"texts\":$(texts_json 40)}"
check_eq "openai embed: 200, 40 rows in 2 batches" "$HTTP_STATUS $(jget '.embeddings | length') $(mstat '.batches | map(tostring) | join(",")')" "200 40 32,8"
check_eq "openai embed: Bearer key sent" "$(mstat .last.auth)" "Bearer sk-it-test"
row7=$(jgetc '.embeddings[7]')
embed '{"texts":["text number 7 about nurses and shifts"]}'
check_eq "openai embed: reversed data[] put back in index order" "$(jgetc '.embeddings[0]')" "$row7"
http_json POST /ai/generate '{"prompt":"hi","system":"sys"}'
check_eq "openai generate via /v1/chat/completions" "$HTTP_STATUS $(mstat '.requests["/v1/chat/completions"]') $(jget .text)" "200 1 [mock:mock-chat] system=sys | echo: hi"
mock '{"mode":"fail","status":429,"times":1}'
http_json POST /ai/generate '{"prompt":"again"}'
check_eq "openai: 429 once then success" "$HTTP_STATUS $(mstat '.requests["/v1/chat/completions"]')" "200 3"
embed '{"texts":["x"],"model":"missing-embedder"}'
check_eq "openai missing model: 503" "$HTTP_STATUS" 503
check "openai missing model: server's words kept" grep -q 'does not exist' <<<"$(jget .error.message)"
mock '{"mode":"garbage"}'
http_json POST /ai/rerank '{"query":"q","documents":["a"]}'
check_eq "openai garbage during rerank: 502" "$HTTP_STATUS" 502
mock_reset
lh_stop

# ============================================================ down
DEAD=$(free_port)
lh_start "$LH_TMP/d4" LAKEHOUSE_AI_PROVIDER=ollama LAKEHOUSE_AI_URL="http://127.0.0.1:$DEAD" \
  LAKEHOUSE_AI_MODEL=mock-chat || { t_fail "server with a dead provider starts"; t_done; exit 1; }
http GET /system/status
check_eq "status: provider down is ok=false" "$HTTP_STATUS $(jget '.components.ai.ok')" "200 false"
check "status: says why" grep -q 'cannot reach' <<<"$(jget '.components.ai.error')"
http_json POST /ai/generate '{"prompt":"p"}'
check_eq "server down: generate is 503" "$HTTP_STATUS $(jget .error.code)" "503 unavailable"
check "server down: message names the URL" grep -q "cannot reach http://127.0.0.1:$DEAD/api/generate" <<<"$(jget .error.message)"
check "server down: hint asks whether it runs" grep -q 'ollama running' <<<"$(jget .error.hint)"
embed '{"texts":["still works"]}'
check_eq "no embed model set: builtin embeddings while the LLM is down" "$HTTP_STATUS $(jget .model)" "200 builtin-hash-v1"
embed '{"texts":["x"],"model":"nomic-embed-text"}'
check_eq "server down: remote embed is 503" "$HTTP_STATUS" 503
lh_stop

# ============================================================ bad config
env LAKEHOUSE_AUTH_ENABLED=false LAKEHOUSE_PORT="$(free_port)" LAKEHOUSE_DATA="$LH_TMP/d5" LAKEHOUSE_AI_PROVIDER=openai "$LH_BIN" serve \
  >"$LH_TMP/bad.out" 2>"$LH_TMP/bad.log" &
BAD_PID=$!; LH_PIDS+=("$BAD_PID")
for _ in $(seq 1 100); do kill -0 "$BAD_PID" 2>/dev/null || break; sleep 0.05; done
wait "$BAD_PID"; rc=$?
check_eq "openai without a url refuses to start" "$rc" 1
check "the startup error names [ai] url" grep -q "needs a url" "$LH_TMP/bad.log"

t_done
