/* Unit tests for qmodel/trigger: trigger targets as qinling-api takes and
 * stores them, and the check of a source against a board's DeviceCaps
 * (deviceless-api.md 3.7.1, 3.7.2, Appendix D), with the statuses the API
 * answers them with. */
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
#include "qmodel/fault.h"
#include "qmodel/trigger.h"

#define FN "11111111-1111-4111-8111-111111111111"
#define BOARD "8a1e0000-0000-4000-8000-000000000000"

static cJSON *parse(const char *text)
{
    cJSON *j = NULL;
    struct error err;

    assert_int_equal(json_parse(text, strlen(text), &j, &err), 0);
    return j;
}

static int target(const char *text, struct qm_trig_target *t, cJSON **keep, struct error *err)
{
    *keep = parse(text);
    return qm_trig_target_parse(*keep, t, err);
}

static void test_target_defaults_and_canonical_form(void **state)
{
    struct qm_trig_target t;
    struct error err;
    cJSON *j, *out;
    char *text;

    (void)state;
    assert_int_equal(target("{\"function_id\":\"" FN "\",\"board_id\":\"light-b\","
                            "\"input_template\":{\"lux\":\"{{event.value}}\"}}",
                            &t, &j, &err),
                     0);
    assert_string_equal(t.function_id, FN);
    assert_string_equal(t.alias, "");
    assert_int_equal(t.version, 0);
    assert_string_equal(t.board_ref, "light-b");
    assert_int_equal(t.pending_timeout, -1);
    assert_non_null(t.tmpl);
    out = qm_trig_target_json(&t, NULL);
    text = json_print(out);
    assert_string_equal(text, "{\"function_id\":\"" FN "\",\"function_alias\":null,"
                              "\"function_version\":0,\"board_id\":\"light-b\",\"fleet_id\":null,"
                              "\"placement\":null,\"input_template\":{\"lux\":"
                              "\"{{event.value}}\"},\"pending_timeout\":null}");
    free(text);
    cJSON_Delete(out);
    /* Resolved references replace the names; the stored form loads back. */
    {
        struct qm_target r = {BOARD, "", ""};
        struct qm_trig_target back;

        out = qm_trig_target_json(&t, &r);
        assert_string_equal(cJSON_GetObjectItem(out, "board_id")->valuestring, BOARD);
        assert_int_equal(qm_trig_target_load(out, &back, &err), 0);
        assert_string_equal(back.board_ref, BOARD);
        cJSON_Delete(out);
    }
    cJSON_Delete(j);
}

static void test_alias_version_fleet_and_timeout(void **state)
{
    struct qm_trig_target t;
    struct qm_target_req req;
    struct error err;
    cJSON *j;

    (void)state;
    assert_int_equal(target("{\"function_alias\":\"light\",\"function_version\":\"3\","
                            "\"fleet_id\":\"street\",\"placement\":\"all\","
                            "\"pending_timeout\":86400}",
                            &t, &j, &err),
                     0);
    assert_string_equal(t.alias, "light");
    assert_int_equal(t.version, 3);
    assert_int_equal(t.pending_timeout, 86400);
    req = qm_trig_target_req(&t);
    assert_null(req.board_ref);
    assert_string_equal(req.fleet_ref, "street");
    assert_string_equal(req.placement, "all");
    cJSON_Delete(j);
}

