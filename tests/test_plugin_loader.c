/* Loader test: scans tests/plugins/.libs, where each test plugin breaks one
 * rule, and checks every file gets its status and its own one-line reason;
 * then calls through the good capability and backend plugins, and checks the
 * search path, the info log for probe() == 0, and I/O errors.
 * Single-threaded test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <synapse/loader.h>
#include "tests/check.h"

struct expect {
    const char *file;
    int status;
    const char *name;   /* desc.name as listed, NULL when unreadable */
    const char *reason; /* exact; "%s" stands for the scanned directory */
};

/* this header's ABI version as the loader prints it */
#define STR_(x) #x
#define STR(x) STR_(x)
#define ABI STR(SYN_ABI_MAJOR) "." STR(SYN_ABI_MINOR)

static const struct expect expected[] = {
    {"bad_magic.so", SYN_PLUGIN_REFUSED, NULL,
     "bad_magic.so: bad magic 0x12345678, a Synapse plugin has 0x504e5953 (\"SYNP\")"},
    {"bad_major.so", SYN_PLUGIN_REFUSED, "test-bad_major", "bad_major.so: built for plugin ABI 2.0, this synapse speaks " ABI},
    {"bad_name.so", SYN_PLUGIN_REFUSED, NULL,
     "bad_name.so: descriptor has no plugin name, or one that is not 1-63 of [A-Za-z0-9._-] (required since ABI 1.0)"},
    {"extractor_double.so", SYN_PLUGIN_LOADED, "test-fact_double", ""},
    {"good_backend.so", SYN_PLUGIN_LOADED, "test-good_backend", ""},
    {"good_capability.so", SYN_PLUGIN_LOADED, "test-good_capability", ""},
    {"init_fail.so", SYN_PLUGIN_REFUSED, "test-init_fail",
     "init_fail.so: init() failed: echo device /dev/echo0 is missing second line"},
    {"lean_backend.so", SYN_PLUGIN_LOADED, "test-lean_backend", ""},
    {"missing_op.so", SYN_PLUGIN_REFUSED, "test-missing_op",
     "missing_op.so: backend ops table has no matmul() (required since ABI 1.0)"},
    {"newer_minor.so", SYN_PLUGIN_REFUSED, "test-newer_minor", "newer_minor.so: needs plugin ABI 1.7, this synapse has " ABI},
    {"no_entry.so", SYN_PLUGIN_REFUSED, NULL, "no_entry.so: no synapse_plugin_v1 symbol (not a Synapse plugin?)"},
    {"no_probe.so", SYN_PLUGIN_REFUSED, "test-no_probe", "no_probe.so: descriptor has no probe() (required since ABI 1.0)"},
    {"probe_negative.so", SYN_PLUGIN_REFUSED, "test-probe_negative",
     "probe_negative.so: probe() returned -1; it must return 0 (not usable here) or a positive score"},
    {"probe_zero.so", SYN_PLUGIN_UNSUPPORTED, "test-probe_zero",
     "probe_zero.so: probe() says plugin 'test-probe_zero' is not usable on this machine"},
    {"router_double.so", SYN_PLUGIN_LOADED, "test-router_double", ""},
    {"router_old.so", SYN_PLUGIN_REFUSED, "test-router_old",
     "router_old.so: plugin kind 3 is unknown to this synapse for ABI 1.4 (it knows 1 = backend, 2 = capability, "
     "and from 1.5 3 = router ... 7 = specialist)"},
    {"router_partial.so", SYN_PLUGIN_REFUSED, "test-router_partial",
     "router_partial.so: router ops table has no outcome() (required since ABI 1.5)"},
    {"shadow_dup.so", SYN_PLUGIN_REFUSED, "test-good_capability",
     "shadow_dup.so: shadowed by %s/good_capability.so (both are plugin 'test-good_capability'; the first one found "
     "wins)"},
    {"short.so", SYN_PLUGIN_REFUSED, "test-short", "short.so: descriptor is 24 bytes, ABI 1.0 needs at least 64"},
    {"short_ops.so", SYN_PLUGIN_REFUSED, "test-short_ops",
     "short_ops.so: backend ops table is 16 bytes, ABI 1.0 needs at least 152"},
    {"unknown_kind.so", SYN_PLUGIN_REFUSED, "test-unknown_kind",
     "unknown_kind.so: plugin kind 99 is unknown to this synapse for ABI " ABI " (it knows 1 = backend, 2 = capability, "
     "and from 1.5 3 = router ... 7 = specialist)"},
};
#define N_EXPECTED (sizeof expected / sizeof *expected)

