#!/usr/bin/env bash
# delta_dml.sh — issue 12 over HTTP: SQL writes as Delta commits (CREATE
# TABLE AS, INSERT VALUES / SELECT, UPDATE, DELETE, DROP, RESTORE) with the
# log's actions checked; time travel in DuckDB's and Spark's syntax; the
# history route; a read key refused (403) with nothing changed; hostile SQL;
# a vacuumed version refused clearly; ten concurrent increments all applied.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
lh_sql_start "$DATA"
LOG=$DATA/tables/acc/_delta_log
op() { jq -r 'select(.commitInfo) | .commitInfo.operation' "$(commit "$1")"; }

# --- CREATE TABLE AS
qw "CREATE TABLE acc AS SELECT i AS id, 100 AS balance, 'n' || i AS name FROM range(5) t(i)"
check_eq "CREATE TABLE AS is 200" "$HTTP_STATUS" 200
check_eq "CTAS rows_affected" "$(jget .rows_affected)" 5
check_eq "CTAS is version 0" "$(jget .version)" 0
check_eq "v0: one add, a metaData, a protocol" "$(actions 0 add)/$(actions 0 metaData)/$(actions 0 protocol)" 1/1/1
http GET /catalog/datasets/by-name/acc "${R[@]}"
check_eq "CTAS dataset has a full manifest (columns, lineage sql)" "$(jget '[(.columns | length), .lineage.source_system] | join(",")')" "3,sql"

# --- a read key cannot write, and nothing changes
qr "INSERT INTO acc VALUES (9, 9, 'x')"
check_eq "read key INSERT is 403" "$HTTP_STATUS" 403
qr "DELETE FROM acc"
check_eq "read key DELETE is 403" "$HTTP_STATUS" 403
check_eq "no commit after refused writes" "$(ls "$LOG" | grep -c '\.json$')" 1

# --- INSERT
qw "INSERT INTO acc VALUES (10, 5, 'ten'), (11, 6, 'eleven')"
check_eq "INSERT VALUES rows_affected/version" "$(jget '[.rows_affected, .version] | join(",")')" "2,1"
check_eq "v1 is a WRITE with one add, no remove" "$(op 1)/$(actions 1 add)/$(actions 1 remove)" "WRITE/1/0"
check_eq "v1 commitInfo names the principal (the write key)" "$(jq -r 'select(.commitInfo) | .commitInfo.userName' "$(commit 1)")" key3
qw "CREATE TABLE extra AS SELECT 30 AS id, 'thirty' AS name"
qw "INSERT INTO acc (id, name) SELECT id, name FROM extra"
check_eq "INSERT (cols) SELECT from another dataset" "$(jget '[.rows_affected, .version] | join(",")')" "1,2"
qr "SELECT balance IS NULL AS missing FROM acc WHERE id = 30"
check_eq "a column left out of INSERT is NULL" "$(jget '.rows[0][0]')" true
qw "INSERT INTO acc (nope) VALUES (1)"
check_eq "INSERT naming an unknown column is 400" "$HTTP_STATUS" 400

# --- UPDATE
qw "UPDATE acc SET balance = balance + 1, name = upper(name) WHERE id = 1"
check_eq "UPDATE rows_affected/version" "$(jget '[.rows_affected, .version] | join(",")')" "1,3"
check_eq "v3 is an UPDATE removing the one touched file and adding one" "$(op 3)/$(actions 3 remove)/$(actions 3 add)" "UPDATE/1/1"
qr "SELECT balance, name FROM acc WHERE id = 1"
check_eq "UPDATE applied" "$(jget '.rows[0] | join(",")')" "101,N1"
qw "UPDATE acc SET balance = 0 WHERE id = 12345"
check_eq "UPDATE matching nothing commits nothing" "$(jget '[.rows_affected, .committed] | join(",")')" "0,false"
qw "UPDATE acc SET balance = 'abc' WHERE id = 1"
check "UPDATE with a value of the wrong type fails" test "$HTTP_STATUS" -ge 400

