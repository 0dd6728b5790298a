/*
 * OpenSSL driven directly: one SSL per side on a custom BIO that reads from
 * and writes to the bench pipes (one copy each way, as an expert sans-IO
 * integration does), with exactly the settings polytls's OpenSSL driver
 * pins (backends/openssl/openssl_driver.c): TLS 1.2/1.3 AEAD suites, the
 * groups X25519:P-256:P-384:P-521, security level 2, verification of the
 * chain and of the host name.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

static const char tls13_suites[] = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
static const char tls12_suites[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
static const char groups[] = "X25519:P-256:P-384:P-521";

typedef struct ends { bench_pipe *in, *out; } ends;

static int pipe_read(BIO *b, char *buf, size_t n, size_t *got)
{
    ends *e = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    size_t k = bench_pipe_get(e->in, buf, n);
    if (k == 0) {
        BIO_set_retry_read(b);
        return 0;
    }
    *got = k;
    return 1;
}

static int pipe_write(BIO *b, const char *buf, size_t n, size_t *put)
{
    ends *e = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    bench_pipe_put(e->out, buf, n);
    *put = n;
    return 1;
}

static long pipe_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int pipe_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *pipe_method(void)
{
    static BIO_METHOD *m;
    if (!m) {
        m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "bench pipe");
        if (!m || !BIO_meth_set_read_ex(m, pipe_read) || !BIO_meth_set_write_ex(m, pipe_write)
            || !BIO_meth_set_ctrl(m, pipe_ctrl) || !BIO_meth_set_create(m, pipe_create))
            bench_die("openssl: BIO_meth_new");
    }
    return m;
}

typedef struct env {
    SSL_CTX *client, *server;
    SSL_SESSION *session; /* resume: the ticket every new client offers */
} env;

typedef struct pair {
    env *e;
    SSL *c, *s;
    bench_pipe c2s, s2c;
    ends ce, se;
} pair;

/* Where the server's reads land: one buffer for every connection, as a
   program reading into its own per-thread buffer would have (kept out of the
   per-connection heap figure). */
static uint8_t rbuf[16384];

static SSL_CTX *new_ctx(const bench_cfg *cfg, bool server)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    if (!ctx)
        bench_die("openssl: SSL_CTX_new");
    SSL_CTX_clear_options(ctx, SSL_CTX_get_options(ctx));
    SSL_CTX_set_options(ctx, SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_COMPRESSION
                                 | SSL_OP_NO_RENEGOTIATION | SSL_OP_ENABLE_MIDDLEBOX_COMPAT
                                 | (cfg->resume ? 0 : SSL_OP_NO_TICKET));
    if (SSL_CTX_set_min_proto_version(ctx, cfg->version) != 1 || SSL_CTX_set_max_proto_version(ctx, cfg->version) != 1
        || SSL_CTX_set_cipher_list(ctx, tls12_suites) != 1 || SSL_CTX_set_ciphersuites(ctx, tls13_suites) != 1
        || SSL_CTX_set1_groups_list(ctx, groups) != 1)
        bench_die("openssl: pinning the settings");
    SSL_CTX_set_security_level(ctx, 2);
    if (cfg->low_memory)
        SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (cfg->resume) {
        /* Tickets only (stateless server), one per handshake. */
        SSL_CTX_set_session_cache_mode(ctx, server ? SSL_SESS_CACHE_SERVER : SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"bench", 5);
        SSL_CTX_set_num_tickets(ctx, 1);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_num_tickets(ctx, 0);
    }
    if (server) {
        if (SSL_CTX_use_certificate_chain_file(ctx, bench_pki_file(cfg, 0, bench_chain_name(cfg))) != 1
            || SSL_CTX_use_PrivateKey_file(ctx, bench_pki_file(cfg, 1, bench_key_name(cfg)), SSL_FILETYPE_PEM) != 1)
            bench_die("openssl: loading the server chain from %s", cfg->pki);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    } else {
        if (SSL_CTX_load_verify_locations(ctx, bench_pki_file(cfg, 0, "root.pem"), NULL) != 1)
            bench_die("openssl: loading root.pem from %s", cfg->pki);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
}

static void *pair_new(void *ep);
static void handshake(void *pp);
static void pair_free(void *pp);

static void *env_new(const bench_cfg *cfg, const char **why)
{
    (void)why;
    env *e = calloc(1, sizeof *e);
    if (!e)
        bench_die("out of memory");
    e->client = new_ctx(cfg, false);
    e->server = new_ctx(cfg, true);
    if (cfg->resume) {
        /* One full handshake; the client reads the ticket that follows it. */
        pair *p = pair_new(e);
        handshake(p);
        SSL_read(p->c, rbuf, sizeof rbuf);
        e->session = SSL_get1_session(p->c);
        if (!e->session || !SSL_SESSION_is_resumable(e->session))
            bench_die("openssl: no resumable session after the first handshake");
        pair_free(p);
    }
    return e;
}

