/* Strict DER reader. Every function checks its bounds itself so that a
   caller mistake cannot turn hostile input into an out-of-bounds read. */
#include <string.h>

#include "der.h"
#include "status.h"

/* Lengths above this cannot describe anything the core reads (and keep the
   arithmetic below far from overflow on 32-bit targets). */
#define MAX_LENGTH_OCTETS 4

void ptls_der_init(ptls_der *d, const uint8_t *p, size_t len)
{
    d->base = p;
    d->pos = 0;
    d->end = p ? len : 0;
}

void ptls_der_enter(const ptls_der *parent, const ptls_der_tlv *t, ptls_der *child)
{
    child->base = parent->base;
    child->pos = (size_t)(t->val - parent->base);
    child->end = child->pos + t->len;
}

bool ptls_der_at_end(const ptls_der *d)
{
    return d->pos >= d->end;
}

bool ptls_der_peek(const ptls_der *d, uint8_t tag)
{
    return d->pos < d->end && d->base[d->pos] == tag;
}

polytls_status ptls_der_next(ptls_der *d, ptls_der_tlv *t)
{
    size_t start = d->pos;
    if (d->pos >= d->end)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: element expected at offset %zu, input ends",
                         start);
    size_t avail = d->end - d->pos;
    uint8_t tag = d->base[d->pos];
    if ((tag & 0x1f) == 0x1f)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: multi-byte tag at offset %zu is not supported",
                         start);
    if (avail < 2)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: truncated length at offset %zu", start);
    uint8_t first = d->base[d->pos + 1];
    size_t hdr = 2;
    size_t len;
    if (first < 0x80) {
        len = first;
    } else if (first == 0x80) {
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING,
                         "DER: indefinite length at offset %zu (only definite lengths are DER)", start);
    } else {
        size_t n = first & 0x7f;
        if (n > MAX_LENGTH_OCTETS)
            return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: length with %zu octets at offset %zu is too large",
                             n, start);
        if (avail - 2 < n)
            return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: truncated length at offset %zu", start);
        const uint8_t *lp = d->base + d->pos + 2;
        if (lp[0] == 0)
            return ptls_fail(POLYTLS_ERR_BAD_ENCODING,
                             "DER: non-minimal length (leading zero octet) at offset %zu", start);
        len = 0;
        for (size_t i = 0; i < n; i++)
            len = (len << 8) | lp[i];
        if (len < 0x80)
            return ptls_fail(POLYTLS_ERR_BAD_ENCODING,
                             "DER: non-minimal length (long form for %zu) at offset %zu", len, start);
        hdr += n;
    }
    if (len > avail - hdr)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING,
                         "DER: length %zu at offset %zu overruns the input (%zu bytes left)", len, start,
                         avail - hdr);
    t->tag = tag;
    t->offset = start;
    t->tlv = d->base + start;
    t->tlv_len = hdr + len;
    t->val = d->base + start + hdr;
    t->len = len;
    d->pos = start + hdr + len;
    return POLYTLS_OK;
}

polytls_status ptls_der_expect(ptls_der *d, uint8_t tag, ptls_der_tlv *t, const char *what)
{
    size_t start = d->pos;
    if (d->pos >= d->end)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: %s expected at offset %zu, input ends", what, start);
    if (d->base[d->pos] != tag)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: %s expected at offset %zu (tag 0x%02x, found 0x%02x)",
                         what, start, tag, d->base[d->pos]);
    ptls_der_tlv tmp;
    polytls_status s = ptls_der_next(d, &tmp);
    if (s != POLYTLS_OK)
        return s;
    *t = tmp;
    return POLYTLS_OK;
}

polytls_status ptls_der_finish(const ptls_der *d, const char *what)
{
    if (d->pos != d->end)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: %zu unexpected trailing bytes at offset %zu in %s",
                         d->end - d->pos, d->pos, what);
    return POLYTLS_OK;
}

/* Universal SEQUENCE and SET must be constructed; every other universal
   type must be primitive in DER. Tag number 0 is end-of-contents, which
   exists only with indefinite lengths. */
static polytls_status check_form(const ptls_der_tlv *t)
{
    uint8_t cls = t->tag & 0xc0;
    uint8_t num = t->tag & 0x1f;
    bool constructed = (t->tag & 0x20) != 0;
    if (cls != 0)
        return POLYTLS_OK;
    if (num == 0)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: end-of-contents tag at offset %zu", t->offset);
    bool must_construct = num == 16 || num == 17;
    if (constructed != must_construct)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: tag 0x%02x at offset %zu has the wrong form (%s)",
                         t->tag, t->offset, constructed ? "constructed" : "primitive");
    return POLYTLS_OK;
}

static polytls_status check_children(ptls_der *d, unsigned depth_left)
{
    while (!ptls_der_at_end(d)) {
        ptls_der_tlv t;
        polytls_status s = ptls_der_next(d, &t);
        if (s != POLYTLS_OK)
            return s;
        s = check_form(&t);
        if (s != POLYTLS_OK)
            return s;
        if (t.tag & 0x20) {
            if (depth_left == 0)
                return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: nesting deeper than %d levels at offset %zu",
                                 PTLS_DER_MAX_DEPTH, t.offset);
            ptls_der child;
            ptls_der_enter(d, &t, &child);
            s = check_children(&child, depth_left - 1);
            if (s != POLYTLS_OK)
                return s;
        }
    }
    return POLYTLS_OK;
}

