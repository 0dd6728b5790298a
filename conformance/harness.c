/* The conformance harness: see harness.h. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const polytls_backend *cf_backend;
uint32_t cf_caps;
const char *cf_current_test = "";

int cf_test_setup(void **state)
{
    const cf_test_info *t = *state;
    if (!t) /* not declared with CF_TEST: nothing to record */
        return 0;
    cf_current_test = t->id;
    cf_report_begin(t->id);
    return 0;
}

void cf_assert_status_at(polytls_status actual, polytls_status expected, const polytls_conn *conn,
                         const char *expr, const char *file, int line)
{
    if (actual == expected)
        return;
    print_error("%s:%d: %s returned %s, expected %s\n", file, line, expr,
                polytls_status_name(actual), polytls_status_name(expected));
    print_error("  last error: %s\n", polytls_last_error_message());
    if (conn)
        print_error("  connection error: %s\n", polytls_conn_error_message(conn));
    _fail(file, line);
}

/* ------------------------------------------------------------------------ */
/* memory                                                                     */

void *cf_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        cf_fail("out of memory (%zu bytes)", n);
    return p;
}

void cf_append(uint8_t **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
    if (n == 0)
        return;
    if (*len + n > *cap) {
        size_t ncap = *cap ? *cap : 256;
        while (ncap < *len + n)
            ncap *= 2;
        uint8_t *nb = realloc(*buf, ncap);
        if (!nb)
            cf_fail("out of memory (%zu bytes)", ncap);
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
}

/* ------------------------------------------------------------------------ */
/* PKI                                                                        */

const char *cf_pki_path(const char *name)
{
    static char path[4096];
    const char *dir = getenv("POLYTLS_TEST_PKI");
    if (!dir || !*dir)
        cf_fail("POLYTLS_TEST_PKI is not set (meson sets it; run through `meson test`)");
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

char *cf_pki_read(const char *name, size_t *len)
{
    const char *path = cf_pki_path(name);
    FILE *f = fopen(path, "rb");
    if (!f)
        cf_fail("cannot open %s", path);
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        cf_append(&buf, &n, &cap, chunk, got);
    fclose(f);
    cf_append(&buf, &n, &cap, "", 1); /* NUL for text use; not counted */
    *len = n - 1;
    return (char *)buf;
}

cf_certs cf_load_certs(const char *pem_name)
{
    cf_certs c = { NULL, 0 };
    cf_assert_status(polytls_certificates_from_pem_file(cf_pki_path(pem_name), &c.v, &c.n),
                     POLYTLS_OK);
    return c;
}

cf_certs cf_load_chain_files(const char *cert_name, const char *key_name)
{
    cf_certs c = { NULL, 0 };
    char cert_path[4096];
    snprintf(cert_path, sizeof cert_path, "%s", cf_pki_path(cert_name));
    cf_assert_status(polytls_chain_from_pem_files(cert_path, cf_pki_path(key_name), &c.v, &c.n),
                     POLYTLS_OK);
    return c;
}

cf_certs cf_load_chain(const char *leaf)
{
    char cert[256], key[256];
    snprintf(cert, sizeof cert, "%s-chain.pem", leaf);
    snprintf(key, sizeof key, "%s.key", leaf);
    return cf_load_chain_files(cert, key);
}

polytls_certificate *cf_load_der_cert(const char *name)
{
    char file[256];
    size_t len;
    snprintf(file, sizeof file, "%s.der", name);
    char *der = cf_pki_read(file, &len);
    polytls_certificate *c = NULL;
    polytls_status st = polytls_certificate_new((const uint8_t *)der, len, NULL, 0, &c);
    free(der);
    cf_assert_status(st, POLYTLS_OK);
    return c;
}

void cf_certs_free(cf_certs *c)
{
    polytls_certificates_free(c->v, c->n);
    c->v = NULL;
    c->n = 0;
}

polytls_trust_store *cf_load_trust(const char *pem_name)
{
    cf_certs c = cf_load_certs(pem_name);
    polytls_trust_store *ts = NULL;
    polytls_status st = polytls_trust_store_new(c.v, c.n, &ts);
    cf_certs_free(&c); /* the store keeps its own references */
    cf_assert_status(st, POLYTLS_OK);
    return ts;
}

uint8_t *cf_subject_der(const char *pem_name, size_t *len)
{
    cf_certs c = cf_load_certs(pem_name);
    const uint8_t *der;
    size_t n;
    cf_assert_status(polytls_certificate_subject(c.v[0], &der, &n), POLYTLS_OK);
    uint8_t *copy = cf_xmalloc(n);
    memcpy(copy, der, n);
    *len = n;
    cf_certs_free(&c);
    return copy;
}

/* ------------------------------------------------------------------------ */
/* recording callbacks                                                        */

static void record(cf_pair *p, int side, cf_event_kind kind, size_t size, bool immediate)
{
    if (p->n_events >= CF_MAX_EVENTS)
        return; /* long data tests: the early events are the interesting ones */
    cf_event *e = &p->events[p->n_events++];
    e->side = side;
    e->kind = kind;
    e->size = size;
    e->immediate = immediate;
}

static void cb_write(void *user, const uint8_t *data, size_t len)
{
    cf_side *s = user;
    record(s->pair, s->which, CF_EV_WRITE, len, false);
    s->writes++;
    s->bytes_written += len;
    if (s->wire_closed)
        s->bytes_after_close += len;
    else
        cf_append(&s->out, &s->out_len, &s->out_cap, data, len);
    cf_append(&s->log, &s->log_len, &s->log_cap, data, len);
    if (s->on_write)
        s->on_write(s, data, len);
}

static void cb_wire_close(void *user, bool immediate)
{
    cf_side *s = user;
    record(s->pair, s->which, CF_EV_WIRE_CLOSE, 0, immediate);
    s->wire_closes++;
    s->wire_closed = true;
    s->wire_close_immediate = immediate;
    /* immediate: the write side closes now, so what was not yet sent is lost */
    if (immediate)
        s->out_len = 0;
}

static int cb_verify(void *user, polytls_conn *conn, polytls_certificate *const *chain, size_t n)
{
    cf_side *s = user;
    record(s->pair, s->which, CF_EV_VERIFY, n, false);
    s->verify_calls++;
    if (s->verify_calls == 1) {
        s->verify_n = n;
        for (size_t i = 0; i < n && i < CF_MAX_CHAIN; i++) {
            const uint8_t *der;
            size_t len;
            if (polytls_certificate_der(chain[i], &der, &len) != POLYTLS_OK)
                continue;
            s->verify_der[i] = cf_xmalloc(len);
            memcpy(s->verify_der[i], der, len);
            s->verify_der_len[i] = len;
        }
    }
    if (s->verify_send_alert) {
        s->verify_alert_status = polytls_conn_send_alert(conn, s->verify_alert, s->verify_alert_level);
        snprintf(s->verify_alert_message, sizeof s->verify_alert_message, "%s",
                 polytls_conn_error_message(conn));
    }
    if (s->on_verify)
        return s->on_verify(s, chain, n);
    return s->verify_result;
}

static void cb_handshake_done(void *user, polytls_conn *conn)
{
    (void)conn;
    cf_side *s = user;
    record(s->pair, s->which, CF_EV_HANDSHAKE_DONE, 0, false);
    s->handshake_done_calls++;
    if (s->on_handshake_done)
        s->on_handshake_done(s);
}

const polytls_conn_callbacks cf_callbacks = {
    .size = sizeof(polytls_conn_callbacks),
    .write_to_wire = cb_write,
    .wire_close = cb_wire_close,
    .verify = cb_verify,
    .handshake_done = cb_handshake_done,
};

/* ------------------------------------------------------------------------ */
/* pair                                                                       */

void cf_pair_init(cf_pair *p)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < 2; i++) {
        p->side[i].pair = p;
        p->side[i].which = i;
        p->side[i].last_status = POLYTLS_OK;
        p->side[i].first_error = POLYTLS_OK;
    }
    p->split = CF_SPLIT_WHOLE;
    p->rng = 0x2545F491u;
}

