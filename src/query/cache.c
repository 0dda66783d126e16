/*
 * cache.c — the hot cache: pinned datasets held as tables of the attached
 * in-memory database "hot", served through the same view names.
 *
 * The cache keeps the last view set the catalog published and forwards a
 * rewritten copy to the engine: the view that reads a pinned dataset's
 * files ("<name>", or "__raw__<name>" when a tombstone filter sits on top)
 * becomes
 *   SELECT lh_hot.* FROM hot."<name>#<gen>" AS lh_hot,
 *          (SELECT lh_hot_touch('<name>') AS ok) AS lh_touch WHERE lh_touch.ok
 * lh_hot_touch is a volatile C scalar function; in an uncorrelated one-row
 * subquery DuckDB runs it once per query, which gives hits and LRU recency
 * for free (also through AI-safe views and tombstone filters that read the
 * pinned view), while filters and projections still push into the scan.
 *
 * Every load goes to a new generation table (name#gen): its size is the
 * growth of DuckDB's IN_MEMORY_TABLE memory across the CREATE, the views
 * switch to it, then the old generation is dropped — readers never see a
 * missing table. When the catalog publishes a different SELECT for a
 * pinned view (a commit, a compaction), the table is reloaded before the
 * set is forwarded; a failed reload evicts, so answers are never stale.
 *
 * Locks: `mu` serializes everything (view set, entries, DuckDB work);
 * `stats_mu` guards what lh_hot_touch updates (hits, recency) and is held
 * only for counter updates, never across DuckDB calls. Structural changes
 * of entries[] take both.
 */
#include <duckdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/duck.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "query/query.h"

#define RAW_PREFIX "__raw__"

typedef struct {
    char *name;          /* dataset = view name */
    char *base;          /* the view whose rows are cached: name or __raw__name */
    char *base_select;   /* the SELECT the table was loaded from */
    char *table;         /* "name#gen" in database hot */
    int64_t rows, bytes;
    double load_ms;
    int64_t pinned_ms, loaded_ms;
    uint64_t refreshes;
    uint64_t hits, last_use; /* stats_mu */
    int64_t last_hit_ms;     /* stats_mu */
} hot_entry;

struct lh_query_cache {
    lh_query_engine *e;      /* borrowed */
    int64_t max_bytes;
    pthread_mutex_t mu;
    pthread_mutex_t stats_mu;
    hot_entry *entries;
    size_t n, cap;
    char **names, **selects; /* last set published by the catalog */
    size_t nviews;
    uint64_t version;
    uint64_t gen;
    uint64_t tick, hits, pins, evictions, lru_evictions, refreshes; /* tick, hits: stats_mu */
};

/* ---- lh_hot_touch -------------------------------------------------------- */

static void touch_record(lh_query_cache *c, const char *name, size_t len) {
    pthread_mutex_lock(&c->stats_mu);
    for (size_t i = 0; i < c->n; i++) {
        hot_entry *h = &c->entries[i];
        if (strlen(h->name) != len || memcmp(h->name, name, len)) continue;
        h->hits++;
        h->last_use = ++c->tick;
        h->last_hit_ms = lh_now_ms();
        c->hits++;
        break;
    }
    pthread_mutex_unlock(&c->stats_mu);
}

static void touch_fn(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output) {
    lh_query_cache *c = duckdb_scalar_function_get_extra_info(info);
    idx_t n = duckdb_data_chunk_get_size(input);
    duckdb_string_t *names = duckdb_vector_get_data(duckdb_data_chunk_get_vector(input, 0));
    bool *out = duckdb_vector_get_data(output);
    if (n > 0) touch_record(c, duckdb_string_t_data(&names[0]), duckdb_string_t_length(names[0]));
    for (idx_t i = 0; i < n; i++) out[i] = true;
}

