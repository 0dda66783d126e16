/*
 * test_table.c — the Delta Lake module: every golden table in
 * tests/data/delta reads with the documented rows (checkpoints,
 * multi-part checkpoints, removes, partition values, old versions), and our
 * own writes round-trip: create, append, overwrite, stats, checkpoints,
 * schema conflicts, concurrent writers, a gap or garbage in the log.
 * Optimistic commits (table_commit_retry): handles racing in threads
 * (appenders and a purging compactor) lose no row and duplicate none; a
 * stale rewrite whose files were removed, a metadata change, a non-blind
 * add under a reading commit are conflicts naming the winning version;
 * blind appends are not; a custom checker sees each winner; bounded
 * attempts; a purge never deletes a file another writer staged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "storage/storage.h"
#include "table/delta_log.h"
#include "table/table.h"

static duckdb_database db;
static duckdb_connection conn;

static const char *testdata(void) {
    const char *d = getenv("LH_TESTDATA");
    return d ? d : "tests/data"; /* run from the repository root (tests/run.sh) */
}

static int64_t query_int(const char *sql) {
    duckdb_result r;
    int64_t n = -1;
    if (duckdb_query(conn, sql, &r) == DuckDBSuccess) n = duckdb_value_int64(&r, 0, 0);
    else fprintf(stderr, "query failed: %s\n", duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    return n;
}

static int64_t count_sql(const char *select, const char *where) {
    char *sql = lh_asprintf("SELECT count(*) FROM (%s) %s", select, where ? where : "");
    int64_t n = query_int(sql);
    free(sql);
    return n;
}

/* Rows of a golden table at a version (-1 latest), with an optional filter. */
static int64_t golden_rows(const char *name, int64_t version, const char *where) {
    char *root = lh_asprintf("%s/delta", testdata());
    lh_err err = {0};
    lh_storage *st = storage_open_local("golden", root, &err);
    assert_non_null(st);
    lh_table *t = table_open(st, name, &err);
    assert_non_null(t);
    lh_snapshot *s = table_snapshot(t, version, &err);
    if (!s) fail_msg("%s: %s", name, err.msg);
    char *sql = table_snapshot_select_sql(t, s);
    int64_t n = count_sql(sql, where);
    free(sql);
    table_snapshot_free(s);
    table_free(t);
    storage_free(st);
    free(root);
    return n;
}

static void test_golden_tables(void **state) {
    (void)state;
    static const struct { const char *name; int64_t rows; } cases[] = {
        {"snapshot-data0", 10}, {"snapshot-data1", 20}, {"snapshot-data2", 10},
        {"snapshot-data3", 30}, {"snapshot-data2-deleted", 20},
        {"basic-with-inserts-deletes-checkpoint", 41}, {"data-reader-escaped-chars", 3},
        {"multi-part-checkpoint", 31},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(golden_rows(cases[i].name, -1, NULL), cases[i].rows);
}

static void test_golden_details(void **state) {
    (void)state;
    assert_int_equal(golden_rows("snapshot-data2", 0, "WHERE col2 LIKE 'data-0-%'"), 10);
    assert_int_equal(golden_rows("snapshot-data2", 1, NULL), 20);
    assert_int_equal(golden_rows("snapshot-data2", -1, "WHERE col2 LIKE 'data-2-%'"), 10);
    assert_int_equal(golden_rows("snapshot-data2-deleted", -1, "WHERE col2 LIKE 'data-2-%'"), 0);
    assert_int_equal(golden_rows("data-reader-escaped-chars", -1,
                                 "WHERE (_1 = 'foo1' AND _2 = 'bar+%21') OR (_1 = 'foo2' AND _2 = 'bar+%22') "
                                 "OR (_1 = 'foo3' AND _2 = 'bar+%23')"), 3);
    assert_int_equal(golden_rows("basic-with-inserts-deletes-checkpoint", -1,
                                 "WHERE id BETWEEN 5 AND 9 OR id BETWEEN 45 AND 49"), 0);
    assert_int_equal(golden_rows("multi-part-checkpoint", -1, "WHERE id = 0"), 2);
}

static lh_storage *temp_bucket(void) {
    char tmpl[] = "/tmp/lh-table-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    lh_err err = {0};
    lh_storage *st = storage_open_local("primary", tmpl, &err);
    assert_non_null(st);
    return st;
}

static void drop_bucket(lh_storage *st) {
    char *cmd = lh_asprintf("rm -rf '%s'", storage_root(st));
    assert_int_equal(system(cmd), 0);
    free(cmd);
    storage_free(st);
}

static void test_write_roundtrip(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/people", &err);
    assert_false(table_exists(t));
    int64_t v = -1, rows = 0;
    assert_int_equal(table_write(t, conn, "SELECT i AS id, 'n' || i AS name, i * 1.5 AS score FROM range(100) r(i)", 0, &v, &rows, &err), 0);
    assert_int_equal(v, 0);
    assert_int_equal(rows, 100);
    assert_true(table_exists(t));
    assert_int_equal(table_write(t, conn, "SELECT i AS id, 'm' || i AS name, i * 2.0 AS score FROM range(50) r(i)", 0, &v, &rows, &err), 0);
    assert_int_equal(v, 1);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    assert_non_null(s);
    assert_int_equal(s->version, 1);
    assert_int_equal(s->nfiles, 2);
    assert_int_equal(s->num_records, 150);
    assert_int_equal(s->ncolumns, 3);
    assert_string_equal(s->columns[0].type, "long");
    assert_string_equal(s->columns[1].type, "string");
    json_t *stats = json_loads(s->files[0].stats, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(stats, "numRecords")), 100);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(stats, "minValues"), "id")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(stats, "maxValues"), "id")), 99);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(stats, "nullCount"), "name")), 0);
    json_decref(stats);
    char *sql = table_snapshot_select_sql(t, s);
    assert_int_equal(count_sql(sql, NULL), 150);
    free(sql);
    table_snapshot_free(s);
    /* overwrite replaces everything; old versions stay readable */
    assert_int_equal(table_write(t, conn, "SELECT 7::BIGINT AS id, 'x' AS name, 1.0::DECIMAL(2,1) AS score", 1, &v, &rows, &err), 0);
    s = table_snapshot(t, -1, &err);
    assert_int_equal(s->num_records, 1);
    table_snapshot_free(s);
    s = table_snapshot(t, 1, &err);
    assert_int_equal(s->num_records, 150);
    table_snapshot_free(s);
    assert_null(table_snapshot(t, 9, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    /* append with another schema: conflict naming the column */
    assert_int_equal(table_write(t, conn, "SELECT 1::BIGINT AS id, 'x' AS name, 1.0::DECIMAL(2,1) AS score, 5 AS extra", 0, &v, &rows, &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    assert_non_null(strstr(err.msg, "extra"));
    assert_int_equal(table_write(t, conn, "SELECT 'a' AS id, 'x' AS name, 1.0::DECIMAL(2,1) AS score", 0, &v, &rows, &err), -1);
    assert_non_null(strstr(err.msg, "'id'"));
    table_free(t);
    drop_bucket(st);
}

static void test_checkpoints(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/cp", &err);
    table_set_checkpoint_interval(t, 5);
    for (int i = 0; i < 12; i++) {
        char *sql = lh_asprintf("SELECT %d AS k, range AS v FROM range(10)", i);
        assert_int_equal(table_write(t, conn, sql, 0, NULL, NULL, &err), 0);
        free(sql);
    }
    assert_true(storage_exists(st, "tables/cp/_delta_log/00000000000000000010.checkpoint.parquet"));
    assert_true(storage_exists(st, "tables/cp/_delta_log/_last_checkpoint"));
    /* remove the commits the checkpoint covers: a reader must not need them */
    for (int v = 0; v <= 10; v++) {
        char *key = lh_asprintf("tables/cp/_delta_log/%020d.json", v);
        assert_int_equal(storage_delete(st, key, &err), 0);
        free(key);
    }
    lh_snapshot *s = table_snapshot(t, -1, &err);
    if (!s) fail_msg("%s", err.msg);
    assert_int_equal(s->version, 11);
    assert_int_equal(s->nfiles, 12);
    assert_int_equal(s->num_records, 120);
    char *sql = table_snapshot_select_sql(t, s);
    assert_int_equal(count_sql(sql, NULL), 120);
    free(sql);
    table_snapshot_free(s);
    table_free(t);
    drop_bucket(st);
}

typedef struct { lh_storage *st; int id; int failures; } writer_arg;

static void *writer_main(void *p) {
    writer_arg *a = p;
    duckdb_connection c;
    duckdb_connect(db, &c);
    lh_err err = {0};
    lh_table *t = table_open(a->st, "tables/race", &err);
    table_set_checkpoint_interval(t, 0);
    for (int i = 0; i < 20; i++) {
        char *sql = lh_asprintf("SELECT %d AS w, %d AS i", a->id, i);
        if (table_write(t, c, sql, 0, NULL, NULL, &err) != 0) a->failures++;
        free(sql);
    }
    table_free(t);
    duckdb_disconnect(&c);
    return NULL;
}

static void test_concurrent_writers(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/race", &err);
    assert_int_equal(table_write(t, conn, "SELECT 0 AS w, -1 AS i", 0, NULL, NULL, &err), 0);
    pthread_t th[2];
    writer_arg args[2] = {{st, 1, 0}, {st, 2, 0}};
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, writer_main, &args[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    assert_int_equal(args[0].failures + args[1].failures, 0);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    assert_int_equal(s->version, 40);
    assert_int_equal(s->num_records, 41);
    table_snapshot_free(s);
    table_free(t);
    drop_bucket(st);
}

static void test_broken_logs(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/b", &err);
    table_set_checkpoint_interval(t, 0);
    for (int i = 0; i < 3; i++) assert_int_equal(table_write(t, conn, "SELECT 1 AS a", 0, NULL, NULL, &err), 0);
    assert_int_equal(storage_delete(st, "tables/b/_delta_log/00000000000000000001.json", &err), 0);
    assert_null(table_snapshot(t, -1, &err));
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    assert_non_null(strstr(err.msg, "missing"));
    assert_int_equal(storage_put(st, "tables/b/_delta_log/00000000000000000001.json", "{\"add\":{\"path\":\"x\"}}\n{not json\n", 31, NULL, &err), 0);
    assert_null(table_snapshot(t, -1, &err));
    assert_non_null(strstr(err.msg, "line 2"));
    table_free(t);
    /* the replayer alone: hostile paths and protocols */
    delta_replay r;
    delta_replay_init(&r);
    const char *bad = "{\"add\":{\"path\":\"../../etc/passwd\",\"size\":1}}";
    assert_int_equal(delta_replay_commit(&r, bad, strlen(bad), "x.json", &err), -1);
    const char *dv = "{\"add\":{\"path\":\"a.parquet\",\"deletionVector\":7}}";
    assert_int_equal(delta_replay_commit(&r, dv, strlen(dv), "x.json", &err), -1);
    assert_non_null(strstr(err.msg, "deletionVector"));
    const char *proto = "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"deletionVectors\",\"rowIdsFromTheFuture\"]}}";
    assert_int_equal(delta_replay_commit(&r, proto, strlen(proto), "x.json", &err), 0);
    assert_int_equal(delta_replay_check_protocol(&r, &err), -1);
    assert_non_null(strstr(err.msg, "'rowIdsFromTheFuture'"));
    delta_replay_free(&r);
    drop_bucket(st);
}

static void test_type_mapping(void **state) {
    (void)state;
    static const struct { const char *delta, *duck; } m[] = {
        {"long", "BIGINT"}, {"string", "VARCHAR"}, {"decimal(10,2)", "DECIMAL(10,2)"},
        {"timestamp", "TIMESTAMP WITH TIME ZONE"}, {"timestamp_ntz", "TIMESTAMP"},
        {"{\"type\":\"array\",\"elementType\":\"integer\",\"containsNull\":true}", "INTEGER[]"},
        {"{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"}]}", "STRUCT(\"a\" BIGINT)"},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        char *d = table_duckdb_type(m[i].delta);
        assert_string_equal(d, m[i].duck);
        free(d);
    }
}

/* ==== optimistic commits (table_commit_retry) and their conflict rules ==== */

#define APPENDERS 4
#define APPENDS 15

/* Runs agg over the latest snapshot of t ("count(*)", ...). */
static int64_t table_agg(lh_table *t, const char *agg) {
    lh_err err = {0};
    lh_snapshot *s = table_snapshot(t, -1, &err);
    assert_non_null(s);
    char *sel = table_snapshot_select_sql(t, s);
    char *sql = lh_asprintf("SELECT %s FROM (%s)", agg, sel);
    int64_t n = query_int(sql);
    free(sql);
    free(sel);
    table_snapshot_free(s);
    return n;
}

/* ---- racing threads -------------------------------------------------------- */

typedef struct {
    lh_storage *st;
    int id;
    int failures;
    volatile int *stop;
    int compactions;
} racer;

static void *appender_main(void *p) {
    racer *a = p;
    duckdb_connection c;
    duckdb_connect(db, &c);
    lh_err err = {0};
    lh_table *t = table_open(a->st, "tables/race", &err); /* a handle of its own */
    table_set_checkpoint_interval(t, 7);
    for (int i = 0; i < APPENDS; i++) {
        char *sql = lh_asprintf("SELECT %d AS w, %d AS i", a->id, i);
        if (table_write(t, c, sql, 0, NULL, NULL, &err) != 0) {
            fprintf(stderr, "append failed: %s\n", err.msg);
            a->failures++;
        }
        free(sql);
    }
    table_free(t);
    duckdb_disconnect(&c);
    return NULL;
}

static void *compactor_main(void *p) {
    racer *a = p;
    duckdb_connection c;
    duckdb_connect(db, &c);
    lh_err err = {0};
    lh_table *t = table_open(a->st, "tables/race", &err);
    table_set_checkpoint_interval(t, 0);
    while (!*a->stop) {
        lh_compact_result r;
        lh_err cerr = {0};
        if (table_compact(t, c, NULL, 1, &r, &cerr) == 0) a->compactions += r.committed;
        else if (cerr.code != LH_E_CONFLICT) a->failures++; /* only a real conflict may stop it */
        usleep(2000);
    }
    table_free(t);
    duckdb_disconnect(&c);
    return NULL;
}

static void test_appends_race_compaction(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/race", &err);
    assert_int_equal(table_write(t, conn, "SELECT 0 AS w, -1 AS i", 0, NULL, NULL, &err), 0);
    volatile int stop = 0;
    pthread_t th[APPENDERS + 1];
    racer args[APPENDERS + 1];
    for (int i = 0; i <= APPENDERS; i++) {
        args[i] = (racer){st, i + 1, 0, &stop, 0};
        pthread_create(&th[i], NULL, i < APPENDERS ? appender_main : compactor_main, &args[i]);
    }
    for (int i = 0; i < APPENDERS; i++) pthread_join(th[i], NULL);
    stop = 1;
    pthread_join(th[APPENDERS], NULL);
    for (int i = 0; i <= APPENDERS; i++) assert_int_equal(args[i].failures, 0);
    print_message("# %d compactions committed among %d appends\n", args[APPENDERS].compactions,
                  APPENDERS * APPENDS);
    /* every acknowledged append exactly once, after compactions removed and purged files */
    assert_int_equal(table_agg(t, "count(*)"), 1 + APPENDERS * APPENDS);
    assert_int_equal(table_agg(t, "count(DISTINCT (w, i))"), 1 + APPENDERS * APPENDS);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    assert_int_equal(s->num_records, 1 + APPENDERS * APPENDS);
    table_snapshot_free(s);
    table_free(t);
    drop_bucket(st);
}

/* ---- the conflict rules ------------------------------------------------------ */

typedef struct {
    const char *text;
    int builds;
    int checks;
    int refuse; /* custom check: refuse every winner */
} fixed_ctx;

static char *fixed_build(void *ctx, const lh_snapshot *base, lh_err *err) {
    (void)base;
    (void)err;
    fixed_ctx *f = ctx;
    f->builds++;
    return lh_strdup(f->text);
}

static int counting_check(void *ctx, const lh_commit_spec *spec, const lh_snapshot *base,
                          const lh_commit_winner *w, lh_err *err) {
    fixed_ctx *f = ctx;
    f->checks++;
    if (f->refuse) return lh_err_set(err, LH_E_CONFLICT, "refused version %lld", (long long)w->version);
    return table_commit_conflict(spec, base, w, err);
}

#define ADD_X "{\"add\":{\"path\":\"x.parquet\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true}}\n"

static void test_conflict_rules(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/c", &err);
    table_set_checkpoint_interval(t, 0);
    for (int i = 0; i < 3; i++) assert_int_equal(table_write(t, conn, "SELECT 1 AS a", 0, NULL, NULL, &err), 0);
    lh_snapshot *v2 = table_snapshot(t, 2, &err);
    assert_int_equal(v2->nfiles, 3);
    const char *victim = v2->files[0].path;

    /* blind appends since the read: a reading rewrite goes on top of them */
    assert_int_equal(table_write(t, conn, "SELECT 2 AS a", 0, NULL, NULL, &err), 0); /* v3 */
    fixed_ctx fx = {"{\"commitInfo\":{\"operation\":\"TEST\"}}\n", 0, 0, 0};
    lh_commit_spec spec = {.kind = LH_COMMIT_REWRITE, .build = fixed_build, .check = counting_check, .ctx = &fx,
                           .depends_on = &victim, .ndepends = 1, .reads_rows = 1, .read = v2};
    int64_t v = -1;
    assert_int_equal(table_commit_retry(t, &spec, &v, &err), 0);
    assert_int_equal(v, 4);
    assert_int_equal(fx.builds, 2);
    assert_int_equal(fx.checks, 1); /* the one winner, v3 */

    /* a winner removed a file the commit depends on: conflict naming it */
    assert_int_equal(table_write(t, conn, "SELECT 3 AS a", 1, NULL, NULL, &err), 0); /* v5 overwrite */
    memset(&err, 0, sizeof err);
    fx.builds = fx.checks = 0;
    assert_int_equal(table_commit_retry(t, &spec, &v, &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    assert_non_null(strstr(err.msg, "version 5")); /* v3, v4 pass; v5 removed the victim */
    assert_non_null(strstr(err.msg, victim));
    table_snapshot_free(v2);

    /* read at v5: a non-blind data add (an overwrite) conflicts with reads_rows */
    lh_snapshot *v5 = table_snapshot(t, 5, &err);
    assert_int_equal(table_write(t, conn, "SELECT 4 AS a", 1, NULL, NULL, &err), 0); /* v6 */
    lh_commit_spec reader = {.kind = LH_COMMIT_REWRITE, .build = fixed_build, .ctx = &fx, .reads_rows = 1,
                             .read = v5};
    memset(&err, 0, sizeof err);
    assert_int_equal(table_commit_retry(t, &reader, &v, &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    assert_non_null(strstr(err.msg, "version 6"));
    assert_non_null(strstr(err.msg, "WRITE"));
    /* ... but a blind append over the same stale read is fine */
    lh_commit_spec blind = {.kind = LH_COMMIT_APPEND, .build = fixed_build, .ctx = &fx, .read = v5};
    fx.text = ADD_X;
    assert_int_equal(table_commit_retry(t, &blind, &v, &err), 0);
    assert_int_equal(v, 7);
    table_snapshot_free(v5);

    /* a metadata change by the winner conflicts with everything */
    lh_snapshot *v7 = table_snapshot(t, 7, &err);
    const char *meta = "{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
                       "\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[]}\","
                       "\"partitionColumns\":[],\"configuration\":{}}}\n";
    assert_int_equal(storage_put_if_absent(st, "tables/c/_delta_log/00000000000000000008.json", meta, strlen(meta), &err), 0);
    blind.read = v7;
    memset(&err, 0, sizeof err);
    assert_int_equal(table_commit_retry(t, &blind, &v, &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    assert_non_null(strstr(err.msg, "metadata"));
    table_snapshot_free(v7);

    /* the custom checker decides */
    lh_snapshot *v8 = table_snapshot(t, 8, &err);
    assert_non_null(v8);
    fx.refuse = 1;
    fx.checks = 0;
    blind.check = counting_check;
    blind.read = NULL; /* latest: no race, no check */
    assert_int_equal(table_commit_retry(t, &blind, &v, &err), 0);
    assert_int_equal(v, 9);
    assert_int_equal(fx.checks, 0);
    blind.read = v8; /* stale by one blind append: the refusing checker stops it */
    memset(&err, 0, sizeof err);
    assert_int_equal(table_commit_retry(t, &blind, &v, &err), -1);
    assert_int_equal(fx.checks, 1);
    assert_non_null(strstr(err.msg, "refused version 9"));

    /* bounded attempts: no conflict, but out of tries */
    fx.refuse = 0;
    blind.max_attempts = 1;
    memset(&err, 0, sizeof err);
    assert_int_equal(table_commit_retry(t, &blind, &v, &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    assert_non_null(strstr(err.msg, "after 1 attempts"));
    blind.max_attempts = 0;
    assert_int_equal(table_commit_retry(t, &blind, &v, &err), 0);
    assert_int_equal(v, 10);
    table_snapshot_free(v8);

    /* what a winner did, read back */
    lh_commit_winner w;
    assert_int_equal(table_commit_read(t, 5, &w, &err), 0);
    assert_int_equal(w.nremoved, 4);
    assert_int_equal(w.nadded, 1);
    assert_false(w.blind_append);
    assert_string_equal(w.operation, "WRITE");
    table_commit_winner_clear(&w);
    assert_int_equal(table_commit_read(t, 7, &w, &err), 0);
    assert_true(w.blind_append);
    table_commit_winner_clear(&w);
    assert_int_equal(table_commit_read(t, 99, &w, &err), -1);
    table_free(t);
    drop_bucket(st);
}

/* A file staged before a purging compaction and committed after it survives. */
static void test_purge_spares_staged_files(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    lh_err err = {0};
    lh_table *a = table_open(st, "tables/p", &err), *b = table_open(st, "tables/p", &err);
    for (int i = 0; i < 3; i++) assert_int_equal(table_write(a, conn, "SELECT 1 AS k", 0, NULL, NULL, &err), 0);
    lh_table_staged *f = table_stage(a, conn, "SELECT 2 AS k", &err);
    assert_non_null(f);
    sleep(1); /* the old purge deleted unreferenced files older than the compaction's start */
    lh_compact_result r;
    assert_int_equal(table_compact(b, conn, NULL, 1, &r, &err), 0);
    assert_true(r.committed);
    int64_t v = -1, rows = -1;
    assert_int_equal(table_commit_staged(b, f, conn, 0, &v, &rows, &err), 0);
    assert_int_equal(rows, 1);
    table_staged_free(f);
    assert_int_equal(table_agg(a, "count(*)"), 4); /* readable: the staged file is there */
    lh_snapshot *s = table_snapshot(a, -1, &err);
    assert_int_equal(s->nfiles, 2);
    table_snapshot_free(s);
    /* the three compacted files are gone from the folder */
    lh_object_info *objs = NULL;
    size_t n = 0, parquet = 0;
    assert_int_equal(storage_list(st, "tables/p/part-", &objs, &n, &err), 0);
    parquet = n;
    storage_list_free(objs, n);
    assert_int_equal(parquet, 2);
    /* a staged file that is freed uncommitted is removed */
    f = table_stage(a, conn, "SELECT 3 AS k", &err);
    table_staged_free(f);
    assert_int_equal(storage_list(st, "tables/p/part-", &objs, &n, &err), 0);
    storage_list_free(objs, n);
    assert_int_equal(n, 2);
    table_free(a);
    table_free(b);
    drop_bucket(st);
}

static int setup(void **state) {
    (void)state;
    duckdb_open(NULL, &db);
    duckdb_connect(db, &conn);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    duckdb_disconnect(&conn);
    duckdb_close(&db);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_tables),     cmocka_unit_test(test_golden_details),
        cmocka_unit_test(test_write_roundtrip),   cmocka_unit_test(test_checkpoints),
        cmocka_unit_test(test_concurrent_writers), cmocka_unit_test(test_broken_logs),
        cmocka_unit_test(test_type_mapping),      cmocka_unit_test(test_appends_race_compaction),
        cmocka_unit_test(test_conflict_rules),    cmocka_unit_test(test_purge_spares_staged_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
