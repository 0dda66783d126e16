#!/usr/bin/env bash
# lh-timeout: 120
# delta_alter.sh — issue 12: ALTER TABLE over HTTP as metadata-only Delta
# commits. ADD COLUMN: a new schema, no data file added or removed, the
# old files read NULL, the manifest lists the column. RENAME COLUMN: the
# first one upgrades the table to column mapping 'name' (protocol 2/5,
# physical names = the files' names), again no data file touched; reads,
# INSERT, UPDATE, MERGE and OPTIMIZE keep working through the mapping;
# time travel before the rename reads the old name.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
lh_sql_start "$DATA"
LOG=$DATA/tables/people/_delta_log
ci() { jq -r "select(.commitInfo) | .commitInfo | $2" "$(commit "$1")"; }
schema() { jq -r "select(.metaData) | .metaData.schemaString | fromjson | $2" "$(commit "$1")"; }
conf() { jq -r "select(.metaData) | .metaData.configuration | $2" "$(commit "$1")"; }
files() { ls "$DATA/tables/people" | grep -c '\.parquet$'; }

qw "CREATE TABLE people AS SELECT i AS id, 'n' || i AS name FROM range(4) t(i)"
check_eq "setup: version 0" "$(jget .version)" 0
F0=$(files)

# --- ADD COLUMN
qw "ALTER TABLE people ADD COLUMN city VARCHAR"
check_eq "ADD COLUMN is 200 with version 1" "$HTTP_STATUS/$(jget .version)/$(jget .operation)" "200/1/ADD COLUMNS"
check_eq "v1: a metaData, no add, no remove" "$(actions 1 metaData)/$(actions 1 add)/$(actions 1 remove)" "1/0/0"
check_eq "v1 operation ADD COLUMNS" "$(ci 1 .operation)" "ADD COLUMNS"
check_eq "v1 operationParameters.columns names the field" "$(ci 1 '.operationParameters.columns | fromjson | .[0].column | [.name, .type] | join(",")')" "city,string"
check_eq "v1 schema gains the nullable column" "$(schema 1 '.fields | map(.name + ":" + (.type|tostring) + ":" + (.nullable|tostring)) | join(",")')" "id:long:true,name:string:true,city:string:true"
check_eq "no data file written by ADD COLUMN" "$(files)" "$F0"
qr "SELECT count(*), count(city) FROM people"
check_eq "old files read NULL for the new column" "$(jget '.rows[0] | join(",")')" "4,0"
http GET /catalog/datasets/by-name/people "${R[@]}"
check_eq "the manifest lists the new column" "$(jget '[.columns[].name] | join(",")')" "id,name,city"
qw "ALTER TABLE people ADD COLUMN contact_email VARCHAR"
qw "INSERT INTO people VALUES (4, 'n4', 'Oslo', 'kari.nordmann@example.com')"
check_eq "INSERT with the new columns" "$(jget .rows_affected)" 1
http GET /catalog/datasets/by-name/people "${R[@]}"
check_eq "PII detected on the added column once it has values" "$(jget '.columns[] | select(.name == "contact_email") | [(.pii | join(",")), .sensitivity] | join("/")')" "email/confidential"
qw "UPDATE people SET city = 'Bergen' WHERE id = 1"
check_eq "UPDATE sets the added column in an old file" "$(jget .rows_affected)" 1
qr "SELECT string_agg(id || ':' || coalesce(city, '-'), ' ' ORDER BY id) FROM people"
check_eq "rows after ADD COLUMN + INSERT + UPDATE" "$(jget '.rows[0][0]')" "0:- 1:Bergen 2:- 3:- 4:Oslo"
qw "ALTER TABLE people ADD COLUMN city INTEGER"
check_eq "ADD COLUMN of an existing name is 409" "$HTTP_STATUS" 409
qw "ALTER TABLE people ADD COLUMN x NOTATYPE"
check_eq "ADD COLUMN with an unknown type is 400" "$HTTP_STATUS" 400
qw "ALTER TABLE people ADD COLUMN x INTEGER DEFAULT 1"
check_eq "ADD COLUMN with more than a type is 400" "$HTTP_STATUS" 400
qr "ALTER TABLE people ADD COLUMN y INTEGER"
check_eq "read key ALTER is 403" "$HTTP_STATUS" 403

