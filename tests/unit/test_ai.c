/*
 * test_ai.c — the AI providers (src/ai): the builtin provider (embed,
 * rerank, generate unavailable, config checks) and the Ollama and OpenAI
 * providers against a small in-process HTTP server that speaks their wire
 * formats and can be told to misbehave: 429 then success, 500s, garbage,
 * wrong counts, non-numbers, changing dims, a missing model, or no answer
 * at all (timeouts). Also: batching, connection reuse, the Bearer token,
 * "server down", and several threads sharing one lh_ai.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ai/ai.h"
#include "ai/builtin.h"
#include "ai/http_client.h"
#include "common/strbuf.h"

/* ---- the mock model server ---------------------------------------------- */

typedef enum {
    MODE_OK, MODE_FAIL,         /* FAIL: `fail_status` for the next `fail_left` requests */
    MODE_GARBAGE, MODE_WRONG_COUNT, MODE_BAD_NUMBER, MODE_DIMS_CHANGE, MODE_HANG,
} mock_mode;

typedef struct {
    int listen_fd, port;
    pthread_t thread;
    volatile int stop;
    pthread_mutex_t mu;
    mock_mode mode;
    int fail_status, fail_left; /* fail_left < 0: forever */
    int requests, connections;
    char last_path[128], last_auth[128];
    char *last_body;
} mock_server;

static mock_server M;

static void mock_set(mock_mode mode, int status, int times) {
    pthread_mutex_lock(&M.mu);
    M.mode = mode;
    M.fail_status = status;
    M.fail_left = times;
    M.requests = 0;
    M.connections = 0;
    M.last_path[0] = M.last_auth[0] = '\0';
    pthread_mutex_unlock(&M.mu);
}

static void send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

static void reply(int fd, int status, const char *extra, const char *body) {
    char *msg = lh_asprintf("HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                            "Content-Length: %zu\r\n%s\r\n%s",
                            status, strlen(body), extra ? extra : "", body);
    send_all(fd, msg, strlen(msg)); /* one write: no Nagle/delayed-ACK stall */
    free(msg);
}

/* A small deterministic "embedding": letter counts folded into dims. */
static json_t *fake_vector(const char *text, int dims, int bad) {
    json_t *v = json_array();
    double acc[16] = {0};
    for (const char *p = text; *p; p++) acc[(unsigned char)*p % dims] += 1;
    acc[0] += 0.5; /* never the zero vector */
    for (int i = 0; i < dims; i++)
        json_array_append_new(v, bad && i == 1 ? json_string("x") : json_real(acc[i]));
    return v;
}

static char *answer_embed(json_t *req, int openai, mock_mode mode, int nth) {
    json_t *in = json_object_get(req, "input");
    size_t n = json_array_size(in);
    if (mode == MODE_WRONG_COUNT && n > 0) n--;
    int dims = mode == MODE_DIMS_CHANGE && nth > 1 ? 6 : 8;
    json_t *rows = json_array();
    for (size_t k = 0; k < n; k++) {
        size_t i = openai ? n - 1 - k : k; /* OpenAI items come back in reverse order */
        json_t *v = fake_vector(json_string_value(json_array_get(in, i)) ?: "", dims,
                                mode == MODE_BAD_NUMBER);
        json_array_append_new(rows, openai ? json_pack("{s:s, s:I, s:o}", "object", "embedding",
                                                       "index", (json_int_t)i, "embedding", v)
                                           : v);
    }
    json_t *res = openai ? json_pack("{s:o, s:s}", "data", rows, "model", "m")
                         : json_pack("{s:o, s:s}", "embeddings", rows, "model", "m");
    char *s = json_dumps(res, JSON_COMPACT);
    json_decref(res);
    return s;
}

