/*
 * brute.c — dot-product kernels (AVX-512F, AVX2+FMA and portable, picked
 * once at run time) and the exact multi-threaded top-k scan over a
 * contiguous matrix.
 *
 * The scan splits the rows into one contiguous range per worker; each worker
 * keeps a bounded heap of its k best rows, and the heaps are merged at the
 * end. Ties rank by id, so the result is the same for any thread count.
 */
#include "vector/brute.h"

#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"

/* ---- kernels ---------------------------------------------------------- */

float vec_dot_portable(const float *a, const float *b, int dims) {
    float s[8] = {0};
    int i = 0;
    for (; i + 8 <= dims; i += 8)
        for (int j = 0; j < 8; j++) s[j] += a[i + j] * b[i + j];
    float tail = 0.0f;
    for (; i < dims; i++) tail += a[i] * b[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + tail;
}

__attribute__((target("avx2,fma"))) static inline float hsum256(__m256 v) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
    return _mm_cvtss_f32(lo);
}

/* Four independent 8-lane FMA chains (32 floats per step) hide the FMA
 * latency; 768 dims are 24 steps with no tail. */
__attribute__((target("avx2,fma"))) float vec_dot_avx2(const float *a, const float *b,
                                                       int dims) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 32 <= dims; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= dims; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float r = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < dims; i++) r += a[i] * b[i];
    return r;
}

/* Four 16-lane FMA chains (64 floats per step; 768 dims are 12 steps), then
 * 32-float steps and a masked tail, so any length runs without a scalar
 * loop. On the 100K x 768 benchmark it cuts HNSW query time by ~18% over
 * AVX2 (fewer loads and instructions per dot product). */
