/* Deterministic mutation fuzzer for the GGUF reader, run by make check.
 * Seeds: small files made with the writer (every value type, several tensor
 * types, a custom alignment) and real test files. Each seed is mutated (bit
 * flips, interesting bytes/u32/u64, truncation, deletion), copied into a buffer
 * of exactly its size and parsed from memory; a file that opens is walked
 * completely (every key, array element and tensor byte) so ASan sees any read
 * outside it. Fixed seed; FUZZ_GGUF_ITERS scales the random rounds.
 * `fuzz_gguf --write-seeds DIR` saves the writer-made seeds as a corpus for the
 * libFuzzer entry point in fuzz_gguf_libfuzzer.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synapse/gguf.h>
#include "tests/check.h"
#include "tests/fuzz_common.h"

/* ------------------------------------------------------------ walking */

/* Reads everything a caller could read and checks the reader's own invariants. */
static uint64_t fuzz_walk(const syn_gguf *g, const uint8_t *buf, size_t size)
{
    uint64_t h = syn_gguf_version(g);
    size_t bsize;
    CHECK(syn_gguf_base(g, &bsize) == buf && bsize == size);
    for (int64_t i = 0; i < syn_gguf_n_kv(g); i++) {
        const char *key = syn_gguf_key_name(g, i);
        h += touch(key, strlen(key) + 1);
        CHECK(syn_gguf_find_key(g, key) == i);
        int type = syn_gguf_key_type(g, i);
        uint32_t u32;
        int64_t i64;
        uint64_t u64;
        double f64;
        float f32;
        bool b;
        syn_gguf_str s;
        h += (uint64_t)syn_gguf_get_u32(g, key, &u32) + (uint64_t)syn_gguf_get_i64(g, key, &i64) +
             (uint64_t)syn_gguf_get_u64(g, key, &u64) + (uint64_t)syn_gguf_get_f64(g, key, &f64) +
             (uint64_t)syn_gguf_get_f32(g, key, &f32) + (uint64_t)syn_gguf_get_bool(g, key, &b);
        const void *raw = syn_gguf_key_data(g, i);
        if (type == SYN_GGUF_STRING) {
            CHECK(raw == NULL);
            if (syn_gguf_get_str(g, key, &s) == 0) {
                CHECK((const uint8_t *)s.s >= buf && s.len <= size - (size_t)((const uint8_t *)s.s - buf));
                h += touch(s.s, s.len);
            } else {
                CHECK(0);
            }
        } else if (type == SYN_GGUF_ARRAY) {
            int et;
            uint64_t n;
            const void *data;
            CHECK(syn_gguf_get_arr(g, key, &et, &n, &data) == 0);
            if (et == SYN_GGUF_STRING) {
                for (uint64_t k = 0; k < n; k++) {
                    CHECK(syn_gguf_arr_str_at(g, i, k, &s) == 0);
                    h += touch(s.s, s.len);
                }
                CHECK(syn_gguf_get_arr_str(g, key, n, &s) == SYN_ERR_RANGE);
            } else {
                static const uint8_t esz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
                CHECK(et >= 0 && et <= SYN_GGUF_F64 && esz[et] > 0);
                if (et >= 0 && et <= SYN_GGUF_F64)
                    h += touch(data, n * esz[et]);
            }
        } else {
            static const uint8_t ssz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
            CHECK(raw != NULL && type >= 0 && type <= SYN_GGUF_F64);
            if (raw)
                h += touch(raw, ssz[type]);
        }
    }
    for (int64_t i = 0; i < syn_gguf_n_tensors(g); i++) {
        const syn_gguf_tensor *t = syn_gguf_tensor_at(g, i);
        CHECK(syn_gguf_find_tensor(g, t->name) == i);
        CHECK(t->n_dims >= 1 && t->n_dims <= 4 && syn_type_block_size(t->type) > 0);
        CHECK((const uint8_t *)t->data >= buf && t->size <= size - (size_t)((const uint8_t *)t->data - buf));
        h += touch(t->name, strlen(t->name) + 1) + touch(t->data, t->size);
    }
    return h;
}

