/*
 * The connection: one gate for every public call, and the state machine that
 * moves bytes between the user, the ClientHello pre-parser and the driver.
 *
 * Every rule of the API lives here, not in drivers: invalidation is sticky
 * and tracked by the core (no TLS library reliably stops writing after a
 * fatal alert), wire_close is derived here, calls from inside callbacks are
 * refused here, and output is handed to the user only after a driver op has
 * returned, so write_to_wire never runs inside a TLS library call.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "certificate.h"
#include "chain.h"
#include "client_hello.h"
#include "conn.h"
#include "server_certificates.h"
#include "status.h"

/* ------------------------------------------------------------------------ */
/* Messages, output, failure                                                 */
/* ------------------------------------------------------------------------ */

void ptls_conn_set_error_v(polytls_conn *c, const char *fmt, va_list ap)
{
    /* Through a copy: callers often fold the previous message into the new one. */
    char tmp[PTLS_CONN_ERROR_LEN];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    if (c->error == c->error_inline && tmp[0]) {
        /* The first message: only now the connection needs the buffer. */
        char *buf = malloc(PTLS_CONN_ERROR_LEN);
        if (!buf) {
            /* Out of memory: keep the start of the message. */
            size_t n = strlen(tmp);
            if (n > sizeof c->error_inline - 1)
                n = sizeof c->error_inline - 1;
            memcpy(c->error_inline, tmp, n);
            c->error_inline[n] = '\0';
            return;
        }
        c->error = buf;
    }
    if (c->error == c->error_inline)
        c->error_inline[0] = '\0';   /* an empty message needs no buffer */
    else
        memcpy(c->error, tmp, sizeof tmp);
}

void ptls_conn_set_error(polytls_conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ptls_conn_set_error_v(c, fmt, ap);
    va_end(ap);
}

/* Hands queued output to the user. The buffers are swapped so a callback
   that causes more output (send_alert from inside write_to_wire) appends to
   an empty queue, and no allocation happens in steady state. */
static void flush(polytls_conn *c)
{
    while (c->wire_out.len && !c->wire_closed) {
        ptls_buf tmp = c->wire_spare;
        c->wire_spare = c->wire_out;
        c->wire_out = tmp;
        c->wire_out.len = 0;
        PTLS_CALLBACK(c, c->cb.write_to_wire(c->user, c->wire_spare.data, c->wire_spare.len));
        c->wire_spare.len = 0;
        if (c->wire_out.len == 0) {
            /* Nothing was queued meanwhile: go on with the buffer that is
               already grown, so the second one stays small unless a
               callback writes while a flush is in progress. */
            ptls_buf tmp = c->wire_out;
            c->wire_out = c->wire_spare;
            c->wire_spare = tmp;
        }
    }
    if (c->wire_closed)
        c->wire_out.len = 0;
}

static void close_wire(polytls_conn *c, bool immediate)
{
    flush(c);
    if (c->wire_closed)
        return;
    c->wire_closed = true;
    PTLS_CALLBACK(c, c->cb.wire_close(c->user, immediate));
}

polytls_status ptls_conn_fail(polytls_conn *c, polytls_status s, bool immediate, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ptls_conn_set_error_v(c, fmt, ap);
    va_end(ap);
    c->invalidated = true;
    ptls_resumption_on_failure(c);
    close_wire(c, immediate);
    return s;
}

/* An alert written by the core itself, in plaintext: only before any
   backend connection exists (the server is still reading the ClientHello
   or waiting for the user's chain), where no record protection applies. */
static void write_plain_alert(polytls_conn *c, polytls_alert_level level, polytls_alert code)
{
    const uint8_t rec[7] = {21, 3, 3, 0, 2, (uint8_t)level, (uint8_t)code};
    (void)ptls_buf_append(&c->wire_out, rec, sizeof rec);
}

/* ------------------------------------------------------------------------ */
/* The gate                                                                  */
/* ------------------------------------------------------------------------ */

static void destroy(polytls_conn *c);

void ptls_conn_enter(polytls_conn *c)
{
    c->busy++;
}

bool ptls_conn_leave(polytls_conn *c)
{
    c->busy--;
    if (c->busy == 0 && c->in_callback == 0 && c->free_pending) {
        destroy(c);
        return true;
    }
    return false;
}

/* What a call may do now. allowed_in_callback: the re-entrancy rule of the
   header (send_alert, application_finished, getters, chain replies). */
static polytls_status gate(polytls_conn *c, bool allowed_in_callback)
{
    if (c->free_pending)
        return POLYTLS_ERR_INVALIDATED;
    if (c->in_callback && !allowed_in_callback) {
        ptls_conn_set_error(c, "this call is not allowed from inside a callback of the same connection");
        return POLYTLS_ERR_WRONG_STATE;
    }
    if (c->invalidated)
        return POLYTLS_ERR_INVALIDATED;
    return POLYTLS_OK;
}

