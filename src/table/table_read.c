/*
 * table_read.c — the DuckDB SELECT that reads a snapshot's rows: the data
 * files through read_parquet, partition values as typed constants, rows a
 * deletion vector deletes filtered out by file_row_number, and columns
 * renamed from their physical names (column mapping) to the logical ones,
 * in schema order.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "table/table.h"
#include "table/table_internal.h"

/* Table file rel's path as a SQL string literal; fetch: brought into a
 * remote bucket's cache when missing (else named only, ADR 0245). */
static void append_path(lh_table *t, lh_strbuf *sb, const char *rel, int fetch) {
    char *key = lh_asprintf("%s/%s", t->prefix, rel);
    char *path = fetch ? table_file_read_path(t, key) : storage_cached_path(t->st, key);
    sb_sql_str(sb, path);
    free(path);
    free(key);
}

void table_append_file_path(lh_table *t, lh_strbuf *sb, const char *rel) { append_path(t, sb, rel, 1); }

void table_append_cached_path(lh_table *t, lh_strbuf *sb, const char *rel) { append_path(t, sb, rel, 0); }

int table_is_partition_col(const lh_snapshot *s, const char *name) {
    for (size_t i = 0; i < s->npartition_columns; i++)
        if (!strcmp(s->partition_columns[i], name)) return 1;
    return 0;
}

/* Partition value of column c in f: keyed by the physical name under column
 * mapping (the logical name otherwise; both are tried). NULL = null value. */
static const char *part_value(const lh_table_file *f, const lh_table_column *c) {
    for (size_t i = 0; i < f->nparts; i++)
        if (!strcmp(f->part_names[i], c->physical_name)) return f->part_values[i];
    for (size_t i = 0; i < f->nparts; i++)
        if (!strcmp(f->part_names[i], c->name)) return f->part_values[i];
    return NULL;
}

/* Physical name of a nested struct field (its name when unmapped). */
static const char *field_physical(json_t *f) {
    const char *p = json_string_value(json_object_get(json_object_get(f, "metadata"), "delta.columnMapping.physicalName"));
    return p ? p : json_string_value(json_object_get(f, "name"));
}

/* 1 when a nested type has a struct field whose physical name differs. */
static int type_needs_rename(json_t *type) {
    const char *kind = json_string_value(json_object_get(type, "type"));
    if (!kind) return 0;
    if (!strcmp(kind, "array")) return type_needs_rename(json_object_get(type, "elementType"));
    if (!strcmp(kind, "map"))
        return type_needs_rename(json_object_get(type, "keyType")) || type_needs_rename(json_object_get(type, "valueType"));
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(type, "fields"), i, f) {
        const char *name = json_string_value(json_object_get(f, "name")), *phys = field_physical(f);
        if (!name || !phys || strcmp(name, phys) || type_needs_rename(json_object_get(f, "type"))) return 1;
    }
    return 0;
}

/* The value of SQL expression src (physical, of Delta type `type`) with its
 * nested struct fields renamed to their logical names. */
static void append_renamed(lh_strbuf *sb, const char *src, json_t *type, int depth) {
    const char *kind = json_string_value(json_object_get(type, "type"));
    if (!kind || !type_needs_rename(type)) {
        sb_puts(sb, src);
        return;
    }
    if (!strcmp(kind, "array")) {
        char var[32];
        snprintf(var, sizeof var, "lh_x%d", depth);
        sb_printf(sb, "list_transform(%s, %s -> ", src, var);
        append_renamed(sb, var, json_object_get(type, "elementType"), depth + 1);
        sb_putc(sb, ')');
        return;
    }
    if (!strcmp(kind, "map")) {
        char key[48], val[48];
        snprintf(key, sizeof key, "lh_e%d.key", depth);
        snprintf(val, sizeof val, "lh_e%d.value", depth);
        sb_printf(sb, "map_from_entries(list_transform(map_entries(%s), lh_e%d -> {'key': ", src, depth);
        append_renamed(sb, key, json_object_get(type, "keyType"), depth + 1);
        sb_puts(sb, ", 'value': ");
        append_renamed(sb, val, json_object_get(type, "valueType"), depth + 1);
        sb_puts(sb, "}))");
        return;
    }
    sb_printf(sb, "CASE WHEN (%s) IS NULL THEN NULL ELSE struct_pack(", src);
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(type, "fields"), i, f) {
        lh_strbuf inner = LH_STRBUF_INIT;
        sb_printf(&inner, "(%s).", src);
        sb_sql_ident(&inner, field_physical(f));
        if (i) sb_puts(sb, ", ");
        sb_sql_ident(sb, json_string_value(json_object_get(f, "name")));
        sb_puts(sb, " := ");
        append_renamed(sb, inner.buf, json_object_get(f, "type"), depth);
        sb_free(&inner);
    }
    sb_puts(sb, ") END");
}

