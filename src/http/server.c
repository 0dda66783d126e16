/*
 * server.c — libmicrohttpd glue and the middleware every request passes:
 *
 *   first call   → request id, trace span, route match (404/405/400),
 *                  auth (401/403), Content-Length limit (413), admission
 *                  (503 + Retry-After when the route's budget is full),
 *                  upload begin
 *   data calls   → buffer the body (413 past server.max_body_bytes) or hand
 *                  it to the route's upload ops (streamed, never buffered)
 *   final call   → run the handler, queue its response
 *   completed    → metrics, span end, one log line, free everything
 *
 * Execution model (ADR 0180): libmicrohttpd accepts on its own thread and
 * gives every connection a thread of its own (at most [server]
 * max_connections), so a handler that blocks (DuckDB, ingest, embeddings)
 * holds only its own connection; admission (admission.h, ADR 0181) bounds
 * how many of each kind run and wait. While a request runs, its thread
 * carries a cancellation probe (common/cancel.h) that notices a vanished
 * client, so queued and running work for it stops at once.
 *
 * Shutdown (ADR 0182): http_server_drain stops accepting, answers new
 * requests on open connections 503 + Connection: close, lets in-flight
 * requests finish for the grace period, then interrupts the rest.
 */
#include <assert.h>
#include <microhttpd.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/util.h"
#include "http/internal.h"
#include "telemetry/metrics.h"
#include "telemetry/trace.h"

struct lh_http_server {
    struct MHD_Daemon *daemon;
    lh_app *app;        /* borrowed */
    lh_router *router;  /* owned */
    lh_admission *adm;  /* owned */
    int port;
    atomic_int inflight; /* requests begun and not completed */
    atomic_int draining; /* shutdown: refuse new requests */
};

typedef struct {
    lh_req req;
    lh_resp resp;
    lh_http_server *srv;
    double t0;
    trace_span *span;
    int queued;          /* a response was queued */
    int upload_active;   /* upload begun, not yet finished */
    int upload_failed;
    lh_err upload_err;
    int64_t received;
    int admitted;        /* holds a slot of req.route->kind */
} req_ctx;

/* ---- request helpers ---------------------------------------------------- */

const char *req_header(lh_req *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* In-place decoding of a query value ('+' is a space); MHD hands them raw
 * because we turned its own unescaping off (see unescape_none). */
static size_t query_decode(char *s) {
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r == '+') *w++ = ' ';
        else if (*r == '%' && lh_hex_digit(r[1]) >= 0 && lh_hex_digit(r[2]) >= 0) {
            int v = lh_hex_digit(r[1]) * 16 + lh_hex_digit(r[2]);
            *w++ = (char)(v ? v : '?');
            r += 2;
        } else *w++ = *r;
    }
    *w = '\0';
    return (size_t)(w - s);
}

const char *req_query(lh_req *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *req_param(lh_req *req, const char *name) { return router_param(&req->params, name); }

json_t *req_json_object(lh_req *req, lh_resp *resp) {
    if (req->body.len == 0) {
        resp_errorf(resp, LH_E_BAD_REQUEST, "send a JSON object", "request body is empty");
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(req->body.buf, req->body.len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "invalid JSON at line %d column %d: %s",
                    je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "request body must be a JSON object");
        return NULL;
    }
    return j;
}

/* ---- response helpers --------------------------------------------------- */

void resp_json(lh_resp *resp, int status, json_t *body) {
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) { /* the module could not build its answer: never an empty success */
        LOG_ERROR("a handler answered %d without a body: sent as 500", status);
        status = lh_err_http_status(LH_E_INTERNAL);
        text = lh_asprintf("{\"error\":{\"code\":\"%s\",\"message\":\"the server could not build this response\"}}",
                           lh_err_code_name(LH_E_INTERNAL));
    }
    free(resp->body);
    resp->status = status;
    resp->content_type = "application/json";
    resp->body = text;
    resp->len = strlen(text);
}

/* msg as a JSON string; bytes that are not valid UTF-8 (a message cut at
 * its buffer's end, a driver quoting binary data) become '?'. */
