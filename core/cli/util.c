/* Model set-up and small parsing helpers shared by the model commands. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/cli/util.h"

int syn_cli_model_open(const char *cmd, const char *path, int threads, const char *chat_template, const char *lora,
                       float lora_scale, const syn_ctx_params *cp, syn_cli_model *out)
{
    memset(out, 0, sizeof *out);
    syn_error err = {0};
    if (!path)
        return syn_cli_error(cmd, "no model given (-m FILE.gguf)");
    syn_session_params sp = {.model_path = path, .backend = getenv("SYNAPSE_BACKEND"), .n_threads = threads,
                             .chat_template = chat_template};
    if (syn_session_open(&sp, &out->sess, &err))
        goto fail;
    out->model = out->sess.model;
    if (lora) {
        if (syn_lora_load(out->model, lora, &out->lora, &err))
            goto fail;
    }
    syn_ctx_params p = *cp;
    const syn_model_config *cfg = syn_model_get_config(out->model);
    if (p.n_ctx > cfg->n_ctx_train)
        syn_log(SYN_LOG_WARN, "context of %d tokens is longer than the model was trained for (%d)", p.n_ctx,
                cfg->n_ctx_train);
    if (syn_ctx_new(out->model, &p, &out->ctx, &err))
        goto fail;
    if (out->lora && syn_ctx_set_adapters(out->ctx, &out->lora, &lora_scale, 1, &err))
        goto fail;
    return 0;
fail:
    syn_cli_model_close(out);
    return syn_cli_error(cmd, "%s", err.msg);
}

void syn_cli_model_close(syn_cli_model *cm)
{
    syn_ctx_free(cm->ctx);
    syn_lora_free(cm->lora);
    syn_session_close(&cm->sess);
    memset(cm, 0, sizeof *cm);
}

int syn_cli_bad_option(const char *cmd, int c, char **argv)
{
    const char *arg = argv[optind - 1];
    if (c == ':')
        syn_cli_error(cmd, "option '%s' needs a value (see synapse %s --help)", arg, cmd);
    else if (optopt && arg[0] == '-' && arg[1] != '-')
        syn_cli_error(cmd, "unknown option '-%c' (see synapse %s --help)", optopt, cmd);
    else
        syn_cli_error(cmd, "unknown option '%s' (see synapse %s --help)", arg, cmd);
    return 2;
}

long syn_cli_parse_int(const char *cmd, const char *flag, const char *value, long min, long max)
{
    char *end;
    errno = 0;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || errno || end == value || *end || v < min || v > max) {
        syn_cli_error(cmd, "%s needs an integer from %ld to %ld, got '%s'", flag, min, max, value ? value : "");
        return -1;
    }
    return v;
}

int syn_cli_parse_ids(const char *cmd, const char *flag, const char *text, int32_t **ids, int32_t *n)
{
    size_t cap = 16, k = 0;
    int32_t *v = malloc(cap * sizeof *v);
    if (!v)
        return syn_cli_error(cmd, "out of memory"), -1;
    const char *s = text;
    for (;;) {
        while (*s == ' ' || *s == ',' || *s == '\t' || *s == '\n')
            s++;
        if (!*s)
            break;
        char *end;
        errno = 0;
        long id = strtol(s, &end, 10);
        if (end == s || errno || id < 0 || id > INT32_MAX) {
            free(v);
            syn_cli_error(cmd, "%s: '%.20s' is not a token id", flag, s);
            return -1;
        }
        if (k == cap) {
            int32_t *nv = realloc(v, (cap *= 2) * sizeof *v);
            if (!nv) {
                free(v);
                return syn_cli_error(cmd, "out of memory"), -1;
            }
            v = nv;
        }
        v[k++] = (int32_t)id;
        s = end;
    }
    if (!k) {
        free(v);
        syn_cli_error(cmd, "%s: no token ids given", flag);
        return -1;
    }
    *ids = v;
    *n = (int32_t)k;
    return 0;
}

static int run_tokens(const char *cmd, syn_cli_model *cm, const int32_t *tokens, int32_t n, int32_t start, int prompt,
                      float *logits)
{
    const syn_ctx_params *p = syn_ctx_get_params(cm->ctx);
    int32_t *pos = malloc(sizeof *pos * (size_t)p->max_rows);
    int32_t *adapter = cm->lora ? calloc((size_t)p->max_rows, sizeof *adapter) : NULL; /* all rows: adapter 0 */
    if (!pos || (cm->lora && !adapter)) {
        free(pos);
        free(adapter);
        return syn_cli_error(cmd, "out of memory");
    }
    syn_error err = {0};
    int rc = 0;
    for (int32_t i = 0; i < n && !rc; i += p->max_rows) {
        int32_t m = n - i < p->max_rows ? n - i : p->max_rows;
        for (int32_t j = 0; j < m; j++)
            pos[j] = start + i + j;
        syn_batch bt = {.n = m, .token = tokens + i, .pos = pos, .adapter = adapter, .n_prompt = prompt ? m : 0};
        if (syn_forward(cm->ctx, &bt, logits, &err))
            rc = syn_cli_error(cmd, "%s", err.msg);
    }
    free(pos);
    free(adapter);
    return rc;
}

int syn_cli_prefill(const char *cmd, syn_cli_model *cm, const int32_t *tokens, int32_t n, int32_t start, float *logits)
{
    return run_tokens(cmd, cm, tokens, n, start, 1, logits);
}

int syn_cli_step(const char *cmd, syn_cli_model *cm, int32_t token, int32_t pos, float *logits)
{
    return run_tokens(cmd, cm, &token, 1, pos, 0, logits);
}
