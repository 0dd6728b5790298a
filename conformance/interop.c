/*
 * The interop suite: every client backend x every server backend built into
 * this polytls, in one process (which also proves that OpenSSL and wolfSSL,
 * which export a few identically named symbols, work side by side).
 *
 *   interop [--client NAME] [--server NAME] [--report FILE]
 *
 * --report writes one JSON line per test and backend pair (report.c), read
 * by tools/conformance-report.py for docs/conformance.md.
 *
 * For each pair: TLS 1.3 and TLS 1.2 with ECDSA and RSA server chains (version,
 * cipher suite agreed by both sides, verify chain, data both ways in many
 * records, close_notify both ways), a client certificate answered later, a
 * host-name mismatch refused with bad_certificate, an IP-literal name, and
 * ALPN (server preference; no name in common refused with 120).
 * These are cases every backend must handle identically: nothing here is
 * subject to the deviations table.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const polytls_backend *client_backend, *server_backend;

static cf_setup pair_setup(void)
{
    cf_setup s = {.client_backend = client_backend, .server_backend = server_backend};
    return s;
}

/* Both sides agree on what was negotiated. */
static void assert_agreed(cf_pair *p, uint16_t version)
{
    uint16_t vc = 0, vs = 0, ic = 0, is = 0;
    const char *nc = NULL, *ns = NULL;
    cf_assert_status(polytls_conn_tls_version(CF_C(p)->conn, &vc), POLYTLS_OK);
    cf_assert_status(polytls_conn_tls_version(CF_S(p)->conn, &vs), POLYTLS_OK);
    assert_int_equal(vc, version);
    assert_int_equal(vs, version);
    cf_assert_status(polytls_conn_cipher_suite(CF_C(p)->conn, &nc, &ic), POLYTLS_OK);
    cf_assert_status(polytls_conn_cipher_suite(CF_S(p)->conn, &ns, &is), POLYTLS_OK);
    assert_string_equal(nc, ns);
    assert_int_equal(ic, is);
    assert_true(strncmp(nc, "TLS_", 4) == 0);
    assert_non_null(strstr(nc, version == 0x0304 ? "TLS_AES_" : "_WITH_"));
    assert_int_equal(CF_C(p)->handshake_done_calls, 1);
    assert_int_equal(CF_S(p)->handshake_done_calls, 1);
}

