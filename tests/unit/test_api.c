/* Unit tests for the pure parts of iotronic-api: statuses and errnos, the
 * version negotiation (1.4), identifiers (1.9), collection parameters and the
 * `next` link (1.10), request bodies (1.11) and the representation writer
 * (section 3). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/fault.h"
#include "api/ident.h"
#include "api/query.h"
#include "api/resource.h"
#include "api/schema.h"
#include "api/version.h"
#include "common/jsonw.h"

static void test_status_errno_table_roundtrips(void **state)
{
    static const int st[] = {400, 401, 403, 404, 405, 406, 409, 413, 415, 431, 502, 503, 504};

    (void)state;
    for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++)
        assert_int_equal(api_errno_status(api_status_errno(st[i])), st[i]);
    assert_int_equal(api_errno_status(-EBUSY), 409);
    assert_int_equal(api_errno_status(-ENOTCONN), 503);
    assert_int_equal(api_errno_status(-EPIPE), 500);
}

static void test_version_negotiation(void **state)
{
    static const struct {
        const char *v;
        const char *msg; /* NULL: accepted */
    } t[] = {
        {NULL, NULL},
        {"1.0", NULL},
        {" 1.0 ", NULL},
        {"LaTeSt", NULL},
        {"1.00", NULL},
        {"1.9", "Version 1.9 was requested but the minor version is not supported by this "
                "service. The supported version range is: [1.0, 1.0]."},
        {"1.09", "Version 1.9 was requested but the minor version is not supported by this "
                 "service. The supported version range is: [1.0, 1.0]."},
        {"2.0", "Mutually exclusive versions requested. Version 2.0 requested but not "
                "supported by this service. The supported version range is: [1.0, 1.0]."},
        {"1", "Invalid value for X-OpenStack-Iotronic-API-Version header"},
        {"1.0.0", "Invalid value for X-OpenStack-Iotronic-API-Version header"},
        {"a.b", "Invalid value for X-OpenStack-Iotronic-API-Version header"},
        {"1.-1", "Invalid value for X-OpenStack-Iotronic-API-Version header"},
        {"", "Invalid value for X-OpenStack-Iotronic-API-Version header"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct error err = {0};
        int rc = api_version_check(t[i].v, &err);

        if (t[i].msg == NULL) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(api_errno_status(rc), 406);
            assert_string_equal(err.msg, t[i].msg);
        }
    }
}

static void test_names_and_refs(void **state)
{
    char u[UUID_STR_LEN];
    struct error err;
    char longname[300];

    (void)state;
    assert_true(api_name_allowed("board", "bench-07"));
    assert_true(api_name_allowed("board", "a.json"));
    assert_true(api_name_allowed("board", "public"));
    assert_false(api_name_allowed("plugin", "public"));
    assert_false(api_name_allowed("service", "public"));
    assert_false(api_name_allowed("fleet", "detail"));
    assert_false(api_name_allowed("board", "6b1f0c1e6f0e4c439d8e0c3f7d1b9a52"));
    assert_false(api_name_allowed("board", "has space"));
    assert_false(api_name_allowed("board", ""));
    memset(longname, 'a', 256);
    longname[256] = '\0';
    assert_false(api_name_allowed("board", longname));
    longname[255] = '\0';
    assert_true(api_name_allowed("board", longname));

    assert_int_equal(api_parse_ref("{6B1F0C1E-6F0E-4C43-9D8E-0C3F7D1B9A52}", u, &err), 1);
    assert_string_equal(u, "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52");
    assert_int_equal(api_parse_ref("bench-07", u, &err), 0);
    assert_int_equal(api_parse_ref("a/b", u, &err), -EINVAL);
    assert_string_equal(err.msg, "Expected a logical name or uuid but received a/b.");
    assert_int_equal(api_parse_uuid("bench-07", u, &err), -EINVAL);
    assert_string_equal(err.msg, "Expected a uuid but received bench-07.");
}

static void test_dns_rules(void **state)
{
    (void)state;
    assert_true(api_is_dns_label("board-1", 63));
    assert_false(api_is_dns_label("-board", 63));
    assert_false(api_is_dns_label("board-", 63));
    assert_false(api_is_dns_label("a.b", 63));
    assert_false(api_is_dns_label("", 63));
    assert_true(api_is_dns_name("iot.example.org", 100));
    assert_true(api_is_dns_name("iot.example.org.", 100));
    assert_false(api_is_dns_name("iot..example.org", 100));
    assert_false(api_is_dns_name("iot.example.org;rm", 100));
    assert_true(api_is_email("ops@example.org", 254));
    assert_false(api_is_email("ops @example.org", 254));
    assert_false(api_is_email("ops@", 254));
    assert_false(api_is_email("@example.org", 254));
    assert_false(api_is_email("a@b@c.org", 254));
}

