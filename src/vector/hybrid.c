/*
 * hybrid.c — fusing the keyword and vector rankings of one search.
 *
 * Reciprocal rank fusion: a chunk at rank r (1-based) of a list adds
 * w / (60 + r) for that list's weight w; a chunk absent from a list adds
 * nothing for it. Ranks, not scores, are fused, so BM25's unbounded scores
 * and cosines never need calibrating against each other.
 *
 * On top of RRF, coordination: when the keyword weight is positive, chunks
 * that hold every query term rank before those that do not (RRF orders
 * each group). So a document naming an invoice number, a rare skill and a
 * city together is first even when the embedding scatters it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "vector/index_internal.h"

#define RRF_K 60.0

static int fused_cmp(const void *a, const void *b) {
    const vfused *x = a, *y = b;
    if (x->tier != y->tier) return x->tier > y->tier ? -1 : 1;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* Index of row in f[0..n), or -1 (lists are short: a linear scan). */
static int fused_find(const vfused *f, int n, uint32_t row) {
    for (int i = 0; i < n; i++)
        if (f[i].row == row) return i;
    return -1;
}

static vfused fused_blank(uint32_t row) {
    return (vfused){row, 0, NAN, NAN, 0, 0};
}

int hybrid_fuse(const lh_hit *vh, int nv, const lh_hit *kh, const int *cover, int nk, int nterms, double wv,
                double wk, vfused *out) {
    int n = 0;
    for (int i = 0; i < nv; i++) {
        out[n] = fused_blank(vh[i].id);
        out[n].vscore = vh[i].score;
        out[n++].score = wv / (RRF_K + i + 1);
    }
    for (int i = 0; i < nk; i++) {
        int at = fused_find(out, n, kh[i].id);
        if (at < 0) {
            out[n] = fused_blank(kh[i].id);
            at = n++;
        }
        out[at].kscore = kh[i].score;
        out[at].score += wk / (RRF_K + i + 1);
        out[at].tier = wk > 0 && nterms > 0 && cover[i] >= nterms;
    }
    qsort(out, (size_t)n, sizeof *out, fused_cmp);
    return n;
}
