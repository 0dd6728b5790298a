/*
 * backends/openssl/openssl_driver.c — the OpenSSL 3 translation.
 *
 * Turns the core's validated configuration into SSL_CTX / SSL settings and
 * moves bytes between the core's buffers and libssl through a custom BIO.
 * Every policy decision (what is legal when, invalidation, alert levels)
 * belongs to the core; this file only translates (see core/driver.h).
 *
 * OpenSSL facts relied on (backend-notes.md, column 1, re-checked here):
 *  - SSL_CTX_set_cert_verify_callback replaces X509_verify_cert; the alert
 *    sent on failure is chosen from the X509 error by ssl_x509err2alert
 *    (ssl/statem/statem_lib.c), which is how a chosen alert reaches the peer.
 *  - The client's cert_cb returning -1 pauses the handshake
 *    (SSL_ERROR_WANT_X509_LOOKUP) and is re-invoked on the next drive.
 *  - The info callback sees every received alert with its level.
 */
#include "driver.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

/* The core's services (static storage, set once by init). */
static const polytls_core_services *svc;
/* Our transport BIO type: created once, freed at process exit. */
static BIO_METHOD *core_bio_method;

/* Everything we pin (ARCHITECTURE decision 6), written out by name so that
   no alias can pull in a PSK, DSS or CBC suite. */
