/* safetensors reader and writer tests: byte-exact agreement with the
 * reference serializer's own test vectors, a writer -> reader round trip of
 * many dtypes (F32, F16, BF16, integers, F8, F4, scalars, empty tensors),
 * metadata, atomic replacement, and hand-built hostile headers that must
 * each be refused with SYN_ERR_FORMAT (or UNSUPPORTED) and a message naming
 * the tensor or field at fault. */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <synapse/safetensors.h>
#include "tests/check.h"
#include "tests/st_tensor.h"

/* ------------------------------------------------------------ helpers */

/* u64 N, the header, then data_len bytes of data (i & 0xff). */
static uint8_t *mk(const char *hdr, size_t hlen, size_t data_len, size_t *size)
{
    *size = 8 + hlen + data_len;
    uint8_t *b = malloc(*size);
    if (!b)
        abort();
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memcpy(b + 8, hdr, hlen);
    for (size_t i = 0; i < data_len; i++)
        b[8 + hlen + i] = (uint8_t)i;
    return b;
}

static void refuse_n(const char *hdr, size_t hlen, size_t data_len, int code, const char *want, int line)
{
    size_t size;
    uint8_t *b = mk(hdr, hlen, data_len, &size);
    syn_st *st = (syn_st *)&st;
    syn_error err = {0};
    int rc = syn_st_open_memory(b, size, &st, &err);
    if (!(rc == code && st == NULL && strncmp(err.msg, "<memory>: ", 10) == 0 && strstr(err.msg, want))) {
        fprintf(stderr, "%s:%d: refused wrongly: rc %d (wanted %d), '%s' (wanted '%s')\n", __FILE__, line, rc, code,
                err.msg, want);
        check_failures++;
    }
    if (rc == 0)
        syn_st_close(st);
    free(b);
}

#define REFUSE(hdr, data_len, want) refuse_n(hdr, sizeof hdr - 1, data_len, SYN_ERR_FORMAT, want, __LINE__)
#define UNSUPPORTED(hdr, data_len, want) refuse_n(hdr, sizeof hdr - 1, data_len, SYN_ERR_UNSUPPORTED, want, __LINE__)

static syn_st *accept_n(const char *hdr, size_t hlen, size_t data_len, uint8_t **buf, int line)
{
    size_t size;
    *buf = mk(hdr, hlen, data_len, &size);
    syn_st *st = NULL;
    syn_error err = {0};
    int rc = syn_st_open_memory(*buf, size, &st, &err);
    if (rc != 0) {
        fprintf(stderr, "%s:%d: refused: %s\n", __FILE__, line, err.msg);
        check_failures++;
    }
    return st;
}

#define ACCEPT(hdr, data_len, buf) accept_n(hdr, sizeof hdr - 1, data_len, buf, __LINE__)

/* one tensor entry of a header */
#define T(name, dtype, shape, b, e) "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" b "," e "]}"


