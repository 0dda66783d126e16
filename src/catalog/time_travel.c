/*
 * time_travel.c — reading a dataset as it was: the SQL rewrite behind
 * "t AT (VERSION => n)", "t AT (TIMESTAMP => '...')" (DuckDB's syntax) and
 * "t VERSION AS OF n", "t TIMESTAMP AS OF '...'" (Spark's), each table
 * reference replaced by a subquery over the files of that Delta snapshot
 * (the dataset's tombstone filter applied, as its view does); the change
 * feed table_changes('t', from[, to]) replaced the same way by the SELECT
 * the table module generates, through the principal's view too (ADR 0253); the history of a dataset; RESTORE
 * of an old version as one new commit.
 *
 * The rewrite works on tokens (common/sql_lex.h), so a clause inside a
 * string literal or a comment is never touched; what it produces is still
 * checked by the query engine like any user SQL (one read-only statement).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "common/log.h"
#include "common/sql_lex.h"
#include "common/strbuf.h"
#include "common/util.h"

/* Words after a table reference that are not an alias. */
static int is_clause_word(const char *sql, sql_tok t) {
    static const char *const words[] = {
        "WHERE", "JOIN", "LEFT", "RIGHT", "INNER", "FULL", "OUTER", "CROSS", "NATURAL", "POSITIONAL", "ASOF",
        "ANTI", "SEMI", "ON", "USING", "GROUP", "ORDER", "LIMIT", "OFFSET", "UNION", "EXCEPT", "INTERSECT",
        "HAVING", "WINDOW", "QUALIFY", "SAMPLE", "TABLESAMPLE", "RETURNING", "SET", "FROM", "SELECT", "LATERAL",
        "PIVOT", "UNPIVOT", "WHEN", "THEN", "VALUES"};
    if (t.kind != SQL_TOK_WORD) return 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (sql_tok_is(sql, t, words[i])) return 1;
    return 0;
}

typedef struct {
    int by_time;        /* 0: version */
    int64_t version;
    char *when;         /* the timestamp text (owned) */
    size_t end;         /* offset just past the clause */
} tt_clause;

/* Parses a time-travel clause starting at pos (after a table name); 0 when
 * there is one, 1 when there is none, -1 with err when it is malformed. */
static int parse_clause(const char *sql, size_t pos, tt_clause *cl, lh_err *err) {
    memset(cl, 0, sizeof *cl);
    size_t p = pos;
    sql_tok a = sql_lex_next(sql, &p), b = sql_lex_next(sql, &p);
    int duck = sql_tok_is(sql, a, "AT") && sql_tok_is(sql, b, "(");
    int spark = (sql_tok_is(sql, a, "VERSION") || sql_tok_is(sql, a, "TIMESTAMP")) && sql_tok_is(sql, b, "AS") &&
                sql_tok_is(sql, sql_lex_peek(sql, p), "OF");
    if (!duck && !spark) return 1;
    sql_tok kind = a, val;
    if (duck) {
        kind = sql_lex_next(sql, &p);
        sql_tok arrow = sql_lex_next(sql, &p);
        val = sql_lex_next(sql, &p);
        sql_tok close = sql_lex_next(sql, &p);
        if (!sql_tok_is(sql, arrow, "=>") || !sql_tok_is(sql, close, ")") ||
            !(sql_tok_is(sql, kind, "VERSION") || sql_tok_is(sql, kind, "TIMESTAMP")))
            return lh_err_set(err, LH_E_BAD_REQUEST, "time travel is AT (VERSION => n) or AT (TIMESTAMP => '...')");
    } else {
        sql_lex_next(sql, &p); /* OF */
        val = sql_lex_next(sql, &p);
    }
    cl->by_time = sql_tok_is(sql, kind, "TIMESTAMP");
    cl->end = p;
    if (!cl->by_time) {
        char *text = sql_tok_text(sql, val), *e = NULL;
        cl->version = val.kind == SQL_TOK_NUMBER ? strtoll(text, &e, 10) : -1;
        int ok = val.kind == SQL_TOK_NUMBER && e && !*e && cl->version >= 0;
        free(text);
        if (!ok) return lh_err_set(err, LH_E_BAD_REQUEST, "a time-travel version must be a non-negative integer");
        return 0;
    }
    if (val.kind != SQL_TOK_STRING)
        return lh_err_set(err, LH_E_BAD_REQUEST, "a time-travel timestamp must be a string literal, e.g. '2026-01-31 12:00:00'");
    cl->when = sql_tok_text(sql, val);
    return 0;
}

