/* Unit tests of the ClientHello pre-parser (core/client_hello.c): real
   ClientHellos captured from OpenSSL and GnuTLS clients, the same split
   across records and fed one byte at a time, hand-built ones, and a corpus
   of malformed ones, each asserting the alert it must produce. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client_hello.h"

/* Captured on the wire from the Debian 12 command-line clients (one record each). */
/* openssl s_client -servername Www.Example.COM -alpn h2,http/1.1 (TLS 1.3 + 1.2) */
static const uint8_t hello_openssl_tls13[] = {
    0x16, 0x03, 0x01, 0x01, 0x4e, 0x01, 0x00, 0x01, 0x4a, 0x03, 0x03, 0x48, 0x2f, 0xd1, 0x4b, 0x33,
    0xdf, 0x21, 0xa1, 0x5c, 0x7f, 0xb9, 0x40, 0x9d, 0x8e, 0x85, 0xfa, 0xb5, 0x7b, 0x0a, 0xe9, 0xd7,
    0x62, 0x89, 0x4b, 0x5a, 0x8a, 0x7d, 0x0c, 0xab, 0x45, 0x3d, 0x70, 0x20, 0xb4, 0xf2, 0xcf, 0x98,
    0x97, 0xff, 0xf4, 0x90, 0x58, 0x4f, 0x5e, 0xdc, 0x01, 0x32, 0x03, 0x2d, 0x1a, 0x5a, 0x4f, 0x0b,
    0x64, 0xfa, 0x8d, 0x6a, 0xf9, 0x7c, 0x91, 0x8e, 0xa0, 0x18, 0xa3, 0x58, 0x00, 0x3e, 0x13, 0x02,
    0x13, 0x03, 0x13, 0x01, 0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
    0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b, 0xc0, 0x23, 0xc0, 0x27,
    0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39, 0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d,
    0x00, 0x9c, 0x00, 0x3d, 0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0xc3,
    0x00, 0x00, 0x00, 0x14, 0x00, 0x12, 0x00, 0x00, 0x0f, 0x57, 0x77, 0x77, 0x2e, 0x45, 0x78, 0x61,
    0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x43, 0x4f, 0x4d, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02,
    0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18,
    0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23, 0x00, 0x00, 0x00, 0x10,
    0x00, 0x0e, 0x00, 0x0c, 0x02, 0x68, 0x32, 0x08, 0x68, 0x74, 0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31,
    0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03,
    0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04,
    0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02,
    0x04, 0x02, 0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00, 0x09, 0x08, 0x03, 0x04, 0x03, 0x03, 0x03,
    0x02, 0x03, 0x01, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00,
    0x1d, 0x00, 0x20, 0x78, 0xd3, 0x3b, 0x5e, 0x94, 0xbe, 0x10, 0x0a, 0x85, 0x3b, 0x19, 0xe2, 0x86,
    0x80, 0x2f, 0x7f, 0x21, 0x8d, 0x99, 0xf3, 0x1e, 0x10, 0x64, 0x4a, 0x7e, 0xc5, 0xa6, 0xd2, 0x53,
    0xd5, 0x17, 0x31,
};
/* openssl s_client -tls1_2 -noservername (no supported_versions, no SNI) */
static const uint8_t hello_openssl_tls12[] = {
    0x16, 0x03, 0x01, 0x00, 0xb7, 0x01, 0x00, 0x00, 0xb3, 0x03, 0x03, 0x53, 0xa8, 0x49, 0x68, 0x2f,
    0x17, 0xaa, 0x7e, 0x32, 0x12, 0xc5, 0xad, 0x88, 0x81, 0x88, 0xa0, 0x9b, 0x42, 0x6e, 0xe2, 0xb2,
    0xb3, 0xe3, 0xa6, 0xe5, 0xd1, 0xcf, 0x33, 0xb2, 0x2f, 0x94, 0xfd, 0x00, 0x00, 0x38, 0xc0, 0x2c,
    0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa, 0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e,
    0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b, 0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14,
    0x00, 0x39, 0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d, 0x00, 0x3c,
    0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0x52, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00,
    0x01, 0x02, 0x00, 0x0a, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19,
    0x00, 0x18, 0x00, 0x23, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d,
    0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09,
    0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01,
    0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02,
};
/* gnutls-cli --sni-hostname=gnutls.test.example --alpn=http/1.1 */
static const uint8_t hello_gnutls[] = {
    0x16, 0x03, 0x01, 0x01, 0x9b, 0x01, 0x00, 0x01, 0x97, 0x03, 0x03, 0xc9, 0x43, 0x61, 0x41, 0x5d,
    0xf3, 0xd0, 0x10, 0xbc, 0x34, 0x35, 0x77, 0xef, 0xc7, 0x80, 0x97, 0xd8, 0x20, 0x07, 0x41, 0x5f,
    0x8c, 0x21, 0x1b, 0xf9, 0x85, 0xdf, 0xde, 0xb2, 0x8b, 0x41, 0x14, 0x20, 0x25, 0x91, 0xb6, 0x32,
    0x11, 0x54, 0x9f, 0x53, 0xe2, 0x24, 0x58, 0x8b, 0x2b, 0xbd, 0x47, 0xae, 0x5a, 0xe1, 0xf5, 0x93,
    0x16, 0xd7, 0x98, 0x7b, 0x8f, 0xc2, 0xae, 0x50, 0xd3, 0x6c, 0x27, 0x1c, 0x00, 0x3a, 0x13, 0x02,
    0x13, 0x03, 0x13, 0x01, 0x13, 0x04, 0xc0, 0x2c, 0xcc, 0xa9, 0xc0, 0xad, 0xc0, 0x0a, 0xc0, 0x2b,
    0xc0, 0xac, 0xc0, 0x09, 0xc0, 0x30, 0xcc, 0xa8, 0xc0, 0x14, 0xc0, 0x2f, 0xc0, 0x13, 0x00, 0x9d,
    0xc0, 0x9d, 0x00, 0x35, 0x00, 0x9c, 0xc0, 0x9c, 0x00, 0x2f, 0x00, 0x9f, 0xcc, 0xaa, 0xc0, 0x9f,
    0x00, 0x39, 0x00, 0x9e, 0xc0, 0x9e, 0x00, 0x33, 0x01, 0x00, 0x01, 0x14, 0x00, 0x05, 0x00, 0x05,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00, 0x17, 0x00, 0x18, 0x00,
    0x19, 0x00, 0x1d, 0x00, 0x1e, 0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00,
    0x0b, 0x00, 0x02, 0x01, 0x00, 0x00, 0x0d, 0x00, 0x22, 0x00, 0x20, 0x04, 0x01, 0x08, 0x09, 0x08,
    0x04, 0x04, 0x03, 0x08, 0x07, 0x05, 0x01, 0x08, 0x0a, 0x08, 0x05, 0x05, 0x03, 0x08, 0x08, 0x06,
    0x01, 0x08, 0x0b, 0x08, 0x06, 0x06, 0x03, 0x02, 0x01, 0x02, 0x03, 0x00, 0x10, 0x00, 0x0b, 0x00,
    0x09, 0x08, 0x68, 0x74, 0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17,
    0x00, 0x00, 0x00, 0x23, 0x00, 0x00, 0x00, 0x33, 0x00, 0x6b, 0x00, 0x69, 0x00, 0x17, 0x00, 0x41,
    0x04, 0x44, 0x5c, 0x4c, 0x78, 0x65, 0x29, 0x0e, 0x5a, 0x7a, 0xd4, 0x8c, 0x61, 0xaf, 0x61, 0xcf,
    0x9a, 0xd4, 0xaf, 0xdc, 0x0d, 0x95, 0x2a, 0x88, 0x17, 0x41, 0xb4, 0x77, 0xf4, 0xa2, 0x1e, 0x66,
    0xc8, 0xf6, 0x42, 0xc9, 0x93, 0xfe, 0x6f, 0x3f, 0xed, 0x18, 0x0c, 0x1d, 0xaa, 0x85, 0xc0, 0x86,
    0x3d, 0x27, 0xa4, 0x6f, 0x59, 0x56, 0x0c, 0xd1, 0x66, 0xe9, 0x0b, 0xeb, 0x30, 0x10, 0x45, 0x57,
    0x4f, 0x00, 0x1d, 0x00, 0x20, 0x19, 0xde, 0xb8, 0x8d, 0x79, 0xd5, 0x5a, 0x91, 0xe0, 0x6f, 0x59,
    0x7c, 0xe6, 0x49, 0xe4, 0x1f, 0x16, 0x47, 0x34, 0xcf, 0x1e, 0x8f, 0x42, 0x90, 0xa2, 0x0a, 0x1c,
    0x63, 0x51, 0x0b, 0xa6, 0x4b, 0x00, 0x2b, 0x00, 0x09, 0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02,
    0x03, 0x01, 0xff, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00, 0x16, 0x00, 0x00, 0x13,
    0x67, 0x6e, 0x75, 0x74, 0x6c, 0x73, 0x2e, 0x74, 0x65, 0x73, 0x74, 0x2e, 0x65, 0x78, 0x61, 0x6d,
    0x70, 0x6c, 0x65, 0x00, 0x2d, 0x00, 0x03, 0x02, 0x01, 0x00, 0x00, 0x1c, 0x00, 0x02, 0x40, 0x01,
};

