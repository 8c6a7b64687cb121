/* GGUF v2/v3 reader: maps a file (or borrows a caller's buffer), checks every
 * count, length and offset against its size, and indexes keys, tensor names and
 * string-array elements so lookups cost O(1). A syn_gguf is immutable after
 * open; any thread may read it, one thread must close it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <synapse/gguf.h>
#include "formats/file_map.h"

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32u
#define GGUF_MAX_DIMS 4
/* Real files hold tens of keys and at most tens of thousands of tensors; the cap
 * keeps a hostile header from making us allocate in proportion to its claims. */
#define GGUF_MAX_ENTRIES (1u << 24)
/* Smallest encoding of one key/value (key length, type, one byte of value) and of
 * one tensor info (name length, n_dims, one dim, type, offset): counts larger than
 * what the rest of the file could hold are rejected before allocating. */
#define GGUF_MIN_KV_BYTES 13u
#define GGUF_MIN_TENSOR_BYTES 32u

struct gguf_kv {
    char *key; /* NUL-terminated copy */
    size_t key_len;
    int type;
    int elem_type;      /* arrays only */
    uint64_t n;         /* string: byte length; array: element count */
    const uint8_t *val; /* scalar or string bytes; array: first element */
    uint64_t *str_pos;  /* string arrays: file offset of each element's length */
};

/* Open-addressing hash table from names to entry indexes (slot = index + 1). */
struct name_index {
    uint32_t *slots;
    uint64_t mask;
};

struct syn_gguf {
    const uint8_t *base;
    size_t size;
    bool mapped;
    uint32_t version;
    uint32_t alignment;
    size_t data_off;
    int64_t n_kv;
    struct gguf_kv *kvs;
    int64_t n_tensors;
    syn_gguf_tensor *tensors;
    size_t *tensor_name_len;
    struct name_index key_ix, tensor_ix;
};

/* ------------------------------------------------------------ helpers */

static uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd_u64(const uint8_t *p) { return (uint64_t)rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32; }

static size_t vtype_size(int t)
{
    switch (t) {
    case SYN_GGUF_U8: case SYN_GGUF_I8: case SYN_GGUF_BOOL: return 1;
    case SYN_GGUF_U16: case SYN_GGUF_I16: return 2;
    case SYN_GGUF_U32: case SYN_GGUF_I32: case SYN_GGUF_F32: return 4;
    case SYN_GGUF_U64: case SYN_GGUF_I64: case SYN_GGUF_F64: return 8;
    default: return 0; /* strings, arrays, unknown */
    }
}

static bool vtype_valid(uint32_t t) { return t <= SYN_GGUF_F64; }

