/* Unit tests for the wagent's pure parts: its configuration, the settings
 * document of a registration, the `invoke` arguments and the `req` a board
 * is sent, and the original agent's version rule. */
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
#include "wagent/board.h"
#include "wagent/conf.h"
#include "wagent/invoke.h"
#include "wagent/settings.h"

#define BASE                                                                                       \
    "[DEFAULT]\ntransport_url = amqp://g:g@127.0.0.1:5672/\nhost = wagent-1\n"                     \
    "[database]\nconnection = postgresql://x@127.0.0.1/db\n"

static void test_conf_defaults(void **state)
{
    struct wag_conf c;
    struct error err;

    (void)state;
    assert_int_equal(wag_conf_load_text(BASE, &c, &err), 0);
    assert_string_equal(c.hostname, "wagent-1");
    assert_string_equal(c.realm, "s4t");
    assert_string_equal(c.wamp_transport_url, "ws://localhost:8181/");
    assert_string_equal(c.listen_host, "0.0.0.0");
    assert_int_equal(c.listen_port, 8181);
    assert_string_equal(c.admin_host, "127.0.0.1");
    assert_int_equal(c.admin_port, 8183);
    assert_int_equal(c.ping_interval, 20);
    assert_int_equal(c.ping_timeout, 40);
    assert_int_equal(c.heartbeat_interval, 10);
    assert_int_equal(c.agent_timeout, 30);
    assert_int_equal(c.bind_timeout, 30);
    assert_int_equal(c.registration_grace, 2);
    assert_true(c.allow_anonymous_boards);
    assert_false(c.register_agent);
    assert_int_equal(c.max_register_attempts, 5);
    assert_int_equal(c.max_message_size, 16777216);
    assert_int_equal(c.max_sessions, 20000);
    assert_int_equal(c.max_handshakes_per_second, 500);
    assert_int_equal(c.max_pending_calls_per_board, 64);
    assert_int_equal(c.session_history, 30);
    /* [wstun] public_url: the boards' host of the WAMP URL, the wstun port. */
    assert_string_equal(c.wstun_public_url, "ws://localhost:8080/");
    wag_conf_free(&c);
}

static void test_conf_refusals(void **state)
{
    static const struct {
        const char *extra;
        const char *words;
    } cases[] = {
        {"[wagent]\nping_timeout = 10\nping_interval = 20\n", "ping_timeout"},
        {"[wagent]\nlisten = nowhere\n", "[wagent] listen"},
        {"[wagent]\ncert_file = /x.pem\n", "go together"},
        {"[wamp]\nwamp_transport_url = http://x/\n", "wamp_transport_url"},
        {"[wagent]\nmax_message_size = 10\n", "max_message_size"},
        {"[wagent]\nallow_anonymous_boards = perhaps\n", "allow_anonymous_boards"},
        {"[wstun]\npublic_url = ftp://x/\n", "public_url"},
    };
    char text[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wag_conf c;
        struct error err;

        snprintf(text, sizeof(text), BASE "%s", cases[i].extra);
        error_clear(&err);
        if (wag_conf_load_text(text, &c, &err) == 0 || strstr(err.msg, cases[i].words) == NULL)
            fail_msg("case %zu: '%s'", i, err.msg);
        wag_conf_free(&c);
    }
    {
        struct wag_conf c;
        struct error err;

        assert_int_equal(wag_conf_load_text("[DEFAULT]\nhost = x\n", &c, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "[database] connection"));
        wag_conf_free(&c);
    }
}

static void test_conf_public_url_and_ignored_options(void **state)
{
    struct wag_conf c;
    struct error err;

    (void)state;
    assert_int_equal(wag_conf_load_text(BASE "[wamp]\nwamp_transport_url = wss://iot.example.org:"
                                             "8181/\nskip_cert_verify = true\n"
                                             "autoPingInterval = 5\n"
                                             "[wstun]\nlisten = 0.0.0.0:8443\n"
                                             "[wagent]\ncert_file = /c\nkey_file = /k\n"
                                             "admin_listen =\n",
                                        &c, &err),
                     0);
    assert_string_equal(c.wstun_public_url, "wss://iot.example.org:8443/");
    assert_string_equal(c.admin_host, "");
    wag_conf_free(&c);
    assert_int_equal(
        wag_conf_load_text(BASE "[wstun]\npublic_url = wss://t.example.org/\n", &c, &err), 0);
    assert_string_equal(c.wstun_public_url, "wss://t.example.org/");
    wag_conf_free(&c);
}

