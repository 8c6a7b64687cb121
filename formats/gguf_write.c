/* GGUF v3 writer: collects keys (in insertion order) and tensors (copied), then
 * serialises them to a file (atomically, via a temporary and rename) or to a
 * memory buffer. A writer belongs to one thread at a time. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <synapse/gguf.h>
#include "formats/grow.h"

#define GGUF_DEFAULT_ALIGNMENT 32u

struct wkv {
    char *key;
    int type;
    uint8_t *val; /* the value exactly as encoded after the type field */
    size_t val_len;
};

struct wtensor {
    char *name;
    int type;
    int n_dims;
    int64_t ne[4];
    uint8_t *data;
    size_t size;
};

struct syn_gguf_writer {
    struct wkv *kvs;
    size_t n_kv, cap_kv;
    struct wtensor *tensors;
    size_t n_tensors, cap_tensors;
};

syn_gguf_writer *syn_gguf_writer_new(void) { return calloc(1, sizeof(syn_gguf_writer)); }

void syn_gguf_writer_free(syn_gguf_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kvs[i].key);
        free(w->kvs[i].val);
    }
    for (size_t i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].data);
    }
    free(w->kvs);
    free(w->tensors);
    free(w);
}

/* ------------------------------------------------------------ encoding */

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    put_u32(p, (uint32_t)v);
    put_u32(p + 4, (uint32_t)(v >> 32));
}

static size_t scalar_size(int t)
{
    switch (t) {
    case SYN_GGUF_U8: case SYN_GGUF_I8: case SYN_GGUF_BOOL: return 1;
    case SYN_GGUF_U16: case SYN_GGUF_I16: return 2;
    case SYN_GGUF_U32: case SYN_GGUF_I32: case SYN_GGUF_F32: return 4;
    case SYN_GGUF_U64: case SYN_GGUF_I64: case SYN_GGUF_F64: return 8;
    default: return 0;
    }
}

/* Stores an encoded value under key, taking ownership of val. Setting a key
 * again replaces its value but keeps its first position. */
static int set_encoded(syn_gguf_writer *w, const char *key, int type, uint8_t *val, size_t val_len)
{
    if (!w || !key || !val) {
        free(val);
        return w && key ? SYN_ERR_NOMEM : SYN_ERR_INVALID;
    }
    for (size_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->kvs[i].key, key) == 0) {
            free(w->kvs[i].val);
            w->kvs[i].type = type;
            w->kvs[i].val = val;
            w->kvs[i].val_len = val_len;
            return 0;
        }
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? 2 * w->cap_kv : 16;
        struct wkv *kvs = realloc(w->kvs, cap * sizeof *kvs);
        if (!kvs) {
            free(val);
            return SYN_ERR_NOMEM;
        }
        w->kvs = kvs;
        w->cap_kv = cap;
    }
    char *copy = strdup(key);
    if (!copy) {
        free(val);
        return SYN_ERR_NOMEM;
    }
    w->kvs[w->n_kv++] = (struct wkv){.key = copy, .type = type, .val = val, .val_len = val_len};
    return 0;
}

int syn_gguf_set_scalar(syn_gguf_writer *w, const char *key, int type, const void *v)
{
    size_t n = scalar_size(type);
    if (!n || !v)
        return SYN_ERR_INVALID;
    uint8_t *val = malloc(n);
    if (val)
        memcpy(val, v, n);
    return set_encoded(w, key, type, val, n);
}

/* Scalars are encoded little-endian from their value, not their memory image. */
static int set_le(syn_gguf_writer *w, const char *key, int type, uint64_t bits)
{
    uint8_t le[8];
    put_u64(le, bits);
    return syn_gguf_set_scalar(w, key, type, le);
}

int syn_gguf_set_u32(syn_gguf_writer *w, const char *key, uint32_t v) { return set_le(w, key, SYN_GGUF_U32, v); }

int syn_gguf_set_i32(syn_gguf_writer *w, const char *key, int32_t v)
{
    return set_le(w, key, SYN_GGUF_I32, (uint32_t)v);
}

int syn_gguf_set_u64(syn_gguf_writer *w, const char *key, uint64_t v) { return set_le(w, key, SYN_GGUF_U64, v); }

int syn_gguf_set_f32(syn_gguf_writer *w, const char *key, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    return set_le(w, key, SYN_GGUF_F32, bits);
}

int syn_gguf_set_bool(syn_gguf_writer *w, const char *key, bool v) { return set_le(w, key, SYN_GGUF_BOOL, v); }

