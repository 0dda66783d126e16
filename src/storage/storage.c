/*
 * storage.c — the local-folder backend of the object store.
 *
 * A bucket is a folder; an object is a file at <root>/<key>. Writes stage to
 * ".<name>.tmp-<16 hex>" in the target's folder, fsync, then rename (put) or
 * link (put-if-absent: link() fails with EEXIST when another writer got there
 * first, which is exactly the Delta commit rule). Temp files are invisible to
 * listings and removed by storage_cleanup_temp() at start-up.
 *
 * A handle may instead wrap a remote backend (S3, see s3.c and
 * storage_internal.h): then each public call validates the key and is
 * dispatched to the backend's ops; streaming writers spool to an unlinked
 * temp file that is PUT on commit.
 */
#include "storage/storage.h"

#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "storage/storage_cache.h"
#include "storage/storage_internal.h"

#define KEY_MAX 1024
#define LOCK_NAME ".lakehouse.lock" /* at the root of a local bucket */
#define LEASE_NAME "_lakehouse.lock" /* at the prefix of a remote bucket (storage_lease.c) */
#define SYSTEM_PREFIX "_lakehouse/" /* remote: probe keys (storage_root.c) */


struct lh_storage_writer {
    lh_storage *st;  /* borrowed */
    char *path;      /* final path (remote: NULL) */
    char *tmp;       /* temp path (remote: NULL, the temp file is unlinked) */
    char *key;       /* remote only: the object key */
    int fd;
    int64_t size;
    lh_sha256 *sha;
};

lh_storage *storage_open_local(const char *name, const char *root, lh_err *err) {
    /* "s3://b/p" or "gs://…" is a URL, not a folder: never create a folder named "s3:" */
    const char *scheme_end = strstr(root, "://");
    if (scheme_end) {
        lh_err_set(err, LH_E_BAD_REQUEST, "storage root %s: the primary bucket must be a local folder; "
                   "%.*s:// roots are not supported yet (register S3 buckets with [[storage.buckets]])",
                   root, (int)(scheme_end - root), root);
        return NULL;
    }
    if (lh_mkdirs(root, err) != 0) return NULL;
    char abs[PATH_MAX];
    if (!realpath(root, abs)) {
        lh_err_set(err, LH_E_INTERNAL, "storage root %s: %s", root, strerror(errno));
        return NULL;
    }
    lh_storage *st = lh_calloc(1, sizeof *st);
    st->name = lh_strdup(name);
    st->root = lh_strdup(abs);
    st->lock_fd = -1;
    return st;
}

lh_storage *storage_new_remote(const char *name, const char *location, const lh_storage_ops *ops,
                               void *impl) {
    lh_storage *st = lh_calloc(1, sizeof *st);
    st->name = lh_strdup(name);
    st->root = lh_strdup(location);
    st->ops = ops;
    st->impl = impl;
    st->lock_fd = -1;
    pthread_mutex_init(&st->cache_mu, NULL);
    return st;
}

void storage_free(lh_storage *st) {
    if (!st) return;
    if (st->lease) storage_lease_release(st, st->lease); /* before the backend: it deletes the lease */
    if (st->ops) {
        storage_cache_free(st->cache);
        pthread_mutex_destroy(&st->cache_mu);
        st->ops->free(st->impl);
    }
    if (st->lock_fd >= 0) close(st->lock_fd); /* releases the flock */
    free(st->name);
    free(st->root);
    free(st);
}

const char *storage_name(const lh_storage *st) { return st->name; }
const char *storage_root(const lh_storage *st) { return st->root; }
const char *storage_backend(const lh_storage *st) { return st->ops ? st->ops->kind : "local"; }

