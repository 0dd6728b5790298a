/* Unit tests of core/cert_request.c: the CA names of a TLS 1.2
   CertificateRequest, read from the server's plaintext flight in any split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cert_request.h"

/* Name ::= SEQUENCE { SET { SEQUENCE { OID 2.5.4.3 (CN), UTF8String "a" / "bb" } } } */
static const uint8_t name_a[] = {0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04,
                                 0x03, 0x0c, 0x01, 'a'};
static const uint8_t name_bb[] = {0x30, 0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04,
                                  0x03, 0x0c, 0x02, 'b', 'b'};

typedef struct bytes {
    uint8_t b[20000];
    size_t n;
} bytes;

static void put(bytes *o, const void *p, size_t n)
{
    assert_true(o->n + n <= sizeof o->b);
    if (n)
        memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put8(bytes *o, unsigned v)
{
    uint8_t b = (uint8_t)v;
    put(o, &b, 1);
}

static void put16(bytes *o, unsigned v)
{
    put8(o, v >> 8);
    put8(o, v);
}

static void put24(bytes *o, size_t v)
{
    put8(o, (unsigned)(v >> 16));
    put16(o, (unsigned)v);
}

static void message(bytes *hs, unsigned type, const bytes *body)
{
    put8(hs, type);
    put24(hs, body->n);
    put(hs, body->b, body->n);
}

/* certificate_types, signature algorithms, then the CA list as given. */
static void request_body(bytes *b, const uint8_t *cas, size_t cas_len, size_t declared)
{
    b->n = 0;
    put8(b, 2);
    put8(b, 1);
    put8(b, 64);          /* rsa_sign, ecdsa_sign */
    put16(b, 4);
    put16(b, 0x0403);
    put16(b, 0x0804);
    put16(b, (unsigned)declared);
    put(b, cas, cas_len);
}

static void ca_list(bytes *l)
{
    l->n = 0;
    put16(l, sizeof name_a);
    put(l, name_a, sizeof name_a);
    put16(l, sizeof name_bb);
    put(l, name_bb, sizeof name_bb);
}

/* A TLS 1.2 first flight: ServerHello, Certificate (3000 bytes), the
   request, ServerHelloDone, cut into records of at most `frag` bytes. */
static void flight(bytes *wire, const bytes *request, size_t frag)
{
    static bytes hs, body;
    hs.n = 0;
    body.n = 0;
    for (int i = 0; i < 70; i++)
        put8(&body, (unsigned)i);
    message(&hs, 2, &body);
    body.n = 0;
    for (int i = 0; i < 3000; i++)
        put8(&body, (unsigned)(i * 31));
    message(&hs, 11, &body);
    message(&hs, 13, request);
    body.n = 0;
    message(&hs, 14, &body);
    wire->n = 0;
    for (size_t off = 0; off < hs.n;) {
        size_t k = hs.n - off < frag ? hs.n - off : frag;
        put8(wire, 22);
        put16(wire, 0x0303);
        put16(wire, (unsigned)k);
        put(wire, hs.b + off, k);
        off += k;
    }
}

typedef struct seen {
    const uint8_t *der[4];
    size_t len[4];
    size_t n;
} seen;

static void collect(void *arg, const uint8_t *der, size_t len)
{
    seen *s = arg;
    if (s->n < 4) {
        s->der[s->n] = der;
        s->len[s->n] = len;
    }
    s->n++;
}

static size_t scan(const bytes *wire, size_t step, seen *out)
{
    ptls_cert_request_scan s;
    memset(&s, 0, sizeof s);
    for (size_t off = 0; off < wire->n; off += step)
        ptls_cert_request_feed(&s, wire->b + off, wire->n - off < step ? wire->n - off : step);
    memset(out, 0, sizeof *out);
    size_t n = ptls_cert_request_names(&s, NULL, NULL);
    /* the names point into the scanner: compare before freeing */
    seen tmp = {0};
    ptls_cert_request_names(&s, collect, &tmp);
    assert_int_equal(tmp.n, n);
    if (n == 2) {
        assert_int_equal(tmp.len[0], sizeof name_a);
        assert_memory_equal(tmp.der[0], name_a, sizeof name_a);
        assert_int_equal(tmp.len[1], sizeof name_bb);
        assert_memory_equal(tmp.der[1], name_bb, sizeof name_bb);
    }
    out->n = n;
    ptls_cert_request_free(&s);
    return n;
}

static void names_found_in_any_split(void **state)
{
    (void)state;
    static bytes cas, req, wire;
    ca_list(&cas);
    request_body(&req, cas.b, cas.n, cas.n);
    static const size_t frags[] = {7, 100, 16384};
    static const size_t steps[] = {1, 3, 1000, 100000};
    for (size_t f = 0; f < sizeof frags / sizeof frags[0]; f++) {
        flight(&wire, &req, frags[f]);
        for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
            seen out;
            assert_int_equal(scan(&wire, steps[s], &out), 2);
        }
    }
}