polytls_status ptls_der_check_tree(const uint8_t *p, size_t len, unsigned max_depth)
{
    if (!p || len == 0)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: empty input");
    ptls_der d;
    ptls_der_init(&d, p, len);
    ptls_der_tlv t;
    polytls_status s = ptls_der_next(&d, &t);
    if (s != POLYTLS_OK)
        return s;
    s = ptls_der_finish(&d, "the input");
    if (s != POLYTLS_OK)
        return s;
    s = check_form(&t);
    if (s != POLYTLS_OK)
        return s;
    if (!(t.tag & 0x20))
        return POLYTLS_OK;
    if (max_depth == 0)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: nesting deeper than allowed at offset 0");
    ptls_der child;
    ptls_der_enter(&d, &t, &child);
    return check_children(&child, max_depth - 1);
}

polytls_status ptls_der_get_bool(const ptls_der_tlv *t, bool *out, const char *what)
{
    if (t->tag != PTLS_DER_BOOLEAN || t->len != 1 || (t->val[0] != 0x00 && t->val[0] != 0xff))
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: %s at offset %zu is not a DER BOOLEAN", what,
                         t->offset);
    *out = t->val[0] == 0xff;
    return POLYTLS_OK;
}

polytls_status ptls_der_check_integer(const ptls_der_tlv *t, const char *what)
{
    if (t->tag != PTLS_DER_INTEGER || t->len == 0)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: %s at offset %zu is not an INTEGER", what, t->offset);
    if (t->len >= 2 && ((t->val[0] == 0x00 && !(t->val[1] & 0x80)) || (t->val[0] == 0xff && (t->val[1] & 0x80))))
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: %s at offset %zu is not minimally encoded", what,
                         t->offset);
    return POLYTLS_OK;
}

polytls_status ptls_der_get_small_uint(const ptls_der_tlv *t, long *out, const char *what)
{
    polytls_status s = ptls_der_check_integer(t, what);
    if (s != POLYTLS_OK)
        return s;
    if (t->val[0] & 0x80)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: %s at offset %zu is negative", what, t->offset);
    /* Four value bytes (plus a possible leading zero) always fit in a long
       of at least 32 bits once the sign bit is excluded. */
    if (t->len > 4 || (t->len == 4 && (t->val[0] & 0x80)))
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: %s at offset %zu is too large", what, t->offset);
    long v = 0;
    for (size_t i = 0; i < t->len; i++)
        v = (v << 8) | t->val[i];
    *out = v;
    return POLYTLS_OK;
}

polytls_status ptls_der_get_bit_string(const ptls_der_tlv *t, const uint8_t **bytes, size_t *len,
                                       const char *what)
{
    if (t->tag != PTLS_DER_BIT_STRING || t->len == 0)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: %s at offset %zu is not a BIT STRING", what, t->offset);
    if (t->val[0] != 0)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: %s at offset %zu has %u unused bits (expected 0)", what,
                         t->offset, t->val[0]);
    *bytes = t->val + 1;
    *len = t->len - 1;
    return POLYTLS_OK;
}

bool ptls_der_oid_equals(const ptls_der_tlv *t, const uint8_t *oid, size_t oid_len)
{
    return t->tag == PTLS_DER_OID && t->len == oid_len && memcmp(t->val, oid, oid_len) == 0;
}

/* n decimal digits at p, or -1 if one is not a digit. */
static int der_digits(const uint8_t *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar, by
   counting whole eras of 400 years (146097 days) from 0000-03-01: pure
   arithmetic, so no dependence on the C library's time zone handling. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

polytls_status ptls_der_get_time(const ptls_der_tlv *t, int64_t *out, const char *what)
{
    size_t digits;
    if (t->tag == PTLS_DER_UTC_TIME)
        digits = 12;
    else if (t->tag == PTLS_DER_GENERALIZED_TIME)
        digits = 14;
    else
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: %s at offset %zu is not a UTCTime or GeneralizedTime",
                         what, t->offset);
    if (t->len != digits + 1 || t->val[digits] != 'Z')
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING,
                         "DER: %s at offset %zu must be %s followed by Z (RFC 5280 4.1.2.5)", what, t->offset,
                         digits == 12 ? "YYMMDDHHMMSS" : "YYYYMMDDHHMMSS");
    const uint8_t *p = t->val;
    int year;
    if (digits == 12) {
        year = der_digits(p, 2);
        if (year >= 0)
            year += year >= 50 ? 1900 : 2000;
        p += 2;
    } else {
        year = der_digits(p, 4);
        p += 4;
    }
    int month = der_digits(p, 2), day = der_digits(p + 2, 2), hour = der_digits(p + 4, 2);
    int minute = der_digits(p + 6, 2), second = der_digits(p + 8, 2);
    static const int month_days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    if (year < 0 || month < 1 || month > 12 || day < 1 || day > month_days[month - 1] ||
        (month == 2 && day == 29 && !leap) || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
        second < 0 || second > 59)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "DER: %s at offset %zu is not a valid date and time", what,
                         t->offset);
    *out = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
    return POLYTLS_OK;
}

size_t ptls_der_tlv_size(size_t len)
{
    size_t hdr = 2;
    for (size_t v = len; len >= 0x80 && v > 0; v >>= 8)
        hdr++;
    if (len > SIZE_MAX - hdr)
        return 0;
    return hdr + len;
}

size_t ptls_der_put_header(uint8_t *out, uint8_t tag, size_t len)
{
    out[0] = tag;
    if (len < 0x80) {
        out[1] = (uint8_t)len;
        return 2;
    }
    size_t n = 0;
    for (size_t v = len; v > 0; v >>= 8)
        n++;
    out[1] = (uint8_t)(0x80 | n);
    for (size_t i = 0; i < n; i++)
        out[2 + i] = (uint8_t)(len >> (8 * (n - 1 - i)));
    return 2 + n;
}
