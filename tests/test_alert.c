/* Unit tests of the alert table (core/alert.c): names, registration, the
   sending level rules for TLS 1.2 / TLS 1.3 / "not negotiated yet", and the
   receiving rule. The expected table below is written out independently of
   the implementation, from the RFC text (see docs/alerts.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "alert.h"

/* W: warning only. w: warning by default, fatal allowed. F: fatal only.
   A: ambiguous (explicit level needed, both allowed). R: reserved. */
static const struct {
    int code;
    const char *name;
    char tls12;
    char tls13;
} table[] = {
    {0, "close_notify", 'W', 'W'},
    {10, "unexpected_message", 'F', 'F'},
    {20, "bad_record_mac", 'F', 'F'},
    {21, "decryption_failed_RESERVED", 'R', 'R'},
    {22, "record_overflow", 'F', 'F'},
    {30, "decompression_failure_RESERVED", 'R', 'R'},
    {40, "handshake_failure", 'F', 'F'},
    {41, "no_certificate_RESERVED", 'R', 'R'},
    {42, "bad_certificate", 'A', 'F'},
    {43, "unsupported_certificate", 'A', 'F'},
    {44, "certificate_revoked", 'A', 'F'},
    {45, "certificate_expired", 'A', 'F'},
    {46, "certificate_unknown", 'A', 'F'},
    {47, "illegal_parameter", 'F', 'F'},
    {48, "unknown_ca", 'F', 'F'},
    {49, "access_denied", 'F', 'F'},
    {50, "decode_error", 'F', 'F'},
    {51, "decrypt_error", 'F', 'F'},
    {52, "too_many_cids_requested", 'F', 'F'},
    {60, "export_restriction_RESERVED", 'R', 'R'},
    {70, "protocol_version", 'F', 'F'},
    {71, "insufficient_security", 'F', 'F'},
    {80, "internal_error", 'F', 'F'},
    {86, "inappropriate_fallback", 'F', 'F'},
    {90, "user_canceled", 'w', 'w'},
    {100, "no_renegotiation_RESERVED", 'R', 'R'},
    {109, "missing_extension", 'F', 'F'},
    {110, "unsupported_extension", 'F', 'F'},
    {111, "certificate_unobtainable_RESERVED", 'R', 'R'},
    {112, "unrecognized_name", 'A', 'F'},
    {113, "bad_certificate_status_response", 'F', 'F'},
    {114, "bad_certificate_hash_value_RESERVED", 'R', 'R'},
    {115, "unknown_psk_identity", 'A', 'F'},
    {116, "certificate_required", 'F', 'F'},
    {120, "no_application_protocol", 'F', 'F'},
};
#define N_TABLE (sizeof table / sizeof table[0])

static bool in_table(int code)
{
    for (size_t i = 0; i < N_TABLE; i++)
        if (table[i].code == code)
            return true;
    return false;
}

static void names_for_every_code(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_TABLE; i++) {
        const char *n = polytls_alert_name((polytls_alert)table[i].code);
        assert_non_null(n);
        assert_string_equal(n, table[i].name);
    }
    /* the enum's own constants, spelled out */
    assert_string_equal(polytls_alert_name(POLYTLS_ALERT_CLOSE_NOTIFY), "close_notify");
    assert_string_equal(polytls_alert_name(POLYTLS_ALERT_NO_APPLICATION_PROTOCOL), "no_application_protocol");
    assert_string_equal(polytls_alert_name(POLYTLS_ALERT_NO_RENEGOTIATION_RESERVED), "no_renegotiation_RESERVED");
}

static void unregistered_values(void **state)
{
    (void)state;
    for (int code = -300; code < 600; code++) {
        bool reg = in_table(code);
        assert_int_equal(ptls_alert_is_registered(code), reg);
        if (!reg) {
            assert_null(polytls_alert_name((polytls_alert)code));
            assert_false(ptls_alert_is_reserved(code));
        }
    }
    assert_false(ptls_alert_is_registered(1000000));
    assert_false(ptls_alert_is_registered(-2147483647 - 1));
}

static void reserved_codes(void **state)
{
    (void)state;
    int n = 0;
    for (size_t i = 0; i < N_TABLE; i++) {
        bool r = table[i].tls12 == 'R';
        assert_int_equal(ptls_alert_is_reserved(table[i].code), r);
        n += r;
    }
    assert_int_equal(n, 7);
}

