/*
 * test_schedule.c — the scheduler with a fake runner: validation, CRUD,
 * redaction (the password is stored but never shown), persistence across a
 * reopen, interval and cron due times, failures recorded and retried with
 * exponential backoff, a run interrupted by a restart, incremental keys,
 * and never two runs of one schedule at once.
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
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "ingest/schedule.h"

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls, fail, block, in_flight, max_in_flight;
    char last_dataset[64], last_start_after[64];
} fake;

static json_t *fake_run(void *ctx, const json_t *source, const char *dataset, const char *start_after,
                        lh_err *err) {
    fake *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->calls++;
    f->in_flight++;
    if (f->in_flight > f->max_in_flight) f->max_in_flight = f->in_flight;
    snprintf(f->last_dataset, sizeof f->last_dataset, "%s", dataset);
    snprintf(f->last_start_after, sizeof f->last_start_after, "%s", start_after ? start_after : "");
    while (f->block) pthread_cond_wait(&f->cv, &f->mu);
    f->in_flight--;
    int fail = f->fail;
    int n = f->calls;
    pthread_mutex_unlock(&f->mu);
    assert_non_null(json_string_value(json_object_get(source, "dsn")));
    if (fail) {
        lh_err_set(err, LH_E_BAD_GATEWAY, "postgres: cannot connect to postgres://etl:***@h:5432/hr: refused");
        return NULL;
    }
    char key[16];
    snprintf(key, sizeof key, "%d", n * 100);
    return json_pack("{s:i, s:i, s:s}", "rows", 10, "batches", 1, "last_key", key);
}

typedef struct {
    char dir[64];
    lh_storage *st;
    fake f;
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/lh-test-sched-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    fx->st = storage_open_local("primary", fx->dir, NULL);
    assert_non_null(fx->st);
    pthread_mutex_init(&fx->f.mu, NULL);
    pthread_cond_init(&fx->f.cv, NULL);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    storage_free(fx->st);
    char *cmd = lh_asprintf("rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(fx);
    return 0;
}

static json_t *js(const char *text) {
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    return j;
}

static json_t *create(lh_scheduler *s, const char *text) {
    json_t *req = js(text);
    lh_err err = {0};
    json_t *out = scheduler_create(s, req, &err);
    if (!out) fail_msg("create failed: %s", err.msg);
    json_decref(req);
    return out;
}

#define DEF_INTERVAL                                                                                    \
    "{\"name\":\"nightly hr\",\"source\":{\"kind\":\"postgres\",\"dsn\":\"postgres://etl:Hunter2Secret@db:5432/hr\"," \
    "\"table\":\"employees\"},\"dataset\":\"employees\",\"interval_s\":60,\"retry\":{\"max_attempts\":3,\"backoff_s\":10}}"

static int64_t next_ms(lh_scheduler *s, const char *id) {
    json_t *g = scheduler_get(s, id, NULL);
    const char *iso = json_string_value(json_object_get(json_object_get(g, "status"), "next_run_at"));
    int64_t out = -1;
    if (iso) {
        struct tm tm = {0};
        int ms = 0;
        sscanf(iso, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &ms);
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        out = (int64_t)timegm(&tm) * 1000 + ms;
    }
    json_decref(g);
    return out;
}

static void test_validation(void **state) {
    fixture *fx = *state;
    lh_scheduler *s = scheduler_open(fx->st, fake_run, &fx->f, NULL);
    static const struct { const char *body, *word; } bad[] = {
        {"{}", "name"},
        {"{\"name\":\"x\",\"dataset\":\"d\",\"interval_s\":5}", "source"},
        {"{\"name\":\"x\",\"dataset\":\"d\",\"interval_s\":5,\"source\":{\"dsn\":\"http://h/db\",\"table\":\"t\"}}", "DSN"},
        {"{\"name\":\"x\",\"dataset\":\"d\",\"interval_s\":5,\"source\":{\"dsn\":\"postgres://h/db\"}}", "table"},
        {"{\"name\":\"x\",\"dataset\":\"d\",\"source\":{\"dsn\":\"postgres://h/db\",\"table\":\"t\"}}", "interval_s"},
        {"{\"name\":\"x\",\"dataset\":\"d\",\"interval_s\":5,\"cron\":\"* * * * *\",\"source\":{\"dsn\":\"postgres://h/db\",\"table\":\"t\"}}", "exactly one"},
        {"{\"name\":\"x\",\"dataset\":\"d\",\"cron\":\"61 * * * *\",\"source\":{\"dsn\":\"postgres://h/db\",\"table\":\"t\"}}", "minute"},
        {"{\"name\":\"x\",\"dataset\":\"d\",\"interval_s\":0,\"source\":{\"dsn\":\"postgres://h/db\",\"table\":\"t\"}}", "interval_s"},
        {"{\"name\":\"x\",\"dataset\":\"bad name\",\"interval_s\":5,\"source\":{\"dsn\":\"postgres://h/db\",\"table\":\"t\"}}", "dataset"},
        {"{\"name\":\"x\",\"dataset\":\"d\",\"interval_s\":5,\"source\":{\"kind\":\"mysql\",\"dsn\":\"postgres://h/db\",\"table\":\"t\"}}", "kind"},
        {"{\"name\":\"x\",\"dataset\":\"d\",\"interval_s\":5,\"sourse\":{}}", "sourse"},
        {"{\"name\":\"x\",\"dataset\":\"d\",\"interval_s\":5,\"retry\":{\"max_attempts\":0},\"source\":{\"dsn\":\"postgres://h/db\",\"table\":\"t\"}}", "max_attempts"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *req = js(bad[i].body);
        lh_err err = {0};
        assert_null(scheduler_create(s, req, &err));
        assert_int_equal(err.code, LH_E_BAD_REQUEST);
        if (!strstr(err.msg, bad[i].word)) fail_msg("%s: '%s' lacks '%s'", bad[i].body, err.msg, bad[i].word);
        json_decref(req);
    }
    json_t *list = scheduler_list(s);
    assert_int_equal(json_array_size(json_object_get(list, "schedules")), 0);
    json_decref(list);
    scheduler_free(s);
}

static void test_crud_redaction_persistence(void **state) {
    fixture *fx = *state;
    lh_scheduler *s = scheduler_open(fx->st, fake_run, &fx->f, NULL);
    json_t *c = create(s, DEF_INTERVAL);
    const char *id = json_string_value(json_object_get(c, "id"));
    char sid[32];
    snprintf(sid, sizeof sid, "%s", id);
    char *dump = json_dumps(c, 0);
    assert_null(strstr(dump, "Hunter2Secret"));
    free(dump);
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "source"), "dsn")),
                        "postgres://etl:***@db:5432/hr");
    json_decref(c);
    /* stored with the secret, at _schedules/<id>.json */
    char *key = lh_asprintf("_schedules/%s.json", sid), *text = NULL;
    size_t len;
    assert_int_equal(storage_get(fx->st, key, &text, &len, NULL), 0);
    assert_non_null(strstr(text, "Hunter2Secret"));
    free(text);

    /* PUT with the redacted DSN keeps the password; other fields change */
    json_t *upd = js("{\"source\":{\"dsn\":\"postgres://etl:***@db2:5432/hr\"},\"cron\":\"0 3 * * *\",\"enabled\":false}");
    lh_err err = {0};
    json_t *u = scheduler_update(s, sid, upd, &err);
    assert_non_null(u);
    assert_null(json_object_get(u, "interval_s"));
    assert_string_equal(json_string_value(json_object_get(u, "cron")), "0 3 * * *");
    assert_string_equal(json_string_value(json_object_get(json_object_get(u, "source"), "table")), "employees");
    json_decref(u);
    json_decref(upd);
    assert_int_equal(storage_get(fx->st, key, &text, &len, NULL), 0);
    assert_non_null(strstr(text, "etl:Hunter2Secret@db2:5432"));
    free(text);

    /* survives a reopen */
    scheduler_free(s);
    s = scheduler_open(fx->st, fake_run, &fx->f, NULL);
    json_t *g = scheduler_get(s, sid, &err);
    assert_non_null(g);
    assert_string_equal(json_string_value(json_object_get(g, "name")), "nightly hr");
    assert_false(json_is_true(json_object_get(g, "enabled")));
    json_decref(g);

    assert_int_equal(scheduler_delete(s, sid, &err), 0);
    assert_null(scheduler_get(s, sid, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_int_equal(storage_exists(fx->st, key), 0);
    assert_int_equal(scheduler_delete(s, sid, &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    free(key);
    scheduler_free(s);
}

static void test_interval_and_retry_backoff(void **state) {
    fixture *fx = *state;
    lh_scheduler *s = scheduler_open(fx->st, fake_run, &fx->f, NULL);
    json_t *c = create(s, DEF_INTERVAL);
    char id[32];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(c, "id")));
    json_decref(c);
    int64_t t0 = next_ms(s, id);
    assert_true(t0 > lh_now_ms() + 55000 && t0 <= lh_now_ms() + 60000);
    assert_int_equal(scheduler_tick(s, t0 - 1000), 0);    /* not yet due */
    assert_int_equal(scheduler_tick(s, t0), 1);
    assert_int_equal(fx->f.calls, 1);
    assert_string_equal(fx->f.last_dataset, "employees");
    assert_int_equal(scheduler_tick(s, t0), 0);           /* ran; next is an interval later */

    fx->f.fail = 1;
    int64_t t1 = next_ms(s, id);
    assert_int_equal(scheduler_tick(s, t1), 1);
    json_t *g = scheduler_get(s, id, NULL);
    json_t *st = json_object_get(g, "status");
    assert_string_equal(json_string_value(json_object_get(st, "last_status")), "failed");
    assert_non_null(strstr(json_string_value(json_object_get(st, "last_error")), "cannot connect"));
    assert_true(json_is_true(json_object_get(st, "retry_pending")));
    json_t *h0 = json_array_get(json_object_get(g, "history"), 0);
    assert_string_equal(json_string_value(json_object_get(h0, "status")), "failed");
    assert_non_null(json_object_get(h0, "error"));
    json_decref(g);
    /* retries after 10 s, then 20 s (backoff doubles), then give up until the next interval */
    int64_t r1 = next_ms(s, id);
    assert_true(r1 - lh_now_ms() <= 10500 && r1 - lh_now_ms() >= 9000);
    assert_int_equal(scheduler_tick(s, r1), 1);
    int64_t r2 = next_ms(s, id);
    assert_true(r2 - lh_now_ms() <= 20500 && r2 - lh_now_ms() >= 19000);
    assert_int_equal(scheduler_tick(s, r2), 1);
    g = scheduler_get(s, id, NULL);
    st = json_object_get(g, "status");
    assert_false(json_is_true(json_object_get(st, "retry_pending")));
    assert_int_equal(json_integer_value(json_object_get(st, "consecutive_failures")), 3);
    assert_int_equal(json_integer_value(json_object_get(st, "runs_failed")), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(g, "history"), 0), "trigger")),
                        "retry");
    json_decref(g);
    int64_t r3 = next_ms(s, id);
    assert_true(r3 - lh_now_ms() >= 55000);

    /* a success clears the failure count */
    fx->f.fail = 0;
    assert_int_equal(scheduler_tick(s, r3), 1);
    g = scheduler_get(s, id, NULL);
    st = json_object_get(g, "status");
    assert_string_equal(json_string_value(json_object_get(st, "last_status")), "ok");
    assert_true(json_is_null(json_object_get(st, "last_error")));
    assert_int_equal(json_integer_value(json_object_get(st, "consecutive_failures")), 0);
    assert_int_equal(json_array_size(json_object_get(g, "history")), 5);
    json_decref(g);
    scheduler_free(s);
}