void table_select_projection(lh_strbuf *sb, const lh_snapshot *s) {
    for (size_t i = 0; i < s->ncolumns; i++) {
        const lh_table_column *c = &s->columns[i];
        if (i) sb_puts(sb, ", ");
        lh_strbuf src = LH_STRBUF_INIT;
        sb_sql_ident(&src, c->physical_name);
        json_t *type = c->type[0] == '{' ? json_loads(c->type, 0, NULL) : NULL;
        int renamed = type && strcmp(s->column_mapping, "none") && type_needs_rename(type);
        if (c->widened) sb_puts(sb, "CAST(");
        if (renamed) append_renamed(sb, src.buf, type, 0);
        else sb_puts(sb, src.buf);
        if (c->widened) { /* files from before the widening hold the narrower type */
            char *ty = table_duckdb_type(c->type);
            sb_printf(sb, " AS %s)", ty);
            free(ty);
        }
        if (renamed || c->widened || strcmp(c->physical_name, c->name)) {
            sb_puts(sb, " AS ");
            sb_sql_ident(sb, c->name);
        }
        json_decref(type);
        sb_free(&src);
    }
}

static void append_empty_select(lh_strbuf *sb, const lh_snapshot *s) {
    sb_puts(sb, "SELECT ");
    for (size_t i = 0; i < s->ncolumns; i++) {
        char *ty = table_duckdb_type(s->columns[i].type);
        if (i) sb_puts(sb, ", ");
        sb_printf(sb, "CAST(NULL AS %s) AS ", ty);
        sb_sql_ident(sb, s->columns[i].name);
        free(ty);
    }
    if (s->ncolumns == 0) sb_puts(sb, "NULL AS empty");
    sb_puts(sb, " WHERE false");
}

static void append_dv_predicate_terms(lh_strbuf *sb, const lh_table_file *f, const char *col) {
    size_t singles = 0;
    for (size_t i = 0; i < f->ndeleted; i++) {
        if (f->deleted_lo[i] != f->deleted_hi[i]) continue;
        if (singles++) sb_puts(sb, ", ");
        else sb_printf(sb, " OR %s IN (", col);
        sb_printf(sb, "%" PRId64, f->deleted_lo[i]);
    }
    if (singles) sb_putc(sb, ')');
    for (size_t i = 0; i < f->ndeleted; i++)
        if (f->deleted_lo[i] != f->deleted_hi[i])
            sb_printf(sb, " OR %s BETWEEN %" PRId64 " AND %" PRId64, col, f->deleted_lo[i], f->deleted_hi[i]);
}

/* " NOT (<col> IN (...) OR <col> BETWEEN a AND b ...)": the rows f's
 * deletion vector keeps (single rows as one IN list, runs as BETWEEN). */
static void append_dv_keep(lh_strbuf *sb, const lh_table_file *f, const char *col) {
    sb_puts(sb, " NOT (false");
    append_dv_predicate_terms(sb, f, col);
    sb_putc(sb, ')');
}

/* " (<col> IN (...) OR ...)": the rows f's deletion vector deletes. */
static void append_dv_predicate(lh_strbuf *sb, const lh_table_file *f, const char *col) {
    sb_puts(sb, " (false");
    append_dv_predicate_terms(sb, f, col);
    sb_putc(sb, ')');
}

char *table_dv_rows_key(lh_table *t, const lh_table_file *f) {
    char *id = lh_asprintf("%s\n%s\n%s\n%s", storage_root(t->st), t->prefix, f->path, f->deletion_vector), hash[65];
    lh_sha256_hex(id, strlen(id), hash);
    free(id);
    return lh_asprintf("_cache/dv/%s.parquet", hash);
}