/* Location of dataset name (caller frees) and its tombstone filter over
 * alias "lh_tt" (may be NULL), read under the lock. */
static char *dataset_location(lh_catalog *c, const char *name, char **filter, lh_err *err) {
    pthread_rwlock_rdlock(&c->lock);
    long i = entry_find(c, name);
    char *loc = NULL;
    *filter = NULL;
    if (i >= 0) {
        loc = lh_strdup(json_string_value(json_object_get(c->entries[i].manifest, "location")) ?: "");
        *filter = tombs_filter_sql(c, name, "lh_tt", NULL);
    }
    pthread_rwlock_unlock(&c->lock);
    if (!loc) lh_err_set(err, LH_E_NOT_FOUND, "no dataset named '%s' to time travel on", name);
    return loc;
}

/* 0 when every file of the snapshot is still stored. */
static int snapshot_files_present(lh_storage *st, const char *loc, const lh_snapshot *s, const char *name,
                                  lh_err *err) {
    for (size_t i = 0; i < s->nfiles; i++) {
        char *key = lh_asprintf("%s/%s", loc, s->files[i].path);
        int ok = storage_exists(st, key);
        free(key);
        if (!ok) {
            lh_err_set(err, LH_E_UNPROCESSABLE, "version %" PRId64 " of '%s' was vacuumed: its file '%s' is gone",
                       s->version, name, s->files[i].path);
            lh_err_hint(err, "time travel reaches back only as far as VACUUM kept the files");
            return -1;
        }
    }
    return 0;
}

void catalog_dataset_view_clear(lh_dataset_view *v) {
    free(v->select);
    free(v->filter);
    json_decref(v->hidden);
    memset(v, 0, sizeof *v);
}

/* The snapshot relation as the principal sees it: its view's select list
 * (then `extra` select items, may be NULL) and row filter over the old
 * rows (ADR 0240). Takes sub; caller frees. */
static char *viewed_subquery(char *sub, const char *name, lh_dataset_view_fn view, void *ctx, const char *extra,
                             lh_err *err) {
    if (!sub || !view) return sub;
    lh_dataset_view v = {0};
    char *out = NULL;
    if (view(ctx, name, &v, err) == 0) {
        lh_strbuf sb = LH_STRBUF_INIT;
        sb_printf(&sb, "(SELECT %s%s FROM %s AS lh_tt", v.select, extra ? extra : "", sub);
        if (v.filter) sb_printf(&sb, " WHERE (%s)", v.filter);
        sb_putc(&sb, ')');
        out = sb_steal(&sb);
    }
    catalog_dataset_view_clear(&v);
    free(sub);
    return out;
}

/* The subquery reading dataset name as the clause says (caller frees). */
static char *snapshot_subquery(lh_catalog *c, const char *name, const tt_clause *cl, lh_err *err) {
    char *filter;
    char *loc = dataset_location(c, name, &filter, err);
    if (!loc) return NULL;
    char *out = NULL;
    lh_table *t = catalog_table_open(c, name, err);
    int64_t version = cl->version, ms = 0;
    if (t && cl->by_time) {
        if (lh_time_parse(cl->when, &ms) != 0) {
            lh_err_set(err, LH_E_BAD_REQUEST, "'%s' is not a timestamp (use 'YYYY-MM-DD HH:MM:SS', UTC unless an offset is given)",
                       cl->when);
            version = -1;
        } else {
            version = table_version_at(t, ms, err);
        }
    }
    lh_snapshot *s = t && version >= 0 ? table_snapshot(t, version, err) : NULL;
    if (s && snapshot_files_present(table_storage(t), loc, s, name, err) == 0) {
        char *sel = table_snapshot_select_sql(t, s);
        out = lh_asprintf("(SELECT lh_tt.* FROM (%s) AS lh_tt%s)", sel, filter ? filter : "");
        free(sel);
    }
    if (!s && version >= 0 && err && err->code == LH_E_NOT_FOUND)
        lh_err_set(err, LH_E_NOT_FOUND, "dataset '%s' has no version %" PRId64, name, version);
    table_snapshot_free(s);
    table_free(t);
    free(loc);
    free(filter);
    return out;
}

/* table_changes('name', from[, to]) at pos (just after the word): parses
 * the arguments and returns the change feed's subquery (caller frees), or
 * NULL + err; *end gets the offset past ')'. ADR 0253. */
