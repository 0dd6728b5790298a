/* alerts.*: send_alert level rules, when send_alert may be called, and peer
   alerts surfacing as POLYTLS_ERR_TLS_ALERT with code and level. */
#include "harness.h"

#include <string.h>

static void established(cf_pair *p, uint16_t version)
{
    cf_pair_init(p);
    cf_setup s = { .client_min = version, .client_max = version };
    cf_pair_setup(p, &s);
    cf_handshake(p);
}

/* Level rules. None of these refusals changes the connection. */
static void level_rules(void **state)
{
    (void)state;
    cf_pair p;
    /* TLS 1.3: every error alert is fatal */
    established(&p, 0x0304);
    polytls_conn *c = CF_C(&p)->conn;
    unsigned writes = CF_C(&p)->writes;
    cf_assert_status(polytls_conn_send_alert(c, POLYTLS_ALERT_HANDSHAKE_FAILURE, POLYTLS_ALERT_LEVEL_WARNING),
                     POLYTLS_ERR_INVALID_ALERT_LEVEL);
    cf_assert_status(polytls_conn_send_alert(c, POLYTLS_ALERT_BAD_CERTIFICATE, POLYTLS_ALERT_LEVEL_WARNING),
                     POLYTLS_ERR_INVALID_ALERT_LEVEL);
    cf_assert_status(polytls_conn_send_alert(c, POLYTLS_ALERT_DECODE_ERROR, POLYTLS_ALERT_LEVEL_WARNING),
                     POLYTLS_ERR_INVALID_ALERT_LEVEL);
    /* close_notify is never fatal */
    cf_assert_status(polytls_conn_send_alert(c, POLYTLS_ALERT_CLOSE_NOTIFY, POLYTLS_ALERT_LEVEL_FATAL),
                     POLYTLS_ERR_INVALID_ALERT_LEVEL);
    assert_int_equal(CF_C(&p)->writes, writes);
    assert_false(polytls_conn_invalidated(c));
    assert_true(polytls_conn_error_message(c)[0] != '\0');
    cf_send_and_check(&p, CF_CLIENT, "still fine", 10);
    cf_pair_free(&p);

    /* TLS 1.2: handshake_failure is always fatal; the certificate alerts
       have no mandated level, so DEFAULT is ambiguous */
    established(&p, 0x0303);
    c = CF_C(&p)->conn;
    writes = CF_C(&p)->writes;
    cf_assert_status(polytls_conn_send_alert(c, POLYTLS_ALERT_HANDSHAKE_FAILURE, POLYTLS_ALERT_LEVEL_WARNING),
                     POLYTLS_ERR_INVALID_ALERT_LEVEL);
    cf_assert_status(polytls_conn_send_alert(c, POLYTLS_ALERT_BAD_CERTIFICATE, POLYTLS_ALERT_LEVEL_DEFAULT),
                     POLYTLS_ERR_INVALID_ALERT_LEVEL);
    cf_assert_status(polytls_conn_send_alert(c, POLYTLS_ALERT_CERTIFICATE_EXPIRED, POLYTLS_ALERT_LEVEL_DEFAULT),
                     POLYTLS_ERR_INVALID_ALERT_LEVEL);
    cf_assert_status(polytls_conn_send_alert(c, POLYTLS_ALERT_CLOSE_NOTIFY, POLYTLS_ALERT_LEVEL_FATAL),
                     POLYTLS_ERR_INVALID_ALERT_LEVEL);
    assert_int_equal(CF_C(&p)->writes, writes);
    assert_false(polytls_conn_invalidated(c));
    cf_send_and_check(&p, CF_SERVER, "still fine", 10);
    cf_pair_free(&p);
}

