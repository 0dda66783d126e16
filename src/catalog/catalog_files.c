/*
 * catalog_files.c — a statement's dataset files in a remote bucket's cache
 * (ADR 0235).
 *
 * The views the catalog publishes read data files by their paths in the
 * bucket's cache. Before the query engine runs a statement it calls
 * catalog_fetch_for_sql (main.c wires it only when the primary bucket is
 * remote): every dataset the statement names — directly, as its
 * "__raw__" relation, or through an AI-safe view over it — gets its files
 * put back in the cache if they were evicted (a stat per file on a hit),
 * pinned until the statement is done (catalog_release_files).
 * Names are matched as whole identifiers, case-insensitively, anywhere in
 * the text: a name in a string literal or comment only fetches too much,
 * never too little. A statement the engine pruned (ADR 0255) has only
 * the files the pruned read opens fetched for the dataset it narrowed
 * (ADR 0245); the downloads run without the catalog's lock.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "common/util.h"

static int ident_char(char ch) { return ch == '_' || isalnum((unsigned char)ch); }

/* 1 when name occurs in sql as a whole identifier (any case). */
static int sql_mentions(const char *sql, const char *name) {
    size_t n = strlen(name);
    for (const char *p = strcasestr(sql, name); p; p = strcasestr(p + 1, name))
        if ((p == sql || !ident_char(p[-1])) && !ident_char(p[n])) return 1;
    return 0;
}

/* 1 when the statement reads dataset e: by its name (also inside
 * "__raw__<name>", as '_' then the name) or through an AI-safe view on it. */
static int entry_read_by(lh_catalog *c, const cat_entry *e, const char *sql) {
    if (sql_mentions(sql, e->name)) return 1;
    char *raw = lh_asprintf(RAW_PREFIX "%s", e->name);
    int hit = sql_mentions(sql, raw);
    free(raw);
    return hit || views_read_base(c, sql, e->name, sql_mentions);
}

/* What a statement pinned: per dataset read, its bucket and the keys. */
typedef struct {
    lh_storage *st;   /* borrowed: buckets outlive the catalog's statements */
    json_t *keys;     /* owned */
} pin_group;
typedef struct {
    pin_group *g;
    size_t n;
} pin_hold;

/* Per dataset on a remote bucket the statement reads, the keys it opens:
 * the files its published view reads or, for the dataset plan narrowed,
 * the files the pruned read opens. Takes the catalog's lock. */
static pin_hold *reads_for_sql(lh_catalog *c, const char *sql, const lh_prune_plan *plan) {
    pin_hold *h = lh_calloc(1, sizeof *h);
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < c->n; i++) {
        const cat_entry *e = &c->entries[i];
        if (!storage_is_remote(table_storage(e->table)) || !entry_read_by(c, e, sql)) continue;
        int pruned = plan && plan->keys && plan->dataset && !strcmp(plan->dataset, e->name);
        h->g = lh_realloc(h->g, (h->n + 1) * sizeof *h->g);
        h->g[h->n++] = (pin_group){table_storage(e->table), pruned ? json_incref(plan->keys) : table_read_keys(e->table)};
    }
    pthread_rwlock_unlock(&c->lock);
    return h;
}

int catalog_fetch_for_sql(void *catalog, const char *sql, const lh_prune_plan *plan, void **hold, lh_err *err) {
    lh_catalog *c = catalog;
    pin_hold *h = reads_for_sql(c, sql, plan);
    int rc = 0;
    /* the downloads run without the catalog's lock: the keys are copies */
    for (size_t i = 0; i < h->n; i++) {
        json_t *pinned = json_array(); /* what release unpins: those fetched */
        if (rc == 0 && table_fetch_keys(h->g[i].st, h->g[i].keys, pinned, err) != 0) {
            lh_err_prefix(err, "dataset files");
            rc = -1;
        }
        json_decref(h->g[i].keys);
        h->g[i].keys = pinned;
    }
    if (rc != 0 || h->n == 0) {
        catalog_release_files(c, h);
        h = NULL;
    }
    *hold = h;
    return rc;
}

void catalog_release_files(void *catalog, void *hold) {
    (void)catalog;
    pin_hold *h = hold;
    if (!h) return;
    for (size_t i = 0; i < h->n; i++) {
        size_t j;
        json_t *k;
        json_array_foreach(h->g[i].keys, j, k) storage_unpin(h->g[i].st, json_string_value(k));
        json_decref(h->g[i].keys);
    }
    free(h->g);
    free(h);
}
