/* A model's thinking (reasoning.c): the <think>...</think> block an answer
 * opens with (Qwen3 and its kind) goes to reasoning_content, the rest is
 * the content; the same for a stream, piece by piece. */
#ifndef SYN_CORE_SERVER_REASONING_H
#define SYN_CORE_SERVER_REASONING_H

#include <stddef.h>

/* 1 when text[0, len) opens (after white space) with <think>: its
 * thinking is [*r_off, *r_off + *r_len) and its content from *c_off (len
 * when the block never closed). 0: no thinking, all of it is content. */
int syn_reasoning_split(const char *text, size_t len, size_t *r_off, size_t *r_len, size_t *c_off);

/* Receives what is certain: reasoning 1 for thinking, 0 for content. */
typedef int (*syn_reasoning_fn)(void *user, int reasoning, const char *text, size_t len);

typedef struct syn_reasoning_stream {
    int state;     /* where in the answer the pieces are */
    char held[16]; /* bytes that may be part of a tag */
    size_t n_held;
} syn_reasoning_stream;

/* A piece of the answer; what is known goes through emit (its nonzero
 * return comes back). */
int syn_reasoning_feed(syn_reasoning_stream *x, const char *s, size_t n, syn_reasoning_fn emit, void *user);
/* The answer ended: whatever is held goes out. */
int syn_reasoning_flush(syn_reasoning_stream *x, syn_reasoning_fn emit, void *user);

#endif
