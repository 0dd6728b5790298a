/* Growable byte buffers: the core's wire-in, wire-out and plaintext queues. */
#ifndef POLYTLS_CORE_BUFFER_H
#define POLYTLS_CORE_BUFFER_H

#include <stddef.h>
#include <stdint.h>
#include "polytls/polytls.h"

typedef struct ptls_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} ptls_buf;

/* Makes room for n more bytes; NO_MEMORY on failure (the buffer is unchanged). */
polytls_status ptls_buf_reserve(ptls_buf *b, size_t n);
polytls_status ptls_buf_append(ptls_buf *b, const void *p, size_t n);
/* Drops n bytes from the front (n > len drops everything). */
void ptls_buf_consume(ptls_buf *b, size_t n);
void ptls_buf_free(ptls_buf *b);
/* Like ptls_buf_free, wiping the bytes first (plaintext, keys). */
void ptls_buf_wipe_free(ptls_buf *b);
/* Overwrites n bytes with zeros in a way the compiler may not remove. */
void ptls_wipe(void *p, size_t n);

#endif
