/*
 * main.c — the `lakehouse` executable: a table of subcommands, each a small
 * function. `serve` wires the modules together (storage → catalog → query,
 * catalog views published into the query engine) and starts the gateway;
 * `sql` runs a query through a running server, or opens the data folder
 * directly when none answers; `version` prints the version.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ai/ai.h"
#include "catalog/catalog.h"
#include "cli/cli.h"
#include "common/config.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "common/version.h"
#include "demo/demo.h"
#include "grpc/grpc.h"
#include "http/http.h"
#include "ingest/ingest.h"
#include "jobs/jobs.h"
#include "query/query.h"
#include "storage/buckets.h"
#include "storage/storage.h"
#include "telemetry/trace.h"

typedef struct {
    const char *config_path;  /* --config FILE */
    int argc;                 /* arguments after the subcommand */
    char **argv;
} cli_args;

/* ---- app assembly ------------------------------------------------------- */

static void publish_views(void *ctx, uint64_t version, const char *const *names,
                          const char *const *selects, size_t n) {
    lh_err err = {0}; /* through the hot cache, which redirects pinned datasets */
    if (query_cache_set_views(ctx, version, names, selects, n, &err) != 0)
        LOG_ERROR("publishing views failed: %s", err.msg);
}

/* Row events of committed SQL writes go to the journal (ADR 0252); the
 * commit has happened, so a failure to record them is logged, not undone. */
static void journal_row_events(void *ctx, const char *dataset, const char *statement, int64_t version,
                               const char *principal, const json_t *events) {
    lh_app *app = ctx;
    lh_err err = {0};
    json_t *details = json_pack("{s:s, s:I, s:O}", "statement", statement, "version", (json_int_t)version, "key",
                                json_object_get(events, "key"));
    json_t *fit = json_deep_copy(events), *r = NULL; /* sensitive values redacted: read keys read the journal */
    if (catalog_redact_row_events(app->catalog, dataset, fit, &err) == 0)
        r = journal_record_rows(app->journal, dataset, fit, details, principal, &err);
    json_decref(fit);
    if (!r) LOG_ERROR("journal events of %s on %s (version %" PRId64 ") not recorded: %s", statement, dataset, version, err.msg);
    json_decref(r);
    json_decref(details);
}

/* File pruning: the catalog knows each dataset's files (ADR 0255). */
static int prune_files(void *ctx, const char *dataset, const lh_prune_term *terms, size_t n, lh_prune_plan *out) {
    return catalog_prune_sql(ctx, dataset, terms, n, out);
}

/* The AI provider from [ai]; the API key only ever comes from the
 * environment (LAKEHOUSE_AI_API_KEY, else OPENAI_API_KEY). */
static lh_ai *ai_open(const lh_config *cfg, lh_err *err) {
    const char *key = getenv("LAKEHOUSE_AI_API_KEY");
    lh_ai_config ac = {
        .provider = cfg->ai.provider,
        .url = cfg->ai.url,
        .model = cfg->ai.model,
        .embed_model = cfg->ai.embed_model,
        .rerank_model = cfg->ai.rerank_model,
        .api_key = key ? key : getenv("OPENAI_API_KEY"),
        .dims = cfg->ai.dims,
        .timeout_ms = cfg->ai.timeout_ms,
    };
    lh_ai *ai = ai_new(&ac, err); /* its errors name the [ai] key at fault */
    if (ai)
        LOG_INFO("ai: provider %s, embeddings %s%s%s", ai_provider_name(ai), ai_embed_model(ai),
                 ai_can_generate(ai) ? ", generation " : "",
                 ai_can_generate(ai) ? ai_generate_model(ai) : "");
    return ai;
}

/* The vector index service over the catalog, with vector_search() in SQL. */
static lh_vindex *vectors_open(lh_app *app, lh_err *err) {
    lh_vindex_config vc = {
        .storage = app->storage,
        .catalog = app->catalog,
        .jobs = app->jobs,
        .provider = vindex_provider_ai(app->ai),
        .threads = app->cfg->query.threads,
        .query = app->query,
    };
    lh_vindex *vx = vindex_open(&vc, err);
    if (vx && vindex_sql_register(vx, app->query, err) != 0) {
        vindex_free(vx);
        return NULL;
    }
    return vx;
}

