/*
 * index_build.c — the embedding half of a build or refresh: read the
 * source rows in a fixed order, cut them into chunks, embed them in
 * batches through one or two pipelines, and stage the vectors as Parquet
 * part files under _vectors/<index>/_build/ with a checkpoint.
 *
 * Units: the reader groups whole documents into units of at least
 * batch_size chunks (a document never spans two units), so "documents
 * done" is an exact resume point. Each unit is embedded by a pipeline
 * worker in calls of at most batch_size texts; a failed call is retried
 * max_retries times with doubling back-off. The supervisor (the build's
 * own thread) keeps up to 2 x pipelines units in flight, commits them in
 * sequence order (so the output never depends on timing) and every
 * checkpoint_every units writes a part file and then checkpoint.json
 * {params, source_version, target_generation, docs_done, parts}. A build
 * that finds a checkpoint with the same parameters and source version
 * skips the documents it covers.
 *
 * Stops: on cancel the staging folder is removed; on shutdown (or a failed
 * batch) what is committed is flushed and the checkpoint kept — state
 * "running" resumes at the next start, "failed" on the next request.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "vector/chunker.h"
#include "vector/index_internal.h"

/* ---- request validation ---------------------------------------------------------- */

static json_t *column_of(const json_t *manifest, const char *name) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(manifest, "columns"), i, c)
        if (!strcmp(json_string_value(json_object_get(c, "name")) ?: "", name)) return c;
    return NULL;
}

static int check_columns(const json_t *m, const lh_vbuild_req *req, lh_err *err) {
    json_t *idc = column_of(m, req->id_column), *tc = column_of(m, req->text_column);
    if (!idc || !tc) {
        lh_err_set(err, LH_E_BAD_REQUEST, "dataset '%s' has no column '%s'", req->dataset,
                   idc ? req->text_column : req->id_column);
        lh_err_hint(err, "GET /catalog/datasets/by-name/%s lists its columns", req->dataset);
        return -1;
    }
    const char *it = json_string_value(json_object_get(idc, "type")) ?: "";
    if (strcmp(it, "VARCHAR") && strcmp(it, "INTEGER") && strcmp(it, "BIGINT")) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "id column '%s' has type %s", req->id_column, it);
        lh_err_hint(err, "id columns may be text (VARCHAR), int32 (INTEGER) or int64 (BIGINT)");
        return -1;
    }
    const char *tt = json_string_value(json_object_get(tc, "type")) ?: "";
    if (strcmp(tt, "VARCHAR")) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "text column '%s' has type %s, not text", req->text_column, tt);
        return -1;
    }
    return 0;
}

int vbuild_init(lh_vindex *vx, const lh_vbuild_req *req, vbuild *b, lh_err *err) {
    memset(b, 0, sizeof *b);
    if (!req->dataset || !req->id_column || !req->text_column)
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"dataset\", \"id_column\" and \"text_column\" are required");
    const char *name = req->index_name ? req->index_name : req->dataset;
    if (!vx_name_valid(name)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "invalid index name '%s'", name);
        lh_err_hint(err, "letters, digits and '_', not starting with a digit, at most 64 chars");
        return -1;
    }
    size_t size = req->chunk_size ? req->chunk_size : vx->cfg.chunk_size;
    size_t overlap = req->chunk_size || req->overlap ? req->overlap : vx->cfg.overlap;
    if (size > 100000) return lh_err_set(err, LH_E_BAD_REQUEST, "chunk_size must be at most 100000");
    if (overlap >= size) {
        lh_err_set(err, LH_E_BAD_REQUEST, "overlap (%zu) must be smaller than chunk_size (%zu)", overlap, size);
        return -1;
    }
    json_t *m = catalog_get(vx->cfg.catalog, req->dataset, err);
    if (!m) return -1;
    int rc = check_columns(m, req, err);
    json_decref(m);
    if (rc != 0) return -1;
    b->vx = vx;
    b->index = lh_strdup(name);
    b->dataset = lh_strdup(req->dataset);
    b->id_column = lh_strdup(req->id_column);
    b->text_column = lh_strdup(req->text_column);
    b->model = lh_strdup(req->model ? req->model : vx->cfg.provider.embed_model ? vx->cfg.provider.embed_model : "default");
    b->chunk_size = size;
    b->overlap = overlap;
    b->language = req->language ? lh_strdup(req->language) : NULL;
    b->stopwords = json_is_array(req->stopwords) ? json_deep_copy(req->stopwords) : NULL;
    return 0;
}

