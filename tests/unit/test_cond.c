/* Unit tests for the conductor's pure helpers: which agents get `req`
 * (board-protocol.md 6.2) and how board messages become strings (1.13). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conductor/boardcall.h"

static void test_old_agents_are_called_without_req(void **state)
{
    (void)state;
    assert_true(cond_lr_without_req("0.4.8"));
    assert_true(cond_lr_without_req("0.3.0"));
    assert_true(cond_lr_without_req("0.4.0.dev1"));
    assert_false(cond_lr_without_req("0.4.9"));
    assert_false(cond_lr_without_req("0.4.17"));
    assert_false(cond_lr_without_req("0.5.0"));
    assert_false(cond_lr_without_req("1.0"));
    assert_false(cond_lr_without_req("lrc-0.1.0"));
    assert_false(cond_lr_without_req(NULL));
    assert_false(cond_lr_without_req("0"));
}

static void test_message_text(void **state)
{
    static const struct {
        const char *json, *text;
    } v[] = {
        {"\"bench-07 @ now\"", "bench-07 @ now"},
        {"null", ""},
        {"{\"a\": [1, true]}", "{\"a\":[1,true]}"},
        {"42", "42"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        cJSON *j = cJSON_Parse(v[i].json);
        char *t = cond_message_text(j);

        assert_string_equal(t, v[i].text);
        free(t);
        cJSON_Delete(j);
    }
    {
        char *t = cond_message_text(NULL);

        assert_string_equal(t, "");
        free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_agents_are_called_without_req),
        cmocka_unit_test(test_message_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
