/*
 * table_alter.c — schema changes that rewrite no data file (ADR 0251):
 * ALTER TABLE ADD COLUMN (a new nullable field; files written before it
 * read NULL) and RENAME COLUMN under column mapping mode 'name'. The first
 * rename upgrades the table (protocol reader 2 / writer 5,
 * delta.columnMapping.mode = name) and gives every field, nested ones
 * included, an id and a physical name equal to its current name, so the
 * existing files keep being read by the names they hold; the rename then
 * changes only the logical name. Each is one metadata-only commit.
 *
 * SET TBLPROPERTIES turns the change data feed on or off (writer 4).
 *
 * Also what writers need under column mapping: the SELECT that renames a
 * write's logical columns to the physical names the files must hold.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "table/table.h"
#include "table/table_internal.h"

#define ID_KEY "delta.columnMapping.id"
#define PHYS_KEY "delta.columnMapping.physicalName"
#define MODE_KEY "delta.columnMapping.mode"
#define MAX_ID_KEY "delta.columnMapping.maxColumnId"

static int mapped(const lh_snapshot *s) { return s->column_mapping && strcmp(s->column_mapping, "none") != 0; }

char *table_physical_select(const lh_snapshot *s, const char *select_sql) {
    if (!s || !mapped(s)) return lh_strdup(select_sql);
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "SELECT ");
    for (size_t i = 0; i < s->ncolumns; i++) {
        if (i) sb_puts(&sb, ", ");
        sb_sql_ident(&sb, s->columns[i].name);
        sb_puts(&sb, " AS ");
        sb_sql_ident(&sb, s->columns[i].physical_name);
    }
    sb_printf(&sb, " FROM (%s) AS lh_logical", select_sql);
    return sb_steal(&sb);
}

const char *table_physical_of(const lh_snapshot *s, const char *logical) {
    for (size_t i = 0; s && i < s->ncolumns; i++)
        if (!strcmp(s->columns[i].name, logical)) return s->columns[i].physical_name;
    return logical;
}

/* ---- the metadata-only commit -------------------------------------------- */

typedef struct {
    const char *op;           /* "ADD COLUMNS", "RENAME COLUMN" or "SET TBLPROPERTIES" */
    const char *name;         /* ADD: the column; RENAME: the old name; SET: the property */
    const char *to;           /* RENAME: the new name; SET: the value */
    json_t *type;             /* ADD: the Delta type (borrowed) */
    const char *principal;
} alter_spec;

static int is_set(const alter_spec *a) { return !strcmp(a->op, "SET TBLPROPERTIES"); }

static json_t *field_of(json_t *fields, const char *name) {
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) if (!strcmp(json_string_value(json_object_get(f, "name")), name)) return f;
    return NULL;
}

/* Gives f and every nested struct field an id and a physical name (its
 * name) where it has none; *next is the next free id. */
static void assign_ids(json_t *type, int64_t *next);
static void assign_field(json_t *f, int64_t *next) {
    json_t *md = json_object_get(f, "metadata");
    if (!json_is_object(md)) json_object_set_new(f, "metadata", md = json_object());
    if (!json_object_get(md, ID_KEY)) json_object_set_new(md, ID_KEY, json_integer((*next)++));
    if (!json_object_get(md, PHYS_KEY)) json_object_set_new(md, PHYS_KEY, json_incref(json_object_get(f, "name")));
    assign_ids(json_object_get(f, "type"), next);
}
static void assign_ids(json_t *type, int64_t *next) {
    const char *kind = json_string_value(json_object_get(type, "type"));
    if (!kind) return;
    if (!strcmp(kind, "array")) assign_ids(json_object_get(type, "elementType"), next);
    else if (!strcmp(kind, "map")) {
        assign_ids(json_object_get(type, "keyType"), next);
        assign_ids(json_object_get(type, "valueType"), next);
    } else if (!strcmp(kind, "struct")) {
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(type, "fields"), i, f) assign_field(f, next);
    }
}