static int touch_register(void *conn, void *ctx, lh_err *err) {
    duckdb_scalar_function f = duckdb_create_scalar_function();
    duckdb_scalar_function_set_name(f, "lh_hot_touch");
    duckdb_logical_type v = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    duckdb_logical_type b = duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN);
    duckdb_scalar_function_add_parameter(f, v);
    duckdb_scalar_function_set_return_type(f, b);
    duckdb_scalar_function_set_function(f, touch_fn);
    duckdb_scalar_function_set_volatile(f);
    duckdb_scalar_function_set_extra_info(f, ctx, NULL);
    int rc = 0;
    if (duckdb_register_scalar_function(*(duckdb_connection *)conn, f) != DuckDBSuccess)
        rc = lh_err_set(err, LH_E_INTERNAL, "cannot register lh_hot_touch");
    duckdb_destroy_logical_type(&v);
    duckdb_destroy_logical_type(&b);
    duckdb_destroy_scalar_function(&f);
    return rc;
}

/* ---- loading tables -------------------------------------------------------- */

typedef struct {
    const char *table, *select; /* in */
    int64_t rows, bytes;        /* out */
} load_job;

static int64_t admin_int(duckdb_connection conn, const char *sql) {
    duckdb_result r;
    int64_t v = -1;
    if (duckdb_query(conn, sql, &r) == DuckDBSuccess) v = duckdb_value_int64(&r, 0, 0);
    duckdb_destroy_result(&r);
    return v;
}

static int64_t table_memory(duckdb_connection conn) {
    return admin_int(conn, "SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT FROM duckdb_memory() "
                           "WHERE tag = 'IN_MEMORY_TABLE'");
}

static int load_fn(void *conn, void *ctx, lh_err *err) {
    duckdb_connection cn = *(duckdb_connection *)conn;
    load_job *j = ctx;
    lh_strbuf sql = LH_STRBUF_INIT, id = LH_STRBUF_INIT;
    sb_puts(&id, "hot.");
    sb_sql_ident(&id, j->table);
    sb_printf(&sql, "CREATE OR REPLACE TABLE %s AS %s", id.buf, j->select);
    int64_t before = table_memory(cn);
    int rc = lh_duck_run(cn, sql.buf, NULL, LH_E_UNPROCESSABLE, "loading into memory failed", err);
    if (rc == 0) {
        int64_t after = table_memory(cn);
        j->bytes = after > before ? after - before : 0;
        sb_reset(&sql);
        sb_printf(&sql, "SELECT count(*) FROM %s", id.buf);
        j->rows = admin_int(cn, sql.buf);
    }
    sb_free(&sql);
    sb_free(&id);
    return rc;
}

static void drop_table(lh_query_cache *c, const char *table) {
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_puts(&sql, "DROP TABLE IF EXISTS hot.");
    sb_sql_ident(&sql, table);
    lh_err err = {0};
    if (query_exec(c->e, sql.buf, &err) != 0) LOG_WARN("hot cache: dropping %s: %s", table, err.msg);
    sb_free(&sql);
}

/* Loads select into a new generation table of name; fills the out fields. */
static int load_generation(lh_query_cache *c, const char *name, const char *select, char **table_out,
                           int64_t *rows, int64_t *bytes, double *ms, lh_err *err) {
    char *table = lh_asprintf("%s#%llu", name, (unsigned long long)++c->gen);
    load_job j = {.table = table, .select = select};
    double t0 = lh_mono_s();
    if (query_engine_with_admin(c->e, load_fn, &j, err) != 0) {
        drop_table(c, table);
        free(table);
        return -1;
    }
    *ms = (lh_mono_s() - t0) * 1000.0;
    *table_out = table;
    *rows = j.rows;
    *bytes = j.bytes;
    return 0;
}

/* ---- the view set ------------------------------------------------------------ */

static long view_index(const lh_query_cache *c, const char *name) {
    for (size_t i = 0; i < c->nviews; i++)
        if (!strcmp(c->names[i], name)) return (long)i;
    return -1;
}

/* The view holding name's rows: "__raw__<name>" when published, else name. */
static long base_index(const lh_query_cache *c, const char *name) {
    char *raw = lh_asprintf(RAW_PREFIX "%s", name);
    long i = view_index(c, raw);
    free(raw);
    return i >= 0 ? i : view_index(c, name);
}

static const hot_entry *entry_for_view(const lh_query_cache *c, const char *view) {
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->entries[i].base, view)) return &c->entries[i];
    return NULL;
}