static char plugin_dir[4096];

static const syn_plugin_entry *find(const syn_plugin_set *set, const char *file)
{
    const syn_plugin_entry *found = NULL;
    for (size_t i = 0; i < set->n; i++) {
        if (!strcmp(set->items[i].file, file)) {
            CHECK_MSG(!found, "%s listed twice", file);
            found = &set->items[i];
        }
    }
    return found;
}

/* dir: the real path the set scanned the test plugins in. */
static void check_entries(const syn_plugin_set *set, const char *dir, int test_backend_on)
{
    for (size_t i = 0; i < N_EXPECTED; i++) {
        const struct expect *x = &expected[i];
        const syn_plugin_entry *e = find(set, x->file);
        CHECK_MSG(e, "%s not found", x->file);
        if (!e)
            continue;
        int status = x->status;
        char reason[sizeof e->reason];
        snprintf(reason, sizeof reason, x->reason, dir);
        if (strstr(x->file, "_backend.so") && !test_backend_on) {
            status = SYN_PLUGIN_UNSUPPORTED;
            snprintf(reason, sizeof reason, "%s: probe() says plugin '%s' is not usable on this machine", x->file,
                     x->name);
        }
        CHECK_MSG(e->status == status, "%s: status %d, want %d (%s)", x->file, e->status, status, e->reason);
        CHECK_MSG(!strcmp(e->reason, reason), "%s:\n  got  '%s'\n  want '%s'", x->file, e->reason, reason);
        CHECK_MSG(!strchr(e->reason, '\n'), "%s: reason is not one line", x->file);
        if (x->name)
            CHECK_MSG(e->desc.name && !strcmp(e->desc.name, x->name), "%s: name %s, want %s", x->file,
                      e->desc.name ? e->desc.name : "(none)", x->name);
        else
            CHECK_MSG(!e->desc.name, "%s: has a name", x->file);
        /* a module nothing points into is closed at once */
        if (!e->desc.name && !e->desc.version)
            CHECK_MSG(!e->handle, "%s: still open", x->file);
        CHECK(strlen(e->path) > strlen(e->file) && !strcmp(e->path + strlen(e->path) - strlen(e->file), e->file));
    }
}

static void test_scan_dir(void)
{
    syn_plugin_set set;
    syn_error err = {0};
    int rc = syn_plugins_scan(plugin_dir, &set, &err);
    CHECK_MSG(rc == 0, "scan %s: %s", plugin_dir, err.msg);
    CHECK_MSG(set.n == N_EXPECTED, "%zu candidates, want %zu", set.n, (size_t)N_EXPECTED);
    char *real = realpath(plugin_dir, NULL);
    CHECK(real && set.searched && !strcmp(set.searched, real));
    check_entries(&set, real ? real : "", 1);
    /* listed in file-name order */
    for (size_t i = 1; i < set.n; i++)
        CHECK(strcmp(set.items[i - 1].file, set.items[i].file) < 0);

    const syn_plugin_entry *bad_major = find(&set, "bad_major.so");
    if (bad_major)
        CHECK(bad_major->desc.abi_major == 2 && bad_major->desc.abi_minor == 0 &&
              !strcmp(bad_major->desc.version, "1.2.3"));
    const syn_plugin_entry *shrt = find(&set, "short.so");
    if (shrt)
        CHECK(shrt->desc.version == NULL && shrt->desc.probe == NULL && shrt->desc.kind == SYN_PLUGIN_BACKEND);
    free(real);
    syn_plugins_free(&set);
    CHECK(set.n == 0 && set.items == NULL);
}

