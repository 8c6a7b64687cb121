/* The CPU backend's elementwise and per-row ops: get_rows (embedding
 * rows), rms_norm, rope and swiglu. Each runs on the calling thread when
 * it is small and on the pool otherwise; which thread computes a row never
 * changes its result. */
#include <math.h>
#include <stdlib.h>

#include "backends/cpu/cpu_internal.h"

/* ---------------------------------------------------------------- get_rows */

void cpu_get_rows(syn_backend *b, const syn_tensor *table, const int32_t *ids, int32_t n, float *out)
{
    syn_dequant_fn dq = b->k->type[table->type].dequant;
    int64_t dim = table->ne[0];
    if (cpu_is_narrow(table)) {
        /* a column panel: row i's element k at group i / 16, k * 16 + i % 16 */
        size_t esize = table->row_bytes / (size_t)dim;
        for (int32_t r = 0; r < n; r++) {
            const char *group = (const char *)table->data + (size_t)(ids[r] / SYN_NARROW_ROWS) * SYN_NARROW_ROWS *
                                                                (size_t)dim * esize;
            for (int64_t k = 0; k < dim; k++)
                dq(group + ((size_t)k * SYN_NARROW_ROWS + (size_t)(ids[r] % SYN_NARROW_ROWS)) * esize,
                   out + (size_t)r * dim + k, 1);
        }
        return;
    }
    for (int32_t r = 0; r < n; r++) {
        const char *row = (const char *)table->data + (size_t)ids[r] * table->row_bytes;
        dq(row, out + (size_t)r * dim, dim);
    }
}

/* ---------------------------------------------------------------- rms_norm */

struct norm_task {
    const syn_kernel_set *k;
    const float *x, *w;
    float *out;
    int32_t n_rows, dim;
    float eps;
};

static void norm_worker(void *arg, int ith, int nth)
{
    struct norm_task *t = arg;
    for (int32_t r = ith; r < t->n_rows; r += nth)
        t->k->rms_norm(t->dim, t->x + (size_t)r * t->dim, t->w, t->eps, t->out + (size_t)r * t->dim);
}

void cpu_rms_norm(syn_backend *b, const float *x, const syn_tensor *w, int32_t n_rows, int32_t dim, float eps,
                  float *out)
{
    struct norm_task t = {b->k, x, w->data, out, n_rows, dim, eps};
    if ((int64_t)n_rows * dim <= INLINE_ELEMENTS)
        norm_worker(&t, 0, 1);
    else
        syn_pool_run(b->pool, norm_worker, &t);
}

/* -------------------------------------------------------------------- rope */

struct rope_task {
    float *x;
    int32_t n_rows, n_heads, head_dim;
    const int32_t *pos;
    const float *inv_freq;
    int neox;
};

static void rope_worker(void *arg, int ith, int nth)
{
    struct rope_task *t = arg;
    int32_t half = t->head_dim / 2;
    for (int32_t r = ith; r < t->n_rows; r += nth) {
        float *row = t->x + (size_t)r * t->n_heads * t->head_dim;
        for (int32_t i = 0; i < half; i++) {
            float theta = (float)t->pos[r] * t->inv_freq[i];
            float c = cosf(theta), s = sinf(theta);
            for (int32_t h = 0; h < t->n_heads; h++) {
                float *v = row + (size_t)h * t->head_dim;
                int32_t i0 = t->neox ? i : 2 * i, i1 = t->neox ? i + half : 2 * i + 1;
                float a = v[i0], bb = v[i1];
                v[i0] = a * c - bb * s;
                v[i1] = a * s + bb * c;
            }
        }
    }
}

void cpu_rope(syn_backend *b, float *x, int32_t n_rows, int32_t n_heads, int32_t head_dim, const int32_t *pos,
              float freq_base, int neox)
{
    if (b->inv_freq_dim != head_dim || b->inv_freq_base != freq_base) {
        size_t cap = 0;
        free(b->inv_freq);
        b->inv_freq = cpu_grow(NULL, &cap, sizeof(float) * (size_t)(head_dim / 2 + 1));
        for (int32_t i = 0; i < head_dim / 2; i++)
            b->inv_freq[i] = (float)pow(freq_base, -2.0 * i / head_dim);
        b->inv_freq_dim = head_dim;
        b->inv_freq_base = freq_base;
    }
    struct rope_task t = {x, n_rows, n_heads, head_dim, pos, b->inv_freq, neox};
    if (n_rows == 1)
        rope_worker(&t, 0, 1);
    else
        syn_pool_run(b->pool, rope_worker, &t);
}

/* ------------------------------------------------------------------ swiglu */

struct swiglu_task {
    const syn_kernel_set *k;
    const float *gate, *up;
    float *out;
    int64_t n;
};

static void swiglu_worker(void *arg, int ith, int nth)
{
    struct swiglu_task *t = arg;
    int64_t i0 = t->n * ith / nth, i1 = t->n * (ith + 1) / nth;
    t->k->swiglu(i1 - i0, t->gate + i0, t->up + i0, t->out + i0);
}

void cpu_swiglu(syn_backend *b, const float *gate, const float *up, int64_t n, float *out)
{
    struct swiglu_task t = {b->k, gate, up, out, n};
    if (n <= INLINE_ELEMENTS)
        swiglu_worker(&t, 0, 1);
    else
        syn_pool_run(b->pool, swiglu_worker, &t);
}
