/* The router's stems and whole-word phrase matching (plugins/router/words.c):
 * the wordings a capability must match, and the near misses it must not. */
#include <string.h>

#include "plugins/router/words.h"
#include "tests/check.h"

static void stem_is(const char *word, const char *want)
{
    char w[ROUTER_WORD_MAX];
    strcpy(w, word);
    router_stem(w);
    CHECK_MSG(!strcmp(w, want), "stem(%s) = %s, want %s", word, w, want);
}

/* 1 when phrase occurs in text as whole words */
static int found(const char *text, const char *phrase)
{
    router_words t = {0}, p = {0};
    CHECK(router_words_add(&t, text) == 0 && router_words_add(&p, phrase) == 0);
    long at = router_words_find(&t, &p);
    router_words_free(&t);
    router_words_free(&p);
    return at >= 0;
}

int main(void)
{
    static const char *const debug[] = {"debug", "debugging", "debugger", "debugs", "debugged", "Debugging"};
    for (size_t i = 0; i < sizeof debug / sizeof *debug; i++)
        stem_is(debug[i], "debug");
    stem_is("tests", "test");
    stem_is("testing", "test");
    stem_is("translation", "translat");
    stem_is("translate", "translat");
    stem_is("translating", "translat");
    stem_is("queries", "query");
    stem_is("class", "class");
    stem_is("classes", "class");
    stem_is("status", "status");
    stem_is("running", "run");
    stem_is("sql", "sql");
    stem_is("is", "is");

    CHECK(found("Can you help me with debugging this C code?", "debug"));
    CHECK(found("DEBUG: it crashes", "debug"));
    CHECK(found("write unit tests for it", "unit testing"));
    CHECK(found("translate this, please", "translation"));
    CHECK(!found("the debutante", "debug")); /* whole words only */
    CHECK(!found("a debugapp crash", "debug"));
    CHECK(!found("unit of tests", "unit testing")); /* a phrase is a run of words */
    CHECK(!found("anything", ""));
    CHECK(found("résumé writing", "writing"));
    return CHECK_DONE();
}
