/* Unit tests for common/trigdef: trigger sources, input templates and events
 * (deviceless-api.md 3.7.1, 3.7.4), the rules the cloud and the board share. */
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
#include "common/trigdef.h"

static cJSON *parse(const char *text)
{
    cJSON *j = NULL;
    struct error err;

    assert_int_equal(json_parse(text, strlen(text), &j, &err), 0);
    return j;
}

static int source(const char *text, struct trigdef_source *s, struct error *err)
{
    cJSON *j = parse(text);
    int rc = trigdef_source_parse(j, s, err);

    cJSON_Delete(j);
    return rc;
}

static void test_sensor_source_takes_defaults(void **state)
{
    struct trigdef_source s;
    struct error err;

    (void)state;
    assert_int_equal(source("{\"board_id\":\"x\",\"sensor\":\"lux0\",\"condition\":\"<\","
                            "\"threshold\":10}",
                            &s, &err),
                     0);
    assert_int_equal(s.kind, TRIGDEF_SENSOR);
    assert_string_equal(s.name, "lux0");
    assert_int_equal(s.cond, TRIGDEF_LT);
    assert_true(s.has_threshold);
    assert_true(s.threshold == 10.0);
    assert_true(s.hysteresis == 0.0);
    assert_int_equal(s.sample_interval_ms, 1000);
    assert_int_equal(s.debounce_ms, 0);
}

static void test_gpio_source_parses_chip_and_line(void **state)
{
    struct trigdef_source s;
    struct error err;
    char spec[TRIGDEF_SPEC_MAX];

    (void)state;
    assert_int_equal(source("{\"gpio\":\"sim0:17\",\"condition\":\"rising\",\"sensor\":null,"
                            "\"threshold\":null,\"debounce_ms\":\"20\"}",
                            &s, &err),
                     0);
    assert_int_equal(s.kind, TRIGDEF_GPIO);
    assert_string_equal(s.name, "sim0");
    assert_int_equal(s.line, 17);
    assert_int_equal(s.sample_interval_ms, 50);
    assert_int_equal(s.debounce_ms, 20);
    assert_false(s.has_threshold);
    assert_string_equal(trigdef_source_spec(&s, spec), "gpio:sim0:17");
}

static void test_change_threshold_defaults_to_zero(void **state)
{
    struct trigdef_source s;
    struct error err;

    (void)state;
    assert_int_equal(source("{\"sensor\":\"t\",\"condition\":\"change\"}", &s, &err), 0);
    assert_true(s.has_threshold);
    assert_true(s.threshold == 0.0);
}

