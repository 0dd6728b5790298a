/*
 * backends/wolfssl/wolfssl_driver.c — the wolfSSL 5.5 driver.
 *
 * Translates the core's validated configuration into wolfSSL settings and
 * moves bytes between the core's buffers and wolfSSL through custom I/O
 * callbacks. It decides nothing about what is legal (see core/driver.h).
 *
 * wolfSSL traits this file works around (backend-notes.md, wolfSSL column):
 *  - The client certificate callback cannot pause in TLS 1.2 (returning -1
 *    makes wolfSSL_connect spin forever), so the client's handshake runs on
 *    a core coroutine and the callback yields while the user has not
 *    answered (both versions, one code path).
 *  - The verify callback runs once per certificate, leaf last; only the
 *    depth-0 call with preverify == 1 (after wolfSSL's own chain and host
 *    checks) reaches svc->verify, with the chain reversed to leaf first.
 *  - On a failed verification wolfSSL always sends bad_certificate (42) and
 *    has no public call to send any other alert: send_alert honours only 42
 *    inside verify and nothing else.
 *  - wolfSSL's own host-name match accepts partial wildcards ("f*.x.test")
 *    and its X509_check_host ignores the no-partial-wildcard flag: the
 *    core's strict check in svc->verify narrows that, as for every backend.
 *  - No CA names reach svc->client_cert_request from here (5.5 keeps TLS
 *    1.2 names as text only; the core reads them off the wire instead) and
 *    none exist in TLS 1.3 (no POLYTLS_CAP_TLS13_CA_NAMES).
 *  - A limit that cannot be normalised (deviations table): a TLS 1.3
 *    request cannot be answered with "no certificate" (internal_error).
 */
#include <wolfssl/options.h> /* first: the build's feature macros */
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/version.h>
#include <wolfssl/wolfcrypt/asn.h> /* NID_subject_alt_name, ASN_DNS_TYPE, ASN_IP_TYPE */
#include <wolfssl/wolfcrypt/logging.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/ecc.h> /* wc_ecc_fp_free: the per-thread FP_ECC cache */ /* AES-256-GCM for our session tickets */

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "driver.h"

/* The core's services, kept from init() for the whole process. */
static const polytls_core_services *svc;

/* Record payloads are at most 2^14 bytes: read one record's worth at a time. */
#define WOLF_READ_CHUNK 16384
/* wolfSSL_write takes an int: write in large slices it splits into records. */
#define WOLF_WRITE_SLICE (1u << 20)

/* TLS 1.3 suites first (wolfSSL orders by this list), then the TLS 1.2
   AEAD suites with forward secrecy. wolfSSL uses its own suite names. */
static const char WOLF_SUITES[] =
    "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/* x25519, secp256r1, secp384r1, secp521r1, and no FFDHE group, as on every
   backend. */
static const int WOLF_GROUPS[] = { WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1,
                                   WOLFSSL_ECC_SECP384R1, WOLFSSL_ECC_SECP521R1 };
#define WOLF_N_GROUPS ((int)(sizeof WOLF_GROUPS / sizeof WOLF_GROUPS[0]))

/* The longest chain we hand to svc->verify (leaf .. anchor). */
#define WOLF_MAX_CHAIN 16

typedef struct wolf_ctx {
    bool is_server;
    uint16_t min_version, max_version;
    WOLFSSL_CTX *ctx; /* every connection is made from it */
    /* Copies of the trust anchors (DER and parsed), to name the anchor at
       the end of a verified chain. */
    polytls_drv_blob *anchors;
    WOLFSSL_X509 **anchor_x509;
    size_t n_anchors;
    /* The core's cache of verified paths (svc->path_cache_*): rebuilding
       the path parses every sent certificate, and in this wolfSSL build
       each parsed X509 seeds an RNG from /dev/urandom (open, read, close);
       a sent chain seen before is found by its bytes instead. NULL: a core
       without the service, or no memory (every path is built). */
    polytls_path_cache *paths;
    /* ALPN: the core's list (wire format, for the server's select callback)
       and the same names as the comma list wolfSSL_UseALPN takes, set on
       each connection. NULL when ALPN is off. */
    uint8_t *alpn_wire;
    size_t alpn_wire_len;
    char *alpn_csv;
    size_t alpn_csv_len;
    /* Verification time set: wolfSSL judges dates only against the clock,
       so the verify callback lets its date errors through and the core
       judges every validity period at the chosen time in svc->verify. */
    bool has_verify_time;
    /* Session resumption (drv_config.resumption): tickets on; the server's
       ticket lifetime in seconds. */
    bool resumption;
    uint32_t ticket_lifetime;
    /* Server: the last chain whose key wolfSSL_check_private_key accepted
       (its svc->chain_identity), so a server serving one chain checks it
       once, not on every connection (an ECC key check costs about as much
       as a resumed handshake's own work). */
    struct wolf_key_ok {
        pthread_mutex_t lock;
        uint8_t *id;
        size_t id_len;
    } *key_ok;
} wolf_ctx;

typedef struct wolf_conn {
    const wolf_ctx *w;
    WOLFSSL *ssl;
    polytls_core_conn *core;
    bool is_server;
    bool handshake_done;
    /* The name the peer's leaf must match (client), NUL-terminated copy. */
    char *verify_name;
    bool verify_is_ip;
    /* Set when our own callbacks decided the failure (their message is
       already in the core); the library's text is then only appended. */
    bool callback_failed;
    bool send_no_memory;      /* svc->io_send said NO_MEMORY */
    /* The coroutine the client's handshake step runs on, while one is
       suspended inside the certificate callback; and that step's result. */
    polytls_coro *co;
    int co_ret;
    /* The last received alert already reported (wolfSSL keeps only the
       latest one; a change means a new alert). */
    WOLFSSL_ALERT last_rx_seen;
    /* Where the input stands in the record stream (see wolf_io_recv). */
    uint8_t rec_hdr[5];
    size_t rec_hdr_len;
    size_t rec_left;
    /* Server: whether anything but a HelloRetryRequest went to the peer
       (a plaintext alert is only right before the ServerHello). */
    bool sent_server_hello;
    /* Resumption: the current plaintext handshake record's body (server:
       to read the ClientHello's psk_key_exchange_modes; client: the
       ServerHello's extensions), and what was found (wolf_hello_record). */
    uint8_t *hs_rec;
    size_t hs_rec_len;
    bool hs_rec_on;
    bool ch_psk_dhe;      /* server: the ClientHello offers psk_dhe_ke */
    bool sh_psk_ke;       /* client: a TLS 1.3 server resumed with psk_ke */
    /* Client: a session with a ticket was offered and it is not known yet
       whether a TLS 1.2 server takes it (wolf_ticket_decide); the bytes
       read from the core ahead of wolfSSL to find out. */
    bool offered_ticket;
    bool session_set;     /* client: a stored session was offered */
    bool got_ticket;      /* client: a NewSessionTicket was read */
    uint8_t la[8];
    size_t la_len, la_off;
} wolf_conn;

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

/* The library's text for an error code (never NULL). */
static const char *wolf_error_text(int err, char *buf, size_t n)
{
    char tmp[WOLFSSL_MAX_ERROR_SZ];
    memset(tmp, 0, sizeof tmp);
    wolfSSL_ERR_error_string_n((unsigned long)(long)err, tmp, sizeof tmp);
    snprintf(buf, n, "%s", tmp[0] ? tmp : "unknown wolfSSL error");
    return buf;
}

/* A chain's certificates as one buffer of concatenated DER, the form
   wolfSSL's *_chain_buffer_format(ASN1) loaders take. */
static uint8_t *wolf_concat_chain(const polytls_drv_chain *chain, size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < chain->n; i++) {
        if (chain->certs[i].len > (size_t)LONG_MAX - total)
            return NULL;
        total += chain->certs[i].len;
    }
    uint8_t *buf = malloc(total ? total : 1);
    if (!buf)
        return NULL;
    size_t off = 0;
    for (size_t i = 0; i < chain->n; i++) {
        memcpy(buf + off, chain->certs[i].data, chain->certs[i].len);
        off += chain->certs[i].len;
    }
    *len = total;
    return buf;
}

/* Loads chain + key into one connection and checks they belong together:
   wolfSSL accepts a key that does not match the leaf, only
   wolfSSL_check_private_key notices. Message through svc->set_error. */