static void test_settings_document(void **state)
{
    struct wag_settings st = {
        .uuid = "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52",
        .code = "A7K2-19QX",
        .name = "bench-07",
        .type = "gateway",
        .agent = "wagent-1",
        .owner = "u1",
        .project = "p1",
        .fleet = NULL,
        .mobile = 0,
        .lr_version = NULL,
        .connectivity_json = "{}",
        .extra_json = "{\"k\": 1}",
        .created_at = "2026-11-23T06:48:35.856865+00:00",
        .updated_at = "2026-11-23T07:02:11.004512+00:00",
        .longitude = "15.55",
        .latitude = "38.19",
        .altitude = "0",
        .secret = "Vq3T0n5xQm6b2wYk8rJdZ1pLcF7hEsUa4NgRiO9tKyA",
        .registration_url = "wss://iot.example.org:8181/",
        .main_url = "wss://b.example.org:8181/",
        .realm = "s4t",
    };
    cJSON *doc = wag_settings_doc(&st, 1), *stored = wag_settings_doc(&st, 0);
    char *a = json_print(doc), *b = json_print(stored);

    (void)state;
    assert_string_equal(
        a, "{\"iotronic\":{\"board\":{\"uuid\":\"6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52\","
           "\"code\":\"A7K2-19QX\",\"status\":\"registered\",\"name\":\"bench-07\",\"type\":"
           "\"gateway\",\"agent\":\"wagent-1\",\"owner\":\"u1\",\"project\":\"p1\",\"fleet\":null,"
           "\"mobile\":false,\"lr_version\":null,\"connectivity\":{},\"extra\":{\"k\":1},"
           "\"created_at\":\"2026-11-23T06:48:35.856865+00:00\",\"updated_at\":"
           "\"2026-11-23T07:02:11.004512+00:00\",\"location\":{\"longitude\":\"15.55\","
           "\"latitude\":\"38.19\",\"altitude\":\"0\",\"updated_at\":null},\"auth\":{\"method\":"
           "\"wampcra\",\"authid\":\"6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52\",\"secret\":"
           "\"Vq3T0n5xQm6b2wYk8rJdZ1pLcF7hEsUa4NgRiO9tKyA\"}},\"wamp\":{\"registration-agent\":"
           "{\"url\":\"wss://iot.example.org:8181/\",\"realm\":\"s4t\"},\"main-agent\":{\"url\":"
           "\"wss://b.example.org:8181/\",\"realm\":\"s4t\"}},\"extra\":{}}}");
    assert_null(strstr(b, "secret"));
    assert_non_null(strstr(b, "\"auth\":{\"method\":\"wampcra\",\"authid\":"));
    free(a);
    free(b);
    cJSON_Delete(doc);
    cJSON_Delete(stored);
    /* A bad jsonb text still gives an object. */
    st.extra_json = "[1]";
    st.connectivity_json = NULL;
    doc = wag_settings_doc(&st, 0);
    a = json_print(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "iotronic"), "board"));
    assert_non_null(strstr(a, "\"connectivity\":{},\"extra\":{}"));
    free(a);
    cJSON_Delete(doc);
}

static int parse(const char *text, struct wag_call **c, struct error *err)
{
    cJSON *args = NULL;
    int rc;

    assert_int_equal(json_parse(text, strlen(text), &args, err), 0);
    rc = wag_call_parse(args, c, err);
    cJSON_Delete(args);
    return rc;
}

