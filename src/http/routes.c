/*
 * routes.c — the gateway's route table: method, path pattern, handler,
 * least role when auth is on, and whether the body is streamed. Adding an
 * endpoint is adding a row here and a handler in the module's api_*.c.
 */
#include "http/internal.h"

const lh_route lh_routes[] = {
    {"GET", "/health", api_health, ROLE_PUBLIC, NULL},
    {"GET", "/system/status", api_system_status, ROLE_READ, NULL},
    {"GET", "/metrics", api_metrics, ROLE_READ, NULL},

    {"PUT", "/storage/objects/{key...}", api_storage_put_done, ROLE_WRITE, &api_storage_put_upload},
    {"GET", "/storage/objects/{key...}", api_storage_get, ROLE_READ, NULL},
    {"DELETE", "/storage/objects/{key...}", api_storage_delete, ROLE_WRITE, NULL},
    {"GET", "/storage/objects", api_storage_list, ROLE_READ, NULL},

    {"POST", "/catalog/datasets", api_catalog_register, ROLE_WRITE, NULL},
    {"GET", "/catalog/datasets", api_catalog_list, ROLE_READ, NULL},
    {"GET", "/catalog/datasets/by-name/{name}", api_catalog_get, ROLE_READ, NULL},
    {"PATCH", "/catalog/datasets/by-name/{name}/metadata", api_catalog_patch, ROLE_WRITE, NULL},
    {"DELETE", "/catalog/datasets/by-name/{name}", api_catalog_delete, ROLE_WRITE, NULL},
    {"POST", "/catalog/datasets/by-name/{name}/append", api_catalog_append, ROLE_WRITE, NULL},
    {"POST", "/catalog/resync-missing", api_catalog_resync, ROLE_ADMIN, NULL},

    {"POST", "/query/sql", api_query_sql, ROLE_READ, NULL},

    {"GET", "/tools", api_tools_list, ROLE_READ, NULL},
    {"GET", "/tools/audit", api_tools_audit, ROLE_ADMIN, NULL},
    {"GET", "/tools/{name}", api_tools_get, ROLE_READ, NULL},
    {"POST", "/tools/{name}/call", api_tools_call, ROLE_READ, NULL},
};

const size_t lh_routes_count = sizeof lh_routes / sizeof lh_routes[0];
