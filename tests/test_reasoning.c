/* The thinking block (core/server/reasoning.c): split from a whole answer,
 * and the same split from every way of cutting it into stream pieces,
 * down to a byte at a time; answers that do not think stay content,
 * white space and all; a piece that turns out to be content goes out
 * whole, never a character cut in two. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server/reasoning.h"
#include "tests/check.h"

typedef struct got {
    char think[512], content[512];
    size_t nt, nc;
} got;

static int take(void *user, int reasoning, const char *text, size_t len)
{
    got *g = user;
    char *dst = reasoning ? g->think : g->content;
    size_t *n = reasoning ? &g->nt : &g->nc;
    CHECK(*n + len < sizeof g->think);
    memcpy(dst + *n, text, len);
    *n += len;
    dst[*n] = 0;
    return 0;
}

/* The stream of text in pieces of size `piece`, as got. */
static got streamed(const char *text, size_t piece)
{
    got g = {0};
    syn_reasoning_stream x = {0};
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i += piece)
        CHECK(syn_reasoning_feed(&x, text + i, n - i < piece ? n - i : piece, take, &g) == 0);
    CHECK(syn_reasoning_flush(&x, take, &g) == 0);
    return g;
}

static void case_(const char *text, int thinks, const char *think, const char *content)
{
    size_t ro, rl, co, n = strlen(text);
    int t = syn_reasoning_split(text, n, &ro, &rl, &co);
    CHECK_MSG(t == thinks, "%s", text);
    if (t) {
        CHECK_MSG(rl == strlen(think) && !memcmp(text + ro, think, rl), "%s: thinking", text);
        CHECK_MSG(n - co == strlen(content) && !memcmp(text + co, content, n - co), "%s: content", text);
    }
    for (size_t piece = 1; piece <= n; piece++) {
        got g = streamed(text, piece);
        /* a stream's content is the whole answer's; its thinking too, but
         * for the white space before </think>, which goes out as it comes */
        CHECK_MSG(!strcmp(g.content, thinks ? content : text), "%s in pieces of %zu: content '%s'", text, piece, g.content);
        size_t k = g.nt;
        while (k && strchr(" \n", g.think[k - 1]))
            k--;
        CHECK_MSG(k == (thinks ? strlen(think) : 0) && (!thinks || !memcmp(g.think, think, k)),
                  "%s in pieces of %zu: thinking '%s'", text, piece, g.think);
    }
}

int main(void)
{
    case_("<think>\nWhat is 2+2? Four.\n</think>\n\nIt is 4.", 1, "What is 2+2? Four.", "It is 4.");
    case_("  <think>a</think>b", 1, "a", "b");
    case_("<think>cut before it clos", 1, "cut before it clos", "");
    case_("<think></think>Only an answer", 1, "", "Only an answer");
    case_("<think>a < b and </thin but not closed</think> done", 1, "a < b and </thin but not closed", "done");
    case_(" Hello, <think> is not first", 0, NULL, NULL);
    case_("<thinking>no</thinking>", 0, NULL, NULL);
    case_("<thin", 0, NULL, NULL);
    case_("plain answer", 0, NULL, NULL);
    case_("\xe8\xbd\xac\xe5\x8c\x96 answer", 0, NULL, NULL);
    case_("<think>\xe6\x80\x9d\xe8\x80\x83</think>\xe7\xad\x94", 1, "\xe6\x80\x9d\xe8\x80\x83", "\xe7\xad\x94");
    return CHECK_DONE();
}
