/* Stop-string matcher over streamed text. It holds back any tail that could
 * still become a stop string, so a stream never shows part of one, and the
 * concatenation of everything it emits equals the non-streamed text cut at
 * the first stop. Owns copies of the stop strings and the held-back bytes.
 * One thread at a time per matcher. */
#ifndef SYN_CORE_STOP_H
#define SYN_CORE_STOP_H

#include <stddef.h>
#include <synapse/common.h>

/* Caller-allocated; fields are private. */
typedef struct syn_stop {
    char **stops;
    size_t *lens;
    size_t n_stops;
    char *buf; /* held bytes, then after a feed: emitted bytes + held bytes */
    size_t len, cap;
    size_t emitted; /* bytes at the front of buf handed out by the last call */
    int which;      /* index of the stop string that matched, -1 if none yet */
} syn_stop;

/* Copies n stop strings (n may be 0). Each must be non-empty, valid UTF-8.
 * On failure m is left empty and safe to pass to syn_stop_free. */
int syn_stop_init(syn_stop *m, const char *const *stops, size_t n, syn_error *err);
void syn_stop_free(syn_stop *m);
/* Forget held text and any stop, keep the stop strings. */
void syn_stop_reset(syn_stop *m);

/* Feeds n bytes of generated text (whole UTF-8 characters). *out / *out_len
 * receive the text that is now safe to show; the pointer stays valid until the
 * next call on m. *stopped becomes 1 when a stop string completed: the text
 * emitted is then everything before it, the stop string and whatever followed
 * are dropped, and later feeds emit nothing. Returns 0 or SYN_ERR_NOMEM. */
int syn_stop_feed(syn_stop *m, const char *bytes, size_t n, const char **out, size_t *out_len, int *stopped);

/* End of generation without a stop: emits whatever was held back. */
void syn_stop_flush(syn_stop *m, const char **out, size_t *out_len);

/* Index into the init array of the stop string that matched, or -1. */
int syn_stop_which(const syn_stop *m);

#endif
