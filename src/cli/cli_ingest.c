/*
 * cli_ingest.c — the client side of `lakehouse ingest`: follow a job with a
 * progress bar (in this process, or a running server's over HTTP) and
 * upload a file to POST /ingest/file as a streamed multipart form.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/strbuf.h"

#define POLL_MS 150

static int job_finished(const json_t *job) {
    const char *s = json_string_value(json_object_get(job, "state"));
    return s && (!strcmp(s, "done") || !strcmp(s, "failed") || !strcmp(s, "cancelled"));
}

/* One progress line from a job document, redrawn when the count or the
 * phase moved; a finished job completes the bar. */
static int line_open; /* a progress line waits for its newline */

static void job_progress(const json_t *job, long long *last_done) {
    static char last_phase[32];
    const json_t *p = json_object_get(job, "progress");
    const char *phase = json_string_value(json_object_get(p, "phase"));
    long long done = (long long)json_integer_value(json_object_get(p, "done"));
    json_t *t = json_object_get(p, "total");
    long long total = json_is_integer(t) ? (long long)json_integer_value(t) : -1;
    const char *label = phase && *phase && strcmp(phase, "done") ? phase : last_phase[0] ? last_phase : "queued";
    if (!isatty(STDERR_FILENO)) return;
    if (job_finished(job)) {
        const char *state = json_string_value(json_object_get(job, "state"));
        if (state && !strcmp(state, "done") && total > 0) {
            cli_progress(label, total, total); /* ends the line */
            line_open = 0;
        }
        return;
    }
    if (total > 0 && done >= total) done = total - 1; /* the bar ends with the job */
    int new_phase = strcmp(label, last_phase) != 0;
    if (done == *last_done && !new_phase) return;
    if (new_phase && line_open) fputc('\n', stderr);
    cli_progress(label, done, total);
    line_open = 1;
    snprintf(last_phase, sizeof last_phase, "%s", label);
    *last_done = done;
}

/* The job's end: its result (new reference) or NULL with err. */
static json_t *job_outcome(const json_t *job, lh_err *err) {
    if (line_open) fputc('\n', stderr);
    line_open = 0;
    const char *state = json_string_value(json_object_get(job, "state"));
    if (state && !strcmp(state, "done")) {
        json_t *r = json_object_get(job, "result");
        return r ? json_incref(r) : json_object();
    }
    lh_err_set(err, state && !strcmp(state, "cancelled") ? LH_E_CONFLICT : LH_E_UNPROCESSABLE, "%s",
               json_string_value(json_object_get(job, "error")) ?: "the job failed");
    return NULL;
}

json_t *cli_follow_job(lh_jobs *js, const char *id, lh_err *err) {
    long long last = -1;
    for (;;) {
        json_t *job = jobs_get(js, id, err);
        if (!job) return NULL;
        job_progress(job, &last);
        if (job_finished(job)) {
            json_t *r = job_outcome(job, err);
            json_decref(job);
            return r;
        }
        json_decref(job);
        jobs_wait(js, id, POLL_MS);
    }
}

/* ---- over HTTP ---------------------------------------------------------- */

static size_t collect(char *ptr, size_t size, size_t n, void *ud) {
    sb_append(ud, ptr, size * n);
    return size * n;
}

static int upload_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    long long *last = ud;
    if (ultotal > 0 && ulnow != *last && ulnow < ultotal && isatty(STDERR_FILENO)) {
        cli_progress("uploading", (long long)ulnow, (long long)ultotal);
        line_open = 1;
    }
    *last = (long long)ulnow;
    return 0;
}

static CURL *easy_new(const char *url, const char *api_key, struct curl_slist **hdrs, lh_strbuf *out) {
    CURL *h = curl_easy_init();
    if (!h) return NULL;
    *hdrs = NULL;
    if (api_key) {
        char *kh = lh_asprintf("X-API-Key: %s", api_key);
        *hdrs = curl_slist_append(*hdrs, kh);
        free(kh);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    return h;
}

/* Runs h and parses the JSON answer; *status gets the HTTP status. */
static json_t *easy_json(CURL *h, const char *url, lh_strbuf *out, long *status, lh_err *err) {
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        lh_err_set(err, LH_E_UNAVAILABLE, "%s: %s", url, curl_easy_strerror(rc));
        return NULL;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    json_error_t je;
    json_t *res = json_loadb(out->buf ? out->buf : "", out->len, 0, &je);
    if (!res) lh_err_set(err, LH_E_BAD_GATEWAY, "server answered non-JSON (HTTP %ld)", *status);
    return res;
}

static json_t *http_error(json_t *res, long status, lh_err *err) {
    json_t *e = json_object_get(res, "error");
    lh_err_set(err, LH_E_BAD_REQUEST, "%s (HTTP %ld)", json_string_value(json_object_get(e, "message")) ?: "error",
               status);
    const char *hint = json_string_value(json_object_get(e, "hint"));
    if (hint) lh_err_hint(err, "%s", hint);
    json_decref(res);
    return NULL;
}

static json_t *http_get_job(const char *base_url, const char *api_key, const char *id, lh_err *err) {
    char *url = lh_asprintf("%s/jobs/%s", base_url, id);
    lh_strbuf out = LH_STRBUF_INIT;
    struct curl_slist *hdrs;
    CURL *h = easy_new(url, api_key, &hdrs, &out);
    long status = 0;
    json_t *res = h ? easy_json(h, url, &out, &status, err) : NULL;
    if (res && status != 200) res = http_error(res, status, err);
    if (h) curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    sb_free(&out);
    free(url);
    return res;
}

json_t *cli_ingest_remote(const char *base_url, const char *api_key, const cli_ingest_opts *o, lh_err *err) {
    char *url = lh_asprintf("%s/ingest/file", base_url);
    lh_strbuf out = LH_STRBUF_INIT;
    struct curl_slist *hdrs;
    CURL *h = easy_new(url, api_key, &hdrs, &out);
    if (!h) {
        free(url);
        lh_err_set(err, LH_E_INTERNAL, "curl init failed");
        return NULL;
    }
    curl_mime *form = curl_mime_init(h);
    curl_mimepart *p = curl_mime_addpart(form);
    curl_mime_name(p, "file");
    curl_mime_filedata(p, o->path); /* streamed from disk by curl */
    const char *fields[][2] = {{"dataset", o->dataset}, {"format", o->format}, {"bad_rows", o->bad_rows},
                               {"async", "true"}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (!fields[i][1]) continue;
        p = curl_mime_addpart(form);
        curl_mime_name(p, fields[i][0]);
        curl_mime_data(p, fields[i][1], CURL_ZERO_TERMINATED);
    }
    long long last = -1;
    curl_easy_setopt(h, CURLOPT_MIMEPOST, form);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, upload_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &last);
    long status = 0;
    json_t *res = easy_json(h, url, &out, &status, err);
    curl_mime_free(form);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    sb_free(&out);
    free(url);
    if (!res) return NULL;
    if (status != 202) return http_error(res, status, err);
    char *id = lh_strdup(json_string_value(json_object_get(res, "job_id")) ?: "");
    json_decref(res);
    json_t *result = NULL;
    last = -1;
    for (;;) {
        json_t *job = http_get_job(base_url, api_key, id, err);
        if (!job) break;
        job_progress(job, &last);
        if (job_finished(job)) {
            result = job_outcome(job, err);
            if (result) json_object_set_new(result, "job_id", json_string(id));
            json_decref(job);
            break;
        }
        json_decref(job);
        usleep(POLL_MS * 1000);
    }
    free(id);
    return result;
}
