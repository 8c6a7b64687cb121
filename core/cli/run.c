/* `synapse run`: generate text from a prompt (optionally through the model's
 * chat template) and stream it to stdout as it is produced, through the
 * same generator the server runs per sequence, so what is printed is
 * exactly the final text. Main thread only. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synapse/generate.h>

#include "core/cli/cli.h"
#include "core/cli/util.h"

#define MAX_STOPS 16

static const char usage_text[] =
    "usage: synapse run -m MODEL (-p PROMPT | -f FILE) [options]\n"
    "  -m, --model FILE           GGUF model\n"
    "  -p, --prompt TEXT          prompt text\n"
    "  -f, --file FILE            read the prompt from a file\n"
    "      --chat                 wrap the prompt in the model's chat template\n"
    "      --system TEXT          system message (implies --chat)\n"
    "      --chat-template NAME   chatml or llama3 instead of the model's own template\n"
    "  -n, --max-tokens N         tokens to generate at most (default 256)\n"
    "      --temperature T        0 = greedy (default 0.8); also --temp\n"
    "      --top-k K              (default 40; 0 = off)\n"
    "      --top-p P              (default 0.95; 1 = off)\n"
    "      --min-p P              (default 0.05; 0 = off)\n"
    "      --repeat-penalty R     (default 1 = off)\n"
    "      --repeat-last-n N      window of the repeat penalty (default 64)\n"
    "      --presence-penalty X   OpenAI-style, -2..2 (default 0)\n"
    "      --frequency-penalty X  OpenAI-style, -2..2 (default 0)\n"
    "      --seed N               same seed, same output (default: random)\n"
    "      --stop TEXT            stop before this text (repeatable, up to 16)\n"
    "  -c, --ctx-size N           context length (default 4096)\n"
    "      --lora FILE            apply a LoRA adapter (GGUF, or a PEFT directory or .safetensors);\n"
    "                             --lora-scale S (default 1)\n"
    "  -t, --threads N            CPU threads (default: all cores)\n"
    "  -v, --verbose              print timings to stderr\n"
    "      --show-ids             print the generated token ids to stderr at the end\n";

enum {
    OPT_CHAT = 256, OPT_SYSTEM, OPT_TEMPLATE, OPT_TEMP, OPT_TOPK, OPT_TOPP, OPT_MINP, OPT_REP, OPT_REPN,
    OPT_PRES, OPT_FREQ, OPT_SEED, OPT_STOP, OPT_LORA, OPT_LORA_SCALE, OPT_SHOW_IDS,
};

static int parse_float(const char *flag, const char *v, float lo, float hi, float *out)
{
    char *end;
    float x = strtof(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi)) {
        syn_cli_error("run", "%s needs a number from %g to %g, got '%s'", flag, lo, hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

struct run_opts {
    const char *model, *prompt, *prompt_file, *system, *template_name, *lora;
    int chat, verbose, show_ids, lora_scale_given;
    long max_tokens, threads, n_ctx;
    float lora_scale;
    syn_sampler_params sp;
    const char *stops[MAX_STOPS];
    size_t n_stops;
};

static int parse_args(int argc, char **argv, struct run_opts *o)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},        {"prompt", required_argument, 0, 'p'},
        {"file", required_argument, 0, 'f'},         {"chat", no_argument, 0, OPT_CHAT},
        {"system", required_argument, 0, OPT_SYSTEM}, {"chat-template", required_argument, 0, OPT_TEMPLATE},
        {"max-tokens", required_argument, 0, 'n'},   {"temperature", required_argument, 0, OPT_TEMP},
        {"temp", required_argument, 0, OPT_TEMP},    {"top-k", required_argument, 0, OPT_TOPK},
        {"top-p", required_argument, 0, OPT_TOPP},   {"min-p", required_argument, 0, OPT_MINP},
        {"repeat-penalty", required_argument, 0, OPT_REP}, {"repeat-last-n", required_argument, 0, OPT_REPN},
        {"presence-penalty", required_argument, 0, OPT_PRES}, {"frequency-penalty", required_argument, 0, OPT_FREQ},
        {"seed", required_argument, 0, OPT_SEED},    {"stop", required_argument, 0, OPT_STOP},
        {"ctx-size", required_argument, 0, 'c'},     {"lora", required_argument, 0, OPT_LORA},
        {"lora-scale", required_argument, 0, OPT_LORA_SCALE}, {"threads", required_argument, 0, 't'},
        {"verbose", no_argument, 0, 'v'},            {"help", no_argument, 0, 'h'},
        {"show-ids", no_argument, 0, OPT_SHOW_IDS},
        {0, 0, 0, 0},
    };
    memset(o, 0, sizeof *o);
    o->max_tokens = 256;
    o->lora_scale = 1.0f;
    o->sp = syn_sampler_params_default();
    o->sp.seed = SYN_SAMPLER_SEED_RANDOM;
    int c;
    long v;
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's plus usage */
    while ((c = getopt_long(argc, argv, ":m:p:f:n:c:t:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'p': o->prompt = optarg; break;
        case 'f': o->prompt_file = optarg; break;
        case OPT_CHAT: o->chat = 1; break;
        case OPT_SYSTEM: o->system = optarg; o->chat = 1; break;
        case OPT_TEMPLATE: o->template_name = optarg; break;
        case 'n': if ((o->max_tokens = syn_cli_parse_int("run", "--max-tokens", optarg, 1, 1 << 24)) < 0) return 2; break;
        case 'c': if ((o->n_ctx = syn_cli_parse_int("run", "--ctx-size", optarg, 16, 1 << 20)) < 0) return 2; break;
        case 't': if ((o->threads = syn_cli_parse_int("run", "--threads", optarg, 1, 1024)) < 0) return 2; break;
        case OPT_TEMP: if (parse_float("--temperature", optarg, 0, 100, &o->sp.temperature)) return 2; break;
        case OPT_TOPK: if ((v = syn_cli_parse_int("run", "--top-k", optarg, 0, 1 << 24)) < 0) return 2; o->sp.top_k = (int32_t)v; break;
        case OPT_TOPP: if (parse_float("--top-p", optarg, 0, 1, &o->sp.top_p)) return 2; break;
        case OPT_MINP: if (parse_float("--min-p", optarg, 0, 1, &o->sp.min_p)) return 2; break;
        case OPT_REP: if (parse_float("--repeat-penalty", optarg, 0.01f, 100, &o->sp.repeat_penalty)) return 2; break;
        case OPT_REPN: if ((v = syn_cli_parse_int("run", "--repeat-last-n", optarg, 0, 1 << 24)) < 0) return 2; o->sp.repeat_last_n = (int32_t)v; break;
        case OPT_PRES: if (parse_float("--presence-penalty", optarg, -2, 2, &o->sp.presence_penalty)) return 2; break;
        case OPT_FREQ: if (parse_float("--frequency-penalty", optarg, -2, 2, &o->sp.frequency_penalty)) return 2; break;
        case OPT_SEED: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 10);
            if (end == optarg || *end || optarg[0] == '-' || errno == ERANGE) {
                syn_cli_error("run", "--seed needs a non-negative integer, got '%s'", optarg);
                return 2;
            }
            o->sp.seed = (uint64_t)s == SYN_SAMPLER_SEED_RANDOM ? s - 1 : (uint64_t)s;
            break;
        }
        case OPT_STOP:
            if (o->n_stops == MAX_STOPS || !*optarg) {
                syn_cli_error("run", !*optarg ? "--stop needs a non-empty text" : "at most %d --stop strings", MAX_STOPS);
                return 2;
            }
            o->stops[o->n_stops++] = optarg;
            break;
        case OPT_LORA: o->lora = optarg; break;
        case OPT_LORA_SCALE:
            if (parse_float("--lora-scale", optarg, -100, 100, &o->lora_scale))
                return 2;
            o->lora_scale_given = 1;
            break;
        case 'v': o->verbose = 1; break;
        case OPT_SHOW_IDS: o->show_ids = 1; break;
        case 'h': fputs(usage_text, stdout); return -1;
        default: return syn_cli_bad_option("run", c, argv);
        }
    }
    if (optind < argc) {
        syn_cli_error("run", "unexpected argument '%s'", argv[optind]);
        return 2;
    }
    if (o->lora_scale_given && !o->lora) {
        syn_cli_error("run", "--lora-scale needs --lora FILE");
        return 2;
    }
    if (!o->model || !(o->prompt || o->prompt_file) || (o->prompt && o->prompt_file)) {
        syn_cli_error("run", "-m MODEL and one of -p PROMPT or -f FILE are required (see --help)");
        return 2;
    }
    return 0;
}

