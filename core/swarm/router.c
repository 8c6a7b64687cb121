/* The routing glue (see router.h). The plugin sees indexes into the list
 * it was last given; that list's names are kept here, under a lock that
 * an update takes for writing, so an index always means the name it meant
 * when the router decided. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synapse/loader.h>

#include "core/swarm/capability.h"
#include "core/swarm/router.h"

struct syn_router {
    syn_plugin_set set;
    const syn_plugin_entry *entry;
    syn_router_ops ops;
    void *inst;
    syn_host host;
    char describe[512];
    pthread_rwlock_t lock; /* names, n */
    char **names;
    int n;
};

int syn_router_open(const char *path, syn_store *store, const syn_host_model *model, syn_router **out,
                    syn_error *err)
{
    *out = NULL;
    syn_router *r = calloc(1, sizeof *r);
    if (!r)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    pthread_rwlock_init(&r->lock, NULL);
    int rc = syn_capability_find(path, SYN_PLUGIN_ROUTER, &r->set, &r->entry, err);
    if (!rc) {
        r->ops = r->entry->router;
        syn_host_init(&r->host, r->entry->desc.name, store, model);
        if (!(r->inst = r->ops.create(&r->host.api, err))) {
            if (!err->code)
                syn_fail(err, SYN_ERR_INVALID, "the router plugin's create() failed");
            rc = err->code;
        }
    }
    if (rc) {
        syn_router_close(r);
        return rc;
    }
    syn_capability_describe(r->entry, r->describe, sizeof r->describe);
    *out = r;
    return 0;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

void syn_router_close(syn_router *r)
{
    if (!r)
        return;
    if (r->inst)
        r->ops.destroy(r->inst);
    syn_plugins_free(&r->set);
    free_names(r->names, r->n);
    pthread_rwlock_destroy(&r->lock);
    free(r);
}

const char *syn_router_describe(const syn_router *r) { return r->describe; }

int syn_router_update(syn_router *r, syn_swarm *w, syn_error *err)
{
    syn_specialist **list = NULL;
    int n = 0;
    /* the snapshot under the lock too: two updates at once install in the
     * order they saw the swarm, so the newest list is the one that stays */
    pthread_rwlock_wrlock(&r->lock);
    int rc = syn_swarm_list(w, &list, &n, err);
    if (rc) {
        pthread_rwlock_unlock(&r->lock);
        return rc;
    }
    syn_route_specialist *sp = calloc(n ? (size_t)n : 1, sizeof *sp);
    char **names = calloc(n ? (size_t)n : 1, sizeof *names);
    int n_names = n;
    if (!sp || !names)
        rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    for (int i = 0; !rc && i < n; i++) {
        const syn_specialist_def *d = &list[i]->def;
        sp[i] = (syn_route_specialist){.name = d->name,
                                       .description = d->description,
                                       .capabilities = (const char *const *)d->capabilities,
                                       .n_capabilities = d->n_capabilities,
                                       .examples = (const char *const *)d->examples,
                                       .n_examples = d->n_examples};
        /* a specialist in code says what the config leaves out */
        const syn_route_specialist *c = list[i]->code ? &list[i]->code_desc : NULL;
        if (c && !sp[i].description)
            sp[i].description = c->description;
        if (c && !sp[i].n_capabilities) {
            sp[i].capabilities = c->capabilities;
            sp[i].n_capabilities = c->n_capabilities;
        }
        if (c && !sp[i].n_examples) {
            sp[i].examples = c->examples;
            sp[i].n_examples = c->n_examples;
        }
        if (!(names[i] = strdup(d->name)))
            rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    }
    if (!rc) {
        /* the plugin embeds new texts here; routes wait for the new list */
        if (r->ops.set_specialists(r->inst, sp, n, err))
            rc = err->code ? err->code : SYN_ERR_INVALID;
        else {
            char **old = r->names;
            int n_old = r->n;
            r->names = names;
            r->n = n;
            names = old;
            n_names = n_old;
        }
    }
    pthread_rwlock_unlock(&r->lock);
    free_names(names, names ? n_names : 0);
    free(sp);
    syn_swarm_list_free(list, n);
    return rc;
}

static const char *mode_name(int mode)
{
    return mode == SYN_ROUTE_SWARM ? "swarm" : mode == SYN_ROUTE_CLOUD ? "cloud" : "single";
}

static json_object *score_json(double x)
{
    /* three decimals: what a reader compares, and stable in tests */
    char buf[32];
    snprintf(buf, sizeof buf, "%.3f", x);
    return json_object_new_double_s(x, buf);
}

int syn_router_route(syn_router *r, syn_swarm *w, const char *query, const float *embedding, int32_t dim,
                     syn_route_result *out, syn_error *err)
{
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&r->lock);
    syn_route_score *scores = calloc(r->n ? (size_t)r->n : 1, sizeof *scores);
    if (!scores) {
        pthread_rwlock_unlock(&r->lock);
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    }
    syn_route_decision d = {.struct_size = sizeof d, .scores = scores, .n_scores = r->n};
    int rc = r->ops.route(r->inst, query, embedding, dim, &d, err) ? (err->code ? err->code : SYN_ERR_INVALID) : 0;
    if (!rc) {
        d.domain[sizeof d.domain - 1] = d.reason[sizeof d.reason - 1] = '\0';
        out->mode = d.mode == SYN_ROUTE_SWARM || d.mode == SYN_ROUTE_CLOUD ? d.mode : SYN_ROUTE_SINGLE;
        snprintf(out->domain, sizeof out->domain, "%s", d.domain[0] ? d.domain : "general");
        json_object *o = json_object_new_object(), *chosen = json_object_new_array(), *all = json_object_new_array();
        for (int i = 0; i < d.n_chosen && i < SYN_ROUTE_MAX_CHOSEN; i++) {
            int k = d.chosen[i];
            if (k < 0 || k >= r->n)
                continue; /* not an index it was given */
            syn_specialist *sp = syn_swarm_get(w, r->names[k]);
            if (!sp)
                continue; /* removed since */
            out->chosen[out->n_chosen++] = sp;
            json_object *c = json_object_new_object();
            json_object_object_add(c, "name", json_object_new_string(r->names[k]));
            json_object_object_add(c, "score", score_json(scores[k].score));
            json_object_array_add(chosen, c);
        }
        for (int k = 0; k < r->n; k++) {
            json_object *c = json_object_new_object();
            json_object_object_add(c, "name", json_object_new_string(r->names[k]));
            json_object_object_add(c, "score", score_json(scores[k].score));
            json_object_object_add(c, "capability", score_json(scores[k].capability));
            json_object_object_add(c, "similarity", score_json(scores[k].similarity));
            json_object_object_add(c, "pathway", score_json(scores[k].pathway));
            json_object_array_add(all, c);
        }
        json_object_object_add(o, "mode", json_object_new_string(mode_name(out->mode)));
        json_object_object_add(o, "domain", json_object_new_string(out->domain));
        json_object_object_add(o, "specialists", chosen);
        json_object_object_add(o, "reason", json_object_new_string(d.reason));
        json_object_object_add(o, "scores", all);
        out->json = o;
    }
    pthread_rwlock_unlock(&r->lock);
    free(scores);
    return rc;
}

void syn_route_result_free(syn_route_result *res)
{
    for (int i = 0; i < res->n_chosen; i++)
        syn_specialist_release(res->chosen[i]);
    json_object_put(res->json);
    memset(res, 0, sizeof *res);
}

int syn_router_outcome(syn_router *r, const char *domain, const char *const *names, int n, float reward,
                       syn_error *err)
{
    if (r->ops.outcome(r->inst, domain, names, n, reward, err))
        return err->code ? err->code : SYN_ERR_INVALID;
    return 0;
}
