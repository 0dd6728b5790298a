/* Unit tests of the strict DER reader: well-formed input, and every way of
   being hostile that the reader must refuse without reading out of bounds
   (run under ASan/valgrind to prove the latter). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "certificate.h"
#include "der.h"
#include "pem.h"

#define CHECK(bytes, expected)                                                                  \
    do {                                                                                        \
        static const uint8_t in_[] = bytes;                                                     \
        assert_int_equal(ptls_der_check_tree(in_, sizeof in_, PTLS_DER_MAX_DEPTH), (expected)); \
    } while (0)
#define B(...) {__VA_ARGS__}

static void test_well_formed(void **state)
{
    (void)state;
    CHECK(B(0x30, 0x00), POLYTLS_OK);
    CHECK(B(0x30, 0x03, 0x02, 0x01, 0x05), POLYTLS_OK);
    CHECK(B(0x30, 0x07, 0x31, 0x05, 0x05, 0x00, 0x01, 0x01, 0xff), POLYTLS_OK);
    CHECK(B(0x04, 0x81, 0x80, [3 ... 130] = 0x41), POLYTLS_OK); /* long form for 128 */
    CHECK(B(0xa3, 0x02, 0x05, 0x00), POLYTLS_OK);                 /* context tags */

    /* Cursor API: read, expect, finish. */
    static const uint8_t seq[] = {0x30, 0x06, 0x02, 0x01, 0x07, 0x01, 0x01, 0xff};
    ptls_der d, in;
    ptls_der_tlv t, i, b;
    ptls_der_init(&d, seq, sizeof seq);
    assert_int_equal(ptls_der_expect(&d, PTLS_DER_SEQUENCE, &t, "seq"), POLYTLS_OK);
    assert_int_equal(t.len, 6);
    assert_int_equal(t.tlv_len, 8);
    assert_int_equal(ptls_der_finish(&d, "top"), POLYTLS_OK);
    ptls_der_enter(&d, &t, &in);
    assert_true(ptls_der_peek(&in, PTLS_DER_INTEGER));
    assert_false(ptls_der_peek(&in, PTLS_DER_BOOLEAN));
    assert_int_equal(ptls_der_expect(&in, PTLS_DER_INTEGER, &i, "int"), POLYTLS_OK);
    assert_int_equal(i.offset, 2);
    long v;
    assert_int_equal(ptls_der_get_small_uint(&i, &v, "int"), POLYTLS_OK);
    assert_int_equal(v, 7);
    /* Wrong tag expected: refused, cursor unchanged. */
    assert_int_equal(ptls_der_expect(&in, PTLS_DER_INTEGER, &b, "int"), POLYTLS_ERR_BAD_ENCODING);
    assert_non_null(strstr(polytls_last_error_message(), "offset 5"));
    assert_int_equal(ptls_der_expect(&in, PTLS_DER_BOOLEAN, &b, "bool"), POLYTLS_OK);
    bool flag = false;
    assert_int_equal(ptls_der_get_bool(&b, &flag, "bool"), POLYTLS_OK);
    assert_true(flag);
    assert_true(ptls_der_at_end(&in));
    assert_int_equal(ptls_der_next(&in, &b), POLYTLS_ERR_BAD_ENCODING); /* nothing left */
}

static void test_truncated(void **state)
{
    (void)state;
    CHECK(B(0x30), POLYTLS_ERR_BAD_ENCODING);                   /* no length */
    CHECK(B(0x30, 0x02, 0x05), POLYTLS_ERR_BAD_ENCODING);       /* value short */
    CHECK(B(0x04, 0x82, 0x01), POLYTLS_ERR_BAD_ENCODING);       /* length octets short */
    CHECK(B(0x30, 0x03, 0x02, 0x05, 0x00), POLYTLS_ERR_BAD_ENCODING); /* inner overruns outer */
    assert_int_equal(ptls_der_check_tree(NULL, 0, 4), POLYTLS_ERR_BAD_ENCODING);
    static const uint8_t one[] = {0x05, 0x00};
    assert_int_equal(ptls_der_check_tree(one, 0, 4), POLYTLS_ERR_BAD_ENCODING);
}

