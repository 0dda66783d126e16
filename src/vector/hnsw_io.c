/*
 * hnsw_io.c — saving and loading an HNSW graph (hnsw_save / hnsw_load).
 *
 * File format, version 1 (little-endian, x86-64 native):
 *
 *   header, 160 bytes:
 *     0  char[8]   magic "LHHNSW\0\n"
 *     8  u32       format version (1)
 *    12  u32       header size (160)
 *    16  u64       n (rows)
 *    24  u32       dims
 *    28  u32       M
 *    32  u32       ef_construction
 *    36  u32       ef_search
 *    40  u64       seed
 *    48  u32       max_level
 *    52  u32       entry (0xFFFFFFFF when n == 0)
 *    56  u64       upper_rows (sum of the node levels)
 *    64  u64       body size in bytes
 *    72  char[64]  SHA-256 (lowercase hex) of the header with this field
 *                  zeroed, followed by the body
 *   136  24 bytes  zero
 *   body:
 *     u8  level[n], zero-padded to a multiple of 4 bytes
 *     u32 links0[n * (1 + 2M)]          level-0 rows [count, ids..., 0...]
 *     u32 upper[upper_rows * (1 + M)]   upper rows, node by node, level 1 up
 *
 * The matrix itself is not stored: the caller owns it and passes it back to
 * hnsw_load(), which checks n and dims against the header. Everything read is
 * validated — sizes, checksum, levels, entry point, row counts, neighbour ids
 * and levels, zeroed tails — so a damaged or foreign file is an error
 * (LH_E_UNPROCESSABLE), never a crash or a graph that loops forever.
 *
 * hnsw_save() streams the file to a temp name beside the target, fsyncs it,
 * renames it over the target and fsyncs the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "vector/hnsw_internal.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "hnsw_io.c writes little-endian files natively"
#endif

#define HNSW_MAGIC "LHHNSW\0\n"
#define HNSW_VERSION 1u
#define HNSW_HEADER_SIZE 160u
#define HNSW_SHA_OFF 72u

typedef struct {
    uint64_t n, seed, upper_rows, body;
    uint32_t version, header_size, dims, M, efc, efs, max_level, entry;
    char sha[65];
} hnsw_header;

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static size_t hnsw_level_bytes(size_t n) { return (n + 3) & ~(size_t)3; }

/* Body size in bytes for the given shape into *out; -1 when it would not
 * fit in memory anyway. */
static int hnsw_body_size(uint64_t n, uint64_t M, uint64_t rows, uint64_t *out) {
    __uint128_t b = (__uint128_t)hnsw_level_bytes((size_t)n) +
                    (__uint128_t)n * (1 + 2 * M) * 4 + (__uint128_t)rows * (1 + M) * 4;
    if (n > SIZE_MAX / 8 || b > (__uint128_t)SIZE_MAX / 2) return -1;
    *out = (uint64_t)b;
    return 0;
}

static void hnsw_header_encode(const hnsw_header *hd, unsigned char *buf) {
    memset(buf, 0, HNSW_HEADER_SIZE);
    memcpy(buf, HNSW_MAGIC, 8);
    put32(buf + 8, hd->version);
    put32(buf + 12, hd->header_size);
    put64(buf + 16, hd->n);
    put32(buf + 24, hd->dims);
    put32(buf + 28, hd->M);
    put32(buf + 32, hd->efc);
    put32(buf + 36, hd->efs);
    put64(buf + 40, hd->seed);
    put32(buf + 48, hd->max_level);
    put32(buf + 52, hd->entry);
    put64(buf + 56, hd->upper_rows);
    put64(buf + 64, hd->body);
    memcpy(buf + HNSW_SHA_OFF, hd->sha, 64);
}

