/* Writing runtime changes back to config.yaml: the top-level `specialists:`
 * entry is replaced in the file's text (found with libyaml's marks), so the
 * user's comments and every other line stay as they were, and the result is
 * renamed over the file after an fsync. Strings are written as JSON strings,
 * which are YAML double-quoted scalars. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "core/config/config.h"

typedef struct text {
    char *p;
    size_t n, cap;
    int oom;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->oom)
        return;
    if (t->n + n + 1 > t->cap) {
        size_t cap = (t->n + n + 1) * 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->oom = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = 0;
}

static void puts_(text *t, const char *s) { put(t, s, strlen(s)); }

static void put_quoted(text *t, const char *s)
{
    json_object *o = json_object_new_string(s);
    if (!o) {
        t->oom = 1;
        return;
    }
    puts_(t, json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

static void put_field(text *t, const char *key, const char *value)
{
    if (!value)
        return;
    puts_(t, "    ");
    puts_(t, key);
    puts_(t, ": ");
    put_quoted(t, value);
    puts_(t, "\n");
}

static void put_list(text *t, const char *key, char *const *list, int n)
{
    if (!n)
        return;
    puts_(t, "    ");
    puts_(t, key);
    puts_(t, ": [");
    for (int i = 0; i < n; i++) {
        if (i)
            puts_(t, ", ");
        put_quoted(t, list[i]);
    }
    puts_(t, "]\n");
}

static void put_specialists(text *t, const syn_specialist_def *defs, int n)
{
    puts_(t, n ? "specialists:\n" : "specialists: []\n");
    for (int i = 0; i < n; i++) {
        const syn_specialist_def *d = &defs[i];
        char num[64];
        puts_(t, "  - name: ");
        put_quoted(t, d->name);
        puts_(t, "\n");
        put_field(t, "description", d->description);
        put_field(t, "system_prompt", d->system_prompt);
        put_field(t, "adapter", d->adapter);
        put_field(t, "base_model", d->base_model);
        put_field(t, "plugin", d->plugin);
        snprintf(num, sizeof num, "    adapter_scale: %.17g\n    priority: %d\n", d->adapter_scale, d->priority);
        puts_(t, num);
        put_list(t, "capabilities", d->capabilities, d->n_capabilities);
        put_list(t, "examples", d->examples, d->n_examples);
    }
}

/* Where the last scalar under node n ends: the end of a block collection's
 * text (libyaml marks a block collection's end at the next token, past any
 * comments that follow it). */
static size_t content_end(yaml_document_t *doc, yaml_node_t *n)
{
    size_t end = n->end_mark.index;
    if (n->type == YAML_SCALAR_NODE)
        return end;
    if ((n->type == YAML_SEQUENCE_NODE && n->data.sequence.style == YAML_FLOW_SEQUENCE_STYLE) ||
        (n->type == YAML_MAPPING_NODE && n->data.mapping.style == YAML_FLOW_MAPPING_STYLE))
        return end;
    size_t last = n->start_mark.index;
    if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
            size_t e = content_end(doc, yaml_document_get_node(doc, *it));
            last = e > last ? e : last;
        }
    } else {
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            size_t e = content_end(doc, yaml_document_get_node(doc, p->value));
            last = e > last ? e : last;
        }
    }
    return last;
}

/* libyaml's marks count characters, not bytes: the byte offset of
 * character idx in UTF-8 text. */
static size_t byte_offset(const char *buf, size_t len, size_t idx)
{
    size_t b = 0;
    for (size_t chars = 0; b < len; b++) {
        if (((unsigned char)buf[b] & 0xC0) == 0x80)
            continue; /* a continuation byte */
        if (chars++ == idx)
            return b;
    }
    return len;
}

/* The byte range [*from, *to) of the `specialists:` entry in the file's
 * text: 0, 1 when there is none, or an error. */
static int find_entry(const char *buf, size_t len, size_t *from, size_t *to, syn_error *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&parser, &doc)) {
        yaml_parser_delete(&parser);
        return syn_fail(err, SYN_ERR_FORMAT, "the file is no longer valid YAML; it was left as it is");
    }
    int rc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && root->type == YAML_MAPPING_NODE)
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(&doc, p->key), *v = yaml_document_get_node(&doc, p->value);
            if (k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, "specialists")) {
                *from = byte_offset(buf, len, k->start_mark.index);
                *to = byte_offset(buf, len, content_end(&doc, v));
                rc = 0;
            }
        }
    else if (root && !(root->type == YAML_SCALAR_NODE && !*root->data.scalar.value))
        rc = syn_fail(err, SYN_ERR_FORMAT, "the file is not a mapping; it was left as it is");
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

static int read_file(const char *path, char **out, size_t *len, syn_error *err)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? 0 : syn_fail(err, SYN_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    text t = {0};
    char chunk[8192];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        put(&t, chunk, k);
    int bad = ferror(f);
    fclose(f);
    if (bad || t.oom) {
        free(t.p);
        return syn_fail(err, bad ? SYN_ERR_IO : SYN_ERR_NOMEM, "cannot read %s", path);
    }
    *out = t.p;
    *len = t.n;
    return 0;
}

/* Writes data to path through a temporary file in its directory. */
static int replace_file(const char *path, const char *data, size_t len, syn_error *err)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp)
        return syn_fail(err, SYN_ERR_RANGE, "%s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return syn_fail(err, SYN_ERR_IO, "cannot create a file beside %s: %s", path, strerror(errno));
    struct stat st;
    if (!stat(path, &st))
        (void)fchmod(fd, st.st_mode & 07777);
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    int bad = done < len || fsync(fd) != 0;
    bad |= close(fd) != 0;
    if (bad || rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        return syn_fail(err, SYN_ERR_IO, "cannot write %s: %s", path, strerror(e));
    }
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        (void)fsync(dfd); /* the rename itself survives a crash */
        close(dfd);
    }
    return 0;
}

int syn_config_write_specialists(const char *path, const syn_specialist_def *defs, int n, syn_error *err)
{
    char *buf;
    size_t len, from = 0, to = 0;
    int rc = read_file(path, &buf, &len, err);
    if (rc)
        return rc;
    int found = buf ? find_entry(buf, len, &from, &to, err) : 1; /* 0: found, 1: none, < 0: error */
    if (found < 0) {
        free(buf);
        syn_error_prefix(err, path);
        return found;
    }
    text t = {0};
    if (found == 0) {
        put(&t, buf, from);
        put_specialists(&t, defs, n);
        /* the emitted entry ends its line; drop the newline that ended the old one */
        size_t rest = to < len && buf[to] == '\n' ? to + 1 : to;
        put(&t, buf + rest, len - rest);
    } else {
        if (len) {
            put(&t, buf, len);
            if (buf[len - 1] != '\n')
                puts_(&t, "\n");
        }
        put_specialists(&t, defs, n);
    }
    free(buf);
    if (t.oom) {
        free(t.p);
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    }
    rc = replace_file(path, t.p ? t.p : "", t.n, err);
    free(t.p);
    if (rc)
        syn_error_prefix(err, "cannot save the specialists");
    return rc;
}