void vbuild_clear(vbuild *b) {
    free(b->index);
    free(b->dataset);
    free(b->id_column);
    free(b->text_column);
    free(b->model);
    free(b->language);
    json_decref(b->stopwords);
    free(b->select_sql);
    json_decref(b->base_meta);
    lh_strv_free(b->parts, b->nparts);
    memset(b, 0, sizeof *b);
}

int vbuild_should_stop(const vbuild *b) {
    return __atomic_load_n(&b->vx->stopping, __ATOMIC_RELAXED) || (b->job && jobs_cancelled(b->job));
}

/* ---- checkpoint --------------------------------------------------------------------- */

json_t *vbuild_checkpoint_read(lh_vindex *vx, const char *index) {
    char *key = vx_key(index, "_build/checkpoint.json"), *text = NULL;
    size_t len = 0;
    json_t *ck = NULL;
    if (storage_get(vx->cfg.storage, key, &text, &len, NULL) == 0) {
        ck = json_loadb(text, len, 0, NULL);
        if (!json_is_object(ck)) {
            json_decref(ck);
            ck = NULL;
        }
    }
    free(text);
    free(key);
    return ck;
}

static json_t *checkpoint_json(const vbuild *b, const char *state, const char *error) {
    json_t *parts = json_array();
    for (size_t i = 0; i < b->nparts; i++) json_array_append_new(parts, json_string(b->parts[i]));
    char now[32];
    lh_time_iso(lh_now_ms(), now);
    json_t *ck = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:I, s:i, s:I, s:I, s:o, s:s, s:s}",
                           "index", b->index, "dataset", b->dataset, "id_column", b->id_column,
                           "text_column", b->text_column, "model", b->model,
                           "chunk_size", (json_int_t)b->chunk_size, "overlap", (json_int_t)b->overlap,
                           "mode", b->refresh ? "refresh" : "build", "source_version",
                           (json_int_t)b->source_version, "target_generation", (json_int_t)b->target_gen,
                           "dims", b->dims, "docs_done", (json_int_t)b->docs_done,
                           "chunks_done", (json_int_t)b->chunks_done, "parts", parts,
                           "state", state, "updated_at", now);
    if (error) json_object_set_new(ck, "error", json_string(error));
    return ck;
}

static int checkpoint_write(const vbuild *b, const char *state, const char *error, lh_err *err) {
    json_t *ck = checkpoint_json(b, state, error);
    char *text = json_dumps(ck, JSON_INDENT(2) | JSON_SORT_KEYS);
    char *key = vx_key(b->index, "_build/checkpoint.json");
    int rc = storage_put(b->vx->cfg.storage, key, text, strlen(text), NULL, err);
    free(key);
    free(text);
    json_decref(ck);
    return rc;
}

static int str_eq(const json_t *o, const char *k, const char *v) {
    return !strcmp(json_string_value(json_object_get(o, k)) ?: "", v);
}
static int int_eq(const json_t *o, const char *k, int64_t v) {
    return json_integer_value(json_object_get(o, k)) == v;
}

/* Picks up a checkpoint made with the same parameters on the same data. */
static int checkpoint_resume(vbuild *b) {
    json_t *ck = vbuild_checkpoint_read(b->vx, b->index);
    if (!ck) return 0;
    int match = str_eq(ck, "dataset", b->dataset) && str_eq(ck, "id_column", b->id_column) &&
                str_eq(ck, "text_column", b->text_column) && str_eq(ck, "model", b->model) &&
                str_eq(ck, "mode", b->refresh ? "refresh" : "build") &&
                int_eq(ck, "chunk_size", (int64_t)b->chunk_size) && int_eq(ck, "overlap", (int64_t)b->overlap) &&
                int_eq(ck, "source_version", b->source_version) &&
                int_eq(ck, "target_generation", b->target_gen);
    json_t *parts = json_object_get(ck, "parts");
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) {
        char *key = vx_key(b->index, json_string_value(p) ?: "");
        if (!json_is_string(p) || !storage_exists(b->vx->cfg.storage, key)) match = 0;
        free(key);
    }
    if (match) {
        b->docs_done = json_integer_value(json_object_get(ck, "docs_done"));
        b->chunks_done = json_integer_value(json_object_get(ck, "chunks_done"));
        b->dims = (int)json_integer_value(json_object_get(ck, "dims"));
        b->parts = lh_calloc(json_array_size(parts) + 1, sizeof *b->parts);
        json_array_foreach(parts, i, p) b->parts[b->nparts++] = lh_strdup(json_string_value(p));
        b->resumed = 1;
        b->resumed_docs = b->docs_done;
        LOG_INFO("vector index %s: resuming from checkpoint: %lld docs, %lld chunks, %zu parts",
                 b->index, (long long)b->docs_done, (long long)b->chunks_done, b->nparts);
    } else {
        LOG_INFO("vector index %s: checkpoint does not match this build, starting over", b->index);
    }
    json_decref(ck);
    return match;
}

