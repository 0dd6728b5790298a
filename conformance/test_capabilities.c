/* caps.*: every capability bit both ways: claimed → the feature works; not
   claimed → the request fails loudly with UNSUPPORTED (or, for a bit that
   has no call of its own, the documented fallback happens). */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static const uint32_t all_bits[] = {
    POLYTLS_CAP_ASYNC_SERVER_CERT, POLYTLS_CAP_ASYNC_CLIENT_CERT, POLYTLS_CAP_ALERT_ANYTIME,
    POLYTLS_CAP_ALERT_IN_VERIFY,   POLYTLS_CAP_CUSTOM_DH,         POLYTLS_CAP_TLS13_CA_NAMES,
};

/* The backend facts are stable and named. */
static void backend_facts(void **state)
{
    (void)state;
    polytls_backend *again = NULL;
    cf_assert_status(polytls_backend_get(polytls_backend_name(cf_backend), &again), POLYTLS_OK);
    assert_ptr_equal(again, cf_backend);
    assert_int_equal(polytls_backend_capabilities(again), cf_caps);
    assert_true(polytls_backend_version(cf_backend)[0] != '\0');
    assert_true(polytls_backend_built_version(cf_backend)[0] != '\0');
    bool listed = false;
    for (const char *const *n = polytls_backend_names(); *n; n++)
        listed |= strcmp(*n, polytls_backend_name(cf_backend)) == 0;
    assert_true(listed);

    uint32_t known = 0;
    for (size_t i = 0; i < sizeof all_bits / sizeof all_bits[0]; i++) {
        const char *name = polytls_capability_name(all_bits[i]);
        assert_non_null(name);
        assert_true(strncmp(name, "POLYTLS_CAP_", 12) == 0);
        known |= all_bits[i];
    }
    assert_null(polytls_capability_name(0));
    assert_null(polytls_capability_name(POLYTLS_CAP_ALERT_ANYTIME | POLYTLS_CAP_CUSTOM_DH));
    assert_null(polytls_capability_name(1u << 31));
    /* no bit is claimed that the suite does not know how to test */
    assert_int_equal(cf_caps & ~known, 0);
    /* the library version is what the headers say */
    assert_int_equal(polytls_version_number(), POLYTLS_VERSION_NUMBER);
    assert_non_null(polytls_version_string());
}

/* ASYNC_SERVER_CERT: a selection callback may return without answering. */
static polytls_chain_reply *kept;
static void keep(void *user, const char *name, polytls_chain_reply *reply)
{
    (void)user;
    (void)name;
    kept = reply;
}

static void async_server_cert(void **state)
{
    (void)state;
    kept = NULL;
    polytls_server_certificates_callbacks cb = { .size = sizeof cb, .get_chain_for_server_name = keep };
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_certificates_new(&cb, NULL, &sc), POLYTLS_OK);
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .server_certs = sc };
    cf_pair_setup(&p, &s);
    polytls_server_certificates_unref(sc);
    cf_pump(&p);
    assert_non_null(kept);
    if (cf_has_cap(POLYTLS_CAP_ASYNC_SERVER_CERT)) {
        cf_assert_conn_status(CF_S(&p)->first_error, POLYTLS_OK, CF_S(&p)->conn);
        cf_certs chain = cf_load_chain("server-ec");
        cf_assert_status(polytls_chain_reply_send(kept, chain.v, chain.n), POLYTLS_OK);
        cf_certs_free(&chain);
        cf_handshake(&p);
    } else {
        /* the call that needed the answer says why it cannot wait */
        cf_assert_conn_status(CF_S(&p)->first_error, POLYTLS_ERR_UNSUPPORTED, CF_S(&p)->conn);
        polytls_chain_reply_cancel(kept);
    }
    cf_pair_free(&p);
}

/* ASYNC_CLIENT_CERT: the client's store may answer later. */
static void keep_default(void *user, polytls_chain_reply *reply)
{
    (void)user;
    kept = reply;
}
static void keep_roots(void *user, const uint8_t *const *r, const size_t *l, size_t n,
                       polytls_chain_reply *reply)
{
    (void)r;
    (void)l;
    (void)n;
    keep_default(user, reply);
}

static void async_client_cert(void **state)
{
    (void)state;
    kept = NULL;
    polytls_client_cert_store_callbacks cb = { .size = sizeof cb, .get_chain_for_roots = keep_roots,
                                               .get_default_chain = keep_default };
    polytls_client_cert_store *store = NULL;
    cf_assert_status(polytls_client_cert_store_new(&cb, NULL, &store), POLYTLS_OK);
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .client_store = store, .client_auth = POLYTLS_CLIENT_AUTH_REQUIRED,
                   .client_auth_trust = "client-ca1.pem" };
    cf_pair_setup(&p, &s);
    polytls_client_cert_store_unref(store);
    cf_pump(&p);
    assert_non_null(kept);
    if (cf_has_cap(POLYTLS_CAP_ASYNC_CLIENT_CERT)) {
        cf_assert_conn_status(CF_C(&p)->first_error, POLYTLS_OK, CF_C(&p)->conn);
        cf_certs chain = cf_load_chain("client1");
        cf_assert_status(polytls_chain_reply_send(kept, chain.v, chain.n), POLYTLS_OK);
        cf_certs_free(&chain);
        cf_handshake(&p);
    } else {
        cf_assert_conn_status(CF_C(&p)->first_error, POLYTLS_ERR_UNSUPPORTED, CF_C(&p)->conn);
        polytls_chain_reply_cancel(kept);
    }
    cf_pair_free(&p);
}

