/* Unit tests for qmodel/devices and qmodel/elig: declared devices (3.4.2)
 * and board eligibility (3.3). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "qmodel/devices.h"
#include "qmodel/elig.h"

static int parse(const char *json, struct qm_device *devs, size_t *n, struct error *err)
{
    cJSON *arr = NULL;
    int rc;

    assert_int_equal(json_parse(json, strlen(json), &arr, NULL), 0);
    rc = qm_devices_parse(arr, devs, n, err);
    cJSON_Delete(arr);
    return rc;
}

static void test_devices_accepts_and_normalises(void **state)
{
    struct qm_device d[QM_DEVICES_MAX];
    struct error err;
    char text[64];
    size_t n;

    (void)state;
    assert_int_equal(
        parse("[\"gpio:sim0:017:out\", \"gpio:gpiochip0:3:in\", \"sensor:temp0\"]", d, &n, &err),
        0);
    assert_int_equal(n, 3);
    assert_string_equal(qm_device_format(&d[0], text, sizeof(text)), "gpio:sim0:17:out");
    assert_string_equal(qm_device_format(&d[1], text, sizeof(text)), "gpio:gpiochip0:3:in");
    assert_string_equal(qm_device_format(&d[2], text, sizeof(text)), "sensor:temp0");
    assert_int_equal(parse("[]", d, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(qm_devices_parse(NULL, d, &n, &err), 0);
}

static void test_devices_refuses(void **state)
{
    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"[\"gpio:sim0:17\"]",
         "Invalid device gpio:sim0:17: expected gpio:<chip>:<line>:<in|out>."},
        {"[\"gpio:sim0:x:in\"]",
         "Invalid device gpio:sim0:x:in: the line must be a decimal offset."},
        {"[\"gpio:sim0:1:both\"]",
         "Invalid device gpio:sim0:1:both: the direction must be in or out."},
        {"[\"gpio::1:in\"]",
         "Invalid device gpio::1:in: a chip name is 1 to 32 of A-Z a-z 0-9 _ -."},
        {"[\"sensor:a b\"]",
         "Invalid device sensor:a b: a sensor name is 1 to 32 of A-Z a-z 0-9 _ -."},
        {"[\"usb:1\"]",
         "Invalid device usb:1: expected gpio:<chip>:<line>:<in|out> or sensor:<name>."},
        {"[\"gpio:c:1:in\", \"gpio:c:1:out\"]",
         "Invalid device gpio:c:1:out: a line cannot be both in and out."},
        {"[\"sensor:t\", \"sensor:t\"]", "Invalid device sensor:t: declared twice."},
        {"[17]", "Invalid device 17: a device is a string."},
        {"{\"a\":1}", "Invalid device {\"a\":1}: devices must be an array of strings."},
    };
    struct qm_device d[QM_DEVICES_MAX];
    struct error err;
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(bad[i].json, d, &n, &err), -EINVAL);
        assert_string_equal(err.msg, bad[i].msg);
    }
}

static void test_devices_limit_of_32(void **state)
{
    char json[4096];
    struct qm_device d[QM_DEVICES_MAX];
    struct error err;
    size_t n, len = 0;

    (void)state;
    len += (size_t)snprintf(json, sizeof(json), "[");
    for (int i = 0; i < 33; i++)
        len +=
            (size_t)snprintf(json + len, sizeof(json) - len, "%s\"sensor:s%d\"", i ? "," : "", i);
    snprintf(json + len, sizeof(json) - len, "]");
    assert_int_equal(parse(json, d, &n, &err), -EINVAL);
    assert_string_equal(err.msg, "Invalid device sensor:s32: at most 32 devices may be declared.");
}

static const char *CAPS =
    "{\"arch\": \"amd64\", \"executor\": \"crun\", \"max_concurrency\": 4,"
    " \"executor_detail\": {\"enforced\": {\"devices\": true}},"
    " \"gpio\": [{\"chip\": \"sim0\", \"lines\": 32, \"backend\": \"sim\", \"dev\": null},"
    "            {\"chip\": \"gpiochip0\", \"lines\": 54, \"backend\": \"libgpiod\","
    "             \"dev\": \"/dev/gpiochip0\"}],"
    " \"sensors\": [{\"name\": \"temp0\", \"kind\": \"sim\", \"unit\": \"C\"}],"
    " \"process_runtimes\": [],"
    " \"cache\": {\"runtimes\": [\"aa\"], \"packages\": [\"bb\"], \"free_bytes\": 1}}";

static int check(const char *caps_json, const char *devs_json, int raw, const char *arch,
                 struct error *err)
{
    struct qm_device d[QM_DEVICES_MAX];
    struct qm_need need = {0};
    cJSON *caps = NULL;
    size_t n = 0;
    int rc;

    assert_int_equal(json_parse(caps_json, strlen(caps_json), &caps, NULL), 0);
    assert_int_equal(parse(devs_json, d, &n, err), 0);
    need.devs = d;
    need.ndevs = n;
    need.raw = raw;
    need.arch = arch;
    need.runtime_name = "python3";
    rc = qm_elig_check(caps, &need, err);
    cJSON_Delete(caps);
    return rc;
}

static void test_elig(void **state)
{
    struct error err;

    (void)state;
    assert_int_equal(check(CAPS, "[\"gpio:sim0:17:out\", \"sensor:temp0\"]", 0, "amd64", &err), 0);
    assert_int_equal(check(CAPS, "[\"gpio:sim0:32:out\", \"sensor:lux0\"]", 0, NULL, &err), -EPERM);
    assert_string_equal(err.msg, "missing device(s) gpio:sim0:32:out, sensor:lux0");
    assert_int_equal(check(CAPS, "[]", 0, "arm64", &err), -EPERM);
    assert_string_equal(err.msg, "architecture amd64 does not match runtime architecture arm64");
    /* raw access needs a real node: the simulated chip has none */
    assert_int_equal(check(CAPS, "[\"gpio:gpiochip0:3:in\"]", 1, NULL, &err), 0);
    assert_int_equal(check(CAPS, "[\"gpio:sim0:3:in\"]", 1, NULL, &err), -EPERM);
    assert_string_equal(err.msg, "missing device(s) gpio:sim0:3:in");
    assert_int_equal(check("{\"executor\": \"none\"}", "[]", 0, NULL, &err), -EPERM);
    assert_string_equal(err.msg, "no executor available");
    assert_int_equal(check("{\"executor\": \"crun\", \"executor_detail\": {\"enforced\": "
                           "{\"devices\": false}}}",
                           "[]", 1, NULL, &err),
                     -EPERM);
    assert_string_equal(err.msg, "raw device access needs an executor that enforces device rules");
    assert_int_equal(check("{\"executor\": \"process\", \"process_runtimes\": [\"busybox\"]}", "[]",
                           0, NULL, &err),
                     -EPERM);
    assert_string_equal(err.msg, "runtime python3 has no process command");
    assert_int_equal(check("{\"executor\": \"process\", \"process_runtimes\": [\"python3\"]}", "[]",
                           0, NULL, &err),
                     0);
}

static void test_caps_helpers(void **state)
{
    cJSON *caps = NULL;

    (void)state;
    assert_int_equal(json_parse(CAPS, strlen(CAPS), &caps, NULL), 0);
    assert_int_equal(qm_caps_slots(caps), 4);
    assert_true(qm_caps_cached(caps, "packages", "bb"));
    assert_false(qm_caps_cached(caps, "packages", "aa"));
    assert_true(qm_caps_cached(caps, "runtimes", "aa"));
    assert_int_equal(qm_caps_slots(NULL), 1);
    cJSON_Delete(caps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devices_accepts_and_normalises),
        cmocka_unit_test(test_devices_refuses),
        cmocka_unit_test(test_devices_limit_of_32),
        cmocka_unit_test(test_elig),
        cmocka_unit_test(test_caps_helpers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
