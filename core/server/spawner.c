/* The spawner's server side: queries no specialist served well (a
 * low-confidence answer of the base model, a contradiction, a needed
 * fallback, a thumbs-down) are kept in the store; with each one the
 * spawner plugin reads the recent ones (a few hundred words to count, well
 * under a millisecond) and proposes specialists for the domains among
 * them, which wait as proposals until a person
 * accepts one (GET /api/spawner/proposals, POST
 * /api/spawner/proposals/{id}/accept, `synapse spawner`). An accepted
 * proposal is a specialist like one POSTed to /api/specialists: in the
 * config file and routable at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server/internal.h"

#define SPAWN_WINDOW 200 /* the recent queries a run reads */

typedef struct spawn_run {
    syn_server *s;
    int stored;
} spawn_run;

static int keep_proposal(void *user, const syn_spawn_proposal *p)
{
    spawn_run *r = user;
    syn_error err = {0};
    syn_specialist *have = p->name && !syn_specialist_check_name(p->name, &err) ? syn_swarm_get(r->s->swarm, p->name)
                                                                                   : NULL;
    if (have || err.code || !p->system_prompt) { /* one of that name serves already, or not a usable name */
        if (err.code || !p->system_prompt)
            syn_log(SYN_LOG_WARN, "spawner: a proposal is dropped: %s", err.code ? err.msg : "no system prompt");
        syn_specialist_release(have);
        return 0;
    }
    syn_store_proposal q = {.name = p->name, .description = p->description, .system_prompt = p->system_prompt,
                            .reason = p->reason, .capabilities = p->capabilities,
                            .n_capabilities = p->n_capabilities < SYN_SPECIALIST_MAX_LIST ? p->n_capabilities
                                                                                          : SYN_SPECIALIST_MAX_LIST};
    int64_t id;
    if (syn_store_proposal_put(r->s->store, &q, &id, &err))
        syn_log(SYN_LOG_ERROR, "spawner: a proposal is not kept: %s", err.msg);
    else if (id) {
        r->stored++;
        syn_log(SYN_LOG_INFO, "spawner: proposal %lld: specialist '%s' (%s)", (long long)id, p->name,
                p->reason ? p->reason : "");
    }
    return 0;
}

static void spawn(syn_server *s)
{
    char **queries;
    int n;
    syn_error err = {0};
    if (syn_store_unserved_recent(s->store, SPAWN_WINDOW, &queries, &n, &err)) {
        syn_log(SYN_LOG_ERROR, "spawner: %s", err.msg);
        return;
    }
    spawn_run r = {.s = s};
    if (s->spawner->entry->spawner.propose(s->spawner->inst, (const char *const *)queries, n, keep_proposal, &r, &err))
        syn_log(SYN_LOG_ERROR, "spawner: %s", err.code ? err.msg : "propose() failed");
    syn_store_strings_free(queries, n);
}

void syn_server_unserved(syn_server *s, const char *query, const char *domain, const char *who, const char *why)
{
    if (!query || !*query)
        return;
    syn_error err = {0};
    if (syn_store_unserved_add(s->store, query, domain, who, why, &err)) {
        syn_log(SYN_LOG_ERROR, "an unserved query is not kept: %s", err.msg);
        return;
    }
    if (!s->spawner || !s->swarm || pthread_mutex_trylock(&s->spawn_mu))
        return; /* none, or a run is under way: the next one reads this query too */
    spawn(s);
    pthread_mutex_unlock(&s->spawn_mu);
}

static int list(struct mg_connection *c, syn_server *s)
{
    json_object *data;
    syn_error err = {0};
    if (syn_store_proposals(s->store, &data, &err))
        return syn_send_error_msg(c, s, 500, "server_error", NULL, "%s", err.msg);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("list"));
    json_object_object_add(o, "spawner", s->spawner ? json_object_new_string(s->spawner->describe) : NULL);
    json_object_object_add(o, "data", data);
    return syn_send_json_obj(c, s, 200, o);
}

static const char *field(json_object *o, const char *key)
{
    return json_object_get_string(json_object_object_get(o, key));
}

