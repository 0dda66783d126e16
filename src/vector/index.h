/*
 * index.h — the vector module's public header (ADR 0171): the vector index
 * service — named indexes over a dataset's text column, built by a background job (chunk → embed in batches → Parquet),
 * searched exactly (brute.h) or approximately (hnsw.h), refreshed
 * incrementally when the dataset changes.
 *
 * Layout in the bucket (the index is its files; meta.json is the truth):
 *   _vectors/<index>/meta.json                 registry record (below)
 *   _vectors/<index>/vectors-<gen>.parquet     doc_id VARCHAR, chunk_no INTEGER,
 *                                              text VARCHAR, embedding FLOAT[dims],
 *                                              content_hash VARCHAR
 *   _vectors/<index>/hnsw-<gen>.bin            the persisted graph of that generation
 *   _vectors/<index>/_build/                   checkpoint.json + part-*.parquet of a
 *                                              build in progress (resumed after a crash)
 * Every build or refresh writes a new generation and then swaps meta.json;
 * files of other generations are removed afterwards (and on open).
 *
 * In memory each index is a refcounted snapshot (one contiguous float
 * matrix, doc ids, chunk numbers, chunk texts, the HNSW graph). Searches
 * hold a snapshot reference and never wait for writers; a finished build
 * swaps the new snapshot in under the registry lock.
 *
 * Metadata (JSON, as GET /vectors/indexes/{name}): name, source, model_name,
 * model_version, dims, vectors, docs, backend ("parquet"), generation,
 * id_column, id_type, text_column, chunk_size, overlap, source_version,
 * created_at, updated_at, bucket, files, hnsw {file, M, ef_construction,
 * ef_search, seed}; plus live fields: stale, state ("ready" | "building"),
 * hnsw_state ("loaded" | "built" | "none" | "pending"), job_id.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef LH_VECTOR_INDEX_H
#define LH_VECTOR_INDEX_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ai/ai.h"
#include "catalog/catalog.h"
#include "common/err.h"
#include "jobs/jobs.h"
#include "query/query.h"
#include "storage/storage.h"
#include "vector/hnsw.h"

typedef struct lh_vindex lh_vindex;

/* The model provider the service calls. The ai module's adapter is
 * vindex_provider_ai() (index_ai.c); tests plug in their own. Strings are
 * borrowed and must outlive the service. */
typedef struct {
    void *ctx;
    const char *embed_model;    /* default embedding model (recorded in metadata) */
    const char *model_version;  /* of embed_model; may be NULL */
    int parallel_ok;            /* 1: two embedding calls may run at once */
    /* Embeds n texts into *out (malloc'd, n x *dims, caller frees). model NULL =
     * embed_model. */
    int (*embed)(void *ctx, const char *model, const char *const *texts, size_t n, float **out,
                 int *dims, lh_err *err);
    const char *gen_model;      /* generation model; NULL = none configured */
    /* Generates an answer (caller frees *text). NULL when gen_model is NULL. */
    int (*generate)(void *ctx, const char *system, const char *prompt, char **text, lh_err *err);
    /* Scores docs against query (higher = better); *name (static or owned by
     * ctx) names the reranker. NULL = no rerank stage available. */
    int (*rerank)(void *ctx, const char *query, const char *const *docs, size_t n, float *scores,
                  const char **name, lh_err *err);
} lh_vprovider;

/* The provider backed by the ai module (index_ai.c); ai must outlive it. */
lh_vprovider vindex_provider_ai(lh_ai *ai);

typedef struct {
    lh_storage *storage;       /* borrowed: the bucket holding _vectors/ */
    lh_catalog *catalog;       /* borrowed */
    lh_jobs *jobs;             /* borrowed; NULL = only synchronous builds */
    lh_vprovider provider;
    int batch_size;            /* chunks per embedding call (default 32) */
    int checkpoint_every;      /* batches between checkpoints (default 8) */
    int max_retries;           /* extra attempts for a failed batch (default 3) */
    int retry_backoff_ms;      /* first retry delay, doubling (default 200) */
    int pipelines;             /* 0 = 2 when provider.parallel_ok, else 1 */
    size_t chunk_size;         /* default chunk size in characters (800) */
    size_t overlap;            /* default overlap (100) */
    size_t hnsw_min_vectors;   /* mode auto uses HNSW from this many vectors (2048) */
    lh_hnsw_params hnsw;       /* zero fields = HNSW defaults */
    int threads;               /* search / graph build threads (0 = cores) */
    lh_query_engine *query;    /* borrowed; evaluates search filters (NULL = the service's own engine) */
} lh_vindex_config;

/* Reads every _vectors/<index>/meta.json and removes files of dead
 * generations. Indexes load on first use (or vindex_start). */
lh_vindex *vindex_open(const lh_vindex_config *cfg, lh_err *err);
/* For the server: loads every index in a background thread and resumes
 * interrupted builds as jobs (state "running" in their checkpoint). */
int vindex_start(lh_vindex *vx, lh_err *err); /* -1: no warm-up thread (err says why) */
/* Stops builds (they keep their checkpoint, so the next start resumes
 * them) and waits for them. Call it before jobs_free: the job pool must
 * still be running to let queued builds return. */
