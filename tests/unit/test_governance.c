/*
 * test_governance.c — issue 10 at the module level: the principal model and
 * access_authorize (hashed keys, API keys made/rotated/revoked, levels, the
 * failed-attempt limiter), SQL confined to a role's schema through
 * query_open_as (masks, denied columns, bypass attempts refused, concurrent
 * principals of different roles on one pool), the keyed mask matching a
 * SipHash-2-4 computed here (and SipHash matching the reference vectors),
 * reserved storage keys, and the audit chain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access/access.h"
#include "catalog/catalog.h"
#include "common/config.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "query/query.h"
#include "storage/storage.h"
#include "support/fixture.h"

typedef struct {
    char dir[64];
    lh_storage *st;
    lh_query_engine *q;
    lh_catalog *cat;
    lh_access *a;
} fixture;

static void publish(void *ctx, uint64_t version, const char *const *names, const char *const *selects, size_t n) {
    query_engine_set_views(ctx, version, names, selects, n, NULL);
}

static int setup(void **state) {
    fixture *f = lh_calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/lh-gov-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    lh_err err = {0};
    f->st = storage_open_local("primary", f->dir, &err);
    lh_query_config qc = {.pool_size = 3, .default_limit = 100, .max_limit = 1000, .default_timeout_ms = 10000,
                          .allowed_root = f->dir};
    f->q = query_engine_new(&qc, &err);
    f->cat = catalog_open(f->st, NULL, &err);
    assert_non_null(f->cat);
    catalog_set_views_listener(f->cat, publish, f->q);
    lh_lineage lin = {.source_system = "test", .source = "values"};
    json_t *m = catalog_write(f->cat, "people",
                              "SELECT * FROM (VALUES (1, 'Jane Doe', 'jane.doe@example.com', '123-45-6789', 85000), "
                              "(2, 'Li Wei', 'li@example.org', '987-65-4321', 123456)) t(id, full_name, email, ssn, salary)",
                              LH_WRITE_CREATE, &lin, &err);
    if (!m) fail_msg("catalog_write: %s", err.msg);
    json_decref(m);
    f->a = access_open(f->st, f->cat, f->q, &err);
    if (!f->a) fail_msg("access_open: %s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    access_free(f->a);
    catalog_free(f->cat);
    query_engine_free(f->q);
    fixture_rm_rf(f->dir);
    storage_free(f->st);
    free(f);
    return 0;
}

static void principal(lh_principal *p, const char *role, lh_level level) {
    access_principal_admin(p, role);
    snprintf(p->role, sizeof p->role, "%s", role);
    p->level = level;
}

/* Runs sql as who; the result document, or NULL with err. */
static json_t *run_as(fixture *f, const lh_principal *who, const char *sql, lh_err *err) {
    lh_access_scope sc;
    if (access_scope(f->a, who, &sc, err) != 0) return NULL;
    return query_run_json_as(f->q, &sc.scope, sql, NULL, 0, 0, 0, err);
}

/* The deployment secret as the server keeps it: 64 hex digits in _access/mask.key. */
static void read_secret(fixture *f, unsigned char out[32]) {
    lh_err err = {0};
    char *hex = NULL;
    size_t len = 0;
    assert_int_equal(storage_get(f->st, "_access/mask.key", &hex, &len, &err), 0);
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (unsigned char)v;
    }
    free(hex);
}

/* ---- principals and authorization ---------------------------------------------------- */

