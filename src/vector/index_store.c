/*
 * index_store.c — the vector service's DuckDB side: the service's own
 * in-memory database, the SELECT of source rows (doc_id, text, content
 * hash) over a dataset snapshot, Parquet part files written through an
 * appender (FLOAT[dims] filled straight from the float matrix), the merge
 * of parts (and of the rows a refresh keeps) into one generation file, and
 * loading a generation file into a snapshot.
 *
 * Files are written atomically: DuckDB COPYs to a hidden temp name beside
 * the target (".<name>.tmp-<hex>", which storage_cleanup_temp removes after
 * a crash), we fsync it, rename it into place and fsync the folder.
 * Loading relies on DuckDB keeping insertion order for a plain scan of one
 * file (preserve_insertion_order, the default), so row i of the file is
 * row i of the matrix and node i of the HNSW graph.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/duck.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "vector/index_internal.h"

/* ---- staged rows ---------------------------------------------------------- */

void vrows_push(vrows *r, char *doc_id, int32_t chunk_no, char *text, char *hash, const float *emb) {
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->doc_id = lh_realloc(r->doc_id, r->cap * sizeof *r->doc_id);
        r->chunk_no = lh_realloc(r->chunk_no, r->cap * sizeof *r->chunk_no);
        r->text = lh_realloc(r->text, r->cap * sizeof *r->text);
        r->hash = lh_realloc(r->hash, r->cap * sizeof *r->hash);
        if (r->dims > 0) r->emb = lh_realloc(r->emb, r->cap * (size_t)r->dims * sizeof *r->emb);
    }
    r->doc_id[r->n] = doc_id;
    r->chunk_no[r->n] = chunk_no;
    r->text[r->n] = text;
    r->hash[r->n] = hash;
    if (emb && r->dims > 0) memcpy(r->emb + r->n * (size_t)r->dims, emb, (size_t)r->dims * sizeof *emb);
    r->n++;
}

void vrows_clear(vrows *r) {
    for (size_t i = 0; i < r->n; i++) {
        free(r->doc_id[i]);
        free(r->text[i]);
        free(r->hash[i]);
    }
    r->n = 0;
}

void vrows_free(vrows *r) {
    vrows_clear(r);
    free(r->doc_id);
    free(r->chunk_no);
    free(r->text);
    free(r->hash);
    free(r->emb);
    memset(r, 0, sizeof *r);
}

/* ---- queries -------------------------------------------------------------- */

int vstore_connect(lh_vindex *vx, duckdb_connection *conn, lh_err *err) {
    if (duckdb_connect(vx->db, conn) != DuckDBSuccess)
        return lh_err_set(err, LH_E_INTERNAL, "vector store: cannot connect to DuckDB");
    return 0;
}

int vstore_exec(duckdb_connection conn, const char *sql, lh_err *err) {
    return lh_duck_run(conn, sql, NULL, LH_E_INTERNAL, "vector store", err);
}

int vstore_scalar(duckdb_connection conn, const char *sql, int64_t *out, lh_err *err) {
    duckdb_result r;
    if (lh_duck_run(conn, sql, &r, LH_E_INTERNAL, "vector store", err) != 0) return -1;
    *out = duckdb_row_count(&r) ? duckdb_value_int64(&r, 0, 0) : 0;
    duckdb_destroy_result(&r);
    return 0;
}

int vstore_stream(duckdb_connection conn, const char *sql, duckdb_result *res, lh_err *err) {
    duckdb_prepared_statement st;
    if (duckdb_prepare(conn, sql, &st) != DuckDBSuccess) {
        lh_err_set(err, LH_E_INTERNAL, "vector store: %s", duckdb_prepare_error(st));
        duckdb_destroy_prepare(&st);
        return -1;
    }
    duckdb_pending_result pending;
    int rc = 0;
    if (duckdb_pending_prepared_streaming(st, &pending) != DuckDBSuccess) {
        rc = lh_err_set(err, LH_E_INTERNAL, "vector store: %s", duckdb_pending_error(pending));
    } else if (duckdb_execute_pending(pending, res) != DuckDBSuccess) {
        rc = lh_err_set(err, LH_E_INTERNAL, "vector store: %s", duckdb_result_error(res));
        duckdb_destroy_result(res);
    }
    duckdb_destroy_pending(&pending);
    duckdb_destroy_prepare(&st);
    return rc;
}

