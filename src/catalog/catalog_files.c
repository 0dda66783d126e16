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

/* The bucket keys the statement reads (new reference): for each dataset
 * it names, the files its published view reads, or for the dataset plan
 * narrowed, the files the pruned read opens. Takes the catalog's lock. */
static json_t *keys_for_sql(lh_catalog *c, const char *sql, const lh_prune_plan *plan) {
    json_t *keys = json_array();
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < c->n; i++) {
        const cat_entry *e = &c->entries[i];
        if (!entry_read_by(c, e, sql)) continue;
        int pruned = plan && plan->keys && plan->dataset && !strcmp(plan->dataset, e->name);
        json_t *k = pruned ? json_incref(plan->keys) : table_read_keys(e->table);
        json_array_extend(keys, k);
        json_decref(k);
    }
    pthread_rwlock_unlock(&c->lock);
    return keys;
}

int catalog_fetch_for_sql(void *catalog, const char *sql, const lh_prune_plan *plan, void **hold, lh_err *err) {
    lh_catalog *c = catalog;
    *hold = NULL;
    if (!storage_is_remote(c->st)) return 0;
    json_t *keys = keys_for_sql(c, sql, plan), *pinned = json_array();
    /* the downloads run without the catalog's lock: the keys are copies */
    int rc = table_fetch_keys(c->st, keys, pinned, err);
    if (rc != 0) lh_err_prefix(err, "dataset files");
    json_decref(keys);
    if (rc != 0 || json_array_size(pinned) == 0) {
        catalog_release_files(c, pinned);
        pinned = NULL;
    }
    *hold = pinned;
    return rc;
}

void catalog_release_files(void *catalog, void *hold) {
    lh_catalog *c = catalog;
    json_t *pinned = hold;
    size_t i;
    json_t *k;
    json_array_foreach(pinned, i, k) storage_unpin(c->st, json_string_value(k));
    json_decref(pinned);
}
