/* The upstream: an OpenAI-compatible chat API the server falls back to
 * (config cloud:), spoken with libcurl (TLS, proxies from the environment,
 * timeouts). One call per request, streamed or not; any thread. */
#ifndef SYN_CORE_CLOUD_H
#define SYN_CORE_CLOUD_H

#include <stddef.h>

#include <synapse/chat.h>
#include <synapse/common.h>

typedef enum syn_cloud_mode { SYN_CLOUD_NEVER = 0, SYN_CLOUD_AUTO, SYN_CLOUD_ALWAYS } syn_cloud_mode;

typedef struct syn_cloud_config {
    int mode;         /* syn_cloud_mode */
    char *api_base;   /* e.g. https://api.openai.com/v1 ("/chat/completions" is appended) */
    char *api_key;    /* NULL: $SYNAPSE_CLOUD_KEY, else none */
    char *model;      /* the upstream's model name */
    double threshold; /* auto: below this confidence the upstream answers */
    int timeout_s;    /* the whole call */
} syn_cloud_config;

/* Called with each piece of a streamed answer; nonzero stops the call
 * (the client left). */
typedef int (*syn_cloud_piece_fn)(void *user, const char *text, size_t len);

typedef struct syn_cloud_request {
    const syn_chat_msg *msgs;
    size_t n_msgs;
    int max_tokens;    /* <= 0: not sent */
    double temperature; /* < 0: not sent */
    const char *const *stops; /* n_stops stop strings, sent as "stop" */
    size_t n_stops;
    syn_cloud_piece_fn on_piece; /* NULL: not streamed */
    void *user;
} syn_cloud_request;

/* The upstream's answer to q into *text (malloc'ed, NUL-terminated). On
 * failure err says why in a line fit for route.reason: unreachable, timed
 * out after N s, answered STATUS with its message, or a malformed answer. */
int syn_cloud_chat(const syn_cloud_config *c, const syn_cloud_request *q, char **text, size_t *len, syn_error *err);

/* libcurl's global state: init before the first call, on the main thread
 * while no other thread uses libcurl; each init wants one cleanup. */
int syn_cloud_global_init(syn_error *err);
void syn_cloud_global_cleanup(void);

#endif
