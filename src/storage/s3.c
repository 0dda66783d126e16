/*
 * s3.c — the S3 backend of the object store: the operations behind
 * lh_storage_ops, over one signed request each (s3_http.c).
 *
 * Operations: PUT (from memory or a spooled file; multipart above the
 * bucket's threshold, s3_multipart.c), GET (to memory or a file), HEAD,
 * DELETE, ListObjectsV2 (XML parsed by hand, continuation tokens followed).
 * A bucket may carry a key prefix: every key is sent as "<prefix>/<key>"
 * and listings hand the keys back without it.
 *
 * Put-if-absent sends If-None-Match: * and trusts the store's answer
 * (412, or 409 for a conditional write that raced another): no emulation
 * here, since one that only serialises this process's writers is a lie to
 * every other writer (ADR 0232 replaces ADR 0121). Whether a store honours
 * the header is probed once per bucket (storage_check_conditional), and a
 * store that does not is refused for datasets. A conditional PUT retried
 * after an ambiguous failure (timeout, 5xx: the first try may have landed)
 * that then finds the key taken reads the object back: our own bytes mean
 * the first try won.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "storage/s3_internal.h"
#include "storage/storage.h"
#include "storage/storage_internal.h"

#define S3_MULTIPART_THRESHOLD (16LL << 20) /* put_fd above this goes up in parts */
#define S3_PART_SIZE (8LL << 20)            /* >= S3's 5 MiB minimum */
#define S3_MAX_ATTEMPTS 4
#define S3_BACKOFF_MS 100

/* "2026-11-25T12:00:00.123Z" -> ms since epoch (0 when unparsable). */
static int64_t iso_to_ms(const char *s) {
    int64_t us;
    return lh_time_parse_iso(s, &us) == 0 ? us / 1000 : 0;
}

/* ---- ops ---------------------------------------------------------------- */

static int op_head(void *impl, const char *key, int64_t *size, lh_err *err) {
    s3_call c = s3_call_new("HEAD", key);
    if (s3_perform(impl, &c, err) != 0) return -1;
    if (size) *size = c.length;
    return 0;
}

static int op_get(void *impl, const char *key, char **out, size_t *len, lh_err *err) {
    lh_strbuf body = {0};
    s3_call c = s3_call_new("GET", key);
    c.out = &body;
    if (s3_perform(impl, &c, err) != 0) {
        sb_free(&body);
        return -1;
    }
    if (!body.buf) sb_puts(&body, "");
    if (len) *len = body.len;
    *out = sb_steal(&body);
    return 0;
}

/* A conditional PUT that found the key taken after an ambiguous earlier try:
 * did that try land? Yes when the stored object is exactly our bytes. */
static int own_write_landed(s3_bucket *b, const char *key, const void *data, size_t len) {
    char *got = NULL;
    size_t glen = 0;
    int same = op_get(b, key, &got, &glen, NULL) == 0 && glen == len && !memcmp(got, data, len);
    free(got);
    return same;
}

static int op_put(void *impl, const char *key, const void *data, size_t len, int exclusive,
                  const char sha[65], lh_err *err) {
    s3_call c = s3_call_new("PUT", key);
    c.src = data;
    c.src_len = len;
    c.payload_sha = sha;
    c.if_none_match = exclusive;
    lh_err e = {0};
    if (s3_perform(impl, &c, &e) == 0) return 0;
    if (exclusive && e.code == LH_E_CONFLICT && c.ambiguous && own_write_landed(impl, key, data, len)) return 0;
    if (err) *err = e;
    return -1;
}

/* SHA-256 of size bytes of fd from offset off (S3 signs every payload). */
static int sha256_of_range(int fd, int64_t off, int64_t size, char out[65]) {
    lh_sha256 *h = lh_sha256_new();
    char buf[1 << 16];
    int rc = 0;
    while (size > 0) {
        ssize_t n = pread(fd, buf, size < (int64_t)sizeof buf ? (size_t)size : sizeof buf, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            rc = -1;
            break;
        }
        lh_sha256_update(h, buf, (size_t)n);
        off += n;
        size -= n;
    }
    lh_sha256_final(h, out);
    return rc;
}

int s3_put_range(s3_bucket *b, s3_call *c, int fd, int64_t off, int64_t size, lh_err *err) {
    char sha[65];
    if (sha256_of_range(fd, off, size, sha) != 0)
        return lh_err_set(err, LH_E_INTERNAL, "read the file to upload: %s", strerror(errno ? errno : EIO));
    c->src_fd = fd;
    c->src_base = off;
    c->src_size = size;
    c->payload_sha = sha;
    int rc = s3_perform(b, c, err);
    c->payload_sha = NULL;
    return rc;
}

