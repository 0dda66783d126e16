/*
 * catalog_schema.c — a dataset's columns at any Delta version, for schema
 * evolution (GET /catalog/datasets/by-name/{name}/schema-diff).
 *
 * Reads the table log directly: the manifest only tells where the table
 * lives. The table is opened privately for the call, so the registry lock
 * is held just long enough to copy the location and no writer waits on the
 * log replay.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "common/strbuf.h"

static json_t *snapshot_columns(const lh_snapshot *s) {
    json_t *cols = json_array();
    for (size_t i = 0; i < s->ncolumns; i++) {
        char *ty = table_duckdb_type(s->columns[i].type);
        json_array_append_new(cols, json_pack("{s:s, s:s, s:b}", "name", s->columns[i].name, "type", ty,
                                              "nullable", s->columns[i].nullable));
        free(ty);
    }
    return cols;
}

json_t *catalog_columns_at(lh_catalog *c, const char *name, int64_t version, int64_t *version_out,
                           lh_err *err) {
    if (!name) {
        lh_err_set(err, LH_E_NOT_FOUND, "no dataset named ''");
        return NULL;
    }
    lh_table *t = catalog_table_open(c, name, err);
    if (!t) return NULL;
    lh_snapshot *s = table_snapshot(t, version, err);
    json_t *cols = NULL;
    if (s) {
        cols = snapshot_columns(s);
        if (version_out) *version_out = s->version;
        table_snapshot_free(s);
    } else if (err && err->code == LH_E_NOT_FOUND && version >= 0) {
        lh_err_set(err, LH_E_NOT_FOUND, "dataset '%s' has no version %lld", name, (long long)version);
    }
    table_free(t);
    return cols;
}
