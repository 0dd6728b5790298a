/* suites.*: cipher suites and groups by IANA name. The setters' rules
   (unknown and insecure names refused by name, timing), and that a
   restriction is enforced on the wire: a restricted peer negotiates what it
   allows, and peers with nothing in common fail with handshake_failure. */
#include "harness.h"

#include <string.h>

/* A pair whose endpoints are created, restricted, but not started. */
static void suites_pair_with(cf_pair *p, uint16_t max_version, const char *const *cs, size_t ncs,
                             const char *const *ss, size_t nss, const char *leaf)
{
    cf_pair_init(p);
    cf_certs chain = cf_load_chain(leaf);
    polytls_server_certificates *sc = NULL;
    polytls_status st = polytls_server_chain_new(chain.v, chain.n, &sc);
    cf_certs_free(&chain);
    cf_assert_status(st, POLYTLS_OK);
    st = polytls_server_new(cf_backend, sc, NULL, 0, &p->server);
    polytls_server_certificates_unref(sc);
    cf_assert_status(st, POLYTLS_OK);
    polytls_trust_store *ts = cf_load_trust("root.pem");
    st = polytls_client_new(cf_backend, "server.test", ts, NULL, &p->client);
    polytls_trust_store_unref(ts);
    cf_assert_status(st, POLYTLS_OK);
    cf_assert_status(polytls_client_set_versions(p->client, 0x0303, max_version), POLYTLS_OK);
    if (cs)
        cf_assert_status(polytls_client_set_cipher_suites(p->client, cs, ncs), POLYTLS_OK);
    if (ss)
        cf_assert_status(polytls_server_set_cipher_suites(p->server, ss, nss), POLYTLS_OK);
}

static void suites_pair(cf_pair *p, uint16_t max_version, const char *const *cs, size_t ncs,
                        const char *const *ss, size_t nss)
{
    suites_pair_with(p, max_version, cs, ncs, ss, nss, "server-ec");
}

static void suites_pair_chain(cf_pair *p, uint16_t max_version, const char *leaf)
{
    suites_pair_with(p, max_version, NULL, 0, NULL, 0, leaf);
}

static void start_both(cf_pair *p)
{
    cf_assert_status(cf_start_server(p, p->server), POLYTLS_OK);
    cf_assert_status(cf_start_client(p, p->client), POLYTLS_OK);
}

static void assert_negotiated(cf_pair *p, uint16_t version, const char *name, uint16_t id)
{
    for (int side = 0; side < 2; side++) {
        const char *got = NULL;
        uint16_t got_id = 0, got_version = 0;
        cf_assert_status(polytls_conn_cipher_suite(p->side[side].conn, &got, &got_id), POLYTLS_OK);
        assert_string_equal(got, name);
        assert_int_equal(got_id, id);
        cf_assert_status(polytls_conn_tls_version(p->side[side].conn, &got_version), POLYTLS_OK);
        assert_int_equal(got_version, version);
    }
}

/* Both sides report group `name` (IANA number id). */
static void assert_group(cf_pair *p, const char *name, uint16_t id)
{
    for (int side = 0; side < 2; side++) {
        const char *got = NULL;
        uint16_t got_id = 0;
        cf_assert_status(polytls_conn_group(p->side[side].conn, &got, &got_id), POLYTLS_OK);
        if (!got || strcmp(got, name) != 0 || got_id != id)
            cf_fail("%s: group %s (%u), expected %s (%u)", side == CF_CLIENT ? "client" : "server",
                    got ? got : "(none)", (unsigned)got_id, name, (unsigned)id);
    }
}

/* Nothing in common: the server refuses with handshake_failure (40), the
   client receives it; neither completes. */
static void assert_no_common(cf_pair *p)
{
    cf_pump(p);
    cf_side *cl = CF_C(p), *sv = CF_S(p);
    cf_assert_conn_status(sv->first_error, POLYTLS_ERR_BAD_TLS_DATA, sv->conn);
    cf_assert_conn_status(cl->first_error, POLYTLS_ERR_TLS_ALERT, cl->conn);
    assert_int_equal(cf_peer_alert_code(cl), POLYTLS_ALERT_HANDSHAKE_FAILURE);
    assert_false(polytls_conn_handshake_done(cl->conn));
    assert_false(polytls_conn_handshake_done(sv->conn));
    cf_assert_all_invalidated(cl->conn);
    cf_assert_all_invalidated(sv->conn);
}

static void assert_message_names(const char *name)
{
    const char *msg = polytls_last_error_message();
    if (!strstr(msg, name))
        cf_fail("message \"%s\" does not name \"%s\"", msg, name);
}

