/*
 * catalog_buckets.c — which bucket a dataset lives in (ADR 0237) and the
 * bucket stamp on manifests (seed "Catalog
 * migration: POST /catalog/migrate-buckets", ADR 0153).
 *
 * A manifest's "bucket" names the bucket of its table: the catalog's own
 * (primary), or one of the registry's (lh_catalog_options.buckets) — an S3
 * or local bucket given on register or ingest. Manifests always stay in the
 * catalog's bucket. Every manifest
 * made since the bucket registry names its bucket ("bucket": "primary",
 * manifest.c); a legacy manifest without the field (or with an empty one)
 * gets the catalog's bucket stamped and persisted. Idempotent: a second
 * run stamps nothing.
 *
 * Same locking as catalog_embed.c: write_mu for the whole operation, the
 * registry lock shared to read and exclusive for each swap.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "common/strbuf.h"

lh_storage *catalog_bucket(lh_catalog *c, const char *bucket, lh_err *err) {
    /* "primary" is the registry's name of the catalog's bucket (buckets.h) */
    if (!bucket || !*bucket || !strcmp(bucket, storage_name(c->st)) || !strcmp(bucket, "primary")) return c->st;
    if (!c->opt.buckets) {
        lh_err_set(err, LH_E_NOT_FOUND, "bucket '%s' is not registered", bucket);
        return NULL;
    }
    lh_storage *st = buckets_get_for_datasets(c->opt.buckets, bucket, err);
    if (!st && err && err->code == LH_E_NOT_FOUND) lh_err_hint(err, "GET /storage/buckets lists the buckets");
    return st;
}

/* 1 when manifest m names a bucket. */
static int has_bucket(const json_t *m) {
    const char *b = json_string_value(json_object_get(m, "bucket"));
    return b && *b;
}

/* Names of the entries lacking a bucket (caller frees each and the array). */
static char **unstamped(lh_catalog *c, size_t *n, size_t *total) {
    pthread_rwlock_rdlock(&c->lock);
    char **names = lh_calloc(c->n + 1, sizeof *names);
    *n = 0;
    *total = c->n;
    for (size_t i = 0; i < c->n; i++)
        if (!has_bucket(c->entries[i].manifest)) names[(*n)++] = lh_strdup(c->entries[i].name);
    pthread_rwlock_unlock(&c->lock);
    return names;
}

/* Stamps bucket on dataset name's manifest and persists it. Caller holds write_mu. */
static int stamp_one(lh_catalog *c, const char *name, const char *bucket, lh_err *err) {
    pthread_rwlock_rdlock(&c->lock);
    long i = entry_find(c, name);
    json_t *m = i >= 0 ? json_deep_copy(c->entries[i].manifest) : NULL;
    pthread_rwlock_unlock(&c->lock);
    if (!m) return 0; /* gone meanwhile */
    json_object_set_new(m, "bucket", json_string(bucket));
    int rc = manifest_persist(c, m, err);
    if (rc == 0) {
        pthread_rwlock_wrlock(&c->lock);
        i = entry_find(c, name);
        if (i >= 0) {
            json_decref(c->entries[i].manifest);
            c->entries[i].manifest = json_incref(m);
        }
        pthread_rwlock_unlock(&c->lock);
    }
    json_decref(m);
    return rc;
}

json_t *catalog_migrate_buckets(lh_catalog *c, lh_err *err) {
    const char *bucket = storage_name(c->st);
    pthread_mutex_lock(&c->write_mu);
    size_t n = 0, total = 0;
    char **names = unstamped(c, &n, &total);
    json_t *stamped = json_array(), *out = NULL;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && (rc = stamp_one(c, names[i], bucket, err)) == 0)
            json_array_append_new(stamped, json_string(names[i]));
        free(names[i]);
    }
    free(names);
    pthread_mutex_unlock(&c->write_mu);
    if (rc == 0)
        out = json_pack("{s:s, s:O, s:I, s:I, s:I}", "bucket", bucket, "stamped", stamped, "stamped_count",
                        (json_int_t)json_array_size(stamped), "already_stamped",
                        (json_int_t)(total - json_array_size(stamped)), "total", (json_int_t)total);
    json_decref(stamped);
    return out;
}
