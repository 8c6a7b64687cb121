/* What this CPU and OS let the CPU backend use. Queries, any thread; only
 * syn_cpu_has_amx() changes anything (the process's permission to use AMX
 * tiles, which it asks Linux for). */
#ifndef SYN_CPU_FEATURES_H
#define SYN_CPU_FEATURES_H

/* AVX2 + FMA + F16C present in CPUID and their register state enabled by the
 * OS (OSXSAVE and XCR0 bits for SSE and AVX). */
int syn_cpu_has_avx2(void);
/* syn_cpu_has_avx2() and AVX-VNNI (CPUID leaf 7 subleaf 1, EAX bit 4). */
int syn_cpu_has_avx_vnni(void);
/* syn_cpu_has_avx_vnni() and AVX-512 F, BW, VL, VNNI and VBMI with BMI2
 * (CPUID leaf 7 EBX bits 16, 30, 31, 8, ECX bits 11, 1) and the opmask and
 * ZMM state enabled (XCR0 bits 5-7). */
int syn_cpu_has_avx512_vnni(void);
/* syn_cpu_has_avx512_vnni() and AMX-TILE + AMX-BF16 (CPUID leaf 7 EDX bits
 * 24, 22) with AVX512-BF16 (leaf 7 subleaf 1 EAX bit 5) and the tile state
 * enabled (XCR0 bits 17, 18), and Linux's
 * permission for this process to use it, requested here (arch_prctl
 * ARCH_REQ_XCOMP_PERM). */
int syn_cpu_has_amx(void);
int syn_cpu_count(void);

#endif