static json_t *json_string_lossy(const char *msg) {
    json_t *s = json_string(msg);
    if (s) return s;
    char *copy = lh_strdup(msg);
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80) *p = '?';
    s = json_string(copy);
    free(copy);
    return s;
}

static void resp_error_parts(lh_resp *resp, lh_errcode code, const char *msg, const char *hint) {
    json_t *e = json_pack("{s:s, s:o}", "code", lh_err_code_name(code), "message", json_string_lossy(msg));
    if (hint && *hint) json_object_set_new(e, "hint", json_string_lossy(hint));
    resp_json(resp, lh_err_http_status(code), json_pack("{s:o}", "error", e));
}

void resp_error(lh_resp *resp, const lh_err *err) {
    lh_errcode code = err->code == LH_OK ? LH_E_INTERNAL : err->code;
    resp_error_parts(resp, code, err->msg[0] ? err->msg : "unknown error", err->hint);
}

void resp_errorf(lh_resp *resp, lh_errcode code, const char *hint, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    resp_error_parts(resp, code, msg, hint);
}

void resp_header(lh_resp *resp, const char *name, const char *value) {
    assert(!strpbrk(name, "\r\n:") && !strpbrk(value, "\r\n"));
    char *prev = resp->headers;
    resp->headers = lh_asprintf("%s%s: %s\n", prev ? prev : "", name, value);
    free(prev);
}

/* Adds the resp_header() lines to r. */
static void add_extra_headers(struct MHD_Response *r, const char *lines) {
    for (const char *p = lines; p && *p;) {
        const char *colon = strchr(p, ':'), *nl = strchr(p, '\n');
        char *name = lh_strndup(p, (size_t)(colon - p));
        char *value = lh_strndup(colon + 2, (size_t)(nl - colon - 2));
        MHD_add_response_header(r, name, value);
        free(name);
        free(value);
        p = nl + 1;
    }
}

void resp_empty(lh_resp *resp, int status) {
    free(resp->body);
    resp->body = NULL;
    resp->len = 0;
    resp->status = status;
}

/* ---- middleware --------------------------------------------------------- */

static void assign_request_id(req_ctx *rc) {
    const char *given = req_header(&rc->req, "X-Request-Id");
    size_t n = given ? strlen(given) : 0;
    int ok = n > 0 && n < sizeof rc->req.request_id;
    for (size_t i = 0; ok && i < n; i++)
        ok = (given[i] >= '0' && given[i] <= '9') || (given[i] >= 'a' && given[i] <= 'z') ||
             (given[i] >= 'A' && given[i] <= 'Z') || given[i] == '-' || given[i] == '_';
    if (ok) memcpy(rc->req.request_id, given, n + 1);
    else lh_random_hex(rc->req.request_id, 8);
}

static int64_t content_length(lh_req *req) {
    const char *cl = req_header(req, "Content-Length");
    return cl ? strtoll(cl, NULL, 10) : -1;
}

/* Takes a slot of the route's kind of work, waiting in its bounded queue at
 * most [server] queue_timeout_ms. 0 when held; -1 with a 503 in resp. */
static int admit_work(req_ctx *rc) {
    lh_http_server *srv = rc->srv;
    lh_work_kind k = rc->req.route->kind;
    if (atomic_load(&srv->draining)) {
        resp_errorf(&rc->resp, LH_E_UNAVAILABLE, "retry against another server or after the restart",
                    "the server is shutting down");
        return -1;
    }
    double deadline = lh_mono_s() + (double)srv->app->cfg->server.queue_timeout_ms / 1000.0;
    lh_admit_result r = admission_enter(srv->adm, k, deadline);
    if (r == ADMIT_OK) {
        rc->admitted = 1;
        return 0;
    }
    lh_work_stats st;
    admission_stats(srv->adm, k, &st);
    const char *kind = admission_kind_name(k);
    if (r == ADMIT_FULL)
        resp_errorf(&rc->resp, LH_E_UNAVAILABLE, "retry after the Retry-After delay",
                    "server busy: %d %s requests running and %d waiting (the most allowed)", st.running, kind,
                    st.queued);
    else if (r == ADMIT_TIMEOUT)
        resp_errorf(&rc->resp, LH_E_UNAVAILABLE, "retry after the Retry-After delay",
                    "server busy: no %s slot came free within %lld ms", kind,
                    (long long)srv->app->cfg->server.queue_timeout_ms);
    else if (r == ADMIT_CLOSED)
        resp_errorf(&rc->resp, LH_E_UNAVAILABLE, NULL, "the server is shutting down");
    else
        resp_errorf(&rc->resp, LH_E_UNAVAILABLE, NULL, "request abandoned while queued");
    return -1;
}

