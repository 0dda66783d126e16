/*
 * rag.c — question → embed → search → numbered passages → answer.
 *
 * With an LLM (provider.generate set) the answer is the model's reply,
 * kept only when every [n] it cites names a retrieved passage (and it
 * cites at least one); a model that fails, answers nothing or cites what
 * does not exist gives way to the extractive answer, with a "note" saying
 * why. Otherwise the answer is extractive: the passages are cut into
 * sentences, each scored by the question's content words it contains,
 * each word weighted by its rarity among the passages (log(1 + N/df), so
 * a word every passage has counts little), plus a little of its passage's
 * similarity to break ties. Words match exactly or by stem (a trailing
 * "s", "es", "ed" or "ing" removed, so "nurses" meets "nurse"). The best
 * sentences — those scoring at least half the best one — are returned in
 * score order, each followed by " [n]".
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ai/builtin.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "vector/rag.h"

/* ---- words ---------------------------------------------------------------------- */

/* Question words on top of the English stop words: they ask, they are not the topic. */
static const char *const QUESTION_WORDS[] = {"tell", "list", "show", "give", NULL};

static int is_stopword(const char *w) {
    return tok_is_stopword(tok_stopwords("en"), w) || tok_is_stopword(QUESTION_WORDS, w);
}

typedef struct {
    char **w;
    size_t n, cap;
} wordset;

static void words_add(wordset *ws, const char *w) {
    for (size_t i = 0; i < ws->n; i++)
        if (!strcmp(ws->w[i], w)) return;
    if (ws->n == ws->cap) {
        ws->cap = ws->cap ? ws->cap * 2 : 16;
        ws->w = lh_realloc(ws->w, ws->cap * sizeof *ws->w);
    }
    ws->w[ws->n++] = lh_strdup(w);
}

/* The distinct words of s[0..len) (the shared tokenizer: lowercased,
 * Unicode-aware); content words only when content. */
static void words_of(const char *s, size_t len, int content, wordset *ws) {
    lh_tok t;
    tok_init(&t, s, len);
    size_t n;
    while ((n = tok_next(&t)) > 0) {
        if (content && (n < 2 || is_stopword(t.word))) continue;
        words_add(ws, t.word);
    }
}

static void words_free(wordset *ws) {
    lh_strv_free(ws->w, ws->n);
}

/* Length of w without a plural / past / gerund ending (stem kept >= 3). */
static size_t stem_len(const char *w) {
    static const char *const sfx[] = {"ing", "es", "ed", "s"};
    size_t n = strlen(w);
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        size_t l = strlen(sfx[i]);
        if (n >= l + 3 && !strcmp(w + n - l, sfx[i])) return n - l;
    }
    return n;
}

static int word_matches(const char *term, const char *word) {
    if (!strcmp(term, word)) return 1;
    size_t a = stem_len(term), b = stem_len(word);
    return a == b && !strncmp(term, word, a);
}

/* 1 when some word of ws matches term. */
static int has_word(const wordset *ws, const char *term) {
    for (size_t i = 0; i < ws->n; i++)
        if (word_matches(term, ws->w[i])) return 1;
    return 0;
}

/* ---- sentences ------------------------------------------------------------------------ */

typedef struct {
    const char *s;
    size_t len;
    int cite;         /* passage number */
    double score;
    size_t order;     /* position among all sentences, for stable ties */
} sentence;

/* Splits text into trimmed sentences (ends: .!? before white space, newlines). */
static void sentences_of(const char *t, int cite, sentence **out, size_t *n, size_t *cap) {
    size_t len = strlen(t), st = 0;
    for (size_t i = 0; i <= len; i++) {
        int end = i == len || t[i] == '\n' ||
                  ((t[i] == '.' || t[i] == '!' || t[i] == '?') && (i + 1 == len || isspace((unsigned char)t[i + 1])));
        if (!end) continue;
        size_t a = st, b = i < len && t[i] != '\n' ? i + 1 : i;
        while (a < b && isspace((unsigned char)t[a])) a++;
        while (b > a && isspace((unsigned char)t[b - 1])) b--;
        st = i + 1;
        if (b - a < 3) continue;
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 32;
            *out = lh_realloc(*out, *cap * sizeof **out);
        }
        (*out)[*n] = (sentence){t + a, b - a, cite, 0, *n};
        (*n)++;
    }
}