static bool contains(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(s + i, needle, k) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------ dtypes */

static void test_dtypes(void)
{
    for (int d = 0; d < SYN_ST_DTYPE_COUNT; d++) {
        const char *name = syn_st_dtype_name(d);
        CHECK_MSG(name && syn_st_dtype_from_name(name) == d, "dtype %d", d);
        int bits = syn_st_dtype_bits(d);
        CHECK(bits == 4 || bits == 6 || bits == 8 || bits == 16 || bits == 32 || bits == 64);
    }
    CHECK(syn_st_dtype_bits(SYN_ST_F32) == 32 && syn_st_dtype_bits(SYN_ST_BF16) == 16);
    CHECK(syn_st_dtype_bits(SYN_ST_BOOL) == 8 && syn_st_dtype_bits(SYN_ST_F4) == 4);
    CHECK(syn_st_dtype_bits(SYN_ST_C64) == 64 && syn_st_dtype_bits(SYN_ST_F8_E4M3) == 8);
    CHECK(strcmp(syn_st_dtype_name(SYN_ST_F8_E5M2), "F8_E5M2") == 0);
    CHECK(syn_st_dtype_name(-1) == NULL && syn_st_dtype_name(SYN_ST_DTYPE_COUNT) == NULL);
    CHECK(syn_st_dtype_bits(-1) == 0 && syn_st_dtype_bits(SYN_ST_DTYPE_COUNT) == 0);
    CHECK(syn_st_dtype_from_name("f32") == -1 && syn_st_dtype_from_name("") == -1 &&
          syn_st_dtype_from_name(NULL) == -1);
}

/* ------------------------------------------------------------ reference vectors */

/* The reference implementation's serialization tests (safetensors/src/tensor.rs):
 * our writer must produce the same bytes, and our reader open them. */
static void test_reference_vectors(void)
{
    float f[6] = {0, 1, 2, 3, 4, 5};
    syn_error err;
    void *out;
    size_t size;
    syn_st_tensor t = tensor("attn.0", SYN_ST_F32, 3, (int64_t[]){1, 2, 3}, f);
    CHECK(syn_st_write_memory(&t, 1, NULL, 0, &out, &size, &err) == 0);
    static const char h1[] = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
    CHECK(size == 8 + 64 + 24 && ((uint8_t *)out)[0] == 64 && memcmp((char *)out + 8, h1, 64) == 0 &&
          memcmp((char *)out + 72, f, 24) == 0);
    free(out);

    t = tensor("attn0", SYN_ST_F32, 4, (int64_t[]){1, 1, 2, 3}, f); /* padded: 65 -> 72 */
    CHECK(syn_st_write_memory(&t, 1, NULL, 0, &out, &size, &err) == 0);
    static const char h2[] = "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ";
    CHECK(size == 8 + 72 + 24 && ((uint8_t *)out)[0] == 72 && memcmp((char *)out + 8, h2, 72) == 0);
    free(out);

    CHECK(syn_st_write_memory(NULL, 0, NULL, 0, &out, &size, &err) == 0);
    CHECK(size == 16 && memcmp(out, "\x08\0\0\0\0\0\0\0{}      ", 16) == 0);
    syn_st *st;
    CHECK(syn_st_open_memory(out, size, &st, &err) == 0 && syn_st_n_tensors(st) == 0 && syn_st_n_metadata(st) == 0);
    syn_st_close(st);
    free(out);

    syn_st_kv kv = {"framework", "pt"};
    CHECK(syn_st_write_memory(NULL, 0, &kv, 1, &out, &size, &err) == 0);
    CHECK(size == 48 && ((uint8_t *)out)[0] == 40 &&
          memcmp((char *)out + 8, "{\"__metadata__\":{\"framework\":\"pt\"}}     ", 40) == 0);
    CHECK(syn_st_open_memory(out, size, &st, &err) == 0 && syn_st_n_metadata(st) == 1);
    CHECK(strcmp(syn_st_metadata(st, "framework"), "pt") == 0);
    syn_st_close(st);
    free(out);

    /* the reader's doc example: I32 [2, 2], 16 zero bytes */
    static const char doc[] = "<\0\0\0\0\0\0\0{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}"
                              "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    CHECK(syn_st_open_memory(doc, sizeof doc - 1, &st, &err) == 0);
    if (st) {
        const syn_st_tensor *x = syn_st_tensor_at(st, 0);
        CHECK(syn_st_n_tensors(st) == 1 && strcmp(x->name, "test") == 0 && x->dtype == SYN_ST_I32 &&
              x->n_dims == 2 && x->shape[0] == 2 && x->shape[1] == 2 && x->shape[2] == 1 && x->size == 16);
        CHECK((const char *)x->data == doc + 68 && syn_st_data_offset(st) == 68);
        syn_st_close(st);
    }
}

/* ------------------------------------------------------------ round trip */

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_round_trip(void)
{
    char dir[] = "/tmp/test_safetensors_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/adapter.safetensors", dir);

    float f32[24];
    uint16_t f16[4] = {0x3c00, 0xc000, 0x7bff, 0x0001}; /* 1, -2, 65504, denormal */
    uint16_t bf16[8] = {0x3f80, 0xbf80, 0x4049, 0x0000, 0x8000, 0x7f80, 0xff80, 0x3e80};
    int64_t i64[3] = {INT64_MIN, -1, INT64_MAX};
    uint8_t u8[5] = {1, 2, 3, 4, 255};
    uint8_t b8[2] = {1, 0};
    double f64 = 3.25;
    int8_t i8[2] = {-128, 127};
    uint8_t f8[3] = {0x38, 0xb8, 0x7e};
    uint8_t f4[2] = {0x21, 0x43};
    uint32_t u32[2] = {0xdeadbeef, 7};
    for (int i = 0; i < 24; i++)
        f32[i] = (float)i * 0.5f - 3;
    syn_st_tensor in[] = {
        tensor("base_model.model.layers.0.self_attn.q_proj.lora_A.weight", SYN_ST_F32, 2, (int64_t[]){4, 6}, f32),
        tensor("b.f16", SYN_ST_F16, 1, (int64_t[]){4}, f16),
        tensor("c.bf16", SYN_ST_BF16, 3, (int64_t[]){2, 2, 2}, bf16),
        tensor("d.i64", SYN_ST_I64, 1, (int64_t[]){3}, i64),
        tensor("e.u8", SYN_ST_U8, 1, (int64_t[]){5}, u8),
        tensor("f.bool", SYN_ST_BOOL, 2, (int64_t[]){1, 2}, b8),
        tensor("g.scalar", SYN_ST_F64, 0, NULL, &f64),
        tensor("h.empty", SYN_ST_F32, 2, (int64_t[]){0, 4}, NULL),
        tensor("i.rank8", SYN_ST_I8, 8, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 2}, i8),
        tensor("j.f8", SYN_ST_F8_E4M3, 1, (int64_t[]){3}, f8),
        tensor("k.f4", SYN_ST_F4, 1, (int64_t[]){4}, f4),
        tensor("l.zeros", SYN_ST_U32, 2, (int64_t[]){3, 5}, NULL), /* data NULL: zero-filled */
        tensor("m \"quoted\\back\nslash\"\t\x01", SYN_ST_U32, 1, (int64_t[]){2}, u32),
        tensor("\xc3\xa9t\xc3\xa9.\xe7\xbb\x99", SYN_ST_F16, 2, (int64_t[]){2, 2}, f16),
    };
    size_t n = sizeof in / sizeof *in;
    syn_st_kv meta[] = {{"format", "pt"}, {"note", "line\n\"quoted\" \xc3\xa9 \\ \x1f"}, {"", "empty key"}};
    syn_error err = {0};
    CHECK_MSG(syn_st_write(path, in, n, meta, 3, &err) == 0, "%s", err.msg);
    CHECK(dir_entries(dir) == 1); /* the temporary is gone */

    syn_st *st = NULL;
    CHECK_MSG(syn_st_open(path, &st, &err) == 0, "%s", err.msg);
    if (!st)
        return;
    CHECK(syn_st_n_tensors(st) == (int64_t)n);
    size_t fsize;
    const uint8_t *base = syn_st_base(st, &fsize);
    size_t data_off = syn_st_data_offset(st);
    CHECK(data_off % 8 == 0 && data_off < fsize);
    /* data order: offsets tile the data region */
    uint64_t at = 0;
    for (int64_t i = 0; i < syn_st_n_tensors(st); i++) {
        const syn_st_tensor *t = syn_st_tensor_at(st, i);
        CHECK(t->offset == at && (const uint8_t *)t->data == base + data_off + t->offset);
        at += t->size;
        int bits = syn_st_dtype_bits(t->dtype);
        if (bits >= 8) /* laid out by decreasing element size: each aligned */
            CHECK_MSG(((uintptr_t)t->data - (uintptr_t)base) % (size_t)(bits / 8) == 0, "%s misaligned", t->name);
    }
    CHECK(data_off + at == fsize);
    CHECK(syn_st_tensor_at(st, -1) == NULL && syn_st_tensor_at(st, (int64_t)n) == NULL);
    for (size_t i = 0; i < n; i++) {
        int64_t k = syn_st_find(st, in[i].name);
        CHECK_MSG(k >= 0, "%s not found", in[i].name);
        if (k < 0)
            continue;
        const syn_st_tensor *t = syn_st_tensor_at(st, k);
        CHECK(strcmp(t->name, in[i].name) == 0 && t->dtype == in[i].dtype && t->n_dims == in[i].n_dims);
        for (int d = 0; d < SYN_ST_MAX_DIMS; d++)
            CHECK(t->shape[d] == (d < in[i].n_dims ? in[i].shape[d] : 1));
        CHECK(t->size == in[i].size);
        if (in[i].data)
            CHECK_MSG(memcmp(t->data, in[i].data, t->size) == 0, "%s data", t->name);
        else
            for (size_t j = 0; j < t->size; j++)
                CHECK(((const uint8_t *)t->data)[j] == 0);
    }
    CHECK(syn_st_find(st, "nope") == -1 && syn_st_find(st, "__metadata__") == -1 && syn_st_find(st, NULL) == -1);
    CHECK(syn_st_find(st, "b.f1") == -1 && syn_st_find(st, "") == -1);
    CHECK(syn_st_n_metadata(st) == 3);
    CHECK(strcmp(syn_st_metadata(st, "format"), "pt") == 0);
    CHECK(strcmp(syn_st_metadata(st, "note"), meta[1].value) == 0);
    CHECK(strcmp(syn_st_metadata(st, ""), "empty key") == 0);
    CHECK(syn_st_metadata(st, "missing") == NULL && syn_st_metadata(st, NULL) == NULL);
    const syn_st_kv *kv = syn_st_metadata_at(st, 1);
    CHECK(kv && strcmp(kv->key, "note") == 0 && syn_st_metadata_at(st, 3) == NULL && syn_st_metadata_at(st, -1) == NULL);

    /* the memory image is the same file */
    void *mem;
    size_t msize;
    CHECK(syn_st_write_memory(in, n, meta, 3, &mem, &msize, &err) == 0);
    CHECK(msize == fsize && memcmp(mem, base, fsize) == 0);
    /* ... and the reader's tensors can be written back unchanged */
    syn_st_tensor copy[sizeof in / sizeof *in];
    for (int64_t i = 0; i < syn_st_n_tensors(st); i++)
        copy[i] = *syn_st_tensor_at(st, i);
    void *again;
    size_t asize;
    CHECK(syn_st_write_memory(copy, n, meta, 3, &again, &asize, &err) == 0);
    CHECK(asize == fsize && memcmp(again, base, fsize) == 0);
    free(again);
    free(mem);
    syn_st_close(st);

    /* no metadata: no "__metadata__" in the header; replaced atomically */
    CHECK(syn_st_write(path, in, 2, NULL, 0, &err) == 0);
    CHECK(syn_st_open(path, &st, &err) == 0);
    if (st) {
        const char *hdr = (const char *)syn_st_base(st, NULL) + 8;
        CHECK(syn_st_n_tensors(st) == 2 && syn_st_n_metadata(st) == 0 && !contains(hdr, syn_st_data_offset(st) - 8, "__metadata__"));
        syn_st_close(st);
    }
    CHECK(dir_entries(dir) == 1);

    /* writer refusals leave the old file and no temporary */
    syn_st_tensor bad = in[0];
    bad.size -= 4;
    CHECK(syn_st_write(path, &bad, 1, NULL, 0, &err) == SYN_ERR_INVALID);
    CHECK_MSG(strncmp(err.msg, path, strlen(path)) == 0 && strstr(err.msg, "lora_A.weight': size is 92 bytes but F32 "
                                                                           "of 24 elements needs 96"),
              "%s", err.msg);
    CHECK(dir_entries(dir) == 1);
    CHECK(syn_st_open(path, &st, &err) == 0 && syn_st_n_tensors(st) == 2);
    syn_st_close(st);
    char nodir[300];
    snprintf(nodir, sizeof nodir, "%s/missing/x.safetensors", dir);
    CHECK(syn_st_write(nodir, in, 1, NULL, 0, &err) == SYN_ERR_IO && strstr(err.msg, "cannot create"));
    unlink(path);
    CHECK(dir_entries(dir) == 0);
    rmdir(dir);
}