static char *hot_select(const hot_entry *h) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "SELECT lh_hot.* FROM hot.");
    sb_sql_ident(&sb, h->table);
    sb_puts(&sb, " AS lh_hot, (SELECT lh_hot_touch(");
    sb_sql_str(&sb, h->name);
    sb_puts(&sb, ") AS ok) AS lh_touch WHERE lh_touch.ok");
    return sb_steal(&sb);
}

/* Hands the engine the stored set with pinned views reading memory. */
static int forward(lh_query_cache *c, lh_err *err) {
    char **sel = lh_calloc(c->nviews + 1, sizeof *sel);
    for (size_t i = 0; i < c->nviews; i++) {
        const hot_entry *h = entry_for_view(c, c->names[i]);
        sel[i] = h ? hot_select(h) : lh_strdup(c->selects[i]);
    }
    int rc = query_engine_set_views(c->e, c->version, (const char *const *)c->names, (const char *const *)sel,
                                    c->nviews, err);
    lh_strv_free(sel, c->nviews);
    return rc;
}

static void views_store(lh_query_cache *c, const char *const *names, const char *const *selects, size_t n) {
    lh_strv_free(c->names, c->nviews);
    lh_strv_free(c->selects, c->nviews);
    c->names = lh_calloc(n + 1, sizeof *c->names);
    c->selects = lh_calloc(n + 1, sizeof *c->selects);
    for (size_t i = 0; i < n; i++) {
        c->names[i] = lh_strdup(names[i]);
        c->selects[i] = lh_strdup(selects[i]);
    }
    c->nviews = n;
}

/* ---- entries --------------------------------------------------------------- */

static long entry_index(const lh_query_cache *c, const char *name) {
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->entries[i].name, name)) return (long)i;
    return -1;
}

static void entry_free(hot_entry *h) {
    free(h->name);
    free(h->base);
    free(h->base_select);
    free(h->table);
}

static hot_entry *entry_add(lh_query_cache *c, hot_entry *h) {
    pthread_mutex_lock(&c->stats_mu);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->entries = lh_realloc(c->entries, c->cap * sizeof *c->entries);
    }
    h->last_use = ++c->tick;
    c->entries[c->n] = *h;
    hot_entry *out = &c->entries[c->n++];
    pthread_mutex_unlock(&c->stats_mu);
    return out;
}

/* Removes entry i from entries[]; returns its table name (caller drops, frees). */
static char *entry_take(lh_query_cache *c, size_t i, int64_t *bytes) {
    pthread_mutex_lock(&c->stats_mu);
    hot_entry h = c->entries[i];
    memmove(&c->entries[i], &c->entries[i + 1], (c->n - i - 1) * sizeof *c->entries);
    c->n--;
    pthread_mutex_unlock(&c->stats_mu);
    char *table = h.table;
    h.table = NULL;
    if (bytes) *bytes = h.bytes;
    entry_free(&h);
    return table;
}

static int64_t total_bytes(const lh_query_cache *c) {
    int64_t t = 0;
    for (size_t i = 0; i < c->n; i++) t += c->entries[i].bytes;
    return t;
}

/* Evicts least recently used entries (never `keep`) until within budget;
 * returns the tables to drop after the views moved off them. */
static size_t enforce_budget(lh_query_cache *c, const char *keep, char **drop, size_t cap) {
    size_t nd = 0;
    while (total_bytes(c) > c->max_bytes && nd < cap) {
        long victim = -1;
        pthread_mutex_lock(&c->stats_mu);
        for (size_t i = 0; i < c->n; i++) {
            if (keep && !strcmp(c->entries[i].name, keep)) continue;
            if (victim < 0 || c->entries[i].last_use < c->entries[victim].last_use) victim = (long)i;
        }
        pthread_mutex_unlock(&c->stats_mu);
        if (victim < 0) break;
        LOG_INFO("hot cache: evicting %s (least recently used) to stay within %lld MB", c->entries[victim].name,
                 (long long)(c->max_bytes >> 20));
        drop[nd++] = entry_take(c, (size_t)victim, NULL);
        c->evictions++;
        c->lru_evictions++;
    }
    return nd;
}

