/*
 * manifest.c — building and refreshing dataset manifests from Delta
 * snapshots: files and counts from the log, columns from DuckDB's view of
 * the data, PII flags from column names and sampled values, a schema
 * fingerprint, and persistence as _catalog/datasets/<name>.json.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "catalog/pii.h"
#include "common/duck.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"

#define PII_SAMPLE_ROWS 200

static const char *const sensitivity_levels[] = {"public", "internal", "confidential", "restricted"};

/* Manifests shown to users: internal bookkeeping fields removed. */
json_t *manifest_public(json_t *m) {
    json_object_del(m, "sensitivity_set");
    return m;
}

int sensitivity_rank(const char *s) {
    for (int i = 0; i < 4; i++)
        if (s && !strcmp(s, sensitivity_levels[i])) return i;
    return -1;
}

char *manifest_key(const char *name) { return lh_asprintf("_catalog/datasets/%s.json", name); }

json_t *manifest_new(const char *name, const char *location, const char *bucket, const lh_lineage *lin) {
    char now[32];
    lh_time_iso(lh_now_ms(), now);
    json_t *m = json_pack("{s:s, s:I, s:I, s:I, s:s, s:[], s:s, s:s, s:s, s:s, s:[], s:s, s:s, s:s, s:s, s:[]}",
                          "name", name, "version", (json_int_t)-1, "row_count", (json_int_t)0, "size_bytes",
                          (json_int_t)0, "schema_fingerprint", "", "columns", "description", "", "owner", "",
                          "sensitivity", "internal", "sensitivity_set", "", "tags", "created_at", now,
                          "updated_at", now, "bucket", bucket, "location", location, "files");
    json_object_set_new(m, "format", json_string("delta"));
    json_object_set_new(m, "freshness", json_pack("{s:s}", "last_ingest_at", now));
    json_object_set_new(m, "embedding", json_pack("{s:s, s:n, s:s}", "status", "none", "stale_since",
                                                          "refresh_policy", "manual"));
    manifest_touch_lineage(m, lin);
    return m;
}

void manifest_touch_lineage(json_t *m, const lh_lineage *lin) {
    char uuid[37];
    lh_uuid4(uuid);
    char *job = lin && lin->ingest_job ? lh_strdup(lin->ingest_job) : lh_asprintf("job-%s", uuid);
    json_object_set_new(m, "lineage", json_pack("{s:s, s:s, s:s}", "source_system",
                                                lin && lin->source_system ? lin->source_system : "unknown",
                                                "ingest_job", job, "source",
                                                lin && lin->source ? lin->source : ""));
    free(job);
}

int manifest_persist(lh_catalog *c, const json_t *m, lh_err *err) {
    char *text = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    char *key = manifest_key(json_string_value(json_object_get(m, "name")));
    int rc = storage_put(c->st, key, text, strlen(text), NULL, err);
    free(key);
    free(text);
    return rc;
}

void manifest_update_sensitivity(json_t *m) {
    int level = sensitivity_rank(json_string_value(json_object_get(m, "sensitivity_set")));
    if (level < 0) level = 1; /* internal by default */
    size_t i;
    json_t *col;
    json_array_foreach(json_object_get(m, "columns"), i, col) {
        int r = sensitivity_rank(json_string_value(json_object_get(col, "sensitivity")));
        if (r > level) level = r;
    }
    json_object_set_new(m, "sensitivity", json_string(sensitivity_levels[level]));
}

/* Samples up to PII_SAMPLE_ROWS rows as text: values[col][row], NULLs skipped. */
typedef struct {
    char **names, **types;
    char ***values;
    size_t *nvalues;
    size_t ncols;
} sample_set;

static void sample_free(sample_set *s) {
    for (size_t c = 0; c < s->ncols; c++) lh_strv_free(s->values[c], s->nvalues[c]);
    free(s->values);
    free(s->nvalues);
    lh_strv_free(s->names, s->ncols);
    lh_strv_free(s->types, s->ncols);
}