static const char tls13_suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
static const char tls12_suites_ecdhe[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
/* Appended only for a server that was given DH parameters. */
static const char tls12_suites_dhe[] =
    ":DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
static const char groups[] = "X25519:P-256:P-384:P-521";

/* OpenSSL's error queue is per thread and must be empty before each call
   whose failure we read. Clearing an empty queue still walks all its slots
   (about 2,500 instructions, measured in bench/): peek first. */
static void clear_errors(void)
{
    if (ERR_peek_error() != 0)
        ERR_clear_error();
}

/* POLYTLS_CAP_ALERT_IN_VERIFY covers 40, 42..46, 48, 51 and 80: OpenSSL
   3.0's ssl_x509err2alert table reaches each of them (proven on the wire);
   it has no entry for access_denied (49), which is therefore UNSUPPORTED
   from the verify callback, as for every code outside that set. */

/* Security level 2 (112-bit): RSA/DH >= 2048 bits. Set explicitly so that
   the system openssl.cnf cannot lower or raise it behind our back. */
#define OSSL_SECURITY_LEVEL 2
#define DH_MIN_BITS 2048

/* The parts of a chain as libssl wants them. */
typedef struct loaded_chain {
    X509 *leaf;
    EVP_PKEY *key;
    STACK_OF(X509) *rest;
} loaded_chain;

/* Parsed chains, kept per context: a server serves the same chain to
   connection after connection, and parsing its DER and key every time was
   most of the cost polytls added to an OpenSSL handshake (bench/,
   docs/performance.md). Entries are matched by the exact bytes (DER of
   every certificate and the key), never by pointer. */
#define CHAIN_CACHE_SLOTS 4

typedef struct chain_cache_entry {
    uint8_t *bytes;          /* the chain's blobs and key, length-prefixed, as matched */
    size_t len;
    loaded_chain lc;
} chain_cache_entry;

typedef struct ossl_ctx {
    SSL_CTX *ssl_ctx;
    bool is_server;
    pthread_mutex_t cache_lock;
    chain_cache_entry cache[CHAIN_CACHE_SLOTS];
    unsigned cache_next;     /* the slot replaced next */
    /* Server: our ALPN list (wire format) for the select callback, which
       must choose by our order; NULL when ALPN is off. */
    unsigned char *alpn;
    size_t alpn_len;
    /* The user's key log (NULL = off): libssl hands over whole NSS lines. */
    polytls_keylog_fn keylog;
    void *keylog_user;
    /* Session resumption is on (tickets offered / issued). */
    bool resumption;
} ossl_ctx;

typedef struct ossl_conn {
    SSL *ssl;
    polytls_core_conn *core;
    bool is_server;
    bool handshake_done;
    bool close_sent;
    /* The info callback saw a fatal alert from the peer (tells PEER_ALERT
       from a local failure after the library call fails). */
    bool fatal_alert_read;
    /* io_send could not buffer (out of memory): reported as such. */
    bool io_failed;
    /* The verify service rejected the peer's chain. */
    bool rejected_by_verify;
    polytls_alert reject_alert;
    /* libssl found a certificate not yet valid, reported as expired (see
       cert_verify_cb); the message still says which. */
    bool not_yet_valid;
    /* A callback already explained the failure with set_error. */
    bool error_explained;
    /* The CA names of the server's CertificateRequest, as DER, converted
       once: the cert_cb runs again on every drive while paused. */
    bool names_ready;
    polytls_drv_blob *names;
    size_t n_names;
    /* Client with resumption: libssl handed over a new session (a TLS 1.3
       NewSessionTicket was read, or a TLS 1.2 handshake completed with a
       ticket or session id). */
    bool session_seen;
} ossl_conn;

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

/* Drains the thread's ERR queue into buf as "text; text" (the library's
   own words for set_error) and reports whether one of the entries was a
   received alert (reason SSL_AD_REASON_OFFSET + code). */
static bool drain_errors(char *buf, size_t cap, int *alert_code)
{
    bool got_alert = false;
    size_t used = 0;
    unsigned long e;

    if (cap)
        buf[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        int reason = ERR_GET_REASON(e);
        if (ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET
            && reason < SSL_AD_REASON_OFFSET + 256) {
            got_alert = true;
            if (alert_code)
                *alert_code = reason - SSL_AD_REASON_OFFSET;
        }
        if (used + 8 < cap) {
            if (used) {
                buf[used++] = ';';
                buf[used++] = ' ';
                buf[used] = '\0';
            }
            ERR_error_string_n(e, buf + used, cap - used);
            used += strlen(buf + used);
        }
    }
    return got_alert;
}

static void free_blobs(polytls_drv_blob *blobs, size_t n)
{
    if (!blobs)
        return;
    for (size_t i = 0; i < n; i++)
        OPENSSL_free((void *)blobs[i].data);
    free(blobs);
}

static X509 *x509_from_blob(const polytls_drv_blob *b)
{
    if (!b->data || b->len == 0 || b->len > LONG_MAX)
        return NULL;
    const unsigned char *p = b->data;
    X509 *x = d2i_X509(NULL, &p, (long)b->len);
    if (x && p != b->data + b->len) { /* trailing bytes: not one certificate */
        X509_free(x);
        return NULL;
    }
    return x;
}

static void loaded_chain_free(loaded_chain *lc)
{
    X509_free(lc->leaf);
    EVP_PKEY_free(lc->key);
    sk_X509_pop_free(lc->rest, X509_free);
    memset(lc, 0, sizeof *lc);
}

/* Parses chain into lc. Returns OK, BAD_ENCODING, KEY_MISMATCH or
   NO_MEMORY, with a message in err. */
static polytls_status load_chain(const polytls_drv_chain *chain, loaded_chain *lc, char *err,
                                 size_t errlen)
{
    memset(lc, 0, sizeof *lc);
    if (!chain->certs || chain->n == 0) {
        snprintf(err, errlen, "empty certificate chain");
        return POLYTLS_ERR_BAD_ENCODING;
    }
    lc->leaf = x509_from_blob(&chain->certs[0]);
    if (!lc->leaf) {
        snprintf(err, errlen, "OpenSSL cannot parse the leaf certificate");
        goto bad;
    }
    lc->rest = sk_X509_new_null();
    if (!lc->rest)
        goto nomem;
    for (size_t i = 1; i < chain->n; i++) {
        X509 *x = x509_from_blob(&chain->certs[i]);
        if (!x) {
            snprintf(err, errlen, "OpenSSL cannot parse chain certificate %zu", i);
            goto bad;
        }
        if (!sk_X509_push(lc->rest, x)) {
            X509_free(x);
            goto nomem;
        }
    }
    if (!chain->key.data || chain->key.len == 0 || chain->key.len > LONG_MAX) {
        snprintf(err, errlen, "the chain has no private key");
        goto bad;
    }
    /* d2i_AutoPrivateKey takes PKCS#8 as well as PKCS#1 (RSA) and SEC1 (EC). */
    const unsigned char *p = chain->key.data;
    lc->key = d2i_AutoPrivateKey(NULL, &p, (long)chain->key.len);
    if (!lc->key) {
        snprintf(err, errlen, "OpenSSL cannot parse the private key");
        goto bad;
    }
    /* libssl accepts a mismatching key silently; check it ourselves. */
    if (X509_check_private_key(lc->leaf, lc->key) != 1) {
        clear_errors();
        snprintf(err, errlen, "the private key does not match the leaf certificate");
        loaded_chain_free(lc);
        return POLYTLS_ERR_KEY_MISMATCH;
    }
    return POLYTLS_OK;
bad:
    clear_errors();
    loaded_chain_free(lc);
    return POLYTLS_ERR_BAD_ENCODING;
nomem:
    clear_errors();
    snprintf(err, errlen, "out of memory loading the certificate chain");
    loaded_chain_free(lc);
    return POLYTLS_ERR_NO_MEMORY;
}

/* New references to lc's parts, freed with loaded_chain_free. */
static bool loaded_chain_ref(const loaded_chain *lc, loaded_chain *out)
{
    memset(out, 0, sizeof *out);
    out->rest = X509_chain_up_ref(lc->rest);
    if (!out->rest)
        return false;
    X509_up_ref(lc->leaf);
    EVP_PKEY_up_ref(lc->key);
    out->leaf = lc->leaf;
    out->key = lc->key;
    return true;
}

/* load_chain through the context's cache. */
static polytls_status load_chain_cached(ossl_ctx *x, const polytls_drv_chain *chain, loaded_chain *lc,
                                        char *err, size_t errlen)
{
    size_t len = 0;
    uint8_t *bytes = svc->chain_identity(chain, &len);
    if (!bytes)
        return load_chain(chain, lc, err, errlen);
    pthread_mutex_lock(&x->cache_lock);
    for (unsigned i = 0; i < CHAIN_CACHE_SLOTS; i++) {
        chain_cache_entry *e = &x->cache[i];
        if (e->bytes && e->len == len && memcmp(e->bytes, bytes, len) == 0) {
            bool ok = loaded_chain_ref(&e->lc, lc);
            pthread_mutex_unlock(&x->cache_lock);
            free(bytes);
            if (ok)
                return POLYTLS_OK;
            snprintf(err, errlen, "out of memory loading the certificate chain");
            return POLYTLS_ERR_NO_MEMORY;
        }
    }
    pthread_mutex_unlock(&x->cache_lock);
    polytls_status st = load_chain(chain, lc, err, errlen);
    if (st != POLYTLS_OK) {
        free(bytes);
        return st;
    }
    loaded_chain kept;
    if (!loaded_chain_ref(lc, &kept)) {
        free(bytes);
        return POLYTLS_OK;   /* served uncached */
    }
    pthread_mutex_lock(&x->cache_lock);
    chain_cache_entry *e = &x->cache[x->cache_next];
    x->cache_next = (x->cache_next + 1) % CHAIN_CACHE_SLOTS;
    free(e->bytes);
    loaded_chain_free(&e->lc);
    e->bytes = bytes;
    e->len = len;
    e->lc = kept;
    pthread_mutex_unlock(&x->cache_lock);
    return POLYTLS_OK;
}

/* Installs lc on ssl (takes nothing: libssl up-refs what it keeps). */
static bool use_chain(SSL *ssl, const loaded_chain *lc)
{
    return SSL_use_cert_and_key(ssl, lc->leaf, lc->key, lc->rest, 1) == 1
           && SSL_check_private_key(ssl) == 1;
}

/* ------------------------------------------------------------------------ */
/* Alert <-> X509 error                                                      */
/* ------------------------------------------------------------------------ */

/* libssl sends ssl_x509err2alert(X509 error of the store context) when the
   verification callback fails. This picks, for each alert we can produce,
   an X509 error that OpenSSL 3.0's table maps to exactly that alert.
   access_denied (49) and every non-certificate code have no entry: they
   cannot be the failure alert of a verification. Returns 0 for those. */
static int x509_error_for_alert(polytls_alert code)
{
    switch (code) {
    case POLYTLS_ALERT_HANDSHAKE_FAILURE: return X509_V_ERR_APPLICATION_VERIFICATION;
    case POLYTLS_ALERT_BAD_CERTIFICATE: return X509_V_ERR_CERT_REJECTED;
    case POLYTLS_ALERT_UNSUPPORTED_CERTIFICATE: return X509_V_ERR_INVALID_PURPOSE;
    case POLYTLS_ALERT_CERTIFICATE_REVOKED: return X509_V_ERR_CERT_REVOKED;
    case POLYTLS_ALERT_CERTIFICATE_EXPIRED: return X509_V_ERR_CERT_HAS_EXPIRED;
    /* Any error absent from the table falls through to certificate_unknown. */
    case POLYTLS_ALERT_CERTIFICATE_UNKNOWN: return X509_V_ERR_SUBJECT_ISSUER_MISMATCH;
    case POLYTLS_ALERT_UNKNOWN_CA: return X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    case POLYTLS_ALERT_DECRYPT_ERROR: return X509_V_ERR_CERT_SIGNATURE_FAILURE;
    case POLYTLS_ALERT_INTERNAL_ERROR: return X509_V_ERR_UNSPECIFIED;
    default: return 0;
    }
}

/* ------------------------------------------------------------------------ */
/* The transport BIO: libssl's bytes go through the core's buffers          */
/* ------------------------------------------------------------------------ */

static int core_bio_read(BIO *b, char *buf, size_t len, size_t *readbytes)
{
    ossl_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    *readbytes = 0;
    if (!c || len == 0)
        return 0;
    size_t n = svc->io_recv(c->core, (uint8_t *)buf, len);
    if (n == 0) {
        /* Nothing buffered yet: "try again", never end of stream (the core
           handles EOF itself). */
        BIO_set_retry_read(b);
        return 0;
    }
    *readbytes = n;
    return 1;
}

static int core_bio_write(BIO *b, const char *buf, size_t len, size_t *written)
{
    ossl_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    *written = 0;
    if (!c)
        return 0;
    if (len && svc->io_send(c->core, (const uint8_t *)buf, len) != POLYTLS_OK) {
        c->io_failed = true; /* a hard error, not a retry */
        return 0;
    }
    *written = len;
    return 1;
}

static long core_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1; /* every write is already with the core */
    case BIO_CTRL_PENDING:
    case BIO_CTRL_WPENDING: return 0;
    default: return 0;
    }
}

static int core_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

__attribute__((destructor)) static void free_bio_method(void)
{
    /* Only memory: safe even after OpenSSL's own atexit cleanup. */
    BIO_meth_free(core_bio_method);
    core_bio_method = NULL;
}

/* ------------------------------------------------------------------------ */
/* Library callbacks                                                         */
/* ------------------------------------------------------------------------ */

static ossl_conn *conn_of(const SSL *ssl)
{
    return SSL_get_app_data(ssl);
}

/* libssl's key-log lines are already in NSS format, without a newline. */
static void ossl_keylog_line(const SSL *ssl, const char *line)
{
    const ossl_ctx *x = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    if (x && x->keylog && line)
        x->keylog(x->keylog_user, line);
}

/* Every received alert, warning or fatal, close_notify excluded. */
static void info_cb(const SSL *ssl, int where, int ret)
{
    /* SSL_CB_READ_ALERT is two bits (ALERT | READ); a sent alert has
       ALERT | WRITE, so test both bits. */
    if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT)
        return;
    ossl_conn *c = conn_of(ssl);
    if (!c)
        return;
    int level = (ret >> 8) & 0xff;
    int code = ret & 0xff;
    if (code == POLYTLS_ALERT_CLOSE_NOTIFY)
        return;
    if (level == POLYTLS_ALERT_LEVEL_FATAL)
        c->fatal_alert_read = true;
    svc->peer_alert(c->core, (polytls_alert)code, (polytls_alert_level)level);
}

