/*
 * test_tombstones_views.c — soft deletes, AI-safe views, compaction and the
 * hot cache, through the catalog and a real query engine: tombstoned rows
 * leave the dataset's view (NULL keys stay) but not "__raw__<name>", and
 * stay gone after a reopen; one key column per dataset; views whitelist,
 * redact and filter, refuse statements in filters and survive a reopen;
 * compaction makes one file, drops tombstoned rows physically and clears
 * the tombstones; a pinned dataset answers like an unpinned one, follows
 * new commits, counts hits and is evicted least-recently-used first.
 * Concurrency and durability: concurrent tombstones survive a process
 * that dies right after them; concurrent catalog appends with compactions
 * in between keep every row once and the manifest in step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>

#include "catalog/catalog.h"
#include "common/strbuf.h"
#include "query/query.h"
#include "storage/storage.h"
#include "support/fixture.h"

typedef struct {
    char *dir;
    lh_storage *st;
    lh_catalog *cat;
    lh_query_engine *q;
    lh_query_cache *cache;
} env;

static void publish(void *ctx, uint64_t version, const char *const *names, const char *const *selects, size_t n) {
    query_cache_set_views(ctx, version, names, selects, n, NULL);
}

/* (Re)opens catalog, engine and cache over the env's folder. */
static void env_open(env *e, int64_t cache_bytes) {
    lh_err err = {0};
    lh_query_config qc = {.threads = 1, .pool_size = 2, .allowed_root = storage_root(e->st)};
    e->q = query_engine_new(&qc, &err);
    assert_non_null(e->q);
    e->cache = query_cache_new(e->q, cache_bytes, &err);
    assert_non_null(e->cache);
    lh_catalog_options opt = {.checkpoint_interval = 10, .duckdb_threads = 1};
    e->cat = catalog_open(e->st, &opt, &err);
    assert_non_null(e->cat);
    catalog_set_views_listener(e->cat, publish, e->cache);
}

static void env_close(env *e) {
    catalog_free(e->cat);
    query_engine_free(e->q);
    query_cache_free(e->cache);
    e->cat = NULL;
}

static void write_people(env *e, const char *name, int from, int to, lh_write_mode mode) {
    char *sql = lh_asprintf("SELECT CASE WHEN i = %d THEN NULL ELSE i END::BIGINT AS id, 'n' || i AS name, "
                            "'user' || i || '@example.com' AS email, "
                            "CASE WHEN i %% 3 = 0 THEN 'blocked' ELSE 'ok' END AS status "
                            "FROM range(%d, %d) r(i)",
                            to - 1, from, to);
    lh_err err = {0};
    json_t *m = catalog_write(e->cat, name, sql, mode, NULL, &err);
    if (!m) fail_msg("%s", err.msg);
    json_decref(m);
    free(sql);
}

static int setup(void **state) {
    env *e = lh_calloc(1, sizeof *e);
    e->st = fixture_bucket_open("tombv", &e->dir);
    env_open(e, 256 << 20);
    write_people(e, "people", 0, 11, LH_WRITE_CREATE); /* ids 0..9 and one NULL id */
    *state = e;
    return 0;
}

static int teardown(void **state) {
    env *e = *state;
    if (e->cat) env_close(e);
    fixture_bucket_close(e->st);
    free(e->dir);
    free(e);
    return 0;
}

/* The first value of the first row as an integer; -1 with *err when the query fails. */
static int64_t q_int(env *e, const char *sql, lh_err *err) {
    json_t *doc = query_run_json(e->q, sql, NULL, 0, 10, 10000, err);
    if (!doc) return -1;
    json_t *v = json_array_get(json_array_get(json_object_get(doc, "rows"), 0), 0);
    int64_t out = json_is_integer(v) ? json_integer_value(v) : json_is_string(v) ? atoll(json_string_value(v)) : -2;
    json_decref(doc);
    return out;
}

static int64_t count_of(env *e, const char *sql) {
    lh_err err = {0};
    int64_t n = q_int(e, sql, &err);
    if (n < 0) fail_msg("%s: %s", sql, err.msg);
    return n;
}

