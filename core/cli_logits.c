/* PLACEHOLDER while the logits command is being written; replaced by its owner. */
#include "core/cli.h"
int syn_cmd_logits(int argc, char **argv) { (void)argc; (void)argv; return syn_cli_error("logits", "not built yet"); }
