/* client_auth.*: client certificates requested with and without CA names,
   answered inside the callback or later, chains that do not reach the named
   roots, clients without a certificate (OPTIONAL vs REQUIRED), and a client
   certificate from an unknown CA. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct store_state {
    unsigned roots_calls, default_calls;
    size_t n_roots;
    uint8_t *root0;
    size_t root0_len;
    const char *answer;          /* leaf name to answer with ("client1"); NULL = no certificate */
    bool later;                  /* keep the reply instead of answering */
    polytls_chain_reply *reply;
    polytls_status first_send;   /* the status of the first send tried inside */
    const char *first_try;       /* a chain to try first inside the callback (expected to fail) */
} store_state;

static void answer(store_state *st, polytls_chain_reply *reply)
{
    st->reply = reply;
    if (st->first_try) {
        cf_certs c = cf_load_chain(st->first_try);
        st->first_send = polytls_chain_reply_send(reply, c.v, c.n);
        cf_certs_free(&c);
        if (st->first_send == POLYTLS_OK)
            return; /* accepted (no names to check): the caller's assertion reports it */
    }
    if (st->later)
        return;
    if (!st->answer) {
        cf_assert_status(polytls_chain_reply_send(reply, NULL, 0), POLYTLS_OK);
        return;
    }
    cf_certs c = cf_load_chain(st->answer);
    cf_assert_status(polytls_chain_reply_send(reply, c.v, c.n), POLYTLS_OK);
    cf_certs_free(&c);
}

static void on_roots(void *user, const uint8_t *const *roots, const size_t *lens, size_t n,
                     polytls_chain_reply *reply)
{
    store_state *st = user;
    st->roots_calls++;
    st->n_roots = n;
    if (n > 0) {
        st->root0 = cf_xmalloc(lens[0]);
        memcpy(st->root0, roots[0], lens[0]);
        st->root0_len = lens[0];
    }
    answer(st, reply);
}

static void on_default(void *user, polytls_chain_reply *reply)
{
    store_state *st = user;
    st->default_calls++;
    answer(st, reply);
}

static polytls_client_cert_store *make_store(store_state *st)
{
    polytls_client_cert_store_callbacks cb = {
        .size = sizeof cb, .get_chain_for_roots = on_roots, .get_default_chain = on_default };
    polytls_client_cert_store *s = NULL;
    cf_assert_status(polytls_client_cert_store_new(&cb, st, &s), POLYTLS_OK);
    return s;
}

/* Builds a pair with client auth; the store (may be NULL) is borrowed. */
static void auth_pair(cf_pair *p, store_state *st, polytls_client_auth mode, bool names,
                      uint16_t version)
{
    polytls_client_cert_store *store = st ? make_store(st) : NULL;
    cf_pair_init(p);
    cf_setup s = { .client_store = store, .client_auth = mode, .client_auth_trust = "client-ca1.pem",
                   .send_ca_names = names, .client_min = version, .client_max = version };
    cf_pair_setup(p, &s);
    polytls_client_cert_store_unref(store); /* the client keeps its reference */
}

static void expect_client1_verified(cf_pair *p)
{
    cf_side *sv = CF_S(p);
    assert_int_equal(sv->verify_calls, 1);
    assert_int_equal(sv->verify_n, 2);
    cf_assert_der_is(sv->verify_der[0], sv->verify_der_len[0], "client1");
    cf_assert_der_is(sv->verify_der[1], sv->verify_der_len[1], "client-ca1");
    polytls_certificate *const *chain;
    size_t n;
    cf_assert_status(polytls_conn_peer_chain(sv->conn, &chain, &n), POLYTLS_OK);
    assert_int_equal(n, 2);
    cf_assert_cert_is(chain[0], "client1");
    cf_assert_cert_is(chain[1], "client-ca1");
    /* the server's verify came before its handshake_done */
    long v = cf_find_event(p, CF_SERVER, CF_EV_VERIFY, 0);
    long d = cf_find_event(p, CF_SERVER, CF_EV_HANDSHAKE_DONE, 0);
    assert_true(v >= 0 && d > v);
}

static void assert_root_is_ca1(store_state *st)
{
    size_t len;
    uint8_t *want = cf_subject_der("client-ca1.pem", &len);
    assert_int_equal(st->n_roots, 1);
    assert_int_equal(st->root0_len, len);
    assert_memory_equal(st->root0, want, len);
    free(want);
}

