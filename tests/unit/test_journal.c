/*
 * test_journal.c — the event journal: validation, history/recent over the
 * buffer and the Parquet files together, threshold / timer / close
 * flushes, updates with several changes (all or nothing), merging files
 * and recovering an interrupted merge, concurrent appends during flushes,
 * stats, the journal_events SQL view, and durability: acknowledged events
 * survive a process that dies before any flush (write-ahead log), a
 * flushed segment is not replayed twice, a torn record is dropped.
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
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "journal/journal.h"
#include "query/query.h"
#include "storage/storage.h"
#include "support/fixture.h"

typedef struct {
    lh_storage *st;
    lh_journal *j;
} fixture;

static lh_journal *open_journal(lh_storage *st, size_t threshold, int interval_ms, size_t compact_at) {
    lh_journal_options o = {.flush_threshold = threshold, .flush_interval_ms = interval_ms,
                            .compact_at = compact_at};
    lh_err err = {0};
    lh_journal *j = journal_open(st, &o, &err);
    if (!j) fail_msg("journal_open: %s", err.msg);
    return j;
}

static int setup(void **state) {
    fixture *f = lh_calloc(1, sizeof *f);
    f->st = fixture_bucket_open("journal", NULL);
    f->j = open_journal(f->st, 1000, -1, 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    journal_free(f->j);
    fixture_bucket_close(f->st);
    free(f);
    return 0;
}

/* Appends an event from JSON text; fails the test on error. */
static json_t *append(lh_journal *j, const char *text) {
    json_t *ev = json_loads(text, 0, NULL);
    assert_non_null(ev);
    lh_err err = {0};
    json_t *r = journal_append(j, ev, "tester", &err);
    if (!r) fail_msg("append %s: %s", text, err.msg);
    json_decref(ev);
    return r;
}

static void add(lh_journal *j, const char *entity_id, const char *field, const char *nv) {
    char *t = lh_asprintf("{\"entity\":\"candidate\",\"entity_id\":\"%s\",\"field\":\"%s\",\"new_value\":\"%s\"}",
                          entity_id, field, nv);
    json_decref(append(j, t));
    free(t);
}

static json_t *history(lh_journal *j, const char *id, int64_t limit) {
    lh_journal_filter f = {.entity_id = id, .limit = limit, .oldest_first = 1};
    lh_err err = {0};
    json_t *r = journal_query(j, &f, &err);
    if (!r) fail_msg("history: %s", err.msg);
    return r;
}

static const char *ev_str(json_t *res, size_t i, const char *k) {
    return json_string_value(json_object_get(json_array_get(json_object_get(res, "events"), i), k));
}

static int64_t stat_int(lh_journal *j, const char *k) {
    json_t *s = journal_stats(j, NULL);
    assert_non_null(s);
    int64_t v = json_integer_value(json_object_get(s, k));
    json_decref(s);
    return v;
}

static size_t count_files(lh_storage *st) {
    lh_object_info *objs;
    size_t n, files = 0;
    assert_int_equal(storage_list(st, "_journal/events-", &objs, &n, NULL), 0);
    for (size_t i = 0; i < n; i++) files += strstr(objs[i].key, ".parquet") != NULL;
    storage_list_free(objs, n);
    return files;
}

