/* Certificate objects: DER plus an optional private key (normalised to
 * unencrypted PKCS#8 DER, wiped on free), with the few fields the core
 * needs already located by a strict parse at creation. */
#ifndef POLYTLS_CORE_CERTIFICATE_H
#define POLYTLS_CORE_CERTIFICATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polytls/polytls.h"

/* A byte range inside the certificate's DER. len 0 = absent. */
typedef struct ptls_span {
    const uint8_t *p;
    size_t len;
} ptls_span;

/* What the core knows about a certificate. Every span points into the DER
   that was parsed, so it lives as long as that DER. */
typedef struct ptls_cert_info {
    ptls_span issuer;        /* whole Name element (tag and length included) */
    ptls_span subject;       /* whole Name element */
    ptls_span spki;          /* whole SubjectPublicKeyInfo element */
    ptls_span spki_alg_oid;  /* contents of the algorithm OBJECT IDENTIFIER */
    ptls_span spki_params;   /* whole parameters element, absent if none */
    ptls_span spki_key;      /* subjectPublicKey BIT STRING bytes (after the unused-bits octet) */
    ptls_span ski;           /* subjectKeyIdentifier contents */
    ptls_span aki_key_id;    /* authorityKeyIdentifier keyIdentifier contents */
    ptls_span san;           /* contents of the subjectAltName GeneralNames SEQUENCE */
    bool is_ca;              /* basicConstraints cA=TRUE */
    ptls_span validity;      /* whole Validity SEQUENCE (times parsed on demand) */
} ptls_cert_info;

/* Parses a certificate strictly (whole-tree DER check plus the fields
   above; duplicate extensions refused). BAD_ENCODING with a message. */
polytls_status ptls_cert_parse(const uint8_t *der, size_t len, ptls_cert_info *out);

/* The parsed fields of a live certificate. */
const ptls_cert_info *ptls_certificate_info(const polytls_certificate *c);

/* The private key as unencrypted PKCS#8 DER, or NULL (then *len = 0). */
const uint8_t *ptls_certificate_key(const polytls_certificate *c, size_t *len);
/* False when the certificate has a key whose match with the certificate the
   core could not check (Ed25519/Ed448, EC keys without their public point,
   unknown algorithms): the backend checks it when the chain is loaded and
   its driver returns KEY_MISMATCH then. True when checked, or no key. */
bool ptls_certificate_key_checked(const polytls_certificate *c);

/* True if subject and issuer are the same Name (byte-equal DER). */
bool ptls_certificate_self_issued(const polytls_certificate *c);
/* True if `issuer` could have issued `c`: c's issuer Name equals issuer's
   subject Name, and when both key identifiers are present they are equal. */
bool ptls_certificate_issued_by(const polytls_certificate *c, const polytls_certificate *issuer);
/* True if both certificates have the same DER. */
bool ptls_certificate_same(const polytls_certificate *a, const polytls_certificate *b);

/* Calls fn for each dNSName (tag 2) or iPAddress (tag 7) subjectAltName
   entry in order, until fn returns true; returns whether one did. */
bool ptls_certificate_each_san(const polytls_certificate *c, uint8_t general_name_tag,
                               bool (*fn)(void *arg, const uint8_t *p, size_t len), void *arg);
/* True if a subjectAltName dNSName matches `host` (a normalised DNS name,
   RFC 6125 wildcards as in ptls_dns_pattern_matches). */
bool ptls_certificate_matches_dns(const polytls_certificate *c, const char *host);
/* True if a subjectAltName iPAddress equals the 4 or 16 address bytes. */
bool ptls_certificate_matches_ip(const polytls_certificate *c, const uint8_t *addr, size_t addr_len);

/* notBefore and notAfter in seconds since 1970 UTC (RFC 5280 4.1.2.5,
   strict: see ptls_der_get_time). BAD_ENCODING with a message. */
polytls_status ptls_certificate_validity(const polytls_certificate *c, int64_t *not_before, int64_t *not_after);
/* Writes a short readable name of c's subject to buf (always
   NUL-terminated): "CN=<commonName>" with unprintable bytes as '?', or the
   subject's size when it has no commonName. For error messages only. */
void ptls_certificate_subject_text(const polytls_certificate *c, char *buf, size_t len);
/* Writes t (seconds since 1970 UTC) as "YYYY-MM-DD HH:MM:SS UTC". */
void ptls_time_text(int64_t t, char *buf, size_t len);

/* Re-sets the thread's last-error message as "<context>: <previous message>"
   and returns s, so a low-level DER message keeps its offset and gains the
   place it came from ("PEM block 3: DER: ..."). */
polytls_status ptls_fail_context(polytls_status s, const char *context);

#define PTLS_SAN_DNS 2u
#define PTLS_SAN_IP 7u

#endif
