/*
 * Unit tests of the core's own rules (the connection gate and state
 * machine), driven by a scripted driver: the one test double the project
 * allows. Everything a real backend does is covered by the conformance
 * suite; here the "peer" speaks a tiny script so that each rule can be hit
 * exactly:
 *
 *   wire byte  meaning (what the scripted driver does in advance())
 *   'h'        the handshake completes
 *   'd' n ...  n bytes of application data
 *   'a' c l    the peer sent alert c at level l; fatal level: PEER_ALERT
 *   'w' c l    the peer sent alert c at level l and the "library" carries on
 *   'f'        a fatal failure: writes "X" (its alert), returns FAILED
 *   'c'        the peer's close_notify
 *   'v'        calls svc->verify with a one-certificate chain
 *   'r'        the server asks for a client certificate (pauses while PENDING)
 *
 * The driver writes "HELLO" first (client), "D"+data for write_app, "CN"
 * for close_notify, "AL"+code+level for send_alert, "C"+count when it
 * loads a client chain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend.h"
#include "driver.h"
#include "polytls/polytls.h"
#include "../tools/demo_pki.h"

/* ------------------------------------------------------- scripted driver -- */

static const polytls_core_services *svc;
static uint16_t script_version = 0x0304;
static bool script_alerts_supported = true;
static bool script_verify_alerts_supported = true;
static polytls_certificate *script_cert;   /* a CA certificate */
static polytls_certificate *script_leaf;   /* handed to svc->verify: matches demo.polytls.test */
static size_t script_server_chain_len;     /* what conn_init got on a server */

typedef struct sconn {
    polytls_core_conn *core;
    bool is_server;
    bool hello_sent;
    bool done;
    bool cert_pending;
} sconn;

static polytls_status s_init(const polytls_core_services *services, polytls_drv_info *info)
{
    svc = services;
    snprintf(info->version, sizeof info->version, "scripted 1");
    info->capabilities = POLYTLS_CAP_ASYNC_SERVER_CERT | POLYTLS_CAP_ASYNC_CLIENT_CERT;
    return POLYTLS_OK;
}

static polytls_status s_ctx_init(const polytls_drv_config *cfg, void **ctx, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    *ctx = (void *)(uintptr_t)(cfg->is_server ? 2 : 1);
    return POLYTLS_OK;
}

static void s_ctx_fini(void *ctx)
{
    (void)ctx;
}

static polytls_status s_conn_init(void *ctx, polytls_core_conn *core, const polytls_drv_conn_config *cc,
                                  void **out)
{
    sconn *c = calloc(1, sizeof *c);
    if (!c)
        return POLYTLS_ERR_NO_MEMORY;
    c->core = core;
    c->is_server = (uintptr_t)ctx == 2;
    if (c->is_server)
        script_server_chain_len = cc->chain ? cc->chain->n : 0;
    *out = c;
    return POLYTLS_OK;
}

static void s_conn_fini(void *conn)
{
    free(conn);
}

static bool take(sconn *c, uint8_t *b)
{
    return svc->io_recv(c->core, b, 1) == 1;
}

static polytls_drv_rc s_advance(void *conn, bool *done)
{
    sconn *c = conn;
    if (!c->is_server && !c->hello_sent) {
        c->hello_sent = true;
        svc->io_send(c->core, (const uint8_t *)"HELLO", 5);
    }
    if (c->cert_pending) {
        const polytls_drv_chain *chain = NULL;
        if (svc->client_cert_request(c->core, NULL, 0, &chain) == POLYTLS_DRV_CERT_PENDING)
            return POLYTLS_DRV_PAUSED;
        c->cert_pending = false;
        uint8_t msg[2] = {'C', (uint8_t)(chain ? chain->n : 0)};
        svc->io_send(c->core, msg, 2);
    }
    uint8_t op;
    while (take(c, &op)) {
        uint8_t a, b;
        switch (op) {
        case 'h':
            c->done = *done = true;
            break;
        case 'd': {
            take(c, &a);
            uint8_t *p = svc->app_reserve(c->core, a);
            for (uint8_t i = 0; i < a; i++)
                take(c, &p[i]);
            svc->app_commit(c->core, a);
            break;
        }
        case 'a':
        case 'w':
            take(c, &a);
            take(c, &b);
            svc->peer_alert(c->core, (polytls_alert)a, (polytls_alert_level)b);
            if (op == 'a' && b == POLYTLS_ALERT_LEVEL_FATAL)
                return POLYTLS_DRV_PEER_ALERT;
            break;
        case 'f':
            svc->io_send(c->core, (const uint8_t *)"X", 1);
            svc->set_error(c->core, "scripted failure");
            return POLYTLS_DRV_FAILED;
        case 'c':
            return POLYTLS_DRV_CLOSED;
        case 'v': {
            const uint8_t *der;
            size_t len;
            polytls_certificate_der(script_leaf, &der, &len);
            polytls_drv_blob blob = {der, len};
            polytls_alert alert = 0;
            if (!svc->verify(c->core, &blob, 1, &alert)) {
                uint8_t msg[2] = {'R', (uint8_t)alert};
                svc->io_send(c->core, msg, 2);
                return POLYTLS_DRV_FAILED;
            }
            break;
        }
        case 'r': {
            const polytls_drv_chain *chain = NULL;
            if (svc->client_cert_request(c->core, NULL, 0, &chain) == POLYTLS_DRV_CERT_PENDING) {
                c->cert_pending = true;
                return POLYTLS_DRV_PAUSED;
            }
            uint8_t msg[2] = {'C', (uint8_t)(chain ? chain->n : 0)};
            svc->io_send(c->core, msg, 2);
            break;
        }
        default:
            break;   /* the server's view of a ClientHello etc.: ignored */
        }
    }
    *done = c->done;
    return POLYTLS_DRV_AGAIN;
}

