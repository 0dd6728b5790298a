/* async.*: server certificate replies answered later (the handshake pauses,
   input is buffered, and it resumes inside polytls_chain_reply_send), twice,
   cancelled, with bad chains first, and after the connection was freed. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct holder {
    unsigned calls;
    polytls_chain_reply *reply;
    char name[256];
} holder;

/* Keeps the reply for later. */
static void keep_reply(void *user, const char *server_name, polytls_chain_reply *reply)
{
    holder *h = user;
    h->calls++;
    h->reply = reply;
    snprintf(h->name, sizeof h->name, "%s", server_name ? server_name : "(null)");
}

static polytls_server_certificates *later_certs(holder *h)
{
    polytls_server_certificates_callbacks cb = { .size = sizeof cb,
                                                 .get_chain_for_server_name = keep_reply };
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_certificates_new(&cb, h, &sc), POLYTLS_OK);
    return sc;
}

/* Sets up a pair whose server waits for a reply; returns after the
   ClientHello was delivered and the callback ran. */
static void paused_pair(cf_pair *p, holder *h, uint16_t client_max)
{
    if (!cf_has_cap(POLYTLS_CAP_ASYNC_SERVER_CERT))
        skip();
    memset(h, 0, sizeof *h);
    polytls_server_certificates *sc = later_certs(h);
    cf_pair_init(p);
    cf_setup s = { .server_certs = sc, .client_max = client_max };
    cf_pair_setup(p, &s);
    polytls_server_certificates_unref(sc);
    cf_pump(p);
    assert_int_equal(h->calls, 1);
    assert_non_null(h->reply);
    assert_string_equal(h->name, "server.test");
    /* paused: the server said nothing yet and nothing failed */
    assert_int_equal(CF_S(p)->writes, 0);
    cf_assert_conn_status(CF_S(p)->first_error, POLYTLS_OK, CF_S(p)->conn);
    assert_false(polytls_conn_handshake_done(CF_S(p)->conn));
    /* the name is known as soon as the ClientHello arrived */
    const char *name = NULL;
    cf_assert_status(polytls_conn_server_name(CF_S(p)->conn, &name), POLYTLS_OK);
    assert_string_equal(name, "server.test");
}

static void answered_later(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        holder h;
        paused_pair(&p, &h, v ? 0x0303 : 0);

        /* input arriving while paused is buffered: a TLS 1.3 compatibility
           ChangeCipherSpec (to be ignored), fed in two pieces */
        if (v == 0) {
            static const uint8_t ccs[] = { 0x14, 0x03, 0x03, 0x00, 0x01, 0x01 };
            cf_assert_status(cf_deliver(&p, CF_SERVER, ccs, 3), POLYTLS_OK);
            cf_assert_status(cf_deliver(&p, CF_SERVER, ccs + 3, 3), POLYTLS_OK);
            assert_int_equal(CF_S(&p)->writes, 0);
        }
        /* application data written meanwhile is queued */
        cf_assert_status(polytls_conn_data_from_application(CF_S(&p)->conn,
                                                            (const uint8_t *)"queued", 6),
                         POLYTLS_OK);
        assert_int_equal(CF_S(&p)->writes, 0);

        /* the answer resumes the handshake inside reply_send */
        cf_certs chain = cf_load_chain("server-ec");
        cf_assert_status(polytls_chain_reply_send(h.reply, chain.v, chain.n), POLYTLS_OK);
        assert_true(CF_S(&p)->writes >= 1);
        cf_certs_free(&chain); /* the connection holds its own references */
        cf_handshake(&p);
        assert_int_equal(CF_C(&p)->app_len, 6);
        assert_memory_equal(CF_C(&p)->app, "queued", 6);
        cf_send_and_check(&p, CF_CLIENT, "hi", 2);
        assert_int_equal(h.calls, 1);
        cf_pair_free(&p);
    }
}

/* A second send on a finished reply is INVALIDATED (the connection lives). */
static void answered_twice(void **state)
{
    (void)state;
    cf_pair p;
    holder h;
    paused_pair(&p, &h, 0);
    cf_certs chain = cf_load_chain("server-ec");
    cf_assert_status(polytls_chain_reply_send(h.reply, chain.v, chain.n), POLYTLS_OK);
    cf_assert_status(polytls_chain_reply_send(h.reply, chain.v, chain.n), POLYTLS_ERR_INVALIDATED);
    polytls_chain_reply_cancel(h.reply); /* also harmless now */
    cf_handshake(&p);
    cf_certs_free(&chain);
    cf_pair_free(&p);
}

