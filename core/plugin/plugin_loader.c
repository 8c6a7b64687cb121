/* The plugin loader: finds shared objects on the plugin search path, checks
 * each descriptor against include/synapse/plugin.h in the order DESIGN.md
 * gives, and keeps the modules it lists open until syn_plugins_free. Owns the
 * syn_plugin_set it fills, and the process-wide count of sets using each
 * initialised module. Any thread: scans and frees hold one lock, because
 * libltdl keeps its state (errors, open handles) in globals.
 *
 * Checks, in order (2 to 7 in plugin_check.c); the first failure refuses
 * the file with one line naming it and both sides:
 *   1. the module loads and exports synapse_plugin_v1, which returns non-NULL
 *   2. magic
 *   3. abi_major equal to ours
 *   4. abi_minor not newer than ours
 *   5. struct_size at least the ABI 1.0 size; min(struct_size, sizeof) bytes
 *      are copied into zeroed storage and nothing past struct_size is read
 *   6. required descriptor fields: name (an identifier), probe, ops
 *   7. kind known; then the kind's ops table: its own struct_size (copied the
 *      same way) and its required fields:
 *        backend: every ABI 1.0 op except describe, which callers may find
 *                 NULL (the plugin's name describes it). supports_type is
 *                 required: the model loader asks it before weight_load, and
 *                 every backend can answer it;
 *        capability: capability name, create, destroy, call;
 *        router, extractor, verifier, spawner, specialist (1.5; refused
 *        from a plugin built for an older 1.x): every op of the table
 *   8. no earlier plugin of the same name passed checks 1-7 (else shadowed)
 *   9. probe() > 0; 0 means "not usable on this machine": logged at info
 *      level, status UNSUPPORTED, not an error; negative is refused
 *  10. init(), when present, returns 0; otherwise refused with its message.
 *      It runs when the module is first loaded in this process: libltdl
 *      hands every set the same module, so init/fini pair per module, not
 *      per set.
 * Kind is checked after the descriptor's own pointers (not before them, as a
 * flat list might suggest) because which ops table to check depends on it. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <ltdl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <synapse/loader.h>

#include "core/plugin/plugin_check.h"

#ifndef SYN_PLUGIN_DIR
#error "SYN_PLUGIN_DIR (the installed plugin directory) must be defined by the build"
#endif

struct scan {
    syn_plugin_set *set;
    size_t cap;
    char **dirs; /* real paths already scanned */
    size_t n_dirs;
    size_t cap_dirs;
    lt_dladvise advise;
};

/* Modules whose init() ran, with the number of loaded entries (over all
 * sets) using them; fini() runs when that drops to zero. */
struct live_module {
    const syn_plugin *desc; /* the module's own descriptor: one per instance */
    int users;
};

static pthread_mutex_t loader_lock = PTHREAD_MUTEX_INITIALIZER;
static struct live_module *live;
static size_t n_live, cap_live;

static struct live_module *find_live(const syn_plugin *d)
{
    for (size_t i = 0; i < n_live; i++)
        if (live[i].desc == d)
            return &live[i];
    return NULL;
}

/* Check 10: init() once per module instance. */
static int acquire_module(syn_plugin_entry *e, const syn_plugin *d)
{
    struct live_module *m = find_live(d);
    if (m) {
        m->users++;
        e->module_desc = d;
        return 0;
    }
    if (n_live == cap_live) {
        size_t cap = cap_live ? cap_live * 2 : 8;
        struct live_module *l = realloc(live, cap * sizeof *l);
        if (!l) {
            syn_plugin_refuse(e, "out of memory before init()");
            return -1;
        }
        live = l;
        cap_live = cap;
    }
    if (e->desc.init) {
        syn_error ierr;
        memset(&ierr, 0, sizeof ierr);
        int rc = e->desc.init(&ierr);
        if (rc) {
            ierr.msg[sizeof ierr.msg - 1] = '\0';
            if (ierr.msg[0])
                syn_plugin_refuse(e, "init() failed: %s", ierr.msg);
            else
                syn_plugin_refuse(e, "init() failed with status %d and no message", rc);
            return -1;
        }
    }
    live[n_live].desc = d;
    live[n_live].users = 1;
    n_live++;
    e->module_desc = d;
    return 0;
}

