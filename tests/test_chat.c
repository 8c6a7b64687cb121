/* Chat template tests: detection (real Qwen2 template from the qwen2-chat test
 * model, Qwen2.5/Qwen3/Llama 3 template texts), exact renderings, the golden
 * ChatML prompt, and error cases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synapse/chat.h>
#include <synapse/gguf.h>
#include "tests/check.h"

/* Qwen2.5-Instruct's template, abridged to its non-tool path (as shipped, with
 * the Jinja string escapes \n written out). */
static const char *qwen25_jinja =
    "{%- if tools %}{{- '<|im_start|>system\\n' }}{%- if messages[0]['role'] == 'system' %}"
    "{{- messages[0]['content'] }}{%- else %}{{- 'You are Qwen, created by Alibaba Cloud. You are a helpful "
    "assistant.' }}{%- endif %}{%- else %}{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}{%- endif %}{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + "
    "message.content + '<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}{%- endif %}";

/* Qwen3's: the system turn is only ever built from messages[0]. */
static const char *qwen3_jinja =
    "{%- if messages[0].role == 'system' %}{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}"
    "{%- endif %}{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + "
    "'<|im_end|>\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

static const char *llama3_jinja =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

static syn_chat_template detect_ok(const char *jinja, const char *choice)
{
    syn_chat_template t;
    syn_error err = {0};
    int rc = syn_chat_template_detect(jinja, choice, &t, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    return t;
}

static void check_render(syn_chat_template t, const syn_chat_msg *msgs, size_t n, int gen, const char *want)
{
    char *out = NULL;
    syn_error err = {0};
    int rc = syn_chat_render(t, msgs, n, gen, &out, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_MSG(out && strcmp(out, want) == 0, "rendered:\n%s\nwanted:\n%s", out ? out : "(null)", want);
    free(out);
}

static void test_chatml(void)
{
    syn_chat_template t = detect_ok(NULL, "chatml");
    CHECK(t.kind == SYN_CHAT_CHATML && t.default_system[0] == '\0');
    CHECK(strcmp(syn_chat_template_name(t), "chatml") == 0);
    CHECK(strcmp(syn_chat_template_eot(t), "<|im_end|>") == 0);
    syn_chat_msg msgs[] = {
        {"system", "Be brief."},
        {"user", "Hi"},
        {"assistant", "Hello! "},
        {"user", " 2+2?\n"},
    };
    check_render(t, msgs, 4, 1,
                 "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                 "<|im_start|>assistant\nHello! <|im_end|>\n<|im_start|>user\n 2+2?\n<|im_end|>\n"
                 "<|im_start|>assistant\n");
    check_render(t, msgs + 1, 1, 0, "<|im_start|>user\nHi<|im_end|>\n");
    check_render(t, msgs, 0, 1, "<|im_start|>assistant\n");
    check_render(t, msgs, 0, 0, "");
}

static void test_qwen25_default_system(void)
{
    syn_chat_template t = detect_ok(qwen25_jinja, NULL);
    CHECK(t.kind == SYN_CHAT_CHATML);
    CHECK_MSG(strcmp(t.default_system, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.") == 0,
              "default system '%s'", t.default_system);
    syn_chat_msg user[] = {{"user", "Hi"}};
    check_render(t, user, 1, 1,
                 "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                 "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    syn_chat_msg with_system[] = {{"system", "Be terse."}, {"user", "Hi"}};
    check_render(t, with_system, 2, 1,
                 "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    /* naming chatml explicitly still honours the model's own default */
    syn_chat_template named = detect_ok(qwen25_jinja, "ChatML");
    CHECK(strcmp(named.default_system, t.default_system) == 0);

    syn_chat_template q3 = detect_ok(qwen3_jinja, NULL);
    CHECK(q3.kind == SYN_CHAT_CHATML && q3.default_system[0] == '\0');
    check_render(q3, user, 1, 1, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");

    /* a default written as raw template text, with a real newline */
    syn_chat_template raw = detect_ok("<|im_start|>system\nRaw default.<|im_end|>\n{% for m in messages %}{% endfor %}",
                                      NULL);
    CHECK(strcmp(raw.default_system, "Raw default.") == 0);
    /* comments and escaped quotes do not confuse the scan */
    syn_chat_template esc = detect_ok("{# '<|im_start|>system\\nNo<|im_end|>' #}"
                                      "{{ '<|im_start|>system\\nIt\\'s me.<|im_end|>\\n' }}",
                                      NULL);
    CHECK_MSG(strcmp(esc.default_system, "It's me.") == 0, "'%s'", esc.default_system);
}

static void test_llama3(void)
{
    syn_chat_template t = detect_ok(llama3_jinja, NULL);
    CHECK(t.kind == SYN_CHAT_LLAMA3 && t.default_system[0] == '\0');
    CHECK(strcmp(syn_chat_template_name(t), "llama3") == 0);
    CHECK(strcmp(syn_chat_template_eot(t), "<|eot_id|>") == 0);
    syn_chat_msg msgs[] = {
        {"system", "You are a pirate."},
        {"user", "  Hello?\n\n"},
        {"assistant", "\xc2\xa0" "Arr.\t\xe3\x80\x80"}, /* NBSP and ideographic space trim too */
        {"user", "Bye"},
    };
    check_render(t, msgs, 4, 1,
                 "<|start_header_id|>system<|end_header_id|>\n\nYou are a pirate.<|eot_id|>"
                 "<|start_header_id|>user<|end_header_id|>\n\nHello?<|eot_id|>"
                 "<|start_header_id|>assistant<|end_header_id|>\n\nArr.<|eot_id|>"
                 "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
                 "<|start_header_id|>assistant<|end_header_id|>\n\n");
    syn_chat_msg blank[] = {{"user", " \n "}, {"user", "é"}};
    check_render(t, blank, 2, 0,
                 "<|start_header_id|>user<|end_header_id|>\n\n<|eot_id|>"
                 "<|start_header_id|>user<|end_header_id|>\n\né<|eot_id|>");
    /* the user's choice wins over the template */
    syn_chat_template forced = detect_ok(llama3_jinja, "chatml");
    CHECK(forced.kind == SYN_CHAT_CHATML && forced.default_system[0] == '\0');
    forced = detect_ok(qwen25_jinja, "llama3");
    CHECK(forced.kind == SYN_CHAT_LLAMA3);
}

static void test_errors(void)
{
    syn_chat_template t;
    syn_error err = {0};
    CHECK(syn_chat_template_detect("{{ messages }}", NULL, &t, &err) == SYN_ERR_UNSUPPORTED);
    CHECK(strstr(err.msg, "unknown chat template") && strstr(err.msg, "--chat-template chatml|llama3"));
    memset(&err, 0, sizeof err);
    CHECK(syn_chat_template_detect(NULL, NULL, &t, &err) == SYN_ERR_UNSUPPORTED);
    CHECK(strstr(err.msg, "--chat-template chatml|llama3") != NULL);
    CHECK(syn_chat_template_detect(NULL, "vicuna", &t, &err) == SYN_ERR_INVALID);
    CHECK(strstr(err.msg, "vicuna") != NULL);
    /* an unknown template is fine once the user names one */
    t = detect_ok("{{ messages }}", "llama3");
    CHECK(t.kind == SYN_CHAT_LLAMA3);

    syn_chat_template ml = detect_ok(NULL, "chatml");
    char *out = (char *)1;
    syn_chat_msg tool[] = {{"user", "x"}, {"tool", "y"}};
    CHECK(syn_chat_render(ml, tool, 2, 1, &out, &err) == SYN_ERR_INVALID && out == NULL);
    CHECK(strstr(err.msg, "tool") != NULL);
    syn_chat_msg no_role[] = {{NULL, "x"}};
    CHECK(syn_chat_render(ml, no_role, 1, 1, &out, &err) == SYN_ERR_INVALID);
    syn_chat_msg no_content[] = {{"user", NULL}};
    CHECK(syn_chat_render(ml, no_content, 1, 1, &out, &err) == SYN_ERR_INVALID);
    syn_chat_msg upper[] = {{"User", "x"}};
    CHECK(syn_chat_render(ml, upper, 1, 1, &out, &err) == SYN_ERR_INVALID);
    syn_chat_template none = {0};
    CHECK(syn_chat_render(none, tool, 1, 1, &out, &err) == SYN_ERR_INVALID);
    CHECK(strcmp(syn_chat_template_name(none), "none") == 0 && syn_chat_template_eot(none) == NULL);
    CHECK(syn_chat_render(ml, NULL, 1, 1, &out, &err) == SYN_ERR_INVALID);
}

/* The real Qwen2 template (default "You are a helpful assistant", no full
 * stop) and llama.cpp's rendering of a two-message chat. */
static int test_qwen2_chat_model(void)
{
    syn_gguf *g = NULL;
    syn_error err = {0};
    const char *model = testdata("models/qwen2-chat-Q8_0.gguf");
    if (syn_gguf_open(model, &g, &err) != 0) {
        fprintf(stderr, "skipping the qwen2-chat model checks: %s\n", err.msg);
        return 0;
    }
    syn_gguf_str s;
    CHECK(syn_gguf_get_str(g, "tokenizer.chat_template", &s) == 0);
    char *jinja = strndup(s.s, (size_t)s.len);
    syn_gguf_close(g);
    syn_chat_template t = detect_ok(jinja, NULL);
    free(jinja);
    CHECK(t.kind == SYN_CHAT_CHATML);
    CHECK_MSG(strcmp(t.default_system, "You are a helpful assistant") == 0, "'%s'", t.default_system);

    size_t len = 0;
    char *golden = syn_read_file(testdata("golden/qwen2-chat-prompt.txt"), &len);
    CHECK(golden != NULL);
    if (golden) {
        syn_chat_msg msgs[] = {
            {"system", "You are a helpful assistant."},
            {"user", "Write a Python function to check if a number is prime"},
        };
        check_render(t, msgs, 2, 1, golden);
        /* without a system message the template's own default comes first */
        check_render(t, msgs + 1, 1, 1,
                     "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n"
                     "<|im_start|>user\nWrite a Python function to check if a number is prime<|im_end|>\n"
                     "<|im_start|>assistant\n");
        free(golden);
    }
    return 1;
}

int main(void)
{
    test_chatml();
    test_qwen25_default_system();
    test_llama3();
    test_errors();
    int ran_model = test_qwen2_chat_model();
    int rc = CHECK_DONE();
    return rc ? rc : ran_model ? 0 : 77;
}
