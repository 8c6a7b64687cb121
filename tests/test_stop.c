/* Stop-string matcher tests: hand-picked edge cases, then random texts and
 * stop sets fed in random chunks, checked against a brute-force reference
 * (same output however the text is chunked, never more held back than a
 * possible stop prefix, never a partial stop shown). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sample/stop.h"
#include "tests/check.h"

typedef struct {
    char text[4096];
    size_t len;
    int stopped;
} sink;

static void feed(syn_stop *m, sink *k, const char *s, size_t n)
{
    const char *out;
    size_t out_len;
    int stopped = -1;
    CHECK(syn_stop_feed(m, s, n, &out, &out_len, &stopped) == 0);
    CHECK(stopped == 0 || stopped == 1);
    CHECK(k->len + out_len < sizeof k->text);
    memcpy(k->text + k->len, out, out_len);
    k->len += out_len;
    k->text[k->len] = '\0';
    if (stopped)
        k->stopped = 1;
}

static void feeds(syn_stop *m, sink *k, const char *s) { feed(m, k, s, strlen(s)); }

static void flush(syn_stop *m, sink *k)
{
    const char *out;
    size_t out_len;
    syn_stop_flush(m, &out, &out_len);
    memcpy(k->text + k->len, out, out_len);
    k->len += out_len;
    k->text[k->len] = '\0';
}

static void init(syn_stop *m, const char *const *stops, size_t n)
{
    syn_error err = {0};
    CHECK_MSG(syn_stop_init(m, stops, n, &err) == 0, "%s", err.msg);
}

static void test_basic(void)
{
    syn_stop m;
    sink k = {0};
    const char *stops[] = {"END"};
    init(&m, stops, 1);
    feeds(&m, &k, "hello E");
    CHECK(strcmp(k.text, "hello ") == 0 && !k.stopped);
    feeds(&m, &k, "N");
    CHECK(strcmp(k.text, "hello ") == 0 && !k.stopped);
    feeds(&m, &k, "D more text");
    CHECK(strcmp(k.text, "hello ") == 0 && k.stopped);
    CHECK(syn_stop_which(&m) == 0);
    feeds(&m, &k, "after");
    flush(&m, &k);
    CHECK(strcmp(k.text, "hello ") == 0);

    /* a held prefix that turns out not to be a stop is released */
    syn_stop_reset(&m);
    CHECK(syn_stop_which(&m) == -1);
    memset(&k, 0, sizeof k);
    feeds(&m, &k, "xEN");
    CHECK(strcmp(k.text, "x") == 0);
    feeds(&m, &k, "Ding");
    CHECK(strcmp(k.text, "x") == 0 && k.stopped); /* "END" is inside "ENDing" */

    syn_stop_reset(&m);
    memset(&k, 0, sizeof k);
    feeds(&m, &k, "xEN");
    feeds(&m, &k, "Xy E");
    CHECK(strcmp(k.text, "xENXy ") == 0);
    flush(&m, &k); /* end of generation: the held "E" is real text */
    CHECK(strcmp(k.text, "xENXy E") == 0 && !k.stopped);
    syn_stop_free(&m);
}

static void test_no_stops(void)
{
    syn_stop m;
    sink k = {0};
    init(&m, NULL, 0);
    feeds(&m, &k, "anything <|im_end|> at all");
    CHECK(strcmp(k.text, "anything <|im_end|> at all") == 0);
    feed(&m, &k, "", 0);
    flush(&m, &k);
    CHECK(strcmp(k.text, "anything <|im_end|> at all") == 0 && !k.stopped);
    syn_stop_free(&m);
}

static void test_spanning_pieces(void)
{
    syn_stop m;
    sink k = {0};
    const char *stops[] = {"<|im_end|>", "\n\nUser:"};
    init(&m, stops, 2);
    const char *text = "The answer is 42.<|im_end|>garbage";
    for (const char *p = text; *p; p++)
        feed(&m, &k, p, 1);
    CHECK(strcmp(k.text, "The answer is 42.") == 0 && k.stopped && syn_stop_which(&m) == 0);

    syn_stop_reset(&m);
    memset(&k, 0, sizeof k);
    feeds(&m, &k, "Sure.\n");
    CHECK(strcmp(k.text, "Sure.") == 0);
    feeds(&m, &k, "\nUs");
    CHECK(strcmp(k.text, "Sure.") == 0);
    feeds(&m, &k, "er: hi");
    CHECK(strcmp(k.text, "Sure.") == 0 && k.stopped && syn_stop_which(&m) == 1);
    syn_stop_free(&m);
}

