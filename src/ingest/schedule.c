/*
 * schedule.c — the schedule registry: validating definitions, their stored
 * form (_schedules/<id>.json: definition + run state) and public form
 * (DSN redacted, times in RFC 3339), CRUD, and loading at start. The run
 * machinery (thread, due times, retries) is in schedule_run.c.
 */
#include "ingest/schedule.h"

#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "ingest/db_ingest.h"
#include "ingest/dsn.h"
#include "ingest/schedule_internal.h"

#define SCHED_PREFIX "_schedules/"

/* ---- validation ---------------------------------------------------------- */

static int want_int(const json_t *o, const char *k, int64_t lo, int64_t hi, int64_t dflt, int64_t *out,
                    lh_err *err) {
    *out = dflt;
    return lh_json_opt_int(o, k, lo, hi, out, err);
}

/* Validated copy of a source object; the DSN fixes (or checks) "kind". */
static json_t *source_validate(const json_t *src, lh_err *err) {
    if (!json_is_object(src)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"source\" must be an object with \"dsn\" and \"table\" or \"query\"");
        return NULL;
    }
    const char *dsn = json_string_value(json_object_get(src, "dsn"));
    if (!dsn) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"source.dsn\" is required");
        return NULL;
    }
    lh_dsn d;
    if (dsn_parse(dsn, &d, err) != 0) return NULL;
    const char *kind = d.kind == LH_DSN_MYSQL ? "mysql" : "postgres";
    dsn_free(&d);
    const char *given = json_string_value(json_object_get(src, "kind"));
    if (json_object_get(src, "kind") && (!given || strcmp(given, kind))) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"source.kind\" must be \"%s\" for this DSN", kind);
        return NULL;
    }
    lh_db_ingest_opts o;
    if (db_ingest_opts_parse(src, &o, err) != 0) {
        lh_err_prefix(err, "source");
        return NULL;
    }
    json_t *inc = json_object_get(src, "incremental");
    if (inc && !json_is_boolean(inc)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"source.incremental\" must be true or false");
        return NULL;
    }
    static const char *const known[] = {"kind", "dsn", "table", "query", "order_by", "batch_size", "limit",
                                        "mode", "incremental", "start_after"};
    const char *k = lh_json_unknown_key(src, known, sizeof known / sizeof known[0]);
    if (k) {
        lh_err_set(err, LH_E_BAD_REQUEST, "unknown field \"source.%s\"", k);
        return NULL;
    }
    json_t *out = json_deep_copy(src);
    json_object_set_new(out, "kind", json_string(kind));
    return out;
}

static json_t *retry_validate(const json_t *r, lh_err *err) {
    if (r && !json_is_null(r) && !json_is_object(r)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"retry\" must be an object");
        return NULL;
    }
    int64_t att, back, maxb;
    if (want_int(r, "max_attempts", 1, 20, 3, &att, err) || want_int(r, "backoff_s", 1, 86400, 30, &back, err) ||
        want_int(r, "max_backoff_s", 1, 7 * 86400, 3600, &maxb, err))
        return NULL;
    if (maxb < back) maxb = back;
    return json_pack("{s:I, s:I, s:I}", "max_attempts", (json_int_t)att, "backoff_s", (json_int_t)back,
                     "max_backoff_s", (json_int_t)maxb);
}

static int timing_validate(const json_t *in, json_t *out, lh_err *err) {
    json_t *iv = json_object_get(in, "interval_s"), *cr = json_object_get(in, "cron");
    if (iv && json_is_null(iv)) iv = NULL;
    if (cr && json_is_null(cr)) cr = NULL;
    if (!iv == !cr) {
        lh_err_set(err, LH_E_BAD_REQUEST, "give exactly one of \"interval_s\" and \"cron\"");
        lh_err_hint(err, "\"interval_s\": 3600, or \"cron\": \"0 2 * * *\" (minute hour day month weekday, UTC)");
        return -1;
    }
    if (iv) {
        int64_t s;
        if (want_int(in, "interval_s", 1, 366LL * 86400, 0, &s, err) != 0) return -1;
        json_object_set_new(out, "interval_s", json_integer((json_int_t)s));
        return 0;
    }
    lh_cron c;
    if (!json_is_string(cr)) return lh_err_set(err, LH_E_BAD_REQUEST, "\"cron\" must be a string");
    if (cron_parse(json_string_value(cr), &c, err) != 0) return -1;
    json_object_set(out, "cron", cr);
    return 0;
}