/* ------------------------------------------------------------------------ */
/* The state machine                                                         */
/* ------------------------------------------------------------------------ */

static polytls_status on_handshake_done(polytls_conn *c)
{
    c->handshake_done = true;
    c->state = PTLS_ST_ESTABLISHED;
    memset(&c->facts, 0, sizeof c->facts);
    if (c->drv->get_facts(c->dconn, &c->facts) == POLYTLS_OK)
        c->have_facts = true;
    if (!c->is_server && c->have_facts && c->facts.resumed) {
        polytls_status s = ptls_resumption_verify(c);
        if (s != POLYTLS_OK)
            return s;
    }
    flush(c);
    if (c->cb.handshake_done && c->cb.size >= offsetof(polytls_conn_callbacks, handshake_done) +
                                                 sizeof c->cb.handshake_done)
        PTLS_CALLBACK(c, c->cb.handshake_done(c->user, c));
    if (c->invalidated)
        return POLYTLS_ERR_INVALIDATED;
    /* Data the application wrote early goes out now, then a recorded
       close_notify. */
    if (c->early_app.len) {
        polytls_status s = c->drv->write_app(c->dconn, c->early_app.data, c->early_app.len);
        ptls_wipe(c->early_app.data, c->early_app.len);
        c->early_app.len = 0;
        if (s != POLYTLS_OK)
            return ptls_conn_fail(c, s, true, "writing queued application data failed: %s", c->error);
    }
    if (c->app_finished && !c->close_sent) {
        c->close_sent = true;
        (void)c->drv->close_notify(c->dconn);
    }
    return POLYTLS_OK;
}

/* The peer's close_notify arrived. TLS 1.2 (RFC 5246 §7.2.1) requires an
   immediate close_notify in reply; TLS 1.3 (RFC 8446 §6.1) allows the
   other direction to stay open, so we answer only once the application has
   finished too. */
static void on_peer_closed(polytls_conn *c)
{
    c->peer_closed = true;
    c->state = PTLS_ST_CLOSED;
    bool tls12 = c->have_facts && c->facts.version == 0x0303;
    if (tls12 && !c->close_sent) {
        c->close_sent = true;
        c->app_finished = true;
        (void)c->drv->close_notify(c->dconn);
    }
    if (c->close_sent)
        close_wire(c, false);
}

/* The server has the whole ClientHello: ask the user for a chain. */
static polytls_status preparse(polytls_conn *c)
{
    ptls_client_hello ch;
    polytls_alert alert = POLYTLS_ALERT_DECODE_ERROR;
    const char *why = "malformed";
    ptls_ch_result r = ptls_client_hello_parse(c->wire_in.data, c->wire_in.len, &ch, &alert, &why);
    if (r == PTLS_CH_INCOMPLETE)
        return POLYTLS_OK;
    if (r == PTLS_CH_MALFORMED) {
        write_plain_alert(c, POLYTLS_ALERT_LEVEL_FATAL, alert);
        return ptls_conn_fail(c, POLYTLS_ERR_BAD_TLS_DATA, false,
                              "the peer's ClientHello is invalid (%s); sent alert %s", why,
                              polytls_alert_name(alert));
    }
    if (ch.has_server_name) {
        c->server_name = strdup(ch.server_name);
        if (!c->server_name)
            return ptls_conn_fail(c, POLYTLS_ERR_NO_MEMORY, true, "out of memory");
    }
    c->state = PTLS_ST_WAIT_SERVER_CHAIN;
    c->reply = ptls_reply_new(c, false, NULL, 0);
    if (!c->reply)
        return ptls_conn_fail(c, POLYTLS_ERR_NO_MEMORY, true, "out of memory");
    PTLS_CALLBACK(c, ptls_server_certificates_select(c->ep->certs, c->server_name, c->reply));
    return POLYTLS_OK;
}

/* The user's server chain arrived (or "none"). */
static polytls_status start_server_driver(polytls_conn *c)
{
    if (c->answer.n == 0) {
        polytls_alert a = c->server_name ? POLYTLS_ALERT_UNRECOGNIZED_NAME : POLYTLS_ALERT_HANDSHAKE_FAILURE;
        write_plain_alert(c, POLYTLS_ALERT_LEVEL_FATAL, a);
        return ptls_conn_fail(c, POLYTLS_ERR_INVALIDATED, false,
                              "no certificate chain for server name %s%s%s; sent alert %s",
                              c->server_name ? "'" : "", c->server_name ? c->server_name : "(none)",
                              c->server_name ? "'" : "", polytls_alert_name(a));
    }
    polytls_drv_conn_config cc = {.size = sizeof cc, .chain = &c->answer.drv};
    polytls_status s = c->drv->conn_init(c->ep->drv_ctx, c, &cc, &c->dconn);
    if (s != POLYTLS_OK) {
        c->dconn = NULL;
        write_plain_alert(c, POLYTLS_ALERT_LEVEL_FATAL, POLYTLS_ALERT_INTERNAL_ERROR);
        return ptls_conn_fail(c, s, false, "the backend refused the server chain: %s", c->error);
    }
    c->state = PTLS_ST_HANDSHAKING;
    return POLYTLS_OK;
}