static void test_capability(void)
{
    syn_plugin_set set;
    syn_error err = {0};
    CHECK(syn_plugins_scan(plugin_dir, &set, &err) == 0);
    const syn_plugin_entry *e = syn_plugins_find_capability(&set, "echo");
    CHECK(e && !strcmp(e->file, "good_capability.so"));
    CHECK(syn_plugins_find_capability(&set, "router") == NULL);
    if (e) {
        const syn_capability_ops *ops = &e->capability;
        void *inst = ops->create("{\"k\":1}", &err);
        CHECK_MSG(inst, "create: %s", err.msg);
        char *resp = NULL;
        CHECK(ops->call(inst, "[1,2]", &resp, &err) == 0);
        CHECK_MSG(resp && !strcmp(resp, "{\"echo\":[1,2],\"config\":{\"k\":1},\"calls\":1,\"initialized\":true}"),
                  "response %s", resp ? resp : "(null)");
        free(resp);
        CHECK(ops->call(inst, "\"again\"", &resp, &err) == 0);
        CHECK(resp && strstr(resp, "\"calls\":2"));
        free(resp);
        resp = (char *)"untouched";
        CHECK(ops->call(inst, NULL, &resp, &err) == SYN_ERR_INVALID);
        CHECK(resp == NULL && err.code == SYN_ERR_INVALID && !strcmp(err.msg, "echo: no request"));
        ops->destroy(inst);
    }

    /* A second set gets the same module: init must not run again, and
     * freeing one set must not fini() the module the other still uses. */
    syn_plugin_set other;
    CHECK(syn_plugins_scan(plugin_dir, &other, &err) == 0);
    syn_plugins_free(&other);
    if (e) {
        void *inst = e->capability.create(NULL, &err);
        char *resp = NULL;
        CHECK(inst && e->capability.call(inst, "0", &resp, &err) == 0);
        CHECK_MSG(resp && !strcmp(resp, "{\"echo\":0,\"config\":null,\"calls\":1,\"initialized\":true}"), "response %s",
                  resp ? resp : "(null)");
        free(resp);
        e->capability.destroy(inst);
    }
    syn_plugins_free(&set);
}

static void test_backend(void)
{
    syn_plugin_set set;
    syn_error err = {0};
    CHECK(syn_plugins_scan(plugin_dir, &set, &err) == 0);
    /* both test backends score 1: the first found wins the tie */
    const syn_plugin_entry *e = syn_plugins_best_backend(&set, NULL);
    CHECK(e && !strcmp(e->file, "good_backend.so") && e->score == 1);
    CHECK(syn_plugins_best_backend(&set, "test-good_backend") == e);
    const syn_plugin_entry *lean = syn_plugins_best_backend(&set, "test-lean_backend");
    CHECK(lean && lean != e && lean->backend.describe == NULL && lean->backend.matmul != NULL);
    /* its table is the 1.0 size: kv_copy (1.1), set past its end, is absent */
    CHECK(lean && lean->backend.struct_size == SYN_BACKEND_OPS_V1_0_SIZE && lean->backend.kv_copy == NULL &&
          lean->backend.matmul_prompt == NULL);
    CHECK(!e || e->backend.kv_copy != NULL);
    CHECK(syn_plugins_best_backend(&set, "test-good_capability") == NULL);
    CHECK(syn_plugins_best_backend(&set, "test-missing_op") == NULL);
    CHECK(syn_plugins_best_backend(&set, "nope") == NULL);
    if (!e) {
        syn_plugins_free(&set);
        return;
    }
    const syn_backend_ops *ops = &e->backend;
    syn_backend_params params = {.struct_size = sizeof params, .n_threads = 1};
    syn_backend *b = ops->create(&params, &err);
    CHECK_MSG(b, "create: %s", err.msg);
    if (!b) {
        syn_plugins_free(&set);
        return;
    }
    CHECK(!strcmp(ops->describe(b), "test backend (float32, 1 thread)"));
    CHECK(ops->supports_type(b, SYN_TYPE_F32) && ops->supports_type(b, SYN_TYPE_F16) &&
          !ops->supports_type(b, SYN_TYPE_Q4_0));

    /* y = 2 * (W x + bias), W 2x3 */
    static const float w_host[6] = {1, 2, 3, 4, 5, 6}, bias_host[2] = {0.5f, -1}, x_host[3] = {1, 0, -1};
    syn_tensor w = {.type = SYN_TYPE_F32, .n_dims = 2, .ne = {3, 2, 1, 1}, .row_bytes = 12};
    syn_tensor bias = {.type = SYN_TYPE_F32, .n_dims = 1, .ne = {2, 1, 1, 1}, .row_bytes = 8};
    CHECK(ops->weight_load(b, &w, w_host, &err) == 0 && w.data);
    CHECK(ops->weight_load(b, &bias, bias_host, &err) == 0 && bias.data);
    syn_tensor q = {.type = SYN_TYPE_Q4_0, .n_dims = 1, .ne = {32, 1, 1, 1}, .row_bytes = 18};
    CHECK(ops->weight_load(b, &q, w_host, &err) == SYN_ERR_UNSUPPORTED && !strcmp(err.msg, "test backend: only f32 and f16 weights"));

    float *x = ops->alloc(b, sizeof x_host, &err), *y = ops->alloc(b, 2 * sizeof(float), &err);
    CHECK(x && y);
    if (x && y) {
        ops->write(b, x, x_host, sizeof x_host);
        ops->matmul(b, &w, &bias, x, 1, y, 2.0f, 0);
        ops->swiglu(b, y, y, 2, y);
        ops->sync(b);
        float out[2];
        ops->read(b, out, y, sizeof out);
        /* W x + bias = (-1.5, -3); doubled (-3, -6); swiglu(v, v) = v * v * sigmoid(v) */
        CHECK_NEAR(out[0], 9.0 / (1.0 + exp(3.0)), 1e-5);
        CHECK_NEAR(out[1], 36.0 / (1.0 + exp(6.0)), 1e-5);
    }
    ops->release(b, x);
    ops->release(b, y);
    ops->weight_unload(b, &w);
    ops->weight_unload(b, &bias);
    CHECK(w.data == NULL);
    ops->destroy(b);
    syn_plugins_free(&set);
}

