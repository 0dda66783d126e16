/*
 * test_catalog.c — the dataset catalog over a local bucket: manifests are
 * created with every documented field, read back, patched (and refused when
 * the patch is wrong), and round-trip through the persisted JSON; a new
 * catalog handle over the same folder sees the same datasets (and refreshes
 * a manifest the table moved ahead of); delete removes manifest, table
 * files, listing entry and view; malformed manifest files are skipped
 * without hiding the good datasets or taking over their names. Datasets in
 * another bucket of the registry (ADR 0237): made there, registered in place
 * there without a commit, reloaded from there, wrong bucket refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "common/strbuf.h"
#include "storage/buckets.h"
#include "storage/storage.h"
#include "support/fixture.h"

typedef struct {
    char *dir;
    lh_storage *st;
    lh_catalog *cat;
    char **views; /* last published view names */
    size_t nviews;
} env;

static void on_views(void *ctx, uint64_t version, const char *const *names, const char *const *selects, size_t n) {
    env *e = ctx;
    for (size_t i = 0; i < e->nviews; i++) free(e->views[i]);
    free(e->views);
    e->views = lh_calloc(n + 1, sizeof *e->views);
    for (size_t i = 0; i < n; i++) e->views[i] = lh_strdup(names[i]);
    e->nviews = n;
}

static int has_view(const env *e, const char *name) {
    for (size_t i = 0; i < e->nviews; i++)
        if (!strcmp(e->views[i], name)) return 1;
    return 0;
}

static void cat_open(env *e) {
    lh_err err = {0};
    lh_catalog_options opt = {.checkpoint_interval = 10, .duckdb_threads = 1};
    e->cat = catalog_open(e->st, &opt, &err);
    if (!e->cat) fail_msg("catalog_open: %s", err.msg);
    catalog_set_views_listener(e->cat, on_views, e);
}

static void cat_reopen(env *e) {
    catalog_free(e->cat);
    cat_open(e);
}

#define PEOPLE_SQL(from, to)                                                                             \
    "SELECT i::BIGINT AS id, 'name ' || i AS name, 'user' || i || '@example.com' AS email, "          \
    "(i * 1.5)::DOUBLE AS score FROM range(" #from ", " #to ") r(i)"

static json_t *write(env *e, const char *name, const char *sql, lh_write_mode mode) {
    lh_err err = {0};
    lh_lineage lin = {.source_system = "unit-test", .source = "generated", .ingest_job = "job-42"};
    json_t *m = catalog_write(e->cat, name, sql, mode, &lin, &err);
    if (!m) fail_msg("write %s: %s", name, err.msg);
    return m;
}

static int setup(void **state) {
    env *e = lh_calloc(1, sizeof *e);
    e->st = fixture_bucket_open("catalog", &e->dir);
    cat_open(e);
    json_decref(write(e, "people", PEOPLE_SQL(0, 100), LH_WRITE_CREATE));
    *state = e;
    return 0;
}

static int teardown(void **state) {
    env *e = *state;
    catalog_free(e->cat);
    fixture_bucket_close(e->st);
    on_views(e, 0, NULL, NULL, 0);
    free(e->views);
    free(e->dir);
    free(e);
    return 0;
}

static const char *str(const json_t *m, const char *k) { return json_string_value(json_object_get(m, k)); }
static json_int_t num(const json_t *m, const char *k) { return json_integer_value(json_object_get(m, k)); }

static json_t *column(const json_t *m, const char *name) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(m, "columns"), i, c) if (!strcmp(str(c, "name"), name)) return c;
    return NULL;
}

/* The manifest as persisted in the bucket (new reference). */
static json_t *persisted(env *e, const char *name) {
    char *key = lh_asprintf("_catalog/datasets/%s.json", name), *text = NULL;
    size_t len = 0;
    json_t *m = NULL;
    if (storage_get(e->st, key, &text, &len, NULL) == 0) m = json_loadb(text, len, 0, NULL);
    free(text);
    free(key);
    return m;
}

