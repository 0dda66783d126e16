#!/usr/bin/env bash
# vectors.sh — the vector index service against a real server: build an
# index as a job, list/filter/get it, search in every mode, RAG with
# citations, vector_search() joined with a table in SQL, stale after an
# append and an incremental refresh that embeds only the new rows, the
# graph loaded (not rebuilt) after a restart, kill -9 during a build then a
# restart resuming from the checkpoint (slow mock embedder), and providers
# that answer garbage or hang: a clear error and no partial index.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
MOCK_PIDS=()
cleanup_mocks() { for p in "${MOCK_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }

TOPICS=("ICU registered nurse with critical care and ventilator experience"
  "Java developer building Spring Boot services on AWS"
  "forklift operator working warehouse night shifts"
  "accountant preparing tax returns and payroll reports"
  "truck driver with a commercial license hauling freight"
  "teacher planning mathematics lessons for high school"
  "chef cooking Italian pasta in a busy restaurant kitchen"
  "electrician wiring commercial buildings and solar panels")

# people_csv FROM TO FILE — rows "id,body" with a topic and a unique word
people_csv() {
  { echo "id,body"
    for i in $(seq "$1" "$2"); do
      echo "$i,\"Candidate $i is a ${TOPICS[$((i % 8))]}. Their code word is uniq$i. They like weekends off.\""
    done; } >"$3"
}

# wait_job ID [SECONDS] — prints the final state (run it in $(...), then
# GET the job again to read it)
wait_job() {
  local id=$1 limit=${2:-60} st
  for _ in $(seq 1 $((limit * 10))); do
    http GET "/jobs/$id"
    st=$(jget .state)
    case "$st" in done|failed|cancelled) echo "$st"; return 0 ;; esac
    sleep 0.1
  done
  echo "timeout:$st"
}

# start_mock SCRIPT... — starts a node mock, sets MOCK_URL
start_mock() {
  local out=$LH_TMP/mock.$RANDOM
  node "$@" >"$out" 2>&1 &
  MOCK_PIDS+=("$!")
  for _ in $(seq 1 100); do
    grep -q '^PORT ' "$out" 2>/dev/null && break
    sleep 0.05
  done
  MOCK_URL="http://127.0.0.1:$(sed -n 's/^PORT //p' "$out" | head -1)"
}

lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
t_ok "server starts"

# --- build
people_csv 1 200 "$LH_TMP/people.csv"
http PUT /storage/objects/uploads/people.csv --data-binary @"$LH_TMP/people.csv"
http_json POST /catalog/datasets '{"name":"people","objects":["uploads/people.csv"]}'
check_eq "dataset registered" "$HTTP_STATUS" 201
http_json POST /vectors/index '{"dataset":"people","id_column":"id","text_column":"body","index_name":"people_idx"}'
check_eq "POST /vectors/index is 202" "$HTTP_STATUS" 202
check_eq "it names the index" "$(jget .index_name)" people_idx
JOB=$(jget .job_id)
check_eq "the build job finishes" "$(wait_job "$JOB")" done
http GET "/jobs/$JOB"
check_eq "job progress counts every document" "$(jget .progress.done)/$(jget .progress.total)" "200/200"
check_eq "job result: 200 vectors" "$(jget .result.vectors)" 200
http GET /vectors/indexes/people_idx
check_eq "GET index is 200" "$HTTP_STATUS" 200
check_eq "index metadata fields" "$(jget '[.name, .source, .model_name, .dims, .vectors, .backend] | map(tostring) | join(" ")')" \
  "people_idx people $(jget .model_name) $(jget .dims) 200 parquet"
check "metadata has model_version and created_at" test -n "$(jget .created_at)"
check_eq "HNSW built by the job" "$(jget .hnsw_state)" built
check_eq "not stale" "$(jget .stale)" false
http_json POST /vectors/index '{"dataset":"people","id_column":"id","text_column":"body","chunk_size":50,"overlap":50}'
check_eq "overlap >= chunk_size is 400" "$HTTP_STATUS" 400
http_json POST /vectors/index '{"dataset":"nope","id_column":"id","text_column":"body"}'
check_eq "unknown dataset is 404" "$HTTP_STATUS" 404

