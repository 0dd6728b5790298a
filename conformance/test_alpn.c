/* alpn.*: ALPN (RFC 7301) offered by clients and chosen by servers, the same
   on every backend: the server's preference wins, no name in common fails
   with no_application_protocol (120), a side without ALPN negotiates none,
   and the setters validate their arguments and refuse a started
   endpoint. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

/* A NULL-terminated list of C strings, as the setters take it. */
typedef struct alpn_list {
    const uint8_t *p[9];
    size_t len[9];
    size_t n;
} alpn_list;

static alpn_list list_of(const char *const *names)
{
    alpn_list l = { .n = 0 };
    for (; names && names[l.n]; l.n++) {
        l.p[l.n] = (const uint8_t *)names[l.n];
        l.len[l.n] = strlen(names[l.n]);
    }
    return l;
}

/* Builds a pair as cf_pair_setup does (server-ec chain, root.pem, name
   server.test), sets ALPN on each side that has a list (NULL: no ALPN),
   and starts both sides. version 0: the default range. */
static void alpn_pair(cf_pair *p, uint16_t version, const char *const *client_names,
                      const char *const *server_names)
{
    cf_pair_init(p);
    cf_certs chain = cf_load_chain("server-ec");
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_chain_new(chain.v, chain.n, &sc), POLYTLS_OK);
    cf_certs_free(&chain);
    polytls_status st = polytls_server_new(cf_backend, sc, NULL, 0, &p->server);
    polytls_server_certificates_unref(sc);
    cf_assert_status(st, POLYTLS_OK);
    polytls_trust_store *ts = cf_load_trust("root.pem");
    st = polytls_client_new(cf_backend, "server.test", ts, NULL, &p->client);
    polytls_trust_store_unref(ts);
    cf_assert_status(st, POLYTLS_OK);
    if (version) {
        cf_assert_status(polytls_client_set_versions(p->client, version, version), POLYTLS_OK);
        cf_assert_status(polytls_server_set_versions(p->server, version, version), POLYTLS_OK);
    }
    if (client_names) {
        alpn_list l = list_of(client_names);
        cf_assert_status(polytls_client_set_alpn(p->client, l.p, l.len, l.n), POLYTLS_OK);
    }
    if (server_names) {
        alpn_list l = list_of(server_names);
        cf_assert_status(polytls_server_set_alpn(p->server, l.p, l.len, l.n), POLYTLS_OK);
    }
    cf_assert_status(cf_start_server(p, p->server), POLYTLS_OK);
    cf_assert_status(cf_start_client(p, p->client), POLYTLS_OK);
}

/* Both sides report `want` (NULL: none negotiated). */
static void assert_alpn(cf_pair *p, const char *want)
{
    for (int side = 0; side < 2; side++) {
        const uint8_t *proto = (const uint8_t *)"unset";
        size_t len = 99;
        cf_assert_status(polytls_conn_alpn(p->side[side].conn, &proto, &len), POLYTLS_OK);
        if (!want) {
            if (len != 0)
                cf_fail("%s: negotiated \"%.*s\" where none was expected",
                        side == CF_CLIENT ? "client" : "server", (int)len, (const char *)proto);
            continue;
        }
        if (len != strlen(want) || !proto || memcmp(proto, want, len) != 0)
            cf_fail("%s: negotiated \"%.*s\", expected \"%s\"", side == CF_CLIENT ? "client" : "server",
                    (int)len, proto ? (const char *)proto : "", want);
    }
}

static void agreed(uint16_t version)
{
    static const char *const c[] = { "spdy/3", "h2", NULL };
    static const char *const s[] = { "h2", NULL };
    cf_pair p;
    alpn_pair(&p, version, c, s);
    /* offered in the client's order, in wire format */
    assert_true(cf_contains(CF_C(&p)->log, CF_C(&p)->log_len, "\x06spdy/3\x02h2", 10));
    cf_handshake(&p);
    uint16_t v = 0;
    cf_assert_status(polytls_conn_tls_version(CF_C(&p)->conn, &v), POLYTLS_OK);
    assert_int_equal(v, version);
    assert_alpn(&p, "h2");
    cf_send_and_check(&p, CF_CLIENT, "GET / HTTP/2", 12);
    cf_pair_free(&p);
}