/* ------------------------------------------------------------------------ */
/* Builders                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct bytes {
    uint8_t b[400000];
    size_t n;
} bytes;

static bytes body, exts, ext, wire;

static void put8(bytes *x, unsigned v) { x->b[x->n++] = (uint8_t)v; }
static void put16(bytes *x, unsigned v) { put8(x, v >> 8 & 0xff); put8(x, v & 0xff); }
static void putn(bytes *x, const void *p, size_t n) { memcpy(x->b + x->n, p, n); x->n += n; }
static void putrep(bytes *x, unsigned v, size_t n) { while (n--) put8(x, v); }

/* legacy_version, random, session_id, cipher_suites, compression: a
   valid prefix; tests that break one of these write their own. */
static void body_prefix(unsigned version)
{
    body.n = 0;
    put16(&body, version);
    putrep(&body, 0xAA, 32);
    put8(&body, 32);
    putrep(&body, 0x55, 32);
    put16(&body, 4);
    put16(&body, 0x1301);
    put16(&body, 0xc02f);
    put8(&body, 1);
    put8(&body, 0);
}

/* Appends extension (type, data) to the extension list being built. */
static void add_ext(unsigned type, const void *data, size_t n)
{
    put16(&exts, type);
    put16(&exts, (unsigned)n);
    putn(&exts, data, n);
}

/* Closes the extension list into the body. */
static void body_exts(void)
{
    put16(&body, (unsigned)exts.n);
    putn(&body, exts.b, exts.n);
    exts.n = 0;
}

/* server_name extension data with one host_name. */
static void add_sni(const char *name)
{
    ext.n = 0;
    size_t n = strlen(name);
    put16(&ext, (unsigned)(n + 3));
    put8(&ext, 0);
    put16(&ext, (unsigned)n);
    putn(&ext, name, n);
    add_ext(0, ext.b, ext.n);
}

static void add_versions(unsigned a, unsigned b)
{
    ext.n = 0;
    put8(&ext, b ? 4 : 2);
    put16(&ext, a);
    if (b)
        put16(&ext, b);
    add_ext(43, ext.b, ext.n);
}

/* Frames `body` as a handshake message of type hs_type in records of at
   most frag bytes, into `wire`. */
static void frame_body_first(unsigned hs_type, size_t first, size_t frag);

static void frame_body(unsigned hs_type, size_t frag)
{
    frame_body_first(hs_type, frag, frag);
}

/* Frames the handshake message into records: the first holding `first`
   bytes, the others at most `frag`. */
static void frame_body_first(unsigned hs_type, size_t first, size_t frag)
{
    static uint8_t msg[400000];
    size_t n = 0;
    msg[n++] = (uint8_t)hs_type;
    msg[n++] = (uint8_t)(body.n >> 16);
    msg[n++] = (uint8_t)(body.n >> 8);
    msg[n++] = (uint8_t)body.n;
    memcpy(msg + n, body.b, body.n);
    n += body.n;
    wire.n = 0;
    for (size_t off = 0; off < n;) {
        size_t want = off == 0 ? first : frag;
        size_t k = n - off < want ? n - off : want;
        put8(&wire, 22);
        put16(&wire, 0x0301);
        put16(&wire, (unsigned)k);
        putn(&wire, msg + off, k);
        off += k;
    }
}

