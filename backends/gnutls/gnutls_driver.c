/*
 * backends/gnutls/gnutls_driver.c — the GnuTLS 3.7 driver.
 *
 * Translates the core's validated configuration into GnuTLS settings and
 * moves bytes between the core's buffers and a gnutls_session_t. Every rule
 * (what is legal when, invalidation, alert levels) lives in the core; this
 * file only makes GnuTLS behave like the other backends:
 *
 *  - Transport: push/pull callbacks over svc->io_send/io_recv; "no input"
 *    is EAGAIN. A pull_timeout callback is installed because GnuTLS's
 *    default one select()s on the transport pointer as if it were an fd.
 *  - Priorities are built explicitly (Debian's NORMAL still enables TLS
 *    1.0/1.1, CBC and RSA key exchange): exactly the configured versions,
 *    AEAD suites with (EC)DHE, our four groups and no FFDHE group (which is
 *    what makes a GnuTLS server use custom DH parameters).
 *  - GnuTLS never sends an alert by itself after a handshake or record
 *    error: we send the one OpenSSL sends for the same failure.
 *  - GnuTLS's certificate callback cannot pause: the client runs each
 *    gnutls_handshake() call on a core coroutine and yields inside the
 *    callback while the user has not answered.
 *  - The server's chain is per connection while the credentials (trust
 *    anchors, DH parameters) are shared by every connection of a context:
 *    the chain is handed over through the same retrieve callback.
 */
#include "driver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* gnutls_ciphersuite_get() (IANA names) appeared in 3.7.4. */
#define GTLS_MIN_RUNTIME "3.7.4"

/* The core's services, kept from init() (static storage, process-wide). */
static const polytls_core_services *svc;
/* Whether svc carries usable coroutine services (async client certs). */
static bool have_coro;

/* ------------------------------------------------------------------------ */
/* Context and connection state                                              */
/* ------------------------------------------------------------------------ */

/* A certificate chain converted for GnuTLS. */
typedef struct gtls_chain {
    gnutls_pcert_st *pcerts;
    unsigned n;
    gnutls_privkey_t key;
} gtls_chain;

/* Imported server chains, kept per context: importing the chain and key
   for every connection was most of what polytls added to a GnuTLS
   handshake (bench/, docs/performance.md). Read-only once stored, like the
   credentials every session already shares; matched by exact bytes. */
#define CHAIN_CACHE_SLOTS 4

typedef struct chain_cache_entry {
    uint8_t *bytes;
    size_t len;
    gtls_chain chain;
} chain_cache_entry;

/* Verified paths, kept per context in the core's cache (svc->path_cache_*,
   core/path_cache.c): building the leaf-to-anchor path for svc->verify
   imported the peer's certificates once more and copied the anchor out of
   the trust list on every full handshake (≈ 0.9 M instructions,
   docs/performance.md). The path is a function of the certificates as sent
   and of the trust list alone (read-only after ctx_init; GnuTLS's issuer
   look-ups do not depend on the time), so it is built once per distinct
   peer chain. GnuTLS still verifies every handshake itself. */
#define GTLS_PATH_MAX_SENT 16 /* the core caches no longer sent chain (GnuTLS's
                                 default verify depth refuses them anyway) */
#define GTLS_PATH_MAX_ELEMS (GTLS_PATH_MAX_SENT + 1) /* every sent certificate plus the anchor */

typedef struct gtls_ctx {
    bool is_server;
    pthread_mutex_t cache_lock;
    chain_cache_entry cache[CHAIN_CACHE_SLOTS];
    unsigned cache_used;     /* filled slots; full: new chains are not cached */
    polytls_path_cache *paths; /* NULL: a core without the service, or no memory */
    polytls_client_auth client_auth;
    bool send_ca_names;
    uint16_t min_version, max_version;
    /* Shared by every session of this context; read-only after ctx_init. */
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t prio;
    gnutls_dh_params_t dh; /* NULL without custom DH */
    /* ALPN names in preference order, pointing into alpn_wire (set on each
       session: GnuTLS keeps ALPN per session). n_alpn = 0: no ALPN. */
    uint8_t *alpn_wire;
    gnutls_datum_t *alpn;
    unsigned n_alpn;
    /* Key log on (POLYTLS_CAP_KEYLOG): GnuTLS gives the label and the
       secret; the core builds the line (svc->keylog). */
    bool keylog;
    /* Resumption on (POLYTLS_CAP_RESUMPTION, drv_config.resumption):
       tickets offered (client) or issued (server), lifetime in seconds. */
    bool resumption;
    uint32_t ticket_lifetime;
} gtls_ctx;


typedef struct gtls_conn {
    gtls_ctx *ctx;
    polytls_core_conn *core;
    gnutls_session_t s;
    bool is_server;
    bool hs_done;
    /* A fatal alert has already gone to the peer (ours or the library's
       on our behalf): never send a second one. */
    bool fatal_sent;
    /* svc->set_error was already called with a precise message. */
    bool error_set;

    /* Client verification target. */
    char *verify_name;
    bool verify_is_ip;
    unsigned char ip[16];
    size_t ip_len;

    /* The chain we present: the server's from conn_init, the client's once
       the user answered. GnuTLS borrows it until gnutls_deinit. */
    gtls_chain own;
    const gtls_chain *shared;   /* server: the context's cached chain instead of own */
    bool cert_answered;

    /* Client handshake step running on a coroutine; non-NULL only while
       suspended in the certificate callback. */
    polytls_coro *co;
    int co_ret;
    /* conn_fini is unwinding a suspended handshake: the certificate
       callback fails at once and no byte reaches the core any more. */
    bool cancelled;
    /* The CA names of the pending request, in the core's blob form. Kept
       here, not on the coroutine stack, so a cancelled request frees it. */
    polytls_drv_blob *names;
    size_t n_names;

    /* pull_fn found no input during the current library call. GnuTLS also
       returns GNUTLS_E_AGAIN after handling a TLS 1.3 post-handshake
       message (NewSessionTicket, KeyUpdate) with input still buffered:
       only a starved pull means "wait for the peer". */
    bool starved;

    /* Server: the first bytes the handshake read (the ClientHello), kept
       until the handshake ends so a version mismatch can be told apart
       from a cipher mismatch (GnuTLS reports both as "no cipher suites").
       Grown to what was read: a 64 KiB buffer per connection (and another
       to parse it) cost ≈ 40,000 instructions per handshake in malloc's
       slow paths. hello_dropped: out of memory once, nothing is kept (a
       capture with a gap would be misread). */
    uint8_t *hello;
    size_t hello_len;
    bool hello_dropped;
    /* Server, TLS 1.3: the client's legacy_session_id (see get_facts). */
    uint8_t sid13[32];
    size_t sid13_len;
} gtls_conn;

/* Enough for any real ClientHello (the core caps it the same way). */
#define GTLS_HELLO_CAP 65536u

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

static void copy_error(char *err, size_t errlen, const char *what, int rc)
{
    if (err && errlen)
        snprintf(err, errlen, "GnuTLS: %s: %s (%d)", what, gnutls_strerror(rc), rc);
}

/* Records a precise failure message for this connection. */
#define CONN_ERROR(c, ...)                                  \
    do {                                                    \
        if (!(c)->cancelled) svc->set_error((c)->core, __VA_ARGS__); \
        (c)->error_set = true;                              \
    } while (0)

static void chain_free(gtls_chain *ch)
{
    if (ch->pcerts) {
        for (unsigned i = 0; i < ch->n; i++)
            gnutls_pcert_deinit(&ch->pcerts[i]);
        free(ch->pcerts);
    }
    if (ch->key)
        gnutls_privkey_deinit(ch->key);
    memset(ch, 0, sizeof *ch);
}

/* True when the private key belongs to the certificate's public key. The
   key IDs (SHA-256 over the SubjectPublicKeyInfo) are compared rather than
   loading into a scratch credentials structure for each connection. */
static bool key_matches(gnutls_pcert_st *leaf, gnutls_privkey_t key)
{
    gnutls_pubkey_t pub = NULL;
    unsigned char a[64], b[64];
    size_t la = sizeof a, lb = sizeof b;
    bool ok = false;

    if (gnutls_pubkey_init(&pub) < 0)
        return false;
    if (gnutls_pubkey_import_privkey(pub, key, 0, 0) >= 0 &&
        gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &la) >= 0 &&
        gnutls_pubkey_get_key_id(leaf->pubkey, GNUTLS_KEYID_USE_SHA256, b, &lb) >= 0)
        ok = la == lb && memcmp(a, b, la) == 0;
    gnutls_pubkey_deinit(pub);
    return ok;
}

/* Converts a core chain into pcerts + privkey. Returns OK, NO_MEMORY,
   BAD_ENCODING or KEY_MISMATCH (message through svc->set_error). */
static polytls_status chain_import(gtls_conn *c, const polytls_drv_chain *in, gtls_chain *out)
{
    gtls_chain ch = {0};
    int rc;

    if (!in || in->n == 0 || in->n > 64) {
        CONN_ERROR(c, "GnuTLS: an empty or oversized certificate chain");
        return POLYTLS_ERR_INVALID_ARGUMENT;
    }
    ch.pcerts = calloc(in->n, sizeof *ch.pcerts);
    if (!ch.pcerts) {
        CONN_ERROR(c, "out of memory");
        return POLYTLS_ERR_NO_MEMORY;
    }
    for (size_t i = 0; i < in->n; i++) {
        gnutls_datum_t d = {(unsigned char *)in->certs[i].data, (unsigned)in->certs[i].len};
        rc = gnutls_pcert_import_x509_raw(&ch.pcerts[i], &d, GNUTLS_X509_FMT_DER, 0);
        if (rc < 0) {
            chain_free(&ch);
            CONN_ERROR(c, "GnuTLS: certificate %zu of the chain: %s (%d)", i, gnutls_strerror(rc), rc);
            return rc == GNUTLS_E_MEMORY_ERROR ? POLYTLS_ERR_NO_MEMORY : POLYTLS_ERR_BAD_ENCODING;
        }
        ch.n++;
    }
    rc = gnutls_privkey_init(&ch.key);
    if (rc >= 0) {
        gnutls_datum_t k = {(unsigned char *)in->key.data, (unsigned)in->key.len};
        rc = gnutls_privkey_import_x509_raw(ch.key, &k, GNUTLS_X509_FMT_DER, NULL, 0);
    }
    if (rc < 0) {
        chain_free(&ch);
        CONN_ERROR(c, "GnuTLS: private key: %s (%d)", gnutls_strerror(rc), rc);
        return rc == GNUTLS_E_MEMORY_ERROR ? POLYTLS_ERR_NO_MEMORY : POLYTLS_ERR_BAD_ENCODING;
    }
    if (!key_matches(&ch.pcerts[0], ch.key)) {
        chain_free(&ch);
        CONN_ERROR(c, "GnuTLS: the private key does not belong to the leaf certificate");
        return POLYTLS_ERR_KEY_MISMATCH;
    }
    *out = ch;
    return POLYTLS_OK;
}