char *vstore_str(duckdb_vector v, idx_t row) {
    uint64_t *valid = duckdb_vector_get_validity(v);
    if (valid && !duckdb_validity_row_is_valid(valid, row)) return NULL;
    duckdb_string_t *s = (duckdb_string_t *)duckdb_vector_get_data(v) + row;
    return lh_strndup(duckdb_string_t_data(s), duckdb_string_t_length(*s));
}

char *vstore_file_list(lh_vindex *vx, const char *index, const json_t *files) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_putc(&sb, '[');
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) {
        char *p = vx_path(vx, index, json_string_value(f));
        if (i) sb_putc(&sb, ',');
        sb_sql_str(&sb, p);
        free(p);
    }
    sb_putc(&sb, ']');
    return sb_steal(&sb);
}

char *vstore_source_sql(const char *select_sql, const char *id_col, const char *text_col,
                        const char *old_files) {
    lh_strbuf sb = LH_STRBUF_INIT, id = LH_STRBUF_INIT, text = LH_STRBUF_INIT; /* each column quoted once */
    sb_sql_ident(&id, id_col);
    sb_sql_ident(&text, text_col);
    sb_printf(&sb,
              "SELECT doc_id, text, h FROM (SELECT CAST(s.%s AS VARCHAR) AS doc_id, CAST(s.%s AS VARCHAR) AS text, "
              "sha256(coalesce(CAST(s.%s AS VARCHAR), '')) AS h, s.%s AS k FROM (",
              id.buf, text.buf, text.buf, id.buf);
    sb_puts(&sb, select_sql);
    sb_printf(&sb, ") s WHERE s.%s IS NOT NULL) src", id.buf);
    sb_free(&id);
    sb_free(&text);
    if (old_files) {
        sb_puts(&sb, " WHERE NOT EXISTS (SELECT 1 FROM read_parquet(");
        sb_puts(&sb, old_files);
        sb_puts(&sb, ") o WHERE o.doc_id = src.doc_id AND o.content_hash = src.h)");
    }
    sb_puts(&sb, " ORDER BY k, h");
    return sb_steal(&sb);
}

/* ---- atomic file placement -------------------------------------------------- */

/* fsyncs tmp, renames it to path, fsyncs the folder. */
static int place_file(const char *tmp, const char *path, lh_err *err) {
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return lh_err_set(err, LH_E_INTERNAL, "vector store: cannot place %s", path);
    }
    lh_fsync_dir_of(path);
    return 0;
}

/* COPY (sql) to path atomically. */
static int copy_to(duckdb_connection conn, const char *sql, const char *path, lh_err *err) {
    char *dir = lh_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    int rc = slash ? lh_mkdirs(dir, err) : 0;
    free(dir);
    if (rc != 0) return -1;
    char *tmp = lh_temp_path_beside(path);
    lh_strbuf q = LH_STRBUF_INIT;
    sb_printf(&q, "COPY (%s) TO ", sql);
    sb_sql_str(&q, tmp);
    sb_puts(&q, " (FORMAT parquet, COMPRESSION zstd)");
    rc = vstore_exec(conn, q.buf, err);
    sb_free(&q);
    if (rc == 0) rc = place_file(tmp, path, err);
    else unlink(tmp);
    free(tmp);
    return rc;
}

/* ---- writing ---------------------------------------------------------------- */

static int stage_table(duckdb_connection conn, int dims, lh_err *err) {
    char *sql = lh_asprintf("CREATE OR REPLACE TEMP TABLE vstage (doc_id VARCHAR, chunk_no INTEGER, "
                            "text VARCHAR, embedding FLOAT[%d], content_hash VARCHAR)", dims);
    int rc = vstore_exec(conn, sql, err);
    free(sql);
    return rc;
}

