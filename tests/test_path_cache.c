/* Unit tests of the verified-path cache (core/path_cache.c): a hit needs
   the exact sent bytes, gives back pointers into the caller's sent list and
   a private copy of the anchor; a full cache replaces its oldest entry;
   paths that are not made of the sent certificates (and the anchor) and
   chains over the limits are never stored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "path_cache.h"

/* Three "certificates" as sent (leaf, intermediate, another) and an anchor. */
static uint8_t leaf[] = "leaf certificate DER";
static uint8_t inter[] = "intermediate certificate DER";
static uint8_t other[] = "an unrelated certificate";
static uint8_t anchor_der[] = "the anchor's DER";

static void sent_of(polytls_drv_blob *s, uint8_t *a, size_t alen, uint8_t *b, size_t blen, uint8_t *c, size_t clen)
{
    s[0] = (polytls_drv_blob){a, alen};
    s[1] = (polytls_drv_blob){b, blen};
    s[2] = (polytls_drv_blob){c, clen};
}

/* Stores leaf -> inter -> anchor for (leaf, other, inter) as sent. */
static polytls_path_cache *cache_with_one(polytls_drv_blob *sent)
{
    polytls_path_cache *pc = ptls_path_cache_new();
    assert_non_null(pc);
    sent_of(sent, leaf, sizeof leaf, other, sizeof other, inter, sizeof inter);
    polytls_drv_blob anchor = {anchor_der, sizeof anchor_der};
    polytls_drv_blob path[3] = {sent[0], sent[2], anchor};
    ptls_path_cache_store(pc, sent, 3, path, 3, &anchor);
    return pc;
}

static void test_hit_copies_anchor(void **state)
{
    (void)state;
    polytls_drv_blob sent[3];
    polytls_path_cache *pc = cache_with_one(sent);

    /* The same bytes in other buffers: a hit, pointing into THESE. */
    uint8_t l2[sizeof leaf], o2[sizeof other], i2[sizeof inter];
    memcpy(l2, leaf, sizeof leaf);
    memcpy(o2, other, sizeof other);
    memcpy(i2, inter, sizeof inter);
    polytls_drv_blob again[3], path[PTLS_PATH_MAX_ELEMS];
    sent_of(again, l2, sizeof l2, o2, sizeof o2, i2, sizeof i2);
    uint8_t *copy = NULL;
    assert_int_equal(ptls_path_cache_find(pc, again, 3, path, PTLS_PATH_MAX_ELEMS, &copy), 3);
    assert_ptr_equal(path[0].data, l2);
    assert_int_equal(path[0].len, sizeof leaf);
    assert_ptr_equal(path[1].data, i2);
    assert_int_equal(path[1].len, sizeof inter);
    assert_non_null(copy);
    assert_ptr_equal(path[2].data, copy);
    assert_ptr_not_equal(copy, anchor_der);
    assert_int_equal(path[2].len, sizeof anchor_der);
    assert_memory_equal(copy, anchor_der, sizeof anchor_der);

    /* The copy is the caller's: freeing the cache leaves it intact. */
    ptls_path_cache_free(pc);
    assert_memory_equal(copy, anchor_der, sizeof anchor_der);
    free(copy);
}

static void test_miss_on_any_difference(void **state)
{
    (void)state;
    polytls_drv_blob sent[3], path[PTLS_PATH_MAX_ELEMS];
    polytls_path_cache *pc = cache_with_one(sent);
    uint8_t *copy = (uint8_t *)1;

    /* Empty cache and no chain. */
    polytls_path_cache *empty = ptls_path_cache_new();
    assert_int_equal(ptls_path_cache_find(empty, sent, 3, path, PTLS_PATH_MAX_ELEMS, &copy), 0);
    assert_null(copy);
    ptls_path_cache_free(empty);
    ptls_path_cache_free(NULL);
    assert_int_equal(ptls_path_cache_find(pc, sent, 0, path, PTLS_PATH_MAX_ELEMS, &copy), 0);

    /* One byte changed, in any certificate. */
    for (size_t k = 0; k < 3; k++) {
        uint8_t buf[64];
        memcpy(buf, sent[k].data, sent[k].len);
        buf[sent[k].len / 2] ^= 1;
        polytls_drv_blob changed[3] = {sent[0], sent[1], sent[2]};
        changed[k].data = buf;
        assert_int_equal(ptls_path_cache_find(pc, changed, 3, path, PTLS_PATH_MAX_ELEMS, &copy), 0);
        assert_null(copy);
    }
    /* One byte shorter. */
    polytls_drv_blob shorter[3] = {sent[0], sent[1], sent[2]};
    shorter[1].len--;
    assert_int_equal(ptls_path_cache_find(pc, shorter, 3, path, PTLS_PATH_MAX_ELEMS, &copy), 0);
    /* A different count: a prefix, or one more certificate. */
    assert_int_equal(ptls_path_cache_find(pc, sent, 2, path, PTLS_PATH_MAX_ELEMS, &copy), 0);
    polytls_drv_blob more[4] = {sent[0], sent[1], sent[2], {anchor_der, sizeof anchor_der}};
    assert_int_equal(ptls_path_cache_find(pc, more, 4, path, PTLS_PATH_MAX_ELEMS, &copy), 0);
    /* Another order. */
    polytls_drv_blob swapped[3] = {sent[0], sent[2], sent[1]};
    assert_int_equal(ptls_path_cache_find(pc, swapped, 3, path, PTLS_PATH_MAX_ELEMS, &copy), 0);
    /* A path longer than the caller's array. */
    assert_int_equal(ptls_path_cache_find(pc, sent, 3, path, 2, &copy), 0);
    assert_null(copy);
    /* Still there. */
    assert_int_equal(ptls_path_cache_find(pc, sent, 3, path, 3, &copy), 3);
    free(copy);
    ptls_path_cache_free(pc);
}

