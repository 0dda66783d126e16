/*
 * config.c — loads lh_config: defaults, then lakehouse.toml, then the
 * LAKEHOUSE_* environment (see config.h and lakehouse.toml.example).
 *
 * Every scalar key is one row of KEYS: section, key, type, default (as
 * text), field offset, and its allowed range or choices. The same row
 * drives the defaults, the TOML file (typed values, checked with their line
 * numbers) and the environment (text, LAKEHOUSE_<SECTION>_<KEY>). The one
 * non-scalar keys, [[auth.keys]], [[storage.buckets]] and [[access.roles]],
 * have their own readers, as do the short
 * environment aliases (LAKEHOUSE_PORT, LAKEHOUSE_DATA, ...).
 */
#include "common/config.h"
#include "common/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/toml.h"
#include "common/util.h"

typedef enum {
    K_STR,  /* char * */
    K_NSTR, /* char *, "" means NULL (unset) */
    K_INT,  /* int */
    K_I64,  /* int64_t */
    K_BOOL, /* int, 0 / 1 */
} key_type;

typedef struct {
    const char *section;
    const char *key;
    key_type type;
    const char *def;     /* default, as text; NULL for an unset K_NSTR */
    size_t off;          /* offsetof(lh_config, field) */
    int64_t min, max;    /* K_INT / K_I64 */
    const char *choices; /* strings: "a|b|c" (case-insensitive), NULL: any */
} cfg_key;

#define F(field) offsetof(lh_config, field)
#define I64MAX INT64_MAX

