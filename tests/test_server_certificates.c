/* Unit tests of ServerCertificates (user tables, the single chain and the
   SNI set) and of the client certificate store. The built-in kinds are
   checked through ptls_server_certificates_builtin_chain, which is exactly
   what their selection callback sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "certificate.h"
#include "server_certificates.h"

typedef struct fixture {
    polytls_certificate *root, *inter, *leaf1, *leaf2, *leafec, *leaf1_nokey, *other;
} fixture;

static polytls_certificate *load(const char *cert, const char *key)
{
    polytls_certificate **c;
    size_t n;
    if (key)
        assert_int_equal(polytls_chain_from_pem_files(cert, key, &c, &n), POLYTLS_OK);
    else
        assert_int_equal(polytls_certificates_from_pem_file(cert, &c, &n), POLYTLS_OK);
    polytls_certificate *out = c[0];
    free(c);
    return out;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->root = load("data/root.pem", NULL);
    f->inter = load("data/int.pem", NULL);
    f->leaf1 = load("data/leaf1.pem", "data/leaf1.key");
    f->leaf2 = load("data/leaf2.pem", "data/leaf2.key");
    f->leafec = load("data/leafec.pem", "data/leafec.key");
    f->leaf1_nokey = load("data/leaf1.pem", NULL);
    f->other = load("data/other.pem", NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    polytls_certificate *all[] = {f->root, f->inter, f->leaf1, f->leaf2, f->leafec, f->leaf1_nokey, f->other};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        polytls_certificate_unref(all[i]);
    free(f);
    return 0;
}

/* ---------------------------------------------------------- user kind -- */

typedef struct user_state {
    int calls, destroyed;
    const char *last_name;
    polytls_chain_reply *last_reply;
} user_state;

static void on_name(void *user, const char *name, polytls_chain_reply *reply)
{
    user_state *u = user;
    u->calls++;
    u->last_name = name;
    u->last_reply = reply;
}

static void on_destroy(void *user)
{
    ((user_state *)user)->destroyed++;
}

