/*
 * test_cache.c — the hot cache (src/query/cache.c): pinning loads a view
 * into memory and the same view name then reads it (hits counted per
 * query), eviction frees it, LRU eviction keeps the tables within the byte
 * budget, a changed SELECT reloads, a vanished view evicts, stats add up,
 * and queries running during pin/evict always get whole answers.
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
#include "query/query.h"

typedef struct {
    lh_query_engine *e;
    lh_query_cache *c;
} fixture;

static int setup_budget(void **state, int64_t budget) {
    fixture *f = lh_calloc(1, sizeof *f);
    lh_query_config cfg = {.threads = 2, .pool_size = 2};
    lh_err err = {0};
    f->e = query_engine_new(&cfg, &err);
    assert_non_null(f->e);
    f->c = query_cache_new(f->e, budget, &err);
    assert_non_null(f->c);
    /* three sources of ~equal size in the main database */
    const char *mk[] = {"CREATE TABLE src_a AS SELECT range AS id, range * 2 AS v FROM range(300000)",
                        "CREATE TABLE src_b AS SELECT range AS id, range * 3 AS v FROM range(300000)",
                        "CREATE TABLE src_c AS SELECT range AS id, range * 4 AS v FROM range(300000)"};
    for (int i = 0; i < 3; i++) assert_int_equal(query_exec(f->e, mk[i], &err), 0);
    *state = f;
    return 0;
}

static int setup(void **state) { return setup_budget(state, 0); /* 1 GB */ }

static int teardown(void **state) {
    fixture *f = *state;
    query_engine_free(f->e);
    query_cache_free(f->c);
    free(f);
    return 0;
}

static const char *NAMES[] = {"a", "b", "c"};
static const char *SELECTS[] = {"SELECT * FROM src_a", "SELECT * FROM src_b", "SELECT * FROM src_c"};

static void publish(fixture *f, uint64_t v, size_t n) {
    lh_err err = {0};
    assert_int_equal(query_cache_set_views(f->c, v, NAMES, SELECTS, n, &err), 0);
}

static int64_t scalar(fixture *f, const char *sql) {
    lh_err err = {0};
    json_t *doc = query_run_json(f->e, sql, NULL, 0, 0, 0, &err);
    if (!doc) fail_msg("%s: %s", sql, err.msg);
    int64_t n = json_integer_value(json_array_get(json_array_get(json_object_get(doc, "rows"), 0), 0));
    json_decref(doc);
    return n;
}

static json_int_t stat(fixture *f, const char *key) {
    json_t *s = query_cache_stats(f->c);
    json_int_t v = json_integer_value(json_object_get(s, key));
    json_decref(s);
    return v;
}

/* The named dataset's entry in stats, as a new reference (or NULL). */
static json_t *stat_entry(fixture *f, const char *name) {
    json_t *s = query_cache_stats(f->c), *out = NULL, *d;
    size_t i;
    json_array_foreach(json_object_get(s, "datasets"), i, d)
        if (!strcmp(json_string_value(json_object_get(d, "dataset")), name)) out = json_incref(d);
    json_decref(s);
    return out;
}

static void test_pin_serves_from_memory(void **state) {
    fixture *f = *state;
    publish(f, 1, 3);
    lh_err err = {0};
    json_t *p = query_cache_pin(f->c, "a", &err);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "dataset")), "a");
    assert_int_equal(json_integer_value(json_object_get(p, "rows")), 300000);
    assert_true(json_integer_value(json_object_get(p, "bytes")) > 0);
    json_decref(p);
    assert_int_equal(scalar(f, "SELECT sum(v) FROM a WHERE id < 10"), 90);
    /* the source changes behind the cache's back: the pinned view still
     * answers from memory (the catalog republishes on real commits) */
    assert_int_equal(query_exec(f->e, "DELETE FROM src_a WHERE id < 5", &err), 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM a"), 300000);
    assert_int_equal(scalar(f, "SELECT count(*) FROM b"), 300000);
    /* hits: one per query of the pinned view */
    json_t *e = stat_entry(f, "a");
    assert_int_equal(json_integer_value(json_object_get(e, "hits")), 2);
    assert_true(json_is_string(json_object_get(e, "last_hit_at")));
    json_decref(e);
    assert_int_equal(stat(f, "hits"), 2);
    assert_int_equal(stat(f, "entries"), 1);
    assert_int_equal(stat(f, "pins"), 1);
    /* pinning again reports the same entry */
    p = query_cache_pin(f->c, "a", &err);
    assert_non_null(p);
    assert_int_equal(json_integer_value(json_object_get(p, "rows")), 300000);
    json_decref(p);
    assert_int_equal(stat(f, "entries"), 1);
}

