/* Target: sequences of public calls on a client/server pair, decoded from
   the input, checking the invariants the core promises:
   - every status is a polytls_status value;
   - once a connection is invalidated, data in, data out and alerts never
     succeed again;
   - wire_close runs at most once per connection;
   - 1.3 MB of garbage records is never accepted, in any state (a side
     waiting for its chain reply must not buffer it without bound);
   - chain replies answered early (inside the selection callback), late,
     twice, with a wrong chain, cancelled, or after their connection was
     freed behave as the header says and leak nothing (LeakSanitizer and
     valgrind see the end of every iteration).
   Input: byte 0 client backend, 1 server backend, 2 flags (bits 0-1
   versions, bits 2-3 client-auth mode, bit 4 the server answers its chain
   reply inside the callback, bit 5 the client answers inside its callback),
   then one operation per byte (op % OP_COUNT) with its arguments. */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

#define MAX_REPLIES 16

typedef struct tracked_reply {
    polytls_chain_reply *r;
    int owner;          /* 0 client, 1 server */
    bool finished;      /* the core marked it finished (send OK/INVALIDATED, cancel) */
    bool conn_gone;     /* its connection was freed while it was open */
} tracked_reply;

typedef struct state {
    fz_side side[2];    /* 0 client, 1 server */
    bool answer_inside[2];
    tracked_reply replies[MAX_REPLIES];
    size_t n_replies;
} state;

static state *current;

static void track(polytls_chain_reply *r, int owner)
{
    state *st = current;
    if (st->n_replies == MAX_REPLIES) {
        /* Too many to follow: answer at once so nothing stays open. */
        polytls_chain_reply_cancel(r);
        return;
    }
    tracked_reply *t = &st->replies[st->n_replies++];
    memset(t, 0, sizeof *t);
    t->r = r;
    t->owner = owner;
}

/* Answers reply t: good chain, CA only (refused: no leaf), or cancel. */
static void answer(tracked_reply *t, int how)
{
    if (!t->r)
        return;
    size_t n;
    polytls_certificate *const *chain = fz_chain(&n);
    polytls_certificate *ca = fz_ca();
    if (how == 2) {
        polytls_chain_reply_cancel(t->r);
        if (t->conn_gone)
            t->r = NULL;          /* released */
        else
            t->finished = true;
        return;
    }
    polytls_status s = how == 0 ? polytls_chain_reply_send(t->r, chain, n)
                                : polytls_chain_reply_send(t->r, &ca, 1);
    fz_check_status(s, "chain_reply_send");
    if (t->conn_gone) {
        if (s != POLYTLS_ERR_INVALIDATED)
            fz_fail("a reply of a freed connection did not return INVALIDATED", polytls_status_name(s));
        t->r = NULL;              /* released by that call */
        return;
    }
    if (t->finished && s != POLYTLS_ERR_INVALIDATED)
        fz_fail("a reply answered twice did not return INVALIDATED", polytls_status_name(s));
    if (how == 1 && s == POLYTLS_OK)
        fz_fail("a chain without a leaf was accepted", NULL);
    if (s == POLYTLS_OK || s == POLYTLS_ERR_INVALIDATED)
        t->finished = true;
}

static void server_select(void *user, const char *server_name, polytls_chain_reply *reply)
{
    (void)user;
    if (server_name && strlen(server_name) > 255)
        fz_fail("server_name too long", NULL);
    track(reply, 1);
    if (current->answer_inside[1] && current->n_replies)
        answer(&current->replies[current->n_replies - 1], 0);
}

static void client_roots(void *user, const uint8_t *const *roots, const size_t *lens, size_t n,
                         polytls_chain_reply *reply)
{
    (void)user;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < lens[i]; j++)
            sink ^= roots[i][j];
    (void)sink;
    track(reply, 0);
    if (current->answer_inside[0] && current->n_replies)
        answer(&current->replies[current->n_replies - 1], 0);
}

static void client_default(void *user, polytls_chain_reply *reply)
{
    client_roots(user, NULL, NULL, 0, reply);
}

static const polytls_server_certificates_callbacks server_cbs = {
    .size = sizeof server_cbs, .get_chain_for_server_name = server_select};
static const polytls_client_cert_store_callbacks client_cbs = {
    .size = sizeof client_cbs, .get_chain_for_roots = client_roots, .get_default_chain = client_default};

/* Endpoints are cached per (backends, versions, auth): cheap iterations. */
static polytls_server *servers[8][4][3];
static polytls_client *clients[8][4];
static polytls_server_certificates *sc;
static polytls_client_cert_store *store;

static void release(void)
{
    for (size_t b = 0; b < 8; b++)
        for (size_t v = 0; v < 4; v++) {
            polytls_client_free(clients[b][v]);
            for (size_t a = 0; a < 3; a++)
                polytls_server_free(servers[b][v][a]);
        }
    polytls_server_certificates_unref(sc);
    polytls_client_cert_store_unref(store);
}

