/* Unit tests of the strict PEM factories: bags, served chains with their
   key, and every refusal the seed and polytls.h ask for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "certificate.h"
#include "pem.h"

static char *slurp(const char *path)
{
    char *text;
    size_t len;
    assert_int_equal(ptls_read_file(path, &text, &len), POLYTLS_OK);
    return text;
}

/* Concatenates NULL-terminated pieces; a piece starting with '@' is a file. */
static char *join(const char *first, ...)
{
    size_t cap = 1;
    char *out = calloc(1, 1);
    va_list ap;
    va_start(ap, first);
    for (const char *p = first; p; p = va_arg(ap, const char *)) {
        char *file = p[0] == '@' ? slurp(p + 1) : NULL;
        const char *piece = file ? file : p;
        cap += strlen(piece);
        out = realloc(out, cap);
        strcat(out, piece);
        free(file);
    }
    va_end(ap);
    return out;
}

/* The last error message contains `words` (NULL: anything). */
static void check_words(const char *words)
{
    if (words && !strstr(polytls_last_error_message(), words))
        fail_msg("message \"%s\" lacks \"%s\"", polytls_last_error_message(), words);
}

static polytls_status bag(const char *text, size_t *n_out)
{
    polytls_certificate **certs = (polytls_certificate **)0x1;
    size_t n = 99;
    polytls_status s = polytls_certificates_from_pem(text, strlen(text), &certs, &n);
    if (s == POLYTLS_OK) {
        polytls_certificates_free(certs, n);
        if (n_out)
            *n_out = n;
    } else {
        assert_ptr_equal(certs, (polytls_certificate **)0x1); /* outputs untouched */
        assert_int_equal(n, 99);
        assert_true(polytls_last_error_message()[0] != '\0');
    }
    return s;
}

static void test_bag_ok(void **state)
{
    (void)state;
    size_t n = 0;
    char *t = join("@data/root.pem", "@data/int.pem", NULL);
    assert_int_equal(bag(t, &n), POLYTLS_OK);
    assert_int_equal(n, 2);
    free(t);
    t = join("\n \t\r\n", "@data/root.pem", "\n\n", "@data/int.pem", "@data/leaf1.pem", "  \n", NULL);
    assert_int_equal(bag(t, &n), POLYTLS_OK);
    assert_int_equal(n, 3);
    free(t);
    /* CRLF line endings. */
    char *lf = slurp("data/root.pem");
    char *crlf = calloc(2 * strlen(lf) + 1, 1);
    for (size_t i = 0, o = 0; lf[i]; i++) {
        if (lf[i] == '\n')
            crlf[o++] = '\r';
        crlf[o++] = lf[i];
    }
    assert_int_equal(bag(crlf, &n), POLYTLS_OK);
    assert_int_equal(n, 1);
    /* Without the final line break. */
    lf[strlen(lf) - 1] = '\0';
    assert_int_equal(bag(lf, &n), POLYTLS_OK);
    free(crlf);
    free(lf);
    /* Order of the bag is kept. */
    polytls_certificate **certs;
    t = join("@data/int.pem", "@data/root.pem", NULL);
    assert_int_equal(polytls_certificates_from_pem(t, strlen(t), &certs, &n), POLYTLS_OK);
    assert_false(ptls_certificate_self_issued(certs[0]));
    assert_true(ptls_certificate_self_issued(certs[1]));
    polytls_certificates_free(certs, n);
    free(t);
}

