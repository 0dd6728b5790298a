/*
 * polytls — one small sans-IO TLS API over OpenSSL 3, GnuTLS 3.7 or wolfSSL 5.5.
 *
 * The program moves bytes between its own transport and polytls; polytls hands
 * back bytes to send (through the write_to_wire callback) and plaintext to use.
 * polytls never does I/O, never prints and never aborts.
 *
 * Conventions used by every declaration below:
 *  - Every fallible call returns a polytls_status; POLYTLS_OK is 0.
 *  - Output parameters are written only when the call returns POLYTLS_OK
 *    (data_from_wire is the one documented exception: decrypted data is
 *    returned alongside an error so that nothing is lost).
 *  - A NULL where an object is required is POLYTLS_ERR_INVALID_ARGUMENT.
 *  - Callbacks take `void *user` first and run on the caller's thread,
 *    inside the call that triggered them (see "Re-entrancy" below).
 *  - Objects are opaque. Certificates, trust stores, server certificate
 *    sets, clients and servers are reference counted or immutable after
 *    their first use and may be shared between threads; a connection is
 *    used by one thread at a time.
 *
 * Re-entrancy: from inside any connection callback the user may call
 * polytls_conn_send_alert, polytls_conn_application_finished, the connection
 * getters and polytls_chain_reply_send / _cancel. Any other call on the same
 * connection (data_from_wire, data_from_application, eof_from_wire, free)
 * returns POLYTLS_ERR_WRONG_STATE. polytls_conn_free from inside one of the
 * connection's own callbacks is deferred: the connection is freed when the
 * outermost polytls call on it returns.
 */
#ifndef POLYTLS_POLYTLS_H
#define POLYTLS_POLYTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polytls/version.h"
#include "polytls/alerts.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define POLYTLS_API __attribute__((visibility("default")))
#else
#define POLYTLS_API
#endif

/* ------------------------------------------------------------------------ */
/* Status codes (the seed's exceptions)                                      */
/* ------------------------------------------------------------------------ */

typedef enum polytls_status {
    POLYTLS_OK = 0,
    /* The peer sent a fatal alert (the seed's TLSAlertError); read it with
       polytls_conn_peer_alert(). The connection is invalidated. */
    POLYTLS_ERR_TLS_ALERT = 1,
    /* Invalid TLS data from the peer (BadTLSDataError): malformed or
       tampered records, a failed verification, a truncated stream. */
    POLYTLS_ERR_BAD_TLS_DATA = 2,
    /* The object can no longer be used (InvalidatedError). */
    POLYTLS_ERR_INVALIDATED = 3,
    /* The alert level is not allowed for that code (InvalidAlertLevel). */
    POLYTLS_ERR_INVALID_ALERT_LEVEL = 4,
    POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY = 5,
    POLYTLS_ERR_MORE_THAN_ONE_LEAF = 6,
    POLYTLS_ERR_NO_LEAF = 7,
    /* Certificates that do not form one chain, or a chain that does not
       reach one of the requested roots (NoCertificateChainError). */
    POLYTLS_ERR_NO_CERTIFICATE_CHAIN = 8,
    POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY = 9,
    /* A user callback reported failure; the connection is invalidated. */
    POLYTLS_ERR_CALLBACK_FAILED = 10,
    POLYTLS_ERR_INVALID_ARGUMENT = 11,
    POLYTLS_ERR_NO_MEMORY = 12,
    /* PEM or DER that does not parse. */
    POLYTLS_ERR_BAD_ENCODING = 13,
    /* The private key does not belong to the certificate. */
    POLYTLS_ERR_KEY_MISMATCH = 14,
    /* The chosen backend cannot do this (see polytls_backend_capabilities). */
    POLYTLS_ERR_UNSUPPORTED = 15,
    /* The backend is not built in, its module is not found or not
       trustworthy; the message says which paths were tried and why. */
    POLYTLS_ERR_BACKEND_UNAVAILABLE = 16,
    /* The call is legal later (or earlier) but not now. */
    POLYTLS_ERR_WRONG_STATE = 17,
    /* An unexpected failure inside the TLS library; the message has its words. */
    POLYTLS_ERR_INTERNAL = 18
} polytls_status;

/* "POLYTLS_ERR_TLS_ALERT" etc.; "POLYTLS_UNKNOWN_STATUS" for other values. */
POLYTLS_API const char *polytls_status_name(polytls_status s);
/* One sentence describing the status. Never NULL. */
POLYTLS_API const char *polytls_strerror(polytls_status s);
/* The IANA name of an alert code ("close_notify", "unexpected_message", ...,
   "no_renegotiation_RESERVED"); NULL for a value that is not a registered
   code. */
POLYTLS_API const char *polytls_alert_name(polytls_alert a);

/* The message of the last failure on this thread for calls that have no
   object to hold it (factories, polytls_backend_get, ..._new). Valid until the
   next polytls call on this thread. Never NULL ("" when there is none). */
POLYTLS_API const char *polytls_last_error_message(void);

/* ------------------------------------------------------------------------ */
/* Library version                                                          */
/* ------------------------------------------------------------------------ */

/* POLYTLS_VERSION_NUMBER of the library actually loaded (major<<16 | minor<<8 | patch). */
POLYTLS_API uint32_t polytls_version_number(void);
/* "MAJOR.MINOR.PATCH" of the library actually loaded. */
POLYTLS_API const char *polytls_version_string(void);

/* ------------------------------------------------------------------------ */
/* Backends                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct polytls_backend polytls_backend;

/* Capability bits. A request the backend cannot honour returns
   POLYTLS_ERR_UNSUPPORTED; nothing is silently ignored. */
