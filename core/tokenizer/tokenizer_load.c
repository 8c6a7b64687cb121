/* Tokenizer loading from GGUF metadata: the vocabulary, merges or scores,
 * special and end-of-generation tokens, the pre-tokenizer. Load runs once on
 * one thread; the result is never written again. */
#include <stdbool.h>
#include <stdio.h>
#include "core/tokenizer/tokenizer_internal.h"
#include "core/tokenizer/unicode.h"

#define KEY(s) "tokenizer.ggml." s

/* Special tokens found by their text, as llama.cpp (the reference) finds
 * them; each becomes a control token. The first eot text present, in this
 * order, is the end-of-turn token. */
#define DEEPSEEK_EOS "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"
static const char *const eot_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "[EOT]", DEEPSEEK_EOS, "<end_of_utterance>", NULL,
};
static const char *const eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", DEEPSEEK_EOS, "[e~[", NULL,
};
/* fill-in-the-middle markers: control tokens; pad, repo and file separators
 * also end generation */
static const char *const fim_texts[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>", "<PRE>",
    "\xe2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>",
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81hole\xef\xbd\x9c>", "<SUF>",
    "\xe2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>",
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>", "<MID>",
    "\xe2\x96\x81<MID>", "<|code_middle|>", "<|middle|>", NULL,
};
static const char *const fim_eog_texts[] = {
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
    "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>",
    "<|file_sep|>", NULL,
};

struct pre_alias {
    const char *name;
    int pre;
};
/* tokenizer.ggml.pre names whose splitting (and nothing else) matches */
static const struct pre_alias pre_aliases[] = {
    {"qwen2", SYN_PRE_QWEN2},      {"deepseek-r1-qwen", SYN_PRE_QWEN2}, {"kormo", SYN_PRE_QWEN2},
    {"f2llmv2", SYN_PRE_QWEN2},    {"llama3", SYN_PRE_LLAMA3},          {"llama-v3", SYN_PRE_LLAMA3},
    {"llama-bpe", SYN_PRE_LLAMA3}, {"falcon3", SYN_PRE_LLAMA3},         {"falcon-h1", SYN_PRE_LLAMA3},
    {"pixtral", SYN_PRE_LLAMA3},   {"midm-2.0", SYN_PRE_LLAMA3},        {"lfm2", SYN_PRE_LLAMA3},
    {"gpt-2", SYN_PRE_GPT2},       {"phi-2", SYN_PRE_GPT2},             {"gigachat", SYN_PRE_GPT2},
    {"a.x-4.0", SYN_PRE_GPT2},     {"mellum", SYN_PRE_GPT2},            {"default", SYN_PRE_DEFAULT},
};

int syn_tokenizer_open(const char *path, syn_tokenizer **out, syn_error *err)
{
    syn_gguf *g = NULL;
    *out = NULL;
    int rc = syn_gguf_open(path, &g, err);
    if (rc)
        return rc;
    if ((rc = syn_tokenizer_load(g, out, err)))
        syn_error_prefix(err, path);
    syn_gguf_close(g);
    return rc;
}

void syn_tokenizer_free(syn_tokenizer *t)
{
    if (!t)
        return;
    free(t->text_blob);
    free(t->text_off);
    free(t->text_len);
    free(t->piece_blob);
    free(t->piece_off);
    free(t->piece_len);
    free(t->type);
    free(t->score);
    syn_strtab_free(&t->text_map);
    free(t->sym_blob);
    free(t->sym_off);
    free(t->sym_len);
    syn_strtab_free(&t->sym_map);
    syn_pairtab_free(&t->pairs);
    free(t->specials);
    free(t->trie);
    free(t->eog);
    free(t);
}

/* ------------------------------------------------------------------ loading */

static int read_tokens(syn_tokenizer *t, const syn_gguf *g, syn_error *err)
{
    int64_t idx = syn_gguf_find_key(g, KEY("tokens"));
    int et;
    uint64_t n;
    if (idx < 0)
        return syn_fail(err, SYN_ERR_FORMAT, "tokenizer: " KEY("tokens") " is missing");
    if (syn_gguf_arr_at(g, idx, &et, &n, NULL) || et != SYN_GGUF_STRING)
        return syn_fail(err, SYN_ERR_FORMAT, "tokenizer: " KEY("tokens") " is not an array of strings");
    if (n == 0 || n >= INT32_MAX / 2)
        return syn_fail(err, SYN_ERR_FORMAT, "tokenizer: vocabulary size %llu is out of range",
                        (unsigned long long)n);
    t->n_vocab = (int32_t)n;
    /* An empty text becomes "[EMPTY_<id>]", as in llama.cpp, so that every
     * token has a findable, printable text. */
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        syn_gguf_str s;
        if (syn_gguf_arr_str_at(g, idx, i, &s))
            return syn_fail(err, SYN_ERR_FORMAT, "tokenizer: cannot read token %llu", (unsigned long long)i);
        total += (s.len ? s.len : 20) + 1;
    }
    if (total >= UINT32_MAX / 4)
        return syn_fail(err, SYN_ERR_FORMAT, "tokenizer: token texts too large (%llu bytes)",
                        (unsigned long long)total);
    t->text_blob = malloc(total);
    t->text_off = malloc(n * sizeof *t->text_off);
    t->text_len = malloc(n * sizeof *t->text_len);
    if (!t->text_blob || !t->text_off || !t->text_len)
        return syn_fail(err, SYN_ERR_NOMEM, "tokenizer: out of memory");
    uint32_t off = 0;
    for (uint64_t i = 0; i < n; i++) {
        syn_gguf_str s;
        char empty[24];
        syn_gguf_arr_str_at(g, idx, i, &s);
        if (!s.len) {
            s.len = (uint64_t)snprintf(empty, sizeof empty, "[EMPTY_%llu]", (unsigned long long)i);
            s.s = empty;
        }
        memcpy(t->text_blob + off, s.s, s.len);
        t->text_blob[off + s.len] = 0;
        t->text_off[i] = off;
        t->text_len[i] = (uint32_t)s.len;
        off += (uint32_t)s.len + 1;
    }
    if (syn_strtab_init(&t->text_map, t->text_blob, t->text_off, t->text_len, n))
        return syn_fail(err, SYN_ERR_NOMEM, "tokenizer: out of memory");
    for (int32_t i = 0; i < t->n_vocab; i++)
        syn_strtab_put(&t->text_map, i);
    return 0;
}

