/* Unit tests for the wagent's tables and limits: keytab (sessions by id,
 * boards by UUID), interned method names, the token buckets, the WAMP-CRA
 * failure counter per address and the handshake rate. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "wagent/keytab.h"
#include "wagent/limits.h"
#include "wagent/names.h"

static void test_keytab_put_get_del_many(void **state)
{
    struct wag_keytab t = {0};
    enum { N = 20000 };
    static int vals[N];
    size_t pos = 0, seen = 0;

    (void)state;
    for (int i = 0; i < N; i++)
        assert_int_equal(wag_keytab_put(&t, wag_key_id((uint64_t)i * 7919 + 1), &vals[i]), 0);
    assert_int_equal(t.n, N);
    assert_true(t.cap >= 2 * N);
    assert_int_equal(wag_keytab_put(&t, wag_key_id(1), &vals[0]), -EEXIST);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(wag_keytab_get(&t, wag_key_id((uint64_t)i * 7919 + 1)), &vals[i]);
    /* Delete every other key: backward shifting must keep the rest findable. */
    for (int i = 0; i < N; i += 2)
        assert_ptr_equal(wag_keytab_del(&t, wag_key_id((uint64_t)i * 7919 + 1)), &vals[i]);
    assert_null(wag_keytab_del(&t, wag_key_id(1)));
    for (int i = 0; i < N; i++)
        assert_ptr_equal(wag_keytab_get(&t, wag_key_id((uint64_t)i * 7919 + 1)),
                         i % 2 ? &vals[i] : NULL);
    while (wag_keytab_next(&t, &pos) != NULL)
        seen++;
    assert_int_equal(seen, N / 2);
    wag_keytab_free(&t);
    assert_null(wag_keytab_get(&t, wag_key_id(3)));
    assert_null(wag_keytab_del(&t, wag_key_id(3)));
}

static void test_uuid_keys_ignore_form(void **state)
{
    struct wag_key a, b, c;

    (void)state;
    assert_int_equal(wag_key_uuid("6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52", &a), 0);
    assert_int_equal(wag_key_uuid("6B1F0C1E6F0E4C439D8E0C3F7D1B9A52", &b), 0);
    assert_int_equal(wag_key_uuid("{6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a53}", &c), 0);
    assert_true(a.hi == b.hi && a.lo == b.lo);
    assert_true(a.hi == 0x6b1f0c1e6f0e4c43ull && a.lo == 0x9d8e0c3f7d1b9a52ull);
    assert_false(a.lo == c.lo);
    assert_int_equal(wag_key_uuid("not-a-uuid", &c), -EINVAL);
    assert_int_equal(wag_key_uuid(NULL, &c), -EINVAL);
}

static void test_names_are_shared_and_freed(void **state)
{
    struct wag_names t = {0};
    const struct wag_name *a, *b, *c;
    char name[32];

    (void)state;
    assert_null(wag_names_find(&t, "DevicePing", 10));
    a = wag_names_get(&t, "DevicePing", 10);
    b = wag_names_get(&t, "DevicePing", 10);
    c = wag_names_get(&t, "DeviceEcho", 10);
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    assert_string_equal(a->s, "DevicePing");
    assert_ptr_equal(wag_names_find(&t, "DevicePing", 10), a);
    assert_null(wag_names_find(&t, "DevicePin", 9));
    wag_names_put(&t, a);
    assert_ptr_equal(wag_names_find(&t, "DevicePing", 10), b);
    wag_names_put(&t, b);
    assert_null(wag_names_find(&t, "DevicePing", 10));
    assert_ptr_equal(wag_names_find(&t, "DeviceEcho", 10), c);
    /* Growth and deletion with many names. */
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "M%d", i);
        (void)wag_names_get(&t, name, strlen(name));
    }
    for (int i = 0; i < 1000; i += 3) {
        snprintf(name, sizeof(name), "M%d", i);
        wag_names_put(&t, wag_names_find(&t, name, strlen(name)));
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "M%d", i);
        if ((i % 3 == 0) != (wag_names_find(&t, name, strlen(name)) == NULL))
            fail_msg("name %s", name);
    }
    assert_int_equal(t.n, 1 + 1000 - 334);
    wag_names_free(&t);
}

