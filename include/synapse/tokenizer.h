/* Tokenizer loaded from GGUF metadata alone: byte-level BPE ("gpt2" model with
 * the qwen2, llama3 or gpt-2 pre-tokenizer) and SentencePiece ("llama" model).
 * Results match llama.cpp token for token. A syn_tokenizer is immutable after
 * load and may be used by any number of threads at once; a syn_detok is one
 * stream's state and belongs to one thread at a time. */
#ifndef SYNAPSE_TOKENIZER_H
#define SYNAPSE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>
#include <synapse/common.h>
#include <synapse/gguf.h>

typedef struct syn_tokenizer syn_tokenizer;

typedef enum syn_tokenizer_kind {
    SYN_TOKENIZER_BPE = 1, /* tokenizer.ggml.model = "gpt2" */
    SYN_TOKENIZER_SPM = 2, /* tokenizer.ggml.model = "llama" */
} syn_tokenizer_kind;

/* Token types, numbered as in tokenizer.ggml.token_type. */
enum {
    SYN_TOKEN_UNDEFINED = 0,
    SYN_TOKEN_NORMAL = 1,
    SYN_TOKEN_UNKNOWN = 2,
    SYN_TOKEN_CONTROL = 3,
    SYN_TOKEN_USER_DEFINED = 4,
    SYN_TOKEN_UNUSED = 5,
    SYN_TOKEN_BYTE = 6,
};

/* Reads tokenizer.ggml.* (model, pre, tokens, token_type, scores, merges, the
 * special token ids, add_bos_token, add_eos_token, add_space_prefix). Copies
 * what it needs: g may be closed afterwards. Fails with SYN_ERR_NOT_FOUND when
 * the file has no tokenizer, SYN_ERR_UNSUPPORTED for an unknown model or
 * pre-tokenizer, SYN_ERR_FORMAT for inconsistent metadata. */
SYN_API int syn_tokenizer_load(const syn_gguf *g, syn_tokenizer **out, syn_error *err);
/* The same from a GGUF file, which may hold only the vocabulary; errors
 * name the file. */
SYN_API int syn_tokenizer_open(const char *path, syn_tokenizer **out, syn_error *err);
SYN_API void syn_tokenizer_free(syn_tokenizer *t);

/* Tokenizes text[0..len). parse_special: control, unknown and user-defined
 * token texts (e.g. "<|im_start|>") become their ids, longest first, and the
 * text between them is tokenized normally; without it only user-defined
 * tokens are matched (as llama.cpp and Hugging Face do) and control texts are
 * plain text. add_special: add BOS/EOS where the model asks for them
 * (syn_tokenizer_add_bos/_add_eos). *ids is malloc'ed (free() it), and is
 * non-NULL even when *n_ids is 0. Invalid UTF-8 is accepted (BPE reads a
 * malformed byte as U+FFFD, SentencePiece falls back to byte tokens). */
SYN_API int syn_tokenize(const syn_tokenizer *t, const char *text, size_t len, int parse_special, int add_special,
                 int32_t **ids, size_t *n_ids, syn_error *err);

/* syn_tokenize with parse_special limited by literal (NULL: no limit): a
 * control token is matched only where none of its bytes has literal[i] set,
 * so text from a chat message's content (syn_chat_render_masked) can never
 * forge a turn. The text between the matched tokens is tokenized whole, as
 * syn_tokenize does, so benign content gives the same ids. */
SYN_API int syn_tokenize_masked(const syn_tokenizer *t, const char *text, size_t len, int parse_special,
                        const unsigned char *literal, int add_special, int32_t **ids, size_t *n_ids, syn_error *err);

SYN_API syn_tokenizer_kind syn_tokenizer_get_kind(const syn_tokenizer *t);
/* Pre-tokenizer in use: "qwen2", "llama3", "gpt-2" (BPE) or "spm". */
SYN_API const char *syn_tokenizer_pre_name(const syn_tokenizer *t);
SYN_API int32_t syn_tokenizer_n_vocab(const syn_tokenizer *t);
/* Special ids, -1 when the model has none. eot: end of turn, from
 * tokenizer.ggml.eot_token_id or found by text (<|eot_id|>, <|im_end|>, ...). */
