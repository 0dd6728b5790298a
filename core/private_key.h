/* Private keys: parsing PKCS#8 / PKCS#1 / SEC1 DER, normalising to
 * unencrypted PKCS#8, and checking that a key belongs to a certificate
 * without any cryptography (by comparing the public parts). */
#ifndef POLYTLS_CORE_PRIVATE_KEY_H
#define POLYTLS_CORE_PRIVATE_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "certificate.h"

/* Imports key[0..key_len) for the certificate described by `cert`.
 * Accepts PrivateKeyInfo / OneAsymmetricKey (PKCS#8, unencrypted),
 * RSAPrivateKey (PKCS#1) and ECPrivateKey (SEC1, named curves; the curve
 * comes from the key or, if absent there, from the certificate).
 * On OK *pkcs8 is a new malloc'd PKCS#8 DER of *pkcs8_len bytes (wipe it
 * before freeing) and *checked tells whether the match with the certificate
 * was verified here (see ptls_certificate_key_checked).
 * Returns BAD_ENCODING, UNSUPPORTED (encrypted keys, explicit EC curve
 * parameters), KEY_MISMATCH, NO_MEMORY; a message in every case. */
polytls_status ptls_private_key_import(const uint8_t *key, size_t key_len, const ptls_cert_info *cert,
                                       uint8_t **pkcs8, size_t *pkcs8_len, bool *checked);

#endif