/* Replaces X509_verify_cert: the library's check first (chain, hostname),
   then the core's verify service with the verified chain. Returns 1 to
   accept, 0 to fail (never -1: that would mean "retry" to libssl 3.0). */
static int cert_verify_cb(X509_STORE_CTX *xs, void *arg)
{
    (void)arg;
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    ossl_conn *c = ssl ? conn_of(ssl) : NULL;
    if (!c) {
        X509_STORE_CTX_set_error(xs, X509_V_ERR_UNSPECIFIED);
        return 0;
    }
    if (X509_verify_cert(xs) != 1) {
        if (X509_STORE_CTX_get_error(xs) == X509_V_OK)
            X509_STORE_CTX_set_error(xs, X509_V_ERR_UNSPECIFIED);
        /* libssl answers a not-yet-valid certificate with bad_certificate;
           GnuTLS, wolfSSL and RFC 8446 (6.2: "expired or not currently
           valid") with certificate_expired, which the expired error gives. */
        if (X509_STORE_CTX_get_error(xs) == X509_V_ERR_CERT_NOT_YET_VALID) {
            c->not_yet_valid = true;
            X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_HAS_EXPIRED);
        }
        return 0;
    }

    /* Verified chain: leaf first, trust anchor last. */
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(xs);
    int n = chain ? sk_X509_num(chain) : 0;
    if (n <= 0) {
        X509_STORE_CTX_set_error(xs, X509_V_ERR_UNSPECIFIED);
        return 0;
    }
    polytls_drv_blob *blobs = calloc((size_t)n, sizeof *blobs);
    if (!blobs) {
        X509_STORE_CTX_set_error(xs, X509_V_ERR_OUT_OF_MEM);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        unsigned char *der = NULL;
        int len = i2d_X509(sk_X509_value(chain, i), &der);
        if (len <= 0) {
            free_blobs(blobs, (size_t)i);
            X509_STORE_CTX_set_error(xs, X509_V_ERR_OUT_OF_MEM);
            return 0;
        }
        blobs[i].data = der;
        blobs[i].len = (size_t)len;
    }

    polytls_alert alert = POLYTLS_ALERT_BAD_CERTIFICATE;
    bool ok = svc->verify(c->core, blobs, (size_t)n, &alert);
    free_blobs(blobs, (size_t)n);
    if (ok)
        return 1;

    c->rejected_by_verify = true;
    c->reject_alert = alert;
    int e = x509_error_for_alert(alert);
    /* A code we cannot express becomes bad_certificate, the default. */
    X509_STORE_CTX_set_error(xs, e ? e : X509_V_ERR_CERT_REJECTED);
    return 0;
}

/* DER names of the server's CertificateRequest (TLS 1.2 list or TLS 1.3
   certificate_authorities); none when it sent none. */
static bool collect_ca_names(ossl_conn *c)
{
    const STACK_OF(X509_NAME) *names = SSL_get0_peer_CA_list(c->ssl);
    int n = names ? sk_X509_NAME_num(names) : 0;
    c->names = NULL;
    c->n_names = 0;
    if (n <= 0)
        return true;
    c->names = calloc((size_t)n, sizeof *c->names);
    if (!c->names)
        return false;
    for (int i = 0; i < n; i++) {
        unsigned char *der = NULL;
        int len = i2d_X509_NAME(sk_X509_NAME_value(names, i), &der);
        if (len <= 0) {
            free_blobs(c->names, (size_t)i);
            c->names = NULL;
            return false;
        }
        c->names[i].data = der;
        c->names[i].len = (size_t)len;
    }
    c->n_names = (size_t)n;
    return true;
}

/* Client: the server asked for a certificate. -1 pauses (re-invoked on
   the next drive), 1 continues, 0 fails with internal_error. The server
   side runs this too on every handshake in OpenSSL: nothing to do there
   (its chain was installed at conn_init). */
static int cert_cb(SSL *ssl, void *arg)
{
    (void)arg;
    ossl_conn *c = conn_of(ssl);
    if (!c || c->is_server)
        return 1;
    if (!c->names_ready) {
        if (!collect_ca_names(c)) {
            svc->set_error(c->core, "out of memory reading the server's CA names");
            c->error_explained = true;
            return 0;
        }
        c->names_ready = true;
    }
    const polytls_drv_chain *chain = NULL;
    if (svc->client_cert_request(c->core, c->names, c->n_names, &chain) == POLYTLS_DRV_CERT_PENDING)
        return -1;
    if (!chain)
        return 1; /* send no certificate */

    loaded_chain lc;
    char err[160];
    polytls_status st = load_chain(chain, &lc, err, sizeof err);
    if (st != POLYTLS_OK) {
        svc->set_error(c->core, "client certificate: %s", err);
        c->error_explained = true;
        return 0;
    }
    bool ok = use_chain(ssl, &lc);
    loaded_chain_free(&lc);
    if (!ok) {
        char lib[256];
        drain_errors(lib, sizeof lib, NULL);
        svc->set_error(c->core, "OpenSSL refused the client certificate: %s", lib);
        c->error_explained = true;
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Session resumption                                                        */
/* ------------------------------------------------------------------------ */

/* The core's ticket key is split as libssl's own default ticket keys are
   (RFC 5077 section 4's recommended construction): AES-256-CBC for the
   state, HMAC-SHA256 over the ticket. */
#define TICKET_AES_KEY_LEN 32
#define TICKET_HMAC_KEY_LEN 32
#define TICKET_KEY_LEN (TICKET_AES_KEY_LEN + TICKET_HMAC_KEY_LEN)

/* session_export appends SHA-256 of libssl's DER session: DER alone
   accepts many altered values (a changed resumption secret would make the
   resumed handshake fail instead of being refused), so a byte changed in
   storage is caught here and reported as BAD_ENCODING before libssl sees
   it. */
#define SESSION_DIGEST_LEN 32

/* Server: libssl asks for the key to seal (enc = 1) or open (enc = 0) a
   ticket. Every key comes from the core, which may refuse one: 0 makes
   libssl issue no ticket (enc) or ignore the ticket and run a full
   handshake (dec). 2 on decryption asks for a fresh ticket: a TLS 1.2
   resumed handshake then issues one too (TLS 1.3 always sends
   SSL_CTX_set_num_tickets of them). */
static int ticket_key_cb(SSL *ssl, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
                         EVP_MAC_CTX *hctx, int enc)
{
    ossl_conn *c = conn_of(ssl);
    if (!c)
        return enc ? -1 : 0;
    uint8_t key[TICKET_KEY_LEN];
    if (!svc->ticket_key(c->core, enc != 0, key_name, key, sizeof key)) {
        OPENSSL_cleanse(key, sizeof key);
        return 0;
    }
    bool ok;
    if (enc)
        ok = RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) == 1
             && EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, key, iv) == 1;
    else
        ok = EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, key, iv) == 1;
    if (ok) {
        char digest[] = "SHA256";
        OSSL_PARAM params[3];
        params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key + TICKET_AES_KEY_LEN,
                                                      TICKET_HMAC_KEY_LEN);
        params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
        params[2] = OSSL_PARAM_construct_end();
        ok = EVP_MAC_CTX_set_params(hctx, params) == 1;
    }
    OPENSSL_cleanse(key, sizeof key);
    if (!ok) /* sealing: abort (a library failure); opening: a full handshake */
        return enc ? -1 : 0;
    return enc ? 1 : 2;
}

/* Client: libssl has a new session (with SSL_SESS_CACHE_CLIENT |
   SSL_SESS_CACHE_NO_INTERNAL_STORE it keeps none itself). This is the only
   signal that a TLS 1.3 NewSessionTicket was read; the session itself is
   read from SSL_get0_session when the core asks. 0: no reference kept. */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    (void)sess;
    ossl_conn *c = conn_of(ssl);
    if (c)
        c->session_seen = true;
    return 0;
}

