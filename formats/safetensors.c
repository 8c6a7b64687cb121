/* safetensors reader: maps a file (or borrows a caller's buffer), parses the
 * JSON header with the engine's strict parser, checks every tensor's dtype,
 * shape and offsets against the file, and indexes names for O(1) lookup.
 * The rules are those of the reference implementation (huggingface/
 * safetensors, Metadata::validate): sorted by data_offsets, the tensors must
 * tile the data region exactly, from 0 to its end. A syn_st is immutable
 * after open; any thread may read it, one thread must close it. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <synapse/safetensors.h>
#include "formats/safetensors_internal.h"
#include "formats/file_map.h"
#include "formats/json_value.h"

/* the reference's MAX_HEADER_SIZE */
#define ST_MAX_HEADER 100000000u
#define ST_METADATA_KEY "__metadata__"

/* ------------------------------------------------------------ dtypes */

static const struct {
    const char *name;
    int bits;
} dtypes[SYN_ST_DTYPE_COUNT] = {
    [SYN_ST_BOOL] = {"BOOL", 8},
    [SYN_ST_U8] = {"U8", 8},
    [SYN_ST_I8] = {"I8", 8},
    [SYN_ST_U16] = {"U16", 16},
    [SYN_ST_I16] = {"I16", 16},
    [SYN_ST_F16] = {"F16", 16},
    [SYN_ST_BF16] = {"BF16", 16},
    [SYN_ST_U32] = {"U32", 32},
    [SYN_ST_I32] = {"I32", 32},
    [SYN_ST_F32] = {"F32", 32},
    [SYN_ST_U64] = {"U64", 64},
    [SYN_ST_I64] = {"I64", 64},
    [SYN_ST_F64] = {"F64", 64},
    [SYN_ST_F8_E4M3] = {"F8_E4M3", 8},
    [SYN_ST_F8_E5M2] = {"F8_E5M2", 8},
    [SYN_ST_F8_E8M0] = {"F8_E8M0", 8},
    [SYN_ST_F8_E4M3FNUZ] = {"F8_E4M3FNUZ", 8},
    [SYN_ST_F8_E5M2FNUZ] = {"F8_E5M2FNUZ", 8},
    [SYN_ST_F4] = {"F4", 4},
    [SYN_ST_F6_E2M3] = {"F6_E2M3", 6},
    [SYN_ST_F6_E3M2] = {"F6_E3M2", 6},
    [SYN_ST_C64] = {"C64", 64},
};

const char *syn_st_dtype_name(int dtype)
{
    return dtype >= 0 && dtype < SYN_ST_DTYPE_COUNT ? dtypes[dtype].name : NULL;
}

int syn_st_dtype_bits(int dtype) { return dtype >= 0 && dtype < SYN_ST_DTYPE_COUNT ? dtypes[dtype].bits : 0; }

int syn_st_dtype_from_name(const char *name)
{
    if (name)
        for (int i = 0; i < SYN_ST_DTYPE_COUNT; i++)
            if (strcmp(dtypes[i].name, name) == 0)
                return i;
    return -1;
}

/* ------------------------------------------------------------ the handle */

struct syn_st {
    const uint8_t *base;
    size_t size;
    bool mapped;
    size_t data_off;
    int64_t n_tensors;
    syn_st_tensor *tensors;
    int64_t n_meta;
    syn_st_kv *meta;
    char *strings; /* names, metadata keys and values */
    uint32_t *slots; /* open addressing, tensor index + 1 */
    uint64_t mask;
};