static void test_authorize(void **state) {
    fixture *f = *state;
    lh_err err = {0};
    char sha[65];
    lh_sha256_hex("hashed-key", 10, sha);
    char *toml = lh_asprintf("[auth]\nenabled = true\n[[auth.keys]]\nkey = \"plain\"\nrole = \"read\"\nname = \"r\"\n"
                             "[[auth.keys]]\nkey_sha256 = \"%s\"\nrole = \"admin\"\n", sha);
    lh_config *cfg = config_load_string(toml, "t.toml", &err);
    free(toml);
    assert_non_null(cfg);
    assert_int_equal(access_auth_configure(f->a, cfg, &err), 0);
    lh_principal who;
    assert_int_equal(access_authorize(f->a, "plain", "10.0.0.1", LH_LEVEL_READ, "read", &who, &err), 0);
    assert_string_equal(who.role, "read");
    assert_string_equal(who.name, "r");
    assert_int_equal(access_authorize(f->a, "plain", "10.0.0.1", LH_LEVEL_WRITE, "write", &who, &err), -1);
    assert_int_equal(err.code, LH_E_FORBIDDEN);
    assert_int_equal(access_authorize(f->a, "hashed-key", "10.0.0.1", LH_LEVEL_ADMIN, "x", &who, &err), 0);
    assert_int_equal(access_authorize(f->a, NULL, "10.0.0.1", LH_LEVEL_READ, "x", &who, &err), -1);
    assert_int_equal(err.code, LH_E_UNAUTHORIZED);
    assert_int_equal(access_authorize(f->a, NULL, "10.0.0.1", LH_LEVEL_PUBLIC, "x", &who, &err), 0);
    assert_int_equal(who.level, LH_LEVEL_PUBLIC);

    /* API keys: made, used, rotated, revoked; only the hash is stored */
    json_t *def = json_loads("{\"name\":\"desk\",\"role\":\"recruiter\",\"attributes\":{\"recruiter_id\":\"7\"}}", 0, NULL);
    json_t *k = access_key_create(f->a, def, &err);
    json_decref(def);
    assert_non_null(k);
    char key[64], id[32];
    snprintf(key, sizeof key, "%s", json_string_value(json_object_get(k, "key")));
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(k, "id")));
    json_decref(k);
    assert_int_equal(access_authorize(f->a, key, "10.0.0.2", LH_LEVEL_READ, "x", &who, &err), 0);
    assert_string_equal(who.recruiter_id, "7");
    char *stored = NULL;
    size_t len = 0;
    assert_int_equal(storage_get(f->st, "_access/keys.json", &stored, &len, &err), 0);
    assert_null(strstr(stored, key));
    free(stored);
    json_t *r = access_key_rotate(f->a, id, &err);
    assert_non_null(r);
    assert_int_equal(access_authorize(f->a, key, "10.0.0.2", LH_LEVEL_READ, "x", &who, &err), -1);
    assert_int_equal(access_authorize(f->a, json_string_value(json_object_get(r, "key")), "10.0.0.2", LH_LEVEL_READ, "x",
                                      &who, &err), 0);
    assert_int_equal(access_key_revoke(f->a, id, &err), 0);
    assert_int_equal(access_authorize(f->a, json_string_value(json_object_get(r, "key")), "10.0.0.2", LH_LEVEL_READ, "x",
                                      &who, &err), -1);
    json_decref(r);
    def = json_loads("{\"name\":\"x\"}", 0, NULL); /* a key without a role */
    assert_null(access_key_create(f->a, def, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    json_decref(def);
    assert_int_equal(access_key_revoke(f->a, "config-1", &err), -1); /* config keys change in the config */
    assert_int_equal(err.code, LH_E_CONFLICT);

    /* failures from one address are limited, another address is not */
    for (int i = 0; i < 10; i++) access_authorize(f->a, "bad", "10.9.9.9", LH_LEVEL_READ, "x", &who, &err);
    assert_int_equal(access_authorize(f->a, "plain", "10.9.9.9", LH_LEVEL_READ, "x", &who, &err), -1);
    assert_int_equal(err.code, LH_E_RATE_LIMITED);
    assert_int_equal(access_authorize(f->a, "plain", "10.9.9.8", LH_LEVEL_READ, "x", &who, &err), 0);
    config_free(cfg);
}

/* Custom roles from [[access.roles]]: the API's parser (a bad field names the file and line),
 * keys may use them, their masks and row filters hold, the API cannot change them and they are
 * not copied into roles.json (ADR 0243). */
static void test_config_roles(void **state) {
    fixture *f = *state;
    lh_err err = {0};
    lh_config *bad = config_load_string("[[access.roles]]\nname = \"desk\"\ncolour = \"red\"\n", "t.toml", &err);
    assert_non_null(bad);
    assert_int_equal(access_auth_configure(f->a, bad, &err), -1);
    assert_non_null(strstr(err.msg, "t.toml:1: [[access.roles]]: unknown role field 'colour'"));
    config_free(bad);
    lh_err_clear(&err);
    lh_config *cfg = config_load_string("[[access.roles]]\nname = \"desk\"\nlevel = \"write\"\n"
                                        "max_sensitivity = \"confidential\"\npii_default = \"deny\"\n"
                                        "pii = { email = \"mask:hash\", salary = \"mask:partial\" }\n"
                                        "row_filters = { people = \"id = 2\" }\n"
                                        "[[auth.keys]]\nkey = \"desk-key\"\nrole = \"desk\"\n",
                                        "t.toml", &err);
    assert_non_null(cfg);
    if (access_auth_configure(f->a, cfg, &err) != 0) fail_msg("%s", err.msg);
    lh_principal who;
    assert_int_equal(access_authorize(f->a, "desk-key", "10.0.0.3", LH_LEVEL_WRITE, "write", &who, &err), 0);
    assert_string_equal(who.role, "desk");
    json_t *r = run_as(f, &who, "SELECT id, email, salary FROM people", &err);
    if (!r) fail_msg("%s", err.msg);
    json_t *rows = json_object_get(r, "rows");
    assert_int_equal(json_array_size(rows), 1); /* the row filter */
    assert_int_equal(json_integer_value(json_array_get(json_array_get(rows, 0), 0)), 2);
    assert_int_equal(strlen(json_string_value(json_array_get(json_array_get(rows, 0), 1))), 16); /* hashed */
    assert_int_equal(json_integer_value(json_array_get(json_array_get(rows, 0), 2)), 120000);   /* rounded */
    json_decref(r);
    assert_null(run_as(f, &who, "SELECT ssn FROM people", &err)); /* pii_default deny */
    json_t *role = access_role_get(f->a, "desk", &err);
    assert_string_equal(json_string_value(json_object_get(role, "source")), "config");
    assert_null(access_role_put(f->a, role, NULL, &err)); /* GET's shape goes back in, but not over the config */
    assert_int_equal(err.code, LH_E_CONFLICT);
    json_decref(role);
    assert_int_equal(access_role_delete(f->a, "desk", &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    json_t *other = json_loads("{\"name\":\"other\",\"level\":\"read\"}", 0, NULL);
    json_t *put = access_role_put(f->a, other, NULL, &err); /* roles.json gets API roles only */
    assert_non_null(put);
    json_decref(put);
    json_decref(other);
    char *stored = NULL;
    size_t len = 0;
    assert_int_equal(storage_get(f->st, "_access/roles.json", &stored, &len, &err), 0);
    assert_non_null(strstr(stored, "\"other\""));
    assert_null(strstr(stored, "\"desk\""));
    free(stored);
    config_free(cfg);
}

/* ---- confinement ---------------------------------------------------------------------------- */

static void test_confined_sql(void **state) {
    fixture *f = *state;
    lh_err err = {0};
    lh_principal admin, reader, ana;
    principal(&admin, "admin", LH_LEVEL_ADMIN);
    principal(&reader, "read", LH_LEVEL_READ);
    principal(&ana, "analyst", LH_LEVEL_READ);
    json_t *r = run_as(f, &admin, "SELECT ssn FROM people ORDER BY id", &err);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_array_get(json_array_get(json_object_get(r, "rows"), 0), 0)),
                        "123-45-6789");
    json_decref(r);
    assert_null(run_as(f, &reader, "SELECT ssn FROM people", &err)); /* denied: the column is absent */
    r = run_as(f, &reader, "SELECT email, salary FROM people ORDER BY id", &err);
    if (!r) fail_msg("%s", err.msg);
    json_t *row = json_array_get(json_object_get(r, "rows"), 0);
    const char *hashed = json_string_value(json_array_get(row, 0));
    unsigned char key[32];
    read_secret(f, key);
    unsigned char md[32];
    unsigned int mdlen = 0;
    static const char label[] = "lakehouse mask: siphash-2-4"; /* the mask's key, derived (ADR 0241) */
    HMAC(EVP_sha256(), key, 32, (const unsigned char *)label, sizeof label - 1, md, &mdlen);
    uint64_t h = lh_siphash24(md, "jane.doe@example.com", 20);
    char want[17];
    for (int i = 0; i < 8; i++) snprintf(want + 2 * i, 3, "%02x", (unsigned)(h >> (8 * i)) & 0xff);
    assert_string_equal(hashed, want); /* keyed SipHash-2-4, its 8 bytes as hex */
    assert_int_equal(json_integer_value(json_array_get(row, 1)), 80000); /* pay rounded */
    json_decref(r);

    static const char *const refused[] = {
        "SELECT * FROM __raw__people", "SELECT * FROM main.people", "SELECT * FROM memory.main.people",
        "SELECT * FROM information_schema.columns", "SELECT * FROM duckdb_views()", "SELECT * FROM duckdb_tables",
        "SELECT * FROM read_parquet('tables/people/*.parquet')", "SELECT * FROM glob('*')",
        "SELECT * FROM 'tables/people/x.parquet'", "SELECT lh_mask_hash('jane.doe@example.com')",
        "WITH duckdb_views AS (SELECT * FROM duckdb_views) SELECT * FROM duckdb_views",
        "SELECT * FROM (SELECT 1) t WHERE EXISTS (SELECT * FROM main.people)", "SET threads = 1", "PRAGMA version",
        "EXPLAIN ANALYZE SELECT 1", "EXPLAIN (FORMAT json) SELECT 1", "EXPLAIN SELECT * FROM main.people",
        "EXPLAIN SELECT ssn FROM people", "EXPLAIN PRAGMA version", "EXPLAIN SELECT * FROM read_parquet('x')",
        "SELECT * FROM lh_role_admin.people", "SELECT * FROM lh_role_analyst.people",
        "SELECT * FROM query('SELECT 1')", "SELECT getenv('HOME')", "ATTACH ':memory:' AS x",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        lh_err e = {0};
        json_t *x = run_as(f, &reader, refused[i], &e);
        if (x) fail_msg("ran as read: %s", refused[i]);
        if (e.code != LH_E_FORBIDDEN && e.code != LH_E_BAD_REQUEST) fail_msg("%s: code %d %s", refused[i], e.code, e.msg);
    }
    /* allowed shapes still work: CTE, subquery, UNION, casts, DESCRIBE, range */
    static const char *const fine[] = {
        "WITH p AS (SELECT email FROM people) SELECT count(*) FROM p",
        "SELECT * FROM (SELECT upper(email) AS e FROM people) t", "SELECT email FROM people UNION SELECT 'x'",
        "SELECT CAST(salary AS VARCHAR) FROM people", "DESCRIBE people", "SELECT * FROM range(3)",
        "SELECT count(*) FROM people a JOIN people b ON a.email = b.email",
        "EXPLAIN SELECT email FROM people WHERE id = 1", /* the plan of a statement the role may run (ADR 0244) */
    };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        lh_err e = {0};
        json_t *x = run_as(f, &ana, fine[i], &e);
        if (!x) fail_msg("refused as analyst: %s (%s)", fine[i], e.msg);
        json_decref(x);
    }
    json_t *plan = run_as(f, &ana, "EXPLAIN SELECT email FROM people", &err); /* binds to the masked view */
    if (!plan) fail_msg("%s", err.msg);
    char *text = json_dumps(plan, 0);
    assert_non_null(strstr(text, "physical_plan"));
    assert_null(strstr(text, "jane.doe"));
    free(text);
    json_decref(plan);
}

