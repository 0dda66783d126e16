/*
 * api_ingest.c — POST /ingest/file: a multipart/form-data upload streamed
 * to a staging file as it arrives (never held in memory), then handed to
 * the ingest module as a job.
 *
 * Form fields: file (required, exactly one), and optionally dataset,
 * format, bad_rows (fail | skip), delimiter (one character or "tab"),
 * header (true | false), async (true | false). The same names are accepted
 * as query parameters; a form field wins. By default the call runs the
 * ingest as an inline job and answers 201 with the result and "job_id";
 * async=true answers 202 {"job_id"} at once and GET /jobs/{id} follows it.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "http/internal.h"
#include "ingest/ingest.h"
#include "ingest/multipart.h"
#include "jobs/jobs.h"

#define FIELD_MAX 1024

static const char *const field_names[] = {"dataset", "format", "bad_rows", "delimiter", "header", "async",
                                          "merge_schema"};
#define NFIELDS (sizeof field_names / sizeof field_names[0])

typedef struct {
    lh_app *app;               /* borrowed */
    lh_req *req;               /* borrowed */
    lh_multipart *mp;
    char *staged;              /* the file part's staging path */
    int fd;
    lh_sha256 *sha;
    lh_ingest_prescan *prescan; /* CSV checked as it arrives (.csv / .tsv names) */
    int64_t size;
    char *filename;
    int files;
    int part;                  /* -2 none, -1 file, >= 0 index of a known field, NFIELDS ignored */
    lh_strbuf value;
    char *fields[NFIELDS];     /* owned values */
} upload;

/* ---- multipart callbacks ------------------------------------------------- */