static void writer_refuses(const syn_st_tensor *t, size_t n, const syn_st_kv *meta, size_t n_meta, const char *want,
                           int line)
{
    void *out = (void *)&out;
    size_t size = 1;
    syn_error err = {0};
    int rc = syn_st_write_memory(t, n, meta, n_meta, &out, &size, &err);
    if (!(rc == SYN_ERR_INVALID && out == NULL && size == 0 && strstr(err.msg, want))) {
        fprintf(stderr, "%s:%d: writer: rc %d, '%s' (wanted '%s')\n", __FILE__, line, rc, err.msg, want);
        check_failures++;
    }
    if (rc == 0)
        free(out);
}

static void test_writer_refusals(void)
{
    float f[6] = {0};
    syn_st_tensor t[2] = {tensor("w", SYN_ST_F32, 2, (int64_t[]){2, 3}, f), tensor("w", SYN_ST_F16, 1, (int64_t[]){2}, f)};
    writer_refuses(t, 2, NULL, 0, "duplicate tensor name \"w\"", __LINE__);
    syn_st_tensor x = t[0];
    x.size = 20;
    writer_refuses(&x, 1, NULL, 0, "tensor 'w': size is 20 bytes but F32 of 6 elements needs 24", __LINE__);
    x = t[0];
    x.dtype = 99;
    writer_refuses(&x, 1, NULL, 0, "tensor 'w': invalid dtype 99", __LINE__);
    x = t[0];
    x.n_dims = 9;
    writer_refuses(&x, 1, NULL, 0, "tensor 'w': n_dims 9 is outside 0..8", __LINE__);
    x = t[0];
    x.shape[1] = -3;
    writer_refuses(&x, 1, NULL, 0, "tensor 'w': shape[1] is -3, negative", __LINE__);
    x = t[0];
    x.n_dims = 3;
    x.shape[0] = x.shape[1] = x.shape[2] = INT64_MAX;
    writer_refuses(&x, 1, NULL, 0, "tensor 'w': shape has too many elements", __LINE__);
    x = t[0];
    x.name = NULL;
    writer_refuses(&x, 1, NULL, 0, "tensor 0 has no name", __LINE__);
    x = t[0];
    x.name = "__metadata__";
    writer_refuses(&x, 1, NULL, 0, "tensor name \"__metadata__\" is reserved", __LINE__);
    x = t[0];
    x.name = "bad\xff";
    writer_refuses(&x, 1, NULL, 0, "tensor 'bad?': name is not valid UTF-8", __LINE__);
    x = t[0];
    x.name = "surrogate\xed\xa0\x80";
    writer_refuses(&x, 1, NULL, 0, "name is not valid UTF-8", __LINE__);
    x = tensor("f4", SYN_ST_F4, 1, (int64_t[]){3}, f);
    writer_refuses(&x, 1, NULL, 0, "tensor 'f4': 3 elements of F4 do not fill whole bytes", __LINE__);
    syn_st_kv kv[2] = {{"a", "1"}, {"a", "2"}};
    writer_refuses(t, 1, kv, 2, "duplicate metadata key \"a\"", __LINE__);
    kv[1] = (syn_st_kv){"b", NULL};
    writer_refuses(t, 1, kv, 2, "metadata pair 1 has a NULL value", __LINE__);
    kv[1] = (syn_st_kv){NULL, "x"};
    writer_refuses(t, 1, kv, 2, "metadata pair 1 has a NULL key", __LINE__);
    kv[1] = (syn_st_kv){"b", "\xc0\x80"};
    writer_refuses(t, 1, kv, 2, "metadata \"b\": value is not valid UTF-8", __LINE__);
    writer_refuses(NULL, 1, NULL, 0, "NULL tensor or metadata array", __LINE__);
}

