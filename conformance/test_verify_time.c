/* verify_time.*: polytls_client_set_verify_time / polytls_server_set_verify_time.
   The validity periods of the peer's certificates are judged at the chosen
   instant (the core re-checks every certificate of the chain there), nothing
   else changes; a certificate not valid then fails with certificate_expired.
   The PKI (conformance/pki/gen.sh): root, inter, server-ec and client1 are
   valid for ten years from the build; "future" is valid 2030-01-01 ..
   2031-01-01; "expired" 2020-01-01 .. 2021-01-01. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define T_2001 INT64_C(978307200)       /* 2001-01-01: before every notBefore */
#define T_2030_06 INT64_C(1906934400)   /* 2030-06-05: inside "future" */
#define T_2032 INT64_C(1956528000)      /* 2032-01-01: after "future" */
#define T_2100 INT64_C(4102444800)      /* 2100-01-01: after every notAfter */
#define T_MAX INT64_C(253402300799)     /* 9999-12-31 23:59:59 */

static void answer_client1(void *user, polytls_chain_reply *reply)
{
    (void)user;
    cf_certs c = cf_load_chain("client1");
    cf_assert_status(polytls_chain_reply_send(reply, c.v, c.n), POLYTLS_OK);
    cf_certs_free(&c);
}

static void answer_client1_roots(void *user, const uint8_t *const *r, const size_t *l, size_t n,
                                 polytls_chain_reply *reply)
{
    (void)r;
    (void)l;
    (void)n;
    answer_client1(user, reply);
}

typedef struct timed_setup {
    const char *chain;      /* server chain: "server-ec" by default */
    uint16_t max_version;   /* both sides; 0 = TLS 1.3 */
    bool client_timed;      /* client_time applies */
    int64_t client_time;
    bool client_auth;       /* the server requires client1 (client-ca1) */
    bool server_timed;      /* server_time applies */
    int64_t server_time;
} timed_setup;

/* Builds and starts a pair; the verification times are set before the
   first start. */
static void timed_pair(cf_pair *p, const timed_setup *t)
{
    cf_pair_init(p);
    uint16_t max = t->max_version ? t->max_version : 0x0304;
    cf_certs chain = cf_load_chain(t->chain ? t->chain : "server-ec");
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_chain_new(chain.v, chain.n, &sc), POLYTLS_OK);
    cf_certs_free(&chain);
    cf_assert_status(polytls_server_new(cf_backend, sc, NULL, 0, &p->server), POLYTLS_OK);
    polytls_server_certificates_unref(sc);
    cf_assert_status(polytls_server_set_versions(p->server, 0x0303, max), POLYTLS_OK);
    polytls_client_cert_store *store = NULL;
    if (t->client_auth) {
        polytls_trust_store *ts = cf_load_trust("client-ca1.pem");
        cf_assert_status(polytls_server_set_client_auth(p->server, POLYTLS_CLIENT_AUTH_REQUIRED, ts, false),
                         POLYTLS_OK);
        polytls_trust_store_unref(ts);
        polytls_client_cert_store_callbacks cb = {.size = sizeof cb,
                                                  .get_chain_for_roots = answer_client1_roots,
                                                  .get_default_chain = answer_client1};
        cf_assert_status(polytls_client_cert_store_new(&cb, NULL, &store), POLYTLS_OK);
    }
    if (t->server_timed)
        cf_assert_status(polytls_server_set_verify_time(p->server, t->server_time), POLYTLS_OK);
    polytls_trust_store *ts = cf_load_trust("root.pem");
    cf_assert_status(polytls_client_new(cf_backend, "server.test", ts, store, &p->client), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    polytls_client_cert_store_unref(store);
    cf_assert_status(polytls_client_set_versions(p->client, 0x0303, max), POLYTLS_OK);
    if (t->client_timed)
        cf_assert_status(polytls_client_set_verify_time(p->client, t->client_time), POLYTLS_OK);
    cf_assert_status(cf_start_server(p, p->server), POLYTLS_OK);
    cf_assert_status(cf_start_client(p, p->client), POLYTLS_OK);
}

static const char *version_suffix(int v)
{
    return v ? "/tls12" : "";
}

