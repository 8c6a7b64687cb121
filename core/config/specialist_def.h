/* A specialist as the configuration and the API describe it: plain data,
 * checked the same way wherever it comes from (config.yaml, POST
 * /api/specialists). The swarm (core/swarm) makes it live. */
#ifndef SYN_CORE_CONFIG_SPECIALIST_DEF_H
#define SYN_CORE_CONFIG_SPECIALIST_DEF_H

#include <synapse/common.h>

#define SYN_SPECIALIST_MAX_LIST 64 /* capabilities, examples */
#define SYN_SPECIALIST_MAX_NAME 64

typedef struct syn_specialist_def {
    char *name;          /* [a-z0-9_-]+ */
    char *description;   /* NULL: none */
    char *system_prompt; /* NULL: none */
    char *adapter;       /* a path, or a name under data_dir/adapters; NULL: none */
    char *base_model;    /* another GGUF: a path, or a name under models_dir; NULL: the server's */
    char *plugin;        /* a specialist plugin (.so) that answers instead of a model; NULL: none */
    double adapter_scale;
    int priority;
    char *capabilities[SYN_SPECIALIST_MAX_LIST];
    int n_capabilities;
    char *examples[SYN_SPECIALIST_MAX_LIST];
    int n_examples;
} syn_specialist_def;

/* Defaults: scale 1, priority 0, everything else empty. */
void syn_specialist_def_init(syn_specialist_def *d);
void syn_specialist_def_free(syn_specialist_def *d);
int syn_specialist_def_copy(syn_specialist_def *dst, const syn_specialist_def *src, syn_error *err);
/* 1 when a and b say the same. */
int syn_specialist_def_equal(const syn_specialist_def *a, const syn_specialist_def *b);
/* 0 when name is 1 to 64 of [a-z0-9_-]; else a message naming it. */
int syn_specialist_check_name(const char *name, syn_error *err);
/* 0 unless d names a plugin and also what only a model uses (system
 * prompt, adapter, base model); else a message naming them. */
int syn_specialist_check_plugin(const syn_specialist_def *d, syn_error *err);
/* Appends s to a capabilities/examples list (strdup). */
int syn_specialist_list_add(char **list, int *n, const char *what, const char *s, syn_error *err);

#endif
