/* The services table handed to drivers: the only way a driver reaches the
   core. Each service enforces its own once-only rule (verify once per
   negotiation, the user's certificate callback once per request), so a
   driver whose library calls back several times stays correct. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "certificate.h"
#include "conn.h"
#include "coro.h"
#include "hostname.h"
#include "path_cache.h"
#include "sha256.h"
#include "server_certificates.h"
#include "status.h"

/* A server in the middle of the handshake hands its library whole records
   only, so the core sees every record header. The reason: a client may send
   its fatal alert in plaintext after the ServerHello (OpenSSL does, in TLS
   1.3, when it fails before switching to handshake keys); OpenSSL servers
   accept that, GnuTLS and wolfSSL fail to decrypt it. The core takes such
   an alert itself, so every server reports the client's alert alike. A
   record of type alert with exactly 2 bytes is plaintext: an encrypted one
   is longer (TLS 1.2) or has type application_data (TLS 1.3). */
static bool server_reads_records(const polytls_core_conn *c)
{
    return c->is_server && !c->handshake_done;
}

static size_t record_limit(polytls_core_conn *c, size_t n)
{
    const uint8_t *r = c->wire_in.data;
    if (c->rec_left == 0) {
        if (c->wire_in.len < 5)
            return 0;   /* wait for the whole header */
        if (r[0] == 21 && r[3] == 0 && r[4] == 2) {
            if (c->wire_in.len < 7)
                return 0;
            if (r[5] == POLYTLS_ALERT_LEVEL_FATAL) {
                c->has_peer_alert = true;
                c->peer_alert_code = (polytls_alert)r[6];
                c->peer_alert_level = POLYTLS_ALERT_LEVEL_FATAL;
                c->peer_alert_judged = true;
                c->peer_alert_is_error = true;
                c->wire_in.len = 0;   /* the connection ends here */
                return 0;
            }
        }
        c->rec_left = 5 + ((size_t)r[3] << 8 | r[4]);
    }
    return n < c->rec_left ? n : c->rec_left;
}

static size_t svc_io_recv(polytls_core_conn *c, uint8_t *buf, size_t cap)
{
    if (c->wire_in.len == 0 && c->borrowed_len) {
        /* established: straight from the caller's input (see data_from_wire) */
        size_t n = c->borrowed_len < cap ? c->borrowed_len : cap;
        memcpy(buf, c->borrowed, n);
        c->borrowed += n;
        c->borrowed_len -= n;
        return n;
    }
    size_t n = c->wire_in.len < cap ? c->wire_in.len : cap;
    if (server_reads_records(c)) {
        if (c->peer_alert_is_error)
            return 0;
        n = record_limit(c, n);
        c->rec_left -= n;
    }
    if (n) {
        memcpy(buf, c->wire_in.data, n);
        ptls_buf_consume(&c->wire_in, n);
        if (!c->is_server && !c->ca_scan.done)
            ptls_cert_request_feed(&c->ca_scan, buf, n);
    }
    return n;
}

/* Input the library has not been handed yet: what is left of the caller's
   bytes (established connections read them in place) plus wire_in. */
static size_t svc_io_pending(polytls_core_conn *c)
{
    return c->wire_in.len + c->borrowed_len;
}

static polytls_status svc_io_send(polytls_core_conn *c, const uint8_t *data, size_t len)
{
    if (c->wire_closed)
        return POLYTLS_OK;   /* the transport is closed: drop, as a socket would */
    return ptls_buf_append(&c->wire_out, data, len);
}

/* Plaintext goes straight into c->app when it has room for the whole read
   (bulk traffic: no copy). Otherwise the driver reads into a per-thread
   scratch area and only the bytes it produced are appended to c->app.
   Drivers reserve a full record (16 KiB) on every read, usually to be told
   "nothing yet": without the scratch area every connection would hold a
   record-sized buffer from its first handshake message on, and a 1 KiB
   record would grow it to 32 KiB. With it, c->app is sized by the
   plaintext actually returned (measured in bench/, docs/performance.md);
   the price is one copy of records that do not fit, i.e. small ones. */
#define APP_SCRATCH_LEN (16384 + 2048)
static _Thread_local uint8_t app_scratch[APP_SCRATCH_LEN];
static _Thread_local const polytls_core_conn *scratch_owner;