/* ---- units -------------------------------------------------------------------------- */

enum { U_QUEUED, U_TAKEN, U_DONE, U_FAILED };

typedef struct {
    uint64_t seq;
    int64_t first_doc;     /* index of its first document in the source order */
    size_t ndocs;
    vrows rows;            /* dims 0 until embedded */
    char **texts;          /* chunk texts (borrowed from rows.text) */
    float *emb;            /* n x dims once embedded */
    int dims;
    int state;
    lh_err err;
} vunit;

static void unit_free(vunit *u) {
    if (!u) return;
    vrows_free(&u->rows);
    free(u->texts);
    free(u->emb);
    free(u);
}

/* The source cursor: a streaming result and the row we are at. */
typedef struct {
    duckdb_result res;
    duckdb_data_chunk ch;
    idx_t row, rows;
    int done;
} vsource;

/* Next document; 0 at the end, -1 on error. */
static int source_next(vsource *s, char **id, char **text, char **hash, lh_err *err) {
    while (!s->ch || s->row >= s->rows) {
        if (s->ch) duckdb_destroy_data_chunk(&s->ch);
        s->ch = duckdb_fetch_chunk(s->res);
        s->row = 0;
        if (!s->ch) {
            s->done = 1;
            const char *e = duckdb_result_error(&s->res);
            return e ? lh_err_set(err, LH_E_INTERNAL, "reading the dataset: %s", e) : 0;
        }
        s->rows = duckdb_data_chunk_get_size(s->ch);
    }
    *id = vstore_str(duckdb_data_chunk_get_vector(s->ch, 0), s->row);
    *text = vstore_str(duckdb_data_chunk_get_vector(s->ch, 1), s->row);
    *hash = vstore_str(duckdb_data_chunk_get_vector(s->ch, 2), s->row);
    s->row++;
    return 1;
}

/* Reads whole documents until the unit holds batch_size chunks. NULL at the
 * end of the source (or on error, with err set). */
static vunit *unit_read(vbuild *b, vsource *src, uint64_t seq, int64_t *doc_no, lh_err *err) {
    vunit *u = lh_calloc(1, sizeof *u);
    u->seq = seq;
    u->first_doc = *doc_no;
    while ((int)u->rows.n < b->vx->cfg.batch_size) {
        char *id = NULL, *text = NULL, *hash = NULL;
        int rc = source_next(src, &id, &text, &hash, err);
        if (rc <= 0) {
            if (rc < 0) u->state = U_FAILED;
            break;
        }
        lh_chunk *ch = NULL;
        size_t nch = 0;
        if (text) chunker_split(text, strlen(text), b->chunk_size, b->overlap, &ch, &nch, NULL);
        for (size_t i = 0; i < nch; i++)
            vrows_push(&u->rows, lh_strdup(id), (int32_t)i, lh_strndup(text + ch[i].start, ch[i].len),
                       lh_strdup(hash), NULL);
        free(ch);
        free(id);
        free(text);
        free(hash);
        u->ndocs++;
        (*doc_no)++;
    }
    if (u->state == U_FAILED || u->ndocs == 0) {
        unit_free(u);
        return NULL;
    }
    return u;
}

/* ---- embedding with retry ------------------------------------------------------------- */

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Checks a provider answer: finite values; renormalises rows that drifted. */
static int vectors_check(float *v, size_t n, int dims, lh_err *err) {
    for (size_t i = 0; i < n; i++) {
        float *row = v + i * (size_t)dims;
        double s = 0;
        for (int d = 0; d < dims; d++) {
            if (!isfinite(row[d]))
                return lh_err_set(err, LH_E_BAD_GATEWAY, "the embedding provider returned a non-finite value");
            s += (double)row[d] * row[d];
        }
        if (s > 0 && fabs(s - 1.0) > 1e-3) {
            float inv = (float)(1.0 / sqrt(s));
            for (int d = 0; d < dims; d++) row[d] *= inv;
        }
    }
    return 0;
}

