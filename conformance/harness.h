/*
 * The conformance harness: the backend under test, an in-memory client/server
 * "pair" with a recorded log of every callback, a scanner for plaintext alert
 * records, and helpers that load the test PKI through the public factories.
 *
 * Everything here uses the public API only, so the suite checks what a user
 * would see. Helpers that cannot go on (a PKI file missing, no memory) fail
 * the running cmocka test rather than returning an error.
 */
#ifndef POLYTLS_CONFORMANCE_HARNESS_H
#define POLYTLS_CONFORMANCE_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <setjmp.h>
#include <cmocka.h>

#include "polytls/polytls.h"

/* ------------------------------------------------------------------------ */
/* The backend under test (set once by main.c)                               */
/* ------------------------------------------------------------------------ */

extern const polytls_backend *cf_backend;
extern uint32_t cf_caps;

/* A test asks through cf_has_cap; an absent bit is recorded for the report
   ("unsupported: that bit"). */
void cf_report_cap_absent(uint32_t bit);
static inline bool cf_has_cap(uint32_t bit)
{
    if ((cf_caps & bit) != 0)
        return true;
    cf_report_cap_absent(bit);
    return false;
}

/* The id of the running test ("group.name"), set by cf_test_setup. */
extern const char *cf_current_test;
int cf_test_setup(void **state);

/* One test: its stable id and its function. */
typedef struct cf_test_info {
    const char *id;
    void (*fn)(void **state);
} cf_test_info;
/* Runs the test's function through cf_test_info (report.c): returning from
   it is what tells the report that the test passed. */
void cf_test_run(void **state);

/* Declares one test with its stable id; the id is what cmocka prints, and a
   cf_test_info (a file-scope compound literal) travels as its initial_state. */
#define CF_TEST(fn, id) { id, cf_test_run, cf_test_setup, NULL, (void *)&(cf_test_info){ (id), (fn) } }

/* Each test file exports its list. */
typedef struct cf_group {
    const char *name;
    const struct CMUnitTest *tests;
    size_t n;
} cf_group;

#define CF_GROUP(var, name, arr) \
    const cf_group var = { name, arr, sizeof(arr) / sizeof((arr)[0]) }

/* Fails the running test with a formatted reason. */
#define cf_fail(...) do { print_error(__VA_ARGS__); print_error("\n"); fail(); } while (0)