static void env_free(void *ep)
{
    env *e = ep;
    SSL_SESSION_free(e->session);
    SSL_CTX_free(e->client);
    SSL_CTX_free(e->server);
    free(e);
}

static SSL *new_ssl(SSL_CTX *ctx, ends *io)
{
    SSL *ssl = SSL_new(ctx);
    BIO *b = BIO_new(pipe_method());
    if (!ssl || !b)
        bench_die("openssl: SSL_new");
    BIO_set_data(b, io);
    SSL_set_bio(ssl, b, b);
    return ssl;
}

static void *pair_new(void *ep)
{
    env *e = ep;
    pair *p = calloc(1, sizeof *p);
    if (!p)
        bench_die("out of memory");
    p->e = e;
    p->ce = (ends){ &p->s2c, &p->c2s };
    p->se = (ends){ &p->c2s, &p->s2c };
    p->c = new_ssl(e->client, &p->ce);
    p->s = new_ssl(e->server, &p->se);
    if (SSL_set_tlsext_host_name(p->c, BENCH_HOST) != 1 || SSL_set1_host(p->c, BENCH_HOST) != 1)
        bench_die("openssl: host name");
    if (e->session) {
        /* OpenSSL uses a TLS 1.3 session once (the ticket is single-use:
           it is marked not resumable after the handshake), so every client
           gets a copy of the pristine one, as a client cache handing out
           a stored ticket would. */
        SSL_SESSION *copy = SSL_SESSION_dup(e->session);
        if (!copy || SSL_set_session(p->c, copy) != 1)
            bench_die("openssl: SSL_set_session");
        SSL_SESSION_free(copy);
    }
    SSL_set_connect_state(p->c);
    SSL_set_accept_state(p->s);
    return p;
}

static bool step(SSL *ssl, int rc, const char *who)
{
    if (rc == 1)
        return true;
    int err = SSL_get_error(ssl, rc);
    if (err != SSL_ERROR_WANT_READ)
        bench_die("openssl: %s handshake failed (%d): %s", who, err, ERR_reason_error_string(ERR_get_error()));
    return false;
}

static void handshake(void *pp)
{
    pair *p = pp;
    bool cd = false, sd = false;
    for (int i = 0; i < 16 && !(cd && sd); i++) {
        if (!cd)
            cd = step(p->c, SSL_do_handshake(p->c), "client");
        if (!sd)
            sd = step(p->s, SSL_do_handshake(p->s), "server");
    }
    if (!cd || !sd)
        bench_die("openssl: handshake did not finish");
    if (p->e->session && !SSL_session_reused(p->c))
        bench_die("openssl: the session was not resumed (resumable %d, server %d)", SSL_SESSION_is_resumable(p->e->session), SSL_session_reused(p->s));
}

static void transfer(void *pp, const uint8_t *data, size_t len, size_t chunk)
{
    pair *p = pp;
    size_t got = 0;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        if (SSL_write(p->c, data + off, (int)n) != (int)n)
            bench_die("openssl: SSL_write");
        for (;;) {
            int r = SSL_read(p->s, rbuf, sizeof rbuf);
            if (r <= 0) {
                if (SSL_get_error(p->s, r) != SSL_ERROR_WANT_READ)
                    bench_die("openssl: SSL_read");
                break;
            }
            got += (size_t)r;
        }
    }
    if (got != len)
        bench_die("openssl: %zu bytes arrived of %zu", got, len);
}

/* A connection freed without a shutdown makes OpenSSL mark its session
   unusable for resumption; the benchmark closes quietly instead. */
static void free_ssl(SSL *ssl)
{
    if (ssl)
        SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl);
}

static void free_client(void *pp)
{
    pair *p = pp;
    free_ssl(p->c);
    p->c = NULL;
}

static void drop_pipes(void *pp)
{
    pair *p = pp;
    bench_pipe_free(&p->c2s);
    bench_pipe_free(&p->s2c);
}

static void pair_free(void *pp)
{
    pair *p = pp;
    free_ssl(p->c);
    free_ssl(p->s);
    drop_pipes(p);
    free(p);
}

const bench_impl bench_raw_openssl = {
    "openssl", "raw", env_new, env_free, pair_new, handshake, transfer, free_client, pair_free, drop_pipes,
};
