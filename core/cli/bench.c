/* `synapse bench`: prefill of N tokens, then N single-token decodes, timed the
 * way llama.cpp's llama-bench (and tools/peer.c) measure them, so the figures
 * can be compared side by side; with --parallel P, also P sequences decoded
 * together, one row each per step, as the server's scheduler batches them;
 * with --mixed N as well, those steps again with N rows of a new prompt
 * behind the P rows, as the server runs them while a request comes in;
 * with --lora, the P rows take the adapters in turn (a swarm's step), timed
 * in rounds alternating with the same steps on the bare base, so a noisy
 * machine slows both alike, and the best of each is reported with their
 * ratio. Main thread only. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cli/cli.h"
#include "core/cli/util.h"

static const char usage_text[] =
    "usage: synapse bench -m MODEL [-t THREADS] [--prompt N] [--gen N] [--parallel P [--mixed N] [--lora FILE]...]\n"
    "                     [--json]\n"
    "  -m, --model FILE   GGUF model\n"
    "  -t, --threads N    CPU threads (default: all cores)\n"
    "      --prompt N     prompt tokens to prefill (default 128)\n"
    "      --gen N        tokens to decode one at a time (default 64)\n"
    "      --parallel P   also decode P sequences at once, each after a copy\n"
    "                     of the prompt, and report their total tok/s (default 1: off)\n"
    "      --mixed N      with --parallel, also time those steps with N rows of\n"
    "                     another prompt after the P rows, and report ms per step\n"
    "      --lora FILE    with --parallel, a LoRA adapter the P rows take in turn\n"
    "                     (row i takes adapter i mod count); once per adapter, up to 16;\n"
    "                     also times the bare base in alternating rounds and reports the ratio\n"
    "      --json         one JSON object on one line\n";

/* alternating rounds of the base and the adapters (see above) */
#define BENCH_ROUNDS 3

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int32_t argmax(const float *v, int32_t n)
{
    int32_t b = 0;
    for (int32_t i = 1; i < n; i++)
        if (v[i] > v[b])
            b = i;
    return b;
}

/* P sequences decoded together after slot 0's prompt is copied to slots
 * 1..P: n_gen steps of P rows, each row following its own greedy
 * continuation; with n_mixed, each step also holds n_mixed prompt rows
 * (positions 0.. of slot P + 1, the same each step). The seconds per step
 * in *step_s. 0 or 1 like syn_cli_step. */
static int decode_parallel(syn_cli_model *cm, int32_t n_par, int32_t n_mixed, int32_t n_adapters, int32_t n_prompt,
                           int32_t n_gen, float *logits, double *step_s)
{
    int32_t nv = syn_model_get_config(cm->model)->n_vocab, n_rows = n_par + n_mixed;
    int32_t *tok = malloc(sizeof *tok * (size_t)n_rows * 4);
    uint8_t *want = calloc((size_t)n_rows, 1);
    if (!tok || !want) {
        free(tok);
        free(want);
        return syn_cli_error("bench", "out of memory");
    }
    memset(want, 1, (size_t)n_par);
    int32_t *pos = tok + n_rows, *slot = pos + n_rows, *adapter = slot + n_rows;
    for (int32_t i = 0; i < n_rows; i++)
        adapter[i] = i < n_par && n_adapters ? i % n_adapters : -1;
    for (int32_t i = 0; i < n_mixed; i++) {
        tok[n_par + i] = (2000 + i) % nv;
        pos[n_par + i] = i;
        slot[n_par + i] = n_par + 1;
    }
    syn_error err = {0};
    int rc = 0;
    for (int32_t i = 0; i < n_par && !rc; i++) {
        if (syn_ctx_kv_copy(cm->ctx, 0, i + 1, n_prompt, &err))
            rc = syn_cli_error("bench", "--parallel: %s", err.msg);
        tok[i] = (1000 + i) % nv; /* a different first token per sequence */
        slot[i] = i + 1;
    }
    double t0 = now();
    for (int32_t g = 0; g < n_gen && !rc; g++) {
        for (int32_t i = 0; i < n_par; i++)
            pos[i] = n_prompt + g;
        syn_batch b = {
            .n = n_rows, .token = tok, .pos = pos, .slot = slot, .want_logits = want, .n_prompt = n_mixed,
            .adapter = n_adapters ? adapter : NULL,
        };
        if (syn_forward(cm->ctx, &b, logits, &err)) {
            rc = syn_cli_error("bench", "%s", err.msg);
            break;
        }
        for (int32_t i = 0; i < n_par; i++)
            tok[i] = argmax(logits + (size_t)i * (size_t)nv, nv);
    }
    *step_s = (now() - t0) / n_gen;
    free(tok);
    free(want);
    return rc;
}

