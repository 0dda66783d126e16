/*
 * test_delta_features.c — the Delta reader features of issue 12 point 6,
 * through the table module: the tables in tests/data/delta-features read
 * with their documented rows (deletion vectors, column mapping, partition
 * values), and constructed logs exercise what the fixtures lack: inline,
 * prefixed and absolute-path deletion vectors, run and bitmap containers,
 * corrupt or hostile DVs (checksum, cardinality, a path outside the table),
 * large DVs through the cached rows file, typed partition values incl.
 * timestamp_ntz and UTC timestamps, type widening beside row tracking and
 * liquid clustering, column mapping of nested fields, a remove listed after
 * the re-add of a file, and our writers on a DV table. The log side (change
 * feed, checkpoints, protocol) is in test_delta_logs.c.
 */
#include "delta_fixture.h"
#include "table/delta_log.h"
#include "table/dv.h"

static void test_dv_fixture(void **state) {
    (void)state;
    lh_storage *st = fixtures();
    assert_eval(st, "table-with-dv-small", -1, "count(*)", "8");
    assert_eval(st, "table-with-dv-small", -1, "string_agg(value::VARCHAR, ',' ORDER BY value)", "1,2,3,4,5,6,7,8");
    assert_eval(st, "table-with-dv-small", 0, "count(*)", "10"); /* before the DELETE */
    lh_err err = {0};
    lh_table *t = table_open(st, "table-with-dv-small", &err);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    assert_non_null(s);
    assert_int_equal(s->nfiles, 1);
    assert_int_equal(s->files[0].deleted_rows, 2);
    assert_int_equal(s->files[0].rows, 8);
    assert_int_equal(s->num_records, 8);
    assert_non_null(strstr(s->files[0].deletion_vector, "\"storageType\":\"u\""));
    table_snapshot_free(s);
    table_free(t);
    storage_free(st);
}

static void test_column_mapping_fixture(void **state) {
    (void)state;
    lh_storage *st = fixtures();
    const char *t = "table_with_column_mapping";
    assert_eval(st, t, -1, "count(*)", "5");
    assert_eval(st, t, -1, "string_agg(\"Super Name\", ',') FILTER (WHERE \"Company Very Short\" = 'BME')", "Timothy Lamb");
    assert_eval(st, t, -1,
                "string_agg(\"Super Name\", ',' ORDER BY \"Super Name\") FILTER (WHERE \"Company Very Short\" = 'BMS')",
                "Anthony Johnson,Mr. Daniel Ferguson MD,Nathan Bennett,Stephanie Mcgrath");
    lh_err err = {0};
    lh_table *tt = table_open(st, t, &err);
    lh_snapshot *s = table_snapshot(tt, -1, &err);
    assert_non_null(s);
    assert_string_equal(s->column_mapping, "name");
    assert_string_equal(s->columns[0].name, "Company Very Short");
    assert_string_equal(s->columns[0].physical_name, "col-173b4db9-b5ad-427f-9e75-516aae37fbbb");
    table_snapshot_free(s);
    table_free(tt);
    storage_free(st);
}

static void test_partition_fixture(void **state) {
    (void)state;
    lh_storage *st = fixtures();
    const char *t = "partition-type-primitives";
    assert_eval(st, t, -1, "count(*)", "16");
    assert_eval(st, t, -1, "count(DISTINCT (year, is_active, event_date, category))", "16");
    assert_eval(st, t, -1, "string_agg(DISTINCT year, ',' ORDER BY year)", "2020,2021.0");
    assert_eval(st, t, -1, "count(*) FILTER (WHERE value = 'record_' || id)", "16");
    storage_free(st);
}

/* ---- constructed tables ------------------------------------------------------ */

static void z85_encode(const uint8_t *in, size_t n, char *out) {
    static const char a[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        for (size_t k = 0; k < 4; k++) v = v << 8 | (i + k < n ? in[i + k] : 0);
        for (int k = 4; k >= 0; k--) {
            out[o + (size_t)k] = a[v % 85];
            v /= 85;
        }
        o += 5;
    }
    out[o] = '\0';
}