/* One embedding call with retries; *out (malloc'd) gets n x *dims floats.
 * *dims_io: expected dims (0 = any), set to the answer's. */
static int embed_call(vbuild *b, const char *const *texts, size_t n, float **out, int *dims_io,
                      lh_err *err) {
    const lh_vprovider *p = &b->vx->cfg.provider;
    const char *model = p->embed_model && !strcmp(b->model, p->embed_model) ? NULL : b->model;
    int attempts = b->vx->cfg.max_retries + 1;
    for (int a = 0; a < attempts; a++) {
        float *v = NULL;
        int dims = 0;
        lh_err e = {0};
        int rc = p->embed(p->ctx, model, texts, n, &v, &dims, &e);
        if (rc == 0 && (dims <= 0 || dims > 65536 || !v))
            rc = lh_err_set(&e, LH_E_BAD_GATEWAY, "the embedding provider returned no usable vectors");
        if (rc == 0 && *dims_io > 0 && dims != *dims_io)
            rc = lh_err_set(&e, LH_E_BAD_GATEWAY, "the embedding provider returned %d dims, expected %d",
                            dims, *dims_io);
        if (rc == 0) rc = vectors_check(v, n, dims, &e);
        if (rc == 0) {
            *out = v;
            *dims_io = dims;
            return 0;
        }
        free(v);
        if (e.code == LH_OK) lh_err_set(&e, LH_E_BAD_GATEWAY, "embedding failed");
        if (err) *err = e;
        if (e.code == LH_E_BAD_REQUEST || a + 1 == attempts || vbuild_should_stop(b)) break;
        int wait = b->vx->cfg.retry_backoff_ms << (a < 10 ? a : 10);
        LOG_WARN("vector index %s: embedding batch failed (attempt %d of %d), retrying in %d ms: %s",
                 b->index, a + 1, attempts, wait, e.msg);
        for (int slept = 0; slept < wait && !vbuild_should_stop(b); slept += 50)
            sleep_ms(wait - slept < 50 ? wait - slept : 50);
    }
    lh_err_prefix(err, "embedding failed after %d attempt%s", attempts, attempts > 1 ? "s" : "");
    return -1;
}

/* Embeds every chunk of u in calls of at most batch_size texts. */
static int unit_embed(vbuild *b, vunit *u, int expected_dims, lh_err *err) {
    size_t n = u->rows.n, bs = (size_t)b->vx->cfg.batch_size;
    int dims = expected_dims;
    u->texts = lh_calloc(n + 1, sizeof *u->texts);
    for (size_t i = 0; i < n; i++) u->texts[i] = u->rows.text[i];
    for (size_t i = 0; i < n; i += bs) {
        size_t m = n - i < bs ? n - i : bs;
        float *v = NULL;
        if (embed_call(b, (const char *const *)u->texts + i, m, &v, &dims, err) != 0) {
            lh_err_prefix(err, "documents %lld..%lld", (long long)u->first_doc,
                          (long long)(u->first_doc + (int64_t)u->ndocs - 1));
            return -1;
        }
        if (!u->emb) u->emb = lh_malloc(n * (size_t)dims * sizeof *u->emb);
        memcpy(u->emb + i * (size_t)dims, v, m * (size_t)dims * sizeof *v);
        free(v);
    }
    u->dims = dims;
    return 0;
}

/* ---- the pipelines ---------------------------------------------------------------------- */

typedef struct {
    vbuild *b;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    vunit **ring;
    size_t cap;
    uint64_t head, tail;   /* in flight: [head, tail) */
    int quit;
    int dims;              /* known dims (0 until the first unit) */
    pthread_t *threads;
    int nthreads;
} vpipe;