/* With CA names: get_chain_for_roots receives client-ca1's subject. TLS 1.3
   carries them only with POLYTLS_CAP_TLS13_CA_NAMES; without it the client
   falls back to get_default_chain. */
static void with_ca_names(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        uint16_t version = v ? 0x0303 : 0x0304;
        store_state st = { .answer = "client1" };
        cf_pair p;
        auth_pair(&p, &st, POLYTLS_CLIENT_AUTH_REQUIRED, true, version);
        cf_handshake(&p);
        if (version == 0x0303 || cf_has_cap(POLYTLS_CAP_TLS13_CA_NAMES)) {
            if (version == 0x0303)
                cf_check_value("client_auth.ca_names_tls12", 1, st.roots_calls);
            else
                assert_int_equal(st.roots_calls, 1);
            assert_int_equal(st.roots_calls + st.default_calls, 1);
            if (st.roots_calls)
                assert_root_is_ca1(&st);
        } else {
            assert_int_equal(st.roots_calls, 0);
            assert_int_equal(st.default_calls, 1);
        }
        expect_client1_verified(&p);
        cf_send_and_check(&p, CF_CLIENT, "authenticated", 13);
        free(st.root0);
        cf_pair_free(&p);
    }
}

static void without_ca_names(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        uint16_t version = v ? 0x0303 : 0x0304;
        store_state st = { .answer = "client1" };
        cf_pair p;
        auth_pair(&p, &st, POLYTLS_CLIENT_AUTH_REQUIRED, false, version);
        cf_handshake(&p);
        assert_int_equal(st.roots_calls, 0);
        assert_int_equal(st.default_calls, 1);
        expect_client1_verified(&p);
        cf_pair_free(&p);
    }
}

/* Answered later: the client pauses, then resumes inside reply_send. */
static void answered_later(void **state)
{
    (void)state;
    if (!cf_has_cap(POLYTLS_CAP_ASYNC_CLIENT_CERT))
        skip(); /* the not-claimed side: caps.async_client_cert */
    for (int v = 0; v < 2; v++) {
        uint16_t version = v ? 0x0303 : 0x0304;
        store_state st = { .later = true };
        cf_pair p;
        auth_pair(&p, &st, POLYTLS_CLIENT_AUTH_REQUIRED, false, version);
        cf_pump(&p);
        assert_int_equal(st.default_calls, 1);
        assert_non_null(st.reply);
        cf_assert_conn_status(CF_C(&p)->first_error, POLYTLS_OK, CF_C(&p)->conn);
        cf_assert_conn_status(CF_S(&p)->first_error, POLYTLS_OK, CF_S(&p)->conn);
        assert_false(polytls_conn_handshake_done(CF_S(&p)->conn));
        /* data written while paused is queued */
        cf_assert_status(polytls_conn_data_from_application(CF_C(&p)->conn,
                                                            (const uint8_t *)"queued", 6),
                         POLYTLS_OK);
        unsigned before = CF_C(&p)->writes;
        cf_certs c = cf_load_chain("client1");
        cf_assert_status(polytls_chain_reply_send(st.reply, c.v, c.n), POLYTLS_OK);
        cf_certs_free(&c);
        assert_true(CF_C(&p)->writes > before);
        cf_handshake(&p);
        expect_client1_verified(&p);
        assert_int_equal(CF_S(&p)->app_len, 6);
        assert_memory_equal(CF_S(&p)->app, "queued", 6);
        cf_pair_free(&p);
    }
}

/* A chain that does not reach the named roots: NO_CERTIFICATE_CHAIN, the
   reply stays open, and the right chain then works. */
static void not_reaching_roots(void **state)
{
    (void)state;
    store_state st = { .answer = "client1", .first_try = "client2" };
    cf_pair p;
    auth_pair(&p, &st, POLYTLS_CLIENT_AUTH_REQUIRED, true, 0x0303);
    cf_pump(&p);
    cf_check_value("client_auth.ca_names_tls12", 1, st.roots_calls);
    if (st.roots_calls == 0) {
        /* no names reached the client: nothing to check the chain against */
        free(st.root0);
        cf_pair_free(&p);
        return;
    }
    cf_handshake(&p);
    cf_assert_status(st.first_send, POLYTLS_ERR_NO_CERTIFICATE_CHAIN);
    expect_client1_verified(&p);
    free(st.root0);
    cf_pair_free(&p);

    /* later, too */
    if (!cf_has_cap(POLYTLS_CAP_ASYNC_CLIENT_CERT))
        return;
    store_state later = { .later = true };
    auth_pair(&p, &later, POLYTLS_CLIENT_AUTH_REQUIRED, true, 0x0303);
    cf_pump(&p);
    assert_non_null(later.reply);
    cf_certs wrong = cf_load_chain("client2");
    cf_assert_status(polytls_chain_reply_send(later.reply, wrong.v, wrong.n),
                     POLYTLS_ERR_NO_CERTIFICATE_CHAIN);
    cf_certs_free(&wrong);
    assert_false(polytls_conn_invalidated(CF_C(&p)->conn));
    cf_certs right = cf_load_chain("client1");
    cf_assert_status(polytls_chain_reply_send(later.reply, right.v, right.n), POLYTLS_OK);
    cf_certs_free(&right);
    cf_handshake(&p);
    free(later.root0);
    cf_pair_free(&p);
}