static void test_cron_due(void **state) {
    fixture *fx = *state;
    lh_scheduler *s = scheduler_open(fx->st, fake_run, &fx->f, NULL);
    json_t *c = create(s, "{\"name\":\"c\",\"source\":{\"dsn\":\"mysql://r:pw@h/shop\",\"table\":\"orders\"},"
                          "\"dataset\":\"orders\",\"cron\":\"*/15 * * * *\"}");
    char id[32];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(c, "id")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "source"), "kind")), "mysql");
    json_decref(c);
    int64_t t = next_ms(s, id);
    assert_int_equal(t % (15 * 60 * 1000), 0);            /* on a quarter hour */
    assert_true(t > lh_now_ms() && t <= lh_now_ms() + 15 * 60 * 1000);
    assert_int_equal(scheduler_tick(s, t), 1);
    assert_int_equal(next_ms(s, id) % (15 * 60 * 1000), 0);
    scheduler_free(s);
}

static void test_incremental_key(void **state) {
    fixture *fx = *state;
    lh_scheduler *s = scheduler_open(fx->st, fake_run, &fx->f, NULL);
    json_t *c = create(s, "{\"name\":\"inc\",\"source\":{\"dsn\":\"postgres://h/db\",\"table\":\"events\","
                          "\"order_by\":\"id\",\"incremental\":true},\"dataset\":\"events\",\"interval_s\":1}");
    char id[32];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(c, "id")));
    json_decref(c);
    assert_int_equal(scheduler_tick(s, next_ms(s, id)), 1);
    assert_string_equal(fx->f.last_start_after, "");
    assert_int_equal(scheduler_tick(s, next_ms(s, id)), 1);
    assert_string_equal(fx->f.last_start_after, "100");  /* the first run's last key */
    scheduler_free(s);
    s = scheduler_open(fx->st, fake_run, &fx->f, NULL);  /* the key survives a restart */
    assert_int_equal(scheduler_tick(s, next_ms(s, id)), 1);
    assert_string_equal(fx->f.last_start_after, "200");
    scheduler_free(s);
}

