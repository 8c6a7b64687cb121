/* The fact grammar (see grammar.h). A sentence becomes words; the leftmost
 * predicate pattern found (the longest where several start at one word)
 * cuts it into a subject side and an object side; each side splits into
 * a list at commas, "and" and "or". Patterns whose agent comes first
 * ("Linus Torvalds created Linux") swap the sides, so the fact reads as
 * its passive: (linux, created by, linus torvalds). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/extractor/grammar.h"

#define MAX_WORDS 128
#define MAX_PARTS 16

typedef struct pattern {
    const char *words; /* space-separated, lowercase; "BE" is any form of to be */
    const char *predicate;
    int swap;    /* the agent is first: subject and object change places */
    int negated; /* the pattern itself says not */
    int copula;  /* "is": "is a" when an article follows */
} pattern;

/* Negated forms are patterns of their own so the longest match finds them. */
static const pattern patterns[] = {
    {"BE created by", "created by", 0, 0, 0},     {"BE not created by", "created by", 0, 1, 0},
    {"BE developed by", "developed by", 0, 0, 0}, {"BE not developed by", "developed by", 0, 1, 0},
    {"BE written by", "written by", 0, 0, 0},     {"BE not written by", "written by", 0, 1, 0},
    {"BE invented by", "invented by", 0, 0, 0},   {"BE not invented by", "invented by", 0, 1, 0},
    {"BE founded by", "founded by", 0, 0, 0},     {"BE not founded by", "founded by", 0, 1, 0},
    {"BE designed by", "designed by", 0, 0, 0},   {"BE not designed by", "designed by", 0, 1, 0},
    {"BE owned by", "owned by", 0, 0, 0},         {"BE not owned by", "owned by", 0, 1, 0},
    {"BE written in", "written in", 0, 0, 0},     {"BE not written in", "written in", 0, 1, 0},
    {"BE located in", "located in", 0, 0, 0},     {"BE not located in", "located in", 0, 1, 0},
    {"BE in", "located in", 0, 0, 0},             {"BE not in", "located in", 0, 1, 0},
    /* synonyms read as the predicate they mean, so a claim in other words
     * meets the fact */
    {"BE based in", "located in", 0, 0, 0},       {"BE not based in", "located in", 0, 1, 0},
    {"BE headquartered in", "located in", 0, 0, 0}, {"BE not headquartered in", "located in", 0, 1, 0},
    {"BE situated in", "located in", 0, 0, 0},    {"BE authored by", "written by", 0, 0, 0},
    {"BE not authored by", "written by", 0, 1, 0}, {"BE made by", "created by", 0, 0, 0},
    {"BE not made by", "created by", 0, 1, 0},    {"BE launched in", "released in", 0, 0, 0},
    {"BE first released in", "released in", 0, 0, 0}, {"BE established in", "founded in", 0, 0, 0},
    {"BE born in", "born in", 0, 0, 0},           {"BE not born in", "born in", 0, 1, 0},
    {"BE released in", "released in", 0, 0, 0},   {"BE not released in", "released in", 0, 1, 0},
    {"BE founded in", "founded in", 0, 0, 0},     {"BE not founded in", "founded in", 0, 1, 0},
    {"BE made of", "made of", 0, 0, 0},           {"BE not made of", "made of", 0, 1, 0},
    {"runs on", "runs on", 0, 0, 0},              {"run on", "runs on", 0, 0, 0},
    {"ran on", "runs on", 0, 0, 0},               {"DO not run on", "runs on", 0, 1, 0},
    {"depends on", "depends on", 0, 0, 0},        {"depend on", "depends on", 0, 0, 0},
    {"depended on", "depends on", 0, 0, 0},       {"DO not depend on", "depends on", 0, 1, 0},
    {"uses", "uses", 0, 0, 0},                    {"use", "uses", 0, 0, 0},
    {"used", "uses", 0, 0, 0},                    {"DO not use", "uses", 0, 1, 0},
    {"never used", "uses", 0, 1, 0},              {"never uses", "uses", 0, 1, 0},
    {"supports", "supports", 0, 0, 0},            {"support", "supports", 0, 0, 0},
    {"supported", "supports", 0, 0, 0},           {"DO not support", "supports", 0, 1, 0},
    {"requires", "requires", 0, 0, 0},            {"require", "requires", 0, 0, 0},
    {"required", "requires", 0, 0, 0},            {"needs", "requires", 0, 0, 0},
    {"need", "requires", 0, 0, 0},                {"needed", "requires", 0, 0, 0},
    {"DO not require", "requires", 0, 1, 0},      {"DO not need", "requires", 0, 1, 0},
    {"contains", "contains", 0, 0, 0},            {"contain", "contains", 0, 0, 0},
    {"contained", "contains", 0, 0, 0},           {"DO not contain", "contains", 0, 1, 0},
    {"has", "has", 0, 0, 0},                      {"have", "has", 0, 0, 0},
    {"had", "has", 0, 0, 0},                      {"DO not have", "has", 0, 1, 0},
    {"created", "created by", 1, 0, 0},           {"developed", "developed by", 1, 0, 0},
    {"wrote", "written by", 1, 0, 0},             {"invented", "invented by", 1, 0, 0},
    {"founded", "founded by", 1, 0, 0},           {"designed", "designed by", 1, 0, 0},
    {"owns", "owned by", 1, 0, 0},                {"own", "owned by", 1, 0, 0},
    {"owned", "owned by", 1, 0, 0},               {"DO not own", "owned by", 1, 1, 0},
    {"DO not create", "created by", 1, 1, 0},     {"DO not develop", "developed by", 1, 1, 0},
    {"DO not write", "written by", 1, 1, 0},      {"DO not invent", "invented by", 1, 1, 0},
    {"DO not found", "founded by", 1, 1, 0},      {"DO not design", "designed by", 1, 1, 0},
    {"never created", "created by", 1, 1, 0},     {"never wrote", "written by", 1, 1, 0},
    {"BE not", "is", 0, 1, 1},                    {"BE", "is", 0, 0, 1},
};

