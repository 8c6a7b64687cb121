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

static const struct required_op syn_backend_ops_required[] = {
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

static const struct required_op syn_capability_ops_required[] = {
    REQUIRED(syn_capability_ops, create),
    REQUIRED(syn_capability_ops, destroy),
    REQUIRED(syn_capability_ops, call),
};

/* The 1.5 kinds: every op of each is required. */
#define KIND_OPS(type, ...)                                                                             \
    static const struct required_op type##_required[] = {REQUIRED(type, create), REQUIRED(type, destroy),     \
                                                         __VA_ARGS__}
KIND_OPS(syn_router_ops, REQUIRED(syn_router_ops, set_specialists), REQUIRED(syn_router_ops, route),
         REQUIRED(syn_router_ops, outcome));
KIND_OPS(syn_extractor_ops, REQUIRED(syn_extractor_ops, extract));
KIND_OPS(syn_verifier_ops, REQUIRED(syn_verifier_ops, verify));
KIND_OPS(syn_spawner_ops, REQUIRED(syn_spawner_ops, propose));
KIND_OPS(syn_specialist_ops, REQUIRED(syn_specialist_ops, describe), REQUIRED(syn_specialist_ops, answer));

/* Where a kind's table is copied in the entry, its smallest size and its
 * required ops. */
struct kind_table {
    uint32_t kind;
    const char *name;
    size_t entry_offset, size, min_size;
    const struct required_op *required;
    size_t n_required;
};

#define KIND(k, name, field, type, min)                                                                       \
    {k, name, offsetof(syn_plugin_entry, field), sizeof(type), min, type##_required,                           \
     sizeof type##_required / sizeof *type##_required}
static const struct kind_table kinds[] = {
    KIND(SYN_PLUGIN_BACKEND, "backend", backend, syn_backend_ops, SYN_BACKEND_OPS_V1_0_SIZE),
    KIND(SYN_PLUGIN_CAPABILITY, "capability", capability, syn_capability_ops, SYN_CAPABILITY_OPS_V1_0_SIZE),
    KIND(SYN_PLUGIN_ROUTER, "router", router, syn_router_ops, SYN_ROUTER_OPS_V1_5_SIZE),
    KIND(SYN_PLUGIN_EXTRACTOR, "extractor", extractor, syn_extractor_ops, SYN_EXTRACTOR_OPS_V1_5_SIZE),
    KIND(SYN_PLUGIN_VERIFIER, "verifier", verifier, syn_verifier_ops, SYN_VERIFIER_OPS_V1_5_SIZE),
    KIND(SYN_PLUGIN_SPAWNER, "spawner", spawner, syn_spawner_ops, SYN_SPAWNER_OPS_V1_5_SIZE),
    KIND(SYN_PLUGIN_SPECIALIST, "specialist", specialist, syn_specialist_ops, SYN_SPECIALIST_OPS_V1_5_SIZE),
};
#define N_KINDS (sizeof kinds / sizeof *kinds)

static const struct kind_table *find_kind(uint32_t kind)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (kinds[i].kind == kind)
            return &kinds[i];
    return NULL;
}

const char *syn_plugin_kind_name(uint32_t kind)
{
    const struct kind_table *k = find_kind(kind);
    return k ? k->name : "unknown";
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
static int copy_ops(syn_plugin_entry *e, const char *kind, void *dst, size_t dst_size, size_t min_size)
{
    uint32_t size;
    memcpy(&size, e->desc.ops, sizeof size);
    if (size < min_size) {
        syn_plugin_refuse(e, "%s ops table is %u bytes, ABI %d.%d needs at least %zu", kind, size, SYN_ABI_MAJOR,
                          e->desc.kind > SYN_PLUGIN_CAPABILITY ? 5 : 0, min_size);
        return -1;
    }
    memset(dst, 0, dst_size);
    memcpy(dst, e->desc.ops, size < dst_size ? size : dst_size);
    return 0;
}

static int check_required(syn_plugin_entry *e, const struct kind_table *k, const void *ops)
{
    for (size_t i = 0; i < k->n_required; i++) {
        void (*fn)(void);
        memcpy(&fn, (const char *)ops + k->required[i].offset, sizeof fn);
        if (!fn) {
            syn_plugin_refuse(e, "%s ops table has no %s() (required since ABI %d.%d)", k->name, k->required[i].name,
                              SYN_ABI_MAJOR, k->kind > SYN_PLUGIN_CAPABILITY ? 5 : 0);
            return -1;
        }
    }
    return 0;
}

static int check_ops(syn_plugin_entry *e)
{
    const struct kind_table *k = find_kind(e->desc.kind);
    /* a 1.x plugin older than 1.5 cannot mean a kind 1.5 added */
    if (!k || (k->kind > SYN_PLUGIN_CAPABILITY && e->desc.abi_minor < 5)) {
        syn_plugin_refuse(e, "plugin kind %u is unknown to this synapse for ABI %u.%u (it knows 1 = backend, 2 = "
                             "capability, and from 1.5 3 = router ... %d = specialist)",
                          e->desc.kind, e->desc.abi_major, e->desc.abi_minor, SYN_PLUGIN_SPECIALIST);
        return -1;
    }
    void *dst = (char *)e + k->entry_offset;
    if (copy_ops(e, k->name, dst, k->size, k->min_size))
        return -1;
    if (k->kind == SYN_PLUGIN_CAPABILITY && (!e->capability.capability || !valid_name(e->capability.capability))) {
        e->capability.capability = NULL;
        syn_plugin_refuse(e, "capability ops table has no capability name (required since ABI %d.0)", SYN_ABI_MAJOR);
        return -1;
    }
    return check_required(e, k, dst);
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