static void release_module(const syn_plugin_entry *e)
{
    struct live_module *m = find_live(e->module_desc);
    if (!m || --m->users > 0)
        return;
    if (e->desc.fini)
        e->desc.fini();
    *m = live[--n_live];
    if (n_live == 0) {
        free(live);
        live = NULL;
        cap_live = 0;
    }
}

/* libltdl reports every failed load as "file not found"; the dynamic loader
 * itself says what a user can act on (bad ELF header, wrong class, missing
 * library or symbol), so ask it once more, for the message only. */
static void explain_load_failure(syn_plugin_entry *e, const char *lt_why)
{
    void *h = dlopen(e->path, RTLD_LAZY | RTLD_LOCAL);
    const char *why = h ? NULL : dlerror();
    if (h)
        dlclose(h);
    if (!why) {
        syn_plugin_refuse(e, "cannot be loaded: %s", lt_why ? lt_why : "unknown libltdl error");
        return;
    }
    size_t n = strlen(e->path);
    if (!strncmp(why, e->path, n) && !strncmp(why + n, ": ", 2))
        why += n + 2; /* the line names the file already */
    syn_plugin_refuse(e, "cannot be loaded: %s", why);
}

static const syn_plugin_entry *find_owner(const syn_plugin_set *set, const syn_plugin_entry *e)
{
    for (const syn_plugin_entry *o = set->items; o < e; o++)
        if (o->status != SYN_PLUGIN_REFUSED && !strcmp(o->desc.name, e->desc.name))
            return o;
    return NULL;
}

/* Runs every check on one candidate; the entry ends LOADED, UNSUPPORTED or
 * REFUSED. Modules whose entry holds no pointer into them are closed. */
static void load_candidate(struct scan *s, syn_plugin_entry *e)
{
    e->status = SYN_PLUGIN_REFUSED;
    lt_dlhandle h = lt_dlopenadvise(e->path, s->advise);
    if (!h) {
        explain_load_failure(e, lt_dlerror());
        return;
    }
    e->handle = h;

    void *sym = lt_dlsym(h, SYN_PLUGIN_ENTRY);
    const syn_plugin *d = NULL;
    if (!sym) {
        syn_plugin_refuse(e, "no %s symbol (not a Synapse plugin?)", SYN_PLUGIN_ENTRY);
    } else {
        syn_plugin_entry_fn entry;
        _Static_assert(sizeof entry == sizeof sym, "function and object pointers differ in size");
        memcpy(&entry, &sym, sizeof entry);
        d = entry();
        if (!d)
            syn_plugin_refuse(e, "%s() returned no descriptor", SYN_PLUGIN_ENTRY);
    }
    if (!d || syn_plugin_check(e, d))
        goto out;

    const syn_plugin_entry *owner = find_owner(s->set, e);
    if (owner) {
        syn_plugin_refuse(e, "shadowed by %s (both are plugin '%s'; the first one found wins)", owner->path, e->desc.name);
        goto out;
    }

    int score = e->desc.probe();
    e->score = score;
    if (score < 0) {
        syn_plugin_refuse(e, "probe() returned %d; it must return 0 (not usable here) or a positive score", score);
        goto out;
    }
    if (score == 0) {
        e->status = SYN_PLUGIN_UNSUPPORTED;
        snprintf(e->reason, sizeof e->reason, "%s: probe() says plugin '%s' is not usable on this machine", e->file,
                 e->desc.name);
        syn_log(SYN_LOG_INFO, "%s", e->reason);
        goto out;
    }
    if (acquire_module(e, d))
        goto out;
    e->status = SYN_PLUGIN_LOADED;
    e->reason[0] = '\0';
out:
    if (e->status == SYN_PLUGIN_REFUSED) {
        memset(&e->backend, 0, sizeof e->backend);
        memset(&e->capability, 0, sizeof e->capability);
        memset(&e->router, 0, sizeof e->router);
        memset(&e->extractor, 0, sizeof e->extractor);
        memset(&e->verifier, 0, sizeof e->verifier);
        memset(&e->spawner, 0, sizeof e->spawner);
        memset(&e->specialist, 0, sizeof e->specialist);
    }
    if (!e->desc.name && !e->desc.version) {
        lt_dlclose(e->handle);
        e->handle = NULL;
    }
}