static void test_manifest_fields_on_create(void **state) {
    env *e = *state;
    lh_err err = {0};
    json_t *m = catalog_get(e->cat, "people", &err);
    assert_non_null(m);
    assert_string_equal(str(m, "name"), "people");
    assert_int_equal(num(m, "version"), 0);
    assert_int_equal(num(m, "row_count"), 100);
    assert_true(num(m, "size_bytes") > 0);
    assert_string_equal(str(m, "format"), "delta");
    assert_string_equal(str(m, "location"), "tables/people");
    assert_string_equal(str(m, "bucket"), "primary");
    assert_int_equal(strlen(str(m, "schema_fingerprint")), 64);
    assert_int_equal(json_array_size(json_object_get(m, "columns")), 4);
    assert_string_equal(str(column(m, "id"), "type"), "BIGINT");
    assert_string_equal(str(column(m, "score"), "type"), "DOUBLE");
    /* PII detection flags the email column and raises the dataset's level */
    json_t *pii = json_object_get(column(m, "email"), "pii");
    assert_true(json_array_size(pii) >= 1);
    assert_string_equal(json_string_value(json_array_get(pii, 0)), "email");
    assert_string_not_equal(str(m, "sensitivity"), "public");
    assert_string_not_equal(str(m, "sensitivity"), "internal");
    json_t *lin = json_object_get(m, "lineage");
    assert_string_equal(str(lin, "source_system"), "unit-test");
    assert_string_equal(str(lin, "ingest_job"), "job-42");
    assert_true(json_array_size(json_object_get(m, "files")) >= 1);
    assert_non_null(str(m, "created_at"));
    assert_non_null(str(json_object_get(m, "freshness"), "last_ingest_at"));
    assert_string_equal(str(json_object_get(m, "embedding"), "status"), "none");
    assert_null(json_object_get(m, "sensitivity_set")); /* internal field stays internal */
    /* what the API returns is what the bucket holds */
    json_t *p = persisted(e, "people");
    assert_non_null(p);
    json_object_del(p, "sensitivity_set");
    assert_true(json_equal(p, m));
    json_decref(p);
    json_decref(m);
    assert_true(has_view(e, "people"));
    /* create twice: conflict; bad names refused */
    assert_null(catalog_write(e->cat, "people", PEOPLE_SQL(0, 1), LH_WRITE_CREATE, NULL, &err));
    assert_int_equal(err.code, LH_E_CONFLICT);
    static const char *bad[] = {"", "1abc", "a-b", "../x", "a b",
                                "a123456789012345678901234567890123456789012345678901234567890123456789"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_false(catalog_name_valid(bad[i]));
        assert_null(catalog_write(e->cat, bad[i], PEOPLE_SQL(0, 1), LH_WRITE_CREATE, NULL, &err));
        assert_int_equal(err.code, LH_E_BAD_REQUEST);
    }
}

static void test_patch_round_trip(void **state) {
    env *e = *state;
    lh_err err = {0};
    json_t *patch = json_loads("{\"description\":\"Everyone we placed\",\"owner\":\"ops@example.com\","
                               "\"tags\":[\"hr\",\"core\"],\"sensitivity\":\"restricted\","
                               "\"columns\":[{\"name\":\"score\",\"description\":\"fit score\"}]}",
                               0, NULL);
    json_t *m = catalog_patch(e->cat, "people", patch, &err);
    json_decref(patch);
    if (!m) fail_msg("patch: %s", err.msg);
    json_decref(m);
    m = catalog_get(e->cat, "people", &err);
    assert_string_equal(str(m, "description"), "Everyone we placed");
    assert_string_equal(str(m, "owner"), "ops@example.com");
    assert_int_equal(json_array_size(json_object_get(m, "tags")), 2);
    assert_string_equal(str(m, "sensitivity"), "restricted");
    assert_string_equal(str(column(m, "score"), "description"), "fit score");
    json_t *p = persisted(e, "people");
    assert_string_equal(str(p, "owner"), "ops@example.com");
    assert_string_equal(str(column(p, "score"), "description"), "fit score");
    json_decref(p);
    /* a new commit keeps the metadata and moves the numbers */
    json_decref(write(e, "people", PEOPLE_SQL(100, 150), LH_WRITE_APPEND));
    json_t *m2 = catalog_get(e->cat, "people", &err);
    assert_int_equal(num(m2, "version"), 1);
    assert_int_equal(num(m2, "row_count"), 150);
    assert_string_equal(str(m2, "owner"), "ops@example.com");
    assert_string_equal(str(column(m2, "score"), "description"), "fit score");
    assert_string_equal(str(m2, "schema_fingerprint"), str(m, "schema_fingerprint")); /* same columns */
    json_decref(m2);
    json_decref(m);
}

