/* Strict RFC 8259 JSON parser (see json_value.h).
 *
 * Recursive descent, depth-limited. Parsed values wait on a stack; when an
 * array or object closes, its direct children move from the stack top into
 * the node array as one contiguous block, so element i of a container is
 * block[i]. Object members also get a permutation sorted by key (a stable
 * merge sort), which finds duplicate keys at close and serves lookups by
 * binary search. While parsing, links are indexes (the arrays grow by
 * realloc); once done, the arrays are trimmed and indexes become pointers. */
#include "config.h" /* _GNU_SOURCE: strtod_l */

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "formats/json_value.h"

enum {
    F_INTLIT = 1,  /* number written without fraction or exponent */
    F_INT64 = 2,   /* ... that fits int64_t: the value is num.i */
    F_NEGZERO = 4, /* "-0" */
    F_TRUE = 8,    /* booleans */
    F_MEMBER = 16, /* an object member: key is set */
};

union ref {
    size_t ix; /* while parsing */
    const void *p;
};

struct syn_json {
    uint8_t kind, flags;
    uint32_t n;          /* string: bytes; array/object: elements/members */
    uint32_t offset;     /* where the value starts in the text */
    uint32_t key_len;    /* members */
    uint32_t key_offset; /* members: where the key's opening quote is */
    union {
        double d;
        int64_t i;
    } num;
    union ref a;   /* string: its bytes; array/object: first child */
    union ref b;   /* object: uint32_t member indexes sorted by key */
    union ref key; /* members: the key's bytes */
};

struct syn_json_doc {
    struct syn_json *nodes;
    char *str;
    uint32_t *ord;
    const struct syn_json *root;
};

struct parser {
    const char *s;
    size_t len, pos;
    size_t max_depth, max_nodes, n_values;
    struct syn_json *stk; /* values not yet placed in a container */
    size_t n_stk, cap_stk;
    struct syn_json *nodes;
    size_t n_nodes, cap_nodes;
    char *str; /* unescaped strings and keys, each NUL-terminated */
    size_t n_str, cap_str;
    uint32_t *ord;
    size_t n_ord, cap_ord;
    uint32_t *tmp; /* merge sort scratch */
    size_t cap_tmp;
    syn_error *err;
};

/* ------------------------------------------------------------ helpers */

/* p with room for need elements (p itself if it has it); on failure *rc is
 * set and p returned unchanged. */
static void *grow(struct parser *P, void *p, size_t *cap, size_t need, size_t elem, int *rc)
{
    *rc = 0;
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = c <= SIZE_MAX / elem ? realloc(p, c * elem) : NULL;
    if (!q) {
        *rc = syn_fail(P->err, SYN_ERR_NOMEM, "out of memory parsing JSON (%zu values so far)", P->n_values);
        return p;
    }
    *cap = c;
    return q;
}

/* Text from the input for a message: short, printable, quoted by the caller. */
static const char *printable(char *buf, size_t cap, const char *s, size_t n)
{
    size_t max = cap - 4, k = 0;
    for (size_t i = 0; i < n && k < max; i++)
        buf[k++] = ((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f) ? s[i] : '?';
    if (n > max)
        memcpy(buf + k, "...", 3), k += 3;
    buf[k] = '\0';
    return buf;
}

/* What is at pos, for "unexpected ..." messages. */
static const char *describe(const struct parser *P, size_t pos, char *buf, size_t cap)
{
    if (pos >= P->len)
        return "end of input";
    unsigned char c = (unsigned char)P->s[pos];
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, cap, "'%c'", c);
    else
        snprintf(buf, cap, "byte 0x%02x", c);
    return buf;
}

static int unexpected(struct parser *P, const char *expected)
{
    char d[16];
    return syn_fail(P->err, SYN_ERR_FORMAT, "unexpected %s at byte %zu, expected %s", describe(P, P->pos, d, sizeof d),
                    P->pos, expected);
}

