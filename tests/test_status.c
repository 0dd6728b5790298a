/* Unit tests of core/status.c: every status has its name and a sentence,
   unknown values are named as such, the last-error message is per thread,
   and the run-time version matches the headers. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "status.h"

static const struct {
    polytls_status s;
    const char *name;
} statuses[] = {
    {POLYTLS_OK, "POLYTLS_OK"},
    {POLYTLS_ERR_TLS_ALERT, "POLYTLS_ERR_TLS_ALERT"},
    {POLYTLS_ERR_BAD_TLS_DATA, "POLYTLS_ERR_BAD_TLS_DATA"},
    {POLYTLS_ERR_INVALIDATED, "POLYTLS_ERR_INVALIDATED"},
    {POLYTLS_ERR_INVALID_ALERT_LEVEL, "POLYTLS_ERR_INVALID_ALERT_LEVEL"},
    {POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY, "POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY"},
    {POLYTLS_ERR_MORE_THAN_ONE_LEAF, "POLYTLS_ERR_MORE_THAN_ONE_LEAF"},
    {POLYTLS_ERR_NO_LEAF, "POLYTLS_ERR_NO_LEAF"},
    {POLYTLS_ERR_NO_CERTIFICATE_CHAIN, "POLYTLS_ERR_NO_CERTIFICATE_CHAIN"},
    {POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY, "POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY"},
    {POLYTLS_ERR_CALLBACK_FAILED, "POLYTLS_ERR_CALLBACK_FAILED"},
    {POLYTLS_ERR_INVALID_ARGUMENT, "POLYTLS_ERR_INVALID_ARGUMENT"},
    {POLYTLS_ERR_NO_MEMORY, "POLYTLS_ERR_NO_MEMORY"},
    {POLYTLS_ERR_BAD_ENCODING, "POLYTLS_ERR_BAD_ENCODING"},
    {POLYTLS_ERR_KEY_MISMATCH, "POLYTLS_ERR_KEY_MISMATCH"},
    {POLYTLS_ERR_UNSUPPORTED, "POLYTLS_ERR_UNSUPPORTED"},
    {POLYTLS_ERR_BACKEND_UNAVAILABLE, "POLYTLS_ERR_BACKEND_UNAVAILABLE"},
    {POLYTLS_ERR_WRONG_STATE, "POLYTLS_ERR_WRONG_STATE"},
    {POLYTLS_ERR_INTERNAL, "POLYTLS_ERR_INTERNAL"},
};
#define N_STATUSES (sizeof statuses / sizeof statuses[0])

static void every_status_has_name_and_sentence(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_STATUSES; i++) {
        assert_int_equal(statuses[i].s, (int)i); /* the enum is dense from 0 */
        assert_string_equal(polytls_status_name(statuses[i].s), statuses[i].name);
        const char *sentence = polytls_strerror(statuses[i].s);
        assert_non_null(sentence);
        assert_true(strlen(sentence) >= 7);
        assert_string_not_equal(sentence, "unknown status");
        /* sentences are distinct: each says something of its own */
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(sentence, polytls_strerror(statuses[j].s));
    }
}

static void unknown_values(void **state)
{
    (void)state;
    const int unknown[] = {-1, (int)N_STATUSES, (int)N_STATUSES + 1, 100, 1 << 30, -2147483647 - 1};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        polytls_status s = (polytls_status)unknown[i];
        assert_string_equal(polytls_status_name(s), "POLYTLS_UNKNOWN_STATUS");
        assert_string_equal(polytls_strerror(s), "unknown status");
    }
}

static void fail_sets_message_and_returns_status(void **state)
{
    (void)state;
    ptls_clear_last_error();
    assert_string_equal(polytls_last_error_message(), "");
    assert_int_equal(ptls_fail(POLYTLS_ERR_BAD_ENCODING, "line %d: %s", 12, "bad base64"),
                     POLYTLS_ERR_BAD_ENCODING);
    assert_string_equal(polytls_last_error_message(), "line 12: bad base64");
    ptls_set_last_error("second %s", "message");
    assert_string_equal(polytls_last_error_message(), "second message");
    ptls_clear_last_error();
    assert_string_equal(polytls_last_error_message(), "");
}

static void long_message_is_truncated_safely(void **state)
{
    (void)state;
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ptls_set_last_error("%s", big);
    const char *m = polytls_last_error_message();
    size_t n = strlen(m);
    assert_true(n > 100 && n < sizeof big - 1);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(m[i], 'x');
}

/* Two threads set and read their messages in lock-step: neither sees the
   other's. */
static pthread_barrier_t barrier;

static void *thread_body(void *arg)
{
    const char *tag = arg;
    ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "thread %s", tag);
    pthread_barrier_wait(&barrier); /* both have written */
    char want[32];
    snprintf(want, sizeof want, "thread %s", tag);
    bool ok = strcmp(polytls_last_error_message(), want) == 0;
    pthread_barrier_wait(&barrier);
    ptls_clear_last_error();
    pthread_barrier_wait(&barrier); /* both have cleared... */
    ok = ok && polytls_last_error_message()[0] == '\0';
    return ok ? arg : NULL;
}

static void last_error_is_per_thread(void **state)
{
    (void)state;
    ptls_set_last_error("main thread");
    assert_int_equal(pthread_barrier_init(&barrier, NULL, 2), 0);
    pthread_t a, b;
    static char ta[] = "A", tb[] = "B";
    assert_int_equal(pthread_create(&a, NULL, thread_body, ta), 0);
    assert_int_equal(pthread_create(&b, NULL, thread_body, tb), 0);
    void *ra, *rb;
    assert_int_equal(pthread_join(a, &ra), 0);
    assert_int_equal(pthread_join(b, &rb), 0);
    pthread_barrier_destroy(&barrier);
    assert_ptr_equal(ra, ta);
    assert_ptr_equal(rb, tb);
    /* ...and the main thread's message is still its own */
    assert_string_equal(polytls_last_error_message(), "main thread");
}

static void version_matches_headers(void **state)
{
    (void)state;
    assert_int_equal(polytls_version_number(), POLYTLS_VERSION_NUMBER);
    assert_string_equal(polytls_version_string(), POLYTLS_VERSION_STRING);
    char text[32];
    snprintf(text, sizeof text, "%u.%u.%u", (unsigned)(polytls_version_number() >> 16),
             (unsigned)(polytls_version_number() >> 8 & 0xff), (unsigned)(polytls_version_number() & 0xff));
    assert_string_equal(text, polytls_version_string());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_status_has_name_and_sentence),
        cmocka_unit_test(unknown_values),
        cmocka_unit_test(fail_sets_message_and_returns_status),
        cmocka_unit_test(long_message_is_truncated_safely),
        cmocka_unit_test(last_error_is_per_thread),
        cmocka_unit_test(version_matches_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