static int op_put_fd(void *impl, const char *key, int fd, int64_t size, const char sha[65], lh_err *err) {
    s3_bucket *b = impl;
    if (size > b->multipart_threshold) return s3_put_multipart(b, key, fd, size, err);
    s3_call c = s3_call_new("PUT", key);
    if (!sha) return s3_put_range(b, &c, fd, 0, size, err);
    c.src_fd = fd;
    c.src_size = size;
    c.payload_sha = sha;
    return s3_perform(b, &c, err);
}

static int op_get_fd(void *impl, const char *key, int fd, int64_t *size, char etag[80], lh_err *err) {
    s3_call c = s3_call_new("GET", key);
    c.out_fd = fd;
    if (s3_perform(impl, &c, err) != 0) return -1;
    off_t end = lseek(fd, 0, SEEK_END);
    *size = end < 0 ? 0 : (int64_t)end;
    if (etag) memcpy(etag, c.etag, sizeof c.etag);
    if (c.length > 0 && *size != c.length)
        return lh_err_set(err, LH_E_UNAVAILABLE, "S3 GET of '%s' ended after %lld of %lld bytes", key,
                          (long long)*size, (long long)c.length);
    return 0;
}

static int op_del(void *impl, const char *key, lh_err *err) {
    s3_call c = s3_call_new("DELETE", key);
    return s3_perform(impl, &c, err);
}

/* Appends the <Contents> of one ListObjectsV2 page (keys without the
 * bucket's prefix, strip bytes); returns the continuation token (caller
 * frees) or NULL on the last page. */
static char *list_page_parse(const lh_strbuf *page, size_t strip, lh_object_info **items, size_t *n,
                             size_t *cap) {
    const char *p = page->buf, *end = page->buf + page->len, *v;
    size_t vlen;
    while ((p = s3_xml_find(p, end, "Contents", &v, &vlen)) != NULL) {
        const char *ve = v + vlen, *f;
        size_t flen;
        if (!s3_xml_find(v, ve, "Key", &f, &flen)) continue;
        char *key = s3_xml_text(f, flen);
        if (strlen(key) <= strip) { /* the prefix itself, never one of our keys */
            free(key);
            continue;
        }
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *items = lh_realloc(*items, *cap * sizeof **items);
        }
        lh_object_info *o = &(*items)[(*n)++];
        *o = (lh_object_info){.key = lh_strdup(key + strip)};
        free(key);
        if (s3_xml_find(v, ve, "Size", &f, &flen)) o->size = strtoll(f, NULL, 10);
        if (s3_xml_find(v, ve, "LastModified", &f, &flen)) {
            char *t = s3_xml_text(f, flen);
            o->modified_ms = iso_to_ms(t);
            free(t);
        }
    }
    if (!s3_xml_find(page->buf, end, "IsTruncated", &v, &vlen) || vlen != 4 || memcmp(v, "true", 4)) return NULL;
    if (!s3_xml_find(page->buf, end, "NextContinuationToken", &v, &vlen)) return NULL;
    return s3_xml_text(v, vlen);
}

static int op_list(void *impl, const char *prefix, lh_object_info **out, size_t *n, lh_err *err) {
    s3_bucket *b = impl;
    char *full = lh_asprintf("%s%s%s", b->prefix, *b->prefix ? "/" : "", prefix);
    size_t strip = *b->prefix ? strlen(b->prefix) + 1 : 0;
    lh_object_info *items = NULL;
    size_t cnt = 0, cap = 0;
    char *token = NULL;
    int rc = 0;
    do {
        lh_strbuf page = {0};
        lh_sigv4_pair q[] = {{"list-type", "2"}, {"prefix", full}, {"continuation-token", token}};
        s3_call c = s3_call_new("GET", NULL);
        c.query = q;
        c.nquery = token ? 3 : 2;
        c.out = &page;
        rc = s3_perform(b, &c, err);
        free(token);
        token = NULL;
        if (rc == 0 && page.buf) token = list_page_parse(&page, strip, &items, &cnt, &cap);
        sb_free(&page);
    } while (rc == 0 && token);
    free(full);
    if (rc != 0) {
        storage_list_free(items, cnt);
        return -1;
    }
    *out = items;
    *n = cnt;
    return 0;
}

/* A ListObjectsV2 narrowed to the lease's key (so at most one key and never
 * a truncated page, which s3rver mishandles): checks the bucket, the
 * credentials and (unlike HeadBucket, whose answer has no body) names S3's
 * error code when refused. */
static int op_probe(void *impl, lh_err *err) {
    s3_bucket *b = impl;
    char *full = lh_asprintf("%s%s_lakehouse.lock", b->prefix, *b->prefix ? "/" : "");
    lh_sigv4_pair q[] = {{"list-type", "2"}, {"prefix", full}};
    s3_call c = s3_call_new("GET", NULL);
    c.query = q;
    c.nquery = 2;
    int rc = s3_perform(b, &c, err);
    free(full);
    return rc;
}

