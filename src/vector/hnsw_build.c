/*
 * hnsw_build.c — deterministic, parallel HNSW construction (hnsw_build).
 *
 * The graph depends only on (data, params, seed), never on the number of
 * threads or on timing:
 *
 *  1. Levels. Node i gets level floor(-ln(u) / ln(M)) with u in (0, 1)
 *     drawn from splitmix64(seed, i) — a counter-based RNG, so a node's level
 *     does not depend on the order in which levels are drawn.
 *  2. Batches. Nodes are inserted in id order, in batches whose size is a
 *     function of how many nodes the graph already holds (hnsw_batch_size:
 *     1 while it holds fewer than 1024, then count/16 capped at 512). The
 *     first 1024 inserts are therefore exactly the serial algorithm, which
 *     lays down a well-connected skeleton; later batches are small next to
 *     the graph they search.
 *  3. Search phase (parallel, one node per claim). Every node of the batch
 *     walks the graph as it stood at the batch start — nobody writes to that
 *     part of the graph in this phase — and writes only its own rows: on each
 *     of its levels the SELECT-NEIGHBORS heuristic picks up to M of the
 *     ef_construction nearest. Nodes of one batch do not see each other.
 *  4. Link phase (parallel, one target list per claim). The reverse edges
 *     (neighbour, level, new node) of the whole batch are sorted, so each
 *     target list is touched by exactly one worker: the new ids are appended
 *     when they fit, otherwise the old and new ids together are re-pruned by
 *     the heuristic to the list's capacity. The outcome of a list depends
 *     only on its old content and its sorted new ids.
 *  5. The entry point becomes the first batch node whose level exceeds the
 *     current top level, if any.
 *
 * Workers are created once and step through the phases between two
 * barriers; batches of one node run on the calling thread alone. The
 * per-worker scratch (visited tags, heaps) ends up in the index's search
 * pool afterwards.
 */
#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "vector/hnsw_internal.h"

#define HNSW_SERIAL_PREFIX 1024 /* nodes inserted one at a time */
#define HNSW_BATCH_DIV 16       /* later batches: count / 16 ... */
#define HNSW_BATCH_MAX 512      /* ... capped at 512 */
#define HNSW_MAX_THREADS 64
#define HNSW_MAX_DIMS 65536
#define HNSW_LINK_CHUNK 32      /* target lists claimed at once in the link phase */

/* ---- levels and batches ---------------------------------------------------- */

static uint64_t hnsw_splitmix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint8_t hnsw_draw_level(uint64_t seed, size_t i, double ml) {
    uint64_t r = hnsw_splitmix(hnsw_splitmix(seed) ^ (uint64_t)i);
    double u = ((double)(r >> 11) + 0.5) * 0x1.0p-53; /* strictly inside (0, 1) */
    double l = floor(-log(u) * ml);
    return l >= HNSW_MAX_LEVEL ? HNSW_MAX_LEVEL : (uint8_t)l;
}

static size_t hnsw_batch_size(size_t count) {
    if (count < HNSW_SERIAL_PREFIX) return 1;
    size_t b = count / HNSW_BATCH_DIV;
    return b > HNSW_BATCH_MAX ? HNSW_BATCH_MAX : b;
}

/* ---- the builder ----------------------------------------------------------- */

typedef struct {
    uint32_t target, source;
    uint32_t level;
} hnsw_edge;

typedef enum { HNSW_PHASE_QUIT, HNSW_PHASE_SEARCH, HNSW_PHASE_LINK } hnsw_phase;

typedef struct hnsw_builder hnsw_builder;

typedef struct {
    hnsw_builder *b;
    int idx;
} hnsw_worker;

struct hnsw_builder {
    lh_hnsw *h;
    int nthreads;
    hnsw_scratch **scratch; /* one per worker; [0] is the calling thread's */
    pthread_t *tids;
    hnsw_worker *workers;
    pthread_barrier_t start, done;
    pthread_mutex_t gate_mu;  /* workers wait here until the barriers match the threads started */
    pthread_cond_t gate_cv;
    int gate_open;
    hnsw_phase phase;
    /* the batch: nodes [lo, hi) and the graph's entry as of its start */
    size_t lo, hi;
    uint32_t entry;
    int max_level;
    atomic_size_t next; /* work claimed so far in the current phase */
    /* link phase: reverse edges sorted by (target, level, source), and
     * group g's edges are edges[group[g] .. group[g + 1]) */
    hnsw_edge *edges;
    size_t nedges, edges_cap;
    size_t *group;
    size_t ngroups, group_cap;
};