static void test_overlaps(void)
{
    syn_stop m;
    sink k = {0};
    /* the stop that completes first wins, whatever the chunking */
    const char *stops[] = {"abcd", "bc"};
    init(&m, stops, 2);
    feeds(&m, &k, "xabcd");
    CHECK(strcmp(k.text, "xa") == 0 && syn_stop_which(&m) == 1);
    syn_stop_reset(&m);
    memset(&k, 0, sizeof k);
    feeds(&m, &k, "xab");
    feeds(&m, &k, "cd");
    CHECK(strcmp(k.text, "xa") == 0 && syn_stop_which(&m) == 1);
    syn_stop_free(&m);

    /* same end: the longer (earlier-starting) one */
    const char *stops2[] = {"c", "abc"};
    init(&m, stops2, 2);
    memset(&k, 0, sizeof k);
    feeds(&m, &k, "zzabc");
    CHECK(strcmp(k.text, "zz") == 0 && syn_stop_which(&m) == 1);
    syn_stop_free(&m);

    /* self-overlapping stop: "aab" inside "aaab" */
    const char *stops3[] = {"aab"};
    init(&m, stops3, 1);
    memset(&k, 0, sizeof k);
    feeds(&m, &k, "a");
    feeds(&m, &k, "a");
    feeds(&m, &k, "a");
    CHECK(strcmp(k.text, "a") == 0);
    feeds(&m, &k, "b");
    CHECK(strcmp(k.text, "a") == 0 && k.stopped);
    syn_stop_free(&m);

    /* a stop that is a prefix of another */
    const char *stops4[] = {"###", "#"};
    init(&m, stops4, 2);
    memset(&k, 0, sizeof k);
    feeds(&m, &k, "ab#c");
    CHECK(strcmp(k.text, "ab") == 0 && syn_stop_which(&m) == 1);
    syn_stop_free(&m);
}

static void test_utf8(void)
{
    syn_stop m;
    sink k = {0};
    const char *stops[] = {"日本", "é!"};
    init(&m, stops, 2);
    feeds(&m, &k, "今日");
    CHECK(strcmp(k.text, "今") == 0); /* "日" may start "日本" */
    feeds(&m, &k, "は");
    CHECK(strcmp(k.text, "今日は") == 0);
    feeds(&m, &k, "日");
    CHECK(strcmp(k.text, "今日は") == 0);
    feeds(&m, &k, "café");
    CHECK(strcmp(k.text, "今日は日caf") == 0);
    feeds(&m, &k, "?");
    CHECK(strcmp(k.text, "今日は日café?") == 0);
    /* bytes of one character split across feeds: never emit half of it */
    const char *e_acute = "é";
    feed(&m, &k, e_acute, 1);
    CHECK(strcmp(k.text, "今日は日café?") == 0);
    feed(&m, &k, e_acute + 1, 1);
    CHECK(strcmp(k.text, "今日は日café?") == 0);
    const char *yen = "¥";
    feed(&m, &k, yen, 1); /* "é" + half of ¥: é cannot start "é!" any more */
    CHECK(strcmp(k.text, "今日は日café?é") == 0);
    feed(&m, &k, yen + 1, 1);
    feeds(&m, &k, "日本語");
    CHECK(strcmp(k.text, "今日は日café?é¥") == 0 && k.stopped && syn_stop_which(&m) == 0);
    syn_stop_free(&m);
}

static void test_invalid(void)
{
    syn_stop m;
    syn_error err = {0};
    const char *empty[] = {"ok", ""};
    CHECK(syn_stop_init(&m, empty, 2, &err) == SYN_ERR_INVALID && err.msg[0]);
    syn_stop_free(&m);
    const char *bad_utf8[] = {"\x80x"};
    CHECK(syn_stop_init(&m, bad_utf8, 1, &err) == SYN_ERR_INVALID);
    syn_stop_free(&m);
    const char *overlong[] = {"\xc0\xaf"};
    CHECK(syn_stop_init(&m, overlong, 1, &err) == SYN_ERR_INVALID);
    syn_stop_free(&m);
    const char *truncated[] = {"ab\xe6\x97"};
    CHECK(syn_stop_init(&m, truncated, 1, &err) == SYN_ERR_INVALID);
    syn_stop_free(&m);
    const char *null_entry[] = {NULL};
    CHECK(syn_stop_init(&m, null_entry, 1, &err) == SYN_ERR_INVALID);
    syn_stop_free(&m);
    CHECK(syn_stop_init(&m, NULL, 1, &err) == SYN_ERR_INVALID);
    syn_stop_free(&m);
}

