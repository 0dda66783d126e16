/*
 * table.c — opening a table, listing its log, building snapshots (from the
 * newest usable checkpoint plus later JSON commits) and the SQL that reads
 * a snapshot with DuckDB.
 */
#include "table/table.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/duck.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "table/delta_log.h"
#include "table/dv.h"
#include "table/table_internal.h"

lh_table *table_open(lh_storage *st, const char *prefix, lh_err *err) {
    size_t n = strlen(prefix);
    while (n > 0 && prefix[n - 1] == '/') n--;
    char *p = lh_strndup(prefix, n);
    if (storage_key_validate(p, err) != 0) {
        free(p);
        return NULL;
    }
    lh_table *t = lh_calloc(1, sizeof *t);
    t->st = st;
    t->prefix = p;
    t->checkpoint_interval = 10;
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void table_free(lh_table *t) {
    if (!t) return;
    if (t->conn) duckdb_disconnect(&t->conn);
    if (t->db) duckdb_close(&t->db);
    pthread_mutex_destroy(&t->mu);
    json_decref(t->read_keys);
    free(t->prefix);
    free(t);
}

const char *table_prefix(const lh_table *t) { return t->prefix; }
lh_storage *table_storage(const lh_table *t) { return t->st; }
void table_set_checkpoint_interval(lh_table *t, int interval) { t->checkpoint_interval = interval; }

char *table_log_key(const lh_table *t, const char *name) {
    return lh_asprintf("%s/_delta_log/%s", t->prefix, name);
}

int table_private_query(lh_table *t, const char *sql, duckdb_result *res, lh_err *err) {
    pthread_mutex_lock(&t->mu);
    if (!t->db) {
        if (lh_duck_open(&(lh_duck_options){.threads = 1}, "table", &t->db, &t->conn, err) != 0) {
            pthread_mutex_unlock(&t->mu);
            return -1;
        }
    }
    int rc = 0;
    if (duckdb_query(t->conn, sql, res) != DuckDBSuccess) {
        rc = lh_err_set(err, LH_E_UNPROCESSABLE, "%s", duckdb_result_error(res));
        duckdb_destroy_result(res);
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

/* ---- listing the log ---------------------------------------------------- */

typedef struct {
    int64_t *commits;     /* sorted versions with a JSON commit */
    size_t ncommits;
    int64_t *cp_version;  /* checkpoints: version, parts (1 = single file) */
    int *cp_parts, *cp_found;
    char **cp_name;       /* file name of a single-file checkpoint (classic or v2 UUID-named) */
    size_t ncp;
} log_listing;

static void listing_free(log_listing *l) {
    free(l->commits);
    free(l->cp_version);
    free(l->cp_parts);
    free(l->cp_found);
    lh_strv_free(l->cp_name, l->ncp);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Notes one checkpoint file; a single-file one keeps its name (the first
 * seen of several at one version: any complete checkpoint will do). */
static void note_checkpoint(log_listing *l, int64_t v, int parts, const char *name) {
    for (size_t i = 0; i < l->ncp; i++)
        if (l->cp_version[i] == v && l->cp_parts[i] == parts) {
            if (parts > 1) l->cp_found[i]++;
            return;
        }
    l->cp_name = lh_realloc(l->cp_name, (l->ncp + 1) * sizeof *l->cp_name);
    l->cp_name[l->ncp] = parts == 1 ? lh_strdup(name) : NULL;
    l->cp_version = lh_realloc(l->cp_version, (l->ncp + 1) * sizeof *l->cp_version);
    l->cp_parts = lh_realloc(l->cp_parts, (l->ncp + 1) * sizeof *l->cp_parts);
    l->cp_found = lh_realloc(l->cp_found, (l->ncp + 1) * sizeof *l->cp_found);
    l->cp_version[l->ncp] = v;
    l->cp_parts[l->ncp] = parts;
    l->cp_found[l->ncp++] = 1;
}

/* The version a _delta_log/ file name starts with ("<20 digits>."), or -1;
 * *rest gets what follows the dot. */
static int64_t log_name_version(const char *name, const char **rest) {
    char *end;
    if (strlen(name) < 21 || name[20] != '.') return -1;
    int64_t v = strtoll(name, &end, 10);
    if (end != name + 20 || v < 0) return -1;
    *rest = name + 21;
    return v;
}

/* "checkpoint.<uuid>.json|parquet": a v2 checkpoint's UUID-named file. */
static int is_v2_checkpoint_name(const char *rest) {
    if (strncmp(rest, "checkpoint.", 11) != 0 || strlen(rest) < 11 + 36 + 5) return 0;
    const char *u = rest + 11, *ext = u + 36;
    for (int i = 0; i < 36; i++)
        if (!(i == 8 || i == 13 || i == 18 || i == 23 ? u[i] == '-' : strchr("0123456789abcdefABCDEF", u[i]) && u[i]))
            return 0;
    return !strcmp(ext, ".json") || !strcmp(ext, ".parquet");
}

/* Classifies one file name of _delta_log/. */
static void listing_add(log_listing *l, const char *name) {
    const char *rest;
    int64_t v = log_name_version(name, &rest);
    if (v < 0) return;
    if (!strcmp(rest, "json")) {
        l->commits = lh_realloc(l->commits, (l->ncommits + 1) * sizeof *l->commits);
        l->commits[l->ncommits++] = v;
    } else if (!strcmp(rest, "checkpoint.parquet")) {
        note_checkpoint(l, v, 1, name);
    } else {
        int part, parts;
        if (sscanf(rest, "checkpoint.%10d.%10d.parquet", &part, &parts) == 2 && parts > 0)
            note_checkpoint(l, v, parts, name);
        else if (is_v2_checkpoint_name(rest))
            note_checkpoint(l, v, 1, name);
    }
}

/* The objects below the table's _delta_log/ (caller frees with
 * storage_list_free); *plen is the length of that prefix in their keys. */
static int log_objects(lh_table *t, lh_object_info **objs, size_t *n, size_t *plen, lh_err *err) {
    char *prefix = table_log_key(t, "");
    *plen = strlen(prefix);
    int rc = storage_list(t->st, prefix, objs, n, err);
    free(prefix);
    return rc;
}

static int list_log(lh_table *t, log_listing *l, lh_err *err) {
    memset(l, 0, sizeof *l);
    lh_object_info *objs;
    size_t n, plen;
    int rc = log_objects(t, &objs, &n, &plen, err);
    if (rc != 0) return rc;
    for (size_t i = 0; i < n; i++)
        if (!strchr(objs[i].key + plen, '/')) listing_add(l, objs[i].key + plen);
    storage_list_free(objs, n);
    if (l->ncommits) qsort(l->commits, l->ncommits, sizeof *l->commits, cmp_i64);
    return 0;
}

/* Newest version of a listing: its last commit, or a newer complete
 * checkpoint (a checkpoint may outlive cleaned-up commits). */
static int64_t listing_latest(const log_listing *l) {
    int64_t v = l->ncommits ? l->commits[l->ncommits - 1] : -1;
    for (size_t i = 0; i < l->ncp; i++)
        if (l->cp_found[i] == l->cp_parts[i] && l->cp_version[i] > v) v = l->cp_version[i];
    return v;
}

int64_t table_latest_version(lh_table *t, lh_err *err) {
    log_listing l;
    if (list_log(t, &l, err) != 0) return -1;
    int64_t v = listing_latest(&l);
    listing_free(&l);
    return v;
}

int table_exists(lh_table *t) { return table_latest_version(t, NULL) >= 0; }

typedef struct {
    int64_t v, mtime;
} commit_stamp;

static int cmp_stamp(const void *a, const void *b) {
    const commit_stamp *x = a, *y = b;
    return (x->v > y->v) - (x->v < y->v);
}

int table_commit_versions(lh_table *t, int64_t **versions, int64_t **mtimes, size_t *n, lh_err *err) {
    lh_object_info *objs;
    size_t nobj, plen;
    *versions = *mtimes = NULL;
    *n = 0;
    int rc = log_objects(t, &objs, &nobj, &plen, err);
    if (rc != 0) return rc;
    commit_stamp *cs = lh_calloc(nobj + 1, sizeof *cs);
    for (size_t i = 0; i < nobj; i++) {
        const char *rest;
        int64_t v = log_name_version(objs[i].key + plen, &rest);
        if (v >= 0 && !strcmp(rest, "json")) cs[(*n)++] = (commit_stamp){v, objs[i].modified_ms};
    }
    storage_list_free(objs, nobj);
    qsort(cs, *n, sizeof *cs, cmp_stamp);
    *versions = lh_calloc(*n + 1, sizeof **versions);
    *mtimes = lh_calloc(*n + 1, sizeof **mtimes);
    for (size_t i = 0; i < *n; i++) {
        (*versions)[i] = cs[i].v;
        (*mtimes)[i] = cs[i].mtime;
    }
    free(cs);
    return 0;
}

/* ---- checkpoints -------------------------------------------------------- */

/* Newest complete checkpoint at or below `version`, or -1. */
static int64_t pick_checkpoint(const log_listing *l, int64_t version, int *parts) {
    int64_t best = -1;
    for (size_t i = 0; i < l->ncp; i++)
        if (l->cp_found[i] == l->cp_parts[i] && l->cp_version[i] <= version && l->cp_version[i] > best) {
            best = l->cp_version[i];
            *parts = l->cp_parts[i];
        }
    return best;
}

/* Name of the single-file checkpoint at v (NULL for a multi-part one). */
static const char *checkpoint_name(const log_listing *l, int64_t v, int parts) {
    for (size_t i = 0; i < l->ncp; i++)
        if (l->cp_version[i] == v && l->cp_parts[i] == parts) return l->cp_name[i];
    return NULL;
}

static char *checkpoint_files_sql(lh_table *t, int64_t v, int parts, const char *single) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_putc(&sb, '[');
    for (int p = 1; p <= parts; p++) {
        char name[96];
        if (parts == 1) snprintf(name, sizeof name, "%s", single);
        else snprintf(name, sizeof name, "%020" PRId64 ".checkpoint.%010d.%010d.parquet", v, p, parts);
        char *key = table_log_key(t, name);
        char *path = table_file_read_path(t, key);
        if (p > 1) sb_putc(&sb, ',');
        sb_sql_str(&sb, path);
        free(path);
        free(key);
    }
    sb_putc(&sb, ']');
    return sb_steal(&sb);
}

/* Feeds every row of the Parquet files `files` (a DuckDB list literal) to
 * the replay as one action object of the columns in `cols` that exist. */
static int replay_parquet_actions(lh_table *t, delta_replay *r, const char *files, const char *cols, lh_err *err) {
    char *sql = lh_asprintf("SELECT to_json(cp)::VARCHAR FROM (SELECT COLUMNS(c -> c IN (%s)) "
                            "FROM read_parquet(%s, union_by_name = true)) AS cp", cols, files);
    duckdb_result res;
    int rc = table_private_query(t, sql, &res, err);
    free(sql);
    if (rc != 0) return -1;
    idx_t rows = duckdb_row_count(&res);
    for (idx_t row = 0; row < rows && rc == 0; row++) {
        char *text = duckdb_value_varchar(&res, 0, row);
        json_t *action = json_loads(text ? text : "", 0, NULL);
        duckdb_free(text);
        rc = action ? delta_replay_action(r, action, err) : lh_err_set(err, LH_E_UNPROCESSABLE, "unreadable row");
        json_decref(action);
    }
    duckdb_destroy_result(&res);
    return rc;
}

/* The sidecar files a v2 checkpoint named: their add rows (their removes
 * are tombstones, which a snapshot does not need). */
static int replay_sidecars(lh_table *t, delta_replay *r, lh_err *err) {
    size_t i;
    json_t *p;
    json_array_foreach(r->sidecars, i, p) {
        const char *name = json_string_value(p);
        char *sub = lh_asprintf("_sidecars/%s", name);
        char *key = table_log_key(t, sub);
        free(sub);
        if (strchr(name, '/') || storage_key_validate(key, NULL) != 0) {
            free(key);
            return lh_err_set(err, LH_E_UNPROCESSABLE, "sidecar '%s' is not a file of _delta_log/_sidecars", name);
        }
        lh_strbuf files = LH_STRBUF_INIT;
        char *path = table_file_read_path(t, key);
        sb_sql_str(&files, path);
        int rc = replay_parquet_actions(t, r, files.buf, "'add'", err);
        if (rc != 0) lh_err_prefix(err, "sidecar %s", name);
        free(path);
        free(key);
        sb_free(&files);
        if (rc != 0) return -1;
    }
    return 0;
}

/* A checkpoint: classic (one file or parts), or v2 (UUID-named JSON or
 * Parquet, with checkpointMetadata and sidecar actions). */
static int replay_checkpoint(lh_table *t, delta_replay *r, int64_t v, int parts, const char *single, lh_err *err) {
    size_t n = single ? strlen(single) : 0;
    int rc;
    if (n > 5 && !strcmp(single + n - 5, ".json")) {
        char *key = table_log_key(t, single), *text = NULL;
        size_t len;
        rc = storage_get(t->st, key, &text, &len, err);
        if (rc == 0) rc = delta_replay_commit(r, text, len, single, err);
        free(text);
        free(key);
    } else {
        char *files = checkpoint_files_sql(t, v, parts, single);
        rc = replay_parquet_actions(t, r, files, "'add', 'metaData', 'protocol', 'sidecar', 'checkpointMetadata'", err);
        free(files);
    }
    if (rc == 0) rc = replay_sidecars(t, r, err);
    if (rc != 0) lh_err_prefix(err, "checkpoint %" PRId64, v);
    return rc;
}

/* Checkpoint version named by _last_checkpoint if usable, else -1. */
static int64_t last_checkpoint_hint(lh_table *t, int *parts) {
    char *key = table_log_key(t, "_last_checkpoint");
    char *text = NULL;
    size_t len;
    int64_t v = -1;
    if (storage_get(t->st, key, &text, &len, NULL) == 0) {
        json_t *j = json_loadb(text, len, 0, NULL);
        if (json_is_integer(json_object_get(j, "version"))) {
            v = json_integer_value(json_object_get(j, "version"));
            json_t *p = json_object_get(j, "parts");
            *parts = json_is_integer(p) ? (int)json_integer_value(p) : 1;
        }
        json_decref(j);
    }
    free(text);
    free(key);
    return v;
}

/* ---- snapshot ----------------------------------------------------------- */

char **table_names_split(const char *list, size_t *n, lh_err *err) {
    size_t cap = 1;
    for (const char *p = list; *p; p++) cap += *p == ',';
    char **out = lh_calloc(cap + 1, sizeof *out);
    *n = 0;
    const char *p = list;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t')) p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
        if (len == 0) {
            table_names_free(out);
            lh_err_set(err, LH_E_BAD_REQUEST, "empty column name in '%s'", list);
            return NULL;
        }
        out[(*n)++] = lh_strndup(p, len);
        if (!e) break;
        p = e + 1;
    }
    return out;
}

void table_names_free(char **names) {
    for (size_t i = 0; names && names[i]; i++) free(names[i]);
    free(names);
}

static int replay_commit_file(lh_table *t, delta_replay *r, int64_t v, lh_err *err) {
    char name[40];
    snprintf(name, sizeof name, "%020" PRId64 ".json", v);
    char *key = table_log_key(t, name);
    char *text;
    size_t len;
    int rc = storage_get(t->st, key, &text, &len, err);
    free(key);
    if (rc != 0) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "commit %s is missing: the log is incomplete", name);
        return -1;
    }
    rc = delta_replay_commit(r, text, len, name, err);
    free(text);
    return rc;
}