/* Reads element i of a numeric array as a double; false for other types. */
static bool arr_num(int et, const void *data, uint64_t i, double *v)
{
    const unsigned char *p = data;
    switch (et) {
    case SYN_GGUF_U8: *v = p[i]; return true;
    case SYN_GGUF_I8: *v = (int8_t)p[i]; return true;
    case SYN_GGUF_I32: { int32_t x; memcpy(&x, p + 4 * i, 4); *v = x; return true; }
    case SYN_GGUF_U32: { uint32_t x; memcpy(&x, p + 4 * i, 4); *v = x; return true; }
    case SYN_GGUF_F32: { float x; memcpy(&x, p + 4 * i, 4); *v = x; return true; }
    case SYN_GGUF_F64: { double x; memcpy(&x, p + 8 * i, 8); *v = x; return true; }
    default: return false;
    }
}

static int read_types_scores(syn_tokenizer *t, const syn_gguf *g, syn_error *err)
{
    uint64_t n = (uint64_t)t->n_vocab;
    t->type = malloc(n);
    t->score = calloc(n, sizeof *t->score);
    if (!t->type || !t->score)
        return syn_fail(err, SYN_ERR_NOMEM, "tokenizer: out of memory");
    memset(t->type, SYN_TOKEN_NORMAL, n);
    int et;
    uint64_t cnt;
    const void *data;
    double v;
    /* Both arrays are optional (all normal, all zero); longer ones are fine. */
    int rc = syn_gguf_get_arr(g, KEY("token_type"), &et, &cnt, &data);
    if (rc != SYN_ERR_NOT_FOUND) {
        if (rc || cnt < n || !arr_num(et, data, 0, &v) || et == SYN_GGUF_F32 || et == SYN_GGUF_F64)
            return syn_fail(err, SYN_ERR_FORMAT, "tokenizer: " KEY("token_type") " must hold %llu integers",
                            (unsigned long long)n);
        for (uint64_t i = 0; i < n; i++) {
            arr_num(et, data, i, &v);
            t->type[i] = (v >= 0 && v <= SYN_TOKEN_BYTE) ? (uint8_t)v : SYN_TOKEN_UNDEFINED;
        }
    }
    rc = syn_gguf_get_arr(g, KEY("scores"), &et, &cnt, &data);
    if (rc != SYN_ERR_NOT_FOUND) {
        if (rc || cnt < n || !arr_num(et, data, 0, &v))
            return syn_fail(err, SYN_ERR_FORMAT, "tokenizer: " KEY("scores") " must hold %llu numbers",
                            (unsigned long long)n);
        for (uint64_t i = 0; i < n; i++) {
            arr_num(et, data, i, &v);
            t->score[i] = (float)v;
        }
    }
    return 0;
}