/* The server's chain for c: the context's cached import when the same
   bytes were imported before, else a new import that is cached while
   slots remain (and kept in c->own when they do not). */
static polytls_status chain_import_cached(gtls_ctx *x, gtls_conn *c, const polytls_drv_chain *in)
{
    size_t len = 0;
    uint8_t *bytes = svc->chain_identity(in, &len);
    if (!bytes)
        return chain_import(c, in, &c->own);
    pthread_mutex_lock(&x->cache_lock);
    for (unsigned i = 0; i < x->cache_used; i++) {
        if (x->cache[i].len == len && memcmp(x->cache[i].bytes, bytes, len) == 0) {
            c->shared = &x->cache[i].chain;
            pthread_mutex_unlock(&x->cache_lock);
            free(bytes);
            return POLYTLS_OK;
        }
    }
    pthread_mutex_unlock(&x->cache_lock);
    gtls_chain ch;
    polytls_status st = chain_import(c, in, &ch);
    if (st != POLYTLS_OK) {
        free(bytes);
        return st;
    }
    pthread_mutex_lock(&x->cache_lock);
    if (x->cache_used < CHAIN_CACHE_SLOTS) {
        chain_cache_entry *e = &x->cache[x->cache_used++];
        e->bytes = bytes;
        e->len = len;
        e->chain = ch;
        c->shared = &e->chain;
        bytes = NULL;
    } else {
        c->own = ch;   /* entries are never replaced: sessions may still use them */
    }
    pthread_mutex_unlock(&x->cache_lock);
    free(bytes);
    return POLYTLS_OK;
}

/* ------------------------------------------------------------------------ */
/* Transport                                                                  */
/* ------------------------------------------------------------------------ */

static ssize_t push_fn(gnutls_transport_ptr_t p, const void *data, size_t len)
{
    gtls_conn *c = p;
    if (c->cancelled)
        return (ssize_t)len; /* the connection is being freed: drop */
    if (svc->io_send(c->core, data, len) != POLYTLS_OK) {
        gnutls_transport_set_errno(c->s, ENOMEM);
        return -1;
    }
    return (ssize_t)len;
}

static ssize_t pull_fn(gnutls_transport_ptr_t p, void *buf, size_t cap)
{
    gtls_conn *c = p;
    size_t n = c->cancelled ? 0 : svc->io_recv(c->core, buf, cap);
    if (n == 0) {
        /* Never EOF: the core handles the end of the stream itself. */
        c->starved = true;
        gnutls_transport_set_errno(c->s, EAGAIN);
        return -1;
    }
    if (c->is_server && !c->hs_done && !c->hello_dropped && c->hello_len < GTLS_HELLO_CAP) {
        size_t keep = n < GTLS_HELLO_CAP - c->hello_len ? n : GTLS_HELLO_CAP - c->hello_len;
        uint8_t *grown = realloc(c->hello, c->hello_len + keep);
        if (grown) {
            c->hello = grown;
            memcpy(c->hello + c->hello_len, buf, keep);
            c->hello_len += keep;
        } else {
            free(c->hello);
            c->hello = NULL;
            c->hello_len = 0;
            c->hello_dropped = true;
        }
    }
    return (ssize_t)n;
}

/* "Is input ready?" — say yes and let pull_fn answer EAGAIN if not: we
   cannot peek without consuming, and we never want GnuTLS to wait. */
static int pull_timeout_fn(gnutls_transport_ptr_t p, unsigned ms)
{
    (void)p;
    (void)ms;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Alerts after failures                                                      */
/* ------------------------------------------------------------------------ */

/* Reads a big-endian number of n bytes at *p if it fits before end. */
static bool rd(const uint8_t **p, const uint8_t *end, size_t n, size_t *v)
{
    if ((size_t)(end - *p) < n)
        return false;
    *v = 0;
    for (size_t i = 0; i < n; i++)
        *v = (*v << 8) | (*p)[i];
    *p += n;
    return true;
}

/* Reassembles the captured ClientHello handshake message from its leading
   handshake records into msg (c->hello_len bytes, which the records'
   contents never exceed) and returns a pointer
   just past legacy_session_id, with *end set, *legacy the legacy_version
   and sid/sid_len the legacy_session_id; NULL when it is not a complete,
   well-formed ClientHello up to there. */
static const uint8_t *hello_parse_head(const gtls_conn *c, uint8_t *msg, const uint8_t **end_out, size_t *legacy,
                                       const uint8_t **sid, size_t *sid_len)
{
    size_t mlen = 0, v, len;
    const uint8_t *p = c->hello, *end = c->hello + c->hello_len;

    while (p && end - p >= 5 && p[0] == 22) {
        const uint8_t *q = p + 3;
        if (!rd(&q, end, 2, &len) || (size_t)(end - q) < len)
            break;
        if (mlen + len > c->hello_len)
            return NULL;
        memcpy(msg + mlen, q, len);
        mlen += len;
        p = q + len;
    }
    p = msg;
    end = msg + mlen;
    if (!rd(&p, end, 1, &v) || v != 1 || !rd(&p, end, 3, &len) || (size_t)(end - p) < len)
        return NULL;
    end = p + len;
    if (!rd(&p, end, 2, legacy) || (size_t)(end - p) < 32)
        return NULL;
    p += 32; /* random */
    if (!rd(&p, end, 1, sid_len) || *sid_len > 32 || (size_t)(end - p) < *sid_len)
        return NULL;
    *sid = p;
    p += *sid_len;
    *end_out = end;
    return p;
}

/* Server: did the captured ClientHello offer no version in our range?
   Looks at supported_versions when present, else at legacy_version. Only
   a well-formed hello gives true; anything else keeps GnuTLS's own
   verdict. */
static bool hello_versions_disjoint(const gtls_conn *c, uint8_t *msg)
{
    const uint8_t *end, *sid;
    size_t legacy, sid_len, len, v;
    const uint8_t *p = hello_parse_head(c, msg, &end, &legacy, &sid, &sid_len);
    if (!p)
        return false;
    if (!rd(&p, end, 2, &len) || (size_t)(end - p) < len) /* cipher_suites */
        return false;
    p += len;
    if (!rd(&p, end, 1, &len) || (size_t)(end - p) < len) /* compression */
        return false;
    p += len;
    uint16_t lo = c->ctx->min_version, hi = c->ctx->max_version;
    size_t exts = 0;
    if (p < end && (!rd(&p, end, 2, &exts) || (size_t)(end - p) < exts))
        return false;
    const uint8_t *xend = p + exts;
    while (p < xend) {
        size_t type, elen;
        if (!rd(&p, xend, 2, &type) || !rd(&p, xend, 2, &elen) || (size_t)(xend - p) < elen)
            return false;
        if (type == 43) { /* supported_versions */
            const uint8_t *q = p, *qend = p + elen;
            size_t l;
            if (!rd(&q, qend, 1, &l) || l != (size_t)(qend - q) || l % 2)
                return false;
            while (rd(&q, qend, 2, &v))
                if (v >= lo && v <= hi)
                    return false;
            return true;
        }
        p += elen;
    }
    /* No supported_versions: the client speaks legacy_version at most. */
    return legacy < lo;
}

static bool hello_offers_no_version_of_ours(const gtls_conn *c)
{
    if (!c->hello)
        return false;
    uint8_t *msg = malloc(c->hello_len);
    if (!msg)
        return false;
    bool r = hello_versions_disjoint(c, msg);
    free(msg);
    return r;
}

/* Server, TLS 1.3: the session id the API reports is the legacy_session_id
   echo, but gnutls_session_get_id2 gives the server's own internal id:
   keep the client's from the captured ClientHello. */
static void keep_legacy_session_id(gtls_conn *c)
{
    const uint8_t *end, *sid;
    size_t legacy, sid_len;
    uint8_t *msg = c->hello ? malloc(c->hello_len) : NULL;
    if (!msg)
        return;
    if (hello_parse_head(c, msg, &end, &legacy, &sid, &sid_len)) {
        memcpy(c->sid13, sid, sid_len);
        c->sid13_len = sid_len;
    }
    free(msg);
}

/* The alert OpenSSL sends for the same failure (backend-notes §2.1): GnuTLS's
   own mapping differs for a missing TLS 1.2 client certificate and for a
   peer whose versions are all below ours. */
static int alert_for_error(gtls_conn *c, int err)
{
    int level = GNUTLS_AL_FATAL;
    int alert = gnutls_error_to_alert(err, &level);

    switch (err) {
    case GNUTLS_E_NO_CERTIFICATE_FOUND:
    case GNUTLS_E_CERTIFICATE_REQUIRED:
        if (c->is_server)
            alert = gnutls_protocol_get_version(c->s) == GNUTLS_TLS1_3 ? GNUTLS_A_CERTIFICATE_REQUIRED
                                                                         : GNUTLS_A_HANDSHAKE_FAILURE;
        break;
    case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
        alert = GNUTLS_A_PROTOCOL_VERSION;
        break;
    case GNUTLS_E_NO_CIPHER_SUITES:
    case GNUTLS_E_INSUFFICIENT_CREDENTIALS:
        /* GnuTLS picks suites before it notices that no version is
           shared; OpenSSL (and the RFC) answer protocol_version. */
        if (c->is_server && hello_offers_no_version_of_ours(c))
            alert = GNUTLS_A_PROTOCOL_VERSION;
        break;
    default:
        break;
    }
    if (alert < 0)
        alert = GNUTLS_A_INTERNAL_ERROR;
    return alert;
}

/* A fatal local failure: send the alert the peer should see (unless one
   went already), say why, and report FAILED. */
static polytls_drv_rc fail(gtls_conn *c, int err, const char *during)
{
    int alert = alert_for_error(c, err);
    if (!c->fatal_sent) {
        c->fatal_sent = true;
        (void)gnutls_alert_send(c->s, GNUTLS_AL_FATAL, (gnutls_alert_description_t)alert);
    }
    if (c->error_set)
        return POLYTLS_DRV_FAILED;
    if (alert == GNUTLS_A_PROTOCOL_VERSION)
        svc->set_error(c->core, "GnuTLS %s: no TLS version in common with the peer (%s, %d)", during,
                       gnutls_strerror(err), err);
    else
        svc->set_error(c->core, "GnuTLS %s: %s (%d)", during, gnutls_strerror(err), err);
    return POLYTLS_DRV_FAILED;
}

/* ------------------------------------------------------------------------ */
/* Certificate verification                                                   */
/* ------------------------------------------------------------------------ */

/* Chain errors first, then the name, then signatures and dates: the order
   in which OpenSSL reports them, with its alert for each. */
static int alert_for_status(unsigned status)
{
    if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
        return GNUTLS_A_UNKNOWN_CA;
    if (status & GNUTLS_CERT_PURPOSE_MISMATCH)
        return GNUTLS_A_UNSUPPORTED_CERTIFICATE;
    if (status & GNUTLS_CERT_REVOKED)
        return GNUTLS_A_CERTIFICATE_REVOKED;
    if (status & GNUTLS_CERT_SIGNATURE_FAILURE)
        return GNUTLS_A_DECRYPT_ERROR;
    if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED))
        return GNUTLS_A_CERTIFICATE_EXPIRED;
    return GNUTLS_A_BAD_CERTIFICATE;
}

