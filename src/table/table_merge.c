/*
 * table_merge.c — MERGE INTO as one Delta commit, copy-on-write (ADR 0250).
 *
 * A target row that joins a source row may be updated or deleted, a source
 * row that joins none may be inserted. So the files to rewrite are those
 * holding a target row that joins the source (a semi-join with the
 * filename column); their rows are loaded into a temporary table on the
 * caller's connection, DuckDB's own MERGE runs the statement's WHEN clauses
 * against it (RETURNING merge_action counts what it did), and the table's
 * content is written as one new file. The commit removes exactly the
 * touched files and adds that one; untouched files stay.
 *
 * Conflicts as for UPDATE (table_dml.c): the commit depends on the files it
 * read and reads rows, and a lost race plans the whole statement again on
 * the new snapshot (table_rewrite_loop).
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/duck.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "table/table.h"
#include "table/table_internal.h"

typedef struct {
    duckdb_connection conn;
    const lh_table_merge *m;
    lh_merge_result *out;
    char tmp[64];             /* the temporary table's name */
    char pre[64];             /* its rows before the MERGE (lh_rid = rowid), for the change set */
} merge_ctx;

static int run(duckdb_connection conn, const char *sql, lh_err *err) {
    return lh_duck_run(conn, sql, NULL, LH_E_BAD_REQUEST, NULL, err);
}

/* Flags the files holding a target row that joins the source; -1 on error. */
static int64_t plan_merge(merge_ctx *c, lh_table *t, const lh_snapshot *s, int *touched, lh_err *err) {
    if (s->nfiles == 0) return 0;
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_puts(&sql, "SELECT ");
    sb_sql_ident(&sql, c->m->target_alias);
    sb_puts(&sql, ".filename, count(*) FROM ");
    table_files_scan(t, &sql, s, NULL, LH_SCAN_FILENAME);
    sb_puts(&sql, " AS ");
    sb_sql_ident(&sql, c->m->target_alias);
    sb_printf(&sql, " SEMI JOIN %s ON (%s) GROUP BY 1", c->m->source, c->m->on);
    int64_t rows = table_plan_files(t, c->conn, s, sql.buf, touched, err);
    sb_free(&sql);
    return rows;
}

/* The temporary table with the table's columns, holding the touched files' rows. */
static int load_target(merge_ctx *c, lh_table *t, const lh_snapshot *s, const int *touched, int64_t nrows,
                       lh_err *err) {
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_printf(&sql, "CREATE TEMP TABLE %s (", c->tmp);
    for (size_t i = 0; i < s->ncolumns; i++) {
        char *ty = table_duckdb_type(s->columns[i].type);
        if (i) sb_puts(&sql, ", ");
        sb_sql_ident(&sql, s->columns[i].name);
        sb_printf(&sql, " %s", ty);
        free(ty);
    }
    sb_puts(&sql, ")");
    int rc = run(c->conn, sql.buf, err);
    if (rc == 0 && nrows > 0) {
        sb_reset(&sql);
        sb_printf(&sql, "INSERT INTO %s BY NAME SELECT * FROM ", c->tmp);
        table_files_scan(t, &sql, s, touched, 0);
        rc = run(c->conn, sql.buf, err);
    }
    sb_free(&sql);
    return rc;
}

/* DuckDB's MERGE on the temporary table; counts what it did. */
static int merge_rows(merge_ctx *c, lh_err *err) {
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_printf(&sql, "MERGE INTO %s AS ", c->tmp);
    sb_sql_ident(&sql, c->m->target_alias);
    sb_printf(&sql, " USING %s ON (%s) %s RETURNING merge_action", c->m->source, c->m->on, c->m->clauses);
    duckdb_result r;
    int rc = 0;
    if (duckdb_query(c->conn, sql.buf, &r) != DuckDBSuccess) {
        rc = lh_err_set(err, LH_E_BAD_REQUEST, "%s", duckdb_result_error(&r));
    } else {
        for (idx_t k = 0; k < duckdb_row_count(&r); k++) {
            char *a = duckdb_value_varchar(&r, 0, k);
            if (a && !strcmp(a, "INSERT")) c->out->inserted++;
            else if (a && !strcmp(a, "UPDATE")) c->out->updated++;
            else if (a && !strcmp(a, "DELETE")) c->out->deleted++;
            duckdb_free(a);
        }
    }
    duckdb_destroy_result(&r);
    sb_free(&sql);
    return rc;
}

