/*
 * hnsw.h — our HNSW graph index (Malkov & Yashunin, "Efficient and robust
 * approximate nearest neighbor search using Hierarchical Navigable Small
 * World graphs", 2016/2018) over a caller-owned matrix of L2-normalised
 * float32 rows; similarity is the dot product (= cosine).
 *
 * Ownership: the index borrows `matrix` (it must outlive the index and stay
 * unchanged) and owns only the graph. Ids are row numbers 0..n-1.
 *
 * Determinism: the graph depends only on (data, params, seed), never on the
 * thread count or timing, so two builds save byte-identical files. Levels
 * come from a seeded RNG per node; nodes are inserted in batches whose size
 * depends only on how many nodes are already in the graph (1 for the first
 * 1024, then up to 512). Inside a batch every node searches the graph as it
 * stood at the batch start (read-only, in parallel) and picks its own
 * neighbours; the reverse edges are then grouped by target and each target's
 * list is extended or re-pruned once (in parallel, one target per worker).
 * Details in hnsw_build.c.
 *
 * Search is thread-safe and lock-free on the graph; per-call scratch (the
 * generation-stamped visited array and the heaps) comes from a small pool.
 *
 * Persistence: hnsw_save() writes hnsw-<generation>.bin atomically with a
 * versioned header (magic, dims, n, params, SHA-256); hnsw_load() checks it
 * against the caller's n and dims and validates the whole graph, so a
 * corrupt file is an error, never a crash. Format in hnsw_io.c.
 */
#ifndef LH_VECTOR_HNSW_H
#define LH_VECTOR_HNSW_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "vector/brute.h"

typedef struct {
    int M;               /* links per node on upper levels (2M on level 0); 0 = 16 */
    int ef_construction; /* candidate list size while building; 0 = 80 */
    int ef_search;       /* default candidate list size for queries; 0 = 64 */
    uint64_t seed;       /* level RNG seed; 0 = 42 */
} lh_hnsw_params;

#define LH_HNSW_DEFAULT_M 16
#define LH_HNSW_DEFAULT_EF_CONSTRUCTION 80
#define LH_HNSW_DEFAULT_EF_SEARCH 64
#define LH_HNSW_DEFAULT_SEED 42
#define LH_HNSW_MAX_M 128

typedef struct lh_hnsw lh_hnsw;

/* Builds the graph over n x dims rows with `threads` workers (0 = all
 * cores). p may be NULL (all defaults); zero fields take defaults. n may be
 * 0 (an empty index). NULL with err set on bad arguments. */
lh_hnsw *hnsw_build(const float *matrix, size_t n, int dims, const lh_hnsw_params *p,
                    int threads, lh_err *err);

/* Approximate top-k of q; ef = 0 uses params.ef_search, and ef is raised to
 * k. Writes up to k hits (score = dot product) best first; returns count.
 * Safe to call from many threads at once. */
int hnsw_search(const lh_hnsw *h, const float *q, int k, int ef, lh_hit *out);

/* The search the index service uses: like hnsw_search, but the layer-0
 * walk starts from the greedy descent's node, the caller's seeds (ids < n;
 * e.g. keyword hits) and a fixed stride sample of HNSW_SAMPLE_SEEDS nodes.
 * The sample also measures the noise floor: when the result at rank
 * min(k, max(2, allowed rows / (8 * allowed samples))) is no closer than the
 * best allowed sampled node (a query far from every cluster, where the walk
 * has no gradient to follow), the beam is widened 4x, at most twice (deeper
 * ranks would lose to a random sample by chance; ADR 0265). When allowed is
 * not NULL (a bitmap of n bits) only allowed nodes enter the results while
 * every node may be walked through.
 * Returns up to k allowed hits. */
#define HNSW_SAMPLE_SEEDS 64
int hnsw_search_ex(const lh_hnsw *h, const float *q, int k, int ef, const uint32_t *seeds, size_t nseeds,
                   const uint64_t *allowed, lh_hit *out);

/* Atomic write (temp + fsync + rename). */
int hnsw_save(const lh_hnsw *h, const char *path, lh_err *err);
/* Loads a graph saved by hnsw_save() over the same matrix (n and dims must
 * match the file). LH_E_NOT_FOUND when missing, LH_E_UNPROCESSABLE when the
 * file is corrupt or was built for other data. */
lh_hnsw *hnsw_load(const char *path, const float *matrix, size_t n, int dims, lh_err *err);

void hnsw_free(lh_hnsw *h);

/* Graph memory in bytes (links, levels, pooled search scratch), excluding
 * the borrowed matrix. */
size_t hnsw_memory_bytes(const lh_hnsw *h);

/* Introspection. */
lh_hnsw_params hnsw_params(const lh_hnsw *h);
/* p with every zero or negative field replaced by its default (no range check). */
lh_hnsw_params hnsw_params_defaults(lh_hnsw_params p);
int hnsw_params_equal(lh_hnsw_params a, lh_hnsw_params b);
size_t hnsw_count(const lh_hnsw *h);
int hnsw_dims(const lh_hnsw *h);
int hnsw_max_level(const lh_hnsw *h);

#endif
