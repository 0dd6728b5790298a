/* certs.*: every certificate error of the seed from the PEM factories,
   certificate_new, trust stores and server certificate objects, and the key
   encodings the factories accept. (Chain replies: async.* and client_auth.*.) */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Concatenates PKI files into one malloc'd string. */
static char *cat_files(const char *a, const char *b, const char *c, size_t *len)
{
    const char *names[3] = { a, b, c };
    uint8_t *out = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; i < 3; i++) {
        if (!names[i])
            continue;
        size_t flen;
        char *f = cf_pki_read(names[i], &flen);
        cf_append(&out, &n, &cap, f, flen);
        free(f);
    }
    cf_append(&out, &n, &cap, "", 1);
    *len = n - 1;
    return (char *)out;
}

static polytls_status chain_from(const char *c1, const char *c2, const char *c3, const char *key,
                                 cf_certs *out)
{
    size_t clen, klen;
    char *certs = cat_files(c1, c2, c3, &clen);
    char *k = cf_pki_read(key, &klen);
    cf_certs r = { NULL, 0 };
    polytls_status st = polytls_chain_from_pem(certs, clen, k, klen, &r.v, &r.n);
    free(certs);
    free(k);
    if (out)
        *out = r;
    else if (st == POLYTLS_OK)
        cf_certs_free(&r);
    return st;
}

static polytls_status bag_from_text(const char *text)
{
    polytls_certificate **v = (polytls_certificate **)0x1;
    size_t n = 77;
    polytls_status st = polytls_certificates_from_pem(text, strlen(text), &v, &n);
    if (st == POLYTLS_OK)
        polytls_certificates_free(v, n);
    else {
        /* outputs are written only on success */
        assert_ptr_equal(v, (polytls_certificate **)0x1);
        assert_int_equal(n, 77);
    }
    return st;
}

/* A bag of certificates; classification and names. */
static void pem_bag(void **state)
{
    (void)state;
    cf_certs c = cf_load_certs("server-ec-chain.pem");
    assert_int_equal(c.n, 2);
    cf_assert_cert_is(c.v[0], "server-ec");
    cf_assert_cert_is(c.v[1], "inter");
    assert_false(polytls_certificate_is_ca(c.v[0]));
    assert_true(polytls_certificate_is_ca(c.v[1]));
    assert_false(polytls_certificate_has_private_key(c.v[0]));
    /* the leaf's issuer is the intermediate's subject */
    const uint8_t *issuer, *subject;
    size_t ilen, slen;
    cf_assert_status(polytls_certificate_issuer(c.v[0], &issuer, &ilen), POLYTLS_OK);
    cf_assert_status(polytls_certificate_subject(c.v[1], &subject, &slen), POLYTLS_OK);
    assert_int_equal(ilen, slen);
    assert_memory_equal(issuer, subject, slen);
    assert_int_equal(subject[0], 0x30); /* a DER SEQUENCE */
    /* references */
    polytls_certificate *extra = polytls_certificate_ref(c.v[0]);
    assert_ptr_equal(extra, c.v[0]);
    cf_certs_free(&c);
    cf_assert_cert_is(extra, "server-ec");
    polytls_certificate_unref(extra);
    polytls_certificate_unref(NULL);
    polytls_certificates_free(NULL, 0);
}

