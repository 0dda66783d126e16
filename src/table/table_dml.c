/*
 * table_dml.c — DELETE and UPDATE as one Delta commit each, copy-on-write:
 * the files holding a matching row (found with read_parquet's filename
 * column) are rewritten as one new file without the deleted rows or with
 * the updated values, and the commit removes exactly those files and adds
 * the new one. Files without a matching row are untouched.
 *
 * Concurrency by the Delta rules (WriteSerializable, table_commit_retry):
 * when another writer took the version first, the commit is retried on top
 * of it as long as every file this statement read is still active and the
 * winner was a blind append; when the winner removed one of them (or
 * rewrote rows), the whole statement is planned and written again on the
 * new snapshot, up to REWRITE_ATTEMPTS times, then LH_E_CONFLICT names the
 * winning version and what it did.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "table/table.h"
#include "table/table_internal.h"

#define REWRITE_ATTEMPTS 25

/* "[path, ...]" of the snapshot files flagged in pick (all when pick is NULL). */
static char *file_list(lh_table *t, const lh_snapshot *s, const int *pick) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_putc(&sb, '[');
    size_t n = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        if (pick && !pick[i]) continue;
        if (n++) sb_putc(&sb, ',');
        table_append_file_path(t, &sb, s->files[i].path);
    }
    sb_putc(&sb, ']');
    return sb_steal(&sb);
}

/* The rows of `files` as the caller sees them (ADR 0240), one relation
 * named rw->relation: its columns are rw->view_select over the stored ones
 * (all as stored without one), plus the file name, whether the row is in
 * the caller's view (rw->view_filter) and each stored value, under names
 * carrying a random token so that no predicate can name them — the
 * statement's SQL is bound against the caller's view before it gets here
 * (query/dml.c). */
typedef struct {
    char tok[17];
} viewed_names;

static void append_viewed(lh_strbuf *sb, const lh_snapshot *s, const lh_table_rewrite *rw, const viewed_names *vn,
                          const char *files) {
    sb_printf(sb, "(SELECT filename AS lh_%s_f", vn->tok);
    for (size_t c = 0; c < s->ncolumns; c++) {
        sb_puts(sb, ", ");
        sb_sql_ident(sb, s->columns[c].name);
        sb_printf(sb, " AS lh_%s_%zu", vn->tok, c);
    }
    if (rw->view_select) {
        sb_printf(sb, ", %s", rw->view_select);
    } else {
        for (size_t c = 0; c < s->ncolumns; c++) {
            sb_puts(sb, ", ");
            sb_sql_ident(sb, s->columns[c].name);
        }
    }
    sb_printf(sb, ", coalesce((%s), false) AS lh_%s_v", rw->view_filter ? rw->view_filter : "true", vn->tok);
    sb_printf(sb, " FROM read_parquet(%s, filename = true, union_by_name = true)) AS ", files);
    sb_sql_ident(sb, rw->relation ? rw->relation : "lh_rows");
}

/* A row the statement changes: in the caller's view and matching. CASE,
 * not AND: the predicate is evaluated only on the caller's rows, so its
 * errors (a failed cast quotes the value) never come from another row. */
static void append_match(lh_strbuf *sb, const lh_table_rewrite *rw, const viewed_names *vn) {
    sb_printf(sb, "(CASE WHEN lh_%s_v THEN ", vn->tok);
    if (rw->predicate) sb_printf(sb, "coalesce((%s), false)", rw->predicate);
    else sb_puts(sb, "true");
    sb_puts(sb, " ELSE false END)");
}

