/* Certificate objects. A certificate is parsed once, strictly, when it is
   created; afterwards it is immutable, so it can be shared between threads
   and between backends with only its reference count changing. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "certificate.h"
#include "der.h"
#include "hostname.h"
#include "private_key.h"
#include "status.h"

struct polytls_certificate {
    atomic_size_t refs;
    uint8_t *der;
    size_t der_len;
    uint8_t *key; /* PKCS#8 DER or NULL; wiped on free */
    size_t key_len;
    bool key_checked;
    ptls_cert_info info; /* spans into der */
};

static const uint8_t OID_BASIC_CONSTRAINTS[] = {0x55, 0x1d, 0x13};
static const uint8_t OID_SUBJECT_ALT_NAME[] = {0x55, 0x1d, 0x11};
static const uint8_t OID_SUBJECT_KEY_ID[] = {0x55, 0x1d, 0x0e};
static const uint8_t OID_AUTHORITY_KEY_ID[] = {0x55, 0x1d, 0x23};

polytls_status ptls_fail_context(polytls_status s, const char *context)
{
    char previous[512];
    snprintf(previous, sizeof previous, "%s", polytls_last_error_message());
    return ptls_fail(s, "%s: %s", context, previous);
}

static ptls_span span_of(const uint8_t *p, size_t len)
{
    ptls_span s = {p, len};
    return s;
}

/* --------------------------------------------------------- extensions -- */

/* Extension values are OCTET STRINGs holding DER of their own, which the
   whole-certificate tree check does not descend into: check them here. */
static polytls_status enter_ext_value(const ptls_der_tlv *value, ptls_der *d, ptls_der_tlv *inner,
                                      uint8_t tag, const char *what)
{
    polytls_status s = ptls_der_check_tree(value->val, value->len, PTLS_DER_MAX_DEPTH);
    if (s != POLYTLS_OK)
        return ptls_fail_context(s, what);
    ptls_der_init(d, value->val, value->len);
    s = ptls_der_expect(d, tag, inner, what);
    return s;
}

static polytls_status parse_basic_constraints(const ptls_der_tlv *value, ptls_cert_info *info)
{
    ptls_der d, b;
    ptls_der_tlv seq, t;
    polytls_status s = enter_ext_value(value, &d, &seq, PTLS_DER_SEQUENCE, "basicConstraints");
    if (s != POLYTLS_OK)
        return s;
    ptls_der_enter(&d, &seq, &b);
    info->is_ca = false;
    /* cA BOOLEAN DEFAULT FALSE. An explicit FALSE breaks DER's DEFAULT rule
       but is common in the wild and harmless, so it is accepted. */
    if (ptls_der_peek(&b, PTLS_DER_BOOLEAN)) {
        if ((s = ptls_der_next(&b, &t)) != POLYTLS_OK ||
            (s = ptls_der_get_bool(&t, &info->is_ca, "basicConstraints cA")) != POLYTLS_OK)
            return s;
    }
    if (ptls_der_peek(&b, PTLS_DER_INTEGER)) {
        long path_len;
        if ((s = ptls_der_next(&b, &t)) != POLYTLS_OK ||
            (s = ptls_der_get_small_uint(&t, &path_len, "pathLenConstraint")) != POLYTLS_OK)
            return s;
    }
    return ptls_der_finish(&b, "basicConstraints");
}

static polytls_status parse_subject_key_id(const ptls_der_tlv *value, ptls_cert_info *info)
{
    ptls_der d;
    ptls_der_tlv t;
    polytls_status s = enter_ext_value(value, &d, &t, PTLS_DER_OCTET_STRING, "subjectKeyIdentifier");
    if (s == POLYTLS_OK)
        s = ptls_der_finish(&d, "subjectKeyIdentifier");
    if (s == POLYTLS_OK)
        info->ski = span_of(t.val, t.len);
    return s;
}

