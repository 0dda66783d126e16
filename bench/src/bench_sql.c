/*
 * bench_sql.c — the measuring half of bench/bench_sql.sh (see
 * docs/BENCHMARKS.md). Subcommands:
 *
 *   bench_sql gen FILE ROWS
 *       writes the benchmark table (ROWS rows, 8 columns, deterministic)
 *       to a Parquet file with DuckDB.
 *   bench_sql queries
 *       prints the benchmark SQL as markdown (T stands for the table).
 *   bench_sql sql URL DATA_DIR TABLE RUNS LABEL
 *       times a filter, a group-by and a point lookup three ways,
 *       interleaved round by round so machine noise hits all of them alike:
 *         http   POST /query/sql on the running server (libcurl, one
 *                keep-alive connection; time to the last byte);
 *         engine the lakehouse query engine in this process over the same
 *                catalog views (query_open + JSON rendering, no HTTP);
 *         duckdb DuckDB in this process over the table's Parquet files
 *                (duckdb_query: time to materialise the full result);
 *         stream the same DuckDB, but as a streaming result fetched chunk
 *                by chunk (what the engine asks DuckDB for), to show what
 *                streaming itself costs.
 *       Prints one markdown table row per query.
 *   bench_sql json URL DATA_DIR TABLE RUNS ROWS SCRATCH_DIR LABEL
 *       JSON rendering rate of a ROWS-row, 8-column result: bytes/s over
 *       HTTP and in process, beside DuckDB's own JSON writer (COPY ... TO
 *       (FORMAT json)) as the peer. Prints markdown table rows.
 *
 * Row counts of the three paths are compared on every run; a mismatch is a
 * failure (exit 1), so the numbers always describe correct answers.
 */
#include <curl/curl.h>
#include <duckdb.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "query/query.h"
#include "storage/storage.h"

#define WARMUP 3
#define TARGET_RATIO 1.3
#define TARGET_JSON_MBS 100.0

static void die(const char *what, const char *msg) {
    fprintf(stderr, "bench_sql: %s: %s\n", what, msg ? msg : "failed");
    exit(1);
}

/* ---- statistics ---------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n) {
    double *s = lh_malloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
    return m;
}

/* Nearest-rank 90th percentile. */
static double p90(const double *v, int n) {
    double *s = lh_malloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    int k = (int)((9 * n + 9) / 10) - 1;
    double p = s[k < 0 ? 0 : k];
    free(s);
    return p;
}

/* ---- the benchmark table -------------------------------------------------- */

static const char *const GEN_SQL =
    "COPY (SELECT i AS id,"
    " TIMESTAMP '2024-01-01 00:00:00' + to_seconds(i * 37 %% 31536000) AS ts,"
    " 'cat_' || lpad(CAST(hash(i, 'c') %% 100 AS VARCHAR), 2, '0') AS category,"
    " (['north', 'south', 'east', 'west'])[1 + i %% 4] AS region,"
    " CAST(hash(i) %% 100000 AS DOUBLE) / 100.0 AS amount,"
    " CAST(hash(i, 'q') %% 50 AS INTEGER) AS qty,"
    " 'customer ' || CAST(i * 7919 %% 1000003 AS VARCHAR) AS name,"
    " i %% 3 = 0 AS active"
    " FROM range(%lld) r(i)) TO %s (FORMAT parquet, COMPRESSION snappy)";

typedef struct {
    const char *name;
    const char *sql; /* first %s = table identifier; second %s = a key (point lookup) */
} bench_query;

static const bench_query QUERIES[] = {
    {"filter", "SELECT id, category, amount, name FROM %s WHERE region = 'north' AND amount < 4.0"},
    {"group-by", "SELECT category, count(*) AS n, sum(qty) AS qty, avg(amount) AS avg_amount "
                 "FROM %s GROUP BY category ORDER BY category"},
    {"point lookup", "SELECT * FROM %s WHERE id = %s"},
};
#define NQUERIES (sizeof QUERIES / sizeof QUERIES[0])

static const char *const JSON_SQL = "SELECT * FROM %s LIMIT %lld";

