#!/usr/bin/env bash
# refresh_profiles.sh — embedding refresh policies and profile routing
# against a real server:
#  - PATCH {"embedding":{"refresh_policy"}} validation; an append to an
#    on_append dataset makes its index fresh again without a manual call,
#    a manual one stays stale, a scheduled one is refreshed after its
#    interval (ADR 0150); GET /vectors/refresher records the refreshes;
#  - profiles with vector_backend / bucket; a lance profile migrates its
#    index on activation and its search is served by IVF-PQ (ADR 0151);
#  - the active-profile singleton against the mock Ollama: after
#    activating A then B only B's model is loaded (/api/ps), deactivate
#    unloads it, builtin skips the swap with a note (ADR 0152);
#  - buckets: POST /catalog/migrate-buckets stamps a legacy manifest that
#    lacks "bucket" (idempotent); X-Lakehouse-Bucket on ingest routes:
#    primary accepted and echoed, another bucket holds the new dataset (ADR 0237),
#    unknown 404, routes that cannot pick a bucket 422 (ADR 0153).
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
mkdir -p "$DATA"

# rows_csv FROM TO FILE — "id,body" rows with a unique word each
rows_csv() {
  { echo "id,body"
    for i in $(seq "$1" "$2"); do echo "$i,\"Record $i talks about topic$((i % 7)) and the code word uniq$i.\""; done; } >"$3"
}

wait_job() { # ID — prints the final state
  local st
  for _ in $(seq 1 600); do
    http GET "/jobs/$1"; st=$(jget .state)
    case "$st" in done|failed|cancelled) echo "$st"; return 0 ;; esac
    sleep 0.1
  done
  echo "timeout:$st"
}

