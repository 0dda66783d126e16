#!/usr/bin/env bash
# lh-timeout: 240
# governance_dml.sh — issue 10 on the paths that read a table's files
# themselves (ADR 0240–0242), on the demo data with auth on:
#   - UPDATE / DELETE by a write key whose role masks e-mails and denies
#     SSNs: the predicate and the SET expressions see the role's view (a
#     denied column does not bind, a masked one compares as its hash), a
#     masked column cannot be SET, subqueries and INSERT / CTAS sources
#     bind to the role's views, a row filter limits what is changed and
#     counted;
#   - time travel by non-admin keys through the role's view of the old
#     snapshot (masks, denied columns, row filters), never raw;
#   - the history route redacting DML predicates for non-admin keys.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
LAKEHOUSE_DATA=$DATA "$LH_BIN" demo --scale 0.02 --seed 7 >"$LH_TMP/demo.log" 2>&1
check_eq "demo data generated" "$?" 0
lh_start "$DATA" LAKEHOUSE_AUTH_ENABLED=true LAKEHOUSE_API_KEYS="k-admin:admin,k-read:read,k-write:write" ||
  { t_fail "server starts"; t_done; exit 1; }
SSN_RE='[0-9]{3}-[0-9]{2}-[0-9]{4}'
EMAIL_RE='[a-z0-9._]+@[a-z0-9.]+\.[a-z]+'
sql() { # sql KEY SQL — prints nothing, sets OUT and CODE
  local body; body=$(jq -cn --arg s "$2" '{sql:$s, limit:200}')
  OUT=$(curl -s -w '\n%{http_code}' -H "X-API-Key: $1" "$LH_URL/query/sql" -d "$body")
  CODE=$(echo "$OUT" | tail -1); OUT=$(echo "$OUT" | sed '$d')
}
val() { jq -r "$1" <<<"$OUT"; }
none() { ! grep -qE "$1" <<<"$2"; } # none REGEX TEXT
count() { sql k-admin "SELECT count(*) FROM $1"; val '.rows[0][0]'; }

# ---- the version every later time-travel read goes back to ---------------------------------
H=$(curl -s -H "X-API-Key: k-admin" "$LH_URL/catalog/datasets/by-name/candidates/history")
V0=$(jq '.history[0].version' <<<"$H")
check "candidates has a version to go back to" test "$V0" -ge 0
N0=$(count candidates)

# ---- DML predicates see the write role's view ---------------------------------------------
sql k-write "DELETE FROM candidates WHERE ssn LIKE '1%'"
check_eq "DELETE probing a denied column (ssn) does not bind (400)" "$CODE" 400
check "…and the error names no value" none "$SSN_RE" "$OUT"
sql k-write "UPDATE candidates SET city = city WHERE substr(ssn, 1, 1) = '1'"
check_eq "UPDATE probing a denied column does not bind (400)" "$CODE" 400
sql k-write "UPDATE job_orders SET title = title WHERE (SELECT count(*) FROM candidates WHERE ssn IS NOT NULL) > 0"
check_eq "a predicate's subquery binds to the role's view: no ssn there either (400)" "$CODE" 400
check_eq "nothing was deleted by the probes" "$(count candidates)" "$N0"