/* Appends rows [from, to) as one data chunk. */
static int append_chunk(duckdb_appender app, duckdb_logical_type *types, const vrows *r, size_t from,
                        size_t to, lh_err *err) {
    duckdb_data_chunk ch = duckdb_create_data_chunk(types, 5);
    duckdb_vector vid = duckdb_data_chunk_get_vector(ch, 0);
    int32_t *cno = duckdb_vector_get_data(duckdb_data_chunk_get_vector(ch, 1));
    duckdb_vector vtext = duckdb_data_chunk_get_vector(ch, 2);
    float *emb = duckdb_vector_get_data(duckdb_array_vector_get_child(duckdb_data_chunk_get_vector(ch, 3)));
    duckdb_vector vhash = duckdb_data_chunk_get_vector(ch, 4);
    for (size_t i = from; i < to; i++) {
        idx_t row = i - from;
        duckdb_vector_assign_string_element_len(vid, row, r->doc_id[i], strlen(r->doc_id[i]));
        cno[row] = r->chunk_no[i];
        duckdb_vector_assign_string_element_len(vtext, row, r->text[i], strlen(r->text[i]));
        duckdb_vector_assign_string_element_len(vhash, row, r->hash[i], strlen(r->hash[i]));
    }
    memcpy(emb, r->emb + from * (size_t)r->dims, (to - from) * (size_t)r->dims * sizeof *emb);
    duckdb_data_chunk_set_size(ch, to - from);
    int rc = 0;
    if (duckdb_append_data_chunk(app, ch) != DuckDBSuccess)
        rc = lh_err_set(err, LH_E_INTERNAL, "vector store: append: %s", duckdb_appender_error(app));
    duckdb_destroy_data_chunk(&ch);
    return rc;
}

int vstore_write_rows(duckdb_connection conn, const vrows *rows, const char *path, lh_err *err) {
    if (stage_table(conn, rows->dims, err) != 0) return -1;
    duckdb_appender app;
    if (duckdb_appender_create(conn, NULL, "vstage", &app) != DuckDBSuccess) {
        lh_err_set(err, LH_E_INTERNAL, "vector store: appender: %s", duckdb_appender_error(app));
        duckdb_appender_destroy(&app);
        return -1;
    }
    duckdb_logical_type vc = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    duckdb_logical_type in = duckdb_create_logical_type(DUCKDB_TYPE_INTEGER);
    duckdb_logical_type fl = duckdb_create_logical_type(DUCKDB_TYPE_FLOAT);
    duckdb_logical_type arr = duckdb_create_array_type(fl, (idx_t)rows->dims);
    duckdb_logical_type types[5] = {vc, in, vc, arr, vc};
    size_t step = duckdb_vector_size();
    int rc = 0;
    for (size_t i = 0; i < rows->n && rc == 0; i += step)
        rc = append_chunk(app, types, rows, i, i + step < rows->n ? i + step : rows->n, err);
    if (rc == 0 && duckdb_appender_close(app) != DuckDBSuccess)
        rc = lh_err_set(err, LH_E_INTERNAL, "vector store: append: %s", duckdb_appender_error(app));
    duckdb_appender_destroy(&app);
    duckdb_destroy_logical_type(&arr);
    duckdb_destroy_logical_type(&fl);
    duckdb_destroy_logical_type(&in);
    duckdb_destroy_logical_type(&vc);
    if (rc == 0) rc = copy_to(conn, "SELECT * FROM vstage", path, err);
    vstore_exec(conn, "DROP TABLE IF EXISTS vstage", NULL);
    return rc;
}

int vstore_merge(duckdb_connection conn, const char *keep_sql, char *const *parts, size_t nparts,
                 const char *path, int64_t *rows_out, lh_err *err) {
    lh_strbuf sel = LH_STRBUF_INIT;
    sb_puts(&sel, "SELECT doc_id, chunk_no, text, embedding, content_hash FROM (");
    int any = 0;
    if (keep_sql) {
        sb_printf(&sel, "SELECT *, 0 AS _g FROM (%s)", keep_sql);
        any = 1;
    }
    if (nparts > 0) {
        if (any) sb_puts(&sel, " UNION ALL BY NAME ");
        sb_puts(&sel, "SELECT doc_id, chunk_no, text, embedding, content_hash, filename AS _fn, "
                      "file_row_number AS _r, 1 AS _g FROM read_parquet([");
        for (size_t i = 0; i < nparts; i++) {
            if (i) sb_putc(&sel, ',');
            sb_sql_str(&sel, parts[i]);
        }
        sb_puts(&sel, "], filename = true, file_row_number = true)");
        any = 1;
    }
    if (!any) sb_puts(&sel, "SELECT NULL::VARCHAR AS doc_id, NULL::INTEGER AS chunk_no, "
                            "NULL::VARCHAR AS text, NULL::FLOAT[1] AS embedding, "
                            "NULL::VARCHAR AS content_hash, '' AS _fn, 0 AS _r, 0 AS _g WHERE false");
    sb_puts(&sel, ") ORDER BY _g, _fn, _r");
    int rc = copy_to(conn, sel.buf, path, err);
    sb_free(&sel);
    if (rc != 0) return -1;
    lh_strbuf q = LH_STRBUF_INIT;
    sb_puts(&q, "SELECT count(*) FROM read_parquet(");
    sb_sql_str(&q, path);
    sb_putc(&q, ')');
    rc = vstore_scalar(conn, q.buf, rows_out, err);
    sb_free(&q);
    return rc;
}