typedef struct {
    uint8_t b[16384];
    size_t n;
} bytes;

static void put_u16(bytes *b, uint32_t v) {
    b->b[b->n++] = (uint8_t)v;
    b->b[b->n++] = (uint8_t)(v >> 8);
}
static void put_u32(bytes *b, uint32_t v) {
    put_u16(b, v & 0xFFFF);
    put_u16(b, v >> 16);
}

/* A RoaringBitmapArray with one bitmap (key 0) of one run container
 * (rows lo..hi) and, when with_bitmap, a bitmap container (key 1: rows
 * 65536 + every even number below 2*4100+2). */
static void build_bitmap(bytes *b, uint32_t lo, uint32_t hi, int with_bitmap) {
    b->n = 0;
    put_u32(b, 1681511377u);
    put_u32(b, 1);
    put_u32(b, 0);
    put_u32(b, 0); /* bitmap key */
    uint32_t n = with_bitmap ? 2 : 1;
    put_u32(b, 12347u | (n - 1) << 16);
    b->b[b->n++] = 1; /* container 0 is a run container */
    put_u16(b, 0);
    put_u16(b, hi - lo);
    if (with_bitmap) {
        put_u16(b, 1);
        put_u16(b, 4101 - 1);
    }
    put_u16(b, 1);
    put_u16(b, lo);
    put_u16(b, hi - lo);
    if (with_bitmap) {
        size_t at = b->n;
        memset(b->b + at, 0, 8192);
        for (uint32_t v = 0; v < 4101; v++) b->b[at + v * 2 / 8] |= (uint8_t)(1u << (v * 2 % 8));
        b->n += 8192;
    }
}

static void test_bitmap_formats(void **state) {
    (void)state;
    bytes b;
    build_bitmap(&b, 3, 7, 1);
    dv_ranges r;
    lh_err err = {0};
    assert_int_equal(dv_bitmap_parse(b.b, b.n, &r, &err), 0);
    assert_int_equal(r.cardinality, 5 + 4101);
    assert_int_equal(r.n, 1 + 4101);
    assert_int_equal(r.lo[0], 3);
    assert_int_equal(r.hi[0], 7);
    assert_int_equal(r.lo[1], 65536);
    assert_int_equal(r.lo[4101], 65536 + 8200);
    dv_ranges_free(&r);
    /* truncated, trailing bytes, bad magic: refused */
    assert_int_equal(dv_bitmap_parse(b.b, b.n - 1, &r, &err), -1);
    b.b[b.n++] = 0;
    assert_int_equal(dv_bitmap_parse(b.b, b.n, &r, &err), -1);
    b.b[0] ^= 1;
    assert_int_equal(dv_bitmap_parse(b.b, b.n - 1, &r, &err), -1);
    assert_non_null(strstr(err.msg, "magic"));
    /* Z85 round trip of the fixture's UUID */
    uint8_t u[16];
    assert_int_equal(dv_z85_decode("vBn[lx{q8@P<9BNH/isA", 20, u), 0);
    assert_int_equal(u[0], 0x61);
    assert_int_equal(u[15], 0x0e);
    assert_int_equal(dv_z85_decode("vBn[lx{q8@P<9BNH/is~", 20, u), -1);
}

/* A table of rows 0..9 whose one file carries deletion vector `dv` (JSON). */
static void dv_table(lh_storage *st, const char *name, const char *dv) {
    char *key = lh_asprintf("%s/part-0.parquet", name);
    put_parquet(st, key, "SELECT range AS id FROM range(10)");
    free(key);
    char *log = lh_asprintf("%s%s{\"add\":{\"path\":\"part-0.parquet\",\"partitionValues\":{},\"size\":1,"
                            "\"modificationTime\":1,\"dataChange\":true,\"stats\":\"{\\\"numRecords\\\":10}\","
                            "\"deletionVector\":%s}}\n",
                            PROTO_DV, SCHEMA_ID, dv);
    key = lh_asprintf("%s/_delta_log/00000000000000000000.json", name);
    put_text(st, key, log);
    free(key);
    free(log);
}