/* Search phase for node a: greedy descent above its level, then on each of
 * its levels a beam search and the heuristic; writes a's own rows only. */
static void hnsw_insert_search(const hnsw_builder *b, hnsw_scratch *s, uint32_t a) {
    const lh_hnsw *h = b->h;
    const float *q = hnsw_vec(h, a);
    int la = h->level[a];
    uint32_t ep = b->entry;
    float epd = hnsw_dist(h, q, ep);
    for (int l = b->max_level; l > la; l--) hnsw_greedy(h, q, l, &ep, &epd);
    for (int l = la < b->max_level ? la : b->max_level; l >= 0; l--) {
        size_t nr = hnsw_search_layer(h, s, q, ep, epd, (size_t)h->p.ef_construction, l);
        hnsw_cand_sort(s->res, nr);
        uint32_t *row = hnsw_links(h, a, l);
        assert(row[0] == 0);
        row[0] = (uint32_t)hnsw_select(h, s->res, nr, h->M, row + 1);
        ep = s->res[0].id;
        epd = s->res[0].d;
    }
}

/* Link phase for one target list: adds the sources of edges e[0..ne), all
 * with the same (target, level), re-pruning when they do not fit. */
static void hnsw_link_group(const hnsw_builder *b, hnsw_scratch *s, const hnsw_edge *e,
                            size_t ne) {
    const lh_hnsw *h = b->h;
    uint32_t t = e[0].target;
    int l = (int)e[0].level;
    uint32_t *row = hnsw_links(h, t, l);
    size_t cap = (size_t)hnsw_cap(h, l), cnt = row[0];
    if (cnt + ne <= cap) {
        for (size_t i = 0; i < ne; i++) row[1 + cnt + i] = e[i].source;
        row[0] = (uint32_t)(cnt + ne);
        return;
    }
    hnsw_scratch_reserve_work(s, cnt + ne);
    const float *v = hnsw_vec(h, t);
    size_t k = 0;
    for (size_t j = 0; j < cnt; j++) s->work[k++] = (hnsw_cand){hnsw_dist(h, v, row[1 + j]), row[1 + j]};
    for (size_t i = 0; i < ne; i++)
        s->work[k++] = (hnsw_cand){hnsw_dist(h, v, e[i].source), e[i].source};
    hnsw_cand_sort(s->work, k);
    int m = hnsw_select(h, s->work, k, (int)cap, row + 1);
    memset(row + 1 + m, 0, (cap - (size_t)m) * sizeof *row);
    row[0] = (uint32_t)m;
}

/* One worker's share of the current phase; claims work until none is left. */
static void hnsw_run_phase(hnsw_builder *b, int w) {
    hnsw_scratch *s = b->scratch[w];
    if (b->phase == HNSW_PHASE_SEARCH) {
        for (;;) {
            size_t i = b->lo + atomic_fetch_add_explicit(&b->next, 1, memory_order_relaxed);
            if (i >= b->hi) break;
            hnsw_insert_search(b, s, (uint32_t)i);
        }
    } else if (b->phase == HNSW_PHASE_LINK) {
        for (;;) {
            size_t g0 = atomic_fetch_add_explicit(&b->next, HNSW_LINK_CHUNK, memory_order_relaxed);
            if (g0 >= b->ngroups) break;
            size_t g1 = g0 + HNSW_LINK_CHUNK < b->ngroups ? g0 + HNSW_LINK_CHUNK : b->ngroups;
            for (size_t g = g0; g < g1; g++)
                hnsw_link_group(b, s, b->edges + b->group[g], b->group[g + 1] - b->group[g]);
        }
    }
}

