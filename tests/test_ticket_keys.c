/* Unit tests of a server's ticket keys (core/ticket_keys.c): derivation is
   stable per name, revocation refuses one name (or, for one-key libraries,
   the generation), rotation refuses every older ticket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ticket_keys.h"

/* RFC 4231 test case 2. */
static void test_hmac(void **state)
{
    (void)state;
    static const uint8_t want[32] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                                     0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                                     0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
    uint8_t out[32];
    ptls_hmac_sha256((const uint8_t *)"Jefe", 4, (const uint8_t *)"what do ya want for nothing?", 28, out);
    assert_memory_equal(out, want, 32);
}

static void test_issue_lookup_revoke(void **state)
{
    (void)state;
    ptls_ticket_keys tk;
    ptls_ticket_keys_init(&tk);
    uint8_t n1[16], n2[16], k1[64], k2[64], k[64];
    assert_int_equal(ptls_ticket_keys_issue(&tk, false, n1, k1, 64), POLYTLS_OK);
    assert_int_equal(ptls_ticket_keys_issue(&tk, false, n2, k2, 64), POLYTLS_OK);
    assert_memory_not_equal(n1, n2, 16);
    assert_memory_not_equal(k1, k2, 64);
    assert_true(ptls_ticket_keys_lookup(&tk, n1, k, 64));
    assert_memory_equal(k, k1, 64);
    /* The derivation is HMAC-SHA256(master, label || name || counter). */
    uint8_t msg[18 + 16 + 1], block[32];
    memcpy(msg, "polytls ticket key", 18);
    memcpy(msg + 18, n1, 16);
    msg[34] = 1;
    ptls_hmac_sha256(tk.master, sizeof tk.master, msg, sizeof msg, block);
    assert_memory_equal(k1 + 32, block, 32);
    assert_true(ptls_ticket_keys_lookup(&tk, n2, k, 32));
    assert_memory_equal(k, k2, 32);   /* a prefix of the same derivation */

    uint8_t unknown[16];
    memcpy(unknown, n1, 16);
    unknown[0] ^= 1;   /* another generation */
    assert_false(ptls_ticket_keys_lookup(&tk, unknown, k, 64));
    assert_false(ptls_ticket_keys_lookup(&tk, n1, k, 0));
    assert_int_equal(ptls_ticket_keys_issue(&tk, false, n1, k, 65), POLYTLS_ERR_INTERNAL);

    assert_int_equal(ptls_ticket_keys_revoke(&tk, n1, false), POLYTLS_OK);
    assert_false(ptls_ticket_keys_lookup(&tk, n1, k, 64));
    assert_true(ptls_ticket_keys_lookup(&tk, n2, k, 64));   /* others live on */
    assert_int_equal(ptls_ticket_keys_revoke(&tk, n1, false), POLYTLS_OK);   /* twice: no-op */
    assert_int_equal(tk.n_revoked, 1);

    assert_int_equal(ptls_ticket_keys_rotate(&tk), POLYTLS_OK);
    assert_false(ptls_ticket_keys_lookup(&tk, n2, k, 64));
    assert_int_equal(tk.n_revoked, 0);
    uint8_t n3[16];
    assert_int_equal(ptls_ticket_keys_issue(&tk, false, n3, k, 64), POLYTLS_OK);
    assert_true(ptls_ticket_keys_lookup(&tk, n3, k2, 64));
    assert_memory_equal(k, k2, 64);
    ptls_ticket_keys_fini(&tk);
}

static void test_one_key(void **state)
{
    (void)state;
    ptls_ticket_keys tk;
    ptls_ticket_keys_init(&tk);
    uint8_t n1[16], n2[16], k1[64], k2[64], k[64];
    assert_int_equal(ptls_ticket_keys_issue(&tk, true, n1, k1, 64), POLYTLS_OK);
    assert_int_equal(ptls_ticket_keys_issue(&tk, true, n2, k2, 64), POLYTLS_OK);
    assert_memory_equal(n1, n2, 16);   /* one key per generation */
    assert_memory_equal(k1, k2, 64);
    assert_int_equal(ptls_ticket_keys_revoke(&tk, n1, true), POLYTLS_OK);
    assert_false(ptls_ticket_keys_lookup(&tk, n1, k, 64));
    assert_int_equal(ptls_ticket_keys_issue(&tk, true, n2, k2, 64), POLYTLS_OK);
    assert_memory_not_equal(n1, n2, 16);
    assert_memory_not_equal(k1, k2, 64);
    ptls_ticket_keys_fini(&tk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac),
        cmocka_unit_test(test_issue_lookup_revoke),
        cmocka_unit_test(test_one_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
