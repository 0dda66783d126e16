/*
 * s3_multipart.c — large objects go up in parts (ADR 0232).
 *
 * CreateMultipartUpload (POST ?uploads), one UploadPart per part_size bytes
 * of the spooled file (PUT ?partNumber=N&uploadId=U, each retried on its
 * own by s3_perform), then CompleteMultipartUpload (POST ?uploadId=U with
 * the parts' ETags). The object appears only at the complete, whole; any
 * failure before that sends AbortMultipartUpload so the store drops the
 * parts. A process killed mid-upload leaves an incomplete upload that the
 * store's lifecycle rule (AbortIncompleteMultipartUpload) or a vacuum
 * removes; it is never visible as an object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "storage/s3_internal.h"

/* CreateMultipartUpload: the upload id (caller frees), or NULL. */
static char *mp_create(s3_bucket *b, const char *key, lh_err *err) {
    lh_strbuf body = {0};
    lh_sigv4_pair q[] = {{"uploads", ""}};
    s3_call c = s3_call_new("POST", key);
    c.query = q;
    c.nquery = 1;
    c.out = &body;
    char *id = NULL;
    const char *v;
    size_t vlen;
    if (s3_perform(b, &c, err) == 0) {
        if (body.buf && s3_xml_find(body.buf, body.buf + body.len, "UploadId", &v, &vlen))
            id = s3_xml_text(v, vlen);
        else
            lh_err_set(err, LH_E_BAD_GATEWAY, "S3 CreateMultipartUpload on bucket '%s' gave no UploadId", b->bucket);
    }
    sb_free(&body);
    return id;
}

static void mp_abort(s3_bucket *b, const char *key, const char *id) {
    lh_sigv4_pair q[] = {{"uploadId", id}};
    s3_call c = s3_call_new("DELETE", key);
    c.query = q;
    c.nquery = 1;
    lh_err e = {0};
    if (s3_perform(b, &c, &e) != 0)
        LOG_WARN("S3 bucket '%s': AbortMultipartUpload failed (%s); the store's lifecycle rule must drop it",
                 b->bucket, e.msg);
}

/* UploadPart n of the file; appends its <Part> to the completion document. */
static int mp_part(s3_bucket *b, const char *key, const char *id, int n, int fd, int64_t off, int64_t size,
                   lh_strbuf *doc, lh_err *err) {
    char num[16];
    snprintf(num, sizeof num, "%d", n);
    lh_sigv4_pair q[] = {{"partNumber", num}, {"uploadId", id}};
    s3_call c = s3_call_new("PUT", key);
    c.query = q;
    c.nquery = 2;
    if (s3_put_range(b, &c, fd, off, size, err) != 0) return -1;
    if (!c.etag[0])
        return lh_err_set(err, LH_E_BAD_GATEWAY, "S3 UploadPart %d on bucket '%s' gave no ETag", n, b->bucket);
    sb_printf(doc, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>", n, c.etag);
    return 0;
}

/* CompleteMultipartUpload; S3 may answer 200 with an <Error> document. */
static int mp_complete(s3_bucket *b, const char *key, const char *id, const lh_strbuf *doc, lh_err *err) {
    lh_strbuf body = {0};
    char sha[65];
    lh_sha256_hex(doc->buf, doc->len, sha);
    lh_sigv4_pair q[] = {{"uploadId", id}};
    s3_call c = s3_call_new("POST", key);
    c.query = q;
    c.nquery = 1;
    c.src = doc->buf;
    c.src_len = doc->len;
    c.payload_sha = sha;
    c.out = &body;
    int rc = s3_perform(b, &c, err);
    const char *v;
    size_t vlen;
    if (rc == 0 && body.buf && memmem(body.buf, body.len, "<Error>", 7)) {
        if (!s3_xml_find(body.buf, body.buf + body.len, "Code", &v, &vlen)) {
            v = "";
            vlen = 0;
        }
        rc = lh_err_set(err, LH_E_UNAVAILABLE, "S3 CompleteMultipartUpload on bucket '%s' failed: %.*s", b->bucket,
                        (int)vlen, v);
    }
    sb_free(&body);
    return rc;
}

int s3_put_multipart(s3_bucket *b, const char *key, int fd, int64_t size, lh_err *err) {
    char *id = mp_create(b, key, err);
    if (!id) return -1;
    lh_strbuf doc = LH_STRBUF_INIT;
    sb_puts(&doc, "<CompleteMultipartUpload>");
    int rc = 0, n = 1;
    for (int64_t off = 0; off < size && rc == 0; off += b->part_size, n++) {
        int64_t len = size - off < b->part_size ? size - off : b->part_size;
        rc = mp_part(b, key, id, n, fd, off, len, &doc, err);
    }
    sb_puts(&doc, "</CompleteMultipartUpload>");
    if (rc == 0) rc = mp_complete(b, key, id, &doc, err);
    if (rc != 0) mp_abort(b, key, id);
    sb_free(&doc);
    free(id);
    return rc;
}
