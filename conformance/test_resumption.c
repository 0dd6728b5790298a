/* resumption.*: session resumption (TLS 1.3 tickets, TLS 1.2 RFC 5077
   tickets), the same on every backend with POLYTLS_CAP_RESUMPTION: a session
   taken from one connection resumes on the next one, survives serialisation,
   is refused when the server is off or rotated its key, is invalidated by a
   fatal alert on either side, and the verify callback still runs exactly
   once on a resumed handshake (with the chain verified when the session was
   created). A backend without the bit refuses every "on" setter with
   UNSUPPORTED and nothing else runs. */
#include "harness.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

static const uint16_t versions[] = { 0x0304, 0x0303 };
#define N_VERSIONS (sizeof versions / sizeof versions[0])

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* Without POLYTLS_CAP_RESUMPTION: every setter with on = true is
   UNSUPPORTED (off stays allowed) and the caller stops. */
static bool have_resumption(void)
{
    if (cf_has_cap(POLYTLS_CAP_RESUMPTION))
        return true;
    polytls_trust_store *ts = cf_load_trust("root.pem");
    polytls_client *c = NULL;
    cf_assert_status(polytls_client_new(cf_backend, "server.test", ts, NULL, &c), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    cf_assert_status(polytls_client_set_resumption(c, true), POLYTLS_ERR_UNSUPPORTED);
    cf_assert_status(polytls_client_set_resumption(c, false), POLYTLS_OK);
    polytls_client_free(c);

    cf_certs chain = cf_load_chain("server-ec");
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_chain_new(chain.v, chain.n, &sc), POLYTLS_OK);
    cf_certs_free(&chain);
    polytls_server *s = NULL;
    cf_assert_status(polytls_server_new(cf_backend, sc, NULL, 0, &s), POLYTLS_OK);
    polytls_server_certificates_unref(sc);
    cf_assert_status(polytls_server_set_resumption(s, true, 0), POLYTLS_ERR_UNSUPPORTED);
    cf_assert_status(polytls_server_set_resumption(s, true, 3600), POLYTLS_ERR_UNSUPPORTED);
    cf_assert_status(polytls_server_set_resumption(s, false, 0), POLYTLS_OK);
    cf_assert_status(polytls_server_rotate_ticket_key(s), POLYTLS_ERR_WRONG_STATE);
    polytls_server_free(s);
    return false;
}

static const uint8_t *const alpn_protos[] = { (const uint8_t *)"h2" };
static const size_t alpn_lens[] = { 2 };

/* A server (server-ec chain, ALPN h2) pinned to `version` (0: default). */
static polytls_server *new_server(uint16_t version, bool resumption, uint32_t lifetime)
{
    cf_certs chain = cf_load_chain("server-ec");
    polytls_server_certificates *sc = NULL;
    cf_assert_status(polytls_server_chain_new(chain.v, chain.n, &sc), POLYTLS_OK);
    cf_certs_free(&chain);
    polytls_server *s = NULL;
    polytls_status st = polytls_server_new(cf_backend, sc, NULL, 0, &s);
    polytls_server_certificates_unref(sc);
    cf_assert_status(st, POLYTLS_OK);
    if (version)
        cf_assert_status(polytls_server_set_versions(s, version, version), POLYTLS_OK);
    cf_assert_status(polytls_server_set_alpn(s, alpn_protos, alpn_lens, 1), POLYTLS_OK);
    if (resumption)
        cf_assert_status(polytls_server_set_resumption(s, true, lifetime), POLYTLS_OK);
    return s;
}

/* A client for `host` trusting `trust` (ALPN h2). */
static polytls_client *new_client_for(uint16_t version, bool resumption, const char *host, const char *trust)
{
    polytls_trust_store *ts = cf_load_trust(trust);
    polytls_client *c = NULL;
    polytls_status st = polytls_client_new(cf_backend, host, ts, NULL, &c);
    polytls_trust_store_unref(ts);
    cf_assert_status(st, POLYTLS_OK);
    if (version)
        cf_assert_status(polytls_client_set_versions(c, version, version), POLYTLS_OK);
    cf_assert_status(polytls_client_set_alpn(c, alpn_protos, alpn_lens, 1), POLYTLS_OK);
    if (resumption)
        cf_assert_status(polytls_client_set_resumption(c, true), POLYTLS_OK);
    return c;
}

static polytls_client *new_client(uint16_t version, bool resumption)
{
    return new_client_for(version, resumption, "server.test", "root.pem");
}

/* One connection between existing endpoints (borrowed, not freed by
   conn_free): the client offers `session` when not NULL. Both sides are
   started, nothing is delivered yet. */
static void conn_start(cf_pair *p, polytls_client *c, polytls_server *s, polytls_session *session)
{
    cf_pair_init(p);
    cf_assert_status(cf_start_server(p, s), POLYTLS_OK);
    if (session)
        cf_assert_status(polytls_client_start_with_session(c, session, &cf_callbacks, CF_C(p),
                                                           &CF_C(p)->conn),
                         POLYTLS_OK);
    else
        cf_assert_status(cf_start_client(p, c), POLYTLS_OK);
}

/* Frees the connections and buffers of a pair, keeping the endpoints. */
static void conn_free(cf_pair *p)
{
    p->client = NULL;
    p->server = NULL;
    cf_pair_free(p);
}

static void assert_alpn_h2(const cf_pair *p)
{
    for (int side = 0; side < 2; side++) {
        const uint8_t *proto = NULL;
        size_t len = 0;
        cf_assert_status(polytls_conn_alpn(p->side[side].conn, &proto, &len), POLYTLS_OK);
        assert_int_equal(len, 2);
        assert_memory_equal(proto, "h2", 2);
    }
}

static void assert_version(const cf_pair *p, uint16_t version)
{
    uint16_t v = 0;
    cf_assert_status(polytls_conn_tls_version(CF_C(p)->conn, &v), POLYTLS_OK);
    assert_int_equal(v, version);
}

static void assert_resumed(const cf_pair *p, bool resumed)
{
    if (polytls_conn_resumed(CF_C(p)->conn) != resumed)
        cf_fail("client: resumed is %d, expected %d", !resumed, resumed);
    if (polytls_conn_resumed(CF_S(p)->conn) != resumed)
        cf_fail("server: resumed is %d, expected %d", !resumed, resumed);
}

