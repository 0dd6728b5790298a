/* sni.*: SNIServerCertificates picks the chain whose leaf matches the name
   (exact, wildcard, first match in order), else the default; without any
   chain the handshake fails with unrecognized_name / handshake_failure. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Builds an SNI set from leaf names (each "L-chain.pem" + "L.key"), with an
   optional default chain. */
static polytls_server_certificates *sni_set(const char *const *leaves, size_t n_leaves,
                                            const char *default_leaf)
{
    polytls_certificate *all[16];
    size_t n = 0;
    cf_certs loaded[8];
    for (size_t i = 0; i < n_leaves; i++) {
        loaded[i] = cf_load_chain(leaves[i]);
        /* the intermediate is shared: give each CA certificate once */
        for (size_t k = 0; k < loaded[i].n; k++) {
            bool dup = false;
            const uint8_t *d1, *d2;
            size_t l1, l2;
            cf_assert_status(polytls_certificate_der(loaded[i].v[k], &d1, &l1), POLYTLS_OK);
            for (size_t j = 0; j < n && !dup; j++) {
                cf_assert_status(polytls_certificate_der(all[j], &d2, &l2), POLYTLS_OK);
                dup = l1 == l2 && memcmp(d1, d2, l1) == 0;
            }
            if (!dup)
                all[n++] = loaded[i].v[k];
        }
    }
    cf_certs def = { NULL, 0 };
    if (default_leaf)
        def = cf_load_chain(default_leaf);
    polytls_server_certificates *sc = NULL;
    polytls_status st = polytls_sni_certificates_new(all, n, def.v, def.n, &sc);
    for (size_t i = 0; i < n_leaves; i++)
        cf_certs_free(&loaded[i]);
    cf_certs_free(&def);
    cf_assert_status(st, POLYTLS_OK);
    return sc;
}

/* Connects with `hostname` and asserts the served leaf. */
static void expect_leaf(polytls_server_certificates *sc, const char *hostname, const char *leaf)
{
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .server_certs = sc, .hostname = hostname };
    cf_pair_setup(&p, &s);
    cf_handshake(&p);
    polytls_certificate *const *chain;
    size_t n;
    cf_assert_status(polytls_conn_peer_chain(CF_C(&p)->conn, &chain, &n), POLYTLS_OK);
    assert_true(n >= 1);
    cf_assert_cert_is(chain[0], leaf);
    cf_pair_free(&p);
}

static void picks_chain(void **state)
{
    (void)state;
    static const char *const leaves[] = { "server-ec", "other" };
    polytls_server_certificates *sc = sni_set(leaves, 2, "server-rsa");
    expect_leaf(sc, "server.test", "server-ec");
    expect_leaf(sc, "other.test", "other");
    expect_leaf(sc, "x.wild.test", "server-ec");
    expect_leaf(sc, "OTHER.test", "other");
    /* no leaf in the set matches rsa.test: the default */
    expect_leaf(sc, "rsa.test", "server-rsa");
    polytls_server_certificates_unref(sc);
}

/* No SNI (an IP literal): the default chain. */
static void default_without_sni(void **state)
{
    (void)state;
    static const char *const leaves[] = { "other", "server-rsa" };
    polytls_server_certificates *sc = sni_set(leaves, 2, "server-ec");
    expect_leaf(sc, "127.0.0.1", "server-ec");
    polytls_server_certificates_unref(sc);
}

/* Several leaves match: the first given wins. */
static void first_match_wins(void **state)
{
    (void)state;
    static const char *const a[] = { "server-rsa", "server-ec" };
    static const char *const b[] = { "server-ec", "server-rsa" };
    polytls_server_certificates *sc = sni_set(a, 2, NULL);
    expect_leaf(sc, "server.test", "server-rsa");
    polytls_server_certificates_unref(sc);
    sc = sni_set(b, 2, NULL);
    expect_leaf(sc, "server.test", "server-ec");
    polytls_server_certificates_unref(sc);
}

/* No chain: unrecognized_name(112) when SNI was sent, handshake_failure(40)
   without SNI. */