/* Codes outside the registry, and levels outside the enum. */
static void bad_codes(void **state)
{
    (void)state;
    cf_pair p;
    established(&p, 0);
    polytls_conn *c = CF_C(&p)->conn;
    cf_assert_status(polytls_conn_send_alert(c, (polytls_alert)7, POLYTLS_ALERT_LEVEL_FATAL),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_conn_send_alert(c, (polytls_alert)255, POLYTLS_ALERT_LEVEL_FATAL),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_conn_send_alert(c, (polytls_alert)-1, POLYTLS_ALERT_LEVEL_FATAL),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_conn_send_alert(c, POLYTLS_ALERT_INTERNAL_ERROR, (polytls_alert_level)3),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    assert_false(polytls_conn_invalidated(c));
    cf_send_and_check(&p, CF_CLIENT, "ok", 2);
    cf_pair_free(&p);
}

/* Before the server has anything to answer: WRONG_STATE. */
static void before_start(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_setup s = { .no_client = true };
    cf_pair_setup(&p, &s);
    polytls_conn *sv = CF_S(&p)->conn;
    cf_assert_status(polytls_conn_send_alert(sv, POLYTLS_ALERT_HANDSHAKE_FAILURE, POLYTLS_ALERT_LEVEL_FATAL),
                     POLYTLS_ERR_WRONG_STATE);
    assert_int_equal(CF_S(&p)->writes, 0);
    assert_false(polytls_conn_invalidated(sv));
    /* the level check still comes first */
    cf_assert_status(polytls_conn_send_alert(sv, POLYTLS_ALERT_HANDSHAKE_FAILURE, POLYTLS_ALERT_LEVEL_WARNING),
                     POLYTLS_ERR_INVALID_ALERT_LEVEL);
    cf_pair_free(&p);
}

/* A fatal alert sent after the handshake (POLYTLS_CAP_ALERT_ANYTIME): the
   sender is invalidated and closes after delivering it; the receiver gets
   TLS_ALERT with the code and level and closes at once. Without the
   capability send_alert is UNSUPPORTED and nothing changes. */
static void peer_fatal_alert(void **state)
{
    (void)state;
    static const struct {
        polytls_alert code;
        polytls_alert_level level;
    } cases[] = {
        { POLYTLS_ALERT_INTERNAL_ERROR, POLYTLS_ALERT_LEVEL_DEFAULT },
        { POLYTLS_ALERT_ACCESS_DENIED, POLYTLS_ALERT_LEVEL_FATAL },
        { POLYTLS_ALERT_BAD_CERTIFICATE, POLYTLS_ALERT_LEVEL_FATAL },
    };
    for (int v = 0; v < 2; v++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            for (int from = 0; from < 2; from++) {
                cf_pair p;
                established(&p, v ? 0x0303 : 0x0304);
                cf_side *snd = &p.side[from], *rcv = &p.side[1 - from];
                polytls_status st = polytls_conn_send_alert(snd->conn, cases[i].code, cases[i].level);
                if (!cf_has_cap(POLYTLS_CAP_ALERT_ANYTIME)) {
                    cf_assert_status(st, POLYTLS_ERR_UNSUPPORTED);
                    assert_false(polytls_conn_invalidated(snd->conn));
                    assert_int_equal(snd->wire_closes, 0);
                    cf_send_and_check(&p, from, "unchanged", 9);
                    cf_pair_free(&p);
                    continue;
                }
                cf_assert_conn_status(st, POLYTLS_OK, snd->conn);
                assert_true(polytls_conn_invalidated(snd->conn));
                cf_assert_wire_closed(snd, false);
                assert_true(snd->out_len > 0); /* the alert waits to be delivered */
                cf_pump(&p);
                cf_assert_conn_status(rcv->first_error, POLYTLS_ERR_TLS_ALERT, rcv->conn);
                polytls_alert code;
                polytls_alert_level level;
                cf_assert_status(polytls_conn_peer_alert(rcv->conn, &code, &level), POLYTLS_OK);
                assert_int_equal(code, cases[i].code);
                assert_int_equal(level, POLYTLS_ALERT_LEVEL_FATAL);
                cf_assert_wire_closed(rcv, true);
                cf_assert_all_invalidated(rcv->conn);
                cf_assert_all_invalidated(snd->conn);
                /* TLS 1.2 after the handshake: encrypted, so not plaintext */
                cf_wire_alert a;
                assert_false(cf_last_plain_alert(snd, &a));
                cf_pair_free(&p);
            }
        }
    }
}

/* A TLS 1.2 warning alert (ALERT_ANYTIME): not an error for the receiver;
   it is reported by peer_alert with its level and the data goes on. */
