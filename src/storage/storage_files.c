/*
 * storage_files.c — objects as local files, for engines that work by path.
 *
 * DuckDB reads Parquet and writes COPY output by path; the vector index
 * code maps its files. For a local bucket the object's own file is that
 * path. For a remote bucket (S3) the read cache (storage_cache.c) holds
 *
 *   <cache_dir>/objects/<key>     a verified copy of an immutable object
 *   <cache_dir>/staging/<rand>    a file being written, before its upload
 *
 * storage_fetch_path downloads on a miss into a temp name, verifies it
 * (size, MD5 ETag) and renames it in, so a reader never sees a partial
 * copy; storage_put_file uploads a staged file and then keeps it as the
 * key's cached copy (a file just written is warm). See ADR 0233.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "storage/storage.h"
#include "storage/storage_cache.h"
#include "storage/storage_internal.h"

int storage_is_remote(const lh_storage *st) { return st->ops != NULL; }

int storage_set_cache(lh_storage *st, const char *dir, int64_t max_bytes, lh_err *err) {
    if (!st->ops) return 0;
    lh_storage_cache *c = storage_cache_open(dir, max_bytes, err);
    if (!c) return -1;
    pthread_mutex_lock(&st->cache_mu);
    lh_storage_cache *old = st->cache;
    st->cache = c;
    pthread_mutex_unlock(&st->cache_mu);
    storage_cache_free(old);
    return 0;
}

/* The cache of a remote bucket, made on first use (a private temp folder,
 * unbounded) when none was set. */
static lh_storage_cache *cache_get(lh_storage *st, lh_err *err) {
    pthread_mutex_lock(&st->cache_mu);
    if (!st->cache) {
        const char *tmp = getenv("TMPDIR");
        char rnd[17];
        lh_random_hex(rnd, 8);
        char *dir = lh_asprintf("%s/lakehouse-cache-%s-%s", tmp && *tmp ? tmp : "/tmp", st->name, rnd);
        st->cache = storage_cache_open(dir, 0, err);
        free(dir);
    }
    lh_storage_cache *c = st->cache;
    pthread_mutex_unlock(&st->cache_mu);
    return c;
}

const char *storage_local_dir(lh_storage *st) {
    if (!st->ops) return st->root;
    lh_storage_cache *c = cache_get(st, NULL);
    return c ? storage_cache_dir(c) : NULL;
}

void storage_files_forget(lh_storage *st, const char *key) {
    pthread_mutex_lock(&st->cache_mu);
    if (st->cache) storage_cache_forget(st->cache, key);
    pthread_mutex_unlock(&st->cache_mu);
}

void storage_cache_stats(lh_storage *st, lh_storage_cache_stats *out) {
    *out = (lh_storage_cache_stats){0};
    if (!st->ops) return;
    pthread_mutex_lock(&st->cache_mu);
    if (st->cache) storage_cache_get_stats(st->cache, out);
    pthread_mutex_unlock(&st->cache_mu);
}

/* Downloads key into the cache (through a temp name) and returns its copy. */
static char *cache_fill(lh_storage *st, lh_storage_cache *c, const char *key, int pin, lh_err *err) {
    char *tmp = storage_cache_temp_path(c, key, err);
    if (!tmp) return NULL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        lh_err_set(err, LH_E_INTERNAL, "create cache file for '%s': %s", key, strerror(errno));
        free(tmp);
        return NULL;
    }
    int64_t got = 0;
    char etag[80] = "";
    int rc = st->ops->get_fd(st->impl, key, fd, &got, etag, err);
    close(fd);
    char *path = rc == 0 ? storage_cache_insert(c, key, tmp, got, etag, pin, 1, err) : NULL;
    if (rc != 0) unlink(tmp);
    free(tmp);
    return path;
}

static char *fetch(lh_storage *st, const char *key, int pin, lh_err *err) {
    if (storage_key_validate(key, err) != 0) return NULL;
    if (!st->ops) {
        char *path = storage_path(st, key);
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            lh_err_set(err, LH_E_NOT_FOUND, "object '%s' not found", key);
            free(path);
            return NULL;
        }
        return path;
    }
    lh_storage_cache *c = cache_get(st, err);
    if (!c) return NULL;
    char *path = storage_cache_lookup(c, key, pin);
    return path ? path : cache_fill(st, c, key, pin, err);
}