/* A full connection whose session is returned (the client has read the
   ticket). */
static polytls_session *first_session(polytls_client *c, polytls_server *s, uint16_t version)
{
    cf_pair p;
    conn_start(&p, c, s, NULL);
    cf_handshake(&p);
    assert_version(&p, version);
    assert_resumed(&p, false);
    assert_int_equal(CF_C(&p)->verify_calls, 1);
    polytls_session *session = NULL;
    cf_assert_conn_status(polytls_conn_get_session(CF_C(&p)->conn, &session), POLYTLS_OK, CF_C(&p)->conn);
    assert_non_null(session);
    assert_false(polytls_session_invalidated(session));
    conn_free(&p);
    return session;
}

/* A connection offering `session` that completes; returns whether it
   resumed (both sides agree) and checks the verify callback ran once. */
static bool offer(polytls_client *c, polytls_server *s, polytls_session *session, uint16_t version)
{
    cf_pair p;
    conn_start(&p, c, s, session);
    cf_handshake(&p);
    assert_version(&p, version);
    bool resumed = polytls_conn_resumed(CF_C(&p)->conn);
    assert_resumed(&p, resumed);
    assert_int_equal(CF_C(&p)->verify_calls, 1);
    cf_send_and_check(&p, CF_CLIENT, "ping", 4);
    cf_send_and_check(&p, CF_SERVER, "pong", 4);
    conn_free(&p);
    return resumed;
}

/* Moves one side's pending output to the other side. */
static void step(cf_pair *p, int from)
{
    cf_side *src = &p->side[from];
    size_t n = src->out_len;
    if (!n)
        return;
    uint8_t *chunk = cf_xmalloc(n);
    memcpy(chunk, src->out, n);
    src->out_len = 0;
    cf_deliver(p, 1 - from, chunk, n);
    free(chunk);
}

/* The number of whole TLS records in a byte stream. */
static size_t count_records(const uint8_t *wire, size_t len)
{
    size_t n = 0, off = 0;
    while (off + 5 <= len) {
        size_t rlen = ((size_t)wire[off + 3] << 8) | wire[off + 4];
        if (off + 5 + rlen > len)
            break;
        off += 5 + rlen;
        n++;
    }
    assert_int_equal(off, len);
    return n;
}

/* Makes side `from` write one application record, flips a byte of its
   ciphertext and delivers it to the other side (which must fail). */
static void deliver_tampered(cf_pair *p, int from)
{
    cf_side *src = &p->side[from];
    assert_int_equal(src->out_len, 0);
    cf_assert_status(polytls_conn_data_from_application(src->conn, (const uint8_t *)"tampered", 8),
                     POLYTLS_OK);
    assert_true(src->out_len > 5 + 8);
    size_t n = src->out_len;
    uint8_t *rec = cf_xmalloc(n);
    memcpy(rec, src->out, n);
    src->out_len = 0;
    rec[n - 3] ^= 0x40; /* inside the AEAD tag of the last record */
    cf_deliver(p, 1 - from, rec, n);
    free(rec);
    cf_side *dst = &p->side[1 - from];
    if (dst->first_error == POLYTLS_OK)
        cf_fail("the tampered record was accepted");
    /* the receiver's fatal alert reaches the sender */
    cf_pump(p);
    if (src->first_error == POLYTLS_OK)
        cf_fail("the sender of the tampered record did not see the peer's fatal alert");
}

static uint8_t *serialize(const polytls_session *s, size_t *len)
{
    size_t need = 0;
    cf_assert_status(polytls_session_serialize(s, NULL, 0, &need), POLYTLS_OK);
    assert_true(need > 0);
    uint8_t *buf = cf_xmalloc(need);
    size_t got = 0;
    cf_assert_status(polytls_session_serialize(s, buf, need, &got), POLYTLS_OK);
    assert_int_equal(got, need);
    *len = got;
    return buf;
}