static int cmd_gen(const char *file, long long rows) {
    duckdb_database db;
    duckdb_connection conn;
    if (duckdb_open(NULL, &db) != DuckDBSuccess || duckdb_connect(db, &conn) != DuckDBSuccess)
        die("duckdb", "cannot open");
    lh_strbuf path = LH_STRBUF_INIT;
    sb_sql_str(&path, file);
    char *sql = lh_asprintf(GEN_SQL, rows, path.buf);
    duckdb_result r;
    if (duckdb_query(conn, sql, &r) != DuckDBSuccess) die("gen", duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    free(sql);
    sb_free(&path);
    duckdb_disconnect(&conn);
    duckdb_close(&db);
    return 0;
}

static int cmd_queries(void) {
    printf("| query | SQL |\n| --- | --- |\n");
    for (size_t i = 0; i < NQUERIES; i++) {
        printf("| %s | `", QUERIES[i].name);
        printf(QUERIES[i].sql, "T", "<N/2+17>");
        printf("` |\n");
    }
    printf("| JSON rendering | `");
    printf(JSON_SQL, "T", 100000LL);
    printf("` |\n\nT has 8 columns: id BIGINT (0..N-1, sorted), ts TIMESTAMP, category VARCHAR "
           "(100 values), region VARCHAR (4), amount DOUBLE (0..999.99), qty INTEGER, name "
           "VARCHAR, active BOOLEAN; N rows. The filter keeps ~0.1%% "
           "of the rows.\n");
    return 0;
}

/* ---- a response sink: counts bytes, keeps the tail for "row_count" ------- */

typedef struct {
    size_t bytes;
    char tail[257];
    size_t tlen;
} sink;

static void sink_reset(sink *s) {
    s->bytes = 0;
    s->tlen = 0;
    s->tail[0] = 0;
}

static void sink_take(sink *s, const char *p, size_t n) {
    const size_t cap = sizeof s->tail - 1;
    s->bytes += n;
    if (n >= cap) {
        memcpy(s->tail, p + n - cap, cap);
        s->tlen = cap;
    } else {
        size_t keep = s->tlen + n > cap ? cap - n : s->tlen;
        memmove(s->tail, s->tail + s->tlen - keep, keep);
        memcpy(s->tail + keep, p, n);
        s->tlen = keep + n;
    }
    s->tail[s->tlen] = 0;
}

/* row_count of a rendered result document, -1 when absent. */
static long long sink_rows(const sink *s) {
    const char *p = strstr(s->tail, "\"row_count\":");
    return p ? strtoll(p + 12, NULL, 10) : -1;
}

/* ---- path 1: HTTP ------------------------------------------------------- */

typedef struct {
    CURL *h;
    struct curl_slist *hdrs;
    char *url;
    sink out;
} http_client;

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
    sink_take(ud, p, sz * n);
    return sz * n;
}

static void http_open(http_client *c, const char *base) {
    c->h = curl_easy_init();
    c->url = lh_asprintf("%s/query/sql", base);
    c->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c->h, CURLOPT_URL, c->url);
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->hdrs);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &c->out);
    curl_easy_setopt(c->h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
}

static void http_close(http_client *c) {
    curl_slist_free_all(c->hdrs);
    curl_easy_cleanup(c->h);
    free(c->url);
}

/* POSTs body; returns seconds to the last byte, dies on any failure. */
static double http_run(http_client *c, const char *body) {
    sink_reset(&c->out);
    curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    double t0 = lh_mono_s();
    CURLcode rc = curl_easy_perform(c->h);
    double dt = lh_mono_s() - t0;
    long status = 0;
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) die("http", curl_easy_strerror(rc));
    if (status != 200) die("http status", c->out.tail);
    return dt;
}

