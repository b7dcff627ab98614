/* Unit tests for qmodel/cron: job patterns (deviceless-api.md 2.8). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "common/timeutil.h"
#include "qmodel/cron.h"

static int64_t at(const char *iso)
{
    int64_t t = 0;

    assert_int_equal(time_parse(iso, &t), 0);
    return t;
}

static void expect_next(const char *pattern, const char *from, int inclusive, const char *want)
{
    struct qm_cron c;
    struct error err;
    int64_t next;
    char out[TIME_ISO_LEN];

    if (qm_cron_parse(pattern, &c, &err) != 0)
        fail_msg("%s: %s", pattern, err.msg);
    assert_int_equal(qm_cron_next(&c, at(from), inclusive, &next), 0);
    if (next != at(want))
        fail_msg("%s from %s: got %s, want %s", pattern, from, time_format(next, TIME_Z_SEC, out),
                 want);
}

static void test_next_matches(void **state)
{
    (void)state;
    expect_next("* * * * *", "2026-11-25T10:00:30Z", 0, "2026-11-25T10:01:00Z");
    expect_next("* * * * *", "2026-11-25T10:01:00Z", 1, "2026-11-25T10:01:00Z");
    expect_next("* * * * *", "2026-11-25T10:01:00Z", 0, "2026-11-25T10:02:00Z");
    expect_next("*/15 * * * *", "2026-11-25T10:01:00Z", 0, "2026-11-25T10:15:00Z");
    expect_next("5-10/2 3 * * *", "2026-11-25T04:00:00Z", 0, "2026-11-26T03:05:00Z");
    expect_next("0 0 1 jan *", "2026-11-25T00:00:00Z", 0, "2027-01-01T00:00:00Z");
    expect_next("0 12 * * sat", "2026-11-25T00:00:00Z", 0, "2026-11-28T12:00:00Z");
    expect_next("0 12 * * 7", "2026-11-25T00:00:00Z", 0, "2026-11-29T12:00:00Z");
    /* Both day fields restricted: either matches (the 1st, or a Sunday). */
    expect_next("0 0 1 * sun", "2026-11-25T00:00:00Z", 0, "2026-11-29T00:00:00Z");
    expect_next("0 0 29 2 *", "2026-03-01T00:00:00Z", 0, "2028-02-29T00:00:00Z");
    expect_next("@hourly", "2026-11-25T10:00:00Z", 0, "2026-11-25T11:00:00Z");
    expect_next("@daily", "2026-11-25T10:00:00Z", 0, "2026-11-26T00:00:00Z");
    expect_next("@weekly", "2026-11-25T10:00:00Z", 0, "2026-11-29T00:00:00Z");
    expect_next("@monthly", "2026-11-25T10:00:00Z", 0, "2026-12-01T00:00:00Z");
    expect_next("@yearly", "2026-11-25T10:00:00Z", 0, "2027-01-01T00:00:00Z");
    /* The sixth field holds seconds. */
    expect_next("* * * * * */10", "2026-11-25T10:00:01Z", 0, "2026-11-25T10:00:10Z");
    expect_next("0,30 * * * * 5", "2026-11-25T10:00:05Z", 0, "2026-11-25T10:30:05Z");
    /* A fraction of a second moves to the next whole second first. */
    expect_next("* * * * * *", "2026-11-25T10:00:01.5Z", 1, "2026-11-25T10:00:02Z");
}

static void test_refuses_bad_patterns(void **state)
{
    static const char *const bad[] = {
        "",
        "* * * *",
        "* * * * * * *",
        "60 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * 32 * *",
        "* * * 13 *",
        "* * * * 8",
        "*/0 * * * *",
        "a * * * *",
        "5-1 * * * *",
        "1,,2 * * * *",
        "0 0 30 2 *",
        "@often",
        "* * * foo *",
        "1-2-3 * * * *",
        "*/100 * * * *",
    };
    struct qm_cron c;
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (qm_cron_parse(bad[i], &c, &err) != -EINVAL)
            fail_msg("accepted %s", bad[i]);
}

static void test_length_limit(void **state)
{
    char p[300];
    struct qm_cron c;
    struct error err;
    size_t n = 0;

    (void)state;
    n += (size_t)snprintf(p, sizeof(p), "0");
    while (n < 250)
        n += (size_t)snprintf(p + n, sizeof(p) - n, ",0");
    n += (size_t)snprintf(p + n, sizeof(p) - n, " * * * *");
    assert_true(n > 255);
    assert_int_equal(qm_cron_parse(p, &c, &err), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_matches),
        cmocka_unit_test(test_refuses_bad_patterns),
        cmocka_unit_test(test_length_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
