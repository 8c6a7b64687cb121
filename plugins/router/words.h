/* The router's words: a text cut into lowercase word stems, and a
 * capability phrase found as whole words in them. */
#ifndef SYN_PLUGINS_ROUTER_WORDS_H
#define SYN_PLUGINS_ROUTER_WORDS_H

#include <stddef.h>

#define ROUTER_WORD_MAX 32 /* bytes of a stem, NUL included; longer words are cut */

typedef struct router_words {
    char (*w)[ROUTER_WORD_MAX];
    size_t n, cap;
} router_words;

/* Appends the stems of text's words (runs of letters and digits; bytes of
 * multi-byte UTF-8 count as letters); -1 when out of memory. */
int router_words_add(router_words *ws, const char *text);
void router_words_free(router_words *ws);

/* A word's stem, in place: lowercase, common English suffixes removed
 * ("debugging", "debugger", "debugs" -> "debug"). */
void router_stem(char *word);

/* Where phrase (stems) first occurs as a run of whole words in text, or -1. */
long router_words_find(const router_words *text, const router_words *phrase);

#endif
