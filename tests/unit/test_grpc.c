/*
 * test_grpc.c — the gRPC pieces that need no socket: message framing fed
 * in every split (byte by byte, header cut, several messages in one chunk),
 * bad frames, lh_err → status codes, grpc-message percent-encoding,
 * JSON ⇄ protobuf through the generated descriptors, and the dispatcher's
 * routing and auth decisions (x-api-key, roles) before any catalog call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "common/config.h"
#include "grpc/grpc_internal.h"
#include "lakehouse.pb-c.h"

/* Two framed messages back to back ("hello" and ""), in one buffer. */
static uint8_t *two_frames(size_t *len) {
    size_t a, b;
    uint8_t *fa = grpc_frame_encode("hello", 5, &a);
    uint8_t *fb = grpc_frame_encode(NULL, 0, &b);
    uint8_t *out = malloc(a + b);
    memcpy(out, fa, a);
    memcpy(out + a, fb, b);
    free(fa);
    free(fb);
    *len = a + b;
    return out;
}

static void test_frame_encode(void **state) {
    (void)state;
    size_t n;
    uint8_t *f = grpc_frame_encode("abc", 3, &n);
    assert_int_equal(n, 8);
    const uint8_t want[] = {0, 0, 0, 0, 3, 'a', 'b', 'c'};
    assert_memory_equal(f, want, 8);
    free(f);
}

static void test_reader_byte_by_byte(void **state) {
    (void)state;
    size_t len;
    uint8_t *bytes = two_frames(&len);
    grpc_reader r;
    grpc_reader_init(&r, 0);
    uint8_t *msg;
    size_t mlen;
    int got = 0;
    for (size_t i = 0; i < 10; i++) { /* "hello" is complete after 10 bytes */
        grpc_reader_feed(&r, bytes + i, 1);
        int rc = grpc_reader_next(&r, &msg, &mlen, NULL);
        if (i < 9) {
            assert_int_equal(rc, 0);
            assert_true(grpc_reader_partial(&r));
        } else {
            assert_int_equal(rc, 1);
            assert_int_equal(mlen, 5);
            assert_memory_equal(msg, "hello", 5);
            free(msg);
            got++;
        }
    }
    assert_false(grpc_reader_partial(&r));
    grpc_reader_feed(&r, bytes + 10, 3); /* the empty message's header, cut */
    assert_int_equal(grpc_reader_next(&r, &msg, &mlen, NULL), 0);
    grpc_reader_feed(&r, bytes + 13, 2);
    assert_int_equal(grpc_reader_next(&r, &msg, &mlen, NULL), 1);
    assert_int_equal(mlen, 0);
    free(msg);
    assert_int_equal(grpc_reader_next(&r, &msg, &mlen, NULL), 0);
    assert_false(grpc_reader_partial(&r));
    assert_int_equal(got, 1);
    grpc_reader_free(&r);
    free(bytes);
}

static void test_reader_one_chunk(void **state) {
    (void)state;
    size_t len;
    uint8_t *bytes = two_frames(&len);
    grpc_reader r;
    grpc_reader_init(&r, 0);
    grpc_reader_feed(&r, bytes, len);
    uint8_t *msg;
    size_t mlen;
    assert_int_equal(grpc_reader_next(&r, &msg, &mlen, NULL), 1);
    assert_int_equal(mlen, 5);
    free(msg);
    assert_int_equal(grpc_reader_next(&r, &msg, &mlen, NULL), 1);
    assert_int_equal(mlen, 0);
    free(msg);
    assert_int_equal(grpc_reader_next(&r, &msg, &mlen, NULL), 0);
    grpc_reader_free(&r);
    free(bytes);
}

static void test_reader_bad_frames(void **state) {
    (void)state;
    grpc_reader r;
    uint8_t *msg;
    size_t mlen;
    lh_err err = {0};
    grpc_reader_init(&r, 16);
    const uint8_t compressed[] = {1, 0, 0, 0, 1, 'x'};
    grpc_reader_feed(&r, compressed, sizeof compressed);
    assert_int_equal(grpc_reader_next(&r, &msg, &mlen, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "compressed"));
    grpc_reader_free(&r);
    grpc_reader_init(&r, 16);
    const uint8_t big[] = {0, 0, 0, 0, 17}; /* refused from the header alone */
    grpc_reader_feed(&r, big, sizeof big);
    assert_int_equal(grpc_reader_next(&r, &msg, &mlen, &err), -1);
    assert_int_equal(err.code, LH_E_TOO_LARGE);
    grpc_reader_free(&r);
}

