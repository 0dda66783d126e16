/*
 * storage_cache.c — the on-disk read cache of a remote bucket (ADR 0233).
 *
 *   <dir>/objects/<key>   verified copies of immutable objects
 *   <dir>/staging/        files written by path before their upload
 *   <dir>/index.tsv       "<size>\t<etag or ->\t<key>" per copy, appended
 *
 * The index in memory (a hash of keys, recency ticks, pin counts) is
 * rebuilt at open from index.tsv and the folder, so a restart keeps the
 * cache warm: a file is adopted only when the index vouches for its size
 * (a crash between the copy and its index line leaves a file no line
 * names: it is deleted). LRU by bytes: after each insert, least-recently
 * used copies that are not pinned are deleted until the cache holds at
 * most max_bytes (pinned copies may keep it above). Recency survives
 * restarts as the copies' mtimes (bumped on each hit). One mutex guards
 * the index; downloads run outside it.
 */
#include "storage/storage_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"

typedef struct {
    char *key;
    int64_t size;
    char etag[80];
    uint64_t tick; /* recency: larger is more recent */
    int pins;
    int live;      /* 0: evicted or dropped (the slot is reused for the key) */
} cache_entry;

struct lh_storage_cache {
    pthread_mutex_t mu;
    char *dir;
    int64_t max_bytes;
    cache_entry *items;
    size_t n, cap;
    uint32_t *slots; /* open addressing: item index + 1, 0 = empty */
    size_t nslots;   /* power of two, > 2 n */
    uint64_t tick;
    int index_fd;    /* index.tsv, O_APPEND */
    int64_t bytes, files, pinned, hits, misses, evictions, fetched;
};

/* ---- the key hash ------------------------------------------------------- */

static uint32_t key_hash(const char *k) {
    uint32_t h = 2166136261u;
    for (; *k; k++) h = (h ^ (unsigned char)*k) * 16777619u;
    return h;
}

static void slots_rebuild(lh_storage_cache *c) {
    free(c->slots);
    c->nslots = c->nslots ? c->nslots * 2 : 64;
    c->slots = lh_calloc(c->nslots, sizeof *c->slots);
    for (size_t i = 0; i < c->n; i++) {
        size_t s = key_hash(c->items[i].key) & (c->nslots - 1);
        while (c->slots[s]) s = (s + 1) & (c->nslots - 1);
        c->slots[s] = (uint32_t)i + 1;
    }
}

/* The entry of key (live or not), or NULL. */
static cache_entry *entry_find(lh_storage_cache *c, const char *key) {
    if (!c->nslots) return NULL;
    for (size_t s = key_hash(key) & (c->nslots - 1); c->slots[s]; s = (s + 1) & (c->nslots - 1))
        if (!strcmp(c->items[c->slots[s] - 1].key, key)) return &c->items[c->slots[s] - 1];
    return NULL;
}

/* The entry of key, added (not live) when new. */
static cache_entry *entry_get(lh_storage_cache *c, const char *key) {
    cache_entry *e = entry_find(c, key);
    if (e) return e;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->items = lh_realloc(c->items, c->cap * sizeof *c->items);
    }
    e = &c->items[c->n++];
    *e = (cache_entry){.key = lh_strdup(key)};
    if ((c->n + 1) * 2 > c->nslots) {
        slots_rebuild(c);
    } else {
        size_t s = key_hash(key) & (c->nslots - 1);
        while (c->slots[s]) s = (s + 1) & (c->nslots - 1);
        c->slots[s] = (uint32_t)c->n;
    }
    return e;
}

/* ---- accounting --------------------------------------------------------- */

char *storage_cache_object_path(const lh_storage_cache *c, const char *key) {
    return lh_asprintf("%s/objects/%s", c->dir, key);
}

