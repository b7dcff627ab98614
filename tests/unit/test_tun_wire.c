/* Unit tests for tunnel/wire (wstun requests, NC messages, URLs), tunnel/fifo
 * and tunnel/backoff. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/cfg.h"
#include "tunnel/backoff.h"
#include "tunnel/conf.h"
#include "tunnel/fifo.h"
#include "tunnel/wire.h"

#define U "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52"

static int parse(const char *q, struct tun_request *r)
{
    struct error err;

    return tun_request_parse(q, strlen(q), r, &err);
}

static void test_control_query_parses(void **state)
{
    struct tun_request r;

    (void)state;
    assert_int_equal(parse("dst=iot.example.org:50123&uuid=" U "&auth=1795456931.abc-_", &r), 0);
    assert_int_equal(r.kind, TUN_REQ_CONTROL);
    assert_int_equal(r.public_port, 50123);
    assert_string_equal(r.uuid, U);
    assert_string_equal(r.auth, "1795456931.abc-_");
    /* wstun's own form: no auth; the host is ignored; upper-case uuid normalised */
    assert_int_equal(parse("dst=10.0.0.1:1&uuid=6B1F0C1E-6F0E-4C43-9D8E-0C3F7D1B9A52", &r), 0);
    assert_int_equal(r.public_port, 1);
    assert_string_equal(r.uuid, U);
    assert_string_equal(r.auth, "");
    /* no uuid at all: parsed, the server refuses it (401) */
    assert_int_equal(parse("dst=:65535", &r), 0);
    assert_int_equal(r.public_port, 65535);
    assert_string_equal(r.uuid, "");
    /* percent-encoding and unknown keys */
    assert_int_equal(parse("x=1&dst=h%3A8080&uuid=" U "&", &r), 0);
    assert_int_equal(r.public_port, 8080);
    assert_int_equal(parse("dst=[::1]:443&uuid=" U, &r), 0);
    assert_int_equal(r.public_port, 443);
}

static void test_data_query_parses(void **state)
{
    struct tun_request r;

    (void)state;
    assert_int_equal(parse("id=" U, &r), 0);
    assert_int_equal(r.kind, TUN_REQ_DATA);
    assert_string_equal(r.id, U);
}

static void test_bad_queries_refused(void **state)
{
    static const char *const bad[] = {
        "",                                   /* neither dst nor id */
        "uuid=" U,                            /* no dst */
        "dst=h:0&uuid=" U,                    /* port 0 */
        "dst=h:65536&uuid=" U,                /* port too big */
        "dst=h&uuid=" U,                      /* no port */
        "dst=h:80x&uuid=" U,                  /* junk after the port */
        "dst=h:-1&uuid=" U,
        "dst=h:+80&uuid=" U,
        "dst=h:80&uuid=nope",                 /* not a UUID */
        "dst=h:80&dst=h:81&uuid=" U,          /* repeated key */
        "dst=h:80&id=" U,                     /* both kinds */
        "id=" U "&uuid=" U,                   /* data takes only id */
        "id=12345",
        "dst=h:80&uuid=" U "&auth=",          /* empty auth */
        "dst=h:80&uuid=" U "&auth=a%20b",     /* space in auth */
        "dst=h:80&uuid=" U "&auth=%",         /* truncated escape */
        "dst=h:80&uuid=" U "&auth=%zz",
        "dst=h%00:80&uuid=" U,                /* NUL */
        "dst",                                /* key without value */
    };
    struct tun_request r;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &r) != -EINVAL)
            fail_msg("accepted: %s", bad[i]);
    }
}

static void test_query_limits(void **state)
{
    char q[TUN_QUERY_MAX + 64];
    struct tun_request r;
    struct error err;
    size_t n;

    (void)state;
    /* an auth of exactly TUN_AUTH_MAX characters passes, one more fails */
    n = (size_t)snprintf(q, sizeof(q), "dst=h:1&uuid=%s&auth=", U);
    memset(q + n, 'a', TUN_AUTH_MAX);
    q[n + TUN_AUTH_MAX] = '\0';
    assert_int_equal(parse(q, &r), 0);
    q[n + TUN_AUTH_MAX] = 'a';
    q[n + TUN_AUTH_MAX + 1] = '\0';
    assert_int_equal(parse(q, &r), -EINVAL);
    /* the whole query is bounded */
    memset(q, 'x', sizeof(q));
    assert_int_equal(tun_request_parse(q, TUN_QUERY_MAX + 1, &r, &err), -EINVAL);
}

