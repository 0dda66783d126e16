/*
 * internal.h — what server.c shares with the route table and the api_*.c
 * handlers: the request and response records and their helpers.
 *
 * A handler reads an lh_req (borrowed) and fills an lh_resp (the server owns
 * both and frees them after the response is sent). Handlers never touch
 * libmicrohttpd directly; they only call module functions and resp_* helpers.
 */
#ifndef LH_HTTP_INTERNAL_H
#define LH_HTTP_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "http/admission.h"
#include "http/http.h"
#include "http/router.h"

typedef enum { ROLE_PUBLIC = 0, ROLE_READ = 1, ROLE_WRITE = 2, ROLE_ADMIN = 3 } lh_role;

typedef struct lh_req lh_req;
typedef struct lh_resp lh_resp;
typedef void (*lh_handler_fn)(lh_app *app, lh_req *req, lh_resp *resp);

/* Upload handlers receive the body as it arrives instead of a buffer. */
typedef struct {
    int (*begin)(lh_app *app, lh_req *req, lh_resp *resp);   /* 0 ok; -1 resp filled */
    int (*data)(lh_req *req, const char *data, size_t len, lh_err *err);
    void (*abort)(lh_req *req);                              /* client went away */
} lh_upload_ops;

/* A module a route cannot answer without: when the app has none (not
 * started), the route is a 503 naming it and its handler never runs. */
typedef enum {
    SVC_NONE = 0,
    SVC_SCHEDULER,   /* app->scheduler */
    SVC_VECTORS,     /* app->vectors */
    SVC_LAB,         /* app->lab */
    SVC_WORKSPACES,  /* app->workspaces */
    SVC_JOURNAL,     /* app->journal */
    SVC_ACCESS,      /* app->access */
} lh_service;

typedef struct lh_route {
    const char *method;
    const char *pattern;
    lh_handler_fn fn;           /* runs when the whole request is in */
    lh_role role;               /* least role allowed when auth is on */
    const lh_upload_ops *upload; /* non-NULL: body streamed, not buffered */
    lh_work_kind kind;          /* admission budget it counts against (admission.h) */
    lh_service needs;           /* module it needs (SVC_NONE: none); checked before fn */
} lh_route;

struct lh_req {
    const char *method;       /* borrowed from libmicrohttpd */
    const char *path;         /* borrowed */
    void *conn;               /* struct MHD_Connection*, for header/arg lookup */
    const lh_route *route;
    const char *route_pattern;
    lh_route_params params;   /* owned */
    lh_strbuf body;           /* buffered body (non-upload routes) */
    int body_too_large;
    char request_id[40];
    const char *caller;       /* key name or "anonymous" (points into who) */
    lh_role role;             /* the caller's permission level (ROLE_ADMIN when auth is off) */
    lh_principal who;         /* the caller (auth.c): name, role, level, attributes */
    void *upload_state;       /* owned by the route's upload ops */
};

typedef struct {
    long (*read)(void *ctx, char *buf, size_t cap);  /* >0 bytes, 0 end */
    void (*free)(void *ctx);
    void *ctx;
} lh_stream;

struct lh_resp {
    int status;
    const char *content_type;  /* static string */
    char *body;                /* owned */
    size_t len;
    int fd;                    /* >= 0: send this file (owned, closed after) */
    int64_t fd_size;
    lh_stream stream;          /* stream.read set: chunked streaming body */
    char *headers;             /* owned: extra "Name: value\n" lines (resp_header) */
    lh_err err;                /* the handler's module-call error (resp_err), zeroed with the response */
};

/* Request helpers */
const char *req_header(lh_req *req, const char *name);
const char *req_query(lh_req *req, const char *name);   /* decoded ?name=value */
const char *req_param(lh_req *req, const char *name);   /* path parameter */
/* Parses the buffered body as a JSON object. On failure fills resp with a
 * 400 naming line/column and returns NULL. New reference. */
