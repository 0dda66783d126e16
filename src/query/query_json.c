/*
 * query_json.c — renders DuckDB vectors as JSON straight from their data
 * and validity buffers, one switch per value on the type id: integers with
 * a hand-rolled formatter, doubles with the shortest of %.15g/%.17g that
 * round-trips (values of up to 6 decimals take a printf-free path that
 * prints the same text), decimals exactly, temporal types as ISO 8601
 * (digits written by hand, no printf in the common case), BLOBs as
 * base64, and LIST / ARRAY / MAP / STRUCT recursively. NaN and ±Inf are
 * null (JSON has no spelling for them).
 */
#include "query/query_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_u64(lh_strbuf *sb, uint64_t v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sb_reserve(sb, (size_t)n);
    while (n) sb->buf[sb->len++] = tmp[--n];
    sb->buf[sb->len] = '\0';
}

static void put_i64(lh_strbuf *sb, int64_t v) {
    if (v < 0) {
        sb_putc(sb, '-');
        put_u64(sb, (uint64_t)0 - (uint64_t)v);
    } else {
        put_u64(sb, (uint64_t)v);
    }
}

static void put_i128(lh_strbuf *sb, __int128 v) {
    char tmp[48];
    int n = 0;
    unsigned __int128 u = v < 0 ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    if (v < 0) sb_putc(sb, '-');
    while (n) sb_putc(sb, tmp[--n]);
}

/* n as exactly `width` digits, zero-padded (n < 10^width). */
static void put_digits(lh_strbuf *sb, uint64_t n, int width) {
    sb_reserve(sb, (size_t)width);
    for (int i = width - 1; i >= 0; i--) {
        sb->buf[sb->len + (size_t)i] = (char)('0' + n % 10);
        n /= 10;
    }
    sb->len += (size_t)width;
    sb->buf[sb->len] = '\0';
}

/* Fast path, no printf: d = m / 10^k (k <= 6, the least that reads back
 * exactly) with 1e-4 <= |d| < 1e15. Division is correctly rounded, so the
 * text m/10^k reads back as d; and it is the very text "%.15g" prints,
 * since m has at most 15 digits and d lies far closer to m/10^k than half
 * a unit of the 15th digit. Returns 0 when d does not fit. */
static int put_double_fixed(lh_strbuf *sb, double d) {
    static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    double a = fabs(d);
    if (a < 1e-4 || a >= 1e15) return 0;
    for (int k = 0; k < 7; k++) {
        double m = nearbyint(a * p10[k]);
        if (m >= 1e15) return 0;
        if (m / p10[k] != a) continue;
        uint64_t u = (uint64_t)m, scale = (uint64_t)p10[k];
        if (d < 0) sb_putc(sb, '-');
        put_u64(sb, u / scale);
        if (k) {
            sb_putc(sb, '.');
            put_digits(sb, u % scale, k);
        }
        return 1;
    }
    return 0;
}

static void put_double(lh_strbuf *sb, double d) {
    if (!isfinite(d)) {
        sb_puts(sb, "null");
        return;
    }
    if (d == 0) {
        sb_puts(sb, signbit(d) ? "-0" : "0");
        return;
    }
    if (put_double_fixed(sb, d)) return;
    char buf[32];
    snprintf(buf, sizeof buf, "%.15g", d);
    if (strtod(buf, NULL) != d) snprintf(buf, sizeof buf, "%.17g", d);
    sb_puts(sb, buf);
}

/* DECIMAL stored as an integer scaled by 10^scale → exact text. */
static void put_decimal(lh_strbuf *sb, __int128 v, int scale) {
    if (scale == 0) {
        put_i128(sb, v);
        return;
    }
    lh_strbuf digits = LH_STRBUF_INIT;
    int neg = v < 0;
    put_i128(&digits, neg ? -v : v);
    size_t n = digits.len;
    if (neg) sb_putc(sb, '-');
    if (n <= (size_t)scale) {
        sb_puts(sb, "0.");
        for (size_t i = n; i < (size_t)scale; i++) sb_putc(sb, '0');
        sb_append(sb, digits.buf, n);
    } else {
        sb_append(sb, digits.buf, n - (size_t)scale);
        sb_putc(sb, '.');
        sb_append(sb, digits.buf + n - (size_t)scale, (size_t)scale);
    }
    sb_free(&digits);
}