int storage_probe(lh_storage *st, lh_err *err) {
    if (st->ops) return st->ops->probe(st->impl, err);
    struct stat sb;
    if (stat(st->root, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return lh_err_set(err, LH_E_UNAVAILABLE, "bucket folder %s is missing", st->root);
    if (access(st->root, W_OK | X_OK) != 0)
        return lh_err_set(err, LH_E_UNAVAILABLE, "bucket folder %s is not writable: %s", st->root,
                          strerror(errno));
    return 0;
}

int storage_key_validate(const char *key, lh_err *err) {
    if (!key || !*key) return lh_err_set(err, LH_E_BAD_REQUEST, "object key is empty");
    size_t len = strlen(key);
    if (len > KEY_MAX)
        return lh_err_set(err, LH_E_BAD_REQUEST, "object key is longer than %d bytes", KEY_MAX);
    if (key[0] == '/')
        return lh_err_set(err, LH_E_BAD_REQUEST, "object key must be relative, not start with '/'");
    if (strchr(key, '\\'))
        return lh_err_set(err, LH_E_BAD_REQUEST, "object key must not contain a backslash");
    const char *seg = key;
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0) return lh_err_set(err, LH_E_BAD_REQUEST, "object key has an empty segment");
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return lh_err_set(err, LH_E_BAD_REQUEST, "object key must not contain '.' or '..' segments");
        if (n > 5 && seg[0] == '.' && memmem(seg, n, ".tmp-", 5))
            return lh_err_set(err, LH_E_BAD_REQUEST, "object key names a reserved temp file");
        if (seg == key && !end && (!strcmp(seg, LOCK_NAME) || !strcmp(seg, LEASE_NAME)))
            return lh_err_set(err, LH_E_BAD_REQUEST, "object key names the data folder's lock file");
        if (!end) break;
        seg = end + 1;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)key[i] < 0x20)
            return lh_err_set(err, LH_E_BAD_REQUEST, "object key contains a control character");
    return 0;
}

int storage_key_reserved(const char *key) {
    if (!key) return 0;
    char first[64];
    size_t n = 0;
    for (const char *p = key; *p == '/'; p++) key = p + 1; /* leading slashes and ./ never reach the disk anyway */
    while (key[0] == '.' && key[1] == '/') key += 2;
    for (const char *p = key; *p && *p != '/' && n + 1 < sizeof first; p++) {
        int c = (unsigned char)*p;
        if (c == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) { /* encoded again */
            char hex[3] = {p[1], p[2], 0};
            c = (int)strtol(hex, NULL, 16);
            p += 2;
        }
        first[n++] = (char)tolower(c);
    }
    first[n] = 0;
    return first[0] == '_' || !strcmp(first, "tables");
}

char *storage_path(const lh_storage *st, const char *key) {
    return lh_asprintf("%s/%s", st->root, key);
}

int storage_ensure_parent(const char *path, lh_err *err) {
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

/* Remote writer: an unlinked temp file, PUT whole on commit. */
static lh_storage_writer *remote_writer_new(lh_storage *st, const char *key, lh_err *err) {
    const char *dir = getenv("TMPDIR");
    char *tmpl = lh_asprintf("%s/lh-s3-put-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(tmpl);
    if (fd >= 0) unlink(tmpl);
    free(tmpl);
    if (fd < 0) {
        lh_err_set(err, LH_E_INTERNAL, "create spool file for '%s': %s", key, strerror(errno));
        return NULL;
    }
    lh_storage_writer *w = lh_calloc(1, sizeof *w);
    w->st = st;
    w->key = lh_strdup(key);
    w->fd = fd;
    w->sha = lh_sha256_new();
    return w;
}

lh_storage_writer *storage_writer_new(lh_storage *st, const char *key, lh_err *err) {
    if (storage_key_validate(key, err) != 0) return NULL;
    if (st->ops) return remote_writer_new(st, key, err);
    char *path = storage_path(st, key);
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        lh_err_set(err, LH_E_CONFLICT, "object key '%s' is a prefix of other objects", key);
        free(path);
        return NULL;
    }
    if (storage_ensure_parent(path, err) != 0) {
        lh_err_set(err, LH_E_CONFLICT, "object key '%s' runs through an existing object", key);
        free(path);
        return NULL;
    }
    lh_storage_writer *w = lh_calloc(1, sizeof *w);
    w->st = st;
    w->path = path;
    w->tmp = lh_temp_path_beside(path);
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        lh_err_set(err, LH_E_INTERNAL, "create temp for '%s': %s", key, strerror(errno));
        free(w->tmp);
        free(w->path);
        free(w);
        return NULL;
    }
    w->sha = lh_sha256_new();
    return w;
}

int storage_writer_write(lh_storage_writer *w, const void *data, size_t len, lh_err *err) {
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(w->fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return lh_err_set(err, LH_E_INTERNAL, "write: %s", strerror(errno));
        p += n;
        left -= (size_t)n;
    }
    lh_sha256_update(w->sha, data, len);
    w->size += (int64_t)len;
    return 0;
}

static void writer_release(lh_storage_writer *w, char sha_out[65]) {
    char tmp_sha[65];
    lh_sha256_final(w->sha, sha_out ? sha_out : tmp_sha);
    if (w->fd >= 0) close(w->fd);
    free(w->tmp);
    free(w->path);
    free(w->key);
    free(w);
}

/* Finishes the temp file (fsync) and publishes it: rename, or link when
 * exclusive (so an existing object is never replaced). */