sql k-admin "SELECT email FROM candidates WHERE candidate_id = 3"; RAW=$(val '.rows[0][0]')
sql k-write "SELECT email FROM candidates WHERE candidate_id = 3"; HASHED=$(val '.rows[0][0]')
check "the write role sees candidate 3's e-mail hashed" test "$RAW" != "$HASHED" -a ${#HASHED} -eq 16
sql k-write "DELETE FROM candidates WHERE email = '$RAW'"
check_eq "DELETE by the raw e-mail matches nothing: the predicate sees the hash" "$CODE $(val .rows_affected)" "200 0"
sql k-write "DELETE FROM candidates WHERE email LIKE '%@%'"
check_eq "no masked value looks like an e-mail to the predicate" "$CODE $(val .rows_affected)" "200 0"
sql k-write "UPDATE job_orders SET title = title WHERE EXISTS (SELECT 1 FROM candidates WHERE email = '$RAW')"
check_eq "a subquery compares hashes too (0 rows)" "$CODE $(val .rows_affected)" "200 0"
check_eq "still every candidate" "$(count candidates)" "$N0"
sql k-write "UPDATE candidates SET email = 'x@y.z' WHERE candidate_id = 3"
check_eq "SET of a masked column is refused (403)" "$CODE" 403
check "…naming the column" grep -q "column 'email'" <<<"$OUT"
sql k-write "UPDATE candidates SET ssn = '000-00-0000' WHERE candidate_id = 3"
check_eq "SET of a denied column is refused (403)" "$CODE" 403
sql k-write "UPDATE candidates SET city = email WHERE candidate_id = 4"
check_eq "a SET expression reads the masked value" "$CODE $(val .rows_affected)" "200 1"
sql k-admin "SELECT city FROM candidates WHERE candidate_id = 4"
check "…so what it wrote is the hash, not the e-mail" bash -c "[[ '$(val '.rows[0][0]')' =~ ^[0-9a-f]{16}$ ]]"
sql k-write "DELETE FROM candidates WHERE email = '$HASHED'"
check_eq "DELETE by the hash the role sees removes that row" "$CODE $(val .rows_affected)" "200 1"
sql k-admin "SELECT count(*) FROM candidates WHERE candidate_id = 3"
check_eq "…candidate 3 is gone" "$(val '.rows[0][0]')" 0

sql k-write "CREATE TABLE probe AS SELECT candidate_id, email FROM candidates WHERE candidate_id < 10"
check_eq "CTAS by the write key" "$CODE" 200
sql k-admin "SELECT email FROM probe"
check_eq "CTAS copied what the role sees: hashes, never the e-mails" \
  "$(val '[.rows[][0] | test("^[0-9a-f]{16}$")] | [length > 0, all] | join(",")')" "true,true"
sql k-write "INSERT INTO probe SELECT candidate_id, email FROM candidates WHERE candidate_id BETWEEN 10 AND 12"
check_eq "INSERT … SELECT by the write key" "$CODE" 200
sql k-admin "SELECT email FROM probe WHERE candidate_id >= 10"
check_eq "INSERT copied hashes too" "$(val '[.rows[][0] | test("^[0-9a-f]{16}$")] | [length, all] | join(",")')" "3,true"

# ---- a row filter bounds what a writer changes ----------------------------------------------
R=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-API-Key: k-admin" "$LH_URL/access/roles" \
  -d '{"name":"deskw","level":"write","max_sensitivity":"confidential","pii_default":"deny","row_filters":{"placements":"recruiter_id = CAST($recruiter_id AS BIGINT)"}}')
check_eq "custom write role with a row filter" "$R" 201
DK=$(curl -s -H "X-API-Key: k-admin" "$LH_URL/access/keys" -d '{"name":"deskw-3","role":"deskw","attributes":{"recruiter_id":"3"}}' | jq -r .key)
sql k-admin "SELECT count(*) FILTER (WHERE recruiter_id = 3), count(*) FILTER (WHERE recruiter_id <> 3) FROM placements"
MINE=$(val '.rows[0][0]'); OTHERS=$(val '.rows[0][1]')
check "recruiter 3 has placements, others too" test "$MINE" -gt 0 -a "$OTHERS" -gt 0
sql "$DK" "DELETE FROM placements WHERE recruiter_id <> 3"
check_eq "DELETE of rows outside the filter matches nothing" "$CODE $(val .rows_affected)" "200 0"
sql "$DK" "UPDATE placements SET status = status"
check_eq "UPDATE without WHERE changes (and counts) only the filtered rows" "$CODE $(val .rows_affected)" "200 $MINE"
sql "$DK" "DELETE FROM placements"
check_eq "DELETE without WHERE removes only the filtered rows" "$CODE $(val .rows_affected)" "200 $MINE"
sql k-admin "SELECT count(*) FILTER (WHERE recruiter_id = 3), count(*) FILTER (WHERE recruiter_id <> 3) FROM placements"
check_eq "…the others' placements are all still there" "$(val '.rows[0][0]') $(val '.rows[0][1]')" "0 $OTHERS"
sql "$DK" "DELETE FROM placements WHERE CAST('r' || recruiter_id AS INTEGER) = 0"
check_eq "a predicate that would fail (quoting a value) is never run on others' rows" "$CODE $(val .rows_affected)" "200 0"

# ---- a confined writer on a table with deletion vectors (ADR 0277) ----------------------------
sql k-admin "CREATE TABLE dvp TBLPROPERTIES ('delta.enableDeletionVectors' = 'true') AS SELECT * FROM placements"
check_eq "a copy of placements with deletion vectors" "$CODE" 200
sql k-admin "SELECT min(recruiter_id) FROM dvp"; RID=$(val '.rows[0][0]')
R=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-API-Key: k-admin" "$LH_URL/access/roles" \
  -d '{"name":"deskdv","level":"write","max_sensitivity":"confidential","pii_default":"deny","row_filters":{"dvp":"recruiter_id = CAST($recruiter_id AS BIGINT)"}}')
check_eq "write role with a row filter on the DV table" "$R" 201
DV_KEY=$(curl -s -H "X-API-Key: k-admin" "$LH_URL/access/keys" -d "{\"name\":\"deskdv-1\",\"role\":\"deskdv\",\"attributes\":{\"recruiter_id\":\"$RID\"}}" | jq -r .key)
dvp_counts() { sql k-admin "SELECT count(*) FILTER (WHERE recruiter_id = $RID), count(*) FILTER (WHERE recruiter_id <> $RID), count(*) FILTER (WHERE recruiter_id = $RID AND status = 'moved'), count(*) FILTER (WHERE status = 'moved') FROM dvp"; jq -c '.rows[0]' <<<"$OUT"; }
C0=$(dvp_counts); MINE=$(jq '.[0]' <<<"$C0"); OTHERS=$(jq '.[1]' <<<"$C0")
check "recruiter $RID has placements in dvp, others too" test "$MINE" -gt 1 -a "$OTHERS" -gt 0
DVLOG=$DATA/tables/dvp/_delta_log
last_commit() { find "$DVLOG" -name '0*.json' | sort | tail -1; }
sql "$DV_KEY" "UPDATE dvp SET status = 'moved'"
check_eq "the confined UPDATE changes (and counts) only the filtered rows" "$CODE $(val .rows_affected)" "200 $MINE"
C1=$(dvp_counts)
check_eq "…every one of them updated, no other row" "$C1" "[$MINE,$OTHERS,$MINE,$MINE]"
check_eq "…written as deletion vectors: no file rewritten, each DV'd file added back with a 'u' descriptor" \
  "$(jq -sr '[.[] | select(.add and .add.deletionVector) | .add.deletionVector.storageType] | unique | join(",")' "$(last_commit)")" u
check_eq "…whose cardinalities add up to the rows updated" \
  "$(jq -s '[.[] | select(.add) | .add.deletionVector.cardinality // 0] | add' "$(last_commit)")" "$MINE"
check_eq "…plus one new file of the updated rows" \
  "$(jq -s '[.[] | select(.add and (.add.deletionVector | not))] | length' "$(last_commit)")" 1
sql "$DV_KEY" "DELETE FROM dvp WHERE recruiter_id <> $RID"
check_eq "a confined DELETE of rows outside the filter matches nothing" "$CODE $(val .rows_affected)" "200 0"
sql "$DV_KEY" "DELETE FROM dvp WHERE placement_id = (SELECT min(placement_id) FROM dvp)"
check_eq "a confined DELETE of one of its rows" "$CODE $(val .rows_affected)" "200 1"
check_eq "…is a deletion vector of one row on the new file" \
  "$(jq -sr '[.[] | select(.add) | .add.deletionVector | "\(.storageType) \(.cardinality)"] | join(",")' "$(last_commit)")" "u 1"
check_eq "…the others' rows all still there, the filtered ones but one" "$(dvp_counts)" "[$((MINE - 1)),$OTHERS,$((MINE - 1)),$((MINE - 1))]"
sql "$DV_KEY" "DELETE FROM dvp"
check_eq "a confined DELETE without WHERE removes only the filtered rows" "$CODE $(val .rows_affected)" "200 $((MINE - 1))"
check_eq "…and no other row" "$(dvp_counts)" "[0,$OTHERS,0,0]"

# ---- time travel through the role's view ---------------------------------------------------
for q in "SELECT * FROM candidates VERSION AS OF $V0" "SELECT * FROM candidates AT (VERSION => $V0)"; do
  sql k-read "$q"
  check_eq "read key: $q" "$CODE" 200
  check_eq "…no ssn column" "$(val '[.columns[].name] | index("ssn")')" null
  check "…no SSN or e-mail value" none "$SSN_RE|$EMAIL_RE" "$OUT"
done
sql k-read "SELECT email FROM candidates VERSION AS OF $V0 WHERE candidate_id = 3"
check_eq "the old version still has candidate 3, its e-mail hashed as today" "$CODE $(val '.rows[0][0]')" "200 $HASHED"
sql k-read "SELECT count(*) FROM candidates VERSION AS OF $V0"
check_eq "the old version has the old row count" "$(val '.rows[0][0]')" "$N0"
sql k-read "SELECT ssn FROM candidates VERSION AS OF $V0"
check_eq "ssn at an old version: not in the view (400)" "$CODE" 400
ISO=$(date -u -d '+1 minute' '+%Y-%m-%d %H:%M:%S')
sql k-read "SELECT email FROM candidates TIMESTAMP AS OF '$ISO' LIMIT 5"
check_eq "TIMESTAMP AS OF: e-mails hashed" "$CODE $(val '[.rows[][0] | test("^[0-9a-f]{16}$")] | all')" "200 true"
sql k-read "SELECT * FROM candidates VERSION AS OF $V0 UNION ALL SELECT * FROM read_parquet('$DATA/tables/candidates/*.parquet')"
check_eq "the rest of a time-travel statement is still guarded (403)" "$CODE" 403
sql k-read "SELECT * FROM __raw__candidates VERSION AS OF $V0"
check "no raw relation at an old version" test "$CODE" -ge 400
sql "$DK" "SELECT DISTINCT recruiter_id FROM placements VERSION AS OF 0"
check_eq "a row filter holds at an old version" "$CODE $(jq -c '[.rows[][0]]' <<<"$OUT")" "200 [3]"
sql k-admin "SELECT count(*) FROM candidates VERSION AS OF $V0 WHERE ssn IS NOT NULL"
check_eq "admin still reads old versions raw" "$CODE $(val '.rows[0][0] > 0')" "200 true"

# ---- history redacts predicates for non-admin keys ------------------------------------------
H=$(curl -s -H "X-API-Key: k-read" "$LH_URL/catalog/datasets/by-name/candidates/history")
check_eq "read key: the DELETE's predicate is redacted" \
  "$(jq -r '[.history[] | select(.operation == "DELETE")][0].parameters.predicate' <<<"$H")" \
  "<redacted: $((${#HASHED} + 10)) chars>"
check "read key: no literal of the predicates anywhere" none "$HASHED" "$H"
H=$(curl -s -H "X-API-Key: k-admin" "$LH_URL/catalog/datasets/by-name/candidates/history")
check_eq "admin sees the predicate" "$(jq -r '[.history[] | select(.operation == "DELETE")][0].parameters.predicate' <<<"$H")" \
  "email = '$HASHED'"

# ---- tombstoned rows are not in a role's view: DML neither sees nor counts them -------------
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: k-admin" "$LH_URL/catalog/datasets/by-name/candidates/tombstone" \
  -d '{"row_key_column":"candidate_id","row_key_values":["5"],"reason":"erasure request"}')
check_eq "candidate 5 tombstoned" "$code" 201
sql k-write "UPDATE candidates SET city = city WHERE candidate_id = 5"
check_eq "a writer's UPDATE does not reach a tombstoned row" "$CODE $(val .rows_affected)" "200 0"
sql k-write "DELETE FROM candidates WHERE candidate_id IN (5, 6)"
check_eq "…nor does its DELETE count it" "$CODE $(val .rows_affected)" "200 1"
sql k-admin "SELECT count(*) FROM __raw__candidates WHERE candidate_id = 5"
check_eq "the tombstoned row is still stored" "$(val '.rows[0][0]')" 1
lh_stop

# ---- a custom role from the config file ([[access.roles]], ADR 0243) --------------------------
mkdir -p "$LH_TMP/cfg"
cat >"$LH_TMP/cfg/lakehouse.toml" <<'TOML'
[[access.roles]]
name = "desk"
level = "write"
max_sensitivity = "confidential"
pii = { email = "mask:hash", phone = "deny" }
pii_default = "deny"
row_filters = { candidates = "recruiter_id = CAST($recruiter_id AS BIGINT)" }

[[auth.keys]]
key = "k-desk"
role = "desk"
recruiter_id = "2"

[[auth.keys]]
key = "k-admin"
role = "admin"
TOML
cd "$LH_TMP/cfg" && lh_start "$DATA" LAKEHOUSE_AUTH_ENABLED=true; rc=$?; cd - >/dev/null
check_eq "a server starts with a role from the config file" "$rc" 0
sql k-desk "SELECT DISTINCT recruiter_id FROM candidates"
check_eq "its row filter holds" "$CODE $(jq -c '[.rows[][0]]' <<<"$OUT")" "200 [2]"
sql k-desk "SELECT email FROM candidates LIMIT 5"
check_eq "its mask holds" "$CODE $(val '[.rows[][0] | test("^[0-9a-f]{16}$")] | all')" "200 true"
sql k-desk "SELECT phone FROM candidates"
check_eq "its denied column is absent (400)" "$CODE" 400
sql k-desk "DELETE FROM candidates WHERE recruiter_id <> 2"
check_eq "its write level works, within its rows" "$CODE $(val .rows_affected)" "200 0"
R=$(curl -s -H "X-API-Key: k-admin" "$LH_URL/access/roles/desk")
check_eq "GET /access/roles/desk says where it comes from" "$(jq -r .source <<<"$R")" config
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-API-Key: k-admin" "$LH_URL/access/roles" \
  -d '{"name":"desk","level":"read"}')
check_eq "the API cannot replace it (409)" "$code" 409
lh_stop
cat >"$LH_TMP/cfg/lakehouse.toml" <<'TOML'
[[access.roles]]
name = "desk"
pii = { email = "scramble" }
TOML
out=$(cd "$LH_TMP/cfg" && LAKEHOUSE_DATA=$DATA LAKEHOUSE_AUTH_ENABLED=false LAKEHOUSE_PORT=$(free_port) LAKEHOUSE_GRPC_PORT=0 \
  timeout 20 "$LH_BIN" serve 2>&1); rc=$?
check "a bad role in the config file stops start-up" test "$rc" -ne 0
check "…naming file, line and field" grep -q "lakehouse.toml:1: \[\[access.roles\]\]: pii.email must be a rule string" <<<"$out"
t_done