static void test_validation(void **state) {
    fixture *f = *state;
    static const struct { const char *json; lh_errcode code; } bad[] = {
        {"{\"entity_id\":\"1\"}", LH_E_BAD_REQUEST},
        {"{\"entity\":\"candidate\"}", LH_E_BAD_REQUEST},
        {"{\"entity\":\"candidate\",\"entity_id\":\"\"}", LH_E_BAD_REQUEST},
        {"{\"entity\":\"candidate\",\"entity_id\":\"1\",\"bogus\":1}", LH_E_BAD_REQUEST},
        {"{\"entity\":\"candidate\",\"entity_id\":\"1\",\"id\":\"x\"}", LH_E_BAD_REQUEST},
        {"{\"entity\":7,\"entity_id\":\"1\"}", LH_E_BAD_REQUEST},
        {"{\"entity\":\"c\",\"entity_id\":1.5}", LH_E_BAD_REQUEST},
        {"{\"entity\":\"c\",\"entity_id\":\"1\",\"actor\":[1]}", LH_E_BAD_REQUEST},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *ev = json_loads(bad[i].json, 0, NULL);
        lh_err err = {0};
        assert_null(journal_append(f->j, ev, "t", &err));
        assert_int_equal(err.code, bad[i].code);
        assert_true(strlen(err.msg) > 0);
        json_decref(ev);
    }
    char *big = lh_malloc(70000);
    memset(big, 'x', 69999);
    big[69999] = 0;
    json_t *ev = json_pack("{s:s, s:s, s:s}", "entity", "c", "entity_id", "1", "new_value", big);
    lh_err err = {0};
    assert_null(journal_append(f->j, ev, "t", &err));
    assert_int_equal(err.code, LH_E_TOO_LARGE);
    json_decref(ev);
    free(big);
    assert_int_equal(stat_int(f->j, "total_events"), 0);
}

static void test_append_defaults_and_values(void **state) {
    fixture *f = *state;
    json_t *e = append(f->j, "{\"entity\":\"candidate\",\"entity_id\":42,\"field\":\"rate\","
                             "\"old_value\":55.5,\"new_value\":{\"hourly\":60},\"details\":{\"why\":\"raise\"}}");
    assert_int_equal(strlen(json_string_value(json_object_get(e, "id"))), 36);
    const char *ts = json_string_value(json_object_get(e, "ts"));
    assert_int_equal(strlen(ts), 27); /* 2026-01-01T00:00:00.000000Z */
    assert_string_equal(json_string_value(json_object_get(e, "entity_id")), "42");
    assert_string_equal(json_string_value(json_object_get(e, "event_type")), "event");
    assert_string_equal(json_string_value(json_object_get(e, "actor")), "tester");
    assert_string_equal(json_string_value(json_object_get(e, "source")), "api");
    assert_true(json_is_null(json_object_get(e, "workspace")));
    assert_string_equal(json_string_value(json_object_get(e, "old_value")), "55.5");
    assert_string_equal(json_string_value(json_object_get(e, "new_value")), "{\"hourly\":60}");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "details"), "why")), "raise");
    json_decref(e);
    /* the same after a round trip through Parquet */
    json_decref(journal_flush(f->j, NULL));
    json_t *h = history(f->j, "42", 10);
    assert_int_equal(json_integer_value(json_object_get(h, "count")), 1);
    assert_string_equal(ev_str(h, 0, "new_value"), "{\"hourly\":60}");
    assert_string_equal(ev_str(h, 0, "actor"), "tester");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(json_object_get(h, "events"), 0), "details"), "why")),
                        "raise");
    json_decref(h);
}

