/*
 * api_ingest_db.c — POST /ingest/db (postgres:// DSN), POST /ingest/mysql
 * (mysql:// DSN) and POST /ingest/postgres/import (structured fields): each
 * parses the request into a DSN and db_ingest options and runs the ingest
 * synchronously as a registered job, answering 201 with the result and the
 * job id. The DSN's password never reaches a response.
 */
#include <string.h>

#include "http/internal.h"
#include "ingest/db_ingest.h"
#include "ingest/dsn.h"
#include "jobs/jobs.h"

typedef struct {
    lh_catalog *catalog;
    const lh_dsn *dsn;
    lh_db_ingest_opts opts;
    json_t *result;  /* owned, set on success */
} db_job;

static void job_progress(void *ctx, int64_t done, int64_t total) {
    jobs_progress(ctx, done, total);
}

static int job_cancelled(void *ctx) {
    return jobs_cancelled(ctx);
}

static int db_job_fn(lh_job *job, void *ctx, lh_err *err) {
    db_job *j = ctx;
    lh_db_ingest_hooks hooks = {job_progress, job_cancelled, job};
    j->opts.job_id = jobs_id(job);
    j->result = db_ingest_run(j->catalog, j->dsn, &j->opts, &hooks, err);
    if (!j->result) return -1;
    jobs_set_result(job, json_deep_copy(j->result));
    return 0;
}

/* Runs the ingest on this thread as a registered job (GET /jobs/{id} shows
 * rows done while it runs; POST /jobs/{id}/cancel stops it); job_id
 * receives the job's id. */
static int run_job(lh_app *app, db_job *j, char **job_id, lh_err *err) {
    if (!app->jobs) {
        j->result = db_ingest_run(j->catalog, j->dsn, &j->opts, NULL, err);
        return j->result ? 0 : -1;
    }
    return jobs_run_inline(app->jobs, "ingest_db", db_job_fn, j, job_id, err);
}

/* Runs the ingest and answers 201 with its result. */
static void ingest_and_reply(lh_app *app, const lh_dsn *dsn, const json_t *body, lh_resp *resp) {
    lh_err err = {0};
    db_job j = {.catalog = app->catalog, .dsn = dsn};
    if (db_ingest_opts_parse(body, &j.opts, &err) != 0) {
        resp_error(resp, &err);
        return;
    }
    char *job_id = NULL;
    if (run_job(app, &j, &job_id, &err) != 0 || !j.result) {
        if (err.code == LH_OK) lh_err_set(&err, LH_E_INTERNAL, "ingest failed");
        resp_error(resp, &err);
    } else {
        if (job_id) json_object_set_new(j.result, "job_id", json_string(job_id));
        resp_json(resp, 201, j.result);
        j.result = NULL;
    }
    json_decref(j.result);
    free(job_id);
}

/* The "dsn" of body, which must be of kind want. */
static int body_dsn(const json_t *body, lh_dsn_kind want, lh_dsn *d, lh_err *err) {
    const char *text = json_string_value(json_object_get(body, "dsn"));
    if (!text) return lh_err_set(err, LH_E_BAD_REQUEST, "\"dsn\" is required");
    if (dsn_parse(text, d, err) != 0) return -1;
    if (d->kind != want) {
        dsn_free(d);
        lh_err_set(err, LH_E_BAD_REQUEST, "this endpoint takes a %s DSN",
                   want == LH_DSN_MYSQL ? "mysql://" : "postgres:// or postgresql://");
        lh_err_hint(err, want == LH_DSN_MYSQL ? "postgres DSNs go to POST /ingest/db"
                                               : "mysql DSNs go to POST /ingest/mysql");
        return -1;
    }
    return 0;
}

/* Ingests from the DSN of the body: its "dsn" (of kind), or with
 * from_fields its host, port, user, ... fields. */
static void dsn_endpoint(lh_app *app, lh_req *req, lh_resp *resp, lh_dsn_kind kind, int from_fields) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    lh_err err = {0};
    lh_dsn d;
    int rc = from_fields ? db_dsn_from_fields(body, kind, &d, &err) : body_dsn(body, kind, &d, &err);
    if (rc != 0) resp_error(resp, &err);
    else {
        ingest_and_reply(app, &d, body, resp);
        dsn_free(&d);
    }
    json_decref(body);
}

void api_ingest_db(lh_app *app, lh_req *req, lh_resp *resp) {
    dsn_endpoint(app, req, resp, LH_DSN_POSTGRES, 0);
}

void api_ingest_mysql(lh_app *app, lh_req *req, lh_resp *resp) {
    dsn_endpoint(app, req, resp, LH_DSN_MYSQL, 0);
}

void api_ingest_postgres_import(lh_app *app, lh_req *req, lh_resp *resp) {
    dsn_endpoint(app, req, resp, LH_DSN_POSTGRES, 1);
}
