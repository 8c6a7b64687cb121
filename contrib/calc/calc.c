/* calc, a specialist in code (kind specialist, ABI 1.6): arithmetic
 * answered exactly. It finds the expressions of a question ("What is
 * 12345 * 6789?", "what's 7 times 8", "compute (2+3)*4") and evaluates
 * them as fractions of 128-bit magnitudes, reduced after every step and
 * checked before every sum and product: 0.1 + 0.2 is 3/10, and a result
 * too large to hold is an error, never a rounded number.
 *
 * claim() and answer() share one reading of the query (analyse()): a
 * query claimed at 0 is one answer() refuses (as holding no arithmetic,
 * a stray parenthesis or operator, or more than 16 expressions), which
 * lets the host hand it to the base model. Stateless: any thread
 * may call. Links libc alone; 128-bit division comes from the
 * compiler's static runtime (libgcc.a), not from a shared library. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synapse/plugin.h>

/* ------------------------------------------------------------ exact numbers */

typedef unsigned __int128 u128;

/* Magnitudes stay below 2^127, so a sum of two never wraps before it is
 * checked and every value also fits a signed 128-bit integer. */
#define MAG_MAX ((((u128)1) << 127) - 1)
#define LIMIT_TEXT "the limit is about 1.7e38"

/* num/den in lowest terms, den >= 1; zero is 0/1 and never negative. */
typedef struct rat {
    u128 num, den;
    int neg;
} rat;

/* The first failure of an evaluation. Later steps see it set and return
 * zero, so one check at the end suffices. */
typedef struct fault {
    int code; /* a syn_error code, 0 while all is well */
    const char *why;
} fault;

static rat rat_zero(void) { return (rat){0, 1, 0}; }

static rat fail(fault *f, int code, const char *why)
{
    if (!f->code) {
        f->code = code;
        f->why = why;
    }
    return rat_zero();
}

static rat too_large(fault *f)
{
    return fail(f, SYN_ERR_RANGE, "the result is too large to hold exactly (" LIMIT_TEXT ")");
}

