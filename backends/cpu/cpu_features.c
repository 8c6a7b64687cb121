/* CPU feature probing for the CPU backend (CPUID + XGETBV). No ISA flags. */
#include "backends/cpu/cpu_features.h"

#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

int syn_cpu_has_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!(fma && osxsave && avx && f16c))
        return 0;
    /* The CPU may support AVX while the OS does not save the YMM state. */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6)
        return 0;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 5) & 1;
#else
    return 0;
#endif
}

int syn_cpu_has_avx_vnni(void)
{
#if defined(__x86_64__) || defined(__i386__)
    /* VEX-encoded vpdpbusd works on the YMM state avx2 already checks */
    if (!syn_cpu_has_avx2())
        return 0;
    unsigned a, b, c, d;
    __cpuid_count(7, 1, a, b, c, d);
    return (a >> 4) & 1;
#else
    return 0;
#endif
}

int syn_cpu_has_avx512_vnni(void)
{
#if defined(__x86_64__) || defined(__i386__)
    if (!syn_cpu_has_avx_vnni())
        return 0;
    /* the OS must save the opmask and all 32 vector registers */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xe6) != 0xe6)
        return 0;
    unsigned a, b, c, d;
    __cpuid_count(7, 0, a, b, c, d);
    int f = (b >> 16) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1, vnni = (c >> 11) & 1;
    /* VBMI (vpermb) and BMI2 (pdep) unpack the panels' Q4_0/Q5_0 pairs;
     * every CPU with AVX-VNNI and AVX-512 has both */
    int vbmi = (c >> 1) & 1, bmi2 = (b >> 8) & 1;
    return f && bw && vl && vnni && vbmi && bmi2;
#else
    return 0;
#endif
}

int syn_cpu_has_amx(void)
{
#if defined(__x86_64__) && defined(__linux__)
    if (!syn_cpu_has_avx512_vnni())
        return 0;
    unsigned a, b, c, d;
    __cpuid_count(7, 0, a, b, c, d);
    int tile = (d >> 24) & 1, bf16 = (d >> 22) & 1;
    __cpuid_count(7, 1, a, b, c, d);
    int avx512_bf16 = (a >> 5) & 1;
    /* the OS must save the tile configuration and data */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if (!tile || !bf16 || !avx512_bf16 || (lo & 0x60000) != 0x60000)
        return 0;
    /* Linux hands out the 8 KiB of tile state per process on request
     * (5.16+); a refusal leaves the avx512 set */
    const long arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
    return syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
#else
    return 0;
#endif
}

int syn_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
