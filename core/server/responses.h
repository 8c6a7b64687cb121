/* OpenAI's Responses API: responses.c reads the request into the chat
 * request that means the same; responses_out.c is the dialect (dialect.h)
 * that writes the chat's answer as a response, whole or as its events. */
#ifndef SYN_CORE_SERVER_RESPONSES_H
#define SYN_CORE_SERVER_RESPONSES_H

#include "core/server/dialect.h"

typedef enum { ITEM_NONE, ITEM_REASONING, ITEM_MESSAGE, ITEM_CALL } syn_resp_item_kind;

/* A response on its way out. */
typedef struct syn_responses_out {
    syn_dialect d;
    json_object *resp; /* the response object: the request's settings echoed, output, usage */
    int64_t seq;       /* a stream's next sequence_number */
    int failed;        /* a stream's error went out */
    char finish[32];   /* the chat's finish_reason */
    /* a stream's open output item */
    syn_resp_item_kind open;
    char item_id[40], call_id[80], name[80];
    char *text; /* its text so far (message, reasoning or a call's arguments) */
    size_t len, cap;
    int call_index; /* the chat's index of the open call */
} syn_responses_out;

/* x ready to answer request (the Responses body, borrowed): its id, and
 * the request's settings echoed as the response's. */
void syn_responses_out_init(syn_responses_out *x, json_object *request);
void syn_responses_out_free(syn_responses_out *x);

#endif