int syn_gguf_set_str(syn_gguf_writer *w, const char *key, const char *v)
{
    if (!v)
        return SYN_ERR_INVALID;
    size_t len = strlen(v);
    uint8_t *val = malloc(8 + len);
    if (val) {
        put_u64(val, len);
        memcpy(val + 8, v, len);
    }
    return set_encoded(w, key, SYN_GGUF_STRING, val, 8 + len);
}

int syn_gguf_set_arr(syn_gguf_writer *w, const char *key, int elem_type, const void *data, uint64_t n)
{
    size_t esz = scalar_size(elem_type);
    if (!esz || (!data && n) || n > (SIZE_MAX - 12) / esz)
        return SYN_ERR_INVALID;
    size_t bytes = (size_t)n * esz;
    uint8_t *val = malloc(12 + bytes);
    if (val) {
        put_u32(val, (uint32_t)elem_type);
        put_u64(val + 4, n);
        if (bytes)
            memcpy(val + 12, data, bytes);
    }
    return set_encoded(w, key, SYN_GGUF_ARRAY, val, 12 + bytes);
}

int syn_gguf_set_arr_str(syn_gguf_writer *w, const char *key, const char *const *v, uint64_t n)
{
    if (!v && n)
        return SYN_ERR_INVALID;
    size_t bytes = 12;
    for (uint64_t i = 0; i < n; i++) {
        if (!v[i])
            return SYN_ERR_INVALID;
        bytes += 8 + strlen(v[i]);
    }
    uint8_t *val = malloc(bytes);
    if (val) {
        put_u32(val, SYN_GGUF_STRING);
        put_u64(val + 4, n);
        size_t pos = 12;
        for (uint64_t i = 0; i < n; i++) {
            size_t len = strlen(v[i]);
            put_u64(val + pos, len);
            memcpy(val + pos + 8, v[i], len);
            pos += 8 + len;
        }
    }
    return set_encoded(w, key, SYN_GGUF_ARRAY, val, bytes);
}

int syn_gguf_add_tensor(syn_gguf_writer *w, const char *name, int type, int n_dims, const int64_t *ne,
                        const void *data, syn_error *err)
{
    if (!w || !name || !ne)
        return syn_fail(err, SYN_ERR_INVALID, "gguf writer: NULL argument to add_tensor");
    if (n_dims < 1 || n_dims > 4)
        return syn_fail(err, SYN_ERR_INVALID, "gguf writer: tensor '%s' has %d dimensions (must be 1..4)", name,
                        n_dims);
    int block = syn_type_block_size(type);
    if (block <= 0)
        return syn_fail(err, SYN_ERR_INVALID, "gguf writer: tensor '%s' has unknown type %d", name, type);
    struct wtensor t = {.type = type, .n_dims = n_dims, .ne = {1, 1, 1, 1}};
    for (int d = 0; d < n_dims; d++) {
        if (ne[d] < 0)
            return syn_fail(err, SYN_ERR_INVALID, "gguf writer: tensor '%s' dimension %d is negative", name, d);
        t.ne[d] = ne[d];
    }
    if (t.ne[0] % block)
        return syn_fail(err, SYN_ERR_INVALID, "gguf writer: tensor '%s' row of %lld is not a multiple of %s's block of %d",
                        name, (long long)t.ne[0], syn_type_name(type), block);
    size_t size = syn_type_row_bytes(type, t.ne[0]);
    bool overflow = false;
    for (int d = 1; d < 4; d++)
        overflow |= __builtin_mul_overflow(size, (size_t)t.ne[d], &size);
    if (overflow)
        return syn_fail(err, SYN_ERR_RANGE, "gguf writer: tensor '%s' is too large", name);
    for (size_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return syn_fail(err, SYN_ERR_INVALID, "gguf writer: duplicate tensor '%s'", name);

    if (w->n_tensors == w->cap_tensors) {
        size_t cap = w->cap_tensors ? 2 * w->cap_tensors : 16;
        struct wtensor *ts = realloc(w->tensors, cap * sizeof *ts);
        if (!ts)
            return syn_fail(err, SYN_ERR_NOMEM, "gguf writer: out of memory");
        w->tensors = ts;
        w->cap_tensors = cap;
    }
    t.size = size;
    t.name = strdup(name);
    t.data = data ? malloc(size ? size : 1) : calloc(size ? size : 1, 1);
    if (!t.name || !t.data) {
        free(t.name);
        free(t.data);
        return syn_fail(err, SYN_ERR_NOMEM, "gguf writer: out of memory for tensor '%s' (%zu bytes)", name, size);
    }
    if (data && size)
        memcpy(t.data, data, size);
    w->tensors[w->n_tensors++] = t;
    return 0;
}

/* ------------------------------------------------------------ output */

/* Output goes either to a stream or to a growing buffer. */
struct sink {
    FILE *f;
    uint8_t *buf;
    size_t n, cap;
    bool failed;
};

static void emit(struct sink *s, const void *p, size_t n)
{
    if (s->failed || !n)
        return;
    if (s->f) {
        s->failed = fwrite(p, 1, n, s->f) != n;
        s->n += n;
        return;
    }
    void *b = s->buf;
    if (syn_grow(&b, &s->cap, s->n + n, 4096)) {
        s->failed = true;
        return;
    }
    s->buf = b;
    memcpy(s->buf + s->n, p, n);
    s->n += n;
}

static void emit_u32(struct sink *s, uint32_t v)
{
    uint8_t b[4];
    put_u32(b, v);
    emit(s, b, 4);
}

static void emit_u64(struct sink *s, uint64_t v)
{
    uint8_t b[8];
    put_u64(b, v);
    emit(s, b, 8);
}

static void emit_str(struct sink *s, const char *str)
{
    emit_u64(s, strlen(str));
    emit(s, str, strlen(str));
}

static void emit_pad(struct sink *s, size_t align)
{
    static const uint8_t zeros[256];
    size_t pad = (align - s->n % align) % align;
    while (pad) {
        size_t k = pad < sizeof zeros ? pad : sizeof zeros;
        emit(s, zeros, k);
        pad -= k;
    }
}

static int writer_alignment(const syn_gguf_writer *w, size_t *align, syn_error *err)
{
    *align = GGUF_DEFAULT_ALIGNMENT;
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kvs[i].key, "general.alignment") != 0)
            continue;
        const uint8_t *v = w->kvs[i].val;
        uint32_t a = (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
        if (w->kvs[i].type != SYN_GGUF_U32 || a == 0 || (a & (a - 1)))
            return syn_fail(err, SYN_ERR_INVALID, "gguf writer: general.alignment must be a u32 power of two");
        *align = a;
    }
    return 0;
}