static void no_names_when_the_server_sends_none(void **state)
{
    (void)state;
    static bytes req, wire;
    request_body(&req, NULL, 0, 0);
    flight(&wire, &req, 16384);
    seen out;
    assert_int_equal(scan(&wire, 5, &out), 0);
}

static void malformed_requests_give_no_names(void **state)
{
    (void)state;
    static bytes cas, req, wire;
    seen out;
    ca_list(&cas);
    /* the CA list length does not match */
    request_body(&req, cas.b, cas.n, cas.n + 1);
    flight(&wire, &req, 16384);
    assert_int_equal(scan(&wire, 16384, &out), 0);
    /* a name that is not a DER SEQUENCE */
    cas.n = 0;
    put16(&cas, 3);
    put(&cas, "abc", 3);
    request_body(&req, cas.b, cas.n, cas.n);
    flight(&wire, &req, 16384);
    assert_int_equal(scan(&wire, 16384, &out), 0);
    /* a name whose DER is cut short */
    cas.n = 0;
    put16(&cas, sizeof name_a - 1);
    put(&cas, name_a, sizeof name_a - 1);
    request_body(&req, cas.b, cas.n, cas.n);
    flight(&wire, &req, 16384);
    assert_int_equal(scan(&wire, 16384, &out), 0);
    /* no certificate types */
    req.n = 0;
    put8(&req, 0);
    flight(&wire, &req, 16384);
    assert_int_equal(scan(&wire, 16384, &out), 0);
}

/* TLS 1.3: the ServerHello is followed by ChangeCipherSpec / encrypted
   records, so the scan stops with nothing, whatever comes after. */
static void tls13_flight_gives_nothing(void **state)
{
    (void)state;
    static bytes cas, req, wire, tail;
    ca_list(&cas);
    request_body(&req, cas.b, cas.n, cas.n);
    flight(&tail, &req, 16384);
    wire.n = 0;
    static const uint8_t server_hello_rec[] = {22, 3, 3, 0, 4, 2, 0, 0, 0};
    static const uint8_t ccs[] = {20, 3, 3, 0, 1, 1};
    put(&wire, server_hello_rec, sizeof server_hello_rec);
    put(&wire, ccs, sizeof ccs);
    put(&wire, tail.b, tail.n); /* even a plaintext request after it is ignored */
    seen out;
    assert_int_equal(scan(&wire, 1, &out), 0);
}

static void hostile_record_layer_stops_the_scan(void **state)
{
    (void)state;
    seen out;
    static bytes wire;
    /* an empty record */
    wire.n = 0;
    static const uint8_t empty[] = {22, 3, 3, 0, 0};
    put(&wire, empty, sizeof empty);
    assert_int_equal(scan(&wire, 1, &out), 0);
    /* an impossible record length */
    wire.n = 0;
    static const uint8_t huge[] = {22, 3, 3, 0xff, 0xff};
    put(&wire, huge, sizeof huge);
    assert_int_equal(scan(&wire, 1, &out), 0);
    /* a handshake message claiming 16 MiB: buffered up to the cap, then dropped */
    ptls_cert_request_scan s;
    memset(&s, 0, sizeof s);
    static const uint8_t big_msg[] = {22, 3, 3, 0x40, 0x00, 11, 0xff, 0xff, 0xff};
    ptls_cert_request_feed(&s, big_msg, sizeof big_msg);
    static uint8_t filler[16384];
    for (int i = 0; i < 40 && !s.done; i++) {
        static const uint8_t rec[] = {22, 3, 3, 0x40, 0x00};
        if (i)
            ptls_cert_request_feed(&s, rec, sizeof rec);
        ptls_cert_request_feed(&s, filler, i ? sizeof filler : sizeof filler - 4);
    }
    assert_true(s.done);
    assert_int_equal(ptls_cert_request_names(&s, NULL, NULL), 0);
    ptls_cert_request_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_found_in_any_split),
        cmocka_unit_test(no_names_when_the_server_sends_none),
        cmocka_unit_test(malformed_requests_give_no_names),
        cmocka_unit_test(tls13_flight_gives_nothing),
        cmocka_unit_test(hostile_record_layer_stops_the_scan),
    };
    return cmocka_run_group_tests_name("cert_request", tests, NULL, NULL);
}
