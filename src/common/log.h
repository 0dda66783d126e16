/*
 * log.h — structured logs to stderr, one line per event:
 *   ts=2026-11-24T10:00:00.123Z level=info req=<id> msg="..." k=v ...
 * The request id is thread-local: the gateway sets it per request so every
 * log line written while serving carries it.
 */
#ifndef LH_COMMON_LOG_H
#define LH_COMMON_LOG_H

typedef enum { LH_LOG_DEBUG, LH_LOG_INFO, LH_LOG_WARN, LH_LOG_ERROR } lh_log_level;

void lh_log_set_level(lh_log_level lvl);
/* Parses "debug|info|warn|error"; returns -1 when unknown. */
int lh_log_level_parse(const char *s, lh_log_level *out);
/* Sets this thread's request id (copied; NULL clears). */
void lh_log_set_request_id(const char *rid);
const char *lh_log_request_id(void);
void lh_log(lh_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_DEBUG(...) lh_log(LH_LOG_DEBUG, __VA_ARGS__)
#define LOG_INFO(...) lh_log(LH_LOG_INFO, __VA_ARGS__)
#define LOG_WARN(...) lh_log(LH_LOG_WARN, __VA_ARGS__)
#define LOG_ERROR(...) lh_log(LH_LOG_ERROR, __VA_ARGS__)

#endif
