/* Unit tests for amqp/url: oslo-style transport_url parsing, good and bad. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "amqp/url.h"
#include "common/xalloc.h"

static void test_url_full(void **state)
{
    struct mq_url *u = NULL;
    struct error err;

    (void)state;
    assert_int_equal(mq_url_parse("rabbit://alice:s3cret@broker.example:5673/iot", &u, &err), 0);
    assert_int_equal(u->nhosts, 1);
    assert_string_equal(u->hosts[0].host, "broker.example");
    assert_int_equal(u->hosts[0].port, 5673);
    assert_string_equal(u->hosts[0].user, "alice");
    assert_string_equal(u->hosts[0].password, "s3cret");
    assert_string_equal(u->vhost, "iot");
    assert_int_equal(u->heartbeat, -1);
    assert_null(u->connection_name);
    mq_url_free(u);
}

static void test_url_defaults(void **state)
{
    static const char *const urls[] = {"amqp://127.0.0.1", "amqp://127.0.0.1/",
                                       "AMQP://127.0.0.1//", "rabbit://127.0.0.1/%2F",
                                       "rabbit://127.0.0.1/%2f"};
    struct mq_url *u = NULL;
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        assert_int_equal(mq_url_parse(urls[i], &u, &err), 0);
        assert_string_equal(u->hosts[0].user, "guest");
        assert_string_equal(u->hosts[0].password, "guest");
        assert_int_equal(u->hosts[0].port, MQ_DEFAULT_PORT);
        assert_string_equal(u->vhost, "/");
        mq_url_free(u);
    }
}

static void test_url_percent_decoding(void **state)
{
    struct mq_url *u = NULL;
    struct error err;

    (void)state;
    assert_int_equal(mq_url_parse("amqp://us%40er:p%3Aa%2Fss@h:1/v%20h%2Fx", &u, &err), 0);
    assert_string_equal(u->hosts[0].user, "us@er");
    assert_string_equal(u->hosts[0].password, "p:a/ss");
    assert_string_equal(u->vhost, "v h/x");
    mq_url_free(u);
    /* An unencoded '@' in the password: the userinfo ends at the last '@'. */
    assert_int_equal(mq_url_parse("amqp://u:p@ss@h", &u, &err), 0);
    assert_string_equal(u->hosts[0].password, "p@ss");
    assert_string_equal(u->hosts[0].host, "h");
    mq_url_free(u);
    /* A user without a password has an empty one. */
    assert_int_equal(mq_url_parse("amqp://u@h", &u, &err), 0);
    assert_string_equal(u->hosts[0].password, "");
    mq_url_free(u);
}

static void test_url_several_hosts_and_ipv6(void **state)
{
    struct mq_url *u = NULL;
    struct error err;
    char red[256];

    (void)state;
    assert_int_equal(mq_url_parse("rabbit://a:b@h1:5672,h2:5673,c:d@[::1]:5674/vh?heartbeat=10"
                                  "&connection_name=api%201",
                                  &u, &err),
                     0);
    assert_int_equal(u->nhosts, 3);
    assert_string_equal(u->hosts[1].host, "h2");
    assert_string_equal(u->hosts[1].user, "a"); /* inherited */
    assert_string_equal(u->hosts[1].password, "b");
    assert_int_equal(u->hosts[1].port, 5673);
    assert_string_equal(u->hosts[2].host, "::1");
    assert_int_equal(u->hosts[2].port, 5674);
    assert_string_equal(u->hosts[2].user, "c");
    assert_int_equal(u->heartbeat, 10);
    assert_string_equal(u->connection_name, "api 1");
    assert_string_equal(mq_url_redacted(u, 2, red, sizeof(red)), "amqp://c@[::1]:5674/vh");
    assert_null(strstr(mq_url_redacted(u, 0, red, sizeof(red)), "b@"));
    mq_url_free(u);
}

static void test_url_refuses_bad(void **state)
{
    static const char *const bad[] = {
        "",
        "127.0.0.1:5672",
        "http://h/",
        "amqps://h/",
        "amqp://",
        "amqp:///vhost",
        "amqp://h:/",
        "amqp://h:0/",
        "amqp://h:65536/",
        "amqp://h:12a/",
        "amqp://h:123456/",
        "amqp://:pw@h/",
        "amqp://u:p@/",
        "amqp://h1,,h2/",
        "amqp://h/v%2",
        "amqp://h/v%zz",
        "amqp://h/v%00x",
        "amqp://u%0a:p@h/",
        "amqp://h o/",
        "amqp://[::1/",
        "amqp://[::1]x/",
        "amqp://h/?ssl=1",
        "amqp://h/?frobnicate=1",
        "amqp://h/?heartbeat=601",
        "amqp://h/?heartbeat=x",
        "amqp://h/#frag",
        "amqp://h1,h2,h3,h4,h5,h6,h7,h8,h9,h10,h11,h12,h13,h14,h15,h16,h17/",
    };
    struct mq_url *u = (struct mq_url *)&u;
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        error_clear(&err);
        assert_int_equal(mq_url_parse(bad[i], &u, &err), -EINVAL);
        assert_null(u);
        assert_non_null(strstr(err.msg, "bad transport_url"));
        u = (struct mq_url *)&u;
    }
}

static void test_url_limits(void **state)
{
    char *text = xmalloc(MQ_URL_MAX + 64);
    struct mq_url *u = NULL;
    struct error err;
    size_t n;

    (void)state;
    /* A 255-byte vhost is the maximum; 256 is refused. */
    n = (size_t)snprintf(text, 64, "amqp://h/");
    memset(text + n, 'v', MQ_URL_FIELD_MAX);
    text[n + MQ_URL_FIELD_MAX] = '\0';
    assert_int_equal(mq_url_parse(text, &u, &err), 0);
    assert_int_equal(strlen(u->vhost), MQ_URL_FIELD_MAX);
    mq_url_free(u);
    text[n + MQ_URL_FIELD_MAX] = 'v';
    text[n + MQ_URL_FIELD_MAX + 1] = '\0';
    assert_int_equal(mq_url_parse(text, &u, &err), -EINVAL);
    /* The whole text has a ceiling too. */
    memset(text, 'a', MQ_URL_MAX + 1);
    memcpy(text, "amqp://", 7);
    text[MQ_URL_MAX + 1] = '\0';
    assert_int_equal(mq_url_parse(text, &u, &err), -EINVAL);
    free(text);
}

static void test_url_error_never_shows_password(void **state)
{
    struct mq_url *u = NULL;
    struct error err;

    (void)state;
    assert_int_equal(mq_url_parse("amqp://user:TopSecret@h:99999/", &u, &err), -EINVAL);
    assert_null(strstr(err.msg, "TopSecret"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_full),
        cmocka_unit_test(test_url_defaults),
        cmocka_unit_test(test_url_percent_decoding),
        cmocka_unit_test(test_url_several_hosts_and_ipv6),
        cmocka_unit_test(test_url_refuses_bad),
        cmocka_unit_test(test_url_limits),
        cmocka_unit_test(test_url_error_never_shows_password),
    };

    xalloc_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