/* Names in error messages come from untrusted bytes: keep them short and printable. */
static const char *printable(char *buf, size_t cap, const uint8_t *s, uint64_t n)
{
    size_t max = cap - 4, k = 0;
    for (uint64_t i = 0; i < n && k < max; i++)
        buf[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
    if (n > max)
        memcpy(buf + k, "...", 3), k += 3;
    buf[k] = '\0';
    return buf;
}

static uint64_t hash_name(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return h;
}

static int index_init(struct name_index *ix, uint64_t n)
{
    uint64_t cap = 16;
    while (cap < 2 * n)
        cap <<= 1;
    ix->slots = calloc(cap, sizeof *ix->slots);
    ix->mask = cap - 1;
    return ix->slots ? 0 : SYN_ERR_NOMEM;
}

typedef const char *(*name_at_fn)(const syn_gguf *g, uint32_t idx, size_t *len);

static const char *key_name_at(const syn_gguf *g, uint32_t idx, size_t *len)
{
    *len = g->kvs[idx].key_len;
    return g->kvs[idx].key;
}

static const char *tensor_name_at(const syn_gguf *g, uint32_t idx, size_t *len)
{
    *len = g->tensor_name_len[idx];
    return g->tensors[idx].name;
}

/* Slot holding name s, or the empty slot where it would go (the table is never full). */
static uint32_t *index_slot(const syn_gguf *g, const struct name_index *ix, name_at_fn name_at, const char *s,
                            size_t n)
{
    uint64_t i = hash_name(s, n) & ix->mask;
    for (;;) {
        uint32_t *slot = &ix->slots[i];
        if (!*slot)
            return slot;
        size_t len;
        const char *name = name_at(g, *slot - 1, &len);
        if (len == n && memcmp(name, s, n) == 0)
            return slot;
        i = (i + 1) & ix->mask;
    }
}

static int64_t index_find(const syn_gguf *g, const struct name_index *ix, name_at_fn name_at, const char *s)
{
    if (!ix->slots || !s)
        return -1;
    uint32_t slot = *index_slot(g, ix, name_at, s, strlen(s));
    return (int64_t)slot - 1;
}

/* Adds entry idx under its own name; false if the name is already there. */
static bool index_add(const syn_gguf *g, struct name_index *ix, name_at_fn name_at, uint32_t idx)
{
    size_t len;
    const char *name = name_at(g, idx, &len);
    uint32_t *slot = index_slot(g, ix, name_at, name, len);
    if (*slot)
        return false;
    *slot = idx + 1;
    return true;
}

/* ------------------------------------------------------------ parsing */

struct cursor {
    const uint8_t *base;
    size_t size, pos;
    const char *src; /* file name for messages */
    syn_error *err;
};

static int past_end(struct cursor *c, const char *what, uint64_t n)
{
    return syn_fail(c->err, SYN_ERR_FORMAT,
                    "%s: %s at offset %zu needs %llu bytes, runs past end of file (size %zu)", c->src, what,
                    c->pos, (unsigned long long)n, c->size);
}

static int need(struct cursor *c, uint64_t n, const char *what)
{
    return n > c->size - c->pos ? past_end(c, what, n) : 0;
}

static int take_u32(struct cursor *c, uint32_t *v, const char *what)
{
    int rc = need(c, 4, what);
    if (rc)
        return rc;
    *v = rd_u32(c->base + c->pos);
    c->pos += 4;
    return 0;
}

static int take_u64(struct cursor *c, uint64_t *v, const char *what)
{
    int rc = need(c, 8, what);
    if (rc)
        return rc;
    *v = rd_u64(c->base + c->pos);
    c->pos += 8;
    return 0;
}

/* A GGUF string: u64 length then bytes. Sets *s to the bytes inside the buffer. */
static int take_str(struct cursor *c, const uint8_t **s, uint64_t *len, const char *what)
{
    if (8 > c->size - c->pos)
        return syn_fail(c->err, SYN_ERR_FORMAT,
                        "%s: %s length at offset %zu needs 8 bytes, runs past end of file (size %zu)", c->src, what,
                        c->pos, c->size);
    *len = rd_u64(c->base + c->pos);
    c->pos += 8;
    if (*len > c->size - c->pos) {
        c->pos -= 8;
        return syn_fail(c->err, SYN_ERR_FORMAT,
                        "%s: %s at offset %zu has length %llu, runs past end of file (size %zu)", c->src, what,
                        c->pos, (unsigned long long)*len, c->size);
    }
    *s = c->base + c->pos;
    c->pos += *len;
    return 0;
}

/* Keys and tensor names are looked up as C strings: an embedded NUL would make
 * two different names print and compare alike. */
static int take_name(struct cursor *c, char **out, size_t *out_len, const char *what)
{
    const uint8_t *s;
    uint64_t len;
    int rc = take_str(c, &s, &len, what);
    if (rc)
        return rc;
    if (memchr(s, 0, len)) {
        char pb[80];
        return syn_fail(c->err, SYN_ERR_FORMAT, "%s: %s '%s' at offset %zu contains a NUL byte", c->src, what,
                        printable(pb, sizeof pb, s, len), (size_t)(s - c->base));
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return syn_fail(c->err, SYN_ERR_NOMEM, "%s: out of memory for a %llu-byte name", c->src,
                        (unsigned long long)len);
    memcpy(copy, s, len);
    copy[len] = '\0';
    *out = copy;
    *out_len = len;
    return 0;
}

static int parse_value(struct cursor *c, struct gguf_kv *kv)
{
    char what[160], pb[80];
    const char *nm = printable(pb, sizeof pb, (const uint8_t *)kv->key, kv->key_len);
    snprintf(what, sizeof what, "key '%s' value", nm);
    if (kv->type == SYN_GGUF_STRING)
        return take_str(c, &kv->val, &kv->n, what);
    if (kv->type != SYN_GGUF_ARRAY) {
        int rc = need(c, vtype_size(kv->type), what);
        if (rc)
            return rc;
        kv->val = c->base + c->pos;
        c->pos += vtype_size(kv->type);
        return 0;
    }

    uint32_t et;
    int rc = take_u32(c, &et, what);
    if (rc)
        return rc;
    if (!vtype_valid(et))
        return syn_fail(c->err, SYN_ERR_FORMAT, "%s: key '%s' is an array of unknown type %u", c->src,
                        nm, et);
    /* The spec allows nested arrays but no known model uses them; refusing keeps
     * every array's elements at a fixed stride or in the string index. */
    if (et == SYN_GGUF_ARRAY)
        return syn_fail(c->err, SYN_ERR_UNSUPPORTED, "%s: key '%s' is a nested array (not supported)", c->src,
                        nm);
    kv->elem_type = (int)et;
    if ((rc = take_u64(c, &kv->n, what)))
        return rc;
    size_t left = c->size - c->pos;
    size_t esz = et == SYN_GGUF_STRING ? 8 : vtype_size((int)et);
    if (kv->n > left / esz)
        return syn_fail(c->err, SYN_ERR_FORMAT,
                        "%s: key '%s' array of %llu elements at offset %zu runs past end of file (size %zu)",
                        c->src, nm, (unsigned long long)kv->n, c->pos, c->size);
    kv->val = c->base + c->pos;
    if (et != SYN_GGUF_STRING) {
        c->pos += kv->n * esz;
        return 0;
    }
    kv->str_pos = malloc((kv->n ? kv->n : 1) * sizeof *kv->str_pos);
    if (!kv->str_pos)
        return syn_fail(c->err, SYN_ERR_NOMEM, "%s: out of memory indexing key '%s' (%llu strings)", c->src,
                        nm, (unsigned long long)kv->n);
    /* Tokenizer arrays hold ~150k strings: the message is only built on failure. */
    for (uint64_t i = 0; i < kv->n; i++) {
        size_t left_now = c->size - c->pos;
        kv->str_pos[i] = c->pos;
        if (left_now >= 8 && rd_u64(c->base + c->pos) <= left_now - 8) {
            c->pos += 8 + rd_u64(c->base + c->pos);
            continue;
        }
        const uint8_t *s;
        uint64_t len;
        snprintf(what, sizeof what, "key '%s' element %llu", nm, (unsigned long long)i);
        return take_str(c, &s, &len, what);
    }
    return 0;
}

static int parse_kvs(syn_gguf *g, struct cursor *c)
{
    int rc;
    for (int64_t i = 0; i < g->n_kv; i++) {
        struct gguf_kv *kv = &g->kvs[i];
        char what[160];
        snprintf(what, sizeof what, "key %lld name", (long long)i);
        if ((rc = take_name(c, &kv->key, &kv->key_len, what)))
            return rc;
        uint32_t type;
        char pb[80];
        const char *nm = printable(pb, sizeof pb, (const uint8_t *)kv->key, kv->key_len);
        snprintf(what, sizeof what, "key '%s' type", nm);
        if ((rc = take_u32(c, &type, what)))
            return rc;
        if (!vtype_valid(type))
            return syn_fail(c->err, SYN_ERR_FORMAT, "%s: key '%s' has unknown value type %u", c->src, nm, type);
        kv->type = (int)type;
        if ((rc = parse_value(c, kv)))
            return rc;
        if (!index_add(g, &g->key_ix, key_name_at, (uint32_t)i))
            return syn_fail(c->err, SYN_ERR_FORMAT, "%s: duplicate key '%s'", c->src, nm);
    }

    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    int64_t ai = index_find(g, &g->key_ix, key_name_at, "general.alignment");
    if (ai >= 0) {
        const struct gguf_kv *kv = &g->kvs[ai];
        if (kv->type != SYN_GGUF_U32)
            return syn_fail(c->err, SYN_ERR_FORMAT, "%s: general.alignment must be a u32 (has type %d)", c->src,
                            kv->type);
        uint32_t a = rd_u32(kv->val);
        if (a == 0 || (a & (a - 1)))
            return syn_fail(c->err, SYN_ERR_FORMAT, "%s: general.alignment %u is not a power of two", c->src, a);
        g->alignment = a;
    }
    return 0;
}

static int parse_tensor_info(syn_gguf *g, struct cursor *c, int64_t i)
{
    syn_gguf_tensor *t = &g->tensors[i];
    char what[160];
    int rc;
    snprintf(what, sizeof what, "tensor %lld name", (long long)i);
    char *name;
    if ((rc = take_name(c, &name, &g->tensor_name_len[i], what)))
        return rc;
    t->name = name;
    char pb[80];
    const char *nm = printable(pb, sizeof pb, (const uint8_t *)t->name, g->tensor_name_len[i]);

    uint32_t n_dims, type;
    snprintf(what, sizeof what, "tensor '%s' n_dims", nm);
    if ((rc = take_u32(c, &n_dims, what)))
        return rc;
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return syn_fail(c->err, SYN_ERR_FORMAT, "%s: tensor '%s' has %u dimensions (must be 1..%d)", c->src, nm,
                        n_dims, GGUF_MAX_DIMS);
    t->n_dims = (int32_t)n_dims;
    for (int d = 0; d < GGUF_MAX_DIMS; d++)
        t->ne[d] = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        uint64_t ne;
        snprintf(what, sizeof what, "tensor '%s' dimension %u", nm, d);
        if ((rc = take_u64(c, &ne, what)))
            return rc;
        if (ne > INT64_MAX)
            return syn_fail(c->err, SYN_ERR_FORMAT, "%s: tensor '%s' dimension %u is %llu (negative or too large)",
                            c->src, nm, d, (unsigned long long)ne);
        t->ne[d] = (int64_t)ne;
    }
    snprintf(what, sizeof what, "tensor '%s' type", nm);
    if ((rc = take_u32(c, &type, what)))
        return rc;
    /* Types in ggml's numbering range may be real files this build cannot run;
     * anything beyond it is garbage. */
    if (type >= SYN_TYPE_COUNT)
        return syn_fail(c->err, SYN_ERR_FORMAT, "%s: tensor '%s' has invalid type %u", c->src, nm, type);
    if (syn_type_block_size((int)type) <= 0)
        return syn_fail(c->err, SYN_ERR_UNSUPPORTED, "%s: tensor '%s' has type %u, which this build does not support",
                        c->src, nm, type);
    t->type = (int32_t)type;
    snprintf(what, sizeof what, "tensor '%s' offset", nm);
    if ((rc = take_u64(c, &t->offset, what)))
        return rc;

    int64_t block = syn_type_block_size(t->type);
    if (t->ne[0] % block)
        return syn_fail(c->err, SYN_ERR_FORMAT, "%s: tensor '%s' row of %lld elements is not a multiple of %s's block of %lld",
                        c->src, nm, (long long)t->ne[0], syn_type_name(t->type), (long long)block);
    int64_t nelem = 1;
    uint64_t bytes = (uint64_t)(t->ne[0] / block) * syn_type_block_bytes(t->type);
    bool overflow = (uint64_t)(t->ne[0] / block) > UINT64_MAX / syn_type_block_bytes(t->type);
    for (int d = 0; d < GGUF_MAX_DIMS; d++) {
        overflow |= __builtin_mul_overflow(nelem, t->ne[d], &nelem);
        if (d > 0)
            overflow |= __builtin_mul_overflow(bytes, (uint64_t)t->ne[d], &bytes);
    }
    if (overflow || bytes > SIZE_MAX)
        return syn_fail(c->err, SYN_ERR_FORMAT, "%s: tensor '%s' shape [%lld, %lld, %lld, %lld] overflows", c->src,
                        nm, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3]);
    t->size = (size_t)bytes;

    if (!index_add(g, &g->tensor_ix, tensor_name_at, (uint32_t)i))
        return syn_fail(c->err, SYN_ERR_FORMAT, "%s: duplicate tensor '%s'", c->src, nm);
    return 0;
}