/* ------------------------------------------------------------ hostile files */

static void test_framing(void)
{
    syn_error err;
    syn_st *st;
    for (size_t len = 0; len < 8; len++) {
        uint8_t b[8] = {2, 0, 0, 0, 0, 0, 0, 0};
        char want[64];
        snprintf(want, sizeof want, "file is %zu bytes, too short for the 8-byte header length", len);
        CHECK(syn_st_open_memory(len ? b : NULL, len, &st, &err) == SYN_ERR_FORMAT && st == NULL);
        CHECK_MSG(strstr(err.msg, want) && strncmp(err.msg, "<memory>: ", 10) == 0, "%s", err.msg);
    }
    uint8_t b[16] = {0};
    CHECK(syn_st_open_memory(b, 16, &st, &err) == SYN_ERR_FORMAT && strstr(err.msg, "header length is 0"));
    uint64_t lens[] = {100000001, UINT64_MAX, 1ull << 63};
    for (size_t i = 0; i < 3; i++) {
        for (int k = 0; k < 8; k++)
            b[k] = (uint8_t)(lens[i] >> (8 * k));
        CHECK(syn_st_open_memory(b, 16, &st, &err) == SYN_ERR_FORMAT);
        CHECK_MSG(strstr(err.msg, "is over the limit of 100000000 bytes"), "%s", err.msg);
    }
    b[0] = 9;
    memset(b + 1, 0, 7);
    memcpy(b + 8, "{}      ", 8);
    CHECK(syn_st_open_memory(b, 16, &st, &err) == SYN_ERR_FORMAT);
    CHECK_MSG(strstr(err.msg, "header length 9 runs past the end of the file (8 bytes after the length field)"), "%s",
              err.msg);
    b[0] = 8;
    CHECK(syn_st_open_memory(b, 16, &st, &err) == 0);
    syn_st_close(st);

    /* path errors name the file */
    CHECK(syn_st_open("/nonexistent/x.safetensors", &st, &err) == SYN_ERR_IO && strstr(err.msg, "cannot open") &&
          st == NULL);
    CHECK(syn_st_open("/tmp", &st, &err) == SYN_ERR_IO && strstr(err.msg, "not a regular file"));
    char tmp[] = "/tmp/test_safetensors_f_XXXXXX";
    int fd = mkstemp(tmp);
    CHECK(fd >= 0);
    CHECK(syn_st_open(tmp, &st, &err) == SYN_ERR_FORMAT && strncmp(err.msg, tmp, strlen(tmp)) == 0 &&
          strstr(err.msg, "file is 0 bytes"));
    size_t size;
    static const char wrong[] = "{" T("w", "F32", "[2]", "0", "12") "}";
    uint8_t *f = mk(wrong, sizeof wrong - 1, 12, &size);
    CHECK(write(fd, f, size) == (ssize_t)size);
    close(fd);
    free(f);
    CHECK(syn_st_open(tmp, &st, &err) == SYN_ERR_FORMAT && st == NULL);
    CHECK_MSG(strncmp(err.msg, tmp, strlen(tmp)) == 0 &&
                  strstr(err.msg, ": tensor 'w': data_offsets [0, 12] hold 12 bytes but F32 [2] needs 8"),
              "%s", err.msg);
    unlink(tmp);
}

