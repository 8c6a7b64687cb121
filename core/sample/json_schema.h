/* Constrained decoding for response_format json_object / json_schema: a
 * schema (a subset of JSON Schema) compiles to an immutable syn_jschema; a
 * syn_jmatch is one sequence's byte-level pushdown matcher over it, and
 * syn_jmatch_mask turns a step's logits into only the tokens that keep the
 * output valid. The output is compact JSON (no whitespace outside strings),
 * object properties in the schema's order (optional ones may be left out).
 * Anything the matcher cannot enforce is refused at compile time: the server
 * fails closed, never falling back to unconstrained text.
 * A syn_jschema may be shared by threads; a syn_jmatch belongs to one. */
#ifndef SYN_CORE_SAMPLE_JSON_SCHEMA_H
#define SYN_CORE_SAMPLE_JSON_SCHEMA_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <synapse/common.h>
#include <synapse/constraint.h>

#include <synapse/tokenizer.h>

typedef struct syn_jschema syn_jschema;
typedef struct syn_jmatch syn_jmatch;

/* schema NULL: any JSON object (json_object mode). Supported keywords: type
 * (a name or a list of names), properties, required, additionalProperties
 * (objects with properties take only those keys, whatever it says; without
 * properties, false allows only {} and a schema is refused), items, enum and
 * const (values without one of the schema's types are dropped; none left is
 * refused), and annotations (title, description, $schema, default,
 * examples, strict). Anything else fails with SYN_ERR_UNSUPPORTED naming
 * the keyword. */
int syn_jschema_compile(json_object *schema, syn_jschema **out, syn_error *err);
void syn_jschema_free(syn_jschema *s);

syn_jmatch *syn_jmatch_new(const syn_jschema *s);
void syn_jmatch_free(syn_jmatch *m);
/* Feeds bytes; 0 if they keep the output a valid prefix (state advanced),
 * -1 if not (state unchanged). */
int syn_jmatch_feed(syn_jmatch *m, const char *bytes, size_t n);
/* The output so far is one complete value. */
int syn_jmatch_complete(const syn_jmatch *m);

/* Sets logits of tokens that would break the output to -inf; end-of-generation
 * tokens are allowed only when the value is complete, and then nothing else is.
 * Returns how many tokens stay allowed (0: nothing can follow; the caller
 * must fail the sequence). */
int32_t syn_jmatch_mask(syn_jmatch *m, const syn_tokenizer *tok, float *logits, int32_t n_vocab);

/* The compiled schema as a constraint for a job (takes s); what names the
 * request field for error messages ("response_format"). */
void syn_jschema_constraint(syn_jschema *s, const char *what, syn_constraint *out);
/* The same, but free until trigger appears in the output; then the value
 * after it follows s until complete, and the output is free again (takes
 * s). -1 when out of memory (s freed). */
int syn_jschema_lazy_constraint(const char *trigger, syn_jschema *s, const char *what, syn_constraint *out);

#endif
