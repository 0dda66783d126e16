/*
 * journal_event.c — the journal's event record: validated construction
 * from a JSON request, rendering back to JSON, copying, ordering and
 * matching against a query filter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/strbuf.h"
#include "journal/journal_internal.h"

#define MAX_NAME_BYTES 256        /* entity, ids, actor, source, ... */
#define MAX_VALUE_BYTES (64 * 1024) /* old_value, new_value, details */

const char *const jfield_names[JF__COUNT] = {
    "id", "event_type", "entity", "entity_id", "field", "old_value",
    "new_value", "actor", "source", "workspace", "details",
};

static int is_value_field(jfield k) {
    return k == JF_OLD_VALUE || k == JF_NEW_VALUE || k == JF_DETAILS;
}

static int field_index(const char *name) {
    for (int i = 0; i < JF__COUNT; i++)
        if (!strcmp(jfield_names[i], name)) return i;
    return -1;
}

void jevent_free(jevent *e) {
    if (!e) return;
    for (int i = 0; i < JF__COUNT; i++) free(e->f[i]);
    free(e);
}

jevent *jevent_dup(const jevent *e) {
    jevent *d = lh_calloc(1, sizeof *d);
    d->ts_us = e->ts_us;
    for (int i = 0; i < JF__COUNT; i++)
        if (e->f[i]) d->f[i] = lh_strdup(e->f[i]);
    return d;
}

/* A name-like field: a non-empty string (entity_id may be an integer, kept as text). */
static int take_name(jevent *e, jfield k, const json_t *v, lh_err *err) {
    if (json_is_null(v)) return 0;
    if (json_is_integer(v) && k == JF_ENTITY_ID) {
        e->f[k] = lh_asprintf("%lld", (long long)json_integer_value(v));
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0)
        return lh_err_set(err, LH_E_BAD_REQUEST, "'%s' must be a non-empty string", jfield_names[k]);
    if (json_string_length(v) > MAX_NAME_BYTES)
        return lh_err_set(err, LH_E_TOO_LARGE, "'%s' is longer than %d bytes", jfield_names[k],
                          MAX_NAME_BYTES);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return lh_err_set(err, LH_E_BAD_REQUEST, "'%s' contains a NUL character", jfield_names[k]);
    e->f[k] = lh_strdup(json_string_value(v));
    return 0;
}

/* A value field: strings kept as they are, anything else as compact JSON. */
static int take_value(jevent *e, jfield k, const json_t *v, lh_err *err) {
    if (json_is_null(v)) return 0;
    char *text = json_is_string(v) ? lh_strndup(json_string_value(v), json_string_length(v))
                                   : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) return lh_err_set(err, LH_E_BAD_REQUEST, "'%s' cannot be encoded", jfield_names[k]);
    if (strlen(text) > MAX_VALUE_BYTES) {
        free(text);
        return lh_err_set(err, LH_E_TOO_LARGE, "'%s' is larger than %d bytes", jfield_names[k],
                          MAX_VALUE_BYTES);
    }
    if (json_is_string(v) && strlen(text) != json_string_length(v)) {
        free(text);
        return lh_err_set(err, LH_E_BAD_REQUEST, "'%s' contains a NUL character", jfield_names[k]);
    }
    e->f[k] = text;
    return 0;
}

/* Copies the fields of obj into e; "changes" is skipped (the caller's). */
static int take_fields(jevent *e, const json_t *obj, lh_err *err) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (!strcmp(key, "changes")) continue;
        int k = field_index(key);
        if (k < 0 || k == JF_ID) {
            lh_err_set(err, LH_E_BAD_REQUEST, "unknown event field '%s'", key);
            lh_err_hint(err, "fields: event_type, entity, entity_id, field, old_value, new_value, "
                             "actor, source, workspace, details (id and ts are assigned)");
            return -1;
        }
        free(e->f[k]);
        e->f[k] = NULL;
        int rc = is_value_field(k) ? take_value(e, k, v, err) : take_name(e, k, v, err);
        if (rc != 0) return -1;
    }
    return 0;
}