json_t *sched_def_validate(const json_t *in, lh_err *err) {
    if (!json_is_object(in)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "a schedule must be a JSON object");
        return NULL;
    }
    static const char *const known[] = {"id", "name", "source", "dataset", "interval_s", "cron", "enabled", "retry",
                                        "created_at", "updated_at", "status", "history", "state"};
    const char *k = lh_json_unknown_key(in, known, sizeof known / sizeof known[0]);
    if (k) {
        lh_err_set(err, LH_E_BAD_REQUEST, "unknown field \"%s\"", k);
        return NULL;
    }
    const char *name = json_string_value(json_object_get(in, "name"));
    const char *dataset = json_string_value(json_object_get(in, "dataset"));
    json_t *en = json_object_get(in, "enabled");
    if (!name || !*name) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"name\" is required");
        return NULL;
    }
    if (!dataset || !catalog_name_valid(dataset)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"dataset\" must be a valid dataset name");
        lh_err_hint(err, "letters, digits and _, starting with a letter or _, at most 64");
        return NULL;
    }
    if (en && !json_is_boolean(en)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"enabled\" must be true or false");
        return NULL;
    }
    json_t *src = source_validate(json_object_get(in, "source"), err);
    if (!src) return NULL;
    json_t *retry = retry_validate(json_object_get(in, "retry"), err);
    if (!retry) {
        json_decref(src);
        return NULL;
    }
    json_t *out = json_pack("{s:s, s:o, s:s, s:b, s:o}", "name", name, "source", src, "dataset", dataset,
                            "enabled", en ? json_is_true(en) : 1, "retry", retry);
    if (timing_validate(in, out, err) != 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* ---- entries ------------------------------------------------------------- */

static void entry_free(sched *e) {
    if (!e) return;
    free(e->id);
    json_decref(e->def);
    free(e->last_status);
    free(e->last_error);
    free(e->last_key);
    json_decref(e->history);
    free(e);
}

/* Re-reads the timing fields of e->def into e. */
void sched_entry_load_timing(sched *e) {
    const char *cron = json_string_value(json_object_get(e->def, "cron"));
    e->has_cron = cron && cron_parse(cron, &e->cron, NULL) == 0;
    e->interval_s = json_integer_value(json_object_get(e->def, "interval_s"));
}

static sched *entry_new(const char *id, json_t *def) {
    sched *e = lh_calloc(1, sizeof *e);
    e->id = lh_strdup(id);
    e->def = def;
    e->history = json_array();
    e->next_run_ms = -1;
    sched_entry_load_timing(e);
    return e;
}

sched *sched_find(lh_scheduler *s, const char *id) {
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->items[i]->id, id)) return s->items[i];
    return NULL;
}

static void add_entry(lh_scheduler *s, sched *e) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 8;
        s->items = lh_realloc(s->items, s->cap * sizeof *s->items);
    }
    s->items[s->n++] = e;
}

/* ---- stored form --------------------------------------------------------- */

static json_t *opt_str(const char *s) {
    return s ? json_string(s) : json_null();
}

