/*
 * journal_store.c — the journal's DuckDB side: its own in-memory database
 * (never the query engine's, so journal I/O cannot starve user queries),
 * Parquet files written through an appender into a staging table and
 * COPYed out, merges of files, filtered selects and the stats aggregate.
 *
 * Files are written atomically: DuckDB COPYs to a hidden temp name beside
 * the target (".<name>.tmp-<hex>", which storage_cleanup_temp removes after
 * a crash), we fsync it, rename it into place and fsync the folder. Filter
 * values are bound to prepared statements, never pasted; only our own file
 * paths are quoted into the SQL text.
 */
#include <duckdb.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/duck.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "journal/journal_internal.h"

struct jstore {
    duckdb_database db;
};

/* The Parquet schema: id, ts, then the other text fields. */
static void sb_column_defs(lh_strbuf *sb) {
    sb_puts(sb, "id VARCHAR, ts TIMESTAMP");
    for (int i = JF_EVENT_TYPE; i < JF__COUNT; i++) sb_printf(sb, ", %s VARCHAR", jfield_names[i]);
}

/* The select list reading events back: id, ts as microseconds, the rest. */
static void sb_select_list(lh_strbuf *sb) {
    sb_puts(sb, "id, epoch_us(ts) AS ts_us");
    for (int i = JF_EVENT_TYPE; i < JF__COUNT; i++) sb_printf(sb, ", %s", jfield_names[i]);
}

/* read_parquet([...paths...], union_by_name = true) */
static void sb_files(lh_strbuf *sb, char *const *paths, size_t n) {
    sb_puts(sb, "read_parquet([");
    for (size_t i = 0; i < n; i++) {
        if (i) sb_putc(sb, ',');
        sb_sql_str(sb, paths[i]);
    }
    sb_puts(sb, "], union_by_name = true)");
}

