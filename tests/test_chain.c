/* Unit tests of chain classification and ordering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "certificate.h"
#include "chain.h"

typedef struct fixture {
    polytls_certificate *root, *inter, *leaf1, *leaf1_nokey, *leaf2, *leafec, *other, *inter_copy;
} fixture;

static polytls_certificate *load(const char *cert, const char *key)
{
    polytls_certificate **c;
    size_t n;
    if (key) {
        assert_int_equal(polytls_chain_from_pem_files(cert, key, &c, &n), POLYTLS_OK);
    } else {
        assert_int_equal(polytls_certificates_from_pem_file(cert, &c, &n), POLYTLS_OK);
    }
    assert_int_equal(n, 1);
    polytls_certificate *out = c[0];
    free(c);
    return out;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->root = load("data/root.pem", NULL);
    f->inter = load("data/int.pem", NULL);
    f->inter_copy = load("data/int.pem", NULL);
    f->leaf1 = load("data/leaf1.pem", "data/leaf1.key");
    f->leaf1_nokey = load("data/leaf1.pem", NULL);
    f->leaf2 = load("data/leaf2.pem", "data/leaf2.key");
    f->leafec = load("data/leafec.pem", "data/leafec.key");
    f->other = load("data/other.pem", NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    polytls_certificate *all[] = {f->root, f->inter, f->inter_copy, f->leaf1, f->leaf1_nokey, f->leaf2, f->leafec, f->other};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        polytls_certificate_unref(all[i]);
    free(f);
    return 0;
}

static polytls_status order(polytls_certificate *const *in, size_t n, polytls_certificate ***out, size_t *n_out)
{
    polytls_certificate **o = (polytls_certificate **)0x1;
    size_t k = 77;
    polytls_status s = ptls_chain_order(in, n, &o, &k);
    if (s != POLYTLS_OK) {
        assert_ptr_equal(o, (polytls_certificate **)0x1);
        assert_int_equal(k, 77);
        assert_true(polytls_last_error_message()[0] != '\0');
    } else if (out) {
        *out = o;
        *n_out = k;
    } else {
        polytls_certificates_free(o, k);
    }
    return s;
}

static void test_order(void **state)
{
    fixture *f = *state;
    polytls_certificate *perms[][3] = {
        {f->leaf1, f->inter, f->root}, {f->root, f->inter, f->leaf1}, {f->inter, f->root, f->leaf1},
        {f->root, f->leaf1, f->inter},
    };
    for (size_t i = 0; i < 4; i++) {
        polytls_certificate **o;
        size_t n;
        assert_int_equal(order(perms[i], 3, &o, &n), POLYTLS_OK);
        assert_int_equal(n, 3);
        assert_ptr_equal(o[0], f->leaf1);
        assert_ptr_equal(o[1], f->inter);
        assert_ptr_equal(o[2], f->root);
        polytls_certificates_free(o, n);
    }
    /* New references: the ordered array outlives the input's references. */
    polytls_certificate *two[] = {f->inter, f->leaf1};
    polytls_certificate **o;
    size_t n;
    assert_int_equal(order(two, 2, &o, &n), POLYTLS_OK);
    assert_int_equal(n, 2);
    polytls_certificates_free(o, n);
    polytls_certificate *alone[] = {f->leaf1};
    assert_int_equal(order(alone, 1, NULL, NULL), POLYTLS_OK);
    /* EC leaf directly under the root. */
    polytls_certificate *ec[] = {f->root, f->leafec};
    assert_int_equal(order(ec, 2, NULL, NULL), POLYTLS_OK);
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    polytls_certificate *no_leaf[] = {f->inter, f->root};
    assert_int_equal(order(no_leaf, 2, NULL, NULL), POLYTLS_ERR_NO_LEAF);
    polytls_certificate *two_leaves[] = {f->leaf1, f->inter, f->leaf2};
    assert_int_equal(order(two_leaves, 3, NULL, NULL), POLYTLS_ERR_MORE_THAN_ONE_LEAF);
    polytls_certificate *no_key[] = {f->leaf1_nokey, f->inter};
    assert_int_equal(order(no_key, 2, NULL, NULL), POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY);
    polytls_certificate *stray[] = {f->leaf1, f->inter, f->root, f->other};
    assert_int_equal(order(stray, 4, NULL, NULL), POLYTLS_ERR_NO_CERTIFICATE_CHAIN);
    assert_non_null(strstr(polytls_last_error_message(), "certificate 3"));
    polytls_certificate *gap[] = {f->leaf1, f->root};
    assert_int_equal(order(gap, 2, NULL, NULL), POLYTLS_ERR_NO_CERTIFICATE_CHAIN);
    polytls_certificate *dup_obj[] = {f->leaf1, f->inter, f->inter};
    assert_int_equal(order(dup_obj, 3, NULL, NULL), POLYTLS_ERR_NO_CERTIFICATE_CHAIN);
    polytls_certificate *dup_der[] = {f->leaf1, f->inter_copy, f->inter};
    assert_int_equal(order(dup_der, 3, NULL, NULL), POLYTLS_ERR_NO_CERTIFICATE_CHAIN);
    polytls_certificate *wrong_root[] = {f->leafec, f->inter, f->root};
    assert_int_equal(order(wrong_root, 3, NULL, NULL), POLYTLS_ERR_NO_CERTIFICATE_CHAIN);
    polytls_certificate *with_null[] = {f->leaf1, NULL};
    assert_int_equal(order(with_null, 2, NULL, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(order(no_leaf, 0, NULL, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(order(NULL, 1, NULL, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
    polytls_certificate **o;
    assert_int_equal(ptls_chain_order(no_leaf, 2, &o, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
}

static void test_find_leaf_and_path(void **state)
{
    fixture *f = *state;
    polytls_certificate *pool[] = {f->root, f->leaf2, f->inter, f->leaf1};
    size_t leaf = 99;
    assert_int_equal(ptls_chain_find_leaf(pool, 4, &leaf), POLYTLS_ERR_MORE_THAN_ONE_LEAF);
    assert_int_equal(leaf, 99);
    assert_int_equal(ptls_chain_find_leaf(pool, 1, &leaf), POLYTLS_ERR_NO_LEAF);
    assert_int_equal(ptls_chain_find_leaf(pool, 2, &leaf), POLYTLS_OK);
    assert_int_equal(leaf, 1);
    /* Shared CAs: both leaves reach the same intermediate and root. */
    bool used[4] = {false, false, false, false};
    polytls_certificate **p;
    size_t n;
    assert_int_equal(ptls_chain_path(f->leaf2, pool, 4, used, &p, &n), POLYTLS_OK);
    assert_int_equal(n, 3);
    assert_ptr_equal(p[0], f->leaf2);
    assert_ptr_equal(p[1], f->inter);
    assert_ptr_equal(p[2], f->root);
    assert_true(used[0] && used[1] && used[2] && !used[3]);
    polytls_certificates_free(p, n);
    assert_int_equal(ptls_chain_path(f->leaf1, pool, 4, used, &p, &n), POLYTLS_OK);
    assert_int_equal(n, 3);
    assert_true(used[3]);
    polytls_certificates_free(p, n);
}

static void test_reaches_name(void **state)
{
    fixture *f = *state;
    polytls_certificate *c[] = {f->leaf1, f->inter};
    const uint8_t *root_name, *other_name, *leaf_name;
    size_t root_len, other_len, leaf_len;
    polytls_certificate_subject(f->root, &root_name, &root_len);
    polytls_certificate_subject(f->other, &other_name, &other_len);
    polytls_certificate_subject(f->leaf1, &leaf_name, &leaf_len);
    assert_true(ptls_chain_reaches_name(c, 2, root_name, root_len)); /* the intermediate's issuer */
    assert_true(ptls_chain_reaches_name(c, 2, leaf_name, leaf_len));
    assert_false(ptls_chain_reaches_name(c, 2, other_name, other_len));
    assert_false(ptls_chain_reaches_name(c, 1, root_name, root_len));
    assert_false(ptls_chain_reaches_name(c, 2, root_name, root_len - 1));
    assert_false(ptls_chain_reaches_name(NULL, 2, root_name, root_len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_find_leaf_and_path),
        cmocka_unit_test(test_reaches_name),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
