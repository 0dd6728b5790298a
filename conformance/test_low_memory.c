/* low_memory.*: POLYTLS_CAP_LOW_MEMORY both ways. Claimed: the setters
   accept the mode before the first start, refuse it afterwards, and
   connections in that mode handshake and carry data (many records, both
   directions, idle gaps in between, TLS 1.3 and 1.2) exactly as in the
   default mode. Not claimed: asking for it is UNSUPPORTED and changes
   nothing. The memory saving itself is measured by bench/, not here. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static uint8_t *pattern(size_t n, uint32_t seed)
{
    uint8_t *b = cf_xmalloc(n);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (uint8_t)(seed >> 16);
    }
    return b;
}

/* A client and a server that are created but not started yet. */
static void build_unstarted(cf_pair *p, uint16_t max_version)
{
    cf_certs chain = cf_load_chain("server-ec");
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
}

static void start_both(cf_pair *p)
{
    cf_assert_status(cf_start_server(p, p->server), POLYTLS_OK);
    cf_assert_status(cf_start_client(p, p->client), POLYTLS_OK);
}

/* The setters' arguments and timing, whatever the backend. */
static void setter_rules(void **state)
{
    (void)state;
    cf_assert_status(polytls_client_set_low_memory(NULL, true), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_low_memory(NULL, false), POLYTLS_ERR_INVALID_ARGUMENT);

    cf_pair p;
    cf_pair_init(&p);
    build_unstarted(&p, 0x0304);
    /* off is the default and always accepted */
    cf_assert_status(polytls_client_set_low_memory(p.client, false), POLYTLS_OK);
    cf_assert_status(polytls_server_set_low_memory(p.server, false), POLYTLS_OK);
    polytls_status want_on = cf_has_cap(POLYTLS_CAP_LOW_MEMORY) ? POLYTLS_OK : POLYTLS_ERR_UNSUPPORTED;
    cf_assert_status(polytls_client_set_low_memory(p.client, true), want_on);
    cf_assert_status(polytls_server_set_low_memory(p.server, true), want_on);
    if (want_on != POLYTLS_OK)
        assert_true(strstr(polytls_last_error_message(), "low-memory") != NULL);
    start_both(&p);
    /* the configuration is frozen by the first start, whichever value */
    cf_assert_status(polytls_client_set_low_memory(p.client, false), POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(polytls_server_set_low_memory(p.server, false), POLYTLS_ERR_WRONG_STATE);
    if (want_on == POLYTLS_OK) {
        cf_assert_status(polytls_client_set_low_memory(p.client, true), POLYTLS_ERR_WRONG_STATE);
        cf_assert_status(polytls_server_set_low_memory(p.server, true), POLYTLS_ERR_WRONG_STATE);
    }
    cf_handshake(&p);
    cf_pair_free(&p);
}

/* Claimed: both sides in low-memory mode, TLS 1.3 and TLS 1.2; records of
   every size both ways, with idle moments (buffers released) in between.
   Not claimed: the refused request left the endpoints usable as they were. */
static void traffic(void **state)
{
    (void)state;
    bool claimed = cf_has_cap(POLYTLS_CAP_LOW_MEMORY);
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        cf_pair_init(&p);
        build_unstarted(&p, v ? 0x0303 : 0x0304);
        polytls_status want = claimed ? POLYTLS_OK : POLYTLS_ERR_UNSUPPORTED;
        cf_assert_status(polytls_client_set_low_memory(p.client, true), want);
        cf_assert_status(polytls_server_set_low_memory(p.server, true), want);
        start_both(&p);
        cf_handshake(&p);
        uint16_t version = 0;
        cf_assert_status(polytls_conn_tls_version(CF_C(&p)->conn, &version), POLYTLS_OK);
        assert_int_equal(version, v ? 0x0303 : 0x0304);

        static const size_t sizes[] = { 1, 64, 1024, 16384, 16385, 40000 };
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            uint8_t *data = pattern(sizes[i], (uint32_t)(i + 1));
            cf_send_and_check(&p, CF_CLIENT, data, sizes[i]);
            cf_send_and_check(&p, CF_SERVER, data, sizes[i]);
            free(data);
        }
        /* a burst of small records delivered in one input, then one byte at a time */
        uint8_t *data = pattern(64 * 50, 99);
        for (int r = 0; r < 50; r++)
            cf_assert_status(polytls_conn_data_from_application(CF_C(&p)->conn, data + 64 * r, 64),
                             POLYTLS_OK);
        size_t before = CF_S(&p)->app_len;
        cf_pump(&p);
        assert_int_equal(CF_S(&p)->app_len - before, 64 * 50);
        assert_memory_equal(CF_S(&p)->app + before, data, 64 * 50);
        p.split = CF_SPLIT_BYTES;
        cf_send_and_check(&p, CF_SERVER, data, 700);
        free(data);

        /* and the orderly close still works */
        cf_assert_status(polytls_conn_application_finished(CF_C(&p)->conn), POLYTLS_OK);
        cf_pump(&p);
        assert_true(polytls_conn_peer_closed(CF_S(&p)->conn));
        cf_assert_conn_status(CF_S(&p)->first_error, POLYTLS_OK, CF_S(&p)->conn);
        cf_pair_free(&p);
    }
}

static const struct CMUnitTest tests[] = {
    CF_TEST(setter_rules, "low_memory.setter_rules"),
    CF_TEST(traffic, "low_memory.traffic"),
};

CF_GROUP(cf_group_low_memory, "low_memory", tests);
