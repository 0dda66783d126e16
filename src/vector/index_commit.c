/*
 * index_commit.c — the second half of a build or refresh: turn the staged
 * parts (plus, for a refresh, the rows of the old generation that are
 * still current) into generation g+1 — vectors-<g>.parquet, the HNSW
 * graph hnsw-<g>.bin, then meta.json (the commit point) — swap the new
 * snapshot in, remove the old generation, and mark the dataset's
 * embedding fresh. Also: snapshot loading (HNSW loaded from its file when
 * it matches the rows, else built and saved), the jobs glue, and resuming
 * interrupted builds on start.
 *
 * A crash before meta.json leaves the old generation in force and the
 * staging in place (the build resumes); after it, open() removes what the
 * old generation left behind.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "vector/index_internal.h"

/* ---- snapshots ------------------------------------------------------------------------ */

/* Loads the graph named in meta when it fits the rows; else builds and saves it. */
static int snap_graph(lh_vindex *vx, json_t *meta, vsnap *s, lh_err *err) {
    const char *name = json_string_value(json_object_get(meta, "name"));
    json_t *hj = json_object_get(meta, "hnsw");
    char fp[65];
    vsnap_fingerprint(s, fp);
    const char *want = json_string_value(json_object_get(hj, "rows_sha256"));
    const char *file = json_string_value(json_object_get(hj, "file"));
    char *path = file ? vx_path(vx, name, file) : NULL;
    double t0 = lh_mono_s();
    if (path && want && !strcmp(want, fp)) {
        lh_err lerr = {0};
        s->hnsw = hnsw_load(path, s->matrix, s->n, s->dims, &lerr);
        if (s->hnsw) {
            s->hnsw_state = "loaded";
            LOG_INFO("vector index %s: HNSW graph loaded from %s (%zu vectors) in %.0f ms", name, file,
                     s->n, (lh_mono_s() - t0) * 1000);
            free(path);
            return 0;
        }
        LOG_WARN("vector index %s: HNSW file unusable (%s), rebuilding", name, lerr.msg);
    } else if (want) {
        LOG_WARN("vector index %s: HNSW file does not match the vectors, rebuilding", name);
    }
    lh_hnsw_params hp = vx->cfg.hnsw;
    json_t *v;
    if ((v = json_object_get(hj, "M"))) hp.M = (int)json_integer_value(v);
    if ((v = json_object_get(hj, "ef_construction"))) hp.ef_construction = (int)json_integer_value(v);
    if ((v = json_object_get(hj, "ef_search"))) hp.ef_search = (int)json_integer_value(v);
    if ((v = json_object_get(hj, "seed"))) hp.seed = (uint64_t)json_integer_value(v);
    s->hnsw = hnsw_build(s->matrix, s->n, s->dims, &hp, vx->cfg.threads, err);
    if (!s->hnsw) {
        free(path);
        return -1;
    }
    s->hnsw_state = "built";
    LOG_INFO("vector index %s: HNSW graph built (%zu vectors) in %.0f ms", name, s->n,
             (lh_mono_s() - t0) * 1000);
    int64_t gen = json_integer_value(json_object_get(meta, "generation"));
    char *gfile = lh_asprintf("hnsw-%lld.bin", (long long)gen);
    free(path);
    lh_err serr = {0};
    path = vx_write_path(vx, name, gfile, &serr);
    if (!path || hnsw_save(s->hnsw, path, &serr) != 0 || vx_publish(vx, name, gfile, path, &serr) != 0) {
        LOG_WARN("vector index %s: saving the HNSW graph failed: %s", name, serr.msg);
    } else {
        lh_hnsw_params p = hnsw_params(s->hnsw);
        json_object_set_new(meta, "hnsw", json_pack("{s:s, s:i, s:i, s:i, s:I, s:s}", "file", gfile,
                                                    "M", p.M, "ef_construction", p.ef_construction,
                                                    "ef_search", p.ef_search, "seed", (json_int_t)p.seed,
                                                    "rows_sha256", fp));
    }
    free(gfile);
    free(path);
    return 0;
}

vsnap *vsnap_load(lh_vindex *vx, const json_t *meta_in, lh_err *err) { return vsnap_load_after(vx, meta_in, NULL, err); }

