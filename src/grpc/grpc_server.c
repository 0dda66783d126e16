/*
 * grpc_server.c — gRPC over HTTP/2 cleartext (h2c with prior knowledge):
 * one thread polls the listening socket, a wake-up pipe and every
 * connection; each connection is an nghttp2 server session fed from
 * non-blocking reads and drained into non-blocking writes.
 *
 * A stream collects :path, content-type and x-api-key, then its DATA bytes
 * through a grpc_reader; at END_STREAM the unary call runs (catalog calls
 * are short, so they run on this thread) and the answer goes out as
 * HEADERS, one framed message, and trailers with grpc-status /
 * grpc-message — or as a trailers-only response for errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "grpc/grpc_internal.h"

#define MAX_CONNS 1024
#define READ_CHUNK 16384

typedef struct stream {
    struct stream *prev, *next; /* the connection's open streams */
    char path[256];
    char api_key[256];
    int have_key;
    int grpc_ct;           /* content-type application/grpc[+proto] */
    grpc_reader rd;
    uint8_t *out;          /* framed response message */
    size_t out_len, out_off;
    char status[8];        /* trailers */
    char *message;
} stream;

typedef struct conn {
    struct lh_grpc_server *srv;
    int fd;
    char client[64];       /* the peer's address, for the failed-attempt limiter */
    stream *streams;       /* owned: freed on close even when nghttp2 never closes them */
    nghttp2_session *ses;
    uint8_t *wbuf;         /* bytes nghttp2 produced but the socket did not take */
    size_t wlen, woff;
    struct conn *next;
} conn;

struct lh_grpc_server {
    const lh_config *cfg;
    lh_catalog *cat;
    lh_access *access;
    int lfd, port;
    int wake[2];
    pthread_t thread;
    conn *conns;
    size_t nconns;
};

/* ---- responses --------------------------------------------------------------- */

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}

