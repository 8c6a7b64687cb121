/* The spawner plugin (kind spawner, ABI 1.5): proposes specialists for the
 * topics of the queries no specialist served well. Each query is cut into
 * word stems (the router's stemmer, words.c) without stop words; the stem
 * most queries share, if at least MIN_QUERIES do, seeds a group of those
 * queries, whose frequent stems become the proposal's capabilities. The
 * group's queries are set aside and the next group is sought, up to
 * MAX_PROPOSALS per call. Stateless between calls and deterministic: every
 * tie goes to the stem seen first. Links libc alone.
 *
 * A proposal's capabilities c1..ck (k <= 6) are the seed, then the stems
 * in at least 40% of the group's queries, most first, each shown as the
 * word (ASCII lowercased) that gave the stem in most queries ("pods" for
 * "pod"). With L their list ("c1", "c1 and c2", "c1, c2 and c3"):
 *   name           c1 reduced to [a-z0-9_-] (Latin-1 letters unaccented),
 *                  at most 32 bytes; "topic-XXXXXXXX" (FNV-1a of c1) when
 *                  nothing is left; "-2", "-3" appended if a name repeats
 *                  within one call
 *   description    "Questions about L"
 *   system_prompt  "You are a specialist in L. Answer questions in this
 *                  area precisely and concisely; say so when you are not
 *                  sure."
 *   reason         "G of the N queries no specialist served well are about
 *                  c1 (e.g. \"EXAMPLE\")", N the non-empty queries given,
 *                  EXAMPLE the group's query naming most capabilities (the
 *                  shortest, then the first, on a tie), on one line, '"'
 *                  as '\'', at most 80 bytes (then "...").
 * Every string is valid UTF-8: words with malformed bytes are dropped and
 * the example skips them. The strings live during the emit call only; a
 * nonzero from emit ends the call, which still returns 0. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synapse/plugin.h>

#include "plugins/router/words.h"

#define MIN_QUERIES 5       /* queries a stem must be in to seed a group */
#define MAX_PROPOSALS 4     /* per call */
#define MAX_CAPABILITIES 6  /* per proposal, the seed's included */
#define CAP_SHARE_PCT 40    /* a capability is in at least this % of its group */
#define QUERY_SCAN_MAX 4096 /* bytes of a query read for words */
#define EXAMPLE_MAX 80      /* bytes of the example quoted in a reason */
#define NAME_MAX_BYTES 32   /* of a name, NUL excluded */
#define WORD_BYTES ROUTER_WORD_MAX

/* Words that say nothing of a topic: function words, question words,
 * auxiliaries, pronouns, politeness, request verbs, and the pieces
 * apostrophes leave ("don't" -> "don"). Matched against a word as written
 * (lowercased) and against its stem, which catches inflections
 * ("explaining" -> "explain"). Sorted at create(). */
static const char *const stop_list[] = {
    "about", "above", "actually", "after", "again", "against", "ain", "all", "also", "although", "always", "am",
    "among", "and", "another", "any", "anybody", "anyone", "anything", "anyway", "are", "aren", "around", "ask",
    "asking", "basically", "be", "because", "been", "before", "being", "below", "best", "better", "between",
    "both", "but", "can", "cannot", "could", "couldn", "define", "describe", "did", "didn", "difference", "do",
    "does", "doesn", "doing", "don", "done", "down", "during", "each", "either", "else", "etc", "even", "ever",
    "every", "everything", "exactly", "example", "explain", "few", "find", "first", "for", "from", "further",
    "get", "gets", "getting", "give", "given", "go", "goes", "going", "good", "got", "had", "hadn", "happen",
    "happens", "has", "hasn", "have", "haven", "having", "he", "hello", "help", "her", "here", "hers", "herself",
    "hey", "him", "himself", "his", "how", "however", "into", "is", "isn", "it", "its", "itself", "just", "kind",
    "know", "let", "like", "list", "look", "lot", "lots", "make", "makes", "making", "many", "may", "maybe", "me",
    "mean", "means", "might", "mine", "more", "most", "much", "must", "mustn", "my", "myself", "need", "needn",
    "needs", "never", "new", "next", "nor", "not", "nothing", "now", "off", "often", "okay", "once", "one", "ones",
    "only", "onto", "other", "others", "ought", "our", "ours", "ourselves", "out", "over", "own", "per", "please",
    "pls", "possible", "pretty", "quite", "rather", "really", "right", "same", "say", "second", "see", "seem",
    "shall", "she", "should", "shouldn", "show", "simple", "simply", "since", "some", "somebody", "someone",
    "something", "sometimes", "somewhere", "soon", "still", "such", "sure", "take", "tell", "than", "thank",
    "thanks", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "thing",
    "things", "think", "this", "those", "though", "three", "through", "thx", "too", "try", "trying", "two",
    "under", "understand", "until", "upon", "use", "used", "using", "very", "via", "want", "wants", "was", "wasn",
    "way", "ways", "we", "well", "were", "weren", "what", "whatever", "whats", "when", "where", "whether",
    "which", "while", "who", "whom", "whose", "why", "will", "with", "within", "without", "won", "work",
    "working", "works", "would", "wouldn", "write", "yes", "yet", "you", "your", "yours", "yourself",
    "yourselves",
};
#define N_STOP (sizeof stop_list / sizeof *stop_list)