/* Bad names are refused by name; repeats and good lists are OK; after
   the first start everything is WRONG_STATE. */
static void arguments(void **state)
{
    (void)state;
    static const char *const good[] = { "TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" };
    static const char *const groups[] = { "secp256r1", "x25519", "secp384r1", "secp521r1" };
    cf_assert_status(polytls_client_set_cipher_suites(NULL, good, 1), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_cipher_suites(NULL, good, 1), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_client_set_groups(NULL, groups, 1), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_groups(NULL, groups, 1), POLYTLS_ERR_INVALID_ARGUMENT);

    cf_pair p;
    suites_pair(&p, 0x0304, NULL, 0, NULL, 0);
    cf_assert_status(polytls_client_set_cipher_suites(p.client, NULL, 1), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_client_set_cipher_suites(p.client, good, 0), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_groups(p.server, groups, 0), POLYTLS_ERR_INVALID_ARGUMENT);
    static const char *const bad[] = {
        "TLS_RSA_WITH_AES_128_CBC_SHA",            /* RSA key exchange, CBC */
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",   /* CBC */
        "TLS_RSA_WITH_AES_128_GCM_SHA256",         /* no forward secrecy */
        "TLS_AES_128_CCM_SHA256",                  /* not pinned by any driver */
        "tls_aes_128_gcm_sha256",                  /* names are exact */
        "NOT_A_SUITE",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *list[] = { "TLS_AES_128_GCM_SHA256", bad[i] };
        cf_assert_status(polytls_client_set_cipher_suites(p.client, list, 2), POLYTLS_ERR_INVALID_ARGUMENT);
        assert_message_names(bad[i]);
        cf_assert_status(polytls_server_set_cipher_suites(p.server, list, 2), POLYTLS_ERR_INVALID_ARGUMENT);
        assert_message_names(bad[i]);
    }
    /* DHE only for a server with DH parameters: never for a client, not
       for this server (created without). */
    static const char *const dhe[] = { "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" };
    cf_assert_status(polytls_client_set_cipher_suites(p.client, dhe, 1), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_message_names(dhe[0]);
    cf_assert_status(polytls_server_set_cipher_suites(p.server, dhe, 1), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_message_names(dhe[0]);
    static const char *const bad_groups[] = { "ffdhe2048", "X25519", "secp192r1", "x448" };
    for (size_t i = 0; i < sizeof bad_groups / sizeof bad_groups[0]; i++) {
        cf_assert_status(polytls_client_set_groups(p.client, &bad_groups[i], 1), POLYTLS_ERR_INVALID_ARGUMENT);
        assert_message_names(bad_groups[i]);
        cf_assert_status(polytls_server_set_groups(p.server, &bad_groups[i], 1), POLYTLS_ERR_INVALID_ARGUMENT);
        assert_message_names(bad_groups[i]);
    }
    /* a good list (with a repeat) replaces the previous one */
    static const char *const rep[] = { "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256" };
    cf_assert_status(polytls_client_set_cipher_suites(p.client, good, 2), POLYTLS_OK);
    cf_assert_status(polytls_client_set_cipher_suites(p.client, rep, 2), POLYTLS_OK);
    cf_assert_status(polytls_server_set_cipher_suites(p.server, good, 2), POLYTLS_OK);
    cf_assert_status(polytls_client_set_groups(p.client, groups, 2), POLYTLS_OK);
    cf_assert_status(polytls_server_set_groups(p.server, groups, 4), POLYTLS_OK);
    start_both(&p);
    cf_assert_status(polytls_client_set_cipher_suites(p.client, good, 1), POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(polytls_server_set_cipher_suites(p.server, good, 1), POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(polytls_client_set_groups(p.client, groups, 1), POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(polytls_server_set_groups(p.server, groups, 1), POLYTLS_ERR_WRONG_STATE);
    cf_handshake(&p);
    assert_negotiated(&p, 0x0304, "TLS_AES_128_GCM_SHA256", 0x1301);
    cf_pair_free(&p);
}

/* A client offering only TLS_AES_256_GCM_SHA384 gets it from a default
   server (whose own first choice is AES-128-GCM). */
static void client_restricts_tls13(void **state)
{
    (void)state;
    static const char *const cs[] = { "TLS_AES_256_GCM_SHA384" };
    cf_pair p;
    suites_pair(&p, 0x0304, cs, 1, NULL, 0);
    start_both(&p);
    cf_handshake(&p);
    assert_negotiated(&p, 0x0304, "TLS_AES_256_GCM_SHA384", 0x1302);
    cf_send_and_check(&p, CF_CLIENT, "ping", 4);
    cf_pair_free(&p);
}

/* The same from the server side, and a TLS 1.2-only list turns TLS 1.3 off. */
static void server_restricts_tls12(void **state)
{
    (void)state;
    static const char *const ss[] = { "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" };
    cf_pair p;
    suites_pair(&p, 0x0304, NULL, 0, ss, 1);
    start_both(&p);
    cf_handshake(&p);
    assert_negotiated(&p, 0x0303, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA9);
    cf_send_and_check(&p, CF_SERVER, "pong", 4);
    cf_pair_free(&p);
}

static void no_common_tls13(void **state)
{
    (void)state;
    static const char *const cs[] = { "TLS_AES_128_GCM_SHA256" };
    static const char *const ss[] = { "TLS_CHACHA20_POLY1305_SHA256" };
    cf_pair p;
    suites_pair(&p, 0x0304, cs, 1, ss, 1);
    start_both(&p);
    assert_no_common(&p);
    cf_pair_free(&p);
}

static void no_common_tls12(void **state)
{
    (void)state;
    static const char *const cs[] = { "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" };
    static const char *const ss[] = { "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" };
    cf_pair p;
    suites_pair(&p, 0x0304, cs, 1, ss, 1);
    start_both(&p);
    assert_no_common(&p);
    cf_pair_free(&p);
}

static void no_common_group(void **state)
{
    (void)state;
    static const char *const cg[] = { "x25519" };
    static const char *const sg[] = { "secp384r1" };
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        suites_pair(&p, v ? 0x0303 : 0x0304, NULL, 0, NULL, 0);
        cf_assert_status(polytls_client_set_groups(p.client, cg, 1), POLYTLS_OK);
        cf_assert_status(polytls_server_set_groups(p.server, sg, 1), POLYTLS_OK);
        if (v) {
            /* The server's range includes TLS 1.2 in both iterations; only
               the client's differs. */
            polytls_status st = cf_start_server(&p, p.server);
            cf_check_value("suites.no_common_group/server_tls12", POLYTLS_OK, st);
            if (st != POLYTLS_OK) {
                cf_pair_free(&p);
                continue;
            }
        } else {
            /* A TLS 1.3-only server: every backend can restrict it. */
            cf_assert_status(polytls_server_set_versions(p.server, 0x0304, 0x0304), POLYTLS_OK);
            cf_assert_status(cf_start_server(&p, p.server), POLYTLS_OK);
        }
        cf_assert_status(cf_start_client(&p, p.client), POLYTLS_OK);
        assert_no_common(&p);
        cf_pair_free(&p);
    }
}

/* A group in common that is neither side's default first choice works.
   TLS 1.3: both sides restricted (the server is TLS 1.3-only, see the
   deviation of no_common_group). TLS 1.2: the client restricted; it keeps
   secp256r1 because OpenSSL servers also require the curve of their ECDSA
   certificate (P-256 here) among the client's groups (RFC 8422 section 5.1),
   which the other libraries do not check. */
static void common_group(void **state)
{
    (void)state;
    static const char *const cg[] = { "secp521r1", "x25519", "secp256r1" };
    static const char *const sg[] = { "secp384r1", "secp521r1" };
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        suites_pair(&p, v ? 0x0303 : 0x0304, NULL, 0, NULL, 0);
        cf_assert_status(polytls_client_set_groups(p.client, cg, 3), POLYTLS_OK);
        if (!v) {
            cf_assert_status(polytls_server_set_versions(p.server, 0x0304, 0x0304), POLYTLS_OK);
            cf_assert_status(polytls_server_set_groups(p.server, sg, 2), POLYTLS_OK);
        }
        start_both(&p);
        cf_handshake(&p);
        cf_send_and_check(&p, CF_CLIENT, "ping", 4);
        if (!v)   /* the only group both allow */
            assert_group(&p, "secp521r1", 25);
        cf_pair_free(&p);
    }
}

/* The group each side reports is the one the key exchange used: a client
   offering only one group gets it, in TLS 1.3 and 1.2 (TLS 1.2 with the
   RSA chain: with an ECDSA one the client's groups also limit the
   certificate's curve, see tls12_ecdsa_curve_not_offered). */
static void negotiated_group(void **state)
{
    (void)state;
    static const struct { const char *name; uint16_t id; } groups[] = {
        {"x25519", 29}, {"secp256r1", 23}, {"secp384r1", 24}, {"secp521r1", 25},
    };
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        for (int v = 0; v < 2; v++) {
            cf_pair p;
            suites_pair_chain(&p, v ? 0x0303 : 0x0304, v ? "server-rsa" : "server-ec");
            cf_assert_status(polytls_client_set_groups(p.client, &groups[g].name, 1), POLYTLS_OK);
            start_both(&p);
            const char *name = "unset";
            uint16_t id = 1;
            cf_assert_status(polytls_conn_group(CF_C(&p)->conn, &name, &id), POLYTLS_ERR_WRONG_STATE);
            assert_string_equal(name, "unset");   /* outputs only on success */
            assert_int_equal(id, 1);
            cf_handshake(&p);
            assert_group(&p, groups[g].name, groups[g].id);
            cf_assert_status(polytls_conn_group(CF_C(&p)->conn, NULL, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
            cf_assert_status(polytls_conn_group(CF_C(&p)->conn, NULL, &id), POLYTLS_OK);
            assert_int_equal(id, groups[g].id);
            cf_pair_free(&p);
        }
    }
}

/* TLS 1.2, an ECDSA P-256 server, a client whose groups leave out
   secp256r1: RFC 8422 5.1 says the client's supported groups are also the
   curves it accepts for ECDSA, so the server must not choose an ECDSA suite
   with that certificate: handshake_failure. */
static void tls12_ecdsa_curve_not_offered(void **state)
{
    (void)state;
    static const char *const cg[] = { "x25519" };
    cf_pair p;
    suites_pair(&p, 0x0303, NULL, 0, NULL, 0);
    cf_assert_status(polytls_client_set_groups(p.client, cg, 1), POLYTLS_OK);
    start_both(&p);
    cf_pump(&p);
    bool refused = CF_S(&p)->first_error == POLYTLS_ERR_BAD_TLS_DATA &&
                   CF_C(&p)->first_error == POLYTLS_ERR_TLS_ALERT &&
                   cf_peer_alert_code(CF_C(&p)) == POLYTLS_ALERT_HANDSHAKE_FAILURE;
    cf_check_value("suites.tls12_ecdsa_curve_not_offered", 1, refused);
    if (refused)
        assert_false(polytls_conn_handshake_done(CF_C(&p)->conn));
    else   /* where the deviations table says so: completed with x25519 */
        assert_true(polytls_conn_handshake_done(CF_C(&p)->conn));
    cf_pair_free(&p);
}

/* A list that is not "these ciphers with these key exchanges": exactly
   those suites are offered where the library can say so. */
static void mixed_list(void **state)
{
    (void)state;
    static const char *const cs[] = { "TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" };
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        suites_pair(&p, v ? 0x0303 : 0x0304, cs, 2, NULL, 0);
        cf_assert_status(cf_start_server(&p, p.server), POLYTLS_OK);
        polytls_status st = cf_start_client(&p, p.client);
        cf_check_value(v ? "suites.mixed_list/tls12" : "suites.mixed_list/tls13", POLYTLS_OK, st);
        if (st == POLYTLS_OK) {
            cf_handshake(&p);
            if (v)
                assert_negotiated(&p, 0x0303, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xC02C);
            else
                assert_negotiated(&p, 0x0304, "TLS_AES_128_GCM_SHA256", 0x1301);
        } else {
            assert_true(strstr(polytls_last_error_message(), "cipher suite") != NULL);
        }
        cf_pair_free(&p);
    }
}

/* A list with no suite for the version range cannot start. */
static void list_outside_versions(void **state)
{
    (void)state;
    static const char *const cs[] = { "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" };
    cf_pair p;
    suites_pair(&p, 0x0304, cs, 1, NULL, 0);
    cf_assert_status(polytls_client_set_versions(p.client, 0x0304, 0x0304), POLYTLS_OK);
    cf_assert_status(cf_start_client(&p, p.client), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_message_names("version range");
    cf_pair_free(&p);
}

static const struct CMUnitTest tests[] = {
    CF_TEST(arguments, "suites.arguments"),
    CF_TEST(client_restricts_tls13, "suites.client_restricts_tls13"),
    CF_TEST(server_restricts_tls12, "suites.server_restricts_tls12"),
    CF_TEST(no_common_tls13, "suites.no_common_tls13"),
    CF_TEST(no_common_tls12, "suites.no_common_tls12"),
    CF_TEST(no_common_group, "suites.no_common_group"),
    CF_TEST(common_group, "suites.common_group"),
    CF_TEST(negotiated_group, "suites.negotiated_group"),
    CF_TEST(tls12_ecdsa_curve_not_offered, "suites.tls12_ecdsa_curve_not_offered"),
    CF_TEST(list_outside_versions, "suites.list_outside_versions"),
    CF_TEST(mixed_list, "suites.mixed_list"),
};

CF_GROUP(cf_group_suites, "suites", tests);