/* The new schema (owned JSON) and configuration (conf, updated) on top of
 * base; *upgrade set when the protocol must be raised for column mapping. */
static json_t *alter_schema(const alter_spec *a, const lh_snapshot *base, json_t *conf, int *upgrade, json_t **params,
                            lh_err *err) {
    json_t *schema = json_loads(base->schema_string, 0, NULL);
    json_t *fields = json_object_get(schema, "fields");
    if (!json_is_array(fields)) {
        json_decref(schema);
        return lh_err_set(err, LH_E_UNPROCESSABLE, "the table's schema is not a struct"), NULL;
    }
    const char *taken = a->to ? a->to : a->name;
    json_t *old = a->to ? field_of(fields, a->name) : NULL;
    int rc = 0;
    if (a->to && !old) rc = lh_err_set(err, LH_E_NOT_FOUND, "the table has no column '%s'", a->name);
    else if (field_of(fields, taken) && !(a->to && !strcmp(a->name, a->to)))
        rc = lh_err_set(err, LH_E_CONFLICT, "the table already has a column '%s'", taken);
    else if (a->to && table_is_partition_col(base, a->name))
        rc = lh_err_set(err, LH_E_UNPROCESSABLE, "renaming partition column '%s' is not supported", a->name);
    if (rc != 0) {
        json_decref(schema);
        return NULL;
    }
    int64_t next = json_integer_value(json_object_get(conf, MAX_ID_KEY)) + 1;
    if (a->to && !mapped(base)) { /* the first rename: map every column to the name its files hold */
        next = 1;
        size_t i;
        json_t *f;
        json_array_foreach(fields, i, f) assign_field(f, &next);
        json_object_set_new(conf, MODE_KEY, json_string("name"));
        *upgrade = 1;
    }
    if (a->to) {
        json_object_set_new(old, "name", json_string(a->to));
        *params = json_pack("{s:s, s:s}", "oldColumnPath", a->name, "newColumnPath", a->to);
    } else {
        json_t *f = json_pack("{s:s, s:O, s:b, s:{}}", "name", a->name, "type", a->type, "nullable", 1, "metadata");
        json_t *cols = json_pack("[{s:O}]", "column", f);
        char *col = json_dumps(cols, JSON_COMPACT);
        json_decref(cols);
        if (mapped(base)) { /* a fresh physical name: no file holds a column by it */
            char uuid[37];
            lh_uuid4(uuid);
            char *phys = lh_asprintf("col-%s", uuid);
            json_t *md = json_object_get(f, "metadata");
            json_object_set_new(md, ID_KEY, json_integer(next++));
            json_object_set_new(md, PHYS_KEY, json_string(phys));
            free(phys);
        }
        json_array_append_new(fields, f); /* after the dump: the log's parameters show the logical field */
        *params = json_pack("{s:s}", "columns", col);
        free(col);
    }
    if (mapped(base) || *upgrade) json_object_set_new(conf, MAX_ID_KEY, json_sprintf("%" PRId64, next - 1));
    return schema;
}

