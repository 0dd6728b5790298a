/* Unit tests of core/module.c that need no module file: the rule that
   compares the library version a module was built against with the one
   loaded. (Loading itself is tested through the public API in
   tests/backends/.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "module.h"

static bool match(const char *name, const char *built, const char *loaded, char *why)
{
    why[0] = '\0';
    return ptls_module_versions_match(name, built, loaded, why, 256);
}

static void openssl_compares_major_minor(void **state)
{
    (void)state;
    char why[256];
    assert_true(match("openssl", "OpenSSL 3.0.11 19 Sep 2023", "OpenSSL 3.0.22 25 Aug 2026", why));
    assert_string_equal(why, "");
    assert_false(match("openssl", "OpenSSL 3.0.11 19 Sep 2023", "OpenSSL 3.1.4 24 Oct 2023", why));
    assert_string_equal(why, "built against OpenSSL 3.0.11 19 Sep 2023 but OpenSSL 3.1.4 24 Oct 2023 is loaded");
    assert_false(match("openssl", "OpenSSL 3.0.11", "OpenSSL 4.0.0", why));
}

static void other_libraries_compare_the_whole_version(void **state)
{
    (void)state;
    char why[256];
    assert_true(match("gnutls", "3.7.9", "3.7.9", why));
    assert_false(match("gnutls", "3.7.9", "3.7.10", why));
    assert_string_equal(why, "built against 3.7.9 but 3.7.10 is loaded");
    assert_true(match("wolfssl", "wolfSSL 5.5.4", "wolfSSL 5.5.4", why));
    assert_false(match("wolfssl", "wolfSSL 5.5.4", "wolfSSL 5.6.0", why));
    /* 3.7 is not 3.7.0: a version that says less is not the same one. */
    assert_false(match("gnutls", "3.7", "3.7.0", why));
}

static void unreadable_versions_never_match(void **state)
{
    (void)state;
    char why[256];
    assert_false(match("wolfssl", NULL, "wolfSSL 5.5.4", why));
    assert_string_equal(why, "built against (no version) but wolfSSL 5.5.4 is loaded");
    assert_false(match("wolfssl", "wolfSSL 5.5.4", "", why));
    assert_string_equal(why, "built against wolfSSL 5.5.4 but (no version) is loaded");
    assert_false(match("openssl", "OpenSSL", "OpenSSL", why));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(openssl_compares_major_minor),
        cmocka_unit_test(other_libraries_compare_the_whole_version),
        cmocka_unit_test(unreadable_versions_never_match),
    };
    return cmocka_run_group_tests_name("module", tests, NULL, NULL);
}