static polytls_status parse_authority_key_id(const ptls_der_tlv *value, ptls_cert_info *info)
{
    ptls_der d, a;
    ptls_der_tlv seq, t;
    polytls_status s = enter_ext_value(value, &d, &seq, PTLS_DER_SEQUENCE, "authorityKeyIdentifier");
    if (s == POLYTLS_OK)
        s = ptls_der_finish(&d, "authorityKeyIdentifier");
    if (s != POLYTLS_OK)
        return s;
    ptls_der_enter(&d, &seq, &a);
    if (ptls_der_peek(&a, PTLS_DER_CTX_PRIM(0))) {
        if ((s = ptls_der_next(&a, &t)) != POLYTLS_OK)
            return s;
        info->aki_key_id = span_of(t.val, t.len);
    }
    if (ptls_der_peek(&a, PTLS_DER_CTX_CONS(1)) && (s = ptls_der_next(&a, &t)) != POLYTLS_OK)
        return s;
    if (ptls_der_peek(&a, PTLS_DER_CTX_PRIM(2)) && (s = ptls_der_next(&a, &t)) != POLYTLS_OK)
        return s;
    return ptls_der_finish(&a, "authorityKeyIdentifier");
}

static polytls_status parse_subject_alt_name(const ptls_der_tlv *value, ptls_cert_info *info)
{
    ptls_der d, g;
    ptls_der_tlv seq, t;
    polytls_status s = enter_ext_value(value, &d, &seq, PTLS_DER_SEQUENCE, "subjectAltName");
    if (s == POLYTLS_OK)
        s = ptls_der_finish(&d, "subjectAltName");
    if (s != POLYTLS_OK)
        return s;
    if (seq.len == 0)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "subjectAltName is empty");
    ptls_der_enter(&d, &seq, &g);
    while (!ptls_der_at_end(&g)) {
        if ((s = ptls_der_next(&g, &t)) != POLYTLS_OK)
            return s;
        if ((t.tag & 0xc0) != 0x80)
            return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "subjectAltName: entry with tag 0x%02x is not a GeneralName",
                             t.tag);
        if (t.tag == PTLS_DER_CTX_PRIM(PTLS_SAN_IP) && t.len != 4 && t.len != 16)
            return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "subjectAltName: iPAddress of %zu bytes", t.len);
        if (t.tag == PTLS_DER_CTX_PRIM(PTLS_SAN_DNS)) {
            for (size_t i = 0; i < t.len; i++)
                if (t.val[i] == 0 || t.val[i] >= 0x80)
                    return ptls_fail(POLYTLS_ERR_BAD_ENCODING,
                                     "subjectAltName: dNSName with a byte that is not IA5 text");
        }
    }
    info->san = span_of(seq.val, seq.len);
    return POLYTLS_OK;
}

static polytls_status parse_extensions(ptls_der *tbs, const ptls_der_tlv *wrapper, ptls_cert_info *info)
{
    ptls_der w, list;
    ptls_der_tlv seq;
    ptls_der_enter(tbs, wrapper, &w);
    polytls_status s = ptls_der_expect(&w, PTLS_DER_SEQUENCE, &seq, "extensions");
    if (s == POLYTLS_OK)
        s = ptls_der_finish(&w, "extensions");
    if (s != POLYTLS_OK)
        return s;
    if (seq.len == 0)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "certificate: empty extensions list");
    ptls_der_enter(&w, &seq, &list);
    bool seen[4] = {false, false, false, false};
    while (!ptls_der_at_end(&list)) {
        ptls_der e;
        ptls_der_tlv ext, oid, crit, value;
        if ((s = ptls_der_expect(&list, PTLS_DER_SEQUENCE, &ext, "Extension")) != POLYTLS_OK)
            return s;
        ptls_der_enter(&list, &ext, &e);
        if ((s = ptls_der_expect(&e, PTLS_DER_OID, &oid, "extnID")) != POLYTLS_OK)
            return s;
        if (ptls_der_peek(&e, PTLS_DER_BOOLEAN)) {
            bool critical;
            if ((s = ptls_der_next(&e, &crit)) != POLYTLS_OK ||
                (s = ptls_der_get_bool(&crit, &critical, "critical")) != POLYTLS_OK)
                return s;
        }
        if ((s = ptls_der_expect(&e, PTLS_DER_OCTET_STRING, &value, "extnValue")) != POLYTLS_OK ||
            (s = ptls_der_finish(&e, "Extension")) != POLYTLS_OK)
            return s;
        static const struct {
            const uint8_t *oid;
            const char *name;
            polytls_status (*parse)(const ptls_der_tlv *, ptls_cert_info *);
        } known[4] = {
            {OID_BASIC_CONSTRAINTS, "basicConstraints", parse_basic_constraints},
            {OID_SUBJECT_ALT_NAME, "subjectAltName", parse_subject_alt_name},
            {OID_SUBJECT_KEY_ID, "subjectKeyIdentifier", parse_subject_key_id},
            {OID_AUTHORITY_KEY_ID, "authorityKeyIdentifier", parse_authority_key_id},
        };
        for (size_t i = 0; i < 4; i++) {
            if (!ptls_der_oid_equals(&oid, known[i].oid, 3))
                continue;
            if (seen[i])
                return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "certificate: duplicate %s extension", known[i].name);
            seen[i] = true;
            if ((s = known[i].parse(&value, info)) != POLYTLS_OK)
                return s;
        }
    }
    return POLYTLS_OK;
}