/* Reloads entries whose base view changed; drops those whose view is gone.
 * Old tables go to drop[] (dropped after forwarding). */
static size_t refresh_entries(lh_query_cache *c, char **drop) {
    size_t nd = 0;
    for (size_t i = 0; i < c->n;) {
        hot_entry *h = &c->entries[i];
        long b = base_index(c, h->name);
        if (b >= 0 && !strcmp(c->selects[b], h->base_select)) { /* same rows (maybe now under __raw__) */
            free(h->base);
            h->base = lh_strdup(c->names[b]);
            i++;
            continue;
        }
        lh_err err = {0};
        char *table = NULL;
        int64_t rows = 0, bytes = 0;
        double ms = 0;
        if (b >= 0 && load_generation(c, h->name, c->selects[b], &table, &rows, &bytes, &ms, &err) == 0) {
            drop[nd++] = h->table;
            free(h->base);
            free(h->base_select);
            h->base = lh_strdup(c->names[b]);
            h->base_select = lh_strdup(c->selects[b]);
            h->table = table;
            h->rows = rows;
            h->bytes = bytes;
            h->load_ms = ms;
            h->loaded_ms = lh_now_ms();
            h->refreshes++;
            c->refreshes++;
            i++;
            continue;
        }
        LOG_WARN("hot cache: %s %s; evicted", h->name, b < 0 ? "is gone" : err.msg);
        drop[nd++] = entry_take(c, i, NULL);
        c->evictions++;
    }
    return nd;
}

static void drop_all(lh_query_cache *c, char **drop, size_t nd) {
    for (size_t i = 0; i < nd; i++) {
        drop_table(c, drop[i]);
        free(drop[i]);
    }
}

/* ---- API --------------------------------------------------------------------- */

lh_query_cache *query_cache_new(lh_query_engine *e, int64_t max_bytes, lh_err *err) {
    if (query_exec(e, "ATTACH IF NOT EXISTS ':memory:' AS hot", err) != 0) {
        lh_err_prefix(err, "hot cache");
        return NULL;
    }
    lh_query_cache *c = lh_calloc(1, sizeof *c);
    c->e = e;
    c->max_bytes = max_bytes > 0 ? max_bytes : (int64_t)1024 << 20;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->stats_mu, NULL);
    if (query_engine_with_admin(e, touch_register, c, err) != 0) {
        query_cache_free(c);
        return NULL;
    }
    return c;
}

void query_cache_free(lh_query_cache *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) entry_free(&c->entries[i]);
    free(c->entries);
    views_store(c, NULL, NULL, 0);
    free(c->names);
    free(c->selects);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->stats_mu);
    free(c);
}

int query_cache_set_views(lh_query_cache *c, uint64_t version, const char *const *names,
                          const char *const *selects, size_t n, lh_err *err) {
    pthread_mutex_lock(&c->mu);
    views_store(c, names, selects, n);
    c->version = version;
    char **drop = lh_calloc(2 * c->n + 1, sizeof *drop);
    size_t nd = refresh_entries(c, drop);
    nd += enforce_budget(c, NULL, drop + nd, c->n);
    int rc = forward(c, err);
    drop_all(c, drop, nd);
    free(drop);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static json_t *entry_json(lh_query_cache *c, const hot_entry *h) {
    char pinned[32], loaded[32], hit[32];
    lh_time_iso(h->pinned_ms, pinned);
    lh_time_iso(h->loaded_ms, loaded);
    pthread_mutex_lock(&c->stats_mu);
    uint64_t hits = h->hits;
    int64_t last_hit = h->last_hit_ms;
    pthread_mutex_unlock(&c->stats_mu);
    lh_time_iso(last_hit, hit);
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:f, s:s, s:s, s:o, s:I}", "dataset", h->name, "view", h->base,
                     "rows", (json_int_t)h->rows, "bytes", (json_int_t)h->bytes, "hits", (json_int_t)hits,
                     "load_ms", h->load_ms, "pinned_at", pinned, "loaded_at", loaded, "last_hit_at",
                     last_hit ? json_string(hit) : json_null(), "refreshes", (json_int_t)h->refreshes);
}