static void skip_ws(struct parser *P)
{
    while (P->pos < P->len) {
        char c = P->s[P->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        P->pos++;
    }
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/* Length of the well-formed UTF-8 sequence at s (n > 0 bytes available), 0 if
 * it is not one: overlong forms, surrogates and code points past U+10FFFF are
 * refused (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

static size_t utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* ------------------------------------------------------------ scalars */

/* The string whose opening quote is at pos, unescaped into the string arena:
 * *off its start there, *n_out its length. */
static int parse_string(struct parser *P, size_t *off, uint32_t *n_out)
{
    const char *s = P->s;
    size_t start = P->pos, q = start + 1;
    while (q < P->len && s[q] != '"')
        q += s[q] == '\\' ? 2 : 1;
    if (q >= P->len)
        return syn_fail(P->err, SYN_ERR_FORMAT, "unterminated string starting at byte %zu", start);
    /* unescaped, a string is never longer than its source */
    int rc;
    P->str = grow(P, P->str, &P->cap_str, P->n_str + (q - start - 1) + 1, 1, &rc);
    if (rc)
        return rc;
    char *out = P->str + P->n_str;
    size_t p = start + 1;
    while (p < q) {
        unsigned char c = (unsigned char)s[p];
        if (c == '\\') {
            char e = s[p + 1];
            uint32_t cp;
            switch (e) {
            case '"': case '\\': case '/': *out++ = e; p += 2; continue;
            case 'b': *out++ = '\b'; p += 2; continue;
            case 'f': *out++ = '\f'; p += 2; continue;
            case 'n': *out++ = '\n'; p += 2; continue;
            case 'r': *out++ = '\r'; p += 2; continue;
            case 't': *out++ = '\t'; p += 2; continue;
            case 'u': break;
            default: {
                char d[16];
                P->pos = p + 1;
                return syn_fail(P->err, SYN_ERR_FORMAT, "invalid escape: backslash then %s at byte %zu",
                                describe(P, p + 1, d, sizeof d), p);
            }
            }
            if (q - p < 6 || hex4(s + p + 2, &cp) != 0)
                return syn_fail(P->err, SYN_ERR_FORMAT, "invalid \\u escape at byte %zu (needs 4 hex digits)", p);
            if (cp == 0)
                return syn_fail(P->err, SYN_ERR_FORMAT, "\\u0000 at byte %zu: NUL is not allowed in strings", p);
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return syn_fail(P->err, SYN_ERR_FORMAT, "lone low surrogate \\u%04X at byte %zu", (unsigned)cp, p);
            if (cp >= 0xd800 && cp <= 0xdbff) {
                uint32_t lo;
                if (q - p < 12 || s[p + 6] != '\\' || s[p + 7] != 'u' || hex4(s + p + 8, &lo) != 0 || lo < 0xdc00 ||
                    lo > 0xdfff)
                    return syn_fail(P->err, SYN_ERR_FORMAT,
                                    "lone high surrogate \\u%04X at byte %zu (not followed by a low surrogate)",
                                    (unsigned)cp, p);
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 12;
            } else {
                p += 6;
            }
            out += utf8_put(cp, out);
        } else if (c < 0x20) {
            return syn_fail(P->err, SYN_ERR_FORMAT, "control character 0x%02x in a string at byte %zu (must be escaped)",
                            c, p);
        } else if (c < 0x80) {
            *out++ = (char)c;
            p++;
        } else {
            size_t k = utf8_seq((const unsigned char *)s + p, q - p);
            if (!k)
                return syn_fail(P->err, SYN_ERR_FORMAT, "invalid UTF-8 in a string at byte %zu", p);
            memcpy(out, s + p, k);
            out += k;
            p += k;
        }
    }
    *out = '\0';
    *off = P->n_str;
    *n_out = (uint32_t)(out - (P->str + P->n_str));
    P->n_str += *n_out + 1;
    P->pos = q + 1;
    return 0;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

/* strtod in the C locale whatever the program's LC_NUMERIC; s is NUL-terminated. */
static double c_strtod(const char *s)
{
    pthread_once(&c_locale_once, c_locale_init);
    return c_locale ? strtod_l(s, NULL, c_locale) : strtod(s, NULL);
}

static int parse_number(struct parser *P, struct syn_json *v)
{
    const char *s = P->s;
    size_t start = P->pos, p = start;
    bool neg = s[p] == '-';
    if (neg)
        p++;
    if (p >= P->len || !is_digit(s[p]))
        return syn_fail(P->err, SYN_ERR_FORMAT, "invalid number at byte %zu: no digit after '-'", start);
    uint64_t mag = 0;
    bool overflow = false;
    if (s[p] == '0') {
        p++;
        if (p < P->len && is_digit(s[p]))
            return syn_fail(P->err, SYN_ERR_FORMAT, "invalid number at byte %zu: leading zero", start);
    } else {
        for (; p < P->len && is_digit(s[p]); p++) {
            unsigned d = (unsigned)(s[p] - '0');
            if (mag > (UINT64_MAX - d) / 10)
                overflow = true;
            else
                mag = mag * 10 + d;
        }
    }
    bool intlit = true;
    if (p < P->len && s[p] == '.') {
        p++;
        if (p >= P->len || !is_digit(s[p]))
            return syn_fail(P->err, SYN_ERR_FORMAT, "invalid number at byte %zu: no digit after '.'", start);
        while (p < P->len && is_digit(s[p]))
            p++;
        intlit = false;
    }
    if (p < P->len && (s[p] == 'e' || s[p] == 'E')) {
        p++;
        if (p < P->len && (s[p] == '+' || s[p] == '-'))
            p++;
        if (p >= P->len || !is_digit(s[p]))
            return syn_fail(P->err, SYN_ERR_FORMAT, "invalid number at byte %zu: no digit in the exponent", start);
        while (p < P->len && is_digit(s[p]))
            p++;
        intlit = false;
    }
    P->pos = p;
    v->kind = SYN_JSON_NUMBER;
    if (intlit) {
        v->flags |= F_INTLIT;
        if (!overflow && mag <= (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) {
            v->flags |= F_INT64;
            v->num.i = !neg ? (int64_t)mag : mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
            if (neg && mag == 0)
                v->flags |= F_NEGZERO;
            return 0;
        }
    }
    /* the text need not be NUL-terminated: convert a copy */
    size_t n = p - start;
    char small[64], *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf)
        return syn_fail(P->err, SYN_ERR_NOMEM, "out of memory for a %zu-byte number", n);
    memcpy(buf, s + start, n);
    buf[n] = '\0';
    double d = c_strtod(buf);
    if (buf != small)
        free(buf);
    if (!isfinite(d)) {
        char pb[40];
        return syn_fail(P->err, SYN_ERR_FORMAT, "number %s at byte %zu is out of range (not a finite double)",
                        printable(pb, sizeof pb, s + start, n), start);
    }
    v->num.d = d;
    return 0;
}

/* ------------------------------------------------------------ containers */

static int push(struct parser *P, const struct syn_json *v)
{
    int rc;
    P->stk = grow(P, P->stk, &P->cap_stk, P->n_stk + 1, sizeof *P->stk, &rc);
    if (rc)
        return rc;
    P->stk[P->n_stk++] = *v;
    return 0;
}

/* Moves the values on the stack from mark up into the node array; returns
 * where the block starts through *base. */
static int place_children(struct parser *P, size_t mark, size_t *base)
{
    size_t n = P->n_stk - mark;
    int rc;
    P->nodes = grow(P, P->nodes, &P->cap_nodes, P->n_nodes + n, sizeof *P->nodes, &rc);
    if (rc)
        return rc;
    *base = P->n_nodes;
    if (n)
        memcpy(P->nodes + P->n_nodes, P->stk + mark, n * sizeof *P->nodes);
    P->n_nodes += n;
    P->n_stk = mark;
    return 0;
}

static int key_cmp(const struct parser *P, const struct syn_json *a, const struct syn_json *b)
{
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(P->str + a->key.ix, P->str + b->key.ix, n);
    return c ? c : (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/* Sorts idx[0..n) (indexes into members) by key, stable: bottom-up merge sort. */
static void sort_members(const struct parser *P, const struct syn_json *members, uint32_t *idx, uint32_t *tmp, size_t n)
{
    uint32_t *src = idx, *dst = tmp;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = key_cmp(P, &members[src[j]], &members[src[i]]) < 0 ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != idx)
        memcpy(idx, src, n * sizeof *idx);
}

static int parse_value(struct parser *P, size_t depth);

static int close_object(struct parser *P, struct syn_json *obj, size_t mark)
{
    size_t n = P->n_stk - mark, base;
    int rc = place_children(P, mark, &base);
    if (!rc)
        P->ord = grow(P, P->ord, &P->cap_ord, P->n_ord + n, sizeof *P->ord, &rc);
    if (!rc)
        P->tmp = grow(P, P->tmp, &P->cap_tmp, n, sizeof *P->tmp, &rc);
    if (rc)
        return rc;
    const struct syn_json *members = P->nodes + base;
    uint32_t *idx = P->ord + P->n_ord;
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    sort_members(P, members, idx, P->tmp, n);
    for (size_t i = 1; i < n; i++) {
        const struct syn_json *a = &members[idx[i - 1]], *b = &members[idx[i]];
        if (key_cmp(P, a, b) == 0) {
            char pb[80];
            return syn_fail(P->err, SYN_ERR_FORMAT, "duplicate key \"%s\" at byte %u (first at byte %u)",
                            printable(pb, sizeof pb, P->str + b->key.ix, b->key_len), b->key_offset, a->key_offset);
        }
    }
    obj->a.ix = base;
    obj->b.ix = P->n_ord;
    obj->n = (uint32_t)n;
    P->n_ord += n;
    return push(P, obj);
}

static int parse_object(struct parser *P, struct syn_json *obj, size_t depth)
{
    size_t mark = P->n_stk;
    P->pos++; /* '{' */
    skip_ws(P);
    if (P->pos < P->len && P->s[P->pos] == '}') {
        P->pos++;
        return close_object(P, obj, mark);
    }
    for (;;) {
        skip_ws(P);
        if (P->pos >= P->len || P->s[P->pos] != '"')
            return unexpected(P, P->n_stk == mark ? "a string key or '}'" : "a string key");
        size_t key_at = P->pos, off;
        uint32_t klen;
        int rc = parse_string(P, &off, &klen);
        if (rc)
            return rc;
        skip_ws(P);
        if (P->pos >= P->len || P->s[P->pos] != ':')
            return unexpected(P, "':' after the object key");
        P->pos++;
        rc = parse_value(P, depth + 1);
        if (rc)
            return rc;
        struct syn_json *m = &P->stk[P->n_stk - 1];
        m->flags |= F_MEMBER;
        m->key.ix = off;
        m->key_len = klen;
        m->key_offset = (uint32_t)key_at;
        skip_ws(P);
        if (P->pos < P->len && P->s[P->pos] == ',') {
            P->pos++;
            continue;
        }
        if (P->pos < P->len && P->s[P->pos] == '}') {
            P->pos++;
            return close_object(P, obj, mark);
        }
        return unexpected(P, "',' or '}' after an object member");
    }
}

static int parse_array(struct parser *P, struct syn_json *arr, size_t depth)
{
    size_t mark = P->n_stk;
    P->pos++; /* '[' */
    skip_ws(P);
    if (!(P->pos < P->len && P->s[P->pos] == ']')) {
        for (;;) {
            int rc = parse_value(P, depth + 1);
            if (rc)
                return rc;
            skip_ws(P);
            if (P->pos < P->len && P->s[P->pos] == ',') {
                P->pos++;
                continue;
            }
            if (P->pos < P->len && P->s[P->pos] == ']')
                break;
            return unexpected(P, "',' or ']' after an array element");
        }
    }
    P->pos++; /* ']' */
    size_t n = P->n_stk - mark, base;
    int rc = place_children(P, mark, &base);
    if (rc)
        return rc;
    arr->a.ix = base;
    arr->n = (uint32_t)n;
    return push(P, arr);
}

static int parse_literal(struct parser *P, const char *word, struct syn_json *v)
{
    size_t n = strlen(word);
    if (P->len - P->pos < n || memcmp(P->s + P->pos, word, n) != 0)
        return syn_fail(P->err, SYN_ERR_FORMAT, "invalid literal at byte %zu (expected true, false or null)", P->pos);
    P->pos += n;
    return push(P, v);
}

/* Parses one value (after optional whitespace) and pushes it. depth: how
 * many containers enclose it. */
static int parse_value(struct parser *P, size_t depth)
{
    skip_ws(P);
    if (P->pos >= P->len)
        return unexpected(P, "a value");
    if (++P->n_values > P->max_nodes)
        return syn_fail(P->err, SYN_ERR_RANGE, "more than %zu values (the limit) at byte %zu", P->max_nodes, P->pos);
    struct syn_json v;
    memset(&v, 0, sizeof v);
    v.offset = (uint32_t)P->pos;
    char c = P->s[P->pos];
    if (c == '{' || c == '[') {
        if (depth + 1 > P->max_depth)
            return syn_fail(P->err, SYN_ERR_RANGE, "nesting deeper than %zu levels at byte %zu", P->max_depth, P->pos);
        v.kind = c == '{' ? SYN_JSON_OBJECT : SYN_JSON_ARRAY;
        return c == '{' ? parse_object(P, &v, depth) : parse_array(P, &v, depth);
    }
    if (c == '"') {
        size_t off;
        int rc = parse_string(P, &off, &v.n);
        if (rc)
            return rc;
        v.kind = SYN_JSON_STRING;
        v.a.ix = off;
        return push(P, &v);
    }
    if (c == '-' || is_digit(c)) {
        int rc = parse_number(P, &v);
        return rc ? rc : push(P, &v);
    }
    if (c == 't' || c == 'f') {
        v.kind = SYN_JSON_BOOL;
        v.flags = c == 't' ? F_TRUE : 0;
        return parse_literal(P, c == 't' ? "true" : "false", &v);
    }
    if (c == 'n') {
        v.kind = SYN_JSON_NULL;
        return parse_literal(P, "null", &v);
    }
    return unexpected(P, "a value");
}

/* ------------------------------------------------------------ document */

static void *trim(void *p, size_t n, size_t elem)
{
    void *q = n ? realloc(p, n * elem) : NULL;
    if (!n)
        free(p);
    return n && !q ? p : q;
}

int syn_json_parse(const char *text, size_t len, const syn_json_limits *limits, syn_json_doc **out, syn_error *err)
{
    *out = NULL;
    struct parser P;
    memset(&P, 0, sizeof P);
    P.s = text;
    P.len = len;
    P.err = err;
    P.max_depth = limits && limits->max_depth ? limits->max_depth : SYN_JSON_DEFAULT_DEPTH;
    size_t max_bytes = limits && limits->max_bytes ? limits->max_bytes : SYN_JSON_DEFAULT_BYTES;
    P.max_nodes = limits && limits->max_nodes ? limits->max_nodes : SYN_JSON_DEFAULT_NODES;
    /* offsets, lengths and counts are kept in 32 bits */
    if (max_bytes > UINT32_MAX - 1)
        max_bytes = UINT32_MAX - 1;
    if (P.max_nodes > UINT32_MAX - 1)
        P.max_nodes = UINT32_MAX - 1;
    if (!text && len)
        return syn_fail(err, SYN_ERR_INVALID, "no JSON text");
    if (len > max_bytes)
        return syn_fail(err, SYN_ERR_RANGE, "JSON text is %zu bytes, over the limit of %zu", len, max_bytes);

    int rc = parse_value(&P, 0);
    if (!rc) {
        skip_ws(&P);
        if (P.pos < P.len) {
            char d[16];
            rc = syn_fail(err, SYN_ERR_FORMAT, "trailing %s at byte %zu after the JSON value",
                          describe(&P, P.pos, d, sizeof d), P.pos);
        }
    }
    size_t root = 0;
    if (!rc)
        rc = place_children(&P, 0, &root);
    syn_json_doc *doc = NULL;
    if (!rc && !(doc = calloc(1, sizeof *doc)))
        rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory parsing JSON");
    free(P.stk);
    free(P.tmp);
    if (rc) {
        free(P.nodes);
        free(P.str);
        free(P.ord);
        return rc;
    }
    doc->nodes = trim(P.nodes, P.n_nodes, sizeof *P.nodes);
    doc->str = trim(P.str, P.n_str, 1);
    doc->ord = trim(P.ord, P.n_ord, sizeof *P.ord);
    for (size_t i = 0; i < P.n_nodes; i++) {
        struct syn_json *v = &doc->nodes[i];
        if (v->kind == SYN_JSON_STRING)
            v->a.p = doc->str + v->a.ix;
        else if (v->kind == SYN_JSON_ARRAY || v->kind == SYN_JSON_OBJECT)
            v->a.p = v->n ? doc->nodes + v->a.ix : NULL;
        if (v->kind == SYN_JSON_OBJECT)
            v->b.p = v->n ? doc->ord + v->b.ix : NULL;
        if (v->flags & F_MEMBER)
            v->key.p = doc->str + v->key.ix;
    }
    doc->root = &doc->nodes[root];
    *out = doc;
    return 0;
}

void syn_json_free(syn_json_doc *doc)
{
    if (!doc)
        return;
    free(doc->nodes);
    free(doc->str);
    free(doc->ord);
    free(doc);
}

const syn_json *syn_json_root(const syn_json_doc *doc) { return doc ? doc->root : NULL; }

/* ------------------------------------------------------------ access */

int syn_json_kind_of(const syn_json *v) { return v ? v->kind : -1; }

const char *syn_json_kind_name(int kind)
{
    switch (kind) {
    case SYN_JSON_NULL: return "null";
    case SYN_JSON_BOOL: return "boolean";
    case SYN_JSON_NUMBER: return "number";
    case SYN_JSON_STRING: return "string";
    case SYN_JSON_ARRAY: return "array";
    case SYN_JSON_OBJECT: return "object";
    default: return "absent";
    }
}

size_t syn_json_offset(const syn_json *v) { return v ? v->offset : 0; }

size_t syn_json_len(const syn_json *v)
{
    return v && (v->kind == SYN_JSON_ARRAY || v->kind == SYN_JSON_OBJECT) ? v->n : 0;
}

const syn_json *syn_json_at(const syn_json *v, size_t i)
{
    if (!v || (v->kind != SYN_JSON_ARRAY && v->kind != SYN_JSON_OBJECT) || i >= v->n)
        return NULL;
    return (const syn_json *)v->a.p + i;
}

const char *syn_json_key_at(const syn_json *v, size_t i, size_t *len)
{
    if (!v || v->kind != SYN_JSON_OBJECT || i >= v->n)
        return NULL;
    const syn_json *m = (const syn_json *)v->a.p + i;
    if (len)
        *len = m->key_len;
    return m->key.p;
}

const syn_json *syn_json_get_n(const syn_json *obj, const char *key, size_t klen)
{
    if (!obj || obj->kind != SYN_JSON_OBJECT || !key)
        return NULL;
    const syn_json *members = obj->a.p;
    const uint32_t *idx = obj->b.p;
    size_t lo = 0, hi = obj->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const syn_json *m = &members[idx[mid]];
        size_t n = m->key_len < klen ? m->key_len : klen;
        int c = memcmp(m->key.p, key, n);
        if (!c)
            c = (m->key_len > klen) - (m->key_len < klen);
        if (!c)
            return m;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const syn_json *syn_json_get(const syn_json *obj, const char *key)
{
    return key ? syn_json_get_n(obj, key, strlen(key)) : NULL;
}

int syn_json_bool(const syn_json *v, bool *out)
{
    if (!v)
        return SYN_ERR_NOT_FOUND;
    if (v->kind != SYN_JSON_BOOL)
        return SYN_ERR_FORMAT;
    *out = (v->flags & F_TRUE) != 0;
    return 0;
}

int syn_json_number(const syn_json *v, double *out)
{
    if (!v)
        return SYN_ERR_NOT_FOUND;
    if (v->kind != SYN_JSON_NUMBER)
        return SYN_ERR_FORMAT;
    if (v->flags & F_NEGZERO)
        *out = -0.0;
    else
        *out = (v->flags & F_INT64) ? (double)v->num.i : v->num.d;
    return 0;
}

int syn_json_int64(const syn_json *v, int64_t *out)
{
    if (!v)
        return SYN_ERR_NOT_FOUND;
    if (v->kind != SYN_JSON_NUMBER || !(v->flags & F_INTLIT))
        return SYN_ERR_FORMAT;
    if (!(v->flags & F_INT64))
        return SYN_ERR_RANGE;
    *out = v->num.i;
    return 0;
}

int syn_json_string(const syn_json *v, const char **out, size_t *len)
{
    if (!v)
        return SYN_ERR_NOT_FOUND;
    if (v->kind != SYN_JSON_STRING)
        return SYN_ERR_FORMAT;
    *out = v->a.p;
    if (len)
        *len = v->n;
    return 0;
}
