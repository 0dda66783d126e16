/*
 * ivfpq_tune.c — the build chooses the query defaults of an IVF-PQ index:
 * the cheapest (nprobe, rerank) that reaches a recall@10 target on a
 * sample of the index's own rows, measured against the exact scan.
 *
 * Queries are 48 rows spread over the matrix (stride), each left out of
 * its own answer (the exact and the approximate top 11 minus the query
 * row), so the sample behaves like fresh queries near the data. The sweep
 * tries nprobe = the heuristic default, then doubling up to nlist, and for
 * each the re-rank depths 100, 200, 400, 800, 1600 (only 0 without stored
 * vectors); the first pair reaching the target wins — work grows along
 * both axes, so this is the cheapest found. Without any pair reaching it,
 * the best measured wins and the recall says so.
 */
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "vector/ivfpq_internal.h"

#define TUNE_QUERIES 48
#define TUNE_K 10

/* Hits of h[0..n) other than self, at most TUNE_K, into out. */
static int without_self(const lh_hit *h, int n, uint32_t self, uint32_t *out) {
    int m = 0;
    for (int i = 0; i < n && m < TUNE_K; i++)
        if (h[i].id != self) out[m++] = h[i].id;
    return m;
}

static double measure(const lh_ivfpq *ix, const float *matrix, const uint32_t *qid, uint32_t (*truth)[TUNE_K],
                      const int *ntruth, int nq, int nprobe, int rerank) {
    lh_ivfpq_query qp = {nprobe, rerank};
    lh_hit got[TUNE_K + 1];
    uint32_t g[TUNE_K];
    long hit = 0, total = 0;
    for (int i = 0; i < nq; i++) {
        int n = ivfpq_search(ix, matrix + (size_t)qid[i] * ix->dims, TUNE_K + 1, &qp, got);
        int m = without_self(got, n, qid[i], g);
        for (int a = 0; a < ntruth[i]; a++)
            for (int b = 0; b < m; b++) hit += truth[i][a] == g[b];
        total += ntruth[i];
    }
    return total ? (double)hit / (double)total : 1.0;
}

int ivfpq_tune(lh_ivfpq *ix, const float *matrix, size_t n, double target, int threads, lh_ivfpq_tuning *out) {
    memset(out, 0, sizeof *out);
    if (n < 2 || !matrix) return -1;
    int nq = n - 1 < TUNE_QUERIES ? (int)n - 1 : TUNE_QUERIES;
    uint32_t *qid = lh_malloc((size_t)nq * sizeof *qid);
    uint32_t (*truth)[TUNE_K] = lh_malloc((size_t)nq * sizeof *truth);
    int *ntruth = lh_malloc((size_t)nq * sizeof *ntruth);
    lh_hit exact[TUNE_K + 1];
    for (int i = 0; i < nq; i++) {
        qid[i] = (uint32_t)(((uint64_t)i * 2 + 1) * n / (2 * (uint64_t)nq));
        int e = brute_topk(matrix, n, ix->dims, matrix + (size_t)qid[i] * ix->dims, TUNE_K + 1, threads, exact);
        ntruth[i] = without_self(exact, e, qid[i], truth[i]);
    }
    static const int depths[] = {100, 200, 400, 800, 1600};
    int nd = ix->has_vectors ? (int)(sizeof depths / sizeof depths[0]) : 1;
    lh_ivfpq_tuning best = {0, 0, -1, nq};
    int done = 0;
    for (int p = ivfpq_default_nprobe(ix); !done; p = p * 2 < ix->nlist ? p * 2 : ix->nlist) {
        for (int d = 0; d < nd && !done; d++) {
            int r = ix->has_vectors ? depths[d] : 0;
            double rec = measure(ix, matrix, qid, truth, ntruth, nq, p, r);
            if (rec > best.recall) best = (lh_ivfpq_tuning){p, r, rec, nq};
            done = rec >= target;
        }
        if (p >= ix->nlist) break;
    }
    free(qid);
    free(truth);
    free(ntruth);
    *out = best;
    ivfpq_set_tuning(ix, out);
    return 0;
}

void ivfpq_set_tuning(lh_ivfpq *ix, const lh_ivfpq_tuning *t) {
    ix->tuned_nprobe = t && t->nprobe > 0 ? t->nprobe : 0;
    ix->tuned_rerank = t && t->nprobe > 0 ? t->rerank : 0;
}

lh_ivfpq_query ivfpq_default_query(const lh_ivfpq *ix, int k) {
    if (ix->tuned_nprobe > 0) {
        int r = ix->tuned_rerank;
        if (r > 0 && r * 1LL * k / TUNE_K > r) r = (int)(r * 1LL * k / TUNE_K); /* deeper for a larger k */
        return (lh_ivfpq_query){ix->tuned_nprobe, r > 0 && r < k ? k : r};
    }
    int r = ix->has_vectors ? (k * 10 > 100 ? k * 10 : 100) : 0;
    return (lh_ivfpq_query){ivfpq_default_nprobe(ix), r};
}
