/*
 * hnsw_internal.h — the HNSW index layout and the primitives shared by
 * hnsw.c (search, scratch pool, lifetime), hnsw_build.c (parallel
 * deterministic construction) and hnsw_io.c (save/load). Not a public API.
 *
 * Layout: every adjacency list is a row of uint32 [count, id, id, ...].
 *   level 0:  links0, n rows of (1 + M0) words, contiguous (M0 = 2M), so a
 *             node's level-0 row is one multiply away and the count shares
 *             the cache line with the first neighbours;
 *   levels>0: upper, one row of (1 + M) words per (node, level >= 1), only
 *             for the ~1/M of nodes that have upper levels; node i's rows
 *             start at upper_row[i] (a prefix sum of the levels) and run
 *             level 1, 2, ... level[i].
 * Unused slots in a row are zero, so the saved bytes are reproducible.
 */
#ifndef LH_VECTOR_HNSW_INTERNAL_H
#define LH_VECTOR_HNSW_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "vector/hnsw.h"

#define HNSW_MAX_LEVEL 31
#define HNSW_NO_NODE UINT32_MAX
#define HNSW_POOL_MAX 64

/* A candidate: distance (= -dot, lower is closer) and node id. */
typedef struct {
    float d;
    uint32_t id;
} hnsw_cand;

/* Per-searcher scratch: visited tags stamped with a generation (a node is
 * visited when tags[id] == gen; bumping gen clears the set in O(1)), a
 * min-heap of candidates to expand and a max-heap of the best `ef` found. */
typedef struct hnsw_scratch {
    uint16_t *tags;
    size_t n;
    uint16_t gen;
    hnsw_cand *cand;
    size_t ncand, cand_cap;
    hnsw_cand *res;
    size_t nres, res_cap;
    hnsw_cand *work;    /* heuristic / pruning candidates */
    size_t work_cap;
    uint32_t *ids;      /* unvisited neighbours of the node being expanded */
} hnsw_scratch;

struct lh_hnsw {
    const float *data;  /* borrowed n x dims matrix */
    size_t n;
    int dims;
    lh_hnsw_params p;   /* resolved (no zero fields) */
    int M, M0;          /* list capacity on levels >= 1 and on level 0 */
    uint32_t entry;     /* entry point (a node on max_level); HNSW_NO_NODE if n == 0 */
    int max_level;
    uint8_t *level;     /* n */
    uint32_t *links0;   /* n * (1 + M0) */
    uint32_t *upper_row;/* n; first upper row of each node */
    uint32_t *upper;    /* upper_rows * (1 + M) */
    size_t upper_rows;
    vec_dot_fn dot;
    pthread_mutex_t pool_mu;
    hnsw_scratch *pool[HNSW_POOL_MAX];
    int pool_len;
};

static inline const float *hnsw_vec(const lh_hnsw *h, uint32_t id) {
    return h->data + (size_t)id * (size_t)h->dims;
}

static inline uint32_t *hnsw_links(const lh_hnsw *h, uint32_t id, int level) {
    if (level == 0) return h->links0 + (size_t)id * (size_t)(1 + h->M0);
    return h->upper + ((size_t)h->upper_row[id] + (size_t)(level - 1)) * (size_t)(1 + h->M);
}

static inline int hnsw_cap(const lh_hnsw *h, int level) { return level == 0 ? h->M0 : h->M; }

static inline float hnsw_dist(const lh_hnsw *h, const float *q, uint32_t id) {
    return -h->dot(q, hnsw_vec(h, id), h->dims);
}

/* Fills defaults into zero fields; -1 with err on out-of-range values. */
int hnsw_params_resolve(const lh_hnsw_params *in, lh_hnsw_params *out, lh_err *err);
/* Allocates an index with the given levels (taken over, freed by
 * hnsw_free) and all lists empty. NULL when sizes overflow. */
lh_hnsw *hnsw_alloc(const float *matrix, size_t n, int dims, const lh_hnsw_params *p,
                    uint8_t *level, lh_err *err);

hnsw_scratch *hnsw_scratch_new(size_t n);
void hnsw_scratch_free(hnsw_scratch *s);
/* Makes room for `need` entries in s->work. */
void hnsw_scratch_reserve_work(hnsw_scratch *s, size_t need);

/* Greedy walk (ef = 1) on `level` from *ep toward q; updates *ep / *epd. */
void hnsw_greedy(const lh_hnsw *h, const float *q, int level, uint32_t *ep, float *epd);
/* SEARCH-LAYER (paper, alg. 2) from one entry point; leaves up to ef
 * results in s->res (a max-heap) and returns their count. */
size_t hnsw_search_layer(const lh_hnsw *h, hnsw_scratch *s, const float *q, uint32_t ep,
                         float epd, size_t ef, int level);
/* Sorts candidates by (d, id) ascending. */
void hnsw_cand_sort(hnsw_cand *c, size_t n);
/* SELECT-NEIGHBORS-HEURISTIC (paper, alg. 4, no extension, no kept pruned
 * connections): c sorted ascending by distance to the base; writes up to m
 * ids to out and returns how many. */
int hnsw_select(const lh_hnsw *h, const hnsw_cand *c, size_t nc, int m, uint32_t *out);

/* Test support (hnsw_io.c): recomputes the checksum of a whole saved file
 * held in buf, so tests and the fuzzer can reach the graph validation with
 * deliberately damaged bodies. -1 when buf is shorter than a header. */
int hnsw_io_reseal(unsigned char *buf, size_t len);

#endif
