/*
 * api_ai_admin.c — the VRAM gate routes: POST /ai/admin/unload {"model"?},
 * POST /ai/admin/preload {"model"?, "keep_alive"?}, GET /ai/admin/vram.
 * Each makes one call into the ai module's admin functions (ai/admin.c);
 * a builtin provider answers 503 with a hint.
 */
#include <stdlib.h>

#include "ai/ai.h"
#include "http/internal.h"

/* The body as an object ({} when empty); NULL with a 400 in resp. */
static json_t *admin_body(lh_req *req, lh_resp *resp) {
    return req->body.len == 0 ? json_object() : req_json_object(req, resp);
}

static int admin_str(json_t *body, const char *key, const char **out, lh_resp *resp) {
    json_t *v = json_object_get(body, key);
    *out = json_string_value(v);
    if (!v || json_is_null(v) || *out) return 0;
    resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "'%s' must be a string", key);
    return -1;
}

void api_ai_admin_unload(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = admin_body(req, resp);
    const char *model;
    lh_err err = {0};
    if (body && admin_str(body, "model", &model, resp) == 0) resp_result(resp, 200, ai_admin_unload(app->ai, model, &err), &err);
    json_decref(body);
}

void api_ai_admin_preload(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = admin_body(req, resp);
    const char *model, *keep;
    lh_err err = {0};
    if (body && admin_str(body, "model", &model, resp) == 0 && admin_str(body, "keep_alive", &keep, resp) == 0)
        resp_result(resp, 200, ai_admin_preload(app->ai, model, keep, &err), &err);
    json_decref(body);
}

void api_ai_admin_vram(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_err err = {0};
    resp_result(resp, 200, ai_admin_vram(app->ai, &err), &err);
}
