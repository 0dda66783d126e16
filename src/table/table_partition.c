/*
 * table_partition.c — writing partitioned Delta tables (ADR 0275).
 *
 * A write into a table with partition columns puts the rows of each
 * distinct combination of their values in one Parquet file of its own,
 * under Hive-style folders "c1=v1/c2=v2/" (values escaped as Spark and
 * delta-rs escape them, a null as __HIVE_DEFAULT_PARTITION__), without
 * the partition columns (they live in the add action's partitionValues,
 * strings serialized per the Delta protocol). The rows are first held in
 * a temporary table on the caller's connection, so the statement that
 * produced them runs once whatever the number of partitions.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "table/table.h"
#include "table/table_internal.h"

/* Characters Hive (and so Spark, delta-rs) escapes in a partition folder. */
static int escaped_char(unsigned char c) {
    return c < 0x20 || c == 0x7f || strchr("\"#%'*/:=?\\{[]^", c) != NULL;
}

char *table_partition_escape(const char *value) {
    if (!value) return lh_strdup(LH_TABLE_NULL_PARTITION);
    lh_strbuf sb = LH_STRBUF_INIT;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (escaped_char(*p)) sb_printf(&sb, "%%%02X", *p);
        else sb_putc(&sb, (char)*p);
    }
    return sb.buf ? sb_steal(&sb) : lh_strdup("");
}

char *table_partition_dir(const char *const *names, const char *const *values, size_t n) {
    lh_strbuf sb = LH_STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        char *k = table_partition_escape(names[i]), *v = table_partition_escape(values[i]);
        sb_printf(&sb, "%s%s=%s", i ? "/" : "", k, v);
        free(k);
        free(v);
    }
    return sb.buf ? sb_steal(&sb) : lh_strdup("");
}

/* 1 when a column of DuckDB type `duck` may partition a table: its values
 * have one text form every Delta reader parses back. */
static int partition_type_ok(const char *duck) {
    static const char *const ok[] = {"VARCHAR", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "BOOLEAN", "DATE"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcmp(duck, ok[i])) return 1;
    return !strncmp(duck, "DECIMAL", 7);
}

int table_partition_check(const file_schema *fs, const char *const *cols, size_t n, lh_err *err) {
    if (n == 0) return lh_err_set(err, LH_E_BAD_REQUEST, "PARTITIONED BY needs at least one column");
    if (n >= fs->n)
        return lh_err_set(err, LH_E_BAD_REQUEST,
                          "PARTITIONED BY cannot name every column: a data file must hold at least one");
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (!strcasecmp(cols[i], cols[j]))
                return lh_err_set(err, LH_E_BAD_REQUEST, "PARTITIONED BY names column '%s' twice", cols[i]);
        size_t k = 0;
        while (k < fs->n && strcmp(fs->names[k], cols[i])) k++;
        if (k == fs->n) return lh_err_set(err, LH_E_BAD_REQUEST, "PARTITIONED BY names unknown column '%s'", cols[i]);
        if (!partition_type_ok(fs->types[k]))
            return lh_err_set(err, LH_E_BAD_REQUEST,
                              "partition column '%s' is %s; partition columns may be strings, integers, booleans, "
                              "dates or decimals", cols[i], fs->types[k]);
    }
    return 0;
}

/* The Delta protocol's text of partition column `col` (DuckDB type duck):
 * NULL for null, and for an empty string (Spark writes those as null). */
static void append_serialized(lh_strbuf *sb, const char *col, const char *duck) {
    sb_puts(sb, strcmp(duck, "VARCHAR") ? "CAST(" : "NULLIF(CAST(");
    sb_sql_ident(sb, col);
    sb_puts(sb, strcmp(duck, "VARCHAR") ? " AS VARCHAR)" : " AS VARCHAR), '')");
}

static const char *schema_type_of(const file_schema *fs, const char *name) {
    for (size_t i = 0; i < fs->n; i++)
        if (!strcmp(fs->names[i], name)) return fs->types[i];
    return "?";
}

/* Writes one file of partition `values` (row r of the distinct values) from tmp. */
static int write_one(lh_table *t, duckdb_connection conn, const char *tmp, const file_schema *fs,
                     const char *const *parts, size_t nparts, const char *const *values,
                     const char *const *cluster_by, new_file *nf, lh_err *err) {
    lh_strbuf sel = LH_STRBUF_INIT;
    sb_puts(&sel, "SELECT * EXCLUDE (");
    for (size_t i = 0; i < nparts; i++) {
        if (i) sb_puts(&sel, ", ");
        sb_sql_ident(&sel, parts[i]);
    }
    sb_printf(&sel, ") FROM %s WHERE true", tmp);
    nf->part_values = json_object();
    for (size_t i = 0; i < nparts; i++) {
        sb_puts(&sel, " AND ");
        append_serialized(&sel, parts[i], schema_type_of(fs, parts[i]));
        if (values[i]) {
            sb_puts(&sel, " = ");
            sb_sql_str(&sel, values[i]);
        } else {
            sb_puts(&sel, " IS NULL");
        }
        json_object_set_new(nf->part_values, parts[i], values[i] ? json_string(values[i]) : json_null());
    }
    nf->dir = table_partition_dir(parts, values, nparts);
    int rc = table_parquet_write(t, conn, sel.buf, cluster_by, NULL, nf, err);
    sb_free(&sel);
    return rc;
}

/* cluster_by (physical names) without the partition columns (a file holds
 * none of them); NULL-terminated, the strings borrowed. */