static void test_dv_inline_and_prefixed(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    bytes b;
    build_bitmap(&b, 2, 5, 0);
    char z[64], *dv;
    size_t padded = (b.n + 3) / 4 * 4;
    memset(b.b + b.n, 0, padded - b.n);
    z85_encode(b.b, padded, z);
    dv = lh_asprintf("{\"storageType\":\"i\",\"pathOrInlineDv\":\"%s\",\"sizeInBytes\":%zu,\"cardinality\":4}", z, b.n);
    dv_table(st, "inline", dv);
    free(dv);
    assert_eval(st, "inline", -1, "string_agg(id::VARCHAR, ',' ORDER BY id)", "0,1,6,7,8,9");
    /* 'u' with a random prefix: the fixture's file under ab/ */
    char *src = lh_asprintf("%s/delta-features/table-with-dv-small/deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin", testdata());
    char *text;
    size_t len;
    lh_err err = {0};
    assert_int_equal(lh_read_file(src, &text, &len, &err), 0);
    assert_int_equal(storage_put(st, "pref/ab/deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin", text, len, NULL, &err), 0);
    dv_table(st, "pref", "{\"storageType\":\"u\",\"pathOrInlineDv\":\"abvBn[lx{q8@P<9BNH/isA\",\"offset\":1,\"sizeInBytes\":36,\"cardinality\":2}");
    assert_eval(st, "pref", -1, "string_agg(id::VARCHAR, ',' ORDER BY id)", "1,2,3,4,5,6,7,8");
    /* the same by absolute path */
    char *abs = storage_path(st, "pref/ab/deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin");
    assert_int_equal(storage_put(st, "abs/x.bin", text, len, NULL, &err), 0);
    char *absx = storage_path(st, "abs/x.bin");
    dv = lh_asprintf("{\"storageType\":\"p\",\"pathOrInlineDv\":\"file://%s\",\"offset\":1,\"sizeInBytes\":36,\"cardinality\":2}", absx);
    dv_table(st, "abs", dv);
    free(dv);
    assert_eval(st, "abs", -1, "count(*)", "8");
    /* a 'p' path outside the table is refused */
    dv = lh_asprintf("{\"storageType\":\"p\",\"pathOrInlineDv\":\"%s\",\"offset\":1,\"sizeInBytes\":36,\"cardinality\":2}", abs);
    dv_table(st, "outside", dv);
    free(dv);
    assert_null(table_eval(st, "outside", -1, "count(*)", &err));
    assert_non_null(strstr(err.msg, "not inside the table"));
    /* a wrong cardinality, a corrupt byte (checksum), a missing file: errors, never rows */
    dv_table(st, "card", "{\"storageType\":\"u\",\"pathOrInlineDv\":\"abvBn[lx{q8@P<9BNH/isA\",\"offset\":1,\"sizeInBytes\":36,\"cardinality\":3}");
    assert_int_equal(storage_put(st, "card/ab/deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin", text, len, NULL, &err), 0);
    assert_null(table_eval(st, "card", -1, "count(*)", &err));
    assert_non_null(strstr(err.msg, "descriptor says 3"));
    text[30] ^= 0x40;
    assert_int_equal(storage_put(st, "pref/ab/deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin", text, len, NULL, &err), 0);
    assert_null(table_eval(st, "pref", -1, "count(*)", &err));
    assert_non_null(strstr(err.msg, "checksum"));
    assert_int_equal(storage_delete(st, "pref/ab/deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin", &err), 0);
    assert_null(table_eval(st, "pref", -1, "count(*)", &err));
    assert_non_null(strstr(err.msg, "deletion vector file"));
    free(abs);
    free(absx);
    free(text);
    free(src);
    drop_bucket(st);
}

