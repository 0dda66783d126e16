/*
 * pii.c — table-driven PII detection. Each kind has name words (matched
 * against the snake/camel-case words of the column name), words that veto a
 * name match (email_opt_in, address_id, phone_count), the types its values
 * may have, and a value matcher for samples.
 */
#include "catalog/pii.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define VALUE_SHARE 0.6
#define MAX_WORDS 12

typedef int (*value_fn)(const char *v);

static int atoi_n(const char *p) {
    int v = 0;
    while (isdigit((unsigned char)*p)) v = v * 10 + (*p++ - '0');
    return v;
}

static int is_email(const char *v) {
    const char *at = strchr(v, '@');
    if (!at || at == v || strchr(at + 1, '@') || strchr(v, ' ')) return 0;
    const char *dot = strrchr(at + 1, '.');
    return dot && dot > at + 1 && strlen(dot + 1) >= 2;
}

static int is_phone(const char *v) {
    int digits = 0, other = 0;
    for (const char *p = v; *p; p++) {
        if (isdigit((unsigned char)*p)) digits++;
        else if (!strchr(" +-().x", *p)) other++;
    }
    if (other || digits < 10 || digits > 15) return 0;
    /* a bare 10+ digit number is an id, not a phone, unless formatted */
    return strpbrk(v, " -().+") != NULL;
}

static int is_ssn(const char *v) {
    if (strlen(v) != 11 || v[3] != '-' || v[6] != '-') return 0;
    for (int i = 0; i < 11; i++)
        if (i != 3 && i != 6 && !isdigit((unsigned char)v[i])) return 0;
    int area = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
    int group = (v[4] - '0') * 10 + (v[5] - '0');
    int serial = atoi_n(v + 7);
    return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

static const char *const street_words[] = {"st", "street", "ave", "avenue", "rd", "road", "blvd", "boulevard",
                                           "ln", "lane", "dr", "drive", "ct", "court", "way", "pl", "place",
                                           "pkwy", "parkway", "hwy", "highway", "ter", "terrace", "cir", "circle"};

static int is_street(const char *v) {
    const char *p = v;
    if (!isdigit((unsigned char)*p)) return 0;
    while (isdigit((unsigned char)*p)) p++;
    if (*p != ' ') return 0;
    char word[32];
    int words = 0;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '.') p++;
        size_t n = 0;
        while (*p && *p != ' ' && *p != ',' && *p != '.' && n < sizeof word - 1) word[n++] = *p++;
        word[n] = '\0';
        if (!n) break;
        words++;
        for (size_t i = 0; i < sizeof street_words / sizeof street_words[0]; i++)
            if (!strcasecmp(word, street_words[i]) && words >= 2) return 1;
        while (*p && *p != ' ' && *p != ',' && *p != '.') p++;
    }
    return 0;
}

static const char *const medical_terms[] = {"diabetes", "hypertension", "asthma", "cancer", "depression",
                                            "anxiety", "pregnan", "hiv", "covid", "allerg", "diagnos",
                                            "surgery", "chronic", "disorder", "syndrome", "insulin"};

static int is_medical(const char *v) {
    /* ICD-10: letter, two digits, optional dot and 1-4 more */
    if (isupper((unsigned char)v[0]) && isdigit((unsigned char)v[1]) && isdigit((unsigned char)v[2]) &&
        (v[3] == '\0' || (v[3] == '.' && isalnum((unsigned char)v[4]))))
        return 1;
    for (size_t i = 0; i < sizeof medical_terms / sizeof medical_terms[0]; i++)
        if (strcasestr(v, medical_terms[i])) return 1;
    return 0;
}

typedef struct {
    lh_pii_kind kind;
    const char *name;
    const char *sensitivity;
    const char *const *words;      /* any one in the column name */
    const char *const *vetoes;     /* any one cancels a name match */
    int numeric_ok, text_ok;       /* which types a name match accepts */
    value_fn value;                /* NULL: names only */
    int value_alone;               /* values suffice without the name */
} pii_rule;

static const char *const w_email[] = {"email", "mail", "e_mail", NULL};
static const char *const v_email[] = {"opt", "optin", "opted", "sent", "count", "verified", "bounced", "flag", "id", "is", "has", NULL};
static const char *const w_phone[] = {"phone", "mobile", "cell", "tel", "telephone", "fax", "msisdn", NULL};
static const char *const v_phone[] = {"count", "type", "verified", "is", "has", "flag", "id", NULL};
static const char *const w_ssn[] = {"ssn", "social", "sin", "tin", "taxid", NULL};
static const char *const v_ssn[] = {"media", "count", "is", "has", NULL};
static const char *const w_salary[] = {"salary", "wage", "wages", "compensation", "comp", "bonus", "income", "pay", "payrate", NULL};
static const char *const v_salary[] = {"date", "day", "period", "frequency", "type", "id", "grade", "band", "currency", "method", "status", NULL};
static const char *const w_address[] = {"address", "addr", "street", "zip", "zipcode", "postal", "postcode", NULL};
static const char *const v_address[] = {"id", "ip", "mac", "count", "type", "is", "has", "verified", "email", "web", "url", NULL};
static const char *const w_medical[] = {"medical", "diagnosis", "icd", "health", "medication", "prescription", "allergy", "allergies", "disability", "patient", "condition", "treatment", NULL};
static const char *const v_medical[] = {"id", "count", "is", "has", "insurance_plan", NULL};

