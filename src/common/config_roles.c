/*
 * config_roles.c — [[access.roles]] in lakehouse.toml: custom roles (ADR
 * 0243). Each entry is converted to the JSON shape POST /access/roles takes
 * ({"name","level","max_sensitivity","above_max","pii":{kind: rule},
 * "pii_default","row_filters":{dataset: predicate},"description"}) and kept
 * with its "file:line"; the access module validates it with the same parser
 * as the API when the server starts, so the two can never disagree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config_internal.h"
#include "common/util.h"

void config_roles_clear(lh_config *cfg) {
    size_t n = json_array_size(cfg->access.roles);
    for (size_t i = 0; cfg->access.role_where && i < n; i++) free(cfg->access.role_where[i]);
    free(cfg->access.role_where);
    json_decref(cfg->access.roles);
    cfg->access.roles = NULL;
    cfg->access.role_where = NULL;
}

int config_read_roles(lh_config *cfg, const toml_value *arr, const char *name, lh_err *err) {
    if (toml_type_of(arr) != TOML_ARRAY)
        return lh_err_set(err, LH_E_BAD_REQUEST, "%s:%d: access.roles must be an array of tables ([[access.roles]])",
                          name, toml_line(arr));
    config_roles_clear(cfg);
    size_t n = toml_array_size(arr);
    cfg->access.roles = json_array();
    cfg->access.role_where = lh_calloc(n + 1, sizeof *cfg->access.role_where);
    for (size_t i = 0; i < n; i++) {
        const toml_value *e = toml_array_at(arr, i);
        if (toml_type_of(e) != TOML_TABLE)
            return lh_err_set(err, LH_E_BAD_REQUEST, "%s:%d: each access.roles entry must be a table", name,
                              toml_line(e));
        json_array_append_new(cfg->access.roles, toml_to_json(e));
        cfg->access.role_where[i] = lh_asprintf("%s:%d", name, toml_line(e));
    }
    return 0;
}