static ssize_t body_read(nghttp2_session *ses, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *user) {
    stream *st = src->ptr;
    size_t n = st->out_len - st->out_off;
    if (n > len) n = len;
    memcpy(buf, st->out + st->out_off, n);
    st->out_off += n;
    if (st->out_off == st->out_len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        nghttp2_nv tr[] = {NV("grpc-status", st->status)};
        if (nghttp2_submit_trailer(ses, id, tr, 1) != 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return (ssize_t)n;
}

static void reply_error(nghttp2_session *ses, int32_t id, stream *st, int status, const char *msg) {
    snprintf(st->status, sizeof st->status, "%d", status);
    free(st->message);
    st->message = grpc_message_encode(msg);
    nghttp2_nv hdr[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                        NV("grpc-status", st->status), NV("grpc-message", st->message)};
    nghttp2_submit_response(ses, id, hdr, 4, NULL);
}

static void reply_ok(nghttp2_session *ses, int32_t id, stream *st, uint8_t *msg, size_t len) {
    st->out = grpc_frame_encode(msg, len, &st->out_len);
    st->out_off = 0;
    snprintf(st->status, sizeof st->status, "0");
    nghttp2_nv hdr[] = {NV(":status", "200"), NV("content-type", "application/grpc")};
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = body_read};
    nghttp2_submit_response(ses, id, hdr, 2, &prd);
}

/* The request is complete: run the call and submit the answer. */
static void stream_finish(lh_grpc_server *srv, const char *client, nghttp2_session *ses, int32_t id, stream *st) {
    if (!st->grpc_ct) {
        nghttp2_nv hdr[] = {NV(":status", "415")};
        nghttp2_submit_response(ses, id, hdr, 1, NULL);
        return;
    }
    lh_err err = {0};
    uint8_t *msg = NULL, *resp = NULL;
    size_t len = 0, rlen = 0;
    int got = grpc_reader_next(&st->rd, &msg, &len, &err);
    if (got < 0 || (got == 0 && grpc_reader_partial(&st->rd))) {
        if (got == 0) lh_err_set(&err, LH_E_BAD_REQUEST, "the request message is truncated");
        reply_error(ses, id, st, grpc_status_of(err.code), err.msg);
        return;
    }
    int status = grpc_dispatch(srv->access, srv->cat, st->path, st->have_key ? st->api_key : NULL, client, msg,
                               got ? len : 0, &resp, &rlen, &err);
    free(msg);
    if (status == GRPC_OK) reply_ok(ses, id, st, resp, rlen);
    else reply_error(ses, id, st, status, err.msg);
    free(resp);
    LOG_DEBUG("grpc %s -> %d", st->path, status);
}

/* ---- nghttp2 callbacks ------------------------------------------------------------ */

static int on_begin_headers(nghttp2_session *ses, const nghttp2_frame *f, void *user) {
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    conn *c = user;
    stream *st = lh_calloc(1, sizeof *st);
    grpc_reader_init(&st->rd, GRPC_MAX_MESSAGE);
    st->next = c->streams;
    if (c->streams) c->streams->prev = st;
    c->streams = st;
    nghttp2_session_set_stream_user_data(ses, f->hd.stream_id, st);
    return 0;
}

static void copy_value(char *dst, size_t cap, const uint8_t *v, size_t len) {
    if (len >= cap) len = cap - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

static int on_header(nghttp2_session *ses, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *user) {
    stream *st = nghttp2_session_get_stream_user_data(ses, f->hd.stream_id);
    if (!st || f->hd.type != NGHTTP2_HEADERS) return 0;
    if (nlen == 5 && !memcmp(name, ":path", 5)) copy_value(st->path, sizeof st->path, value, vlen);
    else if (nlen == 9 && !memcmp(name, "x-api-key", 9)) {
        copy_value(st->api_key, sizeof st->api_key, value, vlen);
        st->have_key = 1;
    } else if (nlen == 12 && !memcmp(name, "content-type", 12))
        st->grpc_ct = vlen >= 16 && !memcmp(value, "application/grpc", 16) &&
                      (vlen == 16 || value[16] == '+' || value[16] == ';');
    return 0;
}

static int on_data(nghttp2_session *ses, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *user) {
    stream *st = nghttp2_session_get_stream_user_data(ses, id);
    if (!st) return 0;
    if (st->rd.len + len > GRPC_MAX_MESSAGE + 5) { /* a unary call carries one message */
        nghttp2_submit_rst_stream(ses, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
        return 0;
    }
    grpc_reader_feed(&st->rd, data, len);
    return 0;
}

static int on_frame(nghttp2_session *ses, const nghttp2_frame *f, void *user) {
    if ((f->hd.type != NGHTTP2_DATA && f->hd.type != NGHTTP2_HEADERS) || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    stream *st = nghttp2_session_get_stream_user_data(ses, f->hd.stream_id);
    if (st) stream_finish(((conn *)user)->srv, ((conn *)user)->client, ses, f->hd.stream_id, st);
    return 0;
}

static void stream_free(conn *c, stream *st) {
    if (st->prev) st->prev->next = st->next;
    else c->streams = st->next;
    if (st->next) st->next->prev = st->prev;
    grpc_reader_free(&st->rd);
    free(st->out);
    free(st->message);
    free(st);
}

static int on_close(nghttp2_session *ses, int32_t id, uint32_t code, void *user) {
    stream *st = nghttp2_session_get_stream_user_data(ses, id);
    if (!st) return 0;
    nghttp2_session_set_stream_user_data(ses, id, NULL);
    stream_free(user, st);
    return 0;
}

static nghttp2_session *session_new(conn *c) {
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    nghttp2_session *ses = NULL;
    int rc = nghttp2_session_server_new(&ses, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rc != 0) return NULL;
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    nghttp2_submit_settings(ses, NGHTTP2_FLAG_NONE, iv, 1);
    return ses;
}

/* ---- connections ------------------------------------------------------------------ */

static void conn_close(lh_grpc_server *srv, conn *c) {
    for (conn **p = &srv->conns; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    nghttp2_session_del(c->ses);
    while (c->streams) stream_free(c, c->streams);
    close(c->fd);
    free(c->wbuf);
    free(c);
    srv->nconns--;
}

/* Writes what nghttp2 has to send; 0 when all is sent or the socket is full. */
static int conn_flush(conn *c) {
    for (;;) {
        if (c->woff == c->wlen) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->ses, &data);
            if (n < 0) return -1;
            if (n == 0) return 0;
            c->wbuf = lh_realloc(c->wbuf, (size_t)n);
            memcpy(c->wbuf, data, (size_t)n);
            c->wlen = (size_t)n;
            c->woff = 0;
        }
        ssize_t w = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (w < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        c->woff += (size_t)w;
    }
}

/* Feeds what the socket has to nghttp2; -1 on EOF or a protocol error. */
static int conn_read(conn *c) {
    uint8_t buf[READ_CHUNK];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n == 0) return -1;
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        if (nghttp2_session_mem_recv(c->ses, buf, (size_t)n) < 0) return -1;
    }
}

static void conn_accept(lh_grpc_server *srv) {
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(srv->lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        conn *c = lh_calloc(1, sizeof *c);
        c->srv = srv;
        c->fd = fd;
        snprintf(c->client, sizeof c->client, "?");
        if (peer.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&peer)->sin_addr, c->client, sizeof c->client);
        else if (peer.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&peer)->sin6_addr, c->client, sizeof c->client);
        c->ses = srv->nconns < MAX_CONNS ? session_new(c) : NULL;
        if (!c->ses) {
            close(fd);
            free(c);
            continue;
        }
        c->next = srv->conns;
        srv->conns = c;
        srv->nconns++;
    }
}

