/* Unit tests for src/ctr_capture: bounded head/tail capture and the
 * truncation line of deviceless-api.md 2.6.4. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "src/ctr_capture.h"

static char *take(struct ctr_capture *c, int marker)
{
    size_t len;
    char *s = ctr_capture_take(c, marker, &len);

    assert_int_equal(strlen(s), len);
    return s;
}

static void test_empty_and_exact_budget(void **state)
{
    struct ctr_capture c;
    char *s;

    (void)state;
    ctr_capture_init(&c, 4, 4);
    s = take(&c, 1);
    assert_string_equal(s, "");
    free(s);
    ctr_capture_add(&c, "abcdefgh", 8); /* exactly the budget: nothing dropped */
    assert_int_equal(ctr_capture_dropped(&c), 0);
    s = take(&c, 1);
    assert_string_equal(s, "abcdefgh");
    free(s);
    ctr_capture_free(&c);
}

static void test_one_over_budget_gets_the_marker(void **state)
{
    struct ctr_capture c;
    char *s;

    (void)state;
    ctr_capture_init(&c, 4, 4);
    ctr_capture_add(&c, "abcdefghi", 9);
    assert_int_equal(ctr_capture_dropped(&c), 1);
    s = take(&c, 1);
    assert_string_equal(s, "abcd\n[log truncated: 1 bytes dropped]\nfghi");
    free(s);
    ctr_capture_free(&c);
}

static void test_head_ending_in_newline_needs_no_extra_one(void **state)
{
    struct ctr_capture c;
    char *s;

    (void)state;
    ctr_capture_init(&c, 4, 3);
    ctr_capture_add(&c, "abc\n", 4);
    for (int i = 0; i < 10; i++)
        ctr_capture_add(&c, "xyz", 3);
    ctr_capture_add(&c, "12\n", 3);
    s = take(&c, 1);
    assert_string_equal(s, "abc\n[log truncated: 30 bytes dropped]\n12\n");
    free(s);
    ctr_capture_free(&c);
}

static void test_ring_wraps_in_small_writes(void **state)
{
    struct ctr_capture c;
    char buf[2], *s;

    (void)state;
    ctr_capture_init(&c, 0, 5);
    for (int i = 0; i < 26; i++) {
        buf[0] = (char)('a' + i);
        ctr_capture_add(&c, buf, 1);
    }
    s = take(&c, 0); /* no marker: a plugin's stderr tail */
    assert_string_equal(s, "vwxyz");
    free(s);
    ctr_capture_add(&c, "0123456789", 10); /* one write larger than the ring */
    s = take(&c, 0);
    assert_string_equal(s, "56789");
    free(s);
    ctr_capture_free(&c);
}

static void test_head_only(void **state)
{
    struct ctr_capture c;
    char *s;

    (void)state;
    ctr_capture_init(&c, 3, 0);
    ctr_capture_add(&c, "abcdef", 6);
    assert_int_equal(ctr_capture_dropped(&c), 3);
    s = take(&c, 0);
    assert_string_equal(s, "abc");
    free(s);
    ctr_capture_free(&c);
}

static void test_large_stream_keeps_exact_ends(void **state)
{
    struct ctr_capture c;
    char line[32], *s, want[64];
    size_t len;

    (void)state;
    ctr_capture_init(&c, 131072, 131072);
    for (int i = 0; i < 100000; i++) {
        len = (size_t)snprintf(line, sizeof(line), "line %d\n", i);
        ctr_capture_add(&c, line, len);
    }
    s = ctr_capture_take(&c, 1, &len);
    assert_true(len < 262144 + 64);
    assert_memory_equal(s, "line 0\nline 1\n", 14);
    snprintf(want, sizeof(want), "line %d\n", 99999);
    assert_string_equal(s + len - strlen(want), want);
    assert_non_null(strstr(s, "[log truncated: "));
    free(s);
    ctr_capture_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_exact_budget),
        cmocka_unit_test(test_one_over_budget_gets_the_marker),
        cmocka_unit_test(test_head_ending_in_newline_needs_no_extra_one),
        cmocka_unit_test(test_ring_wraps_in_small_writes),
        cmocka_unit_test(test_head_only),
        cmocka_unit_test(test_large_stream_keeps_exact_ends),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
