/* safetensors writer: checks the caller's tensors and metadata, lays the
 * tensors out by decreasing element size then name (as the reference writer
 * does, so each starts aligned to its element size), writes the JSON header
 * padded with spaces to a multiple of 8, then the data; to a file through a
 * temporary and a rename, or to one malloc'ed buffer. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <synapse/safetensors.h>
#include "formats/grow.h"
#include "formats/safetensors_internal.h"

#define ST_MAX_HEADER 100000000u
#define ST_METADATA_KEY "__metadata__"

/* ------------------------------------------------------------ helpers */

struct strbuf {
    char *p;
    size_t n, cap;
    bool oom;
};

static void sb_add(struct strbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    void *p = b->p;
    if (syn_grow(&p, &b->cap, b->n + n + 1, 256)) {
        b->oom = true;
        return;
    }
    b->p = p;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_str(struct strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* s as a JSON string: quotes, backslashes and control characters escaped;
 * s is valid UTF-8 (checked by the caller), copied as is. */
static void sb_json_str(struct strbuf *b, const char *s)
{
    sb_add(b, "\"", 1);
    for (const char *run = s;; s++) {
        unsigned char c = (unsigned char)*s;
        if (c && c != '"' && c != '\\' && c >= 0x20)
            continue;
        sb_add(b, run, (size_t)(s - run));
        if (!c)
            break;
        char esc[8];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else if (c == '\n')
            snprintf(esc, sizeof esc, "\\n");
        else if (c == '\t')
            snprintf(esc, sizeof esc, "\\t");
        else if (c == '\r')
            snprintf(esc, sizeof esc, "\\r");
        else
            snprintf(esc, sizeof esc, "\\u%04x", c);
        sb_str(b, esc);
        run = s + 1;
    }
    sb_add(b, "\"", 1);
}

/* Well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code points
 * past U+10FFFF): what the reader's JSON parser accepts in a string. */
static bool utf8_valid(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned char c = *s;
        size_t len;
        unsigned char lo = 0x80, hi = 0xbf;
        if (c < 0x80) {
            s++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            len = 2;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        else
            return false;
        if (s[1] < lo || s[1] > hi) /* a NUL terminator fails here too */
            return false;
        for (size_t i = 2; i < len; i++)
            if (s[i] < 0x80 || s[i] > 0xbf)
                return false;
        s += len;
    }
    return true;
}

/* ------------------------------------------------------------ checking */

struct plan {
    const syn_st_tensor *const *order; /* layout order */
    size_t n;
    char *header; /* padded JSON */
    size_t header_len;
    size_t data_size;
};

static int cmp_layout(const void *pa, const void *pb)
{
    const syn_st_tensor *a = *(const syn_st_tensor *const *)pa, *b = *(const syn_st_tensor *const *)pb;
    int ba = syn_st_dtype_bits(a->dtype), bb = syn_st_dtype_bits(b->dtype);
    if (ba != bb)
        return ba > bb ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int cmp_name(const void *pa, const void *pb)
{
    return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

static int check_tensor(const syn_st_tensor *t, size_t i, syn_error *err)
{
    char nb[72];
    if (!t->name)
        return syn_fail(err, SYN_ERR_INVALID, "tensor %zu has no name", i);
    const char *tn = syn_st_printable(nb, sizeof nb, t->name);
    if (!utf8_valid(t->name))
        return syn_fail(err, SYN_ERR_INVALID, "tensor '%s': name is not valid UTF-8", tn);
    if (strcmp(t->name, ST_METADATA_KEY) == 0)
        return syn_fail(err, SYN_ERR_INVALID, "tensor name \"%s\" is reserved for metadata", tn);
    const char *dname = syn_st_dtype_name(t->dtype);
    if (!dname)
        return syn_fail(err, SYN_ERR_INVALID, "tensor '%s': invalid dtype %d", tn, (int)t->dtype);
    if (t->n_dims < 0 || t->n_dims > SYN_ST_MAX_DIMS)
        return syn_fail(err, SYN_ERR_INVALID, "tensor '%s': n_dims %d is outside 0..%d", tn,
                        (int)t->n_dims, SYN_ST_MAX_DIMS);
    uint64_t nel = 1;
    for (int d = 0; d < t->n_dims; d++) {
        if (t->shape[d] < 0)
            return syn_fail(err, SYN_ERR_INVALID, "tensor '%s': shape[%d] is %lld, negative", tn, d,
                            (long long)t->shape[d]);
        uint64_t x = (uint64_t)t->shape[d];
        if (x && nel > UINT64_MAX / x)
            return syn_fail(err, SYN_ERR_INVALID, "tensor '%s': shape has too many elements", tn);
        nel *= x;
    }
    uint64_t bits = (uint64_t)syn_st_dtype_bits(t->dtype);
    if (nel > UINT64_MAX / bits)
        return syn_fail(err, SYN_ERR_INVALID, "tensor '%s': shape has too many elements", tn);
    if (nel * bits % 8)
        return syn_fail(err, SYN_ERR_INVALID, "tensor '%s': %llu elements of %s do not fill whole bytes",
                        tn, (unsigned long long)nel, dname);
    if (nel * bits / 8 != (uint64_t)t->size)
        return syn_fail(err, SYN_ERR_INVALID, "tensor '%s': size is %zu bytes but %s of %llu elements "
                        "needs %llu", tn, t->size, dname, (unsigned long long)nel,
                        (unsigned long long)(nel * bits / 8));
    return 0;
}

static int plan_file(struct plan *pl, const syn_st_tensor *tensors, size_t n, const syn_st_kv *meta, size_t n_meta,
                     syn_error *err)
{
    memset(pl, 0, sizeof *pl);
    if ((n && !tensors) || (n_meta && !meta))
        return syn_fail(err, SYN_ERR_INVALID, "NULL tensor or metadata array");
    for (size_t i = 0; i < n; i++) {
        int rc = check_tensor(&tensors[i], i, err);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < n_meta; i++) {
        char kb[72];
        if (!meta[i].key || !meta[i].value)
            return syn_fail(err, SYN_ERR_INVALID, "metadata pair %zu has a NULL %s", i,
                            meta[i].key ? "value" : "key");
        if (!utf8_valid(meta[i].key) || !utf8_valid(meta[i].value))
            return syn_fail(err, SYN_ERR_INVALID, "metadata \"%s\": %s is not valid UTF-8",
                            syn_st_printable(kb, sizeof kb, meta[i].key), utf8_valid(meta[i].key) ? "value" : "key");
    }

    /* duplicates: sort the names (and, apart, the keys) */
    size_t nn = n > n_meta ? n : n_meta;
    const char **names = malloc((nn ? nn : 1) * sizeof *names);
    const syn_st_tensor **order = malloc((n ? n : 1) * sizeof *order);
    if (!names || !order) {
        free(names);
        free(order);
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory for %zu tensors", n);
    }
    int rc = 0;
    for (int pass = 0; pass < 2 && !rc; pass++) {
        size_t m = pass ? n_meta : n;
        for (size_t i = 0; i < m; i++)
            names[i] = pass ? meta[i].key : tensors[i].name;
        qsort(names, m, sizeof *names, cmp_name);
        for (size_t i = 1; i < m && !rc; i++)
            if (strcmp(names[i - 1], names[i]) == 0) {
                char nb[72];
                rc = syn_fail(err, SYN_ERR_INVALID, "duplicate %s \"%s\"", pass ? "metadata key" : "tensor name",
                              syn_st_printable(nb, sizeof nb, names[i]));
            }
    }
    free(names);
    if (rc) {
        free(order);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = &tensors[i];
    qsort(order, n, sizeof *order, cmp_layout);

    struct strbuf b = {0};
    sb_str(&b, "{");
    if (n_meta) {
        sb_json_str(&b, ST_METADATA_KEY);
        sb_str(&b, ":{");
        for (size_t i = 0; i < n_meta; i++) {
            if (i)
                sb_str(&b, ",");
            sb_json_str(&b, meta[i].key);
            sb_str(&b, ":");
            sb_json_str(&b, meta[i].value);
        }
        sb_str(&b, "}");
    }
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const syn_st_tensor *t = order[i];
        char num[64];
        if (i || n_meta)
            sb_str(&b, ",");
        sb_json_str(&b, t->name);
        sb_str(&b, ":{\"dtype\":");
        sb_json_str(&b, syn_st_dtype_name(t->dtype));
        sb_str(&b, ",\"shape\":[");
        for (int d = 0; d < t->n_dims; d++) {
            snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)t->shape[d]);
            sb_str(&b, num);
        }
        if (at > SIZE_MAX - t->size) {
            free(b.p);
            free(order);
            return syn_fail(err, SYN_ERR_INVALID, "the tensors' sizes add up past SIZE_MAX");
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)at,
                 (unsigned long long)(at + t->size));
        sb_str(&b, num);
        at += t->size;
    }
    sb_str(&b, "}");
    while (b.n % 8)
        sb_str(&b, " ");
    if (b.oom) {
        free(b.p);
        free(order);
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory for the header");
    }
    if (b.n > ST_MAX_HEADER) {
        free(b.p);
        free(order);
        return syn_fail(err, SYN_ERR_INVALID, "header would be %zu bytes, over the limit of %u", b.n,
                        ST_MAX_HEADER);
    }
    pl->order = order;
    pl->n = n;
    pl->header = b.p;
    pl->header_len = b.n;
    pl->data_size = (size_t)at;
    return 0;
}

static void plan_free(struct plan *pl)
{
    free((void *)pl->order);
    free(pl->header);
}

/* ------------------------------------------------------------ output */

/* Either a FILE or a buffer of exactly the file's size. */
struct sink {
    FILE *f;
    uint8_t *buf;
    size_t n;
    bool failed;
};

static void emit(struct sink *s, const void *p, size_t n)
{
    if (s->failed || !n)
        return;
    if (s->f) {
        if (fwrite(p, 1, n, s->f) != n)
            s->failed = true;
    } else {
        memcpy(s->buf + s->n, p, n);
    }
    s->n += n;
}

static void emit_file(const struct plan *pl, struct sink *s)
{
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)((uint64_t)pl->header_len >> (8 * i));
    emit(s, len, 8);
    emit(s, pl->header, pl->header_len);
    static const uint8_t zeros[4096];
    for (size_t i = 0; i < pl->n; i++) {
        const syn_st_tensor *t = pl->order[i];
        if (t->data) {
            emit(s, t->data, t->size);
        } else {
            for (size_t left = t->size; left;) {
                size_t k = left < sizeof zeros ? left : sizeof zeros;
                emit(s, zeros, k);
                left -= k;
            }
        }
    }
}

