/*
 * table_write.c — Delta/DuckDB type mapping, and the
 * write path: COPY to one new Parquet file (or one a partition,
 * table_partition.c), per-file stats, schema check, staged files committed
 * through table_commit_retry (checkpoints: table_checkpoint.c).
 */
#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/duck.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "table/table.h"
#include "table/table_internal.h"

/* ---- types -------------------------------------------------------------- */

static const struct {
    const char *delta, *duck;
} type_map[] = {
    {"string", "VARCHAR"},     {"long", "BIGINT"},       {"integer", "INTEGER"},
    {"short", "SMALLINT"},     {"byte", "TINYINT"},      {"float", "FLOAT"},
    {"double", "DOUBLE"},      {"boolean", "BOOLEAN"},   {"binary", "BLOB"},
    {"date", "DATE"},          {"timestamp", "TIMESTAMP WITH TIME ZONE"},
    {"timestamp_ntz", "TIMESTAMP"},
};

static char *duck_from_json(json_t *type);

char *table_duckdb_type(const char *delta_type) {
    for (size_t i = 0; i < sizeof type_map / sizeof type_map[0]; i++)
        if (!strcmp(delta_type, type_map[i].delta)) return lh_strdup(type_map[i].duck);
    int p, s;
    if (sscanf(delta_type, "decimal(%d,%d)", &p, &s) == 2) return lh_asprintf("DECIMAL(%d,%d)", p, s);
    json_t *j = json_loads(delta_type, 0, NULL);
    char *out = j ? duck_from_json(j) : lh_strdup("VARCHAR");
    json_decref(j);
    return out;
}

static char *duck_from_json(json_t *type) {
    if (json_is_string(type)) return table_duckdb_type(json_string_value(type));
    const char *kind = json_string_value(json_object_get(type, "type"));
    if (kind && !strcmp(kind, "array")) {
        char *e = duck_from_json(json_object_get(type, "elementType"));
        char *out = lh_asprintf("%s[]", e);
        free(e);
        return out;
    }
    if (kind && !strcmp(kind, "map")) {
        char *k = duck_from_json(json_object_get(type, "keyType"));
        char *v = duck_from_json(json_object_get(type, "valueType"));
        char *out = lh_asprintf("MAP(%s, %s)", k, v);
        free(k);
        free(v);
        return out;
    }
    if (kind && !strcmp(kind, "struct")) {
        lh_strbuf sb = LH_STRBUF_INIT;
        sb_puts(&sb, "STRUCT(");
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(type, "fields"), i, f) {
            char *t = duck_from_json(json_object_get(f, "type"));
            if (i) sb_puts(&sb, ", ");
            sb_sql_ident(&sb, json_string_value(json_object_get(f, "name")) ?: "?");
            sb_printf(&sb, " %s", t);
            free(t);
        }
        sb_putc(&sb, ')');
        return sb_steal(&sb);
    }
    return lh_strdup("VARCHAR");
}