/* Re-frames one captured single-record ClientHello into records of at most
   frag bytes. */
static void reframe(const uint8_t *rec, size_t len, size_t frag)
{
    assert_true(len > 9);
    body.n = 0;
    putn(&body, rec + 9, len - 9);
    frame_body(rec[5], frag);
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static ptls_ch_result parse(const uint8_t *w, size_t n, ptls_client_hello *ch, polytls_alert *alert,
                            const char **why)
{
    return ptls_client_hello_parse(w, n, ch, alert, why);
}

/* Parses wire and expects MALFORMED with `want`; also checks that *ch is
   left alone and that a reason is given. */
static void expect_alert_n(const uint8_t *w, size_t n, polytls_alert want)
{
    ptls_client_hello ch, before;
    memset(&ch, 0x5A, sizeof ch);
    before = ch;
    polytls_alert alert = (polytls_alert)255;
    const char *why = NULL;
    assert_int_equal(parse(w, n, &ch, &alert, &why), PTLS_CH_MALFORMED);
    assert_int_equal(alert, want);
    assert_non_null(why);
    assert_true(strlen(why) > 5);
    assert_memory_equal(&ch, &before, sizeof ch);
}

static void expect_alert(polytls_alert want)
{
    expect_alert_n(wire.b, wire.n, want);
}

static void expect_body_alert(polytls_alert want)
{
    frame_body(1, 16384);
    expect_alert(want);
}

static void expect_complete(const uint8_t *w, size_t n, ptls_client_hello *ch)
{
    polytls_alert alert = (polytls_alert)255;
    const char *why = NULL;
    ptls_ch_result r = parse(w, n, ch, &alert, &why);
    if (r == PTLS_CH_MALFORMED)
        fail_msg("unexpected MALFORMED: %s (alert %d)", why, (int)alert);
    assert_int_equal(r, PTLS_CH_COMPLETE);
    /* untouched on success */
    assert_int_equal(alert, 255);
    assert_null(why);
}

/* Feeds every proper prefix (INCOMPLETE, outputs untouched), then the whole. */
static void expect_incomplete_until_end(const uint8_t *w, size_t n, ptls_client_hello *ch)
{
    for (size_t i = 0; i < n; i++) {
        ptls_client_hello c, before;
        memset(&c, 0x5A, sizeof c);
        before = c;
        polytls_alert alert = (polytls_alert)255;
        const char *why = NULL;
        ptls_ch_result r = parse(w, i, &c, &alert, &why);
        if (r != PTLS_CH_INCOMPLETE)
            fail_msg("prefix of %zu/%zu bytes: result %d (%s)", i, n, (int)r, why ? why : "");
        assert_memory_equal(&c, &before, sizeof c);
        assert_int_equal(alert, 255);
        assert_null(why);
    }
    expect_complete(w, n, ch);
}

static const uint8_t alpn_h2_http11[] = {0x02, 'h', '2', 0x08, 'h', 't', 't', 'p', '/', '1', '.', '1'};
static const uint8_t alpn_http11[] = {0x08, 'h', 't', 't', 'p', '/', '1', '.', '1'};

static void check_openssl13(const ptls_client_hello *ch, size_t consumed, bool alpn_contiguous)
{
    assert_true(ch->has_server_name);
    assert_string_equal(ch->server_name, "www.example.com"); /* sent as Www.Example.COM */
    assert_int_equal(ch->legacy_version, 0x0303);
    assert_true(ch->offers_tls13);
    assert_true(ch->offers_tls12);
    assert_true(ch->has_alpn);
    assert_int_equal(ch->alpn_len, sizeof alpn_h2_http11);
    if (alpn_contiguous) {
        assert_non_null(ch->alpn);
        assert_memory_equal(ch->alpn, alpn_h2_http11, sizeof alpn_h2_http11);
    }
    assert_int_equal(ch->consumed, consumed);
}

/* ------------------------------------------------------------------------ */
/* Real ClientHellos                                                         */
/* ------------------------------------------------------------------------ */

static void real_openssl_tls13(void **state)
{
    (void)state;
    ptls_client_hello ch;
    expect_complete(hello_openssl_tls13, sizeof hello_openssl_tls13, &ch);
    check_openssl13(&ch, sizeof hello_openssl_tls13, true);
    /* the ALPN pointer is inside the input buffer */
    assert_true(ch.alpn > hello_openssl_tls13 && ch.alpn < hello_openssl_tls13 + sizeof hello_openssl_tls13);
}

static void real_openssl_tls12_only(void **state)
{
    (void)state;
    ptls_client_hello ch;
    expect_complete(hello_openssl_tls12, sizeof hello_openssl_tls12, &ch);
    assert_false(ch.has_server_name);
    assert_string_equal(ch.server_name, "");
    assert_int_equal(ch.legacy_version, 0x0303);
    assert_false(ch.offers_tls13);
    assert_true(ch.offers_tls12);
    assert_false(ch.has_alpn);
    assert_null(ch.alpn);
    assert_int_equal(ch.alpn_len, 0);
    assert_int_equal(ch.consumed, sizeof hello_openssl_tls12);
}

static void real_gnutls(void **state)
{
    (void)state;
    ptls_client_hello ch;
    expect_complete(hello_gnutls, sizeof hello_gnutls, &ch);
    assert_true(ch.has_server_name);
    assert_string_equal(ch.server_name, "gnutls.test.example");
    assert_true(ch.offers_tls13);
    assert_true(ch.offers_tls12);
    assert_true(ch.has_alpn);
    assert_int_equal(ch.alpn_len, sizeof alpn_http11);
    assert_memory_equal(ch.alpn, alpn_http11, sizeof alpn_http11);
    assert_int_equal(ch.consumed, sizeof hello_gnutls);
}

static void real_byte_by_byte(void **state)
{
    (void)state;
    ptls_client_hello ch;
    expect_incomplete_until_end(hello_openssl_tls13, sizeof hello_openssl_tls13, &ch);
    check_openssl13(&ch, sizeof hello_openssl_tls13, true);
    expect_incomplete_until_end(hello_openssl_tls12, sizeof hello_openssl_tls12, &ch);
    assert_int_equal(ch.consumed, sizeof hello_openssl_tls12);
    expect_incomplete_until_end(hello_gnutls, sizeof hello_gnutls, &ch);
    assert_string_equal(ch.server_name, "gnutls.test.example");
}

/* Every fragment size from 1 byte up, each fed one byte at a time. */
static void real_split_across_records(void **state)
{
    (void)state;
    static const size_t frags[] = {2, 3, 4, 5, 7, 64, 100, 200, 330};
    for (size_t i = 0; i < sizeof frags / sizeof frags[0]; i++) {
        reframe(hello_openssl_tls13, sizeof hello_openssl_tls13, frags[i]);
        ptls_client_hello ch;
        expect_incomplete_until_end(wire.b, wire.n, &ch);
        check_openssl13(&ch, wire.n, false);
        if (ch.alpn) /* when contiguous it must be right */
            assert_memory_equal(ch.alpn, alpn_h2_http11, sizeof alpn_h2_http11);
    }
    /* With tiny records the ALPN list straddles records: reported, no pointer. */
    reframe(hello_openssl_tls13, sizeof hello_openssl_tls13, 2);
    ptls_client_hello ch;
    expect_complete(wire.b, wire.n, &ch);
    assert_true(ch.has_alpn);
    assert_null(ch.alpn);
    assert_int_equal(ch.alpn_len, sizeof alpn_h2_http11);
    /* One byte per record is more records than PTLS_CH_MAX_RECORDS allows:
       refused, so re-parsing on each arrival stays linear. */
    assert_true(sizeof hello_openssl_tls13 - 5 > PTLS_CH_MAX_RECORDS);
    reframe(hello_openssl_tls13, sizeof hello_openssl_tls13, 1);
    expect_alert(POLYTLS_ALERT_ILLEGAL_PARAMETER);
}

/* Records after the ClientHello (the client's next flight, or anything)
   are not part of it: consumed stops at the ClientHello. */
static void trailing_records_not_consumed(void **state)
{
    (void)state;
    wire.n = 0;
    putn(&wire, hello_gnutls, sizeof hello_gnutls);
    static const uint8_t ccs[] = {20, 3, 3, 0, 1, 1};
    putn(&wire, ccs, sizeof ccs);
    putn(&wire, "GET / HTTP/1.1\r\n", 16);
    ptls_client_hello ch;
    expect_complete(wire.b, wire.n, &ch);
    assert_int_equal(ch.consumed, sizeof hello_gnutls);

    reframe(hello_gnutls, sizeof hello_gnutls, 50);
    size_t framed = wire.n;
    putn(&wire, ccs, sizeof ccs);
    expect_complete(wire.b, wire.n, &ch);
    assert_int_equal(ch.consumed, framed);
}

/* ------------------------------------------------------------------------ */
/* Hand-built valid ones                                                     */
/* ------------------------------------------------------------------------ */

static void no_extensions_tls12(void **state)
{
    (void)state;
    body_prefix(0x0303); /* no extension block at all: legal in TLS 1.2 */
    frame_body(1, 16384);
    ptls_client_hello ch;
    expect_incomplete_until_end(wire.b, wire.n, &ch);
    assert_false(ch.has_server_name);
    assert_false(ch.offers_tls13);
    assert_true(ch.offers_tls12);
    assert_int_equal(ch.consumed, wire.n);

    body_prefix(0x0301); /* TLS 1.0 client: does not offer 1.2 */
    frame_body(1, 16384);
    expect_complete(wire.b, wire.n, &ch);
    assert_false(ch.offers_tls12);
    assert_false(ch.offers_tls13);
    assert_int_equal(ch.legacy_version, 0x0301);

    body_prefix(0x0303); /* an empty extension block */
    body_exts();
    frame_body(1, 16384);
    expect_complete(wire.b, wire.n, &ch);
    assert_true(ch.offers_tls12);
}

static void supported_versions_rule(void **state)
{
    (void)state;
    ptls_client_hello ch;
    /* 1.3 only: legacy_version 0x0303 is ignored (RFC 8446 §4.2.1) */
    body_prefix(0x0303);
    add_versions(0x0304, 0);
    body_exts();
    frame_body(1, 16384);
    expect_complete(wire.b, wire.n, &ch);
    assert_true(ch.offers_tls13);
    assert_false(ch.offers_tls12);
    /* GREASE and unknown versions are ignored */
    body_prefix(0x0303);
    add_versions(0x7a7a, 0x0303);
    body_exts();
    frame_body(1, 16384);
    expect_complete(wire.b, wire.n, &ch);
    assert_false(ch.offers_tls13);
    assert_true(ch.offers_tls12);
}

static void sni_accepted_forms(void **state)
{
    (void)state;
    ptls_client_hello ch;
    /* An unknown name type first (skipped by its 16-bit length), then the host. */
    body_prefix(0x0303);
    ext.n = 0;
    put16(&ext, 3 + 4 + 3 + 11);
    put8(&ext, 7);
    put16(&ext, 4);
    putn(&ext, "abcd", 4);
    put8(&ext, 0);
    put16(&ext, 11);
    putn(&ext, "A-1.Example", 11);
    add_ext(0, ext.b, ext.n);
    body_exts();
    frame_body(1, 16384);
    expect_complete(wire.b, wire.n, &ch);
    assert_true(ch.has_server_name);
    assert_string_equal(ch.server_name, "a-1.example");

    /* A-labels, digits in labels */
    body_prefix(0x0303);
    add_sni("xn--bcher-kva.example.123abc");
    body_exts();
    frame_body(1, 16384);
    expect_complete(wire.b, wire.n, &ch);
    assert_string_equal(ch.server_name, "xn--bcher-kva.example.123abc");

    /* The longest name: 255 bytes, labels of 63 */
    char name[256];
    memset(name, 'a', 255);
    name[63] = name[127] = name[191] = '.';
    name[255] = '\0';
    body_prefix(0x0303);
    add_sni(name);
    body_exts();
    frame_body(1, 16384);
    expect_complete(wire.b, wire.n, &ch);
    assert_int_equal(strlen(ch.server_name), 255);
    assert_string_equal(ch.server_name, name);

    /* A single-label name is a DNS name too */
    body_prefix(0x0303);
    add_sni("localhost");
    body_exts();
    frame_body(1, 16384);
    expect_complete(wire.b, wire.n, &ch);
    assert_string_equal(ch.server_name, "localhost");
}

/* The handshake header itself split across records, and a large message
   (close to the 64 KiB cap) in many records. */
static void large_and_split_header(void **state)
{
    (void)state;
    ptls_client_hello ch;
    body_prefix(0x0303);
    static uint8_t pad[60000];
    add_sni("big.example");
    add_ext(21, pad, sizeof pad); /* padding extension */
    body_exts();
    assert_true(body.n <= PTLS_CH_MAX_BODY);
    frame_body(1, 16384);
    expect_complete(wire.b, wire.n, &ch);
    assert_string_equal(ch.server_name, "big.example");
    assert_int_equal(ch.consumed, wire.n);

    frame_body_first(1, 3, 16384); /* header in two records */
    expect_complete(wire.b, wire.n, &ch);
    assert_string_equal(ch.server_name, "big.example");

    /* exactly the cap */
    body_prefix(0x0303);
    size_t room = PTLS_CH_MAX_BODY - body.n - 2 - 4;
    add_ext(21, pad, room > sizeof pad ? sizeof pad : room);
    if (room > sizeof pad)
        add_ext(22, pad, room - sizeof pad - 4);
    body_exts();
    assert_int_equal(body.n, PTLS_CH_MAX_BODY);
    frame_body(1, 16384);
    expect_complete(wire.b, wire.n, &ch);
}

/* ------------------------------------------------------------------------ */
/* Malformed: the record layer                                               */
/* ------------------------------------------------------------------------ */

static void http_request_fails_at_once(void **state)
{
    (void)state;
    const char *http = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    expect_alert_n((const uint8_t *)http, 1, POLYTLS_ALERT_UNEXPECTED_MESSAGE);
    expect_alert_n((const uint8_t *)http, 5, POLYTLS_ALERT_UNEXPECTED_MESSAGE);
    expect_alert_n((const uint8_t *)http, strlen(http), POLYTLS_ALERT_UNEXPECTED_MESSAGE);
    /* SSLv2-compatible hello */
    static const uint8_t v2[] = {0x80, 0x2e, 0x01, 0x03, 0x01};
    expect_alert_n(v2, sizeof v2, POLYTLS_ALERT_UNEXPECTED_MESSAGE);
}

static void record_layer(void **state)
{
    (void)state;
    static const uint8_t appdata[] = {23, 3, 3, 0, 5, 1, 2, 3, 4, 5};
    expect_alert_n(appdata, 1, POLYTLS_ALERT_UNEXPECTED_MESSAGE);
    static const uint8_t alert_rec[] = {21, 3, 3, 0, 2, 2, 40};
    expect_alert_n(alert_rec, sizeof alert_rec, POLYTLS_ALERT_UNEXPECTED_MESSAGE);
    static const uint8_t ccs[] = {20, 3, 3, 0, 1, 1};
    expect_alert_n(ccs, sizeof ccs, POLYTLS_ALERT_UNEXPECTED_MESSAGE);
    static const uint8_t type99[] = {0x63, 3, 3, 0, 1, 1};
    expect_alert_n(type99, sizeof type99, POLYTLS_ALERT_UNEXPECTED_MESSAGE);
    /* major version 2 or 4: not a TLS record; detected on byte 2 */
    static const uint8_t major2[] = {22, 2, 0, 0, 4};
    expect_alert_n(major2, 2, POLYTLS_ALERT_DECODE_ERROR);
    static const uint8_t major4[] = {22, 4, 1, 0, 4};
    expect_alert_n(major4, sizeof major4, POLYTLS_ALERT_DECODE_ERROR);
    /* any 3.x minor is accepted by the record layer (SSL 3.0 .. future) */
    ptls_client_hello ch;
    polytls_alert a;
    const char *why;
    static const uint8_t minor0[] = {22, 3, 0, 0, 4};
    assert_int_equal(parse(minor0, sizeof minor0, &ch, &a, &why), PTLS_CH_INCOMPLETE);
    /* empty record; over-long record (known from the header alone) */
    static const uint8_t empty[] = {22, 3, 1, 0, 0};
    expect_alert_n(empty, sizeof empty, POLYTLS_ALERT_DECODE_ERROR);
    static const uint8_t overflow[] = {22, 3, 1, 0x40, 0x01};
    expect_alert_n(overflow, sizeof overflow, POLYTLS_ALERT_RECORD_OVERFLOW);
    static const uint8_t max_ok[] = {22, 3, 1, 0x40, 0x00, 1};
    assert_int_equal(parse(max_ok, sizeof max_ok, &ch, &a, &why), PTLS_CH_INCOMPLETE);
    static const uint8_t overflow_max[] = {22, 3, 1, 0xff, 0xff};
    expect_alert_n(overflow_max, sizeof overflow_max, POLYTLS_ALERT_RECORD_OVERFLOW);
}

static void handshake_layer(void **state)
{
    (void)state;
    /* ServerHello (2) first; known from the first payload byte */
    static const uint8_t sh[] = {22, 3, 3, 0, 4, 2};
    expect_alert_n(sh, sizeof sh, POLYTLS_ALERT_UNEXPECTED_MESSAGE);
    static const uint8_t hello_request[] = {22, 3, 3, 0, 4, 0, 0, 0, 0};
    expect_alert_n(hello_request, sizeof hello_request, POLYTLS_ALERT_UNEXPECTED_MESSAGE);
    /* body length over 64 KiB: refused from the header, before buffering */
    static const uint8_t huge[] = {22, 3, 1, 0, 4, 1, 0x01, 0x00, 0x01};
    expect_alert_n(huge, sizeof huge, POLYTLS_ALERT_ILLEGAL_PARAMETER);
    static const uint8_t huge2[] = {22, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff};
    expect_alert_n(huge2, sizeof huge2, POLYTLS_ALERT_ILLEGAL_PARAMETER);
    /* ... also when the header is split over records */
    static const uint8_t huge_split[] = {22, 3, 1, 0, 2, 1, 0x01, 22, 3, 1, 0, 2, 0x00, 0x01};
    expect_alert_n(huge_split, sizeof huge_split, POLYTLS_ALERT_ILLEGAL_PARAMETER);
    /* a body of 0 bytes */
    static const uint8_t zero[] = {22, 3, 1, 0, 4, 1, 0, 0, 0};
    expect_alert_n(zero, sizeof zero, POLYTLS_ALERT_DECODE_ERROR);

    /* a second handshake message in the ClientHello's last record */
    wire.n = 0;
    putn(&wire, hello_openssl_tls12, sizeof hello_openssl_tls12);
    size_t rlen = ((size_t)wire.b[3] << 8 | wire.b[4]) + 4;
    wire.b[3] = (uint8_t)(rlen >> 8);
    wire.b[4] = (uint8_t)rlen;
    static const uint8_t extra[] = {20, 0, 0, 0};
    putn(&wire, extra, sizeof extra);
    expect_alert(POLYTLS_ALERT_UNEXPECTED_MESSAGE);
    /* detected from the record header, before the extra bytes arrive */
    expect_alert_n(wire.b, wire.n - 4, POLYTLS_ALERT_UNEXPECTED_MESSAGE);

    /* ... also when the ClientHello is fragmented */
    reframe(hello_openssl_tls12, sizeof hello_openssl_tls12, 100);
    size_t last = wire.n - (wire.b[100 + 5 + 3] << 8 | wire.b[100 + 5 + 4]) - 5;
    assert_int_equal(wire.b[last], 22);
    size_t l2 = ((size_t)wire.b[last + 3] << 8 | wire.b[last + 4]) + 1;
    wire.b[last + 3] = (uint8_t)(l2 >> 8);
    wire.b[last + 4] = (uint8_t)l2;
    put8(&wire, 0);
    expect_alert(POLYTLS_ALERT_UNEXPECTED_MESSAGE);

    /* a non-handshake record between two fragments */
    reframe(hello_gnutls, sizeof hello_gnutls, 200);
    static bytes mixed;
    mixed.n = 0;
    putn(&mixed, wire.b, 205);
    static const uint8_t ccs[] = {20, 3, 3, 0, 1, 1};
    putn(&mixed, ccs, sizeof ccs);
    putn(&mixed, wire.b + 205, wire.n - 205);
    expect_alert_n(mixed.b, mixed.n, POLYTLS_ALERT_UNEXPECTED_MESSAGE);
    /* an empty record between two fragments */
    mixed.n = 0;
    putn(&mixed, wire.b, 205);
    static const uint8_t empty[] = {22, 3, 3, 0, 0};
    putn(&mixed, empty, sizeof empty);
    putn(&mixed, wire.b + 205, wire.n - 205);
    expect_alert_n(mixed.b, mixed.n, POLYTLS_ALERT_DECODE_ERROR);
}

/* ------------------------------------------------------------------------ */
/* Malformed: the ClientHello body                                           */
/* ------------------------------------------------------------------------ */

static void body_fields(void **state)
{
    (void)state;
    /* truncated in the random */
    body.n = 0;
    put16(&body, 0x0303);
    putrep(&body, 0, 20);
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    /* one byte of legacy_version */
    body.n = 0;
    put8(&body, 3);
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);

    /* session_id of 33 bytes */
    body.n = 0;
    put16(&body, 0x0303);
    putrep(&body, 0, 32);
    put8(&body, 33);
    putrep(&body, 0, 33);
    put16(&body, 2);
    put16(&body, 0x1301);
    put8(&body, 1);
    put8(&body, 0);
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    /* session_id overruns the message */
    body.n = 0;
    put16(&body, 0x0303);
    putrep(&body, 0, 32);
    put8(&body, 32);
    putrep(&body, 0, 10);
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);

    /* cipher_suites: odd, empty, overrunning */
    static const unsigned bad_cs_len[] = {3, 0, 200};
    for (size_t i = 0; i < 3; i++) {
        body.n = 0;
        put16(&body, 0x0303);
        putrep(&body, 0, 32);
        put8(&body, 0);
        put16(&body, bad_cs_len[i]);
        putrep(&body, 0x13, 3);
        put8(&body, 1);
        put8(&body, 0);
        expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    }

    /* compression_methods: empty; without null; overrunning; missing */
    body.n = 0;
    put16(&body, 0x0303);
    putrep(&body, 0, 32);
    put8(&body, 0);
    put16(&body, 2);
    put16(&body, 0x1301);
    size_t prefix = body.n;
    put8(&body, 0);
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    body.n = prefix;
    put8(&body, 2);
    put8(&body, 1);
    put8(&body, 64);
    expect_body_alert(POLYTLS_ALERT_ILLEGAL_PARAMETER);
    body.n = prefix;
    put8(&body, 3);
    put8(&body, 0);
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    body.n = prefix;
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    /* null offered alongside deflate: fine */
    body.n = prefix;
    put8(&body, 2);
    put8(&body, 1);
    put8(&body, 0);
    frame_body(1, 16384);
    ptls_client_hello ch;
    expect_complete(wire.b, wire.n, &ch);
}

