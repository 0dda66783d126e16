/*
 * test_remote_bucket.c — the modules that keep their state in the primary
 * bucket work the same on a remote (S3) bucket as on a local folder
 * (ADR 0235): with LH_TEST_S3_ENDPOINT (+ LH_TEST_S3_BUCKET) set, as
 * tests/integration/s3_callers.sh does with s3rver, every case runs on an
 * S3 bucket with a fresh cache folder; without it, on a local bucket.
 *
 * Tables: appends, an overwrite, a DELETE and a checkpoint leave the Delta
 * log and Parquet files as objects laid out as on disk (no temp object), a
 * fresh reader replays them from the bucket alone, and a snapshot's SELECT
 * reads again once the cache lost its copies (table_fetch_read_files).
 * Logs (seglog, ADR 0236): concurrent appends are all acknowledged and read
 * back in order, a reopened log continues it; on S3 each group commit is
 * an object <log>/<n>.jsonl and no .jsonl file exists. Catalog: a dataset
 * registered from objects, appended to and tombstoned is whole again after
 * the catalog reopens from the bucket (manifest, rows, tombstone filter),
 * and catalog_fetch_for_sql puts evicted files back for a statement naming
 * it. Pruning before the fetch (ADR 0245): over a query engine wired as
 * main.c does, a selective range query on a dataset of 20 files with an
 * empty cache downloads only the files its Delta stats leave, answers as
 * the unpruned query does, and the unpruned query then fetches the rest.
 * Journal: an acknowledged event is in the write-ahead log in the bucket;
 * flushed and shut-down events survive a reopen with an empty cache, and the
 * journal_events view reads them (its copies pinned until close). Audit:
 * records chain across reopenings and access_audit_verify accepts the log,
 * and finds a changed record. Tools audit: a refused call's record is in
 * the bucket and reloads.
 * Vector indexes: a build leaves its Parquet generation, HNSW graph and
 * keyword index as objects; an IVF-PQ file is published too; a service
 * reopened over an empty cache loads them from the bucket and answers the
 * same searches (HNSW, keyword, IVF-PQ).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <pthread.h>

#include "access/access.h"
#include "catalog/catalog.h"
#include "common/util.h"
#include "journal/journal.h"
#include "query/query.h"
#include "seglog/seglog.h"
#include "storage/storage.h"
#include "table/table.h"
#include "tools/tools.h"
#include "vector_fixture.h"

static duckdb_database db;
static duckdb_connection conn;
static char cache_dir[64];

/* The bucket under test: S3 (fresh cache folder) or a local temp folder. */
static lh_storage *bucket_open(void) {
    lh_err err = {0};
    const char *ep = getenv("LH_TEST_S3_ENDPOINT"), *b = getenv("LH_TEST_S3_BUCKET");
    snprintf(cache_dir, sizeof cache_dir, "/tmp/lh-remote-XXXXXX");
    assert_non_null(mkdtemp(cache_dir));
    lh_storage *st = ep ? storage_open_s3("primary", ep, b ? b : "lake", "us-east-1", "S3RVER", "S3RVER", &err)
                        : storage_open_local("primary", cache_dir, &err);
    assert_non_null(st);
    if (ep) {
        char *dir = lh_asprintf("%s/cache", cache_dir);
        assert_int_equal(storage_set_cache(st, dir, 0, &err), 0);
        free(dir);
    }
    return st;
}

