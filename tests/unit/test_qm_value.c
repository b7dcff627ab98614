/* Unit tests for qmodel/value and qmodel/input: field values (1.4) and
 * execution input kinds (2.6.2). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "qmodel/input.h"
#include "qmodel/value.h"

static void test_int(void **state)
{
    int64_t v;

    (void)state;
    assert_int_equal(qm_parse_int("42", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(qm_parse_int("-7", &v), 0);
    assert_int_equal(v, -7);
    assert_int_equal(qm_parse_int("+7", &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(qm_parse_int("9223372036854775807", &v), 0);
    static const char *const bad[] = {
        "", "+", "1.5", " 1", "1 ", "0x10", "abc", "9223372036854775808", "1e3", NULL};
    for (size_t i = 0; bad[i]; i++)
        assert_int_equal(qm_parse_int(bad[i], &v), -EINVAL);
}

static void test_bool(void **state)
{
    static const char *const yes[] = {"true", "T", "Yes", "y", "ON", "1"};
    static const char *const no[] = {"false", "F", "nO", "n", "off", "0"};
    int b;

    (void)state;
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(qm_parse_bool(yes[i], &b), 0);
        assert_int_equal(b, 1);
        assert_int_equal(qm_parse_bool(no[i], &b), 0);
        assert_int_equal(b, 0);
    }
    assert_int_equal(qm_parse_bool("2", &b), -EINVAL);
    assert_int_equal(qm_parse_bool("", &b), -EINVAL);
}

static void test_text_lengths_in_characters(void **state)
{
    char s[600];

    (void)state;
    memset(s, 'a', 255);
    s[255] = '\0';
    assert_true(qm_text_ok(s, 255));
    s[255] = 'a';
    s[256] = '\0';
    assert_false(qm_text_ok(s, 255));
    /* 255 two-byte characters are 510 bytes and still fit */
    for (int i = 0; i < 255; i++)
        memcpy(s + 2 * i, "\xc3\xa9", 2);
    s[510] = '\0';
    assert_true(qm_text_ok(s, 255));
    assert_false(qm_text_ok("\xff", 255));
    assert_true(qm_text_ok("", 255));
}

static void test_alias_names(void **state)
{
    (void)state;
    assert_true(qm_alias_name_ok("prod-v1.2_x~y"));
    assert_false(qm_alias_name_ok(""));
    assert_false(qm_alias_name_ok("a b"));
    assert_false(qm_alias_name_ok("a/b"));
    assert_false(qm_alias_name_ok("4c1a5e0e-5e4b-4f4e-9d2a-6c7b1f0e2d3c"));
    assert_false(qm_alias_name_ok("4c1a5e0e5e4b4f4e9d2a6c7b1f0e2d3c"));
}

static void test_entries(void **state)
{
    (void)state;
    assert_true(qm_entry_ok("main.main"));
    assert_true(qm_entry_ok("pkg/mod.fn"));
    assert_true(qm_entry_ok("a..b"));
    assert_false(qm_entry_ok(""));
    assert_false(qm_entry_ok("/abs"));
    assert_false(qm_entry_ok("../x"));
    assert_false(qm_entry_ok("a/../b"));
    assert_false(qm_entry_ok("a/.."));
    assert_false(qm_entry_ok("a b"));
    assert_false(qm_entry_ok(
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aa"));
}

static void test_input_kinds(void **state)
{
    char *s;

    (void)state;
    assert_int_equal(qm_input_classify(NULL), QM_INPUT_NONE);
    assert_int_equal(qm_input_classify(""), QM_INPUT_NONE);
    assert_int_equal(qm_input_classify(" {\"a\": 1} "), QM_INPUT_JSON);
    assert_int_equal(qm_input_classify("[1,2]"), QM_INPUT_RAW);
    assert_int_equal(qm_input_classify("42"), QM_INPUT_RAW);
    assert_int_equal(qm_input_classify("\"x\""), QM_INPUT_RAW);
    assert_int_equal(qm_input_classify("hello world"), QM_INPUT_RAW);
    assert_null(qm_input_stdin(NULL, QM_INPUT_NONE));
    s = qm_input_stdin("{\"b\":2, \"a\":1}", QM_INPUT_JSON);
    assert_string_equal(s, "{\"b\":2, \"a\":1}");
    free(s);
    s = qm_input_stdin("say \"hi\"\n", QM_INPUT_RAW);
    assert_string_equal(s, "\"say \\\"hi\\\"\\n\"");
    free(s);
}

static void test_input_words(void **state)
{
    cJSON *w = qm_input_words("  a\tbb  c \n");
    char *text = json_print(w);

    (void)state;
    assert_string_equal(text, "[\"a\",\"bb\",\"c\"]");
    free(text);
    cJSON_Delete(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_text_lengths_in_characters),
        cmocka_unit_test(test_alias_names),
        cmocka_unit_test(test_entries),
        cmocka_unit_test(test_input_kinds),
        cmocka_unit_test(test_input_words),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
