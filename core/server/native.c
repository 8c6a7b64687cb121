/* llama.cpp's own routes that editors and its tools call: POST /tokenize
 * ({"content", "add_special", "parse_special", "with_pieces"} ->
 * {"tokens"}), POST /detokenize ({"tokens"} -> {"content"}) and GET
 * /props (what the server runs: the model, its template, the slots, the
 * default sampling). On the server's own model; fields are checked as on
 * every route. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/server/internal.h"

static int bad(struct mg_connection *c, syn_server *s, const char *param, const char *msg)
{
    syn_http_error e = {0};
    syn_http_fail(&e, 400, "invalid_request_error", NULL, param, "%s", msg);
    return syn_send_error(c, s, &e);
}

static int flag(json_object *root, const char *key, int def, int *out)
{
    json_object *v;
    *out = def;
    if (!json_object_object_get_ex(root, key, &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_boolean))
        return -1;
    *out = json_object_get_boolean(v);
    return 0;
}

static int tokenize(struct mg_connection *c, syn_server *s, json_object *root)
{
    json_object *content = NULL;
    int add_special, parse_special, pieces;
    json_object_object_foreach(root, key, v)
    {
        (void)v;
        if (strcmp(key, "content") && strcmp(key, "add_special") && strcmp(key, "parse_special") &&
            strcmp(key, "with_pieces")) {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown field '%.64s'", key);
            return bad(c, s, key, msg);
        }
    }
    if (!json_object_object_get_ex(root, "content", &content) || !json_object_is_type(content, json_type_string))
        return bad(c, s, "content", "'content' must be a string");
    if (flag(root, "add_special", 0, &add_special) || flag(root, "parse_special", 1, &parse_special) ||
        flag(root, "with_pieces", 0, &pieces))
        return bad(c, s, NULL, "'add_special', 'parse_special' and 'with_pieces' must be true or false");
    int32_t *ids;
    size_t n;
    syn_error err = {0};
    const syn_tokenizer *tok = s->main.tok;
    if (syn_tokenize(tok, json_object_get_string(content), (size_t)json_object_get_string_len(content), parse_special,
                     add_special, &ids, &n, &err))
        return syn_send_error_msg(c, s, 500, "server_error", NULL, "%s", err.msg);
    json_object *list = json_object_new_array_ext((int)n);
    for (size_t i = 0; i < n; i++) {
        if (!pieces) {
            json_object_array_add(list, json_object_new_int(ids[i]));
            continue;
        }
        size_t len;
        const char *p = syn_tokenizer_piece(tok, ids[i], 1, &len);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int(ids[i]));
        json_object_object_add(o, "piece", syn_json_string_utf8(p ? p : "", len));
        json_object_array_add(list, o);
    }
    free(ids);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "tokens", list);
    return syn_send_json_obj(c, s, 200, o);
}

static int detokenize(struct mg_connection *c, syn_server *s, json_object *root)
{
    json_object *tokens = NULL;
    json_object_object_foreach(root, key, v)
    {
        (void)v;
        if (strcmp(key, "tokens")) {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown field '%.64s'", key);
            return bad(c, s, key, msg);
        }
    }
    if (!json_object_object_get_ex(root, "tokens", &tokens) || !json_object_is_type(tokens, json_type_array))
        return bad(c, s, "tokens", "'tokens' must be an array of token ids");
    size_t n = json_object_array_length(tokens);
    int32_t nv = syn_tokenizer_n_vocab(s->main.tok);
    int32_t *ids = malloc(sizeof *ids * (n ? n : 1));
    if (!ids)
        return syn_send_error_msg(c, s, 500, "server_error", NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_object *t = json_object_array_get_idx(tokens, i);
        int64_t id = json_object_is_type(t, json_type_int) ? json_object_get_int64(t) : -1;
        if (id < 0 || id >= nv) {
            free(ids);
            char msg[96];
            snprintf(msg, sizeof msg, "'tokens' must hold ids from 0 to %d", (int)nv - 1);
            return bad(c, s, "tokens", msg);
        }
        ids[i] = (int32_t)id;
    }
    char *text;
    size_t len;
    syn_error err = {0};
    int rc = syn_detokenize(s->main.tok, ids, n, 0, 1, &text, &len, &err); /* the space SPM put first goes */
    free(ids);
    if (rc)
        return syn_send_error_msg(c, s, 500, "server_error", NULL, "%s", err.msg);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "content", syn_json_string_utf8(text, len));
    free(text);
    return syn_send_json_obj(c, s, 200, o);
}

static int props(struct mg_connection *c, syn_server *s)
{
    json_object *o = json_object_new_object(), *gen = json_object_new_object();
    syn_sampler_params sp = syn_sampler_params_default();
    /* what a request that says nothing gets (OpenAI's defaults, request.c) */
    json_object_object_add(gen, "temperature", json_object_new_double(1.0));
    json_object_object_add(gen, "top_p", json_object_new_double(1.0));
    json_object_object_add(gen, "top_k", json_object_new_int(0));
    json_object_object_add(gen, "min_p", json_object_new_double(0.0));
    json_object_object_add(gen, "repeat_last_n", json_object_new_int(sp.repeat_last_n));
    json_object_object_add(gen, "n_ctx", json_object_new_int(s->cfg.ctx_size));
    json_object_object_add(gen, "max_tokens", json_object_new_int(s->cfg.max_tokens));
    json_object_object_add(o, "default_generation_settings", gen);
    json_object_object_add(o, "total_slots", json_object_new_int(s->cfg.parallel));
    json_object_object_add(o, "model_path", json_object_new_string(s->main.path ? s->main.path : ""));
    json_object_object_add(o, "model_alias", json_object_new_string(s->main.name));
    json_object_object_add(o, "chat_template", json_object_new_string(syn_chat_template_name(s->main.tmpl)));
    json_object_object_add(o, "build_info", json_object_new_string("synapse " PACKAGE_VERSION));
    return syn_send_json_obj(c, s, 200, o);
}

int syn_route_native(struct mg_connection *c, syn_server *s, const char *body, size_t len)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    if (!strcmp(ri->local_uri, "/props"))
        return props(c, s);
    syn_http_error e = {0};
    json_object *root = NULL;
    if (syn_request_parse_json(body, len, &root, &e))
        return syn_send_error(c, s, &e);
    int status = !strcmp(ri->local_uri, "/tokenize") ? tokenize(c, s, root) : detokenize(c, s, root);
    json_object_put(root);
    return status;
}