static char *answer_generate(const char *path, json_t *req) {
    const char *model = json_string_value(json_object_get(req, "model"));
    json_t *res;
    if (!strcmp(path, "/api/generate")) {
        char *t = lh_asprintf("<think>hmm</think>\n echo: %s ",
                              json_string_value(json_object_get(req, "prompt")));
        res = json_pack("{s:s, s:s, s:b}", "model", model, "response", t, "done", 1);
        free(t);
    } else {
        json_t *msgs = json_object_get(req, "messages");
        const char *sys = "", *user = "";
        for (size_t i = 0; i < json_array_size(msgs); i++) {
            json_t *m = json_array_get(msgs, i);
            const char *role = json_string_value(json_object_get(m, "role"));
            const char *c = json_string_value(json_object_get(m, "content"));
            if (role && !strcmp(role, "system")) sys = c;
            else user = c;
        }
        char *t = lh_asprintf("sys=%s; echo: %s", sys, user);
        json_t *msg = json_pack("{s:s, s:s}", "role", "assistant", "content", t);
        res = !strcmp(path, "/api/chat")
                  ? json_pack("{s:s, s:o, s:b}", "model", model, "message", msg, "done", 1)
                  : json_pack("{s:[{s:i, s:o}]}", "choices", "index", 0, "message", msg);
        free(t);
    }
    char *s = json_dumps(res, JSON_COMPACT);
    json_decref(res);
    return s;
}

static void answer(int fd, const char *path, const char *body) {
    pthread_mutex_lock(&M.mu);
    int nth = ++M.requests;
    mock_mode mode = M.mode;
    int fail = mode == MODE_FAIL && M.fail_left != 0;
    if (fail && M.fail_left > 0) M.fail_left--;
    snprintf(M.last_path, sizeof M.last_path, "%s", path);
    free(M.last_body);
    M.last_body = lh_strdup(body);
    pthread_mutex_unlock(&M.mu);
    if (mode == MODE_HANG) return;
    if (fail) return reply(fd, M.fail_status, M.fail_status == 429 ? "Retry-After: 0\r\n" : NULL,
                           "{\"error\":\"server busy\"}");
    if (mode == MODE_GARBAGE) return reply(fd, 200, NULL, "<html>oops</html>");
    json_t *req = json_loads(body, 0, NULL);
    const char *model = json_string_value(json_object_get(req, "model"));
    char *out = NULL;
    if (model && strstr(model, "missing")) {
        int openai = !strncmp(path, "/v1/", 4);
        out = openai ? lh_asprintf("{\"error\":{\"message\":\"The model `%s` does not exist\","
                                   "\"type\":\"invalid_request_error\",\"code\":\"model_not_found\"}}", model)
                     : lh_asprintf("{\"error\":\"model \\\"%s\\\" not found, try pulling it first\"}", model);
        reply(fd, 404, NULL, out);
    } else if (!strcmp(path, "/api/embed") || !strcmp(path, "/v1/embeddings")) {
        out = answer_embed(req, path[1] == 'v', mode, nth);
        reply(fd, 200, NULL, out);
    } else if (!strcmp(path, "/api/generate") || !strcmp(path, "/api/chat") ||
               !strcmp(path, "/v1/chat/completions")) {
        out = answer_generate(path, req);
        reply(fd, 200, NULL, out);
    } else if (!strcmp(path, "/api/tags") || !strcmp(path, "/v1/models")) {
        reply(fd, 200, NULL, "{\"models\":[],\"data\":[]}");
    } else {
        reply(fd, 404, NULL, "404 page not found");
    }
    free(out);
    json_decref(req);
}

/* Reads one request from fd and answers it; -1 when the peer closed. */
static int serve_one(int fd) {
    lh_strbuf in = LH_STRBUF_INIT;
    char buf[65536];
    char *end = NULL;
    while (!end) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0) {
            sb_free(&in);
            return -1;
        }
        sb_append(&in, buf, (size_t)r);
        end = strstr(in.buf, "\r\n\r\n");
    }
    size_t head = (size_t)(end - in.buf) + 4, clen = 0;
    const char *cl = strcasestr(in.buf, "Content-Length:");
    if (cl && cl < end) clen = strtoul(cl + 15, NULL, 10);
    while (in.len < head + clen) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0) break;
        sb_append(&in, buf, (size_t)r);
    }
    char path[128] = "";
    sscanf(in.buf, "%*s %127s", path);
    const char *auth = strcasestr(in.buf, "Authorization: ");
    pthread_mutex_lock(&M.mu);
    if (auth && auth < end) sscanf(auth + 15, "%127[^\r]", M.last_auth);
    pthread_mutex_unlock(&M.mu);
    answer(fd, path, in.buf + head);
    sb_free(&in);
    return 0;
}

