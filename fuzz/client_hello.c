/* Target: the ClientHello pre-parser (ptls_client_hello_parse) on every
   prefix the server would see as bytes trickle in: it must be stateless
   and never read beyond the length it is given. */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

#include "client_hello.h"

int polytls_fuzz_one(const uint8_t *data, size_t size)
{
    ptls_client_hello ch;
    polytls_alert alert;
    const char *why;
    /* The whole input, then a few prefixes: each copied to an exact-size
       buffer so an over-read is caught. */
    size_t cuts[4] = {size, size / 2, size / 3, size > 5 ? 5 : size};
    ptls_ch_result first = PTLS_CH_INCOMPLETE;
    for (size_t k = 0; k < 4; k++) {
        size_t len = cuts[k];
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy)
            return 0;
        if (len)
            memcpy(copy, data, len);
        memset(&ch, 0xA5, sizeof ch);
        ptls_ch_result r = ptls_client_hello_parse(len ? copy : NULL, len, &ch, &alert, &why);
        if (r == PTLS_CH_COMPLETE) {
            if (ch.consumed == 0 || ch.consumed > len)
                fz_fail("client_hello: consumed out of range", NULL);
            if (memchr(ch.server_name, 0, sizeof ch.server_name) == NULL)
                fz_fail("client_hello: server_name not terminated", NULL);
            if (ch.alpn && (ch.alpn < copy || ch.alpn + ch.alpn_len > copy + len))
                fz_fail("client_hello: alpn outside the input", NULL);
            if (ch.alpn && !ch.has_alpn)
                fz_fail("client_hello: alpn without has_alpn", NULL);
        } else if (r == PTLS_CH_MALFORMED) {
            if (!why || !polytls_alert_name(alert))
                fz_fail("client_hello: malformed without a reason or a registered alert", NULL);
        } else if (r != PTLS_CH_INCOMPLETE) {
            fz_fail("client_hello: result outside the enum", NULL);
        }
        if (k == 0)
            first = r;
        else if (r != PTLS_CH_INCOMPLETE && r != first)
            /* Once a prefix decides, more bytes cannot change the answer. */
            fz_fail("client_hello: a prefix decided differently from the whole", NULL);
        free(copy);
    }
    return 0;
}
