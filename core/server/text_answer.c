/* Answers made outside the scheduler, as text without tokens: the
 * upstream's (fallback.c) and a specialist in code's (code_answer.c).
 * Both are served in the shape of a model's: one choice, finish "stop",
 * usage null (no tokens were counted here), confidence null. A stream's
 * head waits for the first piece, so a producer that fails before it
 * leaves the client to whoever answers next. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server/answer.h"

static int start_stream(syn_text_stream *x)
{
    syn_gen_stream_head(x->c, x->g);
    x->started = 1;
    return syn_gen_sse(x->c, syn_gen_chunk(x->g, 0, "", 0, 1, NULL, NULL));
}

/* Bytes at the end of s[0, n) that begin a character not yet whole. */
static size_t partial_tail(const unsigned char *s, size_t n)
{
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = s[n - back];
        if ((c & 0xc0) == 0x80)
            continue; /* a continuation byte: look further back */
        size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        return need > back ? back : 0;
    }
    return 0;
}

static int send_piece(syn_text_stream *x, const char *text, size_t len)
{
    return len && syn_gen_sse(x->c, syn_gen_chunk(x->g, 0, text, len, 0, NULL, NULL));
}

int syn_text_stream_piece(void *user, const char *text, size_t len)
{
    syn_text_stream *x = user;
    if (x->gone || (!x->started && start_stream(x)))
        return x->gone = 1;
    /* a producer may cut a character between pieces: its start waits */
    char *joined = malloc(x->n_held + len + 1);
    if (!joined)
        return x->gone = 1;
    memcpy(joined, x->held, x->n_held);
    memcpy(joined + x->n_held, text, len);
    size_t n = x->n_held + len, keep = partial_tail((const unsigned char *)joined, n);
    memcpy(x->held, joined + n - keep, keep);
    x->n_held = keep;
    int gone = send_piece(x, joined, n - keep);
    free(joined);
    return gone ? (x->gone = 1) : 0;
}

int syn_text_stream_end(syn_text_stream *x, const char *finish, const char *error, const char *code)
{
    if (x->gone || (!x->started && start_stream(x))) /* an empty answer still has its head */
        return 499;
    int gone = send_piece(x, x->held, x->n_held); /* a character never finished: U+FFFD */
    x->n_held = 0;
    if (gone)
        return 499;
    if (error) { /* it failed half way: what came is all there is */
        gone = syn_gen_sse(x->c, syn_gen_error_event(error, code)) != 0;
    } else {
        json_object *o = syn_gen_chunk(x->g, 0, NULL, 0, 0, NULL, finish);
        json_object_object_add(json_object_array_get_idx(json_object_object_get(o, "choices"), 0), "delta",
                               json_object_new_object());
        gone = syn_gen_sse(x->c, o) != 0;
        if (!gone) {
            o = syn_gen_envelope(x->g, 1);
            json_object_object_add(o, "choices", json_object_new_array());
            if (x->g->r->include_usage)
                json_object_object_add(o, "usage", NULL);
            json_object_object_add(o, "synapse", syn_gen_synapse(x->g, -1));
            gone = syn_gen_sse(x->c, o) != 0;
        }
    }
    if (!gone)
        gone = syn_gen_stream_done(x->c) != 0;
    return gone ? 499 : 200;
}

int syn_text_answer_send(struct mg_connection *c, const gen_ctx *g, const char *text, size_t len,
                         const char *finish)
{
    json_object *o = syn_gen_envelope(g, 0), *choices = json_object_new_array(), *ch = json_object_new_object(),
                *msg = json_object_new_object();
    json_object_object_add(msg, "role", json_object_new_string("assistant"));
    json_object_object_add(msg, "content", syn_json_string_utf8(text, len));
    json_object_object_add(msg, "refusal", NULL);
    json_object_object_add(ch, "index", json_object_new_int(0));
    json_object_object_add(ch, "message", msg);
    json_object_object_add(ch, "logprobs", NULL);
    json_object_object_add(ch, "finish_reason", json_object_new_string(finish));
    json_object_array_add(choices, ch);
    json_object_object_add(o, "choices", choices);
    json_object_object_add(o, "usage", NULL);
    json_object_object_add(o, "synapse", syn_gen_synapse(g, -1));
    char header[256];
    syn_gen_header(g, header, sizeof header);
    return syn_send_json_obj_headers(c, g->s, 200, o, header);
}
