/* Opening a model to serve it: a backend, the weights, the tokenizer and the
 * chat template, in one call, the same for the server and the CLI. */
#ifndef SYNAPSE_SESSION_H
#define SYNAPSE_SESSION_H

#include <synapse/chat.h>
#include <synapse/common.h>
#include <synapse/model.h>
#include <synapse/tokenizer.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct syn_session_params {
    const char *model_path;
    const char *backend;       /* plugin name; NULL: the best one found */
    int n_threads;             /* <= 0: one per core */
    const char *chat_template; /* "chatml" or "llama3" wins; NULL: the model's */
} syn_session_params;

typedef struct syn_session {
    syn_backend_ref be;
    syn_model *model;
    syn_tokenizer *tok;
    int has_chat;             /* chat is usable; otherwise chat_error says why */
    syn_chat_template chat;
    char chat_error[512];
} syn_session;

/* A model whose chat template is unknown still opens (has_chat 0): it can
 * complete text, and the caller decides what chat does. */
SYN_API int syn_session_open(const syn_session_params *p, syn_session *out, syn_error *err);
SYN_API void syn_session_close(syn_session *s);

#ifdef __cplusplus
}
#endif
#endif
