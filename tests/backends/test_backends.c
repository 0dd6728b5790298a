/* Suite "backends": choosing backends and loading them from dlopen modules.

   Uses only the public API (linked against libpolytls.so, like a user).
   The test modules (fake_module.c, built into TEST_MODULE_DIR) provoke each
   refusal of the loader; the real backends are checked in whatever
   -Dbackends_mode this build has. The registry is process-wide and never
   forgets a loaded module, so every test uses module names of its own; the
   module search path (POLYTLS_MODULE_PATH) and POLYTLS_BACKEND are read at
   each lookup, so tests set them before they look up. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "polytls/polytls.h"

#if !defined(TEST_MODULE_DIR) || !defined(BACKEND_MODULE_DIR) || !defined(MODULE_DIR) || \
    !defined(DEFAULT_BACKEND) || !defined(BACKEND_MODE)
#error "tests/backends/meson.build sets these"
#endif

/* Asserts that the last error message contains needle, showing it if not. */
static void assert_message_has(const char *needle)
{
    const char *msg = polytls_last_error_message();
    if (!strstr(msg, needle))
        fail_msg("message \"%s\"\n  lacks \"%s\"", msg, needle);
}

/* polytls_backend_get must succeed; shows the message if not. */
static polytls_backend *get_ok(const char *name)
{
    polytls_backend *b = NULL;
    if (polytls_backend_get(name, &b) != POLYTLS_OK)
        fail_msg("polytls_backend_get(%s): %s", name ? name : "NULL", polytls_last_error_message());
    assert_non_null(b);
    return b;
}

static void assert_unavailable(const char *name, const char *path)
{
    polytls_backend *b = (polytls_backend *)0x1;
    setenv("POLYTLS_MODULE_PATH", path, 1);
    assert_int_equal(polytls_backend_get(name, &b), POLYTLS_ERR_BACKEND_UNAVAILABLE);
    assert_ptr_equal(b, (polytls_backend *)0x1); /* outputs only on success */
}

/* A temporary directory holding a text file named like a module. */
static char corrupt_dir[64];

static void make_corrupt_module(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/polytls-%s.so", corrupt_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 8; i++)
        fputs("this is a text file, not an ELF shared object at all\n", f);
    assert_int_equal(fclose(f), 0);
}

static int setup_corrupt_dir(void **state)
{
    (void)state;
    snprintf(corrupt_dir, sizeof corrupt_dir, "/tmp/polytls-test-XXXXXX");
    return mkdtemp(corrupt_dir) ? 0 : -1;
}

static int teardown_corrupt_dir(void **state)
{
    (void)state;
    const char *names[] = {"corrupt", "testgood", "openssl"};
    for (size_t i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/polytls-%s.so", corrupt_dir, names[i]);
        unlink(path);
    }
    return rmdir(corrupt_dir);
}

/* ------------------------------------------------------------------------ */

static void missing_module_names_every_path(void **state)
{
    (void)state;
    assert_unavailable("missing", "/nonexistent/a::/nonexistent/b");
    assert_message_has("backend 'missing' (from the argument) is not built in");
    assert_message_has("/nonexistent/a/polytls-missing.so: not found");
    assert_message_has("/nonexistent/b/polytls-missing.so: not found");
    assert_message_has(MODULE_DIR "/polytls-missing.so: not found");
}

static void name_that_could_leave_the_directory_is_refused(void **state)
{
    (void)state;
    assert_unavailable("../evil", TEST_MODULE_DIR);
    assert_message_has("'../evil' (from the argument) is not a backend name");
    assert_unavailable("", TEST_MODULE_DIR);
    assert_message_has("is not a backend name");
}

static void corrupt_file_is_refused_with_the_loader_text(void **state)
{
    (void)state;
    make_corrupt_module("corrupt");
    assert_unavailable("corrupt", corrupt_dir);
    char expect[160];
    snprintf(expect, sizeof expect, "%s/polytls-corrupt.so: invalid ELF header", corrupt_dir);
    assert_message_has(expect);
    assert_message_has(MODULE_DIR "/polytls-corrupt.so: not found");
}

/* A corrupt file earlier in the path is reported but does not hide a good
   module later in the path. */