json_t *req_json_object(lh_req *req, lh_resp *resp);
/* req_json_object, but an empty body is {}. */
json_t *req_json_object_or_empty(lh_req *req, lh_resp *resp);
/* Request fields (req_resp.c): 0 with *out, or -1 with a 400 in resp naming
 * the field. body[key] as a string (borrowed from body; NULL when absent or
 * null and not required); body[key] and ?name= as an int in [lo, hi], def
 * when absent. */
int req_body_str(json_t *body, const char *key, int required, const char **out, lh_resp *resp);
int req_body_int(json_t *body, const char *key, int def, int lo, int hi, int *out, lh_resp *resp);
int req_query_int(lh_req *req, const char *name, int def, int lo, int hi, int *out, lh_resp *resp);

/* Response helpers */
/* Steals body; a NULL body (a module that failed to build its answer) is a
 * 500 with an error body, never an empty success. */
void resp_json(lh_resp *resp, int status, json_t *body);
/* The error slot a handler hands to its module calls (borrowed from resp,
 * zeroed when the response is made); resp_result, resp_result_of and
 * resp_done reply with it when the call failed. */
lh_err *resp_err(lh_resp *resp);
/* body (stolen) with status, or resp_err(resp) when body is NULL: the
 * "result or error" reply of a module call that returns a new JSON reference. */
void resp_result(lh_resp *resp, int status, json_t *body);
/* resp_result, then releases req_body (the request's JSON, from
 * req_json_object) that the module call read to make body. */
void resp_result_of(lh_resp *resp, int status, json_t *body, json_t *req_body);
/* rc of a module call returning 0 or -1: an empty reply with status, or
 * resp_err(resp). */
void resp_done(lh_resp *resp, int status, int rc);
/* 0 when the app has the module the route needs; else -1 with the 503
 * naming it in resp (req_resp.c). */