static void test_interrupted_by_restart(void **state) {
    fixture *fx = *state;
    lh_scheduler *s = scheduler_open(fx->st, fake_run, &fx->f, NULL);
    json_t *c = create(s, DEF_INTERVAL);
    char id[32];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(c, "id")));
    json_decref(c);
    scheduler_free(s);
    /* the stored form as a crash mid-run leaves it */
    char *key = lh_asprintf("_schedules/%s.json", id), *text = NULL;
    size_t len;
    assert_int_equal(storage_get(fx->st, key, &text, &len, NULL), 0);
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    json_object_set_new(json_object_get(o, "state"), "running_since_ms", json_integer(lh_now_ms() - 5000));
    text = json_dumps(o, 0);
    assert_int_equal(storage_put(fx->st, key, text, strlen(text), NULL, NULL), 0);
    free(text);
    json_decref(o);
    s = scheduler_open(fx->st, fake_run, &fx->f, NULL);
    json_t *g = scheduler_get(s, id, NULL);
    json_t *h0 = json_array_get(json_object_get(g, "history"), 0);
    assert_string_equal(json_string_value(json_object_get(h0, "error")), "interrupted by restart");
    assert_true(json_is_true(json_object_get(json_object_get(g, "status"), "retry_pending")));
    assert_false(json_is_true(json_object_get(json_object_get(g, "status"), "running")));
    json_decref(g);
    free(key);
    scheduler_free(s);
}

