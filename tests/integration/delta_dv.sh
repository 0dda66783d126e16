#!/usr/bin/env bash
# lh-timeout: 180
# delta_dv.sh — issue 12.1: deletion-vector writes (ADR 0257). A table made
# with TBLPROPERTIES ('delta.enableDeletionVectors' = 'true') is protocol 3/7
# with the deletionVectors feature; its DELETE writes a DV (remove + add of
# the same file, the add carrying a 'u' descriptor, the bitmap in
# deletion_vector_<uuid>.bin) instead of a new data file; a second DELETE
# removes the file with its old DV; UPDATE = DV on the old rows + one new
# file. Rows match a copy-on-write twin, time travel and a restart included.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
LH_SQL_LIMIT=10000
row() { jget '.rows[0] | map(tostring) | join(",")'; }
LOG=$DATA/tables/dv/_delta_log
both() { q "${1//@/dv}"; A=$HTTP_BODY; q "${1//@/cow}"; B=$HTTP_BODY; }

SRC="SELECT i AS id, i * 10 AS v, 'n' || i AS name FROM range(10000) t(i)"
q "CREATE TABLE dv TBLPROPERTIES ('delta.enableDeletionVectors' = 'true') AS $SRC"
check_eq "CTAS with TBLPROPERTIES" "$HTTP_STATUS" 200
q "CREATE TABLE cow AS $SRC"
check_eq "v0 protocol: 3/7 with deletionVectors as reader and writer feature" \
  "$(jq -c 'select(.protocol) | .protocol' "$(commit 0)")" \
  '{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["deletionVectors"],"writerFeatures":["deletionVectors"]}'
check_eq "v0 configuration enables deletion vectors" \
  "$(jq -r 'select(.metaData) | .metaData.configuration["delta.enableDeletionVectors"]' "$(commit 0)")" true
q "CREATE TABLE bad TBLPROPERTIES ('delta.columnMapping.mode' = 'name') AS SELECT 1 AS x"
check_eq "a Delta property we do not act on is refused (400)" "$HTTP_STATUS" 400

# --- DELETE writes a DV
both "DELETE FROM @ WHERE id % 100 = 7"
check_eq "DELETE rows_affected (DV and copy-on-write)" "$(echo "$A" | jq .rows_affected)/$(echo "$B" | jq .rows_affected)" 100/100
check_eq "v1: one remove, one add of the same file" \
  "$(jq -sr '[.[] | select(.remove) | .remove.path] + [.[] | select(.add) | .add.path] | "\(length) \(unique | length)"' "$(commit 1)")" "2 1"
check_eq "v1 add carries a 'u' DV of 100 rows at offset 1" \
  "$(jq -r 'select(.add) | .add.deletionVector | "\(.storageType) \(.cardinality) \(.offset) \(.pathOrInlineDv | length)"' "$(commit 1)")" "u 100 1 20"
check_eq "no data file was written" "$(ls "$DATA"/tables/dv/*.parquet | wc -l)" 1
check_eq "one deletion vector file beside the data" "$(ls "$DATA"/tables/dv/deletion_vector_*.bin | wc -l)" 1
check_eq "commitInfo: DELETE, numDeletionVectorsAdded 1" \
  "$(jq -r 'select(.commitInfo) | .commitInfo | "\(.operation) \(.operationMetrics.numDeletionVectorsAdded)"' "$(commit 1)")" "DELETE 1"
q "SELECT count(*), count(*) FILTER (WHERE id % 100 = 7) FROM dv"
check_eq "the deleted rows are gone" "$(row)" "9900,0"

# --- a second DELETE: the file is removed with its old DV, re-added with the union
both "DELETE FROM @ WHERE id < 50"
check_eq "second DELETE counts only live rows (id 7 was gone)" "$(echo "$A" | jq .rows_affected)/$(echo "$B" | jq .rows_affected)" 49/49
check_eq "v2 remove names the old DV" "$(jq -r 'select(.remove) | .remove.deletionVector.cardinality' "$(commit 2)")" 100
check_eq "v2 add has the union (149 rows)" "$(jq -r 'select(.add) | .add.deletionVector.cardinality' "$(commit 2)")" 149

# --- UPDATE: DV on the old rows + a new file with the new ones
both "UPDATE @ SET v = -1, name = upper(name) WHERE id BETWEEN 5000 AND 5009"
check_eq "UPDATE rows_affected (5007 was deleted)" "$(echo "$A" | jq .rows_affected)/$(echo "$B" | jq .rows_affected)" 9/9
check_eq "v3: DV of 158 rows on the old file and one new file" \
  "$(jq -sr '[.[] | select(.add) | (.add.deletionVector.cardinality // "new")] | sort_by(tostring) | map(tostring) | join(" ")' "$(commit 3)")" "158 new"
both "SELECT count(*), sum(id), sum(v), string_agg(name, '' ORDER BY id) FILTER (WHERE v < 0) FROM @"
check_eq "rows equal the copy-on-write twin" "$(echo "$A" | jq -c .rows)" "$(echo "$B" | jq -c .rows)"
check_eq "…and are right" "$(echo "$A" | jq -r '.rows[0][0]')" 9851
both "DELETE FROM @ WHERE v = -1"
check_eq "DELETE of rows in the new file and nowhere else" "$(echo "$A" | jq .rows_affected)/$(echo "$B" | jq .rows_affected)" 9/9
q "SELECT count(*) FROM dv VERSION AS OF 0"
check_eq "time travel to before the DVs" "$(jget '.rows[0][0]')" 10000
q "SELECT count(*) FROM dv VERSION AS OF 2"
check_eq "time travel to version 2 applies its DV" "$(jget '.rows[0][0]')" 9851
http GET /catalog/datasets/by-name/dv
check_eq "manifest row count" "$(jget .row_count)" 9842

# --- a file whose rows all go: removed, no DV
q "CREATE TABLE small TBLPROPERTIES ('delta.enableDeletionVectors' = 'true') AS SELECT i AS id FROM range(10) t(i)"
q "DELETE FROM small WHERE id >= 0"
check_eq "deleting every row of a file: removed, nothing added" \
  "$(jq -s '"\([.[] | select(.remove)] | length)/\([.[] | select(.add)] | length)"' -r "$(printf '%s/%020d.json' "$DATA/tables/small/_delta_log" 1)")" "1/0"

# --- after a restart
both "SELECT count(*), sum(id), sum(v) FROM @"
BEFORE=$(echo "$A" | jq -c .rows)
lh_stop
lh_start "$DATA" || t_fail "server restarts"
q "SELECT count(*), sum(id), sum(v) FROM dv"
check_eq "after a restart the DVs still apply" "$(echo "$HTTP_BODY" | jq -c .rows)" "$BEFORE"
q "SELECT count(*) FROM dv"
check_eq "…9842 rows" "$(jget '.rows[0][0]')" 9842
t_done
