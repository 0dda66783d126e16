/*
 * lab_agent.c — the background autotune agent: one thread that keeps the
 * live HNSW configs good as the data changes, without anyone asking.
 *
 * Triggers. Every wake-up (each cycle_interval_s, or at once on enqueue)
 * it compares every index's generation and its source dataset's version
 * with what it saw last: a refresh or rebuild (new generation) or an
 * ingest into the dataset (new version: "dataset_appended") queues the
 * index. Ingest paths sit below the vector module, so the agent watches the
 * catalog instead of being called by them. POST /vectors/agent/enqueue/{idx}
 * queues one by hand.
 *
 * A queued index gets one trial when its cooldown has passed and the
 * hourly budget allows: on "<index>_agent" (an autogen eval made on first
 * use), with a config from the ε-greedy proposer — first the live config
 * itself (the baseline), then with probability ε a random config inside
 * the bounds, else an untried neighbour of the best trial so far. A trial
 * that passes the recall gate and beats the live config's best trial
 * (higher recall, or the same recall at least 10% faster at p50) is
 * promoted with reason "agent".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "lab/lab_internal.h"

#define HOUR_MS (3600 * 1000LL)

typedef struct {
    char *index;
    int64_t generation;
    int64_t dataset_version;  /* -1: unknown (dataset missing) */
    int64_t last_trial_ms;    /* 0: never */
} watch;

typedef struct {
    char *index;
    char *reason;
} job;

struct vagent {
    lh_vlab *lab;
    pthread_t th;
    int joinable;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, running, scanned;
    job *queue;
    size_t nq;
    watch *w;
    size_t nw;
    int64_t *times;           /* trial start times within the last hour */
    size_t ntimes;
    uint64_t rng;
    long trials, promotions, cycles;
    json_t *last_trial;
    char *last_error, *current;
    int64_t started_ms, last_cycle_ms;
};

/* ---- the proposer ------------------------------------------------------------------ */

static const int GRID_EC[] = {10, 20, 40, 60, 80, 120, 160, 240, 320, 400};
static const int GRID_ES[] = {10, 20, 30, 40, 64, 100, 150, 200};
static const int GRID_M[] = {8, 12, 16, 24, 32};
#define NOF(a) (sizeof a / sizeof a[0])

static int grid_pick(const int *g, size_t n, uint64_t *rng) { return g[vlab_rng_next(rng) % n]; }

/* g's value one step from v (nearest grid point) in direction dir. */
static int grid_step(const int *g, size_t n, int v, int dir) {
    size_t at = 0;
    for (size_t i = 1; i < n; i++)
        if (abs(g[i] - v) < abs(g[at] - v)) at = i;
    if (dir > 0 && at + 1 < n) at++;
    else if (dir < 0 && at > 0) at--;
    return g[at];
}

static int tried(const json_t *trials, lh_hnsw_params p) {
    json_t *t;
    size_t i;
    json_array_foreach(trials, i, t) if (hnsw_params_equal(hnsw_params_defaults(vlab_params_of(json_object_get(t, "config"))), p)) return 1;
    return 0;
}

static lh_hnsw_params random_config(uint64_t *rng) {
    lh_hnsw_params p = {grid_pick(GRID_M, NOF(GRID_M), rng), grid_pick(GRID_EC, NOF(GRID_EC), rng),
                        grid_pick(GRID_ES, NOF(GRID_ES), rng), LH_HNSW_DEFAULT_SEED};
    return p;
}

lh_hnsw_params vlab_propose(const json_t *trials, double epsilon, double min_recall, uint64_t *rng) {
    json_t *pick = json_array_size(trials) ? vlab_pick(trials, "pareto", min_recall, NULL) : NULL;
    json_t *best = json_object_get(pick, "best");
    if (!json_is_object(best)) {
        json_decref(pick);
        pick = json_array_size(trials) ? vlab_pick(trials, "recall", 0, NULL) : NULL;
        best = json_object_get(pick, "best");
    }
    lh_hnsw_params base = hnsw_params_defaults(vlab_params_of(json_object_get(best, "config")));
    int explore = !json_is_object(best) || vlab_rng_unit(rng) < epsilon;
    json_decref(pick);
    for (int attempt = 0; attempt < 24; attempt++) {
        lh_hnsw_params c = base;
        if (explore) {
            c = random_config(rng);
        } else {
            int dir = vlab_rng_next(rng) & 1 ? 1 : -1;
            switch (vlab_rng_next(rng) % 3) {
            case 0: c.ef_construction = grid_step(GRID_EC, NOF(GRID_EC), c.ef_construction, dir); break;
            case 1: c.ef_search = grid_step(GRID_ES, NOF(GRID_ES), c.ef_search, dir); break;
            default: c.M = grid_step(GRID_M, NOF(GRID_M), c.M, dir); break;
            }
        }
        if (!tried(trials, c)) return c;
        if (attempt >= 12) explore = 1; /* the neighbourhood is exhausted */
    }
    return random_config(rng);
}

