/*
 * pb_json.c — JSON ⇄ protobuf-c messages, walking the descriptors protoc-c
 * generates: fields are matched by name, so a catalog manifest becomes a
 * Dataset message without a line per field, and tests/helpers/grpc_call.c can call
 * any method of any service from JSON.
 *
 * Building: the message is calloc'd and every field is set (strings always
 * malloc'd, even empty ones), so protobuf_c_message_free_unpacked(m, NULL)
 * frees it like a message protobuf-c unpacked itself. Sugar: a message
 * with a single field may be given as that field's value ("x" for
 * StringValue{value:"x"}, [..] for TagList{tags:[..]}).
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "grpc/grpc.h"

static size_t elem_size(ProtobufCType t) {
    switch (t) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int32_t);
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(int64_t);
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    default: return sizeof(void *); /* string, message */
    }
}

static int mistyped(const ProtobufCFieldDescriptor *f, const char *want, int strict, lh_err *err) {
    if (!strict) return 0;
    return lh_err_set(err, LH_E_BAD_REQUEST, "field '%s' must be %s", f->name, want);
}

/* An integer from a JSON number or a decimal string. */
static int json_to_i64(const json_t *v, int64_t *out) {
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v)) return -1;
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (!*s || *end || errno) return -1;
    *out = x;
    return 0;
}

static int set_number(const ProtobufCFieldDescriptor *f, const json_t *v, void *slot, int strict, lh_err *err) {
    if (f->type == PROTOBUF_C_TYPE_DOUBLE || f->type == PROTOBUF_C_TYPE_FLOAT) {
        if (!json_is_number(v)) return mistyped(f, "a number", strict, err);
        if (f->type == PROTOBUF_C_TYPE_DOUBLE) *(double *)slot = json_number_value(v);
        else *(float *)slot = (float)json_number_value(v);
        return 0;
    }
    int64_t x;
    if (json_to_i64(v, &x) != 0) return mistyped(f, "an integer", strict, err);
    if (elem_size(f->type) == sizeof(int64_t)) *(int64_t *)slot = x;
    else *(int32_t *)slot = (int32_t)x;
    return 0;
}

/* A nested message, from an object or (sugar) its single field's value. */
static int set_message(const ProtobufCFieldDescriptor *f, const json_t *v, void *slot, int strict, lh_err *err) {
    const ProtobufCMessageDescriptor *d = f->descriptor;
    json_t *wrapped = NULL;
    if (json_is_null(v)) return 0;
    if (!json_is_object(v)) {
        if (d->n_fields != 1) return mistyped(f, "an object", strict, err);
        wrapped = json_pack("{s:O}", d->fields[0].name, v);
        v = wrapped;
    }
    ProtobufCMessage *m = pb_from_json(d, v, strict, err);
    json_decref(wrapped);
    if (!m) {
        lh_err_prefix(err, "%s", f->name);
        return -1;
    }
    *(ProtobufCMessage **)slot = m;
    return 0;
}

/* One value into slot (already holding the zero value). */
static int value_from_json(const ProtobufCFieldDescriptor *f, const json_t *v, void *slot, int strict,
                           lh_err *err) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (!json_is_string(v)) return mistyped(f, "a string", strict, err);
        free(*(char **)slot);
        *(char **)slot = lh_strdup(json_string_value(v));
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v)) return mistyped(f, "true or false", strict, err);
        *(protobuf_c_boolean *)slot = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_MESSAGE: return set_message(f, v, slot, strict, err);
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_ENUM: return mistyped(f, "(unsupported in JSON)", strict, err);
    default: return set_number(f, v, slot, strict, err);
    }
}

static void value_zero(const ProtobufCFieldDescriptor *f, void *slot) {
    memset(slot, 0, elem_size(f->type));
    if (f->type == PROTOBUF_C_TYPE_STRING) *(char **)slot = lh_strdup("");
}

