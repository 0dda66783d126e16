/*
 * test_workspace.c — agent workspaces: create/get/list with defaults and
 * validation, tier expiry (daily/weekly/monthly/pinned) with the purging
 * sweep, saved searches / shortlists / items / activity, zero-copy handoff,
 * persistence and rebuild on open (expired purged, bad files skipped), and
 * concurrent changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "storage/storage.h"
#include "workspace/workspace.h"
#include "workspace/workspace_internal.h"
#include "support/fixture.h"

#define DAY (24LL * 3600 * 1000)

typedef struct {
    lh_storage *st;
    lh_workspaces *ws;
    int64_t now;          /* the fake clock */
} fixture;

static int64_t fake_clock(void *ctx) {
    return ((fixture *)ctx)->now;
}

static int setup(void **state) {
    fixture *f = lh_calloc(1, sizeof *f);
    lh_err err = {0};
    f->st = fixture_bucket_open("ws", NULL);
    f->ws = workspaces_open(f->st, &err);
    assert_non_null(f->ws);
    f->now = lh_now_ms();
    workspaces_set_clock(f->ws, fake_clock, f);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    workspaces_free(f->ws);
    fixture_bucket_close(f->st);
    free(f);
    return 0;
}

static json_t *J(const char *text) {
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    assert_non_null(j);
    return j;
}

/* Creates a workspace from JSON text; returns its id (caller frees). */
static char *create(fixture *f, const char *text, const char *actor) {
    json_t *req = J(text);
    lh_err err = {0};
    json_t *w = workspace_create(f->ws, req, actor, &err);
    json_decref(req);
    assert_non_null(w);
    char *id = lh_strdup(json_string_value(json_object_get(w, "id")));
    json_decref(w);
    return id;
}

static const char *sget(const json_t *o, const char *k) {
    return json_string_value(json_object_get(o, k));
}

static void expect_error(json_t *got, const lh_err *err, lh_errcode code) {
    assert_null(got);
    assert_int_equal(err->code, code);
    assert_true(strlen(err->msg) > 0);
}