/* After the "no resumption" defaults: turns tickets on as core/driver.h
   asks. Never psk_ke (SSL_OP_ALLOW_NO_DHE_KEX stays clear), never early
   data, never a server-side session cache (a TLS 1.2 session id alone
   cannot resume). */
static polytls_status setup_resumption(ossl_ctx *x, const polytls_drv_config *cfg)
{
    SSL_CTX *ctx = x->ssl_ctx;
    x->resumption = true;
    SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET | SSL_OP_ALLOW_NO_DHE_KEX);
    if (SSL_CTX_set_max_early_data(ctx, 0) != 1)
        return POLYTLS_ERR_INTERNAL;
    if (cfg->is_server) {
        /* Stateless tickets (SSL_OP_NO_TICKET clear), one per handshake,
           sealed with the core's keys only. */
        SSL_CTX_set_timeout(ctx, cfg->ticket_lifetime ? (long)cfg->ticket_lifetime : 7200L);
        if (SSL_CTX_set_num_tickets(ctx, 1) != 1
            || SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb) != 1)
            return POLYTLS_ERR_INTERNAL;
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
    }
    return POLYTLS_OK;
}

static bool resumption_requested(const polytls_drv_config *cfg)
{
    return cfg->size >= offsetof(polytls_drv_config, ticket_lifetime) + sizeof cfg->ticket_lifetime
           && cfg->resumption;
}

/* Reads the bytes session_export wrote. Returns NULL with *out set, or why
   the bytes were refused (*st: BAD_ENCODING, or INTERNAL). */
static const char *parse_session(const uint8_t *in, size_t len, SSL_SESSION **out, polytls_status *st)
{
    *st = POLYTLS_ERR_BAD_ENCODING;
    if (len <= SESSION_DIGEST_LEN || len - SESSION_DIGEST_LEN > (size_t)LONG_MAX)
        return "the session bytes are too short for an OpenSSL session";
    size_t der_len = len - SESSION_DIGEST_LEN;
    unsigned char md[SESSION_DIGEST_LEN];
    unsigned int md_len = 0;
    if (EVP_Digest(in, der_len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != SESSION_DIGEST_LEN) {
        clear_errors();
        *st = POLYTLS_ERR_INTERNAL;
        return "SHA-256 failed";
    }
    if (CRYPTO_memcmp(md, in + der_len, SESSION_DIGEST_LEN) != 0)
        return "the session bytes were altered (digest mismatch)";
    const unsigned char *p = in;
    SSL_SESSION *sess = d2i_SSL_SESSION(NULL, &p, (long)der_len);
    if (!sess) {
        clear_errors();
        return "OpenSSL cannot read the session bytes";
    }
    int v = SSL_SESSION_get_protocol_version(sess);
    if (p != in + der_len || (v != TLS1_2_VERSION && v != TLS1_3_VERSION) || !SSL_SESSION_is_resumable(sess)) {
        SSL_SESSION_free(sess);
        return "the session bytes hold no resumable TLS 1.2/1.3 session";
    }
    *st = POLYTLS_OK;
    *out = sess;
    return NULL;
}

/* d2i_SSL_SESSION decodes the server's certificate and key again (costly
   in OpenSSL 3), so a session is parsed once and kept by the core; each
   connection offers its own SSL_SESSION_dup of it (cheap: certificates are
   shared by reference), because libssl marks the session it holds not
   resumable when a new ticket replaces it or the SSL is freed without
   SSL_shutdown — whether a session may be resumed is the core's call. */
static polytls_status ossl_session_parse(const uint8_t *blob, size_t len, void **parsed, char *err, size_t errlen)
{
    SSL_SESSION *sess = NULL;
    polytls_status st;
    const char *why = parse_session(blob, len, &sess, &st);
    if (why) {
        snprintf(err, errlen, "%s", why);
        return st;
    }
    *parsed = sess;
    return POLYTLS_OK;
}

static void ossl_session_parsed_free(void *parsed)
{
    SSL_SESSION_free(parsed);
}

/* Client conn_init: offers the session (parsed by the core through
   session_parse, or read from the bytes here). Returns NULL, or why the
   bytes were refused. */
static const char *offer_session(ossl_conn *c, const polytls_drv_conn_config *cc, polytls_status *st)
{
    *st = POLYTLS_OK;
    if (!cc || cc->size < offsetof(polytls_drv_conn_config, session) + sizeof cc->session
        || !cc->session.data || cc->session.len == 0)
        return NULL;
    SSL_SESSION *sess = NULL;
    if (cc->size >= offsetof(polytls_drv_conn_config, session_parsed) + sizeof cc->session_parsed &&
        cc->session_parsed) {
        sess = SSL_SESSION_dup(cc->session_parsed);
        if (!sess) {
            clear_errors();
            *st = POLYTLS_ERR_NO_MEMORY;
            return "cannot copy the session";
        }
    } else {
        const char *why = parse_session(cc->session.data, cc->session.len, &sess, st);
        if (why)
            return why;
    }
    int ok = SSL_set_session(c->ssl, sess);
    SSL_SESSION_free(sess); /* the SSL holds its own reference */
    if (ok != 1) {
        clear_errors();
        *st = POLYTLS_ERR_INTERNAL;
        return "OpenSSL refused the session";
    }
    *st = POLYTLS_OK;
    return NULL;
}

/* The newest resumable session, as DER + SHA-256 (see SESSION_DIGEST_LEN).
   TLS 1.3: only once a NewSessionTicket was read (before that libssl's
   session holds no ticket). TLS 1.2: the handshake's session (renewed by
   the server's ticket on a resumed handshake) when it has a ticket or id. */
static polytls_status ossl_session_export(void *conn, uint8_t **blob, size_t *len)
{
    ossl_conn *c = conn;
    clear_errors();
    SSL_SESSION *sess = SSL_get0_session(c->ssl);
    if (c->is_server || !c->handshake_done || !sess) {
        svc->set_error(c->core, "no session: the handshake is not complete");
        return POLYTLS_ERR_WRONG_STATE;
    }
    if (SSL_version(c->ssl) == TLS1_3_VERSION && !c->session_seen) {
        svc->set_error(c->core, "no session yet: the server has not sent a TLS 1.3 session ticket");
        return POLYTLS_ERR_WRONG_STATE;
    }
    if (!SSL_SESSION_is_resumable(sess)) {
        svc->set_error(c->core, "no session: the server gave neither a ticket nor a session id");
        return POLYTLS_ERR_WRONG_STATE;
    }
    int n = i2d_SSL_SESSION(sess, NULL);
    if (n <= 0) {
        clear_errors();
        svc->set_error(c->core, "i2d_SSL_SESSION failed");
        return POLYTLS_ERR_INTERNAL;
    }
    uint8_t *out = malloc((size_t)n + SESSION_DIGEST_LEN);
    if (!out) {
        svc->set_error(c->core, "out of memory");
        return POLYTLS_ERR_NO_MEMORY;
    }
    unsigned char *p = out;
    unsigned int md_len = 0;
    if (i2d_SSL_SESSION(sess, &p) != n
        || EVP_Digest(out, (size_t)n, out + n, &md_len, EVP_sha256(), NULL) != 1
        || md_len != SESSION_DIGEST_LEN) {
        OPENSSL_cleanse(out, (size_t)n + SESSION_DIGEST_LEN);
        free(out);
        clear_errors();
        svc->set_error(c->core, "cannot serialise the session");
        return POLYTLS_ERR_INTERNAL;
    }
    *blob = out;
    *len = (size_t)n + SESSION_DIGEST_LEN;
    return POLYTLS_OK;
}

/* ------------------------------------------------------------------------ */
/* init                                                                      */
/* ------------------------------------------------------------------------ */

static polytls_status ossl_init(const polytls_core_services *services, polytls_drv_info *info)
{
    memset(info, 0, sizeof *info);
    if (!services || services->size < sizeof(polytls_core_services)) {
        snprintf(info->version, sizeof info->version, "core services table too old");
        return POLYTLS_ERR_BACKEND_UNAVAILABLE;
    }
    if (OpenSSL_version_num() < 0x30000000UL) {
        snprintf(info->version, sizeof info->version, "OpenSSL >= 3.0 needed, found %s",
                 OpenSSL_version(OPENSSL_VERSION));
        return POLYTLS_ERR_BACKEND_UNAVAILABLE;
    }
    if (!OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL)) {
        clear_errors();
        snprintf(info->version, sizeof info->version, "OPENSSL_init_ssl failed");
        return POLYTLS_ERR_BACKEND_UNAVAILABLE;
    }
    if (!core_bio_method) {
        int type = BIO_get_new_index();
        BIO_METHOD *m = type >= 0 ? BIO_meth_new(type | BIO_TYPE_SOURCE_SINK, "polytls core") : NULL;
        if (!m || !BIO_meth_set_read_ex(m, core_bio_read) || !BIO_meth_set_write_ex(m, core_bio_write)
            || !BIO_meth_set_ctrl(m, core_bio_ctrl) || !BIO_meth_set_create(m, core_bio_create)) {
            BIO_meth_free(m);
            clear_errors();
            snprintf(info->version, sizeof info->version, "cannot create the OpenSSL BIO method");
            return POLYTLS_ERR_BACKEND_UNAVAILABLE;
        }
        core_bio_method = m;
    }
    svc = services;
    snprintf(info->version, sizeof info->version, "%s", OpenSSL_version(OPENSSL_VERSION));
    /* ALERT_ANYTIME is never claimed: libssl has no public call that sends
       an alert (and we do not link its internals). */
    info->capabilities = POLYTLS_CAP_ASYNC_SERVER_CERT | POLYTLS_CAP_ASYNC_CLIENT_CERT
                         | POLYTLS_CAP_CUSTOM_DH | POLYTLS_CAP_TLS13_CA_NAMES
                         | POLYTLS_CAP_ALERT_IN_VERIFY
                         | POLYTLS_CAP_LOW_MEMORY /* SSL_MODE_RELEASE_BUFFERS */
                         | POLYTLS_CAP_KEYLOG     /* SSL_CTX_set_keylog_callback */
                         | POLYTLS_CAP_EXPORTER   /* SSL_export_keying_material */
                         | POLYTLS_CAP_RESUMPTION; /* tickets with the core's keys */
    return POLYTLS_OK;
}

