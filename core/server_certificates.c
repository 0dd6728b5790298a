/* Server certificate sets and client certificate stores. Both are a
   reference-counted table of user callbacks; the built-in kinds
   (ServerCertificateChain, SNIServerCertificates) are ordinary users of
   that table whose callback answers at once with
   polytls_chain_reply_send(). Every chain they hold was checked when they
   were created, so a connection never discovers a bad chain late. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "certificate.h"
#include "chain.h"
#include "hostname.h"
#include "server_certificates.h"
#include "status.h"

struct polytls_server_certificates {
    atomic_size_t refs;
    polytls_server_certificates_callbacks cb;
    void *user;
};

struct polytls_client_cert_store {
    atomic_size_t refs;
    polytls_client_cert_store_callbacks cb;
    void *user;
};

/* Copies a user's callback table that may be older (smaller) or newer
   (larger) than ours: the fields we know, zero for the rest. */
static void copy_table(void *dst, size_t dst_size, const void *src, size_t src_size)
{
    memset(dst, 0, dst_size);
    memcpy(dst, src, src_size < dst_size ? src_size : dst_size);
    *(size_t *)dst = dst_size;
}

/* ------------------------------------------------- ServerCertificates -- */

polytls_status polytls_server_certificates_new(const polytls_server_certificates_callbacks *callbacks, void *user,
                                               polytls_server_certificates **out)
{
    size_t needed = offsetof(polytls_server_certificates_callbacks, get_chain_for_server_name) +
                    sizeof callbacks->get_chain_for_server_name;
    if (!callbacks || !out)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "polytls_server_certificates_new: NULL argument");
    if (callbacks->size < needed)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                         "polytls_server_certificates_new: callbacks->size %zu is too small (set it to sizeof)",
                         callbacks->size);
    if (!callbacks->get_chain_for_server_name)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                         "polytls_server_certificates_new: get_chain_for_server_name is required");
    polytls_server_certificates *sc = calloc(1, sizeof *sc);
    if (!sc)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory creating server certificates");
    atomic_init(&sc->refs, 1);
    copy_table(&sc->cb, sizeof sc->cb, callbacks, callbacks->size);
    sc->user = user;
    *out = sc;
    return POLYTLS_OK;
}

polytls_server_certificates *polytls_server_certificates_ref(polytls_server_certificates *sc)
{
    if (sc)
        atomic_fetch_add_explicit(&sc->refs, 1, memory_order_relaxed);
    return sc;
}