/* Applies the receiving rule to the last alert the driver reported, with
   the version as now known. TLS 1.3 (RFC 8446 §6): the level is implicit;
   every alert but close_notify and user_canceled is an error, reported as
   fatal — also where a library let a warning-level one pass. */
static polytls_status check_received_alert(polytls_conn *c)
{
    if (!c->has_peer_alert)
        return POLYTLS_OK;
    if (!c->peer_alert_judged) {
        uint16_t version = c->have_facts ? c->facts.version : 0;
        c->peer_alert_judged = true;
        if (ptls_alert_received_is_error(c->peer_alert_code, c->peer_alert_level, version)) {
            c->peer_alert_is_error = true;
            c->peer_alert_level = POLYTLS_ALERT_LEVEL_FATAL;
        }
    }
    if (c->peer_alert_is_error) {
        const char *name = polytls_alert_name(c->peer_alert_code);
        return ptls_conn_fail(c, POLYTLS_ERR_TLS_ALERT, true, "the peer sent alert %s (%d)",
                              name ? name : "unknown", (int)c->peer_alert_code);
    }
    return POLYTLS_OK;
}

/* The client's first record from the server is checked by the core before
   the library sees it: garbage (an HTTP answer on a TLS port, a server
   speaking another protocol) gets the same plaintext alert on every
   backend; libraries differ there (none, or record_overflow). No keys
   exist yet, so a plaintext alert is what TLS sends. */
static polytls_status check_first_server_record(polytls_conn *c)
{
    const uint8_t *r = c->wire_in.data;
    size_t n = c->wire_in.len;
    polytls_alert alert;
    const char *why;
    if (n >= 1 && r[0] != 22 && r[0] != 21) {
        alert = POLYTLS_ALERT_UNEXPECTED_MESSAGE;
        why = "the server's first record is neither a handshake nor an alert record";
    } else if (n >= 2 && r[1] != 3) {
        alert = POLYTLS_ALERT_DECODE_ERROR;
        why = "the server's first record does not have a TLS record version";
    } else if (n >= 5 && ((size_t)r[3] << 8 | r[4]) > 16384 + 256) {
        alert = POLYTLS_ALERT_RECORD_OVERFLOW;
        why = "the server's first record is longer than TLS allows";
    } else if (n >= 5 && r[3] == 0 && r[4] == 0) {
        alert = POLYTLS_ALERT_DECODE_ERROR;
        why = "the server's first record is empty";
    } else {
        if (n >= 5)
            c->first_record_checked = true;
        return POLYTLS_OK;
    }
    write_plain_alert(c, POLYTLS_ALERT_LEVEL_FATAL, alert);
    return ptls_conn_fail(c, POLYTLS_ERR_BAD_TLS_DATA, false, "%s; sent alert %s", why,
                          polytls_alert_name(alert));
}

static polytls_status drive(polytls_conn *c)
{
    if (!c->is_server && !c->first_record_checked && c->dconn_started) {
        polytls_status s = check_first_server_record(c);
        if (s != POLYTLS_OK || !c->first_record_checked)
            return s;   /* the library sees nothing until the header passed */
    }
    c->dconn_started = true;
    bool done = c->handshake_done;
    polytls_drv_rc rc = c->drv->advance(c->dconn, &done);
    switch (rc) {
    case POLYTLS_DRV_AGAIN:
        if (c->state == PTLS_ST_WAIT_CLIENT_CHAIN)
            c->state = PTLS_ST_HANDSHAKING;
        break;
    case POLYTLS_DRV_PAUSED:
        c->state = PTLS_ST_WAIT_CLIENT_CHAIN;
        break;
    case POLYTLS_DRV_CLOSED:
        if (done && !c->handshake_done) {
            polytls_status s = on_handshake_done(c);
            if (s != POLYTLS_OK)
                return s;
        }
        on_peer_closed(c);
        return POLYTLS_OK;
    case POLYTLS_DRV_PEER_ALERT:
        /* The library ended the connection on it: an error whatever the rule. */
        if (!c->has_peer_alert) {
            c->has_peer_alert = true;
            c->peer_alert_code = POLYTLS_ALERT_HANDSHAKE_FAILURE;
            c->peer_alert_level = POLYTLS_ALERT_LEVEL_FATAL;
        }
        c->peer_alert_judged = true;
        c->peer_alert_is_error = true;
        c->peer_alert_level = POLYTLS_ALERT_LEVEL_FATAL;
        return check_received_alert(c);
    case POLYTLS_DRV_FAILED:
    default:
        if (c->verify_rejected_by_user)
            return ptls_conn_fail(c, POLYTLS_ERR_CALLBACK_FAILED, false,
                                  "the verify callback rejected the peer's certificate");
        if (c->verify_error[0])   /* the core's own check, whatever the library then said */
            return ptls_conn_fail(c, POLYTLS_ERR_BAD_TLS_DATA, false, "%s", c->verify_error);
        return ptls_conn_fail(c, POLYTLS_ERR_BAD_TLS_DATA, false, "%s",
                              c->error[0] ? c->error : "the TLS handshake or a record failed");
    }
    /* Facts first, so the alert rule sees the negotiated version. */
    if (done && !c->handshake_done) {
        if (c->drv->get_facts(c->dconn, &c->facts) == POLYTLS_OK)
            c->have_facts = true;
    }
    polytls_status s = check_received_alert(c);
    if (s != POLYTLS_OK)
        return s;
    if (done && !c->handshake_done)
        return on_handshake_done(c);
    return POLYTLS_OK;
}

