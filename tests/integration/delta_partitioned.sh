#!/usr/bin/env bash
# lh-timeout: 240
# delta_partitioned.sh — issue 12.4: partitioned Delta tables (ADR 0275).
# CREATE TABLE … PARTITIONED BY (with a column list, and AS SELECT; USING
# DELTA and TBLPROPERTIES accepted): metaData.partitionColumns, one file a
# partition under Hive folders (a null as __HIVE_DEFAULT_PARTITION__, a
# value with a space, '/' and '=' escaped), partitionValues in each add,
# the partition columns not in the Parquet files; rows read back typed, by
# us and by DuckDB's read_parquet(hive_partitioning); INSERT and ingest
# append one file a partition touched; WHERE on partition columns (=, IN,
# range, IS NULL) prunes files by their partition values; malformed
# PARTITIONED BY is 400 naming the problem; a read key is refused DDL;
# UPDATE / DELETE / MERGE rewrite per partition (an UPDATE of a partition
# column moves the row; a whole partition deleted adds no file); OPTIMIZE
# compacts within partitions; what is not done yet (ZORDER, DML with the
# change feed) is 422 rather than written wrong; a restart reads it again.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
KEYS="admin-key:admin,reader-key:read"
lh_start "$DATA" LAKEHOUSE_AUTH_ENABLED=true LAKEHOUSE_API_KEYS="$KEYS" || { t_fail "server starts"; t_done; exit 1; }
A=(-H 'X-API-Key: admin-key'); R=(-H 'X-API-Key: reader-key')
qa() { http_json POST /query/sql "$(jq -n --arg s "$1" '{sql:$s, limit:10000}')" "${A[@]}"; }
qr() { http_json POST /query/sql "$(jq -n --arg s "$1" '{sql:$s, limit:10000}')" "${R[@]}"; }
rows() { jget '[.rows[] | map(tostring) | join(",")] | join(";")'; }
scan() { jget '"\(.files_scanned)/\(.files_total)"'; }
LOG=$DATA/tables/sales/_delta_log
DUCK=$ROOT/build/duck_exec

# --- CREATE TABLE (cols) USING DELTA PARTITIONED BY, then INSERT VALUES
qa "CREATE TABLE sales (id BIGINT, region STRING, day DATE, amount DOUBLE) USING DELTA PARTITIONED BY (region, day)"
check_eq "CREATE TABLE … PARTITIONED BY: 200" "$HTTP_STATUS" 200
[ "$HTTP_STATUS" = 200 ] || echo "# $HTTP_BODY"
check_eq "metaData.partitionColumns" "$(cat "$LOG"/00000000000000000000.json | jq -c 'select(.metaData) | .metaData.partitionColumns')" '["region","day"]'
check_eq "the schema keeps the partition columns, typed" \
  "$(cat "$LOG"/00000000000000000000.json | jq -r 'select(.metaData) | .metaData.schemaString | fromjson | [.fields[] | "\(.name):\(.type)"] | join(",")')" \
  "id:long,region:string,day:date,amount:double"
check_eq "no rows, no data file" "$(cat "$LOG"/00000000000000000000.json | jq -s '[.[] | select(.add)] | length')" 0

qa "INSERT INTO sales VALUES (1, 'eu', DATE '2024-01-01', 10.5), (2, 'eu', DATE '2024-01-01', 1.5), (3, 'us', DATE '2024-01-02', 7), (4, NULL, DATE '2024-01-02', 2), (5, 'a b/c=d', DATE '2024-01-03', 4)"
check_eq "INSERT VALUES: 200" "$HTTP_STATUS" 200
[ "$HTTP_STATUS" = 200 ] || echo "# $HTTP_BODY"
V1=$LOG/00000000000000000001.json
check_eq "one add a partition touched" "$(jq -s '[.[] | select(.add)] | length' "$V1")" 4
check_eq "partitionValues are strings, a null is null" \
  "$(jq -s -c '[.[] | select(.add) | .add.partitionValues] | sort_by(.region)' "$V1")" \
  '[{"region":null,"day":"2024-01-02"},{"region":"a b/c=d","day":"2024-01-03"},{"region":"eu","day":"2024-01-01"},{"region":"us","day":"2024-01-02"}]'