/* ------------------------------------------------------------------------ */
/* Context                                                                   */
/* ------------------------------------------------------------------------ */

static void ossl_ctx_fini(void *ctx)
{
    ossl_ctx *x = ctx;
    if (!x)
        return;
    SSL_CTX_free(x->ssl_ctx);
    free(x->alpn);
    for (unsigned i = 0; i < CHAIN_CACHE_SLOTS; i++) {
        free(x->cache[i].bytes);
        loaded_chain_free(&x->cache[i].lc);
    }
    pthread_mutex_destroy(&x->cache_lock);
    free(x);
}

/* One message for every ctx_init failure, with the library's words. */
static polytls_status ctx_fail(ossl_ctx *x, polytls_status st, char *err, size_t errlen,
                               const char *what)
{
    char lib[256];
    drain_errors(lib, sizeof lib, NULL);
    if (err && errlen)
        snprintf(err, errlen, "%s%s%s", what, lib[0] ? ": " : "", lib);
    ossl_ctx_fini(x);
    return st;
}

static X509_STORE *build_trust(const polytls_drv_config *cfg, polytls_status *st, char *msg, size_t cap)
{
    X509_STORE *store = X509_STORE_new();
    if (!store) {
        *st = POLYTLS_ERR_NO_MEMORY;
        snprintf(msg, cap, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < cfg->n_trust; i++) {
        X509 *x = x509_from_blob(&cfg->trust[i]);
        if (!x) {
            *st = POLYTLS_ERR_BAD_ENCODING;
            snprintf(msg, cap, "OpenSSL cannot parse trust anchor %zu", i);
            X509_STORE_free(store);
            return NULL;
        }
        int ok = X509_STORE_add_cert(store, x); /* takes its own reference */
        X509_free(x);
        if (!ok) {
            unsigned long e = ERR_peek_last_error();
            /* the same anchor twice is harmless */
            if (!(ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_CERT_ALREADY_IN_HASH_TABLE)) {
                *st = POLYTLS_ERR_INTERNAL;
                snprintf(msg, cap, "cannot add trust anchor %zu", i);
                X509_STORE_free(store);
                return NULL;
            }
            clear_errors();
        }
    }
    /* Every configured anchor ends a chain, even one that is not
       self-signed (an intermediate the user chose to trust), as GnuTLS's
       trust lists do. */
    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
    return store;
}

static polytls_status set_ca_names(SSL_CTX *ctx, const polytls_drv_config *cfg)
{
    STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
    if (!names)
        return POLYTLS_ERR_NO_MEMORY;
    for (size_t i = 0; i < cfg->n_trust; i++) {
        X509 *x = x509_from_blob(&cfg->trust[i]);
        X509_NAME *nm = x ? X509_NAME_dup(X509_get_subject_name(x)) : NULL;
        X509_free(x);
        if (!nm || !sk_X509_NAME_push(names, nm)) {
            X509_NAME_free(nm);
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            return POLYTLS_ERR_NO_MEMORY;
        }
    }
    /* Used for the TLS 1.2 CertificateRequest list and the TLS 1.3
       certificate_authorities extension alike. */
    SSL_CTX_set0_CA_list(ctx, names);
    return POLYTLS_OK;
}

static polytls_status set_dh(SSL_CTX *ctx, const polytls_drv_blob *dh, char *msg, size_t cap)
{
    if (dh->len > LONG_MAX) {
        snprintf(msg, cap, "DH parameters too long");
        return POLYTLS_ERR_BAD_ENCODING;
    }
    const unsigned char *p = dh->data;
    EVP_PKEY *pkey = d2i_KeyParams(EVP_PKEY_DH, NULL, &p, (long)dh->len);
    if (!pkey || p != dh->data + dh->len) {
        EVP_PKEY_free(pkey);
        clear_errors();
        snprintf(msg, cap, "DH parameters do not parse as PKCS#3 DER");
        return POLYTLS_ERR_BAD_ENCODING;
    }
    int bits = EVP_PKEY_get_bits(pkey);
    if (bits < DH_MIN_BITS) {
        EVP_PKEY_free(pkey);
        snprintf(msg, cap, "DH parameters have %d bits; at least %d are required", bits, DH_MIN_BITS);
        return POLYTLS_ERR_BAD_ENCODING;
    }
    if (SSL_CTX_set0_tmp_dh_pkey(ctx, pkey) != 1) { /* takes pkey only on success */
        EVP_PKEY_free(pkey);
        snprintf(msg, cap, "OpenSSL refused the DH parameters");
        return POLYTLS_ERR_BAD_ENCODING;
    }
    return POLYTLS_OK;
}

/* Server ALPN: SSL_select_next_proto walks the client's order, so the
   choice is made here by walking ours. Runs only when the client offered
   ALPN (no offer: nothing negotiated, which is what we want). No name in
   common is fatal: OpenSSL then sends no_application_protocol (120). */
static int alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                          const unsigned char *in, unsigned int inlen, void *arg)
{
    const ossl_ctx *x = arg;
    for (size_t i = 0; i < x->alpn_len; i += 1u + x->alpn[i]) {
        const unsigned char *mine = x->alpn + i + 1;
        unsigned char mine_len = x->alpn[i];
        /* The client's list is bounds-checked as we go: it is peer data. */
        for (unsigned int j = 0; j < inlen;) {
            unsigned char len = in[j];
            if (len == 0 || (size_t)j + 1 + len > inlen)
                break;
            if (len == mine_len && memcmp(in + j + 1, mine, len) == 0) {
                *out = in + j + 1;
                *outlen = len;
                return SSL_TLSEXT_ERR_OK;
            }
            j += 1u + len;
        }
    }
    ossl_conn *c = conn_of(ssl);
    if (c) {
        svc->set_error(c->core, "handshake: the client offered no ALPN protocol we accept "
                                "(sent no_application_protocol)");
        c->error_explained = true;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static polytls_status set_alpn(ossl_ctx *x, const polytls_drv_config *cfg)
{
    if (!cfg->is_server) {
        /* Note the inverted convention: 0 means success here. */
        return SSL_CTX_set_alpn_protos(x->ssl_ctx, cfg->alpn.data, (unsigned int)cfg->alpn.len) == 0
                   ? POLYTLS_OK
                   : POLYTLS_ERR_NO_MEMORY;
    }
    x->alpn = malloc(cfg->alpn.len);
    if (!x->alpn)
        return POLYTLS_ERR_NO_MEMORY;
    memcpy(x->alpn, cfg->alpn.data, cfg->alpn.len);
    x->alpn_len = cfg->alpn.len;
    SSL_CTX_set_alpn_select_cb(x->ssl_ctx, alpn_select_cb, x);
    return POLYTLS_OK;
}

/* The user's suites and groups (IANA numbers, validated by the core) in
   OpenSSL's names; out pointers keep the defaults when a list is empty. */
static const struct { uint16_t id; const char *name; } ossl_suite_names[] = {
    {0x1301, "TLS_AES_128_GCM_SHA256"}, {0x1302, "TLS_AES_256_GCM_SHA384"},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
    {0xC02B, "ECDHE-ECDSA-AES128-GCM-SHA256"}, {0xC02C, "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {0xC02F, "ECDHE-RSA-AES128-GCM-SHA256"}, {0xC030, "ECDHE-RSA-AES256-GCM-SHA384"},
    {0xCCA8, "ECDHE-RSA-CHACHA20-POLY1305"}, {0xCCA9, "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {0x009E, "DHE-RSA-AES128-GCM-SHA256"}, {0x009F, "DHE-RSA-AES256-GCM-SHA384"},
    {0xCCAA, "DHE-RSA-CHACHA20-POLY1305"},
}, ossl_group_names[] = {
    {29, "X25519"}, {23, "P-256"}, {24, "P-384"}, {25, "P-521"},
};

/* Appends name to a ':'-separated list held in a buffer big enough for
   every allowed name once (the core removed repeats). */
static void ossl_list_add(char *list, const char *name)
{
    if (*list)
        strcat(list, ":");
    strcat(list, name);
}

static bool ossl_user_lists(const polytls_drv_config *cfg, char *l13, char *l12, char *lg,
                            const char **use13, const char **use12, const char **use_groups)
{
    bool has_lists = cfg->size >= offsetof(polytls_drv_config, n_groups) + sizeof cfg->n_groups;
    if (!has_lists)
        return true;
    if (cfg->n_suites) {
        *l13 = *l12 = '\0';
        for (size_t i = 0; i < cfg->n_suites; i++) {
            size_t j = 0;
            while (j < sizeof ossl_suite_names / sizeof ossl_suite_names[0]
                   && ossl_suite_names[j].id != cfg->suites[i])
                j++;
            if (j == sizeof ossl_suite_names / sizeof ossl_suite_names[0])
                return false;
            ossl_list_add(cfg->suites[i] >> 8 == 0x13 ? l13 : l12, ossl_suite_names[j].name);
        }
        *use13 = l13;
        *use12 = l12;
    }
    if (cfg->n_groups) {
        *lg = '\0';
        for (size_t i = 0; i < cfg->n_groups; i++) {
            size_t j = 0;
            while (j < 4 && ossl_group_names[j].id != cfg->groups[i])
                j++;
            if (j == 4)
                return false;
            ossl_list_add(lg, ossl_group_names[j].name);
        }
        *use_groups = lg;
    }
    return true;
}

static polytls_status ossl_ctx_init(const polytls_drv_config *cfg, void **out, char *err, size_t errlen)
{
    char msg[160];
    polytls_status st;

    clear_errors();
    /* The core validated cfg (core/driver.h): nothing to re-check here. */
    ossl_ctx *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return POLYTLS_ERR_NO_MEMORY;
    }
    pthread_mutex_init(&x->cache_lock, NULL);
    x->is_server = cfg->is_server;
    x->ssl_ctx = SSL_CTX_new(TLS_method());
    if (!x->ssl_ctx)
        return ctx_fail(x, POLYTLS_ERR_NO_MEMORY, err, errlen, "SSL_CTX_new failed");
    SSL_CTX *ctx = x->ssl_ctx;

    /* Options: replace whatever openssl.cnf set with exactly ours. */
    SSL_CTX_clear_options(ctx, SSL_CTX_get_options(ctx));
    SSL_CTX_set_options(ctx, SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1
                                 | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET
                                 | SSL_OP_ENABLE_MIDDLEBOX_COMPAT);
    if (SSL_CTX_set_min_proto_version(ctx, cfg->min_version) != 1
        || SSL_CTX_set_max_proto_version(ctx, cfg->max_version) != 1)
        return ctx_fail(x, POLYTLS_ERR_INTERNAL, err, errlen, "cannot pin the TLS versions");

    char list[sizeof tls12_suites_ecdhe + sizeof tls12_suites_dhe];
    bool dhe = cfg->is_server && cfg->dh_params.data && cfg->dh_params.len;
    snprintf(list, sizeof list, "%s%s", tls12_suites_ecdhe, dhe ? tls12_suites_dhe : "");
    char list13[sizeof tls13_suites], list12[sizeof list], glist[sizeof groups];
    const char *use13 = tls13_suites, *use12 = list, *use_groups = groups;
    if (!ossl_user_lists(cfg, list13, list12, glist, &use13, &use12, &use_groups))
        return ctx_fail(x, POLYTLS_ERR_INTERNAL, err, errlen, "unknown cipher suite or group number");
    /* A TLS 1.2 list is needed only when TLS 1.2 can be negotiated (OpenSSL
       refuses an empty one); the core narrowed the range to the list. */
    if ((cfg->min_version <= 0x0303 && SSL_CTX_set_cipher_list(ctx, use12) != 1)
        || SSL_CTX_set_ciphersuites(ctx, use13) != 1)
        return ctx_fail(x, POLYTLS_ERR_INTERNAL, err, errlen, "cannot pin the cipher suites");
    if (SSL_CTX_set1_groups_list(ctx, use_groups) != 1)
        return ctx_fail(x, POLYTLS_ERR_INTERNAL, err, errlen, "cannot pin the groups");
    SSL_CTX_set_security_level(ctx, OSSL_SECURITY_LEVEL);
    /* Low-memory mode: libssl frees its read and write buffers whenever they
       are empty (an idle connection keeps ~35 KB less), at the price of an
       allocation and a free per record. A config from an older core has no
       such field. */
    if (cfg->size >= offsetof(polytls_drv_config, low_memory) + sizeof cfg->low_memory && cfg->low_memory)
        SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* Key log: libssl already writes NSS lines; they go to the user as they are. */
    if (cfg->size >= offsetof(polytls_drv_config, keylog_user) + sizeof cfg->keylog_user && cfg->keylog) {
        x->keylog = cfg->keylog;
        x->keylog_user = cfg->keylog_user;
        SSL_CTX_set_app_data(ctx, x);
        SSL_CTX_set_keylog_callback(ctx, ossl_keylog_line);
    }

    /* No resumption yet: no cache, no tickets (TLS 1.2 or 1.3). */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_set_num_tickets(ctx, 0) != 1)
        return ctx_fail(x, POLYTLS_ERR_INTERNAL, err, errlen, "cannot disable session tickets");
    static const unsigned char sid_ctx[] = "polytls";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
    if (resumption_requested(cfg) && setup_resumption(x, cfg) != POLYTLS_OK)
        return ctx_fail(x, POLYTLS_ERR_INTERNAL, err, errlen, "cannot enable session tickets");

    X509_STORE *store = build_trust(cfg, &st, msg, sizeof msg);
    if (!store)
        return ctx_fail(x, st, err, errlen, msg);
    SSL_CTX_set_cert_store(ctx, store); /* ctx owns it now */

    SSL_CTX_set_info_callback(ctx, info_cb);
    SSL_CTX_set_cert_verify_callback(ctx, cert_verify_cb, NULL);
    /* Verification time: every SSL copies the ctx's parameters, and
       X509_verify_cert then judges validity periods at that instant (the
       core checks them once more at the same time). */
    if (cfg->size >= offsetof(polytls_drv_config, verify_time) + sizeof cfg->verify_time &&
        cfg->has_verify_time)
        X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(ctx), (time_t)cfg->verify_time);

    if (cfg->is_server) {
        int mode = SSL_VERIFY_NONE;
        if (cfg->client_auth == POLYTLS_CLIENT_AUTH_OPTIONAL)
            mode = SSL_VERIFY_PEER;
        else if (cfg->client_auth == POLYTLS_CLIENT_AUTH_REQUIRED)
            mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(ctx, mode, NULL);
        if (mode != SSL_VERIFY_NONE && cfg->send_ca_names) {
            st = set_ca_names(ctx, cfg);
            if (st != POLYTLS_OK)
                return ctx_fail(x, st, err, errlen, "cannot build the CA name list");
        }
        if (dhe) {
            st = set_dh(ctx, &cfg->dh_params, msg, sizeof msg);
            if (st != POLYTLS_OK)
                return ctx_fail(x, st, err, errlen, msg);
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_cert_cb(ctx, cert_cb, NULL);
    }
    if (cfg->alpn.data && cfg->alpn.len) {
        st = set_alpn(x, cfg);
        if (st != POLYTLS_OK)
            return ctx_fail(x, st, err, errlen, "cannot set the ALPN protocols");
    }
    clear_errors();
    *out = x;
    return POLYTLS_OK;
}

/* ------------------------------------------------------------------------ */
/* Connection                                                                */
/* ------------------------------------------------------------------------ */

static void ossl_conn_fini(void *conn)
{
    ossl_conn *c = conn;
    if (!c)
        return;
    SSL_free(c->ssl); /* frees the BIO too */
    free_blobs(c->names, c->n_names);
    free(c);
    clear_errors();
}

static polytls_status conn_fail(ossl_conn *c, polytls_status st, const char *what)
{
    char lib[256];
    drain_errors(lib, sizeof lib, NULL);
    svc->set_error(c->core, "%s%s%s", what, lib[0] ? ": " : "", lib);
    ossl_conn_fini(c);
    return st;
}

static polytls_status ossl_conn_init(void *ctx, polytls_core_conn *core, const polytls_drv_conn_config *cc,
                                     void **out)
{
    ossl_ctx *x = ctx;
    clear_errors();
    ossl_conn *c = calloc(1, sizeof *c);
    if (!c) {
        svc->set_error(core, "out of memory");
        return POLYTLS_ERR_NO_MEMORY;
    }
    c->core = core;
    c->is_server = x->is_server;
    c->ssl = SSL_new(x->ssl_ctx);
    if (!c->ssl)
        return conn_fail(c, POLYTLS_ERR_NO_MEMORY, "SSL_new failed");
    SSL_set_app_data(c->ssl, c);

    BIO *bio = BIO_new(core_bio_method);
    if (!bio)
        return conn_fail(c, POLYTLS_ERR_NO_MEMORY, "BIO_new failed");
    BIO_set_data(bio, c);
    SSL_set_bio(c->ssl, bio, bio); /* one reference, owned by the SSL */

    if (x->is_server) {
        SSL_set_accept_state(c->ssl);
        if (!cc || !cc->chain)
            return conn_fail(c, POLYTLS_ERR_INTERNAL, "server connection without a chain");
        loaded_chain lc;
        char err[160];
        polytls_status st = load_chain_cached(x, cc->chain, &lc, err, sizeof err);
        if (st != POLYTLS_OK)
            return conn_fail(c, st, err);
        bool ok = use_chain(c->ssl, &lc);
        loaded_chain_free(&lc);
        if (!ok) /* the key matches (checked above): e.g. a key too small for the security level */
            return conn_fail(c, POLYTLS_ERR_INTERNAL, "OpenSSL refused the certificate chain");
    } else {
        SSL_set_connect_state(c->ssl);
        if (cc && cc->sni && SSL_set_tlsext_host_name(c->ssl, cc->sni) != 1)
            return conn_fail(c, POLYTLS_ERR_INTERNAL, "cannot set SNI");
        if (cc && cc->verify_name) {
            if (cc->verify_is_ip) {
                if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), cc->verify_name) != 1)
                    return conn_fail(c, POLYTLS_ERR_INTERNAL, "cannot set the IP address to verify");
            } else {
                if (SSL_set1_host(c->ssl, cc->verify_name) != 1)
                    return conn_fail(c, POLYTLS_ERR_INTERNAL, "cannot set the host name to verify");
                SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            }
        }
        polytls_status sst;
        const char *why = offer_session(c, cc, &sst);
        if (why)
            return conn_fail(c, sst, why);
        if (cc && cc->chain) {
            loaded_chain lc;
            char err[160];
            polytls_status st = load_chain(cc->chain, &lc, err, sizeof err);
            if (st != POLYTLS_OK)
                return conn_fail(c, st, err);
            bool ok = use_chain(c->ssl, &lc);
            loaded_chain_free(&lc);
            if (!ok)
                return conn_fail(c, POLYTLS_ERR_INTERNAL, "OpenSSL refused the certificate chain");
        }
    }
    clear_errors();
    *out = c;
    return POLYTLS_OK;
}