static void expect_no_chain(polytls_server_certificates *sc, const char *hostname, const char *id,
                            long standard)
{
    for (int v = 0; v < 2; v++) {
        char vid[128];
        snprintf(vid, sizeof vid, "%s%s", id, v ? "/tls12" : "");
        cf_pair p;
        cf_pair_init(&p);
        cf_setup s = { .server_certs = sc, .hostname = hostname, .client_max = v ? 0x0303 : 0 };
        cf_pair_setup(&p, &s);
        cf_pump(&p);
        cf_side *c = CF_C(&p), *sv = CF_S(&p);
        assert_true(polytls_conn_invalidated(sv->conn));
        assert_int_equal(sv->handshake_done_calls, 0);
        cf_assert_wire_closed(sv, false);
        /* no certificate was ever sent: the alert is the server's first word */
        cf_wire_alert a;
        assert_true(cf_last_plain_alert(sv, &a));
        assert_int_equal(a.level, 2);
        cf_check_value(vid, standard, a.code);
        cf_assert_conn_status(c->first_error, POLYTLS_ERR_TLS_ALERT, c->conn);
        assert_int_equal(cf_peer_alert_code(c), a.code);
        cf_assert_wire_closed(c, true);
        cf_assert_all_invalidated(c->conn);
        cf_assert_all_invalidated(sv->conn);
        cf_pair_free(&p);
    }
}

static void no_chain(void **state)
{
    (void)state;
    static const char *const leaves[] = { "other" };
    polytls_server_certificates *sc = sni_set(leaves, 1, NULL);
    expect_no_chain(sc, "server.test", "sni.no_chain_with_sni", POLYTLS_ALERT_UNRECOGNIZED_NAME);
    /* the IP literal does not match other.test either, and sends no SNI */
    expect_no_chain(sc, "127.0.0.1", "sni.no_chain_without_sni", POLYTLS_ALERT_HANDSHAKE_FAILURE);
    polytls_server_certificates_unref(sc);
}

/* A user selection callback sees the name (lower case) or NULL. */
typedef struct seen {
    unsigned calls;
    char name[256];
    bool null_name;
    cf_certs chain;
    bool none;   /* answer with no chain */
} seen;

static void record_name(void *user, const char *server_name, polytls_chain_reply *reply)
{
    seen *s = user;
    s->calls++;
    s->null_name = server_name == NULL;
    if (server_name)
        snprintf(s->name, sizeof s->name, "%s", server_name);
    if (s->none)
        cf_assert_status(polytls_chain_reply_send(reply, NULL, 0), POLYTLS_OK);
    else
        cf_assert_status(polytls_chain_reply_send(reply, s->chain.v, s->chain.n), POLYTLS_OK);
}

static int destroyed;
static void count_destroy(void *user)
{
    (void)user;
    destroyed++;
}

static void callback_sees_name(void **state)
{
    (void)state;
    seen s = { 0 };
    s.chain = cf_load_chain("server-ec");
    polytls_server_certificates_callbacks cb = {
        .size = sizeof cb, .get_chain_for_server_name = record_name, .destroy = count_destroy };
    polytls_server_certificates *sc = NULL;
    destroyed = 0;
    cf_assert_status(polytls_server_certificates_new(&cb, &s, &sc), POLYTLS_OK);

    expect_leaf(sc, "Server.Test", "server-ec");
    assert_int_equal(s.calls, 1);
    assert_false(s.null_name);
    assert_string_equal(s.name, "server.test");

    expect_leaf(sc, "127.0.0.1", "server-ec");
    assert_int_equal(s.calls, 2);
    assert_true(s.null_name);

    /* answering "no chain" fails the handshake as above */
    s.none = true;
    expect_no_chain(sc, "server.test", "sni.no_chain_with_sni", POLYTLS_ALERT_UNRECOGNIZED_NAME);

    assert_int_equal(destroyed, 0);
    polytls_server_certificates_unref(sc);
    assert_int_equal(destroyed, 1);
    cf_certs_free(&s.chain);
}

static const struct CMUnitTest tests[] = {
    CF_TEST(picks_chain, "sni.picks_chain"),
    CF_TEST(default_without_sni, "sni.default_without_sni"),
    CF_TEST(first_match_wins, "sni.first_match_wins"),
    CF_TEST(no_chain, "sni.no_chain"),
    CF_TEST(callback_sees_name, "sni.callback_sees_name"),
};
CF_GROUP(cf_group_sni, "sni", tests);
