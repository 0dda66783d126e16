/*
 * ivfpq_io.c — the IVF-PQ file: save (base and appended rows merged into
 * one new file, written to a temp file, fsynced, renamed) and load (mmap,
 * read-only, after checking magic, version, section sizes against the file
 * length, a 64-bit checksum of every byte, and the offsets inside).
 *
 * Layout (native little-endian; every section starts 64-byte aligned):
 *   header (128 bytes, checksum field counted as 0)
 *   coarse     nlist x dims float
 *   codebooks  m x 256 x dsub float
 *   list_off   (nlist + 1) uint64   entries of list l: [list_off[l], list_off[l+1])
 *   list_pos   n uint32             row position of each entry, list order
 *   codes      n x m uint8          list order
 *   vectors    n x dims float       by position (flag 1; absent otherwise)
 *   chunk_no   n int32              by position
 *   str_off    (2n + 1) uint64      doc id of row i at [2i], text at [2i+1]
 *   blob       NUL-terminated strings
 *   hash       hash_cap uint32      doc_id hash, positions + 1 (flag 2)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "vector/ivfpq_internal.h"

#define IVF_MAGIC "LHIVFPQ"
#define IVF_VERSION 1u
#define F_VECTORS 1u
#define F_SCALAR 2u

typedef struct {
    char magic[8];
    uint32_t version, flags, dims, nlist, m, iterations;
    uint64_t seed, n, blob_bytes, hash_cap, file_bytes, checksum;
    uint32_t train_max, pad;
    uint8_t reserved[40];
} ivf_header;
_Static_assert(sizeof(ivf_header) == 128, "the header is 128 bytes");

enum { S_COARSE, S_CB, S_LOFF, S_LPOS, S_CODES, S_VEC, S_CHUNK, S_SOFF, S_BLOB, S_HASH, S_COUNT };

/* Section offsets from the header; returns the file size. */
static uint64_t layout(const ivf_header *h, uint64_t off[S_COUNT]) {
    uint64_t n = h->n, size[S_COUNT] = {
        [S_COARSE] = (uint64_t)h->nlist * h->dims * 4, [S_CB] = (uint64_t)256 * h->dims * 4,
        [S_LOFF] = ((uint64_t)h->nlist + 1) * 8,      [S_LPOS] = n * 4,
        [S_CODES] = n * h->m,                          [S_VEC] = h->flags & F_VECTORS ? n * h->dims * 4 : 0,
        [S_CHUNK] = n * 4,                             [S_SOFF] = (2 * n + 1) * 8,
        [S_BLOB] = h->blob_bytes,                      [S_HASH] = h->flags & F_SCALAR ? h->hash_cap * 4 : 0};
    uint64_t at = sizeof(ivf_header);
    for (int s = 0; s < S_COUNT; s++) {
        at = (at + 63) & ~(uint64_t)63;
        off[s] = at;
        at += size[s];
    }
    return at;
}

/* ---- checksum: a multiply-xor over 64-bit words, the tail zero-padded ---------- */

typedef struct {
    uint64_t h, total;
    uint8_t buf[8];
    int nb;
} cksum;

static void ck_word(cksum *c, uint64_t w) {
    c->h = (c->h ^ w) * 0x100000001b3ULL;
    c->h ^= c->h >> 29;
}

static void ck_update(cksum *c, const void *data, size_t len) {
    const uint8_t *p = data;
    c->total += len;
    while (len && c->nb) {
        c->buf[c->nb++] = *p++;
        len--;
        if (c->nb == 8) {
            uint64_t w;
            memcpy(&w, c->buf, 8);
            ck_word(c, w);
            c->nb = 0;
        }
    }
    if (c->nb) return; /* all of data went into the partial word */
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        ck_word(c, w);
    }
    memcpy(c->buf, p, len);
    c->nb = (int)len;
}

static uint64_t ck_final(cksum *c) {
    if (c->nb) {
        memset(c->buf + c->nb, 0, (size_t)(8 - c->nb));
        uint64_t w;
        memcpy(&w, c->buf, 8);
        ck_word(c, w);
    }
    ck_word(c, c->total);
    return c->h;
}

/* ---- save ------------------------------------------------------------------------- */

typedef struct {
    FILE *f;
    cksum ck;
    uint64_t at;
    int failed;
} writer;

static void w_put(writer *w, const void *p, size_t len) {
    if (!len) return;
    if (fwrite(p, 1, len, w->f) != len) w->failed = 1;
    ck_update(&w->ck, p, len);
    w->at += len;
}

static void w_pad_to(writer *w, uint64_t off) {
    static const uint8_t zero[64];
    while (w->at < off) w_put(w, zero, off - w->at < 64 ? (size_t)(off - w->at) : 64);
}

static uint64_t list_total(const lh_ivfpq *ix, int l) {
    return ix->lists[l].n + (ix->list_off ? ix->list_off[l + 1] - ix->list_off[l] : 0);
}

