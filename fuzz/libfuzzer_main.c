/* The libFuzzer entry point: every target is polytls_fuzz_one. Built only
   with -Dfuzzing=true and clang (-fsanitize=fuzzer,address,undefined). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    polytls_fuzz_one(data, size);
    return 0;
}