static void corrupt_file_then_good_module_loads_the_good_one(void **state)
{
    (void)state;
    make_corrupt_module("testgood");
    char path[512];
    snprintf(path, sizeof path, "%s:%s", corrupt_dir, TEST_MODULE_DIR);
    setenv("POLYTLS_MODULE_PATH", path, 1);
    polytls_backend *b = get_ok("testgood");
    assert_string_equal(polytls_backend_name(b), "testgood");
    assert_false(polytls_backend_is_builtin(b));
    assert_string_equal(polytls_backend_module_path(b), TEST_MODULE_DIR "/polytls-testgood.so");
    assert_string_equal(polytls_backend_built_version(b), "testlib 1.2.3");
    assert_string_equal(polytls_backend_version(b), "testlib 1.2.3 (init #1)");

    /* The same handle again, even with another search path: loaded modules
       are remembered by name. */
    setenv("POLYTLS_MODULE_PATH", "/nonexistent", 1);
    assert_ptr_equal(get_ok("testgood"), b);
    assert_string_equal(polytls_backend_version(b), "testlib 1.2.3 (init #1)"); /* init ran once */
}

/* In a module build, the real OpenSSL module behind a corrupt one. */
static void corrupt_openssl_module_then_real_one(void **state)
{
    (void)state;
    if (strcmp(BACKEND_MODE, "module") != 0)
        skip();
    make_corrupt_module("openssl");
    assert_unavailable("openssl", corrupt_dir);
    assert_message_has("polytls-openssl.so: invalid ELF header");
    char path[512];
    snprintf(path, sizeof path, "%s:%s", corrupt_dir, BACKEND_MODULE_DIR);
    setenv("POLYTLS_MODULE_PATH", path, 1);
    polytls_backend *b = get_ok("openssl");
    assert_string_equal(polytls_backend_module_path(b), BACKEND_MODULE_DIR "/polytls-openssl.so");
}

static void wrong_abi_version_is_refused(void **state)
{
    (void)state;
    assert_unavailable("badabi", TEST_MODULE_DIR);
    assert_message_has(TEST_MODULE_DIR "/polytls-badabi.so: driver ABI version 999, this core needs 1");
}

static void descriptor_of_the_wrong_size_is_refused(void **state)
{
    (void)state;
    assert_unavailable("badsize", TEST_MODULE_DIR);
    assert_message_has(TEST_MODULE_DIR "/polytls-badsize.so: driver descriptor of 8 bytes, this core needs");
}

static void missing_entry_symbol_is_refused(void **state)
{
    (void)state;
    assert_unavailable("noentry", TEST_MODULE_DIR);
    assert_message_has(TEST_MODULE_DIR "/polytls-noentry.so: not a polytls module (no symbol polytls_driver_entry_v1)");
}

static void module_of_another_backend_is_refused(void **state)
{
    (void)state;
    assert_unavailable("wrongname", TEST_MODULE_DIR);
    assert_message_has(TEST_MODULE_DIR "/polytls-wrongname.so: the module is the backend 'someone-else'");
}

static void module_built_against_another_release_is_refused(void **state)
{
    (void)state;
    assert_unavailable("oldlib", TEST_MODULE_DIR);
    assert_message_has(TEST_MODULE_DIR
                       "/polytls-oldlib.so: built against testlib 1.2.3 but testlib 1.2.4 (init #1) is loaded");
    /* Asked again: the same verdict, and init() did not run a second time. */
    assert_unavailable("oldlib", TEST_MODULE_DIR);
    assert_message_has("built against testlib 1.2.3 but testlib 1.2.4 (init #1) is loaded");
}

static void environment_chooses_the_default(void **state)
{
    (void)state;
    setenv("POLYTLS_MODULE_PATH", TEST_MODULE_DIR ":" BACKEND_MODULE_DIR, 1);
    polytls_backend *b = NULL, *named = NULL;

    setenv("POLYTLS_BACKEND", "testenv", 1);
    assert_int_equal(polytls_backend_get(NULL, &b), POLYTLS_OK);
    assert_string_equal(polytls_backend_name(b), "testenv");
    assert_int_equal(polytls_backend_get("testenv", &named), POLYTLS_OK);
    assert_ptr_equal(b, named);

    setenv("POLYTLS_BACKEND", "nosuchbackend", 1);
    assert_int_equal(polytls_backend_get(NULL, &b), POLYTLS_ERR_BACKEND_UNAVAILABLE);
    assert_message_has("backend 'nosuchbackend' (from the environment variable POLYTLS_BACKEND)");

    /* Unset or empty: the build's default. */
    setenv("POLYTLS_BACKEND", "", 1);
    assert_int_equal(polytls_backend_get(NULL, &b), POLYTLS_OK);
    assert_string_equal(polytls_backend_name(b), DEFAULT_BACKEND);
    unsetenv("POLYTLS_BACKEND");
    assert_int_equal(polytls_backend_get(NULL, &named), POLYTLS_OK);
    assert_ptr_equal(b, named);
}

