/* The special-token partitioner, the syn_tokenize entry points and the
 * accessors. A loaded tokenizer is never written again, so all of this may
 * run on any thread. */
#include <stdbool.h>
#include <stdio.h>
#include "core/tokenizer/tokenizer_internal.h"
#include "core/tokenizer/unicode.h"

/* ------------------------------------------------------------ partitioning */

struct frag {
    size_t off, len;
    int32_t id; /* -1: raw text */
};

struct occ {
    uint32_t rank; /* index into specials: match priority */
    size_t pos;
};

static int occ_order(const void *a, const void *b)
{
    const struct occ *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static int frag_order(const void *a, const void *b)
{
    const struct frag *x = a, *y = b;
    return (x->off > y->off) - (x->off < y->off);
}

static int any_set(const unsigned char *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (m[i])
            return 1;
    return 0;
}

static int special_allowed(const syn_tokenizer *t, int32_t id, int parse_special)
{
    return parse_special || t->type[id] == SYN_TOKEN_USER_DEFINED;
}

/* Splits text into raw fragments and special tokens the way llama.cpp does:
 * each special token in priority order takes every non-overlapping occurrence
 * (leftmost first) that lies wholly in text not yet taken. One trie pass finds
 * all candidate occurrences; they are then accepted in that same order. */
/* literal: NULL, or 1 for each byte where control tokens are text (an
 * occurrence touching such a byte is matched only as a user-defined token). */
static int partition(const syn_tokenizer *t, const char *text, size_t len, int parse_special,
                     const unsigned char *literal, struct frag **out, size_t *n_out)
{
    const unsigned char *s = (const unsigned char *)text;
    struct occ *occ = NULL;
    size_t n_occ = 0, cap_occ = 0;
    for (size_t p = 0; p < len; p++) {
        int32_t node = t->trie_root[s[p]];
        for (size_t d = 1; node >= 0; d++) {
            int32_t k = t->trie[node].special;
            if (k >= 0 && special_allowed(t, t->specials[k], parse_special && !(literal && any_set(literal + p, d)))) {
                if (n_occ == cap_occ) {
                    cap_occ = cap_occ ? 2 * cap_occ : 64;
                    struct occ *o = realloc(occ, cap_occ * sizeof *o);
                    if (!o) {
                        free(occ);
                        return SYN_ERR_NOMEM;
                    }
                    occ = o;
                }
                occ[n_occ++] = (struct occ){(uint32_t)k, p};
            }
            if (p + d >= len)
                break;
            int32_t c = t->trie[node].child;
            while (c >= 0 && t->trie[c].byte != s[p + d])
                c = t->trie[c].sibling;
            node = c;
        }
    }

    struct frag *fr = NULL;
    size_t nf = 0;
    unsigned char *taken = NULL;
    if (n_occ) {
        qsort(occ, n_occ, sizeof *occ, occ_order);
        taken = calloc(len, 1);
        fr = malloc((2 * n_occ + 1) * sizeof *fr);
        if (!taken || !fr) {
            free(occ);
            free(taken);
            free(fr);
            return SYN_ERR_NOMEM;
        }
        for (size_t i = 0; i < n_occ; i++) {
            int32_t id = t->specials[occ[i].rank];
            size_t p = occ[i].pos, l = t->text_len[id];
            size_t j = 0;
            while (j < l && !taken[p + j])
                j++;
            if (j < l)
                continue;
            memset(taken + p, 1, l);
            fr[nf++] = (struct frag){p, l, id};
        }
        qsort(fr, nf, sizeof *fr, frag_order);
    } else {
        fr = malloc(sizeof *fr);
        if (!fr)
            return SYN_ERR_NOMEM;
    }
    free(occ);
    free(taken);

    /* Interleave the raw text between the accepted specials. */
    size_t total = nf;
    size_t prev_end = 0;
    for (size_t i = 0; i < nf; i++) {
        if (fr[i].off > prev_end)
            total++;
        prev_end = fr[i].off + fr[i].len;
    }
    if (len > prev_end)
        total++;
    struct frag *all = malloc((total + 1) * sizeof *all);
    if (!all) {
        free(fr);
        return SYN_ERR_NOMEM;
    }
    size_t k = 0;
    prev_end = 0;
    for (size_t i = 0; i < nf; i++) {
        if (fr[i].off > prev_end)
            all[k++] = (struct frag){prev_end, fr[i].off - prev_end, -1};
        all[k++] = fr[i];
        prev_end = fr[i].off + fr[i].len;
    }
    if (len > prev_end)
        all[k++] = (struct frag){prev_end, len - prev_end, -1};
    free(fr);
    *out = all;
    *n_out = k;
    return 0;
}

/* -------------------------------------------------------------- tokenizing */

/* SentencePiece input: spaces as U+2581, with the prefix space. */
static char *spm_escape(const char *text, size_t len, int prefix, size_t *out_len)
{
    size_t spaces = prefix;
    for (size_t i = 0; i < len; i++)
        spaces += text[i] == ' ';
    char *e = malloc(len + 2 * spaces + 3 + 1);
    if (!e)
        return NULL;
    size_t k = 0;
    if (prefix)
        memcpy(e, "\xe2\x96\x81", 3), k = 3;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ')
            memcpy(e + k, "\xe2\x96\x81", 3), k += 3;
        else
            e[k++] = text[i];
    }
    *out_len = k;
    return e;
}