static int repeated_from_json(const ProtobufCFieldDescriptor *f, const json_t *v, ProtobufCMessage *m,
                              int strict, lh_err *err) {
    size_t *n = (size_t *)((char *)m + f->quantifier_offset);
    void **arr = (void **)((char *)m + f->offset);
    *n = 0;
    *arr = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_array(v)) return mistyped(f, "an array", strict, err);
    size_t es = elem_size(f->type), len = json_array_size(v);
    *arr = lh_calloc(len ? len : 1, es);
    for (size_t i = 0; i < len; i++) {
        void *slot = (char *)*arr + *n * es;
        value_zero(f, slot);
        (*n)++; /* counted before converting, so a failure frees it */
        if (value_from_json(f, json_array_get(v, i), slot, strict, err) != 0) return -1;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && !*(void **)slot) (*n)--; /* null entries are dropped */
    }
    return 0;
}

static int field_from_json(const ProtobufCFieldDescriptor *f, const json_t *v, void *slot, int strict,
                           lh_err *err) {
    value_zero(f, slot);
    if (!v || json_is_null(v)) return 0;
    return value_from_json(f, v, slot, strict, err);
}

static int check_unknown_keys(const ProtobufCMessageDescriptor *d, const json_t *j, lh_err *err) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v)
        if (!protobuf_c_message_descriptor_get_field_by_name(d, k))
            return lh_err_set(err, LH_E_BAD_REQUEST, "%s has no field '%s'", d->name, k);
    return 0;
}

ProtobufCMessage *pb_from_json(const ProtobufCMessageDescriptor *d, const json_t *j, int strict, lh_err *err) {
    assert(d && d->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
    if (j && !json_is_object(j)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "%s must be a JSON object", d->name);
        return NULL;
    }
    if (strict && j && check_unknown_keys(d, j, err) != 0) return NULL;
    ProtobufCMessage *m = lh_calloc(1, d->sizeof_message);
    d->message_init(m);
    int rc = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const json_t *v = j ? json_object_get(j, f->name) : NULL;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (rc == 0) rc = repeated_from_json(f, v, m, strict, err); /* else: init left it empty */
        } else {
            void *slot = (char *)m + f->offset;
            if (rc == 0) rc = field_from_json(f, v, slot, strict, err);
            else value_zero(f, slot);
        }
    }
    if (rc != 0) {
        protobuf_c_message_free_unpacked(m, NULL);
        return NULL;
    }
    return m;
}

/* ---- to JSON ---------------------------------------------------------------- */

static json_t *value_to_json(const ProtobufCFieldDescriptor *f, const void *slot) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)slot;
        json_t *j = json_string(s ? s : "");
        return j ? j : json_string(""); /* not UTF-8 */
    }
    case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)slot);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)slot;
        return sub ? pb_to_json(sub) : json_null();
    }
    case PROTOBUF_C_TYPE_DOUBLE: return json_real(*(const double *)slot);
    case PROTOBUF_C_TYPE_FLOAT: return json_real(*(const float *)slot);
    case PROTOBUF_C_TYPE_BYTES: return json_null();
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)slot);
    default:
        if (elem_size(f->type) == sizeof(int64_t)) return json_integer(*(const int64_t *)slot);
        return json_integer(*(const int32_t *)slot);
    }
}

json_t *pb_to_json(const ProtobufCMessage *m) {
    assert(m && m->descriptor);
    const ProtobufCMessageDescriptor *d = m->descriptor;
    json_t *out = json_object();
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m + f->offset;
        if (f->label != PROTOBUF_C_LABEL_REPEATED) {
            json_object_set_new(out, f->name, value_to_json(f, base));
            continue;
        }
        size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
        const char *arr = *(char *const *)base;
        json_t *a = json_array();
        for (size_t k = 0; k < n; k++) json_array_append_new(a, value_to_json(f, arr + k * elem_size(f->type)));
        json_object_set_new(out, f->name, a);
    }
    return out;
}

const ProtobufCMethodDescriptor *pb_method_find(const ProtobufCServiceDescriptor *d, const char *name) {
    for (unsigned i = 0; name && i < d->n_methods; i++)
        if (!strcmp(d->methods[i].name, name)) return &d->methods[i];
    return NULL;
}
