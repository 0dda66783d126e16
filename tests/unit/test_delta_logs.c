/*
 * test_delta_logs.c — the log side of the Delta reader features (issue 12
 * point 6): the change data feed of cdf-table against its documented
 * history (table_changes_sql), stats_parsed in a checkpoint, v2 checkpoints
 * (UUID-named Parquet and JSON) with sidecars and hostile sidecar names, a
 * deletion vector carried by a checkpoint's add struct, and reader features
 * we lack refused by name.
 */
#include "delta_fixture.h"

/* `expr` over the change feed of table `name` between versions. */
static char *changes_eval(lh_storage *st, const char *name, int64_t from, int64_t to, const char *expr, lh_err *err) {
    lh_table *t = table_open(st, name, err);
    assert_non_null(t);
    char *sel = table_changes_sql(t, from, to, err), *out = NULL;
    if (sel) {
        char *sql = lh_asprintf("SELECT %s FROM (%s) AS c", expr, sel);
        out = query_text(sql);
        free(sql);
    }
    free(sel);
    table_free(t);
    return out;
}

static void assert_changes(lh_storage *st, int64_t from, int64_t to, const char *expr, const char *want) {
    lh_err err = {0};
    char *got = changes_eval(st, "cdf-table", from, to, expr, &err);
    if (!got) fail_msg("changes %lld..%lld: %s", (long long)from, (long long)to, err.msg);
    if (strcmp(got, want)) fail_msg("changes %lld..%lld: %s = '%s', want '%s'", (long long)from, (long long)to, expr, got, want);
    free(got);
}