polytls_status cf_start_client(cf_pair *p, polytls_client *client)
{
    return polytls_client_start(client, &cf_callbacks, CF_C(p), &CF_C(p)->conn);
}

polytls_status cf_start_server(cf_pair *p, polytls_server *server)
{
    return polytls_server_start(server, &cf_callbacks, CF_S(p), &CF_S(p)->conn);
}

void cf_pair_setup(cf_pair *p, const cf_setup *s)
{
    static const cf_setup defaults;
    if (!s)
        s = &defaults;

    if (!s->no_server) {
        polytls_server_certificates *sc = s->server_certs;
        bool own_sc = false;
        if (!sc) {
            cf_certs chain = cf_load_chain(s->chain ? s->chain : "server-ec");
            polytls_status st = polytls_server_chain_new(chain.v, chain.n, &sc);
            cf_certs_free(&chain);
            cf_assert_status(st, POLYTLS_OK);
            own_sc = true;
        }
        polytls_status st = polytls_server_new(s->server_backend ? s->server_backend : cf_backend, sc,
                                               s->dh, s->dh_len, &p->server);
        if (own_sc)
            polytls_server_certificates_unref(sc);
        cf_assert_status(st, POLYTLS_OK);
        if (s->server_min || s->server_max)
            cf_assert_status(polytls_server_set_versions(p->server,
                                                         s->server_min ? s->server_min : 0x0303,
                                                         s->server_max ? s->server_max : 0x0304),
                             POLYTLS_OK);
        if (s->client_auth != POLYTLS_CLIENT_AUTH_NONE) {
            polytls_trust_store *ts =
                cf_load_trust(s->client_auth_trust ? s->client_auth_trust : "client-ca1.pem");
            st = polytls_server_set_client_auth(p->server, s->client_auth, ts, s->send_ca_names);
            polytls_trust_store_unref(ts);
            cf_assert_status(st, POLYTLS_OK);
        }
    }
    if (!s->no_client) {
        polytls_trust_store *ts = cf_load_trust(s->trust ? s->trust : "root.pem");
        polytls_status st = polytls_client_new(s->client_backend ? s->client_backend : cf_backend,
                                               s->hostname ? s->hostname : "server.test",
                                               ts, s->client_store, &p->client);
        polytls_trust_store_unref(ts);
        cf_assert_status(st, POLYTLS_OK);
        if (s->client_min || s->client_max)
            cf_assert_status(polytls_client_set_versions(p->client,
                                                         s->client_min ? s->client_min : 0x0303,
                                                         s->client_max ? s->client_max : 0x0304),
                             POLYTLS_OK);
    }
    if (!s->no_server)
        cf_assert_status(cf_start_server(p, p->server), POLYTLS_OK);
    if (!s->no_client)
        cf_assert_status(cf_start_client(p, p->client), POLYTLS_OK);
}

