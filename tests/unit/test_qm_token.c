/* Unit tests for qmodel/token: board tokens (deviceless-api.md 1.2). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "qmodel/token.h"

#define SECRET "0123456789abcdef0123456789abcdef"
#define BOARD "8a1e55a4-5e4b-4f4e-9d2a-6c7b1f0e2d3c"
#define SHA "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"

static void test_mint_format_and_mac(void **state)
{
    char tok[QM_TOKEN_MAX], mac[65], want[QM_TOKEN_MAX];
    unsigned char raw[SHA256_LEN];
    const char *msg = "v1|" BOARD "|" SHA "|2000000000";

    (void)state;
    qm_token_mint(SECRET, BOARD, SHA, 2000000000, tok);
    crypto_hmac_sha256(SECRET, strlen(SECRET), msg, strlen(msg), raw);
    hex_encode(raw, sizeof(raw), mac);
    snprintf(want, sizeof(want), "v1.%s.%s.2000000000.%s", BOARD, SHA, mac);
    assert_string_equal(tok, want);
}

static void test_check_accepts_valid(void **state)
{
    char tok[QM_TOKEN_MAX], board[UUID_STR_LEN];

    (void)state;
    qm_token_mint(SECRET, BOARD, SHA, 2000000000, tok);
    assert_int_equal(qm_token_check(SECRET, tok, SHA, 1999999999, board), 0);
    assert_string_equal(board, BOARD);
}

static void test_check_refuses(void **state)
{
    char tok[QM_TOKEN_MAX], bad[QM_TOKEN_MAX], board[UUID_STR_LEN];
    const char *other = "0000000000000000000000000000000000000000000000000000000000000000";

    (void)state;
    qm_token_mint(SECRET, BOARD, SHA, 2000000000, tok);
    /* expired, at the second of expiry too */
    assert_int_equal(qm_token_check(SECRET, tok, SHA, 2000000000, board), -EACCES);
    /* another blob */
    assert_int_equal(qm_token_check(SECRET, tok, other, 1, board), -EACCES);
    /* another secret */
    assert_int_equal(qm_token_check(SECRET "x", tok, SHA, 1, board), -EACCES);
    /* one MAC digit changed */
    snprintf(bad, sizeof(bad), "%s", tok);
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
    assert_int_equal(qm_token_check(SECRET, bad, SHA, 1, board), -EACCES);
    /* a later expiry with the old MAC */
    snprintf(bad, sizeof(bad), "%s", tok);
    memcpy(strstr(bad, ".2000000000.") + 1, "2000000001", 10);
    assert_int_equal(qm_token_check(SECRET, bad, SHA, 1, board), -EACCES);
    /* malformed */
    static const char *const junk[] = {
        "", "v1", "v2." BOARD "." SHA ".1.x", "v1....", "v1." BOARD "." SHA ".-5." SHA, NULL};
    for (size_t i = 0; junk[i] != NULL; i++)
        assert_int_equal(qm_token_check(SECRET, junk[i], SHA, 1, board), -EACCES);
    assert_int_equal(qm_token_check(SECRET, NULL, SHA, 1, board), -EACCES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mint_format_and_mac),
        cmocka_unit_test(test_check_accepts_valid),
        cmocka_unit_test(test_check_refuses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