/* ALERT_ANYTIME: a fatal alert after the handshake. */
static void alert_anytime(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_pair_setup(&p, NULL);
    cf_handshake(&p);
    polytls_status st = polytls_conn_send_alert(CF_S(&p)->conn, POLYTLS_ALERT_INTERNAL_ERROR,
                                                POLYTLS_ALERT_LEVEL_FATAL);
    if (cf_has_cap(POLYTLS_CAP_ALERT_ANYTIME)) {
        cf_assert_status(st, POLYTLS_OK);
        cf_pump(&p);
        assert_int_equal(cf_peer_alert_code(CF_C(&p)), POLYTLS_ALERT_INTERNAL_ERROR);
    } else {
        cf_assert_status(st, POLYTLS_ERR_UNSUPPORTED);
        assert_false(polytls_conn_invalidated(CF_S(&p)->conn));
        cf_send_and_check(&p, CF_SERVER, "unchanged", 9);
    }
    cf_pair_free(&p);
}

/* ALERT_IN_VERIFY: a code other than 42 from inside verify (the details,
   code by code: verify.alert_from_callback). */
void cf_verify_alert_case(polytls_alert code, uint16_t client_max);
static void alert_in_verify(void **state)
{
    (void)state;
    cf_verify_alert_case(POLYTLS_ALERT_CERTIFICATE_EXPIRED, 0);
    cf_verify_alert_case(POLYTLS_ALERT_CERTIFICATE_EXPIRED, 0x0303);
}

/* CUSTOM_DH: the server takes PKCS#3 parameters for TLS 1.2 DHE. */
static void custom_dh(void **state)
{
    (void)state;
    size_t dh_len;
    char *dh = cf_pki_read("dh2048.der", &dh_len);
    static const uint8_t garbage[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
    polytls_server *s = (polytls_server *)0x1;
    cf_certs chain = cf_load_chain("server-rsa");
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_chain_new(chain.v, chain.n, &sc), POLYTLS_OK);
    cf_certs_free(&chain);

    if (cf_has_cap(POLYTLS_CAP_CUSTOM_DH)) {
        cf_assert_status(polytls_server_new(cf_backend, sc, garbage, sizeof garbage, &s),
                         POLYTLS_ERR_BAD_ENCODING);
        cf_assert_status(polytls_server_new(cf_backend, sc, (const uint8_t *)dh, dh_len / 2, &s),
                         POLYTLS_ERR_BAD_ENCODING);
        assert_ptr_equal(s, (polytls_server *)0x1);
        cf_pair p;
        cf_pair_init(&p);
        cf_setup setup = { .server_certs = sc, .hostname = "rsa.test", .client_max = 0x0303,
                           .dh = (const uint8_t *)dh, .dh_len = dh_len };
        cf_pair_setup(&p, &setup);
        cf_handshake(&p);
        cf_send_and_check(&p, CF_CLIENT, "dh", 2);
        cf_pair_free(&p);
    } else {
        cf_assert_status(polytls_server_new(cf_backend, sc, (const uint8_t *)dh, dh_len, &s),
                         POLYTLS_ERR_UNSUPPORTED);
        cf_assert_status(polytls_server_new(cf_backend, sc, garbage, sizeof garbage, &s),
                         POLYTLS_ERR_UNSUPPORTED);
        assert_ptr_equal(s, (polytls_server *)0x1);
    }
    polytls_server_certificates_unref(sc);
    free(dh);
}

/* TLS13_CA_NAMES: in TLS 1.3 the client sees the server's CA names; without
   the bit it is asked for its default chain instead. */
static unsigned roots_calls, default_calls;
static void answer_default(void *user, polytls_chain_reply *reply)
{
    (void)user;
    default_calls++;
    cf_certs c = cf_load_chain("client1");
    cf_assert_status(polytls_chain_reply_send(reply, c.v, c.n), POLYTLS_OK);
    cf_certs_free(&c);
}
static void answer_roots(void *user, const uint8_t *const *r, const size_t *l, size_t n,
                         polytls_chain_reply *reply)
{
    (void)r;
    (void)l;
    (void)n;
    roots_calls++;
    default_calls--;
    answer_default(user, reply);
}

static void tls13_ca_names(void **state)
{
    (void)state;
    roots_calls = default_calls = 0;
    polytls_client_cert_store_callbacks cb = { .size = sizeof cb, .get_chain_for_roots = answer_roots,
                                               .get_default_chain = answer_default };
    polytls_client_cert_store *store = NULL;
    cf_assert_status(polytls_client_cert_store_new(&cb, NULL, &store), POLYTLS_OK);
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .client_store = store, .client_auth = POLYTLS_CLIENT_AUTH_REQUIRED,
                   .client_auth_trust = "client-ca1.pem", .send_ca_names = true, .client_min = 0x0304 };
    cf_pair_setup(&p, &s);
    polytls_client_cert_store_unref(store);
    cf_handshake(&p);
    if (cf_has_cap(POLYTLS_CAP_TLS13_CA_NAMES)) {
        assert_int_equal(roots_calls, 1);
        assert_int_equal(default_calls, 0);
    } else {
        assert_int_equal(roots_calls, 0);
        assert_int_equal(default_calls, 1);
    }
    cf_pair_free(&p);
}

static const struct CMUnitTest tests[] = {
    CF_TEST(backend_facts, "caps.backend_facts"),
    CF_TEST(async_server_cert, "caps.async_server_cert"),
    CF_TEST(async_client_cert, "caps.async_client_cert"),
    CF_TEST(alert_anytime, "caps.alert_anytime"),
    CF_TEST(alert_in_verify, "caps.alert_in_verify"),
    CF_TEST(custom_dh, "caps.custom_dh"),
    CF_TEST(tls13_ca_names, "caps.tls13_ca_names"),
};
CF_GROUP(cf_group_capabilities, "caps", tests);
