/*
 * delta_log.c — applies Delta Lake actions to an in-memory file set.
 * add inserts or replaces a path, remove deletes it, metaData and protocol
 * replace the previous ones, sidecar (v2 checkpoints) is noted for the
 * caller to read, commitInfo / txn / domainMetadata / cdc / checkpointMetadata are
 * accepted and ignored (they do not change which rows a reader sees).
 * A file is keyed by its path; its deletion vector travels with it, and a
 * remove that names a deletion vector only removes the file carrying it.
 */
#include "common/util.h"
#include "table/delta_log.h"

#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "table/dv.h"

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void delta_replay_init(delta_replay *r) {
    memset(r, 0, sizeof *r);
    r->index_cap = 64;
    r->index = lh_calloc(r->index_cap, sizeof *r->index);
    r->sidecars = json_array();
}

static void file_clear(dl_file *f) {
    free(f->path);
    free(f->stats);
    json_decref(f->pvalues);
    json_decref(f->dv);
    free(f->dv_id);
    memset(f, 0, sizeof *f);
}

void delta_replay_free(delta_replay *r) {
    for (size_t i = 0; i < r->nfiles; i++) file_clear(&r->files[i]);
    free(r->files);
    free(r->index);
    json_decref(r->metadata);
    json_decref(r->reader_features);
    json_decref(r->sidecars);
    memset(r, 0, sizeof *r);
}

/* Slot of path in the index (its file or the empty slot to use). */
static size_t *index_slot(delta_replay *r, const char *path) {
    size_t mask = r->index_cap - 1, i = hash_str(path) & mask;
    while (r->index[i] && strcmp(r->files[r->index[i] - 1].path, path) != 0) i = (i + 1) & mask;
    return &r->index[i];
}

static void index_grow(delta_replay *r) {
    free(r->index);
    r->index_cap *= 2;
    r->index = lh_calloc(r->index_cap, sizeof *r->index);
    for (size_t i = 0; i < r->nfiles; i++) *index_slot(r, r->files[i].path) = i + 1;
}

char *delta_path_decode(const char *s) {
    return lh_pct_decode(s, strlen(s));
}

static int64_t stats_rows(const char *stats) {
    if (!stats) return -1;
    json_t *j = json_loads(stats, 0, NULL);
    json_t *n = json_object_get(j, "numRecords");
    int64_t rows = json_is_integer(n) ? json_integer_value(n) : -1;
    json_decref(j);
    return rows;
}

char *delta_action_path(json_t *a, const char *kind, lh_err *err) {
    const char *p = json_string_value(json_object_get(a, "path"));
    if (!p || !*p) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "%s action without a path", kind);
        return NULL;
    }
    char *d = delta_path_decode(p);
    if (!d) lh_err_set(err, LH_E_UNPROCESSABLE, "%s action has a malformed path", kind);
    else if (d[0] == '/' || strstr(d, "://") || strstr(d, "../") || !strcmp(d, "..")) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "%s path '%s' leaves the table folder", kind, d);
        free(d);
        d = NULL;
    }
    return d;
}

static int apply_add(delta_replay *r, json_t *a, lh_err *err) {
    if (!json_is_object(a)) return lh_err_set(err, LH_E_UNPROCESSABLE, "add action is not an object");
    json_t *dv = json_object_get(a, "deletionVector");
    if (json_is_null(dv)) dv = NULL;
    if (dv && !json_is_object(dv)) return lh_err_set(err, LH_E_UNPROCESSABLE, "add.deletionVector is not an object");
    char *path = delta_action_path(a, "add", err);
    if (!path) return -1;
    json_t *pv = json_object_get(a, "partitionValues");
    if (pv && !json_is_object(pv) && !json_is_null(pv)) {
        free(path);
        return lh_err_set(err, LH_E_UNPROCESSABLE, "add.partitionValues is not an object");
    }
    size_t *slot = index_slot(r, path);
    dl_file *f;
    if (*slot) {
        f = &r->files[*slot - 1];
        file_clear(f);
    } else {
        if (r->nfiles == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 64;
            r->files = lh_realloc(r->files, r->cap * sizeof *r->files);
        }
        f = &r->files[r->nfiles++];
        memset(f, 0, sizeof *f);
        *slot = r->nfiles;
    }
    f->path = path;
    f->size = json_integer_value(json_object_get(a, "size"));
    f->mtime = json_integer_value(json_object_get(a, "modificationTime"));
    const char *stats = json_string_value(json_object_get(a, "stats"));
    json_t *parsed = json_object_get(a, "stats_parsed"); /* checkpoints may carry stats as a struct */
    f->stats = stats ? lh_strdup(stats) : json_is_object(parsed) ? json_dumps(parsed, JSON_COMPACT) : NULL;
    f->rows = stats_rows(f->stats);
    f->dv = dv ? json_incref(dv) : NULL;
    f->dv_id = dv_unique_id(dv);
    f->pvalues = json_is_object(pv) ? json_incref(pv) : json_object();
    f->live = 1;
    if (r->nfiles * 2 > r->index_cap) index_grow(r);
    return 0;
}