/* ---- watching for changes ------------------------------------------------------------------ */

/* Caller holds a->mu. */
static void queue_push(vagent *a, const char *index, const char *reason) {
    for (size_t i = 0; i < a->nq; i++)
        if (!strcmp(a->queue[i].index, index)) return;
    a->queue = lh_realloc(a->queue, (a->nq + 1) * sizeof *a->queue);
    a->queue[a->nq].index = lh_strdup(index);
    a->queue[a->nq++].reason = lh_strdup(reason);
}

/* Caller holds a->mu. */
static watch *watch_find(vagent *a, const char *index, int add) {
    for (size_t i = 0; i < a->nw; i++)
        if (!strcmp(a->w[i].index, index)) return &a->w[i];
    if (!add) return NULL;
    a->w = lh_realloc(a->w, (a->nw + 1) * sizeof *a->w);
    watch *w = &a->w[a->nw++];
    memset(w, 0, sizeof *w);
    w->index = lh_strdup(index);
    w->dataset_version = -1;
    return w;
}

/* Queues indexes whose generation or dataset version moved. Caller holds a->mu. */
static void watch_scan(vagent *a) {
    pthread_mutex_unlock(&a->mu);
    json_t *list = vindex_list(a->lab->cfg.vectors, NULL, NULL), *m;
    pthread_mutex_lock(&a->mu);
    size_t i;
    json_array_foreach(json_object_get(list, "indexes"), i, m) {
        const char *name = json_string_value(json_object_get(m, "name"));
        if (!name || json_integer_value(json_object_get(m, "vectors")) == 0) continue;
        int64_t gen = json_integer_value(json_object_get(m, "generation"));
        json_t *dv = json_object_get(m, "dataset_version");
        int64_t ver = json_is_integer(dv) ? json_integer_value(dv) : -1;
        watch *w = watch_find(a, name, 0);
        if (!w) {
            w = watch_find(a, name, 1);
            if (a->scanned) queue_push(a, name, "index_built");
        } else if (w->generation != gen) {
            queue_push(a, name, "generation");
        } else if (w->dataset_version != ver && ver >= 0) {
            queue_push(a, name, "dataset_appended");
        }
        w->generation = gen;
        w->dataset_version = ver;
    }
    a->scanned = 1;
    json_decref(list);
}

/* ---- one trial ---------------------------------------------------------------------------------- */

/* The best trial of the live config on eval (borrowed from trials) or NULL. */
static const json_t *live_reference(const json_t *trials, const char *eval, lh_hnsw_params live) {
    const json_t *ref = NULL, *t;
    size_t i;
    json_array_foreach(trials, i, t) {
        if (strcmp(json_string_value(json_object_get(t, "eval")) ?: "", eval)) continue;
        if (!hnsw_params_equal(hnsw_params_defaults(vlab_params_of(json_object_get(t, "config"))), live)) continue;
        ref = t; /* the newest measure wins */
    }
    return ref;
}

static int beats(const json_t *t, const json_t *ref, double min_recall) {
    double r = json_number_value(json_object_get(t, "recall")), rr = json_number_value(json_object_get(ref, "recall"));
    double l = json_number_value(json_object_get(t, "p50_us")), lr = json_number_value(json_object_get(ref, "p50_us"));
    if (r < min_recall - 1e-9) return 0;
    return r > rr + 1e-9 || (fabs(r - rr) <= 1e-9 && l < 0.9 * lr);
}

/* Runs one trial of index; returns the trial (and promotes it when it wins). */
static json_t *agent_trial(vagent *a, const char *index, const char *reason, uint64_t *rng, int *promoted,
                           lh_err *err) {
    lh_vlab *lab = a->lab;
    const lh_vlab_agent_config *c = &lab->cfg.agent;
    double min_recall = c->min_recall_pct / 100.0;
    json_t *meta = vindex_get(lab->cfg.vectors, index, err);
    if (!meta) return NULL;
    lh_hnsw_params live = hnsw_params_defaults(vlab_params_of(json_object_get(meta, "hnsw")));
    json_decref(meta);
    char *eval = lh_asprintf("%s_agent", index);
    json_t *trials = NULL, *t = NULL;
    if (veval_ensure(lab, eval, index, c->eval_queries, err) == 0) {
        trials = vtrial_journal(lab, index);
        const json_t *ref = live_reference(trials, eval, live);
        lh_hnsw_params p = ref ? vlab_propose(trials, c->epsilon_pct / 100.0, min_recall, rng) : live;
        t = vtrial_run(lab, index, eval, &p, "agent", ref ? reason : "baseline", err);
        if (t && ref && beats(t, ref, min_recall)) {
            json_t *promo = vpromo_apply(lab, index, t, "agent", "agent", err);
            *promoted = promo != NULL;
            json_decref(promo);
        }
    }
    json_decref(trials);
    free(eval);
    return t;
}

