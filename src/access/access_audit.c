/*
 * access_audit.c — the audit log: one JSON line per data access appended to
 * _access/audit.jsonl, the newest 1000 records kept in a ring for GET
 * /access/audit. When the file passes 64 MiB it is renamed to
 * _access/audit-<ms>.jsonl and a new one is started (the chain goes on).
 *
 * Trustworthy (ADR 0192): append-only (O_APPEND, reserved storage no API
 * writes), fsync'd in groups (a flusher thread syncs what was appended in
 * the last AUDIT_GROUP_MS, and close syncs the rest), and hash-chained:
 * each line is `{...,"prev":H(n-1),"seq":n}` followed by `,"hash":H(n)}`
 * where H(n) = HMAC-SHA256(chain key, H(n-1) || the line's text before the
 * hash), the chain key derived from the deployment's secret (ADR 0244), so
 * a rewrite of the whole log and head by someone without the key shows. The
 * newest "seq hash" is kept in _access/audit.head after each sync, so
 * access_audit_verify finds a changed, removed, reordered or truncated
 * record.
 *
 * On a remote bucket (S3 cannot append, ADR 0236) each group commit of the
 * flusher is one new object _access/audit/<n>.jsonl (seglog.h) holding the
 * lines appended since the last; the chain runs on across segments, and
 * verification reads them in order after any local-layout files. There a
 * round gathers AUDIT_REMOTE_GROUP_MS of lines (or AUDIT_REMOTE_GROUP_BYTES),
 * not one request's: each round is two PUTs (segment, head), and a PUT per
 * query was the whole of a warm query's S3 traffic (ADR 0273).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/access_internal.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "seglog/seglog.h"

#define AUDIT_KEY "_access/audit.jsonl"
#define AUDIT_ROTATE_BYTES (64LL << 20)
#define AUDIT_SQL_MAX 8192
#define AUDIT_HEAD_KEY "_access/audit.head"
#define AUDIT_GROUP_MS 20
#define AUDIT_REMOTE_GROUP_MS 1000
#define AUDIT_REMOTE_GROUP_BYTES (1 << 20)
#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"
#define CHAIN_LABEL "lakehouse audit chain"

struct access_log {
    lh_storage *st;             /* borrowed */
    pthread_mutex_t mu;
    lh_json_ring ring;          /* the newest records */
    size_t next, count;
    char *path;                 /* owned; NULL on a remote bucket */
    int fd;                     /* the open log, -1 when it cannot be opened */
    int64_t size;               /* its size: appends add to it, so rotation needs no fstat per line */
    lh_seglog *seg;             /* remote bucket: the segments (owned) ... */
    lh_strbuf pending;          /* ... and the lines of the next one */
    char last_hash[65];         /* the chain's head */
    unsigned char key[32];      /* the chain key (from the deployment's secret) */
    int64_t seq;                /* the last record's number */
    int dirty;                  /* appended since the last fsync */
    int stopping;
    pthread_cond_t cv;
    pthread_t flusher;
    int has_flusher;            /* the flusher runs (set once it started) */
};

/* Loads the newest records; a torn last line (a crash) is skipped and
 * ended, so the next record starts on a line of its own. */
static void log_load(access_log *l) {
    char *text = NULL;
    size_t len = 0;
    if (l->seg ? seglog_read(l->st, AUDIT_KEY, &text, &len, NULL) != 0 : lh_read_file(l->path, &text, &len, NULL) != 0)
        return;
    if (!l->seg && len > 0 && text[len - 1] != '\n') {
        int fd = open(l->path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0 || write(fd, "\n", 1) != 1) LOG_WARN("access: cannot end the torn audit line");
        if (fd >= 0) close(fd);
    }
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl) *nl = 0;
        json_t *rec = json_loads(line, 0, NULL);
        if (json_is_object(rec)) {
            const char *h = json_string_value(json_object_get(rec, "hash"));
            if (h && strlen(h) == 64) {
                memcpy(l->last_hash, h, 65);
                l->seq = json_integer_value(json_object_get(rec, "seq"));
            }
            lh_json_ring_put(&l->ring, rec);
        } else {
            json_decref(rec);
        }
    }
    free(text);
}

static int log_reopen(access_log *l) {
    if (l->seg) return -1; /* no file on a remote bucket */
    if (l->fd >= 0) close(l->fd);
    l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    struct stat sb;
    l->size = l->fd >= 0 && fstat(l->fd, &sb) == 0 ? sb.st_size : 0;
    return l->fd;
}

