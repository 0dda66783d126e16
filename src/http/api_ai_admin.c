/*
 * api_ai_admin.c — the VRAM gate routes: POST /ai/admin/unload {"model"?},
 * POST /ai/admin/preload {"model"?, "keep_alive"?}, GET /ai/admin/vram.
 * Each makes one call into the ai module's admin functions (ai/admin.c);
 * a builtin provider answers 503 with a hint.
 */
#include <stdlib.h>

#include "ai/ai.h"
#include "http/internal.h"

void api_ai_admin_unload(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object_or_empty(req, resp);
    const char *model;
    if (body && req_body_str(body, "model", 0, &model, resp) == 0)
        resp_result(resp, 200, ai_admin_unload(app->ai, model, resp_err(resp)));
    json_decref(body);
}

void api_ai_admin_preload(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object_or_empty(req, resp);
    const char *model, *keep;
    if (body && req_body_str(body, "model", 0, &model, resp) == 0 &&
        req_body_str(body, "keep_alive", 0, &keep, resp) == 0)
        resp_result(resp, 200, ai_admin_preload(app->ai, model, keep, resp_err(resp)));
    json_decref(body);
}

void api_ai_admin_vram(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, ai_admin_vram(app->ai, resp_err(resp)));
}
