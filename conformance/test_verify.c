/* verify.*: the verify callback (once, leaf first, anchor last, rejection,
   alerts from inside it) and the built-in checks: hostname, unknown CA,
   expiry, IP literals, wildcards. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

/* Called once, after the built-in checks, leaf first and anchor last. */
static void once_leaf_first(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        cf_pair_init(&p);
        cf_setup s = { .client_max = v ? 0x0303 : 0 };
        cf_pair_setup(&p, &s);
        cf_handshake(&p);
        cf_side *c = CF_C(&p);
        assert_int_equal(c->verify_calls, 1);
        assert_int_equal(c->verify_n, 3);
        cf_assert_der_is(c->verify_der[0], c->verify_der_len[0], "server-ec");
        cf_assert_der_is(c->verify_der[1], c->verify_der_len[1], "inter");
        cf_assert_der_is(c->verify_der[2], c->verify_der_len[2], "root");
        /* later traffic does not call it again */
        cf_send_and_check(&p, CF_SERVER, "more", 4);
        assert_int_equal(c->verify_calls, 1);
        cf_pair_free(&p);
    }
}

/* One client meeting several servers in turn, the same chain again and a
   chain that fails in between: every verification sees the chain of its
   own connection (drivers cache what their library parsed per client or
   server; a cache must never hand one connection another's chain or
   verdict). */
