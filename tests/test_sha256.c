/* Unit tests of core/sha256.c against the FIPS 180-2 example vectors, and
   against the same data fed in every split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sha256.h"

static void hex(const uint8_t d[32], char out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[64] = '\0';
}

static void expect(const char *msg, size_t len, const char *want)
{
    uint8_t d[32];
    char got[65];
    ptls_sha256_digest(msg, len, d);
    hex(d, got);
    assert_string_equal(got, want);
    /* any split gives the same digest */
    for (size_t cut = 0; cut <= len; cut += len / 7 + 1) {
        ptls_sha256 s;
        ptls_sha256_init(&s);
        ptls_sha256_update(&s, msg, cut);
        ptls_sha256_update(&s, msg + cut, len - cut);
        ptls_sha256_final(&s, d);
        hex(d, got);
        assert_string_equal(got, want);
    }
}

static void fips_vectors(void **state)
{
    (void)state;
    expect("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    expect(m, strlen(m), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void million_a(void **state)
{
    (void)state;
    char *a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    expect(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

/* Lengths around the padding boundary (55, 56, 63, 64 bytes) hash like
   their byte-at-a-time feed. */
static void padding_boundaries(void **state)
{
    (void)state;
    char buf[130];
    memset(buf, 'x', sizeof buf);
    for (size_t len = 50; len < sizeof buf; len++) {
        uint8_t one[32], bytes[32];
        ptls_sha256_digest(buf, len, one);
        ptls_sha256 s;
        ptls_sha256_init(&s);
        for (size_t i = 0; i < len; i++)
            ptls_sha256_update(&s, buf + i, 1);
        ptls_sha256_final(&s, bytes);
        assert_memory_equal(one, bytes, 32);
    }
    /* 64 'x' (one whole block, padding in a second), computed independently
       with `printf %64s | tr ' ' x | sha256sum` */
    expect(buf, 64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fips_vectors),
        cmocka_unit_test(million_a),
        cmocka_unit_test(padding_boundaries),
    };
    return cmocka_run_group_tests_name("sha256", tests, NULL, NULL);
}
