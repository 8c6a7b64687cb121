/* The swarm's list of specialists (see swarm.h). The list is an array of
 * references under one mutex; a change builds the new definitions, saves
 * them, and only then swaps the live entry, so what was acknowledged is in
 * the file and a failed save changes nothing. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/config/config.h"
#include "core/swarm/swarm.h"

struct syn_swarm {
    pthread_mutex_t mu;
    syn_model *model;
    char *adapters_dir;
    char *config_path;
    syn_swarm_resolve_fn resolve;
    void *resolve_user;
    syn_store *store; /* for specialist plugins' host */
    syn_host_model host_model;
    syn_specialist **list;
    int n, cap;
    /* the adapter budget: what the listed specialists' loaded adapters take */
    size_t budget, bytes;
    int loaded;
    uint64_t tick, loads, evictions;
};

int syn_swarm_new(syn_model *m, const char *data_dir, const char *config_path, syn_swarm_resolve_fn resolve,
                  void *resolve_user, syn_swarm **out, syn_error *err)
{
    *out = NULL;
    syn_swarm *w = calloc(1, sizeof *w);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/adapters", data_dir ? data_dir : ".");
    if (!w || !(w->adapters_dir = strdup(dir)) || (config_path && !(w->config_path = strdup(config_path)))) {
        if (w)
            free(w->adapters_dir);
        free(w);
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    }
    w->model = m;
    w->resolve = resolve;
    w->resolve_user = resolve_user;
    pthread_mutex_init(&w->mu, NULL);
    *out = w;
    return 0;
}

void syn_swarm_set_plugin_host(syn_swarm *w, syn_store *store, const syn_host_model *model)
{
    w->store = store;
    if (model)
        w->host_model = *model;
}