jevent *jevent_from_json(const json_t *obj, const json_t *base, const char *default_actor,
                         const char *event_type, lh_err *err) {
    if (!json_is_object(obj)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "an event must be a JSON object");
        return NULL;
    }
    jevent *e = lh_calloc(1, sizeof *e);
    if ((base && take_fields(e, base, err) != 0) || take_fields(e, obj, err) != 0) {
        jevent_free(e);
        return NULL;
    }
    if (event_type) { /* fixed by the endpoint */
        free(e->f[JF_EVENT_TYPE]);
        e->f[JF_EVENT_TYPE] = lh_strdup(event_type);
    }
    if (!e->f[JF_EVENT_TYPE]) e->f[JF_EVENT_TYPE] = lh_strdup("event");
    if (!e->f[JF_ACTOR] && default_actor) e->f[JF_ACTOR] = lh_strdup(default_actor);
    if (!e->f[JF_SOURCE]) e->f[JF_SOURCE] = lh_strdup("api");
    const char *missing = !e->f[JF_ENTITY] ? "entity" : !e->f[JF_ENTITY_ID] ? "entity_id" : NULL;
    if (missing) {
        lh_err_set(err, LH_E_BAD_REQUEST, "'%s' is required", missing);
        lh_err_hint(err, "e.g. {\"entity\":\"candidate\",\"entity_id\":\"C-42\",\"field\":\"status\","
                         "\"old_value\":\"new\",\"new_value\":\"placed\"}");
        jevent_free(e);
        return NULL;
    }
    return e;
}

json_t *jevent_to_json(const jevent *e) {
    char ts[40];
    lh_time_iso_us(e->ts_us, ts);
    json_t *o = json_object();
    json_object_set_new(o, "id", e->f[JF_ID] ? json_string(e->f[JF_ID]) : json_null());
    json_object_set_new(o, "ts", json_string(ts));
    for (int i = JF_EVENT_TYPE; i < JF__COUNT; i++) {
        json_t *v = NULL;
        if (e->f[i] && i == JF_DETAILS) v = json_loads(e->f[i], JSON_DECODE_ANY, NULL);
        if (!v && e->f[i]) v = json_string(e->f[i]);
        json_object_set_new(o, jfield_names[i], v ? v : json_null());
    }
    return o;
}

char *jevent_wal_line(const jevent *e) {
    json_t *o = json_pack("{s:I}", "ts_us", (json_int_t)e->ts_us);
    for (int i = 0; i < JF__COUNT; i++)
        if (e->f[i]) json_object_set_new(o, jfield_names[i], json_string(e->f[i]));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    char *line = lh_asprintf("%s\n", text);
    free(text);
    return line;
}

jevent *jevent_from_wal(const char *line, size_t len) {
    json_t *o = json_loadb(line, len, 0, NULL);
    json_t *ts = json_object_get(o, "ts_us");
    jevent *e = NULL;
    if (json_is_integer(ts) && json_is_string(json_object_get(o, "id"))) {
        e = lh_calloc(1, sizeof *e);
        e->ts_us = json_integer_value(ts);
        for (int i = 0; i < JF__COUNT; i++) {
            const char *v = json_string_value(json_object_get(o, jfield_names[i]));
            if (v) e->f[i] = lh_strdup(v);
        }
    }
    json_decref(o);
    return e;
}

int jevent_cmp(const void *a, const void *b) {
    const jevent *x = *(const jevent *const *)a, *y = *(const jevent *const *)b;
    if (x->ts_us != y->ts_us) return x->ts_us < y->ts_us ? -1 : 1;
    return strcmp(x->f[JF_ID] ? x->f[JF_ID] : "", y->f[JF_ID] ? y->f[JF_ID] : "");
}

static int text_eq(const char *want, const char *have) {
    return !want || (have && !strcmp(want, have));
}

int jevent_matches(const jevent *e, const lh_journal_filter *f) {
    return text_eq(f->entity_id, e->f[JF_ENTITY_ID]) && text_eq(f->entity, e->f[JF_ENTITY]) &&
           text_eq(f->field, e->f[JF_FIELD]) && text_eq(f->actor, e->f[JF_ACTOR]) &&
           text_eq(f->source, e->f[JF_SOURCE]) && text_eq(f->workspace, e->f[JF_WORKSPACE]) &&
           text_eq(f->event_type, e->f[JF_EVENT_TYPE]) && (f->since_us <= 0 || e->ts_us >= f->since_us);
}
