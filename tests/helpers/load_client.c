/*
 * load_client.c — many concurrent HTTP clients against a running server,
 * for the soak test (tests/integration/soak.sh) and the concurrency bench
 * (bench/bench_concurrency.sh). Each client is a thread with its own
 * keep-alive libcurl handle.
 *
 *   load_client soak URL SECONDS CLIENTS VANISHERS
 *       CLIENTS threads mixing point lookups, group-bys, search_candidates
 *       tool calls, vector searches and appends (POST /ingest/file of a
 *       one-row CSV with a unique id into dataset soak_appends), plus
 *       VANISHERS threads that open a big streamed result and hang up
 *       after its first bytes, hang up right after sending a request, or
 *       hang up in the middle of an upload.
 *       Prints "key value" lines: requests, ok (2xx), busy (503 with
 *       Retry-After), bad (anything else, each also printed as "# bad
 *       ..."), appends_acked, appends_unknown (transport failures: may or
 *       may not have committed), vanished, and ok_<op> (2xx answers per
 *       kind of request).
 *   load_client probe URL SECONDS
 *       GETs /health every 100 ms on one keep-alive connection; prints
 *       health_probes, health_failures, health_slow (answered in more than
 *       100 ms) and health_max_ms. A process of its own, so the soak can
 *       run its load clients at a lower CPU priority (they stand for
 *       machines elsewhere) while the probe competes only with the server.
 *   load_client bench URL SECONDS CLIENTS OP
 *       CLIENTS threads repeating OP (point | groupby | tool | vector)
 *       for SECONDS; prints "clients N ok N busy N bad N rps X p50_ms X
 *       p99_ms X". Only 2xx answers count towards rps and latency.
 *   load_client duck DATA_DIR SECONDS THREADS point|groupby
 *       the in-process peer for the SQL: the same statements from THREADS
 *       threads on DuckDB (one connection each) over the view of the
 *       candidates table the catalog publishes; same output line.
 *   load_client inproc DATA_DIR SECONDS THREADS tool|vector
 *       the in-process peer for the rest (DuckDB alone has no vector
 *       search): tools_call search_candidates / vindex_search_ex on the
 *       lakehouse modules opened over the data folder, no HTTP.
 *
 * Random choices come from a per-thread xorshift seeded by the thread
 * number, so runs are repeatable in what they ask.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <duckdb.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ai/ai.h"
#include "catalog/catalog.h"
#include "common/strbuf.h"
#include "jobs/jobs.h"
#include "query/query.h"
#include "storage/storage.h"
#include "tools/tools.h"
#include "vector/index.h"

/* A principal of the given level (its SQL unconfined, as the admin role's
 * would be: these tests are about the registry, not masking). */
static json_t *call_as_level(lh_tools *t, const char *name, const json_t *params, const char *caller, lh_perm perm,
                             lh_err *err) {
    lh_principal who;
    access_principal_admin(&who, caller);
    who.level = (lh_level)perm;
    return tools_call(t, name, params, &who, NULL, err);
}

#define CANDIDATES 1000 /* ids 1..CANDIDATES exist at demo --scale 0.01 and above */

static const char *base_url;
static double t_end;
static atomic_long n_req, n_ok, n_busy, n_bad, n_acked, n_unknown, n_vanished;
static atomic_long n_ok_op[8]; /* 2xx answers per op_kind */
static atomic_long n_probes, n_probe_fail, n_probe_slow, probe_max_us;

static const char *const skills[] = {"java developer", "registered nurse", "forklift operator", "data engineer",
                                     "accountant", "welder", "python", "customer service", "project manager",
                                     "phlebotomist"};
#define NSKILLS (sizeof skills / sizeof skills[0])

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ---- one HTTP exchange ---------------------------------------------------- */

