/* LoRA adapters that would load and then do harm are refused at load, each
 * with a message naming what is wrong: alpha that is not a finite number in
 * range (NaN turned every logit into NaN), a tensor that adapts nothing in
 * the model (a layer it lacks, a weight we do not adapt), another adapter
 * type (IA3). A well-formed adapter built the same way loads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <synapse/model.h>
#include <synapse/gguf.h>
#include "tests/check.h"

#define RANK 4

struct variant {
    const char *what;
    float alpha;
    const char *type;       /* adapter.type, NULL: absent */
    const char *extra;      /* one more lora_a/lora_b pair under this weight name, or NULL */
    const char *message;    /* NULL: must load */
};

/* Writes an adapter for blk.0.attn_q of model m (zero weights) to path. */
static int write_adapter(const syn_model *m, const struct variant *v, const char *path)
{
    const syn_gguf *g = syn_model_get_gguf(m);
    const syn_gguf_tensor *q = syn_gguf_tensor_at(g, syn_gguf_find_tensor(g, "blk.0.attn_q.weight"));
    syn_error err = {0};
    syn_gguf_writer *w = syn_gguf_writer_new();
    int64_t na[2] = {q->ne[0], RANK}, nb[2] = {RANK, q->ne[1]};
    float *zeros = calloc((size_t)(q->ne[0] > q->ne[1] ? q->ne[0] : q->ne[1]) * RANK, sizeof *zeros);
    int rc = !w || !zeros || syn_gguf_set_str(w, "general.type", "adapter") ||
             syn_gguf_set_str(w, "general.architecture", syn_model_get_config(m)->arch_name) ||
             syn_gguf_set_f32(w, "adapter.lora.alpha", v->alpha) ||
             (v->type && syn_gguf_set_str(w, "adapter.type", v->type)) ||
             syn_gguf_add_tensor(w, "blk.0.attn_q.weight.lora_a", SYN_TYPE_F32, 2, na, zeros, &err) ||
             syn_gguf_add_tensor(w, "blk.0.attn_q.weight.lora_b", SYN_TYPE_F32, 2, nb, zeros, &err);
    if (!rc && v->extra) {
        char an[96], bn[96];
        snprintf(an, sizeof an, "%s.lora_a", v->extra);
        snprintf(bn, sizeof bn, "%s.lora_b", v->extra);
        rc = syn_gguf_add_tensor(w, an, SYN_TYPE_F32, 2, na, zeros, &err) ||
             syn_gguf_add_tensor(w, bn, SYN_TYPE_F32, 2, nb, zeros, &err);
    }
    rc = rc || syn_gguf_write_file(w, path, &err);
    CHECK_MSG(!rc, "%s: cannot write the adapter: %s", v->what, err.msg);
    syn_gguf_writer_free(w);
    free(zeros);
    return rc;
}

int main(void)
{
    static const struct variant variants[] = {
        {"well formed", 16.0f, "lora", NULL, NULL},
        {"alpha 0 (scale alone)", 0.0f, NULL, NULL, NULL},
        {"alpha NaN", NAN, "lora", NULL, "adapter.lora.alpha is nan"},
        {"alpha -1e30", -1e30f, "lora", NULL, "adapter.lora.alpha is -1e+30"},
        {"alpha inf", INFINITY, "lora", NULL, "adapter.lora.alpha is inf"},
        {"ia3", 16.0f, "ia3", NULL, "adapter.type is 'ia3'; only 'lora'"},
        {"missing layer", 16.0f, "lora", "blk.99.attn_q.weight", "tensor 'blk.99.attn_q.weight.lora_a' adapts nothing"},
        {"unknown target", 16.0f, "lora", "blk.0.attn_norm.weight",
         "tensor 'blk.0.attn_norm.weight.lora_a' adapts nothing"},
        {"output head", 16.0f, "lora", "output.weight", "tensor 'output.weight.lora_a' adapts nothing"},
    };
    syn_backend_ref be;
    syn_error err = {0};
    if (syn_backend_open("cpu", 1, &be, &err)) {
        CHECK_MSG(0, "cannot open the cpu backend: %s", err.msg);
        return CHECK_DONE();
    }
    syn_model *m = NULL;
    if (syn_model_load(testdata("models/qwen2-f16.gguf"), &be, &m, &err)) {
        CHECK_MSG(0, "qwen2-f16: %s", err.msg);
        syn_backend_close(&be);
        return CHECK_DONE();
    }
    char path[] = "/tmp/synapse-test-lora-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++) {
        const struct variant *v = &variants[i];
        if (write_adapter(m, v, path))
            continue;
        syn_lora *l = NULL;
        memset(&err, 0, sizeof err);
        int rc = syn_lora_load(m, path, &l, &err);
        if (!v->message)
            CHECK_MSG(rc == SYN_OK && l, "%s: refused: %s", v->what, err.msg);
        else
            CHECK_MSG(rc != SYN_OK && !l && strstr(err.msg, v->message), "%s: rc %d, message '%s'", v->what, rc,
                      err.msg);
        syn_lora_free(l);
    }
    unlink(path);
    syn_model_free(m);
    syn_backend_close(&be);
    return CHECK_DONE();
}