/* Drops the cache's copies (remote), as an eviction of everything would. */
static void cache_wipe(void) {
    char *cmd = lh_asprintf("rm -rf '%s/cache/objects'", cache_dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void bucket_close(lh_storage *st) {
    storage_free(st);
    char *cmd = lh_asprintf("rm -rf '%s'", cache_dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

/* A fresh key prefix, so runs against one S3 bucket never meet. */
static char *fresh_prefix(const char *what) {
    char rnd[13];
    lh_random_hex(rnd, 6);
    return lh_asprintf("t%s/%s", rnd, what);
}

static int64_t count_rows(const char *select) {
    char *sql = lh_asprintf("SELECT count(*) FROM (%s)", select);
    duckdb_result r;
    if (duckdb_query(conn, sql, &r) != DuckDBSuccess) fail_msg("%s: %s", sql, duckdb_result_error(&r));
    int64_t n = duckdb_value_int64(&r, 0, 0);
    duckdb_destroy_result(&r);
    free(sql);
    return n;
}

/* Rows of table prefix's latest snapshot, read by a fresh handle. */
static int64_t table_rows(lh_storage *st, const char *prefix, int64_t *version) {
    lh_err err = {0};
    lh_table *t = table_open(st, prefix, &err);
    assert_non_null(t);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    if (!s) fail_msg("snapshot of %s: %s", prefix, err.msg);
    char *sql = table_snapshot_select_sql(t, s);
    int64_t n = count_rows(sql);
    if (version) *version = s->version;
    free(sql);
    table_snapshot_free(s);
    table_free(t);
    return n;
}

/* Objects under prefix whose name ends with suffix; fails on a temp object. */
static size_t objects_ending(lh_storage *st, const char *prefix, const char *suffix) {
    lh_object_info *objs = NULL;
    size_t n = 0, hits = 0;
    lh_err err = {0};
    assert_int_equal(storage_list(st, prefix, &objs, &n, &err), 0);
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(objs[i].key, '/');
        base = base ? base + 1 : objs[i].key;
        if (base[0] == '.' || strstr(base, ".tmp")) fail_msg("temp object left: %s", objs[i].key);
        size_t kl = strlen(objs[i].key), sl = strlen(suffix);
        if (kl >= sl && !strcmp(objs[i].key + kl - sl, suffix)) hits++;
    }
    storage_list_free(objs, n);
    return hits;
}

static void test_table_writes_and_reads(void **state) {
    (void)state;
    lh_storage *st = bucket_open();
    char *prefix = fresh_prefix("sales");
    lh_err err = {0};
    lh_table *t = table_open(st, prefix, &err);
    assert_non_null(t);
    int64_t v = -1, rows = 0;
    assert_int_equal(table_write(t, conn, "SELECT range AS id, 'a' || range AS name FROM range(100)", 0, &v, &rows, &err), 0);
    assert_int_equal(v, 0);
    assert_int_equal(rows, 100);
    assert_int_equal(table_write(t, conn, "SELECT range + 100 AS id, 'b' AS name FROM range(50)", 0, &v, &rows, &err), 0);
    assert_int_equal(v, 1);
    lh_table_rewrite rw = {.operation = "DELETE", .predicate = "id < 10"};
    lh_rewrite_result rr = {0};
    if (table_rewrite(t, conn, &rw, &rr, &err) != 0) fail_msg("delete: %s", err.msg);
    assert_int_equal(rr.rows_affected, 10);
    assert_int_equal(table_checkpoint(t, conn, rr.version, &err), 0);
    table_free(t);

    /* the bucket holds the table as on disk: JSON commits, a checkpoint, Parquet */
    char *log = lh_asprintf("%s/_delta_log/", prefix);
    assert_int_equal(objects_ending(st, log, ".json"), 3);
    assert_int_equal(objects_ending(st, log, ".checkpoint.parquet"), 1);
    assert_int_equal(objects_ending(st, log, "_last_checkpoint"), 1);
    assert_int_equal(objects_ending(st, prefix, ".snappy.parquet"), 3);
    free(log);

    /* a reader with nothing cached replays the log from the bucket */
    cache_wipe();
    int64_t version = -1;
    assert_int_equal(table_rows(st, prefix, &version), 140);
    assert_int_equal(version, 2);

    /* an overwrite replaces the rows */
    t = table_open(st, prefix, &err);
    assert_int_equal(table_write(t, conn, "SELECT 1 AS id, 'z' AS name", 1, &v, &rows, &err), 0);
    table_free(t);
    assert_int_equal(table_rows(st, prefix, NULL), 1);
    free(prefix);
    bucket_close(st);
}

static void test_table_refetch_after_eviction(void **state) {
    (void)state;
    lh_storage *st = bucket_open();
    char *prefix = fresh_prefix("events");
    lh_err err = {0};
    lh_table *t = table_open(st, prefix, &err);
    int64_t v, rows;
    assert_int_equal(table_write(t, conn, "SELECT range AS id FROM range(10)", 0, &v, &rows, &err), 0);
    assert_int_equal(table_write(t, conn, "SELECT range AS id FROM range(5)", 0, &v, &rows, &err), 0);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    assert_non_null(s);
    char *sql = table_snapshot_select_sql(t, s); /* as the catalog publishes it */
    table_note_read_keys(t, s);
    table_snapshot_free(s);
    cache_wipe();
    if (getenv("LH_TEST_S3_ENDPOINT")) { /* the view's files are gone from the cache ... */
        char *q = lh_asprintf("SELECT count(*) FROM (%s)", sql);
        duckdb_result r;
        assert_int_not_equal(duckdb_query(conn, q, &r), DuckDBSuccess);
        duckdb_destroy_result(&r);
        free(q);
    }
    json_t *pinned = json_array();
    assert_int_equal(table_fetch_read_files(t, pinned, &err), 0); /* ... and back, pinned */
    assert_int_equal(json_array_size(pinned), getenv("LH_TEST_S3_ENDPOINT") ? 2 : 0);
    if (getenv("LH_TEST_S3_ENDPOINT")) {
        lh_storage_cache_stats cs;
        storage_cache_stats(st, &cs);
        assert_int_equal(cs.pinned, 2);
    }
    size_t i;
    json_t *k;
    json_array_foreach(pinned, i, k) storage_unpin(st, json_string_value(k));
    json_decref(pinned);
    assert_int_equal(count_rows(sql), 15);
    free(sql);
    table_free(t);
    free(prefix);
    bucket_close(st);
}

/* ---- logs ------------------------------------------------------------------ */

typedef struct {
    lh_seglog *log;
    int id;
} appender_arg;

static void *append_many(void *arg) {
    appender_arg *a = arg;
    for (int i = 0; i < 20; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "{\"w\":%d,\"i\":%d}\n", a->id, i);
        lh_err err = {0};
        if (seglog_append(a->log, line, (size_t)n, &err) != 0) fail_msg("append: %s", err.msg);
    }
    return NULL;
}

static size_t count_lines(const char *text) {
    size_t n = 0;
    for (const char *p = text; (p = strchr(p, '\n')); p++) n++;
    return n;
}

static void test_seglog_group_commits(void **state) {
    (void)state;
    lh_storage *st = bucket_open();
    char *dir = fresh_prefix("log"), *key = lh_asprintf("%s.jsonl", dir);
    lh_err err = {0};
    lh_seglog *l = seglog_open(st, key, &err);
    assert_non_null(l);
    pthread_t th[4];
    appender_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (appender_arg){l, i};
        pthread_create(&th[i], NULL, append_many, &args[i]);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    seglog_close(l);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(seglog_read(st, key, &text, &len, &err), 0);
    assert_int_equal(count_lines(text), 80);
    for (int w = 0; w < 4; w++) { /* each writer's records in its order */
        const char *prev = text;
        for (int i = 0; i < 20; i++) {
            char rec[64];
            snprintf(rec, sizeof rec, "{\"w\":%d,\"i\":%d}", w, i);
            const char *at = strstr(text, rec);
            assert_non_null(at);
            assert_true(at >= prev);
            prev = at;
        }
    }
    free(text);
    l = seglog_open(st, key, &err); /* a reopened log goes on after the last record */
    assert_int_equal(seglog_append(l, "{\"after\":1}\n", 12, &err), 0);
    seglog_close(l);
    assert_int_equal(seglog_read(st, key, &text, &len, &err), 0);
    assert_int_equal(count_lines(text), 81);
    assert_non_null(strstr(text + len - 12, "{\"after\":1}"));
    free(text);
    char *seg_prefix = lh_asprintf("%s/", dir);
    size_t segs = objects_ending(st, seg_prefix, ".jsonl");
    if (getenv("LH_TEST_S3_ENDPOINT")) {
        assert_false(storage_exists(st, key));
        assert_true(segs >= 2 && segs <= 81); /* grouped: at most one per record, one per reopen */
        lh_object_info *objs = NULL;
        size_t n = 0;
        assert_int_equal(storage_list(st, seg_prefix, &objs, &n, &err), 0);
        char *log = seglog_log_key(st, objs[0].key);
        assert_string_equal(log, key);
        free(log);
        storage_list_free(objs, n);
    } else {
        assert_int_equal(segs, 0);
        assert_true(storage_exists(st, key));
    }
    assert_int_equal(seglog_remove(st, key, &err), 0);
    assert_int_equal(seglog_read(st, key, &text, &len, &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    free(seg_prefix);
    free(key);
    free(dir);
    bucket_close(st);
}

/* ---- catalog ----------------------------------------------------------------- */

static json_t *jparse(const char *text) {
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    return j;
}

/* Rows of dataset name as catalog_select_sql reads them. */
static int64_t dataset_rows(lh_catalog *c, const char *name) {
    lh_err err = {0};
    char *sql = catalog_select_sql(c, name, NULL, &err);
    if (!sql) fail_msg("select of %s: %s", name, err.msg);
    int64_t n = count_rows(sql);
    free(sql);
    return n;
}

typedef struct {
    char *name, *select;
} seen_view;

/* The views listener: keeps dataset `want`'s published SELECT. */
static void keep_view(void *ctx, uint64_t version, const char *const *names, const char *const *selects, size_t n) {
    (void)version;
    seen_view *v = ctx;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], v->name)) {
            free(v->select);
            v->select = lh_strdup(selects[i]);
        }
}

static void test_catalog_survives_reopen(void **state) {
    (void)state;
    lh_storage *st = bucket_open();
    lh_err err = {0};
    char rnd[9];
    lh_random_hex(rnd, 4);
    char *name = lh_asprintf("people_%s", rnd), *obj = lh_asprintf("in/%s.csv", rnd);
    const char *csv = "id,name\n1,ann\n2,bob\n3,cid\n";
    assert_int_equal(storage_put(st, obj, csv, strlen(csv), NULL, &err), 0);
    lh_catalog *c = catalog_open(st, NULL, &err);
    if (!c) fail_msg("catalog_open: %s", err.msg);
    char *req_text = lh_asprintf("{\"name\":\"%s\",\"objects\":[\"%s\"]}", name, obj);
    json_t *req = jparse(req_text), *m = catalog_register(c, req, &err);
    if (!m) fail_msg("register: %s", err.msg);
    json_decref(m);
    json_decref(req);
    free(req_text);
    m = catalog_write(c, name, "SELECT 4::BIGINT AS id, 'dan' AS name", LH_WRITE_APPEND, NULL, &err);
    if (!m) fail_msg("append: %s", err.msg);
    json_decref(m);
    req = jparse("{\"row_key_column\":\"id\",\"row_key_values\":[\"2\"],\"reason\":\"test\"}");
    m = catalog_tombstone_add(c, name, req, "tester", &err);
    if (!m) fail_msg("tombstone: %s", err.msg);
    json_decref(m);
    json_decref(req);
    assert_int_equal(dataset_rows(c, name), 3); /* tombstoned row filtered */
    catalog_free(c);

    /* everything comes back from the bucket, nothing from the cache */
    cache_wipe();
    c = catalog_open(st, NULL, &err);
    if (!c) fail_msg("reopen: %s", err.msg);
    m = catalog_get(c, name, &err);
    assert_non_null(m);
    assert_int_equal(json_integer_value(json_object_get(m, "row_count")), 4);
    assert_int_equal(json_integer_value(json_object_get(m, "version")), 1);
    json_decref(m);
    m = catalog_tombstone_list(c, name, &err);
    if (!m) fail_msg("tombstone list: %s", err.msg);
    char *dump = json_dumps(m, JSON_COMPACT);
    assert_non_null(strstr(dump, "\"2\""));
    free(dump);
    json_decref(m);
    seen_view v = {name, NULL};
    catalog_set_views_listener(c, keep_view, &v);
    char *sql = lh_asprintf("SELECT * FROM %s", name);
    void *hold = NULL;
    assert_int_equal(catalog_fetch_for_sql(c, sql, NULL, &hold, &err), 0);
    assert_int_equal(hold != NULL, storage_is_remote(st)); /* remote: its files pinned */
    catalog_release_files(c, hold);
    char *other = lh_asprintf("SELECT 1 AS %sx", name); /* names no dataset: nothing held */
    assert_int_equal(catalog_fetch_for_sql(c, other, NULL, &hold, &err), 0);
    assert_null(hold);
    free(other);
    assert_int_equal(dataset_rows(c, name), 3);
    m = catalog_write(c, name, "SELECT 5::BIGINT AS id, 'eve' AS name", LH_WRITE_APPEND, NULL, &err);
    assert_non_null(m);
    json_decref(m);
    assert_non_null(v.select);
    cache_wipe(); /* the view's files evicted: the hook brings them back */
    assert_int_equal(catalog_fetch_for_sql(c, sql, NULL, &hold, &err), 0);
    catalog_release_files(c, hold);
    assert_int_equal(dataset_rows(c, name), 4);
    free(sql);
    free(v.select);
    catalog_free(c);
    free(name);
    free(obj);
    bucket_close(st);
}

/* ---- pruning before the fetch (ADR 0245) ------------------------------------ */

static void engine_views(void *ctx, uint64_t version, const char *const *names, const char *const *selects,
                         size_t n) {
    lh_err err = {0};
    if (query_engine_set_views(ctx, version, names, selects, n, &err) != 0) fail_msg("views: %s", err.msg);
}

static int engine_prune(void *ctx, const char *dataset, const lh_prune_term *terms, size_t n, lh_prune_plan *out) {
    return catalog_prune_sql(ctx, dataset, terms, n, out);
}

static int64_t cache_misses(lh_storage *st) {
    lh_storage_cache_stats cs;
    storage_cache_stats(st, &cs);
    return cs.misses;
}

/* Data files of dataset name in the cache folder (remote; 0 on a local bucket). */
static size_t cached_data_files(const char *name) {
    char *dir = lh_asprintf("%s/cache/objects/tables/%s", cache_dir, name);
    DIR *d = opendir(dir);
    size_t n = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        size_t l = strlen(de->d_name);
        n += l > 8 && !strcmp(de->d_name + l - 8, ".parquet");
    }
    if (d) closedir(d);
    free(dir);
    return n;
}

