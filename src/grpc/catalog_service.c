/*
 * catalog_service.c — lakehouse.v1.CatalogService: routes a call by its
 * :path, authorizes the x-api-key metadata through access_authorize (the
 * same function and keys as HTTP: read may list/get, write may patch/delete),
 * audits the call, decodes the
 * request, makes the one catalog call and encodes the answer. Manifests
 * become Dataset messages by field name (pb_json.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/version.h"
#include "grpc/grpc_internal.h"
#include "lakehouse.pb-c.h"

#define SERVICE_PREFIX "/lakehouse.v1.CatalogService/"

typedef ProtobufCMessage *(*method_fn)(lh_catalog *cat, const ProtobufCMessage *req, lh_err *err);

typedef struct {
    const char *name;
    lh_level level;
    method_fn fn;
} method_row;

const ProtobufCServiceDescriptor *grpc_catalog_service_descriptor(void) {
    return &lakehouse__v1__catalog_service__descriptor;
}

/* ---- manifests → messages ---------------------------------------------------- */

/* A Dataset from a manifest (consumed). */
static ProtobufCMessage *dataset_of(json_t *m, lh_err *err) {
    if (!m) return NULL;
    json_t *fresh = json_object_get(json_object_get(m, "freshness"), "last_ingest_at");
    if (fresh) json_object_set(m, "last_ingest_at", fresh);
    ProtobufCMessage *d = pb_from_json(&lakehouse__v1__dataset__descriptor, m, 0, err);
    json_decref(m);
    return d;
}

/* Drops nulls and unwraps {"value":x} / {"tags":[..]} wrappers, recursively:
 * the request's JSON shape becomes catalog_patch's (new reference). */
static json_t *patch_unwrap(const json_t *v) {
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) json_array_append_new(a, patch_unwrap(e));
        return a;
    }
    if (!json_is_object(v)) return json_deep_copy(v);
    if (json_object_size(v) == 1 && (json_object_get(v, "value") || json_object_get(v, "tags")))
        return patch_unwrap(json_object_iter_value(json_object_iter((json_t *)v)));
    json_t *o = json_object();
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)v, k, e)
        if (!json_is_null(e)) json_object_set_new(o, k, patch_unwrap(e));
    return o;
}

/* ---- methods ------------------------------------------------------------------- */

static ProtobufCMessage *do_list(lh_catalog *cat, const ProtobufCMessage *req, lh_err *err) {
    json_t *all = catalog_list(cat);
    Lakehouse__V1__ListDatasetsResponse *r = lh_malloc(sizeof *r);
    lakehouse__v1__list_datasets_response__init(r);
    json_t *arr = json_object_get(all, "datasets");
    r->datasets = lh_calloc(json_array_size(arr) + 1, sizeof *r->datasets);
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m) {
        ProtobufCMessage *d = dataset_of(json_incref(m), err);
        if (d) r->datasets[r->n_datasets++] = (Lakehouse__V1__Dataset *)d;
    }
    json_decref(all);
    return &r->base;
}

static ProtobufCMessage *do_get(lh_catalog *cat, const ProtobufCMessage *req, lh_err *err) {
    const Lakehouse__V1__GetDatasetRequest *r = (const void *)req;
    return dataset_of(catalog_get(cat, r->name, err), err);
}

static ProtobufCMessage *do_patch(lh_catalog *cat, const ProtobufCMessage *req, lh_err *err) {
    const Lakehouse__V1__PatchMetadataRequest *r = (const void *)req;
    json_t *full = pb_to_json(req);
    json_object_del(full, "name");
    if (!r->n_columns) json_object_del(full, "columns");
    json_t *patch = patch_unwrap(full);
    json_decref(full);
    json_t *m = catalog_patch(cat, r->name, patch, err);
    json_decref(patch);
    return dataset_of(m, err);
}

static ProtobufCMessage *do_delete(lh_catalog *cat, const ProtobufCMessage *req, lh_err *err) {
    const Lakehouse__V1__DeleteDatasetRequest *r = (const void *)req;
    if (catalog_delete(cat, r->name, err) != 0) return NULL;
    Lakehouse__V1__DeleteDatasetResponse *out = lh_malloc(sizeof *out);
    lakehouse__v1__delete_dataset_response__init(out);
    out->name = lh_strdup(r->name);
    out->deleted = 1;
    return &out->base;
}

