/*
 * table_mutations.c — what a row-changing commit (UPDATE, DELETE, MERGE)
 * says about the rows it changed (ADR 0252, 0253).
 *
 * The statement describes its changes as a change set: a SELECT whose rows
 * are the changed rows with _change_type ('insert', 'delete',
 * 'update_preimage', 'update_postimage'), lh_pair (the same text for the
 * two images of one updated row, NULL otherwise) and the table's columns by
 * logical name. From it:
 *  - the change data feed: when the table enables it
 *    (delta.enableChangeDataFeed), the set is written as one
 *    _change_data/cdc-<uuid>.snappy.parquet file (physical column names
 *    plus _change_type) and the commit carries its cdc action, so
 *    table_changes() reads update_preimage / update_postimage rows;
 *  - row events for the journal: per updated row one event per field whose
 *    value changed (old → new, as text), per inserted row a "create" and
 *    per deleted row a "delete" event carrying the row as JSON; keyed by
 *    the table's row key (table_row_key) and bounded at
 *    LH_TABLE_ROW_EVENTS_MAX events per statement (the result says when
 *    more were left out).
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/duck.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "table/table.h"
#include "table/table_internal.h"

const char *table_row_key(const lh_snapshot *s) {
    if (s->ncolumns == 0) return NULL;
    if (s->ncluster_by > 0) return s->cluster_by[0];
    for (size_t i = 0; i < s->ncolumns; i++)
        if (!strcmp(s->columns[i].name, "id")) return s->columns[i].name;
    for (size_t i = 0; i < s->ncolumns; i++) {
        size_t n = strlen(s->columns[i].name);
        if (n > 3 && !strcmp(s->columns[i].name + n - 3, "_id")) return s->columns[i].name;
    }
    return s->columns[0].name;
}

void table_change_capture_clear(lh_change_capture *c) {
    if (c->cdc_key && !c->committed) storage_delete(c->st, c->cdc_key, NULL);
    free(c->cdc_key);
    json_decref(c->cdc);
    json_decref(c->events);
    memset(c, 0, sizeof *c);
}

static int run(duckdb_connection conn, const char *sql, duckdb_result *res, lh_err *err) {
    return lh_duck_run(conn, sql, res, LH_E_BAD_REQUEST, NULL, err);
}

/* The change set as one cdc file of physical columns + _change_type,
 * staged locally and published like a data file. */
static int write_cdc(lh_table *t, duckdb_connection conn, const lh_snapshot *s, const char *cs,
                     lh_change_capture *c, lh_err *err) {
    char uuid[37];
    lh_uuid4(uuid);
    char *rel = lh_asprintf("_change_data/cdc-%s.snappy.parquet", uuid);
    char *key = lh_asprintf("%s/%s", t->prefix, rel);
    char *stage = storage_stage_path(t->st, key, err);
    int rc = stage ? 0 : -1;
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_puts(&sql, "COPY (SELECT ");
    for (size_t i = 0; i < s->ncolumns; i++) {
        sb_sql_ident(&sql, s->columns[i].name);
        sb_puts(&sql, " AS ");
        sb_sql_ident(&sql, s->columns[i].physical_name);
        sb_puts(&sql, ", ");
    }
    sb_printf(&sql, "_change_type FROM (%s) AS lh_cs) TO ", cs);
    if (stage) sb_sql_str(&sql, stage);
    sb_puts(&sql, " (FORMAT parquet, COMPRESSION snappy)");
    if (rc == 0) rc = run(conn, sql.buf, NULL, err);
    struct stat sb;
    if (rc == 0 && stat(stage, &sb) != 0) rc = lh_err_set(err, LH_E_INTERNAL, "staged cdc file vanished");
    if (rc != 0 && stage) unlink(stage);
    else if (rc == 0 && (rc = storage_put_file(t->st, key, stage, 0, err)) == 0) { /* consumes stage */
        c->st = t->st;
        c->cdc_key = key;
        key = NULL;
        c->cdc = json_pack("{s:{s:s, s:{}, s:I, s:b}}", "cdc", "path", rel, "partitionValues", "size",
                           (json_int_t)sb.st_size, "dataChange", 0);
    }
    sb_free(&sql);
    free(stage);
    free(key);
    free(rel);
    return rc;
}

/* A struct literal {'col': <alias>.col::VARCHAR, ...} of s's columns. */
static void append_row_struct(lh_strbuf *sb, const lh_snapshot *s, const char *alias) {
    sb_putc(sb, '{');
    for (size_t i = 0; i < s->ncolumns; i++) {
        if (i) sb_puts(sb, ", ");
        sb_sql_str(sb, s->columns[i].name);
        sb_printf(sb, ": %s.", alias);
        sb_sql_ident(sb, s->columns[i].name);
    }
    sb_putc(sb, '}');
}