/* One step of the state machine. Returns whether the state moved. */
static bool step(polytls_conn *c, polytls_status *s)
{
    ptls_conn_state before = c->state;
    switch (c->state) {
    case PTLS_ST_WAIT_CLIENT_HELLO:
        *s = preparse(c);
        break;
    case PTLS_ST_WAIT_SERVER_CHAIN:
        if (c->answer_ready)
            *s = start_server_driver(c);
        break;
    case PTLS_ST_WAIT_CLIENT_CHAIN:
        if (c->answer_ready)
            *s = drive(c);
        break;
    case PTLS_ST_CLOSED:
        break;
    case PTLS_ST_HANDSHAKING:
    case PTLS_ST_ESTABLISHED:
        *s = drive(c);
        break;
    }
    return c->state != before;
}

polytls_status ptls_conn_pump(polytls_conn *c)
{
    polytls_status s = POLYTLS_OK;
    for (;;) {
        if (c->invalidated || c->free_pending)
            break;
        bool moved = step(c, &s);
        /* A chain reply sent from inside write_to_wire (or any callback run
           by flush) must not wait for the peer's next bytes. */
        flush(c);
        if (s != POLYTLS_OK)
            break;
        if (!moved) {
            bool waiting = c->state == PTLS_ST_WAIT_SERVER_CHAIN || c->state == PTLS_ST_WAIT_CLIENT_CHAIN;
            if (!(waiting && c->answer_ready))
                break;
        }
    }
    return s;
}

/* Low-memory mode (polytls_*_set_low_memory): the core's own buffers are
   given back whenever they are empty at the end of a call, like the
   backend's record buffers; the plaintext buffer is still referenced by
   the caller, so it goes at the start of the next data_from_wire. Default
   mode keeps them after the handshake, so steady traffic allocates
   nothing per record. */
static void release_idle_buffers(polytls_conn *c)
{
    if (!c->ep->low_memory) {
        /* Default mode: once, when the handshake is over, give back the
           buffers its flights grew (several KiB each); application
           records size them again, once. */
        if (!c->handshake_done || c->handshake_buffers_released)
            return;
        c->handshake_buffers_released = true;
    }
    if (c->wire_in.len == 0)
        ptls_buf_wipe_free(&c->wire_in);
    if (c->wire_out.len == 0)
        ptls_buf_free(&c->wire_out);
    if (c->wire_spare.len == 0)
        ptls_buf_free(&c->wire_spare);
}

/* ------------------------------------------------------------------------ */
/* Public connection calls                                                   */
/* ------------------------------------------------------------------------ */

/* While a chain reply is outstanding nothing reads the input, so the core
   keeps it; a peer must not make it keep an unbounded amount (found by the
   fuzzing work, issue 7: 100 MB of records were buffered without error).
   A legitimate peer sends little meanwhile: the rest of its flight (a TLS
   1.3 server's Certificate chain follows its CertificateRequest) or early
   records; 1 MiB bounds that with a wide margin. */
#define PTLS_MAX_INPUT_WHILE_WAITING (1024u * 1024u)

static bool input_over_wait_limit(const polytls_conn *c, size_t len)
{
    bool waiting = c->state == PTLS_ST_WAIT_SERVER_CHAIN || c->state == PTLS_ST_WAIT_CLIENT_CHAIN;
    return waiting && !c->answer_ready &&
           (len > PTLS_MAX_INPUT_WHILE_WAITING || c->wire_in.len > PTLS_MAX_INPUT_WHILE_WAITING - len);
}