/* Flags the files holding a matching row in touched[]; returns the rows matched or -1. */
static int64_t plan_touched(lh_table *t, duckdb_connection conn, const lh_snapshot *s, const lh_table_rewrite *rw,
                            const viewed_names *vn, int *touched, lh_err *err) {
    char *files = file_list(t, s, NULL);
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_printf(&sql, "SELECT lh_%s_f, count(*) FROM ", vn->tok);
    append_viewed(&sql, s, rw, vn, files);
    sb_puts(&sql, " WHERE ");
    append_match(&sql, rw, vn);
    sb_puts(&sql, " GROUP BY ALL");
    free(files);
    duckdb_result r;
    int64_t rows = -1;
    if (duckdb_query(conn, sql.buf, &r) != DuckDBSuccess) {
        lh_err_set(err, LH_E_BAD_REQUEST, "%s", duckdb_result_error(&r));
    } else {
        rows = 0;
        for (idx_t k = 0; k < duckdb_row_count(&r); k++) {
            char *fname = duckdb_value_varchar(&r, 0, k);
            for (size_t i = 0; i < s->nfiles; i++) {
                char *key = lh_asprintf("%s/%s", t->prefix, s->files[i].path);
                char *path = table_file_read_path(t, key); /* the name file_list gave DuckDB */
                if (!strcmp(path, fname)) touched[i] = 1;
                free(path);
                free(key);
            }
            duckdb_free(fname);
            rows += duckdb_value_int64(&r, 1, k);
        }
    }
    duckdb_destroy_result(&r);
    sb_free(&sql);
    return rows;
}

/* The rows that replace the touched files: stored values, but for the
 * matching rows' assigned columns. */
static char *rewrite_select(lh_table *t, const lh_snapshot *s, const int *touched, const lh_table_rewrite *rw,
                            const viewed_names *vn) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "SELECT ");
    for (size_t c = 0; c < s->ncolumns; c++) {
        const char *name = s->columns[c].name;
        if (c) sb_puts(&sb, ", ");
        size_t k = 0;
        while (k < rw->nset && strcmp(rw->set_cols[k], name)) k++;
        if (k == rw->nset) {
            sb_printf(&sb, "lh_%s_%zu AS ", vn->tok, c);
            sb_sql_ident(&sb, name);
            continue;
        }
        char *ty = table_duckdb_type(s->columns[c].type);
        sb_puts(&sb, "CAST(CASE WHEN ");
        append_match(&sb, rw, vn);
        sb_printf(&sb, " THEN (%s) ELSE lh_%s_%zu END AS %s) AS ", rw->set_exprs[k], vn->tok, c, ty);
        sb_sql_ident(&sb, name);
        free(ty);
    }
    char *files = file_list(t, s, touched);
    sb_puts(&sb, " FROM ");
    append_viewed(&sb, s, rw, vn, files);
    free(files);
    if (rw->nset == 0) { /* DELETE */
        sb_puts(&sb, " WHERE NOT ");
        append_match(&sb, rw, vn);
    }
    return sb_steal(&sb);
}

static char *rewrite_text(const lh_snapshot *s, const int *touched, const new_file *nf, const lh_table_rewrite *rw,
                          int64_t rows, int64_t now) {
    json_t *lines = json_array();
    size_t removed = 0;
    for (size_t i = 0; i < s->nfiles; i++)
        if (touched[i]) {
            json_array_append_new(lines, table_file_remove_action(&s->files[i], now));
            removed++;
        }
    char nrem[32], nrows[32], nout[32];
    snprintf(nrem, sizeof nrem, "%zu", removed);
    snprintf(nrows, sizeof nrows, "%" PRId64, rows);
    snprintf(nout, sizeof nout, "%" PRId64, nf && nf->rows > 0 ? nf->rows : 0);
    int del = rw->nset == 0;
    json_t *metrics = json_pack("{s:s, s:s, s:s, s:s}", "numRemovedFiles", nrem, "numAddedFiles",
                                nf && nf->rows > 0 ? "1" : "0", del ? "numDeletedRows" : "numUpdatedRows", nrows,
                                del ? "numCopiedRows" : "numOutputRows", nout);
    json_t *params = json_pack("{s:s}", "predicate", rw->predicate ? rw->predicate : "true");
    json_t *ci = table_commit_info(rw->operation, params, s->version, metrics, rw->principal, now);
    json_object_set_new(json_object_get(ci, "commitInfo"), "isBlindAppend", json_false());
    json_array_insert_new(lines, 0, ci);
    if (nf && nf->rows > 0) json_array_append_new(lines, table_add_action(nf, now, 1));
    return table_commit_lines(lines);
}

typedef struct {
    const lh_snapshot *read;
    const int *touched;
    const new_file *nf;
    const lh_table_rewrite *rw;
    int64_t rows;
} rewrite_ctx;

/* The same removes and add on whatever base the retry loop hands in: they
 * name the files read, which the conflict check keeps active. */
