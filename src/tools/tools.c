/*
 * tools.c — the tool registry: describing tools as JSON Schema, checking a
 * call (permission, then every parameter), running it with bound
 * parameters, and the audit trail (memory ring + _tools/audit.jsonl).
 */
#include <assert.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json_util.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "seglog/seglog.h"
#include "tools/tools_internal.h"

#define AUDIT_KEY "_tools/audit.jsonl"

struct lh_tools {
    lh_query_engine *q;    /* borrowed */
    lh_catalog *c;         /* borrowed */
    lh_storage *st;        /* borrowed */
    pthread_mutex_t write_mu;  /* write tools run one at a time */
    pthread_mutex_t audit_mu;
    lh_json_ring audit;    /* the newest records */
    char *audit_path;      /* owned; NULL on a remote bucket ... */
    lh_seglog *audit_seg;  /* ... which keeps one object per record (owned) */
};

lh_catalog *tools_catalog(lh_tools *t) { return t->c; }
lh_storage *tools_storage(lh_tools *t) { return t->st; }

static const char *tools_perm_name(lh_perm p) {
    return p >= LH_PERM_ADMIN ? "admin" : p == LH_PERM_WRITE ? "write" : "read";
}

/* ---- audit ----------------------------------------------------------------- */

/* Loads the tail of the audit log; a torn last line (crash) is skipped. */
static void audit_load(lh_tools *t) {
    char *text = NULL;
    size_t len = 0;
    if (t->audit_seg ? seglog_read(t->st, AUDIT_KEY, &text, &len, NULL) != 0
                     : lh_read_file(t->audit_path, &text, &len, NULL) != 0)
        return;
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl) *nl = 0;
        json_t *rec = json_loads(line, JSON_ALLOW_NUL, NULL); /* params may hold \u0000 (refused, audited) */
        if (json_is_object(rec)) lh_json_ring_put(&t->audit, rec);
        else json_decref(rec);
    }
    free(text);
}

