/*
 * test_tools.c — the agent tool registry (src/tools) over a small demo
 * dataset (scale 0.002, deterministic): every tool's every parameter is
 * refused when of the wrong type, missing while required, out of range,
 * too long, not an allowed value or not a real date, and unknown
 * parameters are refused; roles gate each tool (read < write < admin);
 * each tool runs and its answer honours its filters and limits; the write
 * tool appends one row; every call leaves an audit record (memory and
 * _tools/audit.jsonl, reloaded on restart, a torn line skipped).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "demo/demo.h"
#include "query/query.h"
#include "storage/storage.h"
#include "tools/tools_internal.h"
#include "support/fixture.h"

/* A principal of the given level (its SQL unconfined, as the admin role's
 * would be: these tests are about the registry, not masking). */
static json_t *call_as_level(lh_tools *t, const char *name, const json_t *params, const char *caller, lh_perm perm,
                             lh_err *err) {
    lh_principal who;
    access_principal_admin(&who, caller);
    who.level = (lh_level)perm;
    return tools_call(t, name, params, &who, NULL, err);
}

typedef struct {
    char *dir;
    lh_storage *st;
    lh_query_engine *q;
    lh_catalog *cat;
    lh_tools *t;
} env;

static env E; /* one demo dataset for the whole file */

static void on_views(void *ctx, uint64_t version, const char *const *names, const char *const *selects, size_t n) {
    query_engine_set_views(ctx, version, names, selects, n, NULL);
}

static int group_setup(void **state) {
    (void)state;
    lh_err err = {0};
    E.st = fixture_bucket_open("tools", &E.dir);
    lh_query_config qc = {.threads = 2, .pool_size = 2, .allowed_root = storage_root(E.st)};
    E.q = query_engine_new(&qc, &err);
    lh_catalog_options opt = {.checkpoint_interval = 10, .duckdb_threads = 2};
    E.cat = catalog_open(E.st, &opt, &err);
    assert_non_null(E.cat);
    catalog_set_views_listener(E.cat, on_views, E.q);
    lh_demo_options d = {.scale = 0.002};
    if (demo_generate(E.cat, &d, NULL, NULL, &err) != 0) fail_msg("demo: %s", err.msg);
    E.t = tools_new(E.q, E.cat, E.st, &err);
    assert_non_null(E.t);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    tools_free(E.t);
    catalog_free(E.cat);
    query_engine_free(E.q);
    fixture_bucket_close(E.st);
    free(E.dir);
    return 0;
}

/* ---- parameter validation, every tool -------------------------------------- */

/* A value that passes p's checks. */
static json_t *valid_value(const tool_param *p) {
    switch (p->type) {
    case TP_STRING: return json_string(p->enums[0] ? p->enums[0] : "a");
    case TP_DATE: return json_string("2026-01-15");
    case TP_INTEGER: return json_integer(p->def ? strtoll(p->def, NULL, 10) : p->min < p->max ? (json_int_t)p->min : 1);
    case TP_NUMBER: return json_real(p->min < p->max ? p->min : 1.0);
    case TP_BOOLEAN: return json_true();
    }
    return json_null();
}

/* Every required parameter with a valid value. */
static json_t *valid_params(const tool_def *d) {
    json_t *o = json_object();
    for (size_t i = 0; i < TOOL_MAX_PARAMS && d->params[i].name; i++)
        if (d->params[i].required) json_object_set_new(o, d->params[i].name, valid_value(&d->params[i]));
    return o;
}

/* Calls d with params (stolen) as admin; asserts a 422 naming parameter `name`. */
static void expect_invalid(const tool_def *d, json_t *params, const char *name, const char *what) {
    lh_err err = {0};
    json_t *out = call_as_level(E.t, d->name, params, "tester", LH_PERM_ADMIN, &err);
    if (out) fail_msg("%s.%s (%s) was accepted", d->name, name, what);
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    char want[96];
    snprintf(want, sizeof want, "parameter '%s'", name);
    if (!strstr(err.msg, want)) fail_msg("%s (%s): message '%s' does not name it", d->name, what, err.msg);
    json_decref(params);
}

static json_t *with(const tool_def *d, const char *name, json_t *v) {
    json_t *o = valid_params(d);
    json_object_set_new(o, name, v);
    return o;
}

