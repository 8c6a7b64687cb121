/* Inference contexts: activation buffers and the KV cache on the backend
 * (its pages and their table), copies of cached keys and values, and the
 * adapters rows may name. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine/context.h"

static void *balloc(syn_ctx *c, size_t bytes, syn_error *err)
{
    return c->m->be.ops->alloc(c->m->be.b, bytes, err);
}

/* The page geometry a paged backend asks for, and the identity table. */
static int init_pages(syn_ctx *c, syn_error *err)
{
    c->page_len = syn_model_kv_page_len(c->m); /* 0 too for plugins before ABI 1.4 */
    if (!c->page_len)
        return c->p.n_pages ? syn_fail(err, SYN_ERR_UNSUPPORTED,
                                       "n_pages is %d, but the backend's KV cache has no pages", c->p.n_pages)
                            : SYN_OK;
    c->pages_per_slot = (c->p.n_ctx + c->page_len - 1) / c->page_len;
    int64_t need = (int64_t)c->p.n_slots * c->pages_per_slot;
    if (need > INT32_MAX)
        return syn_fail(err, SYN_ERR_RANGE, "%d slots of %d positions need too many KV pages", c->p.n_slots, c->p.n_ctx);
    if (c->p.n_pages && c->p.n_pages < need)
        return syn_fail(err, SYN_ERR_INVALID, "%d KV pages is fewer than the %lld the slots need (%d slots x %d pages)",
                        c->p.n_pages, (long long)need, c->p.n_slots, c->pages_per_slot);
    c->n_pages = c->p.n_pages ? c->p.n_pages : (int32_t)need;
    if (!(c->page_table = malloc(sizeof(int32_t) * (size_t)need)))
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < (int32_t)need; i++)
        c->page_table[i] = i;
    return SYN_OK;
}

int syn_ctx_new(syn_model *m, const syn_ctx_params *p, syn_ctx **out, syn_error *err)
{
    *out = NULL;
    const syn_model_config *cfg = &m->cfg;
    if (p->n_ctx < 1 || p->n_slots < 1 || p->max_rows < 1 || p->max_logit_rows < 1 ||
        p->max_logit_rows > p->max_rows)
        return syn_fail(err, SYN_ERR_INVALID, "context parameters out of range (n_ctx %d, slots %d, rows %d/%d)",
                        p->n_ctx, p->n_slots, p->max_rows, p->max_logit_rows);
    syn_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    c->m = m;
    c->p = *p;
    size_t R = (size_t)p->max_rows, E = (size_t)cfg->n_embd;
    size_t qd = (size_t)cfg->n_head * cfg->head_dim, kvd = (size_t)cfg->n_head_kv * cfg->head_dim;
    int rc = SYN_ERR_NOMEM;
    if (init_pages(c, err))
        goto fail;
    size_t cache_positions = c->page_len ? (size_t)c->n_pages * (size_t)c->page_len : (size_t)p->n_slots * (size_t)p->n_ctx;
    size_t cache_bytes = cache_positions * kvd * sizeof(uint16_t);
    c->k_cache = calloc((size_t)cfg->n_layer, sizeof *c->k_cache);
    c->v_cache = calloc((size_t)cfg->n_layer, sizeof *c->v_cache);
    c->default_slot = calloc(R, sizeof *c->default_slot);
    c->lora_runs = calloc(R, sizeof *c->lora_runs);
    if (!c->k_cache || !c->v_cache || !c->default_slot || !c->lora_runs) {
        syn_fail(err, SYN_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int il = 0; il < cfg->n_layer; il++)
        if (!(c->k_cache[il] = balloc(c, cache_bytes, err)) || !(c->v_cache[il] = balloc(c, cache_bytes, err)))
            goto fail;
    if (!(c->x = balloc(c, R * E * 4, err)) || !(c->h = balloc(c, R * E * 4, err)) ||
        !(c->q = balloc(c, R * qd * 4, err)) || !(c->k = balloc(c, R * kvd * 4, err)) ||
        !(c->v = balloc(c, R * kvd * 4, err)) || !(c->att = balloc(c, R * qd * 4, err)) ||
        !(c->gate = balloc(c, R * (size_t)cfg->n_ff * 4, err)) || !(c->up = balloc(c, R * (size_t)cfg->n_ff * 4, err)) ||
        !(c->out_h = balloc(c, (size_t)p->max_logit_rows * E * 4, err)) ||
        !(c->logits = balloc(c, (size_t)p->max_logit_rows * (size_t)cfg->n_vocab * 4, err)))
        goto fail;
    *out = c;
    return SYN_OK;
fail:
    syn_ctx_free(c);
    return err && err->code ? err->code : rc;
}

void syn_ctx_free(syn_ctx *c)
{
    if (!c)
        return;
    const syn_backend_ref *be = &c->m->be;
    for (int il = 0; il < c->m->cfg.n_layer; il++) {
        if (c->k_cache && c->k_cache[il])
            be->ops->release(be->b, c->k_cache[il]);
        if (c->v_cache && c->v_cache[il])
            be->ops->release(be->b, c->v_cache[il]);
    }
    float *bufs[] = {c->x, c->h, c->q, c->k, c->v, c->att, c->gate, c->up, c->lora_tmp, c->out_h, c->logits};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        if (bufs[i])
            be->ops->release(be->b, bufs[i]);
    free(c->k_cache);
    free(c->v_cache);
    free(c->page_table);
    free(c->default_slot);
    free(c->lora_runs);
    free(c->adapters);
    free(c->adapter_scale);
    free(c);
}

const syn_ctx_params *syn_ctx_get_params(const syn_ctx *c) { return &c->p; }

syn_attn_params syn_ctx_attn_params(const syn_ctx *c, int il)
{
    const syn_model_config *cfg = &c->m->cfg;
    return (syn_attn_params){
        .n_heads = cfg->n_head, .n_kv_heads = cfg->n_head_kv, .head_dim = cfg->head_dim, .n_ctx = c->p.n_ctx,
        .scale = 1.0f / sqrtf((float)cfg->head_dim), .k_cache = c->k_cache[il], .v_cache = c->v_cache[il],
        .page_table = c->page_table, .pages_per_slot = c->pages_per_slot,
    };
}

/* kv_copy of slot src's first n_pos positions to slot dst, in every layer,
 * through ap (a page table: the context's or a scratch one) */
static void copy_layers(syn_ctx *c, syn_attn_params ap, int32_t src, int32_t dst, int32_t n_pos)
{
    for (int il = 0; il < c->m->cfg.n_layer && n_pos > 0; il++) {
        ap.k_cache = c->k_cache[il];
        ap.v_cache = c->v_cache[il];
        c->m->be.ops->kv_copy(c->m->be.b, &ap, src, dst, n_pos);
    }
}

int syn_ctx_kv_copy(syn_ctx *c, int32_t src, int32_t dst, int32_t n_pos, syn_error *err)
{
    if (src < 0 || src >= c->p.n_slots || dst < 0 || dst >= c->p.n_slots || src == dst || n_pos < 0 ||
        n_pos > c->p.n_ctx)
        return syn_fail(err, SYN_ERR_INVALID, "kv copy out of range (slots %d -> %d of %d, %d positions of %d)", src,
                        dst, c->p.n_slots, n_pos, c->p.n_ctx);
    /* NULL too for plugins built before ABI 1.1 (the loader zero-fills) */
    if (!c->m->be.ops->kv_copy)
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "the backend cannot copy KV between slots");
    copy_layers(c, syn_ctx_attn_params(c, 0), src, dst, n_pos);
    return SYN_OK;
}