/* The cancellation probe of a request's thread: 1 once the client has
 * closed its side of the connection (nothing left unread, peer hung up). */
static int client_gone(void *ctx) {
    req_ctx *rc = ctx;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(rc->req.conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return 0;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLRDHUP};
    if (poll(&p, 1, 0) <= 0) return 0;
    if (p.revents & (POLLHUP | POLLERR)) return 1;
    char b;
    return (p.revents & POLLRDHUP) && recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* Route match, auth and limits. 0 to go on; -1 when resp holds an error. */
static int admit_request(req_ctx *rc) {
    lh_req *req = &rc->req;
    lh_resp *resp = &rc->resp;
    const lh_config *cfg = rc->srv->app->cfg;
    void *handler = NULL;
    char allow[64] = "";
    lh_route_result r = router_match(rc->srv->router, req->method, req->path, &handler,
                                     &req->route_pattern, &req->params, allow, sizeof allow);
    if (r == ROUTE_BAD_PATH) {
        resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "malformed path '%s'", req->path);
        return -1;
    }
    if (r == ROUTE_NOT_FOUND) {
        resp_errorf(resp, LH_E_NOT_FOUND, NULL, "no route for %s %s", req->method, req->path);
        return -1;
    }
    if (r == ROUTE_METHOD_NOT_ALLOWED) {
        resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "method %s not allowed here; allowed: %s",
                    req->method, allow);
        resp->status = 405;
        return -1;
    }
    req->route = handler;
    if (http_auth_check(rc->srv->app, req, resp) != 0) return -1; /* auth.c */
    if (http_bucket_header_check(rc->srv->app, req, resp) != 0) return -1; /* bucket_header.c */
    int64_t cl = content_length(req);
    int64_t limit = req->route->upload ? cfg->server.max_upload_bytes : cfg->server.max_body_bytes;
    if (cl > limit) {
        resp_errorf(resp, LH_E_TOO_LARGE, "send a smaller body",
                    "request body of %lld bytes exceeds the limit of %lld bytes", (long long)cl,
                    (long long)limit);
        return -1;
    }
    if (admit_work(rc) != 0) return -1;
    if (req->route->upload) {
        if (req->route->upload->begin(rc->srv->app, req, resp) != 0) return -1;
        rc->upload_active = 1;
    }
    return 0;
}

static void take_body(req_ctx *rc, const char *data, size_t len) {
    const lh_config *cfg = rc->srv->app->cfg;
    rc->received += (int64_t)len;
    if (rc->req.route->upload) {
        if (rc->upload_failed) return;
        if (rc->received > cfg->server.max_upload_bytes) {
            lh_err_set(&rc->upload_err, LH_E_TOO_LARGE, "upload exceeds the limit of %lld bytes",
                       (long long)cfg->server.max_upload_bytes);
            rc->upload_failed = 1;
        } else if (rc->req.route->upload->data(&rc->req, data, len, &rc->upload_err) != 0) {
            rc->upload_failed = 1;
        }
        return;
    }
    if (rc->req.body_too_large) return;
    if (rc->received > cfg->server.max_body_bytes) {
        rc->req.body_too_large = 1;
        sb_free(&rc->req.body);
        return;
    }
    sb_append(&rc->req.body, data, len);
}

/* ---- responses ---------------------------------------------------------- */

#define STREAM_BLOCK (64 * 1024)

/* A streamed body and the bytes read from it ahead of the response
 * (queue_response): those go out first, then the rest of the stream. */
