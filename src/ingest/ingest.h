/*
 * ingest.h — file ingest: one local file (CSV, JSON / NDJSON, PDF, plain
 * text, SMS export) into a dataset, as a new table or one more commit.
 *
 * What ingest_file does, in order: refuses an empty file; hashes it
 * (SHA-256) and answers "deduplicated" when that content already went into
 * that dataset; picks the format (the one asked for, else extension and
 * content); checks the whole file first — CSV records with line numbers,
 * JSON syntax with byte offsets, UTF-8 everywhere — so a bad file is a 4xx
 * naming the spot and the dataset stays exactly as it was; then writes the
 * rows with catalog_write (lineage source_system "file", source = the file
 * name; the catalog redoes PII detection on new columns, freshness, and
 * marks embeddings stale) and records the hash. Formats and choices are in
 * docs/adr/0020..0022.
 *
 * Status codes: 400 bad request (name, format, option), 409 the rows do not
 * fit the existing dataset's schema (naming the columns), 422 the file's
 * content is broken (saying where), 503 a format's library is missing.
 */
#ifndef LH_INGEST_H
#define LH_INGEST_H

#include <jansson.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "common/err.h"
#include "jobs/jobs.h"
#include "storage/storage.h"

typedef enum {
    INGEST_BAD_ROWS_FAIL = 0, /* a broken CSV record fails the ingest (422 naming its line) */
    INGEST_BAD_ROWS_SKIP,     /* broken records are left out and listed in the result */
} lh_ingest_bad_rows;

/* A CSV pre-scan fed while an upload arrives, so a CSV is not read twice. */
typedef struct lh_ingest_prescan lh_ingest_prescan;

typedef struct {
    const char *path;         /* the file to read (borrowed; never changed) */
    const char *source_name;  /* its own name: lineage, source_file column, default dataset */
    const char *dataset;      /* NULL or "": derived from source_name */
    const char *format;       /* NULL, "" or "auto": from extension and content */
    const char *sha256;       /* hex digest if already known (NULL: computed) */
    lh_ingest_bad_rows bad_rows;
    char csv_delimiter;       /* 0: sniffed */
    int csv_header;           /* -1: sniffed, 0 / 1: forced */
    lh_ingest_prescan *prescan; /* NULL, or every byte of path fed in order (used
                                   when it was made with the same CSV choices) */
    int merge_schema;         /* appending: new columns join the schema, types may widen (ADR 0258) */
} lh_ingest_file_req;

/* Ingests r->path. Returns {"dataset","rows","format","sha256",
 * "deduplicated", "version"?, "bad_rows"?:[{"line","problem"}],
 * "bad_row_count"?} (new reference) or NULL with err. job may be NULL;
 * when set, progress and cancellation go through it. */
json_t *ingest_file(lh_catalog *c, lh_storage *st, const lh_ingest_file_req *r, lh_job *job,
                    lh_err *err);

/* 1 for a format name ingest_file knows (csv, json, ndjson, pdf, txt,
 * text, sms, auto). */
int ingest_format_known(const char *format);
/* A dataset name from a file name: its base name without extension, other
 * characters than [A-Za-z0-9_] made '_', "d_" before a leading digit,
 * at most 64 characters. Caller frees. */
char *ingest_dataset_from_filename(const char *filename);

/* A fresh staging path inside the bucket for an upload (caller frees). Its
 * name is a storage temp name, so listings never show it and the start-up
 * temp cleanup removes it after a crash. A remote bucket's is a local file
 * in its cache's staging folder (storage_stage_path). */
char *ingest_staging_path(lh_storage *st, lh_err *err);

/* filename (may be NULL) tells a .tsv; free with ingest_prescan_free
 * unless handed to ingest_task_new. */
lh_ingest_prescan *ingest_prescan_new(const char *filename);
void ingest_prescan_feed(lh_ingest_prescan *p, const void *data, size_t len);
void ingest_prescan_free(lh_ingest_prescan *p);

/* ---- running as a job --------------------------------------------------- */

typedef struct lh_ingest_task lh_ingest_task;

/* Copies r and takes r->prescan; when staged_path is set, that file is
 * deleted with the task. */
lh_ingest_task *ingest_task_new(lh_catalog *c, lh_storage *st, const lh_ingest_file_req *r,
                                const char *staged_path);
/* An lh_job_fn: runs ingest_file and sets the job's result. */
int ingest_task_run(lh_job *job, void *task, lh_err *err);
/* The result of a finished run (new reference), or NULL. */
json_t *ingest_task_result(const lh_ingest_task *t);
void ingest_task_free(void *task);

#endif
