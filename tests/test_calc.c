/* The calc specialist (contrib/calc) on its labelled set
 * (tests/data/calc.jsonl), loaded through the ABI like the server loads
 * it: each query's claim (>= 0.9 exactly when labelled "claim": true)
 * and its answer (containing "answer_contains", or refused when labelled
 * "error", with the syn_error code "error_code" names). A query claimed
 * at 0 must be refused, and one refused for having no arithmetic must be
 * claimed at 0: the host passes both to the base model. Then describe(),
 * its own examples, and an emit that stops the answer. Single-threaded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <synapse/loader.h>

#include "tests/check.h"

static const syn_specialist_ops *ops;
static void *inst;

/* What answer() sent; emit returns nonzero from call stop_after on. */
typedef struct sink {
    char text[4096];
    size_t len;
    int calls, stop_after;
} sink;

static int collect(void *user, const char *text, size_t len)
{
    sink *s = user;
    s->calls++;
    size_t room = sizeof s->text - 1 - s->len, n = len < room ? len : room;
    memcpy(s->text + s->len, text, n);
    s->len += n;
    s->text[s->len] = '\0';
    return s->stop_after && s->calls >= s->stop_after;
}

static int answer(const char *query, sink *s, syn_error *err)
{
    memset(s, 0, sizeof *s);
    memset(err, 0, sizeof *err);
    return ops->answer(inst, query, collect, s, err);
}

static int code_of(const char *name)
{
    static const struct {
        const char *name;
        int code;
    } codes[] = {{"invalid", SYN_ERR_INVALID}, {"range", SYN_ERR_RANGE}, {"unsupported", SYN_ERR_UNSUPPORTED},
                 {"io", SYN_ERR_IO}};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (!strcmp(name, codes[i].name))
            return codes[i].code;
    return 1; /* no code: the label is wrong */
}

typedef struct tally {
    int cases, claims, answers;
} tally;

/* One labelled case: its claim, its answer, and that the two agree. */
static void check_case(json_object *o, int line, tally *t)
{
    json_object *v;
    const char *query = json_object_get_string(json_object_object_get(o, "query"));
    int want_claim = json_object_get_boolean(json_object_object_get(o, "claim"));
    const char *contains = json_object_get_string(json_object_object_get(o, "answer_contains"));
    int want_error = json_object_get_boolean(json_object_object_get(o, "error"));
    const char *code = json_object_object_get_ex(o, "error_code", &v) ? json_object_get_string(v) : NULL;
    CHECK_MSG(query && (contains != NULL) != want_error, "calc.jsonl line %d: needs a query and one of "
                                                         "answer_contains or error", line);
    if (!query)
        return;
    t->cases++;

    float claim = ops->claim(inst, query);
    CHECK_MSG(claim >= 0 && claim <= 1, "\"%s\": claim %g is outside 0..1", query, claim);
    int claim_right = (claim >= 0.9f) == want_claim;
    t->claims += claim_right;
    CHECK_MSG(claim_right, "\"%s\": claim %.2f, labelled %s", query, claim, want_claim ? "true" : "false");

    sink s;
    syn_error err;
    int rc = answer(query, &s, &err);
    int answer_right;
    if (want_error) {
        answer_right = rc != 0 && err.msg[0] && !strncmp(err.msg, "calc: ", 6) && s.calls == 0 &&
                       (!code || err.code == code_of(code));
        CHECK_MSG(answer_right, "\"%s\": wanted a refusal (%s), got rc %d, code %d, \"%s\", answer \"%s\"", query,
                  code ? code : "any code", rc, err.code, err.msg, s.text);
    } else {
        answer_right = rc == 0 && strstr(s.text, contains) != NULL;
        CHECK_MSG(answer_right, "\"%s\": wanted \"%s\" in the answer, got rc %d (%s), answer \"%s\"", query, contains,
                  rc, err.msg, s.text);
    }
    t->answers += answer_right;

    /* claim and answer read the query the same way */
    if (claim == 0)
        CHECK_MSG(rc != 0, "\"%s\": claimed at 0 but answered \"%s\"", query, s.text);
    if (rc && strstr(err.msg, "no arithmetic"))
        CHECK_MSG(claim == 0, "\"%s\": refused (%s) but claimed at %.2f", query, err.msg, claim);
}

