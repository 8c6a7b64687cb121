/* The forward pass shared by llama, qwen2 and qwen3:
 * RMSNorm -> QKV (+bias) -> [q/k RMSNorm] -> RoPE -> KV cache -> attention ->
 * output projection, RMSNorm -> SwiGLU FFN, each projection optionally with
 * the row's unmerged LoRA adapter. Every op goes through the backend's ops
 * table. A context is driven by one thread at a time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine/context.h"

/* y (+)= W x for all rows, then each run of rows sharing an adapter adds
 * scale * B (A x) for that run: all runs in one call of the backend's lora
 * op where it has one, else two matmuls per run. */
static void project(syn_ctx *c, const syn_batch *bt, int il, int proj, const syn_tensor *bias, const float *x,
                    float *y, int accumulate)
{
    const syn_backend_ref *be = &c->m->be;
    const syn_tensor *w = &c->m->layers[il].proj[proj];
    if (bt->n_prompt && be->ops->matmul_prompt)
        be->ops->matmul_prompt(be->b, w, bias, x, bt->n, bt->n - bt->n_prompt, y, 1.0f, accumulate);
    else
        be->ops->matmul(be->b, w, bias, x, bt->n, y, 1.0f, accumulate);
    if (!bt->adapter)
        return;
    int64_t in = w->ne[0], out = w->ne[1];
    int32_t n_runs = 0;
    for (int32_t r0 = 0; r0 < bt->n;) {
        int32_t a = bt->adapter[r0], r1 = r0 + 1;
        while (r1 < bt->n && bt->adapter[r1] == a)
            r1++;
        const syn_lora_pair *pair = a >= 0 ? &c->adapters[a]->pairs[il * SYN_PROJ_COUNT + proj] : NULL;
        if (pair && pair->a.data)
            c->lora_runs[n_runs++] = (syn_lora_run){
                .a = &pair->a, .b = &pair->b, .scale = c->adapter_scale[a], .row0 = r0, .n_rows = r1 - r0,
            };
        r0 = r1;
    }
    if (n_runs && be->ops->lora) {
        be->ops->lora(be->b, c->lora_runs, n_runs, x, in, y, out, c->lora_tmp);
        return;
    }
    for (int32_t g = 0; g < n_runs; g++) {
        const syn_lora_run *run = &c->lora_runs[g];
        be->ops->matmul(be->b, run->a, NULL, x + (size_t)run->row0 * in, run->n_rows, c->lora_tmp, 1.0f, 0);
        be->ops->matmul(be->b, run->b, NULL, c->lora_tmp, run->n_rows, y + (size_t)run->row0 * out, run->scale, 1);
    }
}

static int wants(const syn_batch *bt, int32_t r) { return bt->want_logits ? bt->want_logits[r] != 0 : r == bt->n - 1; }

static int check_batch(const syn_ctx *c, const syn_batch *bt, syn_error *err)
{
    if (bt->n < 1 || bt->n > c->p.max_rows)
        return syn_fail(err, SYN_ERR_RANGE, "batch of %d rows (this context takes 1 to %d)", bt->n, c->p.max_rows);
    if (bt->n_prompt < 0 || bt->n_prompt > bt->n)
        return syn_fail(err, SYN_ERR_INVALID, "%d prompt rows in a batch of %d", bt->n_prompt, bt->n);
    int32_t n_logits = 0;
    for (int32_t r = 0; r < bt->n; r++) {
        if (bt->token[r] < 0 || bt->token[r] >= c->m->cfg.n_vocab)
            return syn_fail(err, SYN_ERR_INVALID, "token id %d is outside the vocabulary (0..%d)", bt->token[r],
                            c->m->cfg.n_vocab - 1);
        if (bt->pos[r] < 0 || bt->pos[r] >= c->p.n_ctx)
            return syn_fail(err, SYN_ERR_RANGE, "position %d is outside the context (%d tokens)", bt->pos[r], c->p.n_ctx);
        if (bt->slot && (bt->slot[r] < 0 || bt->slot[r] >= c->p.n_slots))
            return syn_fail(err, SYN_ERR_INVALID, "KV slot %d does not exist (%d slots)", bt->slot[r], c->p.n_slots);
        if (bt->adapter && (bt->adapter[r] < -1 || bt->adapter[r] >= c->n_adapters))
            return syn_fail(err, SYN_ERR_INVALID, "adapter %d does not exist (%d loaded)", bt->adapter[r], c->n_adapters);
        n_logits += wants(bt, r);
    }
    if (n_logits > c->p.max_logit_rows)
        return syn_fail(err, SYN_ERR_RANGE, "%d rows want logits (this context allows %d)", n_logits, c->p.max_logit_rows);
    return SYN_OK;
}