static void test_lengths(void **state)
{
    (void)state;
    CHECK(B(0x30, 0x80, 0x00, 0x00), POLYTLS_ERR_BAD_ENCODING); /* indefinite */
    assert_non_null(strstr(polytls_last_error_message(), "indefinite"));
    CHECK(B(0x04, 0x81, 0x05, 1, 2, 3, 4, 5), POLYTLS_ERR_BAD_ENCODING); /* long form for < 128 */
    assert_non_null(strstr(polytls_last_error_message(), "non-minimal"));
    CHECK(B(0x04, 0x82, 0x00, 0x80, [4 ... 0x83] = 0), POLYTLS_ERR_BAD_ENCODING); /* leading zero octet */
    CHECK(B(0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00), POLYTLS_ERR_BAD_ENCODING); /* huge */
    assert_non_null(strstr(polytls_last_error_message(), "overruns"));
    CHECK(B(0x30, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00), POLYTLS_ERR_BAD_ENCODING); /* 5 length octets */
    CHECK(B(0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), POLYTLS_ERR_BAD_ENCODING);
    CHECK(B(0x30, 0xff), POLYTLS_ERR_BAD_ENCODING); /* reserved */
    CHECK(B(0x05, 0x00, 0x00), POLYTLS_ERR_BAD_ENCODING); /* trailing byte */
    CHECK(B(0x30, 0x01, 0x05), POLYTLS_ERR_BAD_ENCODING); /* child truncated inside */
}

static void test_tags_and_forms(void **state)
{
    (void)state;
    CHECK(B(0x1f, 0x81, 0x00, 0x00), POLYTLS_ERR_BAD_ENCODING); /* high tag number */
    CHECK(B(0x22, 0x03, 0x02, 0x01, 0x00), POLYTLS_ERR_BAD_ENCODING); /* constructed INTEGER */
    CHECK(B(0x23, 0x00), POLYTLS_ERR_BAD_ENCODING);             /* constructed BIT STRING */
    CHECK(B(0x10, 0x00), POLYTLS_ERR_BAD_ENCODING);             /* primitive SEQUENCE */
    CHECK(B(0x30, 0x02, 0x00, 0x00), POLYTLS_ERR_BAD_ENCODING); /* end-of-contents */
}

static void test_depth(void **state)
{
    (void)state;
    /* n nested SEQUENCEs: the innermost is empty. */
    uint8_t buf[2 * 64];
    for (unsigned n = 1; n <= 64; n++) {
        for (unsigned i = 0; i < n; i++) {
            buf[2 * i] = 0x30;
            buf[2 * i + 1] = (uint8_t)(2 * (n - 1 - i));
        }
        polytls_status s = ptls_der_check_tree(buf, 2 * n, PTLS_DER_MAX_DEPTH);
        assert_int_equal(s, n <= PTLS_DER_MAX_DEPTH ? POLYTLS_OK : POLYTLS_ERR_BAD_ENCODING);
    }
    assert_non_null(strstr(polytls_last_error_message(), "nesting"));
}

