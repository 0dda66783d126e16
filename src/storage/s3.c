/*
 * s3.c — the S3 backend of the object store, over libcurl.
 *
 * Path-style requests (<endpoint>/<bucket>/<key>) signed by our own SigV4
 * signer (sigv4.c, tested against AWS's published vectors; ADR 0165):
 * host, x-amz-content-sha256 (every PUT is signed over its real digest) and
 * x-amz-date are signed, and the URL carries the signer's encoded path and
 * sorted query verbatim, so the canonical request we sign is exactly what
 * the server recomputes.
 *
 * Operations: PUT (from memory or a spooled file), GET (to memory or a
 * file), HEAD, DELETE, ListObjectsV2 (XML parsed by hand, continuation
 * tokens followed). Put-if-absent sends If-None-Match: * (412 -> conflict);
 * since some S3 servers (s3rver among them) ignore that header, it is also
 * preceded by a HEAD under a per-bucket lock, which makes it exclusive at
 * least among this process's writers (ADR 0121).
 *
 * Errors: unreachable endpoint -> LH_E_UNAVAILABLE, 404 -> LH_E_NOT_FOUND,
 * 412 -> LH_E_CONFLICT, other statuses -> LH_E_BAD_GATEWAY with S3's
 * <Code> and <Message>. Keys never appear in messages.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "storage/storage.h"
#include "storage/storage_internal.h"

#define S3_EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct {
    char *endpoint; /* no trailing '/' */
    char *origin;   /* "<scheme>://<authority>" of the endpoint */
    char *host;     /* its authority: the Host header we sign and send */
    char *base;     /* the endpoint's path ("" or "/prefix") */
    char *bucket;
    char *region;
    char *access_key;
    char *secret_key; /* never logged */
    pthread_mutex_t excl; /* serialises put-if-absent's HEAD + PUT */
} s3_bucket;

/* One request: what to send and where the answer goes. */
typedef struct {
    const char *method;    /* GET PUT HEAD DELETE */
    const char *key;       /* NULL: the bucket itself */
    const lh_sigv4_pair *query; /* raw names and values */
    size_t nquery;
    const char *payload_sha;
    int if_none_match;
    const char *src;       /* body from memory ... */
    size_t src_len, src_off;
    int src_fd;            /* ... or from a file (>= 0) */
    int64_t src_size;
    lh_strbuf *out;        /* answer body to memory ... */
    int out_fd;            /* ... or to a file (>= 0) */
    int out_failed;
    long status;
    int64_t length;        /* Content-Length of a HEAD */
} s3_call;

/* ---- XML (just enough for S3 answers) ----------------------------------- */

/* Finds <tag>value</tag> within [p, end); sets *v, *vlen; returns the byte
 * after the closing tag or NULL. */
static const char *xml_find(const char *p, const char *end, const char *tag, const char **v,
                            size_t *vlen) {
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = memmem(p, (size_t)(end - p), open, strlen(open));
    if (!a) return NULL;
    a += strlen(open);
    const char *z = memmem(a, (size_t)(end - a), close, strlen(close));
    if (!z) return NULL;
    *v = a;
    *vlen = (size_t)(z - a);
    return z + strlen(close);
}

/* Copies an XML text value, decoding the five predefined entities. */
static char *xml_text(const char *v, size_t n) {
    static const struct { const char *ent; char c; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    lh_strbuf sb = {0};
    for (size_t i = 0; i < n;) {
        size_t e = 0;
        while (e < 5 && !(v[i] == '&' && n - i >= strlen(ents[e].ent) &&
                          !memcmp(v + i, ents[e].ent, strlen(ents[e].ent))))
            e++;
        if (e < 5) {
            sb_putc(&sb, ents[e].c);
            i += strlen(ents[e].ent);
        } else {
            sb_putc(&sb, v[i++]);
        }
    }
    if (!sb.buf) sb_puts(&sb, "");
    return sb_steal(&sb);
}

/* "2026-11-25T12:00:00.123Z" -> ms since epoch (0 when unparsable). */
static int64_t iso_to_ms(const char *s) {
    int64_t us;
    return lh_time_parse_iso(s, &us) == 0 ? us / 1000 : 0;
}

/* ---- transport ---------------------------------------------------------- */

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud) {
    s3_call *c = ud;
    size_t cap = size * nitems;
    if (c->src_fd >= 0) {
        ssize_t n;
        do n = read(c->src_fd, buf, cap);
        while (n < 0 && errno == EINTR);
        return n < 0 ? CURL_READFUNC_ABORT : (size_t)n;
    }
    size_t n = c->src_len - c->src_off < cap ? c->src_len - c->src_off : cap;
    memcpy(buf, c->src + c->src_off, n);
    c->src_off += n;
    return n;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud) {
    s3_call *c = ud;
    size_t n = size * nmemb;
    if (c->out_fd >= 0 && c->status >= 200 && c->status < 300) {
        for (size_t done = 0; done < n;) {
            ssize_t w = write(c->out_fd, data + done, n - done);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                c->out_failed = errno;
                return 0;
            }
            done += (size_t)w;
        }
    } else {
        sb_append(c->out, data, n); /* answers and error documents */
    }
    return n;
}

