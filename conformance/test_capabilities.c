/* caps.*: every capability bit both ways: claimed → the feature works; not
   claimed → the request fails loudly with UNSUPPORTED (or, for a bit that
   has no call of its own, the documented fallback happens). */
#include "harness.h"
#include "real_peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint32_t all_bits[] = {
    POLYTLS_CAP_ASYNC_SERVER_CERT, POLYTLS_CAP_ASYNC_CLIENT_CERT, POLYTLS_CAP_ALERT_ANYTIME,
    POLYTLS_CAP_ALERT_IN_VERIFY,   POLYTLS_CAP_CUSTOM_DH,         POLYTLS_CAP_TLS13_CA_NAMES,
    POLYTLS_CAP_LOW_MEMORY, /* tested both ways in test_low_memory.c */
    POLYTLS_CAP_KEYLOG, POLYTLS_CAP_EXPORTER, /* tested both ways in test_keylog.c */
    POLYTLS_CAP_RESUMPTION, /* tested both ways in test_resumption.c */
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

/* CUSTOM_DH on the wire: our own clients never offer DHE, so the pair above
   only shows that the parameters are accepted. Here a foreign client that
   offers nothing but TLS_DHE_RSA_WITH_AES_128_GCM_SHA256 (openssl s_client
   over TCP on 127.0.0.1) must get a 2048-bit DH key exchange, and the prime
   in the ServerKeyExchange the server put on the wire must be the one we
   gave: the parameters are used, never silently replaced. */

/* One DER element at *p (short or long length form): its tag, content and
   length; advances *p past it. false when it does not fit. */
static bool der_next(const uint8_t **p, const uint8_t *end, uint8_t *tag, const uint8_t **content,
                     size_t *len)
{
    const uint8_t *q = *p;
    if (end - q < 2)
        return false;
    *tag = *q++;
    size_t l = *q++;
    if (l & 0x80) {
        size_t nb = l & 0x7f;
        if (nb == 0 || nb > 2 || (size_t)(end - q) < nb)
            return false;
        for (l = 0; nb > 0; nb--)
            l = (l << 8) | *q++;
    }
    if ((size_t)(end - q) < l)
        return false;
    *content = q;
    *len = l;
    *p = q + l;
    return true;
}

/* p and g of a PKCS#3 DHParameter, without INTEGER sign padding (TLS
   carries them as unsigned big-endian without leading zeros). */
static void dh_p_g(const uint8_t *der, size_t der_len, const uint8_t **p, size_t *p_len,
                   const uint8_t **g, size_t *g_len)
{
    const uint8_t *cur = der, *end = der + der_len, *seq;
    size_t seq_len;
    uint8_t tag;
    assert_true(der_next(&cur, end, &tag, &seq, &seq_len) && tag == 0x30);
    cur = seq;
    end = seq + seq_len;
    assert_true(der_next(&cur, end, &tag, p, p_len) && tag == 0x02);
    assert_true(der_next(&cur, end, &tag, g, g_len) && tag == 0x02);
    for (; *p_len > 1 && (*p)[0] == 0; (*p)++, (*p_len)--)
        ;
    for (; *g_len > 1 && (*g)[0] == 0; (*g)++, (*g_len)--)
        ;
}

/* Appends a failed check to `why` (the test reports all of them at once,
   with s_client's output, after freeing everything). */
static void check(char *why, size_t cap, bool ok, const char *what)
{
    size_t used = strlen(why);
    if (!ok && used < cap - 1)
        snprintf(why + used, cap - used, "  - %s\n", what);
}

/* An opaque<1..2^16-1> vector of a ServerKeyExchange at *off. */
static bool ske_vector(const uint8_t *b, size_t len, size_t *off, const uint8_t **v, size_t *vlen)
{
    if (len - *off < 2)
        return false;
    *vlen = ((size_t)b[*off] << 8) | b[*off + 1];
    if (len - *off - 2 < *vlen)
        return false;
    *v = b + *off + 2;
    *off += 2 + *vlen;
    return true;
}