static polytls_session *deserialize(const uint8_t *buf, size_t len)
{
    polytls_session *s = NULL;
    cf_assert_status(polytls_session_deserialize(buf, len, &s), POLYTLS_OK);
    assert_non_null(s);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

/* The capability bit decides: setters work with it, UNSUPPORTED without. */
static void capability(void **state)
{
    (void)state;
    if (!have_resumption())
        return;
    polytls_client *c = new_client(0, false);
    cf_assert_status(polytls_client_set_resumption(c, true), POLYTLS_OK);
    cf_assert_status(polytls_client_set_resumption(c, false), POLYTLS_OK);
    polytls_client_free(c);
    polytls_server *s = new_server(0, false, 0);
    cf_assert_status(polytls_server_rotate_ticket_key(s), POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(polytls_server_set_resumption(s, true, 0), POLYTLS_OK);
    cf_assert_status(polytls_server_set_resumption(s, true, 604800), POLYTLS_OK);
    cf_assert_status(polytls_server_set_resumption(s, false, 0), POLYTLS_OK);
    polytls_server_free(s);
}

/* 1. A full handshake, its session, a resumed second connection. */
static void resume(uint16_t version)
{
    polytls_server *s = new_server(version, true, 0);
    polytls_client *c = new_client(version, true);

    /* First connection, moved step by step to see when the session exists. */
    cf_pair p1;
    conn_start(&p1, c, s, NULL);
    polytls_session *session = NULL;
    step(&p1, CF_CLIENT); /* ClientHello */
    step(&p1, CF_SERVER); /* the server's flight */
    assert_int_equal(CF_C(&p1)->first_error, POLYTLS_OK);
    if (version == 0x0304) {
        /* TLS 1.3: the client is done, the ticket has not come yet */
        assert_true(polytls_conn_handshake_done(CF_C(&p1)->conn));
        cf_assert_status(polytls_conn_get_session(CF_C(&p1)->conn, &session), POLYTLS_ERR_WRONG_STATE);
        assert_null(session);
        /* the client's Finished: the server answers with exactly one ticket,
           in one record (the only bytes it writes then) */
        step(&p1, CF_CLIENT);
        assert_int_equal(count_records(CF_S(&p1)->out, CF_S(&p1)->out_len), 1);
    }
    cf_handshake(&p1); /* the rest, with the server's post-handshake bytes */
    assert_version(&p1, version);
    assert_resumed(&p1, false);
    assert_int_equal(CF_C(&p1)->verify_calls, 1);
    assert_alpn_h2(&p1);
    cf_assert_conn_status(polytls_conn_get_session(CF_C(&p1)->conn, &session), POLYTLS_OK, CF_C(&p1)->conn);
    assert_non_null(session);
    assert_false(polytls_session_invalidated(session));
    /* every call hands out a fresh object */
    polytls_session *again = NULL;
    cf_assert_status(polytls_conn_get_session(CF_C(&p1)->conn, &again), POLYTLS_OK);
    assert_non_null(again);
    assert_ptr_not_equal(again, session);
    polytls_session_free(again);

    /* Second connection: resumed on both sides. */
    cf_pair p2;
    conn_start(&p2, c, s, session);
    assert_false(polytls_conn_resumed(CF_C(&p2)->conn)); /* not before the handshake */
    step(&p2, CF_CLIENT);
    step(&p2, CF_SERVER);
    assert_int_equal(CF_C(&p2)->first_error, POLYTLS_OK);
    if (version == 0x0304) {
        /* the session it resumed is not handed out again: only the new ticket */
        assert_true(polytls_conn_handshake_done(CF_C(&p2)->conn));
        polytls_session *early = NULL;
        cf_assert_status(polytls_conn_get_session(CF_C(&p2)->conn, &early), POLYTLS_ERR_WRONG_STATE);
        assert_null(early);
    }
    cf_handshake(&p2);
    assert_version(&p2, version);
    assert_resumed(&p2, true);
    /* the verify callback ran exactly once, with the first chain */
    assert_int_equal(CF_C(&p2)->verify_calls, 1);
    assert_int_equal(CF_C(&p2)->verify_n, CF_C(&p1)->verify_n);
    for (size_t i = 0; i < CF_C(&p1)->verify_n && i < CF_MAX_CHAIN; i++) {
        assert_int_equal(CF_C(&p2)->verify_der_len[i], CF_C(&p1)->verify_der_len[i]);
        assert_memory_equal(CF_C(&p2)->verify_der[i], CF_C(&p1)->verify_der[i], CF_C(&p1)->verify_der_len[i]);
    }
    polytls_certificate *const *chain = NULL;
    size_t n = 0;
    cf_assert_status(polytls_conn_peer_chain(CF_C(&p2)->conn, &chain, &n), POLYTLS_OK);
    assert_int_equal(n, CF_C(&p1)->verify_n);
    for (size_t i = 0; i < n && i < CF_MAX_CHAIN; i++) {
        const uint8_t *der = NULL;
        size_t len = 0;
        cf_assert_status(polytls_certificate_der(chain[i], &der, &len), POLYTLS_OK);
        assert_int_equal(len, CF_C(&p1)->verify_der_len[i]);
        assert_memory_equal(der, CF_C(&p1)->verify_der[i], len);
    }
    cf_assert_der_is(CF_C(&p1)->verify_der[0], CF_C(&p1)->verify_der_len[0], "server-ec");
    assert_alpn_h2(&p2);
    cf_send_and_check(&p2, CF_CLIENT, "after resumption", 16);
    cf_send_and_check(&p2, CF_SERVER, "reply", 5);
    /* the resumed connection hands out a session too, which resumes */
    polytls_session *next = NULL;
    cf_assert_conn_status(polytls_conn_get_session(CF_C(&p2)->conn, &next), POLYTLS_OK, CF_C(&p2)->conn);
    /* with a new ticket (one per resumed handshake too) */
    size_t len1 = 0, len2 = 0;
    uint8_t *bytes1 = serialize(session, &len1), *bytes2 = serialize(next, &len2);
    bool new_ticket = !(len1 == len2 && memcmp(bytes1, bytes2, len1) == 0);
    if (version == 0x0303)
        cf_check_value("resumption.resume_tls12/new_ticket", 1, new_ticket);
    else
        assert_true(new_ticket);
    free(bytes1);
    free(bytes2);
    conn_free(&p2);
    conn_free(&p1);
    assert_true(offer(c, s, next, version));
    polytls_session_free(next);

    polytls_session_free(session);
    polytls_client_free(c);
    polytls_server_free(s);
}

static void resume_tls13(void **state)
{
    (void)state;
    if (have_resumption())
        resume(0x0304);
}

static void resume_tls12(void **state)
{
    (void)state;
    if (have_resumption())
        resume(0x0303);
}

/* 2. Serialised, freed, read back: resumes. Size query and a short cap. */
static void serialized(void **state)
{
    (void)state;
    if (!have_resumption())
        return;
    for (size_t v = 0; v < N_VERSIONS; v++) {
        polytls_server *s = new_server(versions[v], true, 0);
        polytls_client *c = new_client(versions[v], true);
        polytls_session *session = first_session(c, s, versions[v]);
        size_t need = 0;
        cf_assert_status(polytls_session_serialize(session, NULL, 0, &need), POLYTLS_OK);
        assert_true(need > 0);
        uint8_t *buf = cf_xmalloc(need + 16);
        size_t got = 12345;
        cf_assert_status(polytls_session_serialize(session, buf, need - 1, &got), POLYTLS_ERR_INVALID_ARGUMENT);
        cf_assert_status(polytls_session_serialize(session, buf, need + 16, &got), POLYTLS_OK);
        assert_int_equal(got, need);
        polytls_session_free(session);

        polytls_session *back = deserialize(buf, got);
        assert_false(polytls_session_invalidated(back));
        /* the copy serialises to the same bytes */
        size_t len2 = 0;
        uint8_t *buf2 = serialize(back, &len2);
        assert_int_equal(len2, got);
        assert_memory_equal(buf2, buf, got);
        free(buf2);
        assert_true(offer(c, s, back, versions[v]));
        polytls_session_free(back);
        free(buf);
        polytls_client_free(c);
        polytls_server_free(s);
    }
}

/* 2. Bytes that are not a session: BAD_ENCODING, never a crash. A byte
   flipped deep inside (the backend's part) is refused at start or makes a
   full handshake. */
static void corrupted(void **state)
{
    (void)state;
    if (!have_resumption())
        return;
    for (size_t v = 0; v < N_VERSIONS; v++) {
        polytls_server *s = new_server(versions[v], true, 0);
        polytls_client *c = new_client(versions[v], true);
        polytls_session *session = first_session(c, s, versions[v]);
        size_t len = 0;
        uint8_t *good = serialize(session, &len);
        polytls_session_free(session);
        assert_true(len > 64);
        uint8_t *bad = cf_xmalloc(len);
        polytls_session *out = NULL;

        /* garbage and empty input */
        memset(bad, 0xA5, len);
        cf_assert_status(polytls_session_deserialize(bad, len, &out), POLYTLS_ERR_BAD_ENCODING);
        assert_null(out);
        cf_assert_status(polytls_session_deserialize(good, 0, &out), POLYTLS_ERR_BAD_ENCODING);
        assert_null(out);
        /* truncated anywhere */
        static const size_t cuts[] = { 1, 4, 8, 16, 32 };
        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            cf_assert_status(polytls_session_deserialize(good, cuts[i], &out), POLYTLS_ERR_BAD_ENCODING);
            assert_null(out);
        }
        cf_assert_status(polytls_session_deserialize(good, len / 2, &out), POLYTLS_ERR_BAD_ENCODING);
        assert_null(out);
        cf_assert_status(polytls_session_deserialize(good, len - 1, &out), POLYTLS_ERR_BAD_ENCODING);
        assert_null(out);
        /* one flipped byte in the header (the first bytes) */
        for (size_t i = 0; i < 8; i++) {
            memcpy(bad, good, len);
            bad[i] ^= 0x01;
            cf_assert_status(polytls_session_deserialize(bad, len, &out), POLYTLS_ERR_BAD_ENCODING);
            assert_null(out);
        }
        /* a flipped byte at several places of the tail (the backend's bytes):
           refused when read or started, or a full handshake */
        static const size_t from_end[] = { 1, 2, 8, 17, 33, 64 };
        for (size_t i = 0; i < sizeof from_end / sizeof from_end[0]; i++) {
            memcpy(bad, good, len);
            bad[len - from_end[i]] ^= 0x10;
            polytls_status st = polytls_session_deserialize(bad, len, &out);
            if (st == POLYTLS_ERR_BAD_ENCODING) {
                assert_null(out);
                continue;
            }
            cf_assert_status(st, POLYTLS_OK);
            cf_pair p;
            cf_pair_init(&p);
            cf_assert_status(cf_start_server(&p, s), POLYTLS_OK);
            st = polytls_client_start_with_session(c, out, &cf_callbacks, CF_C(&p), &CF_C(&p)->conn);
            if (st == POLYTLS_ERR_BAD_ENCODING) {
                assert_null(CF_C(&p)->conn);
            } else {
                cf_assert_status(st, POLYTLS_OK);
                cf_handshake(&p);
                assert_resumed(&p, false);
                assert_int_equal(CF_C(&p)->verify_calls, 1);
                cf_send_and_check(&p, CF_CLIENT, "full", 4);
            }
            conn_free(&p);
            polytls_session_free(out);
            out = NULL;
        }
        /* the intact bytes still work */
        polytls_session *back = deserialize(good, len);
        assert_true(offer(c, s, back, versions[v]));
        polytls_session_free(back);
        free(bad);
        free(good);
        polytls_client_free(c);
        polytls_server_free(s);
    }
}

/* 3. Server off: full handshakes (verify with the fresh chain). Client
   off: no session to get. */
static void server_off(void **state)
{
    (void)state;
    if (!have_resumption())
        return;
    for (size_t v = 0; v < N_VERSIONS; v++) {
        polytls_server *on = new_server(versions[v], true, 0);
        polytls_server *off = new_server(versions[v], false, 0);
        polytls_client *c = new_client(versions[v], true);
        polytls_session *session = first_session(c, on, versions[v]);
        /* the off server never resumes it */
        cf_pair p;
        conn_start(&p, c, off, session);
        cf_handshake(&p);
        assert_resumed(&p, false);
        assert_int_equal(CF_C(&p)->verify_calls, 1);
        cf_assert_der_is(CF_C(&p)->verify_der[0], CF_C(&p)->verify_der_len[0], "server-ec");
        cf_send_and_check(&p, CF_CLIENT, "full", 4);
        /* and issues no ticket. TLS 1.3: no session at all. TLS 1.2: the
           server may still have given a session id (some libraries always
           do), which makes a session that never resumes (no server cache). */
        polytls_session *none = NULL;
        polytls_status st = polytls_conn_get_session(CF_C(&p)->conn, &none);
        conn_free(&p);
        if (versions[v] == 0x0304 || st != POLYTLS_OK) {
            cf_assert_status(st, POLYTLS_ERR_WRONG_STATE);
            assert_null(none);
        } else {
            assert_false(offer(c, off, none, versions[v]));
            polytls_session_free(none);
        }
        polytls_session_free(session);
        polytls_client_free(c);
        polytls_server_free(on);
        polytls_server_free(off);
    }
}

static void client_off(void **state)
{
    (void)state;
    if (!have_resumption())
        return;
    for (size_t v = 0; v < N_VERSIONS; v++) {
        polytls_server *s = new_server(versions[v], true, 0);
        polytls_client *c = new_client(versions[v], false);
        for (int round = 0; round < 2; round++) {
            cf_pair p;
            conn_start(&p, c, s, NULL);
            cf_handshake(&p);
            assert_resumed(&p, false);
            assert_int_equal(CF_C(&p)->verify_calls, 1);
            cf_send_and_check(&p, CF_SERVER, "data", 4);
            polytls_session *none = NULL;
            cf_assert_status(polytls_conn_get_session(CF_C(&p)->conn, &none), POLYTLS_ERR_WRONG_STATE);
            assert_null(none);
            conn_free(&p);
        }
        polytls_client_free(c);
        polytls_server_free(s);
    }
}

/* 4. After a key rotation the old session makes a full handshake; the new
   connection's session resumes. */
static void rotate(void **state)
{
    (void)state;
    if (!have_resumption())
        return;
    for (size_t v = 0; v < N_VERSIONS; v++) {
        polytls_server *s = new_server(versions[v], true, 0);
        polytls_client *c = new_client(versions[v], true);
        polytls_session *old = first_session(c, s, versions[v]);
        cf_assert_status(polytls_server_rotate_ticket_key(s), POLYTLS_OK);

        cf_pair p;
        conn_start(&p, c, s, old);
        cf_handshake(&p);
        assert_resumed(&p, false);
        assert_int_equal(CF_C(&p)->verify_calls, 1);
        polytls_session *fresh = NULL;
        polytls_status fresh_st = polytls_conn_get_session(CF_C(&p)->conn, &fresh);
        if (versions[v] == 0x0303)
            cf_check_value("resumption.rotate/tls12_new_ticket", POLYTLS_OK, fresh_st);
        else
            cf_assert_conn_status(fresh_st, POLYTLS_OK, CF_C(&p)->conn);
        conn_free(&p);
        if (fresh_st == POLYTLS_OK)
            assert_true(offer(c, s, fresh, versions[v]));
        polytls_session_free(fresh);
        polytls_session_free(old);
        polytls_client_free(c);
        polytls_server_free(s);
    }
}

/* The session is invalidated: serialize and start say INVALIDATED. */
static void assert_session_invalidated(polytls_client *c, polytls_session *session)
{
    assert_true(polytls_session_invalidated(session));
    size_t len = 0;
    cf_assert_status(polytls_session_serialize(session, NULL, 0, &len), POLYTLS_ERR_INVALIDATED);
    uint8_t buf[16];
    cf_assert_status(polytls_session_serialize(session, buf, sizeof buf, &len), POLYTLS_ERR_INVALIDATED);
    polytls_conn *conn = NULL;
    cf_side dummy;
    memset(&dummy, 0, sizeof dummy);
    cf_assert_status(polytls_client_start_with_session(c, session, &cf_callbacks, &dummy, &conn),
                     POLYTLS_ERR_INVALIDATED);
    assert_null(conn);
}

/* 5a/5b. A fatal alert after the ticket arrived, received (from == server:
   the client receives the tampered record and sends the alert) or sent by
   the client (from == client: the server receives it). */
static void invalidated_by(int from)
{
    for (size_t v = 0; v < N_VERSIONS; v++) {
        polytls_server *s = new_server(versions[v], true, 0);
        polytls_client *c = new_client(versions[v], true);
        cf_pair p;
        conn_start(&p, c, s, NULL);
        cf_handshake(&p);
        polytls_session *session = NULL;
        cf_assert_conn_status(polytls_conn_get_session(CF_C(&p)->conn, &session), POLYTLS_OK, CF_C(&p)->conn);
        size_t len = 0;
        uint8_t *copy = serialize(session, &len);

        deliver_tampered(&p, from);
        assert_true(polytls_conn_invalidated(CF_C(&p)->conn));
        assert_true(polytls_conn_invalidated(CF_S(&p)->conn));
        polytls_session *late = NULL;
        cf_assert_status(polytls_conn_get_session(CF_C(&p)->conn, &late), POLYTLS_ERR_INVALIDATED);
        assert_null(late);
        conn_free(&p);

        assert_session_invalidated(c, session);
        /* the copy made before: the server revoked its ticket */
        polytls_session *back = deserialize(copy, len);
        assert_false(offer(c, s, back, versions[v]));
        polytls_session_free(back);
        free(copy);
        polytls_session_free(session);
        polytls_client_free(c);
        polytls_server_free(s);
    }
}

static void invalidated_client_receives_bad_record(void **state)
{
    (void)state;
    if (have_resumption())
        invalidated_by(CF_SERVER);
}

static void invalidated_server_receives_bad_record(void **state)
{
    (void)state;
    if (have_resumption())
        invalidated_by(CF_CLIENT);
}

/* 5c. A connection that resumed and then failed invalidates the session it
   was started with (and copies of it no longer resume). */
static void invalidated_after_resumption(void **state)
{
    (void)state;
    if (!have_resumption())
        return;
    for (size_t v = 0; v < N_VERSIONS; v++) {
        for (int from = 0; from < 2; from++) {
            polytls_server *s = new_server(versions[v], true, 0);
            polytls_client *c = new_client(versions[v], true);
            polytls_session *session = first_session(c, s, versions[v]);
            size_t len = 0;
            uint8_t *copy = serialize(session, &len);

            cf_pair p;
            conn_start(&p, c, s, session);
            cf_handshake(&p);
            assert_resumed(&p, true);
            polytls_session *next = NULL;
            cf_assert_conn_status(polytls_conn_get_session(CF_C(&p)->conn, &next), POLYTLS_OK, CF_C(&p)->conn);
            deliver_tampered(&p, from);
            conn_free(&p);

            assert_session_invalidated(c, session);
            assert_session_invalidated(c, next);
            polytls_session *back = deserialize(copy, len);
            assert_false(offer(c, s, back, versions[v]));
            polytls_session_free(back);
            free(copy);
            polytls_session_free(next);
            polytls_session_free(session);
            polytls_client_free(c);
            polytls_server_free(s);
        }
    }
}

/* 6. The verify callback refusing the resumed session's chain. */
static void verify_refuses_resumed(void **state)
{
    (void)state;
    if (!have_resumption())
        return;
    for (size_t v = 0; v < N_VERSIONS; v++) {
        polytls_server *s = new_server(versions[v], true, 0);
        polytls_client *c = new_client(versions[v], true);
        polytls_session *session = first_session(c, s, versions[v]);
        cf_pair p;
        conn_start(&p, c, s, session);
        CF_C(&p)->verify_result = 1;
        cf_pump(&p);
        cf_side *cl = CF_C(&p);
        assert_int_equal(cl->verify_calls, 1);
        cf_assert_conn_status(cl->first_error, POLYTLS_ERR_CALLBACK_FAILED, cl->conn);
        cf_assert_all_invalidated(cl->conn);
        assert_int_equal(cl->handshake_done_calls, 0);
        /* the server never sees the client's data */
        assert_int_equal(CF_S(&p)->app_len, 0);
        conn_free(&p);
        /* a refusal is a failure: the session is gone too */
        assert_true(polytls_session_invalidated(session));
        polytls_session_free(session);
        polytls_client_free(c);
        polytls_server_free(s);
    }
}

/* 6. Pins on another client that do not match the session's chain. */
static void pins_mismatch_resumed(void **state)
{
    (void)state;
    if (!have_resumption())
        return;
    size_t plen = 0;
    char *pin = cf_pki_read("client1.pin", &plen);
    assert_int_equal(plen, 32);
    uint8_t pins[1][32];
    memcpy(pins[0], pin, 32);
    free(pin);
    for (size_t v = 0; v < N_VERSIONS; v++) {
        polytls_server *s = new_server(versions[v], true, 0);
        polytls_client *c = new_client(versions[v], true);
        polytls_session *session = first_session(c, s, versions[v]);
        polytls_client *pinned = new_client(versions[v], true);
        cf_assert_status(polytls_client_set_pins(pinned, (const uint8_t(*)[32])pins, 1), POLYTLS_OK);
        cf_pair p;
        conn_start(&p, pinned, s, session);
        cf_pump(&p);
        cf_side *cl = CF_C(&p);
        cf_assert_conn_status(cl->first_error, POLYTLS_ERR_BAD_TLS_DATA, cl->conn);
        assert_int_equal(cl->verify_calls, 0);
        cf_assert_all_invalidated(cl->conn);
        conn_free(&p);
        polytls_session_free(session);
        polytls_client_free(pinned);
        polytls_client_free(c);
        polytls_server_free(s);
    }
}

/* 7. Arguments and states. */
static void arguments(void **state)
{
    (void)state;
    if (!have_resumption())
        return;
    polytls_server *s = new_server(0, true, 0);
    polytls_client *c = new_client(0, true);
    polytls_session *session = first_session(c, s, 0x0304);
    polytls_conn *conn = NULL;
    cf_side dummy;
    memset(&dummy, 0, sizeof dummy);

    /* another host name */
    polytls_client *other = new_client_for(0, true, "other.test", "root.pem");
    cf_assert_status(polytls_client_start_with_session(other, session, &cf_callbacks, &dummy, &conn),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    assert_null(conn);
    polytls_client_free(other);
    /* a trust store without the session's anchor */
    other = new_client_for(0, true, "server.test", "client-ca1.pem");
    cf_assert_status(polytls_client_start_with_session(other, session, &cf_callbacks, &dummy, &conn),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    assert_null(conn);
    polytls_client_free(other);
    /* NULL session */
    cf_assert_status(polytls_client_start_with_session(c, NULL, &cf_callbacks, &dummy, &conn),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    assert_null(conn);
    cf_assert_status(polytls_client_start_with_session(NULL, session, &cf_callbacks, &dummy, &conn),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    /* NULL endpoints and outputs */
    cf_assert_status(polytls_client_set_resumption(NULL, true), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_resumption(NULL, true, 0), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_rotate_ticket_key(NULL), POLYTLS_ERR_INVALID_ARGUMENT);
    polytls_session *none = NULL;
    uint8_t byte = 0;
    cf_assert_status(polytls_session_deserialize(NULL, 10, &none), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_session_deserialize(&byte, 1, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
    size_t len = 0;
    cf_assert_status(polytls_session_serialize(NULL, NULL, 0, &len), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_session_serialize(session, NULL, 0, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_false(polytls_session_invalidated(session));
    polytls_session_free(NULL);
    assert_false(polytls_conn_resumed(NULL));

    /* setters after the first start */
    cf_assert_status(polytls_client_set_resumption(c, false), POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(polytls_client_set_resumption(c, true), POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(polytls_server_set_resumption(s, false, 0), POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(polytls_server_set_resumption(s, true, 100), POLYTLS_ERR_WRONG_STATE);
    /* rotation works on a started server */
    cf_assert_status(polytls_server_rotate_ticket_key(s), POLYTLS_OK);

    /* get_session on a server connection */
    cf_pair p;
    conn_start(&p, c, s, NULL);
    cf_handshake(&p);
    cf_assert_status(polytls_conn_get_session(CF_S(&p)->conn, &none), POLYTLS_ERR_WRONG_STATE);
    assert_null(none);
    cf_assert_status(polytls_conn_get_session(NULL, &none), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_conn_get_session(CF_C(&p)->conn, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
    conn_free(&p);

    /* lifetime limit */
    polytls_server *s2 = new_server(0, false, 0);
    cf_assert_status(polytls_server_set_resumption(s2, true, 604801), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_resumption(s2, true, UINT32_MAX), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_resumption(s2, true, 604800), POLYTLS_OK);
    polytls_server_free(s2);

    /* a server asking for client certificates cannot resume */
    s2 = new_server(0, true, 0);
    polytls_trust_store *ts = cf_load_trust("client-ca1.pem");
    cf_assert_status(polytls_server_set_client_auth(s2, POLYTLS_CLIENT_AUTH_REQUIRED, ts, false), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    cf_assert_status(polytls_server_start(s2, &cf_callbacks, &dummy, &conn), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_null(conn);
    polytls_server_free(s2);
    s2 = new_server(0, true, 0);
    ts = cf_load_trust("client-ca1.pem");
    cf_assert_status(polytls_server_set_client_auth(s2, POLYTLS_CLIENT_AUTH_OPTIONAL, ts, false), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    cf_assert_status(polytls_server_start(s2, &cf_callbacks, &dummy, &conn), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_null(conn);
    polytls_server_free(s2);

    polytls_session_free(session);
    polytls_client_free(c);
    polytls_server_free(s);
}

/* The ticket_lifetime_hint of the TLS 1.2 NewSessionTicket a server wrote
   (in the clear, before its ChangeCipherSpec), or -1 when there is none. */
static long tls12_ticket_hint(const uint8_t *wire, size_t len)
{
    uint8_t *hs = NULL;
    size_t hs_len = 0, hs_cap = 0, off = 0;
    while (off + 5 <= len && wire[off] != 20) {
        size_t rlen = ((size_t)wire[off + 3] << 8) | wire[off + 4];
        if (off + 5 + rlen > len)
            break;
        if (wire[off] == 22)
            cf_append(&hs, &hs_len, &hs_cap, wire + off + 5, rlen);
        off += 5 + rlen;
    }
    long hint = -1;
    for (size_t m = 0; m + 4 <= hs_len;) {
        size_t mlen = ((size_t)hs[m + 1] << 16) | ((size_t)hs[m + 2] << 8) | hs[m + 3];
        if (m + 4 + mlen > hs_len)
            break;
        if (hs[m] == 4 && mlen >= 4)
            hint = (long)((uint32_t)hs[m + 4] << 24 | (uint32_t)hs[m + 5] << 16 | (uint32_t)hs[m + 6] << 8 |
                          hs[m + 7]);
        m += 4 + mlen;
    }
    free(hs);
    return hint;
}

/* A short ticket lifetime is accepted and still resumes at once; TLS 1.2
   shows it on the wire (0 means 7200). */
static void lifetime(void **state)
{
    (void)state;
    if (!have_resumption())
        return;
    static const uint32_t set[] = { 60, 0 }, want[] = { 60, 7200 };
    for (size_t v = 0; v < N_VERSIONS; v++) {
        for (size_t k = 0; k < 2; k++) {
            polytls_server *s = new_server(versions[v], true, set[k]);
            polytls_client *c = new_client(versions[v], true);
            cf_pair p;
            conn_start(&p, c, s, NULL);
            cf_handshake(&p);
            if (versions[v] == 0x0303)
                assert_int_equal(tls12_ticket_hint(CF_S(&p)->log, CF_S(&p)->log_len), want[k]);
            polytls_session *session = NULL;
            cf_assert_conn_status(polytls_conn_get_session(CF_C(&p)->conn, &session), POLYTLS_OK, CF_C(&p)->conn);
            conn_free(&p);
            assert_true(offer(c, s, session, versions[v]));
            polytls_session_free(session);
            polytls_client_free(c);
            polytls_server_free(s);
        }
    }
}

/* The body of extension `type` in the ClientHello at the start of `wire`
   (*len set), or NULL when absent. */
static const uint8_t *client_hello_ext(const uint8_t *wire, size_t wire_len, uint16_t type, size_t *len)
{
    assert_true(wire_len > 5 + 4 + 2 + 32 + 1);
    assert_int_equal(wire[0], 22); /* handshake */
    assert_int_equal(wire[5], 1);  /* ClientHello */
    size_t end = 5 + (((size_t)wire[3] << 8) | wire[4]);
    assert_true(end <= wire_len);
    size_t off = 5 + 4 + 2 + 32;
    off += 1 + wire[off];                                          /* session id */
    assert_true(off + 2 <= end);
    off += 2 + (((size_t)wire[off] << 8) | wire[off + 1]);         /* cipher suites */
    assert_true(off + 1 <= end);
    off += 1 + wire[off];                                          /* compression */
    assert_true(off + 2 <= end);
    size_t ext_end = off + 2 + (((size_t)wire[off] << 8) | wire[off + 1]);
    assert_true(ext_end <= end);
    for (off += 2; off + 4 <= ext_end;) {
        uint16_t t = (uint16_t)(wire[off] << 8 | wire[off + 1]);
        size_t l = ((size_t)wire[off + 2] << 8) | wire[off + 3];
        assert_true(off + 4 + l <= ext_end);
        if (t == type) {
            *len = l;
            return wire + off + 4;
        }
        off += 4 + l;
    }
    return NULL;
}

/* On the wire: a client with resumption off offers nothing (no TLS 1.2
   session_ticket extension, no TLS 1.3 pre_shared_key); one with it on
   offers an RFC 5077 ticket extension (TLS 1.2) and, with a session, a
   pre_shared_key with psk_dhe_ke as the ONLY key exchange mode (psk_ke has
   no forward secrecy). Early data is never offered. */
static void offered_on_the_wire(void **state)
{
    (void)state;
    if (!have_resumption())
        return;
    enum { EXT_SESSION_TICKET = 35, EXT_PSK = 41, EXT_EARLY_DATA = 42, EXT_PSK_MODES = 45 };
    for (size_t v = 0; v < N_VERSIONS; v++) {
        polytls_server *s = new_server(versions[v], true, 0);
        polytls_client *on = new_client(versions[v], true);
        polytls_client *off = new_client(versions[v], false);
        size_t len = 0;
        cf_pair p;
        conn_start(&p, off, s, NULL);
        const uint8_t *w = CF_C(&p)->log;
        size_t wl = CF_C(&p)->log_len;
        assert_null(client_hello_ext(w, wl, EXT_SESSION_TICKET, &len));
        assert_null(client_hello_ext(w, wl, EXT_PSK, &len));
        assert_null(client_hello_ext(w, wl, EXT_EARLY_DATA, &len));
        conn_free(&p);

        polytls_session *session = first_session(on, s, versions[v]);
        conn_start(&p, on, s, session);
        w = CF_C(&p)->log;
        wl = CF_C(&p)->log_len;
        assert_null(client_hello_ext(w, wl, EXT_EARLY_DATA, &len));
        if (versions[v] == 0x0303) {
            const uint8_t *t = client_hello_ext(w, wl, EXT_SESSION_TICKET, &len);
            assert_non_null(t);
            assert_true(len > 0); /* the ticket itself */
            assert_null(client_hello_ext(w, wl, EXT_PSK, &len));
        } else {
            assert_non_null(client_hello_ext(w, wl, EXT_PSK, &len));
            const uint8_t *modes = client_hello_ext(w, wl, EXT_PSK_MODES, &len);
            assert_non_null(modes);
            assert_true(len >= 2);
            assert_int_equal(len, 1u + modes[0]);
            /* psk_dhe_ke (1) alone: the number of modes is 1 */
            cf_check_value("resumption.offered_on_the_wire/psk_modes", 1, modes[0]);
            assert_non_null(memchr(modes + 1, 1, modes[0]));
        }
        cf_handshake(&p);
        assert_resumed(&p, true);
        conn_free(&p);
        polytls_session_free(session);
        polytls_client_free(on);
        polytls_client_free(off);
        polytls_server_free(s);
    }
}

/* ---- many threads sharing one client, one server and one session ---- */

/* A minimal in-memory pair on the public API only: the harness records
   into cmocka, which must not be called from other threads. */
typedef struct tq {
    uint8_t *b;
    size_t len, cap;
    bool oom;
} tq;

static void tq_write(void *user, const uint8_t *d, size_t n)
{
    tq *q = user;
    if (q->len + n > q->cap) {
        size_t cap = (q->len + n) * 2;
        uint8_t *b = realloc(q->b, cap);
        if (!b) {
            q->oom = true;
            return;
        }
        q->b = b;
        q->cap = cap;
    }
    memcpy(q->b + q->len, d, n);
    q->len += n;
}

static void tq_close(void *user, bool immediate)
{
    (void)user, (void)immediate;
}

typedef struct worker {
    polytls_client *client;
    polytls_server *server;
    polytls_session *session;
    int rounds, resumed, failed;
    char why[160];
} worker;

/* Hands everything q holds to conn. */
static bool t_feed(polytls_conn *conn, tq *q)
{
    const uint8_t *app;
    size_t app_len;
    size_t n = q->len;
    q->len = 0;
    return n == 0 || polytls_conn_data_from_wire(conn, q->b, n, &app, &app_len) == POLYTLS_OK;
}

static void *work(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < w->rounds; i++) {
        tq c2s = {0}, s2c = {0};
        polytls_conn_callbacks ccb = {sizeof ccb, tq_write, tq_close, NULL, NULL};
        polytls_conn_callbacks scb = {sizeof scb, tq_write, tq_close, NULL, NULL};
        polytls_conn *s = NULL, *c = NULL;
        bool ok = polytls_server_start(w->server, &scb, &s2c, &s) == POLYTLS_OK &&
                  polytls_client_start_with_session(w->client, w->session, &ccb, &c2s, &c) == POLYTLS_OK;
        for (int k = 0; ok && k < 16 && !(polytls_conn_handshake_done(c) && polytls_conn_handshake_done(s)); k++)
            ok = t_feed(s, &c2s) && t_feed(c, &s2c);
        ok = ok && polytls_conn_handshake_done(c) && polytls_conn_handshake_done(s) && !c2s.oom && !s2c.oom;
        if (ok && polytls_conn_resumed(c) && polytls_conn_resumed(s))
            w->resumed++;
        else if (!ok && w->failed++ == 0)
            snprintf(w->why, sizeof w->why, "%s / %s", c ? polytls_conn_error_message(c) : polytls_last_error_message(),
                     s ? polytls_conn_error_message(s) : "");
        polytls_conn_free(c);
        polytls_conn_free(s);
        free(c2s.b);
        free(s2c.b);
    }
    return NULL;
}

typedef struct rotator {
    polytls_server *server;
    int times, failed;
} rotator;

static void *rotate_keys(void *arg)
{
    rotator *r = arg;
    for (int i = 0; i < r->times; i++) {
        if (polytls_server_rotate_ticket_key(r->server) != POLYTLS_OK)
            r->failed++;
        sched_yield();
    }
    return NULL;
}

/* Four threads resume with the same client, server and session object at
   once (the session's parsed form is made by whichever thread comes first;
   ticket keys are looked up concurrently): every handshake resumes. Then
   again while a fifth thread rotates the ticket key: every handshake
   completes, resumed or not. Run under ASan and valgrind in CI. */
static void threads(void **state)
{
    (void)state;
    if (!have_resumption())
        return;
    polytls_server *s = new_server(0x0304, true, 0);
    polytls_client *c = new_client(0x0304, true);
    polytls_session *session = first_session(c, s, 0x0304);
    enum { N = 4 };
    for (int phase = 0; phase < 2; phase++) {
        worker w[N];
        pthread_t t[N + 1];
        rotator r = {s, 8, 0};
        for (int i = 0; i < N; i++) {
            w[i] = (worker){c, s, session, 12, 0, 0, ""};
            assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
        }
        if (phase == 1)
            assert_int_equal(pthread_create(&t[N], NULL, rotate_keys, &r), 0);
        for (int i = 0; i < N; i++)
            assert_int_equal(pthread_join(t[i], NULL), 0);
        if (phase == 1)
            assert_int_equal(pthread_join(t[N], NULL), 0);
        assert_int_equal(r.failed, 0);
        for (int i = 0; i < N; i++) {
            if (w[i].failed)
                cf_fail("thread %d, phase %d: %d of %d handshakes failed: %s", i, phase, w[i].failed, w[i].rounds,
                        w[i].why);
            if (phase == 0)
                assert_int_equal(w[i].resumed, w[i].rounds);
        }
    }
    polytls_session_free(session);
    polytls_client_free(c);
    polytls_server_free(s);
}

static const struct CMUnitTest tests[] = {
    CF_TEST(capability, "resumption.capability"),
    CF_TEST(resume_tls13, "resumption.resume_tls13"),
    CF_TEST(resume_tls12, "resumption.resume_tls12"),
    CF_TEST(serialized, "resumption.serialized"),
    CF_TEST(corrupted, "resumption.corrupted"),
    CF_TEST(server_off, "resumption.server_off"),
    CF_TEST(client_off, "resumption.client_off"),
    CF_TEST(rotate, "resumption.rotate"),
    CF_TEST(invalidated_client_receives_bad_record, "resumption.invalidated_client_receives_bad_record"),
    CF_TEST(invalidated_server_receives_bad_record, "resumption.invalidated_server_receives_bad_record"),
    CF_TEST(invalidated_after_resumption, "resumption.invalidated_after_resumption"),
    CF_TEST(verify_refuses_resumed, "resumption.verify_refuses_resumed"),
    CF_TEST(pins_mismatch_resumed, "resumption.pins_mismatch_resumed"),
    CF_TEST(arguments, "resumption.arguments"),
    CF_TEST(lifetime, "resumption.lifetime"),
    CF_TEST(offered_on_the_wire, "resumption.offered_on_the_wire"),
    CF_TEST(threads, "resumption.threads"),
};
CF_GROUP(cf_group_resumption, "resumption", tests);