static void test_status_codes(void **state) {
    (void)state;
    assert_int_equal(grpc_status_of(LH_OK), 0);
    assert_int_equal(grpc_status_of(LH_E_NOT_FOUND), 5);
    assert_int_equal(grpc_status_of(LH_E_BAD_REQUEST), 3);
    assert_int_equal(grpc_status_of(LH_E_UNPROCESSABLE), 3);
    assert_int_equal(grpc_status_of(LH_E_FORBIDDEN), 7);
    assert_int_equal(grpc_status_of(LH_E_UNAUTHORIZED), 16);
    assert_int_equal(grpc_status_of(LH_E_UNAVAILABLE), 14);
    assert_int_equal(grpc_status_of(LH_E_INTERNAL), 13);
    assert_int_equal(grpc_status_of(LH_E_CONFLICT), 6);
    assert_int_equal(grpc_status_of(LH_E_TOO_LARGE), 8);
}

static void test_message_encoding(void **state) {
    (void)state;
    char *e = grpc_message_encode("100% sure\nno 'x' \xc3\xa9");
    assert_string_equal(e, "100%25 sure%0Ano 'x' %C3%A9");
    char *d = grpc_message_decode(e, strlen(e));
    assert_string_equal(d, "100% sure\nno 'x' \xc3\xa9");
    free(e);
    free(d);
    d = grpc_message_decode("50%", 3); /* a cut escape stays as it is */
    assert_string_equal(d, "50%");
    free(d);
}

static const char *MANIFEST =
    "{\"name\":\"people\",\"version\":3,\"row_count\":42,\"size_bytes\":1234,\"schema_fingerprint\":\"ab12\","
    "\"description\":\"d\",\"owner\":\"o\",\"sensitivity\":\"confidential\",\"tags\":[\"hr\",\"pii\"],"
    "\"columns\":[{\"name\":\"email\",\"type\":\"VARCHAR\",\"nullable\":true,\"sensitivity\":\"confidential\","
    "\"pii\":[\"email\"],\"description\":\"\"}],\"lineage\":{\"source_system\":\"upload\",\"source\":\"a.csv\","
    "\"ingest_job\":\"job-1\"},\"created_at\":\"t0\",\"updated_at\":\"t1\",\"bucket\":\"primary\","
    "\"files\":[{\"path\":\"x\"}],\"freshness\":{\"last_ingest_at\":\"t2\"}}";

static void test_pb_json_round_trip(void **state) {
    (void)state;
    json_t *m = json_loads(MANIFEST, 0, NULL);
    lh_err err = {0};
    ProtobufCMessage *msg = pb_from_json(&lakehouse__v1__dataset__descriptor, m, 0, &err);
    assert_non_null(msg);
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n);
    protobuf_c_message_pack(msg, buf);
    protobuf_c_message_free_unpacked(msg, NULL);
    Lakehouse__V1__Dataset *d = lakehouse__v1__dataset__unpack(NULL, n, buf);
    free(buf);
    assert_non_null(d);
    assert_string_equal(d->name, "people");
    assert_int_equal(d->row_count, 42);
    assert_int_equal(d->n_tags, 2);
    assert_int_equal(d->n_columns, 1);
    assert_string_equal(d->columns[0]->pii[0], "email");
    assert_true(d->columns[0]->nullable);
    assert_string_equal(d->lineage->ingest_job, "job-1");
    assert_string_equal(d->last_ingest_at, ""); /* nested in freshness: the service copies it up */
    json_t *back = pb_to_json(&d->base);
    assert_int_equal(json_integer_value(json_object_get(back, "size_bytes")), 1234);
    assert_string_equal(json_string_value(json_object_get(json_object_get(back, "lineage"), "source")), "a.csv");
    assert_null(json_object_get(back, "bucket"));
    json_decref(back);
    lakehouse__v1__dataset__free_unpacked(d, NULL);
    json_decref(m);
}

