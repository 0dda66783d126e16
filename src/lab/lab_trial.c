/*
 * lab_trial.c — trials: build a graph with given parameters over an
 * index's in-memory matrix (never touching the live graph), score it
 * against an eval set, journal the record in _hnsw_trials/<index>.jsonl,
 * and pick the best trial by recall, latency or Pareto front.
 *
 * Scoring: recall@k is |approx ∩ exact| / |exact| summed over the queries;
 * latency is measured per query on one thread after a warm-up pass, the
 * query set repeated until about 200 searches were timed (p50, p90, mean);
 * the exact scan is timed on the same queries for comparison. The journal
 * is appended by rewriting the object atomically under the lab lock (a
 * reader never sees a torn line); unreadable lines are skipped.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "lab/lab_internal.h"

#define TRIAL_DIR "_hnsw_trials"
#define TIMED_SEARCHES 200
#define MAX_PASSES 20
#define BRUTE_QUERIES 20
#define RECALL_EPS 1e-9

/* ---- the measuring core -------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double percentile(const double *v, size_t n, double p) {
    if (n == 0) return 0;
    size_t i = (size_t)ceil(p * (double)n);
    return v[i > 0 ? i - 1 : 0];
}

/* Fraction of the exact top-k the graph finds (first pass, also a warm-up). */
static double measure_recall(const lh_hnsw *h, int dims, const float *queries, int nq, const uint32_t *truth,
                             int k, int ef, lh_hit *hits) {
    size_t found = 0, want = 0;
    for (int q = 0; q < nq; q++) {
        int got = hnsw_search(h, queries + (size_t)q * (size_t)dims, k, ef, hits);
        const uint32_t *t = truth + (size_t)q * (size_t)k;
        for (int j = 0; j < k && t[j] != UINT32_MAX; j++) {
            want++;
            for (int i = 0; i < got; i++)
                if (hits[i].id == t[j]) {
                    found++;
                    break;
                }
        }
    }
    return want ? (double)found / (double)want : 1.0;
}

static void measure_latency(const lh_hnsw *h, int dims, const float *queries, int nq, int k, int ef, lh_hit *hits,
                            lh_vlab_score *out) {
    int passes = (TIMED_SEARCHES + nq - 1) / nq;
    if (passes > MAX_PASSES) passes = MAX_PASSES;
    size_t m = (size_t)passes * (size_t)nq;
    double *t = lh_malloc(m * sizeof *t), sum = 0;
    for (size_t i = 0; i < m; i++) {
        const float *q = queries + (i % (size_t)nq) * (size_t)dims;
        double t0 = lh_mono_s();
        hnsw_search(h, q, k, ef, hits);
        t[i] = (lh_mono_s() - t0) * 1e6;
        sum += t[i];
    }
    qsort(t, m, sizeof *t, cmp_double);
    out->p50_us = percentile(t, m, 0.5);
    out->p90_us = percentile(t, m, 0.9);
    out->mean_us = sum / (double)m;
    free(t);
}

static double measure_brute(const float *matrix, size_t n, int dims, const float *queries, int nq, int k,
                            int threads, lh_hit *hits) {
    int bq = nq < BRUTE_QUERIES ? nq : BRUTE_QUERIES;
    double *t = lh_malloc((size_t)bq * sizeof *t + 1);
    for (int q = 0; q < bq; q++) {
        double t0 = lh_mono_s();
        brute_topk(matrix, n, dims, queries + (size_t)q * (size_t)dims, k, threads, hits);
        t[q] = (lh_mono_s() - t0) * 1e6;
    }
    qsort(t, (size_t)bq, sizeof *t, cmp_double);
    double p50 = percentile(t, (size_t)bq, 0.5);
    free(t);
    return p50;
}

