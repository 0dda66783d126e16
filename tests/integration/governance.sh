#!/usr/bin/env bash
# governance.sh — issue 10 end to end on the demo data, auth on:
#   masking through /query/sql (every role, and SQL written to get around
#   it), tools, profile, /access/query, `lakehouse sql`; keys made, rotated
#   and revoked through the admin API (stored hashed); row filters by a
#   principal attribute; reserved storage bypass attempts; the failed-key
#   limiter; the first start's admin key; loopback bind with auth off; and a
#   tampered audit log that `lakehouse audit verify` reports.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
LAKEHOUSE_DATA=$DATA "$LH_BIN" demo --scale 0.02 --seed 7 >"$LH_TMP/demo.log" 2>&1
check_eq "demo data generated" "$?" 0
KEYS="k-admin:admin,k-read:read,k-write:write,k-rec:recruiter,k-ana:analyst,k-agent:agent"
lh_start "$DATA" LAKEHOUSE_AUTH_ENABLED=true LAKEHOUSE_API_KEYS="$KEYS" || { t_fail "server starts"; t_done; exit 1; }
SSN_RE='[0-9]{3}-[0-9]{2}-[0-9]{4}'
EMAIL_RE='[a-z0-9._]+@[a-z0-9.]+\.[a-z]+'
sql() { # sql KEY SQL — prints the response body, sets CODE
  local body; body=$(jq -cn --arg s "$2" '{sql:$s, limit:50}')
  OUT=$(curl -s -w '\n%{http_code}' -H "X-API-Key: $1" "$LH_URL/query/sql" -d "$body")
  CODE=$(echo "$OUT" | tail -1); OUT=$(echo "$OUT" | sed '$d')
}

# ---- what each role sees -------------------------------------------------------
sql k-admin "SELECT ssn, email FROM candidates LIMIT 3"
check "admin sees SSNs" grep -qE "$SSN_RE" <<<"$OUT"
for k in k-read k-write k-rec k-ana k-agent; do
  sql $k "SELECT * FROM candidates LIMIT 20"
  check_eq "$k: SELECT * works" "$CODE" 200
  check_eq "$k: no ssn column" "$(echo "$OUT" | jq '[.columns[].name] | index("ssn")')" null
  check "$k: no SSN value anywhere" bash -c "! grep -qE '$SSN_RE' <<<'$OUT'"
done
sql k-rec "SELECT email FROM candidates LIMIT 5"
check "recruiter sees e-mails as they are" grep -qE "$EMAIL_RE" <<<"$OUT"
for k in k-read k-ana k-agent; do
  sql $k "SELECT email FROM candidates LIMIT 5"
  check_eq "$k: e-mails hashed (16 hex)" "$(echo "$OUT" | jq -r '[.rows[][0] | test("^[0-9a-f]{16}$")] | all')" true
done
sql k-ana "SELECT count(*) FROM candidates a JOIN candidates b ON a.email = b.email"
JOINED=$(echo "$OUT" | jq '.rows[0][0]')
sql k-admin "SELECT count(*) FROM candidates"
check_eq "a join on a hashed key still matches (keyed HMAC is stable)" "$JOINED" "$(echo "$OUT" | jq '.rows[0][0]')"
sql k-admin "SELECT left(sha256(email), 16) FROM candidates ORDER BY candidate_id LIMIT 1"; PLAIN=$(echo "$OUT" | jq -r '.rows[0][0]')
sql k-ana "SELECT email FROM candidates ORDER BY candidate_id LIMIT 1"
check "the hash is keyed, not a bare sha256" test "$PLAIN" != "$(echo "$OUT" | jq -r '.rows[0][0]')"

