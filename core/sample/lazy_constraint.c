/* A constraint that waits (see json_schema.h, syn_jschema_lazy_constraint):
 * the output goes free until a trigger text appears in it, then what
 * follows is held to a JSON schema until that value is complete, then it
 * goes free again and waits for the next trigger. So a model may answer
 * in words, and a call it starts (<tool_call>) comes out valid. */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include "core/sample/json_schema.h"

typedef struct lazy_spec {
    char *trigger;
    syn_jschema *schema;
} lazy_spec;

typedef struct lazy_state {
    const lazy_spec *spec;
    char *tail;   /* the last bytes of the output, for a trigger cut between tokens */
    size_t n_tail;
    syn_jmatch *m; /* while a value is being written */
    int started;   /* its first byte came */
} lazy_state;

static void *begin(const void *spec)
{
    const lazy_spec *ls = spec;
    lazy_state *st = calloc(1, sizeof *st);
    if (st && !(st->tail = malloc(strlen(ls->trigger) + 1))) {
        free(st);
        return NULL;
    }
    if (st)
        st->spec = ls;
    return st;
}

static int32_t mask(void *state, const syn_tokenizer *tok, float *logits, int32_t n_vocab)
{
    lazy_state *st = state;
    return st->m ? syn_jmatch_mask(st->m, tok, logits, n_vocab) : n_vocab;
}

/* The value is whole: free again. */
static void finish_value(lazy_state *st)
{
    syn_jmatch_free(st->m);
    st->m = NULL;
    st->started = 0;
    st->n_tail = 0;
}

/* Bytes of the value: white space before it goes (the matcher starts at
 * the value); 1 when the value is whole, or broken. */
static int feed_value(lazy_state *st, const char *p, size_t n)
{
    if (!st->started) {
        while (n && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
            p++;
            n--;
        }
        if (!n)
            return 0;
        st->started = 1;
    }
    return syn_jmatch_feed(st->m, p, n) || syn_jmatch_complete(st->m);
}

static void accept(void *state, const syn_tokenizer *tok, int32_t token)
{
    lazy_state *st = state;
    size_t n;
    const char *p = syn_tokenizer_piece(tok, token, 0, &n);
    if (!p || !n)
        return;
    if (st->m) {
        if (feed_value(st, p, n))
            finish_value(st);
        return;
    }
    /* the trigger in what was kept and this piece */
    const char *trig = st->spec->trigger;
    size_t t = strlen(trig), all = st->n_tail + n;
    char *buf = malloc(all);
    if (!buf)
        return;
    memcpy(buf, st->tail, st->n_tail);
    memcpy(buf + st->n_tail, p, n);
    const char *hit = all >= t ? memmem(buf, all, trig, t) : NULL;
    if (hit && (st->m = syn_jmatch_new(st->spec->schema))) {
        size_t after = (size_t)(hit - buf) + t;
        /* what came after the trigger in the same token is the value's start */
        if (feed_value(st, buf + after, all - after))
            finish_value(st);
    } else { /* keep the bytes a trigger could still begin with */
        size_t keep = all < t - 1 ? all : t - 1;
        memcpy(st->tail, buf + all - keep, keep);
        st->n_tail = keep;
    }
    free(buf);
}

static void end(void *state)
{
    lazy_state *st = state;
    syn_jmatch_free(st->m);
    free(st->tail);
    free(st);
}

static void free_spec(void *spec)
{
    lazy_spec *ls = spec;
    free(ls->trigger);
    syn_jschema_free(ls->schema);
    free(ls);
}

static const syn_constraint_ops lazy_ops = {
    .begin = begin, .mask = mask, .accept = accept, .end = end, .free_spec = free_spec};

int syn_jschema_lazy_constraint(const char *trigger, syn_jschema *s, const char *what, syn_constraint *out)
{
    lazy_spec *ls = calloc(1, sizeof *ls);
    if (!ls || !*trigger || !(ls->trigger = strdup(trigger))) {
        free(ls);
        syn_jschema_free(s);
        return -1;
    }
    ls->schema = s;
    *out = (syn_constraint){.ops = &lazy_ops, .spec = ls, .what = what};
    return 0;
}