static void extension_block(void **state)
{
    (void)state;
    /* one stray byte after compression_methods */
    body_prefix(0x0303);
    put8(&body, 0);
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    /* block length too short / too long for the message */
    body_prefix(0x0303);
    add_sni("a.example");
    size_t at = body.n;
    body_exts();
    body.b[at + 1]--;
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    body.b[at + 1] += 2;
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    /* an extension that overruns the block */
    body_prefix(0x0303);
    ext.n = 0;
    put16(&ext, 43);
    put16(&ext, 10);
    put16(&ext, 0x0304);
    put16(&body, (unsigned)ext.n);
    putn(&body, ext.b, ext.n);
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    /* a truncated extension header */
    body_prefix(0x0303);
    put16(&body, 3);
    put16(&body, 43);
    put8(&body, 0);
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    /* the same extension twice (even unknown ones) */
    body_prefix(0x0303);
    add_ext(0xff01, "\x00", 1);
    add_ext(23, "", 0);
    add_ext(0xff01, "\x00", 1);
    body_exts();
    expect_body_alert(POLYTLS_ALERT_ILLEGAL_PARAMETER);
    body_prefix(0x0303);
    add_sni("a.example");
    add_sni("b.example");
    body_exts();
    expect_body_alert(POLYTLS_ALERT_ILLEGAL_PARAMETER);
    /* pre_shared_key must be last */
    body_prefix(0x0303);
    add_versions(0x0304, 0);
    add_ext(41, "\x00\x00", 2);
    add_ext(45, "\x01\x01", 2);
    body_exts();
    expect_body_alert(POLYTLS_ALERT_ILLEGAL_PARAMETER);
    body_prefix(0x0303); /* last: accepted (its content is the backend's business) */
    add_versions(0x0304, 0);
    add_ext(45, "\x01\x01", 2);
    add_ext(41, "\x00\x00", 2);
    body_exts();
    frame_body(1, 16384);
    ptls_client_hello ch;
    expect_complete(wire.b, wire.n, &ch);
    assert_true(ch.offers_tls13);
}

