/* A model whose tokenizer does not fit its embedding is refused at load,
 * naming both sizes (it used to load, report healthy and fail every request
 * with "out of memory"). The file is the tiny chat model copied key by key
 * and tensor by tensor, its token list one short. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <synapse/model.h>
#include <synapse/gguf.h>
#include "tests/check.h"

static char *dup_str(syn_gguf_str s)
{
    char *p = malloc(s.len + 1);
    if (p) {
        memcpy(p, s.s, s.len);
        p[s.len] = 0;
    }
    return p;
}

/* Copies array key idx, leaving out its last `drop` elements (strings only). */
static int copy_array(syn_gguf_writer *w, const syn_gguf *g, int64_t idx, const char *key, uint64_t drop)
{
    int et;
    uint64_t n;
    const void *data;
    if (syn_gguf_arr_at(g, idx, &et, &n, &data))
        return -1;
    if (et != SYN_GGUF_STRING)
        return syn_gguf_set_arr(w, key, et, data, n);
    n -= drop < n ? drop : n;
    char **v = calloc(n + 1, sizeof *v);
    int rc = v ? 0 : -1;
    for (uint64_t i = 0; !rc && i < n; i++) {
        syn_gguf_str s;
        rc = syn_gguf_arr_str_at(g, idx, i, &s) || !(v[i] = dup_str(s));
    }
    rc = rc || syn_gguf_set_arr_str(w, key, (const char *const *)v, n);
    for (uint64_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
    return rc;
}

static int copy_short_vocab(const char *from, const char *to)
{
    syn_gguf *g;
    syn_error err = {0};
    if (syn_gguf_open(from, &g, &err))
        return -1;
    syn_gguf_writer *w = syn_gguf_writer_new();
    int rc = w ? 0 : -1;
    for (int64_t i = 0; !rc && i < syn_gguf_n_kv(g); i++) {
        const char *key = syn_gguf_key_name(g, i);
        int t = syn_gguf_key_type(g, i);
        if (t == SYN_GGUF_ARRAY)
            rc = copy_array(w, g, i, key, !strcmp(key, "tokenizer.ggml.tokens"));
        else if (t == SYN_GGUF_STRING) {
            syn_gguf_str s;
            char *v = NULL;
            rc = syn_gguf_get_str(g, key, &s) || !(v = dup_str(s)) || syn_gguf_set_str(w, key, v);
            free(v);
        } else
            rc = syn_gguf_set_scalar(w, key, t, syn_gguf_key_data(g, i));
    }
    for (int64_t i = 0; !rc && i < syn_gguf_n_tensors(g); i++) {
        const syn_gguf_tensor *t = syn_gguf_tensor_at(g, i);
        rc = syn_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, &err);
    }
    rc = rc || syn_gguf_write_file(w, to, &err);
    syn_gguf_writer_free(w);
    syn_gguf_close(g);
    return rc;
}

int main(void)
{
    syn_backend_ref be;
    syn_error err = {0};
    if (syn_backend_open("cpu", 1, &be, &err)) {
        CHECK_MSG(0, "cannot open the cpu backend: %s", err.msg);
        return CHECK_DONE();
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/synapse-test-model-%d.gguf", (int)getpid());
    CHECK(copy_short_vocab(testdata("models/qwen2-chat-Q8_0.gguf"), path) == 0);
    syn_model *m = NULL;
    int rc = syn_model_load(path, &be, &m, &err);
    CHECK_MSG(rc != SYN_OK && !m && strstr(err.msg, "tokens but token_embd.weight has") && strstr(err.msg, "must match"),
              "rc %d: %s", rc, err.msg);
    syn_model_free(m);
    unlink(path);
    /* the original loads */
    CHECK_MSG(syn_model_load(testdata("models/qwen2-chat-Q8_0.gguf"), &be, &m, &err) == SYN_OK, "%s", err.msg);
    syn_model_free(m);
    syn_backend_close(&be);
    return CHECK_DONE();
}
