/* Unit tests for src/settings: the board's settings document, first boot and
 * registered (board-protocol.md 5.1, 10.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>

#include "common/xalloc.h"
#include "src/settings.h"

#define UUID "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52"
#define SECRET "Vq3T0n5xQm6b2wYk8rJdZ1pLcF7hEsUa4NgRiO9tKyA"

static const char registered[] =
    "{\"iotronic\": {\"board\": {\"uuid\": \"6B1F0C1E-6F0E-4C43-9D8E-0C3F7D1B9A52\","
    " \"code\": \"A7K2-19QX\", \"name\": \"bench-07\", \"agent\": \"wagent-1\","
    " \"status\": \"registered\", \"location\": {\"latitude\": \"38.19\"},"
    " \"auth\": {\"method\": \"wampcra\", \"authid\": \"" UUID "\", \"secret\": \"" SECRET "\"}},"
    " \"wamp\": {\"registration-agent\": {\"url\": \"wss://reg.example.org:8181/\", \"realm\": "
    "\"s4t\"},"
    " \"main-agent\": {\"url\": \"ws://main.example.org:8181/\", \"realm\": \"s4t\"}},"
    " \"extra\": {\"kept\": true}}}";

static int parse(const char *text, struct lrc_settings *s, struct error *err)
{
    return lrc_settings_parse(text, strlen(text), s, err);
}

static void test_registered_document_is_read_whole(void **state)
{
    struct lrc_settings s, copy;
    struct error err;
    char *text;

    (void)state;
    assert_int_equal(parse(registered, &s, &err), 0);
    assert_true(s.registered);
    assert_string_equal(s.uuid, UUID); /* normalised */
    assert_string_equal(s.code, "A7K2-19QX");
    assert_string_equal(s.name, "bench-07");
    assert_string_equal(s.agent, "wagent-1");
    assert_string_equal(s.secret, SECRET);
    assert_string_equal(s.main_url, "ws://main.example.org:8181/");
    assert_string_equal(s.reg_url, "wss://reg.example.org:8181/");
    assert_string_equal(s.main_realm, "s4t");
    /* Unknown keys survive a rewrite. */
    text = lrc_settings_text(&s);
    assert_non_null(strstr(text, "\"kept\":\ttrue"));
    lrc_settings_copy(&s, &copy);
    assert_true(lrc_settings_equal(&s, &copy));
    assert_string_equal(copy.secret, SECRET);
    free(text);
    lrc_settings_clear(&copy);
    lrc_settings_clear(&s);
}

static void test_first_boot_document(void **state)
{
    struct lrc_settings s, p;
    struct error err;
    char *text;

    (void)state;
    assert_int_equal(lrc_settings_first_boot("A7K2-19QX", "ws://127.0.0.1:8181/", &s, &err), 0);
    assert_false(s.registered);
    assert_null(s.uuid);
    assert_null(s.secret);
    assert_string_equal(s.code, "A7K2-19QX");
    assert_string_equal(s.reg_url, "ws://127.0.0.1:8181/");
    assert_string_equal(s.reg_realm, "s4t");
    text = lrc_settings_text(&s);
    assert_int_equal(parse(text, &p, &err), 0);
    assert_true(lrc_settings_equal(&s, &p));
    free(text);
    lrc_settings_clear(&p);
    lrc_settings_clear(&s);
}

static void test_configure_checks_code_and_url(void **state)
{
    static const struct {
        const char *code, *url, *why;
    } bad[] = {
        {"", "ws://h/", "1 to 36"},
        {"0123456789012345678901234567890123456", "ws://h/", "1 to 36"}, /* 37 */
        {"tab\there", "ws://h/", "printable"},
        {"CODE", "http://h/", "ws:// or wss://"},
        {"CODE", "ws://", "URL"},
        {"CODE", NULL, "ws:// or wss://"},
    };
    struct lrc_settings s;
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(lrc_settings_first_boot(bad[i].code, bad[i].url, &s, &err), -EINVAL);
        assert_non_null(strstr(err.msg, bad[i].why));
        assert_null(s.doc);
    }
    /* 36 is the maximum. */
    assert_int_equal(
        lrc_settings_first_boot("012345678901234567890123456789012345", "wss://h/", &s, &err), 0);
    lrc_settings_clear(&s);
}

