/* Unit tests for qmodel/config: Appendix A defaults and the startup refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/log.h"
#include "qmodel/config.h"

#define REQUIRED                                                                                   \
    "[DEFAULT]\ntransport_url = amqp://guest:guest@127.0.0.1:5672/\n"                              \
    "[database]\nconnection = postgresql://x@127.0.0.1/db\n"                                       \
    "[storage]\nfile_system_dir = /var/lib/qinling\n"

static void test_defaults(void **state)
{
    struct qm_config c;
    struct error err;

    (void)state;
    assert_int_equal(qm_config_load_text(&c, "q.conf",
                                         REQUIRED "[engine]\nboard_token_secret = "
                                                  "0123456789abcdef0123456789abcdef\n",
                                         &err),
                     0);
    assert_int_equal(c.api_port, 7070);
    assert_string_equal(c.api_host, "0.0.0.0");
    assert_int_equal(c.max_package_body_size, 75497472);
    assert_int_equal(c.max_input_size, 65536);
    assert_int_equal(c.default_memory, 33554432);
    assert_int_equal(c.max_timeout, 300);
    assert_int_equal(c.board_token_ttl, 900);
    assert_int_equal(c.board_call_timeout, 30);
    assert_int_equal(c.async_pending_timeout, 3600);
    assert_int_equal(c.webhook_burst, 20);
    assert_int_equal(c.auth.strategy, AUTH_KEYSTONE);
    assert_null(c.qinling_endpoint);
    qm_config_free(&c);
}

static void test_short_secret_refused(void **state)
{
    struct qm_config c;
    struct error err;

    (void)state;
    assert_int_equal(
        qm_config_load_text(&c, "q.conf", REQUIRED "[engine]\nboard_token_secret = short\n", &err),
        -EINVAL);
    assert_non_null(strstr(err.msg, "at least 32 bytes"));
    qm_config_free(&c);
    assert_int_equal(qm_config_load_text(&c, "q.conf", REQUIRED, &err), -EINVAL);
    assert_string_equal(err.msg, "[engine] board_token_secret is required");
    qm_config_free(&c);
}

static void test_bad_value_names_file_and_line(void **state)
{
    struct qm_config c;
    struct error err;

    (void)state;
    assert_int_equal(qm_config_load_text(&c, "q.conf", REQUIRED "[api]\nport = seventy\n", &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "q.conf:8"));
    qm_config_free(&c);
}

static void test_pecan_and_endpoint(void **state)
{
    struct qm_config c;
    struct error err;

    (void)state;
    assert_int_equal(qm_config_load_text(&c, "q.conf",
                                         REQUIRED "[pecan]\nauth_enable = false\n"
                                                  "[DEFAULT]\nqinling_endpoint = http://h:7070//\n"
                                                  "[engine]\nboard_token_secret = "
                                                  "0123456789abcdef0123456789abcdef\n",
                                         &err),
                     0);
    assert_int_equal(c.auth.strategy, AUTH_NOAUTH);
    assert_string_equal(c.qinling_endpoint, "http://h:7070");
    qm_config_free(&c);
}

static void test_limits_order(void **state)
{
    struct qm_config c;
    struct error err;

    (void)state;
    assert_int_equal(qm_config_load_text(&c, "q.conf",
                                         REQUIRED "[resource_limits]\nmin_cpu = 400\n"
                                                  "[engine]\nboard_token_secret = "
                                                  "0123456789abcdef0123456789abcdef\n",
                                         &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "[resource_limits] cpu"));
    qm_config_free(&c);
}

static void test_parse_listen(void **state)
{
    char host[64];
    int port;

    (void)state;
    assert_int_equal(qm_parse_listen("127.0.0.1:9", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 9);
    assert_int_equal(qm_parse_listen("127.0.0.1", host, sizeof(host), &port), -EINVAL);
    assert_int_equal(qm_parse_listen(":1", host, sizeof(host), &port), -EINVAL);
    assert_int_equal(qm_parse_listen("h:99999", host, sizeof(host), &port), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_short_secret_refused),
        cmocka_unit_test(test_bad_value_names_file_and_line),
        cmocka_unit_test(test_pecan_and_endpoint),
        cmocka_unit_test(test_limits_order),
        cmocka_unit_test(test_parse_listen),
    };

    log_init("test_qm_config", LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
