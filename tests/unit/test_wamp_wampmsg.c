/* Unit tests for wamp/wampmsg.h: the WampMessage envelope of
 * board-protocol.md 5 and 6.3, read strictly from texts, leniently from
 * YIELD values, and written in the original's exact form. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/xalloc.h"
#include "wamp/json_out.h"
#include "wamp/wampmsg.h"

/* The message of wm as compact JSON, for comparisons (free() it). */
static char *message_text(const struct wamp_wampmsg *wm)
{
    char *out;
    size_t len;
    struct error err;

    assert_int_equal(wamp_json_print(wm->message, 64, 0, &out, &len, &err), 0);
    return out;
}

static void expect(const struct wamp_wampmsg *wm, enum wamp_result r, const char *message,
                   const char *req_id)
{
    char *m = message_text(wm);

    assert_int_equal(wm->result, r);
    assert_string_equal(m, message);
    if (req_id == NULL)
        assert_null(wm->req_id);
    else
        assert_string_equal(wm->req_id, req_id);
    free(m);
}

static void test_parse_texts_of_the_contract(void **state)
{
    static const struct {
        const char *text;
        enum wamp_result r;
        const char *message;
        const char *req_id;
    } cases[] = {
        {"{\"message\": \"\", \"result\": \"SUCCESS\"}", WAMP_RESULT_SUCCESS, "\"\"", NULL},
        {"{\"message\": \"bench-07 @ 2026-11-23 18:02:11.204518\", \"result\": \"SUCCESS\", "
         "\"req_id\": \"0e7c\"}",
         WAMP_RESULT_SUCCESS, "\"bench-07 @ 2026-11-23 18:02:11.204518\"", "0e7c"},
        {"{\"message\": \"Package operation started\", \"result\": \"RUNNING\", \"req_id\": "
         "\"41ad\"}",
         WAMP_RESULT_RUNNING, "\"Package operation started\"", "41ad"},
        {"{\"result\": \"ERROR\", \"message\": {\"a\": [1, 4739282046471166]}}", WAMP_RESULT_ERROR,
         "{\"a\":[1,4739282046471166]}", NULL},
        {"{\"result\":\"WARNING\"}", WAMP_RESULT_WARNING, "null", NULL},
        {"{\"result\":\"SUCCESS\",\"message\":1,\"req_id\":null}", WAMP_RESULT_SUCCESS, "1", NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wamp_wampmsg wm;
        struct error err;

        if (wamp_wampmsg_parse(cases[i].text, strlen(cases[i].text), &wm, &err) != 0)
            fail_msg("%s: %s", cases[i].text, err.msg);
        expect(&wm, cases[i].r, cases[i].message, cases[i].req_id);
        wamp_wampmsg_clear(&wm);
    }
}

static void test_parse_refuses_what_is_not_an_envelope(void **state)
{
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"", "WampMessage: invalid JSON"},
        {"{\"result\": \"SUCCESS\"", "WampMessage: invalid JSON"},
        {"\"SUCCESS\"", "must be an object with a result"},
        {"{\"message\": 1}", "must be an object with a result"},
        {"{\"result\": \"OK\"}", "result must be SUCCESS, ERROR, WARNING or RUNNING"},
        {"{\"result\": 0}", "result must be SUCCESS"},
        {"{\"result\": \"SUCCESS\", \"req_id\": 5}", "req_id must be a string"},
        {"{\"result\": \"SUCCESS\", \"message\": \"\xc3\"}", "invalid UTF-8"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wamp_wampmsg wm;
        struct error err = {0};

        assert_int_equal(wamp_wampmsg_parse(cases[i].text, strlen(cases[i].text), &wm, &err),
                         -EINVAL);
        assert_int_equal(err.code, -EINVAL);
        if (strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].text, err.msg, cases[i].msg);
        assert_null(wm.message);
        assert_null(wm.req_id);
    }
}

