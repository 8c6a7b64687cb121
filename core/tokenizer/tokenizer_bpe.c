/* Byte-level BPE: GPT-2's byte <-> unicode alphabet and the merge loop of one
 * pre-tokenized word. Merges work on symbol ids (a pair table gives rank and
 * result), so no string is built or hashed while merging. Reads only the
 * immutable tokenizer; scratch is the caller's, so any thread may call. */
#include <limits.h>
#include "core/tokenizer/heap.h"
#include "core/tokenizer/tokenizer_internal.h"
#include "core/tokenizer/unicode.h"

/* GPT-2 maps the 188 printable bytes to themselves and the other 68 (0-32,
 * 127-160, 173), in order, to U+0100 and up, so every byte is a visible char. */
uint32_t syn_bpe_byte_to_cp(unsigned char b)
{
    if (b <= 32)
        return 256u + b;
    if (b >= 127 && b <= 160)
        return 256u + 33 + (b - 127u);
    if (b == 173)
        return 256u + 67;
    return b;
}

int syn_bpe_cp_to_byte(uint32_t cp)
{
    if (cp < 256)
        return (cp <= 32 || (cp >= 127 && cp <= 160) || cp == 173) ? -1 : (int)cp;
    if (cp < 256 + 33)
        return (int)(cp - 256);
    if (cp < 256 + 67)
        return (int)(cp - 256 - 33 + 127);
    if (cp == 256 + 67)
        return 173;
    return -1;
}

long syn_bpe_unmap(const char *s, size_t n, char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k = 0;
    while (i < n) {
        uint32_t cp;
        i += syn_utf8_decode(p + i, n - i, &cp);
        int b = syn_bpe_cp_to_byte(cp);
        if (b < 0)
            return -1;
        out[k++] = (char)b;
    }
    return (long)k;
}

struct syn_bpe_heap_item {
    int32_t rank, left, right, lsym, rsym, merged;
};