/* Remote bucket: the pending lines become one segment object, then the head
 * names them. The PUTs run with mu released, so requests recording their
 * audit line never wait on S3; only the flusher calls this, so segments stay
 * in order. Holds mu on entry and on return. */
static void log_sync_remote(access_log *l) {
    lh_strbuf batch = l->pending;
    l->pending = (lh_strbuf)LH_STRBUF_INIT;
    char head[96];
    int n = snprintf(head, sizeof head, "%lld %s\n", (long long)l->seq, l->last_hash);
    l->dirty = 0;
    pthread_mutex_unlock(&l->mu);
    lh_err err = {0};
    if (seglog_append(l->seg, batch.buf, batch.len, &err) != 0)
        LOG_WARN("access: audit segment not written: %s", err.msg);
    else if (storage_put(l->st, AUDIT_HEAD_KEY, head, (size_t)n, NULL, NULL) != 0) /* never names records the bucket lacks */
        LOG_WARN("access: cannot write the audit head");
    sb_free(&batch);
    pthread_mutex_lock(&l->mu);
}

/* fsyncs what was appended and records the chain's head. The fsyncs run
 * with mu released (on a duplicate of the descriptor, which a rotation may
 * close meanwhile), so requests appending their line never wait for the
 * disk; only the flusher calls this, so heads are written in order. Holds mu
 * on entry and on return. */
static void log_sync(access_log *l) {
    if (!l->dirty || (l->fd < 0 && !l->seg)) return;
    if (l->seg) {
        log_sync_remote(l);
        return;
    }
    int fd = dup(l->fd);
    char head[96];
    int n = snprintf(head, sizeof head, "%lld %s\n", (long long)l->seq, l->last_hash);
    l->dirty = 0;
    pthread_mutex_unlock(&l->mu);
    if (fd < 0 || fsync(fd) != 0) LOG_WARN("access: audit fsync failed");
    else if (storage_put(l->st, AUDIT_HEAD_KEY, head, (size_t)n, NULL, NULL) != 0) /* never names unsynced records */
        LOG_WARN("access: cannot write the audit head");
    if (fd >= 0) close(fd);
    pthread_mutex_lock(&l->mu);
}

/* Waits out one group round; holds mu. Locally an append may end it early
 * (the file already has the line; the round only batches fsyncs). On a
 * remote bucket the round lasts AUDIT_REMOTE_GROUP_MS unless the log stops
 * or the pending lines pass AUDIT_REMOTE_GROUP_BYTES. */
static void flusher_wait_round(access_log *l) {
    struct timespec ts;
    lh_deadline_after_ms(&ts, l->seg ? AUDIT_REMOTE_GROUP_MS : AUDIT_GROUP_MS);
    if (!l->seg) {
        pthread_cond_timedwait(&l->cv, &l->mu, &ts);
        return;
    }
    while (!l->stopping && l->pending.len < AUDIT_REMOTE_GROUP_BYTES)
        if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) == ETIMEDOUT) break;
}

