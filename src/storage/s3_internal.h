/*
 * s3_internal.h — what the S3 backend's files share: the bucket state
 * (s3.c: operations and multipart uploads) and one signed request with
 * retries (s3_http.c: libcurl transport, XML answers).
 */
#ifndef LH_STORAGE_S3_INTERNAL_H
#define LH_STORAGE_S3_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "storage/storage.h"

#define S3_EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct {
    char *endpoint;      /* no trailing '/' */
    char *scheme;        /* "http" | "https" */
    char *authority;     /* the endpoint's host[:port] */
    char *host;          /* the Host header we sign and send (virtual: "<bucket>.<authority>") */
    char *base;          /* the endpoint's path ("" or "/prefix") */
    char *bucket;
    char *prefix;        /* keys live under "<prefix>/"; "" for the whole bucket */
    char *region;
    char *access_key;
    char *secret_key;    /* never logged */
    char *session_token; /* NULL: none; else sent and signed as x-amz-security-token */
    int virtual_hosted;  /* 1: <bucket>.<host>/<key>; 0: <host>/<bucket>/<key> */
    int max_attempts;    /* tries per request (transient failures only) */
    int backoff_ms;      /* first retry's mean delay; doubles per attempt */
    int64_t multipart_threshold, part_size;
} s3_bucket;

/* One request: what to send and where the answer goes. */
typedef struct {
    const char *method;          /* GET PUT HEAD DELETE POST */
    const char *key;             /* object key as the caller knows it (no prefix); NULL: the bucket */
    const lh_sigv4_pair *query;  /* raw names and values */
    size_t nquery;
    const char *payload_sha;
    int if_none_match;
    const char *src;             /* body from memory ... */
    size_t src_len, src_off;
    int src_fd;                  /* ... or from a file (>= 0), src_size bytes at src_base */
    int64_t src_base, src_size;
    lh_strbuf *out;              /* answer body to memory ... */
    int out_fd;                  /* ... or to a file (>= 0) */
    int out_failed;
    long status;
    int64_t length;              /* Content-Length of the answer */
    char etag[80];               /* the answer's ETag, quotes removed */
    int attempts;                /* how many tries were made */
    int ambiguous;               /* an earlier try may have reached the server (timeout, 5xx) */
} s3_call;

static inline s3_call s3_call_new(const char *method, const char *key) {
    return (s3_call){.method = method, .key = key, .src_fd = -1, .out_fd = -1};
}

/* Runs one request, retried with exponential backoff and jitter on
 * connection errors, timeouts, 5xx and 429 (never on other 4xx); 0 on a
 * 2xx answer. Errors: unreachable -> LH_E_UNAVAILABLE, 404 ->
 * LH_E_NOT_FOUND, 412/409 on a conditional PUT -> LH_E_CONFLICT, others ->
 * LH_E_BAD_GATEWAY (4xx) or LH_E_UNAVAILABLE (5xx) naming S3's <Code>. */
int s3_perform(s3_bucket *b, s3_call *c, lh_err *err);
/* The Host header and raw (unencoded) request path of key (NULL: the
 * bucket) for b's addressing style; caller frees both. */
void s3_target(const s3_bucket *b, const char *key, char **host, char **path);

/* Finds <tag>value</tag> within [p, end); sets *v, *vlen; returns the byte
 * after the closing tag or NULL. */
const char *s3_xml_find(const char *p, const char *end, const char *tag, const char **v, size_t *vlen);
/* Copies an XML text value, decoding the five predefined entities. */
char *s3_xml_text(const char *v, size_t n);

/* One PUT (c: method, key, query set) of size bytes of fd from offset off,
 * signed over their SHA-256. */
int s3_put_range(s3_bucket *b, s3_call *c, int fd, int64_t off, int64_t size, lh_err *err);

/* Multipart upload of size bytes of fd (s3_multipart.c); AbortMultipartUpload
 * on any failure, so no part is left behind by this process. */
int s3_put_multipart(s3_bucket *b, const char *key, int fd, int64_t size, lh_err *err);

#endif
