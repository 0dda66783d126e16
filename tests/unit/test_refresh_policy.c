/*
 * test_refresh_policy.c — embedding refresh policies (ADR 0150): the PATCH
 * validation of embedding.refresh_policy / refresh_interval_s and the
 * policy list; the refresher thread refreshing an on_append dataset after
 * a write while a manual one stays stale; profile fields (vector_backend,
 * bucket) and the active-profile singleton with a builtin provider (swap
 * skipped, ADR 0151/0152); the bucket stamp migration of legacy manifests
 * (ADR 0153).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "common/util.h"
#include "lab/lab.h"
#include "vector_fixture.h"

static json_t *patch(vfix *f, const char *ds, const char *json, lh_err *err) {
    json_t *p = json_loads(json, 0, NULL);
    assert_non_null(p);
    json_t *m = catalog_patch(f->cat, ds, p, err);
    json_decref(p);
    return m;
}

static int policies_count(vfix *f) {
    json_t *p = catalog_refresh_policies(f->cat);
    int n = (int)json_array_size(json_object_get(p, "datasets"));
    json_decref(p);
    return n;
}

static void test_policy_patch(void **state) {
    (void)state;
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "people", "BIGINT", 0, 5, doc_text, LH_WRITE_CREATE), 0);
    lh_err err = {0};
    json_t *m = catalog_get(f->cat, "people", &err);
    json_t *emb = json_object_get(m, "embedding");
    assert_string_equal(json_string_value(json_object_get(emb, "refresh_policy")), "manual");
    json_decref(m);
    static const char *const bad[] = {
        "{\"embedding\":{\"refresh_policy\":\"sometimes\"}}", "{\"embedding\":{\"refresh_policy\":\"scheduled\"}}",
        "{\"embedding\":{\"status\":\"fresh\"}}", "{\"embedding\":\"on_append\"}",
        "{\"embedding\":{\"refresh_policy\":\"scheduled\",\"refresh_interval_s\":0}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = (lh_err){0};
        assert_null(patch(f, "people", bad[i], &err));
        assert_int_equal(err.code, LH_E_BAD_REQUEST);
    }
    assert_int_equal(policies_count(f), 0);
    json_decref(patch(f, "people", "{\"embedding\":{\"refresh_policy\":\"on_append\"}}", &err));
    assert_int_equal(policies_count(f), 1);
    m = patch(f, "people", "{\"embedding\":{\"refresh_policy\":\"scheduled\",\"refresh_interval_s\":60}}", &err);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "embedding"), "refresh_interval_s")), 60);
    json_decref(m);
    json_t *p = catalog_refresh_policies(f->cat);
    json_t *d = json_array_get(json_object_get(p, "datasets"), 0);
    assert_string_equal(json_string_value(json_object_get(d, "refresh_policy")), "scheduled");
    assert_int_equal(json_integer_value(json_object_get(d, "refresh_interval_s")), 60);
    json_decref(p);
    json_decref(patch(f, "people", "{\"embedding\":{\"refresh_policy\":\"manual\"}}", &err));
    assert_int_equal(policies_count(f), 0);
    vfix_free(f);
}

/* 1 once dataset ds is no longer in vindex_stale (within ~15 s). */
static int wait_fresh(lh_vindex *vx, const char *ds) {
    for (int i = 0; i < 300; i++) {
        json_t *st = vindex_stale(vx), *d;
        size_t j;
        int stale = 0;
        json_array_foreach(json_object_get(st, "stale"), j, d)
            stale |= !strcmp(json_string_value(json_object_get(d, "dataset")), ds);
        json_decref(st);
        if (!stale) return 1;
        fake_sleep(50);
    }
    return 0;
}

static json_t *build(vfix *f, const char *ds) {
    lh_vbuild_req req = {.dataset = ds, .id_column = "id", .text_column = "body", .index_name = ds};
    lh_err err = {0};
    json_t *m = vindex_build_sync(f->vx, &req, &err);
    assert_non_null(m);
    return m;
}

static void test_refresher_on_append(void **state) {
    (void)state;
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "pa", "BIGINT", 0, 20, doc_text, LH_WRITE_CREATE), 0);
    assert_int_equal(vfix_write(f, "pm", "BIGINT", 0, 20, doc_text, LH_WRITE_CREATE), 0);
    assert_non_null(vfix_open(f));
    json_decref(build(f, "pa"));
    json_decref(build(f, "pm"));
    lh_err err = {0};
    json_decref(patch(f, "pa", "{\"embedding\":{\"refresh_policy\":\"on_append\"}}", &err));
    lh_vlab_config lc = {.storage = f->st, .catalog = f->cat, .vectors = f->vx, .threads = 2};
    lh_vlab *lab = vlab_open(&lc, &err);
    assert_non_null(lab);
    assert_int_equal(vlab_start(lab, &err), 0);
    assert_int_equal(vfix_write(f, "pa", "BIGINT", 20, 30, doc_text, LH_WRITE_APPEND), 0);
    assert_int_equal(vfix_write(f, "pm", "BIGINT", 20, 30, doc_text, LH_WRITE_APPEND), 0);
    assert_true(wait_fresh(f->vx, "pa"));
    json_t *meta = vindex_get(f->vx, "pa", &err);
    assert_int_equal(json_integer_value(json_object_get(meta, "docs")), 30);
    json_decref(meta);
    fake_sleep(1500); /* a tick or more later: the manual dataset is still stale */
    json_t *st = vindex_stale(f->vx);
    assert_int_equal(json_array_size(json_object_get(st, "stale")), 1);
    json_decref(st);
    st = vlab_refresher_status(lab);
    assert_true(json_is_true(json_object_get(st, "running")));
    json_t *rec = json_object_get(json_object_get(st, "datasets"), "pa");
    assert_int_equal(json_integer_value(json_object_get(rec, "refreshes")), 1);
    assert_null(json_object_get(json_object_get(st, "datasets"), "pm"));
    json_decref(st);
    vlab_free(lab);
    vfix_free(f);
}

