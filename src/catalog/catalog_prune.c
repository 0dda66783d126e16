/*
 * catalog_prune.c — which files of a dataset a SELECT needs (ADR 0255).
 *
 * The query engine asks, for a statement over one dataset with WHERE
 * conjuncts `column op constant`, for the SQL that narrows the dataset's
 * view to the files those conjuncts leave (table_prune.c judges them from
 * the log's partition values and stats). The snapshot the view reads is
 * kept here per dataset, reloaded when the dataset's version moves, so a
 * lookup does not replay the log; the variables the SQL sets name that
 * snapshot, so a view at another version ignores them.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "common/util.h"

typedef struct {
    char *name;
    int64_t version;
    lh_snapshot *snap;  /* owned */
} prune_slot;

struct cat_prune {
    pthread_mutex_t mu;
    prune_slot *slots;
    size_t n;
};

void prune_cache_free(lh_catalog *c) {
    cat_prune *p = c->prune;
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->slots[i].name);
        table_snapshot_free(p->slots[i].snap);
    }
    free(p->slots);
    pthread_mutex_destroy(&p->mu);
    free(p);
    c->prune = NULL;
}

void prune_cache_init(lh_catalog *c) {
    c->prune = lh_calloc(1, sizeof *c->prune);
    pthread_mutex_init(&c->prune->mu, NULL);
}

/* The cached snapshot of e at `version` (loaded when missing or older).
 * Caller holds c->lock (read) and p->mu. */
static lh_snapshot *slot_snapshot(cat_prune *p, const cat_entry *e, int64_t version) {
    prune_slot *s = NULL;
    for (size_t i = 0; i < p->n && !s; i++)
        if (!strcmp(p->slots[i].name, e->name)) s = &p->slots[i];
    if (s && s->version == version) return s->snap;
    lh_err err = {0};
    lh_snapshot *snap = table_snapshot(e->table, version, &err);
    if (!snap) return NULL;
    if (!s) {
        p->slots = lh_realloc(p->slots, (p->n + 1) * sizeof *p->slots);
        s = &p->slots[p->n++];
        s->name = lh_strdup(e->name);
        s->snap = NULL;
    }
    table_snapshot_free(s->snap);
    s->snap = snap;
    s->version = version;
    return snap;
}

/* 0 when some dataset has several files (pruning can help), else 1.
 * Caller holds c->lock. */
static int any_prunable(const lh_catalog *c) {
    for (size_t i = 0; i < c->n; i++)
        if (json_array_size(json_object_get(c->entries[i].manifest, "files")) > 1) return 0;
    return 1;
}

int catalog_prune_sql(lh_catalog *c, const char *name, const lh_prune_term *terms, size_t nterms,
                      lh_prune_plan *out) {
    memset(out, 0, sizeof *out);
    int rc = 1;
    pthread_rwlock_rdlock(&c->lock);
    if (!name) {
        rc = any_prunable(c);
        pthread_rwlock_unlock(&c->lock);
        return rc;
    }
    if (!strncmp(name, RAW_PREFIX, strlen(RAW_PREFIX))) name += strlen(RAW_PREFIX); /* the same files */
    long i = entry_find(c, name);
    if (i >= 0 && c->prune) {
        const cat_entry *e = &c->entries[i];
        int64_t version = (int64_t)json_integer_value(json_object_get(e->manifest, "version"));
        pthread_mutex_lock(&c->prune->mu);
        lh_snapshot *snap = slot_snapshot(c->prune, e, version);
        if (snap && snap->nfiles > 1) {
            unsigned char *keep = lh_calloc(snap->nfiles, 1);
            out->files_total = snap->nfiles;
            out->files_kept = snap->nfiles; /* what the read opens */
            json_t *keys = json_array();
            /* no terms: keep none, and the cover of every column is what stays */
            if ((nterms == 0 || table_prune_files(snap, terms, nterms, keep) < snap->nfiles) &&
                table_prune_vars_sql(e->table, snap, keep, &out->set_sql, &out->reset_sql, &out->files_kept,
                                     keys) == 0) {
                out->dataset = lh_strdup(e->name);
                out->keys = json_incref(keys);
                rc = 0;
            }
            json_decref(keys);
            free(keep);
        }
        pthread_mutex_unlock(&c->prune->mu);
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

void catalog_prune_plan_clear(lh_prune_plan *p) {
    free(p->set_sql);
    free(p->reset_sql);
    free(p->dataset);
    json_decref(p->keys);
    memset(p, 0, sizeof *p);
}
