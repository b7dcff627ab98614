/* Unit tests for the agent's pure parts: argument helpers of the RPC table,
 * package names and argv, the DeviceRestSubmit allowlist and parser, plugin
 * interpreters and runner argv, failover and backoff, network facts
 * (board-protocol.md 6.5, 7.5, 10.4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "src/conf.h"
#include "src/device.h"
#include "src/link.h"
#include "src/netinfo.h"
#include "src/plugins.h"
#include "src/plugins_int.h"
#include "src/restsubmit.h"
#include "src/rpc.h"
#include "tunnel/backoff.h"

static cJSON *j(const char *text)
{
    cJSON *v = cJSON_Parse(text);

    assert_non_null(v);
    return v;
}

static void test_arg_helpers_name_the_argument(void **state)
{
    cJSON *args = j("[{\"a\": 1}, \"text\", 42, true, null, 1.5]");
    const cJSON *o;
    const char *s;
    struct error err;
    int64_t n;
    int b;

    (void)state;
    assert_int_equal(lrc_arg_object(args, 0, "parameters", 1, &o, &err), 0);
    assert_non_null(o);
    assert_int_equal(lrc_arg_object(args, 1, "plugin", 1, &o, &err), -EINVAL);
    assert_string_equal(err.msg, "plugin must be an object");
    assert_int_equal(lrc_arg_object(args, 4, "plugin", 1, &o, &err), -ENOENT);
    assert_string_equal(err.msg, "missing plugin");
    assert_int_equal(lrc_arg_object(args, 9, "parameters", 0, &o, &err), 0);
    assert_null(o);
    assert_int_equal(lrc_arg_string(args, 1, "plugin_uuid", 4, &s, &err), 0);
    assert_string_equal(s, "text");
    assert_int_equal(lrc_arg_string(args, 1, "plugin_uuid", 3, &s, &err), -EINVAL);
    assert_string_equal(err.msg, "plugin_uuid is longer than 3 characters");
    assert_int_equal(lrc_arg_string(args, 2, "plugin_uuid", 64, &s, &err), -EINVAL);
    assert_string_equal(err.msg, "plugin_uuid must be a string");
    assert_int_equal(lrc_arg_int(args, 2, "public_port", 1, 65535, &n, &err), 0);
    assert_int_equal(n, 42);
    assert_int_equal(lrc_arg_int(args, 2, "public_port", 50, 65535, &n, &err), -EINVAL);
    assert_string_equal(err.msg, "public_port must be an integer between 50 and 65535");
    assert_int_equal(lrc_arg_int(args, 5, "public_port", 1, 65535, &n, &err), -EINVAL);
    assert_int_equal(lrc_arg_int(args, 7, "public_port", 1, 65535, &n, &err), -ENOENT);
    assert_int_equal(lrc_arg_bool(args, 3, "onboot", 1, &b, &err), 0);
    assert_true(b);
    assert_int_equal(lrc_arg_bool(args, 4, "onboot", 0, &b, &err), 0);
    assert_false(b);
    assert_int_equal(lrc_arg_bool(args, 2, "onboot", 0, &b, &err), -EINVAL);
    assert_string_equal(err.msg, "onboot must be a boolean");
    cJSON_Delete(args);
    args = j("[]");
    assert_int_equal(lrc_arg_params(args, &o, &err), 0);
    assert_true(cJSON_IsObject(o));
    assert_null(o->child);
    cJSON_Delete(args);
}

static void test_every_procedure_is_in_the_table(void **state)
{
    static const char *const want[] = {
        "DevicePing",         "DeviceEcho",       "DeviceNetConfig",    "DeviceReboot",
        "DeviceRestartLR",    "DeviceUpgradeLR",  "DevicePkgOperation", "DeviceMountFs",
        "DeviceFactoryReset", "DeviceRestSubmit", "DeviceCaps",         "GpioRead",
        "GpioWrite",          "SensorRead",       "PluginInject",       "PluginStart",
        "PluginStop",         "PluginCall",       "PluginStatus",       "PluginReboot",
        "PluginRemove",       "ServiceEnable",    "ServiceDisable",     "ServiceRestore",
        "ServicesStatus",     "FunctionExecute",  "FunctionDeploy",     "FunctionRemove",
        "CachePurge",         "FunctionStatus",   "TriggerSet"};
    const struct lrc_rpc_method *m;
    size_t i = 0, n = 0;

    (void)state;
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        assert_non_null(lrc_rpc_find(want[k]));
        assert_non_null(lrc_rpc_find(want[k])->fn);
    }
    while ((m = lrc_rpc_next(&i)) != NULL)
        n++;
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    /* Not implemented here: never registered (6.5). */
    assert_null(lrc_rpc_find("EnableWebService"));
    assert_null(lrc_rpc_find("Create_VIF"));
    assert_null(lrc_rpc_find("testRPC"));
}