/* The first value of the first row as text (caller frees). */
static char *q_text(env *e, const char *sql) {
    lh_err err = {0};
    json_t *doc = query_run_json(e->q, sql, NULL, 0, 10, 10000, &err);
    if (!doc) fail_msg("%s: %s", sql, err.msg);
    json_t *v = json_array_get(json_array_get(json_object_get(doc, "rows"), 0), 0);
    char *s = lh_strdup(json_is_string(v) ? json_string_value(v) : "(null)");
    json_decref(doc);
    return s;
}

static json_t *jparse(const char *text) {
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    return j;
}

static json_t *tombstone(env *e, const char *name, const char *body, lh_err *err) {
    json_t *req = jparse(body);
    json_t *out = catalog_tombstone_add(e->cat, name, req, "tester", err);
    json_decref(req);
    return out;
}

static void expect_tomb_error(env *e, const char *name, const char *body, lh_errcode code) {
    lh_err err = {0};
    json_t *out = tombstone(e, name, body, &err);
    assert_null(out);
    assert_int_equal(err.code, code);
}

static void test_tombstones(void **state) {
    env *e = *state;
    lh_err err = {0};
    assert_int_equal(count_of(e, "SELECT count(*) FROM people"), 11);
    json_t *r = tombstone(e, "people", "{\"row_key_column\":\"id\",\"row_key_values\":[1,\"2\",3],"
                                       "\"reason\":\"gdpr\"}", &err);
    if (!r) fail_msg("%s", err.msg);
    assert_int_equal(json_integer_value(json_object_get(r, "keys")), 3);
    json_decref(r);
    assert_int_equal(count_of(e, "SELECT count(*) FROM people"), 8); /* the NULL id stays */
    assert_int_equal(count_of(e, "SELECT count(*) FROM people WHERE id IS NULL"), 1);
    assert_int_equal(count_of(e, "SELECT count(*) FROM people WHERE id = 2"), 0);
    assert_int_equal(count_of(e, "SELECT count(*) FROM __raw__people"), 11);

    expect_tomb_error(e, "people", "{\"row_key_column\":\"name\",\"row_key_values\":[\"n4\"]}", LH_E_BAD_REQUEST);
    expect_tomb_error(e, "people", "{\"row_key_column\":\"nope\",\"row_key_values\":[1]}", LH_E_BAD_REQUEST);
    expect_tomb_error(e, "people", "{\"row_key_column\":\"id\",\"row_key_values\":[]}", LH_E_BAD_REQUEST);
    expect_tomb_error(e, "people", "{\"row_key_column\":\"id\",\"row_key_values\":[1.5]}", LH_E_BAD_REQUEST);
    expect_tomb_error(e, "ghost", "{\"row_key_column\":\"id\",\"row_key_values\":[1]}", LH_E_NOT_FOUND);

    /* a second request with a repeated key; embeddings read the filtered rows */
    r = tombstone(e, "people", "{\"row_key_column\":\"id\",\"row_key_values\":[3,4],\"actor\":\"ana\"}", &err);
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "keys")), 4);
    json_decref(r);
    char *sel = catalog_select_sql(e->cat, "people", NULL, &err);
    assert_non_null(sel);
    char *cnt = lh_asprintf("SELECT count(*) FROM (%s)", sel);
    assert_int_equal(count_of(e, cnt), 7);
    free(cnt);
    free(sel);

    json_t *list = catalog_tombstone_list(e->cat, "people", &err);
    assert_string_equal(json_string_value(json_object_get(list, "row_key_column")), "id");
    assert_int_equal(json_integer_value(json_object_get(list, "count")), 5);
    json_t *first = json_array_get(json_object_get(list, "tombstones"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "actor")), "tester");
    assert_string_equal(json_string_value(json_object_get(first, "reason")), "gdpr");
    json_decref(list);

    /* reopen: the tombstones are still there and still filter */
    env_close(e);
    env_open(e, 256 << 20);
    assert_int_equal(count_of(e, "SELECT count(*) FROM people"), 7);
    list = catalog_tombstone_list(e->cat, "people", &err);
    assert_int_equal(json_integer_value(json_object_get(list, "keys")), 4);
    json_decref(list);

    /* deleting the dataset takes its tombstones along */
    assert_int_equal(catalog_delete(e->cat, "people", &err), 0);
    write_people(e, "people", 0, 11, LH_WRITE_CREATE);
    assert_int_equal(count_of(e, "SELECT count(*) FROM people"), 11);
}