/* ------------------------------------------------------------- parse -- */

static polytls_status parse_spki(ptls_der *tbs, ptls_cert_info *info)
{
    ptls_der k, a;
    ptls_der_tlv spki, alg, oid, bits, params;
    polytls_status s;
    if ((s = ptls_der_expect(tbs, PTLS_DER_SEQUENCE, &spki, "subjectPublicKeyInfo")) != POLYTLS_OK)
        return s;
    ptls_der_enter(tbs, &spki, &k);
    if ((s = ptls_der_expect(&k, PTLS_DER_SEQUENCE, &alg, "SPKI algorithm")) != POLYTLS_OK)
        return s;
    ptls_der_enter(&k, &alg, &a);
    if ((s = ptls_der_expect(&a, PTLS_DER_OID, &oid, "SPKI algorithm OID")) != POLYTLS_OK)
        return s;
    info->spki_params = span_of(NULL, 0);
    if (!ptls_der_at_end(&a)) {
        if ((s = ptls_der_next(&a, &params)) != POLYTLS_OK)
            return s;
        info->spki_params = span_of(params.tlv, params.tlv_len);
    }
    if ((s = ptls_der_finish(&a, "SPKI algorithm")) != POLYTLS_OK ||
        (s = ptls_der_expect(&k, PTLS_DER_BIT_STRING, &bits, "subjectPublicKey")) != POLYTLS_OK ||
        (s = ptls_der_finish(&k, "subjectPublicKeyInfo")) != POLYTLS_OK)
        return s;
    const uint8_t *key;
    size_t key_len;
    if ((s = ptls_der_get_bit_string(&bits, &key, &key_len, "subjectPublicKey")) != POLYTLS_OK)
        return s;
    info->spki = span_of(spki.tlv, spki.tlv_len);
    info->spki_alg_oid = span_of(oid.val, oid.len);
    info->spki_key = span_of(key, key_len);
    return POLYTLS_OK;
}

