/*
 * core/driver.h — the only header a backend includes.
 *
 * A backend ("driver") translates: it turns the core's validated
 * configuration into its TLS library's settings and moves bytes between the
 * core's buffers and the library. It decides nothing about what is legal:
 * the core checks every public call against the connection's state before
 * a driver op runs, and the core alone invalidates connections.
 *
 * Ownership and threading:
 *  - A driver context (ctx) is created once per polytls_client/server, from
 *    the complete configuration, and used by many connections, possibly on
 *    several threads at once: it must be read-only after ctx_init.
 *  - A driver connection is used by one thread at a time.
 *  - Every pointer the core passes (config, blobs, chains) is valid only for
 *    the duration of the op unless said otherwise; a driver copies what it
 *    keeps.
 *  - Drivers never print, never abort and never call back into the public
 *    API. They reach the core only through the services table handed to
 *    init(), so a driver built as a dlopen module needs no symbol from
 *    libpolytls.
 *
 * Ops return polytls_status unless stated otherwise; an op that fails sets a
 * readable message with svc->set_error (the library's own words where
 * useful).
 */
#ifndef POLYTLS_CORE_DRIVER_H
#define POLYTLS_CORE_DRIVER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polytls/polytls.h"

/* Bumped on every incompatible change of this header. */
#define POLYTLS_DRIVER_ABI_VERSION 1u

/* Name of the one symbol a backend module exports:
   const polytls_driver *polytls_driver_entry_v1(void); */
#define POLYTLS_DRIVER_ENTRY_SYMBOL "polytls_driver_entry_v1"

/* The core's side of one connection, opaque to drivers. */
typedef struct polytls_conn polytls_core_conn;

/* A byte string. */
typedef struct polytls_drv_blob {
    const uint8_t *data;
    size_t len;
} polytls_drv_blob;

/* A certificate chain with the leaf's private key. */
typedef struct polytls_drv_chain {
    const polytls_drv_blob *certs; /* DER, leaf first, then issuers in order */
    size_t n;                      /* >= 1 */
    polytls_drv_blob key;          /* unencrypted PKCS#8 DER (the core normalises every key) */
} polytls_drv_chain;

/* ------------------------------------------------------------------------ */
/* Configuration (validated by the core; applied exactly by the driver)      */
/* ------------------------------------------------------------------------ */

typedef struct polytls_drv_config {
    size_t size;     /* sizeof(polytls_drv_config) */
    bool is_server;
    /* 0x0303 (TLS 1.2) .. 0x0304 (TLS 1.3); min <= max. The driver pins the
       range exactly and enables only AEAD suites with (EC)DHE key exchange. */
    uint16_t min_version;
    uint16_t max_version;
    /* Client: the trust anchors for the server's chain (never empty).
       Server: the anchors for client certificates (empty when
       client_auth is NONE). */
    const polytls_drv_blob *trust;
    size_t n_trust;
    /* Server only. */
    polytls_client_auth client_auth;
    bool send_ca_names;              /* name the trust subjects in CertificateRequest */
    polytls_drv_blob dh_params;      /* PKCS#3 DER, or {NULL,0}; only with POLYTLS_CAP_CUSTOM_DH */
    /* Both sides: the ALPN protocols in preference order, in wire format
       (each name, 1..255 bytes, prefixed by its length byte; total <=
       65535), or {NULL,0} for no ALPN. Client: offer them in that order.
       Server: choose by the SERVER's order; a client offering ALPN with no
       name in common fails with no_application_protocol (120); a client
       offering none gets none. */
    polytls_drv_blob alpn;
    /* Both sides: release record buffers while idle (polytls_*_set_low_memory).
       Only set for a backend that claims POLYTLS_CAP_LOW_MEMORY. Read it only
       when size covers it (a config from an older core lacks the field). */
    bool low_memory;
    /* Both sides: the user's key-log callback (NULL = off). Only set for a
       backend that claims POLYTLS_CAP_KEYLOG. Read it only when size covers
       it. A driver whose library hands over whole NSS lines passes them to
       keylog(keylog_user, line) on the thread that runs advance(); one that
       gets a label and a secret calls svc->keylog instead, which builds the
       line. */
    polytls_keylog_fn keylog;
    void *keylog_user;
    /* Both sides: the cipher suites and groups (IANA numbers) in preference
       order; n = 0 means the default pinned set. The core validated them
       (only the suites and groups listed above; DHE suites only for a server
       with dh_params) and narrowed min/max_version so that each version of
       the range has a suite in the list. Apply exactly these. Read them only
       when size covers them. */
    const uint16_t *suites;
    size_t n_suites;
    const uint16_t *groups;
    size_t n_groups;
    /* Both sides: judge certificate validity periods as of verify_time
       (seconds since 1970 UTC) instead of now, when has_verify_time. A
       library that can take the time applies it; one that cannot turns its
       own validity-period checks off while has_verify_time is set: the core
       checks every certificate of the chain handed to svc->verify at
       verify_time anyway (and answers certificate_expired). Read them only
       when size covers them. */
    bool has_verify_time;
    int64_t verify_time;
    /* Resumption (only set for a backend with POLYTLS_CAP_RESUMPTION; read
       only when size covers it). Client: offer session tickets (TLS 1.3 and
       RFC 5077), keep what the server sends for session_export; no client
       session cache of the library's own. Server: issue exactly one ticket
       per full or resumed handshake (TLS 1.3: NewSessionTicket after the
       handshake; TLS 1.2: RFC 5077), lifetime ticket_lifetime seconds, keys
       only from svc->ticket_key, no server-side session cache (a TLS 1.2
       session id alone never resumes), no early data. When false: no
       tickets issued, none offered, no session cache on either side. */
    bool resumption;
    uint32_t ticket_lifetime;
} polytls_drv_config;