static void same_client_many_chains(void **state)
{
    (void)state;
    static const char *const leaves[] = {"server-ec", "server-rsa", "server-ec", "other", "server-rsa",
                                         "server-ec"};
    polytls_trust_store *ts = cf_load_trust("root.pem");
    polytls_client *client = NULL;
    cf_assert_status(polytls_client_new(cf_backend, "server.test", ts, NULL, &client), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    for (size_t i = 0; i < sizeof leaves / sizeof leaves[0]; i++) {
        cf_certs chain = cf_load_chain(leaves[i]);
        polytls_server_certificates *sc = NULL;
        cf_assert_status(polytls_server_chain_new(chain.v, chain.n, &sc), POLYTLS_OK);
        cf_certs_free(&chain);
        polytls_server *server = NULL;
        cf_assert_status(polytls_server_new(cf_backend, sc, NULL, 0, &server), POLYTLS_OK);
        polytls_server_certificates_unref(sc);
        cf_pair p;
        cf_pair_init(&p);
        cf_assert_status(cf_start_server(&p, server), POLYTLS_OK);
        cf_assert_status(cf_start_client(&p, client), POLYTLS_OK);
        cf_pump(&p);
        cf_side *c = CF_C(&p);
        bool mismatch = strcmp(leaves[i], "other") == 0;   /* other.test: not server.test */
        assert_int_equal(polytls_conn_handshake_done(c->conn), !mismatch);
        if (mismatch) {
            assert_int_equal(c->verify_calls, 0);
            assert_true(polytls_conn_invalidated(c->conn));
        } else {
            assert_int_equal(c->verify_calls, 1);
            assert_int_equal(c->verify_n, 3);
            cf_assert_der_is(c->verify_der[0], c->verify_der_len[0], leaves[i]);
            cf_assert_der_is(c->verify_der[1], c->verify_der_len[1], "inter");
            cf_assert_der_is(c->verify_der[2], c->verify_der_len[2], "root");
        }
        p.server = NULL;   /* the endpoints are this test's */
        p.client = NULL;
        cf_pair_free(&p);
        polytls_server_free(server);
    }
    polytls_client_free(client);
}

/* A trust store holding an anchor that expired long ago (system bundles
   do: Debian 12's holds four expired roots in 2026) next to the right
   one: every backend starts and verifies through the valid anchor. */
static void expired_anchor_in_store(void **state)
{
    (void)state;
    cf_certs old = cf_load_certs("expired-root.pem"), good = cf_load_certs("root.pem");
    polytls_certificate *both[2] = {old.v[0], good.v[0]};
    polytls_trust_store *ts = NULL;
    cf_assert_status(polytls_trust_store_new(both, 2, &ts), POLYTLS_OK);
    cf_certs_free(&old);
    cf_certs_free(&good);
    polytls_client *client = NULL;
    cf_assert_status(polytls_client_new(cf_backend, "server.test", ts, NULL, &client), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    cf_certs chain = cf_load_chain("server-ec");
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_chain_new(chain.v, chain.n, &sc), POLYTLS_OK);
    cf_certs_free(&chain);
    polytls_server *server = NULL;
    cf_assert_status(polytls_server_new(cf_backend, sc, NULL, 0, &server), POLYTLS_OK);
    polytls_server_certificates_unref(sc);
    cf_pair p;
    cf_pair_init(&p);
    cf_assert_status(cf_start_server(&p, server), POLYTLS_OK);
    cf_assert_status(cf_start_client(&p, client), POLYTLS_OK);
    cf_handshake(&p);
    cf_side *c = CF_C(&p);
    assert_int_equal(c->verify_calls, 1);
    assert_int_equal(c->verify_n, 3);
    cf_assert_der_is(c->verify_der[2], c->verify_der_len[2], "root");
    p.server = NULL;
    p.client = NULL;
    cf_pair_free(&p);
    polytls_server_free(server);
    polytls_client_free(client);
}

/* The default trust store (the system bundle, whatever it holds: expired
   roots, roots a library cannot parse) never stops a client from
   starting. Skipped where the machine has no system bundle. */
static void system_store_client_starts(void **state)
{
    (void)state;
    polytls_trust_store *ts = NULL;
    if (polytls_trust_store_system(&ts) != POLYTLS_OK) {
        print_message("no system trust store here: %s\n", polytls_last_error_message());
        skip();
    }
    polytls_trust_store_unref(ts);
    polytls_client *client = NULL;
    cf_assert_status(polytls_client_new(cf_backend, "example.com", NULL, NULL, &client), POLYTLS_OK);
    cf_pair p;
    cf_pair_init(&p);
    cf_assert_status(cf_start_client(&p, client), POLYTLS_OK);
    assert_true(CF_C(&p)->out_len > 0);   /* the ClientHello */
    p.client = NULL;
    cf_pair_free(&p);
    polytls_client_free(client);
}

/* A refusal: CALLBACK_FAILED, invalidated, an alert reaches the server. */
static void reject(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        cf_pair_init(&p);
        cf_setup s = { .client_max = v ? 0x0303 : 0 };
        cf_pair_setup(&p, &s);
        CF_C(&p)->verify_result = 1;
        cf_pump(&p);
        cf_side *c = CF_C(&p), *sv = CF_S(&p);
        assert_int_equal(c->verify_calls, 1);
        cf_assert_conn_status(c->first_error, POLYTLS_ERR_CALLBACK_FAILED, c->conn);
        assert_int_equal(c->handshake_done_calls, 0);
        cf_assert_wire_closed(c, false);
        cf_assert_all_invalidated(c->conn);
        cf_assert_conn_status(sv->first_error, POLYTLS_ERR_TLS_ALERT, sv->conn);
        cf_check_value("verify.reject", POLYTLS_ALERT_BAD_CERTIFICATE, cf_peer_alert_code(sv));
        assert_int_equal(sv->handshake_done_calls, 0);
        cf_assert_wire_closed(sv, true);
        cf_pair_free(&p);
    }
}

/* The codes TLS uses for certificate failures, which
   POLYTLS_CAP_ALERT_IN_VERIFY promises. */
/* The codes POLYTLS_CAP_ALERT_IN_VERIFY covers (polytls.h), and one it does
   not (access_denied): that one needs POLYTLS_CAP_ALERT_ANYTIME. */
static const polytls_alert verify_codes[] = {
    POLYTLS_ALERT_HANDSHAKE_FAILURE, POLYTLS_ALERT_BAD_CERTIFICATE,
    POLYTLS_ALERT_UNSUPPORTED_CERTIFICATE, POLYTLS_ALERT_CERTIFICATE_REVOKED,
    POLYTLS_ALERT_CERTIFICATE_EXPIRED, POLYTLS_ALERT_CERTIFICATE_UNKNOWN,
    POLYTLS_ALERT_UNKNOWN_CA, POLYTLS_ALERT_DECRYPT_ERROR, POLYTLS_ALERT_INTERNAL_ERROR,
    POLYTLS_ALERT_ACCESS_DENIED,
};