/* A query engine wired to catalog c as main.c wires it (caller frees). */
static lh_query_engine *engine_over(lh_catalog *c) {
    lh_err err = {0};
    lh_query_config qc = {.pool_size = 2};
    lh_query_engine *e = query_engine_new(&qc, &err);
    if (!e) fail_msg("engine: %s", err.msg);
    query_engine_set_prepare(e, catalog_fetch_for_sql, catalog_release_files, c);
    query_engine_set_pruner(e, engine_prune, c);
    catalog_set_views_listener(c, engine_views, e);
    return e;
}

/* The one row of sql as compact JSON (caller frees). */
static char *engine_row(lh_query_engine *e, const char *sql) {
    lh_err err = {0};
    json_t *r = query_run_json(e, sql, NULL, 0, 0, 0, &err);
    if (!r) fail_msg("%s: %s", sql, err.msg);
    char *row = json_dumps(json_array_get(json_object_get(r, "rows"), 0), JSON_COMPACT);
    json_decref(r);
    return row;
}

static void test_prune_before_fetch(void **state) {
    (void)state;
    lh_storage *st = bucket_open();
    lh_err err = {0};
    char rnd[9];
    lh_random_hex(rnd, 4);
    char *name = lh_asprintf("ranges_%s", rnd);
    lh_catalog *c = catalog_open(st, NULL, &err);
    if (!c) fail_msg("catalog_open: %s", err.msg);
    for (int f = 0; f < 20; f++) { /* 20 files, file f holding ids f*100 .. f*100+99 */
        char *sel = lh_asprintf("SELECT i::BIGINT AS id, 'r' || i AS label FROM range(%d, %d) t(i)", f * 100,
                                f * 100 + 100);
        json_t *m = catalog_write(c, name, sel, f ? LH_WRITE_APPEND : LH_WRITE_CREATE, NULL, &err);
        if (!m) fail_msg("write %d: %s", f, err.msg);
        json_decref(m);
        free(sel);
    }
    catalog_free(c);
    cache_wipe(); /* a new process over a cold cache: nothing of the dataset is local */
    int remote = storage_is_remote(st);
    c = catalog_open(st, NULL, &err);
    if (!c) fail_msg("reopen: %s", err.msg);
    lh_query_engine *e = engine_over(c);
    /* loading the catalog and publishing the view downloaded one file: the one the view binds on */
    print_message("loading and publishing: %zu of 20 data files downloaded\n", cached_data_files(name));
    if (remote) assert_int_equal(cached_data_files(name), 1);
    cache_wipe();

    char *pruned = lh_asprintf("SELECT count(*), sum(id) FROM %s WHERE id BETWEEN 250 AND 449", name);
    int64_t m0 = cache_misses(st);
    char *got = engine_row(e, pruned);
    int64_t m1 = cache_misses(st);
    print_message("pruned query: %lld of 20 files downloaded\n", (long long)(m1 - m0));
    if (remote) assert_int_equal(m1 - m0, 3); /* the files of 200-299, 300-399, 400-499 */
    if (remote) assert_int_equal(cached_data_files(name), 3);
    assert_string_equal(got, "[200,69900]");

    /* the same WHERE over a subquery is not pruned: it reads, and fetches, every file */
    char *whole = lh_asprintf("SELECT count(*), sum(id) FROM (SELECT * FROM %s) WHERE id BETWEEN 250 AND 449", name);
    char *want = engine_row(e, whole);
    int64_t m2 = cache_misses(st);
    print_message("unpruned query after it: %lld more files downloaded\n", (long long)(m2 - m1));
    if (remote) assert_int_equal(m2 - m1, 17);
    if (remote) assert_int_equal(cached_data_files(name), 20);
    assert_string_equal(got, want);
    char *all = lh_asprintf("SELECT count(*) FROM %s", name), *n = engine_row(e, all);
    assert_string_equal(n, "[2000]");
    if (remote) assert_int_equal(cache_misses(st), m2); /* every file is cached now */
    lh_storage_cache_stats cs;
    storage_cache_stats(st, &cs);
    assert_int_equal(cs.pinned, 0); /* each statement unpinned what it pinned */

    free(n);
    free(all);
    free(want);
    free(whole);
    free(got);
    free(pruned);
    catalog_set_views_listener(c, NULL, NULL);
    query_engine_free(e);
    catalog_free(c);
    free(name);
    bucket_close(st);
}