# --- DELETE
qw "DELETE FROM acc WHERE id >= 10"
check_eq "DELETE rows_affected" "$(jget .rows_affected)" 3
check_eq "v4 is a DELETE removing the 2 files with matches, adding none" "$(op 4)/$(actions 4 remove)/$(actions 4 add)" "DELETE/2/0"
qr "SELECT count(*) FROM acc"
check_eq "5 rows left" "$(jget '.rows[0][0]')" 5
http GET /catalog/datasets/by-name/acc "${R[@]}"
check_eq "manifest follows (version, row_count)" "$(jget '[.version, .row_count] | join(",")')" "4,5"

# --- hostile SQL
qw "DELETE FROM acc WHERE id = 1; DROP TABLE acc"
check_eq "two statements are 400" "$HTTP_STATUS" 400
qw "DELETE FROM acc WHERE (id = 1"
check_eq "unbalanced SQL is 400" "$HTTP_STATUS" 400
qw "UPDATE acc SET balance = (SELECT 1) WHERE id = 1) OR (true"
check_eq "a predicate closing its own parenthesis is 400" "$HTTP_STATUS" 400
qw "DELETE FROM acc WHERE id IN (SELECT 1 FROM read_csv('/etc/passwd'))"
check "a predicate cannot read outside the data folder" test "$HTTP_STATUS" -ge 400
qw "INSERT INTO acc SELECT 1, 1, 'x' FROM read_parquet('$DATA/tables/acc/*.parquet')"
check_eq "a writer's INSERT source passes the role guard: read_parquet is 403" "$HTTP_STATUS" 403
qw "UPDATE acc SET name = (SELECT max(name) FROM __raw__acc) WHERE id = 1"
check_eq "an UPDATE expression reading a raw view is 403" "$HTTP_STATUS" 403
qw "TRUNCATE TABLE acc"
check_eq "TRUNCATE is refused by name (422)" "$(echo "$HTTP_STATUS $(jget .error.message)" | cut -c1-12)" "422 TRUNCATE"
qr "SELECT count(*) FROM acc"
check_eq "still 5 rows after the hostile statements" "$(jget '.rows[0][0]')" 5

# --- time travel, both syntaxes (a read key reads old versions through its role's view: governance_dml.sh)
qr "SELECT count(*) FROM acc VERSION AS OF 0"
check_eq "time travel with a read key: version 0 through its view" "$HTTP_STATUS $(jget '.rows[0][0]')" "200 5"
qa "SELECT count(*) FROM acc AT (VERSION => 2)"
check_eq "AT (VERSION => 2)" "$(jget '.rows[0][0]')" 8
qa "SELECT count(*) FROM acc VERSION AS OF 0"
check_eq "VERSION AS OF 0" "$(jget '.rows[0][0]')" 5
qa "SELECT a.balance FROM acc VERSION AS OF 2 AS a WHERE a.id = 1"
check_eq "an alias after the clause is kept" "$(jget '.rows[0][0]')" 100
qa "SELECT o.balance - n.balance FROM acc AT (VERSION => 2) o JOIN acc n ON o.id = n.id WHERE n.id = 1"
check_eq "old and new versions joined" "$(jget '.rows[0][0]')" -1
qa "SELECT 'acc VERSION AS OF 0' AS s"
check_eq "a clause inside a string literal is untouched" "$(jget '.rows[0][0]')" "acc VERSION AS OF 0"
TS=$(jq -r 'select(.commitInfo) | .commitInfo.timestamp' "$(commit 1)")
ISO=$(date -u -d "@$(( (TS + 1) / 1000 )).$(printf '%03d' $(( (TS + 1) % 1000 )))" '+%Y-%m-%d %H:%M:%S.%3N')
qa "SELECT count(*) FROM acc TIMESTAMP AS OF '$ISO'"
check_eq "TIMESTAMP AS OF the moment of v1" "$(jget '.rows[0][0]')" 7
qa "SELECT count(*) FROM acc AT (TIMESTAMP => '$ISO')"
check_eq "AT (TIMESTAMP => ...)" "$(jget '.rows[0][0]')" 7
qa "SELECT count(*) FROM acc TIMESTAMP AS OF '2001-01-01'"
check_eq "a timestamp before the first version is 404" "$HTTP_STATUS" 404
qa "SELECT count(*) FROM acc VERSION AS OF 99"
check_eq "a missing version is 404" "$HTTP_STATUS" 404
qa "SELECT count(*) FROM acc VERSION AS OF -1"
check_eq "a negative version is 400" "$HTTP_STATUS" 400
qa "SELECT count(*) FROM acc TIMESTAMP AS OF 'yesterday'"
check_eq "a malformed timestamp is 400" "$HTTP_STATUS" 400

