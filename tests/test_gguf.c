/* GGUF reader and writer tests: the shared test models and vocabularies,
 * missing and foreign files, hand-built hostile headers that must each be
 * refused with SYN_ERR_FORMAT (or UNSUPPORTED) and a message naming what is
 * wrong, and a writer round trip of every value type and several tensor types. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <synapse/gguf.h>
#include "tests/check.h"

/* ------------------------------------------------------------ byte builder */

struct buf {
    uint8_t *p;
    size_t n, cap;
};

static void b_bytes(struct buf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void b_u32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    b_bytes(b, x, 4);
}

static void b_u64(struct buf *b, uint64_t v)
{
    b_u32(b, (uint32_t)v);
    b_u32(b, (uint32_t)(v >> 32));
}

static void b_str(struct buf *b, const char *s)
{
    b_u64(b, strlen(s));
    b_bytes(b, s, strlen(s));
}

static void b_header(struct buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    b_bytes(b, "GGUF", 4);
    b_u32(b, version);
    b_u64(b, n_tensors);
    b_u64(b, n_kv);
}

static void b_kv_u32(struct buf *b, const char *key, uint32_t v)
{
    b_str(b, key);
    b_u32(b, SYN_GGUF_U32);
    b_u32(b, v);
}

static void b_tensor(struct buf *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                     uint64_t offset)
{
    b_str(b, name);
    b_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++)
        b_u64(b, ne[d]);
    b_u32(b, type);
    b_u64(b, offset);
}

static void b_pad(struct buf *b, size_t align)
{
    while (b->n % align)
        b_bytes(b, "", 1);
}

static void b_zeros(struct buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b_bytes(b, "", 1);
}

/* The valid baseline the hostile cases are variations of: two keys, one f32
 * tensor of 8 elements, its data at the end of the file. */
static void b_valid(struct buf *b)
{
    b_header(b, 3, 1, 2);
    b_str(b, "general.architecture");
    b_u32(b, SYN_GGUF_STRING);
    b_str(b, "test");
    b_kv_u32(b, "general.alignment", 32);
    b_tensor(b, "w", 1, (uint64_t[]){8}, SYN_TYPE_F32, 0);
    b_pad(b, 32);
    for (int i = 0; i < 8; i++) {
        float f = (float)i;
        b_bytes(b, &f, 4);
    }
}

/* Opens b from memory expecting failure with code and a message containing want. */
static void expect_fail_at(int line, struct buf *b, int code, const char *want)
{
    syn_gguf *g = NULL;
    syn_error err = {0};
    int rc = syn_gguf_open_memory(b->p, b->n, &g, &err);
    if (rc != code || g || !strstr(err.msg, want)) {
        fprintf(stderr, "test_gguf.c:%d: expected code %d with \"%s\", got %d: %s\n", line, code, want, rc,
                rc ? err.msg : "(opened)");
        check_failures++;
    }
    syn_gguf_close(g);
    free(b->p);
    memset(b, 0, sizeof *b);
}
#define expect_fail(b, code, want) expect_fail_at(__LINE__, b, code, want)

/* ------------------------------------------------------------ real files */

/* Every tensor must lie in the file and have the size its type and shape imply. */
static void check_tensors_consistent(const syn_gguf *g, const char *path)
{
    size_t fsize;
    const uint8_t *base = syn_gguf_base(g, &fsize);
    for (int64_t i = 0; i < syn_gguf_n_tensors(g); i++) {
        const syn_gguf_tensor *t = syn_gguf_tensor_at(g, i);
        CHECK_MSG(t && t->name, "%s tensor %lld", path, (long long)i);
        if (!t)
            continue;
        int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
        CHECK_MSG(t->size == syn_type_row_bytes(t->type, t->ne[0]) * (size_t)rows, "%s: %s size %zu", path,
                  t->name, t->size);
        CHECK((const uint8_t *)t->data >= base && (const uint8_t *)t->data + t->size <= base + fsize);
        CHECK((size_t)((const uint8_t *)t->data - base) == syn_gguf_data_offset(g) + t->offset);
        CHECK(t->offset % syn_gguf_alignment(g) == 0);
        CHECK(syn_gguf_find_tensor(g, t->name) == i);
    }
    for (int64_t i = 0; i < syn_gguf_n_kv(g); i++)
        CHECK(syn_gguf_find_key(g, syn_gguf_key_name(g, i)) == i);
}

static bool str_eq(syn_gguf_str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.s, want, s.len) == 0;
}

