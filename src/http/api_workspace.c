/*
 * api_workspace.c — /workspaces: list (?owner=&tier=), create, get, delete,
 * and the changes inside one workspace (saved searches, shortlists and
 * their items, activity entries, handoff to another agent, pin). Each
 * handler is one workspace call; the caller (API key name) is the actor.
 * The routes need SVC_WORKSPACES (routes.c), so app->workspaces is set.
 */
#include "http/internal.h"
#include "workspace/workspace.h"

typedef json_t *(*ws_body_fn)(lh_workspaces *, const char *, const json_t *, const char *, lh_err *);

/* The common shape: a JSON body applied to workspace {id}. */
static void with_body(lh_app *app, lh_req *req, lh_resp *resp, ws_body_fn fn, int status) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    json_t *o = fn(app->workspaces, req_param(req, "id"), body, req->caller, resp_err(resp));
    resp_result_of(resp, status, o, body);
}

void api_workspaces_list(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, workspaces_list(app->workspaces, req_query(req, "owner"), req_query(req, "tier"), resp_err(resp)));
}

void api_workspaces_create(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    resp_result_of(resp, 201, workspace_create(app->workspaces, body, req->caller, resp_err(resp)), body);
}

void api_workspaces_get(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, workspace_get(app->workspaces, req_param(req, "id"), resp_err(resp)));
}

void api_workspaces_delete(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_done(resp, 204, workspace_delete(app->workspaces, req_param(req, "id"), resp_err(resp)));
}

void api_workspaces_search(lh_app *app, lh_req *req, lh_resp *resp) {
    with_body(app, req, resp, workspace_save_search, 201);
}

void api_workspaces_shortlist(lh_app *app, lh_req *req, lh_resp *resp) {
    with_body(app, req, resp, workspace_add_shortlist, 201);
}

void api_workspaces_items(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    resp_result_of(resp, 201, workspace_add_items(app->workspaces, req_param(req, "id"), req_param(req, "name"), body,
                                    req->caller, resp_err(resp)), body);
}

void api_workspaces_activity(lh_app *app, lh_req *req, lh_resp *resp) {
    with_body(app, req, resp, workspace_log_activity, 201);
}

void api_workspaces_handoff(lh_app *app, lh_req *req, lh_resp *resp) {
    with_body(app, req, resp, workspace_handoff, 200);
}

void api_workspaces_pin(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, workspace_pin(app->workspaces, req_param(req, "id"), req->caller, resp_err(resp)));
}