/* A DV of 1500 single rows (every third row of 4500, an array container):
 * past LH_TABLE_DV_INLINE_RANGES, read through the cached rows file. */
static void test_dv_large(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    bytes b = {.n = 0};
    put_u32(&b, 1681511377u);
    put_u32(&b, 1);
    put_u32(&b, 0);
    put_u32(&b, 0);
    put_u32(&b, 12346u);
    put_u32(&b, 1);
    put_u16(&b, 0);
    put_u16(&b, 1500 - 1);
    put_u32(&b, 16); /* offset header */
    for (uint32_t v = 0; v < 1500; v++) put_u16(&b, v * 3);
    static char z[16384];
    size_t padded = (b.n + 3) / 4 * 4;
    memset(b.b + b.n, 0, padded - b.n);
    z85_encode(b.b, padded, z);
    char *key = lh_strdup("big/part-0.parquet");
    put_parquet(st, key, "SELECT range AS id FROM range(4500)");
    free(key);
    char *log = lh_asprintf("%s%s{\"add\":{\"path\":\"part-0.parquet\",\"partitionValues\":{},\"size\":1,"
                            "\"modificationTime\":1,\"dataChange\":true,\"deletionVector\":{\"storageType\":\"i\","
                            "\"pathOrInlineDv\":\"%s\",\"sizeInBytes\":%zu,\"cardinality\":1500}}}\n",
                            PROTO_DV, SCHEMA_ID, z, b.n);
    put_text(st, "big/_delta_log/00000000000000000000.json", log);
    free(log);
    lh_err err = {0};
    lh_table *t = table_open(st, "big", &err);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    if (!s) fail_msg("%s", err.msg);
    assert_non_null(s->files[0].deleted_rows_file);
    char *sel = table_snapshot_select_sql(t, s);
    assert_true(strlen(sel) < 2000); /* the rows are not spelled out in the SQL */
    free(sel);
    table_snapshot_free(s);
    table_free(t);
    assert_eval(st, "big", -1, "count(*)", "3000");
    assert_eval(st, "big", -1, "count(*) FILTER (WHERE id % 3 = 0)", "0");
    assert_eval(st, "big", -1, "sum(id)", "6750000"); /* sum(0..4499) - 3*sum(0..1499) */
    /* beside it a file with a small inline DV and a plain one: the DV'd files share one scan */
    bytes small;
    build_bitmap(&small, 2, 5, 0);
    char zs[64];
    padded = (small.n + 3) / 4 * 4;
    memset(small.b + small.n, 0, padded - small.n);
    z85_encode(small.b, padded, zs);
    put_parquet(st, "big/part-1.parquet", "SELECT range + 10000 AS id FROM range(10)");
    put_parquet(st, "big/part-2.parquet", "SELECT range + 20000 AS id FROM range(5)");
    log = lh_asprintf("{\"add\":{\"path\":\"part-1.parquet\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true,"
                      "\"deletionVector\":{\"storageType\":\"i\",\"pathOrInlineDv\":\"%s\",\"sizeInBytes\":%zu,\"cardinality\":4}}}\n"
                      "{\"add\":{\"path\":\"part-2.parquet\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true}}\n",
                      zs, small.n);
    put_text(st, "big/_delta_log/00000000000000000001.json", log);
    free(log);
    t = table_open(st, "big", &err);
    s = table_snapshot(t, -1, &err);
    assert_non_null(s);
    sel = table_snapshot_select_sql(t, s);
    assert_non_null(strstr(sel, "ANTI JOIN"));
    assert_null(strstr(strstr(sel, "ANTI JOIN") + 1, "ANTI JOIN"));
    free(sel);
    table_snapshot_free(s);
    table_free(t);
    assert_eval(st, "big", -1, "count(*) || '/' || sum(id)", "3011/6910041");
    drop_bucket(st);
}