void syn_specialist_release(syn_specialist *sp)
{
    if (!sp || __atomic_sub_fetch(&sp->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    syn_capability_close(sp->code);
    syn_specialist_def_free(&sp->def);
    syn_lora_free(sp->lora);
    free(sp->adapter_path);
    free(sp);
}

void syn_swarm_free(syn_swarm *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n; i++)
        syn_specialist_release(w->list[i]);
    free(w->list);
    free(w->adapters_dir);
    free(w->config_path);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* The file an adapter name means: a path as given when it has a '/', else
 * NAME (a GGUF file or a PEFT directory) or NAME.gguf under the adapters
 * directory. */
static int adapter_path(const syn_swarm *w, const char *name, char *out, size_t n, syn_error *err)
{
    if (strchr(name, '/')) {
        snprintf(out, n, "%s", name);
        return 0;
    }
    if (!strcmp(name, ".") || !strcmp(name, ".."))
        return syn_fail(err, SYN_ERR_INVALID, "adapter '%s' is not a file name", name);
    struct stat st;
    snprintf(out, n, "%s/%s", w->adapters_dir, name);
    if (!stat(out, &st))
        return 0;
    snprintf(out, n, "%s/%s.gguf", w->adapters_dir, name);
    if (!stat(out, &st))
        return 0;
    return syn_fail(err, SYN_ERR_NOT_FOUND, "adapter '%s' is neither a path nor a file in %s", name,
                    w->adapters_dir);
}

/* A specialist in code: its plugin opened, and what it says of itself. */
static int open_code(syn_swarm *w, syn_specialist *sp, syn_error *err)
{
    int rc = syn_capability_open(sp->def.plugin, SYN_PLUGIN_SPECIALIST, w->store,
                                 w->host_model.user ? &w->host_model : NULL, &sp->code, err);
    struct stat st;
    if (rc == SYN_ERR_NOT_FOUND && stat(sp->def.plugin, &st))
        rc = syn_fail(err, SYN_ERR_INVALID, "plugin: %s: no such file", sp->def.plugin);
    else if (rc == SYN_ERR_NOT_FOUND) /* a directory without one */
        rc = syn_fail(err, SYN_ERR_INVALID, "plugin: no specialist plugin in %s", sp->def.plugin);
    if (!rc && sp->code->entry->specialist.describe(sp->code->inst, &sp->code_desc))
        rc = err->code ? err->code : syn_fail(err, SYN_ERR_INVALID, "plugin: describe() failed");
    return rc;
}

static int make_live(syn_swarm *w, const syn_specialist_def *def, syn_specialist **out, syn_error *err)
{
    *out = NULL;
    if (syn_specialist_check_name(def->name, err))
        return err->code;
    syn_specialist *sp = calloc(1, sizeof *sp);
    if (!sp)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    sp->refs = 1;
    int rc = syn_specialist_def_copy(&sp->def, def, err);
    sp->model = w->model;
    if (!rc && def->base_model && !w->resolve)
        rc = syn_fail(err, SYN_ERR_UNSUPPORTED, "base_model: this server serves one model");
    else if (!rc && def->base_model && (rc = w->resolve(w->resolve_user, def->base_model, &sp->model, &sp->base, err))) {
        char what[80];
        snprintf(what, sizeof what, "base_model '%.60s'", def->base_model);
        syn_error_prefix(err, what);
    }
    if (!rc && def->plugin)
        rc = open_code(w, sp, err);
    if (!rc && def->adapter) {
        char path[PATH_MAX];
        rc = adapter_path(w, def->adapter, path, sizeof path, err);
        if (!rc && !(sp->adapter_path = strdup(path)))
            rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
        if (!rc)
            rc = syn_lora_load(sp->model, path, &sp->lora, err);
        if (!rc) {
            sp->adapter_rank = syn_lora_rank(sp->lora);
            sp->adapter_alpha = syn_lora_alpha(sp->lora);
        }
    }
    /* an adapter that cannot be read or does not fit is the definition's
     * fault, not the server's */
    if (rc && rc != SYN_ERR_NOMEM)
        err->code = rc = SYN_ERR_INVALID;
    if (rc) {
        char where[SYN_SPECIALIST_MAX_NAME + 32];
        snprintf(where, sizeof where, "specialist '%s'", def->name);
        syn_error_prefix(err, where);
        syn_specialist_release(sp);
        return rc;
    }
    *out = sp;
    return 0;
}

static int find(const syn_swarm *w, const char *name)
{
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->list[i]->def.name, name))
            return i;
    return -1;
}

/* Writes the list as it will be: list[skip] left out (-1: none), extra
 * (NULL: none) at position at (-1: the end). Under w->mu. */
static int save(syn_swarm *w, int skip, const syn_specialist_def *extra, int at, syn_error *err)
{
    if (!w->config_path)
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "the server has no config file to keep the change in");
    syn_specialist_def *defs = malloc(sizeof *defs * (size_t)(w->n + 1));
    if (!defs)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    int n = 0;
    for (int i = 0; i < w->n; i++) {
        if (i == at && extra)
            defs[n++] = *extra;
        else if (i != skip)
            defs[n++] = w->list[i]->def;
    }
    if (extra && at < 0)
        defs[n++] = *extra;
    int rc = syn_config_write_specialists(w->config_path, defs, n, err); /* shallow copies: nothing to free */
    free(defs);
    return rc;
}

/* A listed specialist's adapter joins or leaves the budget's count. Under w->mu. */
static void count_adapter(syn_swarm *w, const syn_specialist *sp, int sign)
{
    if (!sp || !sp->lora)
        return;
    size_t b = syn_lora_bytes(sp->lora);
    w->bytes = sign > 0 ? w->bytes + b : w->bytes - b;
    w->loaded += sign;
}

/* Frees the least recently used adapters no one else holds until the
 * loaded ones fit the budget. Under w->mu. */