check_eq "paths are Hive folders, escaped (URI-encoded in the log)" \
  "$(jq -s -r '[.[] | select(.add) | .add.path | sub("/part-.*"; "")] | sort | join(" ")' "$V1")" \
  "region=__HIVE_DEFAULT_PARTITION__/day=2024-01-02 region=a%20b%252Fc%253Dd/day=2024-01-03 region=eu/day=2024-01-01 region=us/day=2024-01-02"
check "the escaped folder is on disk" test -d "$DATA/tables/sales/region=a b%2Fc%3Dd/day=2024-01-03"
check "the null folder is on disk" test -d "$DATA/tables/sales/region=__HIVE_DEFAULT_PARTITION__/day=2024-01-02"
f=$(ls "$DATA"/tables/sales/region=eu/day=2024-01-01/*.parquet | head -1)
check_eq "numRecords per file" "$(jq -s -r '[.[] | select(.add) | .add.stats | fromjson | .numRecords] | add' "$V1")" 5

qa "SELECT id, region, day, amount FROM sales ORDER BY id"
check_eq "rows read back with their partition values" "$(rows)" \
  "1,eu,2024-01-01,10.5;2,eu,2024-01-01,1.5;3,us,2024-01-02,7;4,null,2024-01-02,2;5,a b/c=d,2024-01-03,4"
qa "SELECT typeof(day), typeof(region), typeof(id) FROM sales LIMIT 1"
check_eq "day is a DATE, region a VARCHAR" "$(rows)" "DATE,VARCHAR,BIGINT"

# another engine: DuckDB itself (the benchmarks' in-process runner) over the folders
if [ -x "$DUCK" ]; then
  duck() { "$DUCK" "COPY ($1) TO '$LH_TMP/duck.csv' (HEADER false)" >/dev/null && tr '\n' ';' < "$LH_TMP/duck.csv"; }
  check_eq "another engine reads the folders (read_parquet hive_partitioning)" \
    "$(duck "SELECT count(*), sum(id) FROM read_parquet('$DATA/tables/sales/*/*/*.parquet', hive_partitioning = true) WHERE region = 'eu'")" "2,3;"
  check_eq "the partition columns are not in the Parquet files" \
    "$(duck "SELECT count(*) FROM parquet_schema('$f') WHERE name IN ('region', 'day')")" "0;"
else
  t_skip_optional "another engine reads the folders" "build/duck_exec not built (make build/duck_exec)"
fi

# --- pruning by partition values
qa "SELECT count(*) FROM sales WHERE region = 'eu'"
check_eq "= on a partition column: the rows" "$(rows)" 2
check_eq "= prunes to 1 of 4 files" "$(scan)" "1/4"
qa "SELECT count(*) FROM sales WHERE region IN ('us', 'a b/c=d')"
check_eq "IN: rows and files" "$(rows)/$(scan)" "2/2/4"
qa "SELECT count(*) FROM sales WHERE day >= DATE '2024-01-02' AND day < DATE '2024-01-03'"
check_eq "range on a date partition: rows" "$(rows)" 2
qa "SELECT count(*) FROM sales WHERE day >= '2024-01-02' AND day < '2024-01-03'"
check_eq "range with string constants: rows and files" "$(rows)/$(scan)" "2/2/4"
qa "SELECT id FROM sales WHERE region IS NULL"
check_eq "IS NULL: the null partition's row, one file" "$(rows)/$(scan)" "4/1/4"
qa "SELECT count(*) FROM sales WHERE region = 'nowhere'"
check_eq "no partition matches: no row" "$(rows)" 0
check "…at most one file opened" test "$(jget .files_scanned)" -le 1

# --- INSERT … SELECT appends one file a partition touched
qa "INSERT INTO sales SELECT id + 10, region, day, amount FROM sales WHERE region = 'eu'"
check_eq "INSERT SELECT: 200" "$HTTP_STATUS" 200
check_eq "one new add, in the eu folder" "$(jq -s -r '[.[] | select(.add) | .add.path | sub("/part-.*"; "")] | join(" ")' "$LOG"/00000000000000000002.json)" \
  "region=eu/day=2024-01-01"
qa "SELECT count(*) FROM sales WHERE region = 'eu'"
check_eq "eu now 4 rows in 2 files" "$(rows)/$(scan)" "4/2/5"

# --- CTAS PARTITIONED BY with an integer partition
qa "CREATE TABLE bykey PARTITIONED BY (k) AS SELECT i AS id, i % 3 AS k, 'v' || i AS v FROM range(0, 30) t(i)"
check_eq "CTAS PARTITIONED BY: 200" "$HTTP_STATUS" 200
[ "$HTTP_STATUS" = 200 ] || echo "# $HTTP_BODY"
check_eq "three partitions" "$(ls -d "$DATA"/tables/bykey/k=* | xargs -n1 basename | sort | tr '\n' ' ')" "k=0 k=1 k=2 "
qa "SELECT count(*), sum(id) FROM bykey WHERE k = 2"
check_eq "integer partition prunes" "$(rows)/$(scan)" "10,155/1/3"
qa "SELECT typeof(k) FROM bykey LIMIT 1"
check_eq "k keeps its type" "$(rows)" "BIGINT"

# --- ingest appends one file a partition
printf 'id,k,v\n100,1,x\n101,5,y\n' > "$LH_TMP/more.csv"
st=$(curl -s -o "$LH_TMP/ing.json" -w '%{http_code}' -X POST -H 'X-API-Key: admin-key' \
  -F "file=@$LH_TMP/more.csv;type=text/csv" "$LH_URL/ingest/file?dataset=bykey&mode=append")
check_eq "ingest append: 201" "$st" 201
[ "$st" = 201 ] || cat "$LH_TMP/ing.json"
qa "SELECT count(*) FROM bykey"
check_eq "ingest rows readable" "$(rows)" 32
check "ingest made the k=5 folder" test -d "$DATA/tables/bykey/k=5"

# --- a checkpoint (every 10 commits) keeps the partition values
for i in $(seq 1 9); do qa "INSERT INTO bykey VALUES ($((200 + i)), $((i % 2)), 'c')"; done
check "a checkpoint was written" test -e "$DATA/tables/bykey/_delta_log/_last_checkpoint"
lh_stop
lh_start "$DATA" LAKEHOUSE_AUTH_ENABLED=true LAKEHOUSE_API_KEYS="$KEYS" || t_fail "restart"
qa "SELECT count(*), sum(k) FROM bykey WHERE k = 1"
check_eq "read from the checkpoint: rows, values and pruning" "$(rows)/$(jget .files_scanned)" "16,16/$(ls -d "$DATA"/tables/bykey/k=1/*.parquet | wc -l)"

# --- malformed PARTITIONED BY: 400 with a message
qa "CREATE TABLE bad1 PARTITIONED BY (nope) AS SELECT 1 AS a, 2 AS b"
check_eq "unknown column: 400" "$HTTP_STATUS" 400
check_contains "…named" "$HTTP_BODY" "unknown column 'nope'"
qa "CREATE TABLE bad2 PARTITIONED BY (a, a) AS SELECT 1 AS a, 2 AS b"
check_eq "duplicate: 400" "$HTTP_STATUS" 400
check_contains "…named" "$HTTP_BODY" "twice"
qa "CREATE TABLE bad3 PARTITIONED BY (a, b) AS SELECT 1 AS a, 2 AS b"
check_eq "every column: 400" "$HTTP_STATUS" 400
check_contains "…said" "$HTTP_BODY" "every column"
qa "CREATE TABLE bad4 PARTITIONED BY () AS SELECT 1 AS a, 2 AS b"
check_eq "empty list: 400" "$HTTP_STATUS" 400
qa "CREATE TABLE bad5 PARTITIONED BY (f) AS SELECT 1 AS a, 2.5::DOUBLE AS f"
check_eq "a double partition column: 400" "$HTTP_STATUS" 400
check_contains "…named" "$HTTP_BODY" "partition column 'f'"
qa "CREATE TABLE bad6 USING PARQUET AS SELECT 1 AS a"
check_eq "USING other than DELTA: 400" "$HTTP_STATUS" 400
check "no table left by a refused CREATE" test ! -e "$DATA/tables/bad1/_delta_log/00000000000000000000.json"

# --- a read key may not create
qr "CREATE TABLE rk (a INT, b INT) PARTITIONED BY (a)"
check_eq "read key: 403" "$HTTP_STATUS" 403

# --- UPDATE / DELETE, copy-on-write per partition
# sales now: eu 2024-01-01 {1,2,11,12} in 2 files, us {3}, null {4}, 'a b/c=d' {5}
qa "UPDATE sales SET amount = amount * 2 WHERE region = 'eu' AND id > 10"
check_eq "UPDATE in one partition: 200, 2 rows" "$HTTP_STATUS/$(jget .rows_affected)" "200/2"
[ "$HTTP_STATUS" = 200 ] || echo "# $HTTP_BODY"
VU=$(ls "$LOG"/*.json | tail -1)
check_eq "…removes the one file it touched, adds one in the same folder" \
  "$(jq -s -r '[.[] | select(.remove) | .remove.path | sub("/part-.*"; "")] + ["->"] + [.[] | select(.add) | .add.path | sub("/part-.*"; "")] | join(" ")' "$VU")" \
  "region=eu/day=2024-01-01 -> region=eu/day=2024-01-01"
check_eq "…keeping the file's partitionValues" "$(jq -s -c '[.[] | select(.add) | .add.partitionValues]' "$VU")" '[{"region":"eu","day":"2024-01-01"}]'
qa "SELECT id, amount FROM sales WHERE region = 'eu' ORDER BY id"
check_eq "…the rows" "$(rows)" "1,10.5;2,1.5;11,21;12,3"

qa "UPDATE sales SET region = 'apac' WHERE id = 3"
check_eq "UPDATE of a partition column: 200" "$HTTP_STATUS" 200
[ "$HTTP_STATUS" = 200 ] || echo "# $HTTP_BODY"
VU=$(ls "$LOG"/*.json | tail -1)
check_eq "…the row moves to its new partition's folder" \
  "$(jq -s -r '[.[] | select(.add) | .add.path | sub("/part-.*"; "")] | join(" ")' "$VU")" "region=apac/day=2024-01-02"
qa "SELECT id FROM sales WHERE region = 'apac'"
check_eq "…and reads back there, pruned" "$(rows)/$(scan)" "3/1/5"
qa "SELECT count(*) FROM sales WHERE region = 'us'"
check_eq "…the old partition is empty" "$(rows)" 0

qa "DELETE FROM sales WHERE region = 'eu'"
check_eq "DELETE of a whole partition: 200, 4 rows" "$HTTP_STATUS/$(jget .rows_affected)" "200/4"
VD=$(ls "$LOG"/*.json | tail -1)
check_eq "…removes its 2 files and adds none" "$(jq -s -r '"\([.[] | select(.remove)] | length)/\([.[] | select(.add)] | length)"' "$VD")" "2/0"
qa "DELETE FROM sales WHERE region IS NULL AND id = 99"
check_eq "DELETE matching nothing: 0 rows" "$(jget .rows_affected)" 0
qa "SELECT id, region, day FROM sales ORDER BY id"
check_eq "the rows after the DML" "$(rows)" "3,apac,2024-01-02;4,null,2024-01-02;5,a b/c=d,2024-01-03"

# --- what is not done yet is refused, never written wrong
# --- OPTIMIZE bin-packs within a partition
NV=$(ls "$LOG"/*.json | wc -l)
qa "OPTIMIZE sales"
check_eq "OPTIMIZE with one file a partition: 200, no commit" "$HTTP_STATUS/$(ls "$LOG"/*.json | wc -l)" "200/$NV"
qa "INSERT INTO sales VALUES (6, 'apac', DATE '2024-01-02', 1), (7, NULL, DATE '2024-01-02', 1)"
qa "SELECT count(*) FROM sales WHERE region = 'apac'"
check_eq "apac has two files" "$(rows)/$(scan)" "2/2/5"
qa "OPTIMIZE sales"
check_eq "OPTIMIZE: 200" "$HTTP_STATUS" 200
[ "$HTTP_STATUS" = 200 ] || echo "# $HTTP_BODY"
VO=$(ls "$LOG"/*.json | tail -1)
check_eq "…one file a partition, in its folder" \
  "$(jq -s -r '[.[] | select(.add) | .add.path | sub("/part-.*"; "")] | sort | join(" ")' "$VO")" \
  "region=__HIVE_DEFAULT_PARTITION__/day=2024-01-02 region=a%20b%252Fc%253Dd/day=2024-01-03 region=apac/day=2024-01-02"
check_eq "…every file it read removed (escaped paths too)" "$(jq -s '[.[] | select(.remove)] | length' "$VO")" 5
qa "SELECT id, region FROM sales ORDER BY id"
check_eq "…the rows unchanged" "$(rows)" "3,apac;4,null;5,a b/c=d;6,apac;7,null"
qa "SELECT count(*) FROM sales WHERE region = 'apac'"
check_eq "…apac now one file" "$(rows)/$(scan)" "2/1/3"
qa "DELETE FROM sales WHERE id IN (6, 7)"
check_eq "DELETE of some rows of two partitions: 2" "$(jget .rows_affected)" 2

# --- MERGE: per partition, a matched update moving a row, a delete, an insert into a new partition
qa "MERGE INTO sales t USING (VALUES (3, 'emea'), (4, NULL), (8, 'us')) AS s(id, r) ON t.id = s.id
    WHEN MATCHED AND s.r IS NULL THEN DELETE
    WHEN MATCHED THEN UPDATE SET region = s.r
    WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.r, DATE '2024-01-05', 8)"
check_eq "MERGE on a partitioned table: 200, 1 inserted, 1 updated, 1 deleted" \
  "$HTTP_STATUS/$(jget '[.inserted, .updated, .deleted] | join(",")')" "200/1,1,1"
[ "$HTTP_STATUS" = 200 ] || echo "# $HTTP_BODY"
VM=$(ls "$LOG"/*.json | tail -1)
check_eq "…adds land in their partitions' folders" \
  "$(jq -s -r '[.[] | select(.add) | .add.path | sub("/part-.*"; "")] | sort | join(" ")' "$VM")" \
  "region=emea/day=2024-01-02 region=us/day=2024-01-05"
check_eq "…with their partitionValues" \
  "$(jq -s -c '[.[] | select(.add) | .add.partitionValues] | sort_by(.region)' "$VM")" \
  '[{"region":"emea","day":"2024-01-02"},{"region":"us","day":"2024-01-05"}]'
qa "SELECT id, region, day FROM sales ORDER BY id"
check_eq "…the rows" "$(rows)" "3,emea,2024-01-02;5,a b/c=d,2024-01-03;8,us,2024-01-05"
qa "OPTIMIZE sales ZORDER BY (id)"
check_eq "OPTIMIZE ZORDER on a partitioned table: 422" "$HTTP_STATUS" 422
qa "CREATE TABLE feed PARTITIONED BY (k) TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true') AS SELECT 1 AS k, 2 AS v"
check_eq "a partitioned table with the change feed: created" "$HTTP_STATUS" 200
qa "UPDATE feed SET v = 3"
check_eq "…UPDATE on it is refused (422), not written without its change files" "$HTTP_STATUS" 422
qa "SELECT count(*) FROM sales"
check_eq "…and nothing changed" "$(rows)" 3

# --- a restart reads it again
lh_stop
lh_start "$DATA" LAKEHOUSE_AUTH_ENABLED=true LAKEHOUSE_API_KEYS="$KEYS" || t_fail "restart"
qa "SELECT count(*), count(region) FROM sales WHERE day = '2024-01-02'"
check_eq "after a restart: rows and pruning" "$(rows)/$(scan)" "1,1/1/3"
t_done