__attribute__((target("avx512f"))) float vec_dot_avx512(const float *a, const float *b,
                                                        int dims) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    int i = 0;
    for (; i + 64 <= dims; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    s0 = _mm512_add_ps(s0, s2);
    s1 = _mm512_add_ps(s1, s3);
    for (; i + 32 <= dims; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i < dims; i += 16) {
        int left = dims - i;
        __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

int vec_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

int vec_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static vec_dot_fn g_dot;
static const char *g_dot_name;
static pthread_once_t g_dot_once = PTHREAD_ONCE_INIT;

static void vec_choose_kernel(void) {
    const char *force = getenv("LH_VEC_KERNEL");
    int portable = force && strcmp(force, "portable") == 0;
    int avx2 = force && strcmp(force, "avx2") == 0;
    if (!portable && !avx2 && vec_has_avx512()) {
        g_dot = vec_dot_avx512;
        g_dot_name = "avx512";
    } else if (!portable && vec_has_avx2()) {
        g_dot = vec_dot_avx2;
        g_dot_name = "avx2";
    } else {
        g_dot = vec_dot_portable;
        g_dot_name = "portable";
    }
}

vec_dot_fn vec_dot_kernel(void) {
    pthread_once(&g_dot_once, vec_choose_kernel);
    return g_dot;
}

const char *vec_kernel_name(void) {
    pthread_once(&g_dot_once, vec_choose_kernel);
    return g_dot_name;
}

float vec_dot(const float *a, const float *b, int dims) { return vec_dot_kernel()(a, b, dims); }

/* ---- bounded top-k heap (root = the hit that ranks last) ---------------- */

typedef struct {
    lh_hit *h;
    int len, cap;
} brute_heap;

static void brute_heap_sift_down(brute_heap *hp, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = i;
        if (l < hp->len && lh_hit_before(hp->h[w], hp->h[l])) w = l;
        if (r < hp->len && lh_hit_before(hp->h[w], hp->h[r])) w = r;
        if (w == i) return;
        lh_hit t = hp->h[i];
        hp->h[i] = hp->h[w];
        hp->h[w] = t;
        i = w;
    }
}

static void brute_heap_offer(brute_heap *hp, lh_hit x) {
    if (hp->len < hp->cap) {
        int i = hp->len++;
        hp->h[i] = x;
        while (i > 0 && lh_hit_before(hp->h[(i - 1) / 2], hp->h[i])) {
            lh_hit t = hp->h[i];
            hp->h[i] = hp->h[(i - 1) / 2];
            hp->h[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (lh_hit_before(x, hp->h[0])) {
        hp->h[0] = x;
        brute_heap_sift_down(hp, 0);
    }
}

static int brute_hit_cmp(const void *a, const void *b) {
    lh_hit x = *(const lh_hit *)a, y = *(const lh_hit *)b;
    return lh_hit_before(x, y) ? -1 : lh_hit_before(y, x) ? 1 : 0;
}

/* ---- scan -------------------------------------------------------------- */

typedef struct {
    const float *matrix;
    const float *q;
    const uint64_t *allowed; /* NULL = every row */
    int dims;
    size_t lo, hi;
    brute_heap heap;
} brute_task;

static void *brute_scan_range(void *arg) {
    brute_task *t = arg;
    vec_dot_fn dot = vec_dot_kernel();
    for (size_t i = t->lo; i < t->hi; i++) {
        if (t->allowed && !(t->allowed[i >> 6] >> (i & 63) & 1)) continue;
        float s = dot(t->q, t->matrix + i * (size_t)t->dims, t->dims);
        if (t->heap.len < t->heap.cap || s >= t->heap.h[0].score)
            brute_heap_offer(&t->heap, (lh_hit){(uint32_t)i, s});
    }
    return NULL;
}

/* Workers for scanning rows x dims floats. */
static int brute_worker_count(size_t rows, int dims, int threads) {
    if (threads <= 0) threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    /* a thread costs tens of microseconds: give each at least ~256K floats */
    size_t most = (rows * (size_t)dims) / (256u * 1024u);
    if (most < 1) most = 1;
    if ((size_t)threads > most) threads = (int)most;
    return threads;
}

/* The scan behind both entry points: rows split evenly among nt workers
 * (the calling thread is one), each keeping its own top k, merged. */
static int brute_scan(const float *matrix, size_t n, int dims, const float *q, int k, const uint64_t *allowed,
                      int nt, lh_hit *out) {
    if ((size_t)k > n) k = (int)n;
    brute_task *tasks = lh_calloc((size_t)nt, sizeof *tasks);
    lh_hit *pool = lh_malloc((size_t)nt * (size_t)k * sizeof *pool);
    pthread_t *tids = lh_calloc((size_t)nt, sizeof *tids);
    for (int t = 0; t < nt; t++) {
        tasks[t] = (brute_task){matrix, q, allowed, dims, n * (size_t)t / (size_t)nt,
                                n * (size_t)(t + 1) / (size_t)nt, {pool + (size_t)t * k, 0, k}};
    }
    int started = 1;  /* task 0 runs on the calling thread */
    for (int t = 1; t < nt; t++, started++)
        if (lh_thread_start(&tids[t], NULL, brute_scan_range, &tasks[t], "brute scan", NULL) != 0) break;
    for (int t = started; t < nt; t++) brute_scan_range(&tasks[t]);  /* no thread: run here */
    brute_scan_range(&tasks[0]);
    for (int t = 1; t < started; t++) pthread_join(tids[t], NULL);
    /* merge: every heap's hits, sorted, first k */
    size_t total = 0;
    for (int t = 0; t < nt; t++) {
        memmove(pool + total, tasks[t].heap.h, (size_t)tasks[t].heap.len * sizeof *pool);
        total += (size_t)tasks[t].heap.len;
    }
    qsort(pool, total, sizeof *pool, brute_hit_cmp);
    int got = total < (size_t)k ? (int)total : k;
    memcpy(out, pool, (size_t)got * sizeof *out);
    free(tasks);
    free(pool);
    free(tids);
    return got;
}

int brute_topk(const float *matrix, size_t n, int dims, const float *q, int k, int threads,
               lh_hit *out) {
    if (k <= 0 || n == 0 || dims <= 0 || !matrix || !q || !out) return 0;
    return brute_scan(matrix, n, dims, q, k, NULL, brute_worker_count(n, dims, threads), out);
}

int brute_topk_allowed(const float *matrix, size_t n, int dims, const float *q, int k, const uint64_t *allowed,
                       int threads, lh_hit *out) {
    if (k <= 0 || n == 0 || dims <= 0 || !matrix || !q || !out || !allowed) return 0;
    size_t rows = 0;
    for (size_t w = 0; w < n / 64; w++) rows += (size_t)__builtin_popcountll(allowed[w]);
    for (size_t i = n / 64 * 64; i < n; i++) rows += allowed[i >> 6] >> (i & 63) & 1;
    return brute_scan(matrix, n, dims, q, k, allowed, brute_worker_count(rows, dims, threads), out);
}
