/* Hash tables of the tokenizer (string -> id, symbol pair -> merge) and the
 * growable id vector. Tables are filled at load and only read afterwards, so
 * lookups may run on any thread; the vector is its caller's. */
#include "core/tokenizer/tokenizer_internal.h"

uint32_t syn_tok_hash(const void *data, size_t n)
{
    /* FNV-1a over 8-byte words: the keys are short and this is on the
     * tokenizing path, so one multiply per word rather than per byte. */
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 32;
    h *= 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32);
}

static uint32_t table_size(size_t n)
{
    uint32_t size = 16;
    while (size < 2 * n + 1)
        size <<= 1;
    return size;
}

int syn_strtab_init(syn_strtab *m, const char *blob, const uint32_t *off, const uint32_t *len, size_t n_expected)
{
    uint32_t size = table_size(n_expected);
    m->slots = calloc(size, sizeof *m->slots);
    if (!m->slots)
        return SYN_ERR_NOMEM;
    m->mask = size - 1;
    syn_strtab_rebind(m, blob, off, len);
    return 0;
}

void syn_strtab_free(syn_strtab *m)
{
    free(m->slots);
    m->slots = NULL;
}

void syn_strtab_put(syn_strtab *m, int32_t id)
{
    const char *s = m->blob + m->off[id];
    size_t n = m->len[id];
    uint32_t h = syn_tok_hash(s, n);
    for (uint32_t i = h & m->mask;; i = (i + 1) & m->mask) {
        uint64_t e = m->slots[i];
        if (e) {
            uint32_t old = (uint32_t)e - 1;
            if ((uint32_t)(e >> 32) != h || m->len[old] != n || memcmp(m->blob + m->off[old], s, n))
                continue;
        }
        m->slots[i] = ((uint64_t)h << 32) | ((uint32_t)id + 1);
        return;
    }
}

int32_t syn_strtab_get(const syn_strtab *m, const void *s, size_t n)
{
    uint32_t h = syn_tok_hash(s, n);
    for (uint32_t i = h & m->mask;; i = (i + 1) & m->mask) {
        uint64_t e = m->slots[i];
        if (!e)
            return -1;
        if ((uint32_t)(e >> 32) == h) {
            uint32_t id = (uint32_t)e - 1;
            if (m->len[id] == n && !memcmp(m->blob + m->off[id], s, n))
                return (int32_t)id;
        }
    }
}

int syn_strtab_grow(syn_strtab *m, size_t n_entries)
{
    if (2 * n_entries + 1 <= (size_t)m->mask + 1)
        return 0;
    uint32_t size = table_size(n_entries * 2);
    uint64_t *slots = calloc(size, sizeof *slots);
    if (!slots)
        return SYN_ERR_NOMEM;
    for (uint32_t i = 0; i <= m->mask; i++) {
        uint64_t e = m->slots[i];
        if (!e)
            continue;
        uint32_t j = (uint32_t)(e >> 32) & (size - 1);
        while (slots[j])
            j = (j + 1) & (size - 1);
        slots[j] = e;
    }
    free(m->slots);
    m->slots = slots;
    m->mask = size - 1;
    return 0;
}

int syn_pairtab_init(syn_pairtab *p, size_t n_expected)
{
    uint32_t size = table_size(n_expected);
    p->keys = calloc(size, sizeof *p->keys);
    p->rank = malloc(size * sizeof *p->rank);
    p->merged = malloc(size * sizeof *p->merged);
    p->mask = size - 1;
    if (!p->keys || !p->rank || !p->merged) {
        syn_pairtab_free(p);
        return SYN_ERR_NOMEM;
    }
    return 0;
}

void syn_pairtab_free(syn_pairtab *p)
{
    free(p->keys);
    free(p->rank);
    free(p->merged);
    p->keys = NULL;
    p->rank = p->merged = NULL;
}

void syn_pairtab_put(syn_pairtab *p, int32_t left, int32_t right, int32_t rank, int32_t merged)
{
    uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
    for (uint32_t i = syn_pair_slot(key, p->mask);; i = (i + 1) & p->mask) {
        if (p->keys[i] == key)
            return;
        if (!p->keys[i]) {
            p->keys[i] = key;
            p->rank[i] = rank;
            p->merged[i] = merged;
            return;
        }
    }
}

int syn_idvec_reserve(syn_idvec *v, size_t more)
{
    if (v->cap - v->n >= more)
        return 0;
    size_t cap = v->cap ? v->cap : 64;
    while (cap - v->n < more)
        cap *= 2;
    int32_t *p = realloc(v->v, cap * sizeof *p);
    if (!p)
        return SYN_ERR_NOMEM;
    v->v = p;
    v->cap = cap;
    return 0;
}
