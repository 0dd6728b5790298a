/* Target: data_from_wire on a CLIENT connection that offered a real
   session (TLS 1.3 PSK or TLS 1.2 ticket), of any built backend: the
   parsing of the server's answer to the offer (accepted, refused, a
   resumption the client did not offer), then get_session on whatever
   state results. See wire.h. */
#include "wire.h"

int polytls_fuzz_one(const uint8_t *data, size_t size)
{
    fz_wire_run(data, size, false, true);
    return 0;
}