static void entry_set_live(lh_storage_cache *c, cache_entry *e, int64_t size, const char *etag) {
    if (e->live) c->bytes -= e->size;
    else c->files++;
    e->live = 1;
    e->size = size;
    snprintf(e->etag, sizeof e->etag, "%s", etag && *etag ? etag : "");
    e->tick = ++c->tick;
    c->bytes += size;
}

/* Forgets e's copy and deletes its file (mu held). */
static void entry_drop(lh_storage_cache *c, cache_entry *e) {
    if (!e->live) return;
    char *path = storage_cache_object_path(c, e->key);
    unlink(path);
    free(path);
    e->live = 0;
    if (e->pins) c->pinned--;
    e->pins = 0;
    c->bytes -= e->size;
    c->files--;
}

/* Deletes least-recently-used unpinned copies until under budget (mu held). */
static void evict_locked(lh_storage_cache *c) {
    while (c->max_bytes > 0 && c->bytes > c->max_bytes) {
        cache_entry *victim = NULL;
        for (size_t i = 0; i < c->n; i++) {
            cache_entry *e = &c->items[i];
            if (e->live && !e->pins && (!victim || e->tick < victim->tick)) victim = e;
        }
        if (!victim) return; /* everything left is pinned */
        entry_drop(c, victim);
        c->evictions++;
    }
}

static void index_append(lh_storage_cache *c, const cache_entry *e) {
    if (c->index_fd < 0) return;
    char *line = lh_asprintf("%lld\t%s\t%s\n", (long long)e->size, e->etag[0] ? e->etag : "-", e->key);
    size_t len = strlen(line);
    if (write(c->index_fd, line, len) != (ssize_t)len) LOG_WARN("cache index %s/index.tsv: short write", c->dir);
    free(line);
}

/* ---- opening: index.tsv + the folder ------------------------------------ */

/* Reads index.tsv into entries (not live yet; the last line of a key wins). */
static void index_load(lh_storage_cache *c) {
    char *path = lh_asprintf("%s/index.tsv", c->dir), *text = NULL;
    size_t len = 0;
    if (lh_read_file(path, &text, &len, NULL) == 0) {
        for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
            nl = strchr(line, '\n');
            if (!nl) break; /* a torn last line */
            *nl = '\0';
            char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
            if (!t2 || !t2[1]) continue;
            *t1 = *t2 = '\0';
            cache_entry *e = entry_get(c, t2 + 1);
            e->size = strtoll(line, NULL, 10);
            snprintf(e->etag, sizeof e->etag, "%s", strcmp(t1 + 1, "-") ? t1 + 1 : "");
        }
    }
    free(text);
    free(path);
}

typedef struct {
    char *key;
    int64_t mtime_ns;
} found_copy;

static int cmp_found(const void *a, const void *b) {
    int64_t x = ((const found_copy *)a)->mtime_ns, y = ((const found_copy *)b)->mtime_ns;
    return x < y ? -1 : x > y;
}