static void put_date(lh_strbuf *sb, duckdb_date d, int quoted) {
    duckdb_date_struct ds = duckdb_from_date(d);
    if (quoted) sb_putc(sb, '"');
    if (ds.year >= 0 && ds.year <= 9999) { /* the common case without printf */
        put_digits(sb, (uint64_t)ds.year, 4);
        sb_putc(sb, '-');
        put_digits(sb, (uint64_t)ds.month, 2);
        sb_putc(sb, '-');
        put_digits(sb, (uint64_t)ds.day, 2);
    } else {
        sb_printf(sb, "%04d-%02d-%02d", ds.year, ds.month, ds.day);
    }
    if (quoted) sb_putc(sb, '"');
}

static void put_time_of_day(lh_strbuf *sb, int64_t micros) {
    duckdb_time_struct t = duckdb_from_time((duckdb_time){micros});
    put_digits(sb, (uint64_t)t.hour, 2);
    sb_putc(sb, ':');
    put_digits(sb, (uint64_t)t.min, 2);
    sb_putc(sb, ':');
    put_digits(sb, (uint64_t)t.sec, 2);
    if (t.micros) {
        sb_putc(sb, '.');
        put_digits(sb, (uint64_t)t.micros, 6);
    }
}

/* micros since epoch → "YYYY-MM-DDTHH:MM:SS[.ffffff][Z]" */
static void put_timestamp(lh_strbuf *sb, int64_t micros, int utc) {
    if (micros == INT64_MAX || micros == -INT64_MAX) {
        sb_puts(sb, micros > 0 ? "\"infinity\"" : "\"-infinity\"");
        return;
    }
    int64_t days = micros / 86400000000LL, rem = micros % 86400000000LL;
    if (rem < 0) {
        rem += 86400000000LL;
        days--;
    }
    sb_putc(sb, '"');
    put_date(sb, (duckdb_date){(int32_t)days}, 0);
    sb_putc(sb, 'T');
    put_time_of_day(sb, rem);
    if (utc) sb_putc(sb, 'Z');
    sb_putc(sb, '"');
}

static void put_base64(lh_strbuf *sb, const unsigned char *p, size_t n) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    sb_putc(sb, '"');
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        char o[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], i + 1 < n ? tbl[(v >> 6) & 63] : '=',
                     i + 2 < n ? tbl[v & 63] : '='};
        sb_append(sb, o, 4);
    }
    sb_putc(sb, '"');
}

static void string_at(duckdb_string_t *s, const char **p, uint32_t *n) {
    *n = duckdb_string_t_length(*s);
    *p = duckdb_string_is_inlined(*s) ? s->value.inlined.inlined : s->value.pointer.ptr;
}

static void put_uuid(lh_strbuf *sb, duckdb_hugeint h) {
    uint64_t hi = (uint64_t)h.upper ^ (1ULL << 63), lo = h.lower;
    sb_printf(sb, "\"%08llx-%04llx-%04llx-%04llx-%012llx\"", (unsigned long long)(hi >> 32),
              (unsigned long long)((hi >> 16) & 0xffff), (unsigned long long)(hi & 0xffff),
              (unsigned long long)(lo >> 48), (unsigned long long)(lo & 0xffffffffffffULL));
}

static __int128 hugeint_value(duckdb_hugeint h) {
    return (__int128)(((unsigned __int128)(uint64_t)h.upper << 64) | h.lower);
}

static void put_decimal_at(lh_strbuf *sb, void *data, duckdb_logical_type lt, idx_t row) {
    int scale = duckdb_decimal_scale(lt);
    __int128 v;
    switch (duckdb_decimal_internal_type(lt)) {
    case DUCKDB_TYPE_SMALLINT: v = ((int16_t *)data)[row]; break;
    case DUCKDB_TYPE_INTEGER: v = ((int32_t *)data)[row]; break;
    case DUCKDB_TYPE_BIGINT: v = ((int64_t *)data)[row]; break;
    default: v = hugeint_value(((duckdb_hugeint *)data)[row]); break;
    }
    put_decimal(sb, v, scale);
}

