/* PLACEHOLDER while the run command waits for the sampler; replaced by the lead. */
#include "core/cli.h"
int syn_cmd_run(int argc, char **argv) { (void)argc; (void)argv; return syn_cli_error("run", "not built yet"); }
