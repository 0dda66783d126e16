/*
 * test_lab.c — the HNSW lab: the measuring core on synthetic clustered
 * vectors (exact ground truth, recall of a thorough vs a starved config),
 * best / latency / Pareto selection and the recall gate, config bounds,
 * the agent's ε-greedy proposer; then over a real index (vector fixture):
 * eval sets, trials journaled, promotion hot-swapping the live graph,
 * history capped at 50, rollback down to the default config, autotune
 * promoting a winner over the gate, everything reloaded after a restart
 * (the eval's truth recomputed when the index moved to a new generation),
 * profiles (bindings checked, activation, scoped search), and the agent
 * (refused when off, hourly budget, per-index cooldown, stop, a re-trial
 * after a dataset append).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lab/lab.h"
#include "vector_fixture.h"

/* ---- synthetic data ------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double gauss(uint64_t *s) {
    double u1 = ((double)(rng_next(s) >> 11) + 1) * 0x1.0p-53, u2 = (double)(rng_next(s) >> 11) * 0x1.0p-53;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static void normalise(float *v, int dims) {
    double n = 0;
    for (int d = 0; d < dims; d++) n += (double)v[d] * v[d];
    n = sqrt(n);
    for (int d = 0; d < dims; d++) v[d] = (float)(v[d] / n);
}

/* n rows in `clusters` Gaussian clusters of spread sd around unit centres. */
static float *clustered(size_t n, int dims, int clusters, double sd, uint64_t seed) {
    uint64_t s = seed;
    float *c = malloc((size_t)clusters * (size_t)dims * sizeof *c), *m = malloc(n * (size_t)dims * sizeof *m);
    for (int i = 0; i < clusters; i++) {
        for (int d = 0; d < dims; d++) c[i * dims + d] = (float)gauss(&s);
        normalise(c + i * dims, dims);
    }
    for (size_t i = 0; i < n; i++) {
        const float *cc = c + (rng_next(&s) % (uint64_t)clusters) * (uint64_t)dims;
        for (int d = 0; d < dims; d++) m[i * (size_t)dims + (size_t)d] = (float)(cc[d] + sd * gauss(&s));
        normalise(m + i * (size_t)dims, dims);
    }
    free(c);
    return m;
}

/* ---- the measuring core ------------------------------------------------------------------ */

static void test_score_clustered(void **state) {
    (void)state;
    const size_t n = 3000;
    const int dims = 32, nq = 40, k = 10;
    float *m = clustered(n, dims, 24, 0.12, 7);
    float *q = malloc((size_t)nq * (size_t)dims * sizeof *q);
    uint64_t s = 99;
    for (int i = 0; i < nq; i++) { /* stored rows with a little noise; query 0 is row 17 itself */
        const float *row = m + (i ? rng_next(&s) % n : 17) * (size_t)dims;
        for (int d = 0; d < dims; d++) q[i * dims + d] = (float)(row[d] + (i ? 0.05 * gauss(&s) : 0));
        normalise(q + i * dims, dims);
    }
    uint32_t *truth = calloc((size_t)nq * (size_t)k, sizeof *truth);
    vlab_ground_truth(m, n, dims, q, nq, k, 2, truth);
    assert_int_equal(truth[0], 17); /* a stored row is its own nearest neighbour */
    lh_vlab_score good, weak;
    lh_hnsw_params pg = {16, 120, 120, 42}, pw = {4, 10, 10, 42};
    lh_err err = {0};
    assert_int_equal(vlab_score(m, n, dims, q, nq, truth, k, &pg, 2, &good, &err), 0);
    assert_int_equal(vlab_score(m, n, dims, q, nq, truth, k, &pw, 2, &weak, &err), 0);
    fprintf(stderr, "recall: thorough %.3f, starved %.3f\n", good.recall, weak.recall);
    assert_true(good.recall >= 0.97);
    assert_true(weak.recall <= good.recall + 1e-9);
    assert_true(weak.recall > 0.2);
    assert_true(good.p50_us > 0 && good.p90_us >= good.p50_us && good.mean_us > 0);
    assert_true(good.brute_p50_us > 0 && good.build_s > 0 && good.memory_bytes > 0);
    assert_true(weak.memory_bytes < good.memory_bytes); /* M=4 keeps fewer links */
    assert_int_equal(good.queries, nq);
    /* a wrong truth scores zero */
    for (int i = 0; i < nq * k; i++) truth[i] = (uint32_t)(n - 1 - (size_t)(i % 3));
    truth[0] = UINT32_MAX;
    lh_vlab_score bad;
    assert_int_equal(vlab_score(m, n, dims, q, nq, truth, k, &pg, 2, &bad, &err), 0);
    assert_true(bad.recall < 0.2);
    free(truth);
    free(q);
    free(m);
}

