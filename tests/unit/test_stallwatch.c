/* Unit tests for common/stallwatch: when a liveness checker may judge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/stallwatch.h"

#define S(x) ((int64_t)(x) * 1000000)

static void test_never_stalled_judges_from_the_first_check(void **state)
{
    struct stall_watch sw;

    (void)state;
    stall_watch_init(&sw, 1, 3, S(99));
    assert_true(stall_watch_may_judge(&sw, S(100)));
    for (int i = 0; i < 10; i++) {
        stall_watch_done(&sw, S(100 + i));
        assert_true(stall_watch_may_judge(&sw, S(100 + i)));
    }
}

static void test_a_gap_of_two_periods_is_not_a_stall(void **state)
{
    struct stall_watch sw;

    (void)state;
    stall_watch_init(&sw, 1, 3, S(9));
    stall_watch_done(&sw, S(10));
    stall_watch_done(&sw, S(12)); /* exactly two periods: a slow check */
    assert_true(stall_watch_may_judge(&sw, S(12)));
}

static void test_a_stall_silences_the_judge_for_the_window(void **state)
{
    struct stall_watch sw;

    (void)state;
    stall_watch_init(&sw, 1, 3, S(9));
    stall_watch_done(&sw, S(10));
    stall_watch_done(&sw, S(16)); /* the database held every beat for 6 s */
    assert_false(stall_watch_may_judge(&sw, S(16)));
    stall_watch_done(&sw, S(17));
    assert_false(stall_watch_may_judge(&sw, S(18) + 999999));
    stall_watch_done(&sw, S(18));
    assert_true(stall_watch_may_judge(&sw, S(19)));
    /* A second stall starts a new window from its own end. */
    stall_watch_done(&sw, S(30));
    assert_false(stall_watch_may_judge(&sw, S(31)));
    assert_true(stall_watch_may_judge(&sw, S(33)));
}

static void test_a_first_check_that_hangs_is_a_stall(void **state)
{
    struct stall_watch sw;

    (void)state;
    stall_watch_init(&sw, 1, 3, S(10)); /* started; the first check hangs */
    assert_true(stall_watch_may_judge(&sw, S(11)));
    stall_watch_done(&sw, S(17));
    assert_false(stall_watch_may_judge(&sw, S(18)));
    assert_true(stall_watch_may_judge(&sw, S(20)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_never_stalled_judges_from_the_first_check),
        cmocka_unit_test(test_a_gap_of_two_periods_is_not_a_stall),
        cmocka_unit_test(test_a_stall_silences_the_judge_for_the_window),
        cmocka_unit_test(test_a_first_check_that_hangs_is_a_stall),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
