/*
 * Raw OpenSSL verifier for the limbo harness: X509_verify_cert with the
 * case's trust anchors, untrusted intermediates, validation time, expected
 * name (set1_host / set1_ip_asc) and purpose (sslserver / sslclient) — the
 * way an expert verifies a peer chain with OpenSSL directly, with every
 * trusted certificate an anchor (X509_V_FLAG_PARTIAL_CHAIN, as polytls).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "limbo.h"

static X509 *parse(const lb_blob *b)
{
    const unsigned char *p = b->p;
    X509 *x = d2i_X509(NULL, &p, (long)b->n);
    if (x != NULL && p != b->p + b->n) { /* trailing bytes: not one certificate */
        X509_free(x);
        return NULL;
    }
    return x;
}

lb_verdict lb_raw_openssl(const lb_case *c, char *msg, size_t cap)
{
    lb_verdict v = LB_ERROR;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509 *leaf = NULL;
    snprintf(msg, cap, "setup failed");
    if (store == NULL || ctx == NULL || untrusted == NULL)
        goto out;
    for (size_t i = 0; i < c->n_trusted; i++) {
        X509 *x = parse(&c->trusted[i]);
        if (x == NULL) {
            /* A trust anchor OpenSSL cannot parse is one it cannot use. */
            continue;
        }
        X509_STORE_add_cert(store, x);
        X509_free(x);
    }
    for (size_t i = 0; i < c->n_untrusted; i++) {
        X509 *x = parse(&c->untrusted[i]);
        if (x != NULL && !sk_X509_push(untrusted, x))
            X509_free(x);
    }
    leaf = parse(&c->leaf);
    if (leaf == NULL) {
        snprintf(msg, cap, "d2i_X509 refuses the peer certificate");
        v = LB_REJECT;
        goto out;
    }
    if (!X509_STORE_CTX_init(ctx, store, leaf, untrusted))
        goto out;
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    /* limbo's trusted_certs are trust anchors, self-signed or not, and
       polytls documents the same (every configured anchor ends a chain, as
       in GnuTLS trust lists): without this flag OpenSSL keeps looking for
       the issuer of a non-self-signed anchor. See docs/limbo.md. */
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    if (c->has_time)
        X509_VERIFY_PARAM_set_time(param, (time_t)c->time);
    X509_VERIFY_PARAM_set_purpose(param, c->client_kind ? X509_PURPOSE_SSL_CLIENT
                                                        : X509_PURPOSE_SSL_SERVER);
    if (c->n_names == 1) {
        int ok = strcmp(c->name_kind[0], "IP") == 0
                     ? X509_VERIFY_PARAM_set1_ip_asc(param, c->name_value[0])
                     : X509_VERIFY_PARAM_set1_host(param, c->name_value[0], 0);
        if (!ok) {
            snprintf(msg, cap, "the expected name is not usable by OpenSSL");
            v = LB_REJECT;
            goto out;
        }
    }
    ERR_clear_error();
    if (X509_verify_cert(ctx) == 1) {
        snprintf(msg, cap, "ok");
        v = LB_ACCEPT;
    } else {
        int err = X509_STORE_CTX_get_error(ctx);
        snprintf(msg, cap, "X509_verify_cert: %s (%d, depth %d)", X509_verify_cert_error_string(err),
                 err, X509_STORE_CTX_get_error_depth(ctx));
        v = LB_REJECT;
    }
out:
    ERR_clear_error();
    X509_free(leaf);
    sk_X509_pop_free(untrusted, X509_free);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return v;
}