void vindex_free(lh_vindex *vx);
const lh_vprovider *vindex_provider(const lh_vindex *vx);

/* ---- building ------------------------------------------------------------ */

typedef struct {
    const char *dataset;       /* required */
    const char *id_column;     /* required: VARCHAR, INTEGER or BIGINT */
    const char *text_column;   /* required */
    const char *index_name;    /* NULL = dataset */
    const char *model;         /* NULL = provider.embed_model */
    size_t chunk_size;         /* 0 = default */
    size_t overlap;            /* 0 = default; must be < chunk_size */
    const char *language;      /* keyword index stop words: en (default) | de | fr | es | none */
    const json_t *stopwords;   /* a custom stop-word list (array of strings) replacing it; may be NULL */
} lh_vbuild_req;

/* Parses the POST /vectors/index body into *req (strings borrowed from body). */
int vindex_build_req_parse(const json_t *body, lh_vbuild_req *req, lh_err *err);
/* Validates, then queues a build job. Returns the job id (caller frees);
 * *index_out (may be NULL) receives the index name (caller frees).
 * LH_E_CONFLICT while another build of that index runs. */
char *vindex_build_submit(lh_vindex *vx, const lh_vbuild_req *req, char **index_out, lh_err *err);
/* Builds on the calling thread; returns the index metadata (new reference). */
json_t *vindex_build_sync(lh_vindex *vx, const lh_vbuild_req *req, lh_err *err);

/* ---- registry ------------------------------------------------------------ */

/* {"indexes":[metadata...]} by name; source / model filter when not NULL. */
json_t *vindex_list(lh_vindex *vx, const char *source, const char *model);
json_t *vindex_get(lh_vindex *vx, const char *name, lh_err *err);
/* Removes the index and its files. LH_E_CONFLICT while it is being built. */
int vindex_delete(lh_vindex *vx, const char *name, lh_err *err);
/* Blocks until the index is loaded in memory (0) or failed to load (-1). */
int vindex_wait_loaded(lh_vindex *vx, const char *name, lh_err *err);

/* ---- search -------------------------------------------------------------- */

/* Modes: hybrid (the default) fuses keyword and vector rankings (hybrid.c);
 * keyword is BM25 alone; auto ("vector") is the vector ranking alone —
 * exact below cfg.hnsw_min_vectors, HNSW from there; hnsw and brute force
 * the vector method. */
typedef enum {
    LH_VSEARCH_AUTO, LH_VSEARCH_HNSW, LH_VSEARCH_BRUTE, LH_VSEARCH_HYBRID, LH_VSEARCH_KEYWORD
} lh_vsearch_mode;

typedef struct {
    char *doc_id;              /* owned */
    int chunk_no;
    float score;               /* the ranking score: RRF (hybrid), BM25 (keyword), cosine
                                * (vector modes) or the reranker's score */
    float vector_score;        /* cosine; NAN when the vector ranking did not list it */
    float keyword_score;       /* BM25; NAN when the keyword ranking did not list it */
    char *text;                /* owned: the chunk */
} lh_vhit;

typedef struct {
    lh_vhit *hits;             /* owned, best first */
    int n;
    const char *mode;          /* "hybrid" | "keyword" | "hnsw" | "brute" (static) */
    const char *vector_mode;   /* hybrid: how the vector side ran ("hnsw" | "brute"), else NULL */
    int64_t allowed_rows;      /* rows the filter allowed; -1 when unfiltered */
    const char *filter_method; /* "exact" | "hnsw" when filtered */
    char *reranker;            /* owned: who reranked, NULL when no rerank stage ran */
    double w_vector, w_keyword;
    int64_t elapsed_us;        /* embedding + search */
} lh_vresults;

typedef struct {
    lh_vsearch_mode mode;      /* default LH_VSEARCH_HYBRID */
    int k;                     /* 1..1000, default 10 */
    const char *filter;        /* SQL predicate over the source dataset's columns, or NULL */
    double w_vector, w_keyword;/* RRF weights (>= 0, not both 0), default 1 and 1 */
    int rerank;                /* 1: rerank the candidates with the provider's reranker */
} lh_vsearch_opts;

/* Defaults: hybrid, k 10, weights 1/1, no filter, no rerank. */
void vindex_search_opts_init(lh_vsearch_opts *o);
/* Reads "mode", "k" (1..k_max), "filter", "weights" {"vector","keyword"}
 * and "rerank" from a request body into o (strings borrowed from body). */
int vindex_search_opts_parse(const json_t *body, int k_max, lh_vsearch_opts *o, lh_err *err);
/* "hybrid" | "keyword" | "vector" | "auto" | "hnsw" | "brute" (NULL = hybrid;
 * "auto" is an old name of "vector"). */
int vindex_mode_parse(const char *s, lh_vsearch_mode *mode, lh_err *err);
/* Searches index for query (embedded with the index's model) and returns
 * the top k chunks, all satisfying o->filter when given (pre-filtered: the
 * best k among the allowed rows). LH_E_NOT_FOUND for an unknown index,
 * LH_E_BAD_REQUEST for a filter DuckDB rejects. */
