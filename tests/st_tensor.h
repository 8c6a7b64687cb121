/* A syn_st_tensor for the safetensors writer, its size from dtype and
 * shape (tests/test_safetensors.c, tests/fuzz_safetensors.c). */
#ifndef SYN_TESTS_ST_TENSOR_H
#define SYN_TESTS_ST_TENSOR_H
#include <stdint.h>
#include <string.h>

#include <synapse/safetensors.h>

static inline syn_st_tensor tensor(const char *name, int dtype, int n_dims, const int64_t *shape, const void *data)
{
    syn_st_tensor t;
    memset(&t, 0, sizeof t);
    t.name = name;
    t.dtype = dtype;
    t.n_dims = n_dims;
    uint64_t nel = 1;
    for (int d = 0; d < n_dims; d++)
        t.shape[d] = shape[d], nel *= (uint64_t)shape[d];
    t.data = data;
    t.size = (size_t)(nel * (uint64_t)syn_st_dtype_bits(dtype) / 8);
    return t;
}

#endif
