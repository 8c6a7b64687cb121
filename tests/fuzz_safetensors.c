/* Deterministic mutation fuzzer for the safetensors reader (and the JSON
 * parser under it), run by make check. Seeds: small files made with the
 * writer (every dtype, an adapter-like file with metadata, scalars, empty
 * tensors and names that need escapes). Each seed is mutated (bit flips,
 * interesting bytes, JSON tokens inserted or numbers replaced in the header
 * with the length field fixed up so the JSON gets parsed, header lengths,
 * truncation, deletion), copied into a buffer of exactly its size and parsed
 * from memory; a file that opens is walked completely (every tensor byte,
 * name and metadata string) and its invariants checked, so ASan sees any
 * read outside it. Fixed seed; FUZZ_SAFETENSORS_ITERS scales the random
 * rounds. `fuzz_safetensors --write-seeds DIR` saves the seeds as a corpus. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synapse/safetensors.h>
#include "tests/check.h"
#include "tests/st_tensor.h"
#include "tests/fuzz_common.h"

/* ------------------------------------------------------------ walking */

/* Reads everything a caller could read and checks the reader's own invariants. */
static uint64_t fuzz_walk(const syn_st *st, const uint8_t *buf, size_t size)
{
    size_t bsize;
    CHECK(syn_st_base(st, &bsize) == buf && bsize == size);
    size_t data_off = syn_st_data_offset(st);
    CHECK(data_off >= 10 && data_off <= size); /* "{}" at least */
    uint64_t h = data_off, at = 0;
    for (int64_t i = 0; i < syn_st_n_tensors(st); i++) {
        const syn_st_tensor *t = syn_st_tensor_at(st, i);
        CHECK(syn_st_find(st, t->name) == i);
        CHECK(t->dtype >= 0 && t->dtype < SYN_ST_DTYPE_COUNT && t->n_dims >= 0 && t->n_dims <= SYN_ST_MAX_DIMS);
        uint64_t nel = 1;
        for (int d = 0; d < SYN_ST_MAX_DIMS; d++) {
            CHECK(t->shape[d] >= 0 && (d < t->n_dims || t->shape[d] == 1));
            nel *= (uint64_t)t->shape[d];
        }
        CHECK(nel * (uint64_t)syn_st_dtype_bits(t->dtype) / 8 == t->size);
        CHECK(t->offset == at && (const uint8_t *)t->data == buf + data_off + t->offset);
        CHECK(t->size <= size - data_off - t->offset);
        at += t->size;
        h += touch(t->name, strlen(t->name) + 1) + touch(t->data, t->size);
    }
    CHECK(data_off + at == size);
    CHECK(syn_st_tensor_at(st, syn_st_n_tensors(st)) == NULL);
    for (int64_t i = 0; i < syn_st_n_metadata(st); i++) {
        const syn_st_kv *kv = syn_st_metadata_at(st, i);
        CHECK(syn_st_metadata(st, kv->key) == kv->value);
        h += touch(kv->key, strlen(kv->key) + 1) + touch(kv->value, strlen(kv->value) + 1);
    }
    return h;
}

/* Parses data[0..size) from an exact-size copy and walks it if it opens. */
static void run_one(const uint8_t *data, size_t size, struct stats *s)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        exit(99);
    if (size)
        memcpy(copy, data, size);
    syn_st *st = NULL;
    syn_error err = {0};
    int rc = syn_st_open_memory(copy, size, &st, &err);
    s->runs++;
    if (rc == 0) {
        fuzz_sink += fuzz_walk(st, copy, size);
        syn_st_close(st);
        s->opened++;
    } else {
        CHECK(st == NULL);
        fuzz_count_failure(rc, &err, s);
    }
    free(copy);
}

#ifndef FUZZ_SAFETENSORS_NO_MAIN
/* ------------------------------------------------------------ seeds */

struct seed {
    const char *name;
    uint8_t *data;
    size_t size;
    size_t header; /* bytes before the data region: where mutations matter */
};