/* A lab whose refresher thread cannot start is an error, not a lab that
 * silently never refreshes (ADR 0166). */
static void test_refresher_thread_failure_refuses_start(void **state) {
    (void)state;
    vfix *f = vfix_new();
    f->no_start = 1;
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    lh_vlab_config lc = {.storage = f->st, .catalog = f->cat, .vectors = f->vx, .threads = 1};
    lh_vlab *lab = vlab_open(&lc, &err);
    assert_non_null(lab);
    lh_thread_fail_next(1);
    assert_int_equal(vlab_start(lab, &err), -1);
    lh_thread_fail_next(0);
    assert_non_null(strstr(err.msg, "embedding refresher"));
    assert_int_equal(vlab_start(lab, &err), 0);
    json_t *st = vlab_refresher_status(lab);
    assert_true(json_is_true(json_object_get(st, "running")));
    json_decref(st);
    vlab_free(lab);
    vfix_free(f);
}

static void test_profile_fields_and_active(void **state) {
    (void)state;
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "people", "BIGINT", 0, 10, doc_text, LH_WRITE_CREATE), 0);
    assert_non_null(vfix_open(f));
    json_decref(build(f, "people"));
    lh_err err = {0};
    lh_vlab_config lc = {.storage = f->st, .catalog = f->cat, .vectors = f->vx, .threads = 2};
    lh_vlab *lab = vlab_open(&lc, &err);
    json_t *req = json_pack("{s:s, s:[s], s:s}", "id", "p1", "bound_datasets", "people", "vector_backend", "faiss");
    assert_null(vlab_profile_put(lab, req, "me", NULL, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    json_decref(req);
    req = json_pack("{s:s, s:[s], s:s}", "id", "p1", "bound_datasets", "people", "ollama_name", "m1");
    json_t *p = vlab_profile_put(lab, req, "me", NULL, &err);
    assert_string_equal(json_string_value(json_object_get(p, "vector_backend")), "hnsw");
    assert_string_equal(json_string_value(json_object_get(p, "bucket")), "primary");
    json_decref(p);
    json_decref(req);
    json_t *act = vlab_profile_activate(lab, "p1", &err);
    assert_non_null(act);
    assert_true(json_is_true(json_object_get(json_object_get(act, "models"), "skipped"))); /* no ai: skipped */
    json_decref(act);
    json_t *a = vlab_profile_active(lab);
    assert_string_equal(json_string_value(json_object_get(a, "active")), "p1");
    json_decref(a);
    err = (lh_err){0};
    assert_null(vlab_profile_deactivate(lab, "nope", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    json_t *d = vlab_profile_deactivate(lab, "p1", &err);
    assert_true(json_is_true(json_object_get(d, "deactivated")));
    json_decref(d);
    a = vlab_profile_active(lab);
    assert_true(json_is_null(json_object_get(a, "active")) || !json_object_get(a, "active"));
    json_decref(a);
    err = (lh_err){0};
    assert_null(vlab_profile_deactivate(lab, "p1", &err));
    assert_int_equal(err.code, LH_E_CONFLICT);
    vlab_free(lab);
    vfix_free(f);
}

static void test_migrate_buckets(void **state) {
    (void)state;
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "a", "BIGINT", 0, 3, doc_text, LH_WRITE_CREATE), 0);
    assert_int_equal(vfix_write(f, "b", "BIGINT", 0, 3, doc_text, LH_WRITE_CREATE), 0);
    catalog_free(f->cat);
    char *path = lh_asprintf("%s/_catalog/datasets/a.json", f->dir);
    json_t *m = json_load_file(path, 0, NULL);
    assert_non_null(m);
    json_object_del(m, "bucket");
    assert_int_equal(json_dump_file(m, path, 0), 0);
    json_decref(m);
    lh_err err = {0};
    f->cat = catalog_open(f->st, NULL, &err);
    assert_non_null(f->cat);
    json_t *r = catalog_migrate_buckets(f->cat, &err);
    assert_int_equal(json_integer_value(json_object_get(r, "stamped_count")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "stamped"), 0)), "a");
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 2);
    json_decref(r);
    m = json_load_file(path, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(m, "bucket")), "primary");
    json_decref(m);
    r = catalog_migrate_buckets(f->cat, &err);
    assert_int_equal(json_integer_value(json_object_get(r, "stamped_count")), 0);
    json_decref(r);
    free(path);
    vfix_free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_patch),
        cmocka_unit_test(test_refresher_on_append),
        cmocka_unit_test(test_refresher_thread_failure_refuses_start),
        cmocka_unit_test(test_profile_fields_and_active),
        cmocka_unit_test(test_migrate_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
