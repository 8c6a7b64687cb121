/* SentencePiece (BPE variant, as llama.cpp runs it): start from UTF-8
 * characters, repeatedly merge the adjacent pair whose concatenation is the
 * highest-scoring vocabulary entry, then fall back to byte tokens for what is
 * left unknown. Reads only the immutable tokenizer; any thread. */
#include "core/tokenizer_internal.h"
#include "core/unicode.h"

struct spm_item {
    float score;
    int32_t left, right;
    uint32_t size;
};

/* Highest score first; the leftmost pair among equals. */
static int item_before(const struct spm_item *a, const struct spm_item *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

struct spm_state {
    const syn_tokenizer *t;
    const char *text;
    uint32_t *start, *len;
    int32_t *prev, *next;
    struct spm_item *heap;
    size_t n_heap, cap_heap;
};

static int try_pair(struct spm_state *st, int32_t left, int32_t right)
{
    if (left < 0 || right < 0)
        return 0;
    uint32_t size = st->len[left] + st->len[right];
    int32_t id = syn_strtab_get(&st->t->text_map, st->text + st->start[left], size);
    if (id < 0)
        return 0;
    if (st->n_heap == st->cap_heap) {
        size_t cap = st->cap_heap ? st->cap_heap * 2 : 256;
        struct spm_item *h = realloc(st->heap, cap * sizeof *h);
        if (!h)
            return SYN_ERR_NOMEM;
        st->heap = h;
        st->cap_heap = cap;
    }
    struct spm_item it = {st->t->score[id], left, right, size};
    size_t i = st->n_heap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!item_before(&it, &st->heap[p]))
            break;
        st->heap[i] = st->heap[p];
        i = p;
    }
    st->heap[i] = it;
    return 0;
}

static struct spm_item pop(struct spm_state *st)
{
    struct spm_item *h = st->heap;
    struct spm_item top = h[0], last = h[--st->n_heap];
    size_t i = 0, m = st->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m)
            break;
        if (c + 1 < m && item_before(&h[c + 1], &h[c]))
            c++;
        if (!item_before(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (m)
        h[i] = last;
    return top;
}

int syn_spm_fragment(const syn_tokenizer *t, const char *text, size_t len, syn_idvec *out)
{
    if (!len)
        return 0;
    if (len > INT32_MAX)
        return SYN_ERR_RANGE;
    struct spm_state st = {.t = t, .text = text};
    st.start = malloc(len * sizeof *st.start);
    st.len = malloc(len * sizeof *st.len);
    st.prev = malloc(len * sizeof *st.prev);
    st.next = malloc(len * sizeof *st.next);
    int rc = SYN_ERR_NOMEM;
    if (!st.start || !st.len || !st.prev || !st.next)
        goto done;

    int32_t n = 0;
    for (size_t off = 0; off < len; n++) {
        size_t l = syn_utf8_len((unsigned char)text[off]);
        if (l > len - off)
            l = len - off;
        st.start[n] = (uint32_t)off;
        st.len[n] = (uint32_t)l;
        st.prev[n] = n - 1;
        off += l;
        st.next[n] = off == len ? -1 : n + 1;
    }
    for (int32_t i = 1; i < n; i++)
        if (try_pair(&st, i - 1, i))
            goto done;
    while (st.n_heap) {
        struct spm_item it = pop(&st);
        uint32_t *l = st.len;
        if (!l[it.left] || !l[it.right] || l[it.left] + l[it.right] != it.size)
            continue; /* one side merged since this pair was queued */
        l[it.left] += l[it.right];
        l[it.right] = 0;
        int32_t after = st.next[it.right];
        st.next[it.left] = after;
        if (after >= 0)
            st.prev[after] = it.left;
        if (try_pair(&st, st.prev[it.left], it.left) || try_pair(&st, it.left, after))
            goto done;
    }
    for (int32_t i = 0; i >= 0; i = st.next[i]) {
        const char *p = text + st.start[i];
        int32_t id = syn_strtab_get(&t->text_map, p, st.len[i]);
        if (id >= 0 ? syn_idvec_push(out, id) : syn_tok_push_bytes(t, (const unsigned char *)p, st.len[i], out))
            goto done;
    }
    rc = 0;
done:
    free(st.start);
    free(st.len);
    free(st.prev);
    free(st.next);
    free(st.heap);
    return rc;
}
