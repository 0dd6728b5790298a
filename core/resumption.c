/* Session resumption: the rules the core owns, the same on every backend.
 *
 *  - A client session carries the chain verified when it was created. On a
 *    resumed handshake no library verifies anything, so the core keeps the
 *    seed's promise itself: the pins are checked and the verify callback
 *    runs once, on that chain ("once per negotiation").
 *  - A connection that fails (a fatal alert sent or received, bad data, a
 *    refused verification, a truncated stream) invalidates its resumption
 *    data on both sides: the client marks the session it offered and every
 *    session it handed out (one shared lineage flag); the server refuses the
 *    ticket name it issued on that connection and the one it accepted
 *    (core/ticket_keys.c).
 *  - Servers keep no session cache; the core owns every ticket key. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "conn.h"
#include "status.h"
#include "trust_store.h"

bool ptls_svc_ticket_key(polytls_conn *c, bool encrypt, uint8_t name[16], uint8_t *key, size_t key_len)
{
    if (!c->is_server || !c->ep->resumption)
        return false;
    bool one_key = (c->ep->backend->info.flags & POLYTLS_DRV_ONE_TICKET_KEY) != 0;
    if (encrypt) {
        /* Every ticket of a connection carries the same name, so refusing
           the connection's name refuses all of them. */
        if (c->ticket_issued && ptls_ticket_keys_lookup(&c->ep->tickets, c->ticket_name, key, key_len)) {
            memcpy(name, c->ticket_name, PTLS_TICKET_NAME_LEN);
            return true;
        }
        /* No randomness for a key name: issue no ticket at all (a key
           nobody else knows cannot be made). */
        if (ptls_ticket_keys_issue(&c->ep->tickets, one_key, name, key, key_len) != POLYTLS_OK)
            return false;
        memcpy(c->ticket_name, name, PTLS_TICKET_NAME_LEN);
        c->ticket_issued = true;
        return true;
    }
    if (!ptls_ticket_keys_lookup(&c->ep->tickets, name, key, key_len))
        return false;
    memcpy(c->ticket_used_name, name, PTLS_TICKET_NAME_LEN);
    c->ticket_used = true;
    return true;
}

void ptls_resumption_on_failure(polytls_conn *c)
{
    if (!c->ep->resumption)
        return;
    if (!c->is_server) {
        ptls_lineage_invalidate(c->lineage);
        return;
    }
    bool one_key = (c->ep->backend->info.flags & POLYTLS_DRV_ONE_TICKET_KEY) != 0;
    if (c->ticket_issued)
        (void)ptls_ticket_keys_revoke(&c->ep->tickets, c->ticket_name, one_key);
    if (c->ticket_used)
        (void)ptls_ticket_keys_revoke(&c->ep->tickets, c->ticket_used_name, one_key);
    c->ticket_issued = c->ticket_used = false;
}

void ptls_resumption_conn_free(polytls_conn *c)
{
    polytls_session_free(c->session_in);
    c->session_in = NULL;
    ptls_lineage_unref(c->lineage);
    c->lineage = NULL;
}

/* The session's chain becomes the connection's peer chain, as after a full
   handshake. */
static polytls_status adopt_session_chain(polytls_conn *c)
{
    const polytls_session *s = c->session_in;
    polytls_certificate **certs = calloc(s->n_chain, sizeof *certs);
    if (!certs)
        return POLYTLS_ERR_NO_MEMORY;
    for (size_t i = 0; i < s->n_chain; i++)
        certs[i] = polytls_certificate_ref(s->chain[i]);
    if (c->peer_chain)
        polytls_certificates_free(c->peer_chain, c->n_peer_chain);
    c->peer_chain = certs;
    c->n_peer_chain = s->n_chain;
    return POLYTLS_OK;
}

/* A refusal after the resumed handshake completed: no library has a
   verification failure to turn into an alert any more, so the alert goes
   out as a post-handshake one where the backend can send it. */
static polytls_status refuse_resumed(polytls_conn *c, polytls_status s, const char *why)
{
    polytls_alert code = c->verify_alert_chosen ? c->verify_alert : POLYTLS_ALERT_BAD_CERTIFICATE;
    bool sent = false;
    if (ptls_backend_has(c->ep->backend, POLYTLS_CAP_ALERT_ANYTIME) && c->drv->send_alert)
        sent = c->drv->send_alert(c->dconn, code, POLYTLS_ALERT_LEVEL_FATAL, false) == POLYTLS_OK;
    return ptls_conn_fail(c, s, !sent, "%s (resumed session%s)", why,
                          sent ? "" : "; no alert: the backend cannot send one after the handshake");
}

