/* Private layout of syn_tokenizer and the helpers its source files share
 * (hash tables, growable id vectors, the BPE/SPM/pre-tokenizer entry points).
 * The tables are built once by syn_tokenizer_load and only read afterwards, so
 * every function here that takes a const syn_tokenizer may run on any thread;
 * scratch state is always the caller's. */
#ifndef SYN_CORE_TOKENIZER_INTERNAL_H
#define SYN_CORE_TOKENIZER_INTERNAL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <synapse/tokenizer.h>

enum syn_pre_kind {
    /* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
    SYN_PRE_GPT2 = 1,
    /* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
     *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
    SYN_PRE_LLAMA3 = 2,
    SYN_PRE_QWEN2 = 3,   /* as llama3 with \p{N} one digit at a time */
    SYN_PRE_DEFAULT = 4, /* llama.cpp's fallback: a chain of four regexes, see pretokenize.c */
};

/* String -> id: open addressing over ids whose bytes live in a blob. */
typedef struct syn_strtab {
    const char *blob;     /* not owned */
    const uint32_t *off;  /* not owned: string i is blob[off[i] .. off[i]+len[i]) */
    const uint32_t *len;
    uint64_t *slots;      /* (hash32 << 32) | (id + 1); 0 = empty */
    uint32_t mask;
} syn_strtab;

/* Pair of symbols -> merge rank and the merged symbol. */
typedef struct syn_pairtab {
    uint64_t *keys; /* (left << 32 | right) + 1; 0 = empty */
    int32_t *rank;
    int32_t *merged;
    uint32_t mask;
} syn_pairtab;

typedef struct syn_idvec {
    int32_t *v;
    size_t n, cap;
} syn_idvec;

/* Node of the trie over special token texts (first-child, next-sibling). */
typedef struct syn_trie_node {
    int32_t child;   /* first child, -1 if none */
    int32_t sibling; /* next sibling, -1 if none */
    int32_t special; /* index into specials[] ending here, -1 if none */
    unsigned char byte;
} syn_trie_node;

struct syn_tokenizer {
    syn_tokenizer_kind kind;
    int pre; /* syn_pre_kind, BPE only */
    int32_t n_vocab;

    /* per token: file text (NUL-terminated in text_blob), decoded piece, type */
    char *text_blob;
    uint32_t *text_off, *text_len;
    char *piece_blob;
    uint32_t *piece_off, *piece_len;
    uint8_t *type;
    float *score; /* SPM */
    syn_strtab text_map; /* file text -> id (the last of duplicates, as llama.cpp) */
    size_t max_piece;

    /* BPE: symbols are byte strings; ids < n_vocab are the tokens whose text
     * maps back to bytes, higher ids are strings only the merges mention. */
    int32_t n_sym;
    char *sym_blob;
    uint32_t *sym_off, *sym_len; /* sym_len = UINT32_MAX: no byte form */
    syn_strtab sym_map;
    syn_pairtab pairs;
    int32_t byte_sym[256];  /* initial symbol of each byte */
    int ignore_merges;      /* llama3: a word that is a whole token is taken as is */

    int32_t byte_token[256]; /* token emitted for a byte nothing else covers; -1 none */
    int spm_word_split; /* SPM: no token has U+2581 after anything but U+2581 */

    /* special tokens (control, unknown, user-defined), longest text first */
    int32_t *specials;
    int32_t n_specials;
    syn_trie_node *trie; /* node 0 is the root */
    int32_t trie_root[256]; /* root's child per first byte, -1 if none */

    int32_t bos, eos, eot, eom, unk, pad;
    int add_bos, add_eos, add_space_prefix;
    int32_t *eog;
    int32_t n_eog;
};

