/* reentrancy.*: from inside a connection's callbacks, data_from_wire,
   data_from_application and eof_from_wire are WRONG_STATE; the getters,
   send_alert and application_finished are allowed; polytls_conn_free is
   deferred until the outermost call returns. */
#include "harness.h"

#include <string.h>

typedef struct probe {
    unsigned runs;
    polytls_status wire, app, eof;
    polytls_status version, name;
    polytls_status finished;
} probe;

static void try_calls(cf_side *s)
{
    probe *pr = s->hook_data;
    /* once, and only once the connection pointer is known (not inside
       client_start, which has not returned it yet) */
    if (pr->runs > 0 || !s->conn)
        return;
    pr->runs++;
    const uint8_t *app = NULL;
    size_t app_len = 0;
    static const uint8_t byte = 0x16;
    pr->wire = polytls_conn_data_from_wire(s->conn, &byte, 1, &app, &app_len);
    pr->app = polytls_conn_data_from_application(s->conn, &byte, 1);
    pr->eof = polytls_conn_eof_from_wire(s->conn);
    const char *name;
    pr->name = polytls_conn_server_name(s->conn, &name);
}

static void in_write(cf_side *s, const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    try_calls(s);
}

static void in_done(cf_side *s)
{
    try_calls(s);
    probe *pr = s->hook_data;
    uint16_t v;
    pr->version = polytls_conn_tls_version(s->conn, &v);
}

static void check_refused(const probe *pr)
{
    assert_int_equal(pr->runs > 0, 1);
    cf_assert_status(pr->wire, POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(pr->app, POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(pr->eof, POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(pr->name, POLYTLS_OK);
}

/* Refused calls from inside write_to_wire change nothing: the handshake and
   the data go on. */
static void calls_in_write(void **state)
{
    (void)state;
    for (int side = 0; side < 2; side++) {
        cf_pair p;
        cf_pair_init(&p);
        probe pr = { 0 };
        /* the server's first write happens inside data_from_wire */
        cf_setup s = { .no_client = side == CF_CLIENT };
        cf_pair_setup(&p, &s);
        p.side[side].hook_data = &pr;
        p.side[side].on_write = in_write;
        if (side == CF_CLIENT) {
            /* the client's first write happens inside client_start */
            polytls_trust_store *ts = cf_load_trust("root.pem");
            cf_assert_status(polytls_client_new(cf_backend, "server.test", ts, NULL, &p.client), POLYTLS_OK);
            polytls_trust_store_unref(ts);
            cf_assert_status(cf_start_client(&p, p.client), POLYTLS_OK);
        }
        cf_handshake(&p);
        check_refused(&pr);
        cf_send_and_check(&p, CF_CLIENT, "fine", 4);
        cf_send_and_check(&p, CF_SERVER, "fine", 4);
        cf_pair_free(&p);
    }
}

static void calls_in_handshake_done(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    probe pc = { 0 }, ps = { 0 };
    cf_pair_setup(&p, NULL);
    CF_C(&p)->hook_data = &pc;
    CF_C(&p)->on_handshake_done = in_done;
    CF_S(&p)->hook_data = &ps;
    CF_S(&p)->on_handshake_done = in_done;
    cf_handshake(&p);
    check_refused(&pc);
    check_refused(&ps);
    cf_assert_status(pc.version, POLYTLS_OK);
    cf_assert_status(ps.version, POLYTLS_OK);
    cf_send_and_check(&p, CF_CLIENT, "fine", 4);
    cf_pair_free(&p);
}

/* Inside verify: getters work, the refused calls are refused. */
static int verify_probe(cf_side *s, polytls_certificate *const *chain, size_t n)
{
    (void)chain;
    (void)n;
    try_calls(s);
    return 0;
}

static void calls_in_verify(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    probe pr = { 0 };
    cf_pair_setup(&p, NULL);
    CF_C(&p)->hook_data = &pr;
    CF_C(&p)->on_verify = verify_probe;
    cf_handshake(&p);
    check_refused(&pr);
    cf_pair_free(&p);
}

/* application_finished from inside handshake_done: close_notify follows. */
static void finish_in_done(cf_side *s)
{
    probe *pr = s->hook_data;
    pr->finished = polytls_conn_application_finished(s->conn);
}

static void finished_in_callback(void **state)
{
    (void)state;
    cf_pair p;
    cf_pair_init(&p);
    probe pr = { 0 };
    cf_pair_setup(&p, NULL);
    CF_C(&p)->hook_data = &pr;
    CF_C(&p)->on_handshake_done = finish_in_done;
    cf_pump(&p);
    cf_assert_status(pr.finished, POLYTLS_OK);
    assert_true(polytls_conn_handshake_done(CF_S(&p)->conn));
    assert_true(polytls_conn_peer_closed(CF_S(&p)->conn));
    cf_pair_free(&p);
}

/* polytls_conn_free inside a callback is deferred: the outer call returns
   safely and the connection is gone afterwards (ASan checks the rest). */
static void free_conn(cf_side *s)
{
    polytls_conn_free(s->conn);
    /* still usable until the outer call returns: getters answer */
    (void)polytls_conn_handshake_done(s->conn);
    s->conn = NULL; /* the harness must not touch it any more */
}

static void free_in_write(cf_side *s, const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    if (s->conn)
        free_conn(s);
}

static int free_in_verify(cf_side *s, polytls_certificate *const *chain, size_t n)
{
    (void)chain;
    (void)n;
    free_conn(s);
    return 0;
}

static void free_in_callback(void **state)
{
    (void)state;
    /* in handshake_done, on each side */
    for (int side = 0; side < 2; side++) {
        cf_pair p;
        cf_pair_init(&p);
        cf_pair_setup(&p, NULL);
        p.side[side].on_handshake_done = free_conn;
        cf_pump(&p);
        assert_null(p.side[side].conn);
        assert_int_equal(p.side[side].handshake_done_calls, 1);
        cf_pair_free(&p);
    }
    /* in write_to_wire of the server (inside data_from_wire) */
    cf_pair p;
    cf_pair_init(&p);
    cf_pair_setup(&p, NULL);
    CF_S(&p)->on_write = free_in_write;
    cf_pump(&p);
    assert_null(CF_S(&p)->conn);
    cf_pair_free(&p);
    /* in verify */
    cf_pair_init(&p);
    cf_pair_setup(&p, NULL);
    CF_C(&p)->on_verify = free_in_verify;
    cf_pump(&p);
    assert_null(CF_C(&p)->conn);
    cf_pair_free(&p);
}

static const struct CMUnitTest tests[] = {
    CF_TEST(calls_in_write, "reentrancy.calls_in_write"),
    CF_TEST(calls_in_handshake_done, "reentrancy.calls_in_handshake_done"),
    CF_TEST(calls_in_verify, "reentrancy.calls_in_verify"),
    CF_TEST(finished_in_callback, "reentrancy.finished_in_callback"),
    CF_TEST(free_in_callback, "reentrancy.free_in_callback"),
};
CF_GROUP(cf_group_reentrancy, "reentrancy", tests);
