/*
 * test_access.c — access control: built-in roles, per-column decisions
 * (level rule + PII rules, strictest wins, mask method precedence), column
 * selection errors, custom roles (validation, persistence, overriding and
 * restoring built-ins, admin immutable, corrupt roles file refused), masked
 * SELECTs run end to end over a real catalog dataset, and the audit log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access/access.h"
#include "catalog/catalog.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "query/query.h"
#include "storage/storage.h"
#include "support/fixture.h"

typedef struct {
    lh_storage *st;
    lh_access *a;
} fixture;

static int setup(void **state) {
    fixture *f = lh_calloc(1, sizeof *f);
    f->st = fixture_bucket_open("access", NULL);
    lh_err err = {0};
    f->a = access_open(f->st, NULL, NULL, &err);
    if (!f->a) fail_msg("access_open: %s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    access_free(f->a);
    fixture_bucket_close(f->st);
    free(f);
    return 0;
}

/* A manifest like the catalog's, for decisions without a catalog. */
static const char *manifest_text =
    "{\"name\":\"candidates\",\"sensitivity\":\"restricted\",\"columns\":["
    "{\"name\":\"id\",\"type\":\"BIGINT\",\"sensitivity\":\"internal\",\"pii\":[]},"
    "{\"name\":\"city\",\"type\":\"VARCHAR\",\"sensitivity\":\"public\",\"pii\":[]},"
    "{\"name\":\"email\",\"type\":\"VARCHAR\",\"sensitivity\":\"confidential\",\"pii\":[\"email\"]},"
    "{\"name\":\"phone\",\"type\":\"VARCHAR\",\"sensitivity\":\"confidential\",\"pii\":[\"phone\"]},"
    "{\"name\":\"ssn\",\"type\":\"VARCHAR\",\"sensitivity\":\"restricted\",\"pii\":[\"ssn\"]},"
    "{\"name\":\"salary\",\"type\":\"BIGINT\",\"sensitivity\":\"confidential\",\"pii\":[\"salary\"]},"
    "{\"name\":\"notes\",\"type\":\"VARCHAR\",\"sensitivity\":\"confidential\",\"pii\":[]},"
    "{\"name\":\"diagnosis\",\"type\":\"VARCHAR\",\"sensitivity\":\"restricted\",\"pii\":[\"medical\"]},"
    "{\"name\":\"street\",\"type\":\"VARCHAR\",\"sensitivity\":\"confidential\",\"pii\":[\"address\"]}]}";

static json_t *decide(lh_access *a, const char *role, const char *columns_json) {
    json_t *m = json_loads(manifest_text, 0, NULL);
    json_t *cols = columns_json ? json_loads(columns_json, 0, NULL) : NULL;
    lh_err err = {0};
    json_t *d = access_check_manifest(a, role, m, cols, &err);
    if (!d) fail_msg("check %s: %s", role, err.msg);
    json_decref(cols);
    json_decref(m);
    return d;
}

/* "allow", "deny" or "mask:<method>" for one column of a decision. */
static const char *verdict(json_t *d, const char *column) {
    static char buf[32];
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(d, "columns"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "name")), column)) continue;
        const char *act = json_string_value(json_object_get(c, "decision"));
        const char *mask = json_string_value(json_object_get(c, "mask"));
        snprintf(buf, sizeof buf, "%s%s%s", act, mask ? ":" : "", mask ? mask : "");
        return buf;
    }
    fail_msg("no column %s", column);
    return NULL;
}

static void expect(lh_access *a, const char *role, const char *const pairs[][2], size_t n) {
    json_t *d = decide(a, role, NULL);
    for (size_t i = 0; i < n; i++) {
        const char *got = verdict(d, pairs[i][0]);
        if (strcmp(got, pairs[i][1])) fail_msg("%s.%s: got %s, want %s", role, pairs[i][0], got, pairs[i][1]);
    }
    json_decref(d);
}

