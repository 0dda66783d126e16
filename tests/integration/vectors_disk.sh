#!/usr/bin/env bash
# vectors_disk.sh — the IVF-PQ disk backend (/vectors/lance/...) against a
# real server over `lakehouse demo --scale 0.02` data (index "resumes"):
# 404 before migrate, migrate builds ivfpq-<g>.bin + ivfpq.json, the index
# metadata shows backend "lance", search by text and by vector, doc lookup
# by scan then through the scalar index, append of new rows (embedded by
# the server) found by search and by doc_id, stats, recall@10 against brute
# force, a rebuild with explicit params keeping the appended rows, bad
# params, everything still there after a restart (mapped from disk), and
# gone with the index when it is deleted.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
mkdir -p "$DATA"

if (cd "$LH_TMP" && LAKEHOUSE_DATA="$DATA" "$LH_BIN" demo --scale 0.02 >"$LH_TMP/demo.log" 2>&1); then
  t_ok "demo --scale 0.02 builds the resumes index"
else
  t_fail "demo --scale 0.02" "$(tail -3 "$LH_TMP/demo.log")"; t_done; exit 1
fi
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
t_ok "server starts"

http GET /vectors/lance/stats/resumes
check_eq "stats before migrate is 404" "$HTTP_STATUS" 404
check "the 404 hints at migrate" grep -q "migrate" <<<"$HTTP_BODY"
http POST /vectors/lance/migrate/nope
check_eq "migrate of an unknown index is 404" "$HTTP_STATUS" 404

# --- migrate
http GET /vectors/indexes/resumes
VECTORS=$(jget .vectors)
check_eq "index starts as parquet" "$(jget .backend)" parquet
http POST /vectors/lance/migrate/resumes
check_eq "migrate is 200" "$HTTP_STATUS" 200
check_eq "migrate copies every vector" "$(jget .vectors)" "$VECTORS"
check "migrate reports format, lists, build time" jq -e '.format == "ivf_pq" and .nlist > 0 and .m > 0 and .build_ms > 0 and .file_bytes > 0' <<<"$HTTP_BODY"
FILE=$(jget .file)
check "the IVF-PQ file is in the bucket" test -f "$DATA/_vectors/resumes/$FILE"
check "the state record is in the bucket" test -f "$DATA/_vectors/resumes/ivfpq.json"
http GET /vectors/indexes/resumes
check_eq "index metadata: backend lance, both backends" "$(jget '[.backend, (.backends|join("+")), .ivfpq.file] | join(" ")')" "lance parquet+lance $FILE"

# --- search
http_json POST /vectors/lance/search/resumes '{"query":"registered nurse ICU critical care","k":5}'
check_eq "search is 200 with 5 hits" "$HTTP_STATUS $(jget '.results | length') $(jget .backend)" "200 5 lance"
check "hits are scored best first" jq -e '[.results[].score] as $s | $s == ($s | sort | reverse)' <<<"$HTTP_BODY"
DOC=$(jget '.results[0].doc_id')
http_json POST /vectors/lance/search/resumes '{"query":"registered nurse ICU critical care","k":5}'
http_json POST /vectors/search '{"index":"resumes","query":"registered nurse ICU critical care","k":5,"mode":"brute"}'
BRUTE=$(jget '.results[0].doc_id')
check_eq "top hit agrees with the exact search" "$DOC" "$BRUTE"
http_json POST /vectors/lance/search/resumes '{"k":5}'
check_eq "search without query is 400" "$HTTP_STATUS" 400
http_json POST /vectors/lance/search/resumes '{"vector":[1,2,3]}'
check_eq "a vector of the wrong size is 400" "$HTTP_STATUS" 400

# --- doc lookup
http GET "/vectors/lance/doc/resumes/$DOC"
check_eq "doc lookup (scan) is 200" "$HTTP_STATUS $(jget .doc_id) $(jget .scalar_index)" "200 $DOC false"
check "doc lookup returns its chunks" jq -e '.count >= 1 and (.chunks | length) == .count' <<<"$HTTP_BODY"
http GET /vectors/lance/doc/resumes/no-such-doc
check_eq "unknown doc is 404" "$HTTP_STATUS" 404
http POST /vectors/lance/scalar-index/resumes
check_eq "scalar index is 200" "$HTTP_STATUS $(jget .scalar_index)" "200 true"
http GET "/vectors/lance/doc/resumes/$DOC"
check_eq "doc lookup through the scalar index" "$HTTP_STATUS $(jget .scalar_index)" "200 true"

