/*
 * router.c — a segment trie. Each node has literal children (sorted array,
 * binary-searched), at most one "{param}" child and at most one
 * "{rest...}" catch-all, plus the handlers registered at that node per
 * method. Matching walks segments, trying literal before parameter before
 * catch-all, backtracking when a branch dead-ends.
 */
#include "common/util.h"
#include "http/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

#define MAX_METHODS 8

typedef struct node node;

typedef struct {
    const char *method;   /* static string from the route table */
    const char *pattern;  /* owned copy */
    void *handler;
} endpoint;

struct node {
    char *literal;        /* owned: the segment text of a literal child, the name of a parameter one */
    node **kids;          /* literal children sorted by literal */
    size_t nkids;
    node *param;          /* "{name}" child (its literal: name) */
    node *rest;           /* "{name...}" child, always a leaf (its literal: name) */
    endpoint eps[MAX_METHODS];
    size_t neps;
};

struct lh_router {
    node root;
};

lh_router *router_new(void) { return lh_calloc(1, sizeof(lh_router)); }

static void node_drop(node *n);

/* Frees what n owns: its children's subtrees, its text, its patterns. */
static void node_free(node *n) {
    for (size_t i = 0; i < n->nkids; i++) node_drop(n->kids[i]);
    free(n->kids);
    node_drop(n->param);
    node_drop(n->rest);
    free(n->literal);
    for (size_t i = 0; i < n->neps; i++) free((char *)n->eps[i].pattern);
}

/* node_free, then the node itself (a child; NULL is a no-op). */
static void node_drop(node *n) {
    if (!n) return;
    node_free(n);
    free(n);
}

void router_free(lh_router *r) {
    if (!r) return;
    node_free(&r->root);
    free(r);
}

static node *literal_child(node *n, const char *seg, size_t len, int create) {
    size_t lo = 0, hi = n->nkids;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strncmp(n->kids[mid]->literal, seg, len);
        if (c == 0 && n->kids[mid]->literal[len] != '\0') c = 1;
        if (c == 0) return n->kids[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    if (!create) return NULL;
    node *k = lh_calloc(1, sizeof *k);
    k->literal = lh_strndup(seg, len);
    n->kids = lh_realloc(n->kids, (n->nkids + 1) * sizeof *n->kids);
    memmove(n->kids + lo + 1, n->kids + lo, (n->nkids - lo) * sizeof *n->kids);
    n->kids[lo] = k;
    n->nkids++;
    return k;
}

/* Returns the child for one pattern segment, creating it; NULL + err if the
 * segment is malformed or clashes with a differently named parameter. */
static node *pattern_child(node *n, const char *seg, size_t len, int last, lh_err *err) {
    if (len == 0) {
        lh_err_set(err, LH_E_INTERNAL, "route pattern has an empty segment");
        return NULL;
    }
    if (seg[0] != '{') {
        if (memchr(seg, '{', len) || memchr(seg, '}', len)) {
            lh_err_set(err, LH_E_INTERNAL, "route segment '%.*s' mixes text and braces", (int)len, seg);
            return NULL;
        }
        return literal_child(n, seg, len, 1);
    }
    if (seg[len - 1] != '}' || len < 3) {
        lh_err_set(err, LH_E_INTERNAL, "route segment '%.*s' is not {name}", (int)len, seg);
        return NULL;
    }
    int rest = len > 5 && !strncmp(seg + len - 4, "...}", 4);
    size_t nlen = len - 2 - (rest ? 3 : 0);
    if (rest && !last) {
        lh_err_set(err, LH_E_INTERNAL, "catch-all '%.*s' must be the last segment", (int)len, seg);
        return NULL;
    }
    node **slot = rest ? &n->rest : &n->param;
    const char *name = *slot ? (*slot)->literal : NULL;
    if (name && (strlen(name) != nlen || strncmp(name, seg + 1, nlen))) {
        lh_err_set(err, LH_E_INTERNAL, "parameter '%.*s' clashes with '{%s}'", (int)len, seg, name);
        return NULL;
    }
    if (!*slot) {
        *slot = lh_calloc(1, sizeof **slot);
        (*slot)->literal = lh_strndup(seg + 1, nlen);
    }
    return *slot;
}

int router_add(lh_router *r, const char *method, const char *pattern, void *handler, lh_err *err) {
    if (!pattern || pattern[0] != '/')
        return lh_err_set(err, LH_E_INTERNAL, "route pattern must start with '/'");
    node *n = &r->root;
    const char *p = pattern + 1;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        n = pattern_child(n, p, len, slash == NULL, err);
        if (!n) return -1;
        p = slash ? slash + 1 : p + len;
        if (slash && !*p) return lh_err_set(err, LH_E_INTERNAL, "route pattern ends with '/'");
    }
    for (size_t i = 0; i < n->neps; i++)
        if (!strcmp(n->eps[i].method, method))
            return lh_err_set(err, LH_E_INTERNAL, "duplicate route %s %s", method, pattern);
    if (n->neps == MAX_METHODS) return lh_err_set(err, LH_E_INTERNAL, "too many methods on %s", pattern);
    n->eps[n->neps++] = (endpoint){method, lh_strdup(pattern), handler};
    return 0;
}

