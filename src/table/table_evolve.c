/*
 * table_evolve.c — schema evolution of an append that asked for it
 * (mergeSchema, ADR 0258): the table's schema with the new file's columns
 * merged in. A column the file adds joins the schema (nullable, at the end:
 * older files lack it and read as NULL); a column the file lacks stays
 * (its rows read NULL); a column the file holds in a wider type is widened
 * as the Delta protocol's typeWidening feature says — the field's type
 * becomes the wider one and its metadata records delta.typeChanges
 * ({fromType, toType}), the protocol gains typeWidening as reader and
 * writer feature, and readers cast older files' narrower values
 * (table_read.c). Anything else (a narrower or unrelated type) is a
 * conflict naming the column, as a plain append's check is.
 */
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "table/table.h"
#include "table/table_internal.h"

/* 1 when Delta type `from` may widen to `to` on our writes. */
static int widens(const char *from, const char *to) {
    static const struct {
        const char *from, *to;
    } ok[] = {{"byte", "short"}, {"byte", "integer"}, {"byte", "long"}, {"short", "integer"},
              {"short", "long"},  {"integer", "long"}, {"float", "double"}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcmp(from, ok[i].from) && !strcmp(to, ok[i].to)) return 1;
    return 0;
}

static json_t *field_named(json_t *fields, const char *name) {
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
        if (!strcmp(json_string_value(json_object_get(f, "name")) ?: "", name)) return f;
    return NULL;
}

/* Widens field f from `from` to `to`, recording the change. */
static void widen_field(json_t *f, const char *from, const char *to) {
    json_t *meta = json_object_get(f, "metadata");
    if (!json_is_object(meta)) {
        meta = json_object();
        json_object_set_new(f, "metadata", meta);
    }
    json_t *changes = json_object_get(meta, "delta.typeChanges");
    if (!json_is_array(changes)) {
        changes = json_array();
        json_object_set_new(meta, "delta.typeChanges", changes);
    }
    json_array_append_new(changes, json_pack("{s:s, s:s}", "fromType", from, "toType", to));
    json_object_set_new(f, "type", json_string(to));
}

/* The protocol of snap with typeWidening added, or NULL + err when snap's
 * protocol lists features we cannot carry over (we only know its versions). */
static json_t *widened_protocol(const lh_snapshot *snap, lh_err *err) {
    if (snap->min_reader_version <= 1 && snap->min_writer_version <= 2)
        return json_pack("{s:{s:i, s:i, s:[s], s:[s]}}", "protocol", "minReaderVersion", 3, "minWriterVersion", 7,
                         "readerFeatures", "typeWidening", "writerFeatures", "typeWidening");
    lh_err_set(err, LH_E_UNPROCESSABLE, "widening a column of a table with protocol %d/%d is not supported",
               snap->min_reader_version, snap->min_writer_version);
    lh_err_hint(err, "append the column as it is typed in the table (cast it), or write a new dataset");
    return NULL;
}

int table_schema_merge(const lh_snapshot *snap, const file_schema *fs, lh_schema_merge *out, lh_err *err) {
    memset(out, 0, sizeof *out);
    if (snap->column_mapping && strcmp(snap->column_mapping, "none"))
        return lh_err_set(err, LH_E_UNPROCESSABLE, "schema evolution on a column-mapped table is not supported");
    json_t *schema = json_loads(snap->schema_string ? snap->schema_string : "", 0, NULL);
    json_t *fields = json_object_get(schema, "fields");
    if (!json_is_array(fields)) {
        json_decref(schema);
        return lh_err_set(err, LH_E_UNPROCESSABLE, "the table's schema cannot be read");
    }
    lh_strbuf diff = LH_STRBUF_INIT;
    int changed = 0, widened = 0;
    for (size_t i = 0; i < fs->n; i++) {
        json_t *dt = table_delta_type(fs->types[i]);
        json_t *f = field_named(fields, fs->names[i]);
        if (!f) { /* a new column */
            json_array_append_new(fields, json_pack("{s:s, s:O, s:b, s:{}}", "name", fs->names[i], "type", dt,
                                                    "nullable", 1, "metadata"));
            changed = 1;
        } else {
            const char *have = json_string_value(json_object_get(f, "type"));
            const char *want = json_string_value(dt);
            if (have && want && strcmp(have, want)) {
                if (widens(have, want)) {
                    widen_field(f, have, want);
                    changed = widened = 1;
                } else {
                    sb_printf(&diff, "%scolumn '%s' is %s, the table has %s", diff.len ? "; " : "", fs->names[i], want,
                              have);
                }
            } else if (!have || !want) {
                char *a = json_dumps(dt, JSON_COMPACT), *b = json_dumps(json_object_get(f, "type"), JSON_COMPACT);
                if (strcmp(a, b)) sb_printf(&diff, "%scolumn '%s' changed its nested type", diff.len ? "; " : "", fs->names[i]);
                free(a);
                free(b);
            }
        }
        json_decref(dt);
    }
    int rc = 0;
    if (diff.len) {
        rc = lh_err_set(err, LH_E_CONFLICT, "schema does not match the table: %s", diff.buf);
        lh_err_hint(err, "types may only widen (integer → long, float → double); cast the column or write a new dataset");
    }
    if (rc == 0 && widened && !(out->protocol = widened_protocol(snap, err))) rc = -1;
    if (rc == 0 && changed) out->schema = json_dumps(schema, JSON_COMPACT);
    sb_free(&diff);
    json_decref(schema);
    if (rc != 0) table_schema_merge_clear(out);
    return rc;
}

void table_schema_merge_clear(lh_schema_merge *m) {
    free(m->schema);
    json_decref(m->protocol);
    memset(m, 0, sizeof *m);
}