/* The context borrows the adapters and they use the model's backend: the
 * context goes first, the model after them. */
static void close_bench_model(syn_cli_model *cm, syn_lora **adapters, int32_t n)
{
    syn_ctx_free(cm->ctx);
    cm->ctx = NULL;
    for (int32_t i = 0; i < n; i++)
        syn_lora_free(adapters[i]);
    syn_cli_model_close(cm);
}

int syn_cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"threads", required_argument, 0, 't'},
        {"prompt", required_argument, 0, 'p'}, {"gen", required_argument, 0, 'g'},
        {"parallel", required_argument, 0, 'P'}, {"mixed", required_argument, 0, 'x'},
        {"lora", required_argument, 0, 'l'}, {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    enum { MAX_ADAPTERS = 16 };
    const char *model = NULL, *lora_path[MAX_ADAPTERS];
    int32_t n_adapters = 0;
    syn_lora *adapters[MAX_ADAPTERS] = {0};
    long threads = 0, n_prompt = 128, n_gen = 64, n_par = 1, n_mixed = 0;
    int json = 0, c;
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's plus usage */
    while ((c = getopt_long(argc, argv, ":m:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 't': if ((threads = syn_cli_parse_int("bench", "-t", optarg, 1, 1024)) < 0) return 2; break;
        case 'p': if ((n_prompt = syn_cli_parse_int("bench", "--prompt", optarg, 1, 1 << 20)) < 0) return 2; break;
        case 'g': if ((n_gen = syn_cli_parse_int("bench", "--gen", optarg, 1, 1 << 20)) < 0) return 2; break;
        case 'P': if ((n_par = syn_cli_parse_int("bench", "--parallel", optarg, 1, 256)) < 0) return 2; break;
        case 'x': if ((n_mixed = syn_cli_parse_int("bench", "--mixed", optarg, 1, 256)) < 0) return 2; break;
        case 'l':
            if (n_adapters == MAX_ADAPTERS) {
                syn_cli_error("bench", "at most %d --lora adapters", MAX_ADAPTERS);
                return 2;
            }
            lora_path[n_adapters++] = optarg;
            break;
        case 'j': json = 1; break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return syn_cli_bad_option("bench", c, argv);
        }
    }
    if (optind < argc) {
        syn_cli_error("bench", "unexpected argument '%s'", argv[optind]);
        return 2;
    }
    if (!model) {
        syn_cli_error("bench", "-m MODEL is required (see --help)");
        return 2;
    }
    if ((n_mixed || n_adapters) && n_par < 2) {
        syn_cli_error("bench", "%s needs --parallel 2 or more", n_mixed ? "--mixed" : "--lora");
        return 2;
    }
    /* slot 0 runs the single sequence, slots 1..P the parallel ones, slot
     * P + 1 the mixed steps' prompt rows */
    int32_t n_ctx = (int32_t)(n_prompt + n_gen + 1);
    syn_ctx_params cp = {.n_ctx = n_ctx > n_mixed ? n_ctx : (int32_t)n_mixed,
                         .n_slots = n_par > 1 ? (int32_t)(n_par + 1 + (n_mixed > 0)) : 1,
                         .max_rows = (int32_t)(n_par + n_mixed > 512 ? n_par + n_mixed : 512),
                         .max_logit_rows = (int32_t)n_par};
    syn_cli_model cm;
    double t_load = now();
    int rc = syn_cli_model_open("bench", model, (int)threads, NULL, NULL, 1.0f, &cp, &cm);
    if (rc)
        return rc;
    t_load = now() - t_load;
    const syn_model_config *cfg = syn_model_get_config(cm.model);
    if (n_adapters) {
        syn_error err = {0};
        float scales[MAX_ADAPTERS];
        for (int32_t i = 0; i < n_adapters && !rc; i++) {
            scales[i] = 1.0f;
            if (syn_lora_load(cm.model, lora_path[i], &adapters[i], &err))
                rc = syn_cli_error("bench", "%s", err.msg);
        }
        if (!rc && syn_ctx_set_adapters(cm.ctx, adapters, scales, n_adapters, &err))
            rc = syn_cli_error("bench", "%s", err.msg);
        if (rc) {
            close_bench_model(&cm, adapters, n_adapters);
            return rc;
        }
    }
    int32_t nv = cfg->n_vocab;
    float *logits = malloc(sizeof *logits * (size_t)nv * (size_t)n_par);
    int32_t *prompt = malloc(sizeof *prompt * (size_t)n_prompt);
    if (!logits || !prompt) {
        rc = syn_cli_error("bench", "out of memory");
        goto done;
    }
    for (int32_t i = 0; i < n_prompt; i++) /* the same ids the peer uses */
        prompt[i] = (1000 + i) % nv;
    /* warm-up: touch the weights and grow every scratch buffer once */
    if ((rc = syn_cli_prefill("bench", &cm, prompt, n_prompt < 8 ? (int32_t)n_prompt : 8, 0, logits)))
        goto done;
    double t0 = now();
    if ((rc = syn_cli_prefill("bench", &cm, prompt, (int32_t)n_prompt, 0, logits)))
        goto done;
    double t1 = now();
    int32_t tok = argmax(logits, nv);
    for (int32_t i = 0; i < n_gen && !rc; i++) {
        rc = syn_cli_step("bench", &cm, tok, (int32_t)n_prompt + i, logits);
        tok = argmax(logits, nv);
    }
    double t2 = now();
    if (rc)
        goto done;
    double pp = (double)n_prompt / (t1 - t0), tg = (double)n_gen / (t2 - t1), ptg = 0, mixed_s = 0;
    if (n_par > 1 &&
        (rc = decode_parallel(&cm, (int32_t)n_par, 0, n_adapters, (int32_t)n_prompt, (int32_t)n_gen, logits, &ptg)))
        goto done;
    ptg = n_par > 1 ? (double)n_par / ptg : 0;
    /* with adapters: BENCH_ROUNDS rounds of base, then adapters; best of each */
    double base_tg = 0;
    for (int round = 0; n_adapters && round < BENCH_ROUNDS && !rc; round++) {
        double s_base, s_lora;
        if ((rc = decode_parallel(&cm, (int32_t)n_par, 0, 0, (int32_t)n_prompt, (int32_t)n_gen, logits, &s_base)) ||
            (rc = decode_parallel(&cm, (int32_t)n_par, 0, n_adapters, (int32_t)n_prompt, (int32_t)n_gen, logits,
                                  &s_lora)))
            goto done;
        if ((double)n_par / s_base > base_tg)
            base_tg = (double)n_par / s_base;
        if ((double)n_par / s_lora > ptg)
            ptg = (double)n_par / s_lora;
    }
    if (n_mixed && (rc = decode_parallel(&cm, (int32_t)n_par, (int32_t)n_mixed, n_adapters, (int32_t)n_prompt,
                                         (int32_t)n_gen, logits, &mixed_s)))
        goto done;
    const char *desc = cm.sess.be.ops->describe ? cm.sess.be.ops->describe(cm.sess.be.b) : cm.sess.be.plugin_name;
    if (json) {
        printf("{\"model\":\"%s\",\"backend\":\"%s\",\"n_prompt\":%ld,\"n_gen\":%ld,\"load_s\":%.4f,"
               "\"prefill_tok_s\":%.2f,\"decode_tok_s\":%.2f",
               cfg->name, desc, n_prompt, n_gen, t_load, pp, tg);
        if (n_par > 1)
            printf(",\"parallel\":%ld,\"parallel_decode_tok_s\":%.2f", n_par, ptg);
        if (n_mixed)
            printf(",\"mixed\":%ld,\"mixed_step_ms\":%.2f", n_mixed, mixed_s * 1e3);
        if (n_adapters)
            printf(",\"adapters\":%d,\"parallel_base_tok_s\":%.2f,\"adapter_ratio\":%.3f", n_adapters, base_tg,
                   ptg / base_tg);
        printf("}\n");
    } else {
        printf("model    %s\nbackend  %s\nload     %.1f ms\nprefill  %ld tokens, %.2f tok/s\ndecode   %ld tokens, %.2f tok/s\n",
               cfg->name, desc, t_load * 1e3, n_prompt, pp, n_gen, tg);
        if (n_par > 1 && n_adapters)
            printf("decode   %ld sequences x %ld tokens, %.2f tok/s in all with the adapters in turn, %.2f on the "
                   "bare base (%.3f x; best of %d alternating rounds)\n",
                   n_par, n_gen, ptg, base_tg, ptg / base_tg, BENCH_ROUNDS);
        else if (n_par > 1)
            printf("decode   %ld sequences x %ld tokens, %.2f tok/s in all\n", n_par, n_gen, ptg);
        if (n_mixed)
            printf("mixed    %ld decode rows + %ld prompt rows, %.2f ms per step\n", n_par, n_mixed, mixed_s * 1e3);
    }
done:
    free(logits);
    free(prompt);
    close_bench_model(&cm, adapters, n_adapters);
    return rc;
}