int vlab_score(const float *matrix, size_t n, int dims, const float *queries, int nq, const uint32_t *truth,
               int k, const lh_hnsw_params *p, int threads, lh_vlab_score *out, lh_err *err) {
    memset(out, 0, sizeof *out);
    if (nq <= 0 || k <= 0) return lh_err_set(err, LH_E_BAD_REQUEST, "a trial needs queries and k >= 1");
    lh_hnsw_params rp = hnsw_params_defaults(p ? *p : (lh_hnsw_params){0});
    double t0 = lh_mono_s();
    lh_hnsw *h = hnsw_build(matrix, n, dims, &rp, threads, err);
    if (!h) return -1;
    out->build_s = lh_mono_s() - t0;
    out->memory_bytes = hnsw_memory_bytes(h);
    out->queries = nq;
    lh_hit *hits = lh_calloc((size_t)k + 1, sizeof *hits);
    out->recall = measure_recall(h, dims, queries, nq, truth, k, rp.ef_search, hits);
    measure_latency(h, dims, queries, nq, k, rp.ef_search, hits, out);
    out->brute_p50_us = measure_brute(matrix, n, dims, queries, nq, k, threads, hits);
    free(hits);
    hnsw_free(h);
    return 0;
}

/* ---- the journal ------------------------------------------------------------------------------ */

static int journal_append(lh_vlab *lab, const char *index, const json_t *rec, lh_err *err) {
    char *key = vlab_key(TRIAL_DIR, index, ".jsonl");
    char *line = json_dumps(rec, JSON_COMPACT);
    pthread_mutex_lock(&lab->mu);
    char *old = NULL;
    size_t len = 0;
    lh_err gerr = {0};
    int rc = storage_get(lab->cfg.storage, key, &old, &len, &gerr);
    if (rc != 0 && gerr.code != LH_E_NOT_FOUND) {
        if (err) *err = gerr;
    } else {
        lh_strbuf sb = LH_STRBUF_INIT;
        if (old) sb_append(&sb, old, len);
        if (sb.len && sb.buf[sb.len - 1] != '\n') sb_putc(&sb, '\n');
        sb_puts(&sb, line);
        sb_putc(&sb, '\n');
        rc = storage_put(lab->cfg.storage, key, sb.buf, sb.len, NULL, err);
        sb_free(&sb);
    }
    pthread_mutex_unlock(&lab->mu);
    free(old);
    free(line);
    free(key);
    return rc;
}