/* The HNSW lab (trials, promotions, autotune agent, profiles) over the vectors. */
static lh_vlab *lab_open(lh_app *app, lh_err *err) {
    const lh_config *c = app->cfg;
    lh_vlab_config lc = {
        .storage = app->storage,
        .catalog = app->catalog,
        .vectors = app->vectors,
        .ai = app->ai,
        .threads = c->query.threads,
        .agent = {c->agent.enabled, c->agent.cycle_interval_s, c->agent.cooldown_s, c->agent.min_recall_pct,
                  c->agent.max_trials_per_hour, c->agent.epsilon_pct, c->agent.eval_queries},
    };
    return vlab_open(&lc, err);
}

static void app_close(lh_app *app) {
    scheduler_free(app->scheduler); /* first: its runs use the catalog */
    journal_free(app->journal); /* flushes what is buffered; before the query engine (its view) */
    access_free(app->access);
    vlab_free(app->lab); /* first of the vector side: stops the autotune agent */
    if (app->vectors) vindex_free(app->vectors); /* before the job pool: builds keep checkpoints */
    if (app->jobs) jobs_free(app->jobs); /* after the vector service, before what jobs use */
    if (app->ai) ai_free(app->ai);
    workspaces_free(app->workspaces);
    if (app->tools) tools_free(app->tools);
    if (app->catalog) catalog_free(app->catalog);
    if (app->query) query_engine_free(app->query);
    query_cache_free(app->cache); /* after the engine: its views call into the cache */
    buckets_free(app->buckets); /* borrows the primary bucket */
    if (app->storage) storage_free(app->storage);
    memset(app, 0, sizeof *app);
}

/* The primary bucket: [storage] root, a folder or s3://bucket/prefix (ADR 0230). */
static lh_storage *primary_open(const lh_config *cfg, lh_err *err) {
    lh_storage_root_config rc = {.root = cfg->storage.root, .secrets_file = cfg->storage.secrets_file,
                                 .secret_ref = cfg->storage.secret_ref, .addressing = cfg->storage.s3_addressing,
                                 .cache_dir = cfg->storage.cache_dir,
                                 .cache_max_bytes = cfg->storage.cache_max_gb << 30,
                                 .max_attempts = cfg->storage.s3_max_attempts};
    /* every module reads and writes through the storage API (ADR 0235, 0236) */
    return storage_open_root("primary", &rc, err);
}