int syn_tokenize(const syn_tokenizer *t, const char *text, size_t len, int parse_special, int add_special,
                 int32_t **ids, size_t *n_ids, syn_error *err)
{
    return syn_tokenize_masked(t, text, len, parse_special, NULL, add_special, ids, n_ids, err);
}

int syn_tokenize_masked(const syn_tokenizer *t, const char *text, size_t len, int parse_special,
                        const unsigned char *literal, int add_special, int32_t **ids, size_t *n_ids, syn_error *err)
{
    *ids = NULL;
    *n_ids = 0;
    if (!text && len)
        return syn_fail(err, SYN_ERR_INVALID, "tokenize: NULL text");
    syn_idvec out = {0};
    struct frag *fr = NULL;
    size_t nf = 0;
    syn_bpe_scratch scratch = {0};
    int rc = syn_idvec_reserve(&out, len / 3 + 8);
    if (!rc && len)
        rc = partition(t, text, len, parse_special, literal, &fr, &nf);
    if (!rc && add_special && t->add_bos && t->bos >= 0)
        rc = syn_idvec_push(&out, t->bos);
    int prev_special = 1; /* SPM prefixes a space to text at the start or after a special */
    for (size_t i = 0; i < nf && !rc; i++) {
        if (fr[i].id >= 0) {
            rc = syn_idvec_push(&out, fr[i].id);
            prev_special = 1;
        } else if (t->kind == SYN_TOKENIZER_BPE) {
            rc = syn_bpe_fragment(t, &scratch, text + fr[i].off, fr[i].len, &out);
        } else {
            size_t elen;
            char *e = spm_escape(text + fr[i].off, fr[i].len, t->add_space_prefix && prev_special, &elen);
            rc = e ? syn_spm_fragment(t, e, elen, &out) : SYN_ERR_NOMEM;
            free(e);
            prev_special = 0;
        }
    }
    if (!rc && add_special && t->add_eos && t->eos >= 0)
        rc = syn_idvec_push(&out, t->eos);
    free(fr);
    syn_bpe_scratch_free(&scratch);
    if (rc) {
        free(out.v);
        if (rc == SYN_ERR_RANGE)
            return syn_fail(err, rc, "tokenize: text too long (%zu bytes)", len);
        return syn_fail(err, rc, "tokenize: out of memory");
    }
    *ids = out.v;
    *n_ids = out.n;
    return 0;
}

/* --------------------------------------------------------------- accessors */

syn_tokenizer_kind syn_tokenizer_get_kind(const syn_tokenizer *t) { return t->kind; }


int32_t syn_tokenizer_n_vocab(const syn_tokenizer *t) { return t->n_vocab; }
int32_t syn_tokenizer_bos(const syn_tokenizer *t) { return t->bos; }
int32_t syn_tokenizer_eos(const syn_tokenizer *t) { return t->eos; }
int32_t syn_tokenizer_eot(const syn_tokenizer *t) { return t->eot; }
int32_t syn_tokenizer_unk(const syn_tokenizer *t) { return t->unk; }
int32_t syn_tokenizer_pad(const syn_tokenizer *t) { return t->pad; }
int syn_tokenizer_add_bos(const syn_tokenizer *t) { return t->add_bos && t->bos >= 0; }
int syn_tokenizer_add_eos(const syn_tokenizer *t) { return t->add_eos && t->eos >= 0; }

int syn_tokenizer_is_eog(const syn_tokenizer *t, int32_t id)
{
    for (int32_t i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id)
            return 1;
    return 0;
}

int syn_tokenizer_token_type(const syn_tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->n_vocab ? t->type[id] : -1;
}

int32_t syn_tokenizer_find(const syn_tokenizer *t, const char *text)
{
    return syn_strtab_get(&t->text_map, text, strlen(text));
}

const char *syn_tokenizer_text(const syn_tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->n_vocab ? t->text_blob + t->text_off[id] : NULL;
}