typedef enum polytls_capability {
    /* The server's certificate chain may be chosen after the ClientHello
       (SNI) and supplied later. */
    POLYTLS_CAP_ASYNC_SERVER_CERT = 1u << 0,
    /* The client's certificate chain may be supplied later, after the
       server's CertificateRequest. */
    POLYTLS_CAP_ASYNC_CLIENT_CERT = 1u << 1,
    /* polytls_conn_send_alert sends any registered code at any time once
       the connection has started. Without it, send_alert works only where
       the capability bits below say so; elsewhere it is UNSUPPORTED. */
    POLYTLS_CAP_ALERT_ANYTIME = 1u << 2,
    /* A fatal alert chosen with send_alert inside the verify callback
       reaches the peer as that code, for the codes TLS uses for
       verification failures: 40, 42..46, 48, 51, 80. Other codes there are
       UNSUPPORTED unless the backend also has POLYTLS_CAP_ALERT_ANYTIME.
       Without this bit only bad_certificate (42) can be chosen. */
    POLYTLS_CAP_ALERT_IN_VERIFY = 1u << 3,
    /* ServerTLS dh_params are honoured for TLS 1.2 DHE suites: the server's
       DHE key exchange uses exactly those parameters, or (a client that
       offers RFC 7919 FFDHE groups, on some backends: see the deviations
       table) DHE is refused — the parameters are never replaced by another
       group. Without it, dh_params are UNSUPPORTED. */
    POLYTLS_CAP_CUSTOM_DH = 1u << 4,
    /* The server names the acceptable client CAs in TLS 1.3
       (certificate_authorities) and the client reads them. */
    POLYTLS_CAP_TLS13_CA_NAMES = 1u << 5,
    /* polytls_client_set_low_memory / polytls_server_set_low_memory are
       honoured: idle connections give their record buffers back to the
       heap (OpenSSL: SSL_MODE_RELEASE_BUFFERS). */
    POLYTLS_CAP_LOW_MEMORY = 1u << 6,
    /* polytls_client_set_keylog / polytls_server_set_keylog are honoured:
       the handshake's secrets are handed over as NSS key-log lines. */
    POLYTLS_CAP_KEYLOG = 1u << 8,
    /* polytls_conn_export_keying_material works (RFC 8446 7.5, RFC 5705). */
    POLYTLS_CAP_EXPORTER = 1u << 9,
    /* Session resumption: polytls_client_set_resumption,
       polytls_server_set_resumption, polytls_conn_get_session and
       polytls_client_start_with_session work (TLS 1.3 tickets, TLS 1.2
       session tickets). */
    POLYTLS_CAP_RESUMPTION = 1u << 10
} polytls_capability;

/* Finds a backend by name ("openssl", "gnutls", "wolfssl"). NULL name: the
   environment variable POLYTLS_BACKEND if set, else the build's default.
   Backends are never freed; the handle is valid for the process lifetime,
   and the same backend always gives the same handle.
   Returns POLYTLS_OK, POLYTLS_ERR_INVALID_ARGUMENT (out NULL),
   POLYTLS_ERR_BACKEND_UNAVAILABLE (the message says why). Thread-safe. */
POLYTLS_API polytls_status polytls_backend_get(const char *name, polytls_backend **out);
/* The names of the backends this build provides (built in, then the modules it
   installs), NULL-terminated, in preference order. A module is only loaded by
   polytls_backend_get. */
POLYTLS_API const char *const *polytls_backend_names(void);
POLYTLS_API const char *polytls_backend_name(const polytls_backend *b);
/* The TLS library's version as loaded at run time, e.g. "OpenSSL 3.0.19 ...". */
POLYTLS_API const char *polytls_backend_version(const polytls_backend *b);
/* The TLS library's version the backend was built against. */
POLYTLS_API const char *polytls_backend_built_version(const polytls_backend *b);
/* Bit set of polytls_capability. */
POLYTLS_API uint32_t polytls_backend_capabilities(const polytls_backend *b);
/* Whether the backend is linked into libpolytls (true) or was loaded from
   a module (false). See docs/backends.md. */
POLYTLS_API bool polytls_backend_is_builtin(const polytls_backend *b);
/* The file a module backend was loaded from (valid for the process
   lifetime); NULL for a built-in backend or a NULL handle. */
POLYTLS_API const char *polytls_backend_module_path(const polytls_backend *b);
/* "POLYTLS_CAP_ALPN" ... for one bit; NULL for a value that is not one known bit. */
POLYTLS_API const char *polytls_capability_name(uint32_t bit);

/* ------------------------------------------------------------------------ */
/* Certificates                                                              */
/* ------------------------------------------------------------------------ */

typedef struct polytls_certificate polytls_certificate;

/* Creates a certificate from DER, optionally with its private key (DER:
   PKCS#8, or PKCS#1 RSA / SEC1 EC). The core parses the certificate
   strictly and checks that the key belongs to it.
   Returns POLYTLS_OK, INVALID_ARGUMENT, BAD_ENCODING, KEY_MISMATCH,
   NO_MEMORY. The new certificate has one reference. */
POLYTLS_API polytls_status polytls_certificate_new(const uint8_t *der, size_t der_len,
                                                   const uint8_t *key_der, size_t key_len,
                                                   polytls_certificate **out);
POLYTLS_API polytls_certificate *polytls_certificate_ref(polytls_certificate *c);
/* Drops one reference; the last one frees it (key bytes are wiped). NULL is ignored. */
POLYTLS_API void polytls_certificate_unref(polytls_certificate *c);
/* The certificate's DER (the seed's get_asn1_bytes). The pointer is valid
   while the certificate lives. */
POLYTLS_API polytls_status polytls_certificate_der(const polytls_certificate *c,
                                                   const uint8_t **der, size_t *len);
POLYTLS_API bool polytls_certificate_has_private_key(const polytls_certificate *c);
/* True for a CA certificate (basicConstraints cA=TRUE); a leaf is any other. */
POLYTLS_API bool polytls_certificate_is_ca(const polytls_certificate *c);
/* DER of the subject / issuer Name; valid while the certificate lives. */
POLYTLS_API polytls_status polytls_certificate_subject(const polytls_certificate *c,
                                                       const uint8_t **der, size_t *len);
