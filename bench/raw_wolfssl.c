/*
 * wolfSSL driven directly: one WOLFSSL per side with I/O callbacks on the
 * bench pipes and the suites and groups polytls's wolfSSL driver pins
 * (backends/wolfssl/wolfssl_driver.c); the client verifies the chain and
 * the host name (wolfSSL_check_domain_name).
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

static const char suites[] =
    "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
static const int groups[] = { WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1,
                              WOLFSSL_ECC_SECP521R1 };

typedef struct env {
    WOLFSSL_CTX *client, *server;
    WOLFSSL_SESSION *session;
} env;

typedef struct ends { bench_pipe *in, *out; } ends;

typedef struct pair {
    env *e;
    WOLFSSL *c, *s;
    bench_pipe c2s, s2c;
    ends ce, se;
} pair;

/* Where the server's reads land: one buffer for every connection, as a
   program reading into its own per-thread buffer would have (kept out of the
   per-connection heap figure). */
static uint8_t rbuf[16384];

static int io_recv(WOLFSSL *ssl, char *buf, int n, void *ctx)
{
    (void)ssl;
    ends *e = ctx;
    size_t k = bench_pipe_get(e->in, buf, (size_t)n);
    return k ? (int)k : WOLFSSL_CBIO_ERR_WANT_READ;
}

static int io_send(WOLFSSL *ssl, char *buf, int n, void *ctx)
{
    (void)ssl;
    ends *e = ctx;
    bench_pipe_put(e->out, buf, (size_t)n);
    return n;
}

static WOLFSSL_CTX *new_ctx(const bench_cfg *cfg, bool server)
{
    WOLFSSL_METHOD *m = cfg->version == 0x0304 ? (server ? wolfTLSv1_3_server_method() : wolfTLSv1_3_client_method())
                                               : (server ? wolfTLSv1_2_server_method() : wolfTLSv1_2_client_method());
    WOLFSSL_CTX *ctx = m ? wolfSSL_CTX_new(m) : NULL;
    if (!ctx)
        bench_die("wolfssl: CTX_new");
    if (wolfSSL_CTX_set_cipher_list(ctx, suites) != WOLFSSL_SUCCESS)
        bench_die("wolfssl: suites");
    if (cfg->version == 0x0304 && wolfSSL_CTX_set_groups(ctx, (int *)groups, 4) != WOLFSSL_SUCCESS)
        bench_die("wolfssl: groups");
    for (int i = 0; i < 4; i++)
        if (wolfSSL_CTX_UseSupportedCurve(ctx, (word16)groups[i]) != WOLFSSL_SUCCESS)
            bench_die("wolfssl: supported groups");
    if (!cfg->resume) {
        wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_OFF);
        wolfSSL_CTX_NoTicketTLSv12(ctx);
        if (server && cfg->version == 0x0304)
            wolfSSL_CTX_no_ticket_TLSv13(ctx);
    }
    wolfSSL_CTX_SetIORecv(ctx, io_recv);
    wolfSSL_CTX_SetIOSend(ctx, io_send);
    if (server) {
        if (wolfSSL_CTX_use_certificate_chain_file(ctx, bench_pki_file(cfg, 0, bench_chain_name(cfg))) != WOLFSSL_SUCCESS
            || wolfSSL_CTX_use_PrivateKey_file(ctx, bench_pki_file(cfg, 1, bench_key_name(cfg)), WOLFSSL_FILETYPE_PEM)
                   != WOLFSSL_SUCCESS)
            bench_die("wolfssl: server chain");
        wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
    } else {
        if (wolfSSL_CTX_load_verify_locations(ctx, bench_pki_file(cfg, 0, "root.pem"), NULL) != WOLFSSL_SUCCESS)
            bench_die("wolfssl: root.pem");
        wolfSSL_CTX_SetMinDhKey_Sz(ctx, 2048);
        wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);
    }
    return ctx;
}

static void *pair_new(void *ep);
static void handshake(void *pp);
static void pair_free(void *pp);

