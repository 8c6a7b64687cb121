/* `synapse plugins`: scans the plugin search path (or one directory) and
 * prints one line per candidate: name, kind, version, ABI, status. Refusals
 * are part of the listing, not failures. Main thread only. */
#include <stdio.h>
#include <string.h>

#include "core/cli/cli.h"
#include <synapse/loader.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: synapse plugins [--plugin-dir DIR]\n"
            "\n"
            "Lists every plugin found and whether it loads.\n"
            "\n"
            "  --plugin-dir DIR  look only in DIR (default: each directory of\n"
            "                    $SYNAPSE_PLUGIN_DIR, the build tree beside this\n"
            "                    program, then %s)\n"
            "  -h, --help        show this help\n",
            SYN_PLUGIN_DIR);
}

struct row {
    const char *name;
    const char *kind;
    const char *version;
    char abi[16];
    char status[sizeof ((syn_plugin_entry *)0)->reason + 32];
};

static void fill_row(const syn_plugin_entry *e, struct row *r)
{
    /* Without a readable descriptor, the file is all there is to name. */
    int readable = e->desc.magic == SYN_PLUGIN_MAGIC;
    r->name = e->desc.name ? e->desc.name : e->file;
    r->kind = readable && e->desc.kind ? syn_plugin_kind_name(e->desc.kind) : "-";
    r->version = e->desc.version ? e->desc.version : "-";
    if (readable)
        snprintf(r->abi, sizeof r->abi, "%u.%u", e->desc.abi_major, e->desc.abi_minor);
    else
        snprintf(r->abi, sizeof r->abi, "-");
    switch (e->status) {
    case SYN_PLUGIN_LOADED:
        snprintf(r->status, sizeof r->status, "loaded (probe %d)", e->score);
        break;
    case SYN_PLUGIN_UNSUPPORTED:
        snprintf(r->status, sizeof r->status, "unsupported on this machine");
        break;
    default:
        snprintf(r->status, sizeof r->status, "refused: %s", e->reason);
        break;
    }
}

static int width(int w, const char *s)
{
    int n = (int)strlen(s);
    return n > w ? n : w;
}

static void print_set(const syn_plugin_set *set)
{
    struct row r;
    int wn = 4, wk = 4, wv = 7, wa = 3; /* the header's own widths */
    for (size_t i = 0; i < set->n; i++) {
        fill_row(&set->items[i], &r);
        wn = width(wn, r.name);
        wk = width(wk, r.kind);
        wv = width(wv, r.version);
        wa = width(wa, r.abi);
    }
    printf("%-*s  %-*s  %-*s  %-*s  %s\n", wn, "NAME", wk, "KIND", wv, "VERSION", wa, "ABI", "STATUS");
    for (size_t i = 0; i < set->n; i++) {
        fill_row(&set->items[i], &r);
        printf("%-*s  %-*s  %-*s  %-*s  %s\n", wn, r.name, wk, r.kind, wv, r.version, wa, r.abi, r.status);
    }
}

int syn_cmd_plugins(int argc, char **argv)
{
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--plugin-dir")) {
            if (i + 1 >= argc) {
                syn_cli_error("plugins", "--plugin-dir needs a directory");
                return 2;
            }
            dir = argv[++i];
        } else if (!strncmp(a, "--plugin-dir=", 13)) {
            dir = a + 13;
        } else {
            syn_cli_error("plugins", "unknown argument '%s' (see synapse plugins --help)", a);
            return 2;
        }
    }
    if (dir && !*dir) {
        syn_cli_error("plugins", "--plugin-dir needs a directory");
        return 2;
    }

    syn_plugin_set set;
    syn_error err;
    memset(&err, 0, sizeof err);
    if (syn_plugins_scan(dir, &set, &err))
        return syn_cli_error("plugins", "%s", err.msg);
    if (set.n == 0 && set.searched)
        printf("no plugins found in %s\n", set.searched);
    else if (set.n == 0)
        printf("no plugins found: no plugin directory exists (see synapse plugins --help)\n");
    else
        print_set(&set);
    int rc = fflush(stdout) ? syn_cli_error("plugins", "cannot write the listing") : 0;
    syn_plugins_free(&set);
    return rc;
}
