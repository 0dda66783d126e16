/*
 * api_buckets.c — the bucket registry over HTTP: GET/POST /storage/buckets,
 * DELETE /storage/buckets/{name}, GET /storage/bucket-health,
 * GET /storage/errors, and bucket-aware object I/O under
 * /storage/buckets/{bucket}/objects (PUT streamed, GET with rescue
 * fallback: X-Lakehouse-Bucket names the bucket that answered and
 * X-Lakehouse-Rescue-Used says whether it was the rescue bucket).
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "http/internal.h"

void api_buckets_list(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, buckets_list_json(app->buckets));
}

void api_buckets_health(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, buckets_health_json(app->buckets));
}

void api_buckets_errors(lh_app *app, lh_req *req, lh_resp *resp) {
    int limit;
    if (req_query_int(req, "limit", 100, 1, 10000, &limit, resp)) return;
    json_t *j = buckets_errors_json(app->buckets, (size_t)limit, resp_err(resp));
    resp_result(resp, 200, j);
}

void api_buckets_add(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    lh_bucket_config b = {0}; /* strings borrowed from body */
    struct {
        const char *key;
        char **field;
    } f[] = {{"name", &b.name},     {"backend", &b.backend}, {"root", &b.root},          {"endpoint", &b.endpoint},
             {"bucket", &b.bucket}, {"region", &b.region},   {"secret_ref", &b.secret_ref}};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        const char *v;
        if (req_body_str(body, f[i].key, 0, &v, resp)) {
            json_decref(body);
            return;
        }
        *f[i].field = (char *)v;
    }
    lh_err err = {0};
    if (buckets_add(app->buckets, &b, &err) != 0) resp_error(resp, &err);
    else resp_json(resp, 201, buckets_list_json(app->buckets));
    json_decref(body);
}

void api_buckets_remove(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_done(resp, 204, buckets_remove(app->buckets, req_param(req, "bucket"), resp_err(resp)));
}

/* ---- objects ------------------------------------------------------------ */

static int put_begin(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_err err = {0};
    if (api_reserved_guard(req, req_param(req, "key"), 1, resp) != 0) return -1;
    lh_storage_writer *w = buckets_writer_new(app->buckets, req_param(req, "bucket"), req_param(req, "key"), &err);
    return api_writer_begin(req, w, &err, resp);
}

const lh_upload_ops api_bucket_object_put_upload = {put_begin, api_writer_data, api_writer_abort};

void api_bucket_object_put_done(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_err err = {0};
    int64_t size = 0;
    char sha[65];
    const char *bucket = req_param(req, "bucket"), *key = req_param(req, "key");
    if (buckets_writer_commit(app->buckets, bucket, key, api_writer_take(req), &size, sha, &err) != 0) {
        resp_error(resp, &err);
        return;
    }
    resp_json(resp, 201, json_pack("{s:s, s:s, s:I, s:s}", "bucket", bucket, "key", key, "size",
                                   (json_int_t)size, "sha256", sha));
}

void api_bucket_object_get(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_err err = {0};
    int fd;
    int64_t size;
    const char *bucket = req_param(req, "bucket"), *served = NULL;
    if (api_reserved_guard(req, req_param(req, "key"), 0, resp) != 0) return;
    if (buckets_open_read(app->buckets, bucket, req_param(req, "key"), &fd, &size, &served, &err) != 0) {
        resp_error(resp, &err);
        return;
    }
    resp_file(resp, fd, size);
    resp_header(resp, "X-Lakehouse-Bucket", served);
    resp_header(resp, "X-Lakehouse-Rescue-Used", strcmp(served, bucket) ? "true" : "false");
}

void api_bucket_object_delete(lh_app *app, lh_req *req, lh_resp *resp) {
    if (api_reserved_guard(req, req_param(req, "key"), 1, resp) != 0) return;
    resp_done(resp, 204, buckets_delete(app->buckets, req_param(req, "bucket"), req_param(req, "key"), resp_err(resp)));
}

void api_bucket_objects_list(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_err err = {0};
    const char *prefix = req_query(req, "prefix"), *bucket = req_param(req, "bucket");
    lh_object_info *objs = NULL;
    size_t n = 0;
    if (buckets_list(app->buckets, bucket, prefix ? prefix : "", &objs, &n, &err) != 0) {
        resp_error(resp, &err);
        return;
    }
    json_t *arr = api_objects_json(objs, n, req->who.level >= LH_LEVEL_ADMIN);
    storage_list_free(objs, n);
    resp_json(resp, 200, json_pack("{s:s, s:o}", "bucket", bucket, "objects", arr));
}