/* Every refusal, with the contract's words (Appendix D) where it has them. */
static void test_bad_sources_answer_the_contract_messages(void **state)
{
    static const struct {
        const char *body, *msg;
    } cases[] = {
        {"{\"condition\":\"<\",\"threshold\":1}",
         "Give exactly one of source.sensor and source.gpio."},
        {"{\"sensor\":\"a\",\"gpio\":\"sim0:1\",\"condition\":\"change\"}",
         "Give exactly one of source.sensor and source.gpio."},
        {"{\"gpio\":\"sim0:1\",\"condition\":\"<\"}",
         "Condition < is not valid for a gpio source."},
        {"{\"sensor\":\"a\",\"condition\":\"between\",\"threshold\":1}",
         "Condition between is not valid for a sensor source."},
        {"{\"sensor\":\"a\",\"condition\":5,\"threshold\":1}",
         "Condition 5 is not valid for a sensor source."},
        {"{\"sensor\":\"a\",\"condition\":\">=\"}",
         "source.threshold is required for condition >=."},
        {"{\"sensor\":\"a\",\"condition\":\"rising\"}",
         "source.threshold is required for condition rising."},
        {"{\"gpio\":\"sim0:1\",\"condition\":\"change\",\"threshold\":0}",
         "source.threshold is not allowed for a gpio source."},
        {"{\"sensor\":\"a\",\"condition\":\"<\",\"threshold\":1,\"sample_interval_ms\":0}",
         "source.sample_interval_ms must be between 10 and 3600000."},
        {"{\"sensor\":\"a\",\"condition\":\"<\",\"threshold\":1,\"sample_interval_ms\":9}",
         "source.sample_interval_ms must be between 10 and 3600000."},
        {"{\"sensor\":\"a\",\"condition\":\"<\",\"threshold\":1,\"sample_interval_ms\":3600001}",
         "source.sample_interval_ms must be between 10 and 3600000."},
        {"{\"sensor\":\"a\",\"condition\":\"<\",\"threshold\":1,\"sample_interval_ms\":1e300}",
         "source.sample_interval_ms must be between 10 and 3600000."},
        {"{\"sensor\":\"a\",\"condition\":\"<\",\"threshold\":1,\"sample_interval_ms\":1.5}",
         "Invalid value for source.sample_interval_ms: an integer is required."},
        {"{\"sensor\":\"a\",\"condition\":\"<\",\"threshold\":1,\"sample_interval_ms\":\"x\"}",
         "Invalid value for source.sample_interval_ms: an integer is required."},
        {"{\"sensor\":\"a\",\"condition\":\"<\",\"threshold\":1,\"debounce_ms\":-1}",
         "source.debounce_ms must be between 0 and 600000."},
        {"{\"sensor\":\"a\",\"condition\":\"<\",\"threshold\":1,\"debounce_ms\":600001}",
         "source.debounce_ms must be between 0 and 600000."},
        {"{\"sensor\":\"a\",\"condition\":\"<\",\"threshold\":\"1\"}",
         "source.threshold must be a number."},
        {"{\"sensor\":\"a\",\"condition\":\"<\",\"threshold\":1,\"hysteresis\":-0.5}",
         "source.hysteresis must be a number >= 0."},
        {"{\"sensor\":\"a\",\"condition\":\"change\",\"threshold\":-1}",
         "source.threshold must be >= 0 for condition change."},
        {"{\"gpio\":\"sim0:1\",\"condition\":\"rising\",\"hysteresis\":1}",
         "source.hysteresis is not allowed for a gpio source."},
        {"{\"sensor\":\"a\",\"condition\":\"<\",\"threshold\":1,\"colour\":1}",
         "Unknown attribute: source.colour"},
        {"{\"sensor\":\"a\"}", "Required param is missing. Required: source.condition"},
        {"{\"gpio\":\"sim0\",\"condition\":\"rising\"}", "source.gpio must be <chip>:<line>."},
        {"{\"gpio\":\"sim0:01\",\"condition\":\"rising\"}", "source.gpio must be <chip>:<line>."},
        {"{\"gpio\":\"sim0:65536\",\"condition\":\"rising\"}",
         "source.gpio must be <chip>:<line>."},
        {"{\"gpio\":\":3\",\"condition\":\"rising\"}", "source.gpio must be <chip>:<line>."},
        {"{\"gpio\":\"a b:3\",\"condition\":\"rising\"}", "source.gpio must be <chip>:<line>."},
        {"{\"gpio\":\"sim0:-3\",\"condition\":\"rising\"}", "source.gpio must be <chip>:<line>."},
        {"{\"gpio\":3,\"condition\":\"rising\"}", "source.gpio must be <chip>:<line>."},
        {"{\"sensor\":\"\",\"condition\":\"change\"}",
         "source.sensor must be a sensor name (1 to 32 of A-Z a-z 0-9 _ -)."},
        {"{\"sensor\":\"abcdefghijabcdefghijabcdefghijabc\",\"condition\":\"change\"}",
         "source.sensor must be a sensor name (1 to 32 of A-Z a-z 0-9 _ -)."},
        {"[]", "source must be a JSON object."},
    };
    struct trigdef_source s;
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err.msg[0] = '\0';
        assert_int_equal(source(cases[i].body, &s, &err), -EINVAL);
        if (strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("case %zu (%s): got '%s'", i, cases[i].body, err.msg);
    }
}

static void test_limits_are_inclusive(void **state)
{
    struct trigdef_source s;
    struct error err;

    (void)state;
    assert_int_equal(source("{\"sensor\":\"abcdefghijabcdefghijabcdefghijab\",\"condition\":"
                            "\"<\",\"threshold\":1,\"sample_interval_ms\":10,\"debounce_ms\":0}",
                            &s, &err),
                     0);
    assert_int_equal(source("{\"gpio\":\"c:65535\",\"condition\":\"change\","
                            "\"sample_interval_ms\":3600000,\"debounce_ms\":600000}",
                            &s, &err),
                     0);
    assert_int_equal(s.line, 65535);
}

static void test_canonical_json_round_trips(void **state)
{
    const char *in = "{\"sensor\":\"lux0\",\"condition\":\"<\",\"threshold\":10.5,"
                     "\"hysteresis\":2,\"sample_interval_ms\":500,\"debounce_ms\":2000}";
    struct trigdef_source s, s2;
    struct error err;
    cJSON *out;
    char *text;

    (void)state;
    assert_int_equal(source(in, &s, &err), 0);
    out = trigdef_source_json(&s, "8a1e0000-0000-4000-8000-000000000000");
    text = json_print(out);
    assert_string_equal(text, "{\"board_id\":\"8a1e0000-0000-4000-8000-000000000000\","
                              "\"sensor\":\"lux0\",\"gpio\":null,\"condition\":\"<\","
                              "\"threshold\":10.5,\"hysteresis\":2,\"sample_interval_ms\":500,"
                              "\"debounce_ms\":2000}");
    assert_int_equal(trigdef_source_parse(out, &s2, &err), 0);
    assert_memory_equal(&s, &s2, sizeof(s));
    free(text);
    cJSON_Delete(out);
    assert_int_equal(source("{\"gpio\":\"sim1:3\",\"condition\":\"falling\"}", &s, &err), 0);
    out = trigdef_source_json(&s, NULL);
    text = json_print(out);
    assert_string_equal(text, "{\"sensor\":null,\"gpio\":\"sim1:3\",\"condition\":\"falling\","
                              "\"threshold\":null,\"hysteresis\":null,\"sample_interval_ms\":50,"
                              "\"debounce_ms\":0}");
    assert_int_equal(trigdef_source_parse(out, &s2, &err), 0);
    assert_memory_equal(&s, &s2, sizeof(s));
    free(text);
    cJSON_Delete(out);
}