# ---- SQL written to get around the masks ---------------------------------------------
bypass=(
  "SELECT ssn FROM candidates"
  "WITH c AS (SELECT * FROM candidates) SELECT ssn FROM c"
  "SELECT * FROM (SELECT ssn FROM candidates) t"
  "SELECT email FROM candidates UNION SELECT ssn FROM candidates"
  "SELECT CAST(ssn AS VARCHAR) FROM candidates"
  "SELECT upper(ssn), substr(ssn, 1, 3) FROM candidates"
  "SELECT * FROM __raw__candidates"
  "WITH __raw__candidates AS (SELECT * FROM __raw__candidates) SELECT * FROM __raw__candidates"
  "SELECT * FROM main.candidates"
  "SELECT * FROM memory.main.candidates"
  "SELECT * FROM information_schema.columns"
  "SELECT * FROM information_schema.views"
  "SELECT sql FROM duckdb_views()"
  "SELECT * FROM duckdb_views"
  "SELECT * FROM duckdb_columns()"
  "SELECT * FROM read_parquet('$DATA/tables/candidates/*.parquet')"
  "SELECT * FROM read_parquet('tables/candidates/*.parquet')"
  "SELECT * FROM read_parquet('../data/tables/**/*.parquet')"
  "SELECT * FROM glob('$DATA/**')"
  "SELECT * FROM '$DATA/tables/candidates/part-0.parquet'"
  "SELECT * FROM read_csv('/etc/passwd')"
  "SELECT * FROM query('SELECT ssn FROM main.candidates')"
  "SELECT lh_mask_hash('123-45-6789')"
  "SELECT getenv('HOME')"
  "SELECT current_setting('allowed_directories')"
  "SET enable_external_access = true"
  "PRAGMA database_list"
  "SELECT * FROM pragma_table_info('candidates')"
  "ATTACH ':memory:' AS x"
  "COPY candidates TO '/tmp/x.csv'"
  "INSTALL httpfs"
  "LOAD json"
  "EXPLAIN SELECT ssn FROM main.candidates"
  "SELECT 1; SELECT ssn FROM main.candidates"
)
for k in k-read k-agent; do
  leaks=""; allowed=""
  for q in "${bypass[@]}"; do
    sql $k "$q"
    grep -qE "$SSN_RE" <<<"$OUT" && leaks="$leaks [$q]"
    [ "$CODE" = 200 ] && allowed="$allowed [$q]"
  done
  check_eq "$k: no bypass leaks an SSN" "$leaks" ""
  check_eq "$k: every bypass is refused (400/403)" "$allowed" ""
done
sql k-read "SELECT * FROM __raw__candidates"
check_eq "__raw__ is admin-only (403)" "$CODE" 403
sql k-read "SELECT * FROM read_parquet('x.parquet')"
check "file functions are refused by name" grep -q "read_parquet" <<<"$OUT"
sql k-read "SET threads = 1"
check_eq "SET is admin-only (403)" "$CODE" 403
sql k-read "EXPLAIN SELECT email FROM candidates WHERE state = 'CA'"
check_eq "EXPLAIN of a statement the role may run (ADR 0244)" "$CODE $(echo "$OUT" | jq -r '.rows[0][0]')" "200 physical_plan"
sql k-read "EXPLAIN ANALYZE SELECT count(*) FROM candidates"
check_eq "EXPLAIN ANALYZE stays admin-only (403)" "$CODE" 403

# AI-safe views join each role's schema with the role's policy on top
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: k-write" "$LH_URL/catalog/views" \
  -d '{"name":"cand_public","base_dataset":"candidates","columns":["candidate_id","email","city"]}')
check_eq "AI-safe view made" "$code" 201
sql k-read "SELECT email FROM cand_public LIMIT 3"
check_eq "read through an AI-safe view: e-mails still hashed" "$CODE $(echo "$OUT" | jq -r '[.rows[][0] | test("^[0-9a-f]{16}$")] | all')" "200 true"
sql k-rec "SELECT email FROM cand_public LIMIT 3"
check "recruiter through it: real e-mails" grep -qE "$EMAIL_RE" <<<"$OUT"

