/* The CPU backend's attention over the f16 KV cache: kv_store (rows into
 * the cache), kv_copy (one slot's positions to another) and attention
 * (the attend_f16 kernel per row and KV head, over the pool). */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"

/* The cache is pages of CPU_KV_PAGE_LEN positions, laid out
 * [page][KV head][position in page][head_dim]: one KV head's rows of a page
 * are contiguous, so attention streams them in order. A slot's positions
 * map to pages through a->page_table (the core always passes one). */
static int32_t page_of(const syn_attn_params *a, int32_t slot, int32_t pos)
{
    return a->page_table[(size_t)slot * (size_t)a->pages_per_slot + (size_t)(pos / CPU_KV_PAGE_LEN)];
}

static size_t page_offset(const syn_attn_params *a, int32_t page, int32_t kv_head)
{
    return ((size_t)page * (size_t)a->n_kv_heads + (size_t)kv_head) * CPU_KV_PAGE_LEN * (size_t)a->head_dim;
}

static size_t head_offset(const syn_attn_params *a, int32_t slot, int32_t kv_head, int32_t pos)
{
    return page_offset(a, page_of(a, slot, pos), kv_head) + (size_t)(pos % CPU_KV_PAGE_LEN) * (size_t)a->head_dim;
}

void cpu_kv_store(syn_backend *b, const syn_attn_params *a, const float *k, const float *v, const syn_rows *rows)
{
    size_t kv_dim = (size_t)a->n_kv_heads * a->head_dim;
    uint16_t *kc = a->k_cache, *vc = a->v_cache;
    for (int32_t r = 0; r < rows->n; r++)
        for (int32_t g = 0; g < a->n_kv_heads; g++) {
            size_t off = head_offset(a, rows->slot[r], g, rows->pos[r]), src = r * kv_dim + (size_t)g * a->head_dim;
            b->k->f32_to_f16(k + src, kc + off, a->head_dim);
            b->k->f32_to_f16(v + src, vc + off, a->head_dim);
        }
}

/* page by page: a page both slots map already holds the same rows */
void cpu_kv_copy(syn_backend *b, const syn_attn_params *a, int32_t src, int32_t dst, int32_t n_pos)
{
    (void)b;
    uint16_t *kc = a->k_cache, *vc = a->v_cache;
    for (int32_t p0 = 0; p0 < n_pos; p0 += CPU_KV_PAGE_LEN) {
        int32_t from = page_of(a, src, p0), to = page_of(a, dst, p0);
        if (from == to)
            continue;
        int32_t n = n_pos - p0 < CPU_KV_PAGE_LEN ? n_pos - p0 : CPU_KV_PAGE_LEN;
        size_t bytes = (size_t)n * (size_t)a->head_dim * sizeof(uint16_t);
        for (int32_t g = 0; g < a->n_kv_heads; g++) {
            memcpy(kc + page_offset(a, to, g), kc + page_offset(a, from, g), bytes);
            memcpy(vc + page_offset(a, to, g), vc + page_offset(a, from, g), bytes);
        }
    }
}

struct attn_task {
    syn_backend *b;
    const syn_attn_params *a;
    const float *q;
    const syn_rows *rows;
    float *out;
};

/* One (row, KV head) item covers the query heads j0..j1 of that KV head's
 * group: each cached K and V row is read once for all of them. */
static void attn_group(struct attn_task *t, float *work, int32_t r, int32_t g, int32_t j0, int32_t j1)
{
    const syn_attn_params *a = t->a;
    int32_t hd = a->head_dim, group = a->n_heads / a->n_kv_heads;
    size_t base = page_offset(a, 0, g);
    syn_kv_view kv = {
        .k = (const uint16_t *)a->k_cache + base,
        .v = (const uint16_t *)a->v_cache + base,
        .pages = a->page_table + (size_t)t->rows->slot[r] * (size_t)a->pages_per_slot,
        .page_stride = (int64_t)page_offset(a, 1, 0),
        .row_stride = hd,
        .page_len = CPU_KV_PAGE_LEN,
    };
    size_t head0 = (size_t)r * a->n_heads * hd + ((size_t)g * group + j0) * hd;
    t->b->k->attend_f16(hd, t->rows->pos[r] + 1, &kv, t->q + head0, j1 - j0, a->scale, t->out + head0, work);
}

static void attn_worker(void *arg, int ith, int nth)
{
    struct attn_task *t = arg;
    float *work = t->b->attn_work + (size_t)ith * t->b->attn_work_per_thread;
    int32_t kvh = t->a->n_kv_heads, group = t->a->n_heads / kvh;
    /* with fewer (row, KV head) pairs than threads, split the groups' heads */
    int64_t pairs = (int64_t)t->rows->n * kvh;
    int32_t parts = pairs >= nth ? 1 : (int32_t)((nth + pairs - 1) / pairs);
    if (parts > group)
        parts = group;
    int64_t items = pairs * parts;
    for (int64_t it = ith; it < items; it += nth) {
        int64_t pair = it / parts;
        int32_t part = (int32_t)(it % parts);
        attn_group(t, work, (int32_t)(pair / kvh), (int32_t)(pair % kvh), group * part / parts,
                   group * (part + 1) / parts);
    }
}

void cpu_attention(syn_backend *b, const syn_attn_params *a, const float *q, const syn_rows *rows, float *out)
{
    size_t need = SYN_ATTEND_WORK(a->head_dim, a->n_heads / a->n_kv_heads, a->n_ctx);
    if (need > b->attn_work_per_thread) {
        size_t cap = 0;
        free(b->attn_work);
        b->attn_work = cpu_grow(NULL, &cap, sizeof(float) * need * (size_t)syn_pool_size(b->pool));
        b->attn_work_per_thread = need;
    }
    struct attn_task t = {b, a, q, rows, out};
    syn_pool_run(b->pool, attn_worker, &t);
}
