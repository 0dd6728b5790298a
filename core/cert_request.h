/* Reading the CA names of a TLS 1.2 CertificateRequest from the wire.
 *
 * A TLS 1.2 server's first flight (ServerHello ... CertificateRequest,
 * ServerHelloDone) is plaintext, so the core can read the certificate
 * authorities the server names without any library's help. The client
 * side of the core feeds every byte it hands its driver through this
 * scanner until the flight is over; when a driver cannot tell the names
 * (wolfSSL 5.5 keeps them only as text), the core's copy is used, so the
 * user's get_chain_for_roots sees the same DER names on every backend.
 *
 * In TLS 1.3 the CertificateRequest is encrypted; the scanner stops at the
 * first record that is not a handshake record (the ChangeCipherSpec or the
 * encrypted records that follow a TLS 1.3 ServerHello) and finds nothing.
 */
#ifndef POLYTLS_CORE_CERT_REQUEST_H
#define POLYTLS_CORE_CERT_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buffer.h"

/* The most handshake bytes the scanner keeps while it looks for the
   CertificateRequest (the server's certificates come before it). A longer
   flight stops the scan: the names are then what the driver reports. */
#define PTLS_CERT_REQUEST_MAX_FLIGHT (256u * 1024u)

typedef struct ptls_cert_request_scan {
    bool done;              /* nothing more to learn: stop feeding */
    bool found;             /* a CertificateRequest was read */
    uint8_t header[5];      /* the record header being read */
    size_t header_len;
    size_t record_left;     /* payload bytes of the current record still to come */
    bool in_handshake_record;
    ptls_buf handshake;     /* handshake bytes not yet parsed into messages */
    ptls_buf names;         /* the certificate_authorities vector, as sent */
} ptls_cert_request_scan;

/* Feeds the next bytes the server sent (in order, any split). Never fails:
   anything it does not understand ends the scan without names. */
void ptls_cert_request_feed(ptls_cert_request_scan *s, const uint8_t *data, size_t len);

/* The names found: calls fn for each DER distinguished name in order.
   Returns how many there are (0 when none were found). */
size_t ptls_cert_request_names(const ptls_cert_request_scan *s,
                               void (*fn)(void *arg, const uint8_t *der, size_t len), void *arg);

void ptls_cert_request_free(ptls_cert_request_scan *s);

#endif