/* 6.3: a text, an object, or any other single value. */
static void test_yield_values(void **state)
{
    static const struct {
        const char *frame;
        int rc;
        enum wamp_result r;
        const char *message;
        const char *req_id;
    } cases[] = {
        {"[70,1,{},[\"{\\\"message\\\": \\\"x\\\", \\\"result\\\": \\\"SUCCESS\\\", "
         "\\\"req_id\\\": \\\"r1\\\"}\"]]",
         0, WAMP_RESULT_SUCCESS, "\"x\"", "r1"},
        {"[70,1,{},[{\"message\":\"started\",\"result\":\"RUNNING\",\"req_id\":\"r2\"}]]", 0,
         WAMP_RESULT_RUNNING, "\"started\"", "r2"},
        {"[70,1,{},[\"plain text\"]]", 0, WAMP_RESULT_SUCCESS, "\"plain text\"", NULL},
        {"[70,1,{},[\"[1,2]\"]]", 0, WAMP_RESULT_SUCCESS, "\"[1,2]\"", NULL},
        {"[70,1,{},[42]]", 0, WAMP_RESULT_SUCCESS, "42", NULL},
        {"[70,1,{},[{\"temp\":21.5}]]", 0, WAMP_RESULT_SUCCESS, "{\"temp\":21.5}", NULL},
        {"[70,1,{},[null]]", 0, WAMP_RESULT_SUCCESS, "null", NULL},
        {"[70,1,{}]", 0, WAMP_RESULT_SUCCESS, "null", NULL},
        {"[70,1,{},[1,2]]", 0, WAMP_RESULT_SUCCESS, "[1,2]", NULL},
        {"[70,1,{},[{\"result\":\"MAYBE\"}]]", -EINVAL, 0, NULL, NULL},
        {"[70,1,{},[\"{\\\"result\\\": \\\"MAYBE\\\"}\"]]", -EINVAL, 0, NULL, NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wamp_msg *m;
        struct wamp_wampmsg wm;
        struct error err = {0};
        int rc;

        assert_int_equal(wamp_msg_parse(cases[i].frame, strlen(cases[i].frame), &m, &err), 0);
        rc = wamp_wampmsg_from_yield(m, &wm, &err);
        if (rc != cases[i].rc)
            fail_msg("%s: %d, want %d (%s)", cases[i].frame, rc, cases[i].rc, err.msg);
        if (rc == 0)
            expect(&wm, cases[i].r, cases[i].message, cases[i].req_id);
        else
            assert_non_null(strstr(err.msg, "result must be"));
        wamp_wampmsg_clear(&wm);
        wamp_msg_free(m);
    }
}

static void test_board_errors(void **state)
{
    static const struct {
        const char *frame;
        const char *message;
    } cases[] = {
        {"[8,68,1,{},\"wamp.error.runtime_error\",[\"division by zero\"]]",
         "\"wamp.error.runtime_error: division by zero\""},
        {"[8,68,1,{},\"wamp.error.runtime_error\"]", "\"wamp.error.runtime_error\""},
        {"[8,68,1,{},\"x.y\",[{\"a\":1}]]", "\"x.y: {\\\"a\\\": 1}\""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wamp_msg *m;
        struct wamp_wampmsg wm;
        struct error err;

        assert_int_equal(wamp_msg_parse(cases[i].frame, strlen(cases[i].frame), &m, &err), 0);
        wamp_wampmsg_from_error(m, &wm);
        expect(&wm, WAMP_RESULT_ERROR, cases[i].message, NULL);
        wamp_wampmsg_clear(&wm);
        wamp_msg_free(m);
    }
}

static void test_write_in_the_originals_form(void **state)
{
    cJSON *msg = cJSON_CreateObject();
    struct error err;
    char *out;
    size_t len;

    (void)state;
    assert_int_equal(wamp_wampmsg_string(WAMP_RESULT_SUCCESS, "", NULL, 0, &out, &len, &err), 0);
    assert_string_equal(out, "{\"message\": \"\", \"result\": \"SUCCESS\"}");
    free(out);
    assert_int_equal(wamp_wampmsg_string(WAMP_RESULT_SUCCESS,
                                         "bench-07 @ 2026-11-23 18:02:11.204518", "0e7c", 0, &out,
                                         &len, &err),
                     0);
    assert_string_equal(out, "{\"message\": \"bench-07 @ 2026-11-23 18:02:11.204518\", "
                             "\"result\": \"SUCCESS\", \"req_id\": \"0e7c\"}");
    free(out);
    assert_int_equal(wamp_wampmsg_string(WAMP_RESULT_ERROR,
                                         "Invalid or already used registration code.", NULL,
                                         WAMP_WAMPMSG_COMPACT, &out, &len, &err),
                     0);
    assert_string_equal(out, "{\"message\":\"Invalid or already used registration code.\","
                             "\"result\":\"ERROR\"}");
    free(out);
    cJSON_AddItemToObject(msg, "ack", cJSON_CreateTrue());
    cJSON_AddItemToObject(msg, "session", cJSON_CreateNumber(4739282046471166.0));
    assert_int_equal(wamp_wampmsg_text(WAMP_RESULT_SUCCESS, msg, NULL, WAMP_WAMPMSG_RESULT_FIRST,
                                       &out, &len, &err),
                     0);
    assert_string_equal(out, "{\"result\": \"SUCCESS\", \"message\": {\"ack\": true, \"session\": "
                             "4739282046471166}}");
    assert_int_equal(len, strlen(out));
    free(out);
    assert_int_equal(wamp_wampmsg_text(WAMP_RESULT_RUNNING, NULL, "r", 0, &out, &len, &err), 0);
    assert_string_equal(out, "{\"message\": null, \"result\": \"RUNNING\", \"req_id\": \"r\"}");
    free(out);
    assert_int_equal(wamp_wampmsg_string(WAMP_RESULT_SUCCESS, "\xc3", NULL, 0, &out, &len, &err),
                     -EINVAL);
    assert_int_equal(wamp_wampmsg_string((enum wamp_result)9, "x", NULL, 0, &out, &len, &err),
                     -EINVAL);
    cJSON_Delete(msg);
}

static void test_written_texts_parse_back(void **state)
{
    static const enum wamp_result all[] = {WAMP_RESULT_SUCCESS, WAMP_RESULT_ERROR,
                                           WAMP_RESULT_WARNING, WAMP_RESULT_RUNNING};
    static const char *const words[] = {"SUCCESS", "ERROR", "WARNING", "RUNNING"};

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        struct wamp_wampmsg wm;
        struct error err;
        char *out;
        size_t len;

        assert_string_equal(wamp_result_str(all[i]), words[i]);
        assert_int_equal(wamp_wampmsg_string(all[i], "m \"q\"", "id", 0, &out, &len, &err), 0);
        assert_int_equal(wamp_wampmsg_parse(out, len, &wm, &err), 0);
        expect(&wm, all[i], "\"m \\\"q\\\"\"", "id");
        wamp_wampmsg_clear(&wm);
        free(out);
    }
    assert_null(wamp_result_str((enum wamp_result)4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_texts_of_the_contract),
        cmocka_unit_test(test_parse_refuses_what_is_not_an_envelope),
        cmocka_unit_test(test_yield_values),
        cmocka_unit_test(test_board_errors),
        cmocka_unit_test(test_write_in_the_originals_form),
        cmocka_unit_test(test_written_texts_parse_back),
    };

    xalloc_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
