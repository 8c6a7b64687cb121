/* PLACEHOLDER while the bench command is being written; replaced by its owner. */
#include "core/cli.h"
int syn_cmd_bench(int argc, char **argv) { (void)argc; (void)argv; return syn_cli_error("bench", "not built yet"); }