static uint32_t next_random(cf_pair *p)
{
    /* xorshift32: a fixed seed gives the same splits on every run */
    uint32_t x = p->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p->rng = x;
    return x;
}

/* One data_from_wire call; records the status and collects the plaintext. */
static polytls_status feed(cf_side *dst, const uint8_t *data, size_t len)
{
    const uint8_t *app = NULL;
    size_t app_len = 0;
    polytls_status st = polytls_conn_data_from_wire(dst->conn, data, len, &app, &app_len);
    if (app_len > 0) {
        if (!app)
            cf_fail("data_from_wire returned %zu bytes with a NULL pointer", app_len);
        cf_append(&dst->app, &dst->app_len, &dst->app_cap, app, app_len);
    }
    dst->last_status = st;
    if (st != POLYTLS_OK) {
        if (dst->first_error == POLYTLS_OK)
            dst->first_error = st;
        dst->input_stopped = true;
    }
    return st;
}

polytls_status cf_deliver(cf_pair *p, int to, const uint8_t *data, size_t len)
{
    cf_side *dst = &p->side[to];
    polytls_status st = POLYTLS_OK;
    size_t off = 0;
    while (off < len && !dst->input_stopped && dst->conn) {
        size_t n = len - off;
        if (p->split == CF_SPLIT_BYTES)
            n = 1;
        else if (p->split == CF_SPLIT_RANDOM) {
            size_t r = 1 + next_random(p) % 700;
            if (r < n)
                n = r;
        }
        st = feed(dst, data + off, n);
        off += n;
    }
    return st;
}