static int by_score(const void *a, const void *b) {
    const sentence *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

char *rag_extractive_answer(const char *question, const lh_rag_passage *p, size_t n,
                            size_t max_sentences) {
    if (n == 0) return lh_strdup("No indexed passage matches the question.");
    wordset q = {0};
    words_of(question, strlen(question), 1, &q);
    /* rarity of each question word among the passages */
    double *idf = lh_calloc(q.n + 1, sizeof *idf);
    for (size_t a = 0; a < q.n; a++) {
        size_t df = 0;
        for (size_t i = 0; i < n; i++) {
            wordset w = {0};
            words_of(p[i].text, strlen(p[i].text), 0, &w);
            df += (size_t)has_word(&w, q.w[a]);
            words_free(&w);
        }
        idf[a] = log(1.0 + (double)n / (double)(df ? df : 1));
    }
    sentence *ss = NULL;
    size_t ns = 0, cap = 0;
    for (size_t i = 0; i < n; i++) {
        size_t first = ns;
        sentences_of(p[i].text, p[i].n, &ss, &ns, &cap);
        for (size_t j = first; j < ns; j++) {
            wordset w = {0};
            words_of(ss[j].s, ss[j].len, 0, &w);
            double hits = 0;
            for (size_t a = 0; a < q.n; a++)
                if (has_word(&w, q.w[a])) hits += idf[a];
            words_free(&w);
            ss[j].score = hits > 0 ? hits + 0.1 * p[i].score : 0;
        }
    }
    words_free(&q);
    free(idf);
    qsort(ss, ns, sizeof *ss, by_score);
    double cutoff = ns > 0 ? ss[0].score / 2 : 0;
    lh_strbuf out = LH_STRBUF_INIT;
    size_t taken = 0;
    for (size_t i = 0; i < ns && taken < max_sentences && ss[i].score > 0 && ss[i].score >= cutoff; i++) {
        int dup = 0; /* overlapping chunks repeat sentences */
        for (size_t j = 0; j < i && !dup; j++)
            dup = ss[j].score > 0 && ss[j].len == ss[i].len && !memcmp(ss[j].s, ss[i].s, ss[i].len);
        if (dup) continue;
        if (taken++) sb_putc(&out, ' ');
        sb_append(&out, ss[i].s, ss[i].len);
        sb_printf(&out, " [%d]", ss[i].cite);
    }
    if (taken == 0) { /* nothing shares a word: the best passage's opening */
        size_t first = 0, c2 = 0;
        sentence *one = NULL;
        sentences_of(p[0].text, p[0].n, &one, &first, &c2);
        if (first > 0) sb_append(&out, one[0].s, one[0].len);
        else sb_puts(&out, p[0].text);
        sb_printf(&out, " [%d]", p[0].n);
        free(one);
    }
    free(ss);
    return sb_steal(&out);
}

/* ---- the flow --------------------------------------------------------------------------- */

/* 0 when every [n] in answer names a passage 1..n and there is at least
 * one; else -1 with *bad the first wrong number (0 = none cited). */
int rag_citations_check(const char *answer, int n, int *bad) {
    int cited = 0;
    *bad = 0;
    for (const char *p = answer; (p = strchr(p, '[')) != NULL; p++) {
        const char *q = p + 1;
        /* [1], [2, 3] and [1][2] all cite */
        for (;;) {
            while (*q == ' ') q++;
            if (*q < '0' || *q > '9') break;
            long v = strtol(q, (char **)&q, 10);
            if (v < 1 || v > n) {
                *bad = v < 1 ? -1 : (int)(v > 1000000 ? 1000000 : v);
                return -1;
            }
            cited++;
            while (*q == ' ') q++;
            if (*q != ',') break;
            q++;
        }
    }
    return cited > 0 ? 0 : -1;
}

/* The model's answer, or NULL with *note saying why the extractive one is used. */
static char *rag_llm_answer(const lh_vprovider *pv, const char *question, const lh_rag_passage *ps, int n,
                            char **note) {
    char *prompt = rag_prompt_build(question, ps, (size_t)n);
    char *answer = NULL;
    lh_err gerr = {0};
    int rc = pv->generate(pv->ctx, rag_system_prompt(), prompt, &answer, &gerr);
    free(prompt);
    int bad = 0;
    if (rc != 0) {
        *note = lh_asprintf("the model failed (%s); extractive answer instead", gerr.msg);
        answer = NULL;
    } else if (!answer || !*answer) {
        *note = lh_strdup("the model gave an empty answer; extractive answer instead");
        free(answer);
        answer = NULL;
    } else if (rag_citations_check(answer, n, &bad) != 0) {
        *note = bad ? lh_asprintf("the model cited passage [%d], which does not exist (1..%d); extractive answer instead",
                                  bad, n)
                    : lh_strdup("the model's answer cites no passage; extractive answer instead");
        free(answer);
        answer = NULL;
    }
    return answer;
}

json_t *rag_answer(lh_vindex *vx, const char *index, const char *question, const lh_vsearch_opts *o, lh_err *err) {
    if (!question || !*question) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"question\" must be a non-empty string");
        return NULL;
    }
    lh_vsearch_opts so = *o;
    if (so.k <= 0) so.k = 5;
    if (so.k > 50) so.k = 50;
    double t0 = lh_mono_s();
    lh_vresults r;
    if (vindex_search_ex(vx, index, question, &so, &r, err) != 0) return NULL;
    lh_rag_passage *ps = lh_calloc((size_t)r.n + 1, sizeof *ps);
    json_t *cites = json_array();
    for (int i = 0; i < r.n; i++) {
        ps[i] = (lh_rag_passage){i + 1, r.hits[i].doc_id, r.hits[i].chunk_no, r.hits[i].score, r.hits[i].text};
        json_array_append_new(cites, json_pack("{s:i, s:s, s:i, s:f, s:s}", "n", i + 1, "doc_id",
                                               r.hits[i].doc_id, "chunk", r.hits[i].chunk_no, "score",
                                               (double)r.hits[i].score, "text", r.hits[i].text));
    }
    const lh_vprovider *pv = vindex_provider(vx);
    char *answer = NULL, *note = NULL;
    const char *model = "extractive", *mode = "extractive";
    if (pv->generate && pv->gen_model && r.n > 0) answer = rag_llm_answer(pv, question, ps, r.n, &note);
    if (answer) {
        model = pv->gen_model;
        mode = "llm";
    } else {
        answer = rag_extractive_answer(question, ps, (size_t)r.n, 3);
    }
    json_t *out = json_pack("{s:s, s:O, s:s, s:s, s:s, s:I}", "answer", answer, "citations", cites, "model", model,
                            "mode", mode, "search_mode", r.mode ? r.mode : "hybrid", "elapsed_us",
                            (json_int_t)((lh_mono_s() - t0) * 1e6));
    if (!out) lh_err_set(err, LH_E_BAD_GATEWAY, "the model's answer is not valid UTF-8");
    if (out && note) json_object_set_new(out, "note", json_string(note));
    if (out && r.reranker) json_object_set_new(out, "reranker", json_string(r.reranker));
    if (out && r.allowed_rows >= 0) json_object_set_new(out, "filter", json_pack("{s:I}", "allowed_rows", (json_int_t)r.allowed_rows));
    free(note);
    free(answer);
    json_decref(cites);
    free(ps);
    vindex_results_free(&r);
    return out;
}
