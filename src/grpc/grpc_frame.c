/*
 * grpc_frame.c — gRPC's length-prefixed message framing (a reader that
 * takes bytes in any split and yields whole messages, and the encoder),
 * the lh_err → gRPC status mapping, and grpc-message percent-encoding.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "grpc/grpc.h"

#define PREFIX 5

int grpc_status_of(lh_errcode code) {
    switch (code) {
    case LH_OK: return GRPC_OK;
    case LH_E_BAD_REQUEST:
    case LH_E_UNPROCESSABLE: return GRPC_INVALID_ARGUMENT;
    case LH_E_UNAUTHORIZED: return GRPC_UNAUTHENTICATED;
    case LH_E_FORBIDDEN: return GRPC_PERMISSION_DENIED;
    case LH_E_NOT_FOUND: return GRPC_NOT_FOUND;
    case LH_E_TIMEOUT: return GRPC_DEADLINE_EXCEEDED;
    case LH_E_CONFLICT: return GRPC_ALREADY_EXISTS;
    case LH_E_TOO_LARGE:
    case LH_E_RATE_LIMITED: return GRPC_RESOURCE_EXHAUSTED;
    case LH_E_BAD_GATEWAY:
    case LH_E_UNAVAILABLE: return GRPC_UNAVAILABLE;
    default: return GRPC_INTERNAL;
    }
}

char *grpc_message_encode(const char *msg) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "");
    for (const unsigned char *p = (const unsigned char *)(msg ? msg : ""); *p; p++) {
        if (*p >= 0x20 && *p <= 0x7e && *p != '%') sb_putc(&sb, (char)*p);
        else sb_printf(&sb, "%%%02X", *p);
    }
    return sb_steal(&sb);
}

char *grpc_message_decode(const char *enc, size_t len) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "");
    for (size_t i = 0; i < len; i++) {
        if (enc[i] == '%' && i + 2 < len && lh_hex_digit(enc[i + 1]) >= 0 && lh_hex_digit(enc[i + 2]) >= 0) {
            sb_putc(&sb, (char)(lh_hex_digit(enc[i + 1]) * 16 + lh_hex_digit(enc[i + 2])));
            i += 2;
        } else {
            sb_putc(&sb, enc[i]);
        }
    }
    return sb_steal(&sb);
}

/* ---- reader ----------------------------------------------------------------- */

void grpc_reader_init(grpc_reader *r, size_t max_message) {
    memset(r, 0, sizeof *r);
    r->max_message = max_message ? max_message : GRPC_MAX_MESSAGE;
}

void grpc_reader_free(grpc_reader *r) {
    free(r->buf);
    memset(r, 0, sizeof *r);
}

void grpc_reader_feed(grpc_reader *r, const void *data, size_t len) {
    if (!len) return;
    if (r->len + len > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < r->len + len) cap *= 2;
        r->buf = lh_realloc(r->buf, cap);
        r->cap = cap;
    }
    memcpy(r->buf + r->len, data, len);
    r->len += len;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int grpc_reader_next(grpc_reader *r, uint8_t **msg, size_t *len, lh_err *err) {
    assert(msg && len);
    if (r->len < PREFIX) return 0;
    if (r->buf[0] != 0)
        return lh_err_set(err, LH_E_BAD_REQUEST, "gRPC frame flag %u: compressed messages are not supported",
                          r->buf[0]);
    uint32_t n = be32(r->buf + 1);
    if (n > r->max_message)
        return lh_err_set(err, LH_E_TOO_LARGE, "message of %u bytes is over the %zu-byte limit", n, r->max_message);
    if (r->len - PREFIX < n) return 0;
    *msg = lh_malloc(n ? n : 1);
    memcpy(*msg, r->buf + PREFIX, n);
    *len = n;
    memmove(r->buf, r->buf + PREFIX + n, r->len - PREFIX - n);
    r->len -= PREFIX + n;
    return 1;
}

int grpc_reader_partial(const grpc_reader *r) { return r->len > 0; }

uint8_t *grpc_frame_encode(const void *body, size_t len, size_t *out_len) {
    assert(len <= UINT32_MAX);
    uint8_t *out = lh_malloc(PREFIX + len);
    out[0] = 0;
    out[1] = (uint8_t)(len >> 24);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
    if (len) memcpy(out + PREFIX, body, len);
    *out_len = PREFIX + len;
    return out;
}
