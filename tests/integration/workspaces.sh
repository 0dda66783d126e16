#!/usr/bin/env bash
# workspaces.sh — agent workspaces and schema evolution over HTTP.
# Workspaces: create with tiers, saved searches, shortlists and items,
# activity, zero-copy handoff (same id, same lists, new owner, history),
# pin, persistence across a restart, an expired workspace purged at start,
# delete. Schema: POST /catalog/schema/diff (renames with confidence, casts,
# the LLM prompt) and GET .../schema-diff?version=N over a dataset whose
# Delta log gained a schema-changing commit.
source "$(dirname "$0")/../lib.sh"

DATA=$LH_TMP/data
mkdir -p "$DATA/_workspaces"
# an expired daily workspace left from "before": the start-up sweep purges it
OLD=00000000-0000-4000-8000-000000000001
cat >"$DATA/_workspaces/$OLD.json" <<EOF
{"id":"$OLD","name":"old","owner_agent":"a","tier":"daily","created_at":"2020-01-01T00:00:00.000Z",
 "updated_at":"2020-01-01T00:00:00.000Z","expires_at":"2020-01-02T00:00:00.000Z",
 "saved_searches":[],"shortlists":[],"activity":[]}
EOF
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
check "expired workspace purged at start" test ! -e "$DATA/_workspaces/$OLD.json"
http GET "/workspaces/$OLD"
check_eq "expired workspace: 404" "$HTTP_STATUS" 404

# ---- create, validate ---------------------------------------------------------
http_json POST /workspaces '{"name":"Q3 nurses","owner_agent":"recruiter-bot"}'
check_eq "create: 201" "$HTTP_STATUS" 201
WS=$(jget .id)
check_eq "create: daily tier by default, expiring in a day" \
  "$(jget '.tier + " " + (((.expires_at[0:19]+"Z"|fromdate) - (.created_at[0:19]+"Z"|fromdate))|tostring)')" "daily 86400"
http_json POST /workspaces '{"name":"x","tier":"yearly"}'
check_eq "bad tier: 400 bad_request" "$HTTP_STATUS $(jget .error.code)" "400 bad_request"
http_json POST /workspaces '{"name":"other","tier":"weekly"}'
check_eq "weekly workspace owned by the caller" "$(jget '.tier + " " + .owner_agent')" "weekly anonymous"
OTHER=$(jget .id)

# ---- searches, shortlists, items, activity ----------------------------------------
http_json POST "/workspaces/$WS/searches" '{"name":"night RNs","query":"registered nurse night shift","index":"candidates_idx","params":{"k":20}}'
check_eq "saved search: 201" "$HTTP_STATUS $(jget '.saved_searches|length')" "201 1"
http_json POST "/workspaces/$WS/shortlists" '{"name":"top","items":[{"entity":"candidate","id":17,"note":"strong"}]}'
check_eq "shortlist: 201 with 1 item" "$HTTP_STATUS $(jget '.shortlists[0].items|length')" "201 1"
http_json POST "/workspaces/$WS/shortlists" '{"name":"top"}'
check_eq "duplicate shortlist: 409" "$HTTP_STATUS" 409
http_json POST "/workspaces/$WS/shortlists/top/items" '{"entity":"candidate","id":"c-42","note":"call Monday"}'
check_eq "item added: 201, 2 items" "$HTTP_STATUS $(jget '.shortlists[0].items|length')" "201 2"
http_json POST "/workspaces/$WS/shortlists/nope/items" '{"entity":"candidate","id":1}'
check_eq "items into a missing shortlist: 404" "$HTTP_STATUS" 404
http_json POST "/workspaces/$WS/shortlists/top/items" '{"entity":"candidate"}'
check_eq "item without id: 400" "$HTTP_STATUS" 400
http_json POST "/workspaces/$WS/activity" '{"action":"emailed","detail":{"candidate":17}}'
check_eq "activity logged: 201" "$HTTP_STATUS $(jget '.activity[-1].action')" "201 emailed"

