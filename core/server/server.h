/* The OpenAI-compatible HTTP server: loads the configured model (if any),
 * starts the scheduler and civetweb. Start and stop from the main thread. */
#ifndef SYN_CORE_SERVER_H
#define SYN_CORE_SERVER_H

#include <synapse/common.h>

#include "core/config/config.h"

typedef struct syn_server syn_server;

/* cfg is copied. model_path may be NULL (the server answers 503 on inference
 * routes); otherwise it is loaded before listening. */
int syn_server_start(const syn_config *cfg, const char *model_path, syn_server **out, syn_error *err);
/* The port actually bound (useful with port 0). */
int syn_server_port(const syn_server *s);
/* Applies a freshly loaded configuration (SIGHUP): the API keys take
 * effect for the next request; every other setting that differs from the
 * running one is logged by name as needing a restart and left as it is. */
void syn_server_reload(syn_server *s, const syn_config *fresh);
/* Stops listening, fails the running jobs and frees everything. */
void syn_server_stop(syn_server *s);

#endif
