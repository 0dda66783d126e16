/*
 * brute_half.c — the exact top-k scan of an allowed set in two passes over a
 * half-precision copy of the matrix (ADR 0279).
 *
 * A filtered exact scan reads every allowed row; at 384 dims that is 1.5 KB
 * a row and the scan is bound by memory, not arithmetic. The half copy holds
 * each row in IEEE fp16 (padded to 16 lanes) with a bound err[i] ≥ ||v_i -
 * half(v_i)|| plus float rounding slack, so for any query q
 *     |q·v_i - q·half(v_i)| ≤ ||q|| · err[i]     (Cauchy–Schwarz).
 * Pass 1 scores the allowed rows on the half copy (half the bytes) and keeps
 * T = the k-th largest lower bound; pass 2 measures in float, with the same
 * kernel as brute_topk_allowed, only the rows whose upper bound reaches T. At
 * least k rows score ≥ T exactly, so every row that can be in the exact top k
 * (ties included) is measured: the answer is brute_topk_allowed's, bit for bit.
 *
 * The copy needs F16C (AVX2 machines) or AVX-512F; without either
 * vhalf_new returns NULL and the caller keeps the float scan.
 */
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "vector/brute.h"

struct lh_vhalf {
    size_t n;
    int dims, stride;  /* stride: dims rounded up to 16 lanes, zero-padded */
    int avx512;        /* 1: the AVX-512F kernel, else AVX2+F16C */
    uint16_t *h;       /* n x stride halves */
    float *err;        /* n bounds on ||v_i - half(v_i)||, slack included */
};

/* Slack for the float rounding of two dot products of the same row taken in
 * different orders: dims · 2^-24 per unit of ||q||·||v||, with a 4x margin. */
#define HALF_SLACK(dims) (4.0f * (float)(dims) * 5.97e-8f)

__attribute__((target("avx2,fma,f16c"))) static void half_row_f16c(const float *v, int dims, int stride,
                                                                   uint16_t *out, float *err) {
    float pad[16];
    double e2 = 0, n2 = 0;
    for (int i = 0; i < stride; i += 8) {
        const float *src = v + i;
        if (i + 8 > dims) {
            memset(pad, 0, sizeof pad);
            if (i < dims) memcpy(pad, v + i, (size_t)(dims - i) * sizeof *pad);
            src = pad;
        }
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(out + i), h);
        float back[8];
        _mm256_storeu_ps(back, _mm256_cvtph_ps(h));
        for (int j = 0; j < 8; j++) {
            double d = (double)src[j] - back[j];
            e2 += d * d;
            n2 += (double)src[j] * src[j];
        }
    }
    *err = (float)(sqrt(e2) * (1 + 1e-6)) + HALF_SLACK(dims) * (float)sqrt(n2);
}

/* 1 when the machine converts halves (F16C) and has a kernel for them; the
 * LH_VEC_KERNEL override of brute.c applies here too. */
static int half_supported(int *avx512) {
    const char *force = getenv("LH_VEC_KERNEL");
    if (force && !strcmp(force, "portable")) return 0;
    __builtin_cpu_init();
    *avx512 = vec_has_avx512() && !(force && !strcmp(force, "avx2"));
    return __builtin_cpu_supports("f16c") && (*avx512 || vec_has_avx2());
}

lh_vhalf *vhalf_new(const float *matrix, size_t n, int dims) {
    int avx512 = 0;
    if (!matrix || n == 0 || dims <= 0 || !half_supported(&avx512)) return NULL;
    lh_vhalf *v = lh_calloc(1, sizeof *v);
    v->n = n;
    v->dims = dims;
    v->stride = (dims + 15) / 16 * 16;
    v->avx512 = avx512;
    v->h = lh_malloc(n * (size_t)v->stride * sizeof *v->h);
    v->err = lh_malloc(n * sizeof *v->err);
    for (size_t i = 0; i < n; i++)
        half_row_f16c(matrix + i * (size_t)dims, dims, v->stride, v->h + i * (size_t)v->stride, &v->err[i]);
    return v;
}