static char *changes_subquery(lh_catalog *c, const char *sql, size_t pos, size_t *end, char **dataset, lh_err *err) {
    size_t p = pos;
    sql_tok open = sql_lex_next(sql, &p), name = sql_lex_next(sql, &p), comma = sql_lex_next(sql, &p);
    sql_tok from = sql_lex_next(sql, &p), next = sql_lex_next(sql, &p), to = {0};
    if (sql_tok_is(sql, next, ",")) to = sql_lex_next(sql, &p), next = sql_lex_next(sql, &p);
    if (!sql_tok_is(sql, open, "(") || name.kind != SQL_TOK_STRING || !sql_tok_is(sql, comma, ",") ||
        from.kind != SQL_TOK_NUMBER || (to.kind && to.kind != SQL_TOK_NUMBER) || !sql_tok_is(sql, next, ")")) {
        lh_err_set(err, LH_E_BAD_REQUEST, "table_changes takes ('dataset', from_version[, to_version])");
        return NULL;
    }
    *end = p;
    char *ds = sql_tok_text(sql, name), *f = sql_tok_text(sql, from), *t = to.kind ? sql_tok_text(sql, to) : NULL;
    char *filter, *out = NULL;
    char *loc = dataset_location(c, ds, &filter, err);
    lh_table *tab = loc ? table_open(c->st, loc, err) : NULL;
    char *feed = tab ? table_changes_sql(tab, strtoll(f, NULL, 10), t ? strtoll(t, NULL, 10) : -1, err) : NULL;
    if (feed) out = lh_asprintf("(SELECT lh_tt.* FROM (%s) AS lh_tt%s)", feed, filter ? filter : "");
    if (!feed && tab) lh_err_prefix(err, "table_changes('%s')", ds);
    free(feed);
    table_free(tab);
    free(loc);
    free(filter);
    *dataset = ds;
    free(f);
    free(t);
    return out;
}

char *catalog_time_travel_sql(lh_catalog *c, const char *sql, lh_err *err) {
    return catalog_time_travel_sql_as(c, sql, NULL, NULL, NULL, err);
}

char *catalog_time_travel_sql_as(lh_catalog *c, const char *sql, lh_dataset_view_fn view, void *ctx, char **plain,
                                 lh_err *err) {
    lh_strbuf out = LH_STRBUF_INIT, bare = LH_STRBUF_INIT;
    if (plain) *plain = NULL;
    size_t pos = 0, copied = 0;
    int rc = 0;
    for (;;) {
        sql_tok t = sql_lex_next(sql, &pos);
        if (t.kind == SQL_TOK_END) break;
        if (!sql_tok_is_name(t) || is_clause_word(sql, t)) continue;
        if (sql_tok_is(sql, t, "table_changes") && sql_tok_is(sql, sql_lex_peek(sql, pos), "(")) {
            size_t end = pos;
            char *ds = NULL, *sub = changes_subquery(c, sql, pos, &end, &ds, err);
            sub = viewed_subquery(sub, ds, view, ctx, ", _change_type, _commit_version, _commit_timestamp", err);
            if (!sub) {
                free(ds);
                rc = -1;
                break;
            }
            sb_append(&out, sql + copied, t.start - copied);
            sb_puts(&out, sub);
            sb_append(&bare, sql + copied, t.start - copied); /* checked as a read of the dataset itself */
            sb_sql_ident(&bare, ds);
            free(ds);
            sql_tok next = sql_lex_peek(sql, end);
            if (!sql_tok_is(sql, next, "AS") && !(sql_tok_is_name(next) && !is_clause_word(sql, next)))
                sb_puts(&out, " AS table_changes");
            free(sub);
            pos = copied = end;
            continue;
        }
        tt_clause cl;
        int found = parse_clause(sql, pos, &cl, err);
        if (found < 0) {
            rc = -1;
            break;
        }
        if (found == 1) continue;
        char *name = sql_tok_text(sql, t);
        char *sub = viewed_subquery(snapshot_subquery(c, name, &cl, err), name, view, ctx, NULL, err);
        free(cl.when);
        if (!sub) {
            free(name);
            rc = -1;
            break;
        }
        sb_append(&out, sql + copied, t.start - copied);
        sb_puts(&out, sub);
        sb_append(&bare, sql + copied, t.start + t.len - copied);
        sql_tok next = sql_lex_peek(sql, cl.end);
        int aliased = sql_tok_is(sql, next, "AS") || (sql_tok_is_name(next) && !is_clause_word(sql, next));
        if (!aliased) {
            sb_puts(&out, " AS ");
            sb_sql_ident(&out, name);
        }
        free(sub);
        free(name);
        pos = copied = cl.end;
    }
    if (rc != 0) {
        sb_free(&out);
        sb_free(&bare);
        return NULL;
    }
    sb_puts(&out, sql + copied);
    sb_puts(&bare, sql + copied);
    if (plain) *plain = sb_steal(&bare);
    sb_free(&bare);
    return sb_steal(&out);
}