/* Group commit: one fsync (remote: one segment) per round of appends. */
static void *flusher_main(void *arg) {
    access_log *l = arg;
    pthread_mutex_lock(&l->mu);
    while (!l->stopping) {
        if (!l->dirty) {
            pthread_cond_wait(&l->cv, &l->mu);
            continue;
        }
        flusher_wait_round(l);
        log_sync(l);
    }
    log_sync(l);
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

access_log *access_log_open(lh_storage *st, const unsigned char secret[32], lh_err *err) {
    lh_seglog *seg = storage_is_remote(st) ? seglog_open(st, AUDIT_KEY, err) : NULL;
    if (storage_is_remote(st) && !seg) return NULL;
    char *dir = seg ? NULL : storage_path(st, "_access");
    int rc = dir ? lh_mkdirs(dir, err) : 0;
    free(dir);
    if (rc != 0) return NULL;
    access_log *l = lh_calloc(1, sizeof *l);
    l->st = st;
    access_key_derive(secret, CHAIN_LABEL, l->key);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->seg = seg;
    l->path = seg ? NULL : storage_path(st, AUDIT_KEY);
    l->fd = -1;
    memcpy(l->last_hash, GENESIS, 65);
    log_load(l);
    if (!l->seg && log_reopen(l) < 0) LOG_WARN("access: cannot open the audit log %s", AUDIT_KEY);
    if (lh_thread_start(&l->flusher, NULL, flusher_main, l, "access audit flusher", err) != 0) {
        /* without its flusher no audit line would ever reach storage */
        access_log_free(l);
        return NULL;
    }
    l->has_flusher = 1;
    return l;
}

void access_log_free(access_log *l) {
    if (!l) return;
    if (l->has_flusher) lh_thread_stop(l->flusher, &l->mu, &l->cv, &l->stopping);
    pthread_cond_destroy(&l->cv);
    lh_json_ring_clear(&l->ring);
    if (l->fd >= 0) close(l->fd);
    seglog_close(l->seg);
    sb_free(&l->pending);
    pthread_mutex_destroy(&l->mu);
    OPENSSL_cleanse(l->key, sizeof l->key);
    free(l->path);
    free(l);
}

/* Starts a new file when the current one is too big; holds mu. */
static void rotate_if_big(access_log *l) {
    if (l->fd < 0 || l->size < AUDIT_ROTATE_BYTES) return;
    struct stat sb;
    if (fstat(l->fd, &sb) != 0 || (l->size = sb.st_size) < AUDIT_ROTATE_BYTES) return; /* the file's own word */
    if (fsync(l->fd) != 0) LOG_WARN("access: audit fsync before rotation failed"); /* its tail, synced once here */
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

/* H(n) = HMAC-SHA256(key, prev || body), as hex. */
static void chain_hash(const unsigned char key[32], const char *prev, const char *body, size_t len, char out[65]) {
    unsigned char *msg = lh_malloc(64 + len), md[32];
    memcpy(msg, prev, 64);
    memcpy(msg + 64, body, len);
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), key, 32, msg, 64 + len, md, &n)) abort();
    free(msg);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = 0;
}

/* Chains rec (prev, seq, then hash) and appends it; holds mu. */
static void file_append(access_log *l, json_t *rec) {
    json_object_set_new(rec, "prev", json_string(l->last_hash));
    json_object_set_new(rec, "seq", json_integer(l->seq + 1));
    char *body = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    size_t n = strlen(body);
    char hash[65];
    chain_hash(l->key, l->last_hash, body, n, hash);
    body[n - 1] = 0; /* drop the closing brace: the hash goes last */
    char *line = lh_asprintf("%s,\"hash\":\"%s\"}\n", body, hash);
    free(body);
    json_object_set_new(rec, "hash", json_string(hash));
    size_t len = strlen(line);
    if (l->seg) {
        sb_append(&l->pending, line, len);
    } else {
        rotate_if_big(l);
        if (l->fd < 0) log_reopen(l);
        if (l->fd < 0 || write(l->fd, line, len) != (ssize_t)len) LOG_WARN("access: audit write failed");
        else l->size += (int64_t)len;
    }
    memcpy(l->last_hash, hash, 65);
    l->seq++;
    l->dirty = 1;
    pthread_cond_signal(&l->cv);
    free(line);
}

/* ---- verification ---------------------------------------------------------- */

static void problem(json_t *problems, int64_t line, const char *what) {
    if (json_array_size(problems) < 100)
        json_array_append_new(problems, json_pack("{s:I, s:s}", "line", (json_int_t)line, "problem", what));
}

/* Checks one file's lines against the chain; prev/seq carry across files. */
static void verify_text(const unsigned char key[32], char *text, size_t len, const char *file, char prev[65],
                        int64_t *seq, int64_t *count, json_t *problems) {
    int64_t lineno = 0;
    for (char *line = text, *nl; line && line < text + len && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl) *nl = 0;
        lineno++;
        size_t n = strlen(line);
        char what[160];
        const char *tail = n > 75 ? line + n - 75 : NULL; /* ,"hash":"<64>"} */
        if (!tail || strncmp(tail, ",\"hash\":\"", 9) || strcmp(tail + 73, "\"}")) {
            snprintf(what, sizeof what, "%s: not a chained record (no trailing hash)", file);
            problem(problems, lineno, what);
            continue;
        }
        char stored[65];
        memcpy(stored, tail + 9, 64);
        stored[64] = 0;
        char *body = lh_asprintf("%.*s}", (int)(n - 75), line);
        json_t *rec = json_loads(body, 0, NULL);
        const char *p = json_string_value(json_object_get(rec, "prev"));
        int64_t s = json_integer_value(json_object_get(rec, "seq"));
        char want[65];
        chain_hash(key, prev, body, strlen(body), want);
        if (!rec) snprintf(what, sizeof what, "%s: record is not JSON", file);
        else if (s != *seq + 1)
            snprintf(what, sizeof what, "%s: seq %lld follows %lld (a record was removed or moved)", file,
                     (long long)s, (long long)*seq);
        else if (!p || strcmp(p, prev))
            snprintf(what, sizeof what, "%s: seq %lld does not chain to the record before it", file, (long long)s);
        else if (strcmp(want, stored))
            snprintf(what, sizeof what, "%s: seq %lld was changed (its keyed hash does not match its content)",
                     file, (long long)s);
        else what[0] = 0;
        if (what[0]) problem(problems, lineno, what);
        memcpy(prev, stored, 65); /* go on from what the file says, so one change is reported once */
        if (rec) *seq = s;
        (*count)++;
        json_decref(rec);
        free(body);
    }
}

