/* Shared pieces of the fuzz targets (see fuzz_common.h). */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_pki.h"

/* The server's ticket keys (reset_ticket_key): internal, fuzzing only. */
#include "conn.h"
#include "sha256.h"

_Noreturn void fz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "polytls fuzz invariant broken: %s (%s)\n", what, detail ? detail : "");
    abort();
}

void fz_check_status(polytls_status s, const char *call)
{
    if ((int)s < (int)POLYTLS_OK || (int)s > (int)POLYTLS_ERR_INTERNAL)
        fz_fail("status outside the polytls_status enum", call);
}

/* ------------------------------------------------------------ input ---- */
uint8_t fz_u8(fz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

uint16_t fz_u16(fz_in *in)
{
    uint16_t hi = fz_u8(in);
    return (uint16_t)(hi << 8 | fz_u8(in));
}

size_t fz_take(fz_in *in, size_t max, const uint8_t **out)
{
    size_t n = in->n < max ? in->n : max;
    *out = in->p;
    in->p += n;
    in->n -= n;
    return n;
}

/* ---------------------------------------------------------- backends --- */
#define FZ_MAX_BACKENDS 8

static polytls_backend *backends[FZ_MAX_BACKENDS];
static size_t n_backends;

static void load_backends(void)
{
    if (n_backends)
        return;
    const char *const *names = polytls_backend_names();
    for (size_t i = 0; names[i] && n_backends < FZ_MAX_BACKENDS; i++) {
        polytls_backend *b = NULL;
        if (polytls_backend_get(names[i], &b) == POLYTLS_OK)
            backends[n_backends++] = b;
    }
    if (!n_backends)
        fz_fail("no backend available", polytls_last_error_message());
}

size_t fz_backend_count(void)
{
    load_backends();
    return n_backends;
}

const polytls_backend *fz_backend(size_t index)
{
    load_backends();
    return backends[index % n_backends];
}

/* ------------------------------------------------------------- PKI ----- */
static polytls_trust_store *trust;
static polytls_certificate **ca_certs, **chain;
static size_t n_ca, n_chain;
static polytls_server_certificates *server_chain;

static void load_pki(void)
{
    if (server_chain)
        return;
    polytls_status s = polytls_certificates_from_pem(demo_ca_pem, strlen(demo_ca_pem), &ca_certs, &n_ca);
    if (s == POLYTLS_OK)
        s = polytls_trust_store_new(ca_certs, n_ca, &trust);
    if (s == POLYTLS_OK)
        s = polytls_chain_from_pem(demo_leaf_pem, strlen(demo_leaf_pem), demo_leaf_key_pem,
                                   strlen(demo_leaf_key_pem), &chain, &n_chain);
    if (s == POLYTLS_OK)
        s = polytls_server_chain_new(chain, n_chain, &server_chain);
    if (s != POLYTLS_OK)
        fz_fail("the demo PKI does not load", polytls_last_error_message());
}

const char *fz_hostname(void)
{
    return DEMO_HOSTNAME;
}

polytls_trust_store *fz_trust(void)
{
    load_pki();
    return trust;
}

polytls_certificate *const *fz_chain(size_t *n)
{
    load_pki();
    *n = n_chain;
    return chain;
}

polytls_certificate *fz_ca(void)
{
    load_pki();
    return ca_certs[0];
}

polytls_server_certificates *fz_server_chain(void)
{
    load_pki();
    return server_chain;
}

void fz_versions(unsigned bits, uint16_t *min, uint16_t *max)
{
    switch (bits & 3) {
    case 1: *min = *max = 0x0303; break;
    case 2: *min = *max = 0x0304; break;
    default: *min = 0x0303; *max = 0x0304; break;
    }
}

static polytls_server *servers[FZ_MAX_BACKENDS][4][3];
static polytls_client *clients[FZ_MAX_BACKENDS][4];

polytls_server *fz_cached_server(size_t backend, unsigned version_bits, unsigned auth)
{
    load_backends();
    backend %= n_backends;
    version_bits &= 3;
    auth %= 3;
    polytls_server **slot = &servers[backend][version_bits][auth];
    if (*slot)
        return *slot;
    uint16_t min, max;
    fz_versions(version_bits, &min, &max);
    polytls_status s = polytls_server_new(backends[backend], fz_server_chain(), NULL, 0, slot);
    if (s == POLYTLS_OK)
        s = polytls_server_set_versions(*slot, min, max);
    if (s == POLYTLS_OK && auth)
        s = polytls_server_set_client_auth(*slot, (polytls_client_auth)auth, fz_trust(), true);
    if (s != POLYTLS_OK)
        fz_fail("cannot make a server", polytls_last_error_message());
    return *slot;
}

polytls_client *fz_cached_client(size_t backend, unsigned version_bits)
{
    load_backends();
    backend %= n_backends;
    version_bits &= 3;
    polytls_client **slot = &clients[backend][version_bits];
    if (*slot)
        return *slot;
    uint16_t min, max;
    fz_versions(version_bits, &min, &max);
    polytls_status s = polytls_client_new(backends[backend], DEMO_HOSTNAME, fz_trust(), NULL, slot);
    if (s == POLYTLS_OK)
        s = polytls_client_set_versions(*slot, min, max);
    if (s != POLYTLS_OK)
        fz_fail("cannot make a client", polytls_last_error_message());
    return *slot;
}

/* ------------------------------------------------------- resumption --- */
static polytls_server *resume_servers[FZ_MAX_BACKENDS][4];
static polytls_client *resume_clients[FZ_MAX_BACKENDS][4];
typedef struct fz_saved_session {
    uint8_t *bytes;
    size_t len;
} fz_saved_session;
static fz_saved_session sessions[FZ_MAX_BACKENDS][FZ_MAX_BACKENDS][4];

/* Installs the fixed ticket key as generation 1 with nothing revoked, the
   state core/ticket_keys.c reaches after its first new_generation(), with
   a fixed string instead of random bytes as the master secret. */
static void reset_ticket_key(polytls_server *server)
{
    static const uint8_t master[32] = "polytls fuzz ticket key";
    ptls_ticket_keys_install(&server->ep.tickets, master, 1);
}

polytls_server *fz_cached_resume_server(size_t backend, unsigned version_bits)
{
    load_backends();
    backend %= n_backends;
    version_bits &= 3;
    polytls_server **slot = &resume_servers[backend][version_bits];
    if (!*slot) {
        uint16_t min, max;
        fz_versions(version_bits, &min, &max);
        polytls_status s = polytls_server_new(backends[backend], fz_server_chain(), NULL, 0, slot);
        if (s == POLYTLS_OK)
            s = polytls_server_set_versions(*slot, min, max);
        if (s == POLYTLS_OK)
            s = polytls_server_set_resumption(*slot, true, 604800);
        if (s != POLYTLS_OK)
            fz_fail("cannot make a resumption server", polytls_last_error_message());
        /* One real handshake first, as a server's life begins: the wolfSSL
           driver accepts only tickets of the length it saw itself encrypt
           (wolf_ticket_plain_len), so a seed's ticket needs one issued in
           this process before. */
        reset_ticket_key(*slot);
        polytls_session_free(fz_fresh_session(backend, backend, version_bits));
    }
    reset_ticket_key(*slot);
    return *slot;
}

polytls_client *fz_cached_resume_client(size_t backend, unsigned version_bits)
{
    load_backends();
    backend %= n_backends;
    version_bits &= 3;
    polytls_client **slot = &resume_clients[backend][version_bits];
    if (*slot)
        return *slot;
    uint16_t min, max;
    fz_versions(version_bits, &min, &max);
    polytls_status s = polytls_client_new(backends[backend], DEMO_HOSTNAME, fz_trust(), NULL, slot);
    if (s == POLYTLS_OK)
        s = polytls_client_set_versions(*slot, min, max);
    if (s == POLYTLS_OK)
        s = polytls_client_set_resumption(*slot, true);
    if (s != POLYTLS_OK)
        fz_fail("cannot make a resumption client", polytls_last_error_message());
    return *slot;
}

void fz_exchange(fz_side *c, fz_side *s)
{
    for (int round = 0; round < 40 && (c->out.len || s->out.len); round++) {
        if (c->out.len) {
            fz_stream in = c->out;
            c->out = (fz_stream){0};
            fz_feed(s, in.data, in.len);
            fz_stream_free(&in);
        }
        if (s->out.len) {
            fz_stream in = s->out;
            s->out = (fz_stream){0};
            fz_feed(c, in.data, in.len);
            fz_stream_free(&in);
        }
    }
}

/* One real handshake between the resumption endpoints; the session the
   client got, serialised. */
static void make_session(size_t cb, size_t sb, unsigned version_bits, fz_saved_session *out)
{
    fz_side c = {0}, s = {.server = true};
    if (polytls_server_start(fz_cached_resume_server(sb, version_bits), &fz_callbacks, &s, &s.conn) != POLYTLS_OK ||
        polytls_client_start(fz_cached_resume_client(cb, version_bits), &fz_callbacks, &c, &c.conn) != POLYTLS_OK)
        fz_fail("cannot start a resumption handshake", polytls_last_error_message());
    fz_exchange(&c, &s);
    polytls_session *session = NULL;
    if (!polytls_conn_handshake_done(c.conn) || !polytls_conn_handshake_done(s.conn))
        fz_fail("a resumption handshake did not complete", polytls_conn_error_message(c.conn));
    if (polytls_conn_get_session(c.conn, &session) != POLYTLS_OK)
        fz_fail("the client got no session", polytls_last_error_message());
    size_t len = 0;
    if (polytls_session_serialize(session, NULL, 0, &len) != POLYTLS_OK || !(out->bytes = malloc(len)) ||
        polytls_session_serialize(session, out->bytes, len, &out->len) != POLYTLS_OK)
        fz_fail("cannot serialise a session", polytls_last_error_message());
    polytls_session_free(session);
    polytls_conn_free(c.conn);
    polytls_conn_free(s.conn);
    fz_stream_free(&c.out);
    fz_stream_free(&s.out);
}

polytls_session *fz_fresh_session(size_t cb, size_t sb, unsigned version_bits)
{
    load_backends();
    cb %= n_backends;
    sb %= n_backends;
    version_bits &= 3;
    /* The server first: creating it makes its own session (cb == sb),
       which must not find this slot half made. */
    fz_cached_resume_server(sb, version_bits);
    fz_saved_session *saved = &sessions[cb][sb][version_bits];
    if (!saved->bytes)
        make_session(cb, sb, version_bits, saved);
    polytls_session *session = NULL;
    if (polytls_session_deserialize(saved->bytes, saved->len, &session) != POLYTLS_OK)
        fz_fail("cannot read a session back", polytls_last_error_message());
    return session;
}

/* Releases everything cached, so that valgrind and LeakSanitizer see a clean
   exit and any leak they report is the library's. */
static void release_cache(void)
{
    for (size_t b = 0; b < FZ_MAX_BACKENDS; b++)
        for (size_t v = 0; v < 4; v++) {
            polytls_client_free(resume_clients[b][v]);
            polytls_server_free(resume_servers[b][v]);
            resume_clients[b][v] = NULL;
            resume_servers[b][v] = NULL;
            for (size_t sb = 0; sb < FZ_MAX_BACKENDS; sb++) {
                free(sessions[b][sb][v].bytes);
                sessions[b][sb][v] = (fz_saved_session){0};
            }
        }
    for (size_t b = 0; b < FZ_MAX_BACKENDS; b++)
        for (size_t v = 0; v < 4; v++) {
            polytls_client_free(clients[b][v]);
            clients[b][v] = NULL;
            for (size_t a = 0; a < 3; a++) {
                polytls_server_free(servers[b][v][a]);
                servers[b][v][a] = NULL;
            }
        }
    polytls_server_certificates_unref(server_chain);
    polytls_trust_store_unref(trust);
    polytls_certificates_free(ca_certs, n_ca);
    polytls_certificates_free(chain, n_chain);
    server_chain = NULL;
    trust = NULL;
    ca_certs = chain = NULL;
}

__attribute__((constructor)) static void register_release(void)
{
    atexit(release_cache);
}

/* ------------------------------------------------------------ pairs ---- */
void fz_stream_append(fz_stream *s, const uint8_t *p, size_t n)
{
    if (!n)
        return;
    if (s->len + n > s->cap) {
        size_t cap = (s->len + n) * 2;
        uint8_t *d = realloc(s->data, cap);
        if (!d)
            fz_fail("out of memory in the harness", NULL);
        s->data = d;
        s->cap = cap;
    }
    memcpy(s->data + s->len, p, n);
    s->len += n;
}

void fz_stream_consume(fz_stream *s, size_t n)
{
    if (n >= s->len) {
        s->len = 0;
        return;
    }
    memmove(s->data, s->data + n, s->len - n);
    s->len -= n;
}

void fz_stream_free(fz_stream *s)
{
    free(s->data);
    memset(s, 0, sizeof *s);
}

size_t fz_record_len(const uint8_t *p, size_t n)
{
    if (n < 5)
        return n;
    size_t want = 5 + ((size_t)p[3] << 8 | p[4]);
    return want < n ? want : n;
}

static void on_write(void *user, const uint8_t *data, size_t len)
{
    fz_side *s = user;
    if (!data && len)
        fz_fail("write_to_wire got NULL data", NULL);
    fz_stream_append(&s->out, data, len);
}

static void on_close(void *user, bool immediate)
{
    (void)immediate;
    fz_side *s = user;
    if (++s->closes > 1)
        fz_fail("wire_close called twice", NULL);
}

const polytls_conn_callbacks fz_callbacks = {
    .size = sizeof(polytls_conn_callbacks),
    .write_to_wire = on_write,
    .wire_close = on_close,
};

polytls_status fz_feed(fz_side *to, const uint8_t *p, size_t n)
{
    bool was_invalid = polytls_conn_invalidated(to->conn);
    const uint8_t *app = NULL;
    size_t app_len = 12345;
    polytls_status s = polytls_conn_data_from_wire(to->conn, p, n, &app, &app_len);
    fz_check_status(s, "data_from_wire");
    if (app_len == 12345)
        fz_fail("data_from_wire did not write app_len", polytls_status_name(s));
    if (app_len) {
        if (!app)
            fz_fail("data_from_wire: app NULL with a length", NULL);
        /* Touch every byte so ASan/valgrind see a bad pointer. */
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < app_len; i++)
            sink ^= app[i];
        (void)sink;
        to->received += app_len;
    }
    if (getenv("POLYTLS_FUZZ_TRACE"))
        fprintf(stderr, "  %s <- %zu bytes: %s, %zu plaintext, handshake %s%s\n",
                to->server ? "server" : "client", n, polytls_status_name(s), app_len,
                polytls_conn_handshake_done(to->conn) ? "done" : "not done",
                polytls_conn_invalidated(to->conn) ? ", invalidated" : "");
    if (was_invalid && n && s == POLYTLS_OK)
        fz_fail("data_from_wire succeeded after invalidation", NULL);
    if (s == POLYTLS_ERR_TLS_ALERT || s == POLYTLS_ERR_BAD_TLS_DATA || s == POLYTLS_ERR_CALLBACK_FAILED) {
        if (!polytls_conn_invalidated(to->conn))
            fz_fail("a fatal status left the connection valid", polytls_status_name(s));
    }
    if (polytls_conn_invalidated(to->conn) && !polytls_conn_error_message(to->conn))
        fz_fail("error message NULL", NULL);
    return s;
}

polytls_status fz_send_app(fz_side *from, const uint8_t *p, size_t n)
{
    bool was_invalid = polytls_conn_invalidated(from->conn);
    polytls_status s = polytls_conn_data_from_application(from->conn, p, n);
    fz_check_status(s, "data_from_application");
    if (was_invalid && n && s == POLYTLS_OK)
        fz_fail("data_from_application succeeded after invalidation", NULL);
    return s;
}