static void test_path_without_anchor(void **state)
{
    (void)state;
    /* The peer sent the anchor itself: every element is a sent one. */
    polytls_path_cache *pc = ptls_path_cache_new();
    assert_non_null(pc);
    polytls_drv_blob sent[2] = {{leaf, sizeof leaf}, {anchor_der, sizeof anchor_der}};
    polytls_drv_blob path[PTLS_PATH_MAX_ELEMS] = {sent[0], sent[1]};
    ptls_path_cache_store(pc, sent, 2, path, 2, NULL);
    memset(path, 0, sizeof path);
    uint8_t *copy = (uint8_t *)1;
    assert_int_equal(ptls_path_cache_find(pc, sent, 2, path, PTLS_PATH_MAX_ELEMS, &copy), 2);
    assert_null(copy);
    assert_ptr_equal(path[0].data, leaf);
    assert_ptr_equal(path[1].data, anchor_der);
    ptls_path_cache_free(pc);
}

static void test_never_a_guess(void **state)
{
    (void)state;
    polytls_path_cache *pc = ptls_path_cache_new();
    assert_non_null(pc);
    polytls_drv_blob sent[3], path[PTLS_PATH_MAX_ELEMS];
    sent_of(sent, leaf, sizeof leaf, other, sizeof other, inter, sizeof inter);
    uint8_t copy_of_inter[sizeof inter];
    memcpy(copy_of_inter, inter, sizeof inter);
    polytls_drv_blob anchor = {anchor_der, sizeof anchor_der};
    uint8_t *copy = NULL;

    /* An element equal in bytes but not one of the sent buffers. */
    polytls_drv_blob p1[3] = {sent[0], {copy_of_inter, sizeof copy_of_inter}, anchor};
    ptls_path_cache_store(pc, sent, 3, p1, 3, &anchor);
    assert_int_equal(ptls_path_cache_find(pc, sent, 3, path, PTLS_PATH_MAX_ELEMS, &copy), 0);
    /* The last element is not the anchor named. */
    polytls_drv_blob p2[3] = {sent[0], sent[2], {other, sizeof other}};
    ptls_path_cache_store(pc, sent, 3, p2, 3, &anchor);
    assert_int_equal(ptls_path_cache_find(pc, sent, 3, path, PTLS_PATH_MAX_ELEMS, &copy), 0);
    /* An anchor-less path ending in something not sent. */
    ptls_path_cache_store(pc, sent, 3, p1, 3, NULL);
    assert_int_equal(ptls_path_cache_find(pc, sent, 3, path, PTLS_PATH_MAX_ELEMS, &copy), 0);
    /* Empty path, NULL cache. */
    ptls_path_cache_store(pc, sent, 3, p1, 0, NULL);
    ptls_path_cache_store(NULL, sent, 3, p1, 3, &anchor);
    assert_int_equal(ptls_path_cache_find(pc, sent, 3, path, PTLS_PATH_MAX_ELEMS, &copy), 0);
    assert_null(copy);
    ptls_path_cache_free(pc);
}