# ---- handoff -------------------------------------------------------------------------
http GET "/workspaces/$WS"
LISTS_BEFORE=$(echo "$HTTP_BODY" | jq -S '[.saved_searches, .shortlists]')
http_json POST "/workspaces/$WS/handoff" '{"to_agent":"scheduler-bot","from_agent":"recruiter-bot","note":"book interviews"}'
check_eq "handoff: 200, new owner" "$HTTP_STATUS $(jget .owner_agent)" "200 scheduler-bot"
check_eq "handoff: same workspace id" "$(jget .id)" "$WS"
check_eq "handoff: recorded in the activity log" "$(jget '.activity[-1] | [.action, .detail.from, .detail.to, .detail.note] | @csv')" \
  '"handoff","recruiter-bot","scheduler-bot","book interviews"'
check_eq "handoff: searches and shortlists unchanged" "$(echo "$HTTP_BODY" | jq -S '[.saved_searches, .shortlists]')" "$LISTS_BEFORE"
http_json POST "/workspaces/$WS/handoff" '{"to_agent":"x","from_agent":"recruiter-bot"}'
check_eq "handoff from a former owner: 409" "$HTTP_STATUS" 409
http GET "/workspaces?owner=scheduler-bot"
check_eq "list by new owner" "$(jget '.workspaces|map(.id)|@csv')" "\"$WS\""
check_eq "list summary counts" "$(jget '.workspaces[0].counts|[.saved_searches,.shortlists,.items]|@csv')" "1,1,2"
http GET "/workspaces?owner=recruiter-bot"
check_eq "old owner has none" "$(jget '.workspaces|length')" 0
http GET "/workspaces?tier=monthly"
check_eq "list by tier" "$(jget '.workspaces|length')" 0
check_eq "one object per workspace" "$(ls "$DATA/_workspaces/" | grep -c '\.json$')" 2

# ---- pin, restart, delete ---------------------------------------------------------------
http POST "/workspaces/$WS/pin"
check_eq "pin: never expires" "$HTTP_STATUS $(jget .tier) $(jget .expires_at)" "200 pinned null"
http GET "/workspaces/$WS"
BEFORE=$(echo "$HTTP_BODY" | jq -S .)
lh_stop
lh_start "$DATA" || { t_fail "server restarts"; t_done; exit 1; }
http GET "/workspaces/$WS"
check_eq "after restart: the same workspace" "$(echo "$HTTP_BODY" | jq -S .)" "$BEFORE"
http GET /workspaces
check_eq "after restart: both listed" "$(jget '.workspaces|length')" 2
http DELETE "/workspaces/$OTHER"
check_eq "delete: 204" "$HTTP_STATUS" 204
check "delete removes the object" test ! -e "$DATA/_workspaces/$OTHER.json"
http GET "/workspaces/$OTHER"
check_eq "deleted: 404" "$HTTP_STATUS" 404

# ---- schema diff of two column lists -------------------------------------------------------
http_json POST /catalog/schema/diff '{"dataset":"people","old":[{"name":"id","type":"INTEGER"},{"name":"full_name","type":"VARCHAR"},{"name":"email","type":"VARCHAR"},{"name":"zip","type":"VARCHAR"},{"name":"fax","type":"VARCHAR"}],
  "new":[{"name":"id","type":"BIGINT"},{"name":"fullName","type":"VARCHAR"},{"name":"email_address","type":"VARCHAR"},{"name":"zip","type":"INTEGER"},{"name":"hired_on","type":"DATE"}]}'
check_eq "diff: 200" "$HTTP_STATUS" 200
check_eq "diff: renames with confidence" "$(jget '.renamed|map("\(.from)>\(.to)@\(.confidence)")|sort|@csv')" \
  '"email>email_address@0.6","full_name>fullName@1"'
check_eq "diff: type changes" "$(jget '.type_changed|map("\(.name):\(.from)>\(.to)")|@csv')" '"id:INTEGER>BIGINT","zip:VARCHAR>INTEGER"'
check_eq "diff: added and removed" "$(jget '[.added[0].name, .removed[0].name]|@csv')" '"hired_on","fax"'
check_eq "rules: widening cast is sure" "$(jget '.rules[]|select(.kind=="cast" and .column=="id")|[.sql_expr,.confidence]|@csv')" \
  '"CAST(""id"" AS BIGINT) AS ""id""",1'