static const pii_rule rules[] = {
    {LH_PII_EMAIL, "email", "confidential", w_email, v_email, 0, 1, is_email, 1},
    {LH_PII_PHONE, "phone", "confidential", w_phone, v_phone, 0, 1, is_phone, 1},
    {LH_PII_SSN, "ssn", "restricted", w_ssn, v_ssn, 1, 1, is_ssn, 1},
    {LH_PII_SALARY, "salary", "confidential", w_salary, v_salary, 1, 0, NULL, 0},
    {LH_PII_ADDRESS, "address", "confidential", w_address, v_address, 0, 1, is_street, 1},
    {LH_PII_MEDICAL, "medical", "restricted", w_medical, v_medical, 0, 1, is_medical, 0},
};

/* Splits snake_case, kebab-case and camelCase into lowercase words. */
static size_t name_words(const char *name, char words[MAX_WORDS][32]) {
    size_t n = 0, len = 0;
    for (const char *p = name;; p++) {
        int boundary = !*p || *p == '_' || *p == '-' || *p == ' ' || *p == '.' ||
                       (len > 0 && isupper((unsigned char)*p) && islower((unsigned char)p[-1]));
        if (boundary && len > 0) {
            words[n][len] = '\0';
            if (++n == MAX_WORDS) return n;
            len = 0;
        }
        if (!*p) return n;
        if (*p == '_' || *p == '-' || *p == ' ' || *p == '.') continue;
        if (len < 31) words[n][len++] = (char)tolower((unsigned char)*p);
    }
}

/* w is in list, as written or as a plural of an entry ("medications"). */
static int in_list(const char *w, const char *const *list) {
    size_t wl = strlen(w);
    for (; *list; list++) {
        if (!strcmp(w, *list)) return 1;
        size_t el = strlen(*list);
        if (wl == el + 1 && w[el] == 's' && !strncmp(w, *list, el)) return 1;
    }
    return 0;
}

static int name_matches(const pii_rule *r, char words[MAX_WORDS][32], size_t n) {
    int hit = 0;
    for (size_t i = 0; i < n; i++) {
        if (in_list(words[i], r->vetoes)) return 0;
        if (in_list(words[i], r->words)) hit = 1;
    }
    /* "social security" spelled as two words */
    for (size_t i = 0; r->kind == LH_PII_SSN && i + 1 < n; i++)
        if (!strcmp(words[i], "social") && !strcmp(words[i + 1], "security")) hit = 1;
    /* "pay" alone is too broad unless paired with rate/amount/annual */
    if (hit && r->kind == LH_PII_SALARY) {
        int only_pay = 1;
        for (size_t i = 0; i < n; i++)
            if (in_list(words[i], r->words) && strcmp(words[i], "pay") != 0) only_pay = 0;
        if (only_pay) {
            hit = 0;
            for (size_t i = 0; i < n; i++)
                if (!strcmp(words[i], "rate") || !strcmp(words[i], "amount") || !strcmp(words[i], "annual")) hit = 1;
        }
    }
    return hit;
}

static int type_is_numeric(const char *t) {
    static const char *const num[] = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                                      "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "REAL"};
    if (!t) return 1;
    for (size_t i = 0; i < sizeof num / sizeof num[0]; i++)
        if (!strcasecmp(t, num[i])) return 1;
    return !strncasecmp(t, "DECIMAL", 7) || !strncasecmp(t, "NUMERIC", 7);
}

static int type_is_text(const char *t) { return !t || !strcasecmp(t, "VARCHAR") || !strcasecmp(t, "TEXT"); }

static double value_share(value_fn fn, const char *const *samples, size_t n) {
    size_t seen = 0, hits = 0;
    for (size_t i = 0; i < n; i++) {
        if (!samples[i] || !*samples[i]) continue;
        seen++;
        hits += fn(samples[i]) != 0;
    }
    return seen ? (double)hits / (double)seen : 0.0;
}

unsigned pii_detect_column(const char *column_name, const char *type, const char *const *samples,
                           size_t nsamples) {
    char words[MAX_WORDS][32];
    size_t n = name_words(column_name ? column_name : "", words);
    int numeric = type_is_numeric(type), text = type_is_text(type);
    unsigned mask = 0;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const pii_rule *r = &rules[i];
        int by_name = name_matches(r, words, n) && ((r->numeric_ok && numeric) || (r->text_ok && text));
        int have_values = r->value && text && nsamples > 0;
        double share = have_values ? value_share(r->value, samples, nsamples) : 0.0;
        if (by_name && have_values && r->kind != LH_PII_SALARY && share == 0.0 && r->value_alone)
            by_name = 0; /* the name says email but no value looks like one */
        if (by_name || (r->value_alone && share >= VALUE_SHARE) ||
            (r->kind == LH_PII_MEDICAL && share >= VALUE_SHARE && n > 0))
            mask |= r->kind;
    }
    return mask;
}

const char *pii_kind_name(lh_pii_kind k) {
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].kind == k) return rules[i].name;
    return "unknown";
}

size_t pii_mask_names(unsigned mask, const char **out, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0] && n < max; i++)
        if (mask & rules[i].kind) out[n++] = rules[i].name;
    return n;
}

const char *pii_mask_sensitivity(unsigned mask) {
    const char *level = "public";
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (!(mask & rules[i].kind)) continue;
        level = rules[i].sensitivity;
        if (!strcmp(level, "restricted")) return level;
    }
    return level;
}

int pii_kind_parse(const char *name, lh_pii_kind *out) {
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (name && !strcmp(name, rules[i].name)) {
            *out = rules[i].kind;
            return 0;
        }
    return -1;
}
