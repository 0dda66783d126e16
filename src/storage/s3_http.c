/*
 * s3_http.c — one S3 request over libcurl: addressing, SigV4 signing,
 * retries, and the XML of S3's answers.
 *
 * Addressing (ADR 0230): path-style sends <endpoint>/<bucket>/<key> with
 * Host = the endpoint's authority; virtual-hosted sends <endpoint>/<key>
 * with Host = <bucket>.<authority> (the URL's host is that name too, so TLS
 * and DNS see what AWS expects). Keys get the bucket's prefix here, so the
 * rest of the backend speaks in the caller's keys.
 *
 * Signing: host, x-amz-content-sha256 (every PUT is signed over its real
 * digest), x-amz-date and, with temporary credentials,
 * x-amz-security-token are signed; the URL carries the signer's encoded
 * path and sorted query verbatim, so the canonical request we sign is
 * exactly what the server recomputes.
 *
 * Retries (ADR 0232): connection errors, timeouts, 5xx and 429 are tried
 * again up to max_attempts times, after a delay that doubles each time
 * with +-50% jitter (so writers that failed together do not return
 * together). Any other 4xx is final. Every try is signed afresh.
 *
 * Errors never name keys' bytes beyond the key itself, and never secrets.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "storage/s3_internal.h"

#define BACKOFF_CAP_MS 5000

/* ---- XML (just enough for S3 answers) ----------------------------------- */

const char *s3_xml_find(const char *p, const char *end, const char *tag, const char **v, size_t *vlen) {
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

char *s3_xml_text(const char *v, size_t n) {
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

/* ---- addressing --------------------------------------------------------- */

void s3_target(const s3_bucket *b, const char *key, char **host, char **path) {
    lh_strbuf p = LH_STRBUF_INIT;
    sb_puts(&p, b->base);
    if (!b->virtual_hosted) sb_printf(&p, "/%s", b->bucket);
    if (key) sb_printf(&p, "/%s%s%s", b->prefix, *b->prefix ? "/" : "", key);
    else if (b->virtual_hosted) sb_putc(&p, '/');
    *path = sb_steal(&p);
    *host = b->virtual_hosted ? lh_asprintf("%s.%s", b->bucket, b->authority) : lh_strdup(b->authority);
}

/* ---- curl callbacks ----------------------------------------------------- */

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud) {
    s3_call *c = ud;
    size_t cap = size * nitems;
    if (c->src_fd >= 0) {
        int64_t left = c->src_size - (int64_t)c->src_off;
        if (left <= 0) return 0;
        if ((int64_t)cap > left) cap = (size_t)left;
        ssize_t n;
        do n = pread(c->src_fd, buf, cap, (off_t)(c->src_base + (int64_t)c->src_off));
        while (n < 0 && errno == EINTR);
        if (n < 0) return CURL_READFUNC_ABORT;
        c->src_off += (size_t)n;
        return (size_t)n;
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
    } else if (n > 5 && !strncasecmp(data, "etag:", 5)) {
        size_t j = 0;
        for (size_t i = 5; i < n && j + 1 < sizeof c->etag; i++)
            if (data[i] != '"' && data[i] != ' ' && data[i] != '\r' && data[i] != '\n') c->etag[j++] = data[i];
        c->etag[j] = '\0';
    }
    return n;
}

/* ---- one try ------------------------------------------------------------ */

typedef struct {
    char date[17];
    char *host, *url;
    lh_sigv4_signed sig;
    struct curl_slist *hdrs;
} s3_signed_call;

static void header_add(struct curl_slist **h, const char *name, const char *value) {
    char *line = lh_asprintf("%s: %s", name, value);
    *h = curl_slist_append(*h, line);
    free(line);
}

/* Signs the call as of now and builds its URL and headers. */
static int call_sign(const s3_bucket *b, const s3_call *c, s3_signed_call *s, lh_err *err) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(s->date, sizeof s->date, "%Y%m%dT%H%M%SZ", &tm);
    char *path;
    s3_target(b, c->key, &s->host, &path);
    const char *sha = c->payload_sha ? c->payload_sha : S3_EMPTY_SHA;
    const lh_sigv4_pair h[] = {{"host", s->host},
                               {"x-amz-content-sha256", sha},
                               {"x-amz-date", s->date},
                               {"x-amz-security-token", b->session_token}};
    lh_sigv4_request r = {.method = c->method, .path = path, .query = c->query, .nquery = c->nquery,
                          .headers = h, .nheaders = b->session_token ? 4 : 3, .payload_sha256 = sha,
                          .amz_date = s->date, .region = b->region, .service = "s3",
                          .access_key = b->access_key, .secret_key = b->secret_key};
    int rc = storage_sigv4_sign(&r, &s->sig, err);
    free(path);
    if (rc != 0) {
        free(s->host);
        return -1;
    }
    s->url = lh_asprintf("%s://%s%s%s%s", b->scheme, s->host, s->sig.canonical_uri,
                         *s->sig.canonical_query ? "?" : "", s->sig.canonical_query);
    s->hdrs = NULL;
    header_add(&s->hdrs, "Host", s->host);
    header_add(&s->hdrs, "x-amz-content-sha256", sha);
    header_add(&s->hdrs, "x-amz-date", s->date);
    if (b->session_token) header_add(&s->hdrs, "x-amz-security-token", b->session_token);
    header_add(&s->hdrs, "Authorization", s->sig.authorization);
    s->hdrs = curl_slist_append(s->hdrs, "Expect:");
    if (c->if_none_match) s->hdrs = curl_slist_append(s->hdrs, "If-None-Match: *");
    if (!strcmp(c->method, "PUT")) s->hdrs = curl_slist_append(s->hdrs, "Content-Type: application/octet-stream");
    return 0;
}

