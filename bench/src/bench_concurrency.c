/*
 * bench_concurrency.c — the in-process peers of bench/bench_concurrency.sh
 * (the HTTP side is tests/helpers/load_client.c, `bench` mode). Runs the
 * same requests from THREADS threads for SECONDS and prints the line
 * load_client prints: "clients N ok N busy 0 bad 0 rps X p50_ms X p99_ms X".
 *
 *   bench_concurrency duck DATA_DIR SECONDS THREADS point|groupby
 *       DuckDB in process (one connection per thread) over views on the
 *       Parquet files of the demo tables — the SQL load_client sends.
 *   bench_concurrency inproc DATA_DIR SECONDS THREADS tool|vector
 *       the lakehouse modules in process, no HTTP: tools_call
 *       search_candidates / vindex_search_ex on the "resumes" index, with
 *       the parameters load_client sends. DuckDB alone has no vector
 *       search, so this is the peer for those two.
 *
 * The SQL and parameters here must stay those of load_client.c's op_run.
 */
#include <duckdb.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai.h"
#include "catalog/catalog.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "jobs/jobs.h"
#include "query/query.h"
#include "storage/storage.h"
#include "tools/tools.h"
#include "vector/index.h"

#define CANDIDATES 1000
static const char *const skills[] = {"java developer", "registered nurse", "forklift operator", "data engineer",
                                     "accountant", "welder", "python", "customer service", "project manager",
                                     "phlebotomist"};
#define NSKILLS (sizeof skills / sizeof skills[0])

static void die(const char *what, const char *msg) {
    fprintf(stderr, "bench_concurrency: %s: %s\n", what, msg ? msg : "failed");
    exit(1);
}

static uint64_t rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ---- the modules, opened as `lakehouse serve` opens them ------------------ */

typedef struct {
    lh_storage *st;
    lh_query_engine *q;
    lh_catalog *cat;
    lh_ai *ai;
    lh_jobs *jobs;
    lh_vindex *vx;
    lh_tools *tools;
    duckdb_database duck;
} world;

static void publish(void *ctx, uint64_t version, const char *const *names, const char *const *selects, size_t n) {
    lh_err err = {0};
    if (query_engine_set_views(ctx, version, names, selects, n, &err) != 0) die("views", err.msg);
}

static void world_open(world *w, const char *data_dir, int with_vectors) {
    lh_err err = {0};
    memset(w, 0, sizeof *w);
    w->st = storage_open_local("primary", data_dir, &err);
    if (!w->st) die("storage", err.msg);
    lh_query_config qc = {.pool_size = 4, .default_limit = 10000, .max_limit = 1000000,
                          .default_timeout_ms = 30000, .allowed_root = storage_root(w->st)};
    w->q = query_engine_new(&qc, &err);
    if (!w->q) die("query engine", err.msg);
    lh_catalog_options co = {.checkpoint_interval = 10};
    w->cat = catalog_open(w->st, &co, &err);
    if (!w->cat) die("catalog", err.msg);
    catalog_set_views_listener(w->cat, publish, w->q);
    if (!with_vectors) return;
    lh_ai_config ac = {0};
    w->ai = ai_new(&ac, &err);
    w->jobs = w->ai ? jobs_new(0, NULL, &err) : NULL;
    if (!w->jobs) die("ai/jobs", err.msg);
    lh_vindex_config vc = {.storage = w->st, .catalog = w->cat, .jobs = w->jobs,
                           .provider = vindex_provider_ai(w->ai), .query = w->q};
    w->vx = vindex_open(&vc, &err);
    if (!w->vx || vindex_sql_register(w->vx, w->q, &err) != 0) die("vectors", err.msg);
    w->tools = tools_new(w->q, w->cat, w->st, &err);
    if (!w->tools) die("tools", err.msg);
}

static void world_close(world *w) {
    tools_free(w->tools);
    if (w->vx) vindex_free(w->vx);
    if (w->jobs) jobs_free(w->jobs);
    if (w->ai) ai_free(w->ai);
    catalog_free(w->cat);
    query_engine_free(w->q);
    storage_free(w->st);
    if (w->duck) duckdb_close(&w->duck);
}

