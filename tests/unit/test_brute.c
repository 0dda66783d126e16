/*
 * test_brute.c — the dot-product kernels (AVX2 and portable agree with a
 * double-precision reference at every length, including ragged tails) and
 * brute_topk (exact against a full sort, the same for any thread count,
 * ties ranked by id, k > n, empty inputs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "vector/brute.h"

static uint64_t rng_state = 12345;

static float rnd_unit(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)((double)(z >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

static float *rnd_matrix(size_t n, int d) {
    float *m = lh_malloc((n ? n : 1) * (size_t)d * sizeof *m);
    for (size_t i = 0; i < n * (size_t)d; i++) m[i] = rnd_unit();
    return m;
}

static double ref_dot(const float *a, const float *b, int d) {
    double s = 0;
    for (int i = 0; i < d; i++) s += (double)a[i] * b[i];
    return s;
}

static void test_kernels_agree(void **state) {
    (void)state;
    int lens[] = {1, 2, 7, 8, 9, 15, 16, 31, 32, 33, 63, 64, 100, 384, 767, 768, 1536};
    float *a = rnd_matrix(1, 1536), *b = rnd_matrix(1, 1536);
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        int d = lens[i];
        double want = ref_dot(a, b, d);
        double tol = 1e-5 * sqrt((double)d) + 1e-6;
        assert_true(fabs(vec_dot_portable(a, b, d) - want) < tol);
        assert_true(fabs(vec_dot(a, b, d) - want) < tol);
        assert_true(fabs(vec_dot_kernel()(a, b, d) - want) < tol);
        if (vec_has_avx2()) assert_true(fabs(vec_dot_avx2(a, b, d) - want) < tol);
        if (vec_has_avx512()) assert_true(fabs(vec_dot_avx512(a, b, d) - want) < tol);
    }
    /* unaligned operands */
    if (vec_has_avx2()) assert_true(fabs(vec_dot_avx2(a + 1, b + 3, 700) - ref_dot(a + 1, b + 3, 700)) < 1e-3);
    if (vec_has_avx512())
        assert_true(fabs(vec_dot_avx512(a + 1, b + 3, 701) - ref_dot(a + 1, b + 3, 701)) < 1e-3);
    const char *k = vec_kernel_name();
    if (vec_has_avx512() && !getenv("LH_VEC_KERNEL")) assert_string_equal(k, "avx512");
    else if (vec_has_avx2() && !getenv("LH_VEC_KERNEL")) assert_string_equal(k, "avx2");
    else assert_true(strcmp(k, "avx2") == 0 || strcmp(k, "portable") == 0);
    if (!vec_has_avx2()) assert_string_equal(k, "portable");
    free(a);
    free(b);
}

/* Reference: every row's score through the same kernel, fully sorted. */
static int hit_cmp(const void *x, const void *y) {
    lh_hit a = *(const lh_hit *)x, b = *(const lh_hit *)y;
    return lh_hit_before(a, b) ? -1 : lh_hit_before(b, a) ? 1 : 0;
}

static void check_topk(const float *m, size_t n, int d, const float *q, int k) {
    lh_hit *all = lh_malloc((n ? n : 1) * sizeof *all);
    for (size_t i = 0; i < n; i++) all[i] = (lh_hit){(uint32_t)i, vec_dot(q, m + i * (size_t)d, d)};
    qsort(all, n, sizeof *all, hit_cmp);
    int want = (size_t)k < n ? k : (int)n;
    lh_hit *got = lh_malloc((size_t)(k > 0 ? k : 1) * sizeof *got);
    int threads[] = {1, 2, 3, 7, 0};
    for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
        int g = brute_topk(m, n, d, q, k, threads[t], got);
        assert_int_equal(g, want);
        for (int i = 0; i < g; i++) {
            assert_int_equal(got[i].id, all[i].id);
            assert_true(got[i].score == all[i].score);
        }
    }
    free(all);
    free(got);
}

static void test_topk_exact_any_threads(void **state) {
    (void)state;
    const size_t n = 50000;
    const int d = 48;
    float *m = rnd_matrix(n, d), *q = rnd_matrix(1, d);
    check_topk(m, n, d, q, 1);
    check_topk(m, n, d, q, 10);
    check_topk(m, n, d, q, 100);
    check_topk(m, 5, d, q, 10); /* k > n */
    check_topk(m, 1, d, q, 3);
    free(m);
    free(q);
}