/* Parses data[0..size) from an exact-size copy and walks it if it opens. */
static void run_one(const uint8_t *data, size_t size, struct stats *st)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        exit(99);
    if (size)
        memcpy(copy, data, size);
    syn_gguf *g = NULL;
    syn_error err = {0};
    int rc = syn_gguf_open_memory(copy, size, &g, &err);
    st->runs++;
    if (rc == 0) {
        fuzz_sink += fuzz_walk(g, copy, size);
        syn_gguf_close(g);
        st->opened++;
    } else {
        CHECK(g == NULL);
        fuzz_count_failure(rc, &err, st);
    }
    free(copy);
}

#ifndef FUZZ_GGUF_NO_MAIN
/* ------------------------------------------------------------ seeds */

struct seed {
    const char *name;
    uint8_t *data;
    size_t size;
    size_t header; /* bytes before the data section: where mutations matter */
};

static uint8_t *write_seed(syn_gguf_writer *w, size_t *size)
{
    void *mem = NULL;
    syn_error err;
    if (syn_gguf_write_memory(w, &mem, size, &err) != 0) {
        fprintf(stderr, "seed: %s\n", err.msg);
        exit(99);
    }
    syn_gguf_writer_free(w);
    return mem;
}

static uint8_t *seed_every_type(size_t *size)
{
    syn_gguf_writer *w = syn_gguf_writer_new();
    uint8_t u8 = 7;
    int8_t i8 = -7;
    uint16_t u16 = 700;
    int16_t i16 = -700;
    int64_t i64 = -7000000000LL;
    double f64 = 0.5;
    syn_gguf_set_str(w, "general.architecture", "qwen2");
    syn_gguf_set_scalar(w, "u8", SYN_GGUF_U8, &u8);
    syn_gguf_set_scalar(w, "i8", SYN_GGUF_I8, &i8);
    syn_gguf_set_scalar(w, "u16", SYN_GGUF_U16, &u16);
    syn_gguf_set_scalar(w, "i16", SYN_GGUF_I16, &i16);
    syn_gguf_set_u32(w, "u32", 70000);
    syn_gguf_set_i32(w, "i32", -70000);
    syn_gguf_set_f32(w, "f32", 1.5f);
    syn_gguf_set_bool(w, "bool", true);
    syn_gguf_set_u64(w, "u64", 1ull << 40);
    syn_gguf_set_scalar(w, "i64", SYN_GGUF_I64, &i64);
    syn_gguf_set_scalar(w, "f64", SYN_GGUF_F64, &f64);
    int32_t ia[5] = {1, 2, 3, 4, 5};
    float fa[3] = {0.5f, 1, 2};
    uint8_t ba[2] = {1, 0};
    syn_gguf_set_arr(w, "arr.i32", SYN_GGUF_I32, ia, 5);
    syn_gguf_set_arr(w, "arr.f32", SYN_GGUF_F32, fa, 3);
    syn_gguf_set_arr(w, "arr.bool", SYN_GGUF_BOOL, ba, 2);
    const char *toks[] = {"<s>", "</s>", "a", "", "bc", "\xe7\xbb\x99"};
    syn_gguf_set_arr_str(w, "tokens", toks, 6);
    float f[64];
    for (int i = 0; i < 64; i++)
        f[i] = (float)i;
    uint8_t q[2 * 34 + 144];
    memset(q, 0x5a, sizeof q);
    syn_gguf_add_tensor(w, "t.f32", SYN_TYPE_F32, 2, (int64_t[]){4, 3}, f, NULL);
    syn_gguf_add_tensor(w, "t.q8_0", SYN_TYPE_Q8_0, 2, (int64_t[]){32, 2}, q, NULL);
    syn_gguf_add_tensor(w, "t.q6_K", SYN_TYPE_Q6_K, 1, (int64_t[]){256}, q, NULL);
    syn_gguf_add_tensor(w, "t.f16", SYN_TYPE_F16, 4, (int64_t[]){2, 2, 2, 2}, f, NULL);
    return write_seed(w, size);
}