/* ---- journal and audit ------------------------------------------------------- */

static int64_t journal_count(lh_journal *j) {
    lh_journal_filter f = {.limit = 1000};
    lh_err err = {0};
    json_t *r = journal_query(j, &f, &err);
    if (!r) fail_msg("journal query: %s", err.msg);
    int64_t n = json_integer_value(json_object_get(r, "count"));
    json_decref(r);
    return n;
}

static void test_journal_survives_reopen(void **state) {
    (void)state;
    lh_storage *st = bucket_open();
    lh_err err = {0};
    lh_journal_options o = {.flush_threshold = 1000, .flush_interval_ms = -1};
    lh_journal *j = journal_open(st, &o, &err);
    if (!j) fail_msg("journal_open: %s", err.msg);
    int64_t before = journal_count(j); /* an S3 bucket shared by earlier runs of this case */
    for (int i = 0; i < 5; i++) {
        char text[96];
        snprintf(text, sizeof text, "{\"entity\":\"c\",\"entity_id\":\"%d\",\"new_value\":\"x\"}", i);
        json_t *ev = jparse(text), *r = journal_append(j, ev, "tester", &err);
        if (!r) fail_msg("append: %s", err.msg);
        json_decref(r);
        json_decref(ev);
        if (i == 2) {
            r = journal_flush(j, &err); /* three in a Parquet file, two only in the WAL */
            assert_non_null(r);
            json_decref(r);
        }
    }
    /* the two events not flushed yet are in the write-ahead log, which is
     * in the bucket before journal_append answered */
    lh_object_info *objs = NULL;
    size_t n = 0;
    assert_int_equal(storage_list(st, "_journal/wal-", &objs, &n, &err), 0);
    assert_true(n >= 1);
    char *wal = seglog_log_key(st, objs[n - 1].key), *text = NULL;
    size_t len = 0;
    assert_non_null(wal);
    assert_int_equal(seglog_read(st, wal, &text, &len, &err), 0);
    assert_int_equal(count_lines(text), 2);
    free(text);
    free(wal);
    storage_list_free(objs, n);
    journal_free(j);
    cache_wipe();
    j = journal_open(st, &o, &err);
    assert_non_null(j);
    assert_int_equal(journal_count(j), before + 5);
    /* the journal_events view over the files' copies, pinned while it names them */
    lh_query_config qc = {.threads = 1, .pool_size = 1, .allowed_root = storage_local_dir(st)};
    lh_query_engine *q = query_engine_new(&qc, &err);
    assert_non_null(q);
    assert_int_equal(journal_sql_register(j, q, &err), 0);
    json_t *r = query_run_json(q, "SELECT count(*) FROM journal_events", NULL, 0, 10, 5000, &err);
    if (!r) fail_msg("journal_events: %s", err.msg);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(json_object_get(r, "rows"), 0), 0)), before + 5);
    json_decref(r);
    if (getenv("LH_TEST_S3_ENDPOINT")) {
        lh_storage_cache_stats cs;
        storage_cache_stats(st, &cs);
        assert_true(cs.pinned >= 1);
        journal_free(j);
        storage_cache_stats(st, &cs);
        assert_int_equal(cs.pinned, 0); /* unpinned with the journal */
    } else {
        journal_free(j);
    }
    query_engine_free(q);
    bucket_close(st);
}