static polytls_status wolf_use_chain(wolf_conn *c, const polytls_drv_chain *chain)
{
    size_t len = 0;
    uint8_t *der = wolf_concat_chain(chain, &len);
    if (!der) {
        svc->set_error(c->core, "wolfSSL: out of memory copying the certificate chain");
        return POLYTLS_ERR_NO_MEMORY;
    }
    int rc = wolfSSL_use_certificate_chain_buffer_format(c->ssl, der, (long)len,
                                                         WOLFSSL_FILETYPE_ASN1);
    free(der);
    if (rc != WOLFSSL_SUCCESS) {
        char t[96];
        svc->set_error(c->core, "wolfSSL refused the certificate chain: %s",
                       wolf_error_text(rc, t, sizeof t));
        wolfSSL_ERR_clear_error();
        return POLYTLS_ERR_BAD_ENCODING;
    }
    if (chain->key.len > (size_t)LONG_MAX ||
        wolfSSL_use_PrivateKey_buffer(c->ssl, chain->key.data, (long)chain->key.len,
                                      WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS) {
        svc->set_error(c->core, "wolfSSL refused the private key (PKCS#8, PKCS#1 or SEC1 DER expected)");
        wolfSSL_ERR_clear_error();
        return POLYTLS_ERR_BAD_ENCODING;
    }
    size_t id_len = 0;
    uint8_t *id = svc->chain_identity(chain, &id_len);
    struct wolf_key_ok *k = c->w->key_ok;
    if (id && k) {
        pthread_mutex_lock(&k->lock);
        bool known = k->id && k->id_len == id_len && memcmp(k->id, id, id_len) == 0;
        pthread_mutex_unlock(&k->lock);
        if (known) {
            free(id);
            return POLYTLS_OK;
        }
    }
    if (wolfSSL_check_private_key(c->ssl) != WOLFSSL_SUCCESS) {
        free(id);
        svc->set_error(c->core, "wolfSSL: the private key does not belong to the leaf certificate");
        wolfSSL_ERR_clear_error();
        return POLYTLS_ERR_KEY_MISMATCH;
    }
    if (id && k) {
        pthread_mutex_lock(&k->lock);
        free(k->id);
        k->id = id;
        k->id_len = id_len;
        id = NULL;
        pthread_mutex_unlock(&k->lock);
    }
    free(id);
    return POLYTLS_OK;
}

/* Reports a received alert that has not been reported yet. wolfSSL keeps
   only the latest one (wolfSSL_get_alert_history), so this runs after every
   library call. Returns true if the alert is fatal. */
static bool wolf_report_alert(wolf_conn *c)
{
    WOLFSSL_ALERT_HISTORY h;
    memset(&h, 0, sizeof h);
    if (wolfSSL_get_alert_history(c->ssl, &h) != WOLFSSL_SUCCESS)
        return false;
    if (h.last_rx.code == c->last_rx_seen.code && h.last_rx.level == c->last_rx_seen.level)
        return false;
    c->last_rx_seen = h.last_rx;
    if (h.last_rx.code < 0 || h.last_rx.code > 255)
        return false;
    if (h.last_rx.code == 0) /* close_notify is reported as CLOSED instead */
        return false;
    polytls_alert_level level = h.last_rx.level == 1 ? POLYTLS_ALERT_LEVEL_WARNING
                                                     : POLYTLS_ALERT_LEVEL_FATAL;
    svc->peer_alert(c->core, (polytls_alert)h.last_rx.code, level);
    return level == POLYTLS_ALERT_LEVEL_FATAL;
}

/* After a call failed with err (not WANT_READ): what advance() reports. */
static polytls_drv_rc wolf_failure(wolf_conn *c, int err, const char *what)
{
    bool fatal_rx = wolf_report_alert(c);
    /* Only the error code tells a close_notify: wolfSSL_get_shutdown()
       reports both directions shut after any fatal error too. */
    if (err == WOLFSSL_ERROR_ZERO_RETURN) {
        wolfSSL_ERR_clear_error();
        return POLYTLS_DRV_CLOSED;
    }
    if (fatal_rx || err == FATAL_ERROR) {
        wolfSSL_ERR_clear_error();
        if (fatal_rx)
            return POLYTLS_DRV_PEER_ALERT;
    }
    /* A wolfSSL 5.5 server with no group in common with a TLS 1.3 client
       (polytls_server_set_groups) sends a HelloRetryRequest for a group the
       client never offered, then fails with BAD_FUNC_ARG and sends nothing:
       send the handshake_failure every other backend sends (still in
       plaintext: no ServerHello went out). */
    if (c->is_server && !c->handshake_done && !c->sent_server_hello && err == BAD_FUNC_ARG
        && strcmp(what, "handshake") == 0) {
        static const uint8_t alert[] = {21, 3, 3, 0, 2, 2, POLYTLS_ALERT_HANDSHAKE_FAILURE};
        if (svc->io_send(c->core, alert, sizeof alert) == POLYTLS_OK)
            c->sent_server_hello = true;
    }
    char t[96];
    wolf_error_text(err, t, sizeof t);
    if (!c->callback_failed) {
        if (c->send_no_memory)
            svc->set_error(c->core, "wolfSSL %s failed: out of memory queueing output", what);
        else
            svc->set_error(c->core, "wolfSSL %s failed: %s (%d)", what, t, err);
    }
    wolfSSL_ERR_clear_error();
    return POLYTLS_DRV_FAILED;
}

/* ------------------------------------------------------------------------ */
/* Transport callbacks: bytes only through the core's buffers                */
/* ------------------------------------------------------------------------ */

/* Hands wolfSSL one record at a time (header, then body) and, before each
   new piece, reports an alert the previous record carried: wolfSSL keeps
   only the latest received alert, so this is what lets several alerts in
   one flight each reach svc->peer_alert. */
static void wolf_hello_track(wolf_conn *c, bool header_done, const uint8_t *body, size_t n);
static bool wolf_ticket_decide(wolf_conn *c);

static int wolf_io_recv(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    (void)ssl;
    wolf_conn *c = arg;
    if (sz <= 0)
        return 0;
    wolf_report_alert(c);
    if (c->sh_psk_ke) {
        /* See wolf_hello_record: stop before the handshake goes on. */
        svc->set_error(c->core, "the server resumed the TLS 1.3 session with psk_ke (no forward "
                                "secrecy), which is never accepted");
        c->callback_failed = true;
        return WOLFSSL_CBIO_ERR_GENERAL;
    }
    size_t want = (size_t)sz;
    bool in_header = c->rec_left == 0;
    size_t limit = in_header ? sizeof c->rec_hdr - c->rec_hdr_len : c->rec_left;
    if (want > limit)
        want = limit;
    if (!in_header && c->offered_ticket && c->hs_rec_on && want >= c->rec_left) {
        /* Hold the record's last byte back until wolf_ticket_decide knew. */
        if (c->rec_left > 1)
            want = c->rec_left - 1;
        else if (!wolf_ticket_decide(c))
            return WOLFSSL_CBIO_ERR_WANT_READ;
    }
    size_t n = 0;
    if (c->la_off < c->la_len) {
        n = c->la_len - c->la_off < want ? c->la_len - c->la_off : want;
        memcpy(buf, c->la + c->la_off, n);
        c->la_off += n;
        if (c->la_off == c->la_len)
            c->la_off = c->la_len = 0;
    } else {
        n = svc->io_recv(c->core, (uint8_t *)buf, want);
    }
    if (n == 0)
        return WOLFSSL_CBIO_ERR_WANT_READ;
    if (in_header) {
        memcpy(c->rec_hdr + c->rec_hdr_len, buf, n);
        c->rec_hdr_len += n;
        if (c->rec_hdr_len == sizeof c->rec_hdr) {
            c->rec_left = (size_t)c->rec_hdr[3] << 8 | c->rec_hdr[4];
            c->rec_hdr_len = 0;
            if (c->w->resumption)
                wolf_hello_track(c, true, NULL, 0);
        }
    } else {
        c->rec_left -= n;
        if (c->w->resumption)
            wolf_hello_track(c, false, (const uint8_t *)buf, n);
    }
    return (int)n;
}

static int wolf_io_send(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    (void)ssl;
    wolf_conn *c = arg;
    if (sz <= 0)
        return 0;
    if (svc->io_send(c->core, (const uint8_t *)buf, (size_t)sz) != POLYTLS_OK) {
        c->send_no_memory = true;
        return WOLFSSL_CBIO_ERR_GENERAL;
    }
    /* A ServerHello that is not a HelloRetryRequest (RFC 8446 4.1.3) ends
       the plaintext part of a server's handshake. */
    static const uint8_t hrr_random[32] = {
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};
    const uint8_t *b = (const uint8_t *)buf;
    if (c->is_server && (sz < 43 || b[0] != 22 || b[5] != 2 || memcmp(b + 11, hrr_random, 32) != 0))
        c->sent_server_hello = true;
    return sz;
}

/* ------------------------------------------------------------------------ */
/* Verification                                                              */
/* ------------------------------------------------------------------------ */


/* The verified chain, leaf first and anchor last, rebuilt from what the
 * peer sent (the store context's certs, leaf first) and our anchors: from
 * the leaf, follow issuer names, preferring an anchor (as wolfSSL does)
 * over a sent certificate, until an anchor is reached.
 * Not wolfSSL_X509_STORE_CTX_get_chain: in 5.5 the objects it builds leak
 * once both sides present certificates. */
typedef struct wolf_chain {
    polytls_drv_blob certs[WOLF_MAX_CHAIN];
    WOLFSSL_X509 *x509[WOLF_MAX_CHAIN];
    size_t n;
    bool anchor_from_trust; /* the last element is one of w->anchors */
} wolf_chain;

static void wolf_chain_free(wolf_chain *ch)
{
    for (size_t i = 0; i < ch->n; i++)
        wolfSSL_X509_free(ch->x509[i]);
    ch->n = 0;
}

static bool wolf_chain_push(wolf_chain *ch, const uint8_t *der, size_t len)
{
    if (ch->n == WOLF_MAX_CHAIN || len > INT_MAX)
        return false;
    WOLFSSL_X509 *x = wolfSSL_X509_d2i(NULL, der, (int)len);
    if (!x)
        return false;
    ch->certs[ch->n].data = der;
    ch->certs[ch->n].len = len;
    ch->x509[ch->n] = x;
    ch->n++;
    return true;
}

static bool wolf_chain_build(const wolf_ctx *w, WOLFSSL_X509_STORE_CTX *store, wolf_chain *ch)
{
    int total = store->totalCerts;
    if (total <= 0 || !store->certs ||
        !wolf_chain_push(ch, store->certs[0].buffer, store->certs[0].length))
        return false;
    bool used[WOLF_MAX_CHAIN] = { true };
    for (;;) {
        const polytls_drv_blob *top = &ch->certs[ch->n - 1];
        for (size_t a = 0; a < w->n_anchors; a++)
            if (w->anchors[a].len == top->len && memcmp(w->anchors[a].data, top->data, top->len) == 0)
                return true; /* the peer sent the anchor itself */
        WOLFSSL_X509_NAME *issuer = wolfSSL_X509_get_issuer_name(ch->x509[ch->n - 1]);
        for (size_t a = 0; a < w->n_anchors; a++)
            if (wolfSSL_X509_NAME_cmp(issuer, wolfSSL_X509_get_subject_name(w->anchor_x509[a])) == 0)
                return ch->anchor_from_trust = wolf_chain_push(ch, w->anchors[a].data, w->anchors[a].len);
        bool found = false;
        for (int i = 1; i < total && i < WOLF_MAX_CHAIN && !found; i++) {
            if (used[i])
                continue;
            WOLFSSL_X509 *x = wolfSSL_X509_d2i(NULL, store->certs[i].buffer, store->certs[i].length);
            found = x && wolfSSL_X509_NAME_cmp(issuer, wolfSSL_X509_get_subject_name(x)) == 0;
            wolfSSL_X509_free(x);
            if (found) {
                used[i] = true;
                if (!wolf_chain_push(ch, store->certs[i].buffer, store->certs[i].length))
                    return false;
            }
        }
        if (!found)
            return false;
    }
}

/* The leaf's turn: svc->verify. Returns
   wolfSSL's verdict: 1 accept, 0 refuse. */
static int wolf_verify_leaf(wolf_conn *c, WOLFSSL_X509_STORE_CTX *store)
{
    if (c->is_server && store->totalCerts <= 0) {
        /* A client without a certificate, which wolfSSL already found
           acceptable (optional client authentication): nothing to verify. */
        return 1;
    }
    wolf_chain ch;
    memset(&ch, 0, sizeof ch);
    /* The sent chain seen before: its path without parsing anything. */
    polytls_drv_blob sent[WOLF_MAX_CHAIN], hit[WOLF_MAX_CHAIN];
    size_t n_sent = store->totalCerts > 0 && store->certs ? (size_t)store->totalCerts : 0;
    bool cached = c->w->paths && n_sent > 0 && n_sent <= WOLF_MAX_CHAIN;
    uint8_t *anchor_copy = NULL;
    const polytls_drv_blob *path = hit;
    size_t n = 0;
    if (cached) {
        for (size_t i = 0; i < n_sent; i++) {
            sent[i].data = store->certs[i].buffer;
            sent[i].len = store->certs[i].length;
        }
        n = svc->path_cache_find(c->w->paths, sent, n_sent, hit, WOLF_MAX_CHAIN, &anchor_copy);
    }
    if (n == 0) {
        if (!wolf_chain_build(c->w, store, &ch)) {
            wolf_chain_free(&ch);
            svc->set_error(c->core, "could not rebuild the chain wolfSSL verified (out of memory?)");
            c->callback_failed = true;
            wolfSSL_ERR_clear_error();
            return 0;
        }
        path = ch.certs;
        n = ch.n;
        if (cached)
            svc->path_cache_store(c->w->paths, sent, n_sent, ch.certs, ch.n,
                                  ch.anchor_from_trust ? &ch.certs[ch.n - 1] : NULL);
    }
    polytls_alert alert = POLYTLS_ALERT_BAD_CERTIFICATE;
    bool accepted = svc->verify(c->core, path, n, &alert);
    wolf_chain_free(&ch);
    free(anchor_copy);
    if (!accepted) {
        /* wolfSSL sends bad_certificate(42) on a refusal, the only alert
           send_alert(in_verify) accepts; the core wrote the message. */
        c->callback_failed = true;
        return 0;
    }
    return 1;
}

/* With a verification time, a validity-period error found against the
   clock is not wolfSSL's to decide: the core checks every date of the chain
   at the chosen time. Only these two errors are let through, and only with
   the option set. The store carries GetX509Error's translation in this
   build (ssl.c: ASN_AFTER_DATE_E -> X509_V_ERR_CERT_HAS_EXPIRED,
   ASN_BEFORE_DATE_E -> X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD, the only
   code mapped there); the raw codes are accepted too. Even a malformed
   date let through is refused: the core's strict parse of every validity
   period fails. A leaf refused by the core keeps wolfSSL's date error, so
   certificate_expired goes out as without the option. */
static bool wolf_date_error_overridable(const wolf_conn *c, WOLFSSL_X509_STORE_CTX *store)
{
    if (!c->w->has_verify_time)
        return false;
    int e = wolfSSL_X509_STORE_CTX_get_error(store);
    return e == ASN_AFTER_DATE_E || e == ASN_BEFORE_DATE_E || e == X509_V_ERR_CERT_HAS_EXPIRED ||
           e == X509_V_ERR_CERT_NOT_YET_VALID || e == X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD;
}

/* wolfSSL calls this once per certificate (this build has
   WOLFSSL_ALWAYS_VERIFY_CB and WOLFSSL_VERIFY_CB_ALL_CERTS), leaf last, and
   its return value overrides the library's verdict: so every call answers
   preverify, and only the leaf's call after a passing library check goes
   further. */
static int wolf_verify_cb(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
    WOLFSSL *ssl = wolfSSL_X509_STORE_CTX_get_ex_data(store, wolfSSL_get_ex_data_X509_STORE_CTX_idx());
    wolf_conn *c = ssl ? wolfSSL_GetIOReadCtx(ssl) : NULL;
    if (!c)
        return 0;
    if (!preverify && !wolf_date_error_overridable(c, store))
        return 0;
    if (wolfSSL_X509_STORE_CTX_get_error_depth(store) != 0)
        return 1;
    return wolf_verify_leaf(c, store);
}

/* ------------------------------------------------------------------------ */
/* Client certificate                                                        */
/* ------------------------------------------------------------------------ */

/* Runs when the client answers a CertificateRequest (TLS 1.2: as the
 * request is read; TLS 1.3: as our Certificate is about to be written),
 * registered with wolfSSL_CTX_set_cert_cb:
 *  - it never returns -1 (that spins wolfSSL_connect forever in TLS 1.2):
 *    while the user has not answered, the coroutine the handshake runs on
 *    yields back to advance();
 *  - the chosen chain is loaded into this connection only
 *    (wolfSSL_CTX_set_client_cert_cb would load it into the shared
 *    context in TLS 1.3).
 * wolfSSL 5.5 limit: in TLS 1.3 a registered callback makes wolfSSL promise
 * a certificate as soon as the request arrives, so "no certificate" cannot
 * be answered any more; the callback then fails (wolfSSL sends
 * internal_error) instead of failing later without any alert. */
static int wolf_cert_cb(WOLFSSL *ssl, void *arg)
{
    (void)arg;
    wolf_conn *c = wolfSSL_GetIOReadCtx(ssl);
    if (!c || c->is_server)
        return 1;
    /* No CA names from here: wolfSSL 5.5 keeps the names of a TLS 1.2
       request only as text (wolfSSL_get_client_CA_list gives names without
       entries, whose DER is an empty SEQUENCE) and reads none in TLS 1.3.
       The core reads the TLS 1.2 names off the wire itself
       (core/cert_request.c) and uses them when a driver passes none. */
    const polytls_drv_chain *chain = NULL;
    while (svc->client_cert_request(c->core, NULL, 0, &chain) == POLYTLS_DRV_CERT_PENDING) {
        if (!c->co) {
            svc->set_error(c->core, "wolfSSL cannot wait for a client certificate without a coroutine");
            c->callback_failed = true;
            return 0;
        }
        svc->coro_yield(c->co);
    }
    if (!chain) {
        if (wolfSSL_version(ssl) == 0x0304) {
            svc->set_error(c->core, "wolfSSL 5.5 cannot answer a TLS 1.3 certificate request with no certificate");
            c->callback_failed = true;
            return 0;
        }
        return 1; /* TLS 1.2: wolfSSL sends an empty Certificate */
    }
    if (wolf_use_chain(c, chain) != POLYTLS_OK) {
        c->callback_failed = true;
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Session resumption                                                        */
/* ------------------------------------------------------------------------ */

/* Our tickets: AES-256-GCM under the core's key (svc->ticket_key), never
 * wolfSSL's own ticket keys. The nonce is the first 12 bytes of the random
 * IV field, the tag goes into the MAC field (the rest of it stays zero),
 * and the key name, the IV and the length are authenticated with the
 * ticket. A ticket we cannot open (unknown or revoked name, bad tag) is
 * refused with WOLFSSL_TICKET_RET_REJECT: wolfSSL then makes a full
 * handshake instead of failing. */
#define WOLF_TICKET_KEY_LEN 32
#define WOLF_TICKET_NONCE_LEN 12
#define WOLF_TICKET_TAG_LEN 16

static void wolf_wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

/* The length wolfSSL gives us to encrypt: its internal ticket, the same for
 * every ticket of a wolfSSL build (0: this process encrypted none yet, so no
 * ticket of ours exists: the keys live in memory only). wolfSSL 5.5.4 lets
 * a ticket's length field claim up to the ticket's size minus 34, which puts
 * the MAC field partly or wholly past the end of its buffer (found by the
 * server_wire_resume fuzz target); it does refuse tickets shorter than this
 * length + 66, so a ticket whose length field equals it has its whole MAC
 * field in bounds. */
static atomic_int wolf_ticket_plain_len;

static int wolf_ticket_cb(WOLFSSL *ssl, unsigned char name[WOLFSSL_TICKET_NAME_SZ],
                          unsigned char iv[WOLFSSL_TICKET_IV_SZ], unsigned char mac[WOLFSSL_TICKET_MAC_SZ],
                          int enc, unsigned char *ticket, int in_len, int *out_len, void *arg)
{
    (void)arg;
    wolf_conn *c = wolfSSL_GetIOReadCtx(ssl);
    if (!c || !c->is_server || in_len <= 0 || in_len > 0xffff || !out_len)
        return enc ? WOLFSSL_TICKET_RET_FATAL : WOLFSSL_TICKET_RET_REJECT;
    bool tls13 = wolfSSL_version(ssl) == 0x0304;
    uint8_t key[WOLF_TICKET_KEY_LEN];
    if (enc) {
        if (!svc->ticket_key(c->core, true, name, key, sizeof key) ||
            wolfSSL_RAND_bytes(iv, WOLFSSL_TICKET_IV_SZ) != 1) {
            wolf_wipe(key, sizeof key);
            return WOLFSSL_TICKET_RET_FATAL;
        }
        atomic_store(&wolf_ticket_plain_len, in_len);
    } else {
        /* psk_dhe_ke only: wolfSSL 5.5 resumes with psk_ke (no forward
           secrecy) for a client that offers only that, and has no switch
           against it, so such a client's ticket is refused here. */
        if (tls13 && !c->ch_psk_dhe)
            return WOLFSSL_TICKET_RET_REJECT;
        if (in_len != atomic_load(&wolf_ticket_plain_len))
            return WOLFSSL_TICKET_RET_REJECT; /* not ours, and mac may be out of bounds */
        if (!svc->ticket_key(c->core, false, name, key, sizeof key)) {
            wolf_wipe(key, sizeof key);
            return WOLFSSL_TICKET_RET_REJECT;
        }
        for (size_t i = WOLF_TICKET_TAG_LEN; i < WOLFSSL_TICKET_MAC_SZ; i++)
            if (mac[i] != 0) {
                wolf_wipe(key, sizeof key);
                return WOLFSSL_TICKET_RET_REJECT;
            }
    }
    uint8_t aad[WOLFSSL_TICKET_NAME_SZ + WOLFSSL_TICKET_IV_SZ + 2];
    memcpy(aad, name, WOLFSSL_TICKET_NAME_SZ);
    memcpy(aad + WOLFSSL_TICKET_NAME_SZ, iv, WOLFSSL_TICKET_IV_SZ);
    aad[sizeof aad - 2] = (uint8_t)(in_len >> 8);
    aad[sizeof aad - 1] = (uint8_t)in_len;
    Aes aes;
    int rc = wc_AesInit(&aes, NULL, INVALID_DEVID);
    if (rc == 0) {
        rc = wc_AesGcmSetKey(&aes, key, sizeof key);
        if (rc == 0 && enc) {
            memset(mac, 0, WOLFSSL_TICKET_MAC_SZ);
            rc = wc_AesGcmEncrypt(&aes, ticket, ticket, (word32)in_len, iv, WOLF_TICKET_NONCE_LEN, mac,
                                  WOLF_TICKET_TAG_LEN, aad, sizeof aad);
        } else if (rc == 0) {
            rc = wc_AesGcmDecrypt(&aes, ticket, ticket, (word32)in_len, iv, WOLF_TICKET_NONCE_LEN, mac,
                                  WOLF_TICKET_TAG_LEN, aad, sizeof aad);
        }
        wc_AesFree(&aes);
    }
    wolf_wipe(&aes, sizeof aes);
    wolf_wipe(key, sizeof key);
    if (rc != 0)
        return enc ? WOLFSSL_TICKET_RET_FATAL : WOLFSSL_TICKET_RET_REJECT;
    *out_len = in_len;
    /* Not WOLFSSL_TICKET_RET_CREATE for TLS 1.2: wolfSSL 5.5 then sends no
       new ticket anyway and does not echo the client's session id, which
       tells an RFC 5077 client that its ticket was declined. */
    return WOLFSSL_TICKET_RET_OK;
}

/* Finds extension `type` in a ClientHello/ServerHello body after the
   fixed part; peer bytes, so every length is checked. */
static const uint8_t *wolf_find_ext(const uint8_t *ext, size_t len, uint16_t type, size_t *elen)
{
    size_t i = 0;
    while (i + 4 <= len) {
        uint16_t t = (uint16_t)(ext[i] << 8 | ext[i + 1]);
        size_t l = (size_t)ext[i + 2] << 8 | ext[i + 3];
        if (i + 4 + l > len)
            return NULL;
        if (t == type) {
            *elen = l;
            return ext + i + 4;
        }
        i += 4 + l;
    }
    return NULL;
}

/* A whole plaintext handshake record was read (resumption only). Server:
 * a ClientHello's psk_key_exchange_modes (45) — does it offer psk_dhe_ke?
 * A ClientHello split over records is not read: its ticket is refused
 * (full handshake). Client: a TLS 1.3 ServerHello that accepts our ticket
 * (pre_shared_key, 41) without a key_share (51) chose psk_ke, which we
 * never accept: wolfSSL 5.5 clients offer it and cannot be told not to. */
static void wolf_hello_record(wolf_conn *c)
{
    const uint8_t *m = c->hs_rec;
    size_t n = c->hs_rec_len;
    if (n < 4)
        return;
    if (c->is_server && m[0] == 1)
        c->ch_psk_dhe = false; /* until this ClientHello shows it */
    size_t body = (size_t)m[1] << 16 | (size_t)m[2] << 8 | m[3];
    if (body > n - 4)
        body = 0; /* split message: treat as no extensions */
    m += 4;
    /* legacy_version, random, session id */
    size_t i = 2 + 32;
    if (body < i + 1 || body < i + 1 + m[i])
        return;
    i += 1 + m[i];
    if (c->is_server && c->hs_rec[0] == 1) {
        if (body < i + 2)
            return;
        i += 2 + ((size_t)m[i] << 8 | m[i + 1]); /* cipher suites */
        if (body < i + 1)
            return;
        i += 1 + m[i]; /* compression methods */
        if (body < i + 2)
            return;
        size_t elen = 0;
        const uint8_t *modes = wolf_find_ext(m + i + 2, body - i - 2, 45, &elen);
        if (modes && elen >= 1 && modes[0] <= elen - 1 && memchr(modes + 1, 1, modes[0]))
            c->ch_psk_dhe = true;
    } else if (!c->is_server && c->hs_rec[0] == 2) {
        i += 2 + 1; /* cipher suite, compression */
        if (body < i + 2)
            return;
        size_t elen = 0;
        const uint8_t *ext = m + i + 2;
        size_t ext_len = body - i - 2;
        const uint8_t *ver = wolf_find_ext(ext, ext_len, 43, &elen);
        bool tls13 = ver && elen == 2 && ver[0] == 3 && ver[1] == 4;
        if (tls13 && wolf_find_ext(ext, ext_len, 41, &elen) && !wolf_find_ext(ext, ext_len, 51, &elen))
            c->sh_psk_ke = true;
    }
}

/* Called by wolf_io_recv for every piece of input (resumption only):
   collects the body of plaintext handshake records until the handshake
   keys take over. Out of memory: the record is not read (the server then
   refuses the ticket; the client loses the psk_ke check, which only an
   out-of-memory client could miss). */
static void wolf_hello_track(wolf_conn *c, bool header_done, const uint8_t *body, size_t n)
{
    if (header_done) {
        size_t len = (size_t)c->rec_hdr[3] << 8 | c->rec_hdr[4];
        c->hs_rec_len = 0;
        c->hs_rec_on = c->rec_hdr[0] == 22 && !c->handshake_done && len > 0 &&
                       (c->is_server ? !c->sent_server_hello : true);
        if (c->hs_rec_on) {
            uint8_t *p = realloc(c->hs_rec, len);
            if (!p)
                c->hs_rec_on = false;
            else
                c->hs_rec = p;
        }
        return;
    }
    if (!c->hs_rec_on)
        return;
    memcpy(c->hs_rec + c->hs_rec_len, body, n);
    c->hs_rec_len += n;
    if (c->rec_left == 0) {
        c->hs_rec_on = false;
        wolf_hello_record(c);
    }
}

/* wolfSSL 5.5's d2i_SSL_SESSION trusts the lengths inside the bytes: a
 * session id, certificate count, certificate, server id or context longer
 * than its fixed array overflows it (measured: random bytes crash it). So
 * the bytes, which come from the user's storage, are walked here first,
 * in the layout this build's i2d_SSL_SESSION writes (side, bornOn, timeout,
 * session id, master secret, EMS, alternative id, chain, version, suite,
 * server id, context, verify result, group, ticket times and nonce,
 * ticket), with limits no larger than wolfSSL's arrays (ID_LEN 32,
 * MAX_CHAIN_DEPTH 9, MAX_X509_SIZE 2048; we never set a server id or a
 * session context, so those are empty). Anything else is BAD_ENCODING. */
static bool wolf_session_bytes_ok(const uint8_t *d, size_t n, uint16_t *version)
{
    size_t i = 0;
#define WOLF_NEED(k) do { if (n - i < (size_t)(k)) return false; } while (0)
    WOLF_NEED(10);
    if (d[0] != WOLFSSL_CLIENT_END || d[9] > 32)
        return false;
    i = 10;
    WOLF_NEED(d[9]);
    i += d[9];
    WOLF_NEED(48 + 2); /* master secret, EMS, alternative id length */
    i += 48 + 1;
    size_t alt = d[i++];
    if (alt != 0 && alt != 32)
        return false;
    WOLF_NEED(alt);
    i += alt;
    WOLF_NEED(1);
    size_t count = d[i++];
    if (count > 9)
        return false;
    for (size_t k = 0; k < count; k++) {
        WOLF_NEED(2);
        size_t len = (size_t)d[i] << 8 | d[i + 1];
        i += 2;
        if (len > 2048)
            return false;
        WOLF_NEED(len);
        i += len;
    }
    WOLF_NEED(2 + 2 + 2 + 1); /* version, suite, server id length, context length */
    if (d[i + 4] != 0 || d[i + 5] != 0 || d[i + 6] != 0)
        return false;
    *version = (uint16_t)(d[i] << 8 | d[i + 1]);
    i += 7;
    WOLF_NEED(1 + 2 + 8 + 4 + 1); /* verify result, group, ticketSeen, ticketAdd, nonce length */
    i += 15;
    size_t nonce = d[i++];
    WOLF_NEED(nonce);
    i += nonce;
    WOLF_NEED(2);
    size_t ticket = (size_t)d[i] << 8 | d[i + 1];
    i += 2;
    WOLF_NEED(ticket);
    i += ticket;
#undef WOLF_NEED
    return i == n;
}

/* Client, TLS 1.2 ticket offered: the server's first handshake record is
 * complete but for its last byte (held back by wolf_io_recv). Did the
 * server take the ticket? wolfSSL 5.5 assumes so whenever it offered one
 * (internal.c DSH_CheckSessionId: "ticketLen > 0") and then fails on the
 * Certificate of a full handshake ("Out of order message") instead of
 * falling back to it. Its ClientHello carries no session id for the server
 * to echo (RFC 5077 3.4), so the only sign is what follows the ServerHello:
 * NewSessionTicket or ChangeCipherSpec (resumed) or anything else (full).
 * For a full handshake the ticket is dropped from the session before
 * wolfSSL reads the ServerHello, which makes it take the full path.
 * Returns false while more input is needed. */
static bool wolf_ticket_decide(wolf_conn *c)
{
    size_t need = 1; /* the record's last byte */
    for (;;) {
        while (c->la_len < need) {
            size_t got = svc->io_recv(c->core, c->la + c->la_len, need - c->la_len);
            if (got == 0)
                return false;
            c->la_len += got;
        }
        size_t body_len = c->hs_rec_len + 1;
        c->hs_rec[c->hs_rec_len] = c->la[0]; /* parsed here, appended again when delivered */
        const uint8_t *m = c->hs_rec;
        size_t msg_len = body_len < 4 ? 0 : (size_t)m[1] << 16 | (size_t)m[2] << 8 | m[3];
        if (body_len < 4 || m[0] != 2 || 4 + msg_len > body_len || msg_len < 2 + 32 + 1)
            break; /* not a whole ServerHello: leave it to wolfSSL */
        /* TLS 1.3 (supported_versions 0x0304 among the extensions)? */
        size_t i = 4 + 2 + 32;
        if (msg_len < i - 4 + 1 + m[i] + 3)
            break;
        i += 1 + m[i] + 3;
        if (4 + msg_len >= i + 2) {
            size_t elen = 0;
            const uint8_t *v = wolf_find_ext(m + i + 2, 4 + msg_len - i - 2, 43, &elen);
            if (v && elen == 2 && v[0] == 3 && v[1] == 4)
                break;
        }
        int next = -1; /* the handshake type that follows, or 20 for CCS */
        if (4 + msg_len < body_len) {
            next = m[4 + msg_len];
        } else {
            need = 1 + 5;
            if (c->la_len < need)
                continue;
            if (c->la[1] == 20) {
                next = 20;
            } else if (c->la[1] == 22) {
                need = 1 + 5 + 1;
                if (c->la_len < need)
                    continue;
                next = c->la[6];
            }
        }
        if (next != 4 && next != 20)
            (void)wolfSSL_set_SessionTicket(c->ssl, NULL, 0);
        break;
    }
    c->offered_ticket = false;
    return true;
}

/* Client: a NewSessionTicket was read (TLS 1.2 in the handshake, TLS 1.3
   after it): from now on the session is one to hand out. */
static int wolf_ticket_seen(WOLFSSL *ssl, const unsigned char *ticket, int len, void *arg)
{
    (void)ticket;
    (void)arg;
    wolf_conn *c = wolfSSL_GetIOReadCtx(ssl);
    if (c && len > 0)
        c->got_ticket = true;
    return 0;
}

/* Client conn_init with resumption on: RFC 5077 tickets offered, and the
   stored session, if any, imported and offered (TLS 1.3 tickets are taken
   and offered without asking). */
static polytls_status wolf_client_resumption(wolf_conn *c, const polytls_drv_conn_config *cc)
{
    if (wolfSSL_UseSessionTicket(c->ssl) != WOLFSSL_SUCCESS ||
        wolfSSL_set_SessionTicket_cb(c->ssl, wolf_ticket_seen, NULL) != WOLFSSL_SUCCESS) {
        svc->set_error(c->core, "wolfSSL refused to offer session tickets");
        wolfSSL_ERR_clear_error();
        return POLYTLS_ERR_INTERNAL;
    }
    bool has = cc->size >= offsetof(polytls_drv_conn_config, session) + sizeof cc->session &&
               cc->session.data && cc->session.len > 0;
    if (!has)
        return POLYTLS_OK;
    const unsigned char *p = cc->session.data;
    uint16_t version = 0;
    WOLFSSL_SESSION *s = wolf_session_bytes_ok(cc->session.data, cc->session.len, &version)
                             ? wolfSSL_d2i_SSL_SESSION(NULL, &p, (long)cc->session.len) : NULL;
    if (!s || p != cc->session.data + cc->session.len) {
        wolfSSL_SESSION_free(s);
        wolfSSL_ERR_clear_error();
        svc->set_error(c->core, "wolfSSL cannot read the stored session (%zu bytes; written by another "
                       "version of wolfSSL, or damaged)", cc->session.len);
        return POLYTLS_ERR_BAD_ENCODING;
    }
    /* A session of another version than our highest one is not offered
       (a full handshake, as with a server that declines it): wolfSSL 5.5
       would pin the ClientHello to the session's version, so a TLS 1.2
       session would keep a TLS 1.3 client and server on TLS 1.2
       (measured). wolfSSL itself refuses an expired session. */
    if (version != c->w->max_version) {
        wolfSSL_SESSION_free(s);
        wolfSSL_ERR_clear_error();
        return POLYTLS_OK;
    }
    c->session_set = wolfSSL_set_session(c->ssl, s) == WOLFSSL_SUCCESS;
    c->offered_ticket = c->session_set && wolfSSL_SESSION_has_ticket(s) == WOLFSSL_SUCCESS;
    wolfSSL_SESSION_free(s);
    wolfSSL_ERR_clear_error();
    return POLYTLS_OK;
}

/* Server ctx with resumption on: tickets under our callback only, the
   lifetime both announced and enforced, one TLS 1.3 ticket per handshake.
   The session cache stays off (wolf_new_ctx): a session id alone never
   resumes. This wolfSSL build has no early data. */
static polytls_status wolf_ctx_resumption(wolf_ctx *w, char *err, size_t errlen)
{
    const char *failed = NULL;
    if (wolfSSL_CTX_set_TicketEncCb(w->ctx, wolf_ticket_cb) != WOLFSSL_SUCCESS)
        failed = "setting the ticket callback";
    else if (wolfSSL_CTX_set_TicketHint(w->ctx, (int)w->ticket_lifetime) != WOLFSSL_SUCCESS)
        failed = "setting the ticket lifetime";
    else if (w->max_version == 0x0304 && wolfSSL_CTX_set_num_tickets(w->ctx, 1) != WOLFSSL_SUCCESS)
        failed = "setting the number of TLS 1.3 tickets";
    if (failed) {
        snprintf(err, errlen, "wolfSSL failed %s", failed);
        wolfSSL_ERR_clear_error();
        return POLYTLS_ERR_INTERNAL;
    }
    /* The age wolfSSL accepts a ticket at; this build (OPENSSL_EXTRA)
       answers with the previous value, not a status. */
    (void)wolfSSL_CTX_set_timeout(w->ctx, w->ticket_lifetime);
    return POLYTLS_OK;
}

/* Client: the newest resumable session, serialised by wolfSSL. */
static polytls_status wolf_session_export(void *conn, uint8_t **blob, size_t *len)
{
    wolf_conn *c = conn;
    if (c->is_server || !c->w->resumption || !c->handshake_done) {
        svc->set_error(c->core, c->is_server || !c->w->resumption
                                    ? "no session to export: not a client with resumption on"
                                    : "no session to export yet: the handshake has not completed");
        return POLYTLS_ERR_WRONG_STATE;
    }
    WOLFSSL_SESSION *s = wolfSSL_get1_session(c->ssl);
    unsigned int id_len = 0;
    if (s)
        (void)wolfSSL_SESSION_get_id(s, &id_len);
    /* What this connection can hand out: TLS 1.3, only a ticket it read
       (never the session it resumed or offered); TLS 1.2, a ticket it
       read, else the ticket it resumed with (a wolfSSL 5.5 server sends no
       new one then), else a session id of a server it offered nothing to
       (the id of an offered session may be left over). */
    bool tls13 = wolfSSL_version(c->ssl) == 0x0304;
    bool resumed = wolfSSL_session_reused(c->ssl) == 1;
    bool ticket = s && wolfSSL_SESSION_has_ticket(s) == 1;
    bool usable = c->got_ticket && ticket;
    if (!tls13 && !usable)
        usable = (resumed && ticket) || (!c->session_set && id_len > 0);
    if (!s || !usable) {
        wolfSSL_SESSION_free(s);
        wolfSSL_ERR_clear_error();
        svc->set_error(c->core, tls13 ? "no session yet: the server has sent no NewSessionTicket so far"
                                      : "the server gave neither a session ticket nor a session id");
        return POLYTLS_ERR_WRONG_STATE;
    }
    int n = wolfSSL_i2d_SSL_SESSION(s, NULL);
    uint8_t *buf = n > 0 ? malloc((size_t)n) : NULL;
    unsigned char *p = buf;
    int m = buf ? wolfSSL_i2d_SSL_SESSION(s, &p) : 0;
    wolfSSL_SESSION_free(s);
    wolfSSL_ERR_clear_error();
    uint16_t version = 0;
    if (buf && m == n && !wolf_session_bytes_ok(buf, (size_t)n, &version))
        m = -1; /* a layout we would refuse to read back: say so now */
    if (!buf || m != n) {
        if (buf)
            wolf_wipe(buf, (size_t)n);
        free(buf);
        svc->set_error(c->core, n > 0 && !buf ? "out of memory serialising the session"
                                              : "wolfSSL could not serialise the session");
        return n > 0 && !buf ? POLYTLS_ERR_NO_MEMORY : POLYTLS_ERR_INTERNAL;
    }
    *blob = buf;
    *len = (size_t)n;
    return POLYTLS_OK;
}

/* ------------------------------------------------------------------------ */
/* Driver ops                                                                */
/* ------------------------------------------------------------------------ */

/* This wolfSSL build has FP_ECC: every thread that runs an ECC operation
   gets its own fixed-point cache (about 2.4 MB for a few handshakes), which
   only wc_ecc_fp_free() on that thread releases. A program whose threads
   come and go (a pool that shrinks) would lose it with each thread, so the
   driver frees it when a thread that ran a handshake exits. */
static pthread_key_t ecc_cache_key;
static bool ecc_cache_key_ok;

static void ecc_cache_free(void *mark)
{
    (void)mark;
#ifdef FP_ECC
    wc_ecc_fp_free();
#endif
}

static void ecc_cache_note_thread(void)
{
    if (ecc_cache_key_ok && !pthread_getspecific(ecc_cache_key))
        (void)pthread_setspecific(ecc_cache_key, &ecc_cache_key);
}

static polytls_status wolf_init(const polytls_core_services *services, polytls_drv_info *info)
{
    svc = services;
    ecc_cache_key_ok = pthread_key_create(&ecc_cache_key, ecc_cache_free) == 0;
    /* Never let the library print (it only would if debugging were on). */
    wolfSSL_Debugging_OFF();
    if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
        snprintf(info->version, sizeof info->version, "wolfSSL_Init failed");
        return POLYTLS_ERR_BACKEND_UNAVAILABLE;
    }
    snprintf(info->version, sizeof info->version, "wolfSSL %s", wolfSSL_lib_version());
    /* No CUSTOM_DH: a wolfSSL 5.5 server replaces the configured DH prime
       with an RFC 7919 group whenever the client offers one (proven on the
       wire by caps.custom_dh_ffdhe_client), and "never silently replaced"
       is the rule, so custom parameters are refused (UNSUPPORTED). */
    info->capabilities = POLYTLS_CAP_ASYNC_SERVER_CERT;
    /* Debian builds wolfSSL with HAVE_KEYING_MATERIAL but without
       HAVE_SECRET_CALLBACK: exporters yes, key log no. */
#ifdef HAVE_KEYING_MATERIAL
    info->capabilities |= POLYTLS_CAP_EXPORTER;
#endif
    /* Resumption needs the core's ticket keys. */
    if (services->size >= offsetof(polytls_core_services, ticket_key) + sizeof services->ticket_key &&
        services->ticket_key)
        info->capabilities |= POLYTLS_CAP_RESUMPTION;
    /* Asynchronous client certificates need the core's coroutines. */
    if (services->coro_new && services->coro_resume && services->coro_yield && services->coro_free)
        info->capabilities |= POLYTLS_CAP_ASYNC_CLIENT_CERT;
    return POLYTLS_OK;
}

static void wolf_ctx_fini(void *ctx)
{
    wolf_ctx *w = ctx;
    if (!w)
        return;
    wolfSSL_CTX_free(w->ctx);
    for (size_t i = 0; i < w->n_anchors; i++) {
        wolfSSL_X509_free(w->anchor_x509[i]);
        free((void *)w->anchors[i].data);
    }
    free(w->anchors);
    free(w->anchor_x509);
    if (w->paths)
        svc->path_cache_free(w->paths);
    free(w->alpn_wire);
    free(w->alpn_csv);
    if (w->key_ok) {
        pthread_mutex_destroy(&w->key_ok->lock);
        free(w->key_ok->id);
        free(w->key_ok);
    }
    free(w);
}

/* Builds the stack of trust-anchor subjects the server names in its TLS 1.2
   CertificateRequest. */
static polytls_status wolf_set_ca_names(WOLFSSL_CTX *ctx, const polytls_drv_config *cfg,
                                        char *err, size_t errlen)
{
    WOLF_STACK_OF(WOLFSSL_X509_NAME) *sk = wolfSSL_sk_X509_NAME_new(NULL);
    if (!sk) {
        snprintf(err, errlen, "wolfSSL: out of memory for the CA name list");
        return POLYTLS_ERR_NO_MEMORY;
    }
    for (size_t i = 0; i < cfg->n_trust; i++) {
        WOLFSSL_X509 *x = wolfSSL_X509_d2i(NULL, cfg->trust[i].data, (int)cfg->trust[i].len);
        WOLFSSL_X509_NAME *name = x ? wolfSSL_X509_NAME_dup(wolfSSL_X509_get_subject_name(x)) : NULL;
        wolfSSL_X509_free(x);
        if (!name || wolfSSL_sk_X509_NAME_push(sk, name) <= 0) {
            if (name)
                wolfSSL_X509_NAME_free(name);
            wolfSSL_sk_X509_NAME_pop_free(sk, wolfSSL_X509_NAME_free);
            snprintf(err, errlen, "wolfSSL could not take the subject of trust anchor %zu", i);
            wolfSSL_ERR_clear_error();
            return POLYTLS_ERR_BAD_ENCODING;
        }
    }
    wolfSSL_CTX_set_client_CA_list(ctx, sk); /* the context owns it now */
    return POLYTLS_OK;
}

/* A context with everything both sides pin: the version range (by the
   method for one version, by the flexible method plus a minimum for both),
   the suites, the groups, no resumption; and for a client, verification
   and the certificate hook. NULL with err set on failure. */
static WOLFSSL_CTX *wolf_new_ctx(bool is_server, uint16_t min_version, uint16_t max_version,
                                 const char *suites, const int *groups, int n_groups, bool resumption,
                                 char *err, size_t errlen)
{
    WOLFSSL_METHOD *method;
    if (max_version == 0x0303)
        method = is_server ? wolfTLSv1_2_server_method() : wolfTLSv1_2_client_method();
    else if (min_version == 0x0304)
        method = is_server ? wolfTLSv1_3_server_method() : wolfTLSv1_3_client_method();
    else
        method = is_server ? wolfSSLv23_server_method() : wolfSSLv23_client_method();
    WOLFSSL_CTX *ctx = method ? wolfSSL_CTX_new(method) : NULL;
    if (!ctx) {
        snprintf(err, errlen, "wolfSSL: could not create a context (out of memory?)");
        wolfSSL_ERR_clear_error();
        return NULL;
    }
    const char *failed = NULL;
    if (min_version == 0x0303 && max_version == 0x0304 &&
        wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS)
        failed = "setting the minimum version";

    if (!failed && wolfSSL_CTX_set_cipher_list(ctx, suites) != WOLFSSL_SUCCESS)
        failed = "setting the cipher suites";
    /* The groups: the key-share preference (TLS 1.3 only: the call fails on
       a TLS 1.2 context) and supported_groups (an explicit list replaces
       wolfSSL's default one, which has FFDHE groups). */
    if (!failed && max_version == 0x0304 &&
        wolfSSL_CTX_set_groups(ctx, (int *)groups, n_groups) != WOLFSSL_SUCCESS)
        failed = "setting the key-share groups";
    for (int i = 0; !failed && i < n_groups; i++)
        if (wolfSSL_CTX_UseSupportedCurve(ctx, (word16)groups[i]) != WOLFSSL_SUCCESS)
            failed = "setting the supported groups";
    /* Never a session cache (with resumption the tickets carry the
       sessions: a session id alone must not resume); no tickets either way
       unless resumption is on (wolf_ctx_resumption). */
    if (!failed) {
        wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_OFF);
        if (resumption)
            ; /* tickets stay on */
        else if (wolfSSL_CTX_NoTicketTLSv12(ctx) != WOLFSSL_SUCCESS)
            failed = "turning TLS 1.2 session tickets off";
        /* TLS 1.3 tickets are issued by servers only (the call fails on a
           client context); unlike its neighbours it returns 0 on success. */
        else if (is_server && max_version == 0x0304 && wolfSSL_CTX_no_ticket_TLSv13(ctx) != 0)
            failed = "turning TLS 1.3 session tickets off";
    }
    if (!failed && !is_server) {
        /* No DH group under 2048 bits (OpenSSL's default level says the same). */
        if (wolfSSL_CTX_SetMinDhKey_Sz(ctx, 2048) != WOLFSSL_SUCCESS)
            failed = "setting the minimum DH size";
        wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, wolf_verify_cb);
        wolfSSL_CTX_set_cert_cb(ctx, wolf_cert_cb, NULL);
    }
    if (failed) {
        snprintf(err, errlen, "wolfSSL failed %s", failed);
        wolfSSL_CTX_free(ctx);
        wolfSSL_ERR_clear_error();
        return NULL;
    }
    return ctx;
}