static uint8_t *svc_app_reserve(polytls_core_conn *c, size_t want)
{
    if (c->app.cap - c->app.len < want && want <= APP_SCRATCH_LEN && (!scratch_owner || scratch_owner == c)) {
        scratch_owner = c;
        return app_scratch;
    }
    if (ptls_buf_reserve(&c->app, want) != POLYTLS_OK)
        return NULL;
    return c->app.data + c->app.len;
}

static void svc_app_commit(polytls_core_conn *c, size_t n)
{
    if (scratch_owner == c) {
        scratch_owner = NULL;
        if (n && (n > APP_SCRATCH_LEN || ptls_buf_append(&c->app, app_scratch, n) != POLYTLS_OK))
            c->app_lost = true;  /* data_from_wire fails the connection with NO_MEMORY */
        return;
    }
    if (n <= c->app.cap - c->app.len)
        c->app.len += n;
}

void ptls_services_forget(polytls_conn *c)
{
    if (scratch_owner == c)
        scratch_owner = NULL;
}

static bool peer_matches_hostname(const ptls_endpoint *ep, const polytls_certificate *leaf)
{
    if (ep->host_is_ip) {
        uint8_t addr[16];
        size_t len = 0;
        return ptls_ip_parse(ep->hostname, addr, &len) && ptls_certificate_matches_ip(leaf, addr, len);
    }
    return ptls_certificate_matches_dns(leaf, ep->hostname);
}

/* Pinning (the seed's "pin against host"): some certificate of the verified
   chain must have one of the pinned SubjectPublicKeyInfo digests. */
static bool chain_matches_a_pin(const ptls_endpoint *ep, polytls_certificate *const *chain, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const ptls_cert_info *info = ptls_certificate_info(chain[i]);
        uint8_t digest[PTLS_SHA256_LEN];
        ptls_sha256_digest(info->spki.p, info->spki.len, digest);
        for (size_t k = 0; k < ep->n_pins; k++)
            if (memcmp(digest, ep->pins[k], PTLS_SHA256_LEN) == 0)
                return true;
    }
    return false;
}

/* The verification time option: libraries differ (wolfSSL and GnuTLS take
   no per-session time, OpenSSL does), so the core judges every validity
   period of the chain itself at the chosen instant, and the answer is the
   same on every backend. False with verify_error set when one fails. */
