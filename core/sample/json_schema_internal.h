/* Shared between the schema compiler and the matcher: the node tree. */
#ifndef SYN_CORE_JSON_SCHEMA_INTERNAL_H
#define SYN_CORE_JSON_SCHEMA_INTERNAL_H

#include "core/sample/json_schema.h"

#define SYN_JMAX_DEPTH 32
#define SYN_JMAX_CAND 64 /* enum values / properties per object (a 64-bit mask) */

enum {
    SYN_JT_OBJ = 1, SYN_JT_ARR = 2, SYN_JT_STR = 4, SYN_JT_NUM = 8, SYN_JT_INT = 16, SYN_JT_BOOL = 32,
    SYN_JT_NULL = 64, SYN_JT_ANY = 127,
};

typedef struct syn_jnode {
    int types;       /* SYN_JT_* mask */
    int generic_obj; /* objects take any keys (no 'properties') */
    int n_props;
    char **keylits;  /* each property name as a JSON string literal, with quotes */
    struct syn_jnode **props;
    uint8_t *req;
    struct syn_jnode *items; /* NULL: any value */
    int n_lits;              /* enum/const: the allowed values as compact JSON texts */
    char **lits;
    struct syn_jnode *next_alloc;
} syn_jnode;

struct syn_jschema {
    syn_jnode *root;
    syn_jnode *nodes; /* every node, for freeing */
};

#endif
