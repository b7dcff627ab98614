/* Unit tests for src/fn_map: the string-keyed hash map of records and
 * warm-pool groups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "src/fn_map.h"

static void test_put_get_replace_delete(void **state)
{
    struct fn_map m;
    int a = 1, b = 2;

    (void)state;
    fn_map_init(&m);
    assert_null(fn_map_get(&m, "x"));
    assert_null(fn_map_del(&m, "x"));
    assert_null(fn_map_put(&m, "x", &a));
    assert_ptr_equal(fn_map_get(&m, "x"), &a);
    assert_ptr_equal(fn_map_put(&m, "x", &b), &a);
    assert_ptr_equal(fn_map_get(&m, "x"), &b);
    assert_int_equal(m.len, 1);
    assert_ptr_equal(fn_map_del(&m, "x"), &b);
    assert_null(fn_map_get(&m, "x"));
    assert_int_equal(m.len, 0);
    fn_map_free(&m);
}

static void test_many_keys_with_churn(void **state)
{
    struct fn_map m;
    char key[32];
    static int vals[20000];

    (void)state;
    fn_map_init(&m);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 20000; i++) {
            snprintf(key, sizeof(key), "k%d", i);
            fn_map_put(&m, key, &vals[i]);
        }
        /* Delete the odd ones: tombstones must not break later lookups. */
        for (int i = 1; i < 20000; i += 2) {
            snprintf(key, sizeof(key), "k%d", i);
            assert_ptr_equal(fn_map_del(&m, key), &vals[i]);
        }
        for (int i = 0; i < 20000; i++) {
            snprintf(key, sizeof(key), "k%d", i);
            if (i % 2)
                assert_null(fn_map_get(&m, key));
            else
                assert_ptr_equal(fn_map_get(&m, key), &vals[i]);
        }
        assert_int_equal(m.len, 10000);
    }
    fn_map_free(&m);
}

static void test_iteration_allows_deleting_the_current_key(void **state)
{
    struct fn_map m;
    const char *k;
    void *v;
    size_t i = 0;
    int seen = 0, x = 0;
    char key[16];

    (void)state;
    fn_map_init(&m);
    for (int n = 0; n < 100; n++) {
        snprintf(key, sizeof(key), "%d", n);
        fn_map_put(&m, key, &x);
    }
    while (fn_map_next(&m, &i, &k, &v)) {
        seen++;
        fn_map_del(&m, k);
    }
    assert_int_equal(seen, 100);
    assert_int_equal(m.len, 0);
    fn_map_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace_delete),
        cmocka_unit_test(test_many_keys_with_churn),
        cmocka_unit_test(test_iteration_allows_deleting_the_current_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