typedef struct {
    const node *leaf;
    size_t n;
    const char *names[LH_ROUTE_MAX_PARAMS];
    const char *starts[LH_ROUTE_MAX_PARAMS];
    size_t lens[LH_ROUTE_MAX_PARAMS];
} match_state;

/* Records the parameter child matched by len bytes of the path at p. */
static void match_push(match_state *m, const node *child, const char *p, size_t len) {
    m->names[m->n] = child->literal;
    m->starts[m->n] = p;
    m->lens[m->n++] = len;
}

/* Depth-first match of path segment at p against node n. */
static int walk(const node *n, const char *p, match_state *m) {
    if (*p == '\0') {
        if (n->neps == 0) return 0;
        m->leaf = n;
        return 1;
    }
    const char *slash = strchr(p, '/');
    size_t len = slash ? (size_t)(slash - p) : strlen(p);
    const char *next = slash ? slash + 1 : p + len;
    if (slash && !*next) return 0; /* trailing '/' */
    const node *lit = len ? literal_child((node *)n, p, len, 0) : NULL;
    if (lit && walk(lit, next, m)) return 1;
    if (n->param && len > 0 && m->n < LH_ROUTE_MAX_PARAMS) {
        size_t save = m->n;
        match_push(m, n->param, p, len);
        if (walk(n->param, next, m)) return 1;
        m->n = save;
    }
    if (n->rest && n->rest->neps && m->n < LH_ROUTE_MAX_PARAMS) {
        match_push(m, n->rest, p, strlen(p));
        m->leaf = n->rest;
        return 1;
    }
    return 0;
}

static void write_allow(const node *n, char *allow, size_t cap) {
    if (!allow || !cap) return;
    allow[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < n->neps; i++) {
        int w = snprintf(allow + used, cap - used, "%s%s", i ? ", " : "", n->eps[i].method);
        if (w < 0 || (size_t)w >= cap - used) break;
        used += (size_t)w;
    }
}

lh_route_result router_match(const lh_router *r, const char *method, const char *path,
                             void **handler, const char **pattern, lh_route_params *params,
                             char *allow, size_t allow_len) {
    memset(params, 0, sizeof *params);
    if (!path || path[0] != '/') return ROUTE_BAD_PATH;
    match_state m = {0};
    if (!walk(&r->root, path + 1, &m)) return ROUTE_NOT_FOUND;
    const endpoint *ep = NULL;
    for (size_t i = 0; i < m.leaf->neps; i++)
        if (!strcmp(m.leaf->eps[i].method, method)) ep = &m.leaf->eps[i];
    if (!ep) {
        write_allow(m.leaf, allow, allow_len);
        return ROUTE_METHOD_NOT_ALLOWED;
    }
    for (size_t i = 0; i < m.n; i++) {
        char *v = lh_pct_decode(m.starts[i], m.lens[i]);
        if (!v) {
            router_params_free(params);
            return ROUTE_BAD_PATH;
        }
        params->names[i] = m.names[i];
        params->values[i] = v;
        params->n = i + 1;
    }
    *handler = ep->handler;
    if (pattern) *pattern = ep->pattern;
    return ROUTE_FOUND;
}

const char *router_param(const lh_route_params *p, const char *name) {
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->names[i], name)) return p->values[i];
    return NULL;
}

void router_params_free(lh_route_params *p) {
    for (size_t i = 0; i < p->n; i++) free(p->values[i]);
    p->n = 0;
}
