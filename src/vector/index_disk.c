/*
 * index_disk.c — the IVF-PQ backend of the index service (index_disk.h):
 * a per-index slot holding the mapped file as a refcounted handle, the
 * ivfpq.json state record, migrate / rebuild / append / scalar index
 * (each writes a new file, then the state record, then swaps the handle)
 * and the read side: search, doc lookup, stats, recall harness.
 *
 * Locking: dk->mu guards the slot list and each slot's handle and busy
 * flag; builds run outside it with the slot marked busy. Handles are
 * immutable once published and freed by their last reference.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "vector/index_disk.h"
#include "vector/index_internal.h"

typedef struct dhandle {
    atomic_int refs;
    lh_ivfpq *ix;
    json_t *state;         /* the ivfpq.json record */
} dhandle;

typedef struct dslot {
    char *name;
    dhandle *cur;          /* NULL: no file (yet) */
    int probed;            /* ivfpq.json was looked for */
    int busy;              /* a write owns the slot */
    struct dslot *next;
} dslot;

struct vdisk {
    pthread_mutex_t mu;
    dslot *slots;
};

/* ---- handles and slots ------------------------------------------------------------ */

static void handle_release(dhandle *h) {
    if (!h || atomic_fetch_sub(&h->refs, 1) != 1) return;
    ivfpq_free(h->ix);
    json_decref(h->state);
    free(h);
}

static struct vdisk *disk_of(lh_vindex *vx) {
    pthread_mutex_lock(&vx->mu);
    if (!vx->disk) {
        vx->disk = lh_calloc(1, sizeof *vx->disk);
        pthread_mutex_init(&vx->disk->mu, NULL);
    }
    struct vdisk *dk = vx->disk;
    pthread_mutex_unlock(&vx->mu);
    return dk;
}

void vdisk_free(lh_vindex *vx) {
    struct vdisk *dk = vx->disk;
    if (!dk) return;
    for (dslot *s = dk->slots, *next; s; s = next) {
        next = s->next;
        handle_release(s->cur);
        free(s->name);
        free(s);
    }
    pthread_mutex_destroy(&dk->mu);
    free(dk);
    vx->disk = NULL;
}

/* Caller holds dk->mu. */
static dslot *slot_get(struct vdisk *dk, const char *name) {
    for (dslot *s = dk->slots; s; s = s->next)
        if (!strcmp(s->name, name)) return s;
    dslot *s = lh_calloc(1, sizeof *s);
    s->name = lh_strdup(name);
    s->next = dk->slots;
    dk->slots = s;
    return s;
}

static json_t *state_read(lh_vindex *vx, const char *index) {
    char *key = vx_key(index, "ivfpq.json"), *text = NULL;
    size_t len = 0;
    json_t *st = NULL;
    if (storage_get(vx->cfg.storage, key, &text, &len, NULL) == 0) st = json_loadb(text, len, 0, NULL);
    free(text);
    free(key);
    if (st && !json_is_object(st)) {
        json_decref(st);
        st = NULL;
    }
    return st;
}

/* Maps the file the state record names. */
static dhandle *handle_open(lh_vindex *vx, const char *index, json_t *state, lh_err *err) {
    char *path = vx_path(vx, index, json_string_value(json_object_get(state, "file")) ?: "");
    lh_ivfpq *ix = ivfpq_load(path, err);
    free(path);
    if (!ix) {
        json_decref(state);
        return NULL;
    }
    json_t *tj = json_object_get(state, "tuned"); /* query defaults the build chose */
    if (json_is_object(tj)) {
        lh_ivfpq_tuning t = {(int)json_integer_value(json_object_get(tj, "nprobe")),
                             (int)json_integer_value(json_object_get(tj, "rerank")), 0, 0};
        ivfpq_set_tuning(ix, &t);
    }
    dhandle *h = lh_calloc(1, sizeof *h);
    atomic_init(&h->refs, 1);
    h->ix = ix;
    h->state = state;
    return h;
}