static void test_bag_refusals(void **state)
{
    (void)state;
    char *t;
#define REFUSE(status, words, ...)                                               \
    do {                                                                         \
        t = join(__VA_ARGS__, NULL);                                             \
        assert_int_equal(bag(t, NULL), status);                                  \
        check_words(words);                                                      \
        free(t);                                                                 \
    } while (0)
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "no CERTIFICATE", "");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "no CERTIFICATE", " \n\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "unexpected text", "hello\n", "@data/root.pem");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "after block 1", "@data/root.pem", "# comment\n", "@data/int.pem");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "unexpected text", "@data/root.pem", "x");
    REFUSE(POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY, "block 2", "@data/root.pem", "@data/leaf1.key");
    REFUSE(POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY, "RSA PRIVATE KEY", "@data/leaf1.rsa.key");
    REFUSE(POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY, NULL, "@data/leafec.sec1.key", "@data/leafec.pem");
    REFUSE(POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY, NULL, "@data/leaf1.enc.key");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "X509 CRL", "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "END PUBLIC KEY",
           "-----BEGIN CERTIFICATE-----\nMAA=\n-----END PUBLIC KEY-----\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "no END", "-----BEGIN CERTIFICATE-----\nMAA=\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "no END",
           "-----BEGIN CERTIFICATE-----\nMAA=\n-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "BEGIN", "-----BEGIN CERTIFICATE----\nMAA=\n-----END CERTIFICATE-----\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "BEGIN", "-----BEGIN certificate-----\nMAA=\n-----END certificate-----\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "BEGIN", "-----BEGIN CERTIFICATE----- \nMAA=\n-----END CERTIFICATE-----\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "END line", "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE\n");
    /* Base64. */
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "not base64", "-----BEGIN CERTIFICATE-----\nMA*=\n-----END CERTIFICATE-----\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "not base64", "-----BEGIN CERTIFICATE-----\nMA A=\n-----END CERTIFICATE-----\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "multiple of 4", "-----BEGIN CERTIFICATE-----\nMAA\n-----END CERTIFICATE-----\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "padding", "-----BEGIN CERTIFICATE-----\nM===\n-----END CERTIFICATE-----\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "after '='", "-----BEGIN CERTIFICATE-----\nMA=A\n-----END CERTIFICATE-----\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "after '='",
           "-----BEGIN CERTIFICATE-----\nMAA=\nMAA=\n-----END CERTIFICATE-----\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "non-canonical", "-----BEGIN CERTIFICATE-----\nMAB=\n-----END CERTIFICATE-----\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "non-canonical", "-----BEGIN CERTIFICATE-----\nMB==\n-----END CERTIFICATE-----\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "empty body", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "empty line",
           "-----BEGIN CERTIFICATE-----\nMAAA\n\nMAAA\n-----END CERTIFICATE-----\n");
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "headers",
           "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\nMAAA\n-----END CERTIFICATE-----\n");
    /* Valid base64 of something that is not a certificate: the block is named. */
    REFUSE(POLYTLS_ERR_BAD_ENCODING, "PEM block 2", "@data/root.pem",
           "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n");
    /* A NUL byte inside the given length is junk, not an end. */
    char with_nul[] = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n\0x";
    polytls_certificate **certs;
    size_t n;
    assert_int_equal(polytls_certificates_from_pem(with_nul, sizeof with_nul - 1, &certs, &n),
                     POLYTLS_ERR_BAD_ENCODING);
    /* Arguments. */
    assert_int_equal(polytls_certificates_from_pem(NULL, 0, &certs, &n), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_certificates_from_pem("", 0, NULL, &n), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_certificates_from_pem("", 0, &certs, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
}

/* Every prefix of a two-certificate bag: OK only at the block boundaries,
   never a crash or a leak. */
static void test_bag_truncations(void **state)
{
    (void)state;
    char *t = join("@data/root.pem", "@data/int.pem", NULL);
    size_t len = strlen(t), first_end = strstr(t, "-----END CERTIFICATE-----\n") - t + 26;
    for (size_t n = 0; n <= len; n++) {
        polytls_certificate **certs;
        size_t count;
        polytls_status s = polytls_certificates_from_pem(t, n, &certs, &count);
        bool boundary = n == len || n == len - 1 || n == first_end || n == first_end - 1;
        assert_int_equal(s, boundary ? POLYTLS_OK : POLYTLS_ERR_BAD_ENCODING);
        if (s == POLYTLS_OK)
            polytls_certificates_free(certs, count);
    }
    free(t);
}

static polytls_status chain(const char *certs_text, const char *key_text, polytls_certificate ***out, size_t *n)
{
    polytls_certificate **c = NULL;
    size_t k = 0;
    polytls_status s = polytls_chain_from_pem(certs_text, strlen(certs_text), key_text,
                                              key_text ? strlen(key_text) : 0, &c, &k);
    if (s == POLYTLS_OK && out) {
        *out = c;
        *n = k;
    } else if (s == POLYTLS_OK) {
        polytls_certificates_free(c, k);
    }
    return s;
}

static void test_chain_ok(void **state)
{
    (void)state;
    char *certs = join("@data/root.pem", "@data/leaf1.pem", "@data/int.pem", NULL);
    const char *keys[] = {"data/leaf1.key", "data/leaf1.rsa.key"};
    for (size_t i = 0; i < 2; i++) {
        char *key = slurp(keys[i]);
        polytls_certificate **c;
        size_t n;
        assert_int_equal(chain(certs, key, &c, &n), POLYTLS_OK);
        assert_int_equal(n, 3);
        assert_false(polytls_certificate_is_ca(c[0]));
        assert_true(polytls_certificate_has_private_key(c[0]));
        assert_false(polytls_certificate_has_private_key(c[1]));
        assert_true(ptls_certificate_issued_by(c[0], c[1]));
        assert_true(ptls_certificate_issued_by(c[1], c[2]));
        assert_true(ptls_certificate_self_issued(c[2]));
        polytls_certificates_free(c, n);
        free(key);
    }
    free(certs);
    /* Leaf alone; EC leaf with SEC1 key and its root. */
    char *leaf = slurp("data/leaf1.pem"), *key = slurp("data/leaf1.key");
    polytls_certificate **c;
    size_t n;
    assert_int_equal(chain(leaf, key, &c, &n), POLYTLS_OK);
    assert_int_equal(n, 1);
    polytls_certificates_free(c, n);
    free(leaf);
    free(key);
    certs = join("@data/leafec.pem", "@data/root.pem", NULL);
    key = slurp("data/leafec.sec1.key");
    assert_int_equal(chain(certs, key, NULL, NULL), POLYTLS_OK);
    free(certs);
    free(key);
    /* File variants. */
    assert_int_equal(polytls_chain_from_pem_files("data/leaf1.pem", "data/leaf1.key", &c, &n), POLYTLS_OK);
    assert_int_equal(n, 1);
    polytls_certificates_free(c, n);
    assert_int_equal(polytls_certificates_from_pem_file("data/root.pem", &c, &n), POLYTLS_OK);
    polytls_certificates_free(c, n);
}

static void test_chain_refusals(void **state)
{
    (void)state;
    char *key = slurp("data/leaf1.key");
    char *t;
#define CHAIN_REFUSE(status, k, words, ...)                                          \
    do {                                                                             \
        t = join(__VA_ARGS__, NULL);                                                 \
        assert_int_equal(chain(t, k, NULL, NULL), status);                           \
        check_words(words);                                                          \
        free(t);                                                                     \
    } while (0)
    CHAIN_REFUSE(POLYTLS_ERR_NO_LEAF, key, "no leaf", "@data/int.pem", "@data/root.pem");
    CHAIN_REFUSE(POLYTLS_ERR_MORE_THAN_ONE_LEAF, key, "both leaves", "@data/leaf1.pem", "@data/int.pem",
                 "@data/leaf2.pem");
    CHAIN_REFUSE(POLYTLS_ERR_NO_CERTIFICATE_CHAIN, key, "certificate 2", "@data/leaf1.pem", "@data/int.pem",
                 "@data/other.pem");
    CHAIN_REFUSE(POLYTLS_ERR_NO_CERTIFICATE_CHAIN, key, NULL, "@data/leaf1.pem", "@data/int.pem", "@data/int.pem");
    CHAIN_REFUSE(POLYTLS_ERR_NO_CERTIFICATE_CHAIN, key, NULL, "@data/leaf1.pem", "@data/root.pem"); /* gap */
    CHAIN_REFUSE(POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY, key, NULL, "@data/leaf1.pem", "@data/leaf1.key");
    CHAIN_REFUSE(POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY, NULL, "no private key", "@data/leaf1.pem");
    CHAIN_REFUSE(POLYTLS_ERR_KEY_MISMATCH, key, NULL, "@data/leaf2.pem", "@data/int.pem");
    /* The key side. */
    char *two = join("@data/leaf1.key", "@data/leaf1.key", NULL);
    CHAIN_REFUSE(POLYTLS_ERR_BAD_ENCODING, two, "second private key", "@data/leaf1.pem");
    free(two);
    char *cert_in_key = slurp("data/leaf1.pem");
    CHAIN_REFUSE(POLYTLS_ERR_BAD_ENCODING, cert_in_key, "not a private key", "@data/leaf1.pem");
    free(cert_in_key);
    CHAIN_REFUSE(POLYTLS_ERR_BAD_ENCODING, " \n", "no PRIVATE KEY", "@data/leaf1.pem");
    char *junk = join("junk\n", "@data/leaf1.key", NULL);
    CHAIN_REFUSE(POLYTLS_ERR_BAD_ENCODING, junk, "unexpected text", "@data/leaf1.pem");
    free(junk);
    char *enc = slurp("data/leaf1.enc.key");
    CHAIN_REFUSE(POLYTLS_ERR_UNSUPPORTED, enc, "encrypted", "@data/leaf1.pem");
    free(enc);
    char *rsaenc = slurp("data/leaf1.rsaenc.key");
    CHAIN_REFUSE(POLYTLS_ERR_UNSUPPORTED, rsaenc, "encrypted", "@data/leaf1.pem");
    free(rsaenc);
    /* Files. */
    polytls_certificate **c;
    size_t n;
    assert_int_equal(polytls_certificates_from_pem_file("data/does-not-exist.pem", &c, &n),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(polytls_last_error_message(), "No such file"));
    assert_int_equal(polytls_certificates_from_pem_file("data", &c, &n), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_chain_from_pem_files("data/leaf1.pem", "data/nope.key", &c, &n),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_chain_from_pem_files("data/leaf1.pem", NULL, &c, &n), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_chain_from_pem(NULL, 0, key, strlen(key), &c, &n), POLYTLS_ERR_INVALID_ARGUMENT);
    free(key);
}

/* The lenient reader used for system bundles skips comments and bad blocks. */
static void test_lenient_reader(void **state)
{
    (void)state;
    char *t = join("# a comment\n", "@data/root.pem", "-----BEGIN CERTIFICATE-----\nM!!=\n-----END CERTIFICATE-----\n",
                   "trailing words\n", "@data/int.pem", "-----BEGIN CERTIFICATE-----\nMAA=\n", NULL);
    ptls_pem_reader r;
    ptls_pem_reader_init(&r, t, strlen(t), true);
    size_t ok = 0, bad = 0;
    for (int guard = 0; guard < 100; guard++) {
        ptls_pem_block b;
        bool done;
        polytls_status s = ptls_pem_next(&r, &b, &done);
        if (s != POLYTLS_OK) {
            bad++;
            continue;
        }
        if (done)
            break;
        ok++;
        ptls_pem_block_free(&b);
    }
    assert_int_equal(ok, 2);
    assert_int_equal(bad, 2);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bag_ok),
        cmocka_unit_test(test_bag_refusals),
        cmocka_unit_test(test_bag_truncations),
        cmocka_unit_test(test_chain_ok),
        cmocka_unit_test(test_chain_refusals),
        cmocka_unit_test(test_lenient_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
