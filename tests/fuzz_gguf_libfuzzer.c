/* libFuzzer entry point for the GGUF reader: the same parse-and-walk as the
 * make-check fuzzer (fuzz_gguf.c, included without its main), driven by
 * coverage instead of a fixed seed. Not built by make; by hand, from the
 * source root:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -I. \
 *     tests/fuzz_gguf_libfuzzer.c formats/gguf.c formats/gguf_write.c core/base/common.c -o /tmp/fuzz-gguf
 *   mkdir -p /tmp/gguf-corpus && /tmp/build/tests/fuzz_gguf --write-seeds /tmp/gguf-corpus
 *   /tmp/fuzz-gguf -max_len=65536 -max_total_time=600 /tmp/gguf-corpus
 * Runs on the libFuzzer thread only. */
#define FUZZ_GGUF_NO_MAIN
#include "tests/fuzz_gguf.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct stats st = {0};
    run_one(data, size, &st);
    if (check_failures)
        abort(); /* an invariant broke: make libFuzzer keep the input */
    return 0;
}