/* Fails the verification: the alert goes now (GnuTLS sends none itself),
   and the handshake returns an error. */
static int verify_reject(gtls_conn *c, int alert)
{
    c->fatal_sent = true;
    (void)gnutls_alert_send(c->s, GNUTLS_AL_FATAL, (gnutls_alert_description_t)alert);
    return GNUTLS_E_CERTIFICATE_ERROR;
}

/* The path GnuTLS validated, as blobs, leaf first and trust anchor last:
   the peer's certificates as sent, followed issuer by issuer, until an
   issuer is found in the trust list (then it is appended and we stop).
   Fills *out (entries point into peers[] or into anchor, which the caller
   frees) and returns the count, or 0 on failure. */
static size_t build_path(gtls_conn *c, const gnutls_datum_t *peers, unsigned n_peers, polytls_drv_blob *out,
                         size_t cap, gnutls_x509_crt_t *anchor_out, gnutls_datum_t *anchor_der)
{
    gnutls_x509_trust_list_t tl = NULL;
    gnutls_x509_crt_t *crts = calloc(n_peers, sizeof *crts);
    bool *used = calloc(n_peers, sizeof *used);
    size_t n = 0;
    unsigned cur = 0;

    *anchor_out = NULL;
    anchor_der->data = NULL;
    anchor_der->size = 0;
    if (!crts || !used)
        goto done;
    for (unsigned i = 0; i < n_peers; i++)
        if (gnutls_x509_crt_init(&crts[i]) < 0 ||
            gnutls_x509_crt_import(crts[i], &peers[i], GNUTLS_X509_FMT_DER) < 0)
            goto done;
    gnutls_certificate_get_trust_list(c->ctx->cred, &tl);

    out[n].data = peers[0].data;
    out[n++].len = peers[0].size;
    used[0] = true;
    while (n < cap) {
        gnutls_x509_crt_t issuer = NULL;
        if (tl && gnutls_x509_trust_list_get_issuer(tl, crts[cur], &issuer, GNUTLS_TL_GET_COPY) >= 0 && issuer) {
            /* A trusted self-signed certificate sent as is: it is already
               the last element. */
            if (gnutls_x509_crt_equals2(issuer, &peers[cur])) {
                gnutls_x509_crt_deinit(issuer);
                break;
            }
            if (gnutls_x509_crt_export2(issuer, GNUTLS_X509_FMT_DER, anchor_der) < 0) {
                gnutls_x509_crt_deinit(issuer);
                n = 0;
                break;
            }
            *anchor_out = issuer;
            out[n].data = anchor_der->data;
            out[n++].len = anchor_der->size;
            break;
        }
        unsigned next = n_peers;
        for (unsigned j = 0; j < n_peers; j++)
            if (!used[j] && gnutls_x509_crt_check_issuer(crts[cur], crts[j])) {
                next = j;
                break;
            }
        if (next == n_peers)
            break; /* validated without a trust-list issuer: nothing to add */
        used[next] = true;
        cur = next;
        out[n].data = peers[cur].data;
        out[n++].len = peers[cur].size;
    }
done:
    if (crts)
        for (unsigned i = 0; i < n_peers; i++)
            if (crts[i])
                gnutls_x509_crt_deinit(crts[i]);
    free(crts);
    free(used);
    return n;
}

/* Whether the core offers the verified-path cache (a module may run under
   an older core). */
static bool have_path_cache(void)
{
    return svc->size >= offsetof(polytls_core_services, path_cache_store) + sizeof svc->path_cache_store &&
           svc->path_cache_new && svc->path_cache_free && svc->path_cache_find && svc->path_cache_store;
}

/* gnutls_session_set_verify_function: runs once per full handshake, after
   the peer's Certificate (and CertificateVerify in TLS 1.3). */