/* probe() == 0 is logged at info level, nothing is logged at the default
 * level, and the good backend reads as unsupported without its variable. */
static void test_unsupported_log(void)
{
    unsetenv("SYNAPSE_TEST_BACKEND");
    FILE *log = tmpfile();
    CHECK(log);
    if (!log)
        return;
    fflush(stderr);
    int saved = dup(fileno(stderr));
    dup2(fileno(log), fileno(stderr));
    syn_plugin_set set;
    syn_error err = {0};
    CHECK(syn_plugins_scan(plugin_dir, &set, &err) == 0);
    long quiet = ftell(log);
    syn_plugins_free(&set);
    syn_log_set_level(SYN_LOG_INFO);
    CHECK(syn_plugins_scan(plugin_dir, &set, &err) == 0);
    syn_log_set_level(SYN_LOG_WARN);
    fflush(stderr);
    dup2(saved, fileno(stderr));
    close(saved);

    char text[4096] = "";
    rewind(log);
    size_t n = fread(text, 1, sizeof text - 1, log);
    text[n] = '\0';
    fclose(log);
    CHECK_MSG(quiet == 0, "logged at the default level: %s", text);
    CHECK_MSG(strstr(text, "synapse: info: probe_zero.so: probe() says plugin 'test-probe_zero' is not usable on this "
                           "machine\n"),
              "log: %s", text);
    CHECK(strstr(text, "synapse: info: good_backend.so: probe() says plugin 'test-good_backend'"));
    char *real = realpath(plugin_dir, NULL);
    check_entries(&set, real ? real : "", 0);
    CHECK(syn_plugins_best_backend(&set, NULL) == NULL);
    free(real);
    syn_plugins_free(&set);
    setenv("SYNAPSE_TEST_BACKEND", "1", 1);
}

/* $SYNAPSE_PLUGIN_DIR comes first, a directory reached twice is scanned
 * once, and missing ones are skipped. */