static void test_all_files(void)
{
    static const char *const files[] = {
        "models/llama-Q8_0.gguf",   "models/lora-a.gguf",       "models/lora-b.gguf",
        "models/qwen2-BF16.gguf",   "models/qwen2-Q4_0.gguf",   "models/qwen2-Q4_K_M.gguf",
        "models/qwen2-Q5_K_M.gguf", "models/qwen2-Q6_K.gguf",   "models/qwen2-Q8_0.gguf",
        "models/qwen2-chat-Q8_0.gguf", "models/qwen2-f16.gguf", "models/qwen3-Q4_K_M.gguf",
        "vocab/ggml-vocab-gpt-2.gguf", "vocab/ggml-vocab-llama-bpe.gguf", "vocab/ggml-vocab-llama-spm.gguf",
        "vocab/ggml-vocab-qwen2.gguf",
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        const char *path = testdata(files[i]);
        syn_gguf *g = NULL;
        syn_error err = {0};
        int rc = syn_gguf_open(path, &g, &err);
        CHECK_MSG(rc == 0, "%s: %s", path, err.msg);
        if (rc)
            continue;
        CHECK(syn_gguf_version(g) == 3);
        CHECK(syn_gguf_n_kv(g) > 0);
        syn_gguf_str arch;
        CHECK_MSG(syn_gguf_get_str(g, "general.architecture", &arch) == 0, "%s", path);
        check_tensors_consistent(g, path);
        syn_gguf_close(g);
    }
}

static void test_qwen2_f16(void)
{
    syn_gguf *g;
    syn_error err;
    int rc = syn_gguf_open(testdata("models/qwen2-f16.gguf"), &g, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc)
        return;
    syn_gguf_str s;
    CHECK(syn_gguf_get_str(g, "general.architecture", &s) == 0 && str_eq(s, "qwen2"));
    uint32_t u;
    int64_t i64;
    uint64_t u64;
    CHECK(syn_gguf_get_u32(g, "qwen2.block_count", &u) == 0 && u == 2);
    CHECK(syn_gguf_get_i64(g, "qwen2.embedding_length", &i64) == 0 && i64 == 256);
    CHECK(syn_gguf_get_u64(g, "qwen2.feed_forward_length", &u64) == 0 && u64 == 768);
    CHECK(syn_gguf_get_u32(g, "qwen2.attention.head_count_kv", &u) == 0 && u == 2);
    float f;
    double d;
    CHECK(syn_gguf_get_f32(g, "qwen2.rope.freq_base", &f) == 0 && f == 1e6f);
    CHECK(syn_gguf_get_f64(g, "qwen2.attention.layer_norm_rms_epsilon", &d) == 0 && (float)d == 1e-6f);
    bool b;
    CHECK(syn_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) == 0 && b);
    CHECK(syn_gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &b) == 0 && !b);

    /* wrong types and missing keys */
    CHECK(syn_gguf_get_u32(g, "general.architecture", &u) == SYN_ERR_FORMAT);
    CHECK(syn_gguf_get_str(g, "qwen2.block_count", &s) == SYN_ERR_FORMAT);
    CHECK(syn_gguf_get_f32(g, "qwen2.block_count", &f) == SYN_ERR_FORMAT);
    CHECK(syn_gguf_get_bool(g, "qwen2.block_count", &b) == SYN_ERR_FORMAT);
    CHECK(syn_gguf_get_arr(g, "qwen2.block_count", NULL, NULL, NULL) == SYN_ERR_FORMAT);
    CHECK(syn_gguf_get_u32(g, "qwen2.no_such_key", &u) == SYN_ERR_NOT_FOUND);
    CHECK(syn_gguf_get_str(g, "", &s) == SYN_ERR_NOT_FOUND);
    CHECK(syn_gguf_find_key(g, "qwen2.block_coun") == -1);
    CHECK(syn_gguf_key_name(g, -1) == NULL && syn_gguf_key_name(g, syn_gguf_n_kv(g)) == NULL);
    CHECK(syn_gguf_key_data(g, syn_gguf_find_key(g, "general.architecture")) == NULL);
    const void *raw = syn_gguf_key_data(g, syn_gguf_find_key(g, "qwen2.block_count"));
    CHECK(raw && memcmp(raw, "\2\0\0\0", 4) == 0);

    int et;
    uint64_t n;
    const void *data;
    CHECK(syn_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n, &data) == 0 && et == SYN_GGUF_STRING &&
          n == 32000);
    CHECK(syn_gguf_get_arr_str(g, "tokenizer.ggml.tokens", 1, &s) == 0 && str_eq(s, "<s>"));
    CHECK(syn_gguf_get_arr_str(g, "tokenizer.ggml.tokens", 31999, &s) == 0 && str_eq(s, "\xe7\xbb\x99"));
    CHECK(syn_gguf_get_arr_str(g, "tokenizer.ggml.tokens", 32000, &s) == SYN_ERR_RANGE);
    CHECK(syn_gguf_get_arr_str(g, "tokenizer.ggml.scores", 0, &s) == SYN_ERR_FORMAT);
    CHECK(syn_gguf_get_arr(g, "tokenizer.ggml.token_type", &et, &n, &data) == 0 && et == SYN_GGUF_I32 &&
          n == 32000);
    int32_t tt[2];
    memcpy(tt, data, sizeof tt);
    CHECK(tt[0] == 2 && tt[1] == 3); /* <unk> unknown, <s> control */

    CHECK(syn_gguf_n_tensors(g) == 26);
    const syn_gguf_tensor *t = syn_gguf_tensor_at(g, syn_gguf_find_tensor(g, "token_embd.weight"));
    CHECK(t && t->type == SYN_TYPE_F16 && t->n_dims == 2 && t->ne[0] == 256 && t->ne[1] == 32000 &&
          t->ne[2] == 1 && t->ne[3] == 1 && t->size == 256u * 32000 * 2 && t->offset == 0);
    t = syn_gguf_tensor_at(g, syn_gguf_find_tensor(g, "blk.1.attn_k.bias"));
    CHECK(t && t->type == SYN_TYPE_F32 && t->n_dims == 1 && t->ne[0] == 128 && t->size == 512);
    t = syn_gguf_tensor_at(g, syn_gguf_find_tensor(g, "output_norm.weight"));
    CHECK(t && t->type == SYN_TYPE_F32 && t->ne[0] == 256);
    if (t) {
        float w;
        memcpy(&w, t->data, 4);
        CHECK_NEAR(w, 1.05957, 1e-4);
    }
    CHECK(syn_gguf_find_tensor(g, "output.weight") == -1); /* tied */
    CHECK(syn_gguf_tensor_at(g, 26) == NULL && syn_gguf_tensor_at(g, -1) == NULL);
    syn_gguf_close(g);
}

