/* Server configuration from YAML (libyaml document API): a flat mapping plus
 * `limits:` (mapping), `api_keys:` (sequence) and `specialists:` (a sequence
 * of mappings, see specialist_def.h). Every error names the file and line.
 * Main thread only. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "core/config/config.h"

int syn_config_set_str(char **field, const char *value, syn_error *err)
{
    char *s = value ? strdup(value) : NULL;
    if (value && !s)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    free(*field);
    *field = s;
    return 0;
}

int syn_config_home(char *buf, size_t n, syn_error *err)
{
    const char *h = getenv("SYNAPSE_HOME");
    int k;
    if (h && *h)
        k = snprintf(buf, n, "%s", h);
    else {
        const char *home = getenv("HOME");
        if (!home || !*home)
            return syn_fail(err, SYN_ERR_NOT_FOUND, "neither SYNAPSE_HOME nor HOME is set");
        k = snprintf(buf, n, "%s/.synapse", home);
    }
    if (k < 0 || (size_t)k >= n)
        return syn_fail(err, SYN_ERR_RANGE, "home directory path too long");
    return 0;
}

static int load_text(syn_config *c, const char *name, const char *text, syn_error *err);

/* The defaults are share/config.yaml's values, with data_dir and models_dir
 * under the home directory. */
int syn_config_defaults(syn_config *c, syn_error *err)
{
    memset(c, 0, sizeof *c);
    /* what a cloud: mapping leaves out */
    c->cloud.threshold = 0.4;
    c->cloud.timeout_s = 60;
    char home[PATH_MAX - 16], buf[PATH_MAX];
    int rc = syn_config_home(home, sizeof home, err);
    if (rc)
        return rc;
    snprintf(buf, sizeof buf, "%s/models", home);
    if ((rc = syn_config_set_str(&c->data_dir, home, err)) || (rc = syn_config_set_str(&c->models_dir, buf, err)) ||
        (rc = load_text(c, "share/config.yaml (built in)", syn_config_default_text, err))) {
        syn_config_free(c);
        return rc;
    }
    return 0;
}

void syn_config_free(syn_config *c)
{
    free(c->host);
    free(c->data_dir);
    free(c->models_dir);
    free(c->model);
    free(c->chat_template);
    free(c->cors);
    free(c->router_plugin);
    free(c->extractor_plugin);
    free(c->spawner_plugin);
    free(c->verifier_plugin);
    free(c->cloud.api_base);
    free(c->cloud.api_key);
    free(c->cloud.model);
    for (int i = 0; i < c->n_api_keys; i++)
        free(c->api_keys[i]);
    for (int i = 0; i < c->n_specialists; i++)
        syn_specialist_def_free(&c->specialists[i]);
    free(c->specialists);
    free(c->path);
    memset(c, 0, sizeof *c);
}

int syn_config_make_dirs(const char *path, syn_error *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0755);
            *p = '/';
        }
    }
    if (mkdir(dir, 0755) && errno != EEXIST)
        return syn_fail(err, SYN_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    return 0;
}

int syn_config_write_default(const char *path, int *created, syn_error *err)
{
    *created = 0;
    struct stat st;
    if (stat(path, &st) == 0)
        return 0;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        int rc = syn_config_make_dirs(dir, err);
        if (rc)
            return rc;
    }
    FILE *f = fopen(path, "wx");
    if (!f)
        return errno == EEXIST ? 0 : syn_fail(err, SYN_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    int bad = fputs(syn_config_default_text, f) < 0;
    bad |= fclose(f) != 0;
    if (bad)
        return syn_fail(err, SYN_ERR_IO, "cannot write %s", path);
    *created = 1;
    return 0;
}

/* ------------------------------------------------------------------ parsing */

struct loader {
    yaml_document_t *doc;
    const char *path;
    syn_error *err;
};

static int bad(struct loader *l, yaml_node_t *n, const char *fmt, const char *key)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, key);
    return syn_fail(l->err, SYN_ERR_FORMAT, "%s:%lu: %s", l->path, (unsigned long)n->start_mark.line + 1, msg);
}

static const char *scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_int(struct loader *l, yaml_node_t *v, const char *key, long lo, long hi, long *out)
{
    const char *s = scalar(v);
    char *end;
    errno = 0;
    long x = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || errno || *end || x < lo || x > hi) {
        char fmt[128];
        snprintf(fmt, sizeof fmt, "'%%s' must be an integer from %ld to %ld", lo, hi);
        return bad(l, v, fmt, key);
    }
    *out = x;
    return 0;
}

