/*
 * table_commit.c — optimistic Delta commits: put-if-absent of the next
 * version, and on a lost race the winners' actions checked against the
 * protocol's conflict rules before the commit is rebuilt on the new latest
 * snapshot (see table.h). Every writer of the table module (append,
 * overwrite, compaction) and the DML on top commits through
 * table_commit_retry.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "table/delta_log.h"
#include "table/table.h"
#include "table/table_internal.h"

#define DEFAULT_ATTEMPTS 100 /* with the backoff cap: gives up after ~10 s of losing */
#define BACKOFF_MAX_MS 100

/* Writes commit text as version (put-if-absent): LH_E_CONFLICT when taken. */
static int commit_put(lh_table *t, int64_t version, const char *text, lh_err *err) {
    char name[40];
    snprintf(name, sizeof name, "%020" PRId64 ".json", version);
    char *key = table_log_key(t, name);
    int rc = storage_put_if_absent(t->st, key, text, strlen(text), err);
    free(key);
    return rc;
}

/* ---- reading a winner ---------------------------------------------------- */

void table_commit_winner_clear(lh_commit_winner *w) {
    lh_strv_free(w->added, w->nadded);
    lh_strv_free(w->removed, w->nremoved);
    free(w->operation);
    memset(w, 0, sizeof *w);
}

static void push_path(char ***v, size_t *n, const char *raw) {
    char *p = raw ? delta_path_decode(raw) : NULL;
    if (!p) return;
    *v = lh_realloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = p;
}

/* Folds one action into w. */
static void winner_action(lh_commit_winner *w, json_t *a) {
    json_t *v;
    if ((v = json_object_get(a, "add"))) {
        if (!json_is_false(json_object_get(v, "dataChange")))
            push_path(&w->added, &w->nadded, json_string_value(json_object_get(v, "path")));
    } else if ((v = json_object_get(a, "remove"))) {
        push_path(&w->removed, &w->nremoved, json_string_value(json_object_get(v, "path")));
    } else if (json_object_get(a, "metaData")) {
        w->metadata = 1;
    } else if (json_object_get(a, "protocol")) {
        w->protocol = 1;
    } else if ((v = json_object_get(a, "commitInfo")) && !w->operation) {
        const char *op = json_string_value(json_object_get(v, "operation"));
        if (op) w->operation = lh_strdup(op);
    }
}

int table_commit_read(lh_table *t, int64_t version, lh_commit_winner *w, lh_err *err) {
    memset(w, 0, sizeof *w);
    w->version = version;
    char name[40];
    snprintf(name, sizeof name, "%020" PRId64 ".json", version);
    char *key = table_log_key(t, name);
    char *text = NULL;
    size_t len = 0;
    int rc = storage_get(t->st, key, &text, &len, err);
    free(key);
    if (rc != 0) return -1;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_t *a = ll ? json_loadb(p, ll, 0, NULL) : NULL;
        if (ll && !a) {
            rc = lh_err_set(err, LH_E_UNPROCESSABLE, "commit %s is not JSON lines", name);
            break;
        }
        if (a) winner_action(w, a);
        json_decref(a);
        p += ll + 1;
    }
    free(text);
    w->blind_append = !w->metadata && !w->protocol && w->nremoved == 0;
    if (rc != 0) table_commit_winner_clear(w);
    return rc;
}

/* ---- the conflict rules ---------------------------------------------------- */

static const char *removed_of(const lh_commit_winner *w, const char *path) {
    for (size_t i = 0; i < w->nremoved; i++)
        if (!strcmp(w->removed[i], path)) return w->removed[i];
    return NULL;
}

static int conflict(lh_err *err, const lh_commit_winner *w, const char *what) {
    lh_err_set(err, LH_E_CONFLICT, "a concurrent commit (version %" PRId64 "%s%s) %s", w->version,
               w->operation ? ", " : "", w->operation ? w->operation : "", what);
    lh_err_hint(err, "read the table again and retry");
    return -1;
}

int table_commit_conflict(const lh_commit_spec *spec, const lh_snapshot *base, const lh_commit_winner *w,
                          lh_err *err) {
    if (w->protocol) return conflict(err, w, "changed the table's protocol");
    if (w->metadata) return conflict(err, w, base ? "changed the table's metadata (schema or settings)"
                                                  : "created the table");
    for (size_t i = 0; i < spec->ndepends; i++)
        if (removed_of(w, spec->depends_on[i])) {
            char what[600];
            snprintf(what, sizeof what, "removed '%s', which this commit depends on", spec->depends_on[i]);
            return conflict(err, w, what);
        }
    if (spec->kind == LH_COMMIT_OVERWRITE && base)
        for (size_t i = 0; i < base->nfiles; i++)
            if (removed_of(w, base->files[i].path)) return conflict(err, w, "removed files this overwrite replaces");
    if (spec->reads_rows && !w->blind_append && w->nadded > 0)
        return conflict(err, w, "rewrote rows this commit read");
    return 0;
}