typedef struct {
    fixture *f;
    const char *role;
    int bad;
} worker;

static void *worker_main(void *arg) {
    worker *w = arg;
    lh_principal who;
    principal(&who, w->role, !strcmp(w->role, "admin") ? LH_LEVEL_ADMIN : LH_LEVEL_READ);
    for (int i = 0; i < 30; i++) {
        lh_err err = {0};
        json_t *r = run_as(w->f, &who, "SELECT email FROM people ORDER BY id", &err);
        const char *v = r ? json_string_value(json_array_get(json_array_get(json_object_get(r, "rows"), 0), 0)) : NULL;
        int is_plain = v && strchr(v, '@');
        if (!v || is_plain != !strcmp(w->role, "admin")) w->bad++;
        json_decref(r);
    }
    return NULL;
}

/* Admin and read principals share the pool; each always sees its own view. */
/* SipHash-2-4 against the reference vectors (key 00..0f, message 00..n-1). */
static void test_siphash_vectors(void **state) {
    (void)state;
    unsigned char key[16], msg[16];
    for (int i = 0; i < 16; i++) key[i] = msg[i] = (unsigned char)i;
    assert_true(lh_siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
    assert_true(lh_siphash24(key, msg, 1) == 0x74f839c593dc67fdULL);
    assert_true(lh_siphash24(key, msg, 2) == 0x0d6c8009d9a94f5aULL);
    assert_true(lh_siphash24(key, msg, 8) == 0x93f5f5799a932462ULL);
    assert_true(lh_siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL); /* the paper's example */
    key[0] ^= 1;
    assert_true(lh_siphash24(key, msg, 15) != 0xa129ca6149be45e5ULL);
}

static void test_concurrent_scopes(void **state) {
    fixture *f = *state;
    worker w[4] = {{f, "admin", 0}, {f, "read", 0}, {f, "admin", 0}, {f, "analyst", 0}};
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker_main, &w[i]);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) assert_int_equal(w[i].bad, 0);
}