/* Learns the status before the body so on_write knows where bytes go. */
static size_t on_header(char *data, size_t size, size_t nitems, void *ud) {
    s3_call *c = ud;
    size_t n = size * nitems;
    if (n > 5 && !strncmp(data, "HTTP/", 5)) {
        const char *sp = memchr(data, ' ', n);
        if (sp) c->status = strtol(sp + 1, NULL, 10);
    } else if (n > 15 && !strncasecmp(data, "content-length:", 15)) {
        c->length = strtoll(data + 15, NULL, 10);
    }
    return n;
}

/* Signs the call as of now; sig's encoded path and query make the URL. */
static int call_sign(const s3_bucket *b, const s3_call *c, char date[17], lh_sigv4_signed *sig, lh_err *err) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, 17, "%Y%m%dT%H%M%SZ", &tm);
    char *path = c->key ? lh_asprintf("%s/%s/%s", b->base, b->bucket, c->key) : lh_asprintf("%s/%s", b->base, b->bucket);
    const lh_sigv4_pair h[] = {{"host", b->host},
                               {"x-amz-content-sha256", c->payload_sha ? c->payload_sha : S3_EMPTY_SHA},
                               {"x-amz-date", date}};
    lh_sigv4_request r = {.method = c->method, .path = path, .query = c->query, .nquery = c->nquery,
                          .headers = h, .nheaders = 3, .payload_sha256 = h[1].value, .amz_date = date,
                          .region = b->region, .service = "s3", .access_key = b->access_key,
                          .secret_key = b->secret_key};
    int rc = storage_sigv4_sign(&r, sig, err);
    free(path);
    return rc;
}

static char *call_url(const s3_bucket *b, const lh_sigv4_signed *sig) {
    return lh_asprintf("%s%s%s%s", b->origin, sig->canonical_uri, *sig->canonical_query ? "?" : "",
                       sig->canonical_query);
}

static struct curl_slist *call_headers(const s3_bucket *b, const s3_call *c, const char *date,
                                       const lh_sigv4_signed *sig) {
    lh_strbuf line = LH_STRBUF_INIT;
    sb_printf(&line, "Host: %s", b->host);
    struct curl_slist *h = curl_slist_append(NULL, line.buf);
    sb_reset(&line);
    sb_printf(&line, "x-amz-content-sha256: %s", c->payload_sha ? c->payload_sha : S3_EMPTY_SHA);
    h = curl_slist_append(h, line.buf);
    sb_reset(&line);
    sb_printf(&line, "x-amz-date: %s", date);
    h = curl_slist_append(h, line.buf);
    sb_reset(&line);
    sb_printf(&line, "Authorization: %s", sig->authorization);
    h = curl_slist_append(h, line.buf);
    sb_free(&line);
    h = curl_slist_append(h, "Expect:");
    if (c->if_none_match) h = curl_slist_append(h, "If-None-Match: *");
    if (!strcmp(c->method, "PUT")) h = curl_slist_append(h, "Content-Type: application/octet-stream");
    return h;
}

static void call_setup(CURL *h, s3_call *c, const char *url,
                       struct curl_slist *hdrs) {
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    if (!strcmp(c->method, "PUT")) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, c);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)(c->src_fd >= 0 ? c->src_size : (int64_t)c->src_len));
    } else if (!strcmp(c->method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(c->method, "GET")) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
    }
}

/* Turns a non-2xx answer into an lh_err with S3's code and message. */
static int status_error(const s3_bucket *b, const s3_call *c, lh_err *err) {
    if (c->status == 404)
        return lh_err_set(err, LH_E_NOT_FOUND, c->key ? "object '%s' not found" : "S3 bucket '%s' not found",
                          c->key ? c->key : b->bucket);
    if (c->status == 412) return lh_err_set(err, LH_E_CONFLICT, "object '%s' already exists", c->key);
    const char *v = NULL, *m = NULL, *end = c->out->buf ? c->out->buf + c->out->len : NULL;
    size_t vlen = 0, mlen = 0;
    if (end) {
        xml_find(c->out->buf, end, "Code", &v, &vlen);
        xml_find(c->out->buf, end, "Message", &m, &mlen);
    }
    return lh_err_set(err, c->status >= 500 ? LH_E_UNAVAILABLE : LH_E_BAD_GATEWAY,
                      "S3 %s on bucket '%s' answered %ld%s%.*s%s%.*s", c->method, b->bucket, c->status,
                      v ? " " : "", (int)vlen, v ? v : "", m ? ": " : "", (int)mlen, m ? m : "");
}