static void test_values(void **state)
{
    (void)state;
    struct {
        uint8_t bytes[6];
        size_t len;
        polytls_status bool_s, uint_s;
        long v;
    } cases[] = {
        {{0x01, 0x01, 0xff}, 3, POLYTLS_OK, POLYTLS_ERR_BAD_ENCODING, 0},
        {{0x01, 0x01, 0x01}, 3, POLYTLS_ERR_BAD_ENCODING, POLYTLS_ERR_BAD_ENCODING, 0}, /* BER true */
        {{0x01, 0x02, 0xff, 0xff}, 4, POLYTLS_ERR_BAD_ENCODING, POLYTLS_ERR_BAD_ENCODING, 0},
        {{0x02, 0x01, 0x00}, 3, POLYTLS_ERR_BAD_ENCODING, POLYTLS_OK, 0},
        {{0x02, 0x02, 0x00, 0x80}, 4, POLYTLS_ERR_BAD_ENCODING, POLYTLS_OK, 128},
        {{0x02, 0x02, 0x00, 0x01}, 4, POLYTLS_ERR_BAD_ENCODING, POLYTLS_ERR_BAD_ENCODING, 0}, /* not minimal */
        {{0x02, 0x02, 0xff, 0x80}, 4, POLYTLS_ERR_BAD_ENCODING, POLYTLS_ERR_BAD_ENCODING, 0}, /* not minimal */
        {{0x02, 0x01, 0x80}, 3, POLYTLS_ERR_BAD_ENCODING, POLYTLS_ERR_BAD_ENCODING, 0},       /* negative */
        {{0x02, 0x00}, 2, POLYTLS_ERR_BAD_ENCODING, POLYTLS_ERR_BAD_ENCODING, 0},             /* empty */
        {{0x02, 0x04, 0x7f, 0xff, 0xff, 0xff}, 6, POLYTLS_ERR_BAD_ENCODING, POLYTLS_OK, 0x7fffffffL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ptls_der d;
        ptls_der_tlv t;
        ptls_der_init(&d, cases[i].bytes, cases[i].len);
        assert_int_equal(ptls_der_next(&d, &t), POLYTLS_OK);
        bool b;
        long v = -1;
        assert_int_equal(ptls_der_get_bool(&t, &b, "b"), cases[i].bool_s);
        assert_int_equal(ptls_der_get_small_uint(&t, &v, "i"), cases[i].uint_s);
        if (cases[i].uint_s == POLYTLS_OK)
            assert_int_equal(v, cases[i].v);
    }
    static const uint8_t bits_ok[] = {0x03, 0x03, 0x00, 0xab, 0xcd};
    static const uint8_t bits_unused[] = {0x03, 0x02, 0x04, 0xa0};
    static const uint8_t bits_empty[] = {0x03, 0x00};
    ptls_der d;
    ptls_der_tlv t;
    const uint8_t *p;
    size_t n;
    ptls_der_init(&d, bits_ok, sizeof bits_ok);
    assert_int_equal(ptls_der_next(&d, &t), POLYTLS_OK);
    assert_int_equal(ptls_der_get_bit_string(&t, &p, &n, "k"), POLYTLS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(p[0], 0xab);
    ptls_der_init(&d, bits_unused, sizeof bits_unused);
    assert_int_equal(ptls_der_next(&d, &t), POLYTLS_OK);
    assert_int_equal(ptls_der_get_bit_string(&t, &p, &n, "k"), POLYTLS_ERR_BAD_ENCODING);
    ptls_der_init(&d, bits_empty, sizeof bits_empty);
    assert_int_equal(ptls_der_next(&d, &t), POLYTLS_OK);
    assert_int_equal(ptls_der_get_bit_string(&t, &p, &n, "k"), POLYTLS_ERR_BAD_ENCODING);
}

static void test_encoder_roundtrip(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 0xffffff, 0x1000000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t hdr[16];
        size_t h = ptls_der_put_header(hdr, PTLS_DER_OCTET_STRING, lens[i]);
        assert_int_equal(h + lens[i], ptls_der_tlv_size(lens[i]));
        /* Read the header back with a cursor that pretends the value is there. */
        size_t total = h + lens[i];
        uint8_t *buf = calloc(1, total);
        assert_non_null(buf);
        memcpy(buf, hdr, h);
        ptls_der d;
        ptls_der_tlv t;
        ptls_der_init(&d, buf, total);
        assert_int_equal(ptls_der_next(&d, &t), POLYTLS_OK);
        assert_int_equal(t.len, lens[i]);
        assert_true(ptls_der_at_end(&d));
        free(buf);
    }
    assert_int_equal(ptls_der_tlv_size(SIZE_MAX - 3), 0); /* overflow reported as 0 */
}

/* Every prefix and every single-byte corruption of a real certificate:
   the reader must never crash; prefixes must all be refused. */
static void test_hostile_certificate_bytes(void **state)
{
    (void)state;
    char *text;
    size_t len;
    assert_int_equal(ptls_read_file("data/leaf1.der", &text, &len), POLYTLS_OK);
    const uint8_t *der = (const uint8_t *)text;
    ptls_cert_info info;
    assert_int_equal(ptls_cert_parse(der, len, &info), POLYTLS_OK);
    for (size_t n = 0; n < len; n++)
        assert_int_equal(ptls_cert_parse(der, n, &info), POLYTLS_ERR_BAD_ENCODING);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    static const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0x81, 0x84, 0xff};
    for (size_t i = 0; i < len; i++) {
        for (size_t v = 0; v < sizeof values; v++) {
            memcpy(copy, der, len);
            copy[i] = values[v];
            polytls_status s = ptls_cert_parse(copy, len, &info);
            assert_true(s == POLYTLS_OK || s == POLYTLS_ERR_BAD_ENCODING);
            (void)ptls_der_check_tree(copy, len, PTLS_DER_MAX_DEPTH);
        }
    }
    free(copy);
    free(text);
}