jstore *jstore_open(lh_err *err) {
    jstore *s = lh_calloc(1, sizeof *s);
    if (lh_duck_open(&(lh_duck_options){.threads = 2, .memory_mb = 512}, "journal", &s->db, NULL, err) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void jstore_free(jstore *s) {
    if (!s) return;
    duckdb_close(&s->db);
    free(s);
}

static int conn_open(jstore *s, duckdb_connection *c, lh_err *err) {
    if (duckdb_connect(s->db, c) != DuckDBSuccess)
        return lh_err_set(err, LH_E_INTERNAL, "journal: cannot connect to DuckDB");
    return 0;
}

static int exec_sql(duckdb_connection c, const char *sql, lh_err *err) {
    return lh_duck_run(c, sql, NULL, LH_E_INTERNAL, "journal", err);
}

/* ---- atomic files -------------------------------------------------------- */

/* fsync tmp, rename it to path, fsync the folder; removes tmp on failure. */
static int temp_commit(const char *tmp, const char *path, lh_err *err) {
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0 || rename(tmp, path) != 0) {
        if (fd >= 0) close(fd);
        unlink(tmp);
        return lh_err_set(err, LH_E_INTERNAL, "journal: cannot commit %s", path);
    }
    close(fd);
    lh_fsync_dir_of(path);
    return 0;
}

/* COPY (select_sql) TO a temp name, then commit it as path. */
static int copy_to_parquet(duckdb_connection c, const char *select_sql, const char *path, lh_err *err) {
    char *tmp = lh_temp_path_beside(path);
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_printf(&sql, "COPY (%s) TO ", select_sql);
    sb_sql_str(&sql, tmp);
    sb_puts(&sql, " (FORMAT parquet, COMPRESSION zstd)");
    int rc = exec_sql(c, sql.buf, err);
    sb_free(&sql);
    if (rc == 0) rc = temp_commit(tmp, path, err);
    else unlink(tmp);
    free(tmp);
    return rc;
}

/* ---- writing ------------------------------------------------------------- */

static int append_events(duckdb_connection c, const char *table, jevent *const *evs, size_t n,
                         lh_err *err) {
    duckdb_appender app;
    if (duckdb_appender_create(c, NULL, table, &app) != DuckDBSuccess) {
        lh_err_set(err, LH_E_INTERNAL, "journal: appender: %s", duckdb_appender_error(app));
        duckdb_appender_destroy(&app);
        return -1;
    }
    int rc = 0;
    for (size_t r = 0; r < n && rc == 0; r++) {
        const jevent *e = evs[r];
        duckdb_append_varchar(app, e->f[JF_ID]);
        duckdb_append_timestamp(app, (duckdb_timestamp){e->ts_us});
        for (int i = JF_EVENT_TYPE; i < JF__COUNT; i++) {
            if (e->f[i]) duckdb_append_varchar(app, e->f[i]);
            else duckdb_append_null(app);
        }
        if (duckdb_appender_end_row(app) != DuckDBSuccess)
            rc = lh_err_set(err, LH_E_INTERNAL, "journal: append: %s", duckdb_appender_error(app));
    }
    if (rc == 0 && duckdb_appender_close(app) != DuckDBSuccess)
        rc = lh_err_set(err, LH_E_INTERNAL, "journal: append: %s", duckdb_appender_error(app));
    duckdb_appender_destroy(&app);
    return rc;
}

int jstore_write(jstore *s, const char *path, jevent *const *evs, size_t n, lh_err *err) {
    duckdb_connection c;
    if (conn_open(s, &c, err) != 0) return -1;
    char rnd[17];
    lh_random_hex(rnd, 8);
    char table[32];
    snprintf(table, sizeof table, "stage_%s", rnd);
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_printf(&sql, "CREATE TABLE %s (", table);
    sb_column_defs(&sql);
    sb_putc(&sql, ')');
    int rc = exec_sql(c, sql.buf, err);
    if (rc == 0) {
        rc = append_events(c, table, evs, n, err);
        sb_reset(&sql);
        sb_printf(&sql, "SELECT * FROM %s", table);
        if (rc == 0) rc = copy_to_parquet(c, sql.buf, path, err);
        sb_reset(&sql);
        sb_printf(&sql, "DROP TABLE %s", table);
        exec_sql(c, sql.buf, NULL);
    }
    sb_free(&sql);
    duckdb_disconnect(&c);
    return rc;
}

int jstore_merge(jstore *s, char *const *paths, size_t n, const char *out, lh_err *err) {
    duckdb_connection c;
    if (conn_open(s, &c, err) != 0) return -1;
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_puts(&sql, "SELECT id, ts");
    for (int i = JF_EVENT_TYPE; i < JF__COUNT; i++) sb_printf(&sql, ", %s", jfield_names[i]);
    sb_puts(&sql, " FROM ");
    sb_files(&sql, paths, n);
    sb_puts(&sql, " ORDER BY ts, id");
    int rc = copy_to_parquet(c, sql.buf, out, err);
    sb_free(&sql);
    duckdb_disconnect(&c);
    return rc;
}

/* ---- reading ------------------------------------------------------------- */

static char *vec_str(duckdb_vector v, idx_t row) {
    uint64_t *valid = duckdb_vector_get_validity(v);
    if (valid && !duckdb_validity_row_is_valid(valid, row)) return NULL;
    duckdb_string_t *s = (duckdb_string_t *)duckdb_vector_get_data(v) + row;
    return lh_strndup(duckdb_string_t_data(s), duckdb_string_t_length(*s));
}

static int64_t vec_i64(duckdb_vector v, idx_t row, int64_t dflt) {
    uint64_t *valid = duckdb_vector_get_validity(v);
    if (valid && !duckdb_validity_row_is_valid(valid, row)) return dflt;
    return ((int64_t *)duckdb_vector_get_data(v))[row];
}

/* Appends " AND col = ?" for each filter condition; fills vals in order. */
static size_t sb_where(lh_strbuf *sb, const lh_journal_filter *f, const char **vals) {
    const struct { jfield k; const char *v; } conds[] = {
        {JF_ENTITY_ID, f->entity_id}, {JF_ENTITY, f->entity}, {JF_FIELD, f->field},
        {JF_ACTOR, f->actor}, {JF_SOURCE, f->source}, {JF_WORKSPACE, f->workspace},
        {JF_EVENT_TYPE, f->event_type},
    };
    size_t n = 0;
    sb_puts(sb, " WHERE true");
    for (size_t i = 0; i < sizeof conds / sizeof conds[0]; i++) {
        if (!conds[i].v) continue;
        sb_printf(sb, " AND %s = ?", jfield_names[conds[i].k]);
        vals[n++] = conds[i].v;
    }
    return n;
}

static int run_prepared(duckdb_connection c, const char *sql, const char **vals, size_t nvals,
                        const int64_t *ints, size_t nints, duckdb_result *res, lh_err *err) {
    duckdb_prepared_statement st;
    if (duckdb_prepare(c, sql, &st) != DuckDBSuccess) {
        lh_err_set(err, LH_E_INTERNAL, "journal: %s", duckdb_prepare_error(st));
        duckdb_destroy_prepare(&st);
        return -1;
    }
    idx_t p = 1;
    for (size_t i = 0; i < nvals; i++) duckdb_bind_varchar(st, p++, vals[i]);
    for (size_t i = 0; i < nints; i++) duckdb_bind_int64(st, p++, ints[i]);
    int rc = 0;
    if (duckdb_execute_prepared(st, res) != DuckDBSuccess) {
        rc = lh_err_set(err, LH_E_INTERNAL, "journal: %s", duckdb_result_error(res));
        duckdb_destroy_result(res);
    }
    duckdb_destroy_prepare(&st);
    return rc;
}

static void rows_to_events(duckdb_result *res, jevent ***out, size_t *nout) {
    size_t cap = 0;
    duckdb_data_chunk ch;
    while ((ch = duckdb_fetch_chunk(*res)) != NULL) {
        idx_t rows = duckdb_data_chunk_get_size(ch);
        for (idx_t r = 0; r < rows; r++) {
            jevent *e = lh_calloc(1, sizeof *e);
            e->f[JF_ID] = vec_str(duckdb_data_chunk_get_vector(ch, 0), r);
            e->ts_us = vec_i64(duckdb_data_chunk_get_vector(ch, 1), r, 0);
            for (int i = JF_EVENT_TYPE; i < JF__COUNT; i++)
                e->f[i] = vec_str(duckdb_data_chunk_get_vector(ch, (idx_t)i + 1), r);
            if (*nout == cap) {
                cap = cap ? cap * 2 : 64;
                *out = lh_realloc(*out, cap * sizeof **out);
            }
            (*out)[(*nout)++] = e;
        }
        duckdb_destroy_data_chunk(&ch);
    }
}

int jstore_select(jstore *s, char *const *paths, size_t n, const lh_journal_filter *f, int64_t limit,
                  jevent ***out, size_t *nout, lh_err *err) {
    *out = NULL;
    *nout = 0;
    if (n == 0) return 0;
    duckdb_connection c;
    if (conn_open(s, &c, err) != 0) return -1;
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_puts(&sql, "SELECT ");
    sb_select_list(&sql);
    sb_puts(&sql, " FROM ");
    sb_files(&sql, paths, n);
    const char *vals[8];
    size_t nvals = sb_where(&sql, f, vals);
    int64_t ints[2];
    size_t nints = 0;
    if (f->since_us > 0) {
        sb_puts(&sql, " AND ts >= make_timestamp(?)");
        ints[nints++] = f->since_us;
    }
    sb_puts(&sql, " ORDER BY ts DESC, id DESC LIMIT ?");
    ints[nints++] = limit;
    duckdb_result res;
    int rc = run_prepared(c, sql.buf, vals, nvals, ints, nints, &res, err);
    if (rc == 0) {
        rows_to_events(&res, out, nout);
        duckdb_destroy_result(&res);
    }
    sb_free(&sql);
    duckdb_disconnect(&c);
    return rc;
}

int jstore_present_ids(jstore *s, char *const *paths, size_t n, char *const *ids, size_t nids, char ***out,
                       size_t *nout, lh_err *err) {
    *out = NULL;
    *nout = 0;
    if (n == 0 || nids == 0) return 0;
    duckdb_connection c;
    if (conn_open(s, &c, err) != 0) return -1;
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_puts(&sql, "SELECT DISTINCT id FROM ");
    sb_files(&sql, paths, n);
    sb_puts(&sql, " WHERE id IN (");
    for (size_t i = 0; i < nids; i++) {
        if (i) sb_putc(&sql, ',');
        sb_sql_str(&sql, ids[i]);
    }
    sb_puts(&sql, ") ORDER BY id"); /* byte order: what strcmp and bsearch expect (ids are ASCII) */
    duckdb_result res;
    int rc = 0;
    if (duckdb_query(c, sql.buf, &res) != DuckDBSuccess) {
        rc = lh_err_set(err, LH_E_INTERNAL, "journal: %s", duckdb_result_error(&res));
    } else {
        idx_t rows = duckdb_row_count(&res);
        *out = lh_calloc(rows ? rows : 1, sizeof **out);
        for (idx_t r = 0; r < rows; r++) {
            char *v = duckdb_value_varchar(&res, 0, r);
            (*out)[(*nout)++] = lh_strdup(v ? v : "");
            duckdb_free(v);
        }
    }
    duckdb_destroy_result(&res);
    sb_free(&sql);
    duckdb_disconnect(&c);
    return rc;
}

/* ---- stats --------------------------------------------------------------- */

static const char *const stat_groups[] = {"entity", "event_type", "actor", "source", "workspace"};
#define NGROUPS (sizeof stat_groups / sizeof stat_groups[0])

static void add_count(json_t *obj, const char *key, int64_t n) {
    json_t *v = json_object_get(obj, key);
    json_object_set_new(obj, key, json_integer((v ? json_integer_value(v) : 0) + n));
}

/* One scan: GROUPING SETS over each stats column plus the grand total. */
static char *stats_sql(char *const *paths, size_t n) {
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_puts(&sql, "SELECT CASE");
    for (size_t g = 0; g < NGROUPS; g++)
        sb_printf(&sql, " WHEN GROUPING(%s) = 0 THEN %zu", stat_groups[g], g);
    sb_puts(&sql, " ELSE -1 END::BIGINT AS grp, COALESCE(");
    for (size_t g = 0; g < NGROUPS; g++) sb_printf(&sql, "%s%s", g ? ", " : "", stat_groups[g]);
    sb_puts(&sql, ") AS k, count(*)::BIGINT, min(epoch_us(ts)), max(epoch_us(ts)) FROM ");
    sb_files(&sql, paths, n);
    sb_puts(&sql, " GROUP BY GROUPING SETS (");
    for (size_t g = 0; g < NGROUPS; g++) sb_printf(&sql, "(%s), ", stat_groups[g]);
    sb_puts(&sql, "())");
    return sb_steal(&sql);
}

int jstore_stats(jstore *s, char *const *paths, size_t n, json_t *st, int64_t *total, int64_t *oldest,
                 int64_t *newest, lh_err *err) {
    *total = *oldest = *newest = 0;
    if (n == 0) return 0;
    duckdb_connection c;
    if (conn_open(s, &c, err) != 0) return -1;
    char *sql = stats_sql(paths, n);
    duckdb_result res;
    int rc = run_prepared(c, sql, NULL, 0, NULL, 0, &res, err);
    free(sql);
    if (rc == 0) {
        duckdb_data_chunk ch;
        while ((ch = duckdb_fetch_chunk(res)) != NULL) {
            idx_t rows = duckdb_data_chunk_get_size(ch);
            for (idx_t r = 0; r < rows; r++) {
                int64_t grp = vec_i64(duckdb_data_chunk_get_vector(ch, 0), r, -1);
                char *key = vec_str(duckdb_data_chunk_get_vector(ch, 1), r);
                int64_t cnt = vec_i64(duckdb_data_chunk_get_vector(ch, 2), r, 0);
                if (grp < 0) {
                    *total = cnt;
                    *oldest = vec_i64(duckdb_data_chunk_get_vector(ch, 3), r, 0);
                    *newest = vec_i64(duckdb_data_chunk_get_vector(ch, 4), r, 0);
                } else if (key) {
                    char name[32];
                    snprintf(name, sizeof name, "by_%s", stat_groups[grp]);
                    add_count(json_object_get(st, name), key, cnt);
                }
                free(key);
            }
            duckdb_destroy_data_chunk(&ch);
        }
        duckdb_destroy_result(&res);
    }
    duckdb_disconnect(&c);
    return rc;
}