static bool in_verify_set(polytls_alert code)
{
    return code != POLYTLS_ALERT_ACCESS_DENIED;
}

/* One rejection with send_alert(code) from inside verify. With
   POLYTLS_CAP_ALERT_IN_VERIFY (for the codes it covers) or
   POLYTLS_CAP_ALERT_ANYTIME the code is accepted and reaches the server
   (per-code exceptions: rows "verify.alert_from_callback/CODE" for the send
   status, ".../CODE/arrives" for the code received); otherwise only 42 is
   accepted and every other code is UNSUPPORTED, the default 42 going out. */
void cf_verify_alert_case(polytls_alert code, uint16_t client_max);
void cf_verify_alert_case(polytls_alert code, uint16_t client_max)
{
    char id[96], arrives[112];
    snprintf(id, sizeof id, "verify.alert_from_callback/%d", (int)code);
    snprintf(arrives, sizeof arrives, "%s/arrives", id);
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .client_max = client_max };
    cf_pair_setup(&p, &s);
    cf_side *c = CF_C(&p), *sv = CF_S(&p);
    c->verify_result = 1;
    c->verify_send_alert = true;
    c->verify_alert = code;
    c->verify_alert_level = POLYTLS_ALERT_LEVEL_FATAL;
    cf_pump(&p);
    assert_int_equal(c->verify_calls, 1);
    cf_assert_conn_status(c->first_error, POLYTLS_ERR_CALLBACK_FAILED, c->conn);
    cf_assert_conn_status(sv->first_error, POLYTLS_ERR_TLS_ALERT, sv->conn);
    cf_assert_all_invalidated(c->conn);
    polytls_status st = c->verify_alert_status;
    bool claimed = cf_has_cap(POLYTLS_CAP_ALERT_ANYTIME) ||
                   (cf_has_cap(POLYTLS_CAP_ALERT_IN_VERIFY) && in_verify_set(code));
    if (claimed) {
        if (st != POLYTLS_OK && st != POLYTLS_ERR_UNSUPPORTED)
            cf_fail("send_alert(%d) in verify: %s (%s)", (int)code, polytls_status_name(st),
                    c->verify_alert_message);
        cf_check_value(id, POLYTLS_OK, st);
    } else if (code == POLYTLS_ALERT_BAD_CERTIFICATE) {
        cf_assert_status(st, POLYTLS_OK);
    } else {
        cf_assert_status(st, POLYTLS_ERR_UNSUPPORTED);
    }
    if (st == POLYTLS_OK)
        cf_check_value(arrives, code, cf_peer_alert_code(sv));
    else /* refused: nothing changed, the refusal's default alert went out */
        cf_check_value("verify.reject", POLYTLS_ALERT_BAD_CERTIFICATE, cf_peer_alert_code(sv));
    cf_pair_free(&p);
}

static void alert_from_callback(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++)
        for (size_t i = 0; i < sizeof verify_codes / sizeof verify_codes[0]; i++)
            cf_verify_alert_case(verify_codes[i], v ? 0x0303 : 0);
}

/* Accepting after a send_alert warning level in TLS 1.3 is not allowed:
   the level rules apply inside verify too. */
static void alert_level_in_callback(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_pair_setup(&p, NULL);
    cf_side *c = CF_C(&p);
    c->verify_send_alert = true;
    c->verify_alert = POLYTLS_ALERT_HANDSHAKE_FAILURE;
    c->verify_alert_level = POLYTLS_ALERT_LEVEL_WARNING;
    cf_handshake(&p); /* verify returned 0: the handshake goes on */
    cf_assert_status(c->verify_alert_status, POLYTLS_ERR_INVALID_ALERT_LEVEL);
    cf_send_and_check(&p, CF_CLIENT, "ok", 2);
    cf_pair_free(&p);
}