/* The meta of index, or NULL with LH_E_NOT_FOUND. */
static json_t *index_meta(lh_vindex *vx, const char *index, lh_err *err) {
    json_t *m = index ? vx_meta_copy(vx, index) : NULL;
    if (!m) {
        lh_err_set(err, LH_E_NOT_FOUND, "no vector index named '%s'", index ? index : "");
        lh_err_hint(err, "GET /vectors/indexes lists them");
    }
    return m;
}

/* The live handle of index (caller releases); NULL with LH_E_NOT_FOUND when
 * the index has no IVF-PQ file. */
static dhandle *disk_acquire(lh_vindex *vx, const char *index, lh_err *err) {
    json_t *meta = index_meta(vx, index, err);
    if (!meta) return NULL;
    const char *created = json_string_value(json_object_get(meta, "created_at")) ?: "";
    struct vdisk *dk = disk_of(vx);
    pthread_mutex_lock(&dk->mu);
    dslot *s = slot_get(dk, index);
    if (s->cur && strcmp(json_string_value(json_object_get(s->cur->state, "index_created_at")) ?: "", created)) {
        handle_release(s->cur); /* the index was deleted and made again */
        s->cur = NULL;
        s->probed = 0;
    }
    if (!s->probed) {
        s->probed = 1;
        json_t *st = state_read(vx, index);
        if (st && !strcmp(json_string_value(json_object_get(st, "index_created_at")) ?: "", created))
            s->cur = handle_open(vx, index, st, err);
        else json_decref(st);
    }
    dhandle *h = s->cur;
    if (h) atomic_fetch_add(&h->refs, 1);
    pthread_mutex_unlock(&dk->mu);
    json_decref(meta);
    if (!h && (!err || err->code == 0 || err->code == LH_E_NOT_FOUND)) {
        lh_err_set(err, LH_E_NOT_FOUND, "index '%s' has no IVF-PQ backend yet", index);
        lh_err_hint(err, "POST /vectors/lance/migrate/%s builds it", index);
    }
    return h;
}

/* Marks the slot busy; LH_E_CONFLICT when a write runs. */
static int slot_claim(lh_vindex *vx, const char *index, lh_err *err) {
    struct vdisk *dk = disk_of(vx);
    pthread_mutex_lock(&dk->mu);
    dslot *s = slot_get(dk, index);
    int rc = 0;
    if (s->busy) rc = lh_err_set(err, LH_E_CONFLICT, "the IVF-PQ backend of '%s' is being written", index);
    else s->busy = 1;
    pthread_mutex_unlock(&dk->mu);
    return rc;
}

/* Ends a claim, publishing h (owned; NULL = keep the current one). */
static void slot_unclaim(lh_vindex *vx, const char *index, dhandle *h) {
    struct vdisk *dk = vx->disk;
    pthread_mutex_lock(&dk->mu);
    dslot *s = slot_get(dk, index);
    dhandle *old = NULL;
    if (h) {
        old = s->cur;
        s->cur = h;
        s->probed = 1;
    }
    s->busy = 0;
    pthread_mutex_unlock(&dk->mu);
    handle_release(old);
}

/* ---- writing a new file ---------------------------------------------------------- */

static json_t *params_json(lh_ivfpq_params p) {
    return json_pack("{s:i, s:i, s:i, s:I, s:b}", "nlist", p.nlist, "m", p.m, "iterations", p.iterations,
                     "seed", (json_int_t)p.seed, "vectors_stored", !p.no_vectors);
}

/* Saves ix as the next file of index, commits the state record (a copy
 * of prev's fields with overrides) and opens it. */
