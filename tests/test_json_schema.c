/* Constrained decoding never emits output its schema forbids: each schema
 * either compiles to a matcher that accepts exactly the valid texts tried
 * here, or is refused with a message naming why. */
#include <string.h>

#include "core/sample/json_schema.h"
#include "tests/check.h"

/* 1 when the whole of text is accepted as one complete value. */
static int accepts(const syn_jschema *s, const char *text)
{
    syn_jmatch *m = syn_jmatch_new(s);
    int ok = m && syn_jmatch_feed(m, text, strlen(text)) == 0 && syn_jmatch_complete(m);
    syn_jmatch_free(m);
    return ok;
}

struct valid_case {
    const char *schema;
    const char *yes[3]; /* texts it must accept (NULL-ended) */
    const char *no[4];  /* texts it must refuse */
};

struct refused_case {
    const char *schema;
    const char *message;
};

static syn_jschema *compile_text(const char *text, syn_error *err)
{
    json_object *o = json_tokener_parse(text);
    CHECK_MSG(o != NULL, "test schema is not JSON: %s", text);
    syn_jschema *s = NULL;
    memset(err, 0, sizeof *err);
    if (o && syn_jschema_compile(o, &s, err))
        s = NULL;
    json_object_put(o);
    return s;
}

int main(void)
{
    static const struct valid_case valid[] = {
        {"{\"type\":\"object\",\"additionalProperties\":false}", {"{}"}, {"{\"a\":1}", "{\"\":0}", "[]"}},
        {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},\"additionalProperties\":false}",
         {"{\"a\":1}", "{}"}, {"{\"b\":1}", "{\"a\":1,\"b\":2}"}},
        {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},"
         "\"additionalProperties\":{\"type\":\"string\"}}",
         {"{\"a\":1}"}, {"{\"b\":\"x\"}"}},
        {"{\"type\":\"object\",\"additionalProperties\":true}", {"{\"k\":[1]}", "{}"}, {"[]"}},
        {"{\"type\":[\"integer\",\"string\"],\"enum\":[\"a\",1,true]}", {"\"a\"", "1"}, {"true", "\"b\"", "2"}},
        {"{\"type\":\"number\",\"enum\":[1,2.5,\"x\"]}", {"1", "2.5"}, {"\"x\""}},
        {"{\"const\":5}", {"5"}, {"6", "\"5\""}},
        {"{\"type\":\"string\",\"const\":\"hi\"}", {"\"hi\""}, {"\"ho\""}},
    };
    static const struct refused_case refused[] = {
        {"{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}}", "'additionalProperties' as a schema"},
        {"{\"type\":\"integer\",\"enum\":[\"a\",\"b\"]}", "no value of 'enum' has the schema's 'type'"},
        {"{\"type\":\"string\",\"const\":5}", "no value of 'const' has the schema's 'type'"},
        {"{\"type\":\"boolean\",\"enum\":[null]}", "no value of 'enum'"},
        {"{\"type\":\"string\",\"pattern\":\"^a\"}", "keyword 'pattern' is not supported"},
    };
    syn_error err;
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        const struct valid_case *c = &valid[i];
        syn_jschema *s = compile_text(c->schema, &err);
        CHECK_MSG(s != NULL, "%s: refused: %s", c->schema, err.msg);
        if (!s)
            continue;
        for (int k = 0; k < 3 && c->yes[k]; k++)
            CHECK_MSG(accepts(s, c->yes[k]), "%s: refused valid %s", c->schema, c->yes[k]);
        for (int k = 0; k < 4 && c->no[k]; k++)
            CHECK_MSG(!accepts(s, c->no[k]), "%s: accepted invalid %s", c->schema, c->no[k]);
        syn_jschema_free(s);
    }
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        syn_jschema *s = compile_text(refused[i].schema, &err);
        CHECK_MSG(s == NULL && strstr(err.msg, refused[i].message), "%s: %s", refused[i].schema,
                  s ? "compiled" : err.msg);
        syn_jschema_free(s);
    }
    return CHECK_DONE();
}
