/*
 * dv.c — Delta deletion vectors: Z85, the RoaringBitmapArray format
 * (portable Roaring serialization: array, bitmap and run containers), the
 * three storage types and the checks the protocol asks for (size, CRC-32,
 * cardinality). Our own parser: the format is small and CRoaring's portable
 * reader would still leave the 64-bit array framing and the checks to us.
 */
#include "table/dv.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "table/delta_log.h"

#define DV_MAGIC 1681511377u
#define COOKIE_NO_RUN 12346u
#define COOKIE_RUN 12347u
#define NO_OFFSET_THRESHOLD 4u
#define DV_MAX_BYTES (256u * 1024 * 1024) /* a DV larger than this is refused, not read */

void dv_ranges_free(dv_ranges *r) {
    free(r->lo);
    free(r->hi);
    memset(r, 0, sizeof *r);
}

/* ---- Z85 ------------------------------------------------------------------ */

static const char Z85_CHARS[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

int dv_z85_decode(const char *in, size_t len, uint8_t *out) {
    if (len % 5) return -1;
    for (size_t i = 0; i < len; i += 5) {
        uint64_t v = 0;
        for (size_t k = 0; k < 5; k++) {
            const char *p = in[i + k] ? strchr(Z85_CHARS, in[i + k]) : NULL;
            if (!p) return -1;
            v = v * 85 + (uint64_t)(p - Z85_CHARS);
        }
        if (v > 0xFFFFFFFFu) return -1;
        size_t o = i / 5 * 4;
        out[o] = (uint8_t)(v >> 24);
        out[o + 1] = (uint8_t)(v >> 16);
        out[o + 2] = (uint8_t)(v >> 8);
        out[o + 3] = (uint8_t)v;
    }
    return 0;
}

/* ---- CRC-32 (IEEE, as java.util.zip.CRC32) ---------------------------------- */

uint32_t dv_crc32(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* ---- RoaringBitmapArray ----------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t len, pos;
} reader;

static int rd_need(reader *r, size_t n) { return r->len - r->pos >= n; }
static uint16_t rd_u16(reader *r) {
    uint16_t v = (uint16_t)(r->p[r->pos] | r->p[r->pos + 1] << 8);
    r->pos += 2;
    return v;
}
static uint32_t rd_u32(reader *r) {
    uint32_t v = (uint32_t)r->p[r->pos] | (uint32_t)r->p[r->pos + 1] << 8 | (uint32_t)r->p[r->pos + 2] << 16 |
                 (uint32_t)r->p[r->pos + 3] << 24;
    r->pos += 4;
    return v;
}

/* Appends lo..hi (ascending input only) to out, merging adjacent ranges. */
static int ranges_push(dv_ranges *out, size_t *cap, int64_t lo, int64_t hi) {
    if (out->n && lo <= out->hi[out->n - 1]) return -1; /* not ascending: malformed */
    out->cardinality += hi - lo + 1;
    if (out->n && lo == out->hi[out->n - 1] + 1) {
        out->hi[out->n - 1] = hi;
        return 0;
    }
    if (out->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        out->lo = lh_realloc(out->lo, *cap * sizeof *out->lo);
        out->hi = lh_realloc(out->hi, *cap * sizeof *out->hi);
    }
    out->lo[out->n] = lo;
    out->hi[out->n++] = hi;
    return 0;
}

/* One container of `card` values with high bits `base` (key << 16). */
static int parse_container(reader *r, int is_run, uint32_t card, int64_t base, dv_ranges *out, size_t *cap) {
    if (is_run) {
        if (!rd_need(r, 2)) return -1;
        uint16_t nruns = rd_u16(r);
        if (!rd_need(r, (size_t)nruns * 4)) return -1;
        uint32_t seen = 0;
        for (uint16_t i = 0; i < nruns; i++) {
            uint32_t start = rd_u16(r), lenm1 = rd_u16(r);
            if (start + lenm1 > 0xFFFF || ranges_push(out, cap, base + start, base + start + lenm1) != 0) return -1;
            seen += lenm1 + 1;
        }
        return seen == card ? 0 : -1;
    }
    if (card <= 4096) {
        if (!rd_need(r, (size_t)card * 2)) return -1;
        for (uint32_t i = 0; i < card; i++) {
            int64_t v = base + rd_u16(r);
            if (ranges_push(out, cap, v, v) != 0) return -1;
        }
        return 0;
    }
    if (!rd_need(r, 8192)) return -1;
    uint32_t seen = 0;
    for (uint32_t bit = 0; bit < 65536; bit++) {
        if (!(r->p[r->pos + bit / 8] >> (bit % 8) & 1)) continue;
        uint32_t end = bit;
        while (end + 1 < 65536 && (r->p[r->pos + (end + 1) / 8] >> ((end + 1) % 8) & 1)) end++;
        if (ranges_push(out, cap, base + bit, base + end) != 0) return -1;
        seen += end - bit + 1;
        bit = end;
    }
    r->pos += 8192;
    return seen == card ? 0 : -1;
}

/* One portable 32-bit Roaring bitmap whose values get `high` << 32. */
static int parse_roaring32(reader *r, int64_t high, dv_ranges *out, size_t *cap) {
    if (!rd_need(r, 4)) return -1;
    uint32_t cookie = rd_u32(r), n;
    const uint8_t *runs = NULL;
    int has_offsets;
    if ((cookie & 0xFFFF) == COOKIE_RUN) {
        n = (cookie >> 16) + 1;
        if (!rd_need(r, (n + 7) / 8)) return -1;
        runs = r->p + r->pos;
        r->pos += (n + 7) / 8;
        has_offsets = n >= NO_OFFSET_THRESHOLD;
    } else if (cookie == COOKIE_NO_RUN) {
        if (!rd_need(r, 4)) return -1;
        n = rd_u32(r);
        has_offsets = 1;
    } else {
        return -1;
    }
    if (n > 65536 || !rd_need(r, (size_t)n * 4)) return -1;
    const uint8_t *header = r->p + r->pos;
    r->pos += (size_t)n * 4;
    if (has_offsets) {
        if (!rd_need(r, (size_t)n * 4)) return -1;
        r->pos += (size_t)n * 4; /* containers are read in order: offsets not needed */
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t key = (uint32_t)(header[i * 4] | header[i * 4 + 1] << 8);
        uint32_t card = (uint32_t)(header[i * 4 + 2] | header[i * 4 + 3] << 8) + 1;
        int is_run = runs && (runs[i / 8] >> (i % 8) & 1);
        if (parse_container(r, is_run, card, high << 32 | (int64_t)key << 16, out, cap) != 0) return -1;
    }
    return 0;
}

int dv_bitmap_parse(const uint8_t *buf, size_t len, dv_ranges *out, lh_err *err) {
    memset(out, 0, sizeof *out);
    reader r = {buf, len, 0};
    size_t cap = 0;
    if (!rd_need(&r, 12) || rd_u32(&r) != DV_MAGIC)
        return lh_err_set(err, LH_E_UNPROCESSABLE, "deletion vector: not a RoaringBitmapArray (bad magic)");
    uint64_t nbitmaps = rd_u32(&r);
    nbitmaps |= (uint64_t)rd_u32(&r) << 32;
    int64_t last_key = -1;
    for (uint64_t b = 0; b < nbitmaps; b++) {
        uint32_t key = rd_need(&r, 4) ? rd_u32(&r) : UINT32_MAX;
        if (key > 0x7FFFFFFFu || (int64_t)key <= last_key || parse_roaring32(&r, key, out, &cap) != 0) {
            dv_ranges_free(out);
            return lh_err_set(err, LH_E_UNPROCESSABLE, "deletion vector: malformed bitmap %" PRIu64, b);
        }
        last_key = key;
    }
    if (r.pos != r.len) {
        dv_ranges_free(out);
        return lh_err_set(err, LH_E_UNPROCESSABLE, "deletion vector: trailing bytes after the bitmaps");
    }
    return 0;
}

/* ---- descriptors -------------------------------------------------------------- */

char *dv_unique_id(json_t *d) {
    if (!json_is_object(d)) return NULL;
    const char *type = json_string_value(json_object_get(d, "storageType"));
    const char *p = json_string_value(json_object_get(d, "pathOrInlineDv"));
    json_t *off = json_object_get(d, "offset");
    if (json_is_integer(off))
        return lh_asprintf("%s%s@%" PRId64, type ? type : "?", p ? p : "", (int64_t)json_integer_value(off));
    return lh_asprintf("%s%s", type ? type : "?", p ? p : "");
}

/* Key of a 'u' DV's file: <prefix>/[<random prefix>/]deletion_vector_<uuid>.bin. */
static char *uuid_file_key(const char *prefix, const char *text, lh_err *err) {
    size_t n = strlen(text);
    uint8_t u[16];
    if (n < 20 || dv_z85_decode(text + n - 20, 20, u) != 0) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "deletion vector: '%s' does not end in a Z85 UUID", text);
        return NULL;
    }
    char hex[37];
    static const char *const digits = "0123456789abcdef";
    for (int i = 0, o = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) hex[o++] = '-';
        hex[o++] = digits[u[i] >> 4];
        hex[o++] = digits[u[i] & 15];
    }
    hex[36] = '\0';
    char *key = n > 20 ? lh_asprintf("%s/%.*s/deletion_vector_%s.bin", prefix, (int)(n - 20), text, hex)
                       : lh_asprintf("%s/deletion_vector_%s.bin", prefix, hex);
    if (storage_key_validate(key, err) != 0) {
        free(key);
        return NULL;
    }
    return key;
}

