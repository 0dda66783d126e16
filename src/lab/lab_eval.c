/*
 * lab_eval.c — eval sets: named query sets over one index with their exact
 * top-k (the ground truth every trial is scored against), persisted as
 * _hnsw_evals/<name>.json.
 *
 * Queries are kept as vectors (base64 of float32, little-endian), so a
 * trial never calls the embedding provider and two trials of one eval see
 * identical queries. Explicit evals embed their texts with the index's own
 * model; autogen samples stored rows (seeded, without repeats) and either
 * perturbs their vectors with Gaussian noise or embeds the start of their
 * chunk text. The truth is a list of row numbers of the index generation
 * named by truth_generation; when the index has moved on (refresh,
 * rebuild), loading the eval recomputes and saves it.
 */
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "lab/lab_internal.h"

#define EVAL_DIR "_hnsw_evals"
#define EVAL_MAX_QUERIES 1000
#define EVAL_TEXT_CHARS 160

/* ---- vectors as base64 ------------------------------------------------------------ */

static char *vec_b64(const float *v, int dims) {
    size_t len = (size_t)dims * sizeof(float);
    unsigned char *out = lh_malloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock(out, (const unsigned char *)v, (int)len);
    return (char *)out;
}

/* Decodes exactly dims floats into v; -1 when s is not that. */
static int vec_unb64(const char *s, float *v, int dims) {
    size_t len = s ? strlen(s) : 0, want = (size_t)dims * sizeof(float);
    if (len == 0 || len % 4 || len / 4 * 3 < want || len / 4 * 3 > want + 2) return -1;
    unsigned char *buf = lh_malloc(len / 4 * 3 + 1);
    int n = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len);
    int pad = (s[len - 1] == '=') + (s[len - 2] == '=');
    int ok = n >= 0 && (size_t)(n - pad) == want;
    if (ok) memcpy(v, buf, want);
    free(buf);
    return ok ? 0 : -1;
}

/* ---- ground truth --------------------------------------------------------------------- */

void vlab_ground_truth(const float *matrix, size_t n, int dims, const float *queries, int nq, int k,
                       int threads, uint32_t *truth) {
    lh_hit *hits = lh_calloc((size_t)k + 1, sizeof *hits);
    for (int q = 0; q < nq; q++) {
        int got = brute_topk(matrix, n, dims, queries + (size_t)q * (size_t)dims, k, threads, hits);
        for (int i = 0; i < k; i++) truth[(size_t)q * (size_t)k + (size_t)i] = i < got ? hits[i].id : UINT32_MAX;
    }
    free(hits);
}

/* Sets every query's "truth" and the doc's truth_generation from m;
 * out (may be NULL) receives the truth too (nq x k). */
static void eval_truth_fill(lh_vlab *lab, json_t *doc, const float *q, int nq, int k, const lh_vmatrix *m,
                            uint32_t *out) {
    uint32_t *truth = out ? out : lh_calloc((size_t)nq * (size_t)k + 1, sizeof *truth);
    vlab_ground_truth(m->matrix, m->n, m->dims, q, nq, k, lab->cfg.threads, truth);
    json_t *queries = json_object_get(doc, "queries");
    for (int i = 0; i < nq; i++) {
        json_t *t = json_array();
        for (int j = 0; j < k && truth[(size_t)i * (size_t)k + (size_t)j] != UINT32_MAX; j++)
            json_array_append_new(t, json_integer(truth[(size_t)i * (size_t)k + (size_t)j]));
        json_object_set_new(json_array_get(queries, (size_t)i), "truth", t);
    }
    json_object_set_new(doc, "truth_generation", json_integer((json_int_t)m->generation));
    if (!out) free(truth);
}

/* ---- documents ---------------------------------------------------------------------------- */

static json_t *eval_summary(const json_t *doc) {
    json_t *s = json_deep_copy(doc);
    json_t *texts = json_array();
    size_t i;
    json_t *q;
    json_array_foreach(json_object_get(doc, "queries"), i, q) {
        json_t *t = json_object_get(q, "text");
        if (json_is_string(t) && json_array_size(texts) < 10) json_array_append(texts, t);
    }
    json_object_set_new(s, "queries", json_integer((json_int_t)json_array_size(json_object_get(doc, "queries"))));
    json_object_set_new(s, "sample_texts", texts);
    return s;
}