static polytls_status s_write_app(void *conn, const uint8_t *data, size_t len)
{
    sconn *c = conn;
    svc->io_send(c->core, (const uint8_t *)"D", 1);
    return svc->io_send(c->core, data, len);
}

static polytls_status s_close_notify(void *conn)
{
    sconn *c = conn;
    return svc->io_send(c->core, (const uint8_t *)"CN", 2);
}

static polytls_status s_get_facts(void *conn, polytls_drv_facts *f)
{
    (void)conn;
    f->version = script_version;
    f->cipher_id = 0x1301;
    snprintf(f->cipher_name, sizeof f->cipher_name, "TLS_AES_128_GCM_SHA256");
    return POLYTLS_OK;
}

static polytls_status s_send_alert(void *conn, polytls_alert code, polytls_alert_level level, bool in_verify)
{
    sconn *c = conn;
    if (in_verify)
        return script_verify_alerts_supported ? POLYTLS_OK : POLYTLS_ERR_UNSUPPORTED;
    if (!script_alerts_supported)
        return POLYTLS_ERR_UNSUPPORTED;
    uint8_t msg[4] = {'A', 'L', (uint8_t)code, (uint8_t)level};
    return svc->io_send(c->core, msg, 4);
}

static const polytls_driver scripted = {
    .abi_version = POLYTLS_DRIVER_ABI_VERSION,
    .size = sizeof(polytls_driver),
    .name = "scripted",
    .built_version = "scripted 1",
    .init = s_init,
    .ctx_init = s_ctx_init,
    .ctx_fini = s_ctx_fini,
    .conn_init = s_conn_init,
    .conn_fini = s_conn_fini,
    .advance = s_advance,
    .write_app = s_write_app,
    .close_notify = s_close_notify,
    .get_facts = s_get_facts,
    .send_alert = s_send_alert,
};

/* ------------------------------------------------------------- fixtures -- */

typedef struct peer {
    polytls_conn *conn;
    char wire[4096];
    size_t wire_len;
    int closes;
    bool close_immediate;
    int handshake_dones;
    char events[64];   /* callback order: 'w' write, 'x' wire_close, 'h' handshake_done, 'v' verify */
    size_t n_events;
    int verify_calls;
    int verify_result;
    polytls_alert alert_in_verify;        /* 0: none */
    polytls_status alert_in_verify_status;
    /* re-entrancy probes run from inside write_to_wire */
    bool probe_reentry;
    polytls_status reentry_wire, reentry_app;
    bool free_inside;
    /* certificate selection */
    polytls_chain_reply *reply;
    char server_name[256];
    int selections;
} peer;

static void event(peer *p, char e)
{
    if (p->n_events < sizeof p->events - 1)
        p->events[p->n_events++] = e;
}

static void cb_write(void *user, const uint8_t *data, size_t len)
{
    peer *p = user;
    event(p, 'w');
    if (p->wire_len + len <= sizeof p->wire) {
        memcpy(p->wire + p->wire_len, data, len);
        p->wire_len += len;
    }
    if (p->probe_reentry) {
        const uint8_t *app;
        size_t n;
        p->reentry_wire = polytls_conn_data_from_wire(p->conn, (const uint8_t *)"x", 1, &app, &n);
        p->reentry_app = polytls_conn_data_from_application(p->conn, (const uint8_t *)"x", 1);
    }
    if (p->free_inside) {
        p->free_inside = false;
        polytls_conn_free(p->conn);
        p->conn = NULL;
    }
}

static void cb_close(void *user, bool immediate)
{
    peer *p = user;
    event(p, 'x');
    p->closes++;
    p->close_immediate = immediate;
}

static void cb_done(void *user, polytls_conn *c)
{
    (void)c;
    peer *p = user;
    event(p, 'h');
    p->handshake_dones++;
}

static int cb_verify(void *user, polytls_conn *c, polytls_certificate *const *chain, size_t n)
{
    peer *p = user;
    (void)chain;
    event(p, 'v');
    p->verify_calls++;
    assert_int_equal(n, 1);
    if (p->alert_in_verify)
        p->alert_in_verify_status = polytls_conn_send_alert(c, p->alert_in_verify, POLYTLS_ALERT_LEVEL_FATAL);
    return p->verify_result;
}

static const polytls_conn_callbacks callbacks = {
    .size = sizeof(polytls_conn_callbacks),
    .write_to_wire = cb_write,
    .wire_close = cb_close,
    .verify = cb_verify,
    .handshake_done = cb_done,
};

static polytls_backend *backend;
static polytls_trust_store *trust;

static void select_chain(void *user, const char *server_name, polytls_chain_reply *reply)
{
    peer *p = user;
    p->selections++;
    snprintf(p->server_name, sizeof p->server_name, "%s", server_name ? server_name : "(null)");
    p->reply = reply;
}

static void get_roots(void *user, const uint8_t *const *roots, const size_t *lens, size_t n,
                      polytls_chain_reply *reply)
{
    (void)roots;
    (void)lens;
    (void)n;
    ((peer *)user)->reply = reply;
}

static void get_default(void *user, polytls_chain_reply *reply)
{
    ((peer *)user)->reply = reply;
}

static polytls_certificate **leaf_chain;
static size_t leaf_chain_len;