static void *mock_main(void *arg) {
    struct pollfd fds[17];
    int n = 1;
    fds[0] = (struct pollfd){.fd = M.listen_fd, .events = POLLIN};
    while (!M.stop) {
        if (poll(fds, (nfds_t)n, 50) <= 0) continue;
        for (int i = n - 1; i >= 1; i--) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            if (serve_one(fds[i].fd) != 0) {
                close(fds[i].fd);
                fds[i] = fds[--n];
            }
        }
        if ((fds[0].revents & POLLIN) && n < 17) {
            int c = accept(M.listen_fd, NULL, NULL);
            if (c >= 0) {
                fds[n++] = (struct pollfd){.fd = c, .events = POLLIN};
                pthread_mutex_lock(&M.mu);
                M.connections++;
                pthread_mutex_unlock(&M.mu);
            }
        }
    }
    for (int i = 1; i < n; i++) close(fds[i].fd);
    return arg;
}

/* Binds 127.0.0.1:0; returns the fd and the port. */
static int bind_loopback(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

static int mock_start(void **state) {
    (void)state;
    memset(&M, 0, sizeof M);
    pthread_mutex_init(&M.mu, NULL);
    M.listen_fd = bind_loopback(&M.port);
    listen(M.listen_fd, 16);
    pthread_create(&M.thread, NULL, mock_main, NULL);
    return 0;
}

static int mock_stop(void **state) {
    (void)state;
    M.stop = 1;
    pthread_join(M.thread, NULL);
    close(M.listen_fd);
    free(M.last_body);
    http_client_thread_cleanup();
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static lh_ai *remote_ai(const char *provider, const char *suffix, const char *embed_model,
                        int64_t timeout_ms, int retries) {
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", M.port, suffix);
    lh_ai_config c = {.provider = provider, .url = url, .model = "chat-model",
                      .embed_model = embed_model, .timeout_ms = timeout_ms,
                      .max_retries = retries, .backoff_ms = 5, .api_key = "sk-test"};
    lh_err err = {0};
    lh_ai *ai = ai_new(&c, &err);
    if (!ai) fail_msg("ai_new: %s", err.msg);
    return ai;
}

static float vnorm(const float *v, int d) {
    double s = 0;
    for (int i = 0; i < d; i++) s += (double)v[i] * v[i];
    return (float)sqrt(s);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int mock_requests(void) {
    pthread_mutex_lock(&M.mu);
    int n = M.requests;
    pthread_mutex_unlock(&M.mu);
    return n;
}

/* ---- builtin ------------------------------------------------------------ */

static void test_builtin_provider(void **state) {
    (void)state;
    lh_err err = {0};
    lh_ai *ai = ai_new(NULL, &err);
    assert_non_null(ai);
    assert_string_equal(ai_provider_name(ai), "builtin");
    assert_string_equal(ai_embed_model(ai), LH_BUILTIN_MODEL);
    assert_int_equal(ai_embed_dims(ai), 384);
    assert_string_equal(ai_embed_model_for(ai, NULL), LH_BUILTIN_MODEL);
    assert_string_equal(ai_embed_model_for(ai, "builtin-hash"), LH_BUILTIN_MODEL);
    assert_false(ai_can_generate(ai));
    assert_null(ai_url(ai));
    assert_int_equal(ai_health(ai, &err), 0);
    const char *texts[] = {"ICU nurse night shift", "", "forklift operator"};
    float *v = NULL;
    int dims = 0;
    assert_int_equal(ai_embed(ai, NULL, texts, 3, &v, &dims, &err), 0);
    assert_int_equal(dims, 384);
    float want[384];
    builtin_embed(texts[0], strlen(texts[0]), want, 384);
    assert_memory_equal(v, want, sizeof want);
    assert_true(fabsf(vnorm(v, 384) - 1) < 1e-4f);
    assert_true(vnorm(v + 384, 384) == 0.0f);
    free(v);
    /* explicit builtin model names work; others are refused */
    assert_int_equal(ai_embed(ai, "builtin-hash", texts, 1, &v, &dims, &err), 0);
    free(v);
    assert_int_equal(ai_embed(ai, "nomic-embed-text", texts, 1, &v, &dims, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_null(v);
    /* rerank by the same similarity */
    const char *docs[] = {"forklift warehouse", "registered nurse in the ICU", "java developer"};
    float s[3];
    assert_int_equal(ai_rerank(ai, "ICU registered nurse", docs, 3, s, &err), 0);
    assert_true(s[1] > s[0] && s[1] > s[2]);
    /* generate: 503 with a hint naming the config */
    char *text = NULL;
    assert_int_equal(ai_generate(ai, NULL, NULL, "hi", &text, &err), -1);
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    assert_non_null(strstr(err.hint, "LAKEHOUSE_AI_MODEL"));
    assert_non_null(strstr(err.hint, "[ai]"));
    assert_null(text);
    ai_free(ai);
}

static void test_builtin_dims_and_config_errors(void **state) {
    (void)state;
    lh_err err = {0};
    lh_ai *ai = ai_new(&(lh_ai_config){.dims = 768, .embed_model = "builtin-hash"}, &err);
    assert_non_null(ai);
    const char *t[] = {"hello world"};
    float *v;
    int d;
    assert_int_equal(ai_embed(ai, NULL, t, 1, &v, &d, &err), 0);
    assert_int_equal(d, 768);
    free(v);
    ai_free(ai);
    assert_null(ai_new(&(lh_ai_config){.provider = "bard"}, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "bard"));
    assert_null(ai_new(&(lh_ai_config){.provider = "openai"}, &err));
    assert_non_null(strstr(err.hint, "LAKEHOUSE_AI_URL"));
    assert_null(ai_new(&(lh_ai_config){.provider = "ollama", .url = "ftp://x"}, &err));
    assert_null(ai_new(&(lh_ai_config){.dims = 70000}, &err));
    assert_null(ai_new(&(lh_ai_config){.embed_model = "nomic-embed-text"}, &err));
    assert_non_null(strstr(err.hint, "provider"));
    /* ollama without a url uses Ollama's default; empty strings mean unset */
    ai = ai_new(&(lh_ai_config){.provider = "ollama", .url = "", .model = ""}, &err);
    assert_non_null(ai);
    assert_string_equal(ai_url(ai), "http://127.0.0.1:11434");
    assert_false(ai_can_generate(ai));
    assert_string_equal(ai_embed_model(ai), LH_BUILTIN_MODEL); /* embeds locally */
    ai_free(ai);
}

/* ---- ollama ------------------------------------------------------------- */

static void test_ollama_embed_batches_and_reuse(void **state) {
    (void)state;
    http_client_thread_cleanup(); /* start without a kept-alive connection */
    mock_set(MODE_OK, 0, 0);
    lh_ai *ai = remote_ai("ollama", "/", "mock-embed:v2", 5000, 0);
    assert_string_equal(ai_embed_model(ai), "mock-embed:v2");
    assert_string_equal(ai_embed_model_version(ai), "v2");
    assert_string_equal(ai_embed_model_for(ai, ""), "mock-embed:v2");
    assert_string_equal(ai_embed_model_for(ai, "other"), "other");
    assert_int_equal(ai_embed_dims(ai), 0);
    enum { N = 70 };
    char *own[N];
    const char *texts[N];
    for (int i = 0; i < N; i++) texts[i] = own[i] = lh_asprintf("text number %d %s", i, i % 2 ? "odd" : "");
    float *v = NULL;
    int d = 0;
    lh_err err = {0};
    assert_int_equal(ai_embed(ai, NULL, texts, N, &v, &d, &err), 0);
    assert_int_equal(d, 8);
    assert_int_equal(M.requests, 3);    /* 32 + 32 + 6 */
    assert_int_equal(M.connections, 1); /* one kept-alive connection */
    assert_string_equal(M.last_path, "/api/embed");
    for (int i = 0; i < N; i++) assert_true(fabsf(vnorm(v + i * 8, 8) - 1) < 1e-4f);
    /* row i is text i: embedding it alone gives the same vector */
    float *one;
    assert_int_equal(ai_embed(ai, NULL, texts + 41, 1, &one, &d, &err), 0);
    assert_memory_equal(one, v + 41 * 8, 8 * sizeof(float));
    assert_int_equal(M.connections, 1);
    free(one);
    free(v);
    /* a builtin model on an HTTP provider stays local */
    assert_int_equal(ai_embed(ai, LH_BUILTIN_MODEL, texts, 2, &v, &d, &err), 0);
    assert_int_equal(d, 384);
    assert_int_equal(M.requests, 4);
    free(v);
    /* rerank through the remote embeddings */
    const char *docs[] = {"zzzz", "text number 5 odd", "qqqq"};
    float s[3];
    assert_int_equal(ai_rerank(ai, "text number 5 odd", docs, 3, s, &err), 0);
    assert_true(s[1] > 0.999f && s[1] > s[0] && s[1] > s[2]);
    for (int i = 0; i < N; i++) free(own[i]);
    ai_free(ai);
}

static void test_ollama_generate_and_chat(void **state) {
    (void)state;
    mock_set(MODE_OK, 0, 0);
    lh_ai *ai = remote_ai("ollama", "", NULL, 5000, 0);
    assert_true(ai_can_generate(ai));
    assert_string_equal(ai_generate_model(ai), "chat-model");
    lh_err err = {0};
    char *t = NULL;
    assert_int_equal(ai_generate(ai, NULL, NULL, "2+2?", &t, &err), 0);
    assert_string_equal(M.last_path, "/api/generate");
    assert_non_null(strstr(M.last_body, "\"stream\":false"));
    assert_string_equal(t, "echo: 2+2?"); /* <think> block and spaces dropped */
    free(t);
    assert_int_equal(ai_generate(ai, "other-model", "be brief", "2+2?", &t, &err), 0);
    assert_string_equal(M.last_path, "/api/chat");
    assert_non_null(strstr(M.last_body, "other-model"));
    assert_string_equal(t, "sys=be brief; echo: 2+2?");
    free(t);
    assert_int_equal(ai_health(ai, &err), 0);
    assert_string_equal(M.last_path, "/api/tags");
    ai_free(ai);
}

static void test_ollama_missing_model(void **state) {
    (void)state;
    mock_set(MODE_OK, 0, 0);
    lh_ai *ai = remote_ai("ollama", "", "missing-embed", 5000, 0);
    const char *t[] = {"a"};
    float *v = NULL;
    int d;
    lh_err err = {0};
    assert_int_equal(ai_embed(ai, NULL, t, 1, &v, &d, &err), -1);
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "missing-embed"));
    assert_non_null(strstr(err.msg, "not available"));
    assert_non_null(strstr(err.hint, "ollama pull missing-embed"));
    assert_non_null(strstr(err.hint, "LAKEHOUSE_EMBED_MODEL"));
    assert_null(v);
    char *text = NULL;
    assert_int_equal(ai_generate(ai, "missing-llm", NULL, "x", &text, &err), -1);
    assert_non_null(strstr(err.hint, "LAKEHOUSE_AI_MODEL"));
    ai_free(ai);
}

/* ---- openai ------------------------------------------------------------- */

static void test_openai_embed_and_chat(void **state) {
    (void)state;
    const char *suffixes[] = {"", "/v1", "/v1/"};
    for (int k = 0; k < 3; k++) {
        mock_set(MODE_OK, 0, 0);
        lh_ai *ai = remote_ai("openai", suffixes[k], "text-embedding-3-small", 5000, 0);
        const char *t[] = {"alpha", "", "gamma delta"};
        float *v = NULL;
        int d;
        lh_err err = {0};
        assert_int_equal(ai_embed(ai, NULL, t, 3, &v, &d, &err), 0);
        assert_string_equal(M.last_path, "/v1/embeddings");
        assert_string_equal(M.last_auth, "Bearer sk-test");
        float *one;
        assert_int_equal(ai_embed(ai, NULL, t + 2, 1, &one, &d, &err), 0);
        assert_memory_equal(one, v + 2 * 8, 8 * sizeof(float)); /* index order restored */
        free(one);
        free(v);
        char *text = NULL;
        assert_int_equal(ai_generate(ai, NULL, "sys", "hello", &text, &err), 0);
        assert_string_equal(M.last_path, "/v1/chat/completions");
        assert_string_equal(text, "sys=sys; echo: hello");
        free(text);
        assert_int_equal(ai_generate(ai, NULL, NULL, "hello", &text, &err), 0);
        assert_string_equal(text, "sys=; echo: hello");
        free(text);
        ai_free(ai);
    }
    mock_set(MODE_OK, 0, 0);
    lh_ai *ai = remote_ai("openai", "", "missing-embedder", 5000, 0);
    const char *t[] = {"x"};
    float *v;
    int d;
    lh_err err = {0};
    assert_int_equal(ai_embed(ai, NULL, t, 1, &v, &d, &err), -1);
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "does not exist"));
    ai_free(ai);
}

/* ---- failures ----------------------------------------------------------- */

static void test_retry_429_then_success(void **state) {
    (void)state;
    mock_set(MODE_FAIL, 429, 2);
    lh_ai *ai = remote_ai("ollama", "", "mock-embed", 5000, 3);
    const char *t[] = {"a", "b"};
    float *v = NULL;
    int d;
    lh_err err = {0};
    assert_int_equal(ai_embed(ai, NULL, t, 2, &v, &d, &err), 0);
    assert_int_equal(mock_requests(), 3);
    free(v);
    /* 503 twice, then fine, for generation too */
    mock_set(MODE_FAIL, 503, 2);
    char *text;
    assert_int_equal(ai_generate(ai, NULL, NULL, "p", &text, &err), 0);
    assert_int_equal(mock_requests(), 3);
    free(text);
    /* rate limited forever: 503 naming 429 once the retries are spent */
    mock_set(MODE_FAIL, 429, -1);
    assert_int_equal(ai_embed(ai, NULL, t, 2, &v, &d, &err), -1);
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "429"));
    assert_int_equal(mock_requests(), 4);
    ai_free(ai);
}