static int get_bool(struct loader *l, yaml_node_t *v, const char *key, int *out)
{
    const char *s = scalar(v);
    if (s && (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")))
        *out = 1;
    else if (s && (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")))
        *out = 0;
    else
        return bad(l, v, "'%s' must be true or false", key);
    return 0;
}

int syn_config_check_host(const char *host, syn_error *err)
{
    unsigned char addr[16];
    if (host && (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1))
        return 0;
    return syn_fail(err, SYN_ERR_INVALID,
                    "host '%s' is not an IP address (use IPv4 like 127.0.0.1 or 0.0.0.0, or IPv6 like ::1 or ::)",
                    host ? host : "");
}

/* A string value; "~" and an empty plain scalar (YAML null) clear it. */
static int get_str(struct loader *l, yaml_node_t *v, const char *key, char **out)
{
    const char *s = scalar(v);
    if (!s)
        return bad(l, v, "'%s' must be a string", key);
    if (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && (!*s || !strcmp(s, "~") || !strcmp(s, "null")))
        return syn_config_set_str(out, NULL, l->err);
    /* ~/ at the start of a path means the home directory, as in a shell */
    if (s[0] == '~' && s[1] == '/' && getenv("HOME")) {
        char buf[PATH_MAX];
        snprintf(buf, sizeof buf, "%s%s", getenv("HOME"), s + 1);
        return syn_config_set_str(out, buf, l->err);
    }
    return syn_config_set_str(out, s, l->err);
}

/* knowledge: {prompt_tokens} */
static int load_knowledge(struct loader *l, syn_config *c, yaml_node_t *m)
{
    if (m->type != YAML_MAPPING_NODE)
        return bad(l, m, "'%s' must be a mapping (prompt_tokens:)", "knowledge");
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key), *v = yaml_document_get_node(l->doc, p->value);
        const char *key = scalar(k);
        long x;
        int rc;
        if (!key)
            return bad(l, k, "%s: keys must be plain names", "knowledge");
        if (strcmp(key, "prompt_tokens"))
            return bad(l, k, "unknown key 'knowledge.%s'", key);
        if ((rc = get_int(l, v, key, 0, 65536, &x)))
            return rc;
        c->knowledge_prompt_tokens = (int)x;
    }
    return 0;
}

static int load_limits(struct loader *l, syn_config *c, yaml_node_t *m)
{
    if (m->type != YAML_MAPPING_NODE)
        return bad(l, m, "'%s' must be a mapping", "limits");
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key), *v = yaml_document_get_node(l->doc, p->value);
        const char *key = scalar(k);
        long x;
        int rc;
        if (!key)
            return bad(l, k, "%s: keys must be plain names", "limits");
        if (!strcmp(key, "max_body_bytes")) {
            if ((rc = get_int(l, v, key, 1024, 1L << 30, &x)))
                return rc;
            c->max_body = (size_t)x;
        } else if (!strcmp(key, "max_queue")) {
            if ((rc = get_int(l, v, key, 1, 100000, &x)))
                return rc;
            c->max_queue = (int)x;
        } else if (!strcmp(key, "max_tokens")) {
            if ((rc = get_int(l, v, key, 0, 1 << 24, &x)))
                return rc;
            c->max_tokens = (int)x;
        } else if (!strcmp(key, "request_timeout_s")) {
            if ((rc = get_int(l, v, key, 1, 3600, &x)))
                return rc;
            c->request_timeout_s = (int)x;
        } else if (!strcmp(key, "adapter_bytes")) {
            if ((rc = get_int(l, v, key, 0, 1L << 44, &x)))
                return rc;
            c->adapter_bytes = (size_t)x;
        } else if (!strcmp(key, "prefix_cache_tokens")) {
            if ((rc = get_int(l, v, key, 0, 1 << 24, &x)))
                return rc;
            c->prefix_cache_tokens = (int)x;
        } else if (!strcmp(key, "batch_rows")) {
            if ((rc = get_int(l, v, key, 16, 8192, &x)))
                return rc;
            c->batch_rows = (int)x;
        } else
            return bad(l, k, "unknown key 'limits.%s'", key);
    }
    return 0;
}

static int get_double(struct loader *l, yaml_node_t *v, const char *key, double lo, double hi, double *out)
{
    const char *s = scalar(v);
    char *end;
    errno = 0;
    double x = s ? strtod(s, &end) : 0;
    if (!s || !*s || errno || *end || !(x >= lo && x <= hi)) {
        char fmt[128];
        snprintf(fmt, sizeof fmt, "'%%s' must be a number from %g to %g", lo, hi);
        return bad(l, v, fmt, key);
    }
    *out = x;
    return 0;
}