/* After a failed SSL_* call other than WANT_READ / X509 lookup: tells a
   received alert from our own failure, and explains it. */
static polytls_drv_rc failure(ossl_conn *c, const char *what, int ssl_err)
{
    char lib[512];
    int code = -1;
    bool alert_in_queue = drain_errors(lib, sizeof lib, &code);

    if (c->fatal_alert_read || alert_in_queue) {
        svc->set_error(c->core, "%s: the peer sent a fatal alert%s%s", what, lib[0] ? ": " : "", lib);
        return POLYTLS_DRV_PEER_ALERT;
    }
    if (c->io_failed) {
        svc->set_error(c->core, "%s: out of memory buffering output", what);
        return POLYTLS_DRV_FAILED;
    }
    if (c->error_explained)
        return POLYTLS_DRV_FAILED;
    if (c->rejected_by_verify) {
        svc->set_error(c->core, "%s: the certificate was rejected by the verify callback (alert %d)",
                       what, (int)c->reject_alert);
        return POLYTLS_DRV_FAILED;
    }
    long vr = SSL_get_verify_result(c->ssl);
    if (vr == X509_V_ERR_CERT_HAS_EXPIRED && c->not_yet_valid)
        vr = X509_V_ERR_CERT_NOT_YET_VALID;
    if (vr != X509_V_OK) {
        svc->set_error(c->core, "%s: certificate verification failed: %s%s%s", what,
                       X509_verify_cert_error_string(vr), lib[0] ? "; " : "", lib);
        return POLYTLS_DRV_FAILED;
    }
    svc->set_error(c->core, "%s failed (SSL error %d)%s%s", what, ssl_err, lib[0] ? ": " : "", lib);
    return POLYTLS_DRV_FAILED;
}

