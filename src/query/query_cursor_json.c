/*
 * query_cursor_json.c — a cursor read as one JSON document, a small buffer
 * at a time: the header (columns), then rows chunk by chunk (~64 KiB per
 * step, never past the cursor's limit or [query] max_result_bytes), then
 * the trailer (row_count, truncated, elapsed_ms, files_scanned / files_total
 * when the statement's WHERE was checked against the files' stats, and the error of a mid-stream failure). The cursor itself (query.c) owns the DuckDB result.
 */
#include <string.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "query/query_internal.h"
#include "query/query_json.h"

static void render_header(lh_query_cursor *c) {
    sb_puts(&c->out, "{\"columns\":[");
    for (size_t i = 0; i < c->ncols; i++) {
        if (i) sb_putc(&c->out, ',');
        sb_puts(&c->out, "{\"name\":");
        sb_json_str(&c->out, c->col_names[i], strlen(c->col_names[i]));
        sb_puts(&c->out, ",\"type\":");
        sb_json_str(&c->out, c->col_types[i], strlen(c->col_types[i]));
        sb_putc(&c->out, '}');
    }
    sb_puts(&c->out, "],\"rows\":[");
}

/* Renders up to ~64 KiB of rows; moves to the trailer at the end or limit. */
static int render_rows(lh_query_cursor *c, lh_err *err) {
    while (c->out.len < 65536) {
        if (!c->chunk) {
            c->phase = CUR_TRAILER;
            return 0;
        }
        idx_t n = duckdb_data_chunk_get_size(c->chunk);
        if (c->chunk_row >= n) {
            if (query_cursor_fetch_chunk(c, err) != 0) return -1;
            continue;
        }
        if (c->emitted == c->limit) {
            c->truncated = 1; /* at least one more row exists */
            c->phase = CUR_TRAILER;
            return 0;
        }
        idx_t r = c->chunk_row++;
        sb_puts(&c->out, c->emitted ? ",[" : "[");
        for (size_t i = 0; i < c->ncols; i++) {
            if (i) sb_putc(&c->out, ',');
            qjson_value(&c->out, duckdb_data_chunk_get_vector(c->chunk, i), c->col_lt[i], r);
        }
        sb_putc(&c->out, ']');
        c->emitted++;
    }
    return 0;
}

static void render_trailer(lh_query_cursor *c) {
    sb_printf(&c->out, "],\"row_count\":%lld,\"truncated\":%s,\"elapsed_ms\":%.3f",
              (long long)c->emitted, c->truncated ? "true" : "false",
              (lh_mono_s() - c->t0) * 1000.0);
    if (c->files_total)
        sb_printf(&c->out, ",\"files_scanned\":%zu,\"files_total\":%zu", c->files_scanned, c->files_total);
    if (c->mid_error) {
        sb_puts(&c->out, ",\"error\":{\"code\":\"query_failed\",\"message\":");
        sb_json_str(&c->out, c->mid_error, strlen(c->mid_error));
        sb_putc(&c->out, '}');
    }
    sb_putc(&c->out, '}');
    c->phase = CUR_DONE;
}

/* 1 (err set) once the rendered result passes [query] max_result_bytes. */
static int result_over_cap(lh_query_cursor *c, int64_t emitted_before, lh_err *err) {
    c->rendered += (int64_t)c->out.len;
    int64_t cap = query_max_result_bytes(c->e);
    if (cap <= 0 || c->rendered <= cap) return 0;
    sb_reset(&c->out); /* the rows that passed the cap are not sent */
    c->emitted = emitted_before;
    c->truncated = 1;
    lh_err_set(err, LH_E_TOO_LARGE, "the result exceeds the per-request limit of %lld bytes ([query] max_result_mb)",
               (long long)cap);
    lh_err_hint(err, "ask for fewer rows (limit) or fewer columns");
    return 1;
}

long query_cursor_read(lh_query_cursor *c, char *buf, size_t cap, lh_err *err) {
    int64_t before;
    while (c->out_pos == c->out.len) {
        sb_reset(&c->out);
        c->out_pos = 0;
        switch (c->phase) {
        case CUR_HEADER:
            render_header(c);
            c->phase = CUR_ROWS;
            break;
        case CUR_ROWS:
            before = c->emitted;
            if (render_rows(c, err) != 0 || result_over_cap(c, before, err)) {
                c->mid_error = lh_strdup(err && err->msg[0] ? err->msg : "query failed");
                c->phase = CUR_TRAILER;
                return -1;
            }
            break;
        case CUR_TRAILER: render_trailer(c); break;
        case CUR_DONE: return 0;
        }
    }
    size_t n = c->out.len - c->out_pos;
    if (n > cap) n = cap;
    memcpy(buf, c->out.buf + c->out_pos, n);
    c->out_pos += n;
    return (long)n;
}