static void put_nested(lh_strbuf *sb, duckdb_vector v, duckdb_logical_type lt, idx_t row,
                       duckdb_type id);

static void put_interval(lh_strbuf *sb, duckdb_interval iv) {
    sb_printf(sb, "\"%d months %d days ", iv.months, iv.days);
    int64_t us = iv.micros;
    if (us < 0) {
        sb_putc(sb, '-');
        us = -us;
    }
    put_time_of_day(sb, us % 86400000000LL);
    sb_putc(sb, '"');
}

void qjson_value(lh_strbuf *sb, duckdb_vector v, duckdb_logical_type lt, idx_t row) {
    uint64_t *validity = duckdb_vector_get_validity(v);
    if (validity && !duckdb_validity_row_is_valid(validity, row)) {
        sb_puts(sb, "null");
        return;
    }
    void *data = duckdb_vector_get_data(v);
    duckdb_type id = duckdb_get_type_id(lt);
    switch (id) {
    case DUCKDB_TYPE_BOOLEAN: sb_puts(sb, ((bool *)data)[row] ? "true" : "false"); break;
    case DUCKDB_TYPE_TINYINT: put_i64(sb, ((int8_t *)data)[row]); break;
    case DUCKDB_TYPE_SMALLINT: put_i64(sb, ((int16_t *)data)[row]); break;
    case DUCKDB_TYPE_INTEGER: put_i64(sb, ((int32_t *)data)[row]); break;
    case DUCKDB_TYPE_BIGINT: put_i64(sb, ((int64_t *)data)[row]); break;
    case DUCKDB_TYPE_UTINYINT: put_u64(sb, ((uint8_t *)data)[row]); break;
    case DUCKDB_TYPE_USMALLINT: put_u64(sb, ((uint16_t *)data)[row]); break;
    case DUCKDB_TYPE_UINTEGER: put_u64(sb, ((uint32_t *)data)[row]); break;
    case DUCKDB_TYPE_UBIGINT: put_u64(sb, ((uint64_t *)data)[row]); break;
    case DUCKDB_TYPE_HUGEINT: put_i128(sb, hugeint_value(((duckdb_hugeint *)data)[row])); break;
    case DUCKDB_TYPE_UHUGEINT: {
        duckdb_uhugeint u = ((duckdb_uhugeint *)data)[row];
        put_i128(sb, (__int128)(((unsigned __int128)u.upper << 64) | u.lower));
        break;
    }
    case DUCKDB_TYPE_FLOAT: put_double(sb, ((float *)data)[row]); break;
    case DUCKDB_TYPE_DOUBLE: put_double(sb, ((double *)data)[row]); break;
    case DUCKDB_TYPE_DECIMAL: put_decimal_at(sb, data, lt, row); break;
    case DUCKDB_TYPE_VARCHAR: {
        const char *p;
        uint32_t n;
        string_at(&((duckdb_string_t *)data)[row], &p, &n);
        sb_json_str(sb, p, n);
        break;
    }
    case DUCKDB_TYPE_BLOB:
    case DUCKDB_TYPE_BIT: {
        const char *p;
        uint32_t n;
        string_at(&((duckdb_string_t *)data)[row], &p, &n);
        put_base64(sb, (const unsigned char *)p, n);
        break;
    }
    case DUCKDB_TYPE_DATE: put_date(sb, ((duckdb_date *)data)[row], 1); break;
    case DUCKDB_TYPE_TIME:
        sb_putc(sb, '"');
        put_time_of_day(sb, ((duckdb_time *)data)[row].micros);
        sb_putc(sb, '"');
        break;
    case DUCKDB_TYPE_TIMESTAMP: put_timestamp(sb, ((duckdb_timestamp *)data)[row].micros, 0); break;
    case DUCKDB_TYPE_TIMESTAMP_TZ: put_timestamp(sb, ((duckdb_timestamp *)data)[row].micros, 1); break;
    case DUCKDB_TYPE_TIMESTAMP_S: put_timestamp(sb, ((int64_t *)data)[row] * 1000000, 0); break;
    case DUCKDB_TYPE_TIMESTAMP_MS: put_timestamp(sb, ((int64_t *)data)[row] * 1000, 0); break;
    case DUCKDB_TYPE_TIMESTAMP_NS: put_timestamp(sb, ((int64_t *)data)[row] / 1000, 0); break;
    case DUCKDB_TYPE_INTERVAL: put_interval(sb, ((duckdb_interval *)data)[row]); break;
    case DUCKDB_TYPE_UUID: put_uuid(sb, ((duckdb_hugeint *)data)[row]); break;
    case DUCKDB_TYPE_ENUM: {
        uint32_t idx;
        switch (duckdb_enum_internal_type(lt)) {
        case DUCKDB_TYPE_UTINYINT: idx = ((uint8_t *)data)[row]; break;
        case DUCKDB_TYPE_USMALLINT: idx = ((uint16_t *)data)[row]; break;
        default: idx = ((uint32_t *)data)[row]; break;
        }
        char *s = duckdb_enum_dictionary_value(lt, idx);
        sb_json_str(sb, s, strlen(s));
        duckdb_free(s);
        break;
    }
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_MAP:
    case DUCKDB_TYPE_ARRAY:
    case DUCKDB_TYPE_STRUCT: put_nested(sb, v, lt, row, id); break;
    default: sb_puts(sb, "null"); break;
    }
}

