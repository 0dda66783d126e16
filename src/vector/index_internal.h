/*
 * index_internal.h — what the index_*.c files share: the registry (entries
 * and refcounted snapshots), the DuckDB store helpers, rows staged for a
 * Parquet file, and the build core. Not a public API.
 *
 *   index_registry.c  open/free, entries, meta.json, list/get/delete, loading
 *   index_store.c     DuckDB: source rows, part files, merge, snapshot load
 *   index_build.c     chunk → embed (one or two pipelines, retry) → checkpoint
 *   index_commit.c    new generation: merge, HNSW, meta.json, swap; jobs glue
 *   index_search.c    query embedding, brute / HNSW / keyword / hybrid top-k, results
 *   index_keyword.c   the BM25 index of a generation, doc id → rows
 *   index_filter.c    a search's SQL filter → allowed-row bitmap
 *   hybrid.c          reciprocal rank fusion of keyword and vector hits
 *   index_refresh.c   incremental refresh and the stale list
 *   index_ai.c        the lh_ai adapter (lh_vprovider)
 *
 * Locking: vx->mu guards the entry array and every entry field; snapshots
 * are immutable once published and freed by their last reference.
 */
#ifndef LH_VECTOR_INDEX_INTERNAL_H
#define LH_VECTOR_INDEX_INTERNAL_H

#include <duckdb.h>
#include <pthread.h>
#include <stdatomic.h>

#include "vector/bm25.h"
#include "vector/index.h"

/* ---- snapshots and entries ------------------------------------------------ */

typedef struct vsnap {
    atomic_int refs;
    json_t *meta;          /* owned, never changed after publication */
    size_t n;              /* vectors (chunks) */
    int dims;
    float *matrix;         /* n x dims, row-major */
    char *ids;             /* NUL-terminated doc ids, back to back */
    uint64_t *id_off;      /* n offsets into ids */
    int32_t *chunk_no;     /* n */
    char *texts;           /* NUL-terminated chunk texts, back to back */
    uint64_t *text_off;    /* n offsets into texts */
    lh_hnsw *hnsw;         /* NULL when n == 0 */
    lh_bm25 *bm25;         /* the keyword index over texts; NULL when n == 0 */
    uint32_t *by_id;       /* n row numbers sorted by doc id (filtered search) */
    lh_vhalf *_Atomic half; /* the matrix in fp16 for exact filtered scans, made on first
                            * use (vsnap_half), owned; NULL until then or without F16C */
    const char *hnsw_state; /* "loaded" | "built" | "none" (static) */
    struct vsnap *base;    /* set: the rows above are base's (held, released on free);
                            * only the graph and meta are this snapshot's (index_lab.c) */
} vsnap;

typedef struct ventry {
    char *name;
    json_t *meta;          /* persisted record; NULL while a first build runs */
    vsnap *snap;           /* loaded snapshot of meta's generation, or NULL */
    int loading;           /* a thread is loading snap */
    char *load_error;      /* why the last load failed, or NULL */
    int busy;              /* a build or refresh owns the entry */
    char *job_id;          /* its job, when it runs as one */
} ventry;

struct lh_vindex {
    lh_vindex_config cfg;
    duckdb_database db;    /* the service's own engine (reads sources, writes Parquet) */
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* entry loaded / unclaimed, job finished */
    ventry **entries;
    size_t n, cap;
    int stopping;          /* vindex_free started: builds stop, keeping checkpoints */
    int jobs_active;       /* our jobs queued or running */
    pthread_t warm;
    int warm_started;
    struct vdisk *disk;    /* IVF-PQ backends (index_disk.c), made on first use */
    struct vfilter_cache *fcache; /* recent filters' allowed rows (index_filter.c), made on first use */
};

/* index_registry.c */
char *vx_key(const char *index, const char *file);        /* "_vectors/<index>/<file>" */
/* A local path to read file of index by: its own path (local bucket) or its
 * cached copy, fetched on a miss (remote; ADR 0235). Caller frees. */
char *vx_path(lh_vindex *vx, const char *index, const char *file);
/* A local path to write the future file of index by (caller frees), then
 * vx_publish it: local buckets its own path (files are written in place
 * atomically, as always), remote ones a staged file. NULL + err on failure. */
char *vx_write_path(lh_vindex *vx, const char *index, const char *file, lh_err *err);
/* Publishes what was written at path as file of index: a no-op on a local
 * bucket; an upload on a remote one (path is consumed). */