/* An id key: absent or out of range keeps *id (the default); present must be
 * an integer. */
static int read_id(const syn_tokenizer *t, const syn_gguf *g, const char *key, int32_t *id, syn_error *err)
{
    int64_t v;
    int rc = syn_gguf_get_i64(g, key, &v);
    if (rc == SYN_ERR_NOT_FOUND)
        return 0;
    if (rc && rc != SYN_ERR_RANGE)
        return syn_fail(err, SYN_ERR_FORMAT, "tokenizer: %s is not an integer", key);
    if (rc || v < 0 || v >= t->n_vocab) {
        syn_log(SYN_LOG_WARN, "tokenizer: ignoring %s: not a token id (vocabulary has %d tokens)", key,
                t->n_vocab);
        return 0;
    }
    *id = (int32_t)v;
    return 0;
}

static void read_flag(const syn_gguf *g, const char *key, int *flag)
{
    bool b;
    if (!syn_gguf_get_bool(g, key, &b))
        *flag = b;
}

/* Symbol strings grow while merges are read; keeps the table bound to them. */
struct symbuf {
    size_t blob_len, blob_cap, cap;
};

static int sym_add(syn_tokenizer *t, struct symbuf *b, const char *s, size_t n, int32_t *id)
{
    if ((size_t)t->n_sym == b->cap) {
        size_t cap = b->cap * 2;
        uint32_t *off = realloc(t->sym_off, cap * sizeof *off);
        if (!off)
            return SYN_ERR_NOMEM;
        t->sym_off = off;
        uint32_t *len = realloc(t->sym_len, cap * sizeof *len);
        if (!len)
            return SYN_ERR_NOMEM;
        t->sym_len = len;
        b->cap = cap;
    }
    if (b->blob_len + n > b->blob_cap) {
        size_t cap = b->blob_cap * 2 + n;
        if (cap >= UINT32_MAX)
            return SYN_ERR_RANGE;
        char *blob = realloc(t->sym_blob, cap);
        if (!blob)
            return SYN_ERR_NOMEM;
        t->sym_blob = blob;
        b->blob_cap = cap;
    }
    memcpy(t->sym_blob + b->blob_len, s, n);
    t->sym_off[t->n_sym] = (uint32_t)b->blob_len;
    t->sym_len[t->n_sym] = (uint32_t)n;
    b->blob_len += n;
    *id = t->n_sym++;
    syn_strtab_rebind(&t->sym_map, t->sym_blob, t->sym_off, t->sym_len);
    if (syn_strtab_grow(&t->sym_map, (size_t)t->n_sym))
        return SYN_ERR_NOMEM;
    syn_strtab_put(&t->sym_map, *id);
    return 0;
}