/* ---- selection ----------------------------------------------------------------------------- */

static json_t *trial(const char *id, double recall, double p50) {
    return json_pack("{s:s, s:f, s:f, s:{s:i, s:i, s:i, s:i}}", "id", id, "recall", recall, "p50_us", p50, "config",
                     "M", 16, "ef_construction", 40, "ef_search", (int)p50, "seed", 42);
}

static const char *best_id(json_t *pick) {
    return json_string_value(json_object_get(json_object_get(pick, "best"), "id"));
}

static void test_pick_best_and_pareto(void **state) {
    (void)state;
    json_t *ts = json_array();
    json_array_append_new(ts, trial("a", 0.80, 5));   /* fast, poor */
    json_array_append_new(ts, trial("b", 0.95, 20));
    json_array_append_new(ts, trial("c", 0.95, 30));  /* dominated by b */
    json_array_append_new(ts, trial("d", 1.00, 50));
    json_array_append_new(ts, trial("e", 1.00, 45));  /* dominates d */
    json_array_append_new(ts, trial("f", 0.70, 60));  /* dominated by all */
    lh_err err = {0};
    json_t *p = vlab_pick(ts, "recall", 0.9, &err);
    assert_string_equal(best_id(p), "e"); /* max recall, then min p50 */
    json_decref(p);
    p = vlab_pick(ts, "latency", 0.9, &err);
    assert_string_equal(best_id(p), "b"); /* fastest over the gate */
    json_decref(p);
    p = vlab_pick(ts, "latency", 0.0, &err);
    assert_string_equal(best_id(p), "a");
    json_decref(p);
    p = vlab_pick(ts, "pareto", 0.9, &err);
    assert_string_equal(best_id(p), "e");
    json_t *front = json_object_get(p, "front");
    assert_int_equal(json_array_size(front), 3); /* a, b, e */
    assert_string_equal(json_string_value(json_object_get(json_array_get(front, 0), "id")), "a");
    assert_string_equal(json_string_value(json_object_get(json_array_get(front, 1), "id")), "b");
    assert_string_equal(json_string_value(json_object_get(json_array_get(front, 2), "id")), "e");
    json_decref(p);
    /* a gate nothing reaches: no winner */
    json_t *low = json_array();
    json_array_append_new(low, trial("x", 0.5, 5));
    json_array_append_new(low, trial("y", 0.6, 9));
    p = vlab_pick(low, "pareto", 0.9, &err);
    assert_true(json_is_null(json_object_get(p, "best")));
    json_decref(p);
    p = vlab_pick(low, "latency", 0.9, &err);
    assert_true(json_is_null(json_object_get(p, "best")));
    json_decref(p);
    assert_null(vlab_pick(ts, "speed", 0.9, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    json_decref(low);
    json_decref(ts);
}

static void test_config_bounds_and_proposer(void **state) {
    (void)state;
    lh_hnsw_params p;
    lh_err err = {0};
    json_t *c = json_pack("{s:i, s:i}", "ef_construction", 120, "ef_search", 30);
    assert_int_equal(vlab_config_parse(c, NULL, &p, &err), 0);
    assert_int_equal(p.ef_construction, 120);
    assert_int_equal(p.ef_search, 30);
    assert_int_equal(p.M, 0); /* missing: the default, resolved later */
    json_decref(c);
    const char *bad[] = {"{\"ef_construction\":5}", "{\"ef_construction\":401}", "{\"ef_search\":9}",
                         "{\"ef_search\":201}", "{\"M\":2}", "{\"M\":65}", "{\"seed\":-1}", "{\"M\":\"x\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = json_loads(bad[i], 0, NULL);
        assert_int_equal(vlab_config_parse(c, NULL, &p, &err), -1);
        assert_int_equal(err.code, LH_E_BAD_REQUEST);
        json_decref(c);
    }
    /* the proposer: always inside the bounds, never a config already tried when exploiting */
    uint64_t rng = 5;
    json_t *ts = json_array();
    for (int i = 0; i < 40; i++) {
        lh_hnsw_params q = vlab_propose(ts, i < 20 ? 1.0 : 0.0, 0.9, &rng);
        assert_true(q.M >= 4 && q.M <= 64);
        assert_true(q.ef_construction >= 10 && q.ef_construction <= 400);
        assert_true(q.ef_search >= 10 && q.ef_search <= 200);
        json_t *rec = json_pack("{s:s, s:f, s:f, s:o}", "id", "t", "recall", 0.9 + (q.ef_search % 7) / 100.0, "p50_us",
                                (double)q.ef_search, "config",
                                json_pack("{s:i, s:i, s:i, s:i}", "M", q.M, "ef_construction", q.ef_construction,
                                          "ef_search", q.ef_search, "seed", 42));
        size_t j;
        json_t *t;
        int dup = 0;
        json_array_foreach(ts, j, t) {
            json_t *tc = json_object_get(t, "config");
            dup |= json_integer_value(json_object_get(tc, "M")) == q.M &&
                   json_integer_value(json_object_get(tc, "ef_construction")) == q.ef_construction &&
                   json_integer_value(json_object_get(tc, "ef_search")) == q.ef_search;
        }
        assert_false(dup);
        json_array_append_new(ts, rec);
    }
    json_decref(ts);
}

/* ---- over a real index ----------------------------------------------------------------------- */

typedef struct {
    vfix *f;
    lh_vlab *lab;
} labfix;

static lh_vlab *lab_open_on(vfix *f) {
    lh_vlab_config lc = {.storage = f->st, .catalog = f->cat, .vectors = f->vx, .threads = 2};
    lh_err err = {0};
    lh_vlab *lab = vlab_open(&lc, &err);
    assert_non_null(lab);
    return lab;
}

static labfix *labfix_new(int docs) {
    labfix *l = calloc(1, sizeof *l);
    l->f = vfix_new();
    assert_int_equal(vfix_write(l->f, "people", "BIGINT", 0, docs, doc_text, LH_WRITE_CREATE), 0);
    assert_non_null(vfix_open(l->f));
    lh_vbuild_req req = {.dataset = "people", .id_column = "id", .text_column = "body", .index_name = "pidx"};
    lh_err err = {0};
    json_t *m = vindex_build_sync(l->f->vx, &req, &err);
    assert_non_null(m);
    json_decref(m);
    l->lab = lab_open_on(l->f);
    return l;
}

static void labfix_reopen(labfix *l) {
    vlab_free(l->lab);
    vindex_free(l->f->vx);
    assert_non_null(vfix_open(l->f));
    l->lab = lab_open_on(l->f);
}

static void labfix_free(labfix *l) {
    vlab_free(l->lab);
    vfix_free(l->f);
    free(l);
}

static json_t *run_trial(labfix *l, const char *eval, int M, int ec, int es) {
    json_t *req = json_pack("{s:s, s:s, s:i, s:i, s:i}", "index", "pidx", "eval", eval, "M", M, "ef_construction", ec,
                            "ef_search", es);
    lh_err err = {0};
    json_t *t = vlab_trial_run(l->lab, req, &err);
    if (!t) fprintf(stderr, "trial: %s\n", err.msg);
    assert_non_null(t);
    json_decref(req);
    return t;
}

static void make_eval(labfix *l, const char *name) {
    json_t *req = json_pack("{s:s, s:i, s:i}", "index", "pidx", "n", 12, "seed", 3);
    lh_err err = {0};
    json_t *e = vlab_eval_autogen(l->lab, name, req, &err);
    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e, "queries")), 12);
    json_decref(e);
    json_decref(req);
}

