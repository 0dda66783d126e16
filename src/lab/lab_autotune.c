/*
 * lab_autotune.c — autotune: a grid of trials on one index (the default
 * five configs or the caller's, every one inside the lab's bounds), each
 * journaled with source "autotune"; the winner is the best of the run's
 * Pareto front that passes the recall gate (max recall, then min p50), and
 * it is promoted unless the caller says not to. Runs synchronously: a grid
 * over a large index takes as long as its graph builds.
 *
 * With no eval named, the run uses "<index>_autotune", an autogen eval
 * made on first use.
 */
#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "lab/lab_internal.h"

#define GRID_MAX 32

/* (M, ef_construction, ef_search): from cheap to thorough around the defaults. */
static const lh_hnsw_params DEFAULT_GRID[] = {
    {16, 20, 30, 42}, {16, 40, 40, 42}, {16, 80, 30, 42}, {16, 80, 64, 42}, {16, 160, 100, 42},
};
#define DEFAULT_GRID_N (sizeof DEFAULT_GRID / sizeof DEFAULT_GRID[0])

typedef struct {
    const char *index;
    const char *eval;        /* NULL: the index's autotune eval */
    double min_recall;
    int promote;
    int eval_queries;
    lh_hnsw_params grid[GRID_MAX];
    size_t ngrid;
} autotune_req;

static int grid_parse(const json_t *configs, autotune_req *r, lh_err *err) {
    if (!configs || json_is_null(configs)) {
        memcpy(r->grid, DEFAULT_GRID, sizeof DEFAULT_GRID);
        r->ngrid = DEFAULT_GRID_N;
        return 0;
    }
    if (!json_is_array(configs) || json_array_size(configs) == 0 || json_array_size(configs) > GRID_MAX)
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"configs\" must be an array of 1..%d configs", GRID_MAX);
    for (size_t i = 0; i < json_array_size(configs); i++) {
        if (vlab_config_parse(json_array_get(configs, i), NULL, &r->grid[i], err) != 0) {
            lh_err_prefix(err, "configs[%zu]", i);
            return -1;
        }
        r->grid[i] = hnsw_params_defaults(r->grid[i]);
    }
    r->ngrid = json_array_size(configs);
    return 0;
}

static int autotune_parse(const json_t *req, autotune_req *r, lh_err *err) {
    memset(r, 0, sizeof *r);
    double n;
    if (lh_json_want_object(req, err) != 0) return -1;
    json_t *promote = json_object_get(req, "promote");
    if (promote && !json_is_boolean(promote))
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"promote\" must be true or false");
    r->promote = !json_is_false(promote);
    if (vlab_str_field(req, "index", 1, &r->index, err) || vlab_str_field(req, "eval", 0, &r->eval, err) ||
        vlab_num_field(req, "min_recall", 0.9, 0, 1, &r->min_recall, err) ||
        vlab_num_field(req, "eval_queries", 20, 1, 1000, &n, err) ||
        grid_parse(json_object_get(req, "configs"), r, err))
        return -1;
    r->eval_queries = (int)n;
    return 0;
}

/* The eval the run uses (caller frees). */
static char *autotune_eval(lh_vlab *lab, const autotune_req *r, lh_err *err) {
    if (r->eval) return lh_strdup(r->eval);
    char *name = lh_asprintf("%s_autotune", r->index);
    if (veval_ensure(lab, name, r->index, r->eval_queries, err) == 0) return name;
    free(name);
    return NULL;
}

static json_t *ids_of(const json_t *trials) {
    json_t *ids = json_array(), *t;
    size_t i;
    json_array_foreach(trials, i, t) json_array_append(ids, json_object_get(t, "id"));
    return ids;
}

/* The result object, with the winner promoted when asked. */
static json_t *autotune_finish(lh_vlab *lab, const autotune_req *r, const char *eval, json_t *trials,
                               const char *by, lh_err *err) {
    json_t *pick = vlab_pick(trials, "pareto", r->min_recall, err);
    if (!pick) return NULL;
    json_t *winner = json_object_get(pick, "best");
    json_t *out = json_pack("{s:s, s:s, s:f, s:O, s:o, s:O, s:b}", "index", r->index, "eval", eval, "min_recall",
                            r->min_recall, "trials", trials, "front", ids_of(json_object_get(pick, "front")),
                            "winner", winner, "promoted", 0);
    if (!json_is_object(winner)) {
        json_object_set_new(out, "reason", json_sprintf("no config reached recall %.3f", r->min_recall));
    } else if (!r->promote) {
        json_object_set_new(out, "reason", json_string("promote was false"));
    } else {
        json_t *promo = vpromo_apply(lab, r->index, winner, by, "autotune", err);
        if (!promo) {
            json_decref(out);
            out = NULL;
        } else {
            json_object_set_new(out, "promoted", json_true());
            json_object_set_new(out, "promotion", promo);
        }
    }
    json_decref(pick);
    return out;
}

json_t *vlab_autotune(lh_vlab *lab, const json_t *req, const char *by, lh_err *err) {
    autotune_req r;
    if (autotune_parse(req, &r, err) != 0) return NULL;
    json_t *meta = vindex_get(lab->cfg.vectors, r.index, err);
    if (!meta) return NULL;
    json_decref(meta);
    char *eval = autotune_eval(lab, &r, err);
    if (!eval) return NULL;
    double t0 = lh_mono_s();
    json_t *trials = json_array(), *out = NULL;
    size_t i = 0;
    for (; i < r.ngrid; i++) {
        json_t *t = vtrial_run(lab, r.index, eval, &r.grid[i], "autotune", NULL, err);
        if (!t) break;
        json_array_append_new(trials, t);
    }
    if (i == r.ngrid) out = autotune_finish(lab, &r, eval, trials, by, err);
    else lh_err_prefix(err, "autotune trial %zu of %zu", i + 1, r.ngrid);
    if (out) {
        json_object_set_new(out, "elapsed_ms", json_integer((json_int_t)((lh_mono_s() - t0) * 1000)));
        LOG_INFO("hnsw autotune on %s: %zu trials, winner %s, promoted %s", r.index, r.ngrid,
                 json_string_value(json_object_get(json_object_get(out, "winner"), "id")) ?: "none",
                 json_is_true(json_object_get(out, "promoted")) ? "yes" : "no");
    }
    json_decref(trials);
    free(eval);
    return out;
}