static int verify_fn(gnutls_session_t s)
{
    gtls_conn *c = gnutls_session_get_ptr(s);
    unsigned n_peers = 0;
    const gnutls_datum_t *peers = gnutls_certificate_get_peers(s, &n_peers);
    /* A client also has GnuTLS check the name, on the leaf it already
       imported to verify (gnutls_x509_crt_check_hostname2 / _check_ip on
       the first certificate sent, as we would call them: our verify flags
       hold no name-matching flag): it only sets
       GNUTLS_CERT_UNEXPECTED_OWNER, which is judged below in OpenSSL's
       order. Importing the leaf once more for it cost ≈ 0.3 M
       instructions per handshake. */
    gnutls_typed_vdata_st vdata[2] = {
        {GNUTLS_DT_KEY_PURPOSE_OID,
         (unsigned char *)(c->is_server ? GNUTLS_KP_TLS_WWW_CLIENT : GNUTLS_KP_TLS_WWW_SERVER), 0},
        {GNUTLS_DT_UNKNOWN, NULL, 0},
    };
    unsigned n_vdata = 1;
    unsigned status = 0;
    int rc;

    if (!c->is_server) {
        if (c->verify_is_ip) {
            vdata[1].type = GNUTLS_DT_IP_ADDRESS;
            vdata[1].data = c->ip;
            vdata[1].size = (unsigned)c->ip_len;
        } else {
            vdata[1].type = GNUTLS_DT_DNS_HOSTNAME;
            vdata[1].data = (unsigned char *)c->verify_name;
        }
        n_vdata = 2;
    }

    if (!peers || n_peers == 0) {
        /* A server whose client sent nothing: OPTIONAL accepts; REQUIRED
           is refused by GnuTLS itself (see alert_for_error). */
        if (c->is_server)
            return 0;
        CONN_ERROR(c, "GnuTLS: the server sent no certificate");
        return verify_reject(c, GNUTLS_A_BAD_CERTIFICATE);
    }
    rc = gnutls_certificate_verify_peers(s, vdata, n_vdata, &status);
    if (rc < 0) {
        CONN_ERROR(c, "GnuTLS: certificate verification failed: %s (%d)", gnutls_strerror(rc), rc);
        return verify_reject(c, GNUTLS_A_BAD_CERTIFICATE);
    }
    /* The name is judged on its own, below; the chain errors are printed
       as without a name (GNUTLS_CERT_INVALID comes with each of them). */
    bool name_ok = !(status & GNUTLS_CERT_UNEXPECTED_OWNER);
    status &= ~(unsigned)GNUTLS_CERT_UNEXPECTED_OWNER;
    if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA | GNUTLS_CERT_PURPOSE_MISMATCH)) {
        gnutls_datum_t txt = {NULL, 0};
        gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &txt, 0);
        CONN_ERROR(c, "GnuTLS: certificate verification failed: %s", txt.data ? (char *)txt.data : "?");
        gnutls_free(txt.data);
        return verify_reject(c, alert_for_status(status));
    }

    /* The name (client only), after the chain like OpenSSL. GnuTLS also
       accepts partial wildcards; the core's own strict check (in
       svc->verify) narrows that to what every backend accepts. */
    if (!name_ok) {
        CONN_ERROR(c, "GnuTLS: the server certificate does not match %s \"%s\"",
                   c->verify_is_ip ? "the IP address" : "the host name", c->verify_name);
        return verify_reject(c, GNUTLS_A_BAD_CERTIFICATE);
    }
    if (status != 0) {
        gnutls_datum_t txt = {NULL, 0};
        gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &txt, 0);
        CONN_ERROR(c, "GnuTLS: certificate verification failed: %s", txt.data ? (char *)txt.data : "?");
        gnutls_free(txt.data);
        return verify_reject(c, alert_for_status(status));
    }

    /* The library is satisfied: now the user's verdict, on the verified
       path. */
    polytls_drv_blob path[GTLS_PATH_MAX_ELEMS];
    gnutls_x509_crt_t anchor = NULL;
    gnutls_datum_t anchor_der = {NULL, 0};
    uint8_t *anchor_copy = NULL;
    polytls_drv_blob sent[GTLS_PATH_MAX_SENT];
    bool cached = c->ctx->paths && n_peers <= GTLS_PATH_MAX_SENT;
    size_t n = 0;
    if (cached) {
        for (unsigned j = 0; j < n_peers; j++) {
            sent[j].data = peers[j].data;
            sent[j].len = peers[j].size;
        }
        n = svc->path_cache_find(c->ctx->paths, sent, n_peers, path, sizeof path / sizeof path[0], &anchor_copy);
    }
    if (n == 0) {
        n = build_path(c, peers, n_peers, path, sizeof path / sizeof path[0], &anchor, &anchor_der);
        if (n == 0) {
            CONN_ERROR(c, "GnuTLS: out of memory while collecting the verified chain");
            return verify_reject(c, GNUTLS_A_INTERNAL_ERROR);
        }
        if (cached) {
            polytls_drv_blob a = {anchor_der.data, anchor_der.size};
            svc->path_cache_store(c->ctx->paths, sent, n_peers, path, n, anchor_der.data ? &a : NULL);
        }
    }
    polytls_alert alert = POLYTLS_ALERT_BAD_CERTIFICATE;
    bool accepted = svc->verify(c->core, path, n, &alert);
    free(anchor_copy);
    gnutls_free(anchor_der.data);
    if (anchor)
        gnutls_x509_crt_deinit(anchor);
    if (!accepted) {
        c->error_set = true; /* the core has said why */
        return verify_reject(c, alert ? (int)alert : GNUTLS_A_BAD_CERTIFICATE);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Certificate selection                                                      */
/* ------------------------------------------------------------------------ */

/* gnutls_certificate_set_retrieve_function3. The server hands over the
   chain chosen at conn_init. The client asks the core (and so the user);
   while the answer is pending it yields the coroutine the handshake step
   runs on, and asks again when resumed. */
static int retrieve_fn(gnutls_session_t s, const struct gnutls_cert_retr_st *info, gnutls_pcert_st **certs,
                       unsigned int *n_certs, gnutls_ocsp_data_st **ocsp, unsigned int *n_ocsp,
                       gnutls_privkey_t *key, unsigned int *flags)
{
    gtls_conn *c = gnutls_session_get_ptr(s);

    *ocsp = NULL;
    *n_ocsp = 0;
    *flags = 0; /* we own what we hand over; freed in conn_fini */
    *certs = NULL;
    *n_certs = 0;
    *key = NULL;
    if (!c)
        return -1;

    if (!c->is_server && !c->cert_answered) {
        /* The names GnuTLS collected (TLS 1.2 list, TLS 1.3
           certificate_authorities), converted once per request. */
        free(c->names);
        c->names = NULL;
        c->n_names = 0;
        if (info && info->nreqs) {
            c->names = calloc(info->nreqs, sizeof *c->names);
            if (!c->names) {
                CONN_ERROR(c, "out of memory");
                return -1;
            }
            for (unsigned i = 0; i < info->nreqs; i++) {
                c->names[i].data = info->req_ca_rdn[i].data;
                c->names[i].len = info->req_ca_rdn[i].size;
            }
            c->n_names = info->nreqs;
        }
        for (;;) {
            const polytls_drv_chain *chain = NULL;
            if (c->cancelled)
                return -1;
            polytls_drv_cert_answer a = svc->client_cert_request(c->core, c->names, c->n_names, &chain);
            if (a == POLYTLS_DRV_CERT_READY) {
                if (chain && chain_import(c, chain, &c->own) != POLYTLS_OK)
                    return -1;
                c->cert_answered = true;
                break;
            }
            if (!c->co) {
                CONN_ERROR(c, "GnuTLS: the client certificate must be chosen synchronously here "
                              "(no coroutine to pause the handshake on)");
                return -1;
            }
            svc->coro_yield(c->co);
        }
        free(c->names); /* pointed into GnuTLS's request: not valid later */
        c->names = NULL;
        c->n_names = 0;
    }
    const gtls_chain *ch = c->shared ? c->shared : &c->own;
    if (ch->n) {
        *certs = ch->pcerts;
        *n_certs = ch->n;
        *key = ch->key;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* init / ctx                                                                 */
/* ------------------------------------------------------------------------ */

static bool have_ticket_key(void);

/* Tickets both ways (gnutls_session_ticket_enable_server,
   gnutls_session_get_data2/set_data). GnuTLS takes one ticket key per
   session and names keys itself: the core must rotate the key to refuse
   one ticket (POLYTLS_DRV_ONE_TICKET_KEY). */
static void resumption_capability(polytls_drv_info *info)
{
    if (!have_ticket_key())
        return;
    info->capabilities |= POLYTLS_CAP_RESUMPTION;
    info->flags |= POLYTLS_DRV_ONE_TICKET_KEY;
}

static polytls_status gtls_init(const polytls_core_services *s, polytls_drv_info *info)
{
    if (!s || !info || s->size < offsetof(polytls_core_services, coro_new)) {
        if (info)
            snprintf(info->version, sizeof info->version, "the core's services table is too old");
        return POLYTLS_ERR_BACKEND_UNAVAILABLE;
    }
    const char *v = gnutls_check_version(NULL);
    if (!gnutls_check_version(GTLS_MIN_RUNTIME)) {
        snprintf(info->version, sizeof info->version, "GnuTLS %s is loaded; polytls needs %s or newer",
                 v ? v : "?", GTLS_MIN_RUNTIME);
        return POLYTLS_ERR_BACKEND_UNAVAILABLE;
    }
    int rc = gnutls_global_init();
    if (rc < 0) {
        snprintf(info->version, sizeof info->version, "gnutls_global_init: %s", gnutls_strerror(rc));
        return POLYTLS_ERR_BACKEND_UNAVAILABLE;
    }
    svc = s;
    have_coro = s->size >= sizeof(polytls_core_services) && s->coro_new && s->coro_resume && s->coro_yield &&
                s->coro_free;
    snprintf(info->version, sizeof info->version, "%s", v);
    info->capabilities = POLYTLS_CAP_ASYNC_SERVER_CERT /* the core's ClientHello pre-parse */
                         | POLYTLS_CAP_ALERT_ANYTIME   /* gnutls_alert_send works at any time */
                         | POLYTLS_CAP_ALERT_IN_VERIFY /* sent from inside verify_fn */
                         | POLYTLS_CAP_CUSTOM_DH       /* no FFDHE group is ever enabled */
                         | POLYTLS_CAP_TLS13_CA_NAMES  /* certificate_authorities both ways */
                         | POLYTLS_CAP_EXPORTER;       /* gnutls_prf_rfc5705 */
    if (s->size >= offsetof(polytls_core_services, keylog) + sizeof s->keylog && s->keylog)
        info->capabilities |= POLYTLS_CAP_KEYLOG; /* gnutls_session_set_keylog_function */
    if (have_coro)
        info->capabilities |= POLYTLS_CAP_ASYNC_CLIENT_CERT;
    resumption_capability(info);
    return POLYTLS_OK;
}

static void gtls_ctx_fini(void *p)
{
    gtls_ctx *x = p;
    if (!x)
        return;
    for (unsigned i = 0; i < x->cache_used; i++) {
        free(x->cache[i].bytes);
        chain_free(&x->cache[i].chain);
    }
    pthread_mutex_destroy(&x->cache_lock);
    if (x->paths)
        svc->path_cache_free(x->paths);
    if (x->cred)
        gnutls_certificate_free_credentials(x->cred);
    if (x->dh)
        gnutls_dh_params_deinit(x->dh);
    if (x->prio)
        gnutls_priority_deinit(x->prio);
    free(x->alpn);
    free(x->alpn_wire);
    free(x);
}

/* The user's suites (IANA numbers, validated by the core) as GnuTLS
   priority items. GnuTLS enables ciphers and key exchanges independently
   (every TLS 1.2 suite of an enabled key exchange and cipher, every TLS 1.3
   suite of an enabled cipher), so a list that is not such a product cannot
   be expressed: UNSUPPORTED rather than a different list. */
static const struct {
    uint16_t id;
    const char *cipher;
    const char *kx; /* NULL for TLS 1.3 */
} gtls_suite_items[] = {
    {0x1301, "AES-128-GCM", NULL}, {0x1302, "AES-256-GCM", NULL}, {0x1303, "CHACHA20-POLY1305", NULL},
    {0xC02B, "AES-128-GCM", "ECDHE-ECDSA"}, {0xC02C, "AES-256-GCM", "ECDHE-ECDSA"},
    {0xCCA9, "CHACHA20-POLY1305", "ECDHE-ECDSA"},
    {0xC02F, "AES-128-GCM", "ECDHE-RSA"}, {0xC030, "AES-256-GCM", "ECDHE-RSA"},
    {0xCCA8, "CHACHA20-POLY1305", "ECDHE-RSA"},
    {0x009E, "AES-128-GCM", "DHE-RSA"}, {0x009F, "AES-256-GCM", "DHE-RSA"},
    {0xCCAA, "CHACHA20-POLY1305", "DHE-RSA"},
};
#define GTLS_N_SUITE_ITEMS (sizeof gtls_suite_items / sizeof gtls_suite_items[0])

/* Adds ":+item" to list unless already there. */
static void gtls_item_add(char *list, size_t cap, const char *item)
{
    char tok[48];
    snprintf(tok, sizeof tok, ":+%s", item);
    const char *at = strstr(list, tok);
    size_t n = strlen(tok);
    while (at && at[n] != '\0' && at[n] != ':')
        at = strstr(at + 1, tok);
    if (!at && strlen(list) + n < cap)
        strcat(list, tok);
}

static bool gtls_listed(const polytls_drv_config *cfg, uint16_t id)
{
    for (size_t i = 0; i < cfg->n_suites; i++)
        if (cfg->suites[i] == id)
            return true;
    return false;
}

/* Fills ciphers and kx (":+A:+B" each) from the user's list, or the
   defaults; UNSUPPORTED when GnuTLS would enable a different set. */
static polytls_status gtls_suite_policy(const polytls_drv_config *cfg, bool dhe, char *ciphers,
                                        char *kx, size_t cap, char *err, size_t errlen)
{
    bool has_lists = cfg->size >= offsetof(polytls_drv_config, n_groups) + sizeof cfg->n_groups;
    if (!has_lists || cfg->n_suites == 0) {
        snprintf(ciphers, cap, ":+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305");
        snprintf(kx, cap, ":+ECDHE-ECDSA:+ECDHE-RSA%s", dhe ? ":+DHE-RSA" : "");
        return POLYTLS_OK;
    }
    bool v13 = cfg->max_version >= 0x0304, v12 = cfg->min_version <= 0x0303;
    *ciphers = *kx = '\0';
    for (size_t i = 0; i < cfg->n_suites; i++)
        for (size_t j = 0; j < GTLS_N_SUITE_ITEMS; j++)
            if (gtls_suite_items[j].id == cfg->suites[i]) {
                gtls_item_add(ciphers, cap, gtls_suite_items[j].cipher);
                if (gtls_suite_items[j].kx && v12)
                    gtls_item_add(kx, cap, gtls_suite_items[j].kx);
            }
    /* What GnuTLS will enable must be exactly what was asked for. */
    for (size_t j = 0; j < GTLS_N_SUITE_ITEMS; j++) {
        char c[48], k[48];
        snprintf(c, sizeof c, ":+%s:", gtls_suite_items[j].cipher);
        snprintf(k, sizeof k, ":+%s:", gtls_suite_items[j].kx ? gtls_suite_items[j].kx : "");
        char cl[256], kl[256];
        snprintf(cl, sizeof cl, "%s:", ciphers);
        snprintf(kl, sizeof kl, "%s:", kx);
        bool in_version = gtls_suite_items[j].kx ? v12 : v13;
        bool enabled = in_version && strstr(cl, c) && (!gtls_suite_items[j].kx || strstr(kl, k));
        bool asked = in_version && gtls_listed(cfg, gtls_suite_items[j].id);
        if (enabled != asked) {
            snprintf(err, errlen,
                     "GnuTLS cannot enable exactly this cipher suite list (it enables ciphers and key "
                     "exchanges independently: 0x%04x would be %s)",
                     gtls_suite_items[j].id, enabled ? "enabled too" : "missing");
            return POLYTLS_ERR_UNSUPPORTED;
        }
    }
    return POLYTLS_OK;
}

static void gtls_group_policy(const polytls_drv_config *cfg, char *groups, size_t cap)
{
    bool has_lists = cfg->size >= offsetof(polytls_drv_config, n_groups) + sizeof cfg->n_groups;
    if (!has_lists || cfg->n_groups == 0) {
        snprintf(groups, cap, ":+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1");
        return;
    }
    *groups = '\0';
    for (size_t i = 0; i < cfg->n_groups; i++) {
        uint16_t g = cfg->groups[i];
        gtls_item_add(groups, cap, g == 29 ? "GROUP-X25519" : g == 23 ? "GROUP-SECP256R1"
                                   : g == 24 ? "GROUP-SECP384R1" : "GROUP-SECP521R1");
    }
}

/* The whole policy in one string (ARCHITECTURE decision 6). */
static void build_priority(const polytls_drv_config *cfg, const char *ciphers, const char *kx,
                           const char *groups, char *out, size_t cap)
{
    snprintf(out, cap,
             "NONE%s%s"
             "%s:+AEAD"
             "%s"
             "%s"
             /* Signature schemes: no SHA-1, like OpenSSL 3.0's defaults. */
             ":+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SECP384R1-SHA384:+SIGN-ECDSA-SECP521R1-SHA512"
             ":+SIGN-EDDSA-ED25519:+SIGN-EDDSA-ED448"
             ":+SIGN-RSA-PSS-RSAE-SHA256:+SIGN-RSA-PSS-RSAE-SHA384:+SIGN-RSA-PSS-RSAE-SHA512"
             ":+SIGN-RSA-PSS-SHA256:+SIGN-RSA-PSS-SHA384:+SIGN-RSA-PSS-SHA512"
             ":+SIGN-ECDSA-SHA256:+SIGN-ECDSA-SHA384:+SIGN-ECDSA-SHA512"
             ":+SIGN-RSA-SHA256:+SIGN-RSA-SHA384:+SIGN-RSA-SHA512"
             ":+COMP-NULL:+CTYPE-X509:%s",
             cfg->max_version >= 0x0304 ? ":+VERS-TLS1.3" : "", cfg->min_version <= 0x0303 ? ":+VERS-TLS1.2" : "",
             ciphers, kx, groups,
             /* Renegotiation indication as OpenSSL 3.0 does it: a client
                refuses servers without it (no SSL_OP_LEGACY_SERVER_CONNECT);
                a server accepts clients without it (wolfSSL 5.5.4 sends
                none), which is safe because we never renegotiate. */
             cfg->is_server ? "%PARTIAL_RENEGOTIATION" : "%SAFE_RENEGOTIATION");
}

/* GnuTLS 3.7 keeps ALPN in fixed arrays (lib/ext/alpn.h: MAX_ALPN_PROTOCOLS
   8, MAX_ALPN_PROTOCOL_NAME 32, and gnutls_alpn_set_protocols refuses a
   name of 32 bytes or more). */
#define GTLS_ALPN_MAX_NAMES 8
#define GTLS_ALPN_MAX_NAME 31

/* Splits the core's length-prefixed list into the datums GnuTLS takes;
   UNSUPPORTED for a list beyond GnuTLS's limits rather than a different
   list. */
static polytls_status alpn_import(gtls_ctx *x, const polytls_drv_blob *list, char *err, size_t errlen)
{
    unsigned n = 0;
    for (size_t i = 0; i < list->len; i += 1u + list->data[i]) {
        if (list->data[i] > GTLS_ALPN_MAX_NAME) {
            snprintf(err, errlen, "GnuTLS takes ALPN names of at most %d bytes (protocol %u has %u)",
                     GTLS_ALPN_MAX_NAME, n, (unsigned)list->data[i]);
            return POLYTLS_ERR_UNSUPPORTED;
        }
        n++;
    }
    if (n > GTLS_ALPN_MAX_NAMES) {
        snprintf(err, errlen, "GnuTLS takes at most %d ALPN protocols (got %u)", GTLS_ALPN_MAX_NAMES, n);
        return POLYTLS_ERR_UNSUPPORTED;
    }
    x->alpn_wire = malloc(list->len);
    x->alpn = calloc(n, sizeof *x->alpn);
    if (!x->alpn_wire || !x->alpn) {
        snprintf(err, errlen, "out of memory");
        return POLYTLS_ERR_NO_MEMORY;
    }
    memcpy(x->alpn_wire, list->data, list->len);
    for (size_t i = 0; i < list->len; i += 1u + x->alpn_wire[i]) {
        x->alpn[x->n_alpn].data = x->alpn_wire + i + 1;
        x->alpn[x->n_alpn].size = x->alpn_wire[i];
        x->n_alpn++;
    }
    return POLYTLS_OK;
}

/* ------------------------------------------------------------------------ */
/* Session resumption: configuration                                          */
/* ------------------------------------------------------------------------ */

/* What the core asked for (the fields exist only in newer cores). */
static void resumption_config(gtls_ctx *x, const polytls_drv_config *cfg)
{
    if (cfg->size < offsetof(polytls_drv_config, ticket_lifetime) + sizeof cfg->ticket_lifetime)
        return;
    x->resumption = cfg->resumption;
    /* Never 0: GnuTLS divides by it to pick its ticket key time window
       (lib/stek.c); 7200 is the API's default. */
    x->ticket_lifetime = cfg->ticket_lifetime ? cfg->ticket_lifetime : 7200;
}

/* A client offering TLS 1.3 tickets sends psk_key_exchange_modes
   {psk_dhe_ke, psk_ke} unless a PSK key exchange is in its priorities
   (lib/ext/psk_ke_modes.c); ECDHE-PSK there makes it {psk_dhe_ke} only.
   Its TLS 1.2 ECDHE-PSK suites are never offered: GnuTLS drops suites
   whose credentials (PSK) the session does not have. psk_ke has no
   forward secrecy and is never offered. */
static void resumption_client_kx(const gtls_ctx *x, char *kx, size_t cap)
{
    if (x->resumption && !x->is_server && x->max_version >= 0x0304)
        gtls_item_add(kx, cap, "ECDHE-PSK");
}

static polytls_status gtls_ctx_init(const polytls_drv_config *cfg, void **out, char *err, size_t errlen)
{
    /* The core validated cfg (core/driver.h): nothing to re-check here. */
    gtls_ctx *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return POLYTLS_ERR_NO_MEMORY;
    }
    pthread_mutex_init(&x->cache_lock, NULL);
    /* Best effort: without the cache every path is built. */
    x->paths = have_path_cache() ? svc->path_cache_new() : NULL;
    x->is_server = cfg->is_server;
    x->client_auth = cfg->client_auth;
    x->send_ca_names = cfg->send_ca_names;
    x->min_version = cfg->min_version;
    x->max_version = cfg->max_version;
    x->keylog = cfg->size >= offsetof(polytls_drv_config, keylog_user) + sizeof cfg->keylog_user &&
                cfg->keylog != NULL;
    resumption_config(x, cfg);

    polytls_status st = POLYTLS_ERR_INTERNAL;
    int rc = gnutls_certificate_allocate_credentials(&x->cred);
    if (rc < 0) {
        copy_error(err, errlen, "credentials", rc);
        st = POLYTLS_ERR_NO_MEMORY;
        goto fail;
    }
    for (size_t i = 0; i < cfg->n_trust; i++) {
        gnutls_datum_t d = {(unsigned char *)cfg->trust[i].data, (unsigned)cfg->trust[i].len};
        rc = gnutls_certificate_set_x509_trust_mem(x->cred, &d, GNUTLS_X509_FMT_DER);
        if (rc < 0) {
            copy_error(err, errlen, "trust anchor", rc);
            st = rc == GNUTLS_E_MEMORY_ERROR ? POLYTLS_ERR_NO_MEMORY : POLYTLS_ERR_BAD_ENCODING;
            goto fail;
        }
    }
    gnutls_certificate_set_retrieve_function3(x->cred, retrieve_fn);
    /* Verification time: GnuTLS has no per-session time (only a process-wide
       clock function), so its validity-period checks go off and the core
       judges every certificate of the chain at cfg->verify_time in
       svc->verify. Signatures, issuers and purposes are still checked. */
    if (cfg->size >= offsetof(polytls_drv_config, verify_time) + sizeof cfg->verify_time &&
        cfg->has_verify_time)
        gnutls_certificate_set_verify_flags(x->cred, GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
                                                         GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS);

    bool dhe = !cfg->is_server; /* clients offer DHE; servers only with parameters */
    if (cfg->is_server && cfg->dh_params.data && cfg->dh_params.len) {
        gnutls_datum_t d = {(unsigned char *)cfg->dh_params.data, (unsigned)cfg->dh_params.len};
        rc = gnutls_dh_params_init(&x->dh);
        if (rc >= 0)
            rc = gnutls_dh_params_import_pkcs3(x->dh, &d, GNUTLS_X509_FMT_DER);
        if (rc < 0) {
            copy_error(err, errlen, "DH parameters", rc);
            st = rc == GNUTLS_E_MEMORY_ERROR ? POLYTLS_ERR_NO_MEMORY : POLYTLS_ERR_BAD_ENCODING;
            goto fail;
        }
        gnutls_certificate_set_dh_params(x->cred, x->dh);
        dhe = true;
    }

    if (cfg->alpn.data && cfg->alpn.len) {
        st = alpn_import(x, &cfg->alpn, err, errlen);
        if (st != POLYTLS_OK)
            goto fail;
    }

    char prio[1024];
    const char *where = NULL;
    char ciphers[128], kx[128], groups[128];
    st = gtls_suite_policy(cfg, dhe, ciphers, kx, sizeof ciphers, err, errlen);
    if (st != POLYTLS_OK)
        goto fail;
    gtls_group_policy(cfg, groups, sizeof groups);
    resumption_client_kx(x, kx, sizeof kx);
    build_priority(cfg, ciphers, kx, groups, prio, sizeof prio);
    rc = gnutls_priority_init2(&x->prio, prio, &where, 0);
    if (rc < 0) {
        if (err && errlen)
            snprintf(err, errlen, "GnuTLS: priority string rejected at \"%.40s\": %s", where ? where : "?",
                     gnutls_strerror(rc));
        st = POLYTLS_ERR_INTERNAL;
        goto fail;
    }
    *out = x;
    return POLYTLS_OK;
fail:
    gtls_ctx_fini(x);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Connections                                                                */
/* ------------------------------------------------------------------------ */

static void gtls_conn_fini(void *p)
{
    gtls_conn *c = p;
    if (!c)
        return;
    if (c->co) {
        /* Suspended in retrieve_fn: let it fail so GnuTLS unwinds and frees
           what it holds on the coroutine's stack, then drop the
           coroutine. */
        c->cancelled = true;
        (void)svc->coro_resume(c->co); /* returns once gnutls_handshake has */
        svc->coro_free(c->co);
        c->co = NULL;
    }
    c->cancelled = true;
    if (c->s)
        gnutls_deinit(c->s);
    chain_free(&c->own);
    free(c->names);
    free(c->hello);
    free(c->verify_name);
    free(c);
}

/* GnuTLS gives each secret with its NSS label; the client random is read
   from the session (known by the time any secret exists). */
static int keylog_fn(gnutls_session_t s, const char *label, const gnutls_datum_t *secret)
{
    gtls_conn *c = gnutls_session_get_ptr(s);
    gnutls_datum_t client_random = {NULL, 0}, server_random = {NULL, 0};
    gnutls_session_get_random(s, &client_random, &server_random);
    if (c && !c->cancelled && client_random.size == 32 && secret && secret->data)
        svc->keylog(c->core, label, client_random.data, secret->data, secret->size);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Session resumption: connections                                            */
/* ------------------------------------------------------------------------ */

/* The core can hand out ticket keys (services new enough). */
static bool have_ticket_key(void)
{
    return svc->size >= offsetof(polytls_core_services, ticket_key) + sizeof svc->ticket_key &&
           svc->ticket_key != NULL;
}

/* gnutls_init flags for tickets: none at all with resumption off; a
   TLS 1.3 server sends its one ticket itself (resumption_send_ticket),
   not the two GnuTLS sends by default. No GNUTLS_ENABLE_EARLY_DATA: no
   0-RTT ever. */
static unsigned resumption_init_flags(const gtls_ctx *x)
{
    if (!x->resumption)
        return GNUTLS_NO_TICKETS;
    return x->is_server ? GNUTLS_NO_AUTO_SEND_TICKET : 0;
}

/* GnuTLS's session ticket encryption key: 64 bytes (TICKET_MASTER_KEY_SIZE
   in lib/stek.c, the size gnutls_session_ticket_key_generate makes and
   gnutls_session_ticket_enable_server insists on). GnuTLS derives the key
   it really uses, and its key name, from these bytes and the time window
   (3 lifetimes long), so the core's key name never reaches the ticket: a
   new key from the core is what makes old tickets fail. */
#define GTLS_TICKET_KEY_SIZE 64

/* session_export appends SHA-256 of GnuTLS's session data, checked before
   gnutls_session_set_data: GnuTLS reads many altered bytes without
   complaint (a changed field may even still resume), so bytes damaged in
   the user's storage are refused as BAD_ENCODING instead. */
#define GTLS_SESSION_DIGEST_LEN 32

static bool same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (uint8_t)(a[i] ^ b[i]);
    return d == 0;
}

/* Stored session bytes, checked once per polytls_session (session_parse):
   the digest costs as much as a tenth of a resumed handshake. */
typedef struct gtls_parsed_session {
    size_t len;
    uint8_t data[]; /* GnuTLS's session data, digest checked and removed */
} gtls_parsed_session;

/* Returns NULL with why, or the bytes GnuTLS is given. */
static const char *check_session_bytes(const uint8_t *in, size_t len, size_t *data_len, polytls_status *st)
{
    *st = POLYTLS_ERR_BAD_ENCODING;
    if (len <= GTLS_SESSION_DIGEST_LEN || len > UINT32_MAX)
        return "the bytes are too short or too long for a GnuTLS session";
    *data_len = len - GTLS_SESSION_DIGEST_LEN;
    uint8_t md[GTLS_SESSION_DIGEST_LEN];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, in, *data_len, md) < 0) {
        *st = POLYTLS_ERR_INTERNAL;
        return "SHA-256 failed";
    }
    if (!same_bytes(md, in + *data_len, sizeof md))
        return "the stored session bytes were altered (digest mismatch)";
    *st = POLYTLS_OK;
    return NULL;
}

static polytls_status gtls_session_parse(const uint8_t *blob, size_t len, void **parsed, char *err, size_t errlen)
{
    size_t data_len = 0;
    polytls_status st;
    const char *why = check_session_bytes(blob, len, &data_len, &st);
    if (why) {
        snprintf(err, errlen, "GnuTLS: %s", why);
        return st;
    }
    gtls_parsed_session *ps = malloc(sizeof *ps + data_len);
    if (!ps) {
        snprintf(err, errlen, "out of memory");
        return POLYTLS_ERR_NO_MEMORY;
    }
    ps->len = data_len;
    memcpy(ps->data, blob, data_len);
    *parsed = ps;
    return POLYTLS_OK;
}

static void gtls_session_parsed_free(void *parsed)
{
    gtls_parsed_session *ps = parsed;
    if (ps)
        gnutls_memset(ps->data, 0, ps->len);
    free(ps);
}

/* Server: the core's current ticket key, the lifetime, no session cache
   (gnutls_db_* stay unset, so a TLS 1.2 session id alone never resumes).
   Client: the session to offer, if any. */
static polytls_status resumption_conn_setup(gtls_conn *c, const polytls_drv_conn_config *cc)
{
    gtls_ctx *x = c->ctx;
    int rc;

    if (!x->resumption)
        return POLYTLS_OK;
    if (x->is_server) {
        uint8_t name[16], key[GTLS_TICKET_KEY_SIZE];
        if (!have_ticket_key() || !svc->ticket_key(c->core, true, name, key, sizeof key)) {
            CONN_ERROR(c, "GnuTLS: the core gave no session ticket key");
            return POLYTLS_ERR_INTERNAL;
        }
        /* Before enabling tickets: GnuTLS reads the lifetime to place the
           key's time window. */
        gnutls_db_set_cache_expiration(c->s, (int)x->ticket_lifetime);
        gnutls_datum_t k = {key, sizeof key};
        rc = gnutls_session_ticket_enable_server(c->s, &k);
        gnutls_memset(key, 0, sizeof key);
        gnutls_memset(name, 0, sizeof name);
        if (rc < 0) {
            CONN_ERROR(c, "GnuTLS: gnutls_session_ticket_enable_server: %s (%d)", gnutls_strerror(rc), rc);
            return rc == GNUTLS_E_MEMORY_ERROR ? POLYTLS_ERR_NO_MEMORY : POLYTLS_ERR_INTERNAL;
        }
        return POLYTLS_OK;
    }
    if (cc->size < offsetof(polytls_drv_conn_config, session) + sizeof cc->session || !cc->session.data ||
        cc->session.len == 0)
        return POLYTLS_OK;
    const uint8_t *data = cc->session.data;
    size_t data_len = 0;
    if (cc->size >= offsetof(polytls_drv_conn_config, session_parsed) + sizeof cc->session_parsed &&
        cc->session_parsed) {
        const gtls_parsed_session *ps = cc->session_parsed;
        data = ps->data;
        data_len = ps->len;
    } else {
        polytls_status st;
        const char *why = check_session_bytes(cc->session.data, cc->session.len, &data_len, &st);
        if (why) {
            CONN_ERROR(c, "GnuTLS: %s", why);
            return st;
        }
    }
    rc = gnutls_session_set_data(c->s, data, data_len);
    if (rc < 0) {
        CONN_ERROR(c, "GnuTLS: the stored session cannot be read: %s (%d)", gnutls_strerror(rc), rc);
        return rc == GNUTLS_E_MEMORY_ERROR ? POLYTLS_ERR_NO_MEMORY : POLYTLS_ERR_BAD_ENCODING;
    }
    return POLYTLS_OK;
}

/* Server, TLS 1.3, right after a full or resumed handshake: exactly one
   NewSessionTicket. Returns 0 or a GnuTLS error. */
static int resumption_send_ticket(gtls_conn *c)
{
    if (!c->ctx->resumption || !c->is_server || gnutls_protocol_get_version(c->s) != GNUTLS_TLS1_3)
        return 0;
    int r;
    do
        r = gnutls_session_ticket_send(c->s, 1, 0);
    while (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_AGAIN); /* push never blocks */
    return r < 0 ? r : 0;
}

/* Client: the newest resumable session, serialised by GnuTLS. In TLS 1.3
   only once a NewSessionTicket was read: gnutls_session_get_data2 would
   otherwise try to read one itself (through our pull function, outside
   advance()) and then hand out a placeholder. */
static polytls_status gtls_session_export(void *p, uint8_t **blob, size_t *len)
{
    gtls_conn *c = p;
    if (c->is_server || !c->ctx->resumption) {
        svc->set_error(c->core, "GnuTLS: only a client with resumption on has a session to export");
        return POLYTLS_ERR_WRONG_STATE;
    }
    if (!c->hs_done) {
        svc->set_error(c->core, "GnuTLS: the handshake is not complete yet");
        return POLYTLS_ERR_WRONG_STATE;
    }
    bool ticket = (gnutls_session_get_flags(c->s) & GNUTLS_SFLAGS_SESSION_TICKET) != 0;
    if (gnutls_protocol_get_version(c->s) == GNUTLS_TLS1_3) {
        if (!ticket) {
            svc->set_error(c->core, "GnuTLS: no TLS 1.3 session ticket (NewSessionTicket) has been read yet");
            return POLYTLS_ERR_WRONG_STATE;
        }
    } else {
        gnutls_datum_t id = {NULL, 0};
        if (!ticket && (gnutls_session_get_id2(c->s, &id) < 0 || id.size == 0)) {
            svc->set_error(c->core, "GnuTLS: the server gave neither a session ticket nor a session id");
            return POLYTLS_ERR_WRONG_STATE;
        }
    }
    gnutls_datum_t d = {NULL, 0};
    int rc = gnutls_session_get_data2(c->s, &d);
    if (rc < 0 || !d.data || d.size == 0) {
        gnutls_free(d.data);
        if (rc == GNUTLS_E_MEMORY_ERROR) {
            svc->set_error(c->core, "out of memory");
            return POLYTLS_ERR_NO_MEMORY;
        }
        if (rc == GNUTLS_E_INVALID_SESSION) {
            svc->set_error(c->core, "GnuTLS: this session cannot be resumed");
            return POLYTLS_ERR_WRONG_STATE;
        }
        svc->set_error(c->core, "GnuTLS: gnutls_session_get_data2: %s (%d)", gnutls_strerror(rc), rc);
        return POLYTLS_ERR_INTERNAL;
    }
    size_t n = (size_t)d.size + GTLS_SESSION_DIGEST_LEN;
    uint8_t *out = malloc(n);
    if (!out) {
        gnutls_memset(d.data, 0, d.size);
        gnutls_free(d.data);
        svc->set_error(c->core, "out of memory");
        return POLYTLS_ERR_NO_MEMORY;
    }
    memcpy(out, d.data, d.size);
    rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, d.data, d.size, out + d.size);
    gnutls_memset(d.data, 0, d.size); /* it holds the resumption secret */
    gnutls_free(d.data);
    if (rc < 0) {
        gnutls_memset(out, 0, n);
        free(out);
        svc->set_error(c->core, "GnuTLS: SHA-256: %s (%d)", gnutls_strerror(rc), rc);
        return POLYTLS_ERR_INTERNAL;
    }
    *len = n;
    *blob = out;
    return POLYTLS_OK;
}

