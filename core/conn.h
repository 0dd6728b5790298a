/*
 * The core's connection, client/server and chain-reply objects, shared by
 * conn.c (the gate and state machine), services.c (what drivers may call),
 * reply.c (asynchronous certificate answers) and endpoint.c (clients and
 * servers). Nothing here is visible to drivers or users.
 */
#ifndef POLYTLS_CORE_CONN_H
#define POLYTLS_CORE_CONN_H

#include <pthread.h>
#include <stdatomic.h>

#include "backend.h"
#include "buffer.h"
#include "cert_request.h"
#include "driver.h"
#include "session.h"
#include "ticket_keys.h"

/* Clients and servers share one shape: the validated configuration and the
   driver context built from it at the first start. */
typedef struct ptls_endpoint {
    atomic_uint refs;              /* the user's handle + one per live connection */
    const polytls_backend *backend;
    bool is_server;
    pthread_mutex_t lock;          /* guards the lazy ctx creation only */
    bool started;                  /* configuration frozen; ctx exists */
    void *drv_ctx;

    uint16_t min_version, max_version;
    uint8_t *alpn;                 /* ALPN list in wire format (length-prefixed names) or NULL */
    size_t alpn_len;
    polytls_trust_store *trust;    /* client: anchors; server: client-auth anchors or NULL */
    bool low_memory;               /* release idle record buffers (POLYTLS_CAP_LOW_MEMORY) */
    uint8_t (*pins)[32];           /* SHA-256 of acceptable SubjectPublicKeyInfos; n_pins 0 = no pinning */
    size_t n_pins;
    uint16_t *suites;              /* IANA cipher suite numbers, preference order; n_suites 0 = default */
    size_t n_suites;
    uint16_t *groups;              /* IANA group numbers, preference order; n_groups 0 = default */
    size_t n_groups;
    bool has_verify_time;          /* judge validity periods at verify_time (seconds since 1970 UTC) */
    int64_t verify_time;

    /* client */
    char *hostname;                /* normalised */
    bool host_is_ip;
    polytls_client_cert_store *store;

    /* server */
    polytls_server_certificates *certs;
    uint8_t *dh;
    size_t dh_len;
    polytls_client_auth client_auth;
    bool send_ca_names;

    /* both: key log (POLYTLS_CAP_KEYLOG); NULL = off */
    polytls_keylog_fn keylog;
    void *keylog_user;

    /* both: session resumption (POLYTLS_CAP_RESUMPTION); server: its ticket keys */
    bool resumption;
    ptls_ticket_keys tickets;
} ptls_endpoint;

struct polytls_client {
    ptls_endpoint ep;
};

struct polytls_server {
    ptls_endpoint ep;
};

polytls_status ptls_endpoint_ensure_ctx(ptls_endpoint *ep, char *err, size_t errlen);
void ptls_endpoint_ref(ptls_endpoint *ep);
void ptls_endpoint_unref(ptls_endpoint *ep);

typedef enum ptls_conn_state {
    PTLS_ST_WAIT_CLIENT_HELLO,   /* server: buffering until the whole ClientHello arrived */
    PTLS_ST_WAIT_SERVER_CHAIN,   /* server: the user chooses a chain */
    PTLS_ST_HANDSHAKING,
    PTLS_ST_WAIT_CLIENT_CHAIN,   /* client: paused for the user's certificate answer */
    PTLS_ST_ESTABLISHED,
    PTLS_ST_CLOSED               /* the peer's close_notify was read */
} ptls_conn_state;

/* A chain answer, kept in both forms: core certificates (referenced) and the
   driver's view of them. */
typedef struct ptls_chain_answer {
    polytls_certificate **certs;   /* leaf first */
    size_t n;                      /* 0 = "no certificate" */
    polytls_drv_blob *blobs;
    polytls_drv_chain drv;
} ptls_chain_answer;

void ptls_chain_answer_clear(ptls_chain_answer *a);

struct polytls_chain_reply {
    polytls_conn *conn;            /* NULL once the connection is gone */
    bool finished;                 /* a send succeeded or cancel was called */
    bool for_client;               /* answers a CertificateRequest (else: server chain) */
    /* client: the DER names the server asked for (n_names = 0: none) */
    uint8_t **names;
    size_t *name_lens;
    size_t n_names;
};

struct polytls_conn {
    ptls_endpoint *ep;
    const polytls_driver *drv;
    void *dconn;                   /* the driver's connection, once created */

    polytls_conn_callbacks cb;
    void *user;

    ptls_conn_state state;
    bool is_server;
    bool handshake_done;
    bool invalidated;
    bool peer_closed;
    bool app_finished;             /* the user called application_finished */
    bool close_sent;               /* our close_notify went out */
    bool wire_closed;              /* wire_close was called */
    bool free_pending;             /* freed from inside a callback: free on the way out */
    unsigned busy;                 /* nesting of public calls working on this conn */
    unsigned in_callback;          /* nesting of user callbacks running now */
    bool in_verify;
    size_t rec_left;               /* server handshake: bytes of the current record not yet handed over */
    bool dconn_started;            /* advance() ran once (the client's ClientHello went out) */
    bool first_record_checked;     /* client: the server's first record header passed the core's check */

