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
/* A route's handler; api_*.c declare theirs below as lh_handler. */
typedef void lh_handler(lh_app *app, lh_req *req, lh_resp *resp);
typedef lh_handler *lh_handler_fn;

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

lh_handler api_health, api_system_status, api_metrics; /* api_core.c */
lh_handler api_storage_get, api_storage_delete, api_storage_list, api_storage_put_done; /* api_storage.c */
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
/* api_buckets.c: the bucket registry and bucket-aware object I/O */
lh_handler api_buckets_list, api_buckets_add, api_buckets_remove, api_buckets_health, api_buckets_errors,
    api_bucket_object_get, api_bucket_object_delete, api_bucket_objects_list, api_bucket_object_put_done;
extern const lh_upload_ops api_bucket_object_put_upload;
/* api_catalog.c */
lh_handler api_catalog_register, api_catalog_migrate_buckets, api_catalog_list, api_catalog_get, api_catalog_patch,
    api_catalog_delete, api_catalog_append, api_catalog_resync;
lh_handler api_query_sql, api_catalog_history; /* api_query.c */
lh_handler api_ingest_db, api_ingest_mysql, api_ingest_postgres_import; /* api_ingest_db.c */
/* api_schedules.c */
lh_handler api_schedules_list, api_schedules_create, api_schedules_get, api_schedules_update, api_schedules_delete,
    api_schedules_run;
lh_handler api_ai_embed, api_ai_generate, api_ai_rerank; /* api_ai.c */
lh_handler api_ai_sql; /* api_insight.c */
lh_handler api_ai_admin_unload, api_ai_admin_preload, api_ai_admin_vram; /* api_ai_admin.c */
lh_handler api_web_index, api_web_asset; /* api_web.c */
lh_handler api_catalog_profile, api_catalog_summary; /* api_insight.c */
lh_handler api_tools_list, api_tools_get, api_tools_call, api_tools_audit; /* api_tools.c */
/* api_vectors.c */
lh_handler api_vectors_index, api_vectors_list, api_vectors_get, api_vectors_delete, api_vectors_search;
/* The caller's role may see the column the index is built over (api_vectors.c;
 * body may be NULL; a "filter" in it runs as the caller, so it needs no check):
 * 0, or -1 with 403/404 in resp; audited. */
int api_vectors_visible(lh_app *app, lh_req *req, const char *index, const json_t *body, lh_resp *resp);
lh_handler api_vectors_rag, api_vectors_refresh, api_vectors_stale;
/* api_vectors_disk.c */
lh_handler api_ivfpq_migrate, api_ivfpq_index, api_ivfpq_search, api_ivfpq_doc, api_ivfpq_append, api_ivfpq_stats,
    api_ivfpq_scalar_index, api_ivfpq_recall;
/* api_lab.c: the HNSW lab and autotune agent */
lh_handler api_hnsw_evals_list, api_hnsw_evals_create, api_hnsw_evals_get, api_hnsw_evals_autogen, api_hnsw_trial,
    api_hnsw_trials, api_hnsw_trials_best, api_hnsw_promote, api_hnsw_rollback, api_hnsw_promoted, api_hnsw_autotune,
    api_hnsw_cache_stats, api_agent_status, api_agent_stop, api_agent_enqueue;
/* api_profiles.c: model profiles */
lh_handler api_profiles_put, api_profiles_list, api_profiles_get, api_profiles_delete, api_profiles_activate,
    api_profiles_search, api_profiles_deactivate, api_profiles_active, api_vectors_refresher;
lh_handler api_ingest_file; /* api_ingest.c */
extern const lh_upload_ops api_ingest_file_upload;
lh_handler api_jobs_list, api_jobs_get, api_jobs_cancel; /* api_jobs.c */
/* api_workspace.c: agent workspaces */
lh_handler api_workspaces_list, api_workspaces_create, api_workspaces_get, api_workspaces_delete,
    api_workspaces_search, api_workspaces_shortlist, api_workspaces_items, api_workspaces_activity,
    api_workspaces_handoff, api_workspaces_pin;
lh_handler api_schema_diff, api_catalog_schema_diff; /* api_schema.c: schema evolution */
/* the hot cache and compaction, AI-safe views and tombstones */
lh_handler api_query_cache_pin, api_query_cache_evict, api_query_cache_stats, api_query_compact; /* api_cache.c */
lh_handler api_views_put, api_views_list, api_views_get, api_views_delete, api_tombstone_add,
    api_tombstone_list; /* api_views.c */
/* api_journal.c: the event journal */
lh_handler api_journal_event, api_journal_update, api_journal_flush, api_journal_history, api_journal_recent,
    api_journal_stats;
/* api_access.c: access control */
lh_handler api_access_roles_list, api_access_role_get, api_access_role_put, api_access_role_delete, api_access_check,
    api_access_query, api_access_audit, api_access_audit_verify, api_access_keys_list, api_access_key_create,
    api_access_key_rotate, api_access_key_revoke;
/* Audits a POST /query/sql (called once the cursor is open or refused):
 * wraps resp's stream to record rows and time when it ends, or records the
 * refusal in err at once. */
void api_access_audit_sql(lh_app *app, lh_req *req, lh_resp *resp, const char *sql, const lh_err *err);

#endif