typedef struct {
    CURL *h;
    struct curl_slist *json_hdr;
    int retry_after; /* the last answer had Retry-After */
    char first[160]; /* the last answer's first bytes (for "# bad" lines) */
    size_t nfirst;
} client;

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
    client *c = ud;
    size_t len = sz * n, room = sizeof c->first - 1 - c->nfirst;
    if (room > 0) {
        size_t k = len < room ? len : room;
        memcpy(c->first + c->nfirst, p, k);
        c->nfirst += k;
        c->first[c->nfirst] = '\0';
    }
    return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
    client *c = ud;
    if (sz * n >= 12 && !strncasecmp(p, "Retry-After:", 12)) c->retry_after = 1;
    return sz * n;
}

static void client_init(client *c) {
    memset(c, 0, sizeof *c);
    c->h = curl_easy_init();
    c->json_hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
}

static void client_free(client *c) {
    curl_slist_free_all(c->json_hdr);
    curl_easy_cleanup(c->h);
}

/* Performs the request set up on c->h; the HTTP status, or 0 on a
 * transport failure. */
static long perform(client *c, const char *path) {
    char url[512];
    snprintf(url, sizeof url, "%s%s", base_url, path);
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    c->retry_after = 0;
    c->nfirst = 0;
    c->first[0] = '\0';
    if (curl_easy_perform(c->h) != CURLE_OK) return 0;
    long status = 0;
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static long post_json(client *c, const char *path, const char *body) {
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->json_hdr);
    curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
    return perform(c, path);
}

/* ---- the operations ------------------------------------------------------- */

typedef enum { OP_POINT, OP_GROUPBY, OP_TOOL, OP_VECTOR, OP_APPEND, OP__COUNT } op_kind;

/* The SQL of OP_POINT / OP_GROUPBY (one random id per point lookup). */
static void op_sql(op_kind op, uint64_t *seed, char *buf, size_t cap) {
    if (op == OP_POINT)
        snprintf(buf, cap,
                 "SELECT candidate_id, first_name, last_name, city, state, status FROM candidates WHERE candidate_id = %llu",
                 (unsigned long long)(rnd(seed) % CANDIDATES + 1));
    else
        snprintf(buf, cap, "SELECT state, count(*) AS n, avg(desired_salary) AS avg_salary FROM candidates "
                           "GROUP BY state ORDER BY n DESC, state");
}

static long op_run(client *c, op_kind op, uint64_t *seed, long thread, long seq) {
    char body[512], sql[384];
    switch (op) {
    case OP_POINT:
    case OP_GROUPBY:
        op_sql(op, seed, sql, sizeof sql);
        snprintf(body, sizeof body, "{\"sql\":\"%s\"}", sql);
        return post_json(c, "/query/sql", body);
    case OP_TOOL:
        snprintf(body, sizeof body, "{\"params\":{\"skills\":\"%s\",\"limit\":10}}", skills[rnd(seed) % NSKILLS]);
        return post_json(c, "/tools/search_candidates/call", body);
    case OP_VECTOR:
        snprintf(body, sizeof body, "{\"index\":\"resumes\",\"query\":\"%s\",\"k\":10}", skills[rnd(seed) % NSKILLS]);
        return post_json(c, "/vectors/search", body);
    case OP_APPEND: {
        char csv[128];
        int n = snprintf(csv, sizeof csv, "append_id,client,seq\n%ld%06ld,%ld,%ld\n", thread + 1, seq, thread, seq);
        curl_mime *mime = curl_mime_init(c->h);
        curl_mimepart *p = curl_mime_addpart(mime);
        curl_mime_name(p, "dataset");
        curl_mime_data(p, "soak_appends", CURL_ZERO_TERMINATED);
        p = curl_mime_addpart(mime);
        curl_mime_name(p, "file");
        curl_mime_filename(p, "append.csv");
        curl_mime_data(p, csv, (size_t)n);
        curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(c->h, CURLOPT_MIMEPOST, mime);
        long st = perform(c, "/ingest/file");
        curl_easy_setopt(c->h, CURLOPT_MIMEPOST, NULL);
        curl_mime_free(mime);
        return st;
    }
    default: return 0;
    }
}