/* ---- the thread ------------------------------------------------------------------------------------- */

/* Caller holds a->mu. Drops trial times older than an hour. */
static void times_prune(vagent *a, int64_t now) {
    size_t k = 0;
    for (size_t i = 0; i < a->ntimes; i++)
        if (now - a->times[i] < HOUR_MS) a->times[k++] = a->times[i];
    a->ntimes = k;
}

/* Index in the queue of the first job allowed to run now, or -1. Caller holds a->mu. */
static long queue_ready(vagent *a, int64_t now) {
    times_prune(a, now);
    if ((int)a->ntimes >= a->lab->cfg.agent.max_trials_per_hour) return -1;
    for (size_t i = 0; i < a->nq; i++) {
        watch *w = watch_find(a, a->queue[i].index, 1);
        if (!w->last_trial_ms || now - w->last_trial_ms >= a->lab->cfg.agent.cooldown_s * 1000LL) return (long)i;
    }
    return -1;
}

/* Pops job i, runs it outside the lock and records the outcome. Caller holds a->mu. */
static void run_job(vagent *a, size_t i, int64_t now) {
    job j = a->queue[i];
    memmove(&a->queue[i], &a->queue[i + 1], (a->nq - i - 1) * sizeof *a->queue);
    a->nq--;
    watch_find(a, j.index, 1)->last_trial_ms = now;
    a->times = lh_realloc(a->times, (a->ntimes + 1) * sizeof *a->times);
    a->times[a->ntimes++] = now;
    a->current = lh_strdup(j.index);
    uint64_t rng = vlab_rng_next(&a->rng);
    pthread_mutex_unlock(&a->mu);
    lh_err err = {0};
    int promoted = 0;
    json_t *t = agent_trial(a, j.index, j.reason, &rng, &promoted, &err);
    if (!t) LOG_WARN("autotune agent: trial of %s failed: %s", j.index, err.msg);
    pthread_mutex_lock(&a->mu);
    a->trials += t != NULL;
    a->promotions += promoted;
    if (t) {
        json_decref(a->last_trial);
        a->last_trial = t;
        json_object_set_new(t, "promoted", json_boolean(promoted));
    } else {
        free(a->last_error);
        a->last_error = lh_asprintf("%s: %s", j.index, err.msg);
    }
    free(a->current);
    a->current = NULL;
    free(j.index);
    free(j.reason);
}

static void *agent_main(void *arg) {
    vagent *a = arg;
    pthread_mutex_lock(&a->mu);
    int64_t next_scan = 0;
    while (!a->stop) {
        if (lh_now_ms() >= next_scan) {
            a->last_cycle_ms = lh_now_ms();
            watch_scan(a);
            a->cycles++; /* after the scan: "cycles >= 1" means the first state is recorded */
            next_scan = lh_now_ms() + a->lab->cfg.agent.cycle_interval_s * 1000LL;
        }
        long i;
        while (!a->stop && (i = queue_ready(a, lh_now_ms())) >= 0) run_job(a, (size_t)i, lh_now_ms());
        int64_t wait = next_scan - lh_now_ms();
        if (a->nq && wait > 1000) wait = 1000; /* queued work waits for a cooldown or the budget */
        if (!a->stop) lh_cond_wait_ms(&a->cv, &a->mu, wait > 10 ? wait : 10);
    }
    a->running = 0;
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

vagent *vagent_start(lh_vlab *lab, lh_err *err) {
    vagent *a = lh_calloc(1, sizeof *a);
    a->lab = lab;
    a->rng = (uint64_t)lh_now_ms() * 0x2545F4914F6CDD1Dull;
    a->started_ms = lh_now_ms();
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    a->running = 1;
    if (lh_thread_start(&a->th, NULL, agent_main, a, "autotune agent", err) != 0) {
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->cv);
        free(a);
        return NULL;
    }
    a->joinable = 1;
    const lh_vlab_agent_config *c = &lab->cfg.agent;
    LOG_INFO("autotune agent started: cycle %ds, cooldown %ds, min recall %d%%, %d trials/hour, epsilon %d%%",
             c->cycle_interval_s, c->cooldown_s, c->min_recall_pct, c->max_trials_per_hour, c->epsilon_pct);
    return a;
}