/* The live graph's params from the index metadata. */
static int live(labfix *l, const char *key) {
    json_t *m = vindex_get(l->f->vx, "pidx", NULL);
    int v = (int)json_integer_value(json_object_get(json_object_get(m, "hnsw"), key));
    json_decref(m);
    return v;
}

static void test_evals_and_trials(void **state) {
    (void)state;
    labfix *l = labfix_new(120);
    make_eval(l, "auto");
    json_t *qreq = json_pack("{s:s, s:s, s:[s, s]}", "name", "q", "index", "pidx", "queries",
                             "ICU registered nurse", "forklift operator");
    lh_err err = {0};
    json_t *e = vlab_eval_create(l->lab, qreq, &err);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "kind")), "queries");
    json_decref(e);
    json_decref(qreq);
    json_t *list = vlab_eval_list(l->lab);
    assert_int_equal(json_array_size(json_object_get(list, "evals")), 2);
    json_decref(list);
    json_t *t = run_trial(l, "auto", 16, 80, 64);
    assert_true(json_number_value(json_object_get(t, "recall")) >= 0.99); /* 120 vectors: the graph is exact */
    assert_string_equal(json_string_value(json_object_get(t, "source")), "manual");
    assert_int_equal(json_integer_value(json_object_get(t, "vectors")), 120);
    json_decref(t);
    t = run_trial(l, "q", 8, 20, 20);
    json_decref(t);
    json_t *tl = vlab_trials_list(l->lab, "pidx", &err);
    assert_int_equal(json_array_size(json_object_get(tl, "trials")), 2);
    json_decref(tl);
    /* errors */
    json_t *bad = json_pack("{s:s, s:s}", "index", "pidx", "eval", "nope");
    assert_null(vlab_trial_run(l->lab, bad, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    json_decref(bad);
    bad = json_pack("{s:s, s:s, s:i}", "index", "pidx", "eval", "auto", "ef_search", 1000);
    assert_null(vlab_trial_run(l->lab, bad, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    json_decref(bad);
    assert_null(vlab_eval_autogen(l->lab, "../x", NULL, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    labfix_free(l);
}

static void test_promote_history_cap_and_rollback(void **state) {
    (void)state;
    labfix *l = labfix_new(60);
    make_eval(l, "auto");
    json_t *a = run_trial(l, "auto", 16, 40, 30), *b = run_trial(l, "auto", 16, 120, 100);
    const char *ida = json_string_value(json_object_get(a, "id")), *idb = json_string_value(json_object_get(b, "id"));
    lh_err err = {0};
    json_t *r = vlab_promote(l->lab, "pidx", ida, "tester", &err);
    assert_non_null(r);
    assert_true(json_is_true(json_object_get(json_object_get(r, "swap"), "swapped")));
    json_decref(r);
    assert_int_equal(live(l, "ef_construction"), 40);
    assert_int_equal(live(l, "ef_search"), 30);
    /* the search path uses the swapped graph */
    lh_vresults res;
    assert_int_equal(vindex_search(l->f->vx, "pidx", "nurse", 3, LH_VSEARCH_HNSW, &res, &err), 0);
    assert_int_equal(res.n, 3);
    vindex_results_free(&res);
    /* 55 more promotions: the history keeps the newest 50 */
    for (int i = 0; i < 55; i++) {
        r = vlab_promote(l->lab, "pidx", i % 2 ? ida : idb, "tester", &err);
        assert_non_null(r);
        json_decref(r);
    }
    json_t *reg = vlab_promoted(l->lab, "pidx", &err);
    assert_int_equal(json_array_size(json_object_get(reg, "history")), 50);
    assert_string_equal(json_string_value(json_object_get(json_object_get(reg, "current"), "trial_id")), idb);
    assert_string_equal(json_string_value(json_object_get(json_object_get(reg, "current"), "promoted_by")), "tester");
    json_decref(reg);
    assert_int_equal(live(l, "ef_construction"), 120);
    /* rollback: the previous promotion (a) comes back, graph included */
    r = vlab_rollback(l->lab, "pidx", "tester", &err);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "current"), "trial_id")), ida);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "rolled_back"), "trial_id")), idb);
    json_decref(r);
    assert_int_equal(live(l, "ef_construction"), 40);
    /* unknown trial / index */
    assert_null(vlab_promote(l->lab, "pidx", "t-none", NULL, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_null(vlab_promote(l->lab, "nope", ida, NULL, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    json_decref(a);
    json_decref(b);
    labfix_free(l);
}

static void test_rollback_to_default(void **state) {
    (void)state;
    labfix *l = labfix_new(40);
    make_eval(l, "auto");
    lh_err err = {0};
    assert_null(vlab_rollback(l->lab, "pidx", NULL, &err)); /* nothing promoted yet */
    assert_int_equal(err.code, LH_E_CONFLICT);
    json_t *a = run_trial(l, "auto", 8, 20, 20);
    json_t *r = vlab_promote(l->lab, "pidx", json_string_value(json_object_get(a, "id")), NULL, &err);
    json_decref(r);
    assert_int_equal(live(l, "M"), 8);
    r = vlab_rollback(l->lab, "pidx", NULL, &err);
    assert_non_null(r);
    assert_true(json_is_null(json_object_get(r, "current")));
    json_decref(r);
    assert_int_equal(live(l, "M"), LH_HNSW_DEFAULT_M);
    assert_int_equal(live(l, "ef_construction"), LH_HNSW_DEFAULT_EF_CONSTRUCTION);
    assert_null(vlab_rollback(l->lab, "pidx", NULL, &err));
    assert_int_equal(err.code, LH_E_CONFLICT);
    json_decref(a);
    labfix_free(l);
}

static void test_autotune_gate(void **state) {
    (void)state;
    labfix *l = labfix_new(80);
    lh_err err = {0};
    json_t *req = json_pack("{s:s, s:f, s:[{s:i, s:i, s:i}, {s:i, s:i}, {s:i, s:i}]}", "index", "pidx", "min_recall",
                            0.9, "configs", "M", 4, "ef_construction", 10, "ef_search", 10, "ef_construction", 40,
                            "ef_search", 40, "ef_construction", 100, "ef_search", 100);
    json_t *out = vlab_autotune(l->lab, req, "tester", &err);
    if (!out) fprintf(stderr, "autotune: %s\n", err.msg);
    assert_non_null(out);
    assert_int_equal(json_array_size(json_object_get(out, "trials")), 3);
    assert_string_equal(json_string_value(json_object_get(out, "eval")), "pidx_autotune");
    json_t *w = json_object_get(out, "winner");
    assert_true(json_is_object(w));
    assert_true(json_number_value(json_object_get(w, "recall")) >= 0.9);
    assert_true(json_is_true(json_object_get(out, "promoted")));
    /* the winner has the best recall of the run */
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(out, "trials"), i, t)
        assert_true(json_number_value(json_object_get(t, "recall")) <= json_number_value(json_object_get(w, "recall")) + 1e-9);
    assert_int_equal(live(l, "ef_construction"), (int)json_integer_value(json_object_get(json_object_get(w, "config"), "ef_construction")));
    json_t *cur = json_object_get(json_object_get(json_object_get(out, "promotion"), "current"), "reason");
    assert_string_equal(json_string_value(cur), "autotune");
    json_decref(out);
    json_decref(req);
    /* every trial of the run is journaled as autotune */
    json_t *tl = vlab_trials_list(l->lab, "pidx", &err);
    json_array_foreach(json_object_get(tl, "trials"), i, t)
        assert_string_equal(json_string_value(json_object_get(t, "source")), "autotune");
    json_decref(tl);
    /* bounds are checked before anything runs */
    req = json_pack("{s:s, s:[{s:i}]}", "index", "pidx", "configs", "ef_construction", 5);
    assert_null(vlab_autotune(l->lab, req, NULL, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    json_decref(req);
    labfix_free(l);
}

static void test_persistence_reload(void **state) {
    (void)state;
    labfix *l = labfix_new(50);
    make_eval(l, "auto");
    json_t *a = run_trial(l, "auto", 12, 60, 40);
    const char *ida = json_string_value(json_object_get(a, "id"));
    lh_err err = {0};
    json_t *r = vlab_promote(l->lab, "pidx", ida, NULL, &err);
    json_decref(r);
    labfix_reopen(l);
    /* the promoted graph is what the index loads */
    assert_int_equal(vindex_wait_loaded(l->f->vx, "pidx", &err), 0);
    json_t *m = vindex_get(l->f->vx, "pidx", &err);
    assert_string_equal(json_string_value(json_object_get(m, "hnsw_state")), "loaded");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "hnsw"), "M")), 12);
    json_decref(m);
    json_t *reg = vlab_promoted(l->lab, "pidx", &err);
    assert_string_equal(json_string_value(json_object_get(json_object_get(reg, "current"), "trial_id")), ida);
    json_decref(reg);
    json_t *tl = vlab_trials_list(l->lab, "pidx", &err);
    assert_int_equal(json_array_size(json_object_get(tl, "trials")), 1);
    json_decref(tl);
    /* new rows + refresh: a new generation keeps the promoted config, and the
     * eval's truth is recomputed for it */
    assert_int_equal(vfix_write(l->f, "people", "BIGINT", 50, 70, doc_text, LH_WRITE_APPEND), 0);
    json_t *rf = vindex_refresh(l->f->vx, "people", &err);
    assert_non_null(rf);
    json_decref(rf);
    assert_int_equal(live(l, "M"), 12);
    json_t *t = run_trial(l, "auto", 12, 60, 40);
    assert_int_equal(json_integer_value(json_object_get(t, "generation")), 2);
    assert_int_equal(json_integer_value(json_object_get(t, "vectors")), 70);
    json_decref(t);
    json_t *e = vlab_eval_get(l->lab, "auto", &err);
    assert_int_equal(json_integer_value(json_object_get(e, "truth_generation")), 2);
    json_decref(e);
    json_decref(a);
    labfix_free(l);
}