static void test_quantized_and_vocab(void)
{
    syn_gguf *g;
    syn_error err;
    int rc = syn_gguf_open(testdata("models/qwen2-Q4_K_M.gguf"), &g, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc == 0) {
        int k_types = 0;
        for (int64_t i = 0; i < syn_gguf_n_tensors(g); i++) {
            int ty = syn_gguf_tensor_at(g, i)->type;
            k_types += ty == SYN_TYPE_Q4_K || ty == SYN_TYPE_Q6_K;
        }
        CHECK(k_types > 0);
        syn_gguf_close(g);
    }

    rc = syn_gguf_open(testdata("vocab/ggml-vocab-qwen2.gguf"), &g, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc)
        return;
    CHECK(syn_gguf_n_tensors(g) == 0);
    syn_gguf_str s;
    int64_t tok = syn_gguf_find_key(g, "tokenizer.ggml.tokens");
    uint64_t n;
    CHECK(syn_gguf_arr_at(g, tok, NULL, &n, NULL) == 0 && n == 151936);
    CHECK(syn_gguf_arr_str_at(g, tok, 0, &s) == 0 && str_eq(s, "!"));
    CHECK(syn_gguf_arr_str_at(g, tok, 151935, &s) == 0 && str_eq(s, "[PAD151935]"));
    CHECK(syn_gguf_get_arr_str(g, "tokenizer.ggml.merges", 0, &s) == 0 && str_eq(s, "\xc4\xa0 \xc4\xa0"));
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++)
        if (syn_gguf_arr_str_at(g, tok, i, &s) == 0)
            total += s.len;
    CHECK(total > n);
    uint32_t bos;
    CHECK(syn_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &bos) == 0 && bos == 151643);
    syn_gguf_str pre;
    CHECK(syn_gguf_get_str(g, "tokenizer.ggml.pre", &pre) == 0 && str_eq(pre, "qwen2"));
    syn_gguf_close(g);
}

static void test_bad_paths(void)
{
    syn_gguf *g = (syn_gguf *)1;
    syn_error err = {0};
    const char *missing = testdata("models/does-not-exist.gguf");
    CHECK(syn_gguf_open(missing, &g, &err) == SYN_ERR_IO && g == NULL);
    CHECK_MSG(strstr(err.msg, missing) && strstr(err.msg, strerror(ENOENT)), "%s", err.msg);

    CHECK(syn_gguf_open(testdata("models"), &g, &err) == SYN_ERR_IO && g == NULL);

    const char *text = testdata("vocab/ggml-vocab-qwen2.gguf.inp");
    CHECK(syn_gguf_open(text, &g, &err) == SYN_ERR_FORMAT && g == NULL);
    CHECK_MSG(strstr(err.msg, text) && strstr(err.msg, "not a GGUF file"), "%s", err.msg);

    char tmp[] = "/tmp/test_gguf_XXXXXX";
    int fd = mkstemp(tmp);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(syn_gguf_open(tmp, &g, &err) == SYN_ERR_FORMAT && strstr(err.msg, "empty"));

    /* A hostile file on disk: the message names the file. */
    struct buf b = {0};
    b_valid(&b);
    b.n -= 4;
    CHECK(write(fd, b.p, b.n) == (ssize_t)b.n);
    close(fd);
    CHECK(syn_gguf_open(tmp, &g, &err) == SYN_ERR_FORMAT && g == NULL);
    CHECK_MSG(strncmp(err.msg, tmp, strlen(tmp)) == 0 && strstr(err.msg, "tensor 'w' data") &&
                  strstr(err.msg, "runs past end of file"),
              "%s", err.msg);
    unlink(tmp);
    free(b.p);
}

/* ------------------------------------------------------------ hostile headers */

