/*
 * multipart.h — a streaming multipart/form-data parser (RFC 7578 / 2046).
 *
 * Bytes are fed in pieces of any size as they arrive; part contents are
 * handed to callbacks as they are found and never buffered whole (only the
 * part headers, up to 16 KiB, and a boundary's worth of look-ahead). A
 * boundary split across two feeds is recognised. Lines end in CRLF, as
 * the RFC requires. Errors say at which byte of the body they happened.
 */
#ifndef LH_INGEST_MULTIPART_H
#define LH_INGEST_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct lh_multipart lh_multipart;

/* Callbacks return 0 to go on, -1 with err set to stop the parse. Strings
 * are borrowed for the call; filename/content_type may be NULL. */
typedef struct {
    int (*part_begin)(void *ctx, const char *name, const char *filename, const char *content_type,
                      lh_err *err);
    int (*part_data)(void *ctx, const char *data, size_t len, lh_err *err);
    int (*part_end)(void *ctx, lh_err *err);
} lh_multipart_cb;

/* content_type is the request's Content-Type header ("multipart/form-data;
 * boundary=..."); LH_E_BAD_REQUEST when it is not one or has no boundary.
 * cb and ctx are borrowed for the parser's life. */
lh_multipart *multipart_new(const char *content_type, const lh_multipart_cb *cb, void *ctx,
                            lh_err *err);
/* 0, or -1 with err (malformed body, or a callback's error). After an error
 * every further call fails the same way. */
int multipart_feed(lh_multipart *m, const char *data, size_t len, lh_err *err);
/* Call at the end of the body: -1 with LH_E_BAD_REQUEST when the closing
 * boundary never came (a body cut short), naming the byte and the part. */
int multipart_finish(lh_multipart *m, lh_err *err);
void multipart_free(lh_multipart *m);

#endif
