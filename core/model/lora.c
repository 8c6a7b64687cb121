/* LoRA adapters, kept unmerged: the forward pass adds scale * B (A x) next
 * to each base matmul, so many adapters can share one base model. This file
 * loads llama.cpp's GGUF layout and tells it from Hugging Face PEFT's
 * (lora_peft.c). Adapters are immutable after load. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <synapse/safetensors.h>

#include "core/model/model_internal.h"
#include "formats/file_map.h"

/* Far past any trained adapter's alpha (PEFT's are rank-sized: 8 to 512);
 * larger values only overflow the logits. */
#define SYN_LORA_MAX_ALPHA 65536.0f

/* llama.cpp's layout: blk.N.<proj>.weight.lora_a / lora_b, adapter.lora.alpha */
static int load_gguf(syn_lora *l, const char *path, syn_error *err)
{
    const syn_model *m = l->model;
    const syn_model_config *c = &m->cfg;
    int rc = syn_gguf_open(path, &l->gguf, err);
    if (rc)
        return rc;
    syn_gguf_str s;
    if (!syn_gguf_get_str(l->gguf, "general.type", &s) && !(s.len == 7 && !memcmp(s.s, "adapter", 7))) {
        rc = syn_fail(err, SYN_ERR_FORMAT, "%s: general.type is '%.*s', not 'adapter'", path, (int)(s.len > 32 ? 32 : s.len), s.s);
        goto fail;
    }
    if (!syn_gguf_get_str(l->gguf, "general.architecture", &s) &&
        !(s.len == strlen(c->arch_name) && !memcmp(s.s, c->arch_name, s.len))) {
        rc = syn_fail(err, SYN_ERR_INVALID, "%s: adapter is for architecture '%.*s', the model is '%s'", path,
                      (int)(s.len > 32 ? 32 : s.len), s.s, c->arch_name);
        goto fail;
    }
    if (!syn_gguf_get_str(l->gguf, "adapter.type", &s) && !(s.len == 4 && !memcmp(s.s, "lora", 4))) {
        rc = syn_fail(err, SYN_ERR_UNSUPPORTED, "%s: adapter.type is '%.*s'; only 'lora' adapters are supported", path,
                      (int)(s.len > 32 ? 32 : s.len), s.s);
        goto fail;
    }
    if (syn_gguf_get_f32(l->gguf, "adapter.lora.alpha", &l->alpha)) {
        rc = syn_fail(err, SYN_ERR_FORMAT, "%s: adapter.lora.alpha is missing", path);
        goto fail;
    }
    /* 0 means "no alpha" (scale alone), as llama.cpp reads it */
    if (!isfinite(l->alpha) || l->alpha < 0 || l->alpha > SYN_LORA_MAX_ALPHA) {
        rc = syn_fail(err, SYN_ERR_FORMAT, "%s: adapter.lora.alpha is %g; it must be from 0 to %g", path,
                      (double)l->alpha, (double)SYN_LORA_MAX_ALPHA);
        goto fail;
    }
    int64_t n_tensors = syn_gguf_n_tensors(l->gguf);
    unsigned char *used = calloc((size_t)n_tensors + 1, 1);
    if (!used) {
        rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
        goto fail;
    }
    l->pairs = calloc((size_t)c->n_layer * SYN_PROJ_COUNT, sizeof *l->pairs);
    if (!l->pairs) {
        rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
        goto fail_used;
    }
    int found = 0;
    for (int il = 0; il < c->n_layer; il++) {
        for (int p = 0; p < SYN_PROJ_COUNT; p++) {
            const syn_tensor *w = &m->layers[il].proj[p];
            syn_lora_pair *pair = &l->pairs[il * SYN_PROJ_COUNT + p];
            char an[96], bn[96];
            snprintf(an, sizeof an, "blk.%d.%s.weight.lora_a", il, syn_proj_names[p]);
            snprintf(bn, sizeof bn, "blk.%d.%s.weight.lora_b", il, syn_proj_names[p]);
            int64_t ai = syn_gguf_find_tensor(l->gguf, an), bi = syn_gguf_find_tensor(l->gguf, bn);
            if (ai < 0 && bi < 0)
                continue;
            if (ai < 0 || bi < 0) {
                rc = syn_fail(err, SYN_ERR_FORMAT, "%s: %s has no matching %s", path, ai < 0 ? bn : an, ai < 0 ? "lora_a" : "lora_b");
                goto fail_used;
            }
            int64_t rank = syn_gguf_tensor_at(l->gguf, ai)->ne[1];
            if (rank <= 0 || rank > 4096 || (l->rank && rank != l->rank)) {
                rc = syn_fail(err, SYN_ERR_FORMAT, "%s: %s has rank %lld%s", path, an, (long long)rank,
                              l->rank ? ", other matrices differ" : ", out of range");
                goto fail_used;
            }
            l->rank = (int32_t)rank;
            if ((rc = syn_tensor_bind(l->gguf, &m->be, an, w->ne[0], rank, 0, &pair->a, err)) ||
                (rc = syn_tensor_bind(l->gguf, &m->be, bn, rank, w->ne[1], 0, &pair->b, err))) {
                syn_error_prefix(err, path);
                goto fail_used;
            }
            used[ai] = used[bi] = 1;
            found++;
            /* a matrix the backend copied (the CPU backend packs B) is not
             * read from the file again: its pages need not stay resident */
            const syn_gguf_tensor *ga = syn_gguf_tensor_at(l->gguf, ai), *gb = syn_gguf_tensor_at(l->gguf, bi);
            if (pair->a.data != ga->data)
                syn_map_discard(ga->data, ga->size);
            if (pair->b.data != gb->data)
                syn_map_discard(gb->data, gb->size);
        }
    }
    if (!found) {
        rc = syn_fail(err, SYN_ERR_FORMAT, "%s: no LoRA tensors (blk.N.<proj>.weight.lora_a/lora_b) for this model", path);
        goto fail_used;
    }
    /* a tensor for a layer the model lacks or a weight we do not adapt
     * (token_embd, output, norms) would be ignored: refuse it by name */
    for (int64_t i = 0; i < n_tensors; i++)
        if (!used[i]) {
            const syn_gguf_tensor *t = syn_gguf_tensor_at(l->gguf, i);
            rc = syn_fail(err, SYN_ERR_UNSUPPORTED,
                          "%s: tensor '%.96s' adapts nothing in this model (LoRA applies to the "
                          "projections blk.N.<proj>.weight of its %d layers)",
                          path, t->name, c->n_layer);
            goto fail_used;
        }
    free(used);
    /* 0 means "no alpha": the user's scale alone, as llama.cpp reads it */
    l->scale = l->alpha > 0 ? l->alpha / (float)l->rank : 1.0f;
    return SYN_OK;
fail_used:
    free(used);
fail:
    return rc;
}