/* A re-add with a new DV listed before the remove of the old file state. */
static void test_remove_after_readd(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    bytes b;
    build_bitmap(&b, 0, 0, 0);
    char z[64];
    size_t padded = (b.n + 3) / 4 * 4;
    memset(b.b + b.n, 0, padded - b.n);
    z85_encode(b.b, padded, z);
    put_parquet(st, "r/part-0.parquet", "SELECT range AS id FROM range(10)");
    char *v0 = lh_asprintf("%s%s{\"add\":{\"path\":\"part-0.parquet\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true}}\n",
                           PROTO_DV, SCHEMA_ID);
    char *v1 = lh_asprintf("{\"add\":{\"path\":\"part-0.parquet\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true,"
                           "\"deletionVector\":{\"storageType\":\"i\",\"pathOrInlineDv\":\"%s\",\"sizeInBytes\":%zu,\"cardinality\":1}}}\n"
                           "{\"remove\":{\"path\":\"part-0.parquet\",\"dataChange\":true}}\n",
                           z, b.n);
    put_text(st, "r/_delta_log/00000000000000000000.json", v0);
    put_text(st, "r/_delta_log/00000000000000000001.json", v1);
    assert_eval(st, "r", -1, "min(id) || '/' || count(*)", "1/9");
    /* a later remove naming another DV leaves the file; one naming its DV removes it */
    put_text(st, "r/_delta_log/00000000000000000002.json",
             "{\"remove\":{\"path\":\"part-0.parquet\",\"dataChange\":true,\"deletionVector\":{\"storageType\":\"i\","
             "\"pathOrInlineDv\":\"other\",\"sizeInBytes\":12,\"cardinality\":1}}}\n");
    assert_eval(st, "r", -1, "count(*)", "9");
    char *v3 = lh_asprintf("{\"remove\":{\"path\":\"part-0.parquet\",\"dataChange\":true,\"deletionVector\":{\"storageType\":\"i\","
                           "\"pathOrInlineDv\":\"%s\",\"sizeInBytes\":%zu,\"cardinality\":1}}}\n", z, b.n);
    put_text(st, "r/_delta_log/00000000000000000003.json", v3);
    assert_eval(st, "r", -1, "count(*)", "0");
    free(v0);
    free(v1);
    free(v3);
    drop_bucket(st);
}