static void put_struct(lh_strbuf *sb, duckdb_vector v, duckdb_logical_type lt, idx_t row) {
    idx_t n = duckdb_struct_type_child_count(lt);
    sb_putc(sb, '{');
    for (idx_t i = 0; i < n; i++) {
        if (i) sb_putc(sb, ',');
        char *name = duckdb_struct_type_child_name(lt, i);
        sb_json_str(sb, name, strlen(name));
        duckdb_free(name);
        sb_putc(sb, ':');
        duckdb_logical_type ct = duckdb_struct_type_child_type(lt, i);
        qjson_value(sb, duckdb_struct_vector_get_child(v, i), ct, row);
        duckdb_destroy_logical_type(&ct);
    }
    sb_putc(sb, '}');
}

static void put_nested(lh_strbuf *sb, duckdb_vector v, duckdb_logical_type lt, idx_t row,
                       duckdb_type id) {
    if (id == DUCKDB_TYPE_STRUCT) {
        put_struct(sb, v, lt, row);
        return;
    }
    duckdb_vector child;
    duckdb_logical_type ct;
    idx_t off, len;
    if (id == DUCKDB_TYPE_ARRAY) {
        len = duckdb_array_type_array_size(lt);
        off = row * len;
        child = duckdb_array_vector_get_child(v);
        ct = duckdb_array_type_child_type(lt);
    } else {
        duckdb_list_entry e = ((duckdb_list_entry *)duckdb_vector_get_data(v))[row];
        off = e.offset;
        len = e.length;
        child = duckdb_list_vector_get_child(v);
        ct = id == DUCKDB_TYPE_MAP ? NULL : duckdb_list_type_child_type(lt);
        if (id == DUCKDB_TYPE_MAP) { /* MAP = LIST(STRUCT(key, value)); build that type */
            duckdb_logical_type kv[2] = {duckdb_map_type_key_type(lt), duckdb_map_type_value_type(lt)};
            const char *names[2] = {"key", "value"};
            ct = duckdb_create_struct_type(kv, names, 2);
            duckdb_destroy_logical_type(&kv[0]);
            duckdb_destroy_logical_type(&kv[1]);
        }
    }
    sb_putc(sb, '[');
    for (idx_t i = 0; i < len; i++) {
        if (i) sb_putc(sb, ',');
        qjson_value(sb, child, ct, off + i);
    }
    sb_putc(sb, ']');
    duckdb_destroy_logical_type(&ct);
}