/* Stops and joins the thread once, whoever asks first. */
static void agent_join(vagent *a) {
    pthread_mutex_lock(&a->mu);
    int join = a->joinable;
    a->joinable = 0;
    a->stop = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    if (join) pthread_join(a->th, NULL);
}

void vagent_free(vagent *a) {
    if (!a) return;
    agent_join(a);
    for (size_t i = 0; i < a->nq; i++) {
        free(a->queue[i].index);
        free(a->queue[i].reason);
    }
    for (size_t i = 0; i < a->nw; i++) free(a->w[i].index);
    free(a->queue);
    free(a->w);
    free(a->times);
    json_decref(a->last_trial);
    free(a->last_error);
    free(a->current);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}

/* ---- the API -------------------------------------------------------------------------------------------- */

static json_t *config_json(const lh_vlab_agent_config *c) {
    return json_pack("{s:b, s:i, s:i, s:f, s:i, s:f, s:i}", "enabled", c->enabled, "cycle_interval_s",
                     c->cycle_interval_s, "cooldown_s", c->cooldown_s, "min_recall", c->min_recall_pct / 100.0,
                     "max_trials_per_hour", c->max_trials_per_hour, "epsilon", c->epsilon_pct / 100.0,
                     "eval_queries", c->eval_queries);
}

json_t *vlab_agent_status(lh_vlab *lab) {
    vagent *a = lab->agent;
    json_t *st = json_pack("{s:o, s:b}", "config", config_json(&lab->cfg.agent), "running", 0);
    if (!a) return st;
    pthread_mutex_lock(&a->mu);
    times_prune(a, lh_now_ms());
    json_t *queue = json_array(), *watched = json_array();
    for (size_t i = 0; i < a->nq; i++)
        json_array_append_new(queue, json_pack("{s:s, s:s}", "index", a->queue[i].index, "reason", a->queue[i].reason));
    for (size_t i = 0; i < a->nw; i++)
        json_array_append_new(watched, json_pack("{s:s, s:I, s:I, s:I}", "index", a->w[i].index, "generation",
                                                 (json_int_t)a->w[i].generation, "dataset_version",
                                                 (json_int_t)a->w[i].dataset_version, "last_trial_ms",
                                                 (json_int_t)a->w[i].last_trial_ms));
    json_object_set_new(st, "running", json_boolean(a->running && !a->stop));
    json_object_set_new(st, "queue", queue);
    json_object_set_new(st, "watching", watched);
    json_object_set_new(st, "current", a->current ? json_string(a->current) : json_null());
    json_object_set_new(st, "trials_last_hour", json_integer((json_int_t)a->ntimes));
    json_object_set_new(st, "trials", json_integer(a->trials));
    json_object_set_new(st, "promotions", json_integer(a->promotions));
    json_object_set_new(st, "cycles", json_integer(a->cycles));
    json_object_set_new(st, "last_trial", a->last_trial ? json_deep_copy(a->last_trial) : json_null());
    json_object_set_new(st, "last_error", a->last_error ? json_string(a->last_error) : json_null());
    pthread_mutex_unlock(&a->mu);
    return st;
}

json_t *vlab_agent_stop(lh_vlab *lab) {
    if (lab->agent) agent_join(lab->agent);
    return vlab_agent_status(lab);
}

json_t *vlab_agent_enqueue(lh_vlab *lab, const char *index, const char *reason, lh_err *err) {
    json_t *meta = vindex_get(lab->cfg.vectors, index, err);
    if (!meta) return NULL;
    json_decref(meta);
    vagent *a = lab->agent;
    if (a) pthread_mutex_lock(&a->mu);
    if (!a || !a->running || a->stop) {
        if (a) pthread_mutex_unlock(&a->mu);
        lh_err_set(err, LH_E_CONFLICT, "the autotune agent is not running");
        lh_err_hint(err, "set [agent] enabled = true (LAKEHOUSE_AGENT_ENABLED=true) and restart");
        return NULL;
    }
    queue_push(a, index, reason ? reason : "manual");
    json_t *queue = json_array();
    for (size_t i = 0; i < a->nq; i++) json_array_append_new(queue, json_string(a->queue[i].index));
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return json_pack("{s:s, s:o}", "queued", index, "queue", queue);
}
