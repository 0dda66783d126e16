/*
 * hnsw.c — HNSW search and the index's lifetime: parameter defaults,
 * allocation, the search-scratch pool, the greedy and beam (SEARCH-LAYER)
 * walks, the neighbour-selection heuristic and hnsw_search(). Construction
 * lives in hnsw_build.c, persistence in hnsw_io.c; layout in
 * hnsw_internal.h.
 *
 * Search never writes to the graph, so any number of threads may search at
 * once. Each call borrows a scratch (visited tags + heaps) from a pool
 * guarded by a mutex that is held only for the pop/push; a new scratch is
 * made only when more threads search at once than ever before.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "vector/hnsw_internal.h"

/* ---- parameters and allocation ------------------------------------------ */

int hnsw_params_equal(lh_hnsw_params a, lh_hnsw_params b) {
    return a.M == b.M && a.ef_construction == b.ef_construction && a.ef_search == b.ef_search &&
           a.seed == b.seed;
}

lh_hnsw_params hnsw_params_defaults(lh_hnsw_params p) {
    if (p.M <= 0) p.M = LH_HNSW_DEFAULT_M;
    if (p.ef_construction <= 0) p.ef_construction = LH_HNSW_DEFAULT_EF_CONSTRUCTION;
    if (p.ef_search <= 0) p.ef_search = LH_HNSW_DEFAULT_EF_SEARCH;
    if (p.seed == 0) p.seed = LH_HNSW_DEFAULT_SEED;
    return p;
}

int hnsw_params_resolve(const lh_hnsw_params *in, lh_hnsw_params *out, lh_err *err) {
    lh_hnsw_params p = in ? *in : (lh_hnsw_params){0};
    if (p.M == 0) p.M = LH_HNSW_DEFAULT_M;
    if (p.ef_construction == 0) p.ef_construction = LH_HNSW_DEFAULT_EF_CONSTRUCTION;
    if (p.ef_search == 0) p.ef_search = LH_HNSW_DEFAULT_EF_SEARCH;
    if (p.seed == 0) p.seed = LH_HNSW_DEFAULT_SEED;
    if (p.M < 2 || p.M > LH_HNSW_MAX_M)
        return lh_err_set(err, LH_E_BAD_REQUEST, "hnsw: M must be in 2..%d, got %d",
                          LH_HNSW_MAX_M, p.M);
    if (p.ef_construction < 1 || p.ef_construction > 100000)
        return lh_err_set(err, LH_E_BAD_REQUEST,
                          "hnsw: ef_construction must be in 1..100000, got %d",
                          p.ef_construction);
    if (p.ef_search < 1 || p.ef_search > 100000)
        return lh_err_set(err, LH_E_BAD_REQUEST, "hnsw: ef_search must be in 1..100000, got %d",
                          p.ef_search);
    *out = p;
    return 0;
}

lh_hnsw *hnsw_alloc(const float *matrix, size_t n, int dims, const lh_hnsw_params *p,
                    uint8_t *level, lh_err *err) {
    size_t rows = 0;
    for (size_t i = 0; i < n; i++) rows += level[i];
    if (rows > UINT32_MAX) {
        free(level);
        lh_err_set(err, LH_E_TOO_LARGE, "hnsw: too many upper-level rows (%zu)", rows);
        return NULL;
    }
    lh_hnsw *h = lh_calloc(1, sizeof *h);
    h->data = matrix;
    h->n = n;
    h->dims = dims;
    h->p = *p;
    h->M = p->M;
    h->M0 = 2 * p->M;
    h->entry = HNSW_NO_NODE;
    h->max_level = 0;
    h->level = level;
    h->links0 = lh_calloc(n ? n : 1, (size_t)(1 + h->M0) * sizeof(uint32_t));
    h->upper_row = lh_calloc(n ? n : 1, sizeof(uint32_t));
    for (size_t i = 0, r = 0; i < n; r += level[i], i++) h->upper_row[i] = (uint32_t)r;
    h->upper_rows = rows;
    h->upper = lh_calloc(rows ? rows : 1, (size_t)(1 + h->M) * sizeof(uint32_t));
    h->dot = vec_dot_kernel();
    pthread_mutex_init(&h->pool_mu, NULL);
    return h;
}

void hnsw_free(lh_hnsw *h) {
    if (!h) return;
    for (int i = 0; i < h->pool_len; i++) hnsw_scratch_free(h->pool[i]);
    pthread_mutex_destroy(&h->pool_mu);
    free(h->level);
    free(h->links0);
    free(h->upper_row);
    free(h->upper);
    free(h);
}