/* Walks objects/<rel>: copies the index vouches for are collected, the rest deleted. */
static void adopt_walk(lh_storage_cache *c, const char *rel, found_copy **found, size_t *nfound) {
    char *dirpath = *rel ? lh_asprintf("%s/objects/%s", c->dir, rel) : lh_asprintf("%s/objects", c->dir);
    DIR *d = opendir(dirpath);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char *key = *rel ? lh_asprintf("%s/%s", rel, de->d_name) : lh_strdup(de->d_name);
        char *full = lh_asprintf("%s/%s", dirpath, de->d_name);
        struct stat sb;
        if (lstat(full, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            adopt_walk(c, key, found, nfound);
            rmdir(full); /* only when it became empty */
        } else if (lstat(full, &sb) == 0) {
            cache_entry *e = entry_find(c, key);
            if (S_ISREG(sb.st_mode) && e && e->size == (int64_t)sb.st_size) {
                *found = lh_realloc(*found, (*nfound + 1) * sizeof **found);
                (*found)[(*nfound)++] = (found_copy){lh_strdup(key),
                                                     (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec};
            } else {
                unlink(full);
            }
        }
        free(full);
        free(key);
    }
    if (d) closedir(d);
    free(dirpath);
}

/* Rewrites index.tsv with the live entries only, then opens it for appends. */
static int index_compact(lh_storage_cache *c, lh_err *err) {
    lh_strbuf sb = LH_STRBUF_INIT;
    for (size_t i = 0; i < c->n; i++)
        if (c->items[i].live)
            sb_printf(&sb, "%lld\t%s\t%s\n", (long long)c->items[i].size,
                      c->items[i].etag[0] ? c->items[i].etag : "-", c->items[i].key);
    char *path = lh_asprintf("%s/index.tsv", c->dir);
    int rc = lh_write_file_atomic(path, sb.buf ? sb.buf : "", sb.len, err);
    if (rc == 0) c->index_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (rc == 0 && c->index_fd < 0) rc = lh_err_set(err, LH_E_INTERNAL, "open %s: %s", path, strerror(errno));
    free(path);
    sb_free(&sb);
    return rc;
}

static void staging_empty(const char *dir) {
    char *staging = lh_asprintf("%s/staging", dir);
    DIR *d = opendir(staging);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, ".."))) continue;
        char *p = lh_asprintf("%s/%s", staging, de->d_name);
        unlink(p);
        free(p);
    }
    if (d) closedir(d);
    free(staging);
}

lh_storage_cache *storage_cache_open(const char *dir, int64_t max_bytes, lh_err *err) {
    char *objects = lh_asprintf("%s/objects", dir), *staging = lh_asprintf("%s/staging", dir);
    int rc = lh_mkdirs(objects, err) == 0 && lh_mkdirs(staging, err) == 0 ? 0 : -1;
    free(objects);
    free(staging);
    if (rc != 0) return NULL;
    lh_storage_cache *c = lh_calloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->dir = lh_strdup(dir);
    c->max_bytes = max_bytes;
    c->index_fd = -1;
    staging_empty(dir);
    index_load(c);
    found_copy *found = NULL;
    size_t nfound = 0;
    adopt_walk(c, "", &found, &nfound);
    if (nfound) qsort(found, nfound, sizeof *found, cmp_found); /* oldest first: ticks follow mtimes */
    for (size_t i = 0; i < nfound; i++) {
        cache_entry *e = entry_find(c, found[i].key);
        char etag[80];
        memcpy(etag, e->etag, sizeof etag);
        entry_set_live(c, e, e->size, etag);
        free(found[i].key);
    }
    free(found);
    evict_locked(c);
    c->evictions = 0; /* trimming at open is not the workload's eviction */
    if (index_compact(c, err) != 0) {
        storage_cache_free(c);
        return NULL;
    }
    return c;
}

void storage_cache_free(lh_storage_cache *c) {
    if (!c) return;
    if (c->index_fd >= 0) close(c->index_fd);
    for (size_t i = 0; i < c->n; i++) free(c->items[i].key);
    free(c->items);
    free(c->slots);
    free(c->dir);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

const char *storage_cache_dir(const lh_storage_cache *c) { return c->dir; }

/* ---- use ---------------------------------------------------------------- */

char *storage_cache_lookup(lh_storage_cache *c, const char *key, int pin) {
    char *path = storage_cache_object_path(c, key);
    pthread_mutex_lock(&c->mu);
    cache_entry *e = entry_find(c, key);
    struct stat sb;
    int hit = e && e->live && stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (int64_t)sb.st_size == e->size;
    if (hit) {
        e->tick = ++c->tick;
        if (pin && e->pins++ == 0) c->pinned++;
        c->hits++;
        utimensat(AT_FDCWD, path, (const struct timespec[2]){{0, UTIME_OMIT}, {0, UTIME_NOW}}, 0);
    } else {
        if (e && e->live) entry_drop(c, e); /* truncated or removed behind our back */
        c->misses++;
    }
    pthread_mutex_unlock(&c->mu);
    if (hit) return path;
    free(path);
    return NULL;
}

char *storage_cache_temp_path(lh_storage_cache *c, const char *key, lh_err *err) {
    char *path = storage_cache_object_path(c, key);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    int rc = lh_mkdirs(path, err);
    *slash = '/';
    char *tmp = rc == 0 ? lh_temp_path_beside(path) : NULL;
    free(path);
    return tmp;
}

/* 1 when etag is a plain MD5 of the bytes (single-part uploads). */
static int etag_is_md5(const char *etag) {
    if (!etag || strlen(etag) != 32) return 0;
    for (const char *p = etag; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return 1;
}

static int md5_of_file(const char *path, char out[33]) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
    char buf[1 << 16];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) EVP_DigestUpdate(ctx, buf, (size_t)n);
    unsigned char md[16];
    unsigned int mlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mlen);
    EVP_MD_CTX_free(ctx);
    close(fd);
    for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
    return n < 0 ? -1 : 0;
}