/* Keeps the anchors (DER and parsed) for wolf_chain_build. */
/* Keeps the anchors wolfSSL loaded (loaded[i]), to name the one that ends a
   verified chain: one it left out must never be named. */
static polytls_status wolf_keep_anchors(wolf_ctx *w, const polytls_drv_config *cfg, const bool *loaded, char *err,
                                        size_t errlen)
{
    if (cfg->n_trust == 0)
        return POLYTLS_OK;
    w->anchors = calloc(cfg->n_trust, sizeof *w->anchors);
    w->anchor_x509 = calloc(cfg->n_trust, sizeof *w->anchor_x509);
    if (!w->anchors || !w->anchor_x509) {
        snprintf(err, errlen, "wolfSSL: out of memory copying the trust anchors");
        return POLYTLS_ERR_NO_MEMORY;
    }
    for (size_t i = 0; i < cfg->n_trust; i++) {
        if (!loaded[i])
            continue;
        const polytls_drv_blob *t = &cfg->trust[i];
        uint8_t *der = t->len <= INT_MAX ? malloc(t->len ? t->len : 1) : NULL;
        if (!der) {
            snprintf(err, errlen, "wolfSSL: out of memory copying the trust anchors");
            return POLYTLS_ERR_NO_MEMORY;
        }
        memcpy(der, t->data, t->len);
        WOLFSSL_X509 *x = wolfSSL_X509_d2i(NULL, der, (int)t->len);
        if (!x) {
            free(der);
            snprintf(err, errlen, "wolfSSL could not parse trust anchor %zu", i);
            return POLYTLS_ERR_BAD_ENCODING;
        }
        w->anchors[w->n_anchors].data = der;
        w->anchors[w->n_anchors].len = t->len;
        w->anchor_x509[w->n_anchors] = x;
        w->n_anchors++;
    }
    return POLYTLS_OK;
}

