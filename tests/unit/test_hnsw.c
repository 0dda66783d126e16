/*
 * test_hnsw.c — our HNSW index: recall@10 against brute force on 20K
 * clustered vectors, determinism (same seed → byte-identical files with 1 and
 * 2 threads), save/load round trip, corrupt and truncated files, n = 0 and
 * n = 1, bad arguments, and concurrent searches matching serial ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "vector/brute.h"
#include "vector/hnsw.h"
#include "vector/hnsw_internal.h"

/* ---- data ------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_gauss(uint64_t *s) {
    double u = ((double)(rng_next(s) >> 11) + 0.5) * 0x1.0p-53;
    double v = (double)(rng_next(s) >> 11) * 0x1.0p-53;
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static void normalise(float *v, int d) {
    double s = 0;
    for (int i = 0; i < d; i++) s += (double)v[i] * v[i];
    float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
    for (int i = 0; i < d; i++) v[i] *= inv;
}

/* n rows: a random one of `nc` N(0,1) centroids plus N(0, sigma^2) noise,
 * L2-normalised. The same seed gives the same centroids. */
static float *clustered(size_t n, int d, int nc, double sigma, uint64_t seed, uint64_t pick) {
    uint64_t s = seed;
    float *cent = lh_malloc((size_t)nc * (size_t)d * sizeof *cent);
    for (size_t i = 0; i < (size_t)nc * (size_t)d; i++) cent[i] = (float)rng_gauss(&s);
    float *m = lh_malloc((n ? n : 1) * (size_t)d * sizeof *m);
    uint64_t r = pick;
    for (size_t i = 0; i < n; i++) {
        const float *c = cent + (rng_next(&r) % (uint64_t)nc) * (size_t)d;
        for (int j = 0; j < d; j++) m[i * (size_t)d + j] = c[j] + (float)(sigma * rng_gauss(&r));
        normalise(m + i * (size_t)d, d);
    }
    free(cent);
    return m;
}

static char *tmp_path(const char *name) {
    const char *dir = getenv("TMPDIR");
    return lh_asprintf("%s/test_hnsw-%d-%s", dir && *dir ? dir : "/tmp", (int)getpid(), name);
}

static unsigned char *slurp(const char *path, size_t *len) {
    char *buf = NULL;
    assert_int_equal(lh_read_file(path, &buf, len, NULL), 0);
    return (unsigned char *)buf;
}

static void spit(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}


/* within-cluster noise: at 64 dims, 1.0 makes the neighbours of a query far from obvious */
#define SIGMA 1.0
/* ---- recall ------------------------------------------------------------------- */

static double recall_at_10(const lh_hnsw *h, const float *m, size_t n, int d, const float *qs,
                           int nq, int ef) {
    int found = 0;
    for (int i = 0; i < nq; i++) {
        lh_hit truth[10], got[10];
        int nt = brute_topk(m, n, d, qs + (size_t)i * d, 10, 0, truth);
        int ng = hnsw_search(h, qs + (size_t)i * d, 10, ef, got);
        assert_int_equal(nt, 10);
        assert_int_equal(ng, 10);
        for (int a = 0; a < ng; a++) {
            if (a > 0) assert_true(got[a - 1].score >= got[a].score);
            for (int b = 0; b < nt; b++)
                if (got[a].id == truth[b].id) found++;
        }
    }
    return (double)found / (10.0 * nq);
}

static void test_recall_20k(void **state) {
    (void)state;
    const size_t n = 20000;
    const int d = 64, nq = 200;
    float *m = clustered(n, d, 100, SIGMA, 7, 1001);
    float *qs = clustered((size_t)nq, d, 100, SIGMA, 7, 2002); /* same centroids, new draws */
    lh_err err = {0};
    lh_hnsw_params p = {.M = 16, .ef_construction = 80, .seed = 3};
    double t0 = lh_mono_s();
    lh_hnsw *h = hnsw_build(m, n, d, &p, 0, &err);
    double tb = lh_mono_s() - t0;
    assert_non_null(h);
    assert_int_equal(hnsw_count(h), n);
    assert_int_equal(hnsw_dims(h), d);
    assert_true(hnsw_max_level(h) >= 1);
    double r = recall_at_10(h, m, n, d, qs, nq, 0);
    print_message("# hnsw 20K x 64: build %.2f s, recall@10 %.4f (ef 64), %.4f (ef 16)\n", tb, r,
                  recall_at_10(h, m, n, d, qs, nq, 16));
    assert_true(r >= 0.95);
    /* the graph costs about (1 + 2M) words per node plus the upper levels */
    size_t mem = hnsw_memory_bytes(h);
    assert_true(mem >= n * (1 + 32) * sizeof(uint32_t));
    assert_true(mem < n * (1 + 32) * sizeof(uint32_t) * 2);
    hnsw_free(h);
    free(m);
    free(qs);
}

