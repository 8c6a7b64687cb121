/* The paged KV cache and its prefix tree. A slot's positions live in pages
 * of page_len positions (the context's table maps them). Every page a
 * sequence writes is a node of one tree, a child of the page before it and
 * keyed by the adapter it was computed under and the tokens it holds, so a
 * new prompt walks the tree from the root: each page that matches whole is
 * mapped into its slot, shared and reference counted (the keys and values
 * of a specialist's system prompt are computed once, whoever asks); in a
 * page that matches only in part, the matching positions are copied into a
 * page of its own, or the page itself is taken over when nobody maps it and
 * nothing hangs from it (the next turn of a conversation goes on where the
 * last one stopped). A page nobody maps stays cached until a sequence needs
 * a page and none is free: then the leaf used longest ago goes. Copied and
 * shared keys and values are the ones the rows would compute (the kernels
 * do not depend on the batch, nor attention on where the pages lie), so
 * outputs do not change; the same tokens under another adapter (or scale)
 * are other keys and values, and never match.
 *
 * The context holds at least n_slots * pages_per_slot pages and each slot
 * maps at most pages_per_slot, so a page is always there to take: pages no
 * active sequence maps are free or cached, and a cached page with nothing
 * under it is a leaf (a sequence that maps a page maps the pages before it).
 *
 * On a backend without pages (page_len 0) there is nothing to share: each
 * slot keeps its own cache and every prompt runs whole. Only the scheduler
 * thread calls these. */
#include <stdlib.h>
#include <string.h>

#include "core/sched/sched_internal.h"

static int32_t *slot_map(syn_sched *s, int slot) { return s->kv.map + (size_t)slot * (size_t)s->kv.per_slot; }

static int32_t *page_tokens(syn_sched *s, int32_t page) { return s->kv.tokens + (size_t)page * (size_t)s->kv.page_len; }

/* The first child of parent (-1: the root). */
static int32_t *first_child(syn_sched *s, int32_t parent) { return parent < 0 ? &s->kv.roots : &s->kv.pages[parent].child; }

static void unlink_node(syn_sched *s, int32_t page)
{
    kv_page *p = &s->kv.pages[page];
    int32_t *at = first_child(s, p->parent);
    while (*at != page)
        at = &s->kv.pages[*at].sibling;
    *at = p->sibling;
    p->in_tree = 0;
}

/* The cached leaf nobody maps that was used longest ago, out of the tree;
 * -1 when there is none. */
static int32_t evict(syn_sched *s)
{
    int32_t best = -1;
    for (int32_t i = 0; i < s->kv.n_pages; i++) {
        const kv_page *p = &s->kv.pages[i];
        if (p->in_tree && !p->ref && p->child < 0 && (best < 0 || p->used < s->kv.pages[best].used))
            best = i;
    }
    if (best >= 0) {
        unlink_node(s, best);
        s->kv.evictions++;
    }
    return best;
}

/* Maps a fresh page at slot's index-th page: a free one, else the cached
 * leaf used longest ago. A sequence's page (key != NULL) joins the tree
 * under the page before it, empty; an embedding's stays out of it. */
static int32_t take_page(syn_sched *s, int slot, int32_t index, const adapter_key *key, syn_error *err)
{
    int32_t page = s->kv.n_free ? s->kv.free[--s->kv.n_free] : evict(s);
    if (page < 0)
        return syn_fail(err, SYN_ERR_NOMEM, "no KV page is free (%d pages)", s->kv.n_pages), -1;
    if (syn_ctx_map_page(s->ctx, slot, index, page, err)) {
        s->kv.free[s->kv.n_free++] = page;
        return -1;
    }
    kv_page *p = &s->kv.pages[page];
    *p = (kv_page){.ref = 1, .parent = -1, .child = -1, .sibling = -1, .used = ++s->kv.clock};
    slot_map(s, slot)[index] = page;
    int32_t parent = index ? slot_map(s, slot)[index - 1] : -1;
    if (key && (parent < 0 || s->kv.pages[parent].in_tree)) {
        p->in_tree = 1;
        p->key = *key;
        p->parent = parent;
        int32_t *head = first_child(s, parent);
        p->sibling = *head;
        *head = page;
    }
    return page;
}

int syn_kv_reserve(syn_sched *s, int slot, int32_t pos, const adapter_key *key, syn_error *err)
{
    if (!s->kv.page_len || slot_map(s, slot)[pos / s->kv.page_len] >= 0)
        return 0;
    return take_page(s, slot, pos / s->kv.page_len, key, err) < 0 ? -1 : 0;
}