static void hnsw_header_decode(const unsigned char *buf, hnsw_header *hd) {
    hd->version = get32(buf + 8);
    hd->header_size = get32(buf + 12);
    hd->n = get64(buf + 16);
    hd->dims = get32(buf + 24);
    hd->M = get32(buf + 28);
    hd->efc = get32(buf + 32);
    hd->efs = get32(buf + 36);
    hd->seed = get64(buf + 40);
    hd->max_level = get32(buf + 48);
    hd->entry = get32(buf + 52);
    hd->upper_rows = get64(buf + 56);
    hd->body = get64(buf + 64);
    memcpy(hd->sha, buf + HNSW_SHA_OFF, 64);
    hd->sha[64] = '\0';
}

/* The body as up to three spans, in file order. */
typedef struct {
    const void *p[3];
    size_t len[3];
} hnsw_spans;

static hnsw_spans hnsw_body_spans(const lh_hnsw *h, const uint8_t *level_padded) {
    hnsw_spans s = {{level_padded, h->links0, h->upper},
                    {hnsw_level_bytes(h->n), h->n * (size_t)(1 + h->M0) * sizeof(uint32_t),
                     h->upper_rows * (size_t)(1 + h->M) * sizeof(uint32_t)}};
    return s;
}

/* SHA-256 of the header (checksum field zeroed) and the body spans. */
static void hnsw_checksum(const unsigned char *header, const hnsw_spans *sp, char out[65]) {
    unsigned char hdr[HNSW_HEADER_SIZE];
    memcpy(hdr, header, HNSW_HEADER_SIZE);
    memset(hdr + HNSW_SHA_OFF, 0, 64);
    lh_sha256 *c = lh_sha256_new();
    lh_sha256_update(c, hdr, HNSW_HEADER_SIZE);
    for (int i = 0; i < 3; i++)
        if (sp->len[i]) lh_sha256_update(c, sp->p[i], sp->len[i]);
    lh_sha256_final(c, out);
}

/* ---- save ------------------------------------------------------------------ */

static int hnsw_write_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len > (1u << 30) ? (1u << 30) : len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int hnsw_save(const lh_hnsw *h, const char *path, lh_err *err) {
    if (!h || !path) return lh_err_set(err, LH_E_BAD_REQUEST, "hnsw_save: no index or path");
    hnsw_header hd = {.n = h->n, .seed = h->p.seed, .upper_rows = h->upper_rows,
                      .version = HNSW_VERSION, .header_size = HNSW_HEADER_SIZE,
                      .dims = (uint32_t)h->dims, .M = (uint32_t)h->M,
                      .efc = (uint32_t)h->p.ef_construction, .efs = (uint32_t)h->p.ef_search,
                      .max_level = (uint32_t)h->max_level, .entry = h->entry};
    if (hnsw_body_size(h->n, (uint64_t)h->M, h->upper_rows, &hd.body) != 0)
        return lh_err_set(err, LH_E_TOO_LARGE, "hnsw_save: index too large");
    uint8_t *lv = lh_calloc(hnsw_level_bytes(h->n) + 1, 1);
    memcpy(lv, h->level, h->n);
    hnsw_spans sp = hnsw_body_spans(h, lv);
    unsigned char hdr[HNSW_HEADER_SIZE];
    memset(hd.sha, 0, sizeof hd.sha);
    hnsw_header_encode(&hd, hdr);
    char sha[65];
    hnsw_checksum(hdr, &sp, sha);
    memcpy(hdr + HNSW_SHA_OFF, sha, 64);

    char *tmp = lh_temp_path_beside(path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int rc = -1;
    if (fd < 0) {
        lh_err_set(err, LH_E_INTERNAL, "hnsw_save: create %s: %s", tmp, strerror(errno));
        goto out;
    }
    int ok = hnsw_write_all(fd, hdr, sizeof hdr) == 0;
    for (int i = 0; i < 3 && ok; i++) ok = hnsw_write_all(fd, sp.p[i], sp.len[i]) == 0;
    if (ok) ok = fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        lh_err_set(err, LH_E_INTERNAL, "hnsw_save: write %s: %s", path, strerror(e));
        unlink(tmp);
        goto out;
    }
    lh_fsync_dir_of(path);
    rc = 0;
out:
    free(tmp);
    free(lv);
    return rc;
}

