/* Ollama's model routes: GET /api/version, /api/tags, /api/ps and POST
 * /api/show. The base model is "synapse" (and its own name), each
 * specialist "synapse/<name>", as on /v1/models; Ollama's ":latest" tag is
 * accepted on any of them. Facts come from the GGUF itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "core/server/dialect.h"
#include "core/server/ollama.h"

/* The Ollama API version this one follows (clients compare it to decide
 * what they may call; /api/status has Synapse's own). */
#define OLLAMA_API_VERSION "0.12.0"

void syn_ollama_time(time_t t, long nsec, char *out, size_t n)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, n - k, ".%09ldZ", nsec);
}

void syn_ollama_now(char *out, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    syn_ollama_time(ts.tv_sec, ts.tv_nsec, out, n);
}

int syn_ollama_send_error(struct mg_connection *c, const syn_server *s, int status, const char *msg)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(msg));
    const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    int rc = syn_send_raw(c, s, status, "application/json", t, strlen(t), "");
    json_object_put(o);
    return rc;
}

int syn_ollama_model_name(const char *asked, char *out, size_t n)
{
    size_t len = strlen(asked);
    if (len > 7 && !strcmp(asked + len - 7, ":latest"))
        len -= 7;
    if (len >= n)
        return -1;
    memcpy(out, asked, len);
    out[len] = 0;
    return 0;
}

/* llama.cpp's file types, as Ollama names a model's quantization */
static const char *quantization(const syn_base *b)
{
    static const char *const names[] = {[0] = "F32",     [1] = "F16",     [2] = "Q4_0",    [3] = "Q4_1",
                                        [7] = "Q8_0",    [8] = "Q5_0",    [9] = "Q5_1",    [10] = "Q2_K",
                                        [11] = "Q3_K_S", [12] = "Q3_K_M", [13] = "Q3_K_L", [14] = "Q4_K_S",
                                        [15] = "Q4_K_M", [16] = "Q5_K_S", [17] = "Q5_K_M", [18] = "Q6_K",
                                        [32] = "BF16"};
    uint32_t t;
    if (syn_gguf_get_u32(syn_model_get_gguf(b->model), "general.file_type", &t) || t >= sizeof names / sizeof *names ||
        !names[t])
        return "unknown";
    return names[t];
}

static uint64_t parameter_count(const syn_base *b)
{
    const syn_gguf *g = syn_model_get_gguf(b->model);
    uint64_t total = 0;
    for (int64_t i = 0; i < syn_gguf_n_tensors(g); i++) {
        const syn_gguf_tensor *t = syn_gguf_tensor_at(g, i);
        uint64_t n = 1;
        for (int32_t d = 0; d < t->n_dims; d++)
            n *= (uint64_t)t->ne[d];
        total += n;
    }
    return total;
}

static json_object *details_json(const syn_base *b)
{
    const syn_model_config *mc = syn_model_get_config(b->model);
    json_object *d = json_object_new_object(), *fam = json_object_new_array();
    uint64_t p = parameter_count(b);
    char size[32];
    if (p >= 1000000000ull)
        snprintf(size, sizeof size, "%.1fB", (double)p / 1e9);
    else if (p >= 1000000ull)
        snprintf(size, sizeof size, "%.0fM", (double)p / 1e6);
    else
        snprintf(size, sizeof size, "%.0fK", (double)p / 1e3);
    json_object_object_add(d, "parent_model", json_object_new_string(""));
    json_object_object_add(d, "format", json_object_new_string("gguf"));
    json_object_object_add(d, "family", json_object_new_string(mc->arch_name));
    json_object_array_add(fam, json_object_new_string(mc->arch_name));
    json_object_object_add(d, "families", fam);
    json_object_object_add(d, "parameter_size", json_object_new_string(size));
    json_object_object_add(d, "quantization_level", json_object_new_string(quantization(b)));
    return d;
}

/* One model as /api/tags and /api/ps list it. */
static json_object *model_entry(const syn_base *b, const char *name, int loaded)
{
    json_object *m = json_object_new_object();
    struct stat st;
    int known = b->path && !stat(b->path, &st);
    char when[64];
    syn_ollama_time(known ? st.st_mtime : 0, 0, when, sizeof when);
    json_object_object_add(m, "name", json_object_new_string(name));
    json_object_object_add(m, "model", json_object_new_string(name));
    if (!loaded)
        json_object_object_add(m, "modified_at", json_object_new_string(when));
    json_object_object_add(m, "size", json_object_new_int64(known ? (int64_t)st.st_size : 0));
    json_object_object_add(m, "details", details_json(b));
    if (loaded) {
        /* loaded for as long as the server runs */
        json_object_object_add(m, "expires_at", json_object_new_string("9999-12-31T23:59:59Z"));
        int gpu = b->sess.be.plugin_name && !strcmp(b->sess.be.plugin_name, "cuda");
        json_object_object_add(m, "size_vram", json_object_new_int64(gpu && known ? (int64_t)st.st_size : 0));
    }
    return m;
}

