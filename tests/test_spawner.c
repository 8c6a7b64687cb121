/* The spawner plugin, loaded through the ABI: the specialists it proposes
 * for batches of queries no specialist served well (two topics among
 * scattered questions, a topic too small, none at all), that it says the
 * same for the same batch, stops when the receiver does, and keeps every
 * string well-formed on hostile input. Single-threaded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synapse/loader.h>

#include "tests/check.h"

#define MAX_GOT 8

typedef struct proposal {
    char name[64], description[512], system_prompt[1024], reason[512];
    char caps[8][64];
    int n_caps;
} proposal;

typedef struct got {
    proposal p[MAX_GOT];
    int n;
    int calls;     /* emit calls, kept ones or not */
    int stop_at;   /* > 0: emit returns 1 on this call */
    int malformed; /* strings that were not valid UTF-8, or a bad name */
} got;

/* 1 when s is well-formed UTF-8 (no overlongs, surrogates or cut
 * sequences) */
static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        int n = c < 0x80                  ? 0
                : c >= 0xc2 && c <= 0xdf ? 1
                : c >= 0xe0 && c <= 0xef ? 2
                : c >= 0xf0 && c <= 0xf4 ? 3
                                         : -1;
        if (n < 0)
            return 0;
        unsigned long v = n == 0 ? c : c & (0x3fu >> n);
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            v = v << 6 | (p[i] & 0x3f);
        }
        if ((n == 2 && v < 0x800) || (n == 3 && (v < 0x10000 || v > 0x10ffff)) || (v >= 0xd800 && v <= 0xdfff))
            return 0;
        p += n + 1;
    }
    return 1;
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 32)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static int collect(void *user, const syn_spawn_proposal *p)
{
    got *g = user;
    g->calls++;
    int ok = p->name && p->description && p->system_prompt && p->reason && name_ok(p->name) &&
             utf8_ok(p->description) && utf8_ok(p->system_prompt) && utf8_ok(p->reason) && p->n_capabilities > 0 &&
             p->n_capabilities <= 6;
    for (int i = 0; ok && i < p->n_capabilities; i++)
        ok = p->capabilities[i] && *p->capabilities[i] && utf8_ok(p->capabilities[i]);
    if (!ok) {
        g->malformed++;
        return 0;
    }
    if (g->n < MAX_GOT) {
        proposal *q = &g->p[g->n++];
        snprintf(q->name, sizeof q->name, "%s", p->name);
        snprintf(q->description, sizeof q->description, "%s", p->description);
        snprintf(q->system_prompt, sizeof q->system_prompt, "%s", p->system_prompt);
        snprintf(q->reason, sizeof q->reason, "%s", p->reason);
        q->n_caps = p->n_capabilities < 8 ? p->n_capabilities : 8;
        for (int i = 0; i < q->n_caps; i++)
            snprintf(q->caps[i], sizeof q->caps[i], "%s", p->capabilities[i]);
    }
    return g->stop_at > 0 && g->calls >= g->stop_at;
}

static const syn_spawner_ops *ops;
static void *inst;

static int propose(const char *const *queries, int n, got *g)
{
    int stop_at = g->stop_at;
    memset(g, 0, sizeof *g);
    g->stop_at = stop_at;
    syn_error err = {0};
    int rc = ops->propose(inst, queries, n, collect, g, &err);
    CHECK_MSG(rc == 0, "propose: %d %s", rc, err.msg);
    CHECK_MSG(g->malformed == 0, "%d malformed proposal(s)", g->malformed);
    return rc;
}

static void print(const got *g)
{
    for (int i = 0; i < g->n; i++) {
        const proposal *p = &g->p[i];
        printf("  name: %s\n  description: %s\n  system_prompt: %s\n  reason: %s\n  capabilities:", p->name,
               p->description, p->system_prompt, p->reason);
        for (int c = 0; c < p->n_caps; c++)
            printf(" \"%s\"", p->caps[c]);
        printf("\n\n");
    }
}

static void caps_are(const proposal *p, const char *const *want, int n)
{
    CHECK_MSG(p->n_caps == n, "%s: %d capabilities, want %d", p->name, p->n_caps, n);
    for (int i = 0; i < n && i < p->n_caps; i++)
        CHECK_MSG(!strcmp(p->caps[i], want[i]), "%s: capability %d is \"%s\", want \"%s\"", p->name, i, p->caps[i],
                  want[i]);
}