static void test_package_names_and_versions(void **state)
{
    char max_name[129], long_name[130];

    (void)state;
    memset(max_name, 'a', 128);
    max_name[128] = '\0';
    memset(long_name, 'a', 129);
    long_name[129] = '\0';
    assert_true(lrc_pkg_name_valid("jq"));
    assert_true(lrc_pkg_name_valid("pkg@scope/name_1.2+x-y"));
    assert_false(lrc_pkg_name_valid("@scope/pkg")); /* the first one is a letter or digit */
    assert_true(lrc_pkg_name_valid("9lives"));
    assert_true(lrc_pkg_name_valid(max_name));
    assert_false(lrc_pkg_name_valid(long_name));
    assert_false(lrc_pkg_name_valid(""));
    assert_false(lrc_pkg_name_valid(NULL));
    assert_false(lrc_pkg_name_valid("-rf"));
    assert_false(lrc_pkg_name_valid("jq;reboot"));
    assert_false(lrc_pkg_name_valid("a b"));
    assert_false(lrc_pkg_name_valid("$(id)"));
    assert_true(lrc_pkg_version_valid("1.6-2+deb12u1"));
    assert_true(lrc_pkg_version_valid("2:1.0~rc1"));
    assert_false(lrc_pkg_version_valid(""));
    assert_false(lrc_pkg_version_valid("1.0 && x"));
    assert_false(lrc_pkg_version_valid("0123456789012345678901234567890123456789012345678901234567"
                                       "890123456")); /* 65 */
}

static void test_package_argv(void **state)
{
    struct error err;
    char **v;

    (void)state;
    v = lrc_pkg_argv("apt-get", "install", "jq", "1.6-2", &err);
    assert_non_null(v);
    assert_string_equal(v[0], "/usr/bin/apt-get");
    assert_string_equal(v[1], "install");
    assert_string_equal(v[2], "-y");
    assert_string_equal(v[3], "jq=1.6-2");
    assert_null(v[4]);
    lrc_words_free(v);
    v = lrc_pkg_argv("apt-get", "update", NULL, NULL, &err);
    assert_non_null(v);
    assert_string_equal(v[1], "update");
    assert_null(v[2]);
    lrc_words_free(v);
    assert_null(lrc_pkg_argv("apt-get", "remove", NULL, NULL, &err));
    assert_string_equal(err.msg, "missing package");
    assert_null(lrc_pkg_argv("apt-get", "purge", "jq", NULL, &err));
    assert_non_null(strstr(err.msg, "command must be one of"));
    assert_null(lrc_pkg_argv("yum", "install", "jq", NULL, &err));
}