/* Counts one answer; 1 when it is acceptable (2xx, or 503 with Retry-After). */
static int tally(client *c, op_kind op, long status) {
    atomic_fetch_add(&n_req, 1);
    if (status >= 200 && status < 300) {
        atomic_fetch_add(&n_ok, 1);
        atomic_fetch_add(&n_ok_op[op], 1);
        if (op == OP_APPEND) atomic_fetch_add(&n_acked, 1);
        return 1;
    }
    if (status == 503 && c->retry_after) {
        atomic_fetch_add(&n_busy, 1);
        return 1;
    }
    if (status == 0 && op == OP_APPEND) atomic_fetch_add(&n_unknown, 1);
    atomic_fetch_add(&n_bad, 1);
    printf("# bad op=%d status=%ld retry_after=%d body=%.120s\n", (int)op, status, c->retry_after, c->first);
    fflush(stdout);
    return 0;
}

static void *soak_main(void *arg) {
    long id = (long)(intptr_t)arg;
    uint64_t seed = 0x9E3779B97F4A7C15ull ^ (uint64_t)(id + 1) * 0x100000001B3ull;
    client c;
    client_init(&c);
    /* weights: point 35, groupby 20, tool 15, vector 15, append 15 */
    static const op_kind deck[20] = {OP_POINT, OP_POINT, OP_POINT, OP_POINT, OP_POINT, OP_POINT, OP_POINT,
                                     OP_GROUPBY, OP_GROUPBY, OP_GROUPBY, OP_GROUPBY, OP_TOOL, OP_TOOL,
                                     OP_TOOL, OP_VECTOR, OP_VECTOR, OP_VECTOR, OP_APPEND, OP_APPEND, OP_APPEND};
    for (long seq = 0; now_s() < t_end; seq++) {
        op_kind op = deck[rnd(&seed) % 20];
        tally(&c, op, op_run(&c, op, &seed, id, seq));
        if (c.retry_after) usleep(20000); /* a polite client backs off a little */
    }
    client_free(&c);
    return NULL;
}

/* ---- clients that hang up -------------------------------------------------- */