#define Q(n, v)                                                                                    \
    {                                                                                              \
        n, v                                                                                       \
    }

static int parse(const struct api_kind *k, unsigned allowed, int admin, const struct api_qparam *p,
                 size_t n, struct api_listq *q, struct error *err)
{
    return api_listq_parse(k, allowed, 0, admin, 1000, p, n, q, err);
}

static void test_list_params_errors(void **state)
{
    static const struct {
        struct api_qparam p;
        const char *msg;
    } t[] = {
        {Q("limit", "0"), "Limit must be positive"},
        {Q("limit", "-3"), "Limit must be positive"},
        {Q("limit", "x"),
         "Invalid input for field/attribute limit. Value: 'x'. unable to convert to int"},
        {Q("sort_dir", "up"), "Invalid sort direction: up. Acceptable values are 'asc' or 'desc'"},
        {Q("sort_key", "extra"), "The sort_key value extra is an invalid field for sorting"},
        {Q("sort_key", "location"), "The sort_key value location is an invalid field for sorting"},
        {Q("sort_key", "config"), "The sort_key value \"config\" is an invalid field for sorting"},
        {Q("bogus", "1"), "Unknown argument: \"bogus\""},
        {Q("project", "p1"), "Project parameter can be used only by the administrator."},
        {Q("all_projects", "true"),
         "all_projects parameter can be used only by the administrator."},
        {Q("all_projects", "maybe"),
         "Invalid input for field/attribute all_projects. Value: 'maybe'. Unrecognized value "
         "'maybe', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', "
         "'t', 'true', 'y', 'yes'"},
        {Q("marker", "nope"), "Expected a uuid but received nope."},
    };
    unsigned allowed = API_Q_PAGING | API_Q_STATUS | API_Q_PROJECT | API_Q_ALL_PROJECTS;

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct api_listq q;
        struct error err = {0};

        assert_int_equal(parse(&api_kind_board, allowed, 0, &t[i].p, 1, &q, &err), -EINVAL);
        assert_string_equal(err.msg, t[i].msg);
    }
}

static void test_list_params_unknown_joined(void **state)
{
    const struct api_qparam p[] = {Q("a", "1"), Q("limit", "2"), Q("b", "2"), Q("a", "3")};
    struct api_listq q;
    struct error err;

    (void)state;
    assert_int_equal(parse(&api_kind_fleet, API_Q_PAGING, 0, p, 4, &q, &err), -EINVAL);
    assert_string_equal(err.msg, "Unknown argument: \"a, b\"");
}

static void test_list_params_values(void **state)
{
    const struct api_qparam p[] = {Q("limit", "5000"),
                                   Q("sort_key", "VIF_name"),
                                   Q("sort_dir", "desc"),
                                   Q("limit", " 7 "),
                                   Q("fields", " mac_add, ,VIF_name,mac_add"),
                                   Q("project", "p2"),
                                   Q("all_projects", "Yes")};
    struct api_listq q;
    struct error err;

    (void)state;
    assert_int_equal(
        parse(&api_kind_port, API_Q_PAGING | API_Q_PROJECT | API_Q_ALL_PROJECTS, 1, p, 7, &q, &err),
        0);
    assert_int_equal(q.limit, 7); /* the last value wins */
    assert_int_equal(q.desc, 1);
    assert_string_equal(api_kind_port.sort_keys[q.sort], "VIF_name");
    assert_true(q.fields_given);
    assert_int_equal(q.fields, (1u << 2) | (1u << 3)); /* MAC_add, VIF_name */
    assert_string_equal(q.project, "p2");
    assert_int_equal(q.all_projects, 1);
}