/* Asserts a status, printing both names and the last messages on failure. */
#define cf_assert_status(actual, expected) \
    cf_assert_status_at((actual), (expected), NULL, #actual, __FILE__, __LINE__)
#define cf_assert_conn_status(actual, expected, conn) \
    cf_assert_status_at((actual), (expected), (conn), #actual, __FILE__, __LINE__)
void cf_assert_status_at(polytls_status actual, polytls_status expected, const polytls_conn *conn,
                         const char *expr, const char *file, int line);

/* ------------------------------------------------------------------------ */
/* Deviations (deviations.c)                                                 */
/* ------------------------------------------------------------------------ */

typedef struct cf_deviation_row {
    const char *test_id;     /* "group.name" or "group.name/check" */
    const char *backend;     /* polytls_backend_name() */
    long value;              /* the observed value (e.g. an alert code; -1 = none) */
    const char *observed;    /* what happens instead of the standard expectation */
    const char *reason;      /* the library behaviour behind it, with a reference */
    bool normalisable;       /* could the core make it standard? */
} cf_deviation_row;

/* The row for (test_id, running backend) or NULL. Marks the row as used. */
const cf_deviation_row *cf_deviation(const char *test_id);
/* Rows of the running backend that no test asked for (a stale table);
   prints them and returns their count. */
size_t cf_deviations_unused(void);

/* The standard-or-documented check for a number (an alert code, a status):
   without a row `actual` must equal `standard`; with a row it must equal
   the row's value, and equalling `standard` is a stale-deviation failure. */
#define cf_check_value(id, standard, actual) \
    cf_check_value_at((id), (long)(standard), (long)(actual), __FILE__, __LINE__)
void cf_check_value_at(const char *id, long standard, long actual, const char *file, int line);
/* Writes every row of the table, one JSON object a line (--list-deviations). */
void cf_deviations_dump(FILE *f);

/* ------------------------------------------------------------------------ */
/* The machine-readable report (report.c; --report FILE)                     */
/* ------------------------------------------------------------------------ */

/* Per test the harness records whether its function returned (pass), called
   skip(), or neither (failed), which deviation rows answered for it and which
   capability bits it found absent. With a report open, each finished test is
   written as one JSON line; without one nothing is written. */

/* Opens FILE for writing (false, with a message on stderr, on failure). */
bool cf_report_open(const char *path);
/* The JSON members that say where a test ran, e.g. "backend":"openssl";
   the pending test is written first. `fields` must stay valid. */
void cf_report_set_context(const char *fields);
/* Writes one JSON line of a backend: its name, versions and capability bits. */
void cf_report_backend(const polytls_backend *b);
/* Writes the pending test and closes the file; returns false on a write error. */
bool cf_report_close(void);
/* A deviation row answered for the running test (deviations.c). */
void cf_report_deviation(const char *row_id);
/* The running test skipped itself. */
void cf_report_skipped(void);
/* A test starts (cf_test_setup): the pending one is written first. */
void cf_report_begin(const char *id);
/* Writes `s` as a JSON string (quoted, escaped). */
void cf_json_string(FILE *f, const char *s);

/* skip() is recorded before cmocka's own skip. */
#undef skip
#define skip() do { cf_report_skipped(); _skip(__FILE__, __LINE__); } while (0)

/* ------------------------------------------------------------------------ */
/* Test PKI                                                                  */
/* ------------------------------------------------------------------------ */

/* $POLYTLS_TEST_PKI/name (static buffer, valid until the next call). */
const char *cf_pki_path(const char *name);
/* Reads a PKI file into a malloc'd, NUL-terminated buffer. */
char *cf_pki_read(const char *name, size_t *len);

/* A certificate array as the factories return it. */
typedef struct cf_certs {
    polytls_certificate **v;
    size_t n;
} cf_certs;

cf_certs cf_load_certs(const char *pem_name);                 /* certificates_from_pem_file */
cf_certs cf_load_chain(const char *leaf);                      /* "L-chain.pem" + "L.key" */
cf_certs cf_load_chain_files(const char *cert_name, const char *key_name);
/* A certificate from DER files (cert NAME.der, optional key DER bytes). */
polytls_certificate *cf_load_der_cert(const char *name);
void cf_certs_free(cf_certs *c);
polytls_trust_store *cf_load_trust(const char *pem_name);
/* The subject Name DER of a PKI certificate, malloc'd. */
uint8_t *cf_subject_der(const char *pem_name, size_t *len);

/* ------------------------------------------------------------------------ */
/* The pair                                                                  */
/* ------------------------------------------------------------------------ */

typedef enum cf_event_kind {
    CF_EV_WRITE,           /* write_to_wire(size) */
    CF_EV_WIRE_CLOSE,      /* wire_close(immediate) */
    CF_EV_VERIFY,          /* verify(n) */
    CF_EV_HANDSHAKE_DONE,
    CF_EV_SELECT_CHAIN     /* a certificate selection callback ran */
} cf_event_kind;

enum { CF_CLIENT = 0, CF_SERVER = 1 };

typedef struct cf_event {
    int side;
    cf_event_kind kind;
    size_t size;           /* WRITE: bytes; VERIFY: chain length */
    bool immediate;        /* WIRE_CLOSE */
} cf_event;

#define CF_MAX_CHAIN 8

struct cf_pair;

typedef struct cf_side {
    struct cf_pair *pair;
    int which;                       /* CF_CLIENT / CF_SERVER */
    polytls_conn *conn;

    /* bytes written and not yet delivered to the peer */
    uint8_t *out;
    size_t out_len, out_cap;
    /* every byte ever written, for the alert scanner */
    uint8_t *log;
    size_t log_len, log_cap;
    /* application data returned by data_from_wire */
    uint8_t *app;
    size_t app_len, app_cap;

    polytls_status last_status;      /* of the last data_from_wire */
    polytls_status first_error;      /* first non-OK data_from_wire, else OK */
    bool input_stopped;              /* a call failed: the transport stops reading */

    unsigned writes;
    size_t bytes_written;
    size_t bytes_after_close;        /* written after wire_close */
    unsigned wire_closes;
    bool wire_closed, wire_close_immediate;
    bool eof_delivered;

    unsigned verify_calls;
    size_t verify_n;
    uint8_t *verify_der[CF_MAX_CHAIN];
    size_t verify_der_len[CF_MAX_CHAIN];
    /* what verify does: return value, and an alert to send from inside it */
    int verify_result;
    polytls_alert verify_alert;      /* used when verify_send_alert */
    polytls_alert_level verify_alert_level;
    bool verify_send_alert;
    polytls_status verify_alert_status; /* send_alert's status inside verify */
    char verify_alert_message[256];     /* the connection's message right after it */

    unsigned handshake_done_calls;

    /* test hooks, run after the recording (may be NULL) */
    void (*on_write)(struct cf_side *s, const uint8_t *data, size_t len);
    void (*on_handshake_done)(struct cf_side *s);
    int (*on_verify)(struct cf_side *s, polytls_certificate *const *chain, size_t n);
    void *hook_data;
} cf_side;

typedef enum cf_split {
    CF_SPLIT_WHOLE,      /* everything queued, in one call */
    CF_SPLIT_BYTES,      /* one byte per call */
    CF_SPLIT_RANDOM      /* random chunk sizes from a fixed seed */
} cf_split;

#define CF_MAX_EVENTS 512

typedef struct cf_pair {
    cf_side side[2];
    polytls_client *client;
    polytls_server *server;
    cf_split split;
    uint32_t rng;
    bool deliver_eof;                /* after a side's wire_close and drain, eof to the peer */
    cf_event events[CF_MAX_EVENTS];
    size_t n_events;
} cf_pair;

#define CF_C(p) (&(p)->side[CF_CLIENT])
#define CF_S(p) (&(p)->side[CF_SERVER])

/* How to build a pair; zero means the default. */
typedef struct cf_setup {
    const char *hostname;            /* "server.test" */
    const char *trust;               /* client anchors, PEM file: "root.pem" */
    const char *chain;               /* server chain name L: "server-ec" */
    polytls_server_certificates *server_certs; /* instead of chain (borrowed) */
    polytls_client_cert_store *client_store;   /* borrowed */
    uint16_t client_min, client_max, server_min, server_max;
    polytls_client_auth client_auth;
    const char *client_auth_trust;   /* PEM file, e.g. "client-ca1.pem" */
    bool send_ca_names;
    const uint8_t *dh;
    size_t dh_len;
    const polytls_backend *client_backend; /* NULL: cf_backend (the interop suite sets both) */
    const polytls_backend *server_backend;
    bool no_client;                  /* build the server side only */
    bool no_server;                  /* build the client side only */
} cf_setup;

/* Initialises the pair (recording callbacks on both sides). */
void cf_pair_init(cf_pair *p);
/* Builds client and server per `s` and starts both connections (the
   ClientHello is queued, nothing is delivered yet). Asserts success. */
void cf_pair_setup(cf_pair *p, const cf_setup *s);
/* The callbacks table every side uses (records, then runs the hooks). */
extern const polytls_conn_callbacks cf_callbacks;
/* Starts one side on an existing client/server with the recording callbacks. */
polytls_status cf_start_client(cf_pair *p, polytls_client *client);
polytls_status cf_start_server(cf_pair *p, polytls_server *server);
/* Moves bytes both ways until nothing moves. Returns the number of bytes moved. */
size_t cf_pump(cf_pair *p);
/* Delivers bytes to one side as if they came from the wire (split per p->split). */
polytls_status cf_deliver(cf_pair *p, int to, const uint8_t *data, size_t len);
/* Pumps and asserts both sides finished the handshake without error. */
void cf_handshake(cf_pair *p);
/* Frees connections, client, server and buffers. */
void cf_pair_free(cf_pair *p);

/* Index of the first event matching (side, kind) at or after `from`, or -1. */
long cf_find_event(const cf_pair *p, int side, cf_event_kind kind, size_t from);
/* Drops a side's pending output (bytes not yet delivered). */
void cf_drop_output(cf_side *s);

/* ------------------------------------------------------------------------ */
/* Alert records on the wire                                                 */
/* ------------------------------------------------------------------------ */

typedef struct cf_wire_alert {
    uint8_t level, code;
} cf_wire_alert;

/* Finds the plaintext alert records (type 21, length 2) in a captured byte
   stream, record by record. Returns how many were found (up to max stored). */
size_t cf_scan_plain_alerts(const uint8_t *wire, size_t len, cf_wire_alert *out, size_t max);
/* The last plaintext alert a side wrote, or false. */
bool cf_last_plain_alert(const cf_side *s, cf_wire_alert *out);
/* The code of the alert `receiver` reports with polytls_conn_peer_alert, or
   -1 when it has none. */
long cf_peer_alert_code(const cf_side *receiver);
/* The alert a side sent, as far as it can be seen: the receiving side's
   peer_alert when it has one, else the last plaintext alert in the
   sender's bytes, else -1 (none seen). */
long cf_alert_sent_by(const cf_pair *p, int sender);

/* ------------------------------------------------------------------------ */
/* Common assertions                                                         */
/* ------------------------------------------------------------------------ */

/* Writes `len` bytes on side `from`, pumps, and asserts the other side
   received exactly them (after whatever it had received before). */
void cf_send_and_check(cf_pair *p, int from, const void *data, size_t len);
/* Asserts polytls_conn_invalidated and that every call that acts on the
   connection returns INVALIDATED. */
void cf_assert_all_invalidated(polytls_conn *c);
/* Asserts a side closed its transport exactly once with this value. */
void cf_assert_wire_closed(const cf_side *s, bool immediate);
/* Asserts the DER of the certificate equals the PKI file NAME.der. */
void cf_assert_cert_is(polytls_certificate *c, const char *name);
void cf_assert_der_is(const uint8_t *der, size_t len, const char *name);

/* Whether `needle` occurs in `hay`. */
bool cf_contains(const uint8_t *hay, size_t hay_len, const void *needle, size_t len);

/* Memory helpers that fail the test on allocation failure. */
/* Never NULL: an allocation failure fails the running test. */
void *cf_xmalloc(size_t n) __attribute__((returns_nonnull, malloc));
void cf_append(uint8_t **buf, size_t *len, size_t *cap, const void *data, size_t n);

#endif