void vhalf_free(lh_vhalf *v) {
    if (!v) return;
    free(v->h);
    free(v->err);
    free(v);
}

size_t vhalf_memory_bytes(const lh_vhalf *v) {
    return v ? sizeof *v + v->n * ((size_t)v->stride * sizeof *v->h + sizeof *v->err) : 0;
}

__attribute__((target("avx512f"))) static float half_dot_avx512(const float *q, const uint16_t *h, int stride) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int i = 0;
    for (; i + 32 <= stride; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(h + i))), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16),
                             _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(h + i + 16))), s1);
    }
    if (i < stride)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(h + i))), s0);
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

__attribute__((target("avx2,fma,f16c"))) static float half_dot_f16c(const float *q, const uint16_t *h, int stride) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (int i = 0; i < stride; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8),
                             _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i + 8))), s1);
    }
    float t[8];
    _mm256_storeu_ps(t, _mm256_add_ps(s0, s1));
    return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
}

/* Min-heap of the k largest lower bounds: root = T once full. */
static void lows_offer(float *lo, int *len, int k, float x) {
    if (*len < k) {
        int i = (*len)++;
        lo[i] = x;
        while (i > 0 && lo[(i - 1) / 2] > lo[i]) {
            float t = lo[i];
            lo[i] = lo[(i - 1) / 2];
            lo[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (x > lo[0]) {
        lo[0] = x;
        for (int i = 0;;) {
            int l = 2 * i + 1, r = l + 1, w = i;
            if (l < k && lo[l] < lo[w]) w = l;
            if (r < k && lo[r] < lo[w]) w = r;
            if (w == i) break;
            float t = lo[i];
            lo[i] = lo[w];
            lo[w] = t;
            i = w;
        }
    }
}

typedef struct {
    uint32_t id;
    float hi;
} half_cand;

int brute_topk_allowed_half(const lh_vhalf *v, const float *matrix, const float *q, int k, const uint64_t *allowed,
                            lh_hit *out) {
    if (!v || !matrix || !q || !allowed || !out || k <= 0) return 0;
    size_t n = v->n;
    float *qp = lh_calloc((size_t)v->stride, sizeof *qp);
    memcpy(qp, q, (size_t)v->dims * sizeof *qp);
    float qn = 0;
    for (int j = 0; j < v->dims; j++) qn += q[j] * q[j];
    qn = sqrtf(qn) * (1 + 1e-6f);
    float *lo = lh_malloc((size_t)k * sizeof *lo);
    int nlo = 0;
    half_cand *c = lh_malloc((n + 1) * sizeof *c);
    size_t nc = 0;
    for (size_t w = 0; w * 64 < n; w++) {
        for (uint64_t bits = allowed[w]; bits; bits &= bits - 1) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
            if (i >= n) break;
            const uint16_t *h = v->h + i * (size_t)v->stride;
            float a = v->avx512 ? half_dot_avx512(qp, h, v->stride) : half_dot_f16c(qp, h, v->stride);
            float e = qn * v->err[i];
            float hi = a + e;
            if (nlo == k && hi < lo[0]) continue; /* can no longer reach the top k */
            lows_offer(lo, &nlo, k, a - e);
            c[nc++] = (half_cand){(uint32_t)i, hi};
        }
    }
    float t = nlo == k ? lo[0] : -INFINITY;
    /* pass 2: the float scan over the rows that may still be in the top k */
    uint64_t *keep = lh_calloc((n + 63) / 64 + 1, sizeof *keep);
    for (size_t j = 0; j < nc; j++)
        if (c[j].hi >= t) keep[c[j].id >> 6] |= 1ull << (c[j].id & 63);
    int got = brute_topk_allowed(matrix, n, v->dims, q, k, keep, 1, out);
    free(keep);
    free(c);
    free(lo);
    free(qp);
    return got;
}