SYN_API int32_t syn_tokenizer_bos(const syn_tokenizer *t);
SYN_API int32_t syn_tokenizer_eos(const syn_tokenizer *t);
SYN_API int32_t syn_tokenizer_eot(const syn_tokenizer *t);
SYN_API int32_t syn_tokenizer_unk(const syn_tokenizer *t);
SYN_API int32_t syn_tokenizer_pad(const syn_tokenizer *t);
SYN_API int syn_tokenizer_add_bos(const syn_tokenizer *t);
SYN_API int syn_tokenizer_add_eos(const syn_tokenizer *t);
/* End of generation: eos, eot, eom and every token whose text is a known
 * end marker (<|im_end|>, <|eot_id|>, <|endoftext|>, <end_of_turn>, ...). */
SYN_API int syn_tokenizer_is_eog(const syn_tokenizer *t, int32_t id);
/* SYN_TOKEN_* of id, or -1 if id is out of range. */
SYN_API int syn_tokenizer_token_type(const syn_tokenizer *t, int32_t id);

/* Exact token text (as stored in the file) -> id, or -1. */
SYN_API int32_t syn_tokenizer_find(const syn_tokenizer *t, const char *text);
/* The token's text as stored in the file (NUL-terminated; BPE texts are in
 * the byte-to-unicode alphabet, SPM texts use U+2581 for spaces); NULL if id is
 * out of range. */
SYN_API const char *syn_tokenizer_text(const syn_tokenizer *t, int32_t id);
/* The bytes a token stands for in decoded text (not NUL-terminated; may be a
 * partial UTF-8 character). Control, unknown and unused tokens decode to
 * nothing unless render_special; user-defined ones to their text. Returns
 * NULL (and *len 0) if id is out of range. */
SYN_API const char *syn_tokenizer_piece(const syn_tokenizer *t, int32_t id, int render_special, size_t *len);
/* Longest piece of the vocabulary in bytes. */
SYN_API size_t syn_tokenizer_max_piece(const syn_tokenizer *t);

/* Concatenated pieces of ids[0..n) into a malloc'ed NUL-terminated buffer.
 * With strip_leading_space, an SPM text drops the one space that the tokenizer
 * prefixed to it (the first piece's leading space, after an optional BOS).
 * Fails with SYN_ERR_INVALID on an out-of-range id. */
SYN_API int syn_detokenize(const syn_tokenizer *t, const int32_t *ids, size_t n, int render_special,
                   int strip_leading_space, char **out, size_t *out_len, syn_error *err);

/* Streaming detokenizer: feed ids one at a time and get back only whole UTF-8
 * characters. A character split across tokens is held until it completes; a
 * byte sequence that can never become valid UTF-8 comes out as U+FFFD, so the
 * output is always valid UTF-8. */
typedef struct syn_detok {
    const syn_tokenizer *tok;
    int render_special;
    unsigned char held[4]; /* start of an incomplete character */
    size_t n_held;
    char *buf; /* output of the last call */
    size_t cap;
} syn_detok;

SYN_API int syn_detok_init(syn_detok *d, const syn_tokenizer *t, int render_special, syn_error *err);
SYN_API void syn_detok_free(syn_detok *d);
/* Appends token id; *out and *n receive the text ready now (valid until the next
 * call on d; *n may be 0). SYN_ERR_INVALID for an out-of-range id. */
SYN_API int syn_detok_push(syn_detok *d, int32_t id, const char **out, size_t *n);
/* Ends the stream: a held incomplete character comes out as U+FFFD. The
 * detokenizer is then ready for a new stream. */
SYN_API void syn_detok_flush(syn_detok *d, const char **out, size_t *n);

#endif