static u128 gcd(u128 a, u128 b)
{
    while (b) {
        u128 t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* *out = a * b, or 0 when that would pass MAG_MAX. */
static int mul_ok(u128 a, u128 b, u128 *out)
{
    if (a && b > MAG_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

static int add_ok(u128 a, u128 b, u128 *out)
{
    if (a > MAG_MAX - b)
        return 0;
    *out = a + b;
    return 1;
}

static rat rat_reduce(u128 num, u128 den, int neg)
{
    u128 g = gcd(num, den);
    rat r = {num / g, den / g, neg && num};
    return r;
}

static rat rat_neg(rat a)
{
    a.neg = !a.neg && a.num;
    return a;
}

/* Knuth's way (TAOCP 4.5.1): with g = gcd of the denominators the sum
 * comes out reduced after one more gcd, and no intermediate is larger
 * than it must be, so an overflow means the result itself is too big
 * (or nearly so). */
static rat rat_add(rat a, rat b, fault *f)
{
    if (f->code)
        return rat_zero();
    u128 g = gcd(a.den, b.den), x, y, num, den;
    if (!mul_ok(a.num, b.den / g, &x) || !mul_ok(b.num, a.den / g, &y))
        return too_large(f);
    int neg;
    if (a.neg == b.neg) {
        if (!add_ok(x, y, &num))
            return too_large(f);
        neg = a.neg;
    } else if (x >= y) {
        num = x - y;
        neg = a.neg;
    } else {
        num = y - x;
        neg = b.neg;
    }
    if (!num)
        return rat_zero();
    u128 g2 = gcd(num, g);
    if (!mul_ok(a.den / g2, b.den / g, &den))
        return too_large(f);
    return (rat){num / g2, den, neg};
}

/* Cross-reduced first, so the product is in lowest terms as it is made. */
static rat rat_mul(rat a, rat b, fault *f)
{
    if (f->code || !a.num || !b.num)
        return rat_zero();
    u128 g1 = gcd(a.num, b.den), g2 = gcd(b.num, a.den);
    rat r = {0, 1, a.neg != b.neg};
    if (!mul_ok(a.num / g1, b.num / g2, &r.num) || !mul_ok(a.den / g2, b.den / g1, &r.den))
        return too_large(f);
    return r;
}

static rat rat_div(rat a, rat b, fault *f)
{
    if (f->code)
        return rat_zero();
    if (!b.num)
        return fail(f, SYN_ERR_INVALID, "division by zero");
    rat inv = {b.den, b.num, b.neg};
    return rat_mul(a, inv, f);
}

/* A whole exponent only: a fractional power is rarely rational. Squaring
 * stops with the exponent's last bit, so every square taken is a factor
 * of the result: an overflow on the way means the result overflows, and
 * a huge exponent fails within 127 steps. */
static rat rat_pow(rat base, rat e, fault *f)
{
    if (f->code)
        return rat_zero();
    if (e.den != 1)
        return fail(f, SYN_ERR_UNSUPPORTED, "the exponent must be a whole number");
    if (e.neg) {
        if (!base.num)
            return fail(f, SYN_ERR_INVALID, "division by zero (zero to a negative power)");
        base = (rat){base.den, base.num, base.neg};
    }
    rat r = {1, 1, 0};
    for (u128 n = e.num; n && !f->code;) {
        if (n & 1)
            r = rat_mul(r, base, f);
        n >>= 1;
        if (n)
            base = rat_mul(base, base, f);
    }
    return r;
}

/* A number as written: digits, thousands commas, one decimal point. */
static rat rat_literal(const char *s, size_t n, fault *f)
{
    const char *dot = memchr(s, '.', n);
    if (dot) /* 1.50 is 150/100 reduced: the trailing zeros need not fit */
        while (n > (size_t)(dot - s) + 1 && s[n - 1] == '0')
            n--;
    u128 num = 0, den = 1;
    int frac = 0;
    for (size_t i = 0; i < n && !f->code; i++) {
        if (s[i] == ',')
            continue;
        if (s[i] == '.') {
            frac = 1;
            continue;
        }
        if (!mul_ok(num, 10, &num) || !add_ok(num, (u128)(s[i] - '0'), &num) || (frac && !mul_ok(den, 10, &den)))
            return fail(f, SYN_ERR_RANGE, "a number has too many digits to hold exactly (" LIMIT_TEXT ")");
    }
    return rat_reduce(num, den, 0);
}

/* ------------------------------------------------------------------ tokens */

typedef enum tok_kind {
    TOK_NUM,     /* s, n: the number as written */
    TOK_OP,      /* op: + - * / ^ */
    TOK_OPEN,    /* ( */
    TOK_CLOSE,   /* ) */
    TOK_POSTFIX, /* op '2' or '3': "squared", "cubed", a power of what it follows */
    TOK_WORD,    /* a word or sign that says something else: "about", "1990s", "$" */
    TOK_FILLER,  /* one that only frames a question: "what is", "please", "?" */
} tok_kind;

typedef struct tok {
    tok_kind kind;
    char op;
    /* an ASCII sign with no space on either side ("10-3"): how dates,
     * phone numbers, ranges and scores are written */
    int tight;
    /* TOK_POSTFIX and a ^: where its operand starts when that is more
     * than one number or group, to print it in parentheses ("(2^3)^2",
     * "(2^2)^3" for "2 squared ^ 3"); else -1. Set by the parse that
     * takes the token. */
    int from;
    const char *s;
    size_t n;
} tok;

/* More tokens than this and the query is not a calculation: it is not
 * read further, and neither claimed nor answered (an expression cut at
 * the limit would have a wrong value). */
#define MAX_TOKS 2048

typedef struct lexer {
    const char *q; /* the whole query */
    tok *t;
    int n, cap;
    int truncated;
} lexer;

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_space(int c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

/* Signs outside ASCII that mean an operator. */
static const struct {
    const char *utf8;
    char op;
} unicode_ops[] = {
    {"\xc3\x97", '*'},     /* multiplication sign */
    {"\xc3\xb7", '/'},     /* division sign */
    {"\xe2\x88\x92", '-'}, /* minus sign */
    {"\xc2\xb7", '*'},     /* middle dot */
    {"\xe2\x8b\x85", '*'}, /* dot operator */
};

/* Punctuation and spaces outside ASCII that frame a question like ASCII
 * punctuation does. The dashes are here, not among the operators: a
 * dash between numbers is a range (1990-2000). */
static const char *const unicode_filler[] = {
    "\xe2\x80\x9c", "\xe2\x80\x9d", "\xe2\x80\x98", "\xe2\x80\x99", /* quotes */
    "\xe2\x80\xa6", "\xc2\xbf",     "\xc2\xa1",     "\xc2\xab",     "\xc2\xbb",
    "\xe2\x80\x93", "\xe2\x80\x94",                                 /* en and em dash */
    "\xc2\xa0",     "\xe2\x80\xaf", "\xe2\x80\x89",                 /* no-break, narrow and thin space */
};

static size_t prefix_len(const char *p, const char *s)
{
    size_t n = strlen(s);
    return strncmp(p, s, n) ? 0 : n;
}

static size_t unicode_op(const char *p, char *op)
{
    for (size_t i = 0; i < sizeof unicode_ops / sizeof *unicode_ops; i++) {
        size_t n = prefix_len(p, unicode_ops[i].utf8);
        if (n) {
            *op = unicode_ops[i].op;
            return n;
        }
    }
    return 0;
}

static size_t unicode_filler_len(const char *p)
{
    for (size_t i = 0; i < sizeof unicode_filler / sizeof *unicode_filler; i++) {
        size_t n = prefix_len(p, unicode_filler[i]);
        if (n)
            return n;
    }
    return 0;
}

/* The bytes of a word's character at p, else 0: ASCII letters and
 * digits, and any text outside ASCII (é, ß, ...) but the signs above. */
static size_t word_char_len(const char *p)
{
    unsigned char c = (unsigned char)*p;
    char op;
    if (is_alpha(c) || is_digit(c) || c == '_')
        return 1;
    if (c < 0x80 || unicode_op(p, &op) || unicode_filler_len(p))
        return 0;
    size_t n = 1;
    while ((p[n] & 0xc0) == 0x80) /* the rest of this character */
        n++;
    return n;
}

/* An apostrophe, straight or curly, that a letter follows: inside a word
 * it is the word's (what's, what’s); elsewhere it is a quote. */
static size_t apostrophe_len(const char *p)
{
    size_t n = *p == '\'' ? 1 : !strncmp(p, "\xe2\x80\x99", 3) ? 3 : 0;
    return n && is_alpha(p[n]) ? n : 0;
}

static size_t word_len(const char *p)
{
    size_t n = 0, k;
    while ((k = word_char_len(p + n)) || (n && (k = apostrophe_len(p + n))))
        n += k;
    return n;
}

static tok *push(lexer *lx, tok_kind kind, const char *s, size_t n)
{
    tok *t = &lx->t[lx->n++];
    *t = (tok){.kind = kind, .from = -1, .s = s, .n = n};
    return t;
}

/* '.', ',' or ':' between digits, past what lex_number reads as one
 * number: a version (3.10.2), an address (192.168.0.1), a time (10:30),
 * a list or a decimal comma (1,2). */
static int joins_digits(const char *e) { return (e[0] == '.' || e[0] == ',' || e[0] == ':') && is_digit(e[1]); }

/* A number at p: digits with optional thousands commas (a first group of
 * 1-3 digits, then groups of exactly 3) and decimals. Glued to more
 * (1990s, 3rd, 1e5, 3.10.2, 10:30, 1,5) it is not a number but a word. */
static size_t lex_number(lexer *lx, const char *p)
{
    const char *e = p;
    while (is_digit(*e))
        e++;
    if (e > p && e - p <= 3)
        while (e[0] == ',' && is_digit(e[1]) && is_digit(e[2]) && is_digit(e[3]) && !is_digit(e[4]))
            e += 4;
    if (e[0] == '.' && is_digit(e[1]))
        for (e++; is_digit(*e); e++)
            ;
    if (e == p)
        return 0;
    if (joins_digits(e) || word_char_len(e)) {
        for (size_t k; (k = word_char_len(e)) || joins_digits(e);)
            e += k ? k : 1;
        push(lx, TOK_WORD, p, (size_t)(e - p));
    } else {
        push(lx, TOK_NUM, p, (size_t)(e - p));
    }
    return (size_t)(e - p);
}

/* The query's words at p spell phrase (lowercase, words one space apart),
 * case and spacing aside, ending at a word's end: its length, else 0. */
static size_t match_phrase(const char *p, const char *phrase)
{
    const char *q = p;
    for (const char *w = phrase; *w; w++) {
        if (*w == ' ') {
            if (!is_space(*q))
                return 0;
            while (is_space(*q))
                q++;
        } else if (lower((unsigned char)*q++) != *w) {
            return 0;
        }
    }
    return word_char_len(q) ? 0 : (size_t)(q - p);
}

/* Operators in words, longest first so "raised to the power of" wins. */
static const struct {
    const char *phrase;
    char op;
} word_ops[] = {
    {"raised to the power of", '^'},
    {"to the power of", '^'},
    {"raised to", '^'},
    {"multiplied by", '*'},
    {"divided by", '/'},
    {"times", '*'},
    {"x", '*'},
    {"plus", '+'},
    {"minus", '-'},
    {"over", '/'},
};

/* "5 squared" reads as 5^2: a postfix operator, taken left to right
 * ("2 squared cubed" is (2^2)^3) */
static const struct {
    const char *word;
    char exponent;
} postfix_powers[] = {{"squared", '2'}, {"cubed", '3'}};

/* Words that frame a calculation without changing it ("what is", "please
 * compute"). Any other word makes the query more than arithmetic. */
static const char *const filler_words[] = {
    "what", "what's", "whats", "is", "are", "the", "of", "and", "compute", "calculate", "calc", "evaluate",
    "eval", "solve", "simplify", "work", "out", "please", "pls", "plz", "kindly", "tell", "me", "us", "give",
    "find", "result", "value", "answer", "how", "much", "equals", "equal", "then", "now", "so", "ok", "okay",
    "hey", "hi", "can", "could", "would", "will", "be", "you", "i", "do", "does", "make", "makes", "get",
    "exactly", "quick", "quickly", "number", "expression", "math", "maths", "arithmetic", "calculation", "sum",
    "product", "difference", "quotient", "multiply", "divide", "add", "subtract", "this", "it", "it's",
};

/* word (n bytes) lowercased, curly apostrophes made straight */
static int fold_word(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k + 1 >= cap)
            return -1;
        if (i + 3 <= n && !strncmp(s + i, "\xe2\x80\x99", 3)) {
            out[k++] = '\'';
            i += 2;
        } else {
            out[k++] = (char)lower((unsigned char)s[i]);
        }
    }
    out[k] = '\0';
    return 0;
}

static int is_filler(const char *s, size_t n)
{
    char w[32];
    if (fold_word(s, n, w, sizeof w))
        return 0;
    for (size_t i = 0; i < sizeof filler_words / sizeof *filler_words; i++)
        if (!strcmp(w, filler_words[i]))
            return 1;
    return 0;
}

static size_t lex_word(lexer *lx, const char *p)
{
    for (size_t i = 0; i < sizeof word_ops / sizeof *word_ops; i++) {
        size_t n = match_phrase(p, word_ops[i].phrase);
        if (n) {
            push(lx, TOK_OP, p, n)->op = word_ops[i].op;
            return n;
        }
    }
    for (size_t i = 0; i < sizeof postfix_powers / sizeof *postfix_powers; i++) {
        size_t n = match_phrase(p, postfix_powers[i].word);
        if (n) {
            push(lx, TOK_POSTFIX, p, n)->op = postfix_powers[i].exponent;
            return n;
        }
    }
    size_t n = word_len(p);
    if (n)
        push(lx, is_filler(p, n) ? TOK_FILLER : TOK_WORD, p, n);
    return n;
}

/* An operator, a parenthesis or punctuation at p (never 0 bytes). */
static size_t lex_sign(lexer *lx, const char *p)
{
    char op = *p;
    size_t n = 1;
    if (op == '*' && p[1] == '*') { /* 2**10 */
        op = '^';
        n = 2;
    }
    if (strchr("+-*/^", op)) {
        tok *t = push(lx, TOK_OP, p, n);
        t->op = op;
        t->tight = p > lx->q && !is_space(p[-1]) && p[n] && !is_space(p[n]);
        return n;
    }
    if ((n = unicode_op(p, &op))) {
        push(lx, TOK_OP, p, n)->op = op;
        return n;
    }
    if (*p == '(' || *p == ')') {
        push(lx, *p == '(' ? TOK_OPEN : TOK_CLOSE, p, 1);
        return 1;
    }
    if ((n = unicode_filler_len(p))) {
        push(lx, TOK_FILLER, p, n);
        return n;
    }
    /* ASCII punctuation frames a question; other signs ($, %, #, <, ...)
     * say it is about more than numbers */
    push(lx, strchr("?!.,:;=\"'`", *p) ? TOK_FILLER : TOK_WORD, p, 1);
    return 1;
}

/* Three or more whole numbers joined by the same tight '-' or '/'
 * (2024-05-01, 555-123-4567, 05/01/2024) are a date or an identifier,
 * not a calculation: they become one word. */
static void mark_identifiers(lexer *lx)
{
    tok *t = lx->t;
    for (int i = 0; i < lx->n; i++) {
        if (t[i].kind != TOK_NUM || memchr(t[i].s, '.', t[i].n) || memchr(t[i].s, ',', t[i].n))
            continue;
        int j = i, groups = 1;
        while (j + 2 < lx->n && t[j + 1].kind == TOK_OP && t[j + 1].tight && strchr("-/", t[j + 1].op) &&
               t[j + 1].op == t[i + 1].op && t[j + 2].kind == TOK_NUM && !memchr(t[j + 2].s, '.', t[j + 2].n) &&
               !memchr(t[j + 2].s, ',', t[j + 2].n)) {
            j += 2;
            groups++;
        }
        if (groups >= 3)
            for (int k = i; k <= j; k++)
                t[k].kind = TOK_WORD;
        i = j;
    }
}

static int word_is(const tok *t, const char *w)
{
    return (t->kind == TOK_WORD || t->kind == TOK_FILLER) && match_phrase(t->s, w) == t->n;
}

/* How many tokens from t[j] join two numbers of a form: its own word;
 * for a sum or a product also "and", "," or ", and". 0: none. */
static int joiner_len(const tok *t, int n, int j, const char *join, int many)
{
    if (j >= n)
        return 0;
    if (word_is(&t[j], join) || (many && word_is(&t[j], "and")))
        return 1;
    if (!many || t[j].kind != TOK_FILLER || t[j].s[0] != ',')
        return 0;
    return j + 1 < n && word_is(&t[j + 1], "and") ? 2 : 1;
}

/* Arithmetic said with a verb or a noun, between plain numbers:
 * "multiply 6 by 7", "subtract 4 from 10", "the sum of 2, 3 and 4". The
 * joining words become the operator; "subtract a from b" is b - a, so
 * its numbers change places. A sum or a product takes any count of
 * numbers, joined by its word, "and" or a comma; the others take two. */
static void rewrite_phrases(lexer *lx)
{
    static const struct {
        const char *lead, *lead2, *join;
        char op;
        int swap;
    } forms[] = {
        {"multiply", NULL, "by", '*', 0},     {"divide", NULL, "by", '/', 0},
        {"add", NULL, "to", '+', 0},          {"add", NULL, "and", '+', 0},
        {"subtract", NULL, "from", '-', 1},   {"sum", "of", "and", '+', 0},
        {"product", "of", "and", '*', 0},     {"difference", "between", "and", '-', 0},
        {"quotient", "of", "and", '/', 0},
    };
    tok *t = lx->t;
    for (int i = 0; i < lx->n; i++)
        for (size_t k = 0; k < sizeof forms / sizeof *forms; k++) {
            int many = forms[k].op == '+' || forms[k].op == '*';
            int a = i + 1 + (forms[k].lead2 != NULL), j = a; /* the first number, the last */
            if (!word_is(&t[i], forms[k].lead) || (forms[k].lead2 && (a > lx->n || !word_is(&t[a - 1], forms[k].lead2))))
                continue;
            while (j < lx->n && t[j].kind == TOK_NUM && (many || j == a)) {
                int sep = joiner_len(t, lx->n, j + 1, forms[k].join, many);
                if (!sep || j + 1 + sep >= lx->n || t[j + 1 + sep].kind != TOK_NUM)
                    break;
                if (sep == 2) { /* ", and": the comma goes */
                    memmove(&t[j + 1], &t[j + 2], sizeof *t * (size_t)(lx->n - j - 2));
                    lx->n--;
                }
                t[j + 1] = (tok){.kind = TOK_OP, .op = forms[k].op, .from = -1, .s = t[j + 1].s, .n = t[j + 1].n};
                j += 2;
            }
            if (j == a)
                continue;
            for (int w = i; w < a; w++)
                t[w].kind = TOK_FILLER;
            if (forms[k].swap) {
                tok x = t[a];
                t[a] = t[j];
                t[j] = x;
            }
            i = j;
            break;
        }
}

static void lex(lexer *lx)
{
    const char *p = lx->q;
    while (*p && lx->n < lx->cap) {
        size_t n;
        if (is_space(*p))
            n = 1;
        else if (is_digit(*p) || (*p == '.' && is_digit(p[1])))
            n = lex_number(lx, p);
        else if (word_char_len(p))
            n = lex_word(lx, p);
        else
            n = lex_sign(lx, p);
        p += n;
    }
    lx->truncated = *p != '\0';
    mark_identifiers(lx);
    rewrite_phrases(lx);
}

/* ------------------------------------------------------------------ parser */

/* Recursive descent over tokens [pos, end), evaluating as it goes:
 *   sum     = product { ("+" | "-") product }
 *   product = unary { ("*" | "/") unary }
 *   unary   = ("-" | "+") unary | power        -2^2 is -(2^2), as in algebra
 *   power   = primary { postfix | "^" unary' }
 *   unary'  = a unary whose powers take no postfix
 *   primary = number | "(" sum ")"
 * A ^ chain is right-associative (2^3^2 is 2^9; 2^-1 is 1/2). A postfix
 * ("squared", "cubed") applies to all that comes before it in its power,
 * left to right: "2^3 squared" is (2^3)^2, "2 squared cubed" (2^2)^3.
 * An operator with nothing usable after it ends the expression before it
 * ("3 + ?" is 3), so a parse takes the longest expression at pos; the
 * caller refuses a run of tokens that this leaves a token of. */
typedef struct parser {
    tok *t; /* the parse sets `from` of the postfix and ^ tokens it takes */
    int pos, end;
    int depth;
    int binary;    /* binary operators taken */
    int *too_deep; /* set when MAX_DEPTH stopped a parse (shared, so no backtrack clears it) */
    fault f;
} parser;

/* Nesting deeper than this is not a question anyone asks; it bounds the
 * stack. A query that reaches it is refused whole, as reading part of
 * it would answer a different expression. */
#define MAX_DEPTH 64

static int parse_sum(parser *p, rat *out);

static int at_op(const parser *p, const char *ops)
{
    return p->pos < p->end && p->t[p->pos].kind == TOK_OP && strchr(ops, p->t[p->pos].op);
}

static int parse_primary(parser *p, rat *out)
{
    if (p->pos >= p->end)
        return -1;
    const tok *t = &p->t[p->pos];
    if (t->kind == TOK_NUM) {
        *out = rat_literal(t->s, t->n, &p->f);
        p->pos++;
        return 0;
    }
    if (t->kind != TOK_OPEN)
        return -1;
    p->pos++;
    if (parse_sum(p, out) || p->pos >= p->end || p->t[p->pos].kind != TOK_CLOSE)
        return -1;
    p->pos++;
    return 0;
}

static int parse_unary(parser *p, rat *out, int postfix);

/* postfix: whether this power takes "squared" and "cubed" (not when it
 * is an exponent: they belong to the whole chain). */
static int parse_power(parser *p, rat *out, int postfix)
{
    int start = p->pos, compound = 0; /* compound: more than the primary so far */
    if (parse_primary(p, out))
        return -1;
    for (;;) {
        if (postfix && p->pos < p->end && p->t[p->pos].kind == TOK_POSTFIX) {
            tok *t = &p->t[p->pos++];
            t->from = compound ? start : -1;
            *out = rat_pow(*out, (rat){(u128)(t->op - '0'), 1, 0}, &p->f);
            p->binary++;
            compound = 1;
            continue;
        }
        if (!at_op(p, "^"))
            return 0;
        parser saved = *p;
        rat e;
        p->pos++;
        if (parse_unary(p, &e, 0)) {
            *p = saved;
            return 0;
        }
        p->t[saved.pos].from = compound ? start : -1; /* a ^ after a postfix */
        p->binary++;
        *out = rat_pow(*out, e, &p->f);
        compound = 1;
    }
}

static int parse_unary(parser *p, rat *out, int postfix)
{
    if (p->depth >= MAX_DEPTH) {
        *p->too_deep = 1;
        return -1;
    }
    p->depth++;
    int rc;
    if (at_op(p, "+-")) {
        int minus = p->t[p->pos++].op == '-';
        rc = parse_unary(p, out, postfix);
        if (!rc && minus)
            *out = rat_neg(*out);
    } else {
        rc = parse_power(p, out, postfix);
    }
    p->depth--;
    return rc;
}

static int parse_product(parser *p, rat *out)
{
    if (parse_unary(p, out, 1))
        return -1;
    while (at_op(p, "*/")) {
        parser saved = *p;
        char op = p->t[p->pos++].op;
        rat r;
        if (parse_unary(p, &r, 1)) {
            *p = saved;
            break;
        }
        p->binary++;
        *out = op == '*' ? rat_mul(*out, r, &p->f) : rat_div(*out, r, &p->f);
    }
    return 0;
}

static int parse_sum(parser *p, rat *out)
{
    if (parse_product(p, out))
        return -1;
    while (at_op(p, "+-")) {
        parser saved = *p;
        char op = p->t[p->pos++].op;
        rat r;
        if (parse_product(p, &r)) {
            *p = saved;
            break;
        }
        p->binary++;
        *out = rat_add(*out, op == '+' ? r : rat_neg(r), &p->f);
    }
    return 0;
}

/* ---------------------------------------------------------------- analysis */

/* An expression found: its tokens [start, end) and its value, or the
 * fault that kept it from having one. */
typedef struct found {
    int start, end;
    rat value;
    fault f;
} found;

/* More expressions than this and the query is refused: answering some
 * of them would drop the rest unsaid. */
#define MAX_FOUND 16
#define STR_(x) #x
#define STR(x) STR_(x)

/* A run of arithmetic tokens with numbers in it that no reading takes
 * whole: a parenthesis or an operator left over ("2+3)*4", "(1+1",
 * "2 + * 3"). The first such run of a query, to name in the refusal. */
typedef struct malformed {
    int start, end; /* the run's tokens */
    int stray;      /* the first token left over */
    int unbalanced; /* its parentheses do not pair */
} malformed;

/* What a query says: its expressions, and whether anything else is in it. */
typedef struct analysis {
    lexer lx;
    found ex[MAX_FOUND];
    int n_ex;
    int too_many; /* more than MAX_FOUND expressions: none is in ex past that */
    int content;  /* words, signs and lone numbers that are not arithmetic */
    int strong;   /* an expression that cannot be a date, a phone number, a range */
    int too_deep; /* parentheses or signs nested past MAX_DEPTH */
    int bad;      /* a malformed run, described in `malformed` */
    malformed malformed;
} analysis;

static int is_arith(tok_kind k)
{
    return k == TOK_NUM || k == TOK_OP || k == TOK_OPEN || k == TOK_CLOSE || k == TOK_POSTFIX;
}

/* Only tight '-' or '/' between plain numbers ("10-3", "555-1234",
 * "9/11"): arithmetic when the question is only that, else something
 * written with a dash or a slash. */
static int is_weak(const tok *t, int start, int end)
{
    for (int k = start; k < end; k++) {
        if (t[k].kind == TOK_OPEN || t[k].kind == TOK_CLOSE || t[k].kind == TOK_POSTFIX)
            return 0;
        if (t[k].kind == TOK_OP && k > start && t[k - 1].kind == TOK_NUM && !(t[k].tight && strchr("-/", t[k].op)))
            return 0;
    }
    return 1;
}

/* Whether the parentheses of t[start, end) pair up. */
static int balanced(const tok *t, int start, int end)
{
    int depth = 0;
    for (int k = start; k < end && depth >= 0; k++)
        depth += (t[k].kind == TOK_OPEN) - (t[k].kind == TOK_CLOSE);
    return depth == 0;
}

/* Each run of arithmetic tokens is read from its start: the longest
 * expression there is taken, and where none starts (a stray ")" or "*")
 * the next token is tried. A run with a number in it and a token that no
 * expression takes is malformed (a run of signs alone, as "(" in prose,
 * says nothing about arithmetic). */
static void find_expressions(analysis *a)
{
    tok *t = a->lx.t;
    int n = a->lx.n;
    for (int i = 0; i < n;) {
        if (!is_arith(t[i].kind)) {
            a->content += t[i].kind == TOK_WORD;
            i++;
            continue;
        }
        int end = i, stray = -1, numbers = 0;
        while (end < n && is_arith(t[end].kind))
            numbers += t[end++].kind == TOK_NUM;
        for (int j = i; j < end;) {
            parser p = {.t = t, .pos = j, .end = end, .too_deep = &a->too_deep};
            rat v;
            if (parse_sum(&p, &v)) {
                if (stray < 0)
                    stray = j;
                j++;
                continue;
            }
            if (!p.binary) {
                a->content++; /* a lone number: "in 1991", "What is 2?" */
            } else if (a->n_ex < MAX_FOUND) {
                a->ex[a->n_ex++] = (found){j, p.pos, v, p.f};
                a->strong |= !is_weak(t, j, p.pos);
            } else {
                a->too_many = 1;
            }
            j = p.pos;
        }
        if (numbers && stray >= 0 && !a->bad) {
            a->bad = 1;
            a->malformed = (malformed){i, end, stray, !balanced(t, i, end)};
        }
        i = end;
    }
}

/* Reads query into a: its tokens (a->lx.t, the caller frees them) and its
 * expressions. -1 when out of memory. */
static int analyse(const char *query, analysis *a)
{
    memset(a, 0, sizeof *a);
    size_t len = strlen(query);
    a->lx.q = query;
    a->lx.cap = len + 2 < MAX_TOKS ? (int)len + 2 : MAX_TOKS;
    if (!(a->lx.t = malloc(sizeof *a->lx.t * (size_t)a->lx.cap)))
        return -1;
    lex(&a->lx);
    if (!a->lx.truncated)
        find_expressions(a);
    return 0;
}

/* How surely the query is a calculation: 1 when it is nothing but one or
 * more expressions in a question's frame; 0.5 when an expression sits
 * among other words (the router decides); 0 when there is no expression,
 * or only one written like a date or a phone number among other words. */
static float claim_level(const analysis *a)
{
    if (!a->n_ex || a->too_deep || a->bad || a->too_many)
        return 0;
    if (!a->content)
        return 1;
    return a->strong ? 0.5f : 0;
}

/* ----------------------------------------------------------------- answers */

typedef struct text {
    char *s;
    size_t n, cap;
    int oom;
} text;

static void put(text *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void put_str(text *b, const char *s) { put(b, s, strlen(s)); }

static void put_u128(text *b, u128 v)
{
    char d[40];
    int n = 0;
    do {
        d[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    while (n)
        put(b, &d[--n], 1);
}

static int has_operand_mark(const tok *t)
{
    return t->kind == TOK_POSTFIX || (t->kind == TOK_OP && t->op == '^');
}

/* The expression as read, spaced evenly: "(2 + 3) * 4", "2^10", "-5 * 3",
 * a postfix as a power, its operand in parentheses when that is more
 * than a number or a group: "5^2", "(2^2)^3". */
static void put_expression(text *b, const tok *t, int start, int end)
{
    for (int k = start; k < end; k++) {
        const tok *x = &t[k];
        for (int m = k + 1; m < end; m++)
            if (has_operand_mark(&t[m]) && t[m].from == k)
                put(b, "(", 1);
        if (x->kind == TOK_POSTFIX) {
            char power[3] = {')', '^', x->op};
            put(b, x->from >= 0 ? power : power + 1, x->from >= 0 ? 3 : 2);
        } else if (x->kind == TOK_NUM) {
            for (size_t i = 0; i < x->n; i++)
                if (x->s[i] != ',')
                    put(b, &x->s[i], 1);
        } else if (x->kind == TOK_OPEN || x->kind == TOK_CLOSE) {
            put_str(b, x->kind == TOK_OPEN ? "(" : ")");
        } else if (x->kind == TOK_OP) {
            /* binary operators spaced; a sign, and ^, tight */
            int binary = k > start && (t[k - 1].kind == TOK_NUM || t[k - 1].kind == TOK_CLOSE ||
                                       t[k - 1].kind == TOK_POSTFIX);
            char op[3] = {' ', x->op, ' '};
            if (x->op == '^' && x->from >= 0)
                put(b, ")", 1);
            if (binary && x->op != '^')
                put(b, op, 3);
            else
                put(b, &x->op, 1);
        }
    }
}

/* Decimal places num/den needs when it terminates (den has no prime
 * factors but 2 and 5), else -1. */
static int decimal_places(u128 den)
{
    int twos = 0, fives = 0;
    for (; den % 2 == 0; den /= 2)
        twos++;
    for (; den % 5 == 0; den /= 5)
        fives++;
    return den != 1 ? -1 : twos > fives ? twos : fives;
}

/* The next decimal digit of rem/den (rem < den), rem left as the rest:
 * 10 * rem is taken as ten additions, as it may not fit in 128 bits. */
static int next_digit(u128 *rem, u128 den)
{
    u128 acc = 0;
    int d = 0;
    for (int i = 0; i < 10; i++) {
        acc += *rem; /* both below den < 2^127: no wrap */
        if (acc >= den) {
            acc -= den;
            d++;
        }
    }
    *rem = acc;
    return d;
}

static void put_sign(text *b, rat v)
{
    if (v.neg)
        put(b, "-", 1);
}

/* v exactly, in `places` decimals (v terminates there). */
static void put_decimal(text *b, rat v, int places)
{
    u128 rem = v.num % v.den;
    put_sign(b, v);
    put_u128(b, v.num / v.den);
    put(b, ".", 1);
    for (int i = 0; i < places; i++) {
        char d = (char)('0' + next_digit(&rem, v.den));
        put(b, &d, 1);
    }
}

/* Significant decimals of an approximation: after the point when the
 * whole part is not 0, else after the leading zeros (1/3000000 is
 * 0.000000333333, not 0.000000). */
#define APPROX_DIGITS 6

/* v rounded half up to APPROX_DIGITS significant decimals; v does not
 * terminate, so it is never a tie. */
static void put_approx(text *b, rat v)
{
    u128 whole = v.num / v.den, rem = v.num % v.den;
    char d[64]; /* v >= 2^-127 > 1e-39: at most 39 leading zeros */
    int n = 0, first = whole ? 0 : -1;
    while (n < (int)sizeof d && (first < 0 || n - first < APPROX_DIGITS)) {
        d[n] = (char)('0' + next_digit(&rem, v.den));
        if (first < 0 && d[n] != '0')
            first = n;
        n++;
    }
    if (next_digit(&rem, v.den) >= 5) {
        int k = n - 1;
        while (k >= 0 && d[k] == '9')
            d[k--] = '0';
        if (k >= 0)
            d[k]++;
        else
            whole++; /* below 2^127: no wrap */
    }
    put_sign(b, v);
    put_u128(b, whole);
    put(b, ".", 1);
    put(b, d, (size_t)n);
}

/* Exact decimals longer than this are shown as a fraction instead. */
#define MAX_PLACES 40

/* An integer or a terminating decimal as itself; anything else as the
 * reduced fraction, which is exact, and a rounded decimal, which is not:
 * "1/3 (exact) ≈ 0.333333". */
static void put_value(text *b, rat v)
{
    if (v.den == 1) {
        put_sign(b, v);
        put_u128(b, v.num);
        return;
    }
    int places = decimal_places(v.den);
    if (places >= 0 && places <= MAX_PLACES) {
        put_decimal(b, v, places);
        return;
    }
    put_sign(b, v);
    put_u128(b, v.num);
    put(b, "/", 1);
    put_u128(b, v.den);
    put_str(b, " (exact) \xe2\x89\x88 ");
    put_approx(b, v);
}

/* ----------------------------------------------------------------- the ops */

typedef struct calc {
    const syn_host_api *host; /* kept for symmetry with other kinds; calc needs nothing of it */
} calc;

static void *calc_create(const syn_host_api *host, syn_error *err)
{
    calc *c = calloc(1, sizeof *c);
    if (!c) {
        err->code = SYN_ERR_NOMEM;
        snprintf(err->msg, sizeof err->msg, "calc: out of memory");
        return NULL;
    }
    c->host = host;
    return c;
}

static void calc_destroy(void *c) { free(c); }

static const char *const calc_capabilities[] = {
    "arithmetic", "calculate", "calculator", "compute", "math",     "add",      "subtract", "multiply",
    "divide",     "sum",       "product",    "plus",    "minus",    "times",    "fraction", "decimal",
};

static const char *const calc_examples[] = {
    "What is 12345 * 6789?", "compute (2+3)*4", "what's 7 times 8", "what is 3 divided by 4?", "0.1 + 0.2",
    "2^10",
};

static int calc_describe(void *c, syn_route_specialist *out)
{
    (void)c;
    out->name = "calc";
    out->description = "Exact arithmetic: + - * / ^ and parentheses on integers and decimals, answered as an exact "
                       "number or fraction, never rounded silently";
    out->capabilities = calc_capabilities;
    out->n_capabilities = (int32_t)(sizeof calc_capabilities / sizeof *calc_capabilities);
    out->examples = calc_examples;
    out->n_examples = (int32_t)(sizeof calc_examples / sizeof *calc_examples);
    return 0;
}

static float calc_claim(void *c, const char *query)
{
    (void)c;
    analysis a;
    if (!query || analyse(query, &a))
        return 0;
    float x = claim_level(&a);
    free(a.lx.t);
    return x;
}

/* Sets err to code and "calc: " and the message; returns -1. */
static int refuse(syn_error *err, int code, const char *fmt, ...) SYN_PRINTF(3, 4);
static int refuse(syn_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(err->msg, sizeof err->msg, "calc: ");
    vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
    va_end(ap);
    err->code = code;
    return -1;
}

/* The query's text s[0, n) for a message: spaces and line breaks as one
 * space, and past cap - 4 bytes cut at a character's start, with "...". */
static void quote(char *out, size_t cap, const char *s, size_t n)
{
    size_t k = 0, i = 0;
    while (i < n) {
        size_t c = 1;
        if (is_space(s[i])) {
            while (i + c < n && is_space(s[i + c]))
                c++;
        } else {
            while (i + c < n && (s[i + c] & 0xc0) == 0x80) /* the rest of this character */
                c++;
        }
        size_t w = is_space(s[i]) ? 1 : c;
        if (k + w > cap - 4 && i + c < n) {
            memcpy(out + k, "...", 3);
            k += 3;
            break;
        }
        if (k + w > cap - 1)
            break;
        if (is_space(s[i]))
            out[k] = ' ';
        else
            memcpy(out + k, s + i, c);
        k += w;
        i += c;
    }
    out[k] = '\0';
}

/* A malformed run, named as the question wrote it. */
static int refuse_malformed(const analysis *a, syn_error *err)
{
    const malformed *m = &a->malformed;
    const tok *t = a->lx.t;
    const char *lo = t[m->start].s, *hi = t[m->start].s + t[m->start].n;
    for (int k = m->start; k < m->end; k++) { /* "subtract 4 from 10" has its numbers swapped */
        if (t[k].s < lo)
            lo = t[k].s;
        if (t[k].s + t[k].n > hi)
            hi = t[k].s + t[k].n;
    }
    char run[128], stray[40];
    quote(run, sizeof run, lo, (size_t)(hi - lo));
    if (m->unbalanced)
        return refuse(err, SYN_ERR_INVALID, "unbalanced parentheses in \"%s\"", run);
    quote(stray, sizeof stray, t[m->stray].s, t[m->stray].n);
    return refuse(err, SYN_ERR_INVALID, "a misplaced '%s' in \"%s\" (nothing for it to apply to)", stray, run);
}

/* Every expression is evaluated before anything is sent, so a fault in
 * any of them leaves the answer unsent and the host free to pass the
 * query on. One line per expression, each emitted as it is made. */
static int answer_all(const analysis *a, syn_text_fn emit, void *user, syn_error *err)
{
    text b = {0};
    int rc = 0;
    for (int i = 0; i < a->n_ex && !rc; i++) {
        const found *x = &a->ex[i];
        if (!x->f.code)
            continue;
        put_expression(&b, a->lx.t, x->start, x->end);
        rc = refuse(err, x->f.code, "%s: %s", b.oom ? "?" : b.s, x->f.why);
    }
    for (int i = 0; i < a->n_ex && !rc; i++) {
        b.n = 0;
        if (i)
            put(&b, "\n", 1);
        put_expression(&b, a->lx.t, a->ex[i].start, a->ex[i].end);
        put_str(&b, " = ");
        put_value(&b, a->ex[i].value);
        if (b.oom)
            rc = refuse(err, SYN_ERR_NOMEM, "out of memory");
        else if (emit(user, b.s, b.n))
            rc = refuse(err, SYN_ERR_IO, "the receiver stopped the answer (the client left)");
    }
    free(b.s);
    return rc;
}

static int calc_answer(void *c, const char *query, syn_text_fn emit, void *user, syn_error *err)
{
    (void)c;
    analysis a;
    if (analyse(query ? query : "", &a))
        return refuse(err, SYN_ERR_NOMEM, "out of memory");
    int rc;
    if (a.lx.truncated)
        rc = refuse(err, SYN_ERR_RANGE, "the question is too long to be a calculation");
    else if (a.too_deep)
        rc = refuse(err, SYN_ERR_RANGE, "the expression is nested too deeply");
    else if (a.bad)
        rc = refuse_malformed(&a, err);
    else if (a.too_many)
        rc = refuse(err, SYN_ERR_RANGE, "more than " STR(MAX_FOUND) " expressions in the question");
    else if (claim_level(&a) > 0)
        rc = answer_all(&a, emit, user, err);
    else
        rc = refuse(err, SYN_ERR_INVALID, "no arithmetic expression in the question");
    free(a.lx.t);
    return rc;
}

static const syn_specialist_ops calc_ops = {
    .struct_size = sizeof(syn_specialist_ops),
    .create = calc_create,
    .destroy = calc_destroy,
    .describe = calc_describe,
    .answer = calc_answer,
    .claim = calc_claim,
};

static int calc_probe(void) { return 10; }

static const syn_plugin calc_plugin = {
    SYN_PLUGIN_HEAD(SYN_PLUGIN_SPECIALIST, "calc", "1.0.0"),
    .probe = calc_probe,
    .ops = &calc_ops,
};

const syn_plugin *synapse_plugin_v1(void);
const syn_plugin *synapse_plugin_v1(void) { return &calc_plugin; }
