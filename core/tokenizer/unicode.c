/* UTF-8 helpers for the tokenizer and the streaming detokenizer. Pure
 * functions; any thread. The class tables live in unicode_tables.c. */
#include "core/tokenizer/unicode.h"

/* Returns 0 for a malformed sequence at s (never for n == 0 callers). */
static size_t decode_raw(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v;
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        v = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        v = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        v = c & 0x07u;
    } else {
        return 0; /* continuation byte as a lead, or 0xF8.. */
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    *cp = v;
    return len;
}

size_t syn_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len = decode_raw(s, n, cp);
    if (len)
        return len;
    *cp = SYN_UNICODE_REPLACEMENT;
    return 1;
}

size_t syn_utf8_encode(uint32_t cp, char out[4])
{
    if (cp > SYN_UNICODE_MAX)
        cp = SYN_UNICODE_REPLACEMENT;
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static size_t canonical_len(uint32_t cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

int syn_utf8_is_canonical(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = decode_raw(s + i, n - i, &cp);
        if (!len || cp > SYN_UNICODE_MAX || canonical_len(cp) != len)
            return 0;
        i += len;
    }
    return 1;
}

/* Strict (RFC 3629) check of the sequence at s: returns its length if it is one
 * whole valid character; otherwise 0 and *part = the length of its maximal
 * well-formed-so-far prefix (>= 1), which Unicode replaces by one U+FFFD. */
static size_t strict_seq(const unsigned char *s, size_t n, size_t *part)
{
    unsigned char lead = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the first continuation */
    if (lead < 0x80)
        return 1;
    if (lead >= 0xC2 && lead <= 0xDF)
        need = 2;
    else if (lead >= 0xE0 && lead <= 0xEF) {
        need = 3;
        if (lead == 0xE0)
            lo = 0xA0;
        else if (lead == 0xED)
            hi = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        need = 4;
        if (lead == 0xF0)
            lo = 0x90;
        else if (lead == 0xF4)
            hi = 0x8F;
    } else {
        *part = 1;
        return 0;
    }
    size_t k = 1;
    while (k < need && k < n) {
        unsigned char c = s[k];
        if (k == 1 ? (c < lo || c > hi) : (c & 0xC0) != 0x80)
            break;
        k++;
    }
    if (k == need)
        return need;
    *part = k;
    return 0;
}

size_t syn_utf8_incomplete_tail(const unsigned char *s, size_t n)
{
    /* A lead byte within the last 3 bytes whose sequence is valid so far but
     * runs past the end. */
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        const unsigned char *p = s + n - k;
        if ((*p & 0xC0) == 0x80)
            continue;
        size_t part;
        if (*p >= 0xC2 && *p <= 0xF4 && strict_seq(p, k, &part) == 0 && part == k)
            return k;
        return 0;
    }
    return 0;
}

size_t syn_utf8_valid_prefix(const unsigned char *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t part;
        size_t len = strict_seq(s + i, n - i, &part);
        if (!len) {
            *bad = part;
            return i;
        }
        i += len;
    }
    *bad = 0;
    return n;
}
