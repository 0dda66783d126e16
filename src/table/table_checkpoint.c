/*
 * table_checkpoint.c — Delta checkpoints: <version>.checkpoint.parquet (the
 * protocol, metaData and one add per active file, partition values as a
 * map) written by DuckDB from the snapshot, then _last_checkpoint.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "table/table.h"
#include "table/table_internal.h"

/* ---- checkpoints -------------------------------------------------------- */

static const char *const CP_ADD_T =
    "STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, "
    "modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR)";
static const char *const CP_META_T =
    "STRUCT(id VARCHAR, format STRUCT(provider VARCHAR, options MAP(VARCHAR, VARCHAR)), "
    "schemaString VARCHAR, partitionColumns VARCHAR[], configuration MAP(VARCHAR, VARCHAR), createdTime BIGINT)";
static const char *const CP_PROTO_T = "STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER)";

static void cp_row(lh_strbuf *sb, const char *add, const char *meta, const char *proto) {
    if (sb->len) sb_puts(sb, " UNION ALL ");
    sb_printf(sb, "SELECT CAST(%s AS %s) AS add, CAST(%s AS %s) AS metaData, CAST(%s AS %s) AS protocol",
              add ? add : "NULL", CP_ADD_T, meta ? meta : "NULL", CP_META_T, proto ? proto : "NULL", CP_PROTO_T);
}

static void cp_map(lh_strbuf *sb, const lh_table_file *f) {
    if (f->nparts == 0) {
        sb_puts(sb, "MAP {}::MAP(VARCHAR, VARCHAR)");
        return;
    }
    sb_puts(sb, "MAP {");
    for (size_t i = 0; i < f->nparts; i++) {
        if (i) sb_puts(sb, ", ");
        sb_sql_str(sb, f->part_names[i]);
        sb_puts(sb, ": ");
        if (f->part_values[i]) sb_sql_str(sb, f->part_values[i]);
        else sb_puts(sb, "NULL");
    }
    sb_putc(sb, '}');
}

static char *cp_add_literal(const lh_table_file *f) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "{'path': ");
    sb_sql_str(&sb, f->path); /* decoded; re-encode '%' so readers decode it back */
    sb_puts(&sb, ", 'partitionValues': ");
    cp_map(&sb, f);
    sb_printf(&sb, ", 'size': %" PRId64 ", 'modificationTime': %" PRId64 ", 'dataChange': false, 'stats': ",
              f->size, f->modification_time);
    if (f->stats) sb_sql_str(&sb, f->stats);
    else sb_puts(&sb, "NULL");
    sb_putc(&sb, '}');
    return sb_steal(&sb);
}

static char *cp_meta_literal(const lh_snapshot *s) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "{'id': ");
    sb_sql_str(&sb, s->table_id);
    sb_puts(&sb, ", 'format': {'provider': 'parquet', 'options': MAP {}::MAP(VARCHAR, VARCHAR)}, 'schemaString': ");
    sb_sql_str(&sb, s->schema_string);
    sb_puts(&sb, ", 'partitionColumns': [");
    for (size_t i = 0; i < s->npartition_columns; i++) {
        if (i) sb_putc(&sb, ',');
        sb_sql_str(&sb, s->partition_columns[i]);
    }
    sb_puts(&sb, "]::VARCHAR[], 'configuration': ");
    json_t *conf = json_loads(s->configuration, 0, NULL);
    const char *k;
    json_t *v;
    size_t n = 0;
    sb_puts(&sb, "MAP {");
    json_object_foreach(conf, k, v) {
        if (!json_is_string(v)) continue;
        if (n++) sb_puts(&sb, ", ");
        sb_sql_str(&sb, k);
        sb_puts(&sb, ": ");
        sb_sql_str(&sb, json_string_value(v));
    }
    sb_puts(&sb, "}::MAP(VARCHAR, VARCHAR)");
    json_decref(conf);
    sb_printf(&sb, ", 'createdTime': %" PRId64 "}", s->created_time);
    return sb_steal(&sb);
}

static int path_needs_encoding(const char *p) { return strchr(p, '%') != NULL; }

int table_checkpoint_protocol_ok(const lh_snapshot *s) {
    /* protocol rows without feature lists: up to reader 2 / writer 5 (column mapping) */
    return s->min_reader_version <= 2 && s->min_writer_version <= 5;
}

int table_checkpoint(lh_table *t, duckdb_connection conn, int64_t version, lh_err *err) {
    lh_snapshot *s = table_snapshot(t, version, err);
    if (!s) return -1;
    if (!table_checkpoint_protocol_ok(s)) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "checkpoints of tables with protocol %d/%d are not written",
                   s->min_reader_version, s->min_writer_version);
        table_snapshot_free(s);
        return -1;
    }
    for (size_t i = 0; i < s->nfiles; i++)
        if (path_needs_encoding(s->files[i].path)) {
            table_snapshot_free(s);
            return lh_err_set(err, LH_E_UNPROCESSABLE, "checkpoints of paths with '%%' are not written");
        }
    lh_strbuf rows = LH_STRBUF_INIT;
    char proto[80];
    snprintf(proto, sizeof proto, "{'minReaderVersion': %d, 'minWriterVersion': %d}", s->min_reader_version,
             s->min_writer_version);
    cp_row(&rows, NULL, NULL, proto);
    char *meta = cp_meta_literal(s);
    cp_row(&rows, NULL, meta, NULL);
    free(meta);
    for (size_t i = 0; i < s->nfiles; i++) {
        char *add = cp_add_literal(&s->files[i]);
        cp_row(&rows, add, NULL, NULL);
        free(add);
    }
    char name[64];
    snprintf(name, sizeof name, "%020" PRId64 ".checkpoint.parquet", version);
    char *key = table_log_key(t, name), *tpath = storage_stage_path(t->st, key, err);
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_printf(&sql, "COPY (%s) TO ", rows.buf);
    sb_sql_str(&sql, tpath ? tpath : "");
    sb_puts(&sql, " (FORMAT parquet)");
    int rc = tpath ? table_run_sql(conn, sql.buf, NULL, err) : -1;
    if (rc == 0) rc = storage_put_file(t->st, key, tpath, 0, err); /* consumes tpath */
    else if (tpath) unlink(tpath);
    if (rc == 0) {
        char *last = lh_asprintf("{\"version\":%" PRId64 ",\"size\":%zu}", version, s->nfiles + 2);
        char *lkey = table_log_key(t, "_last_checkpoint");
        rc = storage_put(t->st, lkey, last, strlen(last), NULL, err);
        free(lkey);
        free(last);
    }
    sb_free(&sql);
    sb_free(&rows);
    free(key);
    free(tpath);
    table_snapshot_free(s);
    return rc;
}
