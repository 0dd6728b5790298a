/* Unit tests of core/buffer.c: append, consume, reserve and free edge
   cases, including the failure paths that must leave a buffer unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buffer.h"

static void append_and_grow(void **state)
{
    (void)state;
    ptls_buf b = {0};
    assert_int_equal(ptls_buf_append(&b, "abc", 3), POLYTLS_OK);
    assert_int_equal(b.len, 3);
    assert_true(b.cap >= 3);
    assert_memory_equal(b.data, "abc", 3);
    /* many appends across several growths keep every byte in order */
    uint8_t chunk[97];
    for (int i = 0; i < 1000; i++) {
        for (size_t j = 0; j < sizeof chunk; j++)
            chunk[j] = (uint8_t)(i + j);
        assert_int_equal(ptls_buf_append(&b, chunk, sizeof chunk), POLYTLS_OK);
        assert_true(b.len <= b.cap);
    }
    assert_int_equal(b.len, 3 + 1000 * sizeof chunk);
    for (int i = 0; i < 1000; i++)
        for (size_t j = 0; j < sizeof chunk; j++)
            assert_int_equal(b.data[3 + i * sizeof chunk + j], (uint8_t)(i + j));
    ptls_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

static void append_nothing(void **state)
{
    (void)state;
    ptls_buf b = {0};
    /* zero bytes, even from NULL: OK and no allocation */
    assert_int_equal(ptls_buf_append(&b, NULL, 0), POLYTLS_OK);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(ptls_buf_append(&b, "x", 0), POLYTLS_OK);
    assert_null(b.data);
    ptls_buf_free(&b); /* freeing an empty buffer is fine */
    ptls_buf_free(&b); /* and twice */
    ptls_buf_wipe_free(&b);
}

static void one_large_append(void **state)
{
    (void)state;
    ptls_buf b = {0};
    static uint8_t big[1 << 20];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    assert_int_equal(ptls_buf_append(&b, big, sizeof big), POLYTLS_OK);
    assert_int_equal(b.len, sizeof big);
    assert_memory_equal(b.data, big, sizeof big);
    ptls_buf_free(&b);
}

static void consume_edges(void **state)
{
    (void)state;
    ptls_buf b = {0};
    ptls_buf_consume(&b, 0); /* on an empty buffer */
    ptls_buf_consume(&b, 10);
    assert_int_equal(b.len, 0);

    assert_int_equal(ptls_buf_append(&b, "0123456789", 10), POLYTLS_OK);
    ptls_buf_consume(&b, 0);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "0123456789", 10);
    ptls_buf_consume(&b, 3); /* from the front */
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.data, "3456789", 7);
    ptls_buf_consume(&b, 6);
    assert_int_equal(b.len, 1);
    assert_memory_equal(b.data, "9", 1);
    ptls_buf_consume(&b, 1); /* exactly all */
    assert_int_equal(b.len, 0);

    assert_int_equal(ptls_buf_append(&b, "abc", 3), POLYTLS_OK);
    ptls_buf_consume(&b, 1000); /* more than there is */
    assert_int_equal(b.len, 0);
    ptls_buf_consume(&b, SIZE_MAX);
    assert_int_equal(b.len, 0);

    /* the space is reused: interleaved append/consume never grows past need */
    size_t cap = b.cap;
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(ptls_buf_append(&b, "hello", 5), POLYTLS_OK);
        ptls_buf_consume(&b, 5);
    }
    assert_int_equal(b.cap, cap);
    assert_int_equal(ptls_buf_append(&b, "xy", 2), POLYTLS_OK);
    assert_memory_equal(b.data, "xy", 2);
    ptls_buf_free(&b);
}

static void reserve_edges(void **state)
{
    (void)state;
    ptls_buf b = {0};
    assert_int_equal(ptls_buf_reserve(&b, 0), POLYTLS_OK);
    assert_int_equal(ptls_buf_reserve(&b, 1000), POLYTLS_OK);
    assert_true(b.cap - b.len >= 1000);
    assert_int_equal(b.len, 0);
    assert_int_equal(ptls_buf_append(&b, "abcdef", 6), POLYTLS_OK);
    uint8_t *data = b.data;
    size_t cap = b.cap;
    /* already enough room: nothing moves */
    assert_int_equal(ptls_buf_reserve(&b, cap - 6), POLYTLS_OK);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    /* more room keeps the contents */
    assert_int_equal(ptls_buf_reserve(&b, cap), POLYTLS_OK);
    assert_true(b.cap - b.len >= cap);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "abcdef", 6);

    /* impossible sizes: NO_MEMORY, buffer unchanged (no allocation tried) */
    data = b.data;
    cap = b.cap;
    assert_int_equal(ptls_buf_reserve(&b, SIZE_MAX), POLYTLS_ERR_NO_MEMORY);
    assert_int_equal(ptls_buf_reserve(&b, SIZE_MAX / 2), POLYTLS_ERR_NO_MEMORY);
    assert_int_equal(ptls_buf_append(&b, "z", SIZE_MAX - 3), POLYTLS_ERR_NO_MEMORY);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "abcdef", 6);
    ptls_buf_free(&b);
}

static void wipe(void **state)
{
    (void)state;
    uint8_t secret[64];
    memset(secret, 0xA5, sizeof secret);
    ptls_wipe(secret, 10);
    for (size_t i = 0; i < sizeof secret; i++)
        assert_int_equal(secret[i], i < 10 ? 0 : 0xA5);
    ptls_wipe(secret, 0);
    ptls_wipe(secret, sizeof secret);
    for (size_t i = 0; i < sizeof secret; i++)
        assert_int_equal(secret[i], 0);

    ptls_buf b = {0};
    assert_int_equal(ptls_buf_append(&b, "top secret", 10), POLYTLS_OK);
    ptls_buf_wipe_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(append_and_grow),
        cmocka_unit_test(append_nothing),
        cmocka_unit_test(one_large_append),
        cmocka_unit_test(consume_edges),
        cmocka_unit_test(reserve_edges),
        cmocka_unit_test(wipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