static void test_header_json(void)
{
    REFUSE("[]", 0, "header is a JSON array, not an object");
    REFUSE("\"x\"", 0, "header is a JSON string, not an object");
    REFUSE("7 ", 0, "header is a JSON number, not an object");
    REFUSE("{\"a\":", 0, "<memory>: JSON header: unexpected end of input at byte 5");
    REFUSE("{} x", 0, "JSON header: trailing 'x' at byte 3");
    REFUSE("{}\0\0\0\0\0\0", 0, "trailing byte 0x00 at byte 2");
    REFUSE("{\"w\xff\":1}", 0, "JSON header: invalid UTF-8 in a string at byte 3");
    REFUSE("{\"w\\u0000\":{}}", 0, "NUL is not allowed");
    REFUSE("{'w':1}", 0, "JSON header: unexpected ''' at byte 1");
    /* padding: spaces (as the reference writes) or any JSON whitespace */
    uint8_t *buf;
    syn_st *st = ACCEPT("{}      ", 0, &buf);
    syn_st_close(st);
    free(buf);
    st = ACCEPT(" {\n}\t\r\n ", 0, &buf);
    syn_st_close(st);
    free(buf);
    /* a parser limit in a header is a malformed file */
    char deep[200];
    size_t k = 0;
    deep[k++] = '{';
    memcpy(deep + k, "\"x\":", 4), k += 4;
    for (int i = 0; i < 70; i++)
        deep[k++] = '[';
    refuse_n(deep, k, 0, SYN_ERR_FORMAT, "JSON header: nesting deeper than 64 levels", __LINE__);
}

