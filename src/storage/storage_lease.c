/*
 * storage_lease.c — storage_lock for a remote bucket: a lease object
 * (ADR 0234).
 *
 * A folder has flock(); an S3 prefix has no lock a dead process drops, so
 * the holder writes "_lakehouse.lock" under the prefix with put-if-absent:
 *
 *   host=<hostname>  pid=<pid>  expires_ms=<wall clock ms>  token=<random>
 *
 * and a thread rewrites it every TTL/3 with a later expiry. storage_free
 * stops the thread and deletes the lease. Another process that finds the
 * lease refuses to start while it is live, naming the holder. A lease is
 * taken over at once when it has expired (its holder stopped renewing:
 * crashed, or cut off from the store), or when it names this host and a
 * pid that no longer runs (a restart after kill -9 must not wait out the
 * TTL). Taking over deletes the stale lease and retries the put-if-absent,
 * then reads the lease back and keeps it only if it holds our token, so of
 * two processes taking over together at most one keeps it. The renewal
 * thread checks the token too and logs loudly if the lease was taken.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "storage/storage_internal.h"

#define LEASE_KEY "_lakehouse.lock"
#define LEASE_TTL_MS 30000

struct lh_storage_lease {
    lh_storage *st; /* borrowed: the lease lives inside it */
    char host[256];
    char token[33];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
};

typedef struct {
    char host[256];
    long pid;
    int64_t expires_ms;
    char token[33];
} lease_text;

static char *lease_render(const struct lh_storage_lease *l) {
    return lh_asprintf("host=%s\npid=%ld\nexpires_ms=%lld\ntoken=%s\n", l->host, (long)getpid(),
                       (long long)(lh_now_ms() + LEASE_TTL_MS), l->token);
}

static int lease_parse(const char *text, lease_text *out) {
    *out = (lease_text){0};
    const char *h = strstr(text, "host="), *p = strstr(text, "pid="), *e = strstr(text, "expires_ms="),
               *t = strstr(text, "token=");
    if (!h || !p || !e || !t) return -1;
    sscanf(h + 5, "%255[^\n]", out->host);
    sscanf(t + 6, "%32[0-9a-f]", out->token);
    out->pid = strtol(p + 4, NULL, 10);
    out->expires_ms = strtoll(e + 11, NULL, 10);
    return 0;
}

static int lease_put(struct lh_storage_lease *l, int exclusive, lh_err *err) {
    char *body = lease_render(l), sha[65];
    lh_sha256_hex(body, strlen(body), sha);
    int rc = l->st->ops->put(l->st->impl, LEASE_KEY, body, strlen(body), exclusive, sha, err);
    free(body);
    return rc;
}

/* Reads the current lease: 0, LH_E_NOT_FOUND when there is none. */
static int lease_read(lh_storage *st, lease_text *out, lh_err *err) {
    char *text = NULL;
    size_t len = 0;
    if (st->ops->get(st->impl, LEASE_KEY, &text, &len, err) != 0) return -1;
    int rc = lease_parse(text, out);
    free(text);
    if (rc != 0) return lh_err_set(err, LH_E_UNAVAILABLE, "the lease %s/%s is not one a lakehouse wrote",
                                   storage_root(st), LEASE_KEY);
    return 0;
}

/* 1 when the holder is gone: expired, or this host's pid that no longer runs. */
static int lease_stale(const struct lh_storage_lease *l, const lease_text *t) {
    if (t->expires_ms < lh_now_ms()) return 1;
    return !strcmp(t->host, l->host) && t->pid > 0 && t->pid != (long)getpid() && kill((pid_t)t->pid, 0) != 0 &&
           errno == ESRCH;
}

static void *lease_renew_main(void *arg) {
    struct lh_storage_lease *l = arg;
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        lh_cond_wait_ms(&l->cv, &l->mu, LEASE_TTL_MS / 3);
        if (l->stop) break;
        pthread_mutex_unlock(&l->mu);
        lease_text t;
        lh_err e = {0};
        if (lease_read(l->st, &t, &e) == 0 && strcmp(t.token, l->token))
            LOG_ERROR("storage %s: the lease %s was taken by host %s pid %ld; another process may be writing here",
                      storage_root(l->st), LEASE_KEY, t.host, t.pid);
        else if (lease_put(l, 0, &e) != 0)
            LOG_WARN("storage %s: renewing the lease failed (%s); retrying", storage_root(l->st), e.msg);
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static void lease_free(struct lh_storage_lease *l) {
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}

/* Refusal naming the live holder. */
static int lease_refuse(lh_storage *st, const lease_text *t, lh_err *err) {
    char until[32];
    lh_time_iso(t->expires_ms, until);
    lh_err_set(err, LH_E_UNAVAILABLE,
               "the data location %s is in use by another lakehouse process (host %s, pid %ld; lease valid until %s)",
               storage_root(st), t->host, t->pid, until);
    lh_err_hint(err, "stop that process first (its lease expires %d s after it stops renewing it), "
                     "or give this one its own prefix (LAKEHOUSE_DATA=s3://bucket/other-prefix)", LEASE_TTL_MS / 1000);
    return -1;
}

struct lh_storage_lease *storage_lease_acquire(lh_storage *st, lh_err *err) {
    struct lh_storage_lease *l = lh_calloc(1, sizeof *l);
    l->st = st;
    if (gethostname(l->host, sizeof l->host - 1) != 0) snprintf(l->host, sizeof l->host, "unknown");
    lh_random_hex(l->token, 16);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    int held = 0;
    for (int round = 0; round < 3 && !held; round++) {
        lh_err e = {0};
        lease_text t;
        if (lease_put(l, 1, &e) == 0) {
            held = lease_read(st, &t, &e) == 0 && !strcmp(t.token, l->token);
            if (!held && e.code == LH_OK) continue; /* another taker won the race */
        }
        if (held) break;
        if (e.code != LH_E_CONFLICT && e.code != LH_OK) {
            *err = e;
            lh_err_prefix(err, "cannot take the lease on %s: ", storage_root(st));
            break;
        }
        if (lease_read(st, &t, &e) != 0) {
            if (e.code == LH_E_NOT_FOUND) continue; /* released meanwhile */
            *err = e;
            break;
        }
        if (!lease_stale(l, &t)) {
            lease_refuse(st, &t, err);
            break;
        }
        LOG_WARN("storage %s: taking over the lease of host %s pid %ld (%s)", storage_root(st), t.host, t.pid,
                 t.expires_ms < lh_now_ms() ? "expired" : "that process is gone");
        st->ops->del(st->impl, LEASE_KEY, NULL);
    }
    if (held && lh_thread_start(&l->thread, NULL, lease_renew_main, l, "storage lease", err) == 0) return l;
    if (held) st->ops->del(st->impl, LEASE_KEY, NULL);
    else if (err && err->code == LH_OK)
        lh_err_set(err, LH_E_UNAVAILABLE, "cannot take the lease on %s: other processes keep taking it",
                   storage_root(st));
    lease_free(l);
    return NULL;
}

void storage_lease_release(lh_storage *st, struct lh_storage_lease *l) {
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    lease_text t;
    if (lease_read(st, &t, NULL) == 0 && !strcmp(t.token, l->token)) st->ops->del(st->impl, LEASE_KEY, NULL);
    lease_free(l);
}