/* No certificate: OPTIONAL accepts the client, REQUIRED refuses it with
   certificate_required (TLS 1.3) / handshake_failure (TLS 1.2). */
static void no_certificate(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        uint16_t version = v ? 0x0303 : 0x0304;
        for (int with_store = 0; with_store < 2; with_store++) {
            store_state st = { .answer = NULL };
            cf_pair p;
            auth_pair(&p, with_store ? &st : NULL, POLYTLS_CLIENT_AUTH_OPTIONAL, false, version);
            cf_pump(&p);
            cf_check_value(version == 0x0304 ? "client_auth.optional_without_certificate"
                                             : "client_auth.optional_without_certificate/tls12",
                           POLYTLS_OK, CF_C(&p)->first_error);
            if (CF_C(&p)->first_error != POLYTLS_OK) {
                cf_pair_free(&p);
                continue;
            }
            cf_handshake(&p);
            polytls_certificate *const *chain;
            size_t n = 9;
            cf_assert_status(polytls_conn_peer_chain(CF_S(&p)->conn, &chain, &n), POLYTLS_OK);
            assert_int_equal(n, 0);
            cf_pair_free(&p);

            auth_pair(&p, with_store ? &st : NULL, POLYTLS_CLIENT_AUTH_REQUIRED, false, version);
            cf_pump(&p);
            cf_side *c = CF_C(&p), *sv = CF_S(&p);
            cf_assert_conn_status(sv->first_error, POLYTLS_ERR_BAD_TLS_DATA, sv->conn);
            assert_int_equal(sv->handshake_done_calls, 0);
            cf_assert_wire_closed(sv, false);
            cf_assert_all_invalidated(sv->conn);
            assert_int_equal(sv->verify_calls, 0);
            long alert = cf_peer_alert_code(c);
            cf_check_value(version == 0x0304 ? "client_auth.required_missing"
                                             : "client_auth.required_missing/tls12",
                           version == 0x0304 ? POLYTLS_ALERT_CERTIFICATE_REQUIRED
                                             : POLYTLS_ALERT_HANDSHAKE_FAILURE,
                           alert);
            if (alert >= 0) /* a documented "no alert" leaves the client waiting */
                cf_assert_conn_status(c->first_error, POLYTLS_ERR_TLS_ALERT, c->conn);
            cf_pair_free(&p);
        }
    }
}

/* Cancelling the reply means "no certificate". */
static void cancelled(void **state)
{
    (void)state;
    if (!cf_has_cap(POLYTLS_CAP_ASYNC_CLIENT_CERT))
        skip();
    store_state st = { .later = true };
    cf_pair p;
    auth_pair(&p, &st, POLYTLS_CLIENT_AUTH_OPTIONAL, false, 0);
    cf_pump(&p);
    assert_non_null(st.reply);
    polytls_chain_reply_cancel(st.reply);
    cf_pump(&p);
    /* the same as answering with no certificate (the client fails, if it
       does, inside the cancel: its status shows as invalidation) */
    polytls_status client_st = CF_C(&p)->first_error;
    if (client_st == POLYTLS_OK && polytls_conn_invalidated(CF_C(&p)->conn))
        client_st = POLYTLS_ERR_BAD_TLS_DATA;
    cf_check_value("client_auth.optional_without_certificate", POLYTLS_OK, client_st);
    if (client_st != POLYTLS_OK) {
        cf_pair_free(&p);
        return;
    }
    cf_handshake(&p);
    polytls_certificate *const *chain;
    size_t n = 9;
    cf_assert_status(polytls_conn_peer_chain(CF_S(&p)->conn, &chain, &n), POLYTLS_OK);
    assert_int_equal(n, 0);
    cf_pair_free(&p);
}