# --- append
http_json POST /vectors/lance/append/resumes '{"rows":[{"doc_id":"zz-new-1","text":"underwater welder certified for offshore oil rigs and saturation diving"},{"doc_id":"zz-new-2","text":"beekeeper harvesting honey and breeding queen bees","chunk_no":0}]}'
check_eq "append is 200 with 2 rows" "$HTTP_STATUS $(jget .appended)" "200 2"
check_eq "append grows the file" "$(jget .vectors)" "$((VECTORS + 2))"
http GET /vectors/lance/doc/resumes/zz-new-2
check_eq "appended doc is found by doc_id" "$HTTP_STATUS $(jget '.chunks[0].text')" "200 beekeeper harvesting honey and breeding queen bees"
http_json POST /vectors/lance/search/resumes '{"query":"underwater welder certified for offshore oil rigs and saturation diving","k":3}'
check_eq "appended row is the top hit of its own text" "$(jget '.results[0].doc_id')" "zz-new-1"
http_json POST /vectors/lance/append/resumes '{"rows":[{"text":"no id"}]}'
check_eq "append without doc_id is 400" "$HTTP_STATUS" 400

# --- searches keep answering while appends swap the file under them
(for i in $(seq 1 30); do
  curl -s -o /dev/null -w "%{http_code}\n" -X POST "$LH_URL/vectors/lance/search/resumes" -H "Content-Type: application/json" --data-binary "{\"query\":\"nurse $i\",\"k\":3}"
done) >"$LH_TMP/codes" &
SEARCHER=$!
for i in 3 4 5; do http_json POST /vectors/lance/append/resumes "{\"rows\":[{\"doc_id\":\"zz-new-$i\",\"text\":\"concurrent row $i\"}]}"; done
wait "$SEARCHER"
check_eq "30 searches during 3 appends all answered 200" "$(sort -u "$LH_TMP/codes" | tr -d "\n") $(wc -l <"$LH_TMP/codes")" "200 30"
check_eq "the appends landed" "$HTTP_STATUS $(jget .vectors)" "200 $((VECTORS + 5))"
VECTORS=$((VECTORS + 3))

# --- stats and recall
http GET /vectors/lance/stats/resumes
check_eq "stats is 200" "$HTTP_STATUS $(jget .vectors) $(jget .scalar_index) $(jget .stale)" "200 $((VECTORS + 2)) true false"
http GET "/vectors/lance/recall/resumes?queries=30"
check_eq "recall is 200 over 30 queries" "$HTTP_STATUS $(jget .queries) $(jget .k)" "200 30 10"
check "recall@10 with re-rank >= 0.9" jq -e '.recall_at_10 >= 0.9 and .recall_at_10_no_rerank > 0 and .p50_us > 0' <<<"$HTTP_BODY"
http GET "/vectors/lance/recall/resumes?queries=abc"
check_eq "bad queries param is 400" "$HTTP_STATUS" 400

# --- rebuild with params (keeps appended rows)
http_json POST /vectors/lance/index/resumes '{"nlist":8,"m":16,"iterations":4}'
check_eq "rebuild is 200 with the params" "$HTTP_STATUS $(jget .nlist) $(jget .m) $(jget .vectors)" "200 8 16 $((VECTORS + 2))"
check "the old file was removed" test ! -f "$DATA/_vectors/resumes/$FILE"
http_json POST /vectors/lance/index/resumes '{"m":7}'
check_eq "m that does not divide dims is 400" "$HTTP_STATUS" 400
http_json POST /vectors/lance/index/resumes '{"nlist":0}'
check_eq "nlist 0 is 400" "$HTTP_STATUS" 400

# --- restart: mapped from disk
lh_stop
lh_start "$DATA" || { t_fail "server restarts"; t_done; exit 1; }
http GET /vectors/lance/stats/resumes
check_eq "after a restart the backend is mapped again" "$HTTP_STATUS $(jget .vectors) $(jget .nlist)" "200 $((VECTORS + 2)) 8"
http GET /vectors/lance/doc/resumes/zz-new-1
check_eq "appended doc survives the restart" "$HTTP_STATUS $(jget .scalar_index)" "200 true"

# --- deleting the index drops its disk backend
http DELETE /vectors/indexes/resumes
check_eq "index delete is 204" "$HTTP_STATUS" 204
http GET /vectors/lance/stats/resumes
check_eq "the disk backend is gone with it" "$HTTP_STATUS" 404
check "its files are gone" test ! -e "$DATA/_vectors/resumes/ivfpq.json"
t_done
