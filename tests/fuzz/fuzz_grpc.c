/*
 * fuzz_grpc.c — libFuzzer target for what the gRPC server does with bytes
 * from the network before any catalog call: the first input byte picks a
 * chunk size, the rest goes through grpc_reader in chunks of that size;
 * every message it yields is unpacked as each CatalogService input type
 * and, when it decodes, rendered by pb_to_json and rebuilt by pb_from_json
 * (strict), which must accept what pb_to_json wrote.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/grpc.h"

static void check_message(const uint8_t *msg, size_t len) {
    const ProtobufCServiceDescriptor *svc = grpc_catalog_service_descriptor();
    for (unsigned i = 0; i < svc->n_methods; i++) {
        const ProtobufCMessageDescriptor *d = svc->methods[i].input;
        ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, msg);
        if (!m) continue;
        json_t *j = pb_to_json(m);
        lh_err err = {0};
        ProtobufCMessage *back = pb_from_json(d, j, 1, &err);
        if (!back) abort(); /* our own rendering must be accepted */
        protobuf_c_message_free_unpacked(back, NULL);
        json_decref(j);
        protobuf_c_message_free_unpacked(m, NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t chunk = (size_t)data[0] % 16 + 1;
    grpc_reader r;
    grpc_reader_init(&r, 1 << 16);
    for (size_t off = 1; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        grpc_reader_feed(&r, data + off, n);
        uint8_t *msg;
        size_t len;
        int rc;
        while ((rc = grpc_reader_next(&r, &msg, &len, NULL)) == 1) {
            check_message(msg, len);
            free(msg);
        }
        if (rc < 0) break;
    }
    grpc_reader_free(&r);
    return 0;
}