static int writer_publish(lh_storage_writer *w, int exclusive, lh_err *err) {
    if (fsync(w->fd) != 0)
        return lh_err_set(err, LH_E_INTERNAL, "fsync: %s", strerror(errno));
    close(w->fd);
    w->fd = -1;
    if (exclusive) {
        if (link(w->tmp, w->path) != 0) {
            int e = errno;
            unlink(w->tmp);
            if (e == EEXIST)
                return lh_err_set(err, LH_E_CONFLICT, "object already exists");
            return lh_err_set(err, LH_E_INTERNAL, "link: %s", strerror(e));
        }
        unlink(w->tmp);
    } else if (rename(w->tmp, w->path) != 0) {
        int e = errno;
        unlink(w->tmp);
        return lh_err_set(err, LH_E_INTERNAL, "rename: %s", strerror(e));
    }
    lh_fsync_dir_of(w->path);
    return 0;
}

/* Remote commit: one PUT of the spooled bytes (signed with their digest). */
static int remote_commit(lh_storage_writer *w, int64_t *size_out, char sha256_hex[65], lh_err *err) {
    char sha[65];
    lh_sha256_final(w->sha, sha);
    w->sha = NULL;
    int rc = w->st->ops->put_fd(w->st->impl, w->key, w->fd, w->size, sha, err);
    if (size_out) *size_out = w->size;
    if (sha256_hex) memcpy(sha256_hex, sha, 65);
    close(w->fd);
    free(w->key);
    free(w);
    return rc;
}

int storage_writer_commit(lh_storage_writer *w, int64_t *size_out, char sha256_hex[65],
                          lh_err *err) {
    if (w->st->ops) return remote_commit(w, size_out, sha256_hex, err);
    int rc = writer_publish(w, 0, err);
    if (size_out) *size_out = w->size;
    writer_release(w, sha256_hex);
    return rc;
}

void storage_writer_abort(lh_storage_writer *w) {
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    if (w->tmp) unlink(w->tmp);
    writer_release(w, NULL);
}

static int put_common(lh_storage *st, const char *key, const void *data, size_t len,
                      int exclusive, char sha256_hex[65], lh_err *err) {
    lh_storage_writer *w = storage_writer_new(st, key, err);
    if (!w) return -1;
    if (storage_writer_write(w, data, len, err) != 0) {
        storage_writer_abort(w);
        return -1;
    }
    int rc = writer_publish(w, exclusive, err);
    writer_release(w, sha256_hex);
    return rc;
}

/* Whole-object put to a remote bucket: the digest first (S3 signs it). */
static int remote_put(lh_storage *st, const char *key, const void *data, size_t len, int exclusive,
                      char sha256_hex[65], lh_err *err) {
    if (storage_key_validate(key, err) != 0) return -1;
    char sha[65];
    lh_sha256_hex(data, len, sha);
    if (sha256_hex) memcpy(sha256_hex, sha, 65);
    if (!exclusive) storage_files_forget(st, key); /* an overwrite: the cached copy is stale */
    return st->ops->put(st->impl, key, data, len, exclusive, sha, err);
}

int storage_put(lh_storage *st, const char *key, const void *data, size_t len,
                char sha256_hex[65], lh_err *err) {
    if (st->ops) return remote_put(st, key, data, len, 0, sha256_hex, err);
    return put_common(st, key, data, len, 0, sha256_hex, err);
}

int storage_put_if_absent(lh_storage *st, const char *key, const void *data, size_t len,
                          lh_err *err) {
    if (st->ops) return remote_put(st, key, data, len, 1, NULL, err);
    if (put_common(st, key, data, len, 1, NULL, err) != 0) {
        if (err && err->code == LH_E_CONFLICT)
            lh_err_set(err, LH_E_CONFLICT, "object '%s' already exists", key);
        return -1;
    }
    return 0;
}

/* Remote read for streaming: the object is fetched into an unlinked temp file. */
static int remote_open_read(lh_storage *st, const char *key, int *fd, int64_t *size, lh_err *err) {
    const char *dir = getenv("TMPDIR");
    char *tmpl = lh_asprintf("%s/lh-s3-get-XXXXXX", dir && *dir ? dir : "/tmp");
    *fd = mkstemp(tmpl);
    if (*fd >= 0) unlink(tmpl);
    free(tmpl);
    if (*fd < 0) return lh_err_set(err, LH_E_INTERNAL, "create spool file: %s", strerror(errno));
    int64_t got = 0;
    if (st->ops->get_fd(st->impl, key, *fd, &got, NULL, err) != 0 || lseek(*fd, 0, SEEK_SET) != 0) {
        if (err && err->code == LH_OK) lh_err_set(err, LH_E_INTERNAL, "seek: %s", strerror(errno));
        close(*fd);
        *fd = -1;
        return -1;
    }
    if (size) *size = got;
    return 0;
}