POLYTLS_API polytls_status polytls_certificate_issuer(const polytls_certificate *c,
                                                      const uint8_t **der, size_t *len);

/* Frees an array of certificates returned by the factories below (unrefs
   each one, then frees the array). NULL is ignored. */
POLYTLS_API void polytls_certificates_free(polytls_certificate **certs, size_t n);

/* Strict PEM factories (the seed's TODO).
 *
 * polytls_certificates_from_pem: a bag of CERTIFICATE blocks. Anything else
 * in the input (a private key, another PEM type, text between blocks that
 * is not whitespace) is refused: EXTRANEOUS_PRIVATE_KEY for a key,
 * BAD_ENCODING for the rest. An input with no certificate is BAD_ENCODING.
 *
 * polytls_chain_from_pem: a served chain. cert_pem holds the leaf and its
 * CA certificates (any order), key_pem exactly one private key. Exactly
 * one leaf (NO_LEAF, MORE_THAN_ONE_LEAF), the key must match the leaf
 * (KEY_MISMATCH), every certificate must belong to the leaf's chain
 * (NO_CERTIFICATE_CHAIN for a stray), a key inside cert_pem is
 * EXTRANEOUS_PRIVATE_KEY. key_pem NULL is LEAF_HAS_NO_PRIVATE_KEY; a
 * key_pem holding no key, or anything besides the key (another block, such
 * as the "EC PARAMETERS" that `openssl ecparam -genkey` writes), is
 * BAD_ENCODING; an encrypted key or an unsupported key type is UNSUPPORTED.
 * Keys are accepted as PKCS#8 ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY")
 * or SEC1 ("EC PRIVATE KEY"). The result is ordered leaf first; the leaf
 * carries the key.
 *
 * On success *certs is an array of *n certificates, each with one
 * reference; free with polytls_certificates_free. */
POLYTLS_API polytls_status polytls_certificates_from_pem(const char *pem, size_t len,
                                                         polytls_certificate ***certs, size_t *n);
POLYTLS_API polytls_status polytls_chain_from_pem(const char *cert_pem, size_t cert_len,
                                                  const char *key_pem, size_t key_len,
                                                  polytls_certificate ***chain, size_t *n);
/* File variants (read the whole file; an unreadable file is INVALID_ARGUMENT
   with the errno text in polytls_last_error_message). */
POLYTLS_API polytls_status polytls_certificates_from_pem_file(const char *path,
                                                              polytls_certificate ***certs, size_t *n);
POLYTLS_API polytls_status polytls_chain_from_pem_files(const char *cert_path, const char *key_path,
                                                        polytls_certificate ***chain, size_t *n);

/* ------------------------------------------------------------------------ */
/* Trust stores                                                              */
/* ------------------------------------------------------------------------ */

typedef struct polytls_trust_store polytls_trust_store;

/* A store of trusted CA certificates. The certificates are referenced, not
   copied. EXTRANEOUS_PRIVATE_KEY if any carries a private key;
   INVALID_ARGUMENT for n = 0 or a NULL entry. */
POLYTLS_API polytls_status polytls_trust_store_new(polytls_certificate *const *certs, size_t n,
                                                   polytls_trust_store **out);
/* The operating system's bundle (the seed's DEFAULT): the file named by
   SSL_CERT_FILE if set, else /etc/ssl/certs/ca-certificates.crt. Read and
   parsed by the core, so every backend trusts exactly the same set.
   Certificates in the bundle that do not parse are skipped (counted in
   polytls_trust_store_count). A missing or unreadable bundle is
   BAD_ENCODING with the path in the message. The parsed store is cached
   for the process; each call returns a new reference to it. */
POLYTLS_API polytls_status polytls_trust_store_system(polytls_trust_store **out);
/* The number of certificates in the store (0 for NULL). */
POLYTLS_API size_t polytls_trust_store_count(const polytls_trust_store *ts);
/* Reference counting: _ref returns its argument; the last _unref frees the
   store and drops its certificates. Stores are immutable: share freely
   between threads. NULL is ignored. */
POLYTLS_API polytls_trust_store *polytls_trust_store_ref(polytls_trust_store *ts);
POLYTLS_API void polytls_trust_store_unref(polytls_trust_store *ts);

/* ------------------------------------------------------------------------ */
/* Asynchronous certificate selection                                        */
/* ------------------------------------------------------------------------ */

/* The seed's certificate_chain_callback. Handed to a selection callback;
   finished by exactly one polytls_chain_reply_send or _cancel. */
typedef struct polytls_chain_reply polytls_chain_reply;

/* Answers with a chain (leaf first is not required; the core orders it) or
 * with none (n = 0, chain may be NULL).
 * The chain is checked: exactly one leaf (NO_LEAF, MORE_THAN_ONE_LEAF), the
 * leaf has its key (LEAF_HAS_NO_PRIVATE_KEY), the certificates form one
 * chain (NO_CERTIFICATE_CHAIN) and, for a client reply to a request that
 * named roots, the chain reaches one of them (NO_CERTIFICATE_CHAIN). A chain
 * that fails a check leaves the reply open so a corrected one can follow.
 * On POLYTLS_OK the reply is finished and the handshake resumes at once:
 * the write callback may fire from inside this call. The certificates are
 * referenced, not copied.
 * A reply that was already finished returns POLYTLS_ERR_INVALIDATED while
 * its connection lives. A reply whose connection was freed or invalidated
 * before it was answered returns POLYTLS_ERR_INVALIDATED; if the
 * connection was freed, that call also releases the reply.
 * Memory: a reply is released when it has been finished (send OK, or
 * cancel) and its connection is freed — so after the connection is freed,
 * a finished reply must not be used again. */
POLYTLS_API polytls_status polytls_chain_reply_send(polytls_chain_reply *r,
                                                    polytls_certificate *const *chain, size_t n);
