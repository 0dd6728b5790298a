/* Target: a real handshake between a client and a server (any backends,
   in memory) with ONE record mutated. Records are delivered one at a time
   and counted across both directions, so the fuzzer can pick a record
   anywhere: the first flights, the encrypted handshake, the application
   data and the close_notify exchange that follow.
   Input: byte 0 client backend, 1 server backend, 2 flags (bits 0-1
   versions, bits 2-3 server client-auth mode, bit 4 resumed handshake),
   3 record index, 4-5 offset in the record, 6 mutation (see apply), then
   the new bytes. A resumed handshake (bit 4; no client auth then) runs
   between the resumption endpoints of fuzz_common, the client offering a
   session it got from that server backend at start-up.
   Without a mutation (index past the last record) and without client auth
   the handshake and the data exchange must succeed: that checks the
   harness itself. */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

enum { MUT_XOR, MUT_OVERWRITE, MUT_INSERT, MUT_TRUNCATE, MUT_DROP, MUT_DUPLICATE, MUT_REPLACE,
       MUT_SPLIT, MUT_COUNT };

typedef struct mutation {
    size_t index, offset;
    unsigned kind;
    const uint8_t *bytes;
    size_t n_bytes;
    bool applied;
} mutation;

/* Delivers rec (one record) to `to`, mutated when it is the chosen one. */
static void deliver_record(fz_side *to, const uint8_t *rec, size_t len, mutation *m, size_t counter)
{
    if (counter != m->index) {
        fz_feed(to, rec, len);
        return;
    }
    m->applied = true;
    size_t off = len ? m->offset % (len + 1) : 0;
    size_t cap = len + m->n_bytes + 1;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return;
    size_t out = 0;
    switch (m->kind % MUT_COUNT) {
    case MUT_XOR:
        memcpy(buf, rec, len);
        out = len;
        for (size_t i = 0; i < m->n_bytes && off + i < len; i++)
            buf[off + i] ^= m->bytes[i] ? m->bytes[i] : 1;
        break;
    case MUT_OVERWRITE:
        memcpy(buf, rec, len);
        out = len;
        for (size_t i = 0; i < m->n_bytes && off + i < len; i++)
            buf[off + i] = m->bytes[i];
        break;
    case MUT_INSERT:
        memcpy(buf, rec, off);
        memcpy(buf + off, m->bytes, m->n_bytes);
        memcpy(buf + off + m->n_bytes, rec + off, len - off);
        out = len + m->n_bytes;
        break;
    case MUT_TRUNCATE:
        memcpy(buf, rec, off);
        out = off;
        break;
    case MUT_DROP:
        out = 0;
        break;
    case MUT_DUPLICATE:
        free(buf);
        fz_feed(to, rec, len);
        fz_feed(to, rec, len);
        return;
    case MUT_REPLACE:
        memcpy(buf, m->bytes, m->n_bytes);
        out = m->n_bytes;
        break;
    case MUT_SPLIT:
        /* Not a change of bytes: the record arrives in two calls. */
        free(buf);
        fz_feed(to, rec, off);
        fz_feed(to, rec + off, len - off);
        return;
    }
    /* An exact-size copy so that over-reads are caught. */
    uint8_t *exact = malloc(out ? out : 1);
    if (exact) {
        memcpy(exact, buf, out);
        if (out)
            fz_feed(to, exact, out);
        free(exact);
    }
    free(buf);
}

/* Moves what `from` wrote to `to`, record by record. Returns records moved. */
static size_t pump(fz_side *from, fz_side *to, mutation *m, size_t *counter)
{
    size_t moved = 0;
    while (from->out.len) {
        size_t len = fz_record_len(from->out.data, from->out.len);
        uint8_t *rec = malloc(len);
        if (!rec)
            break;
        memcpy(rec, from->out.data, len);
        fz_stream_consume(&from->out, len);
        deliver_record(to, rec, len, m, (*counter)++);
        free(rec);
        moved++;
    }
    return moved;
}