static void handshake_data_close(uint16_t version, const char *chain, const char *leaf_name)
{
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = pair_setup();
    s.client_max = version;
    s.client_min = version;
    s.chain = chain;
    cf_pair_setup(&p, &s);
    cf_handshake(&p);
    assert_agreed(&p, version);

    /* the client's verify saw leaf, intermediate, root */
    cf_side *c = CF_C(&p), *sv = CF_S(&p);
    assert_int_equal(c->verify_calls, 1);
    assert_int_equal(c->verify_n, 3);
    cf_assert_der_is(c->verify_der[0], c->verify_der_len[0], leaf_name);
    cf_assert_der_is(c->verify_der[2], c->verify_der_len[2], "root");

    /* many records one way, a few the other */
    size_t big = 100 * 1024;
    uint8_t *data = cf_xmalloc(big);
    for (size_t i = 0; i < big; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    cf_send_and_check(&p, CF_CLIENT, data, big);
    cf_send_and_check(&p, CF_SERVER, data, 5000);
    free(data);

    /* close_notify both ways: the client finishes, the server sees the end
       of the stream, then finishes too; both close without hurry */
    cf_assert_status(polytls_conn_application_finished(c->conn), POLYTLS_OK);
    cf_pump(&p);
    assert_true(polytls_conn_peer_closed(sv->conn));
    cf_assert_status(polytls_conn_application_finished(sv->conn), POLYTLS_OK);
    cf_pump(&p);
    assert_true(polytls_conn_peer_closed(c->conn));
    cf_assert_wire_closed(c, false);
    cf_assert_wire_closed(sv, false);
    cf_assert_status(polytls_conn_eof_from_wire(c->conn), POLYTLS_OK);
    cf_assert_status(polytls_conn_eof_from_wire(sv->conn), POLYTLS_OK);
    cf_pair_free(&p);
}

static void tls13_ecdsa(void **state)
{
    (void)state;
    handshake_data_close(0x0304, "server-ec", "server-ec");
}

static void tls12_ecdsa(void **state)
{
    (void)state;
    handshake_data_close(0x0303, "server-ec", "server-ec");
}

static void tls13_rsa(void **state)
{
    (void)state;
    handshake_data_close(0x0304, "server-rsa", "server-rsa");
}

static void tls12_rsa(void **state)
{
    (void)state;
    handshake_data_close(0x0303, "server-rsa", "server-rsa");
}

/* A client store that keeps the reply, to answer later. */
typedef struct later_store {
    polytls_chain_reply *reply;
    int calls;
} later_store;

static void keep_default(void *user, polytls_chain_reply *reply)
{
    later_store *st = user;
    st->calls++;
    st->reply = reply;
}

static void keep_roots(void *user, const uint8_t *const *roots, const size_t *lens, size_t n,
                       polytls_chain_reply *reply)
{
    (void)roots;
    (void)lens;
    (void)n;
    keep_default(user, reply);
}

static void client_certificate_later(uint16_t version)
{
    later_store st = {0};
    polytls_client_cert_store *store = NULL;
    polytls_client_cert_store_callbacks cb = {.size = sizeof cb,
                                              .get_chain_for_roots = keep_roots,
                                              .get_default_chain = keep_default};
    cf_assert_status(polytls_client_cert_store_new(&cb, &st, &store), POLYTLS_OK);
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = pair_setup();
    s.client_min = s.client_max = version;
    s.client_store = store;
    s.client_auth = POLYTLS_CLIENT_AUTH_REQUIRED;
    s.client_auth_trust = "client-ca1.pem";
    cf_pair_setup(&p, &s);
    cf_pump(&p);
    assert_int_equal(st.calls, 1);
    assert_non_null(st.reply);
    assert_false(polytls_conn_handshake_done(CF_S(&p)->conn));
    cf_certs chain = cf_load_chain("client1");
    cf_assert_status(polytls_chain_reply_send(st.reply, chain.v, chain.n), POLYTLS_OK);
    cf_certs_free(&chain);
    cf_handshake(&p);
    assert_agreed(&p, version);
    /* the server verified the client's chain, leaf first */
    cf_side *sv = CF_S(&p);
    assert_int_equal(sv->verify_calls, 1);
    assert_int_equal(sv->verify_n, 2);
    cf_assert_der_is(sv->verify_der[0], sv->verify_der_len[0], "client1");
    cf_assert_der_is(sv->verify_der[1], sv->verify_der_len[1], "client-ca1");
    cf_send_and_check(&p, CF_CLIENT, "with a certificate", 18);
    cf_pair_free(&p);
    polytls_client_cert_store_unref(store);
}

static void client_certificate_later_tls13(void **state)
{
    (void)state;
    client_certificate_later(0x0304);
}

static void client_certificate_later_tls12(void **state)
{
    (void)state;
    client_certificate_later(0x0303);
}

static void hostname_mismatch(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        cf_pair_init(&p);
        cf_setup s = pair_setup();
        s.hostname = "other.test";
        s.client_min = s.client_max = v ? 0x0303 : 0x0304;
        cf_pair_setup(&p, &s);
        cf_pump(&p);
        cf_side *c = CF_C(&p), *sv = CF_S(&p);
        cf_assert_conn_status(c->first_error, POLYTLS_ERR_BAD_TLS_DATA, c->conn);
        assert_int_equal(c->verify_calls, 0);
        if (sv->first_error != POLYTLS_ERR_TLS_ALERT)
            cf_fail("TLS 1.%d: the server got %s: %s", v ? 2 : 3, polytls_status_name(sv->first_error),
                    polytls_conn_error_message(sv->conn));
        assert_int_equal(cf_peer_alert_code(sv), POLYTLS_ALERT_BAD_CERTIFICATE);
        cf_pair_free(&p);
    }
}