int http_service_check(const lh_app *app, lh_service needs, lh_resp *resp);
void resp_error(lh_resp *resp, const lh_err *err);
void resp_errorf(lh_resp *resp, lh_errcode code, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void resp_empty(lh_resp *resp, int status);
/* 200 with the file fd (taken over: closed after sending) of size bytes as
 * application/octet-stream. */
void resp_file(lh_resp *resp, int fd, int64_t size);
/* Adds a response header (name and value copied; no CR/LF allowed). */
void resp_header(lh_resp *resp, const char *name, const char *value);

/* Authenticates X-API-Key and checks the route's level through
 * access_authorize (auth.c): 0 with req->who set, else -1 with 401/403/429
 * in resp. */
int http_auth_check(lh_app *app, lh_req *req, lh_resp *resp);
/* The listening address for host (config_bind_address) and port (auth.c). */
struct sockaddr_storage;
int http_bind_address(const char *host, int port, struct sockaddr_storage *out, lh_err *err);

/* X-Lakehouse-Bucket on ingest routes (bucket_header.c): 0 to go on, else
 * -1 with the 404/422 in resp. */
int http_bucket_header_check(lh_app *app, lh_req *req, lh_resp *resp);
/* The X-Lakehouse-Bucket header's bucket (borrowed), NULL when absent. */
const char *http_req_bucket(lh_req *req);

/* The route table (routes.c) and the handlers (api_*.c). */
extern const lh_route lh_routes[];
extern const size_t lh_routes_count;

void api_health(lh_app *, lh_req *, lh_resp *);
void api_system_status(lh_app *, lh_req *, lh_resp *);
void api_metrics(lh_app *, lh_req *, lh_resp *);
void api_storage_get(lh_app *, lh_req *, lh_resp *);
void api_storage_delete(lh_app *, lh_req *, lh_resp *);
void api_storage_list(lh_app *, lh_req *, lh_resp *);
void api_storage_put_done(lh_app *, lh_req *, lh_resp *);
extern const lh_upload_ops api_storage_put_upload;
/* [{"key","size","modified"}] for an object listing (new reference);
 * reserved system keys only when show_reserved. */
json_t *api_objects_json(const lh_object_info *objs, size_t n, int show_reserved);
/* Reserved system storage through the object routes: 0 to go on; -1 with
 * 403 in resp for any write or delete, and for a non-admin read. */
int api_reserved_guard(lh_req *req, const char *key, int write, lh_resp *resp);
/* Upload ops shared by every route whose upload_state is an lh_storage_writer:
 * begin keeps w (from a *_writer_new, NULL with err: a reply in resp, -1);
 * take hands the writer over to the done handler (upload_state cleared). */
int api_writer_begin(lh_req *req, lh_storage_writer *w, const lh_err *err, lh_resp *resp);
lh_storage_writer *api_writer_take(lh_req *req);
int api_writer_data(lh_req *req, const char *data, size_t len, lh_err *err);
void api_writer_abort(lh_req *req);
/* bucket registry and bucket-aware object I/O (api_buckets.c) */
void api_buckets_list(lh_app *, lh_req *, lh_resp *);
void api_buckets_add(lh_app *, lh_req *, lh_resp *);
void api_buckets_remove(lh_app *, lh_req *, lh_resp *);
void api_buckets_health(lh_app *, lh_req *, lh_resp *);
void api_buckets_errors(lh_app *, lh_req *, lh_resp *);
void api_bucket_object_get(lh_app *, lh_req *, lh_resp *);
void api_bucket_object_delete(lh_app *, lh_req *, lh_resp *);
void api_bucket_objects_list(lh_app *, lh_req *, lh_resp *);
void api_bucket_object_put_done(lh_app *, lh_req *, lh_resp *);
extern const lh_upload_ops api_bucket_object_put_upload;
void api_catalog_register(lh_app *, lh_req *, lh_resp *);
void api_catalog_migrate_buckets(lh_app *, lh_req *, lh_resp *);
void api_catalog_list(lh_app *, lh_req *, lh_resp *);
void api_catalog_get(lh_app *, lh_req *, lh_resp *);
void api_catalog_patch(lh_app *, lh_req *, lh_resp *);
void api_catalog_delete(lh_app *, lh_req *, lh_resp *);
void api_catalog_append(lh_app *, lh_req *, lh_resp *);
void api_catalog_resync(lh_app *, lh_req *, lh_resp *);
void api_query_sql(lh_app *, lh_req *, lh_resp *);
void api_catalog_history(lh_app *, lh_req *, lh_resp *);
void api_ingest_db(lh_app *, lh_req *, lh_resp *);
void api_ingest_mysql(lh_app *, lh_req *, lh_resp *);
void api_ingest_postgres_import(lh_app *, lh_req *, lh_resp *);
void api_schedules_list(lh_app *, lh_req *, lh_resp *);
void api_schedules_create(lh_app *, lh_req *, lh_resp *);
void api_schedules_get(lh_app *, lh_req *, lh_resp *);
void api_schedules_update(lh_app *, lh_req *, lh_resp *);
void api_schedules_delete(lh_app *, lh_req *, lh_resp *);
void api_schedules_run(lh_app *, lh_req *, lh_resp *);
void api_ai_embed(lh_app *, lh_req *, lh_resp *);
void api_ai_generate(lh_app *, lh_req *, lh_resp *);
void api_ai_rerank(lh_app *, lh_req *, lh_resp *);
void api_ai_sql(lh_app *, lh_req *, lh_resp *);
void api_ai_admin_unload(lh_app *, lh_req *, lh_resp *);
void api_ai_admin_preload(lh_app *, lh_req *, lh_resp *);
void api_ai_admin_vram(lh_app *, lh_req *, lh_resp *);
void api_web_index(lh_app *, lh_req *, lh_resp *);
void api_web_asset(lh_app *, lh_req *, lh_resp *);
void api_catalog_profile(lh_app *, lh_req *, lh_resp *);
void api_catalog_summary(lh_app *, lh_req *, lh_resp *);
void api_tools_list(lh_app *, lh_req *, lh_resp *);
void api_tools_get(lh_app *, lh_req *, lh_resp *);
void api_tools_call(lh_app *, lh_req *, lh_resp *);
void api_tools_audit(lh_app *, lh_req *, lh_resp *);
void api_vectors_index(lh_app *, lh_req *, lh_resp *);
void api_vectors_list(lh_app *, lh_req *, lh_resp *);
void api_vectors_get(lh_app *, lh_req *, lh_resp *);
void api_vectors_delete(lh_app *, lh_req *, lh_resp *);
void api_vectors_search(lh_app *, lh_req *, lh_resp *);
/* The caller's role may see the column the index is built over (api_vectors.c;
 * body may be NULL; a "filter" in it runs as the caller, so it needs no check):
 * 0, or -1 with 403/404 in resp; audited. */
int api_vectors_visible(lh_app *app, lh_req *req, const char *index, const json_t *body, lh_resp *resp);
void api_vectors_rag(lh_app *, lh_req *, lh_resp *);
void api_vectors_refresh(lh_app *, lh_req *, lh_resp *);
void api_vectors_stale(lh_app *, lh_req *, lh_resp *);
void api_ivfpq_migrate(lh_app *, lh_req *, lh_resp *);
void api_ivfpq_index(lh_app *, lh_req *, lh_resp *);
void api_ivfpq_search(lh_app *, lh_req *, lh_resp *);
void api_ivfpq_doc(lh_app *, lh_req *, lh_resp *);
void api_ivfpq_append(lh_app *, lh_req *, lh_resp *);
void api_ivfpq_stats(lh_app *, lh_req *, lh_resp *);
void api_ivfpq_scalar_index(lh_app *, lh_req *, lh_resp *);
void api_ivfpq_recall(lh_app *, lh_req *, lh_resp *);
/* HNSW lab and autotune agent (api_lab.c), model profiles (api_profiles.c) */
void api_hnsw_evals_list(lh_app *, lh_req *, lh_resp *);
void api_hnsw_evals_create(lh_app *, lh_req *, lh_resp *);
void api_hnsw_evals_get(lh_app *, lh_req *, lh_resp *);
void api_hnsw_evals_autogen(lh_app *, lh_req *, lh_resp *);
void api_hnsw_trial(lh_app *, lh_req *, lh_resp *);
void api_hnsw_trials(lh_app *, lh_req *, lh_resp *);
void api_hnsw_trials_best(lh_app *, lh_req *, lh_resp *);
void api_hnsw_promote(lh_app *, lh_req *, lh_resp *);
void api_hnsw_rollback(lh_app *, lh_req *, lh_resp *);
void api_hnsw_promoted(lh_app *, lh_req *, lh_resp *);
void api_hnsw_autotune(lh_app *, lh_req *, lh_resp *);
void api_hnsw_cache_stats(lh_app *, lh_req *, lh_resp *);
void api_agent_status(lh_app *, lh_req *, lh_resp *);
void api_agent_stop(lh_app *, lh_req *, lh_resp *);
void api_agent_enqueue(lh_app *, lh_req *, lh_resp *);
void api_profiles_put(lh_app *, lh_req *, lh_resp *);
void api_profiles_list(lh_app *, lh_req *, lh_resp *);
void api_profiles_get(lh_app *, lh_req *, lh_resp *);
void api_profiles_delete(lh_app *, lh_req *, lh_resp *);
void api_profiles_activate(lh_app *, lh_req *, lh_resp *);
void api_profiles_search(lh_app *, lh_req *, lh_resp *);
void api_profiles_deactivate(lh_app *, lh_req *, lh_resp *);
void api_profiles_active(lh_app *, lh_req *, lh_resp *);
void api_vectors_refresher(lh_app *, lh_req *, lh_resp *);
void api_ingest_file(lh_app *, lh_req *, lh_resp *);
extern const lh_upload_ops api_ingest_file_upload;
void api_jobs_list(lh_app *, lh_req *, lh_resp *);
void api_jobs_get(lh_app *, lh_req *, lh_resp *);
void api_jobs_cancel(lh_app *, lh_req *, lh_resp *);
/* agent workspaces (api_workspace.c) and schema evolution (api_schema.c) */
void api_workspaces_list(lh_app *, lh_req *, lh_resp *);
void api_workspaces_create(lh_app *, lh_req *, lh_resp *);
void api_workspaces_get(lh_app *, lh_req *, lh_resp *);
void api_workspaces_delete(lh_app *, lh_req *, lh_resp *);
void api_workspaces_search(lh_app *, lh_req *, lh_resp *);
void api_workspaces_shortlist(lh_app *, lh_req *, lh_resp *);
void api_workspaces_items(lh_app *, lh_req *, lh_resp *);
void api_workspaces_activity(lh_app *, lh_req *, lh_resp *);
void api_workspaces_handoff(lh_app *, lh_req *, lh_resp *);
void api_workspaces_pin(lh_app *, lh_req *, lh_resp *);
void api_schema_diff(lh_app *, lh_req *, lh_resp *);
void api_catalog_schema_diff(lh_app *, lh_req *, lh_resp *);
/* hot cache and compaction (api_cache.c), AI-safe views and tombstones (api_views.c) */
void api_query_cache_pin(lh_app *, lh_req *, lh_resp *);
void api_query_cache_evict(lh_app *, lh_req *, lh_resp *);
void api_query_cache_stats(lh_app *, lh_req *, lh_resp *);
void api_query_compact(lh_app *, lh_req *, lh_resp *);
void api_views_put(lh_app *, lh_req *, lh_resp *);
void api_views_list(lh_app *, lh_req *, lh_resp *);
void api_views_get(lh_app *, lh_req *, lh_resp *);
void api_views_delete(lh_app *, lh_req *, lh_resp *);
void api_tombstone_add(lh_app *, lh_req *, lh_resp *);
void api_tombstone_list(lh_app *, lh_req *, lh_resp *);
/* event journal (api_journal.c) and access control (api_access.c) */
void api_journal_event(lh_app *, lh_req *, lh_resp *);
void api_journal_update(lh_app *, lh_req *, lh_resp *);
void api_journal_flush(lh_app *, lh_req *, lh_resp *);
void api_journal_history(lh_app *, lh_req *, lh_resp *);
void api_journal_recent(lh_app *, lh_req *, lh_resp *);
void api_journal_stats(lh_app *, lh_req *, lh_resp *);
void api_access_roles_list(lh_app *, lh_req *, lh_resp *);
void api_access_role_get(lh_app *, lh_req *, lh_resp *);
void api_access_role_put(lh_app *, lh_req *, lh_resp *);
void api_access_role_delete(lh_app *, lh_req *, lh_resp *);
void api_access_check(lh_app *, lh_req *, lh_resp *);
void api_access_query(lh_app *, lh_req *, lh_resp *);
void api_access_audit(lh_app *, lh_req *, lh_resp *);
void api_access_audit_verify(lh_app *, lh_req *, lh_resp *);
void api_access_keys_list(lh_app *, lh_req *, lh_resp *);
void api_access_key_create(lh_app *, lh_req *, lh_resp *);
void api_access_key_rotate(lh_app *, lh_req *, lh_resp *);
void api_access_key_revoke(lh_app *, lh_req *, lh_resp *);
/* Audits a POST /query/sql (called once the cursor is open or refused):
 * wraps resp's stream to record rows and time when it ends, or records the
 * refusal in err at once. */
void api_access_audit_sql(lh_app *app, lh_req *req, lh_resp *resp, const char *sql, const lh_err *err);

#endif
