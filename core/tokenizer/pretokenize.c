/* Pre-tokenizers of byte-level BPE vocabularies: the qwen2, llama3 and gpt-2
 * split regexes and llama.cpp's "default" chain, implemented by hand as a
 * regex engine would match them (leftmost alternative first, greedy, with
 * backtracking where the pattern needs it). Stateless; any thread. */
#include "core/tokenizer/tokenizer_internal.h"
#include "core/tokenizer/unicode.h"

#define END_FLAG 0x80u /* past the end of the text: no class at all */

static inline int is_letter(unsigned f) { return (f & SYN_UCLASS_MASK) == SYN_UCLASS_LETTER; }
static inline int is_number(unsigned f) { return (f & SYN_UCLASS_MASK) == SYN_UCLASS_NUMBER; }
static inline int is_space(unsigned f) { return (f & SYN_UFLAG_SPACE) != 0; }
/* [^\s\p{L}\p{N}] */
static inline int is_other(unsigned f) { return !(f & END_FLAG) && !is_space(f) && !is_letter(f) && !is_number(f); }

/* Flags of the codepoint at byte i; its value and length in *cp and *len. */
static inline unsigned at(const unsigned char *s, size_t n, size_t i, uint32_t *cp, size_t *len)
{
    if (i >= n) {
        *cp = UINT32_MAX;
        *len = 0;
        return END_FLAG;
    }
    if (s[i] < 0x80) {
        *cp = s[i];
        *len = 1;
    } else {
        *len = syn_utf8_decode(s + i, n - i, cp);
    }
    return syn_unicode_flags(*cp);
}

static inline unsigned flags_at(const unsigned char *s, size_t n, size_t i)
{
    uint32_t cp;
    size_t len;
    return at(s, n, i, &cp, &len);
}

/* End of the run of codepoints satisfying pred that starts at byte i. */
static size_t run(const unsigned char *s, size_t n, size_t i, int (*pred)(unsigned))
{
    for (;;) {
        uint32_t cp;
        size_t len;
        if (!pred(at(s, n, i, &cp, &len)))
            return i;
        i += len;
    }
}

static inline unsigned char ascii_lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