static void test_history_spans_files_and_buffer(void **state) {
    fixture *f = *state;
    add(f->j, "C-1", "status", "new");
    add(f->j, "C-2", "status", "new");
    json_t *r = journal_flush(f->j, NULL);
    assert_int_equal(json_integer_value(json_object_get(r, "flushed")), 2);
    assert_non_null(strstr(json_string_value(json_object_get(r, "file")), "_journal/events-"));
    json_decref(r);
    add(f->j, "C-1", "status", "screened");
    r = journal_flush(f->j, NULL);
    json_decref(r);
    add(f->j, "C-1", "status", "placed"); /* stays buffered */
    assert_int_equal(count_files(f->st), 2);

    json_t *h = history(f->j, "C-1", 0);
    assert_int_equal(json_integer_value(json_object_get(h, "count")), 3);
    assert_string_equal(ev_str(h, 0, "new_value"), "new");
    assert_string_equal(ev_str(h, 1, "new_value"), "screened");
    assert_string_equal(ev_str(h, 2, "new_value"), "placed");
    assert_false(json_is_true(json_object_get(h, "truncated")));
    json_decref(h);

    h = history(f->j, "C-1", 2); /* the newest two, still chronological */
    assert_int_equal(json_integer_value(json_object_get(h, "count")), 2);
    assert_string_equal(ev_str(h, 0, "new_value"), "screened");
    assert_true(json_is_true(json_object_get(h, "truncated")));
    json_decref(h);

    lh_journal_filter rf = {.limit = 10};
    json_t *rec = journal_query(f->j, &rf, NULL);
    assert_int_equal(json_integer_value(json_object_get(rec, "count")), 4);
    assert_string_equal(ev_str(rec, 0, "new_value"), "placed"); /* newest first */
    json_decref(rec);
    lh_journal_filter ff = {.entity_id = "C-2", .field = "status", .actor = "tester", .limit = 10};
    rec = journal_query(f->j, &ff, NULL);
    assert_int_equal(json_integer_value(json_object_get(rec, "count")), 1);
    json_decref(rec);
    ff.actor = "someone-else";
    rec = journal_query(f->j, &ff, NULL);
    assert_int_equal(json_integer_value(json_object_get(rec, "count")), 0);
    json_decref(rec);

    json_t *s = journal_stats(f->j, NULL);
    assert_int_equal(json_integer_value(json_object_get(s, "total_events")), 4);
    assert_int_equal(json_integer_value(json_object_get(s, "buffered")), 1);
    assert_int_equal(json_integer_value(json_object_get(s, "flushed_events")), 3);
    assert_int_equal(json_integer_value(json_object_get(s, "files")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "by_entity"), "candidate")), 4);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "by_actor"), "tester")), 4);
    assert_true(json_integer_value(json_object_get(s, "bytes")) > 0);
    assert_non_null(json_string_value(json_object_get(s, "oldest")));
    json_decref(s);
}

static void test_since_filter(void **state) {
    fixture *f = *state;
    add(f->j, "S-1", "a", "1");
    json_decref(journal_flush(f->j, NULL));
    usleep(20000);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t mid = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    json_t *e = append(f->j, "{\"entity\":\"candidate\",\"entity_id\":\"S-1\",\"field\":\"b\"}");
    json_decref(e);
    json_decref(journal_flush(f->j, NULL));
    add(f->j, "S-1", "c", "3");
    json_t *all = history(f->j, "S-1", 0);
    assert_int_equal(json_integer_value(json_object_get(all, "count")), 3);
    json_decref(all);
    lh_journal_filter sf = {.entity_id = "S-1", .since_us = mid}; /* excludes the first only */
    json_t *r = journal_query(f->j, &sf, NULL);
    assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
    json_decref(r);
}

static void test_update_changes_all_or_nothing(void **state) {
    fixture *f = *state;
    json_t *req = json_loads("{\"entity\":\"job\",\"entity_id\":\"J-9\",\"workspace\":\"ws1\",\"changes\":["
                             "{\"field\":\"title\",\"old_value\":\"Dev\",\"new_value\":\"Senior Dev\"},"
                             "{\"field\":\"rate\",\"new_value\":120}]}", 0, NULL);
    lh_err err = {0};
    json_t *r = journal_record_update(f->j, req, "alice", &err);
    assert_non_null(r);
    json_t *evs = json_object_get(r, "events");
    assert_int_equal(json_array_size(evs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(evs, 0), "event_type")), "update");
    assert_string_equal(json_string_value(json_object_get(json_array_get(evs, 1), "workspace")), "ws1");
    assert_string_equal(json_string_value(json_object_get(json_array_get(evs, 1), "new_value")), "120");
    json_decref(r);
    json_decref(req);

    req = json_loads("{\"entity\":\"job\",\"entity_id\":\"J-9\",\"changes\":[{\"field\":\"a\"},{\"new_value\":1}]}", 0,
                     NULL);
    assert_null(journal_record_update(f->j, req, "alice", &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "changes[1]"));
    json_decref(req);
    req = json_loads("{\"entity\":\"job\",\"entity_id\":\"J-9\",\"new_value\":1}", 0, NULL);
    assert_null(journal_record_update(f->j, req, "alice", &err));
    assert_non_null(strstr(err.msg, "'field'"));
    json_decref(req);
    req = json_loads("{\"entity\":\"job\",\"entity_id\":\"J-9\",\"field\":\"x\",\"changes\":[]}", 0, NULL);
    assert_null(journal_record_update(f->j, req, "alice", &err));
    json_decref(req);
    assert_int_equal(stat_int(f->j, "total_events"), 2);
}

