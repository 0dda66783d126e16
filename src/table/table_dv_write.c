/*
 * table_dv_write.c — DELETE and UPDATE with deletion vectors (ADR 0257), on
 * tables that enable them (table_props.c): no data file is rewritten. The
 * rows a statement matches are found by (file, row index) and each touched
 * file gets a new deletion vector (its old one's rows plus the new ones),
 * written as a RoaringBitmapArray in a file of its own beside the data
 * (storage type 'u': deletion_vector_<uuid>.bin, the UUID Z85-encoded in the
 * descriptor), framed as the protocol says (format version byte 1, then at
 * offset 1 the big-endian size, the bitmap, its big-endian CRC-32). The
 * commit removes each touched file as it was (with its old DV) and adds it
 * back with the new DV — or only removes it when every row is gone. An
 * UPDATE also writes the matched rows, updated, as one new file.
 *
 * Concurrency is the copy-on-write path's (table_dml.c): a REWRITE that
 * depends on the touched files, planned again when a winner removed one.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "table/dv.h"
#include "table/table.h"
#include "table/table_internal.h"

/* ---- the bitmap ------------------------------------------------------------- */

static void put_u16(lh_strbuf *b, uint32_t v) {
    char c[2] = {(char)(v & 0xFF), (char)(v >> 8 & 0xFF)};
    sb_append(b, c, 2);
}
static void put_u32(lh_strbuf *b, uint32_t v) {
    char c[4] = {(char)(v & 0xFF), (char)(v >> 8 & 0xFF), (char)(v >> 16 & 0xFF), (char)(v >> 24 & 0xFF)};
    sb_append(b, c, 4);
}
static void put_u32_be(lh_strbuf *b, uint32_t v) {
    char c[4] = {(char)(v >> 24 & 0xFF), (char)(v >> 16 & 0xFF), (char)(v >> 8 & 0xFF), (char)(v & 0xFF)};
    sb_append(b, c, 4);
}

/* One portable 32-bit Roaring bitmap of the sorted, distinct low halves
 * v[0..n) (no run containers: arrays up to 4096 values, else bitmaps). */
static void put_roaring32(lh_strbuf *b, const uint32_t *v, size_t n) {
    size_t nc = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || v[i] >> 16 != v[i - 1] >> 16) nc++;
    size_t start = b->len;
    put_u32(b, 12346); /* SERIAL_COOKIE_NO_RUNCONTAINER */
    put_u32(b, (uint32_t)nc);
    size_t *first = lh_calloc(nc + 1, sizeof *first);
    for (size_t i = 0, c = 0; i < n; i++)
        if (i == 0 || v[i] >> 16 != v[i - 1] >> 16) first[c++] = i;
    first[nc] = n;
    for (size_t c = 0; c < nc; c++) {
        put_u16(b, v[first[c]] >> 16);
        put_u16(b, (uint32_t)(first[c + 1] - first[c] - 1));
    }
    size_t offset = b->len - start + nc * 4; /* containers start after the offsets */
    for (size_t c = 0; c < nc; c++) {
        size_t card = first[c + 1] - first[c];
        put_u32(b, (uint32_t)offset);
        offset += card <= 4096 ? card * 2 : 8192;
    }
    for (size_t c = 0; c < nc; c++) {
        size_t card = first[c + 1] - first[c];
        if (card <= 4096) {
            for (size_t i = first[c]; i < first[c + 1]; i++) put_u16(b, v[i] & 0xFFFF);
            continue;
        }
        uint8_t *bits = lh_calloc(8192, 1);
        for (size_t i = first[c]; i < first[c + 1]; i++) bits[(v[i] & 0xFFFF) / 8] |= (uint8_t)(1u << (v[i] % 8));
        sb_append(b, (const char *)bits, 8192);
        free(bits);
    }
    free(first);
}

void dv_bitmap_serialize(lh_strbuf *b, const int64_t *rows, size_t n) {
    size_t nb = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || rows[i] >> 32 != rows[i - 1] >> 32) nb++;
    put_u32(b, 1681511377u);
    put_u32(b, (uint32_t)nb);
    put_u32(b, 0);
    uint32_t *low = lh_calloc(n + 1, sizeof *low);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && rows[j] >> 32 == rows[i] >> 32) {
            low[j - i] = (uint32_t)(rows[j] & 0xFFFFFFFF);
            j++;
        }
        put_u32(b, (uint32_t)(rows[i] >> 32));
        put_roaring32(b, low, j - i);
        i = j;
    }
    free(low);
}

