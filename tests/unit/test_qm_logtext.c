/* Unit tests for qmodel/logtext: log truncation and UTF-8 repair (2.6.4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qmodel/logtext.h"

static void test_short_logs_unchanged(void **state)
{
    char *s = qm_log_clip("line 1\nline 2\n", 14, 100);

    (void)state;
    assert_string_equal(s, "line 1\nline 2\n");
    free(s);
}

static void test_truncation_keeps_both_ends(void **state)
{
    char in[1000], *s;

    (void)state;
    memset(in, 'a', 500);
    memset(in + 500, 'b', 500);
    s = qm_log_clip(in, 1000, 100);
    assert_int_equal(strncmp(s, "aaaaaaaaaa", 10), 0);
    assert_non_null(strstr(s, "\n[log truncated: 900 bytes dropped]\n"));
    assert_int_equal(strspn(strstr(s, "dropped]\n") + 9, "b"), 50);
    assert_int_equal(strlen(s), 50 + strlen("\n[log truncated: 900 bytes dropped]\n") + 50);
    free(s);
}

static void test_utf8_repair(void **state)
{
    static const char in[] = "ok \xff\xfe x \xc3\xa9 \xed\xa0\x80 \xc3";
    char *s = qm_utf8_fix(in, sizeof(in) - 1);

    (void)state;
    assert_string_equal(s, "ok \xEF\xBF\xBD\xEF\xBF\xBD x \xc3\xa9 "
                           "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD");
    free(s);
    s = qm_utf8_fix("a\0b", 3);
    assert_string_equal(s, "a\xEF\xBF\xBD"
                           "b");
    free(s);
}

static void test_cut_never_splits_a_character(void **state)
{
    char in[600], *s;

    (void)state;
    for (int i = 0; i < 300; i++)
        memcpy(in + 2 * i, "\xc3\xa9", 2);
    s = qm_log_clip(in, 600, 101);
    assert_null(strstr(s, "\xEF\xBF\xBD"));
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_logs_unchanged),
        cmocka_unit_test(test_truncation_keeps_both_ends),
        cmocka_unit_test(test_utf8_repair),
        cmocka_unit_test(test_cut_never_splits_a_character),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