/* Runs one request; 0 on a 2xx answer. */
static int s3_perform(s3_bucket *b, s3_call *c, lh_err *err) {
    lh_strbuf local = {0};
    if (!c->out) c->out = &local;
    char date[17];
    lh_sigv4_signed sig;
    if (call_sign(b, c, date, &sig, err) != 0) return -1;
    CURL *h = curl_easy_init();
    if (!h) {
        storage_sigv4_signed_free(&sig);
        return lh_err_set(err, LH_E_INTERNAL, "curl_easy_init failed");
    }
    char *url = call_url(b, &sig);
    struct curl_slist *hdrs = call_headers(b, c, date, &sig);
    storage_sigv4_signed_free(&sig);
    call_setup(h, c, url, hdrs);
    CURLcode rc = curl_easy_perform(h);
    int ret = 0;
    if (c->out_failed)
        ret = lh_err_set(err, LH_E_INTERNAL, "S3 GET: writing the spool file: %s", strerror(c->out_failed));
    else if (rc != CURLE_OK)
        ret = lh_err_set(err, LH_E_UNAVAILABLE, "S3 endpoint %s (bucket '%s') unreachable: %s", b->endpoint,
                         b->bucket, curl_easy_strerror(rc));
    else if (c->status < 200 || c->status >= 300)
        ret = status_error(b, c, err);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    free(url);
    if (c->out == &local) {
        sb_free(&local);
        c->out = NULL;
    }
    return ret;
}

static s3_call call_new(const char *method, const char *key) {
    return (s3_call){.method = method, .key = key, .src_fd = -1, .out_fd = -1};
}

/* ---- ops ---------------------------------------------------------------- */

static int op_head(void *impl, const char *key, int64_t *size, lh_err *err) {
    s3_call c = call_new("HEAD", key);
    if (s3_perform(impl, &c, err) != 0) return -1;
    if (size) *size = c.length;
    return 0;
}

/* If-None-Match: * plus a HEAD under the bucket's lock (servers that ignore it). */
static int put_exclusive(s3_bucket *b, s3_call *c, lh_err *err) {
    pthread_mutex_lock(&b->excl);
    lh_err herr = {0};
    int rc;
    if (op_head(b, c->key, NULL, &herr) == 0)
        rc = lh_err_set(err, LH_E_CONFLICT, "object '%s' already exists", c->key);
    else if (herr.code != LH_E_NOT_FOUND)
        rc = lh_err_set(err, herr.code, "%s", herr.msg);
    else
        rc = s3_perform(b, c, err);
    pthread_mutex_unlock(&b->excl);
    return rc;
}

static int op_put(void *impl, const char *key, const void *data, size_t len, int exclusive,
                  const char sha[65], lh_err *err) {
    s3_call c = call_new("PUT", key);
    c.src = data;
    c.src_len = len;
    c.payload_sha = sha;
    c.if_none_match = exclusive;
    return exclusive ? put_exclusive(impl, &c, err) : s3_perform(impl, &c, err);
}

static int op_put_fd(void *impl, const char *key, int fd, int64_t size, const char sha[65], lh_err *err) {
    if (lseek(fd, 0, SEEK_SET) != 0)
        return lh_err_set(err, LH_E_INTERNAL, "rewind spool file: %s", strerror(errno));
    s3_call c = call_new("PUT", key);
    c.src_fd = fd;
    c.src_size = size;
    c.payload_sha = sha;
    return s3_perform(impl, &c, err);
}

static int op_get(void *impl, const char *key, char **out, size_t *len, lh_err *err) {
    lh_strbuf body = {0};
    s3_call c = call_new("GET", key);
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

static int op_get_fd(void *impl, const char *key, int fd, int64_t *size, lh_err *err) {
    s3_call c = call_new("GET", key);
    c.out_fd = fd;
    if (s3_perform(impl, &c, err) != 0) return -1;
    off_t end = lseek(fd, 0, SEEK_END);
    *size = end < 0 ? 0 : (int64_t)end;
    return 0;
}

static int op_del(void *impl, const char *key, lh_err *err) {
    s3_call c = call_new("DELETE", key);
    return s3_perform(impl, &c, err);
}

/* Appends the <Contents> of one ListObjectsV2 page; returns the
 * continuation token (caller frees) or NULL on the last page. */
static char *list_page_parse(const lh_strbuf *page, lh_object_info **items, size_t *n, size_t *cap) {
    const char *p = page->buf, *end = page->buf + page->len, *v;
    size_t vlen;
    while ((p = xml_find(p, end, "Contents", &v, &vlen)) != NULL) {
        const char *ve = v + vlen, *f;
        size_t flen;
        if (!xml_find(v, ve, "Key", &f, &flen)) continue;
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *items = lh_realloc(*items, *cap * sizeof **items);
        }
        lh_object_info *o = &(*items)[(*n)++];
        *o = (lh_object_info){.key = xml_text(f, flen)};
        if (xml_find(v, ve, "Size", &f, &flen)) o->size = strtoll(f, NULL, 10);
        if (xml_find(v, ve, "LastModified", &f, &flen)) {
            char *t = xml_text(f, flen);
            o->modified_ms = iso_to_ms(t);
            free(t);
        }
    }
    if (!xml_find(page->buf, end, "IsTruncated", &v, &vlen) || vlen != 4 || memcmp(v, "true", 4)) return NULL;
    if (!xml_find(page->buf, end, "NextContinuationToken", &v, &vlen)) return NULL;
    return xml_text(v, vlen);
}