    ptls_buf wire_in;              /* bytes from the peer not yet consumed */
    ptls_buf wire_out, wire_spare; /* bytes for the peer; swapped while flushing */
    ptls_buf app;                  /* plaintext for the user; the first app_returned bytes were
                                      returned by the last data_from_wire */
    size_t app_returned;
    ptls_buf early_app;            /* application data written before the handshake ended */

    /* The connection's message (polytls_conn_error_message). Most
       connections never fail, so the 512-byte buffer is allocated on the
       first message; until then error points at error_inline (""), which
       also holds a cut message if that allocation fails. Never NULL. */
    char *error;
    char error_inline[48];

    bool has_peer_alert;
    polytls_alert peer_alert_code;
    polytls_alert_level peer_alert_level;
    bool peer_alert_is_error;      /* by the TLS rules the core applies */
    bool peer_alert_judged;        /* the rule was applied to the last alert */

    bool have_facts;
    polytls_drv_facts facts;
    char *server_name;             /* server: SNI received; client: SNI sent */

    polytls_certificate **peer_chain;
    size_t n_peer_chain;

    /* verification */
    bool verify_done;
    bool verify_ok;
    bool verify_rejected_by_user;
    const char *verify_error;      /* why the core itself refused the peer's chain (kept over the driver's words);
                                      "" until the first refusal, then verify_error_buf. Never NULL. */
    char *verify_error_buf;        /* PTLS_VERIFY_ERROR_LEN bytes, allocated on the first refusal */
    bool verify_alert_chosen;
    polytls_alert verify_alert;

    /* certificate selection */
    polytls_chain_reply *reply;    /* the one reply handed out on this connection */
    bool answer_ready;
    ptls_chain_answer answer;
    bool client_cert_requested;
    ptls_cert_request_scan ca_scan; /* client: the CA names of a TLS 1.2 CertificateRequest */

    bool app_lost;                 /* plaintext read into the scratch area found no memory in app */
    /* Established connections read the caller's input in place during
       data_from_wire (no copy into wire_in); what the library leaves is
       appended to wire_in before the call returns. */
    const uint8_t *borrowed;
    size_t borrowed_len;
    bool handshake_buffers_released; /* the wire buffers sized by handshake flights were given back */

    /* resumption (core/resumption.c) */
    polytls_session *session_in;   /* client: the session offered (referenced) */
    ptls_lineage *lineage;         /* client: invalidated with the connection */
    bool ticket_issued;            /* server: ticket_name was handed to the library */
    uint8_t ticket_name[PTLS_TICKET_NAME_LEN];
    bool ticket_used;              /* server: the ClientHello's ticket was accepted */
    uint8_t ticket_used_name[PTLS_TICKET_NAME_LEN];
    bool in_resumed_verify;        /* the verify callback runs for a resumed handshake */
};

/* endpoint.c: the IANA name of an allowed group, or NULL. */
const char *ptls_group_name(uint16_t id);

/* resumption.c */
/* The connection failed: its resumption data must never be used again. */
void ptls_resumption_on_failure(polytls_conn *c);
/* Client, resumed handshake: the checks and the verify callback the backend
   skipped, on the session's chain. OK, or the failure already applied. */
polytls_status ptls_resumption_verify(polytls_conn *c);
bool ptls_svc_ticket_key(polytls_conn *c, bool encrypt, uint8_t name[16], uint8_t *key, size_t key_len);
/* Frees what a connection holds for resumption. */
void ptls_resumption_conn_free(polytls_conn *c);
/* services.c: the same pin check as a full handshake. */
bool ptls_chain_matches_pins(const ptls_endpoint *ep, polytls_certificate *const *certs, size_t n);
/* services.c: every certificate valid at t; false with verify_error set. */
bool ptls_chain_valid_at(polytls_conn *c, polytls_certificate *const *certs, size_t n, int64_t t);

/* conn.c */
/* Runs the state machine as far as it goes: pre-parse, driver, flush. Used
   by the public calls and by a chain reply arriving later. */
polytls_status ptls_conn_pump(polytls_conn *c);
/* Fails the connection: message, invalidation, flush, wire_close. Returns s. */
polytls_status ptls_conn_fail(polytls_conn *c, polytls_status s, bool immediate, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ptls_conn_set_error(polytls_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ptls_conn_set_error_v(polytls_conn *c, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Sizes of the lazily allocated message buffers (error, verify_error). */
#define PTLS_CONN_ERROR_LEN 512
#define PTLS_VERIFY_ERROR_LEN 256
/* Enter/leave a public call: leave frees the connection if a callback asked for it. */
void ptls_conn_enter(polytls_conn *c);
bool ptls_conn_leave(polytls_conn *c);   /* true when the connection was freed */
/* Wrap a user callback: counts nesting so re-entrant calls are refused. */
#define PTLS_CALLBACK(c, call)  \
    do {                        \
        (c)->in_callback++;     \
        call;                   \
        (c)->in_callback--;     \
    } while (0)

/* services.c */
extern const polytls_core_services ptls_services;
/* The connection is going away: it no longer holds this thread's plaintext
   scratch area (a driver freed between app_reserve and app_commit). */
void ptls_services_forget(polytls_conn *c);

/* reply.c */
polytls_chain_reply *ptls_reply_new(polytls_conn *c, bool for_client, const polytls_drv_blob *names,
                                    size_t n_names);
/* The connection is going away: detach (and free if already finished). */
void ptls_reply_detach(polytls_chain_reply *r);

#endif
