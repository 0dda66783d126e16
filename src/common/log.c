/*
 * log.c — logfmt lines on stderr with level, UTC time and request id.
 * One fprintf per line under stdio's lock, so lines never interleave.
 */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static lh_log_level g_level = LH_LOG_INFO;
static _Thread_local char t_rid[64];
static const char *level_names[] = {"debug", "info", "warn", "error"};

void lh_log_set_level(lh_log_level lvl) { g_level = lvl; }

int lh_log_level_parse(const char *s, lh_log_level *out) {
    for (int i = 0; i < 4; i++)
        if (s && strcasecmp(s, level_names[i]) == 0) {
            *out = (lh_log_level)i;
            return 0;
        }
    return -1;
}

void lh_log_set_request_id(const char *rid) {
    if (!rid) t_rid[0] = '\0';
    else snprintf(t_rid, sizeof t_rid, "%s", rid);
}

const char *lh_log_request_id(void) { return t_rid; }

void lh_log(lh_log_level lvl, const char *fmt, ...) {
    if (lvl < g_level) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if (*p == '"' || *p == '\n') *p = (*p == '"') ? '\'' : ' ';
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char tbuf[32];
    strftime(tbuf, sizeof tbuf, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "ts=%s.%03ldZ level=%s req=%s msg=\"%s\"\n", tbuf,
            ts.tv_nsec / 1000000, level_names[lvl], t_rid[0] ? t_rid : "-", msg);
}
