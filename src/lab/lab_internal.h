/*
 * lab_internal.h — what the lab_*.c files share. Not a public API.
 *
 *   lab.c          open/free, JSON files in the bucket, names, configs, RNG
 *   lab_eval.c     eval sets: create, autogen, ground truth, load for a trial
 *   lab_trial.c    the measuring core, trials and their journal, selection
 *   lab_promote.c  the promotion registry: promote, rollback
 *   lab_autotune.c the autotune loop
 *   lab_agent.c    the background agent thread
 *   lab_profile.c  model profiles: CRUD, activate, scoped search
 *   lab_profile_ivfpq.c   profile routing to the IVF-PQ backend
 *   lab_profile_active.c  the active-profile singleton, model swaps
 *   refresh_policy.c  the embedding refresher thread (refresh policies)
 *
 * Locking: lab->mu guards every read-modify-write of the lab's files (it
 * is never held during a graph build or an embedding call); swap_mu
 * serialises promotions, rollbacks and activations, which pair a graph
 * swap with a registry write.
 */
#ifndef LH_LAB_INTERNAL_H
#define LH_LAB_INTERNAL_H

#include <pthread.h>

#include "lab/lab.h"

#define LAB_K 10                 /* recall@k of trials */
#define LAB_HISTORY_CAP 50       /* promotion history entries kept */
#define LAB_M_MIN 4
#define LAB_M_MAX 64
#define LAB_EC_MIN 10
#define LAB_EC_MAX 400
#define LAB_ES_MIN 10
#define LAB_ES_MAX 200

typedef struct vagent vagent;
typedef struct vrefresher vrefresher;

struct lh_vlab {
    lh_vlab_config cfg;
    pthread_mutex_t mu;      /* the lab's files */
    pthread_mutex_t swap_mu; /* promote / rollback / activate */
    vagent *agent;           /* lab_agent.c; NULL until vlab_start */
    vrefresher *refresher;   /* refresh_policy.c; NULL until vlab_start */
    char *active_profile;    /* last activated profile id (under mu) */
};

/* ---- lab.c ---------------------------------------------------------------- */

/* 1 when s is a safe file-name id: [A-Za-z0-9_-] plus inner dots, 1..128 chars. */
int vlab_id_valid(const char *s);
/* "<dir>/<name><ext>" */
char *vlab_key(const char *dir, const char *name, const char *ext);
/* A JSON document of the bucket: new reference, or NULL (LH_E_NOT_FOUND when absent). */
json_t *vlab_read_json(lh_vlab *lab, const char *key, lh_err *err);
int vlab_write_json(lh_vlab *lab, const char *key, const json_t *doc, lh_err *err);
/* The document "<dir>/<name>.json" read under mu (which the caller does not
 * hold): as vlab_read_json, but absent is LH_E_NOT_FOUND "no <what> named
 * '<name>'". */
json_t *vlab_read_named(lh_vlab *lab, const char *dir, const char *name, const char *what, lh_err *err);
/* A new array of what read(lab, name) makes (new references; NULL is left
 * out) of every document "<dir>/<name>.json" in the bucket. */
json_t *vlab_list_named(lh_vlab *lab, const char *dir, json_t *(*read)(lh_vlab *lab, const char *name));
/* The params of a {"M",...} object (missing fields zero). */
lh_hnsw_params vlab_params_of(const json_t *cfg);
uint64_t vlab_rng_next(uint64_t *state);   /* splitmix64 */
double vlab_rng_unit(uint64_t *state);     /* [0, 1) */
/* body[key] as a number in [lo, hi], def when absent; -1 with a 400. */
int vlab_num_field(const json_t *body, const char *key, double def, double lo, double hi, double *out,
                   lh_err *err);
/* body[key] as a string; NULL when absent (and not required); -1 with a 400. */
int vlab_str_field(const json_t *body, const char *key, int required, const char **out, lh_err *err);
/* Embeds n texts with the model of the index described by meta. */
float *vlab_embed(lh_vlab *lab, const json_t *meta, const char *const *texts, size_t n, lh_err *err);

/* ---- lab_eval.c ------------------------------------------------------------- */

/* An eval set loaded for one matrix: queries and their truth at its generation. */
typedef struct {
    char *name;
    int k;
    int nq;
    float *queries;          /* nq x dims */
    uint32_t *truth;         /* nq x k */
} veval;

/* Loads eval name for the index of m, recomputing (and saving) the truth
 * when it refers to another generation. */
int veval_load(lh_vlab *lab, const char *name, const char *index, const lh_vmatrix *m, veval *ev, lh_err *err);
void veval_clear(veval *ev);
/* Name of an eval over index, created by autogen with n queries when missing. */
int veval_ensure(lh_vlab *lab, const char *name, const char *index, int n, lh_err *err);

/* ---- lab_trial.c -------------------------------------------------------------- */

/* Runs a trial of params p (zero fields: the live graph's) and journals it. */
json_t *vtrial_run(lh_vlab *lab, const char *index, const char *eval, const lh_hnsw_params *p,
                   const char *source, const char *note, lh_err *err);
/* The journal of index as an array (missing: empty). */
json_t *vtrial_journal(lh_vlab *lab, const char *index);
/* A trial of index by id (new reference) or NULL. */
json_t *vtrial_find(lh_vlab *lab, const char *index, const char *id);

/* ---- lab_promote.c ---------------------------------------------------------------- */

/* Swaps the graph to trial's config and records it (reason: manual, autotune, agent). */
json_t *vpromo_apply(lh_vlab *lab, const char *index, const json_t *trial, const char *by,
                     const char *reason, lh_err *err);
/* The current promotion of index (new reference) or NULL. */
json_t *vpromo_current(lh_vlab *lab, const char *index);

/* ---- lab_agent.c ------------------------------------------------------------------ */

vagent *vagent_start(lh_vlab *lab, lh_err *err); /* NULL: its thread cannot start */
void vagent_free(vagent *a);

/* ---- lab_profile_ivfpq.c (ADR 0151) ----------------------------------------------- */

/* 1 when the profile says vector_backend VDISK_BACKEND_NAME (IVF-PQ). */
int vprofile_is_ivfpq(const json_t *prof);
/* Migrates index to the IVF-PQ backend when it has no file or the file lags
 * behind the Parquet generation; *migrated (may be NULL) tells whether it did. */
int vprofile_ivfpq_ensure(lh_vlab *lab, const char *index, int *migrated, lh_err *err);
/* Activation of an IVF-PQ profile: ensure + a warmed or failures entry. */
void vprofile_ivfpq_warm(lh_vlab *lab, const char *ds, const json_t *meta, json_t *warmed, json_t *failures);
/* ensure + vdisk_search (the query embedded with the index's model). */
json_t *vprofile_ivfpq_search(lh_vlab *lab, const char *index, const char *query, int k, lh_err *err);

/* ---- lab_profile_active.c (ADR 0152) ------------------------------------------------ */

/* Makes prof the active profile, unloading the previous active profile's
 * model and preloading prof's (HTTP providers). Returns the "models" record. */
json_t *vprofile_swap_models(lh_vlab *lab, const json_t *prof);

/* ---- refresh_policy.c ---------------------------------------------------------- */

vrefresher *vrefresher_start(lh_vlab *lab, lh_err *err); /* NULL: its thread cannot start */
void vrefresher_free(vrefresher *r);

#endif