/* A failing built-in check: BAD_TLS_DATA on the client, the verify callback
   is not called, the server receives `standard` (or the documented code). */
static void expect_builtin_failure(const char *id, const cf_setup *s, long standard)
{
    for (int v = 0; v < 2; v++) {
        char vid[128];
        snprintf(vid, sizeof vid, "%s%s", id, v ? "/tls12" : "");
        cf_pair p;
        cf_pair_init(&p);
        cf_setup s2 = *s;
        s2.client_max = v ? 0x0303 : 0;
        cf_pair_setup(&p, &s2);
        cf_pump(&p);
        cf_side *c = CF_C(&p), *sv = CF_S(&p);
        cf_assert_conn_status(c->first_error, POLYTLS_ERR_BAD_TLS_DATA, c->conn);
        assert_int_equal(c->verify_calls, 0);
        assert_int_equal(c->handshake_done_calls, 0);
        assert_true(polytls_conn_error_message(c->conn)[0] != '\0');
        cf_assert_wire_closed(c, false);
        cf_assert_all_invalidated(c->conn);
        cf_assert_conn_status(sv->first_error, POLYTLS_ERR_TLS_ALERT, sv->conn);
        cf_check_value(vid, standard, cf_peer_alert_code(sv));
        /* TLS 1.2: the client's alert is plaintext; the scanner sees it */
        cf_wire_alert a;
        if (v == 1 && cf_last_plain_alert(c, &a))
            assert_int_equal(a.code, cf_peer_alert_code(sv));
        cf_pair_free(&p);
    }
}

static void hostname_mismatch(void **state)
{
    (void)state;
    cf_setup s = { .hostname = "other.test" };
    expect_builtin_failure("verify.hostname_mismatch", &s, POLYTLS_ALERT_BAD_CERTIFICATE);
}

static void unknown_ca(void **state)
{
    (void)state;
    cf_setup s = { .chain = "evil" };
    expect_builtin_failure("verify.unknown_ca", &s, POLYTLS_ALERT_UNKNOWN_CA);
}

static void untrusted_root(void **state)
{
    (void)state;
    /* a valid chain, but the client trusts only an unrelated CA */
    cf_setup s = { .trust = "client-ca1.pem" };
    expect_builtin_failure("verify.untrusted_root", &s, POLYTLS_ALERT_UNKNOWN_CA);
}

static void expired(void **state)
{
    (void)state;
    cf_setup s = { .chain = "expired" };
    expect_builtin_failure("verify.expired", &s, POLYTLS_ALERT_CERTIFICATE_EXPIRED);
}

static void ip_mismatch(void **state)
{
    (void)state;
    cf_setup s = { .hostname = "127.0.0.2" };
    expect_builtin_failure("verify.ip_mismatch", &s, POLYTLS_ALERT_BAD_CERTIFICATE);
}

/* "server.test" appears in the CN and as a dNSName; an IP literal must match
   an iPAddress SAN, and is not sent as SNI. */
static void ip_literal(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        cf_pair_init(&p);
        cf_setup s = { .hostname = "127.0.0.1", .client_max = v ? 0x0303 : 0 };
        cf_pair_setup(&p, &s);
        cf_handshake(&p);
        const char *name = "unset";
        cf_assert_status(polytls_conn_server_name(CF_C(&p)->conn, &name), POLYTLS_OK);
        assert_null(name);
        name = "unset";
        cf_assert_status(polytls_conn_server_name(CF_S(&p)->conn, &name), POLYTLS_OK);
        assert_null(name);
        cf_pair_free(&p);
    }
}

/* IPv6 literals are accepted as hostnames (and fail here: no such SAN). */
static void ipv6_literal(void **state)
{
    (void)state;
    cf_setup s = { .hostname = "::1" };
    expect_builtin_failure("verify.ipv6_mismatch", &s, POLYTLS_ALERT_BAD_CERTIFICATE);
}