static void check_set(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/calc.jsonl", SYN_TEST_DATA_DIR);
    FILE *f = fopen(path, "r");
    CHECK_MSG(f, "cannot open %s", path);
    if (!f)
        return;
    tally t = {0};
    char line[8192];
    for (int n = 1; fgets(line, sizeof line, f); n++) {
        json_object *o = json_tokener_parse(line);
        CHECK_MSG(o, "calc.jsonl line %d is not JSON", n);
        if (o)
            check_case(o, n, &t);
        json_object_put(o);
    }
    fclose(f);
    printf("calc: %d cases, %d claims right, %d answers right\n", t.cases, t.claims, t.answers);
    CHECK_MSG(t.cases >= 60, "calc.jsonl has %d cases, fewer than 60", t.cases);
}

/* What the router is told, and that calc answers its own examples. */
static void check_describe(void)
{
    syn_route_specialist d = {0};
    CHECK(ops->describe(inst, &d) == 0);
    CHECK(d.name && !strcmp(d.name, "calc"));
    CHECK(d.description && d.description[0]);
    CHECK(d.capabilities && d.n_capabilities >= 1);
    for (int i = 0; d.capabilities && i < d.n_capabilities; i++)
        CHECK_MSG(d.capabilities[i] && d.capabilities[i][0], "capability %d is empty", i);
    CHECK(d.examples && d.n_examples >= 1);
    for (int i = 0; d.examples && i < d.n_examples; i++) {
        sink s;
        syn_error err;
        CHECK_MSG(ops->claim(inst, d.examples[i]) >= 0.9f, "example \"%s\" is not claimed", d.examples[i]);
        CHECK_MSG(answer(d.examples[i], &s, &err) == 0, "example \"%s\": %s", d.examples[i], err.msg);
    }
}

/* The receiver stops after the first line of two: answer() stops too. */
static void check_stop(void)
{
    sink s;
    syn_error err;
    CHECK(answer("What is 2+2 and 3*3?", &s, &err) == 0 && s.calls == 2);
    memset(&s, 0, sizeof s);
    memset(&err, 0, sizeof err);
    s.stop_after = 1;
    CHECK(ops->answer(inst, "What is 2+2 and 3*3?", collect, &s, &err) == -1);
    CHECK_MSG(err.code == SYN_ERR_IO && !strncmp(err.msg, "calc: ", 6), "code %d, \"%s\"", err.code, err.msg);
    CHECK_MSG(s.calls == 1, "emit called %d times after it said stop", s.calls);
}

int main(void)
{
    syn_plugin_set set;
    syn_error err = {0};
    CHECK_MSG(syn_plugins_scan(SYN_CALC_DIR "/calc.so", &set, &err) == 0, "%s", err.msg);
    const syn_plugin_entry *e = syn_plugins_find_kind(&set, SYN_PLUGIN_SPECIALIST);
    CHECK_MSG(e, "no specialist plugin: %s", set.n ? set.items[0].reason : "none found");
    if (!e)
        return CHECK_DONE();
    CHECK(e->desc.name && !strcmp(e->desc.name, "calc"));
    CHECK(e->desc.version && !strcmp(e->desc.version, "1.0.0"));
    ops = &e->specialist;
    CHECK_MSG(ops->claim, "the ops table has no claim (ABI 1.6)");
    if (!ops->claim)
        return CHECK_DONE();
    syn_host_api host = {.struct_size = sizeof host};
    CHECK((inst = ops->create(&host, &err)) != NULL);
    if (!inst)
        return CHECK_DONE();

    check_set();
    check_describe();
    check_stop();
    CHECK(ops->claim(inst, NULL) == 0);

    ops->destroy(inst);
    syn_plugins_free(&set);
    return CHECK_DONE();
}