static void test_audit_chain(void **state) {
    (void)state;
    lh_storage *st = bucket_open();
    lh_err err = {0};
    for (int round = 0; round < 2; round++) {
        lh_access *a = access_open(st, NULL, NULL, &err);
        if (!a) fail_msg("access_open: %s", err.msg);
        for (int i = 0; i < 5; i++) {
            lh_access_audit_rec r = {.caller = "unit", .role = "read", .kind = "sql", .sql = "SELECT 1",
                                     .rows = i, .elapsed_ms = 1, .outcome = "ok"};
            access_audit(a, &r);
        }
        access_free(a);
    }
    json_t *v = access_audit_verify(st, &err);
    assert_non_null(v);
    char *dump = json_dumps(v, JSON_COMPACT);
    if (!json_is_true(json_object_get(v, "ok"))) fail_msg("audit verify: %s", dump);
    assert_true(json_integer_value(json_object_get(v, "records")) >= 10);
    free(dump);
    json_decref(v);
    if (getenv("LH_TEST_S3_ENDPOINT")) { /* a segment changed in the bucket is found */
        lh_object_info *objs = NULL;
        size_t n = 0;
        assert_int_equal(storage_list(st, "_access/audit/", &objs, &n, &err), 0);
        assert_true(n >= 2);
        char *text = NULL;
        size_t len = 0;
        assert_int_equal(storage_get(st, objs[0].key, &text, &len, &err), 0);
        char *at = strstr(text, "\"rows\":0");
        assert_non_null(at);
        at[7] = '7'; /* "rows":0 -> "rows":7 */
        assert_int_equal(storage_put(st, objs[0].key, text, len, NULL, &err), 0);
        v = access_audit_verify(st, &err);
        assert_false(json_is_true(json_object_get(v, "ok")));
        json_decref(v);
        at[7] = '0'; /* put it back: later runs on this bucket chain on */
        assert_int_equal(storage_put(st, objs[0].key, text, len, NULL, &err), 0);
        free(text);
        storage_list_free(objs, n);
    }
    bucket_close(st);
}

