/* The `synapse` command line: one function per subcommand, each in its own
 * cli_*.c file, called from cli_main.c on the main thread. Each returns the
 * process exit status and prints its own one-line errors to stderr. */
#ifndef SYN_CORE_CLI_H
#define SYN_CORE_CLI_H

#include <stdio.h>

int syn_cmd_tokenize(int argc, char **argv);
int syn_cmd_plugins(int argc, char **argv);
int syn_cmd_logits(int argc, char **argv);
int syn_cmd_run(int argc, char **argv);
int syn_cmd_bench(int argc, char **argv);
int syn_cmd_serve(int argc, char **argv);
int syn_cmd_up(int argc, char **argv);
int syn_cmd_spawner(int argc, char **argv);

/* Prints "synapse: <cmd>: <message>" to stderr; returns 1 (usage errors: 2). */
int syn_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