vsnap *vsnap_load_after(lh_vindex *vx, const json_t *meta_in, const vsnap *base, lh_err *err) {
    json_t *meta = json_deep_copy(meta_in);
    const char *name = json_string_value(json_object_get(meta, "name"));
    vsnap *s = lh_calloc(1, sizeof *s);
    atomic_init(&s->refs, 1);
    s->dims = (int)json_integer_value(json_object_get(meta, "dims"));
    s->hnsw_state = "none";
    int64_t want = json_integer_value(json_object_get(meta, "vectors"));
    json_t *files = json_object_get(meta, "files");
    if (want > 0) {
        duckdb_connection conn;
        const char *file = json_string_value(json_array_get(files, 0));
        if (!file || s->dims <= 0) {
            lh_err_set(err, LH_E_UNPROCESSABLE, "index '%s': meta.json names no vector file", name);
            goto fail;
        }
        if (vstore_connect(vx, &conn, err) != 0) goto fail;
        char *path = vx_path(vx, name, file);
        double t0 = lh_mono_s();
        int rc = vstore_load(conn, path, s->dims, s, err);
        duckdb_disconnect(&conn);
        free(path);
        if (rc != 0) goto fail;
        if ((int64_t)s->n != want) {
            lh_err_set(err, LH_E_UNPROCESSABLE, "index '%s': %s holds %zu vectors, meta.json says %lld",
                       name, file, s->n, (long long)want);
            goto fail;
        }
        LOG_INFO("vector index %s: %zu vectors x %d dims loaded in %.0f ms", name, s->n, s->dims,
                 (lh_mono_s() - t0) * 1000);
        if (snap_graph(vx, meta, s, err) != 0 || vsnap_keyword(vx, meta, s, base ? vsnap_rows(base) : NULL, err) != 0) goto fail;
    }
    s->meta = meta;
    return s;
fail:
    json_decref(meta);
    s->meta = NULL;
    vsnap_free(s);
    return NULL;
}

/* ---- commit ------------------------------------------------------------------------------ */

/* Rows of the base generation whose (doc_id, hash) the dataset still has. */
static char *keep_sql_for(vbuild *b) {
    char *old = vstore_file_list(b->vx, b->index, json_object_get(b->base_meta, "files"));
    char *src = vstore_source_sql(b->select_sql, b->id_column, b->text_column, NULL);
    char *sql = lh_asprintf("SELECT o.doc_id, o.chunk_no, o.text, o.embedding, o.content_hash, "
                            "o.filename AS _fn, o.file_row_number AS _r FROM read_parquet(%s, "
                            "filename = true, file_row_number = true) o WHERE EXISTS (SELECT 1 FROM (%s) s "
                            "WHERE s.doc_id = o.doc_id AND s.h = o.content_hash)", old, src);
    free(old);
    free(src);
    return sql;
}

static int64_t count_of(duckdb_connection conn, const char *sql) {
    int64_t n = 0;
    return vstore_scalar(conn, sql, &n, NULL) == 0 ? n : -1;
}

/* The new meta record (without hnsw, filled by snap_graph). */
static json_t *meta_new(vbuild *b, const char *file, int64_t vectors, int64_t docs) {
    const lh_vprovider *p = &b->vx->cfg.provider;
    char now[32];
    lh_time_iso(lh_now_ms(), now);
    json_t *old = b->base_meta ? json_incref(b->base_meta) : vx_meta_copy(b->vx, b->index);
    const char *created = json_string_value(json_object_get(old, "created_at"));
    const char *version = p->embed_model && !strcmp(p->embed_model, b->model) ? p->model_version : NULL;
    json_t *idc = NULL;
    json_t *m = json_pack("{s:s, s:s, s:s, s:s?, s:i, s:I, s:I, s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:[s]}",
                          "name", b->index, "source", b->dataset, "model_name", b->model,
                          "model_version", version, "dims", b->dims, "vectors", (json_int_t)vectors,
                          "docs", (json_int_t)docs, "backend", "parquet", "generation", (json_int_t)b->target_gen,
                          "id_column", b->id_column, "text_column", b->text_column,
                          "chunk_size", (json_int_t)b->chunk_size, "overlap", (json_int_t)b->overlap,
                          "source_version", (json_int_t)b->source_version,
                          "created_at", created ? created : now, "updated_at", now,
                          "bucket", storage_name(b->vx->cfg.storage), "files", file);
    json_t *man = catalog_get(b->vx->cfg.catalog, b->dataset, NULL);
    size_t i;
    json_array_foreach(json_object_get(man, "columns"), i, idc)
        if (!strcmp(json_string_value(json_object_get(idc, "name")) ?: "", b->id_column)) {
            const char *t = json_string_value(json_object_get(idc, "type")) ?: "";
            json_object_set_new(m, "id_type", json_string(!strcmp(t, "INTEGER") ? "int32" : !strcmp(t, "BIGINT") ? "int64" : "text"));
        }
    json_decref(man);
    json_t *oh = json_object_get(old, "hnsw"), *hn = json_object(); /* a promoted graph config */
    static const char *const keep[] = {"M", "ef_construction", "ef_search", "seed"}; /* outlives its generation */
    for (size_t k = 0; json_is_object(oh) && k < 4; k++)
        if (json_is_integer(json_object_get(oh, keep[k]))) json_object_set(hn, keep[k], json_object_get(oh, keep[k]));
    if (json_object_size(hn) > 0) json_object_set(m, "hnsw", hn);
    json_decref(hn);
    /* the keyword index's language and stop words outlive their generation too */
    json_t *ok = json_object_get(old, "keyword");
    const char *lang = b->language ? b->language : json_string_value(json_object_get(ok, "language"));
    json_t *kw = json_pack("{s:s}", "language", lang ? lang : "en");
    json_t *stop = b->stopwords ? b->stopwords : b->language ? NULL : json_object_get(ok, "stopwords");
    if (json_is_array(stop)) json_object_set(kw, "stopwords", stop);
    json_object_set_new(m, "keyword", kw);
    json_decref(old);
    return m;
}