static void wait_for_flushes(lh_journal *j, int64_t want) {
    for (int i = 0; i < 400 && stat_int(j, "flushes") < want; i++) usleep(10000);
    assert_true(stat_int(j, "flushes") >= want);
}

static void test_threshold_flush(void **state) {
    fixture *f = *state;
    journal_free(f->j);
    f->j = open_journal(f->st, 10, -1, 0);
    for (int i = 0; i < 10; i++) add(f->j, "T-1", "n", "v");
    wait_for_flushes(f->j, 1);
    assert_int_equal(stat_int(f->j, "buffered"), 0);
    for (int i = 0; i < 5; i++) add(f->j, "T-1", "n", "v");
    usleep(100000); /* below the threshold, no timer: stays buffered */
    assert_int_equal(stat_int(f->j, "buffered"), 5);
    assert_int_equal(stat_int(f->j, "flushes"), 1);
    assert_int_equal(stat_int(f->j, "total_events"), 15);
    assert_int_equal(count_files(f->st), 1);
}

static void test_timer_flush(void **state) {
    fixture *f = *state;
    journal_free(f->j);
    f->j = open_journal(f->st, 1000, 50, 0);
    add(f->j, "T-2", "n", "v");
    wait_for_flushes(f->j, 1);
    assert_int_equal(count_files(f->st), 1);
    assert_int_equal(stat_int(f->j, "buffered"), 0);
    assert_int_equal(stat_int(f->j, "flushes"), 1);
}

static void test_close_flushes_and_reopen(void **state) {
    fixture *f = *state;
    add(f->j, "R-1", "status", "a");
    add(f->j, "R-1", "status", "b");
    assert_int_equal(count_files(f->st), 0);
    journal_free(f->j);
    assert_int_equal(count_files(f->st), 1);
    f->j = open_journal(f->st, 1000, -1, 0);
    json_t *h = history(f->j, "R-1", 0);
    assert_int_equal(json_integer_value(json_object_get(h, "count")), 2);
    assert_string_equal(ev_str(h, 1, "new_value"), "b");
    json_decref(h);
}

static size_t count_wal(lh_storage *st, char **first_key) {
    lh_object_info *objs;
    size_t n;
    assert_int_equal(storage_list(st, "_journal/wal-", &objs, &n, NULL), 0);
    if (first_key) *first_key = n ? lh_strdup(objs[0].key) : NULL;
    storage_list_free(objs, n);
    return n;
}

static int64_t history_count(lh_journal *j, const char *id) {
    json_t *h = history(j, id, 10000);
    int64_t n = json_integer_value(json_object_get(h, "count"));
    json_decref(h);
    return n;
}

/* A process that dies right after its appends returned (no flush, no
 * close, as kill -9) loses none of them: they replay from the WAL once. */
static void test_crash_after_ack_loses_nothing(void **state) {
    fixture *f = *state;
    journal_free(f->j);
    f->j = NULL;
    pid_t child = fork();
    if (child == 0) {
        lh_journal *j = open_journal(f->st, 1000, -1, 0);
        for (int i = 0; i < 25; i++) add(j, "K-1", "n", "v");
        lh_err err = {0};
        json_t *upd = json_loads("{\"entity\":\"candidate\",\"entity_id\":\"K-1\",\"changes\":["
                                 "{\"field\":\"a\",\"new_value\":1},{\"field\":\"b\",\"new_value\":2}]}", 0, NULL);
        json_t *r = journal_record_update(j, upd, "tester", &err);
        _exit(r ? 0 : 1); /* no journal_free: the buffer dies with the process */
    }
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(count_files(f->st), 0); /* nothing was flushed */
    f->j = open_journal(f->st, 1000, -1, 0);
    assert_int_equal(history_count(f->j, "K-1"), 27);
    /* the replayed events flush once; their segment goes */
    json_decref(journal_flush(f->j, NULL));
    assert_int_equal(count_files(f->st), 1);
    assert_int_equal(count_wal(f->st, NULL), 1); /* only the fresh, empty segment */
    journal_free(f->j);
    f->j = open_journal(f->st, 1000, -1, 0);
    assert_int_equal(history_count(f->j, "K-1"), 27);
}

