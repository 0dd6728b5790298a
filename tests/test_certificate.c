/* Unit tests of certificate objects: strict parsing, the fields the core
   uses (CA flag, names, SAN, key identifiers), references. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "certificate.h"
#include "pem.h"

/* memmem is a GNU extension: a portable one for the tests. */
static const uint8_t *find(const uint8_t *hay, size_t n, const char *needle, size_t k)
{
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return hay + i;
    return NULL;
}

static polytls_certificate *load(const char *path)
{
    polytls_certificate **certs;
    size_t n;
    assert_int_equal(polytls_certificates_from_pem_file(path, &certs, &n), POLYTLS_OK);
    assert_int_equal(n, 1);
    polytls_certificate *c = certs[0];
    free(certs);
    return c;
}

static uint8_t *load_bytes(const char *path, size_t *len)
{
    char *text;
    assert_int_equal(ptls_read_file(path, &text, len), POLYTLS_OK);
    return (uint8_t *)text;
}

static void test_leaf_fields(void **state)
{
    (void)state;
    size_t der_len;
    uint8_t *der = load_bytes("data/leaf1.der", &der_len);
    polytls_certificate *c = NULL;
    assert_int_equal(polytls_certificate_new(der, der_len, NULL, 0, &c), POLYTLS_OK);
    const uint8_t *p;
    size_t len;
    assert_int_equal(polytls_certificate_der(c, &p, &len), POLYTLS_OK);
    assert_int_equal(len, der_len);
    assert_memory_equal(p, der, der_len);
    assert_ptr_not_equal(p, der); /* copied */
    assert_false(polytls_certificate_is_ca(c)); /* basicConstraints CA:FALSE present */
    assert_false(polytls_certificate_has_private_key(c));
    assert_false(ptls_certificate_self_issued(c));

    polytls_certificate *inter = load("data/int.pem"), *root = load("data/root.pem");
    assert_true(polytls_certificate_is_ca(inter));
    assert_true(polytls_certificate_is_ca(root));
    assert_true(ptls_certificate_self_issued(root));
    assert_true(ptls_certificate_issued_by(c, inter));
    assert_true(ptls_certificate_issued_by(inter, root));
    assert_false(ptls_certificate_issued_by(c, root));
    assert_false(ptls_certificate_issued_by(root, c));

    /* Names are whole DER Names: the leaf's issuer is the intermediate's subject. */
    const uint8_t *iss, *sub;
    size_t iss_len, sub_len;
    assert_int_equal(polytls_certificate_issuer(c, &iss, &iss_len), POLYTLS_OK);
    assert_int_equal(polytls_certificate_subject(inter, &sub, &sub_len), POLYTLS_OK);
    assert_int_equal(iss_len, sub_len);
    assert_memory_equal(iss, sub, sub_len);
    assert_int_equal(iss[0], 0x30);
    assert_int_equal(polytls_certificate_subject(c, &sub, &sub_len), POLYTLS_OK);
    assert_non_null(find(sub, sub_len, "leaf1", 5));

    const ptls_cert_info *info = ptls_certificate_info(c);
    assert_int_equal(info->ski.len, 20);
    assert_int_equal(info->aki_key_id.len, 20);
    assert_memory_equal(info->aki_key_id.p, ptls_certificate_info(inter)->ski.p, 20);
    assert_int_equal(info->spki.p[0], 0x30);
    assert_int_equal(info->spki_alg_oid.len, 9); /* rsaEncryption */

    /* subjectAltName: DNS and IP entries. */
    assert_true(ptls_certificate_matches_dns(c, "www.example.com"));
    assert_true(ptls_certificate_matches_dns(c, "foo.example.org"));
    assert_false(ptls_certificate_matches_dns(c, "example.org"));
    assert_false(ptls_certificate_matches_dns(c, "a.b.example.org"));
    assert_false(ptls_certificate_matches_dns(c, "leaf1")); /* no CN fallback */
    assert_false(ptls_certificate_matches_dns(c, NULL));
    assert_true(ptls_certificate_matches_ip(c, (const uint8_t[]){192, 0, 2, 7}, 4));
    assert_false(ptls_certificate_matches_ip(c, (const uint8_t[]){192, 0, 2, 8}, 4));
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 7};
    assert_true(ptls_certificate_matches_ip(c, v6, 16));
    assert_false(ptls_certificate_matches_dns(root, "www.example.com")); /* no SAN at all */

    /* References. */
    assert_ptr_equal(polytls_certificate_ref(c), c);
    polytls_certificate_unref(c);
    assert_int_equal(polytls_certificate_der(c, &p, &len), POLYTLS_OK); /* still alive */
    polytls_certificate_unref(c);
    polytls_certificate_unref(NULL);
    assert_null(polytls_certificate_ref(NULL));
    polytls_certificate_unref(inter);
    polytls_certificate_unref(root);
    free(der);
}