static uint8_t *write_seed(const syn_st_tensor *t, size_t n, const syn_st_kv *meta, size_t n_meta, size_t *size)
{
    void *mem = NULL;
    syn_error err;
    if (syn_st_write_memory(t, n, meta, n_meta, &mem, size, &err) != 0) {
        fprintf(stderr, "seed: %s\n", err.msg);
        exit(99);
    }
    return mem;
}


static uint8_t pattern[4096];

static uint8_t *seed_every_dtype(size_t *size)
{
    static char names[SYN_ST_DTYPE_COUNT][32];
    syn_st_tensor t[SYN_ST_DTYPE_COUNT];
    for (int d = 0; d < SYN_ST_DTYPE_COUNT; d++) {
        snprintf(names[d], sizeof names[d], "t.%s", syn_st_dtype_name(d));
        t[d] = tensor(names[d], d, 2, (int64_t[]){2, 4}, pattern);
    }
    syn_st_kv meta[] = {{"format", "pt"}, {"n", "22"}};
    return write_seed(t, SYN_ST_DTYPE_COUNT, meta, 2, size);
}

static uint8_t *seed_adapter(size_t *size)
{
    syn_st_tensor t[] = {
        tensor("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", SYN_ST_F32, 2, (int64_t[]){4, 16}, pattern),
        tensor("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", SYN_ST_F32, 2, (int64_t[]){16, 4}, pattern),
        tensor("base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight", SYN_ST_BF16, 2, (int64_t[]){4, 16}, pattern),
        tensor("base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight", SYN_ST_BF16, 2, (int64_t[]){16, 4}, pattern),
    };
    syn_st_kv meta[] = {{"format", "pt"}, {"synapse.adapter", "{\"r\": 4, \"alpha\": 8}"}};
    return write_seed(t, sizeof t / sizeof *t, meta, 2, size);
}

static uint8_t *seed_odd(size_t *size)
{
    syn_st_tensor t[] = {
        tensor("scalar", SYN_ST_F64, 0, NULL, pattern),
        tensor("empty", SYN_ST_F16, 3, (int64_t[]){2, 0, 3}, NULL),
        tensor("esc \"q\"\\\n\t\x01 \xc3\xa9\xf0\x9f\x98\x80", SYN_ST_U8, 1, (int64_t[]){3}, pattern),
        tensor("rank8", SYN_ST_I16, 8, (int64_t[]){1, 2, 1, 2, 1, 1, 1, 3}, pattern),
        tensor("f4", SYN_ST_F4, 1, (int64_t[]){6}, pattern),
        tensor("f6", SYN_ST_F6_E3M2, 1, (int64_t[]){4}, pattern),
    };
    return write_seed(t, sizeof t / sizeof *t, NULL, 0, size);
}

/* ------------------------------------------------------------ mutation */

static const uint8_t interesting8[] = {'{', '}', '[', ']', '"', ':', ',', '-', '0', '9', '.', 'e',
                                       '\\', ' ', 0x00, 0x7f, 0x80, 0xff, 0x01, 0xc3};
static const char *const tokens[] = {
    "0", "1", "-1", "-0", "2.5", "1e2", "1e400", "18446744073709551615", "18446744073709551616",
    "9223372036854775807", "4294967296", "\"", "\\", "\\u0000", "\\uD800", "\\u00e9", "\\n", "{", "}", "[", "]",
    ",", ":", "null", "true", "\"F32\"", "\"F4\"", "\"BF16\"", "\"__metadata__\"", "\"dtype\"", "\"shape\"",
    "\"data_offsets\"", " ", "\xff", "\xed\xa0\x80", "[0,0]", "[]", "{}", "[1,1,1,1,1,1,1,1,1]",
};

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Replaces buf[pos, pos + del) by ins[0..n) (buf has room for cap bytes).
 * Inside the header, the length field follows unless keep_len. */