static int apply_remove(delta_replay *r, json_t *a, lh_err *err) {
    if (!json_is_object(a)) return lh_err_set(err, LH_E_UNPROCESSABLE, "remove action is not an object");
    char *path = delta_action_path(a, "remove", err);
    if (!path) return -1;
    size_t *slot = index_slot(r, path);
    free(path);
    if (!*slot) return 0;
    dl_file *f = &r->files[*slot - 1];
    json_t *dv = json_object_get(a, "deletionVector");
    char *id = json_is_object(dv) ? dv_unique_id(dv) : NULL;
    /* a remove naming another DV than the live one's refers to an older state */
    if (!id || (f->dv_id && !strcmp(id, f->dv_id))) f->live = 0;
    free(id);
    return 0;
}

static int apply_metadata(delta_replay *r, json_t *m, lh_err *err) {
    if (!json_is_object(m) || !json_is_string(json_object_get(m, "schemaString")))
        return lh_err_set(err, LH_E_UNPROCESSABLE, "metaData action lacks a schemaString");
    json_t *schema = json_loads(json_string_value(json_object_get(m, "schemaString")), 0, NULL);
    int ok = json_is_array(json_object_get(schema, "fields"));
    json_decref(schema);
    if (!ok) return lh_err_set(err, LH_E_UNPROCESSABLE, "metaData.schemaString is not a struct schema");
    json_decref(r->metadata);
    r->metadata = json_incref(m);
    return 0;
}

static int apply_protocol(delta_replay *r, json_t *p, lh_err *err) {
    if (!json_is_object(p)) return lh_err_set(err, LH_E_UNPROCESSABLE, "protocol action is not an object");
    r->min_reader = (int)json_integer_value(json_object_get(p, "minReaderVersion"));
    r->min_writer = (int)json_integer_value(json_object_get(p, "minWriterVersion"));
    json_decref(r->reader_features);
    json_t *rf = json_object_get(p, "readerFeatures");
    r->reader_features = json_is_array(rf) ? json_incref(rf) : NULL;
    return 0;
}

/* A v2 checkpoint's sidecar: its file (under _delta_log/_sidecars) is read after the checkpoint. */
static int apply_sidecar(delta_replay *r, json_t *a, lh_err *err) {
    const char *p = json_string_value(json_object_get(a, "path"));
    char *d = p && *p ? delta_path_decode(p) : NULL;
    if (!d) return lh_err_set(err, LH_E_UNPROCESSABLE, "sidecar action without a usable path");
    json_array_append_new(r->sidecars, json_string(d));
    free(d);
    return 0;
}

static const struct {
    const char *key;
    int (*apply)(delta_replay *, json_t *, lh_err *);
} action_table[] = {
    {"add", apply_add},
    {"remove", apply_remove},
    {"metaData", apply_metadata},
    {"protocol", apply_protocol},
    {"sidecar", apply_sidecar},
};

enum { PASS_ALL, PASS_NOT_ADD, PASS_ADD };