/* Cancel = no chain: unrecognized_name, since the client sent SNI. */
static void cancelled(void **state)
{
    (void)state;
    cf_pair p;
    holder h;
    paused_pair(&p, &h, 0);
    polytls_chain_reply_cancel(h.reply);
    assert_true(polytls_conn_invalidated(CF_S(&p)->conn));
    cf_assert_wire_closed(CF_S(&p), false);
    cf_wire_alert a;
    assert_true(cf_last_plain_alert(CF_S(&p), &a));
    cf_check_value("sni.no_chain_with_sni", POLYTLS_ALERT_UNRECOGNIZED_NAME, a.code);
    cf_pump(&p);
    cf_assert_conn_status(CF_C(&p)->first_error, POLYTLS_ERR_TLS_ALERT, CF_C(&p)->conn);
    assert_int_equal(cf_peer_alert_code(CF_C(&p)), a.code);
    /* sending after the cancel: INVALIDATED */
    cf_certs chain = cf_load_chain("server-ec");
    cf_assert_status(polytls_chain_reply_send(h.reply, chain.v, chain.n), POLYTLS_ERR_INVALIDATED);
    cf_certs_free(&chain);
    cf_pair_free(&p);
}

/* After polytls_conn_free: send is INVALIDATED and frees the reply; cancel
   is safe too. (ASan checks the "no leak, no use after free" part.) */
static void after_free(void **state)
{
    (void)state;
    cf_pair p;
    holder h;
    paused_pair(&p, &h, 0);
    polytls_conn_free(CF_S(&p)->conn);
    CF_S(&p)->conn = NULL;
    cf_certs chain = cf_load_chain("server-ec");
    cf_assert_status(polytls_chain_reply_send(h.reply, chain.v, chain.n), POLYTLS_ERR_INVALIDATED);
    cf_certs_free(&chain);
    cf_pair_free(&p);

    paused_pair(&p, &h, 0);
    polytls_conn_free(CF_S(&p)->conn);
    CF_S(&p)->conn = NULL;
    polytls_chain_reply_cancel(h.reply);
    cf_pair_free(&p);

    /* the server endpoint freed too: the reply still answers safely */
    paused_pair(&p, &h, 0);
    polytls_server_free(p.server);
    p.server = NULL;
    polytls_conn_free(CF_S(&p)->conn);
    CF_S(&p)->conn = NULL;
    chain = cf_load_chain("server-ec");
    cf_assert_status(polytls_chain_reply_send(h.reply, chain.v, chain.n), POLYTLS_ERR_INVALIDATED);
    cf_certs_free(&chain);
    cf_pair_free(&p);
}

/* A chain that fails a check leaves the reply open for a corrected one. */
static void bad_chain_then_good(void **state)
{
    (void)state;
    cf_pair p;
    holder h;
    paused_pair(&p, &h, 0);
    cf_certs nokey = cf_load_certs("server-ec-chain.pem");
    cf_certs good = cf_load_chain("server-ec");
    cf_certs other = cf_load_chain("other");
    cf_certs ca1 = cf_load_certs("client-ca1.pem");

    cf_assert_status(polytls_chain_reply_send(h.reply, nokey.v, nokey.n),
                     POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY);
    cf_assert_status(polytls_chain_reply_send(h.reply, &good.v[1], 1), POLYTLS_ERR_NO_LEAF);
    polytls_certificate *two[3] = { good.v[0], other.v[0], good.v[1] };
    cf_assert_status(polytls_chain_reply_send(h.reply, two, 3), POLYTLS_ERR_MORE_THAN_ONE_LEAF);
    polytls_certificate *stray[3] = { good.v[0], good.v[1], ca1.v[0] };
    cf_assert_status(polytls_chain_reply_send(h.reply, stray, 3), POLYTLS_ERR_NO_CERTIFICATE_CHAIN);
    /* nothing happened on the wire meanwhile */
    assert_int_equal(CF_S(&p)->writes, 0);
    assert_false(polytls_conn_invalidated(CF_S(&p)->conn));
    /* reversed order is accepted (the core orders it) */
    polytls_certificate *rev[2] = { good.v[1], good.v[0] };
    cf_assert_status(polytls_chain_reply_send(h.reply, rev, 2), POLYTLS_OK);
    cf_handshake(&p);
    polytls_certificate *const *chain;
    size_t n;
    cf_assert_status(polytls_conn_peer_chain(CF_C(&p)->conn, &chain, &n), POLYTLS_OK);
    cf_assert_cert_is(chain[0], "server-ec");

    cf_certs_free(&nokey);
    cf_certs_free(&good);
    cf_certs_free(&other);
    cf_certs_free(&ca1);
    cf_pair_free(&p);
}

