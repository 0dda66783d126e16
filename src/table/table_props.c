/*
 * table_props.c — table properties a writer honours (ADR 0257): the
 * configuration of a new table's metaData (CREATE TABLE ... TBLPROPERTIES)
 * and the protocol it needs. delta.enableDeletionVectors = "true" makes the
 * table protocol 3/7 with deletionVectors among its reader and writer
 * features, so DELETE and UPDATE write deletion vectors (table_dv_write.c)
 * instead of rewriting files; any other Delta property we would have to act
 * on is refused rather than stored and ignored.
 */
#include <stdlib.h>
#include <string.h>

#include "table/delta_log.h"
#include "table/table.h"
#include "table/table_internal.h"

static int is_true(const json_t *v) { return json_is_string(v) && !strcasecmp(json_string_value(v), "true"); }

int table_properties_check(const json_t *properties, lh_err *err) {
    static const char *const known[] = {LH_TABLE_DV_PROPERTY, "delta.enableChangeDataFeed", "delta.targetFileSize",
                                        "delta.deletedFileRetentionDuration", "delta.logRetentionDuration"};
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)properties, k, v) {
        if (!json_is_string(v)) return lh_err_set(err, LH_E_BAD_REQUEST, "table property '%s' needs a string value", k);
        if (strncmp(k, "delta.", 6)) continue; /* our own and users' properties are kept as they are */
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(k, known[i])) i++;
        if (i == sizeof known / sizeof known[0])
            return lh_err_set(err, LH_E_BAD_REQUEST, "table property '%s' is not supported", k);
    }
    return 0;
}

json_t *table_protocol_action(const json_t *properties) {
    if (!is_true(json_object_get(properties, LH_TABLE_DV_PROPERTY)))
        return json_pack("{s:{s:i, s:i}}", "protocol", "minReaderVersion", 1, "minWriterVersion", 2);
    return json_pack("{s:{s:i, s:i, s:[s], s:[s]}}", "protocol", "minReaderVersion", 3, "minWriterVersion", 7,
                     "readerFeatures", "deletionVectors", "writerFeatures", "deletionVectors");
}

void table_config_merge(json_t *conf, const json_t *properties) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)properties, k, v) json_object_set(conf, k, v);
}

int table_dv_enabled(const lh_snapshot *s) {
    json_t *conf = json_loads(s->configuration ? s->configuration : "{}", 0, NULL);
    int on = is_true(json_object_get(conf, LH_TABLE_DV_PROPERTY)) && s->min_reader_version >= 3 &&
             s->min_writer_version >= 7;
    json_decref(conf);
    return on;
}