static int heap_less(const struct syn_bpe_heap_item *a, const struct syn_bpe_heap_item *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

SYN_DEFINE_HEAP(heap, struct syn_bpe_heap_item, heap_less)

void syn_bpe_scratch_free(syn_bpe_scratch *s)
{
    free(s->sym);
    free(s->prev);
    free(s->next);
    free(s->rank);
    free(s->merged);
    free(s->heap);
    memset(s, 0, sizeof *s);
}

static int scratch_reserve(syn_bpe_scratch *s, size_t n)
{
    if (n <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < n)
        cap *= 2;
    int32_t **arrays[] = {&s->sym, &s->prev, &s->next, &s->rank, &s->merged};
    for (size_t k = 0; k < sizeof arrays / sizeof *arrays; k++) {
        int32_t *p = realloc(*arrays[k], cap * sizeof *p);
        if (!p)
            return SYN_ERR_NOMEM;
        *arrays[k] = p;
    }
    s->cap = cap;
    return 0;
}

static int32_t pair_rank(const syn_tokenizer *t, int32_t a, int32_t b, int32_t *merged)
{
    int32_t r = syn_pairtab_get(&t->pairs, a, b, merged);
    return r < 0 ? INT32_MAX : r;
}

/* Lowest rank first, leftmost among equals: scan the live pairs each round.
 * Quadratic, but words are short and this beats a heap for them. */
static void merge_scan(const syn_tokenizer *t, syn_bpe_scratch *s, size_t n)
{
    int32_t *sym = s->sym, *prev = s->prev, *next = s->next, *rank = s->rank, *merged = s->merged;
    for (size_t i = 0; i + 1 < n; i++)
        rank[i] = pair_rank(t, sym[i], sym[i + 1], &merged[i]);
    rank[n - 1] = INT32_MAX;
    for (;;) {
        int32_t best = -1, best_rank = INT32_MAX;
        for (int32_t i = 0; i >= 0; i = next[i])
            if (rank[i] < best_rank) {
                best_rank = rank[i];
                best = i;
            }
        if (best < 0)
            return;
        int32_t r = next[best];
        sym[best] = merged[best];
        next[best] = next[r];
        if (next[r] >= 0)
            prev[next[r]] = best;
        rank[best] = next[best] >= 0 ? pair_rank(t, sym[best], sym[next[best]], &merged[best]) : INT32_MAX;
        if (prev[best] >= 0)
            rank[prev[best]] = pair_rank(t, sym[prev[best]], sym[best], &merged[prev[best]]);
    }
}

static void heap_add(const syn_tokenizer *t, syn_bpe_scratch *s, size_t *hn, int32_t left, int32_t right)
{
    if (left < 0 || right < 0)
        return;
    int32_t merged;
    int32_t r = syn_pairtab_get(&t->pairs, s->sym[left], s->sym[right], &merged);
    if (r < 0)
        return;
    struct syn_bpe_heap_item it = {r, left, right, s->sym[left], s->sym[right], merged};
    heap_push(s->heap, hn, it);
}

/* The same order with a priority queue; stale entries are skipped on pop. */
static int merge_heap(const syn_tokenizer *t, syn_bpe_scratch *s, size_t n)
{
    /* Each merge adds at most two entries to the n-1 initial ones. */
    size_t need = 3 * n;
    if (need > s->heap_cap) {
        struct syn_bpe_heap_item *h = realloc(s->heap, need * sizeof *h);
        if (!h)
            return SYN_ERR_NOMEM;
        s->heap = h;
        s->heap_cap = need;
    }
    int32_t *sym = s->sym, *prev = s->prev, *next = s->next;
    size_t hn = 0;
    for (size_t i = 0; i + 1 < n; i++)
        heap_add(t, s, &hn, (int32_t)i, (int32_t)i + 1);
    while (hn) {
        struct syn_bpe_heap_item it = heap_pop(s->heap, &hn);
        if (sym[it.left] != it.lsym || sym[it.right] != it.rsym)
            continue;
        sym[it.left] = it.merged;
        sym[it.right] = -1;
        next[it.left] = next[it.right];
        if (next[it.right] >= 0)
            prev[next[it.right]] = it.left;
        heap_add(t, s, &hn, prev[it.left], it.left);
        heap_add(t, s, &hn, it.left, next[it.left]);
    }
    return 0;
}

int syn_bpe_word(const syn_tokenizer *t, syn_bpe_scratch *s, const char *word, size_t len, size_t heap_threshold,
                 syn_idvec *out)
{
    const unsigned char *w = (const unsigned char *)word;
    if (len == 1)
        return syn_tok_push_bytes(t, w, 1, out);
    if (t->ignore_merges) {
        int32_t id = syn_strtab_get(&t->sym_map, word, len);
        if (id >= 0 && id < t->n_vocab)
            return syn_idvec_push(out, id);
    }
    if (scratch_reserve(s, len))
        return SYN_ERR_NOMEM;
    for (size_t i = 0; i < len; i++) {
        s->sym[i] = t->byte_sym[w[i]];
        s->prev[i] = (int32_t)i - 1;
        s->next[i] = i + 1 < len ? (int32_t)i + 1 : -1;
    }
    if (len <= heap_threshold)
        merge_scan(t, s, len);
    else if (merge_heap(t, s, len))
        return SYN_ERR_NOMEM;
    for (int32_t i = 0; i >= 0; i = s->next[i]) {
        int32_t id = s->sym[i];
        int rc;
        if (id < t->n_vocab)
            rc = syn_idvec_push(out, id);
        else
            rc = syn_tok_push_bytes(t, (const unsigned char *)t->sym_blob + t->sym_off[id], t->sym_len[id], out);
        if (rc)
            return rc;
    }
    return 0;
}

struct word_ctx {
    const syn_tokenizer *t;
    syn_bpe_scratch *s;
    syn_idvec *out;
};

static int on_word(void *ctx, const char *word, size_t len)
{
    struct word_ctx *c = ctx;
    return syn_bpe_word(c->t, c->s, word, len, SYN_BPE_HEAP_THRESHOLD, c->out);
}

int syn_bpe_fragment(const syn_tokenizer *t, syn_bpe_scratch *s, const char *text, size_t len, syn_idvec *out)
{
    /* llama.cpp reads the text as codepoints (a malformed byte becoming
     * U+FFFD) and splits their canonical re-encoding; do the same when the
     * input is not already in that form. */
    char *canon = NULL;
    if (!syn_utf8_is_canonical((const unsigned char *)text, len)) {
        if (len > SIZE_MAX / 3 || !(canon = malloc(len * 3 + 1)))
            return SYN_ERR_NOMEM;
        size_t i = 0, k = 0;
        while (i < len) {
            uint32_t cp;
            i += syn_utf8_decode((const unsigned char *)text + i, len - i, &cp);
            k += syn_utf8_encode(cp, canon + k);
        }
        text = canon;
        len = k;
    }
    struct word_ctx c = {t, s, out};
    int rc = syn_pretokenize(t->pre, text, len, on_word, &c);
    free(canon);
    return rc;
}