/* The update branch of the events query: one row per changed field. */
static void append_update_events(lh_strbuf *sql, const lh_snapshot *s, const char *k) {
    sb_printf(sql, "SELECT * FROM (SELECT 'update' AS t, post.%s::VARCHAR AS id, unnest([", k);
    for (size_t i = 0; i < s->ncolumns; i++) {
        if (i) sb_puts(sql, ", ");
        sb_puts(sql, "{'f': ");
        sb_sql_str(sql, s->columns[i].name);
        sb_puts(sql, ", 'o': pre.");
        sb_sql_ident(sql, s->columns[i].name);
        sb_puts(sql, "::VARCHAR, 'n': post.");
        sb_sql_ident(sql, s->columns[i].name);
        sb_puts(sql, "::VARCHAR}");
    }
    sb_puts(sql, "]) AS ch FROM (SELECT * FROM cs WHERE _change_type = 'update_preimage') AS pre JOIN "
                 "(SELECT * FROM cs WHERE _change_type = 'update_postimage') AS post ON pre.lh_pair = post.lh_pair) "
                 "WHERE ch.o IS DISTINCT FROM ch.n");
}

/* The insert / delete branch: one row per row, the row as JSON. */
static void append_row_events(lh_strbuf *sql, const lh_snapshot *s, const char *k) {
    sb_printf(sql, "SELECT CASE _change_type WHEN 'insert' THEN 'create' ELSE 'delete' END, cs.%s::VARCHAR, "
                   "{'f': NULL::VARCHAR, 'o': CASE WHEN _change_type = 'delete' THEN to_json(", k);
    append_row_struct(sql, s, "cs");
    sb_puts(sql, ")::VARCHAR END, 'n': CASE WHEN _change_type = 'insert' THEN to_json(");
    append_row_struct(sql, s, "cs");
    sb_puts(sql, ")::VARCHAR END} FROM cs WHERE _change_type IN ('insert', 'delete')");
}

/* The journal's row events of change set cs (the kinds in `kinds`), at
 * most LH_TABLE_ROW_EVENTS_MAX. */
static int row_events(duckdb_connection conn, const lh_snapshot *s, const char *cs, int kinds, lh_change_capture *c,
                      lh_err *err) {
    const char *key = table_row_key(s);
    if (!key || !kinds) return 0;
    lh_strbuf sql = LH_STRBUF_INIT, k = LH_STRBUF_INIT;
    sb_sql_ident(&k, key);
    sb_printf(&sql, "WITH cs AS (%s) SELECT t, coalesce(id, 'null'), ch.f, ch.o, ch.n FROM (", cs);
    if (kinds & LH_ROW_EVENTS_UPDATES) append_update_events(&sql, s, k.buf);
    if (kinds == (LH_ROW_EVENTS_UPDATES | LH_ROW_EVENTS_ROWS)) sb_puts(&sql, " UNION ALL ");
    if (kinds & LH_ROW_EVENTS_ROWS) append_row_events(&sql, s, k.buf);
    sb_printf(&sql, ") AS lh_ev(t, id, ch) LIMIT %d", LH_TABLE_ROW_EVENTS_MAX + 1);
    duckdb_result r;
    int rc = run(conn, sql.buf, &r, err);
    if (rc == 0) {
        idx_t n = duckdb_row_count(&r);
        json_t *evs = json_array();
        static const char *const names[] = {"event_type", "entity_id", "field", "old_value", "new_value"};
        for (idx_t i = 0; i < n && i < LH_TABLE_ROW_EVENTS_MAX; i++) {
            json_t *e = json_object();
            for (idx_t col = 0; col < 5; col++) {
                char *v = duckdb_value_varchar(&r, col, i);
                if (v) json_object_set_new(e, names[col], json_string(v));
                duckdb_free(v);
            }
            json_array_append_new(evs, e);
        }
        duckdb_destroy_result(&r);
        c->events = json_pack("{s:s, s:o, s:b}", "key", key, "events", evs, "truncated", n > LH_TABLE_ROW_EVENTS_MAX);
    }
    sb_free(&sql);
    sb_free(&k);
    return rc;
}

int table_change_capture(lh_table *t, duckdb_connection conn, const lh_snapshot *s, const char *changeset_sql,
                         int event_kinds, lh_change_capture *out, lh_err *err) {
    memset(out, 0, sizeof *out);
    int rc = 0;
    if (s->change_data_feed) rc = write_cdc(t, conn, s, changeset_sql, out, err);
    if (rc == 0 && event_kinds) rc = row_events(conn, s, changeset_sql, event_kinds, out, err);
    if (rc != 0) table_change_capture_clear(out);
    return rc;
}

json_t *table_append_events(lh_table *t, duckdb_connection conn, int64_t version, lh_err *err) {
    lh_commit_winner w;
    if (table_commit_read(t, version, &w, err) != 0) return NULL;
    lh_snapshot *s = table_snapshot(t, version, err);
    json_t *out = NULL;
    if (s) {
        int *pick = lh_calloc(s->nfiles + 1, sizeof *pick), any = 0;
        for (size_t i = 0; i < s->nfiles; i++)
            for (size_t k = 0; k < w.nadded && !pick[i]; k++) any |= pick[i] = !strcmp(s->files[i].path, w.added[k]);
        lh_strbuf cs = LH_STRBUF_INIT;
        lh_change_capture c = {0};
        if (any) {
            sb_puts(&cs, "SELECT 'insert' AS _change_type, NULL::VARCHAR AS lh_pair, * FROM ");
            table_files_scan(t, &cs, s, pick, 0);
            if (row_events(conn, s, cs.buf, LH_ROW_EVENTS_ROWS, &c, err) == 0) {
                out = c.events;
                c.events = NULL;
            }
        }
        table_change_capture_clear(&c);
        sb_free(&cs);
        free(pick);
        table_snapshot_free(s);
    }
    table_commit_winner_clear(&w);
    return out;
}
