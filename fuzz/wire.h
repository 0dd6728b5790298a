/* The shared body of the server_wire and client_wire targets. */
#ifndef POLYTLS_FUZZ_WIRE_H
#define POLYTLS_FUZZ_WIRE_H

#include "fuzz_common.h"

/* Input: byte 0 = backend, byte 1 = flags (bits 0-1 versions, bits 2-3
   client auth for a server, bit 4 = eof at the end, bit 5 = send
   application data first), byte 2 = number of split points (0..7), then two
   bytes per split point (offsets into the rest, taken modulo its length),
   then the bytes the peer "sent".
   resume (the *_wire_resume targets): the server has resumption on (flag
   bits 2-3 unused) and the client starts with a session, which a real
   handshake got from the server of backend (byte 0 + flag bits 2-3). */
void fz_wire_run(const uint8_t *data, size_t size, bool server, bool resume);

#endif