static polytls_status refuse_input_while_waiting(polytls_conn *c)
{
    /* The server has not started its backend yet: its alert is plaintext,
       as for a malformed ClientHello. A paused client has keys the core
       cannot use: it closes without one. */
    bool plain = c->state == PTLS_ST_WAIT_SERVER_CHAIN;
    if (plain)
        write_plain_alert(c, POLYTLS_ALERT_LEVEL_FATAL, POLYTLS_ALERT_UNEXPECTED_MESSAGE);
    return ptls_conn_fail(c, POLYTLS_ERR_BAD_TLS_DATA, !plain,
                          "the peer sent more than %u bytes while a certificate chain reply was outstanding%s",
                          PTLS_MAX_INPUT_WHILE_WAITING, plain ? "; sent alert unexpected_message" : "");
}

polytls_status polytls_conn_data_from_wire(polytls_conn *c, const uint8_t *in, size_t len,
                                           const uint8_t **app, size_t *app_len)
{
    if (!c || !app || !app_len || (!in && len))
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "data_from_wire: NULL argument");
    /* The one call whose outputs are written on failure too (plaintext
       before an error is returned with it): never leave them undefined
       once the arguments are valid. */
    *app = (const uint8_t *)"";
    *app_len = 0;
    polytls_status s = gate(c, false);
    if (s != POLYTLS_OK)
        return s;
    if (c->peer_closed) {
        ptls_conn_set_error(c, "the peer already closed its side with close_notify");
        return POLYTLS_ERR_WRONG_STATE;
    }
    ptls_conn_enter(c);
    /* What the previous call returned is released now; plaintext produced
       since (by a chain reply resuming the handshake) is still queued. */
    ptls_buf_consume(&c->app, c->app_returned);
    c->app_returned = 0;
    if (c->app.len == 0 && c->ep->low_memory)
        ptls_buf_wipe_free(&c->app);
    /* Once established (the core inspects no more records) and with nothing
       left over, the library reads the caller's bytes in place: one copy
       less per record, and no record-sized input buffer per connection. */
    bool borrow = c->state == PTLS_ST_ESTABLISHED && c->wire_in.len == 0;
    if (borrow) {
        c->borrowed = in;
        c->borrowed_len = len;
        s = POLYTLS_OK;
    } else if (input_over_wait_limit(c, len)) {
        s = refuse_input_while_waiting(c);   /* invalidates */
    } else {
        s = ptls_buf_append(&c->wire_in, in, len);
    }
    if (s == POLYTLS_OK)
        s = ptls_conn_pump(c);
    else if (!c->invalidated)
        s = ptls_conn_fail(c, s, true, "out of memory buffering wire input");
    if (borrow) {
        /* a partial record stays for the next call */
        polytls_status keep = ptls_buf_append(&c->wire_in, c->borrowed, c->borrowed_len);
        c->borrowed = NULL;
        c->borrowed_len = 0;
        if (keep != POLYTLS_OK && s == POLYTLS_OK && !c->invalidated)
            s = ptls_conn_fail(c, keep, true, "out of memory buffering wire input");
    }
    if (c->app_lost && !c->invalidated) {
        c->app_lost = false;
        s = ptls_conn_fail(c, POLYTLS_ERR_NO_MEMORY, true, "out of memory buffering received plaintext");
    }
    release_idle_buffers(c);
    /* Plaintext decrypted before an error is returned with the error. */
    const uint8_t *data = c->app.data;
    size_t n = c->app.len;
    if (ptls_conn_leave(c))
        return POLYTLS_ERR_INVALIDATED;   /* freed from inside a callback */
    c->app_returned = n;
    *app = n ? data : (const uint8_t *)"";
    *app_len = n;
    return s;
}

polytls_status polytls_conn_data_from_application(polytls_conn *c, const uint8_t *data, size_t len)
{
    if (!c || (!data && len))
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "data_from_application: NULL argument");
    polytls_status s = gate(c, false);
    if (s != POLYTLS_OK)
        return s;
    if (c->app_finished) {
        ptls_conn_set_error(c, "application_finished was called: no more application data");
        return POLYTLS_ERR_INVALIDATED;
    }
    if (len == 0)
        return POLYTLS_OK;
    ptls_conn_enter(c);
    if (!c->handshake_done) {
        s = ptls_buf_append(&c->early_app, data, len);
        if (s != POLYTLS_OK)
            ptls_conn_set_error(c, "out of memory queueing application data");
    } else {
        s = c->drv->write_app(c->dconn, data, len);
        if (s != POLYTLS_OK)
            s = ptls_conn_fail(c, s, true, "encrypting application data failed: %s", c->error);
        flush(c);
        release_idle_buffers(c);
    }
    ptls_conn_leave(c);
    return s;
}

polytls_status polytls_conn_application_finished(polytls_conn *c)
{
    if (!c)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "application_finished: NULL connection");
    polytls_status s = gate(c, true);
    if (s != POLYTLS_OK)
        return s;
    if (c->app_finished)
        return POLYTLS_OK;
    c->app_finished = true;
    if (!c->handshake_done || c->close_sent)
        return POLYTLS_OK;   /* sent when the handshake completes */
    ptls_conn_enter(c);
    c->close_sent = true;
    s = c->drv->close_notify(c->dconn);
    if (s == POLYTLS_OK && c->peer_closed)
        close_wire(c, false);
    else if (!c->in_callback)
        flush(c);
    ptls_conn_leave(c);
    return s;
}

