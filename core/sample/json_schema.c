/* Compiles a JSON Schema subset into the node tree the matcher walks.
 * Refuses what it cannot enforce, naming the keyword. The result is
 * immutable; any thread may read it. */
#include <stdlib.h>
#include <string.h>

#include "core/sample/json_schema_internal.h"

static syn_jnode *node_new(syn_jschema *s)
{
    syn_jnode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->next_alloc = s->nodes;
    s->nodes = n;
    return n;
}

static void node_free(syn_jnode *n)
{
    for (int i = 0; i < n->n_props; i++)
        free(n->keylits[i]);
    for (int i = 0; i < n->n_lits; i++)
        free(n->lits[i]);
    free(n->keylits);
    free(n->props);
    free(n->req);
    free(n->lits);
    free(n);
}

void syn_jschema_free(syn_jschema *s)
{
    if (!s)
        return;
    for (syn_jnode *n = s->nodes, *nx; n; n = nx) {
        nx = n->next_alloc;
        node_free(n);
    }
    free(s);
}

static char *json_text(json_object *v)
{
    const char *t = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    return t ? strdup(t) : NULL;
}

static int type_bit(const char *name)
{
    static const struct { const char *name; int bit; } types[] = {
        {"object", SYN_JT_OBJ}, {"array", SYN_JT_ARR}, {"string", SYN_JT_STR}, {"number", SYN_JT_NUM},
        {"integer", SYN_JT_INT}, {"boolean", SYN_JT_BOOL}, {"null", SYN_JT_NULL},
    };
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (!strcmp(name, types[i].name))
            return types[i].bit;
    return 0;
}

static int compile(syn_jschema *s, json_object *o, int depth, syn_jnode **out, syn_error *err);

static int compile_props(syn_jschema *s, syn_jnode *n, json_object *props, json_object *req, int depth, syn_error *err)
{
    int np = json_object_object_length(props);
    if (np > SYN_JMAX_CAND)
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "response_format schema: more than %d properties in one object",
                        SYN_JMAX_CAND);
    n->keylits = calloc((size_t)np + 1, sizeof *n->keylits);
    n->props = calloc((size_t)np + 1, sizeof *n->props);
    n->req = calloc((size_t)np + 1, 1);
    if (!n->keylits || !n->props || !n->req)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    json_object_object_foreach(props, key, val)
    {
        json_object *ks = json_object_new_string(key);
        char *lit = ks ? json_text(ks) : NULL;
        json_object_put(ks);
        if (!lit)
            return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
        n->keylits[n->n_props] = lit;
        int rc = compile(s, val, depth + 1, &n->props[n->n_props], err);
        n->n_props++;
        if (rc)
            return rc;
    }
    if (req) {
        if (!json_object_is_type(req, json_type_array))
            return syn_fail(err, SYN_ERR_INVALID, "response_format schema: 'required' must be an array of names");
        for (size_t i = 0; i < json_object_array_length(req); i++) {
            json_object *r = json_object_array_get_idx(req, i);
            if (!json_object_is_type(r, json_type_string))
                return syn_fail(err, SYN_ERR_INVALID, "response_format schema: 'required' must be an array of names");
            int found = 0;
            for (int k = 0; k < n->n_props; k++) {
                /* keylits are JSON texts; names with escapes never match, and are refused */
                size_t kl = strlen(n->keylits[k]);
                const char *name = json_object_get_string(r);
                if (kl == strlen(name) + 2 && !strncmp(n->keylits[k] + 1, name, kl - 2)) {
                    n->req[k] = 1;
                    found = 1;
                }
            }
            if (!found)
                return syn_fail(err, SYN_ERR_UNSUPPORTED,
                                "response_format schema: required property '%s' is not in 'properties'",
                                json_object_get_string(r));
        }
    }
    return 0;
}

/* The SYN_JT_* types a JSON value has (an int is a number too). */
static int value_types(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null: return SYN_JT_NULL;
    case json_type_boolean: return SYN_JT_BOOL;
    case json_type_int: return SYN_JT_INT | SYN_JT_NUM;
    case json_type_double: return SYN_JT_NUM;
    case json_type_string: return SYN_JT_STR;
    case json_type_array: return SYN_JT_ARR;
    default: return SYN_JT_OBJ;
    }
}

/* 'enum' (is_enum) or 'const': the values the node may take, kept only
 * where they also have one of its types ({"type": "integer", "enum": ["a"]}
 * allows nothing, and is refused rather than answered with "a"). */
static int compile_literals(syn_jnode *n, json_object *val, int is_enum, syn_error *err)
{
    const char *key = is_enum ? "enum" : "const";
    size_t k = is_enum ? (json_object_is_type(val, json_type_array) ? json_object_array_length(val) : 0) : 1;
    if (!k || k > SYN_JMAX_CAND)
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "response_format schema: 'enum' needs 1 to %d values",
                        SYN_JMAX_CAND);
    if (!(n->lits = calloc(k, sizeof *n->lits)))
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < k; i++) {
        json_object *v = is_enum ? json_object_array_get_idx(val, i) : val;
        if (!(value_types(v) & n->types))
            continue;
        if (!(n->lits[n->n_lits] = json_text(v)))
            return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
        n->n_lits++;
    }
    if (!n->n_lits)
        return syn_fail(err, SYN_ERR_INVALID,
                        "response_format schema: no value of '%s' has the schema's 'type', so nothing can match", key);
    return 0;
}