/* Whether the core still buffers input for the library (always "yes" with
   a core that predates io_pending: read until the library says so). */
static bool input_left(polytls_core_conn *core)
{
    if (svc->size < offsetof(polytls_core_services, io_pending) + sizeof svc->io_pending || !svc->io_pending)
        return true;
    return svc->io_pending(core) != 0;
}

static polytls_drv_rc ossl_advance(void *conn, bool *handshake_done)
{
    ossl_conn *c = conn;
    clear_errors();

    if (!c->handshake_done) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            switch (e) {
            case SSL_ERROR_WANT_READ: clear_errors(); return POLYTLS_DRV_AGAIN;
            case SSL_ERROR_WANT_X509_LOOKUP: clear_errors(); return POLYTLS_DRV_PAUSED;
            case SSL_ERROR_ZERO_RETURN: clear_errors(); return POLYTLS_DRV_CLOSED;
            default: return failure(c, "TLS handshake", e);
            }
        }
        c->handshake_done = true;
    }
    *handshake_done = true;

    /* Read every record that is complete: SSL_read returns one record's
       plaintext per call. */
    for (;;) {
        uint8_t *p = svc->app_reserve(c->core, 16384);
        if (!p) {
            svc->set_error(c->core, "out of memory for application data");
            clear_errors();
            return POLYTLS_DRV_FAILED;
        }
        size_t got = 0;
        int r = SSL_read_ex(c->ssl, p, 16384, &got);
        svc->app_commit(c->core, r == 1 ? got : 0);
        if (r == 1) {
            /* Nothing buffered here or in libssl (no read-ahead: it reads a
               record's exact length): the next SSL_read_ex could only
               want more input. */
            if (!input_left(c->core) && !SSL_has_pending(c->ssl))
                return POLYTLS_DRV_AGAIN;
            continue;
        }
        /* SSL_get_error answers WANT_READ or ZERO_RETURN only when the
           error queue is empty (it peeks the queue first), so the queue
           needs no clearing here: one peek less per record. */
        int e = SSL_get_error(c->ssl, r);
        switch (e) {
        case SSL_ERROR_WANT_READ: return POLYTLS_DRV_AGAIN;
        case SSL_ERROR_ZERO_RETURN: return POLYTLS_DRV_CLOSED;
        default: return failure(c, "TLS read", e);
        }
    }
}