# --- history
http GET /catalog/datasets/by-name/acc/history "${R[@]}"
check_eq "history lists every version, newest first" "$(jget '[.history[].version] | join(",")')" "4,3,2,1,0"
check_eq "a read key sees predicates redacted (ADR 0242)" "$(jget '.history[1].parameters.predicate')" "<redacted: 6 chars>"
http GET /catalog/datasets/by-name/acc/history "${A[@]}"
check_eq "history entry fields" "$(jget '.history[1] | [.operation, .principal, .parameters.predicate, .metrics.numUpdatedRows, .read_version] | join(",")')" "UPDATE,key3,id = 1,1,2"
check_eq "history carries operation_parameters (the API contract's name)" "$(jget '.history[1].operation_parameters.predicate')" "id = 1"
check "history timestamps are RFC 3339" test -n "$(jget '.history[0].timestamp | select(test("^[0-9-]{10}T"))')"
http GET "/catalog/datasets/by-name/acc/history?limit=2" "${R[@]}"
check_eq "history ?limit" "$(jget '.history | length')" 2
http GET /catalog/datasets/by-name/nope/history "${R[@]}"
check_eq "history of an unknown dataset is 404" "$HTTP_STATUS" 404

# --- RESTORE
qr "RESTORE TABLE acc TO VERSION AS OF 1"
check_eq "read key RESTORE is 403" "$HTTP_STATUS" 403
qw "RESTORE TABLE acc TO VERSION AS OF 1"
check_eq "RESTORE is version 5" "$(jget '[.version, .restored_version, .rows_affected] | join(",")')" "5,1,7"
check_eq "v5 is a RESTORE with its removes and re-adds" "$(op 5)/$(actions 5 remove)/$(actions 5 add)" "RESTORE/1/2"
qr "SELECT count(*), sum(balance) FROM acc"
check_eq "restored rows are version 1's" "$(jget '.rows[0] | join(",")')" "7,511"

# --- a vacuumed version is refused clearly
V0FILE=$(jq -r 'select(.add) | .add.path' "$(commit 0)")
mv "$DATA/tables/acc/$V0FILE" "$LH_TMP/gone.parquet"
qa "SELECT count(*) FROM acc VERSION AS OF 0"
check_eq "time travel to a vacuumed version is 422" "$HTTP_STATUS" 422
check "the error says vacuumed" grep -q vacuumed <<<"$(jget .error.message)"
mv "$LH_TMP/gone.parquet" "$DATA/tables/acc/$V0FILE"