check_eq "rules: text to number is TRY_CAST at 0.5" "$(jget '.rules[]|select(.kind=="cast" and .column=="zip")|[.sql_expr,.confidence]|@csv')" \
  '"TRY_CAST(""zip"" AS INTEGER) AS ""zip""",0.5'
check_eq "needs review, with an LLM prompt" "$(jget '[.needs_review, (.prompt|test("REVIEW"))]|@csv')" "true,true"
http_json POST /catalog/schema/diff '{"old":[{"name":"a","type":"INTEGER"}],"new":[{"name":"a","type":"BIGINT"}]}'
check_eq "sure migration: no prompt" "$(jget '[.needs_review, .prompt]|@csv')" "false,"
http_json POST /catalog/schema/diff '{"old":[{"name":"a"},{"name":"a"}],"new":[]}'
check_eq "duplicate column: 400" "$HTTP_STATUS" 400
http_json POST /catalog/schema/diff '{"old":[]}'
check_eq "missing list: 400" "$HTTP_STATUS" 400

# ---- schema diff across Delta versions of a dataset ------------------------------------------
{ echo "id,full_name,email,zip"; for i in 1 2 3; do echo "$i,P $i,p$i@example.com,0100$i"; done; } >"$LH_TMP/p.csv"
http PUT /storage/objects/uploads/p.csv --data-binary @"$LH_TMP/p.csv"
http_json POST /catalog/datasets '{"name":"people","objects":["uploads/p.csv"]}'
check_eq "dataset registered" "$HTTP_STATUS" 201
LOC=$(jget .location)
http GET "/storage/objects/$LOC/_delta_log/00000000000000000000.json"
# version 1: a metadata-only commit that renames, retypes and adds columns
SCHEMA='{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}},{"name":"fullName","type":"string","nullable":true,"metadata":{}},{"name":"email_address","type":"string","nullable":true,"metadata":{}},{"name":"zip","type":"long","nullable":true,"metadata":{}},{"name":"hired_on","type":"date","nullable":true,"metadata":{}}]}'
echo "$HTTP_BODY" | jq -c --arg s "$SCHEMA" 'select(.metaData) | .metaData.schemaString = $s' >"$LH_TMP/v1.json"
http PUT "/storage/objects/$LOC/_delta_log/00000000000000000001.json" --data-binary @"$LH_TMP/v1.json"
check_eq "a Delta commit cannot be forged through /storage (reserved, 403)" "$HTTP_STATUS" 403
cp "$LH_TMP/v1.json" "$DATA/$LOC/_delta_log/00000000000000000001.json" # another Delta writer, on disk
check "schema-changing commit written" test -s "$DATA/$LOC/_delta_log/00000000000000000001.json"
http GET "/catalog/datasets/by-name/people/schema-diff?version=0"
check_eq "dataset diff: 200, v0 → v1" "$HTTP_STATUS $(jget '[.from_version,.to_version]|@csv')" "200 0,1"
check_eq "dataset diff: renames" "$(jget '.renamed|map("\(.from)>\(.to)")|sort|@csv')" '"email>email_address","full_name>fullName"'
check_eq "dataset diff: zip retyped, hired_on added" "$(jget '[.type_changed[0].name, .type_changed[0].to, .added[0].name]|@csv')" \
  '"zip","BIGINT","hired_on"'
check_eq "dataset diff: prompt names the dataset" "$(jget '.prompt|test("\"people\"")')" true
http GET "/catalog/datasets/by-name/people/schema-diff"
check_eq "default: the version before the latest" "$(jget '[.from_version,.to_version]|@csv')" "0,1"
http GET "/catalog/datasets/by-name/people/schema-diff?version=9"
check_eq "missing version: 404" "$HTTP_STATUS" 404
http GET "/catalog/datasets/by-name/people/schema-diff?version=x"
check_eq "bad version: 400" "$HTTP_STATUS" 400
http GET "/catalog/datasets/by-name/nobody/schema-diff"
check_eq "unknown dataset: 404" "$HTTP_STATUS" 404

t_done