static int app_open(lh_app *app, const lh_config *cfg, lh_err *err) {
    memset(app, 0, sizeof *app);
    app->cfg = cfg;
    app->started_ms = lh_now_ms();
    app->storage = primary_open(cfg, err);
    if (!app->storage) return -1;
    if (storage_lock(app->storage, err) != 0) { /* one process per data folder (ADR 0187) */
        storage_free(app->storage);
        app->storage = NULL;
        return -1;
    }
    storage_cleanup_temp(app->storage); /* safe: no other process is writing here */
    lh_buckets_config bc = {app->storage, cfg->storage.buckets, cfg->storage.nbuckets,
                            cfg->storage.rescue_bucket, cfg->storage.secrets_file,
                            cfg->storage.cache_dir, cfg->storage.cache_max_gb << 30};
    app->buckets = buckets_open(&bc, err); /* primary + [[storage.buckets]], probed */
    if (!app->buckets) goto fail;
    const char *roots[64]; /* local buckets and S3 caches user SQL may read besides primary */
    size_t nroots = buckets_local_roots(app->buckets, roots, 64);
    lh_query_config qc = {
        .threads = cfg->query.threads,
        .memory_limit_mb = cfg->query.memory_limit_mb,
        .pool_size = cfg->query.pool_size,
        .default_limit = cfg->query.default_limit,
        .max_limit = cfg->query.max_limit,
        .default_timeout_ms = cfg->query.timeout_ms,
        .max_result_bytes = cfg->query.max_result_mb << 20,
        .allowed_root = storage_local_dir(app->storage), /* remote primary: its cache folder */
        .extra_roots = roots,
        .nextra_roots = nroots < 64 ? nroots : 64,
    };
    app->query = query_engine_new(&qc, err);
    if (!app->query) goto fail;
    lh_catalog_options co = {
        .checkpoint_interval = cfg->storage.checkpoint_interval,
        .duckdb_threads = cfg->query.threads,
        .duckdb_memory_mb = cfg->query.memory_limit_mb, /* the catalog's own engine (ingest conversions) gets the same cap */
        .buckets = app->buckets, /* datasets of other buckets (ADR 0237) */
    };
    app->catalog = catalog_open(app->storage, &co, err);
    if (!app->catalog) goto fail;
    app->cache = query_cache_new(app->query, cfg->query.cache_max_mb << 20, err);
    if (!app->cache) goto fail;
    /* the fetch hook and the pruner come first: publishing the views binds
     * them, and on a remote bucket that bind reads files it must fetch */
    if (buckets_may_be_remote(app->buckets)) /* views read cached copies: refetch what was evicted (ADR 0235, 0237) */
        query_engine_set_prepare(app->query, catalog_fetch_for_sql, catalog_release_files, app->catalog);
    query_engine_set_pruner(app->query, prune_files, app->catalog);
    catalog_set_views_listener(app->catalog, publish_views, app->cache);
    app->tools = tools_new(app->query, app->catalog, app->storage, err);
    if (!app->tools) goto fail;
    app->ai = ai_open(cfg, err);
    if (!app->ai) goto fail;
    app->jobs = jobs_new(0, app->storage, err);
    if (!app->jobs) goto fail;
    app->vectors = vectors_open(app, err);
    if (!app->vectors) goto fail;
    app->lab = lab_open(app, err);
    if (!app->lab) goto fail;
    app->workspaces = workspaces_open(app->storage, err); /* loads _workspaces/, purges expired */
    if (!app->workspaces) goto fail;
    app->journal = journal_open(app->storage, NULL, err); /* flush thread; events in _journal/ */
    if (!app->journal || journal_sql_register(app->journal, app->query, err) != 0) goto fail;
    query_set_row_events_sink(app->query, journal_row_events, app);
    app->access = access_open(app->storage, app->catalog, app->query, err); /* roles, audit log */
    if (!app->access) goto fail;
    return 0;
fail:
    app_close(app);
    return -1;
}

static lh_config *load_config(const cli_args *a) {
    lh_err err = {0};
    lh_config *cfg = config_load(a->config_path, &err);
    if (!cfg) {
        fprintf(stderr, "lakehouse: %s\n", err.msg);
        return NULL;
    }
    lh_log_level lvl;
    if (lh_log_level_parse(cfg->telemetry.log_level, &lvl) == 0) lh_log_set_level(lvl);
    return cfg;
}

/* The server a CLI command talks to: --server URL, else this machine's
 * configured port. */
static void cli_base_url(const char *server, const lh_config *cfg, char *base, size_t cap) {
    if (server) snprintf(base, cap, "%s", server);
    else snprintf(base, cap, "http://127.0.0.1:%d", cfg->server.port);
}

/* ---- subcommands -------------------------------------------------------- */

/* A shutdown that is still not done 15 s after its grace period (a handler
 * stuck in something no interrupt reaches) ends the process anyway. */
static void *backstop_main(void *arg) {
    int64_t ms = *(int64_t *)arg + 15000;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
    LOG_ERROR("shutdown: still not done %lld ms after the signal; exiting now", (long long)ms);
    _exit(3);
}

