/* Token -> text: pieces, whole-sequence detokenizing and the streaming
 * detokenizer that only ever emits whole UTF-8 characters. Pieces are read from
 * the immutable tokenizer (any thread); a syn_detok is one stream's state. */
#include "core/tokenizer/tokenizer_internal.h"
#include "core/tokenizer/unicode.h"

static int hidden(const syn_tokenizer *t, int32_t id, int render_special)
{
    int ty = t->type[id];
    return !render_special && (ty == SYN_TOKEN_CONTROL || ty == SYN_TOKEN_UNKNOWN);
}

const char *syn_tokenizer_piece(const syn_tokenizer *t, int32_t id, int render_special, size_t *len)
{
    if (id < 0 || id >= t->n_vocab) {
        *len = 0;
        return NULL;
    }
    *len = hidden(t, id, render_special) ? 0 : t->piece_len[id];
    return t->piece_blob + t->piece_off[id];
}

size_t syn_tokenizer_max_piece(const syn_tokenizer *t) { return t->max_piece; }

int syn_detokenize(const syn_tokenizer *t, const int32_t *ids, size_t n, int render_special,
                   int strip_leading_space, char **out, size_t *out_len, syn_error *err)
{
    *out = NULL;
    *out_len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab)
            return syn_fail(err, SYN_ERR_INVALID, "detokenize: token id %d is out of range (vocabulary %d)",
                            ids[i], t->n_vocab);
        total += t->piece_len[ids[i]];
    }
    char *s = malloc(total + 1);
    if (!s)
        return syn_fail(err, SYN_ERR_NOMEM, "detokenize: out of memory");
    size_t k = 0;
    /* The space SentencePiece prefixed is on the first token after BOS. */
    int strip = strip_leading_space && t->kind == SYN_TOKENIZER_SPM && t->add_space_prefix;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *p = syn_tokenizer_piece(t, ids[i], render_special, &len);
        if (strip && !(i == 0 && ids[i] == t->bos)) {
            if (len && p[0] == ' ') {
                p++;
                len--;
            }
            strip = 0;
        }
        memcpy(s + k, p, len);
        k += len;
    }
    s[k] = 0;
    *out = s;
    *out_len = k;
    return 0;
}

int syn_detok_init(syn_detok *d, const syn_tokenizer *t, int render_special, syn_error *err)
{
    memset(d, 0, sizeof *d);
    d->tok = t;
    d->render_special = render_special;
    /* worst case: every byte of held + piece is invalid and becomes U+FFFD */
    d->cap = 3 * (t->max_piece + sizeof d->held) + 1;
    d->buf = malloc(d->cap);
    if (!d->buf)
        return syn_fail(err, SYN_ERR_NOMEM, "detokenizer: out of memory");
    return 0;
}

void syn_detok_free(syn_detok *d)
{
    free(d->buf);
    d->buf = NULL;
    d->cap = 0;
}

/* Copies s[0..n) to the output, valid UTF-8 as is and each maximal invalid
 * subpart as one U+FFFD. */
static size_t emit_valid(char *o, const unsigned char *s, size_t n)
{
    size_t k = 0;
    while (n) {
        size_t bad;
        size_t ok = syn_utf8_valid_prefix(s, n, &bad);
        memcpy(o + k, s, ok);
        k += ok;
        s += ok;
        n -= ok;
        if (bad) {
            memcpy(o + k, "\xef\xbf\xbd", 3);
            k += 3;
            s += bad;
            n -= bad;
        }
    }
    return k;
}

int syn_detok_push(syn_detok *d, int32_t id, const char **out, size_t *n)
{
    *out = d->buf;
    *n = 0;
    size_t len;
    const char *p = syn_tokenizer_piece(d->tok, id, d->render_special, &len);
    if (!p)
        return SYN_ERR_INVALID;
    const unsigned char *rest = (const unsigned char *)p;
    size_t k = 0;
    if (d->n_held && len) {
        /* Settle the held character first: held (at most 3 bytes) plus the
         * piece's first bytes hold a whole character if there is one. */
        unsigned char join[8];
        size_t nh = d->n_held, take = len < sizeof join - nh ? len : sizeof join - nh;
        memcpy(join, d->held, nh);
        memcpy(join + nh, rest, take);
        size_t bad, used;
        if (syn_utf8_valid_prefix(join, nh + take, &bad) >= nh) {
            used = syn_utf8_len(join[0]); /* it completed */
            memcpy(d->buf, join, used);
            k = used;
        } else if (bad == nh + take) {
            memcpy(d->held, join, bad); /* still incomplete: the piece was short */
            d->n_held = bad;
            return 0;
        } else {
            used = bad; /* cannot complete: one U+FFFD for it */
            memcpy(d->buf, "\xef\xbf\xbd", 3);
            k = 3;
        }
        rest += used - nh;
        len -= used - nh;
        d->n_held = 0;
    }
    size_t tail = syn_utf8_incomplete_tail(rest, len);
    k += emit_valid(d->buf + k, rest, len - tail);
    memcpy(d->held + d->n_held, rest + len - tail, tail);
    d->n_held += tail;
    *n = k;
    return 0;
}

void syn_detok_flush(syn_detok *d, const char **out, size_t *n)
{
    *out = d->buf;
    *n = 0;
    if (d->n_held) {
        memcpy(d->buf, "\xef\xbf\xbd", 3);
        *n = 3;
        d->n_held = 0;
    }
}
