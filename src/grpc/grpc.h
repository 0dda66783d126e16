/*
 * grpc.h — the internal gRPC API (proto/lakehouse.proto, package
 * lakehouse.v1): a server on HTTP/2 cleartext (h2c, prior knowledge) built
 * on nghttp2, one thread polling every connection, and CatalogService
 * translating calls to the catalog. Also the pieces a client needs, shared
 * with tests/helpers/grpc_call.c and the unit tests: gRPC message framing,
 * lh_err → gRPC status codes, and JSON ⇄ protobuf-c conversion driven by
 * the generated descriptors.
 */
#ifndef LH_GRPC_H
#define LH_GRPC_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "access/access.h"
#include "catalog/catalog.h"
#include "common/config.h"
#include "common/err.h"

/* ---- server ---------------------------------------------------------------- */

typedef struct lh_grpc_server lh_grpc_server;

/* Listens on config_bind_address(cfg):cfg->grpc.port (0 = any free port) and
 * serves CatalogService from one thread, authorizing every call through
 * access (access_authorize). cfg, cat and access are borrowed for the server's
 * lifetime. NULL with err when the port cannot be bound. */
lh_grpc_server *grpc_server_start(const lh_config *cfg, lh_catalog *cat, lh_access *access, lh_err *err);
int grpc_server_port(const lh_grpc_server *s);   /* the port actually bound */
void grpc_server_stop(lh_grpc_server *s);         /* NULL is fine */

/* ---- status codes ----------------------------------------------------------- */

enum {
    GRPC_OK = 0,
    GRPC_INVALID_ARGUMENT = 3,
    GRPC_DEADLINE_EXCEEDED = 4,
    GRPC_NOT_FOUND = 5,
    GRPC_ALREADY_EXISTS = 6,
    GRPC_PERMISSION_DENIED = 7,
    GRPC_RESOURCE_EXHAUSTED = 8,
    GRPC_FAILED_PRECONDITION = 9,
    GRPC_UNIMPLEMENTED = 12,
    GRPC_INTERNAL = 13,
    GRPC_UNAVAILABLE = 14,
    GRPC_UNAUTHENTICATED = 16,
};

int grpc_status_of(lh_errcode code);
/* grpc-message value: percent-encodes bytes outside 0x20..0x7E and '%'
 * (gRPC over HTTP/2 spec). Caller frees. */
char *grpc_message_encode(const char *msg);
/* The reverse, for clients. Caller frees. */
char *grpc_message_decode(const char *enc, size_t len);

/* ---- framing: 1 byte compressed flag, 4 bytes big-endian length, body ------ */

#define GRPC_MAX_MESSAGE (4u << 20) /* 4 MiB, gRPC's default receive limit */

typedef struct {
    uint8_t *buf;      /* owned: bytes received but not yet returned */
    size_t len, cap;
    size_t max_message;
} grpc_reader;

void grpc_reader_init(grpc_reader *r, size_t max_message);
void grpc_reader_free(grpc_reader *r);
/* Appends bytes as they arrive (any split, even mid-header). */
void grpc_reader_feed(grpc_reader *r, const void *data, size_t len);
/* 1: one whole message returned in *msg and *len (owned by the caller, free());
 * 0: need more bytes; -1: bad frame (compressed or over max_message), err set
 * (LH_E_BAD_REQUEST / LH_E_TOO_LARGE). */
int grpc_reader_next(grpc_reader *r, uint8_t **msg, size_t *len, lh_err *err);
/* 1 when bytes of an unfinished message are still buffered. */
int grpc_reader_partial(const grpc_reader *r);
/* The 5-byte prefix plus body, in a new buffer of *out_len bytes. */
uint8_t *grpc_frame_encode(const void *body, size_t len, size_t *out_len);

/* ---- JSON ⇄ protobuf-c (by field name, proto3 scalars, strings, messages,
 *      repeated fields; int64 accepted as JSON numbers or strings) ---------- */

/* Builds a message of type d from JSON object j; every field is set (missing
 * keys get their zero value), so protobuf_c_message_free_unpacked(m, NULL)
 * frees it. strict: unknown keys and mistyped values are LH_E_BAD_REQUEST;
 * otherwise they are skipped. */
ProtobufCMessage *pb_from_json(const ProtobufCMessageDescriptor *d, const json_t *j, int strict, lh_err *err);
/* A JSON object with every field of m (int64 as JSON numbers). */
json_t *pb_to_json(const ProtobufCMessage *m);
/* The method named name ("GetDataset") of service d, or NULL. */
const ProtobufCMethodDescriptor *pb_method_find(const ProtobufCServiceDescriptor *d, const char *name);
/* The generated lakehouse.v1.CatalogService descriptor. */
const ProtobufCServiceDescriptor *grpc_catalog_service_descriptor(void);

#endif
