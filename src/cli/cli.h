/*
 * cli.h — the command-line side of `lakehouse`: rendering results as text
 * tables and talking to a running server.
 */
#ifndef LH_CLI_H
#define LH_CLI_H

#include <jansson.h>
#include <stdio.h>

#include "common/err.h"
#include "jobs/jobs.h"

/* Prints a /query/sql response document ({"columns","rows",...}) as an
 * aligned text table followed by "(N rows[, truncated])". */
void cli_print_table(FILE *out, const json_t *result);

/* POSTs a JSON body to base_url+path. Returns the parsed JSON response (new
 * reference) and its status; NULL with err when the server is unreachable or
 * answers non-JSON. api_key may be NULL. */
json_t *cli_http_post_json(const char *base_url, const char *path, const char *api_key,
                           const json_t *body, long *status, lh_err *err);
/* True when GET base_url/health answers 200 within a short timeout. */
int cli_server_alive(const char *base_url);

/* Draws a one-line progress bar on stderr ("label [#####     ] 52%  done/total")
 * when stderr is a terminal; no-op otherwise. total < 0: unknown (shows done).
 * Call with done == total to finish the line. */
void cli_progress(const char *label, long long done, long long total);

/* ---- lakehouse ingest (cli_ingest.c) ---- */
typedef struct {
    const char *path;      /* the file to send */
    const char *dataset;   /* NULL: the server derives it from the file name */
    const char *format;    /* NULL: auto */
    const char *bad_rows;  /* NULL | "fail" | "skip" */
} cli_ingest_opts;

/* Follows job id of this process's pool with a progress bar until it ends:
 * its result (new reference), or NULL with the job's error. */
json_t *cli_follow_job(lh_jobs *js, const char *id, lh_err *err);
/* Uploads o->path to a running server (POST /ingest/file, async), shows
 * upload then job progress, and returns the result (+ "job_id"). */
json_t *cli_ingest_remote(const char *base_url, const char *api_key, const cli_ingest_opts *o, lh_err *err);

#endif