static dhandle *commit_file(lh_vindex *vx, const char *index, const json_t *meta, lh_ivfpq *ix,
                            const json_t *prev, json_t *fields, lh_err *err) {
    json_int_t gen = json_integer_value(json_object_get(prev, "disk_generation")) + 1;
    char *file = lh_asprintf("ivfpq-%lld.bin", (long long)gen);
    char *path = vx_write_path(vx, index, file, err);
    json_t *st = prev ? json_deep_copy(prev) : json_object();
    json_object_update(st, fields);
    json_decref(fields);
    char now[32];
    lh_time_iso(lh_now_ms(), now);
    json_object_set_new(st, "file", json_string(file));
    json_object_set_new(st, "disk_generation", json_integer(gen));
    json_object_set_new(st, "updated_at", json_string(now));
    json_object_set_new(st, "index_created_at", json_incref(json_object_get(meta, "created_at")) ?: json_null());
    json_object_set_new(st, "params", params_json(ivfpq_params(ix)));
    json_object_set_new(st, "vectors", json_integer((json_int_t)ivfpq_count(ix)));
    json_object_set_new(st, "scalar_index", json_boolean(ivfpq_has_scalar(ix)));
    dhandle *h = NULL;
    char *text = json_dumps(st, JSON_INDENT(2) | JSON_SORT_KEYS);
    char *key = vx_key(index, "ivfpq.json");
    if (!path || ivfpq_save(ix, path, err) != 0 || vx_publish(vx, index, file, path, err) != 0 ||
        storage_put(vx->cfg.storage, key, text, strlen(text), NULL, err) != 0) {
        json_decref(st);
    } else {
        h = handle_open(vx, index, st, err);
        const char *old = json_string_value(json_object_get(prev, "file"));
        if (h && old && strcmp(old, file)) { /* mappings of the old file stay valid */
            char *okey = vx_key(index, old);
            storage_delete(vx->cfg.storage, okey, NULL);
            free(okey);
        }
    }
    free(key);
    free(text);
    free(path);
    free(file);
    return h;
}

static json_t *stats_json(const char *index, const dhandle *h, const json_t *meta);

/* Builds from matrix rows and commits; the claim is ended by the caller. */
static json_t *build_commit(lh_vindex *vx, const char *index, const json_t *meta, const float *matrix,
                            size_t n, int dims, const lh_ivfpq_rows *rows, const lh_ivfpq_params *p,
                            const json_t *prev, const char *how, dhandle **out, lh_err *err) {
    double t0 = lh_mono_s();
    lh_ivfpq *ix = ivfpq_build(matrix, n, dims, rows, p, vx->cfg.threads, err);
    if (!ix) return NULL;
    if (prev && json_is_true(json_object_get(prev, "scalar_index"))) ivfpq_scalar_build(ix);
    double build_ms = (lh_mono_s() - t0) * 1000;
    lh_ivfpq_tuning tu;
    double t1 = lh_mono_s();
    ivfpq_tune(ix, matrix, n, 0.97, vx->cfg.threads, &tu); /* margin over the 0.95 promised */
    json_t *fields = json_pack("{s:f, s:s, s:I, s:{s:i, s:i, s:f, s:i, s:f}}", "build_ms", build_ms, "built_by", how,
                               "source_generation", json_integer_value(json_object_get(meta, "generation")), "tuned",
                               "nprobe", tu.nprobe, "rerank", tu.rerank, "recall_at_10", tu.recall, "queries",
                               tu.queries, "tune_ms", (lh_mono_s() - t1) * 1000);
    *out = commit_file(vx, index, meta, ix, prev, fields, err);
    ivfpq_free(ix);
    if (!*out) return NULL;
    LOG_INFO("vector index %s: IVF-PQ %s of %zu vectors in %.0f ms", index, how, n, build_ms);
    json_t *r = stats_json(index, *out, meta);
    json_object_set_new(r, "build_ms", json_real(build_ms));
    return r;
}