static int has_commit(const log_listing *l, int64_t v) {
    return bsearch(&v, l->commits, l->ncommits, sizeof *l->commits, cmp_i64) != NULL;
}

/* Replays the log up to version (-1: the latest of one listing) into r;
 * *replayed receives the version replayed, from that same listing, so a
 * snapshot never carries a later version number than its files (a second
 * listing could see a commit that landed meanwhile). */
static int replay_to(lh_table *t, delta_replay *r, int64_t version, int64_t *replayed, lh_err *err) {
    log_listing l;
    if (list_log(t, &l, err) != 0) return -1;
    int64_t latest = listing_latest(&l);
    int rc = 0, parts = 1;
    int64_t start = 0;
    if (version < 0) version = latest;
    int64_t hint = last_checkpoint_hint(t, &parts);
    int64_t cp = -1;
    if (hint >= 0 && hint <= version) {
        int p2 = 1;
        cp = pick_checkpoint(&l, hint, &p2) == hint ? hint : pick_checkpoint(&l, version, &parts);
        if (cp == hint) parts = p2;
    } else {
        cp = pick_checkpoint(&l, version, &parts);
    }
    if (version < 0 || (version > latest && cp != version)) {
        if (version < 0) rc = lh_err_set(err, LH_E_NOT_FOUND, "no Delta table at '%s'", t->prefix);
        else rc = lh_err_set(err, LH_E_NOT_FOUND, "version %" PRId64 " of '%s' does not exist", version, t->prefix);
    } else {
        if (cp >= 0) {
            rc = replay_checkpoint(t, r, cp, parts, checkpoint_name(&l, cp, parts), err);
            start = cp + 1;
        }
        for (int64_t v = start; rc == 0 && v <= version; v++) {
            if (!has_commit(&l, v)) {
                rc = lh_err_set(err, LH_E_UNPROCESSABLE, "commit %" PRId64 " of '%s' is missing: the log has a gap", v, t->prefix);
                break;
            }
            rc = replay_commit_file(t, r, v, err);
        }
    }
    listing_free(&l);
    *replayed = version;
    return rc == 0 ? 0 : -1;
}