static void test_default_path(void)
{
    char env[2 * sizeof plugin_dir + 64];
    snprintf(env, sizeof env, "%s:/nonexistent-synapse-plugins::%s/", plugin_dir, plugin_dir);
    setenv("SYNAPSE_PLUGIN_DIR", env, 1);
    syn_plugin_set set;
    syn_error err = {0};
    CHECK_MSG(syn_plugins_scan(NULL, &set, &err) == 0, "%s", err.msg);
    char *real = realpath(plugin_dir, NULL);
    CHECK(real && set.searched && !strncmp(set.searched, real, strlen(real)) &&
          (set.searched[strlen(real)] == ':' || !set.searched[strlen(real)]));
    CHECK(set.n >= N_EXPECTED);
    check_entries(&set, real ? real : "", 1);
    /* the test plugins come first, in the order of their directory */
    for (size_t i = 0; i < N_EXPECTED && i < set.n; i++)
        CHECK_MSG(!strcmp(set.items[i].file, expected[i].file), "#%zu is %s", i, set.items[i].file);
    free(real);
    syn_plugins_free(&set);
    unsetenv("SYNAPSE_PLUGIN_DIR");
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_errors_and_junk(void)
{
    syn_plugin_set set;
    syn_error err = {0};
    CHECK(syn_plugins_scan("/nonexistent-synapse-plugins", &set, &err) == SYN_ERR_NOT_FOUND);
    CHECK_MSG(!strcmp(err.msg, "plugin directory /nonexistent-synapse-plugins: No such file or directory"), "%s", err.msg);
    CHECK(set.n == 0 && set.items == NULL && set.searched == NULL);
    syn_plugins_free(&set);

    char tmp[] = "/tmp/syn-plugins-XXXXXX";
    CHECK(mkdtemp(tmp));
    char path[256], file_as_dir[256], sub[256];
    snprintf(file_as_dir, sizeof file_as_dir, "%s/readme.txt", tmp);
    write_file(file_as_dir, "not a plugin directory\n");
    CHECK(syn_plugins_scan(file_as_dir, &set, &err) == SYN_ERR_IO);
    CHECK_MSG(strstr(err.msg, "readme.txt: not a directory"), "%s", err.msg);

    /* one .so file: a set of it alone */
    char one[4200];
    snprintf(one, sizeof one, "%s/router_double.so", plugin_dir);
    CHECK_MSG(syn_plugins_scan(one, &set, &err) == 0, "%s", err.msg);
    CHECK(set.n == 1 && set.items[0].status == SYN_PLUGIN_LOADED && set.items[0].desc.kind == SYN_PLUGIN_ROUTER);
    CHECK(syn_plugins_find_kind(&set, SYN_PLUGIN_ROUTER) == &set.items[0]);
    CHECK(!syn_plugins_find_kind(&set, SYN_PLUGIN_VERIFIER));
    CHECK(set.n == 1 && set.items[0].router.route && set.items[0].router.struct_size == sizeof(syn_router_ops));
    syn_plugins_free(&set);

    /* empty of candidates: a directory named *.so, a non-.so file, a hidden .so */
    snprintf(sub, sizeof sub, "%s/dir.so", tmp);
    CHECK(mkdir(sub, 0700) == 0);
    snprintf(path, sizeof path, "%s/.hidden.so", tmp);
    write_file(path, "x");
    CHECK(syn_plugins_scan(tmp, &set, &err) == 0 && set.n == 0 && set.searched);
    syn_plugins_free(&set);

    char junk[256];
    snprintf(junk, sizeof junk, "%s/junk.so", tmp);
    write_file(junk, "This is a text file, long enough to hold an ELF header if it were one, which it is not.\n");
    CHECK(syn_plugins_scan(tmp, &set, &err) == 0);
    CHECK(set.n == 1);
    if (set.n == 1) {
        const syn_plugin_entry *e = &set.items[0];
        CHECK(e->status == SYN_PLUGIN_REFUSED && !e->handle && !e->desc.name);
        CHECK_MSG(!strcmp(e->reason, "junk.so: cannot be loaded: invalid ELF header"), "%s", e->reason);
    }
    syn_plugins_free(&set);
    unlink(junk);
    unlink(path);
    unlink(file_as_dir);
    rmdir(sub);
    rmdir(tmp);
}

int main(void)
{
    const char *top = getenv("top_builddir");
    snprintf(plugin_dir, sizeof plugin_dir, "%s/tests/plugins/.libs", top ? top : ".");
    struct stat st;
    if (stat(plugin_dir, &st) || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s missing: build the test plugins first (make check)\n", plugin_dir);
        return 99;
    }
    setenv("SYNAPSE_TEST_BACKEND", "1", 1);
    unsetenv("SYNAPSE_PLUGIN_DIR");
    test_scan_dir();
    test_capability();
    test_backend();
    test_unsupported_log();
    test_default_path();
    test_errors_and_junk();
    syn_plugins_free(NULL);
    return CHECK_DONE();
}
