/*
 * index_disk.h — the second backend of a vector index: an IVF-PQ file
 * (vector/ivfpq.h) beside the Parquet generation, served from mmap. The
 * seed calls it "Lance" (VectorBackend { Parquet | Lance }); its public names
 * stay: the /vectors/lance/... routes and the wire value VDISK_BACKEND_NAME
 * (ADR 0170). Parquet + HNSW stays the primary backend of POST /vectors/search.
 *
 * Files: _vectors/<index>/ivfpq-<g>.bin (g: the backend's own generation,
 * bumped by every build or append) and _vectors/<index>/ivfpq.json, the
 * state record naming the live file (written last: the commit point).
 *
 *   migrate   build the file from the index's current Parquet generation
 *   index     retrain over the rows already in the file (appends kept);
 *             from the Parquet generation when there is no file yet
 *   append    embed / take new rows, encode without retraining, new file
 *   scalar    build the doc_id hash, new file
 * Every write builds a new file, renames it in, writes ivfpq.json and then
 * swaps the mapped index; searches holding the old mapping finish on it.
 *
 * Index metadata (GET /vectors/indexes/{name}) shows backend
 * VDISK_BACKEND_NAME and an "ivfpq" record once the index has been migrated.
 *
 * Thread-safety: every function may be called from any thread; writes to
 * one index are serialised (LH_E_CONFLICT while one runs).
 */
#ifndef LH_VECTOR_INDEX_DISK_H
#define LH_VECTOR_INDEX_DISK_H

#include <jansson.h>

#include "common/err.h"
#include "vector/index.h"
#include "vector/ivfpq.h"

/* The IVF-PQ backend's public name (the seed's): "backend" and "backends" in
 * index metadata and search answers, a profile's "vector_backend" (ADR 0170). */
#define VDISK_BACKEND_NAME "lance"

typedef struct {
    int k;          /* 1..1000, 0 = 10 */
    int nprobe;     /* 0 = the index's default */
    int rerank;     /* < 0 = default (10 k, at least 100); 0 = off */
} lh_vdisk_query;

/* Builds from the Parquet generation (migrate) or from the file's rows
 * (rebuild); p may be NULL (defaults). Returns the stats record. */
json_t *vdisk_migrate(lh_vindex *vx, const char *index, const lh_ivfpq_params *p, lh_err *err);
json_t *vdisk_rebuild(lh_vindex *vx, const char *index, const lh_ivfpq_params *p, lh_err *err);
/* {"results":[{"doc_id","chunk","score","text"}],"backend":VDISK_BACKEND_NAME,...}.
 * query is embedded with the index's model unless vec (dims floats) is given. */
json_t *vdisk_search(lh_vindex *vx, const char *index, const char *query, const float *vec, int dims,
                     const lh_vdisk_query *q, lh_err *err);
/* {"doc_id","chunks":[{"chunk","text","position"}],"scalar_index",...};
 * LH_E_NOT_FOUND when the doc is not in the file. */
json_t *vdisk_doc(lh_vindex *vx, const char *index, const char *doc_id, lh_err *err);
/* rows: [{"doc_id", "text", "chunk_no"?, "embedding"?}] (1..10000). */
json_t *vdisk_append(lh_vindex *vx, const char *index, const json_t *rows, lh_err *err);
json_t *vdisk_stats(lh_vindex *vx, const char *index, lh_err *err);
json_t *vdisk_scalar_index(lh_vindex *vx, const char *index, lh_err *err);
/* recall@10 of the IVF-PQ search against brute force over the stored
 * vectors, `queries` stored rows as queries (1..1000). */
json_t *vdisk_recall(lh_vindex *vx, const char *index, int queries, const lh_vdisk_query *q,
                     lh_err *err);

/* Hooks for the index registry: adds backend/ivfpq to an index's public
 * metadata; frees the backend's state (vindex_free). */
void vdisk_annotate(lh_vindex *vx, json_t *meta);
void vdisk_free(lh_vindex *vx);

#endif