static uint64_t hash_name(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

static int64_t find_slot(const syn_st *st, const char *name, uint32_t **slot)
{
    uint64_t i = hash_name(name) & st->mask;
    for (;;) {
        uint32_t *s = &st->slots[i];
        if (!*s || strcmp(st->tensors[*s - 1].name, name) == 0) {
            *slot = s;
            return (int64_t)*s - 1;
        }
        i = (i + 1) & st->mask;
    }
}

/* ------------------------------------------------------------ parsing */

struct ctx {
    const char *src; /* file name for messages */
    syn_error *err;
};

static void shape_str(char *buf, size_t cap, const int64_t *shape, int n_dims)
{
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < n_dims && k < cap; d++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (k < cap)
        snprintf(buf + k, cap - k, "]");
}

/* "a string", "an array", "null": a JSON kind in a sentence. */
static const char *kind_phrase(const syn_json *v)
{
    switch (syn_json_kind_of(v)) {
    case SYN_JSON_NULL: return "null";
    case SYN_JSON_BOOL: return "a boolean";
    case SYN_JSON_NUMBER: return "a number";
    case SYN_JSON_STRING: return "a string";
    case SYN_JSON_ARRAY: return "an array";
    case SYN_JSON_OBJECT: return "an object";
    default: return "absent";
    }
}

/* One non-negative integer of a shape or data_offsets array. */
static int take_uint(const struct ctx *c, const char *tname, const char *field, size_t i, const syn_json *v,
                     uint64_t *out)
{
    int64_t x;
    int rc = syn_json_int64(v, &x);
    if (rc == SYN_ERR_RANGE)
        return syn_fail(c->err, SYN_ERR_FORMAT, "%s: tensor '%s': %s[%zu] at header byte %zu is out of range", c->src,
                        tname, field, i, syn_json_offset(v));
    if (rc)
        return syn_fail(c->err, SYN_ERR_FORMAT, "%s: tensor '%s': %s[%zu] at header byte %zu is %s, not an integer",
                        c->src, tname, field, i, syn_json_offset(v),
                        syn_json_kind_of(v) == SYN_JSON_NUMBER ? "a fraction or exponent" : kind_phrase(v));
    if (x < 0)
        return syn_fail(c->err, SYN_ERR_FORMAT, "%s: tensor '%s': %s[%zu] is %lld, negative", c->src, tname, field, i,
                        (long long)x);
    *out = (uint64_t)x;
    return 0;
}

static const syn_json *field(const struct ctx *c, const char *tname, const syn_json *entry, const char *name,
                             int kind, int *rc)
{
    const syn_json *v = syn_json_get(entry, name);
    if (!v)
        *rc = syn_fail(c->err, SYN_ERR_FORMAT, "%s: tensor '%s': missing field \"%s\"", c->src, tname, name);
    else if (syn_json_kind_of(v) != kind)
        *rc = syn_fail(c->err, SYN_ERR_FORMAT, "%s: tensor '%s': %s at header byte %zu is %s, not %s", c->src, tname,
                       name, syn_json_offset(v), kind_phrase(v), kind == SYN_JSON_ARRAY ? "an array" : "a string");
    else
        return v;
    return NULL;
}

/* Checks one tensor entry and fills t (name and data pointer excepted);
 * *end receives data_offsets[1]. */
static int parse_tensor(const struct ctx *c, const char *name, const syn_json *entry, size_t data_size,
                        syn_st_tensor *t, uint64_t *end)
{
    char nb[72];
    const char *tname = syn_st_printable(nb, sizeof nb, name);
    if (syn_json_kind_of(entry) != SYN_JSON_OBJECT)
        return syn_fail(c->err, SYN_ERR_FORMAT, "%s: tensor '%s': entry at header byte %zu is %s, not an object",
                        c->src, tname, syn_json_offset(entry), kind_phrase(entry));
    int rc = 0;
    const syn_json *dt = field(c, tname, entry, "dtype", SYN_JSON_STRING, &rc);
    if (!dt)
        return rc;
    const syn_json *shape = field(c, tname, entry, "shape", SYN_JSON_ARRAY, &rc);
    if (!shape)
        return rc;
    const syn_json *offs = field(c, tname, entry, "data_offsets", SYN_JSON_ARRAY, &rc);
    if (!offs)
        return rc;

    const char *dname;
    syn_json_string(dt, &dname, NULL);
    t->dtype = syn_st_dtype_from_name(dname);
    if (t->dtype < 0) {
        char db[40];
        return syn_fail(c->err, SYN_ERR_UNSUPPORTED, "%s: tensor '%s': unknown dtype \"%s\"", c->src, tname,
                        syn_st_printable(db, sizeof db, dname));
    }

    size_t rank = syn_json_len(shape);
    if (rank > SYN_ST_MAX_DIMS)
        return syn_fail(c->err, SYN_ERR_UNSUPPORTED, "%s: tensor '%s': shape has %zu dimensions, more than %d", c->src,
                        tname, rank, SYN_ST_MAX_DIMS);
    t->n_dims = (int32_t)rank;
    uint64_t nel = 1;
    bool overflow = false;
    for (size_t d = 0; d < SYN_ST_MAX_DIMS; d++) {
        uint64_t x = 1;
        if (d < rank && (rc = take_uint(c, tname, "shape", d, syn_json_at(shape, d), &x)))
            return rc;
        t->shape[d] = (int64_t)x;
        if (x && nel > UINT64_MAX / x)
            overflow = true;
        nel *= x;
    }
    char sb[200];
    shape_str(sb, sizeof sb, t->shape, t->n_dims);
    uint64_t bits = (uint64_t)syn_st_dtype_bits(t->dtype);
    if (overflow || (nel && nel > UINT64_MAX / bits))
        return syn_fail(c->err, SYN_ERR_FORMAT, "%s: tensor '%s': shape %s has too many elements (overflow)", c->src,
                        tname, sb);
    if (nel * bits % 8)
        return syn_fail(c->err, SYN_ERR_FORMAT, "%s: tensor '%s': %llu elements of %s do not fill whole bytes", c->src,
                        tname, (unsigned long long)nel, dname);
    uint64_t need = nel * bits / 8;

    if (syn_json_len(offs) != 2)
        return syn_fail(c->err, SYN_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets at header byte %zu has %zu elements, not 2 [begin, end]", c->src,
                        tname, syn_json_offset(offs), syn_json_len(offs));
    uint64_t begin, e;
    if ((rc = take_uint(c, tname, "data_offsets", 0, syn_json_at(offs, 0), &begin)) ||
        (rc = take_uint(c, tname, "data_offsets", 1, syn_json_at(offs, 1), &e)))
        return rc;
    if (begin > e)
        return syn_fail(c->err, SYN_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] are reversed (begin > end)",
                        c->src, tname, (unsigned long long)begin, (unsigned long long)e);
    if (e > data_size)
        return syn_fail(c->err, SYN_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets [%llu, %llu] run past the end of the data region (%zu bytes)",
                        c->src, tname, (unsigned long long)begin, (unsigned long long)e, data_size);
    if (e - begin != need)
        return syn_fail(c->err, SYN_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but %s %s needs %llu", c->src,
                        tname, (unsigned long long)begin, (unsigned long long)e, (unsigned long long)(e - begin),
                        dname, sb, (unsigned long long)need);
    t->offset = begin;
    t->size = (size_t)need;
    *end = e;
    return 0;
}

