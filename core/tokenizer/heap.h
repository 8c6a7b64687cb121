/* A binary min-heap over a caller-owned array, generated per item type:
 * SYN_DEFINE_HEAP(name, T, less) defines
 *   static void name_push(T *h, size_t *n, T item);   (room for one more)
 *   static T name_pop(T *h, size_t *n);               (*n > 0)
 * where less(const T *, const T *) orders the items; the smallest pops
 * first. Used by both tokenizers' merge queues; a macro so each keeps its
 * own item type and an inlined comparison on its hot path. */
#ifndef SYN_CORE_HEAP_H
#define SYN_CORE_HEAP_H

#include <stddef.h>

#define SYN_DEFINE_HEAP(name, T, less)                                                                               \
    static void name##_push(T *h, size_t *n, T it)                                                                   \
    {                                                                                                                \
        size_t i = (*n)++;                                                                                           \
        while (i > 0) {                                                                                              \
            size_t p = (i - 1) / 2;                                                                                  \
            if (!less(&it, &h[p]))                                                                                   \
                break;                                                                                               \
            h[i] = h[p];                                                                                             \
            i = p;                                                                                                   \
        }                                                                                                            \
        h[i] = it;                                                                                                   \
    }                                                                                                                \
    static T name##_pop(T *h, size_t *n)                                                                             \
    {                                                                                                                \
        T top = h[0], last = h[--*n];                                                                                \
        size_t i = 0, m = *n;                                                                                        \
        for (;;) {                                                                                                   \
            size_t c = 2 * i + 1;                                                                                    \
            if (c >= m)                                                                                              \
                break;                                                                                               \
            if (c + 1 < m && less(&h[c + 1], &h[c]))                                                                 \
                c++;                                                                                                 \
            if (!less(&h[c], &last))                                                                                 \
                break;                                                                                               \
            h[i] = h[c];                                                                                             \
            i = c;                                                                                                   \
        }                                                                                                            \
        if (m)                                                                                                       \
            h[i] = last;                                                                                             \
        return top;                                                                                                  \
    }

#endif
