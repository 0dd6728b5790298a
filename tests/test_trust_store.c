/* Unit tests of trust stores: explicit stores, the system bundle, the
   SSL_CERT_FILE override and the lenient bundle reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "certificate.h"
#include "trust_store.h"

static polytls_certificate *load(const char *cert, const char *key)
{
    polytls_certificate **c;
    size_t n;
    if (key)
        assert_int_equal(polytls_chain_from_pem_files(cert, key, &c, &n), POLYTLS_OK);
    else
        assert_int_equal(polytls_certificates_from_pem_file(cert, &c, &n), POLYTLS_OK);
    polytls_certificate *out = c[0];
    for (size_t i = 1; i < n; i++)
        polytls_certificate_unref(c[i]);
    free(c);
    return out;
}

static void test_explicit(void **state)
{
    (void)state;
    polytls_certificate *root = load("data/root.pem", NULL), *inter = load("data/int.pem", NULL);
    polytls_certificate *keyed = load("data/leaf1.pem", "data/leaf1.key");
    polytls_certificate *both[] = {root, inter};
    polytls_trust_store *ts = (polytls_trust_store *)0x1;
    assert_int_equal(polytls_trust_store_new(both, 2, &ts), POLYTLS_OK);
    assert_int_equal(polytls_trust_store_count(ts), 2);
    polytls_certificate *const *certs;
    assert_int_equal(ptls_trust_store_certs(ts, &certs), 2);
    assert_ptr_equal(certs[0], root); /* referenced, not copied */
    assert_int_equal(ptls_trust_store_skipped(ts), 0);
    assert_ptr_equal(polytls_trust_store_ref(ts), ts);
    polytls_trust_store_unref(ts);
    /* The store holds references: the caller's may go first. */
    polytls_certificate_unref(inter);
    assert_int_equal(polytls_trust_store_count(ts), 2);
    polytls_trust_store_unref(ts);

    polytls_certificate *with_key[] = {root, keyed};
    polytls_trust_store *none = (polytls_trust_store *)0x1;
    assert_int_equal(polytls_trust_store_new(with_key, 2, &none), POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY);
    assert_non_null(strstr(polytls_last_error_message(), "certificate 1"));
    assert_ptr_equal(none, (polytls_trust_store *)0x1);
    polytls_certificate *with_null[] = {root, NULL};
    assert_int_equal(polytls_trust_store_new(with_null, 2, &none), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_trust_store_new(both, 0, &none), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_trust_store_new(NULL, 1, &none), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_trust_store_new(both, 1, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_trust_store_count(NULL), 0);
    polytls_trust_store_unref(NULL);
    assert_null(polytls_trust_store_ref(NULL));
    polytls_certificate_unref(root);
    polytls_certificate_unref(keyed);
}

static void test_system(void **state)
{
    (void)state;
    /* The Debian bundle itself, whatever the environment says. */
    unsetenv("SSL_CERT_FILE");
    polytls_trust_store *a, *b;
    assert_int_equal(polytls_trust_store_system(&a), POLYTLS_OK);
    assert_true(polytls_trust_store_count(a) > 100);
    assert_int_equal(polytls_trust_store_system(&b), POLYTLS_OK);
    assert_ptr_equal(a, b); /* cached once per process */
    polytls_trust_store_unref(a);
    polytls_trust_store_unref(b);
    assert_int_equal(polytls_trust_store_system(NULL), POLYTLS_ERR_INVALID_ARGUMENT);
}

/* Run as "test_trust_store --system-count BUNDLE": loads the system store
   with SSL_CERT_FILE=BUNDLE in a fresh process (the store is cached per
   process, and a fork would inherit the cache) and reports through the exit
   code: count * 10 + skipped, or 200 for a BAD_ENCODING naming the file. */
static int system_count_main(const char *bundle)
{
    setenv("SSL_CERT_FILE", bundle, 1);
    polytls_trust_store *ts;
    polytls_status s = polytls_trust_store_system(&ts);
    if (s != POLYTLS_OK)
        return s == POLYTLS_ERR_BAD_ENCODING && strstr(polytls_last_error_message(), bundle) ? 200 : 201;
    int code = (int)polytls_trust_store_count(ts) * 10 + (int)ptls_trust_store_skipped(ts);
    polytls_trust_store_unref(ts);
    return code;
}

/* argv[0]: re-executed for the child (not /proc/self/exe, which is the
   tool's own binary under valgrind). */
static const char *self_path;

static int child_system_count(const char *bundle)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(self_path, "test_trust_store", "--system-count", bundle, (char *)NULL);
        _exit(202);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_system_override(void **state)
{
    (void)state;
    char path[] = "/tmp/polytls-bundle-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    /* Comments and a broken block are tolerated in a bundle: skipped and counted. */
    fputs("# my bundle\n", f);
    char *root;
    size_t len;
    FILE *in = fopen("data/root.pem", "rb");
    assert_non_null(in);
    root = malloc(8192);
    len = fread(root, 1, 8192, in);
    fclose(in);
    fwrite(root, 1, len, f);
    fputs("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n", f);
    fputs("-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n", f);
    fwrite(root, 1, len, f);
    fclose(f);
    free(root);
    assert_int_equal(child_system_count(path), 2 * 10 + 2);
    /* Direct load (uncached) gives the same. */
    polytls_trust_store *ts;
    assert_int_equal(ptls_trust_store_load_file(path, &ts), POLYTLS_OK);
    assert_int_equal(polytls_trust_store_count(ts), 2);
    assert_int_equal(ptls_trust_store_skipped(ts), 2);
    polytls_trust_store_unref(ts);
    unlink(path);
    /* A missing bundle: BAD_ENCODING naming the path. */
    assert_int_equal(child_system_count("/nonexistent/bundle.crt"), 200);
    /* A file with no certificate at all. */
    assert_int_equal(ptls_trust_store_load_file("data/leaf1.key", &ts), POLYTLS_ERR_BAD_ENCODING);
    assert_non_null(strstr(polytls_last_error_message(), "no usable certificate"));
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--system-count") == 0)
        return system_count_main(argv[2]);
    self_path = argv[0];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_explicit),
        cmocka_unit_test(test_system),
        cmocka_unit_test(test_system_override),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
