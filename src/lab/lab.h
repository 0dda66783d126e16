/*
 * lab.h — the HNSW lab over the vector index service: eval sets (named
 * query sets with brute-force ground truth), trials (a graph built with
 * given parameters on an index's in-memory matrix, measured for recall@k,
 * latency, build time and memory), best-of selection, a promotion registry
 * that hot-swaps the live graph (and rolls it back), autotune (a grid of
 * trials, a recall gate, the Pareto winner promoted), a background agent
 * that proposes trials by itself (ε-greedy, rate-limited, cooldown-gated,
 * woken by index or dataset changes), and model profiles (a named binding
 * of datasets + HNSW config; activation warms their indexes, profile
 * search refuses indexes outside the binding).
 *
 * Files in the bucket (JSON; every write atomic):
 *   _hnsw_evals/<name>.json         eval set: query vectors (base64 float32
 *                                   little-endian), texts, ground-truth rows
 *                                   and the index generation they refer to
 *   _hnsw_trials/<index>.jsonl      trial journal, one record per line, appended
 *   _hnsw_promotions/<index>.json   {"index","current","history"[<=50]}
 *   _catalog/profiles/<id>.json     {id, ollama_name, description, bound_datasets,
 *                                   hnsw_config, embed_model, created_at, created_by}
 *
 * A trial record: {"id","index","eval","generation","vectors","dims","k",
 * "config":{"M","ef_construction","ef_search","seed"},"recall","p50_us",
 * "p90_us","mean_us","brute_p50_us","build_s","memory_bytes","queries",
 * "source":"manual"|"autotune"|"agent","note"?,"created_at"}.
 *
 * Configs are bounded: M in [4,64], ef_construction in [10,400],
 * ef_search in [10,200]. Thread-safety: every function may be called from
 * any thread. JSON results are new references the caller owns.
 */
#ifndef LH_LAB_H
#define LH_LAB_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "common/err.h"
#include "storage/storage.h"
#include "vector/index.h"

/* ---- the lab ------------------------------------------------------------- */

typedef struct lh_vlab lh_vlab;

typedef struct {
    int enabled;              /* 0: the agent never starts (default) */
    int cycle_interval_s;     /* the agent looks for work this often (300) */
    int cooldown_s;           /* least time between two agent trials of one index (900) */
    int min_recall_pct;       /* an agent promotion needs recall >= this % (90) */
    int max_trials_per_hour;  /* agent trials across all indexes (6) */
    int epsilon_pct;          /* chance of exploring a random config (20) */
    int eval_queries;         /* size of the autogen eval the agent makes (20) */
} lh_vlab_agent_config;

typedef struct {
    lh_storage *storage;      /* borrowed: where the lab's files live */
    lh_catalog *catalog;      /* borrowed: profile bindings are checked against it */
    lh_vindex *vectors;       /* borrowed */
    lh_ai *ai;                /* borrowed, may be NULL: profile model swaps (ADR 0152) */
    int threads;              /* graph builds and exact scans (0 = cores) */
    lh_vlab_agent_config agent;
} lh_vlab_config;

lh_vlab *vlab_open(const lh_vlab_config *cfg, lh_err *err);
/* Starts the agent thread when cfg.agent.enabled, and the refresher; -1
 * with err when a thread cannot start (the server then refuses to start). */
int vlab_start(lh_vlab *lab, lh_err *err);
/* Stops the agent. Call before vindex_free. */
void vlab_free(lh_vlab *lab);

/* ---- eval sets (lab_eval.c) ---- */

/* {"name","index","queries":[text...],"k"?}: texts embedded with the
 * index's model. Replaces an eval of that name. Returns its summary. */
json_t *vlab_eval_create(lh_vlab *lab, const json_t *req, lh_err *err);
/* {"index","n"?:20,"noise"?:0.05,"from"?:"vectors"|"texts","seed"?:42,"k"?:10}:
 * n stored rows sampled; "vectors" perturbs their vectors with Gaussian
 * noise of norm ~noise, "texts" embeds the start of their chunk texts. */
json_t *vlab_eval_autogen(lh_vlab *lab, const char *name, const json_t *req, lh_err *err);
json_t *vlab_eval_list(lh_vlab *lab);                     /* {"evals":[summary...]} */
json_t *vlab_eval_get(lh_vlab *lab, const char *name, lh_err *err);

/* ---- trials (lab_trial.c) ---- */

/* {"index","eval","M"?,"ef_construction"?,"ef_search"?,"seed"?,"note"?}
 * (missing fields: the live graph's). Runs, journals and returns the trial. */
json_t *vlab_trial_run(lh_vlab *lab, const json_t *req, lh_err *err);
json_t *vlab_trials_list(lh_vlab *lab, const char *index, lh_err *err); /* {"index","trials":[...]} */
/* metric "recall" (max recall, then min p50), "latency" (min p50 among
 * recall >= min_recall) or "pareto" (the front, and its best trial over
 * the gate). LH_E_NOT_FOUND when no trial qualifies. */
json_t *vlab_trials_best(lh_vlab *lab, const char *index, const char *metric, double min_recall,
                         lh_err *err);

/* ---- promotions (lab_promote.c) ---- */

/* Hot-swaps the index's graph to the trial's config and records it as
 * current (the previous current goes to the history, capped at 50). */
json_t *vlab_promote(lh_vlab *lab, const char *index, const char *trial_id, const char *by, lh_err *err);
/* Restores the newest history entry (or the service default when the
 * history is empty). LH_E_CONFLICT when there is nothing to roll back. */