struct span {
    uint64_t begin, end;
    size_t idx; /* in header order */
};

static int span_cmp(const void *pa, const void *pb)
{
    const struct span *a = pa, *b = pb;
    if (a->begin != b->begin)
        return a->begin < b->begin ? -1 : 1;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

/* Sorted by offsets, the tensors must tile [0, data_size) exactly. Reorders
 * tmp (header order) into st->tensors (data order). */
static int check_tiling(const struct ctx *c, syn_st *st, const syn_st_tensor *tmp, struct span *sp, size_t n,
                        size_t data_size)
{
    qsort(sp, n, sizeof *sp, span_cmp);
    uint64_t at = 0;
    char nb[72], pb[72];
    for (size_t i = 0; i < n; i++) {
        const syn_st_tensor *t = &tmp[sp[i].idx];
        if (sp[i].begin < at) {
            const syn_st_tensor *p = &tmp[sp[i - 1].idx];
            return syn_fail(c->err, SYN_ERR_FORMAT,
                            "%s: tensor '%s': data_offsets [%llu, %llu] overlap tensor '%s' [%llu, %llu]", c->src,
                            syn_st_printable(nb, sizeof nb, t->name), (unsigned long long)sp[i].begin,
                            (unsigned long long)sp[i].end, syn_st_printable(pb, sizeof pb, p->name),
                            (unsigned long long)sp[i - 1].begin, (unsigned long long)sp[i - 1].end);
        }
        if (sp[i].begin > at)
            return syn_fail(c->err, SYN_ERR_FORMAT,
                            "%s: bytes [%llu, %llu) of the data region belong to no tensor (a gap before tensor '%s')",
                            c->src, (unsigned long long)at, (unsigned long long)sp[i].begin,
                            syn_st_printable(nb, sizeof nb, t->name));
        at = sp[i].end;
        st->tensors[i] = *t;
    }
    if (at != data_size) {
        if (n)
            return syn_fail(c->err, SYN_ERR_FORMAT,
                            "%s: the tensors cover %llu of the %zu bytes of the data region (trailing bytes after "
                            "tensor '%s')",
                            c->src, (unsigned long long)at, data_size, syn_st_printable(nb, sizeof nb, tmp[sp[n - 1].idx].name));
        return syn_fail(c->err, SYN_ERR_FORMAT, "%s: no tensors, but a data region of %zu bytes", c->src, data_size);
    }
    return 0;
}

static int parse_metadata(const struct ctx *c, const syn_json *m, size_t *n_out, size_t *bytes)
{
    int kind = syn_json_kind_of(m);
    *n_out = 0;
    if (kind == SYN_JSON_NULL) /* the reference reads null as no metadata */
        return 0;
    if (kind != SYN_JSON_OBJECT)
        return syn_fail(c->err, SYN_ERR_FORMAT, "%s: %s at header byte %zu is %s, not an object of strings", c->src,
                        ST_METADATA_KEY, syn_json_offset(m), kind_phrase(m));
    for (size_t i = 0; i < syn_json_len(m); i++) {
        size_t kl, vl;
        const char *k = syn_json_key_at(m, i, &kl), *v;
        const syn_json *val = syn_json_at(m, i);
        if (syn_json_string(val, &v, &vl) != 0) {
            char kb[72];
            return syn_fail(c->err, SYN_ERR_FORMAT, "%s: %s: value of \"%s\" at header byte %zu is %s, not a string",
                            c->src, ST_METADATA_KEY, syn_st_printable(kb, sizeof kb, k), syn_json_offset(val),
                            kind_phrase(val));
        }
        *bytes += kl + vl + 2;
    }
    *n_out = syn_json_len(m);
    return 0;
}

static int parse(syn_st *st, const char *src, syn_error *err)
{
    struct ctx c = {src, err};
    if (st->size < 8)
        return syn_fail(err, SYN_ERR_FORMAT, "%s: file is %zu bytes, too short for the 8-byte header length", src,
                        st->size);
    const uint8_t *p = st->base;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | p[i];
    if (n == 0)
        return syn_fail(err, SYN_ERR_FORMAT, "%s: header length is 0 (the header must be a JSON object)", src);
    if (n > ST_MAX_HEADER)
        return syn_fail(err, SYN_ERR_FORMAT, "%s: header length %llu is over the limit of %u bytes", src,
                        (unsigned long long)n, ST_MAX_HEADER);
    if (n > st->size - 8)
        return syn_fail(err, SYN_ERR_FORMAT,
                        "%s: header length %llu runs past the end of the file (%zu bytes after the length field)", src,
                        (unsigned long long)n, st->size - 8);
    st->data_off = 8 + (size_t)n;
    size_t data_size = st->size - st->data_off;

    syn_json_doc *doc;
    syn_json_limits lim = {.max_bytes = ST_MAX_HEADER};
    int rc = syn_json_parse((const char *)p + 8, (size_t)n, &lim, &doc, err);
    if (rc) {
        char pre[600];
        snprintf(pre, sizeof pre, "%s: JSON header", src);
        syn_error_prefix(err, pre);
        if (rc == SYN_ERR_RANGE) { /* over a parser limit: malformed as a file */
            rc = SYN_ERR_FORMAT;
            if (err)
                err->code = rc;
        }
        return rc;
    }
    const syn_json *root = syn_json_root(doc);
    if (syn_json_kind_of(root) != SYN_JSON_OBJECT) {
        int k = syn_json_kind_of(root);
        syn_json_free(doc);
        return syn_fail(err, SYN_ERR_FORMAT, "%s: header is a JSON %s, not an object", src, syn_json_kind_name(k));
    }

    /* sizes first: one allocation for every string */
    size_t n_members = syn_json_len(root), n_t = 0, n_m = 0, bytes = 0;
    const syn_json *meta = syn_json_get(root, ST_METADATA_KEY);
    if (meta && (rc = parse_metadata(&c, meta, &n_m, &bytes))) {
        syn_json_free(doc);
        return rc;
    }
    for (size_t i = 0; i < n_members; i++) {
        size_t kl;
        syn_json_key_at(root, i, &kl);
        if (syn_json_at(root, i) != meta) {
            n_t++;
            bytes += kl + 1;
        }
    }
    syn_st_tensor *tmp = calloc(n_t ? n_t : 1, sizeof *tmp);
    struct span *sp = calloc(n_t ? n_t : 1, sizeof *sp);
    st->tensors = calloc(n_t ? n_t : 1, sizeof *st->tensors);
    st->meta = calloc(n_m ? n_m : 1, sizeof *st->meta);
    st->strings = malloc(bytes ? bytes : 1);
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)n_t)
        cap <<= 1;
    st->slots = calloc(cap, sizeof *st->slots);
    st->mask = cap - 1;
    if (!tmp || !sp || !st->tensors || !st->meta || !st->strings || !st->slots) {
        rc = syn_fail(err, SYN_ERR_NOMEM, "%s: out of memory for %zu tensors", src, n_t);
        goto done;
    }

    char *out = st->strings;
    size_t t = 0;
    for (size_t i = 0; i < n_members; i++) {
        const syn_json *v = syn_json_at(root, i);
        if (v == meta)
            continue;
        size_t kl;
        const char *name = syn_json_key_at(root, i, &kl);
        memcpy(out, name, kl + 1);
        tmp[t].name = out;
        out += kl + 1;
        if ((rc = parse_tensor(&c, name, v, data_size, &tmp[t], &sp[t].end)))
            goto done;
        sp[t].begin = tmp[t].offset;
        sp[t].idx = t;
        t++;
    }
    for (size_t i = 0; i < n_m; i++) {
        size_t kl, vl;
        const char *k = syn_json_key_at(meta, i, &kl), *v;
        syn_json_string(syn_json_at(meta, i), &v, &vl);
        memcpy(out, k, kl + 1);
        st->meta[i].key = out;
        out += kl + 1;
        memcpy(out, v, vl + 1);
        st->meta[i].value = out;
        out += vl + 1;
    }
    st->n_meta = (int64_t)n_m;
    if ((rc = check_tiling(&c, st, tmp, sp, n_t, data_size)))
        goto done;
    st->n_tensors = (int64_t)n_t;
    for (size_t i = 0; i < n_t; i++) {
        syn_st_tensor *x = &st->tensors[i];
        x->data = st->base + st->data_off + x->offset;
        uint32_t *slot;
        find_slot(st, x->name, &slot); /* names are unique: the JSON parser refuses duplicate keys */
        *slot = (uint32_t)i + 1;
    }