/* The proposal's specialist definition. */
static int def_of(json_object *p, syn_specialist_def *d, syn_error *err)
{
    syn_specialist_def_init(d);
    const char *desc = field(p, "description");
    int rc = !(d->name = strdup(field(p, "name"))) || !(d->system_prompt = strdup(field(p, "system_prompt"))) ||
             (desc && !(d->description = strdup(desc)));
    if (rc)
        rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    json_object *caps = json_object_object_get(p, "capabilities");
    for (size_t i = 0; !rc && i < json_object_array_length(caps); i++)
        rc = syn_specialist_list_add(d->capabilities, &d->n_capabilities, "capabilities",
                                     json_object_get_string(json_object_array_get_idx(caps, i)), err);
    if (rc)
        syn_specialist_def_free(d);
    return rc;
}

/* d served (added, never replacing one of its name, made meanwhile too),
 * the router told, the proposal marked accepted: the response. */
static int serve_proposal(struct mg_connection *c, syn_server *s, int64_t id, json_object *p,
                          const syn_specialist_def *d)
{
    syn_error err = {0};
    int exists;
    /* into the config file first, then the store: a failed save changes nothing */
    int rc = syn_swarm_add(s->swarm, d, 1, &exists, &err);
    if (rc) {
        int ours = rc == SYN_ERR_NOMEM || rc == SYN_ERR_IO;
        return syn_send_error_msg(c, s, ours ? 500 : 400, ours ? "server_error" : "invalid_request_error", NULL, "%s",
                                  err.msg);
    }
    if (exists)
        return syn_send_error_msg(c, s, 409, "invalid_request_error", "specialist_exists",
                                  "there is a specialist '%s' already (DELETE /api/specialists/%s first)", d->name,
                                  d->name);
    syn_server_tell_router(s);
    if (syn_store_proposal_accepted(s->store, id, &err))
        syn_log(SYN_LOG_ERROR, "proposal %lld is served but not marked accepted: %s", (long long)id, err.msg);
    syn_specialist *sp = syn_swarm_get(s->swarm, d->name);
    json_object *o = json_object_new_object();
    json_object_object_add(p, "status", json_object_new_string("accepted"));
    json_object_object_add(o, "proposal", json_object_get(p));
    json_object_object_add(o, "specialist", sp ? syn_specialist_json(sp) : NULL);
    syn_specialist_release(sp);
    return syn_send_json_obj(c, s, 201, o);
}

static int accept_proposal(struct mg_connection *c, syn_server *s, int64_t id)
{
    json_object *p;
    syn_error err = {0};
    int rc = syn_store_proposal_get(s->store, id, &p, &err);
    if (rc == SYN_ERR_NOT_FOUND)
        return syn_send_error_msg(c, s, 404, "invalid_request_error", "proposal_not_found", "%s", err.msg);
    if (rc)
        return syn_send_error_msg(c, s, 500, "server_error", NULL, "%s", err.msg);
    int status;
    syn_specialist_def d;
    if (!strcmp(field(p, "status"), "accepted"))
        status = syn_send_error_msg(c, s, 409, "invalid_request_error", "proposal_accepted",
                                    "proposal %lld was accepted already", (long long)id);
    else if (def_of(p, &d, &err))
        status = syn_send_error_msg(c, s, 500, "server_error", NULL, "%s", err.msg);
    else {
        status = serve_proposal(c, s, id, p, &d);
        syn_specialist_def_free(&d);
    }
    json_object_put(p);
    return status;
}

int syn_route_spawner(struct mg_connection *c, syn_server *s)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *rest = ri->local_uri + strlen("/api/spawner/proposals");
    if (!*rest)
        return list(c, s);
    char *end;
    long long id = strtoll(rest + 1, &end, 10);
    if (id <= 0 || end == rest + 1 || strcmp(end, "/accept"))
        return syn_send_error_msg(c, s, 404, "invalid_request_error", "not_found",
                                  "no such route: %.200s (POST /api/spawner/proposals/ID/accept)", ri->local_uri);
    /* one accept at a time: a second of the same proposal finds it accepted */
    pthread_mutex_lock(&s->accept_mu);
    int status = accept_proposal(c, s, id);
    pthread_mutex_unlock(&s->accept_mu);
    return status;
}
