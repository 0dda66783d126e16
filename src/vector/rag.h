/*
 * rag.h — retrieval-augmented answers: embed the question, search the
 * index, number the retrieved chunks 1..k and answer with citations —
 * from the configured LLM (prompt in rag_prompt.c, the one place the
 * template lives), or, with no LLM configured, extractively: the sentences
 * of the retrieved chunks that best match the question, each followed by
 * the number of the chunk it came from.
 */
#ifndef LH_VECTOR_RAG_H
#define LH_VECTOR_RAG_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"
#include "vector/index.h"

typedef struct {
    int n;                /* citation number, 1-based */
    const char *doc_id;   /* borrowed */
    int chunk;
    float score;
    const char *text;     /* borrowed */
} lh_rag_passage;

/* ---- rag_prompt.c ---------------------------------------------------------- */

/* The system prompt given to the LLM (static). */
const char *rag_system_prompt(void);
/* The user prompt: every passage as "[n] (doc <id>, chunk <c>)" and its
 * text, then the question. Caller frees. */
char *rag_prompt_build(const char *question, const lh_rag_passage *p, size_t n);

/* ---- rag.c ----------------------------------------------------------------- */

/* Up to max_sentences sentences of the passages that share the most words
 * with the question, best first, each followed by " [n]". Caller frees.
 * With no matching sentence, the first sentence of passage 1. */
char *rag_extractive_answer(const char *question, const lh_rag_passage *p, size_t n,
                            size_t max_sentences);
/* 0 when answer cites at least one passage and every [n] (also [n, m]) is
 * in 1..n; else -1 and *bad = the first number out of range (0 = none cited). */
int rag_citations_check(const char *answer, int n, int *bad);
/* POST /vectors/rag: {"answer","citations":[{"n","doc_id","chunk","score",
 * "text"}],"model","mode":"llm"|"extractive","search_mode","note"?,
 * "reranker"?,"filter"?,"elapsed_us"}. Retrieval takes o (mode, filter,
 * weights, rerank; k 1..50, 0 = 5). An LLM that fails, or whose answer
 * cites a passage that does not exist, falls back to the extractive answer
 * with a "note". */
json_t *rag_answer(lh_vindex *vx, const char *index, const char *question, const lh_vsearch_opts *o, lh_err *err);

#endif
