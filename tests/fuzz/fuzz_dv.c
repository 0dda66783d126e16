/*
 * fuzz_dv.c — libFuzzer target: arbitrary bytes as a serialized
 * RoaringBitmapArray (a deletion vector) and as Z85 text. Checks memory
 * safety and that an accepted bitmap yields sorted, disjoint, non-adjacent
 * ranges whose sizes add up to the cardinality.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "table/dv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dv_ranges r;
    lh_err err;
    if (dv_bitmap_parse(data, size, &r, &err) == 0) {
        int64_t card = 0;
        for (size_t i = 0; i < r.n; i++) {
            assert(r.lo[i] <= r.hi[i]);
            assert(i == 0 || r.lo[i] > r.hi[i - 1] + 1);
            card += r.hi[i] - r.lo[i] + 1;
        }
        assert(card == r.cardinality);
        dv_ranges_free(&r);
    }
    uint8_t *out = malloc(size / 5 * 4 + 1);
    dv_z85_decode((const char *)data, size - size % 5, out);
    free(out);
    return 0;
}