static void test_tools_audit(void **state) {
    (void)state;
    lh_storage *st = bucket_open();
    lh_err err = {0};
    lh_query_config qc = {.threads = 1, .pool_size = 1, .allowed_root = storage_local_dir(st)};
    lh_query_engine *q = query_engine_new(&qc, &err);
    lh_catalog *c = catalog_open(st, NULL, &err);
    assert_non_null(q);
    assert_non_null(c);
    lh_tools *t = tools_new(q, c, st, &err);
    if (!t) fail_msg("tools_new: %s", err.msg);
    char caller[24];
    char rnd[9];
    lh_random_hex(rnd, 4);
    snprintf(caller, sizeof caller, "unit-%s", rnd);
    lh_principal who;
    access_principal_admin(&who, caller);
    json_t *bad = json_pack("{s:s}", "candidate_id", "not a number");
    assert_null(tools_call(t, "get_candidate", bad, &who, NULL, &err)); /* refused, and audited */
    json_decref(bad);
    tools_free(t);
    t = tools_new(q, c, st, &err); /* a restart reloads the log from the bucket */
    assert_non_null(t);
    json_t *a = tools_audit(t, 1000);
    char *dump = json_dumps(a, JSON_COMPACT);
    if (!strstr(dump, caller)) fail_msg("the record of %s did not reload: %s", caller, dump);
    free(dump);
    json_decref(a);
    if (getenv("LH_TEST_S3_ENDPOINT")) {
        assert_true(objects_ending(st, "_tools/audit/", ".jsonl") >= 1);
        assert_false(storage_exists(st, "_tools/audit.jsonl"));
    }
    tools_free(t);
    catalog_free(c);
    query_engine_free(q);
    bucket_close(st);
}