/* A crash between a flush's file and its segment's deletion: the flushed
 * events are recognised, not replayed twice, the unflushed tail is; a torn
 * last record (a write cut short) is dropped. */
static void test_flushed_segment_not_replayed(void **state) {
    fixture *f = *state;
    for (int i = 0; i < 5; i++) add(f->j, "S-1", "n", "v");
    char *key = NULL;
    assert_int_equal(count_wal(f->st, &key), 1);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(storage_get(f->st, key, &text, &len, NULL), 0);
    json_decref(journal_flush(f->j, NULL));
    assert_false(storage_exists(f->st, key)); /* flushed: dropped */
    journal_free(f->j);
    f->j = NULL;
    /* as if the delete never ran, with one event after the flushed ones (a rotation that failed) */
    char *more = lh_asprintf("%s{\"ts_us\":3,\"id\":\"00000000-0000-4000-8000-000000000003\",\"event_type\":\"event\","
                             "\"entity\":\"candidate\",\"entity_id\":\"S-3\"}\n", text);
    assert_int_equal(storage_put(f->st, key, more, strlen(more), NULL, NULL), 0);
    free(more);
    /* a later segment with one whole record and a torn one */
    const char *torn = "{\"ts_us\":1,\"id\":\"00000000-0000-4000-8000-000000000001\",\"event_type\":\"event\","
                       "\"entity\":\"candidate\",\"entity_id\":\"S-2\"}\n{\"ts_us\":2,\"id\":\"00";
    assert_int_equal(storage_put(f->st, "_journal/wal-999999999999.jsonl", torn, strlen(torn), NULL, NULL), 0);
    f->j = open_journal(f->st, 1000, -1, 0);
    assert_int_equal(history_count(f->j, "S-1"), 5);
    assert_int_equal(history_count(f->j, "S-2"), 1);
    assert_int_equal(history_count(f->j, "S-3"), 1); /* only the unflushed tail was replayed */
    json_decref(journal_flush(f->j, NULL));
    assert_false(storage_exists(f->st, key));
    free(text);
    free(key);
}

static void test_merge_keeps_every_event_once(void **state) {
    fixture *f = *state;
    journal_free(f->j);
    f->j = open_journal(f->st, 1000, -1, 3);
    for (int i = 0; i < 6; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        add(f->j, "M-1", "n", v);
        json_decref(journal_flush(f->j, NULL));
    }
    assert_true(count_files(f->st) <= 3);
    assert_false(storage_exists(f->st, "_journal/merge-intent.json"));
    json_t *h = history(f->j, "M-1", 0);
    assert_int_equal(json_integer_value(json_object_get(h, "count")), 6);
    for (int i = 0; i < 6; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        assert_string_equal(ev_str(h, (size_t)i, "new_value"), v);
    }
    json_decref(h);
    assert_int_equal(stat_int(f->j, "total_events"), 6);
}

static char *file_key(lh_storage *st, size_t idx) {
    lh_object_info *objs;
    size_t n;
    assert_int_equal(storage_list(st, "_journal/events-", &objs, &n, NULL), 0);
    assert_true(idx < n);
    char *k = lh_strdup(objs[idx].key);
    storage_list_free(objs, n);
    return k;
}

static void put_intent(lh_storage *st, const char *out, const char *in) {
    char *t = lh_asprintf("{\"output\":\"%s\",\"inputs\":[\"%s\"]}", out, in);
    assert_int_equal(storage_put(st, "_journal/merge-intent.json", t, strlen(t), NULL, NULL), 0);
    free(t);
}