static void test_cdf_fixture(void **state) {
    (void)state;
    lh_storage *st = fixtures();
    assert_eval(st, "cdf-table", -1, "count(*) || '/' || count(*) FILTER (WHERE name = 'Dennis') || '/' || sum(id)", "9/0/48");
    assert_changes(st, 1, 3, "count(*) FILTER (WHERE _change_type = 'update_preimage') || '/' || "
                             "count(*) FILTER (WHERE _change_type = 'update_postimage') || '/' || "
                             "count(*) FILTER (WHERE _change_type = 'delete') || '/' || count(*)", "6/6/1/13");
    assert_changes(st, 0, 0, "count(*) FILTER (WHERE _change_type = 'insert') || '/' || count(*) || '/' || sum(id)", "10/10/55");
    /* v1 moved ids 2, 3, 4 to 2023-12-22; v3 deleted Dennis (id 7, moved to 2023-12-29 by v2) */
    assert_changes(st, 1, 1, "string_agg(DISTINCT id::VARCHAR || '@' || birthday, ',' ORDER BY id::VARCHAR || '@' || birthday) FILTER (WHERE _change_type = 'update_postimage')",
                   "2@2023-12-22,3@2023-12-22,4@2023-12-22");
    assert_changes(st, 3, 3, "string_agg(_change_type || ':' || id || ':' || name || ':' || birthday || ':' || _commit_version, ',')",
                   "delete:7:Dennis:2023-12-29:3");
    assert_changes(st, 3, 3, "epoch_ms(max(_commit_timestamp))::VARCHAR || '/' || typeof(max(_commit_timestamp))", "1704559499570/TIMESTAMP WITH TIME ZONE");
    assert_changes(st, 0, -1, "count(*)", "23");
    /* refused: a table without the feed, a reversed range, a version past the end */
    lh_err err = {0};
    assert_null(changes_eval(st, "table-with-dv-small", 0, 1, "count(*)", &err));
    assert_non_null(strstr(err.msg, "change data feed is not enabled"));
    assert_null(changes_eval(st, "cdf-table", 2, 1, "count(*)", &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_null(changes_eval(st, "cdf-table", 0, 9, "count(*)", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    storage_free(st);
}

static void test_stats_parsed_checkpoint(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    put_parquet(st, "c/a.parquet", "SELECT range AS id FROM range(3)");
    char *cp = storage_path(st, "c/_delta_log/00000000000000000000.checkpoint.parquet");
    char *sql = lh_asprintf(
        "COPY (SELECT NULL::STRUCT(minReaderVersion INT, minWriterVersion INT) AS protocol, NULL::STRUCT(id VARCHAR, schemaString VARCHAR, "
        "partitionColumns VARCHAR[], configuration MAP(VARCHAR, VARCHAR)) AS metaData, {'path': 'a.parquet', 'partitionValues': MAP {}::MAP(VARCHAR, VARCHAR), "
        "'size': 1::BIGINT, 'modificationTime': 1::BIGINT, 'dataChange': false, 'stats': NULL::VARCHAR, 'stats_parsed': {'numRecords': 3::BIGINT}} AS add "
        "UNION ALL SELECT {'minReaderVersion': 1, 'minWriterVersion': 2}, NULL, NULL UNION ALL SELECT NULL, {'id': 'c', 'schemaString': "
        "'{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}', 'partitionColumns': []::VARCHAR[], "
        "'configuration': MAP {}::MAP(VARCHAR, VARCHAR)}, NULL) TO '%s' (FORMAT parquet)", cp);
    lh_err err = {0};
    char *dir = storage_path(st, "c/_delta_log");
    assert_int_equal(lh_mkdirs(dir, &err), 0);
    run_sql(sql);
    put_text(st, "c/_delta_log/_last_checkpoint", "{\"version\":0,\"size\":3}");
    /* the commit the checkpoint stands for; its add has no stats: they come from the checkpoint */
    put_text(st, "c/_delta_log/00000000000000000000.json", "{\"commitInfo\":{}}\n");
    lh_table *t = table_open(st, "c", &err);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    if (!s) fail_msg("%s", err.msg);
    assert_int_equal(s->num_records, 3);
    assert_non_null(strstr(s->files[0].stats, "\"numRecords\":3"));
    table_snapshot_free(s);
    table_free(t);
    free(dir);
    free(sql);
    free(cp);
    drop_bucket(st);
}

static const char *const V2_PROTO =
    "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"v2Checkpoint\"],\"writerFeatures\":[\"v2Checkpoint\"]}}";
static const char *const V2_META =
    "{\"metaData\":{\"id\":\"v2\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":"
    "\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"id\\\",\\\"type\\\":\\\"long\\\","
    "\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\",\"partitionColumns\":[],\"configuration\":{},\"createdTime\":1}}";

/* A v2 table at `name`: data files a, b (in a sidecar of the checkpoint at
 * version 1) and c (commit 2); commits 0 and 1 are gone, so only the
 * checkpoint can say what a and b are. */
static void v2_table(lh_storage *st, const char *name, int json_checkpoint) {
    const char *rows[] = {"a", "SELECT range AS id FROM range(3)", "b", "SELECT range + 10 AS id FROM range(4)",
                          "c", "SELECT 100::BIGINT AS id"};
    for (int i = 0; i < 6; i += 2) {
        char *key = lh_asprintf("%s/%s.parquet", name, rows[i]);
        put_parquet(st, key, rows[i + 1]);
        free(key);
    }
    char *side_key = lh_asprintf("%s/_delta_log/_sidecars/s-1.parquet", name);
    char *side = storage_path(st, side_key);
    lh_err err = {0};
    char *dir = lh_strdup(side);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(lh_mkdirs(dir, &err), 0);
    char *sql = lh_asprintf("COPY (SELECT {'path': 'a.parquet', 'partitionValues': MAP {}::MAP(VARCHAR, VARCHAR), 'size': 1::BIGINT, "
                            "'modificationTime': 1::BIGINT, 'dataChange': false, 'stats': NULL::VARCHAR, 'stats_parsed': {'numRecords': 3::BIGINT}} AS add "
                            "UNION ALL SELECT {'path': 'b.parquet', 'partitionValues': MAP {}, 'size': 1, 'modificationTime': 1, 'dataChange': false, "
                            "'stats': '{\"numRecords\":4}', 'stats_parsed': NULL}) TO '%s' (FORMAT parquet)", side);
    run_sql(sql);
    free(sql);
    const char *uuid = "3a0d65cd-4056-49b8-937b-95f9e3ee90e5";
    if (json_checkpoint) {
        char *text = lh_asprintf("%s\n%s\n{\"checkpointMetadata\":{\"version\":1}}\n"
                                 "{\"sidecar\":{\"path\":\"s-1.parquet\",\"sizeInBytes\":1,\"modificationTime\":1}}\n",
                                 V2_PROTO, V2_META);
        char *key = lh_asprintf("%s/_delta_log/00000000000000000001.checkpoint.%s.json", name, uuid);
        put_text(st, key, text);
        free(key);
        free(text);
    } else {
        char *key = lh_asprintf("%s/_delta_log/00000000000000000001.checkpoint.%s.parquet", name, uuid);
        char *cp = storage_path(st, key);
        sql = lh_asprintf(
            "COPY (SELECT {'minReaderVersion': 3, 'minWriterVersion': 7, 'readerFeatures': ['v2Checkpoint'], 'writerFeatures': ['v2Checkpoint']} AS protocol, "
            "NULL::STRUCT(id VARCHAR, schemaString VARCHAR) AS metaData, NULL::STRUCT(version BIGINT) AS checkpointMetadata, "
            "NULL::STRUCT(path VARCHAR, sizeInBytes BIGINT, modificationTime BIGINT) AS sidecar "
            "UNION ALL SELECT NULL, {'id': 'v2', 'schemaString': '{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}'}, NULL, NULL "
            "UNION ALL SELECT NULL, NULL, {'version': 1}, NULL "
            "UNION ALL SELECT NULL, NULL, NULL, {'path': 's-1.parquet', 'sizeInBytes': 1, 'modificationTime': 1}) TO '%s' (FORMAT parquet)", cp);
        run_sql(sql);
        free(sql);
        free(cp);
        free(key);
    }
    char *key = lh_asprintf("%s/_delta_log/00000000000000000002.json", name);
    put_text(st, key, "{\"add\":{\"path\":\"c.parquet\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true,\"stats\":\"{\\\"numRecords\\\":1}\"}}\n");
    free(key);
    free(dir);
    free(side);
    free(side_key);
}

static void test_v2_checkpoints(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    v2_table(st, "pq", 0);
    v2_table(st, "js", 1);
    const char *names[] = {"pq", "js"};
    for (int i = 0; i < 2; i++) {
        assert_eval(st, names[i], -1, "count(*) || '/' || sum(id)", "8/149");
        lh_err err = {0};
        lh_table *t = table_open(st, names[i], &err);
        lh_snapshot *s = table_snapshot(t, -1, &err);
        if (!s) fail_msg("%s: %s", names[i], err.msg);
        assert_int_equal(s->num_records, 8); /* a's count from stats_parsed */
        assert_int_equal(s->min_reader_version, 3);
        table_snapshot_free(s);
        table_free(t);
    }
    /* a sidecar that is missing, or named outside _sidecars: an error */
    lh_err err = {0};
    assert_int_equal(storage_delete(st, "pq/_delta_log/_sidecars/s-1.parquet", &err), 0);
    assert_null(table_eval(st, "pq", -1, "count(*)", &err));
    assert_non_null(strstr(err.msg, "sidecar"));
    put_text(st, "js/_delta_log/00000000000000000001.checkpoint.3a0d65cd-4056-49b8-937b-95f9e3ee90e5.json",
             "{\"sidecar\":{\"path\":\"..%2F..%2Fsecret.parquet\",\"sizeInBytes\":1,\"modificationTime\":1}}\n");
    assert_null(table_eval(st, "js", -1, "count(*)", &err));
    assert_non_null(strstr(err.msg, "not a file of _delta_log/_sidecars"));
    drop_bucket(st);
}

/* The DV fixture's state as a checkpoint (the add's deletionVector a struct
 * column), its first commit gone (only the checkpoint can say): still 8 rows. */
static void test_dv_in_checkpoint(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    char *cmd = lh_asprintf("cp -r '%s/delta-features/table-with-dv-small' '%s/cp' && rm '%s/cp/_delta_log/00000000000000000000.json'",
                            testdata(), storage_root(st), storage_root(st));
    assert_int_equal(system(cmd), 0);
    free(cmd);
    char *cp = storage_path(st, "cp/_delta_log/00000000000000000001.checkpoint.parquet");
    char *sql = lh_asprintf(
        "COPY (SELECT {'minReaderVersion': 3, 'minWriterVersion': 7, 'readerFeatures': ['deletionVectors'], 'writerFeatures': ['deletionVectors']} AS protocol, "
        "NULL::STRUCT(id VARCHAR, schemaString VARCHAR) AS metaData, NULL::STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, "
        "modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, deletionVector STRUCT(storageType VARCHAR, pathOrInlineDv VARCHAR, \"offset\" INTEGER, "
        "sizeInBytes INTEGER, cardinality BIGINT)) AS add "
        "UNION ALL SELECT NULL, {'id': 'testId', 'schemaString': '{\"type\":\"struct\",\"fields\":[{\"name\":\"value\",\"type\":\"integer\",\"nullable\":true,\"metadata\":{}}]}'}, NULL "
        "UNION ALL SELECT NULL, NULL, {'path': 'part-00000-fae5310a-a37d-4e51-827b-c3d5516560ca-c000.snappy.parquet', 'partitionValues': MAP {}, 'size': 635, "
        "'modificationTime': 1, 'dataChange': false, 'stats': '{\"numRecords\":10}', 'deletionVector': {'storageType': 'u', "
        "'pathOrInlineDv': 'vBn[lx{q8@P<9BNH/isA', 'offset': 1, 'sizeInBytes': 36, 'cardinality': 2}}) TO '%s' (FORMAT parquet)", cp);
    run_sql(sql);
    put_text(st, "cp/_delta_log/_last_checkpoint", "{\"version\":1,\"size\":3}");
    assert_eval(st, "cp", -1, "count(*) || '/' || min(value) || '/' || max(value)", "8/1/8");
    free(sql);
    free(cp);
    drop_bucket(st);
}

static void test_unknown_reader_feature(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    put_parquet(st, "u/a.parquet", "SELECT 1::BIGINT AS id");
    char *log = lh_asprintf("{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"deletionVectors\",\"columnMapping\",\"quantumRows\"],"
                            "\"writerFeatures\":[]}}\n%s{\"add\":{\"path\":\"a.parquet\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true}}\n",
                            SCHEMA_ID);
    put_text(st, "u/_delta_log/00000000000000000000.json", log);
    lh_err err = {0};
    assert_null(table_eval(st, "u", -1, "count(*)", &err));
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    assert_non_null(strstr(err.msg, "'quantumRows'"));
    /* reader 4 and an unknown column mapping mode: refused by name too */
    put_text(st, "u/_delta_log/00000000000000000001.json", "{\"protocol\":{\"minReaderVersion\":4,\"minWriterVersion\":7}}\n");
    assert_null(table_eval(st, "u", -1, "count(*)", &err));
    assert_non_null(strstr(err.msg, "reader version 4"));
    free(log);
    drop_bucket(st);
}


int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cdf_fixture),
        cmocka_unit_test(test_stats_parsed_checkpoint),
        cmocka_unit_test(test_v2_checkpoints),
        cmocka_unit_test(test_dv_in_checkpoint),
        cmocka_unit_test(test_unknown_reader_feature),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
