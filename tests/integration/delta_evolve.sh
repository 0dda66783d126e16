#!/usr/bin/env bash
# lh-timeout: 120
# delta_evolve.sh — issue 12.6: schema evolution on append through POST
# /ingest/file with merge_schema=true (ADR 0258): a new column joins the
# schema (older rows read NULL), a column left out reads NULL, integer →
# long and float → double widen per the typeWidening feature (protocol 3/7,
# delta.typeChanges in the field's metadata, older files cast on read). A
# narrowing or unrelated type is still a 409, and without merge_schema an
# append with another schema is refused as before.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
F=$LH_TMP/files; mkdir -p "$F"
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
LH_SQL_LIMIT=100
upload() { local f=$1; shift; http POST /ingest/file -F "file=@$f" "$@"; }
LOG=$DATA/tables/ev/_delta_log

q "CREATE TABLE ev AS SELECT i::INTEGER AS n, (i / 2)::FLOAT AS f, 'a' || i AS s FROM range(3) t(i)"
check_eq "a table with an integer and a float column" "$HTTP_STATUS" 200

printf 'n,f,s,extra\n10,0.5,x,e1\n' >"$F/newcol.csv"
printf 'n,f,s\n5000000000,0.1234567890123,wide\n' >"$F/wide.csv"
upload "$F/newcol.csv" -F dataset=ev
check_eq "without merge_schema a new column is refused (409)" "$HTTP_STATUS" 409
upload "$F/wide.csv" -F dataset=ev
check_eq "without merge_schema a wider type is refused (409)" "$HTTP_STATUS" 409

# widening: n integer → long (a value past 2^31), f float → double
upload "$F/wide.csv" -F dataset=ev -F merge_schema=true
check_eq "with merge_schema the widening append is 201" "$HTTP_STATUS" 201
V=$(jget .version)
check_eq "the commit upgrades the protocol to 3/7 with typeWidening" \
  "$(jq -c 'select(.protocol) | .protocol' "$(commit "$V")")" \
  '{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["typeWidening"],"writerFeatures":["typeWidening"]}'
check_eq "n is long, recorded in delta.typeChanges" \
  "$(jq -c 'select(.metaData) | .metaData.schemaString | fromjson | .fields[] | select(.name == "n") | [.type, .metadata["delta.typeChanges"]]' "$(commit "$V")")" \
  '["long",[{"fromType":"integer","toType":"long"}]]'
check_eq "f is double, recorded too" \
  "$(jq -c 'select(.metaData) | .metaData.schemaString | fromjson | .fields[] | select(.name == "f") | .metadata["delta.typeChanges"][0].toType' "$(commit "$V")")" '"double"'
q "SELECT typeof(n), typeof(f), max(n), sum(n) FILTER (WHERE s LIKE 'a%') FROM ev GROUP BY ALL"
check_eq "every row reads the wider types, old and new values right" "$(jget '.rows[0] | map(tostring) | join("/")')" "BIGINT/DOUBLE/5000000000/3"
q "SELECT f FROM ev WHERE s = 'wide'"
check_eq "the double keeps its precision" "$(jget '.rows[0][0]')" 0.1234567890123

# a new column
upload "$F/newcol.csv" -F dataset=ev -F merge_schema=true
check_eq "with merge_schema a new column is 201" "$HTTP_STATUS" 201
V=$(jget .version)
check_eq "…a WRITE with mergeSchema and a metaData adding the column" \
  "$(jq -r 'select(.commitInfo) | .commitInfo.operationParameters.mergeSchema' "$(commit "$V")")/$(jq -r 'select(.metaData) | .metaData.schemaString | fromjson | [.fields[].name] | join(",")' "$(commit "$V")")" \
  "true/n,f,s,extra"
q "SELECT count(*), count(extra), string_agg(extra, ',') FROM ev"
check_eq "older rows read the new column as NULL" "$(jget '.rows[0] | map(tostring) | join("/")')" "5/1/e1"
q "SELECT n, extra FROM ev WHERE s = 'x'"
check_eq "a query pruned to files without the new column still binds (stats-pruned to the newest file)" "$(jget '.rows[0] | map(tostring) | join("/")')" "10/e1"
q "SELECT count(*) FROM ev WHERE s = 'wide'"
check_eq "…and one pruned to an older file" "$(jget '.rows[0][0]')" 1

printf 's\nonly-s\n' >"$F/missing.csv"
upload "$F/missing.csv" -F dataset=ev -F merge_schema=true -F header=true
check_eq "an append leaving columns out is 201" "$HTTP_STATUS" 201
q "SELECT n IS NULL AND extra IS NULL FROM ev WHERE s = 'only-s'"
check_eq "…the left-out columns read NULL" "$(jget '.rows[0][0]')" true
http GET /catalog/datasets/by-name/ev
check_eq "the manifest lists the columns with the wider types" "$(jget '[.columns[] | select(.name == "n" or .name == "f") | .type] | join(",")')" "BIGINT,DOUBLE"

printf 'n,f,s\nnot-a-number,1,x\n' >"$F/text.csv"
upload "$F/text.csv" -F dataset=ev -F merge_schema=true
check_eq "an unrelated type (text into long) is still 409" "$HTTP_STATUS" 409
check_eq "…naming the column" "$(jget '.error.message | contains("column '"'"'n'"'"' is string")')" true
t_done