static json_t *migrate_claimed(lh_vindex *vx, const char *index, const json_t *meta,
                               const lh_ivfpq_params *p, const json_t *prev, dhandle **out, lh_err *err) {
    vsnap *s = vx_acquire(vx, index, err);
    if (!s) return NULL;
    json_t *r = NULL;
    if (s->n == 0) {
        lh_err_set(err, LH_E_CONFLICT, "index '%s' has no vectors to migrate", index);
    } else {
        const char **ids = lh_malloc(s->n * sizeof *ids), **texts = lh_malloc(s->n * sizeof *texts);
        for (size_t i = 0; i < s->n; i++) {
            ids[i] = s->ids + s->id_off[i];
            texts[i] = s->texts + s->text_off[i];
        }
        lh_ivfpq_rows rows = {ids, s->chunk_no, texts};
        r = build_commit(vx, index, meta, s->matrix, s->n, s->dims, &rows, p, prev, "migrate", out, err);
        free(ids);
        free(texts);
    }
    vsnap_release(s);
    return r;
}

static json_t *rebuild_claimed(lh_vindex *vx, const char *index, const json_t *meta,
                               const lh_ivfpq_params *p, dhandle *cur, dhandle **out, lh_err *err) {
    const lh_ivfpq *ix = cur->ix;
    size_t n = ivfpq_count(ix);
    if (!ivfpq_vector(ix, 0)) {
        lh_err_set(err, LH_E_CONFLICT, "the IVF-PQ file of '%s' keeps no vectors to retrain on", index);
        lh_err_hint(err, "POST /vectors/lance/migrate/%s rebuilds it from Parquet", index);
        return NULL;
    }
    const char **ids = lh_malloc(n * sizeof *ids), **texts = lh_malloc(n * sizeof *texts);
    int32_t *chunks = lh_malloc(n * sizeof *chunks);
    for (size_t i = 0; i < n; i++) {
        ids[i] = ivfpq_doc_id(ix, i);
        texts[i] = ivfpq_text(ix, i);
        chunks[i] = ivfpq_chunk_no(ix, i);
    }
    lh_ivfpq_rows rows = {ids, chunks, texts};
    /* a loaded file has no pending appends: its vectors are one block */
    json_t *r = build_commit(vx, index, meta, ivfpq_vector(ix, 0), n, ivfpq_dims(ix), &rows, p, cur->state,
                             "index", out, err);
    if (r) json_object_set(r, "source_generation", json_object_get(cur->state, "source_generation"));
    free(ids);
    free(texts);
    free(chunks);
    return r;
}

/* migrate (from_file 0) or rebuild (1) under a claim. */
static json_t *build_run(lh_vindex *vx, const char *index, const lh_ivfpq_params *p, int from_file,
                         lh_err *err) {
    json_t *meta = index_meta(vx, index, err);
    if (!meta || slot_claim(vx, index, err) != 0) {
        json_decref(meta);
        return NULL;
    }
    lh_err lerr = {0};
    dhandle *cur = disk_acquire(vx, index, &lerr), *out = NULL;
    json_t *r;
    if (cur && from_file) r = rebuild_claimed(vx, index, meta, p, cur, &out, err);
    else r = migrate_claimed(vx, index, meta, p, cur ? cur->state : NULL, &out, err);
    handle_release(cur);
    slot_unclaim(vx, index, out);
    json_decref(meta);
    return r;
}

json_t *vdisk_migrate(lh_vindex *vx, const char *index, const lh_ivfpq_params *p, lh_err *err) {
    return build_run(vx, index, p, 0, err);
}

json_t *vdisk_rebuild(lh_vindex *vx, const char *index, const lh_ivfpq_params *p, lh_err *err) {
    return build_run(vx, index, p, 1, err);
}

/* ---- embedding ------------------------------------------------------------------------ */

/* Embeds n texts with the index's model into n x dims floats (caller frees). */
static float *embed_texts(lh_vindex *vx, const json_t *meta, const char *const *texts, size_t n, int dims,
                          lh_err *err) {
    const lh_vprovider *p = &vx->cfg.provider;
    const char *model = json_string_value(json_object_get(meta, "model_name"));
    const char *arg = model && p->embed_model && strcmp(model, p->embed_model) ? model : NULL;
    float *v = NULL;
    int got = 0;
    if (p->embed(p->ctx, arg, texts, n, &v, &got, err) != 0) {
        lh_err_prefix(err, "embedding");
        return NULL;
    }
    if (!v || got != dims) {
        free(v);
        lh_err_set(err, LH_E_CONFLICT, "texts embed to %d dims but the index has %d", got, dims);
        return NULL;
    }
    return v;
}

