/* The sampler's token -> count map (see token_counts.h). */
#include <stdlib.h>
#include <string.h>

#include <synapse/common.h>

#include "core/sample/token_counts.h"


static inline size_t tok_hash(int32_t key, size_t cap) { return ((uint32_t)key * 2654435761u) & (cap - 1); }

static size_t counts_slot(const tok_counts *m, int32_t key)
{
    size_t i = tok_hash(key, m->cap);
    while (m->keys[i] != -1 && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static int counts_rebuild(tok_counts *m)
{
    size_t cap = 16;
    while (cap < (m->live + 1) * 4)
        cap *= 2;
    int32_t *keys = malloc(cap * sizeof *keys);
    uint32_t *counts = malloc(cap * sizeof *counts);
    if (!keys || !counts) {
        free(keys);
        free(counts);
        return SYN_ERR_NOMEM;
    }
    memset(keys, 0xff, cap * sizeof *keys);
    tok_counts next = {keys, counts, cap, 0, 0};
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] < 0 || m->counts[i] == 0)
            continue;
        size_t j = counts_slot(&next, m->keys[i]);
        next.keys[j] = m->keys[i];
        next.counts[j] = m->counts[i];
        next.used++;
        next.live++;
    }
    free(m->keys);
    free(m->counts);
    *m = next;
    return 0;
}

int syn_counts_inc(tok_counts *m, int32_t key)
{
    if (m->cap) {
        size_t i = counts_slot(m, key);
        if (m->keys[i] == key) {
            if (m->counts[i]++ == 0)
                m->live++;
            return 0;
        }
    }
    if ((m->used + 1) * 4 > m->cap * 3) {
        int rc = counts_rebuild(m);
        if (rc)
            return rc;
    }
    size_t i = counts_slot(m, key);
    m->keys[i] = key;
    m->counts[i] = 1;
    m->used++;
    m->live++;
    return 0;
}

void syn_counts_dec(tok_counts *m, int32_t key)
{
    size_t i = counts_slot(m, key);
    if (m->keys[i] == key && m->counts[i] > 0 && --m->counts[i] == 0)
        m->live--;
}

void syn_counts_clear(tok_counts *m)
{
    if (m->cap) {
        memset(m->keys, 0xff, m->cap * sizeof *m->keys);
        memset(m->counts, 0, m->cap * sizeof *m->counts);
    }
    m->used = m->live = 0;
}

void syn_counts_free(tok_counts *m)
{
    free(m->keys);
    free(m->counts);
    memset(m, 0, sizeof *m);
}