static void *env_new(const bench_cfg *cfg, const char **why)
{
    if (cfg->low_memory) {
        *why = "n/a (wolfSSL has no low-memory switch: it already frees big record buffers)";
        return NULL;
    }
    env *e = calloc(1, sizeof *e);
    if (!e)
        bench_die("out of memory");
    e->client = new_ctx(cfg, false);
    e->server = new_ctx(cfg, true);
    if (cfg->resume) {
        pair *p = pair_new(e);
        handshake(p);
        wolfSSL_read(p->c, rbuf, sizeof rbuf); /* the NewSessionTicket */
        e->session = wolfSSL_get1_session(p->c);
        if (!e->session)
            bench_die("wolfssl: no session after the first handshake");
        pair_free(p);
    }
    return e;
}

static void env_free(void *ep)
{
    env *e = ep;
    if (e->session)
        wolfSSL_SESSION_free(e->session);
    wolfSSL_CTX_free(e->client);
    wolfSSL_CTX_free(e->server);
    free(e);
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
    p->c = wolfSSL_new(e->client);
    p->s = wolfSSL_new(e->server);
    if (!p->c || !p->s)
        bench_die("wolfssl: wolfSSL_new");
    wolfSSL_SetIOReadCtx(p->c, &p->ce);
    wolfSSL_SetIOWriteCtx(p->c, &p->ce);
    wolfSSL_SetIOReadCtx(p->s, &p->se);
    wolfSSL_SetIOWriteCtx(p->s, &p->se);
    if (wolfSSL_UseSNI(p->c, WOLFSSL_SNI_HOST_NAME, BENCH_HOST, (word16)strlen(BENCH_HOST)) != WOLFSSL_SUCCESS
        || wolfSSL_check_domain_name(p->c, BENCH_HOST) != WOLFSSL_SUCCESS)
        bench_die("wolfssl: host name");
    if (e->session && wolfSSL_set_session(p->c, e->session) != WOLFSSL_SUCCESS)
        bench_die("wolfssl: set_session");
    return p;
}

static bool step(WOLFSSL *ssl, int rc, const char *who)
{
    if (rc == WOLFSSL_SUCCESS)
        return true;
    int err = wolfSSL_get_error(ssl, rc);
    if (err != WOLFSSL_ERROR_WANT_READ) {
        char msg[80];
        bench_die("wolfssl: %s handshake: %s", who, wolfSSL_ERR_error_string((unsigned long)err, msg));
    }
    return false;
}

static void handshake(void *pp)
{
    pair *p = pp;
    bool cd = false, sd = false;
    for (int i = 0; i < 16 && !(cd && sd); i++) {
        if (!cd)
            cd = step(p->c, wolfSSL_connect(p->c), "client");
        if (!sd)
            sd = step(p->s, wolfSSL_accept(p->s), "server");
    }
    if (!cd || !sd)
        bench_die("wolfssl: handshake did not finish");
    if (p->e->session && !wolfSSL_session_reused(p->c))
        bench_die("wolfssl: the session was not resumed");
}

static void transfer(void *pp, const uint8_t *data, size_t len, size_t chunk)
{
    pair *p = pp;
    size_t got = 0;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        if (wolfSSL_write(p->c, data + off, (int)n) != (int)n)
            bench_die("wolfssl: write");
        for (;;) {
            int r = wolfSSL_read(p->s, rbuf, sizeof rbuf);
            if (r <= 0) {
                if (wolfSSL_get_error(p->s, r) != WOLFSSL_ERROR_WANT_READ)
                    bench_die("wolfssl: read");
                break;
            }
            got += (size_t)r;
        }
    }
    if (got != len)
        bench_die("wolfssl: %zu bytes arrived of %zu", got, len);
}

/* As polytls's driver does: a quiet shutdown lets wolfSSL release the
   session's verified chain (wolfSSL_free alone keeps it). */
static void free_ssl(WOLFSSL *ssl)
{
    wolfSSL_set_quiet_shutdown(ssl, 1);
    (void)wolfSSL_shutdown(ssl);
    wolfSSL_free(ssl);
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
    if (p->c)
        free_ssl(p->c);
    free_ssl(p->s);
    drop_pipes(p);
    free(p);
}

const bench_impl bench_raw_wolfssl = {
    "wolfssl", "raw", env_new, env_free, pair_new, handshake, transfer, free_client, pair_free, drop_pipes,
};