/* Long subjects and dates may not fit: the message is cut, never refused. */
static void set_verify_error(polytls_core_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_verify_error(polytls_core_conn *c, const char *fmt, ...)
{
    /* Allocated on the first refusal: most connections never need it. */
    if (!c->verify_error_buf) {
        c->verify_error_buf = malloc(PTLS_VERIFY_ERROR_LEN);
        if (!c->verify_error_buf) {
            /* Still non-empty: the core's own refusal is what gets reported. */
            c->verify_error = "the peer's certificate was refused (out of memory for the reason)";
            return;
        }
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->verify_error_buf, PTLS_VERIFY_ERROR_LEN, fmt, ap);
    va_end(ap);
    c->verify_error = c->verify_error_buf;
}

static bool chain_valid_at(polytls_core_conn *c, polytls_certificate *const *chain, size_t n, int64_t t)
{
    for (size_t i = 0; i < n; i++) {
        int64_t not_before = 0, not_after = 0;
        char subject[96], at[32], from[32], to[32];
        ptls_certificate_subject_text(chain[i], subject, sizeof subject);
        if (ptls_certificate_validity(chain[i], &not_before, &not_after) != POLYTLS_OK) {
            set_verify_error(c, "certificate %zu of the peer's chain (%s): unreadable validity period: %s", i,
                             subject, polytls_last_error_message());
            return false;
        }
        if (t < not_before || t > not_after) {
            ptls_time_text(t, at, sizeof at);
            ptls_time_text(not_before, from, sizeof from);
            ptls_time_text(not_after, to, sizeof to);
            set_verify_error(c,
                             "certificate %zu of the peer's chain (%s) is %s at the verification time %s: "
                             "valid from %s to %s",
                             i, subject, t < not_before ? "not yet valid" : "expired", at, from, to);
            return false;
        }
    }
    return true;
}

static bool svc_verify(polytls_core_conn *c, const polytls_drv_blob *chain, size_t n, polytls_alert *alert)
{
    if (c->verify_done) {
        *alert = c->verify_alert;
        return c->verify_ok;
    }
    c->verify_done = true;
    c->verify_ok = false;
    c->verify_alert = POLYTLS_ALERT_BAD_CERTIFICATE;
    *alert = c->verify_alert;

    polytls_certificate **certs = calloc(n ? n : 1, sizeof *certs);
    if (!certs) {
        ptls_conn_set_error(c, "out of memory during verification");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        polytls_status s = polytls_certificate_new(chain[i].data, chain[i].len, NULL, 0, &certs[i]);
        if (s != POLYTLS_OK) {
            ptls_conn_set_error(c, "certificate %zu of the peer's chain does not parse: %s", i,
                                polytls_last_error_message());
            polytls_certificates_free(certs, i);
            return false;
        }
    }
    c->peer_chain = certs;
    c->n_peer_chain = n;

    if (c->ep->has_verify_time && !chain_valid_at(c, certs, n, c->ep->verify_time)) {
        c->verify_alert = *alert = POLYTLS_ALERT_CERTIFICATE_EXPIRED;
        ptls_conn_set_error(c, "%s", c->verify_error);
        return false;
    }

    /* The name check, once more and the same on every backend: libraries
       differ (partial wildcards such as "f*.example.com", the subject CN
       when there is no subjectAltName). polytls accepts only RFC 6125
       subjectAltName matches: dNSName with at most a whole left-most "*"
       label, or iPAddress for an IP literal. */
    if (!c->is_server && n && !peer_matches_hostname(c->ep, certs[0])) {
        set_verify_error(c,
                 "the server's certificate does not match %s \"%s\" (no subjectAltName %s matches it)",
                 c->ep->host_is_ip ? "the IP address" : "the host name", c->ep->hostname,
                 c->ep->host_is_ip ? "iPAddress" : "dNSName");
        ptls_conn_set_error(c, "%s", c->verify_error);
        return false;
    }

    if (c->ep->n_pins && !chain_matches_a_pin(c->ep, certs, n)) {
        set_verify_error(c,
                 "no certificate of the peer's chain matches any of the %zu pinned public keys "
                 "(SHA-256 of the SubjectPublicKeyInfo)", c->ep->n_pins);
        ptls_conn_set_error(c, "%s", c->verify_error);
        return false;
    }

    int verdict = 0;
    if (c->cb.verify && c->cb.size >= offsetof(polytls_conn_callbacks, verify) + sizeof c->cb.verify) {
        c->in_verify = true;
        PTLS_CALLBACK(c, verdict = c->cb.verify(c->user, c, certs, n));
        c->in_verify = false;
    }
    if (verdict != 0 || c->verify_alert_chosen || c->invalidated) {
        c->verify_rejected_by_user = true;
        if (c->verify_alert_chosen)
            c->verify_alert = *alert = c->verify_alert;
        *alert = c->verify_alert;
        ptls_conn_set_error(c, "the verify callback rejected the peer's certificate (alert %s)",
                            polytls_alert_name(c->verify_alert));
        return false;
    }
    c->verify_ok = true;
    return true;
}

static void collect_name(void *arg, const uint8_t *der, size_t len)
{
    polytls_drv_blob **next = arg;
    (*next)->data = der;
    (*next)->len = len;
    (*next)++;
}

static polytls_drv_cert_answer svc_client_cert_request(polytls_core_conn *c, const polytls_drv_blob *names,
                                                       size_t n, const polytls_drv_chain **chain)
{
    /* A driver that cannot tell the CA names of a TLS 1.2 request (wolfSSL
       5.5) gets the ones the core read from the plaintext flight. */
    polytls_drv_blob *scanned = NULL;
    if (n == 0 && !c->client_cert_requested) {
        size_t k = ptls_cert_request_names(&c->ca_scan, NULL, NULL);
        if (k && (scanned = calloc(k, sizeof *scanned)) != NULL) {
            polytls_drv_blob *next = scanned;
            ptls_cert_request_names(&c->ca_scan, collect_name, &next);
            names = scanned;
            n = k;
        }
    }
    if (!c->client_cert_requested) {
        c->client_cert_requested = true;
        if (!c->ep->store) {
            c->answer_ready = true;   /* no store: no certificate */
        } else {
            c->reply = ptls_reply_new(c, true, names, n);
            if (!c->reply) {
                c->answer_ready = true;
                ptls_conn_set_error(c, "out of memory asking for a client certificate");
            } else {
                const uint8_t **roots = NULL;
                size_t *lens = NULL;
                if (n) {
                    roots = calloc(n, sizeof *roots);
                    lens = calloc(n, sizeof *lens);
                }
                if (n && (!roots || !lens)) {
                    c->answer_ready = true;
                } else {
                    for (size_t i = 0; i < n; i++) {
                        roots[i] = names[i].data;
                        lens[i] = names[i].len;
                    }
                    PTLS_CALLBACK(c, ptls_client_cert_store_request(c->ep->store, roots, lens, n, c->reply));
                }
                free(roots);
                free(lens);
            }
        }
    }
    free(scanned);
    if (!c->answer_ready)
        return POLYTLS_DRV_CERT_PENDING;
    *chain = c->answer.n ? &c->answer.drv : NULL;
    return POLYTLS_DRV_CERT_READY;
}

/* Recorded as received; the core judges it (ptls_conn_judge_alert) once the
   driver op returns, when the negotiated version is known. */
static void svc_peer_alert(polytls_core_conn *c, polytls_alert code, polytls_alert_level level)
{
    if (code == POLYTLS_ALERT_CLOSE_NOTIFY)
        return;
    c->has_peer_alert = true;
    c->peer_alert_judged = false;
    c->peer_alert_code = code;
    c->peer_alert_level = level;
}

static void svc_set_error(polytls_core_conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ptls_conn_set_error_v(c, fmt, ap);
    va_end(ap);
}

/* The one place an NSS key-log line is built from its parts (the format
   Wireshark reads: label, client random and secret in lower-case hex). */
static void svc_keylog(polytls_core_conn *c, const char *label, const uint8_t *client_random,
                       const uint8_t *secret, size_t secret_len)
{
    if (!c->ep->keylog || !label || !client_random || !secret || secret_len == 0 || secret_len > 64)
        return;
    static const char hex[] = "0123456789abcdef";
    char line[64 + 1 + 64 + 1 + 128 + 1];
    size_t label_len = strlen(label);
    if (label_len > 64)
        return;
    size_t k = 0;
    memcpy(line, label, label_len);
    k = label_len;
    line[k++] = ' ';
    for (size_t i = 0; i < 32; i++) {
        line[k++] = hex[client_random[i] >> 4];
        line[k++] = hex[client_random[i] & 15];
    }
    line[k++] = ' ';
    for (size_t i = 0; i < secret_len; i++) {
        line[k++] = hex[secret[i] >> 4];
        line[k++] = hex[secret[i] & 15];
    }
    line[k] = '\0';
    c->ep->keylog(c->ep->keylog_user, line);
    ptls_wipe(line, sizeof line);
}

static uint8_t *svc_chain_identity(const polytls_drv_chain *chain, size_t *len)
{
    size_t n = sizeof(size_t) + chain->key.len;
    for (size_t i = 0; i < chain->n; i++)
        n += sizeof(size_t) + chain->certs[i].len;
    uint8_t *b = malloc(n), *p = b;
    if (!b)
        return NULL;
    for (size_t i = 0; i <= chain->n; i++) {
        const polytls_drv_blob *blob = i < chain->n ? &chain->certs[i] : &chain->key;
        memcpy(p, &blob->len, sizeof blob->len);
        p += sizeof blob->len;
        if (blob->len)
            memcpy(p, blob->data, blob->len);
        p += blob->len;
    }
    *len = n;
    return b;
}

bool ptls_chain_matches_pins(const ptls_endpoint *ep, polytls_certificate *const *certs, size_t n)
{
    return chain_matches_a_pin(ep, certs, n);
}

bool ptls_chain_valid_at(polytls_conn *c, polytls_certificate *const *certs, size_t n, int64_t t)
{
    return chain_valid_at(c, certs, n, t);
}

const polytls_core_services ptls_services = {
    .size = sizeof(polytls_core_services),
    .io_recv = svc_io_recv,
    .io_send = svc_io_send,
    .app_reserve = svc_app_reserve,
    .app_commit = svc_app_commit,
    .verify = svc_verify,
    .client_cert_request = svc_client_cert_request,
    .peer_alert = svc_peer_alert,
    .set_error = svc_set_error,
    .coro_new = ptls_coro_new,
    .coro_resume = ptls_coro_resume,
    .coro_yield = ptls_coro_yield,
    .coro_free = ptls_coro_free,
    .keylog = svc_keylog,
    .chain_identity = svc_chain_identity,
    .ticket_key = ptls_svc_ticket_key,
    .io_pending = svc_io_pending,
    .path_cache_new = ptls_path_cache_new,
    .path_cache_free = ptls_path_cache_free,
    .path_cache_find = ptls_path_cache_find,
    .path_cache_store = ptls_path_cache_store,
};