# ---- other paths ---------------------------------------------------------------------------
T=$(curl -s -H "X-API-Key: k-ana" "$LH_URL/tools/get_candidate/call" -d '{"params":{"candidate_id":5}}')
check_eq "tools run as the caller: analyst gets a hashed e-mail" \
  "$(echo "$T" | jq -r '.rows[0][(.columns | map(.name) | index("email"))] | test("^[0-9a-f]{16}$")')" true
T=$(curl -s -H "X-API-Key: k-admin" "$LH_URL/tools/get_candidate/call" -d '{"params":{"candidate_id":5}}')
check "tools as admin: the real e-mail" grep -qE "$EMAIL_RE" <<<"$T"
P=$(curl -s -H "X-API-Key: k-read" "$LH_URL/catalog/datasets/by-name/candidates/profile")
check_eq "profile as read: no ssn column" "$(echo "$P" | jq '[.columns[].name] | index("ssn")')" null
check_eq "profile as read: masked e-mail values withheld" \
  "$(echo "$P" | jq -c '.columns[] | select(.name=="email") | [.min, .max, (.top | length), .values_withheld]')" '[null,null,0,true]'
check "profile as read: no SSN or e-mail value" bash -c "! grep -qE '$SSN_RE|$EMAIL_RE' <<<'$P'"
S=$(curl -s -H "X-API-Key: k-read" "$LH_URL/catalog/datasets/by-name/candidates/summary")
check "summary as read: no SSN or e-mail value" bash -c "! grep -qE '$SSN_RE|$EMAIL_RE' <<<'$S'"
code=$(curl -s -o "$LH_TMP/aq" -w '%{http_code}' -H "X-API-Key: k-read" "$LH_URL/access/query" -d '{"dataset":"candidates","role":"admin"}')
check_eq "/access/query refuses a role from the body (403)" "$code" 403
A=$(curl -s -H "X-API-Key: k-read" "$LH_URL/access/query" -d '{"dataset":"candidates","limit":5}')
check_eq "/access/query uses the caller's role" "$(echo "$A" | jq -r .role)" read
check "/access/query: no SSN" bash -c "! grep -qE '$SSN_RE' <<<'$A'"
CLI=$(LAKEHOUSE_API_KEY=k-read "$LH_BIN" sql "SELECT * FROM candidates LIMIT 5" --server "$LH_URL" --json 2>&1)
check "lakehouse sql (remote) as read: rows, no SSN" bash -c "grep -q candidate_id <<<'$CLI' && ! grep -qE '$SSN_RE' <<<'$CLI'"
CLI=$(LAKEHOUSE_API_KEY=k-read "$LH_BIN" sql "SELECT * FROM __raw__candidates" --server "$LH_URL" 2>&1)
check "lakehouse sql (remote): __raw__ refused" grep -q "admin-only" <<<"$CLI"

# ---- keys through the admin API, row filters ---------------------------------------------
R=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-API-Key: k-admin" "$LH_URL/access/roles" \
  -d '{"name":"desk","level":"read","max_sensitivity":"confidential","pii_default":"deny","row_filters":{"placements":"recruiter_id = CAST($recruiter_id AS BIGINT)"}}')
