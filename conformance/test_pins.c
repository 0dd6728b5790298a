/* pins.*: certificate pinning (SHA-256 of SubjectPublicKeyInfo), checked by
   the core after the backend's verification, the same on every backend. The
   pins come from the openssl CLI (conformance/pki/gen.sh), not from polytls. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static void load_pin(const char *name, uint8_t out[32])
{
    size_t len = 0;
    char *pin = cf_pki_read(name, &len);
    assert_int_equal(len, 32);
    memcpy(out, pin, 32);
    free(pin);
}

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

/* A pair where the client (server_side false) or the server (pinning the
   client's certificate) pins `names`; pins are set before the first start. */
static void pinned_pair(cf_pair *p, const char *const *names, size_t n, bool server_side)
{
    uint8_t pins[4][32];
    for (size_t i = 0; i < n; i++)
        load_pin(names[i], pins[i]);
    cf_pair_init(p);
    cf_certs chain = cf_load_chain("server-ec");
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_chain_new(chain.v, chain.n, &sc), POLYTLS_OK);
    cf_certs_free(&chain);
    cf_assert_status(polytls_server_new(cf_backend, sc, NULL, 0, &p->server), POLYTLS_OK);
    polytls_server_certificates_unref(sc);
    polytls_client_cert_store *store = NULL;
    if (server_side) {
        polytls_trust_store *ts = cf_load_trust("client-ca1.pem");
        cf_assert_status(polytls_server_set_client_auth(p->server, POLYTLS_CLIENT_AUTH_REQUIRED, ts, false),
                         POLYTLS_OK);
        polytls_trust_store_unref(ts);
        cf_assert_status(polytls_server_set_pins(p->server, (const uint8_t(*)[32])pins, n), POLYTLS_OK);
        polytls_client_cert_store_callbacks cb = {.size = sizeof cb,
                                                  .get_chain_for_roots = answer_client1_roots,
                                                  .get_default_chain = answer_client1};
        cf_assert_status(polytls_client_cert_store_new(&cb, NULL, &store), POLYTLS_OK);
    }
    polytls_trust_store *ts = cf_load_trust("root.pem");
    cf_assert_status(polytls_client_new(cf_backend, "server.test", ts, store, &p->client), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    polytls_client_cert_store_unref(store);
    if (!server_side)
        cf_assert_status(polytls_client_set_pins(p->client, (const uint8_t(*)[32])pins, n), POLYTLS_OK);
    cf_assert_status(cf_start_server(p, p->server), POLYTLS_OK);
    cf_assert_status(cf_start_client(p, p->client), POLYTLS_OK);
}

/* A pin on the leaf, the intermediate or the root each lets the chain in. */
static void match(void **state)
{
    (void)state;
    static const char *const each[] = {"server-ec.pin", "inter.pin", "root.pin"};
    for (size_t i = 0; i < 3; i++) {
        cf_pair p;
        const char *names[2] = {"other.pin", each[i]};
        pinned_pair(&p, names, 2, false);
        cf_handshake(&p);
        assert_int_equal(CF_C(&p)->verify_calls, 1);
        cf_send_and_check(&p, CF_CLIENT, "pinned", 6);
        cf_pair_free(&p);
    }
}

/* No pin matches: the handshake fails after verification, verify is not
   called, the server receives bad_certificate. */
static void mismatch(void **state)
{
    (void)state;
    cf_pair p;
    const char *names[2] = {"other.pin", "client1.pin"};
    pinned_pair(&p, names, 2, false);
    cf_pump(&p);
    cf_side *c = CF_C(&p), *sv = CF_S(&p);
    cf_assert_conn_status(c->first_error, POLYTLS_ERR_BAD_TLS_DATA, c->conn);
    assert_non_null(strstr(polytls_conn_error_message(c->conn), "pinned"));
    assert_int_equal(c->verify_calls, 0);
    cf_assert_all_invalidated(c->conn);
    cf_assert_conn_status(sv->first_error, POLYTLS_ERR_TLS_ALERT, sv->conn);
    assert_int_equal(cf_peer_alert_code(sv), POLYTLS_ALERT_BAD_CERTIFICATE);
    cf_pair_free(&p);
}

/* The server form pins client certificates. */
static void server_pins_client_certificates(void **state)
{
    (void)state;
    cf_pair p;
    const char *good[1] = {"client-ca1.pin"};
    pinned_pair(&p, good, 1, true);
    cf_handshake(&p);
    assert_int_equal(CF_S(&p)->verify_calls, 1);
    cf_pair_free(&p);

    const char *bad[1] = {"root.pin"};
    pinned_pair(&p, bad, 1, true);
    cf_pump(&p);
    cf_side *sv = CF_S(&p);
    cf_assert_conn_status(sv->first_error, POLYTLS_ERR_BAD_TLS_DATA, sv->conn);
    assert_int_equal(sv->verify_calls, 0);
    cf_assert_all_invalidated(sv->conn);
    cf_pair_free(&p);
}

static void arguments(void **state)
{
    (void)state;
    uint8_t pin[1][32] = {{0}};
    polytls_trust_store *ts = cf_load_trust("root.pem");
    polytls_client *c = NULL;
    cf_assert_status(polytls_client_new(cf_backend, "server.test", ts, NULL, &c), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    cf_assert_status(polytls_client_set_pins(NULL, (const uint8_t(*)[32])pin, 1), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_client_set_pins(c, NULL, 1), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_client_set_pins(c, (const uint8_t(*)[32])pin, 0), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_pins(NULL, (const uint8_t(*)[32])pin, 1), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_client_set_pins(c, (const uint8_t(*)[32])pin, 1), POLYTLS_OK);
    /* after the first start the configuration is frozen */
    cf_pair p;
    cf_pair_init(&p);
    cf_assert_status(cf_start_client(&p, c), POLYTLS_OK);
    cf_assert_status(polytls_client_set_pins(c, (const uint8_t(*)[32])pin, 1), POLYTLS_ERR_WRONG_STATE);
    polytls_conn_free(CF_C(&p)->conn);
    CF_C(&p)->conn = NULL;
    polytls_client_free(c);
    cf_pair_free(&p);
}

static const struct CMUnitTest tests[] = {
    CF_TEST(match, "pins.match"),
    CF_TEST(mismatch, "pins.mismatch"),
    CF_TEST(server_pins_client_certificates, "pins.server_pins_client_certificates"),
    CF_TEST(arguments, "pins.arguments"),
};
CF_GROUP(cf_group_pins, "pins", tests);