static void pem_bag_strict(void **state)
{
    (void)state;
    size_t len;
    /* a key among the certificates */
    char *with_key = cat_files("server-ec-chain.pem", "server-ec.key", NULL, &len);
    cf_assert_status(bag_from_text(with_key), POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY);
    free(with_key);
    char *key_first = cat_files("stray.key", "root.pem", NULL, &len);
    cf_assert_status(bag_from_text(key_first), POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY);
    free(key_first);

    char *root = cf_pki_read("root.pem", &len);
    cf_assert_status(bag_from_text(root), POLYTLS_OK);
    /* text between blocks */
    size_t n = len * 2 + 64;
    char *junk = cf_xmalloc(n);
    snprintf(junk, n, "%shello\n%s", root, root);
    cf_assert_status(bag_from_text(junk), POLYTLS_ERR_BAD_ENCODING);
    /* leading and trailing whitespace is fine */
    snprintf(junk, n, "\n  \n%s\n\n", root);
    cf_assert_status(bag_from_text(junk), POLYTLS_OK);
    /* a broken base64 body */
    memcpy(junk, root, len + 1);
    char *body = strchr(junk, '\n') + 1;
    body[5] = '!';
    cf_assert_status(bag_from_text(junk), POLYTLS_ERR_BAD_ENCODING);
    /* a truncated block (no END line) */
    memcpy(junk, root, len + 1);
    *strstr(junk, "-----END") = '\0';
    cf_assert_status(bag_from_text(junk), POLYTLS_ERR_BAD_ENCODING);
    free(junk);
    free(root);

    cf_assert_status(bag_from_text(""), POLYTLS_ERR_BAD_ENCODING);
    cf_assert_status(bag_from_text("   \n"), POLYTLS_ERR_BAD_ENCODING);
    cf_assert_status(bag_from_text("not pem at all"), POLYTLS_ERR_BAD_ENCODING);
    /* another PEM type */
    cf_assert_status(bag_from_text("-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n"),
                     POLYTLS_ERR_BAD_ENCODING);
    /* valid base64 that is not a certificate */
    cf_assert_status(bag_from_text("-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n"),
                     POLYTLS_ERR_BAD_ENCODING);

    /* an unreadable file: INVALID_ARGUMENT with the reason */
    polytls_certificate **v;
    size_t vn;
    cf_assert_status(polytls_certificates_from_pem_file("/nonexistent/polytls.pem", &v, &vn),
                     POLYTLS_ERR_INVALID_ARGUMENT);
    assert_true(polytls_last_error_message()[0] != '\0');
}

static void chain_factory(void **state)
{
    (void)state;
    cf_certs c = { NULL, 0 };
    /* any order in; leaf first out, carrying the key */
    cf_assert_status(chain_from("inter.pem", "server-ec.pem", NULL, "server-ec.key", &c), POLYTLS_OK);
    assert_int_equal(c.n, 2);
    cf_assert_cert_is(c.v[0], "server-ec");
    cf_assert_cert_is(c.v[1], "inter");
    assert_true(polytls_certificate_has_private_key(c.v[0]));
    assert_false(polytls_certificate_has_private_key(c.v[1]));
    cf_certs_free(&c);
    /* a leaf alone is a chain too */
    cf_assert_status(chain_from("server-ec.pem", NULL, NULL, "server-ec.key", NULL), POLYTLS_OK);
    /* PKCS#1 RSA and SEC1 EC keys */
    cf_assert_status(chain_from("server-rsa-chain.pem", NULL, NULL, "server-rsa.pkcs1.key", NULL),
                     POLYTLS_OK);
    cf_assert_status(chain_from("server-ec-chain.pem", NULL, NULL, "server-ec.sec1.key", NULL),
                     POLYTLS_OK);
}

static void chain_factory_errors(void **state)
{
    (void)state;
    cf_assert_status(chain_from("inter.pem", "root.pem", NULL, "inter.key", NULL),
                     POLYTLS_ERR_NO_LEAF);
    cf_assert_status(chain_from("server-ec.pem", "other.pem", "inter.pem", "server-ec.key", NULL),
                     POLYTLS_ERR_MORE_THAN_ONE_LEAF);
    cf_assert_status(chain_from("server-ec-chain.pem", NULL, NULL, "stray.key", NULL),
                     POLYTLS_ERR_KEY_MISMATCH);
    cf_assert_status(chain_from("server-ec-chain.pem", NULL, NULL, "server-rsa.key", NULL),
                     POLYTLS_ERR_KEY_MISMATCH);
    cf_assert_status(chain_from("server-ec-chain.pem", "client-ca1.pem", NULL, "server-ec.key", NULL),
                     POLYTLS_ERR_NO_CERTIFICATE_CHAIN);
    cf_assert_status(chain_from("server-ec-chain.pem", "server-ec.key", NULL, "server-ec.key", NULL),
                     POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY);
    /* the key file must hold exactly one key and nothing else */
    size_t clen, klen;
    char *certs = cf_pki_read("server-ec-chain.pem", &clen);
    char *two_keys = cat_files("server-ec.key", "stray.key", NULL, &klen);
    polytls_certificate **v;
    size_t n;
    cf_assert_status(polytls_chain_from_pem(certs, clen, two_keys, klen, &v, &n),
                     POLYTLS_ERR_BAD_ENCODING);
    free(two_keys);
    char *cert_as_key = cf_pki_read("root.pem", &klen);
    cf_assert_status(polytls_chain_from_pem(certs, clen, cert_as_key, klen, &v, &n),
                     POLYTLS_ERR_BAD_ENCODING);
    free(cert_as_key);
    cf_assert_status(polytls_chain_from_pem(certs, clen, "", 0, &v, &n), POLYTLS_ERR_BAD_ENCODING);
    free(certs);
    /* files */
    cf_assert_status(polytls_chain_from_pem_files("/nonexistent/a.pem", "/nonexistent/a.key", &v, &n),
                     POLYTLS_ERR_INVALID_ARGUMENT);
}