static void write_lists(writer *w, const lh_ivfpq *ix, const uint64_t off[S_COUNT]) {
    w_pad_to(w, off[S_LOFF]);
    uint64_t acc = 0;
    w_put(w, &acc, 8);
    for (int l = 0; l < ix->nlist; l++) {
        acc += list_total(ix, l);
        w_put(w, &acc, 8);
    }
    w_pad_to(w, off[S_LPOS]);
    for (int l = 0; l < ix->nlist; l++) {
        if (ix->list_off)
            w_put(w, ix->list_pos + ix->list_off[l], (ix->list_off[l + 1] - ix->list_off[l]) * 4);
        w_put(w, ix->lists[l].pos, ix->lists[l].n * 4);
    }
    w_pad_to(w, off[S_CODES]);
    for (int l = 0; l < ix->nlist; l++) {
        if (ix->list_off)
            w_put(w, ix->codes + ix->list_off[l] * ix->m, (ix->list_off[l + 1] - ix->list_off[l]) * ix->m);
        w_put(w, ix->lists[l].codes, ix->lists[l].n * ix->m);
    }
}

static void write_rows(writer *w, const lh_ivfpq *ix, const uint64_t off[S_COUNT]) {
    size_t n = ivfpq_count(ix);
    if (ix->has_vectors) {
        w_pad_to(w, off[S_VEC]);
        w_put(w, ix->vectors, ix->nbase * ix->dims * 4);
        w_put(w, ix->add_vec, ix->nadd * ix->dims * 4);
    }
    w_pad_to(w, off[S_CHUNK]);
    w_put(w, ix->chunk_no, ix->nbase * 4);
    w_put(w, ix->add_chunk, ix->nadd * 4);
    w_pad_to(w, off[S_SOFF]);
    uint64_t acc = 0;
    for (size_t p = 0; p < n; p++) {
        w_put(w, &acc, 8);
        acc += strlen(ivfpq_doc_id(ix, p)) + 1;
        w_put(w, &acc, 8);
        acc += strlen(ivfpq_text(ix, p)) + 1;
    }
    w_put(w, &acc, 8);
    w_pad_to(w, off[S_BLOB]);
    for (size_t p = 0; p < n; p++) {
        const char *d = ivfpq_doc_id(ix, p), *t = ivfpq_text(ix, p);
        w_put(w, d, strlen(d) + 1);
        w_put(w, t, strlen(t) + 1);
    }
    if (ix->hash) {
        w_pad_to(w, off[S_HASH]);
        w_put(w, ix->hash, ix->hash_cap * 4);
    }
}

static ivf_header header_of(const lh_ivfpq *ix) {
    ivf_header h = {.version = IVF_VERSION, .dims = (uint32_t)ix->dims, .nlist = (uint32_t)ix->nlist,
                    .m = (uint32_t)ix->m, .iterations = (uint32_t)ix->p.iterations, .seed = ix->p.seed,
                    .n = ivfpq_count(ix), .hash_cap = ix->hash ? ix->hash_cap : 0,
                    .train_max = (uint32_t)ix->p.train_max};
    memcpy(h.magic, IVF_MAGIC, sizeof IVF_MAGIC);
    h.flags = (ix->has_vectors ? F_VECTORS : 0) | (ix->hash ? F_SCALAR : 0);
    for (size_t p = 0; p < h.n; p++) h.blob_bytes += strlen(ivfpq_doc_id(ix, p)) + strlen(ivfpq_text(ix, p)) + 2;
    return h;
}