static void agreed_tls13(void **state)
{
    (void)state;
    agreed(0x0304);
}

static void agreed_tls12(void **state)
{
    (void)state;
    agreed(0x0303);
}

/* The client prefers http/1.1, the server h2: the server's order wins. */
static void server_preference(uint16_t version)
{
    static const char *const c[] = { "http/1.1", "h2", NULL };
    static const char *const s[] = { "h2", "http/1.1", NULL };
    cf_pair p;
    alpn_pair(&p, version, c, s);
    cf_handshake(&p);
    assert_alpn(&p, "h2");
    cf_pair_free(&p);
}

static void server_preference_tls13(void **state)
{
    (void)state;
    server_preference(0x0304);
}

static void server_preference_tls12(void **state)
{
    (void)state;
    server_preference(0x0303);
}

/* No name in common: the server refuses with no_application_protocol. */
static void no_overlap(uint16_t version)
{
    static const char *const c[] = { "h2", "spdy/3", NULL };
    static const char *const s[] = { "http/1.1", "imap", NULL };
    cf_pair p;
    alpn_pair(&p, version, c, s);
    cf_pump(&p);
    cf_side *cl = CF_C(&p), *sv = CF_S(&p);
    cf_assert_conn_status(sv->first_error, POLYTLS_ERR_BAD_TLS_DATA, sv->conn);
    cf_wire_alert a = { 0, 0 };
    assert_true(cf_last_plain_alert(sv, &a));
    assert_int_equal(a.level, 2);
    assert_int_equal(a.code, POLYTLS_ALERT_NO_APPLICATION_PROTOCOL);
    cf_assert_wire_closed(sv, false);
    cf_assert_conn_status(cl->first_error, POLYTLS_ERR_TLS_ALERT, cl->conn);
    assert_int_equal(cf_peer_alert_code(cl), POLYTLS_ALERT_NO_APPLICATION_PROTOCOL);
    cf_assert_wire_closed(cl, true);
    assert_false(polytls_conn_handshake_done(cl->conn));
    assert_false(polytls_conn_handshake_done(sv->conn));
    assert_int_equal(cl->handshake_done_calls, 0);
    assert_int_equal(sv->handshake_done_calls, 0);
    cf_assert_all_invalidated(cl->conn);
    cf_assert_all_invalidated(sv->conn);
    cf_pair_free(&p);
}

static void no_overlap_tls13(void **state)
{
    (void)state;
    no_overlap(0x0304);
}

static void no_overlap_tls12(void **state)
{
    (void)state;
    no_overlap(0x0303);
}

/* A client offering no ALPN to a server with ALPN: none, handshake OK. */
static void client_without_alpn(void **state)
{
    (void)state;
    static const char *const s[] = { "h2", "http/1.1", NULL };
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        alpn_pair(&p, v ? 0x0303 : 0x0304, NULL, s);
        cf_handshake(&p);
        assert_alpn(&p, NULL);
        cf_send_and_check(&p, CF_SERVER, "plain", 5);
        cf_pair_free(&p);
    }
}

/* A server without ALPN ignores the client's offer: none, handshake OK. */
static void server_without_alpn(void **state)
{
    (void)state;
    static const char *const c[] = { "h2", "http/1.1", NULL };
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        alpn_pair(&p, v ? 0x0303 : 0x0304, c, NULL);
        cf_handshake(&p);
        assert_alpn(&p, NULL);
        cf_pair_free(&p);
    }
}

/* Bad lists are refused before anything is kept; a good one replaces the
   previous one. */