static void test_pb_json_strict(void **state) {
    (void)state;
    lh_err err = {0};
    json_t *j = json_loads("{\"name\":\"x\",\"bogus\":1}", 0, NULL);
    assert_null(pb_from_json(&lakehouse__v1__get_dataset_request__descriptor, j, 1, &err));
    assert_non_null(strstr(err.msg, "bogus"));
    json_decref(j);
    j = json_loads("{\"name\":7}", 0, NULL);
    assert_null(pb_from_json(&lakehouse__v1__get_dataset_request__descriptor, j, 1, &err));
    json_decref(j);
    /* single-field wrappers may be given as their value; absent ones stay NULL */
    j = json_loads("{\"name\":\"x\",\"owner\":\"ann\",\"tags\":[\"a\"],\"columns\":[{\"name\":\"c\","
                   "\"sensitivity\":{\"value\":\"public\"}}]}", 0, NULL);
    Lakehouse__V1__PatchMetadataRequest *p =
        (void *)pb_from_json(&lakehouse__v1__patch_metadata_request__descriptor, j, 1, &err);
    assert_non_null(p);
    assert_string_equal(p->owner->value, "ann");
    assert_null(p->description);
    assert_int_equal(p->tags->n_tags, 1);
    assert_string_equal(p->columns[0]->sensitivity->value, "public");
    assert_null(p->columns[0]->description);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    json_decref(j);
}

static const char *AUTH_TOML = "[auth]\nenabled = true\n"
                               "[[auth.keys]]\nkey = \"rk\"\nrole = \"read\"\n"
                               "[[auth.keys]]\nkey = \"ak\"\nrole = \"admin\"\n";

static lh_access *g_access;

static int dispatch(const lh_config *cfg, const char *path, const char *key, const uint8_t *req, size_t len,
                    lh_err *err) {
    (void)cfg;
    uint8_t *resp = NULL;
    size_t rlen = 0;
    memset(err, 0, sizeof *err);
    int st = grpc_dispatch(g_access, NULL, path, key, "127.0.0.9", req, len, &resp, &rlen, err);
    free(resp);
    return st;
}

static void test_dispatch_auth(void **state) {
    (void)state;
    lh_err err = {0};
    lh_config *cfg = config_load_string(AUTH_TOML, "t.toml", &err);
    assert_non_null(cfg);
    assert_true(cfg->grpc.enabled);
    assert_int_equal(cfg->grpc.port, 3101);
    char tmpl[] = "/tmp/lh-grpc-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    lh_storage *st = storage_open_local("primary", tmpl, &err);
    assert_non_null(st);
    g_access = access_open(st, NULL, NULL, &err); /* the same authorization as HTTP */
    assert_non_null(g_access);
    assert_int_equal(access_auth_configure(g_access, cfg, &err), 0);
    const char *get = "/lakehouse.v1.CatalogService/GetDataset";
    const char *patch = "/lakehouse.v1.CatalogService/PatchMetadata";
    assert_int_equal(dispatch(cfg, get, NULL, NULL, 0, &err), GRPC_UNAUTHENTICATED);
    assert_int_equal(dispatch(cfg, get, "nope", NULL, 0, &err), GRPC_UNAUTHENTICATED);
    assert_int_equal(dispatch(cfg, patch, "rk", NULL, 0, &err), GRPC_PERMISSION_DENIED);
    assert_non_null(strstr(err.msg, "read"));
    assert_int_equal(dispatch(cfg, "/lakehouse.v1.CatalogService/Nope", "ak", NULL, 0, &err), GRPC_UNIMPLEMENTED);
    assert_int_equal(dispatch(cfg, "/other.Service/GetDataset", "ak", NULL, 0, &err), GRPC_UNIMPLEMENTED);
    const uint8_t garbage[] = {0xff, 0xff, 0xff};
    assert_int_equal(dispatch(cfg, get, "ak", garbage, sizeof garbage, &err), GRPC_INVALID_ARGUMENT);
    for (int i = 0; i < 12; i++) dispatch(cfg, get, "wrong", NULL, 0, &err); /* failures from one address */
    assert_int_equal(dispatch(cfg, get, "ak", garbage, sizeof garbage, &err), GRPC_RESOURCE_EXHAUSTED);
    access_free(g_access);
    storage_free(st);
    config_free(cfg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_encode),       cmocka_unit_test(test_reader_byte_by_byte),
        cmocka_unit_test(test_reader_one_chunk),   cmocka_unit_test(test_reader_bad_frames),
        cmocka_unit_test(test_status_codes),       cmocka_unit_test(test_message_encoding),
        cmocka_unit_test(test_pb_json_round_trip), cmocka_unit_test(test_pb_json_strict),
        cmocka_unit_test(test_dispatch_auth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