typedef struct polytls_drv_conn_config {
    size_t size; /* sizeof(polytls_drv_conn_config) */
    /* Client: the name sent as SNI (NULL for an IP literal) and the name the
       server's certificate must match (a DNS name, or an IP literal when
       verify_is_ip). */
    const char *sni;
    const char *verify_name;
    bool verify_is_ip;
    /* Client: the chain to present if the server asks and the user already
       answered (never at conn_init today: always NULL, answered through
       svc->client_cert_request). Server: the chain chosen for this
       connection (always set). */
    const polytls_drv_chain *chain;
    /* Client (read only when size covers it): a session to offer — bytes
       this driver's session_export wrote, possibly in another process — or
       {NULL,0}. conn_init returns BAD_ENCODING (set_error) when the library
       cannot read them. */
    polytls_drv_blob session;
    /* Client: what session_parse made of those bytes, when the driver has
       that op (read only when size covers it); then the bytes need not be
       read again. Shared with other connections, on other threads too:
       take a reference or copy, never modify it. */
    void *session_parsed;
} polytls_drv_conn_config;

/* ------------------------------------------------------------------------ */
/* What the core offers drivers                                              */
/* ------------------------------------------------------------------------ */

typedef enum polytls_drv_cert_answer {
    POLYTLS_DRV_CERT_READY = 0,   /* *chain is the answer (NULL = no certificate) */
    POLYTLS_DRV_CERT_PENDING = 1  /* the user has not answered yet: pause */
} polytls_drv_cert_answer;

/* A small stackful coroutine owned by the core (ucontext), for libraries
   whose synchronous callbacks cannot pause: run the library call inside a
   coroutine and yield from inside the callback. The core announces the
   stack switches to ASan and valgrind. */
typedef struct polytls_coro polytls_coro;

/* A cache of verified paths owned by the core (path_cache_* below). */
typedef struct polytls_path_cache polytls_path_cache;