static void arguments(void **state)
{
    (void)state;
    polytls_trust_store *ts = cf_load_trust("root.pem");
    polytls_client *c = NULL;
    cf_assert_status(polytls_client_new(cf_backend, "server.test", ts, NULL, &c), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    polytls_server *sv = NULL;
    {
        cf_certs chain = cf_load_chain("server-ec");
        polytls_server_certificates *sc = NULL;
        cf_assert_status(polytls_server_chain_new(chain.v, chain.n, &sc), POLYTLS_OK);
        cf_certs_free(&chain);
        cf_assert_status(polytls_server_new(cf_backend, sc, NULL, 0, &sv), POLYTLS_OK);
        polytls_server_certificates_unref(sc);
    }

    const uint8_t *h2[] = { (const uint8_t *)"h2" };
    const size_t h2_len[] = { 2 };
    const uint8_t *with_null[] = { (const uint8_t *)"h2", NULL };
    const size_t two_len[] = { 2, 2 };
    const size_t empty_len[] = { 0 };
    const size_t too_long_len[] = { 256 };
    static uint8_t big[256];
    const uint8_t *bigp[] = { big };

    cf_assert_status(polytls_client_set_alpn(NULL, h2, h2_len, 1), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_alpn(NULL, h2, h2_len, 1), POLYTLS_ERR_INVALID_ARGUMENT);
    for (int side = 0; side < 2; side++) {
#define SET(protos, lens, n)                                                               \
    (side == 0 ? polytls_client_set_alpn(c, (protos), (lens), (n))                         \
               : polytls_server_set_alpn(sv, (protos), (lens), (n)))
        cf_assert_status(SET(NULL, h2_len, 1), POLYTLS_ERR_INVALID_ARGUMENT);
        cf_assert_status(SET(h2, NULL, 1), POLYTLS_ERR_INVALID_ARGUMENT);
        cf_assert_status(SET(h2, h2_len, 0), POLYTLS_ERR_INVALID_ARGUMENT);
        cf_assert_status(SET(with_null, two_len, 2), POLYTLS_ERR_INVALID_ARGUMENT);
        cf_assert_status(SET(h2, empty_len, 1), POLYTLS_ERR_INVALID_ARGUMENT);
        cf_assert_status(SET(bigp, too_long_len, 1), POLYTLS_ERR_INVALID_ARGUMENT);
        /* 256 names of 255 bytes: 65536 bytes with their length bytes */
        enum { MANY = 256 };
        const uint8_t **many = cf_xmalloc(MANY * sizeof *many);
        size_t *many_len = cf_xmalloc(MANY * sizeof *many_len);
        for (size_t i = 0; i < MANY; i++) {
            many[i] = big;
            many_len[i] = 255;
        }
        cf_assert_status(SET(many, many_len, MANY), POLYTLS_ERR_INVALID_ARGUMENT);
        /* one fewer byte fits exactly: 255 names of 255 + 1 of 254 = 65535 */
        many_len[MANY - 1] = 254;
        cf_assert_status(SET(many, many_len, MANY), POLYTLS_OK);
        free(many);
        free(many_len);
        /* a later good list replaces it */
        cf_assert_status(SET(h2, h2_len, 1), POLYTLS_OK);
#undef SET
    }
    /* the failures said why */
    cf_assert_status(polytls_client_set_alpn(c, h2, empty_len, 1), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(polytls_last_error_message(), "1..255"));

    polytls_client_free(c);
    polytls_server_free(sv);
}

/* The replaced list is the one used: a client whose first list had no
   overlap but whose second does negotiates. */
static void last_list_wins(void **state)
{
    (void)state;
    static const char *const first[] = { "imap", NULL };
    static const char *const c[] = { "h2", NULL };
    static const char *const s[] = { "h2", NULL };
    cf_pair p;
    cf_pair_init(&p);
    cf_certs chain = cf_load_chain("server-ec");
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_chain_new(chain.v, chain.n, &sc), POLYTLS_OK);
    cf_certs_free(&chain);
    cf_assert_status(polytls_server_new(cf_backend, sc, NULL, 0, &p.server), POLYTLS_OK);
    polytls_server_certificates_unref(sc);
    polytls_trust_store *ts = cf_load_trust("root.pem");
    cf_assert_status(polytls_client_new(cf_backend, "server.test", ts, NULL, &p.client), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    alpn_list l1 = list_of(first), lc = list_of(c), ls = list_of(s);
    cf_assert_status(polytls_client_set_alpn(p.client, l1.p, l1.len, l1.n), POLYTLS_OK);
    cf_assert_status(polytls_client_set_alpn(p.client, lc.p, lc.len, lc.n), POLYTLS_OK);
    cf_assert_status(polytls_server_set_alpn(p.server, l1.p, l1.len, l1.n), POLYTLS_OK);
    cf_assert_status(polytls_server_set_alpn(p.server, ls.p, ls.len, ls.n), POLYTLS_OK);
    cf_assert_status(cf_start_server(&p, p.server), POLYTLS_OK);
    cf_assert_status(cf_start_client(&p, p.client), POLYTLS_OK);
    cf_handshake(&p);
    assert_alpn(&p, "h2");
    cf_pair_free(&p);
}

/* Options are frozen at the first start. */
static void after_start(void **state)
{
    (void)state;
    static const char *const c[] = { "h2", NULL };
    cf_pair p;
    alpn_pair(&p, 0, c, c);
    alpn_list l = list_of(c);
    cf_assert_status(polytls_client_set_alpn(p.client, l.p, l.len, l.n), POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(polytls_server_set_alpn(p.server, l.p, l.len, l.n), POLYTLS_ERR_WRONG_STATE);
    /* and the frozen list is still the one in use */
    cf_handshake(&p);
    assert_alpn(&p, "h2");
    cf_pair_free(&p);
}

/* Both sides get the same list. The standard: both starts succeed and
   the server's first name is negotiated. A backend that cannot express the
   list refuses the first start (of the client and of the server) with
   UNSUPPORTED rather than offering a different list; `id` names the check
   for the deviations table. */
static void same_list_both_sides(const char *id, const uint8_t *const *protos, const size_t *lens, size_t n)
{
    cf_pair p;
    cf_pair_init(&p);
    cf_certs chain = cf_load_chain("server-ec");
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_chain_new(chain.v, chain.n, &sc), POLYTLS_OK);
    cf_certs_free(&chain);
    cf_assert_status(polytls_server_new(cf_backend, sc, NULL, 0, &p.server), POLYTLS_OK);
    polytls_server_certificates_unref(sc);
    polytls_trust_store *ts = cf_load_trust("root.pem");
    cf_assert_status(polytls_client_new(cf_backend, "server.test", ts, NULL, &p.client), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    cf_assert_status(polytls_client_set_alpn(p.client, protos, lens, n), POLYTLS_OK);
    cf_assert_status(polytls_server_set_alpn(p.server, protos, lens, n), POLYTLS_OK);

    polytls_status ss = cf_start_server(&p, p.server);
    polytls_status cs = cf_start_client(&p, p.client);
    cf_check_value(id, POLYTLS_OK, ss);
    assert_int_equal(cs, ss); /* the client is refused the same way */
    if (ss == POLYTLS_OK) {
        cf_handshake(&p);
        for (int side = 0; side < 2; side++) {
            const uint8_t *proto = NULL;
            size_t got = 0;
            cf_assert_status(polytls_conn_alpn(p.side[side].conn, &proto, &got), POLYTLS_OK);
            assert_int_equal(got, lens[0]);
            assert_memory_equal(proto, protos[0], lens[0]);
        }
    } else {
        assert_null(CF_C(&p)->conn);
        assert_null(CF_S(&p)->conn);
        assert_non_null(strstr(polytls_last_error_message(), "ALPN"));
        /* nothing was kept: a second try is refused the same way */
        polytls_conn *again = NULL;
        cf_assert_status(polytls_client_start(p.client, &cf_callbacks, CF_C(&p), &again), cs);
        assert_null(again);
    }
    cf_pair_free(&p);
}

/* ',' and NUL are valid bytes in a name (wolfSSL cannot express them). */
static void comma_in_name(void **state)
{
    (void)state;
    const uint8_t *protos[] = { (const uint8_t *)"h2,http/1.1" };
    const size_t lens[] = { 11 };
    same_list_both_sides("alpn.unexpressible_name/comma", protos, lens, 1);
}

static void nul_in_name(void **state)
{
    (void)state;
    static const uint8_t name[] = { 'h', 0, '2' };
    const uint8_t *protos[] = { name };
    const size_t lens[] = { sizeof name };
    same_list_both_sides("alpn.unexpressible_name/nul", protos, lens, 1);
}

/* Names are bytes with a length: bytes outside ASCII go through intact. */
static void binary_name(void **state)
{
    (void)state;
    static const uint8_t name[] = { 0xC3, 0xA9, 0x7F, 0x01, 'x' };
    const uint8_t *protos[] = { name, (const uint8_t *)"h2" };
    const size_t lens[] = { sizeof name, 2 };
    same_list_both_sides("alpn.binary_name", protos, lens, 2);
}

/* A 31-byte name works everywhere; the longest legal one (255 bytes) is
   beyond GnuTLS's fixed arrays. */
static void long_name(void **state)
{
    (void)state;
    uint8_t name[255];
    for (size_t i = 0; i < sizeof name; i++)
        name[i] = (uint8_t)('a' + i % 26);
    const uint8_t *protos[] = { name };
    size_t lens[] = { 31 };
    same_list_both_sides("alpn.long_name/31", protos, lens, 1);
    lens[0] = 255;
    same_list_both_sides("alpn.long_name/255", protos, lens, 1);
}

/* Eight names work everywhere; nine are beyond GnuTLS's fixed arrays. */
static void many_names(void **state)
{
    (void)state;
    static const char *const names[] = { "n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", NULL };
    alpn_list l = { .n = 0 };
    for (; names[l.n]; l.n++) {
        l.p[l.n] = (const uint8_t *)names[l.n];
        l.len[l.n] = 2;
    }
    same_list_both_sides("alpn.many_names/8", l.p, l.len, 8);
    same_list_both_sides("alpn.many_names/9", l.p, l.len, 9);
}

static const struct CMUnitTest tests[] = {
    CF_TEST(agreed_tls13, "alpn.agreed_tls13"),
    CF_TEST(agreed_tls12, "alpn.agreed_tls12"),
    CF_TEST(server_preference_tls13, "alpn.server_preference_tls13"),
    CF_TEST(server_preference_tls12, "alpn.server_preference_tls12"),
    CF_TEST(no_overlap_tls13, "alpn.no_overlap_tls13"),
    CF_TEST(no_overlap_tls12, "alpn.no_overlap_tls12"),
    CF_TEST(client_without_alpn, "alpn.client_without_alpn"),
    CF_TEST(server_without_alpn, "alpn.server_without_alpn"),
    CF_TEST(arguments, "alpn.arguments"),
    CF_TEST(last_list_wins, "alpn.last_list_wins"),
    CF_TEST(after_start, "alpn.after_start"),
    CF_TEST(comma_in_name, "alpn.unexpressible_name_comma"),
    CF_TEST(nul_in_name, "alpn.unexpressible_name_nul"),
    CF_TEST(binary_name, "alpn.binary_name"),
    CF_TEST(long_name, "alpn.long_name"),
    CF_TEST(many_names, "alpn.many_names"),
};

CF_GROUP(cf_group_alpn, "alpn", tests);
