/* Private key import. The core never does cryptography: a key "matches" a
   certificate when its public half, as stored in the key file, equals the
   certificate's SubjectPublicKeyInfo. Where the key file does not carry the
   public half (Ed25519 without the v2 publicKey field, SEC1 without
   publicKey) the check is left to the backend, and the caller is told. */
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "der.h"
#include "private_key.h"
#include "status.h"

/* OBJECT IDENTIFIER contents. */
static const uint8_t OID_RSA[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
static const uint8_t OID_RSA_PSS[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a};
static const uint8_t OID_EC[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};

static bool span_is(const ptls_span *s, const uint8_t *oid, size_t len)
{
    return s->len == len && memcmp(s->p, oid, len) == 0;
}

static bool span_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* ---------------------------------------------------------------- RSA -- */

/* The public half of an RSAPrivateKey: modulus and public exponent. */
typedef struct rsa_public {
    ptls_der_tlv n, e;
} rsa_public;

static polytls_status parse_rsa_private(const uint8_t *p, size_t len, rsa_public *pub)
{
    ptls_der d, k;
    ptls_der_tlv seq, t;
    ptls_der_init(&d, p, len);
    polytls_status s = ptls_der_expect(&d, PTLS_DER_SEQUENCE, &seq, "RSAPrivateKey");
    if (s == POLYTLS_OK)
        s = ptls_der_finish(&d, "RSA private key");
    if (s != POLYTLS_OK)
        return s;
    ptls_der_enter(&d, &seq, &k);
    long version;
    if ((s = ptls_der_expect(&k, PTLS_DER_INTEGER, &t, "RSAPrivateKey version")) != POLYTLS_OK ||
        (s = ptls_der_get_small_uint(&t, &version, "RSAPrivateKey version")) != POLYTLS_OK)
        return s;
    if (version != 0 && version != 1)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "RSA private key: unknown version %ld", version);
    static const char *const names[] = {"modulus", "publicExponent", "privateExponent", "prime1",
                                        "prime2", "exponent1", "exponent2", "coefficient"};
    for (size_t i = 0; i < 8; i++) {
        if ((s = ptls_der_expect(&k, PTLS_DER_INTEGER, &t, names[i])) != POLYTLS_OK ||
            (s = ptls_der_check_integer(&t, names[i])) != POLYTLS_OK)
            return s;
        if (i == 0)
            pub->n = t;
        else if (i == 1)
            pub->e = t;
    }
    /* Version 1 is multi-prime: otherPrimeInfos follows. */
    if (version == 1 && (s = ptls_der_expect(&k, PTLS_DER_SEQUENCE, &t, "otherPrimeInfos")) != POLYTLS_OK)
        return s;
    return ptls_der_finish(&k, "RSAPrivateKey");
}

static polytls_status check_rsa_match(const rsa_public *pub, const ptls_cert_info *cert)
{
    /* The certificate's subjectPublicKey holds RSAPublicKey ::= SEQUENCE { n, e }. */
    ptls_der d, k;
    ptls_der_tlv seq, n, e;
    ptls_der_init(&d, cert->spki_key.p, cert->spki_key.len);
    polytls_status s;
    if ((s = ptls_der_expect(&d, PTLS_DER_SEQUENCE, &seq, "RSAPublicKey")) != POLYTLS_OK ||
        (s = ptls_der_finish(&d, "RSAPublicKey")) != POLYTLS_OK)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "certificate: RSA public key does not parse");
    ptls_der_enter(&d, &seq, &k);
    if (ptls_der_expect(&k, PTLS_DER_INTEGER, &n, "modulus") != POLYTLS_OK ||
        ptls_der_expect(&k, PTLS_DER_INTEGER, &e, "publicExponent") != POLYTLS_OK ||
        ptls_der_finish(&k, "RSAPublicKey") != POLYTLS_OK)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "certificate: RSA public key does not parse");
    if (!span_eq(n.val, n.len, pub->n.val, pub->n.len) || !span_eq(e.val, e.len, pub->e.val, pub->e.len))
        return ptls_fail(POLYTLS_ERR_KEY_MISMATCH,
                         "the RSA private key does not belong to the certificate (modulus or exponent differ)");
    return POLYTLS_OK;
}