static void test_merge_recovery(void **state) {
    fixture *f = *state;
    add(f->j, "X-1", "n", "a");
    json_decref(journal_flush(f->j, NULL));
    add(f->j, "X-1", "n", "b");
    json_decref(journal_flush(f->j, NULL));
    journal_free(f->j);
    char *a = file_key(f->st, 0), *b = file_key(f->st, 1);
    /* output missing: the merge is abandoned, the inputs stay */
    put_intent(f->st, "_journal/events-9999999999999-000001.parquet", a);
    f->j = open_journal(f->st, 1000, -1, 0);
    assert_int_equal(count_files(f->st), 2);
    assert_false(storage_exists(f->st, "_journal/merge-intent.json"));
    journal_free(f->j);
    /* output present: the merge is completed, its inputs go */
    put_intent(f->st, a, b);
    f->j = open_journal(f->st, 1000, -1, 0);
    assert_int_equal(count_files(f->st), 1);
    assert_false(storage_exists(f->st, b));
    assert_false(storage_exists(f->st, "_journal/merge-intent.json"));
    free(a);
    free(b);
}

typedef struct {
    lh_journal *j;
    int id;
} worker_arg;

static void *worker(void *p) {
    worker_arg *w = p;
    for (int i = 0; i < 300; i++) {
        char id[16], v[16];
        snprintf(id, sizeof id, "W-%d", w->id);
        snprintf(v, sizeof v, "%d", i);
        json_t *ev = json_pack("{s:s, s:s, s:s, s:s}", "entity", "worker", "entity_id", id, "field", "n",
                               "new_value", v);
        json_t *r = journal_append(w->j, ev, "w", NULL);
        if (!r) abort();
        json_decref(r);
        json_decref(ev);
        if (i % 10 == 0) usleep(1000); /* let the flush thread and merges interleave */
        if (i % 50 == 0) {
            lh_journal_filter f = {.entity_id = id, .limit = 10000};
            json_t *q = journal_query(w->j, &f, NULL);
            if (!q || json_integer_value(json_object_get(q, "count")) != i + 1) abort(); /* never lost or doubled */
            json_decref(q);
        }
    }
    return NULL;
}

static void test_concurrent_appends_and_flushes(void **state) {
    fixture *f = *state;
    journal_free(f->j);
    f->j = open_journal(f->st, 32, 10, 2);
    pthread_t th[4];
    worker_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (worker_arg){f->j, i};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    assert_int_equal(stat_int(f->j, "total_events"), 1200);
    assert_true(stat_int(f->j, "flushes") >= 1);
    json_t *h = history(f->j, "W-3", 10000);
    assert_int_equal(json_integer_value(json_object_get(h, "count")), 300);
    assert_string_equal(ev_str(h, 299, "new_value"), "299");
    json_decref(h);
}

static void test_sql_view(void **state) {
    fixture *f = *state;
    lh_query_config qc = {.pool_size = 1, .default_limit = 100, .max_limit = 1000,
                          .default_timeout_ms = 10000};
    lh_err err = {0};
    lh_query_engine *q = query_engine_new(&qc, &err);
    assert_non_null(q);
    assert_int_equal(journal_sql_register(f->j, q, &err), 0);
    add(f->j, "V-1", "status", "x");
    add(f->j, "V-2", "status", "y");
    json_decref(journal_flush(f->j, NULL));
    json_t *r = query_run_json(q, "SELECT count(*) AS n, min(entity) AS e FROM journal_events", NULL, 0, 10, 5000,
                               &err);
    if (!r) fail_msg("sql: %s", err.msg);
    json_t *row = json_array_get(json_object_get(r, "rows"), 0);
    assert_int_equal(json_integer_value(json_array_get(row, 0)), 2);
    assert_string_equal(json_string_value(json_array_get(row, 1)), "candidate");
    json_decref(r);
    journal_free(f->j);
    f->j = NULL;
    query_engine_free(q);
    f->j = open_journal(f->st, 1000, -1, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_defaults_and_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_spans_files_and_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_since_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_changes_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threshold_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_flushes_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_keeps_every_event_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_appends_and_flushes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sql_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_after_ack_loses_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flushed_segment_not_replayed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