static void test_profiles(void **state) {
    (void)state;
    labfix *l = labfix_new(40);
    assert_int_equal(vfix_write(l->f, "other", "BIGINT", 0, 5, doc_text, LH_WRITE_CREATE), 0);
    lh_err err = {0};
    int created = 0;
    json_t *bad = json_pack("{s:s, s:[s, s]}", "id", "p1", "bound_datasets", "people", "ghost");
    assert_null(vlab_profile_put(l->lab, bad, "me", &created, &err));
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    assert_non_null(strstr(err.msg, "ghost"));
    json_decref(bad);
    json_t *req = json_pack("{s:s, s:s, s:[s], s:{s:i, s:i}}", "id", "recruiter", "ollama_name", "qwen2.5",
                            "bound_datasets", "people", "hnsw_config", "ef_construction", 60, "ef_search", 30);
    json_t *p = vlab_profile_put(l->lab, req, "me", &created, &err);
    assert_non_null(p);
    assert_true(created);
    assert_string_equal(json_string_value(json_object_get(p, "created_by")), "me");
    assert_string_equal(json_string_value(json_object_get(p, "embed_model")), LH_BUILTIN_MODEL);
    json_decref(p);
    p = vlab_profile_put(l->lab, req, "someone-else", &created, &err);
    assert_false(created);
    assert_string_equal(json_string_value(json_object_get(p, "created_by")), "me"); /* kept on replace */
    json_decref(p);
    json_decref(req);
    /* activate: the profile's config when nothing is promoted */
    json_t *act = vlab_profile_activate(l->lab, "recruiter", &err);
    assert_non_null(act);
    json_t *w0 = json_array_get(json_object_get(act, "warmed"), 0);
    assert_string_equal(json_string_value(json_object_get(w0, "index")), "pidx");
    assert_string_equal(json_string_value(json_object_get(w0, "config_source")), "profile");
    json_decref(act);
    assert_int_equal(live(l, "ef_construction"), 60);
    /* scoped search */
    json_t *sreq = json_pack("{s:s, s:s, s:i}", "index", "pidx", "query", "nurse", "k", 2);
    json_t *res = vlab_profile_search(l->lab, "recruiter", sreq, &err);
    assert_non_null(res);
    assert_string_equal(json_string_value(json_object_get(res, "mode")), "hnsw");
    json_decref(res);
    req = json_pack("{s:s, s:[s]}", "id", "analyst", "bound_datasets", "other");
    json_decref(vlab_profile_put(l->lab, req, NULL, NULL, &err));
    json_decref(req);
    assert_null(vlab_profile_search(l->lab, "analyst", sreq, &err));
    assert_int_equal(err.code, LH_E_FORBIDDEN);
    assert_non_null(strstr(err.msg, "allowed: other"));
    assert_null(vlab_profile_search(l->lab, "ghost", sreq, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    json_decref(sreq);
    json_t *list = vlab_profile_list(l->lab);
    assert_int_equal(json_array_size(json_object_get(list, "profiles")), 2);
    assert_string_equal(json_string_value(json_object_get(list, "active")), "recruiter");
    json_decref(list);
    assert_int_equal(vlab_profile_delete(l->lab, "analyst", &err), 0);
    assert_int_equal(vlab_profile_delete(l->lab, "analyst", &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    labfix_free(l);
}

/* ---- the agent -------------------------------------------------------------------------------------- */

static lh_vlab *agent_lab(labfix *l, int cooldown_s, int per_hour) {
    vlab_free(l->lab);
    lh_vlab_config lc = {.storage = l->f->st, .catalog = l->f->cat, .vectors = l->f->vx, .threads = 2,
                         .agent = {.enabled = 1, .cycle_interval_s = 1, .cooldown_s = cooldown_s,
                                   .min_recall_pct = 90, .max_trials_per_hour = per_hour, .epsilon_pct = 50,
                                   .eval_queries = 5}};
    lh_err err = {0};
    l->lab = vlab_open(&lc, &err);
    assert_non_null(l->lab);
    assert_int_equal(vlab_start(l->lab, &err), 0);
    return l->lab;
}

static int64_t agent_field(lh_vlab *lab, const char *key) {
    json_t *st = vlab_agent_status(lab);
    json_t *v = json_object_get(st, key);
    int64_t n = json_is_array(v) ? (int64_t)json_array_size(v) : json_integer_value(v);
    json_decref(st);
    return n;
}

/* Waits (up to 20 s) until the agent has made n trials. */
static int agent_wait(lh_vlab *lab, int64_t n) {
    for (int i = 0; i < 400; i++) {
        if (agent_field(lab, "trials") >= n) return 1;
        fake_sleep(50);
    }
    return 0;
}

static void test_agent_budget_and_cooldown(void **state) {
    (void)state;
    labfix *l = labfix_new(40);
    lh_err err = {0};
    /* disabled: enqueue is refused */
    assert_null(vlab_agent_enqueue(l->lab, "pidx", NULL, &err));
    assert_int_equal(err.code, LH_E_CONFLICT);
    /* budget of one trial an hour */
    lh_vlab *lab = agent_lab(l, 0, 1);
    json_decref(vlab_agent_enqueue(lab, "pidx", "test", &err));
    assert_true(agent_wait(lab, 1));
    json_t *st = vlab_agent_status(lab);
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "last_trial"), "note")), "baseline");
    json_decref(st);
    json_decref(vlab_agent_enqueue(lab, "pidx", "test", &err));
    fake_sleep(300);
    assert_int_equal(agent_field(lab, "trials"), 1);      /* over budget: waits */
    assert_int_equal(agent_field(lab, "queue"), 1);
    assert_int_equal(agent_field(lab, "trials_last_hour"), 1);
    assert_null(vlab_agent_enqueue(lab, "nope", NULL, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    /* a cooldown of an hour: the second trial of one index waits, another index runs */
    lh_vbuild_req req = {.dataset = "people", .id_column = "id", .text_column = "body", .index_name = "qidx"};
    json_decref(vindex_build_sync(l->f->vx, &req, &err));
    lab = agent_lab(l, 3600, 10);
    json_decref(vlab_agent_enqueue(lab, "pidx", "test", &err));
    assert_true(agent_wait(lab, 1));
    json_decref(vlab_agent_enqueue(lab, "pidx", "test", &err));
    json_decref(vlab_agent_enqueue(lab, "qidx", "test", &err));
    assert_true(agent_wait(lab, 2));
    fake_sleep(300);
    assert_int_equal(agent_field(lab, "trials"), 2);
    st = vlab_agent_status(lab);
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "last_trial"), "index")), "qidx");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(st, "queue"), 0), "index")), "pidx");
    json_decref(st);
    /* stop */
    st = vlab_agent_stop(lab);
    assert_false(json_is_true(json_object_get(st, "running")));
    json_decref(st);
    assert_null(vlab_agent_enqueue(lab, "pidx", NULL, &err));
    assert_int_equal(err.code, LH_E_CONFLICT);
    labfix_free(l);
}