polytls_status ptls_cert_parse(const uint8_t *der, size_t len, ptls_cert_info *out)
{
    ptls_cert_info info;
    memset(&info, 0, sizeof info);
    polytls_status s = ptls_der_check_tree(der, len, PTLS_DER_MAX_DEPTH);
    if (s != POLYTLS_OK)
        return ptls_fail_context(s, "certificate");
    ptls_der d, c, tbs;
    ptls_der_tlv cert, tbs_t, t, issuer, subject;
    ptls_der_init(&d, der, len);
    if ((s = ptls_der_expect(&d, PTLS_DER_SEQUENCE, &cert, "Certificate")) != POLYTLS_OK)
        return ptls_fail_context(s, "certificate");
    ptls_der_enter(&d, &cert, &c);
    if ((s = ptls_der_expect(&c, PTLS_DER_SEQUENCE, &tbs_t, "tbsCertificate")) != POLYTLS_OK ||
        (s = ptls_der_expect(&c, PTLS_DER_SEQUENCE, &t, "signatureAlgorithm")) != POLYTLS_OK ||
        (s = ptls_der_expect(&c, PTLS_DER_BIT_STRING, &t, "signatureValue")) != POLYTLS_OK ||
        (s = ptls_der_finish(&c, "Certificate")) != POLYTLS_OK)
        return ptls_fail_context(s, "certificate");
    ptls_der_enter(&c, &tbs_t, &tbs);

    long version = 0; /* v1 */
    if (ptls_der_peek(&tbs, PTLS_DER_CTX_CONS(0))) {
        ptls_der v;
        ptls_der_tlv wrapper;
        if ((s = ptls_der_next(&tbs, &wrapper)) != POLYTLS_OK)
            return ptls_fail_context(s, "certificate");
        ptls_der_enter(&tbs, &wrapper, &v);
        if ((s = ptls_der_expect(&v, PTLS_DER_INTEGER, &t, "version")) != POLYTLS_OK ||
            (s = ptls_der_get_small_uint(&t, &version, "version")) != POLYTLS_OK ||
            (s = ptls_der_finish(&v, "version")) != POLYTLS_OK)
            return ptls_fail_context(s, "certificate");
        if (version > 2)
            return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "certificate: unknown version %ld", version + 1);
    }
    if ((s = ptls_der_expect(&tbs, PTLS_DER_INTEGER, &t, "serialNumber")) != POLYTLS_OK ||
        (s = ptls_der_expect(&tbs, PTLS_DER_SEQUENCE, &t, "signature")) != POLYTLS_OK ||
        (s = ptls_der_expect(&tbs, PTLS_DER_SEQUENCE, &issuer, "issuer")) != POLYTLS_OK ||
        (s = ptls_der_expect(&tbs, PTLS_DER_SEQUENCE, &t, "validity")) != POLYTLS_OK)
        return ptls_fail_context(s, "certificate");
    info.validity = span_of(t.tlv, t.tlv_len);
    if ((s = ptls_der_expect(&tbs, PTLS_DER_SEQUENCE, &subject, "subject")) != POLYTLS_OK ||
        (s = parse_spki(&tbs, &info)) != POLYTLS_OK)
        return ptls_fail_context(s, "certificate");
    info.issuer = span_of(issuer.tlv, issuer.tlv_len);
    info.subject = span_of(subject.tlv, subject.tlv_len);
    if (ptls_der_peek(&tbs, PTLS_DER_CTX_PRIM(1)) && (s = ptls_der_next(&tbs, &t)) != POLYTLS_OK)
        return ptls_fail_context(s, "certificate");
    if (ptls_der_peek(&tbs, PTLS_DER_CTX_PRIM(2)) && (s = ptls_der_next(&tbs, &t)) != POLYTLS_OK)
        return ptls_fail_context(s, "certificate");
    if (ptls_der_peek(&tbs, PTLS_DER_CTX_CONS(3))) {
        if (version != 2)
            return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "certificate: extensions in a version %ld certificate",
                             version + 1);
        if ((s = ptls_der_next(&tbs, &t)) != POLYTLS_OK || (s = parse_extensions(&tbs, &t, &info)) != POLYTLS_OK)
            return ptls_fail_context(s, "certificate");
    }
    if ((s = ptls_der_finish(&tbs, "tbsCertificate")) != POLYTLS_OK)
        return ptls_fail_context(s, "certificate");
    *out = info;
    return POLYTLS_OK;
}

/* ------------------------------------------------------------ objects -- */

static void certificate_free(polytls_certificate *c)
{
    if (c->key) {
        ptls_wipe(c->key, c->key_len);
        free(c->key);
    }
    free(c->der);
    free(c);
}

polytls_status polytls_certificate_new(const uint8_t *der, size_t der_len, const uint8_t *key_der,
                                       size_t key_len, polytls_certificate **out)
{
    if (!out || !der || der_len == 0)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "polytls_certificate_new: %s",
                         !out ? "out is NULL" : "no certificate DER given");
    if ((key_der == NULL) != (key_len == 0))
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                         "polytls_certificate_new: key_der and key_len must be both set or both empty");
    polytls_certificate *c = calloc(1, sizeof *c);
    if (!c || !(c->der = malloc(der_len))) {
        free(c);
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory creating a certificate");
    }
    memcpy(c->der, der, der_len);
    c->der_len = der_len;
    atomic_init(&c->refs, 1);
    c->key_checked = true;
    polytls_status s = ptls_cert_parse(c->der, c->der_len, &c->info);
    if (s == POLYTLS_OK && key_der)
        s = ptls_private_key_import(key_der, key_len, &c->info, &c->key, &c->key_len, &c->key_checked);
    if (s != POLYTLS_OK) {
        certificate_free(c);
        return s;
    }
    *out = c;
    return POLYTLS_OK;
}