static size_t hnsw_scratch_bytes(const hnsw_scratch *s) {
    return sizeof *s + s->n * sizeof *s->tags +
           (s->cand_cap + s->res_cap + s->work_cap) * sizeof(hnsw_cand) +
           (size_t)(2 * LH_HNSW_MAX_M + 1) * sizeof(uint32_t);
}

size_t hnsw_memory_bytes(const lh_hnsw *h) {
    if (!h) return 0;
    size_t b = sizeof *h + h->n * (sizeof *h->level + sizeof *h->upper_row) +
               h->n * (size_t)(1 + h->M0) * sizeof(uint32_t) +
               h->upper_rows * (size_t)(1 + h->M) * sizeof(uint32_t);
    lh_hnsw *m = (lh_hnsw *)h;  /* the pool is internally synchronised */
    pthread_mutex_lock(&m->pool_mu);
    for (int i = 0; i < m->pool_len; i++) b += hnsw_scratch_bytes(m->pool[i]);
    pthread_mutex_unlock(&m->pool_mu);
    return b;
}

lh_hnsw_params hnsw_params(const lh_hnsw *h) { return h->p; }
size_t hnsw_count(const lh_hnsw *h) { return h->n; }
int hnsw_dims(const lh_hnsw *h) { return h->dims; }
int hnsw_max_level(const lh_hnsw *h) { return h->max_level; }

/* ---- scratch and its pool ------------------------------------------------ */

hnsw_scratch *hnsw_scratch_new(size_t n) {
    hnsw_scratch *s = lh_calloc(1, sizeof *s);
    s->n = n;
    s->tags = lh_calloc(n ? n : 1, sizeof *s->tags);
    s->gen = 0;
    s->cand_cap = s->res_cap = s->work_cap = 256;
    s->cand = lh_malloc(s->cand_cap * sizeof *s->cand);
    s->res = lh_malloc(s->res_cap * sizeof *s->res);
    s->work = lh_malloc(s->work_cap * sizeof *s->work);
    s->ids = lh_malloc((size_t)(2 * LH_HNSW_MAX_M + 1) * sizeof *s->ids);
    return s;
}

void hnsw_scratch_free(hnsw_scratch *s) {
    if (!s) return;
    free(s->tags);
    free(s->cand);
    free(s->res);
    free(s->work);
    free(s->ids);
    free(s);
}

void hnsw_scratch_reserve_work(hnsw_scratch *s, size_t need) {
    if (need <= s->work_cap) return;
    while (s->work_cap < need) s->work_cap *= 2;
    s->work = lh_realloc(s->work, s->work_cap * sizeof *s->work);
}

/* Starts a new visited set: O(1) except once every 65535 uses. */
static void hnsw_visited_reset(hnsw_scratch *s) {
    if (++s->gen == 0) {
        memset(s->tags, 0, s->n * sizeof *s->tags);
        s->gen = 1;
    }
}

static hnsw_scratch *hnsw_pool_acquire(const lh_hnsw *h) {
    lh_hnsw *m = (lh_hnsw *)h;
    hnsw_scratch *s = NULL;
    pthread_mutex_lock(&m->pool_mu);
    if (m->pool_len > 0) s = m->pool[--m->pool_len];
    pthread_mutex_unlock(&m->pool_mu);
    return s ? s : hnsw_scratch_new(h->n);
}

static void hnsw_pool_release(const lh_hnsw *h, hnsw_scratch *s) {
    lh_hnsw *m = (lh_hnsw *)h;
    pthread_mutex_lock(&m->pool_mu);
    if (m->pool_len < HNSW_POOL_MAX) {
        m->pool[m->pool_len++] = s;
        s = NULL;
    }
    pthread_mutex_unlock(&m->pool_mu);
    hnsw_scratch_free(s);
}

/* ---- heaps of candidates, ordered by (d, id) ----------------------------- */

static inline int hnsw_cand_less(hnsw_cand a, hnsw_cand b) {
    return a.d < b.d || (a.d == b.d && a.id < b.id);
}

/* Restores heap order below i; `max` selects a max-heap, else a min-heap. */
static inline void hnsw_heap_down(hnsw_cand *a, size_t n, size_t i, int max) {
    hnsw_cand x = a[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && (max ? hnsw_cand_less(a[c], a[c + 1]) : hnsw_cand_less(a[c + 1], a[c])))
            c++;
        if (max ? !hnsw_cand_less(x, a[c]) : !hnsw_cand_less(a[c], x)) break;
        a[i] = a[c];
        i = c;
    }
    a[i] = x;
}

