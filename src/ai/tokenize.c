/*
 * tokenize.c — the one word tokenizer of the builtin text model, shared by
 * the builtin embedder (builtin.c), the BM25 keyword index and RAG's
 * extractive answers (see builtin.h for the contract).
 *
 * UTF-8 is decoded code point by code point. A word is a maximal run of
 * ASCII letters/digits and non-ASCII code points that are not punctuation
 * or spaces (Latin-1 punctuation, General Punctuation, CJK symbols and
 * punctuation, fullwidth ASCII punctuation, no-break and ideographic
 * spaces). Words are lowercased with simple one-to-one case mappings for
 * ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic; every other code
 * point is kept as it is. Malformed UTF-8 bytes count as word characters
 * and are kept verbatim, so any input tokenizes without error. A word is
 * cut at LH_TOK_MAX bytes (on a code point boundary).
 */
#include <string.h>

#include "ai/builtin.h"

/* ---- UTF-8 ---------------------------------------------------------------------------- */

/* Decodes one code point at s[0..n); *len gets its byte length (1 for a
 * malformed byte, whose value is returned as 0x80000000 | byte). */
static uint32_t utf8_decode(const unsigned char *s, size_t n, size_t *len) {
    unsigned c = s[0];
    size_t need = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;
    if (need == 0) {
        *len = 1;
        return c;
    }
    if (need == 9 || need >= n) goto bad;
    uint32_t cp = c & (0x3f >> need);
    for (size_t i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80) goto bad;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    static const uint32_t min_of[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_of[need] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) goto bad;
    *len = need + 1;
    return cp;
bad:
    *len = 1;
    return 0x80000000u | c;
}

static size_t utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* ---- classes and case ----------------------------------------------------------------- */

static int cp_is_word(uint32_t cp) {
    if (cp & 0x80000000u) return 1; /* a malformed byte: kept inside words */
    if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
    if (cp <= 0xbf) return cp == 0xaa || cp == 0xb5 || cp == 0xba || (cp >= 0xb2 && cp <= 0xb3) || cp == 0xb9;
    if (cp == 0xd7 || cp == 0xf7) return 0;                  /* × ÷ */
    if (cp >= 0x2000 && cp <= 0x206f) return 0;              /* General Punctuation, spaces */
    if (cp >= 0x20a0 && cp <= 0x20cf) return 0;              /* currency signs */
    if (cp >= 0x2190 && cp <= 0x23ff) return 0;              /* arrows, math operators */
    if (cp >= 0x2500 && cp <= 0x27bf) return 0;              /* boxes, shapes, dingbats */
    if (cp >= 0x3000 && cp <= 0x303f) return 0;              /* CJK symbols and punctuation */
    if (cp >= 0xfe30 && cp <= 0xfe4f) return 0;              /* CJK compatibility forms */
    if (cp >= 0xff01 && cp <= 0xff0f) return 0;              /* fullwidth ASCII punctuation */
    if (cp >= 0xff1a && cp <= 0xff20) return 0;
    if (cp >= 0xff3b && cp <= 0xff40) return 0;
    if (cp >= 0xff5b && cp <= 0xff65) return 0;
    if (cp == 0xfeff) return 0;                              /* BOM / zero-width no-break space */
    return 1;
}

static uint32_t cp_lower(uint32_t cp) {
    if (cp & 0x80000000u) return cp;
    if (cp >= 'A' && cp <= 'Z') return cp + 32;
    if (cp < 0xc0) return cp;
    if (cp <= 0xde) return cp == 0xd7 ? cp : cp + 32;        /* Latin-1 À..Þ */
    if (cp >= 0x100 && cp <= 0x17f) {                         /* Latin Extended-A */
        if (cp == 0x130) return 'i';
        if (cp == 0x178) return 0xff;
        if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e)) return (cp & 1) ? cp + 1 : cp;
        if (cp == 0x138 || cp == 0x149 || cp == 0x17f) return cp;
        return (cp & 1) ? cp : cp + 1;
    }
    if (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2) return cp + 32; /* Greek */
    if (cp >= 0x410 && cp <= 0x42f) return cp + 32;           /* Cyrillic А..Я */
    if (cp >= 0x400 && cp <= 0x40f) return cp + 80;           /* Ѐ..Џ */
    return cp;
}