static int setup_all(void **state)
{
    (void)state;
    if (ptls_backend_from_driver(&scripted, &backend) != POLYTLS_OK)
        return -1;
    polytls_certificate **ca = NULL;
    size_t n = 0;
    if (polytls_certificates_from_pem(demo_ca_pem, strlen(demo_ca_pem), &ca, &n) != POLYTLS_OK)
        return -1;
    if (polytls_trust_store_new(ca, n, &trust) != POLYTLS_OK)
        return -1;
    script_cert = polytls_certificate_ref(ca[0]);
    polytls_certificates_free(ca, n);
    if (polytls_chain_from_pem(demo_leaf_pem, strlen(demo_leaf_pem), demo_leaf_key_pem,
                               strlen(demo_leaf_key_pem), &leaf_chain, &leaf_chain_len) != POLYTLS_OK)
        return -1;
    script_leaf = leaf_chain[0];
    return 0;
}

static int teardown_all(void **state)
{
    (void)state;
    polytls_trust_store_unref(trust);
    polytls_certificate_unref(script_cert);
    polytls_certificates_free(leaf_chain, leaf_chain_len);
    return 0;
}

typedef struct fixture {
    polytls_client *client;
    polytls_client_cert_store *store;
    peer p;
} fixture;

static int setup_client(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    script_version = 0x0304;
    script_alerts_supported = true;
    script_verify_alerts_supported = true;
    polytls_client_cert_store_callbacks scb = {.size = sizeof scb,
                                              .get_chain_for_roots = get_roots,
                                              .get_default_chain = get_default};
    assert_int_equal(polytls_client_cert_store_new(&scb, &f->p, &f->store), POLYTLS_OK);
    assert_int_equal(polytls_client_new(backend, "demo.polytls.test", trust, f->store, &f->client), POLYTLS_OK);
    assert_int_equal(polytls_client_start(f->client, &callbacks, &f->p, &f->p.conn), POLYTLS_OK);
    /* The core checks the header of the server's first record before any
       driver sees it; after this the script speaks freely. */
    const uint8_t *app;
    size_t n;
    assert_int_equal(polytls_conn_data_from_wire(f->p.conn, (const uint8_t *)"\x16\x03\x03\x00\x01", 5, &app, &n),
                     POLYTLS_OK);
    *state = f;
    return 0;
}

static int teardown_client(void **state)
{
    fixture *f = *state;
    polytls_conn_free(f->p.conn);
    polytls_client_free(f->client);
    polytls_client_cert_store_unref(f->store);
    free(f);
    return 0;
}

static polytls_status feed(peer *p, const char *script, size_t len, const uint8_t **app, size_t *app_len)
{
    return polytls_conn_data_from_wire(p->conn, (const uint8_t *)script, len, app, app_len);
}
#define FEED(p, lit, app, n) feed((p), (lit), sizeof(lit) - 1, (app), (n))

static bool wire_has(const peer *p, const char *needle, size_t len)
{
    for (size_t i = 0; i + len <= p->wire_len; i++)
        if (memcmp(p->wire + i, needle, len) == 0)
            return true;
    return false;
}

/* ---------------------------------------------------------------- tests -- */

static void client_hello_written_before_start_returns(void **state)
{
    fixture *f = *state;
    assert_int_equal(f->p.wire_len, 5);
    assert_memory_equal(f->p.wire, "HELLO", 5);
    assert_false(polytls_conn_handshake_done(f->p.conn));
}

static void garbage_from_the_server_is_refused_by_the_core(void **state)
{
    (void)state;
    polytls_client *client;
    peer p = {0};
    assert_int_equal(polytls_client_new(backend, "demo.polytls.test", trust, NULL, &client), POLYTLS_OK);
    assert_int_equal(polytls_client_start(client, &callbacks, &p, &p.conn), POLYTLS_OK);
    p.wire_len = 0;
    const uint8_t *app;
    size_t n;
    const char *http = "HTTP/1.1 400 Bad Request\r\n";
    assert_int_equal(polytls_conn_data_from_wire(p.conn, (const uint8_t *)http, strlen(http), &app, &n),
                     POLYTLS_ERR_BAD_TLS_DATA);
    assert_int_equal(p.wire_len, 7);
    assert_memory_equal(p.wire, "\x15\x03\x03\x00\x02\x02\x0a", 7);
    assert_int_equal(p.closes, 1);
    assert_false(p.close_immediate);
    polytls_conn_free(p.conn);

    /* a record too long for TLS, one byte at a time: refused once the header is whole */
    peer q = {0};
    assert_int_equal(polytls_client_start(client, &callbacks, &q, &q.conn), POLYTLS_OK);
    q.wire_len = 0;
    const uint8_t hdr[5] = {22, 3, 3, 0x48, 0x01};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(polytls_conn_data_from_wire(q.conn, hdr + i, 1, &app, &n), POLYTLS_OK);
    assert_int_equal(polytls_conn_data_from_wire(q.conn, hdr + 4, 1, &app, &n), POLYTLS_ERR_BAD_TLS_DATA);
    assert_memory_equal(q.wire, "\x15\x03\x03\x00\x02\x02\x16", 7);
    polytls_conn_free(q.conn);
    polytls_client_free(client);
}

static void early_application_data_waits_for_the_handshake(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    assert_int_equal(polytls_conn_data_from_application(f->p.conn, (const uint8_t *)"early", 5), POLYTLS_OK);
    assert_false(wire_has(&f->p, "Dearly", 6));
    f->p.n_events = 0;
    assert_int_equal(FEED(&f->p, "h", &app, &n), POLYTLS_OK);
    assert_true(wire_has(&f->p, "Dearly", 6));
    assert_int_equal(f->p.handshake_dones, 1);
    /* handshake_done runs before the queued data is written */
    assert_string_equal(f->p.events, "hw");
    uint16_t v;
    assert_int_equal(polytls_conn_tls_version(f->p.conn, &v), POLYTLS_OK);
    assert_int_equal(v, 0x0304);
}

