/* Unit tests for src/fn_result: the result of deviceless-api.md 2.6.3,
 * 3.5.7 and 3.5.8, its rule order and its exact strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "src/fn_result.h"

#define BOARD "6f1c2a8e-0b7d-4c1e-9a55-3d2b7e9f0a11"

static char *output_text(const char *data, size_t len)
{
    cJSON *v = fn_result_output(data, len);
    char *s = json_print(v);

    cJSON_Delete(v);
    return s;
}

static void check_output(const char *data, size_t len, const char *want)
{
    char *got = output_text(data, len);

    assert_string_equal(got, want);
    free(got);
}

static void test_result_file_values(void **state)
{
    (void)state;
    check_output("", 0, "null");
    check_output("{\"lamp\": \"on\"}", 14, "{\"lamp\":\"on\"}");
    check_output("  [1, 2]\n\n", 10, "[1,2]");
    check_output("42\n", 3, "42");
    check_output("on\n", 3, "\"on\"");
    check_output("on\n\n", 4, "\"on\\n\""); /* one trailing newline only */
    check_output("two words", 9, "\"two words\"");
    check_output("{bad", 4, "\"{bad\"");
    check_output("a\xff"
                 "b",
                 3,
                 "\"a\xef\xbf\xbd"
                 "b\"");
    check_output("\xc3\xa9t\xc3\xa9", 5, "\"\xc3\xa9t\xc3\xa9\"");
}