static void test_user_kind(void **state)
{
    (void)state;
    user_state u = {0};
    polytls_server_certificates_callbacks cb = {sizeof cb, on_name, on_destroy};
    polytls_server_certificates *sc = NULL;
    assert_int_equal(polytls_server_certificates_new(&cb, &u, &sc), POLYTLS_OK);
    ptls_server_certificates_select(sc, "www.example.com", (polytls_chain_reply *)&u);
    assert_int_equal(u.calls, 1);
    assert_string_equal(u.last_name, "www.example.com");
    assert_ptr_equal(u.last_reply, (polytls_chain_reply *)&u);
    ptls_server_certificates_select(sc, NULL, NULL);
    assert_null(u.last_name);
    polytls_certificate *const *chain;
    size_t n;
    assert_false(ptls_server_certificates_builtin_chain(sc, "x", &chain, &n));
    assert_ptr_equal(polytls_server_certificates_ref(sc), sc);
    polytls_server_certificates_unref(sc);
    assert_int_equal(u.destroyed, 0);
    polytls_server_certificates_unref(sc);
    assert_int_equal(u.destroyed, 1); /* destroy(user) on the last unref, once */
    polytls_server_certificates_unref(NULL);

    /* A table from an older caller: only size + the first callback. */
    polytls_server_certificates_callbacks old = {offsetof(polytls_server_certificates_callbacks, destroy), on_name,
                                                 on_destroy};
    assert_int_equal(polytls_server_certificates_new(&old, &u, &sc), POLYTLS_OK);
    polytls_server_certificates_unref(sc);
    assert_int_equal(u.destroyed, 1); /* destroy lies beyond its size: not used */

    polytls_server_certificates *none = (polytls_server_certificates *)0x1;
    polytls_server_certificates_callbacks small = {sizeof(size_t), on_name, NULL};
    assert_int_equal(polytls_server_certificates_new(&small, &u, &none), POLYTLS_ERR_INVALID_ARGUMENT);
    polytls_server_certificates_callbacks missing = {sizeof missing, NULL, NULL};
    assert_int_equal(polytls_server_certificates_new(&missing, &u, &none), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_server_certificates_new(NULL, &u, &none), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_server_certificates_new(&cb, &u, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(none, (polytls_server_certificates *)0x1);
}

/* ------------------------------------------------------- single chain -- */

static void expect_chain(polytls_server_certificates *sc, const char *name, polytls_certificate *const *want,
                         size_t n_want)
{
    polytls_certificate *const *chain = NULL;
    size_t n = 99;
    assert_true(ptls_server_certificates_builtin_chain(sc, name, &chain, &n));
    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(chain[i], want[i]);
}

static void test_single_chain(void **state)
{
    fixture *f = *state;
    polytls_certificate *in[] = {f->root, f->inter, f->leaf1};
    polytls_certificate *ordered[] = {f->leaf1, f->inter, f->root};
    polytls_server_certificates *sc;
    assert_int_equal(polytls_server_chain_new(in, 3, &sc), POLYTLS_OK);
    expect_chain(sc, NULL, ordered, 3);
    expect_chain(sc, "anything.example", ordered, 3); /* every client gets it */
    polytls_server_certificates_unref(sc);

    polytls_server_certificates *none = (polytls_server_certificates *)0x1;
    polytls_certificate *no_key[] = {f->leaf1_nokey, f->inter};
    assert_int_equal(polytls_server_chain_new(no_key, 2, &none), POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY);
    polytls_certificate *no_leaf[] = {f->inter, f->root};
    assert_int_equal(polytls_server_chain_new(no_leaf, 2, &none), POLYTLS_ERR_NO_LEAF);
    polytls_certificate *two[] = {f->leaf1, f->leaf2};
    assert_int_equal(polytls_server_chain_new(two, 2, &none), POLYTLS_ERR_MORE_THAN_ONE_LEAF);
    polytls_certificate *stray[] = {f->leaf1, f->other};
    assert_int_equal(polytls_server_chain_new(stray, 2, &none), POLYTLS_ERR_NO_CERTIFICATE_CHAIN);
    assert_int_equal(polytls_server_chain_new(in, 0, &none), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_server_chain_new(in, 3, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(none, (polytls_server_certificates *)0x1);
}

/* ---------------------------------------------------------------- SNI -- */

static void test_sni(void **state)
{
    fixture *f = *state;
    /* leaf1: www.example.com, *.example.org; leaf2: api.example.com,
       *.example.org; leafec: ec.example.net. CAs shared. */
    polytls_certificate *certs[] = {f->inter, f->leaf1, f->root, f->leaf2, f->leafec};
    polytls_certificate *def[] = {f->leafec, f->root};
    polytls_certificate *c1[] = {f->leaf1, f->inter, f->root};
    polytls_certificate *c2[] = {f->leaf2, f->inter, f->root};
    polytls_certificate *cec[] = {f->leafec, f->root};
    polytls_server_certificates *sc;
    assert_int_equal(polytls_sni_certificates_new(certs, 5, def, 2, &sc), POLYTLS_OK);
    expect_chain(sc, "www.example.com", c1, 3);
    expect_chain(sc, "WWW.EXAMPLE.COM", c1, 3);
    expect_chain(sc, "api.example.com", c2, 3);
    expect_chain(sc, "ec.example.net", cec, 2);
    expect_chain(sc, "x.example.org", c1, 3); /* both match: the first leaf given wins */
    expect_chain(sc, "example.org", cec, 2);   /* wildcard needs a label: default */
    expect_chain(sc, "a.b.example.org", cec, 2);
    expect_chain(sc, "unknown.test", cec, 2);
    expect_chain(sc, "192.0.2.7", cec, 2);     /* IP literals never match */
    expect_chain(sc, NULL, cec, 2);            /* no SNI: default */
    polytls_server_certificates_unref(sc);

    /* Leaf order decides: leaf2 first now. */
    polytls_certificate *swapped[] = {f->leaf2, f->leaf1, f->inter, f->root};
    assert_int_equal(polytls_sni_certificates_new(swapped, 4, NULL, 0, &sc), POLYTLS_OK);
    expect_chain(sc, "x.example.org", c2, 3);
    expect_chain(sc, "unknown.test", NULL, 0); /* empty default: no chain */
    expect_chain(sc, NULL, NULL, 0);
    polytls_server_certificates_unref(sc);

    polytls_server_certificates *none = (polytls_server_certificates *)0x1;
    polytls_certificate *nokey[] = {f->leaf1, f->leaf1_nokey, f->inter};
    assert_int_equal(polytls_sni_certificates_new(nokey, 3, NULL, 0, &none), POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY);
    polytls_certificate *cas[] = {f->inter, f->root};
    assert_int_equal(polytls_sni_certificates_new(cas, 2, NULL, 0, &none), POLYTLS_ERR_NO_LEAF);
    polytls_certificate *stray[] = {f->leafec, f->root, f->other};
    assert_int_equal(polytls_sni_certificates_new(stray, 3, NULL, 0, &none), POLYTLS_ERR_NO_CERTIFICATE_CHAIN);
    polytls_certificate *orphan_ca[] = {f->leafec, f->root, f->inter}; /* inter is on no leaf's path */
    assert_int_equal(polytls_sni_certificates_new(orphan_ca, 3, NULL, 0, &none), POLYTLS_ERR_NO_CERTIFICATE_CHAIN);
    polytls_certificate *bad_default[] = {f->leaf1_nokey};
    assert_int_equal(polytls_sni_certificates_new(certs, 5, bad_default, 1, &none),
                     POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY);
    assert_non_null(strstr(polytls_last_error_message(), "default"));
    polytls_certificate *with_null[] = {f->leaf1, NULL};
    assert_int_equal(polytls_sni_certificates_new(with_null, 2, NULL, 0, &none), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_sni_certificates_new(certs, 5, NULL, 1, &none), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_sni_certificates_new(certs, 0, NULL, 0, &none), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(none, (polytls_server_certificates *)0x1);
}

/* ------------------------------------------------- client cert store -- */

typedef struct client_state {
    int roots_calls, default_calls, destroyed;
    size_t n_roots;
} client_state;

static void on_roots(void *user, const uint8_t *const *roots, const size_t *lens, size_t n, polytls_chain_reply *r)
{
    client_state *s = user;
    (void)r;
    assert_non_null(roots);
    assert_non_null(lens);
    s->roots_calls++;
    s->n_roots = n;
}

static void on_default(void *user, polytls_chain_reply *r)
{
    (void)r;
    ((client_state *)user)->default_calls++;
}

static void on_client_destroy(void *user)
{
    ((client_state *)user)->destroyed++;
}

static void test_client_store(void **state)
{
    (void)state;
    client_state s = {0};
    polytls_client_cert_store_callbacks cb = {sizeof cb, on_roots, on_default, on_client_destroy};
    polytls_client_cert_store *st;
    assert_int_equal(polytls_client_cert_store_new(&cb, &s, &st), POLYTLS_OK);
    const uint8_t name[] = {0x30, 0x00};
    const uint8_t *roots[] = {name};
    size_t lens[] = {sizeof name};
    ptls_client_cert_store_request(st, roots, lens, 1, NULL);
    assert_int_equal(s.roots_calls, 1);
    assert_int_equal(s.n_roots, 1);
    ptls_client_cert_store_request(st, NULL, NULL, 0, NULL);
    assert_int_equal(s.default_calls, 1);
    assert_ptr_equal(ptls_client_cert_store_ref(st), st);
    polytls_client_cert_store_unref(st);
    assert_int_equal(s.destroyed, 0);
    polytls_client_cert_store_unref(st);
    assert_int_equal(s.destroyed, 1);
    polytls_client_cert_store_unref(NULL);

    polytls_client_cert_store *none = (polytls_client_cert_store *)0x1;
    polytls_client_cert_store_callbacks only_one = {sizeof only_one, on_roots, NULL, NULL};
    assert_int_equal(polytls_client_cert_store_new(&only_one, &s, &none), POLYTLS_ERR_INVALID_ARGUMENT);
    polytls_client_cert_store_callbacks other = {sizeof other, NULL, on_default, NULL};
    assert_int_equal(polytls_client_cert_store_new(&other, &s, &none), POLYTLS_ERR_INVALID_ARGUMENT);
    polytls_client_cert_store_callbacks small = {2 * sizeof(size_t), on_roots, on_default, NULL};
    assert_int_equal(polytls_client_cert_store_new(&small, &s, &none), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_client_cert_store_new(NULL, &s, &none), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(none, (polytls_client_cert_store *)0x1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_kind),
        cmocka_unit_test(test_single_chain),
        cmocka_unit_test(test_sni),
        cmocka_unit_test(test_client_store),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