static void test_bad_targets(void **state)
{
    static const struct {
        const char *body, *msg;
    } cases[] = {
        {"{\"board_id\":\"b\"}", "Either function_alias or function_id must be provided."},
        {"{\"function_id\":\"nope\"}", "Expected a uuid but received nope."},
        {"{\"function_id\":7}", "Expected a uuid but received 7."},
        {"{\"function_id\":\"" FN "\",\"colour\":1}", "Unknown attribute: target.colour"},
        {"{\"function_id\":\"" FN "\",\"function_version\":-1}",
         "Invalid value for target.function_version: an integer from 0 to 2147483647 is "
         "required."},
        {"{\"function_id\":\"" FN "\",\"function_version\":1.5}",
         "Invalid value for target.function_version: an integer from 0 to 2147483647 is "
         "required."},
        {"{\"function_id\":\"" FN "\",\"pending_timeout\":86401}",
         "Invalid value for target.pending_timeout: an integer from 0 to 86400 is required."},
        {"{\"function_id\":\"" FN "\",\"board_id\":\"a\",\"fleet_id\":\"b\"}",
         "Give board_id or fleet_id, not both."},
        {"{\"function_id\":\"" FN "\",\"fleet_id\":\"b\",\"placement\":\"some\"}",
         "Invalid placement some; use any_online or all."},
        {"{\"function_id\":\"" FN "\",\"board_id\":\"a\",\"placement\":\"all\"}",
         "placement is only valid with fleet_id."},
        {"{\"function_id\":\"" FN "\",\"board_id\":\"\"}",
         "Invalid value for target.board_id: a name or UUID is required."},
        {"{\"function_id\":\"" FN "\",\"input_template\":{\"a\":\"{{event.nope}}\"}}",
         "Unknown placeholder {{event.nope}} in input_template."},
        {"{\"function_id\":\"" FN "\",\"input_template\":[1]}",
         "input_template must be a JSON object."},
        {"[]", "target must be a JSON object."},
    };
    struct qm_trig_target t;
    struct error err;
    cJSON *j;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err.msg[0] = '\0';
        assert_true(target(cases[i].body, &t, &j, &err) < 0);
        assert_int_equal(qm_errno_status(err.code), 400);
        if (strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("case %zu: got '%s'", i, err.msg);
        cJSON_Delete(j);
    }
}

static void source(const char *text, struct trigdef_source *s)
{
    cJSON *j = parse(text);
    struct error err;

    assert_int_equal(trigdef_source_parse(j, s, &err), 0);
    cJSON_Delete(j);
}

static void test_caps_check(void **state)
{
    cJSON *caps = parse("{\"gpio\":[{\"chip\":\"sim0\",\"lines\":8},{\"chip\":\"x\"}],"
                        "\"sensors\":[{\"name\":\"lux0\"},{\"kind\":\"sim\"}]}");
    struct trigdef_source s;
    struct error err;

    (void)state;
    source("{\"sensor\":\"lux0\",\"condition\":\"change\"}", &s);
    assert_int_equal(qm_trig_caps_check(&s, caps, BOARD, &err), 0);
    assert_int_equal(qm_errno_status(qm_trig_caps_check(&s, NULL, BOARD, &err)), 409);
    assert_string_equal(err.msg, "Capabilities of board " BOARD " are not known yet.");
    source("{\"sensor\":\"temp0\",\"condition\":\"change\"}", &s);
    assert_int_equal(qm_errno_status(qm_trig_caps_check(&s, caps, BOARD, &err)), 400);
    assert_string_equal(err.msg, "Board " BOARD " has no sensor temp0.");
    source("{\"gpio\":\"sim0:7\",\"condition\":\"rising\"}", &s);
    assert_int_equal(qm_trig_caps_check(&s, caps, BOARD, &err), 0);
    source("{\"gpio\":\"sim0:8\",\"condition\":\"rising\"}", &s);
    assert_int_equal(qm_errno_status(qm_trig_caps_check(&s, caps, BOARD, &err)), 400);
    assert_string_equal(err.msg, "Board " BOARD " has no GPIO line sim0:8.");
    source("{\"gpio\":\"x:0\",\"condition\":\"rising\"}", &s); /* a chip without lines */
    assert_int_equal(qm_errno_status(qm_trig_caps_check(&s, caps, BOARD, &err)), 400);
    cJSON_Delete(caps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_target_defaults_and_canonical_form),
        cmocka_unit_test(test_alias_version_fleet_and_timeout),
        cmocka_unit_test(test_bad_targets),
        cmocka_unit_test(test_caps_check),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