static void test_template_placeholders_are_checked(void **state)
{
    static const struct {
        const char *tmpl, *msg; /* msg NULL: accepted */
    } cases[] = {
        {"{\"light\":\"on\",\"lux\":\"{{event.value}}\"}", NULL},
        {"{\"all\":\"{{event}}\",\"n\":[\"x {{ event.fired_at }} "
         "y\",{\"k\":\"{{event.source}}\"}]}",
         NULL},
        {"{\"a\":\"{{event.colour}}\"}", "Unknown placeholder {{event.colour}} in input_template."},
        {"{\"a\":[\"{{evnt}}\"]}", "Unknown placeholder {{evnt}} in input_template."},
        {"{\"a\":\"x {{event.value\"}", "Unknown placeholder {{event.value in input_template."},
        {"{\"a\":\"{{}}\"}", "Unknown placeholder {{}} in input_template."},
        {"{\"a\":\"{{event.}}\"}", "Unknown placeholder {{event.}} in input_template."},
        {"{\"a\":\"{single} braces are text\"}", NULL},
        {"[1]", "input_template must be a JSON object."},
        {"\"{{event}}\"", "input_template must be a JSON object."},
    };
    struct error err;

    (void)state;
    assert_int_equal(trigdef_template_check(NULL, &err), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *j = parse(cases[i].tmpl);
        int rc = trigdef_template_check(j, &err);

        cJSON_Delete(j);
        if (cases[i].msg == NULL) {
            assert_int_equal(rc, 0);
            continue;
        }
        assert_int_equal(rc, -EINVAL);
        if (strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("case %zu: got '%s'", i, err.msg);
    }
}

/* 16384 bytes pass, 16385 do not; and many placeholders could blow up the
 * input past what an execution takes. */
static void test_template_size_limits(void **state)
{
    char *big = malloc(TRIGDEF_TEMPLATE_MAX + 16);
    struct error err;
    cJSON *j;

    (void)state;
    /* {"a":"xxx..."} is 8 bytes of framing around the string. */
    memset(big, 'x', TRIGDEF_TEMPLATE_MAX + 15);
    big[TRIGDEF_TEMPLATE_MAX - 8] = '\0';
    j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "a", big);
    assert_int_equal(trigdef_template_check(j, &err), 0);
    cJSON_Delete(j);
    big[TRIGDEF_TEMPLATE_MAX - 8] = 'x';
    big[TRIGDEF_TEMPLATE_MAX - 7] = '\0';
    j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "a", big);
    assert_int_equal(trigdef_template_check(j, &err), -EINVAL);
    assert_string_equal(err.msg, "input_template exceeds 16384 bytes.");
    cJSON_Delete(j);
    for (int i = 0; i < 200; i++)
        memcpy(big + 9 * i, "{{event}}", 9);
    big[9 * 200] = '\0';
    j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "a", big);
    assert_int_equal(trigdef_template_check(j, &err), -EINVAL);
    assert_string_equal(err.msg, "input_template could exceed 65536 bytes once its placeholders "
                                 "are replaced.");
    cJSON_Delete(j);
    free(big);
}

static cJSON *sample_event(const struct trigdef_source *s, int has_previous)
{
    struct trigdef_firing f = {
        .trigger_id = "3f0c0000-0000-4000-8000-000000000001",
        .seq = 41,
        .board_id = "8a1e0000-0000-4000-8000-000000000002",
        .src = s,
        .value = 8.2,
        .has_previous = has_previous,
        .previous = 10.4,
        .sampled_at_us = 1795456931180022LL,
        .fired_at_us = 1795456931180100LL,
    };

    return trigdef_event(&f);
}

