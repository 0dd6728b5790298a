/* SHA-256 (FIPS 180-4), for the one hash the core needs itself: certificate
   pins are the SHA-256 of a certificate's SubjectPublicKeyInfo, checked by
   the core the same way on every backend. Not for anything secret: it is
   not written to resist timing attacks (pins and certificates are public). */
#ifndef POLYTLS_CORE_SHA256_H
#define POLYTLS_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define PTLS_SHA256_LEN 32

typedef struct ptls_sha256 {
    uint32_t h[8];
    uint64_t total;      /* bytes hashed so far */
    uint8_t block[64];
    size_t used;         /* bytes in block */
} ptls_sha256;

void ptls_sha256_init(ptls_sha256 *s);
void ptls_sha256_update(ptls_sha256 *s, const void *data, size_t len);
void ptls_sha256_final(ptls_sha256 *s, uint8_t out[PTLS_SHA256_LEN]);
/* One call for a whole buffer. */
void ptls_sha256_digest(const void *data, size_t len, uint8_t out[PTLS_SHA256_LEN]);

#endif