static const cfg_key KEYS[] = {
    {"server", "host", K_NSTR, "", F(server.host), 0, 0, NULL},
    {"server", "bind", K_NSTR, "", F(server.bind), 0, 0, NULL},
    {"server", "port", K_INT, "3100", F(server.port), 0, 65535, NULL},
    {"server", "threads", K_INT, "0", F(server.threads), 0, 4096, NULL},
    {"server", "max_body_bytes", K_I64, "10485760", F(server.max_body_bytes), 1, I64MAX, NULL},
    {"server", "max_upload_bytes", K_I64, "4294967296", F(server.max_upload_bytes), 1, I64MAX, NULL},
    {"server", "max_connections", K_INT, "1024", F(server.max_connections), 8, 65536, NULL},
    {"server", "shutdown_grace_ms", K_I64, "10000", F(server.shutdown_grace_ms), 0, 3600000, NULL},
    {"server", "queue_timeout_ms", K_I64, "10000", F(server.queue_timeout_ms), 0, 3600000, NULL},
    {"server", "query_concurrency", K_INT, "0", F(server.query_concurrency), 0, 4096, NULL},
    {"server", "query_queue", K_INT, "64", F(server.query_queue), 0, 65536, NULL},
    {"server", "ingest_concurrency", K_INT, "2", F(server.ingest_concurrency), 1, 4096, NULL},
    {"server", "ingest_queue", K_INT, "16", F(server.ingest_queue), 0, 65536, NULL},
    {"server", "vector_concurrency", K_INT, "4", F(server.vector_concurrency), 1, 4096, NULL},
    {"server", "vector_queue", K_INT, "32", F(server.vector_queue), 0, 65536, NULL},
    {"server", "admin_concurrency", K_INT, "2", F(server.admin_concurrency), 1, 4096, NULL},
    {"server", "admin_queue", K_INT, "8", F(server.admin_queue), 0, 65536, NULL},
    {"storage", "root", K_STR, "./data", F(storage.root), 0, 0, NULL},
    {"storage", "checkpoint_interval", K_INT, "10", F(storage.checkpoint_interval), 1, 1000000, NULL},
    {"storage", "rescue_bucket", K_NSTR, NULL, F(storage.rescue_bucket), 0, 0, NULL},
    {"storage", "secrets_file", K_NSTR, NULL, F(storage.secrets_file), 0, 0, NULL},
    {"storage", "secret_ref", K_NSTR, NULL, F(storage.secret_ref), 0, 0, NULL},
    {"storage", "s3_addressing", K_STR, "auto", F(storage.s3_addressing), 0, 0, "auto|path|virtual"},
    {"storage", "cache_dir", K_NSTR, NULL, F(storage.cache_dir), 0, 0, NULL},
    {"storage", "cache_max_gb", K_I64, "10", F(storage.cache_max_gb), 0, 1 << 20, NULL},
    {"storage", "s3_max_attempts", K_INT, "4", F(storage.s3_max_attempts), 1, 20, NULL},
    {"query", "threads", K_INT, "0", F(query.threads), 0, 4096, NULL},
    {"query", "memory_limit_mb", K_I64, "0", F(query.memory_limit_mb), 0, I64MAX / 1048576, NULL},
    {"query", "pool_size", K_INT, "4", F(query.pool_size), 1, 1024, NULL},
    {"query", "default_limit", K_I64, "10000", F(query.default_limit), 1, I64MAX, NULL},
    {"query", "max_limit", K_I64, "1000000", F(query.max_limit), 1, I64MAX, NULL},
    {"query", "timeout_ms", K_I64, "30000", F(query.timeout_ms), 1, I64MAX, NULL},
    {"query", "max_result_mb", K_I64, "256", F(query.max_result_mb), 0, I64MAX / 1048576, NULL},
    {"query", "cache_max_mb", K_I64, "1024", F(query.cache_max_mb), 1, I64MAX / 1048576, NULL},
    {"auth", "enabled", K_BOOL, "true", F(auth.enabled), 0, 1, NULL},
    {"telemetry", "log_level", K_STR, "info", F(telemetry.log_level), 0, 0, "debug|info|warn|error"},
    {"telemetry", "traces", K_STR, "", F(telemetry.traces), 0, 0, NULL},
    {"telemetry", "service_name", K_STR, "lakehouse", F(telemetry.service_name), 0, 0, NULL},
    {"ai", "provider", K_STR, "builtin", F(ai.provider), 0, 0, "builtin|ollama|openai"},
    {"ai", "url", K_NSTR, NULL, F(ai.url), 0, 0, NULL},
    {"ai", "model", K_NSTR, NULL, F(ai.model), 0, 0, NULL},
    {"ai", "embed_model", K_STR, "builtin-hash", F(ai.embed_model), 0, 0, NULL},
    {"ai", "rerank_model", K_NSTR, NULL, F(ai.rerank_model), 0, 0, NULL},
    {"ai", "dims", K_INT, "384", F(ai.dims), 1, 65536, NULL},
    {"ai", "timeout_ms", K_I64, "60000", F(ai.timeout_ms), 1, I64MAX, NULL},
    {"agent", "enabled", K_BOOL, "false", F(agent.enabled), 0, 1, NULL},
    {"agent", "cycle_interval_s", K_INT, "300", F(agent.cycle_interval_s), 1, 86400, NULL},
    {"agent", "cooldown_s", K_INT, "900", F(agent.cooldown_s), 0, 604800, NULL},
    {"agent", "min_recall_pct", K_INT, "90", F(agent.min_recall_pct), 1, 100, NULL},
    {"agent", "max_trials_per_hour", K_INT, "6", F(agent.max_trials_per_hour), 1, 3600, NULL},
    {"agent", "epsilon_pct", K_INT, "20", F(agent.epsilon_pct), 0, 100, NULL},
    {"agent", "eval_queries", K_INT, "20", F(agent.eval_queries), 1, 1000, NULL},
    {"grpc", "enabled", K_BOOL, "true", F(grpc.enabled), 0, 1, NULL},
    {"grpc", "port", K_INT, "3101", F(grpc.port), 0, 65535, NULL},
};
#define NKEYS (sizeof KEYS / sizeof KEYS[0])

static const char *SECTIONS[] = {"server", "storage", "query", "auth", "access", "telemetry", "ai", "agent", "grpc"};

/* Short environment names, applied after the generic LAKEHOUSE_<SECTION>_<KEY>. */
static const struct { const char *env, *section, *key; } ALIASES[] = {
    {"LAKEHOUSE_PORT", "server", "port"},
    {"LAKEHOUSE_DATA", "storage", "root"},
    {"LAKEHOUSE_EMBED_MODEL", "ai", "embed_model"},
};


/* ---- small helpers ------------------------------------------------------ */

static void *field(lh_config *cfg, const cfg_key *k) { return (char *)cfg + k->off; }

static const cfg_key *key_find(const char *section, const char *key, size_t klen) {
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(KEYS[i].section, section) && strlen(KEYS[i].key) == klen &&
            !memcmp(KEYS[i].key, key, klen))
            return &KEYS[i];
    return NULL;
}

static int section_known(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof SECTIONS / sizeof SECTIONS[0]; i++)
        if (strlen(SECTIONS[i]) == len && !memcmp(SECTIONS[i], name, len)) return 1;
    return 0;
}