static void audit_append(lh_tools *t, json_t *rec) {
    char *line = json_dumps(rec, JSON_COMPACT);
    pthread_mutex_lock(&t->audit_mu);
    int fd = t->audit_seg ? -1 : open(t->audit_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    lh_err err = {0};
    if (t->audit_seg) { /* S3 cannot append: the record is its own segment (ADR 0236) */
        size_t n = strlen(line);
        line[n] = '\n';
        if (seglog_append(t->audit_seg, line, n + 1, &err) != 0) LOG_WARN("tools: audit write failed: %s", err.msg);
        line[n] = 0;
    } else if (fd >= 0) {
        size_t n = strlen(line);
        line[n] = '\n'; /* json_dumps leaves room for the NUL we overwrite */
        /* one write(2) per record with O_APPEND: a crash of the server never
         * loses or tears an acknowledged record (the kernel has it); no fsync
         * per call, which would cost more than the tool itself */
        if (write(fd, line, n + 1) != (ssize_t)(n + 1)) LOG_WARN("tools: audit write failed");
        close(fd);
        line[n] = 0;
    } else {
        LOG_WARN("tools: cannot open the audit log");
    }
    lh_json_ring_put(&t->audit, rec);
    pthread_mutex_unlock(&t->audit_mu);
    free(line);
}

static void audit_record(lh_tools *t, const char *tool, const char *caller, const json_t *params, int64_t rows,
                         double elapsed_ms, const char *outcome, const char *error) {
    char now[32];
    lh_time_iso(lh_now_ms(), now);
    json_t *rec = json_pack("{s:s, s:s, s:s, s:O, s:I, s:f, s:s}", "tool", tool, "caller", caller ? caller : "anonymous",
                            "at", now, "params", params ? params : json_null(), "rows", (json_int_t)rows,
                            "elapsed_ms", round(elapsed_ms * 1000) / 1000, "outcome", outcome);
    if (error) json_object_set_new(rec, "error", json_string(error));
    audit_append(t, rec);
}

json_t *tools_audit(lh_tools *t, int limit) {
    if (limit <= 0) limit = 100;
    json_t *arr = json_array();
    pthread_mutex_lock(&t->audit_mu);
    json_t *rec;
    for (size_t k = 0; (int)k < limit && (rec = lh_json_ring_newest(&t->audit, k)); k++) json_array_append(arr, rec);
    pthread_mutex_unlock(&t->audit_mu);
    return json_pack("{s:o}", "records", arr);
}

/* ---- lifetime ---------------------------------------------------------------- */

lh_tools *tools_new(lh_query_engine *q, lh_catalog *c, lh_storage *st, lh_err *err) {
    lh_tools *t = lh_calloc(1, sizeof *t);
    t->q = q;
    t->c = c;
    t->st = st;
    pthread_mutex_init(&t->write_mu, NULL);
    pthread_mutex_init(&t->audit_mu, NULL);
    char *dir = storage_is_remote(st) ? NULL : storage_path(st, "_tools");
    if (dir ? lh_mkdirs(dir, err) != 0 : !(t->audit_seg = seglog_open(st, AUDIT_KEY, err))) {
        free(dir);
        tools_free(t);
        return NULL;
    }
    free(dir);
    t->audit_path = t->audit_seg ? NULL : storage_path(st, AUDIT_KEY);
    audit_load(t);
    return t;
}

void tools_free(lh_tools *t) {
    if (!t) return;
    lh_json_ring_clear(&t->audit);
    free(t->audit_path);
    seglog_close(t->audit_seg);
    pthread_mutex_destroy(&t->write_mu);
    pthread_mutex_destroy(&t->audit_mu);
    free(t);
}

/* ---- description ---------------------------------------------------------------- */

static const char *ptype_schema(tool_ptype ty) {
    static const char *const names[] = {"string", "integer", "number", "string", "boolean"};
    return names[ty];
}

static json_t *param_schema(const tool_param *p) {
    json_t *s = json_pack("{s:s, s:s}", "type", ptype_schema(p->type), "description", p->description);
    if (p->type == TP_DATE) json_object_set_new(s, "format", json_string("date"));
    if ((p->type == TP_INTEGER || p->type == TP_NUMBER) && p->min < p->max) {
        json_object_set_new(s, "minimum", p->type == TP_INTEGER ? json_integer((json_int_t)p->min) : json_real(p->min));
        json_object_set_new(s, "maximum", p->type == TP_INTEGER ? json_integer((json_int_t)p->max) : json_real(p->max));
    }
    if (p->type == TP_STRING && !p->enums[0]) json_object_set_new(s, "maxLength", json_integer(p->max_len ? p->max_len : 200));
    if (p->enums[0]) {
        json_t *e = json_array();
        for (size_t i = 0; i < TOOL_MAX_ENUM && p->enums[i]; i++) json_array_append_new(e, json_string(p->enums[i]));
        json_object_set_new(s, "enum", e);
    }
    if (p->def) {
        if (p->type == TP_INTEGER) json_object_set_new(s, "default", json_integer(strtoll(p->def, NULL, 10)));
        else json_object_set_new(s, "default", json_string(p->def));
    }
    return s;
}

static json_t *describe(const tool_def *d) {
    json_t *props = json_object(), *req = json_array();
    for (size_t i = 0; i < TOOL_MAX_PARAMS && d->params[i].name; i++) {
        json_object_set_new(props, d->params[i].name, param_schema(&d->params[i]));
        if (d->params[i].required) json_array_append_new(req, json_string(d->params[i].name));
    }
    json_t *schema = json_pack("{s:s, s:o, s:o, s:b}", "type", "object", "properties", props, "required", req,
                               "additionalProperties", 0);
    return json_pack("{s:s, s:s, s:s, s:o}", "name", d->name, "description", d->description, "permission",
                     tools_perm_name(d->permission), "parameters", schema);
}

static const tool_def *find_def(const char *name) {
    size_t n;
    const tool_def *defs = tools_defs(&n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(defs[i].name, name)) return &defs[i];
    return NULL;
}

json_t *tools_list(lh_tools *t) {
    (void)t;
    size_t n;
    const tool_def *defs = tools_defs(&n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, describe(&defs[i]));
    return json_pack("{s:o}", "tools", arr);
}

json_t *tools_describe(lh_tools *t, const char *name, lh_err *err) {
    (void)t;
    const tool_def *d = find_def(name);
    if (!d) {
        lh_err_set(err, LH_E_NOT_FOUND, "no tool named '%s'", name);
        lh_err_hint(err, "GET /tools lists them");
        return NULL;
    }
    return describe(d);
}

/* ---- validation ------------------------------------------------------------------- */

/* 1 when s is a real calendar date YYYY-MM-DD. */
static int date_valid(const char *s) {
    int y, m, d;
    char tail;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return 0;
    if (s[4] != '-' || s[7] != '-' || y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1) return 0;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] && !(m == 2 && d == 29 && !leap);
}