static int raw_connect(void) {
    const char *hp = strstr(base_url, "://");
    hp = hp ? hp + 3 : base_url;
    char host[64] = "127.0.0.1";
    int port = 80;
    sscanf(hp, "%63[^:]:%d", host, &port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

/* Sends a query with a big streamed result; reads a little (or nothing)
 * and closes the socket mid-response. */
static void vanish_once(int read_first) {
    static const char body[] = "{\"sql\":\"SELECT t.*, c.resume_text FROM timesheets t JOIN candidates c USING "
                               "(candidate_id)\",\"limit\":1000000}";
    int fd = raw_connect();
    if (fd < 0) return;
    char req[512];
    int n = snprintf(req, sizeof req,
                     "POST /query/sql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                     "%zu\r\n\r\n%s",
                     sizeof body - 1, body);
    if (write(fd, req, (size_t)n) == n && read_first) {
        char buf[4096];
        ssize_t got = read(fd, buf, sizeof buf); /* the status line and the first rows */
        (void)got;
    }
    close(fd);
    atomic_fetch_add(&n_vanished, 1);
}

/* Starts a multipart upload announcing 1 MB, sends 2 KB of it and hangs up. */
static void vanish_upload(void) {
    static const char head[] = "--BOUNDARY\r\nContent-Disposition: form-data; name=\"dataset\"\r\n\r\nsoak_vanished\r\n"
                               "--BOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"v.csv\"\r\n"
                               "Content-Type: text/csv\r\n\r\nid,text\n";
    int fd = raw_connect();
    if (fd < 0) return;
    char buf[4096];
    int n = snprintf(buf, sizeof buf,
                     "POST /ingest/file HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=BOUNDARY\r\n"
                     "Content-Length: 1000000\r\n\r\n%s",
                     head);
    int ok = write(fd, buf, (size_t)n) == n;
    for (int i = 0; ok && i < 2048 / 16; i++) ok = write(fd, "1,abcdefghijklm\n", 16) == 16;
    usleep(20000);
    close(fd);
    atomic_fetch_add(&n_vanished, 1);
}

static void *vanisher_main(void *arg) {
    long id = (long)(intptr_t)arg;
    for (long i = 0; now_s() < t_end; i++) {
        switch ((i + id) % 4) { /* mid-response, while queued or running, mid-upload */
        case 0: vanish_once(0); break;
        case 3: vanish_upload(); break;
        default: vanish_once(1); break;
        }
        usleep(50000);
    }
    return NULL;
}

/* ---- /health prober -------------------------------------------------------- */

static void *prober_main(void *arg) {
    (void)arg;
    client c;
    client_init(&c);
    curl_easy_setopt(c.h, CURLOPT_TIMEOUT_MS, 2000L);
    while (now_s() < t_end) {
        double t0 = now_s();
        curl_easy_setopt(c.h, CURLOPT_HTTPGET, 1L);
        long st = perform(&c, "/health");
        long us = (long)((now_s() - t0) * 1e6);
        atomic_fetch_add(&n_probes, 1);
        if (st != 200) atomic_fetch_add(&n_probe_fail, 1);
        if (us > 100000) atomic_fetch_add(&n_probe_slow, 1);
        long prev = atomic_load(&probe_max_us);
        while (us > prev && !atomic_compare_exchange_weak(&probe_max_us, &prev, us)) {
        }
        double left = 0.1 - (now_s() - t0);
        if (left > 0) usleep((useconds_t)(left * 1e6));
    }
    client_free(&c);
    return NULL;
}

static int run_probe(double seconds) {
    t_end = now_s() + seconds;
    prober_main(NULL);
    printf("health_probes %ld\nhealth_failures %ld\nhealth_slow %ld\nhealth_max_ms %.1f\n", atomic_load(&n_probes),
           atomic_load(&n_probe_fail), atomic_load(&n_probe_slow), (double)atomic_load(&probe_max_us) / 1000.0);
    return 0;
}

static int run_soak(double seconds, int clients, int vanishers) {
    t_end = now_s() + seconds;
    int total = clients + vanishers;
    pthread_t *th = calloc((size_t)total, sizeof *th);
    for (int i = 0; i < clients; i++) pthread_create(&th[i], NULL, soak_main, (void *)(intptr_t)i);
    for (int i = 0; i < vanishers; i++) pthread_create(&th[clients + i], NULL, vanisher_main, (void *)(intptr_t)i);
    for (int i = 0; i < total; i++) pthread_join(th[i], NULL);
    free(th);
    printf("requests %ld\nok %ld\nbusy %ld\nbad %ld\nappends_acked %ld\nappends_unknown %ld\nvanished %ld\n",
           atomic_load(&n_req), atomic_load(&n_ok), atomic_load(&n_busy), atomic_load(&n_bad),
           atomic_load(&n_acked), atomic_load(&n_unknown), atomic_load(&n_vanished));
    static const char *const names[OP__COUNT] = {"point", "groupby", "tool", "vector", "append"};
    for (int i = 0; i < OP__COUNT; i++) printf("ok_%s %ld\n", names[i], atomic_load(&n_ok_op[i]));
    return 0;
}

/* ---- bench: one operation, latency percentiles ----------------------------- */

/* ---- in-process peers: the lakehouse modules, DuckDB ------------------------ */

typedef struct {
    lh_storage *st;
    lh_query_engine *q;
    lh_catalog *cat;
    lh_ai *ai;
    lh_jobs *jobs;
    lh_vindex *vx;
    lh_tools *tools;
    char *candidates_select; /* the catalog's view of candidates, as published */
    duckdb_database duck;    /* NULL unless the duck peer */
} world;

static void die(const char *what, const char *msg) {
    fprintf(stderr, "load_client: %s: %s\n", what, msg ? msg : "failed");
    exit(1);
}

static void publish(void *ctx, uint64_t version, const char *const *names, const char *const *selects, size_t n) {
    world *w = ctx;
    lh_err err = {0};
    if (query_engine_set_views(w->q, version, names, selects, n, &err) != 0) die("views", err.msg);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], "candidates")) {
            free(w->candidates_select);
            w->candidates_select = lh_strdup(selects[i]);
        }
}

