/* Unit tests of server_hostname validation and RFC 6125 pattern matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hostname.h"

static void expect_name(const char *in, const char *out, bool ip)
{
    char *norm = NULL;
    bool is_ip = !ip;
    assert_int_equal(ptls_hostname_normalise(in, &norm, &is_ip), POLYTLS_OK);
    assert_string_equal(norm, out);
    assert_int_equal(is_ip, ip);
    free(norm);
}

static void expect_bad(const char *in)
{
    char *norm = (char *)"untouched";
    bool is_ip = true;
    assert_int_equal(ptls_hostname_normalise(in, &norm, &is_ip), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_string_equal(norm, "untouched"); /* outputs written only on success */
    assert_true(polytls_last_error_message()[0] != '\0');
}

static void test_normalise_valid(void **state)
{
    (void)state;
    expect_name("www.Example.COM", "www.example.com", false);
    expect_name("example.com.", "example.com", false);
    expect_name("localhost", "localhost", false);
    expect_name("xn--bcher-kva.example", "xn--bcher-kva.example", false);
    expect_name("a-b.c0", "a-b.c0", false);
    expect_name("192.0.2.1", "192.0.2.1", true);
    expect_name("2001:DB8::1", "2001:db8::1", true);
    expect_name("::1", "::1", true);
    expect_name("::ffff:192.0.2.1", "::ffff:192.0.2.1", true);
    char label63[64 + 5];
    memset(label63, 'a', 63);
    strcpy(label63 + 63, ".com");
    expect_name(label63, label63, false);
    /* 253 bytes: 4 labels of 62 + 3 dots + ... built exactly. */
    char longest[254];
    memset(longest, 'a', 253);
    for (int i = 63; i < 253; i += 64)
        longest[i] = '.';
    longest[253] = '\0';
    expect_name(longest, longest, false);
}

static void test_normalise_invalid(void **state)
{
    (void)state;
    expect_bad("");
    expect_bad(".");
    expect_bad("example..com");
    expect_bad(".example.com");
    expect_bad("example.com..");
    expect_bad("-example.com");
    expect_bad("example-.com");
    expect_bad("exa_mple.com");
    expect_bad("exa mple.com");
    expect_bad("b\xc3\xbc" "cher.example");
    expect_bad("*.example.com");
    expect_bad("[::1]");
    expect_bad("fe80::1%eth0");
    expect_bad("1.2.3");          /* numeric last label, not an IPv4 address */
    expect_bad("256.1.1.1");
    expect_bad("01.2.3.4");       /* inet_pton refuses leading zeros */
    expect_bad("example.123");
    char label64[64 + 5];
    memset(label64, 'a', 64);
    strcpy(label64 + 64, ".com");
    expect_bad(label64);
    char too_long[256];
    memset(too_long, 'a', 254);
    for (int i = 63; i < 254; i += 64)
        too_long[i] = '.';
    too_long[254] = '\0';
    expect_bad(too_long);
    char *norm;
    bool ip;
    assert_int_equal(ptls_hostname_normalise(NULL, &norm, &ip), POLYTLS_ERR_INVALID_ARGUMENT);
}

#define M(p, h) ptls_dns_pattern_matches(p, strlen(p), h)

static void test_patterns(void **state)
{
    (void)state;
    assert_true(M("www.example.com", "www.example.com"));
    assert_true(M("WWW.Example.com", "www.example.com"));
    assert_true(M("www.example.com", "WWW.EXAMPLE.COM"));
    assert_false(M("www.example.com", "example.com"));
    assert_false(M("www.example.com", "www.example.co"));
    assert_false(M("www.example.com", "www.example.com.au"));
    /* Wildcards: whole left-most label, exactly one label. */
    assert_true(M("*.example.com", "www.example.com"));
    assert_true(M("*.example.com", "XN--ABC.example.com"));
    assert_false(M("*.example.com", "example.com"));
    assert_false(M("*.example.com", "a.b.example.com"));
    assert_false(M("*.example.com", ".example.com"));
    assert_true(M("*.com", "example.com"));
    assert_false(M("*", "localhost"));
    assert_false(M("*", "a"));
    assert_false(M("*.", "a."));
    assert_false(M("w*.example.com", "www.example.com"));
    assert_false(M("*w.example.com", "www.example.com"));
    assert_false(M("www.*.com", "www.example.com"));
    assert_false(M("*.*.com", "a.b.com"));
    assert_false(M("**.example.com", "ab.example.com"));
    /* Malformed patterns never match. */
    assert_false(M("example..com", "example..com"));
    assert_false(M("example.com.", "example.com"));
    assert_false(M(".example.com", ".example.com"));
    assert_false(M("", "example.com"));
    assert_false(ptls_dns_pattern_matches("www.example.com\0x", 17, "www.example.com"));
    assert_false(M("b\xc3\xbc" "cher.example", "b\xc3\xbc" "cher.example"));
    /* The length is honoured: the pattern is not NUL-terminated in a certificate. */
    assert_true(ptls_dns_pattern_matches("www.example.comXYZ", 15, "www.example.com"));
    /* IP literals never match DNS patterns. */
    assert_false(M("*.2.0.192", "1.2.0.192"));
    assert_false(M("192.0.2.1", "192.0.2.1"));
    assert_false(M("::1", "::1"));
    assert_false(ptls_dns_pattern_matches(NULL, 0, "a"));
    assert_false(ptls_dns_pattern_matches("a", 1, NULL));
}

static void test_ip_parse(void **state)
{
    (void)state;
    uint8_t a[16];
    size_t n = 0;
    assert_true(ptls_ip_parse("192.0.2.7", a, &n));
    assert_int_equal(n, 4);
    assert_memory_equal(a, ((uint8_t[]){192, 0, 2, 7}), 4);
    assert_true(ptls_ip_parse("2001:db8::7", a, &n));
    assert_int_equal(n, 16);
    assert_int_equal(a[0], 0x20);
    assert_int_equal(a[15], 7);
    assert_false(ptls_ip_parse("example.com", a, &n));
    assert_false(ptls_ip_parse("1.2.3", a, &n));
    assert_false(ptls_ip_parse(NULL, a, &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalise_valid),
        cmocka_unit_test(test_normalise_invalid),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_ip_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