static int sym_get_or_add(syn_tokenizer *t, struct symbuf *b, const char *s, size_t n, int32_t *id)
{
    *id = syn_strtab_get(&t->sym_map, s, n);
    return *id >= 0 ? 0 : sym_add(t, b, s, n, id);
}

static int build_bpe(syn_tokenizer *t, const syn_gguf *g, syn_error *err)
{
    int64_t idx = syn_gguf_find_key(g, KEY("merges"));
    int et;
    uint64_t n_merges;
    if (idx < 0)
        return syn_fail(err, SYN_ERR_FORMAT, "tokenizer: BPE vocabulary without " KEY("merges"));
    if (syn_gguf_arr_at(g, idx, &et, &n_merges, NULL) || et != SYN_GGUF_STRING || n_merges >= INT32_MAX)
        return syn_fail(err, SYN_ERR_FORMAT, "tokenizer: " KEY("merges") " is not an array of strings");

    /* Token texts in the byte alphabet become byte strings; ids stay ids. */
    struct symbuf b = {0, (size_t)t->text_off[t->n_vocab - 1] + t->text_len[t->n_vocab - 1] + 64,
                       (size_t)t->n_vocab + 1024};
    t->sym_blob = malloc(b.blob_cap);
    t->sym_off = malloc(b.cap * sizeof *t->sym_off);
    t->sym_len = malloc(b.cap * sizeof *t->sym_len);
    if (!t->sym_blob || !t->sym_off || !t->sym_len ||
        syn_strtab_init(&t->sym_map, t->sym_blob, t->sym_off, t->sym_len, b.cap) ||
        syn_pairtab_init(&t->pairs, n_merges))
        return syn_fail(err, SYN_ERR_NOMEM, "tokenizer: out of memory");
    for (int32_t i = 0; i < t->n_vocab; i++) {
        long k = syn_bpe_unmap(t->text_blob + t->text_off[i], t->text_len[i], t->sym_blob + b.blob_len);
        t->sym_off[i] = (uint32_t)b.blob_len;
        t->sym_len[i] = k < 0 ? UINT32_MAX : (uint32_t)k;
        if (k > 0)
            b.blob_len += (size_t)k;
    }
    t->n_sym = t->n_vocab;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (t->sym_len[i] != UINT32_MAX && t->sym_len[i] > 0)
            syn_strtab_put(&t->sym_map, i);
    for (int c = 0; c < 256; c++) {
        char ch = (char)c;
        if (sym_get_or_add(t, &b, &ch, 1, &t->byte_sym[c]))
            return syn_fail(err, SYN_ERR_NOMEM, "tokenizer: out of memory");
    }

    char *buf = NULL;
    size_t buf_cap = 0;
    int rc = 0;
    for (uint64_t r = 0; r < n_merges && !rc; r++) {
        syn_gguf_str m;
        if (syn_gguf_arr_str_at(g, idx, r, &m)) {
            rc = syn_fail(err, SYN_ERR_FORMAT, "tokenizer: cannot read merge %llu", (unsigned long long)r);
            break;
        }
        /* "left right", split at the first space after the first byte */
        const char *sp = m.len > 1 ? memchr(m.s + 1, ' ', m.len - 1) : NULL;
        if (!sp)
            continue;
        size_t nl = (size_t)(sp - m.s), nr = m.len - nl - 1;
        if (m.len > buf_cap) {
            char *nb = realloc(buf, m.len);
            if (!nb) {
                rc = syn_fail(err, SYN_ERR_NOMEM, "tokenizer: out of memory");
                break;
            }
            buf = nb;
            buf_cap = m.len;
        }
        long kl = syn_bpe_unmap(m.s, nl, buf);
        long kr = kl < 0 ? -1 : syn_bpe_unmap(sp + 1, nr, buf + kl);
        if (kl <= 0 || kr <= 0)
            continue; /* not in the byte alphabet: no word can ever contain it */
        int32_t left, right, merged;
        if (sym_get_or_add(t, &b, buf, (size_t)kl, &left) || sym_get_or_add(t, &b, buf + kl, (size_t)kr, &right) ||
            sym_get_or_add(t, &b, buf, (size_t)(kl + kr), &merged))
            rc = syn_fail(err, SYN_ERR_NOMEM, "tokenizer: out of memory");
        else
            syn_pairtab_put(&t->pairs, left, right, (int32_t)r, merged);
    }
    free(buf);
    if (rc)
        return rc;
    for (int c = 0; c < 256; c++)
        t->byte_token[c] = t->byte_sym[c] < t->n_vocab ? t->byte_sym[c] : t->unk;
    return 0;
}

