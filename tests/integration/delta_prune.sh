#!/usr/bin/env bash
# lh-timeout: 240
# delta_prune.sh — issue 12.4: file pruning by Delta min/max stats before
# DuckDB opens a file (ADR 0255). A 100-file table (one INSERT a file):
# selective range, IN, IS NULL and constant-first queries read at most 10%
# of the files (files_scanned / files_total in the answer) and return the
# rows an unpruned scan returns; a role reading a masked column gets the
# unpruned answer (pruning never judges a masked value by raw stats); a
# DELETE and a restart leave it right.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
LH_SQL_LIMIT=10000
lh_sql_start "$DATA"
row() { jget '.rows[0] | map(tostring) | join(",")'; }
scan() { jget '"\(.files_scanned)/\(.files_total)"'; }

cols="i AS id, 'user' || i || '@example.com' AS email, CASE WHEN i % 10 = 0 THEN NULL ELSE i % 7 END AS grp"
qa "CREATE TABLE ev AS SELECT $cols FROM range(0, 1000) t(i)"
check_eq "CTAS" "$HTTP_STATUS" 200
ok=1
for k in $(seq 1 99); do
  qa "INSERT INTO ev SELECT $cols FROM range($((k * 1000)), $((k * 1000 + 1000))) t(i)"
  [ "$HTTP_STATUS" = 200 ] || { ok=0; echo "# insert $k: $HTTP_BODY"; }
done
check_eq "99 INSERTs committed" "$ok" 1
check_eq "the table has 100 active files" "$(ls "$DATA"/tables/ev/*.parquet | wc -l)" 100

# --- a selective range: pruned, same rows as an unpruned scan
qa "SELECT count(*), sum(id), min(id), max(id) FROM ev WHERE id + 0 BETWEEN 41500 AND 43499"
WANT=$(row)
check_eq "an expression on the column is not pruned (no files_scanned)" "$(jget .files_total)" null
qa "SELECT count(*), sum(id), min(id), max(id) FROM ev WHERE id BETWEEN 41500 AND 43499"
check_eq "BETWEEN: same rows as the unpruned scan" "$(row)" "$WANT"
check_eq "BETWEEN: 3 of 100 files read" "$(scan)" "3/100"
qa "SELECT count(*) FROM ev WHERE id >= 41500 AND id < 43500 AND grp = 3"
N1=$(jget '.rows[0][0]'); S1=$(scan)
qa "SELECT count(*) FROM ev WHERE id + 0 >= 41500 AND id + 0 < 43500 AND grp + 0 = 3"
check_eq "range and equality: same count as unpruned" "$N1" "$(jget '.rows[0][0]')"
check_eq "range and equality: 3 files (grp is in every file)" "$S1" "3/100"
qa "SELECT id FROM ev WHERE id IN (7, 55555, 99999) ORDER BY id"
check_eq "IN: the rows" "$(jget '[.rows[][0]] | join(",")')" "7,55555,99999"
check_eq "IN: 3 files" "$(scan)" "3/100"
qa "SELECT count(*) FROM ev WHERE 99000 <= id"
check_eq "constant first: rows" "$(jget '.rows[0][0]')" 1000
check_eq "constant first: 1 file" "$(scan)" "1/100"
qa "SELECT count(*) FROM ev WHERE id > 1000000"
check_eq "nothing can match: no row" "$(jget '.rows[0][0]')" 0
check "…at most one file opened (read_parquet needs one)" test "$(jget .files_scanned)" -le 1
qa "SELECT count(*) FROM ev WHERE email IS NULL"
check_eq "IS NULL on a column without nulls: no row, ≤ 1 file" "$(jget '.rows[0][0]')/$(jget '.files_scanned <= 1')" "0/true"
qa "SELECT count(*) FROM ev WHERE grp IS NULL AND id < 2000"
check_eq "IS NULL with nulls present: the rows" "$(jget '.rows[0][0]')/$(scan)" "200/2/100"
qa "SELECT count(*) FROM ev WHERE email = 'user4242@example.com'"
check_eq "string equality: one row" "$(jget '.rows[0][0]')" 1
check "string equality prunes by the string stats (≤ 10 files)" test "$(jget .files_scanned)" -le 10
qa "SELECT count(*) FROM ev e WHERE e.id < 3000 AND e.id >= 0"
check_eq "an aliased relation prunes too" "$(jget '.rows[0][0]')/$(scan)" "3000/3/100"
qa "SELECT count(*) FROM ev WHERE id < 3000 OR id > 98999"
check_eq "an OR is not a conjunct: unpruned, right" "$(jget '.rows[0][0]')/$(jget .files_total)" "4000/null"

# --- a role with a masked column (ADR 0190)
qr "SELECT count(*), sum(id), min(id), max(id) FROM ev WHERE id BETWEEN 41500 AND 43499"
check_eq "read role: BETWEEN same rows" "$(row)" "$WANT"
check_eq "read role: pruned as well (id passes through its view)" "$(scan)" "3/100"
qr "SELECT email FROM ev WHERE id = 4242"
H=$(jget '.rows[0][0]')
check "read role sees the e-mail masked" bash -c "[[ '$H' =~ ^[0-9a-f]{16}$ ]]"
qr "SELECT id FROM ev WHERE email = '$H'"
check_eq "a predicate on the masked column finds the row (raw stats not used)" "$(jget '[.rows[][0]] | join(",")')" 4242
check "…and was not pruned" test "$(jget '.files_scanned')" = "$(jget '.files_total')" -o "$(jget .files_total)" = null

qr "SELECT getvariable('lh_recruiter_id')"
check_eq "session variables (pruning's file lists among them) are not readable by a role" "$HTTP_STATUS" 403

# --- after a DELETE (copy-on-write) and after a restart
qa "DELETE FROM ev WHERE id = 42000"
check_eq "DELETE committed" "$(jget .rows_affected)" 1
qa "SELECT count(*) FROM ev WHERE id BETWEEN 41500 AND 43499"
check_eq "after DELETE: one row fewer, still pruned" "$(jget '.rows[0][0]')/$(scan)" "1999/3/100"
lh_stop
lh_start "$DATA" LAKEHOUSE_AUTH_ENABLED=true LAKEHOUSE_API_KEYS="$LH_SQL_KEYS" || t_fail "server restarts"
qa "SELECT count(*) FROM ev WHERE id BETWEEN 41500 AND 43499"
check_eq "after a restart: same rows, still pruned" "$(jget '.rows[0][0]')/$(scan)" "1999/3/100"
t_done