/* The name of field f in the data files: its physicalName under column
 * mapping, else its name. NULL + err when the mapping is unusable. */
static const char *physical_name(json_t *f, const char *name, const char *mode, lh_err *err) {
    if (!strcmp(mode, "none")) return name;
    const char *phys = json_string_value(json_object_get(json_object_get(f, "metadata"), "delta.columnMapping.physicalName"));
    if (!phys || !*phys) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "column mapping '%s': column '%s' has no physical name", mode, name);
        return NULL;
    }
    return phys; /* nested fields are renamed by the reader (table_read.c) */
}

/* Type widening: a field whose metadata records delta.typeChanges is read
 * as its current type (older files hold a narrower one). Changes inside
 * nested types (a fieldPath) are refused. */
static int column_widening(json_t *f, lh_table_column *c, lh_err *err) {
    json_t *changes = json_object_get(json_object_get(f, "metadata"), "delta.typeChanges");
    size_t i;
    json_t *ch;
    json_array_foreach(changes, i, ch) {
        if (json_object_get(ch, "fieldPath"))
            return lh_err_set(err, LH_E_UNPROCESSABLE, "type widening inside nested column '%s' is not supported", c->name);
    }
    c->widened = json_array_size(changes) > 0;
    return 0;
}

static int parse_schema(lh_snapshot *s, json_t *meta, lh_err *err) {
    const char *schema = json_string_value(json_object_get(meta, "schemaString"));
    json_t *j = json_loads(schema, 0, NULL);
    json_t *fields = json_object_get(j, "fields");
    s->schema_string = lh_strdup(schema);
    s->ncolumns = json_array_size(fields);
    s->columns = lh_calloc(s->ncolumns ? s->ncolumns : 1, sizeof *s->columns);
    const char *mode = json_string_value(json_object_get(json_object_get(meta, "configuration"), "delta.columnMapping.mode"));
    s->column_mapping = lh_strdup(mode ? mode : "none");
    for (size_t i = 0; i < s->ncolumns; i++) {
        json_t *f = json_array_get(fields, i);
        json_t *type = json_object_get(f, "type");
        const char *name = json_string_value(json_object_get(f, "name"));
        if (!name || !type) {
            json_decref(j);
            return lh_err_set(err, LH_E_UNPROCESSABLE, "schema field %zu lacks a name or type", i);
        }
        s->columns[i].name = lh_strdup(name);
        s->columns[i].type = json_is_string(type) ? lh_strdup(json_string_value(type))
                                                  : json_dumps(type, JSON_COMPACT);
        s->columns[i].nullable = !json_is_false(json_object_get(f, "nullable"));
        const char *phys = physical_name(f, name, s->column_mapping, err);
        if (!phys) {
            json_decref(j);
            return -1;
        }
        s->columns[i].physical_name = lh_strdup(phys);
        if (column_widening(f, &s->columns[i], err) != 0) {
            json_decref(j);
            return -1;
        }
    }
    json_decref(j);
    json_t *conf = json_object_get(meta, "configuration");
    s->configuration = json_is_object(conf) ? json_dumps(conf, JSON_COMPACT | JSON_SORT_KEYS) : lh_strdup("{}");
    const char *key = json_string_value(json_object_get(conf, LH_TABLE_CLUSTER_PROPERTY));
    if (key && *key) {
        s->cluster_by = table_names_split(key, &s->ncluster_by, err);
        if (!s->cluster_by) return -1;
    }
    json_t *pc = json_object_get(meta, "partitionColumns");
    s->npartition_columns = json_array_size(pc);
    s->partition_columns = lh_calloc(s->npartition_columns + 1, sizeof *s->partition_columns);
    for (size_t i = 0; i < s->npartition_columns; i++)
        s->partition_columns[i] = lh_strdup(json_string_value(json_array_get(pc, i)) ?: "");
    return 0;
}