/* 8 on kubernetes, 6 on sourdough, 16 scattered */
static const char *const mixed[] = {
    "What is the capital of Australia?",
    "How do I restart a kubernetes pod?",
    "My sourdough starter smells like acetone",
    "Translate good morning into French",
    "Why are my kubernetes pods stuck in Pending?",
    "How many moons does Jupiter have?",
    "How long should sourdough bread proof overnight?",
    "Scale a kubernetes deployment to five replicas",
    "Convert 100 dollars to euros",
    "Who wrote Pride and Prejudice?",
    "kubernetes deployments keep rolling back",
    "Feeding schedule for a sourdough starter",
    "Recommend a thriller novel for the weekend",
    "Show logs of all pods in a kubernetes namespace",
    "How do I fix a leaking faucet?",
    "Why is my sourdough loaf so dense?",
    "Is coffee bad for your heart?",
    "What is the difference between a kubernetes deployment and a statefulset?",
    "Explain the rules of chess castling",
    "Best flour for sourdough baking",
    "What year did the Berlin wall fall?",
    "kubernetes: how to expose pods with a service",
    "Best stretches for lower back pain",
    "How to remove red wine stains from carpet",
    "Can I bake sourdough with a weak starter?",
    "Tips for a job interview at a startup",
    "Rolling update of kubernetes deployments without pod downtime",
    "What causes thunderstorms in summer?",
    "Write a haiku about autumn leaves",
    "Python list comprehension with a condition",
};
#define N_MIXED ((int)(sizeof mixed / sizeof *mixed))

static void test_mixed(void)
{
    got g = {0};
    CHECK(N_MIXED == 30);
    propose(mixed, N_MIXED, &g);
    printf("30 mixed queries: %d proposal(s)\n", g.n);
    print(&g);
    CHECK_MSG(g.n == 2, "%d proposals, want 2", g.n);
    if (g.n < 2)
        return;
    const proposal *k = &g.p[0], *s = &g.p[1];
    CHECK(!strcmp(k->name, "kubernetes"));
    static const char *const kcaps[] = {"kubernetes", "pods", "deployment"};
    caps_are(k, kcaps, 3);
    CHECK(!strcmp(k->description, "Questions about kubernetes, pods and deployment"));
    CHECK(!strcmp(k->system_prompt, "You are a specialist in kubernetes, pods and deployment. Answer questions in "
                                     "this area precisely and concisely; say so when you are not sure."));
    CHECK_MSG(strstr(k->reason, "8 of the 30"), "%s", k->reason);
    CHECK(!strcmp(k->reason, "8 of the 30 queries no specialist served well are about kubernetes (e.g. \"Rolling "
                             "update of kubernetes deployments without pod downtime\")"));

    CHECK(!strcmp(s->name, "sourdough"));
    static const char *const scaps[] = {"sourdough", "starter"};
    caps_are(s, scaps, 2);
    CHECK(!strcmp(s->description, "Questions about sourdough and starter"));
    CHECK_MSG(strstr(s->reason, "6 of the 30"), "%s", s->reason);
    CHECK_MSG(strstr(s->reason, "(e.g. \"My sourdough starter smells like acetone\")"), "%s", s->reason);
}

static void test_small_and_empty(void)
{
    static const char *const four[] = {
        "How do I restart a kubernetes pod?",
        "kubernetes pods stuck in Pending",
        "Scale a kubernetes deployment",
        "kubernetes namespace quotas",
    };
    got g = {0};
    propose(four, 4, &g);
    CHECK_MSG(g.n == 0 && g.calls == 0, "4 queries on one topic: %d proposal(s)", g.n);
    propose(NULL, 0, &g);
    CHECK(g.calls == 0);
    propose(mixed, 0, &g);
    CHECK(g.calls == 0);

    /* only stop words, numbers and short words: nothing to group */
    static const char *const noise[] = {"What is it?", "How do you do that?", "Please explain 42 to me",
                                        "tell me what 1990 is", "is it ok?", "Why? Why not?", "a b c d e f"};
    propose(noise, 7, &g);
    CHECK_MSG(g.calls == 0, "stop words grouped: %s", g.n ? g.p[0].name : "");
}

static void test_bad_arguments(void)
{
    syn_error err = {0};
    got g = {0};
    CHECK(ops->propose(inst, mixed, -1, collect, &g, &err) == -1);
    CHECK(err.code == SYN_ERR_INVALID && !strncmp(err.msg, "spawner: ", 9));
    memset(&err, 0, sizeof err);
    CHECK(ops->propose(inst, NULL, 3, collect, &g, &err) == -1 && err.code == SYN_ERR_INVALID);
    CHECK(ops->propose(inst, mixed, 3, NULL, &g, &err) == -1);
    CHECK(g.calls == 0);
}