/* The claimed entry's loaded snapshot when it is the refresh's base
 * generation (held; caller releases), else NULL: its keyword index is
 * patched rather than the new one built from scratch. */
static vsnap *base_snap_hold(vbuild *b) {
    if (!b->refresh || !b->base_meta || !b->entry) return NULL;
    int64_t gen = json_integer_value(json_object_get(b->base_meta, "generation"));
    pthread_mutex_lock(&b->vx->mu);
    vsnap *s = b->entry->snap;
    if (s && json_integer_value(json_object_get(s->meta, "generation")) == gen) atomic_fetch_add(&s->refs, 1);
    else s = NULL;
    pthread_mutex_unlock(&b->vx->mu);
    return s;
}

/* Merges, builds the snapshot, writes meta.json and swaps. */
static json_t *commit_generation(vbuild *b, double t0, lh_err *err) {
    duckdb_connection conn;
    if (vstore_connect(b->vx, &conn, err) != 0) return NULL;
    char *file = lh_asprintf("vectors-%lld.parquet", (long long)b->target_gen);
    char *path = vx_write_path(b->vx, b->index, file, err);
    if (!path) {
        duckdb_disconnect(&conn);
        free(file);
        return NULL;
    }
    char **parts = lh_calloc(b->nparts + 1, sizeof *parts);
    for (size_t i = 0; i < b->nparts; i++) parts[i] = vx_path(b->vx, b->index, b->parts[i]);
    char *keep = b->refresh ? keep_sql_for(b) : NULL;
    int64_t vectors = 0, kept_docs = 0, docs = 0;
    json_t *out = NULL, *meta = NULL;
    vsnap *s = NULL;
    int rc = vstore_merge(conn, keep, parts, b->nparts, path, &vectors, err);
    if (rc == 0) {
        lh_strbuf q = LH_STRBUF_INIT;
        sb_puts(&q, "SELECT count(DISTINCT doc_id) FROM read_parquet(");
        sb_sql_str(&q, path);
        sb_putc(&q, ')');
        docs = count_of(conn, q.buf);
        sb_free(&q);
        if (keep) {
            char *kq = lh_asprintf("SELECT count(DISTINCT doc_id) FROM (%s)", keep);
            kept_docs = count_of(conn, kq);
            free(kq);
        }
    }
    duckdb_disconnect(&conn);
    if (rc == 0) rc = vx_publish(b->vx, b->index, file, path, err); /* before meta.json names it */
    if (rc != 0) goto done;
    meta = meta_new(b, file, vectors, docs);
    vsnap *base = base_snap_hold(b);
    s = vsnap_load_after(b->vx, meta, base, err);
    vsnap_release(base);
    if (!s) goto done;
    json_decref(meta);
    meta = json_deep_copy(s->meta); /* with the hnsw record */
    if (vx_meta_write(b->vx, meta, err) != 0) goto done;
    out = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:s, s:I}", "index", b->index,
                    "mode", b->refresh ? "refresh" : "build", "embedded_docs", (json_int_t)(b->docs_total),
                    "embedded_chunks", (json_int_t)b->chunks_done, "kept_docs", (json_int_t)kept_docs,
                    "dropped_docs",
                    (json_int_t)(b->refresh ? json_integer_value(json_object_get(b->base_meta, "docs")) - kept_docs : 0),
                    "vectors", (json_int_t)vectors, "docs", (json_int_t)docs, "resumed", b->resumed,
                    "resumed_from_docs", (json_int_t)b->resumed_docs, "hnsw_state", s->hnsw_state,
                    "generation", (json_int_t)b->target_gen);
    json_t *kw = json_object_get(meta, "keyword");
    json_object_set_new(out, "keyword", json_pack("{s:O?, s:O?}", "made", json_object_get(kw, "made"),
                                                  "tokenized_chunks", json_object_get(kw, "tokenized_chunks")));
    json_object_set_new(out, "elapsed_ms", json_integer((json_int_t)((lh_mono_s() - t0) * 1000)));
    vx_unclaim(b->vx, b->entry, meta, s); /* the swap: searches see the new generation from here */
    b->entry = NULL;
    meta = NULL;
    s = NULL;
    vx_gc(b->vx, b->index, b->target_gen, 1);