# --- list and filters
http GET "/vectors/indexes?source=people"
check_eq "filter by source" "$(jget '.indexes | length')" 1
http GET "/vectors/indexes?source=other"
check_eq "filter by another source" "$(jget '.indexes | length')" 0
MODEL=$(jget '.indexes[0].model_name' 2>/dev/null)
http GET "/vectors/indexes?model=no-such-model"
check_eq "filter by model" "$(jget '.indexes | length')" 0

# --- search
for mode in brute hnsw auto; do
  http_json POST /vectors/search "{\"index\":\"people_idx\",\"query\":\"uniq17\",\"k\":5,\"mode\":\"$mode\"}"
  check_eq "search ($mode) finds doc 17 first" "$(jget '.results[0].doc_id')" 17
  check_eq "search ($mode) returns k results with text" "$(jget '[(.results | length), (.results[0].text | contains("uniq17"))] | map(tostring) | join(" ")')" "5 true"
done
check "search reports elapsed_us" test "$(jget .elapsed_us)" -ge 0
http_json POST /vectors/search '{"index":"people_idx","query":"x","mode":"fast"}'
check_eq "bad mode is 400" "$HTTP_STATUS" 400
http_json POST /vectors/search '{"index":"missing","query":"x"}'
check_eq "unknown index is 404" "$HTTP_STATUS" 404

# --- RAG without an LLM: extractive, cited
http_json POST /vectors/rag '{"index":"people_idx","question":"Which candidate is a nurse with ventilator experience?","k":3}'
check_eq "RAG is 200" "$HTTP_STATUS" 200
check_eq "extractive model" "$(jget .model)" extractive
check_eq "3 numbered citations" "$(jget '[.citations[].n] | map(tostring) | join(",")')" "1,2,3"
CITED=$(jget '.answer' | grep -o '\[[0-9]\]' | tr -d '[]' | sort -u)
ok=1
for n in $CITED; do
  jget ".citations[$((n - 1))].text" | grep -qiE 'nurse|ventilator' || ok=0
done
check_eq "every cited chunk holds the answer words" "$ok$( [ -n "$CITED" ] && echo y)" "1y"

# --- SQL meets vectors
http_json POST /query/sql "{\"sql\":\"SELECT p.id, v.score FROM vector_search('people_idx', 'uniq42', 3) v JOIN people p ON p.id = CAST(v.doc_id AS BIGINT) ORDER BY v.score DESC\"}"
check_eq "vector_search joins a table" "$HTTP_STATUS/$(jget '.rows[0][0]')/$(jget .row_count)" "200/42/3"
http_json POST /query/sql "{\"sql\":\"SELECT * FROM vector_search('missing', 'x', 3)\"}"
check_eq "vector_search on an unknown index is 400" "$HTTP_STATUS" 400

# --- freshness
people_csv 201 230 "$LH_TMP/more.csv"
http PUT /storage/objects/uploads/more.csv --data-binary @"$LH_TMP/more.csv"
http_json POST /catalog/datasets/by-name/people/append '{"objects":["uploads/more.csv"]}'
check_eq "append is 200" "$HTTP_STATUS" 200
http GET /vectors/stale
check_eq "the dataset is stale" "$(jget '.stale[0].dataset')/$(jget '.stale[0].indexes[0].name')" "people/people_idx"
http GET /catalog/datasets/by-name/people
check_eq "manifest embedding status is stale" "$(jget .embedding.status)" stale
http POST /vectors/refresh/people
check_eq "refresh is 200" "$HTTP_STATUS" 200
check_eq "refresh embeds exactly the 30 new rows" "$(jget '.indexes[0].embedded_docs')/$(jget '.indexes[0].kept_docs')/$(jget '.indexes[0].vectors')" "30/200/230"
check_eq "the keyword index is patched: only the 30 new chunks tokenized" "$(jget '.indexes[0].keyword.made')/$(jget '.indexes[0].keyword.tokenized_chunks')" "patched/30"
http GET /vectors/stale
check_eq "nothing stale after refresh" "$(jget '.stale | length')" 0
http GET /catalog/datasets/by-name/people
check_eq "manifest embedding status is fresh" "$(jget .embedding.status)" fresh
http_json POST /vectors/search '{"index":"people_idx","query":"uniq222","k":3}'
check_eq "a new row is searchable" "$(jget '.results[0].doc_id')" 222
http_json POST /vectors/search '{"index":"people_idx","query":"uniq222","k":3,"mode":"keyword"}'
check_eq "... by its rare word too" "$(jget '.results[0].doc_id')/$(jget '.results | length')" 222/1
http POST /vectors/refresh/nope
check_eq "refresh of a dataset without index is 404" "$HTTP_STATUS" 404