static inline void hnsw_heap_up(hnsw_cand *a, size_t i, int max) {
    hnsw_cand x = a[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (max ? !hnsw_cand_less(a[p], x) : !hnsw_cand_less(x, a[p])) break;
        a[i] = a[p];
        i = p;
    }
    a[i] = x;
}

static inline void hnsw_cand_push(hnsw_scratch *s, hnsw_cand x) {
    if (s->ncand == s->cand_cap) {
        s->cand_cap *= 2;
        s->cand = lh_realloc(s->cand, s->cand_cap * sizeof *s->cand);
    }
    s->cand[s->ncand] = x;
    hnsw_heap_up(s->cand, s->ncand++, 0);
}

static inline hnsw_cand hnsw_cand_pop(hnsw_scratch *s) {
    hnsw_cand top = s->cand[0];
    s->cand[0] = s->cand[--s->ncand];
    if (s->ncand) hnsw_heap_down(s->cand, s->ncand, 0, 0);
    return top;
}

/* Adds x to the bounded max-heap of results, dropping the worst past ef:
 * once full, x replaces the worst when it ranks before it (one sift). */
static inline void hnsw_res_offer(hnsw_scratch *s, hnsw_cand x, size_t ef) {
    if (s->nres < ef) {
        s->res[s->nres] = x;
        hnsw_heap_up(s->res, s->nres++, 1);
    } else if (hnsw_cand_less(x, s->res[0])) {
        s->res[0] = x;
        hnsw_heap_down(s->res, s->nres, 0, 1);
    }
}

void hnsw_cand_sort(hnsw_cand *c, size_t n) {
    for (size_t i = n / 2; i-- > 0;) hnsw_heap_down(c, n, i, 1);
    for (size_t end = n; end > 1; end--) {
        hnsw_cand t = c[0];
        c[0] = c[end - 1];
        c[end - 1] = t;
        hnsw_heap_down(c, end - 1, 0, 1);
    }
}

/* ---- walks ----------------------------------------------------------------- */

/* Prefetches the first cache line of a vector only: the hardware prefetcher
 * streams the rest once the dot product starts reading it, and asking for
 * every line (48 at 768 dims) measured ~25% slower per query (ADR 0061). */
static inline void hnsw_prefetch_vec(const lh_hnsw *h, uint32_t id) {
    __builtin_prefetch(hnsw_vec(h, id), 0, 3);
}

void hnsw_greedy(const lh_hnsw *h, const float *q, int level, uint32_t *ep, float *epd) {
    for (int changed = 1; changed;) {
        changed = 0;
        const uint32_t *lk = hnsw_links(h, *ep, level);
        uint32_t cnt = lk[0];
        for (uint32_t j = 1; j <= cnt; j++) {
            if (j < cnt) hnsw_prefetch_vec(h, lk[j + 1]);
            float d = hnsw_dist(h, q, lk[j]);
            if (d < *epd || (d == *epd && lk[j] < *ep)) {
                *epd = d;
                *ep = lk[j];
                changed = 1;
            }
        }
    }
}

/* Marks and collects the not-yet-visited neighbours of one list. */
static inline size_t hnsw_take_unvisited(hnsw_scratch *s, const uint32_t *lk) {
    uint32_t cnt = lk[0];
    size_t nu = 0;
    const uint16_t gen = s->gen;
    for (uint32_t j = 1; j <= cnt; j++) {
        uint32_t e = lk[j];
        if (s->tags[e] == gen) continue;
        s->tags[e] = gen;
        s->ids[nu++] = e;
    }
    return nu;
}

