/*
 * Raw wolfSSL verifier for the limbo harness. Debian's wolfSSL 5.5.4 is
 * built with OPENSSL_ALL (see /usr/include/wolfssl/options.h), so it offers
 * the X509_STORE / X509_verify_cert compatibility layer: the trust anchors
 * go into a store, the untrusted intermediates into the context's chain,
 * the validation time is set with wolfSSL_X509_STORE_CTX_set_time.
 * wolfSSL_X509_verify_cert does not check the name or the purpose itself
 * (5.5.4), so this file does what an expert would do next: check the
 * expected name on the leaf (wolfSSL_X509_check_host / _check_ip_asc) and
 * its extendedKeyUsage for the TLS purpose of the side (the leaf passes
 * when it has no EKU extension, or anyExtendedKeyUsage).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn.h>

#include "limbo.h"

/* wolfSSL 5.5.4 compares an IP address as text against its own rendering
 * of the iPAddress SAN: IPv6 as eight groups of four hex digits. An expert
 * therefore passes the address in that form (the case of the hex digits is
 * tried both ways, as the rendering is not documented). */
static int check_ip(WOLFSSL_X509 *leaf, const char *ip)
{
    unsigned char b[16];
    if (inet_pton(AF_INET6, ip, b) != 1)
        return wolfSSL_X509_check_ip_asc(leaf, ip, 0);
    for (int upper = 0; upper < 2; upper++) {
        char text[64];
        size_t off = 0;
        for (int i = 0; i < 8; i++)
            off += (size_t)snprintf(text + off, sizeof(text) - off, upper ? "%s%02X%02X" : "%s%02x%02x",
                                    i ? ":" : "", b[2 * i], b[2 * i + 1]);
        if (wolfSSL_X509_check_ip_asc(leaf, text, 0) == WOLFSSL_SUCCESS)
            return WOLFSSL_SUCCESS;
    }
    return WOLFSSL_FAILURE;
}

static WOLFSSL_X509 *parse(const lb_blob *b)
{
    return wolfSSL_X509_d2i(NULL, b->p, (int)b->n);
}

lb_verdict lb_raw_wolfssl(const lb_case *c, char *msg, size_t cap)
{
    lb_verdict v = LB_ERROR;
    /* The anchors are loaded through a context (the one X509_STORE that
       takes load flags in 5.5.4: wolfSSL_CTX_load_verify_buffer_ex). */
    WOLFSSL_CTX *tls = wolfSSL_CTX_new(wolfSSLv23_client_method());
    WOLFSSL_X509_STORE *store = tls ? wolfSSL_CTX_get_cert_store(tls) : NULL;
    WOLFSSL_X509_STORE_CTX *ctx = wolfSSL_X509_STORE_CTX_new();
    WOLF_STACK_OF(WOLFSSL_X509) *untrusted = wolfSSL_sk_X509_new_null();
    WOLFSSL_X509 *leaf = NULL;
    size_t n_anchors = 0;
    snprintf(msg, cap, "setup failed");
    if (store == NULL || ctx == NULL || untrusted == NULL)
        goto out;
    for (size_t i = 0; i < c->n_trusted; i++) {
        /* With a validation time the anchor's dates are judged at that
           time (X509_verify_cert), not when it is loaded. */
        if (wolfSSL_CTX_load_verify_buffer_ex(tls, c->trusted[i].p, (long)c->trusted[i].n,
                                              WOLFSSL_FILETYPE_ASN1, 0,
                                              c->has_time ? WOLFSSL_LOAD_FLAG_DATE_ERR_OKAY : 0) ==
            WOLFSSL_SUCCESS)
            n_anchors++;
    }
    if (n_anchors == 0) {
        snprintf(msg, cap, "wolfSSL loads none of the %zu trust anchors", c->n_trusted);
        v = LB_REJECT;
        goto out;
    }
    for (size_t i = 0; i < c->n_untrusted; i++) {
        WOLFSSL_X509 *x = parse(&c->untrusted[i]);
        if (x != NULL && wolfSSL_sk_X509_push(untrusted, x) <= 0)
            wolfSSL_X509_free(x);
    }
    leaf = parse(&c->leaf);
    if (leaf == NULL) {
        snprintf(msg, cap, "wolfSSL_X509_d2i refuses the peer certificate");
        v = LB_REJECT;
        goto out;
    }
    if (wolfSSL_X509_STORE_CTX_init(ctx, store, leaf, untrusted) != WOLFSSL_SUCCESS) {
        /* 5.5.4 loads the untrusted intermediates as CAs here, judging
           their dates against the current time. */
        snprintf(msg, cap, "wolfSSL_X509_STORE_CTX_init refuses the untrusted intermediates");
        goto out;
    }
    if (c->has_time)
        wolfSSL_X509_STORE_CTX_set_time(ctx, 0, (time_t)c->time);
    if (wolfSSL_X509_verify_cert(ctx) != WOLFSSL_SUCCESS) {
        int err = wolfSSL_X509_STORE_CTX_get_error(ctx);
        snprintf(msg, cap, "X509_verify_cert: %s (%d, depth %d)", wolfSSL_X509_verify_cert_error_string(err),
                 err, wolfSSL_X509_STORE_CTX_get_error_depth(ctx));
        v = LB_REJECT;
        goto out;
    }
    if (c->n_names == 1) {
        int ok = strcmp(c->name_kind[0], "IP") == 0
                     ? check_ip(leaf, c->name_value[0])
                     : wolfSSL_X509_check_host(leaf, c->name_value[0], strlen(c->name_value[0]), 0, NULL);
        if (ok != WOLFSSL_SUCCESS) {
            snprintf(msg, cap, "the leaf does not match %s %s", c->name_kind[0], c->name_value[0]);
            v = LB_REJECT;
            goto out;
        }
    }
    unsigned eku = wolfSSL_X509_get_extended_key_usage(leaf);
    unsigned want = c->client_kind ? EXTKEYUSE_CLIENT_AUTH : EXTKEYUSE_SERVER_AUTH;
    if (eku != 0 && (eku & (want | EXTKEYUSE_ANY)) == 0) {
        snprintf(msg, cap, "the leaf's extendedKeyUsage (0x%x) lacks the %s purpose", eku,
                 c->client_kind ? "clientAuth" : "serverAuth");
        v = LB_REJECT;
        goto out;
    }
    snprintf(msg, cap, "ok");
    v = LB_ACCEPT;
out:
    wolfSSL_X509_free(leaf);
    if (untrusted != NULL)
        wolfSSL_sk_X509_pop_free(untrusted, wolfSSL_X509_free);
    wolfSSL_X509_STORE_CTX_free(ctx);
    if (tls != NULL)
        wolfSSL_CTX_free(tls); /* frees its store */
    return v;
}