# --- restart: the graph is loaded, not rebuilt
lh_stop
lh_start "$DATA" || t_fail "server restarts"
http_json POST /vectors/search '{"index":"people_idx","query":"uniq222","k":3,"mode":"hnsw"}'
check_eq "search after restart" "$(jget '.results[0].doc_id')" 222
http GET /vectors/indexes/people_idx
check_eq "HNSW loaded from its file after restart" "$(jget .hnsw_state)/$(jget .generation)/$(jget .vectors)" "loaded/2/230"
check "log says the graph was loaded" grep -q "people_idx: HNSW graph loaded from hnsw-2.bin" "$LH_TMP/server.log"
lh_stop

# --- kill -9 during a build, restart resumes from the checkpoint
SLOW_MOCK=$LH_TMP/slow_mock.js
cat >"$SLOW_MOCK" <<'EOF'
// A slow Ollama-style embedder: /api/embed answers after DELAY ms.
const http = require('http');
const delay = Number(process.env.DELAY || 60);
let texts = 0, calls = 0;
http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    res.setHeader('Content-Type', 'application/json');
    if (req.url === '/__stats') return res.end(JSON.stringify({ texts, calls }));
    if (req.url === '/__reset') { texts = 0; calls = 0; return res.end('{}'); }
    if (req.url === '/api/tags') return res.end(JSON.stringify({ models: [{ name: 'slow-embed' }] }));
    if (req.url !== '/api/embed') { res.statusCode = 404; return res.end('{}'); }
    const j = JSON.parse(body);
    const input = Array.isArray(j.input) ? j.input : [j.input];
    setTimeout(() => {
      texts += input.length; calls += 1;
      const emb = input.map((t) => {
        const v = new Array(16).fill(0);
        for (const ch of String(t).toLowerCase()) v[ch.codePointAt(0) % 16] += 1;
        v[0] += 0.25;
        const n = Math.hypot(...v);
        return v.map((x) => x / n);
      });
      res.end(JSON.stringify({ model: j.model, embeddings: emb }));
    }, delay);
  });
}).listen(0, '127.0.0.1', function () { console.log('PORT ' + this.address().port); });
EOF
start_mock "$SLOW_MOCK"
SLOW_URL=$MOCK_URL
SLOW_ENV=(LAKEHOUSE_AI_PROVIDER=ollama "LAKEHOUSE_AI_URL=$SLOW_URL" LAKEHOUSE_EMBED_MODEL=slow-embed)
lh_start "$DATA" "${SLOW_ENV[@]}" || t_fail "server starts with the slow embedder"
people_csv 1 3000 "$LH_TMP/big.csv"
http PUT /storage/objects/uploads/big.csv --data-binary @"$LH_TMP/big.csv"
http_json POST /catalog/datasets '{"name":"big","objects":["uploads/big.csv"]}'
http_json POST /vectors/index '{"dataset":"big","id_column":"id","text_column":"body"}'
check_eq "slow build accepted" "$HTTP_STATUS" 202
BIGJOB=$(jget .job_id)
for _ in $(seq 1 300); do
  http GET "/jobs/$BIGJOB"
  [ "$(jget .progress.done)" -ge 800 ] 2>/dev/null && break
  sleep 0.05