/* Writes the rows f's deletion vector deletes, as (f: the data file's read
 * path, r: row number) Parquet, to the local file at path: one COPY whose
 * ranges are list literals (no staging file to write and read back). */
static int dv_rows_write(lh_table *t, const lh_table_file *f, const char *path, lh_err *err) {
    lh_strbuf sql = LH_STRBUF_INIT;
    char *data_key = lh_asprintf("%s/%s", t->prefix, f->path), *data_path = table_file_read_path(t, data_key);
    sb_puts(&sql, "COPY (SELECT ");
    sb_sql_str(&sql, data_path); /* the name read_parquet(filename = true) gives the file */
    sb_puts(&sql, " AS f, unnest(generate_series(lo, hi)) AS r FROM (SELECT unnest([");
    free(data_key);
    free(data_path);
    for (size_t i = 0; i < f->ndeleted; i++) sb_printf(&sql, "%s%" PRId64, i ? "," : "", f->deleted_lo[i]);
    sb_puts(&sql, "]::BIGINT[]) AS lo, unnest([");
    for (size_t i = 0; i < f->ndeleted; i++) sb_printf(&sql, "%s%" PRId64, i ? "," : "", f->deleted_hi[i]);
    sb_puts(&sql, "]::BIGINT[]) AS hi)) TO ");
    sb_sql_str(&sql, path);
    sb_puts(&sql, " (FORMAT parquet)");
    duckdb_result res;
    int rc = table_private_query(t, sql.buf, &res, err);
    if (rc == 0) duckdb_destroy_result(&res);
    sb_free(&sql);
    return rc;
}

int table_dv_rows_file(lh_table *t, lh_table_file *f, lh_err *err) {
    char *key = table_dv_rows_key(t, f);
    int rc = 0;
    if (!storage_exists(t->st, key)) {
        int64_t t0 = lh_now_ms();
        char *stage = storage_stage_path(t->st, key, err);
        rc = stage ? dv_rows_write(t, f, stage, err) : -1;
        LOG_DEBUG("DV rows file of %s (%zu ranges): %" PRId64 " ms", f->path, f->ndeleted, lh_now_ms() - t0);
        if (rc == 0) rc = storage_put_file(t->st, key, stage, 0, err); /* consumes stage */
        else if (stage) unlink(stage);
        free(stage);
    }
    if (rc == 0) {
        f->deleted_rows_file = storage_is_remote(t->st) ? storage_fetch_path(t->st, key, err) : storage_path(t->st, key);
        if (!f->deleted_rows_file) rc = -1;
    }
    if (rc != 0) lh_err_prefix(err, "deletion vector of %s", f->path);
    free(key);
    return rc;
}

/* Partition value v (NULL = null) of column col as a typed constant. */
static void append_part_constant(lh_strbuf *sb, const lh_table_column *col, const char *v) {
    char *ty = table_duckdb_type(col->type);
    /* a timestamp partition value is UTC ("…Z" or without a zone), whatever the session's zone */
    int utc = !strcmp(col->type, "timestamp");
    sb_puts(sb, utc ? "timezone('UTC', CAST(" : "CAST(");
    if (v) sb_sql_str(sb, v);
    else sb_puts(sb, "NULL");
    if (utc) sb_puts(sb, " AS TIMESTAMP))");
    else sb_printf(sb, " AS %s)", ty);
    free(ty);
}

static void file_select(lh_table *t, lh_strbuf *sb, const lh_snapshot *s, const lh_table_file *f, const char *extra,
                        int fetch) {
    sb_puts(sb, f->ndeleted ? "SELECT * EXCLUDE (file_row_number)" : "SELECT *");
    for (size_t c = 0; c < s->ncolumns; c++) {
        const lh_table_column *col = &s->columns[c];
        if (!table_is_partition_col(s, col->name)) continue;
        sb_puts(sb, ", ");
        append_part_constant(sb, col, part_value(f, col));
        sb_puts(sb, " AS ");
        sb_sql_ident(sb, col->physical_name);
    }
    if (extra) sb_puts(sb, extra);
    sb_puts(sb, " FROM read_parquet(");
    append_path(t, sb, f->path, fetch);
    sb_puts(sb, f->ndeleted ? ", hive_partitioning = false, file_row_number = true)" : ", hive_partitioning = false)");
    if (f->deleted_rows_file) {
        sb_puts(sb, " WHERE file_row_number NOT IN (SELECT r FROM read_parquet(");
        sb_sql_str(sb, f->deleted_rows_file);
        sb_puts(sb, "))");
    } else if (f->ndeleted) {
        sb_puts(sb, " WHERE");
        append_dv_keep(sb, f, "file_row_number");
    }
}