/* A list of strings (capabilities, examples) of a specialist. */
static int get_list(struct loader *l, yaml_node_t *v, const char *key, char **list, int *n)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return bad(l, v, "'%s' must be a list of strings", key);
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *e = yaml_document_get_node(l->doc, *it);
        if (!scalar(e) || !*scalar(e))
            return bad(l, e, "'%s' entries must be non-empty strings", key);
        if (syn_specialist_list_add(list, n, key, scalar(e), l->err))
            return bad(l, e, "'%s' holds at most 64 entries", key);
    }
    return 0;
}

static int load_specialist(struct loader *l, yaml_node_t *m, syn_specialist_def *d)
{
    if (m->type != YAML_MAPPING_NODE)
        return bad(l, m, "each of '%s' must be a mapping (name:, system_prompt:, ...)", "specialists");
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key), *v = yaml_document_get_node(l->doc, p->value);
        const char *key = scalar(k);
        long x;
        int rc;
        if (!key)
            return bad(l, k, "%s: keys must be plain names", "specialists");
        if (!strcmp(key, "name"))
            rc = get_str(l, v, key, &d->name);
        else if (!strcmp(key, "description"))
            rc = get_str(l, v, key, &d->description);
        else if (!strcmp(key, "system_prompt"))
            rc = get_str(l, v, key, &d->system_prompt);
        else if (!strcmp(key, "adapter"))
            rc = get_str(l, v, key, &d->adapter);
        else if (!strcmp(key, "adapter_scale"))
            rc = get_double(l, v, key, -100, 100, &d->adapter_scale);
        else if (!strcmp(key, "priority")) {
            if (!(rc = get_int(l, v, key, -1000000, 1000000, &x)))
                d->priority = (int)x;
        } else if (!strcmp(key, "capabilities"))
            rc = get_list(l, v, key, d->capabilities, &d->n_capabilities);
        else if (!strcmp(key, "examples"))
            rc = get_list(l, v, key, d->examples, &d->n_examples);
        else if (!strcmp(key, "base_model"))
            rc = get_str(l, v, key, &d->base_model);
        else if (!strcmp(key, "plugin"))
            rc = get_str(l, v, key, &d->plugin);
        else
            rc = bad(l, k, "unknown key 'specialists.%s'", key);
        if (rc)
            return rc;
    }
    if (syn_specialist_check_name(d->name, l->err) || syn_specialist_check_plugin(d, l->err))
        return bad(l, m, "%s", l->err->msg);
    return 0;
}

static int load_specialists(struct loader *l, syn_config *c, yaml_node_t *v)
{
    if (v->type == YAML_SCALAR_NODE && !*scalar(v))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return bad(l, v, "'%s' must be a list", "specialists");
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    syn_specialist_def *defs = calloc(n ? n : 1, sizeof *defs);
    if (!defs)
        return syn_fail(l->err, SYN_ERR_NOMEM, "out of memory");
    int rc = 0, got = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start; !rc && it < v->data.sequence.items.top; it++) {
        yaml_node_t *e = yaml_document_get_node(l->doc, *it);
        syn_specialist_def_init(&defs[got]);
        rc = load_specialist(l, e, &defs[got++]);
        for (int i = 0; !rc && i < got - 1; i++)
            if (!strcmp(defs[i].name, defs[got - 1].name))
                rc = bad(l, e, "specialist '%s' is defined twice", defs[got - 1].name);
    }
    if (rc) {
        for (int i = 0; i < got; i++)
            syn_specialist_def_free(&defs[i]);
        free(defs);
        return rc;
    }
    for (int i = 0; i < c->n_specialists; i++)
        syn_specialist_def_free(&c->specialists[i]);
    free(c->specialists);
    c->specialists = defs;
    c->n_specialists = got;
    return 0;
}

static int load_keys(struct loader *l, syn_config *c, yaml_node_t *v)
{
    if (v->type == YAML_SCALAR_NODE && !*scalar(v))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return bad(l, v, "'%s' must be a list of strings", "api_keys");
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *e = yaml_document_get_node(l->doc, *it);
        /* a plain ~ or null is YAML's null, not the key "~" */
        const char *k = scalar(e);
        if (!k || !*k || (e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && (!strcmp(k, "~") || !strcmp(k, "null"))))
            return bad(l, e, "'%s' entries must be non-empty strings", "api_keys");
        if (c->n_api_keys == SYN_CONFIG_MAX_KEYS)
            return bad(l, e, "'%s' holds at most 16 keys", "api_keys");
        if (!(c->api_keys[c->n_api_keys] = strdup(scalar(e))))
            return syn_fail(l->err, SYN_ERR_NOMEM, "out of memory");
        c->n_api_keys++;
    }
    return 0;
}