static void facts_wait_for_the_handshake(void **state)
{
    fixture *f = *state;
    uint16_t v;
    const char *name;
    assert_int_equal(polytls_conn_tls_version(f->p.conn, &v), POLYTLS_ERR_WRONG_STATE);
    assert_int_equal(polytls_conn_cipher_suite(f->p.conn, &name, NULL), POLYTLS_ERR_WRONG_STATE);
}

static void data_before_an_error_is_returned_with_it(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    assert_int_equal(FEED(&f->p, "hd\x03" "abcf", &app, &n), POLYTLS_ERR_BAD_TLS_DATA);
    assert_int_equal(n, 3);
    assert_memory_equal(app, "abc", 3);
    assert_true(wire_has(&f->p, "X", 1));
    assert_int_equal(f->p.closes, 1);
    assert_false(f->p.close_immediate);
    assert_string_equal(polytls_conn_error_message(f->p.conn), "scripted failure");
    /* sticky: every call now says INVALIDATED */
    assert_int_equal(FEED(&f->p, "d\x01z", &app, &n), POLYTLS_ERR_INVALIDATED);
    assert_int_equal(polytls_conn_data_from_application(f->p.conn, (const uint8_t *)"a", 1),
                     POLYTLS_ERR_INVALIDATED);
    assert_int_equal(polytls_conn_send_alert(f->p.conn, POLYTLS_ALERT_INTERNAL_ERROR, POLYTLS_ALERT_LEVEL_DEFAULT),
                     POLYTLS_ERR_INVALIDATED);
    assert_int_equal(polytls_conn_application_finished(f->p.conn), POLYTLS_ERR_INVALIDATED);
    assert_int_equal(polytls_conn_eof_from_wire(f->p.conn), POLYTLS_ERR_INVALIDATED);
    assert_true(polytls_conn_invalidated(f->p.conn));
    assert_int_equal(f->p.closes, 1);
}

