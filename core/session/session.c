/* The session opener (see <synapse/session.h>). */
#include <stdlib.h>
#include <string.h>

#include <synapse/session.h>

/* The model's own Jinja chat template, malloc'ed; NULL when it has none. */
static char *model_template(const syn_model *m)
{
    syn_gguf_str t;
    char *jinja = NULL;
    if (!syn_gguf_get_str(syn_model_get_gguf(m), "tokenizer.chat_template", &t) && (jinja = malloc(t.len + 1))) {
        memcpy(jinja, t.s, t.len);
        jinja[t.len] = 0;
    }
    return jinja;
}

int syn_session_open(const syn_session_params *p, syn_session *out, syn_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = syn_backend_open(p->backend, p->n_threads, &out->be, err);
    if (rc)
        return rc;
    if ((rc = syn_model_load(p->model_path, &out->be, &out->model, err)) ||
        (rc = syn_tokenizer_load(syn_model_get_gguf(out->model), &out->tok, err))) {
        syn_session_close(out);
        return rc;
    }
    char *jinja = model_template(out->model);
    syn_error terr = {0};
    out->has_chat = syn_chat_template_detect(jinja, p->chat_template, &out->chat, &terr) == 0;
    if (!out->has_chat)
        snprintf(out->chat_error, sizeof out->chat_error, "%s", terr.msg);
    free(jinja);
    return 0;
}

void syn_session_close(syn_session *s)
{
    syn_tokenizer_free(s->tok);
    syn_model_free(s->model);
    syn_backend_close(&s->be);
    memset(s, 0, sizeof *s);
}