/* ---- history and restore ------------------------------------------------ */

json_t *catalog_history(lh_catalog *c, const char *name, int64_t limit, lh_err *err) {
    char *filter;
    char *loc = dataset_location(c, name, &filter, err);
    free(filter);
    if (!loc) return NULL;
    lh_table *t = catalog_table_open(c, name, err);
    json_t *h = t ? table_history(t, limit, err) : NULL;
    table_free(t);
    free(loc);
    return h ? json_pack("{s:s, s:o}", "dataset", name, "history", h) : NULL;
}

/* Parameters that never carry a value of a row (ADR 0242). */
static int param_safe(const char *key) {
    static const char *const safe[] = {"mode", "partitionBy", "clusterBy", "version", "timestamp", "isManaged",
                                       "statsOnLoad", "auto"};
    for (size_t i = 0; i < sizeof safe / sizeof safe[0]; i++)
        if (!strcmp(key, safe[i])) return 1;
    return 0;
}

void catalog_history_redact(json_t *doc) {
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "history"), i, e) {
        json_t *params = json_object_get(e, "parameters"); /* "operation_parameters" is the same object */
        const char *k;
        json_t *v;
        json_object_foreach(params, k, v) {
            if (param_safe(k) || json_is_number(v) || json_is_boolean(v) || json_is_null(v)) continue;
            char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            size_t n = text ? strlen(text) : json_string_length(v);
            free(text);
            char red[64];
            snprintf(red, sizeof red, "<redacted: %zu chars>", n);
            json_object_set_new(params, k, json_string(red));
        }
    }
}

json_t *catalog_restore(lh_catalog *c, const char *name, int64_t version, const char *principal, lh_err *err) {
    pthread_mutex_lock(&c->write_mu);
    cat_entry e = {0};
    json_t *out = NULL;
    lh_restore_result r;
    if (entry_dup(c, name, &e, err) == 0 && table_restore(e.table, c->conn, version, principal, &r, err) == 0 &&
        entry_after_commit(c, &e, NULL, err) == 0) {
        out = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "dataset", name, "operation", "RESTORE", "version",
                        (json_int_t)r.version, "restored_version", (json_int_t)r.restored_version, "rows_affected",
                        json_integer_value(json_object_get(e.manifest, "row_count")), "files_removed",
                        (json_int_t)r.files_removed, "files_restored", (json_int_t)r.files_restored);
        entry_put(c, &e);
        views_publish(c);
        LOG_INFO("restored %s to version %" PRId64 " as version %" PRId64, name, version, r.version);
    }
    entry_clear(&e);
    pthread_mutex_unlock(&c->write_mu);
    return out;
}

json_t *catalog_commit(lh_catalog *c, const char *name, lh_catalog_commit_fn fn, void *ctx, lh_err *err) {
    pthread_mutex_lock(&c->write_mu);
    cat_entry e = {0};
    json_t *out = NULL;
    int64_t t0 = lh_now_ms();
    int rc = entry_dup(c, name, &e, err) == 0 ? fn(ctx, e.table, err) : -1;
    int64_t t_fn = lh_now_ms(), t_refresh = t_fn;
    if (rc == 1) {
        out = json_deep_copy(e.manifest);
    } else if (rc == 0 && entry_after_commit(c, &e, NULL, err) == 0) {
        t_refresh = lh_now_ms();
        out = json_deep_copy(e.manifest);
        entry_put(c, &e);
        views_publish(c);
    }
    LOG_DEBUG("commit to %s: statement %" PRId64 " ms, manifest refresh %" PRId64 " ms, views %" PRId64 " ms", name,
              t_fn - t0, t_refresh - t_fn, lh_now_ms() - t_refresh);
    if (out) json_object_del(out, "sensitivity_set");
    entry_clear(&e);
    pthread_mutex_unlock(&c->write_mu);
    return out;
}
