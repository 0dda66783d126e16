/*
 * api_storage.c — /storage/objects: PUT (streamed to disk), GET (sent
 * from the file), DELETE, and LIST by prefix. Reserved system storage
 * (storage_key_reserved: keys under _xxx/ and tables/) is never written or deleted
 * here, and only admin reads or lists it (ADR 0191).
 */
#include <stdlib.h>

#include "common/util.h"
#include "http/internal.h"

int api_reserved_guard(lh_req *req, const char *key, int write, lh_resp *resp) {
    if (!storage_key_reserved(key)) return 0;
    if (write) {
        resp_errorf(resp, LH_E_FORBIDDEN, "the catalog, access, tools and ingest APIs change these objects",
                    "'%s' is in reserved system storage (_*/, tables/): it is written only by the system, "
                    "never through /storage", key);
        return -1;
    }
    if (req->who.level >= LH_LEVEL_ADMIN) return 0;
    resp_errorf(resp, LH_E_FORBIDDEN, NULL, "'%s' is in reserved system storage (_*/, tables/): only admin may read it",
                key);
    return -1;
}

static int put_begin(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_err err = {0};
    if (api_reserved_guard(req, req_param(req, "key"), 1, resp) != 0) return -1;
    return api_writer_begin(req, storage_writer_new(app->storage, req_param(req, "key"), &err), &err, resp);
}

int api_writer_begin(lh_req *req, lh_storage_writer *w, const lh_err *err, lh_resp *resp) {
    if (!w) {
        resp_error(resp, err);
        return -1;
    }
    req->upload_state = w;
    return 0;
}

lh_storage_writer *api_writer_take(lh_req *req) {
    lh_storage_writer *w = req->upload_state;
    req->upload_state = NULL;
    return w;
}

int api_writer_data(lh_req *req, const char *data, size_t len, lh_err *err) {
    return storage_writer_write(req->upload_state, data, len, err);
}

void api_writer_abort(lh_req *req) {
    storage_writer_abort(req->upload_state);
    req->upload_state = NULL;
}

const lh_upload_ops api_storage_put_upload = {put_begin, api_writer_data, api_writer_abort};

void api_storage_put_done(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_err err = {0};
    int64_t size = 0;
    char sha[65];
    if (storage_writer_commit(api_writer_take(req), &size, sha, &err) != 0) {
        resp_error(resp, &err);
        return;
    }
    resp_json(resp, 201, json_pack("{s:s, s:I, s:s}", "key", req_param(req, "key"), "size",
                                   (json_int_t)size, "sha256", sha));
}

void api_storage_get(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_err err = {0};
    int fd;
    int64_t size;
    if (api_reserved_guard(req, req_param(req, "key"), 0, resp) != 0) return;
    if (storage_open_read(app->storage, req_param(req, "key"), &fd, &size, &err) != 0) {
        resp_error(resp, &err);
        return;
    }
    resp_file(resp, fd, size);
}

void api_storage_delete(lh_app *app, lh_req *req, lh_resp *resp) {
    if (api_reserved_guard(req, req_param(req, "key"), 1, resp) != 0) return;
    resp_done(resp, 204, storage_delete(app->storage, req_param(req, "key"), resp_err(resp)));
}

json_t *api_objects_json(const lh_object_info *objs, size_t n, int show_reserved) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        if (!show_reserved && storage_key_reserved(objs[i].key)) continue;
        char when[32];
        lh_time_iso(objs[i].modified_ms, when);
        json_array_append_new(arr, json_pack("{s:s, s:I, s:s}", "key", objs[i].key, "size",
                                             (json_int_t)objs[i].size, "modified", when));
    }
    return arr;
}

void api_storage_list(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_err err = {0};
    const char *prefix = req_query(req, "prefix");
    lh_object_info *objs = NULL;
    size_t n = 0;
    if (storage_list(app->storage, prefix ? prefix : "", &objs, &n, &err) != 0) {
        resp_error(resp, &err);
        return;
    }
    json_t *arr = api_objects_json(objs, n, req->who.level >= LH_LEVEL_ADMIN);
    storage_list_free(objs, n);
    resp_json(resp, 200, json_pack("{s:o}", "objects", arr));
}