/* A client certificate from a CA the server does not trust. */
static void unknown_client_ca(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        uint16_t version = v ? 0x0303 : 0x0304;
        store_state st = { .answer = "client2" };
        cf_pair p;
        auth_pair(&p, &st, POLYTLS_CLIENT_AUTH_REQUIRED, false, version);
        cf_pump(&p);
        cf_side *c = CF_C(&p), *sv = CF_S(&p);
        cf_assert_conn_status(sv->first_error, POLYTLS_ERR_BAD_TLS_DATA, sv->conn);
        assert_int_equal(sv->verify_calls, 0);
        cf_assert_wire_closed(sv, false);
        cf_assert_conn_status(c->first_error, POLYTLS_ERR_TLS_ALERT, c->conn);
        cf_check_value(v ? "client_auth.unknown_ca/tls12" : "client_auth.unknown_ca",
                       POLYTLS_ALERT_UNKNOWN_CA, cf_peer_alert_code(c));
        cf_pair_free(&p);
    }
}

/* The server's verify callback refusing a valid client certificate. */
static void server_verify_rejects(void **state)
{
    (void)state;
    store_state st = { .answer = "client1" };
    cf_pair p;
    auth_pair(&p, &st, POLYTLS_CLIENT_AUTH_REQUIRED, false, 0x0303);
    CF_S(&p)->verify_result = 1;
    cf_pump(&p);
    cf_assert_conn_status(CF_S(&p)->first_error, POLYTLS_ERR_CALLBACK_FAILED, CF_S(&p)->conn);
    assert_int_equal(CF_S(&p)->verify_calls, 1);
    cf_assert_all_invalidated(CF_S(&p)->conn);
    cf_assert_conn_status(CF_C(&p)->first_error, POLYTLS_ERR_TLS_ALERT, CF_C(&p)->conn);
    cf_check_value("verify.reject/server", POLYTLS_ALERT_BAD_CERTIFICATE, cf_peer_alert_code(CF_C(&p)));
    cf_pair_free(&p);
}

/* set_client_auth is configuration: before the first start only. */
static void set_after_start(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .no_client = true };
    cf_pair_setup(&p, &s);
    polytls_trust_store *ts = cf_load_trust("client-ca1.pem");
    cf_assert_status(polytls_server_set_client_auth(p.server, POLYTLS_CLIENT_AUTH_REQUIRED, ts, true),
                     POLYTLS_ERR_WRONG_STATE);
    polytls_trust_store_unref(ts);
    cf_pair_free(&p);
}

/* Freeing a client while it waits for the user's certificate (the library's
   handshake suspended natively, or on the core's coroutine): nothing leaks,
   nothing runs, and the reply then answers INVALIDATED. Both versions. */
static void free_while_paused(void **state)
{
    (void)state;
    if (!cf_has_cap(POLYTLS_CAP_ASYNC_CLIENT_CERT))
        skip();
    for (int v = 0; v < 2; v++) {
        store_state st = { .later = true };
        cf_pair p;
        auth_pair(&p, &st, POLYTLS_CLIENT_AUTH_REQUIRED, false, v ? 0x0303 : 0x0304);
        cf_pump(&p);
        assert_non_null(st.reply);
        assert_false(polytls_conn_handshake_done(CF_C(&p)->conn));
        polytls_conn_free(CF_C(&p)->conn);
        CF_C(&p)->conn = NULL;
        cf_certs c = cf_load_chain("client1");
        cf_assert_status(polytls_chain_reply_send(st.reply, c.v, c.n), POLYTLS_ERR_INVALIDATED);
        cf_certs_free(&c);
        free(st.root0);
        cf_pair_free(&p);
    }
}

static const struct CMUnitTest tests[] = {
    CF_TEST(with_ca_names, "client_auth.with_ca_names"),
    CF_TEST(without_ca_names, "client_auth.without_ca_names"),
    CF_TEST(answered_later, "client_auth.answered_later"),
    CF_TEST(not_reaching_roots, "client_auth.not_reaching_roots"),
    CF_TEST(no_certificate, "client_auth.no_certificate"),
    CF_TEST(cancelled, "client_auth.cancelled"),
    CF_TEST(free_while_paused, "client_auth.free_while_paused"),
    CF_TEST(unknown_client_ca, "client_auth.unknown_client_ca"),
    CF_TEST(server_verify_rejects, "client_auth.server_verify_rejects"),
    CF_TEST(set_after_start, "client_auth.set_after_start"),
};
CF_GROUP(cf_group_client_auth, "client_auth", tests);