static void endpoints(size_t cb, size_t sb, unsigned vbits, unsigned auth, polytls_client **client,
                      polytls_server **server)
{
    size_t nb = fz_backend_count();
    cb %= nb;
    sb %= nb;
    if (!sc) {
        if (polytls_server_certificates_new(&server_cbs, NULL, &sc) != POLYTLS_OK ||
            polytls_client_cert_store_new(&client_cbs, NULL, &store) != POLYTLS_OK)
            fz_fail("cannot make the selection objects", polytls_last_error_message());
        atexit(release);
    }
    uint16_t min, max;
    fz_versions(vbits, &min, &max);
    if (!servers[sb][vbits][auth]) {
        polytls_status s = polytls_server_new(fz_backend(sb), sc, NULL, 0, &servers[sb][vbits][auth]);
        if (s == POLYTLS_OK)
            s = polytls_server_set_versions(servers[sb][vbits][auth], min, max);
        if (s == POLYTLS_OK && auth)
            s = polytls_server_set_client_auth(servers[sb][vbits][auth], (polytls_client_auth)auth,
                                               fz_trust(), (vbits & 1) != 0);
        if (s != POLYTLS_OK)
            fz_fail("cannot make a server", polytls_last_error_message());
    }
    if (!clients[cb][vbits]) {
        polytls_status s = polytls_client_new(fz_backend(cb), fz_hostname(), fz_trust(), store,
                                              &clients[cb][vbits]);
        if (s == POLYTLS_OK)
            s = polytls_client_set_versions(clients[cb][vbits], min, max);
        if (s != POLYTLS_OK)
            fz_fail("cannot make a client", polytls_last_error_message());
    }
    *client = clients[cb][vbits];
    *server = servers[sb][vbits][auth];
}

static void free_conn(state *st, int who)
{
    fz_side *side = &st->side[who];
    if (!side->conn)
        return;
    polytls_conn_free(side->conn);
    side->conn = NULL;
    for (size_t i = 0; i < st->n_replies; i++) {
        tracked_reply *t = &st->replies[i];
        if (!t->r || t->owner != who)
            continue;
        if (t->finished)
            t->r = NULL;          /* released with the connection */
        else
            t->conn_gone = true;
    }
}

enum {
    OP_DELIVER_C2S, OP_DELIVER_S2C, OP_PARTIAL_C2S, OP_PARTIAL_S2C, OP_APP_DATA, OP_ALERT,
    OP_FINISH, OP_EOF, OP_REPLY_GOOD, OP_REPLY_NO_LEAF, OP_REPLY_CANCEL, OP_FREE, OP_EMPTY_FEED,
    OP_GETTERS, OP_FLOOD, OP_COUNT
};

static bool has_open_reply(const state *st, int who)
{
    for (size_t i = 0; i < st->n_replies; i++)
        if (st->replies[i].r && st->replies[i].owner == who && !st->replies[i].finished &&
            !st->replies[i].conn_gone)
            return true;
    return false;
}

/* Sends up to 80 records of 16 KiB (1.3 MB) of garbage (zeros as
   application data) to one side. No state accepts that much of it: a
   handshake refuses it, an established connection fails to decrypt it, and
   a side waiting for its chain reply, where nothing reads the input, must
   refuse it past the core's bound (1 MiB) rather than buffer without
   limit. */
static void flood(state *st, int who, size_t records)
{
    static uint8_t rec[5 + 16384] = {23, 3, 3, 0x40, 0x00};
    fz_side *side = &st->side[who];
    if (!side->conn)
        return;
    for (size_t i = 0; i < records; i++)
        if (fz_feed(side, rec, sizeof rec) != POLYTLS_OK)
            break;
    if (records * sizeof rec > 1024u * 1024u + 131072u && !polytls_conn_invalidated(side->conn) &&
        !polytls_conn_peer_closed(side->conn))
        fz_fail("a flood of garbage records was accepted (unbounded buffering?)",
                has_open_reply(st, who) ? "a chain reply is open" : "no reply open");
}

static void deliver(fz_side *from, fz_side *to, size_t limit)
{
    if (!from->out.len)
        return;
    size_t n = limit && limit < from->out.len ? limit : from->out.len;
    if (!to->conn) {
        fz_stream_consume(&from->out, n);
        return;
    }
    fz_stream out = {0};
    fz_stream_append(&out, from->out.data, n);   /* exact bytes: the writer may append meanwhile */
    fz_stream_consume(&from->out, n);
    fz_feed(to, out.data, n);
    fz_stream_free(&out);
}

static void check_after_invalidation(polytls_conn *c, bool was_invalid, polytls_status s, const char *call)
{
    fz_check_status(s, call);
    if (was_invalid && s == POLYTLS_OK)
        fz_fail("a call succeeded after invalidation", call);
    (void)c;
}