static int serialise(const syn_gguf_writer *w, struct sink *s, syn_error *err)
{
    size_t align;
    int rc = writer_alignment(w, &align, err);
    if (rc)
        return rc;
    emit(s, "GGUF", 4);
    emit_u32(s, 3);
    emit_u64(s, w->n_tensors);
    emit_u64(s, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        emit_str(s, w->kvs[i].key);
        emit_u32(s, (uint32_t)w->kvs[i].type);
        emit(s, w->kvs[i].val, w->kvs[i].val_len);
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < w->n_tensors; i++) {
        const struct wtensor *t = &w->tensors[i];
        emit_str(s, t->name);
        emit_u32(s, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++)
            emit_u64(s, (uint64_t)t->ne[d]);
        emit_u32(s, (uint32_t)t->type);
        emit_u64(s, offset);
        offset += t->size + (align - t->size % align) % align;
    }
    emit_pad(s, align);
    for (size_t i = 0; i < w->n_tensors; i++) {
        emit(s, w->tensors[i].data, w->tensors[i].size);
        emit_pad(s, align);
    }
    return 0;
}

int syn_gguf_write_memory(syn_gguf_writer *w, void **out, size_t *size, syn_error *err)
{
    struct sink s = {0};
    int rc = serialise(w, &s, err);
    if (!rc && s.failed)
        rc = syn_fail(err, SYN_ERR_NOMEM, "gguf writer: out of memory for a %zu-byte file", s.n);
    if (rc) {
        free(s.buf);
        return rc;
    }
    *out = s.buf;
    *size = s.n;
    return 0;
}

int syn_gguf_write_file(syn_gguf_writer *w, const char *path, syn_error *err)
{
    static unsigned counter;
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(),
                 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED)) >= (int)sizeof tmp)
        return syn_fail(err, SYN_ERR_INVALID, "%s: path too long", path);
    /* A temporary and a rename: readers never see a half-written file. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
        return syn_fail(err, SYN_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return syn_fail(err, SYN_ERR_IO, "%s: %s", tmp, strerror(e));
    }
    struct sink s = {.f = f};
    errno = 0;
    int rc = serialise(w, &s, err);
    int e = 0;
    if (!rc && (s.failed || fflush(f) != 0 || fsync(fileno(f)) != 0))
        e = errno ? errno : EIO;
    if (fclose(f) != 0 && !rc && !e)
        e = errno ? errno : EIO;
    if (!rc && e)
        rc = syn_fail(err, SYN_ERR_IO, "%s: write failed: %s", path, strerror(e));
    if (!rc && rename(tmp, path) != 0)
        rc = syn_fail(err, SYN_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}