static void test_arguments(void **state)
{
    (void)state;
    size_t der_len;
    uint8_t *der = load_bytes("data/leaf1.der", &der_len);
    polytls_certificate *c = (polytls_certificate *)0x1;
    assert_int_equal(polytls_certificate_new(NULL, 10, NULL, 0, &c), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_certificate_new(der, 0, NULL, 0, &c), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_certificate_new(der, der_len, NULL, 0, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_certificate_new(der, der_len, NULL, 5, &c), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_certificate_new(der, der_len, der, 0, &c), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(c, (polytls_certificate *)0x1); /* untouched on failure */
    const uint8_t *p;
    size_t len;
    assert_int_equal(polytls_certificate_der(NULL, &p, &len), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_certificate_subject(NULL, &p, &len), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_certificate_issuer(NULL, &p, &len), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_false(polytls_certificate_is_ca(NULL));
    assert_false(polytls_certificate_has_private_key(NULL));
    polytls_certificates_free(NULL, 3);
    free(der);
}

static void test_malformed(void **state)
{
    (void)state;
    size_t der_len;
    uint8_t *der = load_bytes("data/leaf1.der", &der_len);
    uint8_t *bigger = malloc(der_len + 1);
    assert_non_null(bigger);
    memcpy(bigger, der, der_len);
    bigger[der_len] = 0;
    polytls_certificate *c;
    /* Trailing byte after the certificate. */
    assert_int_equal(polytls_certificate_new(bigger, der_len + 1, NULL, 0, &c), POLYTLS_ERR_BAD_ENCODING);
    assert_non_null(strstr(polytls_last_error_message(), "certificate"));
    /* Every truncation. */
    for (size_t n = 1; n < der_len; n++)
        assert_int_equal(polytls_certificate_new(der, n, NULL, 0, &c), POLYTLS_ERR_BAD_ENCODING);
    /* Not a certificate: valid DER of the wrong shape. */
    static const uint8_t seq_of_null[] = {0x30, 0x02, 0x05, 0x00};
    assert_int_equal(polytls_certificate_new(seq_of_null, sizeof seq_of_null, NULL, 0, &c),
                     POLYTLS_ERR_BAD_ENCODING);
    /* Indefinite-length outer SEQUENCE (BER). */
    memcpy(bigger, der, der_len);
    bigger[1] = 0x80;
    assert_int_equal(polytls_certificate_new(bigger, der_len, NULL, 0, &c), POLYTLS_ERR_BAD_ENCODING);
    /* Text instead of DER. */
    assert_int_equal(polytls_certificate_new((const uint8_t *)"-----BEGIN", 10, NULL, 0, &c),
                     POLYTLS_ERR_BAD_ENCODING);
    free(bigger);
    free(der);
}

/* A certificate whose SAN extension appears twice is refused: RFC 5280
   forbids duplicates and they would make matching ambiguous. Built by
   duplicating the leaf's SAN Extension element in place (the signature
   no longer verifies, which the core does not check). */
static void test_duplicate_extension(void **state)
{
    (void)state;
    size_t der_len;
    uint8_t *der = load_bytes("data/leaf1.der", &der_len);
    polytls_certificate *c;
    assert_int_equal(polytls_certificate_new(der, der_len, NULL, 0, &c), POLYTLS_OK);
    const ptls_cert_info *info = ptls_certificate_info(c);
    /* The SAN Extension element starts 5 bytes before "55 1d 11" (30 len 06 03). */
    const uint8_t *der_c;
    size_t len_c;
    polytls_certificate_der(c, &der_c, &len_c);
    const uint8_t *oid = find(der_c, len_c, "\x06\x03\x55\x1d\x11", 5);
    assert_non_null(oid);
    assert_int_equal(oid[-2], 0x30); /* short-form Extension SEQUENCE */
    size_t ext_off = (size_t)(oid - 2 - der_c), ext_len = (size_t)oid[-1] + 2;
    (void)info;
    /* Lengths of the enclosing elements grow by ext_len: Certificate,
       tbsCertificate, [3] and the extensions SEQUENCE all use 2-byte long
       form lengths (0x82) or 1-byte (0x81) in this certificate; adjust
       whichever holds. */
    uint8_t *dup = malloc(der_len + ext_len);
    assert_non_null(dup);
    memcpy(dup, der_c, ext_off + ext_len);
    memcpy(dup + ext_off + ext_len, der_c + ext_off, len_c - ext_off);
    /* Walk down from the top, patching each enclosing length. */
    size_t pos = 0;
    int patched = 0;
    while (pos < ext_off) {
        uint8_t tag = dup[pos];
        size_t hl, l;
        if (dup[pos + 1] < 0x80) {
            hl = 2;
            l = dup[pos + 1];
        } else if (dup[pos + 1] == 0x81) {
            hl = 3;
            l = dup[pos + 2];
        } else {
            hl = 4;
            l = (size_t)dup[pos + 2] << 8 | dup[pos + 3];
        }
        if (pos + hl + l > ext_off) { /* encloses the extension: grow it */
            size_t nl = l + ext_len;
            assert_true(hl == 4 || (hl == 3 && nl < 256) || (hl == 2 && nl < 128));
            if (hl == 4) {
                dup[pos + 2] = (uint8_t)(nl >> 8);
                dup[pos + 3] = (uint8_t)nl;
            } else {
                dup[pos + hl - 1] = (uint8_t)nl;
            }
            patched++;
            pos += hl; /* descend */
        } else {
            pos += hl + l; /* skip a sibling before it */
        }
        (void)tag;
    }
    assert_true(patched >= 4);
    polytls_certificate *bad;
    assert_int_equal(polytls_certificate_new(dup, der_len + ext_len, NULL, 0, &bad), POLYTLS_ERR_BAD_ENCODING);
    assert_non_null(strstr(polytls_last_error_message(), "duplicate subjectAltName"));
    free(dup);
    polytls_certificate_unref(c);
    free(der);
}

static void test_system_bundle_parses(void **state)
{
    (void)state;
    /* Every certificate of the Debian bundle parses strictly (real-world
       DER is what the reader must accept). */
    polytls_certificate **certs;
    size_t n;
    assert_int_equal(polytls_certificates_from_pem_file("/etc/ssl/certs/ca-certificates.crt", &certs, &n),
                     POLYTLS_OK);
    assert_true(n > 100);
    size_t cas = 0;
    for (size_t i = 0; i < n; i++)
        cas += polytls_certificate_is_ca(certs[i]);
    assert_true(cas > 100);
    polytls_certificates_free(certs, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf_fields),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_duplicate_extension),
        cmocka_unit_test(test_system_bundle_parses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
