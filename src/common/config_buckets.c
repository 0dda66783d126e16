/*
 * config_buckets.c — reads [[storage.buckets]] (the extra buckets of the
 * registry, see storage/buckets.h):
 *
 *   [[storage.buckets]]
 *   name = "rescue"            # letters, digits, '-', '_'; not "primary"
 *   backend = "local"          # or "s3"
 *   root = "/srv/rescue"       # local
 *   endpoint = "http://127.0.0.1:9000"   # s3 ...
 *   bucket = "lake"  region = "us-east-1"  secret_ref = "minio"
 *
 * Only the shape is checked here (types, known keys, required keys per
 * backend, unique names); reachability is the registry's business.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config_internal.h"
#include "common/strbuf.h"

static const char *FIELDS[] = {"name", "backend", "root", "endpoint", "bucket", "region", "secret_ref"};
#define NFIELDS (sizeof FIELDS / sizeof FIELDS[0])

static char **slot(lh_bucket_config *b, size_t i) {
    char **slots[NFIELDS] = {&b->name, &b->backend, &b->root, &b->endpoint, &b->bucket, &b->region,
                             &b->secret_ref};
    return slots[i];
}

static void bucket_clear(lh_bucket_config *b) {
    for (size_t i = 0; i < NFIELDS; i++) free(*slot(b, i));
    memset(b, 0, sizeof *b);
}

void config_buckets_clear(lh_config *cfg) {
    for (size_t i = 0; i < cfg->storage.nbuckets; i++) bucket_clear(&cfg->storage.buckets[i]);
    free(cfg->storage.buckets);
    cfg->storage.buckets = NULL;
    cfg->storage.nbuckets = 0;
}

static int name_ok(const char *s) {
    if (!*s || strlen(s) > 63) return 0;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
              *c == '_'))
            return 0;
    return 1;
}

/* Required keys per backend, and names unique among earlier entries. */
static int entry_check(const lh_config *cfg, const lh_bucket_config *b, const char *where, lh_err *err) {
    if (!b->name || !name_ok(b->name))
        return lh_err_set(err, LH_E_BAD_REQUEST,
                          "%s: [[storage.buckets]] needs a name of 1-63 letters, digits, '-' or '_'", where);
    if (!strcmp(b->name, "primary"))
        return lh_err_set(err, LH_E_BAD_REQUEST, "%s: bucket 'primary' is [storage] root; do not list it", where);
    for (size_t i = 0; i < cfg->storage.nbuckets; i++)
        if (!strcmp(cfg->storage.buckets[i].name, b->name))
            return lh_err_set(err, LH_E_BAD_REQUEST, "%s: bucket '%s' is listed twice", where, b->name);
    const char *be = b->backend ? b->backend : "local";
    if (!strcmp(be, "local")) {
        if (!b->root) return lh_err_set(err, LH_E_BAD_REQUEST, "%s: local bucket '%s' needs root", where, b->name);
    } else if (!strcmp(be, "s3")) {
        if (!b->endpoint || !b->bucket || !b->secret_ref)
            return lh_err_set(err, LH_E_BAD_REQUEST, "%s: s3 bucket '%s' needs endpoint, bucket and secret_ref",
                              where, b->name);
    } else {
        return lh_err_set(err, LH_E_BAD_REQUEST, "%s: backend must be local or s3 (got '%s')", where, be);
    }
    return 0;
}

static int entry_read(const toml_value *e, lh_bucket_config *b, const char *name, lh_err *err) {
    for (size_t i = 0; i < toml_table_size(e); i++) {
        size_t klen, slen;
        const char *k = toml_table_key(e, i, &klen);
        const toml_value *v = toml_table_value(e, i);
        size_t f = 0;
        while (f < NFIELDS && !(strlen(FIELDS[f]) == klen && !memcmp(FIELDS[f], k, klen))) f++;
        if (f == NFIELDS)
            return lh_err_set(err, LH_E_BAD_REQUEST,
                              "%s:%d: unknown key '%s' in [[storage.buckets]] (name, backend, root, endpoint, "
                              "bucket, region, secret_ref)", name, toml_line(v), k);
        const char *s = toml_type_of(v) == TOML_STRING ? toml_string(v, &slen) : NULL;
        if (!s || strlen(s) != slen)
            return lh_err_set(err, LH_E_BAD_REQUEST, "%s:%d: storage.buckets %s must be a string", name,
                              toml_line(v), FIELDS[f]);
        *slot(b, f) = lh_strdup(s);
    }
    return 0;
}

int config_read_buckets(lh_config *cfg, const toml_value *arr, const char *name, lh_err *err) {
    if (toml_type_of(arr) != TOML_ARRAY)
        return lh_err_set(err, LH_E_BAD_REQUEST,
                          "%s:%d: storage.buckets must be an array of tables ([[storage.buckets]])", name,
                          toml_line(arr));
    config_buckets_clear(cfg);
    for (size_t i = 0; i < toml_array_size(arr); i++) {
        const toml_value *e = toml_array_at(arr, i);
        char where[300];
        snprintf(where, sizeof where, "%s:%d", name, toml_line(e));
        if (toml_type_of(e) != TOML_TABLE)
            return lh_err_set(err, LH_E_BAD_REQUEST, "%s: each storage.buckets entry must be a table", where);
        lh_bucket_config b = {0};
        if (entry_read(e, &b, name, err) != 0 || entry_check(cfg, &b, where, err) != 0) {
            bucket_clear(&b);
            return -1;
        }
        cfg->storage.buckets = lh_realloc(cfg->storage.buckets, (cfg->storage.nbuckets + 1) * sizeof b);
        cfg->storage.buckets[cfg->storage.nbuckets++] = b;
    }
    return 0;
}
