/* Growable byte buffers. Consuming from the front moves the rest down so
   the buffer never grows without bound while a peer streams data. */
#include <stdlib.h>
#include <string.h>

#include "buffer.h"

polytls_status ptls_buf_reserve(ptls_buf *b, size_t n)
{
    if (n <= b->cap - b->len)
        return POLYTLS_OK;
    if (n > SIZE_MAX / 2 - b->len)
        return POLYTLS_ERR_NO_MEMORY;
    /* An empty buffer gets exactly what is asked (at least 256 bytes): a
       queue that carries 1 KiB records then holds 1 KiB, not the next
       power of two (idle heap per connection, docs/performance.md).
       Growing a buffer that has bytes doubles it, so appends stay
       amortised O(1). */
    size_t cap = b->cap ? b->cap : (n > 256 ? n : 256);
    while (cap - b->len < n)
        cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return POLYTLS_ERR_NO_MEMORY;
    b->data = p;
    b->cap = cap;
    return POLYTLS_OK;
}

polytls_status ptls_buf_append(ptls_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return POLYTLS_OK;
    polytls_status s = ptls_buf_reserve(b, n);
    if (s != POLYTLS_OK)
        return s;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return POLYTLS_OK;
}

void ptls_buf_consume(ptls_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void ptls_wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

void ptls_buf_free(ptls_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void ptls_buf_wipe_free(ptls_buf *b)
{
    if (b->data)
        ptls_wipe(b->data, b->cap);
    ptls_buf_free(b);
}