typedef struct {
    env *e;
    int key;
    int ok;
} tomb_arg;

static void *tomb_thread(void *p) {
    tomb_arg *a = p;
    char *body = lh_asprintf("{\"row_key_column\":\"id\",\"row_key_values\":[%d]}", a->key);
    lh_err err = {0};
    json_t *r = tombstone(a->e, "people", body, &err);
    a->ok = r != NULL;
    json_decref(r);
    free(body);
    return NULL;
}

/* Concurrent tombstones are each on disk when acknowledged: a process that
 * dies right after (no catalog_free) loses none; a torn record is dropped. */
static void test_tombstones_durable(void **state) {
    env *e = *state;
    env_close(e);
    pid_t child = fork();
    if (child == 0) {
        env_open(e, 256 << 20);
        pthread_t th[8];
        tomb_arg args[8];
        for (int i = 0; i < 8; i++) {
            args[i] = (tomb_arg){e, i, 0};
            pthread_create(&th[i], NULL, tomb_thread, &args[i]);
        }
        int ok = 0;
        for (int i = 0; i < 8; i++) {
            pthread_join(th[i], NULL);
            ok += args[i].ok;
        }
        _exit(ok == 8 ? 0 : 1); /* as kill -9: nothing is closed */
    }
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *log = lh_asprintf("%s/_catalog/tombstones/people/log.jsonl", e->dir);
    FILE *f = fopen(log, "a");
    assert_non_null(f);
    fputs("{\"dataset\":\"people\",\"row_key_col", f); /* a write cut short */
    fclose(f);
    free(log);
    env_open(e, 256 << 20);
    lh_err err = {0};
    json_t *list = catalog_tombstone_list(e->cat, "people", &err);
    assert_int_equal(json_integer_value(json_object_get(list, "keys")), 8);
    json_decref(list);
    assert_int_equal(count_of(e, "SELECT count(*) FROM people"), 3); /* ids 8, 9 and NULL */
}

typedef struct {
    env *e;
    int id;
    int failures;
} writer_arg;

static void *catalog_appender(void *p) {
    writer_arg *a = p;
    for (int i = 0; i < 5; i++) {
        char *sql = lh_asprintf("SELECT (1000 + %d * 100 + %d)::BIGINT AS id, 'w' AS name, 'x@y' AS email, 'ok' AS status",
                                a->id, i);
        lh_err err = {0};
        json_t *m = catalog_write(a->e->cat, "people", sql, LH_WRITE_APPEND, NULL, &err);
        if (!m) a->failures++;
        json_decref(m);
        free(sql);
    }
    return NULL;
}

static void *catalog_compactor(void *p) {
    writer_arg *a = p;
    for (int i = 0; i < 4; i++) {
        lh_err err = {0};
        json_t *r = catalog_compact(a->e->cat, "people", &err);
        if (!r) a->failures++;
        json_decref(r);
    }
    return NULL;
}

/* Appends convert in parallel (outside write_mu) and commit in turn, with
 * compactions in between: every row once, the manifest from the snapshot. */
