/* close.*: close_notify in both directions with the wire_close values,
   polytls_conn_peer_closed, application_finished rules, and the end of the
   transport with and without close_notify.

   The rules (API.md, conn.c): a received close_notify is a clean end of the
   peer's stream. TLS 1.2 answers it at once (RFC 5246 7.2.1); TLS 1.3 lets
   the other direction stay open until the application finishes too
   (RFC 8446 6.1). Once both close_notify are sent/received the side calls
   wire_close(immediate=false). */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static void established(cf_pair *p, uint16_t version)
{
    cf_pair_init(p);
    cf_setup s = { .client_min = version, .client_max = version };
    cf_pair_setup(p, &s);
    cf_handshake(p);
}

static void close_from(int first, uint16_t version)
{
    cf_pair p;
    established(&p, version);
    cf_side *a = &p.side[first], *b = &p.side[1 - first];

    cf_assert_status(polytls_conn_data_from_application(a->conn, (const uint8_t *)"last words", 10),
                     POLYTLS_OK);
    cf_assert_status(polytls_conn_application_finished(a->conn), POLYTLS_OK);
    /* a second call is OK and does nothing */
    unsigned writes = a->writes;
    cf_assert_status(polytls_conn_application_finished(a->conn), POLYTLS_OK);
    assert_int_equal(a->writes, writes);
    cf_assert_status(polytls_conn_data_from_application(a->conn, (const uint8_t *)"x", 1),
                     POLYTLS_ERR_INVALIDATED);
    /* half closed: a still reads, and has not closed its transport */
    assert_int_equal(a->wire_closes, 0);
    assert_false(polytls_conn_invalidated(a->conn));

    /* deliver a's data and close_notify only */
    size_t n = a->out_len;
    uint8_t *bytes = cf_xmalloc(n);
    memcpy(bytes, a->out, n);
    cf_drop_output(a);
    cf_assert_status(cf_deliver(&p, 1 - first, bytes, n), POLYTLS_OK);
    free(bytes);
    assert_int_equal(b->app_len, 10);
    assert_memory_equal(b->app, "last words", 10);
    assert_true(polytls_conn_peer_closed(b->conn));
    assert_false(polytls_conn_invalidated(b->conn));
    /* after the peer's close_notify, more input is WRONG_STATE */
    const uint8_t *app;
    size_t app_len;
    static const uint8_t more = 0x17;
    cf_assert_status(polytls_conn_data_from_wire(b->conn, &more, 1, &app, &app_len),
                     POLYTLS_ERR_WRONG_STATE);

    if (version == 0x0303) {
        /* TLS 1.2: b answered at once and closed */
        cf_assert_wire_closed(b, false);
        cf_assert_status(polytls_conn_data_from_application(b->conn, (const uint8_t *)"x", 1),
                         POLYTLS_ERR_INVALIDATED);
    } else {
        /* TLS 1.3: b may still talk */
        assert_int_equal(b->wire_closes, 0);
        cf_assert_status(polytls_conn_data_from_application(b->conn, (const uint8_t *)"reply", 5),
                         POLYTLS_OK);
        cf_pump(&p);
        assert_int_equal(a->app_len, 5);
        assert_memory_equal(a->app, "reply", 5);
        cf_assert_status(polytls_conn_application_finished(b->conn), POLYTLS_OK);
        cf_assert_wire_closed(b, false);
    }
    cf_pump(&p);
    cf_assert_conn_status(a->first_error, POLYTLS_OK, a->conn);
    assert_true(polytls_conn_peer_closed(a->conn));
    cf_assert_wire_closed(a, false);
    /* the transport ends after both close_notify: a clean end */
    cf_assert_status(polytls_conn_eof_from_wire(a->conn), POLYTLS_OK);
    cf_assert_status(polytls_conn_eof_from_wire(b->conn), POLYTLS_OK);
    assert_false(polytls_conn_invalidated(a->conn));
    assert_false(polytls_conn_invalidated(b->conn));
    /* no alert other than close_notify was seen */
    polytls_alert code;
    polytls_alert_level level;
    polytls_status st = polytls_conn_peer_alert(a->conn, &code, &level);
    if (st == POLYTLS_OK)
        assert_int_equal(code, POLYTLS_ALERT_CLOSE_NOTIFY);
    else
        cf_assert_status(st, POLYTLS_ERR_WRONG_STATE);
    assert_int_equal(a->bytes_after_close, 0);
    assert_int_equal(b->bytes_after_close, 0);
    cf_pair_free(&p);
}

