/* Server configuration: defaults, the YAML file at $SYNAPSE_HOME/config.yaml
 * (libyaml), and the commented default file written on first run. Owns the
 * strings it holds. Main thread only (loaded before any server thread starts). */
#ifndef SYN_CORE_SERVER_CONFIG_H
#define SYN_CORE_SERVER_CONFIG_H

#include <stddef.h>
#include <synapse/common.h>

#include "core/cloud/cloud.h"
#include "core/config/specialist_def.h"

#define SYN_CONFIG_MAX_KEYS 16

typedef struct syn_config {
    char *host;
    int port;
    char *data_dir;
    char *models_dir;
    char *model;         /* base model: a path, or a file name under models_dir; NULL = none */
    char *chat_template; /* NULL = detect from the model */
    int threads;         /* 0 = all cores */
    int ctx_size;        /* positions per slot */
    int parallel;        /* sequence slots served together */
    int learning;        /* facts taught in conversation and by the upstream are stored (SIGHUP: at once) */
    syn_cloud_config cloud; /* cloud: (mode never unless set) */
    char *api_keys[SYN_CONFIG_MAX_KEYS];
    int n_api_keys;
    char *cors;          /* allowed origin ("*" or one origin); NULL = no CORS headers */
    size_t max_body;     /* bytes of request body */
    int max_queue;       /* waiting requests before 429 */
    int max_tokens;      /* cap on generated tokens per choice; 0 = context */
    int batch_rows;      /* tokens per forward step (decode rows + prefill chunk) */
    int request_timeout_s; /* a connection stalled this long on a read or write is dropped */
    size_t adapter_bytes; /* loaded adapters beyond this are evicted, least recently used first; 0 = no limit */
    int prefix_cache_tokens; /* KV positions beyond the slots' for cached prefixes */
    int knowledge_prompt_tokens; /* knowledge.prompt_tokens: known facts put in a chat prompt; 0 = none */
    char *router_plugin;    /* plugins.router: the router's .so; NULL: found on the plugin path */
    char *extractor_plugin; /* plugins.extractor, the same */
    char *verifier_plugin;  /* plugins.verifier, the same */
    char *spawner_plugin;   /* plugins.spawner, the same */
    syn_specialist_def *specialists; /* `specialists:`, n_specialists of them */
    int n_specialists;
    char *path; /* the file last loaded (where runtime changes are written); NULL: none */
} syn_config;

/* Fills built-in defaults (port 6900, host 127.0.0.1, ...). Strings malloc'ed. */
/* share/config.yaml, built in (core/config/default_text.c, generated). */
extern const char syn_config_default_text[];

int syn_config_defaults(syn_config *c, syn_error *err);
void syn_config_free(syn_config *c);

/* $SYNAPSE_HOME, else ~/.synapse, into buf. */
int syn_config_home(char *buf, size_t n, syn_error *err);

/* Reads a YAML mapping from path over the values already in c. Unknown keys,
 * wrong types and YAML syntax errors fail with SYN_ERR_FORMAT and a message
 * "FILE:LINE: ...". */
int syn_config_load(syn_config *c, const char *path, syn_error *err);

/* Writes the commented default file unless path exists (creating its
 * directory). *created is set to 1 when a file was written. */
int syn_config_write_default(const char *path, int *created, syn_error *err);

/* Writes defs as the file's top-level `specialists:` list, keeping every
 * other line (comments too) as it is, through a temporary file renamed over
 * it: a crash leaves the old file or the new one. */
int syn_config_write_specialists(const char *path, const syn_specialist_def *defs, int n, syn_error *err);

/* mkdir -p: path and the directories above it (0755); 0 when they exist. */
int syn_config_make_dirs(const char *path, syn_error *err);

/* Replaces a string field (strdup). */
int syn_config_set_str(char **field, const char *value, syn_error *err);

/* 0 when host is an address the server can listen on: an IPv4 address in
 * dotted form (127.0.0.1, 0.0.0.0) or an IPv6 one (::1, ::). Anything else
 * (999.1.1.1, 127.0.0.300, a host name) fails with a message naming it, as
 * the listener would otherwise read it as some other address. */
int syn_config_check_host(const char *host, syn_error *err);

#endif