static void custom_dh_on_the_wire(void **state)
{
    (void)state;
    size_t dh_len;
    char *dh = cf_pki_read("dh2048.der", &dh_len);
    cf_certs chain = cf_load_chain("server-rsa");
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_chain_new(chain.v, chain.n, &sc), POLYTLS_OK);
    cf_certs_free(&chain);
    polytls_server *server = (polytls_server *)0x1;

    if (!cf_has_cap(POLYTLS_CAP_CUSTOM_DH)) {
        cf_assert_status(polytls_server_new(cf_backend, sc, (const uint8_t *)dh, dh_len, &server),
                         POLYTLS_ERR_UNSUPPORTED);
        assert_ptr_equal(server, (polytls_server *)0x1);
        polytls_server_certificates_unref(sc);
        free(dh);
        return;
    }
    if (!cf_openssl_cli()) {
        polytls_server_certificates_unref(sc);
        free(dh);
        print_message("no openssl command: cannot run a real peer\n");
        skip();
    }
    cf_assert_status(polytls_server_new(cf_backend, sc, (const uint8_t *)dh, dh_len, &server),
                     POLYTLS_OK);
    polytls_server_certificates_unref(sc);

    char ca[4096];
    snprintf(ca, sizeof ca, "%s", cf_pki_path("root.pem"));
    const char *const args[] = { "-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256",
                                 "-CAfile", ca, "-servername", "rsa.test",
                                 "-verify_hostname", "rsa.test", "-verify_return_error", NULL };
    static const char line[] = "polytls custom dh line\n"; /* not Q/R/K: s_client commands */
    cf_real_peer_result r;
    cf_real_peer_s_client(server, args, line, 20000, &r);
    polytls_server_free(server);

    /* the prime and generator the server sent, against ours */
    const uint8_t *p, *g, *wp = NULL, *wg = NULL, *wy = NULL;
    size_t p_len, g_len, wp_len = 0, wg_len = 0, wy_len = 0, ske_len = 0, off = 0;
    dh_p_g((const uint8_t *)dh, dh_len, &p, &p_len, &g, &g_len);
    uint8_t *ske = cf_tls12_handshake_message(r.server_wire, r.server_wire_len, 12, &ske_len);
    bool parsed = ske && ske_vector(ske, ske_len, &off, &wp, &wp_len) &&
                  ske_vector(ske, ske_len, &off, &wg, &wg_len) &&
                  ske_vector(ske, ske_len, &off, &wy, &wy_len);

    char why[2048] = "";
    check(why, sizeof why, r.peer_started, "openssl s_client could be started");
    check(why, sizeof why, !r.timed_out, "finished before the deadline");
    check(why, sizeof why, r.first_error == POLYTLS_OK, "every server call returned OK");
    check(why, sizeof why, r.handshake_done, "the server's handshake finished");
    check(why, sizeof why, r.version == 0x0303, "the version is 0x0303");
    check(why, sizeof why, r.cipher_id == 0x009e, "the cipher suite number is 0x009e");
    check(why, sizeof why, strcmp(r.cipher_name, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256") == 0,
          "the cipher suite is TLS_DHE_RSA_WITH_AES_128_GCM_SHA256");
    check(why, sizeof why,
          r.server_app_len == strlen(line) && memcmp(r.server_app, line, r.server_app_len) == 0,
          "the server received s_client's line");
    check(why, sizeof why, r.peer_exit == 0, "s_client exited with 0");
    check(why, sizeof why, r.peer_output && strstr(r.peer_output, "Verify return code: 0 (ok)"),
          "s_client verified the chain");
    check(why, sizeof why,
          r.peer_output && strstr(r.peer_output, "Cipher is DHE-RSA-AES128-GCM-SHA256"),
          "s_client reports DHE-RSA-AES128-GCM-SHA256");
    check(why, sizeof why, r.peer_output && strstr(r.peer_output, "Server Temp Key: DH, 2048 bits"),
          "s_client saw a 2048-bit DH server key");
    check(why, sizeof why, parsed, "a ServerKeyExchange with dh_p, dh_g, dh_Ys was on the wire");
    check(why, sizeof why, parsed && wp_len == p_len && memcmp(wp, p, p_len) == 0,
          "dh_p on the wire is the prime of dh2048.der");
    check(why, sizeof why, parsed && wg_len == g_len && memcmp(wg, g, g_len) == 0,
          "dh_g on the wire is the generator of dh2048.der");
    check(why, sizeof why, parsed && wy_len > 0 && wy_len <= p_len, "dh_Ys fits the prime");

    if (why[0]) {
        print_error("custom DH on the wire (%s), failed checks:\n%s", polytls_backend_name(cf_backend),
                    why);
        print_error("server: first error %s (%s); cipher %s 0x%04x; version 0x%04x; "
                    "dh_p on the wire %zu bytes, ours %zu\n",
                    polytls_status_name(r.first_error), r.error_message, r.cipher_name,
                    (unsigned)r.cipher_id, (unsigned)r.version, wp_len, p_len);
        print_error("s_client (exit %d):\n%s\n", r.peer_exit, r.peer_output ? r.peer_output : "");
    }
    free(ske);
    cf_real_peer_result_free(&r);
    free(dh);
    if (why[0])
        fail();
}