/* "<alias>.c1, <alias>.c2, ..." of s's columns. */
static void append_cols(lh_strbuf *sb, const lh_snapshot *s, const char *alias) {
    for (size_t i = 0; i < s->ncolumns; i++) {
        sb_printf(sb, "%s%s.", i ? ", " : "", alias);
        sb_sql_ident(sb, s->columns[i].name);
    }
}

/* The change set (table_mutations.c) from the rows before (pre, by rowid)
 * and after the MERGE: rowids of kept rows do not change, inserted rows get
 * new ones above the old maximum. An update that changed no value is not a change. */
static char *merge_changes(const merge_ctx *c, const lh_snapshot *s) {
    lh_strbuf sb = LH_STRBUF_INIT, join = LH_STRBUF_INIT;
    sb_printf(&join, " FROM %s p JOIN %s n ON p.lh_rid = n.rowid WHERE row(", c->pre, c->tmp);
    append_cols(&join, s, "p");
    sb_puts(&join, ") IS DISTINCT FROM row(");
    append_cols(&join, s, "n");
    sb_putc(&join, ')');
    sb_puts(&sb, "SELECT 'update_preimage' AS _change_type, p.lh_rid::VARCHAR AS lh_pair, ");
    append_cols(&sb, s, "p");
    sb_printf(&sb, "%s UNION ALL SELECT 'update_postimage', n.rowid::VARCHAR, ", join.buf);
    append_cols(&sb, s, "n");
    sb_printf(&sb, "%s UNION ALL SELECT 'delete', NULL, ", join.buf);
    append_cols(&sb, s, "p");
    sb_printf(&sb, " FROM %s p WHERE p.lh_rid NOT IN (SELECT rowid FROM %s) UNION ALL SELECT 'insert', NULL, ", c->pre, c->tmp);
    append_cols(&sb, s, "n");
    sb_printf(&sb, " FROM %s n WHERE n.rowid > (SELECT coalesce(max(lh_rid), -1) FROM %s)", c->tmp, c->pre);
    sb_free(&join);
    return sb_steal(&sb);
}

static char *json_text(const json_t *v) {
    return v ? json_dumps(v, JSON_COMPACT) : lh_strdup("[]");
}

static char *metric(int64_t v) { return lh_asprintf("%" PRId64, v); }

typedef struct {
    const merge_ctx *c;
    const lh_snapshot *read;
    const int *touched;
    const table_partitioned *nfs; /* one file, or one a partition */
    const json_t *cdc;
    size_t removed;
} merge_commit;

/* The commit: commitInfo (operation MERGE, Spark's parameter and metric
 * names), a remove for each touched file, an add for the new one. */
static char *merge_build(void *ctx, const lh_snapshot *base, lh_err *err) {
    (void)base, (void)err;
    merge_commit *mc = ctx;
    const lh_merge_result *o = mc->c->out;
    int64_t now = lh_now_ms(), out_rows = 0, added = 0;
    for (size_t i = 0; i < mc->nfs->nfiles; i++)
        if (mc->nfs->files[i].rows > 0) out_rows += mc->nfs->files[i].rows, added++;
    json_t *lines = json_array();
    for (size_t i = 0; i < mc->read->nfiles; i++)
        if (mc->touched[i]) json_array_append_new(lines, table_file_remove_action(&mc->read->files[i], now));
    char *matched = json_text(mc->c->m->matched), *not_matched = json_text(mc->c->m->not_matched);
    json_t *params = json_pack("{s:s, s:s, s:s}", "predicate", mc->c->m->on, "matchedPredicates", matched,
                               "notMatchedPredicates", not_matched);
    free(matched);
    free(not_matched);
    char *v[7] = {metric(o->inserted), metric(o->updated), metric(o->deleted), metric((int64_t)mc->removed),
                  metric(added), metric(out_rows), metric(out_rows - o->inserted - o->updated)};
    json_t *metrics = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "numTargetRowsInserted", v[0],
                                "numTargetRowsUpdated", v[1], "numTargetRowsDeleted", v[2], "numTargetFilesRemoved",
                                v[3], "numTargetFilesAdded", v[4], "numOutputRows", v[5], "numTargetRowsCopied", v[6]);
    for (int i = 0; i < 7; i++) free(v[i]);
    json_t *ci = table_commit_info("MERGE", params, mc->read->version, metrics, mc->c->m->principal, now);
    json_object_set_new(json_object_get(ci, "commitInfo"), "isBlindAppend", json_false());
    json_array_insert_new(lines, 0, ci);
    for (size_t i = 0; i < mc->nfs->nfiles; i++)
        if (mc->nfs->files[i].rows > 0) json_array_append_new(lines, table_add_action(&mc->nfs->files[i], now, 1));
    if (mc->cdc) json_array_append_new(lines, json_deep_copy(mc->cdc));
    return table_commit_lines(lines);
}