int ivfpq_save(const lh_ivfpq *ix, const char *path, lh_err *err) {
    ivf_header h = header_of(ix);
    uint64_t off[S_COUNT];
    h.file_bytes = layout(&h, off);
    char *tmp = lh_temp_path_beside(path);
    writer w = {.f = fopen(tmp, "wb")};
    if (!w.f) {
        lh_err_set(err, LH_E_INTERNAL, "cannot create %s: %m", tmp);
        free(tmp);
        return -1;
    }
    w_put(&w, &h, sizeof h);
    w_pad_to(&w, off[S_COARSE]);
    w_put(&w, ix->coarse, (size_t)ix->nlist * ix->dims * 4);
    w_pad_to(&w, off[S_CB]);
    w_put(&w, ix->codebooks, (size_t)256 * ix->dims * 4);
    write_lists(&w, ix, off);
    write_rows(&w, ix, off);
    w_pad_to(&w, h.file_bytes);
    h.checksum = ck_final(&w.ck);
    if (fseek(w.f, 0, SEEK_SET) != 0 || fwrite(&h, sizeof h, 1, w.f) != 1) w.failed = 1;
    if (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0) w.failed = 1;
    if (fclose(w.f) != 0) w.failed = 1;
    if (w.failed || w.at != h.file_bytes || rename(tmp, path) != 0) {
        lh_err_set(err, LH_E_INTERNAL, "cannot write %s: %m", path);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    lh_fsync_dir_of(path);
    free(tmp);
    return 0;
}

/* ---- load ------------------------------------------------------------------------- */

static int corrupt(lh_err *err, const char *path, const char *why) {
    lh_err_set(err, LH_E_UNPROCESSABLE, "%s is not a usable IVF-PQ file: %s", path, why);
    lh_err_hint(err, "rebuild it with POST /vectors/lance/index/{index}");
    return -1;
}

static int header_check(const ivf_header *h, uint64_t size, const char *path, lh_err *err) {
    if (memcmp(h->magic, IVF_MAGIC, sizeof IVF_MAGIC)) return corrupt(err, path, "bad magic");
    if (h->version != IVF_VERSION) return corrupt(err, path, "unsupported version");
    if (!h->dims || !h->m || h->dims % h->m || !h->nlist || h->nlist > 65536 || h->n >= UINT32_MAX ||
        h->dims > 65536 || h->blob_bytes > size || h->hash_cap > size)
        return corrupt(err, path, "impossible sizes in the header");
    if ((h->flags & F_SCALAR) && (h->hash_cap & (h->hash_cap - 1)))
        return corrupt(err, path, "hash size is not a power of two");
    uint64_t off[S_COUNT];
    if (layout(h, off) != size || h->file_bytes != size) return corrupt(err, path, "truncated or padded");
    return 0;
}

static int body_check(const lh_ivfpq *ix, uint64_t blob_bytes, const char *path, lh_err *err) {
    if (ix->list_off[0] != 0 || ix->list_off[ix->nlist] != ix->nbase) return corrupt(err, path, "bad list offsets");
    for (int l = 0; l < ix->nlist; l++)
        if (ix->list_off[l + 1] < ix->list_off[l]) return corrupt(err, path, "bad list offsets");
    for (size_t e = 0; e < ix->nbase; e++)
        if (ix->list_pos[e] >= ix->nbase) return corrupt(err, path, "position out of range");
    if (ix->str_off[2 * ix->nbase] != blob_bytes || (blob_bytes && ix->blob[blob_bytes - 1]))
        return corrupt(err, path, "bad string blob");
    for (size_t i = 0; i < 2 * ix->nbase; i++)
        if (ix->str_off[i] >= blob_bytes) return corrupt(err, path, "string offset out of range");
    return 0;
}

static lh_ivfpq *from_map(uint8_t *map, const ivf_header *h) {
    uint64_t off[S_COUNT];
    layout(h, off);
    lh_ivfpq_params p = {.nlist = (int)h->nlist, .m = (int)h->m, .iterations = (int)h->iterations,
                         .seed = h->seed, .train_max = (int)h->train_max, .no_vectors = !(h->flags & F_VECTORS)};
    lh_ivfpq *ix = ivf_alloc((int)h->dims, (int)h->nlist, (int)h->m, &p, (const float *)(map + off[S_COARSE]),
                             (const float *)(map + off[S_CB]), 0);
    ix->nbase = h->n;
    ix->list_off = (const uint64_t *)(map + off[S_LOFF]);
    ix->list_pos = (const uint32_t *)(map + off[S_LPOS]);
    ix->codes = map + off[S_CODES];
    ix->vectors = h->flags & F_VECTORS ? (const float *)(map + off[S_VEC]) : NULL;
    ix->chunk_no = (const int32_t *)(map + off[S_CHUNK]);
    ix->str_off = (const uint64_t *)(map + off[S_SOFF]);
    ix->blob = (const char *)(map + off[S_BLOB]);
    if (h->flags & F_SCALAR) {
        ix->hash_cap = h->hash_cap;
        ix->hash = lh_malloc(h->hash_cap * 4);
        memcpy(ix->hash, map + off[S_HASH], h->hash_cap * 4);
    }
    return ix;
}

lh_ivfpq *ivfpq_load(const char *path, lh_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        lh_err_set(err, errno == ENOENT ? LH_E_NOT_FOUND : LH_E_INTERNAL, "cannot open %s: %m", path);
        if (fd >= 0) close(fd);
        return NULL;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < sizeof(ivf_header)) {
        close(fd);
        corrupt(err, path, "shorter than its header");
        return NULL;
    }
    uint8_t *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        lh_err_set(err, LH_E_INTERNAL, "cannot map %s: %m", path);
        return NULL;
    }
    ivf_header h;
    memcpy(&h, map, sizeof h);
    if (header_check(&h, size, path, err) != 0) {
        munmap(map, size);
        return NULL;
    }
    ivf_header zero = h;
    zero.checksum = 0;
    cksum ck = {0};
    ck_update(&ck, &zero, sizeof zero);
    ck_update(&ck, map + sizeof zero, size - sizeof zero);
    if (ck_final(&ck) != h.checksum) {
        munmap(map, size);
        corrupt(err, path, "checksum mismatch");
        return NULL;
    }
    lh_ivfpq *ix = from_map(map, &h);
    ix->map = map;
    ix->map_len = size;
    if (body_check(ix, h.blob_bytes, path, err) != 0) {
        ivfpq_free(ix);
        return NULL;
    }
    return ix;
}
