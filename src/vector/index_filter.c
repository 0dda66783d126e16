/*
 * index_filter.c — a search's `filter` (a SQL predicate over the source
 * dataset's columns) → the bitmap of snapshot rows it allows.
 *
 * The predicate is checked to be one expression (no ';', no comments,
 * parentheses balanced outside quotes, so it cannot close the WHERE it is
 * put in), then DuckDB evaluates
 *     SELECT list(CAST(<id_column> AS VARCHAR)) FROM <dataset> WHERE (<filter>)
 * (string_agg(…, ',') instead of list for integer ids)
 * — through the query engine as the caller when the service has one
 * (query_run_json_as with the caller's scope: the role's views, masked and
 * row-filtered, and the user-SQL guard), else on the service's own engine
 * over the dataset's current snapshot (unit tests).
 * DuckDB's parse and bind errors come back as 400s naming the filter.
 * The ids are then mapped to rows through the snapshot's doc-id index; an
 * id listed twice sets the same bits, so the query asks for no DISTINCT
 * (DuckDB's DISTINCT aggregate over strings cost ~4x the scan itself) and
 * the allowed count is the bitmap's popcount.
 *
 * The last FILTER_CACHE bitmaps are kept, keyed by (index, generation,
 * catalog version, caller scope — schema and session variables —, filter
 * text): a repeated filter (a tool's city, a page of results) costs a
 * lookup, not a scan of the dataset. Any catalog change bumps the version,
 * so a cached bitmap never outlives the data it was computed from, and one
 * role's answer never serves another.
 */
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "vector/index_internal.h"

#define FILTER_MAX_LEN 4000
#define FILTER_CACHE 32

typedef struct {
    char *index, *filter;
    int64_t generation;
    uint64_t catalog_version;
    uint64_t *bits;
    size_t words, count;
    uint64_t used;         /* LRU clock */
} fcache_entry;

struct vfilter_cache {
    pthread_mutex_t mu;
    fcache_entry e[FILTER_CACHE];
    uint64_t clock;
};

static struct vfilter_cache *cache_of(lh_vindex *vx) {
    pthread_mutex_lock(&vx->mu);
    if (!vx->fcache) {
        vx->fcache = lh_calloc(1, sizeof *vx->fcache);
        pthread_mutex_init(&vx->fcache->mu, NULL);
    }
    struct vfilter_cache *c = vx->fcache;
    pthread_mutex_unlock(&vx->mu);
    return c;
}

static void entry_clear(fcache_entry *e) {
    free(e->index);
    free(e->filter);
    free(e->bits);
    memset(e, 0, sizeof *e);
}

void vfilter_cache_free(lh_vindex *vx) {
    if (!vx->fcache) return;
    for (int i = 0; i < FILTER_CACHE; i++) entry_clear(&vx->fcache->e[i]);
    pthread_mutex_destroy(&vx->fcache->mu);
    free(vx->fcache);
    vx->fcache = NULL;
}