/* ---- vector indexes ------------------------------------------------------------ */

static void vector_open(vfix *f, lh_storage *st) {
    lh_err err = {0};
    f->st = st;
    f->cat = catalog_open(st, NULL, &err);
    f->jobs = jobs_new(2, st, &err);
    if (!f->cat || !f->jobs) fail_msg("catalog/jobs: %s", err.msg);
    f->ai.dims = 64;
    f->ai.fail_times = -1;
    f->cfg = (lh_vindex_config){
        .storage = st, .catalog = f->cat, .jobs = f->jobs, .provider = fake_provider(&f->ai, 0),
        .batch_size = 8, .checkpoint_every = 2, .max_retries = 1, .retry_backoff_ms = 5,
        .chunk_size = 200, .overlap = 20, .hnsw_min_vectors = 1, .threads = 2,
    };
    f->no_start = 1;
    if (!vfix_open(f)) fail_msg("vindex_open failed");
}

static void vector_close(vfix *f) {
    vindex_free(f->vx);
    jobs_free(f->jobs);
    catalog_free(f->cat);
    memset(f, 0, sizeof *f);
}

/* The top doc_id of a search for uniq<i>, as mode finds it. */
static char *vector_top(vfix *f, const char *index, int i, lh_vsearch_mode mode) {
    char q[64];
    snprintf(q, sizeof q, "Candidate %d code word uniq%d", i, i);
    lh_vresults r;
    lh_err err = {0};
    if (vindex_search(f->vx, index, q, 3, mode, &r, &err) != 0) fail_msg("search: %s", err.msg);
    assert_true(r.n > 0);
    char *top = lh_strdup(r.hits[0].doc_id);
    vindex_results_free(&r);
    return top;
}

