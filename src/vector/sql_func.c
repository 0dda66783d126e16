/*
 * sql_func.c — the DuckDB table function
 *     vector_search('<index>', '<query text>', k [, mode := 'hybrid|keyword|vector|hnsw|brute']
 *                   [, filter := '<SQL predicate over the source dataset>'])
 * returning (doc_id VARCHAR, chunk_no INTEGER, score FLOAT, text VARCHAR),
 * so one SQL statement can join vector hits with tables:
 *     SELECT c.name, v.score FROM vector_search('resumes', 'icu nurse', 10) v
 *     JOIN candidates c ON c.id = CAST(v.doc_id AS BIGINT);
 *
 * The search runs at bind time (its errors become binder errors, which the
 * query API answers 400), the hits are kept in the bind data and emitted
 * by the scan. DuckDB keeps functions in the database catalog, so one
 * registration (on the query engine's admin connection) serves every
 * pooled connection.
 */
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "query/query.h"
#include "vector/index_internal.h"

typedef struct {
    lh_vresults r;
} sf_bind;

typedef struct {
    int pos;
} sf_scan;

static void sf_bind_free(void *p) {
    sf_bind *b = p;
    vindex_results_free(&b->r);
    free(b);
}

/* VARCHAR value of a parameter (caller frees with free), NULL when NULL. */
static char *param_str(duckdb_value v) {
    if (!v || duckdb_is_null_value(v)) return NULL;
    char *d = duckdb_get_varchar(v);
    char *s = d ? lh_strdup(d) : NULL;
    duckdb_free(d);
    return s;
}

static void add_col(duckdb_bind_info info, const char *name, duckdb_type t) {
    duckdb_logical_type lt = duckdb_create_logical_type(t);
    duckdb_bind_add_result_column(info, name, lt);
    duckdb_destroy_logical_type(&lt);
}

static void sf_bind_cb(duckdb_bind_info info) {
    lh_vindex *vx = duckdb_bind_get_extra_info(info);
    duckdb_value vi = duckdb_bind_get_parameter(info, 0), vq = duckdb_bind_get_parameter(info, 1),
                 vk = duckdb_bind_get_parameter(info, 2), vm = duckdb_bind_get_named_parameter(info, "mode"),
                 vf = duckdb_bind_get_named_parameter(info, "filter");
    char *index = param_str(vi), *query = param_str(vq), *mode_s = param_str(vm), *filter = param_str(vf);
    int64_t k = vk && !duckdb_is_null_value(vk) ? duckdb_get_int64(vk) : 10;
    duckdb_destroy_value(&vi);
    duckdb_destroy_value(&vq);
    duckdb_destroy_value(&vk);
    if (vm) duckdb_destroy_value(&vm);
    if (vf) duckdb_destroy_value(&vf);
    add_col(info, "doc_id", DUCKDB_TYPE_VARCHAR);
    add_col(info, "chunk_no", DUCKDB_TYPE_INTEGER);
    add_col(info, "score", DUCKDB_TYPE_FLOAT);
    add_col(info, "text", DUCKDB_TYPE_VARCHAR);
    lh_err err = {0};
    lh_vsearch_opts o;
    vindex_search_opts_init(&o);
    o.k = (int)k;
    o.filter = filter;
    sf_bind *b = lh_calloc(1, sizeof *b);
    int rc = -1;
    if (!index || !query) lh_err_set(&err, LH_E_BAD_REQUEST, "vector_search(index, query, k): index and query must not be NULL");
    else if (k < 1 || k > 1000) lh_err_set(&err, LH_E_BAD_REQUEST, "vector_search: k must be in 1..1000");
    else if (vindex_mode_parse(mode_s, &o.mode, &err) == 0)
        rc = vindex_search_ex(vx, index, query, &o, &b->r, &err);
    free(index);
    free(filter);
    free(query);
    free(mode_s);
    if (rc != 0) {
        char *msg = lh_asprintf("vector_search: %s", err.msg);
        duckdb_bind_set_error(info, msg);
        free(msg);
        sf_bind_free(b);
        return;
    }
    duckdb_bind_set_cardinality(info, (idx_t)b->r.n, true);
    duckdb_bind_set_bind_data(info, b, sf_bind_free);
}

static void sf_init_cb(duckdb_init_info info) {
    sf_scan *s = lh_calloc(1, sizeof *s);
    duckdb_init_set_init_data(info, s, free);
}

static void sf_scan_cb(duckdb_function_info info, duckdb_data_chunk out) {
    sf_bind *b = duckdb_function_get_bind_data(info);
    sf_scan *s = duckdb_function_get_init_data(info);
    duckdb_vector vid = duckdb_data_chunk_get_vector(out, 0);
    int32_t *chunk = duckdb_vector_get_data(duckdb_data_chunk_get_vector(out, 1));
    float *score = duckdb_vector_get_data(duckdb_data_chunk_get_vector(out, 2));
    duckdb_vector vtext = duckdb_data_chunk_get_vector(out, 3);
    idx_t cap = duckdb_vector_size(), row = 0;
    for (; row < cap && s->pos < b->r.n; row++, s->pos++) {
        const lh_vhit *h = &b->r.hits[s->pos];
        duckdb_vector_assign_string_element_len(vid, row, h->doc_id, strlen(h->doc_id));
        chunk[row] = h->chunk_no;
        score[row] = h->score;
        duckdb_vector_assign_string_element_len(vtext, row, h->text, strlen(h->text));
    }
    duckdb_data_chunk_set_size(out, row);
}

/* Registers the function on one connection (passed as void*). */
static int register_on(void *conn, void *ctx, lh_err *err) {
    duckdb_table_function f = duckdb_create_table_function();
    duckdb_table_function_set_name(f, "vector_search");
    duckdb_logical_type vc = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    duckdb_logical_type bi = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    duckdb_table_function_add_parameter(f, vc);
    duckdb_table_function_add_parameter(f, vc);
    duckdb_table_function_add_parameter(f, bi);
    duckdb_table_function_add_named_parameter(f, "mode", vc);
    duckdb_table_function_add_named_parameter(f, "filter", vc);
    duckdb_destroy_logical_type(&vc);
    duckdb_destroy_logical_type(&bi);
    duckdb_table_function_set_extra_info(f, ctx, NULL);
    duckdb_table_function_set_bind(f, sf_bind_cb);
    duckdb_table_function_set_init(f, sf_init_cb);
    duckdb_table_function_set_function(f, sf_scan_cb);
    int rc = 0;
    if (duckdb_register_table_function(*(duckdb_connection *)conn, f) != DuckDBSuccess)
        rc = lh_err_set(err, LH_E_INTERNAL, "cannot register vector_search (already registered?)");
    duckdb_destroy_table_function(&f);
    return rc;
}

int vindex_sql_register(lh_vindex *vx, lh_query_engine *qe, lh_err *err) {
    return query_engine_with_admin(qe, register_on, vx, err);
}

int vindex_sql_register_conn(lh_vindex *vx, void *duckdb_conn, lh_err *err) {
    return register_on(duckdb_conn, vx, err);
}