void table_file_select(lh_table *t, lh_strbuf *sb, const lh_snapshot *s, const lh_table_file *f, const char *extra) {
    file_select(t, sb, s, f, extra, 1);
}

int table_file_group(const lh_snapshot *s, const lh_table_file *f) {
    if (s->npartition_columns) return f->ndeleted ? TABLE_FILE_OWN : TABLE_FILE_PART;
    return f->ndeleted ? TABLE_FILE_DV : TABLE_FILE_PLAIN;
}

size_t table_group_size(const lh_snapshot *s, int group) {
    size_t n = 0;
    for (size_t i = 0; i < s->nfiles; i++) n += table_file_group(s, &s->files[i]) == group;
    return n;
}

/* The files of `group` as a read_parquet list; a list of several is
 * narrowed by the group's pruning variable when a statement set it
 * (table_prune.c). Their count. */
static size_t append_group_paths(lh_table *t, lh_strbuf *sb, const lh_snapshot *s, int group, int fetch) {
    size_t total = table_group_size(s, group), n = 0;
    char var[64];
    table_prune_var(t, s, group, var);
    if (total >= 2) sb_printf(sb, "coalesce(getvariable('%s'), ", var);
    sb_putc(sb, '[');
    for (size_t i = 0; i < s->nfiles; i++) {
        if (table_file_group(s, &s->files[i]) != group) continue;
        if (n++) sb_putc(sb, ',');
        append_path(t, sb, s->files[i].path, fetch);
    }
    sb_puts(sb, total >= 2 ? "])" : "]");
    return n;
}

/* What drops the rows the deletion vectors of s's DV files (those flagged
 * in pick; all when NULL) delete from a scan aliased `alias` that has their
 * filename and file_row_number: one anti-join on the large DVs' cached row
 * files, then " WHERE NOT (...)" with the small ones' ranges (nothing when
 * no picked file has a DV). */
static void append_dv_filter(lh_table *t, lh_strbuf *sb, const lh_snapshot *s, const int *pick, const char *alias,
                             int fetch) {
    size_t cached = 0, inline_n = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        const lh_table_file *f = &s->files[i];
        if ((pick && !pick[i]) || table_file_group(s, f) != TABLE_FILE_DV || !f->deleted_rows_file) continue;
        sb_puts(sb, cached++ ? "," : " ANTI JOIN read_parquet([");
        sb_sql_str(sb, f->deleted_rows_file);
    }
    if (cached)
        sb_printf(sb, "]) AS lh_d ON lh_d.f = %s.filename AND lh_d.r = %s.file_row_number", alias, alias);
    for (size_t i = 0; i < s->nfiles; i++) {
        const lh_table_file *f = &s->files[i];
        if ((pick && !pick[i]) || table_file_group(s, f) != TABLE_FILE_DV || f->deleted_rows_file) continue;
        sb_printf(sb, inline_n++ ? " OR (%s.filename = " : " WHERE NOT ((%s.filename = ", alias);
        append_path(t, sb, f->path, fetch);
        sb_puts(sb, " AND");
        char *col = lh_asprintf("%s.file_row_number", alias);
        append_dv_predicate(sb, f, col);
        free(col);
        sb_putc(sb, ')');
    }
    if (inline_n) sb_putc(sb, ')');
}

/* Every unpartitioned file with a deletion vector in one read_parquet
 * (filename and file_row_number added): small DVs as one predicate on
 * (filename, row), large ones as one anti-join on their cached row files. */
