/* The router plugin (kind router, ABI 1.5): scores every specialist for a
 * query from three signals and learns from outcomes.
 *
 *   capability  whole-word matches of its capability phrases in the query
 *               (stems, so "debugging" matches "debug"): 1 - 2^-matches
 *   similarity  the query's pooled embedding against those of its
 *               description and examples (the best of them), computed once
 *               per text and cached
 *   pathway     the Hebbian strength of (domain, specialist), in [-1, 1],
 *               decaying toward 0 with a half-life of a week
 *
 * score = 0.55 capability + 0.30 max(similarity, 0) + 0.15 pathway. The
 * weights keep learning a matter among comparable candidates: a pathway
 * moves a score by at most 0.15, less than one capability match gives.
 * The domain of a query is the first capability phrase found in it (its
 * stems joined by '-'), "general" when none is.
 *
 * Outcomes (never the router's own scores) move a pathway:
 * s += rate * r * (1 - s sgn r), a step toward +1 or -1 that shrinks as it
 * nears the bound. Thread-safe: route and outcome run on many threads. */
#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synapse/plugin.h>

#include "plugins/router/words.h"

#define W_CAPABILITY 0.55f
#define W_SIMILARITY 0.30f
#define W_PATHWAY 0.15f
#define LEARNING_RATE 0.3
#define HALF_LIFE_S (7.0 * 24 * 3600)
/* Without a capability match or a pathway for it, a specialist is chosen by
 * similarity alone only when it is a clear winner: this much above every
 * other. Pooled embeddings of one model are all alike to some degree, so
 * the absolute value says little; otherwise the base model answers. */
#define SIMILARITY_MARGIN 0.1f

typedef struct rt_specialist {
    char *name;
    router_words *caps; /* one phrase per capability */
    char **cap_text;    /* as configured, for the reason */
    int32_t n_caps;
    float *vecs; /* n_vecs unit embeddings: description, then examples */
    char **vec_text; /* what each one embeds, to reuse it when the list changes */
    int32_t n_vecs;
} rt_specialist;

typedef struct router {
    const syn_host_api *host;
    pthread_mutex_t mu;
    rt_specialist *sp;
    int32_t n;
    int32_t dim; /* of the cached embeddings; 0: none */
} router;

static int fail(syn_error *err, int code, const char *msg)
{
    if (err) {
        err->code = code;
        snprintf(err->msg, sizeof err->msg, "router: %s", msg);
    }
    return -1;
}

static void say(router *r, int level, const char *fmt, const char *a, const char *b)
{
    char line[512];
    snprintf(line, sizeof line, fmt, a, b);
    r->host->log(r->host->host, level, line);
}

static void free_specialists(rt_specialist *sp, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        for (int32_t c = 0; c < sp[i].n_caps; c++) {
            router_words_free(&sp[i].caps[c]);
            free(sp[i].cap_text[c]);
        }
        free(sp[i].caps);
        free(sp[i].cap_text);
        free(sp[i].name);
        free(sp[i].vecs);
        for (int32_t v = 0; v < sp[i].n_vecs; v++)
            free(sp[i].vec_text[v]);
        free(sp[i].vec_text);
    }
    free(sp);
}

