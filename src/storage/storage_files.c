/*
 * storage_files.c — objects as local files, for engines that work by path.
 *
 * DuckDB reads Parquet and writes COPY output by path; the vector index
 * code maps its files. For a local bucket the object's own file is that
 * path. For a remote bucket (S3) this file keeps a cache folder:
 *
 *   <cache_dir>/objects/<key>     a verified copy of an immutable object
 *   <cache_dir>/staging/<rand>    a file being written, before its upload
 *
 * storage_fetch_path downloads on a miss into a temp name and renames it in,
 * so a reader never sees a partial copy; storage_put_file uploads a staged
 * file and then keeps it as the key's cached copy (a file just written is
 * warm). See ADR 0230.
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
#include "storage/storage_internal.h"

int storage_is_remote(const lh_storage *st) { return st->ops != NULL; }

int storage_set_cache(lh_storage *st, const char *dir, int64_t max_bytes, lh_err *err) {
    if (!st->ops) return 0;
    char *objects = lh_asprintf("%s/objects", dir), *staging = lh_asprintf("%s/staging", dir);
    int rc = lh_mkdirs(objects, err) == 0 && lh_mkdirs(staging, err) == 0 ? 0 : -1;
    free(objects);
    free(staging);
    if (rc != 0) return -1;
    free(st->cache_dir);
    st->cache_dir = lh_strdup(dir);
    st->cache_max_bytes = max_bytes;
    return 0;
}

/* The cache folder of a remote bucket, made on first use when none was set. */
static const char *cache_dir(lh_storage *st, lh_err *err) {
    if (st->cache_dir) return st->cache_dir;
    const char *tmp = getenv("TMPDIR");
    char rnd[17];
    lh_random_hex(rnd, 8);
    char *dir = lh_asprintf("%s/lakehouse-cache-%s-%s", tmp && *tmp ? tmp : "/tmp", st->name, rnd);
    int rc = storage_set_cache(st, dir, 0, err);
    free(dir);
    return rc == 0 ? st->cache_dir : NULL;
}

static int ensure_parent_dir(const char *path, lh_err *err) {
    char *dir = lh_strdup(path);
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        rc = lh_mkdirs(dir, err);
    }
    free(dir);
    return rc;
}

/* Downloads key into the cache at path (through a temp name). */
static int cache_fill(lh_storage *st, const char *key, const char *path, lh_err *err) {
    if (ensure_parent_dir(path, err) != 0) return -1;
    char *tmp = lh_temp_path_beside(path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        lh_err_set(err, LH_E_INTERNAL, "create cache file for '%s': %s", key, strerror(errno));
        free(tmp);
        return -1;
    }
    int64_t got = 0;
    int rc = st->ops->get_fd(st->impl, key, fd, &got, err);
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = lh_err_set(err, LH_E_INTERNAL, "cache '%s': %s", key, strerror(errno));
    if (rc != 0) unlink(tmp);
    free(tmp);
    return rc;
}

char *storage_fetch_path(lh_storage *st, const char *key, lh_err *err) {
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
    const char *dir = cache_dir(st, err);
    if (!dir) return NULL;
    char *path = lh_asprintf("%s/objects/%s", dir, key);
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) return path;
    if (cache_fill(st, key, path, err) != 0) {
        free(path);
        return NULL;
    }
    return path;
}

char *storage_stage_path(lh_storage *st, const char *key, lh_err *err) {
    if (storage_key_validate(key, err) != 0) return NULL;
    if (!st->ops) {
        char *target = storage_path(st, key);
        if (ensure_parent_dir(target, err) != 0) {
            free(target);
            return NULL;
        }
        char *tmp = lh_temp_path_beside(target);
        free(target);
        return tmp;
    }
    const char *dir = cache_dir(st, err);
    if (!dir) return NULL;
    char rnd[33];
    lh_random_hex(rnd, 16);
    return lh_asprintf("%s/staging/%s", dir, rnd);
}

/* Local publish: fsync, then rename (or link, for put-if-absent). */
static int local_put_file(lh_storage *st, const char *key, const char *path, int exclusive,
                          lh_err *err) {
    char *target = storage_path(st, key);
    int rc = ensure_parent_dir(target, err);
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

/* SHA-256 of an open file's bytes from offset 0 (S3 signs the payload). */
static int sha256_of_fd(int fd, char out[65]) {
    lh_sha256 *h = lh_sha256_new();
    char buf[1 << 16];
    off_t off = 0;
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            lh_sha256_final(h, out);
            return -1;
        }
        if (n == 0) break;
        lh_sha256_update(h, buf, (size_t)n);
        off += n;
    }
    lh_sha256_final(h, out);
    return 0;
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
    char sha[65];
    int rc = fstat(fd, &sb) == 0 && sha256_of_fd(fd, sha) == 0
                 ? 0 : lh_err_set(err, LH_E_INTERNAL, "read staged file for '%s': %s", key, strerror(errno));
    if (rc == 0 && exclusive) {
        /* put-if-absent is a whole-object PUT with If-None-Match: * */
        char *buf = NULL;
        size_t len = 0;
        rc = lh_read_file(path, &buf, &len, err);
        if (rc == 0) rc = st->ops->put(st->impl, key, buf, len, 1, sha, err);
        free(buf);
    } else if (rc == 0) {
        rc = st->ops->put_fd(st->impl, key, fd, (int64_t)sb.st_size, sha, err);
    }
    close(fd);
    const char *dir = rc == 0 ? cache_dir(st, NULL) : NULL;
    char *cached = dir ? lh_asprintf("%s/objects/%s", dir, key) : NULL;
    if (!cached || ensure_parent_dir(cached, NULL) != 0 || rename(path, cached) != 0) unlink(path);
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