/* 1 when s is one of "a|b|c" (case-insensitive). */
static int in_choices(const char *choices, const char *s) {
    size_t n = strlen(s);
    for (const char *c = choices; *c;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && !strncasecmp(c, s, n)) return 1;
        c += len + (bar ? 1 : 0);
    }
    return 0;
}

/* "a, b or c" from "a|b|c", for messages. */
static const char *choices_text(const char *choices, char *buf, size_t cap) {
    size_t o = 0;
    for (const char *c = choices; *c && o + 1 < cap; c++) {
        if (*c != '|') buf[o++] = *c;
        else o += (size_t)snprintf(buf + o, cap - o, strchr(c + 1, '|') ? ", " : " or ");
    }
    buf[o < cap ? o : cap - 1] = '\0';
    return buf;
}

static const char *type_word(key_type t) {
    return t == K_BOOL ? "a boolean" : (t == K_INT || t == K_I64) ? "an integer" : "a string";
}

/* ---- typed setters (shared by defaults, file and environment) ----------- */

/* Stores an already-parsed integer after the range check; where prefixes
 * the message ("file:line" or "environment variable X"). */
static int set_int(lh_config *cfg, const cfg_key *k, int64_t v, const char *where, lh_err *err) {
    if (v < k->min || v > k->max)
        return lh_err_set(err, LH_E_BAD_REQUEST, "%s: %s.%s must be between %lld and %lld (got %lld)",
                          where, k->section, k->key, (long long)k->min, (long long)k->max, (long long)v);
    if (k->type == K_INT) *(int *)field(cfg, k) = (int)v;
    else if (k->type == K_I64) *(int64_t *)field(cfg, k) = v;
    else *(int *)field(cfg, k) = v != 0;
    return 0;
}

static int set_str(lh_config *cfg, const cfg_key *k, const char *s, const char *where, lh_err *err) {
    char buf[128];
    if (k->choices && !in_choices(k->choices, s))
        return lh_err_set(err, LH_E_BAD_REQUEST, "%s: %s.%s must be %s (got '%s')", where, k->section,
                          k->key, choices_text(k->choices, buf, sizeof buf), s);
    char **slot = field(cfg, k);
    free(*slot);
    *slot = (k->type == K_NSTR && !*s) ? NULL : lh_strdup(s);
    return 0;
}

/* Strict decimal: optional sign, digits, nothing else. */
static int parse_i64(const char *s, int64_t *out) {
    if (!*s || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno == ERANGE) return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out) {
    if (!strcasecmp(s, "true") || !strcmp(s, "1")) *out = 1;
    else if (!strcasecmp(s, "false") || !strcmp(s, "0")) *out = 0;
    else return -1;
    return 0;
}

/* From text (defaults and the environment). */
static int set_from_text(lh_config *cfg, const cfg_key *k, const char *s, const char *where, lh_err *err) {
    if (k->type == K_STR || k->type == K_NSTR) return set_str(cfg, k, s ? s : "", where, err);
    int64_t v;
    int b;
    if (k->type == K_BOOL) {
        if (parse_bool(s, &b) != 0)
            return lh_err_set(err, LH_E_BAD_REQUEST, "%s: %s.%s must be true, false, 1 or 0 (got '%s')",
                              where, k->section, k->key, s);
        return set_int(cfg, k, b, where, err);
    }
    if (parse_i64(s, &v) != 0)
        return lh_err_set(err, LH_E_BAD_REQUEST, "%s: %s.%s must be an integer (got '%s')", where,
                          k->section, k->key, s);
    return set_int(cfg, k, v, where, err);
}

/* From a TOML value, checking its type. */
static int set_from_toml(lh_config *cfg, const cfg_key *k, const toml_value *v, const char *where,
                         lh_err *err) {
    toml_type t = toml_type_of(v);
    int want = k->type == K_BOOL ? TOML_BOOL : (k->type == K_INT || k->type == K_I64) ? TOML_INTEGER : TOML_STRING;
    if ((int)t != want)
        return lh_err_set(err, LH_E_BAD_REQUEST, "%s: %s.%s must be %s, not %s %s", where, k->section,
                          k->key, type_word(k->type), t == TOML_INTEGER || t == TOML_ARRAY ? "an" : "a",
                          toml_type_name(t));
    if (t == TOML_BOOL) return set_int(cfg, k, toml_bool(v), where, err);
    if (t == TOML_INTEGER) return set_int(cfg, k, toml_int(v), where, err);
    size_t len;
    const char *s = toml_string(v, &len);
    if (strlen(s) != len)
        return lh_err_set(err, LH_E_BAD_REQUEST, "%s: %s.%s must not contain NUL characters", where,
                          k->section, k->key);
    return set_str(cfg, k, s, where, err);
}

