/* The verifier plugin (kind verifier, ABI 1.5), the hallucination checker:
 * an answer's claims are its sentences' triples by the fact grammar
 * (plugins/extractor/grammar.c, shared with the extractor), each looked up
 * among the store's facts (the host's "facts.v1") by its normalised
 * subject and predicate:
 *   supported     a fact with the same object and the same negation;
 *   contradicted  the same object negated the other way, or, for a
 *                 predicate of one value (born, released, founded or
 *                 located in), a fact with another object;
 *   unknown       anything else (a multi-valued predicate with another
 *                 object says nothing against the claim).
 * Stateless; links libc alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synapse/plugin.h>

#include "plugins/extractor/grammar.h"

#define PART_MAX 512

typedef struct verifier {
    const syn_host_api *host;
    const syn_host_facts_v1 *facts;
} verifier;

static void *verifier_create(const syn_host_api *host, syn_error *err)
{
    const syn_host_facts_v1 *facts = host && host->get_api ? host->get_api(host->host, SYN_HOST_FACTS_V1) : NULL;
    if (!facts || facts->struct_size < sizeof(syn_host_facts_v1)) {
        err->code = SYN_ERR_UNSUPPORTED;
        snprintf(err->msg, sizeof err->msg, "verifier: the host has no facts (%s)", SYN_HOST_FACTS_V1);
        return NULL;
    }
    verifier *v = calloc(1, sizeof *v);
    if (!v) {
        err->code = SYN_ERR_NOMEM;
        snprintf(err->msg, sizeof err->msg, "verifier: out of memory");
        return NULL;
    }
    v->host = host;
    v->facts = facts;
    return v;
}

static void verifier_destroy(void *v) { free(v); }

static int single_valued(const char *p)
{
    return !strcmp(p, "born in") || !strcmp(p, "released in") || !strcmp(p, "founded in") || !strcmp(p, "located in");
}

/* One claim being judged against the facts of its subject and predicate. */
typedef struct judge {
    const char *object; /* normalised */
    int negated, single;
    int64_t same_id, flip_id, other_id; /* the first fact of each kind */
    syn_fact same, flip, other;
} judge;

static int on_known(void *user, int64_t id, const syn_fact *f)
{
    judge *j = user;
    if (!strcmp(f->object, j->object)) {
        if ((f->negated != 0) == (j->negated != 0)) {
            if (!j->same_id)
                j->same_id = id;
        } else if (!j->flip_id)
            j->flip_id = id;
    } else if (j->single && !f->negated && !j->negated && !j->other_id)
        j->other_id = id;
    return 0;
}

typedef struct run {
    verifier *v;
    syn_claim_fn emit;
    void *user;
    syn_error *err;
    int failed;
} run;

static int on_claim(void *user, const grammar_fact *g)
{
    run *r = user;
    char s[PART_MAX], o[PART_MAX];
    snprintf(s, sizeof s, "%s", g->subject);
    snprintf(o, sizeof o, "%s", g->object);
    r->v->facts->normalise(r->v->host->host, s);
    r->v->facts->normalise(r->v->host->host, o);
    judge j = {.object = o, .negated = g->negated, .single = single_valued(g->predicate)};
    if (r->v->facts->lookup(r->v->host->host, s, g->predicate, on_known, &j, r->err)) {
        r->failed = 1;
        return 1;
    }
    syn_fact claimed = {.subject = s, .predicate = g->predicate, .object = o, .negated = g->negated};
    syn_claim c = {.start = (int32_t)g->start, .end = (int32_t)g->end, .label = SYN_CLAIM_UNKNOWN, .score = 0.5f,
                   .fact = NULL};
    if (j.same_id) {
        c.label = SYN_CLAIM_SUPPORTED;
        c.fact_id = j.same_id;
        c.score = 0.9f;
    } else if (j.flip_id || j.other_id) {
        c.label = SYN_CLAIM_CONTRADICTED;
        c.fact_id = j.flip_id ? j.flip_id : j.other_id;
        c.score = j.flip_id ? 0.9f : 0.7f;
    }
    c.fact = c.fact_id ? &claimed : NULL; /* the claim as read; the store's fact is c.fact_id */
    return r->emit(r->user, &c);
}

static int verifier_verify(void *v, const char *question, const char *answer, syn_claim_fn emit, void *user,
                           syn_error *err)
{
    (void)question; /* the claims are the answer's own */
    run r = {.v = v, .emit = emit, .user = user, .err = err};
    int rc = grammar_extract(answer ? answer : "", on_claim, &r);
    if (rc && !r.failed && !err->code) {
        err->code = SYN_ERR_NOMEM;
        snprintf(err->msg, sizeof err->msg, "verifier: out of memory, or the receiver stopped");
    }
    return rc ? -1 : 0;
}

static const syn_verifier_ops verifier_ops = {
    .struct_size = sizeof(syn_verifier_ops),
    .create = verifier_create,
    .destroy = verifier_destroy,
    .verify = verifier_verify,
};

static int verifier_probe(void) { return 10; }

static const syn_plugin verifier_plugin = {
    SYN_PLUGIN_HEAD(SYN_PLUGIN_VERIFIER, "verifier", "1.0.0"),
    .probe = verifier_probe,
    .ops = &verifier_ops,
};

const syn_plugin *synapse_plugin_v1(void);
const syn_plugin *synapse_plugin_v1(void) { return &verifier_plugin; }