/* ---- reserved storage and the audit chain ------------------------------------------------ */

static void test_reserved_keys(void **state) {
    (void)state;
    static const char *const reserved[] = {"_catalog/x", "_ACCESS/audit.jsonl", "%5Fcatalog/x", "tables/a/b",
                                           "TABLES/x", "_hnsw_idx/g", "/_access/x", "./_jobs/x", "_x"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (!storage_key_reserved(reserved[i])) fail_msg("not reserved: %s", reserved[i]);
    static const char *const user[] = {"uploads/a.csv", "tablesx/a", "a/_catalog/x", "my_tables/x"};
    for (size_t i = 0; i < sizeof user / sizeof user[0]; i++)
        if (storage_key_reserved(user[i])) fail_msg("reserved: %s", user[i]);
}

static void test_audit_chain(void **state) {
    fixture *f = *state;
    for (int i = 0; i < 5; i++) {
        lh_access_audit_rec rec = {.caller = "c", .role = "read", .kind = "sql", .sql = "SELECT 1", .rows = i,
                                   .elapsed_ms = 1, .outcome = "ok"};
        access_audit(f->a, &rec);
    }
    access_free(f->a); /* syncs and writes the head */
    lh_err err = {0};
    json_t *v = access_audit_verify(f->st, &err);
    assert_true(json_is_true(json_object_get(v, "ok")));
    assert_int_equal(json_integer_value(json_object_get(v, "records")), 5);
    json_decref(v);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(storage_get(f->st, "_access/audit.jsonl", &text, &len, &err), 0);
    char *p = strstr(text, "\"rows\":2");
    assert_non_null(p);
    p[7] = '9'; /* change one record */
    assert_int_equal(storage_put(f->st, "_access/audit.jsonl", text, len, NULL, &err), 0);
    free(text);
    v = access_audit_verify(f->st, &err);
    assert_false(json_is_true(json_object_get(v, "ok")));
    char *dump = json_dumps(v, 0);
    assert_non_null(strstr(dump, "seq 3 was changed"));
    free(dump);
    json_decref(v);
    f->a = access_open(f->st, f->cat, f->q, &err); /* for teardown */
}

/* Rewrites the whole log and its head as chain(prev, body) -> hash says, each record's rows
 * set to 0: what a forger would do. keyed: with the deployment's chain key, else unkeyed
 * sha256 (as the chain was before ADR 0244). */
static void forge_log(fixture *f, const unsigned char *key) {
    lh_err err = {0};
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(storage_get(f->st, "_access/audit.jsonl", &text, &len, &err), 0);
    lh_strbuf out = LH_STRBUF_INIT;
    char prev[65] = "0000000000000000000000000000000000000000000000000000000000000000";
    long long seq = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *rec = json_loads(line, 0, NULL);
        assert_non_null(rec);
        json_object_del(rec, "hash");
        json_object_set_new(rec, "rows", json_integer(0));
        json_object_set_new(rec, "prev", json_string(prev));
        json_object_set_new(rec, "seq", json_integer(++seq));
        char *body = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
        size_t n = strlen(body);
        unsigned char *msg = lh_malloc(64 + n), md[32];
        memcpy(msg, prev, 64);
        memcpy(msg + 64, body, n);
        unsigned int mdlen = 0;
        if (key) HMAC(EVP_sha256(), key, 32, msg, 64 + n, md, &mdlen);
        else EVP_Digest(msg, 64 + n, md, &mdlen, EVP_sha256(), NULL);
        free(msg);
        for (int i = 0; i < 32; i++) snprintf(prev + 2 * i, 3, "%02x", md[i]);
        body[n - 1] = 0;
        sb_printf(&out, "%s,\"hash\":\"%s\"}\n", body, prev);
        free(body);
        json_decref(rec);
    }
    free(text);
    assert_int_equal(storage_put(f->st, "_access/audit.jsonl", out.buf, out.len, NULL, &err), 0);
    char head[96];
    int hn = snprintf(head, sizeof head, "%lld %s\n", seq, prev);
    assert_int_equal(storage_put(f->st, "_access/audit.head", head, (size_t)hn, NULL, &err), 0);
    sb_free(&out);
}