/* Whether every U+2581 inside a token text follows another U+2581: then no
 * merge can join a word to the space-marked word after it. */
static int spm_words_independent(const syn_tokenizer *t)
{
    for (int32_t i = 0; i < t->n_vocab; i++) {
        const char *s = t->text_blob + t->text_off[i];
        uint32_t n = t->text_len[i];
        for (uint32_t k = 1; k + 3 <= n; k++)
            if (!memcmp(s + k, "\xe2\x96\x81", 3) && (k < 3 || memcmp(s + k - 3, "\xe2\x96\x81", 3)))
                return 0;
    }
    return 1;
}

static void build_spm_bytes(syn_tokenizer *t)
{
    for (int c = 0; c < 256; c++) {
        char hex[7];
        static const char digits[] = "0123456789ABCDEF";
        memcpy(hex, "<0x", 3);
        hex[3] = digits[c >> 4];
        hex[4] = digits[c & 15];
        hex[5] = '>';
        int32_t id = syn_strtab_get(&t->text_map, hex, 6);
        if (id < 0) {
            char ch = (char)c;
            id = syn_strtab_get(&t->text_map, &ch, 1);
        }
        t->byte_token[c] = id >= 0 ? id : t->unk;
    }
}

/* The bytes a token decodes to (control texts included: the accessor decides
 * whether to show them). */
static int build_pieces(syn_tokenizer *t, syn_error *err)
{
    size_t cap = (size_t)t->text_off[t->n_vocab - 1] + t->text_len[t->n_vocab - 1] + 1;
    t->piece_blob = malloc(cap);
    t->piece_off = malloc((size_t)t->n_vocab * sizeof *t->piece_off);
    t->piece_len = malloc((size_t)t->n_vocab * sizeof *t->piece_len);
    if (!t->piece_blob || !t->piece_off || !t->piece_len)
        return syn_fail(err, SYN_ERR_NOMEM, "tokenizer: out of memory");
    size_t pos = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        const unsigned char *s = (const unsigned char *)t->text_blob + t->text_off[i];
        size_t n = t->text_len[i];
        char *o = t->piece_blob + pos;
        size_t k = 0;
        switch (t->type[i]) {
        case SYN_TOKEN_NORMAL:
            if (t->kind == SYN_TOKENIZER_BPE) {
                /* A codepoint outside the byte alphabet is kept as is. */
                for (size_t j = 0; j < n;) {
                    uint32_t cp;
                    size_t l = syn_utf8_decode(s + j, n - j, &cp);
                    int byte = syn_bpe_cp_to_byte(cp);
                    if (byte >= 0)
                        o[k++] = (char)byte;
                    else
                        memcpy(o + k, s + j, l), k += l;
                    j += l;
                }
            } else {
                for (size_t j = 0; j < n;) {
                    if (j + 3 <= n && s[j] == 0xE2 && s[j + 1] == 0x96 && s[j + 2] == 0x81) {
                        o[k++] = ' ';
                        j += 3;
                    } else {
                        o[k++] = (char)s[j++];
                    }
                }
            }
            break;
        case SYN_TOKEN_BYTE: {
            unsigned v;
            char tail;
            if (n == 6 && sscanf((const char *)s, "<0x%2x%c", &v, &tail) == 2 && tail == '>')
                o[k++] = (char)v;
            else
                memcpy(o, s, n), k = n;
            break;
        }
        case SYN_TOKEN_CONTROL:
        case SYN_TOKEN_UNKNOWN:
        case SYN_TOKEN_USER_DEFINED:
            memcpy(o, s, n);
            k = n;
            break;
        default: /* unused, undefined: nothing */
            break;
        }
        t->piece_off[i] = (uint32_t)pos;
        t->piece_len[i] = (uint32_t)k;
        if (k > t->max_piece)
            t->max_piece = k;
        pos += k;
    }
    return 0;
}