static const char Z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/* Z85 of 16 bytes: 20 characters and a NUL. */
static void z85_encode16(const uint8_t in[16], char out[21]) {
    for (int i = 0; i < 4; i++) {
        uint32_t v = (uint32_t)in[i * 4] << 24 | (uint32_t)in[i * 4 + 1] << 16 | (uint32_t)in[i * 4 + 2] << 8 | in[i * 4 + 3];
        for (int k = 4; k >= 0; k--) {
            out[i * 5 + k] = Z85[v % 85];
            v /= 85;
        }
    }
    out[20] = 0;
}

/* Writes the DV of rows[0..n) as its own file under the table; the
 * descriptor (new reference) and the file's key (*key_out, caller frees),
 * or NULL + err. */
static json_t *dv_write_file(lh_table *t, const int64_t *rows, size_t n, char **key_out, lh_err *err) {
    lh_strbuf bitmap = LH_STRBUF_INIT, file = LH_STRBUF_INIT;
    dv_bitmap_serialize(&bitmap, rows, n);
    sb_putc(&file, 1); /* format version */
    put_u32_be(&file, (uint32_t)bitmap.len);
    sb_append(&file, bitmap.buf, bitmap.len);
    put_u32_be(&file, dv_crc32((const uint8_t *)bitmap.buf, bitmap.len));
    uint8_t u[16];
    char hex[33], uuid[37], z[21];
    lh_random_hex(hex, 16);
    for (int i = 0; i < 16; i++) u[i] = (uint8_t)strtoul((char[]){hex[2 * i], hex[2 * i + 1], 0}, NULL, 16);
    u[6] = (uint8_t)((u[6] & 0x0F) | 0x40); /* version 4 */
    u[8] = (uint8_t)((u[8] & 0x3F) | 0x80);
    static const char *const digits = "0123456789abcdef";
    for (int i = 0, o = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) uuid[o++] = '-';
        uuid[o++] = digits[u[i] >> 4];
        uuid[o++] = digits[u[i] & 15];
    }
    uuid[36] = 0;
    z85_encode16(u, z);
    char *key = lh_asprintf("%s/deletion_vector_%s.bin", t->prefix, uuid);
    json_t *d = NULL;
    if (storage_put(t->st, key, file.buf, file.len, NULL, err) == 0)
        d = json_pack("{s:s, s:s, s:i, s:I, s:I}", "storageType", "u", "pathOrInlineDv", z, "offset", 1,
                      "sizeInBytes", (json_int_t)bitmap.len, "cardinality", (json_int_t)n);
    if (d) *key_out = key;
    else free(key);
    sb_free(&bitmap);
    sb_free(&file);
    return d;
}

/* ---- planning ------------------------------------------------------------------ */

/* The rows of one file a statement deletes: new ones (matched, not yet
 * deleted) and all (old DV rows merged in), sorted. */
typedef struct {
    int64_t *fresh;
    size_t nfresh, cap;
    int64_t *all;
    size_t nall;
} file_rows;

static int already_deleted(const lh_table_file *f, int64_t r) {
    size_t lo = 0, hi = f->ndeleted;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (f->deleted_hi[mid] < r) lo = mid + 1;
        else hi = mid;
    }
    return lo < f->ndeleted && f->deleted_lo[lo] <= r;
}

/* fr->all: f's old DV rows and fr->fresh, merged (both sorted). */
static void merge_rows(const lh_table_file *f, file_rows *fr) {
    size_t old = (size_t)f->deleted_rows;
    fr->all = lh_calloc(old + fr->nfresh + 1, sizeof *fr->all);
    size_t k = 0, j = 0;
    for (size_t i = 0; i < f->ndeleted; i++)
        for (int64_t r = f->deleted_lo[i]; r <= f->deleted_hi[i]; r++) {
            while (j < fr->nfresh && fr->fresh[j] < r) fr->all[k++] = fr->fresh[j++];
            fr->all[k++] = r;
        }
    while (j < fr->nfresh) fr->all[k++] = fr->fresh[j++];
    fr->nall = k;
}