/* certificate_new from DER, with each key encoding. */
static void certificate_new_der(void **state)
{
    (void)state;
    size_t clen, klen;
    char *der = cf_pki_read("server-ec.der", &clen);
    const uint8_t *d = (const uint8_t *)der;
    polytls_certificate *c = NULL;

    cf_assert_status(polytls_certificate_new(d, clen, NULL, 0, &c), POLYTLS_OK);
    assert_false(polytls_certificate_has_private_key(c));
    const uint8_t *back;
    size_t blen;
    cf_assert_status(polytls_certificate_der(c, &back, &blen), POLYTLS_OK);
    assert_int_equal(blen, clen);
    assert_memory_equal(back, d, clen);
    polytls_certificate_unref(c);

    static const char *const good_keys[] = { "server-ec.key.der", "server-ec.sec1.key.der" };
    for (size_t i = 0; i < 2; i++) {
        char *key = cf_pki_read(good_keys[i], &klen);
        c = NULL;
        cf_assert_status(polytls_certificate_new(d, clen, (const uint8_t *)key, klen, &c), POLYTLS_OK);
        assert_true(polytls_certificate_has_private_key(c));
        polytls_certificate_unref(c);
        free(key);
    }
    char *stray = cf_pki_read("stray.key.der", &klen);
    c = (polytls_certificate *)0x1;
    cf_assert_status(polytls_certificate_new(d, clen, (const uint8_t *)stray, klen, &c),
                     POLYTLS_ERR_KEY_MISMATCH);
    assert_ptr_equal(c, (polytls_certificate *)0x1);
    /* a damaged key */
    cf_assert_status(polytls_certificate_new(d, clen, (const uint8_t *)stray, klen / 2, &c),
                     POLYTLS_ERR_BAD_ENCODING);
    free(stray);

    /* damaged certificates */
    cf_assert_status(polytls_certificate_new(d, clen - 1, NULL, 0, &c), POLYTLS_ERR_BAD_ENCODING);
    uint8_t *longer = cf_xmalloc(clen + 1);
    memcpy(longer, d, clen);
    longer[clen] = 0;
    cf_assert_status(polytls_certificate_new(longer, clen + 1, NULL, 0, &c), POLYTLS_ERR_BAD_ENCODING);
    free(longer);
    static const uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
    cf_assert_status(polytls_certificate_new(junk, sizeof junk, NULL, 0, &c), POLYTLS_ERR_BAD_ENCODING);
    free(der);

    /* RSA with a PKCS#1 key */
    der = cf_pki_read("server-rsa.der", &clen);
    char *key = cf_pki_read("server-rsa.pkcs1.key.der", &klen);
    c = NULL;
    cf_assert_status(polytls_certificate_new((const uint8_t *)der, clen, (const uint8_t *)key, klen, &c),
                     POLYTLS_OK);
    assert_true(polytls_certificate_has_private_key(c));
    polytls_certificate_unref(c);
    free(key);
    free(der);
}