/* The doc of an eval over m's index with nq queries (texts, doc_ids may be NULL). */
static json_t *eval_build(lh_vlab *lab, const char *name, const char *kind, const lh_vmatrix *m, const float *q,
                          int nq, int k, const char *const *texts, const char *const *doc_ids) {
    char now[32];
    lh_time_iso(lh_now_ms(), now);
    json_t *queries = json_array();
    for (int i = 0; i < nq; i++) {
        char *b64 = vec_b64(q + (size_t)i * (size_t)m->dims, m->dims);
        json_t *o = json_pack("{s:s}", "vector", b64);
        free(b64);
        if (texts) json_object_set_new(o, "text", json_string(texts[i]));
        if (doc_ids) json_object_set_new(o, "doc_id", json_string(doc_ids[i]));
        json_array_append_new(queries, o);
    }
    json_t *doc = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:o}", "name", name, "index",
                            json_string_value(json_object_get(m->meta, "name")), "kind", kind, "k", k,
                            "dims", m->dims, "created_at", now, "queries", queries);
    eval_truth_fill(lab, doc, q, nq, k, m, NULL);
    return doc;
}

static json_t *eval_save(lh_vlab *lab, json_t *doc, lh_err *err) {
    char *key = vlab_key(EVAL_DIR, json_string_value(json_object_get(doc, "name")), ".json");
    pthread_mutex_lock(&lab->mu);
    int rc = vlab_write_json(lab, key, doc, err);
    pthread_mutex_unlock(&lab->mu);
    free(key);
    json_t *out = rc == 0 ? eval_summary(doc) : NULL;
    json_decref(doc);
    return out;
}

static int name_check(const char *name, lh_err *err) {
    if (vlab_id_valid(name)) return 0;
    lh_err_set(err, LH_E_BAD_REQUEST, "bad eval name '%s'", name ? name : "");
    lh_err_hint(err, "1-128 characters: letters, digits, '_', '-', '.'");
    return -1;
}

static int k_field(const json_t *req, int *k, lh_err *err) {
    double v;
    if (vlab_num_field(req, "k", LAB_K, 1, 100, &v, err) != 0) return -1;
    *k = (int)v;
    return 0;
}

/* ---- explicit query sets ----------------------------------------------------------------------- */

json_t *vlab_eval_create(lh_vlab *lab, const json_t *req, lh_err *err) {
    const char *name, *index;
    int k;
    if (lh_json_want_object(req, err) != 0) return NULL;
    if (vlab_str_field(req, "name", 1, &name, err) || name_check(name, err) ||
        vlab_str_field(req, "index", 1, &index, err) || k_field(req, &k, err))
        return NULL;
    json_t *qs = json_object_get(req, "queries");
    size_t nq = json_array_size(qs);
    if (!json_is_array(qs) || nq == 0 || nq > EVAL_MAX_QUERIES) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"queries\" must be an array of 1..%d strings", EVAL_MAX_QUERIES);
        return NULL;
    }
    const char **texts = lh_calloc(nq, sizeof *texts);
    for (size_t i = 0; i < nq; i++)
        if (!(texts[i] = json_string_value(json_array_get(qs, i))) || !*texts[i]) {
            free(texts);
            lh_err_set(err, LH_E_BAD_REQUEST, "queries[%zu] must be a non-empty string", i);
            return NULL;
        }
    lh_vmatrix m;
    json_t *out = NULL;
    if (vindex_matrix_acquire(lab->cfg.vectors, index, &m, err) == 0) {
        float *q = m.n ? vlab_embed(lab, m.meta, texts, nq, err) : NULL;
        if (!m.n) lh_err_set(err, LH_E_UNPROCESSABLE, "index '%s' has no vectors", index);
        if (q) out = eval_save(lab, eval_build(lab, name, "queries", &m, q, (int)nq, k, texts, NULL), err);
        free(q);
        vindex_matrix_release(&m);
    }
    free(texts);
    return out;
}

/* ---- autogen ---------------------------------------------------------------------------------------- */

/* n distinct rows of 0..total-1, seeded (partial Fisher-Yates). */
static uint32_t *sample_rows(size_t total, int n, uint64_t *rng) {
    uint32_t *all = lh_malloc(total * sizeof *all);
    for (size_t i = 0; i < total; i++) all[i] = (uint32_t)i;
    for (int i = 0; i < n; i++) {
        size_t j = (size_t)i + (size_t)(vlab_rng_next(rng) % (total - (size_t)i));
        uint32_t t = all[i];
        all[i] = all[j];
        all[j] = t;
    }
    return all;
}

/* Row + N(0, noise²/dims) per component, re-normalised. */
static void perturb(const float *row, int dims, double noise, uint64_t *rng, float *out) {
    double norm = 0, sd = noise / sqrt((double)dims);
    for (int d = 0; d < dims; d++) {
        double u1 = vlab_rng_unit(rng), u2 = vlab_rng_unit(rng);
        double g = sqrt(-2.0 * log(u1 > 0 ? u1 : 1e-300)) * cos(2 * M_PI * u2);
        out[d] = (float)(row[d] + sd * g);
        norm += (double)out[d] * out[d];
    }
    norm = sqrt(norm);
    for (int d = 0; d < dims && norm > 0; d++) out[d] = (float)(out[d] / norm);
}