typedef struct polytls_core_services {
    size_t size; /* sizeof(polytls_core_services) */

    /* Wire input: copies up to cap buffered bytes into buf and consumes
       them. Returns the count; 0 means "nothing buffered, try again after
       more input" (never end of stream: the core handles EOF itself). */
    size_t (*io_recv)(polytls_core_conn *c, uint8_t *buf, size_t cap);
    /* Wire output: appends bytes for the peer. The core hands them to the
       user's write_to_wire when the op returns, in order. Returns OK or
       NO_MEMORY. */
    polytls_status (*io_send)(polytls_core_conn *c, const uint8_t *data, size_t len);

    /* Application data: reserve room for up to `want` plaintext bytes and
       get a pointer to write them to (NULL on out-of-memory), then commit
       how many were written (<= want). */
    uint8_t *(*app_reserve)(polytls_core_conn *c, size_t want);
    void (*app_commit)(polytls_core_conn *c, size_t n);

    /* Call once the library's own chain, hostname and basic checks passed,
       with the chain leaf first and the trust anchor last. Runs the user's
       verify callback (at most once per negotiation; later calls return the
       first verdict). Returns true to accept. On false the driver fails the
       handshake and sends *alert (never 0: the user's send_alert choice or
       bad_certificate) as closely as its library allows. */
    bool (*verify)(polytls_core_conn *c, const polytls_drv_blob *chain, size_t n,
                   polytls_alert *alert);

    /* Client: the server asked for a certificate. names are the DER
       distinguished names it named (n = 0: none). May be called any number
       of times for one request; the user's callback runs once. READY with
       *chain (NULL = send no certificate) or PENDING (pause; the core
       calls advance again once the user answered). *chain stays valid
       until conn_fini. */
    polytls_drv_cert_answer (*client_cert_request)(polytls_core_conn *c, const polytls_drv_blob *names,
                                                   size_t n, const polytls_drv_chain **chain);

    /* Report an alert received from the peer, warning or fatal, as soon as
       the library tells of it (the core applies the TLS 1.3 rules). */
    void (*peer_alert)(polytls_core_conn *c, polytls_alert code, polytls_alert_level level);

    /* The message for the current failure (printf format). Replaces the
       previous one. */
    void (*set_error)(polytls_core_conn *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

    /* Coroutines (see above). coro_new creates one that will run fn(arg)
       with its own stack; coro_resume runs it until it yields or fn
       returns and says which (true: fn returned, the coroutine is done).
       coro_yield is called from inside fn. coro_free frees a coroutine
       that is done or has never run; freeing a suspended one abandons its
       stack (the driver must have nothing of its own live on it). */
    polytls_status (*coro_new)(polytls_coro **co, void (*fn)(void *arg), void *arg);
    bool (*coro_resume)(polytls_coro *co);
    void (*coro_yield)(polytls_coro *co);
    void (*coro_free)(polytls_coro *co);

    /* Key log (only when the endpoint has one; check size covers it): builds
       "label <client_random hex> <secret hex>" and hands it to the user's
       callback. client_random is 32 bytes; secret at most 64. */
    void (*keylog)(polytls_core_conn *c, const char *label, const uint8_t *client_random,
                   const uint8_t *secret, size_t secret_len);
    /* The exact identity of a chain, for drivers that cache what their
       library parsed from it: every certificate and the key, each preceded
       by its length, in a malloc'd buffer (*len bytes; free() it). Two
       chains are the same chain exactly when these bytes are equal — never
       compare pointers, which memory may reuse. NULL on out-of-memory. */
    uint8_t *(*chain_identity)(const polytls_drv_chain *chain, size_t *len);

    /* Server session tickets (check size covers it). The core owns every
       ticket key, so it can refuse one ticket (after a fatal alert) or all
       of them (polytls_server_rotate_ticket_key).
       Issuing a ticket: ticket_key(c, true, name, key, key_len) writes the
       16-byte key name to put in the ticket and the key (the same name for
       every ticket of one connection); false (no randomness for a key):
       issue no ticket.
       Reading one: ticket_key(c, false, name, key, key_len) with the name
       found in the ticket: true with the key, or false when the ticket must
       not resume (unknown, rotated away or revoked) — the library then
       makes a full handshake, as for a ticket it cannot decrypt.
       key_len is 1..64: the driver splits the bytes as its library needs
       (e.g. 32 for AES-256 + 32 for HMAC). A driver whose library takes one
       key per connection (POLYTLS_DRV_ONE_TICKET_KEY) calls
       ticket_key(c, true, ...) at conn_init and hands that key over. */
    bool (*ticket_key)(polytls_core_conn *c, bool encrypt, uint8_t name[16], uint8_t *key,
                       size_t key_len);

    /* Wire input not yet handed over by io_recv, in bytes (check size
       covers it). After a read that returned a record's plaintext, a
       driver whose library holds no unprocessed bytes of its own can stop
       when this is 0: one more read could only answer "try again", and
       costs a failing library call per record (bench/, issue 9). */
    size_t (*io_pending)(polytls_core_conn *c);

    /* Verified paths (check size covers them), for a driver that hands
       svc->verify a path it rebuilt from what the peer sent: the path is a
       function of the sent certificates and of the context's trust list
       alone, so it is built once per distinct sent chain. One cache per
       driver context, safe to use from several threads at once. The
       library still verifies every handshake; only the path is reused.
       path_cache_new: an empty cache, NULL without memory (then build
       every time). path_cache_free: NULL is fine.
       path_cache_find: the path stored for exactly these sent
       certificates (same count, same bytes, same order): fills
       path[0..n), pointing into sent[] and, for an anchor from the trust
       list, into *anchor_copy (malloc'd, free() it; NULL otherwise), and
       returns n; 0 on a miss (also: a path longer than cap, no memory).
       path_cache_store: remembers path[0..n) built for these sent
       certificates. Each element must be one of sent[] (the same data
       pointer and length) except the last when anchor is not NULL: then
       path[n-1].data == anchor->data, the anchor's DER. Otherwise nothing
       is stored (never a guess). Best effort: at most 8 chains (oldest
       replaced first), 16 sent certificates, 64 KiB sent. */
    polytls_path_cache *(*path_cache_new)(void);
    void (*path_cache_free)(polytls_path_cache *pc);
    size_t (*path_cache_find)(polytls_path_cache *pc, const polytls_drv_blob *sent, size_t n_sent,
                              polytls_drv_blob *path, size_t cap, uint8_t **anchor_copy);
    void (*path_cache_store)(polytls_path_cache *pc, const polytls_drv_blob *sent, size_t n_sent,
                             const polytls_drv_blob *path, size_t n, const polytls_drv_blob *anchor);
} polytls_core_services;

/* ------------------------------------------------------------------------ */
/* What a driver offers the core                                             */
/* ------------------------------------------------------------------------ */

/* What advance() found. */
typedef enum polytls_drv_rc {
    /* Everything possible was done with the buffered input; waiting for the
       peer (or idle). */
    POLYTLS_DRV_AGAIN = 0,
    /* Client: waiting for the user's certificate answer
       (svc->client_cert_request said PENDING). */
    POLYTLS_DRV_PAUSED = 1,
    /* The peer's close_notify was read; everything before it was delivered. */
    POLYTLS_DRV_CLOSED = 2,
    /* The peer sent a fatal alert (already reported with svc->peer_alert). */
    POLYTLS_DRV_PEER_ALERT = 3,
    /* A fatal local failure: bad data from the peer, a failed verification,
       a refused handshake. The alert, if the library sent one, has gone
       through io_send. svc->set_error says what happened. */
    POLYTLS_DRV_FAILED = 4
} polytls_drv_rc;

/* Negotiated facts, read once when the handshake completes. */
typedef struct polytls_drv_facts {
    uint16_t version;              /* 0x0303 / 0x0304 */
    uint16_t cipher_id;            /* IANA number */
    char cipher_name[64];          /* IANA name */
    uint8_t session_id[32];
    size_t session_id_len;
    uint8_t alpn[255];
    size_t alpn_len;
    bool resumed;                  /* the handshake resumed a session */
    /* The key-exchange group, IANA number (29 x25519, 23/24/25
       secp256/384/521r1); 0 when none was used (TLS 1.2 DHE with the
       server's own parameters) or the library cannot tell. */
    uint16_t group;
} polytls_drv_facts;

/* Filled by init() from the library actually loaded. */
typedef struct polytls_drv_info {
    char version[96];              /* the library's run-time version text */
    uint32_t capabilities;         /* polytls_capability bits */
    uint32_t flags;                /* POLYTLS_DRV_* below (the core zeroes it) */
} polytls_drv_info;

/* The library takes one ticket key per connection and picks no key name:
   the core cannot refuse one ticket, so revoking one rotates the key. */
#define POLYTLS_DRV_ONE_TICKET_KEY 1u

typedef struct polytls_driver {
    uint32_t abi_version;   /* POLYTLS_DRIVER_ABI_VERSION */
    uint32_t size;          /* sizeof(polytls_driver) */
    const char *name;       /* "openssl", "gnutls", "wolfssl" */
    const char *built_version; /* the library version compiled against */

    /* Once per process, before anything else. Keeps svc (static storage).
       Fills info. Returns OK or BACKEND_UNAVAILABLE (the message into
       info->version is then the reason). */
    polytls_status (*init)(const polytls_core_services *svc, polytls_drv_info *info);

    /* A context from the whole configuration. Returns OK, NO_MEMORY,
       BAD_ENCODING (e.g. DH parameters), UNSUPPORTED, INTERNAL; err/errlen
       receive a message on failure. */
    polytls_status (*ctx_init)(const polytls_drv_config *cfg, void **ctx, char *err, size_t errlen);
    void (*ctx_fini)(void *ctx);

    /* A connection on ctx. Client: the first advance() writes the
       ClientHello. Server: created once the core has the whole ClientHello
       buffered and a chain chosen; the first advance() reads it.
       Returns OK, NO_MEMORY, KEY_MISMATCH, BAD_ENCODING, INTERNAL (message
       through svc->set_error). */
    polytls_status (*conn_init)(void *ctx, polytls_core_conn *core, const polytls_drv_conn_config *cc,
                                void **conn);
    /* Frees everything, also in the middle of a handshake or while paused. */
    void (*conn_fini)(void *conn);

    /* Drive: run the handshake as far as the buffered input allows, then
       read all available application data into svc->app_reserve/commit.
       Sets *handshake_done once the handshake has completed (and keeps it
       set). After FAILED, PEER_ALERT or CLOSED the core calls no more ops on
       the connection except close_notify (after CLOSED) and conn_fini. */
    polytls_drv_rc (*advance)(void *conn, bool *handshake_done);

    /* Encrypt and send all len bytes (handshake done). OK, NO_MEMORY, INTERNAL. */
    polytls_status (*write_app)(void *conn, const uint8_t *data, size_t len);

    /* Send close_notify (handshake done, or after CLOSED). */
    polytls_status (*close_notify)(void *conn);

    /* The negotiated facts (handshake done). */
    polytls_status (*get_facts)(void *conn, polytls_drv_facts *facts);

    /* Optional (NULL = UNSUPPORTED everywhere). Sends alert (code, level).
       in_verify: called from inside svc->verify; do not send now, answer
       whether this code can be sent as the failure alert of the
       verification (OK) or not (UNSUPPORTED). Otherwise send it now: OK or
       UNSUPPORTED (nothing sent, nothing changed). A driver without
       POLYTLS_CAP_ALERT_ANYTIME may still honour some alerts at some
       moments; it must refuse all others. */
    polytls_status (*send_alert)(void *conn, polytls_alert code, polytls_alert_level level,
                                 bool in_verify);

    /* Optional (NULL, or a driver whose size does not cover it =
       UNSUPPORTED). RFC 8446 7.5 / RFC 5705 exporter, handshake done; the
       core has checked the arguments (label 1..255 bytes, context NULL or
       <= 65535 bytes, out_len 1..16320). OK, UNSUPPORTED, INTERNAL. */
    polytls_status (*export_keying_material)(void *conn, const uint8_t *label, size_t label_len,
                                             const uint8_t *context, size_t context_len, uint8_t *out,
                                             size_t out_len);

    /* Optional with POLYTLS_CAP_RESUMPTION (size covers it). Client: the
       library's newest resumable session (TLS 1.3: the last ticket read;
       TLS 1.2: the session of the handshake, when the server gave a ticket
       or a session id), serialised by the library into a malloc'd *blob of
       *len bytes that the core free()s; conn_init takes it back through
       drv_conn_config.session. WRONG_STATE (set_error) when there is none
       yet; NO_MEMORY; INTERNAL. */
    polytls_status (*session_export)(void *conn, uint8_t **blob, size_t *len);
    /* Optional, with session_export (size covers them): read session bytes
       once into the library's own form, which the core keeps with the
       polytls_session and hands to every conn_init that offers it (a
       session offered by many connections is then parsed once). OK,
       BAD_ENCODING (err/errlen say why), NO_MEMORY. The handle must be
       usable by several connections at once, read-only. */
    polytls_status (*session_parse)(const uint8_t *blob, size_t len, void **parsed, char *err, size_t errlen);
    void (*session_parsed_free)(void *parsed);
} polytls_driver;

/* The type of a module's entry point (POLYTLS_DRIVER_ENTRY_SYMBOL), and the
   attribute that exports it from a module built with -fvisibility=hidden.
   A module exports that symbol and nothing else (docs/backends.md). */
typedef const polytls_driver *(*polytls_driver_entry_fn)(void);
#define POLYTLS_MODULE_EXPORT __attribute__((visibility("default")))

#endif /* POLYTLS_CORE_DRIVER_H */
