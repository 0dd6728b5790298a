/* Target: data_from_wire on a SERVER connection with resumption on, of any
   built backend: the pre_shared_key / session_ticket extensions, the
   decryption of attacker-chosen tickets through the core's ticket keys
   (OpenSSL's key callback, GnuTLS, wolfSSL's AEAD callback and its
   ClientHello scan). The seeds carry tickets valid under the harness's
   fixed ticket key (fz_cached_resume_server). See wire.h. */
#include "wire.h"

int polytls_fuzz_one(const uint8_t *data, size_t size)
{
    fz_wire_run(data, size, true, true);
    return 0;
}