/* Finds the matching rows of s's files as the caller sees them
 * (table_dml_match_sql: live rows of the role's view); the rows newly
 * matched, or -1. */
static int64_t plan_rows(lh_table *t, duckdb_connection conn, const lh_snapshot *s, const lh_table_rewrite *rw,
                         file_rows *rows, lh_err *err) {
    size_t kept;
    int *pick = table_dml_prune_pick(s, rw, &kept);
    if (kept == 0) { /* no file can hold a matching row */
        free(pick);
        return 0;
    }
    char *sql = table_dml_match_sql(t, s, pick, rw);
    free(pick);
    char **paths = lh_calloc(s->nfiles + 1, sizeof *paths);
    for (size_t i = 0; i < s->nfiles; i++) {
        char *key = lh_asprintf("%s/%s", t->prefix, s->files[i].path);
        paths[i] = table_file_read_path(t, key); /* the name the scan's filename gives */
        free(key);
    }
    duckdb_result r;
    int64_t fresh = -1;
    if (duckdb_query(conn, sql, &r) != DuckDBSuccess) {
        lh_err_set(err, LH_E_BAD_REQUEST, "%s", duckdb_result_error(&r));
    } else {
        fresh = 0;
        size_t cur = 0;
        for (idx_t k = 0; k < duckdb_row_count(&r); k++) {
            char *fname = duckdb_value_varchar(&r, 0, k);
            if (strcmp(paths[cur], fname))
                for (cur = 0; cur < s->nfiles && strcmp(paths[cur], fname); cur++) {}
            duckdb_free(fname);
            assert(cur < s->nfiles);
            int64_t row = duckdb_value_int64(&r, 1, k);
            file_rows *fr = &rows[cur];
            assert(!already_deleted(&s->files[cur], row)); /* the scan reads live rows only */
            if (fr->nfresh == fr->cap) {
                fr->cap = fr->cap ? 2 * fr->cap : 64;
                fr->fresh = lh_realloc(fr->fresh, fr->cap * sizeof *fr->fresh);
            }
            fr->fresh[fr->nfresh++] = row;
            fresh++;
        }
    }
    duckdb_destroy_result(&r);
    lh_strv_free(paths, s->nfiles);
    free(sql);
    return fresh;
}

/* ---- the commit ------------------------------------------------------------------- */

typedef struct {
    const lh_snapshot *read;
    const file_rows *rows;
    json_t **dvs;            /* per file: the new descriptor, NULL = untouched or every row gone */
    const new_file *nf;      /* UPDATE's new rows, or NULL */
    const lh_table_rewrite *rw;
    int64_t matched;
} dv_ctx;

static char *dv_commit_text(const dv_ctx *c, int64_t now) {
    const lh_snapshot *s = c->read;
    json_t *lines = json_array();
    size_t added_dvs = 0, gone = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        if (!c->rows[i].nfresh) continue;
        json_array_append_new(lines, table_file_remove_action(&s->files[i], now));
        if (!c->dvs[i]) {
            gone++;
            continue;
        }
        json_t *add = table_file_add_action(&s->files[i], now);
        json_object_set(json_object_get(add, "add"), "deletionVector", c->dvs[i]);
        json_array_append_new(lines, add);
        added_dvs++;
    }
    if (c->nf && c->nf->rows > 0) json_array_append_new(lines, table_add_action(c->nf, now, 1));
    char n_dv[32], n_rows[32], n_rem[32], n_add[32];
    snprintf(n_dv, sizeof n_dv, "%zu", added_dvs);
    snprintf(n_rows, sizeof n_rows, "%" PRId64, c->matched);
    snprintf(n_rem, sizeof n_rem, "%zu", gone);
    snprintf(n_add, sizeof n_add, "%d", c->nf && c->nf->rows > 0);
    int del = c->rw->nset == 0;
    json_t *metrics = json_pack("{s:s, s:s, s:s, s:s}", "numDeletionVectorsAdded", n_dv,
                                del ? "numDeletedRows" : "numUpdatedRows", n_rows, "numRemovedFiles", n_rem,
                                "numAddedFiles", n_add);
    json_t *params = json_pack("{s:s}", "predicate", c->rw->predicate ? c->rw->predicate : "true");
    json_t *ci = table_commit_info(c->rw->operation, params, s->version, metrics, c->rw->principal, now);
    json_object_set_new(json_object_get(ci, "commitInfo"), "isBlindAppend", json_false());
    json_array_insert_new(lines, 0, ci);
    return table_commit_lines(lines);
}