static int bad_param(lh_err *err, const tool_param *p, const char *fmt, const char *detail) {
    lh_err_set(err, LH_E_UNPROCESSABLE, "parameter '%s': %s%s", p->name, fmt, detail ? detail : "");
    lh_err_hint(err, "%s (%s%s)", p->description, ptype_schema(p->type), p->required ? ", required" : "");
    return -1;
}

static int check_string(const tool_param *p, const json_t *v, lh_query_param *out, lh_err *err) {
    if (!json_is_string(v)) return bad_param(err, p, "must be a string", NULL);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (strlen(s) != len) return bad_param(err, p, "must not contain NUL", NULL);
    if (p->enums[0]) {
        size_t i = 0;
        while (i < TOOL_MAX_ENUM && p->enums[i] && strcmp(p->enums[i], s)) i++;
        if (i == TOOL_MAX_ENUM || !p->enums[i]) return bad_param(err, p, "not one of the allowed values: ", s);
    } else if (len == 0) {
        return bad_param(err, p, "must not be empty", NULL);
    } else if ((int)len > (p->max_len ? p->max_len : 200)) {
        return bad_param(err, p, "too long", NULL);
    }
    if (p->type == TP_DATE && !date_valid(s)) return bad_param(err, p, "must be a date YYYY-MM-DD, got ", s);
    out->type = LH_QP_TEXT;
    out->text = s;
    return 0;
}

static int check_number(const tool_param *p, const json_t *v, lh_query_param *out, lh_err *err) {
    double x;
    if (p->type == TP_INTEGER) {
        if (!json_is_integer(v)) return bad_param(err, p, "must be an integer", NULL);
        x = (double)json_integer_value(v);
        out->type = LH_QP_INT;
        out->i = json_integer_value(v);
    } else {
        if (!json_is_number(v)) return bad_param(err, p, "must be a number", NULL);
        x = json_number_value(v);
        out->type = LH_QP_DOUBLE;
        out->d = x;
    }
    if (p->min < p->max && (x < p->min || x > p->max)) {
        char range[64];
        snprintf(range, sizeof range, "%.15g..%.15g", p->min, p->max);
        return bad_param(err, p, "out of range ", range);
    }
    return 0;
}

/* Converts one JSON value (or the default when v is NULL) to a bound param. */
static int check_param(const tool_param *p, const json_t *v, json_t **def_holder, lh_query_param *out, lh_err *err) {
    out->name = p->name;
    out->type = LH_QP_NULL;
    if (!v || json_is_null(v)) {
        if (p->required) return bad_param(err, p, "is required", NULL);
        if (!p->def) return 0;
        *def_holder = p->type == TP_INTEGER ? json_integer(strtoll(p->def, NULL, 10)) : json_string(p->def);
        v = *def_holder;
    }
    switch (p->type) {
    case TP_STRING:
    case TP_DATE: return check_string(p, v, out, err);
    case TP_INTEGER:
    case TP_NUMBER: return check_number(p, v, out, err);
    case TP_BOOLEAN:
        if (!json_is_boolean(v)) return bad_param(err, p, "must be true or false", NULL);
        out->type = LH_QP_BOOL;
        out->i = json_is_true(v);
        return 0;
    }
    return bad_param(err, p, "has an unknown type", NULL);
}

const lh_query_param *tools_param(const lh_query_param *ps, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ps[i].name, name)) return &ps[i];
    return NULL;
}

/* Validates params against d into ps (values borrowed from params or holders). */
static int check_params(const tool_def *d, const json_t *params, lh_query_param *ps, size_t *n,
                        json_t **holders, lh_err *err) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)params, k, v) {
        size_t i = 0;
        while (i < TOOL_MAX_PARAMS && d->params[i].name && strcmp(d->params[i].name, k)) i++;
        if (i == TOOL_MAX_PARAMS || !d->params[i].name) {
            lh_err_set(err, LH_E_UNPROCESSABLE, "parameter '%s': not a parameter of %s", k, d->name);
            lh_err_hint(err, "GET /tools/%s describes its parameters", d->name);
            return -1;
        }
    }
    *n = 0;
    for (size_t i = 0; i < TOOL_MAX_PARAMS && d->params[i].name; i++, (*n)++)
        if (check_param(&d->params[i], json_object_get(params, d->params[i].name), &holders[i], &ps[i], err) != 0)
            return -1;
    for (size_t i = 0; i < *n; i++) {
        const tool_param *p = &d->params[i];
        const lh_query_param *other = p->not_before ? tools_param(ps, *n, p->not_before) : NULL;
        if (other && other->text && ps[i].text && strcmp(ps[i].text, other->text) < 0)
            return bad_param(err, p, "must not be before ", p->not_before);
    }
    return 0;
}