static void test_bucket_rate_and_burst(void **state)
{
    struct wag_bucket b;
    int ok = 0;

    (void)state;
    wag_bucket_init(&b, WAG_CALLEE_BURST, 100.0);
    for (int i = 0; i < 100; i++)
        ok += wag_bucket_take(&b, WAG_CALLEE_RATE, WAG_CALLEE_BURST, 100.0);
    assert_int_equal(ok, 64); /* the burst */
    assert_int_equal(wag_bucket_take(&b, WAG_CALLEE_RATE, WAG_CALLEE_BURST, 100.05), 0);
    ok = 0;
    for (int i = 0; i < 100; i++)
        ok += wag_bucket_take(&b, WAG_CALLEE_RATE, WAG_CALLEE_BURST, 101.0);
    assert_int_equal(ok, 16); /* one second at 16/s */
    ok = 0;
    for (int i = 0; i < 200; i++)
        ok += wag_bucket_take(&b, WAG_CALLEE_RATE, WAG_CALLEE_BURST, 1000.0);
    assert_int_equal(ok, 64); /* never more than the burst */
}

static struct wag_key addr4(const char *ip)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct wag_key k;

    assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
    assert_int_equal(wag_addr_key((struct sockaddr *)&sa, &k), 0);
    return k;
}

static void test_authfail_blocks_after_five_in_a_minute(void **state)
{
    struct wag_authfail f = {0};
    struct wag_key a = addr4("192.0.2.1"), b = addr4("192.0.2.2");
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6};
    struct wag_key m;

    (void)state;
    for (int i = 0; i < 4; i++) {
        wag_authfail_record(&f, a, 10.0 + i);
        assert_false(wag_authfail_blocked(&f, a, 10.0 + i));
    }
    wag_authfail_record(&f, a, 20.0);
    assert_true(wag_authfail_blocked(&f, a, 20.0));
    assert_true(wag_authfail_blocked(&f, a, 79.9));
    assert_false(wag_authfail_blocked(&f, a, 80.0));
    assert_false(wag_authfail_blocked(&f, b, 20.0));
    /* Failures spread over more than a minute do not add up. */
    for (int i = 0; i < 10; i++)
        wag_authfail_record(&f, b, 100.0 + i * 20.0);
    assert_false(wag_authfail_blocked(&f, b, 300.0));
    /* IPv4 and its IPv4-mapped IPv6 form are one address. */
    assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.1", &sa6.sin6_addr), 1);
    assert_int_equal(wag_addr_key((struct sockaddr *)&sa6, &m), 0);
    assert_true(m.hi == a.hi && m.lo == a.lo);
    wag_authfail_free(&f);
}

static void test_authfail_memory_is_bounded(void **state)
{
    struct wag_authfail f = {0};

    (void)state;
    for (uint64_t i = 0; i < WAG_AUTHFAIL_ENTRIES + 500; i++)
        wag_authfail_record(&f, wag_key_id(i + 1), 1.0 + (double)i * 1e-4);
    assert_true(wag_authfail_count(&f) <= WAG_AUTHFAIL_ENTRIES);
    /* Old entries expire and are swept when room is needed. */
    wag_authfail_record(&f, wag_key_id(999999999), 1000.0);
    assert_true(wag_authfail_count(&f) < 10);
    wag_authfail_free(&f);
}

static void test_handshake_rate_windows(void **state)
{
    struct wag_hsrate r = {0};
    int ok = 0;

    (void)state;
    for (int i = 0; i < 10; i++)
        ok += wag_hsrate_take(&r, 5, 50.0 + i * 0.01);
    assert_int_equal(ok, 5);
    assert_int_equal(wag_hsrate_take(&r, 5, 51.0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keytab_put_get_del_many),
        cmocka_unit_test(test_uuid_keys_ignore_form),
        cmocka_unit_test(test_names_are_shared_and_freed),
        cmocka_unit_test(test_bucket_rate_and_burst),
        cmocka_unit_test(test_authfail_blocks_after_five_in_a_minute),
        cmocka_unit_test(test_authfail_memory_is_bounded),
        cmocka_unit_test(test_handshake_rate_windows),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