/* Key of a 'p' DV's file: its absolute path must lie inside the table. */
static char *absolute_file_key(lh_storage *st, const char *prefix, const char *text, lh_err *err) {
    const char *p = text;
    if (!strncmp(p, "file://", 7)) p += 7;
    else if (!strncmp(p, "file:", 5)) p += 5;
    char *path = delta_path_decode(p);
    char *table_dir = lh_asprintf("%s/%s/", storage_root(st), prefix);
    char *key = NULL;
    if (path && !strncmp(path, table_dir, strlen(table_dir)) && !strstr(path, "/../"))
        key = lh_asprintf("%s/%s", prefix, path + strlen(table_dir));
    if (!key || storage_key_validate(key, NULL) != 0) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "deletion vector path '%s' is not inside the table", text);
        free(key);
        key = NULL;
    }
    free(path);
    free(table_dir);
    return key;
}

/* Reads a DV stored in a file (format version byte 1 first) at offset: BE
 * size, the bitmap, BE CRC-32. */
static uint8_t *read_dv_file(lh_storage *st, const char *key, int64_t offset, int64_t size, lh_err *err) {
    int fd;
    int64_t fsize;
    if (storage_open_read(st, key, &fd, &fsize, err) != 0) {
        lh_err_prefix(err, "deletion vector file %s", key);
        return NULL;
    }
    uint8_t *buf = NULL, head[4], tail[4], version = 0;
    const char *why = NULL;
    if (offset < 1 || offset + 8 + size > fsize) why = "offset and size run past the end of the file";
    else if (pread(fd, &version, 1, 0) != 1 || version != 1) why = "not a version 1 deletion vector file";
    else if (pread(fd, head, 4, offset) != 4) why = "short read";
    else if (((uint32_t)head[0] << 24 | head[1] << 16 | head[2] << 8 | head[3]) != (uint32_t)size) why = "stored size differs from sizeInBytes";
    else {
        buf = lh_malloc((size_t)size);
        if (pread(fd, buf, (size_t)size, offset + 4) != size || pread(fd, tail, 4, offset + 4 + size) != 4) why = "short read";
        else if (((uint32_t)tail[0] << 24 | (uint32_t)tail[1] << 16 | (uint32_t)tail[2] << 8 | tail[3]) != dv_crc32(buf, (size_t)size))
            why = "checksum mismatch";
    }
    close(fd);
    if (why) {
        free(buf);
        lh_err_set(err, LH_E_UNPROCESSABLE, "deletion vector file %s at offset %" PRId64 ": %s", key, offset, why);
        return NULL;
    }
    return buf;
}