static void test_typed_partitions(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    put_parquet(st, "p/a.parquet", "SELECT 1::BIGINT AS id");
    put_parquet(st, "p/b.parquet", "SELECT 2::BIGINT AS id");
    const char *fields[][2] = {{"i", "integer"}, {"l", "long"}, {"d", "date"}, {"ts", "timestamp_ntz"},
                               {"b", "boolean"}, {"m", "decimal(10,2)"}, {"f", "double"}, {"s", "string"},
                               {"tz", "timestamp"}};
    lh_strbuf sch = LH_STRBUF_INIT, pc = LH_STRBUF_INIT;
    sb_puts(&sch, "{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"id\\\",\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}");
    for (size_t i = 0; i < 9; i++) {
        sb_printf(&sch, ",{\\\"name\\\":\\\"%s\\\",\\\"type\\\":\\\"%s\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}", fields[i][0], fields[i][1]);
        sb_printf(&pc, "%s\"%s\"", i ? "," : "", fields[i][0]);
    }
    sb_puts(&sch, "]}");
    char *log = lh_asprintf(
        "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"timestampNtz\"],\"writerFeatures\":[\"timestampNtz\"]}}\n"
        "{\"metaData\":{\"id\":\"p\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":\"%s\",\"partitionColumns\":[%s],\"configuration\":{},\"createdTime\":1}}\n"
        "{\"add\":{\"path\":\"a.parquet\",\"partitionValues\":{\"i\":\"-7\",\"l\":\"9000000000\",\"d\":\"2024-02-29\",\"ts\":\"2024-02-29 12:34:56.123456\",\"b\":\"true\",\"m\":\"12.34\",\"f\":\"1.5\",\"s\":\"x y\",\"tz\":\"2024-02-29 12:34:56\"},\"size\":1,\"modificationTime\":1,\"dataChange\":true}}\n"
        "{\"add\":{\"path\":\"b.parquet\",\"partitionValues\":{\"i\":null,\"l\":null,\"d\":null,\"ts\":null,\"b\":null,\"m\":null,\"f\":null,\"s\":\"z\",\"tz\":\"2024-02-29T12:34:56.5Z\"},\"size\":1,\"modificationTime\":1,\"dataChange\":true}}\n",
        sch.buf, pc.buf);
    put_text(st, "p/_delta_log/00000000000000000000.json", log);
    assert_eval(st, "p", -1, "string_agg(typeof(i) || typeof(l) || typeof(d) || typeof(ts) || typeof(b) || typeof(m) || typeof(f), '')",
                "INTEGERBIGINTDATETIMESTAMPBOOLEANDECIMAL(10,2)DOUBLEINTEGERBIGINTDATETIMESTAMPBOOLEANDECIMAL(10,2)DOUBLE");
    assert_eval(st, "p", -1, "max(i) || '|' || max(l) || '|' || max(d) || '|' || max(ts) || '|' || bool_and(b) || '|' || max(m) || '|' || max(f) || '|' || min(s)",
                "-7|9000000000|2024-02-29|2024-02-29 12:34:56.123456|true|12.34|1.5|x y");
    assert_eval(st, "p", -1, "count(*) FILTER (WHERE i IS NULL AND b IS NULL AND ts IS NULL)", "1");
    /* timestamp partition values are UTC, with or without the ISO 'Z' form, whatever the session zone */
    run_sql("SET TimeZone = 'America/New_York'");
    assert_eval(st, "p", -1, "string_agg(epoch_ms(tz)::VARCHAR, ',' ORDER BY tz) || '/' || typeof(any_value(tz))",
                "1709210096000,1709210096500/TIMESTAMP WITH TIME ZONE");
    run_sql("SET TimeZone = 'UTC'");
    free(log);
    sb_free(&sch);
    sb_free(&pc);
    drop_bucket(st);
}

/* Type widening (int → long, float → double) with row tracking and liquid
 * clustering (writer features, domainMetadata, baseRowId): the old file's
 * narrower columns read as the current types. */
