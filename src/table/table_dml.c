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

/* The rows of the files flagged in pick (all when NULL) as the caller sees
 * them (ADR 0240), one relation named rw->relation: its columns are
 * rw->view_select over the stored ones (all as stored without one), plus
 * the file name (and row number with LH_SCAN_ROW_NUMBER in flags), whether
 * the row is in the caller's view (rw->view_filter) and each stored value,
 * under names carrying a random token so that no predicate can name them —
 * the statement's SQL is bound against the caller's view before it gets
 * here (query/dml.c). The stored rows come through table_files_scan
 * (column mapping applied, columns added later read NULL). */
typedef struct {
    char tok[17];
} viewed_names;

static void append_viewed(lh_table *t, lh_strbuf *sb, const lh_snapshot *s, const lh_table_rewrite *rw,
                          const viewed_names *vn, const int *pick, int flags) {
    sb_printf(sb, "(SELECT filename AS lh_%s_f", vn->tok);
    if (flags & LH_SCAN_ROW_NUMBER) sb_printf(sb, ", file_row_number AS lh_%s_r", vn->tok);
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
    sb_printf(sb, ", coalesce((%s), false) AS lh_%s_v FROM ", rw->view_filter ? rw->view_filter : "true", vn->tok);
    table_files_scan(t, sb, s, pick, LH_SCAN_FILENAME | flags);
    sb_puts(sb, " AS lh_stored) AS ");
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

int64_t table_plan_files(lh_table *t, duckdb_connection conn, const lh_snapshot *s, const char *sql, int *touched,
                         lh_err *err) {
    duckdb_result r;
    int64_t rows = -1;
    if (duckdb_query(conn, sql, &r) != DuckDBSuccess) {
        lh_err_set(err, LH_E_BAD_REQUEST, "%s", duckdb_result_error(&r));
    } else {
        rows = 0;
        for (idx_t k = 0; k < duckdb_row_count(&r); k++) {
            char *fname = duckdb_value_varchar(&r, 0, k);
            for (size_t i = 0; fname && i < s->nfiles; i++) {
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
    return rows;
}

int *table_dml_prune_pick(const lh_snapshot *s, const lh_table_rewrite *rw, size_t *kept_out) {
    *kept_out = s->nfiles;
    if (!rw->nprune || s->nfiles == 0) return NULL;
    unsigned char *keep = lh_calloc(s->nfiles + 1, 1);
    size_t kept = table_prune_files(s, rw->prune, rw->nprune, keep);
    int *pick = NULL;
    if (kept < s->nfiles) {
        pick = lh_calloc(s->nfiles + 1, sizeof *pick);
        for (size_t i = 0; i < s->nfiles; i++) pick[i] = keep[i];
    }
    LOG_DEBUG("%s: %zu of %zu files may hold a matching row", rw->operation, kept, s->nfiles);
    free(keep);
    *kept_out = kept;
    return pick;
}

/* Flags the files holding a matching row in touched[]; returns the rows matched or -1. */
static int64_t plan_touched(lh_table *t, duckdb_connection conn, const lh_snapshot *s, const lh_table_rewrite *rw,
                            const viewed_names *vn, int *touched, lh_err *err) {
    size_t kept;
    int *pick = table_dml_prune_pick(s, rw, &kept);
    if (kept == 0) { /* no file can hold a matching row */
        free(pick);
        return 0;
    }
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_printf(&sql, "SELECT lh_%s_f, count(*) FROM ", vn->tok);
    append_viewed(t, &sql, s, rw, vn, pick, 0);
    sb_puts(&sql, " WHERE ");
    append_match(&sql, rw, vn);
    sb_puts(&sql, " GROUP BY ALL");
    int64_t rows = table_plan_files(t, conn, s, sql.buf, touched, err);
    sb_free(&sql);
    free(pick);
    return rows;
}

/* What rewrite_select reads: the rows that replace the touched files, or
 * a part of the statement's change set (table_mutations.c). */
typedef enum { SEL_REWRITE, SEL_PREIMAGE, SEL_POSTIMAGE, SEL_DELETED, SEL_UPDATED } sel_kind;

/* Stored values, but for the matching rows' assigned columns (SEL_REWRITE,
 * SEL_POSTIMAGE, SEL_UPDATED: the matching rows alone, no extra column);
 * change-set rows carry _change_type and lh_pair first. */
static char *rewrite_select(lh_table *t, const lh_snapshot *s, const int *touched, const lh_table_rewrite *rw,
                            const viewed_names *vn, sel_kind kind) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "SELECT ");
    if (kind == SEL_PREIMAGE || kind == SEL_POSTIMAGE)
        sb_printf(&sb, "'update_%s' AS _change_type, lh_%s_f || '#' || lh_%s_r AS lh_pair, ",
                  kind == SEL_PREIMAGE ? "preimage" : "postimage", vn->tok, vn->tok);
    else if (kind == SEL_DELETED)
        sb_puts(&sb, "'delete' AS _change_type, NULL::VARCHAR AS lh_pair, ");
    for (size_t c = 0; c < s->ncolumns; c++) {
        const char *name = s->columns[c].name;
        if (c) sb_puts(&sb, ", ");
        size_t k = 0;
        while (k < rw->nset && strcmp(rw->set_cols[k], name)) k++;
        if (k == rw->nset || kind == SEL_PREIMAGE || kind == SEL_DELETED) {
            sb_printf(&sb, "lh_%s_%zu AS ", vn->tok, c);
            sb_sql_ident(&sb, name);
            continue;
        }
        char *ty = table_duckdb_type(s->columns[c].type);
        if (kind == SEL_UPDATED) { /* every row here matches: no CASE */
            sb_printf(&sb, "CAST((%s) AS %s) AS ", rw->set_exprs[k], ty);
            sb_sql_ident(&sb, name);
            free(ty);
            continue;
        }
        sb_puts(&sb, "CAST(CASE WHEN ");
        append_match(&sb, rw, vn);
        sb_printf(&sb, " THEN (%s) ELSE lh_%s_%zu END AS %s) AS ", rw->set_exprs[k], vn->tok, c, ty);
        sb_sql_ident(&sb, name);
        free(ty);
    }
    sb_puts(&sb, " FROM ");
    append_viewed(t, &sb, s, rw, vn, touched, kind == SEL_PREIMAGE || kind == SEL_POSTIMAGE ? LH_SCAN_ROW_NUMBER : 0);
    if (kind != SEL_REWRITE) {
        sb_puts(&sb, " WHERE ");
        append_match(&sb, rw, vn);
    } else if (rw->nset == 0) { /* DELETE */
        sb_puts(&sb, " WHERE NOT ");
        append_match(&sb, rw, vn);
    }
    return sb_steal(&sb);
}

char *table_dml_updated_sql(lh_table *t, const lh_snapshot *s, const int *pick, const lh_table_rewrite *rw) {
    viewed_names vn;
    lh_random_hex(vn.tok, 8);
    return rewrite_select(t, s, pick, rw, &vn, SEL_UPDATED);
}

char *table_dml_match_sql(lh_table *t, const lh_snapshot *s, const int *pick, const lh_table_rewrite *rw) {
    viewed_names vn;
    lh_random_hex(vn.tok, 8);
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_printf(&sql, "SELECT lh_%s_f, lh_%s_r FROM ", vn.tok, vn.tok);
    append_viewed(t, &sql, s, rw, &vn, pick, LH_SCAN_ROW_NUMBER);
    sb_puts(&sql, " WHERE ");
    append_match(&sql, rw, &vn);
    sb_puts(&sql, " ORDER BY 1, 2");
    return sb_steal(&sql);
}

/* The statement's change set: DELETE's deleted rows, UPDATE's two images. */
static char *rewrite_changes(lh_table *t, const lh_snapshot *s, const int *touched, const lh_table_rewrite *rw,
                             const viewed_names *vn) {
    if (rw->nset == 0) return rewrite_select(t, s, touched, rw, vn, SEL_DELETED);
    char *pre = rewrite_select(t, s, touched, rw, vn, SEL_PREIMAGE);
    char *post = rewrite_select(t, s, touched, rw, vn, SEL_POSTIMAGE);
    char *both = lh_asprintf("%s UNION ALL %s", pre, post);
    free(pre);
    free(post);
    return both;
}

static char *rewrite_text(const lh_snapshot *s, const int *touched, const table_partitioned *nfs,
                          const lh_table_rewrite *rw, const json_t *cdc, int64_t rows, int64_t now) {
    json_t *lines = json_array();
    size_t removed = 0;
    for (size_t i = 0; i < s->nfiles; i++)
        if (touched[i]) {
            json_array_append_new(lines, table_file_remove_action(&s->files[i], now));
            removed++;
        }
    char nrem[32], nadd[32], nrows[32], nout[32];
    int64_t out_rows = 0;
    size_t added = 0;
    for (size_t i = 0; i < nfs->nfiles; i++)
        if (nfs->files[i].rows > 0) out_rows += nfs->files[i].rows, added++;
    snprintf(nrem, sizeof nrem, "%zu", removed);
    snprintf(nadd, sizeof nadd, "%zu", added);
    snprintf(nrows, sizeof nrows, "%" PRId64, rows);
    snprintf(nout, sizeof nout, "%" PRId64, out_rows);
    int del = rw->nset == 0;
    json_t *metrics = json_pack("{s:s, s:s, s:s, s:s}", "numRemovedFiles", nrem, "numAddedFiles", nadd,
                                del ? "numDeletedRows" : "numUpdatedRows", nrows,
                                del ? "numCopiedRows" : "numOutputRows", nout);
    json_t *params = json_pack("{s:s}", "predicate", rw->predicate ? rw->predicate : "true");
    json_t *ci = table_commit_info(rw->operation, params, s->version, metrics, rw->principal, now);
    json_object_set_new(json_object_get(ci, "commitInfo"), "isBlindAppend", json_false());
    json_array_insert_new(lines, 0, ci);
    for (size_t i = 0; i < nfs->nfiles; i++)
        if (nfs->files[i].rows > 0) json_array_append_new(lines, table_add_action(&nfs->files[i], now, 1));
    if (cdc) json_array_append_new(lines, json_deep_copy(cdc));
    return table_commit_lines(lines);
}

typedef struct {
    const lh_snapshot *read;
    const int *touched;
    const table_partitioned *nfs;
    const lh_table_rewrite *rw;
    const json_t *cdc;
    int64_t rows;
} rewrite_ctx;

/* The same removes and add on whatever base the retry loop hands in: they
 * name the files read, which the conflict check keeps active. */
static char *rewrite_build(void *ctx, const lh_snapshot *base, lh_err *err) {
    rewrite_ctx *r = ctx;
    (void)base, (void)err;
    return rewrite_text(r->read, r->touched, r->nfs, r->rw, r->cdc, r->rows, lh_now_ms());
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
    table_partitioned nfs = {0};
    lh_change_capture cap = {0};
    char *sel = rewrite_select(t, s, touched, rw, &vn, SEL_REWRITE);
    int rc = table_rewrite_files(t, conn, s, sel, &nfs, err); /* one file, or one a partition */
    free(sel);
    if (rc == 0 && (s->change_data_feed || rw->row_events)) {
        char *cs = rewrite_changes(t, s, touched, rw, &vn);
        int kinds = !rw->row_events ? 0 : rw->nset ? LH_ROW_EVENTS_UPDATES : LH_ROW_EVENTS_ROWS;
        rc = table_change_capture(t, conn, s, cs, kinds, &cap, err);
        free(cs);
    }
    if (rc == 0) {
        const char **deps = lh_calloc(s->nfiles + 1, sizeof *deps);
        size_t ndeps = 0;
        for (size_t i = 0; i < s->nfiles; i++)
            if (touched[i]) deps[ndeps++] = s->files[i].path;
        rewrite_ctx ctx = {s, touched, &nfs, rw, cap.cdc, rows};
        lh_commit_spec spec = {.kind = LH_COMMIT_REWRITE, .build = rewrite_build, .ctx = &ctx,
                               .depends_on = deps, .ndepends = ndeps, .reads_rows = 1, .read = s, .conn = conn};
        rc = table_commit_retry(t, &spec, &out->version, err);
        free(deps);
        if (rc == 0) {
            out->rows_affected = rows;
            out->files_removed = ndeps;
            for (size_t i = 0; i < nfs.nfiles; i++) out->files_added += nfs.files[i].rows > 0;
            cap.committed = 1;
            out->events = cap.events;
            cap.events = NULL;
        } else if (err && err->code == LH_E_CONFLICT) {
            rc = 2;
        }
    }
    for (size_t i = 0; i < nfs.nfiles; i++)
        if (rc != 0 || nfs.files[i].rows == 0) table_new_file_discard(t->st, &nfs.files[i]);
    table_partitioned_clear(&nfs);
    table_change_capture_clear(&cap);
    free(touched);
    return rc;
}

int table_rewrite_loop(lh_table *t, const char *operation, table_rewrite_attempt_fn once, void *ctx, int *attempts,
                       lh_err *err) {
    int rc = -1;
    *attempts = 0;
    for (int attempt = 0; attempt < REWRITE_ATTEMPTS; attempt++) {
        lh_snapshot *s = table_snapshot(t, -1, err);
        if (!s) break;
        *attempts = attempt + 1;
        int dvs = 0;
        for (size_t i = 0; i < s->nfiles; i++) dvs |= s->files[i].deletion_vector != NULL;
        int parts = s->npartition_columns > 0 && s->change_data_feed; /* cdc files lack partition values */
        if (parts || dvs) {
            lh_err_set(err, LH_E_UNPROCESSABLE, "%s on tables with %s is not supported yet", operation,
                       parts ? "partition columns and the change data feed" : "deletion vectors");
            table_snapshot_free(s);
            break;
        }
        lh_err_clear(err);
        rc = once(ctx, t, s, err);
        table_snapshot_free(s);
        if (rc != 2) break;
        LOG_DEBUG("%s on %s: %s; planning again", operation, t->prefix, err ? err->msg : "conflict");
    }
    if (rc == 2) {
        lh_err_prefix(err, "%s on '%s' lost to concurrent commits %d times", operation, t->prefix, *attempts);
        rc = -1;
    }
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
         * enables them, confined to a role's view or not (ADR 0277) */
        int dvs = 0, dv_writes = table_dv_enabled(s);
        for (size_t i = 0; i < s->nfiles && !dv_writes; i++) dvs |= s->files[i].deletion_vector != NULL;
        int mapped = dv_writes && s->column_mapping && strcmp(s->column_mapping, "none"); /* DV writes: not yet */
        /* partitioned tables: copy-on-write only, without the change feed's files (ADR 0275) */
        int parts = s->npartition_columns > 0 && (dv_writes || s->change_data_feed);
        if (parts || dvs || mapped) {
            lh_err_set(err, LH_E_UNPROCESSABLE, "%s on tables with %s is not supported yet", rw->operation,
                       parts ? (dv_writes ? "partition columns and deletion vectors" : "partition columns and the change data feed")
                             : dvs ? "deletion vectors" : "column mapping");
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