int polytls_fuzz_one(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    size_t cb = fz_u8(&in), sb = fz_u8(&in);
    uint8_t flags = fz_u8(&in);
    unsigned auth = ((flags >> 2) & 3) % 3;
    state st;
    memset(&st, 0, sizeof st);
    st.side[1].server = true;
    st.answer_inside[1] = flags & 0x10;
    st.answer_inside[0] = flags & 0x20;
    current = &st;

    polytls_client *client;
    polytls_server *server;
    endpoints(cb, sb, flags & 3, auth, &client, &server);
    polytls_status s = polytls_server_start(server, &fz_callbacks, &st.side[1], &st.side[1].conn);
    fz_check_status(s, "server_start");
    if (s == POLYTLS_OK) {
        s = polytls_client_start(client, &fz_callbacks, &st.side[0], &st.side[0].conn);
        fz_check_status(s, "client_start");
    }
    if (s != POLYTLS_OK)
        fz_fail("start failed", polytls_last_error_message());

    for (int steps = 0; in.n && steps < 200; steps++) {
        uint8_t op = fz_u8(&in);
        int who = op & 1;               /* also the direction for deliveries */
        fz_side *me = &st.side[who];
        switch ((op >> 1) % OP_COUNT) {
        case OP_DELIVER_C2S:
            deliver(&st.side[0], &st.side[1], 0);
            break;
        case OP_DELIVER_S2C:
            deliver(&st.side[1], &st.side[0], 0);
            break;
        case OP_PARTIAL_C2S:
            deliver(&st.side[0], &st.side[1], 1 + fz_u8(&in));
            break;
        case OP_PARTIAL_S2C:
            deliver(&st.side[1], &st.side[0], 1 + fz_u8(&in));
            break;
        case OP_APP_DATA: {
            const uint8_t *p;
            size_t n = fz_take(&in, fz_u8(&in), &p);
            if (me->conn)
                fz_send_app(me, p, n);
            break;
        }
        case OP_ALERT: {
            polytls_alert code = (polytls_alert)fz_u8(&in);
            polytls_alert_level level = (polytls_alert_level)(fz_u8(&in) % 4);
            if (!me->conn)
                break;
            bool was = polytls_conn_invalidated(me->conn);
            s = polytls_conn_send_alert(me->conn, code, level);
            check_after_invalidation(me->conn, was, s, "send_alert");
            if (s == POLYTLS_OK && level == POLYTLS_ALERT_LEVEL_FATAL && !polytls_conn_invalidated(me->conn))
                fz_fail("a fatal alert left the connection valid", NULL);
            break;
        }
        case OP_FINISH:
            if (me->conn)
                fz_check_status(polytls_conn_application_finished(me->conn), "application_finished");
            break;
        case OP_EOF:
            if (me->conn) {
                s = polytls_conn_eof_from_wire(me->conn);
                fz_check_status(s, "eof_from_wire");
            }
            break;
        case OP_REPLY_GOOD:
        case OP_REPLY_NO_LEAF:
        case OP_REPLY_CANCEL: {
            uint8_t pick = fz_u8(&in);
            if (!st.n_replies)
                break;
            int how = (int)((op >> 1) % OP_COUNT) - OP_REPLY_GOOD;
            answer(&st.replies[pick % st.n_replies], how);
            break;
        }
        case OP_FREE:
            free_conn(&st, who);
            break;
        case OP_EMPTY_FEED:
            if (me->conn)
                fz_feed(me, NULL, 0);
            break;
        case OP_FLOOD:
            flood(&st, who, 1 + fz_u8(&in) % 80);
            break;
        case OP_GETTERS:
            if (me->conn) {
                uint16_t v, id;
                const char *name;
                const uint8_t *p;
                size_t n;
                polytls_certificate *const *chain;
                polytls_alert a;
                polytls_alert_level l;
                fz_check_status(polytls_conn_tls_version(me->conn, &v), "tls_version");
                fz_check_status(polytls_conn_cipher_suite(me->conn, &name, &id), "cipher_suite");
                fz_check_status(polytls_conn_session_id(me->conn, &p, &n), "session_id");
                fz_check_status(polytls_conn_alpn(me->conn, &p, &n), "alpn");
                fz_check_status(polytls_conn_server_name(me->conn, &name), "server_name");
                fz_check_status(polytls_conn_peer_chain(me->conn, &chain, &n), "peer_chain");
                fz_check_status(polytls_conn_peer_alert(me->conn, &a, &l), "peer_alert");
                polytls_conn_handshake_done(me->conn);
                polytls_conn_peer_closed(me->conn);
            }
            break;
        }
    }

    free_conn(&st, 0);
    free_conn(&st, 1);
    /* Whatever is still open was never answered: cancelling releases it. */
    for (size_t i = 0; i < st.n_replies; i++)
        if (st.replies[i].r)
            answer(&st.replies[i], 2);
    fz_stream_free(&st.side[0].out);
    fz_stream_free(&st.side[1].out);
    current = NULL;
    return 0;
}