# --- VACUUM
qr "VACUUM acc"
check_eq "read key VACUUM is 403" "$HTTP_STATUS" 403
qw "VACUUM acc"
check_eq "VACUUM with the 7-day default deletes nothing just removed" "$(jget '[.files_deleted, .retain_hours] | join(",")')" "0,168"
qw "VACUUM acc RETAIN 0 HOURS"
check_eq "RETAIN below 168 hours without FORCE is 422" "$HTTP_STATUS" 422
NFILES=$(ls "$DATA/tables/acc" | grep -c parquet)
qw "VACUUM acc RETAIN 0 HOURS FORCE DRY RUN"
X
check_eq "DRY RUN deletes nothing" "$(ls "$DATA/tables/acc" | grep -c parquet)" "$NFILES"
qw "VACUUM acc RETAIN 0 HOURS FORCE"
check_eq "VACUUM RETAIN 0 HOURS FORCE deletes them" "$(jget .files_deleted)" 2
check_eq "the files are gone" "$(ls "$DATA/tables/acc" | grep -c parquet)" "$((NFILES - 2))"
qr "SELECT count(*), sum(balance) FROM acc"
check_eq "the current version still reads" "$(jget '.rows[0] | join(",")')" "7,511"
qa "SELECT count(*) FROM acc VERSION AS OF 3"
check_eq "time travel to a vacuumed version is 422" "$HTTP_STATUS" 422
check "... naming it vacuumed" grep -q "vacuumed" <<<"$(jget .error.message)"
qw "RESTORE TABLE acc TO VERSION AS OF 3"
check_eq "RESTORE of a vacuumed version is 422" "$HTTP_STATUS" 422
qw "VACUUM acc RETAIN x HOURS"
check_eq "VACUUM with a bad RETAIN is 400" "$HTTP_STATUS" 400

# --- OPTIMIZE
qw "INSERT INTO acc VALUES (40, 1, 'forty')"
qw "INSERT INTO acc VALUES (41, 1, 'forty-one')"
V=$(jget .version)
qw "OPTIMIZE acc"
check_eq "OPTIMIZE bin-packs into one file" "$(jget '[.statement, .files_after, .rows] | join(",")')" "OPTIMIZE,1,9"
check_eq "its commit is an OPTIMIZE" "$(op $((V + 1)))" OPTIMIZE
qr "SELECT count(*), sum(balance) FROM acc"
check_eq "OPTIMIZE keeps the rows" "$(jget '.rows[0] | join(",")')" "9,513"
qw "OPTIMIZE acc ZORDER BY (id)"
check_eq "OPTIMIZE ZORDER BY is an OPTIMIZE commit keeping the rows (integration/delta_zorder has the layout)" \
  "$HTTP_STATUS/$(op "$(jget .version)")" "200/OPTIMIZE"

# --- ten concurrent increments of one row: every acknowledged one applied
qw "CREATE TABLE counter AS SELECT 1 AS id, 0 AS n"
PIDS=()
for i in $(seq 1 10); do
  curl -s -o "$LH_TMP/inc.$i" -w '%{http_code}' "${W[@]}" -H 'Content-Type: application/json' \
    --data-binary '{"sql":"UPDATE counter SET n = n + 1 WHERE id = 1"}' "$LH_URL/query/sql" >"$LH_TMP/inc.$i.code" &
  PIDS+=($!)
done
wait "${PIDS[@]}"
OKS=$(for f in "$LH_TMP"/inc.*.code; do cat "$f"; echo; done | grep -c '^200$')
qr "SELECT n FROM counter WHERE id = 1"
check_eq "ten concurrent UPDATEs acknowledged" "$OKS" 10
check_eq "every acknowledged increment applied" "$(jget '.rows[0][0]')" "$OKS"

# --- DROP TABLE
qr "DROP TABLE extra"
check_eq "read key DROP is 403" "$HTTP_STATUS" 403
qw "DROP TABLE extra"
check_eq "DROP TABLE" "$(jget .dropped)" true
http GET /catalog/datasets/by-name/extra "${R[@]}"
check_eq "dropped dataset is gone" "$HTTP_STATUS" 404
qw "DROP TABLE IF EXISTS extra"
check_eq "DROP TABLE IF EXISTS on nothing is 200" "$HTTP_STATUS/$(jget .dropped)" "200/false"
qw "DROP TABLE extra"
check_eq "DROP TABLE of nothing is 404" "$HTTP_STATUS" 404
t_done