static void trust_stores(void **state)
{
    (void)state;
    cf_certs roots = cf_load_certs("root.pem");
    cf_certs cas = cf_load_certs("client-ca1.pem");
    polytls_certificate *both[2] = { roots.v[0], cas.v[0] };
    polytls_trust_store *ts = NULL;
    cf_assert_status(polytls_trust_store_new(both, 2, &ts), POLYTLS_OK);
    assert_int_equal(polytls_trust_store_count(ts), 2);
    assert_ptr_equal(polytls_trust_store_ref(ts), ts);
    polytls_trust_store_unref(ts);
    polytls_trust_store_unref(ts);
    polytls_trust_store_unref(NULL);

    /* a certificate with a private key does not belong in a trust store */
    cf_certs keyed = cf_load_chain("server-ec");
    polytls_certificate *mixed[2] = { roots.v[0], keyed.v[0] };
    ts = (polytls_trust_store *)0x1;
    cf_assert_status(polytls_trust_store_new(mixed, 2, &ts), POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY);
    assert_ptr_equal(ts, (polytls_trust_store *)0x1);
    /* the intermediate alone (no key) is fine */
    cf_assert_status(polytls_trust_store_new(&keyed.v[1], 1, &ts), POLYTLS_OK);
    polytls_trust_store_unref(ts);
    cf_certs_free(&keyed);
    cf_certs_free(&roots);
    cf_certs_free(&cas);
}

/* The system store: $SSL_CERT_FILE, read by the core. A client built on it
   trusts exactly that file. */
static void system_store(void **state)
{
    (void)state;
    const char *old = getenv("SSL_CERT_FILE");
    char *saved = old ? strdup(old) : NULL;

    setenv("SSL_CERT_FILE", "/nonexistent/polytls-bundle.pem", 1);
    polytls_trust_store *ts = NULL;
    polytls_status st = polytls_trust_store_system(&ts);
    if (st == POLYTLS_OK) {
        /* loaded (and cached) by an earlier call in this process */
        polytls_trust_store_unref(ts);
    } else {
        cf_assert_status(st, POLYTLS_ERR_BAD_ENCODING);
        assert_non_null(strstr(polytls_last_error_message(), "/nonexistent/polytls-bundle.pem"));

        setenv("SSL_CERT_FILE", cf_pki_path("root.pem"), 1);
        cf_assert_status(polytls_trust_store_system(&ts), POLYTLS_OK);
        assert_int_equal(polytls_trust_store_count(ts), 1);
        polytls_trust_store_unref(ts);

        /* a client with trust_root NULL uses it */
        cf_pair p;
        cf_pair_init(&p);
        cf_setup s = { .no_client = true };
        cf_pair_setup(&p, &s);
        cf_assert_status(polytls_client_new(cf_backend, "server.test", NULL, NULL, &p.client),
                         POLYTLS_OK);
        cf_assert_status(cf_start_client(&p, p.client), POLYTLS_OK);
        cf_handshake(&p);
        cf_pair_free(&p);
    }
    if (saved) {
        setenv("SSL_CERT_FILE", saved, 1);
        free(saved);
    } else {
        unsetenv("SSL_CERT_FILE");
    }
}

