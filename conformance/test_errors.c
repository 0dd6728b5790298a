/* errors.*: bad input from the peer. Garbage, tampered and truncated records
   give BAD_TLS_DATA with an alert on the wire and wire_close(false), then
   INVALIDATED on every call. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char http_request[] = "GET / HTTP/1.1\r\nHost: server.test\r\n\r\n";

/* Asserts the standard reaction to bad input on side `victim`: BAD_TLS_DATA,
   a message, wire_close(false), invalidated; and the alert it sent, as the
   peer received it or (no peer) as a plaintext record; -1 = none seen. */
static void expect_bad_data(cf_pair *p, int victim, const char *id, long standard)
{
    cf_side *v = &p->side[victim];
    cf_assert_conn_status(v->first_error, POLYTLS_ERR_BAD_TLS_DATA, v->conn);
    assert_true(polytls_conn_error_message(v->conn)[0] != '\0');
    cf_assert_wire_closed(v, false);
    cf_assert_all_invalidated(v->conn);
    long code = -1;
    cf_side *peer = &p->side[1 - victim];
    if (peer->conn) {
        cf_pump(p);
        cf_assert_conn_status(peer->first_error, POLYTLS_ERR_TLS_ALERT, peer->conn);
        code = cf_peer_alert_code(peer);
    } else {
        cf_wire_alert a;
        if (cf_last_plain_alert(v, &a)) {
            assert_int_equal(a.level, 2);
            code = a.code;
        }
    }
    cf_check_value(id, standard, code);
}

/* An HTTP request to a TLS server. */
static void garbage_to_server(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .no_client = true };
    cf_pair_setup(&p, &s);
    cf_deliver(&p, CF_SERVER, (const uint8_t *)http_request, strlen(http_request));
    expect_bad_data(&p, CF_SERVER, "errors.garbage_to_server", POLYTLS_ALERT_UNEXPECTED_MESSAGE);
    cf_pair_free(&p);
}

/* An HTTP answer to a TLS client. */
static void garbage_to_client(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .no_server = true };
    cf_pair_setup(&p, &s);
    static const char answer[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    cf_drop_output(CF_C(&p));
    CF_C(&p)->log_len = 0; /* scan only what comes after the ClientHello */
    cf_deliver(&p, CF_CLIENT, (const uint8_t *)answer, strlen(answer));
    expect_bad_data(&p, CF_CLIENT, "errors.garbage_to_client", POLYTLS_ALERT_UNEXPECTED_MESSAGE);
    cf_pair_free(&p);
}

/* Records the server should refuse before any handshake. */
static void bad_records_to_server(void **state)
{
    (void)state;
    static const struct {
        const char *id;
        uint8_t bytes[16];
        size_t len;
        long standard;
    } cases[] = {
        /* unknown content type 0x63 */
        { "errors.bad_record_type", { 0x63, 0x03, 0x03, 0x00, 0x02, 0x00, 0x00 }, 7,
          POLYTLS_ALERT_UNEXPECTED_MESSAGE },
        /* a record longer than 2^14 + 2048 */
        { "errors.record_overflow", { 0x16, 0x03, 0x01, 0x48, 0x01 }, 5, POLYTLS_ALERT_RECORD_OVERFLOW },
        /* application data before the handshake */
        { "errors.early_app_data", { 0x17, 0x03, 0x03, 0x00, 0x03, 0x01, 0x02, 0x03 }, 8,
          POLYTLS_ALERT_UNEXPECTED_MESSAGE },
        /* a handshake message that is not a ClientHello (ServerHello) */
        { "errors.not_client_hello", { 0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00 }, 9,
          POLYTLS_ALERT_UNEXPECTED_MESSAGE },
        /* a ClientHello whose body is too short for its own fields */
        { "errors.short_client_hello", { 0x16, 0x03, 0x01, 0x00, 0x06, 0x01, 0x00, 0x00, 0x02, 0x03, 0x03 },
          11, POLYTLS_ALERT_DECODE_ERROR },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cf_pair p;
        cf_pair_init(&p);
        cf_setup s = { .no_client = true };
        cf_pair_setup(&p, &s);
        cf_deliver(&p, CF_SERVER, cases[i].bytes, cases[i].len);
        expect_bad_data(&p, CF_SERVER, cases[i].id, cases[i].standard);
        cf_pair_free(&p);
    }
}

/* Hooks the next record a side writes: flips one byte of it or truncates it. */
typedef enum { MANGLE_FLIP, MANGLE_TRUNCATE } mangle;

static void mangle_last_record(cf_side *s, mangle how)
{
    /* the pending output is one or more records; damage the last one */
    size_t off = 0, last = 0;
    while (off + 5 <= s->out_len) {
        last = off;
        off += 5 + (((size_t)s->out[off + 3] << 8) | s->out[off + 4]);
    }
    assert_int_equal(off, s->out_len);
    size_t rlen = ((size_t)s->out[last + 3] << 8) | s->out[last + 4];
    assert_true(rlen > 20);
    if (how == MANGLE_FLIP) {
        s->out[last + 5 + rlen / 2] ^= 0x01;
    } else {
        /* one byte shorter, length field to match: the record is complete
           but its authentication tag is cut */
        rlen -= 1;
        s->out[last + 3] = (uint8_t)(rlen >> 8);
        s->out[last + 4] = (uint8_t)rlen;
        s->out_len -= 1;
    }
}

