/* Errors, logging and the element-type table shared by the core and plugins.
 * Thread-safe: the log level is a relaxed atomic, everything else is const. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <synapse/common.h>

int syn_fail(syn_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void syn_error_prefix(syn_error *err, const char *prefix)
{
    if (!err)
        return;
    char old[sizeof err->msg];
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n + 2 >= sizeof err->msg)
        n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof err->msg - n - 3;
    size_t len = strnlen(old, rest);
    memcpy(err->msg + n + 2, old, len);
    err->msg[n + 2 + len] = 0;
}

static int log_level = SYN_LOG_WARN;

void syn_log_set_level(syn_log_level level) { __atomic_store_n(&log_level, (int)level, __ATOMIC_RELAXED); }

void syn_log(syn_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    if ((int)level > __atomic_load_n(&log_level, __ATOMIC_RELAXED))
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "synapse: %s: %s\n", names[level], line);
}

struct type_info {
    const char *name;
    int block;
    size_t bytes;
};

/* Block sizes and byte counts as laid out in GGUF files. */
static const struct type_info types[SYN_TYPE_COUNT] = {
    [SYN_TYPE_F32] = {"f32", 1, 4},        [SYN_TYPE_F16] = {"f16", 1, 2},
    [SYN_TYPE_BF16] = {"bf16", 1, 2},      [SYN_TYPE_Q4_0] = {"q4_0", 32, 18},
    [SYN_TYPE_Q4_1] = {"q4_1", 32, 20},    [SYN_TYPE_Q5_0] = {"q5_0", 32, 22},
    [SYN_TYPE_Q5_1] = {"q5_1", 32, 24},    [SYN_TYPE_Q8_0] = {"q8_0", 32, 34},
    [SYN_TYPE_Q8_1] = {"q8_1", 32, 36},    [SYN_TYPE_Q2_K] = {"q2_K", 256, 84},
    [SYN_TYPE_Q3_K] = {"q3_K", 256, 110},  [SYN_TYPE_Q4_K] = {"q4_K", 256, 144},
    [SYN_TYPE_Q5_K] = {"q5_K", 256, 176},  [SYN_TYPE_Q6_K] = {"q6_K", 256, 210},
    [SYN_TYPE_Q8_K] = {"q8_K", 256, 292},
};

static const struct type_info *type_get(int type)
{
    if (type < 0 || type >= SYN_TYPE_COUNT || !types[type].name)
        return NULL;
    return &types[type];
}

int syn_type_block_size(int type)
{
    const struct type_info *t = type_get(type);
    return t ? t->block : 0;
}

size_t syn_type_block_bytes(int type)
{
    const struct type_info *t = type_get(type);
    return t ? t->bytes : 0;
}

const char *syn_type_name(int type)
{
    const struct type_info *t = type_get(type);
    return t ? t->name : "unknown";
}

size_t syn_type_row_bytes(int type, int64_t n)
{
    const struct type_info *t = type_get(type);
    if (!t || n < 0 || n % t->block)
        return 0;
    return (size_t)(n / t->block) * t->bytes;
}

char *syn_read_stream(FILE *f, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    while (s) {
        size_t r = fread(s + n, 1, cap - n - 1, f); /* one byte kept for the NUL */
        n += r;
        if (r == 0)
            break;
        if (n == cap - 1) {
            char *t = cap < SIZE_MAX / 2 ? realloc(s, cap *= 2) : NULL;
            if (!t)
                free(s);
            s = t;
        }
    }
    if (s && ferror(f)) {
        free(s);
        return NULL;
    }
    if (s) {
        s[n] = 0;
        *len = n;
    }
    return s;
}

char *syn_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *s = syn_read_stream(f, len);
    fclose(f);
    return s;
}