int syn_st_write_memory(const syn_st_tensor *tensors, size_t n, const syn_st_kv *meta, size_t n_meta, void **out,
                        size_t *size, syn_error *err)
{
    *out = NULL;
    *size = 0;
    struct plan pl;
    int rc = plan_file(&pl, tensors, n, meta, n_meta, err);
    if (rc)
        return rc;
    size_t total = 8 + pl.header_len;
    if (pl.data_size > SIZE_MAX - total) {
        plan_free(&pl);
        return syn_fail(err, SYN_ERR_NOMEM, "file too large for memory");
    }
    total += pl.data_size;
    struct sink s = {.buf = malloc(total)};
    if (!s.buf) {
        plan_free(&pl);
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory for a %zu-byte file", total);
    }
    emit_file(&pl, &s);
    plan_free(&pl);
    *out = s.buf;
    *size = total;
    return 0;
}

int syn_st_write(const char *path, const syn_st_tensor *tensors, size_t n, const syn_st_kv *meta, size_t n_meta,
                 syn_error *err)
{
    static unsigned counter;
    struct plan pl;
    int rc = plan_file(&pl, tensors, n, meta, n_meta, err);
    if (rc) {
        syn_error_prefix(err, path);
        return rc;
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(),
                 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED)) >= (int)sizeof tmp) {
        plan_free(&pl);
        return syn_fail(err, SYN_ERR_INVALID, "%s: path too long", path);
    }
    /* readers see the old file or the whole new one, never a part */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        plan_free(&pl);
        return syn_fail(err, SYN_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        plan_free(&pl);
        return syn_fail(err, SYN_ERR_IO, "%s: %s", tmp, strerror(e));
    }
    struct sink s = {.f = f};
    errno = 0;
    emit_file(&pl, &s);
    plan_free(&pl);
    int e = 0;
    if (s.failed || fflush(f) != 0 || fsync(fileno(f)) != 0)
        e = errno ? errno : EIO;
    if (fclose(f) != 0 && !e)
        e = errno ? errno : EIO;
    if (e)
        rc = syn_fail(err, SYN_ERR_IO, "%s: write failed: %s", path, strerror(e));
    else if (rename(tmp, path) != 0)
        rc = syn_fail(err, SYN_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}