static void ip_literal(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = pair_setup();
    s.hostname = "127.0.0.1";
    cf_pair_setup(&p, &s);
    cf_handshake(&p);
    const char *name = "unset";
    cf_assert_status(polytls_conn_server_name(CF_S(&p)->conn, &name), POLYTLS_OK);
    assert_null(name); /* no SNI for an IP literal */
    cf_send_and_check(&p, CF_CLIENT, "by address", 10);
    cf_pair_free(&p);
}

/* A pair with ALPN lists on both sides (cf_setup has no ALPN field: the
   lists must be set before the first start). */
static void alpn_pair(cf_pair *p, uint16_t version, const char *const *client_names,
                      const char *const *server_names)
{
    const uint8_t *protos[4];
    size_t lens[4], n;
    cf_pair_init(p);
    cf_certs chain = cf_load_chain("server-ec");
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_chain_new(chain.v, chain.n, &sc), POLYTLS_OK);
    cf_certs_free(&chain);
    cf_assert_status(polytls_server_new(server_backend, sc, NULL, 0, &p->server), POLYTLS_OK);
    polytls_server_certificates_unref(sc);
    polytls_trust_store *ts = cf_load_trust("root.pem");
    cf_assert_status(polytls_client_new(client_backend, "server.test", ts, NULL, &p->client), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    cf_assert_status(polytls_client_set_versions(p->client, version, version), POLYTLS_OK);
    for (n = 0; client_names[n] && n < 4; n++) {
        protos[n] = (const uint8_t *)client_names[n];
        lens[n] = strlen(client_names[n]);
    }
    cf_assert_status(polytls_client_set_alpn(p->client, protos, lens, n), POLYTLS_OK);
    for (n = 0; server_names[n] && n < 4; n++) {
        protos[n] = (const uint8_t *)server_names[n];
        lens[n] = strlen(server_names[n]);
    }
    cf_assert_status(polytls_server_set_alpn(p->server, protos, lens, n), POLYTLS_OK);
    cf_assert_status(cf_start_server(p, p->server), POLYTLS_OK);
    cf_assert_status(cf_start_client(p, p->client), POLYTLS_OK);
}

/* ALPN: the server's preference wins on both sides; no name in common is
   refused with no_application_protocol (120). */
static void alpn(void **state)
{
    (void)state;
    static const char *const client_pref[] = { "http/1.1", "h2", NULL };
    static const char *const server_pref[] = { "h2", "http/1.1", NULL };
    static const char *const other[] = { "imap", NULL };
    for (int v = 0; v < 2; v++) {
        uint16_t version = v ? 0x0303 : 0x0304;
        cf_pair p;
        alpn_pair(&p, version, client_pref, server_pref);
        cf_handshake(&p);
        assert_agreed(&p, version);
        for (int side = 0; side < 2; side++) {
            const uint8_t *proto = NULL;
            size_t len = 0;
            cf_assert_status(polytls_conn_alpn(p.side[side].conn, &proto, &len), POLYTLS_OK);
            if (len != 2 || memcmp(proto, "h2", 2) != 0)
                cf_fail("TLS 1.%d %s: negotiated \"%.*s\", expected \"h2\"", v ? 2 : 3,
                        side == CF_CLIENT ? "client" : "server", (int)len, proto ? (const char *)proto : "");
        }
        cf_pair_free(&p);

        alpn_pair(&p, version, client_pref, other);
        cf_pump(&p);
        cf_side *c = CF_C(&p), *sv = CF_S(&p);
        cf_assert_conn_status(sv->first_error, POLYTLS_ERR_BAD_TLS_DATA, sv->conn);
        cf_assert_conn_status(c->first_error, POLYTLS_ERR_TLS_ALERT, c->conn);
        assert_int_equal(cf_peer_alert_code(c), POLYTLS_ALERT_NO_APPLICATION_PROTOCOL);
        cf_assert_wire_closed(sv, false);
        cf_assert_wire_closed(c, true);
        cf_pair_free(&p);
    }
}

