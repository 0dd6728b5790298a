/* Chain ordering. A chain is built from the leaf upwards, by Name equality
   (byte-equal DER, as RFC 5280 path building starts) plus key identifiers
   when present; signatures are the backend's business. Anything the walk
   does not reach is a stray: the seed wants such input refused rather than
   silently dropped, so a misconfigured server is caught at start-up. */
#include <stdlib.h>
#include <string.h>

#include "certificate.h"
#include "chain.h"
#include "status.h"

polytls_status ptls_chain_find_leaf(polytls_certificate *const *in, size_t n, size_t *leaf)
{
    if (!in || n == 0)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "empty certificate chain");
    size_t found = n;
    for (size_t i = 0; i < n; i++) {
        if (!in[i])
            return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "certificate %zu of the chain is NULL", i);
        if (polytls_certificate_is_ca(in[i]))
            continue;
        if (found != n)
            return ptls_fail(POLYTLS_ERR_MORE_THAN_ONE_LEAF,
                             "certificates %zu and %zu are both leaves (not CA certificates); a chain has one", found, i);
        found = i;
    }
    if (found == n)
        return ptls_fail(POLYTLS_ERR_NO_LEAF,
                         "no leaf certificate: all %zu certificates are CA certificates (basicConstraints cA=TRUE)", n);
    *leaf = found;
    return POLYTLS_OK;
}

static bool already_taken(polytls_certificate *const *taken, size_t n, const polytls_certificate *c)
{
    for (size_t i = 0; i < n; i++)
        if (ptls_certificate_same(taken[i], c))
            return true;
    return false;
}

polytls_status ptls_chain_path(polytls_certificate *leaf, polytls_certificate *const *pool, size_t n,
                               bool *used, polytls_certificate ***out, size_t *n_out)
{
    /* A path never holds more than the pool plus the leaf. */
    polytls_certificate **path = calloc(n + 1, sizeof *path);
    bool *taken = calloc(n + 1, sizeof *taken);
    if (!path || !taken) {
        free(path);
        free(taken);
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory ordering a chain");
    }
    size_t len = 0;
    path[len++] = leaf;
    for (size_t i = 0; i < n; i++)
        if (pool[i] == leaf)
            taken[i] = true;
    polytls_certificate *cur = leaf;
    while (!ptls_certificate_self_issued(cur)) {
        size_t next = n;
        for (size_t i = 0; i < n && next == n; i++)
            if (!taken[i] && ptls_certificate_issued_by(cur, pool[i]) && !already_taken(path, len, pool[i]))
                next = i;
        if (next == n)
            break;
        taken[next] = true;
        cur = pool[next];
        path[len++] = cur;
    }
    for (size_t i = 0; i < len; i++)
        polytls_certificate_ref(path[i]);
    if (used)
        for (size_t i = 0; i < n; i++)
            used[i] = used[i] || taken[i];
    free(taken);
    *out = path;
    *n_out = len;
    return POLYTLS_OK;
}

polytls_status ptls_chain_order(polytls_certificate *const *in, size_t n, polytls_certificate ***out,
                                size_t *n_out)
{
    if (!out || !n_out)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "ptls_chain_order: NULL output");
    size_t leaf;
    polytls_status s = ptls_chain_find_leaf(in, n, &leaf);
    if (s != POLYTLS_OK)
        return s;
    if (!polytls_certificate_has_private_key(in[leaf]))
        return ptls_fail(POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY,
                         "the leaf certificate (number %zu of the chain) has no private key", leaf);
    bool *used = calloc(n, sizeof *used);
    if (!used)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory ordering a chain");
    polytls_certificate **path = NULL;
    size_t len = 0;
    s = ptls_chain_path(in[leaf], in, n, used, &path, &len);
    if (s == POLYTLS_OK) {
        for (size_t i = 0; i < n; i++) {
            if (used[i])
                continue;
            s = ptls_fail(POLYTLS_ERR_NO_CERTIFICATE_CHAIN,
                          "certificate %zu is not on the leaf's issuer chain (a stray, a duplicate, or a "
                          "certificate whose issuer is missing between it and the leaf)", i);
            polytls_certificates_free(path, len);
            break;
        }
    }
    free(used);
    if (s != POLYTLS_OK)
        return s;
    *out = path;
    *n_out = len;
    return POLYTLS_OK;
}

bool ptls_chain_reaches_name(polytls_certificate *const *chain, size_t n, const uint8_t *name,
                             size_t name_len)
{
    if (!chain || !name)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!chain[i])
            continue;
        const ptls_cert_info *info = ptls_certificate_info(chain[i]);
        if ((info->subject.len == name_len && memcmp(info->subject.p, name, name_len) == 0) ||
            (info->issuer.len == name_len && memcmp(info->issuer.p, name, name_len) == 0))
            return true;
    }
    return false;
}