/* Server ALPN choice by OUR order. wolfSSL matches its UseALPN list in the
   client's order, but when this callback answers OK it replaces that list
   with the one name chosen here. On no overlap we answer "no ack" and let
   the UseALPN list (set with FAILED_ON_MISMATCH) fail the handshake with
   no_application_protocol: a fatal answer from this callback alone is
   ignored by wolfSSL 5.5.4 (backend-notes 7c). */
static int wolf_alpn_select_cb(WOLFSSL *ssl, const unsigned char **out, unsigned char *outlen,
                               const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    const wolf_ctx *w = arg;
    for (size_t i = 0; i < w->alpn_wire_len; i += 1u + w->alpn_wire[i]) {
        const uint8_t *mine = w->alpn_wire + i + 1;
        uint8_t mine_len = w->alpn_wire[i];
        for (unsigned int j = 0; j < inlen;) { /* peer data: bounds-checked */
            unsigned char len = in[j];
            if (len == 0 || (size_t)j + 1 + len > inlen)
                break;
            if (len == mine_len && memcmp(in + j + 1, mine, len) == 0) {
                *out = in + j + 1;
                *outlen = len;
                return 0; /* SSL_TLSEXT_ERR_OK */
            }
            j += 1u + len;
        }
    }
    return noack_return;
}