/* cloud: false (no upstream), or {api_base, api_key, model, mode,
 * threshold, timeout_s}; auto and always need api_base and model */
static int load_cloud(struct loader *l, syn_config *c, yaml_node_t *m)
{
    syn_cloud_config *k = &c->cloud;
    if (m->type == YAML_SCALAR_NODE) {
        int on;
        int rc = get_bool(l, m, "cloud", &on);
        if (!rc && on)
            rc = bad(l, m, "'%s: true' says nothing of the upstream: give a mapping (api_base:, model:, mode:)", "cloud");
        if (!rc)
            k->mode = SYN_CLOUD_NEVER;
        return rc;
    }
    if (m->type != YAML_MAPPING_NODE)
        return bad(l, m, "'%s' must be false or a mapping (api_base:, api_key:, model:, mode:, threshold:)", "cloud");
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(l->doc, p->key), *v = yaml_document_get_node(l->doc, p->value);
        const char *key = scalar(kn);
        int rc = 0;
        long x;
        if (!key)
            return bad(l, kn, "%s: keys must be plain names", "cloud");
        if (!strcmp(key, "api_base")) {
            if (!(rc = get_str(l, v, key, &k->api_base)) && strncmp(k->api_base, "http://", 7) &&
                strncmp(k->api_base, "https://", 8))
                rc = bad(l, v, "'cloud.%s' must be an http:// or https:// URL", key);
        } else if (!strcmp(key, "api_key"))
            rc = get_str(l, v, key, &k->api_key);
        else if (!strcmp(key, "model"))
            rc = get_str(l, v, key, &k->model);
        else if (!strcmp(key, "mode")) {
            char *mode = NULL;
            if (!(rc = get_str(l, v, key, &mode))) {
                if (!strcmp(mode, "auto"))
                    k->mode = SYN_CLOUD_AUTO;
                else if (!strcmp(mode, "always"))
                    k->mode = SYN_CLOUD_ALWAYS;
                else if (!strcmp(mode, "never"))
                    k->mode = SYN_CLOUD_NEVER;
                else
                    rc = bad(l, v, "'cloud.%s' must be auto, always or never", key);
            }
            free(mode);
        } else if (!strcmp(key, "threshold"))
            rc = get_double(l, v, key, 0.0, 1.0, &k->threshold);
        else if (!strcmp(key, "timeout_s")) {
            if (!(rc = get_int(l, v, key, 1, 3600, &x)))
                k->timeout_s = (int)x;
        } else
            rc = bad(l, kn, "unknown key 'cloud.%s'", key);
        if (rc)
            return rc;
    }
    if (k->mode != SYN_CLOUD_NEVER && (!k->api_base || !k->model))
        return bad(l, m, "'cloud' with mode auto or always needs %s", "api_base: and model:");
    return 0;
}

/* plugins: a replacement .so per kind; only the kinds this server uses */
static int load_plugins(struct loader *l, syn_config *c, yaml_node_t *m)
{
    if (m->type != YAML_MAPPING_NODE)
        return bad(l, m, "'%s' must be a mapping (router: /path/to/router.so)", "plugins");
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key), *v = yaml_document_get_node(l->doc, p->value);
        const char *key = scalar(k);
        if (!key)
            return bad(l, k, "%s: keys must be plain names", "plugins");
        int rc;
        char **field = !strcmp(key, "router")      ? &c->router_plugin
                       : !strcmp(key, "extractor") ? &c->extractor_plugin
                       : !strcmp(key, "verifier")  ? &c->verifier_plugin
                       : !strcmp(key, "spawner")   ? &c->spawner_plugin
                                                   : NULL;
        if (field) {
            if ((rc = get_str(l, v, key, field)))
                return rc;
        } else if (!strcmp(key, "specialist"))
            return bad(l, k, "'plugins.%s': a specialist plugin is a specialist's own: name it as 'plugin:' in its "
                             "'specialists' entry", key);
        else
            return bad(l, k, "unknown key 'plugins.%s' (the kinds are router, extractor, verifier, spawner)", key);
    }
    return 0;
}