static const char **file_cluster_key(const char *const *cluster_by, const char *const *parts, size_t nparts) {
    size_t n = 0;
    while (cluster_by && cluster_by[n]) n++;
    const char **out = lh_calloc(n + 1, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < nparts && strcmp(parts[j], cluster_by[i])) j++;
        if (j == nparts) out[k++] = cluster_by[i];
    }
    return out;
}

int table_partition_write(lh_table *t, duckdb_connection conn, const char *select_sql, const char *const *parts,
                          size_t nparts, const char *const *cluster_by, const lh_snapshot *mapping, int append,
                          table_partitioned *out, lh_err *err) {
    memset(out, 0, sizeof *out);
    char uuid[37], tmp[64];
    lh_uuid4(uuid);
    snprintf(tmp, sizeof tmp, "lh_part_%.8s%.4s", uuid, uuid + 9);
    char *physical = table_physical_select(mapping, select_sql);
    char *sql = lh_asprintf("CREATE TEMP TABLE %s AS %s", tmp, physical);
    free(physical);
    int rc = table_run_sql(conn, sql, NULL, err);
    free(sql);
    if (rc != 0) return -1;
    const char **phys = lh_calloc(nparts + 1, sizeof *phys);
    for (size_t i = 0; i < nparts; i++) phys[i] = table_physical_of(mapping, parts[i]);
    const char **ckey = NULL;
    duckdb_result res;
    int have_res = 0;
    sql = lh_asprintf("SELECT * FROM %s", tmp);
    rc = table_describe(conn, sql, &out->schema, err);
    free(sql);
    if (rc == 0) {
        for (size_t i = 0; rc == 0 && append && i < nparts; i++)
            if (!strcmp(schema_type_of(&out->schema, phys[i]), "?"))
                rc = lh_err_set(err, LH_E_CONFLICT, "schema does not match the table: partition column '%s' is missing",
                                parts[i]);
        if (rc == 0) rc = table_partition_check(&out->schema, phys, nparts, err);
    }
    if (rc == 0) {
        lh_strbuf q = LH_STRBUF_INIT;
        sb_puts(&q, "SELECT DISTINCT ");
        for (size_t i = 0; i < nparts; i++) {
            if (i) sb_puts(&q, ", ");
            append_serialized(&q, phys[i], schema_type_of(&out->schema, phys[i]));
        }
        sb_printf(&q, " FROM %s ORDER BY ALL NULLS FIRST", tmp);
        rc = table_run_sql(conn, q.buf, &res, err);
        have_res = rc == 0;
        sb_free(&q);
    }
    if (rc == 0) {
        ckey = file_cluster_key(cluster_by, phys, nparts);
        size_t n = (size_t)duckdb_row_count(&res);
        out->files = lh_calloc(n + 1, sizeof *out->files);
        char **vals = lh_calloc(nparts + 1, sizeof *vals);
        for (size_t r = 0; rc == 0 && r < n; r++) {
            for (size_t i = 0; i < nparts; i++) {
                char *v = duckdb_value_is_null(&res, i, r) ? NULL : duckdb_value_varchar(&res, i, r);
                vals[i] = v ? lh_strdup(v) : NULL;
                duckdb_free(v);
            }
            rc = write_one(t, conn, tmp, &out->schema, phys, nparts, (const char *const *)vals, ckey,
                           &out->files[out->nfiles], err);
            out->nfiles++; /* freed (and discarded when published) by the caller either way */
            for (size_t i = 0; i < nparts; i++) free(vals[i]);
        }
        free(vals);
    }
    if (have_res) duckdb_destroy_result(&res);
    sql = lh_asprintf("DROP TABLE IF EXISTS %s", tmp);
    duckdb_result dr;
    duckdb_query(conn, sql, &dr); /* a temporary table: gone with the connection at worst */
    duckdb_destroy_result(&dr);
    free(sql);
    free(ckey);
    free(phys);
    return rc;
}

void table_partitioned_clear(table_partitioned *p) {
    for (size_t i = 0; i < p->nfiles; i++) table_new_file_free(&p->files[i]);
    free(p->files);
    table_file_schema_free(&p->schema);
    memset(p, 0, sizeof *p);
}

int table_rewrite_files(lh_table *t, duckdb_connection conn, const lh_snapshot *s, const char *select_sql,
                        table_partitioned *out, lh_err *err) {
    if (s->npartition_columns == 0) {
        memset(out, 0, sizeof *out);
        out->files = lh_calloc(1, sizeof *out->files);
        out->nfiles = 1;
        if (table_parquet_write(t, conn, select_sql, (const char *const *)s->cluster_by, s, out->files, err) != 0)
            return -1;
        return table_schema_check(s, &out->files[0].schema, err);
    }
    size_t n = 0;
    while (s->cluster_by && s->cluster_by[n]) n++;
    const char **phys = lh_calloc(n + 1, sizeof *phys);
    for (size_t i = 0; i < n; i++) phys[i] = table_physical_of(s, s->cluster_by[i]);
    int rc = table_partition_write(t, conn, select_sql, (const char *const *)s->partition_columns, s->npartition_columns,
                                   phys, s, 1, out, err);
    free(phys);
    return rc == 0 ? table_schema_check(s, &out->schema, err) : -1;
}

int table_file_same_partition(const lh_table_file *a, const lh_table_file *b) {
    if (a->nparts != b->nparts) return 0;
    for (size_t i = 0; i < a->nparts; i++) {
        size_t j = 0;
        while (j < b->nparts && strcmp(a->part_names[i], b->part_names[j])) j++;
        if (j == b->nparts) return 0;
        const char *x = a->part_values[i], *y = b->part_values[j];
        if ((x == NULL) != (y == NULL) || (x && strcmp(x, y))) return 0;
    }
    return 1;
}