static char *type_name_of(duckdb_result *r, idx_t col) {
    duckdb_logical_type lt = duckdb_column_logical_type(r, col);
    duckdb_type id = duckdb_get_type_id(lt);
    char *out;
    if (id == DUCKDB_TYPE_DECIMAL) out = lh_asprintf("DECIMAL(%d,%d)", duckdb_decimal_width(lt), duckdb_decimal_scale(lt));
    else {
        static const struct { duckdb_type id; const char *n; } names[] = {
            {DUCKDB_TYPE_BOOLEAN, "BOOLEAN"}, {DUCKDB_TYPE_TINYINT, "TINYINT"}, {DUCKDB_TYPE_SMALLINT, "SMALLINT"},
            {DUCKDB_TYPE_INTEGER, "INTEGER"}, {DUCKDB_TYPE_BIGINT, "BIGINT"}, {DUCKDB_TYPE_HUGEINT, "HUGEINT"},
            {DUCKDB_TYPE_UTINYINT, "UTINYINT"}, {DUCKDB_TYPE_USMALLINT, "USMALLINT"}, {DUCKDB_TYPE_UINTEGER, "UINTEGER"},
            {DUCKDB_TYPE_UBIGINT, "UBIGINT"}, {DUCKDB_TYPE_FLOAT, "FLOAT"}, {DUCKDB_TYPE_DOUBLE, "DOUBLE"},
            {DUCKDB_TYPE_VARCHAR, "VARCHAR"}, {DUCKDB_TYPE_BLOB, "BLOB"}, {DUCKDB_TYPE_DATE, "DATE"},
            {DUCKDB_TYPE_TIME, "TIME"}, {DUCKDB_TYPE_TIMESTAMP, "TIMESTAMP"},
            {DUCKDB_TYPE_TIMESTAMP_TZ, "TIMESTAMP WITH TIME ZONE"}, {DUCKDB_TYPE_UUID, "UUID"},
            {DUCKDB_TYPE_LIST, "LIST"}, {DUCKDB_TYPE_STRUCT, "STRUCT"}, {DUCKDB_TYPE_MAP, "MAP"},
            {DUCKDB_TYPE_INTERVAL, "INTERVAL"}, {DUCKDB_TYPE_ENUM, "ENUM"}, {DUCKDB_TYPE_ARRAY, "ARRAY"},
        };
        const char *n = "OTHER";
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (names[i].id == id) n = names[i].n;
        out = lh_strdup(n);
    }
    duckdb_destroy_logical_type(&lt);
    return out;
}

static int sample_rows(lh_catalog *c, const char *select, sample_set *s, lh_err *err) {
    memset(s, 0, sizeof *s);
    /* types from a LIMIT 0 query; values cast to VARCHAR, because the
     * duckdb_value_* API crashes on BLOB and JSON columns (DuckDB 1.4.4) */
    duckdb_result tr;
    if (lh_duck_probe(c->conn, select, &tr, err) != 0) return -1;
    char *sql = lh_asprintf("SELECT COLUMNS(*)::VARCHAR FROM (%s) LIMIT %d", select, PII_SAMPLE_ROWS);
    duckdb_result r;
    int rc = lh_duck_run(c->conn, sql, &r, LH_E_UNPROCESSABLE, NULL, err);
    free(sql);
    if (rc != 0) {
        duckdb_destroy_result(&tr);
        return -1;
    }
    s->ncols = (size_t)duckdb_column_count(&r);
    idx_t rows = duckdb_row_count(&r);
    s->names = lh_calloc(s->ncols + 1, sizeof *s->names);
    s->types = lh_calloc(s->ncols + 1, sizeof *s->types);
    s->values = lh_calloc(s->ncols + 1, sizeof *s->values);
    s->nvalues = lh_calloc(s->ncols + 1, sizeof *s->nvalues);
    for (size_t col = 0; col < s->ncols; col++) {
        s->names[col] = lh_strdup(duckdb_column_name(&r, col));
        s->types[col] = type_name_of(&tr, col);
        s->values[col] = lh_calloc(rows + 1, sizeof **s->values);
        for (idx_t row = 0; row < rows; row++) {
            if (duckdb_value_is_null(&r, col, row)) continue;
            char *v = duckdb_value_varchar(&r, col, row);
            s->values[col][s->nvalues[col]++] = lh_strdup(v ? v : "");
            duckdb_free(v);
        }
    }
    duckdb_destroy_result(&r);
    duckdb_destroy_result(&tr);
    return 0;
}