static json_t *stored_json(const sched *e) {
    json_t *o = json_deep_copy(e->def);
    json_object_set_new(o, "id", json_string(e->id));
    json_t *st = json_pack("{s:I, s:I, s:i, s:i, s:I, s:I, s:b, s:o, s:o, s:o}", "next_run_ms",
                           (json_int_t)e->next_run_ms, "last_run_ms", (json_int_t)e->last_run_ms, "failures",
                           e->failures, "attempt", e->attempt, "runs_ok", (json_int_t)e->runs_ok, "runs_failed",
                           (json_int_t)e->runs_failed, "retry_pending", e->retry_pending, "last_status",
                           opt_str(e->last_status), "last_error", opt_str(e->last_error), "last_key",
                           opt_str(e->last_key));
    if (e->running) json_object_set_new(st, "running_since_ms", json_integer((json_int_t)e->running_since));
    json_object_set_new(o, "state", st);
    json_object_set(o, "history", e->history);
    return o;
}

int sched_persist(lh_scheduler *s, const sched *e, lh_err *err) {
    json_t *o = stored_json(e);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(o);
    char *key = lh_asprintf(SCHED_PREFIX "%s.json", e->id);
    int rc = storage_put(s->st, key, text, strlen(text), NULL, err);
    if (rc != 0) LOG_ERROR("schedule %s: cannot persist: %s", e->id, err ? err->msg : "");
    free(key);
    free(text);
    return rc;
}

static void set_str(char **dst, const char *v) {
    free(*dst);
    *dst = v ? lh_strdup(v) : NULL;
}

/* An entry from its stored form; NULL (logged) when the file is bad. */
static sched *entry_from_stored(const char *key, json_t *o) {
    lh_err err = {0};
    const char *id = json_string_value(json_object_get(o, "id"));
    json_t *def = id ? sched_def_validate(o, &err) : NULL;
    if (!def) {
        LOG_WARN("schedule file %s skipped: %s", key, id ? err.msg : "no id");
        return NULL;
    }
    json_object_set(def, "created_at", json_object_get(o, "created_at"));
    json_object_set(def, "updated_at", json_object_get(o, "updated_at"));
    sched *e = entry_new(id, def);
    json_t *st = json_object_get(o, "state");
    e->next_run_ms = json_integer_value(json_object_get(st, "next_run_ms"));
    e->last_run_ms = json_integer_value(json_object_get(st, "last_run_ms"));
    e->failures = (int)json_integer_value(json_object_get(st, "failures"));
    e->attempt = (int)json_integer_value(json_object_get(st, "attempt"));
    e->runs_ok = json_integer_value(json_object_get(st, "runs_ok"));
    e->runs_failed = json_integer_value(json_object_get(st, "runs_failed"));
    e->retry_pending = json_is_true(json_object_get(st, "retry_pending"));
    set_str(&e->last_status, json_string_value(json_object_get(st, "last_status")));
    set_str(&e->last_error, json_string_value(json_object_get(st, "last_error")));
    set_str(&e->last_key, json_string_value(json_object_get(st, "last_key")));
    e->interrupted_since = json_integer_value(json_object_get(st, "running_since_ms"));
    json_t *h = json_object_get(o, "history");
    if (json_is_array(h)) {
        json_decref(e->history);
        e->history = json_deep_copy(h);
    }
    if (!json_object_get(st, "next_run_ms")) e->next_run_ms = sched_next_regular(e, lh_now_ms());
    return e;
}

static int load_all(lh_scheduler *s, lh_err *err) {
    lh_object_info *objs = NULL;
    size_t n = 0;
    if (storage_list(s->st, SCHED_PREFIX, &objs, &n, err) != 0) return -1;
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(objs[i].key);
        if (kl < 5 || strcmp(objs[i].key + kl - 5, ".json")) continue;
        char *text = NULL;
        size_t len = 0;
        if (storage_get(s->st, objs[i].key, &text, &len, NULL) != 0) continue;
        json_t *o = json_loadb(text, len, 0, NULL);
        free(text);
        sched *e = o ? entry_from_stored(objs[i].key, o) : NULL;
        json_decref(o);
        if (!e) continue;
        add_entry(s, e);
        if (e->interrupted_since > 0) sched_record_interrupted(s, e);
    }
    storage_list_free(objs, n);
    return 0;
}