typedef struct {
    lh_stream st;
    char *ahead; /* owned, STREAM_BLOCK bytes */
    size_t len, off;
    int failed;  /* the stream failed while read ahead: the response ends in error */
} stream_state;

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    stream_state *ss = cls;
    if (ss->off < ss->len) {
        size_t k = ss->len - ss->off < max ? ss->len - ss->off : max;
        memcpy(buf, ss->ahead + ss->off, k);
        ss->off += k;
        return (ssize_t)k;
    }
    if (ss->failed) return MHD_CONTENT_READER_END_WITH_ERROR;
    long n = ss->st.read(ss->st.ctx, buf, max);
    if (n > 0) return n;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls) {
    stream_state *ss = cls;
    if (ss->st.free) ss->st.free(ss->st.ctx);
    free(ss->ahead);
    free(ss);
}

/* Reads up to one block of the stream ahead. 1 when that was the whole
 * body: then it ended, the stream is released, and ahead/len are the body. */
static int stream_read_ahead(stream_state *ss) {
    ss->ahead = lh_malloc(STREAM_BLOCK);
    while (ss->len < STREAM_BLOCK) {
        long n = ss->st.read(ss->st.ctx, ss->ahead + ss->len, STREAM_BLOCK - ss->len);
        if (n < 0) ss->failed = 1;
        if (n <= 0) break;
        ss->len += (size_t)n;
    }
    if (ss->failed || ss->len == STREAM_BLOCK) return 0;
    if (ss->st.free) ss->st.free(ss->st.ctx);
    ss->st.free = NULL;
    return 1;
}

/* The response for a streamed body. A body that ends within one block (a
 * point lookup's document comes in three pieces) goes out as one buffer with
 * a Content-Length, header and body in one send; a longer one is chunked. */
static struct MHD_Response *stream_response(lh_stream *from) {
    stream_state *ss = lh_calloc(1, sizeof *ss);
    ss->st = *from;
    from->read = NULL;
    if (stream_read_ahead(ss)) {
        struct MHD_Response *r = MHD_create_response_from_buffer(ss->len, ss->ahead, MHD_RESPMEM_MUST_FREE);
        if (!r) free(ss->ahead);
        free(ss);
        return r;
    }
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_reader, ss,
                                                               stream_free);
    if (!r) stream_free(ss);
    return r;
}

static enum MHD_Result queue_response(struct MHD_Connection *c, req_ctx *rc) {
    lh_resp *resp = &rc->resp;
    struct MHD_Response *r;
    if (resp->stream.read) {
        r = stream_response(&resp->stream);
    } else if (resp->fd >= 0) {
        r = MHD_create_response_from_fd64((uint64_t)resp->fd_size, resp->fd);
        resp->fd = -1; /* MHD closes it */
    } else {
        r = MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE);
        resp->body = NULL;
    }
    if (!r) return MHD_NO;
    if (resp->content_type) MHD_add_response_header(r, "Content-Type", resp->content_type);
    MHD_add_response_header(r, "X-Request-Id", rc->req.request_id);
    char tp[64];
    if (rc->span && trace_span_traceparent(rc->span, tp) == 0)
        MHD_add_response_header(r, "traceparent", tp);
    if (resp->status == 405) MHD_add_response_header(r, "Allow", "see error message");
    add_extra_headers(r, resp->headers);
    if (resp->status == 503 && !MHD_get_response_header(r, "Retry-After"))
        MHD_add_response_header(r, "Retry-After", "1");
    if (atomic_load(&rc->srv->draining)) MHD_add_response_header(r, "Connection", "close");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    rc->queued = 1;
    return ret;
}

/* ---- libmicrohttpd callbacks -------------------------------------------- */

static enum MHD_Result decode_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value);

static req_ctx *req_ctx_new(lh_http_server *srv, struct MHD_Connection *c, const char *url,
                            const char *method) {
    req_ctx *rc = lh_calloc(1, sizeof *rc);
    rc->srv = srv;
    rc->t0 = lh_mono_s();
    rc->req.conn = c;
    rc->req.method = method;
    rc->req.path = url;
    rc->req.caller = "anonymous";
    rc->resp.fd = -1;
    rc->resp.status = 200;
    assign_request_id(rc);
    /* arguments arrive raw (see unescape_none); decode them once, in place */
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, decode_arg, NULL);
    rc->span = trace_span_begin("http.request", req_header(&rc->req, "traceparent"));
    return rc;
}

