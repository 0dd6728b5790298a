/* data_from_wire on a fresh server connection, or on a client connection
   right after its real ClientHello went out, for any built backend, with
   the input split at fuzzer-chosen points; with resume, the server issues
   and accepts tickets and the client offers a real session. */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

static int by_value(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

void fz_wire_run(const uint8_t *data, size_t size, bool server, bool resume)
{
    fz_in in = {data, size};
    size_t backend = fz_u8(&in);
    uint8_t flags = fz_u8(&in);
    size_t n_splits = fz_u8(&in) % 8;
    size_t splits[9];
    uint16_t raw[8];
    for (size_t i = 0; i < n_splits; i++)
        raw[i] = fz_u16(&in);
    for (size_t i = 0; i < n_splits; i++)
        splits[i] = in.n ? raw[i] % (in.n + 1) : 0;
    splits[n_splits] = in.n;
    qsort(splits, n_splits + 1, sizeof splits[0], by_value);

    fz_side side = {.server = server};
    polytls_status s;
    polytls_session *session = NULL;
    if (server && resume)
        s = polytls_server_start(fz_cached_resume_server(backend, flags & 3), &fz_callbacks, &side, &side.conn);
    else if (server)
        s = polytls_server_start(fz_cached_server(backend, flags & 3, (flags >> 2) & 3), &fz_callbacks,
                                 &side, &side.conn);
    else if (resume) {
        /* The session comes from a real handshake with the same backend's
           server; bits 2-3 choose another server backend instead. */
        session = fz_fresh_session(backend, backend + ((flags >> 2) & 3), flags & 3);
        s = polytls_client_start_with_session(fz_cached_resume_client(backend, flags & 3), session,
                                              &fz_callbacks, &side, &side.conn);
    } else
        s = polytls_client_start(fz_cached_client(backend, flags & 3), &fz_callbacks, &side, &side.conn);
    fz_check_status(s, "start");
    if (s != POLYTLS_OK)
        fz_fail("start failed", polytls_last_error_message());
    if (!server && side.out.len == 0)
        fz_fail("client_start wrote no ClientHello", NULL);
    if (flags & 0x20)
        fz_send_app(&side, (const uint8_t *)"early", 5);

    /* Each piece is copied to an exact-size buffer: an over-read shows. */
    size_t at = 0;
    for (size_t i = 0; i <= n_splits; i++) {
        size_t n = splits[i] - at;
        uint8_t *piece = malloc(n ? n : 1);
        if (!piece)
            break;
        if (n)
            memcpy(piece, in.p + at, n);
        fz_feed(&side, piece, n);
        free(piece);
        at = splits[i];
        side.out.len = 0;   /* the peer is gone: drop what it would read */
    }
    if (flags & 0x10) {
        s = polytls_conn_eof_from_wire(side.conn);
        fz_check_status(s, "eof_from_wire");
    }
    if (resume && !server) {
        /* Whatever the server said, asking for the session must not crash. */
        polytls_session *got = NULL;
        s = polytls_conn_get_session(side.conn, &got);
        fz_check_status(s, "get_session");
        if (s == POLYTLS_OK)
            polytls_session_free(got);
        (void)polytls_conn_resumed(side.conn);
    }
    polytls_conn_free(side.conn);
    polytls_session_free(session);
    fz_stream_free(&side.out);
}
