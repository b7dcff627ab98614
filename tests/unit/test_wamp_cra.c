/* Unit tests for wamp/cra.h: the WAMP-CRA challenge and signature of
 * board-protocol.md 4.3 and the tunnel proof of 9.5, on the contract's
 * vectors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/timeutil.h"
#include "wamp/cra.h"
#include "wamp/json_strict.h"

#define SECRET "Vq3T0n5xQm6b2wYk8rJdZ1pLcF7hEsUa4NgRiO9tKyA"
#define UUID "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52"
#define CHALLENGE                                                                                  \
    "{\"authid\":\"" UUID "\",\"authrole\":\"board\",\"authmethod\":\"wampcra\","                  \
    "\"authprovider\":\"iotronic\",\"nonce\":\"kY2x0NqT3mZ8vR1wC5hJ9a\",\"timestamp\":"            \
    "\"2026-11-23T18:02:11.204Z\",\"session\":4739282046471166}"
#define SIGNATURE "xPYYDMKKleGD/sUwwtb5stSRjcbp06SUi3BbWog2T5I="

static void test_challenge_text_is_the_contracts(void **state)
{
    struct wamp_cra_fields f = {
        .authid = UUID,
        .authrole = "board",
        .authmethod = "wampcra",
        .authprovider = "iotronic",
        .nonce = "kY2x0NqT3mZ8vR1wC5hJ9a",
        .timestamp = "2026-11-23T18:02:11.204Z",
        .session = 4739282046471166ULL,
    };
    struct error err;
    char *text;
    size_t len;

    (void)state;
    assert_int_equal(wamp_cra_challenge(&f, &text, &len, &err), 0);
    assert_string_equal(text, CHALLENGE);
    assert_int_equal(len, strlen(CHALLENGE));
    free(text);
    /* An authid from a HELLO cannot break out of its quotes. */
    f.authid = "x\",\"authrole\":\"admin";
    assert_int_equal(wamp_cra_challenge(&f, &text, &len, &err), 0);
    assert_non_null(
        strstr(text, "{\"authid\":\"x\\\",\\\"authrole\\\":\\\"admin\",\"authrole\":\"board\""));
    free(text);
    f.authid = "\xff";
    assert_int_equal(wamp_cra_challenge(&f, &text, &len, &err), -EINVAL);
    f.authid = NULL;
    assert_int_equal(wamp_cra_challenge(&f, &text, &len, &err), -EINVAL);
    assert_string_equal(err.msg, "challenge: authid is missing");
}

