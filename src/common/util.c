/*
 * util.c — time, random ids, SHA-256, small file helpers and checked thread
 * start (with its test failure switch) shared by
 * every module. Randomness and hashing come from OpenSSL's libcrypto.
 */
#include "common/util.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/strbuf.h"

int64_t lh_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double lh_mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "YYYY-MM-DDTHH:MM:SS" of secs, then "." and the fraction in digits, "Z". */
static void time_iso_write(time_t secs, long frac, int digits, char *out, size_t cap) {
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%0*ldZ", base, digits, frac);
}

void lh_time_iso(int64_t ms, char out[32]) {
    time_iso_write((time_t)(ms / 1000), (long)(ms % 1000), 3, out, 32);
}

void lh_time_iso_us(int64_t us, char out[40]) {
    time_t secs = (time_t)(us / 1000000);
    long frac = (long)(us % 1000000);
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    time_iso_write(secs, frac, 6, out, 40);
}

int lh_time_parse_iso(const char *s, int64_t *us) {
    struct tm tm = {0};
    int consumed = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                     &tm.tm_min, &tm.tm_sec, &consumed) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t frac = 0, scale = 1000000;
    const char *p = s + consumed;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (scale > 1) frac += (*p - '0') * (scale /= 10);
    if (strcmp(p, "Z") && strcmp(p, "+00:00")) return -1;
    *us = (int64_t)timegm(&tm) * 1000000 + frac;
    return 0;
}

int lh_time_parse(const char *text, int64_t *ms) {
    int y, mo, d, h = 0, mi = 0, n = 0;
    if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return -1;
    const char *p = text + n;
    double sec = 0;
    if (*p == ' ' || *p == 'T') {
        int k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &k) != 2 || k != 5) return -1;
        p += 1 + k;
        if (*p == ':') {
            char *end;
            sec = strtod(p + 1, &end);
            if (end == p + 1 || sec < 0 || sec >= 61) return -1;
            p = end;
        }
    }
    int off = 0;
    if (*p == 'Z') p++;
    else if (*p == '+' || *p == '-') {
        int oh, om, k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5) return -1;
        off = (oh * 60 + om) * (*p == '+' ? 1 : -1);
        p += 1 + k;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59) return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    time_t t = timegm(&tm);
    *ms = (int64_t)t * 1000 + (int64_t)(sec * 1000.0 + 0.5) - (int64_t)off * 60000;
    return 0;
}

static void random_bytes(unsigned char *b, size_t n) {
    if (RAND_bytes(b, (int)n) != 1) {
        /* libcrypto's RNG failing means the OS has no entropy: unrecoverable */
        fputs("lakehouse: RAND_bytes failed\n", stderr);
        abort();
    }
}

void lh_random_hex(char *out, size_t nbytes) {
    static const char hex[] = "0123456789abcdef";
    unsigned char b[64];
    while (nbytes > 0) {
        size_t n = nbytes < sizeof b ? nbytes : sizeof b;
        random_bytes(b, n);
        for (size_t i = 0; i < n; i++) {
            *out++ = hex[b[i] >> 4];
            *out++ = hex[b[i] & 15];
        }
        nbytes -= n;
    }
    *out = '\0';
}

static uint64_t le64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIP_ROUND(v0, v1, v2, v3)                                                                                \
    do {                                                                                                          \
        v0 += v1, v1 = ROTL64(v1, 13), v1 ^= v0, v0 = ROTL64(v0, 32);                                             \
        v2 += v3, v3 = ROTL64(v3, 16), v3 ^= v2;                                                                  \
        v0 += v3, v3 = ROTL64(v3, 21), v3 ^= v0;                                                                  \
        v2 += v1, v1 = ROTL64(v1, 17), v1 ^= v2, v2 = ROTL64(v2, 32);                                             \
    } while (0)

uint64_t lh_siphash24(const unsigned char key[16], const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t k0 = le64(key), k1 = le64(key + 8);
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = le64(p + i);
        v3 ^= m;
        SIP_ROUND(v0, v1, v2, v3);
        SIP_ROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++) b |= (uint64_t)p[full + i] << (8 * i);
    v3 ^= b;
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xff;
    for (int r = 0; r < 4; r++) SIP_ROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

