/* Read-only mappings of model files, backed by 2 MiB pages where the kernel
 * can.
 *
 * Decode streams every weight once per token, so how the page cache holds
 * the file matters: measured on a 1.5B Q4_K_M file (986 MB, 2 threads),
 * decode ran at 37-39 tok/s when the file sat in 2 MiB folios and 26-33
 * tok/s when the same bytes sat in 4 KiB pages (a TLB miss and a cold
 * hardware prefetcher at every 4 KiB). Which one a file gets is decided when
 * it is read into the page cache: a read through a mapping advised
 * MADV_HUGEPAGE fills it in 2 MiB folios (kernels with large folios for the
 * file system, such as ext4 and xfs on Linux 6.x), any other read in small
 * ones, and nothing converts them later.
 *
 * So after mapping a file we fault it in and ask the kernel how much of it
 * came as 2 MiB mappings. If less than half did, the file's unmapped pages
 * are dropped from the page cache (POSIX_FADV_DONTNEED never drops pages
 * that another process has mapped, or dirty ones) and read again through a
 * fresh advised mapping. That costs one read of the file; where the file
 * system keeps large folios (ext4, xfs), the next load finds them in place
 * and reads nothing. SYNAPSE_KEEP_PAGE_CACHE=1 turns the re-read off. Every step is best effort; the mapping returned always
 * holds the file's bytes. */
#include "formats/file_map.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

#define HUGE_PAGE ((size_t)2 << 20)

/* KiB of the mapping at `addr` that the kernel maps with PMDs (2 MiB pages),
 * from /proc/self/smaps; -1 if that cannot be read. */
static long long pmd_mapped_kib(const void *addr)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    int in_vma = 0;
    long long kib = -1;
    while (getline(&line, &cap, f) > 0) {
        uintptr_t start, end;
        /* a VMA's header line is "start-end perms ..." in lower-case hex, its
         * fields "Name: value" with capitalised names */
        if (isxdigit((unsigned char)line[0]) && !isupper((unsigned char)line[0]) &&
            sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &start, &end) == 2) {
            if (in_vma)
                break;
            in_vma = start == (uintptr_t)addr;
        } else if (in_vma && sscanf(line, "FilePmdMapped: %lld kB", &kib) == 1) {
            break;
        }
    }
    free(line);
    fclose(f);
    return kib;
}

/* the mapping, advised MADV_HUGEPAGE; *advised says whether the kernel took
 * the advice (it refuses without transparent huge pages) */
static void *map_advised(int fd, size_t size, int *advised)
{
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    *advised = 0;
#ifdef MADV_HUGEPAGE
    if (map != MAP_FAILED)
        *advised = madvise(map, size, MADV_HUGEPAGE) == 0;
#endif
    return map;
}

void *syn_map_file(int fd, size_t size)
{
    int advised;
    void *map = map_advised(fd, size, &advised);
    if (map == MAP_FAILED || !advised || size < 2 * HUGE_PAGE)
        return map;
    const char *keep = getenv("SYNAPSE_KEEP_PAGE_CACHE");
    if (keep && *keep && strcmp(keep, "0") != 0)
        return map;
    if (madvise(map, size, MADV_POPULATE_READ) != 0)
        return map;
    long long kib = pmd_mapped_kib(map);
    if (kib < 0 || (size_t)kib * 1024 * 2 >= size)
        return map;
    /* mostly small pages: drop them and read the file again, advised */
    munmap(map, size);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    return map_advised(fd, size, &advised);
}

void syn_map_discard(const void *p, size_t n)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)p + page - 1) & ~(page - 1), end = ((uintptr_t)p + n) & ~(page - 1);
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_DONTNEED);
}
