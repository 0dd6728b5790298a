/*
 * Shared pieces of `polytls client` and `polytls server` (see docs/cli.md):
 * option helpers, non-blocking TCP sockets, an output queue, and the
 * loading of PEM files into polytls objects. Everything goes through the
 * public API only; these helpers print their own error messages on stderr
 * (this is a command-line tool, not the library).
 */
#ifndef POLYTLS_TOOLS_CLI_COMMON_H
#define POLYTLS_TOOLS_CLI_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polytls/polytls.h"

/* The two subcommands; argv[0] is the subcommand name. Exit status: 0 on
   success, 1 on a TLS or network failure, 2 on a usage error. */
int cli_client_main(int argc, char **argv);
int cli_server_main(int argc, char **argv);

/* Prints "polytls PROG: MESSAGE\n" on stderr. */
void cli_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Milliseconds on the monotonic clock. */
int64_t cli_now_ms(void);

/* A byte queue: what polytls wrote that the socket has not taken yet. */
typedef struct cli_queue {
    uint8_t *data;
    size_t len, cap;
    bool failed;        /* an append ran out of memory: the connection must end */
} cli_queue;

void cli_queue_append(cli_queue *q, const uint8_t *p, size_t n);
void cli_queue_consume(cli_queue *q, size_t n);
void cli_queue_free(cli_queue *q);

/* Sends as much of the queue as the non-blocking socket takes now.
   Returns 0, or -1 when the peer is gone (EPIPE, ECONNRESET, ...). */
int cli_queue_flush(cli_queue *q, int fd);

/* Parses "HOST:PORT", "[V6]:PORT" into host and port (both NUL-terminated
   copies written into the given buffers). Returns 0 or -1. */
int cli_split_host_port(const char *arg, char *host, size_t host_cap, char *port, size_t port_cap);

/* Connects a non-blocking TCP socket to host:port within timeout_ms.
   Returns the socket or -1 (message printed). */
int cli_connect(const char *prog, const char *host, const char *port, int timeout_ms);

/* A non-blocking listening socket on `addr` (an IP literal; default
   127.0.0.1) and `port` (0 = an ephemeral port). *bound_port receives the
   port actually bound. Returns the socket or -1 (message printed). */
int cli_listen(const char *prog, const char *addr, uint16_t port, uint16_t *bound_port);

/* "h2,http/1.1" into a polytls ALPN list (malloc'd; free with
   cli_alpn_free). Returns 0, or -1 for an empty name (message printed). */
typedef struct cli_alpn {
    uint8_t **protos;
    size_t *lens;
    size_t n;
} cli_alpn;
int cli_alpn_parse(const char *prog, const char *list, cli_alpn *out);
void cli_alpn_free(cli_alpn *a);

/* Loads certificate/key files; the polytls message is printed on failure. */
int cli_load_trust(const char *prog, const char *path, polytls_trust_store **out);
int cli_load_chain(const char *prog, const char *cert_path, const char *key_path,
                   polytls_certificate ***chain, size_t *n);

/* Parses a decimal number in [min, max]. Returns 0 or -1. */
int cli_parse_number(const char *s, long min, long max, long *out);

/* Looks up the backend (NULL = the default); prints the reason on failure. */
int cli_backend(const char *prog, const char *name, polytls_backend **out);

/* "TLS1.3" / "TLS1.2" / "unknown". */
const char *cli_version_name(uint16_t v);

/* The SSLKEYLOGFILE convention, for the command-line tools only (the
   library never reads the environment for this): when the variable names a
   file, the NSS key log of every connection is appended to it. A backend
   without POLYTLS_CAP_KEYLOG gets a warning, not a failure. Returns 0, or -1
   when the file cannot be opened. */
int cli_keylog_client(const char *prog, polytls_client *c);
int cli_keylog_server(const char *prog, polytls_server *s);

#endif /* POLYTLS_TOOLS_CLI_COMMON_H */