/* ------------------------------------------------------------ random */

static uint64_t rng = 0x1234567;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static const char *const alphabet[] = {"a", "b", "c", "é", "日"};

static size_t random_chars(char *out, unsigned n_chars, size_t *bounds)
{
    size_t len = 0;
    for (unsigned i = 0; i < n_chars; i++) {
        const char *c = alphabet[rnd(5)];
        if (bounds)
            bounds[i] = len;
        memcpy(out + len, c, strlen(c));
        len += strlen(c);
    }
    out[len] = '\0';
    return len;
}

/* First stop by end, then start, then index; returns the cut or len. */
static size_t reference_cut(const char *text, size_t len, char stops[][32], size_t n, int *which)
{
    *which = -1;
    for (size_t end = 1; end <= len; end++) {
        size_t best_start = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            size_t sl = strlen(stops[i]);
            if (sl <= end && memcmp(text + end - sl, stops[i], sl) == 0 && end - sl < best_start) {
                best_start = end - sl;
                *which = (int)i;
            }
        }
        if (best_start != SIZE_MAX)
            return best_start;
    }
    return len;
}

/* Longest proper suffix of text[0, len) that starts some stop. */
static size_t reference_hold(const char *text, size_t len, char stops[][32], size_t n)
{
    for (size_t pos = 0; pos < len; pos++)
        for (size_t i = 0; i < n; i++) {
            size_t sl = strlen(stops[i]);
            if (sl > len - pos && memcmp(text + pos, stops[i], len - pos) == 0)
                return len - pos;
        }
    return 0;
}

static void test_random(void)
{
    int failures_before = check_failures;
    for (int trial = 0; trial < 3000 && check_failures == failures_before; trial++) {
        char stops[4][32];
        const char *ptrs[4];
        size_t n = 1 + rnd(4);
        for (size_t i = 0; i < n; i++) {
            random_chars(stops[i], 1 + rnd(4), NULL);
            ptrs[i] = stops[i];
        }
        char text[256];
        size_t bounds[64];
        unsigned n_chars = 1 + rnd(40);
        size_t len = random_chars(text, n_chars, bounds);
        int want_which;
        size_t cut = reference_cut(text, len, stops, n, &want_which);

        for (int mode = 0; mode < 3; mode++) { /* whole, random char chunks, bytes */
            syn_stop m;
            sink k = {0};
            init(&m, ptrs, n);
            size_t fed = 0;
            while (fed < len && !k.stopped) {
                size_t next;
                if (mode == 0) {
                    next = len;
                } else if (mode == 1) {
                    unsigned c = 0;
                    while (c < n_chars && bounds[c] <= fed)
                        c++;
                    c += rnd(4);
                    next = c < n_chars ? bounds[c] : len;
                } else {
                    next = fed + 1;
                }
                feed(&m, &k, text + fed, next - fed);
                fed = next;
                CHECK_MSG(k.len <= cut && memcmp(k.text, text, k.len) == 0,
                          "trial %d mode %d: emitted '%s' is not a prefix of '%.*s'", trial, mode, k.text, (int)cut,
                          text);
                if (!k.stopped && mode != 2)
                    CHECK_MSG(k.len == fed - reference_hold(text, fed, stops, n),
                              "trial %d mode %d: held back %zu bytes of '%.*s'", trial, mode, fed - k.len, (int)fed,
                              text);
            }
            flush(&m, &k);
            CHECK_MSG(k.len == cut && memcmp(k.text, text, cut) == 0, "trial %d mode %d: got '%s', want '%.*s'",
                      trial, mode, k.text, (int)cut, text);
            CHECK(k.stopped == (want_which >= 0));
            CHECK_MSG(syn_stop_which(&m) == want_which, "trial %d mode %d: stop %d, want %d", trial, mode,
                      syn_stop_which(&m), want_which);
            syn_stop_free(&m);
        }
    }
}

int main(void)
{
    test_basic();
    test_no_stops();
    test_spanning_pieces();
    test_overlaps();
    test_utf8();
    test_invalid();
    test_random();
    return CHECK_DONE();
}