/* ---- running ------------------------------------------------------------------------ */

json_t *tools_run_sql(lh_tools *t, const lh_query_scope *as, const char *sql, const lh_query_param *ps, size_t n,
                      lh_err *err) {
    return query_run_json_as(t->q, as, sql, ps, n, 0, 0, err);
}

/* A tool runs as the caller: its dataset names bind to the caller's role's
 * views (masked, filtered), while the tool's own SQL — fixed, parameters
 * bound, e.g. calling vector_search — is not put through the user-SQL guard. */
static json_t *run_def(lh_tools *t, const tool_def *d, const lh_query_scope *caller, const lh_query_param *ps,
                       size_t n, lh_err *err) {
    lh_query_scope as = caller ? *caller : (lh_query_scope){0};
    as.system_sql = 1;
    const lh_query_scope *scope = caller ? &as : NULL;
    if (d->exec && d->permission < LH_PERM_WRITE) return d->exec(t, d, scope, ps, n, err);
    if (d->exec) {
        pthread_mutex_lock(&t->write_mu);
        json_t *r = d->exec(t, d, scope, ps, n, err);
        pthread_mutex_unlock(&t->write_mu);
        return r;
    }
    json_t *r = tools_run_sql(t, scope, d->sql, ps, n, err);
    if (!r && d->fallback_sql && err && err->code == LH_E_BAD_REQUEST) {
        LOG_INFO("tool %s: primary SQL failed (%s), using the fallback", d->name, err->msg);
        lh_err_clear(err);
        r = tools_run_sql(t, scope, d->fallback_sql, ps, n, err);
    }
    return r;
}

json_t *tools_call(lh_tools *t, const char *name, const json_t *params, const lh_principal *who,
                   const lh_query_scope *scope, lh_err *err) {
    const char *caller = who->name;
    const tool_def *d = find_def(name);
    if (!d) return tools_describe(t, name, err);
    double t0 = lh_mono_s();
    json_t *empty = NULL;
    if (!params || json_is_null(params)) params = empty = json_object();
    json_t *out = NULL;
    if (!json_is_object(params)) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "\"params\" must be an object");
        audit_record(t, name, caller, params, 0, 0, "invalid", err ? err->msg : NULL);
        json_decref(empty);
        return NULL;
    }
    char what[96];
    snprintf(what, sizeof what, "call tool '%s'", name);
    if (access_permit(who, (lh_level)d->permission, what, err) != 0) { /* the one authorization rule */
        audit_record(t, name, caller, params, 0, (lh_mono_s() - t0) * 1000, "denied", err ? err->msg : NULL);
        json_decref(empty);
        return NULL;
    }
    lh_query_param ps[TOOL_MAX_PARAMS];
    json_t *holders[TOOL_MAX_PARAMS] = {0};
    size_t n = 0;
    lh_err local = {0};
    if (!err) err = &local;
    if (check_params(d, params, ps, &n, holders, err) != 0) {
        audit_record(t, name, caller, params, 0, (lh_mono_s() - t0) * 1000, "invalid", err->msg);
    } else {
        out = run_def(t, d, scope, ps, n, err);
        double ms = (lh_mono_s() - t0) * 1000;
        if (out) {
            json_object_set_new(out, "tool", json_string(name));
            json_object_set_new(out, "elapsed_ms", json_real(round(ms * 1000) / 1000));
            json_object_del(out, "truncated");
        }
        audit_record(t, name, caller, params, out ? json_integer_value(json_object_get(out, "row_count")) : 0, ms,
                     out ? "ok" : "error", out ? NULL : err->msg);
    }
    for (size_t i = 0; i < TOOL_MAX_PARAMS; i++) json_decref(holders[i]);
    json_decref(empty);
    return out;
}