/* Keeps the ALPN list in both forms. wolfSSL_UseALPN splits a C string on
   ',', so a name holding ',' or a NUL byte cannot be expressed, nor more
   than WOLFSSL_MAX_ALPN_NUMBER names: UNSUPPORTED rather than a silently
   different list. */
static polytls_status wolf_keep_alpn(wolf_ctx *w, const polytls_drv_blob *list, char *err, size_t errlen)
{
    size_t n = 0;
    for (size_t i = 0; i < list->len; i += 1u + list->data[i]) {
        const uint8_t *name = list->data + i + 1;
        size_t len = list->data[i];
        if (memchr(name, ',', len) || memchr(name, '\0', len)) {
            snprintf(err, errlen, "wolfSSL cannot offer ALPN protocol %zu: its name holds ',' or a NUL byte", n);
            return POLYTLS_ERR_UNSUPPORTED;
        }
        n++;
    }
    if (n > WOLFSSL_MAX_ALPN_NUMBER) {
        snprintf(err, errlen, "wolfSSL takes at most %d ALPN protocols (got %zu)", WOLFSSL_MAX_ALPN_NUMBER, n);
        return POLYTLS_ERR_UNSUPPORTED;
    }
    w->alpn_wire = malloc(list->len);
    w->alpn_csv = malloc(list->len); /* n names + (n - 1) commas + NUL = len */
    if (!w->alpn_wire || !w->alpn_csv) {
        snprintf(err, errlen, "wolfSSL: out of memory");
        return POLYTLS_ERR_NO_MEMORY;
    }
    memcpy(w->alpn_wire, list->data, list->len);
    w->alpn_wire_len = list->len;
    size_t o = 0;
    for (size_t i = 0; i < list->len; i += 1u + list->data[i]) {
        if (o)
            w->alpn_csv[o++] = ',';
        memcpy(w->alpn_csv + o, list->data + i + 1, list->data[i]);
        o += list->data[i];
    }
    w->alpn_csv[o] = '\0';
    w->alpn_csv_len = o;
    return POLYTLS_OK;
}

