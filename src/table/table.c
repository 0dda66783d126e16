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

#include "common/duck.h"
#include "common/strbuf.h"
#include "table/delta_log.h"
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
    free(t->prefix);
    free(t);
}

const char *table_prefix(const lh_table *t) { return t->prefix; }
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
    size_t ncp;
} log_listing;

static void listing_free(log_listing *l) {
    free(l->commits);
    free(l->cp_version);
    free(l->cp_parts);
    free(l->cp_found);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void note_checkpoint(log_listing *l, int64_t v, int parts) {
    for (size_t i = 0; i < l->ncp; i++)
        if (l->cp_version[i] == v && l->cp_parts[i] == parts) {
            l->cp_found[i]++;
            return;
        }
    l->cp_version = lh_realloc(l->cp_version, (l->ncp + 1) * sizeof *l->cp_version);
    l->cp_parts = lh_realloc(l->cp_parts, (l->ncp + 1) * sizeof *l->cp_parts);
    l->cp_found = lh_realloc(l->cp_found, (l->ncp + 1) * sizeof *l->cp_found);
    l->cp_version[l->ncp] = v;
    l->cp_parts[l->ncp] = parts;
    l->cp_found[l->ncp++] = 1;
}

/* Classifies one file name of _delta_log/. */
static void listing_add(log_listing *l, const char *name) {
    char *end;
    if (strlen(name) < 21 || name[20] != '.') return;
    int64_t v = strtoll(name, &end, 10);
    if (end != name + 20) return;
    const char *rest = name + 21;
    if (!strcmp(rest, "json")) {
        l->commits = lh_realloc(l->commits, (l->ncommits + 1) * sizeof *l->commits);
        l->commits[l->ncommits++] = v;
    } else if (!strcmp(rest, "checkpoint.parquet")) {
        note_checkpoint(l, v, 1);
    } else {
        int part, parts;
        if (sscanf(rest, "checkpoint.%10d.%10d.parquet", &part, &parts) == 2 && parts > 0)
            note_checkpoint(l, v, parts);
    }
}

static int list_log(lh_table *t, log_listing *l, lh_err *err) {
    memset(l, 0, sizeof *l);
    char *prefix = table_log_key(t, "");
    lh_object_info *objs;
    size_t n;
    int rc = storage_list(t->st, prefix, &objs, &n, err);
    if (rc == 0) {
        size_t plen = strlen(prefix);
        for (size_t i = 0; i < n; i++)
            if (!strchr(objs[i].key + plen, '/')) listing_add(l, objs[i].key + plen);
        storage_list_free(objs, n);
        if (l->ncommits) qsort(l->commits, l->ncommits, sizeof *l->commits, cmp_i64);
    }
    free(prefix);
    return rc;
}

int64_t table_latest_version(lh_table *t, lh_err *err) {
    log_listing l;
    if (list_log(t, &l, err) != 0) return -1;
    int64_t v = l.ncommits ? l.commits[l.ncommits - 1] : -1;
    for (size_t i = 0; i < l.ncp; i++) /* a checkpoint may outlive cleaned-up commits */
        if (l.cp_found[i] == l.cp_parts[i] && l.cp_version[i] > v) v = l.cp_version[i];
    listing_free(&l);
    return v;
}

int table_exists(lh_table *t) { return table_latest_version(t, NULL) >= 0; }

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

static char *checkpoint_files_sql(lh_table *t, int64_t v, int parts) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_putc(&sb, '[');
    for (int p = 1; p <= parts; p++) {
        char name[96];
        if (parts == 1) snprintf(name, sizeof name, "%020" PRId64 ".checkpoint.parquet", v);
        else snprintf(name, sizeof name, "%020" PRId64 ".checkpoint.%010d.%010d.parquet", v, p, parts);
        char *key = table_log_key(t, name);
        char *path = storage_path(t->st, key);
        if (p > 1) sb_putc(&sb, ',');
        sb_sql_str(&sb, path);
        free(path);
        free(key);
    }
    sb_putc(&sb, ']');
    return sb_steal(&sb);
}