typedef struct spawner {
    const syn_host_api *host; /* unused: the spawner needs nothing of it */
    const char *stop[N_STOP]; /* stop_list, sorted for bsearch */
} spawner;

static int fail(syn_error *err, int code, const char *msg)
{
    if (err) {
        err->code = code;
        snprintf(err->msg, sizeof err->msg, "spawner: %s", msg);
    }
    return -1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static void *spawner_create(const syn_host_api *host, syn_error *err)
{
    spawner *s = calloc(1, sizeof *s);
    if (!s) {
        fail(err, SYN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->host = host;
    memcpy(s->stop, stop_list, sizeof s->stop);
    qsort(s->stop, N_STOP, sizeof *s->stop, cmp_str);
    return s;
}

static void spawner_destroy(void *s) { free(s); }

static int is_stop(const spawner *s, const char *word)
{
    return bsearch(&word, s->stop, N_STOP, sizeof *s->stop, cmp_str) != NULL;
}

/* ------------------------------------------------------------------ UTF-8 */

/* Bytes of the well-formed UTF-8 character at p (before end), its code
 * point in *cp; 0 when malformed (overlong, surrogate, cut short). */
static size_t utf8_decode(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
    unsigned c = p[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, v = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, v = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, v = c & 0x07, min = 0x10000;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

/* Non-ASCII punctuation and spaces: words.c counts every byte >= 0x80 as a
 * letter, which would glue "don’t" or "«pods»" into one word. */
static int is_separator(uint32_t cp)
{
    return (cp >= 0xa0 && cp <= 0xbf) || cp == 0xd7 || cp == 0xf7 || (cp >= 0x2000 && cp <= 0x206f) ||
           (cp >= 0x3000 && cp <= 0x303f) || cp == 0xfeff;
}

static int is_alnum(unsigned c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

enum { CH_SEP, CH_WORD, CH_BAD };

/* What the character at p is, and its length in *len: a separator, a
 * letter or digit, or a malformed byte (part of a word, which it spoils). */
static int char_class(const unsigned char *p, const unsigned char *end, size_t *len)
{
    uint32_t cp;
    *len = 1;
    if (*p < 0x80)
        return is_alnum(*p) ? CH_WORD : CH_SEP;
    size_t n = utf8_decode(p, end, &cp);
    if (!n)
        return CH_BAD;
    *len = n;
    return is_separator(cp) ? CH_SEP : CH_WORD;
}

/* ------------------------------------------------------------------ terms */

/* A stem or a surface word (as written, ASCII lowercased), interned. */
typedef struct term {
    char s[WORD_BYTES];
    uint32_t hash;
    int32_t last_q; /* the last query counted, so each counts once */
    int32_t docs;   /* queries it appears in */
    int32_t link;   /* a surface: its stem; a stem: the surface shown for it */
} term;

typedef struct table {
    term *t;
    size_t n, cap;
    int32_t *slot; /* open addressing, -1 empty; n_slots a power of two */
    size_t n_slots;
} table;

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int table_grow(table *tb)
{
    size_t n_slots = tb->n_slots ? tb->n_slots * 2 : 256;
    int32_t *slot = malloc(n_slots * sizeof *slot);
    if (!slot)
        return -1;
    memset(slot, 0xff, n_slots * sizeof *slot);
    for (size_t i = 0; i < tb->n; i++) {
        size_t k = tb->t[i].hash & (n_slots - 1);
        while (slot[k] >= 0)
            k = (k + 1) & (n_slots - 1);
        slot[k] = (int32_t)i;
    }
    free(tb->slot);
    tb->slot = slot;
    tb->n_slots = n_slots;
    return 0;
}

/* The index of s in tb, added (fields zeroed, link -1) if new; -1 when out
 * of memory. Indexes follow first appearance, which breaks every tie. */
static int32_t table_intern(table *tb, const char *s)
{
    if ((tb->n + 1) * 2 > tb->n_slots && table_grow(tb))
        return -1;
    uint32_t h = fnv1a(s);
    size_t k = h & (tb->n_slots - 1);
    for (; tb->slot[k] >= 0; k = (k + 1) & (tb->n_slots - 1)) {
        const term *t = &tb->t[tb->slot[k]];
        if (t->hash == h && !strcmp(t->s, s))
            return tb->slot[k];
    }
    if (tb->n == tb->cap) {
        size_t cap = tb->cap ? tb->cap * 2 : 128;
        term *t = realloc(tb->t, cap * sizeof *t);
        if (!t)
            return -1;
        tb->t = t;
        tb->cap = cap;
    }
    term *t = &tb->t[tb->n];
    memset(t, 0, sizeof *t);
    strcpy(t->s, s);
    t->hash = h;
    t->last_q = -1;
    t->link = -1;
    tb->slot[k] = (int32_t)tb->n;
    return (int32_t)tb->n++;
}

static void table_free(table *tb)
{
    free(tb->t);
    free(tb->slot);
}

/* ------------------------------------------------------------------ batch */

/* One propose() call's queries as sets of stems: query q's stems are
 * ids[off[q] .. off[q + 1]), each once, in order of appearance. */
typedef struct batch {
    const spawner *sp;
    const char *const *text;
    int32_t n;      /* queries given */
    int32_t n_real; /* of them not NULL and not empty: the reason's total */
    table stems, surfaces;
    int32_t *ids;
    size_t n_ids, cap_ids;
    size_t *off;
} batch;

static int push_id(batch *b, int32_t id)
{
    if (b->n_ids == b->cap_ids) {
        size_t cap = b->cap_ids ? b->cap_ids * 2 : 1024;
        int32_t *ids = realloc(b->ids, cap * sizeof *ids);
        if (!ids)
            return -1;
        b->ids = ids;
        b->cap_ids = cap;
    }
    b->ids[b->n_ids++] = id;
    return 0;
}

static int all_digits(const char *s)
{
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Query q's word w (len bytes, well-formed UTF-8): lowercased and cut to a
 * stem's size at a character boundary; counted unless it says nothing of a
 * topic. -1 when out of memory. */
static int take_word(batch *b, int32_t q, const unsigned char *w, size_t len)
{
    char surface[WORD_BYTES], stem[WORD_BYTES];
    size_t n = 0, chars = 0;
    const unsigned char *end = w + len;
    uint32_t cp;
    for (const unsigned char *p = w; p < end;) {
        size_t l = utf8_decode(p, end, &cp);
        if (n + l >= WORD_BYTES)
            break;
        for (size_t i = 0; i < l; i++, p++)
            surface[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        chars++;
    }
    surface[n] = '\0';
    if (chars < 3 || all_digits(surface) || is_stop(b->sp, surface))
        return 0;
    memcpy(stem, surface, n + 1);
    router_stem(stem);
    if (all_digits(stem) || is_stop(b->sp, stem))
        return 0;

    int32_t st = table_intern(&b->stems, stem);
    if (st < 0)
        return -1;
    int32_t su = table_intern(&b->surfaces, surface);
    if (su < 0)
        return -1;
    term *sf = &b->surfaces.t[su];
    sf->link = st;
    if (sf->last_q != q) {
        sf->last_q = q;
        sf->docs++;
    }
    term *t = &b->stems.t[st];
    if (t->last_q == q)
        return 0;
    t->last_q = q;
    t->docs++;
    return push_id(b, st);
}

/* The words of query q's first QUERY_SCAN_MAX bytes. A word with a
 * malformed byte is dropped: no capability is garbage. */
static int scan_query(batch *b, int32_t q, const char *text)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + strnlen(text, QUERY_SCAN_MAX);
    size_t len;
    while (p < end) {
        if (char_class(p, end, &len) == CH_SEP) {
            p += len;
            continue;
        }
        const unsigned char *start = p;
        int bad = 0, c;
        while (p < end && (c = char_class(p, end, &len)) != CH_SEP) {
            bad |= c == CH_BAD;
            p += len;
        }
        if (!bad && take_word(b, q, start, (size_t)(p - start)))
            return -1;
    }
    return 0;
}

static int batch_build(batch *b)
{
    b->off = calloc((size_t)b->n + 1, sizeof *b->off);
    if (!b->off)
        return -1;
    for (int32_t q = 0; q < b->n; q++) {
        b->off[q] = b->n_ids;
        const char *text = b->text[q];
        if (!text || !*text)
            continue;
        b->n_real++;
        if (scan_query(b, q, text))
            return -1;
    }
    b->off[b->n] = b->n_ids;
    /* each stem shows as the word that gave it in most queries */
    for (size_t i = 0; i < b->surfaces.n; i++) {
        const term *sf = &b->surfaces.t[i];
        term *st = &b->stems.t[sf->link];
        if (st->link < 0 || sf->docs > b->surfaces.t[st->link].docs)
            st->link = (int32_t)i;
    }
    return 0;
}

static void batch_free(batch *b)
{
    table_free(&b->stems);
    table_free(&b->surfaces);
    free(b->ids);
    free(b->off);
}

static const char *shown(const batch *b, int32_t stem) { return b->surfaces.t[b->stems.t[stem].link].s; }

static int has_stem(const batch *b, int32_t q, int32_t stem)
{
    for (size_t i = b->off[q]; i < b->off[q + 1]; i++)
        if (b->ids[i] == stem)
            return 1;
    return 0;
}

/* The stem with the highest count[] at least min, the first seen on a
 * tie; -1 when none. */
static int32_t top_stem(const int32_t *count, size_t n, int32_t min)
{
    int32_t best = -1;
    for (size_t i = 0; i < n; i++)
        if (count[i] >= min && (best < 0 || count[i] > count[best]))
            best = (int32_t)i;
    return best;
}

/* ---------------------------------------------------------------- strings */

/* "a", "a and b", "a, b and c" */
static void join_list(char *out, size_t cap, const char *const *w, int32_t n)
{
    size_t at = 0;
    out[0] = '\0';
    for (int32_t i = 0; i < n && at < cap; i++) {
        const char *sep = i == 0 ? "" : i == n - 1 ? " and " : ", ";
        int k = snprintf(out + at, cap - at, "%s%s", sep, w[i]);
        if (k < 0)
            break;
        at += (size_t)k;
    }
}

/* Latin-1 letters (U+00C0..U+00FF) without their accents, for names;
 * '.' where there is none (the signs × and ÷). */
static const char latin1_plain[] = "aaaaaaaceeeeiiiidnooooo.ouuuuyts"
                                   "aaaaaaaceeeeiiiidnooooo.ouuuuyty";

/* The name of a proposal shown as word: [a-z0-9] of it, accents dropped,
 * other characters skipped; the word's hash when nothing is left; "-2",
 * "-3", ... when an earlier proposal of this call has it. */
static void make_name(char *out, const char *word, char (*taken)[NAME_MAX_BYTES + 1], int n_taken)
{
    const unsigned char *p = (const unsigned char *)word, *end = p + strlen(word);
    size_t n = 0;
    uint32_t cp;
    while (p < end && n < NAME_MAX_BYTES) {
        size_t l = utf8_decode(p, end, &cp);
        p += l ? l : 1;
        if (!l)
            continue;
        if (cp < 0x80 && is_alnum(cp))
            out[n++] = (char)cp; /* already lowercase */
        else if (l == 2 && cp >= 0xc0 && cp <= 0xff && latin1_plain[cp - 0xc0] != '.')
            out[n++] = latin1_plain[cp - 0xc0];
    }
    out[n] = '\0';
    if (!n)
        snprintf(out, NAME_MAX_BYTES + 1, "topic-%08x", (unsigned)fnv1a(word));
    char base[NAME_MAX_BYTES + 1];
    memcpy(base, out, NAME_MAX_BYTES + 1);
    for (int k = 2;; k++) {
        int clash = 0;
        for (int i = 0; i < n_taken && !clash; i++)
            clash = !strcmp(taken[i], out);
        if (!clash)
            return;
        char tail[16];
        int t = snprintf(tail, sizeof tail, "-%d", k);
        size_t keep = strlen(base);
        if (keep + (size_t)t > NAME_MAX_BYTES)
            keep = NAME_MAX_BYTES - (size_t)t;
        snprintf(out, NAME_MAX_BYTES + 1, "%.*s%s", (int)keep, base, tail);
    }
}

/* text on one line for a reason: whitespace and control runs as one space,
 * '"' as '\'', malformed bytes skipped, at most EXAMPLE_MAX bytes cut at a
 * character, then "...". out holds EXAMPLE_MAX + 4 bytes. */
static void quote_example(char *out, const char *text)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + strnlen(text, QUERY_SCAN_MAX);
    size_t n = 0;
    int space = 0, cut = 0;
    uint32_t cp;
    while (p < end) {
        size_t l = utf8_decode(p, end, &cp);
        if (!l) {
            p++;
            continue;
        }
        if (cp <= 0x20 || cp == 0x7f) {
            space = n > 0;
            p += l;
            continue;
        }
        if (n + (size_t)space + l > EXAMPLE_MAX) {
            cut = 1;
            break;
        }
        if (space)
            out[n++] = ' ';
        space = 0;
        if (cp == '"')
            out[n++] = '\'';
        else
            memcpy(out + n, p, l), n += l;
        p += l;
    }
    if (cut)
        memcpy(out + n, "...", 3), n += 3;
    out[n] = '\0';
}

/* ---------------------------------------------------------------- propose */

typedef struct proposer {
    batch *b;
    int32_t *df;         /* per stem: active queries holding it */
    int32_t *gdf;        /* per stem: the group's queries holding it */
    unsigned char *live; /* per query: not yet in a group */
    char taken[MAX_PROPOSALS][NAME_MAX_BYTES + 1];
    int n_taken;
} proposer;

/* The group's query that names most of its capabilities, the shortest on
 * a tie (it reads best in a reason), then the first. */
static int32_t pick_example(const proposer *pr, int32_t seed, const int32_t *caps, int32_t n_caps)
{
    const batch *b = pr->b;
    int32_t best = -1, best_hits = -1;
    size_t best_len = 0;
    for (int32_t q = 0; q < b->n; q++) {
        if (!pr->live[q] || !has_stem(b, q, seed))
            continue;
        int32_t hits = 0;
        for (int32_t c = 0; c < n_caps; c++)
            hits += has_stem(b, q, caps[c]);
        size_t len = strnlen(b->text[q], QUERY_SCAN_MAX);
        if (hits > best_hits || (hits == best_hits && len < best_len))
            best = q, best_hits = hits, best_len = len;
    }
    return best;
}

/* The capabilities of the group seeded by seed (size queries) into caps:
 * the seed, then the stems most of the group shares, each in at least
 * CAP_SHARE_PCT % of it. Returns how many. */
static int32_t choose_caps(proposer *pr, int32_t seed, int32_t size, int32_t *caps)
{
    batch *b = pr->b;
    size_t n_stems = b->stems.n;
    memset(pr->gdf, 0, n_stems * sizeof *pr->gdf);
    for (int32_t q = 0; q < b->n; q++)
        if (pr->live[q] && has_stem(b, q, seed))
            for (size_t i = b->off[q]; i < b->off[q + 1]; i++)
                pr->gdf[b->ids[i]]++;
    int32_t n_caps = 0;
    int32_t min = (int32_t)(((int64_t)size * CAP_SHARE_PCT + 99) / 100);
    for (int32_t c = seed; c >= 0 && n_caps < MAX_CAPABILITIES; c = top_stem(pr->gdf, n_stems, min)) {
        caps[n_caps++] = c;
        pr->gdf[c] = -1; /* taken */
    }
    return n_caps;
}

/* Emits the proposal of the group seeded by seed (size queries), its
 * strings in this frame. Returns emit's result. */
static int emit_group(proposer *pr, int32_t seed, int32_t size, syn_spawn_fn emit, void *user)
{
    const batch *b = pr->b;
    int32_t caps[MAX_CAPABILITIES];
    const char *cap_words[MAX_CAPABILITIES];
    int32_t n_caps = choose_caps(pr, seed, size, caps);
    for (int32_t i = 0; i < n_caps; i++)
        cap_words[i] = shown(b, caps[i]);

    char list[MAX_CAPABILITIES * (WORD_BYTES + 2) + 8];
    char description[sizeof list + 32], prompt[sizeof list + 160], reason[EXAMPLE_MAX + 4 + WORD_BYTES + 128];
    char example[EXAMPLE_MAX + 4];
    join_list(list, sizeof list, cap_words, n_caps);
    snprintf(description, sizeof description, "Questions about %s", list);
    snprintf(prompt, sizeof prompt,
             "You are a specialist in %s. Answer questions in this area precisely and concisely; "
             "say so when you are not sure.",
             list);
    quote_example(example, b->text[pick_example(pr, seed, caps, n_caps)]);
    snprintf(reason, sizeof reason, "%d of the %d queries no specialist served well are about %s (e.g. \"%s\")",
             (int)size, (int)b->n_real, cap_words[0], example);
    make_name(pr->taken[pr->n_taken], cap_words[0], pr->taken, pr->n_taken);

    syn_spawn_proposal p = {
        .name = pr->taken[pr->n_taken++],
        .description = description,
        .system_prompt = prompt,
        .capabilities = cap_words,
        .n_capabilities = n_caps,
        .reason = reason,
    };
    return emit(user, &p);
}

/* Groups and emits; nonzero from emit ends it early (not an error). */
static void propose_groups(proposer *pr, syn_spawn_fn emit, void *user)
{
    batch *b = pr->b;
    for (int32_t q = 0; q < b->n; q++)
        pr->live[q] = b->off[q + 1] > b->off[q];
    for (int round = 0; round < MAX_PROPOSALS; round++) {
        memset(pr->df, 0, b->stems.n * sizeof *pr->df);
        for (int32_t q = 0; q < b->n; q++)
            if (pr->live[q])
                for (size_t i = b->off[q]; i < b->off[q + 1]; i++)
                    pr->df[b->ids[i]]++;
        int32_t seed = top_stem(pr->df, b->stems.n, MIN_QUERIES);
        if (seed < 0 || emit_group(pr, seed, pr->df[seed], emit, user))
            return;
        for (int32_t q = 0; q < b->n; q++)
            if (pr->live[q] && has_stem(b, q, seed))
                pr->live[q] = 0;
    }
}

/* The strings handed to emit live until it returns. Returns 0 also when
 * emit stopped it (nonzero: the receiver wants no more); -1 on bad
 * arguments or out of memory. Any thread may call, on one instance too:
 * the instance is read only. */
static int spawner_propose(void *s, const char *const *queries, int32_t n, syn_spawn_fn emit, void *user,
                           syn_error *err)
{
    if (!s || n < 0 || (n > 0 && (!queries || !emit)))
        return fail(err, SYN_ERR_INVALID, "propose: no spawner, queries or receiver");
    if (n == 0)
        return 0;
    batch b = {.sp = s, .text = queries, .n = n};
    proposer pr = {.b = &b};
    int rc = -1;
    if (batch_build(&b))
        goto out;
    size_t n_stems = b.stems.n ? b.stems.n : 1;
    pr.df = calloc(n_stems, sizeof *pr.df);
    pr.gdf = calloc(n_stems, sizeof *pr.gdf);
    pr.live = calloc((size_t)n, 1);
    if (!pr.df || !pr.gdf || !pr.live)
        goto out;
    propose_groups(&pr, emit, user);
    rc = 0;
out:
    if (rc)
        fail(err, SYN_ERR_NOMEM, "out of memory");
    free(pr.df);
    free(pr.gdf);
    free(pr.live);
    batch_free(&b);
    return rc;
}

static const syn_spawner_ops spawner_ops = {
    .struct_size = sizeof(syn_spawner_ops),
    .create = spawner_create,
    .destroy = spawner_destroy,
    .propose = spawner_propose,
};

static int spawner_probe(void) { return 10; }

static const syn_plugin spawner_plugin = {
    SYN_PLUGIN_HEAD(SYN_PLUGIN_SPAWNER, "spawner", "1.0.0"),
    .probe = spawner_probe,
    .ops = &spawner_ops,
};

const syn_plugin *synapse_plugin_v1(void);
const syn_plugin *synapse_plugin_v1(void) { return &spawner_plugin; }