static int same(const got *a, const got *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++) {
        const proposal *p = &a->p[i], *q = &b->p[i];
        if (strcmp(p->name, q->name) || strcmp(p->description, q->description) ||
            strcmp(p->system_prompt, q->system_prompt) || strcmp(p->reason, q->reason) || p->n_caps != q->n_caps)
            return 0;
        for (int c = 0; c < p->n_caps; c++)
            if (strcmp(p->caps[c], q->caps[c]))
                return 0;
    }
    return 1;
}

/* five topics of five queries each, all tied: the first four seen win;
 * the fillers stem apart (no final e or doubled letter), so each topic has
 * one capability */
static void test_limit_and_ties(void)
{
    static const char *const topics[] = {"guitar", "tomato", "bitcoin", "marathon", "origami"};
    static char text[25][64];
    const char *q[25];
    for (int i = 0; i < 25; i++) {
        snprintf(text[i], sizeof text[i], "%s filler%c%c", topics[i / 5], 'a' + i / 5, "aiouy"[i % 5]);
        q[i] = text[i];
    }
    got a = {0}, b = {0};
    propose(q, 25, &a);
    CHECK_MSG(a.n == 4, "%d proposals, want 4", a.n);
    for (int i = 0; i < a.n && i < 4; i++) {
        CHECK_MSG(!strcmp(a.p[i].name, topics[i]), "proposal %d is %s, want %s", i, a.p[i].name, topics[i]);
        CHECK_MSG(a.p[i].n_caps == 1, "%s: %d capabilities", a.p[i].name, a.p[i].n_caps);
        CHECK_MSG(strstr(a.p[i].reason, "5 of the 25"), "%s", a.p[i].reason);
    }
    propose(q, 25, &b);
    CHECK_MSG(same(&a, &b), "two calls on the same queries differ");
}

/* at most six capabilities, the first seen first on a tie; a name two
 * topics reduce to ("cafe", "caf\xc3\xa9") told apart */
