/*
 * test_rag.c — RAG: the prompt template (pinned: one file, one shape,
 * placeholders in user text left alone), the extractive answer (cites the
 * chunks that contain the answer words), the whole flow with no LLM
 * (extractive) and with one (prompt carries the numbered passages), and an
 * LLM that fails (clear error, no answer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vector/rag.h"
#include "vector_fixture.h"

static void test_prompt_template(void **state) {
    (void)state;
    lh_rag_passage p[] = {
        {1, "42", 0, 0.9f, "Ana is an ICU nurse."},
        {2, "7", 3, 0.5f, "Bo drives trucks."},
    };
    char *s = rag_prompt_build("Who is a nurse?", p, 2);
    assert_string_equal(s,
                        "Passages:\n"
                        "\n"
                        "[1] (doc 42, chunk 0)\n"
                        "Ana is an ICU nurse.\n"
                        "\n"
                        "[2] (doc 7, chunk 3)\n"
                        "Bo drives trucks.\n"
                        "\n"
                        "Question: Who is a nurse?\n"
                        "\n"
                        "Answer in a few sentences, citing passages by number:");
    free(s);
    /* user text is never re-scanned for placeholders */
    lh_rag_passage q[] = {{1, "{{n}}", 0, 1, "text with {{question}} inside"}};
    s = rag_prompt_build("what about {{passages}}?", q, 1);
    assert_non_null(strstr(s, "[1] (doc {{n}}, chunk 0)\ntext with {{question}} inside\n"));
    assert_non_null(strstr(s, "Question: what about {{passages}}?\n"));
    free(s);
    s = rag_prompt_build("anything?", NULL, 0);
    assert_non_null(strstr(s, "(no passages)"));
    free(s);
    const char *sys = rag_system_prompt();
    assert_non_null(strstr(sys, "[1]"));
    assert_non_null(strstr(sys, "only the numbered passages"));
    assert_non_null(strstr(sys, "do not know"));
}

/* Every "[n]" in answer must name a passage whose text has one of words. */
static void assert_citations_hold(const char *answer, const lh_rag_passage *p, size_t n,
                                  const char *const *words, size_t nwords) {
    int cites = 0;
    for (const char *c = strchr(answer, '['); c; c = strchr(c + 1, '[')) {
        int k = atoi(c + 1);
        assert_true(k >= 1 && (size_t)k <= n);
        int found = 0;
        for (size_t w = 0; w < nwords; w++) found |= strcasestr(p[k - 1].text, words[w]) != NULL;
        assert_true(found);
        cites++;
    }
    assert_true(cites > 0);
}

static void test_extractive_answer(void **state) {
    (void)state;
    lh_rag_passage p[] = {
        {1, "1", 0, 0.8f, "Maria works nights. She holds a BLS certification and an ACLS certification! "
                          "She lives in Ohio."},
        {2, "2", 0, 0.7f, "Tom drives forklifts.\nHe prefers the warehouse."},
        {3, "3", 1, 0.6f, "Lee is an ICU nurse with ACLS certifications from 2019."},
    };
    char *a = rag_extractive_answer("Which certifications does the ICU nurse hold?", p, 3, 3);
    const char *words[] = {"certification", "ICU", "nurse"};
    assert_citations_hold(a, p, 3, words, 3);
    assert_non_null(strstr(a, "Lee is an ICU nurse with ACLS certifications from 2019. [3]"));
    assert_non_null(strstr(a, "[1]"));
    assert_null(strstr(a, "[2]"));      /* the forklift passage shares no word */
    assert_null(strstr(a, "Ohio"));     /* nor does that sentence */
    free(a);
    /* nothing in common: the best passage's first sentence, cited */
    a = rag_extractive_answer("zebra quantum", p, 3, 3);
    assert_string_equal(a, "Maria works nights. [1]");
    free(a);
    a = rag_extractive_answer("anything", NULL, 0, 3);
    assert_non_null(strstr(a, "No indexed passage"));
    free(a);
    /* overlapping chunks repeat sentences: each appears once */
    lh_rag_passage d[] = {{1, "9", 0, 0.9f, "Nurse Ana speaks Spanish."}, {2, "9", 1, 0.8f, "Nurse Ana speaks Spanish."}};
    a = rag_extractive_answer("which nurse speaks Spanish", d, 2, 3);
    assert_string_equal(a, "Nurse Ana speaks Spanish. [1]");
    free(a);
}

static const char *resume_text(int i, char *buf, size_t cap) {
    static const char *const bodies[] = {
        "Ana Ruiz is a registered nurse. She worked six years in the ICU at Mercy Hospital. She speaks Spanish.",
        "Bo Chen is a Java developer. He builds Spring Boot services on AWS. He mentors juniors.",
        "Cy Diaz is a forklift operator. He has a warehouse safety certificate. He works night shifts.",
        "Di Park is an accountant. She prepares payroll and tax returns. She knows QuickBooks.",
    };
    snprintf(buf, cap, "%s", bodies[i % 4]);
    return buf;
}

static json_t *rag_k(lh_vindex *vx, const char *index, const char *q, int k, lh_err *err) {
    lh_vsearch_opts o;
    vindex_search_opts_init(&o);
    o.k = k;
    return rag_answer(vx, index, q, &o, err);
}