int vx_publish(lh_vindex *vx, const char *index, const char *file, const char *path, lh_err *err);
int vx_name_valid(const char *name);
/* Marks name busy (creating a hidden entry for a new index). LH_E_CONFLICT
 * when it already is. */
ventry *vx_claim(lh_vindex *vx, const char *name, lh_err *err);
void vx_set_job(lh_vindex *vx, ventry *e, const char *job_id);
/* Ends a claim. meta/snap (owned, may be NULL) replace the entry's; an entry
 * left without meta disappears. Releases the old snapshot. */
void vx_unclaim(lh_vindex *vx, ventry *e, json_t *meta, vsnap *snap);
json_t *vx_meta_copy(lh_vindex *vx, const char *name);     /* NULL if none */
/* Snapshot of name, loading it on first use. Caller releases. */
vsnap *vx_acquire(lh_vindex *vx, const char *name, lh_err *err);
void vsnap_release(vsnap *s);
void vsnap_free(vsnap *s);
int vx_meta_write(lh_vindex *vx, const json_t *meta, lh_err *err);
/* Deletes generation files of index other than keep_gen (none when
 * keep_gen < 0) and, when drop_build, the _build staging. */
void vx_gc(lh_vindex *vx, const char *index, int64_t keep_gen, int drop_build);
void vx_job_start(lh_vindex *vx);   /* a job of ours was queued */
void vx_job_done(lh_vindex *vx);    /* ... and has finished */

/* ---- rows staged for a Parquet file --------------------------------------- */

typedef struct {
    size_t n, cap;
    int dims;
    char **doc_id;         /* owned strings */
    int32_t *chunk_no;
    char **text;
    char **hash;
    float *emb;            /* n x dims */
} vrows;

void vrows_push(vrows *r, char *doc_id, int32_t chunk_no, char *text, char *hash, const float *emb);
void vrows_clear(vrows *r);   /* frees the strings, keeps capacity */
void vrows_free(vrows *r);

/* ---- index_store.c -------------------------------------------------------- */

int vstore_connect(lh_vindex *vx, duckdb_connection *conn, lh_err *err);
int vstore_exec(duckdb_connection conn, const char *sql, lh_err *err);
/* One BIGINT from sql's first cell. */
int vstore_scalar(duckdb_connection conn, const char *sql, int64_t *out, lh_err *err);
/* SELECT doc_id, text, h over the dataset snapshot select_sql, ordered for
 * resume; when old_files (a DuckDB list literal) is given, only rows whose
 * (doc_id, hash) is not among the old index's. Caller frees. */
char *vstore_source_sql(const char *select_sql, const char *id_col, const char *text_col,
                        const char *old_files);
/* Writes rows as one Parquet file at path (atomic: temp + rename). */
int vstore_write_rows(duckdb_connection conn, const vrows *rows, const char *path, lh_err *err);
/* Writes keep_sql's rows (may be NULL) then the parts' rows, in order, to
 * path as one Parquet file; *rows_out gets the count. */
int vstore_merge(duckdb_connection conn, const char *keep_sql, char *const *parts, size_t nparts,
                 const char *path, int64_t *rows_out, lh_err *err);
/* Loads the vectors file into s (n, dims, matrix, ids, chunk_no, texts). */
int vstore_load(duckdb_connection conn, const char *path, int dims, vsnap *s, lh_err *err);
/* Streaming query: caller iterates duckdb_fetch_chunk and destroys *res. */
int vstore_stream(duckdb_connection conn, const char *sql, duckdb_result *res, lh_err *err);
/* VARCHAR cell (row) of vector v as a new string, or NULL when NULL. */
char *vstore_str(duckdb_vector v, idx_t row);
/* DuckDB list literal of the absolute paths of an index's files. */
char *vstore_file_list(lh_vindex *vx, const char *index, const json_t *files);

/* ---- index_build.c -------------------------------------------------------- */

typedef struct vbuild {
    lh_vindex *vx;
    ventry *entry;         /* claimed */
    char *index, *dataset, *id_column, *text_column, *model;
    size_t chunk_size, overlap;
    char *language;        /* NULL = the base generation's (or "en") */
    json_t *stopwords;     /* owned; NULL = the base generation's / the language's */
    int refresh;           /* 1: embed only rows new or changed since base */
    int resumed;           /* set when a checkpoint was picked up */
    lh_job *job;           /* NULL when synchronous */
    int ran;               /* the job function started */
    /* filled while running */
    json_t *base_meta;     /* meta of the generation we build on (refresh), owned */
    int64_t source_version;
    char *select_sql;      /* the dataset snapshot read */
    int64_t docs_total, docs_done, chunks_done, resumed_docs;
    int dims;
    char **parts;          /* part file names under _build/ */
    size_t nparts;
    int64_t target_gen;
} vbuild;