/* ---- the retry loop -------------------------------------------------------- */

/* Sleeps about 2^attempt ms (capped), jittered so racers spread out. */
static void backoff(int attempt) {
    static __thread unsigned seed;
    if (!seed) seed = (unsigned)lh_now_ms() ^ (unsigned)(uintptr_t)&seed;
    int64_t cap = attempt < 8 ? (int64_t)1 << attempt : BACKOFF_MAX_MS;
    if (cap > BACKOFF_MAX_MS) cap = BACKOFF_MAX_MS;
    int64_t us = (int64_t)(rand_r(&seed) % (unsigned)(cap * 1000)) + 200;
    struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* Checks the winners of versions [from, to] against spec; 0 = compatible. */
static int check_winners(lh_table *t, const lh_commit_spec *spec, const lh_snapshot *base, int64_t from,
                         int64_t to, lh_err *err) {
    for (int64_t v = from; v <= to; v++) {
        lh_commit_winner w;
        lh_err rerr = {0};
        if (table_commit_read(t, v, &w, &rerr) != 0) {
            lh_err_set(err, LH_E_CONFLICT, "commit %" PRId64 " of '%s' won the race but cannot be read: %s", v,
                       t->prefix, rerr.msg);
            return -1;
        }
        int rc = spec->check ? spec->check(spec->ctx, spec, base, &w, err) : table_commit_conflict(spec, base, &w, err);
        table_commit_winner_clear(&w);
        if (rc != 0) {
            if (err && err->code != LH_E_CONFLICT) err->code = LH_E_CONFLICT;
            return -1;
        }
    }
    return 0;
}

/* A checkpoint every checkpoint_interval versions; base is the snapshot the
 * commit was built on: a protocol the checkpoint writer refuses is known
 * there, without loading the new version's snapshot (and its DVs) first. */
static void maybe_checkpoint(lh_table *t, duckdb_connection conn, const lh_snapshot *base, int64_t v) {
    if (!conn || t->checkpoint_interval <= 0 || v <= 0 || v % t->checkpoint_interval != 0) return;
    if (base && !table_checkpoint_protocol_ok(base)) {
        LOG_DEBUG("no checkpoint of %s at %" PRId64 ": protocol %d/%d", t->prefix, v, base->min_reader_version,
                  base->min_writer_version);
        return;
    }
    lh_err ckerr = {0};
    if (table_checkpoint(t, conn, v, &ckerr) != 0)
        LOG_WARN("checkpoint of %s at %" PRId64 " failed: %s", t->prefix, v, ckerr.msg);
}

/* The latest snapshot (NULL with *failed = 0 when there is no table). */
static lh_snapshot *latest_snapshot(lh_table *t, int *failed, lh_err *err) {
    *failed = 0;
    lh_err lerr = {0};
    int64_t latest = table_latest_version(t, &lerr);
    if (latest < 0) {
        if (lerr.code != LH_OK) {
            *failed = 1;
            if (err) *err = lerr;
        }
        return NULL;
    }
    lh_snapshot *s = table_snapshot(t, latest, err);
    *failed = s == NULL;
    return s;
}

int table_commit_retry(lh_table *t, const lh_commit_spec *spec, int64_t *version_out, lh_err *err) {
    int attempts = spec->max_attempts > 0 ? spec->max_attempts : DEFAULT_ATTEMPTS, failed = 0;
    const lh_snapshot *base = spec->read;
    lh_snapshot *owned = NULL;
    if (!base) base = owned = latest_snapshot(t, &failed, err);
    if (failed) return -1;
    int rc = -1;
    for (int attempt = 0;; attempt++) {
        int64_t v = base ? base->version + 1 : 0;
        char *text = spec->build(spec->ctx, base, err);
        if (!text) break;
        lh_err cerr = {0};
        rc = commit_put(t, v, text, &cerr);
        free(text);
        if (rc == 0) {
            if (version_out) *version_out = v;
            maybe_checkpoint(t, spec->conn, base, v);
            break;
        }
        if (cerr.code != LH_E_CONFLICT) {
            if (err) *err = cerr;
            break;
        }
        lh_snapshot *next = latest_snapshot(t, &failed, err);
        if (!next) { /* the log vanished or broke under us */
            if (!failed) lh_err_set(err, LH_E_CONFLICT, "'%s' changed during the commit", t->prefix);
            break;
        }
        if (check_winners(t, spec, base, v, next->version, err) != 0) {
            table_snapshot_free(next);
            break;
        }
        table_snapshot_free(owned);
        base = owned = next;
        if (attempt + 1 >= attempts) {
            lh_err_set(err, LH_E_CONFLICT, "could not commit to '%s' after %d attempts (busy with other writers)",
                       t->prefix, attempts);
            lh_err_hint(err, "retry later");
            rc = -1;
            break;
        }
        LOG_DEBUG("%s: version %" PRId64 " taken, retrying on top of %" PRId64, t->prefix, v, base->version);
        backoff(attempt);
    }
    table_snapshot_free(owned);
    return rc;
}