/* Applies the members of action that belong to `pass`. */
static int replay_action_pass(delta_replay *r, json_t *action, int pass, lh_err *err) {
    if (!json_is_object(action)) return lh_err_set(err, LH_E_UNPROCESSABLE, "action is not a JSON object");
    const char *key;
    json_t *val;
    json_object_foreach(action, key, val) {
        if (json_is_null(val)) continue;
        int is_add = !strcmp(key, "add");
        if ((pass == PASS_ADD && !is_add) || (pass == PASS_NOT_ADD && is_add)) continue;
        for (size_t i = 0; i < sizeof action_table / sizeof action_table[0]; i++)
            if (!strcmp(key, action_table[i].key) && action_table[i].apply(r, val, err) != 0) return -1;
    }
    return 0;
}

int delta_replay_action(delta_replay *r, json_t *action, lh_err *err) {
    return replay_action_pass(r, action, PASS_ALL, err);
}

json_t *delta_commit_parse(const char *text, size_t len, const char *name, int **lines_out, lh_err *err) {
    json_t *actions = json_array();
    size_t cap = 16;
    int *local = NULL, **lines = lines_out ? lines_out : &local;
    *lines = lh_malloc(cap * sizeof **lines);
    size_t pos = 0;
    int line = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        line++;
        size_t k = 0;
        while (k < n && (text[pos + k] == ' ' || text[pos + k] == '\r' || text[pos + k] == '\t')) k++;
        if (k < n) {
            json_error_t je;
            json_t *a = json_loadb(text + pos, n, 0, &je);
            if (!a) {
                json_decref(actions);
                free(*lines);
                *lines = NULL;
                lh_err_set(err, LH_E_UNPROCESSABLE, "%s line %d: invalid JSON: %s", name, line, je.text);
                return NULL;
            }
            if (json_array_size(actions) == cap) *lines = lh_realloc(*lines, (cap *= 2) * sizeof **lines);
            (*lines)[json_array_size(actions)] = line;
            json_array_append_new(actions, a);
        }
        pos += n + (nl ? 1 : 0);
    }
    free(local);
    return actions;
}

int delta_replay_commit(delta_replay *r, const char *text, size_t len, const char *name,
                        lh_err *err) {
    int *lines;
    json_t *actions = delta_commit_parse(text, len, name, &lines, err);
    if (!actions) return -1;
    for (int pass = PASS_NOT_ADD; pass <= PASS_ADD; pass++) {
        size_t i;
        json_t *a;
        json_array_foreach(actions, i, a) {
            if (!json_is_object(a) || replay_action_pass(r, a, pass, err) != 0) {
                if (!json_is_object(a)) lh_err_set(err, LH_E_UNPROCESSABLE, "action is not a JSON object");
                lh_err_prefix(err, "%s line %d", name, lines[i]);
                json_decref(actions);
                free(lines);
                return -1;
            }
        }
    }
    json_decref(actions);
    free(lines);
    return 0;
}

/* 1 when `name` is one of DELTA_READER_FEATURES. */
static int reader_feature_known(const char *name) {
    const char *list = DELTA_READER_FEATURES;
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0')) return 1;
    return 0;
}

int delta_replay_check_protocol(const delta_replay *r, lh_err *err) {
    if (r->min_reader > 3)
        return lh_err_set(err, LH_E_UNPROCESSABLE, "table needs Delta reader version %d (we read up to 3)", r->min_reader);
    if (r->min_reader == 3) {
        size_t i;
        json_t *f;
        json_array_foreach(r->reader_features, i, f) {
            const char *name = json_string_value(f);
            if (!name || !reader_feature_known(name)) {
                lh_err_set(err, LH_E_UNPROCESSABLE, "table needs reader feature '%s', which we do not support",
                           name ? name : "?");
                lh_err_hint(err, "supported reader features: " DELTA_READER_FEATURES);
                return -1;
            }
        }
    }
    if (!r->metadata) return lh_err_set(err, LH_E_UNPROCESSABLE, "the log has no metaData action");
    const char *mode = json_string_value(json_object_get(json_object_get(r->metadata, "configuration"), "delta.columnMapping.mode"));
    if (mode && strcmp(mode, "none") && strcmp(mode, "name") && strcmp(mode, "id"))
        return lh_err_set(err, LH_E_UNPROCESSABLE, "column mapping mode '%s' is not one we read (none, name, id)", mode);
    return 0;
}
