/* PLACEHOLDER while the tokenize command is being written; replaced by its owner. */
#include "core/cli.h"
int syn_cmd_tokenize(int argc, char **argv) { (void)argc; (void)argv; return syn_cli_error("tokenize", "not built yet"); }