static void evict(syn_swarm *w)
{
    while (w->budget && w->bytes > w->budget) {
        syn_specialist *lru = NULL;
        for (int i = 0; i < w->n; i++) {
            syn_specialist *sp = w->list[i];
            if (sp->lora && !syn_lora_shared(sp->lora) && (!lru || sp->last_used < lru->last_used))
                lru = sp;
        }
        if (!lru)
            return; /* all in use: over the budget until they are done */
        count_adapter(w, lru, -1);
        syn_lora_free(lru->lora);
        __atomic_store_n(&lru->lora, NULL, __ATOMIC_RELEASE);
        w->evictions++;
    }
}

void syn_swarm_set_adapter_budget(syn_swarm *w, size_t bytes)
{
    pthread_mutex_lock(&w->mu);
    w->budget = bytes;
    evict(w);
    pthread_mutex_unlock(&w->mu);
}

void syn_swarm_adapter_stats_get(syn_swarm *w, syn_swarm_adapter_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = (syn_swarm_adapter_stats){.bytes = w->bytes, .budget = w->budget, .loaded = w->loaded,
                                     .loads = w->loads, .evictions = w->evictions};
    pthread_mutex_unlock(&w->mu);
}

static int listed(const syn_swarm *w, const syn_specialist *sp)
{
    for (int i = 0; i < w->n; i++)
        if (w->list[i] == sp)
            return 1;
    return 0;
}

int syn_swarm_adapter(syn_swarm *w, syn_specialist *sp, syn_lora **out, syn_error *err)
{
    *out = NULL;
    if (!sp->adapter_path)
        return 0;
    pthread_mutex_lock(&w->mu);
    sp->last_used = ++w->tick;
    if (sp->lora) {
        *out = syn_lora_retain(sp->lora);
        evict(w); /* what ran before may be idle now */
        pthread_mutex_unlock(&w->mu);
        return 0;
    }
    pthread_mutex_unlock(&w->mu);
    /* evicted: load it again, outside the lock (it reads the file) */
    syn_lora *l = NULL;
    int rc = syn_lora_load(sp->model, sp->adapter_path, &l, err);
    if (rc) {
        char where[SYN_SPECIALIST_MAX_NAME + 48];
        snprintf(where, sizeof where, "specialist '%s': reloading its adapter", sp->def.name);
        syn_error_prefix(err, where);
        return rc;
    }
    pthread_mutex_lock(&w->mu);
    if (!sp->lora && listed(w, sp)) { /* else another request reloaded it, or it was removed */
        __atomic_store_n(&sp->lora, l, __ATOMIC_RELEASE);
        count_adapter(w, sp, +1);
        w->loads++;
        l = NULL;
    }
    *out = syn_lora_retain(sp->lora ? sp->lora : l);
    evict(w);
    pthread_mutex_unlock(&w->mu);
    syn_lora_free(l);
    return 0;
}

/* Puts def live: in place of the one of its name (*had 1), or, when
 * create_only, not at all if there is one (*had 1, nothing changed). */
static int place(syn_swarm *w, const syn_specialist_def *def, int save_it, int create_only, int *had,
                 syn_error *err)
{
    syn_specialist *sp;
    int rc = make_live(w, def, &sp, err); /* loading the adapter: outside the lock */
    if (had)
        *had = 0;
    if (rc)
        return rc;
    pthread_mutex_lock(&w->mu);
    int at = find(w, def->name);
    if (at >= 0 && create_only) {
        pthread_mutex_unlock(&w->mu);
        syn_specialist_release(sp);
        *had = 1;
        return 0;
    }
    if (at < 0 && w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 8;
        syn_specialist **l = realloc(w->list, sizeof *l * (size_t)cap);
        if (!l)
            rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
        else {
            w->list = l;
            w->cap = cap;
        }
    }
    if (!rc && save_it)
        rc = save(w, -1, &sp->def, at, err);
    syn_specialist *old = NULL;
    if (!rc) {
        if (at >= 0) {
            old = w->list[at];
            w->list[at] = sp;
        } else
            w->list[w->n++] = sp;
        count_adapter(w, old, -1);
        count_adapter(w, sp, +1);
        sp->last_used = ++w->tick;
        evict(w);
        sp = NULL;
    }
    pthread_mutex_unlock(&w->mu);
    if (had)
        *had = old != NULL;
    syn_specialist_release(old); /* requests still using it keep theirs */
    syn_specialist_release(sp);
    return rc;
}