static int on_part_begin(void *ctx, const char *name, const char *filename, const char *ctype, lh_err *err) {
    upload *u = ctx;
    if (!strcmp(name, "file")) {
        if (u->files++ > 0) return lh_err_set(err, LH_E_BAD_REQUEST, "send one 'file' part per request");
        u->staged = ingest_staging_path(u->app->storage, err);
        if (!u->staged) return -1;
        u->fd = open(u->staged, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (u->fd < 0) return lh_err_set(err, LH_E_INTERNAL, "cannot create the staging file");
        u->sha = lh_sha256_new();
        u->filename = lh_strdup(filename && *filename ? filename : "upload");
        size_t fl = strlen(u->filename);
        if (fl > 4 && (!strcasecmp(u->filename + fl - 4, ".csv") || !strcasecmp(u->filename + fl - 4, ".tsv")))
            u->prescan = ingest_prescan_new(u->filename);
        u->part = -1;
        return 0;
    }
    u->part = (int)NFIELDS;
    for (size_t i = 0; i < NFIELDS; i++)
        if (!strcmp(name, field_names[i])) u->part = (int)i;
    sb_reset(&u->value);
    return 0;
}

static int on_part_data(void *ctx, const char *data, size_t len, lh_err *err) {
    upload *u = ctx;
    if (u->part == -1) {
        const char *p = data;
        size_t left = len;
        while (left > 0) {
            ssize_t n = write(u->fd, p, left);
            if (n <= 0) return lh_err_set(err, LH_E_INTERNAL, "cannot write the staging file");
            p += n;
            left -= (size_t)n;
        }
        lh_sha256_update(u->sha, data, len);
        if (u->prescan) ingest_prescan_feed(u->prescan, data, len);
        u->size += (int64_t)len;
    } else if (u->part >= 0 && u->part < (int)NFIELDS) {
        if (u->value.len + len > FIELD_MAX)
            return lh_err_set(err, LH_E_BAD_REQUEST, "form field '%s' is longer than %d bytes", field_names[u->part],
                              FIELD_MAX);
        sb_append(&u->value, data, len);
    }
    return 0;
}

static int on_part_end(void *ctx, lh_err *err) {
    upload *u = ctx;
    if (u->part >= 0 && u->part < (int)NFIELDS) {
        free(u->fields[u->part]);
        u->fields[u->part] = lh_strndup(u->value.buf ? u->value.buf : "", u->value.len);
    }
    u->part = -2;
    return 0;
}

static const lh_multipart_cb callbacks = {on_part_begin, on_part_data, on_part_end};

/* ---- upload ops ---------------------------------------------------------- */

static void upload_free(upload *u, int keep_staged) {
    if (!u) return;
    multipart_free(u->mp);
    if (u->fd >= 0) close(u->fd);
    if (u->sha) {
        char tmp[65];
        lh_sha256_final(u->sha, tmp);
    }
    ingest_prescan_free(u->prescan);
    if (u->staged && !keep_staged) unlink(u->staged);
    free(u->staged);
    free(u->filename);
    sb_free(&u->value);
    for (size_t i = 0; i < NFIELDS; i++) free(u->fields[i]);
    free(u);
}

static int ingest_begin(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_err err = {0};
    upload *u = lh_calloc(1, sizeof *u);
    u->app = app;
    u->req = req;
    u->fd = -1;
    u->part = -2;
    u->mp = multipart_new(req_header(req, "Content-Type"), &callbacks, u, &err);
    if (!u->mp) {
        upload_free(u, 0);
        resp_error(resp, &err);
        return -1;
    }
    req->upload_state = u;
    return 0;
}

static int ingest_data(lh_req *req, const char *data, size_t len, lh_err *err) {
    upload *u = req->upload_state;
    return multipart_feed(u->mp, data, len, err);
}

static void ingest_abort(lh_req *req) {
    upload_free(req->upload_state, 0);
    req->upload_state = NULL;
}

const lh_upload_ops api_ingest_file_upload = {ingest_begin, ingest_data, ingest_abort};

/* ---- the request --------------------------------------------------------- */

/* A form field, else the query parameter of the same name. */
static const char *option(upload *u, const char *name) {
    for (size_t i = 0; i < NFIELDS; i++)
        if (!strcmp(field_names[i], name) && u->fields[i]) return u->fields[i];
    return req_query(u->req, name);
}

static int truthy(const char *v) { return v && (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes")); }

static int options_parse(upload *u, lh_ingest_file_req *r, int *async, lh_err *err) {
    r->dataset = option(u, "dataset");
    r->format = option(u, "format");
    if (r->format && !ingest_format_known(r->format)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "unknown format '%s'", r->format);
        lh_err_hint(err, "one of csv, json, ndjson, pdf, txt, sms (or leave it out)");
        return -1;
    }
    const char *bad = option(u, "bad_rows");
    if (bad && strcmp(bad, "fail") && strcmp(bad, "skip") && strcmp(bad, "report"))
        return lh_err_set(err, LH_E_BAD_REQUEST, "bad_rows must be 'fail' or 'skip'");
    r->bad_rows = bad && strcmp(bad, "fail") ? INGEST_BAD_ROWS_SKIP : INGEST_BAD_ROWS_FAIL;
    const char *d = option(u, "delimiter");
    if (d && *d) {
        if (!strcasecmp(d, "tab") || !strcmp(d, "\\t")) r->csv_delimiter = '\t';
        else if (strlen(d) == 1 && strchr(",;|\t", d[0])) r->csv_delimiter = d[0];
        else return lh_err_set(err, LH_E_BAD_REQUEST, "delimiter must be one of , ; | or tab");
    }
    const char *h = option(u, "header");
    r->csv_header = h ? truthy(h) : -1;
    *async = truthy(option(u, "async"));
    r->merge_schema = truthy(option(u, "merge_schema"));
    return 0;
}

void api_ingest_file(lh_app *app, lh_req *req, lh_resp *resp) {
    upload *u = req->upload_state;
    req->upload_state = NULL;
    lh_err err = {0};
    char sha[65] = "";
    if (!u) {
        resp_errorf(resp, LH_E_INTERNAL, NULL, "upload state missing");
        return;
    }
    if (multipart_finish(u->mp, &err) != 0) goto fail;
    if (!u->staged) {
        lh_err_set(&err, LH_E_BAD_REQUEST, "the form has no 'file' part");
        lh_err_hint(&err, "curl -F file=@data.csv [-F dataset=name] [-F format=csv]");
        goto fail;
    }
    close(u->fd);
    u->fd = -1;
    lh_sha256_final(u->sha, sha);
    u->sha = NULL;
    lh_ingest_file_req r = {.path = u->staged, .source_name = u->filename, .sha256 = sha, .prescan = u->prescan};
    int async = 0;
    if (options_parse(u, &r, &async, &err) != 0) goto fail;
    lh_ingest_task *task = ingest_task_new(app->catalog, app->storage, &r, u->staged);
    u->prescan = NULL; /* the task's now */
    upload_free(u, 1); /* the staged file now belongs to the task */
    if (async) {
        char *id = jobs_submit(app->jobs, "ingest", ingest_task_run, task, ingest_task_free, &err);
        if (!id) {
            resp_error(resp, &err);
            return;
        }
        resp_json(resp, 202, json_pack("{s:s, s:s}", "job_id", id, "state", "queued"));
        free(id);
        return;
    }
    char *id = NULL;
    int rc = jobs_run_inline(app->jobs, "ingest", ingest_task_run, task, &id, &err);
    json_t *res = rc == 0 ? ingest_task_result(task) : NULL;
    ingest_task_free(task);
    if (!res) {
        resp_error(resp, &err);
    } else {
        json_object_set_new(res, "job_id", json_string(id));
        resp_json(resp, 201, res);
    }
    free(id);
    return;
fail:
    upload_free(u, 0);
    resp_error(resp, &err);
}
