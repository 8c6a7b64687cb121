/* Test plugin: a shared object without the entry symbol, as any unrelated
 * library dropped into a plugin directory would be. Its one function is
 * exported under another name, so only the name is wrong. */
#include <synapse/plugin.h>

static const syn_plugin not_found = {SYN_PLUGIN_HEAD(SYN_PLUGIN_CAPABILITY, "test-no-entry", "1.0")};

SYN_EXPORT const syn_plugin *synapse_plugin_v0(void);
const syn_plugin *synapse_plugin_v0(void) { return &not_found; }