static void append_dv_group(lh_table *t, lh_strbuf *sb, const lh_snapshot *s, int fetch) {
    sb_puts(sb, "SELECT lh_f.* EXCLUDE (filename, file_row_number) FROM read_parquet(");
    append_group_paths(t, sb, s, TABLE_FILE_DV, fetch);
    sb_puts(sb, ", union_by_name = true, hive_partitioning = false, filename = true, file_row_number = true) AS lh_f");
    append_dv_filter(t, sb, s, NULL, "lh_f", fetch);
}

/* Every partitioned file without a deletion vector in one read_parquet
 * (narrowed by the group's pruning variable), joined by file name to a
 * VALUES list of each file's partition values as typed constants (ADR 0275). */
/* " JOIN (VALUES (path, values...), ...) AS lh_pv(lh_file, cols...) ON
 * <alias>.filename = lh_pv.lh_file" for the files of s in `group` that are
 * flagged in pick (all when NULL). */
static void append_part_join(lh_table *t, lh_strbuf *sb, const lh_snapshot *s, int group, const int *pick,
                             const char *alias, int fetch) {
    sb_puts(sb, " JOIN (VALUES ");
    size_t n = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        const lh_table_file *f = &s->files[i];
        if (table_file_group(s, f) != group || (pick && !pick[i])) continue;
        sb_puts(sb, n++ ? ", (" : "(");
        append_path(t, sb, f->path, fetch);
        for (size_t c = 0; c < s->ncolumns; c++) {
            if (!table_is_partition_col(s, s->columns[c].name)) continue;
            sb_puts(sb, ", ");
            append_part_constant(sb, &s->columns[c], part_value(f, &s->columns[c]));
        }
        sb_putc(sb, ')');
    }
    sb_puts(sb, ") AS lh_pv(lh_file");
    for (size_t c = 0; c < s->ncolumns; c++) {
        if (!table_is_partition_col(s, s->columns[c].name)) continue;
        sb_puts(sb, ", ");
        sb_sql_ident(sb, s->columns[c].physical_name);
    }
    sb_printf(sb, ") ON %s.filename = lh_pv.lh_file", alias);
}

static void append_part_group(lh_table *t, lh_strbuf *sb, const lh_snapshot *s, int fetch) {
    sb_puts(sb, "SELECT lh_pf.* EXCLUDE (filename), lh_pv.* EXCLUDE (lh_file) FROM read_parquet(");
    append_group_paths(t, sb, s, TABLE_FILE_PART, fetch);
    sb_puts(sb, ", union_by_name = true, hive_partitioning = false, filename = true) AS lh_pf");
    append_part_join(t, sb, s, TABLE_FILE_PART, NULL, "lh_pf", fetch);
}

/* 1 when some file of s (flagged in pick; all when NULL) has stats that
 * count the nulls of column c: the file holds it,
 * so the union of the files' columns has it. */
static int column_in_some_file(const lh_snapshot *s, const int *pick, const lh_table_column *c) {
    for (size_t i = 0; i < s->nfiles; i++) {
        if (!s->files[i].stats || (pick && !pick[i])) continue;
        json_t *st = json_loads(s->files[i].stats, 0, NULL);
        int has = json_object_get(json_object_get(st, "nullCount"), c->physical_name) != NULL;
        json_decref(st);
        if (has) return 1;
    }
    return 0;
}

/* " UNION ALL BY NAME SELECT NULL::T AS phys, ... WHERE false" for the
 * columns no file is known to hold (added by ALTER TABLE ADD COLUMN after
 * every file was written, or files without stats), so the projection finds
 * them (NULL); 0 when every column is known to be in a file. */
static int append_absent_columns(lh_strbuf *sb, const lh_snapshot *s, const int *pick) {
    int n = 0;
    for (size_t i = 0; i < s->ncolumns; i++) {
        const lh_table_column *c = &s->columns[i];
        if (table_is_partition_col(s, c->name) || column_in_some_file(s, pick, c)) continue;
        char *ty = table_duckdb_type(c->type);
        sb_printf(sb, "%sCAST(NULL AS %s) AS ", n++ ? ", " : " UNION ALL BY NAME SELECT ", ty);
        sb_sql_ident(sb, c->physical_name);
        free(ty);
    }
    if (n) sb_puts(sb, " WHERE false");
    return n;
}