static int key_cmp(const void *a, const void *b) {
    return strcmp(((const lh_object_info *)a)->key, ((const lh_object_info *)b)->key);
}

json_t *access_audit_verify(lh_storage *st, lh_err *err) {
    unsigned char secret[32], key[32];
    lh_err kerr = {0};
    int keyless = access_secret_load(st, 0, secret, &kerr) != 0; /* then every record shows as changed */
    if (keyless) memset(secret, 0, sizeof secret);
    access_key_derive(secret, CHAIN_LABEL, key);
    OPENSSL_cleanse(secret, sizeof secret);
    lh_object_info *objs = NULL;
    size_t n = 0;
    if (storage_list(st, "_access/", &objs, &n, err) != 0) return NULL;
    qsort(objs, n, sizeof *objs, key_cmp); /* audit-<ms>.jsonl (oldest first) sort before audit.jsonl */
    json_t *problems = json_array(), *files = json_array();
    char prev[65];
    memcpy(prev, GENESIS, 65);
    int64_t seq = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = objs[i].key;
        if (strncmp(k, "_access/audit", 13) || strlen(k) < 6 || strcmp(k + strlen(k) - 6, ".jsonl")) continue;
        char *text = NULL;
        size_t len = 0;
        if (storage_get(st, k, &text, &len, NULL) != 0) continue;
        json_array_append_new(files, json_string(k));
        verify_text(key, text, len, k, prev, &seq, &count, problems);
        free(text);
    }
    storage_list_free(objs, n);
    char *head = NULL;
    size_t hlen = 0;
    if (storage_get(st, AUDIT_HEAD_KEY, &head, &hlen, NULL) == 0) {
        long long hseq = 0;
        char hhash[65] = "";
        if (sscanf(head, "%lld %64s", &hseq, hhash) != 2) problem(problems, 0, "audit.head is unreadable");
        else if (hseq > seq)
            problem(problems, seq, "the log ends before the last synced record (records were removed from the end)");
        else if (hseq == seq && strcmp(hhash, prev))
            problem(problems, seq, "the last record differs from the one synced (it was changed)");
        free(head);
    } else if (count > 0) {
        problem(problems, 0, "audit.head is missing");
    }
    if (keyless && count > 0) problem(problems, 0, "the chain key's secret (_access/mask.key) is missing");
    OPENSSL_cleanse(key, sizeof key);
    return json_pack("{s:b, s:I, s:I, s:o, s:o}", "ok", json_array_size(problems) == 0, "records", (json_int_t)count,
                     "last_seq", (json_int_t)seq, "files", files, "problems", problems);
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
    lh_json_ring_put(&l->ring, rec);
    pthread_mutex_unlock(&l->mu);
}

static int field_is(const json_t *rec, const char *k, const char *want) {
    const char *v = json_string_value(json_object_get(rec, k));
    return !want || (v && !strcmp(v, want));
}

json_t *access_log_list(access_log *l, int limit, const char *caller, const char *outcome) {
    if (limit <= 0) limit = 100;
    if (limit > LH_JSON_RING_CAP) limit = LH_JSON_RING_CAP;
    json_t *arr = json_array();
    pthread_mutex_lock(&l->mu);
    json_t *rec;
    for (size_t k = 0; (rec = lh_json_ring_newest(&l->ring, k)) && json_array_size(arr) < (size_t)limit; k++) {
        if (field_is(rec, "caller", caller) && field_is(rec, "outcome", outcome)) json_array_append(arr, rec);
    }
    pthread_mutex_unlock(&l->mu);
    return json_pack("{s:o, s:I}", "records", arr, "count", (json_int_t)json_array_size(arr));
}