static enum MHD_Result handle_call(lh_http_server *srv, struct MHD_Connection *c, req_ctx *rc,
                                   const char *upload_data, size_t *upload_size) {
    if (rc->queued) { /* error answered early: drop the rest of the body */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        take_body(rc, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    /* the whole request is in */
    if (rc->req.body_too_large) {
        resp_errorf(&rc->resp, LH_E_TOO_LARGE, "send a smaller body",
                    "request body exceeds the limit of %lld bytes",
                    (long long)srv->app->cfg->server.max_body_bytes);
    } else if (rc->upload_failed) {
        resp_error(&rc->resp, &rc->upload_err);
        rc->req.route->upload->abort(&rc->req); /* the handler never runs: release the upload */
    } else if (http_service_check(srv->app, rc->req.route->needs, &rc->resp) == 0) {
        rc->req.route->fn(srv->app, &rc->req, &rc->resp);
    }
    rc->upload_active = 0;
    return queue_response(c, rc);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls) {
    lh_http_server *srv = cls;
    req_ctx *rc = *con_cls;
    enum MHD_Result ret = MHD_YES;
    if (!rc) {
        rc = req_ctx_new(srv, c, url, method);
        atomic_fetch_add(&srv->inflight, 1);
        *con_cls = rc;
        lh_log_set_request_id(rc->req.request_id);
        lh_cancel_set(client_gone, rc); /* admission waits notice a vanished client */
        if (admit_request(rc) != 0) ret = queue_response(c, rc);
        lh_cancel_set(NULL, NULL);
        return ret;
    }
    lh_log_set_request_id(rc->req.request_id);
    lh_cancel_set(client_gone, rc); /* so do the pool wait and query execution */
    ret = handle_call(srv, c, rc, upload_data, upload_size);
    lh_cancel_set(NULL, NULL);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    req_ctx *rc = *con_cls;
    if (!rc) return;
    lh_log_set_request_id(rc->req.request_id);
    if (rc->upload_active && rc->req.route && rc->req.route->upload)
        rc->req.route->upload->abort(&rc->req);
    if (rc->resp.stream.read && rc->resp.stream.free) { /* never queued: release it now */
        rc->resp.stream.free(rc->resp.stream.ctx);
        rc->resp.stream.read = NULL;
    }
    double secs = lh_mono_s() - rc->t0;
    int status = rc->queued ? rc->resp.status : 499;
    metrics_record_request(rc->req.method, rc->req.route_pattern, status, secs);
    if (rc->span) {
        trace_span_set_attr_str(rc->span, "http.method", rc->req.method);
        trace_span_set_attr_str(rc->span, "http.target", rc->req.path);
        trace_span_set_attr_int(rc->span, "http.status_code", status);
        trace_span_end(rc->span, status >= 500 ? 2 : 0);
    }
    /* access log: errors always, refused requests at info, the rest at debug */
    lh_log(status >= 500 ? LH_LOG_ERROR : status >= 400 ? LH_LOG_INFO : LH_LOG_DEBUG, "%s %s status=%d ms=%.2f caller=%s",
           rc->req.method, rc->req.path, status, secs * 1000, rc->req.caller);
    lh_log_set_request_id(NULL);
    router_params_free(&rc->req.params);
    sb_free(&rc->req.body);
    free(rc->resp.body);
    free(rc->resp.headers);
    if (rc->resp.fd >= 0) close(rc->resp.fd);
    if (rc->admitted) admission_leave(rc->srv->adm, rc->req.route->kind);
    lh_http_server *srv = rc->srv;
    free(rc);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->inflight, 1);
}

/* Keep URLs and arguments raw: the router decodes path parameters itself
 * (rejecting bad escapes and NUL) and req_query decodes arguments. */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s) {
    (void)cls;
    (void)c;
    return strlen(s);
}

static enum MHD_Result decode_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value) {
    (void)cls;
    (void)kind;
    (void)key;
    if (value) query_decode((char *)(uintptr_t)value);
    return MHD_YES;
}