/* --- hashing and tables (tokenizer_tables.c) */
uint32_t syn_tok_hash(const void *s, size_t n);
int syn_strtab_init(syn_strtab *m, const char *blob, const uint32_t *off, const uint32_t *len, size_t n_expected);
void syn_strtab_free(syn_strtab *m);
/* Inserts id (overwriting an equal string's id); the table must have room. */
void syn_strtab_put(syn_strtab *m, int32_t id);
int32_t syn_strtab_get(const syn_strtab *m, const void *s, size_t n); /* -1 if absent */
/* Rebinds blob/off/len after the caller reallocated them. */
static inline void syn_strtab_rebind(syn_strtab *m, const char *blob, const uint32_t *off, const uint32_t *len)
{
    m->blob = blob;
    m->off = off;
    m->len = len;
}
int syn_strtab_grow(syn_strtab *m, size_t n_entries); /* keeps load <= 1/2 */

int syn_pairtab_init(syn_pairtab *p, size_t n_expected);
void syn_pairtab_free(syn_pairtab *p);
/* Keeps the first rank given for a pair, as llama.cpp does. */
void syn_pairtab_put(syn_pairtab *p, int32_t left, int32_t right, int32_t rank, int32_t merged);
static inline uint32_t syn_pair_slot(uint64_t key, uint32_t mask)
{
    return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}
/* Rank of merging left+right, or -1; *merged receives the result symbol. */
static inline int32_t syn_pairtab_get(const syn_pairtab *p, int32_t left, int32_t right, int32_t *merged)
{
    uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
    for (uint32_t i = syn_pair_slot(key, p->mask);; i = (i + 1) & p->mask) {
        uint64_t k = p->keys[i];
        if (k == key) {
            *merged = p->merged[i];
            return p->rank[i];
        }
        if (!k)
            return -1;
    }
}

int syn_idvec_reserve(syn_idvec *v, size_t more);
static inline int syn_idvec_push(syn_idvec *v, int32_t id)
{
    if (v->n == v->cap && syn_idvec_reserve(v, 1))
        return SYN_ERR_NOMEM;
    v->v[v->n++] = id;
    return 0;
}

/* --- GPT-2 byte <-> unicode alphabet (tokenizer_bpe.c) */
uint32_t syn_bpe_byte_to_cp(unsigned char b);
/* Byte of an alphabet codepoint, or -1 if cp is not in the alphabet. */
int syn_bpe_cp_to_byte(uint32_t cp);
/* Maps file text (alphabet UTF-8) to bytes in out (capacity >= n). Returns
 * the byte count, or -1 if some codepoint is outside the alphabet. */
long syn_bpe_unmap(const char *s, size_t n, char *out);

/* --- pre-tokenizers (pretokenize.c). text must be canonical UTF-8. */
typedef int (*syn_word_fn)(void *ctx, const char *word, size_t len);
int syn_pretokenize(int pre, const char *text, size_t len, syn_word_fn fn, void *ctx);

/* --- BPE merging (tokenizer_bpe.c) */
typedef struct syn_bpe_scratch {
    int32_t *sym, *prev, *next, *rank, *merged;
    size_t cap;
    struct syn_bpe_heap_item *heap;
    size_t heap_cap;
} syn_bpe_scratch;
void syn_bpe_scratch_free(syn_bpe_scratch *s);
/* Appends the tokens of one pre-tokenized word. Words longer than
 * heap_threshold bytes use a priority queue, shorter ones a linear scan (the
 * two give identical results; the knob exists for tests). */
int syn_bpe_word(const syn_tokenizer *t, syn_bpe_scratch *s, const char *word, size_t len, size_t heap_threshold,
                 syn_idvec *out);
#define SYN_BPE_HEAP_THRESHOLD 48
/* Tokenizes one raw (non-special) fragment. */
int syn_bpe_fragment(const syn_tokenizer *t, syn_bpe_scratch *s, const char *text, size_t len, syn_idvec *out);

/* --- SentencePiece (tokenizer_spm.c): text already escaped (spaces as U+2581). */
int syn_spm_fragment(const syn_tokenizer *t, const char *text, size_t len, syn_idvec *out);

/* --- byte fallback shared by both */
static inline int syn_tok_push_bytes(const syn_tokenizer *t, const unsigned char *s, size_t n, syn_idvec *out)
{
    for (size_t i = 0; i < n; i++) {
        int32_t id = t->byte_token[s[i]];
        if (id >= 0 && syn_idvec_push(out, id))
            return SYN_ERR_NOMEM;
    }
    return 0;
}

#endif
