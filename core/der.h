/* A small strict DER reader (and the two encoding helpers the key
 * normaliser needs).
 *
 * Strict means: single-byte tags only, definite lengths only, minimal length
 * encodings, no trailing bytes, universal SEQUENCE/SET constructed and every
 * other universal type primitive. Every read is bounds-checked against the
 * cursor, never against the caller's good intentions: the input is hostile
 * (certificates come from peers and from files). Failures return
 * POLYTLS_ERR_BAD_ENCODING with a message that gives the byte offset.
 */
#ifndef POLYTLS_CORE_DER_H
#define POLYTLS_CORE_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polytls/polytls.h"

/* Tags used by the core. */
#define PTLS_DER_BOOLEAN 0x01
#define PTLS_DER_INTEGER 0x02
#define PTLS_DER_BIT_STRING 0x03
#define PTLS_DER_OCTET_STRING 0x04
#define PTLS_DER_NULL 0x05
#define PTLS_DER_OID 0x06
#define PTLS_DER_SEQUENCE 0x30
#define PTLS_DER_SET 0x31
/* Context-specific tags: [n] constructed (EXPLICIT) and primitive (IMPLICIT). */
#define PTLS_DER_CTX_CONS(n) ((uint8_t)(0xa0 | (n)))
#define PTLS_DER_CTX_PRIM(n) ((uint8_t)(0x80 | (n)))

/* How deep ptls_der_check_tree descends into constructed values. X.509
   needs fewer than 10 levels; the limit keeps recursion bounded. */
#define PTLS_DER_MAX_DEPTH 24

/* A read position inside one DER buffer. `base` is the start of the whole
   input so that messages can name absolute offsets. */
typedef struct ptls_der {
    const uint8_t *base;
    size_t pos;
    size_t end;
} ptls_der;

/* One element read from a cursor. */
typedef struct ptls_der_tlv {
    uint8_t tag;
    size_t offset;      /* of the tag byte, from the start of the input */
    const uint8_t *tlv; /* the whole element: tag, length and value */
    size_t tlv_len;
    const uint8_t *val; /* the value only */
    size_t len;
} ptls_der_tlv;

/* A cursor over the whole of p[0..len). */
void ptls_der_init(ptls_der *d, const uint8_t *p, size_t len);
/* A cursor over the value of `t`, which was read from `parent`. */
void ptls_der_enter(const ptls_der *parent, const ptls_der_tlv *t, ptls_der *child);
bool ptls_der_at_end(const ptls_der *d);
/* True if the next element has this tag (false at the end). */
bool ptls_der_peek(const ptls_der *d, uint8_t tag);

/* Reads the next element. BAD_ENCODING at the end of the cursor, for a
   multi-byte tag, an indefinite or non-minimal length, or a length that
   overruns the cursor. */
polytls_status ptls_der_next(ptls_der *d, ptls_der_tlv *t);
/* Reads the next element and requires its tag; `what` names it in the
   message ("tbsCertificate"). */
polytls_status ptls_der_expect(ptls_der *d, uint8_t tag, ptls_der_tlv *t, const char *what);
/* BAD_ENCODING if bytes remain in the cursor. */
polytls_status ptls_der_finish(const ptls_der *d, const char *what);

/* Checks that p[0..len) is exactly one well-formed DER element, descending
   into every constructed value up to max_depth levels. */
polytls_status ptls_der_check_tree(const uint8_t *p, size_t len, unsigned max_depth);

/* Value helpers; `what` names the field in messages. */
/* BOOLEAN: exactly one byte, 0x00 or 0xFF. */
polytls_status ptls_der_get_bool(const ptls_der_tlv *t, bool *out, const char *what);
/* INTEGER that is non-negative, minimally encoded and fits in a long. */
polytls_status ptls_der_get_small_uint(const ptls_der_tlv *t, long *out, const char *what);
/* INTEGER contents minimally encoded (no redundant leading 0x00/0xFF). */
polytls_status ptls_der_check_integer(const ptls_der_tlv *t, const char *what);
/* BIT STRING with 0 unused bits: the bytes after the unused-bits octet. */
polytls_status ptls_der_get_bit_string(const ptls_der_tlv *t, const uint8_t **bytes, size_t *len,
                                       const char *what);
/* UTCTime (YYMMDDHHMMSSZ, YY 50..99 = 19YY) or GeneralizedTime
   (YYYYMMDDHHMMSSZ) as RFC 5280 4.1.2.5 requires them: seconds present, no
   fraction, time zone Z only, every field in range. Seconds since
   1970-01-01 UTC (negative before 1970). */
polytls_status ptls_der_get_time(const ptls_der_tlv *t, int64_t *out, const char *what);
#define PTLS_DER_UTC_TIME 0x17
#define PTLS_DER_GENERALIZED_TIME 0x18
/* True if the OBJECT IDENTIFIER element's contents equal oid[0..oid_len). */
bool ptls_der_oid_equals(const ptls_der_tlv *t, const uint8_t *oid, size_t oid_len);

/* Encoding. Size of a whole element holding `len` value bytes; 0 when that
   would overflow size_t. */
size_t ptls_der_tlv_size(size_t len);
/* Writes tag and length to out (room for ptls_der_tlv_size(len) - len
   bytes); returns the number of bytes written. */
size_t ptls_der_put_header(uint8_t *out, uint8_t tag, size_t len);

#endif
