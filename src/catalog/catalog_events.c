/*
 * catalog_events.c — what of a SQL write's row events (ADR 0252) may go
 * into the journal. The journal's routes are open to read keys, so values
 * of a dataset's sensitive columns (PII detected, or sensitivity above
 * "internal") are replaced by "[redacted]": in an update's old/new values,
 * and inside the JSON rows of create/delete events, and the entity_id when
 * the row key itself is sensitive. The fact of the change (entity, field)
 * stays.
 */
#include <string.h>

#include "catalog/catalog_internal.h"

#define REDACTED "[redacted]"

/* 1 when manifest m's column `name` is sensitive (or unknown: fail closed). */
static int column_sensitive(const json_t *m, const char *name) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(m, "columns"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "name")) ?: "", name)) continue;
        return json_array_size(json_object_get(c, "pii")) > 0 ||
               sensitivity_rank(json_string_value(json_object_get(c, "sensitivity"))) > 1;
    }
    return 1;
}

/* The JSON row text in ev[key] with its sensitive fields redacted. */
static void redact_row(const json_t *m, json_t *ev, const char *key) {
    const char *text = json_string_value(json_object_get(ev, key));
    json_t *row = text ? json_loads(text, 0, NULL) : NULL;
    if (!json_is_object(row)) {
        if (text) json_object_set_new(ev, key, json_string(REDACTED));
        json_decref(row);
        return;
    }
    const char *col;
    json_t *v;
    json_object_foreach(row, col, v) if (column_sensitive(m, col)) json_object_set_new(row, col, json_string(REDACTED));
    char *out = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
    json_object_set_new(ev, key, json_string(out));
    free(out);
    json_decref(row);
}

int catalog_redact_row_events(lh_catalog *c, const char *name, json_t *events, lh_err *err) {
    json_t *m = catalog_get(c, name, err);
    if (!m) return -1;
    const char *key = json_string_value(json_object_get(events, "key"));
    int key_sensitive = !key || column_sensitive(m, key);
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(events, "events"), i, ev) {
        if (key_sensitive) json_object_set_new(ev, "entity_id", json_string(REDACTED));
        const char *field = json_string_value(json_object_get(ev, "field"));
        if (field && column_sensitive(m, field)) {
            if (json_object_get(ev, "old_value")) json_object_set_new(ev, "old_value", json_string(REDACTED));
            if (json_object_get(ev, "new_value")) json_object_set_new(ev, "new_value", json_string(REDACTED));
        } else if (!field) {
            redact_row(m, ev, "old_value");
            redact_row(m, ev, "new_value");
        }
    }
    json_decref(m);
    return 0;
}