/* 's|'t|'re|'ve|'m|'ll|'d, case-insensitively if fold: bytes matched or 0. */
static size_t contraction(const unsigned char *s, size_t n, size_t i, int fold)
{
    if (s[i] != '\'' || i + 1 >= n)
        return 0;
    unsigned char a = fold ? ascii_lower(s[i + 1]) : s[i + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if (i + 2 >= n)
        return 0;
    unsigned char b = fold ? ascii_lower(s[i + 2]) : s[i + 2];
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    return 0;
}

/* A run of white space starting at i (whose first codepoint is white space):
 * \s*[\r\n]+ when newlines may end it (llama3/qwen2), then \s+(?!\S), then \s+. */
static size_t space_run(const unsigned char *s, size_t n, size_t i, int newline_alt)
{
    size_t j = i, last_start = i, after_nl = 0, count = 0;
    for (;;) {
        uint32_t cp;
        size_t len;
        if (!is_space(at(s, n, j, &cp, &len)))
            break;
        if (cp == '\r' || cp == '\n')
            after_nl = j + len;
        last_start = j;
        j += len;
        count++;
    }
    if (newline_alt && after_nl)
        return after_nl;
    /* \s+(?!\S) backs off one codepoint unless the run ends the text; a single
     * space before a non-space fails it and \s+ takes that one space. */
    if (j == n || count == 1)
        return j;
    return last_start;
}

static int is_cr_lf(unsigned char c) { return c == '\r' || c == '\n'; }

/* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static size_t match_llama3(const unsigned char *s, size_t n, size_t i, int max_digits)
{
    size_t m = contraction(s, n, i, 1);
    if (m)
        return i + m;
    uint32_t c;
    size_t cl;
    unsigned f = at(s, n, i, &c, &cl);
    if (is_letter(f))
        return run(s, n, i, is_letter);
    if (c != '\r' && c != '\n' && !is_number(f) && is_letter(flags_at(s, n, i + cl)))
        return run(s, n, i + cl, is_letter);
    if (is_number(f)) {
        size_t j = i;
        for (int k = 0; k < max_digits; k++) {
            uint32_t cp;
            size_t len;
            if (!is_number(at(s, n, j, &cp, &len)))
                break;
            j += len;
        }
        return j;
    }
    size_t j = SIZE_MAX;
    if (c == ' ' && is_other(flags_at(s, n, i + 1)))
        j = i + 1;
    else if (is_other(f))
        j = i;
    if (j != SIZE_MAX) {
        j = run(s, n, j, is_other);
        while (j < n && is_cr_lf(s[j]))
            j++;
        return j;
    }
    if (is_space(f))
        return space_run(s, n, i, 1);
    return i + cl; /* unreachable: every codepoint has a class */
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static size_t match_gpt2(const unsigned char *s, size_t n, size_t i)
{
    size_t m = contraction(s, n, i, 0);
    if (m)
        return i + m;
    uint32_t c;
    size_t cl;
    unsigned f = at(s, n, i, &c, &cl);
    size_t j = i;
    unsigned g = f;
    if (c == ' ') {
        unsigned next = flags_at(s, n, i + 1);
        if (is_letter(next) || is_number(next) || is_other(next)) {
            j = i + 1;
            g = next;
        }
    }
    if (is_letter(g))
        return run(s, n, j, is_letter);
    if (is_number(g))
        return run(s, n, j, is_number);
    if (is_other(g))
        return run(s, n, j, is_other);
    if (is_space(f))
        return space_run(s, n, i, 0);
    return i + cl;
}

/* llama.cpp's "default" BPE pre-tokenizer: four regexes applied in turn,
 * each splitting every piece of the previous one into its matches and the
 * text between them: [\p{P}\$\+<=>\^~\|]+, then the gpt-2 pattern, then
 * \p{N}+, then [0-9][0-9][0-9]. */
struct chain {
    syn_word_fn fn;
    void *ctx;
};

static int emit(struct chain *c, const unsigned char *s, size_t n)
{
    return n ? c->fn(c->ctx, (const char *)s, n) : 0;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int default_digits3(struct chain *c, const unsigned char *s, size_t n)
{
    size_t i = 0, gap = 0;
    int rc = 0;
    while (i + 3 <= n && !rc) {
        if (is_digit(s[i]) && is_digit(s[i + 1]) && is_digit(s[i + 2])) {
            if (!(rc = emit(c, s + gap, i - gap)))
                rc = emit(c, s + i, 3);
            i += 3;
            gap = i;
        } else {
            i++; /* a digit is one byte and never part of a longer sequence */
        }
    }
    return rc ? rc : emit(c, s + gap, n - gap);
}

/* Alternating runs of codepoints that do and do not satisfy pred, each passed
 * to next. */
static int split_runs(struct chain *c, const unsigned char *s, size_t n, int (*pred)(uint32_t cp, unsigned f),
                      int (*next)(struct chain *, const unsigned char *, size_t))
{
    size_t i = 0, start = 0;
    int in_run = -1, rc = 0;
    while (i < n && !rc) {
        uint32_t cp;
        size_t len;
        unsigned f = at(s, n, i, &cp, &len);
        int m = pred(cp, f);
        if (m != in_run) {
            if (in_run >= 0)
                rc = next(c, s + start, i - start);
            in_run = m;
            start = i;
        }
        i += len;
    }
    return rc ? rc : next(c, s + start, n - start);
}

static int is_number_cp(uint32_t cp, unsigned f) { return (void)cp, is_number(f); }

static int default_numbers(struct chain *c, const unsigned char *s, size_t n)
{
    return n ? split_runs(c, s, n, is_number_cp, default_digits3) : 0;
}

static int default_gpt2(struct chain *c, const unsigned char *s, size_t n)
{
    size_t i = 0;
    int rc = 0;
    while (i < n && !rc) {
        size_t end = match_gpt2(s, n, i);
        rc = default_numbers(c, s + i, end - i);
        i = end;
    }
    return rc;
}

static int is_punct_cp(uint32_t cp, unsigned f)
{
    if ((f & SYN_UCLASS_MASK) == SYN_UCLASS_PUNCT)
        return 1;
    return cp == '$' || cp == '+' || cp == '<' || cp == '=' || cp == '>' || cp == '^' || cp == '~' || cp == '|';
}

static int split_default(const unsigned char *s, size_t n, syn_word_fn fn, void *ctx)
{
    struct chain c = {fn, ctx};
    return split_runs(&c, s, n, is_punct_cp, default_gpt2);
}

int syn_pretokenize(int pre, const char *text, size_t len, syn_word_fn fn, void *ctx)
{
    const unsigned char *s = (const unsigned char *)text;
    if (pre == SYN_PRE_DEFAULT)
        return len ? split_default(s, len, fn, ctx) : 0;
    size_t i = 0;
    while (i < len) {
        size_t end;
        switch (pre) {
        case SYN_PRE_GPT2:
            end = match_gpt2(s, len, i);
            break;
        case SYN_PRE_LLAMA3:
            end = match_llama3(s, len, i, 3);
            break;
        default:
            end = match_llama3(s, len, i, 1);
            break;
        }
        int rc = fn(ctx, text + i, end - i);
        if (rc)
            return rc;
        i = end;
    }
    return 0;
}
