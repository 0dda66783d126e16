/*
 * cli.c — text tables for query results and a small libcurl client for the
 * CLI commands that talk to a running server.
 */
#include "cli/cli.h"

#include <curl/curl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

#define CELL_MAX 60

/* Renders one cell as text (NULL → "NULL"); caller frees. */
static char *cell_text(const json_t *v) {
    if (!v || json_is_null(v)) return lh_strdup("NULL");
    if (json_is_string(v)) return lh_strdup(json_string_value(v));
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    return s ? s : lh_strdup("?");
}

/* Display width in code points, so UTF-8 text lines up. */
static size_t text_width(const char *s) {
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) w++;
    return w;
}

static void print_cell(FILE *out, const char *s, size_t width) {
    size_t w = text_width(s);
    if (w > CELL_MAX) {
        /* cut at a code point boundary and mark the cut */
        size_t cps = 0, i = 0;
        for (; s[i] && cps < CELL_MAX - 1; i++)
            if (((unsigned char)s[i+1] & 0xC0) != 0x80) cps++;
        fprintf(out, " %.*s…", (int)i, s);
        w = CELL_MAX;
    } else {
        fprintf(out, " %s", s);
    }
    for (size_t i = w; i < width; i++) fputc(' ', out);
    fputs(" |", out);
}

void cli_print_table(FILE *out, const json_t *result) {
    const json_t *cols = json_object_get(result, "columns");
    const json_t *rows = json_object_get(result, "rows");
    size_t nc = json_array_size(cols), nr = json_array_size(rows);
    size_t *width = lh_calloc(nc ? nc : 1, sizeof *width);
    for (size_t c = 0; c < nc; c++)
        width[c] = text_width(json_string_value(json_object_get(json_array_get(cols, c), "name")));
    for (size_t r = 0; r < nr; r++)
        for (size_t c = 0; c < nc; c++) {
            char *t = cell_text(json_array_get(json_array_get(rows, r), c));
            size_t w = text_width(t);
            if (w > CELL_MAX) w = CELL_MAX;
            if (w > width[c]) width[c] = w;
            free(t);
        }
    fputc('|', out);
    for (size_t c = 0; c < nc; c++)
        print_cell(out, json_string_value(json_object_get(json_array_get(cols, c), "name")), width[c]);
    fputs("\n|", out);
    for (size_t c = 0; c < nc; c++) {
        for (size_t i = 0; i < width[c] + 2; i++) fputc('-', out);
        fputc('|', out);
    }
    fputc('\n', out);
    for (size_t r = 0; r < nr; r++) {
        fputc('|', out);
        for (size_t c = 0; c < nc; c++) {
            char *t = cell_text(json_array_get(json_array_get(rows, r), c));
            print_cell(out, t, width[c]);
            free(t);
        }
        fputc('\n', out);
    }
    fprintf(out, "(%zu row%s%s)\n", nr, nr == 1 ? "" : "s",
            json_is_true(json_object_get(result, "truncated")) ? ", truncated" : "");
    free(width);
}

static size_t collect(char *ptr, size_t size, size_t n, void *ud) {
    sb_append(ud, ptr, size * n);
    return size * n;
}

json_t *cli_http_post_json(const char *base_url, const char *path, const char *api_key,
                           const json_t *body, long *status, lh_err *err) {
    CURL *h = curl_easy_init();
    if (!h) {
        lh_err_set(err, LH_E_INTERNAL, "curl init failed");
        return NULL;
    }
    char *url = lh_asprintf("%s%s", base_url, path);
    char *payload = json_dumps(body, JSON_COMPACT);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (api_key) {
        char *kh = lh_asprintf("X-API-Key: %s", api_key);
        hdrs = curl_slist_append(hdrs, kh);
        free(kh);
    }
    lh_strbuf out = LH_STRBUF_INIT;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(h);
    json_t *res = NULL;
    if (rc != CURLE_OK) {
        lh_err_set(err, LH_E_UNAVAILABLE, "%s: %s", url, curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        json_error_t je;
        res = json_loadb(out.buf ? out.buf : "", out.len, 0, &je);
        if (!res) lh_err_set(err, LH_E_BAD_GATEWAY, "server answered non-JSON: %s", je.text);
    }
    sb_free(&out);
    curl_slist_free_all(hdrs);
    free(payload);
    free(url);
    curl_easy_cleanup(h);
    return res;
}

int cli_server_alive(const char *base_url) {
    CURL *h = curl_easy_init();
    if (!h) return 0;
    char *url = lh_asprintf("%s/health", base_url);
    lh_strbuf sink = LH_STRBUF_INIT;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1500L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 500L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    int ok = curl_easy_perform(h) == CURLE_OK &&
             curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200;
    sb_free(&sink);
    free(url);
    curl_easy_cleanup(h);
    return ok;
}

void cli_progress(const char *label, long long done, long long total) {
    if (!isatty(STDERR_FILENO)) return;
    enum { WIDTH = 30 };
    if (total <= 0) {
        fprintf(stderr, "\r%-24s %lld", label, done);
    } else {
        int fill = (int)(WIDTH * (double)done / (double)total);
        if (fill > WIDTH) fill = WIDTH;
        char bar[WIDTH + 1];
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, ' ', (size_t)(WIDTH - fill));
        bar[WIDTH] = 0;
        fprintf(stderr, "\r%-24s [%s] %3d%%  %lld/%lld", label, bar, (int)(100.0 * done / total), done, total);
    }
    if (total > 0 && done >= total) fputc('\n', stderr);
    fflush(stderr);
}