static void test_builtin_roles(void **state) {
    fixture *f = *state;
    json_t *r = access_roles(f->a);
    json_t *roles = json_object_get(r, "roles");
    assert_int_equal(json_array_size(roles), 6);
    const char *want[] = {"admin", "agent", "analyst", "read", "recruiter", "write"}; /* by name */
    const char *level[] = {"admin", "read", "read", "read", "read", "write"};
    for (size_t i = 0; i < 6; i++) {
        json_t *role = json_array_get(roles, i);
        assert_string_equal(json_string_value(json_object_get(role, "name")), want[i]);
        assert_true(json_is_true(json_object_get(role, "builtin")));
        assert_int_equal(json_object_size(json_object_get(role, "pii")), 6);
        assert_string_equal(json_string_value(json_object_get(role, "level")), level[i]);
    }
    json_decref(r);
    lh_err err = {0};
    json_t *agent = access_role_get(f->a, "agent", &err);
    assert_string_equal(json_string_value(json_object_get(agent, "max_sensitivity")), "internal");
    assert_string_equal(json_string_value(json_object_get(json_object_get(agent, "pii"), "ssn")), "deny");
    json_decref(agent);
    assert_null(access_role_get(f->a, "nobody", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
}

static void test_decisions_per_role(void **state) {
    fixture *f = *state;
    const char *const admin[][2] = {{"id", "allow"}, {"ssn", "allow"}, {"diagnosis", "allow"}, {"salary", "allow"}};
    expect(f->a, "admin", admin, 4);
    const char *const recruiter[][2] = {{"id", "allow"},       {"email", "allow"},  {"phone", "allow"},
                                        {"ssn", "deny"},       {"salary", "allow"}, {"notes", "allow"},
                                        {"diagnosis", "deny"}, {"street", "mask:partial"}};
    expect(f->a, "recruiter", recruiter, 8);
    const char *const analyst[][2] = {{"email", "mask:hash"}, {"phone", "mask:hash"}, {"salary", "allow"},
                                      {"ssn", "deny"},        {"city", "allow"}};
    expect(f->a, "analyst", analyst, 5);
    /* agent: above internal is masked; the PII rule picks the method; null when none */
    const char *const agent[][2] = {{"id", "allow"},           {"city", "allow"},          {"email", "mask:hash"},
                                    {"phone", "mask:partial"}, {"salary", "mask:partial"}, {"notes", "mask:null"},
                                    {"street", "mask:null"},   {"ssn", "deny"},            {"diagnosis", "deny"}};
    expect(f->a, "agent", agent, 9);
    /* read and write: contacts hashed, pay rounded, SSN and medical data never */
    const char *const reader[][2] = {{"email", "mask:hash"}, {"phone", "mask:hash"}, {"salary", "mask:partial"},
                                     {"ssn", "deny"},        {"diagnosis", "deny"},  {"city", "allow"}};
    expect(f->a, "read", reader, 6);
    expect(f->a, "write", reader, 6);

    json_t *d = decide(f->a, "agent", NULL);
    assert_int_equal(json_array_size(json_object_get(d, "allowed")), 2);
    assert_int_equal(json_array_size(json_object_get(d, "masked")), 5);
    assert_int_equal(json_array_size(json_object_get(d, "denied")), 2);
    assert_string_equal(json_string_value(json_object_get(d, "dataset_sensitivity")), "restricted");
    const char *sql = json_string_value(json_object_get(d, "select"));
    assert_non_null(strstr(sql, "lh_mask_hash(CAST(\"email\" AS VARCHAR)) AS \"email\"")); /* keyed HMAC */
    assert_non_null(strstr(sql, "CAST(NULL AS VARCHAR) AS \"notes\""));
    assert_null(strstr(sql, "\"ssn\""));
    assert_non_null(strstr(sql, " FROM \"candidates\""));
    /* reasons name what decided */
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(d, "columns"), i, c) {
        const char *why = json_string_value(json_object_get(c, "reason"));
        if (!strcmp(json_string_value(json_object_get(c, "name")), "ssn")) {
            assert_non_null(strstr(why, "pii ssn: deny"));
            assert_non_null(strstr(why, "above internal"));
        }
    }
    json_decref(d);
}

static void test_column_selection(void **state) {
    fixture *f = *state;
    json_t *d = decide(f->a, "analyst", "[\"email\",\"id\",\"email\"]");
    assert_int_equal(json_array_size(json_object_get(d, "columns")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(d, "columns"), 0), "name")),
                        "email");
    json_decref(d);
    json_t *m = json_loads(manifest_text, 0, NULL);
    lh_err err = {0};
    json_t *cols = json_loads("[\"email\",\"nope\"]", 0, NULL);
    assert_null(access_check_manifest(f->a, "analyst", m, cols, &err));
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    assert_non_null(strstr(err.msg, "nope"));
    json_decref(cols);
    cols = json_loads("[1]", 0, NULL);
    assert_null(access_check_manifest(f->a, "analyst", m, cols, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    json_decref(cols);
    cols = json_string("email");
    assert_null(access_check_manifest(f->a, "analyst", m, cols, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    json_decref(cols);
    assert_null(access_check_manifest(f->a, "ghost", m, NULL, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_null(access_check_manifest(f->a, NULL, m, NULL, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    /* all denied: no SELECT */
    cols = json_loads("[\"ssn\",\"diagnosis\"]", 0, NULL);
    d = access_check_manifest(f->a, "agent", m, cols, &err);
    assert_true(json_is_null(json_object_get(d, "select")));
    json_decref(d);
    json_decref(cols);
    json_decref(m);
}

static json_t *role_put(lh_access *a, const char *text, int *created, lh_err *err) {
    json_t *def = json_loads(text, 0, NULL);
    assert_non_null(def);
    json_t *r = access_role_put(a, def, created, err);
    json_decref(def);
    return r;
}

static void test_custom_roles(void **state) {
    fixture *f = *state;
    lh_err err = {0};
    int created = -1;
    json_t *r = role_put(f->a, "{\"name\":\"auditor\",\"description\":\"reads everything, SSNs partly\","
                               "\"max_sensitivity\":\"restricted\",\"above_max\":\"deny\","
                               "\"pii\":{\"ssn\":\"mask:partial\",\"email\":\"allow\"}}", &created, &err);
    if (!r) fail_msg("put: %s", err.msg);
    assert_int_equal(created, 1);
    assert_false(json_is_true(json_object_get(r, "builtin")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "pii"), "phone")), "deny");
    json_decref(r);
    const char *const auditor[][2] = {{"ssn", "mask:partial"}, {"email", "allow"}, {"phone", "deny"},
                                      {"notes", "allow"}};
    expect(f->a, "auditor", auditor, 4);
    r = role_put(f->a, "{\"name\":\"auditor\",\"max_sensitivity\":\"public\"}", &created, &err);
    assert_int_equal(created, 0);
    json_decref(r);
    /* overriding a built-in; admin is fixed */
    json_decref(role_put(f->a, "{\"name\":\"agent\",\"max_sensitivity\":\"public\",\"above_max\":\"deny\"}", &created,
                         &err));
    const char *const strict_agent[][2] = {{"id", "deny"}, {"city", "allow"}};
    expect(f->a, "agent", strict_agent, 2);
    assert_null(role_put(f->a, "{\"name\":\"admin\",\"max_sensitivity\":\"public\"}", NULL, &err));
    assert_int_equal(err.code, LH_E_FORBIDDEN);
    assert_int_equal(access_role_delete(f->a, "admin", &err), -1);
    assert_int_equal(err.code, LH_E_FORBIDDEN);
    /* bad definitions */
    const char *bad[] = {
        "{\"name\":\"Bad Name\"}", "{\"name\":\"x\",\"max_sensitivity\":\"secret\"}",
        "{\"name\":\"x\",\"pii\":{\"dna\":\"deny\"}}", "{\"name\":\"x\",\"pii\":{\"email\":\"maybe\"}}",
        "{\"name\":\"x\",\"above_max\":3}", "{\"name\":\"x\",\"colour\":\"red\"}", "[]", "{}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(role_put(f->a, bad[i], NULL, &err));
        assert_int_equal(err.code, LH_E_BAD_REQUEST);
    }
    /* persisted: a new instance sees the same roles */
    access_free(f->a);
    f->a = access_open(f->st, NULL, NULL, &err);
    assert_non_null(f->a);
    json_t *got = access_role_get(f->a, "auditor", &err);
    assert_string_equal(json_string_value(json_object_get(got, "max_sensitivity")), "public");
    json_decref(got);
    expect(f->a, "agent", strict_agent, 2);
    /* delete: custom goes, built-in returns to its defaults */
    assert_int_equal(access_role_delete(f->a, "auditor", &err), 0);
    assert_null(access_role_get(f->a, "auditor", &err));
    assert_int_equal(access_role_delete(f->a, "auditor", &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_int_equal(access_role_delete(f->a, "agent", &err), 0);
    const char *const agent_again[][2] = {{"id", "allow"}, {"email", "mask:hash"}};
    expect(f->a, "agent", agent_again, 2);
    access_free(f->a);
    f->a = access_open(f->st, NULL, NULL, &err);
    expect(f->a, "agent", agent_again, 2);
    json_t *all = access_roles(f->a);
    assert_int_equal(json_array_size(json_object_get(all, "roles")), 6);
    json_decref(all);
}

static void test_corrupt_roles_file_refused(void **state) {
    fixture *f = *state;
    const char *junk = "{\"roles\":[{\"name\":\"x\",\"pii\":{\"email\":\"sometimes\"}}]}";
    assert_int_equal(storage_put(f->st, "_access/roles.json", junk, strlen(junk), NULL, NULL), 0);
    lh_err err = {0};
    assert_null(access_open(f->st, NULL, NULL, &err));
    assert_non_null(strstr(err.msg, "_access/roles.json"));
    assert_int_equal(storage_put(f->st, "_access/roles.json", "not json", 8, NULL, NULL), 0);
    assert_null(access_open(f->st, NULL, NULL, &err));
    const char *admin = "{\"roles\":[{\"name\":\"admin\",\"max_sensitivity\":\"public\"}]}";
    assert_int_equal(storage_put(f->st, "_access/roles.json", admin, strlen(admin), NULL, NULL), 0);
    assert_null(access_open(f->st, NULL, NULL, &err));
    storage_delete(f->st, "_access/roles.json", NULL);
}

/* ---- end to end over a catalog dataset --------------------------------- */

static void publish(void *ctx, uint64_t version, const char *const *names, const char *const *selects, size_t n) {
    query_engine_set_views(ctx, version, names, selects, n, NULL);
}

static json_t *row0(json_t *res) { return json_array_get(json_object_get(res, "rows"), 0); }

static int col_index(json_t *res, const char *name) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(res, "columns"), i, c)
        if (!strcmp(json_string_value(json_object_get(c, "name")), name)) return (int)i;
    return -1;
}

static const char *cell(json_t *res, const char *name) {
    int i = col_index(res, name);
    assert_true(i >= 0);
    return json_string_value(json_array_get(row0(res), (size_t)i));
}

static void test_masked_query_end_to_end(void **state) {
    fixture *f = *state;
    lh_err err = {0};
    lh_query_config qc = {.pool_size = 2, .default_limit = 100, .max_limit = 1000, .default_timeout_ms = 10000};
    lh_query_engine *q = query_engine_new(&qc, &err);
    assert_non_null(q);
    lh_catalog *cat = catalog_open(f->st, NULL, &err);
    assert_non_null(cat);
    catalog_set_views_listener(cat, publish, q);
    lh_lineage lin = {.source_system = "test", .source = "values"};
    json_t *m = catalog_write(cat, "people",
                              "SELECT * FROM (VALUES (1, 'Jane Doe', 'jane.doe@example.com', '555-123-4567', "
                              "'123-45-6789', 85000), (2, 'Li Wei', 'li@example.org', '555-987-6543', '987-65-4321', "
                              "123456)) t(id, full_name, email, phone, ssn, salary)",
                              LH_WRITE_CREATE, &lin, &err);
    if (!m) fail_msg("catalog_write: %s", err.msg);
    json_decref(m);
    access_free(f->a);
    f->a = access_open(f->st, cat, q, &err);
    assert_non_null(f->a);
    json_decref(role_put(f->a, "{\"name\":\"partial\",\"max_sensitivity\":\"restricted\",\"pii\":{\"email\":"
                               "\"mask:partial\",\"phone\":\"mask:partial\",\"salary\":\"mask:partial\","
                               "\"ssn\":\"mask:null\"}}", NULL, &err));

    lh_principal who;
    access_principal_admin(&who, "tester");
    snprintf(who.role, sizeof who.role, "partial");
    who.level = LH_LEVEL_READ;
    json_t *res = access_query(f->a, &who, "people", NULL, 10, &err);
    if (!res) fail_msg("access_query: %s", err.msg);
    assert_int_equal(json_integer_value(json_object_get(res, "row_count")), 2);
    assert_string_equal(cell(res, "email"), "j***@example.com");
    assert_string_equal(cell(res, "phone"), "********4567");
    assert_true(json_is_null(json_array_get(row0(res), (size_t)col_index(res, "ssn"))));
    assert_int_equal(json_integer_value(json_array_get(row0(res), (size_t)col_index(res, "salary"))), 80000);
    assert_string_equal(cell(res, "full_name"), "Jane Doe");
    json_decref(res);

    snprintf(who.name, sizeof who.name, "bot-1");
    snprintf(who.role, sizeof who.role, "agent");
    res = access_query(f->a, &who, "people", NULL, 10, &err);
    if (!res) fail_msg("access_query agent: %s", err.msg);
    assert_int_equal(col_index(res, "ssn"), -1);
    assert_int_equal(strlen(cell(res, "email")), 16);
    assert_non_null(strstr(json_string_value(json_object_get(res, "sql")), "lh_mask_hash"));
    json_decref(res);

    json_t *cols = json_loads("[\"ssn\"]", 0, NULL);
    assert_null(access_query(f->a, &who, "people", cols, 10, &err));
    assert_int_equal(err.code, LH_E_FORBIDDEN);
    json_decref(cols);
    assert_null(access_check(f->a, "agent", "nosuch", NULL, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    char *sql = access_masked_select(f->a, "analyst", "people", NULL, &err);
    assert_non_null(sql);
    assert_null(strstr(sql, "\"ssn\""));
    free(sql);

    json_t *audit = access_audit_list(f->a, 10, NULL, NULL);
    json_t *recs = json_object_get(audit, "records");
    assert_int_equal(json_array_size(recs), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "outcome")), "denied");
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 1), "caller")), "bot-1");
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 2), "kind")), "access_query");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(recs, 2), "rows")), 2);
    json_decref(audit);

    access_free(f->a);
    f->a = access_open(f->st, NULL, NULL, &err);
    catalog_free(cat);
    query_engine_free(q);
}

