/*
 * config.h — the server's configuration: defaults, then lakehouse.toml
 * (./lakehouse.toml when present, or the --config FILE, which must exist),
 * then LAKEHOUSE_* environment overrides.
 *
 * Keys are table-driven in config.c: one row per key with its section, type,
 * default and field offset, so adding a key is adding a row. A bad file or
 * value fails config_load with "file:line: problem" and the server does not
 * start. The lh_config returned is owned by the caller (config_free).
 */
#ifndef LH_COMMON_CONFIG_H
#define LH_COMMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"

typedef struct {
    char *key;          /* owned, may be NULL when key_sha256 is given */
    char *key_sha256;   /* owned, may be NULL: the key's SHA-256 in hex (lower case) */
    char *name;         /* owned, may be NULL */
    char *role;         /* owned, required: a role name the access registry knows */
    char *recruiter_id; /* owned, may be NULL: the principal's recruiter_id attribute */
} lh_api_key;

/* One [[storage.buckets]] entry (all strings owned; unset ones NULL). */
typedef struct {
    char *name;       /* registry name, e.g. "rescue" */
    char *backend;    /* "local" | "s3" */
    char *root;       /* local: folder */
    char *endpoint;   /* s3: "http://host:port" */
    char *bucket;     /* s3: bucket name */
    char *region;     /* s3: "us-east-1" when unset */
    char *secret_ref; /* s3: table name in the secrets file */
} lh_bucket_config;

typedef struct {
    struct {
        char *host;                /* NULL: see bind */
        char *bind;                /* NULL: 0.0.0.0 with auth on, 127.0.0.1 with auth off */
        int port;                  /* 3100 */
        int threads;               /* unused since thread-per-connection (ADR 0180); kept for old files */
        int64_t max_body_bytes;    /* JSON bodies: 10 MiB */
        int64_t max_upload_bytes;  /* object PUT / multipart: 4 GiB */
        int max_connections;       /* open connections (one thread each): 1024 */
        int64_t shutdown_grace_ms; /* SIGTERM: in-flight work may finish this long: 10000 */
        int64_t queue_timeout_ms;  /* longest wait in an admission queue: 10000 */
        /* admission budgets per kind of work (ADR 0181): running at once, waiting */
        int query_concurrency, query_queue;     /* 0 (= [query] pool_size), 64 */
        int ingest_concurrency, ingest_queue;   /* 2, 16 */
        int vector_concurrency, vector_queue;   /* 4, 32 */
        int admin_concurrency, admin_queue;     /* 2, 8 */
    } server;
    struct {
        char *root;                /* "./data": root of the primary bucket */
        int checkpoint_interval;   /* Delta checkpoint every N commits: 10 */
        char *rescue_bucket;       /* NULL: no rescue fallback on reads */
        char *secrets_file;        /* NULL: no secrets (S3 buckets need one); must be 0600 */
        char *secret_ref;          /* NULL: an s3:// root takes its keys from AWS_*; else this secrets-file table */
        char *s3_addressing;       /* "auto": virtual-hosted on amazonaws.com, path-style elsewhere | "path" | "virtual" */
        char *cache_dir;           /* NULL: $XDG_CACHE_HOME/lakehouse (~/.cache/lakehouse); remote buckets cache here */
        int64_t cache_max_gb;      /* each remote bucket's read cache: 10 (GiB); 0 = unbounded */
        int s3_max_attempts;       /* tries per S3 request on 5xx, 429, timeouts: 4 */
        lh_bucket_config *buckets; /* [[storage.buckets]], owned; "primary" is always root */
        size_t nbuckets;
    } storage;
    struct {
        int threads;               /* DuckDB threads, 0 = cores */
        int64_t memory_limit_mb;   /* 0 = DuckDB's default */
        int pool_size;             /* connections: 4 */
        int64_t default_limit;     /* rows when the request gives none: 10000 */
        int64_t max_limit;         /* hard cap: 1000000 */
        int64_t timeout_ms;        /* default query timeout: 30000 */
        int64_t max_result_mb;     /* one result's JSON at most: 256; 0 = no cap */
        int64_t cache_max_mb;      /* hot cache budget (pinned datasets in memory): 1024 */
    } query;
    struct {
        int enabled;               /* true */
        lh_api_key *keys;          /* owned array */
        size_t nkeys;
    } auth;
    struct {
        /* [[access.roles]]: custom roles (or built-ins other than admin redefined), each in the
         * JSON shape of POST /access/roles, validated by the access module at start (ADR 0243) */
        json_t *roles;             /* owned array of objects */
        char **role_where;         /* owned: "file:line" of each, for messages */
    } access;
    struct {
        char *log_level;           /* "info" */
        char *traces;              /* "" (off) | "stdout" | file path */
        char *service_name;        /* "lakehouse" */
    } telemetry;
    struct {
        char *provider;            /* "builtin" | "ollama" | "openai" */
        char *url;                 /* NULL: no LLM endpoint */
        char *model;               /* generation model */
        char *embed_model;         /* embedding model; builtin: "builtin-hash" */
        char *rerank_model;        /* cross-encoder at <url>/v1/rerank; NULL: lexical+vector rescoring */
        int dims;                  /* builtin embedder dims: 384 */
        int64_t timeout_ms;        /* per HTTP call: 60000 */
    } ai;
    struct {
        int enabled;               /* the HNSW autotune agent: false */
        int cycle_interval_s;      /* looks for changed indexes this often: 300 */
        int cooldown_s;            /* least time between two trials of one index: 900 */
        int min_recall_pct;        /* a promotion needs recall >= this %: 90 */
        int max_trials_per_hour;   /* trial budget across indexes: 6 */
        int epsilon_pct;           /* chance of exploring a random config: 20 */
        int eval_queries;          /* queries in the eval the agent makes: 20 */
    } agent;
    struct {
        int enabled;               /* internal gRPC CatalogService (h2c): true */
        int port;                  /* 3101; 0 = any free port. Taken: warn, serve without gRPC */
    } grpc;
} lh_config;

/* Loads defaults, then path (NULL: ./lakehouse.toml if present), then the
 * environment. Returns NULL with err ("file:line: problem") on failure. */
lh_config *config_load(const char *path, lh_err *err);
/* Same, from a TOML string (for tests); name is used in messages. */
lh_config *config_load_string(const char *toml, const char *name, lh_err *err);
void config_free(lh_config *cfg);

/* The address the HTTP and gRPC servers listen on: [server] bind, else
 * [server] host, else 0.0.0.0 with auth on and 127.0.0.1 (loopback only)
 * with auth off. Borrowed from cfg. */
const char *config_bind_address(const lh_config *cfg);

#endif