static void signed_call_free(s3_signed_call *s) {
    storage_sigv4_signed_free(&s->sig);
    curl_slist_free_all(s->hdrs);
    free(s->host);
    free(s->url);
}

static void call_setup(CURL *h, s3_call *c, const s3_signed_call *s) {
    curl_easy_setopt(h, CURLOPT_URL, s->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, s->hdrs);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    int64_t body = c->src_fd >= 0 ? c->src_size : (int64_t)c->src_len;
    if (!strcmp(c->method, "PUT")) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, c);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body);
    } else if (!strcmp(c->method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(c->method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, c);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body);
    } else if (strcmp(c->method, "GET")) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
    }
}

/* Turns a non-2xx answer into an lh_err with S3's code and message. */
static int status_error(const s3_bucket *b, const s3_call *c, lh_err *err) {
    if (c->status == 404 && c->key) return lh_err_set(err, LH_E_NOT_FOUND, "object '%s' not found", c->key);
    if (c->if_none_match && (c->status == 412 || c->status == 409))
        return lh_err_set(err, LH_E_CONFLICT, "object '%s' already exists", c->key);
    const char *v = NULL, *m = NULL, *end = c->out->buf ? c->out->buf + c->out->len : NULL;
    size_t vlen = 0, mlen = 0;
    if (end) {
        s3_xml_find(c->out->buf, end, "Code", &v, &vlen);
        s3_xml_find(c->out->buf, end, "Message", &m, &mlen);
    }
    if (!v && c->status == 404) v = "NoSuchBucket", vlen = 12;
    if (!v && c->status == 403) v = "AccessDenied", vlen = 12;
    lh_errcode code = c->status == 404 ? LH_E_NOT_FOUND : c->status >= 500 || c->status == 429 ? LH_E_UNAVAILABLE
                                                                                               : LH_E_BAD_GATEWAY;
    return lh_err_set(err, code, "S3 %s on bucket '%s' answered %ld%s%.*s%s%.*s", c->method, b->bucket, c->status,
                      v ? " " : "", (int)vlen, v ? v : "", m ? ": " : "", (int)mlen, m ? m : "");
}

/* Clears what a previous try left in the call, so the next starts afresh. */
static int call_rewind(s3_call *c, lh_err *err) {
    c->status = 0;
    c->length = 0;
    c->etag[0] = '\0';
    c->src_off = 0;
    c->out_failed = 0;
    sb_reset(c->out);
    if (c->out_fd >= 0 && (ftruncate(c->out_fd, 0) != 0 || lseek(c->out_fd, 0, SEEK_SET) != 0))
        return lh_err_set(err, LH_E_INTERNAL, "S3 GET: resetting the spool file: %s", strerror(errno));
    return 0;
}

/* One signed try; *transient tells whether another try may succeed. */
static int perform_once(s3_bucket *b, s3_call *c, int *transient, lh_err *err) {
    *transient = 0;
    s3_signed_call s = {0};
    if (call_sign(b, c, &s, err) != 0) return -1;
    CURL *h = curl_easy_init();
    if (!h) {
        signed_call_free(&s);
        return lh_err_set(err, LH_E_INTERNAL, "curl_easy_init failed");
    }
    call_setup(h, c, &s);
    CURLcode rc = curl_easy_perform(h);
    int ret = 0;
    if (c->out_failed) {
        ret = lh_err_set(err, LH_E_INTERNAL, "S3 GET: writing the spool file: %s", strerror(c->out_failed));
    } else if (rc != CURLE_OK) {
        *transient = 1;
        if (rc != CURLE_COULDNT_CONNECT && rc != CURLE_COULDNT_RESOLVE_HOST) c->ambiguous = 1;
        ret = lh_err_set(err, LH_E_UNAVAILABLE, "S3 endpoint %s (bucket '%s') unreachable: %s", b->endpoint,
                         b->bucket, curl_easy_strerror(rc));
    } else if (c->status < 200 || c->status >= 300) {
        *transient = c->status >= 500 || c->status == 429;
        if (c->status >= 500) c->ambiguous = 1;
        ret = status_error(b, c, err);
    }
    curl_easy_cleanup(h);
    signed_call_free(&s);
    return ret;
}

/* The delay before try `attempt` + 1: backoff_ms * 2^(attempt-1), +-50%. */
static void backoff_sleep(const s3_bucket *b, int attempt) {
    int64_t mean = (int64_t)b->backoff_ms << (attempt - 1 < 10 ? attempt - 1 : 10);
    if (mean > BACKOFF_CAP_MS) mean = BACKOFF_CAP_MS;
    char hex[5];
    lh_random_hex(hex, 2);
    int64_t jitter = ((int64_t)strtoul(hex, NULL, 16) * mean) / 65536; /* [0, mean) */
    int64_t ms = mean / 2 + jitter;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

int s3_perform(s3_bucket *b, s3_call *c, lh_err *err) {
    lh_strbuf local = {0};
    if (!c->out) c->out = &local;
    int ret = -1, transient = 0;
    for (c->attempts = 1;; c->attempts++) {
        lh_err e = {0};
        ret = call_rewind(c, &e) == 0 ? perform_once(b, c, &transient, &e) : -1;
        if (ret == 0 || !transient || c->attempts >= b->max_attempts) {
            if (ret != 0 && err) *err = e;
            break;
        }
        backoff_sleep(b, c->attempts);
    }
    if (ret != 0 && transient && c->attempts > 1 && err) {
        size_t used = strlen(err->msg);
        snprintf(err->msg + used, sizeof err->msg - used, " (after %d attempts)", c->attempts);
    }
    if (c->out == &local) {
        sb_free(&local);
        c->out = NULL;
    }
    return ret;
}
