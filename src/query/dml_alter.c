/*
 * dml_alter.c — ALTER TABLE for POST /query/sql (ADR 0251).
 */
#include "query/dml_internal.h"

json_t *dml_exec_alter(dml_ctx *d, parser *p, lh_err *err) {
    (void)d, (void)p;
    lh_err_set(err, LH_E_UNPROCESSABLE, "ALTER TABLE is not supported yet");
    return NULL;
}
