/*
 * err.h — errors carried with a code and a message (SQLite style).
 *
 * Every fallible function takes an `lh_err *err` (may be NULL) and returns
 * a status: 0 / non-NULL on success, -1 / NULL on failure with err filled.
 * The code maps 1:1 to an HTTP status and to the API's error "code" string,
 * so handlers only translate: see lh_err_http_status() / lh_err_code_name().
 */
#ifndef LH_COMMON_ERR_H
#define LH_COMMON_ERR_H

#include <stdarg.h>

typedef enum {
    LH_OK = 0,
    LH_E_BAD_REQUEST,   /* 400 bad_request */
    LH_E_UNAUTHORIZED,  /* 401 unauthorized */
    LH_E_FORBIDDEN,     /* 403 forbidden */
    LH_E_NOT_FOUND,     /* 404 not_found */
    LH_E_TIMEOUT,       /* 408 timeout */
    LH_E_CONFLICT,      /* 409 conflict */
    LH_E_TOO_LARGE,     /* 413 payload_too_large */
    LH_E_UNPROCESSABLE, /* 422 unprocessable */
    LH_E_INTERNAL,      /* 500 internal */
    LH_E_BAD_GATEWAY,   /* 502 bad_gateway */
    LH_E_UNAVAILABLE,   /* 503 unavailable */
    LH_E_RATE_LIMITED,  /* 429 too_many_requests */
    LH_E__COUNT
} lh_errcode;

typedef struct lh_err {
    lh_errcode code;
    char msg[512];
    char hint[256];
} lh_err;

/* Sets code and printf-style message; no-op when err is NULL. Returns -1. */
int lh_err_set(lh_err *err, lh_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets the optional hint shown to API users. */
void lh_err_hint(lh_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefixes the existing message with context: "ctx: old message". */
void lh_err_prefix(lh_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void lh_err_clear(lh_err *err);
int lh_err_http_status(lh_errcode code);
const char *lh_err_code_name(lh_errcode code);

#endif
