#!/usr/bin/env bash
# vector_lab.sh — the HNSW lab against a real server over `lakehouse demo
# --scale 0.02` data (index "resumes" over candidates): an autogen eval, a
# trial journaled to _hnsw_trials/, best by recall / latency / pareto,
# promote (graph hot-swapped, meta.json records it) and rollback, autotune
# with its recall gate, the promoted config surviving a restart, cache
# stats, model profiles (bindings validated, activate warms with the
# promoted config, scoped search answers 403 outside the binding), and the
# autotune agent: disabled by default, then enabled with a short cycle it
# re-trials an index when its dataset is appended to.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
mkdir -p "$DATA"

# --- demo data (index "resumes" over candidates)
if (cd "$LH_TMP" && LAKEHOUSE_DATA="$DATA" "$LH_BIN" demo --scale 0.02 >"$LH_TMP/demo.log" 2>&1); then
  t_ok "demo --scale 0.02 builds the data and the resumes index"
else
  t_fail "demo --scale 0.02" "$(tail -3 "$LH_TMP/demo.log")"; t_done; exit 1
fi
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
t_ok "server starts"

# --- eval sets
http_json POST /vectors/hnsw/evals/resumes_auto/autogen '{"index":"resumes","n":20,"seed":7}'
check_eq "autogen eval is 201" "$HTTP_STATUS" 201
check_eq "it has 20 queries over resumes" "$(jget '[.queries, .index, .kind, .k] | map(tostring) | join(" ")')" "20 resumes autogen 10"
check "the eval file is in the bucket" test -f "$DATA/_hnsw_evals/resumes_auto.json"
http_json POST /vectors/hnsw/evals '{"name":"nurses","index":"resumes","queries":["registered nurse ICU","forklift warehouse"]}'
check_eq "explicit eval is 201" "$HTTP_STATUS" 201
check_eq "explicit eval keeps its texts" "$(jget '.sample_texts | length')" 2
http GET /vectors/hnsw/evals
check_eq "GET evals lists both" "$(jget '[.evals[].name] | sort | join(",")')" "nurses,resumes_auto"
http_json POST /vectors/hnsw/evals/bad/autogen '{"index":"nope"}'
check_eq "autogen over an unknown index is 404" "$HTTP_STATUS" 404

# --- trials
http_json POST /vectors/hnsw/trial '{"index":"resumes","eval":"resumes_auto","ef_construction":40,"ef_search":30}'
check_eq "trial is 201" "$HTTP_STATUS" 201
T1=$(jget .id)
check "trial recall in [0.5, 1]" jq -e '.recall >= 0.5 and .recall <= 1' <<<"$HTTP_BODY"
check "trial has p50/p90 latency, build time, memory" jq -e '.p50_us > 0 and .p90_us >= .p50_us and .build_s > 0 and .memory_bytes > 0 and .brute_p50_us > 0' <<<"$HTTP_BODY"
check_eq "trial config as asked (M from the live graph)" "$(jget '.config | [.M, .ef_construction, .ef_search] | map(tostring) | join(" ")')" "16 40 30"
http_json POST /vectors/hnsw/trial '{"index":"resumes","eval":"resumes_auto","ef_construction":120,"ef_search":100}'
T2=$(jget .id)
http_json POST /vectors/hnsw/trial '{"index":"resumes","eval":"resumes_auto","ef_construction":1000}'
check_eq "out-of-bounds ef_construction is 400" "$HTTP_STATUS" 400
http_json POST /vectors/hnsw/trial '{"index":"resumes","eval":"missing"}'
check_eq "unknown eval is 404" "$HTTP_STATUS" 404
check_eq "journal has 2 lines" "$(wc -l <"$DATA/_hnsw_trials/resumes.jsonl" | tr -d ' ')" 2
http GET /vectors/hnsw/trials/resumes
check_eq "GET trials lists both" "$(jget '[.trials[].id] | join(",")')" "$T1,$T2"
http GET "/vectors/hnsw/trials/resumes/best?metric=recall"
check "best by recall has the highest recall" jq -e '.best.recall == ([.best.recall] | max)' <<<"$HTTP_BODY"
R1=$(jq -r --arg a "$T1" '.trials[] | select(.id==$a) | .recall' <<<"$(curl -s "$LH_URL/vectors/hnsw/trials/resumes")")
check "best recall >= trial 1's recall" jq -e --argjson r "$R1" '.best.recall >= $r' <<<"$HTTP_BODY"
http GET "/vectors/hnsw/trials/resumes/best?metric=latency&min_recall=0"
check_eq "best by latency is 200" "$HTTP_STATUS" 200
http GET "/vectors/hnsw/trials/resumes/best?metric=pareto&min_recall=0"
check "pareto returns a non-empty front" jq -e '(.front | length) >= 1 and .best.id != null' <<<"$HTTP_BODY"
http GET "/vectors/hnsw/trials/resumes/best?metric=speed"
check_eq "unknown metric is 400" "$HTTP_STATUS" 400