done:
    vsnap_release(s);
    json_decref(meta);
    lh_strv_free(parts, b->nparts);
    free(keep);
    free(path);
    free(file);
    return out;
}

json_t *vbuild_run(vbuild *b, lh_err *err) {
    double t0 = lh_mono_s();
    LOG_INFO("vector index %s: %s of %s.%s started (model %s, chunk %zu/%zu)", b->index,
             b->refresh ? "refresh" : "build", b->dataset, b->text_column, b->model, b->chunk_size, b->overlap);
    json_t *out = NULL;
    if (vbuild_embed(b, err) == 0) out = commit_generation(b, t0, err);
    if (out) {
        /* fresh only if nobody wrote to the dataset meanwhile */
        int64_t now_ver = -1;
        free(catalog_select_sql(b->vx->cfg.catalog, b->dataset, &now_ver, NULL));
        if (now_ver == b->source_version) catalog_set_embedding(b->vx->cfg.catalog, b->dataset, "fresh", NULL);
        LOG_INFO("vector index %s: generation %lld ready: %lld vectors, %lld docs embedded in %.1f s",
                 b->index, (long long)b->target_gen, (long long)json_integer_value(json_object_get(out, "vectors")),
                 (long long)b->docs_total, lh_mono_s() - t0);
    } else {
        LOG_WARN("vector index %s: %s failed: %s", b->index, b->refresh ? "refresh" : "build",
                 err ? err->msg : "?");
    }
    if (b->entry) vx_unclaim(b->vx, b->entry, NULL, NULL);
    b->entry = NULL;
    return out;
}

/* ---- jobs ------------------------------------------------------------------------------------ */

static int job_fn(lh_job *job, void *ctx, lh_err *err) {
    vbuild *b = ctx;
    b->job = job;
    b->ran = 1;
    vx_set_job(b->vx, b->entry, jobs_id(job));
    if (__atomic_load_n(&b->vx->stopping, __ATOMIC_RELAXED)) {
        vx_unclaim(b->vx, b->entry, NULL, NULL);
        b->entry = NULL;
        return lh_err_set(err, LH_E_UNAVAILABLE, "interrupted by shutdown; resumes at the next start");
    }
    return jobs_finish(job, vbuild_run(b, err));
}

static void job_free_ctx(void *ctx) {
    vbuild *b = ctx;
    lh_vindex *vx = b->vx;
    if (b->entry) vx_unclaim(vx, b->entry, NULL, NULL); /* never ran */
    vbuild_clear(b);
    free(b);
    vx_job_done(vx);
}

char *vbuild_submit(vbuild *b, const char *kind, lh_err *err) {
    lh_vindex *vx = b->vx;
    if (!vx->cfg.jobs) {
        lh_err_set(err, LH_E_UNAVAILABLE, "background jobs are not available");
        if (b->entry) vx_unclaim(vx, b->entry, NULL, NULL);
        vbuild_clear(b);
        free(b);
        return NULL;
    }
    vx_job_start(vx);
    /* b belongs to the job from here (job_free_ctx frees it, even on failure) */
    return jobs_submit(vx->cfg.jobs, kind, job_fn, b, job_free_ctx, err);
}

/* ---- the build API --------------------------------------------------------------------------- */

static int size_field(const json_t *body, const char *k, size_t *out, lh_err *err) {
    json_t *v = json_object_get(body, k);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" must be a non-negative integer", k);
    *out = (size_t)json_integer_value(v);
    return 0;
}

static int str_field(const json_t *body, const char *k, const char **out, lh_err *err) {
    json_t *v = json_object_get(body, k);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" must be a string", k);
    *out = json_string_value(v);
    return 0;
}