static void test_entries(void)
{
    /* dtype */
    UNSUPPORTED("{" T("w", "F7", "[2]", "0", "8") "}", 8, "tensor 'w': unknown dtype \"F7\"");
    UNSUPPORTED("{" T("w", "f32", "[2]", "0", "8") "}", 8, "unknown dtype \"f32\"");
    REFUSE("{\"w\":{\"dtype\":5,\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
           "tensor 'w': dtype at header byte 14 is a number, not a string");
    /* shape */
    REFUSE("{" T("w", "F32", "[-1]", "0", "8") "}", 8, "tensor 'w': shape[0] is -1, negative");
    REFUSE("{" T("w", "F32", "[2.0]", "0", "8") "}", 8, "tensor 'w': shape[0] at header byte 29 is a fraction or exponent, not an integer");
    REFUSE("{" T("w", "F32", "[2e0]", "0", "8") "}", 8, "shape[0] at header byte 29 is a fraction or exponent");
    REFUSE("{" T("w", "F32", "[1,\"2\"]", "0", "8") "}", 8, "tensor 'w': shape[1] at header byte 31 is a string, not an integer");
    REFUSE("{" T("w", "F32", "[null]", "0", "8") "}", 8, "shape[0] at header byte 29 is null, not an integer");
    REFUSE("{" T("w", "F32", "\"2\"", "0", "8") "}", 8, "tensor 'w': shape at header byte 28 is a string, not an array");
    REFUSE("{" T("w", "F32", "{}", "0", "8") "}", 8, "tensor 'w': shape at header byte 28 is an object, not an array");
    REFUSE("{" T("w", "F32", "[9223372036854775808]", "0", "8") "}", 8, "tensor 'w': shape[0] at header byte 29 is out of range");
    UNSUPPORTED("{" T("w", "F32", "[1,1,1,1,1,1,1,1,2]", "0", "8") "}", 8, "tensor 'w': shape has 9 dimensions, more than 8");
    REFUSE("{" T("w", "F32", "[4294967296,4294967296,4294967296]", "0", "8") "}", 8,
           "tensor 'w': shape [4294967296, 4294967296, 4294967296] has too many elements (overflow)");
    REFUSE("{" T("w", "F32", "[4611686018427387904]", "0", "8") "}", 8, "has too many elements (overflow)"); /* * 32 bits */
    REFUSE("{" T("w", "F4", "[3]", "0", "1") "}", 1, "tensor 'w': 3 elements of F4 do not fill whole bytes");
    REFUSE("{" T("w", "F6_E2M3", "[2]", "0", "1") "}", 1, "2 elements of F6_E2M3 do not fill whole bytes");
    /* data_offsets */
    REFUSE("{" T("w", "F32", "[2]", "8", "0") "}", 8, "tensor 'w': data_offsets [8, 0] are reversed (begin > end)");
    REFUSE("{" T("w", "F32", "[2]", "0", "1000") "}", 8,
           "tensor 'w': data_offsets [0, 1000] run past the end of the data region (8 bytes)");
    REFUSE("{" T("w", "F32", "[2,3]", "0", "20") "}", 24, "tensor 'w': data_offsets [0, 20] hold 20 bytes but F32 [2, 3] needs 24");
    REFUSE("{" T("w", "BF16", "[]", "0", "4") "}", 4, "tensor 'w': data_offsets [0, 4] hold 4 bytes but BF16 [] needs 2");
    REFUSE("{" T("w", "F32", "[2]", "-1", "7") "}", 8, "tensor 'w': data_offsets[0] is -1, negative");
    REFUSE("{" T("w", "F32", "[2]", "0", "8.0") "}", 8, "data_offsets[1] at header byte 50 is a fraction or exponent");
    REFUSE("{" T("w", "F32", "[2]", "0", "18446744073709551616") "}", 8, "data_offsets[1] at header byte 50 is out of range");
    REFUSE("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8,
           "tensor 'w': data_offsets at header byte 47 has 1 elements, not 2 [begin, end]");
    REFUSE("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]}}", 16, "has 3 elements, not 2");
    REFUSE("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":\"0,8\"}}", 8,
           "tensor 'w': data_offsets at header byte 47 is a string, not an array");
    /* missing fields, wrong entries */
    REFUSE("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'w': missing field \"dtype\"");
    REFUSE("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "tensor 'w': missing field \"shape\"");
    REFUSE("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "tensor 'w': missing field \"data_offsets\"");
    REFUSE("{\"w\":5}", 0, "tensor 'w': entry at header byte 5 is a number, not an object");
    REFUSE("{\"w\":[]}", 0, "tensor 'w': entry at header byte 5 is an array, not an object");
    REFUSE("{\"w\\n\\u0001\":null}", 0, "tensor 'w?" "?': entry at header byte 13 is null, not an object");
    REFUSE("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
           "duplicate key \"dtype\" at byte 20 (first at byte 6)");
    /* duplicate tensors */
    REFUSE("{" T("a", "F32", "[2]", "0", "8") "," T("a", "F32", "[2]", "8", "16") "}", 16, "JSON header: duplicate key \"a\"");
    /* extra keys in an entry are ignored, as the reference ignores them */
    uint8_t *buf;
    syn_st *st = ACCEPT("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":{\"x\":[1]}}}", 8, &buf);
    CHECK(st && syn_st_n_tensors(st) == 1 && syn_st_tensor_at(st, 0)->size == 8);
    syn_st_close(st);
    free(buf);
}

static void test_layout(void)
{
    /* overlap, gap, trailing bytes */
    REFUSE("{" T("a", "F32", "[4]", "0", "16") "," T("b", "F32", "[4]", "8", "24") "}", 24,
           "tensor 'b': data_offsets [8, 24] overlap tensor 'a' [0, 16]");
    REFUSE("{" T("b", "F32", "[4]", "8", "24") "," T("a", "F32", "[4]", "0", "16") "}", 24, /* any header order */
           "tensor 'b': data_offsets [8, 24] overlap tensor 'a' [0, 16]");
    REFUSE("{" T("a", "F32", "[2]", "0", "8") "," T("b", "F32", "[2]", "0", "8") "}", 8,
           "tensor 'b': data_offsets [0, 8] overlap tensor 'a' [0, 8]");
    REFUSE("{" T("a", "F32", "[4]", "0", "16") "," T("z", "F32", "[0]", "4", "4") "}", 16,
           "tensor 'z': data_offsets [4, 4] overlap tensor 'a' [0, 16]");
    REFUSE("{" T("a", "F32", "[2]", "0", "8") "," T("b", "F32", "[2]", "16", "24") "}", 24,
           "bytes [8, 16) of the data region belong to no tensor (a gap before tensor 'b')");
    REFUSE("{" T("b", "F32", "[2]", "4", "12") "}", 12, "bytes [0, 4) of the data region belong to no tensor (a gap before tensor 'b')");
    REFUSE("{" T("a", "F32", "[2]", "0", "8") "}", 16,
           "the tensors cover 8 of the 16 bytes of the data region (trailing bytes after tensor 'a')");
    REFUSE("{}", 4, "no tensors, but a data region of 4 bytes");
    REFUSE("{\"__metadata__\":{}}", 1, "no tensors, but a data region of 1 bytes");

    /* tensors are given in data order whatever the header order; empty
     * tensors may sit anywhere on a boundary, even share one */
    uint8_t *buf;
    syn_st *st = ACCEPT("{" T("c", "U8", "[3]", "12", "15") "," T("e0", "F32", "[0]", "8", "8") "," T("a", "F32", "[2]", "0", "8")
                        "," T("e1", "I64", "[2,0]", "8", "8") "," T("b", "I32", "[1]", "8", "12") "," T("end", "U8", "[0]", "15", "15") "}",
                        15, &buf);
    if (st) {
        static const char *const order[] = {"a", "e0", "e1", "b", "c", "end"};
        CHECK(syn_st_n_tensors(st) == 6);
        for (int i = 0; i < 6; i++) {
            const syn_st_tensor *t = syn_st_tensor_at(st, i);
            CHECK_MSG(strcmp(t->name, order[i]) == 0, "%d: %s", i, t->name);
            CHECK(syn_st_find(st, order[i]) == i);
        }
        const syn_st_tensor *c = syn_st_tensor_at(st, 4);
        const uint8_t *d = c->data;
        CHECK(c->size == 3 && d[0] == 12 && d[1] == 13 && d[2] == 14);
        CHECK(syn_st_tensor_at(st, 5)->size == 0 && syn_st_tensor_at(st, 5)->offset == 15);
        syn_st_close(st);
    }
    free(buf);
    /* a header right up to the end of the file, no data region */
    st = ACCEPT("{" T("e", "F16", "[0,8]", "0", "0") "}", 0, &buf);
    CHECK(st && syn_st_n_tensors(st) == 1 && syn_st_tensor_at(st, 0)->size == 0);
    syn_st_close(st);
    free(buf);
}

static void test_metadata(void)
{
    uint8_t *buf;
    syn_st *st = ACCEPT("{\"__metadata__\":{\"format\":\"pt\",\"x\":\"\\u00e9\\n\"}," T("w", "U8", "[1]", "0", "1") "}", 1, &buf);
    if (st) {
        CHECK(syn_st_n_tensors(st) == 1 && syn_st_n_metadata(st) == 2);
        CHECK(strcmp(syn_st_metadata(st, "format"), "pt") == 0 && strcmp(syn_st_metadata(st, "x"), "\xc3\xa9\n") == 0);
        CHECK(strcmp(syn_st_metadata_at(st, 0)->key, "format") == 0);
        syn_st_close(st);
    }
    free(buf);
    st = ACCEPT("{\"__metadata__\":null}", 0, &buf); /* the reference reads null as none */
    CHECK(st && syn_st_n_metadata(st) == 0 && syn_st_n_tensors(st) == 0);
    syn_st_close(st);
    free(buf);
    REFUSE("{\"__metadata__\":\"pt\"}", 0, "__metadata__ at header byte 16 is a string, not an object of strings");
    REFUSE("{\"__metadata__\":[]}", 0, "__metadata__ at header byte 16 is an array, not an object of strings");
    REFUSE("{\"__metadata__\":{\"a\":\"1\",\"n\":2}}", 0, "__metadata__: value of \"n\" at header byte 29 is a number, not a string");
    REFUSE("{\"__metadata__\":{\"o\":{}}}", 0, "value of \"o\" at header byte 21 is an object, not a string");
    REFUSE("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate key \"__metadata__\"");
}

int main(void)
{
    test_dtypes();
    test_reference_vectors();
    test_round_trip();
    test_writer_refusals();
    test_framing();
    test_header_json();
    test_entries();
    test_layout();
    test_metadata();
    return CHECK_DONE();
}
