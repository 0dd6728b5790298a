/* Strict ClientHello pre-parser (see client_hello.h).
 *
 * Two passes over the buffered wire bytes:
 *  1. framing: walk the TLS records, check each header as soon as its bytes
 *     are there, and find where the (possibly fragmented) ClientHello
 *     handshake message ends. Until then the answer is INCOMPLETE, and that
 *     pass costs O(records), so re-parsing on every arrival stays cheap.
 *  2. body: once the whole message is buffered, read it through a cursor
 *     that steps over the record headers, without copying it anywhere.
 *
 * Alert choice follows RFC 8446 §6: a message that "cannot be parsed
 * according to the syntax (e.g., have a length extending beyond the message
 * boundary or contain an out-of-range length)" is decode_error; one that is
 * "syntactically correct but semantically invalid" is illegal_parameter.
 */
#include <string.h>

#include "client_hello.h"

#define REC_HANDSHAKE 22
#define HS_CLIENT_HELLO 1
#define MAX_FRAGMENT 16384u /* 2^14, RFC 8446 §5.1 / RFC 5246 §6.2.1 */

#define TLS12 0x0303
#define TLS13 0x0304

#define EXT_SERVER_NAME 0
#define EXT_ALPN 16
#define EXT_PRE_SHARED_KEY 41
#define EXT_SUPPORTED_VERSIONS 43

typedef struct failure {
    polytls_alert alert;
    const char *why;
} failure;

static ptls_ch_result fail(failure *f, polytls_alert alert, const char *why)
{
    f->alert = alert;
    f->why = why;
    return PTLS_CH_MALFORMED;
}

static size_t be16(const uint8_t *p)
{
    return (size_t)p[0] << 8 | p[1];
}

/* ------------------------------------------------------------------------ */
/* Pass 1: records                                                           */
/* ------------------------------------------------------------------------ */

