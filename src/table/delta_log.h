/*
 * delta_log.h — internal to the table module: replaying Delta actions.
 *
 * A replay holds the live file set (keyed by URL-decoded path), the latest
 * metaData and protocol. Commits are fed as JSON text (one action per
 * line); checkpoint rows arrive as the same JSON actions, so one code path
 * applies both. Exposed separately so a fuzz target can feed it bytes.
 */
#ifndef LH_TABLE_DELTA_LOG_H
#define LH_TABLE_DELTA_LOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct {
    char *path;        /* owned, URL-decoded */
    int64_t size, mtime, rows;
    char *stats;       /* owned JSON text or NULL */
    json_t *pvalues;   /* owned object: name → string | null */
    json_t *dv;        /* owned deletionVector descriptor or NULL */
    char *dv_id;       /* owned dv_unique_id(dv) or NULL */
    int live;
} dl_file;

typedef struct {
    dl_file *files;
    size_t nfiles, cap;
    size_t *index;     /* open addressing: file idx + 1, 0 = empty */
    size_t index_cap;
    json_t *metadata;  /* owned, latest metaData action */
    int min_reader, min_writer;
    json_t *reader_features; /* owned or NULL */
    json_t *sidecars;  /* owned array of the sidecar file names a v2 checkpoint listed */
} delta_replay;

void delta_replay_init(delta_replay *r);
void delta_replay_free(delta_replay *r);
/* Applies one action object ({"add":..}, {"remove":..}, ...). */
int delta_replay_action(delta_replay *r, json_t *action, lh_err *err);
/* Applies a commit file's text; errors name `name` and the line. The
 * commit's removes apply before its adds (a commit is a set of actions: a
 * file re-added with a new deletion vector stays live whatever the order). */
int delta_replay_commit(delta_replay *r, const char *text, size_t len, const char *name,
                        lh_err *err);
/* Parses a commit's lines into an array of actions (new reference); *lines
 * (caller frees) gets each action's line number. NULL + err on bad JSON. */
json_t *delta_commit_parse(const char *text, size_t len, const char *name, int **lines, lh_err *err);
/* Refuses protocols and features we cannot read correctly, naming them.
 * The reader features implemented are DELTA_READER_FEATURES. */
#define DELTA_READER_FEATURES "deletionVectors, columnMapping, timestampNtz, vacuumProtocolCheck, v2Checkpoint, typeWidening, typeWidening-preview"
int delta_replay_check_protocol(const delta_replay *r, lh_err *err);
/* An action's "path", URL-decoded, refused (NULL + err naming `kind`) when
 * missing, malformed or leaving the table folder. Caller frees. */
char *delta_action_path(json_t *a, const char *kind, lh_err *err);
/* URL-decodes a log path (one level of %XX); NULL on a bad escape. */
char *delta_path_decode(const char *s);

#endif