static polytls_status ossl_write_app(void *conn, const uint8_t *data, size_t len)
{
    ossl_conn *c = conn;
    /* No clear_errors() first (one peek, ~200 instructions per record):
       nothing below reads the error queue to decide anything (no
       SSL_get_error; the status comes from io_failed), so an entry left by
       other code on this thread can at most add a line to the failure's
       message, and the queue is drained on failure as before. */
    while (len) {
        size_t written = 0;
        if (SSL_write_ex(c->ssl, data, len, &written) != 1 || written == 0) {
            char lib[256];
            drain_errors(lib, sizeof lib, NULL);
            if (c->io_failed) {
                svc->set_error(c->core, "out of memory buffering output");
                return POLYTLS_ERR_NO_MEMORY;
            }
            svc->set_error(c->core, "SSL_write failed%s%s", lib[0] ? ": " : "", lib);
            return POLYTLS_ERR_INTERNAL;
        }
        data += written;
        len -= written;
    }
    return POLYTLS_OK;
}

static polytls_status ossl_close_notify(void *conn)
{
    ossl_conn *c = conn;
    if (c->close_sent)
        return POLYTLS_OK;
    c->close_sent = true;
    clear_errors();
    /* 0: sent, the peer's has not arrived; 1: both done. */
    if (SSL_shutdown(c->ssl) < 0) {
        char lib[256];
        drain_errors(lib, sizeof lib, NULL);
        if (c->io_failed) {
            svc->set_error(c->core, "out of memory buffering close_notify");
            return POLYTLS_ERR_NO_MEMORY;
        }
        svc->set_error(c->core, "SSL_shutdown failed%s%s", lib[0] ? ": " : "", lib);
        return POLYTLS_ERR_INTERNAL;
    }
    clear_errors();
    return POLYTLS_OK;
}

static polytls_status ossl_get_facts(void *conn, polytls_drv_facts *facts)
{
    ossl_conn *c = conn;
    const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);
    SSL_SESSION *sess = SSL_get_session(c->ssl);
    if (!cipher || !sess) {
        svc->set_error(c->core, "no negotiated session");
        return POLYTLS_ERR_WRONG_STATE;
    }
    memset(facts, 0, sizeof *facts);
    facts->version = (uint16_t)SSL_version(c->ssl);
    facts->cipher_id = (uint16_t)(SSL_CIPHER_get_protocol_id(cipher) & 0xffff);
    const char *name = SSL_CIPHER_standard_name(cipher);
    snprintf(facts->cipher_name, sizeof facts->cipher_name, "%s", name ? name : "");
    unsigned int idlen = 0;
    const unsigned char *id = SSL_SESSION_get_id(sess, &idlen);
    if (idlen > sizeof facts->session_id)
        idlen = sizeof facts->session_id;
    if (id && idlen)
        memcpy(facts->session_id, id, idlen);
    facts->session_id_len = idlen;
    const unsigned char *alpn = NULL;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
    if (alpn && alpn_len <= sizeof facts->alpn) {
        memcpy(facts->alpn, alpn, alpn_len);
        facts->alpn_len = alpn_len;
    }
    facts->resumed = SSL_session_reused(c->ssl) == 1;
    switch (SSL_get_negotiated_group(c->ssl)) { /* a NID; 0 for DHE with our own parameters */
    case NID_X25519: facts->group = 29; break;
    case NID_X9_62_prime256v1: facts->group = 23; break;
    case NID_secp384r1: facts->group = 24; break;
    case NID_secp521r1: facts->group = 25; break;
    default: facts->group = 0; break;
    }
    return POLYTLS_OK;
}

/* OpenSSL has no public call that sends an alert: the only alerts we can
   choose are the failure alerts of a verification, through the X509 error
   map. Everything else is UNSUPPORTED, with nothing sent. */
static polytls_status ossl_send_alert(void *conn, polytls_alert code, polytls_alert_level level,
                                      bool in_verify)
{
    (void)conn;
    if (!in_verify || level == POLYTLS_ALERT_LEVEL_WARNING)
        return POLYTLS_ERR_UNSUPPORTED;
    return x509_error_for_alert(code) != 0 ? POLYTLS_OK : POLYTLS_ERR_UNSUPPORTED;
}

/* RFC 8446 7.5 / RFC 5705: libssl takes the label as a counted string, and
   "no context" apart from an empty one (use_context). */
static polytls_status ossl_export_keying_material(void *conn, const uint8_t *label, size_t label_len,
                                                  const uint8_t *context, size_t context_len,
                                                  uint8_t *out, size_t out_len)
{
    ossl_conn *c = conn;
    clear_errors();
    static const unsigned char empty[1];
    if (SSL_export_keying_material(c->ssl, out, out_len, (const char *)label, label_len,
                                   context ? context : empty, context_len, context != NULL) != 1) {
        char lib[256];
        drain_errors(lib, sizeof lib, NULL);
        svc->set_error(c->core, "SSL_export_keying_material failed%s%s", lib[0] ? ": " : "", lib);
        return POLYTLS_ERR_INTERNAL;
    }
    return POLYTLS_OK;
}

static const polytls_driver openssl_driver = {
    .abi_version = POLYTLS_DRIVER_ABI_VERSION,
    .size = sizeof(polytls_driver),
    .name = "openssl",
    .built_version = OPENSSL_VERSION_TEXT,
    .init = ossl_init,
    .ctx_init = ossl_ctx_init,
    .ctx_fini = ossl_ctx_fini,
    .conn_init = ossl_conn_init,
    .conn_fini = ossl_conn_fini,
    .advance = ossl_advance,
    .write_app = ossl_write_app,
    .close_notify = ossl_close_notify,
    .get_facts = ossl_get_facts,
    .send_alert = ossl_send_alert,
    .export_keying_material = ossl_export_keying_material,
    .session_export = ossl_session_export,
    .session_parse = ossl_session_parse,
    .session_parsed_free = ossl_session_parsed_free,
};

const polytls_driver *ptls_openssl_driver(void)
{
    return &openssl_driver;
}