/* ServerCertificateChain checks at once. */
static void server_chain_errors(void **state)
{
    (void)state;
    cf_certs good = cf_load_chain("server-ec");
    cf_certs nokey = cf_load_certs("server-ec-chain.pem");
    cf_certs other = cf_load_chain("other");
    cf_certs ca1 = cf_load_certs("client-ca1.pem");
    polytls_server_certificates *sc = NULL;

    cf_assert_status(polytls_server_chain_new(good.v, good.n, &sc), POLYTLS_OK);
    assert_ptr_equal(polytls_server_certificates_ref(sc), sc);
    polytls_server_certificates_unref(sc);
    polytls_server_certificates_unref(sc);
    polytls_server_certificates_unref(NULL);
    /* reversed order is fine */
    polytls_certificate *rev[2] = { good.v[1], good.v[0] };
    cf_assert_status(polytls_server_chain_new(rev, 2, &sc), POLYTLS_OK);
    polytls_server_certificates_unref(sc);

    sc = (polytls_server_certificates *)0x1;
    cf_assert_status(polytls_server_chain_new(&good.v[1], 1, &sc), POLYTLS_ERR_NO_LEAF);
    cf_assert_status(polytls_server_chain_new(nokey.v, nokey.n, &sc),
                     POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY);
    polytls_certificate *two[3] = { good.v[0], other.v[0], good.v[1] };
    cf_assert_status(polytls_server_chain_new(two, 3, &sc), POLYTLS_ERR_MORE_THAN_ONE_LEAF);
    polytls_certificate *stray[3] = { good.v[0], good.v[1], ca1.v[0] };
    cf_assert_status(polytls_server_chain_new(stray, 3, &sc), POLYTLS_ERR_NO_CERTIFICATE_CHAIN);
    assert_ptr_equal(sc, (polytls_server_certificates *)0x1);

    /* SNI sets: every leaf with its key, no stray CA, a valid default */
    polytls_certificate *set[3] = { good.v[0], other.v[0], good.v[1] };
    cf_assert_status(polytls_sni_certificates_new(set, 3, good.v, good.n, &sc), POLYTLS_OK);
    polytls_server_certificates_unref(sc);
    cf_assert_status(polytls_sni_certificates_new(set, 3, NULL, 0, &sc), POLYTLS_OK);
    polytls_server_certificates_unref(sc);
    sc = (polytls_server_certificates *)0x1;
    polytls_certificate *set_nokey[2] = { nokey.v[0], nokey.v[1] };
    cf_assert_status(polytls_sni_certificates_new(set_nokey, 2, NULL, 0, &sc),
                     POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY);
    cf_assert_status(polytls_sni_certificates_new(&good.v[1], 1, NULL, 0, &sc), POLYTLS_ERR_NO_LEAF);
    polytls_certificate *set_stray[3] = { good.v[0], good.v[1], ca1.v[0] };
    cf_assert_status(polytls_sni_certificates_new(set_stray, 3, NULL, 0, &sc),
                     POLYTLS_ERR_NO_CERTIFICATE_CHAIN);
    cf_assert_status(polytls_sni_certificates_new(set, 3, two, 3, &sc), POLYTLS_ERR_MORE_THAN_ONE_LEAF);
    cf_assert_status(polytls_sni_certificates_new(set, 3, nokey.v, nokey.n, &sc),
                     POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY);
    assert_ptr_equal(sc, (polytls_server_certificates *)0x1);

    cf_certs_free(&good);
    cf_certs_free(&nokey);
    cf_certs_free(&other);
    cf_certs_free(&ca1);
}

/* The key encodings work end to end on the backend. */
static void key_encodings_handshake(void **state)
{
    (void)state;
    static const struct {
        const char *chain, *key, *host;
    } cases[] = {
        { "server-ec-chain.pem", "server-ec.sec1.key", "server.test" },
        { "server-rsa-chain.pem", "server-rsa.pkcs1.key", "rsa.test" },
    };
    for (size_t i = 0; i < 2; i++) {
        for (int v = 0; v < 2; v++) {
            cf_certs c = cf_load_chain_files(cases[i].chain, cases[i].key);
            polytls_server_certificates *sc = NULL;
            cf_assert_status(polytls_server_chain_new(c.v, c.n, &sc), POLYTLS_OK);
            cf_certs_free(&c);
            cf_pair p;
            cf_pair_init(&p);
            cf_setup s = { .server_certs = sc, .hostname = cases[i].host, .client_max = v ? 0x0303 : 0 };
            cf_pair_setup(&p, &s);
            polytls_server_certificates_unref(sc);
            cf_handshake(&p);
            cf_pair_free(&p);
        }
    }
}

static const struct CMUnitTest tests[] = {
    CF_TEST(pem_bag, "certs.pem_bag"),
    CF_TEST(pem_bag_strict, "certs.pem_bag_strict"),
    CF_TEST(chain_factory, "certs.chain_factory"),
    CF_TEST(chain_factory_errors, "certs.chain_factory_errors"),
    CF_TEST(certificate_new_der, "certs.certificate_new_der"),
    CF_TEST(trust_stores, "certs.trust_stores"),
    CF_TEST(system_store, "certs.system_store"),
    CF_TEST(server_chain_errors, "certs.server_chain_errors"),
    CF_TEST(key_encodings_handshake, "certs.key_encodings_handshake"),
};
CF_GROUP(cf_group_certificates, "certs", tests);
