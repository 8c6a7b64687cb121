/* Finding, checking and loading plugins (libltdl). A syn_plugin_set is built
 * once at start-up by one thread and read-only afterwards. Plugins are never
 * unloaded while the set lives: threads that used one may still run. */
#ifndef SYN_CORE_PLUGIN_LOADER_H
#define SYN_CORE_PLUGIN_LOADER_H

#include <synapse/plugin.h>

typedef enum syn_plugin_status {
    SYN_PLUGIN_LOADED = 0,      /* passed every check, probe() > 0 */
    SYN_PLUGIN_REFUSED = 1,     /* failed a check: see reason */
    SYN_PLUGIN_UNSUPPORTED = 2, /* probe() == 0: not usable on this machine */
} syn_plugin_status;

typedef struct syn_plugin_entry {
    char *path;         /* full path of the shared object */
    const char *file;   /* its file name, inside path */
    int status;         /* syn_plugin_status */
    char reason[320];   /* one line naming the file and both sides, when refused */
    int score;          /* probe() result */
    syn_plugin desc;    /* descriptor copied into zeroed storage (valid if desc.name) */
    syn_backend_ops backend;       /* kind == backend, copied the same way */
    syn_capability_ops capability; /* kind == capability */
    void *handle;       /* lt_dlhandle */
} syn_plugin_entry;

typedef struct syn_plugin_set {
    syn_plugin_entry *items;
    size_t n;
} syn_plugin_set;

/* Scan `dir` (every shared object in it is a candidate), or when dir is NULL
 * the default search path: $SYNAPSE_PLUGIN_DIR, the build tree beside the
 * running executable, then the installed plugin directory. Refusals are
 * entries with status REFUSED, not errors; errors are I/O or memory only. */
int syn_plugins_scan(const char *dir, syn_plugin_set *out, syn_error *err);
/* The loaded backend with the highest probe score (optionally by name). */
const syn_plugin_entry *syn_plugins_best_backend(const syn_plugin_set *set, const char *name);
void syn_plugins_free(syn_plugin_set *set);

#endif