/* ---- load ------------------------------------------------------------------ */

static int hnsw_corrupt(lh_err *err, const char *path, const char *what) {
    return lh_err_set(err, LH_E_UNPROCESSABLE, "hnsw_load: %s: %s", path, what);
}

static int hnsw_read_all(FILE *f, void *buf, size_t len) {
    return len == 0 || fread(buf, 1, len, f) == len ? 0 : -1;
}

/* Checks the header against itself, the caller's data and the file size. */
static int hnsw_header_check(const hnsw_header *hd, const unsigned char *raw, size_t n,
                             int dims, uint64_t file_size, const char *path, lh_err *err) {
    if (memcmp(raw, HNSW_MAGIC, 8) != 0) return hnsw_corrupt(err, path, "not an HNSW file");
    if (hd->version != HNSW_VERSION)
        return lh_err_set(err, LH_E_UNPROCESSABLE, "hnsw_load: %s: format version %u, want %u",
                          path, hd->version, HNSW_VERSION);
    if (hd->header_size != HNSW_HEADER_SIZE) return hnsw_corrupt(err, path, "bad header size");
    for (size_t i = HNSW_SHA_OFF + 64; i < HNSW_HEADER_SIZE; i++)
        if (raw[i]) return hnsw_corrupt(err, path, "bad header padding");
    if (hd->n != n || hd->dims != (uint32_t)dims)
        return lh_err_set(err, LH_E_UNPROCESSABLE,
                          "hnsw_load: %s: built for %llu x %u vectors, not %zu x %d", path,
                          (unsigned long long)hd->n, hd->dims, n, dims);
    lh_hnsw_params p = {(int)hd->M, (int)hd->efc, (int)hd->efs, hd->seed}, rp;
    if (hd->M < 2 || hd->M > LH_HNSW_MAX_M || hd->efc < 1 || hd->efs < 1 || hd->seed == 0 ||
        hnsw_params_resolve(&p, &rp, NULL) != 0)
        return hnsw_corrupt(err, path, "bad parameters");
    if (hd->max_level > HNSW_MAX_LEVEL) return hnsw_corrupt(err, path, "bad top level");
    if (n == 0 ? hd->entry != HNSW_NO_NODE || hd->max_level != 0 || hd->upper_rows != 0
               : hd->entry >= n)
        return hnsw_corrupt(err, path, "bad entry point");
    uint64_t body;
    if (hd->upper_rows > (uint64_t)n * HNSW_MAX_LEVEL ||
        hnsw_body_size(n, hd->M, hd->upper_rows, &body) != 0 || body != hd->body ||
        file_size != HNSW_HEADER_SIZE + body)
        return hnsw_corrupt(err, path, "truncated or wrong size");
    return 0;
}

/* Checks one adjacency row: count within capacity, ids in range, not the
 * node itself, present on this level, unused slots zero. */
static int hnsw_row_ok(const lh_hnsw *h, uint32_t node, int l) {
    const uint32_t *row = hnsw_links(h, node, l);
    uint32_t cap = (uint32_t)hnsw_cap(h, l), cnt = row[0];
    if (cnt > cap) return 0;
    for (uint32_t j = 1; j <= cnt; j++)
        if (row[j] >= h->n || row[j] == node || h->level[row[j]] < l) return 0;
    for (uint32_t j = cnt + 1; j <= cap; j++)
        if (row[j] != 0) return 0;
    return 1;
}

static int hnsw_graph_check(const lh_hnsw *h, const uint8_t *padded, const char *path,
                            lh_err *err) {
    for (size_t i = h->n; i < hnsw_level_bytes(h->n); i++)
        if (padded[i]) return hnsw_corrupt(err, path, "bad level padding");
    if (h->n == 0) return 0;
    if (h->level[h->entry] != h->max_level) return hnsw_corrupt(err, path, "bad entry point");
    for (size_t i = 0; i < h->n; i++) {
        if (h->level[i] > h->max_level) return hnsw_corrupt(err, path, "bad node level");
        for (int l = 0; l <= h->level[i]; l++)
            if (!hnsw_row_ok(h, (uint32_t)i, l)) return hnsw_corrupt(err, path, "bad adjacency list");
    }
    return 0;
}