polytls_certificate *polytls_certificate_ref(polytls_certificate *c)
{
    if (c)
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void polytls_certificate_unref(polytls_certificate *c)
{
    if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        certificate_free(c);
}

polytls_status polytls_certificate_der(const polytls_certificate *c, const uint8_t **der, size_t *len)
{
    if (!c || !der || !len)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "polytls_certificate_der: NULL argument");
    *der = c->der;
    *len = c->der_len;
    return POLYTLS_OK;
}

bool polytls_certificate_has_private_key(const polytls_certificate *c)
{
    return c && c->key;
}

bool polytls_certificate_is_ca(const polytls_certificate *c)
{
    return c && c->info.is_ca;
}

static polytls_status get_name(const polytls_certificate *c, const ptls_span *name, const uint8_t **der,
                               size_t *len, const char *fn)
{
    if (!c || !der || !len)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    *der = name->p;
    *len = name->len;
    return POLYTLS_OK;
}

polytls_status polytls_certificate_subject(const polytls_certificate *c, const uint8_t **der, size_t *len)
{
    return get_name(c, c ? &c->info.subject : NULL, der, len, "polytls_certificate_subject");
}

polytls_status polytls_certificate_issuer(const polytls_certificate *c, const uint8_t **der, size_t *len)
{
    return get_name(c, c ? &c->info.issuer : NULL, der, len, "polytls_certificate_issuer");
}

void polytls_certificates_free(polytls_certificate **certs, size_t n)
{
    if (!certs)
        return;
    for (size_t i = 0; i < n; i++)
        polytls_certificate_unref(certs[i]);
    free(certs);
}

/* ---------------------------------------------------------- internals -- */

const ptls_cert_info *ptls_certificate_info(const polytls_certificate *c)
{
    return &c->info;
}

const uint8_t *ptls_certificate_key(const polytls_certificate *c, size_t *len)
{
    *len = c ? c->key_len : 0;
    return c ? c->key : NULL;
}

bool ptls_certificate_key_checked(const polytls_certificate *c)
{
    return c->key_checked;
}