static void damaged_record(mangle how, const char *id)
{
    for (int v = 0; v < 2; v++) {
        for (int victim = 0; victim < 2; victim++) {
            char vid[128];
            snprintf(vid, sizeof vid, "%s%s", id, v ? "/tls12" : "");
            cf_pair p;
            cf_pair_init(&p);
            cf_setup s = { .client_max = v ? 0x0303 : 0 };
            cf_pair_setup(&p, &s);
            cf_handshake(&p);
            cf_side *snd = &p.side[1 - victim];
            cf_assert_status(polytls_conn_data_from_application(snd->conn,
                                                                (const uint8_t *)"attack at dawn", 14),
                             POLYTLS_OK);
            mangle_last_record(snd, how);
            size_t before = p.side[victim].app_len;
            cf_pump(&p);
            /* nothing of the damaged record reached the application */
            assert_int_equal(p.side[victim].app_len, before);
            /* the pump already delivered the victim's alert to the sender */
            cf_side *vs = &p.side[victim];
            cf_assert_conn_status(vs->first_error, POLYTLS_ERR_BAD_TLS_DATA, vs->conn);
            cf_assert_wire_closed(vs, false);
            cf_assert_all_invalidated(vs->conn);
            cf_assert_conn_status(snd->first_error, POLYTLS_ERR_TLS_ALERT, snd->conn);
            cf_check_value(vid, POLYTLS_ALERT_BAD_RECORD_MAC, cf_peer_alert_code(snd));
            cf_assert_wire_closed(snd, true);
            cf_pair_free(&p);
        }
    }
}

static void tampered(void **state)
{
    (void)state;
    damaged_record(MANGLE_FLIP, "errors.tampered");
}

static void truncated_record(void **state)
{
    (void)state;
    damaged_record(MANGLE_TRUNCATE, "errors.truncated_record");
}

/* Data decrypted before an error in the same input is still returned. */
static void data_before_error_kept(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_pair_setup(&p, NULL);
    cf_handshake(&p);
    cf_side *c = CF_C(&p);
    cf_assert_status(polytls_conn_data_from_application(c->conn, (const uint8_t *)"good", 4), POLYTLS_OK);
    size_t good_len = c->out_len;
    cf_assert_status(polytls_conn_data_from_application(c->conn, (const uint8_t *)"evil-record", 11),
                     POLYTLS_OK);
    assert_true(c->out_len > good_len);
    mangle_last_record(c, MANGLE_FLIP);
    /* one input: a good record then a tampered one */
    cf_pump(&p);
    cf_assert_conn_status(CF_S(&p)->first_error, POLYTLS_ERR_BAD_TLS_DATA, CF_S(&p)->conn);
    assert_int_equal(CF_S(&p)->app_len, 4);
    assert_memory_equal(CF_S(&p)->app, "good", 4);
    cf_pair_free(&p);
}

/* The stream ends inside a record: eof_from_wire reports the truncation. */
static void truncated_stream(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_pair_setup(&p, NULL);
    cf_handshake(&p);
    cf_side *c = CF_C(&p), *sv = CF_S(&p);
    cf_assert_status(polytls_conn_data_from_application(c->conn, (const uint8_t *)"partial", 7), POLYTLS_OK);
    assert_true(c->out_len > 10);
    cf_assert_status(cf_deliver(&p, CF_SERVER, c->out, c->out_len - 3), POLYTLS_OK);
    cf_drop_output(c);
    assert_int_equal(sv->app_len, 0);
    cf_assert_conn_status(polytls_conn_eof_from_wire(sv->conn), POLYTLS_ERR_BAD_TLS_DATA, sv->conn);
    assert_non_null(strstr(polytls_conn_error_message(sv->conn), "truncated"));
    cf_assert_wire_closed(sv, true);
    cf_assert_all_invalidated(sv->conn);
    cf_pair_free(&p);
}

/* data_from_wire returns the plaintext "also when an error is returned": a
   caller that always uses *app / *app_len must never read stale values, so
   they are written (length 0) on every status, the early refusals included. */
static void app_len_on_error(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_pair_setup(&p, NULL);
    cf_handshake(&p);
    polytls_conn *c = CF_S(&p)->conn;
    cf_assert_status(polytls_conn_eof_from_wire(c), POLYTLS_ERR_BAD_TLS_DATA);
    static const uint8_t byte = 0x17;
    const uint8_t *app = (const uint8_t *)"stale";
    size_t app_len = 99;
    cf_assert_status(polytls_conn_data_from_wire(c, &byte, 1, &app, &app_len), POLYTLS_ERR_INVALIDATED);
    assert_int_equal(app_len, 0);
    cf_pair_free(&p);
}

static const struct CMUnitTest tests[] = {
    CF_TEST(garbage_to_server, "errors.garbage_to_server"),
    CF_TEST(garbage_to_client, "errors.garbage_to_client"),
    CF_TEST(bad_records_to_server, "errors.bad_records_to_server"),
    CF_TEST(tampered, "errors.tampered"),
    CF_TEST(truncated_record, "errors.truncated_record"),
    CF_TEST(data_before_error_kept, "errors.data_before_error_kept"),
    CF_TEST(truncated_stream, "errors.truncated_stream"),
    CF_TEST(app_len_on_error, "errors.app_len_on_error"),
};
CF_GROUP(cf_group_errors, "errors", tests);
