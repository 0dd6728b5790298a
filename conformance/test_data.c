/* data.*: application data both ways, any split of the stream, many records
   in one input, and data written before the handshake ends. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static uint8_t *pattern(size_t n, uint32_t seed)
{
    uint8_t *b = cf_xmalloc(n);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (uint8_t)(seed >> 16);
    }
    return b;
}

static void both_ways(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        cf_pair_init(&p);
        cf_setup s = { .client_max = v ? 0x0303 : 0 };
        cf_pair_setup(&p, &s);
        cf_handshake(&p);
        cf_send_and_check(&p, CF_CLIENT, "GET / HTTP/1.0\r\n\r\n", 18);
        cf_send_and_check(&p, CF_SERVER, "HTTP/1.0 200 OK\r\n\r\n", 19);
        cf_send_and_check(&p, CF_CLIENT, "x", 1);
        /* a zero-length write is OK and sends nothing */
        unsigned writes = CF_C(&p)->writes;
        cf_assert_status(polytls_conn_data_from_application(CF_C(&p)->conn,
                                                            (const uint8_t *)"", 0),
                         POLYTLS_OK);
        assert_int_equal(CF_C(&p)->writes, writes);
        cf_pair_free(&p);
    }
}

/* Application data fed one byte per data_from_wire call. */
static void one_byte_at_a_time(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    cf_pair_setup(&p, NULL);
    cf_handshake(&p);
    p.split = CF_SPLIT_BYTES;
    uint8_t *data = pattern(3000, 1);
    cf_send_and_check(&p, CF_CLIENT, data, 3000);
    cf_send_and_check(&p, CF_SERVER, data, 3000);
    free(data);
    cf_pair_free(&p);
}

/* 100 KB written as 100 records, then delivered as one input. */
static void many_records_one_input(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        cf_pair_init(&p);
        cf_setup s = { .client_max = v ? 0x0303 : 0 };
        cf_pair_setup(&p, &s);
        cf_handshake(&p);
        const size_t total = 100 * 1024, piece = 1024;
        uint8_t *data = pattern(total, 7);
        for (size_t off = 0; off < total; off += piece)
            cf_assert_status(polytls_conn_data_from_application(CF_C(&p)->conn, data + off, piece),
                             POLYTLS_OK);
        /* everything is queued on the client side now: one call delivers it */
        assert_true(CF_C(&p)->out_len > total);
        size_t before = CF_S(&p)->app_len;
        cf_pump(&p);
        cf_assert_conn_status(CF_S(&p)->first_error, POLYTLS_OK, CF_S(&p)->conn);
        assert_int_equal(CF_S(&p)->app_len - before, total);
        assert_memory_equal(CF_S(&p)->app + before, data, total);
        free(data);
        cf_pair_free(&p);
    }
}

/* One 100 KB write (split into records by the library), in random splits. */
static void large_write_random_splits(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    p.split = CF_SPLIT_RANDOM;
    cf_pair_setup(&p, NULL);
    cf_handshake(&p);
    const size_t total = 100 * 1024;
    uint8_t *data = pattern(total, 9);
    cf_send_and_check(&p, CF_SERVER, data, total);
    cf_send_and_check(&p, CF_CLIENT, data, total);
    free(data);
    cf_pair_free(&p);
}

/* Data written right after start is held until the handshake is done, then
   sent encrypted, in order with data written later. */
static void before_handshake(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        cf_pair_init(&p);
        cf_setup s = { .client_max = v ? 0x0303 : 0 };
        cf_pair_setup(&p, &s);
        static const char early[] = "EARLY-CLIENT-DATA-MARKER";
        static const char srv[] = "EARLY-SERVER-DATA-MARKER";
        cf_assert_status(polytls_conn_data_from_application(CF_C(&p)->conn,
                                                            (const uint8_t *)early, 24),
                         POLYTLS_OK);
        cf_assert_status(polytls_conn_data_from_application(CF_S(&p)->conn,
                                                            (const uint8_t *)srv, 24),
                         POLYTLS_OK);
        cf_handshake(&p);
        /* arrived exactly once, and was never on the wire in clear */
        assert_int_equal(CF_S(&p)->app_len, 24);
        assert_memory_equal(CF_S(&p)->app, early, 24);
        assert_int_equal(CF_C(&p)->app_len, 24);
        assert_memory_equal(CF_C(&p)->app, srv, 24);
        assert_false(cf_contains(CF_C(&p)->log, CF_C(&p)->log_len, early, 24));
        assert_false(cf_contains(CF_S(&p)->log, CF_S(&p)->log_len, srv, 24));
        /* later data follows in order */
        cf_send_and_check(&p, CF_CLIENT, "-LATER", 6);
        assert_memory_equal(CF_S(&p)->app, "EARLY-CLIENT-DATA-MARKER-LATER", 30);
        cf_pair_free(&p);
    }
}

static const struct CMUnitTest tests[] = {
    CF_TEST(both_ways, "data.both_ways"),
    CF_TEST(one_byte_at_a_time, "data.one_byte_at_a_time"),
    CF_TEST(many_records_one_input, "data.many_records_one_input"),
    CF_TEST(large_write_random_splits, "data.large_write_random_splits"),
    CF_TEST(before_handshake, "data.before_handshake"),
};
CF_GROUP(cf_group_data, "data", tests);
