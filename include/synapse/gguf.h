/* GGUF v2/v3 reader (mmap, bounds-checked) and writer.
 * A syn_gguf is immutable after open and may be read from any thread. */
#ifndef SYNAPSE_GGUF_H
#define SYNAPSE_GGUF_H

#include <stdbool.h>
#include <synapse/common.h>

enum syn_gguf_vtype {
    SYN_GGUF_U8 = 0, SYN_GGUF_I8 = 1, SYN_GGUF_U16 = 2, SYN_GGUF_I16 = 3,
    SYN_GGUF_U32 = 4, SYN_GGUF_I32 = 5, SYN_GGUF_F32 = 6, SYN_GGUF_BOOL = 7,
    SYN_GGUF_STRING = 8, SYN_GGUF_ARRAY = 9, SYN_GGUF_U64 = 10, SYN_GGUF_I64 = 11,
    SYN_GGUF_F64 = 12,
};

typedef struct syn_gguf syn_gguf;

typedef struct syn_gguf_str {
    const char *s; /* points into the file, NOT NUL-terminated */
    uint64_t len;
} syn_gguf_str;

typedef struct syn_gguf_tensor {
    const char *name; /* NUL-terminated copy */
    int32_t type;     /* syn_type */
    int32_t n_dims;
    int64_t ne[4];    /* unused dims are 1 */
    uint64_t offset;  /* from the start of the data section */
    const void *data; /* inside the mapping */
    size_t size;      /* bytes */
} syn_gguf_tensor;

/* Open read-only via mmap. Every count, offset and size is checked against the
 * file: a truncated or hostile file fails with SYN_ERR_FORMAT, never crashes. */
SYN_API int syn_gguf_open(const char *path, syn_gguf **out, syn_error *err);
/* Parse a buffer the caller keeps alive (used by the fuzzer and tests). */
SYN_API int syn_gguf_open_memory(const void *data, size_t size, syn_gguf **out, syn_error *err);
SYN_API void syn_gguf_close(syn_gguf *g);

SYN_API uint32_t syn_gguf_version(const syn_gguf *g);
SYN_API const void *syn_gguf_base(const syn_gguf *g, size_t *size); /* whole file */

/* metadata */
SYN_API int64_t syn_gguf_n_kv(const syn_gguf *g);
SYN_API int64_t syn_gguf_find_key(const syn_gguf *g, const char *key); /* -1 if absent */
SYN_API const char *syn_gguf_key_name(const syn_gguf *g, int64_t idx);   /* NUL-terminated copy */
SYN_API int syn_gguf_key_type(const syn_gguf *g, int64_t idx);           /* syn_gguf_vtype */

/* Typed getters by key; return SYN_ERR_NOT_FOUND when absent, SYN_ERR_FORMAT on
 * a type mismatch. Integer getters accept any integer type whose value fits
 * (SYN_ERR_RANGE when it does not). */
SYN_API int syn_gguf_get_u32(const syn_gguf *g, const char *key, uint32_t *out);
SYN_API int syn_gguf_get_i64(const syn_gguf *g, const char *key, int64_t *out);
SYN_API int syn_gguf_get_f32(const syn_gguf *g, const char *key, float *out); /* f32 or f64 */
SYN_API int syn_gguf_get_bool(const syn_gguf *g, const char *key, bool *out);
SYN_API int syn_gguf_get_str(const syn_gguf *g, const char *key, syn_gguf_str *out);
/* Arrays: element type and count. Numeric arrays expose their raw
 * little-endian elements; string arrays are read one by one. */
SYN_API int syn_gguf_get_arr(const syn_gguf *g, const char *key, int *elem_type, uint64_t *n, const void **data);
SYN_API int syn_gguf_get_arr_str(const syn_gguf *g, const char *key, uint64_t i, syn_gguf_str *out);

/* Additions: wider getters, index-based access for walking every key (and for
 * reading large string arrays without a lookup per element), layout facts. */
SYN_API int syn_gguf_get_u64(const syn_gguf *g, const char *key, uint64_t *out);     /* any integer >= 0 */
SYN_API int syn_gguf_get_f64(const syn_gguf *g, const char *key, double *out);       /* f32 or f64 */
SYN_API const void *syn_gguf_key_data(const syn_gguf *g, int64_t idx);              /* scalar's raw LE bytes; NULL for string/array */
SYN_API int syn_gguf_arr_at(const syn_gguf *g, int64_t idx, int *elem_type, uint64_t *n, const void **data);
SYN_API int syn_gguf_arr_str_at(const syn_gguf *g, int64_t idx, uint64_t i, syn_gguf_str *out);
SYN_API uint32_t syn_gguf_alignment(const syn_gguf *g);
SYN_API size_t syn_gguf_data_offset(const syn_gguf *g); /* start of the data section in the file */

/* tensors */
SYN_API int64_t syn_gguf_n_tensors(const syn_gguf *g);
SYN_API int64_t syn_gguf_find_tensor(const syn_gguf *g, const char *name); /* -1 if absent */
SYN_API const syn_gguf_tensor *syn_gguf_tensor_at(const syn_gguf *g, int64_t idx);

/* ------------------------------------------------------------------ writer */

typedef struct syn_gguf_writer syn_gguf_writer;

SYN_API syn_gguf_writer *syn_gguf_writer_new(void);
SYN_API void syn_gguf_writer_free(syn_gguf_writer *w);
/* Values are copied. */
SYN_API int syn_gguf_set_u32(syn_gguf_writer *w, const char *key, uint32_t v);
SYN_API int syn_gguf_set_i32(syn_gguf_writer *w, const char *key, int32_t v);
SYN_API int syn_gguf_set_u64(syn_gguf_writer *w, const char *key, uint64_t v);
SYN_API int syn_gguf_set_f32(syn_gguf_writer *w, const char *key, float v);
SYN_API int syn_gguf_set_bool(syn_gguf_writer *w, const char *key, bool v);
SYN_API int syn_gguf_set_str(syn_gguf_writer *w, const char *key, const char *v);
/* numeric array of elem_type (raw little-endian elements) */
SYN_API int syn_gguf_set_arr(syn_gguf_writer *w, const char *key, int elem_type, const void *data, uint64_t n);
SYN_API int syn_gguf_set_arr_str(syn_gguf_writer *w, const char *key, const char *const *v, uint64_t n);
/* Tensor bytes are copied; size must match type and shape. */
SYN_API int syn_gguf_add_tensor(syn_gguf_writer *w, const char *name, int type, int n_dims, const int64_t *ne,
                        const void *data, syn_error *err);
SYN_API int syn_gguf_write_file(syn_gguf_writer *w, const char *path, syn_error *err); /* version 3, alignment 32 */
/* Additions: any fixed-size scalar type from its raw little-endian bytes; the
 * same file image in a malloc'ed buffer (the caller frees *out). A tensor added
 * with data NULL is zero-filled. A u32 general.alignment key, if set, replaces
 * the default alignment of 32. Files are written to a temporary and renamed. */
SYN_API int syn_gguf_set_scalar(syn_gguf_writer *w, const char *key, int type, const void *v);
SYN_API int syn_gguf_write_memory(syn_gguf_writer *w, void **out, size_t *size, syn_error *err);

#endif