static void peer_warning_tls12(void **state)
{
    (void)state;
    cf_pair p;
    established(&p, 0x0303);
    polytls_status st = polytls_conn_send_alert(CF_S(&p)->conn, POLYTLS_ALERT_UNRECOGNIZED_NAME,
                                                POLYTLS_ALERT_LEVEL_WARNING);
    if (!cf_has_cap(POLYTLS_CAP_ALERT_ANYTIME)) {
        cf_assert_status(st, POLYTLS_ERR_UNSUPPORTED);
        cf_pair_free(&p);
        return;
    }
    cf_assert_status(st, POLYTLS_OK);
    assert_false(polytls_conn_invalidated(CF_S(&p)->conn));
    assert_int_equal(CF_S(&p)->wire_closes, 0);
    cf_send_and_check(&p, CF_SERVER, "after the warning", 17);
    polytls_alert code;
    polytls_alert_level level;
    cf_assert_status(polytls_conn_peer_alert(CF_C(&p)->conn, &code, &level), POLYTLS_OK);
    assert_int_equal(code, POLYTLS_ALERT_UNRECOGNIZED_NAME);
    assert_int_equal(level, POLYTLS_ALERT_LEVEL_WARNING);
    assert_false(polytls_conn_invalidated(CF_C(&p)->conn));
    cf_send_and_check(&p, CF_CLIENT, "reply", 5);
    cf_pair_free(&p);
}

/* TLS 1.3 user_canceled (ALERT_ANYTIME): not an error for the receiver
   (RFC 8446 §6.1); it is reported as a warning and the data goes on. */
static void peer_user_canceled_tls13(void **state)
{
    (void)state;
    cf_pair p;
    established(&p, 0x0304);
    polytls_status st = polytls_conn_send_alert(CF_S(&p)->conn, POLYTLS_ALERT_USER_CANCELED,
                                                POLYTLS_ALERT_LEVEL_DEFAULT);
    if (!cf_has_cap(POLYTLS_CAP_ALERT_ANYTIME)) {
        cf_assert_status(st, POLYTLS_ERR_UNSUPPORTED);
        cf_pair_free(&p);
        return;
    }
    cf_assert_status(st, POLYTLS_OK);
    assert_false(polytls_conn_invalidated(CF_S(&p)->conn));
    cf_pump(&p);
    cf_check_value("alerts.peer_user_canceled_tls13", POLYTLS_OK, CF_C(&p)->first_error);
    if (CF_C(&p)->first_error == POLYTLS_OK) {
        polytls_alert code;
        polytls_alert_level level;
        cf_assert_status(polytls_conn_peer_alert(CF_C(&p)->conn, &code, &level), POLYTLS_OK);
        assert_int_equal(code, POLYTLS_ALERT_USER_CANCELED);
        assert_int_equal(level, POLYTLS_ALERT_LEVEL_WARNING);
        cf_send_and_check(&p, CF_SERVER, "after user_canceled", 19);
    }
    cf_pair_free(&p);
}

/* send_alert(close_notify) is application_finished. */
static void close_notify_alert(void **state)
{
    (void)state;
    cf_pair p;
    established(&p, 0);
    cf_assert_status(polytls_conn_send_alert(CF_C(&p)->conn, POLYTLS_ALERT_CLOSE_NOTIFY,
                                             POLYTLS_ALERT_LEVEL_DEFAULT),
                     POLYTLS_OK);
    cf_assert_status(polytls_conn_data_from_application(CF_C(&p)->conn, (const uint8_t *)"x", 1),
                     POLYTLS_ERR_INVALIDATED);
    cf_pump(&p);
    assert_true(polytls_conn_peer_closed(CF_S(&p)->conn));
    cf_pair_free(&p);
}

static const struct CMUnitTest tests[] = {
    CF_TEST(level_rules, "alerts.level_rules"),
    CF_TEST(bad_codes, "alerts.bad_codes"),
    CF_TEST(before_start, "alerts.before_start"),
    CF_TEST(peer_fatal_alert, "alerts.peer_fatal_alert"),
    CF_TEST(peer_warning_tls12, "alerts.peer_warning_tls12"),
    CF_TEST(peer_user_canceled_tls13, "alerts.peer_user_canceled_tls13"),
    CF_TEST(close_notify_alert, "alerts.close_notify_alert"),
};
CF_GROUP(cf_group_alerts, "alerts", tests);
