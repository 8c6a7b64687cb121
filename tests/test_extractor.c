/* The extractor plugin on the labelled set (tests/data/extractor.jsonl):
 * loaded through the ABI, each text's facts normalised as the store
 * normalises them and compared with the expected triples. Prints
 * precision and recall, and the same for the seed's rule (a substring
 * " is a/an/the " cut into subject and object) on the same set, as the
 * baseline; fails below the targets (precision 0.9, recall 0.7). Then
 * tricky sentences one by one. Single-threaded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <synapse/loader.h>

#include "core/knowledge/store.h"
#include "tests/check.h"

#define MAX_FACTS 64

typedef struct triple {
    char s[512], p[64], o[512];
    int neg;
} triple;

typedef struct got {
    triple t[MAX_FACTS];
    int n;
} got;

static void put(got *g, const char *s, const char *p, const char *o, int neg)
{
    if (g->n == MAX_FACTS)
        return;
    triple *t = &g->t[g->n++];
    snprintf(t->s, sizeof t->s, "%s", s);
    snprintf(t->p, sizeof t->p, "%s", p);
    snprintf(t->o, sizeof t->o, "%s", o);
    syn_fact_normalise(t->s);
    syn_fact_normalise(t->o);
    t->neg = neg;
}

static int collect(void *user, const syn_fact *f)
{
    put(user, f->subject, f->predicate, f->object, f->negated);
    return 0;
}

/* The seed's rule: " is a ", " is an " or " is the " anywhere. */
static void baseline(const char *text, got *g)
{
    static const char *const cuts[] = {" is a ", " is an ", " is the "};
    for (size_t i = 0; i < 3; i++) {
        const char *at = strstr(text, cuts[i]);
        if (!at)
            continue;
        char s[512];
        snprintf(s, sizeof s, "%.*s", (int)(at - text), text);
        put(g, s, "is a", at + strlen(cuts[i]), 0);
        return;
    }
}

static int same(const triple *a, const triple *b)
{
    return !strcmp(a->s, b->s) && !strcmp(a->p, b->p) && !strcmp(a->o, b->o) && a->neg == b->neg;
}

typedef struct score {
    int found, right, expected;
} score;

static void count(score *sc, const got *want, const got *g, const char *text, int verbose)
{
    sc->expected += want->n;
    sc->found += g->n;
    for (int i = 0; i < g->n; i++) {
        int ok = 0;
        for (int j = 0; j < want->n && !ok; j++)
            ok = same(&g->t[i], &want->t[j]);
        sc->right += ok;
        if (!ok && verbose)
            printf("  extra:   (%s | %s | %s%s) from \"%s\"\n", g->t[i].s, g->t[i].p, g->t[i].o,
                   g->t[i].neg ? " | not" : "", text);
    }
    for (int j = 0; j < want->n && verbose; j++) {
        int ok = 0;
        for (int i = 0; i < g->n && !ok; i++)
            ok = same(&g->t[i], &want->t[j]);
        if (!ok)
            printf("  missed:  (%s | %s | %s%s) from \"%s\"\n", want->t[j].s, want->t[j].p, want->t[j].o,
                   want->t[j].neg ? " | not" : "", text);
    }
}

static const syn_extractor_ops *ops;
static void *inst;

static void extract(const char *text, got *g)
{
    g->n = 0;
    syn_error err = {0};
    CHECK_MSG(ops->extract(inst, text, collect, g, &err) == 0, "%s: %s", text, err.msg);
}

/* text gives exactly the facts listed "s|p|o[|not]", ";"-separated ("" none) */
static void gives(const char *text, const char *facts)
{
    got g, want = {0};
    extract(text, &g);
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", facts);
    for (char *save = NULL, *f = strtok_r(buf, ";", &save); f; f = strtok_r(NULL, ";", &save)) {
        char *s = strtok(f, "|"), *p = strtok(NULL, "|"), *o = strtok(NULL, "|"), *n = strtok(NULL, "|");
        put(&want, s, p, o, n != NULL);
    }
    score sc = {0};
    count(&sc, &want, &g, text, 1);
    CHECK_MSG(sc.right == want.n && g.n == want.n, "\"%s\": %d of %d facts right, %d found", text, sc.right, want.n,
              g.n);
}

