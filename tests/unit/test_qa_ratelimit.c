/* Unit tests for qapi/ratelimit: webhook token buckets (2.9). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "qapi/ratelimit.h"

static void test_burst_then_rate(void **state)
{
    struct qa_ratelimit *rl = qa_ratelimit_new(10, 20);
    int64_t t = 1000000;
    int ok = 0;

    (void)state;
    for (int i = 0; i < 25; i++)
        ok += qa_ratelimit_take(rl, "w1", t);
    assert_int_equal(ok, 20);
    /* Another key has its own bucket. */
    assert_true(qa_ratelimit_take(rl, "w2", t));
    /* 10 per second: 100 ms gives one more token. */
    assert_true(qa_ratelimit_take(rl, "w1", t + 100000));
    assert_false(qa_ratelimit_take(rl, "w1", t + 100000));
    /* Refills up to the burst, not beyond. */
    ok = 0;
    for (int i = 0; i < 30; i++)
        ok += qa_ratelimit_take(rl, "w1", t + 60000000);
    assert_int_equal(ok, 20);
    qa_ratelimit_free(rl);
}

static void test_table_is_bounded(void **state)
{
    struct qa_ratelimit *rl = qa_ratelimit_new(1, 1);
    char key[32];

    (void)state;
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_true(qa_ratelimit_take(rl, key, 1000 + i));
    }
    qa_ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_table_is_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