size_t hnsw_search_layer(const lh_hnsw *h, hnsw_scratch *s, const float *q, uint32_t ep,
                         float epd, size_t ef, int level) {
    assert(ef >= 1);
    if (s->res_cap < ef + 1) {
        while (s->res_cap < ef + 1) s->res_cap *= 2;
        s->res = lh_realloc(s->res, s->res_cap * sizeof *s->res);
    }
    hnsw_visited_reset(s);
    s->ncand = s->nres = 0;
    s->tags[ep] = s->gen;
    hnsw_cand_push(s, (hnsw_cand){epd, ep});
    hnsw_res_offer(s, (hnsw_cand){epd, ep}, ef);
    while (s->ncand > 0) {
        hnsw_cand c = hnsw_cand_pop(s);
        if (c.d > s->res[0].d) break;  /* nearest candidate worse than the worst result */
        const uint32_t *lk = hnsw_links(h, c.id, level);
        if (s->ncand > 0) __builtin_prefetch(hnsw_links(h, s->cand[0].id, level), 0, 3);
        size_t nu = hnsw_take_unvisited(s, lk);
        if (nu > 0) hnsw_prefetch_vec(h, s->ids[0]);
        for (size_t u = 0; u < nu; u++) {
            if (u + 1 < nu) hnsw_prefetch_vec(h, s->ids[u + 1]);
            float d = hnsw_dist(h, q, s->ids[u]);
            if (s->nres < ef || d < s->res[0].d) {
                hnsw_cand_push(s, (hnsw_cand){d, s->ids[u]});
                hnsw_res_offer(s, (hnsw_cand){d, s->ids[u]}, ef);
            }
        }
    }
    return s->nres;
}

int hnsw_select(const lh_hnsw *h, const hnsw_cand *c, size_t nc, int m, uint32_t *out) {
    int ns = 0;
    for (size_t i = 0; i < nc && ns < m; i++) {
        const float *v = hnsw_vec(h, c[i].id);
        int keep = 1;
        /* drop c[i] when some chosen neighbour is closer to it than the base is */
        for (int j = 0; j < ns && keep; j++)
            if (hnsw_dist(h, v, out[j]) < c[i].d) keep = 0;
        if (keep) out[ns++] = c[i].id;
    }
    return ns;
}

/* ---- search ---------------------------------------------------------------- */

int hnsw_search(const lh_hnsw *h, const float *q, int k, int ef, lh_hit *out) {
    if (!h || !q || !out || k <= 0 || h->n == 0) return 0;
    size_t efs = (size_t)(ef > 0 ? ef : h->p.ef_search);
    if (efs < (size_t)k) efs = (size_t)k;
    uint32_t ep = h->entry;
    float epd = hnsw_dist(h, q, ep);
    for (int l = h->max_level; l > 0; l--) hnsw_greedy(h, q, l, &ep, &epd);
    hnsw_scratch *s = hnsw_pool_acquire(h);
    size_t nr = hnsw_search_layer(h, s, q, ep, epd, efs, 0);
    hnsw_cand_sort(s->res, nr);
    int got = nr < (size_t)k ? (int)nr : k;
    for (int i = 0; i < got; i++) out[i] = (lh_hit){s->res[i].id, -s->res[i].d};
    hnsw_pool_release(h, s);
    return got;
}

/* ---- search with seeds and an allowed-row filter ------------------------------------------ */

static inline int hnsw_allowed(const uint64_t *allowed, uint32_t id) {
    return !allowed || (allowed[id >> 6] >> (id & 63) & 1);
}

/* Offers id at distance d (not yet visited, now marked): a candidate when
 * it may improve the results, a result when allowed. */
static inline void hnsw_offer(hnsw_scratch *s, uint32_t id, float d, size_t ef, const uint64_t *allowed) {
    s->tags[id] = s->gen;
    if (s->nres < ef || d < s->res[0].d) {
        hnsw_cand_push(s, (hnsw_cand){d, id});
        if (hnsw_allowed(allowed, id)) hnsw_res_offer(s, (hnsw_cand){d, id}, ef);
    }
}

/* Layer-0 beam search from several entry points (eps[i] at distance epd[i],
 * visited once each); only allowed nodes enter the results, every node may
 * be walked through. Each expansion first gathers the unvisited neighbours
 * and prefetches their vectors, then measures them. */
static size_t hnsw_search_layer0_ex(const lh_hnsw *h, hnsw_scratch *s, const float *q, const uint32_t *eps,
                                    const float *epd, size_t neps, size_t ef, const uint64_t *allowed) {
    if (s->res_cap < ef + 1) {
        while (s->res_cap < ef + 1) s->res_cap *= 2;
        s->res = lh_realloc(s->res, s->res_cap * sizeof *s->res);
    }
    hnsw_visited_reset(s);
    s->ncand = s->nres = 0;
    for (size_t i = 0; i < neps; i++)
        if (s->tags[eps[i]] != s->gen) hnsw_offer(s, eps[i], epd[i], ef, allowed);
    while (s->ncand > 0) {
        hnsw_cand c = hnsw_cand_pop(s);
        if (s->nres >= ef && c.d > s->res[0].d) break;
        const uint32_t *lk = hnsw_links(h, c.id, 0);
        if (s->ncand > 0) __builtin_prefetch(hnsw_links(h, s->cand[0].id, 0), 0, 3);
        size_t nu = hnsw_take_unvisited(s, lk);
        for (size_t u = 0; u < nu; u++) hnsw_prefetch_vec(h, s->ids[u]);
        for (size_t u = 0; u < nu; u++) {
            uint32_t id = s->ids[u];
            float d = hnsw_dist(h, q, id);
            if (s->nres < ef || d < s->res[0].d) {
                hnsw_cand_push(s, (hnsw_cand){d, id});
                if (hnsw_allowed(allowed, id)) hnsw_res_offer(s, (hnsw_cand){d, id}, ef);
            }
        }
    }
    return s->nres;
}