/* The text to tokenize: the prompt itself, or rendered by the chat template
 * with *content marking the messages' bytes, whose control tokens stay text
 * as the server keeps them. */
static int build_prompt(const struct run_opts *o, const char *prompt, const syn_session *sess, char **out,
                        unsigned char **content, int *special)
{
    *content = NULL;
    *special = 0;
    if (!o->chat) {
        *out = strdup(prompt);
        return *out ? 0 : syn_cli_error("run", "out of memory");
    }
    if (!sess->has_chat)
        return syn_cli_error("run", "%s", sess->chat_error);
    syn_chat_template t = sess->chat;
    syn_error err = {0};
    syn_chat_msg msgs[2];
    size_t n = 0;
    if (o->system)
        msgs[n++] = (syn_chat_msg){"system", o->system};
    msgs[n++] = (syn_chat_msg){"user", prompt};
    if (syn_chat_render_masked(t, msgs, n, 1, out, content, &err))
        return syn_cli_error("run", "%s", err.msg);
    *special = 1;
    return 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Writes text that is final (past the stop matcher). */
static void emit(const char *s, size_t n)
{
    if (n) {
        fwrite(s, 1, n, stdout);
        fflush(stdout);
    }
}

int syn_cmd_run(int argc, char **argv)
{
    struct run_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    char *file_text = NULL;
    if (o.prompt_file) {
        FILE *f = fopen(o.prompt_file, "rb");
        size_t len;
        file_text = f ? syn_read_stream(f, &len) : NULL;
        if (f)
            fclose(f);
        if (!file_text)
            return syn_cli_error("run", "cannot read prompt file '%s'", o.prompt_file);
    }
    const char *prompt = o.prompt ? o.prompt : file_text;

    syn_ctx_params cp = {.n_ctx = 0, .n_slots = 1, .max_rows = 512, .max_logit_rows = 1};
    syn_cli_model cm = {0};
    syn_generator *gen = NULL;
    int32_t *ids = NULL;
    float *logits = NULL;
    char *text = NULL;
    unsigned char *content = NULL;
    syn_error err = {0};

    cp.n_ctx = o.n_ctx ? (int32_t)o.n_ctx : 4096;
    if ((rc = syn_cli_model_open("run", o.model, (int)o.threads, o.template_name, o.lora, o.lora_scale, &cp, &cm)))
        goto done;
    const syn_model_config *cfg = syn_model_get_config(cm.model);
    const syn_tokenizer *tok = cm.sess.tok;
    int special;
    if ((rc = build_prompt(&o, prompt, &cm.sess, &text, &content, &special)))
        goto done;
    size_t n_ids;
    if (syn_tokenize_masked(tok, text, strlen(text), special, content, 1, &ids, &n_ids, &err)) {
        rc = syn_cli_error("run", "%s", err.msg);
        goto done;
    }
    /* a template that writes BOS itself plus the tokenizer's own BOS */
    if (n_ids >= 2 && ids[0] == ids[1] && ids[0] == syn_tokenizer_bos(tok))
        memmove(ids, ids + 1, --n_ids * sizeof *ids);
    if ((long)n_ids + 1 > syn_ctx_get_params(cm.ctx)->n_ctx) {
        rc = syn_cli_error("run", "the prompt is %zu tokens, the context holds %d (raise --ctx-size)", n_ids,
                           syn_ctx_get_params(cm.ctx)->n_ctx);
        goto done;
    }
    syn_gen_params gp = {.sp = o.sp, .stops = o.stops, .n_stops = o.n_stops};
    if (syn_generator_new(&gp, tok, ids, n_ids, &gen, &err)) {
        rc = syn_cli_error("run", "%s", err.msg);
        goto done;
    }
    if (!(logits = malloc(sizeof *logits * (size_t)cfg->n_vocab))) {
        rc = syn_cli_error("run", "out of memory");
        goto done;
    }
    double t0 = now();
    if ((rc = syn_cli_prefill("run", &cm, ids, (int32_t)n_ids, 0, logits)))
        goto done;
    double t1 = now();
    int32_t pos = (int32_t)n_ids, n_gen = 0, n_ctx = syn_ctx_get_params(cm.ctx)->n_ctx;
    if (o.show_ids)
        fputs("synapse: run: ids:", stderr);
    syn_finish why = SYN_FINISH_NONE;
    while (why == SYN_FINISH_NONE) {
        syn_gen_step st;
        why = syn_generator_next(gen, logits, cfg->n_vocab, &st, &err);
        if (why == SYN_FINISH_ERROR) {
            rc = syn_cli_error("run", "%s", err.msg);
            goto done;
        }
        n_gen++;
        if (o.show_ids)
            fprintf(stderr, " %d", st.token);
        emit(st.text, st.len);
        if (why == SYN_FINISH_NONE && (n_gen == o.max_tokens || pos + 1 >= n_ctx)) {
            const char *rest;
            size_t rest_len;
            why = syn_generator_end(gen, SYN_FINISH_LENGTH, &rest, &rest_len);
            emit(rest, rest_len);
        }
        if (why == SYN_FINISH_NONE && (rc = syn_cli_step("run", &cm, st.token, pos++, logits)))
            goto done;
    }
    fputc('\n', stdout);
    if (o.show_ids)
        fputc('\n', stderr);
    double t2 = now();
    if (o.verbose)
        fprintf(stderr, "synapse: run: prompt %zu tokens in %.2f s (%.1f tok/s), generated %d tokens in %.2f s (%.1f tok/s)\n",
                n_ids, t1 - t0, (double)n_ids / (t1 - t0), n_gen, t2 - t1, n_gen / (t2 - t1));
done:
    syn_generator_free(gen);
    syn_cli_model_close(&cm);
    free(logits);
    free(ids);
    free(text);
    free(content);
    free(file_text);
    return rc;
}
