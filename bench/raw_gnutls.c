/*
 * GnuTLS driven directly: one session per side with push/pull functions on
 * the bench pipes, and the priority string polytls's GnuTLS driver builds
 * (backends/gnutls/gnutls_driver.c) with the version pinned; the client
 * verifies the chain and the host name (gnutls_session_set_verify_cert).
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

typedef struct env {
    gnutls_certificate_credentials_t client_cred, server_cred;
    gnutls_priority_t client_prio, server_prio;
    bool resume;
    gnutls_datum_t ticket_key;   /* resume: the server's ticket key */
    gnutls_datum_t session;      /* resume: the client's saved session */
} env;

typedef struct side { gnutls_session_t s; bench_pipe *in, *out; } side;

typedef struct pair {
    env *e;
    side c, s;
    bench_pipe c2s, s2c;
} pair;

/* Where the server's reads land: one buffer for every connection, as a
   program reading into its own per-thread buffer would have (kept out of the
   per-connection heap figure). */
static uint8_t rbuf[16384];

static ssize_t push(gnutls_transport_ptr_t t, const void *data, size_t n)
{
    side *sd = t;
    bench_pipe_put(sd->out, data, n);
    return (ssize_t)n;
}

static ssize_t pull(gnutls_transport_ptr_t t, void *buf, size_t n)
{
    side *sd = t;
    size_t k = bench_pipe_get(sd->in, buf, n);
    if (k == 0) {
        gnutls_transport_set_errno(sd->s, EAGAIN);
        return -1;
    }
    return (ssize_t)k;
}

static void prio(gnutls_priority_t *out, uint16_t version, bool server)
{
    char s[1024];
    snprintf(s, sizeof s,
             "NONE%s:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AEAD:+ECDHE-ECDSA:+ECDHE-RSA"
             ":+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1"
             ":+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SECP384R1-SHA384:+SIGN-ECDSA-SECP521R1-SHA512"
             ":+SIGN-EDDSA-ED25519:+SIGN-EDDSA-ED448"
             ":+SIGN-RSA-PSS-RSAE-SHA256:+SIGN-RSA-PSS-RSAE-SHA384:+SIGN-RSA-PSS-RSAE-SHA512"
             ":+SIGN-RSA-PSS-SHA256:+SIGN-RSA-PSS-SHA384:+SIGN-RSA-PSS-SHA512"
             ":+SIGN-ECDSA-SHA256:+SIGN-ECDSA-SHA384:+SIGN-ECDSA-SHA512"
             ":+SIGN-RSA-SHA256:+SIGN-RSA-SHA384:+SIGN-RSA-SHA512"
             ":+COMP-NULL:+CTYPE-X509:%s",
             version == 0x0304 ? ":+VERS-TLS1.3" : ":+VERS-TLS1.2",
             server ? "%PARTIAL_RENEGOTIATION" : "%SAFE_RENEGOTIATION");
    if (gnutls_priority_init2(out, s, NULL, 0) < 0)
        bench_die("gnutls: priority string");
}

static void *pair_new(void *ep);
static void handshake(void *pp);
static void pair_free(void *pp);

static void *env_new(const bench_cfg *cfg, const char **why)
{
    if (cfg->low_memory) {
        *why = "n/a (GnuTLS has no low-memory mode)";
        return NULL;
    }
    env *e = calloc(1, sizeof *e);
    if (!e)
        bench_die("out of memory");
    if (gnutls_certificate_allocate_credentials(&e->client_cred) < 0
        || gnutls_certificate_allocate_credentials(&e->server_cred) < 0)
        bench_die("gnutls: credentials");
    if (gnutls_certificate_set_x509_trust_file(e->client_cred, bench_pki_file(cfg, 0, "root.pem"), GNUTLS_X509_FMT_PEM) != 1)
        bench_die("gnutls: root.pem");
    if (gnutls_certificate_set_x509_key_file(e->server_cred, bench_pki_file(cfg, 0, bench_chain_name(cfg)),
                                             bench_pki_file(cfg, 1, bench_key_name(cfg)), GNUTLS_X509_FMT_PEM) < 0)
        bench_die("gnutls: server chain");
    prio(&e->client_prio, cfg->version, false);
    prio(&e->server_prio, cfg->version, true);
    e->resume = cfg->resume;
    if (cfg->resume) {
        if (gnutls_session_ticket_key_generate(&e->ticket_key) < 0)
            bench_die("gnutls: ticket key");
        pair *p = pair_new(e);
        handshake(p);
        /* The client reads the NewSessionTicket that follows the handshake. */
        gnutls_record_recv(p->c.s, rbuf, sizeof rbuf);
        if (gnutls_session_get_data2(p->c.s, &e->session) < 0)
            bench_die("gnutls: no session data after the first handshake");
        pair_free(p);
    }
    return e;
}