int table_file_load_dv(lh_table *t, json_t *dv, lh_table_file *o, lh_err *err) {
    if (!dv) return 0;
    dv_ranges d;
    if (dv_load(t->st, t->prefix, dv, &d, err) != 0) {
        lh_err_prefix(err, "data file %s", o->path);
        return -1;
    }
    o->deletion_vector = json_dumps(dv, JSON_COMPACT | JSON_SORT_KEYS);
    o->deleted_lo = d.lo;
    o->deleted_hi = d.hi;
    o->ndeleted = d.n;
    o->deleted_rows = d.cardinality;
    if (o->rows >= 0) o->rows = o->rows >= d.cardinality ? o->rows - d.cardinality : -1;
    return o->ndeleted > LH_TABLE_DV_INLINE_RANGES ? table_dv_rows_file(t, o, err) : 0;
}

void table_file_clear(lh_table_file *f) {
    lh_strv_free(f->part_names, f->nparts);
    lh_strv_free(f->part_values, f->nparts);
    free(f->path);
    free(f->stats);
    free(f->deletion_vector);
    free(f->deleted_lo);
    free(f->deleted_hi);
    free(f->deleted_rows_file);
    memset(f, 0, sizeof *f);
}

void table_file_set_partitions(lh_table_file *o, json_t *pvalues) {
    o->nparts = json_object_size(pvalues);
    o->part_names = lh_calloc(o->nparts + 1, sizeof *o->part_names);
    o->part_values = lh_calloc(o->nparts + 1, sizeof *o->part_values);
    const char *k;
    json_t *v;
    size_t j = 0;
    json_object_foreach(pvalues, k, v) {
        o->part_names[j] = lh_strdup(k);
        o->part_values[j++] = json_is_string(v) ? lh_strdup(json_string_value(v)) : NULL;
    }
}

