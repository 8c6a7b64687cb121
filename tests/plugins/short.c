/* Test plugin: a descriptor shorter than ABI 1.0's, as a plugin built against
 * a truncated header would have. The object really is that short, so under
 * AddressSanitizer any read past struct_size by the loader is caught. */
#include <synapse/plugin.h>

struct short_descriptor {
    uint32_t magic;
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t struct_size;
    uint32_t kind;
    const char *name;
};

static const struct short_descriptor short_plugin = {
    .magic = SYN_PLUGIN_MAGIC,
    .abi_major = SYN_ABI_MAJOR,
    .abi_minor = SYN_ABI_MINOR,
    .struct_size = sizeof(struct short_descriptor),
    .kind = SYN_PLUGIN_BACKEND,
    .name = "test-short",
};

SYN_EXPORT const syn_plugin *synapse_plugin_v1(void);
const syn_plugin *synapse_plugin_v1(void) { return (const syn_plugin *)(const void *)&short_plugin; }