/* Tensor data must lie inside the file, aligned, after the (aligned) end of the infos. */
static int place_tensors(syn_gguf *g, struct cursor *c)
{
    size_t a = g->alignment;
    g->data_off = c->pos + (a - c->pos % a) % a; /* pos <= size, so this cannot wrap */
    for (int64_t i = 0; i < g->n_tensors; i++) {
        syn_gguf_tensor *t = &g->tensors[i];
        char pb[80];
        const char *nm = printable(pb, sizeof pb, (const uint8_t *)t->name, g->tensor_name_len[i]);
        if (t->offset % a)
            return syn_fail(c->err, SYN_ERR_FORMAT, "%s: tensor '%s' offset %llu is not a multiple of the alignment %zu",
                            c->src, nm, (unsigned long long)t->offset, a);
        uint64_t start, end;
        if (__builtin_add_overflow((uint64_t)g->data_off, t->offset, &start) ||
            __builtin_add_overflow(start, (uint64_t)t->size, &end))
            return syn_fail(c->err, SYN_ERR_FORMAT,
                            "%s: tensor '%s' offset %llu + size %zu runs past end of file (size %zu)", c->src, nm,
                            (unsigned long long)t->offset, t->size, c->size);
        if (end > c->size)
            return syn_fail(c->err, SYN_ERR_FORMAT, "%s: tensor '%s' data [%llu, %llu) runs past end of file (size %zu)",
                            c->src, nm, (unsigned long long)start, (unsigned long long)end, c->size);
        t->data = c->base + start;
    }
    return 0;
}