/* Gives up: the same as sending no chain (no-op if already finished).
   After the connection was freed it releases an unfinished reply. NULL is
   ignored. */
POLYTLS_API void polytls_chain_reply_cancel(polytls_chain_reply *r);

/* ------------------------------------------------------------------------ */
/* Server certificates (the seed's ServerCertificates)                       */
/* ------------------------------------------------------------------------ */

typedef struct polytls_server_certificates polytls_server_certificates;

typedef struct polytls_server_certificates_callbacks {
    size_t size; /* sizeof(polytls_server_certificates_callbacks) */
    /* Called once per connection after the whole ClientHello arrived,
       before any backend sees it. server_name is the SNI host name
       (NUL-terminated, lower case; valid during the call) or NULL when the
       client sent none. Answer through `reply`, now or later; meanwhile
       polytls_conn_send_alert may refuse the client with any alert (the
       core writes it in plaintext, the same on every backend). */
    void (*get_chain_for_server_name)(void *user, const char *server_name,
                                      polytls_chain_reply *reply);
    /* Optional: called when the object is freed. */
    void (*destroy)(void *user);
} polytls_server_certificates_callbacks;

POLYTLS_API polytls_status polytls_server_certificates_new(
    const polytls_server_certificates_callbacks *callbacks, void *user,
    polytls_server_certificates **out);
/* ServerCertificateChain: one chain for every client. Checked at once:
   exactly one leaf with its key, every certificate part of its chain. */
POLYTLS_API polytls_status polytls_server_chain_new(polytls_certificate *const *chain, size_t n,
                                                    polytls_server_certificates **out);
/* SNIServerCertificates: `certs` may hold several chains (each leaf with its
   key; CA certificates may be shared). A client's SNI name is matched
   against each leaf's subjectAltName dNSName entries (RFC 6125: exact, or
   a wildcard "*" as the whole left-most label); the first match wins, in
   the order the leaves were given. No match, or no SNI: the default chain
   (n_default may be 0: then no chain, and the handshake fails with
   unrecognized_name when the client sent SNI, handshake_failure when not).
   Checked at once: every leaf has its key (LEAF_HAS_NO_PRIVATE_KEY), every
   CA certificate is on some leaf's chain and appears once
   (NO_CERTIFICATE_CHAIN otherwise), `certs` holds a leaf (NO_LEAF). */
POLYTLS_API polytls_status polytls_sni_certificates_new(polytls_certificate *const *certs, size_t n,
                                                        polytls_certificate *const *default_chain,
                                                        size_t n_default,
                                                        polytls_server_certificates **out);
/* Reference counting; the last _unref calls callbacks->destroy(user) for a
   user-defined set. Servers keep their own reference. NULL is ignored. */
POLYTLS_API polytls_server_certificates *polytls_server_certificates_ref(polytls_server_certificates *sc);
POLYTLS_API void polytls_server_certificates_unref(polytls_server_certificates *sc);

/* ------------------------------------------------------------------------ */
/* Client certificate store (the seed's ClientCertificateStore)             */
/* ------------------------------------------------------------------------ */

typedef struct polytls_client_cert_store polytls_client_cert_store;

typedef struct polytls_client_cert_store_callbacks {
    size_t size; /* sizeof(polytls_client_cert_store_callbacks) */
    /* The server asked for a certificate and named acceptable CAs: `roots`
       are DER-encoded distinguished names (valid during the call only). */
    void (*get_chain_for_roots)(void *user, const uint8_t *const *roots, const size_t *root_lens,
                                size_t n_roots, polytls_chain_reply *reply);
    /* The server asked for a certificate without naming CAs. */
    void (*get_default_chain)(void *user, polytls_chain_reply *reply);
    void (*destroy)(void *user);
} polytls_client_cert_store_callbacks;

POLYTLS_API polytls_status polytls_client_cert_store_new(
    const polytls_client_cert_store_callbacks *callbacks, void *user,
    polytls_client_cert_store **out);
/* Drops the caller's reference (clients keep their own); the last one
   calls callbacks->destroy(user). NULL is ignored. */
POLYTLS_API void polytls_client_cert_store_unref(polytls_client_cert_store *s);

/* ------------------------------------------------------------------------ */
/* Connections                                                               */
/* ------------------------------------------------------------------------ */

typedef struct polytls_conn polytls_conn;

typedef struct polytls_conn_callbacks {
    size_t size; /* sizeof(polytls_conn_callbacks): lets the table grow */
    /* Required. TLS bytes to send, in order. `data` is valid during the call. */
    void (*write_to_wire)(void *user, const uint8_t *data, size_t len);
    /* Required. The TLS rules say the transport must close. Stop reading at
       once. immediate=true: close the write side now. immediate=false:
       deliver what write_to_wire was given (an alert), then close. Called at
       most once per connection. */
    void (*wire_close)(void *user, bool immediate);
    /* Optional. Runs once per negotiation, after the backend's own chain,
       hostname and basic checks passed, with the chain leaf first and the
       trust anchor last (valid during the call). Return 0 to accept;
       anything else invalidates the connection (POLYTLS_ERR_CALLBACK_FAILED).
       May call polytls_conn_send_alert. On the server it sees client
       certificates. */
    int (*verify)(void *user, polytls_conn *conn, polytls_certificate *const *chain, size_t n);
    /* Optional. The handshake finished. */
    void (*handshake_done)(void *user, polytls_conn *conn);
} polytls_conn_callbacks;

