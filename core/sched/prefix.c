/* Prefix reuse. A slot remembers the tokens its KV holds, so a new prompt
 * that shares a prefix with it (a system prompt, a conversation so far) only
 * runs the part after the prefix; a prefix another slot holds is copied over
 * rather than computed again, and the choices of an n > 1 request copy the
 * prompt once choice 0 has run it. Copied keys and values are the ones the
 * rows would compute (the kernels do not depend on the batch), so outputs do
 * not change. Keys and values depend on the adapter the rows ran under too,
 * so a slot's history names it and only a prompt under the same adapter and
 * scale reuses it. */
#include <string.h>

#include "core/sched/sched_internal.h"

static int32_t common_prefix(const int32_t *a, int32_t na, const int32_t *b, int32_t nb)
{
    int32_t i = 0;
    while (i < na && i < nb && a[i] == b[i])
        i++;
    return i;
}

int32_t syn_slot_prefix(const syn_sched *s, int slot, int32_t valid, const syn_job *j, int32_t n)
{
    if (!syn_adapter_key_eq(s->hist_key[slot], syn_job_adapter_key(j)))
        return 0;
    return common_prefix(s->hist[slot], valid, j->prompt, n);
}

/* The tokens whose KV slot i holds now: an active sequence's computed
 * positions, or what a free slot was left with. Only called between steps,
 * when every row added so far has run. */
static int32_t slot_valid(const syn_sched *s, int i)
{
    return s->seqs[i].job ? s->seqs[i].n_past : s->hist_len[i];
}

/* Gives q the keys and values of prompt[0..n) from slot donor, which holds
 * them; 0, or nonzero (q unchanged) when the backend cannot copy. */
int syn_copy_kv(syn_sched *s, seq *q, int donor, const int32_t *prompt, int32_t n)
{
    if (syn_ctx_kv_copy(s->ctx, donor, q->slot, n, NULL))
        return -1;
    memcpy(s->hist[q->slot], prompt, sizeof(int32_t) * (size_t)n);
    q->n_past = n;
    return 0;
}

/* Moves q's start past the longest prefix of j's prompt (short of its last
 * token) that another slot holds under j's adapter, copying those keys and
 * values into q's slot (nothing changes when no slot holds more or the
 * backend cannot). */
void syn_copy_prefix(syn_sched *s, seq *q, const syn_job *j)
{
    int donor = -1;
    int32_t best = q->n_past;
    for (int i = 0; i < s->p.n_slots; i++) {
        if (i == q->slot)
            continue;
        int32_t l = syn_slot_prefix(s, i, slot_valid(s, i), j, j->n_prompt - 1);
        if (l > best) {
            best = l;
            donor = i;
        }
    }
    if (donor >= 0)
        syn_copy_kv(s, q, donor, j->prompt, best);
}

/* A sequence waits only when that saves at least this many tokens. */
#define WAIT_MIN_GAIN 8

/* Requests that arrive together often share a system prompt, and the
 * choices of an n > 1 request share all of theirs. Rather than compute a
 * shared prefix in every slot in the same step, q waits for the earlier
 * sequence still prefilling the longest such prefix and copies it from
 * there once it has run (syn_resolve_waits). Waits only point at earlier
 * sequences, so they never form a cycle. */
void syn_plan_wait(syn_sched *s, seq *q, const syn_job *j)
{
    int32_t best = q->n_past + WAIT_MIN_GAIN - 1;
    for (int i = 0; i < s->p.n_slots; i++) {
        const seq *d = &s->seqs[i];
        if (!d->job || d == q)
            continue;
        int32_t l = syn_slot_prefix(s, i, d->job->n_prompt, j, j->n_prompt - 1);
        if (l > best && l > d->n_past) {
            best = l;
            q->wait_slot = i;
            q->wait_len = l;
            q->wait_order = d->order;
        }
    }
}

/* A sequence waiting for another's prompt prefix copies it once that has
 * run; if that sequence is gone, whatever some slot still holds. */
void syn_resolve_waits(syn_sched *s)
{
    for (int i = 0; i < s->p.n_slots; i++) {
        seq *q = &s->seqs[i];
        if (!q->job || q->wait_slot < 0)
            continue;
        const seq *d = &s->seqs[q->wait_slot];
        int there = d->job && d->order == q->wait_order;
        if (there && d->n_past < q->wait_len)
            continue;
        int32_t before = q->n_past;
        if (there)
            syn_copy_kv(s, q, q->wait_slot, q->job->prompt, q->wait_len);
        else
            syn_copy_prefix(s, q, q->job);
        if (s->obs.prompt_cached && q->n_past > before)
            s->obs.prompt_cached(s->obs.user, (uint64_t)(q->n_past - before));
        if (q->choice == 0)
            __atomic_store_n(&q->job->n_cached, q->n_past, __ATOMIC_RELEASE);
        q->wait_slot = -1;
    }
}
