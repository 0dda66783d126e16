/*
 * err.c — the error carrier: code + message + hint, and the code tables
 * that map each code to its HTTP status and API name.
 */
#include "common/err.h"

#include <stdio.h>
#include <string.h>

static const struct {
    int status;
    const char *name;
} err_table[LH_E__COUNT] = {
    [LH_OK] = {200, "ok"},
    [LH_E_BAD_REQUEST] = {400, "bad_request"},
    [LH_E_UNAUTHORIZED] = {401, "unauthorized"},
    [LH_E_FORBIDDEN] = {403, "forbidden"},
    [LH_E_NOT_FOUND] = {404, "not_found"},
    [LH_E_TIMEOUT] = {408, "timeout"},
    [LH_E_CONFLICT] = {409, "conflict"},
    [LH_E_TOO_LARGE] = {413, "payload_too_large"},
    [LH_E_UNPROCESSABLE] = {422, "unprocessable"},
    [LH_E_INTERNAL] = {500, "internal"},
    [LH_E_BAD_GATEWAY] = {502, "bad_gateway"},
    [LH_E_UNAVAILABLE] = {503, "unavailable"},
    [LH_E_RATE_LIMITED] = {429, "too_many_requests"},
};

int lh_err_set(lh_err *err, lh_errcode code, const char *fmt, ...) {
    if (!err) return -1;
    err->code = code;
    err->hint[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

void lh_err_hint(lh_err *err, const char *fmt, ...) {
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->hint, sizeof err->hint, fmt, ap);
    va_end(ap);
}

void lh_err_prefix(lh_err *err, const char *fmt, ...) {
    if (!err) return;
    char pre[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(pre);
    if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
    memcpy(err->msg, pre, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof err->msg - n - 3;
    size_t olen = strnlen(old, rest);
    memcpy(err->msg + n + 2, old, olen);
    err->msg[n + 2 + olen] = '\0';
}

void lh_err_clear(lh_err *err) {
    if (!err) return;
    err->code = LH_OK;
    err->msg[0] = err->hint[0] = '\0';
}

int lh_err_http_status(lh_errcode code) {
    if ((int)code < 0 || code >= LH_E__COUNT) return 500;
    return err_table[code].status;
}

const char *lh_err_code_name(lh_errcode code) {
    if ((int)code < 0 || code >= LH_E__COUNT) return "internal";
    return err_table[code].name;
}
