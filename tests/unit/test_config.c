/*
 * test_config.c — configuration loading: defaults, file overrides, the
 * environment (generic LAKEHOUSE_<SECTION>_<KEY>, the short aliases and
 * LAKEHOUSE_API_KEYS), [[auth.keys]], and "file:line: problem" errors for
 * unknown sections and keys, wrong types, out-of-range values, bad roles
 * and TOML syntax; bad environment values name the variable.
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

#include "common/config.h"
#include "common/strbuf.h"

extern char **environ;

/* Removes every LAKEHOUSE_* variable so the caller's shell cannot leak in. */
static int clear_env(void **state) {
    (void)state;
    for (;;) {
        char *name = NULL;
        for (char **e = environ; e && *e; e++)
            if (!strncmp(*e, "LAKEHOUSE_", 10)) {
                name = lh_strndup(*e, strcspn(*e, "="));
                break;
            }
        if (!name) return 0;
        unsetenv(name);
        free(name);
    }
}

static lh_config *load_ok(const char *toml) {
    lh_err err = {0};
    lh_config *cfg = config_load_string(toml, "test.toml", &err);
    if (!cfg) fail_msg("unexpected error: %s", err.msg);
    return cfg;
}

/* Loads toml expecting failure; the message must contain want. */
static void assert_load_fails(const char *toml, const char *want) {
    lh_err err = {0};
    lh_config *cfg = config_load_string(toml, "test.toml", &err);
    if (cfg) {
        config_free(cfg);
        fail_msg("expected '%s' for <<%s>>", want, toml);
    }
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    if (!strstr(err.msg, want)) fail_msg("<<%s>>: message '%s' lacks '%s'", toml, err.msg, want);
}

static void assert_defaults(const lh_config *c) {
    assert_null(c->server.host);
    assert_null(c->server.bind);
    assert_string_equal(config_bind_address(c), "0.0.0.0"); /* auth on: every interface */
    assert_int_equal(c->server.port, 3100);
    assert_int_equal(c->server.threads, 0);
    assert_int_equal(c->server.max_body_bytes, 10 * 1024 * 1024);
    assert_int_equal(c->server.max_upload_bytes, 4LL * 1024 * 1024 * 1024);
    assert_string_equal(c->storage.root, "./data");
    assert_int_equal(c->storage.checkpoint_interval, 10);
    assert_int_equal(c->query.threads, 0);
    assert_int_equal(c->query.memory_limit_mb, 0);
    assert_int_equal(c->query.pool_size, 4);
    assert_int_equal(c->query.default_limit, 10000);
    assert_int_equal(c->query.max_limit, 1000000);
    assert_int_equal(c->query.timeout_ms, 30000);
    assert_int_equal(c->auth.enabled, 1); /* safe by default */
    assert_int_equal(c->auth.nkeys, 0);
    assert_string_equal(c->telemetry.log_level, "info");
    assert_string_equal(c->telemetry.traces, "");
    assert_string_equal(c->telemetry.service_name, "lakehouse");
    assert_string_equal(c->ai.provider, "builtin");
    assert_null(c->ai.url);
    assert_null(c->ai.model);
    assert_string_equal(c->ai.embed_model, "builtin-hash");
    assert_int_equal(c->ai.dims, 384);
    assert_int_equal(c->ai.timeout_ms, 60000);
}

static void test_defaults(void **state) {
    (void)state;
    lh_config *c = load_ok("");
    assert_defaults(c);
    config_free(c);
    config_free(NULL);
}

/* lakehouse.toml.example lists every key with its default. */
static void test_example_file_is_defaults(void **state) {
    (void)state;
    lh_err err = {0};
    lh_config *c = config_load("lakehouse.toml.example", &err);
    if (!c) {
        if (access("lakehouse.toml.example", F_OK) != 0) skip(); /* not run from the repo root */
        fail_msg("example: %s", err.msg);
    }
    assert_defaults(c);
    config_free(c);
}

