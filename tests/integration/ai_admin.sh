#!/usr/bin/env bash
# ai_admin.sh — the VRAM gate (/ai/admin/unload, /preload, /vram) against
# tests/mock/ai_server.js speaking Ollama: preload sends an empty prompt
# with keep_alive and the model shows in /api/ps; unload sends keep_alive 0
# and it disappears; vram reports size_vram per model and says GPU totals
# are unavailable; the configured model is the default; a missing model
# and a bad body are clear errors; the builtin provider answers 503 with a
# hint.
source "$(dirname "$0")/../lib.sh"

mock_start "$ROOT/tests/mock/ai_server.js" --port 0
check "mock model server answers" curl -fs "$MOCK_URL/api/ps"
mstat() { curl -s "$MOCK_URL/__stats" | jq -r "$1"; }

# --- builtin provider: 503 with a hint
lh_start "$LH_TMP/d1" || { t_fail "builtin server starts"; t_done; exit 1; }
http_json POST /ai/admin/unload '{"model":"x"}'
check_eq "builtin unload is 503" "$HTTP_STATUS" 503
check "the hint names the ollama provider" grep -q 'ollama' <<<"$(jget .error.hint)"
http GET /ai/admin/vram
check_eq "builtin vram is 503" "$HTTP_STATUS" 503
lh_stop

# --- ollama
lh_start "$LH_TMP/d2" LAKEHOUSE_AI_PROVIDER=ollama LAKEHOUSE_AI_URL="$MOCK_URL" \
  LAKEHOUSE_AI_MODEL=mock-chat LAKEHOUSE_EMBED_MODEL=mock-embed LAKEHOUSE_AI_TIMEOUT_MS=1500 ||
  { t_fail "ollama server starts"; t_done; exit 1; }
http GET /ai/admin/vram
check_eq "vram with nothing loaded" "$HTTP_STATUS $(jget '.models | length') $(jget .gpu.available)" "200 0 false"
check "vram says why GPU totals are missing" grep -q 'nvidia-smi' <<<"$(jget .gpu.reason)"

http_json POST /ai/admin/preload '{"model":"mock-big","keep_alive":"10m"}'
check_eq "preload is 200" "$HTTP_STATUS $(jget .model) $(jget .loaded) $(jget .keep_alive) $(jget .done_reason)" "200 mock-big true 10m load"
check_eq "preload sent an empty prompt with keep_alive" "$(mstat '.last.body | fromjson | [.prompt, .keep_alive] | join("|")')" "|10m"
http POST /ai/admin/preload
check_eq "preload without a body loads the configured model" "$HTTP_STATUS $(jget .model) $(jget .keep_alive)" "200 mock-chat 30m"
http GET /ai/admin/vram
check_eq "vram lists both models" "$(jget '[.models[].name] | sort | join(",")')" "mock-big,mock-chat"
check_eq "vram sums size_vram" "$(jget .total_size_vram)" 1200000

http_json POST /ai/admin/unload '{"model":"mock-big"}'
check_eq "unload is 200" "$HTTP_STATUS $(jget .model) $(jget .unloaded) $(jget .done_reason)" "200 mock-big true unload"
check_eq "unload sent keep_alive 0" "$(mstat '.last.body | fromjson | .keep_alive')" 0
http GET /ai/admin/vram
check_eq "only the other model stays loaded" "$(jget '[.models[].name] | join(",")')" "mock-chat"
http POST /ai/admin/unload
check_eq "unload without a body unloads the configured model" "$HTTP_STATUS $(jget .model)" "200 mock-chat"
http GET /ai/admin/vram
check_eq "nothing loaded after both unloads" "$(jget '.models | length')" 0

http_json POST /ai/admin/preload '{"model":"missing-model"}'
check_eq "preload of a missing model is 503" "$HTTP_STATUS" 503
check "the hint says how to pull it" grep -q 'ollama pull' <<<"$(jget .error.hint)"
http_json POST /ai/admin/unload '{"model":42}'
check_eq "a non-string model is 400" "$HTTP_STATUS" 400
http_json POST /ai/admin/unload '{not json'
check_eq "a bad body is 400" "$HTTP_STATUS" 400
t_done