static int parse(syn_gguf *g, const char *src, syn_error *err)
{
    struct cursor c = {.base = g->base, .size = g->size, .src = src, .err = err};
    int rc;
    if (g->size < 4 || memcmp(g->base, GGUF_MAGIC, 4) != 0)
        return syn_fail(err, SYN_ERR_FORMAT, "%s: not a GGUF file (no 'GGUF' magic at the start)", src);
    c.pos = 4;
    if ((rc = take_u32(&c, &g->version, "version")))
        return rc;
    if (g->version == 1)
        return syn_fail(err, SYN_ERR_UNSUPPORTED,
                        "%s: GGUF version 1 is not supported (re-convert the model with a current llama.cpp)", src);
    if (g->version != 2 && g->version != 3) {
        if ((g->version & 0xffff) == 0 && (g->version >> 16) != 0)
            return syn_fail(err, SYN_ERR_UNSUPPORTED, "%s: big-endian GGUF files are not supported", src);
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "%s: GGUF version %u is not supported (this build reads 2 and 3)",
                        src, g->version);
    }

    uint64_t n_tensors, n_kv;
    if ((rc = take_u64(&c, &n_tensors, "tensor count")) || (rc = take_u64(&c, &n_kv, "key count")))
        return rc;
    size_t left = c.size - c.pos;
    if (n_kv > GGUF_MAX_ENTRIES || n_kv > left / GGUF_MIN_KV_BYTES)
        return syn_fail(err, SYN_ERR_FORMAT, "%s: header claims %llu keys, more than a file of %zu bytes can hold",
                        src, (unsigned long long)n_kv, c.size);
    if (n_tensors > GGUF_MAX_ENTRIES || n_tensors > left / GGUF_MIN_TENSOR_BYTES)
        return syn_fail(err, SYN_ERR_FORMAT,
                        "%s: header claims %llu tensors, more than a file of %zu bytes can hold", src,
                        (unsigned long long)n_tensors, c.size);
    g->n_kv = (int64_t)n_kv;
    g->n_tensors = (int64_t)n_tensors;
    g->kvs = calloc(n_kv ? n_kv : 1, sizeof *g->kvs);
    g->tensors = calloc(n_tensors ? n_tensors : 1, sizeof *g->tensors);
    g->tensor_name_len = calloc(n_tensors ? n_tensors : 1, sizeof *g->tensor_name_len);
    if (!g->kvs || !g->tensors || !g->tensor_name_len || index_init(&g->key_ix, n_kv) ||
        index_init(&g->tensor_ix, n_tensors))
        return syn_fail(err, SYN_ERR_NOMEM, "%s: out of memory for %llu keys and %llu tensors", src,
                        (unsigned long long)n_kv, (unsigned long long)n_tensors);

    if ((rc = parse_kvs(g, &c)))
        return rc;
    for (int64_t i = 0; i < g->n_tensors; i++)
        if ((rc = parse_tensor_info(g, &c, i)))
            return rc;
    return place_tensors(g, &c);
}