static void *router_create(const syn_host_api *host, syn_error *err)
{
    if (!host || host->struct_size < offsetof(syn_host_api, pathway_put) + sizeof host->pathway_put)
        return fail(err, SYN_ERR_INVALID, "the host API is older than ABI 1.5"), NULL;
    router *r = calloc(1, sizeof *r);
    if (!r)
        return fail(err, SYN_ERR_NOMEM, "out of memory"), NULL;
    r->host = host;
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

static void router_destroy(void *p)
{
    router *r = p;
    free_specialists(r->sp, r->n);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

#define EMBED_MAX 16384 /* floats: wider than any model this serves */

/* The embedding of text appended to s->vecs, or nothing when the host has
 * none (similarity is then 0). All vectors have the first one's dimension. */
/* The vector of text from the list now in use, into out: its dimension,
 * or 0 when no specialist there embeds that text. */
static int32_t cached(router *r, const char *text, float *out)
{
    int32_t d = 0;
    pthread_mutex_lock(&r->mu);
    for (int32_t i = 0; i < r->n && !d; i++)
        for (int32_t v = 0; v < r->sp[i].n_vecs && !d; v++)
            if (!strcmp(r->sp[i].vec_text[v], text)) {
                d = r->dim;
                memcpy(out, r->sp[i].vecs + (size_t)v * (size_t)d, sizeof(float) * (size_t)d);
            }
    pthread_mutex_unlock(&r->mu);
    return d;
}

static int embed_into(router *r, const char *text, rt_specialist *s, int32_t *dim, float *scratch, syn_error *err)
{
    syn_error e = {0};
    int32_t d = cached(r, text, scratch);
    if (!d)
        d = r->host->embed(r->host->host, text, scratch, EMBED_MAX, &e);
    if (d <= 0 || d > EMBED_MAX || (*dim && d != *dim)) {
        say(r, SYN_LOG_WARN, "no embedding of '%.60s': %.300s", text, d <= 0 ? e.msg : "an odd dimension");
        return 0;
    }
    float *v = realloc(s->vecs, sizeof(float) * (size_t)(s->n_vecs + 1) * (size_t)d);
    if (v)
        s->vecs = v;
    char **t = v ? realloc(s->vec_text, sizeof *t * (size_t)(s->n_vecs + 1)) : NULL;
    if (t)
        s->vec_text = t;
    if (!v || !t || !(t[s->n_vecs] = strdup(text)))
        return fail(err, SYN_ERR_NOMEM, "out of memory");
    memcpy(v + (size_t)s->n_vecs * (size_t)d, scratch, sizeof(float) * (size_t)d);
    s->n_vecs++;
    *dim = d;
    return 0;
}

static int router_set(void *p, const syn_route_specialist *in, int32_t n, syn_error *err)
{
    router *r = p;
    rt_specialist *sp = calloc(n > 0 ? (size_t)n : 1, sizeof *sp);
    if (!sp)
        return fail(err, SYN_ERR_NOMEM, "out of memory");
    int32_t dim = 0;
    float *scratch = n > 1 ? malloc(sizeof(float) * EMBED_MAX) : NULL;
    int rc = n > 1 && !scratch ? fail(err, SYN_ERR_NOMEM, "out of memory") : 0;
    for (int32_t i = 0; i < n && !rc; i++) {
        rt_specialist *s = &sp[i];
        const syn_route_specialist *d = &in[i];
        s->name = strdup(d->name);
        s->caps = calloc(d->n_capabilities > 0 ? (size_t)d->n_capabilities : 1, sizeof *s->caps);
        s->cap_text = calloc(d->n_capabilities > 0 ? (size_t)d->n_capabilities : 1, sizeof *s->cap_text);
        if (!s->name || !s->caps || !s->cap_text) {
            rc = fail(err, SYN_ERR_NOMEM, "out of memory");
            break;
        }
        for (int32_t c = 0; c < d->n_capabilities && !rc; c++) {
            if (!(s->cap_text[c] = strdup(d->capabilities[c])) || router_words_add(&s->caps[c], d->capabilities[c]))
                rc = fail(err, SYN_ERR_NOMEM, "out of memory");
            s->n_caps = c + 1;
        }
        /* With one specialist or none there is nothing to tell apart. */
        if (n > 1 && d->description && !rc)
            rc = embed_into(r, d->description, s, &dim, scratch, err);
        for (int32_t x = 0; n > 1 && x < d->n_examples && !rc; x++)
            rc = embed_into(r, d->examples[x], s, &dim, scratch, err);
    }
    free(scratch);
    if (rc) {
        free_specialists(sp, n);
        return rc;
    }
    pthread_mutex_lock(&r->mu);
    rt_specialist *old = r->sp;
    int32_t n_old = r->n;
    r->sp = sp;
    r->n = n;
    r->dim = dim;
    pthread_mutex_unlock(&r->mu);
    free_specialists(old, n_old);
    return 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double decayed(const syn_pathway *p, double now)
{
    double age = now - p->updated_at;
    return age > 0 ? p->strength * pow(0.5, age / HALF_LIFE_S) : p->strength;
}

/* The domain: the first capability phrase found in the query, as stems
 * joined by '-'. */
static void find_domain(const router *r, const router_words *q, char *out, size_t cap)
{
    long best = -1;
    const router_words *phrase = NULL;
    for (int32_t i = 0; i < r->n; i++)
        for (int32_t c = 0; c < r->sp[i].n_caps; c++) {
            long at = router_words_find(q, &r->sp[i].caps[c]);
            if (at >= 0 && (best < 0 || at < best || (at == best && r->sp[i].caps[c].n > phrase->n))) {
                best = at;
                phrase = &r->sp[i].caps[c];
            }
        }
    if (!phrase) {
        snprintf(out, cap, "general");
        return;
    }
    size_t len = 0;
    out[0] = '\0';
    for (size_t w = 0; w < phrase->n; w++)
        len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s", w ? "-" : "", phrase->w[w]);
}

static float similarity(const rt_specialist *s, const float *q, int32_t dim)
{
    float best = 0.0f;
    for (int32_t v = 0; v < s->n_vecs; v++) {
        const float *x = s->vecs + (size_t)v * (size_t)dim;
        float dot = 0.0f;
        for (int32_t k = 0; k < dim; k++)
            dot += x[k] * q[k];
        if (v == 0 || dot > best)
            best = dot;
    }
    return best;
}

/* best's similarity beats by the margin that of every other specialist
 * the router has vectors for, and there is at least one such other: of a
 * specialist without a description or examples it knows nothing. */
static int clear_similarity(const router *r, const syn_route_score *sc, int32_t n, int32_t best)
{
    int others = 0;
    if (!r->sp[best].n_vecs)
        return 0;
    for (int32_t i = 0; i < n; i++) {
        if (i == best || !r->sp[i].n_vecs)
            continue;
        others++;
        if (sc[best].similarity - sc[i].similarity < SIMILARITY_MARGIN)
            return 0;
    }
    return others > 0;
}

/* Swarm: specialists whose capabilities match different words of the
 * query, best first, each covering words none before it covers; two or
 * three of them make a swarm (out->chosen, mode SWARM), else 0. Two that
 * match the same words are alternatives, not parts. */
static int swarm(syn_route_decision *out, int32_t n, const unsigned char *covers, size_t n_words)
{
    int32_t order[SYN_ROUTE_MAX_CHOSEN], k = 0;
    unsigned char *taken = calloc(n_words ? n_words : 1, 1);
    if (!taken)
        return 0; /* no memory for a swarm: a single answer will do */
    for (;;) {
        int32_t pick = -1;
        for (int32_t i = 0; i < n; i++) {
            if (out->scores[i].capability <= 0.0f)
                continue;
            int fresh = 1, used = 0;
            for (int32_t j = 0; j < k; j++)
                used |= order[j] == i;
            for (size_t w = 0; w < n_words && fresh && !used; w++)
                fresh = !(covers[(size_t)i * n_words + w] && taken[w]);
            if (!used && fresh && (pick < 0 || out->scores[i].score > out->scores[pick].score))
                pick = i;
        }
        if (pick < 0 || k == SYN_ROUTE_MAX_CHOSEN)
            break;
        order[k++] = pick;
        for (size_t w = 0; w < n_words; w++)
            taken[w] |= covers[(size_t)pick * n_words + w];
    }
    free(taken);
    if (k < 2)
        return 0;
    out->mode = SYN_ROUTE_SWARM;
    out->n_chosen = k;
    memcpy(out->chosen, order, sizeof(int32_t) * (size_t)k);
    return 1;
}

static int router_route(void *p, const char *query, const float *emb, int32_t dim, syn_route_decision *out,
                        syn_error *err)
{
    router *r = p;
    router_words q = {0};
    if (router_words_add(&q, query ? query : ""))
        return router_words_free(&q), fail(err, SYN_ERR_NOMEM, "out of memory");
    out->mode = SYN_ROUTE_SINGLE;
    pthread_mutex_lock(&r->mu);
    find_domain(r, &q, out->domain, sizeof out->domain);
    int use_emb = emb && r->dim && dim == r->dim;
    double now = now_s();
    int32_t best = -1, second = -1, n = r->n < out->n_scores ? r->n : out->n_scores;
    const char *matched = NULL;
    /* the query words each specialist's capabilities cover, n x q.n */
    unsigned char *covers = calloc((size_t)(n ? n : 1) * (q.n ? q.n : 1), 1);
    const char **firsts = calloc(n ? (size_t)n : 1, sizeof *firsts);
    if (!covers || !firsts) {
        pthread_mutex_unlock(&r->mu);
        free(covers);
        free(firsts);
        router_words_free(&q);
        return fail(err, SYN_ERR_NOMEM, "out of memory");
    }
    int rc = 0;
    for (int32_t i = 0; i < n && !rc; i++) {
        const rt_specialist *s = &r->sp[i];
        syn_route_score *sc = &out->scores[i];
        int m = 0;
        const char *first = NULL;
        for (int32_t c = 0; c < s->n_caps; c++) {
            long at = router_words_find(&q, &s->caps[c]);
            if (at < 0)
                continue;
            if (!m)
                first = s->cap_text[c];
            m++;
            memset(covers + (size_t)i * q.n + (size_t)at, 1, s->caps[c].n);
        }
        firsts[i] = first;
        sc->capability = m ? 1.0f - ldexpf(1.0f, -m) : 0.0f;
        sc->similarity = use_emb && s->n_vecs ? similarity(s, emb, dim) : 0.0f;
        syn_pathway pw;
        int found = r->host->pathway_get(r->host->host, out->domain, s->name, &pw, err);
        if (found < 0)
            rc = -1;
        sc->pathway = found > 0 ? (float)decayed(&pw, now) : 0.0f;
        sc->score = W_CAPABILITY * sc->capability + W_SIMILARITY * fmaxf(sc->similarity, 0.0f) + W_PATHWAY * sc->pathway;
        if (best < 0 || sc->score > out->scores[best].score) {
            second = best;
            best = i;
            matched = first;
        } else if (second < 0 || sc->score > out->scores[second].score) {
            second = i;
        }
    }
    if (rc) {
        pthread_mutex_unlock(&r->mu);
        free(covers);
        free(firsts);
        router_words_free(&q);
        return rc;
    }
    if (best >= 0 && swarm(out, n, covers, q.n)) {
        int len = snprintf(out->reason, sizeof out->reason, "swarm: different parts of the query match");
        for (int32_t k = 0; k < out->n_chosen && len > 0 && (size_t)len < sizeof out->reason; k++) {
            int32_t i = out->chosen[k];
            len += snprintf(out->reason + len, sizeof out->reason - (size_t)len, "%s %s ('%s', %.3f)",
                            k ? (k + 1 == out->n_chosen ? " and" : ",") : "", r->sp[i].name, firsts[i],
                            (double)out->scores[i].score);
        }
    } else if (best < 0) {
        snprintf(out->reason, sizeof out->reason, "no specialists: the base model answers");
    } else if (out->scores[best].capability == 0.0f && out->scores[best].pathway <= 0.0f &&
               (!use_emb || !clear_similarity(r, out->scores, n, best))) {
        snprintf(out->reason, sizeof out->reason,
                 "no specialist matched (no capability in the query; best similarity %.2f, not %.1f above the "
                 "rest): the base model answers",
                 (double)out->scores[best].similarity, (double)SIMILARITY_MARGIN);
    } else {
        const syn_route_score *b = &out->scores[best];
        out->n_chosen = 1;
        out->chosen[0] = best;
        int len = snprintf(out->reason, sizeof out->reason, "%s scored %.3f (", r->sp[best].name, (double)b->score);
        if (len > 0 && (size_t)len < sizeof out->reason) {
            if (matched)
                len += snprintf(out->reason + len, sizeof out->reason - (size_t)len, "capability '%s', ", matched);
            else
                len += snprintf(out->reason + len, sizeof out->reason - (size_t)len, "no capability matched, ");
        }
        if (len > 0 && (size_t)len < sizeof out->reason)
            len += snprintf(out->reason + len, sizeof out->reason - (size_t)len, "similarity %.2f, pathway %+.2f in '%s')",
                            (double)b->similarity, (double)b->pathway, out->domain);
        if (second >= 0 && len > 0 && (size_t)len < sizeof out->reason)
            snprintf(out->reason + len, sizeof out->reason - (size_t)len, "; next %s %.3f", r->sp[second].name,
                     (double)out->scores[second].score);
    }
    pthread_mutex_unlock(&r->mu);
    free(covers);
    free(firsts);
    router_words_free(&q);
    return 0;
}

/* A set's pathway key: its names in order, joined by '+'. */
static int set_key(const char *const *names, int32_t n, char *key, size_t cap)
{
    size_t len = 0;
    for (int32_t i = 0; i < n; i++) {
        int w = snprintf(key + len, cap - len, "%s%s", i ? "+" : "", names[i]);
        if (w < 0 || (size_t)w >= cap - len)
            return -1;
        len += (size_t)w;
    }
    return 0;
}

/* One pathway's step toward the reward. */
static int learn(void *p, const char *domain, const char *const *names, int32_t n, float reward, syn_error *err)
{
    router *r = p;
    char key[1024];
    if (set_key(names, n, key, sizeof key))
        return fail(err, SYN_ERR_INVALID, "too many specialists in one outcome");
    pthread_mutex_lock(&r->mu); /* one read-modify-write at a time */
    syn_pathway pw = {0};
    int found = r->host->pathway_get(r->host->host, domain, key, &pw, err);
    int rc = found < 0 ? -1 : 0;
    if (!rc) {
        double now = now_s(), s = found ? decayed(&pw, now) : 0.0, sg = reward > 0 ? 1.0 : -1.0;
        s += LEARNING_RATE * reward * (1.0 - s * sg);
        pw.strength = s > 1.0 ? 1.0 : s < -1.0 ? -1.0 : s;
        if (reward > 0)
            pw.successes++;
        else if (reward < 0)
            pw.failures++;
        pw.updated_at = now;
        rc = r->host->pathway_put(r->host->host, domain, key, &pw, err);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* A set's outcome is its pathway's and, at half the weight, each
 * member's own: the member pathways are what single routes rank by. */
static int router_outcome(void *p, const char *domain, const char *const *names, int32_t n, float reward,
                          syn_error *err)
{
    if (n < 1 || !domain || !*domain)
        return 0;
    if (!(reward >= -1.0f && reward <= 1.0f))
        return fail(err, SYN_ERR_INVALID, "an outcome's reward is from -1 to 1");
    int rc = learn(p, domain, names, n, reward, err);
    for (int32_t i = 0; n > 1 && i < n && !rc; i++)
        rc = learn(p, domain, names + i, 1, reward / 2, err);
    return rc;
}

static const syn_router_ops router_ops = {
    .struct_size = sizeof(syn_router_ops),
    .create = router_create,
    .destroy = router_destroy,
    .set_specialists = router_set,
    .route = router_route,
    .outcome = router_outcome,
};

static int router_probe(void) { return 10; }

static const syn_plugin router_plugin = {
    SYN_PLUGIN_HEAD(SYN_PLUGIN_ROUTER, "router", "1.0.0"),
    .probe = router_probe,
    .ops = &router_ops,
};

const syn_plugin *synapse_plugin_v1(void);
const syn_plugin *synapse_plugin_v1(void) { return &router_plugin; }