/* The verifying side (CF_CLIENT or CF_SERVER) refuses the peer's chain:
   BAD_TLS_DATA without calling the verify callback, everything
   invalidated, certificate_expired received by the peer. When `timed` is
   set the verification time was the reason, and the message says so: the
   core's words ("... expired at the verification time ...: valid from ...
   to ...") or the library's when it applies the time itself (OpenSSL:
   "certificate has expired", "certificate is not yet valid"). */
static void expect_expired(cf_pair *p, int verifier, const char *id, bool timed)
{
    cf_pump(p);
    cf_side *me = &p->side[verifier], *peer = &p->side[1 - verifier];
    cf_assert_conn_status(me->first_error, POLYTLS_ERR_BAD_TLS_DATA, me->conn);
    assert_int_equal(me->verify_calls, 0);
    assert_int_equal(me->handshake_done_calls, 0);
    const char *msg = polytls_conn_error_message(me->conn);
    if (timed) {
        if (!strstr(msg, "expired") && !strstr(msg, "not yet valid"))
            cf_fail("[%s] the message does not say the certificate is out of its validity period: %s", id,
                    msg);
        if (strstr(msg, "verification time") && (!strstr(msg, "CN=") || !strstr(msg, "valid from")))
            cf_fail("[%s] the core's message does not name the certificate and the dates: %s", id, msg);
    } else {
        assert_true(msg[0] != '\0');
    }
    cf_assert_all_invalidated(me->conn);
    cf_assert_conn_status(peer->first_error, POLYTLS_ERR_TLS_ALERT, peer->conn);
    cf_check_value(id, POLYTLS_ALERT_CERTIFICATE_EXPIRED, cf_peer_alert_code(peer));
}

/* (a) A chain valid now fails at a time after its notAfter, and at a time
   before its notBefore. */
static void valid_chain_outside_time(void **state)
{
    (void)state;
    static const int64_t times[2] = {T_2100, T_2001};
    for (int v = 0; v < 2; v++)
        for (int k = 0; k < 2; k++) {
            /* one check id for the four cases: a backend differs in all or none */
            const char *id = "verify_time.valid_chain_outside_time";
            cf_pair p;
            timed_setup t = {.max_version = v ? 0x0303 : 0, .client_timed = true, .client_time = times[k]};
            timed_pair(&p, &t);
            expect_expired(&p, CF_CLIENT, id, true);
            cf_pair_free(&p);
        }
}

/* (b) A chain not valid now ("future") is accepted at a time inside its
   validity period; the verify callback then sees it as usual. */
static void future_chain_inside_time(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        timed_setup t = {.chain = "future", .max_version = v ? 0x0303 : 0, .client_timed = true,
                         .client_time = T_2030_06};
        timed_pair(&p, &t);
        cf_handshake(&p);
        assert_int_equal(CF_C(&p)->verify_calls, 1);
        assert_int_equal(CF_C(&p)->verify_n, 3);
        cf_assert_der_is(CF_C(&p)->verify_der[0], CF_C(&p)->verify_der_len[0], "future");
        cf_send_and_check(&p, CF_CLIENT, "in 2030", 7);
        cf_pair_free(&p);
    }
}

/* The same future chain at a time after its notAfter (but inside the CA's
   period) fails: only the leaf is out of its period. */
static void future_chain_after_time(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        const char *id = "verify_time.future_chain_after_time";
        cf_pair p;
        timed_setup t = {.chain = "future", .max_version = v ? 0x0303 : 0, .client_timed = true,
                         .client_time = T_2032};
        timed_pair(&p, &t);
        expect_expired(&p, CF_CLIENT, id, true);
        cf_pair_free(&p);
    }
}

/* (c) Without the option, the future and the expired leaves fail as before
   (judged at the current time). */
static void without_option(void **state)
{
    (void)state;
    static const char *const chains[2] = {"future", "expired"};
    for (int v = 0; v < 2; v++)
        for (int k = 0; k < 2; k++) {
            char id[96];
            snprintf(id, sizeof id, "verify_time.without_option/%s%s", chains[k], version_suffix(v));
            cf_pair p;
            timed_setup t = {.chain = chains[k], .max_version = v ? 0x0303 : 0};
            timed_pair(&p, &t);
            expect_expired(&p, CF_CLIENT, id, false);
            cf_pair_free(&p);
        }
}

