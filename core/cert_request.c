/* Reads the CA names of a TLS 1.2 CertificateRequest from the server's
   plaintext first flight (see cert_request.h). Strict about lengths,
   forgiving about meaning: on anything unexpected it simply stops, and the
   names are then whatever the driver reports. */
#include <string.h>

#include "cert_request.h"
#include "der.h"

enum {
    REC_HANDSHAKE = 22,
    HS_CERTIFICATE_REQUEST = 13,
    HS_SERVER_HELLO_DONE = 14,
    MAX_RECORD = 16384 + 2048,
};

static void stop(ptls_cert_request_scan *s)
{
    s->done = true;
    ptls_buf_free(&s->handshake);
}

static uint32_t be(const uint8_t *p, size_t n)
{
    uint32_t v = 0;
    while (n--)
        v = v << 8 | *p++;
    return v;
}

/* CertificateRequest (RFC 5246 §7.4.4): certificate_types<1..2^8-1>,
   supported_signature_algorithms<2..2^16-2>, certificate_authorities
   <0..2^16-1> of DistinguishedName<1..2^16-1>, each a DER Name. */
static void parse_request(ptls_cert_request_scan *s, const uint8_t *b, size_t len)
{
    size_t pos = 0;
    if (len < 1 || (pos = 1 + (size_t)b[0]) > len || b[0] == 0)
        return;
    if (pos + 2 > len)
        return;
    size_t sig = be(b + pos, 2);
    pos += 2 + sig;
    if (pos + 2 > len)
        return;
    size_t cas = be(b + pos, 2);
    pos += 2;
    if (pos + cas != len)
        return;
    /* every name must be one well-formed DER element */
    for (size_t p = pos; p < len;) {
        if (p + 2 > len)
            return;
        size_t n = be(b + p, 2);
        if (n == 0 || p + 2 + n > len || b[p + 2] != PTLS_DER_SEQUENCE ||
            ptls_der_check_tree(b + p + 2, n, PTLS_DER_MAX_DEPTH) != POLYTLS_OK)
            return;
        p += 2 + n;
    }
    if (ptls_buf_append(&s->names, b + pos, cas) == POLYTLS_OK)
        s->found = true;
}

/* Takes every complete handshake message out of the buffer. */
static void parse_messages(ptls_cert_request_scan *s)
{
    size_t pos = 0;
    while (!s->done && s->handshake.len - pos >= 4) {
        const uint8_t *m = s->handshake.data + pos;
        size_t body = be(m + 1, 3);
        if (s->handshake.len - pos - 4 < body)
            break;
        if (m[0] == HS_CERTIFICATE_REQUEST) {
            parse_request(s, m + 4, body);
            stop(s);
            return;
        }
        if (m[0] == HS_SERVER_HELLO_DONE) {
            stop(s);
            return;
        }
        pos += 4 + body;
    }
    ptls_buf_consume(&s->handshake, pos);
}

void ptls_cert_request_feed(ptls_cert_request_scan *s, const uint8_t *data, size_t len)
{
    while (len && !s->done) {
        if (s->record_left == 0) {
            size_t take = 5 - s->header_len < len ? 5 - s->header_len : len;
            memcpy(s->header + s->header_len, data, take);
            s->header_len += take;
            data += take;
            len -= take;
            if (s->header_len < 5)
                return;
            s->header_len = 0;
            s->record_left = be(s->header + 3, 2);
            s->in_handshake_record = s->header[0] == REC_HANDSHAKE;
            /* The first record that is not a plaintext handshake record
               ends the first flight (or this is TLS 1.3): stop. */
            if (!s->in_handshake_record || s->record_left == 0 || s->record_left > MAX_RECORD) {
                stop(s);
                return;
            }
            continue;
        }
        size_t take = s->record_left < len ? s->record_left : len;
        if (s->handshake.len + take > PTLS_CERT_REQUEST_MAX_FLIGHT ||
            ptls_buf_append(&s->handshake, data, take) != POLYTLS_OK) {
            stop(s);
            return;
        }
        s->record_left -= take;
        data += take;
        len -= take;
        parse_messages(s);
    }
}

size_t ptls_cert_request_names(const ptls_cert_request_scan *s,
                               void (*fn)(void *arg, const uint8_t *der, size_t len), void *arg)
{
    if (!s->found)
        return 0;
    size_t count = 0;
    const uint8_t *b = s->names.data;
    for (size_t p = 0; p + 2 <= s->names.len;) {
        size_t n = be(b + p, 2);
        if (fn)
            fn(arg, b + p + 2, n);
        count++;
        p += 2 + n;
    }
    return count;
}

void ptls_cert_request_free(ptls_cert_request_scan *s)
{
    ptls_buf_free(&s->handshake);
    ptls_buf_free(&s->names);
    memset(s, 0, sizeof *s);
}