static void *pipe_worker(void *arg) {
    vpipe *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        vunit *u = NULL;
        for (uint64_t s = p->head; s < p->tail && !u; s++)
            if (p->ring[s % p->cap]->state == U_QUEUED) u = p->ring[s % p->cap];
        if (!u) {
            if (p->quit) break;
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        u->state = U_TAKEN;
        int dims = p->dims;
        pthread_mutex_unlock(&p->mu);
        int rc = unit_embed(p->b, u, dims, &u->err);
        pthread_mutex_lock(&p->mu);
        if (rc == 0 && p->dims > 0 && u->dims != p->dims)
            rc = lh_err_set(&u->err, LH_E_BAD_GATEWAY, "the embedding provider changed dims from %d to %d",
                            p->dims, u->dims);
        if (rc == 0 && p->dims == 0) p->dims = u->dims;
        u->state = rc == 0 ? U_DONE : U_FAILED;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* 0 when at least one worker runs (fewer than asked only slow the build
 * down); -1 with err when none can start. */
static int pipe_start(vpipe *p, vbuild *b, lh_err *err) {
    memset(p, 0, sizeof *p);
    p->b = b;
    p->dims = b->dims;
    p->nthreads = b->vx->cfg.pipelines;
    p->cap = (size_t)p->nthreads * 2;
    p->ring = lh_calloc(p->cap, sizeof *p->ring);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->threads = lh_calloc((size_t)p->nthreads, sizeof *p->threads);
    lh_err terr = {0};
    int started = 0;
    while (started < p->nthreads &&
           lh_thread_start(&p->threads[started], NULL, pipe_worker, p, "embedding pipeline", &terr) == 0)
        started++;
    p->nthreads = started;
    if (started > 0) return 0;
    if (err) *err = terr;
    return -1;
}

static void pipe_stop(vpipe *p) {
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    for (uint64_t s = p->head; s < p->tail; s++) /* nobody will take what is still queued */
        if (p->ring[s % p->cap]->state == U_QUEUED) p->ring[s % p->cap]->state = U_FAILED;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    for (uint64_t s = p->head; s < p->tail; s++) unit_free(p->ring[s % p->cap]);
    free(p->ring);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

/* Waits for the oldest unit in flight; NULL when a stop was requested. */
static vunit *pipe_next_done(vpipe *p) {
    pthread_mutex_lock(&p->mu);
    vunit *u = p->ring[p->head % p->cap];
    while (u->state != U_DONE && u->state != U_FAILED && !vbuild_should_stop(p->b)) {
        lh_cond_wait_ms(&p->cv, &p->mu, 100);
    }
    if (u->state != U_DONE && u->state != U_FAILED) u = NULL;
    else p->head++;
    pthread_mutex_unlock(&p->mu);
    return u;
}

static void pipe_push(vpipe *p, vunit *u) {
    pthread_mutex_lock(&p->mu);
    p->ring[p->tail % p->cap] = u;
    p->tail++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* ---- staging ------------------------------------------------------------------------------ */

/* Writes the staged rows as the next part file and records it in the checkpoint. */
static int stage_flush(vbuild *b, duckdb_connection conn, vrows *staged, lh_err *err) {
    if (staged->n > 0) {
        char *file = lh_asprintf("_build/part-%06zu.parquet", b->nparts + 1);
        char *path = vx_write_path(b->vx, b->index, file, err);
        int rc = path ? vstore_write_rows(conn, staged, path, err) : -1;
        if (rc == 0) rc = vx_publish(b->vx, b->index, file, path, err);
        free(path);
        if (rc != 0) {
            free(file);
            return -1;
        }
        b->parts = lh_realloc(b->parts, (b->nparts + 1) * sizeof *b->parts);
        b->parts[b->nparts++] = file;
        vrows_clear(staged);
    }
    return checkpoint_write(b, "running", NULL, err);
}

/* Moves an embedded unit's rows into the staging buffer. */
static void stage_unit(vrows *staged, vunit *u) {
    if (staged->dims == 0) staged->dims = u->dims;
    for (size_t i = 0; i < u->rows.n; i++) {
        vrows_push(staged, u->rows.doc_id[i], u->rows.chunk_no[i], u->rows.text[i], u->rows.hash[i],
                   u->emb + i * (size_t)u->dims);
        u->rows.doc_id[i] = u->rows.text[i] = u->rows.hash[i] = NULL;
    }
}

/* ---- the supervisor ---------------------------------------------------------------------------- */

static char *source_sql_for(vbuild *b) {
    char *old = NULL;
    if (b->refresh) old = vstore_file_list(b->vx, b->index, json_object_get(b->base_meta, "files"));
    char *sql = vstore_source_sql(b->select_sql, b->id_column, b->text_column, old);
    free(old);
    return sql;
}

/* Streams the source, embeds and stages; returns 0 when all rows are in parts. */
static int embed_all(vbuild *b, duckdb_connection rconn, duckdb_connection wconn, lh_err *err) {
    char *sql = source_sql_for(b);
    char *count = lh_asprintf("SELECT count(*) FROM (%s)", sql);
    int rc = vstore_scalar(rconn, count, &b->docs_total, err);
    free(count);
    vsource src = {0};
    if (rc == 0) rc = vstore_stream(rconn, sql, &src.res, err);
    free(sql);
    if (rc != 0) return -1;
    int64_t doc_no = 0;
    for (char *id, *t, *h; doc_no < b->docs_done && source_next(&src, &id, &t, &h, err) > 0; doc_no++) {
        free(id);
        free(t);
        free(h);
    }
    if (b->job) jobs_progress(b->job, b->docs_done, b->docs_total);
    vpipe p;
    lh_err fail = {0};
    pipe_start(&p, b, &fail); /* no worker: fail is set and nothing is read */
    vrows staged = {0};
    staged.dims = b->dims;
    uint64_t seq = 0;
    int since_ckpt = 0, stopped = 0;
    for (;;) {
        while (fail.code == LH_OK && !src.done && p.tail - p.head < p.cap && !vbuild_should_stop(b)) {
            vunit *u = unit_read(b, &src, seq, &doc_no, &fail);
            if (!u) break;
            seq++;
            pipe_push(&p, u);
        }
        if (fail.code != LH_OK) break;
        if (p.head == p.tail) break;
        vunit *u = pipe_next_done(&p);
        if (!u) {
            stopped = 1;
            break;
        }
        if (u->state == U_FAILED) {
            fail = u->err;
            unit_free(u);
            break;
        }
        if (b->dims == 0) b->dims = u->dims;
        stage_unit(&staged, u);
        b->docs_done += (int64_t)u->ndocs;
        b->chunks_done += (int64_t)u->rows.n;
        unit_free(u);
        if (b->job) jobs_progress(b->job, b->docs_done, b->docs_total);
        if (++since_ckpt >= b->vx->cfg.checkpoint_every) {
            since_ckpt = 0;
            if (stage_flush(b, wconn, &staged, &fail) != 0) break;
        }
    }
    pipe_stop(&p);
    if (src.ch) duckdb_destroy_data_chunk(&src.ch);
    duckdb_destroy_result(&src.res);
    if (!stopped && fail.code == LH_OK && vbuild_should_stop(b)) stopped = 1;
    int user_cancel = stopped && !__atomic_load_n(&b->vx->stopping, __ATOMIC_RELAXED);
    if (!user_cancel) {
        /* keep what is embedded: a failure or a shutdown resumes from here */
        lh_err ferr = {0};
        if (staged.n > 0 && stage_flush(b, wconn, &staged, &ferr) != 0)
            LOG_WARN("vector index %s: flushing staged vectors failed: %s", b->index, ferr.msg);
        if (fail.code != LH_OK) checkpoint_write(b, "failed", fail.msg, NULL);
    }
    vrows_free(&staged);
    if (fail.code != LH_OK) {
        if (err) *err = fail;
        return -1;
    }
    if (stopped) {
        if (user_cancel) vx_gc(b->vx, b->index, -1, 1); /* the staging only */
        return lh_err_set(err, user_cancel ? LH_E_CONFLICT : LH_E_UNAVAILABLE, "%s",
                          user_cancel ? "cancelled" : "interrupted by shutdown; resumes at the next start");
    }
    return 0;
}

int vbuild_embed(vbuild *b, lh_err *err) {
    b->select_sql = catalog_select_sql(b->vx->cfg.catalog, b->dataset, &b->source_version, err);
    if (!b->select_sql) return -1;
    json_t *cur = vx_meta_copy(b->vx, b->index);
    int64_t cur_gen = json_integer_value(json_object_get(cur, "generation"));
    if (b->refresh) {
        if (!cur) {
            lh_err_set(err, LH_E_NOT_FOUND, "no vector index named '%s' to refresh", b->index);
            return -1;
        }
        b->base_meta = cur;
        cur = NULL;
        b->dims = (int)json_integer_value(json_object_get(b->base_meta, "dims"));
    }
    json_decref(cur);
    b->target_gen = cur_gen + 1;
    if (!checkpoint_resume(b)) {
        vx_gc(b->vx, b->index, cur_gen, 1);
        if (b->refresh) b->dims = (int)json_integer_value(json_object_get(b->base_meta, "dims"));
    }
    duckdb_connection rconn = NULL, wconn = NULL;
    if (vstore_connect(b->vx, &rconn, err) != 0) return -1;
    if (vstore_connect(b->vx, &wconn, err) != 0) {
        duckdb_disconnect(&rconn);
        return -1;
    }
    int rc = embed_all(b, rconn, wconn, err);
    duckdb_disconnect(&rconn);
    duckdb_disconnect(&wconn);
    return rc;
}