check_eq "custom role with a row filter" "$R" 201
K=$(curl -s -H "X-API-Key: k-admin" "$LH_URL/access/keys" -d '{"name":"desk-3","role":"desk","attributes":{"recruiter_id":"3"}}')
KEY=$(echo "$K" | jq -r .key); KID=$(echo "$K" | jq -r .id)
check "key made through the API (shown once)" test -n "$KEY" -a "$KEY" != null
check "keys.json keeps only the hash" bash -c "! grep -q '$KEY' '$DATA/_access/keys.json' && grep -q sha256 '$DATA/_access/keys.json'"
check "the key list shows no hash or key" bash -c "! curl -s -H 'X-API-Key: k-admin' $LH_URL/access/keys | grep -qE 'sha256|$KEY'"
sql "$KEY" "SELECT DISTINCT recruiter_id FROM placements"
check_eq "row filter: recruiter 3 sees only its placements" "$(echo "$OUT" | jq -c '[.rows[][0]]')" "[3]"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-API-Key: k-read" "$LH_URL/access/keys" -d '{"name":"x","role":"admin"}')
check_eq "a read key cannot make keys (403)" "$code" 403
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: k-admin" "$LH_URL/access/keys" -d '{"name":"x"}')
check_eq "a key without a role is refused (400)" "$code" 400
NEW=$(curl -s -X POST -H "X-API-Key: k-admin" "$LH_URL/access/keys/$KID/rotate" | jq -r .key)
sql "$KEY" "SELECT 1"; check_eq "rotated: the old key is 401" "$CODE" 401
sql "$NEW" "SELECT 1"; check_eq "rotated: the new key works" "$CODE" 200
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "X-API-Key: k-admin" "$LH_URL/access/keys/$KID")
check_eq "revoke (204)" "$code" 204
sql "$NEW" "SELECT 1"; check_eq "revoked: the key is 401, no restart" "$CODE" 401