char *storage_fetch_path(lh_storage *st, const char *key, lh_err *err) { return fetch(st, key, 0, err); }

char *storage_cached_path(lh_storage *st, const char *key) {
    lh_storage_cache *c = st->ops ? cache_get(st, NULL) : NULL;
    return c ? storage_cache_object_path(c, key) : storage_path(st, key);
}

char *storage_fetch_pinned(lh_storage *st, const char *key, lh_err *err) { return fetch(st, key, 1, err); }

void storage_unpin(lh_storage *st, const char *key) {
    if (!st->ops) return;
    pthread_mutex_lock(&st->cache_mu);
    if (st->cache) storage_cache_unpin(st->cache, key);
    pthread_mutex_unlock(&st->cache_mu);
}

char *storage_stage_path(lh_storage *st, const char *key, lh_err *err) {
    if (storage_key_validate(key, err) != 0) return NULL;
    if (!st->ops) {
        char *target = storage_path(st, key);
        if (storage_ensure_parent(target, err) != 0) {
            free(target);
            return NULL;
        }
        char *tmp = lh_temp_path_beside(target);
        free(target);
        return tmp;
    }
    lh_storage_cache *c = cache_get(st, err);
    if (!c) return NULL;
    char rnd[33];
    lh_random_hex(rnd, 16);
    return lh_asprintf("%s/staging/%s", storage_cache_dir(c), rnd);
}

/* Local publish: fsync, then rename (or link, for put-if-absent). */
static int local_put_file(lh_storage *st, const char *key, const char *path, int exclusive,
                          lh_err *err) {
    char *target = storage_path(st, key);
    int rc = storage_ensure_parent(target, err);
    int fd = rc == 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (rc == 0 && (fd < 0 || fsync(fd) != 0))
        rc = lh_err_set(err, LH_E_INTERNAL, "fsync staged file for '%s': %s", key, strerror(errno));
    if (fd >= 0) close(fd);
    if (rc == 0 && exclusive) {
        if (link(path, target) != 0)
            rc = errno == EEXIST ? lh_err_set(err, LH_E_CONFLICT, "object '%s' already exists", key)
                                 : lh_err_set(err, LH_E_INTERNAL, "link '%s': %s", key, strerror(errno));
    } else if (rc == 0 && rename(path, target) != 0) {
        rc = lh_err_set(err, LH_E_INTERNAL, "rename into '%s': %s", key, strerror(errno));
    }
    unlink(path); /* after link(); after a rename it is already gone */
    if (rc == 0) lh_fsync_dir_of(target);
    free(target);
    return rc;
}

/* Remote publish: upload, then keep the file as the key's cached copy. */
static int remote_put_file(lh_storage *st, const char *key, const char *path, int exclusive,
                           lh_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        lh_err_set(err, LH_E_INTERNAL, "open staged file for '%s': %s", key, strerror(errno));
        unlink(path);
        return -1;
    }
    struct stat sb;
    int rc = fstat(fd, &sb) == 0 ? 0 : lh_err_set(err, LH_E_INTERNAL, "stat staged file for '%s': %s", key,
                                                  strerror(errno));
    if (rc == 0 && exclusive) {
        /* put-if-absent is a whole-object PUT with If-None-Match: * */
        char *buf = NULL, sha[65];
        size_t len = 0;
        rc = lh_read_file(path, &buf, &len, err);
        if (rc == 0) {
            lh_sha256_hex(buf, len, sha);
            rc = st->ops->put(st->impl, key, buf, len, 1, sha, err);
        }
        free(buf);
    } else if (rc == 0) {
        rc = st->ops->put_fd(st->impl, key, fd, (int64_t)sb.st_size, NULL, err); /* the backend hashes it */
    }
    close(fd);
    lh_storage_cache *c = rc == 0 ? cache_get(st, NULL) : NULL;
    char *cached = c ? storage_cache_insert(c, key, path, (int64_t)sb.st_size, "", 0, 0, NULL) : NULL;
    if (!cached) unlink(path); /* insert removes it itself when it fails */
    free(cached);
    return rc;
}

int storage_put_file(lh_storage *st, const char *key, const char *path, int exclusive,
                     lh_err *err) {
    if (storage_key_validate(key, err) != 0) {
        unlink(path);
        return -1;
    }
    return st->ops ? remote_put_file(st, key, path, exclusive, err)
                   : local_put_file(st, key, path, exclusive, err);
}