static const char *const be_forms[] = {"is", "are", "was", "were", "has been", "have been", "had been", NULL};
static const char *const do_forms[] = {"does", "do", "did", NULL};
static const char *const pronouns[] = {"it", "he", "she", "they", "this", "that", "these", "those", "we", "you",
                                       "i", "there", "here", "one", NULL};
static const char *const hedges[] = {"think", "maybe", "might", "probably", "perhaps", "guess", "seems", "seem",
                                     "possibly", "could", "may", "suppose", "believe", "apparently", "likely",
                                     "unlikely", "should", "would", "if", "rumored", "reportedly", NULL};
static const char *const question_words[] = {"who", "what", "when", "where", "why", "how", "which", "whom", "whose",
                                             NULL};
static const char *const imperatives[] = {"please", "let", "let's", NULL};
/* a state of a moment, not a fact: "the weather was lovely yesterday" */
static const char *const moments[] = {"yesterday", "today", "tonight", "tomorrow", "now", "recently", "again",
                                      "currently", "lately", NULL};

typedef struct sentence {
    char *word[MAX_WORDS];  /* as written */
    char *lower[MAX_WORDS]; /* lowercase, n't split off as "not" */
    int comma_after[MAX_WORDS];
    int n;
} sentence;

static int in_list(const char *w, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(w, *list))
            return 1;
    return 0;
}

static char *lower_dup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++)
        d[i] = (char)tolower((unsigned char)s[i]);
    d[n] = '\0';
    return d;
}

static void sentence_free(sentence *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->word[i]);
        free(s->lower[i]);
    }
    s->n = 0;
}

/* Appends a word; "doesn't" becomes "does" + "not", "isn't" "is" + "not"
 * ("can't" and "won't" are no statement's). */
