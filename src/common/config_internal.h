/*
 * config_internal.h — readers config.c delegates to other files of
 * src/common/ (not for use outside the config loader).
 */
#ifndef LH_COMMON_CONFIG_INTERNAL_H
#define LH_COMMON_CONFIG_INTERNAL_H

#include "common/config.h"
#include "common/toml.h"

/* [[storage.buckets]]: replaces cfg->storage.buckets; errors read "file:line: problem". */
int config_read_buckets(lh_config *cfg, const toml_value *arr, const char *name, lh_err *err);
void config_buckets_clear(lh_config *cfg);
/* [[access.roles]] (config_roles.c): replaces cfg->access.roles. */
int config_read_roles(lh_config *cfg, const toml_value *arr, const char *name, lh_err *err);
void config_roles_clear(lh_config *cfg);

#endif