/* {} (any value) */
static int is_true_schema(json_object *o)
{
    return json_object_is_type(o, json_type_object) && json_object_object_length(o) == 0;
}

static int compile(syn_jschema *s, json_object *o, int depth, syn_jnode **out, syn_error *err)
{
    if (depth > SYN_JMAX_DEPTH - 2)
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "response_format schema nests deeper than %d", SYN_JMAX_DEPTH - 2);
    syn_jnode *n = node_new(s);
    if (!n)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    *out = n;
    if (json_object_is_type(o, json_type_boolean) && json_object_get_boolean(o)) {
        n->types = SYN_JT_ANY;
        return 0;
    }
    if (!json_object_is_type(o, json_type_object))
        return syn_fail(err, SYN_ERR_INVALID, "response_format schema: a schema must be a JSON object");
    static const char *const annotations[] = {"title", "description", "$schema", "default", "examples", "$comment",
                                              "strict", NULL};
    json_object *props = NULL, *req = NULL, *items = NULL, *addl = NULL, *lit_src = NULL;
    int is_enum = 0;
    json_object_object_foreach(o, key, val)
    {
        int known = 0;
        for (int i = 0; annotations[i]; i++)
            known |= !strcmp(key, annotations[i]);
        if (known)
            continue;
        if (!strcmp(key, "type")) {
            if (json_object_is_type(val, json_type_string)) {
                if (!(n->types = type_bit(json_object_get_string(val))))
                    return syn_fail(err, SYN_ERR_INVALID, "response_format schema: unknown type '%s'",
                                    json_object_get_string(val));
            } else if (json_object_is_type(val, json_type_array) && json_object_array_length(val) > 0) {
                for (size_t i = 0; i < json_object_array_length(val); i++) {
                    json_object *t = json_object_array_get_idx(val, i);
                    int b = json_object_is_type(t, json_type_string) ? type_bit(json_object_get_string(t)) : 0;
                    if (!b)
                        return syn_fail(err, SYN_ERR_INVALID, "response_format schema: 'type' lists an unknown type");
                    n->types |= b;
                }
            } else
                return syn_fail(err, SYN_ERR_INVALID, "response_format schema: 'type' must be a name or a list");
        } else if (!strcmp(key, "properties")) {
            if (!json_object_is_type(val, json_type_object))
                return syn_fail(err, SYN_ERR_INVALID, "response_format schema: 'properties' must be an object");
            props = val;
        } else if (!strcmp(key, "required"))
            req = val;
        else if (!strcmp(key, "items"))
            items = val;
        else if (!strcmp(key, "additionalProperties"))
            addl = val;
        else if (!strcmp(key, "enum") || !strcmp(key, "const")) {
            is_enum = key[0] == 'e';
            lit_src = val;
        } else
            return syn_fail(err, SYN_ERR_UNSUPPORTED,
                            "response_format schema: keyword '%s' is not supported by constrained decoding", key);
    }
    if (!n->types)
        n->types = props ? SYN_JT_OBJ : items ? SYN_JT_ARR : SYN_JT_ANY;
    int rc = lit_src ? compile_literals(n, lit_src, is_enum, err) : 0;
    if (rc)
        return rc;
    /* Objects with 'properties' take only those keys, which satisfies any
     * additionalProperties. Without them, false means the empty object; a
     * schema for the other values cannot be enforced yet. */
    int closed_empty = 0;
    if (addl && !props && (n->types & SYN_JT_OBJ)) {
        if (json_object_is_type(addl, json_type_boolean) && !json_object_get_boolean(addl))
            closed_empty = 1;
        else if (!(json_object_is_type(addl, json_type_boolean) || is_true_schema(addl)))
            return syn_fail(err, SYN_ERR_UNSUPPORTED,
                            "response_format schema: 'additionalProperties' as a schema needs 'properties' "
                            "(values of unlisted keys cannot be constrained yet)");
    }
    if ((n->types & SYN_JT_OBJ) && props) {
        rc = compile_props(s, n, props, req, depth, err);
        if (rc)
            return rc;
    } else if (req && json_object_is_type(req, json_type_array) && json_object_array_length(req))
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "response_format schema: 'required' without 'properties'");
    n->generic_obj = !props && !closed_empty;
    if (items) {
        rc = compile(s, items, depth + 1, &n->items, err);
        if (rc)
            return rc;
    }
    return 0;
}

int syn_jschema_compile(json_object *schema, syn_jschema **out, syn_error *err)
{
    *out = NULL;
    syn_jschema *s = calloc(1, sizeof *s);
    if (!s)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    int rc;
    if (!schema) {
        syn_jnode *n = node_new(s);
        if (!n)
            rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
        else {
            n->types = SYN_JT_OBJ;
            n->generic_obj = 1;
            s->root = n;
            rc = 0;
        }
    } else
        rc = compile(s, schema, 0, &s->root, err);
    if (rc) {
        syn_jschema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}