static void test_citations_check(void **state) {
    (void)state;
    int bad = 0;
    assert_int_equal(rag_citations_check("Ana is a nurse [1]. Bo codes [2].", 2, &bad), 0);
    assert_int_equal(rag_citations_check("Both [1, 2] and [2][1].", 2, &bad), 0);
    assert_int_equal(rag_citations_check("Ana is a nurse [3].", 2, &bad), -1);
    assert_int_equal(bad, 3);
    assert_int_equal(rag_citations_check("Ana [1] and [0].", 2, &bad), -1);
    assert_int_equal(bad, -1);
    assert_int_equal(rag_citations_check("No citation at all.", 2, &bad), -1);
    assert_int_equal(bad, 0);
    assert_int_equal(rag_citations_check("[1, 99999999999999999999]", 2, &bad), -1);
    assert_int_equal(rag_citations_check("a [link](x) is not a citation [2]", 2, &bad), 0);
}

static void test_rag_flow_extractive_and_llm(void **state) {
    (void)state;
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "resumes", "BIGINT", 0, 4, resume_text, LH_WRITE_CREATE), 0);
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    lh_vbuild_req req = {.dataset = "resumes", .id_column = "id", .text_column = "body"};
    json_t *m = vindex_build_sync(f->vx, &req, &err);
    assert_non_null(m);
    json_decref(m);
    /* no LLM: extractive, with citations that hold the answer words */
    json_t *r = rag_k(f->vx, "resumes", "Which nurse worked in the ICU?", 3, &err);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "model")), "extractive");
    const char *answer = json_string_value(json_object_get(r, "answer"));
    json_t *cites = json_object_get(r, "citations");
    assert_int_equal(json_array_size(cites), 3);
    lh_rag_passage p[3];
    for (size_t i = 0; i < 3; i++) {
        json_t *c = json_array_get(cites, i);
        assert_int_equal(json_integer_value(json_object_get(c, "n")), (json_int_t)i + 1);
        p[i] = (lh_rag_passage){(int)i + 1, json_string_value(json_object_get(c, "doc_id")), 0, 0,
                                json_string_value(json_object_get(c, "text"))};
    }
    assert_string_equal(p[0].doc_id, "0"); /* Ana's resume ranks first */
    const char *words[] = {"ICU", "nurse"};
    assert_citations_hold(answer, p, 3, words, 2);
    assert_non_null(strstr(answer, "ICU at Mercy Hospital"));
    json_decref(r);
    vindex_free(f->vx);
    /* with an LLM: its reply, and a prompt holding the numbered passages */
    f->cfg.provider = fake_provider(&f->ai, 1);
    f->ai.reply = "Ana Ruiz worked in the ICU [1].";
    assert_non_null(vfix_open(f));
    r = rag_k(f->vx, "resumes", "Which nurse worked in the ICU?", 2, &err);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "answer")), "Ana Ruiz worked in the ICU [1].");
    assert_string_equal(json_string_value(json_object_get(r, "model")), "fake-llm");
    assert_int_equal(json_array_size(json_object_get(r, "citations")), 2);
    assert_non_null(strstr(f->ai.last_prompt, "[1] (doc 0, chunk 0)\nAna Ruiz is a registered nurse."));
    assert_non_null(strstr(f->ai.last_prompt, "Question: Which nurse worked in the ICU?"));
    assert_null(json_object_get(r, "note"));
    json_decref(r);
    /* a model citing a passage that was not retrieved: extractive, with a note */
    f->ai.reply = "Ana Ruiz worked in the ICU [7].";
    r = rag_k(f->vx, "resumes", "Which nurse worked in the ICU?", 2, &err);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "mode")), "extractive");
    assert_non_null(strstr(json_string_value(json_object_get(r, "note")), "[7], which does not exist"));
    assert_non_null(strstr(json_string_value(json_object_get(r, "answer")), "ICU at Mercy Hospital"));
    json_decref(r);
    /* ... citing nothing: the same */
    f->ai.reply = "Ana Ruiz worked in the ICU.";
    r = rag_k(f->vx, "resumes", "Which nurse worked in the ICU?", 2, &err);
    assert_string_equal(json_string_value(json_object_get(r, "mode")), "extractive");
    assert_non_null(strstr(json_string_value(json_object_get(r, "note")), "cites no passage"));
    json_decref(r);
    /* an LLM that fails: the extractive answer with a note naming the failure */
    f->ai.reply = NULL;
    r = rag_k(f->vx, "resumes", "Which nurse?", 2, &err);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "mode")), "extractive");
    assert_non_null(strstr(json_string_value(json_object_get(r, "note")), "fake LLM: garbage answer"));
    json_decref(r);
    assert_null(rag_k(f->vx, "resumes", "", 2, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_null(rag_k(f->vx, "nope", "Which nurse?", 2, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    vfix_free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prompt_template),
        cmocka_unit_test(test_citations_check),
        cmocka_unit_test(test_extractive_answer),
        cmocka_unit_test(test_rag_flow_extractive_and_llm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