/* A full rewrite of log and head (ADR 0244): without the chain key it is found; the same
 * rewrite with the key verifies, so it is the key that makes the difference. */
static void test_audit_full_rewrite(void **state) {
    fixture *f = *state;
    for (int i = 0; i < 4; i++) {
        lh_access_audit_rec rec = {.caller = "c", .role = "read", .kind = "sql", .sql = "SELECT 1", .rows = i + 1,
                                   .elapsed_ms = 1, .outcome = "denied"};
        access_audit(f->a, &rec);
    }
    access_free(f->a);
    f->a = NULL;
    lh_err err = {0};
    forge_log(f, NULL);
    json_t *v = access_audit_verify(f->st, &err);
    assert_false(json_is_true(json_object_get(v, "ok")));
    char *dump = json_dumps(v, 0);
    assert_non_null(strstr(dump, "seq 1 was changed"));
    free(dump);
    json_decref(v);
    unsigned char secret[32], key[32];
    read_secret(f, secret);
    unsigned int klen = 0;
    HMAC(EVP_sha256(), secret, 32, (const unsigned char *)"lakehouse audit chain", 21, key, &klen);
    forge_log(f, key);
    v = access_audit_verify(f->st, &err);
    assert_true(json_is_true(json_object_get(v, "ok")));
    json_decref(v);
    f->a = access_open(f->st, f->cat, f->q, &err); /* for teardown */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_authorize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confined_sql, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_scopes, setup, teardown),
        cmocka_unit_test(test_reserved_keys),
        cmocka_unit_test(test_siphash_vectors),
        cmocka_unit_test_setup_teardown(test_audit_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_full_rewrite, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
