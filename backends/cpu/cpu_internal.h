/* What the CPU backend's files share (not part of any interface): the
 * backend instance, its per-thread scratch and the ops each file provides
 * to the plugin's ops table in cpu_backend.c. One thread drives an
 * instance; the ops fan their work out to its pool. */
#ifndef SYN_CPU_INTERNAL_H
#define SYN_CPU_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <synapse/plugin.h>

#include "backends/cpu/threadpool.h"
#include "kernels/kernels.h"

/* Positions per KV page (one attention block: a block never spans pages). */
#define CPU_KV_PAGE_LEN SYN_ATTEND_BLOCK

/* Below this many elements an elementwise op runs on the calling thread:
 * waking the pool costs more than the work. */
#define INLINE_ELEMENTS 32768
/* floats of one thread's AMX results: 16 weight rows x MM_WORK_ROWS */
#define MM_WORK_ROWS 256
#define MM_WORK (16 * MM_WORK_ROWS)

/* A matmul thread's share of output rows: the next row not yet taken and
 * the end. One per cache line: the owner takes from it all the time, the
 * others only once they have finished their own share. */
typedef struct {
    _Alignas(64) _Atomic int64_t next;
    int64_t end;
} mm_share;

struct syn_backend {
    syn_pool *pool;
    mm_share *shares; /* one per pool thread */
    const syn_kernel_set *k;
    char desc[64];
    /* activation rows converted for vec_dot; grown on demand, reused */
    void *act;
    size_t act_cap;
    char *panels; /* activation panels of the current matmul */
    size_t panels_cap;
    char *tiles; /* AMX tiles of the current matmul's prompt rows */
    size_t tiles_cap;
    float *mm_work; /* AMX results before bias/scale/accumulation, MM_WORK floats per pool thread */
    float *attn_work; /* attend_f16 scratch, one share per pool thread */
    size_t attn_work_per_thread;
    /* rope frequencies for the last (head_dim, base) seen */
    float *inv_freq;
    int inv_freq_dim;
    float inv_freq_base;
};

/* Weights weight_load keeps as column panels (syn_narrow_pack) for the
 * narrow kernels: 2-D F32, F16 and BF16 matrices of rows up to
 * SYN_NARROW_MAX long. Their t->data (and backend_priv) is the packed copy. */
static inline int cpu_packs_narrow(const syn_backend *b, const syn_tensor *t)
{
    return t->ne[0] <= SYN_NARROW_MAX && t->ne[1] > 1 && t->ne[2] == 1 && t->ne[3] == 1 &&
           b->k->type[t->type].dot_narrow &&
           (t->type == SYN_TYPE_F32 || t->type == SYN_TYPE_F16 || t->type == SYN_TYPE_BF16);
}
static inline int cpu_is_narrow(const syn_tensor *t) { return t->backend_priv && t->data == t->backend_priv; }

/* Grows a scratch buffer (p, *cap bytes) to at least need bytes, outside
 * the pool's tasks; the old contents are not kept. Aborts when out of
 * memory (cpu_backend.c). */
void *cpu_grow(void *p, size_t *cap, size_t need);

/* cpu_ops.c */
void cpu_get_rows(syn_backend *b, const syn_tensor *table, const int32_t *ids, int32_t n, float *out);
void cpu_rms_norm(syn_backend *b, const float *x, const syn_tensor *w, int32_t n_rows, int32_t dim, float eps,
                  float *out);
void cpu_rope(syn_backend *b, float *x, int32_t n_rows, int32_t n_heads, int32_t head_dim, const int32_t *pos,
              float freq_base, int neox);
void cpu_swiglu(syn_backend *b, const float *gate, const float *up, int64_t n, float *out);

/* cpu_matmul.c */
void cpu_matmul(syn_backend *b, const syn_tensor *w, const syn_tensor *bias, const float *x, int32_t n_rows, float *y,
                float alpha, int accumulate);
void cpu_matmul_prompt(syn_backend *b, const syn_tensor *w, const syn_tensor *bias, const float *x, int32_t n_rows,
                       int32_t n_exact, float *y, float alpha, int accumulate);

/* cpu_lora.c */
void cpu_lora(syn_backend *b, const syn_lora_run *runs, int32_t n_runs, const float *x, int64_t in, float *y,
              int64_t out, float *tmp);

/* cpu_attention.c */
void cpu_kv_store(syn_backend *b, const syn_attn_params *a, const float *k, const float *v, const syn_rows *rows);
void cpu_kv_copy(syn_backend *b, const syn_attn_params *a, int32_t src, int32_t dst, int32_t n_pos);
void cpu_attention(syn_backend *b, const syn_attn_params *a, const float *q, const syn_rows *rows, float *out);

#endif
