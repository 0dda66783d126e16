/*
 * sigv4.c — AWS Signature Version 4 request signing, our own (ADR 0165).
 *
 * Builds the canonical request (method, URI-encoded path, sorted encoded
 * query, lower-cased trimmed sorted headers with duplicates joined by ',',
 * signed-header list, payload digest), the string to sign (algorithm, date,
 * scope, digest of the canonical request), derives the signing key by
 * HMAC-SHA256 chaining (secret -> date -> region -> service -> aws4_request)
 * and signs. Every intermediate is returned so tests can check each step
 * against AWS's published test suite (tests/unit/test_sigv4.c).
 *
 * Paths are encoded once and never normalised, as S3 wants: s3.c puts the
 * same encoded path and query in the URL it sends, so what the server
 * recomputes is exactly what was signed.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "storage/storage.h"

#define SIGV4_EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

void storage_uri_encode(lh_strbuf *sb, const char *s, int keep_slash) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
            sb_putc(sb, (char)c);
        else
            sb_printf(sb, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
}

/* ---- query -------------------------------------------------------------- */

typedef struct {
    char *name, *value; /* encoded, owned */
} enc_pair;

static int enc_pair_cmp(const void *a, const void *b) {
    const enc_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *encode(const char *s) {
    lh_strbuf sb = LH_STRBUF_INIT;
    storage_uri_encode(&sb, s ? s : "", 0);
    return sb_steal(&sb);
}

/* "a=1&b=2": each name and value encoded, sorted by name then value. */
static char *canonical_query(const lh_sigv4_pair *q, size_t n) {
    enc_pair *e = lh_calloc(n ? n : 1, sizeof *e);
    for (size_t i = 0; i < n; i++) e[i] = (enc_pair){encode(q[i].name), encode(q[i].value)};
    qsort(e, n, sizeof *e, enc_pair_cmp);
    lh_strbuf sb = LH_STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        sb_printf(&sb, "%s%s=%s", i ? "&" : "", e[i].name, e[i].value);
        free(e[i].name);
        free(e[i].value);
    }
    free(e);
    return sb_steal(&sb);
}

/* ---- headers ------------------------------------------------------------ */

typedef struct {
    char *name;   /* lower-cased, owned */
    const char *value;
    size_t order; /* position in the request: keeps duplicates in order */
} hdr;

static int hdr_cmp(const void *a, const void *b) {
    const hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* Appends value trimmed, with runs of spaces folded to one. */
static void put_trimmed(lh_strbuf *sb, const char *v) {
    while (*v == ' ' || *v == '\t') v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
    for (size_t i = 0; i < n; i++) {
        int space = v[i] == ' ' || v[i] == '\t';
        if (space && i > 0 && (v[i - 1] == ' ' || v[i - 1] == '\t')) continue;
        sb_putc(sb, space ? ' ' : v[i]);
    }
}

static int header_check(const lh_sigv4_pair *h, lh_err *err) {
    if (!h->name || !*h->name || !h->value)
        return lh_err_set(err, LH_E_BAD_REQUEST, "SigV4: a header needs a name and a value");
    for (const char *p = h->name; *p; p++)
        if (*p <= ' ' || *p == ':' || *p == 0x7f)
            return lh_err_set(err, LH_E_BAD_REQUEST, "SigV4: header name '%s' is not a token", h->name);
    if (strpbrk(h->value, "\r\n"))
        return lh_err_set(err, LH_E_BAD_REQUEST, "SigV4: header '%s' has a line break in its value", h->name);
    return 0;
}

/* Writes the canonical headers block into ch and the list into *signed_out. */
static int canonical_headers(const lh_sigv4_pair *h, size_t n, lh_strbuf *ch, lh_strbuf *sh, lh_err *err) {
    for (size_t i = 0; i < n; i++)
        if (header_check(&h[i], err) != 0) return -1;
    hdr *v = lh_calloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        v[i] = (hdr){lh_strdup(h[i].name), h[i].value, i};
        for (char *p = v[i].name; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    }
    qsort(v, n, sizeof *v, hdr_cmp);
    for (size_t i = 0; i < n; i++) {
        int dup = i > 0 && !strcmp(v[i].name, v[i - 1].name);
        if (dup) {
            sb_putc(ch, ',');
        } else {
            if (i) sb_putc(ch, '\n');
            sb_printf(ch, "%s:", v[i].name);
            sb_printf(sh, "%s%s", sh->len ? ";" : "", v[i].name);
        }
        put_trimmed(ch, v[i].value);
    }
    if (n) sb_putc(ch, '\n');
    for (size_t i = 0; i < n; i++) free(v[i].name);
    free(v);
    return 0;
}

/* ---- signing ------------------------------------------------------------ */

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32]) {
    unsigned int olen = 32;
    if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &olen)) abort();
}