/* a directory (adapter_config.json + adapter_model.safetensors) or a
 * .safetensors file is PEFT's; anything else is read as GGUF */
static int is_peft(const char *path)
{
    struct stat st;
    if (!stat(path, &st) && S_ISDIR(st.st_mode))
        return 1;
    size_t n = strlen(path), ext = strlen(".safetensors");
    return n > ext && !strcmp(path + n - ext, ".safetensors");
}

int syn_lora_load(const syn_model *m, const char *path, syn_lora **out, syn_error *err)
{
    *out = NULL;
    syn_lora *l = calloc(1, sizeof *l);
    if (!l)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    static uint64_t next_serial;
    l->model = m;
    l->refs = 1;
    l->serial = __atomic_add_fetch(&next_serial, 1, __ATOMIC_RELAXED);
    int rc = is_peft(path) ? syn_lora_load_peft(l, path, err) : load_gguf(l, path, err);
    if (rc) {
        syn_lora_free(l);
        return rc;
    }
    *out = l;
    return SYN_OK;
}

syn_lora *syn_lora_retain(syn_lora *l)
{
    __atomic_add_fetch(&l->refs, 1, __ATOMIC_RELAXED);
    return l;
}

void syn_lora_free(syn_lora *l)
{
    if (!l || __atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    const syn_backend_ref *be = &l->model->be;
    for (int i = 0; l->pairs && i < l->model->cfg.n_layer * SYN_PROJ_COUNT; i++) {
        if (l->pairs[i].a.data)
            be->ops->weight_unload(be->b, &l->pairs[i].a);
        if (l->pairs[i].b.data)
            be->ops->weight_unload(be->b, &l->pairs[i].b);
    }
    for (int i = 0; l->owned && i < l->model->cfg.n_layer * SYN_PROJ_COUNT * 2; i++)
        free(l->owned[i]);
    free(l->owned);
    free(l->pairs);
    syn_gguf_close(l->gguf);
    syn_st_close(l->st);
    free(l);
}

int32_t syn_lora_rank(const syn_lora *l) { return l->rank; }
uint64_t syn_lora_serial(const syn_lora *l) { return l->serial; }
const syn_model *syn_lora_model(const syn_lora *l) { return l->model; }
float syn_lora_alpha(const syn_lora *l) { return l->alpha; }

size_t syn_lora_bytes(const syn_lora *l)
{
    size_t bytes = 0;
    for (int i = 0; l->pairs && i < l->model->cfg.n_layer * SYN_PROJ_COUNT; i++)
        if (l->pairs[i].a.data)
            bytes += l->pairs[i].a.row_bytes * (size_t)l->pairs[i].a.ne[1] +
                     l->pairs[i].b.row_bytes * (size_t)l->pairs[i].b.ne[1];
    return bytes;
}

int syn_lora_shared(const syn_lora *l) { return __atomic_load_n(&l->refs, __ATOMIC_ACQUIRE) > 1; }
