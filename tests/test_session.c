/* Unit tests of client sessions (core/session.c): the serialised form is
   read strictly, round-trips exactly, and invalidation reaches every copy
   that shares a lineage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "session.h"

static polytls_certificate *load(const char *path)
{
    polytls_certificate **c;
    size_t n;
    assert_int_equal(polytls_certificates_from_pem_file(path, &c, &n), POLYTLS_OK);
    polytls_certificate *out = c[0];
    for (size_t i = 1; i < n; i++)
        polytls_certificate_unref(c[i]);
    free(c);
    return out;
}

static polytls_session *make(ptls_lineage *lineage)
{
    polytls_certificate *chain[2] = {load("data/leaf1.pem"), load("data/root.pem")};
    uint8_t *blob = malloc(5);
    assert_non_null(blob);
    memcpy(blob, "\x01\x02\x03\x04\x05", 5);
    polytls_session *s = NULL;
    assert_int_equal(ptls_session_new("openssl", "example.com", false, chain, 2, blob, 5, lineage, &s),
                     POLYTLS_OK);
    polytls_certificate_unref(chain[0]);
    polytls_certificate_unref(chain[1]);
    return s;
}

static uint8_t *serialise(const polytls_session *s, size_t *len)
{
    assert_int_equal(polytls_session_serialize(s, NULL, 0, len), POLYTLS_OK);
    uint8_t *out = malloc(*len);
    assert_non_null(out);
    size_t got = 0;
    assert_int_equal(polytls_session_serialize(s, out, *len - 1, &got), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(got, 0);   /* written only on success */
    assert_int_equal(polytls_session_serialize(s, out, *len, &got), POLYTLS_OK);
    assert_int_equal(got, *len);
    return out;
}

static void test_round_trip(void **state)
{
    (void)state;
    ptls_lineage *l = ptls_lineage_new();
    polytls_session *s = make(l);
    size_t len;
    uint8_t *bytes = serialise(s, &len);
    assert_memory_equal(bytes, "PTLSSESS\x01\x07openssl", 17);

    polytls_session *back = NULL;
    assert_int_equal(polytls_session_deserialize(bytes, len, &back), POLYTLS_OK);
    assert_string_equal(back->backend, "openssl");
    assert_string_equal(back->host, "example.com");
    assert_false(back->host_is_ip);
    assert_int_equal(back->n_chain, 2);
    assert_int_equal(back->blob_len, 5);
    assert_memory_equal(back->blob, "\x01\x02\x03\x04\x05", 5);
    size_t len2;
    uint8_t *again = serialise(back, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(bytes, again, len);

    free(bytes);
    free(again);
    polytls_session_free(back);
    polytls_session_free(s);
    ptls_lineage_unref(l);
}

/* Every truncation and every single-byte change in the framing is refused
   (or, inside the opaque backend bytes, kept as it is). */
static void test_corruption(void **state)
{
    (void)state;
    ptls_lineage *l = ptls_lineage_new();
    polytls_session *s = make(l);
    size_t len;
    uint8_t *bytes = serialise(s, &len);
    polytls_session *out = (polytls_session *)&out;   /* must stay untouched */
    polytls_session *const sentinel = out;
    for (size_t cut = 0; cut < len; cut++) {
        assert_int_equal(polytls_session_deserialize(bytes, cut, &out), POLYTLS_ERR_BAD_ENCODING);
        assert_ptr_equal(out, sentinel);
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, bytes, len);
    longer[len] = 0;
    assert_int_equal(polytls_session_deserialize(longer, len + 1, &out), POLYTLS_ERR_BAD_ENCODING);
    free(longer);

    /* The seal covers every byte: no change gets through, not even in the
       backend's opaque bytes or the seal itself. */
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            bytes[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(polytls_session_deserialize(bytes, len, &out), POLYTLS_ERR_BAD_ENCODING);
            assert_ptr_equal(out, sentinel);
            bytes[i] ^= (uint8_t)(1u << bit);
        }
    }
    assert_int_equal(polytls_session_deserialize(NULL, 3, &out), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_session_deserialize(bytes, len, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
    free(bytes);
    polytls_session_free(s);
    ptls_lineage_unref(l);
}

static void test_lineage(void **state)
{
    (void)state;
    ptls_lineage *l = ptls_lineage_new();
    polytls_session *a = make(l), *b = make(l);
    polytls_session *copy = ptls_session_ref(a);   /* a second handle */
    assert_non_null(copy);
    size_t len;
    uint8_t *bytes = serialise(a, &len);
    assert_false(polytls_session_invalidated(a));

    ptls_lineage_invalidate(l);
    assert_true(polytls_session_invalidated(a));
    assert_true(polytls_session_invalidated(b));
    assert_true(polytls_session_invalidated(copy));
    assert_true(polytls_session_invalidated(NULL));
    size_t n = 0;
    assert_int_equal(polytls_session_serialize(a, NULL, 0, &n), POLYTLS_ERR_INVALIDATED);
    assert_int_equal(n, 0);

    /* A copy serialised earlier is a new lineage: the server refuses its
       ticket instead (tested in conformance). */
    polytls_session *back = NULL;
    assert_int_equal(polytls_session_deserialize(bytes, len, &back), POLYTLS_OK);
    assert_false(polytls_session_invalidated(back));

    free(bytes);
    polytls_session_free(back);
    polytls_session_free(a);
    polytls_session_free(b);
    polytls_session_free(copy);   /* drops one of a's two references */
    polytls_session_free(NULL);
    ptls_lineage_unref(l);
}

/* Bytes sealed under one key are refused under another; a process that
   sets the key its peers use reads theirs. */
static void test_key(void **state)
{
    (void)state;
    ptls_lineage *l = ptls_lineage_new();
    polytls_session *s = make(l);
    static const uint8_t k1[32] = {1}, k2[32] = {2};
    assert_int_equal(polytls_session_set_key(NULL), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_int_equal(polytls_session_set_key(k1), POLYTLS_OK);
    size_t len;
    uint8_t *bytes = serialise(s, &len);
    polytls_session *back = NULL;
    assert_int_equal(polytls_session_set_key(k2), POLYTLS_OK);
    assert_int_equal(polytls_session_deserialize(bytes, len, &back), POLYTLS_ERR_BAD_ENCODING);
    assert_null(back);
    assert_int_equal(polytls_session_set_key(k1), POLYTLS_OK);
    assert_int_equal(polytls_session_deserialize(bytes, len, &back), POLYTLS_OK);
    polytls_session_free(back);
    free(bytes);
    polytls_session_free(s);
    ptls_lineage_unref(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_corruption),
        cmocka_unit_test(test_lineage),
        cmocka_unit_test(test_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
