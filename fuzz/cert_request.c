/* Target: the TLS 1.2 CertificateRequest scanner (ptls_cert_request_feed),
   fed the input in fuzzer-chosen pieces, then asked for the names.
   Input: byte 0 = piece size (0: all at once). */
#include "fuzz_common.h"

#include "cert_request.h"

static void count_name(void *arg, const uint8_t *der, size_t len)
{
    size_t *n = arg;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < len; i++)
        sink ^= der[i];
    (void)sink;
    ++*n;
}

int polytls_fuzz_one(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    size_t piece = fz_u8(&in);
    if (!piece)
        piece = in.n ? in.n : 1;
    ptls_cert_request_scan scan = {0};
    while (in.n && !scan.done) {
        const uint8_t *p;
        size_t n = fz_take(&in, piece, &p);
        ptls_cert_request_feed(&scan, p, n);
    }
    size_t seen = 0;
    size_t n = ptls_cert_request_names(&scan, count_name, &seen);
    if (n != seen)
        fz_fail("cert_request: the name count differs from the callbacks", NULL);
    if (n && !scan.found)
        fz_fail("cert_request: names without a CertificateRequest", NULL);
    ptls_cert_request_free(&scan);
    return 0;
}
