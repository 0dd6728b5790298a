/* The strict ClientHello pre-parser: the server side of the core buffers the
   wire bytes until the whole ClientHello has arrived, then reads SNI (and
   ALPN and the offered versions) so the user can choose a certificate chain
   before any backend sees the bytes. Stateless: call it again with the
   whole buffer whenever more bytes arrive. */
#ifndef POLYTLS_CORE_CLIENT_HELLO_H
#define POLYTLS_CORE_CLIENT_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polytls/polytls.h"

/* The largest ClientHello body accepted (the 24-bit handshake length). A
   legal ClientHello can in theory reach ~128 KiB, but real ones, even with
   post-quantum key shares, stay below a few KiB: 64 KiB bounds what the core
   buffers before any backend runs. A larger one is refused with
   illegal_parameter ("a field ... out of range", RFC 5246 §7.2.2). */
#define PTLS_CH_MAX_BODY 65536u
/* The most records a ClientHello may be split over. Real clients use one
   (a few with very large post-quantum key shares); since the pre-parser
   runs again on every arrival and walks every record header, a bound here
   keeps a peer that sends one-byte records from making the server's work
   quadratic in the ClientHello's size. More is refused with
   illegal_parameter. */
#define PTLS_CH_MAX_RECORDS 256u

typedef struct ptls_client_hello {
    char server_name[256];    /* SNI host_name, lower-cased, NUL-terminated; "" when absent */
    bool has_server_name;
    uint16_t legacy_version;  /* ClientHello.legacy_version */
    bool offers_tls13;        /* supported_versions contains 0x0304 */
    bool offers_tls12;        /* supported_versions contains 0x0303, or legacy_version >= 0x0303
                                 without supported_versions */
    /* The ALPN extension's ProtocolNameList body (without its 2-byte
       length), inside the input buffer, or NULL. It is NULL also when the
       list straddles a record boundary (a ClientHello fragmented over
       several records, which no common client does): has_alpn and alpn_len
       still tell that ALPN was offered and how long the list is. */
    const uint8_t *alpn;
    size_t alpn_len;
    bool has_alpn;
    size_t consumed;          /* bytes of input holding the complete ClientHello records */
} ptls_client_hello;

typedef enum { PTLS_CH_INCOMPLETE, PTLS_CH_COMPLETE, PTLS_CH_MALFORMED } ptls_ch_result;

/* Parses the raw wire bytes (TLS records) from the start of the stream.
   COMPLETE: *ch is filled (only then). INCOMPLETE: nothing is written; call
   again with more bytes. MALFORMED: *alert is the alert to send (fatal) and
   *why a static readable reason; *ch is not written. Fails as soon as the
   bytes seen so far cannot start a valid ClientHello (a non-handshake first
   byte fails at once: an HTTP request on a TLS port is rejected after one
   byte). Never reads beyond len; never allocates; NULL wire with len 0 is
   INCOMPLETE; NULL ch/alert/why are not allowed. */
ptls_ch_result ptls_client_hello_parse(const uint8_t *wire, size_t len, ptls_client_hello *ch,
                                       polytls_alert *alert, const char **why);

#endif