/* Feeds bytes read from the transport. Any split of the stream works. The
 * plaintext found is returned in *app / *app_len (valid until the next call
 * on this connection; *app_len may be 0) — also when an error is returned,
 * so data decrypted before the error is not lost (*app_len is 0 when there
 * is none). app and app_len may not be NULL; on INVALID_ARGUMENT they are
 * not written.
 * Returns OK; TLS_ALERT (peer's fatal alert: polytls_conn_peer_alert;
 * wire_close(immediate=true)); BAD_TLS_DATA (our alert was written, then
 * wire_close(immediate=false)); CALLBACK_FAILED (verify refused);
 * INVALIDATED (after any of those); WRONG_STATE (inside a callback, or after
 * the peer's close_notify); INVALID_ARGUMENT. While a chain reply is
 * outstanding the input is buffered and OK is returned. Plaintext that
 * arrived while a chain reply resumed the handshake (inside
 * polytls_chain_reply_send) is returned by the next call; len = 0 is allowed
 * to collect it. */
POLYTLS_API polytls_status polytls_conn_data_from_wire(polytls_conn *c, const uint8_t *in, size_t len,
                                                       const uint8_t **app, size_t *app_len);
/* Encrypts and writes application data. Before the handshake completes the
 * data is queued and sent when it does. len = 0 is OK and does nothing.
 * INVALIDATED after application_finished or invalidation. */
POLYTLS_API polytls_status polytls_conn_data_from_application(polytls_conn *c, const uint8_t *data,
                                                              size_t len);
/* Sends a TLS alert. level POLYTLS_ALERT_LEVEL_DEFAULT takes the level the
 * TLS specification mandates for the code in the negotiated version (TLS
 * 1.3 rules before negotiation ends); INVALID_ALERT_LEVEL when the code has
 * no mandated level or the level is forbidden for it. close_notify is the
 * same as polytls_conn_application_finished. A fatal alert invalidates the
 * connection and calls wire_close(immediate=false). UNSUPPORTED when the
 * backend cannot send that alert now (see POLYTLS_CAP_ALERT_*): nothing is
 * sent and the connection is unchanged. WRONG_STATE before the handshake
 * has produced anything for a server, INVALIDATED after invalidation. */
POLYTLS_API polytls_status polytls_conn_send_alert(polytls_conn *c, polytls_alert code,
                                                   polytls_alert_level level);
/* The application will send no more data: sends close_notify once the
 * handshake is done (recorded until then) and makes data_from_application
 * return INVALIDATED. A second call is OK and does nothing. */
POLYTLS_API polytls_status polytls_conn_application_finished(polytls_conn *c);
/* The transport's read side ended. After the peer's close_notify that is
 * POLYTLS_OK; otherwise a truncation: BAD_TLS_DATA ("truncated"), the
 * connection is invalidated and wire_close(immediate=true) is called. */
POLYTLS_API polytls_status polytls_conn_eof_from_wire(polytls_conn *c);
/* Frees the connection. Outstanding chain replies stay safe to use (they
 * then return INVALIDATED). NULL is ignored. Inside one of its own
 * callbacks the free is deferred until the callback's outer call returns. */
POLYTLS_API void polytls_conn_free(polytls_conn *c);

/* Connection facts. Getters that can fail return WRONG_STATE before the
 * handshake produced the fact; pointers are valid while the connection
 * lives. */
POLYTLS_API bool polytls_conn_handshake_done(const polytls_conn *c);
/* The peer's close_notify was received. */
POLYTLS_API bool polytls_conn_peer_closed(const polytls_conn *c);
/* The connection is invalidated (every further call is INVALIDATED). */
POLYTLS_API bool polytls_conn_invalidated(const polytls_conn *c);
/* The last alert the peer sent (code and level as received; TLS 1.3 alerts
 * other than close_notify and user_canceled are reported as fatal).
 * WRONG_STATE when none was received. */
POLYTLS_API polytls_status polytls_conn_peer_alert(const polytls_conn *c, polytls_alert *code,
                                                   polytls_alert_level *level);
/* 0x0303 for TLS 1.2, 0x0304 for TLS 1.3. */
POLYTLS_API polytls_status polytls_conn_tls_version(const polytls_conn *c, uint16_t *version);
/* IANA name ("TLS_AES_128_GCM_SHA256") and number (0x1301). name or id may be NULL
 * (not both: INVALID_ARGUMENT). */
POLYTLS_API polytls_status polytls_conn_cipher_suite(const polytls_conn *c, const char **name,
                                                     uint16_t *id);
/* The key-exchange group by IANA name ("x25519", "secp256r1", "secp384r1",
 * "secp521r1") and number (29, 23, 24, 25). *name is NULL and *id 0 when
 * no named group was used (TLS 1.2 DHE with the server's DH parameters).
 * name or id may be NULL. */
POLYTLS_API polytls_status polytls_conn_group(const polytls_conn *c, const char **name, uint16_t *id);
/* The session id (TLS 1.2: the server's; TLS 1.3: the legacy_session_id
 * echo); may have length 0. */
POLYTLS_API polytls_status polytls_conn_session_id(const polytls_conn *c, const uint8_t **id,
                                                   size_t *len);
/* The negotiated ALPN protocol; *len = 0 when none was negotiated. */
POLYTLS_API polytls_status polytls_conn_alpn(const polytls_conn *c, const uint8_t **proto,
                                             size_t *len);
/* Client: the name it sent as SNI (NULL for an IP literal). Server: the SNI
 * the client sent, NULL when none. Available on the server once the
 * ClientHello arrived. */
POLYTLS_API polytls_status polytls_conn_server_name(const polytls_conn *c, const char **name);
/* The peer's verified chain, leaf first, trust anchor last (as handed to
 * verify). n = 0 when the peer sent no certificate. Valid while the
 * connection lives. */
POLYTLS_API polytls_status polytls_conn_peer_chain(const polytls_conn *c,
                                                   polytls_certificate *const **chain, size_t *n);
/* A readable message about the last failure on this connection, including
 * the backend's own words where useful. Never NULL ("" when none). */
POLYTLS_API const char *polytls_conn_error_message(const polytls_conn *c);
/* The backend this connection runs on. */
POLYTLS_API const polytls_backend *polytls_conn_backend(const polytls_conn *c);