/* The user's suites and groups (IANA numbers, validated by the core) in
   wolfSSL's names and constants, or the defaults for empty lists. No DHE
   suite: this driver takes no DH parameters (no POLYTLS_CAP_CUSTOM_DH). */
static bool wolf_user_lists(const polytls_drv_config *cfg, char suites[sizeof WOLF_SUITES],
                            int groups[WOLF_N_GROUPS], int *n_groups)
{
    static const struct { uint16_t id; const char *name; } names[] = {
        {0x1301, "TLS13-AES128-GCM-SHA256"}, {0x1302, "TLS13-AES256-GCM-SHA384"},
        {0x1303, "TLS13-CHACHA20-POLY1305-SHA256"},
        {0xC02B, "ECDHE-ECDSA-AES128-GCM-SHA256"}, {0xC02C, "ECDHE-ECDSA-AES256-GCM-SHA384"},
        {0xC02F, "ECDHE-RSA-AES128-GCM-SHA256"}, {0xC030, "ECDHE-RSA-AES256-GCM-SHA384"},
        {0xCCA8, "ECDHE-RSA-CHACHA20-POLY1305"}, {0xCCA9, "ECDHE-ECDSA-CHACHA20-POLY1305"},
    };
    bool has_lists = cfg->size >= offsetof(polytls_drv_config, n_groups) + sizeof cfg->n_groups;
    snprintf(suites, sizeof WOLF_SUITES, "%s", WOLF_SUITES);
    memcpy(groups, WOLF_GROUPS, sizeof WOLF_GROUPS);
    *n_groups = WOLF_N_GROUPS;
    if (!has_lists)
        return true;
    if (cfg->n_suites) {
        suites[0] = '\0';
        for (size_t i = 0; i < cfg->n_suites; i++) {
            size_t j = 0;
            while (j < sizeof names / sizeof names[0] && names[j].id != cfg->suites[i])
                j++;
            if (j == sizeof names / sizeof names[0])
                return false;
            if (suites[0])
                strcat(suites, ":");
            strcat(suites, names[j].name); /* each name once (the core removed repeats): fits */
        }
    }
    if (cfg->n_groups) {
        if (cfg->n_groups > WOLF_N_GROUPS)
            return false;
        for (size_t i = 0; i < cfg->n_groups; i++) {
            uint16_t g = cfg->groups[i];
            groups[i] = g == 29 ? WOLFSSL_ECC_X25519 : g == 23 ? WOLFSSL_ECC_SECP256R1
                      : g == 24 ? WOLFSSL_ECC_SECP384R1 : g == 25 ? WOLFSSL_ECC_SECP521R1 : -1;
            if (groups[i] < 0)
                return false;
        }
        *n_groups = (int)cfg->n_groups;
    }
    return true;
}

