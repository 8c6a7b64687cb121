/* Specialists as JSON, for /api/specialists: the same fields as a
 * `specialists:` entry of config.yaml, checked the same way. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/swarm/swarm.h"

static void add_str(json_object *o, const char *key, const char *v)
{
    json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

static json_object *list_json(char *const *list, int n)
{
    json_object *a = json_object_new_array();
    for (int i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_string(list[i]));
    return a;
}

json_object *syn_specialist_json(const syn_specialist *sp)
{
    const syn_specialist_def *d = &sp->def;
    json_object *o = json_object_new_object();
    add_str(o, "name", d->name);
    char id[SYN_SPECIALIST_MAX_NAME + 16]; /* the model id a request names it by */
    snprintf(id, sizeof id, "synapse/%s", d->name);
    add_str(o, "model", id);
    add_str(o, "description", d->description);
    json_object_object_add(o, "capabilities", list_json(d->capabilities, d->n_capabilities));
    json_object_object_add(o, "examples", list_json(d->examples, d->n_examples));
    add_str(o, "system_prompt", d->system_prompt);
    add_str(o, "adapter", d->adapter);
    add_str(o, "base_model", d->base_model);
    add_str(o, "plugin", d->plugin);
    json_object_object_add(o, "adapter_scale", json_object_new_double(d->adapter_scale));
    json_object_object_add(o, "priority", json_object_new_int(d->priority));
    if (sp->adapter_path) {
        json_object *a = json_object_new_object();
        add_str(a, "path", sp->adapter_path);
        json_object_object_add(a, "rank", json_object_new_int(sp->adapter_rank));
        json_object_object_add(a, "alpha", json_object_new_double(sp->adapter_alpha));
        /* false while the adapter budget has it evicted (the next request loads it) */
        json_object_object_add(a, "resident", json_object_new_boolean(__atomic_load_n(&sp->lora, __ATOMIC_ACQUIRE) != NULL));
        json_object_object_add(o, "adapter_loaded", a);
    } else
        json_object_object_add(o, "adapter_loaded", NULL);
    if (sp->code) { /* the plugin, and what it says of itself */
        const syn_route_specialist *c = &sp->code_desc;
        json_object *p = json_object_new_object();
        add_str(p, "name", sp->code->entry->desc.name);
        add_str(p, "version", sp->code->entry->desc.version);
        add_str(p, "path", sp->code->entry->path);
        add_str(p, "description", c->description);
        json_object_object_add(p, "capabilities", list_json((char *const *)c->capabilities, c->n_capabilities));
        json_object_object_add(p, "examples", list_json((char *const *)c->examples, c->n_examples));
        json_object_object_add(o, "plugin_loaded", p);
    } else
        json_object_object_add(o, "plugin_loaded", NULL);
    return o;
}

static int get_str(json_object *v, const char *key, char **out, syn_error *err)
{
    if (json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return syn_fail(err, SYN_ERR_INVALID, "'%s' must be a string", key);
    const char *s = json_object_get_string(v);
    if (strlen(s) != (size_t)json_object_get_string_len(v))
        return syn_fail(err, SYN_ERR_INVALID, "'%s' must not contain NUL characters", key);
    free(*out);
    if (!(*out = strdup(s)))
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    return 0;
}

static int get_list(json_object *v, const char *key, char **list, int *n, syn_error *err)
{
    if (!json_object_is_type(v, json_type_array))
        return syn_fail(err, SYN_ERR_INVALID, "'%s' must be a list of strings", key);
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_string) || !json_object_get_string_len(e) ||
            strlen(json_object_get_string(e)) != (size_t)json_object_get_string_len(e))
            return syn_fail(err, SYN_ERR_INVALID, "'%s' entries must be non-empty strings", key);
        int rc = syn_specialist_list_add(list, n, key, json_object_get_string(e), err);
        if (rc)
            return rc;
    }
    return 0;
}

int syn_specialist_def_from_json(json_object *o, syn_specialist_def *d, syn_error *err)
{
    syn_specialist_def_init(d);
    if (!json_object_is_type(o, json_type_object))
        return syn_fail(err, SYN_ERR_INVALID, "the body must be a JSON object");
    int rc = 0;
    json_object_object_foreach(o, key, v)
    {
        if (rc)
            break;
        if (!strcmp(key, "name"))
            rc = get_str(v, key, &d->name, err);
        else if (!strcmp(key, "description"))
            rc = get_str(v, key, &d->description, err);
        else if (!strcmp(key, "system_prompt"))
            rc = get_str(v, key, &d->system_prompt, err);
        else if (!strcmp(key, "adapter"))
            rc = get_str(v, key, &d->adapter, err);
        else if (!strcmp(key, "adapter_scale")) {
            double x = json_object_get_double(v);
            if (!(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) ||
                !isfinite(x) || x < -100 || x > 100)
                rc = syn_fail(err, SYN_ERR_INVALID, "'adapter_scale' must be a number from -100 to 100");
            else
                d->adapter_scale = x;
        } else if (!strcmp(key, "priority")) {
            int64_t x = json_object_get_int64(v);
            if (!json_object_is_type(v, json_type_int) || x < -1000000 || x > 1000000)
                rc = syn_fail(err, SYN_ERR_INVALID, "'priority' must be an integer from -1000000 to 1000000");
            else
                d->priority = (int)x;
        } else if (!strcmp(key, "capabilities"))
            rc = get_list(v, key, d->capabilities, &d->n_capabilities, err);
        else if (!strcmp(key, "examples"))
            rc = get_list(v, key, d->examples, &d->n_examples, err);
        else if (!strcmp(key, "base_model"))
            rc = get_str(v, key, &d->base_model, err);
        else if (!strcmp(key, "plugin")) /* loading code is the operator's choice, not a client's */
            rc = syn_fail(err, SYN_ERR_INVALID,
                          "'plugin' can be set only in the config file (it loads code into the server)");
        else
            rc = syn_fail(err, SYN_ERR_INVALID, "unknown field '%.64s'", key);
    }
    if (!rc)
        rc = syn_specialist_check_name(d->name, err);
    if (rc)
        syn_specialist_def_free(d);
    return rc;
}