static void test_event_has_every_field(void **state)
{
    struct trigdef_source s;
    struct error err;
    cJSON *ev;
    char *text;

    (void)state;
    assert_int_equal(source("{\"sensor\":\"lux0\",\"condition\":\"<\",\"threshold\":10}", &s, &err),
                     0);
    ev = sample_event(&s, 1);
    text = json_print(ev);
    assert_string_equal(text,
                        "{\"trigger_id\":\"3f0c0000-0000-4000-8000-000000000001\","
                        "\"firing_seq\":41,\"board_id\":"
                        "\"8a1e0000-0000-4000-8000-000000000002\",\"source\":\"sensor:lux0\","
                        "\"value\":8.2,\"previous\":10.4,\"condition\":\"<\",\"threshold\":10,"
                        "\"sampled_at\":\"2026-11-23T18:02:11.180022Z\","
                        "\"fired_at\":\"2026-11-23T18:02:11.180100Z\"}");
    free(text);
    cJSON_Delete(ev);
    assert_int_equal(source("{\"gpio\":\"sim0:4\",\"condition\":\"change\"}", &s, &err), 0);
    ev = sample_event(&s, 0);
    text = json_print(ev);
    assert_non_null(strstr(text, "\"source\":\"gpio:sim0:4\",\"value\":1,\"previous\":null,"
                                 "\"condition\":\"change\",\"threshold\":null"));
    free(text);
    cJSON_Delete(ev);
}

static void test_input_renders_placeholders(void **state)
{
    static const struct {
        const char *tmpl, *want;
    } cases[] = {
        {"{\"light\":\"on\",\"lux\":\"{{event.value}}\"}", "{\"light\":\"on\",\"lux\":8.2}"},
        {"{\"m\":\"lux={{event.value}} at {{ event.sampled_at }}!\"}",
         "{\"m\":\"lux=8.2 at 2026-11-23T18:02:11.180022Z!\"}"},
        {"{\"seq\":\"{{event.firing_seq}}\",\"s\":\"#{{event.firing_seq}}\"}",
         "{\"seq\":41,\"s\":\"#41\"}"},
        {"{\"b\":\"{{event.board_id}}\",\"t\":[true,null,{\"x\":\"{{event.threshold}}\"}]}",
         "{\"b\":\"8a1e0000-0000-4000-8000-000000000002\",\"t\":[true,null,{\"x\":10}]}"},
        {"{\"p\":\"{{event.previous}}\",\"q\":\"prev {{event.previous}}\"}",
         "{\"p\":null,\"q\":\"prev null\"}"},
        {"{\"src\":\" {{event.source}}\"}", "{\"src\":\" sensor:lux0\"}"},
    };
    struct trigdef_source s;
    struct error err;
    cJSON *ev, *in;
    char *text;

    (void)state;
    assert_int_equal(source("{\"sensor\":\"lux0\",\"condition\":\"<\",\"threshold\":10}", &s, &err),
                     0);
    ev = sample_event(&s, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *t = parse(cases[i].tmpl);

        assert_int_equal(trigdef_template_check(t, &err), 0);
        in = trigdef_input(t, ev);
        text = json_print(in);
        if (strcmp(text, cases[i].want) != 0)
            fail_msg("case %zu: got %s", i, text);
        free(text);
        cJSON_Delete(in);
        cJSON_Delete(t);
    }
    /* The whole event, keeping its type, and no template at all. */
    {
        cJSON *t = parse("{\"e\":\"{{event}}\"}");
        char *want = json_print(ev), *got;

        in = trigdef_input(t, ev);
        got = json_print(cJSON_GetObjectItem(in, "e"));
        assert_string_equal(got, want);
        free(got);
        cJSON_Delete(in);
        in = trigdef_input(NULL, ev);
        got = json_print(cJSON_GetObjectItem(in, "event"));
        assert_string_equal(got, want);
        free(got);
        free(want);
        cJSON_Delete(in);
        cJSON_Delete(t);
    }
    cJSON_Delete(ev);
}

static void test_condition_names_round_trip(void **state)
{
    (void)state;
    for (int c = TRIGDEF_GT; c <= TRIGDEF_CHANGE; c++)
        assert_int_equal(trigdef_cond_parse(trigdef_cond_name((enum trigdef_cond)c)), c);
    assert_int_equal(trigdef_cond_parse("=="), -1);
    assert_int_equal(trigdef_cond_parse(NULL), -1);
    assert_true(trigdef_name_ok("lux_0-A"));
    assert_false(trigdef_name_ok("lux.0"));
    assert_false(trigdef_name_ok(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sensor_source_takes_defaults),
        cmocka_unit_test(test_gpio_source_parses_chip_and_line),
        cmocka_unit_test(test_change_threshold_defaults_to_zero),
        cmocka_unit_test(test_bad_sources_answer_the_contract_messages),
        cmocka_unit_test(test_limits_are_inclusive),
        cmocka_unit_test(test_canonical_json_round_trips),
        cmocka_unit_test(test_template_placeholders_are_checked),
        cmocka_unit_test(test_template_size_limits),
        cmocka_unit_test(test_event_has_every_field),
        cmocka_unit_test(test_input_renders_placeholders),
        cmocka_unit_test(test_condition_names_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