static int add_word(sentence *s, const char *w, size_t n, int comma)
{
    const char *apos = NULL;
    if (n > 3 && !strncmp(w + n - 3, "n't", 3))
        apos = w + n - 3;
    else if (n > 5 && !strncmp(w + n - 5, "n\xe2\x80\x99t", 5))
        apos = w + n - 5;
    size_t stem = apos ? (size_t)(apos - w) : n;
    if (s->n + (apos ? 2 : 1) > MAX_WORDS)
        return 0; /* a sentence this long keeps its first words */
    s->word[s->n] = lower_dup(w, stem);
    s->lower[s->n] = lower_dup(w, stem);
    if (!s->word[s->n] || !s->lower[s->n]) {
        free(s->word[s->n]);
        free(s->lower[s->n]);
        return -1;
    }
    memcpy(s->word[s->n], w, stem); /* the written case */
    s->comma_after[s->n] = apos ? 0 : comma;
    s->n++;
    if (apos) {
        s->word[s->n] = lower_dup("not", 3);
        s->lower[s->n] = lower_dup("not", 3);
        if (!s->word[s->n] || !s->lower[s->n]) {
            free(s->word[s->n]);
            free(s->lower[s->n]);
            return -1;
        }
        s->comma_after[s->n] = comma;
        s->n++;
    }
    return 0;
}

/* Words of one sentence, text[0, len): whitespace separates them; a comma
 * or semicolon ends one; quotes and the sentence's final . ! ? go (a dot
 * inside it is an abbreviation's: "St. Louis"). */
static int split_words(const char *t, size_t len, sentence *s)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && isspace((unsigned char)t[i]))
            i++;
        size_t start = i;
        while (i < len && !isspace((unsigned char)t[i]))
            i++;
        size_t end = i;
        int comma = 0;
        while (end > start && strchr(",;:.!?\"", t[end - 1])) {
            if (t[end - 1] == '.' && i < len)
                break;
            if (t[end - 1] == ',' || t[end - 1] == ';')
                comma = 1;
            end--;
        }
        while (end > start && t[start] == '"')
            start++;
        if (end > start && add_word(s, t + start, end - start, comma))
            return -1;
    }
    return 0;
}

/* Does the pattern match at word i? Its length in words, else 0. */
static int match(const sentence *s, int i, const char *words)
{
    int k = i;
    const char *p = words;
    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t n = sp ? (size_t)(sp - p) : strlen(p);
        if ((n == 2 && !strncmp(p, "BE", 2)) || (n == 2 && !strncmp(p, "DO", 2))) {
            const char *const *forms = p[0] == 'B' ? be_forms : do_forms;
            int got = 0;
            for (const char *const *f = forms; *f && !got; f++) {
                if (strchr(*f, ' ')) { /* "has been": two words */
                    size_t a = (size_t)(strchr(*f, ' ') - *f);
                    if (k + 1 < s->n && strlen(s->lower[k]) == a && !strncmp(s->lower[k], *f, a) &&
                        !strcmp(s->lower[k + 1], *f + a + 1))
                        got = 2;
                } else if (k < s->n && !strcmp(s->lower[k], *f))
                    got = 1;
            }
            if (!got)
                return 0;
            k += got;
        } else {
            if (k >= s->n || strlen(s->lower[k]) != n || strncmp(s->lower[k], p, n))
                return 0;
            k++;
        }
        p += n;
        while (*p == ' ')
            p++;
    }
    return k - i;
}

/* Words [a, b) as one string, as written; NULL when out of memory. */
static char *join(const sentence *s, int a, int b)
{
    size_t n = 0;
    for (int i = a; i < b; i++)
        n += strlen(s->word[i]) + 1;
    char *out = malloc(n + 1), *w = out;
    if (!out)
        return NULL;
    for (int i = a; i < b; i++) {
        size_t l = strlen(s->word[i]);
        if (i > a)
            *w++ = ' ';
        memcpy(w, s->word[i], l);
        w += l;
    }
    *w = '\0';
    return out;
}

