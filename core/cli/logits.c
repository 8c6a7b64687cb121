/* `synapse logits`: the teacher-forced protocol of the golden files. Prefill
 * the prompt, then for each step print the top 8 (id, logit) pairs as one
 * JSON line and feed the next token: our own argmax, or with --force the
 * given ids (so every step can be compared with a reference even where the
 * argmax differs). Main thread only. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/cli/util.h"

static const char usage_text[] =
    "usage: synapse logits -m MODEL -n N --tokens \"ID ID ...\" [options]\n"
    "Prints one JSON line per step: {\"prompt\":K,\"tokens\":[...],\"step\":s,\"top\":[[id,logit],...8]}\n"
    "  -m, --model FILE       GGUF model\n"
    "  -n, --steps N          steps to print (default 16)\n"
    "      --tokens IDS       prompt token ids, BOS included if wanted\n"
    "      --force IDS        feed these ids after each step instead of the argmax\n"
    "      --lora FILE        apply a LoRA adapter (GGUF, or a PEFT directory or .safetensors)\n"
    "      --lora-scale S     adapter scale (default 1; effective scale S*alpha/rank)\n"
    "      --prompt-id K      value of the \"prompt\" field (default 1)\n"
    "  -t, --threads N        CPU threads (default: all cores)\n";

static void top8(const float *l, int32_t nv, int32_t *top)
{
    for (int k = 0; k < 8; k++)
        top[k] = -1;
    for (int32_t v = 0; v < nv; v++) {
        int k = 8;
        while (k > 0 && (top[k - 1] < 0 || l[v] > l[top[k - 1]]))
            k--;
        if (k < 8) {
            memmove(top + k + 1, top + k, sizeof *top * (size_t)(7 - k));
            top[k] = v;
        }
    }
}

int syn_cmd_logits(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},  {"steps", required_argument, 0, 'n'},
        {"tokens", required_argument, 0, 'T'}, {"force", required_argument, 0, 'F'},
        {"lora", required_argument, 0, 'L'},   {"lora-scale", required_argument, 0, 'S'},
        {"prompt-id", required_argument, 0, 'P'}, {"threads", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
    };
    const char *model = NULL, *tokens_arg = NULL, *force_arg = NULL, *lora = NULL;
    long steps = 16, threads = 0, prompt_id = 1;
    float lora_scale = 1.0f;
    int lora_scale_given = 0, c;
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's plus usage */
    while ((c = getopt_long(argc, argv, ":m:n:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'n': if ((steps = syn_cli_parse_int("logits", "-n", optarg, 1, 1 << 20)) < 0) return 2; break;
        case 't': if ((threads = syn_cli_parse_int("logits", "-t", optarg, 1, 1024)) < 0) return 2; break;
        case 'P': if ((prompt_id = syn_cli_parse_int("logits", "--prompt-id", optarg, 0, 1 << 30)) < 0) return 2; break;
        case 'T': tokens_arg = optarg; break;
        case 'F': force_arg = optarg; break;
        case 'L': lora = optarg; break;
        case 'S': {
            char *end;
            lora_scale = strtof(optarg, &end);
            if (end == optarg || *end) {
                syn_cli_error("logits", "--lora-scale needs a number, got '%s'", optarg);
                return 2;
            }
            lora_scale_given = 1;
            break;
        }
        case 'h': fputs(usage_text, stdout); return 0;
        default: return syn_cli_bad_option("logits", c, argv);
        }
    }
    if (optind < argc) {
        syn_cli_error("logits", "unexpected argument '%s'", argv[optind]);
        return 2;
    }
    if (!model || !tokens_arg) {
        syn_cli_error("logits", "-m MODEL and --tokens IDS are required (see --help)");
        return 2;
    }
    if (lora_scale_given && !lora) {
        syn_cli_error("logits", "--lora-scale needs --lora");
        return 2;
    }
    int32_t *prompt = NULL, *force = NULL, n_prompt = 0, n_force = 0;
    if (syn_cli_parse_ids("logits", "--tokens", tokens_arg, &prompt, &n_prompt))
        return 2;
    if (force_arg && syn_cli_parse_ids("logits", "--force", force_arg, &force, &n_force)) {
        free(prompt);
        return 2;
    }
    syn_ctx_params cp = {.n_ctx = n_prompt + (int32_t)steps, .n_slots = 1, .max_rows = 512, .max_logit_rows = 1};
    syn_cli_model cm;
    int rc = syn_cli_model_open("logits", model, (int)threads, NULL, lora, lora_scale, &cp, &cm);
    if (rc) {
        free(prompt);
        free(force);
        return rc;
    }
    int32_t nv = syn_model_get_config(cm.model)->n_vocab;
    float *logits = malloc(sizeof *logits * (size_t)nv);
    const char *lora_base = lora ? (strrchr(lora, '/') ? strrchr(lora, '/') + 1 : lora) : NULL;
    rc = logits ? syn_cli_prefill("logits", &cm, prompt, n_prompt, 0, logits) : syn_cli_error("logits", "out of memory");
    for (int32_t s = 0; s < steps && !rc; s++) {
        int32_t top[8];
        top8(logits, nv, top);
        printf("{\"prompt\": %ld, \"tokens\": [", prompt_id);
        for (int32_t i = 0; i < n_prompt; i++)
            printf(i ? ", %d" : "%d", prompt[i]);
        printf("]");
        if (lora_base) {
            json_object *name = json_object_new_string(lora_base);
            printf(", \"lora\": %s, \"lora_scale\": %g",
                   json_object_to_json_string_ext(name, JSON_C_TO_STRING_NOSLASHESCAPE), lora_scale);
            json_object_put(name);
        }
        printf(", \"step\": %d, \"top\": [", s);
        for (int k = 0; k < 8; k++)
            printf("%s[%d, %.5f]", k ? ", " : "", top[k], logits[top[k]]);
        printf("]}\n");
        fflush(stdout);
        if (s + 1 == steps)
            break;
        int32_t next = s < n_force ? force[s] : top[0];
        rc = syn_cli_step("logits", &cm, next, n_prompt + s, logits);
    }
    free(logits);
    free(prompt);
    free(force);
    syn_cli_model_close(&cm);
    return rc;
}
