/* The waiting constraint (core/sample/lazy_constraint.c) on a real
 * tokenizer: free until the trigger (also when a token cuts it), then held
 * to the schema, so a token that breaks the value is masked and the end
 * of generation waits for it to be whole; free again after it, and held
 * again at the next trigger. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/sample/json_schema.h"
#include "tests/check.h"

static syn_tokenizer *tok;
static float *logits;
static int32_t nv;

/* Feeds text to the state, token by token. */
static void feed(const syn_constraint *c, void *st, const char *text)
{
    int32_t *ids;
    size_t n;
    syn_error err = {0};
    CHECK(syn_tokenize(tok, text, strlen(text), 0, 0, &ids, &n, &err) == 0);
    for (size_t i = 0; i < n; i++)
        c->ops->accept(st, tok, ids[i]);
    free(ids);
}

/* How many tokens the state allows now; *eog whether end of generation is one. */
static int32_t allowed(const syn_constraint *c, void *st, int *eog)
{
    for (int32_t i = 0; i < nv; i++)
        logits[i] = 0;
    int32_t k = c->ops->mask(st, tok, logits, nv);
    /* an end of generation: the vocabulary's end of text */
    int32_t end = syn_tokenizer_find(tok, "<|endoftext|>");
    *eog = end >= 0 && isfinite(logits[end]);
    return k;
}

int main(void)
{
    syn_error err = {0};
    CHECK(syn_tokenizer_open(testdata("vocab/ggml-vocab-qwen2.gguf"), &tok, &err) == 0);
    nv = syn_tokenizer_n_vocab(tok);
    logits = malloc(sizeof *logits * (size_t)nv);
    json_object *schema = json_tokener_parse("{\"type\":\"object\",\"properties\":{\"a\":{\"enum\":[1,2]}},"
                                             "\"required\":[\"a\"]}");
    syn_jschema *js;
    CHECK(syn_jschema_compile(schema, &js, &err) == 0);
    json_object_put(schema);
    syn_constraint c;
    CHECK(syn_jschema_lazy_constraint("<tool_call>", js, "tools", &c) == 0);
    void *st = c.ops->begin(c.spec);
    int eog;
    /* words: anything goes */
    feed(&c, st, "Let me check. <tool");
    CHECK(allowed(&c, st, &eog) == nv && eog);
    /* the trigger, cut between tokens: from here the value is held */
    feed(&c, st, "_call>\n");
    int32_t held = allowed(&c, st, &eog);
    CHECK_MSG(held > 0 && held < nv && !eog, "held %d of %d, eog %d", held, nv, eog);
    feed(&c, st, "{\"a\":2"); /* compact: the matcher allows no white space */
    CHECK(allowed(&c, st, &eog) < nv && !eog);
    feed(&c, st, "}");
    /* whole: free again, and held again at the next trigger */
    CHECK(allowed(&c, st, &eog) == nv && eog);
    feed(&c, st, "\n</tool_call>\n<tool_call>");
    CHECK(allowed(&c, st, &eog) < nv && !eog);
    c.ops->end(st);
    syn_constraint_free(&c);
    free(logits);
    syn_tokenizer_free(tok);
    return CHECK_DONE();
}
