/*
 * brute.h — the dot-product kernel and exact (brute-force) top-k search.
 *
 * Vectors are L2-normalised float32, so cosine similarity is the dot
 * product. vec_dot() dispatches once, at first use, to the best kernel the
 * CPU has (__builtin_cpu_supports): AVX-512F, else AVX2+FMA, else portable
 * C. LH_VEC_KERNEL=avx2 or =portable in the environment caps the choice.
 * The binary itself needs only baseline x86-64: the SIMD kernels are
 * compiled with per-function target attributes.
 *
 * brute_topk() scans a contiguous row-major matrix with several threads and
 * returns the exact top k. Ids are row numbers 0..n-1; callers map them to
 * their own document ids. Hits are ordered by score descending, ties by id
 * ascending, so the answer never depends on the thread count.
 */
#ifndef LH_VECTOR_BRUTE_H
#define LH_VECTOR_BRUTE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t id;  /* row number in the caller's matrix */
    float score;  /* dot product: higher = closer */
} lh_hit;

typedef float (*vec_dot_fn)(const float *a, const float *b, int dims);

/* Dot product through the kernel chosen at run time. */
float vec_dot(const float *a, const float *b, int dims);
/* The chosen kernel itself, for hot loops that want to skip one call. */
vec_dot_fn vec_dot_kernel(void);
/* "avx512", "avx2" or "portable". */
const char *vec_kernel_name(void);
/* The kernels, for tests and benchmarks. vec_dot_avx2 / vec_dot_avx512 may
 * only be called when vec_has_avx2() / vec_has_avx512() is true. */
float vec_dot_portable(const float *a, const float *b, int dims);
float vec_dot_avx2(const float *a, const float *b, int dims);
float vec_dot_avx512(const float *a, const float *b, int dims);
int vec_has_avx2(void);
int vec_has_avx512(void);

/* Exact top-k of q against the n x dims matrix using `threads` workers
 * (0 = all cores). Writes min(k, n) hits to out, best first; returns that
 * count (0 when k <= 0 or n == 0). */
int brute_topk(const float *matrix, size_t n, int dims, const float *q, int k, int threads,
               lh_hit *out);

/* Exact top-k among the rows whose bit is set in allowed (n bits), with
 * workers as brute_topk would use for that many rows: for filtered searches. */
int brute_topk_allowed(const float *matrix, size_t n, int dims, const float *q, int k, const uint64_t *allowed,
                       int threads, lh_hit *out);

/* A half-precision copy of an n x dims matrix with per-row error bounds, for
 * the two-pass exact scan (brute_half.c); NULL when the CPU lacks F16C. The
 * matrix is only read while building; the copy owns its memory. */
typedef struct lh_vhalf lh_vhalf;
lh_vhalf *vhalf_new(const float *matrix, size_t n, int dims);
void vhalf_free(lh_vhalf *v);
size_t vhalf_memory_bytes(const lh_vhalf *v);

/* brute_topk_allowed(matrix, n, dims, q, k, allowed, 1, out) exactly (same
 * rows, scores and order), reading the half copy for every allowed row and
 * the float matrix only for rows that may reach the top k. v was built from
 * matrix; allowed holds v's n bits. */
int brute_topk_allowed_half(const lh_vhalf *v, const float *matrix, const float *q, int k, const uint64_t *allowed,
                            lh_hit *out);

/* 1 when hit a ranks before hit b (higher score, then lower id). */
static inline int lh_hit_before(lh_hit a, lh_hit b) {
    return a.score > b.score || (a.score == b.score && a.id < b.id);
}

#endif