json_t *vtrial_journal(lh_vlab *lab, const char *index) {
    json_t *arr = json_array();
    char *key = vlab_key(TRIAL_DIR, index, ".jsonl");
    char *text = NULL;
    size_t len = 0;
    pthread_mutex_lock(&lab->mu);
    int rc = storage_get(lab->cfg.storage, key, &text, &len, NULL);
    pthread_mutex_unlock(&lab->mu);
    for (char *line = rc == 0 ? text : NULL; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t ll = nl ? (size_t)(nl - line) : strlen(line);
        json_t *rec = json_loadb(line, ll, 0, NULL);
        if (json_is_object(rec)) json_array_append(arr, rec);
        json_decref(rec);
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    free(key);
    return arr;
}

json_t *vtrial_find(lh_vlab *lab, const char *index, const char *id) {
    json_t *all = vtrial_journal(lab, index), *hit = NULL, *t;
    size_t i;
    json_array_foreach(all, i, t) if (!strcmp(json_string_value(json_object_get(t, "id")) ?: "", id)) hit = t;
    json_incref(hit);
    json_decref(all);
    return hit;
}

/* ---- running ------------------------------------------------------------------------------------ */

static json_t *trial_record(const char *index, const char *eval, const lh_vmatrix *m, int k, lh_hnsw_params p,
                            const lh_vlab_score *sc, const char *source, const char *note) {
    char id[16] = "t", now[32];
    lh_random_hex(id + 1, 5);
    lh_time_iso(lh_now_ms(), now);
    json_t *r = json_pack("{s:s, s:s, s:s, s:I, s:I, s:i, s:i, s:o}", "id", id, "index", index, "eval", eval,
                          "generation", (json_int_t)m->generation, "vectors", (json_int_t)m->n, "dims", m->dims,
                          "k", k, "config", vindex_hnsw_params_json(p));
    json_object_set_new(r, "recall", json_real(round(sc->recall * 1e6) / 1e6));
    json_object_set_new(r, "p50_us", json_real(round(sc->p50_us * 10) / 10));
    json_object_set_new(r, "p90_us", json_real(round(sc->p90_us * 10) / 10));
    json_object_set_new(r, "mean_us", json_real(round(sc->mean_us * 10) / 10));
    json_object_set_new(r, "brute_p50_us", json_real(round(sc->brute_p50_us * 10) / 10));
    json_object_set_new(r, "build_s", json_real(round(sc->build_s * 1e4) / 1e4));
    json_object_set_new(r, "memory_bytes", json_integer((json_int_t)sc->memory_bytes));
    json_object_set_new(r, "queries", json_integer(sc->queries));
    json_object_set_new(r, "source", json_string(source));
    if (note) json_object_set_new(r, "note", json_string(note));
    json_object_set_new(r, "created_at", json_string(now));
    return r;
}

/* p's zero fields taken from the live graph (else the defaults). */
static lh_hnsw_params fill_from_live(lh_hnsw_params p, const lh_vmatrix *m) {
    if (m->has_hnsw) {
        if (!p.M) p.M = m->hnsw.M;
        if (!p.ef_construction) p.ef_construction = m->hnsw.ef_construction;
        if (!p.ef_search) p.ef_search = m->hnsw.ef_search;
        if (!p.seed) p.seed = m->hnsw.seed;
    }
    return hnsw_params_defaults(p);
}

json_t *vtrial_run(lh_vlab *lab, const char *index, const char *eval, const lh_hnsw_params *p,
                   const char *source, const char *note, lh_err *err) {
    lh_vmatrix m;
    if (vindex_matrix_acquire(lab->cfg.vectors, index, &m, err) != 0) return NULL;
    json_t *rec = NULL;
    veval ev;
    if (m.n == 0) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "index '%s' has no vectors", index);
    } else if (veval_load(lab, eval, index, &m, &ev, err) == 0) {
        lh_hnsw_params want = fill_from_live(p ? *p : (lh_hnsw_params){0}, &m);
        lh_vlab_score sc;
        if (vlab_score(m.matrix, m.n, m.dims, ev.queries, ev.nq, ev.truth, ev.k, &want, lab->cfg.threads, &sc,
                       err) == 0) {
            rec = trial_record(index, eval, &m, ev.k, want, &sc, source, note);
            if (journal_append(lab, index, rec, err) != 0) {
                json_decref(rec);
                rec = NULL;
            } else {
                LOG_INFO("hnsw trial %s on %s: M=%d ec=%d es=%d recall=%.3f p50=%.0fus build=%.2fs (%s)",
                         json_string_value(json_object_get(rec, "id")), index, want.M, want.ef_construction,
                         want.ef_search, sc.recall, sc.p50_us, sc.build_s, source);
            }
        }
        veval_clear(&ev);
    }
    vindex_matrix_release(&m);
    return rec;
}

json_t *vlab_trial_run(lh_vlab *lab, const json_t *req, lh_err *err) {
    const char *index, *eval, *note;
    lh_hnsw_params p;
    if (lh_json_want_object(req, err) != 0) return NULL;
    if (vlab_str_field(req, "index", 1, &index, err) || vlab_str_field(req, "eval", 1, &eval, err) ||
        vlab_str_field(req, "note", 0, &note, err) || vlab_config_parse(req, NULL, &p, err))
        return NULL;
    return vtrial_run(lab, index, eval, &p, "manual", note, err);
}