static void test_agent_watches_appends(void **state) {
    (void)state;
    labfix *l = labfix_new(30);
    lh_vlab *lab = agent_lab(l, 0, 10);
    for (int i = 0; i < 200 && agent_field(lab, "cycles") < 1; i++) fake_sleep(20);
    fake_sleep(50); /* the first scan records what exists without queuing it */
    assert_int_equal(agent_field(lab, "trials"), 0);
    assert_int_equal(vfix_write(l->f, "people", "BIGINT", 30, 35, doc_text, LH_WRITE_APPEND), 0);
    assert_true(agent_wait(lab, 1)); /* next scan (1 s): dataset_appended */
    json_t *st = vlab_agent_status(lab);
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "last_trial"), "index")), "pidx");
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "last_trial"), "source")), "agent");
    json_decref(st);
    labfix_free(l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_score_clustered),
        cmocka_unit_test(test_pick_best_and_pareto),
        cmocka_unit_test(test_config_bounds_and_proposer),
        cmocka_unit_test(test_evals_and_trials),
        cmocka_unit_test(test_promote_history_cap_and_rollback),
        cmocka_unit_test(test_rollback_to_default),
        cmocka_unit_test(test_autotune_gate),
        cmocka_unit_test(test_persistence_reload),
        cmocka_unit_test(test_profiles),
        cmocka_unit_test(test_agent_budget_and_cooldown),
        cmocka_unit_test(test_agent_watches_appends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
