/* Unit tests of private key import: the three formats, normalisation to
   PKCS#8 (compared byte for byte with what OpenSSL writes), the
   key/certificate match and the refusals. */
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
#include "private_key.h"

/* The DER of the first PEM block of a file. */
static uint8_t *pem_der(const char *path, size_t *len)
{
    char *text;
    size_t text_len;
    assert_int_equal(ptls_read_file(path, &text, &text_len), POLYTLS_OK);
    ptls_pem_reader r;
    ptls_pem_block b;
    bool done;
    ptls_pem_reader_init(&r, text, text_len, false);
    assert_int_equal(ptls_pem_next(&r, &b, &done), POLYTLS_OK);
    assert_false(done);
    free(text);
    *len = b.der_len;
    return b.der;
}

static polytls_certificate *cert_with_key(const char *cert_path, const uint8_t *key, size_t key_len,
                                          polytls_status expected)
{
    size_t der_len;
    uint8_t *der = pem_der(cert_path, &der_len);
    polytls_certificate *c = NULL;
    assert_int_equal(polytls_certificate_new(der, der_len, key, key_len, &c), expected);
    free(der);
    return c;
}

static void expect_key(const char *cert_path, const char *key_path, const char *expected_pkcs8_path,
                       bool checked)
{
    size_t key_len, want_len, got_len;
    uint8_t *key = pem_der(key_path, &key_len);
    uint8_t *want = pem_der(expected_pkcs8_path, &want_len);
    polytls_certificate *c = cert_with_key(cert_path, key, key_len, POLYTLS_OK);
    assert_true(polytls_certificate_has_private_key(c));
    const uint8_t *got = ptls_certificate_key(c, &got_len);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
    assert_int_equal(ptls_certificate_key_checked(c), checked);
    polytls_certificate_unref(c);
    free(key);
    free(want);
}

static void test_formats_normalised(void **state)
{
    (void)state;
    /* PKCS#8 stays as it is; PKCS#1 and SEC1 become exactly the PKCS#8
       that OpenSSL writes for the same key. */
    expect_key("data/leaf1.pem", "data/leaf1.key", "data/leaf1.key", true);
    expect_key("data/leaf1.pem", "data/leaf1.rsa.key", "data/leaf1.key", true);
    expect_key("data/leafec.pem", "data/leafec.key", "data/leafec.key", true);
    expect_key("data/leafec.pem", "data/leafec.sec1.key", "data/leafec.key", true);
    /* No public point in the key: accepted, not checked by the core. */
    size_t len;
    uint8_t *nopub = pem_der("data/leafec.nopub.key", &len);
    polytls_certificate *c = cert_with_key("data/leafec.pem", nopub, len, POLYTLS_OK);
    assert_false(ptls_certificate_key_checked(c));
    size_t k_len;
    const uint8_t *k = ptls_certificate_key(c, &k_len);
    assert_int_equal(ptls_der_check_tree(k, k_len, PTLS_DER_MAX_DEPTH), POLYTLS_OK);
    size_t hdr = k[1] < 0x80 ? 2 : 2 + (k[1] & 0x7f);
    assert_int_equal(k[0], 0x30);
    assert_memory_equal(k + hdr, ((const uint8_t[]){0x02, 0x01, 0x00, 0x30}), 4); /* PrivateKeyInfo v0 */
    polytls_certificate_unref(c);
    free(nopub);
    /* Ed25519: no public key in the file, so the backend checks it. */
    expect_key("data/leafed.pem", "data/leafed.key", "data/leafed.key", false);
    /* A certificate without a key reports "checked". */
    size_t der_len;
    uint8_t *der = pem_der("data/leaf1.pem", &der_len);
    assert_int_equal(polytls_certificate_new(der, der_len, NULL, 0, &c), POLYTLS_OK);
    assert_null(ptls_certificate_key(c, &k_len));
    assert_int_equal(k_len, 0);
    assert_true(ptls_certificate_key_checked(c));
    polytls_certificate_unref(c);
    free(der);
}

/* SEC1 without its parameters: the curve is taken from the certificate. */
static void test_sec1_without_curve(void **state)
{
    (void)state;
    size_t len;
    uint8_t *sec1 = pem_der("data/leafec.sec1.key", &len);
    /* Rebuild SEQUENCE { version, privateKey, [1] publicKey } without [0]. */
    ptls_der d, k;
    ptls_der_tlv seq, ver, priv, params, pub;
    ptls_der_init(&d, sec1, len);
    assert_int_equal(ptls_der_next(&d, &seq), POLYTLS_OK);
    ptls_der_enter(&d, &seq, &k);
    assert_int_equal(ptls_der_next(&k, &ver), POLYTLS_OK);
    assert_int_equal(ptls_der_next(&k, &priv), POLYTLS_OK);
    assert_int_equal(ptls_der_next(&k, &params), POLYTLS_OK);
    assert_int_equal(params.tag, 0xa0);
    assert_int_equal(ptls_der_next(&k, &pub), POLYTLS_OK);
    size_t body = ver.tlv_len + priv.tlv_len + pub.tlv_len;
    uint8_t out[256];
    size_t o = ptls_der_put_header(out, PTLS_DER_SEQUENCE, body);
    memcpy(out + o, ver.tlv, ver.tlv_len);
    o += ver.tlv_len;
    memcpy(out + o, priv.tlv, priv.tlv_len);
    o += priv.tlv_len;
    memcpy(out + o, pub.tlv, pub.tlv_len);
    o += pub.tlv_len;
    size_t want_len, got_len;
    uint8_t *want = pem_der("data/leafec.key", &want_len);
    polytls_certificate *c = cert_with_key("data/leafec.pem", out, o, POLYTLS_OK);
    const uint8_t *got = ptls_certificate_key(c, &got_len);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
    assert_true(ptls_certificate_key_checked(c));
    polytls_certificate_unref(c);
    free(want);
    free(sec1);
}