void lh_uuid4(char out[37]) {
    unsigned char b[16];
    random_bytes(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

struct lh_sha256 {
    EVP_MD_CTX *ctx;
};

lh_sha256 *lh_sha256_new(void) {
    lh_sha256 *h = lh_malloc(sizeof *h);
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) abort();
    return h;
}

void lh_sha256_update(lh_sha256 *h, const void *data, size_t len) {
    if (len) EVP_DigestUpdate(h->ctx, data, len);
}

void lh_sha256_final(lh_sha256 *h, char out[65]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, md, &n);
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void lh_sha256_hex(const void *data, size_t len, char out[65]) {
    lh_sha256 *h = lh_sha256_new();
    lh_sha256_update(h, data, len);
    lh_sha256_final(h, out);
}

void lh_strv_free(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

int lh_read_file(const char *path, char **out, size_t *len, lh_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lh_err_set(err, errno == ENOENT ? LH_E_NOT_FOUND : LH_E_INTERNAL, "%s: %s",
                          path, strerror(errno));
    lh_strbuf sb = LH_STRBUF_INIT;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            sb_free(&sb);
            return lh_err_set(err, LH_E_INTERNAL, "read %s: %s", path, strerror(e));
        }
        if (n == 0) break;
        sb_append(&sb, buf, (size_t)n);
    }
    close(fd);
    if (len) *len = sb.len;
    *out = sb_steal(&sb);
    return 0;
}

int lh_mkdirs(const char *path, lh_err *err) {
    char *p = lh_strdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) goto fail;
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST) goto fail;
    free(p);
    return 0;
fail:
    lh_err_set(err, LH_E_INTERNAL, "mkdir %s: %s", p, strerror(errno));
    free(p);
    return -1;
}

int lh_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms) {
    struct timespec ts;
    lh_deadline_after_ms(&ts, ms);
    return pthread_cond_timedwait(cv, mu, &ts);
}

void lh_fsync_dir_of(const char *path) {
    char *p = lh_strdup(path);
    int fd = open(dirname(p), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(p);
}

char *lh_temp_path_beside(const char *path) {
    char rnd[17];
    lh_random_hex(rnd, 8);
    const char *slash = strrchr(path, '/');
    if (!slash) return lh_asprintf(".%s.tmp-%s", path, rnd);
    return lh_asprintf("%.*s/.%s.tmp-%s", (int)(slash - path), path, slash + 1, rnd);
}

int lh_write_file_atomic(const char *path, const void *data, size_t len, lh_err *err) {
    char *tmp = lh_temp_path_beside(path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        lh_err_set(err, LH_E_INTERNAL, "create %s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) goto fail;
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0) goto fail;
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0) goto fail;
    lh_fsync_dir_of(path);
    free(tmp);
    return 0;
fail:
    lh_err_set(err, LH_E_INTERNAL, "write %s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    unlink(tmp);
    free(tmp);
    return -1;
}

void lh_deadline_after_ms(struct timespec *ts, int64_t ms) {
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* ---- threads ------------------------------------------------------------ */

static atomic_int thread_failures; /* test switch: creations left to fail */

void lh_thread_fail_next(int n) { atomic_store(&thread_failures, n > 0 ? n : 0); }

int lh_thread_start(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg,
                    const char *what, lh_err *err) {
    int left = atomic_load(&thread_failures);
    while (left > 0 && !atomic_compare_exchange_weak(&thread_failures, &left, left - 1)) {
    }
    int rc = left > 0 ? EAGAIN : pthread_create(t, attr, fn, arg);
    if (rc == 0) return 0;
    return lh_err_set(err, LH_E_INTERNAL, "cannot start the %s thread: %s", what, strerror(rc));
}

void lh_thread_stop(pthread_t t, pthread_mutex_t *mu, pthread_cond_t *cv, int *stop) {
    pthread_mutex_lock(mu);
    *stop = 1;
    if (cv) pthread_cond_broadcast(cv);
    pthread_mutex_unlock(mu);
    pthread_join(t, NULL);
}

int lh_hex_digit(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *lh_pct_decode(const char *s, size_t n) {
    char *out = lh_malloc(n + 1), *w = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            *w++ = s[i];
            continue;
        }
        if (i + 2 >= n || lh_hex_digit(s[i + 1]) < 0 || lh_hex_digit(s[i + 2]) < 0) goto bad;
        int v = lh_hex_digit(s[i + 1]) * 16 + lh_hex_digit(s[i + 2]);
        if (v == 0) goto bad;
        *w++ = (char)v;
        i += 2;
    }
    *w = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

int lh_utf8_lead(lh_utf8 *u, unsigned char c) {
    u->lo = 0x80;
    u->hi = 0xBF;
    u->need = 0;
    if (c >= 0xC2 && c <= 0xDF) u->need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        u->need = 2;
        if (c == 0xE0) u->lo = 0xA0;
        if (c == 0xED) u->hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        u->need = 3;
        if (c == 0xF0) u->lo = 0x90;
        if (c == 0xF4) u->hi = 0x8F;
    } else {
        return -1;
    }
    return 0;
}

int lh_utf8_next(lh_utf8 *u, unsigned char c) {
    assert(u->need > 0);
    if (c < u->lo || c > u->hi) {
        u->need = 0;
        return -1;
    }
    u->need--;
    u->lo = 0x80;
    u->hi = 0xBF;
    return 0;
}
