/* Unit tests for common/timeutil: the contract's time formats and parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/timeutil.h"

static const int64_t T = 1795456931204518LL; /* 2026-11-23T18:02:11.204518Z */

static void test_format_styles(void **state)
{
    char out[TIME_ISO_LEN];

    (void)state;
    assert_string_equal(time_format(T, TIME_OFFSET_US, out), "2026-11-23T18:02:11.204518+00:00");
    assert_string_equal(time_format(T, TIME_Z_US, out), "2026-11-23T18:02:11.204518Z");
    assert_string_equal(time_format(T, TIME_Z_MS, out), "2026-11-23T18:02:11.204Z");
    assert_string_equal(time_format(T, TIME_Z_SEC, out), "2026-11-23T18:02:11Z");
    assert_string_equal(time_format(T, TIME_SPACE_US, out), "2026-11-23 18:02:11.204518");
}

static void test_parse(void **state)
{
    static const struct {
        const char *text;
        int64_t want;
    } good[] = {
        { "2026-11-23T18:02:11.204518Z", T },
        { "2026-11-23T18:02:11.204518+00:00", T },
        { "2026-11-23 18:02:11.204518", T },
        { "2026-11-23T19:02:11.204518+01:00", T },
        { "2026-11-23T18:02:11Z", T - 204518 },
        { "2026-11-23T18:02", T - 11204518 },
    };
    static const char *const badtimes[] = {
        "", "2026-11-23", "2026-13-01T00:00", "2026-02-31T00:00", "2026-11-23T18:02:11Q",
        "2026-11-23T18:02:11+0", "tomorrow",
    };
    int64_t v;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(time_parse(good[i].text, &v), 0);
        assert_int_equal(v, good[i].want);
    }
    for (size_t i = 0; i < sizeof(badtimes) / sizeof(badtimes[0]); i++)
        assert_int_equal(time_parse(badtimes[i], &v), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_styles),
        cmocka_unit_test(test_parse),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
