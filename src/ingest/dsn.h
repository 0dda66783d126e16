/*
 * dsn.h — database connection strings: postgres://, postgresql:// and
 * mysql:// URLs parsed into parts, and their password-free rendering for
 * logs, lineage and error messages.
 *
 *   scheme://[user[:password]@]host[:port][/database][?key=value&...]
 *
 * user, password and database are percent-decoded; host may be a bracketed
 * IPv6 literal ("[::1]"). Ports default to 5432 (postgres) and 3306 (mysql).
 */
#ifndef LH_INGEST_DSN_H
#define LH_INGEST_DSN_H

#include "common/err.h"

typedef enum { LH_DSN_POSTGRES, LH_DSN_MYSQL } lh_dsn_kind;

typedef struct {
    lh_dsn_kind kind;
    char *user;       /* owned, "" when absent */
    char *password;   /* owned, "" when absent */
    char *host;       /* owned, brackets removed for IPv6 */
    int port;
    char *database;   /* owned, "" when absent */
    char *params;     /* owned raw query string after '?', "" when absent */
} lh_dsn;

/* Parses text into out (zeroed first). LH_E_BAD_REQUEST naming the problem;
 * the message never contains the password. */
int dsn_parse(const char *text, lh_dsn *out, lh_err *err);
void dsn_free(lh_dsn *d);
/* "postgres://user:***@host:5432/db" — caller frees. */
char *dsn_redacted(const lh_dsn *d);
/* Copy of msg with every occurrence of the password replaced by "***"
 * (caller frees). For messages from drivers that may echo the DSN. */
char *dsn_scrub(const lh_dsn *d, const char *msg);
/* The DSN as a URL again, password included (percent-encoded) — for
 * storing a secret, never for showing it. Parses back to the same parts. */
char *dsn_format(const lh_dsn *d);

#endif