json_t *vlab_rollback(lh_vlab *lab, const char *index, const char *by, lh_err *err);
json_t *vlab_promoted(lh_vlab *lab, const char *index, lh_err *err);

/* ---- autotune (lab_autotune.c) ---- */

/* {"index","eval"?,"configs"?:[{...}],"min_recall"?:0.9,"promote"?:true,
 * "eval_queries"?:20}: a trial per config (default grid of 5), the Pareto
 * winner over the gate promoted. {"index","eval","min_recall","trials",
 * "front","winner","promoted","promotion"?,"reason"?}. */
json_t *vlab_autotune(lh_vlab *lab, const json_t *req, const char *by, lh_err *err);

/* ---- the agent (lab_agent.c) ---- */

json_t *vlab_agent_status(lh_vlab *lab);
/* Stops the thread (it finishes its current trial first); returns the status. */
json_t *vlab_agent_stop(lh_vlab *lab);
/* Queues a re-trial of index. LH_E_NOT_FOUND for an unknown index,
 * LH_E_CONFLICT when the agent is not running. */
json_t *vlab_agent_enqueue(lh_vlab *lab, const char *index, const char *reason, lh_err *err);

/* ---- the embedding refresher (refresh_policy.c, ADR 0150) ---- */

/* Started by vlab_start: refreshes the stale indexes of datasets whose
 * manifest has embedding.refresh_policy "on_append" (at the next tick
 * after a write) or "scheduled" (once per refresh_interval_s).
 * {"running","tick_ms","ticks","policies":[...],"datasets":{name:record}}. */
json_t *vlab_refresher_status(lh_vlab *lab);

/* ---- model profiles (lab_profile.c) ---- */

/* Creates or replaces; *created (may be NULL) = 1 when new. Every bound
 * dataset must exist (LH_E_UNPROCESSABLE naming the missing ones). */
json_t *vlab_profile_put(lh_vlab *lab, const json_t *req, const char *by, int *created, lh_err *err);
json_t *vlab_profile_list(lh_vlab *lab);                  /* {"profiles":[...]} */
json_t *vlab_profile_get(lh_vlab *lab, const char *id, lh_err *err);
int vlab_profile_delete(lh_vlab *lab, const char *id, lh_err *err);
/* Loads every index over a bound dataset and gives it the promoted config
 * (else the profile's); an IVF-PQ profile migrates them to IVF-PQ instead.
 * The profile becomes the active one: the previous one's model is unloaded,
 * its ollama_name preloaded (ADR 0152). {"profile","vector_backend",
 * "warmed":[...],"failures":[...],"models":{...},"duration_ms"}. */
json_t *vlab_profile_activate(lh_vlab *lab, const char *id, lh_err *err);
/* {"index","query","k"?,"mode"?}: LH_E_FORBIDDEN when the index's source
 * dataset is not bound to the profile (the message lists the bound ones).
 * HNSW when the index is warm, else exact; a profile with vector_backend
 * VDISK_BACKEND_NAME ("lance") searches the IVF-PQ backend (migrating the index first when
 * needed, ADR 0151). */
json_t *vlab_profile_search(lh_vlab *lab, const char *id, const json_t *req, lh_err *err);
/* Only the active profile: unloads its model, no profile is active then.
 * {"profile","deactivated","models"}; LH_E_CONFLICT when id is not active. */
json_t *vlab_profile_deactivate(lh_vlab *lab, const char *id, lh_err *err);
/* {"active": id | null, "model", "profile": document | null}. */
json_t *vlab_profile_active(lh_vlab *lab);

/* ---- the measuring core (pure; for tests and benchmarks) ------------------ */

typedef struct {
    double recall;            /* mean |approx ∩ exact| / |exact| at k */
    double p50_us, p90_us, mean_us;
    double brute_p50_us;      /* exact scan, same queries */
    double build_s;
    size_t memory_bytes;      /* graph only */
    int queries;
} lh_vlab_score;

/* Exact top-k row ids of nq queries (nq x dims) into truth (nq x k; rows
 * beyond min(k, n) are UINT32_MAX). */
void vlab_ground_truth(const float *matrix, size_t n, int dims, const float *queries, int nq, int k,
                       int threads, uint32_t *truth);
/* Builds a graph with p and measures it against truth. */
int vlab_score(const float *matrix, size_t n, int dims, const float *queries, int nq, const uint32_t *truth,
               int k, const lh_hnsw_params *p, int threads, lh_vlab_score *out, lh_err *err);
/* Selection over trial records (see vlab_trials_best): {"metric","min_recall",
 * "best","considered"} (+ "front" for pareto); "best" is null when nothing
 * qualifies. NULL with LH_E_BAD_REQUEST for an unknown metric. */
json_t *vlab_pick(const json_t *trials, const char *metric, double min_recall, lh_err *err);
/* Parses {"M","ef_construction","ef_search","seed"} and checks the bounds;
 * missing fields are base's (zero, i.e. the HNSW default, when base is NULL). */
int vlab_config_parse(const json_t *obj, const lh_hnsw_params *base, lh_hnsw_params *out, lh_err *err);
/* The agent's proposer: with probability epsilon (or without trials) a
 * random config inside the bounds, else a neighbour of the best trial over
 * min_recall not tried yet. rng: state of a splitmix64 generator. */
lh_hnsw_params vlab_propose(const json_t *trials, double epsilon, double min_recall, uint64_t *rng);

#endif