static void test_new_challenge_is_fresh(void **state)
{
    struct error err;
    char *a, *b;
    size_t alen, blen;
    const char *nonce;

    (void)state;
    assert_int_equal(wamp_cra_challenge_new(UUID, 42, &a, &alen, &err), 0);
    assert_int_equal(wamp_cra_challenge_new(UUID, 42, &b, &blen, &err), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(wamp_json_check(a, alen, 2, &err), 0);
    assert_non_null(strstr(a, "\"authrole\":\"board\",\"authmethod\":\"wampcra\","
                              "\"authprovider\":\"iotronic\",\"nonce\":\""));
    nonce = strstr(a, "\"nonce\":\"") + 9;
    assert_int_equal(strchr(nonce, '"') - nonce, 22);
    assert_non_null(strstr(a, "Z\",\"session\":42}"));
    free(a);
    free(b);
}

static void test_signature_vector(void **state)
{
    char sig[WAMP_CRA_SIG_LEN];

    (void)state;
    wamp_cra_sign(SECRET, strlen(SECRET), CHALLENGE, strlen(CHALLENGE), sig);
    assert_string_equal(sig, SIGNATURE);
    assert_true(wamp_cra_verify(SECRET, strlen(SECRET), CHALLENGE, strlen(CHALLENGE), SIGNATURE,
                                strlen(SIGNATURE)));
}

static void test_verify_refuses_near_misses(void **state)
{
    static const char *const bad[] = {
        "",
        "AAAA",
        "xPYYDMKKleGD/sUwwtb5stSRjcbp06SUi3BbWog2T5I",   /* no padding */
        "xPYYDMKKleGD/sUwwtb5stSRjcbp06SUi3BbWog2T5I==", /* extra byte */
        "xPYYDMKKleGD_sUwwtb5stSRjcbp06SUi3BbWog2T5I=",  /* url alphabet */
        "yPYYDMKKleGD/sUwwtb5stSRjcbp06SUi3BbWog2T5I=",
    };
    const char *other = "Vq3T0n5xQm6b2wYk8rJdZ1pLcF7hEsUa4NgRiO9tKyB";

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(wamp_cra_verify(SECRET, strlen(SECRET), CHALLENGE, strlen(CHALLENGE), bad[i],
                                     strlen(bad[i])));
    assert_false(wamp_cra_verify(other, strlen(other), CHALLENGE, strlen(CHALLENGE), SIGNATURE,
                                 strlen(SIGNATURE)));
    assert_false(wamp_cra_verify(SECRET, strlen(SECRET), CHALLENGE, strlen(CHALLENGE) - 1,
                                 SIGNATURE, strlen(SIGNATURE)));
}

static void test_wstun_vector(void **state)
{
    char sig[WAMP_WSTUN_SIG_LEN], auth[WAMP_WSTUN_AUTH_MAX];
    struct error err;

    (void)state;
    wamp_wstun_sign(SECRET, strlen(SECRET), UUID, 50123, 1795456931, sig);
    assert_string_equal(sig, "iWBXDMlFt-7XeYCI7i6sN_UJMxavAFct5aSYdErf8i0");
    assert_int_equal(wamp_wstun_auth(SECRET, strlen(SECRET), UUID, 50123, 1795456931, auth),
                     (int)strlen("1795456931.iWBXDMlFt-7XeYCI7i6sN_UJMxavAFct5aSYdErf8i0"));
    assert_string_equal(auth, "1795456931.iWBXDMlFt-7XeYCI7i6sN_UJMxavAFct5aSYdErf8i0");
    assert_int_equal(wamp_wstun_verify(SECRET, strlen(SECRET), UUID, 50123, auth, 1795456931, &err),
                     0);
}

static void test_wstun_window_and_forgeries(void **state)
{
    static const struct {
        const char *auth;
        int64_t now;
        unsigned port;
        int rc;
    } cases[] = {
        {"1795456931.iWBXDMlFt-7XeYCI7i6sN_UJMxavAFct5aSYdErf8i0", 1795456931 + 300, 50123, 0},
        {"1795456931.iWBXDMlFt-7XeYCI7i6sN_UJMxavAFct5aSYdErf8i0", 1795456931 - 300, 50123, 0},
        {"1795456931.iWBXDMlFt-7XeYCI7i6sN_UJMxavAFct5aSYdErf8i0", 1795456931 + 301, 50123,
         -ETIMEDOUT},
        {"1795456931.iWBXDMlFt-7XeYCI7i6sN_UJMxavAFct5aSYdErf8i0", 1795456931 - 301, 50123,
         -ETIMEDOUT},
        {"1795456931.iWBXDMlFt-7XeYCI7i6sN_UJMxavAFct5aSYdErf8i0", 1795456931, 50124, -EACCES},
        {"1795456932.iWBXDMlFt-7XeYCI7i6sN_UJMxavAFct5aSYdErf8i0", 1795456931, 50123, -EACCES},
        {"1795456931.iWBXDMlFt-7XeYCI7i6sN_UJMxavAFct5aSYdErf8i", 1795456931, 50123, -EACCES},
        {"1795456931.iWBXDMlFt-7XeYCI7i6sN_UJMxavAFct5aSYdErf8i0A", 1795456931, 50123, -EACCES},
        {"1795456931.", 1795456931, 50123, -EACCES},
        {"1795456931", 1795456931, 50123, -EINVAL},
        {".iWBX", 1795456931, 50123, -EINVAL},
        {"-1795456931.iWBX", 1795456931, 50123, -EINVAL},
        {"9999999999999.x", 1795456931, 50123, -EINVAL},
        {"", 1795456931, 50123, -EINVAL},
    };
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = wamp_wstun_verify(SECRET, strlen(SECRET), UUID, cases[i].port, cases[i].auth,
                                   cases[i].now, &err);

        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): %d, want %d", i, cases[i].auth, rc, cases[i].rc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_challenge_text_is_the_contracts),
        cmocka_unit_test(test_new_challenge_is_fresh),
        cmocka_unit_test(test_signature_vector),
        cmocka_unit_test(test_verify_refuses_near_misses),
        cmocka_unit_test(test_wstun_vector),
        cmocka_unit_test(test_wstun_window_and_forgeries),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