static bool span_equal(const ptls_span *a, const ptls_span *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

bool ptls_certificate_self_issued(const polytls_certificate *c)
{
    return span_equal(&c->info.subject, &c->info.issuer);
}

bool ptls_certificate_issued_by(const polytls_certificate *c, const polytls_certificate *issuer)
{
    if (!span_equal(&c->info.issuer, &issuer->info.subject))
        return false;
    if (c->info.aki_key_id.len && issuer->info.ski.len)
        return span_equal(&c->info.aki_key_id, &issuer->info.ski);
    return true;
}

bool ptls_certificate_same(const polytls_certificate *a, const polytls_certificate *b)
{
    return a == b || (a->der_len == b->der_len && memcmp(a->der, b->der, a->der_len) == 0);
}

bool ptls_certificate_each_san(const polytls_certificate *c, uint8_t general_name_tag,
                               bool (*fn)(void *arg, const uint8_t *p, size_t len), void *arg)
{
    ptls_der d;
    ptls_der_init(&d, c->info.san.p, c->info.san.len);
    uint8_t want = PTLS_DER_CTX_PRIM(general_name_tag);
    while (!ptls_der_at_end(&d)) {
        ptls_der_tlv t;
        if (ptls_der_next(&d, &t) != POLYTLS_OK)
            return false; /* cannot happen: checked at creation */
        if (t.tag == want && fn(arg, t.val, t.len))
            return true;
    }
    return false;
}

static bool dns_entry_matches(void *host, const uint8_t *p, size_t len)
{
    return ptls_dns_pattern_matches((const char *)p, len, host);
}

bool ptls_certificate_matches_dns(const polytls_certificate *c, const char *host)
{
    return host && ptls_certificate_each_san(c, PTLS_SAN_DNS, dns_entry_matches, (void *)host);
}

typedef struct ip_want {
    const uint8_t *addr;
    size_t len;
} ip_want;

static bool ip_entry_matches(void *arg, const uint8_t *p, size_t len)
{
    const ip_want *w = arg;
    return len == w->len && memcmp(p, w->addr, len) == 0;
}

bool ptls_certificate_matches_ip(const polytls_certificate *c, const uint8_t *addr, size_t addr_len)
{
    ip_want w = {addr, addr_len};
    return addr && ptls_certificate_each_san(c, PTLS_SAN_IP, ip_entry_matches, &w);
}

/* ------------------------------------------------------------- validity -- */

polytls_status ptls_certificate_validity(const polytls_certificate *c, int64_t *not_before, int64_t *not_after)
{
    const ptls_span *v = &c->info.validity;
    ptls_der d, inner;
    ptls_der_tlv seq, nb, na;
    polytls_status s;
    int64_t before = 0, after = 0;
    ptls_der_init(&d, v->p, v->len);
    if ((s = ptls_der_expect(&d, PTLS_DER_SEQUENCE, &seq, "validity")) != POLYTLS_OK)
        return ptls_fail_context(s, "certificate");
    ptls_der_enter(&d, &seq, &inner);
    if ((s = ptls_der_next(&inner, &nb)) != POLYTLS_OK ||
        (s = ptls_der_get_time(&nb, &before, "notBefore")) != POLYTLS_OK ||
        (s = ptls_der_next(&inner, &na)) != POLYTLS_OK ||
        (s = ptls_der_get_time(&na, &after, "notAfter")) != POLYTLS_OK ||
        (s = ptls_der_finish(&inner, "validity")) != POLYTLS_OK)
        return ptls_fail_context(s, "certificate validity");
    *not_before = before;
    *not_after = after;
    return POLYTLS_OK;
}

/* id-at-commonName, 2.5.4.3 */
static const uint8_t oid_common_name[] = {0x55, 0x04, 0x03};

/* Finds the first commonName of a Name (SEQUENCE OF SET OF
   AttributeTypeAndValue); false if there is none or it does not parse. */
static bool find_common_name(const ptls_span *name, ptls_der_tlv *value)
{
    ptls_der d, rdns;
    ptls_der_tlv t;
    ptls_der_init(&d, name->p, name->len);
    if (ptls_der_next(&d, &t) != POLYTLS_OK)
        return false;
    ptls_der_enter(&d, &t, &rdns);
    while (!ptls_der_at_end(&rdns)) {
        ptls_der_tlv set;
        ptls_der atvs;
        if (ptls_der_next(&rdns, &set) != POLYTLS_OK)
            return false;
        ptls_der_enter(&rdns, &set, &atvs);
        while (!ptls_der_at_end(&atvs)) {
            ptls_der_tlv atv, type;
            ptls_der fields;
            if (ptls_der_next(&atvs, &atv) != POLYTLS_OK)
                return false;
            ptls_der_enter(&atvs, &atv, &fields);
            if (ptls_der_next(&fields, &type) != POLYTLS_OK)
                return false;
            if (ptls_der_oid_equals(&type, oid_common_name, sizeof oid_common_name))
                return ptls_der_next(&fields, value) == POLYTLS_OK;
        }
    }
    return false;
}

void ptls_certificate_subject_text(const polytls_certificate *c, char *buf, size_t len)
{
    if (len == 0)
        return;
    ptls_der_tlv cn;
    if (!find_common_name(&c->info.subject, &cn)) {
        snprintf(buf, len, "(a subject of %zu bytes without commonName)", c->info.subject.len);
        return;
    }
    size_t o = (size_t)snprintf(buf, len, "CN=");
    for (size_t i = 0; i < cn.len && o + 1 < len; i++, o++)
        buf[o] = cn.val[i] >= 0x20 && cn.val[i] < 0x7f ? (char)cn.val[i] : '?';
    if (o < len)
        buf[o] = '\0';
    else
        buf[len - 1] = '\0';
}

void ptls_time_text(int64_t t, char *buf, size_t len)
{
    /* The inverse of the civil-days count in der.c, same eras of 400 years. */
    int64_t days = (t >= 0 ? t : t - 86399) / 86400;
    int64_t secs = t - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1;
    int64_t month = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = yoe + era * 400 + (month <= 2);
    snprintf(buf, len, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld UTC", (long long)year, (long long)month,
             (long long)day, (long long)(secs / 3600), (long long)(secs / 60 % 60), (long long)(secs % 60));
}