/* ------------------------------------------------------------ open/close */

static int open_common(syn_gguf *g, const char *src, syn_gguf **out, syn_error *err)
{
    int rc = parse(g, src, err);
    if (rc) {
        syn_gguf_close(g);
        return rc;
    }
    *out = g;
    return 0;
}

int syn_gguf_open_memory(const void *data, size_t size, syn_gguf **out, syn_error *err)
{
    *out = NULL;
    if (!data && size)
        return syn_fail(err, SYN_ERR_INVALID, "<memory>: NULL buffer of %zu bytes", size);
    syn_gguf *g = calloc(1, sizeof *g);
    if (!g)
        return syn_fail(err, SYN_ERR_NOMEM, "<memory>: out of memory");
    g->base = data ? data : (const uint8_t *)"";
    g->size = size;
    return open_common(g, "<memory>", out, err);
}

int syn_gguf_open(const char *path, syn_gguf **out, syn_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return syn_fail(err, SYN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return syn_fail(err, SYN_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return syn_fail(err, SYN_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return syn_fail(err, SYN_ERR_RANGE, "%s: too large to map (%lld bytes)", path, (long long)st.st_size);
    }
    size_t size = (size_t)st.st_size;
    if (size == 0) {
        close(fd);
        return syn_fail(err, SYN_ERR_FORMAT, "%s: not a GGUF file (empty)", path);
    }
    void *map = syn_map_file(fd, size);
    int e = errno;
    close(fd); /* the mapping keeps the file alive */
    if (map == MAP_FAILED)
        return syn_fail(err, SYN_ERR_IO, "%s: cannot map %zu bytes: %s", path, size, strerror(e));
    syn_gguf *g = calloc(1, sizeof *g);
    if (!g) {
        munmap(map, size);
        return syn_fail(err, SYN_ERR_NOMEM, "%s: out of memory", path);
    }
    g->base = map;
    g->size = size;
    g->mapped = true;
    return open_common(g, path, out, err);
}

void syn_gguf_close(syn_gguf *g)
{
    if (!g)
        return;
    if (g->kvs)
        for (int64_t i = 0; i < g->n_kv; i++) {
            free(g->kvs[i].key);
            free(g->kvs[i].str_pos);
        }
    if (g->tensors)
        for (int64_t i = 0; i < g->n_tensors; i++)
            free((char *)g->tensors[i].name);
    free(g->kvs);
    free(g->tensors);
    free(g->tensor_name_len);
    free(g->key_ix.slots);
    free(g->tensor_ix.slots);
    if (g->mapped)
        munmap((void *)g->base, g->size);
    free(g);
}

/* ------------------------------------------------------------ getters */

uint32_t syn_gguf_version(const syn_gguf *g) { return g->version; }

const void *syn_gguf_base(const syn_gguf *g, size_t *size)
{
    if (size)
        *size = g->size;
    return g->base;
}

uint32_t syn_gguf_alignment(const syn_gguf *g) { return g->alignment; }

size_t syn_gguf_data_offset(const syn_gguf *g) { return g->data_off; }

int64_t syn_gguf_n_kv(const syn_gguf *g) { return g->n_kv; }

int64_t syn_gguf_find_key(const syn_gguf *g, const char *key) { return index_find(g, &g->key_ix, key_name_at, key); }

const char *syn_gguf_key_name(const syn_gguf *g, int64_t idx)
{
    return idx >= 0 && idx < g->n_kv ? g->kvs[idx].key : NULL;
}

int syn_gguf_key_type(const syn_gguf *g, int64_t idx)
{
    return idx >= 0 && idx < g->n_kv ? g->kvs[idx].type : SYN_ERR_NOT_FOUND;
}

const void *syn_gguf_key_data(const syn_gguf *g, int64_t idx)
{
    if (idx < 0 || idx >= g->n_kv || !vtype_size(g->kvs[idx].type))
        return NULL;
    return g->kvs[idx].val;
}

static const struct gguf_kv *kv_get(const syn_gguf *g, const char *key)
{
    int64_t i = syn_gguf_find_key(g, key);
    return i < 0 ? NULL : &g->kvs[i];
}

/* Integer values widened to a sign flag and magnitude-preserving pair, so every
 * getter can range-check without caring about the stored width. */
static int kv_int(const struct gguf_kv *kv, int64_t *si, uint64_t *ui, bool *is_signed)
{
    const uint8_t *p = kv->val;
    *is_signed = true;
    switch (kv->type) {
    case SYN_GGUF_U8: *ui = p[0]; *is_signed = false; break;
    case SYN_GGUF_I8: *si = (int8_t)p[0]; break;
    case SYN_GGUF_U16: *ui = (uint16_t)(p[0] | p[1] << 8); *is_signed = false; break;
    case SYN_GGUF_I16: *si = (int16_t)(uint16_t)(p[0] | p[1] << 8); break;
    case SYN_GGUF_U32: *ui = rd_u32(p); *is_signed = false; break;
    case SYN_GGUF_I32: *si = (int32_t)rd_u32(p); break;
    case SYN_GGUF_U64: *ui = rd_u64(p); *is_signed = false; break;
    case SYN_GGUF_I64: *si = (int64_t)rd_u64(p); break;
    default: return SYN_ERR_FORMAT;
    }
    if (*is_signed)
        *ui = *si < 0 ? 0 : (uint64_t)*si;
    else
        *si = *ui > INT64_MAX ? INT64_MAX : (int64_t)*ui;
    return 0;
}

/* The integer value of key, whatever its integer type (see kv_int). */
static int key_int(const syn_gguf *g, const char *key, int64_t *si, uint64_t *ui, bool *sgn)
{
    const struct gguf_kv *kv = kv_get(g, key);
    if (!kv)
        return SYN_ERR_NOT_FOUND;
    return kv_int(kv, si, ui, sgn) ? SYN_ERR_FORMAT : 0;
}

int syn_gguf_get_u32(const syn_gguf *g, const char *key, uint32_t *out)
{
    int64_t si;
    uint64_t ui;
    bool sgn;
    int rc = key_int(g, key, &si, &ui, &sgn);
    if (rc)
        return rc;
    if ((sgn && si < 0) || ui > UINT32_MAX)
        return SYN_ERR_RANGE;
    *out = (uint32_t)ui;
    return 0;
}

int syn_gguf_get_i64(const syn_gguf *g, const char *key, int64_t *out)
{
    int64_t si;
    uint64_t ui;
    bool sgn;
    int rc = key_int(g, key, &si, &ui, &sgn);
    if (rc)
        return rc;
    if (!sgn && ui > INT64_MAX)
        return SYN_ERR_RANGE;
    *out = si;
    return 0;
}

int syn_gguf_get_u64(const syn_gguf *g, const char *key, uint64_t *out)
{
    int64_t si;
    uint64_t ui;
    bool sgn;
    int rc = key_int(g, key, &si, &ui, &sgn);
    if (rc)
        return rc;
    if (sgn && si < 0)
        return SYN_ERR_RANGE;
    *out = ui;
    return 0;
}

int syn_gguf_get_f32(const syn_gguf *g, const char *key, float *out)
{
    double d;
    int rc = syn_gguf_get_f64(g, key, &d);
    if (rc == 0)
        *out = (float)d;
    return rc;
}

int syn_gguf_get_f64(const syn_gguf *g, const char *key, double *out)
{
    const struct gguf_kv *kv = kv_get(g, key);
    if (!kv)
        return SYN_ERR_NOT_FOUND;
    if (kv->type == SYN_GGUF_F32) {
        uint32_t u = rd_u32(kv->val);
        float f;
        memcpy(&f, &u, 4);
        *out = f;
    } else if (kv->type == SYN_GGUF_F64) {
        uint64_t u = rd_u64(kv->val);
        memcpy(out, &u, 8);
    } else {
        return SYN_ERR_FORMAT;
    }
    return 0;
}

int syn_gguf_get_bool(const syn_gguf *g, const char *key, bool *out)
{
    const struct gguf_kv *kv = kv_get(g, key);
    if (!kv)
        return SYN_ERR_NOT_FOUND;
    if (kv->type != SYN_GGUF_BOOL)
        return SYN_ERR_FORMAT;
    *out = kv->val[0] != 0;
    return 0;
}

int syn_gguf_get_str(const syn_gguf *g, const char *key, syn_gguf_str *out)
{
    const struct gguf_kv *kv = kv_get(g, key);
    if (!kv)
        return SYN_ERR_NOT_FOUND;
    if (kv->type != SYN_GGUF_STRING)
        return SYN_ERR_FORMAT;
    out->s = (const char *)kv->val;
    out->len = kv->n;
    return 0;
}

int syn_gguf_arr_at(const syn_gguf *g, int64_t idx, int *elem_type, uint64_t *n, const void **data)
{
    if (idx < 0 || idx >= g->n_kv)
        return SYN_ERR_NOT_FOUND;
    const struct gguf_kv *kv = &g->kvs[idx];
    if (kv->type != SYN_GGUF_ARRAY)
        return SYN_ERR_FORMAT;
    if (elem_type)
        *elem_type = kv->elem_type;
    if (n)
        *n = kv->n;
    if (data)
        *data = kv->val;
    return 0;
}

int syn_gguf_arr_str_at(const syn_gguf *g, int64_t idx, uint64_t i, syn_gguf_str *out)
{
    if (idx < 0 || idx >= g->n_kv)
        return SYN_ERR_NOT_FOUND;
    const struct gguf_kv *kv = &g->kvs[idx];
    if (kv->type != SYN_GGUF_ARRAY || kv->elem_type != SYN_GGUF_STRING)
        return SYN_ERR_FORMAT;
    if (i >= kv->n)
        return SYN_ERR_RANGE;
    const uint8_t *p = g->base + kv->str_pos[i];
    out->len = rd_u64(p);
    out->s = (const char *)p + 8;
    return 0;
}

int syn_gguf_get_arr(const syn_gguf *g, const char *key, int *elem_type, uint64_t *n, const void **data)
{
    return syn_gguf_arr_at(g, syn_gguf_find_key(g, key), elem_type, n, data);
}

int syn_gguf_get_arr_str(const syn_gguf *g, const char *key, uint64_t i, syn_gguf_str *out)
{
    return syn_gguf_arr_str_at(g, syn_gguf_find_key(g, key), i, out);
}

int64_t syn_gguf_n_tensors(const syn_gguf *g) { return g->n_tensors; }

int64_t syn_gguf_find_tensor(const syn_gguf *g, const char *name)
{
    return index_find(g, &g->tensor_ix, tensor_name_at, name);
}

const syn_gguf_tensor *syn_gguf_tensor_at(const syn_gguf *g, int64_t idx)
{
    return idx >= 0 && idx < g->n_tensors ? &g->tensors[idx] : NULL;
}