static char *alter_build(void *ctx, const lh_snapshot *base, lh_err *err) {
    const alter_spec *a = ctx;
    if (!base) return lh_err_set(err, LH_E_NOT_FOUND, "the table does not exist"), NULL;
    json_t *conf = json_loads(base->configuration, 0, NULL);
    if (!json_is_object(conf)) {
        json_decref(conf);
        conf = json_object();
    }
    /* maxColumnId is a string in the log; worked on as a number */
    const char *max = json_string_value(json_object_get(conf, MAX_ID_KEY));
    if (max) json_object_set_new(conf, MAX_ID_KEY, json_integer(strtoll(max, NULL, 10)));
    int upgrade = 0, writer = 5; /* the writer version column mapping needs */
    json_t *params = NULL, *schema = NULL;
    if (is_set(a)) { /* the change data feed: writer 4 */
        json_object_set_new(conf, a->name, json_string(a->to));
        upgrade = base->min_writer_version < 4 || base->min_writer_version >= 7; /* 7: refused below */
        writer = 4;
        json_t *props = json_pack("{s:s}", a->name, a->to);
        char *text = json_dumps(props, JSON_COMPACT);
        params = json_pack("{s:s}", "properties", text);
        free(text);
        json_decref(props);
    } else if (!(schema = alter_schema(a, base, conf, &upgrade, &params, err))) {
        json_decref(conf);
        return NULL;
    }
    if (upgrade && base->min_writer_version >= 7) {
        json_decref(schema);
        json_decref(conf);
        json_decref(params);
        lh_err_set(err, LH_E_UNPROCESSABLE, "%s on a table with table features (writer 7) is not supported yet", a->op);
        return NULL;
    }
    int64_t now = lh_now_ms();
    char *text = schema ? json_dumps(schema, JSON_COMPACT) : NULL;
    json_decref(schema);
    json_t *lines = json_array();
    json_t *ci = table_commit_info(a->op, params, base->version, NULL, a->principal, now);
    json_object_set_new(json_object_get(ci, "commitInfo"), "isBlindAppend", json_false());
    json_array_append_new(lines, ci);
    if (upgrade) { /* column mapping also needs reader 2 */
        int reader = writer == 5 && base->min_reader_version < 2 ? 2 : base->min_reader_version;
        json_array_append_new(lines, json_pack("{s:{s:i, s:i}}", "protocol", "minReaderVersion", reader,
                                               "minWriterVersion", base->min_writer_version > writer ? base->min_writer_version : writer));
    }
    json_t *meta = table_metadata_action(base, text, conf, now);
    json_t *parts = json_object_get(json_object_get(meta, "metaData"), "partitionColumns");
    for (size_t i = 0; text && i < base->npartition_columns; i++) /* the schema is replaced, its partitions kept */
        json_array_append_new(parts, json_string(base->partition_columns[i]));
    json_array_append_new(lines, meta);
    free(text);
    return table_commit_lines(lines);
}

static int alter_commit(lh_table *t, duckdb_connection conn, alter_spec *a, int64_t *version, lh_err *err) {
    lh_commit_spec spec = {.kind = LH_COMMIT_REWRITE, .build = alter_build, .ctx = a, .conn = conn};
    return table_commit_retry(t, &spec, version, err);
}

int table_add_column(lh_table *t, duckdb_connection conn, const char *name, const char *duck_type,
                     const char *principal, int64_t *version, lh_err *err) {
    json_t *type = table_delta_type(duck_type);
    alter_spec a = {.op = "ADD COLUMNS", .name = name, .type = type, .principal = principal};
    int rc = alter_commit(t, conn, &a, version, err);
    json_decref(type);
    return rc;
}

int table_rename_column(lh_table *t, duckdb_connection conn, const char *from, const char *to,
                        const char *principal, int64_t *version, lh_err *err) {
    alter_spec a = {.op = "RENAME COLUMN", .name = from, .to = to, .principal = principal};
    return alter_commit(t, conn, &a, version, err);
}

int table_set_property(lh_table *t, duckdb_connection conn, const char *key, const char *value,
                       const char *principal, int64_t *version, lh_err *err) {
    if (strcmp(key, "delta.enableChangeDataFeed") != 0 || (strcmp(value, "true") && strcmp(value, "false"))) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "table property '%s' = '%s' cannot be set", key, value);
        lh_err_hint(err, "settable: 'delta.enableChangeDataFeed' = 'true' | 'false'");
        return -1;
    }
    alter_spec a = {.op = "SET TBLPROPERTIES", .name = key, .to = value, .principal = principal};
    return alter_commit(t, conn, &a, version, err);
}