static int has_so_suffix(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 3 && !strcmp(name + n - 3, ".so");
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The names in open directory dp that keep() accepts, sorted, so that
 * listings and shadowing do not depend on the file system's order. */
static int list_names(DIR *dp, const char *dir, int (*keep)(const char *), char ***out, size_t *out_n, syn_error *err)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = SYN_OK;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(dp))) {
        if (!keep(de->d_name))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn) {
                rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory listing plugins");
                break;
            }
            names = nn;
            cap = ncap;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory listing plugins");
            break;
        }
        n++;
        errno = 0;
    }
    if (!rc && errno)
        rc = syn_fail(err, SYN_ERR_IO, "plugin directory %s: %s", dir, strerror(errno));
    if (!rc)
        qsort(names, n, sizeof *names, cmp_names);
    *out = names;
    *out_n = n;
    return rc;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int add_entry(struct scan *s, const char *dir, const char *name, syn_error *err)
{
    syn_plugin_set *set = s->set;
    if (set->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        syn_plugin_entry *items = realloc(set->items, cap * sizeof *items);
        if (!items)
            return syn_fail(err, SYN_ERR_NOMEM, "out of memory listing plugins");
        set->items = items;
        s->cap = cap;
    }
    syn_plugin_entry *e = &set->items[set->n];
    memset(e, 0, sizeof *e);
    size_t dl = strlen(dir), nl = strlen(name);
    e->path = malloc(dl + 1 + nl + 1);
    if (!e->path)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory listing plugins");
    memcpy(e->path, dir, dl);
    e->path[dl] = '/';
    memcpy(e->path + dl + 1, name, nl + 1);
    e->file = e->path + dl + 1;
    set->n++;
    load_candidate(s, e);
    return SYN_OK;
}

/* Candidates of one directory, in file-name order so that listings and
 * shadowing do not depend on the file system's order. */
static int scan_dir(struct scan *s, const char *dir, int explicit_dir, syn_error *err)
{
    DIR *dp = opendir(dir);
    if (!dp) {
        if (explicit_dir)
            return syn_fail(err, SYN_ERR_IO, "plugin directory %s: %s", dir, strerror(errno));
        syn_log(SYN_LOG_WARN, "skipping plugin directory %s: %s", dir, strerror(errno));
        return SYN_OK;
    }
    char **names;
    size_t n;
    int rc = list_names(dp, dir, has_so_suffix, &names, &n, err);
    closedir(dp);
    for (size_t i = 0; i < n && !rc; i++) {
        char path[PATH_MAX];
        struct stat st;
        /* Only regular files (or links to them): a directory called x.so is
         * not a candidate. */
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path || stat(path, &st) ||
            !S_ISREG(st.st_mode))
            continue;
        rc = add_entry(s, dir, names[i], err);
    }
    free_names(names, n);
    return rc;
}

static int note_searched(syn_plugin_set *set, const char *dir, syn_error *err)
{
    size_t old = set->searched ? strlen(set->searched) : 0, add = strlen(dir);
    char *s = realloc(set->searched, old + (old ? 1 : 0) + add + 1);
    if (!s)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory listing plugins");
    if (old)
        s[old++] = ':';
    memcpy(s + old, dir, add + 1);
    set->searched = s;
    return SYN_OK;
}

/* Scans one directory of the search path unless it was reached before. Only
 * an explicit directory has to exist. */