/* The current time, set explicitly, changes nothing for a valid chain. */
static void now_is_like_default(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        timed_setup t = {.max_version = v ? 0x0303 : 0, .client_timed = true, .client_time = (int64_t)time(NULL)};
        timed_pair(&p, &t);
        cf_handshake(&p);
        assert_int_equal(CF_C(&p)->verify_calls, 1);
        cf_pair_free(&p);
    }
}

/* (e) The server form judges the client's certificate: accepted now,
   refused after its notAfter (the client receives certificate_expired). */
static void server_checks_client_certificates(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        timed_setup ok = {.max_version = v ? 0x0303 : 0, .client_auth = true, .server_timed = true,
                          .server_time = (int64_t)time(NULL)};
        timed_pair(&p, &ok);
        cf_handshake(&p);
        assert_int_equal(CF_S(&p)->verify_calls, 1);
        cf_pair_free(&p);

        const char *id = "verify_time.server_checks_client_certificates";
        timed_setup late = {.max_version = v ? 0x0303 : 0, .client_auth = true, .server_timed = true,
                            .server_time = T_2100};
        timed_pair(&p, &late);
        expect_expired(&p, CF_SERVER, id, true);
        /* the client's own verification (no option) accepted the server */
        assert_int_equal(CF_C(&p)->verify_calls, 1);
        cf_pair_free(&p);
    }
}

/* (d) Range, NULL, and the frozen configuration after the first start. */
static void arguments(void **state)
{
    (void)state;
    polytls_trust_store *ts = cf_load_trust("root.pem");
    polytls_client *c = NULL;
    cf_assert_status(polytls_client_new(cf_backend, "server.test", ts, NULL, &c), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    cf_certs chain = cf_load_chain("server-ec");
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_chain_new(chain.v, chain.n, &sc), POLYTLS_OK);
    cf_certs_free(&chain);
    polytls_server *s = NULL;
    cf_assert_status(polytls_server_new(cf_backend, sc, NULL, 0, &s), POLYTLS_OK);
    polytls_server_certificates_unref(sc);

    cf_assert_status(polytls_client_set_verify_time(NULL, 0), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_verify_time(NULL, 0), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_client_set_verify_time(c, -1), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(polytls_last_error_message(), "-1"));
    cf_assert_status(polytls_client_set_verify_time(c, T_MAX + 1), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_client_set_verify_time(c, INT64_MIN), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_verify_time(s, INT64_MAX), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_client_set_verify_time(c, 0), POLYTLS_OK);
    cf_assert_status(polytls_client_set_verify_time(c, T_MAX), POLYTLS_OK);
    cf_assert_status(polytls_server_set_verify_time(s, 0), POLYTLS_OK);
    cf_assert_status(polytls_server_set_verify_time(s, T_MAX), POLYTLS_OK);
    /* the last valid call wins */
    cf_assert_status(polytls_client_set_verify_time(c, (int64_t)time(NULL)), POLYTLS_OK);
    cf_assert_status(polytls_server_set_verify_time(s, (int64_t)time(NULL)), POLYTLS_OK);

    cf_pair p;
    cf_pair_init(&p);
    cf_assert_status(cf_start_server(&p, s), POLYTLS_OK);
    cf_assert_status(cf_start_client(&p, c), POLYTLS_OK);
    cf_assert_status(polytls_client_set_verify_time(c, 0), POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(polytls_server_set_verify_time(s, 0), POLYTLS_ERR_WRONG_STATE);
    /* a refused call changed nothing: the handshake runs at the current time */
    p.client = c;
    p.server = s;
    cf_handshake(&p);
    cf_pair_free(&p);
}

static const struct CMUnitTest tests[] = {
    CF_TEST(valid_chain_outside_time, "verify_time.valid_chain_outside_time"),
    CF_TEST(future_chain_inside_time, "verify_time.future_chain_inside_time"),
    CF_TEST(future_chain_after_time, "verify_time.future_chain_after_time"),
    CF_TEST(without_option, "verify_time.without_option"),
    CF_TEST(now_is_like_default, "verify_time.now_is_like_default"),
    CF_TEST(server_checks_client_certificates, "verify_time.server_checks_client_certificates"),
    CF_TEST(arguments, "verify_time.arguments"),
};
CF_GROUP(cf_group_verify_time, "verify_time", tests);