/* Builds a ClientHello whose server_name extension data is ext. */
static void with_sni_data(void)
{
    body_prefix(0x0303);
    add_ext(0, ext.b, ext.n);
    body_exts();
}

static void sni_malformed(void **state)
{
    (void)state;
    /* an empty extension (what a server sends, never a client) */
    ext.n = 0;
    with_sni_data();
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    /* an empty list */
    ext.n = 0;
    put16(&ext, 0);
    with_sni_data();
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    /* list length not filling the extension (short, long) */
    ext.n = 0;
    put16(&ext, 3 + 9 - 1);
    put8(&ext, 0);
    put16(&ext, 9);
    putn(&ext, "a.example", 9);
    with_sni_data();
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    ext.b[1] += 2;
    with_sni_data();
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    /* a name overrunning the list */
    ext.n = 0;
    put16(&ext, 3 + 9);
    put8(&ext, 0);
    put16(&ext, 10);
    putn(&ext, "a.example", 9);
    with_sni_data();
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    /* a truncated entry */
    ext.n = 0;
    put16(&ext, 2);
    put8(&ext, 0);
    put8(&ext, 0);
    with_sni_data();
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    /* an empty host_name */
    ext.n = 0;
    put16(&ext, 3);
    put8(&ext, 0);
    put16(&ext, 0);
    with_sni_data();
    expect_body_alert(POLYTLS_ALERT_DECODE_ERROR);
    /* two host_names in one list */
    ext.n = 0;
    put16(&ext, 2 * (3 + 9));
    put8(&ext, 0);
    put16(&ext, 9);
    putn(&ext, "a.example", 9);
    put8(&ext, 0);
    put16(&ext, 9);
    putn(&ext, "b.example", 9);
    with_sni_data();
    expect_body_alert(POLYTLS_ALERT_ILLEGAL_PARAMETER);
}

