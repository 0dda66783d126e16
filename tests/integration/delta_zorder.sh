#!/usr/bin/env bash
# lh-timeout: 180
# delta_zorder.sh — issue 12.4: OPTIMIZE t ZORDER BY (a, b) (ADR 0256). A
# 16-file table of random (a, b): a 2-D box overlaps every file; after the
# Z-order OPTIMIZE (target file size ~1/16 of the table) the files' min/max
# ranges are tight in both columns, so file pruning (ADR 0255) reads few of
# them for the box and for a slab of either column, with the same rows. The
# log holds one OPTIMIZE commit (zOrderBy, dataChange false).
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
LH_SQL_LIMIT=10000
scan() { jget '"\(.files_scanned)/\(.files_total)"'; }
LOG=$DATA/tables/zt/_delta_log

cols="(hash(i) % 1000)::BIGINT AS a, (hash(i * 7 + 3) % 1000)::BIGINT AS b, i AS id, repeat('x', 20) AS pad"
q "CREATE TABLE zt AS SELECT $cols FROM range(0, 4000) t(i)"
for k in $(seq 1 15); do q "INSERT INTO zt SELECT $cols FROM range($((k * 4000)), $((k * 4000 + 4000))) t(i)"; done
check_eq "16 random files" "$(ls "$DATA"/tables/zt/*.parquet | wc -l)" 16
BOX="FROM zt WHERE a BETWEEN 100 AND 199 AND b BETWEEN 600 AND 699"
q "SELECT count(*), sum(id) $BOX"
WANT=$(jget '.rows[0] | map(tostring) | join(",")'); BEFORE=$(jget .files_scanned)
check_eq "random layout: the box overlaps every file" "$(scan)" "16/16"
q "SELECT count(*), sum(id) FROM zt WHERE b BETWEEN 600 AND 699"
SLAB=$(jget '.rows[0] | map(tostring) | join(",")')

http GET /catalog/datasets/by-name/zt
SIZE=$(jget .size_bytes)
check "the table has a size" test "$SIZE" -gt 0
q "OPTIMIZE zt ZORDER BY (a, b) TARGET FILE SIZE $((SIZE / 16)) BYTES"
check_eq "OPTIMIZE ZORDER BY is 200" "$HTTP_STATUS" 200
V=$(jget .version)
check_eq "16 files in" "$(jget .files_before)" 16
check "about 16 files out" test "$(jget .files_after)" -ge 12 -a "$(jget .files_after)" -le 20
NOUT=$(jget .files_after)
C=$(printf '%s/%020d.json' "$LOG" "$V")
check_eq "the commit is an OPTIMIZE with zOrderBy" "$(jq -r 'select(.commitInfo) | .commitInfo | "\(.operation) \(.operationParameters.zOrderBy)"' "$C")" 'OPTIMIZE ["a","b"]'
check_eq "…removing the 16 files, adding the new ones, dataChange false" \
  "$(jq -s '"\([.[] | select(.remove)] | length)/\([.[] | select(.add)] | length)/\([.[] | (.add // .remove // empty) | .dataChange] | unique)"' "$C" | tr -d '"\\')" "16/$NOUT/[false]"
http GET "/catalog/datasets/by-name/zt/history?limit=1"
check_eq "history shows OPTIMIZE" "$(jget '.history[0].operation')" OPTIMIZE

q "SELECT count(*), sum(id) $BOX"
check_eq "the box: same rows" "$(jget '.rows[0] | map(tostring) | join(",")')" "$WANT"
AFTER=$(jget .files_scanned)
check "the box overlaps few files now ($AFTER of $NOUT, was $BEFORE of 16)" test "$AFTER" -le 4
q "SELECT count(*), sum(id) FROM zt WHERE b BETWEEN 600 AND 699"
check_eq "a slab of b: same rows" "$(jget '.rows[0] | map(tostring) | join(",")')" "$SLAB"
check "a slab of b (the second column) is pruned too ($(jget .files_scanned) of $NOUT)" test "$(jget .files_scanned)" -le $((NOUT / 2))
q "SELECT count(*) FROM zt"
check_eq "every row kept" "$(jget '.rows[0][0]')" 64000

q "OPTIMIZE zt ZORDER BY (nope)"
check_eq "an unknown column is 400" "$HTTP_STATUS" 400
q "OPTIMIZE zt ZORDER BY a"
check_eq "ZORDER BY without parentheses is 400" "$HTTP_STATUS" 400
t_done