static void *hnsw_worker_main(void *arg) {
    hnsw_worker *wk = arg;
    hnsw_builder *b = wk->b;
    pthread_mutex_lock(&b->gate_mu);
    while (!b->gate_open) pthread_cond_wait(&b->gate_cv, &b->gate_mu);
    pthread_mutex_unlock(&b->gate_mu);
    for (;;) {
        pthread_barrier_wait(&b->start);
        if (b->phase == HNSW_PHASE_QUIT) break;
        hnsw_run_phase(b, wk->idx);
        pthread_barrier_wait(&b->done);
    }
    return NULL;
}

/* Runs one phase on every worker (or on the calling thread alone). */
static void hnsw_phase_run(hnsw_builder *b, hnsw_phase ph, int parallel) {
    b->phase = ph;
    atomic_store_explicit(&b->next, 0, memory_order_relaxed);
    if (!parallel || b->nthreads == 1) {
        hnsw_run_phase(b, 0);
        return;
    }
    pthread_barrier_wait(&b->start);
    hnsw_run_phase(b, 0);
    pthread_barrier_wait(&b->done);
}

static int hnsw_edge_cmp(const void *pa, const void *pb) {
    const hnsw_edge *a = pa, *b = pb;
    if (a->target != b->target) return a->target < b->target ? -1 : 1;
    if (a->level != b->level) return a->level < b->level ? -1 : 1;
    return a->source < b->source ? -1 : a->source > b->source;
}

/* Collects the batch's reverse edges and groups them by target list. */
static void hnsw_collect_edges(hnsw_builder *b) {
    const lh_hnsw *h = b->h;
    b->nedges = 0;
    for (size_t a = b->lo; a < b->hi; a++) {
        int top = h->level[a] < b->max_level ? h->level[a] : b->max_level;
        for (int l = 0; l <= top; l++) {
            const uint32_t *row = hnsw_links(h, (uint32_t)a, l);
            if (b->nedges + row[0] > b->edges_cap) {
                while (b->nedges + row[0] > b->edges_cap) b->edges_cap *= 2;
                b->edges = lh_realloc(b->edges, b->edges_cap * sizeof *b->edges);
            }
            for (uint32_t j = 1; j <= row[0]; j++)
                b->edges[b->nedges++] = (hnsw_edge){row[j], (uint32_t)a, (uint32_t)l};
        }
    }
    qsort(b->edges, b->nedges, sizeof *b->edges, hnsw_edge_cmp);
    b->ngroups = 0;
    for (size_t i = 0; i < b->nedges; i++) {
        if (i > 0 && b->edges[i].target == b->edges[i - 1].target &&
            b->edges[i].level == b->edges[i - 1].level)
            continue;
        if (b->ngroups + 2 > b->group_cap) {
            b->group_cap *= 2;
            b->group = lh_realloc(b->group, b->group_cap * sizeof *b->group);
        }
        b->group[b->ngroups++] = i;
    }
    b->group[b->ngroups] = b->nedges;
}

static void hnsw_insert_batch(hnsw_builder *b, size_t lo, size_t hi) {
    lh_hnsw *h = b->h;
    b->lo = lo;
    b->hi = hi;
    b->entry = h->entry;
    b->max_level = h->max_level;
    int parallel = hi - lo > 1;
    hnsw_phase_run(b, HNSW_PHASE_SEARCH, parallel);
    hnsw_collect_edges(b);
    hnsw_phase_run(b, HNSW_PHASE_LINK, parallel && b->ngroups > HNSW_LINK_CHUNK);
    for (size_t a = lo; a < hi; a++)
        if (h->level[a] > h->max_level) {
            h->max_level = h->level[a];
            h->entry = (uint32_t)a;
        }
}

static int hnsw_thread_count(int threads, size_t n) {
    if (threads <= 0) threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1) threads = 1;
    if (threads > HNSW_MAX_THREADS) threads = HNSW_MAX_THREADS;
    if (n <= HNSW_SERIAL_PREFIX) threads = 1; /* every batch would be one node */
    return threads;
}