static int replay_checkpoint(lh_table *t, delta_replay *r, int64_t v, int parts, lh_err *err) {
    char *files = checkpoint_files_sql(t, v, parts);
    char *sql = lh_asprintf("SELECT to_json(add)::VARCHAR, to_json(metaData)::VARCHAR, "
                            "to_json(protocol)::VARCHAR FROM read_parquet(%s) "
                            "WHERE add IS NOT NULL OR metaData IS NOT NULL OR protocol IS NOT NULL",
                            files);
    free(files);
    duckdb_result res;
    int rc = table_private_query(t, sql, &res, err);
    free(sql);
    if (rc != 0) {
        lh_err_prefix(err, "checkpoint %" PRId64, v);
        return -1;
    }
    static const char *const kinds[3] = {"add", "metaData", "protocol"};
    idx_t rows = duckdb_row_count(&res);
    for (idx_t row = 0; row < rows && rc == 0; row++) {
        for (idx_t col = 0; col < 3 && rc == 0; col++) {
            if (duckdb_value_is_null(&res, col, row)) continue;
            char *text = duckdb_value_varchar(&res, col, row);
            json_t *inner = json_loads(text, 0, NULL);
            duckdb_free(text);
            json_t *action = json_pack("{s:o}", kinds[col], inner ? inner : json_null());
            rc = delta_replay_action(r, action, err);
            json_decref(action);
        }
    }
    duckdb_destroy_result(&res);
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

static int replay_to(lh_table *t, delta_replay *r, int64_t version, lh_err *err) {
    log_listing l;
    if (list_log(t, &l, err) != 0) return -1;
    int64_t latest = l.ncommits ? l.commits[l.ncommits - 1] : -1;
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
            rc = replay_checkpoint(t, r, cp, parts, err);
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
    return rc == 0 ? 0 : -1;
}

static int parse_schema(lh_snapshot *s, json_t *meta, lh_err *err) {
    const char *schema = json_string_value(json_object_get(meta, "schemaString"));
    json_t *j = json_loads(schema, 0, NULL);
    json_t *fields = json_object_get(j, "fields");
    s->schema_string = lh_strdup(schema);
    s->ncolumns = json_array_size(fields);
    s->columns = lh_calloc(s->ncolumns ? s->ncolumns : 1, sizeof *s->columns);
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
    }
    json_decref(j);
    json_t *pc = json_object_get(meta, "partitionColumns");
    s->npartition_columns = json_array_size(pc);
    s->partition_columns = lh_calloc(s->npartition_columns + 1, sizeof *s->partition_columns);
    for (size_t i = 0; i < s->npartition_columns; i++)
        s->partition_columns[i] = lh_strdup(json_string_value(json_array_get(pc, i)) ?: "");
    return 0;
}

static void collect_files(lh_snapshot *s, delta_replay *r) {
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
        o->nparts = json_object_size(f->pvalues);
        o->part_names = lh_calloc(o->nparts + 1, sizeof *o->part_names);
        o->part_values = lh_calloc(o->nparts + 1, sizeof *o->part_values);
        const char *k;
        json_t *v;
        size_t j = 0;
        json_object_foreach(f->pvalues, k, v) {
            o->part_names[j] = lh_strdup(k);
            o->part_values[j++] = json_is_string(v) ? lh_strdup(json_string_value(v)) : NULL;
        }
        s->size_bytes += f->size;
        if (s->num_records >= 0) s->num_records = f->rows >= 0 ? s->num_records + f->rows : -1;
    }
}

lh_snapshot *table_snapshot(lh_table *t, int64_t version, lh_err *err) {
    delta_replay r;
    delta_replay_init(&r);
    lh_snapshot *s = NULL;
    if (replay_to(t, &r, version, err) == 0 && delta_replay_check_protocol(&r, err) == 0) {
        s = lh_calloc(1, sizeof *s);
        s->version = version >= 0 ? version : table_latest_version(t, NULL);
        s->table_id = lh_strdup(json_string_value(json_object_get(r.metadata, "id")) ?: "");
        s->created_time = json_integer_value(json_object_get(r.metadata, "createdTime"));
        if (parse_schema(s, r.metadata, err) != 0) {
            table_snapshot_free(s);
            s = NULL;
        } else {
            collect_files(s, &r);
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
    }
    for (size_t i = 0; i < s->npartition_columns; i++) free(s->partition_columns[i]);
    for (size_t i = 0; i < s->nfiles; i++) {
        lh_table_file *f = &s->files[i];
        for (size_t j = 0; j < f->nparts; j++) {
            free(f->part_names[j]);
            free(f->part_values[j]);
        }
        free(f->part_names);
        free(f->part_values);
        free(f->path);
        free(f->stats);
    }
    free(s->columns);
    free(s->partition_columns);
    free(s->files);
    free(s->table_id);
    free(s->schema_string);
    free(s);
}