static void expect_refused(const char *cert_path, const char *key_path, polytls_status s, const char *words)
{
    size_t len;
    uint8_t *key = pem_der(key_path, &len);
    assert_null(cert_with_key(cert_path, key, len, s));
    if (words)
        assert_non_null(strstr(polytls_last_error_message(), words));
    free(key);
}

static void test_mismatch(void **state)
{
    (void)state;
    expect_refused("data/leaf1.pem", "data/leaf2.key", POLYTLS_ERR_KEY_MISMATCH, "modulus");
    expect_refused("data/leaf1.pem", "data/leafec.key", POLYTLS_ERR_KEY_MISMATCH, NULL);
    expect_refused("data/leaf1.pem", "data/leafec.sec1.key", POLYTLS_ERR_KEY_MISMATCH, NULL);
    expect_refused("data/leafec.pem", "data/leaf1.rsa.key", POLYTLS_ERR_KEY_MISMATCH, NULL);
    expect_refused("data/leafec.pem", "data/other_ec.sec1.key", POLYTLS_ERR_KEY_MISMATCH, "public points");
    expect_refused("data/leafec.pem", "data/p384.sec1.key", POLYTLS_ERR_KEY_MISMATCH, "curve");
    expect_refused("data/leafed.pem", "data/leaf1.key", POLYTLS_ERR_KEY_MISMATCH, NULL);
}

static void test_refused_inputs(void **state)
{
    (void)state;
    expect_refused("data/leaf1.pem", "data/leaf1.enc.key", POLYTLS_ERR_UNSUPPORTED, "encrypted");
    size_t len;
    uint8_t *key = pem_der("data/leaf1.key", &len);
    /* Every truncation and a trailing byte. */
    for (size_t n = 1; n < len; n += 7)
        assert_null(cert_with_key("data/leaf1.pem", key, n, POLYTLS_ERR_BAD_ENCODING));
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, key, len);
    longer[len] = 0;
    assert_null(cert_with_key("data/leaf1.pem", longer, len + 1, POLYTLS_ERR_BAD_ENCODING));
    assert_non_null(strstr(polytls_last_error_message(), "private key"));
    /* Unknown version. */
    memcpy(longer, key, len);
    assert_int_equal(longer[6], 0x00); /* 30 82 xx xx 02 01 00 */
    longer[6] = 0x05;
    assert_null(cert_with_key("data/leaf1.pem", longer, len, POLYTLS_ERR_BAD_ENCODING));
    /* Wrong shapes. */
    static const uint8_t empty_seq[] = {0x30, 0x00};
    static const uint8_t only_version[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    static const uint8_t bad_second[] = {0x30, 0x05, 0x02, 0x01, 0x00, 0x05, 0x00};
    static const uint8_t not_seq[] = {0x04, 0x01, 0x00};
    assert_null(cert_with_key("data/leaf1.pem", empty_seq, sizeof empty_seq, POLYTLS_ERR_BAD_ENCODING));
    assert_null(cert_with_key("data/leaf1.pem", only_version, sizeof only_version, POLYTLS_ERR_BAD_ENCODING));
    assert_null(cert_with_key("data/leaf1.pem", bad_second, sizeof bad_second, POLYTLS_ERR_BAD_ENCODING));
    assert_null(cert_with_key("data/leaf1.pem", not_seq, sizeof not_seq, POLYTLS_ERR_BAD_ENCODING));
    free(longer);
    free(key);
    /* SEC1 with corruptions of every byte: never a crash. */
    uint8_t *sec1 = pem_der("data/leafec.sec1.key", &len);
    size_t der_len;
    uint8_t *der = pem_der("data/leafec.pem", &der_len);
    for (size_t i = 0; i < len; i++) {
        uint8_t saved = sec1[i];
        static const uint8_t values[] = {0x00, 0x80, 0xff};
        for (size_t v = 0; v < 3; v++) {
            sec1[i] = values[v];
            polytls_certificate *c = NULL;
            polytls_status s = polytls_certificate_new(der, der_len, sec1, len, &c);
            assert_true(s == POLYTLS_OK || s == POLYTLS_ERR_BAD_ENCODING || s == POLYTLS_ERR_KEY_MISMATCH ||
                        s == POLYTLS_ERR_UNSUPPORTED);
            polytls_certificate_unref(c);
        }
        sec1[i] = saved;
    }
    free(der);
    free(sec1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats_normalised),
        cmocka_unit_test(test_sec1_without_curve),
        cmocka_unit_test(test_mismatch),
        cmocka_unit_test(test_refused_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
