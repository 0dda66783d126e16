/*
 * buckets_internal.h — what buckets.c (registry, I/O, probes, journal)
 * shares with buckets_runtime.c (buckets added and removed at run time,
 * remembered in primary's _buckets/registry.json).
 */
#ifndef LH_STORAGE_BUCKETS_INTERNAL_H
#define LH_STORAGE_BUCKETS_INTERNAL_H

#include <jansson.h>
#include <pthread.h>

#include "storage/buckets.h"

typedef struct {
    char *name;
    lh_storage *st;      /* owned unless primary */
    int is_primary, runtime, retired;
    json_t *spec;        /* runtime buckets: the config as given (persisted), else NULL */
    int probed, reachable;
    double latency_ms;
    char last_error[sizeof ((lh_err *)0)->msg];
    int64_t errors;      /* journal entries naming this bucket */
} lh_bucket_entry;

struct lh_buckets {
    pthread_mutex_t mu;         /* the table, health fields, journal file */
    pthread_mutex_t persist_mu; /* serialises registry.json rewrites */
    lh_bucket_entry **items;    /* append-only; removed ones are retired */
    size_t n;
    char *rescue;        /* NULL: none */
    char *secrets_file;  /* NULL: none */
    char *cache_dir;     /* NULL: the default cache root */
    char *cache_root;    /* cache_dir resolved (storage_cache_root) */
    int64_t cache_max_bytes;
    lh_storage *primary; /* borrowed */
};

/* With r->mu held: the live entry named name, or NULL. */
lh_bucket_entry *buckets_find_locked(lh_buckets *r, const char *name);
/* With r->mu held: appends an entry (takes st) and returns it. */
lh_bucket_entry *buckets_append_locked(lh_buckets *r, const char *name, lh_storage *st, int is_primary,
                                       int runtime);
/* Opens the storage of one bucket config (err names the bucket). */
lh_storage *buckets_open_one(lh_buckets *r, const lh_bucket_config *c, lh_err *err);
/* Probes one entry now (no lock held during the I/O). */
void buckets_probe_one(lh_buckets *r, lh_bucket_entry *b);
/* Re-registers the runtime buckets of registry.json (failures are logged
 * and skipped: a bucket that cannot open must not stop the server). */
void buckets_load_runtime(lh_buckets *r);

#endif