/* ---- API keys ----------------------------------------------------------- */

static void keys_clear(lh_config *cfg) {
    for (size_t i = 0; i < cfg->auth.nkeys; i++) {
        free(cfg->auth.keys[i].key);
        free(cfg->auth.keys[i].key_sha256);
        free(cfg->auth.keys[i].name);
        free(cfg->auth.keys[i].role);
        free(cfg->auth.keys[i].recruiter_id);
    }
    free(cfg->auth.keys);
    cfg->auth.keys = NULL;
    cfg->auth.nkeys = 0;
}

/* 1 when s is a role name as access_role.c accepts it (the role itself is
 * checked against the role registry when the server starts). */
static int role_name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64 || !isalpha((unsigned char)s[0])) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-') return 0;
    return 1;
}

static int hex64_ok(const char *s) {
    if (strlen(s) != 64) return 0;
    for (const char *p = s; *p; p++)
        if (!isxdigit((unsigned char)*p)) return 0;
    return 1;
}

/* Adds a key (copied): the key itself or its SHA-256 (hex), a role (required:
 * a key without one is refused, never taken as admin), optional name and
 * recruiter_id attribute. Rejects repeats. */
static int keys_add(lh_config *cfg, const lh_api_key *in, const char *where, lh_err *err) {
    if (!in->key && !in->key_sha256)
        return lh_err_set(err, LH_E_BAD_REQUEST, "%s: an API key needs 'key' or 'key_sha256'", where);
    if (in->key && !*in->key) return lh_err_set(err, LH_E_BAD_REQUEST, "%s: an API key must not be empty", where);
    if (in->key_sha256 && !hex64_ok(in->key_sha256))
        return lh_err_set(err, LH_E_BAD_REQUEST, "%s: key_sha256 must be 64 hex digits", where);
    if (!in->role || !*in->role)
        return lh_err_set(err, LH_E_BAD_REQUEST, "%s: an API key must name its role (admin, write, read, "
                                                 "recruiter, analyst, agent or a custom role)", where);
    if (!role_name_ok(in->role))
        return lh_err_set(err, LH_E_BAD_REQUEST, "%s: '%s' is not a role name", where, in->role);
    for (size_t i = 0; i < cfg->auth.nkeys; i++)
        if (in->key && cfg->auth.keys[i].key && !strcmp(cfg->auth.keys[i].key, in->key))
            return lh_err_set(err, LH_E_BAD_REQUEST, "%s: the same API key is listed twice", where);
    cfg->auth.keys = lh_realloc(cfg->auth.keys, (cfg->auth.nkeys + 1) * sizeof *cfg->auth.keys);
    lh_api_key *k = &cfg->auth.keys[cfg->auth.nkeys++];
    k->key = in->key ? lh_strdup(in->key) : NULL;
    k->key_sha256 = in->key_sha256 ? lh_strdup(in->key_sha256) : NULL;
    k->name = in->name ? lh_strdup(in->name) : NULL;
    k->recruiter_id = in->recruiter_id ? lh_strdup(in->recruiter_id) : NULL;
    k->role = lh_strdup(in->role);
    for (char *c = k->role; *c; c++) *c = (char)tolower((unsigned char)*c);
    if (k->key_sha256)
        for (char *c = k->key_sha256; *c; c++) *c = (char)tolower((unsigned char)*c);
    return 0;
}

/* A string field of an [[auth.keys]] entry, or NULL (with err set when
 * present but not a plain string). */
static const char *entry_string(const toml_value *v, const char *what, const char *name, lh_err *err) {
    size_t len;
    const char *s = toml_type_of(v) == TOML_STRING ? toml_string(v, &len) : NULL;
    if (!s || strlen(s) != len) {
        lh_err_set(err, LH_E_BAD_REQUEST, "%s:%d: auth.keys %s must be a string", name, toml_line(v), what);
        return NULL;
    }
    return s;
}