/* ----------------------------------------------------------------- EC -- */

typedef struct ec_private {
    ptls_der_tlv priv;  /* privateKey OCTET STRING (whole element used when re-encoding) */
    ptls_der_tlv curve; /* namedCurve OID element; tag 0 when absent */
    ptls_der_tlv pub_field; /* [1] element; tag 0 when absent */
    const uint8_t *pub; /* public point bytes; NULL when absent */
    size_t pub_len;
} ec_private;

static polytls_status parse_ec_private(const uint8_t *p, size_t len, ec_private *ec)
{
    memset(ec, 0, sizeof *ec);
    ptls_der d, k;
    ptls_der_tlv seq, t;
    ptls_der_init(&d, p, len);
    polytls_status s = ptls_der_expect(&d, PTLS_DER_SEQUENCE, &seq, "ECPrivateKey");
    if (s == POLYTLS_OK)
        s = ptls_der_finish(&d, "EC private key");
    if (s != POLYTLS_OK)
        return s;
    ptls_der_enter(&d, &seq, &k);
    long version;
    if ((s = ptls_der_expect(&k, PTLS_DER_INTEGER, &t, "ECPrivateKey version")) != POLYTLS_OK ||
        (s = ptls_der_get_small_uint(&t, &version, "ECPrivateKey version")) != POLYTLS_OK)
        return s;
    if (version != 1)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "EC private key: version %ld (expected 1)", version);
    if ((s = ptls_der_expect(&k, PTLS_DER_OCTET_STRING, &ec->priv, "EC privateKey")) != POLYTLS_OK)
        return s;
    if (ec->priv.len == 0)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "EC private key: empty privateKey");
    if (ptls_der_peek(&k, PTLS_DER_CTX_CONS(0))) {
        ptls_der params;
        ptls_der_tlv wrapper;
        if ((s = ptls_der_next(&k, &wrapper)) != POLYTLS_OK)
            return s;
        ptls_der_enter(&k, &wrapper, &params);
        if (!ptls_der_peek(&params, PTLS_DER_OID))
            return ptls_fail(POLYTLS_ERR_UNSUPPORTED,
                             "EC private key: explicit curve parameters are not supported (use a named curve)");
        if ((s = ptls_der_next(&params, &ec->curve)) != POLYTLS_OK ||
            (s = ptls_der_finish(&params, "ECParameters")) != POLYTLS_OK)
            return s;
    }
    if (ptls_der_peek(&k, PTLS_DER_CTX_CONS(1))) {
        ptls_der pubd;
        ptls_der_tlv bits;
        if ((s = ptls_der_next(&k, &ec->pub_field)) != POLYTLS_OK)
            return s;
        ptls_der_enter(&k, &ec->pub_field, &pubd);
        if ((s = ptls_der_expect(&pubd, PTLS_DER_BIT_STRING, &bits, "EC publicKey")) != POLYTLS_OK ||
            (s = ptls_der_finish(&pubd, "EC publicKey")) != POLYTLS_OK ||
            (s = ptls_der_get_bit_string(&bits, &ec->pub, &ec->pub_len, "EC publicKey")) != POLYTLS_OK)
            return s;
    }
    return ptls_der_finish(&k, "ECPrivateKey");
}

/* Checks the curve (if the key names one) and the point (if the key has
   one). *checked is true only when the point was compared. */
static polytls_status check_ec_match(const ec_private *ec, const ptls_span *key_curve, const ptls_cert_info *cert,
                                     bool *checked)
{
    ptls_der d;
    ptls_der_tlv cert_curve;
    ptls_der_init(&d, cert->spki_params.p, cert->spki_params.len);
    if (ptls_der_expect(&d, PTLS_DER_OID, &cert_curve, "namedCurve") != POLYTLS_OK)
        return ptls_fail(POLYTLS_ERR_UNSUPPORTED,
                         "certificate: the EC public key does not use a named curve (not supported)");
    if (key_curve->len && !span_eq(key_curve->p, key_curve->len, cert_curve.tlv, cert_curve.tlv_len))
        return ptls_fail(POLYTLS_ERR_KEY_MISMATCH,
                         "the EC private key is on a different curve than the certificate's key");
    if (!ec->pub) {
        *checked = false;
        return POLYTLS_OK;
    }
    if (!span_eq(ec->pub, ec->pub_len, cert->spki_key.p, cert->spki_key.len))
        return ptls_fail(POLYTLS_ERR_KEY_MISMATCH,
                         "the EC private key does not belong to the certificate (public points differ)");
    *checked = true;
    return POLYTLS_OK;
}