static void test_file_overrides(void **state) {
    (void)state;
    lh_config *c = load_ok(
        "# a comment\n"
        "[server]\nhost = \"127.0.0.1\"\nport = 8080\nmax_upload_bytes = 1_000\n"
        "[storage]\nroot = '/srv/lake'\n"
        "[query]\ntimeout_ms = 500\npool_size = 2\n"
        "[auth]\nenabled = true\n"
        "[[auth.keys]]\nkey = \"s3cret\"\nname = \"ops\"\nrole = \"write\"\n"
        "[[auth.keys]]\nkey_sha256 = \"AB" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\"\n"
        "role = \"recruiter\"\nrecruiter_id = \"r7\"\n"
        "[telemetry]\ntraces = \"stdout\"\nlog_level = \"DEBUG\"\n"
        "[ai]\nprovider = \"ollama\"\nurl = \"http://localhost:11434\"\nmodel = \"llama3\"\ndims = 64\n");
    assert_string_equal(c->server.host, "127.0.0.1");
    assert_int_equal(c->server.port, 8080);
    assert_int_equal(c->server.max_upload_bytes, 1000);
    assert_string_equal(c->storage.root, "/srv/lake");
    assert_int_equal(c->query.timeout_ms, 500);
    assert_int_equal(c->query.pool_size, 2);
    assert_int_equal(c->query.max_limit, 1000000); /* untouched keys keep defaults */
    assert_int_equal(c->auth.enabled, 1);
    assert_int_equal(c->auth.nkeys, 2);
    assert_string_equal(c->auth.keys[0].key, "s3cret");
    assert_string_equal(c->auth.keys[0].name, "ops");
    assert_string_equal(c->auth.keys[0].role, "write");
    assert_null(c->auth.keys[1].key);
    assert_string_equal(c->auth.keys[1].key_sha256, "ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd");
    assert_null(c->auth.keys[1].name);
    assert_string_equal(c->auth.keys[1].role, "recruiter");
    assert_string_equal(c->auth.keys[1].recruiter_id, "r7");
    assert_string_equal(c->telemetry.traces, "stdout");
    assert_string_equal(c->telemetry.log_level, "DEBUG");
    assert_string_equal(c->ai.provider, "ollama");
    assert_string_equal(c->ai.url, "http://localhost:11434");
    assert_string_equal(c->ai.model, "llama3");
    assert_int_equal(c->ai.dims, 64);
    config_free(c);
    c = load_ok("server.port = 1\nauth = { enabled = true, keys = [{key = 'k', role = 'read'}] }\n");
    assert_int_equal(c->server.port, 1);
    assert_int_equal(c->auth.nkeys, 1);
    assert_string_equal(c->auth.keys[0].role, "read");
    config_free(c);
}

