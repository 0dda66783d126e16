/*
 * grpc_call.c — a small gRPC client for tests and operators: sends one
 * unary call over h2c (nghttp2) and prints the outcome as JSON.
 *
 *   grpc_call [-k API_KEY] [--chunk N] HOST:PORT METHOD ['{"json":"request"}']
 *
 * METHOD is a CatalogService method ("GetDataset"); the request JSON is
 * turned into the method's input message through the generated
 * descriptors, and the response message back into JSON. Output:
 * {"http_status","grpc_status","grpc_message","response"}. --chunk N sends
 * the request body in DATA frames of at most N bytes (framing tests).
 * Exit 0 when a gRPC status came back, 1 on transport errors, 2 on usage.
 */
#include <netdb.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "grpc/grpc.h"

typedef struct {
    uint8_t *body;             /* framed request */
    size_t len, off, chunk;
    grpc_reader rd;            /* response messages */
    int http_status, grpc_status;
    char *grpc_message;
    int closed;
} call_state;

static ssize_t req_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                        nghttp2_data_source *src, void *user) {
    call_state *c = user;
    size_t n = c->len - c->off;
    if (n > len) n = len;
    if (c->chunk && n > c->chunk) n = c->chunk;
    memcpy(buf, c->body + c->off, n);
    c->off += n;
    if (c->off == c->len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *user) {
    call_state *c = user;
    char v[32];
    snprintf(v, sizeof v, "%.*s", (int)(vlen < 31 ? vlen : 31), (const char *)value);
    if (nlen == 7 && !memcmp(name, ":status", 7)) c->http_status = atoi(v);
    else if (nlen == 11 && !memcmp(name, "grpc-status", 11)) c->grpc_status = atoi(v);
    else if (nlen == 12 && !memcmp(name, "grpc-message", 12)) {
        free(c->grpc_message);
        c->grpc_message = grpc_message_decode((const char *)value, vlen);
    }
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *user) {
    grpc_reader_feed(&((call_state *)user)->rd, data, len);
    return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *user) {
    ((call_state *)user)->closed = 1;
    return 0;
}

static int dial(const char *hostport) {
    char host[256];
    snprintf(host, sizeof host, "%s", hostport);
    char *colon = strrchr(host, ':');
    if (!colon) return -1;
    *colon = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0) return -1;
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* Runs the session until the stream closes; -1 on a transport error. */
static int pump(nghttp2_session *s, int fd, call_state *c) {
    uint8_t buf[16384];
    while (!c->closed) {
        const uint8_t *out;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(s, &out)) > 0)
            if (send(fd, out, (size_t)n, MSG_NOSIGNAL) != n) return -1;
        if (n < 0) return -1;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 10000) <= 0) return -1;
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0 || nghttp2_session_mem_recv(s, buf, (size_t)r) < 0) return -1;
    }
    return 0;
}

static nghttp2_session *client_session(call_state *c) {
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    nghttp2_session *s = NULL;
    nghttp2_session_client_new(&s, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0);
    return s;
}

#define HDR(n, v) {(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE}

static int call(const char *hostport, const char *path, const char *key, call_state *c) {
    int fd = dial(hostport);
    if (fd < 0) return -1;
    nghttp2_session *s = client_session(c);
    nghttp2_nv hdr[] = {HDR(":method", "POST"), HDR(":scheme", "http"), HDR(":path", path),
                        HDR(":authority", hostport), HDR("content-type", "application/grpc"),
                        HDR("te", "trailers"), HDR("x-api-key", key ? key : "")};
    nghttp2_data_provider prd = {.read_callback = req_read};
    int rc = nghttp2_submit_request(s, NULL, hdr, key ? 7 : 6, &prd, c) < 0 ? -1 : pump(s, fd, c);
    nghttp2_session_del(s);
    close(fd);
    return rc;
}

/* Prints the outcome; the response message is decoded with out's type. */
static void print_result(call_state *c, const ProtobufCMessageDescriptor *out) {
    json_t *res = json_pack("{s:i, s:i, s:s, s:n}", "http_status", c->http_status, "grpc_status", c->grpc_status,
                            "grpc_message", c->grpc_message ? c->grpc_message : "", "response");
    uint8_t *msg;
    size_t len;
    lh_err err = {0};
    if (grpc_reader_next(&c->rd, &msg, &len, &err) == 1) {
        ProtobufCMessage *m = protobuf_c_message_unpack(out, NULL, len, msg);
        if (m) json_object_set_new(res, "response", pb_to_json(m));
        else json_object_set_new(res, "decode_error", json_string("response is not a valid message"));
        if (m) protobuf_c_message_free_unpacked(m, NULL);
        free(msg);
    }
    char *text = json_dumps(res, JSON_COMPACT);
    puts(text);
    free(text);
    json_decref(res);
}

static int usage(void) {
    fprintf(stderr, "usage: grpc_call [-k API_KEY] [--chunk N] HOST:PORT METHOD ['{request json}']\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *key = NULL;
    size_t chunk = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-k") && i + 1 < argc) key = argv[++i];
        else if (!strcmp(argv[i], "--chunk") && i + 1 < argc) chunk = (size_t)atol(argv[++i]);
        else return usage();
    }
    if (argc - i < 2) return usage();
    const char *method = strrchr(argv[i + 1], '/') ? strrchr(argv[i + 1], '/') + 1 : argv[i + 1];
    const ProtobufCServiceDescriptor *svc = grpc_catalog_service_descriptor();
    const ProtobufCMethodDescriptor *md = pb_method_find(svc, method);
    if (!md) return fprintf(stderr, "grpc_call: %s has no method '%s'\n", svc->name, method), 2;
    json_error_t jerr;
    json_t *in = argc - i > 2 ? json_loads(argv[i + 2], 0, &jerr) : json_object();
    if (!in) return fprintf(stderr, "grpc_call: request JSON: %s\n", jerr.text), 2;
    lh_err err = {0};
    ProtobufCMessage *req = pb_from_json(md->input, in, 1, &err);
    json_decref(in);
    if (!req) return fprintf(stderr, "grpc_call: %s\n", err.msg), 2;
    size_t plen = protobuf_c_message_get_packed_size(req);
    uint8_t *packed = lh_malloc(plen + 1);
    protobuf_c_message_pack(req, packed);
    protobuf_c_message_free_unpacked(req, NULL);
    call_state c = {.chunk = chunk, .grpc_status = -1};
    c.body = grpc_frame_encode(packed, plen, &c.len);
    free(packed);
    grpc_reader_init(&c.rd, 0);
    char *path = lh_asprintf("/%s/%s", svc->name, md->name);
    int rc = call(argv[i], path, key, &c);
    if (rc != 0) fprintf(stderr, "grpc_call: transport error talking to %s\n", argv[i]);
    else print_result(&c, md->output);
    free(path);
    free(c.body);
    free(c.grpc_message);
    grpc_reader_free(&c.rd);
    return rc != 0 ? 1 : 0;
}
