/*
 * auth.c — the gateway's side of authorization: the X-API-Key header and
 * the client address go to access_authorize (the one function HTTP, gRPC
 * and the tools share, ADR 0190) with the route's level; the principal it
 * returns rides on the request for handlers, the audit and the log line.
 * Every refusal (401, 403, 429) is audited with the call it refused.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "http/internal.h"

/* The peer's address as text ("?" when unknown). */
static void client_address(lh_req *req, char *out, size_t cap) {
    snprintf(out, cap, "?");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)cap);
}

int http_auth_check(lh_app *app, lh_req *req, lh_resp *resp) {
    access_principal_anonymous(&req->who);
    req->caller = req->who.name;
    req->role = ROLE_PUBLIC;
    if (!app->access) {
        resp_errorf(resp, LH_E_UNAVAILABLE, NULL, "access control is not running");
        return -1;
    }
    char client[64], what[160];
    client_address(req, client, sizeof client);
    snprintf(what, sizeof what, "call %s %s", req->method, req->route_pattern);
    lh_err err = {0};
    int rc = access_authorize(app->access, req_header(req, "X-API-Key"), client, (lh_level)req->route->role,
                              what, &req->who, &err);
    req->caller = req->who.name;
    req->role = (lh_role)req->who.level;
    if (rc != 0) { /* refusals are audited too; the key itself never is */
        char call[160];
        snprintf(call, sizeof call, "%s %s", req->method, req->route_pattern);
        lh_access_audit_rec rec = {.caller = req->who.name, .role = req->who.role, .kind = "auth", .sql = call,
                                   .rows = -1, .elapsed_ms = -1, .outcome = "denied", .error = err.msg,
                                   .request_id = req->request_id};
        access_audit(app->access, &rec);
        resp_error(resp, &err);
    }
    return rc;
}

int http_bind_address(const char *host, int port, struct sockaddr_storage *out, lh_err *err) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int rc = getaddrinfo(host && *host ? host : NULL, ps, &hints, &res);
    if (rc != 0) return lh_err_set(err, LH_E_BAD_REQUEST, "[server] bind '%s': %s", host, gai_strerror(rc));
    memset(out, 0, sizeof *out);
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}
