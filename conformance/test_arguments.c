/* arguments.*: every public call with NULL or invalid arguments returns
   INVALID_ARGUMENT (table-driven), writes no output, and leaves the objects
   it was given working. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

/* Valid objects for the cases to misuse one argument at a time. */
typedef struct ctx {
    cf_pair p;                       /* an established pair */
    polytls_conn *conn;              /* its client connection */
    cf_certs chain;                  /* server-ec chain with key */
    polytls_certificate *cert;       /* the leaf */
    polytls_trust_store *ts;
    polytls_server_certificates *sc;
    uint8_t *der;
    size_t der_len;
    char *pem;
    size_t pem_len;
    char *key_pem;
    size_t key_len;
} ctx;

static ctx X;

static void nop_select(void *u, const char *n, polytls_chain_reply *r) { (void)u; (void)n; (void)r; }
static void nop_roots(void *u, const uint8_t *const *r, const size_t *l, size_t n, polytls_chain_reply *rep)
{
    (void)u; (void)r; (void)l; (void)n; (void)rep;
}
static void nop_default(void *u, polytls_chain_reply *r) { (void)u; (void)r; }
static void nop_write(void *u, const uint8_t *d, size_t n) { (void)u; (void)d; (void)n; }
static void nop_close(void *u, bool i) { (void)u; (void)i; }

/* Output slots: each case writes into these; they must stay untouched. */
static polytls_backend *o_backend;
static polytls_certificate *o_cert;
static polytls_certificate **o_certs;
static size_t o_n;
static const uint8_t *o_bytes;
static size_t o_len;
static polytls_trust_store *o_ts;
static polytls_server_certificates *o_sc;
static polytls_client_cert_store *o_store;
static polytls_client *o_client;
static polytls_server *o_server;
static polytls_conn *o_conn;

#define POISON ((void *)0x5a5a)
static void poison(void)
{
    o_backend = POISON;
    o_cert = POISON;
    o_certs = POISON;
    o_n = 0x5a5a;
    o_bytes = POISON;
    o_len = 0x5a5a;
    o_ts = POISON;
    o_sc = POISON;
    o_store = POISON;
    o_client = POISON;
    o_server = POISON;
    o_conn = POISON;
}
static bool untouched(void)
{
    return o_backend == POISON && o_cert == POISON && o_certs == POISON && o_n == 0x5a5a &&
           o_bytes == POISON && o_len == 0x5a5a && o_ts == POISON && o_sc == POISON &&
           o_store == POISON && o_client == POISON && o_server == POISON && o_conn == POISON;
}

typedef polytls_status (*case_fn)(void);
#define CASE(name, body) static polytls_status name(void) { return body; }

/* backends */
CASE(backend_get_out, polytls_backend_get(NULL, NULL))
/* certificates */
CASE(cert_new_der_null, polytls_certificate_new(NULL, 10, NULL, 0, &o_cert))
CASE(cert_new_der_empty, polytls_certificate_new(X.der, 0, NULL, 0, &o_cert))
CASE(cert_new_key_null, polytls_certificate_new(X.der, X.der_len, NULL, 5, &o_cert))
CASE(cert_new_out, polytls_certificate_new(X.der, X.der_len, NULL, 0, NULL))
CASE(cert_der_null, polytls_certificate_der(NULL, &o_bytes, &o_len))
CASE(cert_der_ptr, polytls_certificate_der(X.cert, NULL, &o_len))
CASE(cert_der_len, polytls_certificate_der(X.cert, &o_bytes, NULL))
CASE(cert_subject_null, polytls_certificate_subject(NULL, &o_bytes, &o_len))
CASE(cert_subject_ptr, polytls_certificate_subject(X.cert, NULL, &o_len))
CASE(cert_issuer_null, polytls_certificate_issuer(NULL, &o_bytes, &o_len))
CASE(cert_issuer_len, polytls_certificate_issuer(X.cert, &o_bytes, NULL))
/* PEM factories */
CASE(pem_null, polytls_certificates_from_pem(NULL, 10, &o_certs, &o_n))
CASE(pem_out, polytls_certificates_from_pem(X.pem, X.pem_len, NULL, &o_n))
CASE(pem_n, polytls_certificates_from_pem(X.pem, X.pem_len, &o_certs, NULL))
CASE(chain_pem_null, polytls_chain_from_pem(NULL, 10, X.key_pem, X.key_len, &o_certs, &o_n))
CASE(chain_key_null, polytls_chain_from_pem(X.pem, X.pem_len, NULL, 10, &o_certs, &o_n))
CASE(chain_out, polytls_chain_from_pem(X.pem, X.pem_len, X.key_pem, X.key_len, NULL, &o_n))
CASE(chain_n, polytls_chain_from_pem(X.pem, X.pem_len, X.key_pem, X.key_len, &o_certs, NULL))
CASE(pem_file_null, polytls_certificates_from_pem_file(NULL, &o_certs, &o_n))
CASE(pem_file_out, polytls_certificates_from_pem_file("/dev/null", NULL, &o_n))
CASE(chain_files_null, polytls_chain_from_pem_files(NULL, "/dev/null", &o_certs, &o_n))
CASE(chain_files_key_null, polytls_chain_from_pem_files("/dev/null", NULL, &o_certs, &o_n))
/* trust stores */
CASE(ts_certs_null, polytls_trust_store_new(NULL, 1, &o_ts))
CASE(ts_zero, polytls_trust_store_new(&X.chain.v[1], 0, &o_ts))
CASE(ts_entry_null, polytls_trust_store_new((polytls_certificate *const[]){ X.chain.v[1], NULL }, 2, &o_ts))
CASE(ts_out, polytls_trust_store_new(&X.chain.v[1], 1, NULL))
CASE(ts_system_out, polytls_trust_store_system(NULL))
/* chain replies */
CASE(reply_null, polytls_chain_reply_send(NULL, X.chain.v, X.chain.n))
/* server certificates */
CASE(sc_cb_null, polytls_server_certificates_new(NULL, NULL, &o_sc))
CASE(sc_cb_fn_null,
     polytls_server_certificates_new(&(polytls_server_certificates_callbacks){ .size = sizeof(polytls_server_certificates_callbacks) },
                                     NULL, &o_sc))