static void test_patch_refusals_change_nothing(void **state) {
    env *e = *state;
    lh_err err = {0};
    json_t *before = catalog_get(e->cat, "people", &err);
    static const char *bad[] = {
        "{\"owner\":42}",
        "{\"sensitivity\":\"top-secret\"}",
        "{\"tags\":\"hr\"}",
        "{\"tags\":[1,2]}",
        "{\"description\":\"ok\",\"row_count\":1}", /* valid field then a computed one */
        "{\"columns\":[{\"name\":\"nope\",\"description\":\"x\"}]}",
        "{\"name\":\"other\"}",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *patch = json_loads(bad[i], 0, NULL);
        assert_non_null(patch);
        lh_err_clear(&err);
        assert_null(catalog_patch(e->cat, "people", patch, &err));
        assert_true(err.code == LH_E_BAD_REQUEST || err.code == LH_E_UNPROCESSABLE || err.code == LH_E_NOT_FOUND);
        json_decref(patch);
    }
    json_t *after = catalog_get(e->cat, "people", &err);
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
    json_t *patch = json_loads("{\"owner\":\"x\"}", 0, NULL);
    assert_null(catalog_patch(e->cat, "nobody", patch, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    json_decref(patch);
}

static void test_restart_sees_same_datasets(void **state) {
    env *e = *state;
    lh_err err = {0};
    json_decref(write(e, "jobs", "SELECT i AS job_id, 'title ' || i AS title FROM range(7) r(i)", LH_WRITE_CREATE));
    json_t *patch = json_loads("{\"owner\":\"ana\"}", 0, NULL);
    json_decref(catalog_patch(e->cat, "jobs", patch, &err));
    json_decref(patch);
    json_t *before = catalog_list(e->cat);
    cat_reopen(e);
    json_t *after = catalog_list(e->cat);
    assert_int_equal(json_array_size(json_object_get(after, "datasets")), 2);
    assert_true(json_equal(before, after)); /* every field, both datasets */
    json_decref(before);
    json_decref(after);
    json_t *m = catalog_get(e->cat, "jobs", &err);
    assert_string_equal(str(m, "owner"), "ana");
    json_decref(m);
    assert_true(has_view(e, "people") && has_view(e, "jobs"));
    size_t n;
    uint64_t v;
    catalog_stats(e->cat, &n, &v);
    assert_int_equal(n, 2);
    /* writes go on after the restart */
    json_decref(write(e, "jobs", "SELECT 100::BIGINT AS job_id, 'x' AS title", LH_WRITE_APPEND));
    m = catalog_get(e->cat, "jobs", &err);
    assert_int_equal(num(m, "row_count"), 8);
    json_decref(m);
}

/* A crash between a commit and its manifest write: the table log wins. */
static void test_restart_refreshes_lagging_manifest(void **state) {
    env *e = *state;
    char *old = NULL;
    size_t len = 0;
    assert_int_equal(storage_get(e->st, "_catalog/datasets/people.json", &old, &len, NULL), 0);
    json_decref(write(e, "people", PEOPLE_SQL(100, 130), LH_WRITE_APPEND));
    assert_int_equal(storage_put(e->st, "_catalog/datasets/people.json", old, len, NULL, NULL), 0);
    free(old);
    cat_reopen(e);
    lh_err err = {0};
    json_t *m = catalog_get(e->cat, "people", &err);
    assert_non_null(m);
    assert_int_equal(num(m, "version"), 1);
    assert_int_equal(num(m, "row_count"), 130);
    json_decref(m);
    json_t *p = persisted(e, "people"); /* and the fixed manifest is written back */
    assert_int_equal(num(p, "version"), 1);
    json_decref(p);
}

static size_t objects_under(env *e, const char *prefix) {
    lh_object_info *objs = NULL;
    size_t n = 0;
    assert_int_equal(storage_list(e->st, prefix, &objs, &n, NULL), 0);
    storage_list_free(objs, n);
    return n;
}

static void test_delete_removes_everything(void **state) {
    env *e = *state;
    lh_err err = {0};
    json_decref(write(e, "jobs", "SELECT 1 AS job_id", LH_WRITE_CREATE));
    assert_true(objects_under(e, "tables/people/") > 0);
    assert_int_equal(catalog_delete(e->cat, "people", &err), 0);
    assert_false(storage_exists(e->st, "_catalog/datasets/people.json"));
    assert_int_equal(objects_under(e, "tables/people/"), 0);
    assert_null(catalog_get(e->cat, "people", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    json_t *l = catalog_list(e->cat);
    assert_int_equal(json_array_size(json_object_get(l, "datasets")), 1);
    assert_string_equal(str(json_array_get(json_object_get(l, "datasets"), 0), "name"), "jobs");
    json_decref(l);
    assert_false(has_view(e, "people"));
    assert_true(has_view(e, "jobs"));
    assert_int_equal(catalog_delete(e->cat, "people", &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    /* gone for good, also after a restart; the name is free again */
    cat_reopen(e);
    assert_null(catalog_get(e->cat, "people", &err));
    json_decref(write(e, "people", PEOPLE_SQL(0, 3), LH_WRITE_CREATE));
    json_t *m = catalog_get(e->cat, "people", &err);
    assert_int_equal(num(m, "version"), 0);
    assert_int_equal(num(m, "row_count"), 3);
    json_decref(m);
}

static void put_text(env *e, const char *key, const char *text) {
    assert_int_equal(storage_put(e->st, key, text, strlen(text), NULL, NULL), 0);
}

static void test_malformed_manifests_skipped(void **state) {
    env *e = *state;
    lh_err err = {0};
    json_decref(write(e, "jobs", "SELECT 1 AS job_id", LH_WRITE_CREATE));
    json_t *good = catalog_get(e->cat, "people", &err);
    put_text(e, "_catalog/datasets/junk.json", "{not json");
    put_text(e, "_catalog/datasets/empty.json", "");
    put_text(e, "_catalog/datasets/array.json", "[1,2,3]");
    put_text(e, "_catalog/datasets/badname.json", "{\"name\":\"../etc\",\"location\":\"tables/people\"}");
    put_text(e, "_catalog/datasets/numname.json", "{\"name\":12,\"location\":\"tables/people\"}");
    put_text(e, "_catalog/datasets/noloc.json", "{\"name\":\"noloc\"}");
    put_text(e, "_catalog/datasets/ghost.json", "{\"name\":\"ghost\",\"location\":\"tables/ghost\",\"version\":0}");
    put_text(e, "_catalog/datasets/notes.txt", "not a manifest");
    /* a file claiming another dataset's name (listed after the real one)
     * must not take it over */
    put_text(e, "_catalog/datasets/zz_impostor.json",
             "{\"name\":\"people\",\"location\":\"tables/jobs\",\"version\":0,\"owner\":\"mallory\"}");
    cat_reopen(e);
    json_t *l = catalog_list(e->cat);
    json_t *ds = json_object_get(l, "datasets");
    assert_int_equal(json_array_size(ds), 2);
    assert_string_equal(str(json_array_get(ds, 0), "name"), "jobs");
    assert_string_equal(str(json_array_get(ds, 1), "name"), "people");
    json_decref(l);
    json_t *m = catalog_get(e->cat, "people", &err);
    assert_non_null(m);
    assert_true(json_equal(m, good));
    json_decref(m);
    json_decref(good);
    /* a malformed file does not block a dataset of that name either */
    json_decref(write(e, "noloc", "SELECT 1 AS a", LH_WRITE_CREATE));
    m = catalog_get(e->cat, "noloc", &err);
    assert_int_equal(num(m, "row_count"), 1);
    json_decref(m);
}

/* The catalog over e's primary and a registry adding local bucket "other". */
static lh_catalog *cat_with_other(env *e, lh_buckets **reg) {
    char *root = lh_asprintf("%s-other", e->dir);
    lh_bucket_config bc = {.name = "other", .backend = "local", .root = root};
    lh_buckets_config rc = {.primary = e->st, .buckets = &bc, .nbuckets = 1};
    lh_err err = {0};
    *reg = buckets_open(&rc, &err);
    free(root);
    if (!*reg) fail_msg("buckets_open: %s", err.msg);
    lh_catalog_options opt = {.checkpoint_interval = 10, .duckdb_threads = 1, .buckets = *reg};
    lh_catalog *c = catalog_open(e->st, &opt, &err);
    if (!c) fail_msg("catalog_open: %s", err.msg);
    return c;
}

static void test_register_in_other_bucket(void **state) {
    env *e = *state;
    catalog_free(e->cat);
    lh_buckets *reg = NULL;
    e->cat = cat_with_other(e, &reg);
    lh_storage *other = buckets_get(reg, "other");
    lh_err err = {0};
    /* a new dataset in bucket other: its table there, its manifest in primary */
    lh_write_opts o = {.mode = LH_WRITE_CREATE, .bucket = "other"};
    json_t *m = catalog_write_opts(e->cat, "inb", PEOPLE_SQL(0, 7), &o, &err);
    assert_non_null(m);
    assert_string_equal(str(m, "bucket"), "other");
    json_decref(m);
    assert_true(storage_exists(other, "tables/inb/_delta_log/00000000000000000000.json"));
    assert_false(storage_exists(e->st, "tables/inb/_delta_log/00000000000000000000.json"));
    assert_true(storage_exists(e->st, "_catalog/datasets/inb.json"));
    /* a write naming another bucket than the dataset's is refused */
    lh_write_opts wrong = {.mode = LH_WRITE_APPEND, .bucket = "primary"};
    assert_null(catalog_write_opts(e->cat, "inb", PEOPLE_SQL(7, 8), &wrong, &err));
    assert_int_equal(err.code, LH_E_CONFLICT);
    assert_non_null(strstr(err.msg, "lives in bucket 'other'"));
    /* register in place: read where it is, no commit made */
    json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "name", "again", "format", "delta", "location", "tables/inb",
                            "bucket", "other");
    lh_err_clear(&err);
    m = catalog_register(e->cat, req, &err);
    json_decref(req);
    if (!m) fail_msg("register: %s", err.msg);
    assert_int_equal(num(m, "row_count"), 7);
    assert_string_equal(str(m, "bucket"), "other");
    json_decref(m);
    assert_false(storage_exists(other, "tables/inb/_delta_log/00000000000000000001.json"));
    req = json_pack("{s:s, s:s, s:s, s:s}", "name", "nob", "format", "delta", "location", "tables/inb", "bucket",
                    "nosuch");
    assert_null(catalog_register(e->cat, req, &err));
    json_decref(req);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    /* an append through the registered name commits in bucket other */
    o.mode = LH_WRITE_APPEND;
    o.bucket = NULL;
    m = catalog_write_opts(e->cat, "again", PEOPLE_SQL(7, 10), &o, &err);
    assert_non_null(m);
    assert_int_equal(num(m, "version"), 1);
    json_decref(m);
    assert_true(storage_exists(other, "tables/inb/_delta_log/00000000000000000001.json"));
    /* a restart loads both from bucket other */
    catalog_free(e->cat);
    lh_buckets *reg2 = NULL;
    e->cat = cat_with_other(e, &reg2);
    m = catalog_get(e->cat, "inb", &err);
    assert_non_null(m);
    assert_int_equal(num(m, "row_count"), 10);
    json_decref(m);
    /* delete: the registered location stays, the one we made goes */
    assert_int_equal(catalog_delete(e->cat, "again", &err), 0);
    assert_true(storage_exists(other, "tables/inb/_delta_log/00000000000000000000.json"));
    assert_int_equal(catalog_delete(e->cat, "inb", &err), 0);
    assert_false(storage_exists(other, "tables/inb/_delta_log/00000000000000000000.json"));
    catalog_free(e->cat);
    buckets_free(reg2);
    buckets_free(reg);
    char *cmd = lh_asprintf("rm -rf '%s-other'", e->dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    cat_open(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_manifest_fields_on_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patch_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patch_refusals_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_sees_same_datasets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_refreshes_lagging_manifest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_removes_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_manifests_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_in_other_bucket, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