static void client_first_tls13(void **state)
{
    (void)state;
    close_from(CF_CLIENT, 0x0304);
}

static void server_first_tls13(void **state)
{
    (void)state;
    close_from(CF_SERVER, 0x0304);
}

static void client_first_tls12(void **state)
{
    (void)state;
    close_from(CF_CLIENT, 0x0303);
}

static void server_first_tls12(void **state)
{
    (void)state;
    close_from(CF_SERVER, 0x0303);
}

/* application_finished before the handshake ends: close_notify goes out
   after it, and the queued data before that. */
static void finished_before_handshake(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_pair_setup(&p, NULL);
    cf_assert_status(polytls_conn_data_from_application(CF_C(&p)->conn, (const uint8_t *)"early", 5),
                     POLYTLS_OK);
    cf_assert_status(polytls_conn_application_finished(CF_C(&p)->conn), POLYTLS_OK);
    cf_assert_status(polytls_conn_data_from_application(CF_C(&p)->conn, (const uint8_t *)"x", 1),
                     POLYTLS_ERR_INVALIDATED);
    cf_pump(&p);
    assert_true(polytls_conn_handshake_done(CF_S(&p)->conn));
    assert_true(polytls_conn_handshake_done(CF_C(&p)->conn));
    assert_int_equal(CF_S(&p)->app_len, 5);
    assert_memory_equal(CF_S(&p)->app, "early", 5);
    assert_true(polytls_conn_peer_closed(CF_S(&p)->conn));
    cf_pair_free(&p);
}

/* The transport ends without close_notify: truncation. */
static void eof_without_close_notify(void **state)
{
    (void)state;
    for (int side = 0; side < 2; side++) {
        cf_pair p;
        established(&p, 0);
        cf_side *s = &p.side[side];
        cf_assert_conn_status(polytls_conn_eof_from_wire(s->conn), POLYTLS_ERR_BAD_TLS_DATA, s->conn);
        assert_non_null(strstr(polytls_conn_error_message(s->conn), "truncated"));
        cf_assert_wire_closed(s, true);
        cf_assert_all_invalidated(s->conn);
        cf_pair_free(&p);
    }
    /* during the handshake too */
    cf_pair p;
    cf_pair_init(&p);
    cf_pair_setup(&p, NULL);
    cf_assert_conn_status(polytls_conn_eof_from_wire(CF_C(&p)->conn), POLYTLS_ERR_BAD_TLS_DATA,
                          CF_C(&p)->conn);
    cf_assert_wire_closed(CF_C(&p), true);
    cf_pair_free(&p);
}

/* The peer sends close_notify and closes its transport without waiting for
   the answer (common for HTTP clients): the eof after the close_notify is a
   clean end. */
static void eof_after_close_notify(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        established(&p, v ? 0x0303 : 0x0304);
        cf_assert_status(polytls_conn_application_finished(CF_C(&p)->conn), POLYTLS_OK);
        CF_C(&p)->wire_closed = true; /* the client application closed the socket */
        cf_pump(&p);
        cf_assert_conn_status(CF_S(&p)->first_error, POLYTLS_OK, CF_S(&p)->conn);
        assert_true(polytls_conn_peer_closed(CF_S(&p)->conn));
        cf_assert_conn_status(polytls_conn_eof_from_wire(CF_S(&p)->conn), POLYTLS_OK, CF_S(&p)->conn);
        assert_false(polytls_conn_invalidated(CF_S(&p)->conn));
        cf_pair_free(&p);
    }
}

static const struct CMUnitTest tests[] = {
    CF_TEST(client_first_tls13, "close.client_first_tls13"),
    CF_TEST(server_first_tls13, "close.server_first_tls13"),
    CF_TEST(client_first_tls12, "close.client_first_tls12"),
    CF_TEST(server_first_tls12, "close.server_first_tls12"),
    CF_TEST(finished_before_handshake, "close.finished_before_handshake"),
    CF_TEST(eof_without_close_notify, "close.eof_without_close_notify"),
    CF_TEST(eof_after_close_notify, "close.eof_after_close_notify"),
};
CF_GROUP(cf_group_close, "close", tests);
