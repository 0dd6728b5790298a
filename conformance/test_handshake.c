/* handshake.*: full handshakes on TLS 1.3 and 1.2 with ECDSA and RSA, the
   negotiated facts, callback order, splits, and version ranges. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

/* The AEAD suites polytls may negotiate, with their IANA numbers. */
static const struct {
    uint16_t id;
    const char *name;
} iana[] = {
    { 0x1301, "TLS_AES_128_GCM_SHA256" },
    { 0x1302, "TLS_AES_256_GCM_SHA384" },
    { 0x1303, "TLS_CHACHA20_POLY1305_SHA256" },
    { 0x1304, "TLS_AES_128_CCM_SHA256" },
    { 0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" },
    { 0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
    { 0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" },
    { 0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" },
    { 0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
    { 0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" },
    { 0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM" },
    { 0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM" },
    { 0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" },
    { 0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384" },
    { 0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
};

/* Asserts both sides agree on a suite, that the name is the IANA name of
   the number, and that it belongs to the family expected for the version
   and key type. */
static void check_suite(cf_pair *p, uint16_t version, const char *prefix)
{
    const char *cname = NULL, *sname = NULL;
    uint16_t cid = 0, sid = 0;
    cf_assert_status(polytls_conn_cipher_suite(CF_C(p)->conn, &cname, &cid), POLYTLS_OK);
    cf_assert_status(polytls_conn_cipher_suite(CF_S(p)->conn, &sname, &sid), POLYTLS_OK);
    assert_non_null(cname);
    assert_non_null(sname);
    assert_string_equal(cname, sname);
    assert_int_equal(cid, sid);
    bool known = false;
    for (size_t i = 0; i < sizeof iana / sizeof iana[0]; i++) {
        if (iana[i].id == cid) {
            assert_string_equal(cname, iana[i].name);
            known = true;
        }
    }
    if (!known)
        cf_fail("suite 0x%04x %s is not one of the AEAD suites polytls allows", cid, cname);
    if (version == 0x0304)
        assert_true((cid & 0xFF00) == 0x1300);
    else if (strncmp(cname, prefix, strlen(prefix)) != 0)
        cf_fail("TLS 1.2 suite %s does not start with %s", cname, prefix);

    /* name or id may be NULL */
    uint16_t id2 = 0;
    cf_assert_status(polytls_conn_cipher_suite(CF_C(p)->conn, NULL, &id2), POLYTLS_OK);
    assert_int_equal(id2, cid);
    const char *name2 = NULL;
    cf_assert_status(polytls_conn_cipher_suite(CF_C(p)->conn, &name2, NULL), POLYTLS_OK);
    assert_string_equal(name2, cname);
}

static void check_handshake(uint16_t version, const char *chain_name, const char *hostname,
                            const char *leaf_der, const char *tls12_prefix)
{
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .chain = chain_name, .hostname = hostname };
    if (version == 0x0303)
        s.client_max = 0x0303;
    else
        s.client_min = 0x0304;
    cf_pair_setup(&p, &s);

    /* the ClientHello was written before client_start returned */
    assert_true(CF_C(&p)->writes >= 1);
    assert_int_equal(CF_S(&p)->writes, 0);
    assert_false(polytls_conn_handshake_done(CF_C(&p)->conn));

    cf_handshake(&p);

    uint16_t cv = 0, sv = 0;
    cf_assert_status(polytls_conn_tls_version(CF_C(&p)->conn, &cv), POLYTLS_OK);
    cf_assert_status(polytls_conn_tls_version(CF_S(&p)->conn, &sv), POLYTLS_OK);
    assert_int_equal(cv, version);
    assert_int_equal(sv, version);
    check_suite(&p, version, tls12_prefix);

    /* callbacks: handshake_done once per side; the client verified first */
    assert_int_equal(CF_C(&p)->handshake_done_calls, 1);
    assert_int_equal(CF_S(&p)->handshake_done_calls, 1);
    assert_int_equal(CF_C(&p)->verify_calls, 1);
    assert_int_equal(CF_S(&p)->verify_calls, 0); /* no client certificate */
    long cverify = cf_find_event(&p, CF_CLIENT, CF_EV_VERIFY, 0);
    long cdone = cf_find_event(&p, CF_CLIENT, CF_EV_HANDSHAKE_DONE, 0);
    long sdone = cf_find_event(&p, CF_SERVER, CF_EV_HANDSHAKE_DONE, 0);
    assert_true(cverify >= 0 && cdone > cverify);
    /* TLS 1.3: the client finishes first (it sends the last Finished);
       TLS 1.2 full handshake: the server does. */
    if (version == 0x0304)
        assert_true(cdone < sdone);
    else
        assert_true(sdone < cdone);
    assert_int_equal(CF_C(&p)->wire_closes, 0);
    assert_int_equal(CF_S(&p)->wire_closes, 0);

    /* server_name: the SNI sent, and the SNI received */
    const char *cn = NULL, *sn = NULL;
    cf_assert_status(polytls_conn_server_name(CF_C(&p)->conn, &cn), POLYTLS_OK);
    cf_assert_status(polytls_conn_server_name(CF_S(&p)->conn, &sn), POLYTLS_OK);
    assert_non_null(cn);
    assert_non_null(sn);
    assert_string_equal(cn, hostname);
    assert_string_equal(sn, hostname);

    /* the client's view of the server chain: leaf, intermediate, root */
    polytls_certificate *const *chain = NULL;
    size_t n = 0;
    cf_assert_status(polytls_conn_peer_chain(CF_C(&p)->conn, &chain, &n), POLYTLS_OK);
    assert_int_equal(n, 3);
    cf_assert_cert_is(chain[0], leaf_der);
    cf_assert_cert_is(chain[1], "inter");
    cf_assert_cert_is(chain[2], "root");
    cf_assert_status(polytls_conn_peer_chain(CF_S(&p)->conn, &chain, &n), POLYTLS_OK);
    assert_int_equal(n, 0);

    /* no ALPN was configured */
    const uint8_t *proto = NULL;
    size_t plen = 99;
    cf_assert_status(polytls_conn_alpn(CF_C(&p)->conn, &proto, &plen), POLYTLS_OK);
    assert_int_equal(plen, 0);

    /* both sides see the same session id */
    const uint8_t *cid = NULL, *sid = NULL;
    size_t clen = 0, slen = 0;
    cf_assert_status(polytls_conn_session_id(CF_C(&p)->conn, &cid, &clen), POLYTLS_OK);
    cf_assert_status(polytls_conn_session_id(CF_S(&p)->conn, &sid, &slen), POLYTLS_OK);
    assert_int_equal(clen, slen);
    assert_true(clen <= 32);
    if (clen)
        assert_memory_equal(cid, sid, clen);

    assert_ptr_equal(polytls_conn_backend(CF_C(&p)->conn), cf_backend);
    assert_false(polytls_conn_invalidated(CF_C(&p)->conn));
    assert_false(polytls_conn_peer_closed(CF_C(&p)->conn));

    cf_send_and_check(&p, CF_CLIENT, "ping", 4);
    cf_send_and_check(&p, CF_SERVER, "pong", 4);
    cf_pair_free(&p);
}

static void tls13_ecdsa(void **state)
{
    (void)state;
    check_handshake(0x0304, "server-ec", "server.test", "server-ec", NULL);
}

static void tls13_rsa(void **state)
{
    (void)state;
    check_handshake(0x0304, "server-rsa", "rsa.test", "server-rsa", NULL);
}

static void tls12_ecdsa(void **state)
{
    (void)state;
    check_handshake(0x0303, "server-ec", "server.test", "server-ec", "TLS_ECDHE_ECDSA_WITH_");
}

static void tls12_rsa(void **state)
{
    (void)state;
    check_handshake(0x0303, "server-rsa", "rsa.test", "server-rsa", "TLS_ECDHE_RSA_WITH_");
}

/* Default ranges on both sides negotiate TLS 1.3. */
static void default_is_tls13(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_pair_setup(&p, NULL);
    cf_handshake(&p);
    uint16_t v = 0;
    cf_assert_status(polytls_conn_tls_version(CF_C(&p)->conn, &v), POLYTLS_OK);
    assert_int_equal(v, 0x0304);
    cf_pair_free(&p);
}

/* A TLS 1.2-only server and a default client meet at TLS 1.2. */
static void server_tls12_only(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .server_min = 0x0303, .server_max = 0x0303 };
    cf_pair_setup(&p, &s);
    cf_handshake(&p);
    uint16_t v = 0;
    cf_assert_status(polytls_conn_tls_version(CF_C(&p)->conn, &v), POLYTLS_OK);
    assert_int_equal(v, 0x0303);
    cf_pair_free(&p);
}

/* The whole handshake and some data, fed one byte per call. */
static void split_one_byte(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        cf_pair_init(&p);
        p.split = CF_SPLIT_BYTES;
        cf_setup s = { .client_max = v ? 0x0303 : 0 };
        cf_pair_setup(&p, &s);
        cf_handshake(&p);
        cf_send_and_check(&p, CF_CLIENT, "one byte at a time", 18);
        cf_send_and_check(&p, CF_SERVER, "and back", 8);
        cf_pair_free(&p);
    }
}

static void split_random(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        cf_pair_init(&p);
        p.split = CF_SPLIT_RANDOM;
        cf_setup s = { .client_max = v ? 0x0303 : 0, .chain = "server-rsa", .hostname = "rsa.test" };
        cf_pair_setup(&p, &s);
        cf_handshake(&p);
        cf_pair_free(&p);
    }
}

/* Facts are WRONG_STATE until the handshake produced them. */
static void facts_before_handshake(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_pair_setup(&p, NULL);
    polytls_conn *c = CF_C(&p)->conn, *s = CF_S(&p)->conn;
    uint16_t v;
    const char *name;
    uint16_t id;
    polytls_certificate *const *chain;
    size_t n;
    cf_assert_status(polytls_conn_tls_version(c, &v), POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(polytls_conn_cipher_suite(c, &name, &id), POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(polytls_conn_peer_chain(c, &chain, &n), POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(polytls_conn_tls_version(s, &v), POLYTLS_ERR_WRONG_STATE);
    /* the client knows the name it sends; the server has not seen it yet */
    cf_assert_status(polytls_conn_server_name(c, &name), POLYTLS_OK);
    assert_string_equal(name, "server.test");
    cf_assert_status(polytls_conn_server_name(s, &name), POLYTLS_ERR_WRONG_STATE);
    polytls_alert code;
    polytls_alert_level level;
    cf_assert_status(polytls_conn_peer_alert(c, &code, &level), POLYTLS_ERR_WRONG_STATE);
    assert_false(polytls_conn_handshake_done(c));
    assert_false(polytls_conn_handshake_done(s));
    cf_handshake(&p);
    cf_pair_free(&p);
}

/* TLS 1.3-only server, TLS 1.2-only client: protocol_version on the wire. */
static void version_mismatch(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .server_min = 0x0304, .server_max = 0x0304, .client_min = 0x0303,
                   .client_max = 0x0303 };
    cf_pair_setup(&p, &s);
    cf_pump(&p);
    cf_assert_conn_status(CF_S(&p)->first_error, POLYTLS_ERR_BAD_TLS_DATA, CF_S(&p)->conn);
    cf_wire_alert a = { 0, 0 };
    assert_true(cf_last_plain_alert(CF_S(&p), &a));
    assert_int_equal(a.level, 2);
    cf_check_value("handshake.version_mismatch", POLYTLS_ALERT_PROTOCOL_VERSION, a.code);
    cf_assert_wire_closed(CF_S(&p), false);
    cf_assert_conn_status(CF_C(&p)->first_error, POLYTLS_ERR_TLS_ALERT, CF_C(&p)->conn);
    assert_int_equal(cf_peer_alert_code(CF_C(&p)), a.code);
    cf_assert_wire_closed(CF_C(&p), true);
    assert_false(polytls_conn_handshake_done(CF_C(&p)->conn));
    cf_assert_all_invalidated(CF_C(&p)->conn);
    cf_assert_all_invalidated(CF_S(&p)->conn);
    cf_pair_free(&p);
}

/* Only TLS 1.2 and 1.3, min <= max; before the first start. */
static void set_versions_rules(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .no_client = true };
    cf_pair_setup(&p, &s); /* the server has started */
    cf_assert_status(polytls_server_set_versions(p.server, 0x0304, 0x0304), POLYTLS_ERR_WRONG_STATE);

    polytls_trust_store *ts = cf_load_trust("root.pem");
    polytls_client *c = NULL;
    cf_assert_status(polytls_client_new(cf_backend, "server.test", ts, NULL, &c), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    cf_assert_status(polytls_client_set_versions(c, 0x0301, 0x0304), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_client_set_versions(c, 0x0302, 0x0303), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_client_set_versions(c, 0x0303, 0x0305), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_client_set_versions(c, 0x0304, 0x0303), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_client_set_versions(c, 0x0304, 0x0304), POLYTLS_OK);
    cf_assert_status(polytls_client_set_versions(c, 0x0303, 0x0304), POLYTLS_OK);
    polytls_client_free(c);
    cf_pair_free(&p);
}

/* Several connections from one client and one server. */
static void endpoints_reused(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_pair_setup(&p, NULL);
    cf_handshake(&p);
    for (int i = 0; i < 3; i++) {
        cf_pair q;
        cf_pair_init(&q);
        cf_assert_status(cf_start_server(&q, p.server), POLYTLS_OK);
        cf_assert_status(cf_start_client(&q, p.client), POLYTLS_OK);
        cf_handshake(&q);
        cf_send_and_check(&q, CF_CLIENT, "again", 5);
        cf_pair_free(&q); /* does not own p's client and server */
    }
    /* freeing the endpoints first is safe: connections keep them alive */
    polytls_client_free(p.client);
    polytls_server_free(p.server);
    p.client = NULL;
    p.server = NULL;
    cf_send_and_check(&p, CF_SERVER, "still here", 10);
    cf_pair_free(&p);
}

static const struct CMUnitTest tests[] = {
    CF_TEST(tls13_ecdsa, "handshake.tls13_ecdsa"),
    CF_TEST(tls13_rsa, "handshake.tls13_rsa"),
    CF_TEST(tls12_ecdsa, "handshake.tls12_ecdsa"),
    CF_TEST(tls12_rsa, "handshake.tls12_rsa"),
    CF_TEST(default_is_tls13, "handshake.default_is_tls13"),
    CF_TEST(server_tls12_only, "handshake.server_tls12_only"),
    CF_TEST(split_one_byte, "handshake.split_one_byte"),
    CF_TEST(split_random, "handshake.split_random"),
    CF_TEST(facts_before_handshake, "handshake.facts_before_handshake"),
    CF_TEST(version_mismatch, "handshake.version_mismatch"),
    CF_TEST(set_versions_rules, "handshake.set_versions_rules"),
    CF_TEST(endpoints_reused, "handshake.endpoints_reused"),
};
CF_GROUP(cf_group_handshake, "handshake", tests);