static void sni_bad_names(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "a_b.example",  /* underscore is not LDH */
        "a b.example",  /* space */
        "example.com.", /* trailing dot (RFC 6066 §3) */
        ".example.com", /* empty first label */
        "a..example",   /* empty label */
        ".",
        "192.168.0.1",  /* IPv4 literal (RFC 6066 §3) */
        "10.0.0.256",
        "1",
        "::1",          /* IPv6 literal */
        "[::1]",
        "exa\xc3\xa9mple.com", /* UTF-8, not an A-label */
        "host:443",
        "a/b",
        "*.example.com",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        body_prefix(0x0303);
        add_sni(bad[i]);
        body_exts();
        frame_body(1, 16384);
        ptls_client_hello ch;
        polytls_alert alert = (polytls_alert)255;
        const char *why = NULL;
        if (parse(wire.b, wire.n, &ch, &alert, &why) != PTLS_CH_MALFORMED)
            fail_msg("host_name '%s' was accepted", bad[i]);
        assert_int_equal(alert, POLYTLS_ALERT_ILLEGAL_PARAMETER);
    }
    /* an embedded NUL */
    ext.n = 0;
    put16(&ext, 3 + 5);
    put8(&ext, 0);
    put16(&ext, 5);
    putn(&ext, "ab\0cd", 5);
    with_sni_data();
    expect_body_alert(POLYTLS_ALERT_ILLEGAL_PARAMETER);
    /* 256 bytes (labels of 50); a 64-byte label */
    char name[300];
    memset(name, 'a', 256);
    name[50] = name[101] = name[152] = name[203] = name[254] = '.';
    name[256] = '\0';
    body_prefix(0x0303);
    add_sni(name);
    body_exts();
    expect_body_alert(POLYTLS_ALERT_ILLEGAL_PARAMETER);
    memset(name, 'b', 64);
    strcpy(name + 64, ".example");
    body_prefix(0x0303);
    add_sni(name);
    body_exts();
    expect_body_alert(POLYTLS_ALERT_ILLEGAL_PARAMETER);
    name[1] = '.'; /* 62-byte label: fine */
    body_prefix(0x0303);
    add_sni(name);
    body_exts();
    frame_body(1, 16384);
    ptls_client_hello ch;
    expect_complete(wire.b, wire.n, &ch);
}

