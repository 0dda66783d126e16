/*
 * dv.h — internal to the table module: Delta deletion vectors.
 *
 * A deletion vector (DV) marks rows of one data file as deleted. Its
 * descriptor (the add action's "deletionVector") says where the bitmap is:
 * inline in the log ('i', Z85 text), in a file beside the data named by a
 * Z85-encoded UUID ('u'), or at an absolute path ('p'). The bitmap is a
 * RoaringBitmapArray (magic 1681511377, 64-bit row indexes as 32-bit keys
 * over portable 32-bit Roaring bitmaps). dv_load checks sizes, the file's
 * CRC-32 and the cardinality, and returns the deleted row indexes as sorted,
 * disjoint, inclusive ranges — the shape the reader's SQL filter wants.
 */
#ifndef LH_TABLE_DV_H
#define LH_TABLE_DV_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/strbuf.h"
#include "storage/storage.h"

typedef struct {
    int64_t *lo, *hi;   /* owned; range i is lo[i]..hi[i], sorted, disjoint, not adjacent */
    size_t n;
    int64_t cardinality; /* rows deleted */
} dv_ranges;

void dv_ranges_free(dv_ranges *r);
/* Decodes Z85 text (length a multiple of 5) into len*4/5 bytes at out. -1 on a
 * character outside the alphabet or a bad length. */
int dv_z85_decode(const char *in, size_t len, uint8_t *out);
/* CRC-32 (IEEE, as java.util.zip.CRC32) of a DV's bitmap bytes. */
uint32_t dv_crc32(const uint8_t *p, size_t n);
/* Appends the RoaringBitmapArray of the sorted, distinct row indexes
 * rows[0..n) to b (portable 32-bit Roaring bitmaps without run containers;
 * the writer's side, in table_dv_write.c). */
void dv_bitmap_serialize(lh_strbuf *b, const int64_t *rows, size_t n);
/* Parses a serialized RoaringBitmapArray into ranges. */
int dv_bitmap_parse(const uint8_t *buf, size_t len, dv_ranges *out, lh_err *err);
/* "<storageType><pathOrInlineDv>[@<offset>]": the DV's identity in the log
 * (a file is keyed by path + this). Caller frees; NULL for a non-object. */
char *dv_unique_id(json_t *descriptor);
/* Loads the DV `descriptor` (borrowed) of a file of the table at `prefix`
 * in st. LH_E_UNPROCESSABLE naming the problem for a malformed descriptor,
 * a missing or corrupt file, a checksum or cardinality mismatch. */
int dv_load(lh_storage *st, const char *prefix, json_t *descriptor, dv_ranges *out, lh_err *err);

#endif
