/* What the safetensors reader and writer share (not part of the API). */
#ifndef SYN_FORMATS_SAFETENSORS_INTERNAL_H
#define SYN_FORMATS_SAFETENSORS_INTERNAL_H

#include <stddef.h>

/* s for a message: bytes outside printable ASCII as '?', cut to fit cap
 * (ending "..."); returns buf. */
const char *syn_st_printable(char *buf, size_t cap, const char *s);

#endif