/* ------------------------------------------------------------ writing -- */

/* A writer into a buffer whose exact size was computed beforehand, so key
   bytes are never left behind by a realloc. */
typedef struct writer {
    uint8_t *p;
    size_t pos;
} writer;

static void put_header(writer *w, uint8_t tag, size_t len)
{
    w->pos += ptls_der_put_header(w->p + w->pos, tag, len);
}

static void put_bytes(writer *w, const uint8_t *b, size_t len)
{
    memcpy(w->p + w->pos, b, len);
    w->pos += len;
}

static const uint8_t VERSION_0[] = {0x02, 0x01, 0x00};
static const uint8_t VERSION_1[] = {0x02, 0x01, 0x01};
static const uint8_t DER_NULL[] = {0x05, 0x00};

/* PrivateKeyInfo { version 0, AlgorithmIdentifier { alg_oid, params }, OCTET STRING { inner } }
   where inner is given as up to three concatenated pieces. */
static polytls_status wrap_pkcs8(const uint8_t *alg_oid, size_t alg_oid_len, const uint8_t *params,
                                 size_t params_len, const uint8_t *const *inner, const size_t *inner_len,
                                 size_t n_inner, bool inner_is_sequence, uint8_t **out, size_t *out_len)
{
    size_t oid_tlv = ptls_der_tlv_size(alg_oid_len);
    size_t alg_seq = ptls_der_tlv_size(oid_tlv + params_len);
    size_t inner_body = 0;
    for (size_t i = 0; i < n_inner; i++)
        inner_body += inner_len[i];
    size_t inner_total = inner_is_sequence ? ptls_der_tlv_size(inner_body) : inner_body;
    size_t octets = ptls_der_tlv_size(inner_total);
    size_t body = sizeof VERSION_0 + alg_seq + octets;
    size_t total = ptls_der_tlv_size(body);
    if (!oid_tlv || !alg_seq || !inner_total || !octets || !total)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "private key too large");
    writer w = {malloc(total), 0};
    if (!w.p)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory normalising a private key");
    put_header(&w, PTLS_DER_SEQUENCE, body);
    put_bytes(&w, VERSION_0, sizeof VERSION_0);
    put_header(&w, PTLS_DER_SEQUENCE, oid_tlv + params_len);
    put_header(&w, PTLS_DER_OID, alg_oid_len);
    put_bytes(&w, alg_oid, alg_oid_len);
    put_bytes(&w, params, params_len);
    put_header(&w, PTLS_DER_OCTET_STRING, inner_total);
    if (inner_is_sequence)
        put_header(&w, PTLS_DER_SEQUENCE, inner_body);
    for (size_t i = 0; i < n_inner; i++)
        put_bytes(&w, inner[i], inner_len[i]);
    *out = w.p;
    *out_len = w.pos;
    return POLYTLS_OK;
}

static polytls_status copy_out(const uint8_t *key, size_t key_len, uint8_t **out, size_t *out_len)
{
    uint8_t *p = malloc(key_len);
    if (!p)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory copying a private key");
    memcpy(p, key, key_len);
    *out = p;
    *out_len = key_len;
    return POLYTLS_OK;
}

/* ------------------------------------------------------------ formats -- */

static polytls_status require_alg(const ptls_cert_info *cert, const uint8_t *oid, size_t len, const char *kind)
{
    if (!span_is(&cert->spki_alg_oid, oid, len))
        return ptls_fail(POLYTLS_ERR_KEY_MISMATCH, "the private key is %s but the certificate's public key is not",
                         kind);
    return POLYTLS_OK;
}