static polytls_status wolf_ctx_init(const polytls_drv_config *cfg, void **out, char *err, size_t errlen)
{
    /* The core validated cfg (core/driver.h): nothing to re-check here. */
    wolf_ctx *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "wolfSSL: out of memory");
        return POLYTLS_ERR_NO_MEMORY;
    }
    w->is_server = cfg->is_server;
    w->min_version = cfg->min_version;
    w->max_version = cfg->max_version;
    w->key_ok = calloc(1, sizeof *w->key_ok);   /* no memory: no cache, every key is checked */
    if (w->key_ok)
        pthread_mutex_init(&w->key_ok->lock, NULL);
    w->has_verify_time = cfg->size >= offsetof(polytls_drv_config, verify_time) + sizeof cfg->verify_time &&
                         cfg->has_verify_time;
    polytls_status st;

    /* ECDHE suites only, as every backend's clients and servers (DHE needs
       custom parameters, which this driver does not take). */
    char suites[sizeof WOLF_SUITES];
    int groups[WOLF_N_GROUPS];
    int n_groups = WOLF_N_GROUPS;
    if (!wolf_user_lists(cfg, suites, groups, &n_groups)) {
        snprintf(err, errlen, "wolfSSL: unknown cipher suite or group number");
        wolf_ctx_fini(w);
        return POLYTLS_ERR_INTERNAL;
    }
    /* A wolfSSL 5.5 TLS 1.2 server completes ECDHE with a group the client
       offered even when it is outside the server's list (measured by
       suites.no_common_group): a narrower list cannot be enforced there, so
       refuse it rather than pretend. */
    if (cfg->is_server && cfg->min_version <= 0x0303 && n_groups < WOLF_N_GROUPS) {
        snprintf(err, errlen, "wolfSSL 5.5 servers cannot restrict the TLS 1.2 key-exchange groups "
                              "(a server group list must keep all four groups while TLS 1.2 is enabled)");
        wolf_ctx_fini(w);
        return POLYTLS_ERR_UNSUPPORTED;
    }
    w->resumption = cfg->size >= offsetof(polytls_drv_config, ticket_lifetime) + sizeof cfg->ticket_lifetime &&
                    cfg->resumption;
    w->ticket_lifetime = cfg->ticket_lifetime ? cfg->ticket_lifetime : 7200;
    w->ctx = wolf_new_ctx(cfg->is_server, w->min_version, w->max_version, suites, groups, n_groups,
                          w->resumption, err, errlen);
    if (!w->ctx) {
        wolf_ctx_fini(w);
        return POLYTLS_ERR_INTERNAL;
    }
    if (w->resumption && cfg->is_server) {
        st = wolf_ctx_resumption(w, err, errlen);
        if (st != POLYTLS_OK)
            goto fail;
    }
    bool *loaded = calloc(cfg->n_trust ? cfg->n_trust : 1, sizeof *loaded);
    if (!loaded) {
        snprintf(err, errlen, "wolfSSL: out of memory");
        st = POLYTLS_ERR_NO_MEMORY;
        goto fail;
    }
    for (size_t i = 0; i < cfg->n_trust; i++) {
        int rc = cfg->trust[i].len > (size_t)LONG_MAX
                     ? BAD_FUNC_ARG
                     : wolfSSL_CTX_load_verify_buffer(w->ctx, cfg->trust[i].data, (long)cfg->trust[i].len,
                                                      WOLFSSL_FILETYPE_ASN1);
        if (rc == ASN_AFTER_DATE_E || rc == ASN_BEFORE_DATE_E) {
            /* wolfSSL will not load an anchor outside its validity period
               at all, and system bundles hold expired roots (Debian 12's
               has four in 2026): refusing the whole configuration for them
               would make every client on the system store fail. Such an
               anchor cannot end a valid chain now on any backend (the
               others check the anchor's dates too), so it is left out. */
            wolfSSL_ERR_clear_error();
            continue;
        }
        if (rc != WOLFSSL_SUCCESS) {
            char t[96];
            snprintf(err, errlen, "wolfSSL refused trust anchor %zu: %s", i, wolf_error_text(rc, t, sizeof t));
            free(loaded);
            st = POLYTLS_ERR_BAD_ENCODING;
            goto fail;
        }
        loaded[i] = true;
    }
    st = wolf_keep_anchors(w, cfg, loaded, err, errlen);
    free(loaded);
    if (st != POLYTLS_OK)
        goto fail;
    /* Best effort: without the cache every path is built. */
    if (svc->size >= offsetof(polytls_core_services, path_cache_store) + sizeof svc->path_cache_store &&
        svc->path_cache_new && svc->path_cache_free && svc->path_cache_find && svc->path_cache_store)
        w->paths = svc->path_cache_new();
    if (cfg->alpn.len > 0) {
        st = wolf_keep_alpn(w, &cfg->alpn, err, errlen);
        if (st != POLYTLS_OK)
            goto fail;
        if (cfg->is_server)
            wolfSSL_CTX_set_alpn_select_cb(w->ctx, wolf_alpn_select_cb, w);
    }
    if (!cfg->is_server) {
        wolfSSL_ERR_clear_error();
        *out = w;
        return POLYTLS_OK;
    }
    if (cfg->client_auth == POLYTLS_CLIENT_AUTH_NONE) {
        wolfSSL_CTX_set_verify(w->ctx, WOLFSSL_VERIFY_NONE, NULL);
    } else {
        int mode = WOLFSSL_VERIFY_PEER;
        if (cfg->client_auth == POLYTLS_CLIENT_AUTH_REQUIRED)
            mode |= WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        wolfSSL_CTX_set_verify(w->ctx, mode, wolf_verify_cb);
        if (cfg->send_ca_names && cfg->n_trust > 0) {
            st = wolf_set_ca_names(w->ctx, cfg, err, errlen);
            if (st != POLYTLS_OK)
                goto fail;
        }
    }
    wolfSSL_ERR_clear_error();
    *out = w;
    return POLYTLS_OK;

fail:
    wolfSSL_ERR_clear_error();
    wolf_ctx_fini(w);
    return st;
}

static void wolf_conn_fini(void *conn)
{
    wolf_conn *c = conn;
    if (!c)
        return;
    /* A suspended coroutine holds nothing of ours on its stack (the
       certificate callback keeps no allocation across its yield), so
       abandoning it is safe. */
    if (c->co)
        svc->coro_free(c->co);
    if (c->ssl && c->handshake_done) {
        /* A quiet shutdown sends nothing; it lets wolfSSL release what it
           keeps for a session (wolfSSL_free alone leaks the verified chain
           built during the handshake). */
        wolfSSL_set_quiet_shutdown(c->ssl, 1);
        (void)wolfSSL_shutdown(c->ssl);
    }
    wolfSSL_free(c->ssl);
    free(c->verify_name);
    free(c->hs_rec);
    free(c);
    wolfSSL_ERR_clear_error();
}

static polytls_status wolf_conn_init(void *ctx, polytls_core_conn *core, const polytls_drv_conn_config *cc,
                                     void **out)
{
    wolf_ctx *w = ctx;
    ecc_cache_note_thread();
    wolf_conn *c = calloc(1, sizeof *c);
    if (!c) {
        svc->set_error(core, "wolfSSL: out of memory");
        return POLYTLS_ERR_NO_MEMORY;
    }
    c->core = core;
    c->w = w;
    c->is_server = w->is_server;
    c->ssl = wolfSSL_new(w->ctx);
    if (!c->ssl) {
        free(c);
        wolfSSL_ERR_clear_error();
        svc->set_error(core, "wolfSSL: could not create a connection (out of memory?)");
        return POLYTLS_ERR_NO_MEMORY;
    }
    wolfSSL_SSLSetIORecv(c->ssl, wolf_io_recv);
    wolfSSL_SSLSetIOSend(c->ssl, wolf_io_send);
    /* The read context doubles as the way back from wolfSSL's callbacks. */
    wolfSSL_SetIOReadCtx(c->ssl, c);
    wolfSSL_SetIOWriteCtx(c->ssl, c);
    WOLFSSL_ALERT_HISTORY h;
    memset(&h, 0, sizeof h);
    wolfSSL_get_alert_history(c->ssl, &h);
    c->last_rx_seen = h.last_rx;

    polytls_status st = POLYTLS_OK;
    /* Both sides: FAILED_ON_MISMATCH is what makes a server without a name
       in common send no_application_protocol. */
    if (w->alpn_csv && wolfSSL_UseALPN(c->ssl, w->alpn_csv, (unsigned)w->alpn_csv_len,
                                       WOLFSSL_ALPN_FAILED_ON_MISMATCH) != WOLFSSL_SUCCESS) {
        svc->set_error(core, "wolfSSL refused the ALPN list");
        st = POLYTLS_ERR_NO_MEMORY;
    } else if (c->is_server) {
        if (!cc->chain) {
            svc->set_error(core, "wolfSSL: a server connection needs a certificate chain");
            st = POLYTLS_ERR_INTERNAL;
        } else {
            st = wolf_use_chain(c, cc->chain);
        }
    } else {
        if (cc->sni && wolfSSL_UseSNI(c->ssl, WOLFSSL_SNI_HOST_NAME, cc->sni,
                                      (unsigned short)strlen(cc->sni)) != WOLFSSL_SUCCESS) {
            svc->set_error(core, "wolfSSL refused the SNI name");
            st = POLYTLS_ERR_INTERNAL;
        }
        if (st == POLYTLS_OK && cc->verify_name) {
            c->verify_name = strdup(cc->verify_name);
            c->verify_is_ip = cc->verify_is_ip;
            int rc;
            if (!c->verify_name) {
                svc->set_error(core, "wolfSSL: out of memory");
                st = POLYTLS_ERR_NO_MEMORY;
            } else if (cc->verify_is_ip) {
                rc = wolfSSL_X509_VERIFY_PARAM_set1_ip_asc(wolfSSL_get0_param(c->ssl), cc->verify_name);
                if (rc != WOLFSSL_SUCCESS) {
                    svc->set_error(core, "wolfSSL refused the IP address \"%s\"", cc->verify_name);
                    st = POLYTLS_ERR_INTERNAL;
                }
            } else {
                rc = wolfSSL_check_domain_name(c->ssl, cc->verify_name);
                if (rc != WOLFSSL_SUCCESS) {
                    svc->set_error(core, "wolfSSL refused the host name \"%s\"", cc->verify_name);
                    st = POLYTLS_ERR_INTERNAL;
                }
            }
        }
        if (st == POLYTLS_OK && cc->chain)
            st = wolf_use_chain(c, cc->chain);
        if (st == POLYTLS_OK && w->resumption)
            st = wolf_client_resumption(c, cc);
    }
    if (st != POLYTLS_OK) {
        wolf_conn_fini(c);
        return st;
    }
    wolfSSL_ERR_clear_error();
    *out = c;
    return POLYTLS_OK;
}

