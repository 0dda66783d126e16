/*
 * table_zorder.c — OPTIMIZE t ZORDER BY (a, b, ...) (ADR 0256): the rows
 * of every active file reordered along a Z-order (Morton) curve of the
 * columns and bin-packed into files of about a target size, committed as
 * one OPTIMIZE (dataChange false, zOrderBy in operationParameters) that
 * removes exactly the files read.
 *
 * Each column is first mapped to its rank bucket, ntile(2^B) over the
 * column's order (nulls first), so columns of any type and scale weigh the
 * same; the Z-value interleaves the B bits of the buckets (bit k of column
 * i lands at bit k*ncols + i). Consecutive Z-values are close in every
 * column at once, so each output file covers a small box of the
 * columns' space and the files' min/max stats rule most of them out for a
 * query over a few columns' ranges (file pruning, ADR 0255).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/duck.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "table/table.h"
#include "table/table_internal.h"

static int run_sql(duckdb_connection conn, const char *sql, duckdb_result *res, lh_err *err) {
    return lh_duck_run(conn, sql, res, LH_E_UNPROCESSABLE, "ZORDER", err);
}

/* LH_E_BAD_REQUEST unless every name is a top-level, non-nested column of s. */
static int check_columns(const lh_snapshot *s, const char *const *cols, size_t ncols, lh_err *err) {
    if (ncols == 0 || ncols > 8) return lh_err_set(err, LH_E_BAD_REQUEST, "ZORDER BY takes 1 to 8 columns");
    for (size_t i = 0; i < ncols; i++) {
        const lh_table_column *c = NULL;
        for (size_t j = 0; j < s->ncolumns && !c; j++)
            if (!strcasecmp(s->columns[j].name, cols[i])) c = &s->columns[j];
        if (!c) return lh_err_set(err, LH_E_BAD_REQUEST, "ZORDER BY: no column '%s'", cols[i]);
        if (c->type[0] == '{') return lh_err_set(err, LH_E_BAD_REQUEST, "ZORDER BY: '%s' is nested", cols[i]);
    }
    return 0;
}

/* CREATE TEMP TABLE <tmp> AS the snapshot's rows with lh_n, their position
 * along the Z-order curve (0-based). */
static char *zorder_table_sql(const char *tmp, const char *rows_sql, const char *const *cols, size_t ncols) {
    int bits = 62 / (int)ncols;
    if (bits > 20) bits = 20;
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_printf(&sb, "CREATE TEMP TABLE %s AS WITH lh_ranked AS (SELECT lh_src.*", tmp);
    for (size_t i = 0; i < ncols; i++) {
        sb_printf(&sb, ", ntile(%d) OVER (ORDER BY ", 1 << bits);
        sb_sql_ident(&sb, cols[i]);
        sb_printf(&sb, " NULLS FIRST) - 1 AS lh_r%zu", i);
    }
    sb_printf(&sb, " FROM (%s) AS lh_src) SELECT * EXCLUDE (", rows_sql);
    for (size_t i = 0; i < ncols; i++) sb_printf(&sb, "%slh_r%zu", i ? ", " : "", i);
    sb_puts(&sb, "), row_number() OVER (ORDER BY ");
    for (int k = 0; k < bits; k++)
        for (size_t i = 0; i < ncols; i++)
            sb_printf(&sb, "%s(((lh_r%zu >> %d) & 1) << %d)", k || i ? " | " : "", i, k, k * (int)ncols + (int)i);
    sb_puts(&sb, ") - 1 AS lh_n FROM lh_ranked");
    return sb_steal(&sb);
}

/* Writes rows [lo, hi) of tmp, in Z-order, as one new file. */
static int write_bin(lh_table *t, duckdb_connection conn, const lh_snapshot *read, const char *tmp, int64_t lo,
                     int64_t hi, new_file *nf, lh_err *err) {
    char *sql = lh_asprintf("SELECT * EXCLUDE (lh_n) FROM %s WHERE lh_n >= %" PRId64 " AND lh_n < %" PRId64
                            " ORDER BY lh_n", tmp, lo, hi);
    int rc = table_parquet_write(t, conn, sql, NULL, read, nf, err); /* physical names under column mapping */
    free(sql);
    return rc;
}