void polytls_server_certificates_unref(polytls_server_certificates *sc)
{
    if (!sc || atomic_fetch_sub_explicit(&sc->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (sc->cb.destroy)
        sc->cb.destroy(sc->user);
    free(sc);
}

void ptls_server_certificates_select(polytls_server_certificates *sc, const char *server_name,
                                     polytls_chain_reply *reply)
{
    sc->cb.get_chain_for_server_name(sc->user, server_name, reply);
}

/* ---------------------------------------------------- built-in kinds -- */

typedef struct owned_chain {
    polytls_certificate **certs; /* ordered, leaf first */
    size_t n;
} owned_chain;

/* Built-in kinds share one representation: a list of (leaf, chain) to
   match against the SNI name in order, and a default chain. The single
   chain kind has no SNI entries. */
typedef struct builtin {
    owned_chain *chains;
    size_t n_chains;
    owned_chain fallback; /* n = 0: no chain */
} builtin;

static void builtin_destroy(void *user)
{
    builtin *b = user;
    for (size_t i = 0; i < b->n_chains; i++)
        polytls_certificates_free(b->chains[i].certs, b->chains[i].n);
    free(b->chains);
    polytls_certificates_free(b->fallback.certs, b->fallback.n);
    free(b);
}

static void send_chain(polytls_chain_reply *reply, const owned_chain *c)
{
    polytls_status s = polytls_chain_reply_send(reply, c->certs, c->n);
    /* INVALIDATED means the reply is finished already (or freed with its
       connection): it must not be touched again. Any other failure leaves
       it open, and every reply must be finished exactly once. */
    if (s != POLYTLS_OK && s != POLYTLS_ERR_INVALIDATED)
        polytls_chain_reply_cancel(reply);
}

static const owned_chain *builtin_choose(const builtin *b, const char *server_name)
{
    if (server_name)
        for (size_t i = 0; i < b->n_chains; i++)
            if (ptls_certificate_matches_dns(b->chains[i].certs[0], server_name))
                return &b->chains[i];
    return &b->fallback;
}

static void builtin_select(void *user, const char *server_name, polytls_chain_reply *reply)
{
    send_chain(reply, builtin_choose(user, server_name));
}

bool ptls_server_certificates_builtin_chain(const polytls_server_certificates *sc, const char *server_name,
                                            polytls_certificate *const **chain, size_t *n)
{
    if (!sc || sc->cb.get_chain_for_server_name != builtin_select)
        return false;
    const owned_chain *c = builtin_choose(sc->user, server_name);
    *chain = c->certs;
    *n = c->n;
    return true;
}

static polytls_status builtin_wrap(builtin *b, polytls_server_certificates **out)
{
    polytls_server_certificates_callbacks cb = {
        .size = sizeof cb,
        .get_chain_for_server_name = builtin_select,
        .destroy = builtin_destroy,
    };
    polytls_status s = polytls_server_certificates_new(&cb, b, out);
    if (s != POLYTLS_OK)
        builtin_destroy(b);
    return s;
}

polytls_status polytls_server_chain_new(polytls_certificate *const *chain, size_t n,
                                        polytls_server_certificates **out)
{
    if (!out || !chain || n == 0)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "polytls_server_chain_new: %s",
                         !out ? "out is NULL" : "empty chain");
    builtin *b = calloc(1, sizeof *b);
    if (!b)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory creating a server chain");
    polytls_status s = ptls_chain_order(chain, n, &b->fallback.certs, &b->fallback.n);
    if (s != POLYTLS_OK) {
        free(b);
        return s;
    }
    return builtin_wrap(b, out);
}

polytls_status polytls_sni_certificates_new(polytls_certificate *const *certs, size_t n,
                                            polytls_certificate *const *default_chain, size_t n_default,
                                            polytls_server_certificates **out)
{
    if (!out || !certs || n == 0 || (!default_chain && n_default))
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "polytls_sni_certificates_new: %s",
                         !out ? "out is NULL" : (!certs || n == 0) ? "no certificates" : "default_chain is NULL");
    size_t n_leaves = 0;
    for (size_t i = 0; i < n; i++) {
        if (!certs[i])
            return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "polytls_sni_certificates_new: certificate %zu is NULL", i);
        if (polytls_certificate_is_ca(certs[i]))
            continue;
        if (!polytls_certificate_has_private_key(certs[i]))
            return ptls_fail(POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY,
                             "SNI certificates: leaf certificate %zu has no private key", i);
        n_leaves++;
    }
    if (n_leaves == 0)
        return ptls_fail(POLYTLS_ERR_NO_LEAF, "SNI certificates: no leaf certificate among the %zu given", n);
    builtin *b = calloc(1, sizeof *b);
    bool *used = calloc(n, sizeof *used);
    if (!b || !used || !(b->chains = calloc(n_leaves, sizeof *b->chains))) {
        free(used);
        free(b);
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory creating SNI certificates");
    }
    polytls_status s = POLYTLS_OK;
    for (size_t i = 0; i < n && s == POLYTLS_OK; i++) {
        if (polytls_certificate_is_ca(certs[i]))
            continue;
        owned_chain *c = &b->chains[b->n_chains];
        s = ptls_chain_path(certs[i], certs, n, used, &c->certs, &c->n);
        if (s == POLYTLS_OK)
            b->n_chains++;
    }
    /* A CA certificate that no leaf's chain reaches is a stray: refuse it,
       as a single chain would, rather than ignore a misconfiguration. */
    for (size_t i = 0; i < n && s == POLYTLS_OK; i++)
        if (!used[i])
            s = ptls_fail(POLYTLS_ERR_NO_CERTIFICATE_CHAIN,
                          "SNI certificates: certificate %zu is on no leaf's chain (a stray or a duplicate)", i);
    free(used);
    if (s == POLYTLS_OK && n_default > 0) {
        s = ptls_chain_order(default_chain, n_default, &b->fallback.certs, &b->fallback.n);
        if (s != POLYTLS_OK)
            s = ptls_fail_context(s, "SNI default chain");
    }
    if (s != POLYTLS_OK) {
        builtin_destroy(b);
        return s;
    }
    return builtin_wrap(b, out);
}

/* ---------------------------------------------- client certificate store -- */

polytls_status polytls_client_cert_store_new(const polytls_client_cert_store_callbacks *callbacks, void *user,
                                             polytls_client_cert_store **out)
{
    size_t needed = offsetof(polytls_client_cert_store_callbacks, get_default_chain) +
                    sizeof callbacks->get_default_chain;
    if (!callbacks || !out)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "polytls_client_cert_store_new: NULL argument");
    if (callbacks->size < needed)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                         "polytls_client_cert_store_new: callbacks->size %zu is too small (set it to sizeof)",
                         callbacks->size);
    if (!callbacks->get_chain_for_roots || !callbacks->get_default_chain)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                         "polytls_client_cert_store_new: get_chain_for_roots and get_default_chain are both required");
    polytls_client_cert_store *s = calloc(1, sizeof *s);
    if (!s)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory creating a client certificate store");
    atomic_init(&s->refs, 1);
    copy_table(&s->cb, sizeof s->cb, callbacks, callbacks->size);
    s->user = user;
    *out = s;
    return POLYTLS_OK;
}

polytls_client_cert_store *ptls_client_cert_store_ref(polytls_client_cert_store *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void polytls_client_cert_store_unref(polytls_client_cert_store *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (s->cb.destroy)
        s->cb.destroy(s->user);
    free(s);
}

void ptls_client_cert_store_request(polytls_client_cert_store *s, const uint8_t *const *roots, const size_t *lens,
                                    size_t n, polytls_chain_reply *reply)
{
    if (n > 0)
        s->cb.get_chain_for_roots(s->user, roots, lens, n, reply);
    else
        s->cb.get_default_chain(s->user, reply);
}