char *table_file_list(lh_table *t, const lh_snapshot *s, const int *pick) {
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

void table_files_scan(lh_table *t, lh_strbuf *sb, const lh_snapshot *s, const int *pick, int flags) {
    char *files = table_file_list(t, s, pick);
    int fname = flags & LH_SCAN_FILENAME, rownum = flags & LH_SCAN_ROW_NUMBER, dvs = 0;
    for (size_t i = 0; i < s->nfiles; i++) dvs |= (!pick || pick[i]) && s->files[i].ndeleted > 0;
    sb_puts(sb, "(SELECT ");
    table_select_projection(sb, s);
    if (s->npartition_columns) { /* the partition values joined by file name */
        sb_printf(sb, "%s%s FROM (SELECT lh_s.*%s, lh_pv.* EXCLUDE (lh_file) FROM read_parquet(%s, union_by_name = true, "
                      "hive_partitioning = false, filename = true%s) AS lh_s",
                  fname ? ", filename" : "", rownum ? ", file_row_number" : "", fname ? "" : " EXCLUDE (filename)", files,
                  rownum || dvs ? ", file_row_number = true" : "");
        append_part_join(t, sb, s, TABLE_FILE_PART, pick, "lh_s", 1);
    } else {
        sb_printf(sb, "%s%s FROM (SELECT lh_s.* FROM read_parquet(%s, union_by_name = true%s%s) AS lh_s",
                  fname ? ", filename" : "", rownum ? ", file_row_number" : "", files,
                  fname || dvs ? ", filename = true" : "", rownum || dvs ? ", file_row_number = true" : "");
    }
    free(files);
    if (dvs) append_dv_filter(t, sb, s, pick, "lh_s", 1); /* live rows only */
    append_absent_columns(sb, s, pick);
    sb_puts(sb, "))");
}

static char *select_sql(lh_table *t, const lh_snapshot *s, int fetch) {
    lh_strbuf sb = LH_STRBUF_INIT;
    if (s->nfiles == 0) {
        append_empty_select(&sb, s);
        return sb_steal(&sb);
    }
    size_t count[TABLE_FILE_GROUPS] = {0};
    for (size_t i = 0; i < s->nfiles; i++) count[table_file_group(s, &s->files[i])]++;
    lh_strbuf absent = LH_STRBUF_INIT;
    int nabsent = append_absent_columns(&absent, s, NULL);
    sb_puts(&sb, "SELECT ");
    table_select_projection(&sb, s);
    if (count[TABLE_FILE_PLAIN] == s->nfiles && !nabsent) { /* the common case: one scan */
        sb_puts(&sb, " FROM read_parquet(");
        append_group_paths(t, &sb, s, TABLE_FILE_PLAIN, fetch);
        sb_puts(&sb, ", union_by_name = true, hive_partitioning = false)");
        return sb_steal(&sb);
    }
    sb_puts(&sb, " FROM (");
    size_t n = 0;
    if (count[TABLE_FILE_PLAIN]) {
        sb_puts(&sb, "SELECT * FROM read_parquet(");
        append_group_paths(t, &sb, s, TABLE_FILE_PLAIN, fetch);
        sb_puts(&sb, ", union_by_name = true, hive_partitioning = false)");
        n++;
    }
    if (count[TABLE_FILE_DV]) {
        if (n++) sb_puts(&sb, " UNION ALL BY NAME ");
        append_dv_group(t, &sb, s, fetch);
    }
    if (count[TABLE_FILE_PART]) {
        if (n++) sb_puts(&sb, " UNION ALL BY NAME ");
        append_part_group(t, &sb, s, fetch);
    }
    for (size_t i = 0; i < s->nfiles; i++) {
        if (table_file_group(s, &s->files[i]) != TABLE_FILE_OWN) continue;
        if (n++) sb_puts(&sb, " UNION ALL BY NAME ");
        file_select(t, &sb, s, &s->files[i], NULL, fetch);
    }
    if (nabsent) sb_puts(&sb, absent.buf);
    sb_free(&absent);
    sb_putc(&sb, ')');
    return sb_steal(&sb);
}

char *table_snapshot_select_sql(lh_table *t, const lh_snapshot *s) { return select_sql(t, s, 1); }

char *table_snapshot_view_sql(lh_table *t, const lh_snapshot *s) { return select_sql(t, s, 0); }
