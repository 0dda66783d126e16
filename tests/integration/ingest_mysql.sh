#!/usr/bin/env bash
# ingest_mysql.sh — POST /ingest/mysql against a real MariaDB started here
# (mariadb-install-db into a temp folder, free port, unix socket in the temp
# folder): every mapped type round trips (tinyint(1) → BOOLEAN, unsigned
# widths, DECIMAL, DATETIME vs TIMESTAMP in UTC, zero dates, JSON, UUID,
# BLOB/VARBINARY), keyset vs streamed paging, a SELECT source, a 1M-row
# table, and a wrong password that is a clear 502 without the password.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/db_lib.sh"
trap 'db_stop_all; lh_kill_all' EXIT

PW='My-S3cret!pw'
BIG=${LH_TEST_MY_ROWS:-1000000}
if ! my_start; then t_fail "mariadb starts in a temp folder"; t_done; exit 1; fi
t_ok "mariadb starts on port $MY_PORT (socket in the temp folder)"
my_sql "CREATE DATABASE shop; CREATE USER 'etl'@'%' IDENTIFIED BY '$PW'; GRANT SELECT ON shop.* TO 'etl'@'%';
SET time_zone = '+00:00';
CREATE TABLE shop.types_t (id BIGINT PRIMARY KEY, ti TINYINT, si SMALLINT UNSIGNED, i INT, bi BIGINT UNSIGNED,
  dc DECIMAL(12,2), dcu DECIMAL(10,3) UNSIGNED, f FLOAT, d DOUBLE, b BOOLEAN, vc VARCHAR(50), tx TEXT, dt DATE,
  dtt DATETIME(6), ts TIMESTAMP(3) NULL, j JSON, u UUID, bl BLOB, vb VARBINARY(10), e ENUM('a','b'), tm TIME, y YEAR);
INSERT INTO shop.types_t VALUES
 (1, -5, 65535, -2147483648, 18446744073709551615, 12345.67, 1234567.891, 1.5, 3.141592653589793, TRUE,
  'hello, \"world\"', 'multi\nline', '2024-02-29', '2024-01-01 10:00:00.123456', '2024-06-01 10:00:00.123',
  '{\"a\": 1}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', X'00FF10', X'', 'b', '-838:59:59', 2024),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (3, 0, 0, 0, 0, -0.01, 0, 0, 0, FALSE, '', '', '1000-01-01', '1000-01-01 00:00:00', '1970-01-01 00:00:01',
  '[]', '00000000-0000-0000-0000-000000000000', X'', X'41', 'a', '00:00:00', 1901);
CREATE TABLE shop.events (id INT PRIMARY KEY, kind VARCHAR(10) NOT NULL, code VARCHAR(10) NOT NULL, UNIQUE KEY (code));
INSERT INTO shop.events SELECT seq, CONCAT('k', seq % 3), CONCAT('c', LPAD(seq, 3, '0')) FROM shop.seq_1_to_25;
CREATE TABLE shop.big (id BIGINT PRIMARY KEY, cat INT, name CHAR(32), amount DECIMAL(14,2), at DATETIME);
INSERT INTO shop.big SELECT seq, seq % 1000, MD5(seq), seq * 1.37, TIMESTAMP'2026-01-01 00:00:00' - INTERVAL seq SECOND
  FROM shop.seq_1_to_$BIG;" || { t_fail "test data created"; t_done; exit 1; }
t_ok "test data created ($BIG-row table included)"

DATA=$LH_TMP/data
mkdir -p "$DATA"
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
DSN="mysql://etl:$PW@127.0.0.1:$MY_PORT/shop"
sql() { http_json POST /query/sql "{\"sql\":$(jq -Rn --arg s "$1" '$s')}"; }

http_json POST /ingest/mysql "{\"dsn\":\"$DSN\",\"table\":\"types_t\",\"dataset_name\":\"my_types\"}"
check_eq "types: 201, keyset on the primary key" "$HTTP_STATUS $(jget '[.rows,.paging,.order_key]|@csv')" '201 3,"keyset","id"'
check_eq "types: DuckDB types" "$(jget '[.columns[].type]|join(",")')" \
  "BIGINT,TINYINT,INTEGER,INTEGER,UBIGINT,DECIMAL(12,2),DECIMAL(10,3),FLOAT,DOUBLE,BOOLEAN,VARCHAR,VARCHAR,DATE,TIMESTAMP,TIMESTAMP WITH TIME ZONE,VARCHAR,UUID,BLOB,BLOB,VARCHAR,VARCHAR,SMALLINT"
check_eq "types: source types named" "$(jget '[.columns[2,4,16,17].source_type]|join(",")')" "smallint unsigned,bigint unsigned,uuid,blob"
sql 'SELECT id, ti, si, i, bi::VARCHAR, dc::VARCHAR, dcu::VARCHAR, f, d, b, vc, tx, dt::VARCHAR, dtt::VARCHAR, ts::VARCHAR, j, u::VARCHAR, hex(bl), hex(vb), e, tm, y FROM my_types WHERE id = 1'
check_eq "types: row 1 round trips" "$(jget '.rows[0]|tojson')" \
  '[1,-5,65535,-2147483648,"18446744073709551615","12345.67","1234567.891",1.5,3.141592653589793,true,"hello, \"world\"","multi\nline","2024-02-29","2024-01-01 10:00:00.123456","2024-06-01 10:00:00.123+00","{\"a\": 1}","a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","00FF10","","b","-838:59:59",2024]'
