/* safetensors reader (mmap, bounds-checked) and writer, for PEFT adapters
 * and other tensors in Hugging Face's format.
 *
 * A file is: u64 little-endian N, N bytes of a JSON object (the header,
 * may end in spaces), then the data region. The header maps each tensor
 * name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets from the
 * start of the data region) and may hold "__metadata__", an object of
 * string values. The reader applies the reference implementation's rules:
 * N at most 100,000,000 bytes, the header strict JSON (no duplicate keys),
 * each tensor's byte count equal to its element count times its dtype's
 * size, and the tensors, in offset order, tiling the whole data region with
 * no gap, overlap or trailing bytes. Keys of a tensor entry other than the
 * three are ignored and "__metadata__": null reads as no metadata, as in
 * the reference; unlike it, strings may not hold \u0000, and a header may
 * hold at most 4M JSON values (about 300k tensors). Shapes of more than
 * SYN_ST_MAX_DIMS dimensions and unknown dtypes are SYN_ERR_UNSUPPORTED;
 * anything else malformed is SYN_ERR_FORMAT with a message naming the
 * tensor or field. A syn_st is immutable after open and may be read from
 * any thread. */
#ifndef SYNAPSE_SAFETENSORS_H
#define SYNAPSE_SAFETENSORS_H

#include <synapse/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SYN_ST_MAX_DIMS 8

/* The format's element types, under their names in files ("F32", ...).
 * F4 and F6_* pack elements into bits (a tensor must fill whole bytes). */
typedef enum syn_st_dtype {
    SYN_ST_BOOL = 0,
    SYN_ST_U8,
    SYN_ST_I8,
    SYN_ST_U16,
    SYN_ST_I16,
    SYN_ST_F16,
    SYN_ST_BF16,
    SYN_ST_U32,
    SYN_ST_I32,
    SYN_ST_F32,
    SYN_ST_U64,
    SYN_ST_I64,
    SYN_ST_F64,
    SYN_ST_F8_E4M3,
    SYN_ST_F8_E5M2,
    SYN_ST_F8_E8M0,
    SYN_ST_F8_E4M3FNUZ,
    SYN_ST_F8_E5M2FNUZ,
    SYN_ST_F4,
    SYN_ST_F6_E2M3,
    SYN_ST_F6_E3M2,
    SYN_ST_C64,
    SYN_ST_DTYPE_COUNT
} syn_st_dtype;

/* "F32" etc.; NULL for a value outside the enum. */
SYN_API const char *syn_st_dtype_name(int dtype);
/* The dtype with that exact name, or -1. */
SYN_API int syn_st_dtype_from_name(const char *name);
/* Bits per element (4, 6, 8, 16, 32 or 64); 0 outside the enum. */
SYN_API int syn_st_dtype_bits(int dtype);

typedef struct syn_st syn_st;

typedef struct syn_st_tensor {
    const char *name;               /* NUL-terminated copy */
    int32_t dtype;                  /* syn_st_dtype */
    int32_t n_dims;                 /* 0 (a scalar) .. SYN_ST_MAX_DIMS */
    int64_t shape[SYN_ST_MAX_DIMS]; /* outermost first, as in the file; unused are 1 */
    uint64_t offset;                /* data_offsets[0]: from the start of the data region */
    const void *data;               /* inside the mapping; may be unaligned */
    size_t size;                    /* bytes: data_offsets[1] - data_offsets[0] */
} syn_st_tensor;

typedef struct syn_st_kv {
    const char *key;
    const char *value;
} syn_st_kv;

/* Open read-only via mmap. A truncated or hostile file fails with
 * SYN_ERR_FORMAT (or UNSUPPORTED), never crashes; messages start with path. */
SYN_API int syn_st_open(const char *path, syn_st **out, syn_error *err);
/* Parse a buffer the caller keeps alive while the syn_st is open (the
 * fuzzer, tests, files read some other way); messages start with "<memory>". */
SYN_API int syn_st_open_memory(const void *data, size_t size, syn_st **out, syn_error *err);
SYN_API void syn_st_close(syn_st *st);

SYN_API const void *syn_st_base(const syn_st *st, size_t *size); /* whole file */
SYN_API size_t syn_st_data_offset(const syn_st *st);            /* 8 + N: start of the data region */

/* Tensors in data order (by offset; "__metadata__" is not one). */
SYN_API int64_t syn_st_n_tensors(const syn_st *st);
SYN_API const syn_st_tensor *syn_st_tensor_at(const syn_st *st, int64_t idx); /* NULL out of range */
SYN_API int64_t syn_st_find(const syn_st *st, const char *name);              /* -1 if absent */

/* "__metadata__": the value for key or NULL; all pairs in file order.
 * Keys and values are NUL-terminated UTF-8 copies. */
SYN_API const char *syn_st_metadata(const syn_st *st, const char *key);
SYN_API int64_t syn_st_n_metadata(const syn_st *st);
SYN_API const syn_st_kv *syn_st_metadata_at(const syn_st *st, int64_t idx); /* NULL out of range */

/* ------------------------------------------------------------------ writer */

/* Writes tensors[0..n) and the n_meta metadata pairs (meta may be NULL when
 * n_meta is 0; no "__metadata__" is written when n_meta is 0) to path,
 * through a temporary file renamed into place. Per tensor: name (valid
 * UTF-8, unique, not "__metadata__"), dtype, n_dims and shape[0..n_dims)
 * (each >= 0) are read, and size must equal the bytes that dtype and shape
 * need; data is copied from (NULL: zeros); offset is ignored. As the
 * reference writer does, tensors are laid out by decreasing element size,
 * then by name, and the header is padded with spaces to a multiple of 8,
 * so each tensor starts aligned to its element size. Fails with
 * SYN_ERR_INVALID (naming the tensor or key) or SYN_ERR_IO. */
SYN_API int syn_st_write(const char *path, const syn_st_tensor *tensors, size_t n, const syn_st_kv *meta, size_t n_meta,
                         syn_error *err);
/* The same file image in a malloc'ed buffer (the caller frees *out). */
SYN_API int syn_st_write_memory(const syn_st_tensor *tensors, size_t n, const syn_st_kv *meta, size_t n_meta, void **out,
                                size_t *size, syn_error *err);

#ifdef __cplusplus
}
#endif
#endif