static void op_free(void *impl) {
    s3_bucket *b = impl;
    free(b->endpoint);
    free(b->scheme);
    free(b->authority);
    free(b->host);
    free(b->base);
    free(b->bucket);
    free(b->prefix);
    free(b->region);
    free(b->access_key);
    if (b->secret_key) explicit_bzero(b->secret_key, strlen(b->secret_key));
    free(b->secret_key);
    if (b->session_token) explicit_bzero(b->session_token, strlen(b->session_token));
    free(b->session_token);
    free(b);
}

static const lh_storage_ops S3_OPS = {
    .kind = "s3",
    .put = op_put,
    .put_fd = op_put_fd,
    .get = op_get,
    .get_fd = op_get_fd,
    .head = op_head,
    .del = op_del,
    .list = op_list,
    .probe = op_probe,
    .free = op_free,
};

/* ---- public ------------------------------------------------------------- */

static int s3_check_args(const lh_s3_options *o, lh_err *err) {
    if (!o->endpoint || (strncmp(o->endpoint, "http://", 7) && strncmp(o->endpoint, "https://", 8)))
        return lh_err_set(err, LH_E_BAD_REQUEST, "S3 endpoint must start with http:// or https://");
    if (!o->bucket || !*o->bucket || strpbrk(o->bucket, "/ \r\n"))
        return lh_err_set(err, LH_E_BAD_REQUEST, "S3 bucket name must be non-empty and contain no '/'");
    if (!o->access_key || !*o->access_key || !o->secret_key || !*o->secret_key)
        return lh_err_set(err, LH_E_BAD_REQUEST, "S3 bucket '%s' needs an access key and a secret key", o->bucket);
    if (strpbrk(o->access_key, ":/,= \r\n") || strpbrk(o->secret_key, "\r\n") ||
        (o->session_token && strpbrk(o->session_token, "\r\n")))
        return lh_err_set(err, LH_E_BAD_REQUEST, "S3 access key must not contain ':', '/', ',', '=' or spaces");
    if (o->prefix && *o->prefix && storage_key_validate(o->prefix, err) != 0) {
        lh_err_prefix(err, "S3 key prefix '%s': ", o->prefix);
        return -1;
    }
    return 0;
}

lh_storage *storage_open_s3_with(const char *name, const lh_s3_options *o, lh_err *err) {
    if (s3_check_args(o, err) != 0) return NULL;
    s3_bucket *b = lh_calloc(1, sizeof *b);
    size_t elen = strlen(o->endpoint);
    while (elen > 0 && o->endpoint[elen - 1] == '/') elen--;
    b->endpoint = lh_strndup(o->endpoint, elen);
    const char *auth = strstr(b->endpoint, "://") + 3, *slash = strchr(auth, '/');
    size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
    b->scheme = lh_strndup(b->endpoint, (size_t)(auth - 3 - b->endpoint));
    b->authority = lh_strndup(auth, alen);
    b->base = lh_strdup(slash ? slash : "");
    b->bucket = lh_strdup(o->bucket);
    b->prefix = lh_strdup(o->prefix ? o->prefix : "");
    b->region = lh_strdup(o->region && *o->region ? o->region : "us-east-1");
    b->access_key = lh_strdup(o->access_key);
    b->secret_key = lh_strdup(o->secret_key);
    b->session_token = o->session_token && *o->session_token ? lh_strdup(o->session_token) : NULL;
    b->virtual_hosted = o->virtual_hosted;
    b->max_attempts = o->max_attempts > 0 ? o->max_attempts : S3_MAX_ATTEMPTS;
    b->backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : S3_BACKOFF_MS;
    b->multipart_threshold = o->multipart_threshold > 0 ? o->multipart_threshold : S3_MULTIPART_THRESHOLD;
    b->part_size = o->part_size >= (5LL << 20) ? o->part_size : S3_PART_SIZE;
    char *loc = lh_asprintf("s3://%s%s%s", b->bucket, *b->prefix ? "/" : "", b->prefix);
    lh_storage *st = storage_new_remote(name, loc, &S3_OPS, b);
    free(loc);
    return st;
}

lh_storage *storage_open_s3(const char *name, const char *endpoint, const char *bucket,
                            const char *region, const char *access_key, const char *secret_key,
                            lh_err *err) {
    lh_s3_options o = {.endpoint = endpoint, .bucket = bucket, .region = region, .access_key = access_key,
                       .secret_key = secret_key};
    return storage_open_s3_with(name, &o, err);
}

char *storage_s3_request_target(const lh_storage *st, const char *key, char **host) {
    if (!st->ops || strcmp(st->ops->kind, "s3")) return NULL;
    char *path;
    s3_target(st->impl, key, host, &path);
    return path;
}