/* A client that offers RFC 7919 FFDHE groups and only a DHE suite. The
   parameters must be honoured or DHE refused — never replaced by another
   group (outcome 1: our prime on the wire; 0: the handshake refused; 2:
   another prime, which no row may excuse). */
static void custom_dh_ffdhe_client(void **state)
{
    (void)state;
    if (!cf_has_cap(POLYTLS_CAP_CUSTOM_DH))
        skip(); /* custom_dh_on_the_wire covers UNSUPPORTED */
    if (!cf_openssl_cli())
        skip();
    size_t dh_len;
    char *dh = cf_pki_read("dh2048.der", &dh_len);
    cf_certs chain = cf_load_chain("server-rsa");
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_chain_new(chain.v, chain.n, &sc), POLYTLS_OK);
    cf_certs_free(&chain);
    polytls_server *server = NULL;
    cf_assert_status(polytls_server_new(cf_backend, sc, (const uint8_t *)dh, dh_len, &server), POLYTLS_OK);
    polytls_server_certificates_unref(sc);
    /* TLS 1.2 from the server's side; the client offers 1.3 too, with FFDHE groups */
    cf_assert_status(polytls_server_set_versions(server, 0x0303, 0x0303), POLYTLS_OK);
    char ca[4096];
    snprintf(ca, sizeof ca, "%s", cf_pki_path("root.pem"));
    const char *const args[] = { "-cipher", "DHE-RSA-AES128-GCM-SHA256", "-groups", "ffdhe2048:P-256",
                                 "-CAfile", ca, "-servername", "rsa.test", NULL };
    static const char line[] = "ffdhe client line\n";
    cf_real_peer_result r;
    cf_real_peer_s_client(server, args, line, 20000, &r);
    polytls_server_free(server);

    const uint8_t *p, *g, *wp = NULL, *wg = NULL, *wy = NULL;
    size_t p_len, g_len, wp_len = 0, wg_len = 0, wy_len = 0, ske_len = 0, off = 0;
    dh_p_g((const uint8_t *)dh, dh_len, &p, &p_len, &g, &g_len);
    uint8_t *ske = cf_tls12_handshake_message(r.server_wire, r.server_wire_len, 12, &ske_len);
    bool parsed = ske && ske_vector(ske, ske_len, &off, &wp, &wp_len) &&
                  ske_vector(ske, ske_len, &off, &wg, &wg_len) && ske_vector(ske, ske_len, &off, &wy, &wy_len);
    long outcome = !parsed ? 0 : (wp_len == p_len && memcmp(wp, p, p_len) == 0) ? 1 : 2;
    bool refused = !r.handshake_done && r.first_error != POLYTLS_OK;
    free(ske);
    free(dh);
    if (outcome == 2 || (outcome == 0 && !refused) || r.timed_out || !r.peer_started) {
        print_error("custom DH, FFDHE client (%s): outcome %ld, handshake %s, server %s (%s)\n",
                    polytls_backend_name(cf_backend), outcome, r.handshake_done ? "done" : "not done",
                    polytls_status_name(r.first_error), r.error_message);
        cf_real_peer_result_free(&r);
        fail();
    }
    if (outcome == 1)
        assert_int_equal(r.cipher_id, 0x009e);
    cf_real_peer_result_free(&r);
    cf_check_value("caps.custom_dh_ffdhe_client", 1, outcome);
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
    CF_TEST(custom_dh_on_the_wire, "caps.custom_dh_on_the_wire"),
    CF_TEST(custom_dh_ffdhe_client, "caps.custom_dh_ffdhe_client"),
    CF_TEST(tls13_ca_names, "caps.tls13_ca_names"),
};
CF_GROUP(cf_group_capabilities, "caps", tests);
