/* PLACEHOLDER while the plugins command is being written; replaced by its owner. */
#include "core/cli.h"
int syn_cmd_plugins(int argc, char **argv) { (void)argc; (void)argv; return syn_cli_error("plugins", "not built yet"); }