static void test_caps_and_names(void)
{
    const char *same5[5];
    for (int i = 0; i < 5; i++)
        same5[i] = "alpha bravo charlie delta echo foxtrot golf hotel";
    got g = {0};
    propose(same5, 5, &g);
    CHECK_MSG(g.n == 1, "%d proposals", g.n);
    if (g.n == 1) {
        static const char *const want[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"};
        caps_are(&g.p[0], want, 6);
        CHECK(!strcmp(g.p[0].description, "Questions about alpha, bravo, charlie, delta, echo and foxtrot"));
    }

    static const char *const cafes[] = {
        "cafe opening hours",  "cafe wifi password",  "cafe loyalty card",  "cafe vegan menu",  "cafe parking lot",
        "caf\xc3\xa9 au lait", "caf\xc3\xa9 cr\xc3\xa8me", "caf\xc3\xa9 noir", "caf\xc3\xa9 glac\xc3\xa9",
        "caf\xc3\xa9 serr\xc3\xa9",
    };
    propose(cafes, 10, &g);
    CHECK_MSG(g.n == 2, "%d proposals", g.n);
    if (g.n == 2) {
        CHECK_MSG(!strcmp(g.p[0].name, "cafe") && !strcmp(g.p[1].name, "cafe-2"), "%s, %s", g.p[0].name, g.p[1].name);
        CHECK(!strcmp(g.p[0].caps[0], "cafe") && !strcmp(g.p[1].caps[0], "caf\xc3\xa9"));
    }
}

static void test_determinism(void)
{
    got a = {0}, b = {0};
    propose(mixed, N_MIXED, &a);
    propose(mixed, N_MIXED, &b);
    CHECK_MSG(a.n > 0 && same(&a, &b), "two calls on the same queries differ");
}

static void test_stop(void)
{
    got g = {.stop_at = 1};
    CHECK(propose(mixed, N_MIXED, &g) == 0);
    CHECK_MSG(g.calls == 1 && g.n == 1, "emit called %d times after it asked to stop", g.calls);
    if (g.n)
        CHECK(!strcmp(g.p[0].name, "kubernetes"));
}

/* NULLs, empty strings, a 100 KB query, malformed bytes, curly quotes,
 * accented and Cyrillic topics: no crash, every string well-formed */
static void test_hostile(void)
{
    size_t big_len = 100 * 1024;
    char *big = malloc(big_len + 1);
    CHECK(big != NULL);
    if (!big)
        return;
    for (size_t i = 0; i < big_len; i++)
        big[i] = "kubernetes pods \xff\xfe\xc0\xaf\t\n\"\x01"[i % 24];
    big[big_len] = '\0';
    char *letters = malloc(big_len + 1); /* one 100 KB word */
    CHECK(letters != NULL);
    if (!letters) {
        free(big);
        return;
    }
    memset(letters, 'k', big_len);
    letters[big_len] = '\0';

    const char *q[] = {
        big,
        NULL,
        "",
        letters,
        "\xff kubernetes \xc0\xaf pods",
        "kubernetes\xe2\x80\x99s pods are \xed\xa0\x80 broken",
        "\xf4\x90\x80\x80 kubernetes pods \xe2\x82",
        "kubernetes pods\x80",
        "\"kubernetes\" \xc2\xabpods\xc2\xbb \x7f",
        NULL,
        "I don\xe2\x80\x99t know how to bake Br\xc3\xb6tchen",
        "Br\xc3\xb6tchen crust too soft",
        "Why do Br\xc3\xb6tchen go stale?",
        "Br\xc3\xb6tchen dough hydration",
        "Frozen Br\xc3\xb6tchen in the oven",
        "\xd0\xba\xd1\x83\xd0\xb1 \xd1\x85\xd0\xbb\xd0\xb5\xd0\xb1",
        "\xd0\xba\xd1\x83\xd0\xb1 \xd0\xb8\xd0\xb7\xd0\xb1\xd0\xb0",
        "\xd0\xba\xd1\x83\xd0\xb1 \xd0\xb4\xd0\xbe\xd0\xbc",
        "\xd0\xba\xd1\x83\xd0\xb1 \xd0\xbb\xd0\xb5\xd1\x81",
        "\xd0\xba\xd1\x83\xd0\xb1 \xd0\xbc\xd0\xbe\xd1\x80\xd0\xb5",
        "\xe2\x80\x9c\xe2\x80\x9d\xe2\x80\x94\xe3\x80\x82",
        "\xc3",
        "0000 1111 2222 3333 4444",
    };
    int n = (int)(sizeof q / sizeof *q);
    got g = {0};
    propose(q, n, &g);
    printf("hostile batch: %d proposal(s)\n", g.n);
    print(&g);
    CHECK_MSG(g.n == 3, "%d proposals, want 3 (kubernetes, brotchen, a Cyrillic topic)", g.n);
    if (g.n == 3) {
        CHECK(!strcmp(g.p[0].name, "kubernetes"));
        CHECK_MSG(strstr(g.p[0].reason, "6 of the 20"), "%s", g.p[0].reason);
        CHECK(!strcmp(g.p[1].name, "brotchen") && !strcmp(g.p[1].caps[0], "br\xc3\xb6tchen"));
        CHECK_MSG(!strncmp(g.p[2].name, "topic-", 6), "%s", g.p[2].name);
        CHECK(!strcmp(g.p[2].caps[0], "\xd0\xba\xd1\x83\xd0\xb1"));
        for (int i = 0; i < g.n; i++)
            CHECK_MSG(strlen(g.p[i].reason) < 300, "reason of %zu bytes", strlen(g.p[i].reason));
    }
    for (int i = 0; i < g.n; i++)
        for (int c = 0; c < g.p[i].n_caps; c++)
            CHECK_MSG(strcmp(g.p[i].caps[c], "don") && !strstr(g.p[i].caps[c], "\xe2\x80"), "capability \"%s\"",
                      g.p[i].caps[c]);
    free(big);
    free(letters);
}

int main(void)
{
    syn_plugin_set set;
    syn_error err = {0};
    CHECK_MSG(syn_plugins_scan(SYN_SPAWNER_DIR "/spawner.so", &set, &err) == 0, "%s", err.msg);
    const syn_plugin_entry *e = syn_plugins_find_kind(&set, SYN_PLUGIN_SPAWNER);
    CHECK_MSG(e, "no spawner plugin: %s", set.n ? set.items[0].reason : "none found");
    if (!e)
        return CHECK_DONE();
    CHECK(!strcmp(e->desc.name, "spawner") && !strcmp(e->desc.version, "1.0.0"));
    ops = &e->spawner;
    syn_host_api host = {.struct_size = sizeof host};
    CHECK((inst = ops->create(&host, &err)) != NULL);
    if (!inst) {
        syn_plugins_free(&set);
        return CHECK_DONE();
    }
    test_mixed();
    test_small_and_empty();
    test_bad_arguments();
    test_limit_and_ties();
    test_caps_and_names();
    test_determinism();
    test_stop();
    test_hostile();
    ops->destroy(inst);
    syn_plugins_free(&set);
    return CHECK_DONE();
}