/* Other connection calls while paused. */
static void calls_while_paused(void **state)
{
    (void)state;
    cf_pair p;
    holder h;
    paused_pair(&p, &h, 0);
    polytls_conn *s = CF_S(&p)->conn;
    uint16_t v;
    cf_assert_status(polytls_conn_tls_version(s, &v), POLYTLS_ERR_WRONG_STATE);
    /* the server may refuse the client now: its alert is plaintext */
    cf_assert_status(polytls_conn_send_alert(s, POLYTLS_ALERT_ACCESS_DENIED, POLYTLS_ALERT_LEVEL_FATAL),
                     POLYTLS_OK);
    assert_true(polytls_conn_invalidated(s));
    cf_assert_wire_closed(CF_S(&p), false);
    cf_wire_alert a;
    assert_true(cf_last_plain_alert(CF_S(&p), &a));
    assert_int_equal(a.code, POLYTLS_ALERT_ACCESS_DENIED);
    assert_int_equal(a.level, 2);
    cf_pump(&p);
    cf_assert_conn_status(CF_C(&p)->first_error, POLYTLS_ERR_TLS_ALERT, CF_C(&p)->conn);
    assert_int_equal(cf_peer_alert_code(CF_C(&p)), POLYTLS_ALERT_ACCESS_DENIED);
    /* the open reply is now useless */
    cf_certs chain = cf_load_chain("server-ec");
    cf_assert_status(polytls_chain_reply_send(h.reply, chain.v, chain.n), POLYTLS_ERR_INVALIDATED);
    cf_certs_free(&chain);
    cf_pair_free(&p);
}

/* The reply answered inside the callback: the handshake just goes on. */
static void reply_now(void *user, const char *server_name, polytls_chain_reply *reply)
{
    (void)server_name;
    cf_certs *c = user;
    cf_assert_status(polytls_chain_reply_send(reply, c->v, c->n), POLYTLS_OK);
    /* a second answer from inside is refused as well */
    cf_assert_status(polytls_chain_reply_send(reply, c->v, c->n), POLYTLS_ERR_INVALIDATED);
}

static void answered_inside(void **state)
{
    (void)state;
    cf_certs chain = cf_load_chain("server-rsa");
    polytls_server_certificates_callbacks cb = { .size = sizeof cb,
                                                 .get_chain_for_server_name = reply_now };
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_certificates_new(&cb, &chain, &sc), POLYTLS_OK);
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .server_certs = sc, .hostname = "rsa.test" };
    cf_pair_setup(&p, &s);
    polytls_server_certificates_unref(sc);
    cf_handshake(&p);
    cf_pair_free(&p);
    cf_certs_free(&chain);
}

/* A ClientHello split over several records and delivered a byte at a time
   still reaches the selection callback exactly once. */
static void split_client_hello(void **state)
{
    (void)state;
    cf_pair p;
    holder h;
    if (!cf_has_cap(POLYTLS_CAP_ASYNC_SERVER_CERT))
        skip();
    memset(&h, 0, sizeof h);
    polytls_server_certificates *sc = later_certs(&h);
    cf_pair_init(&p);
    cf_setup s = { .server_certs = sc };
    cf_pair_setup(&p, &s);
    polytls_server_certificates_unref(sc);

    /* re-frame the client's single ClientHello record as three records */
    cf_side *c = CF_C(&p);
    assert_true(c->out_len > 5 && c->out[0] == 0x16);
    size_t body = ((size_t)c->out[3] << 8) | c->out[4];
    assert_int_equal(c->out_len, 5 + body);
    uint8_t *framed = cf_xmalloc(body + 15);
    size_t cuts[4] = { 0, 7, body / 2, body }, flen = 0;
    for (int i = 0; i < 3; i++) {
        size_t n = cuts[i + 1] - cuts[i];
        framed[flen++] = 0x16;
        framed[flen++] = c->out[1];
        framed[flen++] = c->out[2];
        framed[flen++] = (uint8_t)(n >> 8);
        framed[flen++] = (uint8_t)n;
        memcpy(framed + flen, c->out + 5 + cuts[i], n);
        flen += n;
    }
    cf_drop_output(c);
    p.split = CF_SPLIT_BYTES;
    cf_assert_status(cf_deliver(&p, CF_SERVER, framed, flen), POLYTLS_OK);
    free(framed);
    assert_int_equal(h.calls, 1);
    cf_certs chain = cf_load_chain("server-ec");
    cf_assert_status(polytls_chain_reply_send(h.reply, chain.v, chain.n), POLYTLS_OK);
    cf_certs_free(&chain);
    cf_handshake(&p);
    cf_pair_free(&p);
}

static const struct CMUnitTest tests[] = {
    CF_TEST(answered_later, "async.answered_later"),
    CF_TEST(answered_twice, "async.answered_twice"),
    CF_TEST(cancelled, "async.cancelled"),
    CF_TEST(after_free, "async.after_free"),
    CF_TEST(bad_chain_then_good, "async.bad_chain_then_good"),
    CF_TEST(calls_while_paused, "async.calls_while_paused"),
    CF_TEST(answered_inside, "async.answered_inside"),
    CF_TEST(split_client_hello, "async.split_client_hello"),
};
CF_GROUP(cf_group_async, "async", tests);