static int vec_from_json(const json_t *arr, float *out, int dims, lh_err *err) {
    if (!json_is_array(arr) || json_array_size(arr) != (size_t)dims)
        return lh_err_set(err, LH_E_BAD_REQUEST, "'embedding' must be an array of %d numbers", dims);
    double s = 0;
    for (int j = 0; j < dims; j++) {
        json_t *x = json_array_get(arr, (size_t)j);
        if (!json_is_number(x)) return lh_err_set(err, LH_E_BAD_REQUEST, "'embedding' holds a non-number");
        out[j] = (float)json_number_value(x);
        s += (double)out[j] * out[j];
    }
    if (s <= 0) return lh_err_set(err, LH_E_BAD_REQUEST, "'embedding' is the zero vector");
    for (int j = 0; j < dims; j++) out[j] = (float)(out[j] / sqrt(s));
    return 0;
}

/* ---- append and scalar index --------------------------------------------------------- */

typedef struct {
    size_t n;
    const char **ids, **texts;
    int32_t *chunks;
    float *vec;            /* n x dims */
} new_rows;

static void new_rows_free(new_rows *r) {
    free(r->ids);
    free(r->texts);
    free(r->chunks);
    free(r->vec);
}

/* Reads rows (strings borrowed from the JSON), embedding texts that come
 * without an embedding. */
static int new_rows_parse(lh_vindex *vx, const json_t *meta, const json_t *rows, int dims, new_rows *r,
                          lh_err *err) {
    size_t n = json_array_size(rows);
    if (!json_is_array(rows) || n == 0 || n > 10000)
        return lh_err_set(err, LH_E_BAD_REQUEST, "'rows' must be an array of 1..10000 objects");
    r->n = n;
    r->ids = lh_calloc(n, sizeof *r->ids);
    r->texts = lh_calloc(n, sizeof *r->texts);
    r->chunks = lh_calloc(n, sizeof *r->chunks);
    r->vec = lh_calloc(n * (size_t)dims, sizeof *r->vec);
    const char **todo = lh_calloc(n, sizeof *todo);
    size_t *at = lh_calloc(n, sizeof *at), nt = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *o = json_array_get(rows, i), *emb = json_object_get(o, "embedding");
        r->ids[i] = json_string_value(json_object_get(o, "doc_id"));
        r->texts[i] = json_string_value(json_object_get(o, "text")) ?: "";
        r->chunks[i] = (int32_t)json_integer_value(json_object_get(o, "chunk_no"));
        if (!r->ids[i] || !*r->ids[i]) rc = lh_err_set(err, LH_E_BAD_REQUEST, "rows[%zu]: 'doc_id' must be a non-empty string", i);
        else if (emb) rc = vec_from_json(emb, r->vec + i * dims, dims, err);
        else if (!*r->texts[i]) rc = lh_err_set(err, LH_E_BAD_REQUEST, "rows[%zu]: give 'text' or 'embedding'", i);
        else {
            todo[nt] = r->texts[i];
            at[nt++] = i;
        }
    }
    float *v = rc == 0 && nt ? embed_texts(vx, meta, todo, nt, dims, err) : NULL;
    if (rc == 0 && nt && !v) rc = -1;
    for (size_t j = 0; v && j < nt; j++) memcpy(r->vec + at[j] * dims, v + j * dims, (size_t)dims * sizeof *v);
    free(v);
    free(todo);
    free(at);
    return rc;
}

/* Runs edit on a private copy of the live file's index, then commits it. */
typedef int (*edit_fn)(lh_vindex *vx, const json_t *meta, lh_ivfpq *ix, void *arg, json_t *fields, lh_err *err);

