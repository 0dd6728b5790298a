/* Target: data_from_wire on a CLIENT connection of any built backend, after
   its real ClientHello was sent (the core's first-record check and
   CertificateRequest scan, then the library). See wire.h. */
#include "wire.h"

int polytls_fuzz_one(const uint8_t *data, size_t size)
{
    fz_wire_run(data, size, false, false);
    return 0;
}
