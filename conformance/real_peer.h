/*
 * A real peer for the conformance suite: one polytls server connection over
 * a TCP socket on 127.0.0.1 against an `openssl s_client` child process.
 *
 * The in-memory pair only ever pits polytls against polytls, so it cannot
 * show what a foreign implementation negotiates or sees on the wire (e.g.
 * our clients never offer DHE). This runs the server under test through the
 * public API with a small poll loop that moves bytes between the socket and
 * the connection, records everything, and reaps the child. Everything is
 * bounded by a wall-clock deadline; nothing leaves 127.0.0.1.
 */
#ifndef POLYTLS_CONFORMANCE_REAL_PEER_H
#define POLYTLS_CONFORMANCE_REAL_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polytls/polytls.h"

/* What one run observed. Buffers are malloc'd (NUL-terminated where text)
   and released by cf_real_peer_result_free. */
typedef struct cf_real_peer_result {
    bool peer_started;            /* the openssl command line could be run */
    bool timed_out;               /* the deadline passed: the child was killed */
    int peer_exit;                /* s_client's exit status; -1 when killed/signalled */
    char *peer_output;            /* s_client's stdout and stderr, interleaved */
    size_t peer_output_len;

    uint8_t *server_wire;         /* every byte the polytls server wrote */
    size_t server_wire_len;
    uint8_t *server_app;          /* plaintext the polytls server received */
    size_t server_app_len;

    polytls_status first_error;   /* first non-OK call on the connection, else OK */
    char error_message[512];      /* the connection's message for it */
    bool handshake_done;
    bool peer_closed;             /* the peer's close_notify arrived */
    uint16_t version;             /* 0 when the handshake did not finish */
    uint16_t cipher_id;
    char cipher_name[96];
} cf_real_peer_result;

/* The openssl command: $OPENSSL when set, else "openssl" if it is on PATH;
   NULL when neither (the caller skips). */
const char *cf_openssl_cli(void);

/* Serves one connection from `server` to
 *   OPENSSL s_client -connect 127.0.0.1:PORT ARGS...
 * (args: NULL-terminated), whose stdin holds `stdin_text` followed by EOF.
 * Waits at most `timeout_ms` in total, then kills the child. Fails the
 * running test only on local resource errors (socket, pipe, spawn). */
void cf_real_peer_s_client(polytls_server *server, const char *const *args, const char *stdin_text,
                           int timeout_ms, cf_real_peer_result *out);
void cf_real_peer_result_free(cf_real_peer_result *r);

/* The body of the first handshake message of `type` in the plaintext
 * handshake records of a TLS 1.2 byte stream (records before the first
 * ChangeCipherSpec, messages may span records). Returns a malloc'd copy, or
 * NULL when there is none. */
uint8_t *cf_tls12_handshake_message(const uint8_t *wire, size_t len, uint8_t type, size_t *body_len);

#endif /* POLYTLS_CONFORMANCE_REAL_PEER_H */
