/*
 * buckets.h — the bucket registry: every named bucket the server knows
 * (local folders and S3 buckets), a rescue bucket that serves reads the
 * asked-for bucket cannot, reachability probes, and an error journal.
 *
 * "primary" is always the bucket of [storage] root (the one the catalog,
 * tables and every other module use); [[storage.buckets]] adds more, and
 * POST /storage/buckets adds more at run time (local ones live under
 * primary's _buckets/<name>/; they are remembered in _buckets/registry.json).
 * Removing a bucket unregisters it (its data stays); primary and the rescue
 * bucket cannot be removed. Handles returned by buckets_get() stay valid
 * until buckets_free(), even after the bucket is removed.
 *
 * S3 credentials come from a secrets file (TOML; a table per secret_ref
 * with access_key and secret_key) that must not be readable by group or
 * others (mode 0600 or stricter), else it is refused.
 *
 * Failed bucket operations (other than bad keys and plain misses) and every
 * rescue fallback are appended to _errors/bucket_errors.jsonl in primary.
 */
#ifndef LH_STORAGE_BUCKETS_H
#define LH_STORAGE_BUCKETS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "storage/storage.h"

typedef struct lh_buckets lh_buckets;
typedef struct lh_secrets lh_secrets;

typedef struct {
    lh_storage *primary;              /* borrowed; registered as "primary" */
    const lh_bucket_config *buckets;  /* [[storage.buckets]] */
    size_t nbuckets;
    const char *rescue;               /* NULL: no rescue fallback */
    const char *secrets_file;         /* NULL: none (then S3 buckets are refused) */
    const char *cache_dir;            /* S3 buckets' read caches go below (NULL: the default) */
    int64_t cache_max_bytes;          /* each S3 bucket's cache budget; <= 0: unbounded */
} lh_buckets_config;

/* Opens every configured bucket and probes it (an unreachable bucket is
 * registered and reported, not fatal). Fails on bad config, a refused
 * secrets file, or a rescue name that is not registered. */
lh_buckets *buckets_open(const lh_buckets_config *c, lh_err *err);
void buckets_free(lh_buckets *r);

/* The handle of a registered bucket (borrowed), or NULL. */
lh_storage *buckets_get(lh_buckets *r, const char *name);
/* The handle of a registered bucket that may hold datasets (borrowed): its
 * store must honour conditional writes (storage_check_conditional: probed
 * once per bucket). NULL with LH_E_NOT_FOUND for an unknown bucket, or
 * LH_E_UNAVAILABLE saying the store cannot hold datasets. */
lh_storage *buckets_get_for_datasets(lh_buckets *r, const char *name, lh_err *err);
const char *buckets_rescue(const lh_buckets *r); /* NULL when none */
/* The folders besides primary's where buckets keep files by path (borrowed,
 * valid until buckets_free): each local bucket's root and, when S3 buckets
 * may be registered (buckets_may_be_remote), the cache root their read
 * caches live below (buckets added at run time included). Returns how
 * many, writing at most cap. For DuckDB's allowed_directories, so SQL reads
 * datasets and files across buckets (ADR 0237). */
size_t buckets_local_roots(lh_buckets *r, const char **roots, size_t cap);
/* 1 when some bucket is or may become remote: the primary is, or a secrets
 * file lets S3 buckets be configured or added. */
int buckets_may_be_remote(const lh_buckets *r);

/* {"buckets":[{name, backend, location, primary, rescue, runtime}], "rescue":...} */
json_t *buckets_list_json(lh_buckets *r);
/* Probes every bucket now: {"status":"ok"|"degraded", "buckets":[{name,
 * reachable, latency_ms, error?, errors_recorded}], ...}. */
json_t *buckets_health_json(lh_buckets *r);
/* The last `limit` journal entries, oldest first: {"errors":[...], "total":N}. */
json_t *buckets_errors_json(lh_buckets *r, size_t limit, lh_err *err);

/* Registers a bucket at run time (config shape as in [[storage.buckets]];
 * a local bucket must not name a root: it gets primary's _buckets/<name>).
 * LH_E_CONFLICT when the name is taken. */
int buckets_add(lh_buckets *r, const lh_bucket_config *b, lh_err *err);
/* Unregisters; LH_E_CONFLICT for primary and the rescue bucket. */
int buckets_remove(lh_buckets *r, const char *name, lh_err *err);

/* Bucket-aware object I/O. Reads fall back to the rescue bucket when the
 * asked-for bucket fails; *served_by names the bucket that answered. Unknown
 * bucket: reads/deletes/lists LH_E_NOT_FOUND, writes LH_E_UNAVAILABLE. */
int buckets_open_read(lh_buckets *r, const char *bucket, const char *key, int *fd, int64_t *size,
                      const char **served_by, lh_err *err);
lh_storage_writer *buckets_writer_new(lh_buckets *r, const char *bucket, const char *key, lh_err *err);
int buckets_writer_commit(lh_buckets *r, const char *bucket, const char *key, lh_storage_writer *w,
                          int64_t *size, char sha256_hex[65], lh_err *err);
int buckets_delete(lh_buckets *r, const char *bucket, const char *key, lh_err *err);
int buckets_list(lh_buckets *r, const char *bucket, const char *prefix, lh_object_info **out, size_t *n,
                 lh_err *err);

/* Secrets file: refused unless a regular file with mode 0600 or stricter. */
lh_secrets *secrets_load(const char *path, lh_err *err);
/* Borrowed strings of [ref] in the file; LH_E_NOT_FOUND when absent. */
int secrets_get(const lh_secrets *s, const char *ref, const char **access_key, const char **secret_key,
                lh_err *err);
void secrets_free(lh_secrets *s);

#endif