# stale_has DS — 0 when GET /vectors/stale lists DS
stale_has() { http GET /vectors/stale; [ "$(jget "[.stale[].dataset] | index(\"$1\")")" != null ]; }

# wait_fresh DS SECONDS — 0 once DS is no longer stale
wait_fresh() {
  for _ in $(seq 1 $(($2 * 5))); do stale_has "$1" || return 0; sleep 0.2; done
  return 1
}

if (cd "$LH_TMP" && LAKEHOUSE_DATA="$DATA" "$LH_BIN" demo --scale 0.02 >"$LH_TMP/demo.log" 2>&1); then
  t_ok "demo --scale 0.02 builds the data and the resumes index"
else
  t_fail "demo --scale 0.02" "$(tail -3 "$LH_TMP/demo.log")"; t_done; exit 1
fi

# a legacy manifest: no "bucket" field
M=$DATA/_catalog/datasets/placements.json
jq "del(.bucket)" "$M" >"$M.tmp" && mv "$M.tmp" "$M"
check_eq "placements manifest has no bucket" "$(jq -r .bucket "$M")" null

# ---------------------------------------------------------------- refresh policies (builtin)
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
t_ok "server starts"

# --- buckets
http POST /catalog/migrate-buckets
check_eq "migrate-buckets stamps the legacy manifest" "$HTTP_STATUS $(jget .bucket) $(jget '.stamped | join(",")') $(jget .stamped_count)" "200 primary placements 1"
check_eq "the others were stamped already" "$(jget '.already_stamped + 1 == .total')" true
check_eq "the manifest file names primary" "$(jq -r .bucket "$M")" primary
http POST /catalog/migrate-buckets
check_eq "a second run stamps nothing" "$(jget .stamped_count)" 0
http GET /catalog/datasets/by-name/placements
check_eq "GET shows bucket primary" "$(jget .bucket)" primary
rows_csv 1 5 "$LH_TMP/hb.csv"
http PUT /storage/objects/uploads/hb.csv --data-binary @"$LH_TMP/hb.csv"
http_json POST /catalog/datasets '{"name":"hb","objects":["uploads/hb.csv"]}' -H "X-Lakehouse-Bucket: nosuch"
check_eq "unknown X-Lakehouse-Bucket is 404" "$HTTP_STATUS" 404
http_json POST /storage/buckets '{"name":"testing","backend":"local"}'
http PUT /storage/buckets/testing/objects/uploads/hbt.csv --data-binary @"$LH_TMP/hb.csv"
http_json POST /catalog/datasets '{"name":"hbt","objects":["uploads/hbt.csv"]}' -H "X-Lakehouse-Bucket: testing"
check_eq "another bucket: objects read from it, the dataset stamped with it (ADR 0237)" \
  "$HTTP_STATUS $(jget .bucket) $(jget .row_count)" "201 testing 5"
http_json POST /ingest/db '{}' -H "X-Lakehouse-Bucket: testing"
check_eq "ingest routes that cannot pick a bucket refuse it" "$HTTP_STATUS" 422
check "the 422 says the route writes in primary" grep -q "primary" <<<"$HTTP_BODY"
curl -s -D "$LH_TMP/hdr" -o /dev/null -X POST -H "X-Lakehouse-Bucket: primary" -H "Content-Type: application/json" \
  --data-binary '{"name":"hb","objects":["uploads/hb.csv"]}' "$LH_URL/catalog/datasets"
check_eq "primary is accepted and echoed" "$(head -1 "$LH_TMP/hdr" | cut -d' ' -f2) $(grep -i '^x-lakehouse-bucket:' "$LH_TMP/hdr" | tr -d '\r' | cut -d' ' -f2)" "201 primary"
http GET /catalog/datasets/by-name/hb
check_eq "the new manifest is stamped primary" "$(jget .bucket)" primary

for ds in pa pm ps; do
  rows_csv 1 60 "$LH_TMP/$ds.csv"
  http PUT "/storage/objects/uploads/$ds.csv" --data-binary @"$LH_TMP/$ds.csv"
  http_json POST /catalog/datasets "{\"name\":\"$ds\",\"objects\":[\"uploads/$ds.csv\"]}"
  http_json POST /vectors/index "{\"dataset\":\"$ds\",\"id_column\":\"id\",\"text_column\":\"body\"}"
  check_eq "index over $ds is built" "$(wait_job "$(jget .job_id)")" done
done

http GET /catalog/datasets/by-name/pm
check_eq "a new manifest says refresh_policy manual" "$(jget .embedding.refresh_policy)" manual
http_json PATCH /catalog/datasets/by-name/pa/metadata '{"embedding":{"refresh_policy":"sometimes"}}'
check_eq "unknown policy is 400" "$HTTP_STATUS" 400
http_json PATCH /catalog/datasets/by-name/pa/metadata '{"embedding":{"refresh_policy":"scheduled"}}'
check_eq "scheduled without an interval is 400" "$HTTP_STATUS" 400
check "the 400 names refresh_interval_s" grep -q refresh_interval_s <<<"$HTTP_BODY"
http_json PATCH /catalog/datasets/by-name/pa/metadata '{"embedding":{"status":"fresh"}}'
check_eq "embedding.status is not settable (400)" "$HTTP_STATUS" 400
http_json PATCH /catalog/datasets/by-name/pa/metadata '{"embedding":{"refresh_policy":"on_append"}}'
check_eq "on_append is set" "$HTTP_STATUS $(jget .embedding.refresh_policy) $(jget .embedding.status)" "200 on_append fresh"

for ds in pa pm; do
  rows_csv 61 75 "$LH_TMP/$ds-more.csv"
  http PUT "/storage/objects/uploads/$ds-more.csv" --data-binary @"$LH_TMP/$ds-more.csv"
  http_json POST "/catalog/datasets/by-name/$ds/append" "{\"objects\":[\"uploads/$ds-more.csv\"]}"
  check_eq "append to $ds is 200" "$HTTP_STATUS" 200
done
check "the on_append index is fresh again without a manual refresh" wait_fresh pa 20
http GET /vectors/indexes/pa
check_eq "it holds the appended rows" "$(jget .vectors)" 75
http_json POST /vectors/search '{"index":"pa","query":"uniq70","k":1}'
check_eq "an appended row is searchable" "$(jget '.results[0].doc_id')" 70
check "the manual dataset is still stale" stale_has pm
http GET /catalog/datasets/by-name/pm
check_eq "manual manifest stays stale" "$(jget .embedding.status)" stale
http GET /vectors/refresher
check_eq "refresher records one refresh of pa" "$(jget .running) $(jget .datasets.pa.refreshes) $(jget .datasets.pa.policy)" "true 1 on_append"
check_eq "pm is not among the policies" "$(jget '[.policies[].name] | index("pm")')" null

http_json PATCH /catalog/datasets/by-name/ps/metadata '{"embedding":{"refresh_policy":"scheduled","refresh_interval_s":4}}'
check_eq "scheduled every 4 s is set" "$HTTP_STATUS $(jget .embedding.refresh_policy) $(jget .embedding.refresh_interval_s)" "200 scheduled 4"
rows_csv 61 70 "$LH_TMP/ps-more.csv"
http PUT /storage/objects/uploads/ps-more.csv --data-binary @"$LH_TMP/ps-more.csv"
http_json POST /catalog/datasets/by-name/ps/append '{"objects":["uploads/ps-more.csv"]}'
check "the scheduled dataset is stale right after the append" stale_has ps
check "the scheduled dataset is refreshed within its interval" wait_fresh ps 20
http GET /vectors/indexes/ps
check_eq "scheduled refresh embedded the new rows" "$(jget .vectors)" 70

# builtin: activation skips the model swap with a note
http_json POST /catalog/profiles '{"id":"solo","ollama_name":"mock-chat","bound_datasets":["candidates"]}'
http POST /vectors/profile/solo/activate
check_eq "builtin activation skips the swap" "$HTTP_STATUS $(jget .models.skipped)" "200 true"
check "the note says builtin" grep -q builtin <<<"$(jget .models.note)"
lh_stop

# ---------------------------------------------------------------- profiles against the mock Ollama
mock_start "$ROOT/tests/mock/ai_server.js" --port 0
lh_start "$DATA" LAKEHOUSE_AI_PROVIDER=ollama LAKEHOUSE_AI_URL="$MOCK_URL" LAKEHOUSE_AI_MODEL=mock-chat \
  LAKEHOUSE_AI_TIMEOUT_MS=3000 || { t_fail "ollama server starts"; t_done; exit 1; }
t_ok "server with the mock Ollama starts (builtin embeddings)"

http_json POST /catalog/profiles '{"id":"bad","bound_datasets":["candidates"],"vector_backend":"faiss"}'
check_eq "unknown vector_backend is 400" "$HTTP_STATUS" 400
http_json POST /catalog/profiles '{"id":"recruiter","ollama_name":"mock-chat","bound_datasets":["candidates"],"vector_backend":"lance","bucket":"primary"}'
check_eq "lance profile created" "$HTTP_STATUS $(jget .vector_backend) $(jget .bucket)" "201 lance primary"
http_json POST /catalog/profiles '{"id":"docs","ollama_name":"mock-big","bound_datasets":["candidates"]}'
check_eq "defaults: hnsw, primary" "$HTTP_STATUS $(jget .vector_backend) $(jget .bucket)" "201 hnsw primary"

http GET /vectors/indexes/resumes
check_eq "resumes is parquet-only before" "$(jget .backend)" parquet
http POST /vectors/profile/recruiter/activate
check_eq "activate recruiter" "$HTTP_STATUS $(jget .vector_backend) $(jget .models.preloaded)" "200 lance mock-chat"
check_eq "activation migrated resumes to IVF-PQ" "$(jget '.warmed[0].index') $(jget '.warmed[0].backend') $(jget '.warmed[0].migrated')" "resumes lance true"
http GET /vectors/indexes/resumes
check_eq "resumes has the lance backend now" "$(jget .backend)" lance
http GET /ai/admin/vram
check_eq "only mock-chat is loaded" "$(jget '[.models[].name] | join(",")')" mock-chat
http_json POST /vectors/profile/recruiter/search '{"index":"resumes","query":"registered nurse","k":5}'
check_eq "lance profile search is served by IVF-PQ" "$HTTP_STATUS $(jget .backend) $(jget '.results | length') $(jget .profile)" "200 lance 5 recruiter"

http POST /vectors/profile/docs/activate
check_eq "activate docs swaps models" "$HTTP_STATUS $(jget .models.unloaded) $(jget .models.preloaded) $(jget .models.previous_profile)" \
  "200 mock-chat mock-big recruiter"
http GET /ai/admin/vram
check_eq "after A then B only B's model is loaded" "$(jget '[.models[].name] | join(",")')" mock-big
http GET /vectors/profile/active
check_eq "GET active names docs" "$(jget .active) $(jget .model) $(jget .profile.vector_backend)" "docs mock-big hnsw"
http_json POST /vectors/profile/docs/search '{"index":"resumes","query":"registered nurse","k":5}'
check_eq "hnsw profile search stays on HNSW" "$HTTP_STATUS $(jget .backend)" "200 hnsw"

http POST /vectors/profile/recruiter/deactivate
check_eq "deactivating an inactive profile is 409" "$HTTP_STATUS" 409
http POST /vectors/profile/docs/deactivate
check_eq "deactivate docs unloads its model" "$HTTP_STATUS $(jget .deactivated) $(jget .models.unloaded)" "200 true mock-big"
http GET /ai/admin/vram
check_eq "nothing loaded after deactivate" "$(jget '.models | length')" 0
http GET /vectors/profile/active
check_eq "no active profile" "$(jget .active)" null

t_done
