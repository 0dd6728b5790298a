/* Chain replies: the seed's certificate_chain_callback. A reply may be
   answered inside the selection callback or any time later; it is checked
   here (one leaf with its key, one chain, reaching a requested root), and
   it stays safe to use after its connection is freed. A reply's memory is
   released when both sides are done with it: the user (send or cancel) and
   the connection (freed). */
#include <stdlib.h>
#include <string.h>

#include "certificate.h"
#include "chain.h"
#include "conn.h"
#include "status.h"

static void reply_free(polytls_chain_reply *r)
{
    for (size_t i = 0; i < r->n_names; i++)
        free(r->names[i]);
    free(r->names);
    free(r->name_lens);
    free(r);
}

polytls_chain_reply *ptls_reply_new(polytls_conn *c, bool for_client, const polytls_drv_blob *names,
                                    size_t n_names)
{
    polytls_chain_reply *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->conn = c;
    r->for_client = for_client;
    if (n_names) {
        r->names = calloc(n_names, sizeof *r->names);
        r->name_lens = calloc(n_names, sizeof *r->name_lens);
        if (!r->names || !r->name_lens) {
            reply_free(r);
            return NULL;
        }
        for (size_t i = 0; i < n_names; i++) {
            r->names[i] = malloc(names[i].len ? names[i].len : 1);
            if (!r->names[i]) {
                r->n_names = i;
                reply_free(r);
                return NULL;
            }
            memcpy(r->names[i], names[i].data, names[i].len);
            r->name_lens[i] = names[i].len;
        }
        r->n_names = n_names;
    }
    return r;
}

void ptls_reply_detach(polytls_chain_reply *r)
{
    r->conn = NULL;
    if (r->finished)
        reply_free(r);
}

/* Builds the driver's view (DER blobs + the leaf's PKCS#8 key). */
static polytls_status make_answer(ptls_chain_answer *a, polytls_certificate **certs, size_t n)
{
    memset(a, 0, sizeof *a);
    a->certs = certs;
    a->n = n;
    if (n == 0)
        return POLYTLS_OK;
    a->blobs = calloc(n, sizeof *a->blobs);
    if (!a->blobs)
        return POLYTLS_ERR_NO_MEMORY;
    for (size_t i = 0; i < n; i++)
        polytls_certificate_der(certs[i], &a->blobs[i].data, &a->blobs[i].len);
    a->drv.certs = a->blobs;
    a->drv.n = n;
    a->drv.key.data = ptls_certificate_key(certs[0], &a->drv.key.len);
    return POLYTLS_OK;
}

polytls_status polytls_chain_reply_send(polytls_chain_reply *r, polytls_certificate *const *chain, size_t n)
{
    if (!r || (n && !chain))
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "chain_reply_send: NULL argument");
    for (size_t i = 0; i < n; i++)
        if (!chain[i])
            return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "chain_reply_send: certificate %zu is NULL", i);
    polytls_conn *c = r->conn;
    if (!c) {
        /* The connection is gone: nothing will read this reply again. */
        bool was_finished = r->finished;
        r->finished = true;
        reply_free(r);
        return ptls_fail(POLYTLS_ERR_INVALIDATED, was_finished ? "this reply was already answered"
                                                              : "the reply's connection was freed");
    }
    if (r->finished)
        return ptls_fail(POLYTLS_ERR_INVALIDATED, "this reply was already answered");
    if (c->invalidated || c->free_pending) {
        r->finished = true;   /* nothing can use an answer now: released with the connection */
        return ptls_fail(POLYTLS_ERR_INVALIDATED, "the reply's connection was invalidated");
    }

    polytls_certificate **ordered = NULL;
    size_t n_ordered = 0;
    if (n) {
        polytls_status s = ptls_chain_order(chain, n, &ordered, &n_ordered);
        if (s != POLYTLS_OK)
            return s;   /* message set; the reply stays open for a corrected chain */
        if (r->for_client && r->n_names) {
            bool reaches = false;
            for (size_t i = 0; i < r->n_names && !reaches; i++)
                reaches = ptls_chain_reaches_name(ordered, n_ordered, r->names[i], r->name_lens[i]);
            if (!reaches) {
                polytls_certificates_free(ordered, n_ordered);
                return ptls_fail(POLYTLS_ERR_NO_CERTIFICATE_CHAIN,
                                 "the chain reaches none of the %zu certificate authorities the server named",
                                 r->n_names);
            }
        }
    }
    ptls_chain_answer_clear(&c->answer);
    if (make_answer(&c->answer, ordered, n_ordered) != POLYTLS_OK) {
        ptls_chain_answer_clear(&c->answer);
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory");
    }
    r->finished = true;
    c->answer_ready = true;

    /* Answered from inside the selection callback: the call running below
       us picks the answer up. Answered later: resume the handshake now. */
    if (c->busy == 0 && c->in_callback == 0) {
        ptls_conn_enter(c);
        polytls_status s = ptls_conn_pump(c);
        (void)s; /* the connection's own status says what happened; the reply itself was accepted */
        ptls_conn_leave(c);
    }
    return POLYTLS_OK;
}

void polytls_chain_reply_cancel(polytls_chain_reply *r)
{
    if (!r)
        return;
    if (!r->conn) {
        reply_free(r);
        return;
    }
    if (r->finished)
        return;
    (void)polytls_chain_reply_send(r, NULL, 0);
}
