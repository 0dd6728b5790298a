/* Shared pieces of the fuzz targets: the one entry point every target
   defines, a reader that turns fuzzer bytes into choices, the embedded demo
   PKI, cached clients/servers per backend, and an in-memory client/server
   pair whose streams are cut into TLS records.

   A target is `int polytls_fuzz_one(const uint8_t *data, size_t size)` in
   fuzz/<target>.c. It is linked twice: with libfuzzer_main.c (libFuzzer,
   clang -fsanitize=fuzzer) and with regress_main.c (a plain main that runs
   the committed corpus and regression inputs in the normal test suite).
   A broken invariant calls fz_fail(), which aborts: in a fuzz target that
   is the report, never a library behaviour. */
#ifndef POLYTLS_FUZZ_COMMON_H
#define POLYTLS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polytls/polytls.h"

int polytls_fuzz_one(const uint8_t *data, size_t size);

/* Aborts with a message on stderr: an invariant the core promises broke. */
_Noreturn void fz_fail(const char *what, const char *detail);
/* Fails unless s is one of the polytls_status values. */
void fz_check_status(polytls_status s, const char *call);

/* ------------------------------------------------------------ input ---- */
typedef struct fz_in {
    const uint8_t *p;
    size_t n;
} fz_in;

uint8_t fz_u8(fz_in *in);            /* 0 once the input is used up */
uint16_t fz_u16(fz_in *in);          /* big endian */
/* Up to max bytes from the front (fewer when the input is shorter). */
size_t fz_take(fz_in *in, size_t max, const uint8_t **out);

/* ---------------------------------------------------------- backends --- */
size_t fz_backend_count(void);
const polytls_backend *fz_backend(size_t index);   /* index modulo the count */

/* ------------------------------------------------------------- PKI ----- */
/* The demo PKI of tools/demo_pki.h, parsed once per process. */
const char *fz_hostname(void);             /* the name the demo leaf is for */
polytls_trust_store *fz_trust(void);
polytls_certificate *const *fz_chain(size_t *n);      /* leaf (with key), CA */
polytls_certificate *fz_ca(void);
polytls_server_certificates *fz_server_chain(void);

/* Version choices coded in two bits: 0 both, 1 TLS 1.2, 2 TLS 1.3, 3 both. */
void fz_versions(unsigned bits, uint16_t *min, uint16_t *max);

/* Cached endpoints (created on first use, kept for the process so that a
   fuzz iteration only pays for a connection). */
polytls_server *fz_cached_server(size_t backend, unsigned version_bits, unsigned auth);
polytls_client *fz_cached_client(size_t backend, unsigned version_bits);

/* Resumption (issue 8). A server issuing and accepting tickets (lifetime
   seven days, no client auth: such a server cannot resume). Its ticket key
   is a FIXED one, reset at every call: a ticket written into a seed by
   make-corpus then still decrypts in another process, and a fuzzed
   connection that failed (which revokes its ticket name or, on one-key
   backends, rotates the key) does not disable the seeds for the rest of a
   run. Fuzzing only: a fixed ticket key is what the library must never do. */
polytls_server *fz_cached_resume_server(size_t backend, unsigned version_bits);
/* A client with resumption on. */
polytls_client *fz_cached_resume_client(size_t backend, unsigned version_bits);
/* A new session for the resumption client of backend cb, which the
   resumption server of backend sb would resume (one real handshake per
   pair and version at first use, then a copy of its serialised session:
   a fuzzed connection that fails invalidates the session it offered).
   The caller frees it. */
polytls_session *fz_fresh_session(size_t cb, size_t sb, unsigned version_bits);

typedef struct fz_side fz_side;
/* Moves bytes both ways, unchanged, until neither side writes. */
void fz_exchange(fz_side *c, fz_side *s);

/* ------------------------------------------------------------ pairs ---- */
typedef struct fz_stream {
    uint8_t *data;
    size_t len, cap;
} fz_stream;

void fz_stream_append(fz_stream *s, const uint8_t *p, size_t n);
void fz_stream_consume(fz_stream *s, size_t n);
void fz_stream_free(fz_stream *s);
/* Length of the first TLS record in p[0..n) (header included), or n when
   the bytes end before the record does. */
size_t fz_record_len(const uint8_t *p, size_t n);

struct fz_side {
    polytls_conn *conn;
    fz_stream out;          /* what this side wrote, not yet delivered */
    int closes;             /* wire_close calls: at most one allowed */
    size_t received;        /* plaintext bytes received */
    bool server;            /* for the trace (POLYTLS_FUZZ_TRACE=1 prints every feed) */
};

extern const polytls_conn_callbacks fz_callbacks;   /* user = fz_side* */

/* Feeds bytes to side->conn and checks the invariants of the result:
   a valid status; no success once the connection was invalidated. */
polytls_status fz_feed(fz_side *to, const uint8_t *p, size_t n);
polytls_status fz_send_app(fz_side *from, const uint8_t *p, size_t n);

#endif