static int load_root(struct loader *l, syn_config *c, yaml_node_t *root)
{
    if (root->type == YAML_SCALAR_NODE && !*scalar(root))
        return 0; /* a file of comments only */
    if (root->type != YAML_MAPPING_NODE)
        return bad(l, root, "the file must be a mapping of %s", "key: value lines");
    int data_dir_set = 0, models_dir_set = 0;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key), *v = yaml_document_get_node(l->doc, p->value);
        const char *key = scalar(k);
        long x;
        int rc = 0;
        if (!key)
            return bad(l, k, "keys must be plain names%s", "");
        if (!strcmp(key, "host")) {
            if (!(rc = get_str(l, v, key, &c->host)) && (rc = syn_config_check_host(c->host, l->err))) {
                char where[PATH_MAX + 32];
                snprintf(where, sizeof where, "%s:%lu", l->path, (unsigned long)v->start_mark.line + 1);
                syn_error_prefix(l->err, where);
            }
        } else if (!strcmp(key, "port")) {
            if (!(rc = get_int(l, v, key, 0, 65535, &x)))
                c->port = (int)x;
        } else if (!strcmp(key, "data_dir")) {
            rc = get_str(l, v, key, &c->data_dir);
            data_dir_set = 1;
        } else if (!strcmp(key, "models_dir")) {
            rc = get_str(l, v, key, &c->models_dir);
            models_dir_set = 1;
        }
        else if (!strcmp(key, "model"))
            rc = get_str(l, v, key, &c->model);
        else if (!strcmp(key, "chat_template"))
            rc = get_str(l, v, key, &c->chat_template);
        else if (!strcmp(key, "threads")) {
            if (!(rc = get_int(l, v, key, 0, 1024, &x)))
                c->threads = (int)x;
        } else if (!strcmp(key, "context_size")) {
            if (!(rc = get_int(l, v, key, 64, 1 << 20, &x)))
                c->ctx_size = (int)x;
        } else if (!strcmp(key, "parallel")) {
            if (!(rc = get_int(l, v, key, 1, 256, &x)))
                c->parallel = (int)x;
        } else if (!strcmp(key, "learning")) {
            rc = get_bool(l, v, key, &c->learning);
        } else if (!strcmp(key, "cloud")) {
            rc = load_cloud(l, c, v);
        } else if (!strcmp(key, "cors"))
            rc = get_str(l, v, key, &c->cors);
        else if (!strcmp(key, "api_keys"))
            rc = load_keys(l, c, v);
        else if (!strcmp(key, "limits"))
            rc = load_limits(l, c, v);
        else if (!strcmp(key, "specialists"))
            rc = load_specialists(l, c, v);
        else if (!strcmp(key, "plugins"))
            rc = load_plugins(l, c, v);
        else if (!strcmp(key, "knowledge"))
            rc = load_knowledge(l, c, v);
        else
            rc = bad(l, k, "unknown key '%s'", key);
        if (rc)
            return rc;
    }
    if (data_dir_set && !models_dir_set && c->data_dir) {
        char buf[PATH_MAX];
        if (snprintf(buf, sizeof buf, "%s/models", c->data_dir) >= (int)sizeof buf)
            return syn_fail(l->err, SYN_ERR_RANGE, "%s: data_dir is too long", l->path);
        return syn_config_set_str(&c->models_dir, buf, l->err);
    }
    return 0;
}

/* Loads the document the parser reads; errors name path and line. */
static int load_parsed(syn_config *c, const char *path, yaml_parser_t *parser, syn_error *err)
{
    yaml_document_t doc;
    if (!yaml_parser_load(parser, &doc))
        return syn_fail(err, SYN_ERR_FORMAT, "%s:%lu: %s%s%s", path, (unsigned long)(parser->problem_mark.line + 1),
                        parser->problem ? parser->problem : "invalid YAML", parser->context ? " " : "",
                        parser->context ? parser->context : "");
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    struct loader l = {&doc, path, err};
    if (root)
        rc = load_root(&l, c, root);
    yaml_document_delete(&doc);
    return rc;
}

static int load_text(syn_config *c, const char *name, const char *text, syn_error *err)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    int rc = load_parsed(c, name, &parser, err);
    yaml_parser_delete(&parser);
    return rc;
}

int syn_config_load(syn_config *c, const char *path, syn_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return syn_fail(err, SYN_ERR_IO, "cannot open config %s: %s", path, strerror(errno));
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    }
    yaml_parser_set_input_file(&parser, f);
    int rc = load_parsed(c, path, &parser, err);
    yaml_parser_delete(&parser);
    fclose(f);
    if (!rc)
        rc = syn_config_set_str(&c->path, path, err);
    return rc;
}
