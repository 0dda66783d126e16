/*
 * vector_fixture.h — shared by test_vector_index.c and test_rag.c: a temp
 * bucket with a catalog, datasets written from SQL, and a fake model
 * provider (the builtin embedder underneath) that counts what it embeds
 * and can be told to fail, answer garbage, hang or be slow.
 * Header-only (static functions): each test binary includes it once.
 */
#ifndef LH_TEST_VECTOR_FIXTURE_H
#define LH_TEST_VECTOR_FIXTURE_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ai/builtin.h"
#include "catalog/catalog.h"
#include "common/strbuf.h"
#include "jobs/jobs.h"
#include "storage/storage.h"
#include "vector/index.h"

enum { FAKE_OK, FAKE_GARBAGE, FAKE_FAIL, FAKE_HANG, FAKE_DIMS };

typedef struct {
    int mode;                /* what calls do once fail_after texts went through */
    long fail_after;         /* texts embedded before mode applies (0 = at once) */
    atomic_long fail_times;  /* mode applies to this many calls, then OK (-1 = forever) */
    int delay_ms;            /* per call */
    int dims;
    atomic_long texts;       /* texts embedded successfully */
    atomic_long calls;       /* every call */
    atomic_long failed;      /* calls that failed */
    char *last_prompt;       /* generate: the last prompt seen */
    const char *reply;       /* generate: NULL = fail */
} fake_ai;