/* The parts of a list in words [a, b): cut at commas, "and", "or". */
static int list_parts(const sentence *s, int a, int b, int start[], int end[])
{
    int n = 0, from = a;
    for (int i = a; i < b && n < MAX_PARTS - 1; i++) {
        int conj = !strcmp(s->lower[i], "and") || !strcmp(s->lower[i], "or") || !strcmp(s->lower[i], "&");
        if (conj || s->comma_after[i]) {
            int to = conj ? i : i + 1;
            if (to > from) {
                start[n] = from;
                end[n++] = to;
            }
            from = i + 1;
        }
    }
    if (b > from) {
        start[n] = from;
        end[n++] = b;
    }
    return n;
}

static int is_pronoun_side(const sentence *s, int a, int b)
{
    return b - a == 1 && in_list(s->lower[a], pronouns);
}

/* Drops word i. */
static void drop_word(sentence *s, int i)
{
    free(s->word[i]);
    free(s->lower[i]);
    memmove(s->word + i, s->word + i + 1, sizeof *s->word * (size_t)(s->n - i - 1));
    memmove(s->lower + i, s->lower + i + 1, sizeof *s->lower * (size_t)(s->n - i - 1));
    memmove(s->comma_after + i, s->comma_after + i + 1, sizeof *s->comma_after * (size_t)(s->n - i - 1));
    s->n--;
}

static const char *const participles[] = {"used", "supported", "required", "needed", "contained", "run", "ran",
                                          "depended", "had", "owned", NULL};
static const char *const prepositions[] = {"in", "by", "at", "on", "to", "for", "with", "from", "into", NULL};

/* "never" negates what it stands before: it goes, and says not; "has"
 * before a participle ("has used") is a tense, not possession. */
static int plain_verbs(sentence *s)
{
    int negated = 0;
    for (int i = 1; i < s->n; i++)
        if (!strcmp(s->lower[i], "never")) {
            drop_word(s, i--);
            negated = 1;
        }
    for (int i = 1; i + 1 < s->n; i++)
        if ((!strcmp(s->lower[i], "has") || !strcmp(s->lower[i], "have") || !strcmp(s->lower[i], "had")) &&
            in_list(s->lower[i + 1], participles))
            drop_word(s, i--);
    return negated;
}

/* Words that hand the listener a statement to keep: "Remember this:
 * Zorblax was invented by Quentin Marsh." teaches what follows them.
 * Longest first, so "remember that" goes whole. */
static const char *const lead_ins[] = {"please remember that", "please remember this", "please note that",
                                       "please remember", "keep in mind that", "bear in mind that",
                                       "just so you know", "for the record", "remember this", "remember that",
                                       "note that", "learn this", "fyi", "remember", NULL};

static void drop_lead_in(sentence *s)
{
    for (const char *const *l = lead_ins; *l; l++) {
        int m = match(s, 0, *l);
        if (m && m < s->n) {
            while (m-- > 0)
                drop_word(s, 0);
            return;
        }
    }
}

