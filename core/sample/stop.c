/* Stop-string matcher (see stop.h): owns the stop copies and a buffer of
 * held-back text. One thread at a time per matcher. */
#include "core/sample/stop.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Strict UTF-8: no overlongs, surrogates or code points past U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* Length of the character a lead byte starts (1 for stray bytes). */
static size_t utf8_char_len(unsigned char lead)
{
    if (lead < 0x80)
        return 1;
    if ((lead & 0xe0) == 0xc0)
        return 2;
    if ((lead & 0xf0) == 0xe0)
        return 3;
    if ((lead & 0xf8) == 0xf0)
        return 4;
    return 1;
}

int syn_stop_init(syn_stop *m, const char *const *stops, size_t n, syn_error *err)
{
    memset(m, 0, sizeof *m);
    m->which = -1;
    if (n == 0)
        return 0;
    if (!stops)
        return syn_fail(err, SYN_ERR_INVALID, "stop strings: NULL list");
    for (size_t i = 0; i < n; i++) {
        if (!stops[i] || !stops[i][0])
            return syn_fail(err, SYN_ERR_INVALID, "stop string %zu is empty", i);
        if (!utf8_valid((const unsigned char *)stops[i], strlen(stops[i])))
            return syn_fail(err, SYN_ERR_INVALID, "stop string %zu is not valid UTF-8", i);
    }
    m->stops = calloc(n, sizeof *m->stops);
    m->lens = calloc(n, sizeof *m->lens);
    if (!m->stops || !m->lens)
        goto nomem;
    m->n_stops = n;
    for (size_t i = 0; i < n; i++) {
        m->lens[i] = strlen(stops[i]);
        m->stops[i] = malloc(m->lens[i] + 1);
        if (!m->stops[i])
            goto nomem;
        memcpy(m->stops[i], stops[i], m->lens[i] + 1);
    }
    return 0;
nomem:
    syn_stop_free(m);
    return syn_fail(err, SYN_ERR_NOMEM, "stop strings: out of memory");
}

void syn_stop_free(syn_stop *m)
{
    if (m->stops)
        for (size_t i = 0; i < m->n_stops; i++)
            free(m->stops[i]);
    free(m->stops);
    free(m->lens);
    free(m->buf);
    memset(m, 0, sizeof *m);
    m->which = -1;
}

void syn_stop_reset(syn_stop *m)
{
    m->len = m->emitted = 0;
    m->which = -1;
}

int syn_stop_which(const syn_stop *m) { return m->which; }

/* Drops what the previous call handed out; keeps the held tail. */
static void consume_emitted(syn_stop *m)
{
    if (m->emitted) {
        memmove(m->buf, m->buf + m->emitted, m->len - m->emitted);
        m->len -= m->emitted;
        m->emitted = 0;
    }
}

/* Does the tail buf[pos, len) equal the start of some stop string? */
static bool tail_is_prefix(const syn_stop *m, size_t pos)
{
    size_t tail = m->len - pos;
    for (size_t i = 0; i < m->n_stops; i++)
        if (m->lens[i] > tail && memcmp(m->buf + pos, m->stops[i], tail) == 0)
            return true;
    return false;
}

int syn_stop_feed(syn_stop *m, const char *bytes, size_t n, const char **out, size_t *out_len, int *stopped)
{
    consume_emitted(m);
    *out = m->buf;
    *out_len = 0;
    *stopped = m->which >= 0;
    if (m->which >= 0)
        return 0;
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 64;
        while (cap < m->len + n)
            cap *= 2;
        char *buf = realloc(m->buf, cap);
        if (!buf)
            return SYN_ERR_NOMEM;
        m->buf = buf;
        m->cap = cap;
    }
    if (n)
        memcpy(m->buf + m->len, bytes, n);
    m->len += n;
    *out = m->buf;

    /* The stop that completes first wins: earliest end, then earliest start.
     * That choice is the same however the text is chunked, which is what
     * makes streamed output equal the non-streamed one. Held bytes contain no
     * complete stop (checked when they arrived), so only matches ending in
     * the new bytes are possible. */
    size_t first = m->len, first_end = SIZE_MAX;
    int which = -1;
    for (size_t i = 0; i < m->n_stops; i++) {
        size_t sl = m->lens[i];
        if (sl > m->len)
            continue;
        size_t from = m->len - n >= sl ? m->len - n - sl + 1 : 0;
        for (size_t pos = from; pos + sl <= m->len && pos + sl <= first_end; pos++) {
            if (memcmp(m->buf + pos, m->stops[i], sl) == 0) {
                if (pos + sl < first_end || pos < first) {
                    first = pos;
                    first_end = pos + sl;
                    which = (int)i;
                }
                break;
            }
        }
    }
    if (which >= 0) {
        m->which = which;
        m->len = first;
        m->emitted = first;
        *out_len = first;
        *stopped = 1;
        return 0;
    }

    /* Hold back from the earliest position whose tail could still grow into a
     * stop; earlier positions can no longer start one. */
    size_t hold = m->len, longest = 0;
    for (size_t i = 0; i < m->n_stops; i++)
        longest = m->lens[i] > longest ? m->lens[i] : longest;
    for (size_t pos = m->len >= longest ? m->len - longest + 1 : 0; pos < m->len; pos++) {
        if (tail_is_prefix(m, pos)) {
            hold = pos;
            break;
        }
    }
    /* Never split a character: the input should be whole characters, but a
     * token piece may end inside one. Hold the last character before `hold`
     * if it does not end by then. */
    if (hold > 0) {
        const unsigned char *u = (const unsigned char *)m->buf;
        size_t k = hold - 1;
        while (k > 0 && hold - k < 4 && (u[k] & 0xc0) == 0x80)
            k--;
        if (k + utf8_char_len(u[k]) > hold)
            hold = k;
    }
    m->emitted = hold;
    *out_len = hold;
    return 0;
}

void syn_stop_flush(syn_stop *m, const char **out, size_t *out_len)
{
    consume_emitted(m);
    *out = m->buf;
    *out_len = m->which >= 0 ? 0 : m->len;
    m->emitted = *out_len;
}
