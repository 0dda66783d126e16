#!/usr/bin/env bash
# ingest_postgres.sh — POST /ingest/db and /ingest/postgres/import against a
# real PostgreSQL 15 started here (temp folder, free port, unix socket in the
# temp folder, run as `nobody` when we are root): every mapped type round
# trips, keyset vs cursor paging, batch_size/limit/order_by, append and
# overwrite, a SELECT source, a 1M-row table, and a wrong password that is a
# clear 502 without the password anywhere (response, lineage, server log).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/db_lib.sh"
trap 'db_stop_all; lh_kill_all' EXIT

PW='Pg-S3cret!pw'
BIG=${LH_TEST_PG_ROWS:-1000000}
if ! pg_start; then t_fail "postgres 15 starts in a temp folder"; t_done; exit 1; fi
t_ok "postgres starts on port $PG_PORT (socket in the temp folder)"
pg_sql postgres "CREATE ROLE etl LOGIN PASSWORD '$PW'" >/dev/null
pg_sql postgres "CREATE DATABASE shop OWNER etl" >/dev/null
pg_sql shop "
CREATE TABLE types_t (id bigint PRIMARY KEY, i2 smallint, i4 integer, n numeric(12,2), nu numeric,
  f4 real, f8 double precision, t text, vc varchar(20), b boolean, d date, ts timestamp, tstz timestamptz,
  j json, jb jsonb, u uuid, by bytea, tm time, iv interval, arr int[]);
