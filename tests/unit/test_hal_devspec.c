/* Unit tests for hal/devspec: the declared device specs of deviceless-api.md
 * 3.4.2, one by one and as lists, with the contract's error messages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "hal/devspec.h"

static const char *const good[] = {
    "gpio:gpiochip0:17:out",
    "gpio:sim0:0:in",
    "gpio:sim0:65535:in",
    "gpio:a:1:out",
    "gpio:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef:9:in", /* 32 characters */
    "gpio:my_chip-2:10:out",
    "sensor:temp0",
    "sensor:x",
    "sensor:28-0316a2795aff",
    "sensor:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef",
};

struct bad {
    const char *spec;
    const char *message;
};

static const struct bad bad[] = {
    {"", "Invalid device : expected gpio:<chip>:<line>:in|out or sensor:<name>."},
    {"gpio", "Invalid device gpio: expected gpio:<chip>:<line>:in|out or sensor:<name>."},
    {"GPIO:sim0:1:in",
     "Invalid device GPIO:sim0:1:in: expected gpio:<chip>:<line>:in|out or sensor:<name>."},
    {"gpio:sim0:1", "Invalid device gpio:sim0:1: expected gpio:<chip>:<line>:in or "
                    "gpio:<chip>:<line>:out."},
    {"gpio:sim0:1:in:x", "Invalid device gpio:sim0:1:in:x: expected gpio:<chip>:<line>:in or "
                         "gpio:<chip>:<line>:out."},
    {"gpio::1:in", "Invalid device gpio::1:in: the chip name must be 1 to 32 characters from "
                   "A-Z a-z 0-9 _ -."},
    {"gpio:sim/0:1:in", "Invalid device gpio:sim/0:1:in: the chip name must be 1 to 32 "
                        "characters from A-Z a-z 0-9 _ -."},
    {"gpio:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg:1:in",
     "Invalid device gpio:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg:1:in: the chip name must be 1 to "
     "32 characters from A-Z a-z 0-9 _ -."},
    {"gpio:sim0::in",
     "Invalid device gpio:sim0::in: the line must be a decimal offset from 0 to 65535."},
    {"gpio:sim0:-1:in",
     "Invalid device gpio:sim0:-1:in: the line must be a decimal offset from 0 to 65535."},
    {"gpio:sim0:017:in",
     "Invalid device gpio:sim0:017:in: the line must be a decimal offset from 0 to 65535."},
    {"gpio:sim0:65536:in",
     "Invalid device gpio:sim0:65536:in: the line must be a decimal offset from 0 to 65535."},
    {"gpio:sim0:1x:in",
     "Invalid device gpio:sim0:1x:in: the line must be a decimal offset from 0 to 65535."},
    {"gpio:sim0:1:IN", "Invalid device gpio:sim0:1:IN: the direction must be in or out."},
    {"gpio:sim0:1:", "Invalid device gpio:sim0:1:: the direction must be in or out."},
    {"gpio:sim0:1:inout", "Invalid device gpio:sim0:1:inout: the direction must be in or out."},
    {"sensor:", "Invalid device sensor:: the sensor name must be 1 to 32 characters from A-Z "
                "a-z 0-9 _ -."},
    {"sensor:a b", "Invalid device sensor:a b: the sensor name must be 1 to 32 characters "
                   "from A-Z a-z 0-9 _ -."},
    {"sensor:temp0:x", "Invalid device sensor:temp0:x: the sensor name must be 1 to 32 "
                       "characters from A-Z a-z 0-9 _ -."},
    {"camera:0", "Invalid device camera:0: expected gpio:<chip>:<line>:in|out or "
                 "sensor:<name>."},
};

static void test_devspec_accepts_valid_specs_and_prints_them_back(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct hal_devspec d;
        struct error err;
        char buf[HAL_DEVSPEC_MAX];

        assert_int_equal(hal_devspec_parse(good[i], &d, &err), 0);
        assert_string_equal(hal_devspec_format(&d, buf), good[i]);
    }
}

static void test_devspec_fields(void **state)
{
    struct hal_devspec d;
    struct error err;
    char buf[HAL_DEVSPEC_MAX];

    (void)state;
    assert_int_equal(hal_devspec_parse("gpio:gpiochip0:17:out", &d, &err), 0);
    assert_int_equal(d.kind, HAL_DEV_GPIO);
    assert_string_equal(d.name, "gpiochip0");
    assert_int_equal(d.line, 17);
    assert_int_equal(d.dir, HAL_DIR_OUT);
    assert_string_equal(hal_devspec_device(&d, buf), "gpio:gpiochip0:17");
    assert_int_equal(hal_devspec_parse("sensor:lux0", &d, &err), 0);
    assert_int_equal(d.kind, HAL_DEV_SENSOR);
    assert_string_equal(d.name, "lux0");
    assert_string_equal(hal_devspec_device(&d, buf), "sensor:lux0");
}

static void test_devspec_refuses_malformed_with_contract_message(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct hal_devspec d;
        struct error err;

        error_clear(&err);
        assert_int_equal(hal_devspec_parse(bad[i].spec, &d, &err), -EINVAL);
        assert_string_equal(err.msg, bad[i].message);
    }
}

