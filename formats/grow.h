/* The one growth rule of the writers' in-memory buffers (gguf_write.c,
 * safetensors_write.c): capacity doubles, from `first`, until it holds
 * `need` bytes. Internal to formats/. */
#ifndef SYN_FORMATS_GROW_H
#define SYN_FORMATS_GROW_H

#include <stdlib.h>

/* *p (of *cap bytes) holds at least need bytes afterwards: 0, or -1 when
 * out of memory (*p and *cap unchanged). */
static inline int syn_grow(void **p, size_t *cap, size_t need, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : first;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

#endif
