/*
 * rag_prompt.c — THE place the RAG prompt lives: the system prompt and the
 * user-prompt template with its per-passage part. Placeholders are
 * {{passages}} and {{question}} in the template and {{n}}, {{doc_id}},
 * {{chunk}}, {{text}} in a passage. Substitution is one pass over the
 * template, so text coming from users or documents is never re-scanned
 * for placeholders. tests/unit/test_rag.c pins the rendered shape.
 */
#include <stdio.h>
#include <string.h>

#include "common/strbuf.h"
#include "vector/rag.h"

static const char RAG_SYSTEM[] =
    "You answer questions using only the numbered passages you are given. "
    "Cite every statement with the number of the passage it comes from in square brackets, "
    "like [1] or [2][3]. If the passages do not contain the answer, say that you do not know. "
    "Be concise and do not invent facts.";

static const char RAG_TEMPLATE[] =
    "Passages:\n"
    "\n"
    "{{passages}}"
    "Question: {{question}}\n"
    "\n"
    "Answer in a few sentences, citing passages by number:";

static const char RAG_PASSAGE[] =
    "[{{n}}] (doc {{doc_id}}, chunk {{chunk}})\n"
    "{{text}}\n"
    "\n";

const char *rag_system_prompt(void) { return RAG_SYSTEM; }

typedef struct {
    const char *name;
    const char *value;
} slot;

/* Appends tmpl with every {{name}} replaced by its slot value (one pass). */
static void render(lh_strbuf *out, const char *tmpl, const slot *slots, size_t nslots) {
    const char *p = tmpl;
    while (*p) {
        const char *open = strstr(p, "{{");
        if (!open) {
            sb_puts(out, p);
            return;
        }
        sb_append(out, p, (size_t)(open - p));
        const char *close = strstr(open + 2, "}}");
        size_t i = 0;
        while (close && i < nslots &&
               !(strlen(slots[i].name) == (size_t)(close - open - 2) &&
                 !strncmp(open + 2, slots[i].name, (size_t)(close - open - 2))))
            i++;
        if (!close || i == nslots) { /* not a placeholder of ours: keep it */
            sb_append(out, open, 2);
            p = open + 2;
            continue;
        }
        sb_puts(out, slots[i].value);
        p = close + 2;
    }
}

char *rag_prompt_build(const char *question, const lh_rag_passage *ps, size_t n) {
    lh_strbuf passages = LH_STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        char num[16], chunk[16];
        snprintf(num, sizeof num, "%d", ps[i].n);
        snprintf(chunk, sizeof chunk, "%d", ps[i].chunk);
        slot s[] = {{"n", num}, {"doc_id", ps[i].doc_id}, {"chunk", chunk}, {"text", ps[i].text}};
        render(&passages, RAG_PASSAGE, s, 4);
    }
    if (n == 0) sb_puts(&passages, "(no passages)\n\n");
    lh_strbuf out = LH_STRBUF_INIT;
    slot s[] = {{"passages", passages.buf}, {"question", question}};
    render(&out, RAG_TEMPLATE, s, 2);
    sb_free(&passages);
    return sb_steal(&out);
}