/* Exporters agree across libraries: both ends derive the same bytes. */
static void exporter(void **state)
{
    (void)state;
    if (!(polytls_backend_capabilities(client_backend) & POLYTLS_CAP_EXPORTER) ||
        !(polytls_backend_capabilities(server_backend) & POLYTLS_CAP_EXPORTER))
        skip();
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        cf_pair_init(&p);
        cf_setup s = pair_setup();
        s.client_min = s.client_max = v ? 0x0303 : 0x0304;
        cf_pair_setup(&p, &s);
        cf_handshake(&p);
        static const uint8_t label[] = "EXPORTER-polytls-interop";
        uint8_t a[32], b[32];
        cf_assert_status(polytls_conn_export_keying_material(CF_C(&p)->conn, label, sizeof label - 1,
                                                             (const uint8_t *)"ctx", 3, a, sizeof a),
                         POLYTLS_OK);
        cf_assert_status(polytls_conn_export_keying_material(CF_S(&p)->conn, label, sizeof label - 1,
                                                             (const uint8_t *)"ctx", 3, b, sizeof b),
                         POLYTLS_OK);
        assert_memory_equal(a, b, sizeof a);
        cf_pair_free(&p);
    }
}

/* Resumption across libraries: a session a client backend got from another
   backend's server resumes there (tickets are standard; the session object
   belongs to the client's backend). */
static void resumption_once(uint16_t version)
{
    cf_certs chain = cf_load_chain("server-ec");
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_chain_new(chain.v, chain.n, &sc), POLYTLS_OK);
    cf_certs_free(&chain);
    polytls_server *s = NULL;
    cf_assert_status(polytls_server_new(server_backend, sc, NULL, 0, &s), POLYTLS_OK);
    polytls_server_certificates_unref(sc);
    cf_assert_status(polytls_server_set_versions(s, version, version), POLYTLS_OK);
    cf_assert_status(polytls_server_set_resumption(s, true, 0), POLYTLS_OK);
    polytls_trust_store *ts = cf_load_trust("root.pem");
    polytls_client *c = NULL;
    cf_assert_status(polytls_client_new(client_backend, "server.test", ts, NULL, &c), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    cf_assert_status(polytls_client_set_versions(c, version, version), POLYTLS_OK);
    cf_assert_status(polytls_client_set_resumption(c, true), POLYTLS_OK);

    polytls_session *session = NULL;
    for (int round = 0; round < 2; round++) {
        cf_pair p;
        cf_pair_init(&p);
        cf_assert_status(cf_start_server(&p, s), POLYTLS_OK);
        if (session)
            cf_assert_status(polytls_client_start_with_session(c, session, &cf_callbacks, CF_C(&p),
                                                               &CF_C(&p)->conn),
                             POLYTLS_OK);
        else
            cf_assert_status(cf_start_client(&p, c), POLYTLS_OK);
        cf_handshake(&p);
        assert_agreed(&p, version);
        assert_int_equal(polytls_conn_resumed(CF_C(&p)->conn), round == 1);
        assert_int_equal(polytls_conn_resumed(CF_S(&p)->conn), round == 1);
        assert_int_equal(CF_C(&p)->verify_calls, 1);   /* once per negotiation, resumed or not */
        cf_send_and_check(&p, CF_SERVER, "ticket and data", 15);   /* TLS 1.3: the ticket comes with it */
        cf_send_and_check(&p, CF_CLIENT, "more", 4);
        if (round == 0) {
            cf_assert_conn_status(polytls_conn_get_session(CF_C(&p)->conn, &session), POLYTLS_OK, CF_C(&p)->conn);
            assert_non_null(session);
        }
        p.client = NULL;   /* the endpoints are ours */
        p.server = NULL;
        cf_pair_free(&p);
    }
    polytls_session_free(session);
    polytls_client_free(c);
    polytls_server_free(s);
}