int vindex_search_ex(lh_vindex *vx, const char *index, const char *query, const lh_vsearch_opts *o,
                     lh_vresults *out, lh_err *err);
/* vindex_search_ex with only mode and k. */
int vindex_search(lh_vindex *vx, const char *index, const char *query, int k, lh_vsearch_mode mode,
                  lh_vresults *out, lh_err *err);
/* Vector ranking of a query vector already embedded (dims must match);
 * mode hybrid / keyword are not available here (no text). */
int vindex_search_vector(lh_vindex *vx, const char *index, const float *q, int dims, int k,
                         lh_vsearch_mode mode, lh_vresults *out, lh_err *err);
void vindex_results_free(lh_vresults *r);
/* {"results":[{"doc_id","chunk","score","vector_score"?,"keyword_score"?,"text"}],
 *  "mode","vector_mode"?,"filter"?:{"allowed_rows","method"},"reranker"?,
 *  "weights"?,"elapsed_us"} */
json_t *vindex_results_json(const lh_vresults *r);

/* ---- freshness ----------------------------------------------------------- */

/* Re-embeds only the new or changed rows of dataset (diff by doc_id and
 * content hash), drops deleted ones and writes the combined index, for
 * every index over it. {"dataset","indexes":[{"index","embedded_docs",
 * "embedded_chunks","kept_docs","removed_docs","vectors","generation",
 * "elapsed_ms"}]}. LH_E_NOT_FOUND when no index uses the dataset. */
json_t *vindex_refresh(lh_vindex *vx, const char *dataset, lh_err *err);
/* Queues the same as a job; returns its id (caller frees). */
char *vindex_refresh_submit(lh_vindex *vx, const char *dataset, lh_err *err);
/* {"stale":[{"dataset","stale_since","dataset_version","indexes":[{"name",
 * "source_version"}]}]}: datasets whose indexes lag behind them. */
json_t *vindex_stale(lh_vindex *vx);

/* ---- SQL (sql_func.c) ----------------------------------------------------- */

/* Registers the table function vector_search(index, query, k [, mode := ...,
 * filter := '<SQL predicate>'])
 * → (doc_id VARCHAR, chunk_no INTEGER, score FLOAT, text VARCHAR) in the
 * query engine's database (once: DuckDB functions are database-wide). */
int vindex_sql_register(lh_vindex *vx, lh_query_engine *qe, lh_err *err);
/* Same on any DuckDB connection (a duckdb_connection *), e.g. in tests. */
int vindex_sql_register_conn(lh_vindex *vx, void *duckdb_conn, lh_err *err);

/* ---- matrix view, graph swap, cache stats (index_graph.c): for the lab -- */

/* A read-only view of an index's loaded matrix, holding its snapshot (so
 * the rows stay valid however the index changes meanwhile). */
typedef struct {
    size_t n;                 /* rows (chunks) */
    int dims;
    const float *matrix;      /* n x dims, L2-normalised */
    int64_t generation;
    const json_t *meta;       /* the snapshot's metadata (borrowed) */
    lh_hnsw_params hnsw;      /* the live graph's parameters (resolved) */
    int has_hnsw;
    void *ref;                /* the held snapshot */
} lh_vmatrix;

/* Loads the index when needed. LH_E_NOT_FOUND for an unknown index. */
int vindex_matrix_acquire(lh_vindex *vx, const char *index, lh_vmatrix *m, lh_err *err);
void vindex_matrix_release(lh_vmatrix *m);
const char *vindex_matrix_doc_id(const lh_vmatrix *m, size_t row);
const char *vindex_matrix_text(const lh_vmatrix *m, size_t row);

/* Rebuilds the current generation's graph with p (NULL = the service's
 * defaults), saves it as hnsw-<gen>-<M>-<ec>-<es>-<seed>.bin, records it in
 * meta.json and swaps it in: searches in flight finish on the old graph.
 * Nothing is rebuilt when the live graph already has these parameters.
 * {"index","generation","file","swapped","build_ms","hnsw":{...}}.
 * LH_E_CONFLICT while a build or refresh owns the index. */
json_t *vindex_hnsw_swap(lh_vindex *vx, const char *index, const lh_hnsw_params *p, lh_err *err);

/* {"indexes":[{"index","loaded","generation","vectors","dims","matrix_bytes",
 * "text_bytes","hnsw_bytes","refs","shared_rows","hnsw_state","hnsw":{...}}],
 * "total_bytes"}: what the in-memory snapshots hold. */
json_t *vindex_cache_stats(lh_vindex *vx);

/* {"M","ef_construction","ef_search","seed"} of p (new reference). */
json_t *vindex_hnsw_params_json(lh_hnsw_params p);

/* The module's other public parts, declared in their own files: the IVF-PQ
 * disk backend (vdisk_*) and retrieval-augmented answers (rag_*). Other
 * modules include only this header. */
#include "vector/index_disk.h"
#include "vector/rag.h"

#endif