int polytls_fuzz_one(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    size_t cb = fz_u8(&in), sb = fz_u8(&in);
    uint8_t flags = fz_u8(&in);
    mutation m = {0};
    m.index = fz_u8(&in);
    m.offset = fz_u16(&in);
    m.kind = fz_u8(&in);
    m.n_bytes = fz_take(&in, 4096, &m.bytes);
    bool resume = flags & 0x10;
    unsigned auth = resume ? 0 : (flags >> 2) & 3;

    fz_side c = {0}, s = {.server = true};
    polytls_status st = polytls_server_start(resume ? fz_cached_resume_server(sb, flags & 3)
                                                    : fz_cached_server(sb, flags & 3, auth),
                                             &fz_callbacks, &s, &s.conn);
    fz_check_status(st, "server_start");
    if (st != POLYTLS_OK)
        fz_fail("server_start failed", polytls_last_error_message());
    polytls_session *session = resume ? fz_fresh_session(cb, sb, flags & 3) : NULL;
    if (resume)
        st = polytls_client_start_with_session(fz_cached_resume_client(cb, flags & 3), session, &fz_callbacks,
                                               &c, &c.conn);
    else
        st = polytls_client_start(fz_cached_client(cb, flags & 3), &fz_callbacks, &c, &c.conn);
    fz_check_status(st, "client_start");
    if (st != POLYTLS_OK)
        fz_fail("client_start failed", polytls_last_error_message());

    static const uint8_t ping[] = "ping from the client", pong[] = "pong from the server";
    fz_send_app(&c, ping, sizeof ping - 1);
    size_t counter = 0;
    bool server_replied = false, client_finished = false;
    for (int round = 0; round < 40; round++) {
        size_t moved = pump(&c, &s, &m, &counter);
        moved += pump(&s, &c, &m, &counter);
        if (!server_replied && s.received >= sizeof ping - 1 && !polytls_conn_invalidated(s.conn)) {
            server_replied = true;
            fz_send_app(&s, pong, sizeof pong - 1);
            fz_check_status(polytls_conn_application_finished(s.conn), "application_finished");
            moved++;
        }
        if (!client_finished && c.received >= sizeof pong - 1 && !polytls_conn_invalidated(c.conn)) {
            client_finished = true;
            fz_check_status(polytls_conn_application_finished(c.conn), "application_finished");
            moved++;
        }
        if (!moved)
            break;
    }
    /* Only without client auth: the client has no certificate, and some
       pairs (a wolfSSL client asked in TLS 1.3) cannot go on without one. */
    if (!m.applied && auth == 0) {
        if (!polytls_conn_handshake_done(c.conn) || !polytls_conn_handshake_done(s.conn) ||
            s.received != sizeof ping - 1 || c.received != sizeof pong - 1)
            fz_fail("an unmutated handshake did not complete with data both ways",
                    polytls_conn_error_message(c.conn)[0] ? polytls_conn_error_message(c.conn)
                                                           : polytls_conn_error_message(s.conn));
        if (resume && (!polytls_conn_resumed(c.conn) || !polytls_conn_resumed(s.conn)))
            fz_fail("an unmutated handshake offering a fresh session did not resume", NULL);
    }
    if (resume) {
        polytls_session *got = NULL;
        st = polytls_conn_get_session(c.conn, &got);
        fz_check_status(st, "get_session");
        if (st == POLYTLS_OK)
            polytls_session_free(got);
    }
    fz_check_status(polytls_conn_eof_from_wire(c.conn), "eof_from_wire");
    fz_check_status(polytls_conn_eof_from_wire(s.conn), "eof_from_wire");
    polytls_conn_free(c.conn);
    polytls_conn_free(s.conn);
    polytls_session_free(session);
    fz_stream_free(&c.out);
    fz_stream_free(&s.out);
    return 0;
}
