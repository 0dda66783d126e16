#!/usr/bin/env bash
# delta_features.sh — Delta tables that use the protocol's newer reader
# features (tests/data/delta-features: deletion vectors, column mapping,
# change data feed, typed partition values), registered in place with
# "format":"delta", read through /query/sql with their documented rows; a
# table that needs a reader feature we lack is refused with a 422 naming it.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
FEAT=$ROOT/tests/data/delta-features
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
mkdir -p "$DATA/external"
register() { # name location
  cp -r "$FEAT/$2" "$DATA/external/"
  http_json POST /catalog/datasets "{\"name\":\"$1\",\"format\":\"delta\",\"location\":\"external/$2\"}"
}

register dv table-with-dv-small
check_eq "deletion-vector table registers with 8 rows" "$HTTP_STATUS $(jget .row_count)" "201 8"
q "SELECT string_agg(value::VARCHAR, ',' ORDER BY value) FROM dv"
check_eq "the deletion vector removes 0 and 9" "$(jget '.rows[0][0]')" "1,2,3,4,5,6,7,8"

register cm table_with_column_mapping
check_eq "column-mapped table registers with 5 rows" "$HTTP_STATUS $(jget .row_count)" "201 5"
check_eq "its columns have their logical names" "$(jget '[.columns[].name] | join(",")')" "Company Very Short,Super Name"
q 'SELECT "Super Name" FROM cm WHERE "Company Very Short" = '"'BME'"
check_eq "logical names with spaces query" "$(jget '[.rows[][0]] | join(",")')" "Timothy Lamb"
q 'SELECT count(*) FROM cm WHERE "Company Very Short" = '"'BMS'"
check_eq "partition values keyed by physical name" "$(jget '.rows[0][0]')" 4

register cdf cdf-table
check_eq "change-data-feed table registers with 9 rows" "$HTTP_STATUS $(jget .row_count)" "201 9"
q "SELECT count(*) FROM cdf WHERE name = 'Dennis'"
check_eq "the deleted row is gone" "$(jget '.rows[0][0]')" 0

register prim partition-type-primitives
check_eq "partitioned table registers with 16 rows" "$HTTP_STATUS $(jget .row_count)" "201 16"
q "SELECT count(DISTINCT (year, is_active, event_date, category)) FROM prim"
check_eq "every file keeps its partition values" "$(jget '.rows[0][0]')" 16

# a reader feature we do not implement: refused by name, nothing registered
mkdir -p "$DATA/external/future/_delta_log"
cp "$FEAT/table-with-dv-small/"*.parquet "$DATA/external/future/"
sed 's/"readerFeatures":\["deletionVectors"\]/"readerFeatures":["deletionVectors","rowsFromTheFuture"]/' \
  "$FEAT/table-with-dv-small/_delta_log/00000000000000000000.json" >"$DATA/external/future/_delta_log/00000000000000000000.json"
http_json POST /catalog/datasets '{"name":"future","format":"delta","location":"external/future"}'
check_eq "an unknown reader feature is 422" "$HTTP_STATUS" 422
check_eq "the error names it" "$(echo "$HTTP_BODY" | grep -c "'rowsFromTheFuture'")" 1
http GET /catalog/datasets/by-name/future
check_eq "nothing was registered" "$HTTP_STATUS" 404

# the lowest role (a read key) reads the rows through the same path, and may not register
lh_stop
lh_start "$DATA" LAKEHOUSE_AUTH_ENABLED=true LAKEHOUSE_API_KEYS="r-key:read,w-key:write" || t_fail "server restarts with keys"
http_json POST /query/sql '{"sql":"SELECT sum(value) FROM dv"}' -H 'X-API-Key: r-key'
check_eq "a read key reads the DV table (1..8)" "$HTTP_STATUS $(jget '.rows[0][0]')" "200 36"
http_json POST /query/sql '{"sql":"SELECT count(*) FROM cm WHERE \"Super Name\" LIKE '"'"'%a%'"'"'"}' -H 'X-API-Key: r-key'
check_eq "a read key queries logical names" "$HTTP_STATUS $(jget '.rows[0][0]')" "200 4"
http_json POST /catalog/datasets '{"name":"again","format":"delta","location":"external/cdf-table"}' -H 'X-API-Key: r-key'
check_eq "a read key may not register a table" "$HTTP_STATUS" 403

# a corrupt deletion vector: an error, never the undeleted rows
printf '\xff' | dd of="$DATA/external/table-with-dv-small/deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin" bs=1 seek=30 conv=notrunc 2>/dev/null
lh_stop
lh_start "$DATA" || t_fail "server restarts"
q "SELECT count(*) FROM dv"
check_eq "after a restart with a corrupt DV the table does not read" "$(jget '.rows[0][0] // "none"')" none
check_eq "the answer is an error" "$([ "$HTTP_STATUS" -ge 400 ] && echo error || echo "$HTTP_STATUS")" error
echo "# $(jget .error.message // .)"
lh_stop
t_done
