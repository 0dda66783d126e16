/*
 * api_web.c — the web console: GET / serves index.html and GET
 * /assets/{name} the other embedded files (see web_assets.h). Public: the
 * console asks for an API key itself when the server answers 401.
 */
#include <string.h>

#include "http/internal.h"
#include "http/web_assets.h"

static const lh_web_asset *asset_named(const char *name) {
    for (size_t i = 0; i < lh_web_assets_count; i++)
        if (!strcmp(lh_web_assets[i].name, name)) return &lh_web_assets[i];
    return NULL;
}

static void send_asset(lh_resp *resp, const char *name) {
    const lh_web_asset *a = asset_named(name);
    if (!a) {
        resp_errorf(resp, LH_E_NOT_FOUND, NULL, "no console asset '%s'", name);
        return;
    }
    resp->status = 200;
    resp->content_type = a->content_type;
    resp->body = lh_malloc(a->len + 1);
    memcpy(resp->body, a->data, a->len + 1);
    resp->len = a->len;
}

void api_web_index(lh_app *app, lh_req *req, lh_resp *resp) { send_asset(resp, "index.html"); }

void api_web_asset(lh_app *app, lh_req *req, lh_resp *resp) { send_asset(resp, req_param(req, "name")); }