CASE(sc_cb_size0,
     polytls_server_certificates_new(&(polytls_server_certificates_callbacks){ .size = 0, .get_chain_for_server_name = nop_select },
                                     NULL, &o_sc))
CASE(sc_out,
     polytls_server_certificates_new(&(polytls_server_certificates_callbacks){ .size = sizeof(polytls_server_certificates_callbacks), .get_chain_for_server_name = nop_select },
                                     NULL, NULL))
CASE(server_chain_null, polytls_server_chain_new(NULL, 2, &o_sc))
CASE(server_chain_zero, polytls_server_chain_new(X.chain.v, 0, &o_sc))
CASE(server_chain_entry_null, polytls_server_chain_new((polytls_certificate *const[]){ X.chain.v[0], NULL }, 2, &o_sc))
CASE(server_chain_out, polytls_server_chain_new(X.chain.v, X.chain.n, NULL))
CASE(sni_null, polytls_sni_certificates_new(NULL, 2, NULL, 0, &o_sc))
CASE(sni_default_null, polytls_sni_certificates_new(X.chain.v, X.chain.n, NULL, 2, &o_sc))
CASE(sni_out, polytls_sni_certificates_new(X.chain.v, X.chain.n, NULL, 0, NULL))
/* client certificate stores */
CASE(store_cb_null, polytls_client_cert_store_new(NULL, NULL, &o_store))
CASE(store_cb_fn_null,
     polytls_client_cert_store_new(&(polytls_client_cert_store_callbacks){ .size = sizeof(polytls_client_cert_store_callbacks), .get_chain_for_roots = nop_roots },
                                   NULL, &o_store))
CASE(store_cb_size0,
     polytls_client_cert_store_new(&(polytls_client_cert_store_callbacks){ .size = 0, .get_chain_for_roots = nop_roots, .get_default_chain = nop_default },
                                   NULL, &o_store))
CASE(store_out,
     polytls_client_cert_store_new(&(polytls_client_cert_store_callbacks){ .size = sizeof(polytls_client_cert_store_callbacks), .get_chain_for_roots = nop_roots, .get_default_chain = nop_default },
                                   NULL, NULL))