/* ---- determinism and persistence ------------------------------------------ */

static lh_hnsw *build_or_fail(const float *m, size_t n, int d, uint64_t seed, int threads) {
    lh_err err = {0};
    lh_hnsw_params p = {.M = 8, .ef_construction = 40, .ef_search = 32, .seed = seed};
    lh_hnsw *h = hnsw_build(m, n, d, &p, threads, &err);
    if (!h) fail_msg("hnsw_build: %s", err.msg);
    return h;
}

static void save_or_fail(const lh_hnsw *h, const char *path) {
    lh_err err = {0};
    if (hnsw_save(h, path, &err) != 0) fail_msg("hnsw_save: %s", err.msg);
}

static void test_deterministic_across_threads(void **state) {
    (void)state;
    const size_t n = 6000; /* past the serial prefix: several parallel batches */
    const int d = 24;
    float *m = clustered(n, d, 20, 0.5, 11, 12);
    char *p1 = tmp_path("t1.bin"), *p2 = tmp_path("t2.bin"), *p3 = tmp_path("t3.bin");
    lh_hnsw *a = build_or_fail(m, n, d, 99, 1);
    lh_hnsw *b = build_or_fail(m, n, d, 99, 2);
    lh_hnsw *c = build_or_fail(m, n, d, 99, 5);
    save_or_fail(a, p1);
    save_or_fail(b, p2);
    save_or_fail(c, p3);
    size_t l1, l2, l3;
    unsigned char *f1 = slurp(p1, &l1), *f2 = slurp(p2, &l2), *f3 = slurp(p3, &l3);
    assert_int_equal(l1, l2);
    assert_int_equal(l1, l3);
    assert_memory_equal(f1, f2, l1);
    assert_memory_equal(f1, f3, l1);
    /* another seed gives another graph */
    lh_hnsw *o = build_or_fail(m, n, d, 100, 2);
    save_or_fail(o, p2);
    free(f2);
    f2 = slurp(p2, &l2);
    assert_true(l1 != l2 || memcmp(f1, f2, l1) != 0);
    hnsw_free(a);
    hnsw_free(b);
    hnsw_free(c);
    hnsw_free(o);
    free(f1);
    free(f2);
    free(f3);
    unlink(p1);
    unlink(p2);
    unlink(p3);
    free(p1);
    free(p2);
    free(p3);
    free(m);
}

static void test_round_trip(void **state) {
    (void)state;
    const size_t n = 3000;
    const int d = 32, nq = 50;
    float *m = clustered(n, d, 10, 0.5, 21, 22);
    float *qs = clustered((size_t)nq, d, 10, 0.5, 21, 23);
    char *path = tmp_path("rt.bin"), *path2 = tmp_path("rt2.bin");
    lh_hnsw *h = build_or_fail(m, n, d, 5, 0);
    save_or_fail(h, path);
    lh_err err = {0};
    lh_hnsw *g = hnsw_load(path, m, n, d, &err);
    if (!g) fail_msg("hnsw_load: %s", err.msg);
    assert_int_equal(hnsw_max_level(g), hnsw_max_level(h));
    lh_hnsw_params ph = hnsw_params(h), pg = hnsw_params(g);
    assert_int_equal(ph.M, pg.M);
    assert_int_equal(ph.ef_construction, pg.ef_construction);
    assert_int_equal(ph.ef_search, pg.ef_search);
    assert_int_equal(ph.seed, pg.seed);
    for (int i = 0; i < nq; i++) {
        lh_hit a[10], b[10];
        int na = hnsw_search(h, qs + (size_t)i * d, 10, 0, a);
        int nb = hnsw_search(g, qs + (size_t)i * d, 10, 0, b);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, (size_t)na * sizeof *a);
    }
    /* saving the loaded graph reproduces the file byte for byte */
    save_or_fail(g, path2);
    size_t l1, l2;
    unsigned char *f1 = slurp(path, &l1), *f2 = slurp(path2, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(f1, f2, l1);
    hnsw_free(h);
    hnsw_free(g);
    free(f1);
    free(f2);
    unlink(path);
    unlink(path2);
    free(path);
    free(path2);
    free(m);
    free(qs);
}

/* ---- corrupt files ------------------------------------------------------------ */

static void expect_load_error(const char *path, const float *m, size_t n, int d,
                              lh_errcode code) {
    lh_err err = {0};
    lh_hnsw *h = hnsw_load(path, m, n, d, &err);
    if (h) fail_msg("hnsw_load accepted a bad file");
    assert_int_equal(err.code, code);
}