sql 'SELECT COLUMNS(* EXCLUDE (id)) IS NULL FROM my_types WHERE id = 2'
check_eq "types: row 2 is NULL in all 21 columns" "$(jget '[.rows[0][]|select(. == true)]|length')" 21
sql 'SELECT b, vc, dt::VARCHAR, ts::VARCHAR, j, octet_length(bl), hex(vb), y FROM my_types WHERE id = 3'
check_eq "types: row 3 (false, empty string, old dates, epoch+1 s)" "$(jget '.rows[0]|tojson')" \
  '[false,"","1000-01-01","1970-01-01 00:00:01+00","[]",0,"41",1901]'

http_json POST /ingest/mysql "{\"dsn\":\"$DSN\",\"table\":\"shop.events\",\"order_by\":\"code\",\"batch_size\":10}"
check_eq "unique NOT NULL order_by (not the key): 3 keyset pages" "$(jget '[.rows,.batches,.paging,.last_key]|@csv')" '25,3,"keyset","c025"'
http_json POST /ingest/mysql "{\"dsn\":\"$DSN\",\"table\":\"events\",\"dataset_name\":\"ev_kind\",\"order_by\":\"kind\",\"batch_size\":10}"
check_eq "non-unique order_by: one streamed read in 3 batches" "$(jget '[.rows,.batches,.paging]|@csv')" '25,3,"cursor"'
http_json POST /ingest/mysql "{\"dsn\":\"$DSN\",\"query\":\"SELECT kind, COUNT(*) AS n FROM events GROUP BY kind\",\"dataset_name\":\"ev_counts\",\"limit\":2}"
check_eq "a SELECT source with limit" "$(jget '[.rows,.paging]|@csv')" '2,"cursor"'
http_json POST /ingest/mysql "{\"dsn\":\"mysql://etl:$PW@localhost:$MY_PORT/shop?socket=$MY_SOCK\",\"table\":\"events\",\"dataset_name\":\"ev_sock\"}"
check_eq "over the unix socket (?socket=)" "$HTTP_STATUS $(jget .rows)" "201 25"

http_json POST /ingest/mysql "{\"dsn\":\"mysql://etl:WrongPw-Xy9@127.0.0.1:$MY_PORT/shop\",\"table\":\"events\"}"
check_eq "wrong password: 502 bad_gateway" "$HTTP_STATUS $(jget .error.code)" "502 bad_gateway"
if echo "$HTTP_BODY" | grep -q 'Access denied' && ! echo "$HTTP_BODY" | grep -q 'WrongPw-Xy9'; then
  t_ok "wrong password: clear message, password absent"
else t_fail "wrong password: clear message, password absent" "$HTTP_BODY"; fi
http_json POST /ingest/mysql "{\"dsn\":\"$DSN\",\"table\":\"nope\"}"
check_eq "unknown table: 404" "$HTTP_STATUS" 404
http_json POST /ingest/mysql "{\"dsn\":\"postgres://etl:$PW@127.0.0.1:$MY_PORT/shop\",\"table\":\"events\"}"
check_eq "a postgres:// DSN on /ingest/mysql: 400" "$HTTP_STATUS" 400
http GET /catalog/datasets/by-name/events
check_eq "lineage: source system and redacted DSN" "$(jget '.lineage.source_system + " " + .lineage.source')" \
  "mysql mysql://etl:***@127.0.0.1:$MY_PORT/shop shop.events"

http_json POST /ingest/mysql "{\"dsn\":\"$DSN\",\"table\":\"big\"}"
check_eq "$BIG-row table: 201, all rows, keyset pages" "$HTTP_STATUS $(jget .rows) $(jget .paging)" "201 $BIG keyset"
echo "# $BIG rows in $(jget .elapsed_ms) ms ($(jget .batches) batches)"
sql 'SELECT count(*), count(DISTINCT id), sum(id)::VARCHAR, min("at")::VARCHAR, sum(amount)::VARCHAR FROM big'
check_eq "$BIG-row table: count, distinct ids, sums, timestamps" "$(jget '.rows[0]|@csv')" \
  "$BIG,$BIG,\"$((BIG * (BIG + 1) / 2))\",\"$(my_sql "SELECT CAST(MIN(at) AS CHAR) FROM shop.big")\",\"$(my_sql "SELECT CAST(SUM(amount) AS CHAR) FROM shop.big")\""

if grep -q -e "$PW" -e 'WrongPw-Xy9' "$LH_TMP/server.log"; then t_fail "no password in the server log"
else t_ok "no password in the server log"; fi
t_done
