/* Chat templates: picks a built-in renderer from a GGUF's Jinja
 * `tokenizer.chat_template` (or the user's choice) and renders messages into
 * prompt text. No Jinja is evaluated: the Jinja string is only inspected.
 * Stateless; any thread may call these.
 *
 * ChatML (Qwen):  <|im_start|>ROLE\nCONTENT<|im_end|>\n ... then, with the
 *   generation prompt, <|im_start|>assistant\n. When the first message is not
 *   a system message and the model's template carries a literal default
 *   system prompt (Qwen2: "You are a helpful assistant", Qwen2.5: "You are
 *   Qwen, created by Alibaba Cloud. You are a helpful assistant."), that
 *   default is rendered first, as the template would. Content is verbatim.
 * Llama 3:  <|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|> ...
 *   then <|start_header_id|>assistant<|end_header_id|>\n\n. Content is
 *   trimmed of surrounding whitespace, as the template's `| trim` does.
 *   The rendered text does NOT start with <|begin_of_text|>: BOS comes from
 *   the tokenizer (tokenizer.ggml.add_bos_token is true in Llama 3 GGUFs), as
 *   with llama.cpp's built-in templates, so tokenize it with the model's
 *   add_bos setting and BOS appears exactly once. */
#ifndef SYNAPSE_CHAT_H
#define SYNAPSE_CHAT_H

#include <stddef.h>
#include <synapse/common.h>

typedef enum syn_chat_kind {
    SYN_CHAT_NONE = 0,
    SYN_CHAT_CHATML = 1,
    SYN_CHAT_LLAMA3 = 2,
} syn_chat_kind;

/* A plain value: copy it freely. */
typedef struct syn_chat_template {
    syn_chat_kind kind;
    /* ChatML only: the template's default system prompt, "" if it has none */
    char default_system[1024];
    /* the model thinks in a <think> block before it answers (Qwen3): its
     * template writes one */
    int thinks;
} syn_chat_template;

typedef struct syn_chat_msg {
    const char *role; /* "system", "user" or "assistant" */
    const char *content;
} syn_chat_msg;

/* user_choice ("chatml" or "llama3"), when given, wins over detection;
 * otherwise the Jinja text decides: <|im_start|> means ChatML,
 * <|start_header_id|> Llama 3. Anything else, or no template, fails with
 * SYN_ERR_UNSUPPORTED and a message naming --chat-template. With ChatML the
 * default system prompt is taken from jinja whenever it is given. */
SYN_API int syn_chat_template_detect(const char *jinja, const char *user_choice, syn_chat_template *out, syn_error *err);

/* Renders n messages; add_generation_prompt appends the assistant header so
 * the model answers next. *out is malloc'ed, NUL-terminated, caller frees.
 * Unknown roles and NULL content fail with SYN_ERR_INVALID. */
SYN_API int syn_chat_render(syn_chat_template t, const syn_chat_msg *msgs, size_t n, int add_generation_prompt, char **out,
                    syn_error *err);

/* The same, and *content_mask (malloc'ed, strlen(*out) + 1 bytes, caller
 * frees) is 1 for each byte copied from a message's content and 0 for the
 * template's text. Tokenize with syn_tokenize_masked so that control tokens
 * written inside content stay text: only the template opens and closes turns. */
SYN_API int syn_chat_render_masked(syn_chat_template t, const syn_chat_msg *msgs, size_t n, int add_generation_prompt,
                           char **out, unsigned char **content_mask, syn_error *err);

/* "chatml", "llama3" ("none" for SYN_CHAT_NONE). */
SYN_API const char *syn_chat_template_name(syn_chat_template t);

/* Text that ends a turn, for stopping generation: "<|im_end|>" or
 * "<|eot_id|>" (NULL for SYN_CHAT_NONE). */
SYN_API const char *syn_chat_template_eot(syn_chat_template t);

#endif