static void test_type_widening_row_tracking(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    put_parquet(st, "w/a.parquet", "SELECT 7::INTEGER AS id, 1.5::FLOAT AS v");
    put_parquet(st, "w/b.parquet", "SELECT 5000000000::BIGINT AS id, 0.25::DOUBLE AS v");
    const char *schema =
        "{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"id\\\",\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,"
        "\\\"metadata\\\":{\\\"delta.typeChanges\\\":[{\\\"fromType\\\":\\\"integer\\\",\\\"toType\\\":\\\"long\\\",\\\"tableVersion\\\":1}]}},"
        "{\\\"name\\\":\\\"v\\\",\\\"type\\\":\\\"double\\\",\\\"nullable\\\":true,\\\"metadata\\\":{\\\"delta.typeChanges\\\":[{\\\"fromType\\\":\\\"float\\\","
        "\\\"toType\\\":\\\"double\\\",\\\"tableVersion\\\":1}]}}]}";
    char *log = lh_asprintf(
        "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"typeWidening\"],"
        "\"writerFeatures\":[\"typeWidening\",\"rowTracking\",\"domainMetadata\",\"clustering\"]}}\n"
        "{\"metaData\":{\"id\":\"w\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":\"%s\",\"partitionColumns\":[],"
        "\"configuration\":{\"delta.enableRowTracking\":\"true\"},\"createdTime\":1}}\n"
        "{\"domainMetadata\":{\"domain\":\"delta.clustering\",\"configuration\":\"{\\\"clusteringColumns\\\":[[\\\"id\\\"]]}\",\"removed\":false}}\n"
        "{\"domainMetadata\":{\"domain\":\"delta.rowTracking\",\"configuration\":\"{\\\"rowIdHighWaterMark\\\":1}\",\"removed\":false}}\n"
        "{\"add\":{\"path\":\"a.parquet\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true,\"baseRowId\":0,"
        "\"defaultRowCommitVersion\":0,\"clusteringProvider\":\"liquid\"}}\n",
        schema);
    put_text(st, "w/_delta_log/00000000000000000000.json", log);
    /* version 0 has only the old file: its INTEGER / FLOAT read as BIGINT / DOUBLE */
    assert_eval(st, "w", 0, "typeof(any_value(id)) || '/' || typeof(any_value(v)) || '/' || sum(id)", "BIGINT/DOUBLE/7");
    put_text(st, "w/_delta_log/00000000000000000001.json",
             "{\"add\":{\"path\":\"b.parquet\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true,\"baseRowId\":1,"
             "\"defaultRowCommitVersion\":1,\"clusteringProvider\":\"liquid\"}}\n");
    assert_eval(st, "w", -1, "typeof(any_value(id)) || '/' || typeof(any_value(v)) || '/' || sum(id) || '/' || sum(v)", "BIGINT/DOUBLE/5000000007/1.75");
    /* a widening inside a nested field is refused, not read as the old type */
    char *nested = lh_asprintf("%s", log);
    char *at = strstr(nested, "\\\"tableVersion\\\":1}]}},");
    assert_non_null(at);
    const char *fp = "\\\"fieldPath\\\":\\\"element\\\",";
    char *log2 = lh_asprintf("%.*s%s%s", (int)(at - nested), nested, fp, at);
    put_text(st, "n/_delta_log/00000000000000000000.json", log2);
    put_parquet(st, "n/a.parquet", "SELECT 7::INTEGER AS id, 1.5::FLOAT AS v");
    put_parquet(st, "n/b.parquet", "SELECT 7::INTEGER AS id, 1.5::FLOAT AS v");
    lh_err err = {0};
    assert_null(table_eval(st, "n", -1, "count(*)", &err));
    assert_non_null(strstr(err.msg, "type widening inside nested column 'id'"));
    free(log2);
    free(nested);
    free(log);
    drop_bucket(st);
}

/* A field {"name", "type", physicalName} for a schema built with jansson. */
static json_t *mapped_field(const char *name, json_t *type, const char *phys) {
    return json_pack("{s:s, s:o, s:b, s:{s:s}}", "name", name, "type", type, "nullable", 1, "metadata",
                     "delta.columnMapping.physicalName", phys);
}

/* Column mapping of nested fields: a struct holding an array of structs,
 * and a map whose values are structs, renamed to their logical names. */