static polytls_status import_pkcs1(const uint8_t *key, size_t key_len, const ptls_cert_info *cert,
                                   uint8_t **out, size_t *out_len, bool *checked)
{
    rsa_public pub;
    polytls_status s = parse_rsa_private(key, key_len, &pub);
    if (s == POLYTLS_OK)
        s = require_alg(cert, OID_RSA, sizeof OID_RSA, "an RSA key");
    if (s == POLYTLS_OK)
        s = check_rsa_match(&pub, cert);
    if (s != POLYTLS_OK)
        return s;
    const uint8_t *pieces[] = {key};
    size_t lens[] = {key_len};
    s = wrap_pkcs8(OID_RSA, sizeof OID_RSA, DER_NULL, sizeof DER_NULL, pieces, lens, 1, false, out, out_len);
    if (s == POLYTLS_OK)
        *checked = true;
    return s;
}

static polytls_status import_sec1(const uint8_t *key, size_t key_len, const ptls_cert_info *cert,
                                  uint8_t **out, size_t *out_len, bool *checked)
{
    ec_private ec;
    polytls_status s = parse_ec_private(key, key_len, &ec);
    if (s == POLYTLS_OK)
        s = require_alg(cert, OID_EC, sizeof OID_EC, "an EC key");
    ptls_span curve = {ec.curve.tag ? ec.curve.tlv : NULL, ec.curve.tag ? ec.curve.tlv_len : 0};
    bool ok_checked = false;
    if (s == POLYTLS_OK)
        s = check_ec_match(&ec, &curve, cert, &ok_checked);
    if (s != POLYTLS_OK)
        return s;
    /* The curve goes in the PKCS#8 AlgorithmIdentifier; the inner
       ECPrivateKey is written without its own parameters, as OpenSSL and
       GnuTLS write PKCS#8, so that no library has two curves to reconcile. */
    const uint8_t *pieces[3] = {VERSION_1, ec.priv.tlv, ec.pub_field.tlv};
    size_t lens[3] = {sizeof VERSION_1, ec.priv.tlv_len, ec.pub_field.tag ? ec.pub_field.tlv_len : 0};
    s = wrap_pkcs8(OID_EC, sizeof OID_EC, cert->spki_params.p, cert->spki_params.len, pieces, lens,
                   ec.pub_field.tag ? 3 : 2, true, out, out_len);
    if (s == POLYTLS_OK)
        *checked = ok_checked;
    return s;
}