/* ------------------------------------------------------------------------ */
/* Clients (ClientTLS) and servers (ServerTLS)                               */
/* ------------------------------------------------------------------------ */

typedef struct polytls_client polytls_client;
typedef struct polytls_server polytls_server;

/* server_hostname: a DNS name (IDNA A-label) or an IPv4/IPv6 literal;
 * verified against dNSName or iPAddress subjectAltNames; DNS names are sent
 * as SNI. trust_root NULL = the system store. client_store may be NULL.
 * backend NULL = polytls_backend_get(NULL). Referenced objects are kept.
 * Returns OK, INVALID_ARGUMENT (bad hostname), NO_MEMORY,
 * BACKEND_UNAVAILABLE, BAD_ENCODING (system store unreadable). */
POLYTLS_API polytls_status polytls_client_new(const polytls_backend *backend,
                                              const char *server_hostname,
                                              polytls_trust_store *trust_root,
                                              polytls_client_cert_store *client_store,
                                              polytls_client **out);
/* Drops the caller's handle. Connections started from it keep it alive until
   they are freed, so this may be called while they are open. NULL is
   ignored. */
POLYTLS_API void polytls_client_free(polytls_client *c);

/* Starts a connection; the write callback receives the ClientHello before
 * this returns. callbacks->size must be at least the size of the fields up
 * to wire_close. Returns OK, INVALID_ARGUMENT, NO_MEMORY, KEY_MISMATCH (a
 * client certificate the backend refuses), INTERNAL. */
POLYTLS_API polytls_status polytls_client_start(polytls_client *client,
                                                const polytls_conn_callbacks *callbacks, void *user,
                                                polytls_conn **out);

/* dh_der: PKCS#3 DHParameter DER for TLS 1.2 DHE suites, or NULL.
 * UNSUPPORTED when dh_der is given and the backend lacks
 * POLYTLS_CAP_CUSTOM_DH; BAD_ENCODING when it does not parse. */
POLYTLS_API polytls_status polytls_server_new(const polytls_backend *backend,
                                              polytls_server_certificates *certificates,
                                              const uint8_t *dh_der, size_t dh_len,
                                              polytls_server **out);
/* As polytls_client_free. */
POLYTLS_API void polytls_server_free(polytls_server *s);

typedef enum polytls_client_auth {
    POLYTLS_CLIENT_AUTH_NONE = 0,
    POLYTLS_CLIENT_AUTH_OPTIONAL = 1, /* ask; a client without one is accepted */
    POLYTLS_CLIENT_AUTH_REQUIRED = 2  /* ask; a client without one fails */
} polytls_client_auth;

/* Asks clients for a certificate verified against `trust` (referenced).
 * send_ca_names: name the trust store's subjects in the CertificateRequest
 * (TLS 1.2 list, TLS 1.3 certificate_authorities). Must be called before
 * the first start: WRONG_STATE afterwards. */
POLYTLS_API polytls_status polytls_server_set_client_auth(polytls_server *s, polytls_client_auth mode,
                                                          polytls_trust_store *trust,
                                                          bool send_ca_names);
/* The server's TLS version range; defaults 0x0303..0x0304. Only TLS 1.2 and
 * TLS 1.3 are valid; before the first start. The same call for clients. */
POLYTLS_API polytls_status polytls_server_set_versions(polytls_server *s, uint16_t min, uint16_t max);
POLYTLS_API polytls_status polytls_client_set_versions(polytls_client *c, uint16_t min, uint16_t max);

/* ALPN (RFC 7301). protos: n protocol names, in preference order, each
 * lens[i] bytes long (1..255, not NUL-terminated, any bytes); at most 65535
 * bytes in all once each is prefixed by its length byte. The list is copied.
 * Client: offered in that order. Server: the server's preference wins; a
 * client offering ALPN with no name in common fails the handshake with
 * no_application_protocol (120); a client offering no ALPN gets none.
 * polytls_conn_alpn reports the result. Before the first start
 * (WRONG_STATE afterwards); INVALID_ARGUMENT for NULL, n = 0, an empty or
 * over-long name or list. A list the backend cannot express makes the
 * first start fail with UNSUPPORTED (never a different list): wolfSSL 5.5
 * takes no name containing ',' or NUL; GnuTLS 3.7 at most 8 names of at
 * most 31 bytes (see the deviations table). */
POLYTLS_API polytls_status polytls_client_set_alpn(polytls_client *c, const uint8_t *const *protos,
                                                   const size_t *lens, size_t n);
POLYTLS_API polytls_status polytls_server_set_alpn(polytls_server *s, const uint8_t *const *protos,
                                                   const size_t *lens, size_t n);

/* Low-memory mode: trade a few allocations per record for a much smaller
 * idle connection (the backend frees its record buffers whenever they are
 * empty instead of keeping them for the connection's lifetime). For
 * servers holding many mostly idle connections; see docs/performance.md.
 * on = false is the default and always OK. on = true is UNSUPPORTED when
 * the backend lacks POLYTLS_CAP_LOW_MEMORY (nothing is changed). Before the
 * first start: WRONG_STATE afterwards. INVALID_ARGUMENT for NULL. */
POLYTLS_API polytls_status polytls_client_set_low_memory(polytls_client *c, bool on);
POLYTLS_API polytls_status polytls_server_set_low_memory(polytls_server *s, bool on);

/* Certificate pinning. pins: n SHA-256 digests of DER SubjectPublicKeyInfo
 * (what `openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER |
 * openssl dgst -sha256` prints). After the backend's own verification (and
 * the host-name check) the core requires some certificate of the peer's
 * verified chain, leaf to trust anchor, to have one of them; otherwise the
 * handshake fails: BAD_TLS_DATA, the message says so, the peer receives
 * bad_certificate (42), and verify is not called. Pinning adds to
 * verification, never replaces it. The server form pins client
 * certificates. Before the first start (WRONG_STATE afterwards);
 * INVALID_ARGUMENT for NULL or n outside 1..1024. The digests are copied. */