polytls_status polytls_conn_send_alert(polytls_conn *c, polytls_alert code, polytls_alert_level level)
{
    if (!c)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "send_alert: NULL connection");
    polytls_status s = gate(c, true);
    if (s != POLYTLS_OK)
        return s;
    uint16_t version = c->have_facts ? c->facts.version : 0;
    polytls_alert_level resolved;
    s = ptls_alert_resolve_level(code, level, version, &resolved);
    if (s != POLYTLS_OK) {
        ptls_conn_set_error(c, "alert %d at level %d is not allowed in %s", (int)code, (int)level,
                            version == 0x0303 ? "TLS 1.2" : "TLS 1.3");
        return s;
    }
    if (code == POLYTLS_ALERT_CLOSE_NOTIFY)
        return polytls_conn_application_finished(c);
    bool fatal = resolved == POLYTLS_ALERT_LEVEL_FATAL;

    if (c->state == PTLS_ST_WAIT_CLIENT_HELLO) {
        ptls_conn_set_error(c, "no ClientHello has arrived yet: nothing to answer with an alert");
        return POLYTLS_ERR_WRONG_STATE;
    }
    if (c->state == PTLS_ST_WAIT_SERVER_CHAIN && !c->dconn) {
        /* Before any backend exists the core speaks plaintext itself: the
           same bytes on every backend. */
        ptls_conn_enter(c);
        write_plain_alert(c, resolved, code);
        if (fatal)
            ptls_conn_fail(c, POLYTLS_OK, false, "sent alert %s", polytls_alert_name(code));
        else if (!c->in_callback)
            flush(c);
        ptls_conn_leave(c);
        return POLYTLS_OK;
    }
    if (!c->drv->send_alert) {
        ptls_conn_set_error(c, "backend %s cannot send alerts", c->drv->name);
        return POLYTLS_ERR_UNSUPPORTED;
    }
    if (c->in_resumed_verify && fatal) {
        /* A resumed handshake is complete before the verify callback runs:
           the alert can only go out as a post-handshake one. */
        if (!ptls_backend_has(c->ep->backend, POLYTLS_CAP_ALERT_ANYTIME)) {
            ptls_conn_set_error(c, "backend %s cannot send an alert after a resumed handshake "
                                   "(no POLYTLS_CAP_ALERT_ANYTIME): the connection will be closed without one",
                                c->drv->name);
            return POLYTLS_ERR_UNSUPPORTED;
        }
        c->verify_alert_chosen = true;
        c->verify_alert = code;
        return POLYTLS_OK;
    }
    if (c->in_verify && fatal) {
        /* Sent as the failure of this verification, by the library. */
        s = c->drv->send_alert(c->dconn, code, resolved, true);
        if (s != POLYTLS_OK) {
            ptls_conn_set_error(c, "backend %s cannot send alert %s from the verify callback",
                                c->drv->name, polytls_alert_name(code));
            return POLYTLS_ERR_UNSUPPORTED;
        }
        c->verify_alert_chosen = true;
        c->verify_alert = code;
        return POLYTLS_OK;
    }
    ptls_conn_enter(c);
    s = c->drv->send_alert(c->dconn, code, resolved, false);
    if (s == POLYTLS_ERR_UNSUPPORTED) {
        ptls_conn_set_error(c, "backend %s cannot send alert %s (%s) now", c->drv->name,
                            polytls_alert_name(code), fatal ? "fatal" : "warning");
    } else if (s == POLYTLS_OK && fatal) {
        ptls_conn_fail(c, POLYTLS_OK, false, "sent fatal alert %s", polytls_alert_name(code));
    } else if (!c->in_callback) {
        flush(c);
    }
    ptls_conn_leave(c);
    return s;
}

polytls_status polytls_conn_eof_from_wire(polytls_conn *c)
{
    if (!c)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "eof_from_wire: NULL connection");
    polytls_status s = gate(c, false);
    if (s != POLYTLS_OK)
        return s;
    if (c->peer_closed)
        return POLYTLS_OK;
    ptls_conn_enter(c);
    s = ptls_conn_fail(c, POLYTLS_ERR_BAD_TLS_DATA, true,
                       "the transport ended without the peer's close_notify: the stream may be truncated");
    ptls_conn_leave(c);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Creation and destruction                                                  */
/* ------------------------------------------------------------------------ */

polytls_status ptls_conn_new(ptls_endpoint *ep, const polytls_conn_callbacks *cb, void *user,
                             polytls_conn **out);