int vindex_build_req_parse(const json_t *body, lh_vbuild_req *req, lh_err *err) {
    memset(req, 0, sizeof *req);
    if (!json_is_object(body)) return lh_err_set(err, LH_E_BAD_REQUEST, "the body must be a JSON object");
    if (str_field(body, "dataset", &req->dataset, err) || str_field(body, "id_column", &req->id_column, err) ||
        str_field(body, "text_column", &req->text_column, err) ||
        str_field(body, "index_name", &req->index_name, err) || str_field(body, "model", &req->model, err) ||
        size_field(body, "chunk_size", &req->chunk_size, err) || size_field(body, "overlap", &req->overlap, err) ||
        str_field(body, "language", &req->language, err))
        return -1;
    req->stopwords = json_object_get(body, "stopwords");
    if (vkeyword_check_config(req->language, req->stopwords, err) != 0) return -1;
    json_t *cs = json_object_get(body, "chunk_size");
    if (cs && json_is_integer(cs) && json_integer_value(cs) == 0)
        return lh_err_set(err, LH_E_BAD_REQUEST, "chunk_size must be positive");
    return 0;
}

/* A claimed, validated build (owned by the caller). */
static vbuild *build_prepare(lh_vindex *vx, const lh_vbuild_req *req, lh_err *err) {
    vbuild *b = lh_calloc(1, sizeof *b);
    if (vbuild_init(vx, req, b, err) != 0) {
        free(b);
        return NULL;
    }
    b->entry = vx_claim(vx, b->index, err);
    if (!b->entry) {
        vbuild_clear(b);
        free(b);
        return NULL;
    }
    return b;
}

char *vindex_build_submit(lh_vindex *vx, const lh_vbuild_req *req, char **index_out, lh_err *err) {
    vbuild *b = build_prepare(vx, req, err);
    if (!b) return NULL;
    char *name = lh_strdup(b->index);
    char *id = vbuild_submit(b, "vector_index", err);
    if (id && index_out) *index_out = name;
    else free(name);
    return id;
}

json_t *vindex_build_sync(lh_vindex *vx, const lh_vbuild_req *req, lh_err *err) {
    vbuild *b = build_prepare(vx, req, err);
    if (!b) return NULL;
    json_t *res = vbuild_run(b, err);
    json_t *meta = res ? vindex_get(vx, b->index, err) : NULL;
    if (meta) json_object_set_new(meta, "build", res);
    else json_decref(res);
    vbuild_clear(b);
    free(b);
    return meta;
}

/* ---- resume on start ----------------------------------------------------------------------------- */

static void resume_one(lh_vindex *vx, const char *index, json_t *ck) {
    lh_vbuild_req req = {
        .dataset = json_string_value(json_object_get(ck, "dataset")),
        .id_column = json_string_value(json_object_get(ck, "id_column")),
        .text_column = json_string_value(json_object_get(ck, "text_column")),
        .index_name = index,
        .model = json_string_value(json_object_get(ck, "model")),
        .chunk_size = (size_t)json_integer_value(json_object_get(ck, "chunk_size")),
        .overlap = (size_t)json_integer_value(json_object_get(ck, "overlap")),
    };
    vbuild *b = lh_calloc(1, sizeof *b);
    lh_err err = {0};
    if (vbuild_init(vx, &req, b, &err) != 0) {
        LOG_WARN("vector index %s: interrupted build cannot resume: %s", index, err.msg);
        free(b);
        return;
    }
    b->refresh = !strcmp(json_string_value(json_object_get(ck, "mode")) ?: "", "refresh");
    b->entry = vx_claim(vx, index, &err);
    if (!b->entry) {
        vbuild_clear(b);
        free(b);
        return;
    }
    char *id = vbuild_submit(b, b->refresh ? "vector_refresh" : "vector_index", &err);
    if (id) LOG_INFO("vector index %s: interrupted %s resumes as job %s", index,
                     b->refresh ? "refresh" : "build", id);
    else LOG_WARN("vector index %s: cannot resume: %s", index, err.msg);
    free(id);
}

void vbuild_resume_all(lh_vindex *vx) {
    if (!vx->cfg.jobs) return;
    lh_object_info *objs = NULL;
    size_t n = 0;
    if (storage_list(vx->cfg.storage, "_vectors/", &objs, &n, NULL) != 0) return;
    for (size_t i = 0; i < n; i++) {
        const char *k = objs[i].key + 9;
        const char *slash = strchr(k, '/');
        if (!slash || strcmp(slash, "/_build/checkpoint.json")) continue;
        char *index = lh_strndup(k, (size_t)(slash - k));
        json_t *ck = vx_name_valid(index) ? vbuild_checkpoint_read(vx, index) : NULL;
        if (ck && !strcmp(json_string_value(json_object_get(ck, "state")) ?: "", "running"))
            resume_one(vx, index, ck);
        json_decref(ck);
        free(index);
    }
    storage_list_free(objs, n);
}
