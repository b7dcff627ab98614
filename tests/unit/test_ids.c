/* Unit tests for common/uuid, common/encode and common/crypto. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/uuid.h"

static void test_uuid_forms(void **state)
{
    static const char *const good[] = {
        "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52", "6B1F0C1E6F0E4C439D8E0C3F7D1B9A52",
        "{6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52}", "urn:uuid:6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52",
    };
    static const char *const badids[] = {
        "", "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a5", "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52a",
        "6b1f0c1e+6f0e-4c43-9d8e-0c3f7d1b9a52", "g b1f0c1e6f0e4c439d8e0c3f7d1b9a52", "bench-07",
        "{6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52",
    };
    char out[UUID_STR_LEN];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(uuid_normalize(good[i], out), 0);
        assert_string_equal(out, "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52");
    }
    for (size_t i = 0; i < sizeof(badids) / sizeof(badids[0]); i++)
        assert_int_equal(uuid_normalize(badids[i], out), -EINVAL);
    uuid_v4(out);
    assert_int_equal(strlen(out), 36);
    assert_int_equal(out[14], '4');
    assert_true(uuid_is_like(out));
}

static void test_rand_id53_range(void **state)
{
    (void)state;
    for (int i = 0; i < 10000; i++) {
        uint64_t v = rand_id53();

        assert_true(v >= 1 && v <= ((uint64_t)1 << 53));
    }
}

static void test_base64(void **state)
{
    char out[64];
    unsigned char back[64];

    (void)state;
    assert_int_equal(base64_encode("foobar", 6, out, BASE64_STD), 8);
    assert_string_equal(out, "Zm9vYmFy");
    base64_encode("fo", 2, out, BASE64_STD);
    assert_string_equal(out, "Zm8=");
    base64_encode("\xfb\xff", 2, out, BASE64_URL_NOPAD);
    assert_string_equal(out, "-_8");
    assert_int_equal(base64_decode("-_8", 3, back, sizeof(back)), 2);
    assert_memory_equal(back, "\xfb\xff", 2);
    assert_int_equal(base64_decode("Zm8=", 4, back, sizeof(back)), 2);
    assert_int_equal(base64_decode("Z", 1, back, sizeof(back)), -EINVAL);
    assert_int_equal(base64_decode("Zm*=", 4, back, sizeof(back)), -EINVAL);
    assert_int_equal(base64_decode("Zm9vYmFy", 8, back, 5), -EINVAL);
}

/* The WAMP-CRA test vector of board-protocol.md 4.3. */
static void test_wampcra_vector(void **state)
{
    const char *secret = "Vq3T0n5xQm6b2wYk8rJdZ1pLcF7hEsUa4NgRiO9tKyA";
    const char *challenge =
        "{\"authid\":\"6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52\",\"authrole\":\"board\","
        "\"authmethod\":\"wampcra\",\"authprovider\":\"iotronic\",\"nonce\":"
        "\"kY2x0NqT3mZ8vR1wC5hJ9a\",\"timestamp\":\"2026-11-23T18:02:11.204Z\","
        "\"session\":4739282046471166}";
    unsigned char mac[SHA256_LEN];
    char sig[BASE64_ENC_LEN(SHA256_LEN)];

    (void)state;
    crypto_hmac_sha256(secret, strlen(secret), challenge, strlen(challenge), mac);
    base64_encode(mac, sizeof(mac), sig, BASE64_STD);
    assert_string_equal(sig, "xPYYDMKKleGD/sUwwtb5stSRjcbp06SUi3BbWog2T5I=");
}

/* The tunnel proof test vector of board-protocol.md 9.5. */
static void test_wstun_vector(void **state)
{
    const char *secret = "Vq3T0n5xQm6b2wYk8rJdZ1pLcF7hEsUa4NgRiO9tKyA";
    const char *msg = "wstun|6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52|50123|1795456931";
    unsigned char mac[SHA256_LEN];
    char sig[BASE64_ENC_LEN(SHA256_LEN)];

    (void)state;
    crypto_hmac_sha256(secret, strlen(secret), msg, strlen(msg), mac);
    base64_encode(mac, sizeof(mac), sig, BASE64_URL_NOPAD);
    assert_string_equal(sig, "iWBXDMlFt-7XeYCI7i6sN_UJMxavAFct5aSYdErf8i0");
}

static void test_digest(void **state)
{
    struct crypto_digest *d = crypto_digest_new(0);
    char hex[65];

    (void)state;
    crypto_digest_update(d, "abc", 3);
    crypto_digest_final(d, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    d = crypto_digest_new(1);
    crypto_digest_update(d, "abc", 3);
    crypto_digest_final(d, hex);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_forms),   cmocka_unit_test(test_rand_id53_range),
        cmocka_unit_test(test_base64),       cmocka_unit_test(test_wampcra_vector),
        cmocka_unit_test(test_wstun_vector), cmocka_unit_test(test_digest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