static void test_create_get_list(void **state) {
    fixture *f = *state;
    char *a = create(f, "{\"name\":\"Q3 hiring\"}", "agent-a");
    char *b = create(f, "{\"name\":\"nurses\",\"tier\":\"weekly\",\"owner_agent\":\"agent-b\"}", "admin");
    lh_err err = {0};
    json_t *w = workspace_get(f->ws, a, &err);
    assert_non_null(w);
    assert_string_equal(sget(w, "name"), "Q3 hiring");
    assert_string_equal(sget(w, "tier"), "daily");        /* default tier */
    assert_string_equal(sget(w, "owner_agent"), "agent-a"); /* default owner: the caller */
    assert_true(json_is_string(json_object_get(w, "expires_at")));
    assert_int_equal(json_array_size(json_object_get(w, "activity")), 1);
    json_decref(w);

    json_t *l = workspaces_list(f->ws, NULL, NULL, &err);
    assert_int_equal(json_array_size(json_object_get(l, "workspaces")), 2);
    json_t *first = json_array_get(json_object_get(l, "workspaces"), 0);
    assert_null(json_object_get(first, "activity")); /* summaries carry counts, not lists */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(first, "counts"), "activity")), 1);
    json_decref(l);
    l = workspaces_list(f->ws, "agent-b", NULL, &err);
    assert_int_equal(json_array_size(json_object_get(l, "workspaces")), 1);
    json_decref(l);
    l = workspaces_list(f->ws, NULL, "weekly", &err);
    assert_int_equal(json_array_size(json_object_get(l, "workspaces")), 1);
    json_decref(l);
    expect_error(workspaces_list(f->ws, NULL, "yearly", &err), &err, LH_E_BAD_REQUEST);

    static const char *bad[] = {"{}", "{\"name\":\"\"}", "{\"name\":\"x\",\"tier\":\"hourly\"}",
                                "{\"name\":\"x\",\"color\":\"red\"}", "{\"name\":7}", "[1]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *req = J(bad[i]);
        expect_error(workspace_create(f->ws, req, "a", &err), &err, LH_E_BAD_REQUEST);
        json_decref(req);
    }
    expect_error(workspace_get(f->ws, "nope", &err), &err, LH_E_NOT_FOUND);
    assert_int_equal(workspace_delete(f->ws, b, &err), 0);
    assert_int_equal(workspace_delete(f->ws, b, &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_int_equal(workspaces_count(f->ws), 1);
    free(a);
    free(b);
}

static void test_tiers_expire(void **state) {
    fixture *f = *state;
    char *d = create(f, "{\"name\":\"d\",\"tier\":\"daily\"}", "x");
    char *w = create(f, "{\"name\":\"w\",\"tier\":\"weekly\"}", "x");
    char *m = create(f, "{\"name\":\"m\",\"tier\":\"monthly\"}", "x");
    char *p = create(f, "{\"name\":\"p\",\"tier\":\"pinned\"}", "x");
    char *pin_later = create(f, "{\"name\":\"q\"}", "x");
    lh_err err = {0};
    json_t *pinned = workspace_pin(f->ws, pin_later, "x", &err);
    assert_string_equal(sget(pinned, "tier"), "pinned");
    assert_true(json_is_null(json_object_get(pinned, "expires_at")));
    json_decref(pinned);
    char *key = lh_asprintf("_workspaces/%s.json", d);
    assert_true(storage_exists(f->st, key));

    f->now += DAY + 1;                               /* the daily one reads as gone at once */
    expect_error(workspace_get(f->ws, d, &err), &err, LH_E_NOT_FOUND);
    assert_true(storage_exists(f->st, key));          /* ... and the sweep purges it */
    json_t *l = workspaces_list(f->ws, NULL, NULL, &err);
    assert_int_equal(json_array_size(json_object_get(l, "workspaces")), 4);
    json_decref(l);
    assert_false(storage_exists(f->st, key));

    f->now += 7 * DAY;
    assert_int_equal(workspaces_sweep(f->ws), 1);     /* weekly */
    f->now += 30 * DAY;
    assert_int_equal(workspaces_sweep(f->ws), 1);     /* monthly */
    f->now += 3650 * DAY;
    assert_int_equal(workspaces_sweep(f->ws), 0);     /* pinned ones live on */
    assert_int_equal(workspaces_count(f->ws), 2);
    json_t *still = workspace_get(f->ws, p, &err);
    assert_non_null(still);
    json_decref(still);
    json_t *req = J("{\"action\":\"x\"}");
    expect_error(workspace_log_activity(f->ws, w, req, "x", &err), &err, LH_E_NOT_FOUND);
    json_decref(req);
    free(key);
    free(d);
    free(w);
    free(m);
    free(p);
    free(pin_later);
}

/* Applies a change given as JSON text; asserts success, returns the doc. */
typedef json_t *(*edit_fn)(lh_workspaces *, const char *, const json_t *, const char *, lh_err *);
static json_t *edit(fixture *f, edit_fn fn, const char *id, const char *text) {
    json_t *req = J(text);
    lh_err err = {0};
    json_t *w = fn(f->ws, id, req, "agent-a", &err);
    json_decref(req);
    if (!w) fail_msg("edit failed: %s", err.msg);
    return w;
}

static lh_errcode edit_fails(fixture *f, edit_fn fn, const char *id, const char *text) {
    json_t *req = J(text);
    lh_err err = {0};
    json_t *w = fn(f->ws, id, req, "agent-a", &err);
    json_decref(req);
    assert_null(w);
    return err.code;
}

static void test_searches_shortlists_activity(void **state) {
    fixture *f = *state;
    char *id = create(f, "{\"name\":\"pipeline\"}", "agent-a");
    json_decref(edit(f, workspace_save_search, id, "{\"name\":\"rn\",\"query\":\"registered nurse\",\"index\":\"cands\"}"));
    json_t *w = edit(f, workspace_save_search, id,
                     "{\"name\":\"rn\",\"query\":\"RN night shift\",\"params\":{\"k\":20}}");
    json_t *ss = json_object_get(w, "saved_searches");
    assert_int_equal(json_array_size(ss), 1); /* same name replaces */
    assert_string_equal(sget(json_array_get(ss, 0), "query"), "RN night shift");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_array_get(ss, 0), "params"), "k")), 20);
    json_decref(w);
    assert_int_equal(edit_fails(f, workspace_save_search, id, "{\"name\":\"x\"}"), LH_E_BAD_REQUEST);
    assert_int_equal(edit_fails(f, workspace_save_search, id, "{\"name\":\"x\",\"query\":\"q\",\"params\":[1]}"),
                     LH_E_BAD_REQUEST);

    json_decref(edit(f, workspace_add_shortlist, id,
                     "{\"name\":\"top\",\"items\":[{\"entity\":\"candidate\",\"id\":17,\"note\":\"strong\"}]}"));
    assert_int_equal(edit_fails(f, workspace_add_shortlist, id, "{\"name\":\"top\"}"), LH_E_CONFLICT);
    json_t *req = J("{\"items\":[{\"entity\":\"candidate\",\"id\":\"c-9\"},{\"entity\":\"candidate\",\"id\":17,"
                    "\"note\":\"called\"}]}");
    lh_err err = {0};
    w = workspace_add_items(f->ws, id, "top", req, "agent-b", &err);
    json_decref(req);
    assert_non_null(w);
    json_t *items = json_object_get(json_array_get(json_object_get(w, "shortlists"), 0), "items");
    assert_int_equal(json_array_size(items), 2);       /* 17 was already there: note updated */
    assert_string_equal(sget(json_array_get(items, 0), "note"), "called");
    assert_string_equal(sget(json_array_get(items, 0), "added_by"), "agent-a");
    assert_string_equal(sget(json_array_get(items, 1), "added_by"), "agent-b");
    json_decref(w);
    req = J("{\"entity\":\"job\",\"id\":3}");
    w = workspace_add_items(f->ws, id, "top", req, "agent-a", &err); /* a single item */
    assert_non_null(w);
    json_decref(w);
    assert_null(workspace_add_items(f->ws, id, "missing", req, "agent-a", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    json_decref(req);
    req = J("{\"entity\":\"job\"}");
    assert_null(workspace_add_items(f->ws, id, "top", req, "agent-a", &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    json_decref(req);

    w = edit(f, workspace_log_activity, id, "{\"action\":\"called_candidate\",\"detail\":{\"id\":17}}");
    json_t *act = json_object_get(w, "activity");
    json_t *last = json_array_get(act, json_array_size(act) - 1);
    assert_string_equal(sget(last, "action"), "called_candidate");
    assert_string_equal(sget(last, "actor"), "agent-a");
    assert_true(json_is_string(json_object_get(last, "ts")));
    json_decref(w);
    for (int i = 0; i < WORKSPACE_ACTIVITY_MAX + 5; i++) json_decref(edit(f, workspace_log_activity, id, "{\"action\":\"tick\"}"));
    w = workspace_get(f->ws, id, &err);
    assert_int_equal(json_array_size(json_object_get(w, "activity")), WORKSPACE_ACTIVITY_MAX);
    json_decref(w);
    free(id);
}

static void test_handoff_zero_copy(void **state) {
    fixture *f = *state;
    char *id = create(f, "{\"name\":\"handover\",\"owner_agent\":\"agent-a\"}", "agent-a");
    json_decref(edit(f, workspace_add_shortlist, id, "{\"name\":\"l\",\"items\":[{\"entity\":\"c\",\"id\":1}]}"));
    json_decref(edit(f, workspace_save_search, id, "{\"name\":\"s\",\"query\":\"q\"}"));

    pthread_rwlock_rdlock(&f->ws->lock); /* the registry's own parts, before */
    json_t *lists_before = json_object_get(f->ws->items[0].doc, "shortlists");
    json_t *searches_before = json_object_get(f->ws->items[0].doc, "saved_searches");
    pthread_rwlock_unlock(&f->ws->lock);

    json_t *w = edit(f, workspace_handoff, id, "{\"to_agent\":\"agent-b\",\"from_agent\":\"agent-a\",\"note\":\"yours\"}");
    assert_string_equal(sget(w, "owner_agent"), "agent-b");
    assert_string_equal(sget(w, "id"), id);
    json_t *act = json_object_get(w, "activity");
    json_t *last = json_array_get(act, json_array_size(act) - 1);
    assert_string_equal(sget(last, "action"), "handoff");
    assert_string_equal(sget(json_object_get(last, "detail"), "from"), "agent-a");
    assert_string_equal(sget(json_object_get(last, "detail"), "to"), "agent-b");
    json_decref(w);

    pthread_rwlock_rdlock(&f->ws->lock); /* same lists, shared, not copied */
    assert_ptr_equal(json_object_get(f->ws->items[0].doc, "shortlists"), lists_before);
    assert_ptr_equal(json_object_get(f->ws->items[0].doc, "saved_searches"), searches_before);
    pthread_rwlock_unlock(&f->ws->lock);
    assert_int_equal(workspaces_count(f->ws), 1);

    lh_err err = {0};
    json_t *l = workspaces_list(f->ws, "agent-b", NULL, &err);
    assert_int_equal(json_array_size(json_object_get(l, "workspaces")), 1);
    json_decref(l);
    assert_int_equal(edit_fails(f, workspace_handoff, id, "{\"to_agent\":\"agent-c\",\"from_agent\":\"agent-a\"}"),
                     LH_E_CONFLICT);
    assert_int_equal(edit_fails(f, workspace_handoff, id, "{\"to_agent\":\"agent-b\"}"), LH_E_BAD_REQUEST);
    assert_int_equal(edit_fails(f, workspace_handoff, id, "{}"), LH_E_BAD_REQUEST);
    free(id);
}

static void test_persist_and_rebuild(void **state) {
    fixture *f = *state;
    int64_t real = f->now;
    f->now = real - 2 * DAY;                        /* made two days ago: expired by now */
    char *old = create(f, "{\"name\":\"stale\"}", "a");
    f->now = real;
    char *id = create(f, "{\"name\":\"kept\",\"tier\":\"monthly\"}", "a");
    json_decref(edit(f, workspace_add_shortlist, id, "{\"name\":\"l\",\"items\":[{\"entity\":\"c\",\"id\":1}]}"));
    json_decref(edit(f, workspace_handoff, id, "{\"to_agent\":\"b\"}"));
    lh_err err = {0};
    json_t *before = workspace_get(f->ws, id, &err);
    assert_int_equal(storage_put(f->st, "_workspaces/not-a-workspace.json", "{", 1, NULL, &err), 0);
    char bad_id[37];
    lh_uuid4(bad_id);
    char *bad_key = lh_asprintf("_workspaces/%s.json", bad_id);
    assert_int_equal(storage_put(f->st, bad_key, "{\"id\":\"other\"}", 14, NULL, &err), 0);

    workspaces_free(f->ws);                          /* restart: everything from the bucket */
    f->ws = workspaces_open(f->st, &err);
    assert_non_null(f->ws);
    assert_int_equal(workspaces_count(f->ws), 1);    /* expired purged, bad files skipped */
    char *old_key = lh_asprintf("_workspaces/%s.json", old);
    assert_false(storage_exists(f->st, old_key));
    assert_true(storage_exists(f->st, bad_key));     /* never deleted: not ours to judge */
    json_t *after = workspace_get(f->ws, id, &err);
    assert_non_null(after);
    assert_true(json_equal(before, after));
    assert_string_equal(sget(after, "owner_agent"), "b");
    json_decref(before);
    json_decref(after);
    free(old_key);
    free(bad_key);
    free(old);
    free(id);
}

typedef struct {
    fixture *f;
    const char *id;
    int n, base;
} worker;

static void *add_items_worker(void *arg) {
    worker *w = arg;
    for (int i = 0; i < w->n; i++) {
        char *text = lh_asprintf("{\"entity\":\"c\",\"id\":%d}", w->base + i);
        json_t *req = J(text);
        lh_err err = {0};
        json_t *doc = workspace_add_items(w->f->ws, w->id, "l", req, "t", &err);
        assert_non_null(doc);
        json_decref(doc);
        json_decref(req);
        free(text);
        doc = workspace_get(w->f->ws, w->id, &err);
        json_decref(doc);
    }
    return NULL;
}

static void test_concurrent_changes(void **state) {
    fixture *f = *state;
    char *id = create(f, "{\"name\":\"busy\"}", "a");
    json_decref(edit(f, workspace_add_shortlist, id, "{\"name\":\"l\"}"));
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){f, id, 25, i * 1000};
        assert_int_equal(pthread_create(&th[i], NULL, add_items_worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    lh_err err = {0};
    json_t *doc = workspace_get(f->ws, id, &err);
    assert_int_equal(json_array_size(json_object_get(json_array_get(json_object_get(doc, "shortlists"), 0), "items")), 100);
    json_decref(doc);
    free(id);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_get_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tiers_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_searches_shortlists_activity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handoff_zero_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persist_and_rebuild, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_changes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