static void env_free(void *ep)
{
    env *e = ep;
    gnutls_free(e->session.data);
    if (e->ticket_key.data)
        gnutls_memset(e->ticket_key.data, 0, e->ticket_key.size);
    gnutls_free(e->ticket_key.data);
    gnutls_priority_deinit(e->client_prio);
    gnutls_priority_deinit(e->server_prio);
    gnutls_certificate_free_credentials(e->client_cred);
    gnutls_certificate_free_credentials(e->server_cred);
    free(e);
}

static void init_side(side *sd, env *e, bool server)
{
    unsigned flags = (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL
                     | (e->resume ? 0 : GNUTLS_NO_TICKETS);
    if (gnutls_init(&sd->s, flags) < 0)
        bench_die("gnutls: gnutls_init");
    gnutls_transport_set_ptr(sd->s, sd);
    gnutls_transport_set_push_function(sd->s, push);
    gnutls_transport_set_pull_function(sd->s, pull);
    gnutls_handshake_set_timeout(sd->s, GNUTLS_INDEFINITE_TIMEOUT);
    if (gnutls_priority_set(sd->s, server ? e->server_prio : e->client_prio) < 0
        || gnutls_credentials_set(sd->s, GNUTLS_CRD_CERTIFICATE, server ? e->server_cred : e->client_cred) < 0)
        bench_die("gnutls: session setup");
    if (server && e->resume && gnutls_session_ticket_enable_server(sd->s, &e->ticket_key) < 0)
        bench_die("gnutls: tickets");
    if (!server) {
        if (gnutls_server_name_set(sd->s, GNUTLS_NAME_DNS, BENCH_HOST, strlen(BENCH_HOST)) < 0)
            bench_die("gnutls: SNI");
        gnutls_session_set_verify_cert(sd->s, BENCH_HOST, 0);
        if (e->session.data && gnutls_session_set_data(sd->s, e->session.data, e->session.size) < 0)
            bench_die("gnutls: set_data");
    }
}

static void *pair_new(void *ep)
{
    env *e = ep;
    pair *p = calloc(1, sizeof *p);
    if (!p)
        bench_die("out of memory");
    p->e = e;
    p->c.in = &p->s2c, p->c.out = &p->c2s;
    p->s.in = &p->c2s, p->s.out = &p->s2c;
    init_side(&p->c, e, false);
    init_side(&p->s, e, true);
    return p;
}

static bool step(gnutls_session_t s, const char *who)
{
    int rc = gnutls_handshake(s);
    if (rc == 0)
        return true;
    if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED)
        bench_die("gnutls: %s handshake: %s", who, gnutls_strerror(rc));
    return false;
}

static void handshake(void *pp)
{
    pair *p = pp;
    bool cd = false, sd = false;
    for (int i = 0; i < 16 && !(cd && sd); i++) {
        if (!cd)
            cd = step(p->c.s, "client");
        if (!sd)
            sd = step(p->s.s, "server");
    }
    if (!cd || !sd)
        bench_die("gnutls: handshake did not finish");
    if (p->e->session.data && !gnutls_session_is_resumed(p->c.s))
        bench_die("gnutls: the session was not resumed");
}

static void transfer(void *pp, const uint8_t *data, size_t len, size_t chunk)
{
    pair *p = pp;
    size_t got = 0;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        if (gnutls_record_send(p->c.s, data + off, n) != (ssize_t)n)
            bench_die("gnutls: record_send");
        for (;;) {
            ssize_t r = gnutls_record_recv(p->s.s, rbuf, sizeof rbuf);
            if (r == GNUTLS_E_AGAIN)
                break;
            if (r <= 0)
                bench_die("gnutls: record_recv: %s", gnutls_strerror((int)r));
            got += (size_t)r;
        }
    }
    if (got != len)
        bench_die("gnutls: %zu bytes arrived of %zu", got, len);
}

static void free_client(void *pp)
{
    pair *p = pp;
    gnutls_deinit(p->c.s);
    p->c.s = NULL;
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
    if (p->c.s)
        gnutls_deinit(p->c.s);
    gnutls_deinit(p->s.s);
    drop_pipes(p);
    free(p);
}

const bench_impl bench_raw_gnutls = {
    "gnutls", "raw", env_new, env_free, pair_new, handshake, transfer, free_client, pair_free, drop_pipes,
};
