/* Opening a backend instance from the plugins found at start-up. The plugin
 * set is scanned once per process (under a lock) and never unloaded: threads
 * that used a plugin may still run while the process lives. */
#include <pthread.h>
#include <string.h>

#include <synapse/model.h>
#include <synapse/loader.h>

static pthread_mutex_t scan_lock = PTHREAD_MUTEX_INITIALIZER;
static syn_plugin_set plugin_set;
static int scanned;

int syn_backend_open(const char *name, int n_threads, syn_backend_ref *out, syn_error *err)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&scan_lock);
    int rc = SYN_OK;
    if (!scanned) {
        rc = syn_plugins_scan(NULL, &plugin_set, err);
        scanned = rc == SYN_OK;
    }
    pthread_mutex_unlock(&scan_lock);
    if (rc)
        return rc;
    const syn_plugin_entry *e = syn_plugins_best_backend(&plugin_set, name);
    if (!e) {
        if (name)
            return syn_fail(err, SYN_ERR_NOT_FOUND,
                            "backend '%s' not found or not usable here (see 'synapse plugins')", name);
        return syn_fail(err, SYN_ERR_NOT_FOUND,
                        "no usable backend plugin found (see 'synapse plugins'; SYNAPSE_PLUGIN_DIR sets where to look)");
    }
    syn_backend_params params = {.struct_size = sizeof params, .n_threads = n_threads, .device = 0};
    syn_backend *b = e->backend.create(&params, err);
    if (!b)
        return err && err->code ? err->code : syn_fail(err, SYN_ERR_INVALID, "backend '%s' failed to start", e->desc.name);
    out->ops = &e->backend;
    out->b = b;
    out->plugin_name = e->desc.name;
    return SYN_OK;
}

void syn_backend_close(syn_backend_ref *ref)
{
    if (ref && ref->b)
        ref->ops->destroy(ref->b);
    if (ref)
        memset(ref, 0, sizeof *ref);
}
