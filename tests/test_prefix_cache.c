/* The paged KV cache and its prefix tree (core/sched/kv_pages.c): a prompt
 * sharing a prefix with one run before reuses exactly that prefix (whole
 * pages shared, the rest of a page copied or taken over), the next turn of
 * a conversation reuses the whole of the last one, requests arriving
 * together share the pages of their common prefix (computed once), nothing
 * is reused under another adapter, and under a small page budget the least
 * recently used pages are evicted. Every answer equals, bit for bit, the one
 * a fresh scheduler gives. On a backend without pages (a plugin from before
 * ABI 1.4: the test backend) nothing is shared and answers are unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synapse/session.h>
#include "tests/sched_answer.h"

#define N_GEN 8
#define SHARED 100 /* tokens of the common prefix: three pages of 32 and 4 more */

static syn_session sess;
static syn_lora *lora;

/* n token ids from a seeded generator, inside the vocabulary */
static void fill(int32_t *t, int32_t n, uint32_t seed)
{
    for (int32_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        t[i] = 100 + (int32_t)(seed >> 8) % 2000;
    }
}

static syn_sched *sched(int32_t n_slots, int32_t n_ctx, int32_t cache_tokens)
{
    syn_sched_params p = {.n_slots = n_slots, .n_ctx = n_ctx, .max_rows = 64, .max_queue = 16,
                          .cache_tokens = cache_tokens};
    syn_sched *s = NULL;
    syn_error err = {0};
    CHECK_MSG(syn_sched_new(sess.model, sess.tok, &p, NULL, &s, &err) == 0, "%s", err.msg);
    return s;
}

/* The stats once the scheduler has seen its last job end (a job's waiter
 * may wake before the scheduler counts its pages free): at most 5 s. */