# --- promote / rollback
http POST "/vectors/hnsw/promote/resumes/$T2"
check_eq "promote is 200" "$HTTP_STATUS" 200
check_eq "current is the trial" "$(jget .current.trial_id)" "$T2"
check_eq "the graph was swapped" "$(jget .swap.swapped)" true
http GET /vectors/indexes/resumes
check_eq "index meta records the promoted config" "$(jget '.hnsw | [.ef_construction, .ef_search] | map(tostring) | join(" ")')" "120 100"
check "the promoted graph file exists" test -f "$DATA/_vectors/resumes/$(jget .hnsw.file)"
http_json POST /vectors/search '{"index":"resumes","query":"registered nurse","k":3,"mode":"hnsw"}'
check_eq "search works on the swapped graph" "$(jget '.results | length')" 3
http POST "/vectors/hnsw/promote/resumes/$T1"
check_eq "second promote" "$(jget .current.trial_id)/$(jget .previous.trial_id)" "$T1/$T2"
http POST /vectors/hnsw/promote/resumes/t-nope
check_eq "promote an unknown trial is 404" "$HTTP_STATUS" 404
http POST /vectors/hnsw/rollback/resumes
check_eq "rollback restores the previous promotion" "$(jget .current.trial_id)" "$T2"
http GET /vectors/hnsw/promoted/resumes
check_eq "promoted shows current + live config" "$(jget .current.trial_id) $(jget .live.ef_construction)" "$T2 120"
check "registry file exists" test -f "$DATA/_hnsw_promotions/resumes.json"

# --- autotune
http_json POST /vectors/hnsw/autotune '{"index":"resumes","eval":"resumes_auto","min_recall":0.9}'
check_eq "autotune is 200" "$HTTP_STATUS" 200
check_eq "autotune ran the default 5 configs" "$(jget '.trials | length')" 5
if [ "$(jget .promoted)" = true ]; then
  check "autotune winner passes the gate" jq -e '.winner.recall >= 0.9 and .promotion.current.reason == "autotune"' <<<"$HTTP_BODY"
else
  check "no promotion only when nothing passes the gate" jq -e '[.trials[].recall] | max < 0.9' <<<"$HTTP_BODY"
fi
WIN=$(jget .winner.id)
http_json POST /vectors/hnsw/autotune '{"index":"resumes","eval":"resumes_auto","configs":[{"ef_construction":10,"ef_search":10,"M":4}],"min_recall":1.0,"promote":true}'
if [ "$(jget '.trials[0].recall')" != 1 ]; then
  check_eq "a gate nothing reaches promotes nothing" "$(jget .promoted)/$(jget .winner)" "false/null"
else
  t_skip_optional "a gate nothing reaches promotes nothing" "the weak config reached recall 1 on this data"
fi
http_json POST /vectors/hnsw/autotune '{"index":"resumes","configs":[{"ef_search":500}]}'
check_eq "autotune config out of bounds is 400" "$HTTP_STATUS" 400
check_eq "journal has every trial" "$(wc -l <"$DATA/_hnsw_trials/resumes.jsonl" | tr -d ' ')" 8
http GET /vectors/hnsw/cache/stats
check "cache stats show resumes loaded with its matrix" jq -e '.indexes[] | select(.index=="resumes") | .loaded and .vectors == 2000 and .matrix_bytes == 2000*384*4' <<<"$HTTP_BODY"

# --- restart: the promoted graph is loaded, not rebuilt
http GET /vectors/indexes/resumes
LIVE=$(jget '.hnsw | [.M, .ef_construction, .ef_search] | map(tostring) | join(" ")')
lh_stop
lh_start "$DATA" || { t_fail "server restarts"; t_done; exit 1; }
curl -s -X POST "$LH_URL/vectors/search" -H 'Content-Type: application/json' -d '{"index":"resumes","query":"nurse","k":1}' >/dev/null
http GET /vectors/indexes/resumes
check_eq "after a restart the promoted config is live" "$(jget '.hnsw | [.M, .ef_construction, .ef_search] | map(tostring) | join(" ")')" "$LIVE"
check_eq "... loaded from its file" "$(jget .hnsw_state)" loaded
http GET /vectors/hnsw/promoted/resumes
[ -n "$WIN" ] && [ "$WIN" != null ] && check_eq "registry survives the restart" "$(jget .current.trial_id)" "$WIN"

