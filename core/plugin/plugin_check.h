/* The loader's checks of one descriptor (plugin_check.c), for
 * plugin_loader.c. */
#ifndef SYN_CORE_PLUGIN_CHECK_H
#define SYN_CORE_PLUGIN_CHECK_H

#include <synapse/loader.h>

/* Marks e refused, with a one-line reason naming the file. */
void syn_plugin_refuse(syn_plugin_entry *e, const char *fmt, ...) SYN_PRINTF(2, 3);
/* Checks 2 to 7 on descriptor d, copying it and its ops table into e;
 * nonzero (e refused) on the first failure. */
int syn_plugin_check(syn_plugin_entry *e, const syn_plugin *d);

#endif