/* ---- public form --------------------------------------------------------- */

static json_t *iso_or_null(int64_t ms) {
    if (ms <= 0) return json_null();
    char t[32];
    lh_time_iso(ms, t);
    return json_string(t);
}

/* The DSN with its password shown as "***" (or the raw text if unparsable). */
static char *redact_dsn(const char *dsn) {
    lh_dsn d;
    if (!dsn || dsn_parse(dsn, &d, NULL) != 0) return lh_strdup("***");
    char *r = dsn_redacted(&d);
    dsn_free(&d);
    return r;
}

json_t *sched_public_json(const sched *e) {
    json_t *o = json_deep_copy(e->def);
    json_object_set_new(o, "id", json_string(e->id));
    json_t *src = json_object_get(o, "source");
    char *red = redact_dsn(json_string_value(json_object_get(src, "dsn")));
    json_object_set_new(src, "dsn", json_string(red));
    free(red);
    json_t *st = json_pack("{s:b, s:o, s:o, s:o, s:o, s:i, s:I, s:I, s:b}", "running", e->running,
                           "next_run_at", iso_or_null(e->enabled_cache ? e->next_run_ms : -1), "last_run_at",
                           iso_or_null(e->last_run_ms), "last_status", opt_str(e->last_status), "last_error",
                           opt_str(e->last_error), "consecutive_failures", e->failures, "runs_ok",
                           (json_int_t)e->runs_ok, "runs_failed", (json_int_t)e->runs_failed, "retry_pending",
                           e->retry_pending);
    if (e->last_key) json_object_set_new(st, "last_key", json_string(e->last_key));
    json_object_set_new(o, "status", st);
    json_object_set(o, "history", e->history);
    return o;
}

/* ---- open / CRUD --------------------------------------------------------- */

lh_scheduler *scheduler_open(lh_storage *st, lh_schedule_run_fn run, void *ctx, lh_err *err) {
    lh_scheduler *s = lh_calloc(1, sizeof *s);
    s->st = st;
    s->run = run;
    s->ctx = ctx;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (load_all(s, err) != 0) {
        scheduler_free(s);
        return NULL;
    }
    for (size_t i = 0; i < s->n; i++) s->items[i]->enabled_cache = json_is_true(json_object_get(s->items[i]->def, "enabled"));
    if (s->n) LOG_INFO("scheduler: %zu schedule(s) loaded", s->n);
    return s;
}

void sched_registry_free(lh_scheduler *s) {
    for (size_t i = 0; i < s->n; i++) entry_free(s->items[i]);
    free(s->items);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

json_t *scheduler_list(lh_scheduler *s) {
    json_t *a = json_array();
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++) json_array_append_new(a, sched_public_json(s->items[i]));
    pthread_mutex_unlock(&s->mu);
    return json_pack("{s:o}", "schedules", a);
}

json_t *scheduler_get(lh_scheduler *s, const char *id, lh_err *err) {
    pthread_mutex_lock(&s->mu);
    sched *e = sched_find(s, id);
    json_t *out = e ? sched_public_json(e) : NULL;
    pthread_mutex_unlock(&s->mu);
    if (!out) lh_err_set(err, LH_E_NOT_FOUND, "no schedule '%s'", id);
    return out;
}

static void stamp(json_t *def, const char *field) {
    char t[32];
    lh_time_iso(lh_now_ms(), t);
    json_object_set_new(def, field, json_string(t));
}

