/*
 * test_db_ingest.c — the server-free half of database ingest: request
 * options, structured DSNs, identifier quoting for both dialects, the CSV
 * spool round trip through DuckDB for every mapped type (NULLs, empty
 * strings, quotes, newlines, binary), and connection errors that never
 * carry the password. Real servers are exercised by
 * tests/integration/ingest_postgres.sh and ingest_mysql.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/db_ingest.h"
#include "ingest/db_internal.h"

static json_t *js(const char *text) {
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_opts_parse(void **state) {
    (void)state;
    lh_db_ingest_opts o;
    lh_err err = {0};
    json_t *ok = js("{\"dsn\":\"x\",\"table\":\"public.orders\",\"dataset_name\":\"orders\",\"batch_size\":500,"
                    "\"order_by\":\"id\",\"limit\":10,\"mode\":\"overwrite\"}");
    assert_int_equal(db_ingest_opts_parse(ok, &o, &err), 0);
    assert_string_equal(o.table, "public.orders");
    assert_string_equal(o.dataset, "orders");
    assert_int_equal(o.batch_size, 500);
    assert_string_equal(o.order_by, "id");
    assert_int_equal(o.limit, 10);
    assert_int_equal(o.overwrite, 1);
    json_decref(ok);
    static const struct { const char *body, *word; } bad[] = {
        {"{}", "table"},
        {"{\"table\":\"t\",\"query\":\"SELECT 1\"}", "exactly one"},
        {"{\"table\":\"t\",\"batch_size\":0}", "batch_size"},
        {"{\"table\":\"t\",\"batch_size\":\"10\"}", "batch_size"},
        {"{\"table\":\"t\",\"limit\":-1}", "limit"},
        {"{\"table\":\"t\",\"mode\":\"merge\"}", "mode"},
        {"{\"table\":\"\"}", "table"},
        {"{\"table\":\"t\",\"order_by\":7}", "order_by"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *b = js(bad[i].body);
        lh_err e = {0};
        assert_int_equal(db_ingest_opts_parse(b, &o, &e), -1);
        assert_int_equal(e.code, LH_E_BAD_REQUEST);
        if (!strstr(e.msg, bad[i].word)) fail_msg("%s: '%s' lacks '%s'", bad[i].body, e.msg, bad[i].word);
        json_decref(b);
    }
}

static void test_dsn_from_fields(void **state) {
    (void)state;
    lh_dsn d;
    lh_err err = {0};
    json_t *b = js("{\"host\":\"db.local\",\"port\":6543,\"user\":\"etl\",\"password\":\"p@ss w\",\"database\":\"hr\"}");
    assert_int_equal(db_dsn_from_fields(b, LH_DSN_POSTGRES, &d, &err), 0);
    assert_string_equal(d.host, "db.local");
    assert_int_equal(d.port, 6543);
    assert_string_equal(d.password, "p@ss w");
    char *red = dsn_redacted(&d);
    assert_string_equal(red, "postgres://etl:***@db.local:6543/hr");
    free(red);
    dsn_free(&d);
    json_decref(b);

    b = js("{\"host\":\"/tmp/sockdir\",\"user\":\"etl\",\"database\":\"hr\"}");
    assert_int_equal(db_dsn_from_fields(b, LH_DSN_POSTGRES, &d, &err), 0);
    assert_int_equal(d.port, 5432);
    assert_string_equal(d.params, "host=/tmp/sockdir");
    dsn_free(&d);
    json_decref(b);

    b = js("{\"user\":\"etl\"}");
    assert_int_equal(db_dsn_from_fields(b, LH_DSN_MYSQL, &d, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    json_decref(b);
    b = js("{\"host\":\"h\",\"port\":70000}");
    assert_int_equal(db_dsn_from_fields(b, LH_DSN_MYSQL, &d, &err), -1);
    json_decref(b);
}

static void test_table_quoting(void **state) {
    (void)state;
    lh_err err = {0};
    char *s = db_table_sql(&db_pg_ops, "public.Ord\"ers", &err);
    assert_string_equal(s, "\"public\".\"Ord\"\"ers\"");
    free(s);
    s = db_table_sql(&db_my_ops, "shop.ord`ers", &err);
    assert_string_equal(s, "`shop`.`ord``ers`");
    free(s);
    s = db_table_sql(&db_pg_ops, "x; DROP TABLE y", &err);
    assert_string_equal(s, "\"x; DROP TABLE y\"");
    free(s);
    assert_null(db_table_sql(&db_pg_ops, "a..b", &err));
    assert_null(db_table_sql(&db_pg_ops, ".a", &err));
    assert_null(db_table_sql(&db_pg_ops, "a.b.c.d", &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
}

/* ---- spool round trip ----------------------------------------------------- */