/* Every model, as /api/tags (loaded 0) or /api/ps (1) lists them. */
static int list_models(struct mg_connection *c, syn_server *s, int loaded)
{
    syn_specialist **l = NULL;
    int n = 0;
    syn_error err = {0};
    if (s->swarm && syn_swarm_list(s->swarm, &l, &n, &err))
        return syn_ollama_send_error(c, s, 500, err.msg);
    json_object *o = json_object_new_object(), *models = json_object_new_array();
    if (s->main.model) {
        json_object_array_add(models, model_entry(&s->main, "synapse", loaded));
        json_object_array_add(models, model_entry(&s->main, s->main.name, loaded));
    }
    pthread_mutex_lock(&s->bases_mu);
    for (int i = 0; i < s->n_bases; i++)
        json_object_array_add(models, model_entry(s->bases[i], s->bases[i]->name, loaded));
    pthread_mutex_unlock(&s->bases_mu);
    for (int i = 0; i < n; i++) {
        char id[SYN_SPECIALIST_MAX_NAME + 16];
        snprintf(id, sizeof id, "synapse/%s", l[i]->def.name);
        json_object_array_add(models, model_entry(syn_server_base_of(s, l[i]), id, loaded));
    }
    syn_swarm_list_free(l, n);
    json_object_object_add(o, "models", models);
    return syn_send_json_obj(c, s, 200, o);
}

/* What the model can do, in Ollama's words. */
static json_object *capabilities(const syn_base *b, const syn_specialist *sp)
{
    json_object *a = json_object_new_array();
    json_object_array_add(a, json_object_new_string("completion"));
    if (!(sp && sp->code)) /* a specialist in code answers in text only */
        json_object_array_add(a, json_object_new_string("tools"));
    if (b->tmpl.thinks)
        json_object_array_add(a, json_object_new_string("thinking"));
    return a;
}

static int show(struct mg_connection *c, syn_server *s, const char *body, size_t len)
{
    syn_http_error e = {0};
    json_object *root = NULL;
    if (syn_request_parse_json(body, len, &root, &e))
        return syn_ollama_send_error(c, s, 400, e.message);
    json_object *m = json_object_object_get(root, "model");
    if (!m)
        m = json_object_object_get(root, "name"); /* older clients */
    json_object_object_foreach(root, key, v)
    {
        (void)v;
        if (strcmp(key, "model") && strcmp(key, "name") && strcmp(key, "verbose")) {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown field '%.64s'", key);
            json_object_put(root);
            return syn_ollama_send_error(c, s, 400, msg);
        }
    }
    char name[256];
    if (!json_object_is_type(m, json_type_string) || syn_ollama_model_name(json_object_get_string(m), name, sizeof name)) {
        json_object_put(root);
        return syn_ollama_send_error(c, s, 400, "'model' must be a model's name");
    }
    syn_specialist *sp;
    const syn_base *b;
    int status;
    if (syn_server_resolve_model(s, name, &sp, &b, &e)) {
        status = syn_ollama_send_error(c, s, 404, e.message);
        json_object_put(root);
        return status;
    }
    const syn_model_config *mc = syn_model_get_config(b->model);
    json_object *o = json_object_new_object(), *info = json_object_new_object();
    char k[64];
    json_object_object_add(info, "general.architecture", json_object_new_string(mc->arch_name));
    json_object_object_add(info, "general.name", json_object_new_string(mc->name));
    json_object_object_add(info, "general.parameter_count", json_object_new_int64((int64_t)parameter_count(b)));
    snprintf(k, sizeof k, "%s.context_length", mc->arch_name);
    json_object_object_add(info, k, json_object_new_int(mc->n_ctx_train));
    snprintf(k, sizeof k, "%s.embedding_length", mc->arch_name);
    json_object_object_add(info, k, json_object_new_int(mc->n_embd));
    snprintf(k, sizeof k, "%s.block_count", mc->arch_name);
    json_object_object_add(info, k, json_object_new_int(mc->n_layer));
    snprintf(k, sizeof k, "%s.attention.head_count", mc->arch_name);
    json_object_object_add(info, k, json_object_new_int(mc->n_head));
    snprintf(k, sizeof k, "%s.attention.head_count_kv", mc->arch_name);
    json_object_object_add(info, k, json_object_new_int(mc->n_head_kv));
    json_object_object_add(o, "modelfile", json_object_new_string(""));
    char params[64];
    snprintf(params, sizeof params, "num_ctx %d", s->cfg.ctx_size);
    json_object_object_add(o, "parameters", json_object_new_string(params));
    syn_gguf_str tmpl = {0};
    json_object_object_add(o, "template",
                           syn_gguf_get_str(syn_model_get_gguf(b->model), "tokenizer.chat_template", &tmpl)
                               ? json_object_new_string(syn_chat_template_name(b->tmpl))
                               : json_object_new_string_len(tmpl.s, (int)tmpl.len));
    if (sp && sp->def.system_prompt)
        json_object_object_add(o, "system", json_object_new_string(sp->def.system_prompt));
    json_object_object_add(o, "details", details_json(b));
    json_object_object_add(o, "model_info", info);
    json_object_object_add(o, "capabilities", capabilities(b, sp));
    struct stat st;
    char when[64];
    syn_ollama_time(b->path && !stat(b->path, &st) ? st.st_mtime : 0, 0, when, sizeof when);
    json_object_object_add(o, "modified_at", json_object_new_string(when));
    syn_specialist_release(sp);
    json_object_put(root);
    return syn_send_json_obj(c, s, 200, o);
}

int syn_ollama_models(struct mg_connection *c, syn_server *s, const char *uri, const char *body, size_t len)
{
    if (!strcmp(uri, "/api/version")) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "version", json_object_new_string(OLLAMA_API_VERSION));
        return syn_send_json_obj(c, s, 200, o);
    }
    if (!s->main.model) /* nothing to list or show: as Ollama with no models */
        return !strcmp(uri, "/api/show") ? syn_ollama_send_error(c, s, 404, "no model is loaded")
                                         : syn_send_json(c, s, 200, "{\"models\":[]}");
    if (!strcmp(uri, "/api/tags"))
        return list_models(c, s, 0);
    if (!strcmp(uri, "/api/ps"))
        return list_models(c, s, 1);
    return show(c, s, body, len);
}