/* Checks the three requested levels against rule `r` for one version. */
static void check_rule(int code, char r, uint16_t version)
{
    const polytls_alert_level levels[] = {POLYTLS_ALERT_LEVEL_DEFAULT, POLYTLS_ALERT_LEVEL_WARNING,
                                          POLYTLS_ALERT_LEVEL_FATAL};
    for (size_t i = 0; i < 3; i++) {
        polytls_alert_level out = (polytls_alert_level)77;
        polytls_status s = ptls_alert_resolve_level((polytls_alert)code, levels[i], version, &out);
        polytls_status want_s = POLYTLS_OK;
        polytls_alert_level want = levels[i];
        switch (r) {
        case 'W':
            want = POLYTLS_ALERT_LEVEL_WARNING;
            if (levels[i] == POLYTLS_ALERT_LEVEL_FATAL)
                want_s = POLYTLS_ERR_INVALID_ALERT_LEVEL;
            break;
        case 'w':
            if (levels[i] == POLYTLS_ALERT_LEVEL_DEFAULT)
                want = POLYTLS_ALERT_LEVEL_WARNING;
            break;
        case 'F':
            want = POLYTLS_ALERT_LEVEL_FATAL;
            if (levels[i] == POLYTLS_ALERT_LEVEL_WARNING)
                want_s = POLYTLS_ERR_INVALID_ALERT_LEVEL;
            break;
        case 'A':
            if (levels[i] == POLYTLS_ALERT_LEVEL_DEFAULT)
                want_s = POLYTLS_ERR_INVALID_ALERT_LEVEL;
            break;
        case 'R':
            want_s = POLYTLS_ERR_INVALID_ARGUMENT;
            break;
        default:
            fail();
        }
        if (s != want_s)
            fail_msg("code %d level %d version 0x%04x: %s, want %s", code, (int)levels[i], version,
                     polytls_status_name(s), polytls_status_name(want_s));
        if (s == POLYTLS_OK) {
            assert_int_equal(out, want);
        } else {
            assert_int_equal(out, 77); /* untouched */
            assert_true(strlen(polytls_last_error_message()) > 0);
        }
    }
}

static void levels_tls12(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_TABLE; i++)
        check_rule(table[i].code, table[i].tls12, 0x0303);
}

static void levels_tls13(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_TABLE; i++)
        check_rule(table[i].code, table[i].tls13, 0x0304);
}

/* Not negotiated yet: TLS 1.3 rules. */
static void levels_before_negotiation(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_TABLE; i++)
        check_rule(table[i].code, table[i].tls13, 0);
}