typedef struct {
    const char *name, *duck;
    db_conv conv;
    db_enc enc;
} col_spec;

static const col_spec spool_cols[] = {
    {"id", "BIGINT", DB_CONV_CAST, DB_ENC_TEXT},
    {"amount", "DECIMAL(12,2)", DB_CONV_CAST, DB_ENC_TEXT},
    {"note", "VARCHAR", DB_CONV_NONE, DB_ENC_TEXT},
    {"flag", "BOOLEAN", DB_CONV_CAST, DB_ENC_TEXT},
    {"day", "DATE", DB_CONV_CAST, DB_ENC_ZERO_DATE},
    {"at", "TIMESTAMP WITH TIME ZONE", DB_CONV_CAST, DB_ENC_TEXT},
    {"at_utc", "TIMESTAMP WITH TIME ZONE", DB_CONV_TS_UTC, DB_ENC_TEXT},
    {"u", "UUID", DB_CONV_CAST, DB_ENC_TEXT},
    {"pg_bytes", "BLOB", DB_CONV_HEX, DB_ENC_PG_HEX},
    {"raw_bytes", "BLOB", DB_CONV_HEX, DB_ENC_BINARY},
    {"tiny", "BOOLEAN", DB_CONV_NONZERO, DB_ENC_TEXT},
    {"id", "INTEGER", DB_CONV_CAST, DB_ENC_TEXT}, /* duplicate name → id_2 */
};
#define NCOLS (sizeof spool_cols / sizeof spool_cols[0])

static const char *query_one(duckdb_connection con, const char *sql) {
    static char out[4096];
    duckdb_result r;
    if (duckdb_query(con, sql, &r) != DuckDBSuccess) fail_msg("%s: %s", sql, duckdb_result_error(&r));
    char *v = duckdb_value_varchar(&r, 0, 0);
    snprintf(out, sizeof out, "%s", v ? v : "<NULL>");
    duckdb_free(v);
    duckdb_destroy_result(&r);
    return out;
}