/* Scores the extractor and the seed's rule on one labelled set. */
static void score_set(const char *name, int min_lines)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", SYN_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "r");
    CHECK_MSG(f, "cannot open %s", path);
    score ours = {0}, seed = {0};
    int lines = 0;
    char line[8192];
    while (f && fgets(line, sizeof line, f)) {
        json_object *o = json_tokener_parse(line), *facts = json_object_object_get(o, "facts");
        const char *text = json_object_get_string(json_object_object_get(o, "text"));
        CHECK_MSG(o && text && json_object_is_type(facts, json_type_array), "%s: bad line %d", name, lines + 1);
        if (!o || !text)
            continue;
        got want = {0}, g, b = {0};
        for (size_t i = 0; i < json_object_array_length(facts); i++) {
            json_object *x = json_object_array_get_idx(facts, i);
            put(&want, json_object_get_string(json_object_object_get(x, "subject")),
                json_object_get_string(json_object_object_get(x, "predicate")),
                json_object_get_string(json_object_object_get(x, "object")),
                json_object_get_boolean(json_object_object_get(x, "negated")));
        }
        extract(text, &g);
        baseline(text, &b);
        count(&ours, &want, &g, text, getenv("SYN_VERBOSE") != NULL);
        count(&seed, &want, &b, text, 0);
        json_object_put(o);
        lines++;
    }
    if (f)
        fclose(f);
    double p = ours.found ? (double)ours.right / ours.found : 0, r = ours.expected ? (double)ours.right / ours.expected : 0;
    double bp = seed.found ? (double)seed.right / seed.found : 0, br = seed.expected ? (double)seed.right / seed.expected : 0;
    printf("%s: %d sentences, %d facts: extractor precision %.3f (%d of %d), recall %.3f; the seed's rule precision "
           "%.3f (%d of %d), recall %.3f\n",
           name, lines, ours.expected, p, ours.right, ours.found, r, bp, seed.right, seed.found, br);
    CHECK_MSG(lines >= min_lines, "%s has %d sentences, fewer than %d", name, lines, min_lines);
    CHECK_MSG(p >= 0.9, "%s: precision %.3f is below 0.9", name, p);
    CHECK_MSG(r >= 0.7, "%s: recall %.3f is below 0.7", name, r);
    CHECK_MSG(p > bp && r > br, "%s: not better than the seed's rule", name);
}

int main(void)
{
    syn_plugin_set set;
    syn_error err = {0};
    CHECK_MSG(syn_plugins_scan(SYN_EXTRACTOR_DIR "/extractor.so", &set, &err) == 0, "%s", err.msg);
    const syn_plugin_entry *e = syn_plugins_find_kind(&set, SYN_PLUGIN_EXTRACTOR);
    CHECK_MSG(e, "no extractor plugin: %s", set.n ? set.items[0].reason : "none found");
    if (!e)
        return CHECK_DONE();
    ops = &e->extractor;
    syn_host_api host = {.struct_size = sizeof host};
    CHECK((inst = ops->create(&host, &err)) != NULL);

    /* the first set was written beside the grammar, the second (harder)
     * blind to it: each is reported, the targets hold for each */
    score_set("extractor.jsonl", 150);
    score_set("extractor_hard.jsonl", 100);

    /* tricky ones */
    gives("Is Python a language?", "");
    gives("I think maybe Go uses goroutines.", "");
    gives("It runs on Linux.", "");
    gives("Linux runs on x86, ARM and RISC-V.", "linux|runs on|x86;linux|runs on|arm;linux|runs on|risc-v");
    gives("Linus Torvalds created Linux.", "linux|created by|linus torvalds");
    gives("SQLite does not require a server.", "sqlite|requires|server|not");
    gives("Zorblax was invented by Quentin Marsh. It is blue.", "zorblax|invented by|quentin marsh");
    gives("The Gateway Arch is located in St. Louis.", "gateway arch|located in|st. louis");
    gives("Python was released in 1991!", "python|released in|1991");
    gives("Please install Node.js.", "");
    ops->destroy(inst);
    syn_plugins_free(&set);
    return CHECK_DONE();
}