static polytls_status gtls_conn_init(void *ctxp, polytls_core_conn *core, const polytls_drv_conn_config *cc,
                                     void **out)
{
    gtls_ctx *x = ctxp;
    if (!x || !core || !cc || !out || cc->size < sizeof(polytls_drv_conn_config)) {
        if (core)
            svc->set_error(core, "GnuTLS: invalid connection configuration");
        return POLYTLS_ERR_INVALID_ARGUMENT;
    }
    gtls_conn *c = calloc(1, sizeof *c);
    if (!c) {
        svc->set_error(core, "out of memory");
        return POLYTLS_ERR_NO_MEMORY;
    }
    c->ctx = x;
    c->core = core;
    c->is_server = x->is_server;

    polytls_status st = POLYTLS_ERR_INTERNAL;
    int rc = gnutls_init(&c->s, (x->is_server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK |
                                    resumption_init_flags(x) | GNUTLS_NO_SIGNAL);
    if (rc < 0) {
        c->s = NULL;
        svc->set_error(core, "GnuTLS: gnutls_init: %s", gnutls_strerror(rc));
        st = POLYTLS_ERR_NO_MEMORY;
        goto fail;
    }
    gnutls_session_set_ptr(c->s, c);
    if (x->keylog)
        gnutls_session_set_keylog_function(c->s, keylog_fn);
    gnutls_transport_set_ptr(c->s, c);
    gnutls_transport_set_push_function(c->s, push_fn);
    gnutls_transport_set_pull_function(c->s, pull_fn);
    gnutls_transport_set_pull_timeout_function(c->s, pull_timeout_fn);
    /* A sans-IO handshake may wait on the user for any time. */
    gnutls_handshake_set_timeout(c->s, GNUTLS_INDEFINITE_TIMEOUT);

    rc = gnutls_priority_set(c->s, x->prio);
    if (rc >= 0)
        rc = gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, x->cred);
    /* The server's order wins, as on every backend. GNUTLS_ALPN_MANDATORY
       makes the server fail a client whose offer has no name in common
       (GNUTLS_E_NO_APPLICATION_PROTOCOL, which fail() sends as alert 120);
       without it GnuTLS carries on with no ALPN. It is checked only when
       the client sent the extension, so a client offering nothing still
       negotiates nothing. */
    if (rc >= 0 && x->n_alpn)
        rc = gnutls_alpn_set_protocols(c->s, x->alpn, x->n_alpn,
                                       x->is_server ? GNUTLS_ALPN_SERVER_PRECEDENCE | GNUTLS_ALPN_MANDATORY
                                                    : 0);
    if (rc < 0) {
        svc->set_error(core, "GnuTLS: session setup: %s", gnutls_strerror(rc));
        st = rc == GNUTLS_E_MEMORY_ERROR ? POLYTLS_ERR_NO_MEMORY : POLYTLS_ERR_INTERNAL;
        goto fail;
    }

    if (x->is_server) {
        st = chain_import_cached(x, c, cc->chain);
        if (st != POLYTLS_OK)
            goto fail;
        c->cert_answered = true;
        if (x->client_auth != POLYTLS_CLIENT_AUTH_NONE) {
            gnutls_certificate_server_set_request(
                c->s, x->client_auth == POLYTLS_CLIENT_AUTH_REQUIRED ? GNUTLS_CERT_REQUIRE : GNUTLS_CERT_REQUEST);
            if (!x->send_ca_names)
                gnutls_certificate_send_x509_rdn_sequence(c->s, 1);
            gnutls_session_set_verify_function(c->s, verify_fn);
        }
    } else {
        if (!cc->verify_name) {
            svc->set_error(core, "GnuTLS: a client needs a name to verify");
            st = POLYTLS_ERR_INVALID_ARGUMENT;
            goto fail;
        }
        c->verify_name = strdup(cc->verify_name);
        if (!c->verify_name) {
            svc->set_error(core, "out of memory");
            st = POLYTLS_ERR_NO_MEMORY;
            goto fail;
        }
        c->verify_is_ip = cc->verify_is_ip;
        if (c->verify_is_ip) {
            if (inet_pton(AF_INET, c->verify_name, c->ip) == 1)
                c->ip_len = 4;
            else if (inet_pton(AF_INET6, c->verify_name, c->ip) == 1)
                c->ip_len = 16;
            else {
                svc->set_error(core, "GnuTLS: \"%s\" is not an IP address", c->verify_name);
                st = POLYTLS_ERR_INVALID_ARGUMENT;
                goto fail;
            }
        }
        if (cc->sni) {
            rc = gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, cc->sni, strlen(cc->sni));
            if (rc < 0) {
                svc->set_error(core, "GnuTLS: server name: %s", gnutls_strerror(rc));
                goto fail;
            }
        }
        if (cc->chain) {
            st = chain_import(c, cc->chain, &c->own);
            if (st != POLYTLS_OK)
                goto fail;
            c->cert_answered = true;
        }
        gnutls_session_set_verify_function(c->s, verify_fn);
    }
    st = resumption_conn_setup(c, cc);
    if (st != POLYTLS_OK)
        goto fail;
    *out = c;
    return POLYTLS_OK;