static syn_sched_stats stats(syn_sched *s)
{
    syn_sched_stats st;
    for (int i = 0; i < 500; i++) {
        syn_sched_get_stats(s, &st);
        if (!st.active && !st.queued && !st.kv_pages_used)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return st;
}

static void run(syn_sched *s, const int32_t *prompt, int32_t n, syn_lora *adapter, answer *a)
{
    collect(submit_greedy(s, prompt, n, N_GEN, adapter, 1.0f), a);
}

/* The answer of a scheduler that has seen nothing before. */
static void cold(const int32_t *prompt, int32_t n, syn_lora *adapter, answer *a)
{
    syn_sched *s = sched(2, 256, 0);
    run(s, prompt, n, adapter, a);
    CHECK_MSG(a->n_cached == 0, "a fresh scheduler reused %d tokens", a->n_cached);
    syn_sched_free(s);
}

int main(void)
{
    /* plugins are scanned once per process: the CPU backend's directory
     * and the test backend's (tests/plugins/.libs, used at the end) */
    const char *top = getenv("top_builddir"), *dirs = getenv("SYNAPSE_PLUGIN_DIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s%s%s/tests/plugins/.libs", dirs ? dirs : "", dirs ? ":" : "", top ? top : ".");
    setenv("SYNAPSE_PLUGIN_DIR", dir, 1);
    setenv("SYNAPSE_TEST_BACKEND", "1", 1);
    syn_error err = {0};
    syn_session_params sp = {.model_path = testdata("models/qwen2-f16.gguf"), .backend = "cpu", .n_threads = 2};
    if (syn_session_open(&sp, &sess, &err) || syn_lora_load(sess.model, testdata("models/lora-a.gguf"), &lora, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 99;
    }
    /* a = shared + 40 (five pages), b = shared + 12, c and d = another
     * prefix of exactly three pages + 10 each */
    int32_t a[SHARED + 40], b[SHARED + 12], c[96 + 10], d[96 + 10];
    fill(a, SHARED + 40, 1);
    memcpy(b, a, sizeof(int32_t) * SHARED);
    fill(b + SHARED, 12, 2);
    fill(c, 96, 3);
    memcpy(d, c, sizeof(int32_t) * 96);
    fill(c + 96, 10, 4);
    fill(d + 96, 10, 5);
    int32_t na = SHARED + 40, nb = SHARED + 12, nc = 96 + 10;

    answer a0, b0, c0, d0, la0, got;
    cold(a, na, NULL, &a0);
    cold(b, nb, NULL, &b0);
    cold(c, nc, NULL, &c0);
    cold(d, nc, NULL, &d0);
    cold(a, na, lora, &la0);
    CHECK(a0.n == N_GEN && !same(&a0, &la0));

    syn_sched *s = sched(2, 256, 0);
    if (s) {
        syn_sched_stats st = stats(s);
        CHECK_MSG(st.kv_page_len == 32 && st.kv_pages == 2 * 8, "%d pages of %d", st.kv_pages, st.kv_page_len);
        run(s, a, na, NULL, &got);
        CHECK(same(&got, &a0) && got.n_cached == 0);
        /* b shares 100 tokens with a: three pages mapped, 4 positions copied
         * from a's fourth page (a's fifth hangs from it, so it stays) */
        run(s, b, nb, NULL, &got);
        CHECK_MSG(got.n_cached == SHARED, "b reused %d tokens, not %d", got.n_cached, SHARED);
        CHECK_MSG(same(&got, &b0), "b after a differs from b alone");
        /* the same prompt again: all but its last token */
        run(s, a, na, NULL, &got);
        CHECK_MSG(got.n_cached == na - 1 && same(&got, &a0), "a again reused %d of %d", got.n_cached, na);
        /* under an adapter nothing is reused */
        run(s, a, na, lora, &got);
        CHECK_MSG(got.n_cached == 0 && same(&got, &la0), "a under the adapter reused %d", got.n_cached);
        /* the next turn of a conversation: a, its answer, more. Every
         * position the last turn wrote is there (the answer's last token
         * never ran), the last page taken over rather than copied */
        int32_t turn[SHARED + 40 + N_GEN + 6];
        memcpy(turn, a, sizeof(int32_t) * (size_t)na);
        memcpy(turn + na, a0.id, sizeof(int32_t) * N_GEN);
        fill(turn + na + N_GEN, 6, 6);
        int32_t nt = na + N_GEN + 6;
        answer t0;
        cold(turn, nt, NULL, &t0);
        run(s, turn, nt, NULL, &got);
        CHECK_MSG(got.n_cached == na + N_GEN - 1 && same(&got, &t0), "the next turn reused %d of %d", got.n_cached,
                  na + N_GEN - 1);
        st = stats(s);
        CHECK_MSG(st.kv_pages_used == 0 && st.kv_pages_cached > 0 && st.kv_evictions == 0,
                  "idle: %d pages used, %d cached, %llu evicted", st.kv_pages_used, st.kv_pages_cached,
                  (unsigned long long)st.kv_evictions);
        syn_sched_free(s);
    }

    /* c and d arrive together: d waits for c's three shared pages and maps
     * them, so the two hold three pages fewer than when run apart */
    int32_t cached_c = 0, cached_d = 0;
    for (int k = 0; k < 2; k++) {
        s = sched(2, 256, 0);
        run(s, k ? d : c, nc, NULL, &got);
        if (s)
            *(k ? &cached_d : &cached_c) = stats(s).kv_pages_cached;
        syn_sched_free(s);
    }
    s = sched(2, 256, 0);
    if (s) {
        syn_job *jc = submit_greedy(s, c, nc, N_GEN, NULL, 1.0f), *jd = submit_greedy(s, d, nc, N_GEN, NULL, 1.0f);
        answer gc, gd;
        collect(jc, &gc);
        collect(jd, &gd);
        CHECK_MSG(same(&gc, &c0) && same(&gd, &d0), "c and d together differ from alone");
        CHECK_MSG(gc.n_cached == 0 && gd.n_cached == 96, "together: c reused %d, d %d (96)", gc.n_cached, gd.n_cached);
        int32_t both = stats(s).kv_pages_cached;
        CHECK_MSG(both == cached_c + cached_d - 3, "c and d together cache %d pages, apart %d + %d", both, cached_c,
                  cached_d);
        syn_sched_free(s);
    }

    /* one slot of 128 positions, four pages in all: a prompt of other
     * tokens takes every page a's left, least recently used first */
    int32_t e[100], a2[110];
    fill(e, 100, 7);
    memcpy(a2, a, sizeof a2);
    answer e0, a20;
    cold(e, 100, NULL, &e0);
    cold(a2, 110, NULL, &a20);
    s = sched(1, 128, 0);
    if (s) {
        run(s, a2, 110, NULL, &got);
        run(s, e, 100, NULL, &got);
        CHECK(same(&got, &e0) && got.n_cached == 0);
        run(s, a2, 110, NULL, &got);
        CHECK_MSG(same(&got, &a20) && got.n_cached == 0, "a after e reused %d tokens of evicted pages", got.n_cached);
        syn_sched_stats st = stats(s);
        CHECK_MSG(st.kv_evictions == 8 && st.kv_pages == 4, "%llu evictions, %d pages",
                  (unsigned long long)st.kv_evictions, st.kv_pages);
        syn_sched_free(s);
    }
    /* with room for both (128 positions more), nothing is evicted and a
     * finds all of it again */
    s = sched(1, 128, 128);
    if (s) {
        run(s, a2, 110, NULL, &got);
        run(s, e, 100, NULL, &got);
        run(s, a2, 110, NULL, &got);
        CHECK_MSG(same(&got, &a20) && got.n_cached == 109, "a reused %d of 109", got.n_cached);
        CHECK(stats(s).kv_evictions == 0);
        syn_sched_free(s);
    }

    /* a context of fewer pages than its slots need is refused, naming both
     * counts; so is a negative cache */
    syn_ctx_params small = {.n_ctx = 128, .n_slots = 2, .max_rows = 64, .max_logit_rows = 1, .n_pages = 7};
    syn_ctx *ctx = NULL;
    CHECK(syn_ctx_new(sess.model, &small, &ctx, &err) == SYN_ERR_INVALID && !ctx);
    CHECK_MSG(strstr(err.msg, "7 KV pages") && strstr(err.msg, "the 8 the slots need"), "%s", err.msg);
    syn_sched_params neg = {.n_slots = 1, .n_ctx = 128, .max_rows = 64, .max_queue = 4, .cache_tokens = -1};
    syn_sched *bad = NULL;
    CHECK(syn_sched_new(sess.model, sess.tok, &neg, NULL, &bad, &err) == SYN_ERR_INVALID && !bad);

    syn_lora_free(lora);
    syn_session_close(&sess);

    /* the test backend keeps a contiguous cache per slot: no pages,
     * nothing reused */
    syn_session_params tp = {.model_path = testdata("models/qwen2-f16.gguf"), .backend = "test-good_backend"};
    if (syn_session_open(&tp, &sess, &err)) {
        CHECK_MSG(0, "the test backend: %s", err.msg);
        return 1;
    }
    syn_ctx_params pages = {.n_ctx = 128, .n_slots = 1, .max_rows = 64, .max_logit_rows = 1, .n_pages = 8};
    ctx = NULL;
    CHECK(syn_ctx_new(sess.model, &pages, &ctx, &err) == SYN_ERR_UNSUPPORTED && !ctx);
    CHECK_MSG(strstr(err.msg, "n_pages is 8") && strstr(err.msg, "no pages"), "%s", err.msg);
    answer ta0, tb0;
    cold(a, na, NULL, &ta0);
    cold(b, nb, NULL, &tb0);
    s = sched(2, 256, 0);
    if (s) {
        CHECK(stats(s).kv_pages == 0 && stats(s).kv_page_len == 0);
        for (int k = 0; k < 2; k++) {
            run(s, a, na, NULL, &got);
            CHECK_MSG(same(&got, &ta0) && got.n_cached == 0, "unpaged: a reused %d", got.n_cached);
            run(s, b, nb, NULL, &got);
            CHECK_MSG(same(&got, &tb0) && got.n_cached == 0, "unpaged: b reused %d", got.n_cached);
        }
        syn_sched_free(s);
    }
    syn_session_close(&sess);
    return check_failures ? 1 : 0;
}