static char *request_body(const char *sql, long long limit) {
    json_t *j = json_pack("{s:s, s:I}", "sql", sql, "limit", (json_int_t)limit);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

/* ---- path 2: the lakehouse engine in process ---------------------------- */

typedef struct {
    lh_storage *st;
    lh_query_engine *q;
    lh_catalog *cat;
    sink out;
} engine;

static void publish(void *ctx, uint64_t version, const char *const *names,
                    const char *const *selects, size_t n) {
    lh_err err = {0};
    if (query_engine_set_views(ctx, version, names, selects, n, &err) != 0) die("views", err.msg);
}

/* The same modules, settings and views as `lakehouse serve` with defaults. */
static void engine_open(engine *e, const char *data_dir) {
    lh_err err = {0};
    e->st = storage_open_local("primary", data_dir, &err);
    if (!e->st) die("storage", err.msg);
    lh_query_config qc = {.pool_size = 4, .default_limit = 10000, .max_limit = 1000000,
                          .default_timeout_ms = 30000, .allowed_root = storage_root(e->st)};
    e->q = query_engine_new(&qc, &err);
    if (!e->q) die("query engine", err.msg);
    lh_catalog_options co = {.checkpoint_interval = 10};
    e->cat = catalog_open(e->st, &co, &err);
    if (!e->cat) die("catalog", err.msg);
    catalog_set_views_listener(e->cat, publish, e->q);
}

static void engine_close(engine *e) {
    catalog_free(e->cat);
    query_engine_free(e->q);
    storage_free(e->st);
}

static double engine_run(engine *e, const char *sql, long long limit) {
    static char buf[64 * 1024];
    lh_err err = {0};
    sink_reset(&e->out);
    double t0 = lh_mono_s();
    lh_query_cursor *c = query_open(e->q, sql, limit, 0, &err);
    if (!c) die("engine", err.msg);
    long n;
    while ((n = query_cursor_read(c, buf, sizeof buf, &err)) != 0) {
        if (n < 0) die("engine read", err.msg);
        sink_take(&e->out, buf, (size_t)n);
    }
    query_cursor_free(c);
    return lh_mono_s() - t0;
}

/* ---- path 3: DuckDB in process ------------------------------------------ */

typedef struct {
    duckdb_database db;
    duckdb_connection conn;
    long long rows;
} duck;

static void duck_exec(duck *d, const char *sql) {
    duckdb_result r;
    if (duckdb_query(d->conn, sql, &r) != DuckDBSuccess) die("duckdb", duckdb_result_error(&r));
    duckdb_destroy_result(&r);
}

/* A plain view over the Parquet files the dataset's manifest lists. */
static void duck_open(duck *d, engine *e, const char *table) {
    lh_err err = {0};
    json_t *m = catalog_get(e->cat, table, &err);
    if (!m) die("catalog_get", err.msg);
    const char *loc = json_string_value(json_object_get(m, "location"));
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_puts(&sql, "CREATE VIEW ");
    sb_sql_ident(&sql, table);
    sb_puts(&sql, " AS SELECT * FROM read_parquet([");
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(m, "files"), i, f) {
        char *key = lh_asprintf("%s/%s", loc, json_string_value(json_object_get(f, "path")));
        char *path = storage_path(e->st, key);
        if (i) sb_putc(&sql, ',');
        sb_sql_str(&sql, path);
        free(path);
        free(key);
    }
    sb_puts(&sql, "])");
    json_decref(m);
    if (duckdb_open(NULL, &d->db) != DuckDBSuccess || duckdb_connect(d->db, &d->conn) != DuckDBSuccess)
        die("duckdb", "cannot open");
    duck_exec(d, sql.buf);
    sb_free(&sql);
}

static void duck_close(duck *d) {
    duckdb_disconnect(&d->conn);
    duckdb_close(&d->db);
}

static double duck_run(duck *d, const char *sql) {
    duckdb_result r;
    double t0 = lh_mono_s();
    if (duckdb_query(d->conn, sql, &r) != DuckDBSuccess) die("duckdb", duckdb_result_error(&r));
    double dt = lh_mono_s() - t0;
    long long rows = 0;
    duckdb_data_chunk ch;
    while ((ch = duckdb_fetch_chunk(r)) != NULL) {
        rows += (long long)duckdb_data_chunk_get_size(ch);
        duckdb_destroy_data_chunk(&ch);
    }
    duckdb_destroy_result(&r);
    d->rows = rows;
    return dt;
}

/* The same SQL as a streaming result, every chunk fetched. */
static double duck_stream_run(duck *d, const char *sql) {
    duckdb_prepared_statement st;
    duckdb_pending_result pending;
    duckdb_result r;
    double t0 = lh_mono_s();
    if (duckdb_prepare(d->conn, sql, &st) != DuckDBSuccess) die("duckdb prepare", duckdb_prepare_error(st));
    if (duckdb_pending_prepared_streaming(st, &pending) != DuckDBSuccess)
        die("duckdb pending", duckdb_pending_error(pending));
    if (duckdb_execute_pending(pending, &r) != DuckDBSuccess) die("duckdb stream", duckdb_result_error(&r));
    long long rows = 0;
    duckdb_data_chunk ch;
    while ((ch = duckdb_fetch_chunk(r)) != NULL) {
        rows += (long long)duckdb_data_chunk_get_size(ch);
        duckdb_destroy_data_chunk(&ch);
    }
    double dt = lh_mono_s() - t0;
    duckdb_destroy_result(&r);
    duckdb_destroy_pending(&pending);
    duckdb_destroy_prepare(&st);
    d->rows = rows;
    return dt;
}