static void add_eog(syn_tokenizer *t, int32_t id)
{
    if (id < 0)
        return;
    for (int32_t i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id)
            return;
    t->eog[t->n_eog++] = id;
}

static void remove_eog(syn_tokenizer *t, int32_t id)
{
    for (int32_t i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) {
            t->eog[i] = t->eog[--t->n_eog];
            return;
        }
}

/* Marks every token of a NULL-terminated text list as control; returns the
 * first one present (list order), -1 if none. With eog, adds them all. */
static int32_t mark_texts(syn_tokenizer *t, const char *const *texts, int eog)
{
    int32_t first = -1;
    for (size_t i = 0; texts[i]; i++) {
        int32_t id = syn_tokenizer_find(t, texts[i]);
        if (id < 0)
            continue;
        if (first < 0)
            first = id;
        t->type[id] = SYN_TOKEN_CONTROL;
        if (eog)
            add_eog(t, id);
    }
    return first;
}

/* End-of-turn and end-of-generation tokens. Converters often leave them out
 * of the metadata or give them a normal type, so, like llama.cpp, they are
 * also found by text and made control tokens (parsed as specials, hidden in
 * output). */
static int find_end_tokens(syn_tokenizer *t)
{
    size_t n = 4;
    for (size_t i = 0; eog_texts[i]; i++)
        n++;
    for (size_t i = 0; fim_eog_texts[i]; i++)
        n++;
    t->eog = malloc(n * sizeof *t->eog);
    if (!t->eog)
        return SYN_ERR_NOMEM;
    int32_t eot = mark_texts(t, eot_texts, 0);
    if (t->eot < 0)
        t->eot = eot;
    int32_t eom = syn_tokenizer_find(t, "<|eom_id|>");
    if (t->eom < 0 && eom >= 0) {
        t->eom = eom;
        t->type[eom] = SYN_TOKEN_CONTROL;
    }
    mark_texts(t, fim_texts, 0);
    mark_texts(t, fim_eog_texts, 1);
    mark_texts(t, eog_texts, 1);
    add_eog(t, t->eos);
    add_eog(t, t->eot);
    add_eog(t, t->eom);
    /* gpt-oss style vocabularies: <|end|> ends a message, not the generation */
    int32_t end = syn_tokenizer_find(t, "<|end|>");
    int has_call = syn_tokenizer_find(t, "<|call|>") >= 0 || syn_tokenizer_find(t, "<|calls|>") >= 0;
    if (end >= 0 && has_call &&
        (syn_tokenizer_find(t, "<|return|>") >= 0 || syn_tokenizer_find(t, "<|flush|>") >= 0)) {
        remove_eog(t, end);
        t->type[end] = SYN_TOKEN_USER_DEFINED;
    }
    /* gemma4: </s> is ordinary text there */
    int32_t s_end = syn_tokenizer_find(t, "</s>");
    if (s_end >= 0 && syn_tokenizer_find(t, "<|tool_response>") >= 0) {
        remove_eog(t, s_end);
        t->type[s_end] = SYN_TOKEN_NORMAL;
    }
    return 0;
}