/* The start of a chunk text, cut at a word boundary (caller frees). */
static char *text_head(const char *text) {
    size_t len = strlen(text);
    if (len <= EVAL_TEXT_CHARS) return lh_strdup(text);
    size_t cut = EVAL_TEXT_CHARS;
    while (cut > EVAL_TEXT_CHARS / 2 && text[cut] != ' ') cut--;
    return lh_strndup(text, cut);
}

typedef struct {
    int n, k;
    double noise;
    uint64_t seed;
    int from_texts;
} autogen_opts;

static int autogen_parse(const json_t *req, autogen_opts *o, const char **index, lh_err *err) {
    double n, noise, seed;
    const char *from;
    if (lh_json_want_object(req, err) != 0) return -1;
    if (vlab_str_field(req, "index", 1, index, err) || vlab_num_field(req, "n", 20, 1, EVAL_MAX_QUERIES, &n, err) ||
        vlab_num_field(req, "noise", 0.05, 0, 1, &noise, err) ||
        vlab_num_field(req, "seed", 42, 0, 9007199254740991.0, &seed, err) || k_field(req, &o->k, err) ||
        vlab_str_field(req, "from", 0, &from, err))
        return -1;
    if (from && strcmp(from, "vectors") && strcmp(from, "texts"))
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"from\" must be \"vectors\" or \"texts\"");
    o->n = (int)n;
    o->noise = noise;
    o->seed = (uint64_t)seed;
    o->from_texts = from && !strcmp(from, "texts");
    return 0;
}

/* The queries of an autogen eval over m (nq rows picked in rows). */
static float *autogen_queries(lh_vlab *lab, const lh_vmatrix *m, const autogen_opts *o, const uint32_t *rows,
                              int nq, uint64_t *rng, char ***texts_out, lh_err *err) {
    if (!o->from_texts) {
        float *q = lh_malloc((size_t)nq * (size_t)m->dims * sizeof *q);
        for (int i = 0; i < nq; i++)
            perturb(m->matrix + (size_t)rows[i] * (size_t)m->dims, m->dims, o->noise, rng,
                    q + (size_t)i * (size_t)m->dims);
        return q;
    }
    char **texts = lh_calloc((size_t)nq + 1, sizeof *texts);
    for (int i = 0; i < nq; i++) texts[i] = text_head(vindex_matrix_text(m, rows[i]));
    float *q = vlab_embed(lab, m->meta, (const char *const *)texts, (size_t)nq, err);
    *texts_out = texts;
    return q;
}

json_t *vlab_eval_autogen(lh_vlab *lab, const char *name, const json_t *req, lh_err *err) {
    autogen_opts o = {0};
    const char *index;
    if (name_check(name, err) || autogen_parse(req, &o, &index, err)) return NULL;
    lh_vmatrix m;
    if (vindex_matrix_acquire(lab->cfg.vectors, index, &m, err) != 0) return NULL;
    json_t *out = NULL;
    if (m.n == 0) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "index '%s' has no vectors to sample", index);
        vindex_matrix_release(&m);
        return NULL;
    }
    int nq = (size_t)o.n < m.n ? o.n : (int)m.n;
    uint64_t rng = o.seed;
    uint32_t *rows = sample_rows(m.n, nq, &rng);
    char **texts = NULL;
    const char **ids = lh_calloc((size_t)nq + 1, sizeof *ids);
    for (int i = 0; i < nq; i++) ids[i] = vindex_matrix_doc_id(&m, rows[i]);
    float *q = autogen_queries(lab, &m, &o, rows, nq, &rng, &texts, err);
    if (q) {
        json_t *doc = eval_build(lab, name, "autogen", &m, q, nq, o.k, (const char *const *)texts, ids);
        json_object_set_new(doc, "autogen", json_pack("{s:i, s:f, s:s, s:I}", "n", nq, "noise", o.noise, "from",
                                                      o.from_texts ? "texts" : "vectors", "seed", (json_int_t)o.seed));
        out = eval_save(lab, doc, err);
    }
    for (int i = 0; texts && i < nq; i++) free(texts[i]);
    free(texts);
    free(ids);
    free(q);
    free(rows);
    vindex_matrix_release(&m);
    return out;
}

/* ---- reading ----------------------------------------------------------------------------------------- */