static void test_limits(void **state)
{
    (void)state;
    polytls_path_cache *pc = ptls_path_cache_new();
    assert_non_null(pc);
    uint8_t *copy = NULL;
    polytls_drv_blob path[PTLS_PATH_MAX_ELEMS + 1];

    /* Too many sent certificates. */
    uint8_t certs[PTLS_PATH_MAX_SENT + 1][4];
    polytls_drv_blob many[PTLS_PATH_MAX_SENT + 1];
    for (size_t i = 0; i <= PTLS_PATH_MAX_SENT; i++) {
        memset(certs[i], (int)i, sizeof certs[i]);
        many[i] = (polytls_drv_blob){certs[i], sizeof certs[i]};
    }
    ptls_path_cache_store(pc, many, PTLS_PATH_MAX_SENT + 1, many, 1, NULL);
    assert_int_equal(ptls_path_cache_find(pc, many, PTLS_PATH_MAX_SENT + 1, path, PTLS_PATH_MAX_ELEMS, &copy), 0);
    /* Exactly at the limit: stored, the whole path. */
    ptls_path_cache_store(pc, many, PTLS_PATH_MAX_SENT, many, PTLS_PATH_MAX_SENT, NULL);
    assert_int_equal(ptls_path_cache_find(pc, many, PTLS_PATH_MAX_SENT, path, PTLS_PATH_MAX_ELEMS, &copy),
                     PTLS_PATH_MAX_SENT);
    assert_ptr_equal(path[PTLS_PATH_MAX_SENT - 1].data, certs[PTLS_PATH_MAX_SENT - 1]);

    /* Too many bytes sent. */
    uint8_t *big = calloc(1, PTLS_PATH_MAX_BYTES + 1);
    assert_non_null(big);
    polytls_drv_blob sent_big[1] = {{big, PTLS_PATH_MAX_BYTES + 1}};
    ptls_path_cache_store(pc, sent_big, 1, sent_big, 1, NULL);
    assert_int_equal(ptls_path_cache_find(pc, sent_big, 1, path, PTLS_PATH_MAX_ELEMS, &copy), 0);
    /* ... split over two certificates. */
    polytls_drv_blob sent_two[2] = {{big, PTLS_PATH_MAX_BYTES / 2 + 1}, {big, PTLS_PATH_MAX_BYTES / 2}};
    ptls_path_cache_store(pc, sent_two, 2, sent_two, 1, NULL);
    assert_int_equal(ptls_path_cache_find(pc, sent_two, 2, path, PTLS_PATH_MAX_ELEMS, &copy), 0);
    /* Exactly at the limit. */
    sent_big[0].len = PTLS_PATH_MAX_BYTES;
    ptls_path_cache_store(pc, sent_big, 1, sent_big, 1, NULL);
    assert_int_equal(ptls_path_cache_find(pc, sent_big, 1, path, PTLS_PATH_MAX_ELEMS, &copy), 1);
    free(big);
    ptls_path_cache_free(pc);
}

static void test_replacement_when_full(void **state)
{
    (void)state;
    polytls_path_cache *pc = ptls_path_cache_new();
    assert_non_null(pc);
    enum { N = PTLS_PATH_CACHE_SLOTS + 3 };
    uint8_t leaves[N][8];
    polytls_drv_blob sent[N][1], path[PTLS_PATH_MAX_ELEMS];
    polytls_drv_blob anchor = {anchor_der, sizeof anchor_der};
    uint8_t *copy = NULL;
    for (size_t i = 0; i < N; i++) {
        memset(leaves[i], 'a' + (int)i, sizeof leaves[i]);
        sent[i][0] = (polytls_drv_blob){leaves[i], sizeof leaves[i]};
    }
    for (size_t i = 0; i < PTLS_PATH_CACHE_SLOTS; i++) {
        polytls_drv_blob p[2] = {sent[i][0], anchor};
        ptls_path_cache_store(pc, sent[i], 1, p, 2, &anchor);
    }
    /* Storing a known chain again changes nothing (no slot used). */
    polytls_drv_blob p0[2] = {sent[0][0], anchor};
    ptls_path_cache_store(pc, sent[0], 1, p0, 2, &anchor);
    for (size_t i = 0; i < PTLS_PATH_CACHE_SLOTS; i++) {
        assert_int_equal(ptls_path_cache_find(pc, sent[i], 1, path, PTLS_PATH_MAX_ELEMS, &copy), 2);
        free(copy);
    }
    /* Three more: the three oldest go, in order. */
    for (size_t i = PTLS_PATH_CACHE_SLOTS; i < N; i++) {
        polytls_drv_blob p[2] = {sent[i][0], anchor};
        ptls_path_cache_store(pc, sent[i], 1, p, 2, &anchor);
    }
    for (size_t i = 0; i < N; i++) {
        size_t want = i < N - PTLS_PATH_CACHE_SLOTS ? 0 : 2;
        assert_int_equal(ptls_path_cache_find(pc, sent[i], 1, path, PTLS_PATH_MAX_ELEMS, &copy), want);
        if (want)
            assert_ptr_equal(path[0].data, leaves[i]);
        free(copy);
        copy = NULL;
    }
    ptls_path_cache_free(pc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_copies_anchor),
        cmocka_unit_test(test_miss_on_any_difference),
        cmocka_unit_test(test_path_without_anchor),
        cmocka_unit_test(test_never_a_guess),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_replacement_when_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
