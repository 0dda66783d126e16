/*
 * routes.c — the gateway's route table: method, path pattern, handler,
 * least role when auth is on, and whether the body is streamed. Adding an
 * endpoint is adding a row here and a handler in the module's api_*.c.
 */
#include "http/internal.h"

const lh_route lh_routes[] = {
    {"GET", "/", api_web_index, ROLE_PUBLIC, NULL},
    {"GET", "/assets/{name}", api_web_asset, ROLE_PUBLIC, NULL},
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

    {"POST", "/ingest/db", api_ingest_db, ROLE_WRITE, NULL},
    {"POST", "/ingest/mysql", api_ingest_mysql, ROLE_WRITE, NULL},
    {"POST", "/ingest/postgres/import", api_ingest_postgres_import, ROLE_WRITE, NULL},
    {"GET", "/ingest/schedules", api_schedules_list, ROLE_READ, NULL},
    {"POST", "/ingest/schedules", api_schedules_create, ROLE_ADMIN, NULL},
    {"GET", "/ingest/schedules/{id}", api_schedules_get, ROLE_READ, NULL},
    {"PUT", "/ingest/schedules/{id}", api_schedules_update, ROLE_ADMIN, NULL},
    {"DELETE", "/ingest/schedules/{id}", api_schedules_delete, ROLE_ADMIN, NULL},
    {"POST", "/ingest/schedules/{id}/run", api_schedules_run, ROLE_WRITE, NULL},

    {"POST", "/ai/embed", api_ai_embed, ROLE_READ, NULL},
    {"POST", "/ai/generate", api_ai_generate, ROLE_READ, NULL},
    {"POST", "/ai/rerank", api_ai_rerank, ROLE_READ, NULL},

    {"POST", "/ai/sql", api_ai_sql, ROLE_READ, NULL},
    {"GET", "/catalog/datasets/by-name/{name}/profile", api_catalog_profile, ROLE_READ, NULL},
    {"GET", "/catalog/datasets/by-name/{name}/summary", api_catalog_summary, ROLE_READ, NULL},

    {"GET", "/tools", api_tools_list, ROLE_READ, NULL},
    {"GET", "/tools/audit", api_tools_audit, ROLE_ADMIN, NULL},
    {"GET", "/tools/{name}", api_tools_get, ROLE_READ, NULL},
    {"POST", "/tools/{name}/call", api_tools_call, ROLE_READ, NULL},

    {"POST", "/vectors/index", api_vectors_index, ROLE_WRITE, NULL},
    {"GET", "/vectors/indexes", api_vectors_list, ROLE_READ, NULL},
    {"GET", "/vectors/indexes/{name}", api_vectors_get, ROLE_READ, NULL},
    {"DELETE", "/vectors/indexes/{name}", api_vectors_delete, ROLE_WRITE, NULL},
    {"POST", "/vectors/search", api_vectors_search, ROLE_READ, NULL},
    {"POST", "/vectors/rag", api_vectors_rag, ROLE_READ, NULL},
    {"POST", "/vectors/refresh/{dataset}", api_vectors_refresh, ROLE_WRITE, NULL},
    {"GET", "/vectors/stale", api_vectors_stale, ROLE_READ, NULL},

    {"POST", "/ingest/file", api_ingest_file, ROLE_WRITE, &api_ingest_file_upload},
    {"GET", "/jobs", api_jobs_list, ROLE_READ, NULL},
    {"GET", "/jobs/{id}", api_jobs_get, ROLE_READ, NULL},
    {"POST", "/jobs/{id}/cancel", api_jobs_cancel, ROLE_WRITE, NULL},

    {"GET", "/workspaces", api_workspaces_list, ROLE_READ, NULL},
    {"POST", "/workspaces", api_workspaces_create, ROLE_WRITE, NULL},
    {"GET", "/workspaces/{id}", api_workspaces_get, ROLE_READ, NULL},
    {"DELETE", "/workspaces/{id}", api_workspaces_delete, ROLE_WRITE, NULL},
    {"POST", "/workspaces/{id}/searches", api_workspaces_search, ROLE_WRITE, NULL},
    {"POST", "/workspaces/{id}/shortlists", api_workspaces_shortlist, ROLE_WRITE, NULL},
    {"POST", "/workspaces/{id}/shortlists/{name}/items", api_workspaces_items, ROLE_WRITE, NULL},
    {"POST", "/workspaces/{id}/activity", api_workspaces_activity, ROLE_WRITE, NULL},
    {"POST", "/workspaces/{id}/handoff", api_workspaces_handoff, ROLE_WRITE, NULL},
    {"POST", "/workspaces/{id}/pin", api_workspaces_pin, ROLE_WRITE, NULL},

    {"POST", "/catalog/schema/diff", api_schema_diff, ROLE_READ, NULL},
    {"GET", "/catalog/datasets/by-name/{name}/schema-diff", api_catalog_schema_diff, ROLE_READ, NULL},

    {"POST", "/journal/event", api_journal_event, ROLE_WRITE, NULL},
    {"POST", "/journal/update", api_journal_update, ROLE_WRITE, NULL},
    {"POST", "/journal/flush", api_journal_flush, ROLE_WRITE, NULL},
    {"GET", "/journal/history/{entity_id}", api_journal_history, ROLE_READ, NULL},
    {"GET", "/journal/recent", api_journal_recent, ROLE_READ, NULL},
    {"GET", "/journal/stats", api_journal_stats, ROLE_READ, NULL},

    {"GET", "/access/roles", api_access_roles_list, ROLE_READ, NULL},
    {"POST", "/access/roles", api_access_role_put, ROLE_ADMIN, NULL},
    {"GET", "/access/roles/{name}", api_access_role_get, ROLE_READ, NULL},
    {"DELETE", "/access/roles/{name}", api_access_role_delete, ROLE_ADMIN, NULL},
    {"POST", "/access/check", api_access_check, ROLE_READ, NULL},
    {"POST", "/access/query", api_access_query, ROLE_READ, NULL},
    {"GET", "/access/audit", api_access_audit, ROLE_ADMIN, NULL},
};

const size_t lh_routes_count = sizeof lh_routes / sizeof lh_routes[0];