static void test_file_errors(void **state) {
    (void)state;
    static const struct { const char *toml, *want; } cases[] = {
        {"[server]\nport = \"eighty\"\n", "test.toml:2: server.port must be an integer, not a string"},
        {"[server]\nport = 80\n[sever]\nx=1\n", "test.toml:3: unknown section [sever]"},
        {"[server]\n\nprot = 80\n", "test.toml:3: unknown key 'prot' in [server]"},
        {"port = 80\n", "test.toml:1: unknown top-level key 'port'"},
        {"[server]\nport = 70000\n", "test.toml:2: server.port must be between 0 and 65535 (got 70000)"},
        {"[server]\nport = -1\n", "test.toml:2: server.port must be between"},
        {"[query]\npool_size = 0\n", "test.toml:2: query.pool_size must be between 1"},
        {"[auth]\nenabled = \"yes\"\n", "test.toml:2: auth.enabled must be a boolean, not a string"},
        {"[auth]\nenabled = 1\n", "test.toml:2: auth.enabled must be a boolean, not an integer"},
        {"[storage]\nroot = 5\n", "test.toml:2: storage.root must be a string, not an integer"},
        {"[query]\ntimeout_ms = 1.5\n", "test.toml:2: query.timeout_ms must be an integer, not a float"},
        {"[ai]\nprovider = \"gpt\"\n", "test.toml:2: ai.provider must be builtin, ollama or openai (got 'gpt')"},
        {"[telemetry]\nlog_level = \"loud\"\n", "test.toml:2: telemetry.log_level must be"},
        {"[[auth.keys]]\nkey = \"k\"\nrole = \"ro ot\"\n", "test.toml:3: 'ro ot' is not a role name"},
        {"[[auth.keys]]\nkey = \"k\"\n", "test.toml:1: an API key must name its role"},
        {"[[auth.keys]]\nkey_sha256 = \"abc\"\nrole = \"read\"\n", "key_sha256 must be 64 hex digits"},
        {"[[auth.keys]]\nname = \"n\"\nrole = \"read\"\n", "test.toml:3: an API key needs 'key' or 'key_sha256'"},
        {"[[auth.keys]]\nkey = \"k\"\ncolour = 1\n", "test.toml:3: unknown key 'colour' in [[auth.keys]]"},
        {"[[auth.keys]]\nkey = 1\n", "test.toml:2: auth.keys key must be a string"},
        {"[[auth.keys]]\nkey = \"k\"\nrole = \"read\"\n[[auth.keys]]\nkey = \"k\"\nrole = \"read\"\n", "test.toml:6: the same API key"},
        {"[auth]\nkeys = \"k\"\n", "test.toml:2: auth.keys must be an array of tables"},
        {"server = 1\n", "test.toml:1: unknown top-level key 'server'"},
        {"port = = 1\n", "test.toml:1: expected a value"},
        {"[server]\nport = 1\n[server]\n", "test.toml:3: cannot define table 'server'"},
        {"[server]\nhost = \"a\\u0000b\"\n", "test.toml:2: server.host must not contain NUL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) assert_load_fails(cases[i].toml, cases[i].want);
}

/* [[access.roles]] become the JSON shape of POST /access/roles (validated by the access
 * module: unit/test_governance test_config_roles), each with its file:line. */
static void test_access_roles(void **state) {
    (void)state;
    lh_err err = {0};
    lh_config *c = config_load_string("[server]\nport = 1\n\n[[access.roles]]\nname = \"desk\"\nlevel = \"write\"\n"
                                      "pii = { email = \"mask:hash\" }\nrow_filters = { placements = \"recruiter_id = 3\" }\n"
                                      "[[access.roles]]\nname = \"viewer\"\n[access.roles.pii]\nssn = \"deny\"\n",
                                      "test.toml", &err);
    if (!c) fail_msg("%s", err.msg);
    assert_int_equal(json_array_size(c->access.roles), 2);
    json_t *want = json_loads("[{\"name\":\"desk\",\"level\":\"write\",\"pii\":{\"email\":\"mask:hash\"},"
                              "\"row_filters\":{\"placements\":\"recruiter_id = 3\"}},"
                              "{\"name\":\"viewer\",\"pii\":{\"ssn\":\"deny\"}}]", 0, NULL);
    assert_true(json_equal(c->access.roles, want));
    json_decref(want);
    assert_string_equal(c->access.role_where[0], "test.toml:4");
    assert_string_equal(c->access.role_where[1], "test.toml:9");
    config_free(c);
    assert_load_fails("[access]\nroles = \"desk\"\n", "test.toml:2: access.roles must be an array of tables");
    assert_load_fails("[access]\nrole = 1\n", "test.toml:2: unknown key 'role' in [access]");
    c = config_load_string("[server]\nport = 1\n", "test.toml", &err);
    assert_null(c->access.roles); /* none: built-ins and roles.json only */
    config_free(c);
}

static void test_env_overrides(void **state) {
    (void)state;
    setenv("LAKEHOUSE_PORT", "9999", 1);
    setenv("LAKEHOUSE_DATA", "/tmp/lake", 1);
    setenv("LAKEHOUSE_AUTH_ENABLED", "1", 1);
    setenv("LAKEHOUSE_AI_PROVIDER", "openai", 1);
    setenv("LAKEHOUSE_AI_URL", "https://api.example", 1);
    setenv("LAKEHOUSE_AI_MODEL", "gpt-x", 1);
    setenv("LAKEHOUSE_EMBED_MODEL", "embed-y", 1);
    setenv("LAKEHOUSE_QUERY_TIMEOUT_MS", "1234", 1);
    setenv("LAKEHOUSE_TELEMETRY_TRACES", "stdout", 1);
    setenv("LAKEHOUSE_SERVER_HOST", "::1", 1);
    lh_config *c = load_ok("[server]\nport = 80\n[query]\ntimeout_ms = 5\npool_size = 3\n");
    assert_int_equal(c->server.port, 9999); /* environment beats the file */
    assert_string_equal(c->server.host, "::1");
    assert_string_equal(c->storage.root, "/tmp/lake");
    assert_int_equal(c->auth.enabled, 1);
    assert_string_equal(c->ai.provider, "openai");
    assert_string_equal(c->ai.url, "https://api.example");
    assert_string_equal(c->ai.model, "gpt-x");
    assert_string_equal(c->ai.embed_model, "embed-y");
    assert_int_equal(c->query.timeout_ms, 1234);
    assert_int_equal(c->query.pool_size, 3); /* file value kept */
    assert_string_equal(c->telemetry.traces, "stdout");
    config_free(c);
    setenv("LAKEHOUSE_AUTH_ENABLED", "false", 1);
    unsetenv("LAKEHOUSE_SERVER_HOST");
    setenv("LAKEHOUSE_SERVER_PORT", "1", 1); /* the short alias wins */
    c = load_ok("");
    assert_int_equal(c->auth.enabled, 0);
    assert_string_equal(config_bind_address(c), "127.0.0.1"); /* auth off: loopback only */
    assert_int_equal(c->server.port, 9999);
    config_free(c);
    c = load_ok("[server]\nbind = \"0.0.0.0\"\n"); /* unless [server] bind says otherwise */
    assert_string_equal(config_bind_address(c), "0.0.0.0");
    config_free(c);
    clear_env(NULL);
}

static void test_env_api_keys(void **state) {
    (void)state;
    setenv("LAKEHOUSE_API_KEYS", "alpha:read, beta:analyst ,gamma:write,delta:ADMIN", 1);
    lh_config *c = load_ok("[[auth.keys]]\nkey = \"from-file\"\nrole = \"read\"\n");
    assert_int_equal(c->auth.nkeys, 4); /* replaces the file's keys */
    assert_string_equal(c->auth.keys[0].key, "alpha");
    assert_string_equal(c->auth.keys[0].name, "key1");
    assert_string_equal(c->auth.keys[0].role, "read");
    assert_string_equal(c->auth.keys[1].key, "beta");
    assert_string_equal(c->auth.keys[1].name, "key2");
    assert_string_equal(c->auth.keys[1].role, "analyst");
    assert_string_equal(c->auth.keys[2].role, "write");
    assert_string_equal(c->auth.keys[3].key, "delta");
    assert_string_equal(c->auth.keys[3].role, "admin");
    config_free(c);
    setenv("LAKEHOUSE_API_KEYS", "a:read,b", 1); /* a key without a role is refused, never admin */
    assert_load_fails("", "LAKEHOUSE_API_KEYS");
    assert_load_fails("", "must name its role");
    clear_env(NULL);
}

static void test_env_errors(void **state) {
    (void)state;
    static const struct { const char *var, *val, *want; } cases[] = {
        {"LAKEHOUSE_PORT", "notaport", "environment variable LAKEHOUSE_PORT: server.port must be an integer"},
        {"LAKEHOUSE_PORT", "65536", "environment variable LAKEHOUSE_PORT: server.port must be between"},
        {"LAKEHOUSE_PORT", "", "LAKEHOUSE_PORT"},
        {"LAKEHOUSE_AUTH_ENABLED", "maybe", "environment variable LAKEHOUSE_AUTH_ENABLED: auth.enabled must be true"},
        {"LAKEHOUSE_QUERY_TIMEOUT_MS", "10s", "LAKEHOUSE_QUERY_TIMEOUT_MS"},
        {"LAKEHOUSE_AI_PROVIDER", "skynet", "LAKEHOUSE_AI_PROVIDER: ai.provider must be"},
        {"LAKEHOUSE_AI_DIMS", "0", "LAKEHOUSE_AI_DIMS: ai.dims must be between 1 and 65536"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv(cases[i].var, cases[i].val, 1);
        assert_load_fails("", cases[i].want);
        unsetenv(cases[i].var);
    }
}

static void test_load_files(void **state) {
    (void)state;
    char dir[] = "/tmp/lh-config-XXXXXX", cwd[4096];
    assert_non_null(mkdtemp(dir));
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    lh_err err = {0};
    lh_config *c = config_load(NULL, &err); /* no ./lakehouse.toml: defaults */
    assert_non_null(c);
    assert_int_equal(c->server.port, 3100);
    config_free(c);
    assert_null(config_load("missing.toml", &err)); /* a given path must exist */
    assert_non_null(strstr(err.msg, "missing.toml"));
    FILE *f = fopen("lakehouse.toml", "w");
    assert_non_null(f);
    fputs("[server]\nport = 4000\n", f);
    fclose(f);
    c = config_load(NULL, &err);
    assert_non_null(c);
    assert_int_equal(c->server.port, 4000);
    config_free(c);
    f = fopen("bad.toml", "w");
    assert_non_null(f);
    fputs("[server]\n\nport = \"x\"\n", f);
    fclose(f);
    assert_null(config_load("bad.toml", &err));
    assert_non_null(strstr(err.msg, "bad.toml:3: server.port"));
    unlink("bad.toml");
    unlink("lakehouse.toml");
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rmdir(dir), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_example_file_is_defaults, clear_env),
        cmocka_unit_test_setup(test_file_overrides, clear_env),
        cmocka_unit_test_setup(test_file_errors, clear_env),
        cmocka_unit_test_setup(test_access_roles, clear_env),
        cmocka_unit_test_setup(test_env_overrides, clear_env),
        cmocka_unit_test_setup(test_env_api_keys, clear_env),
        cmocka_unit_test_setup(test_env_errors, clear_env),
        cmocka_unit_test_setup(test_load_files, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