/* A copy of the cached bitmap for the key, or NULL. */
static uint64_t *cache_get(struct vfilter_cache *c, const char *index, int64_t gen, uint64_t ver, const char *filter,
                           size_t words, size_t *count) {
    uint64_t *out = NULL;
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < FILTER_CACHE && !out; i++) {
        fcache_entry *e = &c->e[i];
        if (e->bits && e->generation == gen && e->catalog_version == ver && e->words == words &&
            !strcmp(e->index, index) && !strcmp(e->filter, filter)) {
            out = lh_malloc(words * sizeof *out);
            memcpy(out, e->bits, words * sizeof *out);
            *count = e->count;
            e->used = ++c->clock;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return out;
}

static void cache_put(struct vfilter_cache *c, const char *index, int64_t gen, uint64_t ver, const char *filter,
                      const uint64_t *bits, size_t words, size_t count) {
    pthread_mutex_lock(&c->mu);
    fcache_entry *v = &c->e[0];
    for (int i = 1; i < FILTER_CACHE; i++)
        if (c->e[i].used < v->used) v = &c->e[i];
    entry_clear(v);
    *v = (fcache_entry){lh_strdup(index), lh_strdup(filter), gen, ver, lh_malloc(words * sizeof *bits), words, count,
                        ++c->clock};
    memcpy(v->bits, bits, words * sizeof *bits);
    pthread_mutex_unlock(&c->mu);
}

int vfilter_check(const char *f, lh_err *err) {
    size_t n = strlen(f);
    if (n == 0 || n > FILTER_MAX_LEN)
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"filter\" must be a SQL predicate of 1..%d characters", FILTER_MAX_LEN);
    int depth = 0;
    char quote = 0;
    for (size_t i = 0; i < n; i++) {
        char c = f[i];
        if (quote) {
            if (c == quote) quote = 0; /* a doubled quote reopens at once: fine */
            continue;
        }
        if (c == '\'' || c == '"') quote = c;
        else if (c == ';') return lh_err_set(err, LH_E_BAD_REQUEST, "\"filter\" must be one SQL expression (no ';')");
        else if ((c == '-' && f[i + 1] == '-') || (c == '/' && f[i + 1] == '*'))
            return lh_err_set(err, LH_E_BAD_REQUEST, "\"filter\" must not hold SQL comments");
        else if (c == '(') depth++;
        else if (c == ')' && --depth < 0) break;
    }
    if (quote) return lh_err_set(err, LH_E_BAD_REQUEST, "\"filter\" has an unterminated quote");
    if (depth != 0) return lh_err_set(err, LH_E_BAD_REQUEST, "\"filter\" has unbalanced parentheses");
    return 0;
}

static void allow(const vsnap *s, const char *id, uint64_t *bits) {
    if (id) vsnap_allow_id(s, id, bits);
}

static size_t bits_count(const uint64_t *bits, size_t words) {
    size_t n = 0;
    for (size_t i = 0; i < words; i++) n += (size_t)__builtin_popcountll(bits[i]);
    return n;
}

/* Allows each id of a comma-separated list (integer ids: no id holds a comma). */
static void allow_joined(const vsnap *s, const char *joined, uint64_t *bits) {
    char *buf = lh_strdup(joined), *save = NULL;
    for (char *id = strtok_r(buf, ",", &save); id; id = strtok_r(NULL, ",", &save)) allow(s, id, bits);
    free(buf);
}

/* Through the query engine, as the caller: one row holding the ids — one
 * comma-joined string for integer ids (rendering one string is ~2x cheaper
 * than a JSON list of 4,500), else a list. */
static int ids_via_query(lh_vindex *vx, const vsnap *s, const char *from, const char *idc, const char *filter,
                         int int_ids, const lh_query_scope *scope, uint64_t *bits, lh_err *err) {
    char *sql = int_ids ? lh_asprintf("SELECT string_agg(CAST(%s AS VARCHAR), ',') AS ids FROM %s WHERE (%s)", idc,
                                      from, filter)
                        : lh_asprintf("SELECT list(CAST(%s AS VARCHAR)) AS ids FROM %s WHERE (%s)", idc, from, filter);
    json_t *res = query_run_json_as(vx->cfg.query, scope, sql, NULL, 0, 1, 0, err);
    free(sql);
    if (!res) return -1;
    json_t *ids = json_array_get(json_array_get(json_object_get(res, "rows"), 0), 0);
    size_t i;
    json_t *v;
    if (json_is_string(ids)) allow_joined(s, json_string_value(ids), bits);
    else json_array_foreach(ids, i, v) allow(s, json_string_value(v), bits);
    json_decref(res);
    return 0;
}

