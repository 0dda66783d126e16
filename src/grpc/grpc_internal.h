/*
 * grpc_internal.h — between the gRPC server (grpc_server.c: connections,
 * HTTP/2, framing) and the services (catalog_service.c: auth and the
 * translation of messages to catalog calls). Not for other modules.
 */
#ifndef LH_GRPC_INTERNAL_H
#define LH_GRPC_INTERNAL_H

#include "access/access.h"
#include "grpc/grpc.h"

/* Runs one unary call. path is the HTTP/2 :path ("/lakehouse.v1.
 * CatalogService/GetDataset"), api_key the x-api-key metadata (NULL when
 * absent), client the peer's address (failed-attempt limiter), req/len the request message's bytes. Returns the gRPC status:
 * GRPC_OK with *resp, *resp_len (malloc'd serialized response), or another
 * code with err->msg as the grpc-message. */
int grpc_dispatch(lh_access *acc, lh_catalog *cat, const char *path, const char *api_key, const char *client,
                  const uint8_t *req, size_t len, uint8_t **resp, size_t *resp_len, lh_err *err);

#endif