# --- RENAME COLUMN: upgrade to column mapping, no data file touched
V=$(( $(ncommits) ))
F1=$(files)
qw "ALTER TABLE people RENAME COLUMN name TO full_name"
check_eq "RENAME COLUMN is 200" "$HTTP_STATUS/$(jget .version)/$(jget .operation)" "200/$V/RENAME COLUMN"
check_eq "rename commit: protocol + metaData, no add, no remove" "$(actions $V protocol)/$(actions $V metaData)/$(actions $V add)/$(actions $V remove)" "1/1/0/0"
check_eq "protocol raised to reader 2 / writer 5" "$(jq -r 'select(.protocol) | .protocol | "\(.minReaderVersion)/\(.minWriterVersion)"' "$(commit $V)")" "2/5"
check_eq "column mapping mode name, maxColumnId" "$(conf $V '[."delta.columnMapping.mode", ."delta.columnMapping.maxColumnId"] | join(",")')" "name,4"
check_eq "renamed field keeps the files' name as its physical name" "$(schema $V '.fields[1] | [.name, .metadata."delta.columnMapping.physicalName", (.metadata."delta.columnMapping.id"|tostring)] | join(",")')" "full_name,name,2"
check_eq "rename operationParameters" "$(ci $V '.operationParameters | [.oldColumnPath, .newColumnPath] | join(",")')" "name,full_name"
check_eq "no data file written by RENAME" "$(files)" "$F1"
qr "SELECT string_agg(full_name, ',' ORDER BY id) FROM people"
check_eq "reads by the new name" "$(jget '.rows[0][0]')" "n0,n1,n2,n3,n4"
qr "SELECT name FROM people"
check_eq "the old name is gone" "$HTTP_STATUS" 400
http GET /catalog/datasets/by-name/people "${R[@]}"
check_eq "the manifest follows the rename" "$(jget '[.columns[].name] | join(",")')" "id,full_name,city,contact_email"
qa "SELECT string_agg(name, ',' ORDER BY id) FROM people AT (VERSION => 1)"
check_eq "time travel before the rename reads the old name" "$(jget '.rows[0][0]')" "n0,n1,n2,n3"

# --- writes through the mapping
qw "INSERT INTO people (id, full_name) VALUES (5, 'n5')"
VI=$(jget .version)
check_eq "an append after the rename writes the physical name (stats keyed by it)" "$(jq -r 'select(.add) | .add.stats | fromjson | .nullCount | has("name")' "$(commit "$VI")")" true
qw "ALTER TABLE people RENAME COLUMN full_name TO display"
check_eq "a second rename is metadata only (no protocol action)" "$(actions "$(jget .version)" protocol 2>/dev/null || true)/$(actions "$(jget .version)" add 2>/dev/null || true)" "0/0"
qw "UPDATE people SET display = upper(display) WHERE id IN (0, 5)"
check_eq "UPDATE on a renamed column" "$HTTP_STATUS/$(jget .rows_affected)" "200/2"
M="MERGE INTO people p USING (SELECT 2 AS id, 'two' AS d UNION ALL SELECT 9, 'nine') s ON p.id = s.id WHEN MATCHED THEN UPDATE SET display = s.d WHEN NOT MATCHED THEN INSERT (id, display) VALUES (s.id, s.d)"
qw "$M"
check_eq "MERGE by the write role, which sees the e-mail column masked, is 403" "$HTTP_STATUS" 403
qa "$M"
check_eq "MERGE on a renamed table (admin)" "$HTTP_STATUS/$(jget '[.updated, .inserted] | join(",")')" "200/1,1"
qw "ALTER TABLE people ADD COLUMN score DOUBLE"
VA=$(jget .version)
check_eq "ADD COLUMN under mapping gets a fresh physical name and id" "$(schema "$VA" '.fields[-1].metadata | [(."delta.columnMapping.physicalName" | startswith("col-")), ."delta.columnMapping.id"] | map(tostring) | join(",")')" "true,5"
qw "UPDATE people SET score = 1.5 WHERE id = 9"
qw "OPTIMIZE people"
check_eq "OPTIMIZE on a renamed table" "$HTTP_STATUS" 200
qr "SELECT string_agg(id || ':' || display || ':' || coalesce(city, '-') || ':' || coalesce(score::VARCHAR, '-'), ' ' ORDER BY id) FROM people"
check_eq "rows after renames, writes and OPTIMIZE" "$(jget '.rows[0][0]')" "0:N0:-:- 1:n1:Bergen:- 2:two:-:- 3:n3:-:- 4:n4:Oslo:- 5:N5:-:- 9:nine:-:1.5"
check "a checkpoint of the column-mapped table (protocol 2/5) is written" test -f "$LOG/00000000000000000010.checkpoint.parquet"
qw "ALTER TABLE people RENAME COLUMN nope TO other"
check_eq "renaming an unknown column is refused naming it" "$(jget '.error.message | contains("nope")')/$([ "$HTTP_STATUS" = 400 ] || [ "$HTTP_STATUS" = 404 ] && echo 4xx)" "true/4xx"
qw "ALTER TABLE people RENAME COLUMN display TO id"
check_eq "renaming onto a taken name is 409" "$HTTP_STATUS" 409
qw "ALTER TABLE people RENAME TO folks"
check_eq "a table rename is refused (422)" "$HTTP_STATUS" 422
t_done