static int add_dir(struct scan *s, const char *dir, int explicit_dir, const char *origin, syn_error *err)
{
    char *real = realpath(dir, NULL);
    if (!real) {
        int e = errno;
        if (e == ENOMEM)
            return syn_fail(err, SYN_ERR_NOMEM, "out of memory listing plugins");
        if (explicit_dir)
            return syn_fail(err, e == ENOENT ? SYN_ERR_NOT_FOUND : SYN_ERR_IO, "plugin directory %s: %s", dir,
                            strerror(e));
        syn_log(origin ? SYN_LOG_WARN : SYN_LOG_DEBUG, "%s%splugin directory %s: %s (skipped)", origin ? origin : "",
                origin ? ": " : "", dir, strerror(e));
        return SYN_OK;
    }
    struct stat st;
    if (explicit_dir && !stat(real, &st) && S_ISREG(st.st_mode) && has_so_suffix(real)) {
        /* one file: a set of it alone (config plugins: names one .so) */
        char *slash = strrchr(real, '/');
        *slash = '\0';
        int rc = note_searched(s->set, real, err);
        if (!rc)
            rc = add_entry(s, real, slash + 1, err);
        free(real);
        return rc;
    }
    if (stat(real, &st) || !S_ISDIR(st.st_mode)) {
        free(real);
        if (explicit_dir)
            return syn_fail(err, SYN_ERR_IO, "plugin directory %s: not a directory (nor a .so file)", dir);
        syn_log(origin ? SYN_LOG_WARN : SYN_LOG_DEBUG, "%s%splugin directory %s: not a directory (skipped)",
                origin ? origin : "", origin ? ": " : "", dir);
        return SYN_OK;
    }
    for (size_t i = 0; i < s->n_dirs; i++) {
        if (!strcmp(s->dirs[i], real)) {
            free(real);
            return SYN_OK;
        }
    }
    if (s->n_dirs == s->cap_dirs) {
        size_t cap = s->cap_dirs ? s->cap_dirs * 2 : 8;
        char **d = realloc(s->dirs, cap * sizeof *d);
        if (!d) {
            free(real);
            return syn_fail(err, SYN_ERR_NOMEM, "out of memory listing plugins");
        }
        s->dirs = d;
        s->cap_dirs = cap;
    }
    s->dirs[s->n_dirs++] = real;
    int rc = note_searched(s->set, real, err);
    return rc ? rc : scan_dir(s, real, explicit_dir, err);
}

static int not_hidden(const char *name) { return name[0] != '.'; }

/* The build tree: each plugin builds in a folder of its own under
 * backends/ or plugins/, libtool leaving the .so in its .libs/. */
static int scan_build_tree(struct scan *s, const char *exe_dir, const char *up, syn_error *err)
{
    static const char *const groups[] = {"backends", "plugins"};
    for (size_t g = 0; g < sizeof groups / sizeof *groups; g++) {
        char top[PATH_MAX];
        if (snprintf(top, sizeof top, "%s%s/%s", exe_dir, up, groups[g]) >= (int)sizeof top)
            continue;
        DIR *d = opendir(top);
        if (!d)
            continue;
        char **names;
        size_t n;
        int rc = list_names(d, top, not_hidden, &names, &n, err);
        closedir(d);
        for (size_t i = 0; i < n && !rc; i++) {
            char cand[PATH_MAX];
            if (snprintf(cand, sizeof cand, "%s/%s/.libs", top, names[i]) < (int)sizeof cand)
                rc = add_dir(s, cand, 0, NULL, err);
        }
        free_names(names, n);
        if (rc)
            return rc;
    }
    return SYN_OK;
}

/* $SYNAPSE_PLUGIN_DIR, the build tree beside the executable, the installed
 * directory. libtool runs uninstalled programs from .libs/, hence ../. */