static int op_list(void *impl, const char *prefix, lh_object_info **out, size_t *n, lh_err *err) {
    lh_object_info *items = NULL;
    size_t cnt = 0, cap = 0;
    char *token = NULL;
    int rc = 0;
    do {
        lh_strbuf page = {0};
        lh_sigv4_pair q[] = {{"list-type", "2"}, {"prefix", prefix}, {"continuation-token", token}};
        s3_call c = call_new("GET", NULL);
        c.query = q;
        c.nquery = token ? 3 : 2;
        c.out = &page;
        rc = s3_perform(impl, &c, err);
        free(token);
        token = NULL;
        if (rc == 0 && page.buf) token = list_page_parse(&page, &items, &cnt, &cap);
        sb_free(&page);
    } while (rc == 0 && token);
    if (rc != 0) {
        storage_list_free(items, cnt);
        return -1;
    }
    *out = items;
    *n = cnt;
    return 0;
}

/* HeadBucket: cheap, and checks the credentials too. */
static int op_probe(void *impl, lh_err *err) {
    s3_call c = call_new("HEAD", NULL);
    return s3_perform(impl, &c, err);
}

static void op_free(void *impl) {
    s3_bucket *b = impl;
    pthread_mutex_destroy(&b->excl);
    free(b->endpoint);
    free(b->origin);
    free(b->host);
    free(b->base);
    free(b->bucket);
    free(b->region);
    free(b->access_key);
    if (b->secret_key) explicit_bzero(b->secret_key, strlen(b->secret_key));
    free(b->secret_key);
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

static int s3_check_args(const char *endpoint, const char *bucket, const char *access_key,
                         const char *secret_key, lh_err *err) {
    if (!endpoint || (strncmp(endpoint, "http://", 7) && strncmp(endpoint, "https://", 8)))
        return lh_err_set(err, LH_E_BAD_REQUEST, "S3 endpoint must start with http:// or https://");
    if (!bucket || !*bucket || strchr(bucket, '/'))
        return lh_err_set(err, LH_E_BAD_REQUEST, "S3 bucket name must be non-empty and contain no '/'");
    if (!access_key || !*access_key || !secret_key || !*secret_key)
        return lh_err_set(err, LH_E_BAD_REQUEST, "S3 bucket '%s' needs an access key and a secret key", bucket);
    if (strpbrk(access_key, ":/,= \r\n") || strpbrk(secret_key, "\r\n"))
        return lh_err_set(err, LH_E_BAD_REQUEST, "S3 access key must not contain ':', '/', ',', '=' or spaces");
    return 0;
}

lh_storage *storage_open_s3(const char *name, const char *endpoint, const char *bucket,
                            const char *region, const char *access_key, const char *secret_key,
                            lh_err *err) {
    if (s3_check_args(endpoint, bucket, access_key, secret_key, err) != 0) return NULL;
    s3_bucket *b = lh_calloc(1, sizeof *b);
    size_t elen = strlen(endpoint);
    while (elen > 0 && endpoint[elen - 1] == '/') elen--;
    b->endpoint = lh_strndup(endpoint, elen);
    const char *auth = strstr(b->endpoint, "://") + 3, *slash = strchr(auth, '/');
    size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
    b->origin = lh_strndup(b->endpoint, (size_t)(auth - b->endpoint) + alen);
    b->host = lh_strndup(auth, alen);
    b->base = lh_strdup(slash ? slash : "");
    b->bucket = lh_strdup(bucket);
    b->region = lh_strdup(region && *region ? region : "us-east-1");
    b->access_key = lh_strdup(access_key);
    b->secret_key = lh_strdup(secret_key);
    pthread_mutex_init(&b->excl, NULL);
    char *loc = lh_asprintf("s3://%s", bucket);
    lh_storage *st = storage_new_remote(name, loc, &S3_OPS, b);
    free(loc);
    return st;
}