static lh_router *routes_build(lh_err *err) {
    lh_router *r = router_new();
    for (size_t i = 0; i < lh_routes_count; i++) {
        if (lh_routes[i].kind == WORK_UNSET) { /* every route names the budget it counts against */
            lh_err_set(err, LH_E_INTERNAL, "route %s %s names no kind of work (routes.c)", lh_routes[i].method,
                       lh_routes[i].pattern);
            router_free(r);
            return NULL;
        }
        if (router_add(r, lh_routes[i].method, lh_routes[i].pattern, (void *)&lh_routes[i], err) != 0) {
            router_free(r);
            return NULL;
        }
    }
    return r;
}

static lh_admission *admission_from_config(const lh_config *cfg) {
    lh_work_limit limits[WORK__COUNT] = {
        /* 0: as many as there are pooled connections, so queries wait here (bounded, 503) and
         * not for a connection */
        [WORK_QUERY] = {cfg->server.query_concurrency > 0 ? cfg->server.query_concurrency : cfg->query.pool_size,
                        cfg->server.query_queue},
        [WORK_INGEST] = {cfg->server.ingest_concurrency, cfg->server.ingest_queue},
        [WORK_VECTOR] = {cfg->server.vector_concurrency, cfg->server.vector_queue},
        [WORK_ADMIN] = {cfg->server.admin_concurrency, cfg->server.admin_queue},
    };
    return admission_new(limits);
}

lh_http_server *http_server_start(lh_app *app, lh_err *err) {
    lh_http_server *s = lh_calloc(1, sizeof *s);
    s->app = app;
    s->router = routes_build(err);
    if (!s->router) {
        free(s);
        return NULL;
    }
    const lh_config *cfg = app->cfg;
    struct sockaddr_storage addr;
    if (http_bind_address(config_bind_address(cfg), cfg->server.port, &addr, err) != 0) { /* auth.c */
        router_free(s->router);
        free(s);
        return NULL;
    }
    s->adm = admission_from_config(cfg);
    app->admission = s->adm;
    /* one thread per connection (ADR 0180); ITC so http_server_drain can quiesce */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC;
    if (addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->server.port, NULL, NULL, on_request, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->server.max_connections,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        /* bigger per-connection buffers: uploads arrive in 256 KiB pieces, not 16 KiB */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(512 * 1024),
        MHD_OPTION_CONNECTION_MEMORY_INCREMENT, (size_t)(16 * 1024),
        MHD_OPTION_END);
    if (!s->daemon) {
        lh_err_set(err, LH_E_UNAVAILABLE, "cannot listen on port %d (in use?)", cfg->server.port);
        app->admission = NULL;
        admission_free(s->adm);
        router_free(s->router);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : cfg->server.port;
    return s;
}

int http_server_port(const lh_http_server *s) { return s->port; }

/* Waits until no request is in flight or the deadline passes; the count left. */
static int wait_inflight(lh_http_server *s, double deadline) {
    int n;
    while ((n = atomic_load(&s->inflight)) > 0 && lh_mono_s() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return n;
}

int http_server_drain(lh_http_server *s, int64_t grace_ms) {
    MHD_socket fd = MHD_quiesce_daemon(s->daemon); /* no new connections */
    if (fd != MHD_INVALID_SOCKET) close(fd);
    atomic_store(&s->draining, 1);
    int n = atomic_load(&s->inflight);
    LOG_INFO("shutdown: listener closed; %d request(s) in flight, grace %lld ms", n, (long long)grace_ms);
    n = wait_inflight(s, lh_mono_s() + (double)grace_ms / 1000.0);
    if (n == 0) return 0;
    LOG_WARN("shutdown: grace period over; interrupting %d request(s)", n);
    admission_close(s->adm);                   /* queued: 503 now */
    query_engine_interrupt_all(s->app->query); /* running SQL: interrupted; no new checkouts */
    if (s->app->jobs) jobs_cancel_running(s->app->jobs); /* ingests and builds stop at their next check */
    n = wait_inflight(s, lh_mono_s() + 2.0);
    if (n > 0) LOG_WARN("shutdown: %d request(s) still running after the interrupt", n);
    return n;
}

void http_server_stop(lh_http_server *s) {
    if (!s) return;
    MHD_stop_daemon(s->daemon); /* closes every connection, joins their threads */
    s->app->admission = NULL;
    admission_free(s->adm);
    router_free(s->router);
    free(s);
}