static char *rewrite_build(void *ctx, const lh_snapshot *base, lh_err *err) {
    rewrite_ctx *r = ctx;
    (void)base, (void)err;
    return rewrite_text(r->read, r->touched, r->nf, r->rw, r->rows, lh_now_ms());
}

/* One attempt on snapshot s: 0 committed, 1 nothing matched, 2 conflict
 * (err set), -1 other error. */
static int rewrite_once(lh_table *t, duckdb_connection conn, const lh_snapshot *s, const lh_table_rewrite *rw,
                        lh_rewrite_result *out, lh_err *err) {
    int *touched = lh_calloc(s->nfiles + 1, sizeof *touched);
    viewed_names vn;
    lh_random_hex(vn.tok, 8);
    int64_t rows = s->nfiles ? plan_touched(t, conn, s, rw, &vn, touched, err) : 0;
    if (rows <= 0) {
        free(touched);
        return rows < 0 ? -1 : 1;
    }
    new_file nf = {0};
    char *sel = rewrite_select(t, s, touched, rw, &vn);
    int rc = table_parquet_write(t, conn, sel, (const char *const *)s->cluster_by, &nf, err);
    free(sel);
    if (rc == 0) rc = table_schema_check(s, &nf.schema, err);
    if (rc == 0) {
        const char **deps = lh_calloc(s->nfiles + 1, sizeof *deps);
        size_t ndeps = 0;
        for (size_t i = 0; i < s->nfiles; i++)
            if (touched[i]) deps[ndeps++] = s->files[i].path;
        rewrite_ctx ctx = {s, touched, &nf, rw, rows};
        lh_commit_spec spec = {.kind = LH_COMMIT_REWRITE, .build = rewrite_build, .ctx = &ctx,
                               .depends_on = deps, .ndepends = ndeps, .reads_rows = 1, .read = s, .conn = conn};
        rc = table_commit_retry(t, &spec, &out->version, err);
        free(deps);
        if (rc == 0) {
            out->rows_affected = rows;
            out->files_removed = ndeps;
            out->files_added = nf.rows > 0 ? 1 : 0;
        } else if (err && err->code == LH_E_CONFLICT) {
            rc = 2;
        }
    }
    if (rc != 0 || nf.rows == 0) table_new_file_discard(t->st, &nf);
    table_new_file_free(&nf);
    free(touched);
    return rc;
}

int table_rewrite(lh_table *t, duckdb_connection conn, const lh_table_rewrite *rw, lh_rewrite_result *out,
                  lh_err *err) {
    memset(out, 0, sizeof *out);
    int rc = -1;
    for (int attempt = 0; attempt < REWRITE_ATTEMPTS; attempt++) {
        lh_snapshot *s = table_snapshot(t, -1, err);
        if (!s) break;
        out->attempts = attempt + 1;
        /* deletion vectors instead of rewrites (table_dv_write.c) when the table
         * enables them and the statement is not confined to a role's view */
        int dvs = 0, dv_writes = table_dv_enabled(s) && !rw->view_select && !rw->view_filter;
        for (size_t i = 0; i < s->nfiles && !dv_writes; i++) dvs |= s->files[i].deletion_vector != NULL;
        if (s->npartition_columns > 0 || dvs || (s->column_mapping && strcmp(s->column_mapping, "none"))) {
            lh_err_set(err, LH_E_UNPROCESSABLE, "%s on tables with %s is not supported yet", rw->operation,
                       s->npartition_columns ? "partition columns" : dvs ? "deletion vectors" : "column mapping");
            table_snapshot_free(s);
            break;
        }
        out->read_version = s->version;
        lh_err_clear(err);
        rc = dv_writes ? table_dv_rewrite_once(t, conn, s, rw, out, err) : rewrite_once(t, conn, s, rw, out, err);
        table_snapshot_free(s);
        if (rc != 2) break;
        LOG_DEBUG("%s on %s: %s; planning again", rw->operation, t->prefix, err ? err->msg : "conflict");
    }
    if (rc == 2) {
        lh_err_prefix(err, "%s on '%s' lost to concurrent commits %d times", rw->operation, t->prefix, out->attempts);
        rc = -1;
    }
    return rc;
}