json_t *vlab_trials_list(lh_vlab *lab, const char *index, lh_err *err) {
    json_t *trials = vtrial_journal(lab, index ? index : "");
    json_t *meta = json_array_size(trials) ? NULL : vindex_get(lab->cfg.vectors, index, err);
    if (!json_array_size(trials) && !meta) {
        json_decref(trials);
        return NULL;
    }
    json_decref(meta);
    return json_pack("{s:s, s:o}", "index", index, "trials", trials);
}

/* ---- selection ------------------------------------------------------------------------------------ */

static double recall_of(const json_t *t) { return json_number_value(json_object_get(t, "recall")); }
static double p50_of(const json_t *t) { return json_number_value(json_object_get(t, "p50_us")); }

/* 1 when a is better than b: higher recall, then lower p50. */
static int better_recall(const json_t *a, const json_t *b) {
    double ra = recall_of(a), rb = recall_of(b);
    if (fabs(ra - rb) > RECALL_EPS) return ra > rb;
    return p50_of(a) < p50_of(b);
}

/* 1 when a dominates b: no worse on both, better on one. */
static int dominates(const json_t *a, const json_t *b) {
    double ra = recall_of(a), rb = recall_of(b), la = p50_of(a), lb = p50_of(b);
    return ra >= rb - RECALL_EPS && la <= lb && (ra > rb + RECALL_EPS || la < lb);
}

static json_t *pareto_front(const json_t *trials) {
    json_t *front = json_array(), *t, *u;
    size_t i, j;
    json_array_foreach(trials, i, t) {
        int dominated = 0;
        json_array_foreach(trials, j, u) if (j != i && dominates(u, t)) dominated = 1;
        if (!dominated) json_array_append(front, t);
    }
    return front;
}

json_t *vlab_pick(const json_t *trials, const char *metric, double min_recall, lh_err *err) {
    int m_recall = metric && !strcmp(metric, "recall"), m_lat = metric && !strcmp(metric, "latency");
    int m_pareto = !metric || !strcmp(metric, "pareto");
    if (!m_recall && !m_lat && !m_pareto) {
        lh_err_set(err, LH_E_BAD_REQUEST, "unknown metric '%s'", metric);
        lh_err_hint(err, "one of recall, latency, pareto");
        return NULL;
    }
    json_t *front = m_pareto ? pareto_front(trials) : NULL;
    const json_t *pool = front ? front : trials, *best = NULL, *t;
    size_t i;
    json_array_foreach(pool, i, t) {
        int gated = !m_recall && recall_of(t) < min_recall - RECALL_EPS;
        if (gated) continue;
        if (!best || (m_lat ? (p50_of(t) < p50_of(best) || (p50_of(t) == p50_of(best) && recall_of(t) > recall_of(best)))
                            : better_recall(t, best)))
            best = t;
    }
    json_t *out = json_pack("{s:s, s:f, s:I, s:O?}", "metric", m_recall ? "recall" : m_lat ? "latency" : "pareto",
                            "min_recall", min_recall, "considered", (json_int_t)json_array_size(trials), "best", best);
    if (front) json_object_set_new(out, "front", front);
    return out;
}

json_t *vlab_trials_best(lh_vlab *lab, const char *index, const char *metric, double min_recall, lh_err *err) {
    json_t *trials = vtrial_journal(lab, index ? index : "");
    json_t *out = NULL;
    if (!json_array_size(trials)) {
        lh_err_set(err, LH_E_NOT_FOUND, "no trials for index '%s'", index ? index : "");
        lh_err_hint(err, "POST /vectors/hnsw/trial runs one");
    } else if ((out = vlab_pick(trials, metric, min_recall, err)) && json_is_null(json_object_get(out, "best"))) {
        lh_err_set(err, LH_E_NOT_FOUND, "no trial of index '%s' reaches recall %.3f", index, min_recall);
        lh_err_hint(err, "lower min_recall or run trials with a larger ef_search / ef_construction");
        json_decref(out);
        out = NULL;
    }
    json_decref(trials);
    return out;
}