static short conn_events(const conn *c) {
    short ev = 0;
    if (nghttp2_session_want_read(c->ses)) ev |= POLLIN;
    if (c->woff < c->wlen || nghttp2_session_want_write(c->ses)) ev |= POLLOUT;
    return ev;
}

/* Handles one connection's poll result; closes it when it is done. */
static void conn_serve(lh_grpc_server *srv, conn *c, short revents) {
    int bad = 0;
    if (revents & (POLLIN | POLLHUP | POLLERR)) bad = conn_read(c) != 0;
    if (!bad) bad = conn_flush(c) != 0;
    if (bad || !conn_events(c)) conn_close(srv, c);
}

static void *serve_loop(void *arg) {
    lh_grpc_server *srv = arg;
    for (;;) {
        size_t n = 2 + srv->nconns, i = 2;
        struct pollfd *pf = lh_calloc(n, sizeof *pf);
        conn **cs = lh_calloc(n, sizeof *cs);
        pf[0] = (struct pollfd){.fd = srv->wake[0], .events = POLLIN};
        pf[1] = (struct pollfd){.fd = srv->lfd, .events = POLLIN};
        for (conn *c = srv->conns; c; c = c->next, i++) {
            cs[i] = c;
            pf[i] = (struct pollfd){.fd = c->fd, .events = conn_events(c)};
        }
        int rc = poll(pf, n, -1);
        int stop = rc > 0 && pf[0].revents;
        for (i = 2; rc > 0 && !stop && i < n; i++)
            if (pf[i].revents) conn_serve(srv, cs[i], pf[i].revents);
        if (rc > 0 && !stop && pf[1].revents) conn_accept(srv);
        free(pf);
        free(cs);
        if (stop) return NULL;
    }
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static int listen_on(const char *host, int port, int *bound, lh_err *err) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int grc = getaddrinfo(host && *host ? host : NULL, ps, &hints, &res);
    if (grc != 0) return lh_err_set(err, LH_E_INTERNAL, "grpc: host '%s': %s", host, gai_strerror(grc));
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        freeaddrinfo(res);
        return lh_err_set(err, LH_E_UNAVAILABLE, "grpc: cannot listen on %s:%d: %s", host, port, strerror(e));
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

lh_grpc_server *grpc_server_start(const lh_config *cfg, lh_catalog *cat, lh_access *access, lh_err *err) {
    lh_grpc_server *s = lh_calloc(1, sizeof *s);
    s->cfg = cfg;
    s->access = access;
    s->cat = cat;
    s->lfd = listen_on(config_bind_address(cfg), cfg->grpc.port, &s->port, err);
    if (s->lfd < 0) {
        free(s);
        return NULL;
    }
    if (pipe2(s->wake, O_CLOEXEC) != 0) {
        lh_err_set(err, LH_E_INTERNAL, "grpc: cannot make its wake pipe: %s", strerror(errno));
        close(s->lfd);
        free(s);
        return NULL;
    }
    if (lh_thread_start(&s->thread, NULL, serve_loop, s, "gRPC server", err) != 0) {
        close(s->wake[0]);
        close(s->wake[1]);
        close(s->lfd);
        free(s);
        return NULL;
    }
    return s;
}

int grpc_server_port(const lh_grpc_server *s) { return s->port; }

void grpc_server_stop(lh_grpc_server *s) {
    if (!s) return;
    ssize_t w = write(s->wake[1], "x", 1);
    (void)w;
    pthread_join(s->thread, NULL);
    while (s->conns) conn_close(s, s->conns);
    close(s->lfd);
    close(s->wake[0]);
    close(s->wake[1]);
    free(s);
}