size_t cf_pump(cf_pair *p)
{
    size_t total = 0;
    for (;;) {
        size_t moved = 0;
        for (int from = 0; from < 2; from++) {
            cf_side *src = &p->side[from];
            cf_side *dst = &p->side[1 - from];
            if (src->out_len == 0)
                continue;
            /* The receiver closed its transport or stopped reading: the bytes
               are lost, as on a real socket. */
            if (!dst->conn || dst->input_stopped || dst->wire_closed) {
                src->out_len = 0;
                continue;
            }
            /* Take the bytes out first: callbacks during delivery append to
               the queues again. */
            size_t n = src->out_len;
            uint8_t *chunk = cf_xmalloc(n);
            memcpy(chunk, src->out, n);
            src->out_len = 0;
            cf_deliver(p, 1 - from, chunk, n);
            free(chunk);
            moved += n;
        }
        if (p->deliver_eof) {
            for (int from = 0; from < 2; from++) {
                cf_side *src = &p->side[from];
                cf_side *dst = &p->side[1 - from];
                if (src->wire_closed && src->out_len == 0 && !dst->eof_delivered && dst->conn &&
                    !dst->input_stopped && !dst->wire_closed) {
                    dst->eof_delivered = true;
                    polytls_status st = polytls_conn_eof_from_wire(dst->conn);
                    dst->last_status = st;
                    if (st != POLYTLS_OK && dst->first_error == POLYTLS_OK)
                        dst->first_error = st;
                    moved++;
                }
            }
        }
        if (moved == 0)
            break;
        total += moved;
    }
    return total;
}

void cf_handshake(cf_pair *p)
{
    cf_pump(p);
    cf_assert_conn_status(CF_C(p)->first_error, POLYTLS_OK, CF_C(p)->conn);
    cf_assert_conn_status(CF_S(p)->first_error, POLYTLS_OK, CF_S(p)->conn);
    if (!polytls_conn_handshake_done(CF_C(p)->conn))
        cf_fail("client handshake not done: %s", polytls_conn_error_message(CF_C(p)->conn));
    if (!polytls_conn_handshake_done(CF_S(p)->conn))
        cf_fail("server handshake not done: %s", polytls_conn_error_message(CF_S(p)->conn));
}

void cf_drop_output(cf_side *s) { s->out_len = 0; }

long cf_find_event(const cf_pair *p, int side, cf_event_kind kind, size_t from)
{
    for (size_t i = from; i < p->n_events; i++)
        if (p->events[i].side == side && p->events[i].kind == kind)
            return (long)i;
    return -1;
}

void cf_pair_free(cf_pair *p)
{
    for (int i = 0; i < 2; i++) {
        cf_side *s = &p->side[i];
        polytls_conn_free(s->conn);
        s->conn = NULL;
        free(s->out);
        free(s->log);
        free(s->app);
        for (size_t k = 0; k < CF_MAX_CHAIN; k++)
            free(s->verify_der[k]);
        s->out = s->log = s->app = NULL;
    }
    polytls_client_free(p->client);
    polytls_server_free(p->server);
    p->client = NULL;
    p->server = NULL;
}

/* ------------------------------------------------------------------------ */
/* alert scanner                                                              */

size_t cf_scan_plain_alerts(const uint8_t *wire, size_t len, cf_wire_alert *out, size_t max)
{
    size_t found = 0, off = 0;
    while (off + 5 <= len) {
        uint8_t type = wire[off];
        size_t rlen = ((size_t)wire[off + 3] << 8) | wire[off + 4];
        if (off + 5 + rlen > len)
            break; /* a partial record at the end */
        /* An encrypted alert is longer than 2 (nonce/tag) or hidden as
           application_data in TLS 1.3, so type 21 + length 2 is plaintext. */
        if (type == 21 && rlen == 2) {
            if (found < max) {
                out[found].level = wire[off + 5];
                out[found].code = wire[off + 6];
            }
            found++;
        }
        off += 5 + rlen;
    }
    return found;
}

bool cf_last_plain_alert(const cf_side *s, cf_wire_alert *out)
{
    cf_wire_alert a[64];
    size_t n = cf_scan_plain_alerts(s->log, s->log_len, a, 64);
    if (n == 0)
        return false;
    *out = a[(n > 64 ? 64 : n) - 1];
    return true;
}