static void test_list_limit_capped_and_defaulted(void **state)
{
    const struct api_qparam big = Q("limit", "99999999999999999999999");
    struct api_listq q;
    struct error err;

    (void)state;
    assert_int_equal(parse(&api_kind_board, API_Q_PAGING, 0, &big, 1, &q, &err), 0);
    assert_int_equal(q.limit, 1000);
    assert_int_equal(parse(&api_kind_board, API_Q_PAGING, 0, NULL, 0, &q, &err), 0);
    assert_int_equal(q.limit, 1000);
    assert_int_equal(q.fields, api_kind_default(&api_kind_board));
    assert_int_equal(api_listq_parse(&api_kind_board, API_Q_PAGING, 1, 0, 1000, NULL, 0, &q, &err),
                     0);
    assert_int_equal(q.fields, api_kind_all(&api_kind_board));
}

static void test_fields_unknown(void **state)
{
    const struct api_qparam p = Q("fields", "name,links,Bogus,uuid");
    struct api_listq q;
    struct error err;

    (void)state;
    assert_int_equal(parse(&api_kind_plugin, API_Q_PAGING, 0, &p, 1, &q, &err), -EINVAL);
    assert_string_equal(err.msg, "Field(s) \"links, Bogus\" are not valid");
    /* Boards ignore unknown names. */
    assert_int_equal(parse(&api_kind_board, API_Q_PAGING, 0, &p, 1, &q, &err), 0);
    assert_int_equal(q.fields, (1u << 0) | (1u << 3));
}

static void test_non_admin_flag_false_is_fine(void **state)
{
    const struct api_qparam p[] = {Q("all_plugins", "false"), Q("with_public", "1")};
    const struct api_qparam bad = Q("all_plugins", "true");
    const struct api_qparam bads = Q("all_services", "on");
    struct api_listq q;
    struct error err;

    (void)state;
    assert_int_equal(parse(&api_kind_plugin, API_Q_PAGING | API_Q_ALL_PLUGINS | API_Q_WITH_PUBLIC,
                           0, p, 2, &q, &err),
                     0);
    assert_int_equal(q.with_public, 1);
    assert_int_equal(q.all_projects, 0);
    assert_int_equal(
        parse(&api_kind_plugin, API_Q_PAGING | API_Q_ALL_PLUGINS, 0, &bad, 1, &q, &err), -EINVAL);
    assert_string_equal(err.msg, "all_plugins parameter can only be used  by the administrator.");
    assert_int_equal(
        parse(&api_kind_service, API_Q_PAGING | API_Q_ALL_SERVICES, 0, &bads, 1, &q, &err),
        -EINVAL);
    assert_string_equal(err.msg, "all_services parameter can only be used  by the administrator.");
}

static void test_next_link_carries_filters(void **state)
{
    const struct api_qparam p[] = {Q("fields", "name,uuid"),  Q("status", "on line"),
                                   Q("limit", "2"),           Q("project", "p&1"),
                                   Q("all_projects", "true"), Q("sort_dir", "desc")};
    struct api_listq q;
    struct error err;
    struct buf b;

    (void)state;
    assert_int_equal(parse(&api_kind_board,
                           API_Q_PAGING | API_Q_STATUS | API_Q_PROJECT | API_Q_ALL_PROJECTS, 1, p,
                           6, &q, &err),
                     0);
    buf_init(&b, 4096);
    assert_int_equal(api_next_link(&b, "http://h:8812", "/v1/fleets/f1/boards", &api_kind_board, &q,
                                   "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52"),
                     0);
    assert_string_equal(b.data, "http://h:8812/v1/fleets/f1/boards?sort_key=id&sort_dir=desc"
                                "&status=on%20line&project=p%261&all_projects=true"
                                "&fields=name%2Cuuid&limit=2"
                                "&marker=6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52");
    buf_free(&b);
}

static int body(const struct api_schema *s, const char *text, struct api_body *b, struct error *err)
{
    return api_body_parse(s, text, strlen(text), b, err);
}