static void shutdown_backstop_start(int64_t grace_ms) {
    static int64_t arg;
    arg = grace_ms;
    pthread_t t;
    lh_err err = {0};
    if (lh_thread_start(&t, NULL, backstop_main, &arg, "shutdown backstop", &err) == 0) pthread_detach(t);
    else LOG_WARN("shutdown: %s; a stuck shutdown will not be cut short", err.msg);
}

static int cmd_serve(const cli_args *a) {
    lh_config *cfg = load_config(a);
    if (!cfg) return 2;
    lh_err err = {0};
    if (trace_configure(cfg->telemetry.traces, cfg->telemetry.service_name, &err) != 0) {
        fprintf(stderr, "lakehouse: telemetry: %s\n", err.msg);
        config_free(cfg);
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread started below inherits it */
    signal(SIGPIPE, SIG_IGN);
    lh_app app;
    if (app_open(&app, cfg, &err) != 0) {
        LOG_ERROR("startup failed: %s", err.msg);
        config_free(cfg);
        return 1;
    }
    if (access_auth_configure(app.access, cfg, &err) != 0) { /* API keys; the first admin key */
        LOG_ERROR("startup failed: %s", err.msg);
        app_close(&app);
        config_free(cfg);
        return 1;
    }
    app.scheduler = scheduler_open(app.storage, scheduler_db_runner, app.catalog, &err);
    if (!app.scheduler || scheduler_start(app.scheduler, &err) != 0) {
        LOG_ERROR("startup failed: scheduler: %s", err.msg);
        app_close(&app);
        config_free(cfg);
        return 1;
    }
    /* load indexes, resume interrupted builds; the autotune agent, when [agent] enabled */
    if (vindex_start(app.vectors, &err) != 0 || vlab_start(app.lab, &err) != 0) {
        LOG_ERROR("startup failed: %s", err.msg);
        app_close(&app);
        config_free(cfg);
        return 1;
    }
    lh_http_server *srv = http_server_start(&app, &err);
    if (!srv) {
        LOG_ERROR("startup failed: %s", err.msg);
        app_close(&app);
        config_free(cfg);
        return 1;
    }
    LOG_INFO("lakehouse %s serving on %s:%d, data in %s", LH_VERSION, config_bind_address(cfg),
             http_server_port(srv), storage_root(app.storage));
    if (!cfg->auth.enabled)
        LOG_WARN("auth is OFF: every caller is admin; listening on %s only (set [server] bind to change it)",
                 config_bind_address(cfg));
    lh_grpc_server *gsrv = NULL; /* a taken port costs gRPC, not the server (ADR 0142) */
    if (cfg->grpc.enabled && !(gsrv = grpc_server_start(cfg, app.catalog, app.access, &err)))
        LOG_WARN("gRPC disabled: %s", err.msg);
    else if (gsrv)
        LOG_INFO("gRPC CatalogService (h2c) on %s:%d", config_bind_address(cfg), grpc_server_port(gsrv));
    int sig = 0;
    sigwait(&set, &sig);
    LOG_INFO("signal %d: shutting down", sig);
    shutdown_backstop_start(cfg->server.shutdown_grace_ms);
    grpc_server_stop(gsrv);
    http_server_drain(srv, cfg->server.shutdown_grace_ms); /* bounded: grace, then interrupt (ADR 0182) */
    http_server_stop(srv);
    app_close(&app); /* flushes the journal and what else must be durable */
    config_free(cfg);
    return 0;
}

/* Runs sql on the data folder in this process; returns the result document. */
static json_t *sql_local(const lh_config *cfg, const char *sql, int64_t limit, lh_err *err) {
    lh_app app;
    if (app_open(&app, cfg, err) != 0) return NULL;
    json_t *res = NULL;
    lh_query_cursor *c = query_open(app.query, sql, limit, -1, err);
    if (c) {
        lh_strbuf sb = LH_STRBUF_INIT;
        char buf[65536];
        long n;
        while ((n = query_cursor_read(c, buf, sizeof buf, err)) != 0)
            if (n > 0) sb_append(&sb, buf, (size_t)n);
        query_cursor_free(c);
        json_error_t je;
        res = json_loadb(sb.buf ? sb.buf : "", sb.len, 0, &je);
        if (!res) lh_err_set(err, LH_E_INTERNAL, "bad result document: %s", je.text);
        sb_free(&sb);
    }
    app_close(&app);
    return res;
}

static json_t *sql_remote(const lh_config *cfg, const char *base, const char *sql, int64_t limit,
                          lh_err *err) {
    json_t *body = json_pack("{s:s}", "sql", sql);
    if (limit > 0) json_object_set_new(body, "limit", json_integer(limit));
    const char *key = getenv("LAKEHOUSE_API_KEY");
    if (!key && cfg->auth.nkeys > 0) key = cfg->auth.keys[0].key;
    long status = 0;
    json_t *res = cli_http_post_json(base, "/query/sql", key, body, &status, err);
    json_decref(body);
    if (res && status != 200) {
        json_t *e = json_object_get(res, "error");
        lh_err_set(err, LH_E_BAD_REQUEST, "%s (HTTP %ld)",
                   json_string_value(json_object_get(e, "message")) ?: "error", status);
        json_decref(res);
        return NULL;
    }
    return res;
}

/* `lakehouse audit verify`: checks the audit chain in the data folder. */
static int cmd_audit(const cli_args *a) {
    if (a->argc < 1 || strcmp(a->argv[0], "verify")) {
        fprintf(stderr, "usage: lakehouse audit verify\n");
        return 2;
    }
    lh_config *cfg = load_config(a);
    if (!cfg) return 2;
    lh_err err = {0};
    lh_storage *st = primary_open(cfg, &err);
    json_t *r = st ? access_audit_verify(st, &err) : NULL;
    int rc = 1;
    if (r) {
        json_dumpf(r, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        rc = json_is_true(json_object_get(r, "ok")) ? 0 : 1;
    } else {
        fprintf(stderr, "lakehouse audit: %s\n", err.msg);
        rc = 2;
    }
    json_decref(r);
    storage_free(st);
    config_free(cfg);
    return rc;
}

static int cmd_sql(const cli_args *a) {
    const char *sql = NULL, *server = NULL;
    int local = 0, as_json = 0;
    int64_t limit = -1;
    for (int i = 0; i < a->argc; i++) {
        if (!strcmp(a->argv[i], "--local")) local = 1;
        else if (!strcmp(a->argv[i], "--json")) as_json = 1;
        else if (!strcmp(a->argv[i], "--server") && i + 1 < a->argc) server = a->argv[++i];
        else if (!strcmp(a->argv[i], "--limit") && i + 1 < a->argc) limit = atoll(a->argv[++i]);
        else if (!sql) sql = a->argv[i];
    }
    if (!sql) {
        fprintf(stderr, "usage: lakehouse sql \"<query>\" [--local] [--server URL] [--limit N] [--json]\n");
        return 2;
    }
    lh_config *cfg = load_config(a);
    if (!cfg) return 2;
    char base[256];
    cli_base_url(server, cfg, base, sizeof base);
    lh_err err = {0};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int remote = !local && (server || cli_server_alive(base));
    json_t *res = remote ? sql_remote(cfg, base, sql, limit, &err) : sql_local(cfg, sql, limit, &err);
    int rc = 0;
    if (!res) {
        fprintf(stderr, "error: %s\n", err.msg);
        rc = 1;
    } else if (as_json) {
        json_dumpf(res, stdout, JSON_COMPACT);
        fputc('\n', stdout);
    } else {
        cli_print_table(stdout, res);
    }
    json_decref(res);
    config_free(cfg);
    curl_global_cleanup();
    return rc;
}

static void demo_progress(void *ctx, const char *step, int done, int total) {
    (void)ctx;
    char label[64];
    snprintf(label, sizeof label, "demo: %s", step);
    cli_progress(label, done, total);
    if (!isatty(STDERR_FILENO)) LOG_INFO("demo: step %d/%d %s", done + 1 > total ? total : done + 1, total, step);
}

/* The demo's vector index: resumes, chunked and embedded with the
 * configured embedder (builtin by default). */
static int demo_index_resumes(lh_app *app, lh_err *err) {
    double t0 = lh_mono_s();
    cli_progress("demo: resumes index", 0, 1);
    lh_vbuild_req req = {.dataset = "candidates", .id_column = "candidate_id", .text_column = "resume_text",
                         .index_name = "resumes"};
    json_t *meta = vindex_build_sync(app->vectors, &req, err);
    if (!meta) return 1;
    cli_progress("demo: resumes index", 1, 1);
    LOG_INFO("demo: resumes index: %lld vectors in %.1f s", (long long)json_integer_value(json_object_get(meta, "vectors")),
             lh_mono_s() - t0);
    json_decref(meta);
    return 0;
}

/* lakehouse demo [--scale F] [--seed N] [--no-index]: generates the staffing datasets. */
static int cmd_demo(const cli_args *a) {
    lh_demo_options opt = {.scale = 1, .seed = DEMO_DEFAULT_SEED};
    int index = 1;
    for (int i = 0; i < a->argc; i++) {
        if (!strcmp(a->argv[i], "--scale") && i + 1 < a->argc) opt.scale = atof(a->argv[++i]);
        else if (!strcmp(a->argv[i], "--seed") && i + 1 < a->argc) opt.seed = strtoull(a->argv[++i], NULL, 10);
        else if (!strcmp(a->argv[i], "--no-index")) index = 0;
        else {
            fprintf(stderr, "usage: lakehouse demo [--scale F] [--seed N] [--no-index]\n");
            return 2;
        }
    }
    if (!(opt.scale > 0)) {
        fprintf(stderr, "lakehouse demo: --scale must be > 0\n");
        return 2;
    }
    lh_config *cfg = load_config(a);
    if (!cfg) return 2;
    lh_err err = {0};
    lh_app app;
    int rc = 1;
    double t0 = lh_mono_s();
    if (app_open(&app, cfg, &err) == 0) {
        rc = demo_generate(app.catalog, &opt, demo_progress, NULL, &err) == 0 ? 0 : 1;
        if (rc == 0 && index) rc = demo_index_resumes(&app, &err);
        app_close(&app);
    }
    if (rc != 0) fprintf(stderr, "lakehouse demo: %s\n", err.msg);
    else fprintf(stderr, "demo data ready in %s (%.1f s)\n", cfg->storage.root, lh_mono_s() - t0);
    config_free(cfg);
    return rc;
}

/* Ingests a file into the data folder in this process, as a job followed
 * with a progress bar. */
static json_t *ingest_local(const lh_config *cfg, const cli_ingest_opts *o, lh_err *err) {
    lh_app app;
    if (app_open(&app, cfg, err) != 0) return NULL;
    lh_ingest_file_req r = {.path = o->path, .source_name = o->path, .dataset = o->dataset,
                            .format = o->format, .csv_header = -1,
                            .bad_rows = o->bad_rows && strcmp(o->bad_rows, "fail") ? INGEST_BAD_ROWS_SKIP
                                                                                   : INGEST_BAD_ROWS_FAIL};
    lh_ingest_task *t = ingest_task_new(app.catalog, app.storage, &r, NULL);
    char *id = jobs_submit(app.jobs, "ingest", ingest_task_run, t, ingest_task_free, err);
    json_t *res = id ? cli_follow_job(app.jobs, id, err) : NULL;
    if (res) json_object_set_new(res, "job_id", json_string(id));
    free(id);
    app_close(&app);
    return res;
}

/* lakehouse ingest <file> [--dataset N] [--format F] [--bad-rows skip]
 * [--local] [--server URL]: through a running server when one answers
 * (streamed upload), else straight into the data folder. */
static int cmd_ingest(const cli_args *a) {
    cli_ingest_opts o = {0};
    const char *server = NULL;
    int local = 0;
    for (int i = 0; i < a->argc; i++) {
        const char *arg = a->argv[i], *val = i + 1 < a->argc ? a->argv[i + 1] : NULL;
        if (!strcmp(arg, "--local")) local = 1;
        else if (!strcmp(arg, "--dataset") && val) o.dataset = a->argv[++i];
        else if (!strcmp(arg, "--format") && val) o.format = a->argv[++i];
        else if (!strcmp(arg, "--bad-rows") && val) o.bad_rows = a->argv[++i];
        else if (!strcmp(arg, "--server") && val) server = a->argv[++i];
        else if (!o.path && arg[0] != '-') o.path = arg;
        else o.path = NULL, i = a->argc;
    }
    if (!o.path) {
        fprintf(stderr, "usage: lakehouse ingest <file> [--dataset NAME] [--format csv|json|ndjson|pdf|txt|sms] "
                        "[--bad-rows fail|skip] [--local] [--server URL]\n");
        return 2;
    }
    if (access(o.path, R_OK) != 0) {
        fprintf(stderr, "lakehouse ingest: cannot read %s\n", o.path);
        return 1;
    }
    lh_config *cfg = load_config(a);
    if (!cfg) return 2;
    char base[256];
    cli_base_url(server, cfg, base, sizeof base);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    lh_err err = {0};
    json_t *res;
    if (!local && (server || cli_server_alive(base))) {
        const char *key = getenv("LAKEHOUSE_API_KEY");
        if (!key && cfg->auth.nkeys > 0) key = cfg->auth.keys[0].key;
        res = cli_ingest_remote(base, key, &o, &err);
    } else {
        res = ingest_local(cfg, &o, &err);
    }
    int rc = 0;
    if (res) {
        json_dumpf(res, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else {
        fprintf(stderr, "error: %s\n", err.msg);
        if (err.hint[0]) fprintf(stderr, "hint: %s\n", err.hint);
        rc = 1;
    }
    json_decref(res);
    config_free(cfg);
    curl_global_cleanup();
    return rc;
}

static int cmd_version(const cli_args *a) {
    (void)a;
    printf("lakehouse %s\n", LH_VERSION);
    return 0;
}

static int cmd_help(const cli_args *a);

static const struct {
    const char *name;
    int (*fn)(const cli_args *);
    const char *usage;
} commands[] = {
    {"serve", cmd_serve, "serve                 run the HTTP server (port from config)"},
    {"sql", cmd_sql, "sql \"<query>\" [opts]  run SQL via a running server or the data folder"},
    {"demo", cmd_demo, "demo [--scale F] [--seed N]  generate the staffing demo datasets"},
    {"ingest", cmd_ingest, "ingest <file> [opts]  load a CSV/JSON/PDF/text/SMS file into a dataset"},
    {"audit", cmd_audit, "audit verify          check the audit log's hash chain (exit 1 when tampered)"},
    {"version", cmd_version, "version               print the version"},
    {"help", cmd_help, "help                  this text"},
};

static int cmd_help(const cli_args *a) {
    (void)a;
    printf("usage: lakehouse [--config FILE] <command> [args]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("  %s\n", commands[i].usage);
    return 0;
}

int main(int argc, char **argv) {
    cli_args a = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) a.config_path = argv[++i];
        else if (!strcmp(argv[i], "--version")) return cmd_version(&a);
        else {
            fprintf(stderr, "lakehouse: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    const char *name = i < argc ? argv[i++] : "help";
    /* --config may also follow the subcommand */
    char **rest = lh_calloc((size_t)argc + 1, sizeof *rest);
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) a.config_path = argv[++i];
        else rest[a.argc++] = argv[i];
    }
    a.argv = rest;
    int rc = 2;
    size_t k = 0;
    for (; k < sizeof commands / sizeof commands[0]; k++)
        if (!strcmp(name, commands[k].name)) break;
    if (k == sizeof commands / sizeof commands[0]) fprintf(stderr, "lakehouse: unknown command '%s'\n", name);
    else rc = commands[k].fn(&a);
    free(rest);
    return rc;
}