static void peer_fatal_alert_closes_immediately(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    assert_int_equal(FEED(&f->p, "hd\x02ok", &app, &n), POLYTLS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(FEED(&f->p, "a\x28\x02", &app, &n), POLYTLS_ERR_TLS_ALERT);
    polytls_alert code;
    polytls_alert_level level;
    assert_int_equal(polytls_conn_peer_alert(f->p.conn, &code, &level), POLYTLS_OK);
    assert_int_equal(code, POLYTLS_ALERT_HANDSHAKE_FAILURE);
    assert_int_equal(level, POLYTLS_ALERT_LEVEL_FATAL);
    assert_int_equal(f->p.closes, 1);
    assert_true(f->p.close_immediate);
}

static void tls13_warning_error_alert_is_fatal(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    /* a library that lets a TLS 1.3 warning-level error alert pass (wolfSSL 5.5) */
    assert_int_equal(FEED(&f->p, "hw\x70\x01", &app, &n), POLYTLS_ERR_TLS_ALERT);
    polytls_alert code;
    polytls_alert_level level;
    assert_int_equal(polytls_conn_peer_alert(f->p.conn, &code, &level), POLYTLS_OK);
    assert_int_equal(code, POLYTLS_ALERT_UNRECOGNIZED_NAME);
    assert_int_equal(level, POLYTLS_ALERT_LEVEL_FATAL);
    assert_true(f->p.close_immediate);
}

static void tls13_user_canceled_is_not_an_error(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    assert_int_equal(FEED(&f->p, "hw\x5a\x01" "d\x01z", &app, &n), POLYTLS_OK);
    assert_int_equal(n, 1);
    assert_false(polytls_conn_invalidated(f->p.conn));
}

static void tls12_warning_alert_is_reported_not_fatal(void **state)
{
    fixture *f = *state;
    script_version = 0x0303;
    const uint8_t *app;
    size_t n;
    assert_int_equal(FEED(&f->p, "hw\x70\x01" "d\x01z", &app, &n), POLYTLS_OK);
    polytls_alert code;
    polytls_alert_level level;
    assert_int_equal(polytls_conn_peer_alert(f->p.conn, &code, &level), POLYTLS_OK);
    assert_int_equal(code, POLYTLS_ALERT_UNRECOGNIZED_NAME);
    assert_int_equal(level, POLYTLS_ALERT_LEVEL_WARNING);
    assert_int_equal(n, 1);
    assert_int_equal(f->p.closes, 0);
}

static void tls12_close_notify_is_answered_at_once(void **state)
{
    fixture *f = *state;
    script_version = 0x0303;
    const uint8_t *app;
    size_t n;
    assert_int_equal(FEED(&f->p, "hd\x02hic", &app, &n), POLYTLS_OK);
    assert_int_equal(n, 2);
    assert_true(polytls_conn_peer_closed(f->p.conn));
    assert_true(wire_has(&f->p, "CN", 2));
    assert_int_equal(f->p.closes, 1);
    assert_false(f->p.close_immediate);
    assert_int_equal(FEED(&f->p, "d\x01z", &app, &n), POLYTLS_ERR_WRONG_STATE);
    assert_int_equal(polytls_conn_eof_from_wire(f->p.conn), POLYTLS_OK);
    assert_int_equal(polytls_conn_data_from_application(f->p.conn, (const uint8_t *)"a", 1),
                     POLYTLS_ERR_INVALIDATED);
}

static void tls13_close_notify_leaves_our_side_open(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    assert_int_equal(FEED(&f->p, "hc", &app, &n), POLYTLS_OK);
    assert_true(polytls_conn_peer_closed(f->p.conn));
    assert_false(wire_has(&f->p, "CN", 2));
    assert_int_equal(f->p.closes, 0);
    assert_int_equal(polytls_conn_data_from_application(f->p.conn, (const uint8_t *)"late", 4), POLYTLS_OK);
    assert_true(wire_has(&f->p, "Dlate", 5));
    assert_int_equal(polytls_conn_application_finished(f->p.conn), POLYTLS_OK);
    assert_true(wire_has(&f->p, "CN", 2));
    assert_int_equal(f->p.closes, 1);
    assert_false(f->p.close_immediate);
}

static void eof_without_close_notify_is_truncation(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    assert_int_equal(FEED(&f->p, "h", &app, &n), POLYTLS_OK);
    assert_int_equal(polytls_conn_eof_from_wire(f->p.conn), POLYTLS_ERR_BAD_TLS_DATA);
    assert_non_null(strstr(polytls_conn_error_message(f->p.conn), "truncated"));
    assert_true(f->p.close_immediate);
    assert_int_equal(polytls_conn_eof_from_wire(f->p.conn), POLYTLS_ERR_INVALIDATED);
}

static void application_finished_before_the_handshake_is_recorded(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    assert_int_equal(polytls_conn_data_from_application(f->p.conn, (const uint8_t *)"bye", 3), POLYTLS_OK);
    assert_int_equal(polytls_conn_application_finished(f->p.conn), POLYTLS_OK);
    assert_int_equal(polytls_conn_application_finished(f->p.conn), POLYTLS_OK);
    assert_false(wire_has(&f->p, "CN", 2));
    assert_int_equal(polytls_conn_data_from_application(f->p.conn, (const uint8_t *)"no", 2),
                     POLYTLS_ERR_INVALIDATED);
    assert_int_equal(FEED(&f->p, "h", &app, &n), POLYTLS_OK);
    /* queued data first, then close_notify */
    assert_true(wire_has(&f->p, "DbyeCN", 6));
}

static void calls_from_inside_callbacks_are_refused(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    f->p.probe_reentry = true;
    assert_int_equal(polytls_conn_data_from_application(f->p.conn, (const uint8_t *)"q", 1), POLYTLS_OK);
    assert_int_equal(FEED(&f->p, "h", &app, &n), POLYTLS_OK);
    f->p.probe_reentry = false;
    assert_int_equal(f->p.reentry_wire, POLYTLS_ERR_WRONG_STATE);
    assert_int_equal(f->p.reentry_app, POLYTLS_ERR_WRONG_STATE);
    assert_false(polytls_conn_invalidated(f->p.conn));
}

static void free_inside_a_callback_is_deferred(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    polytls_conn *c = f->p.conn;
    f->p.free_inside = true;
    assert_int_equal(polytls_conn_data_from_application(c, (const uint8_t *)"q", 1), POLYTLS_OK);
    /* write_to_wire frees the connection; the outer call must not touch it after */
    polytls_status s = feed(&f->p, "h", 1, &app, &n);
    assert_int_equal(s, POLYTLS_ERR_INVALIDATED);
    assert_null(f->p.conn);
}

static void verify_runs_once_and_rejection_invalidates(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    f->p.verify_result = 1;
    assert_int_equal(FEED(&f->p, "v", &app, &n), POLYTLS_ERR_CALLBACK_FAILED);
    assert_int_equal(f->p.verify_calls, 1);
    /* the driver was told to send bad_certificate by default */
    assert_true(wire_has(&f->p, "R\x2a", 2));
    assert_true(polytls_conn_invalidated(f->p.conn));
    assert_false(f->p.close_immediate);
}

static void verify_accepts_once_per_negotiation(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    assert_int_equal(FEED(&f->p, "vvh", &app, &n), POLYTLS_OK);
    assert_int_equal(f->p.verify_calls, 1);
    polytls_certificate *const *chain;
    size_t len;
    assert_int_equal(polytls_conn_peer_chain(f->p.conn, &chain, &len), POLYTLS_OK);
    assert_int_equal(len, 1);
}

static void alert_chosen_in_verify_reaches_the_driver(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    f->p.alert_in_verify = POLYTLS_ALERT_CERTIFICATE_REVOKED;
    assert_int_equal(FEED(&f->p, "v", &app, &n), POLYTLS_ERR_CALLBACK_FAILED);
    assert_int_equal(f->p.alert_in_verify_status, POLYTLS_OK);
    assert_true(wire_has(&f->p, "R\x2c", 2));
}

static void alert_in_verify_unsupported_is_reported(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    script_verify_alerts_supported = false;
    f->p.alert_in_verify = POLYTLS_ALERT_CERTIFICATE_REVOKED;
    assert_int_equal(FEED(&f->p, "v", &app, &n), POLYTLS_OK);   /* verify returned 0: accepted */
    assert_int_equal(f->p.alert_in_verify_status, POLYTLS_ERR_UNSUPPORTED);
    assert_false(polytls_conn_invalidated(f->p.conn));
}

static void send_alert_rules(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    assert_int_equal(FEED(&f->p, "h", &app, &n), POLYTLS_OK);
    /* TLS 1.3: error alerts are fatal only */
    assert_int_equal(polytls_conn_send_alert(f->p.conn, POLYTLS_ALERT_HANDSHAKE_FAILURE, POLYTLS_ALERT_LEVEL_WARNING),
                     POLYTLS_ERR_INVALID_ALERT_LEVEL);
    assert_int_equal(polytls_conn_send_alert(f->p.conn, (polytls_alert)200, POLYTLS_ALERT_LEVEL_FATAL),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    script_alerts_supported = false;
    assert_int_equal(polytls_conn_send_alert(f->p.conn, POLYTLS_ALERT_INTERNAL_ERROR, POLYTLS_ALERT_LEVEL_DEFAULT),
                     POLYTLS_ERR_UNSUPPORTED);
    assert_false(polytls_conn_invalidated(f->p.conn));
    script_alerts_supported = true;
    assert_int_equal(polytls_conn_send_alert(f->p.conn, POLYTLS_ALERT_INTERNAL_ERROR, POLYTLS_ALERT_LEVEL_DEFAULT),
                     POLYTLS_OK);
    assert_true(wire_has(&f->p, "AL\x50\x02", 4));
    assert_true(polytls_conn_invalidated(f->p.conn));
    assert_int_equal(f->p.closes, 1);
    assert_false(f->p.close_immediate);
}

static void client_certificate_answered_later(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    assert_int_equal(FEED(&f->p, "r", &app, &n), POLYTLS_OK);
    assert_non_null(f->p.reply);
    /* bytes arriving while paused are buffered, not processed */
    assert_int_equal(FEED(&f->p, "hd\x01z", &app, &n), POLYTLS_OK);
    assert_int_equal(n, 0);
    assert_false(polytls_conn_handshake_done(f->p.conn));
    /* a chain that is not one leaf with its key stays open */
    polytls_certificate *ca = script_cert;
    assert_int_equal(polytls_chain_reply_send(f->p.reply, &ca, 1), POLYTLS_ERR_NO_LEAF);
    assert_int_equal(polytls_chain_reply_send(f->p.reply, leaf_chain, leaf_chain_len), POLYTLS_OK);
    /* the handshake resumed inside chain_reply_send */
    assert_true(wire_has(&f->p, "C\x01", 2));
    assert_true(polytls_conn_handshake_done(f->p.conn));
    assert_int_equal(polytls_chain_reply_send(f->p.reply, leaf_chain, leaf_chain_len), POLYTLS_ERR_INVALIDATED);
    /* the plaintext that arrived meanwhile comes with the next call */
    assert_int_equal(polytls_conn_data_from_wire(f->p.conn, NULL, 0, &app, &n), POLYTLS_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(app, "z", 1);
}

static void client_reply_after_free_is_invalidated(void **state)
{
    fixture *f = *state;
    const uint8_t *app;
    size_t n;
    assert_int_equal(FEED(&f->p, "r", &app, &n), POLYTLS_OK);
    polytls_chain_reply *r = f->p.reply;
    polytls_conn_free(f->p.conn);
    f->p.conn = NULL;
    assert_int_equal(polytls_chain_reply_send(r, leaf_chain, leaf_chain_len), POLYTLS_ERR_INVALIDATED);
}

/* ---------------------------------------------------------- server side -- */

/* A minimal ClientHello with SNI (the scripted server driver ignores it; the
   core's pre-parser reads it). */
static size_t build_client_hello(uint8_t *out, const char *sni)
{
    uint8_t body[512];
    size_t b = 0;
    body[b++] = 3;
    body[b++] = 3;
    memset(body + b, 0x11, 32);
    b += 32;
    body[b++] = 0;                       /* session id */
    body[b++] = 0;
    body[b++] = 2;
    body[b++] = 0x13;
    body[b++] = 0x01;                    /* TLS_AES_128_GCM_SHA256 */
    body[b++] = 1;
    body[b++] = 0;                       /* null compression */
    size_t ext_len_at = b;
    b += 2;
    size_t ext_start = b;
    if (sni) {
        size_t l = strlen(sni);
        body[b++] = 0;
        body[b++] = 0;                   /* server_name */
        body[b++] = 0;
        body[b++] = (uint8_t)(l + 5);
        body[b++] = 0;
        body[b++] = (uint8_t)(l + 3);
        body[b++] = 0;                   /* host_name */
        body[b++] = 0;
        body[b++] = (uint8_t)l;
        memcpy(body + b, sni, l);
        b += l;
    }
    size_t ext_len = b - ext_start;
    body[ext_len_at] = (uint8_t)(ext_len >> 8);
    body[ext_len_at + 1] = (uint8_t)ext_len;
    size_t o = 0;
    out[o++] = 22;
    out[o++] = 3;
    out[o++] = 1;
    out[o++] = (uint8_t)((b + 4) >> 8);
    out[o++] = (uint8_t)(b + 4);
    out[o++] = 1;
    out[o++] = 0;
    out[o++] = (uint8_t)(b >> 8);
    out[o++] = (uint8_t)b;
    memcpy(out + o, body, b);
    return o + b;
}

typedef struct sfixture {
    polytls_server *server;
    polytls_server_certificates *sc;
    peer p;
} sfixture;

static int setup_server(void **state)
{
    sfixture *f = calloc(1, sizeof *f);
    script_server_chain_len = 0;
    polytls_server_certificates_callbacks scb = {.size = sizeof scb, .get_chain_for_server_name = select_chain};
    assert_int_equal(polytls_server_certificates_new(&scb, &f->p, &f->sc), POLYTLS_OK);
    assert_int_equal(polytls_server_new(backend, f->sc, NULL, 0, &f->server), POLYTLS_OK);
    assert_int_equal(polytls_server_start(f->server, &callbacks, &f->p, &f->p.conn), POLYTLS_OK);
    assert_int_equal(f->p.wire_len, 0);
    *state = f;
    return 0;
}

static int teardown_server(void **state)
{
    sfixture *f = *state;
    polytls_conn_free(f->p.conn);
    polytls_server_free(f->server);
    polytls_server_certificates_unref(f->sc);
    free(f);
    return 0;
}

static void server_waits_for_the_whole_client_hello(void **state)
{
    sfixture *f = *state;
    uint8_t ch[600];
    size_t len = build_client_hello(ch, "Server.Test");
    const uint8_t *app;
    size_t n;
    for (size_t i = 0; i + 1 < len; i++) {
        assert_int_equal(polytls_conn_data_from_wire(f->p.conn, ch + i, 1, &app, &n), POLYTLS_OK);
        assert_int_equal(f->p.selections, 0);
    }
    assert_int_equal(polytls_conn_data_from_wire(f->p.conn, ch + len - 1, 1, &app, &n), POLYTLS_OK);
    assert_int_equal(f->p.selections, 1);
    assert_string_equal(f->p.server_name, "server.test");
    const char *name;
    assert_int_equal(polytls_conn_server_name(f->p.conn, &name), POLYTLS_OK);
    assert_string_equal(name, "server.test");
    /* more input while the user decides is buffered (the server's driver
       is handed whole records during the handshake: one around the script) */
    assert_int_equal(polytls_conn_data_from_wire(f->p.conn, (const uint8_t *)"\x16\x03\x03\x00\x01h", 6, &app, &n),
                     POLYTLS_OK);
    assert_false(polytls_conn_handshake_done(f->p.conn));
    assert_int_equal(polytls_chain_reply_send(f->p.reply, leaf_chain, leaf_chain_len), POLYTLS_OK);
    assert_int_equal(script_server_chain_len, leaf_chain_len);
    assert_true(polytls_conn_handshake_done(f->p.conn));
    assert_int_equal(polytls_chain_reply_send(f->p.reply, leaf_chain, leaf_chain_len), POLYTLS_ERR_INVALIDATED);
}

/* A client's fatal alert in plaintext during the handshake (OpenSSL sends
   one in TLS 1.3 when it fails before switching keys) is taken by the core,
   whatever the server's library would make of it. */
static void server_takes_a_plaintext_alert_during_the_handshake(void **state)
{
    sfixture *f = *state;
    uint8_t ch[600];
    size_t len = build_client_hello(ch, "server.test");
    const uint8_t *app;
    size_t n;
    assert_int_equal(polytls_conn_data_from_wire(f->p.conn, ch, len, &app, &n), POLYTLS_OK);
    assert_int_equal(polytls_chain_reply_send(f->p.reply, leaf_chain, leaf_chain_len), POLYTLS_OK);
    const uint8_t alert[7] = {21, 3, 3, 0, 2, 2, 42};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(polytls_conn_data_from_wire(f->p.conn, alert + i, 1, &app, &n), POLYTLS_OK);
    assert_int_equal(polytls_conn_data_from_wire(f->p.conn, alert + 6, 1, &app, &n), POLYTLS_ERR_TLS_ALERT);
    polytls_alert code;
    polytls_alert_level level;
    assert_int_equal(polytls_conn_peer_alert(f->p.conn, &code, &level), POLYTLS_OK);
    assert_int_equal(code, POLYTLS_ALERT_BAD_CERTIFICATE);
    assert_int_equal(level, POLYTLS_ALERT_LEVEL_FATAL);
    assert_int_equal(f->p.closes, 1);
    assert_true(f->p.close_immediate);
}

static void server_without_a_chain_sends_unrecognized_name(void **state)
{
    sfixture *f = *state;
    uint8_t ch[600];
    size_t len = build_client_hello(ch, "nowhere.test");
    const uint8_t *app;
    size_t n;
    assert_int_equal(polytls_conn_data_from_wire(f->p.conn, ch, len, &app, &n), POLYTLS_OK);
    polytls_chain_reply_cancel(f->p.reply);
    assert_int_equal(f->p.wire_len, 7);
    assert_memory_equal(f->p.wire, "\x15\x03\x03\x00\x02\x02\x70", 7);
    assert_int_equal(f->p.closes, 1);
    assert_false(f->p.close_immediate);
    assert_true(polytls_conn_invalidated(f->p.conn));
}

static void server_without_sni_or_chain_sends_handshake_failure(void **state)
{
    sfixture *f = *state;
    uint8_t ch[600];
    size_t len = build_client_hello(ch, NULL);
    const uint8_t *app;
    size_t n;
    assert_int_equal(polytls_conn_data_from_wire(f->p.conn, ch, len, &app, &n), POLYTLS_OK);
    assert_string_equal(f->p.server_name, "(null)");
    assert_int_equal(polytls_chain_reply_send(f->p.reply, NULL, 0), POLYTLS_OK);
    assert_memory_equal(f->p.wire, "\x15\x03\x03\x00\x02\x02\x28", 7);
}

static void server_refuses_garbage_before_any_backend_runs(void **state)
{
    sfixture *f = *state;
    const uint8_t *app;
    size_t n;
    const char *http = "GET / HTTP/1.1\r\n";
    assert_int_equal(polytls_conn_data_from_wire(f->p.conn, (const uint8_t *)http, strlen(http), &app, &n),
                     POLYTLS_ERR_BAD_TLS_DATA);
    assert_int_equal(f->p.wire_len, 7);
    assert_memory_equal(f->p.wire, "\x15\x03\x03\x00\x02\x02\x0a", 7);
    assert_int_equal(f->p.selections, 0);
    assert_false(f->p.close_immediate);
}

static void server_alert_while_choosing_is_plaintext(void **state)
{
    sfixture *f = *state;
    uint8_t ch[600];
    size_t len = build_client_hello(ch, "server.test");
    const uint8_t *app;
    size_t n;
    assert_int_equal(polytls_conn_send_alert(f->p.conn, POLYTLS_ALERT_ACCESS_DENIED, POLYTLS_ALERT_LEVEL_FATAL),
                     POLYTLS_ERR_WRONG_STATE);
    assert_int_equal(polytls_conn_data_from_wire(f->p.conn, ch, len, &app, &n), POLYTLS_OK);
    assert_int_equal(polytls_conn_send_alert(f->p.conn, POLYTLS_ALERT_ACCESS_DENIED, POLYTLS_ALERT_LEVEL_FATAL),
                     POLYTLS_OK);
    assert_memory_equal(f->p.wire, "\x15\x03\x03\x00\x02\x02\x31", 7);
    assert_true(polytls_conn_invalidated(f->p.conn));
    assert_int_equal(polytls_chain_reply_send(f->p.reply, leaf_chain, leaf_chain_len), POLYTLS_ERR_INVALIDATED);
}

static void server_reply_after_free_is_safe(void **state)
{
    sfixture *f = *state;
    uint8_t ch[600];
    size_t len = build_client_hello(ch, "server.test");
    const uint8_t *app;
    size_t n;
    assert_int_equal(polytls_conn_data_from_wire(f->p.conn, ch, len, &app, &n), POLYTLS_OK);
    polytls_conn_free(f->p.conn);
    f->p.conn = NULL;
    assert_int_equal(polytls_chain_reply_send(f->p.reply, leaf_chain, leaf_chain_len), POLYTLS_ERR_INVALIDATED);
}

static void start_rejects_bad_callbacks(void **state)
{
    (void)state;
    polytls_client *client;
    polytls_conn *c;
    assert_int_equal(polytls_client_new(backend, "demo.polytls.test", trust, NULL, &client), POLYTLS_OK);
    polytls_conn_callbacks cb = callbacks;
    cb.size = 0;
    assert_int_equal(polytls_client_start(client, &cb, NULL, &c), POLYTLS_ERR_INVALID_ARGUMENT);
    cb = callbacks;
    cb.write_to_wire = NULL;
    assert_int_equal(polytls_client_start(client, &cb, NULL, &c), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_client_start(client, NULL, NULL, &c), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_client_start(client, &callbacks, NULL, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
    /* options are frozen by the first start */
    peer p = {0};
    assert_int_equal(polytls_client_start(client, &callbacks, &p, &p.conn), POLYTLS_OK);
    assert_int_equal(polytls_client_set_versions(client, 0x0304, 0x0304), POLYTLS_ERR_WRONG_STATE);
    polytls_conn_free(p.conn);
    polytls_client *bad = NULL;
    assert_int_equal(polytls_client_new(backend, "bad host name!", trust, NULL, &bad), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_null(bad);
    polytls_client_free(client);
}

#define CLIENT_TEST(t) cmocka_unit_test_setup_teardown(t, setup_client, teardown_client)
#define SERVER_TEST(t) cmocka_unit_test_setup_teardown(t, setup_server, teardown_server)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CLIENT_TEST(client_hello_written_before_start_returns),
        cmocka_unit_test(garbage_from_the_server_is_refused_by_the_core),
        CLIENT_TEST(early_application_data_waits_for_the_handshake),
        CLIENT_TEST(facts_wait_for_the_handshake),
        CLIENT_TEST(data_before_an_error_is_returned_with_it),
        CLIENT_TEST(peer_fatal_alert_closes_immediately),
        CLIENT_TEST(tls13_warning_error_alert_is_fatal),
        CLIENT_TEST(tls13_user_canceled_is_not_an_error),
        CLIENT_TEST(tls12_warning_alert_is_reported_not_fatal),
        CLIENT_TEST(tls12_close_notify_is_answered_at_once),
        CLIENT_TEST(tls13_close_notify_leaves_our_side_open),
        CLIENT_TEST(eof_without_close_notify_is_truncation),
        CLIENT_TEST(application_finished_before_the_handshake_is_recorded),
        CLIENT_TEST(calls_from_inside_callbacks_are_refused),
        CLIENT_TEST(free_inside_a_callback_is_deferred),
        CLIENT_TEST(verify_runs_once_and_rejection_invalidates),
        CLIENT_TEST(verify_accepts_once_per_negotiation),
        CLIENT_TEST(alert_chosen_in_verify_reaches_the_driver),
        CLIENT_TEST(alert_in_verify_unsupported_is_reported),
        CLIENT_TEST(send_alert_rules),
        CLIENT_TEST(client_certificate_answered_later),
        CLIENT_TEST(client_reply_after_free_is_invalidated),
        SERVER_TEST(server_waits_for_the_whole_client_hello),
        SERVER_TEST(server_takes_a_plaintext_alert_during_the_handshake),
        SERVER_TEST(server_without_a_chain_sends_unrecognized_name),
        SERVER_TEST(server_without_sni_or_chain_sends_handshake_failure),
        SERVER_TEST(server_refuses_garbage_before_any_backend_runs),
        SERVER_TEST(server_alert_while_choosing_is_plaintext),
        SERVER_TEST(server_reply_after_free_is_safe),
        cmocka_unit_test(start_rejects_bad_callbacks),
    };
    return cmocka_run_group_tests_name("gate", tests, setup_all, teardown_all);
}