int32_t syn_ctx_page_len(const syn_ctx *c) { return c->page_len; }
int32_t syn_model_kv_page_len(const syn_model *m) { return m->be.ops->kv_page_len > 0 ? m->be.ops->kv_page_len : 0; }
int32_t syn_ctx_pages_per_slot(const syn_ctx *c) { return c->pages_per_slot; }
int32_t syn_ctx_n_pages(const syn_ctx *c) { return c->n_pages; }

int syn_ctx_map_page(syn_ctx *c, int32_t slot, int32_t index, int32_t page, syn_error *err)
{
    if (!c->page_len)
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "the backend's KV cache has no pages");
    if (slot < 0 || slot >= c->p.n_slots || index < 0 || index >= c->pages_per_slot || page < 0 || page >= c->n_pages)
        return syn_fail(err, SYN_ERR_INVALID, "page map out of range (slot %d of %d, index %d of %d, page %d of %d)",
                        slot, c->p.n_slots, index, c->pages_per_slot, page, c->n_pages);
    c->page_table[(size_t)slot * (size_t)c->pages_per_slot + (size_t)index] = page;
    return SYN_OK;
}

int syn_ctx_copy_page(syn_ctx *c, int32_t src, int32_t dst, int32_t n_pos, syn_error *err)
{
    if (!c->page_len || !c->m->be.ops->kv_copy)
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "the backend's KV cache has no pages");
    if (src < 0 || src >= c->n_pages || dst < 0 || dst >= c->n_pages || src == dst || n_pos < 0 || n_pos > c->page_len)
        return syn_fail(err, SYN_ERR_INVALID, "page copy out of range (pages %d -> %d of %d, %d positions of %d)", src,
                        dst, c->n_pages, n_pos, c->page_len);
    /* two one-page slots, src and dst, in a scratch table */
    int32_t table[2] = {src, dst};
    syn_attn_params ap = syn_ctx_attn_params(c, 0);
    ap.page_table = table;
    ap.pages_per_slot = 1;
    ap.n_ctx = c->page_len;
    copy_layers(c, ap, 0, 1, n_pos);
    return SYN_OK;
}

int syn_ctx_set_adapters(syn_ctx *c, syn_lora *const *adapters, const float *user_scales, int32_t n, syn_error *err)
{
    int32_t max_rank = 0;
    for (int32_t i = 0; i < n; i++) {
        if (adapters[i]->model != c->m)
            return syn_fail(err, SYN_ERR_INVALID, "adapter %d was loaded for another model", i);
        if (adapters[i]->rank > max_rank)
            max_rank = adapters[i]->rank;
    }
    syn_lora **list = n ? malloc(sizeof *list * (size_t)n) : NULL;
    float *scale = n ? malloc(sizeof *scale * (size_t)n) : NULL;
    if (n && (!list || !scale)) {
        free(list);
        free(scale);
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    }
    if (max_rank > c->lora_tmp_cols) {
        const syn_backend_ref *be = &c->m->be;
        float *tmp = be->ops->alloc(be->b, (size_t)c->p.max_rows * (size_t)max_rank * 4, err);
        if (!tmp) {
            free(list);
            free(scale);
            return err->code;
        }
        if (c->lora_tmp)
            be->ops->release(be->b, c->lora_tmp);
        c->lora_tmp = tmp;
        c->lora_tmp_cols = max_rank;
    }
    for (int32_t i = 0; i < n; i++) {
        list[i] = adapters[i];
        scale[i] = user_scales[i] * adapters[i]->scale;
    }
    free(c->adapters);
    free(c->adapter_scale);
    c->adapters = list;
    c->adapter_scale = scale;
    c->n_adapters = n;
    return SYN_OK;
}