/* Inline DV: Z85 text of the bitmap (padded to 4 bytes), sizeInBytes long. */
static uint8_t *read_dv_inline(const char *text, int64_t size, lh_err *err) {
    size_t n = strlen(text);
    if (n % 5 || (int64_t)(n / 5 * 4) < size || (int64_t)(n / 5 * 4) >= size + 4) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "inline deletion vector: %zu characters for %" PRId64 " bytes", n, size);
        return NULL;
    }
    uint8_t *buf = lh_malloc(n / 5 * 4 + 1);
    if (dv_z85_decode(text, n, buf) != 0) {
        free(buf);
        lh_err_set(err, LH_E_UNPROCESSABLE, "inline deletion vector is not Z85 text");
        return NULL;
    }
    return buf;
}

int dv_load(lh_storage *st, const char *prefix, json_t *d, dv_ranges *out, lh_err *err) {
    memset(out, 0, sizeof *out);
    const char *type = json_string_value(json_object_get(d, "storageType"));
    const char *text = json_string_value(json_object_get(d, "pathOrInlineDv"));
    json_t *jsize = json_object_get(d, "sizeInBytes"), *jcard = json_object_get(d, "cardinality");
    int64_t size = json_integer_value(jsize), card = json_integer_value(jcard);
    int64_t offset = json_is_integer(json_object_get(d, "offset")) ? json_integer_value(json_object_get(d, "offset")) : 1;
    if (!type || strlen(type) != 1 || !strchr("uip", type[0]) || !text || !json_is_integer(jsize) ||
        !json_is_integer(jcard) || size < 12 || size > DV_MAX_BYTES || card < 0)
        return lh_err_set(err, LH_E_UNPROCESSABLE, "malformed deletion vector descriptor");
    uint8_t *buf = NULL;
    if (type[0] == 'i') {
        buf = read_dv_inline(text, size, err);
    } else {
        char *key = type[0] == 'u' ? uuid_file_key(prefix, text, err) : absolute_file_key(st, prefix, text, err);
        if (key) buf = read_dv_file(st, key, offset, size, err);
        free(key);
    }
    if (!buf) return -1;
    int rc = dv_bitmap_parse(buf, (size_t)size, out, err);
    free(buf);
    if (rc == 0 && out->cardinality != card) {
        rc = lh_err_set(err, LH_E_UNPROCESSABLE, "deletion vector holds %" PRId64 " rows, its descriptor says %" PRId64,
                        out->cardinality, card);
        dv_ranges_free(out);
    }
    return rc;
}
