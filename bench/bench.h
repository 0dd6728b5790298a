/*
 * bench/ — what polytls costs on top of each TLS library (issue 9).
 *
 * Every workload runs twice in the same process: once through a "raw"
 * harness that drives the library directly, sans-IO over memory, the way an
 * expert would (OpenSSL with its own BIO, GnuTLS with push/pull functions,
 * wolfSSL with I/O callbacks), and once through polytls over the same
 * library with the same versions, suites, groups and certificates.
 * Both sides of each connection (client and server) live in this process,
 * so every figure is the cost of the client plus the server.
 */
#ifndef POLYTLS_BENCH_H
#define POLYTLS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One direction of the in-memory transport: bytes written by one side and
   not yet read by the other. */
typedef struct bench_pipe {
    uint8_t *buf;
    size_t off, len, cap;  /* unread bytes are buf[off .. len) */
} bench_pipe;

void bench_pipe_put(bench_pipe *p, const void *data, size_t n);
size_t bench_pipe_get(bench_pipe *p, void *out, size_t cap);
static inline size_t bench_pipe_avail(const bench_pipe *p) { return p->len - p->off; }
/* Marks everything read (the caller consumed buf+off directly). */
static inline void bench_pipe_clear(bench_pipe *p) { p->off = p->len = 0; }
void bench_pipe_free(bench_pipe *p);

/* Fatal setup problem of the benchmark itself: prints and exits. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

typedef enum bench_cert { BENCH_CERT_ECDSA = 0, BENCH_CERT_RSA = 1 } bench_cert;

/* What a workload asks of both harnesses. */
typedef struct bench_cfg {
    uint16_t version;      /* 0x0304 or 0x0303, pinned on both sides */
    bench_cert cert;       /* server leaf: P-256 or RSA-2048 (under the test intermediate) */
    bool resume;           /* raw only: tickets on; every pair resumes a saved session */
    bool low_memory;       /* release idle record buffers (OpenSSL: SSL_MODE_RELEASE_BUFFERS) */
    const char *pki;       /* directory with root.pem, server-ec-chain.pem, server-ec.key, ... */
} bench_cfg;

/* One way of running TLS over memory. Every function either succeeds or
   calls bench_die: a benchmark that quietly measures a failure is worse
   than none. */
typedef struct bench_impl {
    const char *backend;   /* "openssl", "gnutls", "wolfssl" */
    const char *kind;      /* "raw" or "polytls" */
    /* Contexts for client and server. NULL (with *why set) when this
       configuration cannot be run (e.g. polytls has no resumption). */
    void *(*env_new)(const bench_cfg *cfg, const char **why);
    void (*env_free)(void *env);
    /* A client and a server connection on the env, nothing sent yet. */
    void *(*pair_new)(void *env);
    /* Runs the handshake to completion on both sides. */
    void (*handshake)(void *pair);
    /* Client writes len bytes in writes of `chunk` bytes; after each write
       the server reads everything that arrived. */
    void (*transfer)(void *pair, const uint8_t *data, size_t len, size_t chunk);
    /* Frees the client connection only (heap accounting), then everything. */
    void (*free_client)(void *pair);
    void (*pair_free)(void *pair);
    /* The transport buffers of the pair, released (they are the harness's,
       not the connection's, and are left out of heap figures). */
    void (*drop_pipes)(void *pair);
} bench_impl;

/* The harnesses (raw_<backend>.c, via_polytls.c); main.c lists those of the built backends. */
extern const bench_impl bench_raw_openssl, bench_raw_gnutls, bench_raw_wolfssl;
extern const bench_impl bench_polytls_openssl, bench_polytls_gnutls, bench_polytls_wolfssl;

/* PKI paths: "<pki>/<name>" into a static buffer per slot (0..3). */
const char *bench_pki_file(const bench_cfg *cfg, int slot, const char *name);
const char *bench_chain_name(const bench_cfg *cfg);   /* "server-ec-chain.pem" / "server-rsa-chain.pem" */
const char *bench_key_name(const bench_cfg *cfg);     /* "server-ec.key" / "server-rsa.key" */
#define BENCH_HOST "server.test"

/* Allocation accounting (alloc_count.c): malloc/calloc/realloc/free of the
   whole process, interposed in this executable. */
typedef struct bench_alloc_stats {
    uint64_t allocs;       /* malloc + calloc + realloc calls */
    uint64_t frees;
    int64_t live_bytes;    /* usable bytes currently allocated */
} bench_alloc_stats;
bench_alloc_stats bench_alloc_now(void);
/* False in sanitizer builds (no interposition there): heap and allocation
   figures are then reported as n/a. */
bool bench_alloc_counting(void);

#endif