static json_t *edit_run(lh_vindex *vx, const char *index, edit_fn edit, void *arg, lh_err *err) {
    json_t *meta = index_meta(vx, index, err);
    if (!meta || slot_claim(vx, index, err) != 0) {
        json_decref(meta);
        return NULL;
    }
    double t0 = lh_mono_s();
    dhandle *cur = disk_acquire(vx, index, err), *out = NULL;
    char *path = cur ? vx_path(vx, index, json_string_value(json_object_get(cur->state, "file"))) : NULL;
    lh_ivfpq *ix = path ? ivfpq_load(path, err) : NULL;
    json_t *fields = json_object(), *r = NULL;
    if (ix && edit(vx, meta, ix, arg, fields, err) == 0) {
        out = commit_file(vx, index, meta, ix, cur->state, json_incref(fields), err);
        if (out) {
            r = stats_json(index, out, meta);
            json_object_update(r, fields);
            json_object_set_new(r, "elapsed_ms", json_real((lh_mono_s() - t0) * 1000));
        }
    }
    json_decref(fields);
    ivfpq_free(ix);
    free(path);
    handle_release(cur);
    slot_unclaim(vx, index, out);
    json_decref(meta);
    return r;
}

static int append_edit(lh_vindex *vx, const json_t *meta, lh_ivfpq *ix, void *arg, json_t *fields, lh_err *err) {
    new_rows r = {0};
    int rc = new_rows_parse(vx, meta, arg, ivfpq_dims(ix), &r, err);
    lh_ivfpq_rows rows = {r.ids, r.chunks, r.texts};
    if (rc == 0) rc = ivfpq_append(ix, r.vec, r.n, &rows, err);
    if (rc == 0) json_object_set_new(fields, "appended", json_integer((json_int_t)r.n));
    new_rows_free(&r);
    return rc;
}

static int scalar_edit(lh_vindex *vx, const json_t *meta, lh_ivfpq *ix, void *arg, json_t *fields, lh_err *err) {
    double t0 = lh_mono_s();
    ivfpq_scalar_build(ix);
    json_object_set_new(fields, "scalar_build_ms", json_real((lh_mono_s() - t0) * 1000));
    return 0;
}

json_t *vdisk_append(lh_vindex *vx, const char *index, const json_t *rows, lh_err *err) {
    json_t *r = edit_run(vx, index, append_edit, (void *)rows, err);
    if (r) json_object_del(r, "scalar_build_ms");
    return r;
}

json_t *vdisk_scalar_index(lh_vindex *vx, const char *index, lh_err *err) {
    return edit_run(vx, index, scalar_edit, NULL, err);
}

/* ---- read side ----------------------------------------------------------------------- */

static json_t *stats_json(const char *index, const dhandle *h, const json_t *meta) {
    lh_ivfpq_stats s = ivfpq_stats(h->ix);
    json_t *st = h->state;
    json_int_t src = json_integer_value(json_object_get(st, "source_generation"));
    json_int_t gen = json_integer_value(json_object_get(meta, "generation"));
    return json_pack("{s:s, s:s, s:s, s:O?, s:I, s:I, s:i, s:i, s:i, s:I, s:I, s:b, s:b, s:I, s:I, s:I, s:b, s:O?, s:O?}",
                     "index", index, "backend", VDISK_BACKEND_NAME, "format", "ivf_pq", "file", json_object_get(st, "file"),
                     "file_bytes", (json_int_t)s.file_bytes, "vectors", (json_int_t)s.vectors, "dims", s.dims,
                     "nlist", s.nlist, "m", s.m, "min_list", (json_int_t)s.min_list, "max_list",
                     (json_int_t)s.max_list, "vectors_stored", s.has_vectors, "scalar_index", s.has_scalar,
                     "disk_generation", json_integer_value(json_object_get(st, "disk_generation")),
                     "source_generation", src, "index_generation", gen, "stale", src != gen, "params",
                     json_object_get(st, "params"), "updated_at", json_object_get(st, "updated_at"));
}

