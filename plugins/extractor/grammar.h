/* The fact grammar: English statements cut into (subject, predicate,
 * object) triples by a small set of patterns (copula, common verbs and
 * their passives, lists, negation), sentence by sentence. Questions,
 * hedged statements and pronoun subjects give nothing. Shared by the
 * extractor and, later, the verifier. Pure functions, any thread. */
#ifndef SYN_PLUGINS_GRAMMAR_H
#define SYN_PLUGINS_GRAMMAR_H

#include <stddef.h>

typedef struct grammar_fact {
    char *subject; /* as written, one entity */
    const char *predicate; /* canonical: "is a", "uses", "created by", ... */
    char *object;
    int negated;
    size_t start, end; /* the sentence it came from: bytes [start, end) of the text */
} grammar_fact;

/* Called for each fact found; nonzero stops. */
typedef int (*grammar_fact_fn)(void *user, const grammar_fact *f);

/* The facts of text; -1 when out of memory or stopped, else 0. */
int grammar_extract(const char *text, grammar_fact_fn emit, void *user);

#endif
