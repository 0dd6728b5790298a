/* Target: data_from_wire on a SERVER connection of any built backend (the
   core's ClientHello buffering and pre-parse, then the library). See
   wire.h for the input layout. */
#include "wire.h"

int polytls_fuzz_one(const uint8_t *data, size_t size)
{
    fz_wire_run(data, size, true, false);
    return 0;
}