static void test_concurrent_catalog_writes(void **state) {
    env *e = *state;
    pthread_t th[7];
    writer_arg args[7];
    for (int i = 0; i < 7; i++) {
        args[i] = (writer_arg){e, i, 0};
        pthread_create(&th[i], NULL, i < 6 ? catalog_appender : catalog_compactor, &args[i]);
    }
    for (int i = 0; i < 7; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    assert_int_equal(count_of(e, "SELECT count(*) FROM people"), 11 + 30);
    assert_int_equal(count_of(e, "SELECT count(DISTINCT id) FROM people WHERE id >= 1000"), 30);
    lh_err err = {0};
    json_t *m = catalog_get(e->cat, "people", &err);
    assert_int_equal(json_integer_value(json_object_get(m, "row_count")), 41);
    json_decref(m);
}

static size_t parquet_files(env *e, const char *prefix) {
    lh_object_info *objs = NULL;
    size_t n = 0, k = 0;
    assert_int_equal(storage_list(e->st, prefix, &objs, &n, NULL), 0);
    for (size_t i = 0; i < n; i++)
        if (strstr(objs[i].key, ".parquet") && !strstr(objs[i].key, "_delta_log")) k++;
    storage_list_free(objs, n);
    return k;
}

static void test_compaction(void **state) {
    env *e = *state;
    lh_err err = {0};
    write_people(e, "people", 100, 110, LH_WRITE_APPEND);
    write_people(e, "people", 200, 210, LH_WRITE_APPEND);
    assert_int_equal(count_of(e, "SELECT count(*) FROM people"), 31);

    /* no tombstones: same rows, one file, dataChange false */
    json_t *r = catalog_compact(e->cat, "people", &err);
    if (!r) fail_msg("%s", err.msg);
    assert_true(json_is_true(json_object_get(r, "compacted")));
    assert_int_equal(json_integer_value(json_object_get(r, "files_before")), 3);
    assert_int_equal(json_integer_value(json_object_get(r, "files_after")), 1);
    assert_int_equal(json_integer_value(json_object_get(r, "rows")), 31);
    assert_int_equal(json_integer_value(json_object_get(r, "rows_dropped_by_tombstones")), 0);
    char *log = NULL;
    size_t len = 0;
    char key[96];
    snprintf(key, sizeof key, "tables/people/_delta_log/%020lld.json",
             (long long)json_integer_value(json_object_get(r, "version")));
    assert_int_equal(storage_get(e->st, key, &log, &len, &err), 0);
    assert_non_null(strstr(log, "\"dataChange\":false"));
    assert_null(strstr(log, "\"dataChange\":true"));
    free(log);
    json_decref(r);
    assert_int_equal(count_of(e, "SELECT count(*) FROM people"), 31);

    /* nothing to do the second time */
    r = catalog_compact(e->cat, "people", &err);
    assert_false(json_is_true(json_object_get(r, "compacted")));
    json_decref(r);

    /* tombstones: rows physically dropped, old files deleted, tombstones cleared */
    write_people(e, "people", 300, 305, LH_WRITE_APPEND);
    r = tombstone(e, "people", "{\"row_key_column\":\"id\",\"row_key_values\":[101,102,201]}", &err);
    json_decref(r);
    assert_int_equal(count_of(e, "SELECT count(*) FROM people"), 33);
    r = catalog_compact(e->cat, "people", &err);
    if (!r) fail_msg("%s", err.msg);
    assert_int_equal(json_integer_value(json_object_get(r, "files_before")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "tombstones_applied")), 3);
    assert_int_equal(json_integer_value(json_object_get(r, "rows_dropped_by_tombstones")), 3);
    assert_int_equal(json_integer_value(json_object_get(r, "rows")), 33);
    json_decref(r);
    assert_int_equal(parquet_files(e, "tables/people/"), 1);
    assert_int_equal(count_of(e, "SELECT count(*) FROM people"), 33);
    json_t *list = catalog_tombstone_list(e->cat, "people", &err);
    assert_int_equal(json_integer_value(json_object_get(list, "count")), 0);
    json_decref(list);
    lh_err qerr = {0};
    assert_int_equal(q_int(e, "SELECT count(*) FROM __raw__people", &qerr), -1); /* no filter, no raw view */
    assert_int_equal(catalog_compact(e->cat, "ghost", &err), NULL);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
}

static json_t *view_put(env *e, const char *body, int *created, lh_err *err) {
    json_t *req = jparse(body);
    json_t *out = catalog_view_put(e->cat, req, created, err);
    json_decref(req);
    return out;
}

static void expect_view_error(env *e, const char *body, lh_errcode code, const char *needle) {
    lh_err err = {0};
    json_t *out = view_put(e, body, NULL, &err);
    assert_null(out);
    assert_int_equal(err.code, code);
    if (needle && !strstr(err.msg, needle)) fail_msg("'%s' does not mention '%s'", err.msg, needle);
}

#define SAFE_VIEW                                                                                              \
    "{\"name\":\"people_safe\",\"base_dataset\":\"people\",\"columns\":[\"id\",\"name\",\"email\",\"status\"]," \
    "\"row_filter\":\"status <> 'blocked'\",\"redactions\":{\"name\":{\"kind\":\"mask\",\"keep_prefix\":1,"    \
    "\"keep_suffix\":0},\"email\":{\"kind\":\"hash\"},\"status\":{\"kind\":\"null\"}}}"