static void test_audit_log(void **state) {
    fixture *f = *state;
    for (int i = 0; i < 5; i++) {
        char sql[32];
        snprintf(sql, sizeof sql, "SELECT %d", i);
        lh_access_audit_rec r = {.caller = i % 2 ? "odd" : "even", .role = "read", .kind = "sql", .sql = sql,
                                 .rows = i, .elapsed_ms = 1.5, .outcome = i == 4 ? "error" : "ok",
                                 .error = i == 4 ? "boom" : NULL, .request_id = "rid"};
        access_audit(f->a, &r);
    }
    lh_access_audit_rec bad = {.caller = "x", .sql = "SELECT '\xff'", .rows = -1, .elapsed_ms = -1};
    access_audit(f->a, &bad);
    json_t *l = access_audit_list(f->a, 0, NULL, NULL);
    json_t *recs = json_object_get(l, "records");
    assert_int_equal(json_array_size(recs), 6);
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "sql")), "(not valid UTF-8)");
    assert_true(json_is_null(json_object_get(json_array_get(recs, 0), "rows")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 1), "sql")), "SELECT 4");
    json_decref(l);
    l = access_audit_list(f->a, 10, "even", NULL);
    assert_int_equal(json_integer_value(json_object_get(l, "count")), 3);
    json_decref(l);
    l = access_audit_list(f->a, 10, NULL, "error");
    assert_int_equal(json_integer_value(json_object_get(l, "count")), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(l, "records"), 0), "error")),
                        "boom");
    json_decref(l);
    l = access_audit_list(f->a, 2, NULL, NULL);
    assert_int_equal(json_integer_value(json_object_get(l, "count")), 2);
    json_decref(l);
    /* reloaded from the file, a torn last line skipped */
    char *path = storage_path(f->st, "_access/audit.jsonl");
    FILE *fp = fopen(path, "a");
    fputs("{\"at\":\"torn", fp);
    fclose(fp);
    free(path);
    access_free(f->a);
    lh_err err = {0};
    f->a = access_open(f->st, NULL, NULL, &err);
    l = access_audit_list(f->a, 100, NULL, NULL);
    assert_int_equal(json_integer_value(json_object_get(l, "count")), 6);
    json_decref(l);
    lh_access_audit_rec after = {.caller = "after", .sql = "SELECT 1", .rows = 1, .elapsed_ms = 1};
    access_audit(f->a, &after);
    access_free(f->a);
    f->a = access_open(f->st, NULL, NULL, &err);
    l = access_audit_list(f->a, 100, "after", NULL);
    assert_int_equal(json_integer_value(json_object_get(l, "count")), 1);
    json_decref(l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_builtin_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decisions_per_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_column_selection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_roles_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_masked_query_end_to_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_log, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