static void test_nc_messages(void **state)
{
    char id[UUID_STR_LEN], msg[TUN_NC_MAX];

    (void)state;
    assert_int_equal(tun_nc_parse("NC:" U, strlen("NC:" U), id), 0);
    assert_string_equal(id, U);
    assert_int_equal(tun_nc_format(msg, U), strlen("NC:" U));
    assert_string_equal(msg, "NC:" U);
    assert_int_equal(tun_nc_parse("NC:", 3, id), -EINVAL);
    assert_int_equal(tun_nc_parse("XX:" U, strlen("XX:" U), id), -EINVAL);
    assert_int_equal(tun_nc_parse("NC:" U "0", strlen("NC:" U "0"), id), -EINVAL);
    assert_int_equal(tun_nc_parse("NC:6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a5g", 39, id), -EINVAL);
    /* a NUL inside is not ignored */
    assert_int_equal(tun_nc_parse("NC:6b1f0c1e\0006f0e-4c43-9d8e-0c3f7d1b9a52", 39, id), -EINVAL);
}

static void test_urls(void **state)
{
    struct tun_url u;
    struct error err;
    char path[1024];

    (void)state;
    assert_int_equal(tun_url_parse("wss://iot.example.org:8080/", &u, &err), 0);
    assert_true(u.tls);
    assert_string_equal(u.host, "iot.example.org");
    assert_int_equal(u.port, 8080);
    assert_int_equal(tun_url_control_path(&u, 50123, U, "1.sig", path, sizeof(path)), 0);
    assert_string_equal(path, "/?dst=iot.example.org:50123&uuid=" U "&auth=1.sig");
    assert_int_equal(tun_url_data_path(&u, U, path, sizeof(path)), 0);
    assert_string_equal(path, "/?id=" U);
    assert_int_equal(tun_url_parse("ws://127.0.0.1", &u, &err), 0);
    assert_int_equal(u.port, 80);
    assert_string_equal(u.path, "/");
    assert_int_equal(tun_url_control_path(&u, 1, NULL, NULL, path, sizeof(path)), 0);
    assert_string_equal(path, "/?dst=127.0.0.1:1");
    assert_int_equal(tun_url_parse("wss://[::1]/wstun", &u, &err), 0);
    assert_int_equal(u.port, 443);
    assert_string_equal(u.host, "::1");
    assert_int_equal(tun_url_control_path(&u, 9, U, "", path, sizeof(path)), 0);
    assert_string_equal(path, "/wstun/?dst=[::1]:9&uuid=" U);
    assert_int_equal(tun_url_control_path(&u, 9, U, "", path, 10), -ENAMETOOLONG);
    static const char *const bad[] = {
        "http://h/", "ws://", "ws://:80/", "ws://h:0/", "ws://h:99999/", "ws://h/?q=1",
        "ws://u@h/", "ws://h /", "ws://::1/", "wss://h:80x/", "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (tun_url_parse(bad[i], &u, &err) != -EINVAL)
            fail_msg("accepted URL %s", bad[i]);
}

static void test_hostport(void **state)
{
    char host[TUN_HOST_MAX];
    struct error err;
    int port;

    (void)state;
    assert_int_equal(tun_hostport_parse("0.0.0.0:8080", 0, host, &port, &err), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(port, 8080);
    assert_int_equal(tun_hostport_parse("[::]:1", 0, host, &port, &err), 0);
    assert_string_equal(host, "::");
    assert_int_equal(tun_hostport_parse("127.0.0.1:0", 0, host, &port, &err), -EINVAL);
    assert_int_equal(tun_hostport_parse("127.0.0.1:0", 1, host, &port, &err), 0);
    assert_int_equal(port, 0);
    assert_int_equal(tun_hostport_parse("::1:80", 0, host, &port, &err), -EINVAL);
    assert_int_equal(tun_hostport_parse("nohost", 0, host, &port, &err), -EINVAL);
}

static void test_fifo_keeps_order_and_frees_when_empty(void **state)
{
    struct tun_fifo f;
    unsigned char buf[10000], out[30000];
    size_t got = 0;

    (void)state;
    tun_fifo_init(&f);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 7);
    tun_fifo_append(&f, buf, 6000);
    memcpy(out, tun_fifo_data(&f), 1000);
    tun_fifo_consume(&f, 1000);
    got = 1000;
    tun_fifo_append(&f, buf + 6000, 4000); /* moves or grows */
    assert_int_equal(tun_fifo_len(&f), 9000);
    /* the headroom before the data is writable (lws frames in place) */
    memset(tun_fifo_data(&f) - TUN_FIFO_HEADROOM, 0xee, TUN_FIFO_HEADROOM);
    memcpy(out + got, tun_fifo_data(&f), 9000);
    assert_memory_equal(out, buf, 10000);
    tun_fifo_consume(&f, 9000);
    assert_null(f.mem);
    assert_null(tun_fifo_data(&f));
    memcpy(tun_fifo_reserve(&f, 5), "hello", 5);
    tun_fifo_commit(&f, 5);
    assert_memory_equal(tun_fifo_data(&f), "hello", 5);
    tun_fifo_free(&f);
    assert_int_equal(tun_fifo_len(&f), 0);
}

static void test_backoff_full_jitter(void **state)
{
    uint64_t max_seen = 0;

    (void)state;
    assert_int_equal(tun_backoff_cap_ms(0, 1000, 60000), 1000);
    assert_int_equal(tun_backoff_cap_ms(3, 1000, 60000), 8000);
    assert_int_equal(tun_backoff_cap_ms(6, 1000, 60000), 60000);
    assert_int_equal(tun_backoff_cap_ms(1000, 1000, 60000), 60000);
    assert_int_equal(tun_backoff_cap_ms(200, UINT64_MAX / 2, UINT64_MAX), UINT64_MAX);
    for (int i = 0; i < 2000; i++) {
        uint64_t v = tun_backoff_ms(2, 1000, 60000);

        assert_true(v <= 4000);
        max_seen = v > max_seen ? v : max_seen;
    }
    /* uniform over [0, 4000]: 2000 draws reach the top quarter */
    assert_true(max_seen > 3000);
}

static int bind_wstun(const char *text, struct tun_server_conf *c)
{
    struct cfg_table t = { tun_server_cfg_opts, tun_server_cfg_nopts, c };
    struct cfg *cfg = cfg_new();
    struct error err;
    int rc;

    memset(c, 0, sizeof(*c));
    rc = cfg_load_text(cfg, "test.conf", text, &err);
    if (rc == 0)
        rc = cfg_bind(cfg, &t, 1, &err);
    cfg_free(cfg);
    return rc;
}

static void test_wstun_config_section(void **state)
{
    struct cfg_table t = { tun_server_cfg_opts, tun_server_cfg_nopts, NULL };
    struct tun_server_conf c;
    struct tun_server_opts o;

    (void)state;
    assert_int_equal(bind_wstun("[wstun]\n", &c), 0);
    tun_server_conf_opts(&c, &o);
    assert_string_equal(o.listen, "0.0.0.0:8080");
    assert_string_equal(o.bind_address, "0.0.0.0");
    assert_null(c.public_url);
    assert_int_equal(o.data_id_ttl, 10);
    assert_int_equal(o.buffer_limit, 1048576);
    assert_int_equal(o.max_tunnels_per_board, 64);
    assert_int_equal(o.max_connections_per_tunnel, 256);
    assert_int_equal(o.max_pending, 64);
    t.dst = &c;
    cfg_unbind(&t, 1);
    assert_int_equal(bind_wstun("[wstun]\nlisten = 127.0.0.1:9\nmax_pending = 2\n"
                                "public_url = wss://iot.example.org:8080/\n", &c), 0);
    assert_string_equal(c.listen, "127.0.0.1:9");
    assert_int_equal(c.max_pending, 2);
    assert_string_equal(c.public_url, "wss://iot.example.org:8080/");
    cfg_unbind(&t, 1);
    assert_int_equal(bind_wstun("[wstun]\nbuffer_limit = 10\n", &c), -EINVAL);
    cfg_unbind(&t, 1);
    assert_int_equal(bind_wstun("[wstun]\nmax_pending = 0\n", &c), -EINVAL);
    cfg_unbind(&t, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_query_parses),
        cmocka_unit_test(test_data_query_parses),
        cmocka_unit_test(test_bad_queries_refused),
        cmocka_unit_test(test_query_limits),
        cmocka_unit_test(test_nc_messages),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_hostport),
        cmocka_unit_test(test_fifo_keeps_order_and_frees_when_empty),
        cmocka_unit_test(test_backoff_full_jitter),
        cmocka_unit_test(test_wstun_config_section),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
