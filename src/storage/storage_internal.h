/*
 * storage_internal.h — what a remote backend (s3.c) plugs into storage.c.
 *
 * An lh_storage is either a local folder (ops == NULL: storage.c does the
 * work itself) or a remote bucket: then every public storage_* call is
 * dispatched to these ops after the key is validated. The backend owns its
 * `impl`; storage_free() calls ops->free(impl). Streaming writers of remote
 * buckets spool to an unlinked temp file and hand it to put_fd on commit.
 */
#ifndef LH_STORAGE_INTERNAL_H
#define LH_STORAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <pthread.h>

#include "storage/storage.h"

typedef struct {
    const char *kind; /* "s3" */
    /* Whole-object PUT from memory; exclusive: fail with LH_E_CONFLICT when present. */
    int (*put)(void *impl, const char *key, const void *data, size_t len, int exclusive,
               const char sha256_hex[65], lh_err *err);
    /* PUT of size bytes read from fd (at offset 0); sha256_hex NULL: the backend hashes them. */
    int (*put_fd)(void *impl, const char *key, int fd, int64_t size, const char sha256_hex[65],
                  lh_err *err);
    /* GET into memory (*out NUL-terminated, caller frees). */
    int (*get)(void *impl, const char *key, char **out, size_t *len, lh_err *err);
    /* GET into fd (a temp file); *size gets the byte count, etag (may be
     * NULL) the answer's ETag without quotes ("" when none). */
    int (*get_fd)(void *impl, const char *key, int fd, int64_t *size, char etag[80], lh_err *err);
    /* HEAD: 0 when present (size may be NULL), LH_E_NOT_FOUND when absent. */
    int (*head)(void *impl, const char *key, int64_t *size, lh_err *err);
    int (*del)(void *impl, const char *key, lh_err *err);
    int (*list)(void *impl, const char *prefix, lh_object_info **out, size_t *n, lh_err *err);
    /* Reachability: 0 when the bucket answers a cheap request. */
    int (*probe)(void *impl, lh_err *err);
    void (*free)(void *impl);
} lh_storage_ops;

/* The bucket handle (shared by storage.c, storage_files.c and the backends'
 * glue; opaque to everything outside src/storage). */
struct lh_storage {
    char *name; /* bucket name, e.g. "primary" */
    char *root; /* absolute folder, no trailing '/'; remote: its location */
    const lh_storage_ops *ops; /* NULL: local folder; else the remote backend */
    void *impl;                /* the backend's state, owned */
    int lock_fd;               /* storage_lock's flock, or -1 */
    struct lh_storage_cache *cache; /* remote: the read cache (owned), or NULL until set */
    pthread_mutex_t cache_mu;  /* remote: guards making the cache on first use */
    struct lh_storage_lease *lease; /* remote: storage_lock's lease (owned), or NULL */
    int conditional;           /* remote: 0 not probed, 1 If-None-Match honoured, -1 not */
};

/* Creates the folders above a local path (its parent chain); 0 or -1 with err. */
int storage_ensure_parent(const char *path, lh_err *err);

/* Wraps a remote backend as a bucket handle; `location` (e.g. "s3://b") is
 * what storage_root() reports and storage_path() prefixes. Takes impl. */
lh_storage *storage_new_remote(const char *name, const char *location, const lh_storage_ops *ops,
                               void *impl);

/* The Host header (*host, caller frees) and raw request path (returned,
 * caller frees) an S3 bucket sends for key (NULL: the bucket itself); NULL
 * for other backends. For tests of the addressing styles. */
char *storage_s3_request_target(const lh_storage *st, const char *key, char **host);

/* Drops key's cached copy, if any (storage_files.c; after an overwrite or delete). */
void storage_files_forget(lh_storage *st, const char *key);

/* The lease behind storage_lock on a remote bucket (storage_lease.c). */
struct lh_storage_lease *storage_lease_acquire(lh_storage *st, lh_err *err);
void storage_lease_release(lh_storage *st, struct lh_storage_lease *l);

#endif