static void test_spool_round_trip(void **state) {
    (void)state;
    db_column cols[NCOLS];
    memset(cols, 0, sizeof cols);
    for (size_t i = 0; i < NCOLS; i++) {
        cols[i].name = (char *)spool_cols[i].name;
        cols[i].duck_type = (char *)spool_cols[i].duck;
        cols[i].conv = spool_cols[i].conv;
        cols[i].enc = spool_cols[i].enc;
    }
    static const char raw[] = {'\0', '\xff', ',', '"', '\n'};
    const char *row1[NCOLS] = {"1", "12345.67", "a, \"quoted\"\nline", "t", "2024-02-29",
                               "2024-06-01 12:00:00+02", "2024-06-01 10:00:00", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                               "\\x00ff10", raw, "5", "7"};
    size_t len1[NCOLS];
    for (size_t i = 0; i < NCOLS; i++) len1[i] = row1[i] ? strlen(row1[i]) : 0;
    len1[9] = sizeof raw;
    const char *row2[NCOLS] = {"2", NULL, "", "f", "0000-00-00", NULL, NULL, NULL, "\\x", "", "0", NULL};
    size_t len2[NCOLS] = {1, 0, 0, 1, 10, 0, 0, 0, 2, 0, 1, 0};
    lh_strbuf b = LH_STRBUF_INIT;
    db_csv_row(&b, cols, NCOLS, row1, len1);
    db_csv_row(&b, cols, NCOLS, row2, len2);
    char path[] = "/tmp/lh-test-spool-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b.buf, b.len), (ssize_t)b.len);
    close(fd);
    sb_free(&b);

    duckdb_database db;
    duckdb_connection con;
    assert_int_equal(duckdb_open(NULL, &db), DuckDBSuccess);
    assert_int_equal(duckdb_connect(db, &con), DuckDBSuccess);
    query_one(con, "SET TimeZone = 'UTC'");
    char *sel = db_convert_sql(path, cols, NCOLS, 200);
    char *sql = lh_asprintf("CREATE TABLE t AS %s", sel);
    query_one(con, sql);
    free(sql);
    free(sel);
    assert_string_equal(query_one(con, "SELECT count(*) FROM t"), "2");
    assert_string_equal(query_one(con, "SELECT string_agg(data_type, '|' ORDER BY column_index) FROM duckdb_columns() WHERE table_name = 't'"),
                        "BIGINT|DECIMAL(12,2)|VARCHAR|BOOLEAN|DATE|TIMESTAMP WITH TIME ZONE|"
                        "TIMESTAMP WITH TIME ZONE|UUID|BLOB|BLOB|BOOLEAN|INTEGER");
    assert_string_equal(query_one(con, "SELECT string_agg(column_name, '|' ORDER BY column_index) FROM duckdb_columns() WHERE table_name = 't'"),
                        "id|amount|note|flag|day|at|at_utc|u|pg_bytes|raw_bytes|tiny|id_2");
    assert_string_equal(query_one(con, "SELECT note FROM t WHERE id = 1"), "a, \"quoted\"\nline");
    assert_string_equal(query_one(con, "SELECT amount::VARCHAR || flag::VARCHAR || day::VARCHAR FROM t WHERE id = 1"),
                        "12345.67true2024-02-29");
    assert_string_equal(query_one(con, "SELECT \"at\"::VARCHAR || ' ' || at_utc::VARCHAR FROM t WHERE id = 1"),
                        "2024-06-01 10:00:00+00 2024-06-01 10:00:00+00");
    assert_string_equal(query_one(con, "SELECT u::VARCHAR FROM t WHERE id = 1"), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    assert_string_equal(query_one(con, "SELECT hex(pg_bytes) || '/' || hex(raw_bytes) FROM t WHERE id = 1"),
                        "00FF10/00FF2C220A");
    assert_string_equal(query_one(con, "SELECT tiny::VARCHAR || id_2::VARCHAR FROM t WHERE id = 1"), "true7");
    /* row 2: NULL vs empty string, zero date, empty binary */
    assert_string_equal(query_one(con, "SELECT (amount IS NULL)::VARCHAR || (note = '')::VARCHAR || (day IS NULL)::VARCHAR"
                                       " || (\"at\" IS NULL)::VARCHAR || (id_2 IS NULL)::VARCHAR FROM t WHERE id = 2"),
                        "truetruetruetruetrue");
    assert_string_equal(query_one(con, "SELECT octet_length(pg_bytes)::VARCHAR || octet_length(raw_bytes)::VARCHAR"
                                       " || tiny::VARCHAR FROM t WHERE id = 2"),
                        "00false");
    duckdb_disconnect(&con);
    duckdb_close(&db);
    unlink(path);
}

/* ---- errors --------------------------------------------------------------- */

static void test_unreachable_hides_password(void **state) {
    (void)state;
    static const char *dsns[] = {"postgres://etl:Sup3rSecretPw@127.0.0.1:1/hr",
                                 "mysql://etl:Sup3rSecretPw@127.0.0.1:1/hr"};
    for (size_t i = 0; i < 2; i++) {
        lh_dsn d;
        lh_err err = {0};
        assert_int_equal(dsn_parse(dsns[i], &d, &err), 0);
        lh_db_ingest_opts o = {.table = "employees"};
        json_t *res = db_ingest_run(NULL, &d, &o, NULL, &err);
        assert_null(res);
        assert_int_equal(err.code, LH_E_BAD_GATEWAY);
        assert_null(strstr(err.msg, "Sup3rSecretPw"));
        assert_null(strstr(err.hint, "Sup3rSecretPw"));
        assert_non_null(strstr(err.msg, "***"));
        dsn_free(&d);
    }
}

static void test_bad_names(void **state) {
    (void)state;
    lh_dsn d;
    lh_err err = {0};
    assert_int_equal(dsn_parse("postgres://u:pw@127.0.0.1:1/db", &d, &err), 0);
    lh_db_ingest_opts o = {.table = "t", .dataset = "bad name"};
    assert_null(db_ingest_run(NULL, &d, &o, NULL, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    lh_db_ingest_opts q = {.query = "SELECT 1"};
    assert_null(db_ingest_run(NULL, &d, &q, NULL, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "dataset_name"));
    lh_db_ingest_opts pq = {.table = "t", .dataset = "ok", .query = "SELECT 1"};
    assert_null(db_ingest_run(NULL, &d, &pq, NULL, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    lh_db_ingest_opts par = {.table = "t"};
    dsn_free(&d);
    assert_int_equal(dsn_parse("postgres://u:pw@127.0.0.1:1/db?passfile=/etc/x", &d, &err), 0);
    assert_null(db_ingest_run(NULL, &d, &par, NULL, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "passfile"));
    dsn_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opts_parse),        cmocka_unit_test(test_dsn_from_fields),
        cmocka_unit_test(test_table_quoting),     cmocka_unit_test(test_spool_round_trip),
        cmocka_unit_test(test_unreachable_hides_password), cmocka_unit_test(test_bad_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
