/*
 * buckets_runtime.c — buckets added and removed while the server runs
 * (POST /storage/buckets, DELETE /storage/buckets/{bucket}).
 *
 * A runtime bucket is remembered in primary's _buckets/registry.json
 * ({"buckets":[{name, backend, endpoint?, bucket?, region?, secret_ref?}]},
 * rewritten atomically after every add or remove) and registered again at
 * start. A local one always lives at primary's _buckets/<name>/: a request
 * never names a server folder. An S3 one takes its keys from the secrets
 * file by secret_ref, so keys are never stored here. A remembered bucket
 * that cannot be opened at start (its secret gone, its name now taken by
 * the config) is logged and skipped, and dropped at the next rewrite.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "storage/buckets_internal.h"

#define REGISTRY_KEY "_buckets/registry.json"

static int name_ok(const char *s) {
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    return s && *s && strlen(s) <= 63 && strspn(s, ok) == strlen(s);
}

static int spec_check(const lh_bucket_config *b, lh_err *err) {
    const char *be = b->backend ? b->backend : "local";
    if (!name_ok(b->name))
        return lh_err_set(err, LH_E_BAD_REQUEST, "bucket name must be 1-63 letters, digits, '-' or '_'");
    if (strcmp(be, "local") && strcmp(be, "s3"))
        return lh_err_set(err, LH_E_BAD_REQUEST, "backend must be local or s3 (got '%s')", be);
    if (!strcmp(be, "s3") && (!b->endpoint || !b->bucket || !b->secret_ref))
        return lh_err_set(err, LH_E_BAD_REQUEST, "an s3 bucket needs endpoint, bucket and secret_ref");
    if (!strcmp(be, "local") && b->root)
        return lh_err_set(err, LH_E_BAD_REQUEST,
                          "a local bucket added at run time lives in primary's _buckets/<name>; do not give root");
    return 0;
}

static json_t *spec_json(const lh_bucket_config *b) {
    json_t *j = json_pack("{s:s, s:s}", "name", b->name, "backend", b->backend ? b->backend : "local");
    const char *keys[] = {"endpoint", "bucket", "region", "secret_ref"};
    const char *vals[] = {b->endpoint, b->bucket, b->region, b->secret_ref};
    for (size_t i = 0; i < 4; i++)
        if (vals[i]) json_object_set_new(j, keys[i], json_string(vals[i]));
    return j;
}

/* Borrowed strings of a registry.json entry (absent or not a string: NULL). */
static lh_bucket_config spec_from_json(const json_t *j) {
    lh_bucket_config b = {0};
    char **slots[] = {&b.name, &b.backend, &b.endpoint, &b.bucket, &b.region, &b.secret_ref};
    const char *keys[] = {"name", "backend", "endpoint", "bucket", "region", "secret_ref"};
    for (size_t i = 0; i < 6; i++) *slots[i] = (char *)json_string_value(json_object_get(j, keys[i]));
    return b;
}

/* Rewrites registry.json from the live runtime entries. */
static void persist(lh_buckets *r) {
    pthread_mutex_lock(&r->persist_mu);
    json_t *arr = json_array();
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++)
        if (r->items[i]->runtime && !r->items[i]->retired && r->items[i]->spec)
            json_array_append(arr, r->items[i]->spec);
    pthread_mutex_unlock(&r->mu);
    json_t *doc = json_pack("{s:o}", "buckets", arr);
    char *text = json_dumps(doc, JSON_INDENT(2));
    lh_err err = {0};
    if (storage_put(r->primary, REGISTRY_KEY, text, strlen(text), NULL, &err) != 0)
        LOG_WARN("runtime buckets not saved to %s: %s", REGISTRY_KEY, err.msg);
    free(text);
    json_decref(doc);
    pthread_mutex_unlock(&r->persist_mu);
}

/* Validates, opens and registers one runtime bucket (probed when asked). */
static int add_spec(lh_buckets *r, const lh_bucket_config *b, int probe, lh_err *err) {
    if (spec_check(b, err) != 0) return -1;
    if (buckets_get(r, b->name))
        return lh_err_set(err, LH_E_CONFLICT, "bucket '%s' is already registered", b->name);
    lh_bucket_config c = *b;
    char *root = NULL;
    if (!b->backend || !strcmp(b->backend, "local"))
        c.root = root = lh_asprintf("%s/_buckets/%s", storage_root(r->primary), b->name);
    lh_storage *st = buckets_open_one(r, &c, err);
    free(root);
    if (!st) return -1;
    pthread_mutex_lock(&r->mu);
    lh_bucket_entry *added = buckets_find_locked(r, b->name) ? NULL : buckets_append_locked(r, b->name, st, 0, 1);
    if (added) added->spec = spec_json(b);
    pthread_mutex_unlock(&r->mu);
    if (!added) {
        storage_free(st);
        return lh_err_set(err, LH_E_CONFLICT, "bucket '%s' is already registered", b->name);
    }
    if (probe) buckets_probe_one(r, added);
    LOG_INFO("bucket %s registered (%s, %s)", b->name, storage_backend(st), storage_root(st));
    return 0;
}

int buckets_add(lh_buckets *r, const lh_bucket_config *b, lh_err *err) {
    if (add_spec(r, b, 1, err) != 0) return -1;
    persist(r);
    return 0;
}

int buckets_remove(lh_buckets *r, const char *name, lh_err *err) {
    pthread_mutex_lock(&r->mu);
    lh_bucket_entry *b = buckets_find_locked(r, name);
    int rc = 0, runtime = 0;
    if (!b)
        rc = lh_err_set(err, LH_E_NOT_FOUND, "bucket '%s' is not registered", name);
    else if (b->is_primary || (r->rescue && !strcmp(r->rescue, name)))
        rc = lh_err_set(err, LH_E_CONFLICT, "bucket '%s' is the %s bucket and cannot be removed", name,
                        b->is_primary ? "primary" : "rescue");
    else
        b->retired = 1, runtime = b->runtime; /* freed with the registry: handles in use stay valid */
    pthread_mutex_unlock(&r->mu);
    if (rc != 0) return rc;
    if (runtime) persist(r);
    LOG_INFO("bucket %s unregistered (its data is kept)", name);
    return 0;
}

void buckets_load_runtime(lh_buckets *r) {
    char *text = NULL;
    size_t len = 0;
    lh_err err = {0};
    if (storage_get(r->primary, REGISTRY_KEY, &text, &len, &err) != 0) {
        if (err.code != LH_E_NOT_FOUND) LOG_WARN("runtime buckets: %s", err.msg);
        return;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    free(text);
    json_t *arr = json_object_get(doc, "buckets");
    if (!json_is_array(arr)) LOG_WARN("runtime buckets: %s is not {\"buckets\":[...]}; ignored", REGISTRY_KEY);
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        lh_bucket_config b = spec_from_json(e);
        lh_err aerr = {0};
        if (add_spec(r, &b, 0, &aerr) != 0)
            LOG_WARN("runtime bucket %s not restored: %s", b.name ? b.name : "(unnamed)", aerr.msg);
    }
    json_decref(doc);
}
