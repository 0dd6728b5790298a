/* PEM reading (RFC 7468 "strict" textual encoding) and the PEM factories'
 * helpers shared with the trust store. */
#ifndef POLYTLS_CORE_PEM_H
#define POLYTLS_CORE_PEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polytls/polytls.h"

#define PTLS_PEM_MAX_LABEL 64

/* One decoded block. */
typedef struct ptls_pem_block {
    size_t number;                   /* 1 for the first block of the input */
    char label[PTLS_PEM_MAX_LABEL];  /* "CERTIFICATE", "PRIVATE KEY", ... */
    bool has_headers;                /* RFC 1421 headers (Proc-Type: ...): der is NULL then */
    uint8_t *der;                    /* decoded bytes (wiped on free) */
    size_t der_len;
} ptls_pem_block;

typedef struct ptls_pem_reader {
    const char *text;
    size_t len;
    size_t pos;
    size_t blocks; /* blocks seen so far */
    /* Lenient readers skip text outside blocks (bundles with comments), and
       after a bad block resume at the next one. Strict readers refuse any
       non-whitespace outside blocks. */
    bool lenient;
} ptls_pem_reader;

void ptls_pem_reader_init(ptls_pem_reader *r, const char *text, size_t len, bool lenient);
/* Reads the next block. OK with *done = true at the end of the input (b
   untouched); OK with *done = false and a block to free with
   ptls_pem_block_free; BAD_ENCODING (message with the block number) for
   junk, a bad BEGIN/END line, mismatched labels or bad base64. */
polytls_status ptls_pem_next(ptls_pem_reader *r, ptls_pem_block *b, bool *done);
void ptls_pem_block_free(ptls_pem_block *b);
/* True for labels of private keys of any format ("... PRIVATE KEY"). */
bool ptls_pem_label_is_key(const char *label);

/* Reads a whole file into a malloc'd, NUL-terminated buffer. INVALID_ARGUMENT
   with the errno text when it cannot be read. */
polytls_status ptls_read_file(const char *path, char **data, size_t *len);

#endif