static void test_every_parameter_validated(void **state) {
    (void)state;
    size_t n;
    const tool_def *defs = tools_defs(&n);
    assert_true(n >= 7);
    for (size_t k = 0; k < n; k++) {
        const tool_def *d = &defs[k];
        for (size_t i = 0; i < TOOL_MAX_PARAMS && d->params[i].name; i++) {
            const tool_param *p = &d->params[i];
            /* wrong JSON types */
            if (p->type == TP_STRING || p->type == TP_DATE) {
                expect_invalid(d, with(d, p->name, json_integer(12)), p->name, "integer for string");
                expect_invalid(d, with(d, p->name, json_true()), p->name, "bool for string");
                expect_invalid(d, with(d, p->name, json_pack("[s]", "a")), p->name, "array for string");
                expect_invalid(d, with(d, p->name, json_stringn("a\0b", 3)), p->name, "embedded NUL");
            }
            if (p->type == TP_INTEGER) {
                expect_invalid(d, with(d, p->name, json_string("12")), p->name, "string for integer");
                expect_invalid(d, with(d, p->name, json_real(1.5)), p->name, "real for integer");
                expect_invalid(d, with(d, p->name, json_object()), p->name, "object for integer");
            }
            /* missing */
            if (p->required) {
                json_t *o = valid_params(d);
                json_object_del(o, p->name);
                expect_invalid(d, o, p->name, "missing");
                expect_invalid(d, with(d, p->name, json_null()), p->name, "null");
            }
            /* out of range */
            if ((p->type == TP_INTEGER || p->type == TP_NUMBER) && p->min < p->max) {
                expect_invalid(d, with(d, p->name, json_integer((json_int_t)p->min - 1)), p->name, "below min");
                expect_invalid(d, with(d, p->name, json_integer((json_int_t)p->max + 1)), p->name, "above max");
            }
            if (p->type == TP_STRING && p->enums[0]) {
                expect_invalid(d, with(d, p->name, json_string("definitely-not-allowed")), p->name, "not in enum");
                expect_invalid(d, with(d, p->name, json_string("")), p->name, "empty enum");
            } else if (p->type == TP_STRING) {
                int max = p->max_len ? p->max_len : 200;
                char *s = lh_malloc((size_t)max + 2);
                memset(s, 'x', (size_t)max + 1);
                s[max + 1] = '\0';
                expect_invalid(d, with(d, p->name, json_string(s)), p->name, "too long");
                free(s);
                expect_invalid(d, with(d, p->name, json_string("")), p->name, "empty");
            }
            if (p->type == TP_DATE) {
                static const char *bad[] = {"2026-02-30", "2026-13-01", "2025-02-29", "26-01-01", "2026-1-01",
                                            "2026-01-01T00:00:00", "yesterday", "1800-01-01"};
                for (size_t b = 0; b < sizeof bad / sizeof *bad; b++)
                    expect_invalid(d, with(d, p->name, json_string(bad[b])), p->name, bad[b]);
            }
        }
        expect_invalid(d, with(d, "no_such_param", json_integer(1)), "no_such_param", "unknown");
    }
}

/* A date range backwards is refused, naming the later bound. */
static void test_date_order_checked(void **state) {
    (void)state;
    lh_err err = {0};
    json_t *p = json_pack("{s:s, s:s}", "start_date", "2026-06-01", "end_date", "2026-05-01");
    assert_null(call_as_level(E.t, "revenue_by_client", p, "tester", LH_PERM_READ, &err));
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    assert_non_null(strstr(err.msg, "parameter 'end_date'"));
    json_decref(p);
    /* a leap day is a real date */
    p = json_pack("{s:s, s:s}", "start_date", "2024-02-29", "end_date", "2024-03-01");
    json_t *out = call_as_level(E.t, "revenue_by_client", p, "tester", LH_PERM_READ, &err);
    assert_non_null(out);
    json_decref(out);
    json_decref(p);
    json_t *not_object = json_string("x");
    assert_null(call_as_level(E.t, "revenue_by_client", not_object, "tester", LH_PERM_READ, &err));
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    json_decref(not_object);
}

/* ---- roles ------------------------------------------------------------------------ */