/* ---- the SQL latency bench ---------------------------------------------- */

typedef struct {
    http_client http;
    engine eng;
    duck dk;
} paths;

enum { P_HTTP, P_ENGINE, P_DUCK, P_STREAM, P_COUNT };

typedef struct {
    double *ms[P_COUNT];
    long long rows;
    size_t http_bytes;
} samples;

/* Runs path p once; returns ms and checks its row count against *rows. */
static double run_path(paths *ps, int p, const char *sql, const char *body, long long limit,
                       long long *rows) {
    double s;
    long long got;
    if (p == P_HTTP) {
        s = http_run(&ps->http, body);
        got = sink_rows(&ps->http.out);
    } else if (p == P_ENGINE) {
        s = engine_run(&ps->eng, sql, limit);
        got = sink_rows(&ps->eng.out);
    } else {
        s = p == P_DUCK ? duck_run(&ps->dk, sql) : duck_stream_run(&ps->dk, sql);
        got = ps->dk.rows;
    }
    if (*rows < 0) *rows = got;
    if (got != *rows) {
        fprintf(stderr, "bench_sql: row counts differ (%lld vs %lld) for: %s\n", got, *rows, sql);
        exit(1);
    }
    return s * 1000.0;
}

/* WARMUP rounds, then runs rounds; path order rotates every round. */
static void measure(paths *ps, const char *sql, long long limit, int runs, samples *out) {
    char *body = request_body(sql, limit);
    out->rows = -1;
    for (int p = 0; p < P_COUNT; p++) out->ms[p] = lh_calloc((size_t)runs, sizeof(double));
    for (int r = -WARMUP; r < runs; r++) {
        for (int k = 0; k < P_COUNT; k++) {
            int p = (r + WARMUP + k) % P_COUNT;
            double ms = run_path(ps, p, sql, body, limit, &out->rows);
            if (r >= 0) out->ms[p][r] = ms;
        }
    }
    out->http_bytes = ps->http.out.bytes;
    free(body);
}

static void samples_free(samples *s) {
    for (int p = 0; p < P_COUNT; p++) free(s->ms[p]);
}

