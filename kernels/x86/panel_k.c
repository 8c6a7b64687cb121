/* Prefill panels for Q4_K and Q5_K in the vnni set (see panel_legacy.c
 * for the idea). A Q8_K panel holds SYN_PANEL_ROWS activation rows,
 * superblock by superblock:
 *     float d[SYN_PANEL_ROWS];          the rows' scales
 *     int16_t s[SYN_PANEL_ROWS][8];     each row's 32-element sums
 *     int16_t s16[SYN_PANEL_ROWS][16];  its 16-element sums (for Q6_K)
 *     int8_t q[SYN_PANEL_ROWS][256];    the rows' quants
 * so the per-row tail of a superblock (the min term and the two scale
 * products) reads ready sums and a float scale instead of pairing up the
 * 16-element sums and broadcasting scalars for every weight row.
 *
 * The dot itself is k45_tile_from (k45_tile.h, dot_k.c's tile) reading the
 * panel, the same integer sums and float steps as vec_dot, so every result
 * is bit-identical to it. Compiled for the vnni set only (kernels.am); the
 * avx512 set has panel_k512.c. */
#include "kernels/x86/k45_tile.h"

void SYN_KFN(pack_panel_q8_k)(int64_t n, const void *a, size_t a_stride, int nr, void *panel)
{
    static const int in_order[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    k_pack_panel(n, a, a_stride, nr, panel, in_order);
}

SYN_INLINE void k45_panel(const int five, int64_t n, const void *w, const void *panel, int nr, float *out,
                          int64_t out_stride)
{
#if defined(__AVX512VL__)
    if (nr > 4) {
        const k_act act = {panel, 0, 0, 1};
        k45_tile_from(five, n, w, act, 8, nr, out, out_stride);
        return;
    }
#endif
    for (int r0 = 0; r0 < nr; r0 += 4) {
        const k_act act = {panel, 0, r0, 1};
        k45_tile_from(five, n, w, act, 4, nr - r0 < 4 ? nr - r0 : 4, out + r0 * out_stride, out_stride);
    }
}

void SYN_KFN(dot_panel_q4_k)(int64_t n, const void *w, const void *panel, int nr, float *out, int64_t out_stride)
{
    k45_panel(0, n, w, panel, nr, out, out_stride);
}

void SYN_KFN(dot_panel_q5_k)(int64_t n, const void *w, const void *panel, int nr, float *out, int64_t out_stride)
{
    k45_panel(1, n, w, panel, nr, out, out_stride);
}