static void test_rest_allowlist_boundaries(void **state)
{
    char *allow[] = {"http://127.0.0.1", "http://localhost", "https://api.example.org/v2/", NULL};
    static const struct {
        const char *url;
        int ok;
    } cases[] = {
        {"http://127.0.0.1", 1},
        {"http://127.0.0.1/", 1},
        {"http://127.0.0.1:8080/x?y", 1},
        {"http://127.0.0.1?x", 1},
        {"http://127.0.0.1.evil.org/", 0},
        {"http://127.0.0.1@evil.org/", 0},
        {"http://127.0.0.10/", 0},
        {"http://localhost:80/", 1},
        {"http://localhostx/", 0},
        {"https://api.example.org/v2/boards", 1},
        {"https://api.example.org/v3/", 0},
        {"HTTP://127.0.0.1/", 0},
        {"", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (lrc_rest_allowed(cases[i].url, allow) != cases[i].ok)
            fail_msg("%s: expected %d", cases[i].url, cases[i].ok);
    assert_false(lrc_rest_allowed("http://127.0.0.1/", NULL));
}

static void test_rest_parse(void **state)
{
    char *allow[] = {"http://127.0.0.1", NULL};
    struct lrc_rest_req r;
    struct error err;
    cJSON *p;

    (void)state;
    p = j("{\"method\": \"post\", \"url\": \"http://127.0.0.1/a?z=1\", \"params\": {\"q\": \"a b\","
          " \"n\": 2}, \"headers\": {\"X-K\": \"v\"}, \"json\": {\"k\": true}, \"timeout\": 2.5}");
    assert_int_equal(lrc_rest_parse(p, allow, &r, &err), 0);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.url, "http://127.0.0.1/a?z=1&q=a%20b&n=2");
    assert_string_equal(r.headers[0], "X-K: v");
    assert_null(r.headers[1]);
    assert_string_equal(r.body, "{\"k\":true}");
    assert_true(r.json);
    assert_true(r.timeout_s == 2.5);
    lrc_rest_req_clear(&r);
    cJSON_Delete(p);

    static const struct {
        const char *text, *why;
    } bad[] = {
        {"{\"url\": \"http://127.0.0.1/\"}", "missing method"},
        {"{\"method\": \"GET\"}", "missing url"},
        {"{\"method\": \"GET\", \"url\": \"http://10.0.0.1/\"}", "URL not allowed."},
        {"{\"method\": \"GET\", \"url\": \"ftp://127.0.0.1/\"}", "http:// or https://"},
        {"{\"method\": \"GET\", \"url\": \"http://127.0.0.1/\", \"timeout\": 0}", "timeout"},
        {"{\"method\": \"GET\", \"url\": \"http://127.0.0.1/\", \"timeout\": 31}", "timeout"},
        {"{\"method\": \"GET\", \"url\": \"http://127.0.0.1/\", \"headers\": []}",
         "headers must be an object"},
        {"{\"method\": \"GET\", \"url\": \"http://127.0.0.1/\", \"headers\": {\"a b\": \"x\"}}",
         "not a valid header"},
        {"{\"method\": \"GET\", \"url\": \"http://127.0.0.1/\", \"json\": 1, \"data\": \"x\"}",
         "exclusive"},
        {"{\"method\": \"GET\", \"url\": \"http://127.0.0.1/\", \"data\": 5}",
         "data must be a string"},
        {"{\"method\": \"GET\", \"url\": \"http://127.0.0.1/\", \"params\": 5}",
         "params must be an object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = j(bad[i].text);
        error_clear(&err);
        assert_int_equal(lrc_rest_parse(p, allow, &r, &err), -EINVAL);
        if (strstr(err.msg, bad[i].why) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].why);
        assert_null(r.url);
        cJSON_Delete(p);
    }
}

static void test_plugin_interpreters(void **state)
{
    char *interps[] = {"/usr/bin/python3", "/bin/sh", "/usr/bin/awk", NULL};
    char *none[] = {"/bin/sh", NULL};
    const char *flag;
    struct error err;
    char *path;

    (void)state;
    assert_int_equal(lrc_plugin_interpreter("#!/bin/sh\necho\n", interps, &path, &flag, &err), 0);
    assert_string_equal(path, "/bin/sh");
    assert_string_equal(flag, "-c");
    free(path);
    assert_int_equal(
        lrc_plugin_interpreter("#! /usr/bin/python3 -u\nx\n", interps, &path, &flag, &err), 0);
    assert_string_equal(path, "/usr/bin/python3");
    free(path);
    assert_int_equal(lrc_plugin_interpreter("print(1)\n", interps, &path, &flag, &err), 0);
    assert_string_equal(path, "/usr/bin/python3");
    free(path);
    assert_int_equal(lrc_plugin_interpreter("#!/usr/bin/perl\n", interps, &path, &flag, &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "interpreter /usr/bin/perl is not allowed"));
    assert_null(path);
    assert_int_equal(lrc_plugin_interpreter("#!/usr/bin/awk\n", interps, &path, &flag, &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "cannot run inline code"));
    assert_int_equal(lrc_plugin_interpreter("print(1)\n", none, &path, &flag, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "python3 is not among"));
}

static void test_plugin_argv_and_compat(void **state)
{
    const char *orig = "from iotronic_lightningrod.plugins import Plugin\n"
                       "class Worker(Plugin.Plugin):\n    pass\n";
    char **v;

    (void)state;
    assert_true(lrc_plugin_is_compat(orig));
    assert_false(lrc_plugin_is_compat("print('Worker')\n"));
    v = lrc_plugin_argv("/usr/bin/python3", "-c", 1, 1, "u-1", "n", orig);
    assert_string_equal(v[0], "/usr/bin/python3");
    assert_string_equal(v[1], "-c");
    assert_non_null(strstr(v[2], "class Plugin(threading.Thread)"));
    assert_string_equal(v[3], "call");
    assert_string_equal(v[4], "u-1");
    assert_string_equal(v[5], "n");
    assert_string_equal(v[6], orig);
    assert_null(v[7]);
    lrc_words_free(v);
    v = lrc_plugin_argv("/bin/sh", "-c", 0, 0, "u", "n", "echo hi");
    assert_string_equal(v[2], "echo hi");
    assert_null(v[3]);
    lrc_words_free(v);
}

static void test_utf8_repair(void **state)
{
    char *s;

    (void)state;
    s = plugin_utf8("ok \xc3\xa9 \xff end", 11);
    assert_string_equal(s, "ok \xc3\xa9 \xef\xbf\xbd end");
    free(s);
    s = plugin_utf8("\xed\xa0\x80", 3); /* a surrogate: three replacements */
    assert_string_equal(s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    free(s);
    s = plugin_utf8("a\0b", 3); /* NUL would cut the string */
    assert_string_equal(s, "a\xef\xbf\xbd"
                           "b");
    free(s);
}

static void test_failover_alternates_after_the_threshold(void **state)
{
    /* failures before the attempt -> 1 when it dials the registration agent */
    static const int want3[] = {0, 0, 0, 1, 0, 1, 0, 1};

    (void)state;
    for (unsigned n = 0; n < sizeof(want3) / sizeof(want3[0]); n++)
        assert_int_equal(lrc_link_pick_registration(n, 3, 1), want3[n]);
    assert_int_equal(lrc_link_pick_registration(10, 3, 0), 0); /* none to go to */
    assert_int_equal(lrc_link_pick_registration(10, 0, 1), 0); /* failover off */
    assert_int_equal(lrc_link_pick_registration(1, 1, 1), 1);
}

static void test_backoff_stays_within_its_bound(void **state)
{
    (void)state;
    /* The agent's schedule: initial 1 s, max 60 s (10.4). */
    assert_int_equal(tun_backoff_cap_ms(0, 1000, 60000), 1000);
    assert_int_equal(tun_backoff_cap_ms(3, 1000, 60000), 8000);
    assert_int_equal(tun_backoff_cap_ms(6, 1000, 60000), 60000);
    assert_int_equal(tun_backoff_cap_ms(64, 1000, 60000), 60000);
    assert_int_equal(tun_backoff_cap_ms(200, 1000, 300000), 300000);
    for (unsigned n = 0; n < 70; n++)
        for (int k = 0; k < 20; k++)
            assert_true(tun_backoff_ms(n, 1000, 60000) <= tun_backoff_cap_ms(n, 1000, 60000));
}

static void test_connectivity_of_loopback(void **state)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    cJSON *c;
    char buf[64];

    (void)state;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c = lrc_netinfo_connectivity(&ss);
    assert_string_equal(cJSON_GetObjectItem(c, "iface")->valuestring, "lo");
    assert_string_equal(cJSON_GetObjectItem(c, "local_ip")->valuestring, "127.0.0.1");
    cJSON_Delete(c);
    in->sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1: on no interface */
    c = lrc_netinfo_connectivity(&ss);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(c, "iface")));
    assert_string_equal(cJSON_GetObjectItem(c, "local_ip")->valuestring, "192.0.2.1");
    cJSON_Delete(c);
    c = lrc_netinfo_interfaces();
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(c, "interfaces")) >= 1);
    cJSON_Delete(c);
    assert_string_equal(lrc_netinfo_addr_str((struct sockaddr *)&ss, buf, sizeof(buf)),
                        "192.0.2.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arg_helpers_name_the_argument),
        cmocka_unit_test(test_every_procedure_is_in_the_table),
        cmocka_unit_test(test_package_names_and_versions),
        cmocka_unit_test(test_package_argv),
        cmocka_unit_test(test_rest_allowlist_boundaries),
        cmocka_unit_test(test_rest_parse),
        cmocka_unit_test(test_plugin_interpreters),
        cmocka_unit_test(test_plugin_argv_and_compat),
        cmocka_unit_test(test_utf8_repair),
        cmocka_unit_test(test_failover_alternates_after_the_threshold),
        cmocka_unit_test(test_backoff_stays_within_its_bound),
        cmocka_unit_test(test_connectivity_of_loopback),
    };

    xalloc_init();
    log_init("test_lrc_args", LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