static void alpn_malformed(void **state)
{
    (void)state;
    struct {
        uint8_t data[16];
        size_t n;
    } cases[] = {
        {{0}, 0},                            /* no list length */
        {{0, 0}, 2},                         /* empty list */
        {{0, 1, 0}, 3},                      /* list < 2 bytes, empty name */
        {{0, 3, 0, 1, 'a'}, 5},              /* empty name first */
        {{0, 3, 2, 'h', '2'}, 5},            /* list length fine, extension longer? no: exact */
        {{0, 4, 2, 'h', '2', 0}, 6},         /* trailing empty name */
        {{0, 3, 3, 'h', '2'}, 5},            /* name overruns the list */
        {{0, 5, 2, 'h', '2'}, 5},            /* list overruns the extension */
        {{0, 2, 1, 'a', 1, 'b'}, 6},         /* list shorter than the extension */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        body_prefix(0x0303);
        add_ext(16, cases[i].data, cases[i].n);
        body_exts();
        frame_body(1, 16384);
        ptls_client_hello ch;
        polytls_alert alert = (polytls_alert)255;
        const char *why = NULL;
        ptls_ch_result r = parse(wire.b, wire.n, &ch, &alert, &why);
        if (i == 4) { /* the one valid list in the table */
            assert_int_equal(r, PTLS_CH_COMPLETE);
            assert_int_equal(ch.alpn_len, 3);
            assert_memory_equal(ch.alpn, "\x02h2", 3);
            continue;
        }
        if (r != PTLS_CH_MALFORMED)
            fail_msg("ALPN case %zu was accepted", i);
        assert_int_equal(alert, POLYTLS_ALERT_DECODE_ERROR);
    }
}