/* Checks the downloaded file against the size and MD5 ETag the server gave. */
static int verify_copy(const char *key, const char *tmp, int64_t size, const char *etag, lh_err *err) {
    struct stat sb;
    if (stat(tmp, &sb) != 0 || (int64_t)sb.st_size != size)
        return lh_err_set(err, LH_E_UNAVAILABLE, "cached copy of '%s' has %lld bytes, the object %lld", key,
                          (long long)(stat(tmp, &sb) == 0 ? sb.st_size : -1), (long long)size);
    char md5[33];
    if (etag_is_md5(etag) && (md5_of_file(tmp, md5) != 0 || strcmp(md5, etag)))
        return lh_err_set(err, LH_E_UNAVAILABLE, "cached copy of '%s' does not match its ETag (MD5)", key);
    return 0;
}

char *storage_cache_insert(lh_storage_cache *c, const char *key, const char *tmp, int64_t size,
                           const char *etag, int pin, int fetched, lh_err *err) {
    char *path = storage_cache_object_path(c, key);
    if (verify_copy(key, tmp, size, fetched ? etag : NULL, err) != 0 || rename(tmp, path) != 0) {
        if (err && err->code == LH_OK) lh_err_set(err, LH_E_INTERNAL, "cache '%s': %s", key, strerror(errno));
        unlink(tmp);
        free(path);
        return NULL;
    }
    pthread_mutex_lock(&c->mu);
    cache_entry *e = entry_get(c, key);
    entry_set_live(c, e, size, etag);
    if (pin && e->pins++ == 0) c->pinned++;
    if (fetched) c->fetched += size;
    index_append(c, e);
    evict_locked(c);
    pthread_mutex_unlock(&c->mu);
    return path;
}

void storage_cache_unpin(lh_storage_cache *c, const char *key) {
    pthread_mutex_lock(&c->mu);
    cache_entry *e = entry_find(c, key);
    if (e && e->pins > 0 && --e->pins == 0) {
        c->pinned--;
        evict_locked(c);
    }
    pthread_mutex_unlock(&c->mu);
}

void storage_cache_forget(lh_storage_cache *c, const char *key) {
    pthread_mutex_lock(&c->mu);
    cache_entry *e = entry_find(c, key);
    if (e) entry_drop(c, e);
    pthread_mutex_unlock(&c->mu);
}

void storage_cache_get_stats(lh_storage_cache *c, lh_storage_cache_stats *out) {
    pthread_mutex_lock(&c->mu);
    *out = (lh_storage_cache_stats){.hits = c->hits, .misses = c->misses, .evictions = c->evictions,
                                    .fetched_bytes = c->fetched, .bytes = c->bytes, .files = c->files,
                                    .max_bytes = c->max_bytes, .pinned = c->pinned};
    pthread_mutex_unlock(&c->mu);
}