static void test_devspec_long_input_is_truncated_in_message(void **state)
{
    char spec[2000];
    struct hal_devspec d;
    struct error err;

    (void)state;
    memset(spec, 'x', sizeof(spec) - 1);
    spec[sizeof(spec) - 1] = '\0';
    assert_int_equal(hal_devspec_parse(spec, &d, &err), -EINVAL);
    assert_true(strlen(err.msg) < 120);
    assert_non_null(strstr(err.msg, ": too long."));
}

static void test_devspec_list_rules(void **state)
{
    const char *ok[] = {"gpio:sim0:1:in", "gpio:sim0:2:out", "gpio:sim1:1:out", "sensor:temp0"};
    const char *dup[] = {"sensor:temp0", "gpio:sim0:1:in", "sensor:temp0"};
    const char *dup_line[] = {"gpio:sim0:1:out", "gpio:sim0:1:out"};
    const char *inout[] = {"gpio:sim0:1:in", "gpio:sim0:1:out"};
    const char *bad_second[] = {"gpio:sim0:1:in", "gpio:sim0:x:in"};
    struct hal_devspec out[40];
    struct error err;

    (void)state;
    assert_int_equal(hal_devspec_parse_list(ok, 4, out, &err), 0);
    assert_int_equal(out[3].kind, HAL_DEV_SENSOR);
    assert_int_equal(hal_devspec_parse_list(dup, 3, out, &err), -EINVAL);
    assert_string_equal(err.msg, "Invalid device sensor:temp0: declared twice.");
    assert_int_equal(hal_devspec_parse_list(dup_line, 2, out, &err), -EINVAL);
    assert_string_equal(err.msg, "Invalid device gpio:sim0:1:out: declared twice.");
    assert_int_equal(hal_devspec_parse_list(inout, 2, out, &err), -EINVAL);
    assert_string_equal(err.msg,
                        "Invalid device gpio:sim0:1:out: the line is declared both in and out.");
    assert_int_equal(hal_devspec_parse_list(bad_second, 2, out, &err), -EINVAL);
    assert_string_equal(
        err.msg,
        "Invalid device gpio:sim0:x:in: the line must be a decimal offset from 0 to 65535.");
    assert_int_equal(hal_devspec_parse_list(NULL, 0, out, &err), 0);
}

static void test_devspec_list_at_most_32(void **state)
{
    char texts[33][HAL_DEVSPEC_MAX];
    const char *specs[33];
    struct hal_devspec out[33];
    struct error err;

    (void)state;
    for (int i = 0; i < 33; i++) {
        snprintf(texts[i], sizeof(texts[i]), "gpio:sim0:%d:in", i);
        specs[i] = texts[i];
    }
    assert_int_equal(hal_devspec_parse_list(specs, 32, out, &err), 0);
    assert_int_equal(hal_devspec_parse_list(specs, 33, out, &err), -EINVAL);
    assert_string_equal(err.msg,
                        "Invalid device gpio:sim0:32:in: at most 32 devices can be declared.");
}

static int parse(const char *text, cJSON **out)
{
    struct error err;

    return json_parse(text, strlen(text), out, &err);
}

static void test_devspec_json(void **state)
{
    cJSON *arr = NULL;
    struct hal_devspec *list;
    struct error err;
    size_t n;

    (void)state;
    assert_int_equal(parse("[\"gpio:sim0:3:out\", \"sensor:lux0\"]", &arr), 0);
    assert_int_equal(hal_devspec_parse_json(arr, &list, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].line, 3);
    assert_string_equal(list[1].name, "lux0");
    free(list);
    cJSON_Delete(arr);

    assert_int_equal(parse("[\"sensor:lux0\", 7]", &arr), 0);
    assert_int_equal(hal_devspec_parse_json(arr, &list, &n, &err), -EINVAL);
    assert_string_equal(err.msg, "Invalid device 7: not a string.");
    assert_null(list);
    cJSON_Delete(arr);

    assert_int_equal(parse("[]", &arr), 0);
    assert_int_equal(hal_devspec_parse_json(arr, &list, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(list);
    cJSON_Delete(arr);

    assert_int_equal(parse("{}", &arr), 0);
    assert_int_equal(hal_devspec_parse_json(arr, &list, &n, &err), -EINVAL);
    assert_string_equal(err.msg, "devices must be an array of strings");
    cJSON_Delete(arr);
}

static void test_name_valid(void **state)
{
    (void)state;
    assert_true(hal_name_valid("a"));
    assert_true(hal_name_valid("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"));
    assert_false(hal_name_valid("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg"));
    assert_false(hal_name_valid(""));
    assert_false(hal_name_valid("a.b"));
    assert_false(hal_name_valid("a:b"));
    assert_false(hal_name_valid("\xc3\xa9"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devspec_accepts_valid_specs_and_prints_them_back),
        cmocka_unit_test(test_devspec_fields),
        cmocka_unit_test(test_devspec_refuses_malformed_with_contract_message),
        cmocka_unit_test(test_devspec_long_input_is_truncated_in_message),
        cmocka_unit_test(test_devspec_list_rules),
        cmocka_unit_test(test_devspec_list_at_most_32),
        cmocka_unit_test(test_devspec_json),
        cmocka_unit_test(test_name_valid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
