/* Target: the strict PEM factories. Input: byte 0 picks the factory; for
   mode 1, bytes 1-2 (big endian, modulo what is left) are the split point;
   the rest is the text.
     mode % 3 == 0: polytls_certificates_from_pem (a bag), then a trust
                    store from what it returned;
     mode % 3 == 1: polytls_chain_from_pem with the text split in two
                    halves (certificates | key) at the split point;
     mode % 3 == 2: polytls_chain_from_pem with key_pem NULL. */
#include "fuzz_common.h"

#include <string.h>

static void check_array(polytls_status s, polytls_certificate **certs, size_t n, bool key_on_leaf)
{
    fz_check_status(s, "pem factory");
    if (s != POLYTLS_OK) {
        if (certs)
            fz_fail("a PEM factory wrote its output on failure", NULL);
        return;
    }
    if (!certs || n == 0)
        fz_fail("a PEM factory returned no certificate with OK", NULL);
    for (size_t i = 0; i < n; i++) {
        if (!certs[i])
            fz_fail("a PEM factory returned a NULL certificate", NULL);
        if (key_on_leaf && polytls_certificate_has_private_key(certs[i]) != (i == 0))
            fz_fail("chain_from_pem: the key is not on the leaf (first) only", NULL);
    }
}

int polytls_fuzz_one(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t mode = fz_u8(&in);
    polytls_certificate **certs = NULL;
    size_t n = 0;
    polytls_status s;
    const char *text;
    switch (mode % 3) {
    case 0: {
        text = (const char *)in.p;
        s = polytls_certificates_from_pem(text, in.n, &certs, &n);
        check_array(s, certs, n, false);
        if (s == POLYTLS_OK) {
            polytls_trust_store *ts = NULL;
            s = polytls_trust_store_new(certs, n, &ts);
            fz_check_status(s, "trust_store_new");
            if (s == POLYTLS_OK && polytls_trust_store_count(ts) != n)
                fz_fail("trust store count differs from the certificates given", NULL);
            polytls_trust_store_unref(ts);
        }
        break;
    }
    case 1: {
        uint16_t at = fz_u16(&in);
        size_t split = at % (in.n + 1);
        text = (const char *)in.p;
        s = polytls_chain_from_pem(text, split, text + split, in.n - split, &certs, &n);
        check_array(s, certs, n, true);
        break;
    }
    default:
        text = (const char *)in.p;
        s = polytls_chain_from_pem(text, in.n, NULL, 0, &certs, &n);
        check_array(s, certs, n, true);
        if (s == POLYTLS_OK)
            fz_fail("chain_from_pem without a key succeeded", NULL);
        break;
    }
    polytls_certificates_free(certs, s == POLYTLS_OK ? n : 0);
    return 0;
}
