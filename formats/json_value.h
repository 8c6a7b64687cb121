/* A small strict JSON parser (RFC 8259) for the engine, which links no JSON
 * library. syn_json_parse turns a buffer into an immutable tree held in a
 * few allocations and freed with one call; a parsed document may be read
 * from any thread.
 *
 * Strict means: one value, optionally surrounded by whitespace (space, tab,
 * CR, LF), nothing after it; no comments, trailing commas, single quotes,
 * NaN/Infinity or leading zeros; strings are valid UTF-8 (no overlong forms,
 * no encoded surrogates) with no raw control characters, every escape of
 * RFC 8259 is decoded (\u surrogate pairs combined, lone surrogates and
 * \u0000 refused, so every string is a NUL-terminated C string without
 * embedded NULs); numbers must be finite as doubles (1e309 is refused);
 * an object may not repeat a key. Failures are SYN_ERR_FORMAT (malformed)
 * or SYN_ERR_RANGE (over a limit) with a message naming what is wrong and
 * its byte offset in the buffer.
 *
 * Internal to the engine library (tests link it whole); not installed. */
#ifndef SYN_FORMATS_JSON_VALUE_H
#define SYN_FORMATS_JSON_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <synapse/common.h>

typedef enum syn_json_kind {
    SYN_JSON_NULL = 0,
    SYN_JSON_BOOL = 1,
    SYN_JSON_NUMBER = 2,
    SYN_JSON_STRING = 3,
    SYN_JSON_ARRAY = 4,
    SYN_JSON_OBJECT = 5,
} syn_json_kind;

typedef struct syn_json_doc syn_json_doc; /* a parsed document: owns every value */
typedef struct syn_json syn_json;         /* one value inside a document */

/* Zero fields take the defaults below. Limits keep hostile input from
 * costing memory or stack in proportion to its claims. */
typedef struct syn_json_limits {
    size_t max_depth; /* nesting of arrays and objects (the root container is depth 1) */
    size_t max_bytes; /* length of the buffer; at most 4 GiB - 1 */
    size_t max_nodes; /* values in the document, keys not counted */
} syn_json_limits;

#define SYN_JSON_DEFAULT_DEPTH 64
#define SYN_JSON_DEFAULT_BYTES ((size_t)64 << 20)
#define SYN_JSON_DEFAULT_NODES ((size_t)1 << 22)

/* Parses text[0..len) (need not be NUL-terminated; may hold anything after
 * len). limits NULL: the defaults. On failure *out is NULL. */
int syn_json_parse(const char *text, size_t len, const syn_json_limits *limits, syn_json_doc **out,
                   syn_error *err);
void syn_json_free(syn_json_doc *doc);
const syn_json *syn_json_root(const syn_json_doc *doc);

/* Every function below accepts v == NULL (an absent value), so lookups
 * chain: syn_json_string(syn_json_get(obj, "name"), &s, NULL) is
 * SYN_ERR_NOT_FOUND when there is no "name". */

/* syn_json_kind, or -1 for NULL. */
int syn_json_kind_of(const syn_json *v);
/* "null", "boolean", "number", "string", "array", "object"; "absent" for -1. */
const char *syn_json_kind_name(int kind);
/* Byte offset in the parsed buffer where v starts (0 for NULL). */
size_t syn_json_offset(const syn_json *v);

/* Arrays and objects: number of elements / members (0 for anything else).
 * syn_json_at is the i-th element of an array or the value of the i-th
 * member of an object, in document order; NULL past the end or on a scalar.
 * syn_json_key_at is the i-th member's key (NUL-terminated; *len its length
 * if len is not NULL), NULL past the end or if v is not an object. */
size_t syn_json_len(const syn_json *v);
const syn_json *syn_json_at(const syn_json *v, size_t i);
const char *syn_json_key_at(const syn_json *v, size_t i, size_t *len);
/* Object member by key (O(log n)); NULL if absent or v is not an object. */
const syn_json *syn_json_get(const syn_json *obj, const char *key);
/* The same for a key of klen bytes (need not be NUL-terminated). */
const syn_json *syn_json_get_n(const syn_json *obj, const char *key, size_t klen);

/* Typed accessors: SYN_OK and *out set, SYN_ERR_NOT_FOUND for NULL,
 * SYN_ERR_FORMAT for another kind (out untouched). */
int syn_json_bool(const syn_json *v, bool *out);
/* Any number as a double (integers beyond 2^53 rounded). */
int syn_json_number(const syn_json *v, double *out);
/* Exact integers only: a number written without fraction or exponent
 * ("-0" is 0) that fits int64_t. SYN_ERR_FORMAT also for 1.0 or 1e2,
 * SYN_ERR_RANGE for an integer literal outside int64_t. */
int syn_json_int64(const syn_json *v, int64_t *out);
/* The unescaped string, NUL-terminated, valid UTF-8 without embedded NULs;
 * *len (if len is not NULL) its length in bytes. Valid while the document is. */
int syn_json_string(const syn_json *v, const char **out, size_t *len);

#endif
