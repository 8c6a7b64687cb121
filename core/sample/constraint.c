/* The part of the constraint interface the engine owns. */
#include <string.h>

#include <synapse/constraint.h>

void syn_constraint_free(syn_constraint *c)
{
    if (c->ops && c->ops->free_spec)
        c->ops->free_spec(c->spec);
    memset(c, 0, sizeof *c);
}