static char *disk_top(vfix *f, const char *index, int i) {
    char q[64];
    snprintf(q, sizeof q, "Candidate %d code word uniq%d", i, i);
    lh_vdisk_query dq = {.k = 3, .rerank = -1};
    lh_err err = {0};
    json_t *r = vdisk_search(f->vx, index, q, NULL, 0, &dq, &err);
    if (!r) fail_msg("disk search: %s", err.msg);
    char *top = lh_strdup(json_string_value(json_object_get(json_array_get(json_object_get(r, "results"), 0), "doc_id")));
    json_decref(r);
    return top;
}

static void test_vector_index_files(void **state) {
    (void)state;
    lh_storage *st = bucket_open();
    vfix f = {0};
    vector_open(&f, st);
    char rnd[9];
    lh_random_hex(rnd, 4);
    char *ds = lh_asprintf("docs_%s", rnd), *index = lh_asprintf("ix_%s", rnd);
    assert_int_equal(vfix_write(&f, ds, "VARCHAR", 0, 40, doc_text, LH_WRITE_CREATE), 0);
    lh_err err = {0};
    lh_vbuild_req req = {.dataset = ds, .id_column = "id", .text_column = "body", .index_name = index};
    json_t *m = vindex_build_sync(f.vx, &req, &err);
    if (!m) fail_msg("build: %s", err.msg);
    json_decref(m);
    /* what exact search finds, HNSW (graph file), keyword (BM25 file) and
     * IVF-PQ (its file) must find again from the bucket alone */
    char *want = vector_top(&f, index, 7, LH_VSEARCH_BRUTE), *top = vector_top(&f, index, 7, LH_VSEARCH_HNSW);
    assert_string_equal(top, want);
    free(top);
    top = vector_top(&f, index, 9, LH_VSEARCH_KEYWORD);
    assert_string_equal(top, "9"); /* its unique word */
    free(top);
    lh_ivfpq_params p = {0};
    m = vdisk_migrate(f.vx, index, &p, &err);
    if (!m) fail_msg("IVF-PQ migrate: %s", err.msg);
    json_decref(m);
    char *disk = disk_top(&f, index, 11);
    char *prefix = lh_asprintf("_vectors/%s/", index);
    assert_int_equal(objects_ending(st, prefix, ".parquet") >= 1, 1);
    size_t bins = objects_ending(st, prefix, ".bin"); /* hnsw-*, bm25-*, ivfpq-* */
    assert_true(bins >= 3);
    vector_close(&f);

    cache_wipe(); /* a new process: everything from the bucket */
    vector_open(&f, st);
    assert_int_equal(vindex_wait_loaded(f.vx, index, &err), 0);
    top = vector_top(&f, index, 7, LH_VSEARCH_HNSW);
    assert_string_equal(top, want);
    free(top);
    top = vector_top(&f, index, 9, LH_VSEARCH_KEYWORD);
    assert_string_equal(top, "9");
    free(top);
    top = disk_top(&f, index, 11);
    assert_string_equal(top, disk);
    free(top);
    free(disk);
    free(want);
    assert_int_equal(objects_ending(st, prefix, ".bin"), bins); /* loaded, not rebuilt */
    vector_close(&f);
    free(prefix);
    free(ds);
    free(index);
    bucket_close(st);
}

int main(void) {
    duckdb_open(NULL, &db);
    duckdb_connect(db, &conn);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_writes_and_reads),
        cmocka_unit_test(test_table_refetch_after_eviction),
        cmocka_unit_test(test_seglog_group_commits),
        cmocka_unit_test(test_catalog_survives_reopen),
        cmocka_unit_test(test_prune_before_fetch),
        cmocka_unit_test(test_journal_survives_reopen),
        cmocka_unit_test(test_audit_chain),
        cmocka_unit_test(test_tools_audit),
        cmocka_unit_test(test_vector_index_files),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    duckdb_disconnect(&conn);
    duckdb_close(&db);
    return failed;
}