/* RFC 6125: "*" is the whole left-most label and matches exactly one label. */
static void wildcard(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .hostname = "a.wild.test" };
    cf_pair_setup(&p, &s);
    cf_handshake(&p);
    cf_pair_free(&p);

    cf_setup deep = { .hostname = "a.b.wild.test" };
    expect_builtin_failure("verify.wildcard_two_labels", &deep, POLYTLS_ALERT_BAD_CERTIFICATE);
    cf_setup bare = { .hostname = "wild.test" };
    expect_builtin_failure("verify.wildcard_bare", &bare, POLYTLS_ALERT_BAD_CERTIFICATE);
}

/* Hostnames compare case-insensitively. */
static void hostname_case(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .hostname = "Server.TEST" };
    cf_pair_setup(&p, &s);
    cf_handshake(&p);
    const char *name = NULL;
    cf_assert_status(polytls_conn_server_name(CF_S(&p)->conn, &name), POLYTLS_OK);
    assert_non_null(name);
    assert_string_equal(name, "server.test");
    cf_pair_free(&p);
}

/* Without a verify callback the built-in checks alone decide. */
static void no_callback(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .no_client = true };
    cf_pair_setup(&p, &s);
    polytls_trust_store *ts = cf_load_trust("root.pem");
    cf_assert_status(polytls_client_new(cf_backend, "server.test", ts, NULL, &p.client), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    polytls_conn_callbacks cb = cf_callbacks;
    cb.verify = NULL;
    cb.handshake_done = NULL;
    cf_assert_status(polytls_client_start(p.client, &cb, CF_C(&p), &CF_C(&p)->conn), POLYTLS_OK);
    cf_handshake(&p);
    assert_int_equal(CF_C(&p)->verify_calls, 0);
    cf_pair_free(&p);
}

/* A callbacks table that ends at wire_close (size says so) works. */
static void short_callbacks_table(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .no_client = true };
    cf_pair_setup(&p, &s);
    polytls_trust_store *ts = cf_load_trust("root.pem");
    cf_assert_status(polytls_client_new(cf_backend, "server.test", ts, NULL, &p.client), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    polytls_conn_callbacks cb = cf_callbacks;
    cb.size = offsetof(polytls_conn_callbacks, verify);
    cf_assert_status(polytls_client_start(p.client, &cb, CF_C(&p), &CF_C(&p)->conn), POLYTLS_OK);
    cf_handshake(&p);
    /* the fields beyond `size` were not used */
    assert_int_equal(CF_C(&p)->verify_calls, 0);
    assert_int_equal(CF_C(&p)->handshake_done_calls, 0);
    cf_pair_free(&p);
}

static const struct CMUnitTest tests[] = {
    CF_TEST(once_leaf_first, "verify.once_leaf_first"),
    CF_TEST(reject, "verify.reject"),
    CF_TEST(alert_from_callback, "verify.alert_from_callback"),
    CF_TEST(alert_level_in_callback, "verify.alert_level_in_callback"),
    CF_TEST(hostname_mismatch, "verify.hostname_mismatch"),
    CF_TEST(unknown_ca, "verify.unknown_ca"),
    CF_TEST(untrusted_root, "verify.untrusted_root"),
    CF_TEST(expired, "verify.expired"),
    CF_TEST(ip_mismatch, "verify.ip_mismatch"),
    CF_TEST(ip_literal, "verify.ip_literal"),
    CF_TEST(ipv6_literal, "verify.ipv6_literal"),
    CF_TEST(wildcard, "verify.wildcard"),
    CF_TEST(hostname_case, "verify.hostname_case"),
    CF_TEST(no_callback, "verify.no_callback"),
    CF_TEST(short_callbacks_table, "verify.short_callbacks_table"),
    CF_TEST(same_client_many_chains, "verify.same_client_many_chains"),
    CF_TEST(expired_anchor_in_store, "verify.expired_anchor_in_store"),
    CF_TEST(system_store_client_starts, "verify.system_store_client_starts"),
};
CF_GROUP(cf_group_verify, "verify", tests);