long cf_peer_alert_code(const cf_side *receiver)
{
    polytls_alert code;
    polytls_alert_level level;
    if (!receiver->conn || polytls_conn_peer_alert(receiver->conn, &code, &level) != POLYTLS_OK)
        return -1;
    return (long)code;
}

long cf_alert_sent_by(const cf_pair *p, int sender)
{
    long code = cf_peer_alert_code(&p->side[1 - sender]);
    if (code >= 0)
        return code;
    cf_wire_alert a;
    if (cf_last_plain_alert(&p->side[sender], &a))
        return a.code;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* common assertions                                                          */

void cf_send_and_check(cf_pair *p, int from, const void *data, size_t len)
{
    cf_side *src = &p->side[from];
    cf_side *dst = &p->side[1 - from];
    size_t before = dst->app_len;
    cf_assert_conn_status(polytls_conn_data_from_application(src->conn, data, len), POLYTLS_OK,
                          src->conn);
    cf_pump(p);
    cf_assert_conn_status(dst->first_error, POLYTLS_OK, dst->conn);
    if (dst->app_len - before != len)
        cf_fail("%s received %zu bytes, expected %zu", from == CF_CLIENT ? "server" : "client",
                dst->app_len - before, len);
    if (len && memcmp(dst->app + before, data, len) != 0)
        cf_fail("the received bytes differ from the bytes sent");
}

void cf_assert_all_invalidated(polytls_conn *c)
{
    assert_non_null(c);
    assert_true(polytls_conn_invalidated(c));
    const uint8_t *app = NULL;
    size_t app_len = 0; /* (whether it is written on errors: errors.app_len_on_error) */
    static const uint8_t byte = 0x17;
    cf_assert_status(polytls_conn_data_from_wire(c, &byte, 1, &app, &app_len),
                     POLYTLS_ERR_INVALIDATED);
    assert_int_equal(app_len, 0);
    cf_assert_status(polytls_conn_data_from_application(c, &byte, 1), POLYTLS_ERR_INVALIDATED);
    cf_assert_status(polytls_conn_send_alert(c, POLYTLS_ALERT_INTERNAL_ERROR,
                                             POLYTLS_ALERT_LEVEL_FATAL),
                     POLYTLS_ERR_INVALIDATED);
    cf_assert_status(polytls_conn_application_finished(c), POLYTLS_ERR_INVALIDATED);
    cf_assert_status(polytls_conn_eof_from_wire(c), POLYTLS_ERR_INVALIDATED);
    /* and still nothing changed: */
    assert_true(polytls_conn_invalidated(c));
}

void cf_assert_wire_closed(const cf_side *s, bool immediate)
{
    if (s->wire_closes != 1)
        cf_fail("%s: wire_close called %u times, expected once",
                s->which == CF_CLIENT ? "client" : "server", s->wire_closes);
    if (s->wire_close_immediate != immediate)
        cf_fail("%s: wire_close(immediate=%s), expected %s",
                s->which == CF_CLIENT ? "client" : "server",
                s->wire_close_immediate ? "true" : "false", immediate ? "true" : "false");
}

void cf_assert_der_is(const uint8_t *der, size_t len, const char *name)
{
    char file[256];
    size_t flen;
    snprintf(file, sizeof file, "%s.der", name);
    char *want = cf_pki_read(file, &flen);
    bool same = flen == len && memcmp(want, der, len) == 0;
    free(want);
    if (!same)
        cf_fail("certificate is not %s (%zu bytes vs %zu)", name, len, flen);
}

void cf_assert_cert_is(polytls_certificate *c, const char *name)
{
    const uint8_t *der;
    size_t len;
    cf_assert_status(polytls_certificate_der(c, &der, &len), POLYTLS_OK);
    cf_assert_der_is(der, len, name);
}

bool cf_contains(const uint8_t *hay, size_t hay_len, const void *needle, size_t len)
{
    if (len == 0)
        return true;
    for (size_t i = 0; i + len <= hay_len; i++)
        if (memcmp(hay + i, needle, len) == 0)
            return true;
    return false;
}