/* The modules as `lakehouse serve` opens them with its defaults. */
static void world_open(world *w, const char *data_dir, int with_vectors) {
    lh_err err = {0};
    memset(w, 0, sizeof *w);
    w->st = storage_open_local("primary", data_dir, &err);
    if (!w->st) die("storage", err.msg);
    lh_query_config qc = {.pool_size = 4, .default_limit = 10000, .max_limit = 1000000,
                          .default_timeout_ms = 30000, .allowed_root = storage_root(w->st)};
    w->q = query_engine_new(&qc, &err);
    lh_catalog_options co = {.checkpoint_interval = 10};
    w->cat = w->q ? catalog_open(w->st, &co, &err) : NULL;
    if (!w->cat) die("engine/catalog", err.msg);
    catalog_set_views_listener(w->cat, publish, w);
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
    if (w->tools) tools_free(w->tools);
    if (w->vx) vindex_free(w->vx);
    if (w->jobs) jobs_free(w->jobs);
    if (w->ai) ai_free(w->ai);
    catalog_free(w->cat);
    query_engine_free(w->q);
    storage_free(w->st);
    free(w->candidates_select);
    if (w->duck) duckdb_close(&w->duck);
}

/* A plain in-memory DuckDB with the candidates view the catalog publishes
 * (a scan of the table's Parquet files). */