/* clients */
CASE(client_host_null, polytls_client_new(NULL, NULL, X.ts, NULL, &o_client))
CASE(client_host_empty, polytls_client_new(NULL, "", X.ts, NULL, &o_client))
CASE(client_host_space, polytls_client_new(NULL, "bad host.test", X.ts, NULL, &o_client))
CASE(client_host_dots, polytls_client_new(NULL, "a..b.test", X.ts, NULL, &o_client))
CASE(client_host_star, polytls_client_new(NULL, "*.wild.test", X.ts, NULL, &o_client))
CASE(client_host_long_label,
     polytls_client_new(NULL, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test", X.ts, NULL, &o_client))
CASE(client_host_utf8, polytls_client_new(NULL, "b\xc3\xbc" "cher.test", X.ts, NULL, &o_client))
CASE(client_out, polytls_client_new(NULL, "server.test", X.ts, NULL, NULL))
CASE(client_versions_null, polytls_client_set_versions(NULL, 0x0303, 0x0304))
CASE(client_start_null, polytls_client_start(NULL, &cf_callbacks, NULL, &o_conn))
/* servers */
CASE(server_certs_null, polytls_server_new(NULL, NULL, NULL, 0, &o_server))
CASE(server_dh_len, polytls_server_new(NULL, X.sc, NULL, 5, &o_server))
CASE(server_versions_null, polytls_server_set_versions(NULL, 0x0303, 0x0304))
CASE(server_auth_null, polytls_server_set_client_auth(NULL, POLYTLS_CLIENT_AUTH_NONE, NULL, false))
CASE(server_start_null, polytls_server_start(NULL, &cf_callbacks, NULL, &o_conn))
/* connections */
CASE(wire_null, polytls_conn_data_from_wire(NULL, (const uint8_t *)"x", 1, &o_bytes, &o_len))
CASE(wire_in_null, polytls_conn_data_from_wire(X.conn, NULL, 5, &o_bytes, &o_len))
CASE(wire_app_null, polytls_conn_data_from_wire(X.conn, (const uint8_t *)"x", 1, NULL, &o_len))
CASE(wire_len_null, polytls_conn_data_from_wire(X.conn, (const uint8_t *)"x", 1, &o_bytes, NULL))
CASE(app_null, polytls_conn_data_from_application(NULL, (const uint8_t *)"x", 1))
CASE(app_data_null, polytls_conn_data_from_application(X.conn, NULL, 5))
CASE(alert_null, polytls_conn_send_alert(NULL, POLYTLS_ALERT_INTERNAL_ERROR, POLYTLS_ALERT_LEVEL_FATAL))
CASE(alert_code, polytls_conn_send_alert(X.conn, (polytls_alert)200, POLYTLS_ALERT_LEVEL_FATAL))
CASE(alert_level, polytls_conn_send_alert(X.conn, POLYTLS_ALERT_INTERNAL_ERROR, (polytls_alert_level)9))
CASE(finished_null, polytls_conn_application_finished(NULL))
CASE(eof_null, polytls_conn_eof_from_wire(NULL))
CASE(peer_alert_null, polytls_conn_peer_alert(NULL, &(polytls_alert){ 0 }, &(polytls_alert_level){ 0 }))
CASE(peer_alert_code, polytls_conn_peer_alert(X.conn, NULL, &(polytls_alert_level){ 0 }))
CASE(peer_alert_level, polytls_conn_peer_alert(X.conn, &(polytls_alert){ 0 }, NULL))
CASE(version_null, polytls_conn_tls_version(NULL, &(uint16_t){ 0 }))
CASE(version_out, polytls_conn_tls_version(X.conn, NULL))
CASE(suite_null, polytls_conn_cipher_suite(NULL, &(const char *){ NULL }, &(uint16_t){ 0 }))
CASE(suite_both_null, polytls_conn_cipher_suite(X.conn, NULL, NULL))
CASE(session_null, polytls_conn_session_id(NULL, &o_bytes, &o_len))
CASE(session_ptr, polytls_conn_session_id(X.conn, NULL, &o_len))
CASE(session_len, polytls_conn_session_id(X.conn, &o_bytes, NULL))
CASE(alpn_null, polytls_conn_alpn(NULL, &o_bytes, &o_len))
CASE(alpn_ptr, polytls_conn_alpn(X.conn, NULL, &o_len))
CASE(name_null, polytls_conn_server_name(NULL, &(const char *){ NULL }))
CASE(name_out, polytls_conn_server_name(X.conn, NULL))
CASE(chain_null, polytls_conn_peer_chain(NULL, &(polytls_certificate *const *){ NULL }, &o_n))
CASE(chain_ptr, polytls_conn_peer_chain(X.conn, NULL, &o_n))
CASE(chain_len, polytls_conn_peer_chain(X.conn, &(polytls_certificate *const *){ NULL }, NULL))

static const struct {
    const char *name;
    case_fn fn;
} cases[] = {
#define C(n) { #n, n }
    C(backend_get_out), C(cert_new_der_null), C(cert_new_der_empty), C(cert_new_key_null),
    C(cert_new_out), C(cert_der_null), C(cert_der_ptr), C(cert_der_len), C(cert_subject_null),
    C(cert_subject_ptr), C(cert_issuer_null), C(cert_issuer_len), C(pem_null), C(pem_out), C(pem_n),
    C(chain_pem_null), C(chain_key_null), C(chain_out), C(chain_n), C(pem_file_null), C(pem_file_out),
    C(chain_files_null), C(chain_files_key_null), C(ts_certs_null), C(ts_zero), C(ts_entry_null),
    C(ts_out), C(ts_system_out), C(reply_null), C(sc_cb_null), C(sc_cb_fn_null), C(sc_cb_size0),
    C(sc_out), C(server_chain_null), C(server_chain_zero), C(server_chain_entry_null),
    C(server_chain_out), C(sni_null), C(sni_default_null), C(sni_out), C(store_cb_null),
    C(store_cb_fn_null), C(store_cb_size0), C(store_out), C(client_host_null), C(client_host_empty),
    C(client_host_space), C(client_host_dots), C(client_host_star), C(client_host_long_label),
    C(client_host_utf8), C(client_out), C(client_versions_null), C(client_start_null),
    C(server_certs_null), C(server_dh_len), C(server_versions_null), C(server_auth_null),
    C(server_start_null), C(wire_null), C(wire_in_null), C(wire_app_null), C(wire_len_null),
    C(app_null), C(app_data_null), C(alert_null), C(alert_code), C(alert_level), C(finished_null),
    C(eof_null), C(peer_alert_null), C(peer_alert_code), C(peer_alert_level), C(version_null),
    C(version_out), C(suite_null), C(suite_both_null), C(session_null), C(session_ptr),
    C(session_len), C(alpn_null), C(alpn_ptr), C(name_null), C(name_out), C(chain_null),
    C(chain_ptr), C(chain_len),
#undef C
};

static void setup_ctx(void)
{
    memset(&X, 0, sizeof X);
    cf_pair_init(&X.p);
    cf_pair_setup(&X.p, NULL);
    cf_handshake(&X.p);
    X.conn = CF_C(&X.p)->conn;
    X.chain = cf_load_chain("server-ec");
    X.cert = X.chain.v[0];
    X.ts = cf_load_trust("root.pem");
    cf_assert_status(polytls_server_chain_new(X.chain.v, X.chain.n, &X.sc), POLYTLS_OK);
    X.der = (uint8_t *)cf_pki_read("server-ec.der", &X.der_len);
    X.pem = cf_pki_read("server-ec-chain.pem", &X.pem_len);
    X.key_pem = cf_pki_read("server-ec.key", &X.key_len);
}

static void free_ctx(void)
{
    cf_pair_free(&X.p);
    cf_certs_free(&X.chain);
    polytls_trust_store_unref(X.ts);
    polytls_server_certificates_unref(X.sc);
    free(X.der);
    free(X.pem);
    free(X.key_pem);
}

static void null_and_invalid(void **state)
{
    (void)state;
    setup_ctx();
    int failures = 0;
    bool conn_calls = false; /* connection calls keep their message on the connection */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (strcmp(cases[i].name, "wire_null") == 0)
            conn_calls = true;
        poison();
        polytls_status st = cases[i].fn();
        if (st != POLYTLS_ERR_INVALID_ARGUMENT) {
            print_error("arguments.%s: %s, expected POLYTLS_ERR_INVALID_ARGUMENT\n", cases[i].name,
                        polytls_status_name(st));
            failures++;
        } else if (!conn_calls && polytls_last_error_message()[0] == '\0') {
            print_error("arguments.%s: no message in polytls_last_error_message\n", cases[i].name);
            failures++;
        }
        if (!untouched()) {
            print_error("arguments.%s: wrote an output although it failed\n", cases[i].name);
            failures++;
        }
    }
    /* the objects used are all still fine */
    assert_false(polytls_conn_invalidated(X.conn));
    cf_send_and_check(&X.p, CF_CLIENT, "still works", 11);
    cf_send_and_check(&X.p, CF_SERVER, "yes", 3);
    free_ctx();
    assert_int_equal(failures, 0);
}

/* The callbacks table given to start. */
static void start_callbacks(void **state)
{
    (void)state;
    setup_ctx();
    polytls_client *c = X.p.client;
    polytls_conn *conn = POISON;
    polytls_conn_callbacks cb = cf_callbacks;
    cf_assert_status(polytls_client_start(c, NULL, NULL, &conn), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_client_start(c, &cb, NULL, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
    cb.size = 0;
    cf_assert_status(polytls_client_start(c, &cb, NULL, &conn), POLYTLS_ERR_INVALID_ARGUMENT);
    cb.size = offsetof(polytls_conn_callbacks, wire_close); /* wire_close not covered */
    cf_assert_status(polytls_client_start(c, &cb, NULL, &conn), POLYTLS_ERR_INVALID_ARGUMENT);
    cb = cf_callbacks;
    cb.write_to_wire = NULL;
    cf_assert_status(polytls_client_start(c, &cb, NULL, &conn), POLYTLS_ERR_INVALID_ARGUMENT);
    cb = cf_callbacks;
    cb.wire_close = NULL;
    cf_assert_status(polytls_server_start(X.p.server, &cb, NULL, &conn), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(conn, POISON);
    /* the minimal table works */
    polytls_conn_callbacks minimal = { .size = offsetof(polytls_conn_callbacks, verify),
                                       .write_to_wire = nop_write, .wire_close = nop_close };
    cf_assert_status(polytls_client_start(c, &minimal, NULL, &conn), POLYTLS_OK);
    polytls_conn_free(conn);
    free_ctx();
}

/* Option values. */
static void option_values(void **state)
{
    (void)state;
    setup_ctx();
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_chain_new(X.chain.v, X.chain.n, &sc), POLYTLS_OK);
    polytls_server *s = NULL;
    cf_assert_status(polytls_server_new(cf_backend, sc, NULL, 0, &s), POLYTLS_OK);
    polytls_server_certificates_unref(sc);
    cf_assert_status(polytls_server_set_client_auth(s, (polytls_client_auth)7, X.ts, false),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_client_auth(s, POLYTLS_CLIENT_AUTH_REQUIRED, NULL, false),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_client_auth(s, POLYTLS_CLIENT_AUTH_OPTIONAL, NULL, true),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_client_auth(s, POLYTLS_CLIENT_AUTH_NONE, NULL, false), POLYTLS_OK);
    cf_assert_status(polytls_server_set_versions(s, 0x0300, 0x0304), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_versions(s, 0x0304, 0x0303), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_versions(s, 0x0303, 0x7f1c), POLYTLS_ERR_INVALID_ARGUMENT);
    polytls_server_free(s);
    /* an unknown backend name */
    polytls_backend *b = POISON;
    cf_assert_status(polytls_backend_get("no-such-backend", &b), POLYTLS_ERR_BACKEND_UNAVAILABLE);
    assert_ptr_equal(b, POISON);
    assert_true(polytls_last_error_message()[0] != '\0');
    free_ctx();
}

/* Calls that cannot fail accept NULL quietly. */
static void null_tolerant(void **state)
{
    (void)state;
    polytls_certificate_unref(NULL);
    polytls_certificates_free(NULL, 3);
    polytls_trust_store_unref(NULL);
    polytls_server_certificates_unref(NULL);
    polytls_client_cert_store_unref(NULL);
    polytls_chain_reply_cancel(NULL);
    polytls_conn_free(NULL);
    polytls_client_free(NULL);
    polytls_server_free(NULL);
    assert_false(polytls_conn_handshake_done(NULL));
    assert_false(polytls_conn_peer_closed(NULL));
    assert_false(polytls_certificate_has_private_key(NULL));
    assert_non_null(polytls_conn_error_message(NULL));
    assert_non_null(polytls_last_error_message());
    assert_non_null(polytls_status_name((polytls_status)999));
    assert_string_equal(polytls_status_name((polytls_status)999), "POLYTLS_UNKNOWN_STATUS");
    assert_string_equal(polytls_status_name(POLYTLS_ERR_INVALID_ARGUMENT), "POLYTLS_ERR_INVALID_ARGUMENT");
    for (int s = 0; s <= POLYTLS_ERR_INTERNAL; s++) {
        assert_non_null(polytls_strerror((polytls_status)s));
        assert_true(polytls_strerror((polytls_status)s)[0] != '\0');
    }
    assert_non_null(polytls_strerror((polytls_status)-1));
}

static const struct CMUnitTest tests[] = {
    CF_TEST(null_and_invalid, "arguments.null_and_invalid"),
    CF_TEST(start_callbacks, "arguments.start_callbacks"),
    CF_TEST(option_values, "arguments.option_values"),
    CF_TEST(null_tolerant, "arguments.null_tolerant"),
};
CF_GROUP(cf_group_arguments, "arguments", tests);