/* On COMPLETE: *consumed = end of the last record of the ClientHello. */
static ptls_ch_result frame(const uint8_t *w, size_t len, size_t *consumed, failure *f)
{
    uint8_t hs_header[4];
    size_t hs_seen = 0;            /* handshake bytes seen so far (all records) */
    size_t hs_total = 0;           /* 4 + body length, once the header is known */
    size_t off = 0;
    size_t records = 0;

    for (;;) {
        size_t avail = len - off;
        /* The core re-parses on every arrival, so the work is records x
           arrivals: bounding the records bounds it. */
        if (records == PTLS_CH_MAX_RECORDS)
            return fail(f, POLYTLS_ALERT_ILLEGAL_PARAMETER, "the ClientHello is split over too many records");
        if (avail == 0)
            return PTLS_CH_INCOMPLETE;
        /* Before and between the fragments of the ClientHello only handshake
           records may come (RFC 8446 §5.1: handshake messages are not
           interleaved with other record types). This also rejects an HTTP
           request or an SSLv2 hello on its first byte. */
        if (w[off] != REC_HANDSHAKE)
            return fail(f, POLYTLS_ALERT_UNEXPECTED_MESSAGE, "the first records are not handshake records");
        if (avail < 2)
            return PTLS_CH_INCOMPLETE;
        /* legacy_record_version is otherwise ignored (RFC 8446 §5.1), but
           a major other than 3 is not a TLS record at all: a syntax error,
           hence decode_error (protocol_version is about a recognised but
           unsupported version, RFC 5246 §7.2.2). */
        if (w[off + 1] != 3)
            return fail(f, POLYTLS_ALERT_DECODE_ERROR, "the record version is not 3.x: not a TLS record");
        if (avail < 5)
            return PTLS_CH_INCOMPLETE;
        size_t rlen = be16(w + off + 3);
        if (rlen == 0) /* RFC 8446 §5.1: no zero-length handshake fragments */
            return fail(f, POLYTLS_ALERT_DECODE_ERROR, "an empty handshake record");
        if (rlen > MAX_FRAGMENT) /* RFC 8446 §5.1 */
            return fail(f, POLYTLS_ALERT_RECORD_OVERFLOW, "a record longer than 2^14 bytes");
        size_t payload = off + 5;
        size_t here = len - payload < rlen ? len - payload : rlen;

        /* The handshake header may itself be split over records. */
        for (size_t i = 0; i < here && hs_seen + i < 4; i++) {
            hs_header[hs_seen + i] = w[payload + i];
            if (hs_seen + i == 0 && hs_header[0] != HS_CLIENT_HELLO)
                return fail(f, POLYTLS_ALERT_UNEXPECTED_MESSAGE, "the first handshake message is not a ClientHello");
            if (hs_seen + i == 3) {
                size_t body = (size_t)hs_header[1] << 16 | (size_t)hs_header[2] << 8 | hs_header[3];
                if (body > PTLS_CH_MAX_BODY)
                    return fail(f, POLYTLS_ALERT_ILLEGAL_PARAMETER, "the ClientHello is longer than 64 KiB");
                hs_total = 4 + body;
            }
        }
        /* The record's length is known even before its bytes are: a record
           that carries more than the rest of the ClientHello holds a second
           handshake message, which must not come before our answer. */
        if (hs_total && hs_seen + rlen > hs_total)
            return fail(f, POLYTLS_ALERT_UNEXPECTED_MESSAGE,
                        "another handshake message follows the ClientHello in the same record");
        if (here < rlen)
            return PTLS_CH_INCOMPLETE;
        hs_seen += rlen;
        off = payload + rlen;
        records++;
        if (hs_total && hs_seen == hs_total) {
            *consumed = off;
            return PTLS_CH_COMPLETE;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Pass 2: a cursor over the handshake bytes, stepping over record headers   */
/* ------------------------------------------------------------------------ */

typedef struct cursor {
    const uint8_t *w;
    size_t pos;      /* offset in w of the next byte (or of the next record header) */
    size_t rec_left; /* payload bytes left in the current record */
    size_t left;     /* bytes left in this vector */
} cursor;

/* Pass 1 validated every record header up to the end of the message, and
   `left` never exceeds what remains of it, so a next record exists whenever
   bytes remain. */
static void enter_record_if_needed(cursor *c)
{
    if (c->rec_left == 0 && c->left) {
        c->rec_left = be16(c->w + c->pos + 3);
        c->pos += 5;
    }
}

static bool get_u8(cursor *c, size_t *v)
{
    if (c->left < 1)
        return false;
    enter_record_if_needed(c);
    *v = c->w[c->pos++];
    c->rec_left--;
    c->left--;
    return true;
}

static bool get_u16(cursor *c, size_t *v)
{
    size_t hi, lo;
    if (c->left < 2 || !get_u8(c, &hi) || !get_u8(c, &lo))
        return false;
    *v = hi << 8 | lo;
    return true;
}

static bool skip(cursor *c, size_t n)
{
    if (n > c->left)
        return false;
    while (n) {
        enter_record_if_needed(c);
        size_t k = n < c->rec_left ? n : c->rec_left;
        c->pos += k;
        c->rec_left -= k;
        c->left -= k;
        n -= k;
    }
    return true;
}

/* Splits off the next n bytes as their own vector. */
static bool sub(cursor *c, size_t n, cursor *out)
{
    cursor s = *c;
    if (!skip(c, n))
        return false;
    s.left = n;
    *out = s;
    return true;
}

/* The next n bytes as one pointer into the input, or NULL when they
   straddle a record boundary. Does not move. */
static const uint8_t *contiguous(cursor c, size_t n)
{
    enter_record_if_needed(&c);
    return n <= c.rec_left ? c.w + c.pos : NULL;
}

/* ------------------------------------------------------------------------ */
/* Extensions                                                                */
/* ------------------------------------------------------------------------ */

static bool ldh_or_dot(uint8_t ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
}

/* HostName (RFC 6066 §3): "the fully qualified DNS hostname of the server
   ... represented as a byte string using ASCII encoding without a trailing
   dot", A-labels for IDNs, "Literal IPv4 and IPv6 addresses are not
   permitted". Checked after lower-casing (DNS names are case-insensitive).
   Hyphen placement inside a label is not policed: such a name can only
   fail to match a certificate. */
static const char *check_host_name(const char *name, size_t n)
{
    size_t label = 0;
    bool label_all_digits = true;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = (uint8_t)name[i];
        if (!ldh_or_dot(ch))
            return "the SNI host_name has a character other than letters, digits, '-' and '.'";
        if (ch == '.') {
            if (label == 0)
                return i + 1 == n ? "the SNI host_name ends with a dot" : "the SNI host_name has an empty label";
            label = 0;
            label_all_digits = true;
            continue;
        }
        if (++label > 63)
            return "the SNI host_name has a label longer than 63 bytes";
        if (ch < '0' || ch > '9')
            label_all_digits = false;
    }
    /* A top-level label is never all-numeric (RFC 1123 §2.1); this is how an
       IPv4 literal shows. IPv6 literals already failed on ':'. */
    if (label_all_digits)
        return "the SNI host_name is an IP address literal";
    return NULL;
}

static ptls_ch_result parse_server_name(cursor d, ptls_client_hello *ch, failure *f)
{
    size_t list_len;
    if (!get_u16(&d, &list_len) || list_len != d.left)
        return fail(f, POLYTLS_ALERT_DECODE_ERROR, "the server_name list does not fill its extension");
    if (list_len == 0) /* ServerNameList server_name_list<1..2^16-1> */
        return fail(f, POLYTLS_ALERT_DECODE_ERROR, "the server_name list is empty");
    while (d.left) {
        size_t type, n;
        cursor name;
        /* Every name type, present and future, carries a 16-bit length
           (RFC 6066 §3), so unknown types can be stepped over. */
        if (!get_u8(&d, &type) || !get_u16(&d, &n) || !sub(&d, n, &name))
            return fail(f, POLYTLS_ALERT_DECODE_ERROR, "a server_name entry overruns the list");
        if (type != 0)
            continue;
        /* "The ServerNameList MUST NOT contain more than one name of the
           same name_type." Syntactically fine, semantically invalid. */
        if (ch->has_server_name)
            return fail(f, POLYTLS_ALERT_ILLEGAL_PARAMETER, "the server_name list has two host_name entries");
        if (n == 0) /* HostName<1..2^16-1> */
            return fail(f, POLYTLS_ALERT_DECODE_ERROR, "the SNI host_name is empty");
        if (n > sizeof ch->server_name - 1)
            return fail(f, POLYTLS_ALERT_ILLEGAL_PARAMETER, "the SNI host_name is longer than 255 bytes");
        for (size_t i = 0; i < n; i++) {
            size_t b;
            (void)get_u8(&name, &b); /* cannot fail: n bytes are there */
            ch->server_name[i] = (char)(b >= 'A' && b <= 'Z' ? b + ('a' - 'A') : b);
        }
        ch->server_name[n] = '\0';
        const char *bad = check_host_name(ch->server_name, n);
        if (bad)
            return fail(f, POLYTLS_ALERT_ILLEGAL_PARAMETER, bad);
        ch->has_server_name = true;
    }
    return PTLS_CH_COMPLETE;
}

/* RFC 7301 §3.1: ProtocolName protocol_name_list<2..2^16-1>, each
   ProtocolName<1..2^8-1>; "Empty strings MUST NOT be included and byte
   strings MUST NOT be truncated." */
static ptls_ch_result parse_alpn(cursor d, ptls_client_hello *ch, failure *f)
{
    size_t list_len;
    if (!get_u16(&d, &list_len) || list_len != d.left)
        return fail(f, POLYTLS_ALERT_DECODE_ERROR, "the ALPN list does not fill its extension");
    if (list_len < 2)
        return fail(f, POLYTLS_ALERT_DECODE_ERROR, "the ALPN list is empty");
    const uint8_t *body = contiguous(d, list_len);
    while (d.left) {
        size_t n;
        if (!get_u8(&d, &n) || n == 0)
            return fail(f, POLYTLS_ALERT_DECODE_ERROR, "the ALPN list has an empty protocol name");
        if (!skip(&d, n))
            return fail(f, POLYTLS_ALERT_DECODE_ERROR, "an ALPN protocol name overruns the list");
    }
    ch->has_alpn = true;
    ch->alpn = body;
    ch->alpn_len = list_len;
    return PTLS_CH_COMPLETE;
}

/* RFC 8446 §4.2.1: ProtocolVersion versions<2..254> in a ClientHello. */
static ptls_ch_result parse_supported_versions(cursor d, ptls_client_hello *ch, failure *f)
{
    size_t n;
    if (!get_u8(&d, &n) || n != d.left || n < 2 || n % 2)
        return fail(f, POLYTLS_ALERT_DECODE_ERROR, "the supported_versions list is malformed");
    while (d.left) {
        size_t v;
        (void)get_u16(&d, &v); /* cannot fail: even length checked */
        if (v == TLS13)
            ch->offers_tls13 = true;
        else if (v == TLS12)
            ch->offers_tls12 = true;
    }
    return PTLS_CH_COMPLETE;
}

/* ------------------------------------------------------------------------ */
/* The ClientHello body (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2)                 */
/* ------------------------------------------------------------------------ */

static ptls_ch_result parse_body(cursor *r, ptls_client_hello *ch, failure *f)
{
    size_t v, n;
    cursor part;

    if (!get_u16(r, &v))
        return fail(f, POLYTLS_ALERT_DECODE_ERROR, "the ClientHello is truncated (legacy_version)");
    ch->legacy_version = (uint16_t)v;
    if (!skip(r, 32))
        return fail(f, POLYTLS_ALERT_DECODE_ERROR, "the ClientHello is truncated (random)");
    if (!get_u8(r, &n) || n > 32 || !skip(r, n)) /* SessionID<0..32> */
        return fail(f, POLYTLS_ALERT_DECODE_ERROR, "the ClientHello session_id is malformed");
    if (!get_u16(r, &n) || n == 0 || n % 2 || !skip(r, n)) /* CipherSuite cipher_suites<2..2^16-2> */
        return fail(f, POLYTLS_ALERT_DECODE_ERROR, "the ClientHello cipher_suites list is malformed");
    if (!get_u8(r, &n) || n == 0 || !sub(r, n, &part)) /* compression_methods<1..2^8-1> */
        return fail(f, POLYTLS_ALERT_DECODE_ERROR, "the ClientHello compression_methods list is malformed");
    /* RFC 5246 §7.4.1.2: the list "MUST contain ... CompressionMethod.null";
       RFC 8446 §4.1.2 answers a bad value with illegal_parameter. */
    bool has_null = false;
    while (part.left) {
        (void)get_u8(&part, &v);
        has_null |= v == 0;
    }
    if (!has_null)
        return fail(f, POLYTLS_ALERT_ILLEGAL_PARAMETER, "the ClientHello does not offer the null compression");

    bool has_versions = false;
    /* Extensions are optional in TLS 1.2: "the presence of extensions can
       be detected by determining whether there are bytes following the
       compression_methods" (RFC 5246 §7.4.1.2). */
    if (r->left) {
        if (!get_u16(r, &n) || n != r->left)
            return fail(f, POLYTLS_ALERT_DECODE_ERROR, "the ClientHello extensions do not fill the message");
        /* One bit per extension type for the duplicate check: 8 KiB on the
           stack instead of an allocation or a quadratic scan. */
        uint64_t seen[65536 / 64];
        memset(seen, 0, sizeof seen);
        bool after_psk = false;
        while (r->left) {
            size_t type, elen;
            cursor data;
            if (!get_u16(r, &type) || !get_u16(r, &elen) || !sub(r, elen, &data))
                return fail(f, POLYTLS_ALERT_DECODE_ERROR, "a ClientHello extension overruns the message");
            /* RFC 8446 §4.2 / RFC 5246 §7.4.1.4: at most one of each type. */
            if (seen[type / 64] >> (type % 64) & 1)
                return fail(f, POLYTLS_ALERT_ILLEGAL_PARAMETER, "a ClientHello extension appears twice");
            seen[type / 64] |= (uint64_t)1 << (type % 64);
            /* RFC 8446 §4.2.11: pre_shared_key "MUST be the last extension in
               the ClientHello ... otherwise fail the handshake with an
               illegal_parameter alert". */
            if (after_psk)
                return fail(f, POLYTLS_ALERT_ILLEGAL_PARAMETER, "pre_shared_key is not the last extension");
            ptls_ch_result res = PTLS_CH_COMPLETE;
            switch (type) {
            case EXT_SERVER_NAME:
                res = parse_server_name(data, ch, f);
                break;
            case EXT_ALPN:
                res = parse_alpn(data, ch, f);
                break;
            case EXT_SUPPORTED_VERSIONS:
                has_versions = true;
                res = parse_supported_versions(data, ch, f);
                break;
            case EXT_PRE_SHARED_KEY:
                after_psk = true;
                break;
            default:
                break;
            }
            if (res != PTLS_CH_COMPLETE)
                return res;
        }
    }
    /* RFC 8446 §4.2.1: with supported_versions, legacy_version is ignored. */
    if (!has_versions)
        ch->offers_tls12 = ch->legacy_version >= TLS12;
    return PTLS_CH_COMPLETE;
}

ptls_ch_result ptls_client_hello_parse(const uint8_t *wire, size_t len, ptls_client_hello *ch,
                                       polytls_alert *alert, const char **why)
{
    failure f = {POLYTLS_ALERT_INTERNAL_ERROR, "internal error"};
    if (!ch || !alert || !why || (!wire && len)) {
        if (alert && why) {
            *alert = f.alert;
            *why = "the ClientHello parser was called without a buffer or an output";
        }
        return PTLS_CH_MALFORMED;
    }
    size_t consumed = 0;
    ptls_ch_result res = frame(wire, len, &consumed, &f);
    if (res == PTLS_CH_COMPLETE) {
        ptls_client_hello tmp;
        memset(&tmp, 0, sizeof tmp);
        /* Start after the first record header and the handshake header; the
           first record holds at least one byte, so the header may continue
           in the next record: get_u8 handles that. */
        cursor r = {.w = wire, .pos = 5, .rec_left = be16(wire + 3), .left = consumed};
        size_t b0, b1, b2, b3;
        (void)get_u8(&r, &b0); /* client_hello(1), checked by frame() */
        (void)get_u8(&r, &b1);
        (void)get_u8(&r, &b2);
        (void)get_u8(&r, &b3);
        r.left = b1 << 16 | b2 << 8 | b3;
        res = parse_body(&r, &tmp, &f);
        if (res == PTLS_CH_COMPLETE) {
            tmp.consumed = consumed;
            *ch = tmp;
            return PTLS_CH_COMPLETE;
        }
    }
    if (res == PTLS_CH_MALFORMED) {
        *alert = f.alert;
        *why = f.why;
    }
    return res;
}
