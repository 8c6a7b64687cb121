/* SentencePiece (BPE variant, as llama.cpp runs it): start from UTF-8
 * characters, repeatedly merge the adjacent pair whose concatenation is the
 * highest-scoring vocabulary entry, then fall back to byte tokens for what is
 * left unknown. Reads only the immutable tokenizer; any thread. */
#include "core/tokenizer/heap.h"
#include "core/tokenizer/tokenizer_internal.h"
#include "core/tokenizer/unicode.h"

struct spm_item {
    float score;
    int32_t left, right;
    uint32_t size;
    int32_t id; /* the token the pair forms */
};

/* Highest score first; the leftmost pair among equals. */
static int item_before(const struct spm_item *a, const struct spm_item *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

SYN_DEFINE_HEAP(queue, struct spm_item, item_before)

/* One word's symbols at a time; arrays grow to the longest word. */
struct spm_state {
    const syn_tokenizer *t;
    const char *text;
    uint32_t *start, *len;
    int32_t *prev, *next, *id;
    size_t cap;
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
    struct spm_item it = {st->t->score[id], left, right, size, id};
    queue_push(st->heap, &st->n_heap, it);
    return 0;
}

static int reserve(struct spm_state *st, size_t n)
{
    if (n <= st->cap)
        return 0;
    size_t cap = st->cap ? st->cap : 64;
    while (cap < n)
        cap *= 2;
    void **arrays[] = {(void **)&st->start, (void **)&st->len, (void **)&st->prev, (void **)&st->next,
                       (void **)&st->id};
    for (size_t k = 0; k < sizeof arrays / sizeof *arrays; k++) {
        void *p = realloc(*arrays[k], cap * sizeof(int32_t));
        if (!p)
            return SYN_ERR_NOMEM;
        *arrays[k] = p;
    }
    st->cap = cap;
    return 0;
}

/* Merges and emits the n symbols of one word. */
static int spm_word(struct spm_state *st, int32_t n, syn_idvec *out)
{
    for (int32_t i = 0; i < n; i++) {
        st->prev[i] = i - 1;
        st->next[i] = i + 1 < n ? i + 1 : -1;
        st->id[i] = -1;
    }
    for (int32_t i = 1; i < n; i++)
        if (try_pair(st, i - 1, i))
            return SYN_ERR_NOMEM;
    while (st->n_heap) {
        struct spm_item it = queue_pop(st->heap, &st->n_heap);
        uint32_t *l = st->len;
        if (!l[it.left] || !l[it.right] || l[it.left] + l[it.right] != it.size)
            continue; /* one side merged since this pair was queued */
        l[it.left] += l[it.right];
        l[it.right] = 0;
        st->id[it.left] = it.id;
        int32_t after = st->next[it.right];
        st->next[it.left] = after;
        if (after >= 0)
            st->prev[after] = it.left;
        if (try_pair(st, st->prev[it.left], it.left) || try_pair(st, it.left, after))
            return SYN_ERR_NOMEM;
    }
    const syn_tokenizer *t = st->t;
    for (int32_t i = 0; i >= 0; i = st->next[i]) {
        const char *p = st->text + st->start[i];
        int32_t id = st->id[i] >= 0 ? st->id[i] : syn_strtab_get(&t->text_map, p, st->len[i]);
        if (id >= 0 ? syn_idvec_push(out, id) : syn_tok_push_bytes(t, (const unsigned char *)p, st->len[i], out))
            return SYN_ERR_NOMEM;
    }
    return 0;
}

static int is_space_mark(const char *p) { return !memcmp(p, "\xe2\x96\x81", 3); }

int syn_spm_fragment(const syn_tokenizer *t, const char *text, size_t len, syn_idvec *out)
{
    if (len > INT32_MAX)
        return SYN_ERR_RANGE;
    struct spm_state st = {.t = t, .text = text};
    int rc = 0;
    /* Characters as symbols (the lead byte decides the length, as in
     * llama.cpp). When no token has a U+2581 inside that follows anything but
     * another U+2581 (spm_word_split), no merge can reach across into a
     * U+2581 that follows something else: the text is merged word by word,
     * with the same result and small queues. */
    int32_t n = 0;
    for (size_t off = 0; off < len && !rc;) {
        size_t l = syn_utf8_len((unsigned char)text[off]);
        if (l > len - off)
            l = len - off;
        if (t->spm_word_split && n > 0 && l == 3 && is_space_mark(text + off) &&
            !(off >= 3 && is_space_mark(text + off - 3))) {
            rc = spm_word(&st, n, out);
            n = 0;
        }
        if (!rc && !(rc = reserve(&st, (size_t)n + 1))) {
            st.start[n] = (uint32_t)off;
            st.len[n] = (uint32_t)l;
            n++;
        }
        off += l;
    }
    if (!rc && n)
        rc = spm_word(&st, n, out);
    free(st.start);
    free(st.len);
    free(st.prev);
    free(st.next);
    free(st.id);
    free(st.heap);
    return rc;
}
