/*
 * http.h — the gateway: libmicrohttpd server, route table, middleware
 * (request id, auth, tracing, metrics, size limits) and the api_*.c
 * handlers that translate HTTP to module calls.
 *
 * The modules themselves are built by main and handed in as an lh_app; the
 * server borrows them for its lifetime.
 */
#ifndef LH_HTTP_H
#define LH_HTTP_H

#include <stdint.h>

#include "access/access.h"
#include "ai/ai.h"
#include "catalog/catalog.h"
#include "common/config.h"
#include "common/err.h"
#include "ingest/schedule.h"
#include "jobs/jobs.h"
#include "journal/journal.h"
#include "lab/lab.h"
#include "query/query.h"
#include "storage/buckets.h"
#include "storage/storage.h"
#include "tools/tools.h"
#include "vector/index.h"
#include "workspace/workspace.h"

typedef struct lh_app {
    const lh_config *cfg;     /* borrowed */
    lh_storage *storage;      /* primary bucket, borrowed */
    lh_buckets *buckets;      /* bucket registry (primary + [[storage.buckets]]), borrowed */
    lh_catalog *catalog;      /* borrowed */
    lh_query_engine *query;   /* borrowed */
    lh_query_cache *cache;    /* hot cache in front of the engine's views, borrowed */
    lh_tools *tools;          /* borrowed */
    lh_ai *ai;                /* AI provider, borrowed */
    lh_scheduler *scheduler;  /* scheduled ingests, borrowed (NULL: not running) */
    lh_vindex *vectors;       /* vector indexes, borrowed (NULL: not running) */
    lh_vlab *lab;             /* HNSW lab, autotune agent, profiles, borrowed (NULL: not running) */
    lh_jobs *jobs;            /* background job pool, borrowed */
    lh_workspaces *workspaces; /* agent workspaces, borrowed (NULL: not running) */
    lh_journal *journal;      /* event journal, borrowed (NULL: not running) */
    lh_access *access;        /* roles, masking, query audit, borrowed (NULL: not running) */
    struct lh_admission *admission; /* the server's admission budgets, set by http_server_start */
    int64_t started_ms;
} lh_app;

typedef struct lh_http_server lh_http_server;

/* Starts listening on cfg->server.host:port; returns NULL with err on failure. */
lh_http_server *http_server_start(lh_app *app, lh_err *err);
/* Port actually bound (useful with port 0). */
int http_server_port(const lh_http_server *s);
/* Graceful shutdown, first half: stops accepting, answers new requests on
 * open connections 503 + Connection: close, waits up to grace_ms for the
 * requests in flight, then interrupts the rest (queued ones refused,
 * running SQL interrupted, jobs cancelled) and waits up to 2 s more.
 * Returns how many requests were still running. */
int http_server_drain(lh_http_server *s, int64_t grace_ms);
/* Closes every connection and frees the server. */
void http_server_stop(lh_http_server *s);

#endif
