/* Target: the strict DER reader and certificate parsing, through
   polytls_certificate_new without a key and with one (PKCS#8, PKCS#1 or
   SEC1), and the getters of whatever parses.
   Input: byte 0 bit 0 = with a key; with a key, bytes 1-2 (big endian,
   modulo what is left) are the certificate's length and the key follows
   it; without one, the rest is the certificate. */
#include "fuzz_common.h"

int polytls_fuzz_one(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t mode = fz_u8(&in);
    size_t split = in.n;
    if (mode & 1) {
        uint16_t n = fz_u16(&in);
        split = n % (in.n + 1);
    }
    polytls_certificate *c = NULL;
    const uint8_t *key = (mode & 1) ? in.p + split : NULL;
    size_t key_len = (mode & 1) ? in.n - split : 0;
    polytls_status s = polytls_certificate_new(in.p, split, key, key_len, &c);
    fz_check_status(s, "certificate_new");
    if (s != POLYTLS_OK) {
        if (c)
            fz_fail("certificate_new wrote its output on failure", NULL);
        return 0;
    }
    const uint8_t *der;
    size_t len;
    if (polytls_certificate_der(c, &der, &len) != POLYTLS_OK || len != split)
        fz_fail("certificate_der disagrees with the input", NULL);
    polytls_certificate_subject(c, &der, &len);
    polytls_certificate_issuer(c, &der, &len);
    if (polytls_certificate_has_private_key(c) != (key_len > 0 && (mode & 1)))
        fz_fail("has_private_key disagrees with the key given", NULL);
    polytls_certificate_is_ca(c);
    polytls_certificate_unref(c);
    return 0;
}
