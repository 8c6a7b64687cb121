/* Cutting text into stems (see words.h). ASCII case-folding only: the
 * capabilities and queries this serves are mostly English, and a byte of a
 * multi-byte character stays part of its word unchanged. */
#include <stdlib.h>
#include <string.h>

#include "plugins/router/words.h"

static int ends(const char *w, size_t n, const char *suffix, size_t keep)
{
    size_t k = strlen(suffix);
    return n >= k + keep && !memcmp(w + n - k, suffix, k);
}

static int vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

void router_stem(char *w)
{
    /* longest first; a stem keeps at least 3 letters */
    static const char *const suffixes[] = {"ingly", "ings", "ing", "ions", "ion", "edly", "ed", "ers", "er", "es", "s", "ly"};
    size_t n = strlen(w);
    for (size_t i = 0; i < n; i++)
        if (w[i] >= 'A' && w[i] <= 'Z')
            w[i] = (char)(w[i] - 'A' + 'a');
    if (ends(w, n, "ies", 2)) {
        strcpy(w + n - 3, "y");
        return;
    }
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        if (!ends(w, n, suffixes[i], 3))
            continue;
        if (!strcmp(suffixes[i], "s") && (w[n - 2] == 's' || w[n - 2] == 'u' || w[n - 2] == 'i'))
            continue; /* class, status, analysis */
        n -= strlen(suffixes[i]);
        w[n] = '\0';
        break;
    }
    /* debugg -> debug, but keep ll, ss, zz (spell, class, buzz) */
    if (n >= 4 && w[n - 1] == w[n - 2] && !vowel(w[n - 1]) && w[n - 1] != 'l' && w[n - 1] != 's' && w[n - 1] != 'z')
        w[--n] = '\0';
    /* translate / translat(ion): the silent e goes */
    if (n >= 4 && w[n - 1] == 'e')
        w[--n] = '\0';
}

static int word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

int router_words_add(router_words *ws, const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        if (!word_byte(*p)) {
            p++;
            continue;
        }
        if (ws->n == ws->cap) {
            size_t cap = ws->cap ? ws->cap * 2 : 16;
            char(*w)[ROUTER_WORD_MAX] = realloc(ws->w, cap * sizeof *w);
            if (!w)
                return -1;
            ws->w = w;
            ws->cap = cap;
        }
        char *out = ws->w[ws->n++];
        size_t n = 0;
        for (; word_byte(*p); p++)
            if (n + 1 < ROUTER_WORD_MAX)
                out[n++] = (char)*p;
        out[n] = '\0';
        router_stem(out);
    }
    return 0;
}

void router_words_free(router_words *ws)
{
    free(ws->w);
    memset(ws, 0, sizeof *ws);
}

long router_words_find(const router_words *text, const router_words *phrase)
{
    if (!phrase->n || phrase->n > text->n)
        return -1;
    for (size_t i = 0; i + phrase->n <= text->n; i++) {
        size_t k = 0;
        while (k < phrase->n && !strcmp(text->w[i + k], phrase->w[k]))
            k++;
        if (k == phrase->n)
            return (long)i;
    }
    return -1;
}
