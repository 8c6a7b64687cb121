/* POST /v1/embeddings: each input's hidden states, mean-pooled and
 * L2-normalised, computed by the scheduler thread between batch steps.
 * Runs on civetweb's handler threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/server/internal.h"

int syn_route_embeddings(struct mg_connection *c, syn_server *s, const char *body, size_t len)
{
    syn_http_error e = {0};
    json_object *root = NULL;
    syn_embed_request r;
    memset(&r, 0, sizeof r);
    syn_job *j = NULL;
    int32_t *tokens = NULL, *input_len = NULL, n_tokens = 0, n_inputs = 0;
    int status;
    syn_specialist *sp = NULL;
    const syn_base *base = &s->main;
    if (syn_request_parse_json(body, len, &root, &e) || syn_request_parse_embed(root, &r, &e) ||
        syn_server_resolve_model(s, r.model, &sp, &base, &e)) {
        status = syn_send_error(c, s, &e);
        goto done;
    }
    if (!(input_len = calloc(r.n_inputs, sizeof *input_len))) {
        status = syn_send_error_msg(c, s, 500, "server_error", NULL, "out of memory");
        goto done;
    }
    int32_t nv = syn_tokenizer_n_vocab(base->tok), model_dims = syn_model_get_config(base->model)->n_embd;
    if (r.dimensions > model_dims) {
        syn_http_fail(&e, 400, "invalid_request_error", NULL, "dimensions",
                      "'dimensions' must be at most %d for this model, got %d", model_dims, r.dimensions);
        status = syn_send_error(c, s, &e);
        goto done;
    }
    for (size_t i = 0; i < r.n_inputs; i++) {
        int32_t *ids = r.ids[i];
        size_t n = r.n_ids[i];
        syn_error err = {0};
        if (r.texts[i] && syn_tokenize(base->tok, r.texts[i], strlen(r.texts[i]), 0, 1, &ids, &n, &err)) {
            syn_http_fail(&e, 400, "invalid_request_error", NULL, "input", "cannot tokenize input %zu: %s", i, err.msg);
            status = syn_send_error(c, s, &e);
            goto done;
        }
        int bad_id = 0;
        for (size_t k = 0; k < n; k++)
            bad_id |= ids[k] >= nv;
        int32_t *grown = NULL;
        if (!bad_id && n && (int64_t)n <= s->cfg.ctx_size)
            grown = realloc(tokens, sizeof(int32_t) * ((size_t)n_tokens + n));
        if (grown) {
            tokens = grown;
            memcpy(tokens + n_tokens, ids, n * sizeof *ids);
            n_tokens += (int32_t)n;
            input_len[n_inputs++] = (int32_t)n;
        }
        if (r.texts[i])
            free(ids);
        if (!grown) {
            if (bad_id)
                syn_http_fail(&e, 400, "invalid_request_error", NULL, "input", "input %zu has a token id outside the vocabulary", i);
            else if (!n || (int64_t)n > s->cfg.ctx_size)
                syn_http_fail(&e, 400, "invalid_request_error", "context_length_exceeded", "input",
                              "input %zu has %zu tokens; it must have 1 to %d", i, n, s->cfg.ctx_size);
            else
                syn_http_fail(&e, 500, "server_error", NULL, NULL, "out of memory");
            status = syn_send_error(c, s, &e);
            goto done;
        }
    }
    syn_error err = {0};
    if (syn_job_embed(tokens, input_len, n_inputs, &j, &err)) {
        status = syn_send_error_msg(c, s, 500, "server_error", NULL, "%s", err.msg);
        goto done;
    }
    if (syn_server_job_adapter(s, j, sp, &e)) {
        status = syn_send_error(c, s, &e);
        goto done;
    }
    int rc = syn_sched_submit(base->sched, j, &err);
    if (rc) {
        status = rc == SYN_ERR_RANGE ? syn_send_error_msg(c, s, 429, "rate_limit_error", "queue_full", "%s", err.msg)
                                     : syn_send_error_msg(c, s, 503, "server_error", NULL, "%s", err.msg);
        goto done;
    }
    int w = syn_wait_watching(c, j);
    if (w < 0) {
        status = 499; /* the client left; the job is cancelled */
        goto done;
    }
    if (w != SYN_JOB_DONE) {
        status = syn_send_job_error(c, s, j);
        goto done;
    }
    int32_t n_out, n_embd;
    const float *embd = syn_job_embeddings(j, &n_out, &n_embd);
    int32_t dims = r.dimensions && r.dimensions < n_embd ? r.dimensions : n_embd;
    float *cut = malloc(sizeof(float) * (size_t)dims);
    if (!cut) {
        status = syn_send_error_msg(c, s, 500, "server_error", NULL, "out of memory");
        goto done;
    }
    json_object *o = json_object_new_object(), *data = json_object_new_array();
    for (int32_t i = 0; i < n_out; i++) {
        json_object *d = json_object_new_object();
        const float *v = embd + (size_t)i * (size_t)n_embd;
        if (dims < n_embd) { /* as OpenAI does: the first dims, at unit length again */
            double sq = 0;
            for (int32_t k = 0; k < dims; k++)
                sq += (double)v[k] * v[k];
            float inv = sq > 0 ? (float)(1.0 / sqrt(sq)) : 0.0f;
            for (int32_t k = 0; k < dims; k++)
                cut[k] = v[k] * inv;
            v = cut;
        }
        json_object_object_add(d, "object", json_object_new_string("embedding"));
        json_object_object_add(d, "index", json_object_new_int(i));
        if (r.base64) {
            char *b = syn_base64(v, sizeof(float) * (size_t)dims);
            json_object_object_add(d, "embedding", json_object_new_string(b ? b : ""));
            free(b);
        } else {
            json_object *a = json_object_new_array_ext(dims);
            for (int32_t k = 0; k < dims; k++)
                json_object_array_add(a, json_object_new_double(v[k]));
            json_object_object_add(d, "embedding", a);
        }
        json_object_array_add(data, d);
    }
    free(cut);
    json_object_object_add(o, "object", json_object_new_string("list"));
    json_object_object_add(o, "data", data);
    json_object_object_add(o, "model", json_object_new_string(r.model));
    json_object *u = json_object_new_object();
    json_object_object_add(u, "prompt_tokens", json_object_new_int(n_tokens));
    json_object_object_add(u, "total_tokens", json_object_new_int(n_tokens));
    json_object_object_add(o, "usage", u);
    status = syn_send_json_obj(c, s, 200, o);
done:
    syn_specialist_release(sp);
    syn_job_release(j);
    free(tokens);
    free(input_len);
    syn_embed_request_free(&r);
    json_object_put(root);
    return status;
}
