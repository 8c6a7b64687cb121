/* Checks 2 to 7 of the loader (see plugin_loader.c): a descriptor and its
 * ops table against include/synapse/plugin.h, copied into the entry so
 * that nothing past what the plugin declared is ever read. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/plugin/plugin_check.h"

#define NAME_MAX_LEN 63

/* The fixed head every descriptor of every major starts with. */
#define HEAD_SIZE SYN_SIZE_THROUGH(syn_plugin, struct_size)

struct required_op {
    const char *name;
    size_t offset;
};

#define REQUIRED(type, field) {#field, offsetof(type, field)}

static const struct required_op backend_required[] = {
    REQUIRED(syn_backend_ops, create),      REQUIRED(syn_backend_ops, destroy),
    REQUIRED(syn_backend_ops, supports_type),
    REQUIRED(syn_backend_ops, alloc),       REQUIRED(syn_backend_ops, release),
    REQUIRED(syn_backend_ops, write),       REQUIRED(syn_backend_ops, read),
    REQUIRED(syn_backend_ops, sync),        REQUIRED(syn_backend_ops, weight_load),
    REQUIRED(syn_backend_ops, weight_unload), REQUIRED(syn_backend_ops, get_rows),
    REQUIRED(syn_backend_ops, rms_norm),    REQUIRED(syn_backend_ops, matmul),
    REQUIRED(syn_backend_ops, rope),        REQUIRED(syn_backend_ops, kv_store),
    REQUIRED(syn_backend_ops, attention),   REQUIRED(syn_backend_ops, swiglu),
};

static const struct required_op capability_required[] = {
    REQUIRED(syn_capability_ops, create),
    REQUIRED(syn_capability_ops, destroy),
    REQUIRED(syn_capability_ops, call),
};

const char *syn_plugin_kind_name(uint32_t kind)
{
    switch (kind) {
    case SYN_PLUGIN_BACKEND:
        return "backend";
    case SYN_PLUGIN_CAPABILITY:
        return "capability";
    default:
        return "unknown";
    }
}

/* Marks e refused. The reason stays one line even when a plugin's own
 * message (from init) carries newlines or control characters. */
void syn_plugin_refuse(syn_plugin_entry *e, const char *fmt, ...)
{
    int n = snprintf(e->reason, sizeof e->reason, "%s: ", e->file);
    if (n > 0 && (size_t)n < sizeof e->reason) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->reason + n, sizeof e->reason - (size_t)n, fmt, ap);
        va_end(ap);
    }
    for (char *c = e->reason; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    e->status = SYN_PLUGIN_REFUSED;
}