static int open_regular(lh_storage *st, const char *key, int *fd, int64_t *size, lh_err *err) {
    if (storage_key_validate(key, err) != 0) return -1;
    if (st->ops) return remote_open_read(st, key, fd, size, err);
    char *path = storage_path(st, key);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (*fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return lh_err_set(err, LH_E_NOT_FOUND, "object '%s' not found", key);
        return lh_err_set(err, LH_E_INTERNAL, "open '%s': %s", key, strerror(errno));
    }
    struct stat sb;
    if (fstat(*fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(*fd);
        *fd = -1;
        return lh_err_set(err, LH_E_NOT_FOUND, "object '%s' not found", key);
    }
    if (size) *size = (int64_t)sb.st_size;
    return 0;
}

int storage_open_read(lh_storage *st, const char *key, int *fd, int64_t *size, lh_err *err) {
    return open_regular(st, key, fd, size, err);
}

int storage_get(lh_storage *st, const char *key, char **out, size_t *len, lh_err *err) {
    if (st->ops) {
        if (storage_key_validate(key, err) != 0) return -1;
        return st->ops->get(st->impl, key, out, len, err);
    }
    int fd;
    int64_t size;
    if (open_regular(st, key, &fd, &size, err) != 0) return -1;
    char *buf = lh_malloc((size_t)size + 1);
    size_t got = 0;
    while (got < (size_t)size) {
        ssize_t n = read(fd, buf + got, (size_t)size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    if (len) *len = got;
    return 0;
}

int storage_exists(lh_storage *st, const char *key) {
    if (storage_key_validate(key, NULL) != 0) return 0;
    if (st->ops) return st->ops->head(st->impl, key, NULL, NULL) == 0;
    char *path = storage_path(st, key);
    struct stat sb;
    int ok = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
    free(path);
    return ok;
}

/* Removes now-empty folders from the object's folder up to (not incl.) root. */
static void prune_empty_parents(lh_storage *st, char *path) {
    size_t rootlen = strlen(st->root);
    for (;;) {
        char *slash = strrchr(path, '/');
        if (!slash || (size_t)(slash - path) <= rootlen) return;
        *slash = '\0';
        if (rmdir(path) != 0) return;
    }
}

int storage_delete(lh_storage *st, const char *key, lh_err *err) {
    if (storage_key_validate(key, err) != 0) return -1;
    if (st->ops) {
        if (st->ops->head(st->impl, key, NULL, err) != 0) return -1;
        storage_files_forget(st, key);
        return st->ops->del(st->impl, key, err);
    }
    if (!storage_exists(st, key))
        return lh_err_set(err, LH_E_NOT_FOUND, "object '%s' not found", key);
    char *path = storage_path(st, key);
    int rc = unlink(path);
    if (rc != 0) {
        lh_err_set(err, LH_E_INTERNAL, "delete '%s': %s", key, strerror(errno));
    } else {
        lh_fsync_dir_of(path);
        prune_empty_parents(st, path);
    }
    free(path);
    return rc == 0 ? 0 : -1;
}

static int is_temp_name(const char *name) {
    return name[0] == '.' && strstr(name, ".tmp-") != NULL;
}

typedef struct {
    lh_object_info *items;
    size_t n, cap;
} object_list;

/* Walks folder `rel` (relative to root, "" for root) collecting files whose
 * key starts with prefix. Temp files are skipped; with `temps` they are
 * deleted instead (start-up cleanup) and counted. */
static void walk(lh_storage *st, const char *rel, const char *prefix, object_list *out,
                 int *temps) {
    char *dirpath = *rel ? lh_asprintf("%s/%s", st->root, rel) : lh_strdup(st->root);
    DIR *d = opendir(dirpath);
    if (!d) {
        free(dirpath);
        return;
    }
    struct dirent *e;
    size_t plen = strlen(prefix);
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *key = *rel ? lh_asprintf("%s/%s", rel, e->d_name) : lh_strdup(e->d_name);
        char *full = lh_asprintf("%s/%s", dirpath, e->d_name);
        struct stat sb;
        if (lstat(full, &sb) == 0) {
            size_t klen = strlen(key);
            size_t cmp = klen < plen ? klen : plen;
            int match = strncmp(key, prefix, cmp) == 0;
            if (S_ISDIR(sb.st_mode)) {
                if (match) walk(st, key, prefix, out, temps);
            } else if (!*rel && !strcmp(e->d_name, LOCK_NAME)) {
                /* the process lock: not an object */
            } else if (S_ISREG(sb.st_mode) && is_temp_name(e->d_name)) {
                if (temps && unlink(full) == 0) (*temps)++;
            } else if (S_ISREG(sb.st_mode) && out && klen >= plen && match) {
                if (out->n == out->cap) {
                    out->cap = out->cap ? out->cap * 2 : 64;
                    out->items = lh_realloc(out->items, out->cap * sizeof *out->items);
                }
                out->items[out->n++] = (lh_object_info){
                    .key = key,
                    .size = (int64_t)sb.st_size,
                    .modified_ms = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000,
                };
                key = NULL;
            }
        }
        free(full);
        free(key);
    }
    closedir(d);
    free(dirpath);
}

static int cmp_info(const void *a, const void *b) {
    return strcmp(((const lh_object_info *)a)->key, ((const lh_object_info *)b)->key);
}

/* A remote listing without the system's own objects (the lease, probes). */
static int remote_list(lh_storage *st, const char *prefix, lh_object_info **out, size_t *n, lh_err *err) {
    if (st->ops->list(st->impl, prefix, out, n, err) != 0) return -1;
    size_t kept = 0;
    for (size_t i = 0; i < *n; i++) {
        if (!strcmp((*out)[i].key, LEASE_NAME) || !strncmp((*out)[i].key, SYSTEM_PREFIX, strlen(SYSTEM_PREFIX)))
            free((*out)[i].key);
        else
            (*out)[kept++] = (*out)[i];
    }
    *n = kept;
    return 0;
}

int storage_list(lh_storage *st, const char *prefix, lh_object_info **out, size_t *n,
                 lh_err *err) {
    if (!prefix) prefix = "";
    if (strstr(prefix, "..") || prefix[0] == '/')
        return lh_err_set(err, LH_E_BAD_REQUEST, "prefix must be relative and must not contain '..'");
    if (st->ops) return remote_list(st, prefix, out, n, err);
    object_list list = {0};
    /* start at the deepest folder the prefix names, not at the root */
    char *start = lh_strdup(prefix);
    char *slash = strrchr(start, '/');
    if (slash) *slash = '\0';
    else start[0] = '\0';
    walk(st, start, prefix, &list, NULL);
    free(start);
    if (list.n) qsort(list.items, list.n, sizeof *list.items, cmp_info);
    *out = list.items;
    *n = list.n;
    return 0;
}

void storage_list_free(lh_object_info *objs, size_t n) {
    for (size_t i = 0; i < n; i++) free(objs[i].key);
    free(objs);
}

/* "pid 123" from the lock file's text, for the refusal message. */
static void lock_holder(int fd, char *out, size_t cap) {
    char buf[128] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    long pid = 0;
    const char *p = strstr(buf, "pid=");
    if (p) pid = strtol(p + 4, NULL, 10);
    if (pid > 0) snprintf(out, cap, "pid %ld", pid);
    else snprintf(out, cap, "pid unknown");
}

int storage_lock(lh_storage *st, lh_err *err) {
    if (st->ops) {
        if (!st->lease) st->lease = storage_lease_acquire(st, err);
        return st->lease ? 0 : -1;
    }
    if (st->lock_fd >= 0) return 0;
    char *path = lh_asprintf("%s/" LOCK_NAME, st->root);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        lh_err_set(err, LH_E_UNAVAILABLE, "cannot open the lock file %s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char who[64];
        lock_holder(fd, who, sizeof who);
        close(fd);
        if (e == EWOULDBLOCK)
            lh_err_set(err, LH_E_UNAVAILABLE, "the data folder %s is in use by another lakehouse process (%s)",
                       st->root, who);
        else lh_err_set(err, LH_E_UNAVAILABLE, "cannot lock %s: %s", path, strerror(e));
        lh_err_hint(err, "stop that process first, or give this one its own folder (LAKEHOUSE_DATA)");
        free(path);
        return -1;
    }
    char text[64];
    int n = snprintf(text, sizeof text, "pid=%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n)
        LOG_WARN("lock file %s: cannot record the pid: %s", path, strerror(errno));
    st->lock_fd = fd;
    free(path);
    return 0;
}

int storage_cleanup_temp(lh_storage *st) {
    if (st->ops) return 0; /* remote writes are single PUTs: nothing to clean */
    int removed = 0;
    walk(st, "", "", NULL, &removed);
    if (removed) LOG_INFO("storage %s: removed %d orphaned temp file(s)", st->name, removed);
    return removed;
}