static void test_invoke_arguments(void **state)
{
    struct wag_call *c = NULL;
    struct error err;

    (void)state;
    assert_int_equal(parse("{\"board_uuid\":\"6B1F0C1E6F0E4C439D8E0C3F7D1B9A52\",\"method\":"
                           "\"DevicePing\",\"args\":[{}],\"req\":{\"uuid\":\"r\"},"
                           "\"timeout_ms\":3000}",
                           &c, &err),
                     0);
    assert_string_equal(c->board_uuid, "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52");
    assert_string_equal(c->method, "DevicePing");
    assert_int_equal(cJSON_GetArraySize(c->args), 1);
    assert_int_equal(c->timeout_ms, 3000);
    assert_non_null(c->reqobj);
    wag_call_free(c);
    assert_int_equal(parse("{\"board_uuid\":\"6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52\",\"method\":"
                           "\"FunctionExecute\",\"args\":null,\"req\":null}",
                           &c, &err),
                     0);
    assert_null(c->reqobj);
    assert_int_equal(cJSON_GetArraySize(c->args), 0);
    assert_int_equal(c->timeout_ms, 120000);
    wag_call_free(c);
    static const char *const bad[] = {
        "{\"method\":\"DevicePing\"}",
        "{\"board_uuid\":\"x\",\"method\":\"DevicePing\"}",
        "{\"board_uuid\":\"6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52\",\"method\":\"1Ping\"}",
        "{\"board_uuid\":\"6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52\",\"method\":\"a.b\"}",
        "{\"board_uuid\":\"6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52\",\"method\":\"P\",\"args\":{}}",
        "{\"board_uuid\":\"6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52\",\"method\":\"P\",\"req\":[]}",
        "{\"board_uuid\":\"6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52\",\"method\":\"P\","
        "\"timeout_ms\":0}",
        "{\"board_uuid\":\"6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52\",\"method\":\"P\","
        "\"timeout_ms\":1.5}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = NULL;
        if (parse(bad[i], &c, &err) != -EINVAL || c != NULL)
            fail_msg("accepted: %s", bad[i]);
    }
}

static void test_req_of_a_call(void **state)
{
    struct wag_call *c = NULL;
    struct error err;
    cJSON *r;
    char *t;

    (void)state;
    assert_int_equal(parse("{\"board_uuid\":\"6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52\",\"method\":"
                           "\"FunctionExecute\",\"args\":[]}",
                           &c, &err),
                     0);
    assert_null(wag_call_req(c, 1, 0)); /* an original agent before 0.4.9 */
    r = wag_call_req(c, 0, 1795456931000000LL);
    t = json_print(r);
    /* A fresh request for a call the cloud did not record (6.2). */
    assert_int_equal(strlen(cJSON_GetObjectItem(r, "uuid")->valuestring), 36);
    assert_non_null(strstr(t, "\"main_request_uuid\":null,\"destination_uuid\":"
                              "\"6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52\",\"pending_requests\":0,"
                              "\"status\":\"PENDING\",\"project\":null,\"type\":0,\"action\":"
                              "\"FunctionExecute\",\"created_at\":"
                              "\"2026-11-23T18:02:11.000000+00:00\",\"updated_at\":null"));
    free(t);
    cJSON_Delete(r);
    wag_call_free(c);
}

static void test_versions_called_without_req(void **state)
{
    (void)state;
    assert_true(wag_lr_without_req("0.4.8"));
    assert_true(wag_lr_without_req("0.3"));
    assert_true(wag_lr_without_req("0.4.1.dev3"));
    assert_false(wag_lr_without_req("0.4.9"));
    assert_false(wag_lr_without_req("0.4.17"));
    assert_false(wag_lr_without_req("0.5.0"));
    assert_false(wag_lr_without_req("1.0"));
    assert_false(wag_lr_without_req("lrc-0.1.0"));
    assert_false(wag_lr_without_req("freedom-1"));
    assert_false(wag_lr_without_req(""));
    assert_false(wag_lr_without_req(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_defaults),
        cmocka_unit_test(test_conf_refusals),
        cmocka_unit_test(test_conf_public_url_and_ignored_options),
        cmocka_unit_test(test_settings_document),
        cmocka_unit_test(test_invoke_arguments),
        cmocka_unit_test(test_req_of_a_call),
        cmocka_unit_test(test_versions_called_without_req),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