/* ---- loading ------------------------------------------------------------------ */

typedef struct {
    lh_strbuf ids, texts;
    size_t cap;
} load_acc;

static int load_chunk(duckdb_data_chunk ch, int dims, vsnap *s, load_acc *a, lh_err *err) {
    idx_t rows = duckdb_data_chunk_get_size(ch);
    if (s->n + rows > a->cap) {
        a->cap = (s->n + rows) * 2;
        s->matrix = lh_realloc(s->matrix, a->cap * (size_t)dims * sizeof *s->matrix);
        s->id_off = lh_realloc(s->id_off, a->cap * sizeof *s->id_off);
        s->text_off = lh_realloc(s->text_off, a->cap * sizeof *s->text_off);
        s->chunk_no = lh_realloc(s->chunk_no, a->cap * sizeof *s->chunk_no);
    }
    duckdb_vector vid = duckdb_data_chunk_get_vector(ch, 0);
    duckdb_vector vno = duckdb_data_chunk_get_vector(ch, 1);
    duckdb_vector vtext = duckdb_data_chunk_get_vector(ch, 2);
    duckdb_vector vemb = duckdb_data_chunk_get_vector(ch, 3);
    uint64_t *emb_valid = duckdb_vector_get_validity(vemb);
    const int32_t *no = duckdb_vector_get_data(vno);
    const float *emb = duckdb_vector_get_data(duckdb_array_vector_get_child(vemb));
    for (idx_t r = 0; r < rows; r++) {
        if (emb_valid && !duckdb_validity_row_is_valid(emb_valid, r))
            return lh_err_set(err, LH_E_UNPROCESSABLE, "vector file has a NULL embedding at row %zu",
                              s->n);
        char *id = vstore_str(vid, r), *text = vstore_str(vtext, r);
        s->id_off[s->n] = a->ids.len;
        sb_puts(&a->ids, id ? id : "");
        sb_putc(&a->ids, 0);
        s->text_off[s->n] = a->texts.len;
        sb_puts(&a->texts, text ? text : "");
        sb_putc(&a->texts, 0);
        free(id);
        free(text);
        s->chunk_no[s->n] = no[r];
        memcpy(s->matrix + s->n * (size_t)dims, emb + r * (size_t)dims, (size_t)dims * sizeof(float));
        s->n++;
    }
    return 0;
}

int vstore_load(duckdb_connection conn, const char *path, int dims, vsnap *s, lh_err *err) {
    lh_strbuf q = LH_STRBUF_INIT;
    sb_printf(&q, "SELECT doc_id, chunk_no, text, CAST(embedding AS FLOAT[%d]) FROM read_parquet(", dims);
    sb_sql_str(&q, path);
    sb_putc(&q, ')');
    duckdb_result res;
    int rc = vstore_stream(conn, q.buf, &res, err);
    sb_free(&q);
    if (rc != 0) return -1;
    load_acc a = {LH_STRBUF_INIT, LH_STRBUF_INIT, 0};
    s->dims = dims;
    s->n = 0;
    duckdb_data_chunk ch;
    while (rc == 0 && (ch = duckdb_fetch_chunk(res)) != NULL) {
        rc = load_chunk(ch, dims, s, &a, err);
        duckdb_destroy_data_chunk(&ch);
    }
    if (rc == 0 && duckdb_result_error(&res))
        rc = lh_err_set(err, LH_E_INTERNAL, "vector store: %s", duckdb_result_error(&res));
    duckdb_destroy_result(&res);
    s->ids = a.ids.buf ? sb_steal(&a.ids) : lh_strdup("");
    s->texts = a.texts.buf ? sb_steal(&a.texts) : lh_strdup("");
    sb_free(&a.ids);
    sb_free(&a.texts);
    return rc;
}