json_t *vdisk_stats(lh_vindex *vx, const char *index, lh_err *err) {
    json_t *meta = index_meta(vx, index, err);
    dhandle *h = meta ? disk_acquire(vx, index, err) : NULL;
    json_t *r = h ? stats_json(index, h, meta) : NULL;
    if (r) json_object_set(r, "build_ms", json_object_get(h->state, "build_ms") ?: json_null());
    handle_release(h);
    json_decref(meta);
    return r;
}

/* The request's settings over the defaults the build chose. */
static lh_ivfpq_query query_of(const lh_ivfpq *ix, const lh_vdisk_query *q, int *k) {
    *k = q && q->k > 0 ? (q->k > 1000 ? 1000 : q->k) : 10;
    lh_ivfpq_query d = ivfpq_default_query(ix, *k);
    return (lh_ivfpq_query){q && q->nprobe > 0 ? q->nprobe : d.nprobe, q && q->rerank >= 0 ? q->rerank : d.rerank};
}

json_t *vdisk_search(lh_vindex *vx, const char *index, const char *query, const float *vec, int dims,
                     const lh_vdisk_query *q, lh_err *err) {
    json_t *meta = index_meta(vx, index, err);
    dhandle *h = meta ? disk_acquire(vx, index, err) : NULL;
    if (!h) {
        json_decref(meta);
        return NULL;
    }
    double t0 = lh_mono_s();
    int d = ivfpq_dims(h->ix), k;
    float *qv = NULL;
    if (vec && dims != d) lh_err_set(err, LH_E_BAD_REQUEST, "the query vector has %d dims, the index %d", dims, d);
    else if (vec) {
        qv = lh_malloc((size_t)d * sizeof *qv);
        memcpy(qv, vec, (size_t)d * sizeof *qv);
    }
    else qv = embed_texts(vx, meta, &query, 1, d, err);
    json_t *r = NULL;
    if (qv) {
        lh_ivfpq_query qp = query_of(h->ix, q, &k);
        lh_hit *hits = lh_malloc((size_t)k * sizeof *hits);
        int n = ivfpq_search(h->ix, qv, k, &qp, hits);
        json_t *arr = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:i, s:f, s:s}", "doc_id", ivfpq_doc_id(h->ix, hits[i].id),
                                                 "chunk", ivfpq_chunk_no(h->ix, hits[i].id), "score",
                                                 (double)hits[i].score, "text", ivfpq_text(h->ix, hits[i].id)));
        r = json_pack("{s:o, s:s, s:s, s:i, s:i, s:I}", "results", arr, "backend", VDISK_BACKEND_NAME, "mode", "ivf_pq",
                      "nprobe", qp.nprobe ? qp.nprobe : ivfpq_default_nprobe(h->ix), "rerank", qp.rerank,
                      "elapsed_us", (json_int_t)((lh_mono_s() - t0) * 1e6));
        free(hits);
    }
    free(qv);
    handle_release(h);
    json_decref(meta);
    return r;
}

json_t *vdisk_doc(lh_vindex *vx, const char *index, const char *doc_id, lh_err *err) {
    dhandle *h = disk_acquire(vx, index, err);
    if (!h) return NULL;
    double t0 = lh_mono_s();
    uint32_t pos[256];
    size_t n = ivfpq_find_doc(h->ix, doc_id, pos, 256);
    json_t *r = NULL;
    if (n == 0) {
        lh_err_set(err, LH_E_NOT_FOUND, "doc_id '%s' is not in the IVF-PQ backend of '%s'", doc_id, index);
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; i < n && i < 256; i++)
            json_array_append_new(arr, json_pack("{s:i, s:s, s:I}", "chunk", ivfpq_chunk_no(h->ix, pos[i]), "text",
                                                 ivfpq_text(h->ix, pos[i]), "position", (json_int_t)pos[i]));
        r = json_pack("{s:s, s:s, s:o, s:I, s:b, s:I}", "index", index, "doc_id", doc_id, "chunks", arr, "count",
                      (json_int_t)n, "scalar_index", ivfpq_has_scalar(h->ix), "elapsed_us",
                      (json_int_t)((lh_mono_s() - t0) * 1e6));
    }
    handle_release(h);
    return r;
}