/* The result rank the widening check looks at: the k-th, but no deeper than
 * where the best of nsample random rows (among nrows) would be expected to
 * rank by chance divided by 8 — deeper, a perfect walk would still often
 * have a sampled row beat it, and widen for nothing (hybrid asks for 50). */
static size_t hnsw_check_rank(size_t k, size_t nrows, size_t nsample) {
    size_t r = nsample ? nrows / (8 * nsample) : k;
    if (r < 2) r = 2;
    return r < k ? r : k;
}

int hnsw_search_ex(const lh_hnsw *h, const float *q, int k, int ef, const uint32_t *seeds, size_t nseeds,
                   const uint64_t *allowed, lh_hit *out) {
    if (!h || !q || !out || k <= 0 || h->n == 0) return 0;
    size_t efs = (size_t)(ef > 0 ? ef : h->p.ef_search);
    if (efs < (size_t)k) efs = (size_t)k;
    /* entry points: the greedy descent's, the caller's seeds, and a fixed
     * stride sample of layer 0 — which also measures how close a random
     * allowed row is to the query */
    size_t nsample = HNSW_SAMPLE_SEEDS < h->n ? HNSW_SAMPLE_SEEDS : h->n;
    size_t cap = 1 + nseeds + nsample;
    uint32_t *eps = lh_malloc(cap * sizeof *eps);
    float *epd = lh_malloc(cap * sizeof *epd);
    size_t neps = 0, nallowed_sample = 0;
    uint32_t ep = h->entry;
    float d0 = hnsw_dist(h, q, ep);
    for (int l = h->max_level; l > 0; l--) hnsw_greedy(h, q, l, &ep, &d0);
    eps[neps] = ep;
    epd[neps++] = d0;
    for (size_t i = 0; i < nseeds; i++)
        if (seeds[i] < h->n) {
            eps[neps] = seeds[i];
            epd[neps++] = hnsw_dist(h, q, seeds[i]);
        }
    float sample_best = INFINITY;
    for (size_t i = 0; i < nsample; i++) {
        uint32_t id = (uint32_t)(i * h->n / nsample);
        float d = hnsw_dist(h, q, id);
        if (hnsw_allowed(allowed, id)) {
            nallowed_sample++;
            if (d < sample_best) sample_best = d;
        }
        eps[neps] = id;
        epd[neps++] = d;
    }
    size_t nrows = h->n;
    if (allowed && nsample) nrows = h->n * nallowed_sample / nsample; /* an estimate of the allowed rows */
    size_t rank = hnsw_check_rank((size_t)k, nrows, nallowed_sample);
    hnsw_scratch *s = hnsw_pool_acquire(h);
    size_t nr = hnsw_search_layer0_ex(h, s, q, eps, epd, neps, efs, allowed);
    /* A query far from every cluster: when the result at that rank is no
     * closer than the best allowed row of the random sample, the walk had no
     * gradient to follow — widen the beam (4x, then 16x) instead of
     * answering from one region. */
    int sorted = 0;
    for (int widen = 0; widen < 2 && nr > 0; widen++) {
        hnsw_cand_sort(s->res, nr);
        sorted = 1;
        float at = s->res[(nr < rank ? nr : rank) - 1].d;
        if (at < sample_best && nr >= (size_t)k) break;
        efs *= 4;
        nr = hnsw_search_layer0_ex(h, s, q, eps, epd, neps, efs, allowed);
        sorted = 0;
    }
    if (!sorted) hnsw_cand_sort(s->res, nr);
    int got = nr < (size_t)k ? (int)nr : k;
    for (int i = 0; i < got; i++) out[i] = (lh_hit){s->res[i].id, -s->res[i].d};
    hnsw_pool_release(h, s);
    free(eps);
    free(epd);
    return got;
}
