/*
 * fuzz_hnsw_load.c — libFuzzer target: arbitrary bytes as a saved HNSW
 * graph (hnsw-<generation>.bin) handed to hnsw_load() over a fixed 64 x 8
 * matrix; whatever loads is then searched. Checks that a damaged file is an
 * error, never a crash, a hang or a graph that walks out of bounds.
 *
 * The input's last byte steers the damage so the fuzzer gets past the cheap
 * checks: bit 0 patches n and dims to the matrix's, bit 1 recomputes the
 * checksum (hnsw_io_reseal), which lets mutated bodies reach the graph
 * validation. Built with -DFUZZ_MAKE_SEED it is instead a program that
 * writes a valid seed file (M = 4) to the path given as its argument.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vector/hnsw.h"
#include "vector/hnsw_internal.h"

#define FZ_N 64
#define FZ_DIMS 8

static float g_matrix[FZ_N * FZ_DIMS];
static char g_path[256];

/* Deterministic, roughly normalised rows. */
static void fz_init(void) {
    if (g_path[0]) return;
    uint32_t x = 2463534242u;
    for (int i = 0; i < FZ_N * FZ_DIMS; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        g_matrix[i] = (float)((int)(x % 2001) - 1000) / 2828.0f;
    }
    const char *dir = getenv("TMPDIR");
    snprintf(g_path, sizeof g_path, "%s/fuzz_hnsw_load-%d.bin", dir && *dir ? dir : "/tmp",
             (int)getpid());
}

#ifdef FUZZ_MAKE_SEED
int main(int argc, char **argv) {
    fz_init();
    lh_hnsw_params p = {.M = 4, .ef_construction = 16, .ef_search = 8, .seed = 1};
    lh_err err = {0};
    lh_hnsw *h = hnsw_build(g_matrix, FZ_N, FZ_DIMS, &p, 1, &err);
    if (!h || argc < 2 || hnsw_save(h, argv[1], &err) != 0) return 1;
    hnsw_free(h);
    return 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_init();
    if (size == 0) return 0;
    uint8_t ctl = data[size - 1];
    size--;
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    if ((ctl & 1) && size >= 28) {
        uint64_t n = FZ_N;
        uint32_t d = FZ_DIMS;
        memcpy(buf + 16, &n, 8);
        memcpy(buf + 24, &d, 4);
    }
    if (ctl & 2) hnsw_io_reseal(buf, size);
    FILE *f = fopen(g_path, "wb");
    if (!f) abort();
    if (size) fwrite(buf, 1, size, f);
    fclose(f);
    free(buf);
    lh_err err = {0};
    lh_hnsw *h = hnsw_load(g_path, g_matrix, FZ_N, FZ_DIMS, &err);
    if (h) {
        lh_hit out[10];
        for (int q = 0; q < 4; q++) {
            int got = hnsw_search(h, g_matrix + q * FZ_DIMS, 10, 16, out);
            assert(got >= 0 && got <= 10);
            for (int i = 0; i < got; i++) assert(out[i].id < FZ_N);
        }
        hnsw_free(h);
    } else {
        assert(err.code == LH_E_UNPROCESSABLE || err.code == LH_E_INTERNAL);
    }
    unlink(g_path);
    return 0;
}
#endif