static int u64_order(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int is_special_type(int ty)
{
    return ty == SYN_TOKEN_CONTROL || ty == SYN_TOKEN_UNKNOWN || ty == SYN_TOKEN_USER_DEFINED;
}

/* Special tokens ordered as they are matched (longest text first, then lowest
 * id), and a trie over their texts for the partitioner's single pass. */
static int build_specials(syn_tokenizer *t)
{
    size_t n = 0, nodes = 1;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (is_special_type(t->type[i]) && t->text_len[i]) {
            n++;
            nodes += t->text_len[i];
        }
    uint64_t *keys = malloc((n + 1) * sizeof *keys);
    t->specials = malloc((n + 1) * sizeof *t->specials);
    t->trie = malloc(nodes * sizeof *t->trie);
    if (!keys || !t->specials || !t->trie) {
        free(keys);
        return SYN_ERR_NOMEM;
    }
    n = 0;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (is_special_type(t->type[i]) && t->text_len[i])
            keys[n++] = ((uint64_t)(UINT32_MAX - t->text_len[i]) << 32) | (uint32_t)i;
    qsort(keys, n, sizeof *keys, u64_order);
    for (size_t i = 0; i < n; i++)
        t->specials[i] = (int32_t)(uint32_t)keys[i];
    free(keys);
    t->n_specials = (int32_t)n;

    int32_t used = 1;
    t->trie[0] = (syn_trie_node){-1, -1, -1, 0};
    for (int c = 0; c < 256; c++)
        t->trie_root[c] = -1;
    for (int32_t k = 0; k < t->n_specials; k++) {
        int32_t id = t->specials[k];
        const unsigned char *s = (const unsigned char *)t->text_blob + t->text_off[id];
        int32_t node = 0;
        for (uint32_t j = 0; j < t->text_len[id]; j++) {
            int32_t c = t->trie[node].child;
            while (c >= 0 && t->trie[c].byte != s[j])
                c = t->trie[c].sibling;
            if (c < 0) {
                c = used++;
                t->trie[c] = (syn_trie_node){-1, t->trie[node].child, -1, s[j]};
                t->trie[node].child = c;
                if (node == 0)
                    t->trie_root[s[j]] = c;
            }
            node = c;
        }
        if (t->trie[node].special < 0) /* equal texts: the first in order wins */
            t->trie[node].special = k;
    }
    return 0;
}

static int set_model(syn_tokenizer *t, const syn_gguf *g, syn_error *err)
{
    syn_gguf_str model;
    int rc = syn_gguf_get_str(g, KEY("model"), &model);
    if (rc == SYN_ERR_NOT_FOUND)
        return syn_fail(err, SYN_ERR_NOT_FOUND, "no tokenizer in this file (" KEY("model") " is missing)");
    if (rc)
        return syn_fail(err, SYN_ERR_FORMAT, "tokenizer: " KEY("model") " is not a string");
    if (model.len == 4 && !memcmp(model.s, "gpt2", 4)) {
        t->kind = SYN_TOKENIZER_BPE;
    } else if (model.len == 5 && !memcmp(model.s, "llama", 5)) {
        t->kind = SYN_TOKENIZER_SPM;
        return 0;
    } else {
        return syn_fail(err, SYN_ERR_UNSUPPORTED,
                        "tokenizer model '%.*s' is not supported (only 'gpt2' byte-level BPE and 'llama' "
                        "SentencePiece are)",
                        (int)(model.len > 64 ? 64 : model.len), model.s);
    }
    syn_gguf_str pre = {"default", 7};
    rc = syn_gguf_get_str(g, KEY("pre"), &pre);
    if (rc == SYN_ERR_NOT_FOUND)
        syn_log(SYN_LOG_WARN, "tokenizer: " KEY("pre") " is missing, using llama.cpp's 'default' pre-tokenizer; "
                              "tokens may differ from the model's training");
    else if (rc)
        return syn_fail(err, SYN_ERR_FORMAT, "tokenizer: " KEY("pre") " is not a string");
    for (size_t i = 0; i < sizeof pre_aliases / sizeof *pre_aliases; i++)
        if (strlen(pre_aliases[i].name) == pre.len && !memcmp(pre_aliases[i].name, pre.s, pre.len)) {
            t->pre = pre_aliases[i].pre;
            if (t->pre == SYN_PRE_LLAMA3) {
                t->ignore_merges = 1;
                t->add_bos = 1;
            }
            return 0;
        }
    return syn_fail(err, SYN_ERR_UNSUPPORTED,
                    "tokenizer: pre-tokenizer '%.*s' is not supported (known: qwen2, llama3/llama-bpe, gpt-2, default)",
                    (int)(pre.len > 64 ? 64 : pre.len), pre.s);
}

static int load(syn_tokenizer *t, const syn_gguf *g, syn_error *err)
{
    int rc;
    t->bos = t->eos = t->eot = t->eom = t->unk = t->pad = -1;
    if ((rc = set_model(t, g, err)))
        return rc;
    if (t->kind == SYN_TOKENIZER_SPM) {
        t->add_bos = 1;
        t->add_space_prefix = 1;
    }
    if ((rc = read_tokens(t, g, err)) || (rc = read_types_scores(t, g, err)))
        return rc;
    if (t->kind == SYN_TOKENIZER_SPM) {
        /* SentencePiece's fixed ids, when the file leaves them out */
        t->unk = t->n_vocab > 0 ? 0 : -1;
        t->bos = t->n_vocab > 1 ? 1 : -1;
        t->eos = t->n_vocab > 2 ? 2 : -1;
    }
    if ((rc = read_id(t, g, KEY("bos_token_id"), &t->bos, err)) ||
        (rc = read_id(t, g, KEY("eos_token_id"), &t->eos, err)) ||
        (rc = read_id(t, g, KEY("eot_token_id"), &t->eot, err)) ||
        (rc = read_id(t, g, KEY("eom_token_id"), &t->eom, err)) ||
        (rc = read_id(t, g, KEY("unknown_token_id"), &t->unk, err)) ||
        (rc = read_id(t, g, KEY("padding_token_id"), &t->pad, err)))
        return rc;
    read_flag(g, KEY("add_bos_token"), &t->add_bos);
    read_flag(g, KEY("add_eos_token"), &t->add_eos);
    read_flag(g, KEY("add_space_prefix"), &t->add_space_prefix);
    if (find_end_tokens(t))
        return syn_fail(err, SYN_ERR_NOMEM, "tokenizer: out of memory");
    if (t->kind == SYN_TOKENIZER_BPE) {
        if ((rc = build_bpe(t, g, err)))
            return rc;
    } else {
        build_spm_bytes(t);
        t->spm_word_split = spm_words_independent(t);
    }
    if ((rc = build_pieces(t, err)))
        return rc;
    if (build_specials(t))
        return syn_fail(err, SYN_ERR_NOMEM, "tokenizer: out of memory");
    return 0;
}

int syn_tokenizer_load(const syn_gguf *g, syn_tokenizer **out, syn_error *err)
{
    *out = NULL;
    syn_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return syn_fail(err, SYN_ERR_NOMEM, "tokenizer: out of memory");
    int rc = load(t, g, err);
    if (rc) {
        syn_tokenizer_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

const char *syn_tokenizer_pre_name(const syn_tokenizer *t)
{
    if (t->kind == SYN_TOKENIZER_SPM)
        return "spm";
    switch (t->pre) {
    case SYN_PRE_QWEN2: return "qwen2";
    case SYN_PRE_LLAMA3: return "llama3";
    case SYN_PRE_GPT2: return "gpt-2";
    default: return "default";
    }
}
