/* The thinking block, whole and streamed (see reasoning.h). */
#include <stdlib.h>
#include <string.h>

#include "core/server/reasoning.h"

#define OPEN "<think>"
#define CLOSE "</think>"

static int space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int syn_reasoning_split(const char *text, size_t len, size_t *r_off, size_t *r_len, size_t *c_off)
{
    size_t i = 0;
    while (i < len && space(text[i]))
        i++;
    if (len - i < strlen(OPEN) || memcmp(text + i, OPEN, strlen(OPEN)))
        return 0;
    size_t a = i + strlen(OPEN), b = a;
    while (b + strlen(CLOSE) <= len && memcmp(text + b, CLOSE, strlen(CLOSE)))
        b++;
    if (b + strlen(CLOSE) > len) { /* cut before it closed: all thinking */
        *r_off = a;
        *r_len = len - a;
        *c_off = len;
        return 1;
    }
    size_t c = b + strlen(CLOSE);
    while (c < len && space(text[c]))
        c++;
    while (a < b && space(text[a])) /* the block's own line breaks */
        a++;
    size_t e = b;
    while (e > a && space(text[e - 1]))
        e--;
    *r_off = a;
    *r_len = e - a;
    *c_off = c;
    return 1;
}

enum { START, AFTER_OPEN, THINKING, AFTER, CONTENT };

/* How many of the last bytes of s[0, n) begin tag (a proper prefix of it). */
static size_t tag_start(const char *s, size_t n, const char *tag)
{
    size_t t = strlen(tag);
    for (size_t k = t - 1 < n ? t - 1 : n; k > 0; k--)
        if (!memcmp(s + n - k, tag, k))
            return k;
    return 0;
}

static int step(syn_reasoning_stream *x, const char *s, size_t n, syn_reasoning_fn emit, void *user)
{
    /* what START held before this piece: white space and the start of
     * <think>, ASCII, so a cut after it never splits a character */
    size_t earlier = x->n_held;
    size_t i = 0;
    while (i < n) {
        if (x->state == START) {
            /* white space, then <think> or not: held until it is known */
            int full = x->n_held == sizeof x->held; /* that much white space: an answer */
            size_t p = 0, k = 0;
            if (!full) {
                x->held[x->n_held++] = s[i++];
                while (p < x->n_held && space(x->held[p]))
                    p++;
                k = x->n_held - p;
            }
            if (full || k > strlen(OPEN) || memcmp(x->held + p, OPEN, k)) {
                /* not a block: content, the held start and this piece whole */
                x->state = CONTENT;
                x->n_held = 0;
                int rc = earlier ? emit(user, 0, x->held, earlier) : 0;
                return rc ? rc : emit(user, 0, s, n);
            }
            if (k == strlen(OPEN)) {
                x->state = AFTER_OPEN;
                x->n_held = 0;
            }
        } else if (x->state == AFTER_OPEN || x->state == AFTER) {
            if (space(s[i])) {
                i++;
                continue;
            }
            x->state = x->state == AFTER_OPEN ? THINKING : CONTENT;
        } else if (x->state == THINKING) {
            /* up to </think>; a tag cut between pieces is held (ASCII) */
            size_t m = x->n_held + (n - i);
            char *buf = malloc(m);
            if (!buf)
                return -1;
            memcpy(buf, x->held, x->n_held);
            memcpy(buf + x->n_held, s + i, n - i);
            x->n_held = 0;
            const char *hit = NULL;
            for (size_t k = 0; !hit && k + strlen(CLOSE) <= m; k++)
                if (!memcmp(buf + k, CLOSE, strlen(CLOSE)))
                    hit = buf + k;
            int rc;
            if (hit) {
                size_t before = (size_t)(hit - buf), after = before + strlen(CLOSE);
                rc = before ? emit(user, 1, buf, before) : 0;
                x->state = AFTER;
                if (!rc)
                    rc = step(x, buf + after, m - after, emit, user);
            } else {
                size_t keep = tag_start(buf, m, CLOSE);
                memcpy(x->held, buf + m - keep, keep);
                x->n_held = keep;
                rc = m - keep ? emit(user, 1, buf, m - keep) : 0;
            }
            free(buf);
            return rc;
        } else {
            return emit(user, 0, s + i, n - i);
        }
    }
    return 0;
}

int syn_reasoning_feed(syn_reasoning_stream *x, const char *s, size_t n, syn_reasoning_fn emit, void *user)
{
    return n ? step(x, s, n, emit, user) : 0;
}

int syn_reasoning_flush(syn_reasoning_stream *x, syn_reasoning_fn emit, void *user)
{
    size_t k = x->n_held;
    x->n_held = 0;
    if (!k)
        return 0;
    /* a block's start that never came is content; a tag that never closed, thinking */
    return emit(user, x->state != START, x->held, k);
}
