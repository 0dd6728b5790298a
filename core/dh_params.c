/* Structural check of PKCS#3 DH parameters, so that garbage is refused by
   polytls_server_new on every backend alike, before any library sees it. */
#include "dh_params.h"
#include "der.h"
#include "status.h"

/* Bits in a positive INTEGER value (leading 0x00 for the sign allowed). */
static size_t integer_bits(const uint8_t *v, size_t len)
{
    while (len && *v == 0) {
        v++;
        len--;
    }
    if (!len)
        return 0;
    size_t bits = (len - 1) * 8;
    for (uint8_t top = v[0]; top; top >>= 1)
        bits++;
    return bits;
}

polytls_status ptls_dh_params_check(const uint8_t *der, size_t len)
{
    ptls_der top, seq;
    ptls_der_tlv t, prime, base;
    ptls_der_init(&top, der, len);
    if (ptls_der_expect(&top, PTLS_DER_SEQUENCE, &t, "DHParameter") != POLYTLS_OK ||
        ptls_der_finish(&top, "DHParameter") != POLYTLS_OK)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "dh_params: not a PKCS#3 DHParameter (%s)",
                         polytls_last_error_message());
    ptls_der_enter(&top, &t, &seq);
    if (ptls_der_expect(&seq, PTLS_DER_INTEGER, &prime, "prime") != POLYTLS_OK ||
        ptls_der_expect(&seq, PTLS_DER_INTEGER, &base, "base") != POLYTLS_OK)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "dh_params: %s", polytls_last_error_message());
    if (ptls_der_peek(&seq, PTLS_DER_INTEGER) && ptls_der_next(&seq, &t) != POLYTLS_OK)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "dh_params: %s", polytls_last_error_message());
    if (ptls_der_finish(&seq, "DHParameter") != POLYTLS_OK)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "dh_params: %s", polytls_last_error_message());
    if (prime.len == 0 || (prime.val[0] & 0x80) || !(prime.val[prime.len - 1] & 1))
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "dh_params: the prime is not a positive odd integer");
    size_t bits = integer_bits(prime.val, prime.len);
    if (bits < 2048)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "dh_params: a %zu-bit prime is too small (2048 at least)",
                         bits);
    if (base.len == 0 || (base.val[0] & 0x80) || integer_bits(base.val, base.len) < 2)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "dh_params: the generator must be at least 2");
    return POLYTLS_OK;
}