static void supported_versions_malformed(void **state)
{
    (void)state;
    struct {
        uint8_t data[8];
        size_t n;
    } cases[] = {
        {{0}, 0},                   /* nothing */
        {{0}, 1},                   /* empty list */
        {{3, 3, 4, 3}, 4},          /* odd */
        {{2, 3, 4, 3}, 4},          /* shorter than the extension */
        {{4, 3, 4}, 3},             /* overruns */
        {{1, 3}, 2},                /* one byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        body_prefix(0x0303);
        add_ext(43, cases[i].data, cases[i].n);
        body_exts();
        frame_body(1, 16384);
        ptls_client_hello ch;
        polytls_alert alert = (polytls_alert)255;
        const char *why = NULL;
        if (parse(wire.b, wire.n, &ch, &alert, &why) != PTLS_CH_MALFORMED)
            fail_msg("supported_versions case %zu was accepted", i);
        assert_int_equal(alert, POLYTLS_ALERT_DECODE_ERROR);
    }
}

/* Truncating a real ClientHello anywhere inside the body while keeping the
   lengths consistent at the record level is always a decode_error (or
   INCOMPLETE if only the record is cut): never a crash, and COMPLETE only
   at the one place where a TLS 1.2 ClientHello may end (no extensions). */
static void every_truncation_of_real_body(void **state)
{
    (void)state;
    const uint8_t *src = hello_gnutls;
    size_t len = sizeof hello_gnutls;
    const uint8_t *b = src + 9;
    size_t no_ext = 2 + 32;
    no_ext += 1 + b[no_ext];
    no_ext += 2 + ((size_t)b[no_ext] << 8 | b[no_ext + 1]);
    no_ext += 1 + b[no_ext];
    for (size_t cut = 0; cut < len - 9; cut++) {
        body.n = 0;
        putn(&body, src + 9, cut);
        frame_body(1, 16384);
        ptls_client_hello ch;
        polytls_alert alert = (polytls_alert)255;
        const char *why = NULL;
        ptls_ch_result r = parse(wire.b, wire.n, &ch, &alert, &why);
        if (cut == no_ext) {
            assert_int_equal(r, PTLS_CH_COMPLETE);
            assert_false(ch.has_server_name);
            continue;
        }
        if (r != PTLS_CH_MALFORMED)
            fail_msg("body cut at %zu: result %d", cut, (int)r);
        /* cutting inside an extension breaks its length: decode_error */
        assert_int_equal(alert, POLYTLS_ALERT_DECODE_ERROR);
    }
}

/* Flipping any single byte of a real ClientHello must never crash or read
   out of bounds (run under ASan/valgrind); results vary. */
static void single_byte_mutations(void **state)
{
    (void)state;
    static uint8_t buf[sizeof hello_openssl_tls13];
    for (size_t i = 0; i < sizeof buf; i++) {
        for (unsigned v = 0; v < 256; v += 51) {
            memcpy(buf, hello_openssl_tls13, sizeof buf);
            buf[i] = (uint8_t)v;
            ptls_client_hello ch;
            polytls_alert alert = (polytls_alert)255;
            const char *why = NULL;
            ptls_ch_result r = parse(buf, sizeof buf, &ch, &alert, &why);
            if (r == PTLS_CH_MALFORMED)
                assert_true(alert == POLYTLS_ALERT_DECODE_ERROR || alert == POLYTLS_ALERT_ILLEGAL_PARAMETER ||
                            alert == POLYTLS_ALERT_UNEXPECTED_MESSAGE || alert == POLYTLS_ALERT_RECORD_OVERFLOW);
            else if (r == PTLS_CH_COMPLETE)
                assert_true(ch.consumed <= sizeof buf);
        }
    }
}

static void bad_arguments(void **state)
{
    (void)state;
    ptls_client_hello ch;
    polytls_alert alert;
    const char *why;
    assert_int_equal(ptls_client_hello_parse(NULL, 0, &ch, &alert, &why), PTLS_CH_INCOMPLETE);
    assert_int_equal(ptls_client_hello_parse(NULL, 5, &ch, &alert, &why), PTLS_CH_MALFORMED);
    assert_int_equal(alert, POLYTLS_ALERT_INTERNAL_ERROR);
    assert_int_equal(ptls_client_hello_parse(hello_gnutls, sizeof hello_gnutls, NULL, &alert, &why),
                     PTLS_CH_MALFORMED);
    assert_int_equal(ptls_client_hello_parse(hello_gnutls, sizeof hello_gnutls, &ch, NULL, NULL),
                     PTLS_CH_MALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_openssl_tls13),
        cmocka_unit_test(real_openssl_tls12_only),
        cmocka_unit_test(real_gnutls),
        cmocka_unit_test(real_byte_by_byte),
        cmocka_unit_test(real_split_across_records),
        cmocka_unit_test(trailing_records_not_consumed),
        cmocka_unit_test(no_extensions_tls12),
        cmocka_unit_test(supported_versions_rule),
        cmocka_unit_test(sni_accepted_forms),
        cmocka_unit_test(large_and_split_header),
        cmocka_unit_test(http_request_fails_at_once),
        cmocka_unit_test(record_layer),
        cmocka_unit_test(handshake_layer),
        cmocka_unit_test(body_fields),
        cmocka_unit_test(extension_block),
        cmocka_unit_test(sni_malformed),
        cmocka_unit_test(sni_bad_names),
        cmocka_unit_test(alpn_malformed),
        cmocka_unit_test(supported_versions_malformed),
        cmocka_unit_test(every_truncation_of_real_body),
        cmocka_unit_test(single_byte_mutations),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
