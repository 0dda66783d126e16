/*
 * util.h — small shared helpers: time, ids, hashing, files.
 */
#ifndef LH_COMMON_UTIL_H
#define LH_COMMON_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

int64_t lh_now_ms(void);          /* wall clock, ms since epoch */
double lh_mono_s(void);           /* monotonic seconds */
/* Formats ms-since-epoch as RFC 3339 UTC ("2026-11-24T10:00:00.123Z"). */
void lh_time_iso(int64_t ms, char out[32]);
/* Formats us-since-epoch as RFC 3339 UTC ("2026-11-24T10:00:00.123456Z"). */
void lh_time_iso_us(int64_t us, char out[40]);
/* Parses an RFC 3339 UTC time, "YYYY-MM-DDTHH:MM:SS[.fraction]" then "Z" or
 * "+00:00" (what lh_time_iso writes and S3 listings send), into *us since
 * the epoch: 0, or -1 when s is NULL or not such a time. */
int lh_time_parse_iso(const char *s, int64_t *us);
/* Parses "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS[.fff]]" (or 'T') with an
 * optional "Z" or "+HH:MM"/"-HH:MM" (none = UTC) into ms since epoch;
 * -1 when the text is not such a time. */
int lh_time_parse(const char *text, int64_t *ms);
/* The value of hex digit c (0-9, a-f, A-F), or -1. */
int lh_hex_digit(int c);
/* Percent-decodes s[0..n) (each %XX, nothing else) into a new string
 * owned by the caller; NULL on a bad or cut escape or an encoded NUL. */
char *lh_pct_decode(const char *s, size_t n);
/* Incremental UTF-8 validation, one byte at a time (zero-initialised):
 * a byte >= 0x80 with need 0 goes to lh_utf8_lead, a byte while need > 0
 * to lh_utf8_next. Overlong forms, surrogates and code points past
 * U+10FFFF are refused. */
typedef struct {
    int need;              /* continuation bytes still due */
    unsigned char lo, hi;  /* the range the next one must be in */
} lh_utf8;
/* 0 when c starts a sequence (need set), -1 when none starts with c. */
int lh_utf8_lead(lh_utf8 *u, unsigned char c);
/* 0 when c continues the sequence, -1 (need cleared) when it does not. */
int lh_utf8_next(lh_utf8 *u, unsigned char c);
/* Random UUID v4 in canonical form (36 chars + NUL), from OpenSSL's RNG. */
void lh_uuid4(char out[37]);
/* Random lowercase hex of n bytes (2n chars + NUL). */
void lh_random_hex(char *out, size_t nbytes);
/* SipHash-2-4 (Aumasson & Bernstein): a keyed 64-bit PRF, fast on short
 * inputs; key is 16 bytes, taken little-endian as the reference does. */
uint64_t lh_siphash24(const unsigned char key[16], const void *data, size_t len);
/* SHA-256 of a buffer as lowercase hex. */
void lh_sha256_hex(const void *data, size_t len, char out[65]);

/* Incremental SHA-256 (wraps OpenSSL EVP). */
typedef struct lh_sha256 lh_sha256;
lh_sha256 *lh_sha256_new(void);
void lh_sha256_update(lh_sha256 *h, const void *data, size_t len);
/* Writes hex digest and frees h. */
void lh_sha256_final(lh_sha256 *h, char out[65]);

/* Frees the n strings of v, then v (NULL with n 0 is fine). */
void lh_strv_free(char **v, size_t n);

/* Reads a whole file (small files only); caller frees *out. */
int lh_read_file(const char *path, char **out, size_t *len, lh_err *err);
/* mkdir -p */
int lh_mkdirs(const char *path, lh_err *err);
/* A fresh temp name beside path, "<dir>/.<base>.tmp-<16 hex>" (or
 * ".<path>.tmp-<16 hex>" when path has no folder): the shape listings hide
 * and storage_cleanup_temp removes after a crash. Owned by the caller. */
char *lh_temp_path_beside(const char *path);
/* Writes data to path atomically: temp file beside it, fsync, rename, fsync dir. */
int lh_write_file_atomic(const char *path, const void *data, size_t len, lh_err *err);
/* *ts = the wall-clock time ms milliseconds from now, for pthread_cond_timedwait. */
struct timespec;
void lh_deadline_after_ms(struct timespec *ts, int64_t ms);

/* Waits on cv (mu held) until signalled or ms milliseconds have passed;
 * pthread_cond_timedwait's answer (ETIMEDOUT when the time ran out). */
int lh_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms);
/* fsyncs the directory holding path (after a rename or link). */
void lh_fsync_dir_of(const char *path);

/* Starts fn(arg) on a new thread (attr may be NULL): 0, or -1 with
 * LH_E_INTERNAL "cannot start the <what> thread: <reason>" and *t untouched.
 * Every thread in src/ starts here, so a failure is always an error the
 * caller sees, and tests can make creation fail (lh_thread_fail_next). */
int lh_thread_start(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg,
                    const char *what, lh_err *err);
/* Stops thread t, which runs until *stop is set under mu (waiting on cv,
 * which may be NULL, in between): sets *stop, wakes it, joins it. */
void lh_thread_stop(pthread_t t, pthread_mutex_t *mu, pthread_cond_t *cv, int *stop);
/* Tests only: the next n lh_thread_start calls fail with EAGAIN. */
void lh_thread_fail_next(int n);

#endif