int syn_swarm_put(syn_swarm *w, const syn_specialist_def *def, int save_it, int *replaced, syn_error *err)
{
    return place(w, def, save_it, 0, replaced, err);
}

int syn_swarm_add(syn_swarm *w, const syn_specialist_def *def, int save_it, int *exists, syn_error *err)
{
    return place(w, def, save_it, 1, exists, err);
}

int syn_swarm_remove(syn_swarm *w, const char *name, syn_error *err)
{
    pthread_mutex_lock(&w->mu);
    int at = find(w, name), rc = 0;
    syn_specialist *old = NULL;
    if (at < 0)
        rc = syn_fail(err, SYN_ERR_NOT_FOUND, "there is no specialist '%.80s'", name);
    else if (!(rc = save(w, at, NULL, -1, err))) {
        old = w->list[at];
        count_adapter(w, old, -1);
        memmove(w->list + at, w->list + at + 1, sizeof *w->list * (size_t)(w->n - at - 1));
        w->n--;
    }
    pthread_mutex_unlock(&w->mu);
    syn_specialist_release(old);
    return rc;
}

syn_specialist *syn_swarm_get(syn_swarm *w, const char *name)
{
    pthread_mutex_lock(&w->mu);
    int at = find(w, name);
    syn_specialist *sp = at >= 0 ? w->list[at] : NULL;
    if (sp)
        __atomic_add_fetch(&sp->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&w->mu);
    return sp;
}

int syn_swarm_list(syn_swarm *w, syn_specialist ***out, int *n, syn_error *err)
{
    pthread_mutex_lock(&w->mu);
    syn_specialist **l = malloc(sizeof *l * (size_t)(w->n ? w->n : 1));
    if (!l) {
        pthread_mutex_unlock(&w->mu);
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < w->n; i++) {
        l[i] = w->list[i];
        __atomic_add_fetch(&l[i]->refs, 1, __ATOMIC_RELAXED);
    }
    *n = w->n;
    pthread_mutex_unlock(&w->mu);
    *out = l;
    return 0;
}

void syn_swarm_list_free(syn_specialist **list, int n)
{
    for (int i = 0; i < n; i++)
        syn_specialist_release(list[i]);
    free(list);
}

/* The claim op arrived in ABI 1.6: the loader leaves it NULL for an older
 * plugin, which claims nothing. */
static float claim_of(const syn_specialist *sp, const char *query)
{
    const syn_specialist_ops *ops = &sp->code->entry->specialist;
    if (!ops->claim)
        return 0;
    float x = ops->claim(sp->code->inst, query);
    return x == x ? x : 0; /* NaN claims nothing */
}

syn_specialist *syn_swarm_claim(syn_swarm *w, const char *query, float *score)
{
    syn_specialist **list;
    int n;
    syn_error err = {0};
    *score = 0;
    if (syn_swarm_list(w, &list, &n, &err))
        return NULL;
    syn_specialist *best = NULL;
    for (int i = 0; i < n; i++) {
        float x = list[i]->code ? claim_of(list[i], query) : 0;
        if (x >= SYN_SWARM_CLAIM_MIN && x > *score) {
            *score = x;
            best = list[i];
        }
    }
    if (best)
        __atomic_add_fetch(&best->refs, 1, __ATOMIC_ACQ_REL);
    syn_swarm_list_free(list, n);
    return best;
}

int syn_specialist_code_answer(const syn_specialist *sp, const char *query, syn_text_fn emit, void *user,
                               syn_error *err)
{
    if (!sp->code->entry->specialist.answer(sp->code->inst, query, emit, user, err))
        return 0;
    if (!err->code)
        syn_fail(err, SYN_ERR_INVALID, "%s: answer() failed", sp->def.name);
    return err->code;
}