/* Writes the temporary table as the new file and commits. */
static int merge_commit_rows(merge_ctx *c, lh_table *t, const lh_snapshot *s, const int *touched,
                             lh_change_capture *cap, lh_err *err) {
    table_partitioned nfs = {0};
    char *sel = lh_asprintf("SELECT * FROM %s", c->tmp);
    int rc = table_rewrite_files(t, c->conn, s, sel, &nfs, err);
    free(sel);
    if (rc == 0) {
        const char **deps = lh_calloc(s->nfiles + 1, sizeof *deps);
        size_t ndeps = 0;
        for (size_t i = 0; i < s->nfiles; i++)
            if (touched[i]) deps[ndeps++] = s->files[i].path;
        merge_commit mc = {c, s, touched, &nfs, cap->cdc, ndeps};
        lh_commit_spec spec = {.kind = LH_COMMIT_REWRITE, .build = merge_build, .ctx = &mc, .depends_on = deps,
                               .ndepends = ndeps, .reads_rows = 1, .read = s, .conn = c->conn};
        rc = table_commit_retry(t, &spec, &c->out->version, err);
        free(deps);
        if (rc == 0) {
            c->out->files_removed = ndeps;
            for (size_t i = 0; i < nfs.nfiles; i++) c->out->files_added += nfs.files[i].rows > 0;
            cap->committed = 1;
            c->out->events = cap->events;
            cap->events = NULL;
        } else if (err && err->code == LH_E_CONFLICT) {
            rc = 2;
        }
    }
    for (size_t i = 0; i < nfs.nfiles; i++)
        if (rc != 0 || nfs.files[i].rows == 0) table_new_file_discard(t->st, &nfs.files[i]);
    table_partitioned_clear(&nfs);
    return rc;
}

static int merge_once(void *ctx, lh_table *t, const lh_snapshot *s, lh_err *err) {
    merge_ctx *c = ctx;
    c->out->read_version = s->version;
    c->out->inserted = c->out->updated = c->out->deleted = 0;
    int changes = s->change_data_feed || c->m->row_events;
    int *touched = lh_calloc(s->nfiles + 1, sizeof *touched);
    lh_change_capture cap = {0};
    int64_t nrows = plan_merge(c, t, s, touched, err);
    int rc = nrows < 0 ? -1 : load_target(c, t, s, touched, nrows, err);
    if (rc == 0 && changes) {
        char *sql = lh_asprintf("CREATE TEMP TABLE %s AS SELECT rowid AS lh_rid, * FROM %s", c->pre, c->tmp);
        rc = run(c->conn, sql, err);
        free(sql);
    }
    if (rc == 0) rc = merge_rows(c, err);
    if (rc == 0 && c->out->inserted + c->out->updated + c->out->deleted == 0) rc = 1;
    if (rc == 0 && changes) {
        char *cs = merge_changes(c, s);
        int kinds = c->m->row_events ? LH_ROW_EVENTS_UPDATES | LH_ROW_EVENTS_ROWS : 0;
        rc = table_change_capture(t, c->conn, s, cs, kinds, &cap, err);
        free(cs);
    }
    if (rc == 0) rc = merge_commit_rows(c, t, s, touched, &cap, err);
    char *drop = lh_asprintf("DROP TABLE IF EXISTS %s; DROP TABLE IF EXISTS %s", c->tmp, c->pre);
    run(c->conn, drop, NULL);
    free(drop);
    table_change_capture_clear(&cap);
    free(touched);
    return rc;
}

int table_merge(lh_table *t, duckdb_connection conn, const lh_table_merge *m, lh_merge_result *out, lh_err *err) {
    memset(out, 0, sizeof *out);
    merge_ctx c = {.conn = conn, .m = m, .out = out};
    char hex[17];
    lh_random_hex(hex, 8);
    snprintf(c.tmp, sizeof c.tmp, "temp.main.lh_merge_%s", hex);
    snprintf(c.pre, sizeof c.pre, "temp.main.lh_merge_pre_%s", hex);
    return table_rewrite_loop(t, "MERGE", merge_once, &c, &out->attempts, err);
}