static int request_check(const lh_sigv4_request *r, lh_err *err) {
    if (!r->method || !*r->method || !r->path || r->path[0] != '/')
        return lh_err_set(err, LH_E_BAD_REQUEST, "SigV4: a method and an absolute path are required");
    if (!r->region || !*r->region || !r->service || !*r->service || !r->access_key || !*r->access_key ||
        !r->secret_key || !*r->secret_key)
        return lh_err_set(err, LH_E_BAD_REQUEST, "SigV4: region, service and both keys are required");
    const char *d = r->amz_date;
    int ok = d && strlen(d) == 16 && d[8] == 'T' && d[15] == 'Z';
    for (int i = 0; ok && i < 15; i++) ok = i == 8 || (d[i] >= '0' && d[i] <= '9');
    if (!ok) return lh_err_set(err, LH_E_BAD_REQUEST, "SigV4: amz_date must look like 20150830T123600Z");
    const char *sha = r->payload_sha256;
    if (sha && strlen(sha) != 64 && strcmp(sha, "UNSIGNED-PAYLOAD"))
        return lh_err_set(err, LH_E_BAD_REQUEST, "SigV4: the payload digest must be 64 hex digits");
    return 0;
}

int storage_sigv4_sign(const lh_sigv4_request *r, lh_sigv4_signed *out, lh_err *err) {
    memset(out, 0, sizeof *out);
    if (request_check(r, err) != 0) return -1;
    lh_strbuf ch = LH_STRBUF_INIT, sh = LH_STRBUF_INIT, sb = LH_STRBUF_INIT;
    if (canonical_headers(r->headers, r->nheaders, &ch, &sh, err) != 0) {
        sb_free(&ch);
        sb_free(&sh);
        return -1;
    }
    storage_uri_encode(&sb, r->path, 1);
    out->canonical_uri = sb_steal(&sb);
    out->canonical_query = canonical_query(r->query, r->nquery);
    sb_printf(&sb, "%s\n%s\n%s\n%s\n%s\n%s", r->method, out->canonical_uri, out->canonical_query,
              ch.buf ? ch.buf : "", sh.buf ? sh.buf : "", r->payload_sha256 ? r->payload_sha256 : SIGV4_EMPTY_SHA);
    out->canonical_request = sb_steal(&sb);

    char date[9], creq_sha[65];
    memcpy(date, r->amz_date, 8);
    date[8] = '\0';
    lh_sha256_hex(out->canonical_request, strlen(out->canonical_request), creq_sha);
    char *scope = lh_asprintf("%s/%s/%s/aws4_request", date, r->region, r->service);
    out->string_to_sign = lh_asprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", r->amz_date, scope, creq_sha);

    char *k0 = lh_asprintf("AWS4%s", r->secret_key);
    unsigned char kd[32], kr[32], ks[32], kx[32], sig[32];
    hmac(k0, strlen(k0), date, kd);
    hmac(kd, 32, r->region, kr);
    hmac(kr, 32, r->service, ks);
    hmac(ks, 32, "aws4_request", kx);
    hmac(kx, 32, out->string_to_sign, sig);
    for (int i = 0; i < 32; i++) snprintf(out->signature + 2 * i, 3, "%02x", sig[i]);
    out->authorization = lh_asprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                                     r->access_key, scope, sh.buf ? sh.buf : "", out->signature);
    explicit_bzero(k0, strlen(k0));
    explicit_bzero(kd, sizeof kd);
    explicit_bzero(kr, sizeof kr);
    explicit_bzero(ks, sizeof ks);
    explicit_bzero(kx, sizeof kx);
    free(k0);
    free(scope);
    sb_free(&ch);
    sb_free(&sh);
    return 0;
}

void storage_sigv4_signed_free(lh_sigv4_signed *s) {
    if (!s) return;
    free(s->canonical_uri);
    free(s->canonical_query);
    free(s->canonical_request);
    free(s->string_to_sign);
    free(s->authorization);
    memset(s, 0, sizeof *s);
}