static void test_views(void **state) {
    env *e = *state;
    lh_err err = {0};
    expect_view_error(e, "{\"name\":\"v\",\"base_dataset\":\"people\",\"columns\":[\"salary\"]}", LH_E_BAD_REQUEST, "salary");
    expect_view_error(e, "{\"name\":\"v\",\"base_dataset\":\"ghost\",\"columns\":[\"id\"]}", LH_E_NOT_FOUND, NULL);
    expect_view_error(e, "{\"name\":\"people\",\"base_dataset\":\"people\",\"columns\":[\"id\"]}", LH_E_CONFLICT, NULL);
    expect_view_error(e, "{\"name\":\"__raw__x\",\"base_dataset\":\"people\",\"columns\":[\"id\"]}", LH_E_BAD_REQUEST, NULL);
    expect_view_error(e, "{\"name\":\"v\",\"base_dataset\":\"people\",\"columns\":[\"id\"],\"row_filter\":\"id > 1; DROP TABLE x\"}",
                      LH_E_BAD_REQUEST, "';'");
    expect_view_error(e, "{\"name\":\"v\",\"base_dataset\":\"people\",\"columns\":[\"id\"],"
                         "\"row_filter\":\"id IN (SELECT 1)\"}", LH_E_BAD_REQUEST, "SELECT");
    expect_view_error(e, "{\"name\":\"v\",\"base_dataset\":\"people\",\"columns\":[\"id\"],"
                         "\"row_filter\":\"EXISTS (FROM read_csv('/etc/passwd'))\"}", LH_E_BAD_REQUEST, "FROM");
    expect_view_error(e, "{\"name\":\"v\",\"base_dataset\":\"people\",\"columns\":[\"id\"],\"row_filter\":\"salary > 3\"}",
                      LH_E_BAD_REQUEST, "salary");
    expect_view_error(e, "{\"name\":\"v\",\"base_dataset\":\"people\",\"columns\":[\"id\"],"
                         "\"redactions\":{\"email\":{\"kind\":\"hash\"}}}", LH_E_BAD_REQUEST, "email");
    expect_view_error(e, "{\"name\":\"v\",\"base_dataset\":\"people\",\"columns\":[\"id\"],"
                         "\"redactions\":{\"id\":{\"kind\":\"shred\"}}}", LH_E_BAD_REQUEST, "kind");

    int created = 0;
    json_t *v = view_put(e, SAFE_VIEW, &created, &err);
    if (!v) fail_msg("%s", err.msg);
    assert_int_equal(created, 1);
    json_decref(v);
    /* ids 0,3,6,9 are blocked; the NULL-id row (i = 10) is ok */
    assert_int_equal(count_of(e, "SELECT count(*) FROM people_safe"), 7);
    char *s = q_text(e, "SELECT name FROM people_safe WHERE id = 5");
    assert_string_equal(s, "n*");
    free(s);
    s = q_text(e, "SELECT email FROM people_safe WHERE id = 5");
    assert_int_equal(strlen(s), 64); /* sha256 hex */
    assert_null(strchr(s, '@'));
    free(s);
    assert_int_equal(count_of(e, "SELECT count(*) FROM people_safe WHERE email = sha256('user5@example.com')"), 1);
    assert_int_equal(count_of(e, "SELECT count(*) FROM people_safe WHERE status IS NULL"), 7);
    lh_err qerr = {0};
    assert_int_equal(q_int(e, "SELECT salary FROM people_safe", &qerr), -1);
    assert_int_equal(qerr.code, LH_E_BAD_REQUEST);

    /* tombstones reach the view too */
    json_decref(tombstone(e, "people", "{\"row_key_column\":\"id\",\"row_key_values\":[1,2]}", &err));
    assert_int_equal(count_of(e, "SELECT count(*) FROM people_safe"), 5);

    /* replace: a narrower whitelist; email is no longer a column */
    v = view_put(e, "{\"name\":\"people_safe\",\"base_dataset\":\"people\",\"columns\":[\"id\"]}", &created, &err);
    assert_non_null(v);
    assert_int_equal(created, 0);
    json_decref(v);
    assert_int_equal(q_int(e, "SELECT email FROM people_safe", &qerr), -1);
    assert_non_null(strstr(qerr.msg, "email"));

    /* reopen: the view is still published */
    env_close(e);
    env_open(e, 256 << 20);
    assert_int_equal(count_of(e, "SELECT count(*) FROM people_safe"), 9);
    json_t *list = catalog_view_list(e->cat);
    assert_int_equal(json_array_size(json_object_get(list, "views")), 1);
    json_decref(list);
    v = catalog_view_get(e->cat, "people_safe", &err);
    assert_true(json_is_true(json_object_get(v, "published")));
    json_decref(v);
    assert_int_equal(catalog_view_delete(e->cat, "people_safe", &err), 0);
    assert_int_equal(q_int(e, "SELECT count(*) FROM people_safe", &qerr), -1);
    assert_int_equal(catalog_view_delete(e->cat, "people_safe", &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
}

static int64_t stat_of(env *e, const char *field) {
    json_t *s = query_cache_stats(e->cache);
    int64_t v = json_integer_value(json_object_get(s, field));
    json_decref(s);
    return v;
}

static void test_cache(void **state) {
    env *e = *state;
    lh_err err = {0};
    const char *agg = "SELECT sum(id) * 1000 + count(*) FROM people WHERE status = 'ok'";
    int64_t cold = count_of(e, agg);
    json_t *p = query_cache_pin(e->cache, "people", &err);
    if (!p) fail_msg("%s", err.msg);
    assert_int_equal(json_integer_value(json_object_get(p, "rows")), 11);
    assert_true(json_integer_value(json_object_get(p, "bytes")) > 0);
    json_decref(p);
    assert_int_equal(count_of(e, agg), cold);
    assert_true(stat_of(e, "hits") >= 1);
    assert_int_equal(stat_of(e, "entries"), 1);
    assert_int_equal(stat_of(e, "pins"), 1);

    /* a new commit reaches the pinned data; tombstones apply on top of it */
    write_people(e, "people", 50, 52, LH_WRITE_APPEND);
    assert_int_equal(count_of(e, "SELECT count(*) FROM people"), 13);
    assert_int_equal(stat_of(e, "refreshes"), 1);
    json_decref(tombstone(e, "people", "{\"row_key_column\":\"id\",\"row_key_values\":[50]}", &err));
    assert_int_equal(count_of(e, "SELECT count(*) FROM people"), 12);
    assert_int_equal(stat_of(e, "refreshes"), 1); /* the raw rows did not change */

    /* evict; unknown names */
    p = query_cache_evict(e->cache, "people", &err);
    assert_non_null(p);
    json_decref(p);
    assert_int_equal(count_of(e, "SELECT count(*) FROM people"), 12);
    assert_null(query_cache_evict(e->cache, "people", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_null(query_cache_pin(e->cache, "ghost", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
}

static void test_cache_lru(void **state) {
    env *e = *state;
    lh_err err = {0};
    write_people(e, "other", 0, 11, LH_WRITE_CREATE);
    json_t *p = query_cache_pin(e->cache, "people", &err);
    int64_t one = json_integer_value(json_object_get(p, "bytes"));
    json_decref(p);
    /* a budget for one table and a half: the second pin evicts the first */
    env_close(e);
    env_open(e, one + one / 2);
    json_decref(query_cache_pin(e->cache, "people", &err));
    json_decref(query_cache_pin(e->cache, "other", &err));
    assert_int_equal(stat_of(e, "entries"), 1);
    assert_int_equal(stat_of(e, "lru_evictions"), 1);
    json_t *s = query_cache_stats(e->cache);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(s, "datasets"), 0), "dataset")),
                        "other");
    json_decref(s);
    assert_int_equal(count_of(e, "SELECT count(*) FROM people"), 11);
    /* too big alone */
    env_close(e);
    env_open(e, one / 4);
    assert_null(query_cache_pin(e->cache, "people", &err));
    assert_int_equal(err.code, LH_E_TOO_LARGE);
    assert_int_equal(count_of(e, "SELECT count(*) FROM people"), 11);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tombstones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tombstones_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_catalog_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_views, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_lru, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
