/*
 * fuzz_delta_log.c — libFuzzer target: arbitrary bytes as a Delta commit
 * file fed to the log replayer (JSON lines of add/remove/metaData/protocol
 * actions), then the protocol check and the path decoder. Checks memory
 * safety and that the replay's file index stays consistent.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "table/delta_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    delta_replay r;
    delta_replay_init(&r);
    lh_err err;
    /* two commits of the same bytes: the second replays adds over removes */
    if (delta_replay_commit(&r, (const char *)data, size, "00000000000000000000.json", &err) == 0) {
        delta_replay_commit(&r, (const char *)data, size, "00000000000000000001.json", &err);
        delta_replay_check_protocol(&r, &err);
    }
    for (size_t i = 0; i < r.nfiles; i++) assert(r.files[i].path);
    delta_replay_free(&r);
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    free(delta_path_decode(s));
    free(s);
    return 0;
}