static int hit_overlap(const lh_hit *a, int na, const lh_hit *b, int nb) {
    int c = 0;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) c += a[i].id == b[j].id;
    return c;
}

static int dbl_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

json_t *vdisk_recall(lh_vindex *vx, const char *index, int queries, const lh_vdisk_query *q, lh_err *err) {
    dhandle *h = disk_acquire(vx, index, err);
    if (!h) return NULL;
    const lh_ivfpq *ix = h->ix;
    size_t n = ivfpq_count(ix);
    if (!ivfpq_vector(ix, 0)) {
        handle_release(h);
        lh_err_set(err, LH_E_CONFLICT, "the IVF-PQ file of '%s' keeps no vectors to measure against", index);
        return NULL;
    }
    if (queries < 1) queries = 50;
    if (queries > 1000) queries = 1000;
    int k;
    lh_vdisk_query q10 = q ? *q : (lh_vdisk_query){0, 0, -1};
    q10.k = 10;
    lh_ivfpq_query qp = query_of(ix, &q10, &k), off = {qp.nprobe, 0};
    lh_hit want[10], got[10];
    long hit = 0, hit_off = 0, total = 0;
    double *lat = lh_malloc((size_t)queries * sizeof *lat);
    for (int i = 0; i < queries; i++) {
        const float *qv = ivfpq_vector(ix, (size_t)((uint64_t)i * 2654435761u % n));
        int nw = brute_topk(ivfpq_vector(ix, 0), n, ivfpq_dims(ix), qv, 10, vx->cfg.threads, want);
        double t0 = lh_mono_s();
        int ng = ivfpq_search(ix, qv, 10, &qp, got);
        lat[i] = (lh_mono_s() - t0) * 1e6;
        hit += hit_overlap(want, nw, got, ng);
        ng = ivfpq_search(ix, qv, 10, &off, got);
        hit_off += hit_overlap(want, nw, got, ng);
        total += nw;
    }
    qsort(lat, (size_t)queries, sizeof *lat, dbl_cmp);
    json_t *r = json_pack("{s:s, s:i, s:i, s:f, s:f, s:i, s:i, s:f, s:I}", "index", index, "queries", queries, "k", 10,
                          "recall_at_10", total ? (double)hit / total : 0.0, "recall_at_10_no_rerank",
                          total ? (double)hit_off / total : 0.0, "nprobe",
                          qp.nprobe ? qp.nprobe : ivfpq_default_nprobe(ix), "rerank", qp.rerank,
                          "p50_us", lat[queries / 2], "vectors", (json_int_t)n);
    free(lat);
    handle_release(h);
    return r;
}

/* ---- registry hook --------------------------------------------------------------------- */

void vdisk_annotate(lh_vindex *vx, json_t *meta) {
    const char *name = json_string_value(json_object_get(meta, "name"));
    if (!name) return;
    json_t *st = state_read(vx, name);
    const char *created = json_string_value(json_object_get(meta, "created_at")) ?: "";
    if (st && !strcmp(json_string_value(json_object_get(st, "index_created_at")) ?: "", created)) {
        json_int_t src = json_integer_value(json_object_get(st, "source_generation"));
        json_object_set_new(meta, "backend", json_string(VDISK_BACKEND_NAME));
        json_object_set_new(meta, "backends", json_pack("[s, s]", "parquet", VDISK_BACKEND_NAME));
        json_object_set_new(meta, "ivfpq", json_pack("{s:O?, s:O?, s:O?, s:O?, s:b}", "file", json_object_get(st, "file"),
                                                      "vectors", json_object_get(st, "vectors"), "params",
                                                      json_object_get(st, "params"), "scalar_index",
                                                      json_object_get(st, "scalar_index"), "stale",
                                                      src != json_integer_value(json_object_get(meta, "generation"))));
    }
    json_decref(st);
}