static void hnsw_builder_init(hnsw_builder *b, lh_hnsw *h, int nthreads) {
    memset(b, 0, sizeof *b);
    b->h = h;
    b->scratch = lh_calloc((size_t)nthreads, sizeof *b->scratch);
    for (int w = 0; w < nthreads; w++) b->scratch[w] = hnsw_scratch_new(h->n);
    b->edges_cap = 1024;
    b->edges = lh_malloc(b->edges_cap * sizeof *b->edges);
    b->group_cap = 1024;
    b->group = lh_malloc(b->group_cap * sizeof *b->group);
    b->nthreads = 1;
    if (nthreads == 1) return;
    pthread_mutex_init(&b->gate_mu, NULL);
    pthread_cond_init(&b->gate_cv, NULL);
    b->tids = lh_calloc((size_t)nthreads, sizeof *b->tids);
    b->workers = lh_calloc((size_t)nthreads, sizeof *b->workers);
    int started = 1; /* the calling thread is worker 0; one that fails to start is not lost: */
    for (int w = 1; w < nthreads; w++) { /* fewer workers claim the same work */
        b->workers[started] = (hnsw_worker){b, started};
        if (lh_thread_start(&b->tids[started], NULL, hnsw_worker_main, &b->workers[started], "HNSW build", NULL) == 0)
            started++;
    }
    b->nthreads = started;
    pthread_barrier_init(&b->start, NULL, (unsigned)started);
    pthread_barrier_init(&b->done, NULL, (unsigned)started);
    pthread_mutex_lock(&b->gate_mu);
    b->gate_open = 1;
    pthread_cond_broadcast(&b->gate_cv);
    pthread_mutex_unlock(&b->gate_mu);
}

/* Stops the workers and hands their scratch to the index's search pool. */
static void hnsw_builder_finish(hnsw_builder *b, int nthreads) {
    if (nthreads > 1) {
        b->phase = HNSW_PHASE_QUIT;
        pthread_barrier_wait(&b->start);
        for (int w = 1; w < b->nthreads; w++) pthread_join(b->tids[w], NULL);
        pthread_barrier_destroy(&b->start);
        pthread_barrier_destroy(&b->done);
        pthread_mutex_destroy(&b->gate_mu);
        pthread_cond_destroy(&b->gate_cv);
    }
    lh_hnsw *h = b->h;
    for (int w = 0; w < nthreads; w++) {
        if (h->pool_len < HNSW_POOL_MAX) h->pool[h->pool_len++] = b->scratch[w];
        else hnsw_scratch_free(b->scratch[w]);
    }
    free(b->scratch);
    free(b->tids);
    free(b->workers);
    free(b->edges);
    free(b->group);
}

/* ---- entry ------------------------------------------------------------------ */

static int hnsw_check_args(const float *matrix, size_t n, int dims, lh_err *err) {
    if (dims <= 0 || dims > HNSW_MAX_DIMS)
        return lh_err_set(err, LH_E_BAD_REQUEST, "hnsw: dims must be in 1..%d, got %d",
                          HNSW_MAX_DIMS, dims);
    if (n > 0 && !matrix) return lh_err_set(err, LH_E_BAD_REQUEST, "hnsw: no matrix");
    if (n >= HNSW_NO_NODE)
        return lh_err_set(err, LH_E_TOO_LARGE, "hnsw: too many vectors (%zu)", n);
    return 0;
}

lh_hnsw *hnsw_build(const float *matrix, size_t n, int dims, const lh_hnsw_params *p,
                    int threads, lh_err *err) {
    lh_hnsw_params rp;
    if (hnsw_check_args(matrix, n, dims, err) != 0 || hnsw_params_resolve(p, &rp, err) != 0)
        return NULL;
    uint8_t *level = lh_malloc(n ? n : 1);
    double ml = 1.0 / log((double)rp.M);
    for (size_t i = 0; i < n; i++) level[i] = hnsw_draw_level(rp.seed, i, ml);
    lh_hnsw *h = hnsw_alloc(matrix, n, dims, &rp, level, err);
    if (!h || n == 0) return h;
    h->entry = 0;
    h->max_level = h->level[0];
    int nt = hnsw_thread_count(threads, n);
    hnsw_builder b;
    hnsw_builder_init(&b, h, nt);
    for (size_t lo = 1; lo < n;) {
        size_t hi = lo + hnsw_batch_size(lo);
        if (hi > n) hi = n;
        hnsw_insert_batch(&b, lo, hi);
        lo = hi;
    }
    hnsw_builder_finish(&b, nt);
    return h;
}
