/* Entry point of the `synapse` program: dispatches to a subcommand. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/cli/cli.h"
#include <config.h>

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"run", syn_cmd_run, "generate text from a prompt, streamed to stdout"},
    {"serve", syn_cmd_serve, "OpenAI-compatible HTTP server"},
    {"up", syn_cmd_up, "serve, and print the API, status and metrics URLs"},
    {"bench", syn_cmd_bench, "measure prefill and decode speed"},
    {"tokenize", syn_cmd_tokenize, "print the token ids of a text"},
    {"logits", syn_cmd_logits, "teacher-forced top-8 logits as JSONL (golden-file protocol)"},
    {"plugins", syn_cmd_plugins, "list plugins and whether they load"},
    {"spawner", syn_cmd_spawner, "list the specialists the spawner proposed; accept one"},
};

int syn_cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "synapse: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: synapse COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'synapse COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("synapse %s\n", PACKAGE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "synapse: unknown command '%s' (see synapse --help)\n", argv[1]);
    return 2;
}
