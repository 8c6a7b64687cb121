/* The plugin loader: finds shared objects on the plugin search path, checks
 * each descriptor against include/synapse/plugin.h in the order DESIGN.md
 * gives, and keeps the modules it lists open until syn_plugins_free. Owns the
 * syn_plugin_set it fills, and the process-wide count of sets using each
 * initialised module. Any thread: scans and frees hold one lock, because
 * libltdl keeps its state (errors, open handles) in globals.
 *
 * Checks, in order; the first failure refuses the file with one line naming
 * it and both sides:
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
 *        capability: capability name, create, destroy, call
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

#ifndef SYN_PLUGIN_DIR
#error "SYN_PLUGIN_DIR (the installed plugin directory) must be defined by the build"
#endif

#define NAME_MAX_LEN 63

/* The fixed head every descriptor of every major starts with. */
#define HEAD_SIZE SYN_SIZE_THROUGH(syn_plugin, struct_size)

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
static void refuse(syn_plugin_entry *e, const char *fmt, ...) SYN_PRINTF(2, 3);
static void refuse(syn_plugin_entry *e, const char *fmt, ...)
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
        refuse(e, "%s ops table is %u bytes, ABI %d.0 needs at least %zu", kind, size, SYN_ABI_MAJOR, v1_0_size);
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
            refuse(e, "%s ops table has no %s() (required since ABI %d.0)", kind, req[i].name, SYN_ABI_MAJOR);
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
            refuse(e, "capability ops table has no capability name (required since ABI %d.0)", SYN_ABI_MAJOR);
            return -1;
        }
        return check_required(e, "capability", &e->capability, capability_required,
                              sizeof capability_required / sizeof *capability_required);
    default:
        refuse(e, "plugin kind %u is unknown to this synapse (it knows %d = backend, %d = capability)", e->desc.kind,
               SYN_PLUGIN_BACKEND, SYN_PLUGIN_CAPABILITY);
        return -1;
    }
}

/* Checks 2-7: everything that reads the descriptor but calls nothing in it. */
static int check_descriptor(syn_plugin_entry *e, const syn_plugin *d)
{
    uint32_t magic;
    memcpy(&magic, d, sizeof magic);
    if (magic != SYN_PLUGIN_MAGIC) {
        refuse(e, "bad magic 0x%08x, a Synapse plugin has 0x%08x (\"SYNP\")", magic, SYN_PLUGIN_MAGIC);
        return -1;
    }
    copy_descriptor(e, d);
    const syn_plugin *c = &e->desc;
    if (c->abi_major != SYN_ABI_MAJOR) {
        refuse(e, "built for plugin ABI %u.%u, this synapse speaks %d.%d", c->abi_major, c->abi_minor, SYN_ABI_MAJOR,
               SYN_ABI_MINOR);
        return -1;
    }
    if (c->abi_minor > SYN_ABI_MINOR) {
        refuse(e, "needs plugin ABI %u.%u, this synapse has %d.%d", c->abi_major, c->abi_minor, SYN_ABI_MAJOR,
               SYN_ABI_MINOR);
        return -1;
    }
    if (c->struct_size < SYN_PLUGIN_V1_0_SIZE) {
        refuse(e, "descriptor is %u bytes, ABI %d.0 needs at least %zu", c->struct_size, SYN_ABI_MAJOR,
               SYN_PLUGIN_V1_0_SIZE);
        return -1;
    }
    if (!c->name) {
        refuse(e, "descriptor has no plugin name, or one that is not 1-%d of [A-Za-z0-9._-] (required since ABI %d.0)",
               NAME_MAX_LEN, SYN_ABI_MAJOR);
        return -1;
    }
    if (!c->probe) {
        refuse(e, "descriptor has no probe() (required since ABI %d.0)", SYN_ABI_MAJOR);
        return -1;
    }
    if (!c->ops) {
        refuse(e, "descriptor has no ops table (required since ABI %d.0)", SYN_ABI_MAJOR);
        return -1;
    }
    return check_ops(e);
}

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
            refuse(e, "out of memory before init()");
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
                refuse(e, "init() failed: %s", ierr.msg);
            else
                refuse(e, "init() failed with status %d and no message", rc);
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
        refuse(e, "cannot be loaded: %s", lt_why ? lt_why : "unknown libltdl error");
        return;
    }
    size_t n = strlen(e->path);
    if (!strncmp(why, e->path, n) && !strncmp(why + n, ": ", 2))
        why += n + 2; /* the line names the file already */
    refuse(e, "cannot be loaded: %s", why);
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
        refuse(e, "no %s symbol (not a Synapse plugin?)", SYN_PLUGIN_ENTRY);
    } else {
        syn_plugin_entry_fn entry;
        _Static_assert(sizeof entry == sizeof sym, "function and object pointers differ in size");
        memcpy(&entry, &sym, sizeof entry);
        d = entry();
        if (!d)
            refuse(e, "%s() returned no descriptor", SYN_PLUGIN_ENTRY);
    }
    if (!d || check_descriptor(e, d))
        goto out;

    const syn_plugin_entry *owner = find_owner(s->set, e);
    if (owner) {
        refuse(e, "shadowed by %s (both are plugin '%s'; the first one found wins)", owner->path, e->desc.name);
        goto out;
    }

    int score = e->desc.probe();
    e->score = score;
    if (score < 0) {
        refuse(e, "probe() returned %d; it must return 0 (not usable here) or a positive score", score);
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
    if (stat(real, &st) || !S_ISDIR(st.st_mode)) {
        free(real);
        if (explicit_dir)
            return syn_fail(err, SYN_ERR_IO, "plugin directory %s: not a directory", dir);
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
