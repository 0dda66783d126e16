/*
 * web_assets.h — the web console files (the web folder), embedded in the binary at
 * build time by scripts/embed_web.sh (build/gen/web_assets.c), so the
 * console is served with no share folder, CDN or network.
 */
#ifndef LH_HTTP_WEB_ASSETS_H
#define LH_HTTP_WEB_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *name;           /* file name, e.g. "app.js" */
    const char *content_type;
    const unsigned char *data;  /* NUL-terminated for convenience; len excludes it */
    size_t len;
} lh_web_asset;

extern const lh_web_asset lh_web_assets[];
extern const size_t lh_web_assets_count;

#endif