void syn_kv_commit(syn_sched *s, int slot, int32_t pos, int32_t token)
{
    if (!s->kv.page_len)
        return;
    int32_t page = slot_map(s, slot)[pos / s->kv.page_len], at = pos % s->kv.page_len;
    kv_page *p = &s->kv.pages[page];
    if (!p->in_tree)
        return;
    page_tokens(s, page)[at] = token;
    if (at + 1 > p->fill)
        p->fill = at + 1;
}

/* Slot's index-th page unmapped: free once nobody maps it, unless cached
 * (an empty page caches nothing: it leaves the tree). */
static void drop_page(syn_sched *s, int slot, int32_t index)
{
    int32_t page = slot_map(s, slot)[index];
    kv_page *p = &s->kv.pages[page];
    p->used = ++s->kv.clock;
    slot_map(s, slot)[index] = -1;
    if (--p->ref)
        return;
    if (p->in_tree && !p->fill && p->child < 0)
        unlink_node(s, page);
    if (!p->in_tree)
        s->kv.free[s->kv.n_free++] = page;
}

void syn_kv_release(syn_sched *s, int slot)
{
    if (!s->kv.page_len)
        return;
    for (int32_t i = 0; i < s->kv.per_slot; i++)
        if (slot_map(s, slot)[i] >= 0)
            drop_page(s, slot, i);
}