static void test_column_mapping_nested(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    put_parquet(st, "nm/a.parquet",
                "SELECT {'col-b': 1, 'col-c': [{'col-d': 'x'}, {'col-d': 'y'}]} AS \"col-a\", MAP {'k': {'col-e': 5}} AS \"col-m\", 1 AS \"col-i\" "
                "UNION ALL SELECT NULL, NULL, 2");
    json_t *inner = json_pack("{s:s, s:[o]}", "type", "struct", "fields", mapped_field("d", json_string("string"), "col-d"));
    json_t *a = json_pack("{s:s, s:[o, o]}", "type", "struct", "fields", mapped_field("b", json_string("integer"), "col-b"),
                          mapped_field("c", json_pack("{s:s, s:o, s:b}", "type", "array", "elementType", inner, "containsNull", 1), "col-c"));
    json_t *m = json_pack("{s:s, s:s, s:o, s:b}", "type", "map", "keyType", "string", "valueType",
                          json_pack("{s:s, s:[o]}", "type", "struct", "fields", mapped_field("e", json_string("integer"), "col-e")),
                          "valueContainsNull", 1);
    json_t *schema = json_pack("{s:s, s:[o, o, o]}", "type", "struct", "fields", mapped_field("my a", a, "col-a"),
                               mapped_field("m", m, "col-m"), mapped_field("i", json_string("integer"), "col-i"));
    char *schema_text = json_dumps(schema, JSON_COMPACT);
    json_t *meta = json_pack("{s:{s:s, s:{s:s, s:{}}, s:s, s:[], s:{s:s}, s:i}}", "metaData", "id", "nm", "format", "provider", "parquet",
                             "options", "schemaString", schema_text, "partitionColumns", "configuration",
                             "delta.columnMapping.mode", "name", "createdTime", 1);
    char *meta_text = json_dumps(meta, JSON_COMPACT);
    char *log = lh_asprintf("{\"protocol\":{\"minReaderVersion\":2,\"minWriterVersion\":5}}\n%s\n"
                            "{\"add\":{\"path\":\"a.parquet\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true}}\n",
                            meta_text);
    put_text(st, "nm/_delta_log/00000000000000000000.json", log);
    assert_eval(st, "nm", -1, "string_agg(\"my a\".b || ':' || \"my a\".c[2].d || ':' || m['k'].e, ',')", "1:y:5");
    assert_eval(st, "nm", -1, "count(*) FILTER (WHERE \"my a\" IS NULL AND m IS NULL AND i = 2)", "1");
    assert_eval(st, "nm", -1, "typeof(any_value(\"my a\"))", "STRUCT(b INTEGER, c STRUCT(d VARCHAR)[])");
    free(log);
    free(meta_text);
    free(schema_text);
    json_decref(meta);
    json_decref(schema);
    drop_bucket(st);
}

/* Our writers on a table with deletion vectors: an append adds rows beside
 * the DV'd file, a compaction rewrites the live rows into one file without
 * a DV (its remove drops the DV'd file), and the checkpoint writer refuses a
 * protocol it would downgrade. */
static void test_writes_on_dv_table(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    char *cmd = lh_asprintf("cp -r '%s/delta-features/table-with-dv-small' '%s/dvw'", testdata(), storage_root(st));
    assert_int_equal(system(cmd), 0);
    free(cmd);
    lh_err err = {0};
    lh_table *t = table_open(st, "dvw", &err);
    table_set_checkpoint_interval(t, 0);
    assert_int_equal(table_write(t, conn, "SELECT 100::INTEGER AS value", 0, NULL, NULL, &err), 0);
    assert_eval(st, "dvw", -1, "count(*) || '/' || sum(value)", "9/136");
    lh_compact_result r;
    if (table_compact(t, conn, NULL, 0, &r, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(r.rows_after, 9);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    assert_non_null(s);
    assert_int_equal(s->nfiles, 1);
    assert_null(s->files[0].deletion_vector);
    table_snapshot_free(s);
    assert_eval(st, "dvw", -1, "count(*) || '/' || sum(value)", "9/136");
    assert_int_equal(table_checkpoint(t, conn, r.version, &err), -1);
    assert_non_null(strstr(err.msg, "protocol 3/7"));
    table_free(t);
    drop_bucket(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dv_fixture),
        cmocka_unit_test(test_column_mapping_fixture),
        cmocka_unit_test(test_partition_fixture),
        cmocka_unit_test(test_bitmap_formats),
        cmocka_unit_test(test_dv_inline_and_prefixed),
        cmocka_unit_test(test_dv_large),
        cmocka_unit_test(test_remove_after_readd),
        cmocka_unit_test(test_typed_partitions),
        cmocka_unit_test(test_type_widening_row_tracking),
        cmocka_unit_test(test_column_mapping_nested),
        cmocka_unit_test(test_writes_on_dv_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
