/* Unit tests for common/json: whole-buffer parsing and validated getters. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "common/xalloc.h"

static void test_parse_refuses_garbage(void **state)
{
    static const char *const badtexts[] = { "", "{", "{} x", "[1,]", "nul", "{\"a\":1}}" };
    cJSON *j = NULL;
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(badtexts) / sizeof(badtexts[0]); i++) {
        assert_int_equal(json_parse(badtexts[i], strlen(badtexts[i]), &j, &err), -EINVAL);
        assert_null(j);
    }
    assert_int_equal(json_parse(" {\"a\": 1}\n", 10, &j, &err), 0);
    cJSON_Delete(j);
}

static void test_getters(void **state)
{
    const char *text = "{\"s\":\"abc\",\"i\":42,\"f\":1.5,\"b\":true,\"n\":null,\"o\":{},\"a\":[]}";
    cJSON *j;
    struct error err;
    const char *s;
    int64_t i;
    int b;
    double d;
    const cJSON *o;

    (void)state;
    assert_int_equal(json_parse(text, strlen(text), &j, &err), 0);
    assert_int_equal(json_get_str(j, "s", JSON_REQUIRED, 3, &s, &err), 0);
    assert_string_equal(s, "abc");
    assert_int_equal(json_get_str(j, "s", JSON_REQUIRED, 2, &s, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "s is longer than 2"));
    assert_int_equal(json_get_str(j, "i", 0, 10, &s, &err), -EINVAL);
    assert_int_equal(json_get_str(j, "missing", 0, 10, &s, &err), -ENOENT);
    assert_int_equal(json_get_str(j, "missing", JSON_REQUIRED, 10, &s, &err), -ENOENT);
    assert_string_equal(err.msg, "missing missing");
    assert_int_equal(json_get_str(j, "n", JSON_NULLABLE, 10, &s, &err), 1);
    assert_null(s);
    assert_int_equal(json_get_str(j, "n", 0, 10, &s, &err), -EINVAL);
    assert_int_equal(json_get_int(j, "i", 0, 0, 100, &i, &err), 0);
    assert_int_equal(i, 42);
    assert_int_equal(json_get_int(j, "i", 0, 0, 41, &i, &err), -EINVAL);
    assert_int_equal(json_get_int(j, "f", 0, 0, 100, &i, &err), -EINVAL);
    assert_int_equal(json_get_double(j, "f", 0, &d, &err), 0);
    assert_int_equal(json_get_bool(j, "b", 0, &b, &err), 0);
    assert_int_equal(b, 1);
    assert_int_equal(json_get_bool(j, "i", 0, &b, &err), -EINVAL);
    assert_int_equal(json_get_object(j, "o", 0, &o, &err), 0);
    assert_int_equal(json_get_object(j, "a", 0, &o, &err), -EINVAL);
    assert_int_equal(json_get_array(j, "a", 0, &o, &err), 0);
    cJSON_Delete(j);
}

static void test_print_roundtrip(void **state)
{
    cJSON *o = cJSON_CreateObject();
    char *s;

    (void)state;
    json_add_str_or_null(o, "a", NULL);
    json_add_int(o, "n", 9007199254740992LL);
    s = json_print(o);
    assert_string_equal(s, "{\"a\":null,\"n\":9007199254740992}");
    free(s);
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_refuses_garbage),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_print_roundtrip),
    };

    xalloc_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