/* ------------------------------------------------------------------------ */

#define N_THREADS 8
static pthread_barrier_t start_line;

static void *load_in_thread(void *arg)
{
    polytls_backend **out = arg;
    pthread_barrier_wait(&start_line);
    if (polytls_backend_get("testthreads", out) != POLYTLS_OK)
        *out = NULL;
    return NULL;
}

static void threads_loading_at_once_get_one_handle(void **state)
{
    (void)state;
    setenv("POLYTLS_MODULE_PATH", TEST_MODULE_DIR, 1);
    pthread_t t[N_THREADS];
    polytls_backend *got[N_THREADS] = {0};
    assert_int_equal(pthread_barrier_init(&start_line, NULL, N_THREADS), 0);
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, load_in_thread, &got[i]), 0);
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&start_line);
    assert_non_null(got[0]);
    for (int i = 1; i < N_THREADS; i++)
        assert_ptr_equal(got[i], got[0]);
    assert_string_equal(polytls_backend_version(got[0]), "testlib 1.2.3 (init #1)");
}

/* Every backend this build lists loads, built in or from this build's
   module directory as -Dbackends_mode says, and reports its versions. */
static void every_listed_backend_loads_as_built(void **state)
{
    (void)state;
    setenv("POLYTLS_MODULE_PATH", BACKEND_MODULE_DIR, 1);
    const char *const *names = polytls_backend_names();
    assert_non_null(names[0]);
    for (size_t i = 0; names[i]; i++) {
        polytls_backend *b = NULL, *again = NULL;
        if (polytls_backend_get(names[i], &b) != POLYTLS_OK)
            fail_msg("%s: %s", names[i], polytls_last_error_message());
        assert_int_equal(polytls_backend_get(names[i], &again), POLYTLS_OK);
        assert_ptr_equal(b, again);
        assert_string_equal(polytls_backend_name(b), names[i]);
        assert_true(polytls_backend_version(b)[0] != '\0');
        assert_true(polytls_backend_built_version(b)[0] != '\0');
        if (strcmp(BACKEND_MODE, "module") == 0) {
            char want[512];
            snprintf(want, sizeof want, "%s/polytls-%s.so", BACKEND_MODULE_DIR, names[i]);
            assert_false(polytls_backend_is_builtin(b));
            assert_string_equal(polytls_backend_module_path(b), want);
        } else {
            /* builtin, or both: the built-in one is found first. */
            assert_true(polytls_backend_is_builtin(b));
            assert_null(polytls_backend_module_path(b));
        }
    }
}

static void null_handles(void **state)
{
    (void)state;
    assert_false(polytls_backend_is_builtin(NULL));
    assert_null(polytls_backend_module_path(NULL));
    assert_int_equal(polytls_backend_get("openssl", NULL), POLYTLS_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(missing_module_names_every_path),
        cmocka_unit_test(name_that_could_leave_the_directory_is_refused),
        cmocka_unit_test(corrupt_file_is_refused_with_the_loader_text),
        cmocka_unit_test(corrupt_file_then_good_module_loads_the_good_one),
        cmocka_unit_test(corrupt_openssl_module_then_real_one),
        cmocka_unit_test(wrong_abi_version_is_refused),
        cmocka_unit_test(descriptor_of_the_wrong_size_is_refused),
        cmocka_unit_test(missing_entry_symbol_is_refused),
        cmocka_unit_test(module_of_another_backend_is_refused),
        cmocka_unit_test(module_built_against_another_release_is_refused),
        cmocka_unit_test(environment_chooses_the_default),
        cmocka_unit_test(threads_loading_at_once_get_one_handle),
        cmocka_unit_test(every_listed_backend_loads_as_built),
        cmocka_unit_test(null_handles),
    };
    return cmocka_run_group_tests_name("backends", tests, setup_corrupt_dir, teardown_corrupt_dir);
}