static polytls_status import_pkcs8(ptls_der *k, const uint8_t *key, size_t key_len, long version,
                                   const ptls_cert_info *cert, uint8_t **out, size_t *out_len, bool *checked)
{
    if (version != 0 && version != 1)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "PKCS#8 private key: unknown version %ld", version);
    ptls_der_tlv alg, oid, params = {0}, priv, t;
    ptls_der a;
    polytls_status s;
    if ((s = ptls_der_expect(k, PTLS_DER_SEQUENCE, &alg, "privateKeyAlgorithm")) != POLYTLS_OK)
        return s;
    ptls_der_enter(k, &alg, &a);
    if ((s = ptls_der_expect(&a, PTLS_DER_OID, &oid, "algorithm")) != POLYTLS_OK)
        return s;
    if (!ptls_der_at_end(&a) && (s = ptls_der_next(&a, &params)) != POLYTLS_OK)
        return s;
    if ((s = ptls_der_finish(&a, "privateKeyAlgorithm")) != POLYTLS_OK ||
        (s = ptls_der_expect(k, PTLS_DER_OCTET_STRING, &priv, "privateKey")) != POLYTLS_OK)
        return s;
    if (ptls_der_peek(k, PTLS_DER_CTX_CONS(0)) && (s = ptls_der_next(k, &t)) != POLYTLS_OK)
        return s; /* attributes: ignored */
    const uint8_t *pub = NULL;
    size_t pub_len = 0;
    if (ptls_der_peek(k, PTLS_DER_CTX_PRIM(1))) {
        /* OneAsymmetricKey (RFC 5958) publicKey [1] IMPLICIT BIT STRING. */
        if (version != 1)
            return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "PKCS#8 private key: publicKey field in a version 0 key");
        if ((s = ptls_der_next(k, &t)) != POLYTLS_OK)
            return s;
        if (t.len == 0 || t.val[0] != 0)
            return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "PKCS#8 private key: malformed publicKey");
        pub = t.val + 1;
        pub_len = t.len - 1;
    }
    if ((s = ptls_der_finish(k, "PrivateKeyInfo")) != POLYTLS_OK)
        return s;

    if (!span_eq(oid.val, oid.len, cert->spki_alg_oid.p, cert->spki_alg_oid.len))
        return ptls_fail(POLYTLS_ERR_KEY_MISMATCH,
                         "the private key's algorithm differs from the certificate's public key algorithm");
    bool ok_checked = false;
    if (ptls_der_oid_equals(&oid, OID_RSA, sizeof OID_RSA) ||
        ptls_der_oid_equals(&oid, OID_RSA_PSS, sizeof OID_RSA_PSS)) {
        rsa_public rp;
        if ((s = parse_rsa_private(priv.val, priv.len, &rp)) != POLYTLS_OK ||
            (s = check_rsa_match(&rp, cert)) != POLYTLS_OK)
            return s;
        ok_checked = true;
    } else if (ptls_der_oid_equals(&oid, OID_EC, sizeof OID_EC)) {
        if (params.tag != PTLS_DER_OID)
            return ptls_fail(POLYTLS_ERR_UNSUPPORTED,
                             "PKCS#8 EC private key without a named curve is not supported");
        ec_private ec;
        if ((s = parse_ec_private(priv.val, priv.len, &ec)) != POLYTLS_OK)
            return s;
        if (ec.curve.tag && !span_eq(ec.curve.tlv, ec.curve.tlv_len, params.tlv, params.tlv_len))
            return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "PKCS#8 EC private key names two different curves");
        ptls_span curve = {params.tlv, params.tlv_len};
        if ((s = check_ec_match(&ec, &curve, cert, &ok_checked)) != POLYTLS_OK)
            return s;
    } else if (pub) {
        /* Ed25519, Ed448 and others: the public key is the raw BIT STRING
           contents in both places. */
        if (!span_eq(pub, pub_len, cert->spki_key.p, cert->spki_key.len))
            return ptls_fail(POLYTLS_ERR_KEY_MISMATCH,
                             "the private key does not belong to the certificate (public keys differ)");
        ok_checked = true;
    }
    s = copy_out(key, key_len, out, out_len);
    if (s == POLYTLS_OK)
        *checked = ok_checked;
    return s;
}

polytls_status ptls_private_key_import(const uint8_t *key, size_t key_len, const ptls_cert_info *cert,
                                       uint8_t **pkcs8, size_t *pkcs8_len, bool *checked)
{
    polytls_status s = ptls_der_check_tree(key, key_len, PTLS_DER_MAX_DEPTH);
    if (s != POLYTLS_OK)
        return ptls_fail_context(s, "private key");
    ptls_der d, k;
    ptls_der_tlv seq, first;
    ptls_der_init(&d, key, key_len);
    if ((s = ptls_der_expect(&d, PTLS_DER_SEQUENCE, &seq, "private key SEQUENCE")) != POLYTLS_OK)
        return s;
    ptls_der_enter(&d, &seq, &k);
    if ((s = ptls_der_next(&k, &first)) != POLYTLS_OK)
        return s;
    if (first.tag == PTLS_DER_SEQUENCE)
        return ptls_fail(POLYTLS_ERR_UNSUPPORTED,
                         "encrypted private keys (PKCS#8 EncryptedPrivateKeyInfo) are not supported: decrypt the key first");
    long version;
    if ((s = ptls_der_get_small_uint(&first, &version, "private key version")) != POLYTLS_OK)
        return s;
    if (ptls_der_peek(&k, PTLS_DER_SEQUENCE))
        return import_pkcs8(&k, key, key_len, version, cert, pkcs8, pkcs8_len, checked);
    if (ptls_der_peek(&k, PTLS_DER_INTEGER))
        return import_pkcs1(key, key_len, cert, pkcs8, pkcs8_len, checked);
    if (ptls_der_peek(&k, PTLS_DER_OCTET_STRING))
        return import_sec1(key, key_len, cert, pkcs8, pkcs8_len, checked);
    return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "private key: not PKCS#8, PKCS#1 (RSA) or SEC1 (EC)");
}
