/*
 * ivfpq.h — the disk vector backend: an IVF-PQ index (inverted file over a
 * k-means coarse quantizer, product-quantized residuals) kept in one file
 * and read through mmap, so an index need not fit in RAM.
 *
 *   build    k-means (seeded, random init from a sample, multi-threaded
 *            assignment) → nlist lists; each residual x - c is split into m
 *            sub-vectors, each quantized to one of 256 centroids (8-bit
 *            codes).
 *   search   inner-product ADC: per query one m x 256 lookup table, then
 *            score = q·c(list) + Σ_j lut[j][code_j] over the nprobe closest
 *            lists; optionally the top `rerank` candidates are re-scored
 *            exactly from the stored vectors.
 *   append   new rows are encoded with the trained quantizers (no
 *            retraining) and kept in memory until the next save.
 *   scalar   an open-addressing hash doc_id → positions (the "scalar
 *            index"); without it doc lookups scan the rows.
 *
 * Rows are numbered by position 0..n-1 (build order, then appends); each
 * carries a doc id, a chunk number and a text. Vectors are L2-normalised,
 * so scores are dot products (cosine).
 *
 * File (ivfpq_io.c): a 128-byte header (magic "LHIVFPQ\0", version,
 * sizes, 64-bit checksum of the whole file) then 64-byte-aligned sections:
 * coarse centroids, codebooks, list offsets, list positions, codes, vectors
 * (optional), chunk numbers, string offsets, the string blob, the hash.
 *
 * Thread-safety: searches and lookups may run concurrently; append, save
 * and scalar_build need exclusive use.
 */
#ifndef LH_VECTOR_IVFPQ_H
#define LH_VECTOR_IVFPQ_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "vector/brute.h"

typedef struct lh_ivfpq lh_ivfpq;

typedef struct {
    int nlist;          /* coarse lists; 0 = about sqrt(n) (1..65536) */
    int m;              /* sub-vectors, must divide dims; 0 = dims/8 (or dims/4, 1) */
    int iterations;     /* k-means iterations; 0 = 10 */
    uint64_t seed;      /* 0 = 42 */
    int train_max;      /* training sample cap; 0 = 64 nlist in 4096..65536 */
    int no_vectors;     /* 1: do not store the float vectors (no re-rank) */
} lh_ivfpq_params;

/* Per-row payload; any array may be NULL (empty strings, chunk 0). */
typedef struct {
    const char *const *doc_id;
    const int32_t *chunk_no;
    const char *const *text;
} lh_ivfpq_rows;

typedef struct {
    int nprobe;         /* lists scanned; 0 = ivfpq_default_nprobe */
    int rerank;         /* 0 = off; else candidates re-scored exactly (>= k) */
} lh_ivfpq_query;

/* Trains and encodes n x dims rows (threads 0 = all cores). */
lh_ivfpq *ivfpq_build(const float *matrix, size_t n, int dims, const lh_ivfpq_rows *rows,
                      const lh_ivfpq_params *p, int threads, lh_err *err);
void ivfpq_free(lh_ivfpq *ix);

/* Top k of q; writes up to k hits (id = position) best first; returns count. */
int ivfpq_search(const lh_ivfpq *ix, const float *q, int k, const lh_ivfpq_query *qp, lh_hit *out);

/* Encodes and adds n rows (positions continue after the last). */
int ivfpq_append(lh_ivfpq *ix, const float *matrix, size_t n, const lh_ivfpq_rows *rows,
                 lh_err *err);

/* Builds (or rebuilds) the doc_id hash; it is saved with the index. */
void ivfpq_scalar_build(lh_ivfpq *ix);
int ivfpq_has_scalar(const lh_ivfpq *ix);
/* Positions of doc_id in order (at most cap written); returns how many
 * there are. Uses the hash when built, else scans. */
size_t ivfpq_find_doc(const lh_ivfpq *ix, const char *doc_id, uint32_t *pos, size_t cap);

/* ---- query defaults chosen by the build (ivfpq_tune.c) ---- */
typedef struct {
    int nprobe, rerank;  /* for k = 10 (rerank scales with k) */
    double recall;       /* recall@10 measured with them */
    int queries;         /* sample size */
} lh_ivfpq_tuning;
/* Measures recall@10 on rows of matrix (the n rows ix was built from, each
 * left out of its own answer) and picks the cheapest nprobe / rerank that
 * reach target; sets them as ix's defaults (ivfpq_set_tuning). */
int ivfpq_tune(lh_ivfpq *ix, const float *matrix, size_t n, double target, int threads, lh_ivfpq_tuning *out);
/* Sets (t NULL or nprobe 0: clears) the defaults, e.g. from the state record on load. */
void ivfpq_set_tuning(lh_ivfpq *ix, const lh_ivfpq_tuning *t);
/* The query a search with no settings runs: the tuned pair when set, else
 * nprobe ivfpq_default_nprobe and rerank max(100, 10 k) (0 without vectors). */
lh_ivfpq_query ivfpq_default_query(const lh_ivfpq *ix, int k);

/* Row accessors (pos < ivfpq_count). ivfpq_vector is NULL without vectors. */
size_t ivfpq_count(const lh_ivfpq *ix);
/* max(8, nlist / 8), at most nlist. */
int ivfpq_default_nprobe(const lh_ivfpq *ix);
int ivfpq_dims(const lh_ivfpq *ix);
const char *ivfpq_doc_id(const lh_ivfpq *ix, size_t pos);
const char *ivfpq_text(const lh_ivfpq *ix, size_t pos);
int32_t ivfpq_chunk_no(const lh_ivfpq *ix, size_t pos);
const float *ivfpq_vector(const lh_ivfpq *ix, size_t pos);
/* The parameters used (defaults resolved). */
lh_ivfpq_params ivfpq_params(const lh_ivfpq *ix);

typedef struct {
    size_t vectors, appended;   /* appended: rows not yet in the file */
    int dims, nlist, m;
    size_t min_list, max_list;  /* list sizes */
    int has_vectors, has_scalar, mapped;
    size_t file_bytes;          /* of the mapped file; 0 when built in memory */
} lh_ivfpq_stats;
lh_ivfpq_stats ivfpq_stats(const lh_ivfpq *ix);

/* ivfpq_io.c: writes the whole index (appends merged) to path atomically
 * (temp file, fsync, rename). */
int ivfpq_save(const lh_ivfpq *ix, const char *path, lh_err *err);
/* Maps path read-only after checking header, sizes and checksum;
 * LH_E_UNPROCESSABLE for a corrupt or foreign file. */
lh_ivfpq *ivfpq_load(const char *path, lh_err *err);

#endif
