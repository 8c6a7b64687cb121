/* Shared by the commands that run a model (logits, bench, run): open a backend,
 * load the model and an optional adapter, make a context. Main thread only. */
#ifndef SYN_CORE_CLI_MODEL_H
#define SYN_CORE_CLI_MODEL_H

#include <synapse/session.h>

typedef struct syn_cli_model {
    syn_session sess;
    syn_model *model; /* sess.model */
    syn_lora *lora;
    syn_ctx *ctx;
} syn_cli_model;

/* Prints "synapse: CMD: reason" and returns 1 on failure, 0 on success.
 * chat_template and lora may be NULL. */
int syn_cli_model_open(const char *cmd, const char *path, int threads, const char *chat_template, const char *lora,
                       float lora_scale, const syn_ctx_params *cp, syn_cli_model *out);
void syn_cli_model_close(syn_cli_model *cm);

/* For getopt's '?' or ':' (optstring starting with ':'): prints one line
 * naming the bad or incomplete option; returns 2. */
int syn_cli_bad_option(const char *cmd, int c, char **argv);

/* Parses a non-negative integer flag value; prints an error and returns -1 if bad. */
long syn_cli_parse_int(const char *cmd, const char *flag, const char *value, long min, long max);
/* Parses "ID ID ..." (spaces or commas) into a malloc'ed array; -1 on error. */
int syn_cli_parse_ids(const char *cmd, const char *flag, const char *text, int32_t **ids, int32_t *n);

/* Runs prompt tokens through the context in chunks of max_rows at positions
 * start..; the last row's logits land in logits. 0 or 1 like the above. */
int syn_cli_prefill(const char *cmd, syn_cli_model *cm, const int32_t *tokens, int32_t n, int32_t start, float *logits);
/* One sampled token fed back at pos (a decode step), its logits in logits. */
int syn_cli_step(const char *cmd, syn_cli_model *cm, int32_t token, int32_t pos, float *logits);

#endif