static void duck_open(world *w) {
    if (!w->candidates_select) die("catalog", "no dataset named candidates");
    char *sql = lh_asprintf("CREATE VIEW candidates AS %s", w->candidates_select);
    duckdb_connection c;
    duckdb_result r;
    if (duckdb_open(NULL, &w->duck) != DuckDBSuccess || duckdb_connect(w->duck, &c) != DuckDBSuccess)
        die("duckdb", "cannot open");
    if (duckdb_query(c, sql, &r) != DuckDBSuccess) die("duckdb view", duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    duckdb_disconnect(&c);
    free(sql);
}

/* One request in process; dies on an error (the peers must answer). */
static void local_run(world *w, duckdb_connection conn, op_kind op, uint64_t *seed) {
    lh_err err = {0};
    if (op == OP_POINT || op == OP_GROUPBY) {
        char sql[384];
        op_sql(op, seed, sql, sizeof sql);
        duckdb_result r;
        if (duckdb_query(conn, sql, &r) != DuckDBSuccess) die("duckdb", duckdb_result_error(&r));
        duckdb_destroy_result(&r);
    } else if (op == OP_TOOL) {
        json_t *p = json_pack("{s:s, s:i}", "skills", skills[rnd(seed) % NSKILLS], "limit", 10);
        json_t *res = call_as_level(w->tools, "search_candidates", p, "bench", LH_PERM_READ, &err);
        json_decref(p);
        if (!res) die("search_candidates", err.msg);
        json_decref(res);
    } else {
        json_t *body = json_pack("{s:s, s:s, s:i}", "index", "resumes", "query", skills[rnd(seed) % NSKILLS], "k", 10);
        lh_vsearch_opts o;
        vindex_search_opts_init(&o);
        lh_vresults out = {0};
        if (vindex_search_opts_parse(body, 1000, &o, &err) != 0 ||
            vindex_search_ex(w->vx, "resumes", json_string_value(json_object_get(body, "query")), &o, &out, &err) != 0)
            die("vector search", err.msg);
        vindex_results_free(&out);
        json_decref(body);
    }
}

/* ---- bench: one operation, latency percentiles ----------------------------- */

typedef struct {
    long id;
    op_kind op;
    world *w;    /* in-process peer; NULL: over HTTP */
    double *lat; /* seconds of each 2xx answer */
    size_t n, cap;
} bench_thread;

static void *bench_main(void *arg) {
    bench_thread *b = arg;
    uint64_t seed = 0x9E3779B97F4A7C15ull ^ (uint64_t)(b->id + 1) * 0x100000001B3ull;
    client c;
    duckdb_connection conn = NULL;
    if (!b->w) client_init(&c);
    else if (b->w->duck && duckdb_connect(b->w->duck, &conn) != DuckDBSuccess) die("duckdb", "connect");
    for (long seq = 0; now_s() < t_end; seq++) {
        double t0 = now_s();
        int ok = 1;
        if (b->w) {
            local_run(b->w, conn, b->op, &seed);
            atomic_fetch_add(&n_ok, 1);
        } else {
            long st = op_run(&c, b->op, &seed, b->id, seq);
            ok = tally(&c, b->op, st) && st < 300;
        }
        double dt = now_s() - t0;
        if (ok) {
            if (b->n == b->cap) {
                b->cap = b->cap ? b->cap * 2 : 1024;
                b->lat = realloc(b->lat, b->cap * sizeof *b->lat);
            }
            b->lat[b->n++] = dt;
        }
    }
    if (!b->w) client_free(&c);
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

/* w: the in-process peer (warmed up here), NULL for HTTP. */
static int run_bench(double seconds, int clients, op_kind op, world *w) {
    bench_thread *b = calloc((size_t)clients, sizeof *b);
    pthread_t *th = calloc((size_t)clients, sizeof *th);
    if (w) { /* warm-up: caches, the index's first load */
        bench_thread warm = {.op = op, .w = w};
        t_end = now_s() + 0.3;
        bench_main(&warm);
        free(warm.lat);
        atomic_store(&n_ok, 0);
    }
    double t0 = now_s();
    t_end = t0 + seconds;
    for (int i = 0; i < clients; i++) {
        b[i] = (bench_thread){.id = i, .op = op, .w = w};
        pthread_create(&th[i], NULL, bench_main, &b[i]);
    }
    size_t total = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        total += b[i].n;
    }
    double wall = now_s() - t0;
    double *all = malloc((total ? total : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < clients; i++) {
        memcpy(all + k, b[i].lat, b[i].n * sizeof *all);
        k += b[i].n;
        free(b[i].lat);
    }
    qsort(all, total, sizeof *all, cmp_double);
    printf("clients %d ok %ld busy %ld bad %ld rps %.1f p50_ms %.2f p99_ms %.2f\n", clients, atomic_load(&n_ok),
           atomic_load(&n_busy), atomic_load(&n_bad), (double)total / wall, pct(all, total, 0.5) * 1000.0,
           pct(all, total, 0.99) * 1000.0);
    free(all);
    free(b);
    free(th);
    return atomic_load(&n_bad) > 0;
}

static int op_parse(const char *s) {
    static const char *const names[] = {"point", "groupby", "tool", "vector"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN); /* a hung-up socket's write fails with EPIPE instead */
    if (argc == 4 && !strcmp(argv[1], "probe")) {
        base_url = argv[2];
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return run_probe(atof(argv[3]));
    }
    const char *mode = argc == 6 ? argv[1] : "";
    int op = argc == 6 ? op_parse(argv[5]) : -1;
    if (!strcmp(mode, "soak")) {
        base_url = argv[2];
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return run_soak(atof(argv[3]), atoi(argv[4]), atoi(argv[5]));
    }
    if (!strcmp(mode, "bench") && op >= 0) {
        base_url = argv[2];
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return run_bench(atof(argv[3]), atoi(argv[4]), (op_kind)op, NULL);
    }
    int duck = !strcmp(mode, "duck") && (op == OP_POINT || op == OP_GROUPBY);
    if (duck || (!strcmp(mode, "inproc") && (op == OP_TOOL || op == OP_VECTOR))) {
        world w;
        world_open(&w, argv[2], !duck);
        if (duck) duck_open(&w);
        int rc = run_bench(atof(argv[3]), atoi(argv[4]), (op_kind)op, &w);
        world_close(&w);
        return rc;
    }
    fprintf(stderr, "usage: load_client soak URL SECONDS CLIENTS VANISHERS\n"
                    "       load_client probe URL SECONDS\n"
                    "       load_client bench URL SECONDS CLIENTS point|groupby|tool|vector\n"
                    "       load_client duck DATA_DIR SECONDS THREADS point|groupby\n"
                    "       load_client inproc DATA_DIR SECONDS THREADS tool|vector\n");
    return 2;
}