json_t *manifest_find_column(json_t *cols, const char *name) {
    size_t i;
    json_t *col;
    json_array_foreach(cols, i, col)
        if (!strcmp(json_string_value(json_object_get(col, "name")) ?: "", name)) return col;
    return NULL;
}

/* Column list from the sample; keeps notes and overrides of known columns,
 * runs PII detection on columns that are new or changed type. */
static json_t *build_columns(json_t *old_cols, const sample_set *s, lh_strbuf *fp) {
    json_t *cols = json_array();
    for (size_t i = 0; i < s->ncols; i++) {
        json_t *old = manifest_find_column(old_cols, s->names[i]);
        sb_printf(fp, "%s%s:%s", i ? "," : "", s->names[i], s->types[i]);
        if (old && !strcmp(json_string_value(json_object_get(old, "type")) ?: "", s->types[i])) {
            json_array_append(cols, old);
            continue;
        }
        unsigned mask = pii_detect_column(s->names[i], s->types[i], (const char *const *)s->values[i], s->nvalues[i]);
        const char *kinds[8];
        size_t nk = pii_mask_names(mask, kinds, 8);
        json_t *pii = json_array();
        for (size_t k = 0; k < nk; k++) json_array_append_new(pii, json_string(kinds[k]));
        const char *sens = mask ? pii_mask_sensitivity(mask) : "internal";
        json_array_append_new(cols, json_pack("{s:s, s:s, s:b, s:s, s:o, s:s}", "name", s->names[i], "type",
                                              s->types[i], "nullable", 1, "sensitivity", sens, "pii", pii,
                                              "description", ""));
    }
    return cols;
}

static json_t *files_json(const lh_snapshot *snap) {
    json_t *files = json_array();
    for (size_t i = 0; i < snap->nfiles; i++)
        json_array_append_new(files, json_pack("{s:s, s:I, s:I}", "path", snap->files[i].path, "size",
                                               (json_int_t)snap->files[i].size, "rows",
                                               (json_int_t)snap->files[i].rows));
    return files;
}

static int64_t count_rows(lh_catalog *c, const char *select) {
    char *sql = lh_asprintf("SELECT count(*) FROM (%s)", select);
    duckdb_result r;
    int64_t n = -1;
    if (duckdb_query(c->conn, sql, &r) == DuckDBSuccess) n = duckdb_value_int64(&r, 0, 0);
    duckdb_destroy_result(&r);
    free(sql);
    return n;
}

int manifest_refresh(lh_catalog *c, json_t *m, lh_table *t, char **select_out, lh_err *err) {
    lh_snapshot *snap = table_snapshot(t, -1, err);
    if (!snap) return -1;
    char *select = table_snapshot_select_sql(t, snap);
    table_note_read_keys(t, snap);
    sample_set s;
    if (sample_rows(c, select, &s, err) != 0) {
        free(select);
        table_snapshot_free(snap);
        return -1;
    }
    lh_strbuf fp = LH_STRBUF_INIT;
    json_t *cols = build_columns(json_object_get(m, "columns"), &s, &fp);
    char digest[65];
    lh_sha256_hex(fp.buf ? fp.buf : "", fp.len, digest);
    sb_free(&fp);
    sample_free(&s);
    int64_t rows = snap->num_records >= 0 ? snap->num_records : count_rows(c, select);
    json_object_set_new(m, "columns", cols);
    json_object_set_new(m, "schema_fingerprint", json_string(digest));
    json_object_set_new(m, "version", json_integer(snap->version));
    json_object_set_new(m, "row_count", json_integer(rows));
    json_object_set_new(m, "size_bytes", json_integer(snap->size_bytes));
    json_object_set_new(m, "files", files_json(snap));
    json_t *key = json_array();
    for (size_t i = 0; i < snap->ncluster_by; i++) json_array_append_new(key, json_string(snap->cluster_by[i]));
    json_object_set_new(m, "clustering_key", snap->ncluster_by ? key : (json_decref(key), json_null()));
    manifest_update_sensitivity(m);
    table_snapshot_free(snap);
    *select_out = select;
    return 0;
}
