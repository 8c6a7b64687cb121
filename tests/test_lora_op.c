/* The CPU backend's lora op (ABI 1.3): for runs of rows on different
 * adapters, of F32, F16 and BF16 matrices, short and long rows, ranks
 * under and over the narrow kernels' limit, every row gets bit for bit
 * what two matmul calls give it (shrink into a scratch row, then expand
 * with alpha = scale, accumulating), and the same again when it is the
 * only row of the call. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synapse/model.h>
#include <synapse/plugin.h>
#include "tests/check.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static float rnd(void) { return (float)(next_u32() % 20001) / 10000.0f - 1.0f; }

/* a random matrix of type `type` (rows x cols) in host memory: floats, or
 * 16-bit patterns of normal F16 / BF16 values in about +-1 */
static void *random_matrix(int type, int64_t rows, int64_t cols)
{
    size_t n = (size_t)(rows * cols);
    if (type == SYN_TYPE_F32) {
        float *f = malloc(n * sizeof *f);
        for (size_t i = 0; i < n; i++)
            f[i] = rnd() * 0.3f;
        return f;
    }
    uint16_t *h = malloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++) {
        uint32_t r = next_u32();
        if (type == SYN_TYPE_F16) /* sign, exponent 9..14 (2^-6 .. 2^-1), mantissa */
            h[i] = (uint16_t)((r & 0x8000u) | ((9u + (r >> 16) % 6u) << 10) | (r & 0x3ffu));
        else /* bf16: sign, exponent 120..126, mantissa */
            h[i] = (uint16_t)((r & 0x8000u) | ((120u + (r >> 16) % 7u) << 7) | (r & 0x7fu));
    }
    return h;
}

struct matrix {
    syn_tensor t;
    void *host;
};

static int load(const syn_backend_ref *be, struct matrix *m, int type, int64_t rows, int64_t cols)
{
    memset(m, 0, sizeof *m);
    m->host = random_matrix(type, rows, cols);
    m->t.type = type;
    m->t.n_dims = 2;
    m->t.ne[0] = cols;
    m->t.ne[1] = rows;
    m->t.ne[2] = m->t.ne[3] = 1;
    m->t.row_bytes = syn_type_row_bytes(type, cols);
    syn_error err = {0};
    int rc = be->ops->weight_load(be->b, &m->t, m->host, &err);
    CHECK_MSG(rc == SYN_OK, "weight_load: %s", err.msg);
    return rc;
}

static void unload(const syn_backend_ref *be, struct matrix *m)
{
    if (m->t.data)
        be->ops->weight_unload(be->b, &m->t);
    free(m->host);
}

#define N_ROWS 7
#define N_ADAPTERS 3

static void one_case(const syn_backend_ref *be, int type_a, int type_b, int64_t in, int64_t out, int64_t rank)
{
    const syn_backend_ops *ops = be->ops;
    struct matrix a[N_ADAPTERS], b[N_ADAPTERS];
    /* the last adapter has a smaller rank, so rows of tmp are the largest rank apart */
    int64_t ranks[N_ADAPTERS] = {rank, rank, rank / 2};
    for (int i = 0; i < N_ADAPTERS; i++) {
        load(be, &a[i], type_a, ranks[i], in);
        load(be, &b[i], type_b, out, ranks[i]);
    }
    syn_error err = {0};
    float *x = ops->alloc(be->b, sizeof(float) * N_ROWS * (size_t)in, &err);
    float *y0 = ops->alloc(be->b, sizeof(float) * N_ROWS * (size_t)out, &err);
    float *want = ops->alloc(be->b, sizeof(float) * N_ROWS * (size_t)out, &err);
    float *got = ops->alloc(be->b, sizeof(float) * N_ROWS * (size_t)out, &err);
    float *alone = ops->alloc(be->b, sizeof(float) * N_ROWS * (size_t)out, &err);
    float *tmp = ops->alloc(be->b, sizeof(float) * N_ROWS * (size_t)rank, &err);
    for (int64_t i = 0; i < N_ROWS * in; i++)
        x[i] = rnd();
    for (int64_t i = 0; i < N_ROWS * out; i++)
        y0[i] = rnd();
    /* rows 0-1 and 3-5 on adapter 0, row 2 on 1, row 6 on 2 */
    static const int32_t row0[] = {0, 2, 3, 6}, n_rows[] = {2, 1, 3, 1}, which[] = {0, 1, 0, 2};
    static const float scales[] = {0.5f, 2.0f, 0.5f, 1.25f};
    syn_lora_run runs[4];
    memcpy(want, y0, sizeof(float) * N_ROWS * (size_t)out);
    for (int g = 0; g < 4; g++) {
        runs[g] = (syn_lora_run){.a = &a[which[g]].t, .b = &b[which[g]].t, .scale = scales[g], .row0 = row0[g],
                                 .n_rows = n_rows[g]};
        ops->matmul(be->b, runs[g].a, NULL, x + (size_t)row0[g] * (size_t)in, n_rows[g], tmp, 1.0f, 0);
        ops->matmul(be->b, runs[g].b, NULL, tmp, n_rows[g], want + (size_t)row0[g] * (size_t)out, scales[g], 1);
    }
    memcpy(got, y0, sizeof(float) * N_ROWS * (size_t)out);
    ops->lora(be->b, runs, 4, x, in, got, out, tmp);
    memcpy(alone, y0, sizeof(float) * N_ROWS * (size_t)out);
    for (int g = 0; g < 4; g++)
        for (int32_t r = row0[g]; r < row0[g] + n_rows[g]; r++) {
            syn_lora_run one = runs[g];
            one.row0 = r;
            one.n_rows = 1;
            ops->lora(be->b, &one, 1, x, in, alone, out, tmp);
        }
    int same = !memcmp(got, want, sizeof(float) * N_ROWS * (size_t)out);
    int same_alone = !memcmp(alone, want, sizeof(float) * N_ROWS * (size_t)out);
    CHECK_MSG(same && same_alone, "A %s B %s in %lld out %lld rank %lld: lora op %s two matmuls%s",
              syn_type_name(type_a), syn_type_name(type_b), (long long)in, (long long)out, (long long)rank,
              same ? "equals" : "differs from", same_alone ? "" : ", a row alone differs");
    float *bufs[] = {x, y0, want, got, alone, tmp};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        ops->release(be->b, bufs[i]);
    for (int i = 0; i < N_ADAPTERS; i++) {
        unload(be, &a[i]);
        unload(be, &b[i]);
    }
}

int main(void)
{
    syn_backend_ref be;
    syn_error err = {0};
    if (syn_backend_open("cpu", 2, &be, &err)) {
        fprintf(stderr, "cannot open the cpu backend: %s\n", err.msg);
        return 99;
    }
    CHECK_MSG(be.ops->lora != NULL, "the cpu backend has no lora op");
    static const int types[] = {SYN_TYPE_F32, SYN_TYPE_F16, SYN_TYPE_BF16};
    /* rank 80 rows of B are too long for the narrow kernels; in 48 makes
     * A's rows short enough for them; out 4864 is wide enough for the pool */
    static const int64_t shapes[][3] = {{256, 300, 16}, {256, 300, 8}, {48, 40, 16}, {256, 96, 80}, {896, 4864, 16}};
    if (be.ops->lora)
        for (size_t ta = 0; ta < 3; ta++)
            for (size_t tb = 0; tb < 3; tb++)
                for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
                    one_case(&be, types[ta], types[tb], shapes[s][0], shapes[s][1], shapes[s][2]);
    syn_backend_close(&be);
    return CHECK_DONE();
}