static json_t *eval_read(lh_vlab *lab, const char *name, lh_err *err) {
    if (name_check(name, err) != 0) return NULL;
    json_t *doc = vlab_read_named(lab, EVAL_DIR, name, "eval set", err);
    if (!doc && err && err->code == LH_E_NOT_FOUND)
        lh_err_hint(err, "POST /vectors/hnsw/evals or /vectors/hnsw/evals/%s/autogen makes one", name);
    return doc;
}

json_t *vlab_eval_get(lh_vlab *lab, const char *name, lh_err *err) {
    json_t *doc = eval_read(lab, name, err);
    json_t *s = doc ? eval_summary(doc) : NULL;
    json_decref(doc);
    return s;
}

static json_t *eval_listed(lh_vlab *lab, const char *name) { return vlab_eval_get(lab, name, NULL); }

json_t *vlab_eval_list(lh_vlab *lab) {
    return json_pack("{s:o}", "evals", vlab_list_named(lab, EVAL_DIR, eval_listed));
}

/* ---- loading for a trial --------------------------------------------------------------------------------- */

/* Decodes the doc's queries and truth into ev; 1 when the truth must be recomputed. */
static int eval_decode(const json_t *doc, const lh_vmatrix *m, veval *ev, lh_err *err) {
    json_t *qs = json_object_get(doc, "queries");
    ev->nq = (int)json_array_size(qs);
    ev->queries = lh_calloc((size_t)ev->nq * (size_t)m->dims + 1, sizeof *ev->queries);
    ev->truth = lh_calloc((size_t)ev->nq * (size_t)ev->k + 1, sizeof *ev->truth);
    int stale = json_integer_value(json_object_get(doc, "truth_generation")) != m->generation;
    for (int i = 0; i < ev->nq; i++) {
        json_t *q = json_array_get(qs, (size_t)i);
        if (vec_unb64(json_string_value(json_object_get(q, "vector")), ev->queries + (size_t)i * (size_t)m->dims,
                      m->dims) != 0)
            return lh_err_set(err, LH_E_UNPROCESSABLE, "eval '%s': query %d has no valid vector", ev->name, i);
        json_t *t = json_object_get(q, "truth");
        for (int j = 0; j < ev->k; j++) {
            json_t *v = json_array_get(t, (size_t)j);
            int64_t row = v ? json_integer_value(v) : -1;
            if (v && (row < 0 || (size_t)row >= m->n)) stale = 1;
            ev->truth[(size_t)i * (size_t)ev->k + (size_t)j] = v && !stale ? (uint32_t)row : UINT32_MAX;
        }
    }
    return stale;
}

int veval_load(lh_vlab *lab, const char *name, const char *index, const lh_vmatrix *m, veval *ev, lh_err *err) {
    memset(ev, 0, sizeof *ev);
    json_t *doc = eval_read(lab, name, err);
    if (!doc) return -1;
    const char *over = json_string_value(json_object_get(doc, "index"));
    ev->name = lh_strdup(name);
    ev->k = (int)json_integer_value(json_object_get(doc, "k"));
    if (ev->k <= 0) ev->k = LAB_K;
    int rc = -1;
    if (!over || strcmp(over, index))
        lh_err_set(err, LH_E_BAD_REQUEST, "eval '%s' is over index '%s', not '%s'", name, over ? over : "?", index);
    else if (json_integer_value(json_object_get(doc, "dims")) != m->dims)
        lh_err_set(err, LH_E_CONFLICT, "eval '%s' has %lld-dim queries but index '%s' has %d dims", name,
                   (long long)json_integer_value(json_object_get(doc, "dims")), index, m->dims);
    else if ((rc = eval_decode(doc, m, ev, err)) == 1) {
        LOG_INFO("eval %s: index %s is at generation %lld, recomputing the ground truth", name, index,
                 (long long)m->generation);
        eval_truth_fill(lab, doc, ev->queries, ev->nq, ev->k, m, ev->truth);
        json_t *s = eval_save(lab, json_incref(doc), NULL);
        json_decref(s);
        rc = 0;
    }
    json_decref(doc);
    if (rc != 0) veval_clear(ev);
    return rc;
}

void veval_clear(veval *ev) {
    free(ev->name);
    free(ev->queries);
    free(ev->truth);
    memset(ev, 0, sizeof *ev);
}

int veval_ensure(lh_vlab *lab, const char *name, const char *index, int n, lh_err *err) {
    json_t *doc = eval_read(lab, name, NULL);
    int ok = doc && !strcmp(json_string_value(json_object_get(doc, "index")) ?: "", index);
    json_decref(doc);
    if (ok) return 0;
    json_t *req = json_pack("{s:s, s:i}", "index", index, "n", n);
    json_t *s = vlab_eval_autogen(lab, name, req, err);
    json_decref(req);
    json_decref(s);
    return s ? 0 : -1;
}