/* A name is used on command lines and in the listing: keep it an identifier. */
static int valid_name(const char *s)
{
    size_t n = strnlen(s, NAME_MAX_LEN + 1);
    if (n == 0 || n > NAME_MAX_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

static int printable_short(const char *s)
{
    size_t n = strnlen(s, NAME_MAX_LEN + 1);
    if (n > NAME_MAX_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

/* Copies the descriptor: the head first (every major has it), then
 * min(struct_size, sizeof) bytes. Fields the plugin's struct_size does not
 * wholly cover stay zero, so a short descriptor never yields half a pointer. */
static void copy_descriptor(syn_plugin_entry *e, const syn_plugin *d)
{
    memset(&e->desc, 0, sizeof e->desc);
    memcpy(&e->desc, d, HEAD_SIZE);
    size_t n = e->desc.struct_size < sizeof(syn_plugin) ? e->desc.struct_size : sizeof(syn_plugin);
    if (n > HEAD_SIZE)
        memcpy((char *)&e->desc + HEAD_SIZE, (const char *)d + HEAD_SIZE, n - HEAD_SIZE);
    if (n < SYN_SIZE_THROUGH(syn_plugin, kind))
        e->desc.kind = 0;
    if (n < SYN_SIZE_THROUGH(syn_plugin, name) || (e->desc.name && !valid_name(e->desc.name)))
        e->desc.name = NULL;
    if (n < SYN_SIZE_THROUGH(syn_plugin, version) || (e->desc.version && !printable_short(e->desc.version)))
        e->desc.version = NULL;
}

/* Copies a kind's ops table, which starts with its own struct_size. */
static int copy_ops(syn_plugin_entry *e, const char *kind, void *dst, size_t dst_size, size_t v1_0_size)
{
    uint32_t size;
    memcpy(&size, e->desc.ops, sizeof size);
    if (size < v1_0_size) {
        syn_plugin_refuse(e, "%s ops table is %u bytes, ABI %d.0 needs at least %zu", kind, size, SYN_ABI_MAJOR, v1_0_size);
        return -1;
    }
    memset(dst, 0, dst_size);
    memcpy(dst, e->desc.ops, size < dst_size ? size : dst_size);
    return 0;
}

static int check_required(syn_plugin_entry *e, const char *kind, const void *ops, const struct required_op *req,
                          size_t n_req)
{
    for (size_t i = 0; i < n_req; i++) {
        void (*fn)(void);
        memcpy(&fn, (const char *)ops + req[i].offset, sizeof fn);
        if (!fn) {
            syn_plugin_refuse(e, "%s ops table has no %s() (required since ABI %d.0)", kind, req[i].name, SYN_ABI_MAJOR);
            return -1;
        }
    }
    return 0;
}

static int check_ops(syn_plugin_entry *e)
{
    switch (e->desc.kind) {
    case SYN_PLUGIN_BACKEND:
        if (copy_ops(e, "backend", &e->backend, sizeof e->backend, SYN_BACKEND_OPS_V1_0_SIZE))
            return -1;
        return check_required(e, "backend", &e->backend, backend_required,
                              sizeof backend_required / sizeof *backend_required);
    case SYN_PLUGIN_CAPABILITY:
        if (copy_ops(e, "capability", &e->capability, sizeof e->capability, SYN_CAPABILITY_OPS_V1_0_SIZE))
            return -1;
        if (!e->capability.capability || !valid_name(e->capability.capability)) {
            e->capability.capability = NULL;
            syn_plugin_refuse(e, "capability ops table has no capability name (required since ABI %d.0)", SYN_ABI_MAJOR);
            return -1;
        }
        return check_required(e, "capability", &e->capability, capability_required,
                              sizeof capability_required / sizeof *capability_required);
    default:
        syn_plugin_refuse(e, "plugin kind %u is unknown to this synapse (it knows %d = backend, %d = capability)", e->desc.kind,
               SYN_PLUGIN_BACKEND, SYN_PLUGIN_CAPABILITY);
        return -1;
    }
}

/* Checks 2-7: everything that reads the descriptor but calls nothing in it. */
int syn_plugin_check(syn_plugin_entry *e, const syn_plugin *d)
{
    uint32_t magic;
    memcpy(&magic, d, sizeof magic);
    if (magic != SYN_PLUGIN_MAGIC) {
        syn_plugin_refuse(e, "bad magic 0x%08x, a Synapse plugin has 0x%08x (\"SYNP\")", magic, SYN_PLUGIN_MAGIC);
        return -1;
    }
    copy_descriptor(e, d);
    const syn_plugin *c = &e->desc;
    if (c->abi_major != SYN_ABI_MAJOR) {
        syn_plugin_refuse(e, "built for plugin ABI %u.%u, this synapse speaks %d.%d", c->abi_major, c->abi_minor, SYN_ABI_MAJOR,
               SYN_ABI_MINOR);
        return -1;
    }
    if (c->abi_minor > SYN_ABI_MINOR) {
        syn_plugin_refuse(e, "needs plugin ABI %u.%u, this synapse has %d.%d", c->abi_major, c->abi_minor, SYN_ABI_MAJOR,
               SYN_ABI_MINOR);
        return -1;
    }
    if (c->struct_size < SYN_PLUGIN_V1_0_SIZE) {
        syn_plugin_refuse(e, "descriptor is %u bytes, ABI %d.0 needs at least %zu", c->struct_size, SYN_ABI_MAJOR,
               SYN_PLUGIN_V1_0_SIZE);
        return -1;
    }
    if (!c->name) {
        syn_plugin_refuse(e, "descriptor has no plugin name, or one that is not 1-%d of [A-Za-z0-9._-] (required since ABI %d.0)",
               NAME_MAX_LEN, SYN_ABI_MAJOR);
        return -1;
    }
    if (!c->probe) {
        syn_plugin_refuse(e, "descriptor has no probe() (required since ABI %d.0)", SYN_ABI_MAJOR);
        return -1;
    }
    if (!c->ops) {
        syn_plugin_refuse(e, "descriptor has no ops table (required since ABI %d.0)", SYN_ABI_MAJOR);
        return -1;
    }
    return check_ops(e);
}