static const struct {
    duckdb_type id;
    const char *name;
} type_names[] = {
    {DUCKDB_TYPE_BOOLEAN, "BOOLEAN"},   {DUCKDB_TYPE_TINYINT, "TINYINT"},
    {DUCKDB_TYPE_SMALLINT, "SMALLINT"}, {DUCKDB_TYPE_INTEGER, "INTEGER"},
    {DUCKDB_TYPE_BIGINT, "BIGINT"},     {DUCKDB_TYPE_UTINYINT, "UTINYINT"},
    {DUCKDB_TYPE_USMALLINT, "USMALLINT"}, {DUCKDB_TYPE_UINTEGER, "UINTEGER"},
    {DUCKDB_TYPE_UBIGINT, "UBIGINT"},   {DUCKDB_TYPE_HUGEINT, "HUGEINT"},
    {DUCKDB_TYPE_UHUGEINT, "UHUGEINT"}, {DUCKDB_TYPE_FLOAT, "FLOAT"},
    {DUCKDB_TYPE_DOUBLE, "DOUBLE"},     {DUCKDB_TYPE_VARCHAR, "VARCHAR"},
    {DUCKDB_TYPE_BLOB, "BLOB"},         {DUCKDB_TYPE_BIT, "BIT"},
    {DUCKDB_TYPE_DATE, "DATE"},         {DUCKDB_TYPE_TIME, "TIME"},
    {DUCKDB_TYPE_TIMESTAMP, "TIMESTAMP"}, {DUCKDB_TYPE_TIMESTAMP_TZ, "TIMESTAMP WITH TIME ZONE"},
    {DUCKDB_TYPE_TIMESTAMP_S, "TIMESTAMP_S"}, {DUCKDB_TYPE_TIMESTAMP_MS, "TIMESTAMP_MS"},
    {DUCKDB_TYPE_TIMESTAMP_NS, "TIMESTAMP_NS"}, {DUCKDB_TYPE_INTERVAL, "INTERVAL"},
    {DUCKDB_TYPE_UUID, "UUID"},         {DUCKDB_TYPE_ENUM, "ENUM"},
    {DUCKDB_TYPE_TIME_TZ, "TIME WITH TIME ZONE"}, {DUCKDB_TYPE_SQLNULL, "NULL"},
};

char *qjson_type_name(duckdb_logical_type lt) {
    duckdb_type id = duckdb_get_type_id(lt);
    lh_strbuf sb = LH_STRBUF_INIT;
    if (id == DUCKDB_TYPE_DECIMAL) {
        sb_printf(&sb, "DECIMAL(%d,%d)", duckdb_decimal_width(lt), duckdb_decimal_scale(lt));
    } else if (id == DUCKDB_TYPE_LIST || id == DUCKDB_TYPE_ARRAY) {
        duckdb_logical_type c = id == DUCKDB_TYPE_LIST ? duckdb_list_type_child_type(lt)
                                                       : duckdb_array_type_child_type(lt);
        char *cn = qjson_type_name(c);
        if (id == DUCKDB_TYPE_LIST) sb_printf(&sb, "%s[]", cn);
        else sb_printf(&sb, "%s[%llu]", cn, (unsigned long long)duckdb_array_type_array_size(lt));
        free(cn);
        duckdb_destroy_logical_type(&c);
    } else if (id == DUCKDB_TYPE_STRUCT) {
        sb_puts(&sb, "STRUCT(");
        for (idx_t i = 0; i < duckdb_struct_type_child_count(lt); i++) {
            char *n = duckdb_struct_type_child_name(lt, i);
            duckdb_logical_type c = duckdb_struct_type_child_type(lt, i);
            char *cn = qjson_type_name(c);
            sb_printf(&sb, "%s\"%s\" %s", i ? ", " : "", n, cn);
            free(cn);
            duckdb_free(n);
            duckdb_destroy_logical_type(&c);
        }
        sb_putc(&sb, ')');
    } else if (id == DUCKDB_TYPE_MAP) {
        duckdb_logical_type k = duckdb_map_type_key_type(lt), v = duckdb_map_type_value_type(lt);
        char *kn = qjson_type_name(k), *vn = qjson_type_name(v);
        sb_printf(&sb, "MAP(%s, %s)", kn, vn);
        free(kn);
        free(vn);
        duckdb_destroy_logical_type(&k);
        duckdb_destroy_logical_type(&v);
    } else {
        const char *name = "UNKNOWN";
        for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
            if (type_names[i].id == id) name = type_names[i].name;
        sb_puts(&sb, name);
    }
    return sb_steal(&sb);
}
