/*
 * api_schema.c — schema evolution: POST /catalog/schema/diff compares two
 * column lists a client sends; GET /catalog/datasets/by-name/{name}/schema-diff
 * compares a dataset's table at Delta version ?version=N (default: the one
 * before the latest) with ?to=M (default: the latest). Both answer with the
 * diff, migration rules with confidences and, when a rule needs review, the
 * LLM prompt (catalog/schema_diff.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "catalog/schema_diff.h"
#include "http/internal.h"

void api_schema_diff(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    lh_err *err = resp_err(resp);
    json_t *dataset = json_object_get(body, "dataset");
    json_t *o = NULL;
    if (!json_object_get(body, "old") || !json_object_get(body, "new")) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"old\" and \"new\" column lists are required");
        lh_err_hint(err, "{\"old\":[{\"name\":\"id\",\"type\":\"INTEGER\"}],\"new\":[{\"name\":\"id\",\"type\":\"BIGINT\"}]}");
    } else if (dataset && !json_is_string(dataset)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"dataset\" must be a string");
    } else {
        o = schema_evolution_report(json_string_value(dataset), json_object_get(body, "old"),
                                    json_object_get(body, "new"), err);
    }
    json_decref(body);
    resp_result(resp, 200, o);
}

/* ?name=N as a version (>= 0); -2 when absent; -1 (400 filled) when bad. */
static int64_t version_query(lh_req *req, lh_resp *resp, const char *name) {
    const char *s = req_query(req, name);
    if (!s || !*s) return -2;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0) {
        resp_errorf(resp, LH_E_BAD_REQUEST, "a Delta version: 0, 1, 2, ...", "\"%s\" must be a version number", name);
        return -1;
    }
    return v;
}

void api_catalog_schema_diff(lh_app *app, lh_req *req, lh_resp *resp) {
    const char *name = req_param(req, "name");
    int64_t from = version_query(req, resp, "version");
    if (from == -1) return;
    int64_t to = version_query(req, resp, "to");
    if (to == -1) return;
    lh_err err = {0};
    int64_t to_v = -1, from_v = -1;
    json_t *new_cols = catalog_columns_at(app->catalog, name, to >= 0 ? to : -1, &to_v, &err);
    if (!new_cols) {
        resp_error(resp, &err);
        return;
    }
    if (from == -2) from = to_v > 0 ? to_v - 1 : 0;
    json_t *old_cols = catalog_columns_at(app->catalog, name, from, &from_v, &err);
    json_t *o = old_cols ? schema_evolution_report(name, old_cols, new_cols, &err) : NULL;
    json_decref(old_cols);
    json_decref(new_cols);
    if (!o) {
        resp_error(resp, &err);
        return;
    }
    json_object_set_new(o, "from_version", json_integer((json_int_t)from_v));
    json_object_set_new(o, "to_version", json_integer((json_int_t)to_v));
    resp_json(resp, 200, o);
}
