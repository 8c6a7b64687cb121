/* `synapse tokenize`: prints the token ids of a text (no BOS) on one line,
 * using the tokenizer stored in a GGUF file. Main thread only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/cli/cli.h"
#include <synapse/tokenizer.h>

static const char usage[] =
    "usage: synapse tokenize -m MODEL.gguf (-p TEXT | -f FILE) [--special]\n"
    "\n"
    "Prints the token ids of TEXT (or of FILE's bytes; '-' reads stdin) on one\n"
    "line, space separated, without BOS.\n"
    "\n"
    "  -m, --model FILE   GGUF file whose tokenizer to use (a vocabulary-only file will do)\n"
    "  -p, --prompt TEXT  text to tokenize\n"
    "  -f, --file FILE    read the text from FILE, byte for byte\n"
    "      --special      parse special token texts such as <|im_start|> into their ids\n"
    "  -h, --help         show this help\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "synapse: tokenize: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see synapse tokenize --help)\n");
    return 2;
}

int syn_cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL, *prompt = NULL, *file = NULL;
    int special = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--special")) {
            special = 1;
            continue;
        }
        const char **dst = !strcmp(a, "-m") || !strcmp(a, "--model")    ? &model
                           : !strcmp(a, "-p") || !strcmp(a, "--prompt") ? &prompt
                           : !strcmp(a, "-f") || !strcmp(a, "--file")   ? &file
                                                                         : NULL;
        if (!dst)
            return usage_error("unknown option '%s'", a);
        if (i + 1 >= argc)
            return usage_error("option '%s' needs a value", a);
        *dst = argv[++i];
    }
    if (!model)
        return usage_error("%sno model given (-m FILE.gguf)", "");
    if (!prompt == !file)
        return usage_error("%sgive exactly one of -p TEXT or -f FILE", "");

    char *text = NULL;
    size_t len;
    if (file) {
        FILE *f = strcmp(file, "-") ? fopen(file, "rb") : stdin;
        if (!f)
            return syn_cli_error("tokenize", "cannot open %s: %s", file, strerror(errno));
        text = syn_read_stream(f, &len);
        int read_errno = errno;
        if (f != stdin)
            fclose(f);
        if (!text)
            return syn_cli_error("tokenize", "cannot read %s: %s", file, strerror(read_errno));
    } else {
        len = strlen(prompt);
    }

    syn_error err = {0};
    syn_tokenizer *t = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = syn_tokenizer_open(model, &t, &err);
    if (!rc)
        rc = syn_tokenize(t, file ? text : prompt, len, special, 0, &ids, &n, &err);
    if (!rc) {
        for (size_t i = 0; i < n; i++)
            printf(i ? " %d" : "%d", ids[i]);
        putchar('\n');
        if (fflush(stdout) || ferror(stdout)) {
            rc = -1;
            snprintf(err.msg, sizeof err.msg, "cannot write the ids: %s", strerror(errno));
        }
    }
    free(ids);
    free(text);
    syn_tokenizer_free(t);
    return rc ? syn_cli_error("tokenize", "%s", err.msg) : 0;
}