/* ---- the iterator ---------------------------------------------------------------------- */

void tok_init(lh_tok *t, const char *text, size_t len) {
    t->s = text;
    t->len = len;
    t->pos = 0;
    t->start = 0;
}

size_t tok_next(lh_tok *t) {
    const unsigned char *s = (const unsigned char *)t->s;
    size_t cl;
    while (t->pos < t->len && !cp_is_word(utf8_decode(s + t->pos, t->len - t->pos, &cl))) t->pos += cl;
    if (t->pos >= t->len) return 0;
    t->start = t->pos;
    size_t n = 0;
    while (t->pos < t->len) {
        uint32_t cp = utf8_decode(s + t->pos, t->len - t->pos, &cl);
        if (!cp_is_word(cp)) break;
        t->pos += cl;
        char enc[4];
        size_t el;
        if (cp & 0x80000000u) {
            enc[0] = (char)(cp & 0xff);
            el = 1;
        } else {
            el = utf8_encode(cp_lower(cp), enc);
        }
        if (n + el <= LH_TOK_MAX) { /* longer words are cut on a code point boundary */
            memcpy(t->word + n, enc, el);
            n += el;
        } else {
            n = n < LH_TOK_MAX ? n : LH_TOK_MAX;
            t->word[n] = 0;
            while (t->pos < t->len && cp_is_word(utf8_decode(s + t->pos, t->len - t->pos, &cl))) t->pos += cl;
            break;
        }
    }
    t->word[n] = 0;
    return n;
}

/* ---- stop words ---------------------------------------------------------------------------- */

static const char *const STOP_EN[] = {
    "a", "about", "all", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can",
    "did", "do", "does", "for", "from", "had", "has", "have", "he", "her", "his", "how", "i", "if",
    "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our", "she", "so",
    "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "was",
    "we", "were", "what", "when", "where", "which", "who", "whom", "why", "will", "with", "you",
    "your", NULL};
static const char *const STOP_DE[] = {
    "aber", "als", "am", "an", "auch", "auf", "aus", "bei", "bin", "bis", "das", "dass", "dem", "den",
    "der", "des", "die", "du", "ein", "eine", "einem", "einen", "einer", "er", "es", "für", "hat",
    "ich", "im", "in", "ist", "mit", "nach", "nicht", "noch", "oder", "sich", "sie", "sind", "so",
    "und", "von", "vor", "war", "was", "wie", "wir", "zu", "zum", "zur", NULL};
static const char *const STOP_FR[] = {
    "à", "au", "aux", "avec", "ce", "ces", "dans", "de", "des", "du", "elle", "en", "est", "et",
    "il", "ils", "je", "la", "le", "les", "leur", "mais", "ne", "nous", "on", "ou", "où", "par",
    "pas", "pour", "qui", "que", "sa", "se", "ses", "son", "sur", "un", "une", "vous", NULL};
static const char *const STOP_ES[] = {
    "a", "al", "como", "con", "de", "del", "el", "en", "es", "esta", "este", "la", "las", "lo",
    "los", "más", "no", "o", "para", "pero", "por", "que", "se", "sin", "su", "sus", "un", "una",
    "y", "ya", NULL};

static const struct {
    const char *lang;
    const char *const *words;
} STOP_LISTS[] = {{"en", STOP_EN}, {"de", STOP_DE}, {"fr", STOP_FR}, {"es", STOP_ES}, {"none", NULL}};

int tok_language_known(const char *lang) {
    for (size_t i = 0; i < sizeof STOP_LISTS / sizeof STOP_LISTS[0]; i++)
        if (!strcmp(STOP_LISTS[i].lang, lang)) return 1;
    return 0;
}

const char *const *tok_stopwords(const char *lang) {
    for (size_t i = 0; lang && i < sizeof STOP_LISTS / sizeof STOP_LISTS[0]; i++)
        if (!strcmp(STOP_LISTS[i].lang, lang)) return STOP_LISTS[i].words;
    return NULL;
}

int tok_is_stopword(const char *const *list, const char *word) {
    for (size_t i = 0; list && list[i]; i++)
        if (!strcmp(list[i], word)) return 1;
    return 0;
}