static size_t splice(uint8_t *buf, size_t size, size_t cap, size_t *header, size_t pos, size_t del, const char *ins,
                     size_t n, bool keep_len)
{
    if (pos + del > size || size - del + n > cap)
        return size;
    memmove(buf + pos + n, buf + pos + del, size - pos - del);
    memcpy(buf + pos, ins, n);
    size = size - del + n;
    if (pos >= 8 && pos < *header && !keep_len && size >= 8) {
        *header = *header - del + n;
        put_u64(buf, get_u64(buf) - del + n);
    }
    return size;
}

/* The first "data_offsets":[b,e] at or after pos becomes [b+d,e+d]. */
static size_t shift_offsets(uint8_t *buf, size_t size, size_t cap, size_t *header, size_t pos, bool keep_len)
{
    static const char key[] = "\"data_offsets\":[";
    size_t k = sizeof key - 1, end = *header < size ? *header : size;
    for (size_t p = pos; p + k < end; p++) {
        if (memcmp(buf + p, key, k) != 0)
            continue;
        size_t q = p + k;
        unsigned long long b = 0, e = 0;
        int used = 0;
        char tmp[64];
        size_t n = end - q < sizeof tmp - 1 ? end - q : sizeof tmp - 1;
        memcpy(tmp, buf + q, n);
        tmp[n] = '\0';
        if (sscanf(tmp, "%llu,%llu]%n", &b, &e, &used) != 2 || used <= 0 || b > 1ull << 60 || e > 1ull << 60)
            return size;
        static const long long deltas[] = {-8, -4, -2, -1, 1, 2, 4, 8, 16};
        long long d = deltas[rng_below(sizeof deltas / sizeof *deltas)];
        char rep[64];
        int len = snprintf(rep, sizeof rep, "%lld,%lld]", (long long)b + d, (long long)e + d);
        return splice(buf, size, cap, header, q, (size_t)used, rep, (size_t)len, keep_len);
    }
    return size;
}

static size_t mutate(uint8_t *buf, size_t size, size_t cap, size_t header)
{
    int n = 1 + (int)rng_below(4);
    for (int m = 0; m < n && size > 0; m++) {
        /* most mutations land in the header, where the structure is */
        size_t span = (rng() & 7) ? (header < size ? header : size) : size;
        size_t pos = rng_below(span);
        bool keep_len = (rng() & 7) == 0;
        switch (rng_below(9)) {
        case 0:
            buf[pos] ^= (uint8_t)(1u << rng_below(8));
            break;
        case 1:
            buf[pos] = interesting8[rng_below(sizeof interesting8)];
            break;
        case 2: { /* a header length: near the real one, or hostile */
            uint64_t real = get_u64(buf);
            const uint64_t vals[] = {0, 1, real - 1, real + 1, real + 8, (uint64_t)size - 8, (uint64_t)size - 7,
                                     100000000, 100000001, UINT64_MAX, 1ull << 63, 2};
            if (size >= 8)
                put_u64(buf, vals[rng_below(sizeof vals / sizeof *vals)]);
            break;
        }
        case 3: { /* insert a JSON token */
            const char *tk = tokens[rng_below(sizeof tokens / sizeof *tokens)];
            size = splice(buf, size, cap, &header, pos < 8 ? 8 : pos, 0, tk, strlen(tk), keep_len);
            break;
        }
        case 4: { /* replace a number with another */
            size_t p = pos;
            while (p < header && p < size && !(buf[p] >= '0' && buf[p] <= '9'))
                p++;
            size_t e = p;
            while (e < header && e < size && buf[e] >= '0' && buf[e] <= '9')
                e++;
            if (e > p) {
                const char *tk = tokens[rng_below(11)];
                size = splice(buf, size, cap, &header, p, e - p, tk, strlen(tk), keep_len);
            }
            break;
        }
        case 5: /* truncate, half the time by a few bytes so the last tensor runs short */
            size = (rng() & 1) ? pos : size - 1 - rng_below(size < 64 ? size : 64);
            break;
        case 6: { /* delete a short run: shifts every later field */
            size_t k = 1 + rng_below(16);
            if (pos + k <= size)
                size = splice(buf, size, cap, &header, pos, k, "", 0, keep_len);
            break;
        }
        case 7: /* move a tensor: its size holds, so gaps and overlaps get checked */
            size = shift_offsets(buf, size, cap, &header, pos, keep_len);
            break;
        default: /* small arithmetic on a byte: off-by-one lengths, digits, quotes */
            buf[pos] = (uint8_t)(buf[pos] + (rng() & 1 ? 1 : -1));
            break;
        }
    }
    return size;
}