static int32_t common_prefix(const int32_t *a, const int32_t *b, int32_t n)
{
    int32_t i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* The child of parent under key sharing the most of toks[0..n); its count
 * in *len. */
static int32_t best_child(syn_sched *s, int32_t parent, adapter_key key, const int32_t *toks, int32_t n, int32_t *len)
{
    int32_t best = -1;
    *len = 0;
    for (int32_t c = *first_child(s, parent); c >= 0; c = s->kv.pages[c].sibling) {
        const kv_page *p = &s->kv.pages[c];
        if (!syn_adapter_key_eq(p->key, key))
            continue;
        int32_t t = common_prefix(page_tokens(s, c), toks, p->fill < n ? p->fill : n);
        if (t > *len) {
            *len = t;
            best = c;
        }
    }
    return best;
}

/* The page q ends on holds n_past = len of a prefix that page `from`
 * holds too: taken over when nobody else can see it change, else copied. */
static int take_partial(syn_sched *s, seq *q, int32_t index, int32_t from, int32_t len, const adapter_key *key)
{
    kv_page *f = &s->kv.pages[from];
    syn_error err = {0};
    if (!f->ref && f->child < 0) {
        if (syn_ctx_map_page(s->ctx, q->slot, index, from, &err))
            return -1;
        f->ref = 1;
        f->fill = len;
        slot_map(s, q->slot)[index] = from;
        return 0;
    }
    f->ref++; /* not evicted to make room for its own copy */
    int32_t page = take_page(s, q->slot, index, key, &err);
    f->ref--;
    if (page < 0)
        return -1;
    if (syn_ctx_copy_page(s->ctx, from, page, len, &err)) {
        drop_page(s, q->slot, index);
        return -1;
    }
    memcpy(page_tokens(s, page), page_tokens(s, from), sizeof(int32_t) * (size_t)len);
    s->kv.pages[page].fill = len;
    return 0;
}

int32_t syn_kv_match(syn_sched *s, seq *q, const syn_job *j, int32_t limit, int dry)
{
    int32_t pl = s->kv.page_len, n = q->n_past;
    if (!pl || n % pl)
        return n;
    int32_t *map = slot_map(s, q->slot);
    int32_t index = n / pl, parent = index ? map[index - 1] : -1;
    if (parent >= 0 && !s->kv.pages[parent].in_tree)
        return n;
    adapter_key key = syn_job_adapter_key(j);
    while (n < limit && index < s->kv.per_slot) {
        int32_t want = limit - n < pl ? limit - n : pl, len;
        int32_t c = best_child(s, parent, key, j->prompt + n, want, &len);
        if (c < 0)
            break;
        if (dry) {
            n += len;
            if (len < pl)
                break;
            parent = c;
            index++;
            continue;
        }
        s->kv.pages[c].used = ++s->kv.clock;
        if (len == pl) {
            syn_error err = {0};
            if (map[index] >= 0 || syn_ctx_map_page(s->ctx, q->slot, index, c, &err))
                break;
            s->kv.pages[c].ref++;
            map[index] = c;
            n += pl;
            parent = c;
            index++;
            continue;
        }
        if (map[index] < 0 && !take_partial(s, q, index, c, len, &key))
            n += len;
        break;
    }
    if (!dry)
        q->n_past = n;
    return n;
}

void syn_kv_counts(const syn_sched *s, int32_t *used, int32_t *cached)
{
    *used = *cached = 0;
    for (int32_t i = 0; i < s->kv.n_pages; i++) {
        *used += s->kv.pages[i].ref > 0;
        *cached += !s->kv.pages[i].ref && s->kv.pages[i].in_tree;
    }
}

int syn_kv_init(syn_sched *s, syn_error *err)
{
    kv_cache *kv = &s->kv;
    kv->page_len = syn_ctx_page_len(s->ctx);
    kv->roots = -1;
    if (!kv->page_len)
        return 0;
    kv->per_slot = syn_ctx_pages_per_slot(s->ctx);
    kv->n_pages = syn_ctx_n_pages(s->ctx);
    size_t mapped = (size_t)s->p.n_slots * (size_t)kv->per_slot, np = (size_t)kv->n_pages;
    kv->map = malloc(sizeof(int32_t) * mapped);
    kv->pages = calloc(np, sizeof *kv->pages);
    kv->free = malloc(sizeof(int32_t) * np);
    kv->tokens = malloc(sizeof(int32_t) * np * (size_t)kv->page_len);
    if (!kv->map || !kv->pages || !kv->free || !kv->tokens) {
        syn_kv_free(s);
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory for %d KV pages", kv->n_pages);
    }
    for (size_t i = 0; i < mapped; i++)
        kv->map[i] = -1;
    /* popped from the end: page 0 first */
    for (int32_t i = 0; i < kv->n_pages; i++)
        kv->free[i] = kv->n_pages - 1 - i;
    kv->n_free = kv->n_pages;
    return 0;
}

void syn_kv_free(syn_sched *s)
{
    free(s->kv.map);
    free(s->kv.pages);
    free(s->kv.free);
    free(s->kv.tokens);
    memset(&s->kv, 0, sizeof s->kv);
}

/* ---- sequences that wait for a prefix another one is computing ---- */

/* A sequence waits only when that saves at least this many tokens. */
#define WAIT_MIN_GAIN 8

/* Requests that arrive together often share a system prompt, and the
 * choices of an n > 1 request share all of theirs. Rather than compute a
 * shared prefix in every slot in the same step, q waits for the earlier
 * sequence still prefilling the longest such prefix and takes it from the
 * tree once it has run (syn_resolve_waits). Waits only point at earlier
 * sequences, so they never form a cycle. Returns whether q waits. */
int syn_plan_wait(syn_sched *s, seq *q, const syn_job *j, int32_t cached)
{
    if (!s->kv.page_len)
        return 0;
    adapter_key key = syn_job_adapter_key(j);
    int32_t best = cached + WAIT_MIN_GAIN - 1;
    for (int i = 0; i < s->p.n_slots; i++) {
        const seq *d = &s->seqs[i];
        if (!d->job || d == q || !syn_adapter_key_eq(syn_job_adapter_key(d->job), key))
            continue;
        int32_t n = j->n_prompt - 1 < d->job->n_prompt ? j->n_prompt - 1 : d->job->n_prompt;
        int32_t l = common_prefix(d->job->prompt, j->prompt, n);
        if (l > best && l > d->n_past) {
            best = l;
            q->wait_slot = i;
            q->wait_len = l;
            q->wait_order = d->order;
        }
    }
    return q->wait_slot >= 0;
}

void syn_resolve_waits(syn_sched *s)
{
    for (int i = 0; i < s->p.n_slots; i++) {
        seq *q = &s->seqs[i];
        if (!q->job || q->wait_slot < 0)
            continue;
        const seq *d = &s->seqs[q->wait_slot];
        if (d->job && d->order == q->wait_order && d->n_past < q->wait_len)
            continue;
        int32_t before = q->n_past;
        syn_kv_match(s, q, q->job, q->job->n_prompt - 1, 0);
        if (s->obs.prompt_cached && q->n_past > before)
            s->obs.prompt_cached(s->obs.user, (uint64_t)(q->n_past - before));
        if (q->choice == 0)
            __atomic_store_n(&q->job->n_cached, q->n_past, __ATOMIC_RELEASE);
        q->wait_slot = -1;
    }
}