POLYTLS_API polytls_status polytls_client_set_pins(polytls_client *c, const uint8_t (*pins)[32], size_t n);
POLYTLS_API polytls_status polytls_server_set_pins(polytls_server *s, const uint8_t (*pins)[32], size_t n);

/* Cipher suites by IANA name, TLS 1.3 and TLS 1.2 ones in one list, in
 * preference order. Allowed:
 * TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
 * TLS_CHACHA20_POLY1305_SHA256, TLS_ECDHE_{ECDSA,RSA}_WITH_AES_128_GCM_SHA256,
 * TLS_ECDHE_{ECDSA,RSA}_WITH_AES_256_GCM_SHA384,
 * TLS_ECDHE_{ECDSA,RSA}_WITH_CHACHA20_POLY1305_SHA256, and, for a server
 * created with DH parameters only, the three TLS_DHE_RSA_WITH_* ones.
 * Anything else (CBC, RSA key exchange, unknown) is INVALID_ARGUMENT with
 * the name in the message; so are NULL, n = 0 and n > 64. Only the listed
 * suites are offered or accepted; a list without TLS 1.3 suites disables
 * TLS 1.3 (without TLS 1.2 suites, TLS 1.2), and if that leaves no version
 * of the range the first start fails with INVALID_ARGUMENT. A peer with no
 * suite in common fails the handshake (handshake_failure, 40). The default
 * is every allowed suite. Before the first start (WRONG_STATE afterwards);
 * the list is copied. polytls_conn_cipher_suite reports the result. A list
 * the backend cannot express makes the first start fail with UNSUPPORTED
 * (never a different list): GnuTLS 3.7 enables ciphers and key exchanges
 * independently, so it takes only lists that hold every combination of
 * their ciphers (and TLS 1.2 key exchanges) for the versions in the range
 * (see the deviations table). */
POLYTLS_API polytls_status polytls_client_set_cipher_suites(polytls_client *c, const char *const *names,
                                                            size_t n);
POLYTLS_API polytls_status polytls_server_set_cipher_suites(polytls_server *s, const char *const *names,
                                                            size_t n);
/* Key-exchange groups by IANA name, in preference order: "x25519",
 * "secp256r1", "secp384r1", "secp521r1" (the default is all four). Anything
 * else is INVALID_ARGUMENT naming it; NULL, n = 0 or n > 16 too. A peer with
 * no group in common fails the handshake (handshake_failure, 40). Before
 * the first start (WRONG_STATE afterwards). A wolfSSL 5.5 server cannot
 * enforce a list narrower than the four groups in TLS 1.2: such a list on a
 * server whose range includes TLS 1.2 makes its first start fail with
 * UNSUPPORTED (see the deviations table). */
POLYTLS_API polytls_status polytls_client_set_groups(polytls_client *c, const char *const *names, size_t n);
POLYTLS_API polytls_status polytls_server_set_groups(polytls_server *s, const char *const *names, size_t n);

/* Key log, for decrypting a capture (Wireshark's "(Pre)-Master-Secret log
 * filename"). fn receives one NSS key-log line at a time, "LABEL
 * <client_random hex> <secret hex>" without a newline, on the thread that
 * drives the handshake, while it runs: TLS 1.3 gives
 * CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_HANDSHAKE_TRAFFIC_SECRET,
 * CLIENT_TRAFFIC_SECRET_0, SERVER_TRAFFIC_SECRET_0 and EXPORTER_SECRET;
 * TLS 1.2 gives CLIENT_RANDOM (the master secret). The lines are secrets:
 * never enable this in production. fn NULL turns it off (always OK).
 * UNSUPPORTED without POLYTLS_CAP_KEYLOG (nothing is changed). Before the
 * first start: WRONG_STATE afterwards. INVALID_ARGUMENT for a NULL
 * client/server. */
typedef void (*polytls_keylog_fn)(void *user, const char *line);
POLYTLS_API polytls_status polytls_client_set_keylog(polytls_client *c, polytls_keylog_fn fn, void *user);
POLYTLS_API polytls_status polytls_server_set_keylog(polytls_server *s, polytls_keylog_fn fn, void *user);

/* Keying-material exporter (RFC 8446 section 7.5 for TLS 1.3, RFC 5705 for
 * TLS 1.2): out_len bytes (1..16320) derived from the session for label
 * (1..255 bytes, not NUL-terminated) and context (NULL = no context, which
 * differs from an empty one in TLS 1.2; context_len <= 65535). Both peers
 * get the same bytes. Checked in this order: INVALID_ARGUMENT for NULL or
 * out-of-range arguments; UNSUPPORTED without POLYTLS_CAP_EXPORTER;
 * INVALIDATED after a failure; WRONG_STATE before the handshake is done.
 * out is written only on success. */
POLYTLS_API polytls_status polytls_conn_export_keying_material(polytls_conn *c, const uint8_t *label,
                                                               size_t label_len, const uint8_t *context,
                                                               size_t context_len, uint8_t *out,
                                                               size_t out_len);

/* Verification time: judge the validity periods (notBefore/notAfter) of the
 * peer's certificates as of unix_time (seconds since 1970-01-01 UTC)
 * instead of the current time — for tests, and for validating at a chosen
 * instant. Nothing else of the verification changes. unix_time must lie
 * in 0..253402300799 (year 9999), else INVALID_ARGUMENT. A certificate not
 * valid at that time fails the handshake with certificate_expired (45),
 * BAD_TLS_DATA, on every backend. Before the first start (WRONG_STATE
 * afterwards). */
POLYTLS_API polytls_status polytls_client_set_verify_time(polytls_client *c, int64_t unix_time);
POLYTLS_API polytls_status polytls_server_set_verify_time(polytls_server *s, int64_t unix_time);

/* ------------------------------------------------------------------------ */
/* Session resumption (POLYTLS_CAP_RESUMPTION)                               */
/* ------------------------------------------------------------------------ */