/* The allowed-row scan: the exact top k among allowed rows, with any worker count. */
static void test_topk_allowed_any_threads(void **state) {
    (void)state;
    const size_t n = 50003; /* not a multiple of 64: the last word is partial */
    const int d = 48;
    float *m = rnd_matrix(n, d), *q = rnd_matrix(1, d);
    uint64_t *allowed = lh_calloc((n + 63) / 64 + 1, sizeof *allowed);
    size_t na = 0;
    for (size_t i = 0; i < n; i++)
        if (i % 7 == 2 || i == n - 1) {
            allowed[i >> 6] |= (uint64_t)1 << (i & 63);
            na++;
        }
    lh_hit *all = lh_malloc(na * sizeof *all), got[100];
    for (size_t i = 0, j = 0; i < n; i++)
        if (allowed[i >> 6] >> (i & 63) & 1) all[j++] = (lh_hit){(uint32_t)i, vec_dot(q, m + i * (size_t)d, d)};
    qsort(all, na, sizeof *all, hit_cmp);
    int threads[] = {1, 2, 3, 0};
    for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
        assert_int_equal(brute_topk_allowed(m, n, d, q, 100, allowed, threads[t], got), 100);
        for (int i = 0; i < 100; i++) assert_int_equal(got[i].id, all[i].id);
    }
    /* the last row alone */
    memset(allowed, 0, ((n + 63) / 64 + 1) * sizeof *allowed);
    allowed[(n - 1) >> 6] |= (uint64_t)1 << ((n - 1) & 63);
    assert_int_equal(brute_topk_allowed(m, n, d, q, 10, allowed, 2, got), 1);
    assert_int_equal(got[0].id, n - 1);
    free(all);
    free(allowed);
    free(m);
    free(q);
}

/* The fp16 two-pass scan returns the float scan's answer bit for bit: rows,
 * scores and order, with exact ties (duplicated rows), a query equal to a row,
 * dims that are no multiple of 16, k from 1 to past the allowed count. */
static void test_topk_allowed_half_is_exact(void **state) {
    (void)state;
    const size_t n = 3001;
    const int dims[] = {50, 384};
    for (int di = 0; di < 2; di++) {
        int d = dims[di];
        float *m = rnd_matrix(n, d);
        for (size_t i = 0; i < 300; i++) memcpy(m + (i + 1000) * (size_t)d, m + i * (size_t)d, (size_t)d * sizeof *m);
        lh_vhalf *h = vhalf_new(m, n, d);
        if (!h) { /* no F16C: nothing to compare (the float scan is used) */
            free(m);
            skip();
        }
        assert_true(vhalf_memory_bytes(h) >= n * (size_t)d * 2);
        uint64_t *allowed = lh_calloc((n + 63) / 64 + 1, sizeof *allowed);
        for (size_t i = 0; i < n; i++)
            if (i % 10 != 3) allowed[i >> 6] |= (uint64_t)1 << (i & 63);
        int ks[] = {1, 10, 50, 3000};
        lh_hit *want = lh_malloc(3000 * sizeof *want), *got = lh_malloc(3000 * sizeof *got);
        for (int t = 0; t < 40; t++) {
            float *q = t % 4 == 0 ? rnd_matrix(1, d) : NULL;
            const float *qq = q ? q : m + (size_t)(t * 97 % 1300) * (size_t)d; /* a row (often a duplicated one) */
            int k = ks[t % 4];
            int nw = brute_topk_allowed(m, n, d, qq, k, allowed, 1, want);
            assert_int_equal(brute_topk_allowed_half(h, m, qq, k, allowed, got), nw);
            assert_memory_equal(got, want, (size_t)nw * sizeof *got);
            free(q);
        }
        free(want);
        free(got);
        free(allowed);
        vhalf_free(h);
        free(m);
    }
}

static void test_topk_ties_by_id(void **state) {
    (void)state;
    /* 3000 copies of one of three rows: scores tie in large groups */
    const size_t n = 3000;
    const int d = 16;
    float *base = rnd_matrix(3, d), *m = lh_malloc(n * (size_t)d * sizeof *m), *q = rnd_matrix(1, d);
    for (size_t i = 0; i < n; i++) memcpy(m + i * d, base + (i % 3) * d, (size_t)d * sizeof *m);
    check_topk(m, n, d, q, 25);
    lh_hit out[25];
    brute_topk(m, n, d, q, 25, 4, out);
    for (int i = 1; i < 25; i++)
        if (out[i].score == out[i - 1].score) assert_true(out[i].id > out[i - 1].id);
    free(base);
    free(m);
    free(q);
}

static void test_topk_empty_inputs(void **state) {
    (void)state;
    float v[4] = {1, 0, 0, 0};
    lh_hit out[2];
    assert_int_equal(brute_topk(v, 0, 4, v, 2, 0, out), 0);
    assert_int_equal(brute_topk(v, 1, 4, v, 0, 0, out), 0);
    assert_int_equal(brute_topk(v, 1, 4, v, -1, 0, out), 0);
    assert_int_equal(brute_topk(NULL, 1, 4, v, 2, 0, out), 0);
    assert_int_equal(brute_topk(v, 1, 0, v, 2, 0, out), 0);
    assert_int_equal(brute_topk(v, 1, 4, v, 2, 0, out), 1);
    assert_int_equal(out[0].id, 0);
    assert_true(out[0].score == 1.0f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels_agree),
        cmocka_unit_test(test_topk_exact_any_threads),
        cmocka_unit_test(test_topk_allowed_any_threads),
        cmocka_unit_test(test_topk_allowed_half_is_exact),
        cmocka_unit_test(test_topk_ties_by_id),
        cmocka_unit_test(test_topk_empty_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
