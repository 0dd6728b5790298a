/*
 * The same workloads through polytls's public API over one backend: a
 * client and a server whose write_to_wire appends to the bench pipes, and
 * whose input is handed to data_from_wire in one call per pipe drain, as a
 * program with its own event loop would do.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#include "polytls/polytls.h"

typedef struct env {
    polytls_client *client;
    polytls_server *server;
    polytls_session *session;  /* resume: the ticket every new client offers */
} env;

typedef struct pair {
    env *e;
    polytls_conn *c, *s;
    bench_pipe c2s, s2c;
    size_t received;          /* application bytes the server got */
} pair;

static void check(polytls_status st, const char *what)
{
    if (st != POLYTLS_OK)
        bench_die("polytls: %s: %s (%s)", what, polytls_status_name(st), polytls_last_error_message());
}

static void c_write(void *user, const uint8_t *data, size_t len) { bench_pipe_put(&((pair *)user)->c2s, data, len); }
static void s_write(void *user, const uint8_t *data, size_t len) { bench_pipe_put(&((pair *)user)->s2c, data, len); }
static void on_close(void *user, bool immediate) { (void)user, (void)immediate; }

static const polytls_conn_callbacks client_cb = { sizeof client_cb, c_write, on_close, NULL, NULL };
static const polytls_conn_callbacks server_cb = { sizeof server_cb, s_write, on_close, NULL, NULL };

static void *pair_new(void *ep);
static void handshake(void *pp);
static size_t deliver(polytls_conn *to, bench_pipe *from);
static void pair_free(void *pp);

static void *env_new_on(const char *backend, const bench_cfg *cfg, const char **why)
{
    polytls_backend *b = NULL;
    check(polytls_backend_get(backend, &b), "backend");
    if (cfg->resume && !(polytls_backend_capabilities(b) & POLYTLS_CAP_RESUMPTION)) {
        *why = "n/a (backend has no POLYTLS_CAP_RESUMPTION)";
        return NULL;
    }
    if (cfg->low_memory && !(polytls_backend_capabilities(b) & POLYTLS_CAP_LOW_MEMORY)) {
        *why = "n/a (backend has no low-memory mode)";
        return NULL;
    }
    env *e = calloc(1, sizeof *e);
    if (!e)
        bench_die("out of memory");

    polytls_certificate **chain = NULL, **roots = NULL;
    size_t n_chain = 0, n_roots = 0;
    check(polytls_chain_from_pem_files(bench_pki_file(cfg, 0, bench_chain_name(cfg)),
                                       bench_pki_file(cfg, 1, bench_key_name(cfg)), &chain, &n_chain),
          "server chain");
    polytls_server_certificates *sc = NULL;
    check(polytls_server_chain_new(chain, n_chain, &sc), "server_chain_new");
    polytls_certificates_free(chain, n_chain);
    check(polytls_server_new(b, sc, NULL, 0, &e->server), "server_new");
    polytls_server_certificates_unref(sc);
    check(polytls_server_set_versions(e->server, cfg->version, cfg->version), "server versions");

    check(polytls_certificates_from_pem_file(bench_pki_file(cfg, 0, "root.pem"), &roots, &n_roots), "root.pem");
    polytls_trust_store *ts = NULL;
    check(polytls_trust_store_new(roots, n_roots, &ts), "trust store");
    polytls_certificates_free(roots, n_roots);
    check(polytls_client_new(b, BENCH_HOST, ts, NULL, &e->client), "client_new");
    polytls_trust_store_unref(ts);
    check(polytls_client_set_versions(e->client, cfg->version, cfg->version), "client versions");
    if (cfg->low_memory) {
        check(polytls_client_set_low_memory(e->client, true), "client low memory");
        check(polytls_server_set_low_memory(e->server, true), "server low memory");
    }
    if (cfg->resume) {
        check(polytls_server_set_resumption(e->server, true, 0), "server resumption");
        check(polytls_client_set_resumption(e->client, true), "client resumption");
        /* One full handshake; the client reads the ticket that follows it. */
        pair *p = pair_new(e);
        handshake(p);
        deliver(p->c, &p->s2c);
        check(polytls_conn_get_session(p->c, &e->session), "get_session after the first handshake");
        pair_free(p);
    }
    return e;
}

static void env_free(void *ep)
{
    env *e = ep;
    polytls_session_free(e->session);
    polytls_client_free(e->client);
    polytls_server_free(e->server);
    free(e);
}

static void *pair_new(void *ep)
{
    env *e = ep;
    pair *p = calloc(1, sizeof *p);
    if (!p)
        bench_die("out of memory");
    p->e = e;
    check(polytls_server_start(e->server, &server_cb, p, &p->s), "server_start");
    if (e->session)
        check(polytls_client_start_with_session(e->client, e->session, &client_cb, p, &p->c),
              "client_start_with_session");
    else
        check(polytls_client_start(e->client, &client_cb, p, &p->c), "client_start");
    return p;
}

/* Hands everything pending in `from` to `to`; returns the plaintext length. */
static size_t deliver(polytls_conn *to, bench_pipe *from)
{
    size_t n = bench_pipe_avail(from);
    if (n == 0)
        return 0;
    const uint8_t *app = NULL;
    size_t app_len = 0;
    /* write_to_wire of `to` appends to the other pipe, never to `from` */
    check(polytls_conn_data_from_wire(to, from->buf + from->off, n, &app, &app_len), "data_from_wire");
    bench_pipe_clear(from);
    return app_len;
}

static void handshake(void *pp)
{
    pair *p = pp;
    /* Stop as soon as both ends are done, like the raw harnesses: what the
       server writes after its handshake (a TLS 1.3 ticket) stays unread. */
    for (int i = 0; i < 32; i++) {
        if (polytls_conn_handshake_done(p->c) && polytls_conn_handshake_done(p->s)) {
            if (p->e->session && !(polytls_conn_resumed(p->c) && polytls_conn_resumed(p->s)))
                bench_die("polytls: the session was not resumed");
            return;
        }
        if (i % 2 == 0)
            deliver(p->s, &p->c2s);
        else
            deliver(p->c, &p->s2c);
    }
    bench_die("polytls: handshake did not finish: %s / %s", polytls_conn_error_message(p->c),
              polytls_conn_error_message(p->s));
}

static void transfer(void *pp, const uint8_t *data, size_t len, size_t chunk)
{
    pair *p = pp;
    size_t got = 0;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        check(polytls_conn_data_from_application(p->c, data + off, n), "data_from_application");
        got += deliver(p->s, &p->c2s);
    }
    if (got != len)
        bench_die("polytls: %zu bytes arrived of %zu", got, len);
}

static void free_client(void *pp)
{
    pair *p = pp;
    polytls_conn_free(p->c);
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
    polytls_conn_free(p->c);
    polytls_conn_free(p->s);
    drop_pipes(p);
    free(p);
}

#define POLYTLS_IMPL(name)                                                                  \
    static void *env_new_##name(const bench_cfg *cfg, const char **why)                     \
    {                                                                                       \
        return env_new_on(#name, cfg, why);                                                 \
    }                                                                                       \
    const bench_impl bench_polytls_##name = { #name, "polytls", env_new_##name, env_free,   \
                                              pair_new, handshake, transfer, free_client,   \
                                              pair_free, drop_pipes };
POLYTLS_IMPL(openssl)
POLYTLS_IMPL(gnutls)
POLYTLS_IMPL(wolfssl)
