#ifndef SYN_FILE_MAP_H
#define SYN_FILE_MAP_H

#include <stddef.h>

/* Maps `size` bytes of the open file `fd` read-only (MAP_PRIVATE), backed by
 * 2 MiB pages where the kernel can (see file_map.c). Returns MAP_FAILED with
 * errno set on failure. Unmap with munmap(map, size); fd may be closed as
 * soon as this returns. */
void *syn_map_file(int fd, size_t size);

/* Tells the kernel that the whole pages inside [p, p + n) of a mapping
 * from syn_map_file are not needed now (their bytes were copied): they
 * leave the process's resident set and are read from the file again if
 * touched. Best effort; never changes what the mapping holds. */
void syn_map_discard(const void *p, size_t n);

#endif