# --- profiles
http_json POST /catalog/profiles '{"id":"bad-profile","bound_datasets":["nope"]}'
check_eq "profile bound to an unknown dataset is 422" "$HTTP_STATUS" 422
http_json POST /catalog/profiles '{"id":"recruiter","ollama_name":"qwen2.5","description":"staffing","bound_datasets":["candidates"],"hnsw_config":{"ef_construction":80,"ef_search":30}}'
check_eq "profile created is 201" "$HTTP_STATUS" 201
check_eq "profile fields" "$(jget '[.id, .ollama_name, .bound_datasets[0], .hnsw_config.ef_search, .created_by] | map(tostring) | join(" ")')" "recruiter qwen2.5 candidates 30 anonymous"
check "profile file exists" test -f "$DATA/_catalog/profiles/recruiter.json"
http_json POST /catalog/profiles '{"id":"analyst","bound_datasets":["placements"]}'
check_eq "second profile (other dataset) is 201" "$HTTP_STATUS" 201
http GET /catalog/profiles
check_eq "GET profiles lists both" "$(jget '[.profiles[].id] | join(",")')" "analyst,recruiter"
http POST /vectors/profile/recruiter/activate
check_eq "activate is 200" "$HTTP_STATUS" 200
check_eq "activate warms resumes" "$(jget '.warmed[0].index') $(jget '.warmed[0].vectors')" "resumes 2000"
check_eq "activation uses the promoted config over the profile's" "$(jget '.warmed[0].config_source')" promoted
http_json POST /vectors/profile/recruiter/search '{"index":"resumes","query":"registered nurse","k":3}'
check_eq "in-scope profile search is 200" "$HTTP_STATUS" 200
check_eq "... through the warm graph" "$(jget .mode) $(jget '.results | length') $(jget .profile)" "hnsw 3 recruiter"
http_json POST /vectors/profile/analyst/search '{"index":"resumes","query":"registered nurse"}'
check_eq "out-of-scope profile search is 403" "$HTTP_STATUS" 403
check "403 lists the allowed datasets" jq -e '.error.message | test("allowed: placements")' <<<"$HTTP_BODY"
http POST /vectors/profile/analyst/activate
check "activate reports a bound dataset without index as a failure" jq -e '.failures[0].dataset == "placements"' <<<"$HTTP_BODY"
http DELETE /catalog/profiles/analyst
check_eq "delete profile is 204" "$HTTP_STATUS" 204
http GET /catalog/profiles/analyst
check_eq "deleted profile is 404" "$HTTP_STATUS" 404

# --- the agent: off by default
http GET /vectors/agent/status
check_eq "agent disabled by default" "$(jget .config.enabled) $(jget .running)" "false false"
http POST /vectors/agent/enqueue/resumes
check_eq "enqueue while it is not running is 409" "$HTTP_STATUS" 409
# a small dataset + index the agent will watch
{ echo "id,body"; for i in $(seq 1 60); do echo "$i,\"person $i works as a nurse, driver or cook number $((i % 7))\""; done; } >"$LH_TMP/people.csv"
http PUT /storage/objects/uploads/people.csv --data-binary @"$LH_TMP/people.csv"
http_json POST /catalog/datasets '{"name":"people","objects":["uploads/people.csv"]}'
http_json POST /vectors/index '{"dataset":"people","id_column":"id","text_column":"body","index_name":"people_idx"}'
JOB=$(jget .job_id)
for _ in $(seq 1 300); do http GET "/jobs/$JOB"; [ "$(jget .state)" = done ] && break; sleep 0.1; done
check_eq "people_idx built" "$(jget .state)" done
lh_stop

# --- the agent, enabled: a dataset append triggers a re-trial
lh_start "$DATA" LAKEHOUSE_AGENT_ENABLED=true LAKEHOUSE_AGENT_CYCLE_INTERVAL_S=1 LAKEHOUSE_AGENT_COOLDOWN_S=0 \
  LAKEHOUSE_AGENT_MAX_TRIALS_PER_HOUR=10 LAKEHOUSE_AGENT_EVAL_QUERIES=10 || { t_fail "server with agent starts"; t_done; exit 1; }
http GET /vectors/agent/status
check_eq "agent running" "$(jget .running) $(jget .config.cycle_interval_s)" "true 1"
wait_agent_trials() { # N — waits until the agent made N trials
  for _ in $(seq 1 300); do
    http GET /vectors/agent/status
    [ "$(jget .trials)" -ge "$1" ] 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
sleep 1.2 # the first scan only records what exists
printf 'id,body\n61,"person 61 is a welder"\n' >"$LH_TMP/more.csv"
http PUT /storage/objects/uploads/more.csv --data-binary @"$LH_TMP/more.csv"
http_json POST /catalog/datasets/by-name/people/append '{"objects":["uploads/more.csv"]}'
check_eq "append to people" "$HTTP_STATUS" 200
check "the agent re-trials people_idx after the append" wait_agent_trials 1
check_eq "... because of the append" "$(jget .last_trial.index)" people_idx
check_eq "its first trial is the live-config baseline" "$(jget .last_trial.note) $(jget .last_trial.source)" "baseline agent"
http POST /vectors/agent/enqueue/resumes
check_eq "enqueue is 202" "$HTTP_STATUS" 202
check "the enqueued index gets a trial" wait_agent_trials 2
check "agent trials are journaled" grep -q '"source":"agent"' "$DATA/_hnsw_trials/resumes.jsonl"
http POST /vectors/agent/enqueue/nope
check_eq "enqueue an unknown index is 404" "$HTTP_STATUS" 404
http POST /vectors/agent/stop
check_eq "stop: not running" "$HTTP_STATUS $(jget .running)" "200 false"
t_done