static void test_pin_refusals(void **state) {
    fixture *f = *state;
    publish(f, 1, 3);
    lh_err err = {0};
    assert_null(query_cache_pin(f->c, "nope", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_null(query_cache_pin(f->c, "", &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_null(query_cache_pin(f->c, NULL, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_null(query_cache_pin(f->c, "__raw__a", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_null(query_cache_evict(f->c, "a", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_null(query_cache_evict(f->c, NULL, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_int_equal(stat(f, "entries"), 0);
}

static void test_evict_frees(void **state) {
    fixture *f = *state;
    publish(f, 1, 3);
    lh_err err = {0};
    json_t *p = query_cache_pin(f->c, "b", &err);
    json_int_t bytes = json_integer_value(json_object_get(p, "bytes"));
    json_decref(p);
    assert_int_equal(stat(f, "bytes"), bytes);
    json_t *ev = query_cache_evict(f->c, "b", &err);
    assert_non_null(ev);
    assert_true(json_is_true(json_object_get(ev, "evicted")));
    assert_int_equal(json_integer_value(json_object_get(ev, "bytes_freed")), bytes);
    json_decref(ev);
    assert_int_equal(stat(f, "entries"), 0);
    assert_int_equal(stat(f, "bytes"), 0);
    assert_int_equal(stat(f, "evictions"), 1);
    assert_int_equal(stat(f, "lru_evictions"), 0);
    /* the view reads its source again: a change there shows */
    assert_int_equal(query_exec(f->e, "DELETE FROM src_b WHERE id < 100", &err), 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM b"), 299900);
}

static void test_too_large_for_budget(void **state) {
    fixture *f;
    setup_budget((void **)&f, 4096);
    publish(f, 1, 3);
    lh_err err = {0};
    assert_null(query_cache_pin(f->c, "a", &err));
    assert_int_equal(err.code, LH_E_TOO_LARGE);
    assert_non_null(strstr(err.hint, "cache_max_mb"));
    assert_int_equal(stat(f, "entries"), 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM a"), 300000);
    void *st = f;
    teardown(&st);
}

static json_int_t table_bytes(void) {
    fixture *f;
    setup_budget((void **)&f, 0);
    publish(f, 1, 3);
    lh_err err = {0};
    json_t *p = query_cache_pin(f->c, "a", &err);
    assert_non_null(p);
    json_int_t b = json_integer_value(json_object_get(p, "bytes"));
    json_decref(p);
    void *st = f;
    teardown(&st);
    return b;
}

/* Budget for two tables: the third pin evicts the least recently used one. */
static void test_lru_within_budget(void **state) {
    (void)state;
    json_int_t one = table_bytes();
    assert_true(one > 0);
    fixture *f;
    setup_budget((void **)&f, one * 5 / 2);
    publish(f, 1, 3);
    lh_err err = {0};
    json_decref(query_cache_pin(f->c, "a", &err));
    json_decref(query_cache_pin(f->c, "b", &err));
    assert_int_equal(stat(f, "entries"), 2);
    assert_int_equal(scalar(f, "SELECT count(*) FROM a"), 300000); /* a is now more recent than b */
    json_t *p = query_cache_pin(f->c, "c", &err);
    assert_non_null(p);
    json_decref(p);
    assert_int_equal(stat(f, "entries"), 2);
    assert_int_equal(stat(f, "lru_evictions"), 1);
    json_t *ea = stat_entry(f, "a"), *eb = stat_entry(f, "b"), *ec = stat_entry(f, "c");
    assert_non_null(ea);
    assert_null(eb);
    assert_non_null(ec);
    json_decref(ea);
    json_decref(ec);
    assert_true(stat(f, "bytes") <= stat(f, "max_bytes"));
    /* b answers from its source again */
    assert_int_equal(scalar(f, "SELECT count(*) FROM b"), 300000);
    void *st = f;
    teardown(&st);
}

static void test_refresh_and_vanish(void **state) {
    fixture *f = *state;
    publish(f, 1, 3);
    lh_err err = {0};
    json_decref(query_cache_pin(f->c, "a", &err));
    json_decref(query_cache_pin(f->c, "c", &err));
    /* a commit: a's SELECT changes, the table is reloaded before answering */
    const char *sel2[] = {"SELECT * FROM src_a WHERE id < 1000", SELECTS[1], SELECTS[2]};
    assert_int_equal(query_cache_set_views(f->c, 2, NAMES, sel2, 3, &err), 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM a"), 1000);
    json_t *ea = stat_entry(f, "a");
    assert_int_equal(json_integer_value(json_object_get(ea, "rows")), 1000);
    assert_int_equal(json_integer_value(json_object_get(ea, "refreshes")), 1);
    json_decref(ea);
    assert_int_equal(stat(f, "refreshes"), 1);
    /* c deleted from the catalog: evicted, its view gone */
    assert_int_equal(query_cache_set_views(f->c, 3, NAMES, sel2, 2, &err), 0);
    assert_null(stat_entry(f, "c"));
    assert_int_equal(stat(f, "entries"), 1);
    assert_int_equal(stat(f, "evictions"), 1);
    assert_null(query_run_json(f->e, "SELECT * FROM c", NULL, 0, 0, 0, &err));
    /* a tombstone filter on top: the rows live under __raw__a now, same SELECT, no reload */
    const char *n4[] = {"__raw__a", "a"}; /* a view after the one it reads, as the catalog orders them */
    const char *s4[] = {sel2[0], "SELECT * FROM \"__raw__a\" WHERE id >= 10"};
    assert_int_equal(query_cache_set_views(f->c, 4, n4, s4, 2, &err), 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM a"), 990);
    assert_int_equal(stat(f, "refreshes"), 1);
    ea = stat_entry(f, "a");
    assert_string_equal(json_string_value(json_object_get(ea, "view")), "__raw__a");
    json_decref(ea);
}

typedef struct {
    fixture *f;
    volatile int stop;
    int bad, reads;
} reader;

static void *reader_main(void *arg) {
    reader *r = arg;
    while (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
        lh_err err = {0};
        json_t *doc = query_run_json(r->f->e, "SELECT count(*), sum(v) FROM a", NULL, 0, 0, 0, &err);
        json_t *row = doc ? json_array_get(json_object_get(doc, "rows"), 0) : NULL;
        if (!row || json_integer_value(json_array_get(row, 0)) != 300000) r->bad++;
        else r->reads++;
        json_decref(doc);
    }
    return NULL;
}

static void test_queries_during_pin_evict(void **state) {
    fixture *f = *state;
    publish(f, 1, 3);
    reader r = {.f = f};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reader_main, &r), 0);
    lh_err err = {0};
    for (int i = 0; i < 5; i++) {
        json_t *p = query_cache_pin(f->c, "a", &err);
        assert_non_null(p);
        json_decref(p);
        json_t *ev = query_cache_evict(f->c, "a", &err);
        assert_non_null(ev);
        json_decref(ev);
    }
    __atomic_store_n(&r.stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(t, NULL);
    assert_int_equal(r.bad, 0);
    assert_true(r.reads > 0);
    assert_int_equal(stat(f, "pins"), 5);
    assert_int_equal(stat(f, "evictions"), 5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pin_serves_from_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pin_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evict_frees, setup, teardown),
        cmocka_unit_test(test_too_large_for_budget),
        cmocka_unit_test(test_lru_within_budget),
        cmocka_unit_test_setup_teardown(test_refresh_and_vanish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queries_during_pin_evict, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