static void test_never_two_at_once(void **state) {
    fixture *fx = *state;
    lh_scheduler *s = scheduler_open(fx->st, fake_run, &fx->f, NULL);
    json_t *c = create(s, DEF_INTERVAL);
    char id[32];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(c, "id")));
    json_decref(c);
    fx->f.block = 1;
    lh_err err = {0};
    json_t *r = scheduler_run_now(s, id, &err);
    assert_non_null(r);
    json_decref(r);
    for (int i = 0; i < 200; i++) { /* the run thread has entered the runner */
        pthread_mutex_lock(&fx->f.mu);
        int in = fx->f.in_flight;
        pthread_mutex_unlock(&fx->f.mu);
        if (in) break;
        usleep(5000);
    }
    assert_null(scheduler_run_now(s, id, &err));
    assert_int_equal(err.code, LH_E_CONFLICT);
    assert_int_equal(scheduler_tick(s, lh_now_ms() + 3600 * 1000), 0); /* due, but running */
    json_t *g = scheduler_get(s, id, NULL);
    assert_true(json_is_true(json_object_get(json_object_get(g, "status"), "running")));
    json_decref(g);
    pthread_mutex_lock(&fx->f.mu);
    fx->f.block = 0;
    pthread_cond_broadcast(&fx->f.cv);
    pthread_mutex_unlock(&fx->f.mu);
    assert_int_equal(scheduler_wait_idle(s, 5000), 0);
    assert_int_equal(fx->f.calls, 1);
    assert_int_equal(fx->f.max_in_flight, 1);
    g = scheduler_get(s, id, NULL);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(g, "history"), 0), "trigger")),
                        "manual");
    json_decref(g);
    assert_null(scheduler_run_now(s, "sch_nope", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    scheduler_free(s);
}

static void test_thread_runs_due(void **state) {
    fixture *fx = *state;
    lh_scheduler *s = scheduler_open(fx->st, fake_run, &fx->f, NULL);
    json_t *c = create(s, "{\"name\":\"fast\",\"source\":{\"dsn\":\"postgres://h/db\",\"table\":\"t\"},"
                          "\"dataset\":\"t\",\"interval_s\":1}");
    json_decref(c);
    assert_int_equal(scheduler_start(s, NULL), 0);
    for (int i = 0; i < 300 && fx->f.calls < 2; i++) usleep(10000);
    scheduler_free(s);
    assert_true(fx->f.calls >= 2);
    assert_int_equal(fx->f.max_in_flight, 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crud_redaction_persistence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interval_and_retry_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cron_due, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incremental_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_by_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_two_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_runs_due, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
