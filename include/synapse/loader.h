/* Finding, checking and loading plugins (libltdl). A syn_plugin_set is built
 * once, normally at start-up, and read-only afterwards. Plugins are never
 * unloaded while the set lives: threads that used one may still run. */
#ifndef SYNAPSE_LOADER_H
#define SYNAPSE_LOADER_H

#include <stddef.h>
#include <synapse/plugin.h>

/* Bytes up to the end of `field`: the size a struct had when `field` was its
 * last member. */
#define SYN_SIZE_THROUGH(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/* The smallest tables the loader accepts: their size in ABI 1.0. These stay
 * fixed when 1.x appends fields, since a 1.0 plugin must keep loading. */
#define SYN_PLUGIN_V1_0_SIZE SYN_SIZE_THROUGH(syn_plugin, ops)
#define SYN_BACKEND_OPS_V1_0_SIZE SYN_SIZE_THROUGH(syn_backend_ops, swiglu)
#define SYN_CAPABILITY_OPS_V1_0_SIZE SYN_SIZE_THROUGH(syn_capability_ops, call)
/* The kinds of 1.5, at their first size. */
#define SYN_ROUTER_OPS_V1_5_SIZE SYN_SIZE_THROUGH(syn_router_ops, outcome)
#define SYN_EXTRACTOR_OPS_V1_5_SIZE SYN_SIZE_THROUGH(syn_extractor_ops, extract)
#define SYN_VERIFIER_OPS_V1_5_SIZE SYN_SIZE_THROUGH(syn_verifier_ops, verify)
#define SYN_SPAWNER_OPS_V1_5_SIZE SYN_SIZE_THROUGH(syn_spawner_ops, propose)
#define SYN_SPECIALIST_OPS_V1_5_SIZE SYN_SIZE_THROUGH(syn_specialist_ops, answer)

typedef enum syn_plugin_status {
    SYN_PLUGIN_LOADED = 0,      /* passed every check, probe() > 0, init() ok */
    SYN_PLUGIN_REFUSED = 1,     /* failed a check: see reason */
    SYN_PLUGIN_UNSUPPORTED = 2, /* probe() == 0: not usable on this machine */
} syn_plugin_status;

typedef struct syn_plugin_entry {
    char *path;         /* full path of the shared object */
    const char *file;   /* its file name, inside path */
    int status;         /* syn_plugin_status */
    char reason[320];   /* one line naming the file and both sides, when refused
                         * or unsupported; empty when loaded */
    int score;          /* probe() result (0 until probed) */
    syn_plugin desc;    /* descriptor copied into zeroed storage; all zero when
                         * the file has no readable descriptor. desc.name and
                         * desc.version point into the module, which stays
                         * open as long as desc.name is set. */
    syn_backend_ops backend;       /* kind == backend and loaded: copied the same way */
    syn_capability_ops capability; /* kind == capability and loaded */
    /* the 1.5 kinds, each when its kind is loaded */
    syn_router_ops router;
    syn_extractor_ops extractor;
    syn_verifier_ops verifier;
    syn_spawner_ops spawner;
    syn_specialist_ops specialist;
    void *handle;       /* lt_dlhandle; NULL once nothing points into the module */
    const syn_plugin *module_desc; /* the module's own descriptor when loaded:
                                    * identifies the module for init/fini */
} syn_plugin_entry;

typedef struct syn_plugin_set {
    syn_plugin_entry *items; /* in search order; sorted by file name per directory */
    size_t n;
    char *searched;          /* the directories scanned, ':'-separated */
    int ltdl_ready;          /* lt_dlinit succeeded: free owes one lt_dlexit */
} syn_plugin_set;

/* Scan `dir` (every *.so in it is a candidate; a path to one .so file
 * makes a set of that file alone), or when dir is NULL the
 * default search path: each directory of $SYNAPSE_PLUGIN_DIR (':'-separated),
 * the build tree beside the running executable (D/backends/NAME/.libs and
 * D/plugins/NAME/.libs, D and D/.. where D holds /proc/self/exe), then the
 * installed plugin directory. Missing default directories are skipped; a
 * missing explicit `dir` is an error. A directory reached twice is scanned
 * once. When two plugins share a name, the first one that passes the ABI
 * checks keeps it and later ones are refused as shadowed.
 *
 * Refusals are entries with status REFUSED, not errors; errors are a missing
 * or unreadable explicit `dir` (SYN_ERR_NOT_FOUND / SYN_ERR_IO) or memory,
 * and leave *out empty (freeing it then is harmless). A plugin's init()
 * runs once per process however many sets load it, and its fini() when the
 * last set holding it is freed. Scans and frees are serialized by a lock
 * (libltdl keeps its state in globals), so any thread may call them. */
SYN_API int syn_plugins_scan(const char *dir, syn_plugin_set *out, syn_error *err);

/* The loaded backend with the highest probe score (the first found wins a
 * tie), or the loaded backend called `name` when name is not NULL. NULL when
 * there is none. */
SYN_API const syn_plugin_entry *syn_plugins_best_backend(const syn_plugin_set *set, const char *name);

/* The first loaded capability plugin whose ops table says `capability`
 * ("router", "extractor", ...), or NULL. */
SYN_API const syn_plugin_entry *syn_plugins_find_capability(const syn_plugin_set *set, const char *capability);
/* The first loaded plugin of a kind (SYN_PLUGIN_ROUTER, ...), or NULL. */
SYN_API const syn_plugin_entry *syn_plugins_find_kind(const syn_plugin_set *set, uint32_t kind);

/* Calls fini() of every loaded plugin (in reverse load order), unloads all
 * modules and releases the set. Only when no thread uses a plugin any more. */
SYN_API void syn_plugins_free(syn_plugin_set *set);

/* "backend", "capability", "router", "extractor", "verifier", "spawner",
 * "specialist" or "unknown". */
SYN_API const char *syn_plugin_kind_name(uint32_t kind);

#endif
