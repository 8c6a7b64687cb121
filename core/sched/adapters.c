/* The adapters a step's rows name. The context takes a table of adapters
 * and each row an index into it; the scheduler builds the table afresh for
 * every step from the sequences in it (at most one adapter per sequence)
 * and hands it to the context only when it changed, so a step of the same
 * specialists as the last costs nothing here. The scheduler holds a
 * reference to each adapter in the context's table, which outlives the jobs
 * that brought it until the next change. */
#include <stdlib.h>

#include "core/sched/sched_internal.h"

adapter_key syn_job_adapter_key(const syn_job *j)
{
    return (adapter_key){.serial = j->adapter ? syn_lora_serial(j->adapter) : 0, .scale = j->adapter_scale};
}

int syn_adapter_key_eq(adapter_key a, adapter_key b) { return a.serial == b.serial && a.scale == b.scale; }

void syn_adapters_begin(syn_sched *s) { s->n_next = 0; }

int32_t syn_adapters_index(syn_sched *s, const syn_job *j)
{
    if (!j->adapter)
        return -1;
    for (int32_t i = 0; i < s->n_next; i++)
        if (s->next_tab[i] == j->adapter && s->next_scale[i] == j->adapter_scale)
            return i;
    s->next_tab[s->n_next] = j->adapter;
    s->next_scale[s->n_next] = j->adapter_scale;
    return s->n_next++;
}

int syn_adapters_apply(syn_sched *s, syn_error *err)
{
    int same = s->n_next == s->n_tab;
    for (int32_t i = 0; same && i < s->n_next; i++)
        same = s->next_tab[i] == s->tab[i] && s->next_scale[i] == s->tab_scale[i];
    if (same)
        return 0;
    int rc = syn_ctx_set_adapters(s->ctx, s->next_tab, s->next_scale, s->n_next, err);
    if (rc)
        return rc;
    for (int32_t i = 0; i < s->n_next; i++)
        syn_lora_retain(s->next_tab[i]);
    syn_adapters_drop(s);
    for (int32_t i = 0; i < s->n_next; i++) {
        s->tab[i] = s->next_tab[i];
        s->tab_scale[i] = s->next_scale[i];
    }
    s->n_tab = s->n_next;
    return 0;
}

void syn_adapters_drop(syn_sched *s)
{
    for (int32_t i = 0; i < s->n_tab; i++)
        syn_lora_free(s->tab[i]);
    s->n_tab = 0;
}

void syn_adapters_release(syn_sched *s)
{
    syn_error err = {0};
    (void)syn_ctx_set_adapters(s->ctx, NULL, NULL, 0, &err); /* an empty table allocates nothing */
    syn_adapters_drop(s);
}