static inline void fake_sleep(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static inline int fake_embed(void *ctx, const char *model, const char *const *texts, size_t n, float **out,
                      int *dims, lh_err *err) {
    fake_ai *f = ctx;
    atomic_fetch_add(&f->calls, 1);
    if (f->delay_ms) fake_sleep(f->delay_ms);
    if (model && strcmp(model, LH_BUILTIN_MODEL)) return lh_err_set(err, LH_E_BAD_REQUEST, "unknown model %s", model);
    long ft = atomic_load(&f->fail_times);
    int bad = f->mode != FAKE_OK && atomic_load(&f->texts) >= f->fail_after && ft != 0;
    if (bad) {
        if (ft > 0) atomic_fetch_sub(&f->fail_times, 1);
        atomic_fetch_add(&f->failed, 1);
        if (f->mode == FAKE_FAIL) return lh_err_set(err, LH_E_UNAVAILABLE, "fake provider: 503 from upstream");
        if (f->mode == FAKE_HANG) {
            fake_sleep(150);
            return lh_err_set(err, LH_E_TIMEOUT, "fake provider: no answer within 150 ms");
        }
    }
    int d = bad && f->mode == FAKE_DIMS ? f->dims + 1 : f->dims;
    float *v = calloc(n * (size_t)d + 1, sizeof *v);
    for (size_t i = 0; i < n; i++) builtin_embed(texts[i], strlen(texts[i]), v + i * (size_t)d, d);
    if (bad && f->mode == FAKE_GARBAGE) v[0] = 0.0f / 0.0f;
    if (!bad) atomic_fetch_add(&f->texts, (long)n);
    *out = v;
    *dims = d;
    return 0;
}

static inline int fake_generate(void *ctx, const char *system, const char *prompt, char **text, lh_err *err) {
    fake_ai *f = ctx;
    free(f->last_prompt);
    f->last_prompt = strdup(prompt);
    if (!f->reply) return lh_err_set(err, LH_E_BAD_GATEWAY, "fake LLM: garbage answer");
    *text = strdup(f->reply);
    return 0;
}

typedef struct {
    char dir[64];
    lh_storage *st;
    lh_catalog *cat;
    lh_jobs *jobs;
    fake_ai ai;
    lh_vindex *vx;
    lh_vindex_config cfg;
    int no_start;            /* 1: open without vindex_start (no warm-up, no resume) */
} vfix;

static inline lh_vprovider fake_provider(fake_ai *f, int with_llm) {
    lh_vprovider p = {
        .ctx = f, .embed_model = LH_BUILTIN_MODEL, .model_version = "1", .parallel_ok = 1,
        .embed = fake_embed, .gen_model = with_llm ? "fake-llm" : NULL,
        .generate = with_llm ? fake_generate : NULL,
    };
    return p;
}

static inline void rm_rf(const char *dir) {
    char *cmd = lh_asprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", dir);
    free(cmd);
}

static inline vfix *vfix_new(void) {
    vfix *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/lh-vtest-XXXXXX");
    if (!mkdtemp(f->dir)) abort();
    lh_err err = {0};
    f->st = storage_open_local("primary", f->dir, &err);
    f->cat = catalog_open(f->st, NULL, &err);
    f->jobs = jobs_new(2, f->st, &err);
    if (!f->st || !f->cat || !f->jobs) abort();
    f->ai.dims = 256;
    f->ai.fail_times = -1;
    f->cfg = (lh_vindex_config){
        .storage = f->st, .catalog = f->cat, .jobs = f->jobs, .provider = fake_provider(&f->ai, 0),
        .batch_size = 4, .checkpoint_every = 2, .max_retries = 2, .retry_backoff_ms = 5,
        .chunk_size = 200, .overlap = 20, .hnsw_min_vectors = 1, .threads = 2,
    };
    return f;
}

static inline lh_vindex *vfix_open(vfix *f) {
    lh_err err = {0};
    f->vx = vindex_open(&f->cfg, &err);
    if (!f->vx) fprintf(stderr, "vindex_open: %s\n", err.msg);
    else if (!f->no_start && vindex_start(f->vx, &err) != 0) fprintf(stderr, "vindex_start: %s\n", err.msg);
    return f->vx;
}

static inline void vfix_free(vfix *f) {
    vindex_free(f->vx);
    jobs_free(f->jobs);
    catalog_free(f->cat);
    storage_free(f->st);
    free(f->ai.last_prompt);
    rm_rf(f->dir);
    free(f);
}

/* Writes rows (id, body) i in [from, to) with text_fn(i) into dataset name. */
static inline int vfix_write(vfix *f, const char *name, const char *id_type, int from, int to,
                      const char *(*text_fn)(int, char *, size_t), lh_write_mode mode) {
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_puts(&sql, "SELECT CAST(id AS ");
    sb_puts(&sql, id_type);
    sb_puts(&sql, ") AS id, body FROM (VALUES ");
    char buf[1024];
    for (int i = from; i < to; i++) {
        if (i > from) sb_putc(&sql, ',');
        sb_printf(&sql, "(%d, ", i);
        sb_sql_str(&sql, text_fn(i, buf, sizeof buf));
        sb_putc(&sql, ')');
    }
    sb_puts(&sql, ") t(id, body)");
    lh_lineage lin = {.source_system = "test", .source = "unit"};
    lh_err err = {0};
    json_t *m = catalog_write(f->cat, name, sql.buf, mode, &lin, &err);
    sb_free(&sql);
    if (!m) fprintf(stderr, "catalog_write: %s\n", err.msg);
    json_decref(m);
    return m ? 0 : -1;
}

static const char *const TOPICS[] = {
    "ICU registered nurse with critical care and ventilator experience",
    "Java developer building Spring Boot services on AWS",
    "forklift operator working warehouse night shifts",
    "accountant preparing tax returns and payroll reports",
    "truck driver with a commercial license hauling freight",
    "teacher planning mathematics lessons for high school",
    "chef cooking Italian pasta in a busy restaurant kitchen",
    "electrician wiring commercial buildings and solar panels",
};

/* Document i: a topic sentence plus a unique word "uniq<i>". */
static inline const char *doc_text(int i, char *buf, size_t cap) {
    snprintf(buf, cap, "Candidate %d is a %s. Their code word is uniq%d. They like weekends off.", i,
             TOPICS[i % 8], i);
    return buf;
}

#endif
