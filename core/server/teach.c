/* Facts learned from conversation (config learning: true): what the
 * extractor finds in the user's own words ("Remember this: Zorblax was
 * invented by Quentin Marsh.") is stored as the user's, and what it finds
 * in a trusted upstream's answer as the upstream's. Never the local
 * model's own answers: those are what the facts check. A failure is
 * logged; the conversation goes on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server/internal.h"

typedef struct lesson {
    syn_server *s;
    syn_fact_source source;
    json_object *ids; /* of the facts stored */
    int failed;
} lesson;

static int store_fact(void *user, const syn_fact *f)
{
    lesson *l = user;
    int64_t id;
    int is_new;
    syn_error err = {0};
    if (syn_store_fact_add(l->s->store, f, l->source, &id, &is_new, &err)) {
        if (err.code != SYN_ERR_INVALID) /* an empty part is not a fact; anything else is the store's */
            syn_log(SYN_LOG_ERROR, "a fact taught is not stored: %s", err.msg);
        return 0;
    }
    if (!l->ids)
        l->ids = json_object_new_array();
    json_object_array_add(l->ids, json_object_new_int64(id));
    return 0;
}

json_object *syn_server_learn(syn_server *s, const char *text, syn_fact_source source)
{
    if (!__atomic_load_n(&s->cfg.learning, __ATOMIC_RELAXED) || !s->extractor || !text || !*text)
        return NULL;
    lesson l = {.s = s, .source = source};
    syn_error err = {0};
    if (syn_extractor_run(s->extractor, text, store_fact, &l, &err))
        syn_log(SYN_LOG_ERROR, "learning: the extractor failed: %s", err.msg);
    return l.ids;
}