static void test_roles(void **state) {
    (void)state;
    size_t n;
    const tool_def *defs = tools_defs(&n);
    for (size_t k = 0; k < n; k++) {
        for (lh_perm role = LH_PERM_READ; role <= LH_PERM_ADMIN; role++) {
            lh_err err = {0};
            json_t *p = json_pack("{s:s}", "no_such_param", "x"); /* invalid: shows the check order */
            json_t *out = call_as_level(E.t, defs[k].name, p, "role-tester", role, &err);
            json_decref(p);
            assert_null(out);
            /* permission is checked before the parameters */
            assert_int_equal(err.code, role < defs[k].permission ? LH_E_FORBIDDEN : LH_E_UNPROCESSABLE);
        }
    }
    json_t *d = tools_describe(E.t, "log_activity", NULL);
    assert_string_equal(json_string_value(json_object_get(d, "permission")), "write");
    json_decref(d);
    lh_err err = {0};
    assert_null(tools_describe(E.t, "rm_rf", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_null(call_as_level(E.t, "rm_rf", NULL, "x", LH_PERM_ADMIN, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
}

/* Every tool describes itself as a JSON Schema an agent can follow. */
static void test_describe_schema(void **state) {
    (void)state;
    json_t *l = tools_list(E.t);
    size_t i, n;
    json_t *tool;
    tools_defs(&n);
    assert_int_equal(json_array_size(json_object_get(l, "tools")), n);
    json_array_foreach(json_object_get(l, "tools"), i, tool) {
        json_t *s = json_object_get(tool, "parameters");
        assert_string_equal(json_string_value(json_object_get(s, "type")), "object");
        assert_true(json_is_false(json_object_get(s, "additionalProperties")));
        size_t j;
        json_t *req;
        json_array_foreach(json_object_get(s, "required"), j, req)
            assert_non_null(json_object_get(json_object_get(s, "properties"), json_string_value(req)));
    }
    json_decref(l);
}

/* ---- execution -------------------------------------------------------------------- */

static json_t *call_ok(const char *tool, const char *params_json, lh_perm role) {
    lh_err err = {0};
    json_t *p = json_loads(params_json, 0, NULL);
    assert_non_null(p);
    json_t *out = call_as_level(E.t, tool, p, "runner", role, &err);
    json_decref(p);
    if (!out) fail_msg("%s %s: %s", tool, params_json, err.msg);
    assert_string_equal(json_string_value(json_object_get(out, "tool")), tool);
    assert_true(json_is_number(json_object_get(out, "elapsed_ms")));
    assert_int_equal(json_integer_value(json_object_get(out, "row_count")), json_array_size(json_object_get(out, "rows")));
    return out;
}

static long col_index(const json_t *out, const char *name) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(out, "columns"), i, c) if (!strcmp(json_string_value(json_object_get(c, "name")), name)) return (long)i;
    return -1;
}

static json_t *cell(const json_t *out, size_t row, const char *col) {
    long i = col_index(out, col);
    assert_true(i >= 0);
    return json_array_get(json_array_get(json_object_get(out, "rows"), row), (size_t)i);
}

static int64_t sql_int(const char *sql) {
    lh_err err = {0};
    json_t *doc = query_run_json(E.q, sql, NULL, 0, 0, 0, &err);
    if (!doc) fail_msg("%s: %s", sql, err.msg);
    int64_t v = json_integer_value(json_array_get(json_array_get(json_object_get(doc, "rows"), 0), 0));
    json_decref(doc);
    return v;
}

static void test_get_candidate(void **state) {
    (void)state;
    json_t *out = call_ok("get_candidate", "{\"candidate_id\":5}", LH_PERM_READ);
    assert_int_equal(json_array_size(json_object_get(out, "rows")), 1);
    assert_int_equal(json_integer_value(cell(out, 0, "candidate_id")), 5);
    assert_true(col_index(out, "ssn") < 0); /* never returned */
    assert_int_equal(json_integer_value(cell(out, 0, "placements")),
                     sql_int("SELECT count(*) FROM placements WHERE candidate_id = 5"));
    json_decref(out);
    out = call_ok("get_candidate", "{\"candidate_id\":999999999}", LH_PERM_READ);
    assert_int_equal(json_array_size(json_object_get(out, "rows")), 0);
    json_decref(out);
}

static void test_revenue_by_client(void **state) {
    (void)state;
    json_t *out = call_ok("revenue_by_client", "{\"start_date\":\"2000-01-01\",\"end_date\":\"2099-12-31\",\"limit\":1000}",
                          LH_PERM_READ);
    size_t n = json_array_size(json_object_get(out, "rows"));
    assert_true(n > 0);
    double total = 0, prev = INFINITY;
    for (size_t i = 0; i < n; i++) {
        double r = json_number_value(cell(out, i, "revenue"));
        assert_true(r <= prev); /* largest first */
        prev = r;
        total += r;
    }
    lh_err err = {0};
    json_t *doc = query_run_json(E.q, "SELECT sum(t.hours * t.bill_rate) FROM timesheets t JOIN clients c USING (client_id)",
                                 NULL, 0, 0, 0, &err);
    double want = json_number_value(json_array_get(json_array_get(json_object_get(doc, "rows"), 0), 0));
    json_decref(doc);
    assert_true(fabs(total - want) < 0.01 * (double)n + 1e-6);
    json_decref(out);
    out = call_ok("revenue_by_client", "{\"start_date\":\"2000-01-01\",\"end_date\":\"2099-12-31\",\"limit\":2}", LH_PERM_READ);
    assert_int_equal(json_array_size(json_object_get(out, "rows")), 2);
    json_decref(out);
}

static void test_open_jobs_filters(void **state) {
    (void)state;
    json_t *out = call_ok("open_jobs", "{\"category\":\"IT\",\"limit\":5}", LH_PERM_READ);
    size_t n = json_array_size(json_object_get(out, "rows"));
    assert_true(n > 0 && n <= 5);
    for (size_t i = 0; i < n; i++) assert_string_equal(json_string_value(cell(out, i, "category")), "IT");
    json_decref(out);
    /* a hostile string is a value, never SQL */
    out = call_ok("open_jobs", "{\"skill\":\"x') OR 1=1 --\"}", LH_PERM_READ);
    assert_int_equal(json_array_size(json_object_get(out, "rows")), 0);
    json_decref(out);
}

static void test_cold_leads_and_recruiters(void **state) {
    (void)state;
    json_t *out = call_ok("cold_leads", "{\"days\":30,\"as_of\":\"" DEMO_REFERENCE_DATE "\",\"limit\":50}", LH_PERM_READ);
    size_t n = json_array_size(json_object_get(out, "rows"));
    assert_true(n > 0 && n <= 50);
    for (size_t i = 0; i < n; i++) {
        const char *st = json_string_value(cell(out, i, "status"));
        assert_true(!strcmp(st, "active") || !strcmp(st, "passive"));
        json_t *silent = cell(out, i, "days_silent");
        assert_true(json_is_null(silent) || json_integer_value(silent) >= 30);
    }
    json_decref(out);
    out = call_ok("recruiter_performance", "{\"start_date\":\"2000-01-01\",\"end_date\":\"2099-12-31\",\"limit\":3}",
                  LH_PERM_READ);
    int64_t recruiters = sql_int("SELECT count(*) FROM recruiters");
    assert_int_equal(json_array_size(json_object_get(out, "rows")), recruiters < 3 ? recruiters : 3);
    json_decref(out);
}

/* Without a vector index the keyword fallback answers; do_not_contact stays out. */
static void test_search_candidates_fallback(void **state) {
    (void)state;
    json_t *out = call_ok("search_candidates", "{\"skills\":\"nurse\",\"limit\":20}", LH_PERM_READ);
    size_t n = json_array_size(json_object_get(out, "rows"));
    assert_true(n > 0 && n <= 20);
    for (size_t i = 0; i < n; i++) {
        assert_true(json_number_value(cell(out, i, "score")) > 0);
        assert_string_not_equal(json_string_value(cell(out, i, "status")), "do_not_contact");
    }
    json_decref(out);
}

static void test_log_activity_writes_one_row(void **state) {
    (void)state;
    int64_t before = sql_int("SELECT count(*) FROM activities");
    lh_err err = {0};
    json_t *p = json_loads("{\"candidate_id\":3,\"activity_type\":\"call\",\"subject\":\"checked in\"}", 0, NULL);
    assert_null(call_as_level(E.t, "log_activity", p, "reader", LH_PERM_READ, &err));
    assert_int_equal(err.code, LH_E_FORBIDDEN);
    assert_int_equal(sql_int("SELECT count(*) FROM activities"), before); /* nothing written */
    json_decref(p);
    json_t *out = call_ok("log_activity",
                          "{\"candidate_id\":3,\"activity_type\":\"call\",\"subject\":\"it's a \\\"test\\\"\","
                          "\"outcome\":\"connected\",\"recruiter_id\":2}",
                          LH_PERM_WRITE);
    int64_t id = json_integer_value(cell(out, 0, "activity_id"));
    json_decref(out);
    assert_int_equal(sql_int("SELECT count(*) FROM activities"), before + 1);
    char *sql = lh_asprintf("SELECT count(*) FROM activities WHERE activity_id = %lld AND candidate_id = 3 "
                            "AND subject = 'it''s a \"test\"' AND outcome = 'connected' AND recruiter_id = 2 "
                            "AND client_id IS NULL",
                            (long long)id);
    assert_int_equal(sql_int(sql), 1);
    free(sql);
}

/* ---- audit -------------------------------------------------------------------------- */

static size_t audit_lines(void) {
    char *path = storage_path(E.st, "_tools/audit.jsonl"), *text = NULL;
    size_t len = 0, n = 0;
    if (lh_read_file(path, &text, &len, NULL) == 0)
        for (size_t i = 0; i < len; i++) n += text[i] == '\n';
    free(text);
    free(path);
    return n;
}

static void test_audit_records(void **state) {
    (void)state;
    size_t lines0 = audit_lines();
    lh_err err = {0};
    json_t *ok = json_pack("{s:i}", "candidate_id", 7), *bad = json_pack("{s:s}", "candidate_id", "7");
    json_t *w = json_pack("{s:i, s:s, s:s}", "candidate_id", 1, "activity_type", "sms", "subject", "hi");
    json_decref(call_as_level(E.t, "get_candidate", ok, "alice", LH_PERM_READ, &err));
    assert_null(call_as_level(E.t, "get_candidate", bad, "bob", LH_PERM_READ, &err));
    assert_null(call_as_level(E.t, "log_activity", w, "carol", LH_PERM_READ, &err));
    json_decref(ok);
    json_decref(bad);
    json_decref(w);
    json_t *a = tools_audit(E.t, 3);
    json_t *recs = json_object_get(a, "records");
    assert_int_equal(json_array_size(recs), 3);
    static const struct { const char *tool, *caller, *outcome; } want[] = {
        {"log_activity", "carol", "denied"}, {"get_candidate", "bob", "invalid"}, {"get_candidate", "alice", "ok"}};
    for (size_t i = 0; i < 3; i++) { /* newest first */
        json_t *r = json_array_get(recs, i);
        assert_string_equal(json_string_value(json_object_get(r, "tool")), want[i].tool);
        assert_string_equal(json_string_value(json_object_get(r, "caller")), want[i].caller);
        assert_string_equal(json_string_value(json_object_get(r, "outcome")), want[i].outcome);
        assert_non_null(json_string_value(json_object_get(r, "at")));
        assert_true(json_is_object(json_object_get(r, "params")));
        if (strcmp(want[i].outcome, "ok")) assert_non_null(json_string_value(json_object_get(r, "error")));
    }
    assert_int_equal(json_integer_value(json_object_get(json_array_get(recs, 2), "rows")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_array_get(recs, 2), "params"), "candidate_id")), 7);
    json_decref(a);
    assert_int_equal(audit_lines(), lines0 + 3); /* and durably in the bucket */
    /* a restart reloads the log; a torn last line (crash) is skipped */
    char *path = storage_path(E.st, "_tools/audit.jsonl");
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("{\"tool\":\"get_cand", f);
    fclose(f);
    free(path);
    lh_tools *t2 = tools_new(E.q, E.cat, E.st, &err);
    assert_non_null(t2);
    a = tools_audit(t2, 1000);
    assert_int_equal(json_array_size(json_object_get(a, "records")), lines0 + 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(a, "records"), 0), "caller")), "carol");
    json_decref(a);
    tools_free(t2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_parameter_validated),
        cmocka_unit_test(test_date_order_checked),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_describe_schema),
        cmocka_unit_test(test_get_candidate),
        cmocka_unit_test(test_revenue_by_client),
        cmocka_unit_test(test_open_jobs_filters),
        cmocka_unit_test(test_cold_leads_and_recruiters),
        cmocka_unit_test(test_search_candidates_fallback),
        cmocka_unit_test(test_log_activity_writes_one_row),
        cmocka_unit_test(test_audit_records),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