/* An in-memory DuckDB with a plain view per table over its Parquet files. */
static void duck_open(world *w, const char *table) {
    lh_err err = {0};
    json_t *m = catalog_get(w->cat, table, &err);
    if (!m) die("catalog_get", err.msg);
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_puts(&sql, "CREATE VIEW ");
    sb_sql_ident(&sql, table);
    sb_puts(&sql, " AS SELECT * FROM read_parquet([");
    size_t i;
    json_t *f;
    const char *loc = json_string_value(json_object_get(m, "location"));
    json_array_foreach(json_object_get(m, "files"), i, f) {
        char *key = lh_asprintf("%s/%s", loc, json_string_value(json_object_get(f, "path")));
        char *path = storage_path(w->st, key);
        if (i) sb_putc(&sql, ',');
        sb_sql_str(&sql, path);
        free(path);
        free(key);
    }
    sb_puts(&sql, "])");
    json_decref(m);
    duckdb_connection c;
    duckdb_result r;
    if (duckdb_open(NULL, &w->duck) != DuckDBSuccess || duckdb_connect(w->duck, &c) != DuckDBSuccess)
        die("duckdb", "cannot open");
    if (duckdb_query(c, sql.buf, &r) != DuckDBSuccess) die("duckdb view", duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    duckdb_disconnect(&c);
    sb_free(&sql);
}

/* ---- the measured loop ----------------------------------------------------- */

typedef enum { OP_POINT, OP_GROUPBY, OP_TOOL, OP_VECTOR } op_kind;

typedef struct {
    world *w;
    op_kind op;
    long id;
    double t_end;
    double *lat;
    size_t n, cap;
} worker;

static void run_one(worker *k, duckdb_connection conn, uint64_t *seed) {
    char buf[512];
    lh_err err = {0};
    if (k->op == OP_POINT || k->op == OP_GROUPBY) {
        if (k->op == OP_POINT)
            snprintf(buf, sizeof buf,
                     "SELECT candidate_id, first_name, last_name, city, state, status FROM candidates "
                     "WHERE candidate_id = %llu",
                     (unsigned long long)(rnd(seed) % CANDIDATES + 1));
        else
            snprintf(buf, sizeof buf, "SELECT state, count(*) AS n, avg(desired_salary) AS avg_salary FROM candidates "
                                      "GROUP BY state ORDER BY n DESC, state");
        duckdb_result r;
        if (duckdb_query(conn, buf, &r) != DuckDBSuccess) die("duckdb", duckdb_result_error(&r));
        duckdb_destroy_result(&r);
    } else if (k->op == OP_TOOL) {
        json_t *p = json_pack("{s:s, s:i}", "skills", skills[rnd(seed) % NSKILLS], "limit", 10);
        json_t *res = tools_call(k->w->tools, "search_candidates", p, "bench", LH_PERM_READ, &err);
        json_decref(p);
        if (!res) die("search_candidates", err.msg);
        json_decref(res);
    } else {
        json_t *body = json_pack("{s:s, s:s, s:i}", "index", "resumes", "query", skills[rnd(seed) % NSKILLS], "k", 10);
        lh_vsearch_opts o;
        vindex_search_opts_init(&o);
        if (vindex_search_opts_parse(body, 1000, &o, &err) != 0) die("opts", err.msg);
        lh_vresults out = {0};
        if (vindex_search_ex(k->w->vx, "resumes", json_string_value(json_object_get(body, "query")), &o, &out, &err) !=
            0)
            die("vector search", err.msg);
        vindex_results_free(&out);
        json_decref(body);
    }
}

static void *worker_main(void *arg) {
    worker *k = arg;
    uint64_t seed = 0x9E3779B97F4A7C15ull ^ (uint64_t)(k->id + 1) * 0x100000001B3ull;
    duckdb_connection conn = NULL;
    if (k->w->duck && duckdb_connect(k->w->duck, &conn) != DuckDBSuccess) die("duckdb", "connect");
    while (lh_mono_s() < k->t_end) {
        double t0 = lh_mono_s();
        run_one(k, conn, &seed);
        if (k->n == k->cap) {
            k->cap = k->cap ? k->cap * 2 : 1024;
            k->lat = lh_realloc(k->lat, k->cap * sizeof *k->lat);
        }
        k->lat[k->n++] = lh_mono_s() - t0;
    }
    if (conn) duckdb_disconnect(&conn);
    return NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *s, size_t n, double p) {
    if (n == 0) return 0;
    size_t k = (size_t)(p * (double)n + 0.999999);
    return s[(k ? k : 1) - 1];
}

int main(int argc, char **argv) {
    static const char *const names[] = {"point", "groupby", "tool", "vector"};
    int op = -1;
    for (int i = 0; argc == 6 && i < 4; i++)
        if (!strcmp(argv[5], names[i])) op = i;
    int duck = argc == 6 && !strcmp(argv[1], "duck") && (op == OP_POINT || op == OP_GROUPBY);
    int inproc = argc == 6 && !strcmp(argv[1], "inproc") && (op == OP_TOOL || op == OP_VECTOR);
    if (!duck && !inproc) {
        fprintf(stderr, "usage: bench_concurrency duck DATA_DIR SECONDS THREADS point|groupby\n"
                        "       bench_concurrency inproc DATA_DIR SECONDS THREADS tool|vector\n");
        return 2;
    }
    double seconds = atof(argv[3]);
    int threads = atoi(argv[4]);
    world w;
    world_open(&w, argv[2], inproc);
    if (duck) duck_open(&w, "candidates");
    worker *ks = lh_calloc((size_t)threads, sizeof *ks);
    pthread_t *th = lh_calloc((size_t)threads, sizeof *th);
    { /* warm-up: caches, first index load */
        worker warm = {.w = &w, .op = (op_kind)op, .t_end = lh_mono_s() + 0.3};
        worker_main(&warm);
        free(warm.lat);
    }
    double t0 = lh_mono_s();
    for (int i = 0; i < threads; i++) {
        ks[i] = (worker){.w = &w, .op = (op_kind)op, .id = i, .t_end = t0 + seconds};
        pthread_create(&th[i], NULL, worker_main, &ks[i]);
    }
    size_t total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += ks[i].n;
    }
    double wall = lh_mono_s() - t0;
    double *all = lh_malloc((total ? total : 1) * sizeof *all);
    size_t at = 0;
    for (int i = 0; i < threads; i++) {
        memcpy(all + at, ks[i].lat, ks[i].n * sizeof *all);
        at += ks[i].n;
        free(ks[i].lat);
    }
    qsort(all, total, sizeof *all, cmp_double);
    printf("clients %d ok %zu busy 0 bad 0 rps %.1f p50_ms %.2f p99_ms %.2f\n", threads, total, (double)total / wall,
           pct(all, total, 0.5) * 1000.0, pct(all, total, 0.99) * 1000.0);
    free(all);
    free(ks);
    free(th);
    world_close(&w);
    return 0;
}