/* Pins name (caller holds mu); returns the entry JSON. */
static json_t *pin_locked(lh_query_cache *c, const char *name, lh_err *err) {
    long have = entry_index(c, name);
    if (have >= 0) return entry_json(c, &c->entries[have]);
    long b = strncmp(name, RAW_PREFIX, strlen(RAW_PREFIX)) ? base_index(c, name) : -1;
    if (b < 0) {
        lh_err_set(err, LH_E_NOT_FOUND, "no dataset named '%s' to pin", name);
        return NULL;
    }
    hot_entry h = {.name = lh_strdup(name), .base = lh_strdup(c->names[b]), .base_select = lh_strdup(c->selects[b])};
    if (load_generation(c, name, h.base_select, &h.table, &h.rows, &h.bytes, &h.load_ms, err) != 0) {
        entry_free(&h);
        return NULL;
    }
    if (h.bytes > c->max_bytes) {
        lh_err_set(err, LH_E_TOO_LARGE, "'%s' takes %lld MB in memory, more than the cache's %lld MB", name,
                   (long long)(h.bytes >> 20), (long long)(c->max_bytes >> 20));
        lh_err_hint(err, "raise [query] cache_max_mb (LAKEHOUSE_QUERY_CACHE_MAX_MB)");
        drop_table(c, h.table);
        entry_free(&h);
        return NULL;
    }
    h.pinned_ms = h.loaded_ms = lh_now_ms();
    entry_add(c, &h);
    c->pins++;
    char **drop = lh_calloc(c->n + 1, sizeof *drop);
    size_t nd = enforce_budget(c, name, drop, c->n);
    lh_err ferr = {0};
    if (forward(c, &ferr) != 0) LOG_WARN("hot cache: publishing after pinning %s: %s", name, ferr.msg);
    drop_all(c, drop, nd);
    free(drop);
    return entry_json(c, &c->entries[entry_index(c, name)]);
}

json_t *query_cache_pin(lh_query_cache *c, const char *name, lh_err *err) {
    if (!name || !*name) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"dataset\" is required");
        return NULL;
    }
    pthread_mutex_lock(&c->mu);
    json_t *out = pin_locked(c, name, err);
    pthread_mutex_unlock(&c->mu);
    return out;
}

json_t *query_cache_evict(lh_query_cache *c, const char *name, lh_err *err) {
    pthread_mutex_lock(&c->mu);
    long i = name ? entry_index(c, name) : -1;
    json_t *out = NULL;
    if (i < 0) {
        lh_err_set(err, LH_E_NOT_FOUND, "'%s' is not pinned", name ? name : "");
    } else {
        int64_t bytes = 0;
        char *table = entry_take(c, (size_t)i, &bytes);
        c->evictions++;
        lh_err ferr = {0};
        if (forward(c, &ferr) != 0) LOG_WARN("hot cache: publishing after evicting %s: %s", name, ferr.msg);
        drop_table(c, table);
        free(table);
        out = json_pack("{s:s, s:b, s:I}", "dataset", name, "evicted", 1, "bytes_freed", (json_int_t)bytes);
    }
    pthread_mutex_unlock(&c->mu);
    return out;
}

json_t *query_cache_stats(lh_query_cache *c) {
    pthread_mutex_lock(&c->mu);
    json_t *list = json_array();
    for (size_t i = 0; i < c->n; i++) json_array_append_new(list, entry_json(c, &c->entries[i]));
    pthread_mutex_lock(&c->stats_mu);
    uint64_t hits = c->hits;
    pthread_mutex_unlock(&c->stats_mu);
    json_t *out = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "entries", (json_int_t)c->n, "bytes",
                            (json_int_t)total_bytes(c), "max_bytes", (json_int_t)c->max_bytes, "hits",
                            (json_int_t)hits, "pins", (json_int_t)c->pins, "evictions", (json_int_t)c->evictions,
                            "lru_evictions", (json_int_t)c->lru_evictions, "refreshes", (json_int_t)c->refreshes,
                            "datasets", list);
    pthread_mutex_unlock(&c->mu);
    return out;
}