/* Runs every layer over the batch; the residual stream ends in c->x. */
static void run_layers(syn_ctx *c, const syn_batch *bt)
{
    const syn_model *m = c->m;
    const syn_model_config *cfg = &m->cfg;
    const syn_backend_ops *ops = m->be.ops;
    syn_backend *b = m->be.b;
    int32_t n = bt->n, E = cfg->n_embd, hd = cfg->head_dim;
    syn_rows rows = {.n = n, .pos = bt->pos, .slot = bt->slot ? bt->slot : c->default_slot};

    ops->get_rows(b, &m->tok_embd, bt->token, n, c->x);
    for (int il = 0; il < cfg->n_layer; il++) {
        const syn_layer *L = &m->layers[il];
        ops->rms_norm(b, c->x, &L->attn_norm, n, E, cfg->rms_eps, c->h);
        project(c, bt, il, SYN_PROJ_Q, L->bq.data ? &L->bq : NULL, c->h, c->q, 0);
        project(c, bt, il, SYN_PROJ_K, L->bk.data ? &L->bk : NULL, c->h, c->k, 0);
        project(c, bt, il, SYN_PROJ_V, L->bv.data ? &L->bv : NULL, c->h, c->v, 0);
        if (L->q_norm.data) {
            ops->rms_norm(b, c->q, &L->q_norm, n * cfg->n_head, hd, cfg->rms_eps, c->q);
            ops->rms_norm(b, c->k, &L->k_norm, n * cfg->n_head_kv, hd, cfg->rms_eps, c->k);
        }
        ops->rope(b, c->q, n, cfg->n_head, hd, bt->pos, cfg->rope_base, cfg->rope_neox);
        ops->rope(b, c->k, n, cfg->n_head_kv, hd, bt->pos, cfg->rope_base, cfg->rope_neox);
        syn_attn_params ap = syn_ctx_attn_params(c, il);
        ops->kv_store(b, &ap, c->k, c->v, &rows);
        ops->attention(b, &ap, c->q, &rows, c->att);
        project(c, bt, il, SYN_PROJ_O, NULL, c->att, c->x, 1);

        ops->rms_norm(b, c->x, &L->ffn_norm, n, E, cfg->rms_eps, c->h);
        project(c, bt, il, SYN_PROJ_GATE, NULL, c->h, c->gate, 0);
        project(c, bt, il, SYN_PROJ_UP, NULL, c->h, c->up, 0);
        ops->swiglu(b, c->gate, c->up, (int64_t)n * cfg->n_ff, c->gate);
        project(c, bt, il, SYN_PROJ_DOWN, NULL, c->gate, c->x, 1);
    }
}

/* The final norm of the rows that want output, gathered into c->out_h. */
static int32_t final_norm(syn_ctx *c, const syn_batch *bt)
{
    const syn_model *m = c->m;
    int32_t E = m->cfg.n_embd, n_out = 0;
    for (int32_t r = 0; r < bt->n; r++) {
        if (!wants(bt, r))
            continue;
        m->be.ops->rms_norm(m->be.b, c->x + (size_t)r * E, &m->out_norm, 1, E, m->cfg.rms_eps,
                            c->out_h + (size_t)n_out * E);
        n_out++;
    }
    return n_out;
}

/* One step; `out` receives either the logits or the final hidden rows of
 * the rows that want output. */
static int forward(syn_ctx *c, const syn_batch *bt, int logits, float *out, syn_error *err)
{
    int rc = check_batch(c, bt, err);
    if (rc)
        return rc;
    const syn_model *m = c->m;
    run_layers(c, bt);
    int32_t n_out = final_norm(c, bt);
    if (!n_out)
        return SYN_OK;
    const float *src = c->out_h;
    size_t width = (size_t)m->cfg.n_embd;
    if (logits) {
        m->be.ops->matmul(m->be.b, &m->output, NULL, c->out_h, n_out, c->logits, 1.0f, 0);
        src = c->logits;
        width = (size_t)m->cfg.n_vocab;
    }
    m->be.ops->read(m->be.b, out, src, (size_t)n_out * width * sizeof(float));
    return SYN_OK;
}

int syn_forward(syn_ctx *c, const syn_batch *bt, float *logits, syn_error *err)
{
    return forward(c, bt, 1, logits, err);
}

int syn_forward_hidden(syn_ctx *c, const syn_batch *bt, float *hidden, syn_error *err)
{
    return forward(c, bt, 0, hidden, err);
}