polytls_status ptls_conn_new(ptls_endpoint *ep, const polytls_conn_callbacks *cb, void *user,
                             polytls_conn **out)
{
    size_t min_size = offsetof(polytls_conn_callbacks, wire_close) + sizeof cb->wire_close;
    if (!cb || !out || cb->size < min_size || !cb->write_to_wire || !cb->wire_close)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                         "start: callbacks must be given with size set and write_to_wire and wire_close");
    polytls_conn *c = calloc(1, sizeof *c);
    if (!c)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory");
    size_t n = cb->size < sizeof c->cb ? cb->size : sizeof c->cb;
    memcpy(&c->cb, cb, n);
    c->cb.size = n;
    c->user = user;
    c->error = c->error_inline;
    c->verify_error = "";
    c->ep = ep;
    c->drv = ep->backend->drv;
    c->is_server = ep->is_server;
    ptls_endpoint_ref(ep);
    *out = c;
    return POLYTLS_OK;
}

polytls_status ptls_conn_start(polytls_conn *c);

/* Client: the ClientHello goes out before start returns. Server: nothing
   happens until the peer's bytes arrive. */
polytls_status ptls_conn_start(polytls_conn *c)
{
    if (c->is_server) {
        c->state = PTLS_ST_WAIT_CLIENT_HELLO;
        return POLYTLS_OK;
    }
    ptls_endpoint *ep = c->ep;
    if (!ep->host_is_ip) {
        c->server_name = strdup(ep->hostname);
        if (!c->server_name)
            return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory");
    }
    polytls_drv_conn_config cc = {.size = sizeof cc,
                                  .sni = ep->host_is_ip ? NULL : ep->hostname,
                                  .verify_name = ep->hostname,
                                  .verify_is_ip = ep->host_is_ip};
    if (c->session_in) {
        cc.session = (polytls_drv_blob){c->session_in->blob, c->session_in->blob_len};
        if (c->drv->size >= offsetof(polytls_driver, session_parsed_free) + sizeof c->drv->session_parsed_free &&
            c->drv->session_parse && c->drv->session_parsed_free) {
            polytls_status ps = ptls_session_parsed(c->session_in, c->drv, &cc.session_parsed);
            if (ps != POLYTLS_OK)
                return ps;
        }
    }
    polytls_status s = c->drv->conn_init(ep->drv_ctx, c, &cc, &c->dconn);
    if (s != POLYTLS_OK) {
        c->dconn = NULL;
        return ptls_fail(s, "the backend could not create the connection: %s", c->error);
    }
    c->state = PTLS_ST_HANDSHAKING;
    ptls_conn_enter(c);
    s = ptls_conn_pump(c);
    ptls_conn_leave(c);
    if (s != POLYTLS_OK)
        return ptls_fail(s, "%s", c->error);
    return POLYTLS_OK;
}

void ptls_chain_answer_clear(ptls_chain_answer *a)
{
    if (a->certs)
        polytls_certificates_free(a->certs, a->n);
    free(a->blobs);
    memset(a, 0, sizeof *a);
}

static void destroy(polytls_conn *c)
{
    ptls_services_forget(c);
    if (c->dconn)
        c->drv->conn_fini(c->dconn);
    if (c->reply)
        ptls_reply_detach(c->reply);
    ptls_chain_answer_clear(&c->answer);
    ptls_cert_request_free(&c->ca_scan);
    ptls_resumption_conn_free(c);
    if (c->peer_chain)
        polytls_certificates_free(c->peer_chain, c->n_peer_chain);
    free(c->server_name);
    if (c->error != c->error_inline)
        free(c->error);
    free(c->verify_error_buf);
    ptls_buf_wipe_free(&c->wire_in);
    ptls_buf_free(&c->wire_out);
    ptls_buf_free(&c->wire_spare);
    ptls_buf_wipe_free(&c->app);
    ptls_buf_wipe_free(&c->early_app);
    ptls_endpoint_unref(c->ep);
    free(c);
}

void polytls_conn_free(polytls_conn *c)
{
    if (!c)
        return;
    if (c->busy || c->in_callback) {
        /* Inside one of its own callbacks: free on the way out of the
           outermost call, so no frame below us touches freed memory. */
        c->free_pending = true;
        return;
    }
    destroy(c);
}

/* ------------------------------------------------------------------------ */
/* Getters                                                                   */
/* ------------------------------------------------------------------------ */

bool polytls_conn_handshake_done(const polytls_conn *c)
{
    return c && c->handshake_done;
}

bool polytls_conn_peer_closed(const polytls_conn *c)
{
    return c && c->peer_closed;
}

bool polytls_conn_invalidated(const polytls_conn *c)
{
    return c && c->invalidated;
}

const char *polytls_conn_error_message(const polytls_conn *c)
{
    return c ? c->error : "";
}

const polytls_backend *polytls_conn_backend(const polytls_conn *c)
{
    return c ? c->ep->backend : NULL;
}