static uint8_t *seed_aligned(size_t *size)
{
    syn_gguf_writer *w = syn_gguf_writer_new();
    syn_gguf_set_u32(w, "general.alignment", 64);
    syn_gguf_set_str(w, "name", "aligned");
    float f[40] = {0};
    syn_gguf_add_tensor(w, "a", SYN_TYPE_F32, 1, (int64_t[]){5}, f, NULL);
    syn_gguf_add_tensor(w, "b", SYN_TYPE_BF16, 2, (int64_t[]){3, 7}, f, NULL);
    syn_gguf_add_tensor(w, "c", SYN_TYPE_F32, 1, (int64_t[]){1}, f, NULL);
    return write_seed(w, size);
}

static uint8_t *seed_vocab(size_t *size)
{
    syn_gguf_writer *w = syn_gguf_writer_new();
    char store[64][8];
    const char *toks[64];
    for (int i = 0; i < 64; i++) {
        snprintf(store[i], sizeof store[i], "t%d", i * 37);
        toks[i] = store[i];
    }
    syn_gguf_set_str(w, "tokenizer.ggml.model", "gpt2");
    syn_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 64);
    syn_gguf_set_arr_str(w, "tokenizer.ggml.merges", toks + 1, 20);
    return write_seed(w, size);
}

/* ------------------------------------------------------------ mutation */

static const uint8_t interesting8[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x08, 0x09, 0x0c, 0x10};
static const uint32_t interesting32[] = {0, 1, 2, 4, 5, 8, 9, 12, 13, 16, 31, 32, 64, 0x7fffffffu, 0x80000000u, 0xffffffffu};

static size_t mutate(uint8_t *buf, size_t size, size_t header)
{
    int n = 1 + (int)rng_below(4);
    for (int m = 0; m < n && size > 0; m++) {
        /* most mutations land in the header, where the structure is */
        size_t span = (rng() & 7) ? (header < size ? header : size) : size;
        size_t pos = rng_below(span);
        switch (rng_below(7)) {
        case 0:
            buf[pos] ^= (uint8_t)(1u << rng_below(8));
            break;
        case 1:
            buf[pos] = interesting8[rng_below(sizeof interesting8)];
            break;
        case 2:
            if (pos + 4 <= size) {
                uint32_t v = interesting32[rng_below(sizeof interesting32 / sizeof *interesting32)];
                for (int i = 0; i < 4; i++)
                    buf[pos + i] = (uint8_t)(v >> (8 * i));
            }
            break;
        case 3:
            if (pos + 8 <= size) {
                const uint64_t vals[] = {UINT64_MAX, 1ull << 63, INT64_MAX, 1ull << 32, 1ull << 61,
                                         (uint64_t)size, (uint64_t)(size - pos), (uint64_t)(size - pos - 8), 0};
                uint64_t v = vals[rng_below(sizeof vals / sizeof *vals)];
                for (int i = 0; i < 8; i++)
                    buf[pos + i] = (uint8_t)(v >> (8 * i));
            }
            break;
        case 4: /* truncate, half the time by a few bytes so the last tensor runs short */
            size = (rng() & 1) ? pos : size - 1 - rng_below(size < 64 ? size : 64);
            break;
        case 5: { /* delete a short run: shifts every later field */
            size_t k = 1 + rng_below(16);
            if (pos + k <= size) {
                memmove(buf + pos, buf + pos + k, size - pos - k);
                size -= k;
            }
            break;
        }
        default: /* small arithmetic on a byte: off-by-one lengths and counts */
            buf[pos] = (uint8_t)(buf[pos] + (rng() & 1 ? 1 : -1));
            break;
        }
    }
    return size;
}