done:
    free(tmp);
    free(sp);
    syn_json_free(doc);
    return rc;
}

static int open_common(syn_st *st, const char *src, syn_st **out, syn_error *err)
{
    int rc = parse(st, src, err);
    if (rc) {
        syn_st_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

int syn_st_open_memory(const void *data, size_t size, syn_st **out, syn_error *err)
{
    *out = NULL;
    if (!data && size)
        return syn_fail(err, SYN_ERR_INVALID, "<memory>: no buffer");
    syn_st *st = calloc(1, sizeof *st);
    if (!st)
        return syn_fail(err, SYN_ERR_NOMEM, "<memory>: out of memory");
    st->base = data ? data : (const uint8_t *)"";
    st->size = size;
    return open_common(st, "<memory>", out, err);
}

int syn_st_open(const char *path, syn_st **out, syn_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return syn_fail(err, SYN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return syn_fail(err, SYN_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return syn_fail(err, SYN_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return syn_fail(err, SYN_ERR_RANGE, "%s: too large to map (%lld bytes)", path, (long long)sb.st_size);
    }
    size_t size = (size_t)sb.st_size;
    if (size < 8) { /* nothing worth mapping; parse() words the refusal */
        close(fd);
        syn_st tiny = {.base = (const uint8_t *)"", .size = size};
        return parse(&tiny, path, err);
    }
    void *map = syn_map_file(fd, size);
    int e = errno;
    close(fd); /* the mapping keeps the file alive */
    if (map == MAP_FAILED)
        return syn_fail(err, SYN_ERR_IO, "%s: cannot map %zu bytes: %s", path, size, strerror(e));
    syn_st *st = calloc(1, sizeof *st);
    if (!st) {
        munmap(map, size);
        return syn_fail(err, SYN_ERR_NOMEM, "%s: out of memory", path);
    }
    st->base = map;
    st->size = size;
    st->mapped = true;
    return open_common(st, path, out, err);
}

void syn_st_close(syn_st *st)
{
    if (!st)
        return;
    free(st->tensors);
    free(st->meta);
    free(st->strings);
    free(st->slots);
    if (st->mapped)
        munmap((void *)st->base, st->size);
    free(st);
}

/* ------------------------------------------------------------ getters */

const void *syn_st_base(const syn_st *st, size_t *size)
{
    if (size)
        *size = st->size;
    return st->base;
}

size_t syn_st_data_offset(const syn_st *st) { return st->data_off; }

int64_t syn_st_n_tensors(const syn_st *st) { return st->n_tensors; }

const syn_st_tensor *syn_st_tensor_at(const syn_st *st, int64_t idx)
{
    return idx >= 0 && idx < st->n_tensors ? &st->tensors[idx] : NULL;
}

int64_t syn_st_find(const syn_st *st, const char *name)
{
    if (!name || !st->slots)
        return -1;
    uint32_t *slot;
    return find_slot(st, name, &slot);
}

const char *syn_st_metadata(const syn_st *st, const char *key)
{
    if (key)
        for (int64_t i = 0; i < st->n_meta; i++)
            if (strcmp(st->meta[i].key, key) == 0)
                return st->meta[i].value;
    return NULL;
}

int64_t syn_st_n_metadata(const syn_st *st) { return st->n_meta; }

const syn_st_kv *syn_st_metadata_at(const syn_st *st, int64_t idx)
{
    return idx >= 0 && idx < st->n_meta ? &st->meta[idx] : NULL;
}

const char *syn_st_printable(char *buf, size_t cap, const char *s)
{
    size_t max = cap - 4, k = 0, n = strlen(s);
    for (size_t i = 0; i < n && k < max; i++)
        buf[k++] = ((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f) ? s[i] : '?';
    if (n > max)
        memcpy(buf + k, "...", 3), k += 3;
    buf[k] = '\0';
    return buf;
}