/* One handshake step; on the client it runs on a coroutine so that the
   certificate callback can yield. */
static void wolf_handshake_step(void *arg)
{
    wolf_conn *c = arg;
    c->co_ret = wolfSSL_negotiate(c->ssl);
}

/* Returns true when the step finished (result in c->co_ret), false when
   it is suspended waiting for the user's certificate. */
static bool wolf_run_handshake(wolf_conn *c, bool *no_memory)
{
    *no_memory = false;
    bool can_pause = !c->is_server && svc->coro_new && svc->coro_resume && svc->coro_yield &&
                     svc->coro_free;
    if (!can_pause) {
        wolf_handshake_step(c);
        return true;
    }
    if (!c->co && svc->coro_new(&c->co, wolf_handshake_step, c) != POLYTLS_OK) {
        c->co = NULL;
        *no_memory = true;
        return true;
    }
    if (!svc->coro_resume(c->co))
        return false;
    svc->coro_free(c->co);
    c->co = NULL;
    return true;
}

/* Whether the core still buffers input for the library (always "yes" with
   a core that predates io_pending: read until the library says so). */
static bool input_left(polytls_core_conn *core)
{
    if (svc->size < offsetof(polytls_core_services, io_pending) + sizeof svc->io_pending || !svc->io_pending)
        return true;
    return svc->io_pending(core) != 0;
}

/* Reads every record available after the handshake. */
static polytls_drv_rc wolf_read_all(wolf_conn *c)
{
    for (;;) {
        uint8_t *p = svc->app_reserve(c->core, WOLF_READ_CHUNK);
        if (!p) {
            svc->set_error(c->core, "out of memory for received application data");
            return POLYTLS_DRV_FAILED;
        }
        int n = wolfSSL_read(c->ssl, p, WOLF_READ_CHUNK);
        svc->app_commit(c->core, n > 0 ? (size_t)n : 0);
        if (n > 0) {
            wolf_report_alert(c); /* a warning read along the way */
            /* wolf_io_recv hands over one record at a time: with no
               input left anywhere and no plaintext pending, the next
               wolfSSL_read could only want more input. */
            if (!input_left(c->core) && c->la_off >= c->la_len && c->rec_left == 0 && c->rec_hdr_len == 0 &&
                wolfSSL_pending(c->ssl) == 0)
                return POLYTLS_DRV_AGAIN;
            continue;
        }
        int err = wolfSSL_get_error(c->ssl, n);
        if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) {
            wolf_report_alert(c);
            wolfSSL_ERR_clear_error();
            return POLYTLS_DRV_AGAIN;
        }
        return wolf_failure(c, err, "read");
    }
}

static polytls_drv_rc wolf_advance(void *conn, bool *handshake_done)
{
    wolf_conn *c = conn;
    ecc_cache_note_thread();
    if (!c->handshake_done) {
        bool no_memory;
        if (!wolf_run_handshake(c, &no_memory))
            return POLYTLS_DRV_PAUSED;
        if (no_memory) {
            svc->set_error(c->core, "out of memory creating the handshake coroutine");
            return POLYTLS_DRV_FAILED;
        }
        if (c->callback_failed && c->co_ret == WOLFSSL_SUCCESS) {
            /* Our certificate callback failed where wolfSSL cannot be
               stopped; its message is in the core already. */
            wolfSSL_ERR_clear_error();
            return POLYTLS_DRV_FAILED;
        }
        if (c->co_ret != WOLFSSL_SUCCESS) {
            int err = wolfSSL_get_error(c->ssl, c->co_ret);
            if ((err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) && !c->callback_failed) {
                wolf_report_alert(c);
                wolfSSL_ERR_clear_error();
                return POLYTLS_DRV_AGAIN;
            }
            return wolf_failure(c, err, "handshake");
        }
        wolf_report_alert(c);
        c->handshake_done = true;
        *handshake_done = true;
    }
    *handshake_done = true;
    return wolf_read_all(c);
}

static polytls_status wolf_write_app(void *conn, const uint8_t *data, size_t len)
{
    wolf_conn *c = conn;
    while (len > 0) {
        int slice = (int)(len > WOLF_WRITE_SLICE ? WOLF_WRITE_SLICE : len);
        int n = wolfSSL_write(c->ssl, data, slice);
        if (n <= 0) {
            int err = wolfSSL_get_error(c->ssl, n);
            char t[96];
            wolfSSL_ERR_clear_error();
            if (c->send_no_memory) {
                svc->set_error(c->core, "out of memory queueing encrypted data");
                return POLYTLS_ERR_NO_MEMORY;
            }
            svc->set_error(c->core, "wolfSSL_write failed: %s (%d)", wolf_error_text(err, t, sizeof t), err);
            return POLYTLS_ERR_INTERNAL;
        }
        data += n;
        len -= (size_t)n;
    }
    return POLYTLS_OK;
}

static polytls_status wolf_close_notify(void *conn)
{
    wolf_conn *c = conn;
    /* One call sends our close_notify; its return value is unreliable once
       the peer's close_notify was read (backend-notes §2.3), so trust the
       shutdown flags instead. */
    (void)wolfSSL_shutdown(c->ssl);
    wolfSSL_ERR_clear_error();
    if (c->send_no_memory) {
        svc->set_error(c->core, "out of memory queueing close_notify");
        return POLYTLS_ERR_NO_MEMORY;
    }
    if (!(wolfSSL_get_shutdown(c->ssl) & WOLFSSL_SENT_SHUTDOWN)) {
        svc->set_error(c->core, "wolfSSL did not send close_notify");
        return POLYTLS_ERR_INTERNAL;
    }
    return POLYTLS_OK;
}

static polytls_status wolf_get_facts(void *conn, polytls_drv_facts *f)
{
    wolf_conn *c = conn;
    memset(f, 0, sizeof *f);
    int v = wolfSSL_version(c->ssl);
    if (v != 0x0303 && v != 0x0304) {
        svc->set_error(c->core, "wolfSSL reports an unexpected protocol version 0x%04x", (unsigned)v);
        return POLYTLS_ERR_INTERNAL;
    }
    f->version = (uint16_t)v;
    int suite = wolfSSL_get_current_cipher_suite(c->ssl);
    const char *iana = suite >= 0 ? wolfSSL_get_cipher_name_iana_from_suite(
                                        (unsigned char)((suite >> 8) & 0xff), (unsigned char)(suite & 0xff))
                                  : NULL;
    if (!iana || !*iana || strcmp(iana, "None") == 0) {
        svc->set_error(c->core, "wolfSSL has no IANA name for cipher suite 0x%04x", (unsigned)suite);
        return POLYTLS_ERR_INTERNAL;
    }
    f->cipher_id = (uint16_t)suite;
    snprintf(f->cipher_name, sizeof f->cipher_name, "%s", iana);

    WOLFSSL_SESSION *s = wolfSSL_get_session(c->ssl);
    unsigned int id_len = 0;
    const unsigned char *id = s ? wolfSSL_SESSION_get_id(s, &id_len) : NULL;
    if (id && id_len > 0) {
        if (id_len > sizeof f->session_id)
            id_len = sizeof f->session_id;
        memcpy(f->session_id, id, id_len);
        f->session_id_len = id_len;
    }
    char *proto = NULL;
    unsigned short plen = 0;
    if (wolfSSL_ALPN_GetProtocol(c->ssl, &proto, &plen) == WOLFSSL_SUCCESS && proto && plen > 0) {
        if (plen > sizeof f->alpn)
            plen = sizeof f->alpn;
        memcpy(f->alpn, proto, plen);
        f->alpn_len = plen;
    }
    /* The handshake resumed a session (a ticket was accepted). */
    f->resumed = wolfSSL_session_reused(c->ssl) == 1;
    /* wolfSSL names the group of the key exchange (TLS 1.3 key share or
       TLS 1.2 ECDHE curve); NULL for DHE. */
    const char *curve = wolfSSL_get_curve_name(c->ssl);
    static const struct { const char *name; uint16_t iana; } curves[] = {
        {"X25519", 29}, {"SECP256R1", 23}, {"SECP384R1", 24}, {"SECP521R1", 25},
    };
    for (size_t i = 0; curve && i < sizeof curves / sizeof curves[0]; i++)
        if (strcasecmp(curve, curves[i].name) == 0)
            f->group = curves[i].iana;
    wolfSSL_ERR_clear_error();
    return POLYTLS_OK;
}

/* wolfSSL 5.5 has no public call to send an alert; the only one we can
   produce on request is bad_certificate, as the failure of a verification. */
static polytls_status wolf_send_alert(void *conn, polytls_alert code, polytls_alert_level level,
                                      bool in_verify)
{
    (void)conn;
    (void)level;
    if (in_verify && code == POLYTLS_ALERT_BAD_CERTIFICATE)
        return POLYTLS_OK;
    return POLYTLS_ERR_UNSUPPORTED;
}

#ifdef HAVE_KEYING_MATERIAL
/* RFC 8446 7.5 / RFC 5705; use_context keeps "no context" apart from an
   empty one, as TLS 1.2 requires. */
static polytls_status wolf_export_keying_material(void *conn, const uint8_t *label, size_t label_len,
                                                  const uint8_t *context, size_t context_len,
                                                  uint8_t *out, size_t out_len)
{
    wolf_conn *c = conn;
    static const unsigned char empty[1];
    int rc = wolfSSL_export_keying_material(c->ssl, out, out_len, (const char *)label, label_len,
                                            context ? context : empty, context_len, context != NULL);
    if (rc != WOLFSSL_SUCCESS) {
        svc->set_error(c->core, "wolfSSL_export_keying_material failed (%d)", rc);
        return POLYTLS_ERR_INTERNAL;
    }
    return POLYTLS_OK;
}
#endif

static const polytls_driver wolfssl_driver = {
    .abi_version = POLYTLS_DRIVER_ABI_VERSION,
    .size = sizeof(polytls_driver),
    .name = "wolfssl",
    .built_version = "wolfSSL " LIBWOLFSSL_VERSION_STRING,
    .init = wolf_init,
    .ctx_init = wolf_ctx_init,
    .ctx_fini = wolf_ctx_fini,
    .conn_init = wolf_conn_init,
    .conn_fini = wolf_conn_fini,
    .advance = wolf_advance,
    .write_app = wolf_write_app,
    .close_notify = wolf_close_notify,
    .get_facts = wolf_get_facts,
    .send_alert = wolf_send_alert,
#ifdef HAVE_KEYING_MATERIAL
    .export_keying_material = wolf_export_keying_material,
#endif
    .session_export = wolf_session_export,
};

const polytls_driver *ptls_wolfssl_driver(void) { return &wolfssl_driver; }