json_t *scheduler_create(lh_scheduler *s, const json_t *req, lh_err *err) {
    json_t *def = sched_def_validate(req, err);
    if (!def) return NULL;
    char hex[13], id[20];
    lh_random_hex(hex, 6);
    snprintf(id, sizeof id, "sch_%s", hex);
    stamp(def, "created_at");
    stamp(def, "updated_at");
    sched *e = entry_new(id, def);
    e->enabled_cache = json_is_true(json_object_get(def, "enabled"));
    e->next_run_ms = sched_next_regular(e, lh_now_ms());
    pthread_mutex_lock(&s->mu);
    json_t *out = NULL;
    if (sched_persist(s, e, err) == 0) {
        add_entry(s, e);
        out = sched_public_json(e);
        pthread_cond_broadcast(&s->cv);
    } else {
        entry_free(e);
    }
    pthread_mutex_unlock(&s->mu);
    if (out) LOG_INFO("schedule %s created (%s)", id, json_string_value(json_object_get(def, "name")));
    return out;
}

/* req merged over the stored definition: top-level fields replace, source
 * fields replace one by one; a DSN whose password is "***" keeps the old. */
static json_t *merged_def(const json_t *old, const json_t *req, lh_err *err) {
    if (!json_is_object(req)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "a schedule must be a JSON object");
        return NULL;
    }
    json_t *m = json_deep_copy(old);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)req, k, v) {
        if (!strcmp(k, "source") && json_is_object(v)) json_object_update(json_object_get(m, "source"), v);
        else json_object_set(m, k, v);
    }
    if (json_object_get(req, "cron")) json_object_del(m, "interval_s");
    if (json_object_get(req, "interval_s")) json_object_del(m, "cron");
    json_t *src = json_object_get(m, "source");
    const char *nd = json_string_value(json_object_get(src, "dsn"));
    const char *od = json_string_value(json_object_get(json_object_get(old, "source"), "dsn"));
    lh_dsn a, b;
    if (nd && od && dsn_parse(nd, &a, NULL) == 0) {
        if (!strcmp(a.password, "***") && dsn_parse(od, &b, NULL) == 0) {
            free(a.password);
            a.password = lh_strdup(b.password);
            char *full = dsn_format(&a);
            json_object_set_new(src, "dsn", json_string(full));
            free(full);
            dsn_free(&b);
        }
        dsn_free(&a);
    }
    return m;
}

json_t *scheduler_update(lh_scheduler *s, const char *id, const json_t *req, lh_err *err) {
    pthread_mutex_lock(&s->mu);
    json_t *out = NULL, *def = NULL;
    sched *e = sched_find(s, id);
    if (!e) {
        lh_err_set(err, LH_E_NOT_FOUND, "no schedule '%s'", id);
        goto done;
    }
    json_t *m = merged_def(e->def, req, err);
    def = m ? sched_def_validate(m, err) : NULL;
    json_decref(m);
    if (!def) goto done;
    json_object_set(def, "created_at", json_object_get(e->def, "created_at"));
    stamp(def, "updated_at");
    json_t *old = e->def;
    e->def = def;
    sched_entry_load_timing(e);
    e->enabled_cache = json_is_true(json_object_get(def, "enabled"));
    e->next_run_ms = sched_next_regular(e, lh_now_ms());
    e->retry_pending = 0;
    e->attempt = 0;
    if (sched_persist(s, e, err) != 0) {
        e->def = old;
        sched_entry_load_timing(e);
        json_decref(def);
        goto done;
    }
    json_decref(old);
    out = sched_public_json(e);
    pthread_cond_broadcast(&s->cv);
done:
    pthread_mutex_unlock(&s->mu);
    return out;
}

int scheduler_delete(lh_scheduler *s, const char *id, lh_err *err) {
    pthread_mutex_lock(&s->mu);
    int rc = -1, found = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->items[i]->id, id)) continue;
        found = 1;
        char *key = lh_asprintf(SCHED_PREFIX "%s.json", id);
        rc = storage_delete(s->st, key, err);
        free(key);
        if (rc == 0) {
            entry_free(s->items[i]);
            s->items[i] = s->items[--s->n];
        }
        break;
    }
    pthread_mutex_unlock(&s->mu);
    if (!found) lh_err_set(err, LH_E_NOT_FOUND, "no schedule '%s'", id);
    else if (rc == 0) LOG_INFO("schedule %s deleted", id);
    return rc;
}