static void test_invalid_documents_say_why(void **state)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"", "empty JSON"},
        {"[]", "no \"iotronic\" object"},
        {"{\"iotronic\": {\"board\": {}}}", "must be objects"},
        {"{\"iotronic\": {\"board\": {}, \"wamp\": {}}}", "neither registered"},
        {"{\"iotronic\": {\"board\": {\"uuid\": \"nope\"}, \"wamp\": {}}}", "not a UUID"},
        {"{\"iotronic\": {\"board\": {\"code\": 5}, \"wamp\": {}}}", "code must be a string"},
        {"{\"iotronic\": {\"board\": {\"uuid\": \"" UUID "\", \"auth\": {\"method\": \"ticket\","
         " \"secret\": \"x\"}}, \"wamp\": {\"main-agent\": {\"url\": \"ws://h/\"}}}}",
         "unknown method ticket"},
        {"{\"iotronic\": {\"board\": {\"uuid\": \"" UUID "\", \"auth\": {\"method\": \"wampcra\","
         " \"secret\": \"\"}}, \"wamp\": {\"main-agent\": {\"url\": \"ws://h/\"}}}}",
         "secret is empty"},
        {"{\"iotronic\": {\"board\": {\"uuid\": \"" UUID "\"}, \"wamp\": {\"main-agent\":"
         " {\"url\": \"tcp://h/\"}}}}",
         "ws:// or wss://"},
        {"{\"iotronic\": {\"board\": {\"code\": \"C\"}, \"wamp\": {\"registration-agent\":"
         " {\"url\": \"ws://h/\"}}}} trailing",
         "trailing"},
        {"{\"iotronic\": {\"board\": {\"code\": \"C\", \"code\": \"D\"}, \"wamp\": {}}}",
         "duplicate key \"code\""},
        {"{\"iotronic\": {\"board\": {\"code\": \"C\"}, \"wamp\": {\"registration-agent\":"
         " {\"url\": \"ws://h/\"}}, \"extra\": [{\"a\": 1, \"a\": 2}]}}",
         "duplicate key \"a\""},
    };
    struct lrc_settings s;
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        error_clear(&err);
        assert_int_equal(parse(bad[i].text, &s, &err), -EINVAL);
        if (strstr(err.msg, bad[i].why) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].why);
        assert_int_equal(lrc_settings_check(bad[i].text, strlen(bad[i].text), NULL, &err), -EINVAL);
    }
}

static void test_registration_reply_becomes_settings(void **state)
{
    struct lrc_settings prev, s;
    struct error err;
    cJSON *msg;
    const char *reply =
        "{\"iotronic\": {\"board\": {\"uuid\": \"" UUID "\", \"name\": \"b\","
        " \"agent\": \"wagent-2\", \"auth\": {\"method\": \"wampcra\", \"secret\": \"" SECRET
        "\"}},"
        " \"wamp\": {\"main-agent\": {\"url\": \"ws://m/\", \"realm\": \"s4t\"}}, \"extra\": {}}}";

    (void)state;
    assert_int_equal(lrc_settings_first_boot("CODE", "ws://reg/", &prev, &err), 0);
    msg = cJSON_Parse(reply);
    assert_int_equal(lrc_settings_from_registration(msg, &prev, &s, &err), 0);
    assert_true(s.registered);
    assert_string_equal(s.agent, "wagent-2");
    assert_string_equal(s.main_url, "ws://m/");
    /* The reply named no registration agent: the one dialled is kept. */
    assert_string_equal(s.reg_url, "ws://reg/");
    assert_false(lrc_settings_equal(&s, &prev));
    lrc_settings_clear(&s);
    cJSON_Delete(msg);
    msg = cJSON_Parse("{\"iotronic\": {\"board\": {\"name\": \"b\"}, \"wamp\": {}}}");
    assert_int_equal(lrc_settings_from_registration(msg, &prev, &s, &err), -EINVAL);
    assert_null(s.doc);
    cJSON_Delete(msg);
    msg = cJSON_Parse("{\"iotronic\": {}}");
    assert_int_equal(lrc_settings_from_registration(msg, NULL, &s, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "iotronic.wamp"));
    cJSON_Delete(msg);
    lrc_settings_clear(&prev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registered_document_is_read_whole),
        cmocka_unit_test(test_first_boot_document),
        cmocka_unit_test(test_configure_checks_code_and_url),
        cmocka_unit_test(test_invalid_documents_say_why),
        cmocka_unit_test(test_registration_reply_becomes_settings),
    };

    xalloc_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