/* Reads levels, builds the index shell, reads the rows; NULL on error. */
static lh_hnsw *hnsw_read_body(FILE *f, const hnsw_header *hd, const unsigned char *raw,
                               const float *matrix, size_t n, int dims, const char *path,
                               lh_err *err) {
    size_t lb = hnsw_level_bytes(n);
    uint8_t *padded = lh_malloc(lb + 1);
    if (hnsw_read_all(f, padded, lb) != 0) {
        free(padded);
        hnsw_corrupt(err, path, "truncated");
        return NULL;
    }
    uint64_t rows = 0;
    for (size_t i = 0; i < n; i++) rows += padded[i];
    if (rows != hd->upper_rows) {
        free(padded);
        hnsw_corrupt(err, path, "levels disagree with the header");
        return NULL;
    }
    uint8_t *level = lh_malloc(n ? n : 1);
    memcpy(level, padded, n);
    lh_hnsw_params p = {(int)hd->M, (int)hd->efc, (int)hd->efs, hd->seed};
    lh_hnsw *h = hnsw_alloc(matrix, n, dims, &p, level, err);
    if (!h) {
        free(padded);
        return NULL;
    }
    h->entry = hd->entry;
    h->max_level = (int)hd->max_level;
    hnsw_spans sp = hnsw_body_spans(h, padded);
    char sha[65];
    if (hnsw_read_all(f, h->links0, sp.len[1]) != 0 || hnsw_read_all(f, h->upper, sp.len[2]) != 0) {
        hnsw_corrupt(err, path, "truncated");
    } else if (hnsw_checksum(raw, &sp, sha), memcmp(sha, hd->sha, 64) != 0) {
        hnsw_corrupt(err, path, "checksum mismatch");
    } else if (hnsw_graph_check(h, padded, path, err) == 0) {
        free(padded);
        return h;
    }
    free(padded);
    hnsw_free(h);
    return NULL;
}

lh_hnsw *hnsw_load(const char *path, const float *matrix, size_t n, int dims, lh_err *err) {
    if (!path || dims <= 0 || (n > 0 && !matrix)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "hnsw_load: bad arguments");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        lh_err_set(err, errno == ENOENT ? LH_E_NOT_FOUND : LH_E_INTERNAL, "hnsw_load: open %s: %s",
                   path, strerror(errno));
        return NULL;
    }
    lh_hnsw *h = NULL;
    struct stat st;
    unsigned char raw[HNSW_HEADER_SIZE];
    hnsw_header hd;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        lh_err_set(err, LH_E_INTERNAL, "hnsw_load: %s: not a regular file", path);
    } else if (hnsw_read_all(f, raw, sizeof raw) != 0) {
        hnsw_corrupt(err, path, "truncated header");
    } else {
        hnsw_header_decode(raw, &hd);
        if (hnsw_header_check(&hd, raw, n, dims, (uint64_t)st.st_size, path, err) == 0)
            h = hnsw_read_body(f, &hd, raw, matrix, n, dims, path, err);
    }
    fclose(f);
    return h;
}

/* ---- test support ------------------------------------------------------------ */

int hnsw_io_reseal(unsigned char *buf, size_t len) {
    if (len < HNSW_HEADER_SIZE) return -1;
    hnsw_spans sp = {{buf + HNSW_HEADER_SIZE, NULL, NULL}, {len - HNSW_HEADER_SIZE, 0, 0}};
    char sha[65];
    hnsw_checksum(buf, &sp, sha);
    memcpy(buf + HNSW_SHA_OFF, sha, 64);
    return 0;
}