/* One UTCTime (0x17) or GeneralizedTime (0x18) through ptls_der_get_time. */
static polytls_status get_time(uint8_t tag, const char *text, int64_t *out)
{
    uint8_t buf[64];
    size_t n = strlen(text);
    buf[0] = tag;
    buf[1] = (uint8_t)n;
    memcpy(buf + 2, text, n);
    ptls_der d;
    ptls_der_tlv t;
    ptls_der_init(&d, buf, n + 2);
    polytls_status s = ptls_der_next(&d, &t);
    if (s != POLYTLS_OK)
        return s;
    return ptls_der_get_time(&t, out, "time");
}

static void test_times(void **state)
{
    (void)state;
    static const struct {
        uint8_t tag;
        const char *text;
        int64_t want;
    } good[] = {
        {0x17, "700101000000Z", 0},
        {0x17, "491231235959Z", INT64_C(2524607999)},  /* YY 49 = 2049 */
        {0x17, "500101000000Z", INT64_C(-631152000)},  /* YY 50 = 1950 */
        {0x17, "000229120000Z", INT64_C(951825600)},   /* 2000 is a leap year */
        {0x18, "20300101000000Z", INT64_C(1893456000)},
        {0x18, "99991231235959Z", INT64_C(253402300799)},
        {0x18, "19691231235959Z", -1},
        {0x18, "24000229000000Z", INT64_C(13574563200)},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t t = 12345;
        assert_int_equal(get_time(good[i].tag, good[i].text, &t), POLYTLS_OK);
        assert_true(t == good[i].want);
        char text[40];
        ptls_time_text(t, text, sizeof text);
        /* the text names the same second: year and seconds checked */
        assert_int_equal(text[17], good[i].text[strlen(good[i].text) - 3]);
    }
    char text[40];
    ptls_time_text(INT64_C(253402300799), text, sizeof text);
    assert_string_equal(text, "9999-12-31 23:59:59 UTC");
    ptls_time_text(-1, text, sizeof text);
    assert_string_equal(text, "1969-12-31 23:59:59 UTC");

    static const struct {
        uint8_t tag;
        const char *text;
    } bad[] = {
        {0x17, "7001010000Z"},          /* no seconds */
        {0x17, "700101000000"},         /* no Z */
        {0x17, "700101000000+0100"},    /* offset */
        {0x18, "20300101000000.5Z"},    /* fraction */
        {0x18, "203001010000Z"},        /* too short */
        {0x17, "20300101000000Z"},      /* GeneralizedTime text in a UTCTime */
        {0x18, "300101000000Z"},        /* and the reverse */
        {0x18, "20300001000000Z"},      /* month 0 */
        {0x18, "20301301000000Z"},      /* month 13 */
        {0x18, "20300100000000Z"},      /* day 0 */
        {0x18, "20300431000000Z"},      /* April 31 */
        {0x18, "21000229000000Z"},      /* 2100 is not a leap year */
        {0x18, "20300101240000Z"},      /* hour 24 */
        {0x18, "20300101006000Z"},      /* minute 60 */
        {0x18, "20300101000060Z"},      /* no leap seconds */
        {0x18, "2030 101000000Z"},      /* not a digit */
        {0x18, "-0300101000000Z"},
        {0x02, "20300101000000Z"},      /* not a time at all */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t = 12345;
        assert_int_equal(get_time(bad[i].tag, bad[i].text, &t), POLYTLS_ERR_BAD_ENCODING);
        assert_true(t == 12345);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_well_formed),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_tags_and_forms),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_encoder_roundtrip),
        cmocka_unit_test(test_hostile_certificate_bytes),
        cmocka_unit_test(test_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
