/* Specialist definitions: init, copy, free and the name rule. */
#include <stdlib.h>
#include <string.h>

#include "core/config/specialist_def.h"

void syn_specialist_def_init(syn_specialist_def *d)
{
    memset(d, 0, sizeof *d);
    d->adapter_scale = 1.0;
}

void syn_specialist_def_free(syn_specialist_def *d)
{
    free(d->name);
    free(d->description);
    free(d->system_prompt);
    free(d->adapter);
    free(d->base_model);
    free(d->plugin);
    for (int i = 0; i < d->n_capabilities; i++)
        free(d->capabilities[i]);
    for (int i = 0; i < d->n_examples; i++)
        free(d->examples[i]);
    syn_specialist_def_init(d);
}

static int dup_or_null(char **dst, const char *src)
{
    *dst = src ? strdup(src) : NULL;
    return src && !*dst;
}

int syn_specialist_def_copy(syn_specialist_def *dst, const syn_specialist_def *src, syn_error *err)
{
    syn_specialist_def_init(dst);
    dst->adapter_scale = src->adapter_scale;
    dst->priority = src->priority;
    int bad = dup_or_null(&dst->name, src->name) || dup_or_null(&dst->description, src->description) ||
              dup_or_null(&dst->system_prompt, src->system_prompt) || dup_or_null(&dst->adapter, src->adapter) ||
              dup_or_null(&dst->base_model, src->base_model) || dup_or_null(&dst->plugin, src->plugin);
    for (int i = 0; !bad && i < src->n_capabilities; i++)
        bad = syn_specialist_list_add(dst->capabilities, &dst->n_capabilities, "capabilities", src->capabilities[i],
                                      err);
    for (int i = 0; !bad && i < src->n_examples; i++)
        bad = syn_specialist_list_add(dst->examples, &dst->n_examples, "examples", src->examples[i], err);
    if (bad) {
        syn_specialist_def_free(dst);
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    }
    return 0;
}

int syn_specialist_check_name(const char *name, syn_error *err)
{
    size_t n = name ? strlen(name) : 0;
    int ok = n >= 1 && n <= SYN_SPECIALIST_MAX_NAME;
    for (size_t i = 0; ok && i < n; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
             name[i] == '-';
    if (ok)
        return 0;
    return syn_fail(err, SYN_ERR_INVALID, "specialist name '%.80s' must be 1 to %d of a-z, 0-9, '_' and '-'",
                    name ? name : "", SYN_SPECIALIST_MAX_NAME);
}

int syn_specialist_check_plugin(const syn_specialist_def *d, syn_error *err)
{
    if (!d->plugin)
        return 0;
    const char *model_only = d->system_prompt ? "system_prompt" : d->adapter ? "adapter" : d->base_model ? "base_model" : NULL;
    if (!model_only)
        return 0;
    return syn_fail(err, SYN_ERR_INVALID,
                    "specialist '%.64s': 'plugin' and '%s' cannot both be set (a plugin answers without the model)",
                    d->name ? d->name : "", model_only);
}

int syn_specialist_list_add(char **list, int *n, const char *what, const char *s, syn_error *err)
{
    if (*n == SYN_SPECIALIST_MAX_LIST)
        return syn_fail(err, SYN_ERR_RANGE, "'%s' holds at most %d entries", what, SYN_SPECIALIST_MAX_LIST);
    if (!(list[*n] = strdup(s)))
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    (*n)++;
    return 0;
}

static int same_str(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

static int same_list(char *const *a, int na, char *const *b, int nb)
{
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i]))
            return 0;
    return 1;
}

int syn_specialist_def_equal(const syn_specialist_def *a, const syn_specialist_def *b)
{
    return same_str(a->name, b->name) && same_str(a->description, b->description) &&
           same_str(a->system_prompt, b->system_prompt) && same_str(a->adapter, b->adapter) &&
           same_str(a->base_model, b->base_model) && same_str(a->plugin, b->plugin) &&
           a->adapter_scale == b->adapter_scale && a->priority == b->priority &&
           same_list(a->capabilities, a->n_capabilities, b->capabilities, b->n_capabilities) &&
           same_list(a->examples, a->n_examples, b->examples, b->n_examples);
}