static void test_utf8_sanitize(void **state)
{
    struct {
        const char *in;
        size_t len;
        const char *out;
    } cases[] = {
        {"abc", 3, "abc"},
        {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong */
        {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
        {"\xf4\x90\x80\x80", 4,
         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
        {"\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd"},          /* truncated */
        {"a\0b", 3,
         "a\xef\xbf\xbd"
         "b"}, /* NUL */
        {"\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n;
        char *s = fn_utf8_sanitize(cases[i].in, cases[i].len, &n);

        assert_string_equal(s, cases[i].out);
        assert_int_equal(n, strlen(cases[i].out));
        free(s);
    }
}

static struct ctr_outcome ok_outcome(void)
{
    struct ctr_outcome o = {0};

    o.exit_code = 0;
    o.started_at = 1795000000000000LL;
    o.finished_at = 1795000000012345LL;
    o.duration_us = 12345;
    o.log = "hello\n";
    o.log_len = 6;
    o.result = "{\"lamp\": \"on\"}";
    o.result_len = strlen(o.result);
    o.result_present = 1;
    return o;
}

static cJSON *build(const struct ctr_outcome *o)
{
    struct fn_result_in in = {0};

    in.execution_id = "e1";
    in.container_id = "lr-0123456789abcdef";
    in.board_id = BOARD;
    in.executor = "crun";
    in.received_at = 1795000000000000LL - 1000;
    in.max_result_size = 65536;
    in.o = o;
    return fn_result_build(&in);
}

static void expect(const struct ctr_outcome *o, const char *status, const char *output)
{
    cJSON *r = build(o);
    char *out = json_print(cJSON_GetObjectItem(r, "output"));

    assert_string_equal(cJSON_GetObjectItem(r, "status")->valuestring, status);
    assert_string_equal(out, output);
    free(out);
    cJSON_Delete(r);
}

static void test_success_object(void **state)
{
    struct ctr_outcome o = ok_outcome();
    cJSON *r = build(&o);
    char *text = json_print(r);

    (void)state;
    assert_string_equal(text,
                        "{\"execution_id\":\"e1\",\"container_id\":\"lr-0123456789abcdef\","
                        "\"status\":\"success\",\"output\":{\"lamp\":\"on\"},\"duration\":0.012,"
                        "\"exit_code\":0,\"signal\":null,\"timed_out\":false,\"oom\":false,"
                        "\"logs\":\"hello\\n\",\"logs_dropped\":0,"
                        "\"received_at\":\"2026-11-18T11:06:39.999000Z\","
                        "\"started_at\":\"2026-11-18T11:06:40.000000Z\","
                        "\"finished_at\":\"2026-11-18T11:06:40.012345Z\","
                        "\"first_write_at\":null,\"executor\":\"crun\",\"warm\":false}");
    free(text);
    cJSON_Delete(r);
}

static void test_rule_order(void **state)
{
    struct ctr_outcome o = ok_outcome();

    (void)state;
    o.exit_code = -1;
    o.signal = 9;
    o.timed_out = 1;
    o.oom = 1;
    o.result_too_big = 1;
    expect(&o, "failed", "\"Function execution failed because of too much resource consumption\"");
    o.oom = 0;
    expect(&o, "failed", "\"Function execution timeout.\"");
    o.timed_out = 0;
    expect(&o, "failed", "\"Function was killed by signal 9.\"");
    o.signal = 0;
    o.exit_code = 0;
    expect(&o, "failed", "\"Function result exceeds 65536 bytes.\"");
    o.result_too_big = 0;
    expect(&o, "success", "{\"lamp\":\"on\"}");
}

static void test_exit_status(void **state)
{
    struct ctr_outcome o = ok_outcome();

    (void)state;
    o.exit_code = 3;
    expect(&o, "failed", "{\"lamp\":\"on\"}");
    o.result_present = 0;
    o.result = NULL;
    o.result_len = 0;
    expect(&o, "failed", "\"Function exited with status 3.\"");
    o.exit_code = 0;
    expect(&o, "success", "null");
    o.result = "";
    o.result_present = 1;
    o.exit_code = 7;
    expect(&o, "failed", "\"Function exited with status 7.\"");
}

static void test_failures_before_running(void **state)
{
    struct fn_result_in in = {0};
    struct ctr_outcome o = {0};
    cJSON *r;

    (void)state;
    in.execution_id = "e2";
    in.board_id = BOARD;
    in.executor = "crun";
    in.deploy_failed = 1;
    in.reason = "Package sha256 mismatch.";
    r = fn_result_build(&in);
    assert_string_equal(cJSON_GetObjectItem(r, "status")->valuestring, "error");
    assert_string_equal(cJSON_GetObjectItem(r, "output")->valuestring,
                        "Failed to deploy function on board " BOARD ": Package sha256 mismatch.");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "container_id")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "exit_code")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "started_at")));
    assert_int_equal(cJSON_GetObjectItem(r, "duration")->valuedouble, 0);
    cJSON_Delete(r);
    in.deploy_failed = 0;
    in.reason = NULL;
    o.failure = "executable file `/x` not found in $PATH";
    in.o = &o;
    r = fn_result_build(&in);
    assert_string_equal(cJSON_GetObjectItem(r, "output")->valuestring,
                        "Failed to start function container on board " BOARD
                        ": executable file `/x` not found in $PATH");
    cJSON_Delete(r);
    in.o = NULL;
    in.service_failure = 1;
    r = fn_result_build(&in);
    assert_string_equal(cJSON_GetObjectItem(r, "status")->valuestring, "error");
    assert_string_equal(cJSON_GetObjectItem(r, "output")->valuestring,
                        "Function execution failed.");
    cJSON_Delete(r);
}

static void test_duration_rounding(void **state)
{
    (void)state;
    assert_true(fn_result_seconds(0) == 0.0);
    assert_true(fn_result_seconds(499) == 0.0);
    assert_true(fn_result_seconds(500) == 0.001);
    assert_true(fn_result_seconds(1234567) == 1.235);
}

static void test_logs_are_valid_utf8(void **state)
{
    struct ctr_outcome o = ok_outcome();
    cJSON *r;

    (void)state;
    o.log = "bad \xfe byte";
    o.log_len = 10;
    o.log_dropped = 77;
    r = build(&o);
    assert_string_equal(cJSON_GetObjectItem(r, "logs")->valuestring, "bad \xef\xbf\xbd byte");
    assert_int_equal(cJSON_GetObjectItem(r, "logs_dropped")->valueint, 77);
    cJSON_Delete(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_file_values), cmocka_unit_test(test_utf8_sanitize),
        cmocka_unit_test(test_success_object),     cmocka_unit_test(test_rule_order),
        cmocka_unit_test(test_exit_status),        cmocka_unit_test(test_failures_before_running),
        cmocka_unit_test(test_duration_rounding),  cmocka_unit_test(test_logs_are_valid_utf8),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