static int collect_files(lh_table *t, lh_snapshot *s, delta_replay *r, lh_err *err) {
    s->files = lh_calloc(r->nfiles ? r->nfiles : 1, sizeof *s->files);
    s->num_records = 0;
    for (size_t i = 0; i < r->nfiles; i++) {
        dl_file *f = &r->files[i];
        if (!f->live) continue;
        lh_table_file *o = &s->files[s->nfiles++];
        o->path = lh_strdup(f->path);
        o->size = f->size;
        o->rows = f->rows;
        o->modification_time = f->mtime;
        o->stats = f->stats ? lh_strdup(f->stats) : NULL;
        table_file_set_partitions(o, f->pvalues);
        if (table_file_load_dv(t, f->dv, o, err) != 0) return -1;
        s->size_bytes += f->size;
        if (s->num_records >= 0) s->num_records = o->rows >= 0 ? s->num_records + o->rows : -1;
    }
    return 0;
}

lh_snapshot *table_snapshot(lh_table *t, int64_t version, lh_err *err) {
    delta_replay r;
    delta_replay_init(&r);
    lh_snapshot *s = NULL;
    int64_t replayed = -1;
    if (replay_to(t, &r, version, &replayed, err) == 0 && delta_replay_check_protocol(&r, err) == 0) {
        s = lh_calloc(1, sizeof *s);
        s->version = replayed;
        s->table_id = lh_strdup(json_string_value(json_object_get(r.metadata, "id")) ?: "");
        s->created_time = json_integer_value(json_object_get(r.metadata, "createdTime"));
        s->min_reader_version = r.min_reader;
        s->min_writer_version = r.min_writer;
        const char *cdf = json_string_value(json_object_get(json_object_get(r.metadata, "configuration"), "delta.enableChangeDataFeed"));
        s->change_data_feed = cdf && !strcasecmp(cdf, "true");
        if (parse_schema(s, r.metadata, err) != 0 || collect_files(t, s, &r, err) != 0) {
            table_snapshot_free(s);
            s = NULL;
        }
    }
    delta_replay_free(&r);
    return s;
}

void table_snapshot_free(lh_snapshot *s) {
    if (!s) return;
    for (size_t i = 0; i < s->ncolumns; i++) {
        free(s->columns[i].name);
        free(s->columns[i].type);
        free(s->columns[i].physical_name);
    }
    lh_strv_free(s->partition_columns, s->npartition_columns);
    for (size_t i = 0; i < s->nfiles; i++) table_file_clear(&s->files[i]);
    free(s->column_mapping);
    free(s->columns);
    free(s->files);
    free(s->table_id);
    free(s->schema_string);
    free(s->configuration);
    table_names_free(s->cluster_by);
    free(s);
}
