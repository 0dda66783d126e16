/*
 * demo_internal.h — shared by demo.c (the run: tables, metadata, progress)
 * and demo_sql.c (the generating SQL).
 */
#ifndef LH_DEMO_INTERNAL_H
#define LH_DEMO_INTERNAL_H

#include <stdint.h>

#include "common/strbuf.h"
#include "demo/demo.h"

#define DEMO_TABLES 7

typedef struct {
    long long rows[DEMO_TABLES];  /* in META (generation) order */
    uint64_t seed;
} demo_vars;

/* Appends tmpl with {R} {C} {N} {J} {P} {T} {A} (row counts), {SEED} and
 * {REF} (the reference date) filled in. */
void demo_sql_expand(lh_strbuf *out, const char *tmpl, const demo_vars *v);
/* Appends the CREATE MACRO statements (vocabulary, rnd, pick). */
void demo_sql_macros(lh_strbuf *out, const demo_vars *v);
/* The i-th table's CREATE TABLE template and name; NULL past the end. */
const char *demo_sql_table(size_t i, const char **name);

#endif