/* The new files of read in Z-order, about target_bytes each: *nout files
 * in *out (caller frees, also on failure). */
static int write_bins(lh_table *t, duckdb_connection conn, const lh_snapshot *read, const char *tmp, int64_t rows,
                      int64_t target_bytes, new_file **out, size_t *nout, lh_err *err) {
    int64_t per_row = read->size_bytes / (rows > 0 ? rows : 1);
    if (per_row < 1) per_row = 1;
    int64_t per_file = target_bytes / per_row;
    if (per_file < 1) per_file = 1;
    size_t nbins = (size_t)((rows + per_file - 1) / per_file);
    if (nbins == 0) nbins = 1;
    per_file = (rows + (int64_t)nbins - 1) / (int64_t)nbins; /* even bins */
    new_file *nfs = lh_calloc(nbins, sizeof *nfs);
    *out = nfs;
    *nout = 0;
    for (size_t b = 0; b < nbins; b++) {
        (*nout)++;
        if (write_bin(t, conn, read, tmp, (int64_t)b * per_file, (int64_t)(b + 1) * per_file, &nfs[b], err) != 0 ||
            table_schema_check(read, &nfs[b].schema, err) != 0)
            return -1;
    }
    return 0;
}

static void free_bins(new_file *nfs, size_t n, int unlink_files) {
    for (size_t i = 0; i < n; i++) {
        if (unlink_files && nfs[i].abs) unlink(nfs[i].abs);
        table_new_file_free(&nfs[i]);
    }
    free(nfs);
}

int table_zorder(lh_table *t, duckdb_connection conn, const char *const *cols, size_t ncols, int64_t target_bytes,
                 lh_compact_result *out, lh_err *err) {
    lh_snapshot *read = table_compact_read(t, out, "Z-ordered", err);
    if (!read) return -1;
    int rc = check_columns(read, cols, ncols, err);
    if (rc != 0 || read->nfiles == 0) {
        table_snapshot_free(read);
        return rc;
    }
    char rnd[17], tmp[40];
    lh_random_hex(rnd, 8);
    snprintf(tmp, sizeof tmp, "lh_zorder_%s", rnd);
    char *rows_sql = table_snapshot_select_sql(t, read), *create = zorder_table_sql(tmp, rows_sql, cols, ncols);
    free(rows_sql);
    rc = run_sql(conn, create, NULL, err);
    free(create);
    duckdb_result r;
    char *count = lh_asprintf("SELECT count(*) FROM %s", tmp);
    if (rc == 0 && (rc = run_sql(conn, count, &r, err)) == 0) {
        out->rows_before = duckdb_value_int64(&r, 0, 0);
        duckdb_destroy_result(&r);
    }
    free(count);
    size_t nnf = 0;
    new_file *nfs = NULL;
    if (rc == 0) rc = write_bins(t, conn, read, tmp, out->rows_before, target_bytes, &nfs, &nnf, err);
    int64_t rows_after = 0, bytes_after = 0;
    for (size_t i = 0; rc == 0 && i < nnf; i++) {
        rows_after += nfs[i].rows;
        bytes_after += nfs[i].size;
    }
    if (rc == 0 && rows_after != out->rows_before)
        rc = lh_err_set(err, LH_E_INTERNAL, "ZORDER wrote %" PRId64 " rows of %" PRId64, rows_after, out->rows_before);
    json_t *zcols = json_array();
    for (size_t i = 0; i < ncols; i++) json_array_append_new(zcols, json_string(cols[i]));
    if (rc == 0) rc = table_compact_commit(t, conn, read, nfs, nnf, 0, zcols, &out->version, err);
    if (rc == 0) {
        out->committed = 1;
        out->files_after = nnf;
        out->rows_after = rows_after;
        out->bytes_after = bytes_after;
    }
    json_decref(zcols);
    free_bins(nfs, nnf, rc != 0);
    char *drop = lh_asprintf("DROP TABLE IF EXISTS %s", tmp);
    run_sql(conn, drop, NULL, NULL);
    free(drop);
    table_snapshot_free(read);
    return rc;
}
