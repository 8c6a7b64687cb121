/* Token -> count map for the sampler's penalties: the tokens in the repeat
 * window and those generated so far. */
#ifndef SYN_CORE_SAMPLE_TOKEN_COUNTS_H
#define SYN_CORE_SAMPLE_TOKEN_COUNTS_H

#include <stddef.h>
#include <stdint.h>

/* Open addressing with linear probing. Keys are never deleted: a count that
 * drops to zero leaves its slot, and rebuilding on growth drops such slots,
 * which keeps the table proportional to the distinct tokens live in it. */
typedef struct tok_counts {
    int32_t *keys; /* -1 = empty */
    uint32_t *counts;
    size_t cap; /* power of two or 0 */
    size_t used;
    size_t live;
} tok_counts;

/* One more of key; SYN_ERR_NOMEM when the table cannot grow. */
int syn_counts_inc(tok_counts *m, int32_t key);
/* One fewer of key, which must have a positive count. */
void syn_counts_dec(tok_counts *m, int32_t key);
void syn_counts_clear(tok_counts *m);
void syn_counts_free(tok_counts *m);

#endif