static ProtobufCMessage *do_health(lh_catalog *cat, const ProtobufCMessage *req, lh_err *err) {
    size_t n = 0;
    uint64_t version = 0;
    catalog_stats(cat, &n, &version);
    Lakehouse__V1__HealthResponse *out = lh_malloc(sizeof *out);
    lakehouse__v1__health_response__init(out);
    out->status = lh_strdup("ok");
    out->version = lh_strdup(LH_VERSION);
    out->datasets = (int64_t)n;
    out->catalog_version = (int64_t)version;
    return &out->base;
}

static const method_row METHODS[] = {
    {"ListDatasets", LH_LEVEL_READ, do_list},    {"GetDataset", LH_LEVEL_READ, do_get},
    {"PatchMetadata", LH_LEVEL_WRITE, do_patch}, {"DeleteDataset", LH_LEVEL_WRITE, do_delete},
    {"Health", LH_LEVEL_PUBLIC, do_health},
};

/* ---- dispatch ---------------------------------------------------------------------- */

static const method_row *method_row_find(const char *path) {
    if (!path || strncmp(path, SERVICE_PREFIX, strlen(SERVICE_PREFIX)) != 0) return NULL;
    const char *name = path + strlen(SERVICE_PREFIX);
    for (size_t i = 0; i < sizeof METHODS / sizeof METHODS[0]; i++)
        if (!strcmp(METHODS[i].name, name)) return &METHODS[i];
    return NULL;
}

/* Audits a call that reached the catalog or was refused (Health is not). */
static void audit_call(lh_access *acc, const lh_principal *who, const method_row *row, int status, const lh_err *err) {
    if (!acc || row->level == LH_LEVEL_PUBLIC) return;
    lh_access_audit_rec rec = {.caller = who->name, .role = who->role, .kind = "grpc", .sql = row->name, .rows = -1,
                               .elapsed_ms = -1, .outcome = status == GRPC_OK ? "ok"
                                                            : err->code == LH_E_FORBIDDEN || err->code == LH_E_UNAUTHORIZED
                                                                ? "denied"
                                                                : "error",
                               .error = status == GRPC_OK ? NULL : err->msg};
    access_audit(acc, &rec);
}

int grpc_dispatch(lh_access *acc, lh_catalog *cat, const char *path, const char *api_key, const char *client,
                  const uint8_t *req, size_t len, uint8_t **resp, size_t *resp_len, lh_err *err) {
    const method_row *row = method_row_find(path);
    const ProtobufCMethodDescriptor *md = row ? pb_method_find(grpc_catalog_service_descriptor(), row->name) : NULL;
    if (!md) {
        lh_err_set(err, LH_E_NOT_FOUND, "unknown method %s", path ? path : "(none)");
        return GRPC_UNIMPLEMENTED;
    }
    char what[96];
    snprintf(what, sizeof what, "call CatalogService/%s", row->name);
    lh_principal who;
    if (!acc) {
        lh_err_set(err, LH_E_UNAVAILABLE, "access control is not running");
        return GRPC_UNAVAILABLE;
    }
    if (access_authorize(acc, api_key, client, row->level, what, &who, err) != 0) { /* the one authorization */
        int st = grpc_status_of(err->code);
        audit_call(acc, &who, row, st, err);
        return st;
    }
    ProtobufCMessage *in = protobuf_c_message_unpack(md->input, NULL, len, req);
    if (!in) {
        lh_err_set(err, LH_E_BAD_REQUEST, "request is not a valid %s message", md->input->name);
        return GRPC_INVALID_ARGUMENT;
    }
    ProtobufCMessage *out = row->fn(cat, in, err);
    protobuf_c_message_free_unpacked(in, NULL);
    if (!out) {
        if (err->code == LH_OK) lh_err_set(err, LH_E_INTERNAL, "%s failed", row->name);
        audit_call(acc, &who, row, grpc_status_of(err->code), err);
        return grpc_status_of(err->code);
    }
    audit_call(acc, &who, row, GRPC_OK, err);
    *resp_len = protobuf_c_message_get_packed_size(out);
    *resp = lh_malloc(*resp_len ? *resp_len : 1);
    protobuf_c_message_pack(out, *resp);
    protobuf_c_message_free_unpacked(out, NULL);
    return GRPC_OK;
}