fail:
    gtls_conn_fini(c);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Driving                                                                    */
/* ------------------------------------------------------------------------ */

static void handshake_entry(void *arg)
{
    gtls_conn *c = arg;
    c->co_ret = gnutls_handshake(c->s);
}

/* One gnutls_handshake() call. A client runs it on a coroutine so that
   retrieve_fn can wait for the user; *paused says it did. */
static int handshake_step(gtls_conn *c, bool *paused)
{
    *paused = false;
    c->starved = false;
    if (c->is_server || !have_coro)
        return gnutls_handshake(c->s);
    if (!c->co) {
        if (svc->coro_new(&c->co, handshake_entry, c) != POLYTLS_OK) {
            c->co = NULL;
            CONN_ERROR(c, "out of memory (coroutine)");
            return GNUTLS_E_MEMORY_ERROR;
        }
    }
    if (!svc->coro_resume(c->co)) {
        *paused = true;
        return 0;
    }
    svc->coro_free(c->co);
    c->co = NULL;
    return c->co_ret;
}

/* TLS 1.2 renegotiation is refused: answer with the warning the RFC
   provides and carry on with the current session. */
static bool refuse_renegotiation(gtls_conn *c)
{
    if (gnutls_protocol_get_version(c->s) != GNUTLS_TLS1_2)
        return false;
    (void)gnutls_alert_send(c->s, GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
    return true;
}

/* Bounds the "GNUTLS_E_AGAIN without a starved pull" retries, in case a
   library version ever returns it without progress. */
#define GTLS_MAX_SPINS 4096

/* Whether the core still buffers input for the library (always "yes" with
   a core that predates io_pending: read until the library says so). */
static bool input_left(polytls_core_conn *core)
{
    if (svc->size < offsetof(polytls_core_services, io_pending) + sizeof svc->io_pending || !svc->io_pending)
        return true;
    return svc->io_pending(core) != 0;
}

static polytls_drv_rc read_records(gtls_conn *c)
{
    unsigned spins = 0;
    for (;;) {
        uint8_t *buf = svc->app_reserve(c->core, 16384);
        if (!buf) {
            CONN_ERROR(c, "out of memory");
            return POLYTLS_DRV_FAILED;
        }
        c->starved = false;
        ssize_t r = gnutls_record_recv(c->s, buf, 16384);
        if (r > 0) {
            svc->app_commit(c->core, (size_t)r);
            /* GnuTLS pulls a record's header, then exactly its body: with
               nothing left in the core and no plaintext pending, the next
               gnutls_record_recv could only answer GNUTLS_E_AGAIN. */
            if (!input_left(c->core) && gnutls_record_check_pending(c->s) == 0)
                return POLYTLS_DRV_AGAIN;
            continue;
        }
        svc->app_commit(c->core, 0);
        if (r == 0)
            return POLYTLS_DRV_CLOSED;
        switch ((int)r) {
        case GNUTLS_E_AGAIN:
            if (!c->starved && ++spins < GTLS_MAX_SPINS)
                continue; /* a post-handshake message was handled */
            return POLYTLS_DRV_AGAIN;
        case GNUTLS_E_INTERRUPTED:
            continue;
        case GNUTLS_E_WARNING_ALERT_RECEIVED:
            svc->peer_alert(c->core, (polytls_alert)gnutls_alert_get(c->s), POLYTLS_ALERT_LEVEL_WARNING);
            continue;
        case GNUTLS_E_FATAL_ALERT_RECEIVED:
            svc->peer_alert(c->core, (polytls_alert)gnutls_alert_get(c->s), POLYTLS_ALERT_LEVEL_FATAL);
            return POLYTLS_DRV_PEER_ALERT;
        case GNUTLS_E_REHANDSHAKE:
            if (refuse_renegotiation(c))
                continue;
            return fail(c, (int)r, "record");
        default:
            if (!gnutls_error_is_fatal((int)r))
                continue;
            return fail(c, (int)r, "record");
        }
    }
}

static polytls_drv_rc gtls_advance(void *p, bool *handshake_done)
{
    gtls_conn *c = p;
    polytls_drv_rc rc = POLYTLS_DRV_AGAIN;
    unsigned spins = 0;

    while (!c->hs_done) {
        bool paused;
        int r = handshake_step(c, &paused);
        if (paused) {
            rc = POLYTLS_DRV_PAUSED;
            goto out;
        }
        if (r == 0) {
            c->hs_done = true;
            if (c->is_server && gnutls_protocol_get_version(c->s) == GNUTLS_TLS1_3)
                keep_legacy_session_id(c);
            free(c->hello);
            c->hello = NULL;
            c->hello_len = 0;
            r = resumption_send_ticket(c);
            if (r < 0) {
                rc = fail(c, r, "session ticket");
                goto out;
            }
            break;
        }
        switch (r) {
        case GNUTLS_E_AGAIN:
            if (!c->starved && ++spins < GTLS_MAX_SPINS)
                continue; /* progress without waiting for input */
            rc = POLYTLS_DRV_AGAIN;
            goto out;
        case GNUTLS_E_INTERRUPTED:
            continue;
        case GNUTLS_E_WARNING_ALERT_RECEIVED:
            svc->peer_alert(c->core, (polytls_alert)gnutls_alert_get(c->s), POLYTLS_ALERT_LEVEL_WARNING);
            continue;
        case GNUTLS_E_FATAL_ALERT_RECEIVED:
            svc->peer_alert(c->core, (polytls_alert)gnutls_alert_get(c->s), POLYTLS_ALERT_LEVEL_FATAL);
            rc = POLYTLS_DRV_PEER_ALERT;
            goto out;
        default:
            if (!gnutls_error_is_fatal(r))
                continue;
            rc = fail(c, r, "handshake");
            goto out;
        }
    }
    rc = read_records(c);
out:
    if (handshake_done)
        *handshake_done = c->hs_done;
    return rc;
}

static polytls_status gtls_write_app(void *p, const uint8_t *data, size_t len)
{
    gtls_conn *c = p;
    size_t off = 0;
    while (off < len) {
        ssize_t r = gnutls_record_send(c->s, data + off, len - off);
        if (r > 0) {
            off += (size_t)r;
            continue;
        }
        if (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_AGAIN)
            continue; /* push never blocks: AGAIN cannot repeat */
        svc->set_error(c->core, "GnuTLS record send: %s (%d)", gnutls_strerror((int)r), (int)r);
        return r == GNUTLS_E_MEMORY_ERROR || r == GNUTLS_E_PUSH_ERROR ? POLYTLS_ERR_NO_MEMORY : POLYTLS_ERR_INTERNAL;
    }
    return POLYTLS_OK;
}

static polytls_status gtls_close_notify(void *p)
{
    gtls_conn *c = p;
    int r;
    do
        r = gnutls_bye(c->s, GNUTLS_SHUT_WR);
    while (r == GNUTLS_E_INTERRUPTED);
    if (r < 0) {
        svc->set_error(c->core, "GnuTLS close_notify: %s (%d)", gnutls_strerror(r), r);
        return r == GNUTLS_E_PUSH_ERROR ? POLYTLS_ERR_NO_MEMORY : POLYTLS_ERR_INTERNAL;
    }
    return POLYTLS_OK;
}

/* The suites we enable, by IANA name and number: GnuTLS gives the name
   (gnutls_ciphersuite_get) but no direct way to the number of the
   negotiated suite. */
static const struct {
    const char *name;
    uint16_t id;
} suites[] = {
    {"TLS_AES_128_GCM_SHA256", 0x1301},
    {"TLS_AES_256_GCM_SHA384", 0x1302},
    {"TLS_CHACHA20_POLY1305_SHA256", 0x1303},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xC02B},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xC02C},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xC02F},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xC030},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA8},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA9},
    {"TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 0x009E},
    {"TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", 0x009F},
    {"TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCAA},
};

static polytls_status gtls_get_facts(void *p, polytls_drv_facts *f)
{
    gtls_conn *c = p;
    polytls_drv_facts out;
    memset(&out, 0, sizeof out);

    switch (gnutls_protocol_get_version(c->s)) {
    case GNUTLS_TLS1_3:
        out.version = 0x0304;
        break;
    case GNUTLS_TLS1_2:
        out.version = 0x0303;
        break;
    default:
        svc->set_error(c->core, "GnuTLS: no TLS 1.2/1.3 session");
        return POLYTLS_ERR_INTERNAL;
    }
    const char *name = gnutls_ciphersuite_get(c->s);
    if (!name) {
        svc->set_error(c->core, "GnuTLS: no negotiated cipher suite");
        return POLYTLS_ERR_INTERNAL;
    }
    /* What snprintf("%s") would store (out is zeroed), without its cost:
       get_facts runs several times per handshake. */
    size_t name_len = strlen(name);
    if (name_len >= sizeof out.cipher_name)
        name_len = sizeof out.cipher_name - 1;
    memcpy(out.cipher_name, name, name_len);
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (strcmp(suites[i].name, name) == 0) {
            out.cipher_id = suites[i].id; /* the names are unique */
            break;
        }
    if (!out.cipher_id) {
        svc->set_error(c->core, "GnuTLS: unexpected cipher suite %s", name);
        return POLYTLS_ERR_INTERNAL;
    }

    gnutls_datum_t id = {NULL, 0};
    if (c->is_server && out.version == 0x0304) {
        out.session_id_len = c->sid13_len;
        memcpy(out.session_id, c->sid13, c->sid13_len);
    } else if (gnutls_session_get_id2(c->s, &id) >= 0 && id.data) {
        out.session_id_len = id.size < sizeof out.session_id ? id.size : sizeof out.session_id;
        memcpy(out.session_id, id.data, out.session_id_len);
    }
    out.resumed = gnutls_session_is_resumed(c->s) != 0;
    switch (gnutls_group_get(c->s)) { /* GNUTLS_GROUP_INVALID (0) for DHE with our own parameters */
    case GNUTLS_GROUP_X25519: out.group = 29; break;
    case GNUTLS_GROUP_SECP256R1: out.group = 23; break;
    case GNUTLS_GROUP_SECP384R1: out.group = 24; break;
    case GNUTLS_GROUP_SECP521R1: out.group = 25; break;
    default: out.group = 0; break;
    }
    gnutls_datum_t alpn = {NULL, 0};
    if (gnutls_alpn_get_selected_protocol(c->s, &alpn) >= 0 && alpn.data) {
        out.alpn_len = alpn.size < sizeof out.alpn ? alpn.size : sizeof out.alpn;
        memcpy(out.alpn, alpn.data, out.alpn_len);
    }
    *f = out;
    return POLYTLS_OK;
}

static polytls_status gtls_send_alert(void *p, polytls_alert code, polytls_alert_level level, bool in_verify)
{
    gtls_conn *c = p;
    if ((unsigned)code > 255)
        return POLYTLS_ERR_UNSUPPORTED;
    /* Inside verify_fn: any code can be the failure alert (verify_reject
       sends it). */
    if (in_verify)
        return POLYTLS_OK;
    gnutls_alert_level_t lv = level == POLYTLS_ALERT_LEVEL_WARNING ? GNUTLS_AL_WARNING : GNUTLS_AL_FATAL;
    int r;
    do
        r = gnutls_alert_send(c->s, lv, (gnutls_alert_description_t)code);
    while (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_AGAIN);
    if (r < 0) {
        svc->set_error(c->core, "GnuTLS alert send: %s (%d)", gnutls_strerror(r), r);
        return r == GNUTLS_E_PUSH_ERROR ? POLYTLS_ERR_NO_MEMORY : POLYTLS_ERR_INTERNAL;
    }
    if (lv == GNUTLS_AL_FATAL)
        c->fatal_sent = true;
    return POLYTLS_OK;
}

/* RFC 8446 7.5 / RFC 5705. GnuTLS uses the context only when the pointer
   is non-NULL, so "no context" and an empty one stay apart as in TLS 1.2. */
static polytls_status gtls_export_keying_material(void *conn, const uint8_t *label, size_t label_len,
                                                  const uint8_t *context, size_t context_len,
                                                  uint8_t *out, size_t out_len)
{
    gtls_conn *c = conn;
    static const char empty[1];
    const char *ctxp = context ? (context_len ? (const char *)context : empty) : NULL;
    int rc = gnutls_prf_rfc5705(c->s, label_len, (const char *)label, context_len, ctxp, out_len,
                                (char *)out);
    if (rc < 0) {
        svc->set_error(c->core, "GnuTLS: gnutls_prf_rfc5705: %s (%d)", gnutls_strerror(rc), rc);
        return POLYTLS_ERR_INTERNAL;
    }
    return POLYTLS_OK;
}

static const polytls_driver gnutls_driver = {
    .abi_version = POLYTLS_DRIVER_ABI_VERSION,
    .size = sizeof(polytls_driver),
    .name = "gnutls",
    .built_version = GNUTLS_VERSION,
    .init = gtls_init,
    .ctx_init = gtls_ctx_init,
    .ctx_fini = gtls_ctx_fini,
    .conn_init = gtls_conn_init,
    .conn_fini = gtls_conn_fini,
    .advance = gtls_advance,
    .write_app = gtls_write_app,
    .close_notify = gtls_close_notify,
    .get_facts = gtls_get_facts,
    .send_alert = gtls_send_alert,
    .export_keying_material = gtls_export_keying_material,
    .session_export = gtls_session_export,
    .session_parse = gtls_session_parse,
    .session_parsed_free = gtls_session_parsed_free,
};

const polytls_driver *ptls_gnutls_driver(void)
{
    return &gnutls_driver;
}
