/* Tool calling's text (core/server/tools.c), both ways: the tools, calls
 * and results a request holds rendered for ChatML (Hermes' <tools>,
 * <tool_call>, <tool_response>) and Llama 3 (bare JSON, ipython turns),
 * and calls read back out of answers: several, text around them, one
 * when parallel_tool_calls is false, and what is not a call staying
 * text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server/tools.h"
#include "tests/check.h"

static const char *const tools_json =
    "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\","
    "\"properties\":{\"city\":{\"type\":\"string\"}}}}},"
    "{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}]";

static void request(syn_gen_request *r, json_object *root, const char *body)
{
    syn_http_error e = {0};
    json_object *o = json_tokener_parse(body);
    CHECK(o != NULL);
    json_object_object_add(root, "req", o);
    CHECK(syn_request_parse_gen(o, SYN_REQ_CHAT, r, &e) == 0);
    if (e.message[0])
        fprintf(stderr, "parse: %s\n", e.message);
}

static void parse_cases(void)
{
    json_object *root = json_object_new_object();
    syn_gen_request r;
    char body[2048];
    snprintf(body, sizeof body, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":%s}", tools_json);
    request(&r, root, body);
    char *rest;
    const char *two = "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n"
                      "</tool_call>\n<tool_call>{\"name\":\"get_time\",\"arguments\":{}}</tool_call>";
    json_object *calls = syn_tools_parse(&r, SYN_CHAT_CHATML, 0, two, strlen(two), &rest);
    CHECK(calls && json_object_array_length(calls) == 2);
    json_object *f0 = json_object_object_get(json_object_array_get_idx(calls, 0), "function");
    CHECK(!strcmp(json_object_get_string(json_object_object_get(f0, "name")), "get_weather"));
    CHECK(!strcmp(json_object_get_string(json_object_object_get(f0, "arguments")), "{\"city\":\"Oslo\"}"));
    CHECK(rest && !strcmp(rest, "Let me look."));
    CHECK(!strncmp(json_object_get_string(json_object_object_get(json_object_array_get_idx(calls, 1), "id")), "call_", 5));
    json_object_put(calls);
    free(rest);
    /* not calls: an unknown name, JSON that is not, no closing tag */
    const char *bad[] = {"<tool_call>{\"name\":\"rm_rf\",\"arguments\":{}}</tool_call>",
                         "<tool_call>{\"name\": get_time}</tool_call>", "<tool_call>{\"name\":\"get_time\"",
                         "plain words"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        calls = syn_tools_parse(&r, SYN_CHAT_CHATML, 0, bad[i], strlen(bad[i]), &rest);
        CHECK(calls == NULL);
        CHECK(rest && strstr(bad[i], rest) == bad[i]);
        free(rest);
    }
    /* a forced answer is the call's JSON alone; Llama 3 calls in bare JSON */
    const char *forced = "{\"name\":\"get_time\",\"arguments\":{\"zone\":\"UTC\"}}";
    calls = syn_tools_parse(&r, SYN_CHAT_CHATML, 1, forced, strlen(forced), &rest);
    CHECK(calls && json_object_array_length(calls) == 1 && rest == NULL);
    json_object_put(calls);
    const char *llama = " {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}} ";
    calls = syn_tools_parse(&r, SYN_CHAT_LLAMA3, 0, llama, strlen(llama), &rest);
    CHECK(calls && json_object_array_length(calls) == 1 && rest == NULL);
    f0 = json_object_object_get(json_object_array_get_idx(calls, 0), "function");
    CHECK(!strcmp(json_object_get_string(json_object_object_get(f0, "arguments")), "{\"city\":\"Paris\"}"));
    json_object_put(calls);
    syn_gen_request_free(&r);
    /* parallel_tool_calls false: the first call only */
    snprintf(body, sizeof body,
             "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":%s,\"parallel_tool_calls\":false}",
             tools_json);
    request(&r, root, body);
    calls = syn_tools_parse(&r, SYN_CHAT_CHATML, 0, two, strlen(two), &rest);
    CHECK(calls && json_object_array_length(calls) == 1);
    json_object_put(calls);
    free(rest);
    syn_gen_request_free(&r);
    json_object_put(root);
}

static char *render(const syn_gen_request *r, syn_chat_kind kind)
{
    syn_chat_msg *m;
    size_t n;
    syn_tools_scratch x;
    syn_http_error e = {0};
    CHECK(syn_tools_messages(r, kind, r->msgs, r->n_msgs, &m, &n, &x, &e) == 0);
    syn_chat_template t = {.kind = kind};
    char *out = NULL;
    syn_error err = {0};
    CHECK(syn_chat_render(t, m, n, 1, &out, &err) == 0);
    syn_tools_messages_free(m, &x);
    return out;
}

static void render_cases(void)
{
    json_object *root = json_object_new_object();
    syn_gen_request r;
    char body[4096];
    snprintf(body, sizeof body,
             "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Oslo?\"},"
             "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
             "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}},{\"id\":\"c2\","
             "\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]},"
             "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"rain\"},"
             "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":\"noon\"}],\"tools\":%s}",
             tools_json);
    request(&r, root, body);
    char *chatml = render(&r, SYN_CHAT_CHATML);
    /* the tools in the one system turn, after its own words */
    CHECK(strstr(chatml, "<|im_start|>system\nBe brief.\n\n# Tools") != NULL);
    CHECK(strstr(chatml, "<tools>\n{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"") != NULL);
    /* the calls as the model writes them, the results in one user turn */
    CHECK(strstr(chatml, "<|im_start|>assistant\n<tool_call>\n{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Oslo\"}}"
                         "\n</tool_call>\n<tool_call>\n{\"name\":\"get_time\",\"arguments\":{}}\n</tool_call><|im_end|>") != NULL);
    CHECK(strstr(chatml, "<|im_start|>user\n<tool_response>\nrain\n</tool_response>\n<tool_response>\nnoon\n"
                         "</tool_response><|im_end|>") != NULL);
    char *llama = render(&r, SYN_CHAT_LLAMA3);
    CHECK(strstr(llama, "{\"name\":\"get_weather\",\"parameters\":{\"city\":\"Oslo\"}}") != NULL);
    CHECK(strstr(llama, "<|start_header_id|>ipython<|end_header_id|>\n\nrain<|eot_id|>") != NULL);
    free(chatml);
    free(llama);
    syn_gen_request_free(&r);
    /* tool_choice none: the tools are not shown */
    snprintf(body, sizeof body, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":%s,\"tool_choice\":\"none\"}",
             tools_json);
    request(&r, root, body);
    chatml = render(&r, SYN_CHAT_CHATML);
    CHECK(strstr(chatml, "<tools>") == NULL);
    free(chatml);
    syn_gen_request_free(&r);
    /* no system turn: one of their own first */
    snprintf(body, sizeof body, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":%s}", tools_json);
    request(&r, root, body);
    chatml = render(&r, SYN_CHAT_CHATML);
    CHECK(!strncmp(chatml, "<|im_start|>system\n# Tools", 26));
    free(chatml);
    syn_gen_request_free(&r);
    json_object_put(root);
}

int main(void)
{
    parse_cases();
    render_cases();
    return CHECK_DONE();
}