static void test_corrupt_files(void **state) {
    (void)state;
    const size_t n = 1500;
    const int d = 16;
    float *m = clustered(n, d, 5, 0.5, 31, 32);
    char *path = tmp_path("c.bin"), *bad = tmp_path("bad.bin");
    lh_hnsw *h = build_or_fail(m, n, d, 7, 2);
    save_or_fail(h, path);
    size_t len;
    unsigned char *good = slurp(path, &len);
    unsigned char *buf = lh_malloc(len);
    expect_load_error(bad, m, n, d, LH_E_NOT_FOUND);
    /* wrong data shape */
    expect_load_error(path, m, n - 1, d, LH_E_UNPROCESSABLE);
    expect_load_error(path, m, n, d + 1, LH_E_UNPROCESSABLE);
    /* truncated anywhere, and one byte too long */
    size_t cuts[] = {0, 1, 7, 100, 159, 160, 161, 1000, len / 2, len - 4, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        spit(bad, good, cuts[i]);
        expect_load_error(bad, m, n, d, LH_E_UNPROCESSABLE);
    }
    memcpy(buf, good, len);
    spit(bad, buf, len);
    FILE *f = fopen(bad, "ab");
    fputc(0, f);
    fclose(f);
    expect_load_error(bad, m, n, d, LH_E_UNPROCESSABLE);
    /* single flipped bytes in the header and the body fail the checksum */
    size_t flips[] = {0, 9, 17, 29, 41, 49, 53, 73, 140, 160, 170, 2000, len - 1};
    for (size_t i = 0; i < sizeof flips / sizeof *flips; i++) {
        memcpy(buf, good, len);
        buf[flips[i]] ^= 0x40;
        spit(bad, buf, len);
        expect_load_error(bad, m, n, d, LH_E_UNPROCESSABLE);
    }
    /* a valid checksum over a damaged graph: the validator catches it */
    size_t lv = (n + 3) & ~(size_t)3, row0 = 160 + lv;
    uint32_t evil[] = {UINT32_MAX, (uint32_t)n, 0};
    for (size_t i = 0; i < sizeof evil / sizeof *evil; i++) {
        memcpy(buf, good, len);
        uint32_t cnt = 1;
        memcpy(buf + row0, &cnt, 4);              /* node 0: one neighbour ... */
        memcpy(buf + row0 + 4, &evil[i], 4);      /* ... out of range, or itself */
        assert_int_equal(hnsw_io_reseal(buf, len), 0);
        spit(bad, buf, len);
        expect_load_error(bad, m, n, d, LH_E_UNPROCESSABLE);
    }
    memcpy(buf, good, len);
    uint32_t huge = 1000;
    memcpy(buf + row0, &huge, 4); /* count past capacity */
    hnsw_io_reseal(buf, len);
    spit(bad, buf, len);
    expect_load_error(bad, m, n, d, LH_E_UNPROCESSABLE);
    memcpy(buf, good, len);
    buf[160] = 40; /* a level above the maximum (sizes then disagree too) */
    hnsw_io_reseal(buf, len);
    spit(bad, buf, len);
    expect_load_error(bad, m, n, d, LH_E_UNPROCESSABLE);
    /* the untouched file still loads */
    spit(bad, good, len);
    lh_err err = {0};
    lh_hnsw *g = hnsw_load(bad, m, n, d, &err);
    assert_non_null(g);
    hnsw_free(g);
    hnsw_free(h);
    unlink(path);
    unlink(bad);
    free(path);
    free(bad);
    free(good);
    free(buf);
    free(m);
}

/* ---- edge cases ------------------------------------------------------------------ */