/* One { key = "...", name = "...", role = "..." } entry. */
static int read_key_entry(lh_config *cfg, const toml_value *e, const char *name, lh_err *err) {
    char where[300];
    snprintf(where, sizeof where, "%s:%d", name, toml_line(e));
    if (toml_type_of(e) != TOML_TABLE)
        return lh_err_set(err, LH_E_BAD_REQUEST, "%s: each auth.keys entry must be a table", where);
    const char *fields[5] = {NULL, NULL, NULL, NULL, NULL};
    static const char *names[5] = {"key", "name", "role", "key_sha256", "recruiter_id"};
    for (size_t i = 0; i < toml_table_size(e); i++) {
        size_t klen;
        const char *k = toml_table_key(e, i, &klen);
        const toml_value *v = toml_table_value(e, i);
        size_t f = 0;
        while (f < 5 && !(strlen(names[f]) == klen && !memcmp(names[f], k, klen))) f++;
        if (f == 5)
            return lh_err_set(err, LH_E_BAD_REQUEST,
                              "%s:%d: unknown key '%s' in [[auth.keys]] (key, key_sha256, name, role, recruiter_id)",
                              name, toml_line(v), k);
        if (!(fields[f] = entry_string(v, names[f], name, err))) return -1;
        if (f == 2) snprintf(where, sizeof where, "%s:%d", name, toml_line(v));
    }
    lh_api_key in = {.key = (char *)fields[0], .name = (char *)fields[1], .role = (char *)fields[2],
                     .key_sha256 = (char *)fields[3], .recruiter_id = (char *)fields[4]};
    return keys_add(cfg, &in, where, err);
}

static int read_keys(lh_config *cfg, const toml_value *arr, const char *name, lh_err *err) {
    if (toml_type_of(arr) != TOML_ARRAY)
        return lh_err_set(err, LH_E_BAD_REQUEST, "%s:%d: auth.keys must be an array of tables ([[auth.keys]])",
                          name, toml_line(arr));
    keys_clear(cfg);
    for (size_t i = 0; i < toml_array_size(arr); i++)
        if (read_key_entry(cfg, toml_array_at(arr, i), name, err) != 0) return -1;
    return 0;
}

/* ---- the file ----------------------------------------------------------- */

static int read_section(lh_config *cfg, const char *section, const toml_value *tab, const char *name,
                        lh_err *err) {
    char where[300];
    for (size_t i = 0; i < toml_table_size(tab); i++) {
        size_t klen;
        const char *key = toml_table_key(tab, i, &klen);
        const toml_value *v = toml_table_value(tab, i);
        snprintf(where, sizeof where, "%s:%d", name, toml_line(v));
        if (!strcmp(section, "auth") && klen == 4 && !memcmp(key, "keys", 4)) {
            if (read_keys(cfg, v, name, err) != 0) return -1;
            continue;
        }
        if (!strcmp(section, "access") && klen == 5 && !memcmp(key, "roles", 5)) {
            if (config_read_roles(cfg, v, name, err) != 0) return -1;
            continue;
        }
        if (!strcmp(section, "storage") && klen == 7 && !memcmp(key, "buckets", 7)) {
            if (config_read_buckets(cfg, v, name, err) != 0) return -1;
            continue;
        }
        const cfg_key *k = key_find(section, key, klen);
        if (!k) return lh_err_set(err, LH_E_BAD_REQUEST, "%s: unknown key '%s' in [%s]", where, key, section);
        if (set_from_toml(cfg, k, v, where, err) != 0) return -1;
    }
    return 0;
}

static int apply_toml(lh_config *cfg, const char *text, size_t len, const char *name, lh_err *err) {
    toml_value *root = toml_parse_named(text, len, name, err);
    if (!root) return -1;
    int rc = 0;
    for (size_t i = 0; i < toml_table_size(root) && rc == 0; i++) {
        size_t slen;
        const char *section = toml_table_key(root, i, &slen);
        const toml_value *v = toml_table_value(root, i);
        if (toml_type_of(v) != TOML_TABLE)
            rc = lh_err_set(err, LH_E_BAD_REQUEST, "%s:%d: unknown top-level key '%s' (settings go in a [section])",
                            name, toml_line(v), section);
        else if (!section_known(section, slen))
            rc = lh_err_set(err, LH_E_BAD_REQUEST,
                            "%s:%d: unknown section [%s] (server, storage, query, auth, access, telemetry, ai, agent, grpc)", name,
                            toml_line(v), section);
        else
            rc = read_section(cfg, section, v, name, err);
    }
    toml_free(root);
    return rc;
}