# ---- vector search and RAG over a column the role may not see ---------------------------
vec_index() { # vec_index NAME TEXT_COLUMN — builds an index as admin and waits for it
  local job; job=$(curl -s -H "X-API-Key: k-admin" "$LH_URL/vectors/index" \
    -d "{\"dataset\":\"candidates\",\"id_column\":\"candidate_id\",\"text_column\":\"$2\",\"index_name\":\"$1\"}" | jq -r .job_id)
  for _ in $(seq 1 300); do
    [ "$(curl -s -H "X-API-Key: k-admin" "$LH_URL/jobs/$job" | jq -r .state)" = done ] && return 0; sleep 0.1
  done
  return 1
}
vec_index cand_email email && vec_index cand_skills skills
vs() { curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $1" "$LH_URL/vectors/$2" -d "{\"index\":\"$3\",\"$4\":\"gmail\"}"; }
check_eq "search over a hashed column is 403 for read" "$(vs k-read search cand_email query)" 403
check_eq "RAG over a hashed column is 403 for read" "$(vs k-read rag cand_email question)" 403
check_eq "search over it is fine for recruiter (allowed)" "$(vs k-rec search cand_email query)" 200
check_eq "search over an allowed column is fine for read" "$(vs k-read search cand_skills query)" 200
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: k-read" "$LH_URL/vectors/search" \
  -d '{"index":"cand_skills","query":"nurse","filter":"ssn LIKE '"'"'1%'"'"'"}')
check_eq "a search filter runs as the caller: the SSN is not in read's view of the data (400)" "$code" 400
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: k-read" "$LH_URL/vectors/search" \
  -d '{"index":"cand_skills","query":"nurse","filter":"state = '"'"'CA'"'"'"}')
check_eq "…while a filter on a column read may see is answered" "$code" 200
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: k-admin" "$LH_URL/vectors/search" \
  -d '{"index":"cand_skills","query":"nurse","filter":"state = '"'"'CA'"'"'"}')
check_eq "…and allowed for admin" "$code" 200

# ---- reserved storage ------------------------------------------------------------------------
st() { curl -s -o /dev/null -w '%{http_code}' -X "$1" -H "X-API-Key: $2" "$LH_URL/storage/objects/$3" ${4:+--data-binary "$4"}; }
check_eq "read key cannot read the audit log" "$(st GET k-read _access/audit.jsonl)" 403
check_eq "read key cannot read a manifest" "$(st GET k-read _catalog/datasets/candidates.json)" 403
check_eq "admin reads reserved storage" "$(st GET k-admin _access/roles.json)" 200
check_eq "write key cannot delete the audit log" "$(st DELETE k-write _access/audit.jsonl)" 403
check_eq "admin cannot delete the audit log either" "$(st DELETE k-admin _access/audit.jsonl)" 403
check_eq "no forged Delta commit" "$(st PUT k-write tables/candidates/_delta_log/00000000000000000099.json '{}')" 403
bad=""
for k in "_CATALOG/x.json" "%5Fcatalog/x.json" "%255Fcatalog/x.json" "Tables/x" "TABLES/candidates/x" "_hnsw_x/y" \
         "_access%2Fkeys.json" "./_access/x" "x/../_access/x" "_access//x" "%2e%2e/_access/x" "_workspaces/x" "_jobs/x"; do
  c=$(st PUT k-admin "$k" 'x'); [ "$c" = 403 ] || [ "$c" = 400 ] || bad="$bad $k:$c"
  c=$(st DELETE k-admin "$k"); [ "$c" = 403 ] || [ "$c" = 400 ] || bad="$bad DELETE $k:$c"
  c=$(st GET k-read "$k"); [ "$c" = 403 ] || [ "$c" = 400 ] || bad="$bad GET $k:$c"
done
check_eq "reserved-key bypass attempts are refused" "$bad" ""
check_eq "user storage still works" "$(st PUT k-write uploads/a.txt hello)" 201
L=$(curl -s -H "X-API-Key: k-read" "$LH_URL/storage/objects")
check "a read listing hides reserved keys" bash -c "! jq -r '.objects[].key' <<<'$L' | grep -qE '^(_|tables/)'"
check "a read listing shows user keys" bash -c "jq -r '.objects[].key' <<<'$L' | grep -q uploads/a.txt"

# ---- failed keys are rate-limited per address --------------------------------------------
for _ in $(seq 1 11); do curl -s -o /dev/null -H "X-API-Key: wrong" "$LH_URL/catalog/datasets"; done
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: k-admin" "$LH_URL/catalog/datasets")
check_eq "after 10 failures the address is limited (429)" "$code" 429
check "no key text in the log" bash -c "! grep -qE 'k-admin|k-read|wrong' '$LH_TMP/server.log'"
lh_stop

# ---- the audit ----------------------------------------------------------------------------
V=$(LAKEHOUSE_DATA=$DATA "$LH_BIN" audit verify); rc=$?
check_eq "audit verify: the chain holds" "$rc:$(echo "$V" | jq .ok)" "0:true"
check "the audit has denials, tools, profiles" bash -c \
  "grep -q '\"outcome\":\"denied\"' '$DATA/_access/audit.jsonl' && grep -q '\"kind\":\"tool\"' '$DATA/_access/audit.jsonl' && grep -q '\"kind\":\"profile\"' '$DATA/_access/audit.jsonl'"
check "refused calls are audited (kind auth)" grep -q '"kind":"auth","outcome":"denied"' "$DATA/_access/audit.jsonl"
check "the audit names principal and role" grep -q '"caller":"key2","elapsed_ms"' "$DATA/_access/audit.jsonl"
cp "$DATA/_access/audit.jsonl" "$LH_TMP/audit.bak"
sed -i '5s/"outcome":"[a-z]*"/"outcome":"ok"/; 5s/"rows":[0-9a-z]*/"rows":0/' "$DATA/_access/audit.jsonl"
V=$(LAKEHOUSE_DATA=$DATA "$LH_BIN" audit verify); rc=$?
check_eq "a changed record is reported (exit 1)" "$rc" 1
check "…naming it" grep -q "seq 5 was changed" <<<"$V"
cp "$LH_TMP/audit.bak" "$DATA/_access/audit.jsonl"; sed -i '7d' "$DATA/_access/audit.jsonl"
V=$(LAKEHOUSE_DATA=$DATA "$LH_BIN" audit verify)
check "a removed record is reported" grep -q "seq 8 follows 6" <<<"$V"
cp "$LH_TMP/audit.bak" "$DATA/_access/audit.jsonl"; sed -i '$d' "$DATA/_access/audit.jsonl"
V=$(LAKEHOUSE_DATA=$DATA "$LH_BIN" audit verify)
check "a record cut from the end is reported" grep -q "removed from the end" <<<"$V"
cp "$LH_TMP/audit.bak" "$DATA/_access/audit.jsonl"
awk 'NR==3{l3=$0; next} NR==4{print; print l3; next} {print}' "$LH_TMP/audit.bak" >"$DATA/_access/audit.jsonl"
V=$(LAKEHOUSE_DATA=$DATA "$LH_BIN" audit verify)
check "reordered records are reported" grep -q "seq 4 follows 2" <<<"$V"
# a full rewrite: every record re-chained (sha256, no key: what a forger can compute) and the head too
prev=0000000000000000000000000000000000000000000000000000000000000000; seq=0; : >"$DATA/_access/audit.jsonl"
head -20 "$LH_TMP/audit.bak" | while IFS= read -r line; do
  seq=$((seq + 1))
  body=$(jq -cS --arg p "$prev" --argjson s "$seq" 'del(.hash) | .outcome = "ok" | .prev = $p | .seq = $s' <<<"$line")
  prev=$(printf '%s%s' "$prev" "$body" | sha256sum | cut -c1-64)
  printf '%s,"hash":"%s"}\n' "${body%\}}" "$prev" >>"$DATA/_access/audit.jsonl"
  printf '%s %s\n' "$seq" "$prev" >"$DATA/_access/audit.head"
done
V=$(LAKEHOUSE_DATA=$DATA "$LH_BIN" audit verify); rc=$?
check_eq "a full rewrite of log and head is reported (the chain is keyed)" "$rc:$(echo "$V" | jq .ok)" "1:false"
check "…from its first record" grep -q "seq 1 was changed" <<<"$V"

# ---- safe defaults ------------------------------------------------------------------------------
D2=$LH_TMP/fresh
lh_start "$D2" LAKEHOUSE_AUTH_ENABLED=true || t_fail "fresh server starts"
FIRST=$(grep -A1 'admin API key' "$LH_TMP/server.out" | tail -1)
check "first start prints an admin key" grep -qE '^lh_[0-9a-f]{40}$' <<<"$FIRST"
check "only its hash is stored" bash -c "! grep -rq '$FIRST' '$D2/_access' && grep -q sha256 '$D2/_access/keys.json'"
check "the key is not in the log" bash -c "! grep -q '$FIRST' '$LH_TMP/server.log'"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $FIRST" "$LH_URL/access/keys")
check_eq "the first key is admin" "$code" 200
code=$(curl -s -o /dev/null -w '%{http_code}' "$LH_URL/catalog/datasets")
check_eq "auth is on by default (401 without a key)" "$code" 401
lh_stop
lh_start "$LH_TMP/off" LAKEHOUSE_AUTH_ENABLED=false || t_fail "auth-off server starts"
check "auth off: the log says loopback only" grep -q "auth is OFF.*127.0.0.1" "$LH_TMP/server.log"
check "auth off: listening on 127.0.0.1 only" bash -c "ss -ltn | grep -q '127.0.0.1:$LH_PORT '"
lh_stop
cat >"$LH_TMP/norole.toml" <<TOML
[[auth.keys]]
key = "k"
TOML
out=$(LAKEHOUSE_DATA=$LH_TMP/nr timeout 10 "$LH_BIN" --config "$LH_TMP/norole.toml" serve 2>&1); rc=$?
check "a key without a role stops start-up" test "$rc" -ne 0
check "…saying so" grep -q 'must name its role' <<<"$out"
out=$(LAKEHOUSE_DATA=$LH_TMP/nr LAKEHOUSE_API_KEYS=k:boss timeout 10 "$LH_BIN" serve 2>&1); rc=$?
check "a key with an unknown role stops start-up" test "$rc" -ne 0
check "…naming the role" grep -q "unknown role 'boss'" <<<"$out"
t_done