/* What a client needs to resume a session with a server: the backend's
 * ticket, the host name, and the server's verified chain. Opaque,
 * serialisable (polytls_session_serialize) so it can be stored and used by
 * another process running the same backend (sharing the session key). Use each session for one
 * connection: every connection hands out a fresh one. */
typedef struct polytls_session polytls_session;

/* Client: offer and accept session tickets (TLS 1.3 tickets, TLS 1.2
 * RFC 5077 tickets and session ids). Off by default. UNSUPPORTED without
 * POLYTLS_CAP_RESUMPTION when on is true; before the first start
 * (WRONG_STATE afterwards); INVALID_ARGUMENT for NULL. */
POLYTLS_API polytls_status polytls_client_set_resumption(polytls_client *c, bool on);
/* Server: issue and accept session tickets. Off by default. Each full or
 * resumed handshake issues one ticket (TLS 1.3: right after the handshake;
 * TLS 1.2: in the handshake) valid for ticket_lifetime seconds (0: 7200;
 * at most 604800). Tickets are encrypted with a key the server generates at
 * its first start and keeps in memory only; there is no server-side
 * session cache. A server that asks for client certificates cannot resume
 * (the first start fails with INVALID_ARGUMENT): a resumed client presents
 * no certificate for the verify callback to see. UNSUPPORTED without
 * POLYTLS_CAP_RESUMPTION when on is true; before the first start
 * (WRONG_STATE afterwards); INVALID_ARGUMENT for NULL or a lifetime over
 * 604800. */
POLYTLS_API polytls_status polytls_server_set_resumption(polytls_server *s, bool on,
                                                         uint32_t ticket_lifetime);
/* Server: replace the ticket key. Tickets issued before are refused from
 * now on (those clients make a full handshake and get a new ticket). Call
 * it regularly (e.g. daily): a ticket key that never changes lets whoever
 * steals it decrypt every resumed session. Thread-safe; connections already
 * running keep working. WRONG_STATE when resumption is off. */
POLYTLS_API polytls_status polytls_server_rotate_ticket_key(polytls_server *s);

/* Client: a session this connection's server would resume, as a new object
 * the caller frees. TLS 1.3 servers send tickets after the handshake, so the
 * session exists only once polytls_conn_data_from_wire has read one
 * (usually with the server's first bytes after the handshake); TLS 1.2 ones
 * during it. WRONG_STATE before that, on a server, or with resumption off;
 * INVALIDATED once the connection failed or saw a fatal alert (sent or
 * received: resumption data is never used after one). */
POLYTLS_API polytls_status polytls_conn_get_session(polytls_conn *c, polytls_session **out);
/* As polytls_client_start, offering session. The session must come from
 * the same backend and the same server host name, and its chain's trust
 * anchor must be in this client's trust store (INVALID_ARGUMENT otherwise,
 * saying which); INVALIDATED when the session was invalidated (see
 * polytls_session_invalidated); BAD_ENCODING when the backend cannot read
 * it (e.g. written by another version of the library). When the server
 * resumes, the verify callback still runs once, with the chain verified
 * when the session was created, after the pins (if any) were checked
 * against it; the backend checks nothing then. If the callback refuses (or
 * the pins do not match), the connection fails after the resumed handshake
 * completed: CALLBACK_FAILED (BAD_TLS_DATA for pins); the server gets the
 * alert chosen with send_alert (or bad_certificate) when the backend has
 * POLYTLS_CAP_ALERT_ANYTIME, otherwise the transport is closed with no
 * alert. If the server declines, a full handshake runs as usual. The
 * session is referenced, not consumed: free it as usual. */
POLYTLS_API polytls_status polytls_client_start_with_session(polytls_client *client,
                                                             polytls_session *session,
                                                             const polytls_conn_callbacks *callbacks,
                                                             void *user, polytls_conn **out);
/* The handshake resumed a session (false before the handshake is done). */
POLYTLS_API bool polytls_conn_resumed(const polytls_conn *c);

/* The session as bytes. out NULL: *len receives the size needed. Otherwise
 * cap must be at least that (INVALID_ARGUMENT). The bytes hold secrets
 * (the resumption secret): store them like a private key. They are sealed
 * with HMAC-SHA256 under the process's session key (see
 * polytls_session_set_key), so bytes changed in storage are refused
 * before any library parses them. INVALIDATED for an invalidated session. */
POLYTLS_API polytls_status polytls_session_serialize(const polytls_session *s, uint8_t *out, size_t cap,
                                                     size_t *len);
/* Reads bytes written by polytls_session_serialize under the same session
 * key. BAD_ENCODING for anything else, including bytes sealed with another
 * key (the message says what). */
POLYTLS_API polytls_status polytls_session_deserialize(const uint8_t *in, size_t len,
                                                       polytls_session **out);
/* The session was invalidated: the connection it came from (or that
 * offered it) sent or received a fatal alert or failed. Copies serialised
 * before that cannot be recalled; the server refuses their tickets too. */
POLYTLS_API bool polytls_session_invalidated(const polytls_session *s);
/* Frees (wipes) a session. NULL is ignored. */
POLYTLS_API void polytls_session_free(polytls_session *s);
/* The key that seals serialised sessions (32 bytes, copied). By default
 * each process draws a random one at its first serialise/deserialise, so
 * sessions stored by one process are refused by another; processes that
 * share stored sessions set the same secret key, before using sessions.
 * Thread-safe; sessions sealed under the previous key are refused
 * afterwards. INVALID_ARGUMENT for NULL. */
POLYTLS_API polytls_status polytls_session_set_key(const uint8_t key[32]);

POLYTLS_API polytls_status polytls_server_start(polytls_server *server,
                                                const polytls_conn_callbacks *callbacks, void *user,
                                                polytls_conn **out);

#ifdef __cplusplus
}
#endif

#endif /* POLYTLS_POLYTLS_H */