static void resumption(void **state)
{
    (void)state;
    if (!(polytls_backend_capabilities(client_backend) & POLYTLS_CAP_RESUMPTION) ||
        !(polytls_backend_capabilities(server_backend) & POLYTLS_CAP_RESUMPTION))
        skip();
    resumption_once(0x0304);
    resumption_once(0x0303);
}

static const struct CMUnitTest tests[] = {
    CF_TEST(tls13_ecdsa, "interop.tls13_ecdsa"),
    CF_TEST(tls12_ecdsa, "interop.tls12_ecdsa"),
    CF_TEST(tls13_rsa, "interop.tls13_rsa"),
    CF_TEST(tls12_rsa, "interop.tls12_rsa"),
    CF_TEST(client_certificate_later_tls13, "interop.client_certificate_later_tls13"),
    CF_TEST(client_certificate_later_tls12, "interop.client_certificate_later_tls12"),
    CF_TEST(hostname_mismatch, "interop.hostname_mismatch"),
    CF_TEST(ip_literal, "interop.ip_literal"),
    CF_TEST(exporter, "interop.exporter"),
    CF_TEST(alpn, "interop.alpn"),
    CF_TEST(resumption, "interop.resumption"),
};

static int get(const char *name, const polytls_backend **out)
{
    polytls_backend *b = NULL;
    if (polytls_backend_get(name, &b) != POLYTLS_OK || strcmp(polytls_backend_name(b), name) != 0) {
        fprintf(stderr, "interop: backend %s unavailable: %s\n", name, polytls_last_error_message());
        return -1;
    }
    *out = b;
    return 0;
}

int main(int argc, char **argv)
{
    const char *only_client = NULL, *only_server = NULL, *report_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--client") == 0 && i + 1 < argc)
            only_client = argv[++i];
        else if (strcmp(argv[i], "--server") == 0 && i + 1 < argc)
            only_server = argv[++i];
        else if (strcmp(argv[i], "--report") == 0 && i + 1 < argc)
            report_path = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--client NAME] [--server NAME] [--report FILE]\n", argv[0]);
            return 2;
        }
    }
    if (report_path && !cf_report_open(report_path))
        return 1;
    static char report_context[160];
    const char *const *names = polytls_backend_names();
    int failures = 0, pairs = 0;
    for (size_t i = 0; names[i]; i++) {
        if (only_client && strcmp(only_client, names[i]) != 0)
            continue;
        for (size_t j = 0; names[j]; j++) {
            if (only_server && strcmp(only_server, names[j]) != 0)
                continue;
            if (get(names[i], &client_backend) != 0 || get(names[j], &server_backend) != 0)
                return 1;
            cf_backend = client_backend;
            cf_caps = polytls_backend_capabilities(client_backend);
            char group[64];
            snprintf(group, sizeof group, "interop %s client -> %s server", names[i], names[j]);
            cf_report_set_context(NULL); /* the previous pair's last test keeps its context */
            snprintf(report_context, sizeof report_context, "\"client\":\"%s\",\"server\":\"%s\"",
                     names[i], names[j]);
            cf_report_set_context(report_context);
            failures += _cmocka_run_group_tests(group, tests, sizeof tests / sizeof tests[0], NULL, NULL);
            pairs++;
        }
    }
    if (!cf_report_close())
        failures++;
    printf("interop: %d backend pairs, %d failed tests\n", pairs, failures);
    return pairs > 0 && failures == 0 ? 0 : 1;
}