done
DONE_AT_KILL=$(jget .progress.done)
kill -9 "$LH_PID"; wait "$LH_PID" 2>/dev/null; LH_PID=
check "killed mid-build ($DONE_AT_KILL of 3000 docs)" test "$DONE_AT_KILL" -ge 800 -a "$DONE_AT_KILL" -lt 3000
check "a checkpoint survived the kill" test -f "$DATA/_vectors/big/_build/checkpoint.json"
check "no index was published" test ! -f "$DATA/_vectors/big/meta.json"
sleep 0.5 # requests in flight at the kill still finish at the mock
curl -s "$SLOW_URL/__reset" >/dev/null
lh_start "$DATA" "${SLOW_ENV[@]}" || t_fail "server restarts after kill -9"
for _ in $(seq 1 600); do
  http GET /vectors/indexes/big
  [ "$HTTP_STATUS" = 200 ] && break
  sleep 0.1
done
check_eq "the interrupted build completes after restart" "$HTTP_STATUS/$(jget .vectors)" "200/3000"
http GET /jobs
RESUMED=$(jget '[.jobs[] | select(.kind == "vector_index" and .state == "done")][0].result.resumed_from_docs')
check "it resumed from the checkpoint ($RESUMED docs)" test "$RESUMED" -gt 0
EMBEDDED=$(curl -s "$SLOW_URL/__stats" | jq -r .texts)
check_eq "only the rest was embedded after restart" "$EMBEDDED" "$((3000 - RESUMED))"
http GET "/jobs/$BIGJOB"
check_eq "the killed job reads as failed" "$(jget .state)" failed
check "the log names the resume" grep -q "big: resuming from checkpoint" "$LH_TMP/server.log"
lh_stop

# --- providers that answer garbage or hang: a clear error, no partial index
start_mock "$ROOT/tests/mock/ai_server.js" --port 0
BAD_URL=$MOCK_URL
curl -s -X POST "$BAD_URL/__control" -H 'Content-Type: application/json' -d '{"mode":"garbage"}' >/dev/null
lh_start "$DATA" LAKEHOUSE_AI_PROVIDER=ollama "LAKEHOUSE_AI_URL=$BAD_URL" LAKEHOUSE_EMBED_MODEL=mock-embed \
  LAKEHOUSE_AI_TIMEOUT_MS=300 || t_fail "server starts with the bad provider"
http_json POST /vectors/index '{"dataset":"people","id_column":"id","text_column":"body","index_name":"garbage_idx"}'
JOB=$(jget .job_id)
check_eq "garbage: the build job fails" "$(wait_job "$JOB" 60)" failed
http GET "/jobs/$JOB"
check "garbage: the job error says what went wrong" grep -qi 'embedding failed after .* not a JSON object' <<<"$(jget .error)"
http GET /vectors/indexes/garbage_idx
check_eq "garbage: no partial index" "$HTTP_STATUS" 404
curl -s -X POST "$BAD_URL/__control" -H 'Content-Type: application/json' -d '{"mode":"hang"}' >/dev/null
http_json POST /vectors/index '{"dataset":"people","id_column":"id","text_column":"body","index_name":"hang_idx"}'
JOB=$(jget .job_id)
check_eq "hang: the build job fails" "$(wait_job "$JOB" 120)" failed
http GET "/jobs/$JOB"
check "hang: the job error names the timeout" grep -qi 'embedding failed after .*no answer .* within 300 ms' <<<"$(jget .error)"
http GET /vectors/indexes/hang_idx
check_eq "hang: no partial index" "$HTTP_STATUS" 404
http GET /vectors/indexes/people_idx
check_eq "the good index still serves" "$HTTP_STATUS/$(jget .vectors)" "200/230"
lh_stop

cleanup_mocks
t_done
