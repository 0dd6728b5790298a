/*
 * Raw GnuTLS verifier for the limbo harness:
 * gnutls_x509_trust_list_verify_crt2 with the case's trust anchors, the
 * peer certificate followed by the untrusted intermediates (GnuTLS sorts
 * the list and drops what is not on the chain), the expected name as typed
 * data (GNUTLS_DT_DNS_HOSTNAME or GNUTLS_DT_IP_ADDRESS) and the TLS key
 * purpose (GNUTLS_DT_KEY_PURPOSE_OID).
 *
 * GnuTLS has no verification-time parameter: for a case with a
 * validation_time the library's time checks are disabled and this file
 * checks the activation/expiration times of the chain itself — the path
 * from the leaf through the untrusted intermediates to a trust anchor,
 * issuers found with gnutls_x509_crt_check_issuer (the anchor included, as
 * GnuTLS checks trusted certificates' times by default).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "limbo.h"

static gnutls_x509_crt_t import(const lb_blob *b)
{
    gnutls_x509_crt_t x;
    if (gnutls_x509_crt_init(&x) < 0)
        return NULL;
    gnutls_datum_t d = {b->p, (unsigned)b->n};
    if (gnutls_x509_crt_import(x, &d, GNUTLS_X509_FMT_DER) < 0) {
        gnutls_x509_crt_deinit(x);
        return NULL;
    }
    return x;
}

static bool valid_at(gnutls_x509_crt_t x, int64_t t)
{
    time_t nb = gnutls_x509_crt_get_activation_time(x);
    time_t na = gnutls_x509_crt_get_expiration_time(x);
    return nb != (time_t)-1 && na != (time_t)-1 && (int64_t)nb <= t && t <= (int64_t)na;
}

/* Walks leaf -> issuer -> ... -> anchor and checks every validity period
 * at t. Returns true when all found certificates are valid at t. */
static bool chain_valid_at(gnutls_x509_crt_t leaf, gnutls_x509_crt_t *untrusted, size_t n_untrusted,
                           gnutls_x509_crt_t *trusted, size_t n_trusted, int64_t t, char *msg, size_t cap)
{
    gnutls_x509_crt_t cur = leaf;
    for (int depth = 0; depth < 16; depth++) {
        if (!valid_at(cur, t)) {
            snprintf(msg, cap, "certificate at depth %d is not valid at %lld", depth, (long long)t);
            return false;
        }
        for (size_t i = 0; i < n_trusted; i++)
            if (gnutls_x509_crt_check_issuer(cur, trusted[i])) {
                if (!valid_at(trusted[i], t)) {
                    snprintf(msg, cap, "trust anchor is not valid at %lld", (long long)t);
                    return false;
                }
                return true;
            }
        gnutls_x509_crt_t next = NULL;
        for (size_t i = 0; i < n_untrusted && next == NULL; i++)
            if (untrusted[i] != cur && gnutls_x509_crt_check_issuer(cur, untrusted[i]))
                next = untrusted[i];
        if (next == NULL)
            return true; /* the library's own verdict covers a broken path */
        cur = next;
    }
    return true;
}

lb_verdict lb_raw_gnutls(const lb_case *c, char *msg, size_t cap)
{
    lb_verdict v = LB_ERROR;
    gnutls_x509_trust_list_t list = NULL;
    size_t n_all = 1 + c->n_untrusted;
    gnutls_x509_crt_t *all = calloc(n_all, sizeof(*all));
    gnutls_x509_crt_t *trusted = calloc(c->n_trusted ? c->n_trusted : 1, sizeof(*trusted));
    size_t n_chain = 0, n_tr = 0;
    snprintf(msg, cap, "setup failed");
    if (all == NULL || trusted == NULL || gnutls_x509_trust_list_init(&list, 0) < 0)
        goto out;
    for (size_t i = 0; i < c->n_trusted; i++) {
        gnutls_x509_crt_t x = import(&c->trusted[i]);
        if (x == NULL)
            continue; /* an anchor GnuTLS cannot parse is one it cannot use */
        trusted[n_tr++] = x;
        gnutls_x509_crt_t copy = import(&c->trusted[i]); /* the list owns its copy */
        if (copy != NULL && gnutls_x509_trust_list_add_cas(list, &copy, 1, 0) != 1)
            gnutls_x509_crt_deinit(copy);
    }
    all[0] = import(&c->leaf);
    if (all[0] == NULL) {
        snprintf(msg, cap, "gnutls_x509_crt_import refuses the peer certificate");
        v = LB_REJECT;
        goto out;
    }
    n_chain = 1;
    for (size_t i = 0; i < c->n_untrusted; i++) {
        gnutls_x509_crt_t x = import(&c->untrusted[i]);
        if (x != NULL)
            all[n_chain++] = x;
    }
    gnutls_typed_vdata_st data[2];
    unsigned n_data = 0;
    unsigned char ip[16];
    if (c->n_names == 1 && strcmp(c->name_kind[0], "IP") == 0) {
        unsigned len = 0;
        if (inet_pton(AF_INET, c->name_value[0], ip) == 1)
            len = 4;
        else if (inet_pton(AF_INET6, c->name_value[0], ip) == 1)
            len = 16;
        if (len == 0) {
            snprintf(msg, cap, "expected IP %s does not parse", c->name_value[0]);
            goto out;
        }
        data[n_data++] = (gnutls_typed_vdata_st){GNUTLS_DT_IP_ADDRESS, ip, len};
    } else if (c->n_names == 1) {
        data[n_data++] = (gnutls_typed_vdata_st){GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)c->name_value[0], 0};
    }
    data[n_data++] = (gnutls_typed_vdata_st){
        GNUTLS_DT_KEY_PURPOSE_OID,
        (unsigned char *)(c->client_kind ? GNUTLS_KP_TLS_WWW_CLIENT : GNUTLS_KP_TLS_WWW_SERVER), 0};
    unsigned flags = c->has_time ? GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS : 0;
    unsigned status = 0;
    int rc = gnutls_x509_trust_list_verify_crt2(list, all, (unsigned)n_chain, data, n_data, flags, &status, NULL);
    if (rc < 0) {
        snprintf(msg, cap, "verify_crt2: %s", gnutls_strerror(rc));
        goto out;
    }
    if (status != 0) {
        gnutls_datum_t text = {NULL, 0};
        if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
            snprintf(msg, cap, "verify_crt2: status 0x%x: %s", status, (const char *)text.data);
            gnutls_free(text.data);
        } else {
            snprintf(msg, cap, "verify_crt2: status 0x%x", status);
        }
        v = LB_REJECT;
        goto out;
    }
    if (c->has_time &&
        !chain_valid_at(all[0], all + 1, n_chain - 1, trusted, n_tr, c->time, msg, cap)) {
        v = LB_REJECT;
        goto out;
    }
    snprintf(msg, cap, "ok");
    v = LB_ACCEPT;
out:
    for (size_t i = 0; i < n_chain; i++)
        gnutls_x509_crt_deinit(all[i]);
    for (size_t i = 0; i < n_tr; i++)
        gnutls_x509_crt_deinit(trusted[i]);
    free(all);
    free(trusted);
    if (list != NULL)
        gnutls_x509_trust_list_deinit(list, 1);
    return v;
}