static void fuzz_seed(const struct seed *s, long rounds, bool exhaustive, struct stats *st)
{
    uint8_t *buf = malloc(s->size);
    if (!buf)
        exit(99);
    size_t header = s->header < s->size ? s->header : s->size;
    struct stats before = *st;

    run_one(s->data, s->size, st);
    CHECK_MSG(st->opened == before.opened + 1, "seed %s does not open", s->name);

    /* small seeds: every truncation and every header byte set to each interesting
     * value; large ones: a sample of truncations */
    if (exhaustive)
        for (size_t len = 0; len < s->size; len++)
            run_one(s->data, len, st);
    else
        for (int k = 0; k < 200; k++)
            run_one(s->data, rng_below(header), st);
    if (exhaustive)
        for (size_t pos = 0; pos < header; pos++)
            for (size_t v = 0; v < sizeof interesting8; v++) {
                memcpy(buf, s->data, s->size);
                buf[pos] = interesting8[v];
                run_one(buf, s->size, st);
            }
    for (long r = 0; r < rounds; r++) {
        memcpy(buf, s->data, s->size);
        size_t size = mutate(buf, s->size, header);
        run_one(buf, size, st);
    }
    free(buf);
    fprintf(stderr, "fuzz_gguf: %-24s %6ld runs, %6ld opened, %6ld format, %5ld unsupported\n", s->name,
            st->runs - before.runs, st->opened - before.opened, st->format - before.format,
            st->unsupported - before.unsupported);
}

static size_t header_size(const uint8_t *data, size_t size)
{
    syn_gguf *g;
    syn_error err;
    if (syn_gguf_open_memory(data, size, &g, &err) != 0)
        return size;
    size_t h = syn_gguf_data_offset(g);
    syn_gguf_close(g);
    return h < size ? h : size;
}

static int write_seeds(const char *dir)
{
    uint8_t *(*const makers[])(size_t *) = {seed_every_type, seed_aligned, seed_vocab};
    for (size_t i = 0; i < sizeof makers / sizeof *makers; i++) {
        size_t size;
        uint8_t *data = makers[i](&size);
        char path[4096];
        snprintf(path, sizeof path, "%s/seed%zu.gguf", dir, i);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
            perror(path);
            return 1;
        }
        free(data);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
        return write_seeds(argv[2]);
    long scale = getenv("FUZZ_GGUF_ITERS") ? atol(getenv("FUZZ_GGUF_ITERS")) : 3000;
    struct seed seeds[6];
    int n = 0;
    seeds[n].name = "writer/every-type";
    seeds[n].data = seed_every_type(&seeds[n].size);
    n++;
    seeds[n].name = "writer/aligned-64";
    seeds[n].data = seed_aligned(&seeds[n].size);
    n++;
    seeds[n].name = "writer/vocab";
    seeds[n].data = seed_vocab(&seeds[n].size);
    n++;
    int n_small = n;
    static const char *const real[] = {"models/lora-a.gguf", "vocab/ggml-vocab-llama-spm.gguf"};
    for (size_t i = 0; i < sizeof real / sizeof *real; i++) {
        seeds[n].data = (uint8_t *)syn_read_file(testdata(real[i]), &seeds[n].size);
        seeds[n].name = real[i];
        if (seeds[n].data)
            n++;
        else
            fprintf(stderr, "fuzz_gguf: %s not readable, skipping that seed\n", testdata(real[i]));
    }

    struct stats st = {0};
    clock_t t0 = clock();
    for (int i = 0; i < n; i++) {
        seeds[i].header = header_size(seeds[i].data, seeds[i].size);
        bool small = i < n_small;
        fuzz_seed(&seeds[i], small ? scale : scale / 10, small, &st);
        free(seeds[i].data);
    }
    fprintf(stderr, "fuzz_gguf: %ld runs in %.1fs: %ld opened, %ld format, %ld unsupported, %ld other\n", st.runs,
            (double)(clock() - t0) / CLOCKS_PER_SEC, st.opened, st.format, st.unsupported, st.other);
    /* Both outcomes must be exercised, and nothing but FORMAT/UNSUPPORTED may come back. */
    CHECK(st.opened > n && st.format > st.runs / 10 && st.other == 0);
    return CHECK_DONE();
}
#endif