polytls_status polytls_conn_peer_alert(const polytls_conn *c, polytls_alert *code, polytls_alert_level *level)
{
    if (!c || !code || !level)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "peer_alert: NULL argument");
    if (!c->has_peer_alert)
        return POLYTLS_ERR_WRONG_STATE;
    *code = c->peer_alert_code;
    *level = c->peer_alert_level;
    return POLYTLS_OK;
}

static polytls_status need_facts(const polytls_conn *c)
{
    if (!c)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "NULL connection");
    return c->have_facts ? POLYTLS_OK : POLYTLS_ERR_WRONG_STATE;
}

polytls_status polytls_conn_tls_version(const polytls_conn *c, uint16_t *version)
{
    if (!version)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "tls_version: NULL argument");
    polytls_status s = need_facts(c);
    if (s == POLYTLS_OK)
        *version = c->facts.version;
    return s;
}

polytls_status polytls_conn_cipher_suite(const polytls_conn *c, const char **name, uint16_t *id)
{
    if (!name && !id)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "cipher_suite: both outputs NULL");
    polytls_status s = need_facts(c);
    if (s != POLYTLS_OK)
        return s;
    if (name)
        *name = c->facts.cipher_name;
    if (id)
        *id = c->facts.cipher_id;
    return POLYTLS_OK;
}

polytls_status polytls_conn_group(const polytls_conn *c, const char **name, uint16_t *id)
{
    if (!name && !id)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "group: both outputs NULL");
    polytls_status s = need_facts(c);
    if (s != POLYTLS_OK)
        return s;
    /* Only the groups polytls allows can be negotiated; anything else the
       driver reported would be a driver bug, shown as "none". */
    const char *n = ptls_group_name(c->facts.group);
    if (name)
        *name = n;
    if (id)
        *id = n ? c->facts.group : 0;
    return POLYTLS_OK;
}

polytls_status polytls_conn_session_id(const polytls_conn *c, const uint8_t **id, size_t *len)
{
    if (!id || !len)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "session_id: NULL argument");
    polytls_status s = need_facts(c);
    if (s != POLYTLS_OK)
        return s;
    *id = c->facts.session_id;
    *len = c->facts.session_id_len;
    return POLYTLS_OK;
}

polytls_status polytls_conn_alpn(const polytls_conn *c, const uint8_t **proto, size_t *len)
{
    if (!proto || !len)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "alpn: NULL argument");
    polytls_status s = need_facts(c);
    if (s != POLYTLS_OK)
        return s;
    *proto = c->facts.alpn;
    *len = c->facts.alpn_len;
    return POLYTLS_OK;
}

polytls_status polytls_conn_server_name(const polytls_conn *c, const char **name)
{
    if (!c || !name)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server_name: NULL argument");
    if (c->is_server && c->state == PTLS_ST_WAIT_CLIENT_HELLO)
        return POLYTLS_ERR_WRONG_STATE;
    *name = c->server_name;
    return POLYTLS_OK;
}

polytls_status polytls_conn_peer_chain(const polytls_conn *c, polytls_certificate *const **chain, size_t *n)
{
    if (!c || !chain || !n)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "peer_chain: NULL argument");
    if (!c->handshake_done && !c->verify_done)
        return POLYTLS_ERR_WRONG_STATE;
    *chain = c->peer_chain;
    *n = c->n_peer_chain;
    return POLYTLS_OK;
}

/* -------------------------------------------------------------- exporter -- */

polytls_status polytls_conn_export_keying_material(polytls_conn *c, const uint8_t *label,
                                                   size_t label_len, const uint8_t *context,
                                                   size_t context_len, uint8_t *out, size_t out_len)
{
    if (!c || !label || !out)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "export_keying_material: NULL argument");
    if (label_len == 0 || label_len > 255 || context_len > 65535 || (!context && context_len) ||
        out_len == 0 || out_len > 16320)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                         "export_keying_material: label 1..255 bytes, context <= 65535 bytes, "
                         "out_len 1..16320");
    if (!ptls_backend_has(c->ep->backend, POLYTLS_CAP_EXPORTER) ||
        c->drv->size < offsetof(polytls_driver, export_keying_material) +
                           sizeof c->drv->export_keying_material ||
        !c->drv->export_keying_material)
        return ptls_fail(POLYTLS_ERR_UNSUPPORTED, "backend %s has no keying-material exporter",
                         c->drv->name);
    polytls_status s = gate(c, true);
    if (s != POLYTLS_OK)
        return s;
    if (!c->handshake_done || !c->dconn) {
        ptls_conn_set_error(c, "export_keying_material: the handshake has not completed");
        return POLYTLS_ERR_WRONG_STATE;
    }
    s = c->drv->export_keying_material(c->dconn, label, label_len, context, context_len, out, out_len);
    if (s != POLYTLS_OK && s != POLYTLS_ERR_UNSUPPORTED)
        s = POLYTLS_ERR_INTERNAL;
    return s;
}