polytls_status ptls_resumption_verify(polytls_conn *c)
{
    if (!c->session_in)
        return ptls_conn_fail(c, POLYTLS_ERR_INTERNAL, true,
                              "backend %s resumed a session polytls did not offer", c->drv->name);
    polytls_status s = adopt_session_chain(c);
    if (s != POLYTLS_OK)
        return ptls_conn_fail(c, s, true, "could not restore the session's certificate chain");
    c->verify_done = true;
    c->verify_ok = false;
    /* Resumption never extends trust past a certificate's validity: the
       chain must still be valid now (or at the verification time). */
    int64_t t = c->ep->has_verify_time ? c->ep->verify_time : (int64_t)time(NULL);
    if (!ptls_chain_valid_at(c, c->peer_chain, c->n_peer_chain, t)) {
        c->verify_alert_chosen = true;
        c->verify_alert = POLYTLS_ALERT_CERTIFICATE_EXPIRED;
        return refuse_resumed(c, POLYTLS_ERR_BAD_TLS_DATA, c->verify_error);
    }
    if (c->ep->n_pins && !ptls_chain_matches_pins(c->ep, c->peer_chain, c->n_peer_chain))
        return refuse_resumed(c, POLYTLS_ERR_BAD_TLS_DATA,
                              "no certificate of the session's chain matches any of the pinned public keys");
    int verdict = 0;
    if (c->cb.verify && c->cb.size >= offsetof(polytls_conn_callbacks, verify) + sizeof c->cb.verify) {
        c->in_verify = true;
        c->in_resumed_verify = true;
        PTLS_CALLBACK(c, verdict = c->cb.verify(c->user, c, c->peer_chain, c->n_peer_chain));
        c->in_verify = false;
        c->in_resumed_verify = false;
    }
    if (verdict != 0 || c->verify_alert_chosen || c->invalidated) {
        c->verify_rejected_by_user = true;
        if (c->invalidated)
            return POLYTLS_ERR_CALLBACK_FAILED;
        return refuse_resumed(c, POLYTLS_ERR_CALLBACK_FAILED, "the verify callback rejected the peer's certificate");
    }
    c->verify_ok = true;
    return POLYTLS_OK;
}

/* ------------------------------------------------------------------------ */
/* Public calls on connections                                               */
/* ------------------------------------------------------------------------ */

bool polytls_conn_resumed(const polytls_conn *c)
{
    return c && c->handshake_done && c->have_facts && c->facts.resumed;
}

polytls_status polytls_conn_get_session(polytls_conn *c, polytls_session **out)
{
    if (!c || !out)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "get_session: connection and out are required");
    if (c->free_pending || c->invalidated)
        return ptls_fail(POLYTLS_ERR_INVALIDATED,
                         "the connection failed: its resumption data must not be used");
    if (c->is_server)
        return ptls_fail(POLYTLS_ERR_WRONG_STATE, "get_session: sessions are a client's (servers issue tickets)");
    if (!c->ep->resumption)
        return ptls_fail(POLYTLS_ERR_WRONG_STATE,
                         "get_session: resumption is off for this client (polytls_client_set_resumption)");
    if (!c->handshake_done || !c->dconn)
        return ptls_fail(POLYTLS_ERR_WRONG_STATE, "get_session: the handshake is not done");
    if (!c->drv->session_export ||
        c->drv->size < offsetof(polytls_driver, session_export) + sizeof c->drv->session_export)
        return ptls_fail(POLYTLS_ERR_UNSUPPORTED, "backend %s cannot export sessions", c->drv->name);
    if (!c->peer_chain || c->n_peer_chain == 0)
        return ptls_fail(POLYTLS_ERR_WRONG_STATE, "get_session: no verified chain to keep with the session");
    if (!c->lineage) {
        c->lineage = ptls_lineage_new();
        if (!c->lineage)
            return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory");
    }
    uint8_t *blob = NULL;
    size_t len = 0;
    c->error[0] = '\0';
    polytls_status s = c->drv->session_export(c->dconn, &blob, &len);
    if (s != POLYTLS_OK) {
        free(blob);
        return ptls_fail(s, "get_session: %s", c->error[0] ? c->error : "the backend has no session");
    }
    return ptls_session_new(c->drv->name, c->ep->hostname, c->ep->host_is_ip, c->peer_chain, c->n_peer_chain,
                            blob, len, c->lineage, out);
}

/* Client start with a session: whether this client may offer it. */
polytls_status ptls_resumption_check_offer(const ptls_endpoint *ep, const polytls_session *s);
polytls_status ptls_resumption_check_offer(const ptls_endpoint *ep, const polytls_session *s)
{
    if (!ep->resumption)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                         "start_with_session: resumption is off for this client (polytls_client_set_resumption)");
    if (polytls_session_invalidated(s))
        return ptls_fail(POLYTLS_ERR_INVALIDATED,
                         "start_with_session: the session was invalidated (its connection failed or saw a "
                         "fatal alert)");
    if (strcmp(s->backend, ep->backend->drv->name) != 0)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                         "start_with_session: the session belongs to backend %s, this client runs on %s",
                         s->backend, ep->backend->drv->name);
    if (s->host_is_ip != ep->host_is_ip || strcmp(s->host, ep->hostname) != 0)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                         "start_with_session: the session is for \"%s\", this client connects to \"%s\"", s->host,
                         ep->hostname);
    /* The chain was verified against another client's anchors: offer it only
       if this client trusts the same anchor. */
    polytls_certificate *const *anchors = NULL;
    size_t n = ep->trust ? ptls_trust_store_certs(ep->trust, &anchors) : 0;
    const uint8_t *root = NULL;
    size_t root_len = 0;
    polytls_certificate_der(s->chain[s->n_chain - 1], &root, &root_len);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *der;
        size_t len;
        if (polytls_certificate_der(anchors[i], &der, &len) == POLYTLS_OK && len == root_len &&
            memcmp(der, root, len) == 0)
            return POLYTLS_OK;
    }
    return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                     "start_with_session: the session's chain ends at a trust anchor this client does not trust");
}