INSERT INTO types_t VALUES
 (1, 1, 100, 12345.67, 1.5, 1.25, 3.141592653589793, 'hello, \"world\"', 'x', true, '2024-02-29',
  '2024-01-01 10:00:00.123456', '2024-06-01 12:00:00+02', '{\"a\":1}', '{\"b\": [1,2]}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff10', '13:45:00', '1 day 02:00:00', '{1,2,3}'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (3, -32768, -2147483648, -0.01, 0.5, 'NaN', '-Infinity', E'multi\\nline', '', false, 'infinity', '-infinity',
  '1999-12-31 23:59:59.999999+00', 'null', '[]', '00000000-0000-0000-0000-000000000000', '', '00:00:00', '-1 mons', '{}');
CREATE TABLE events (id int PRIMARY KEY, kind text NOT NULL, seq int NOT NULL);
INSERT INTO events SELECT g, 'k' || (g % 3), g % 10 FROM generate_series(1, 25) g;
CREATE TABLE wide (id int PRIMARY KEY, body text, bin bytea);
INSERT INTO wide VALUES (1, repeat('x,\"', 1000000), decode(repeat('ab', 1500000), 'hex')), (2, 'small', '\x01');
CREATE TABLE big AS SELECT g::bigint AS id, (g % 1000)::int AS cat, md5(g::text) AS name,
  (g * 1.37)::numeric(14,2) AS amount, timestamptz '2026-01-01 00:00:00+00' - g * interval '1 second' AS at
  FROM generate_series(1, $BIG) g;
ALTER TABLE big ADD PRIMARY KEY (id);
GRANT SELECT ON ALL TABLES IN SCHEMA public TO etl;" >/dev/null || { t_fail "test data created"; t_done; exit 1; }
t_ok "test data created ($BIG-row table included)"

DATA=$LH_TMP/data
mkdir -p "$DATA"
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
DSN="postgres://etl:$PW@127.0.0.1:$PG_PORT/shop"

# ---- every mapped type ------------------------------------------------------
http_json POST /ingest/db "{\"dsn\":\"$DSN\",\"table\":\"types_t\",\"dataset_name\":\"pg_types\"}"
check_eq "types: 201" "$HTTP_STATUS" 201
check_eq "types: rows, batches, keyset on the primary key" "$(jget '[.dataset,.rows,.batches,.paging,.order_key]|@csv')" '"pg_types",3,1,"keyset","id"'
JOB=$(jget .job_id); INGESTED=$HTTP_BODY
http GET "/jobs/$JOB"
check_eq "the ingest ran as a job, done with its rows" "$(jget '[.kind,.state,.progress.done,.result.rows]|@csv')" '"ingest_db","done",3,3'
HTTP_BODY=$INGESTED
check_eq "types: DuckDB types" "$(jget '[.columns[].type]|join(",")')" \
  "BIGINT,SMALLINT,INTEGER,DECIMAL(12,2),DOUBLE,FLOAT,DOUBLE,VARCHAR,VARCHAR,BOOLEAN,DATE,TIMESTAMP,TIMESTAMP WITH TIME ZONE,VARCHAR,VARCHAR,UUID,BLOB,TIME,VARCHAR,VARCHAR"
check_eq "types: source types named" "$(jget '.columns[3].source_type + "|" + .columns[12].source_type')" "numeric(12,2)|timestamp with time zone"

sql() { http_json POST /query/sql "{\"sql\":$(jq -Rn --arg s "$1" '$s')}"; }
sql 'SELECT typeof(n), typeof(tstz), typeof(u), typeof("by"), typeof(d), typeof(ts), typeof(b) FROM pg_types LIMIT 1'
check_eq "types: stored types as queried" "$(jget '.rows[0]|join(",")')" \
  "DECIMAL(12,2),TIMESTAMP WITH TIME ZONE,UUID,BLOB,DATE,TIMESTAMP,BOOLEAN"
sql 'SELECT id, i2, i4, n::VARCHAR, nu, f4, f8, t, vc, b, d::VARCHAR, ts::VARCHAR, tstz::VARCHAR, j, jb, u::VARCHAR, hex("by"), tm::VARCHAR, iv, arr FROM pg_types WHERE id = 1'
check_eq "types: row 1 round trips" "$(jget '.rows[0]|tojson')" \
  '[1,1,100,"12345.67",1.5,1.25,3.141592653589793,"hello, \"world\"","x",true,"2024-02-29","2024-01-01 10:00:00.123456","2024-06-01 10:00:00+00","{\"a\":1}","{\"b\": [1, 2]}","a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","00FF10","13:45:00","1 day 02:00:00","{1,2,3}"]'
sql 'SELECT COLUMNS(* EXCLUDE (id)) IS NULL FROM pg_types WHERE id = 2'
check_eq "types: row 2 is NULL in all 19 columns" "$(jget '[.rows[0][]|select(. == true)]|length')" 19
sql 'SELECT i2, i4, n::VARCHAR, isnan(f4), f8::VARCHAR, t, vc, b, d::VARCHAR, ts::VARCHAR, tstz::VARCHAR, j, jb, octet_length("by"), iv, arr FROM pg_types WHERE id = 3'
check_eq "types: row 3 extremes (NaN, infinities, empty string vs NULL, empty bytea)" "$(jget '.rows[0]|tojson')" \
  '[-32768,-2147483648,"-0.01",true,"-inf","multi\nline","",false,"infinity","-infinity","1999-12-31 23:59:59.999999+00","null","[]",0,"-1 mons","{}"]'

# ---- paging, options ----------------------------------------------------------
http_json POST /ingest/db "{\"dsn\":\"postgresql://etl:$PW@127.0.0.1:$PG_PORT/shop\",\"table\":\"public.events\",\"batch_size\":10}"
check_eq "postgresql:// scheme, schema.table, batch_size 10: 3 keyset pages" "$(jget '[.dataset,.rows,.batches,.paging]|@csv')" '"events",25,3,"keyset"'
http_json POST /ingest/db "{\"dsn\":\"$DSN\",\"table\":\"events\",\"dataset_name\":\"ev_kind\",\"order_by\":\"kind\",\"batch_size\":10}"
check_eq "non-unique order_by: one cursor in 3 batches" "$(jget '[.rows,.batches,.paging]|@csv')" '25,3,"cursor"'
http_json POST /ingest/db "{\"dsn\":\"$DSN\",\"table\":\"events\",\"dataset_name\":\"ev_lim\",\"order_by\":\"id\",\"limit\":7,\"batch_size\":5}"
check_eq "limit 7 with batch_size 5" "$(jget '[.rows,.batches,.last_key]|@csv')" '7,2,"7"'
http_json POST /ingest/db "{\"dsn\":\"$DSN\",\"table\":\"events\",\"dataset_name\":\"ev_lim\",\"order_by\":\"id\",\"start_after\":\"20\"}"
sql 'SELECT count(*), max(id) FROM ev_lim'
check_eq "a second ingest appends; start_after continues the keyset" "$(jget '.rows[0]|@csv')" '12,25'
http_json POST /ingest/db "{\"dsn\":\"$DSN\",\"table\":\"events\",\"dataset_name\":\"ev_lim\",\"mode\":\"overwrite\"}"
sql 'SELECT count(*) FROM ev_lim'
check_eq "mode overwrite replaces" "$(jget '.rows[0][0]')" 25
http_json POST /ingest/db "{\"dsn\":\"$DSN\",\"table\":\"events\",\"order_by\":\"nope\"}"
check_eq "unknown order_by column: 400" "$HTTP_STATUS" 400
http_json POST /ingest/db "{\"dsn\":\"$DSN\",\"query\":\"SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY kind\",\"dataset_name\":\"ev_counts\"}"
check_eq "a SELECT source" "$(jget '[.rows,.paging,(.columns|map(.type)|join("/"))]|@csv')" '3,"cursor","VARCHAR/BIGINT"'
http_json POST /ingest/postgres/import "{\"host\":\"127.0.0.1\",\"port\":$PG_PORT,\"user\":\"etl\",\"password\":\"$PW\",\"database\":\"shop\",\"table\":\"events\",\"dataset_name\":\"ev_struct\"}"
check_eq "structured import: 201, 25 rows" "$HTTP_STATUS $(jget .rows)" "201 25"
http_json POST /ingest/postgres/import "{\"host\":\"$PG_SOCK\",\"port\":$PG_PORT,\"user\":\"postgres\",\"database\":\"shop\",\"table\":\"events\",\"dataset_name\":\"ev_sock\"}"
check_eq "structured import over the unix socket" "$HTTP_STATUS $(jget .rows)" "201 25"

http_json POST /ingest/db "{\"dsn\":\"$DSN\",\"table\":\"wide\"}"
sql 'SELECT length(body), octet_length(bin), hex(bin[1:2]) FROM wide ORDER BY id'
check_eq "rows of several MB (3 MB text with quotes, 1.5 MB bytea)" "$(jget '.rows|tojson')" '[[3000000,1500000,"ABAB"],[5,1,"01"]]'

# ---- errors -----------------------------------------------------------------
http_json POST /ingest/db "{\"dsn\":\"postgres://etl:WrongPw-Xy9@127.0.0.1:$PG_PORT/shop\",\"table\":\"events\"}"
check_eq "wrong password: 502 bad_gateway" "$HTTP_STATUS $(jget .error.code)" "502 bad_gateway"
if echo "$HTTP_BODY" | grep -q 'password authentication failed' && ! echo "$HTTP_BODY" | grep -q 'WrongPw-Xy9'; then
  t_ok "wrong password: clear message, password absent"
else t_fail "wrong password: clear message, password absent" "$HTTP_BODY"; fi
http_json POST /ingest/postgres/import "{\"host\":\"127.0.0.1\",\"port\":$PG_PORT,\"user\":\"etl\",\"password\":\"WrongPw-Xy9\",\"database\":\"shop\",\"table\":\"events\"}"
check_eq "structured, wrong password: 502 without it" "$HTTP_STATUS $(echo "$HTTP_BODY" | grep -c WrongPw-Xy9)" "502 0"
http_json POST /ingest/db "{\"dsn\":\"postgres://etl:$PW@127.0.0.1:1/shop\",\"table\":\"events\"}"
check_eq "nothing listening: 502" "$HTTP_STATUS" 502
http_json POST /ingest/db "{\"dsn\":\"$DSN\",\"table\":\"missing_table\"}"
check_eq "unknown table: 404" "$HTTP_STATUS" 404
http_json POST /ingest/db "{\"dsn\":\"mysql://etl:$PW@127.0.0.1:$PG_PORT/shop\",\"table\":\"events\"}"
check_eq "a mysql:// DSN on /ingest/db: 400" "$HTTP_STATUS" 400
http_json POST /ingest/db "{\"dsn\":\"postgres://etl:$PW@127.0.0.1:notaport/shop\",\"table\":\"events\"}"
check_eq "malformed DSN: 400 without the password" "$HTTP_STATUS $(echo "$HTTP_BODY" | grep -c "$PW")" "400 0"
http GET /catalog/datasets/by-name/events
check_eq "lineage: source system and redacted DSN" "$(jget '.lineage.source_system + " " + .lineage.source')" \
  "postgres postgres://etl:***@127.0.0.1:$PG_PORT/shop public.events"

# ---- 1M rows ------------------------------------------------------------------
http_json POST /ingest/db "{\"dsn\":\"$DSN\",\"table\":\"big\"}"
check_eq "$BIG-row table: 201, all rows, keyset pages" "$HTTP_STATUS $(jget .rows) $(jget .paging)" "201 $BIG keyset"
echo "# $BIG rows in $(jget .elapsed_ms) ms ($(jget .batches) batches)"
sql 'SELECT count(*), count(DISTINCT id), sum(id)::VARCHAR, min("at")::VARCHAR FROM big'
check_eq "$BIG-row table: count, distinct ids, sum, timestamps" "$(jget '.rows[0]|@csv')" \
  "$BIG,$BIG,\"$((BIG * (BIG + 1) / 2))\",\"$(pg_sql shop "SET TimeZone='UTC'; SELECT min(at)::text FROM big")\""

if grep -q -e "$PW" -e 'WrongPw-Xy9' "$LH_TMP/server.log"; then t_fail "no password in the server log"
else t_ok "no password in the server log"; fi
t_done