static void test_body_errors(void **state)
{
    static const struct {
        const struct api_schema *s;
        const char *text, *msg;
    } t[] = {
        {&api_schema_board_post, "", "Missing argument: \"Board\""},
        {&api_schema_board_post, "  \n", "Missing argument: \"Board\""},
        {&api_schema_board_post, "{\"name\":", "Request is not in valid JSON format"},
        {&api_schema_board_post, "{\"name\": \"\xff\"}", "Request is not in valid JSON format"},
        {&api_schema_board_patch, "[{\"op\": \"replace\"}]",
         "Invalid input for field/attribute val_Board. Value: '[{\"op\":\"replace\"}]'. Wrong "
         "type. Expected 'object', got 'array'"},
        {&api_schema_board_post, "{\"x\": 1, \"name\": \"a\", \"y\": 2}",
         "Unknown attributes for argument Board: x, y"},
        {&api_schema_board_post, "{\"zz\": 1}", "Unknown attribute for argument Board: zz"},
        {&api_schema_board_post, "{\"status\": \"online\"}",
         "Invalid input for field/attribute status. Value: 'online'. Cannot set read only "
         "field."},
        {&api_schema_board_post, "{\"name\": 5}",
         "Invalid input for field/attribute name. Value: '5'. Wrong type. Expected 'string', "
         "got 'integer'"},
        {&api_schema_board_post, "{\"name\": null}",
         "Invalid input for field/attribute name. Value: 'null'. Value must not be null"},
        {&api_schema_board_post, "{\"code\": \"0123456789012345678901234567890123456\"}",
         "Invalid input for field/attribute code. Value: "
         "'0123456789012345678901234567890123456'. Value should have a maximum character "
         "requirement of 36"},
        {&api_schema_service_post, "{\"port\": 70000}",
         "Invalid input for field/attribute port. Value: '70000'. Value should be lower or "
         "equal to 65535"},
        {&api_schema_service_post, "{\"port\": \"0\"}",
         "Invalid input for field/attribute port. Value: '0'. Value should be greater or "
         "equal to 1"},
        {&api_schema_service_post, "{\"port\": \"8x\"}",
         "Invalid input for field/attribute port. Value: '8x'. unable to convert to int"},
        {&api_schema_service_post, "{\"protocol\": \"SCTP\"}",
         "Invalid input for field/attribute protocol. Value: 'SCTP'. Value should be one of: "
         "TCP, UDP, ANY"},
        {&api_schema_board_post, "{\"mobile\": \"perhaps\"}",
         "Invalid input for field/attribute mobile. Value: 'perhaps'. Unrecognized value "
         "'perhaps', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', "
         "'t', 'true', 'y', 'yes'"},
        {&api_schema_board_post, "{\"extra\": [1]}",
         "Invalid input for field/attribute extra. Value: '[1]'. Wrong type. Expected "
         "'object', got 'array'"},
        {&api_schema_board_post, "{\"location\": [{\"latitude\": \"1\", \"foo\": 2}]}",
         "Unknown attribute for argument Board.location: foo"},
        {&api_schema_board_post, "{\"location\": [3]}",
         "Invalid input for field/attribute Board.location. Value: '3'. Wrong type. Expected "
         "'object', got 'integer'"},
        {&api_schema_board_patch, "{\"uuid\": \"6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52\"}",
         "Cannot overwrite UUID for an existing Board."},
        {&api_schema_fleet_post, "{\"uuid\": \"nope\"}", "Expected a uuid but received nope."},
        {&api_schema_board_post, "\"text\"",
         "Invalid input for field/attribute Board. Value: 'text'. Wrong type. Expected "
         "'object', got 'string'"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct api_body b;
        struct error err = {0};

        assert_int_equal(body(t[i].s, t[i].text, &b, &err), -EINVAL);
        assert_string_equal(err.msg, t[i].msg);
        api_body_free(&b);
    }
}

static void test_body_coercions(void **state)
{
    struct api_body b;
    struct error err;
    const char *text = "{\"name\": \"b1\", \"code\": \"C1\", \"mobile\": \" Yes \", "
                       "\"extra\": \"{\\\"k\\\": 1}\", \"type\": null, "
                       "\"location\": [{\"latitude\": \"38.1\"}], "
                       "\"uuid\": \"6B1F0C1E6F0E4C439D8E0C3F7D1B9A52\"}";
    const struct api_val *v;

    (void)state;
    assert_int_equal(body(&api_schema_board_post, text, &b, &err), 0);
    v = api_body_get(&api_schema_board_post, &b, "mobile");
    assert_true(v->present && v->b == 1);
    v = api_body_get(&api_schema_board_post, &b, "extra");
    assert_true(cJSON_IsObject(v->j));
    assert_int_equal(cJSON_GetObjectItem(v->j, "k")->valueint, 1);
    v = api_body_get(&api_schema_board_post, &b, "type");
    assert_true(v->present && v->null);
    v = api_body_get(&api_schema_board_post, &b, "uuid");
    assert_string_equal(v->s, "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52");
    v = api_body_get(&api_schema_board_post, &b, "fleet");
    assert_false(v->present);
    api_body_free(&b);

    assert_int_equal(body(&api_schema_service_post, "{\"port\": \"8080\"}", &b, &err), 0);
    assert_int_equal(api_body_get(&api_schema_service_post, &b, "port")->i, 8080);
    api_body_free(&b);
}

static void test_render_board_default_fields(void **state)
{
    const char *vals[20] = {
        "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52",
        "A7K2",
        "online",
        "bench-07",
        NULL,
        "wagent-1",
        "wss://iot.example.org:8181/",
        "u1",
        "4739",
        "p1",
        NULL,
        "f",
        "0.5.0",
        "{\"iface\": \"eth0\"}",
        "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52",
        "[]",
        "{}",
        "{}",
        "2026-11-23T06:48:35.856865+00:00",
        NULL,
    };
    struct buf b;
    struct jw w;

    (void)state;
    buf_init(&b, 1 << 16);
    jw_init(&w, &b, 1);
    api_render_item(&w, &api_kind_board, vals, api_kind_default(&api_kind_board), "http://h");
    assert_int_equal(jw_error(&w), 0);
    assert_string_equal(
        b.data,
        "{\"uuid\": \"6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52\", \"code\": \"A7K2\", "
        "\"status\": \"online\", \"name\": \"bench-07\", \"type\": null, \"agent\": "
        "\"wagent-1\", \"wstun_ip\": \"iot.example.org\", \"session\": \"4739\", \"fleet\": "
        "null, \"lr_version\": \"0.5.0\", \"connectivity\": {\"iface\": \"eth0\"}, \"links\": "
        "[{\"href\": \"http://h/v1/boards/6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52\", \"rel\": "
        "\"self\"}, {\"href\": \"http://h/boards/6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52\", "
        "\"rel\": \"bookmark\"}], \"location\": []}");
    /* Without an agent, wstun_ip is omitted. */
    vals[6] = NULL;
    buf_reset(&b);
    jw_init(&w, &b, 1);
    api_render_item(&w, &api_kind_board, vals, 1u << 6, "http://h");
    assert_null(strstr(b.data, "wstun_ip"));
    assert_non_null(strstr(b.data, "\"links\""));
    buf_free(&b);
}

static void test_url_host(void **state)
{
    char h[64];

    (void)state;
    assert_string_equal(api_url_host("wss://iot.example.org:8181/", h, sizeof(h)),
                        "iot.example.org");
    assert_string_equal(api_url_host("ws://[::1]:8181/", h, sizeof(h)), "::1");
    assert_string_equal(api_url_host("ws://u:p@10.0.0.1/x", h, sizeof(h)), "10.0.0.1");
    assert_string_equal(api_url_host("host", h, sizeof(h)), "host");
}

static void test_jsonw_escapes_and_repairs(void **state)
{
    struct buf b;
    struct jw w;

    (void)state;
    buf_init(&b, 4096);
    jw_init(&w, &b, 0);
    jw_arr_begin(&w);
    jw_str(&w, "a\"b\\c\n\x01\xc3\xa9\xff");
    jw_int(&w, -5);
    jw_bool(&w, 1);
    jw_str(&w, NULL);
    jw_arr_end(&w);
    assert_int_equal(jw_error(&w), 0);
    assert_string_equal(b.data, "[\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\xef\xbf\xbd\",-5,true,null]");
    buf_free(&b);
    buf_init(&b, 4);
    jw_init(&w, &b, 0);
    jw_str(&w, "too long");
    assert_int_equal(jw_error(&w), -E2BIG);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_errno_table_roundtrips),
        cmocka_unit_test(test_version_negotiation),
        cmocka_unit_test(test_names_and_refs),
        cmocka_unit_test(test_dns_rules),
        cmocka_unit_test(test_list_params_errors),
        cmocka_unit_test(test_list_params_unknown_joined),
        cmocka_unit_test(test_list_params_values),
        cmocka_unit_test(test_list_limit_capped_and_defaulted),
        cmocka_unit_test(test_fields_unknown),
        cmocka_unit_test(test_non_admin_flag_false_is_fine),
        cmocka_unit_test(test_next_link_carries_filters),
        cmocka_unit_test(test_body_errors),
        cmocka_unit_test(test_body_coercions),
        cmocka_unit_test(test_render_board_default_fields),
        cmocka_unit_test(test_url_host),
        cmocka_unit_test(test_jsonw_escapes_and_repairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
