/*
 * bucket_header.c — the X-Lakehouse-Bucket header on ingest endpoints
 * (seed "X-Lakehouse-Bucket header middleware", ADR 0153). Checked by the
 * server after auth, before the handler (or an upload) starts, for every
 * POST under /ingest/ and POST /catalog/datasets[/by-name/{name}/append]:
 *   absent or "primary"      the request goes on; the response names the
 *                            bucket in X-Lakehouse-Bucket;
 *   another known bucket     422: datasets live in the primary bucket
 *                            (ADR 0120); stage files there with
 *                            PUT /storage/buckets/{bucket}/objects/{key};
 *   an unknown bucket        404 naming GET /storage/buckets.
 */
#include <string.h>

#include "http/internal.h"

#define BUCKET_HEADER "X-Lakehouse-Bucket"

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
    resp_errorf(resp, LH_E_UNPROCESSABLE,
                "ingest without the header (datasets live in primary); stage raw files in that bucket with "
                "PUT /storage/buckets/{bucket}/objects/{key}",
                "bucket '%s' cannot hold datasets: the catalog and its Delta tables live in the primary bucket", b);
    return -1;
}
