/*
 * demo.h — the staffing demo data: seven related tables generated
 * deterministically from a seed (same seed and scale → same rows), written
 * as datasets with full manifests (descriptions, owners, sensitivity, PII
 * flags, column notes, lineage "demo-generator").
 *
 * At scale 1: candidates 100,000, clients 2,500, recruiters 250,
 * job_orders 25,000, placements 60,000, timesheets 2,000,000, activities
 * 282,250 — 2,470,000 rows. Every key is <entity>_id (1-based BIGINT) and
 * every foreign key points at an existing row: a placement's client is its
 * job order's client, a timesheet's candidate and client are its
 * placement's, and so on (ids are pure functions of the row number, so the
 * generator needs no joins). Dates are laid out relative to a fixed
 * reference day (DEMO_REFERENCE_DATE) so answers do not drift with the
 * calendar.
 */
#ifndef LH_DEMO_H
#define LH_DEMO_H

#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "common/err.h"

#define DEMO_REFERENCE_DATE "2026-10-31"
#define DEMO_DEFAULT_SEED 7

typedef struct {
    double scale;        /* every table scale times as large; 0 = 1 */
    uint64_t seed;       /* 0 = DEMO_DEFAULT_SEED */
} lh_demo_options;

/* step: what is being done ("candidates"); done/total: steps so far. */
typedef void (*lh_demo_progress_fn)(void *ctx, const char *step, int done, int total);


/* Writes (overwrites) every demo table into the catalog. progress may be NULL. */
int demo_generate(lh_catalog *c, const lh_demo_options *opt, lh_demo_progress_fn progress,
                  void *ctx, lh_err *err);

#endif