static void test_hostile(void)
{
    struct buf b = {0};
    syn_gguf *g;
    syn_error err;

    b_valid(&b);
    CHECK_MSG(syn_gguf_open_memory(b.p, b.n, &g, &err) == 0, "%s", err.msg);
    if (g) {
        const syn_gguf_tensor *t = syn_gguf_tensor_at(g, 0);
        float last;
        memcpy(&last, (const uint8_t *)t->data + 28, 4);
        CHECK(t->size == 32 && last == 7.0f && syn_gguf_data_offset(g) % 32 == 0);
        syn_gguf_close(g);
    }
    /* every proper prefix of the valid file is truncated somewhere */
    size_t full = b.n;
    for (size_t len = 0; len < full; len++) {
        int rc = syn_gguf_open_memory(b.p, len, &g, &err);
        CHECK_MSG(rc == SYN_ERR_FORMAT && g == NULL, "prefix %zu: rc %d", len, rc);
        CHECK_MSG(len < 4 || strstr(err.msg, "<memory>: "), "prefix %zu: %s", len, err.msg);
    }
    free(b.p);
    memset(&b, 0, sizeof b);

    b_header(&b, 1, 0, 0);
    expect_fail(&b, SYN_ERR_UNSUPPORTED, "version 1 is not supported");
    b_header(&b, 4, 0, 0);
    expect_fail(&b, SYN_ERR_UNSUPPORTED, "version 4");
    b_header(&b, 0x03000000, 0, 0);
    expect_fail(&b, SYN_ERR_UNSUPPORTED, "big-endian");
    b_bytes(&b, "GGUG\3\0\0\0", 8);
    expect_fail(&b, SYN_ERR_FORMAT, "not a GGUF file");

    /* v2 with no keys or tensors is a valid, empty file */
    b_header(&b, 2, 0, 0);
    CHECK(syn_gguf_open_memory(b.p, b.n, &g, &err) == 0 && syn_gguf_version(g) == 2 && syn_gguf_n_kv(g) == 0);
    syn_gguf_close(g);
    free(b.p);
    memset(&b, 0, sizeof b);

    b_header(&b, 3, 0, UINT64_MAX);
    expect_fail(&b, SYN_ERR_FORMAT, "claims 18446744073709551615 keys");
    b_header(&b, 3, 1ull << 40, 0);
    expect_fail(&b, SYN_ERR_FORMAT, "tensors, more than");

    b_header(&b, 3, 0, 1);
    b_u64(&b, UINT64_MAX - 3);
    b_bytes(&b, "key", 3);
    b_zeros(&b, 16);
    expect_fail(&b, SYN_ERR_FORMAT, "key 0 name at offset 24 has length 18446744073709551612, runs past end");

    b_header(&b, 3, 0, 1);
    b_str(&b, "general.name");
    b_u32(&b, SYN_GGUF_STRING);
    b_u64(&b, 1000);
    b_bytes(&b, "short", 5);
    expect_fail(&b, SYN_ERR_FORMAT, "key 'general.name' value at offset");

    b_header(&b, 3, 0, 1);
    b_str(&b, "k");
    b_u32(&b, 13);
    b_u32(&b, 0);
    expect_fail(&b, SYN_ERR_FORMAT, "key 'k' has unknown value type 13");

    b_header(&b, 3, 0, 1);
    b_str(&b, "arr");
    b_u32(&b, SYN_GGUF_ARRAY);
    b_u32(&b, SYN_GGUF_U64);
    b_u64(&b, 1ull << 61); /* times 8 wraps to 0 */
    expect_fail(&b, SYN_ERR_FORMAT, "key 'arr' array of 2305843009213693952 elements");

    b_header(&b, 3, 0, 1);
    b_str(&b, "strs");
    b_u32(&b, SYN_GGUF_ARRAY);
    b_u32(&b, SYN_GGUF_STRING);
    b_u64(&b, 2);
    b_str(&b, "one");
    b_u64(&b, 1ull << 63);
    b_zeros(&b, 16);
    expect_fail(&b, SYN_ERR_FORMAT, "key 'strs' element 1 at offset");

    b_header(&b, 3, 0, 1);
    b_str(&b, "nested");
    b_u32(&b, SYN_GGUF_ARRAY);
    b_u32(&b, SYN_GGUF_ARRAY);
    b_u64(&b, 0);
    expect_fail(&b, SYN_ERR_UNSUPPORTED, "nested array");

    b_header(&b, 3, 0, 1);
    b_str(&b, "bad");
    b_u32(&b, SYN_GGUF_ARRAY);
    b_u32(&b, 99);
    b_u64(&b, 0);
    expect_fail(&b, SYN_ERR_FORMAT, "array of unknown type 99");

    b_header(&b, 3, 0, 2);
    b_kv_u32(&b, "dup", 1);
    b_kv_u32(&b, "dup", 2);
    expect_fail(&b, SYN_ERR_FORMAT, "duplicate key 'dup'");

    b_header(&b, 3, 0, 1);
    b_u64(&b, 3);
    b_bytes(&b, "a\0b", 3);
    b_u32(&b, SYN_GGUF_U8);
    b_zeros(&b, 1);
    expect_fail(&b, SYN_ERR_FORMAT, "contains a NUL byte");

    b_header(&b, 3, 0, 1);
    b_kv_u32(&b, "general.alignment", 48);
    expect_fail(&b, SYN_ERR_FORMAT, "general.alignment 48 is not a power of two");
    b_header(&b, 3, 0, 1);
    b_kv_u32(&b, "general.alignment", 0);
    expect_fail(&b, SYN_ERR_FORMAT, "general.alignment 0 is not a power of two");
    b_header(&b, 3, 0, 1);
    b_str(&b, "general.alignment");
    b_u32(&b, SYN_GGUF_U64);
    b_u64(&b, 32);
    expect_fail(&b, SYN_ERR_FORMAT, "general.alignment must be a u32");

    /* tensor infos */
    static const struct {
        uint32_t n_dims;
        uint64_t ne[5];
        uint32_t type;
        uint64_t offset;
        int code;
        const char *want;
    } cases[] = {
        {0, {8}, SYN_TYPE_F32, 0, SYN_ERR_FORMAT, "tensor 'w' has 0 dimensions"},
        {5, {8, 1, 1, 1, 1}, SYN_TYPE_F32, 0, SYN_ERR_FORMAT, "tensor 'w' has 5 dimensions"},
        {1, {8}, 1000, 0, SYN_ERR_FORMAT, "tensor 'w' has invalid type 1000"},
        {1, {8}, 0xffffffffu, 0, SYN_ERR_FORMAT, "invalid type 4294967295"},
        {1, {8}, 16, 0, SYN_ERR_UNSUPPORTED, "tensor 'w' has type 16, which this build does not support"},
        {1, {33}, SYN_TYPE_Q8_0, 0, SYN_ERR_FORMAT, "row of 33 elements is not a multiple of q8_0's block of 32"},
        {2, {8, 1ull << 63}, SYN_TYPE_F32, 0, SYN_ERR_FORMAT, "dimension 1 is 9223372036854775808"},
        {3, {1ull << 32, 1ull << 32, 1ull << 32}, SYN_TYPE_F32, 0, SYN_ERR_FORMAT, "overflows"},
        {2, {1ull << 32, 1ull << 30}, SYN_TYPE_F32, 0, SYN_ERR_FORMAT, "overflows"}, /* elements fit, bytes don't */
        {1, {8}, SYN_TYPE_F32, 16, SYN_ERR_FORMAT, "offset 16 is not a multiple of the alignment 32"},
        {1, {8}, SYN_TYPE_F32, 32, SYN_ERR_FORMAT, "tensor 'w' data [96, 128) runs past end of file (size 96)"},
        {1, {8}, SYN_TYPE_F32, UINT64_MAX - 31, SYN_ERR_FORMAT, "offset 18446744073709551584 + size 32 runs past"},
        {1, {16}, SYN_TYPE_F32, 0, SYN_ERR_FORMAT, "data [64, 128) runs past end of file (size 96)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        b_header(&b, 3, 1, 0);
        b_tensor(&b, "w", cases[i].n_dims, cases[i].ne, cases[i].type, cases[i].offset);
        b_pad(&b, 32);
        b_zeros(&b, 32);
        expect_fail(&b, cases[i].code, cases[i].want);
    }

    b_header(&b, 3, 2, 0);
    b_tensor(&b, "w", 1, (uint64_t[]){8}, SYN_TYPE_F32, 0);
    b_tensor(&b, "w", 1, (uint64_t[]){8}, SYN_TYPE_F32, 32);
    b_pad(&b, 32);
    b_zeros(&b, 64);
    expect_fail(&b, SYN_ERR_FORMAT, "duplicate tensor 'w'");

    /* hostile names are shown printable and bounded */
    b_header(&b, 3, 1, 0);
    b_str(&b, "bad\x01name");
    b_u32(&b, 0);
    b_zeros(&b, 32);
    expect_fail(&b, SYN_ERR_FORMAT, "tensor 'bad?name' has 0 dimensions");

    /* a custom alignment is honoured for the data section and offsets */
    b_header(&b, 3, 2, 1);
    b_kv_u32(&b, "general.alignment", 64);
    b_tensor(&b, "a", 1, (uint64_t[]){4}, SYN_TYPE_F32, 0);
    b_tensor(&b, "b", 1, (uint64_t[]){4}, SYN_TYPE_F32, 64);
    b_pad(&b, 64);
    b_zeros(&b, 80);
    CHECK_MSG(syn_gguf_open_memory(b.p, b.n, &g, &err) == 0, "%s", err.msg);
    if (g) {
        CHECK(syn_gguf_alignment(g) == 64 && syn_gguf_data_offset(g) % 64 == 0);
        CHECK((const uint8_t *)syn_gguf_tensor_at(g, 1)->data == b.p + syn_gguf_data_offset(g) + 64);
        syn_gguf_close(g);
    }
    free(b.p);
    memset(&b, 0, sizeof b);
    b_header(&b, 3, 1, 1);
    b_kv_u32(&b, "general.alignment", 64);
    b_tensor(&b, "a", 1, (uint64_t[]){4}, SYN_TYPE_F32, 32);
    b_pad(&b, 64);
    b_zeros(&b, 64);
    expect_fail(&b, SYN_ERR_FORMAT, "offset 32 is not a multiple of the alignment 64");
}


/* ------------------------------------------------------------ writer round trip */

static void test_writer(void)
{
    syn_gguf_writer *w = syn_gguf_writer_new();
    syn_error err = {0};
    CHECK(w != NULL);
    if (!w)
        return;
    uint8_t u8 = 200;
    int8_t i8 = -100;
    uint16_t u16 = 60000;
    int16_t i16 = -30000;
    int64_t i64 = -5000000000LL;
    double f64 = 3.141592653589793;
    CHECK(syn_gguf_set_str(w, "general.architecture", "placeholder") == 0);
    CHECK(syn_gguf_set_scalar(w, "t.u8", SYN_GGUF_U8, &u8) == 0);
    CHECK(syn_gguf_set_scalar(w, "t.i8", SYN_GGUF_I8, &i8) == 0);
    CHECK(syn_gguf_set_scalar(w, "t.u16", SYN_GGUF_U16, &u16) == 0);
    CHECK(syn_gguf_set_scalar(w, "t.i16", SYN_GGUF_I16, &i16) == 0);
    CHECK(syn_gguf_set_u32(w, "t.u32", 4000000000u) == 0);
    CHECK(syn_gguf_set_i32(w, "t.i32", -7) == 0);
    CHECK(syn_gguf_set_f32(w, "t.f32", 0.25f) == 0);
    CHECK(syn_gguf_set_bool(w, "t.bool", true) == 0);
    CHECK(syn_gguf_set_str(w, "t.str", "h\xc3\xa9llo") == 0);
    CHECK(syn_gguf_set_u64(w, "t.u64", UINT64_MAX) == 0);
    CHECK(syn_gguf_set_scalar(w, "t.i64", SYN_GGUF_I64, &i64) == 0);
    CHECK(syn_gguf_set_scalar(w, "t.f64", SYN_GGUF_F64, &f64) == 0);
    float fa[3] = {1.5f, -2.0f, 1e30f};
    int32_t ia[4] = {1, -2, 3, INT32_MIN};
    uint8_t ba[3] = {1, 0, 1};
    CHECK(syn_gguf_set_arr(w, "a.f32", SYN_GGUF_F32, fa, 3) == 0);
    CHECK(syn_gguf_set_arr(w, "a.i32", SYN_GGUF_I32, ia, 4) == 0);
    CHECK(syn_gguf_set_arr(w, "a.bool", SYN_GGUF_BOOL, ba, 3) == 0);
    CHECK(syn_gguf_set_arr(w, "a.empty", SYN_GGUF_U64, NULL, 0) == 0);
    const char *strs[] = {"alpha", "", "\xe7\xbb\x99", "delta"};
    CHECK(syn_gguf_set_arr_str(w, "a.str", strs, 4) == 0);
    CHECK(syn_gguf_set_arr_str(w, "a.str_empty", NULL, 0) == 0);
    CHECK(syn_gguf_set_str(w, "general.architecture", "qwen2") == 0); /* replaces, keeps position */

    /* refused values and tensors */
    CHECK(syn_gguf_set_arr(w, "bad", SYN_GGUF_STRING, strs, 1) == SYN_ERR_INVALID);
    CHECK(syn_gguf_set_arr(w, "bad", SYN_GGUF_ARRAY, fa, 1) == SYN_ERR_INVALID);
    CHECK(syn_gguf_set_scalar(w, "bad", SYN_GGUF_STRING, "x") == SYN_ERR_INVALID);
    CHECK(syn_gguf_set_str(w, NULL, "x") == SYN_ERR_INVALID);
    CHECK(syn_gguf_set_str(w, "bad", NULL) == SYN_ERR_INVALID);
    int64_t ne_bad[2] = {33, 1};
    CHECK(syn_gguf_add_tensor(w, "x", SYN_TYPE_Q8_0, 1, ne_bad, NULL, &err) == SYN_ERR_INVALID &&
          strstr(err.msg, "not a multiple"));
    CHECK(syn_gguf_add_tensor(w, "x", SYN_TYPE_F32, 0, ne_bad, NULL, &err) == SYN_ERR_INVALID);
    CHECK(syn_gguf_add_tensor(w, "x", SYN_TYPE_F32, 5, ne_bad, NULL, &err) == SYN_ERR_INVALID);
    CHECK(syn_gguf_add_tensor(w, "x", 16, 1, ne_bad, NULL, &err) == SYN_ERR_INVALID);
    int64_t ne_neg[2] = {32, -1};
    CHECK(syn_gguf_add_tensor(w, "x", SYN_TYPE_F32, 2, ne_neg, NULL, &err) == SYN_ERR_INVALID);

    /* tensors of several types, sizes that are not multiples of the alignment */
    float f32d[6] = {1, 2, 3, 4, 5, 6};
    uint16_t f16d[5] = {0x3c00, 0x4000, 0x4200, 0x4400, 0xbc00};
    uint8_t q8d[2 * 34], q4kd[144];
    for (size_t i = 0; i < sizeof q8d; i++)
        q8d[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof q4kd; i++)
        q4kd[i] = (uint8_t)(255 - i);
    CHECK(syn_gguf_add_tensor(w, "t.f32", SYN_TYPE_F32, 2, (int64_t[]){3, 2}, f32d, &err) == 0);
    CHECK(syn_gguf_add_tensor(w, "t.f16", SYN_TYPE_F16, 1, (int64_t[]){5}, f16d, &err) == 0);
    CHECK(syn_gguf_add_tensor(w, "t.q8_0", SYN_TYPE_Q8_0, 2, (int64_t[]){32, 2}, q8d, &err) == 0);
    CHECK(syn_gguf_add_tensor(w, "t.q4_K", SYN_TYPE_Q4_K, 4, (int64_t[]){256, 1, 1, 1}, q4kd, &err) == 0);
    CHECK(syn_gguf_add_tensor(w, "t.zero", SYN_TYPE_BF16, 3, (int64_t[]){2, 3, 4}, NULL, &err) == 0);
    CHECK(syn_gguf_add_tensor(w, "t.empty", SYN_TYPE_F32, 2, (int64_t[]){0, 4}, NULL, &err) == 0);
    CHECK(syn_gguf_add_tensor(w, "t.f32", SYN_TYPE_F32, 1, (int64_t[]){1}, f32d, &err) == SYN_ERR_INVALID &&
          strstr(err.msg, "duplicate tensor 't.f32'"));

    char path[] = "/tmp/test_gguf_w_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    int rc = syn_gguf_write_file(w, path, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    void *mem = NULL;
    size_t mem_size = 0;
    CHECK(syn_gguf_write_memory(w, &mem, &mem_size, &err) == 0);
    CHECK(syn_gguf_write_file(w, "/nonexistent-dir/x.gguf", &err) == SYN_ERR_IO && strstr(err.msg, "/nonexistent-dir"));

    syn_gguf *g = NULL;
    rc = syn_gguf_open(path, &g, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (g) {
        size_t fsize;
        const void *base = syn_gguf_base(g, &fsize);
        CHECK(fsize == mem_size && memcmp(base, mem, fsize) == 0);
        CHECK(syn_gguf_version(g) == 3 && syn_gguf_alignment(g) == 32 && syn_gguf_data_offset(g) % 32 == 0);
        static const char *const order[] = {"general.architecture", "t.u8", "t.i8", "t.u16", "t.i16", "t.u32",
                                            "t.i32", "t.f32", "t.bool", "t.str", "t.u64", "t.i64", "t.f64",
                                            "a.f32", "a.i32", "a.bool", "a.empty", "a.str", "a.str_empty"};
        CHECK(syn_gguf_n_kv(g) == (int64_t)(sizeof order / sizeof *order));
        for (int64_t i = 0; i < syn_gguf_n_kv(g) && i < (int64_t)(sizeof order / sizeof *order); i++)
            CHECK_MSG(strcmp(syn_gguf_key_name(g, i), order[i]) == 0, "key %lld is %s", (long long)i,
                      syn_gguf_key_name(g, i));
        syn_gguf_str s;
        uint32_t u;
        uint64_t u64;
        int64_t v;
        double d;
        float f;
        bool b;
        CHECK(syn_gguf_get_str(g, "general.architecture", &s) == 0 && str_eq(s, "qwen2"));
        CHECK(syn_gguf_key_type(g, syn_gguf_find_key(g, "t.u8")) == SYN_GGUF_U8);
        CHECK(syn_gguf_get_u32(g, "t.u8", &u) == 0 && u == 200);
        CHECK(syn_gguf_get_i64(g, "t.i8", &v) == 0 && v == -100);
        CHECK(syn_gguf_get_u32(g, "t.i8", &u) == SYN_ERR_RANGE);
        CHECK(syn_gguf_get_u32(g, "t.u16", &u) == 0 && u == 60000);
        CHECK(syn_gguf_get_i64(g, "t.i16", &v) == 0 && v == -30000);
        CHECK(syn_gguf_get_u32(g, "t.u32", &u) == 0 && u == 4000000000u);
        CHECK(syn_gguf_get_i64(g, "t.i32", &v) == 0 && v == -7);
        CHECK(syn_gguf_get_u64(g, "t.i32", &u64) == SYN_ERR_RANGE);
        CHECK(syn_gguf_get_f32(g, "t.f32", &f) == 0 && f == 0.25f);
        CHECK(syn_gguf_get_bool(g, "t.bool", &b) == 0 && b);
        CHECK(syn_gguf_get_str(g, "t.str", &s) == 0 && str_eq(s, "h\xc3\xa9llo"));
        CHECK(syn_gguf_get_u64(g, "t.u64", &u64) == 0 && u64 == UINT64_MAX);
        CHECK(syn_gguf_get_i64(g, "t.u64", &v) == SYN_ERR_RANGE);
        CHECK(syn_gguf_get_u32(g, "t.u64", &u) == SYN_ERR_RANGE);
        CHECK(syn_gguf_get_i64(g, "t.i64", &v) == 0 && v == i64);
        CHECK(syn_gguf_get_f64(g, "t.f64", &d) == 0 && d == f64);
        CHECK(syn_gguf_get_f32(g, "t.f64", &f) == 0 && f == (float)f64);
        const void *raw = syn_gguf_key_data(g, syn_gguf_find_key(g, "t.i16"));
        CHECK(raw && memcmp(raw, &i16, 2) == 0);

        int et;
        uint64_t n;
        const void *data;
        CHECK(syn_gguf_get_arr(g, "a.f32", &et, &n, &data) == 0 && et == SYN_GGUF_F32 && n == 3 &&
              memcmp(data, fa, sizeof fa) == 0);
        CHECK(syn_gguf_get_arr(g, "a.i32", &et, &n, &data) == 0 && et == SYN_GGUF_I32 && n == 4 &&
              memcmp(data, ia, sizeof ia) == 0);
        CHECK(syn_gguf_get_arr(g, "a.bool", &et, &n, &data) == 0 && et == SYN_GGUF_BOOL && n == 3 &&
              memcmp(data, ba, sizeof ba) == 0);
        CHECK(syn_gguf_get_arr(g, "a.empty", &et, &n, &data) == 0 && et == SYN_GGUF_U64 && n == 0);
        CHECK(syn_gguf_get_arr(g, "a.str", &et, &n, NULL) == 0 && et == SYN_GGUF_STRING && n == 4);
        for (uint64_t i = 0; i < 4; i++)
            CHECK(syn_gguf_get_arr_str(g, "a.str", i, &s) == 0 && str_eq(s, strs[i]));
        CHECK(syn_gguf_get_arr_str(g, "a.str_empty", 0, &s) == SYN_ERR_RANGE);

        const struct {
            const char *name;
            int type, n_dims;
            int64_t ne[4];
            const void *data;
            size_t size;
        } want[] = {
            {"t.f32", SYN_TYPE_F32, 2, {3, 2, 1, 1}, f32d, sizeof f32d},
            {"t.f16", SYN_TYPE_F16, 1, {5, 1, 1, 1}, f16d, sizeof f16d},
            {"t.q8_0", SYN_TYPE_Q8_0, 2, {32, 2, 1, 1}, q8d, sizeof q8d},
            {"t.q4_K", SYN_TYPE_Q4_K, 4, {256, 1, 1, 1}, q4kd, sizeof q4kd},
            {"t.zero", SYN_TYPE_BF16, 3, {2, 3, 4, 1}, NULL, 48},
            {"t.empty", SYN_TYPE_F32, 2, {0, 4, 1, 1}, NULL, 0},
        };
        CHECK(syn_gguf_n_tensors(g) == 6);
        for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
            const syn_gguf_tensor *t = syn_gguf_tensor_at(g, (int64_t)i);
            CHECK(t && syn_gguf_find_tensor(g, want[i].name) == (int64_t)i);
            if (!t)
                continue;
            CHECK_MSG(strcmp(t->name, want[i].name) == 0 && t->type == want[i].type &&
                          t->n_dims == want[i].n_dims && memcmp(t->ne, want[i].ne, sizeof t->ne) == 0 &&
                          t->size == want[i].size && t->offset % 32 == 0,
                      "tensor %s", want[i].name);
            if (want[i].data)
                CHECK(t->size == want[i].size && memcmp(t->data, want[i].data, want[i].size) == 0);
            else
                for (size_t k = 0; k < t->size; k++)
                    CHECK(((const uint8_t *)t->data)[k] == 0);
        }
        check_tensors_consistent(g, path);
        syn_gguf_close(g);
    }
    free(mem);
    unlink(path);

    /* a custom alignment round-trips; a bad one is refused at write time */
    syn_gguf_writer *w2 = syn_gguf_writer_new();
    CHECK(syn_gguf_set_u32(w2, "general.alignment", 64) == 0);
    CHECK(syn_gguf_add_tensor(w2, "a", SYN_TYPE_F32, 1, (int64_t[]){3}, f32d, &err) == 0);
    CHECK(syn_gguf_add_tensor(w2, "b", SYN_TYPE_F32, 1, (int64_t[]){3}, f32d + 3, &err) == 0);
    CHECK(syn_gguf_write_memory(w2, &mem, &mem_size, &err) == 0);
    CHECK(syn_gguf_open_memory(mem, mem_size, &g, &err) == 0);
    if (g) {
        const syn_gguf_tensor *t = syn_gguf_tensor_at(g, 1);
        CHECK(syn_gguf_alignment(g) == 64 && t->offset == 64 && memcmp(t->data, f32d + 3, 12) == 0);
        CHECK(mem_size == syn_gguf_data_offset(g) + 128);
        syn_gguf_close(g);
    }
    free(mem);
    CHECK(syn_gguf_set_u32(w2, "general.alignment", 24) == 0);
    CHECK(syn_gguf_write_memory(w2, &mem, &mem_size, &err) == SYN_ERR_INVALID && strstr(err.msg, "alignment"));
    syn_gguf_writer_free(w2);
    syn_gguf_writer_free(w);
}

int main(void)
{
    test_all_files();
    test_qwen2_f16();
    test_quantized_and_vocab();
    test_bad_paths();
    test_hostile();
    test_writer();
    return CHECK_DONE();
}