/* On the service's own engine over the dataset's current snapshot. */
static int ids_via_store(lh_vindex *vx, const vsnap *s, const char *dataset, const char *idc, const char *filter,
                         uint64_t *bits, lh_err *err) {
    int64_t ver = -1;
    char *sel = catalog_select_sql(vx->cfg.catalog, dataset, &ver, err);
    if (!sel) return -1;
    char *sql = lh_asprintf("SELECT CAST(%s AS VARCHAR) FROM (%s) AS t WHERE (%s)", idc, sel, filter);
    free(sel);
    duckdb_connection conn = NULL;
    duckdb_result res;
    int rc = vstore_connect(vx, &conn, err);
    if (rc == 0 && (rc = vstore_stream(conn, sql, &res, err)) == 0) {
        duckdb_data_chunk ch;
        while ((ch = duckdb_fetch_chunk(res)) != NULL) {
            duckdb_vector v = duckdb_data_chunk_get_vector(ch, 0);
            for (idx_t r = 0; r < duckdb_data_chunk_get_size(ch); r++) {
                char *id = vstore_str(v, r);
                allow(s, id, bits);
                free(id);
            }
            duckdb_destroy_data_chunk(&ch);
        }
        if (duckdb_result_error(&res)) rc = lh_err_set(err, LH_E_BAD_REQUEST, "%s", duckdb_result_error(&res));
        duckdb_destroy_result(&res);
    }
    if (rc != 0 && err && err->code == LH_E_INTERNAL) err->code = LH_E_BAD_REQUEST; /* DuckDB rejected the filter */
    if (conn) duckdb_disconnect(&conn);
    free(sql);
    return rc;
}

/* Who the filter runs as, for the cache key: schema and session variables. */
static char *scope_key(const lh_query_scope *scope) {
    lh_strbuf k = LH_STRBUF_INIT;
    sb_puts(&k, scope && scope->schema ? scope->schema : "");
    for (size_t i = 0; scope && i < scope->nvars; i++)
        sb_printf(&k, "|%s=%s", scope->vars[i].name ? scope->vars[i].name : "",
                  scope->vars[i].type == LH_QP_TEXT && scope->vars[i].text ? scope->vars[i].text : "");
    sb_putc(&k, 0);
    return sb_steal(&k);
}

uint64_t *vfilter_allowed(lh_vindex *vx, const vsnap *s, const char *filter, const lh_query_scope *scope,
                          size_t *count, lh_err *err) {
    *count = 0;
    if (vfilter_check(filter, err) != 0) return NULL;
    const char *dataset = json_string_value(json_object_get(s->meta, "source"));
    const char *idcol = json_string_value(json_object_get(s->meta, "id_column"));
    if (!dataset || !idcol) {
        lh_err_set(err, LH_E_CONFLICT, "the index records no source dataset to filter on");
        return NULL;
    }
    const vsnap *rows = vsnap_rows(s);
    size_t words = (rows->n + 63) / 64 + 1;
    const char *index = json_string_value(json_object_get(s->meta, "name")) ?: "";
    int64_t gen = json_integer_value(json_object_get(s->meta, "generation"));
    uint64_t ver = 0;
    size_t ndatasets = 0;
    catalog_stats(vx->cfg.catalog, &ndatasets, &ver);
    struct vfilter_cache *cache = cache_of(vx);
    char *who = scope_key(scope);
    char *key = lh_asprintf("%s\n%s", who, filter); /* the same filter as another role is another entry */
    free(who);
    uint64_t *bits = cache_get(cache, index, gen, ver, key, words, count);
    if (bits) {
        free(key);
        return bits;
    }
    bits = lh_calloc(words, sizeof *bits);
    lh_strbuf idc = LH_STRBUF_INIT, from = LH_STRBUF_INIT;
    sb_sql_ident(&idc, idcol);
    sb_sql_ident(&from, dataset);
    const char *id_type = json_string_value(json_object_get(s->meta, "id_type"));
    int int_ids = id_type && (!strcmp(id_type, "int32") || !strcmp(id_type, "int64"));
    int rc = vx->cfg.query ? ids_via_query(vx, rows, from.buf, idc.buf, filter, int_ids, scope, bits, err)
                           : ids_via_store(vx, rows, dataset, idc.buf, filter, bits, err);
    sb_free(&idc);
    sb_free(&from);
    if (rc != 0) {
        lh_err_prefix(err, "filter");
        free(bits);
        free(key);
        return NULL;
    }
    *count = bits_count(bits, words);
    cache_put(cache, index, gen, ver, key, bits, words, *count);
    free(key);
    return bits;
}