static void resolve_bad_arguments(void **state)
{
    (void)state;
    polytls_alert_level out = (polytls_alert_level)77;
    /* unregistered codes */
    const int bad_codes[] = {1, 9, 11, 53, 99, 117, 121, 200, 255, 256, -1};
    for (size_t i = 0; i < sizeof bad_codes / sizeof bad_codes[0]; i++)
        assert_int_equal(ptls_alert_resolve_level((polytls_alert)bad_codes[i], POLYTLS_ALERT_LEVEL_FATAL, 0x0304, &out),
                         POLYTLS_ERR_INVALID_ARGUMENT);
    /* bad level values */
    assert_int_equal(ptls_alert_resolve_level(POLYTLS_ALERT_INTERNAL_ERROR, (polytls_alert_level)3, 0x0303, &out),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ptls_alert_resolve_level(POLYTLS_ALERT_INTERNAL_ERROR, (polytls_alert_level)-1, 0x0304, &out),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ptls_alert_resolve_level(POLYTLS_ALERT_BAD_CERTIFICATE, (polytls_alert_level)255, 0x0303, &out),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    /* unknown versions */
    assert_int_equal(ptls_alert_resolve_level(POLYTLS_ALERT_INTERNAL_ERROR, POLYTLS_ALERT_LEVEL_FATAL, 0x0302, &out),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ptls_alert_resolve_level(POLYTLS_ALERT_INTERNAL_ERROR, POLYTLS_ALERT_LEVEL_FATAL, 0x0305, &out),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ptls_alert_resolve_level(POLYTLS_ALERT_INTERNAL_ERROR, POLYTLS_ALERT_LEVEL_FATAL, 0xfeff, &out),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(out, 77);
    /* NULL output */
    assert_int_equal(ptls_alert_resolve_level(POLYTLS_ALERT_INTERNAL_ERROR, POLYTLS_ALERT_LEVEL_FATAL, 0x0304, NULL),
                     POLYTLS_ERR_INVALID_ARGUMENT);
}

/* The messages name the alert and the version, so a user can act on them. */
static void readable_messages(void **state)
{
    (void)state;
    polytls_alert_level out;
    assert_int_equal(ptls_alert_resolve_level(POLYTLS_ALERT_BAD_CERTIFICATE, POLYTLS_ALERT_LEVEL_DEFAULT, 0x0303, &out),
                     POLYTLS_ERR_INVALID_ALERT_LEVEL);
    assert_non_null(strstr(polytls_last_error_message(), "bad_certificate"));
    assert_non_null(strstr(polytls_last_error_message(), "TLS 1.2"));
    assert_int_equal(ptls_alert_resolve_level(POLYTLS_ALERT_DECODE_ERROR, POLYTLS_ALERT_LEVEL_WARNING, 0x0304, &out),
                     POLYTLS_ERR_INVALID_ALERT_LEVEL);
    assert_non_null(strstr(polytls_last_error_message(), "decode_error"));
    assert_non_null(strstr(polytls_last_error_message(), "warning"));
    assert_non_null(strstr(polytls_last_error_message(), "TLS 1.3"));
    assert_int_equal(ptls_alert_resolve_level(POLYTLS_ALERT_NO_RENEGOTIATION_RESERVED, POLYTLS_ALERT_LEVEL_WARNING,
                                              0x0303, &out),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(polytls_last_error_message(), "reserved"));
}

static void receiving_rule(void **state)
{
    (void)state;
    const polytls_alert_level W = POLYTLS_ALERT_LEVEL_WARNING, F = POLYTLS_ALERT_LEVEL_FATAL;
    /* TLS 1.3: the level is ignored; only the two closure alerts are not errors. */
    for (int code = 0; code < 256; code++) {
        bool closure = code == 0 || code == 90;
        assert_int_equal(ptls_alert_received_is_error((polytls_alert)code, W, 0x0304), !closure);
        assert_int_equal(ptls_alert_received_is_error((polytls_alert)code, F, 0x0304), !closure);
        assert_int_equal(ptls_alert_received_is_error((polytls_alert)code, (polytls_alert_level)7, 0x0304), !closure);
    }
    /* TLS 1.2 and before negotiation: the level decides. */
    const uint16_t v12[] = {0x0303, 0};
    for (size_t v = 0; v < 2; v++) {
        for (int code = 1; code < 256; code++) {
            assert_false(ptls_alert_received_is_error((polytls_alert)code, W, v12[v]));
            assert_true(ptls_alert_received_is_error((polytls_alert)code, F, v12[v]));
            assert_true(ptls_alert_received_is_error((polytls_alert)code, (polytls_alert_level)0, v12[v]));
            assert_true(ptls_alert_received_is_error((polytls_alert)code, (polytls_alert_level)3, v12[v]));
        }
    }
    /* close_notify is the clean end, never an error */
    assert_false(ptls_alert_received_is_error(POLYTLS_ALERT_CLOSE_NOTIFY, W, 0x0303));
    assert_false(ptls_alert_received_is_error(POLYTLS_ALERT_CLOSE_NOTIFY, F, 0x0303));
    assert_false(ptls_alert_received_is_error(POLYTLS_ALERT_CLOSE_NOTIFY, F, 0x0304));
    assert_false(ptls_alert_received_is_error(POLYTLS_ALERT_CLOSE_NOTIFY, W, 0));
    /* the documented cases */
    assert_false(ptls_alert_received_is_error(POLYTLS_ALERT_USER_CANCELED, F, 0x0304));
    assert_true(ptls_alert_received_is_error(POLYTLS_ALERT_USER_CANCELED, F, 0x0303));
    assert_true(ptls_alert_received_is_error(POLYTLS_ALERT_UNRECOGNIZED_NAME, W, 0x0304));
    assert_false(ptls_alert_received_is_error(POLYTLS_ALERT_UNRECOGNIZED_NAME, W, 0x0303));
    assert_true(ptls_alert_received_is_error((polytls_alert)200, W, 0x0304)); /* unknown code */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_for_every_code),
        cmocka_unit_test(unregistered_values),
        cmocka_unit_test(reserved_codes),
        cmocka_unit_test(levels_tls12),
        cmocka_unit_test(levels_tls13),
        cmocka_unit_test(levels_before_negotiation),
        cmocka_unit_test(resolve_bad_arguments),
        cmocka_unit_test(readable_messages),
        cmocka_unit_test(receiving_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