static void fuzz_seed(const struct seed *s, long rounds, struct stats *st)
{
    size_t cap = s->size + 4 * 64;
    uint8_t *buf = malloc(cap);
    if (!buf)
        exit(99);
    size_t header = s->header < s->size ? s->header : s->size;
    struct stats before = *st;

    run_one(s->data, s->size, st);
    CHECK_MSG(st->opened == before.opened + 1, "seed %s does not open", s->name);

    /* every truncation, and every header byte set to each interesting value */
    for (size_t len = 0; len < s->size; len++)
        run_one(s->data, len, st);
    for (size_t pos = 0; pos < header; pos++)
        for (size_t v = 0; v < sizeof interesting8; v++) {
            memcpy(buf, s->data, s->size);
            buf[pos] = interesting8[v];
            run_one(buf, s->size, st);
        }
    for (long r = 0; r < rounds; r++) {
        memcpy(buf, s->data, s->size);
        size_t size = mutate(buf, s->size, cap, header);
        run_one(buf, size, st);
    }
    free(buf);
    fprintf(stderr, "fuzz_safetensors: %-18s %6ld runs, %6ld opened, %6ld format, %5ld unsupported\n", s->name,
            st->runs - before.runs, st->opened - before.opened, st->format - before.format,
            st->unsupported - before.unsupported);
}

static size_t header_size(const uint8_t *data, size_t size)
{
    syn_st *st;
    syn_error err;
    if (syn_st_open_memory(data, size, &st, &err) != 0)
        return size;
    size_t h = syn_st_data_offset(st);
    syn_st_close(st);
    return h;
}

static uint8_t *(*const makers[])(size_t *) = {seed_every_dtype, seed_adapter, seed_odd};
static const char *const maker_names[] = {"writer/every-dtype", "writer/adapter", "writer/odd"};

static int write_seeds(const char *dir)
{
    for (size_t i = 0; i < sizeof makers / sizeof *makers; i++) {
        size_t size;
        uint8_t *data = makers[i](&size);
        char path[4096];
        snprintf(path, sizeof path, "%s/seed%zu.safetensors", dir, i);
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
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (uint8_t)(i * 37 + 11);
    if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
        return write_seeds(argv[2]);
    long rounds = getenv("FUZZ_SAFETENSORS_ITERS") ? atol(getenv("FUZZ_SAFETENSORS_ITERS")) : 20000;
    struct stats st = {0};
    clock_t t0 = clock();
    int n = (int)(sizeof makers / sizeof *makers);
    for (int i = 0; i < n; i++) {
        struct seed s = {.name = maker_names[i]};
        s.data = makers[i](&s.size);
        s.header = header_size(s.data, s.size);
        fuzz_seed(&s, rounds, &st);
        free(s.data);
    }
    fprintf(stderr, "fuzz_safetensors: %ld runs in %.1fs: %ld opened, %ld format, %ld unsupported, %ld other\n",
            st.runs, (double)(clock() - t0) / CLOCKS_PER_SEC, st.opened, st.format, st.unsupported, st.other);
    /* Both outcomes must be exercised, and nothing but FORMAT/UNSUPPORTED may come back. */
    CHECK(st.opened > n && st.format > st.runs / 10 && st.unsupported > 0 && st.other == 0);
    return CHECK_DONE();
}
#endif
