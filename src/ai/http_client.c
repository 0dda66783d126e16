/*
 * http_client.c — libcurl with a per-thread easy handle (keep-alive reuse),
 * per-attempt timeouts and retry with exponential backoff (http_client.h).
 */
#include "ai/http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/strbuf.h"

enum { BACKOFF_CAP_MS = 8000, DEFAULT_TIMEOUT_MS = 60000, DEFAULT_BACKOFF_MS = 250 };

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t handle_key;

static void handle_destroy(void *h) { curl_easy_cleanup(h); }

static void global_init(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&handle_key, handle_destroy);
}

void http_client_global_init(void) { pthread_once(&init_once, global_init); }

/* This thread's handle, reset to defaults but keeping its connections. */
static CURL *thread_handle(void) {
    http_client_global_init();
    CURL *h = pthread_getspecific(handle_key);
    if (h) {
        curl_easy_reset(h);
        return h;
    }
    h = curl_easy_init();
    if (h) pthread_setspecific(handle_key, h);
    return h;
}

void http_client_thread_cleanup(void) {
    http_client_global_init();
    CURL *h = pthread_getspecific(handle_key);
    if (h) {
        pthread_setspecific(handle_key, NULL);
        curl_easy_cleanup(h);
    }
}

void http_result_free(lh_http_result *res) {
    if (!res) return;
    free(res->body);
    memset(res, 0, sizeof *res);
}

typedef struct {
    lh_strbuf sb;
    int too_large;
} body_sink;

static size_t sink_write(char *ptr, size_t size, size_t n, void *ud) {
    body_sink *s = ud;
    size_t len = size * n;
    if (s->sb.len + len > LH_HTTP_MAX_BODY) {
        s->too_large = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    sb_append(&s->sb, ptr, len);
    return len;
}

static int retryable_status(long status) {
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

static int retryable_curl(CURLcode rc) {
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE;
}

/* Delay before retry number `attempt` (1-based): base·2^(attempt-1) plus up
 * to 25% jitter, at least the server's Retry-After, capped. */
static int64_t backoff_delay(int base_ms, int attempt, int64_t retry_after_s) {
    static _Thread_local unsigned seed;
    if (!seed) seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
    int64_t d = (int64_t)base_ms << (attempt - 1 < 10 ? attempt - 1 : 10);
    if (d > BACKOFF_CAP_MS) d = BACKOFF_CAP_MS;
    d += rand_r(&seed) % (d / 4 + 1);
    if (retry_after_s > 0 && retry_after_s * 1000 > d) d = retry_after_s * 1000;
    return d > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : d;
}

static void sleep_ms(int64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void setup_handle(CURL *h, const char *method, const char *url, const char *body,
                         const lh_http_opts *o, struct curl_slist *hdrs, body_sink *sink,
                         char *errbuf) {
    int64_t timeout = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    int64_t connect = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000;
    if (connect > timeout) connect = timeout;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)connect);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!strcmp(method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? strlen(body) : 0));
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
}

static struct curl_slist *build_headers(const lh_http_opts *o, int has_body) {
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
    if (has_body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    }
    if (o->bearer && *o->bearer) {
        char *auth = lh_asprintf("Authorization: Bearer %s", o->bearer);
        hdrs = curl_slist_append(hdrs, auth);
        free(auth);
    }
    return hdrs;
}

/* Fills err for a transfer that produced no usable HTTP answer. */
static int transport_error(CURLcode rc, const char *url, const char *errbuf, int64_t timeout_ms,
                           int attempts, const body_sink *sink, lh_err *err) {
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return lh_err_set(err, LH_E_TIMEOUT, "no answer from %s within %lld ms", url,
                          (long long)(timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS));
    if (rc == CURLE_WRITE_ERROR && sink->too_large)
        return lh_err_set(err, LH_E_BAD_GATEWAY, "answer from %s is larger than %zu MiB", url,
                          LH_HTTP_MAX_BODY >> 20);
    if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT)
        return lh_err_set(err, LH_E_UNAVAILABLE, "bad URL %s: %s", url, why);
    if (rc == CURLE_WEIRD_SERVER_REPLY)
        return lh_err_set(err, LH_E_BAD_GATEWAY, "%s did not answer in HTTP: %s", url, why);
    return lh_err_set(err, LH_E_UNAVAILABLE, "cannot reach %s (%s)%s", url, why,
                      attempts > 1 ? " after retries" : "");
}

int http_client_request(const char *method, const char *url, const char *json_body,
                        const lh_http_opts *opts, lh_http_result *res, lh_err *err) {
    if (!method || (strcmp(method, "GET") && strcmp(method, "POST")))
        return lh_err_set(err, LH_E_INTERNAL, "http_client: unsupported method");
    memset(res, 0, sizeof *res);
    lh_http_opts o = *opts;
    if (o.max_retries < 0) o.max_retries = 0;
    int base = o.backoff_ms > 0 ? o.backoff_ms : DEFAULT_BACKOFF_MS;
    CURL *h = thread_handle();
    if (!h) return lh_err_set(err, LH_E_INTERNAL, "curl_easy_init failed");
    struct curl_slist *hdrs = build_headers(&o, json_body != NULL);
    int rc_out = -1;
    for (int attempt = 0;; attempt++) {
        body_sink sink = {LH_STRBUF_INIT, 0};
        char errbuf[CURL_ERROR_SIZE] = "";
        setup_handle(h, method, url, json_body, &o, hdrs, &sink, errbuf);
        CURLcode rc = curl_easy_perform(h);
        long status = 0;
        curl_off_t retry_after = 0;
        if (rc == CURLE_OK) {
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
            curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after);
        }
        res->attempts = attempt + 1;
        int again = attempt < o.max_retries &&
                    (rc == CURLE_OK ? retryable_status(status) : retryable_curl(rc));
        if (again) {
            int64_t d = backoff_delay(base, attempt + 1, (int64_t)retry_after);
            char why[64];
            if (rc == CURLE_OK) snprintf(why, sizeof why, "HTTP %ld", status);
            else snprintf(why, sizeof why, "%s", curl_easy_strerror(rc));
            LOG_WARN("ai http: %s %s: %s; retry %d/%d in %lld ms", method, url, why, attempt + 1,
                     o.max_retries, (long long)d);
            sb_free(&sink.sb);
            sleep_ms(d);
            continue;
        }
        if (rc == CURLE_OK) {
            res->status = status;
            res->len = sink.sb.len;
            res->body = sink.sb.buf ? sb_steal(&sink.sb) : lh_strdup("");
            rc_out = 0;
        } else {
            transport_error(rc, url, errbuf, o.timeout_ms, attempt + 1, &sink, err);
            sb_free(&sink.sb);
        }
        break;
    }
    curl_slist_free_all(hdrs);
    return rc_out;
}
