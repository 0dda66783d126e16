/*
 * dedup.c — SHA-256 content dedup for file ingest.
 *
 * Each dataset that received files has _catalog/ingested/<dataset>.json:
 *   {"dataset", "dataset_created_at", "files":[{"sha256","source","format",
 *    "rows","ingested_at","job_id"}]}
 * dataset_created_at ties the record to one life of the dataset: when a
 * dataset is deleted and made again under the same name, the old record
 * no longer matches its manifest's created_at and is ignored (and replaced
 * on the next ingest). Callers serialise find → write → record.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "ingest/ingest_internal.h"

static char *record_key(const char *dataset) { return lh_asprintf("_catalog/ingested/%s.json", dataset); }

/* The dataset's current created_at (caller frees), or NULL if absent. */
static char *dataset_created_at(lh_catalog *c, const char *dataset) {
    json_t *m = catalog_get(c, dataset, NULL);
    if (!m) return NULL;
    const char *s = json_string_value(json_object_get(m, "created_at"));
    char *out = lh_strdup(s ? s : "");
    json_decref(m);
    return out;
}

/* The record if it belongs to the dataset's current life, else NULL. */
static json_t *record_load(lh_storage *st, const char *dataset, const char *created_at) {
    char *key = record_key(dataset);
    char *text = NULL;
    size_t len = 0;
    json_t *rec = NULL;
    if (storage_get(st, key, &text, &len, NULL) == 0) {
        rec = json_loadb(text, len, 0, NULL);
        const char *at = json_string_value(json_object_get(rec, "dataset_created_at"));
        if (!rec || !at || strcmp(at, created_at) != 0 || !json_is_array(json_object_get(rec, "files"))) {
            json_decref(rec);
            rec = NULL;
        }
        free(text);
    }
    free(key);
    return rec;
}

json_t *dedup_find(lh_storage *st, lh_catalog *c, const char *dataset, const char *sha256) {
    char *created = dataset_created_at(c, dataset);
    if (!created) return NULL;
    json_t *rec = record_load(st, dataset, created);
    free(created);
    json_t *hit = NULL;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(rec, "files"), i, f) {
        const char *s = json_string_value(json_object_get(f, "sha256"));
        if (s && !strcmp(s, sha256)) {
            hit = json_incref(f);
            break;
        }
    }
    json_decref(rec);
    return hit;
}

void dedup_record(lh_storage *st, lh_catalog *c, const char *dataset, const char *sha256,
                  const char *source, const char *format, int64_t rows, const char *job_id) {
    char *created = dataset_created_at(c, dataset);
    if (!created) return;
    json_t *rec = record_load(st, dataset, created);
    if (!rec) rec = json_pack("{s:s, s:s, s:[]}", "dataset", dataset, "dataset_created_at", created, "files");
    char now[32];
    lh_time_iso(lh_now_ms(), now);
    json_array_append_new(json_object_get(rec, "files"),
                          json_pack("{s:s, s:s, s:s, s:I, s:s, s:s?}", "sha256", sha256, "source",
                                    source ? source : "", "format", format, "rows", (json_int_t)rows,
                                    "ingested_at", now, "job_id", job_id));
    char *text = json_dumps(rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    char *key = record_key(dataset);
    lh_err err = {0};
    if (storage_put(st, key, text, strlen(text), NULL, &err) != 0)
        LOG_WARN("ingest: cannot record the hash of %s in %s: %s", source ? source : "?", key, err.msg);
    free(key);
    free(text);
    free(created);
    json_decref(rec);
}