static int scan_default(struct scan *s, syn_error *err)
{
    const char *env = getenv("SYNAPSE_PLUGIN_DIR");
    if (env && *env) {
        char *list = strdup(env);
        if (!list)
            return syn_fail(err, SYN_ERR_NOMEM, "out of memory listing plugins");
        int rc = SYN_OK;
        char *save = NULL;
        for (char *d = strtok_r(list, ":", &save); d && !rc; d = strtok_r(NULL, ":", &save))
            rc = add_dir(s, d, 0, "SYNAPSE_PLUGIN_DIR", err);
        free(list);
        if (rc)
            return rc;
    }

    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0 && (size_t)len < sizeof exe - 1) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            static const char *const up[] = {"", "/.."};
            for (size_t i = 0; i < sizeof up / sizeof *up; i++) {
                int rc = scan_build_tree(s, exe, up[i], err);
                if (rc)
                    return rc;
            }
        }
    }
    return add_dir(s, SYN_PLUGIN_DIR, 0, NULL, err);
}

static void free_locked(syn_plugin_set *set);

int syn_plugins_scan(const char *dir, syn_plugin_set *out, syn_error *err)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&loader_lock);
    if (lt_dlinit() != 0) {
        const char *why = lt_dlerror();
        pthread_mutex_unlock(&loader_lock);
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "cannot start libltdl: %s", why ? why : "unknown error");
    }
    out->ltdl_ready = 1;

    struct scan s;
    memset(&s, 0, sizeof s);
    s.set = out;
    int rc = SYN_OK;
    /* RTLD_LOCAL: plugins link the core library themselves, and two plugins
     * must not resolve each other's symbols. */
    if (lt_dladvise_init(&s.advise) || lt_dladvise_local(&s.advise)) {
        rc = syn_fail(err, SYN_ERR_NOMEM, "cannot set up libltdl: %s", lt_dlerror());
        goto done;
    }
    rc = dir ? add_dir(&s, dir, 1, NULL, err) : scan_default(&s, err);
done:
    if (s.advise)
        lt_dladvise_destroy(&s.advise);
    for (size_t i = 0; i < s.n_dirs; i++)
        free(s.dirs[i]);
    free(s.dirs);
    if (rc)
        free_locked(out);
    pthread_mutex_unlock(&loader_lock);
    return rc;
}

const syn_plugin_entry *syn_plugins_best_backend(const syn_plugin_set *set, const char *name)
{
    const syn_plugin_entry *best = NULL;
    for (size_t i = 0; i < set->n; i++) {
        const syn_plugin_entry *e = &set->items[i];
        if (e->status != SYN_PLUGIN_LOADED || e->desc.kind != SYN_PLUGIN_BACKEND)
            continue;
        if (name && strcmp(e->desc.name, name))
            continue;
        if (!best || e->score > best->score)
            best = e;
    }
    return best;
}

const syn_plugin_entry *syn_plugins_find_capability(const syn_plugin_set *set, const char *capability)
{
    for (size_t i = 0; i < set->n; i++) {
        const syn_plugin_entry *e = &set->items[i];
        if (e->status == SYN_PLUGIN_LOADED && e->desc.kind == SYN_PLUGIN_CAPABILITY &&
            !strcmp(e->capability.capability, capability))
            return e;
    }
    return NULL;
}

const syn_plugin_entry *syn_plugins_find_kind(const syn_plugin_set *set, uint32_t kind)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->items[i].status == SYN_PLUGIN_LOADED && set->items[i].desc.kind == kind)
            return &set->items[i];
    return NULL;
}

static void free_locked(syn_plugin_set *set)
{
    for (size_t i = set->n; i-- > 0;) {
        syn_plugin_entry *e = &set->items[i];
        if (e->status == SYN_PLUGIN_LOADED)
            release_module(e);
        if (e->handle)
            lt_dlclose(e->handle);
        free(e->path);
    }
    free(set->items);
    free(set->searched);
    /* Balances the scan's lt_dlinit; the last lt_dlexit also frees
     * libltdl's loaders, so a process that frees every set it scanned ends
     * with nothing of libltdl's left. */
    if (set->ltdl_ready)
        lt_dlexit();
    memset(set, 0, sizeof *set);
}

void syn_plugins_free(syn_plugin_set *set)
{
    if (!set)
        return;
    pthread_mutex_lock(&loader_lock);
    free_locked(set);
    pthread_mutex_unlock(&loader_lock);
}
