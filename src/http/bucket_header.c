/*
 * bucket_header.c — the X-Lakehouse-Bucket header on ingest endpoints
 * (seed "X-Lakehouse-Bucket header middleware", ADR 0153, 0237). Checked by
 * the server after auth, before the handler (or an upload) starts, for every
 * POST under /ingest/ and POST /catalog/datasets[/by-name/{name}/append]:
 *   absent or "primary"      the request goes on; the response names the
 *                            bucket in X-Lakehouse-Bucket;
 *   another known bucket     POST /ingest/file, POST /catalog/datasets and
 *                            its append go on (the handler hands the bucket
 *                            to the ingest or catalog call, which refuses a
 *                            store that cannot hold datasets); the other
 *                            ingest routes answer 422;
 *   an unknown bucket        404 naming GET /storage/buckets.
 */
#include <string.h>

#include "http/internal.h"

#define BUCKET_HEADER "X-Lakehouse-Bucket"

/* 1 when the route picks the bucket of what it writes from the header. */
static int route_picks_bucket(const lh_req *req) {
    const char *p = req->route_pattern ? req->route_pattern : "";
    return !strcmp(p, "/ingest/file") || !strcmp(p, "/catalog/datasets") ||
           !strcmp(p, "/catalog/datasets/by-name/{name}/append");
}

const char *http_req_bucket(lh_req *req) {
    const char *b = req_header(req, BUCKET_HEADER);
    return b && *b ? b : NULL;
}

/* 1 when the route writes datasets. */
static int route_ingests(const lh_req *req) {
    const char *p = req->route_pattern ? req->route_pattern : "";
    if (strcmp(req->method, "POST")) return 0;
    return !strncmp(p, "/ingest/", 8) || !strcmp(p, "/catalog/datasets") ||
           !strcmp(p, "/catalog/datasets/by-name/{name}/append");
}

int http_bucket_header_check(lh_app *app, lh_req *req, lh_resp *resp) {
    if (!route_ingests(req)) return 0;
    const char *b = req_header(req, BUCKET_HEADER);
    if (!b || !*b || !strcmp(b, "primary")) {
        resp_header(resp, BUCKET_HEADER, "primary");
        return 0;
    }
    if (!app->buckets || !buckets_get(app->buckets, b)) {
        resp_errorf(resp, LH_E_NOT_FOUND, "GET /storage/buckets lists the buckets", "no bucket named '%s'", b);
        return -1;
    }
    if (route_picks_bucket(req)) {
        resp_header(resp, BUCKET_HEADER, b);
        return 0;
    }
    resp_errorf(resp, LH_E_UNPROCESSABLE,
                "POST /ingest/file and POST /catalog/datasets put a new dataset in a bucket; this route writes "
                "datasets in primary (send it without the header)",
                "%s %s cannot write to bucket '%s'", req->method, req->route_pattern, b);
    return -1;
}
