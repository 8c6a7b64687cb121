/* Swarm answers: the specialists the router chose for different parts of
 * a query each answer it on their own, in the same scheduler steps, and
 * the base model merges their answers under a synthesis prompt. The merge
 * is then served like any answer (streamed when the client streams). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server/internal.h"

static const char synthesis_prompt[] =
    "Several specialists each answered the user's request below, each from their own field. Merge their answers "
    "into one complete answer to the whole request: keep what each got right, settle where they differ, drop "
    "repetition, and do not mention the specialists.";

/* Queues member i's job: its prompt, adapter and base; 0, or e filled. */
static int queue_part(syn_server *s, const syn_gen_request *r, syn_specialist *sp, int32_t max_tokens, syn_job **out,
                      syn_http_error *e)
{
    const syn_base *b = syn_server_base_of(s, sp);
    int32_t *ids;
    size_t n;
    if (syn_server_build_prompt(s, b, r, sp, &ids, &n, e))
        return -1;
    syn_job_request jr = {.prompt = ids, .n_prompt = (int32_t)n, .n_choices = 1, .max_tokens = max_tokens};
    jr.gen = (syn_gen_params){.sp = r->sp, .stops = (const char *const *)r->stops, .n_stops = r->n_stops};
    syn_error err = {0};
    int rc = syn_job_generate(&jr, out, &err);
    free(ids);
    if (rc)
        return syn_http_fail(e, 500, "server_error", NULL, NULL, "%s", err.msg);
    if (syn_server_job_adapter(s, *out, sp, e))
        return -1;
    if ((rc = syn_sched_submit(b->sched, *out, &err)))
        return rc == SYN_ERR_RANGE ? syn_http_fail(e, 429, "rate_limit_error", "queue_full", NULL, "%s", err.msg)
                                   : syn_http_fail(e, 503, "server_error", NULL, NULL, "%s", err.msg);
    return 0;
}

int syn_server_swarm(struct mg_connection *c, syn_server *s, const syn_gen_request *r, const syn_chat_route *route,
                     int32_t max_tokens, syn_gen_request *synth, syn_swarm_scratch *scratch, json_object **answers)
{
    syn_job *jobs[SYN_ROUTE_MAX_CHOSEN] = {0};
    int n = route->n_members, status = 0, queued = 0;
    syn_http_error e = {0};
    *answers = NULL;
    for (; queued < n; queued++)
        if (queue_part(s, r, route->members[queued], max_tokens, &jobs[queued], &e)) {
            if (jobs[queued])
                queued++; /* made but not queued: released below */
            status = syn_send_error(c, s, &e);
            break;
        }
    json_object *list = json_object_new_array();
    size_t total = 0;
    for (int i = 0; i < queued && !status; i++) {
        int w = syn_wait_watching(c, jobs[i]);
        if (w < 0)
            status = 499; /* the client left */
        else if (w != SYN_JOB_DONE)
            status = syn_send_job_error(c, s, jobs[i]);
        syn_choice_cursor cur = {0};
        syn_choice_delta d;
        if (!status && syn_job_read(jobs[i], 0, &cur, &d))
            status = syn_send_error_msg(c, s, 500, "server_error", NULL, "out of memory");
        if (status)
            break;
        json_object *a = json_object_new_object(), *content = syn_json_string_utf8(d.text ? d.text : "", d.len);
        json_object_object_add(a, "name", json_object_new_string(route->members[i]->def.name));
        /* the text as it will be written: bad UTF-8 became U+FFFD, 3 bytes */
        total += (size_t)json_object_get_string_len(content) + strlen(route->members[i]->def.name) + 32;
        json_object_object_add(a, "content", content);
        json_object_array_add(list, a);
        syn_choice_delta_free(&d);
    }
    for (int i = 0; i < queued; i++) {
        if (status)
            syn_job_cancel(jobs[i]);
        syn_job_release(jobs[i]);
    }
    if (status) {
        json_object_put(list);
        return status;
    }
    /* the request, then each answer under its specialist's name */
    const char *question = syn_gen_request_query(r);
    size_t cap = strlen(question) + total + 64, len = 0;
    if (!(scratch->user = malloc(cap))) {
        json_object_put(list);
        return syn_send_error_msg(c, s, 500, "server_error", NULL, "out of memory");
    }
    len += (size_t)snprintf(scratch->user + len, cap - len, "Request: %s", question);
    for (size_t i = 0; i < json_object_array_length(list) && len < cap; i++) {
        json_object *a = json_object_array_get_idx(list, i);
        len += (size_t)snprintf(scratch->user + len, cap - len, "\n\nAnswer from %s:\n%s",
                                json_object_get_string(json_object_object_get(a, "name")),
                                json_object_get_string(json_object_object_get(a, "content")));
    }
    scratch->msgs[0] = (syn_chat_msg){.role = "system", .content = synthesis_prompt};
    scratch->msgs[1] = (syn_chat_msg){.role = "user", .content = scratch->user};
    *synth = *r;
    synth->msgs = scratch->msgs;
    synth->n_msgs = 2;
    /* the merge is two plain messages: nothing of r's per-message tool state */
    synth->tools = NULL;
    synth->msg_calls = NULL;
    synth->tool_results = 0;
    *answers = list;
    return 0;
}

void syn_swarm_scratch_free(syn_swarm_scratch *x)
{
    free(x->user);
    memset(x, 0, sizeof *x);
}
