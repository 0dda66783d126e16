/*
 * access_audit.c — the query audit log: one JSON line per query appended to
 * _access/audit.jsonl (one write(2) to an O_APPEND descriptor, no fsync: a
 * record survives a process crash, an OS crash may lose the last ones; see
 * ADR 0082), the newest 1000 records kept in a ring for GET /access/audit.
 * When the file passes 64 MiB it is renamed to _access/audit-<ms>.jsonl and
 * a new one is started, so the log never grows without bound and old
 * records stay in the bucket.
 */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/access_internal.h"
#include "common/log.h"
#include "common/util.h"

#define AUDIT_KEEP 1000
#define AUDIT_KEY "_access/audit.jsonl"
#define AUDIT_ROTATE_BYTES (64LL << 20)
#define AUDIT_SQL_MAX 8192

struct access_log {
    lh_storage *st;             /* borrowed */
    pthread_mutex_t mu;
    json_t *ring[AUDIT_KEEP];   /* owned */
    size_t next, count;
    char *path;                 /* owned */
    int fd;                     /* the open log, -1 when it cannot be opened */
};

static void ring_put(access_log *l, json_t *rec) {
    json_decref(l->ring[l->next]);
    l->ring[l->next] = rec;
    l->next = (l->next + 1) % AUDIT_KEEP;
    if (l->count < AUDIT_KEEP) l->count++;
}

/* Loads the newest records; a torn last line (a crash) is skipped and
 * ended, so the next record starts on a line of its own. */
static void log_load(access_log *l) {
    char *text = NULL;
    size_t len = 0;
    if (lh_read_file(l->path, &text, &len, NULL) != 0) return;
    if (len > 0 && text[len - 1] != '\n') {
        int fd = open(l->path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0 || write(fd, "\n", 1) != 1) LOG_WARN("access: cannot end the torn audit line");
        if (fd >= 0) close(fd);
    }
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl) *nl = 0;
        json_t *rec = json_loads(line, 0, NULL);
        if (json_is_object(rec)) ring_put(l, rec);
        else json_decref(rec);
    }
    free(text);
}

static int log_reopen(access_log *l) {
    if (l->fd >= 0) close(l->fd);
    l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    return l->fd;
}

access_log *access_log_open(lh_storage *st, lh_err *err) {
    char *dir = storage_path(st, "_access");
    int rc = lh_mkdirs(dir, err);
    free(dir);
    if (rc != 0) return NULL;
    access_log *l = lh_calloc(1, sizeof *l);
    l->st = st;
    pthread_mutex_init(&l->mu, NULL);
    l->path = storage_path(st, AUDIT_KEY);
    l->fd = -1;
    log_load(l);
    if (log_reopen(l) < 0) LOG_WARN("access: cannot open the audit log %s", AUDIT_KEY);
    return l;
}

void access_log_free(access_log *l) {
    if (!l) return;
    for (size_t i = 0; i < AUDIT_KEEP; i++) json_decref(l->ring[i]);
    if (l->fd >= 0) close(l->fd);
    pthread_mutex_destroy(&l->mu);
    free(l->path);
    free(l);
}

/* Starts a new file when the current one is too big; holds mu. */
static void rotate_if_big(access_log *l) {
    struct stat sb;
    if (l->fd < 0 || fstat(l->fd, &sb) != 0 || sb.st_size < AUDIT_ROTATE_BYTES) return;
    char *key = lh_asprintf("_access/audit-%lld.jsonl", (long long)lh_now_ms());
    char *to = storage_path(l->st, key);
    if (rename(l->path, to) == 0) {
        lh_fsync_dir_of(to);
        log_reopen(l);
    } else {
        LOG_WARN("access: cannot rotate the audit log");
    }
    free(to);
    free(key);
}

static void file_append(access_log *l, const json_t *rec) {
    char *line = json_dumps(rec, JSON_COMPACT);
    size_t n = strlen(line);
    line[n] = '\n'; /* json_dumps leaves room: its NUL is overwritten, length kept */
    rotate_if_big(l);
    if (l->fd < 0) log_reopen(l);
    if (l->fd < 0 || write(l->fd, line, n + 1) != (ssize_t)(n + 1)) LOG_WARN("access: audit write failed");
    free(line);
}

static json_t *record_json(const lh_access_audit_rec *r) {
    char now[32];
    lh_time_iso(lh_now_ms(), now);
    const char *sql = r->sql ? r->sql : "";
    size_t sql_len = strlen(sql);
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s%}", "at", now, "caller", r->caller ? r->caller : "anonymous",
                            "role", r->role ? r->role : "", "kind", r->kind ? r->kind : "sql", "sql", sql,
                            sql_len > AUDIT_SQL_MAX ? (size_t)AUDIT_SQL_MAX : sql_len);
    if (sql_len > AUDIT_SQL_MAX) json_object_set_new(rec, "sql_truncated", json_true());
    json_object_set_new(rec, "rows", r->rows >= 0 ? json_integer(r->rows) : json_null());
    json_object_set_new(rec, "elapsed_ms",
                        r->elapsed_ms >= 0 ? json_real(round(r->elapsed_ms * 1000) / 1000) : json_null());
    json_object_set_new(rec, "outcome", json_string(r->outcome ? r->outcome : "ok"));
    if (r->error) json_object_set_new(rec, "error", json_string(r->error));
    if (r->request_id && *r->request_id) json_object_set_new(rec, "request_id", json_string(r->request_id));
    return rec;
}

void access_log_append(access_log *l, const lh_access_audit_rec *r) {
    json_t *rec = record_json(r);
    if (!rec) { /* invalid UTF-8 in the SQL or caller: keep the fact, not the text */
        lh_access_audit_rec safe = *r;
        safe.sql = "(not valid UTF-8)";
        safe.error = NULL;
        rec = record_json(&safe);
        if (!rec) return;
    }
    pthread_mutex_lock(&l->mu);
    file_append(l, rec);
    ring_put(l, rec);
    pthread_mutex_unlock(&l->mu);
}

static int field_is(const json_t *rec, const char *k, const char *want) {
    const char *v = json_string_value(json_object_get(rec, k));
    return !want || (v && !strcmp(v, want));
}

json_t *access_log_list(access_log *l, int limit, const char *caller, const char *outcome) {
    if (limit <= 0) limit = 100;
    if (limit > AUDIT_KEEP) limit = AUDIT_KEEP;
    json_t *arr = json_array();
    pthread_mutex_lock(&l->mu);
    for (size_t k = 0; k < l->count && json_array_size(arr) < (size_t)limit; k++) {
        json_t *rec = l->ring[(l->next + AUDIT_KEEP - 1 - k) % AUDIT_KEEP];
        if (field_is(rec, "caller", caller) && field_is(rec, "outcome", outcome)) json_array_append(arr, rec);
    }
    pthread_mutex_unlock(&l->mu);
    return json_pack("{s:o, s:I}", "records", arr, "count", (json_int_t)json_array_size(arr));
}