/* One statement's facts, from bytes [start, end) of the text. */
static int sentence_facts(sentence *s, size_t start, size_t end, grammar_fact_fn emit, void *user)
{
    drop_lead_in(s);
    if (s->n >= 1 && !strcmp(s->lower[0], "never"))
        return 0; /* "Never use eval": an order */
    int never = plain_verbs(s);
    if (s->n < 2 || in_list(s->lower[0], question_words) || in_list(s->lower[0], imperatives))
        return 0;
    for (int i = 0; i < s->n; i++)
        if (in_list(s->lower[i], hedges) || in_list(s->lower[i], moments))
            return 0;
    /* the leftmost pattern, the longest at that word */
    int at = -1, len = 0;
    const pattern *best = NULL;
    for (int i = 1; i < s->n && !best; i++)
        for (size_t p = 0; p < sizeof patterns / sizeof *patterns; p++) {
            int m = match(s, i, patterns[p].words);
            if (m > len) {
                len = m;
                at = i;
                best = &patterns[p];
            }
        }
    if (!best || at + len >= s->n)
        return 0;
    int subj_a = 0, subj_b = at, obj_a = at + len, obj_b = s->n;
    const char *predicate = best->predicate;
    if (best->copula && (!strcmp(s->lower[obj_a], "a") || !strcmp(s->lower[obj_a], "an"))) {
        predicate = "is a";
        obj_a++;
    } else if (best->copula && (!strcmp(s->lower[at], "are") || !strcmp(s->lower[at], "were")) &&
               strcmp(s->lower[obj_a], "the")) {
        /* "cats are mammals": a class when the object is a plural noun */
        const char *last = s->lower[obj_b - 1];
        size_t n = strlen(last);
        if (n > 2 && last[n - 1] == 's' && last[n - 2] != 's')
            predicate = "is a";
    }
    if (obj_a >= obj_b || is_pronoun_side(s, subj_a, subj_b))
        return 0;
    /* "was signed in 1919": the passive of a verb the grammar does not know */
    if (best->copula && obj_a + 1 < obj_b) {
        const char *w = s->lower[obj_a];
        size_t n = strlen(w);
        if (n > 3 && !strcmp(w + n - 2, "ed") && in_list(s->lower[obj_a + 1], prepositions))
            return 0;
    }
    /* "The Beatles were ..." keeps its article in the entity until the host normalises it */
    int sa[MAX_PARTS], sb[MAX_PARTS], oa[MAX_PARTS], ob[MAX_PARTS];
    int ns = list_parts(s, subj_a, subj_b, sa, sb), no = list_parts(s, obj_a, obj_b, oa, ob);
    for (int i = 0; i < ns; i++)
        for (int j = 0; j < no; j++) {
            if (is_pronoun_side(s, sa[i], sb[i]))
                continue;
            grammar_fact f = {.predicate = predicate, .negated = best->negated || never, .start = start, .end = end};
            char *left = join(s, sa[i], sb[i]), *right = join(s, oa[j], ob[j]);
            if (!left || !right) {
                free(left);
                free(right);
                return -1;
            }
            f.subject = best->swap ? right : left;
            f.object = best->swap ? left : right;
            int stop = emit(user, &f);
            free(left);
            free(right);
            if (stop)
                return -1;
        }
    return 0;
}

/* A sentence ends at . ! ? followed by a space and a capital (or the end);
 * not after a short abbreviation such as "St." or "Dr.". */
static size_t sentence_end(const char *t, size_t i, size_t n, int *question)
{
    for (; i < n; i++) {
        char c = t[i];
        if (c != '.' && c != '!' && c != '?')
            continue;
        size_t j = i + 1;
        if (j < n && !isspace((unsigned char)t[j]))
            continue; /* node.js, 3.14 */
        while (j < n && isspace((unsigned char)t[j]))
            j++;
        if (j < n && !isupper((unsigned char)t[j]))
            continue;
        if (c == '.') {
            size_t w = i;
            while (w > 0 && !isspace((unsigned char)t[w - 1]))
                w--;
            if ((i - w <= 2 && isupper((unsigned char)t[w])) || memchr(t + w, '.', i - w))
                continue; /* St. Louis, Dr. Who, J.R.R. Tolkien */
        }
        *question = c == '?';
        return i + 1;
    }
    *question = n > 0 && t[n - 1] == '?';
    return n;
}

int grammar_extract(const char *text, grammar_fact_fn emit, void *user)
{
    size_t n = strlen(text), i = 0;
    while (i < n) {
        int question = 0;
        size_t end = sentence_end(text, i, n, &question);
        sentence s = {0};
        int rc = split_words(text + i, end - i, &s);
        if (!rc && !question)
            rc = sentence_facts(&s, i, end, emit, user);
        sentence_free(&s);
        if (rc)
            return -1;
        i = end;
    }
    return 0;
}