/* Delta type (JSON value, new reference) for a DuckDB type name. */
json_t *table_delta_type(const char *duck) {
    for (size_t i = 0; i < sizeof type_map / sizeof type_map[0]; i++)
        if (!strcmp(duck, type_map[i].duck)) return json_string(type_map[i].delta);
    static const struct { const char *duck, *delta; } extra[] = {
        {"TIMESTAMP_S", "timestamp_ntz"}, {"TIMESTAMP_MS", "timestamp_ntz"},
        {"TIMESTAMP_NS", "timestamp_ntz"}, {"UTINYINT", "short"}, {"USMALLINT", "integer"},
        {"UINTEGER", "long"}, {"UBIGINT", "decimal(20,0)"}, {"HUGEINT", "decimal(38,0)"},
        {"UUID", "string"}, {"TIME", "string"}, {"INTERVAL", "string"}, {"JSON", "string"},
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        if (!strcmp(duck, extra[i].duck)) return json_string(extra[i].delta);
    int p, s;
    if (sscanf(duck, "DECIMAL(%d,%d)", &p, &s) == 2) {
        char buf[32];
        snprintf(buf, sizeof buf, "decimal(%d,%d)", p, s);
        return json_string(buf);
    }
    size_t n = strlen(duck);
    if (n > 2 && !strcmp(duck + n - 2, "[]")) {
        char *inner = lh_strndup(duck, n - 2);
        json_t *e = table_delta_type(inner);
        free(inner);
        return json_pack("{s:s, s:o, s:b}", "type", "array", "elementType", e, "containsNull", 1);
    }
    return json_string("string"); /* STRUCT/MAP/other: stored as text in the schema */
}


int table_snapshot_has_file(const lh_snapshot *s, const char *path) {
    for (size_t i = 0; i < s->nfiles; i++)
        if (!strcmp(s->files[i].path, path)) return 1;
    return 0;
}

/* ---- write path --------------------------------------------------------- */

int table_run_sql(duckdb_connection conn, const char *sql, duckdb_result *res, lh_err *err) {
    return lh_duck_run(conn, sql, res, LH_E_UNPROCESSABLE, NULL, err);
}

void table_file_schema_free(file_schema *fs) {
    lh_strv_free(fs->names, fs->n);
    lh_strv_free(fs->types, fs->n);
}

int table_describe(duckdb_connection conn, const char *select_sql, file_schema *fs, lh_err *err) {
    char *sql = lh_asprintf("SELECT column_name, column_type FROM (DESCRIBE %s)", select_sql);
    duckdb_result res;
    int rc = table_run_sql(conn, sql, &res, err);
    free(sql);
    if (rc != 0) return -1;
    fs->n = (size_t)duckdb_row_count(&res);
    fs->names = lh_calloc(fs->n + 1, sizeof *fs->names);
    fs->types = lh_calloc(fs->n + 1, sizeof *fs->types);
    for (size_t i = 0; i < fs->n; i++) {
        char *a = duckdb_value_varchar(&res, 0, i), *b = duckdb_value_varchar(&res, 1, i);
        fs->names[i] = lh_strdup(a);
        fs->types[i] = lh_strdup(b);
        duckdb_free(a);
        duckdb_free(b);
    }
    duckdb_destroy_result(&res);
    return 0;
}

static int describe_file(duckdb_connection conn, const char *path, file_schema *fs, lh_err *err) {
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_puts(&sql, "SELECT * FROM read_parquet(");
    sb_sql_str(&sql, path);
    sb_putc(&sql, ')');
    int rc = table_describe(conn, sql.buf, fs, err);
    sb_free(&sql);
    return rc;
}

static char *schema_string(const file_schema *fs) {
    json_t *fields = json_array();
    for (size_t i = 0; i < fs->n; i++)
        json_array_append_new(fields, json_pack("{s:s, s:o, s:b, s:{}}", "name", fs->names[i], "type",
                                                table_delta_type(fs->types[i]), "nullable", 1, "metadata"));
    json_t *schema = json_pack("{s:s, s:o}", "type", "struct", "fields", fields);
    char *s = json_dumps(schema, JSON_COMPACT);
    json_decref(schema);
    return s;
}

/* Compares the new file's columns (physical names) with the table's; conflict names them. */
int table_schema_check(const lh_snapshot *snap, const file_schema *fs, lh_err *err) {
    lh_strbuf diff = LH_STRBUF_INIT;
    for (size_t i = 0; i < fs->n; i++) {
        size_t j = 0;
        while (j < snap->ncolumns && strcmp(snap->columns[j].physical_name, fs->names[i])) j++;
        if (j == snap->ncolumns) {
            sb_printf(&diff, "%scolumn '%s' is new", diff.len ? "; " : "", fs->names[i]);
            continue;
        }
        json_t *dt = table_delta_type(fs->types[i]);
        char *have = json_is_string(dt) ? lh_strdup(json_string_value(dt)) : json_dumps(dt, JSON_COMPACT);
        json_decref(dt);
        if (strcmp(have, snap->columns[j].type) != 0)
            sb_printf(&diff, "%scolumn '%s' is %s, the table has %s", diff.len ? "; " : "",
                      snap->columns[j].name, have, snap->columns[j].type);
        free(have);
    }
    for (size_t j = 0; j < snap->ncolumns; j++) {
        if (table_is_partition_col(snap, snap->columns[j].name)) continue;
        size_t i = 0;
        while (i < fs->n && strcmp(snap->columns[j].physical_name, fs->names[i])) i++;
        if (i == fs->n) sb_printf(&diff, "%scolumn '%s' is missing", diff.len ? "; " : "", snap->columns[j].name);
    }
    int rc = 0;
    if (diff.len) {
        rc = lh_err_set(err, LH_E_CONFLICT, "schema does not match the table: %s", diff.buf);
        lh_err_hint(err, "write to a new dataset, or overwrite instead of appending");
    }
    sb_free(&diff);
    return rc;
}

static int stats_supported(const char *duck) {
    static const char *const ok[] = {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "DOUBLE", "FLOAT",
                                     "VARCHAR", "DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcmp(duck, ok[i])) return 1;
    return !strncmp(duck, "DECIMAL", 7);
}

/* One footer aggregate: agg over the row groups of column `name`, NULL
 * unless every row group carries that statistic (a missing one would make
 * a min/max a lie, and Delta readers skip files on them). */
static void footer_stat(lh_strbuf *sb, const char *name, const char *field, const char *agg, const char *cast) {
    sb_puts(sb, ", ");
    sb_sql_str(sb, name);
    sb_printf(sb, ", (SELECT CASE WHEN count(*) > 0 AND count(%s) = count(*) THEN %s(", field, agg);
    if (cast) sb_printf(sb, "TRY_CAST(%s AS %s)", field, cast);
    else sb_puts(sb, field);
    sb_puts(sb, ") END FROM md WHERE c = ");
    sb_sql_str(sb, name);
    sb_puts(sb, ")");
}

/* Drops null members (statistics we could not vouch for) from an object. */
static void json_drop_nulls(json_t *o) {
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(o, tmp, k, v) if (json_is_null(v)) json_object_del(o, k);
}

/* numRecords, minValues, maxValues, nullCount for the new file as JSON,
 * read from the Parquet footer DuckDB just wrote (no scan of the data). */
static char *file_stats(duckdb_connection conn, const char *path, const file_schema *fs,
                        int64_t *rows, lh_err *err) {
    lh_strbuf mins = LH_STRBUF_INIT, maxs = LH_STRBUF_INIT, nulls = LH_STRBUF_INIT, sql = LH_STRBUF_INIT;
    for (size_t i = 0; i < fs->n; i++) {
        footer_stat(&nulls, fs->names[i], "nc", "sum", NULL);
        if (!stats_supported(fs->types[i])) continue;
        footer_stat(&mins, fs->names[i], "lo", "min", fs->types[i]);
        footer_stat(&maxs, fs->names[i], "hi", "max", fs->types[i]);
    }
    sb_puts(&sql, "WITH md AS (SELECT path_in_schema AS c, stats_min_value AS lo, stats_max_value AS hi, "
                  "stats_null_count AS nc FROM parquet_metadata(");
    sb_sql_str(&sql, path);
    sb_puts(&sql, ")), n AS (SELECT num_rows FROM parquet_file_metadata(");
    sb_sql_str(&sql, path);
    /* json_object needs at least a pair: a dummy one is dropped below */
    sb_printf(&sql, ")) SELECT (SELECT num_rows FROM n), json_object('_', NULL %s)::VARCHAR, json_object('_', NULL %s)::VARCHAR, "
                    "json_object('_', NULL %s)::VARCHAR",
              mins.buf ? mins.buf : "", maxs.buf ? maxs.buf : "", nulls.buf ? nulls.buf : "");
    duckdb_result res;
    char *out = NULL;
    if (table_run_sql(conn, sql.buf, &res, err) == 0) {
        *rows = duckdb_value_int64(&res, 0, 0);
        json_t *stats = json_pack("{s:I}", "numRecords", (json_int_t)*rows);
        static const char *const keys[] = {"minValues", "maxValues", "nullCount"};
        for (idx_t k = 0; k < 3; k++) {
            char *v = duckdb_value_varchar(&res, k + 1, 0);
            json_t *o = json_loads(v ? v : "{}", 0, NULL);
            duckdb_free(v);
            if (!json_is_object(o)) {
                json_decref(o);
                o = json_object();
            }
            json_object_del(o, "_");
            json_drop_nulls(o);
            json_object_set_new(stats, keys[k], o);
        }
        out = json_dumps(stats, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(stats);
        duckdb_destroy_result(&res);
    }
    sb_free(&mins);
    sb_free(&maxs);
    sb_free(&nulls);
    sb_free(&sql);
    return out;
}

void table_new_file_free(new_file *f) {
    free(f->rel);
    free(f->key);
    free(f->abs);
    free(f->stats);
    free(f->dir);
    json_decref(f->part_values);
    table_file_schema_free(&f->schema);
}

/* Rows per row group for select_sql's rows: LH_TABLE_ROW_GROUP_BYTES over
 * the mean width of a sample (its rows as JSON text, a fair proxy for the
 * decoded size), a multiple of DuckDB's 2048-row vectors within bounds. */
static int64_t row_group_rows(duckdb_connection conn, const char *select_sql) {
    char *sql = lh_asprintf("SELECT avg(strlen(to_json(lh_s)::VARCHAR)) FROM (SELECT * FROM (%s) LIMIT %d) AS lh_s",
                            select_sql, LH_TABLE_ROW_GROUP_MIN);
    duckdb_result r;
    double width = 0;
    if (duckdb_query(conn, sql, &r) == DuckDBSuccess && !duckdb_value_is_null(&r, 0, 0)) width = duckdb_value_double(&r, 0, 0);
    duckdb_destroy_result(&r);
    free(sql);
    int64_t rows = width > 0 ? (int64_t)(LH_TABLE_ROW_GROUP_BYTES / width) : LH_TABLE_ROW_GROUP_MAX;
    rows -= rows % LH_TABLE_ROW_GROUP_MIN;
    if (rows < LH_TABLE_ROW_GROUP_MIN) rows = LH_TABLE_ROW_GROUP_MIN;
    if (rows > LH_TABLE_ROW_GROUP_MAX) rows = LH_TABLE_ROW_GROUP_MAX;
    return rows;
}

/* The COPY statement writing select_sql's rows (sorted by cluster_by) to path. */
static char *copy_sql(duckdb_connection conn, const char *select_sql, const char *const *cluster_by,
                      const lh_snapshot *mapping, const char *path) {
    lh_strbuf sql = LH_STRBUF_INIT;
    if (cluster_by && cluster_by[0]) {
        sb_printf(&sql, "COPY (SELECT * FROM (%s) AS lh_src ORDER BY ", select_sql);
        for (size_t i = 0; cluster_by[i]; i++) {
            if (i) sb_puts(&sql, ", ");
            sb_sql_ident(&sql, table_physical_of(mapping, cluster_by[i]));
        }
        sb_puts(&sql, ") TO ");
    } else {
        sb_printf(&sql, "COPY (%s) TO ", select_sql);
    }
    sb_sql_str(&sql, path);
    sb_printf(&sql, " (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE %" PRId64 ")", row_group_rows(conn, select_sql));
    return sb_steal(&sql);
}

int table_parquet_write(lh_table *t, duckdb_connection conn, const char *logical_sql,
                        const char *const *cluster_by, const lh_snapshot *mapping, new_file *nf, lh_err *err) {
    char uuid[37];
    lh_uuid4(uuid);
    nf->rel = nf->dir ? lh_asprintf("%s/part-00000-%s-c000.snappy.parquet", nf->dir, uuid)
                      : lh_asprintf("part-00000-%s-c000.snappy.parquet", uuid);
    char *key = lh_asprintf("%s/%s", t->prefix, nf->rel);
    char *stage = storage_stage_path(t->st, key, err);
    if (!stage) {
        free(key);
        return -1;
    }
    char *select_sql = table_physical_select(mapping, logical_sql);
    char *sql = copy_sql(conn, select_sql, cluster_by, mapping, stage);
    int rc = table_run_sql(conn, sql, NULL, err);
    free(sql);
    free(select_sql);
    if (rc == 0) rc = describe_file(conn, stage, &nf->schema, err);
    if (rc == 0) {
        nf->stats = file_stats(conn, stage, &nf->schema, &nf->rows, err);
        rc = nf->stats ? 0 : -1;
    }
    struct stat sb;
    if (rc == 0 && stat(stage, &sb) != 0) rc = lh_err_set(err, LH_E_INTERNAL, "staged file vanished: %s", strerror(errno));
    if (rc == 0) nf->size = (int64_t)sb.st_size;
    if (rc != 0) unlink(stage);
    else if ((rc = storage_put_file(t->st, key, stage, 0, err)) == 0) { /* consumes stage */
        nf->key = key;
        key = NULL;
        nf->abs = table_file_read_path(t, nf->key);
    }
    free(stage);
    free(key);
    return rc;
}

void table_new_file_discard(lh_storage *st, new_file *nf) {
    if (nf->key) storage_delete(st, nf->key, NULL);
}

json_t *table_add_action(const new_file *nf, int64_t now, int data_change) {
    char *path = table_path_encode(nf->rel); /* a partition folder may hold '%' and spaces */
    json_t *a = json_pack("{s:{s:s, s:o, s:I, s:I, s:b, s:s}}", "add", "path", path, "partitionValues",
                          nf->part_values ? json_incref(nf->part_values) : json_object(), "size", (json_int_t)nf->size,
                          "modificationTime", (json_int_t)now, "dataChange", data_change, "stats", nf->stats);
    free(path);
    return a;
}

/* The configuration of a metaData action: the snapshot's (or none), with
 * the clustering key replaced when cluster_by is not NULL (new reference). */
static json_t *write_configuration(const lh_snapshot *snap, const char *cluster_by) {
    json_t *conf = snap ? json_loads(snap->configuration, 0, NULL) : NULL;
    if (!json_is_object(conf)) {
        json_decref(conf);
        conf = json_object();
    }
    if (cluster_by && *cluster_by) json_object_set_new(conf, LH_TABLE_CLUSTER_PROPERTY, json_string(cluster_by));
    else if (cluster_by) json_object_del(conf, LH_TABLE_CLUSTER_PROPERTY);
    return conf;
}

/* 1 when the write must carry a metaData action: a new table, an overwrite
 * with another schema (schema: the new file's) or a new clustering key. */
static int write_needs_metadata(const lh_snapshot *snap, int overwrite, const char *schema, const char *cluster_by) {
    if (!snap || (overwrite && strcmp(schema, snap->schema_string) != 0)) return 1;
    if (!cluster_by) return 0;
    json_t *want = write_configuration(snap, cluster_by), *have = json_loads(snap->configuration, 0, NULL);
    int differ = !json_equal(want, have);
    json_decref(want);
    json_decref(have);
    return differ;
}

json_t *table_metadata_action(const lh_snapshot *snap, const char *schema_string, json_t *configuration,
                              int64_t now) {
    char uuid[37];
    lh_uuid4(uuid);
    json_t *meta = json_pack("{s:s, s:{s:s, s:{}}, s:s, s:[], s:o, s:I}", "id", snap ? snap->table_id : uuid,
                             "format", "provider", "parquet", "options", "schemaString",
                             schema_string ? schema_string : snap->schema_string, "partitionColumns",
                             "configuration", configuration, "createdTime",
                             (json_int_t)(snap ? snap->created_time : now));
    if (!schema_string && snap) /* schema kept: so are its partition columns */
        for (size_t i = 0; i < snap->npartition_columns; i++)
            json_array_append_new(json_object_get(meta, "partitionColumns"), json_string(snap->partition_columns[i]));
    return json_pack("{s:o}", "metaData", meta);
}

json_t *table_commit_info(const char *operation, json_t *params, int64_t read_version, json_t *metrics,
                          const char *principal, int64_t now) {
    json_t *ci = json_pack("{s:I, s:s, s:o, s:s, s:s}", "timestamp", (json_int_t)now, "operation", operation,
                           "operationParameters", params ? params : json_object(), "userName",
                           principal && *principal ? principal : "system", "engineInfo", "lakehouse");
    if (read_version >= 0) json_object_set_new(ci, "readVersion", json_integer(read_version));
    if (metrics) json_object_set_new(ci, "operationMetrics", metrics);
    return json_pack("{s:o}", "commitInfo", ci);
}

char *table_commit_lines(json_t *lines) {
    lh_strbuf sb = LH_STRBUF_INIT;
    size_t i;
    json_t *l;
    json_array_foreach(lines, i, l) {
        char *s = json_dumps(l, JSON_COMPACT);
        sb_puts(&sb, s);
        sb_putc(&sb, '\n');
        free(s);
    }
    json_decref(lines);
    return sb_steal(&sb);
}

/* ---- staged writes and their commit --------------------------------------- */

/* The files of one write: one, or one a partition (ADR 0275). */
struct lh_table_staged {
    lh_storage *st;          /* borrowed: the table's bucket */
    char *prefix;            /* of the table the files were written under */
    table_partitioned out;   /* the files; out.schema set when partitioned */
    char **parts;            /* partition columns (logical), NULL-terminated */
    size_t nparts;
    int committed;
};

/* The columns of the rows written (with the partition columns). */
static const file_schema *staged_schema(const lh_table_staged *f) {
    return f->nparts || f->out.nfiles == 0 ? &f->out.schema : &f->out.files[0].schema;
}

/* 1 when s's partition columns are parts (n). */
static int same_partitions(const lh_snapshot *s, char *const *parts, size_t n) {
    if (s->npartition_columns != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->partition_columns[i], parts[i])) return 0;
    return 1;
}

static void metric(json_t *metrics, const char *key, int64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    json_object_set_new(metrics, key, json_string(buf));
}

/* Commit text for version v over snapshot snap (NULL for a new table). */
static char *commit_text(const lh_snapshot *snap, const lh_table_staged *f, const lh_table_write_opts *o,
                         const lh_schema_merge *merge, int64_t now) {
    json_t *lines = json_array();
    const char *op = snap ? "WRITE" : "CREATE TABLE";
    json_t *params = json_pack("{s:s}", "mode", o->overwrite ? "Overwrite" : "Append");
    if (merge->schema) json_object_set_new(params, "mergeSchema", json_string("true"));
    if (o->cluster_by && *o->cluster_by) json_object_set_new(params, "clusterBy", json_string(o->cluster_by));
    json_t *pby = json_array();
    for (size_t i = 0; i < f->nparts; i++) json_array_append_new(pby, json_string(f->parts[i]));
    if (f->nparts) {
        char *text = json_dumps(pby, JSON_COMPACT);
        json_object_set_new(params, "partitionBy", json_string(text)); /* as Spark records it */
        free(text);
    }
    json_t *metrics = json_object();
    int64_t rows = 0, bytes = 0;
    for (size_t i = 0; i < f->out.nfiles; i++) rows += f->out.files[i].rows, bytes += f->out.files[i].size;
    metric(metrics, "numFiles", (int64_t)f->out.nfiles);
    metric(metrics, "numOutputRows", rows);
    metric(metrics, "numOutputBytes", bytes);
    json_t *ci = table_commit_info(op, params, snap ? snap->version : -1, metrics, o->principal, now);
    json_object_set_new(json_object_get(ci, "commitInfo"), "isBlindAppend", json_boolean(!o->overwrite));
    json_array_append_new(lines, ci);
    if (!snap) json_array_append_new(lines, table_protocol_action(o->properties));
    if (merge->protocol) json_array_append_new(lines, json_incref(merge->protocol));
    char *schema = schema_string(staged_schema(f));
    json_t *meta = NULL;
    if (merge->schema) {
        meta = table_metadata_action(snap, merge->schema, write_configuration(snap, o->cluster_by), now);
    } else if (write_needs_metadata(snap, o->overwrite, schema, o->cluster_by) ||
               (snap && !same_partitions(snap, f->parts, f->nparts))) {
        json_t *conf = write_configuration(snap, o->cluster_by);
        if (!snap) table_config_merge(conf, o->properties);
        if (o->overwrite) { /* the new files hold logical names: the schema is unmapped */
            json_object_del(conf, "delta.columnMapping.mode");
            json_object_del(conf, "delta.columnMapping.maxColumnId");
        }
        meta = table_metadata_action(snap, snap && !o->overwrite ? NULL : schema, conf, now);
    }
    if (meta) { /* the partition columns the files were written by */
        json_object_set_new(json_object_get(meta, "metaData"), "partitionColumns", pby);
        json_array_append_new(lines, meta);
    } else {
        json_decref(pby);
    }
    free(schema);
    for (size_t i = 0; o->overwrite && snap && i < snap->nfiles; i++)
        json_array_append_new(lines, table_file_remove_action(&snap->files[i], now));
    for (size_t i = 0; i < f->out.nfiles; i++) json_array_append_new(lines, table_add_action(&f->out.files[i], now, 1));
    return table_commit_lines(lines);
}

/* The clustering key a write sorts by: the one asked for (o may be NULL),
 * else the table's (s, NULL when there is no table). NULL-terminated,
 * caller frees; NULL + err on a bad list. */
static char **write_cluster_key(const lh_snapshot *s, const lh_table_write_opts *o, lh_err *err) {
    size_t n;
    if (o && o->cluster_by) return *o->cluster_by ? table_names_split(o->cluster_by, &n, err) : lh_calloc(1, sizeof(char *));
    char **key = lh_calloc(s ? s->ncluster_by + 1 : 1, sizeof *key);
    for (size_t i = 0; s && i < s->ncluster_by; i++) key[i] = lh_strdup(s->cluster_by[i]);
    return key;
}

/* The partition columns a write uses: those asked for (a new table or an
 * overwrite; an append must name the table's), else the table's. Sets
 * f->parts; -1 + err (LH_E_BAD_REQUEST) on a bad list. */
static int write_partitions(const lh_snapshot *s, const lh_table_write_opts *o, lh_table_staged *f, lh_err *err) {
    if (o && o->partition_by) {
        if (!(f->parts = table_names_split(o->partition_by, &f->nparts, err))) return -1;
        if (s && !o->overwrite && !same_partitions(s, f->parts, f->nparts))
            return lh_err_set(err, LH_E_BAD_REQUEST, "'%s' is partitioned otherwise; an append keeps the table's partition columns",
                              f->prefix);
        return 0;
    }
    f->nparts = s ? s->npartition_columns : 0;
    f->parts = lh_calloc(f->nparts + 1, sizeof *f->parts);
    for (size_t i = 0; i < f->nparts; i++) f->parts[i] = lh_strdup(s->partition_columns[i]);
    return 0;
}

/* The files of the write: one Parquet file, or one a partition. */
static int write_files(lh_table *t, duckdb_connection conn, const char *select_sql, const lh_snapshot *mapping,
                       int append, char **key, lh_table_staged *f, lh_err *err) {
    if (!f->nparts) {
        f->out.files = lh_calloc(1, sizeof *f->out.files);
        f->out.nfiles = 1;
        return table_parquet_write(t, conn, select_sql, (const char *const *)key, mapping, f->out.files, err);
    }
    size_t n = 0;
    while (key[n]) n++;
    const char **phys = lh_calloc(n + 1, sizeof *phys); /* the partitioned write sorts the physical columns */
    for (size_t i = 0; i < n; i++) phys[i] = table_physical_of(mapping, key[i]);
    int rc = table_partition_write(t, conn, select_sql, (const char *const *)f->parts, f->nparts, phys, mapping, append,
                                   &f->out, err);
    free(phys);
    return rc;
}

/* An append to a column-mapped table writes the physical names (the
 * snapshot's); an overwrite writes logical names and drops the mapping. */
static lh_table_staged *stage_opts(lh_table *t, duckdb_connection conn, const char *select_sql,
                                   const lh_table_write_opts *o, lh_err *err) {
    lh_snapshot *s = table_exists(t) ? table_snapshot(t, -1, NULL) : NULL;
    char **key = write_cluster_key(s, o, err);
    lh_table_staged *f = NULL;
    if (key) {
        f = lh_calloc(1, sizeof *f);
        f->st = t->st;
        f->prefix = lh_strdup(t->prefix);
        const lh_snapshot *mapping = o && o->overwrite ? NULL : s;
        int rc = write_partitions(s, o, f, err);
        if (rc == 0) rc = write_files(t, conn, select_sql, mapping, s && !(o && o->overwrite), key, f, err);
        table_names_free(key);
        if (rc != 0) {
            table_staged_free(f);
            f = NULL;
        }
    }
    table_snapshot_free(s);
    return f;
}

lh_table_staged *table_stage(lh_table *t, duckdb_connection conn, const char *select_sql, lh_err *err) {
    return stage_opts(t, conn, select_sql, NULL, err);
}

void table_staged_free(lh_table_staged *f) {
    if (!f) return;
    for (size_t i = 0; !f->committed && i < f->out.nfiles; i++) table_new_file_discard(f->st, &f->out.files[i]);
    table_partitioned_clear(&f->out);
    table_names_free(f->parts);
    free(f->prefix);
    free(f);
}

int table_staged_valid(const lh_table *t, const lh_table_staged *f) {
    if (f->committed || strcmp(f->prefix, t->prefix)) return 0;
    for (size_t i = 0; i < f->out.nfiles; i++)
        if (!f->out.files[i].key || !storage_exists(t->st, f->out.files[i].key)) return 0;
    return 1;
}

typedef struct {
    const lh_table_staged *f;
    const lh_table_write_opts *o;
} write_ctx;

/* Builds the append / overwrite on top of base: the schema and the
 * partition columns are checked again on every attempt (a winner may have
 * changed them). */
static char *write_build(void *ctx, const lh_snapshot *base, lh_err *err) {
    write_ctx *w = ctx;
    lh_schema_merge merge = {0};
    const file_schema *fs = staged_schema(w->f);
    if (base && !w->o->overwrite && !same_partitions(base, w->f->parts, w->f->nparts)) {
        lh_err_set(err, LH_E_CONFLICT, "the table's partition columns changed while the rows were written");
        return NULL;
    }
    if (base && !w->o->overwrite &&
        (w->o->merge_schema ? table_schema_merge(base, fs, &merge, err) : table_schema_check(base, fs, err)) != 0)
        return NULL;
    char *text = commit_text(base, w->f, w->o, &merge, lh_now_ms());
    table_schema_merge_clear(&merge);
    return text;
}

static int commit_staged_opts(lh_table *t, lh_table_staged *f, duckdb_connection conn, const lh_table_write_opts *o,
                              int64_t *version_out, int64_t *rows_out, lh_err *err) {
    assert(!f->committed && !strcmp(f->prefix, t->prefix));
    write_ctx ctx = {f, o};
    lh_commit_spec spec = {
        .kind = o->overwrite ? LH_COMMIT_OVERWRITE : LH_COMMIT_APPEND,
        .build = write_build,
        .ctx = &ctx,
        .conn = conn,
    };
    if (table_commit_retry(t, &spec, version_out, err) != 0) return -1;
    f->committed = 1;
    int64_t rows = 0;
    for (size_t i = 0; i < f->out.nfiles; i++) rows += f->out.files[i].rows;
    if (rows_out) *rows_out = rows;
    return 0;
}

int table_commit_staged(lh_table *t, lh_table_staged *f, duckdb_connection conn, int overwrite,
                        int64_t *version_out, int64_t *rows_out, lh_err *err) {
    lh_table_write_opts o = {.overwrite = overwrite};
    return commit_staged_opts(t, f, conn, &o, version_out, rows_out, err);
}

int table_write(lh_table *t, duckdb_connection conn, const char *select_sql, int overwrite,
                int64_t *version_out, int64_t *rows_out, lh_err *err) {
    lh_table_write_opts o = {.overwrite = overwrite};
    return table_write_opts(t, conn, select_sql, &o, version_out, rows_out, err);
}

int table_write_opts(lh_table *t, duckdb_connection conn, const char *select_sql, const lh_table_write_opts *o,
                     int64_t *version_out, int64_t *rows_out, lh_err *err) {
    lh_table_staged *f = stage_opts(t, conn, select_sql, o, err);
    if (!f) return -1;
    int rc = commit_staged_opts(t, f, conn, o, version_out, rows_out, err);
    table_staged_free(f);
    return rc;
}