/* ---- the environment ---------------------------------------------------- */

/* LAKEHOUSE_API_KEYS = key[:role],... — named key1, key2, ... */
static int env_api_keys(lh_config *cfg, const char *val, lh_err *err) {
    char *copy = lh_strdup(val), *save = NULL;
    int rc = 0, n = 0;
    keys_clear(cfg);
    for (char *item = strtok_r(copy, ",", &save); item && rc == 0; item = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*item)) item++;
        char *end = item + strlen(item);
        while (end > item && isspace((unsigned char)end[-1])) *--end = '\0';
        if (!*item) continue;
        char *colon = strrchr(item, ':'), name[32], where[64];
        if (colon) *colon = '\0';
        snprintf(name, sizeof name, "key%d", ++n);
        snprintf(where, sizeof where, "environment variable LAKEHOUSE_API_KEYS (entry %d)", n);
        lh_api_key in = {.key = item, .name = name, .role = colon ? colon + 1 : NULL};
        rc = keys_add(cfg, &in, where, err);
    }
    free(copy);
    return rc;
}

static int env_override(lh_config *cfg, const char *var, const cfg_key *k, lh_err *err) {
    const char *v = getenv(var);
    if (!v) return 0;
    char where[160];
    snprintf(where, sizeof where, "environment variable %.128s", var);
    return set_from_text(cfg, k, v, where, err);
}

static int apply_env(lh_config *cfg, lh_err *err) {
    for (size_t i = 0; i < NKEYS; i++) {
        char var[128];
        int n = snprintf(var, sizeof var, "LAKEHOUSE_%s_%s", KEYS[i].section, KEYS[i].key);
        for (int c = 0; c < n; c++) var[c] = (char)toupper((unsigned char)var[c]);
        if (env_override(cfg, var, &KEYS[i], err) != 0) return -1;
    }
    for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++) {
        const cfg_key *k = key_find(ALIASES[i].section, ALIASES[i].key, strlen(ALIASES[i].key));
        if (env_override(cfg, ALIASES[i].env, k, err) != 0) return -1;
    }
    const char *keys = getenv("LAKEHOUSE_API_KEYS");
    return keys ? env_api_keys(cfg, keys, err) : 0;
}

/* ---- public ------------------------------------------------------------- */

static lh_config *config_defaults(void) {
    lh_config *cfg = lh_calloc(1, sizeof *cfg);
    for (size_t i = 0; i < NKEYS; i++)
        if (KEYS[i].def && set_from_text(cfg, &KEYS[i], KEYS[i].def, "default", NULL) != 0) abort();
    return cfg;
}

/* Defaults, then text (when not NULL), then the environment. */
static lh_config *load(const char *text, size_t len, const char *name, lh_err *err) {
    lh_config *cfg = config_defaults();
    if ((text && apply_toml(cfg, text, len, name, err) != 0) || apply_env(cfg, err) != 0) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

lh_config *config_load_string(const char *toml, const char *name, lh_err *err) {
    return load(toml ? toml : "", toml ? strlen(toml) : 0, name ? name : "config", err);
}

lh_config *config_load(const char *path, lh_err *err) {
    const char *file = path ? path : "lakehouse.toml";
    if (!path && access(file, F_OK) != 0) return load(NULL, 0, file, err);
    char *text = NULL;
    size_t len = 0;
    lh_err rerr = {0};
    if (lh_read_file(file, &text, &len, &rerr) != 0) {
        lh_err_set(err, LH_E_BAD_REQUEST, "cannot read config file %s", rerr.msg);
        return NULL;
    }
    lh_config *cfg = load(text, len, file, err);
    free(text);
    return cfg;
}

void config_free(lh_config *cfg) {
    if (!cfg) return;
    for (size_t i = 0; i < NKEYS; i++)
        if (KEYS[i].type == K_STR || KEYS[i].type == K_NSTR) free(*(char **)field(cfg, &KEYS[i]));
    keys_clear(cfg);
    config_buckets_clear(cfg);
    config_roles_clear(cfg);
    free(cfg);
}

const char *config_bind_address(const lh_config *cfg) {
    if (cfg->server.bind) return cfg->server.bind;
    if (cfg->server.host) return cfg->server.host;
    return cfg->auth.enabled ? "0.0.0.0" : "127.0.0.1";
}