static char *dv_build(void *ctx, const lh_snapshot *base, lh_err *err) {
    (void)base, (void)err;
    return dv_commit_text(ctx, lh_now_ms());
}

/* Physical rows of f: its live rows plus those its DV deletes. */
static int64_t physical_rows(const lh_table_file *f) { return f->rows < 0 ? -1 : f->rows + f->deleted_rows; }

int table_dv_rewrite_once(lh_table *t, duckdb_connection conn, const lh_snapshot *s, const lh_table_rewrite *rw,
                          lh_rewrite_result *out, lh_err *err) {
    file_rows *rows = lh_calloc(s->nfiles + 1, sizeof *rows);
    json_t **dvs = lh_calloc(s->nfiles + 1, sizeof *dvs);
    char **dv_keys = lh_calloc(s->nfiles + 1, sizeof *dv_keys);
    int64_t t0 = lh_now_ms();
    int64_t matched = s->nfiles ? plan_rows(t, conn, s, rw, rows, err) : 0;
    int64_t t_plan = lh_now_ms();
    int rc = matched < 0 ? -1 : matched == 0 ? 1 : 0;
    new_file nf = {0};
    if (rc == 0 && rw->nset > 0) {
        int *pick = lh_calloc(s->nfiles + 1, sizeof *pick);
        for (size_t i = 0; i < s->nfiles; i++) pick[i] = rows[i].nfresh > 0;
        char *sel = table_dml_updated_sql(t, s, pick, rw);
        free(pick);
        rc = table_parquet_write(t, conn, sel, (const char *const *)s->cluster_by, NULL, &nf, err); /* unmapped: refused above */
        free(sel);
        if (rc == 0) rc = table_schema_check(s, &nf.schema, err);
    }
    int64_t t_rows = lh_now_ms();
    const char **deps = lh_calloc(s->nfiles + 1, sizeof *deps);
    size_t ndeps = 0;
    for (size_t i = 0; rc == 0 && i < s->nfiles; i++) {
        if (!rows[i].nfresh) continue;
        deps[ndeps++] = s->files[i].path;
        merge_rows(&s->files[i], &rows[i]);
        if ((int64_t)rows[i].nall == physical_rows(&s->files[i])) continue; /* every row gone: remove only */
        dvs[i] = dv_write_file(t, rows[i].all, rows[i].nall, &dv_keys[i], err);
        if (!dvs[i]) rc = -1;
    }
    int64_t t_dvs = lh_now_ms();
    if (rc == 0) {
        dv_ctx ctx = {s, rows, dvs, rw->nset ? &nf : NULL, rw, matched};
        lh_commit_spec spec = {.kind = LH_COMMIT_REWRITE, .build = dv_build, .ctx = &ctx, .depends_on = deps,
                               .ndepends = ndeps, .reads_rows = 1, .read = s, .conn = conn};
        rc = table_commit_retry(t, &spec, &out->version, err);
        if (rc == 0) {
            out->rows_affected = matched;
            out->files_removed = ndeps;
            out->files_added = nf.rows > 0;
        } else if (err && err->code == LH_E_CONFLICT) {
            rc = 2;
        }
    }
    LOG_DEBUG("%s with DVs on %s: plan %" PRId64 " ms (%" PRId64 " rows), updated rows %" PRId64
              " ms, %zu DV files %" PRId64 " ms, commit %" PRId64 " ms", rw->operation, t->prefix, t_plan - t0,
              matched, t_rows - t_plan, ndeps, t_dvs - t_rows, lh_now_ms() - t_dvs);
    for (size_t i = 0; i < s->nfiles; i++) {
        if (rc != 0 && dv_keys[i]) storage_delete(t->st, dv_keys[i], NULL); /* uncommitted: nobody's */
        free(dv_keys[i]);
        json_decref(dvs[i]);
        free(rows[i].fresh);
        free(rows[i].all);
    }
    if ((rc != 0 || nf.rows == 0) && nf.abs) unlink(nf.abs);
    table_new_file_free(&nf);
    free(deps);
    free(dvs);
    free(dv_keys);
    free(rows);
    return rc;
}
