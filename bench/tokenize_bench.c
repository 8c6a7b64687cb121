/* Tokenizer throughput: loads each vocabulary, tokenizes about 1 MB of mixed
 * text (llama.cpp's test strings repeated: prose, code, CJK, emoji, digits,
 * white space runs) and prints load time, MB/s and tokens/s, plus decode
 * speed. Usage: tokenize_bench [VOCAB.gguf [TEXT_FILE]] (defaults: the four
 * test vocabularies under SYN_TESTDATA and their .inp file). Single thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synapse/tokenizer.h>
#include <synapse/gguf.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The input repeated up to about target bytes. */
static char *repeat(const char *s, size_t n, size_t target, size_t *out_len)
{
    size_t reps = n ? (target + n - 1) / n : 0;
    char *r = malloc(reps * n + 1);
    if (!r)
        return NULL;
    for (size_t i = 0; i < reps; i++)
        memcpy(r + i * n, s, n);
    *out_len = reps * n;
    return r;
}

static int bench(const char *vocab, const char *text_path)
{
    size_t n0 = 0;
    char *base = syn_read_file(text_path, &n0);
    if (!base) {
        fprintf(stderr, "tokenize_bench: cannot read %s\n", text_path);
        return 1;
    }
    size_t n = 0;
    char *text = repeat(base, n0, 1 << 20, &n);
    free(base);
    if (!text) {
        fprintf(stderr, "tokenize_bench: out of memory\n");
        return 1;
    }
    syn_error err;
    syn_gguf *g;
    syn_tokenizer *t;
    double t0 = now();
    if (syn_gguf_open(vocab, &g, &err) || syn_tokenizer_load(g, &t, &err)) {
        fprintf(stderr, "tokenize_bench: %s: %s\n", vocab, err.msg);
        free(text);
        return 1;
    }
    double t_load = now() - t0;
    syn_gguf_close(g);

    int32_t *ids = NULL;
    size_t n_ids = 0;
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        free(ids);
        double a = now();
        if (syn_tokenize(t, text, n, 1, 0, &ids, &n_ids, &err)) {
            fprintf(stderr, "tokenize_bench: %s\n", err.msg);
            return 1;
        }
        double b = now() - a;
        if (b < best)
            best = b;
    }
    double a = now();
    syn_detok d;
    size_t out_bytes = 0;
    if (syn_detok_init(&d, t, 0, &err))
        return 1;
    for (size_t i = 0; i < n_ids; i++) {
        const char *o;
        size_t on;
        syn_detok_push(&d, ids[i], &o, &on);
        out_bytes += on;
    }
    syn_detok_free(&d);
    double t_detok = now() - a;
    const char *name = strrchr(vocab, '/');
    printf("%-28s load %6.1f ms | encode %6.2f MB/s %9.0f tokens/s (%zu bytes -> %zu tokens) | "
           "stream decode %7.1f MB/s\n",
           name ? name + 1 : vocab, t_load * 1e3, n / best / 1e6, n_ids / best, n, n_ids,
           out_bytes / t_detok / 1e6);
    free(ids);
    free(text);
    syn_tokenizer_free(t);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        char inp[4096];
        snprintf(inp, sizeof inp, "%s.inp", argv[1]);
        return bench(argv[1], argc > 2 ? argv[2] : inp);
    }
    const char *root = getenv("SYN_TESTDATA");
    if (!root)
        root = "../shared/testdata";
    static const char *const names[] = {"qwen2", "llama-bpe", "gpt-2", "llama-spm"};
    int rc = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char vocab[4096], inp[4200];
        snprintf(vocab, sizeof vocab, "%s/vocab/ggml-vocab-%s.gguf", root, names[i]);
        snprintf(inp, sizeof inp, "%s.inp", vocab);
        rc |= bench(vocab, inp);
    }
    return rc;
}
