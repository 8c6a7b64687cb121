/* Public basics shared by the core and every plugin: status codes, the
 * caller-owned error struct, tensor element types and logging.
 * Any thread may call these. */
#ifndef SYNAPSE_COMMON_H
#define SYNAPSE_COMMON_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SYN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SYN_EXPORT __attribute__((visibility("default")))
#else
#define SYN_PRINTF(f, a)
#define SYN_EXPORT
#endif
/* libsynapse is built with -fvisibility=hidden: what it exports is marked */
#define SYN_API SYN_EXPORT

/* Status codes: 0 is success, every failure is negative. */
enum {
    SYN_OK = 0,
    SYN_ERR_INVALID = -1,     /* bad argument or malformed input */
    SYN_ERR_IO = -2,          /* file could not be opened/read/written */
    SYN_ERR_FORMAT = -3,      /* file is not what it claims (truncated, hostile) */
    SYN_ERR_UNSUPPORTED = -4, /* valid but not supported (arch, type, ...) */
    SYN_ERR_NOMEM = -5,
    SYN_ERR_ABI = -6,         /* plugin built for another ABI */
    SYN_ERR_NOT_FOUND = -7,
    SYN_ERR_RANGE = -8,       /* over a limit: context, sizes */
};

/* Filled by fallible calls with a message a user can act on. */
typedef struct syn_error {
    int code;
    char msg[512];
} syn_error;

/* Sets err (if not NULL) and returns code, so callers can `return syn_fail(...)`. */
SYN_API int syn_fail(syn_error *err, int code, const char *fmt, ...) SYN_PRINTF(3, 4);

/* Prepends "prefix: " to err's message (e.g. the file it concerns). */
SYN_API void syn_error_prefix(syn_error *err, const char *prefix);

/* Tensor element types. The numbers are GGUF's (ggml_type) so files map 1:1. */
typedef enum syn_type {
    SYN_TYPE_F32 = 0,
    SYN_TYPE_F16 = 1,
    SYN_TYPE_Q4_0 = 2,
    SYN_TYPE_Q4_1 = 3,
    SYN_TYPE_Q5_0 = 6,
    SYN_TYPE_Q5_1 = 7,
    SYN_TYPE_Q8_0 = 8,
    SYN_TYPE_Q8_1 = 9,
    SYN_TYPE_Q2_K = 10,
    SYN_TYPE_Q3_K = 11,
    SYN_TYPE_Q4_K = 12,
    SYN_TYPE_Q5_K = 13,
    SYN_TYPE_Q6_K = 14,
    SYN_TYPE_Q8_K = 15,
    SYN_TYPE_BF16 = 30,
    SYN_TYPE_COUNT = 40
} syn_type;

/* Block geometry of a type: elements per block and bytes per block.
 * Returns 0 for types this build does not know. */
SYN_API int syn_type_block_size(int type);
SYN_API size_t syn_type_block_bytes(int type);
SYN_API const char *syn_type_name(int type);

/* Reads all of f (or the file at path) into a malloc'ed, NUL-terminated
 * buffer; *len excludes the terminator. NULL when the file cannot be
 * opened, on a read error or out of memory. */
SYN_API char *syn_read_stream(FILE *f, size_t *len);
SYN_API char *syn_read_file(const char *path, size_t *len);
/* Bytes of a row of n elements; 0 if n is not a whole number of blocks. */
SYN_API size_t syn_type_row_bytes(int type, int64_t n);

typedef enum syn_log_level {
    SYN_LOG_ERROR = 0,
    SYN_LOG_WARN = 1,
    SYN_LOG_INFO = 2,
    SYN_LOG_DEBUG = 3
} syn_log_level;

SYN_API void syn_log(syn_log_level level, const char *fmt, ...) SYN_PRINTF(2, 3);
/* Messages above this level are dropped; default SYN_LOG_WARN. */
SYN_API void syn_log_set_level(syn_log_level level);

#ifdef __cplusplus
}
#endif
#endif