static void paths_open(paths *ps, const char *url, const char *data_dir, const char *table) {
    lh_log_set_level(LH_LOG_WARN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    http_open(&ps->http, url);
    engine_open(&ps->eng, data_dir);
    duck_open(&ps->dk, &ps->eng, table);
}

static void paths_close(paths *ps) {
    duck_close(&ps->dk);
    engine_close(&ps->eng);
    http_close(&ps->http);
    curl_global_cleanup();
}

static long long table_rows(engine *e, const char *table) {
    lh_err err = {0};
    json_t *m = catalog_get(e->cat, table, &err);
    if (!m) die("catalog_get", err.msg);
    long long n = json_integer_value(json_object_get(m, "row_count"));
    json_decref(m);
    return n;
}

static char *query_sql(const bench_query *q, const char *table, long long key) {
    lh_strbuf id = LH_STRBUF_INIT;
    char k[24];
    snprintf(k, sizeof k, "%lld", key);
    sb_sql_ident(&id, table);
    char *sql = lh_asprintf(q->sql, id.buf, k);
    sb_free(&id);
    return sql;
}

static void print_sql_row(const char *label, const char *qname, const samples *s, int runs) {
    double h = median(s->ms[P_HTTP], runs), d = median(s->ms[P_DUCK], runs);
    double ratio = h / d;
    printf("| %s | %s | %lld | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f× | %s |\n", label,
           qname, s->rows, h, p90(s->ms[P_HTTP], runs), median(s->ms[P_ENGINE], runs),
           median(s->ms[P_STREAM], runs), d, p90(s->ms[P_DUCK], runs), ratio,
           ratio <= TARGET_RATIO ? "PASS" : "MISS");
    fflush(stdout);
}

static int cmd_sql(const char *url, const char *data_dir, const char *table, int runs,
                   const char *label) {
    paths ps = {0};
    paths_open(&ps, url, data_dir, table);
    long long key = table_rows(&ps.eng, table) / 2 + 17;
    for (size_t i = 0; i < NQUERIES; i++) {
        char *sql = query_sql(&QUERIES[i], table, key);
        samples s = {0};
        measure(&ps, sql, 1000000, runs, &s);
        print_sql_row(label, QUERIES[i].name, &s, runs);
        samples_free(&s);
        free(sql);
    }
    paths_close(&ps);
    return 0;
}

/* ---- the JSON rendering bench -------------------------------------------- */

static double mbs(size_t bytes, double ms) { return (double)bytes / 1e6 / (ms / 1000.0); }

/* DuckDB's own JSON writer over the same rows: returns ms, sets *bytes. */
static double duck_json_run(duck *d, const char *sql, const char *file, size_t *bytes) {
    lh_strbuf copy = LH_STRBUF_INIT;
    sb_printf(&copy, "COPY (%s) TO ", sql);
    sb_sql_str(&copy, file);
    sb_puts(&copy, " (FORMAT json, ARRAY true)");
    double t0 = lh_mono_s();
    duck_exec(d, copy.buf);
    double ms = (lh_mono_s() - t0) * 1000.0;
    sb_free(&copy);
    struct stat stt;
    *bytes = stat(file, &stt) == 0 ? (size_t)stt.st_size : 0;
    return ms;
}

static void print_json_row(const char *label, const char *path, size_t bytes, const double *ms,
                           int runs, int judged) {
    double m = median(ms, runs), rate = mbs(bytes, m);
    printf("| %s | %s | %.1f | %.2f | %.2f | %.0f | %s |\n", label, path, (double)bytes / 1e6, m,
           p90(ms, runs), rate, judged ? (rate >= TARGET_JSON_MBS ? "PASS" : "MISS") : "peer");
    fflush(stdout);
}

static int cmd_json(const char *url, const char *data_dir, const char *table, int runs,
                    long long rows, const char *scratch, const char *label) {
    paths ps = {0};
    paths_open(&ps, url, data_dir, table);
    lh_strbuf id = LH_STRBUF_INIT;
    sb_sql_ident(&id, table);
    char *sql = lh_asprintf(JSON_SQL, id.buf, rows);
    sb_free(&id);
    samples s = {0};
    measure(&ps, sql, rows, runs, &s);
    if (s.rows != rows) die("json bench", "the result has fewer rows than asked for");
    char *file = lh_asprintf("%s/duckdb-json.json", scratch);
    double *dj = lh_calloc((size_t)runs, sizeof *dj);
    size_t djbytes = 0;
    for (int r = -WARMUP; r < runs; r++) {
        double ms = duck_json_run(&ps.dk, sql, file, &djbytes);
        if (r >= 0) dj[r] = ms;
    }
    unlink(file);
    print_json_row(label, "POST /query/sql (HTTP, to the last byte)", s.http_bytes, s.ms[P_HTTP], runs, 1);
    print_json_row(label, "lakehouse engine in process (query_cursor_read)", ps.eng.out.bytes,
                   s.ms[P_ENGINE], runs, 0);
    print_json_row(label, "DuckDB in process: COPY ... (FORMAT json, ARRAY true)", djbytes, dj, runs, 0);
    printf("| %s | DuckDB in process: materialise only, no JSON | — | %.2f | %.2f | — | peer |\n", label,
           median(s.ms[P_DUCK], runs), p90(s.ms[P_DUCK], runs));
    free(dj);
    free(file);
    free(sql);
    samples_free(&s);
    paths_close(&ps);
    return 0;
}

/* ---- main --------------------------------------------------------------- */

static int usage(void) {
    fprintf(stderr,
            "usage: bench_sql gen FILE ROWS\n"
            "       bench_sql queries\n"
            "       bench_sql sql URL DATA_DIR TABLE RUNS LABEL\n"
            "       bench_sql json URL DATA_DIR TABLE RUNS ROWS SCRATCH_DIR LABEL\n");
    return 2;
}

static int positive(const char *s) {
    int v = atoi(s);
    if (v <= 0) die("argument must be a positive number", s);
    return v;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "gen")) return cmd_gen(argv[2], atoll(argv[3]));
    if (argc == 2 && !strcmp(argv[1], "queries")) return cmd_queries();
    if (argc == 7 && !strcmp(argv[1], "sql"))
        return cmd_sql(argv[2], argv[3], argv[4], positive(argv[5]), argv[6]);
    if (argc == 9 && !strcmp(argv[1], "json"))
        return cmd_json(argv[2], argv[3], argv[4], positive(argv[5]), atoll(argv[6]), argv[7], argv[8]);
    if (argc == 2 && !strcmp(argv[1], "version")) {
        printf("%s\n", duckdb_library_version());
        return 0;
    }
    return usage();
}