/* Validates the request against the catalog and fills b (owned copies). */
int vbuild_init(lh_vindex *vx, const lh_vbuild_req *req, vbuild *b, lh_err *err);
void vbuild_clear(vbuild *b);
/* Embeds the rows the build needs into part files under _build/ (resuming
 * from a matching checkpoint). 0 when every row is embedded. */
int vbuild_embed(vbuild *b, lh_err *err);
/* Whether the build should stop now (cancel or shutdown). */
int vbuild_should_stop(const vbuild *b);
/* The checkpoint of index as a JSON object, or NULL. */
json_t *vbuild_checkpoint_read(lh_vindex *vx, const char *index);

/* ---- index_commit.c ------------------------------------------------------- */

/* Runs a claimed build to the end: embed, then a new generation (merge,
 * HNSW, meta.json, swap, catalog status). Unclaims the entry. Returns the
 * result object or NULL. */
json_t *vbuild_run(vbuild *b, lh_err *err);
/* Queues b (owned) as a job; returns the job id. */
char *vbuild_submit(vbuild *b, const char *kind, lh_err *err);
/* Resumes interrupted builds found under _vectors/ (on open). */
void vbuild_resume_all(lh_vindex *vx);
/* Loads meta's generation into a new snapshot; builds (and saves) the HNSW
 * graph when its file is missing or unusable. */
vsnap *vsnap_load(lh_vindex *vx, const json_t *meta, lh_err *err);
/* vsnap_load for a refresh: base (borrowed, may be NULL) is the previous
 * generation's snapshot, whose keyword index the new one patches. */
vsnap *vsnap_load_after(lh_vindex *vx, const json_t *meta, const vsnap *base, lh_err *err);

/* ---- index_keyword.c ------------------------------------------------------ */

/* SHA-256 over (doc id, chunk no) in row order: ties graph and keyword files to the rows. */
void vsnap_fingerprint(const vsnap *s, char out[65]);
/* Gives s its doc-id lookup and its keyword index (loaded from the file
 * meta's "keyword" names when it fits the rows, else patched from base's —
 * the previous generation's rows snapshot, borrowed, may be NULL — or built,
 * and saved; meta is updated). */
int vsnap_keyword(lh_vindex *vx, json_t *meta, vsnap *s, const vsnap *base, lh_err *err);
/* Sets the bits of every row of doc id in allowed; returns how many. */
size_t vsnap_allow_id(const vsnap *s, const char *id, uint64_t *allowed);
/* Validates a build request's language / stopwords. */
int vkeyword_check_config(const char *language, const json_t *stopwords, lh_err *err);

/* ---- index_filter.c ------------------------------------------------------- */

/* 0 when filter is one SQL expression that cannot escape its WHERE. */
int vfilter_check(const char *filter, lh_err *err);
/* The allowed-row bitmap (caller frees; rows of vsnap_rows(s)) of filter
 * over s's source dataset, evaluated as scope (NULL = unconfined); *count
 * gets the rows allowed. */
uint64_t *vfilter_allowed(lh_vindex *vx, const vsnap *s, const char *filter, const lh_query_scope *scope,
                          size_t *count, lh_err *err);
void vfilter_cache_free(lh_vindex *vx);

/* ---- hybrid.c ------------------------------------------------------------- */

typedef struct {
    uint32_t row;
    float score;           /* the fused RRF score */
    float vscore, kscore;  /* cosine, BM25 (NAN when not in that list) */
    int tier;              /* 1: holds every query term */
    int pad;
} vfused;

/* Fuses vector hits vh[0..nv) and keyword hits kh[0..nk) (cover[i]: query
 * terms chunk i holds, of nterms) into out (room for nv + nk), best first;
 * returns the count. */
int hybrid_fuse(const lh_hit *vh, int nv, const lh_hit *kh, const int *cover, int nk, int nterms, double wv,
                double wk, vfused *out);

/* The snapshot owning the rows (a lab graph swap shares its base's). */
static inline const vsnap *vsnap_rows(const vsnap *s) { return s->base ? s->base : s; }
/* The half copy of s's rows (vsnap_rows), made on first use; NULL without F16C. */
const lh_vhalf *vsnap_half(const vsnap *s);

#endif