static void test_server_errors_give_bad_gateway(void **state) {
    (void)state;
    mock_set(MODE_FAIL, 500, -1);
    lh_ai *ai = remote_ai("openai", "", "e", 5000, 2);
    const char *t[] = {"a"};
    float *v = NULL;
    int d;
    lh_err err = {0};
    assert_int_equal(ai_embed(ai, NULL, t, 1, &v, &d, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_GATEWAY);
    assert_non_null(strstr(err.msg, "HTTP 500"));
    assert_non_null(strstr(err.msg, "server busy"));
    assert_int_equal(mock_requests(), 3); /* 1 + 2 retries */
    /* 400 is not retried */
    mock_set(MODE_FAIL, 400, -1);
    assert_int_equal(ai_embed(ai, NULL, t, 1, &v, &d, &err), -1);
    assert_int_equal(mock_requests(), 1);
    assert_int_equal(err.code, LH_E_BAD_GATEWAY);
    ai_free(ai);
}

static void expect_garbage(const char *provider, mock_mode mode, const char *needle) {
    mock_set(mode, 0, 0);
    lh_ai *ai = remote_ai(provider, "", "e", 5000, 0);
    const char *t[] = {"a", "b", "c"};
    float *v = (float *)1;
    int d;
    lh_err err = {0};
    assert_int_equal(ai_embed(ai, NULL, t, 3, &v, &d, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_GATEWAY);
    if (!strstr(err.msg, needle)) fail_msg("'%s' lacks '%s'", err.msg, needle);
    assert_null(v); /* never a partial result */
    ai_free(ai);
}

static void test_garbage_answers(void **state) {
    (void)state;
    expect_garbage("ollama", MODE_GARBAGE, "not a JSON object: '<html>oops</html>'");
    expect_garbage("openai", MODE_GARBAGE, "not a JSON object");
    expect_garbage("ollama", MODE_WRONG_COUNT, "2 embeddings for 3 texts");
    expect_garbage("openai", MODE_WRONG_COUNT, "2 embeddings for 3 texts");
    expect_garbage("ollama", MODE_BAD_NUMBER, "not a number");
    expect_garbage("openai", MODE_BAD_NUMBER, "not a number");
    mock_set(MODE_GARBAGE, 0, 0);
    lh_ai *ai = remote_ai("ollama", "", "e", 5000, 0);
    char *text = NULL;
    lh_err err = {0};
    assert_int_equal(ai_generate(ai, NULL, NULL, "p", &text, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_GATEWAY);
    assert_null(text);
    ai_free(ai);
    /* dims changing between batches: the whole call fails */
    mock_set(MODE_DIMS_CHANGE, 0, 0);
    lh_ai_config c = {.provider = "ollama", .url = NULL, .embed_model = "e", .batch_size = 2};
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", M.port);
    c.url = url;
    ai = ai_new(&c, &err);
    const char *t[] = {"a", "b", "c", "d"};
    float *v = NULL;
    int d;
    assert_int_equal(ai_embed(ai, NULL, t, 4, &v, &d, &err), -1);
    assert_non_null(strstr(err.msg, "6 dims after 8 dims"));
    assert_null(v);
    ai_free(ai);
}

static void test_hang_times_out(void **state) {
    (void)state;
    mock_set(MODE_HANG, 0, 0);
    lh_ai *ai = remote_ai("ollama", "", "e", 300, 3);
    const char *t[] = {"a"};
    float *v = NULL;
    int d;
    lh_err err = {0};
    double t0 = now_s();
    assert_int_equal(ai_embed(ai, NULL, t, 1, &v, &d, &err), -1);
    double took = now_s() - t0;
    assert_int_equal(err.code, LH_E_TIMEOUT);
    assert_non_null(strstr(err.msg, "within 300 ms"));
    assert_true(took >= 0.25 && took < 2.0); /* a timeout is not retried */
    assert_int_equal(mock_requests(), 1);
    char *text = NULL;
    assert_int_equal(ai_generate(ai, NULL, "s", "p", &text, &err), -1);
    assert_int_equal(err.code, LH_E_TIMEOUT);
    ai_free(ai);
    mock_set(MODE_OK, 0, 0); /* the hung connection is gone; a new one works */
    ai = remote_ai("ollama", "", "e", 2000, 0);
    assert_int_equal(ai_embed(ai, NULL, t, 1, &v, &d, &err), 0);
    free(v);
    ai_free(ai);
}

static void test_server_down(void **state) {
    (void)state;
    int port;
    int fd = bind_loopback(&port);
    close(fd); /* nothing listens there now */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    lh_err err = {0};
    lh_ai *ai = ai_new(&(lh_ai_config){.provider = "ollama", .url = url, .model = "m",
                                       .embed_model = "e", .max_retries = 2, .backoff_ms = 5},
                       &err);
    const char *t[] = {"a"};
    float *v = NULL;
    int d;
    assert_int_equal(ai_embed(ai, NULL, t, 1, &v, &d, &err), -1);
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "cannot reach"));
    assert_non_null(strstr(err.msg, url));
    assert_non_null(strstr(err.hint, "ollama running"));
    assert_int_equal(ai_health(ai, &err), -1);
    char *text = NULL;
    assert_int_equal(ai_generate(ai, NULL, NULL, "p", &text, &err), -1);
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    ai_free(ai);
}

/* ---- threads ------------------------------------------------------------ */

static void *embed_worker(void *arg) {
    lh_ai *ai = arg;
    const char *t[] = {"one", "two", "three"};
    long ok = 1;
    for (int i = 0; i < 20; i++) {
        float *v = NULL;
        int d;
        lh_err err = {0};
        if (ai_embed(ai, NULL, t, 3, &v, &d, &err) != 0 || d != 8) ok = 0;
        free(v);
    }
    http_client_thread_cleanup();
    return (void *)ok;
}

static void test_threads_share_one_ai(void **state) {
    (void)state;
    mock_set(MODE_OK, 0, 0);
    lh_ai *ai = remote_ai("ollama", "", "e", 5000, 0);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, embed_worker, ai);
    for (int i = 0; i < 4; i++) {
        void *ok;
        pthread_join(th[i], &ok);
        assert_true(ok == (void *)1);
    }
    assert_int_equal(mock_requests(), 80);
    assert_true(M.connections <= 4); /* one connection per thread, reused */
    ai_free(ai);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_provider),
        cmocka_unit_test(test_builtin_dims_and_config_errors),
        cmocka_unit_test(test_ollama_embed_batches_and_reuse),
        cmocka_unit_test(test_ollama_generate_and_chat),
        cmocka_unit_test(test_ollama_missing_model),
        cmocka_unit_test(test_openai_embed_and_chat),
        cmocka_unit_test(test_retry_429_then_success),
        cmocka_unit_test(test_server_errors_give_bad_gateway),
        cmocka_unit_test(test_garbage_answers),
        cmocka_unit_test(test_hang_times_out),
        cmocka_unit_test(test_server_down),
        cmocka_unit_test(test_threads_share_one_ai),
    };
    return cmocka_run_group_tests(tests, mock_start, mock_stop);
}