static void test_tiny_indexes(void **state) {
    (void)state;
    lh_err err = {0};
    char *path = tmp_path("tiny.bin");
    float q[4] = {1, 0, 0, 0};
    lh_hit out[5];
    /* n = 0: builds, finds nothing, survives a round trip */
    lh_hnsw *h = hnsw_build(NULL, 0, 4, NULL, 0, &err);
    assert_non_null(h);
    assert_int_equal(hnsw_count(h), 0);
    assert_int_equal(hnsw_search(h, q, 5, 0, out), 0);
    save_or_fail(h, path);
    hnsw_free(h);
    h = hnsw_load(path, NULL, 0, 4, &err);
    assert_non_null(h);
    assert_int_equal(hnsw_search(h, q, 5, 0, out), 0);
    hnsw_free(h);
    /* n = 1 */
    float one[4] = {0, 1, 0, 0};
    h = hnsw_build(one, 1, 4, NULL, 2, &err);
    assert_non_null(h);
    assert_int_equal(hnsw_search(h, q, 5, 0, out), 1);
    assert_int_equal(out[0].id, 0);
    save_or_fail(h, path);
    hnsw_free(h);
    h = hnsw_load(path, one, 1, 4, &err);
    assert_non_null(h);
    assert_int_equal(hnsw_search(h, one, 5, 0, out), 1);
    assert_true(fabsf(out[0].score - 1.0f) < 1e-6f);
    hnsw_free(h);
    /* n = 3 with k > n: every row, best first */
    float three[12] = {1, 0, 0, 0, 0, 1, 0, 0, 0.6f, 0.8f, 0, 0};
    h = hnsw_build(three, 3, 4, NULL, 0, &err);
    assert_int_equal(hnsw_search(h, q, 5, 1, out), 3);
    assert_int_equal(out[0].id, 0);
    assert_int_equal(out[1].id, 2);
    assert_int_equal(out[2].id, 1);
    assert_int_equal(hnsw_search(h, q, 0, 0, out), 0);
    hnsw_free(h);
    unlink(path);
    free(path);
}

static void test_bad_arguments(void **state) {
    (void)state;
    lh_err err = {0};
    float v[8] = {1, 0, 0, 0, 0, 1, 0, 0};
    assert_null(hnsw_build(v, 2, 0, NULL, 0, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_null(hnsw_build(NULL, 2, 4, NULL, 0, &err));
    lh_hnsw_params p = {.M = 1};
    assert_null(hnsw_build(v, 2, 4, &p, 0, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    p = (lh_hnsw_params){.M = LH_HNSW_MAX_M + 1};
    assert_null(hnsw_build(v, 2, 4, &p, 0, &err));
    p = (lh_hnsw_params){.ef_construction = -3};
    assert_null(hnsw_build(v, 2, 4, &p, 0, &err));
    /* defaults fill zero fields */
    lh_hnsw *h = hnsw_build(v, 2, 4, NULL, 1, &err);
    lh_hnsw_params r = hnsw_params(h);
    assert_int_equal(r.M, LH_HNSW_DEFAULT_M);
    assert_int_equal(r.ef_construction, LH_HNSW_DEFAULT_EF_CONSTRUCTION);
    assert_int_equal(r.ef_search, LH_HNSW_DEFAULT_EF_SEARCH);
    assert_int_equal(r.seed, LH_HNSW_DEFAULT_SEED);
    assert_int_equal(hnsw_save(h, "/nonexistent-dir/x/hnsw-1.bin", &err), -1);
    assert_int_equal(err.code, LH_E_INTERNAL);
    assert_null(hnsw_load(NULL, v, 2, 4, &err));
    hnsw_free(h);
    hnsw_free(NULL);
}

/* ---- concurrency ------------------------------------------------------------------ */

typedef struct {
    const lh_hnsw *h;
    const float *qs;
    int nq, d;
    lh_hit *out; /* nq x 10 */
} search_job;

static void *search_all(void *arg) {
    search_job *j = arg;
    for (int i = 0; i < j->nq; i++)
        hnsw_search(j->h, j->qs + (size_t)i * j->d, 10, 48, j->out + (size_t)i * 10);
    return NULL;
}

static void test_concurrent_search(void **state) {
    (void)state;
    const size_t n = 4000;
    const int d = 32, nq = 300, nt = 4;
    float *m = clustered(n, d, 10, 0.5, 41, 42);
    float *qs = clustered((size_t)nq, d, 10, 0.5, 41, 43);
    lh_hnsw *h = build_or_fail(m, n, d, 9, 0);
    lh_hit *serial = lh_calloc((size_t)nq * 10, sizeof *serial);
    search_job sj = {h, qs, nq, d, serial};
    search_all(&sj);
    pthread_t tid[4];
    search_job jobs[4];
    for (int t = 0; t < nt; t++) {
        jobs[t] = (search_job){h, qs, nq, d, lh_calloc((size_t)nq * 10, sizeof(lh_hit))};
        assert_int_equal(pthread_create(&tid[t], NULL, search_all, &jobs[t]), 0);
    }
    for (int t = 0; t < nt; t++) {
        pthread_join(tid[t], NULL);
        assert_memory_equal(jobs[t].out, serial, (size_t)nq * 10 * sizeof *serial);
        free(jobs[t].out);
    }
    hnsw_free(h);
    free(serial);
    free(m);
    free(qs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recall_20k),
        cmocka_unit_test(test_deterministic_across_threads),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_corrupt_files),
        cmocka_unit_test(test_tiny_indexes),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_concurrent_search),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
