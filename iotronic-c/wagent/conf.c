/* wagent/conf.c: see conf.h. Bounds keep a typo from disabling a safety
 * (a ping_timeout of 0, a message limit of 10 bytes); the defaults are those
 * of board-protocol.md 12.1. */
#include "wagent/conf.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tunnel/wire.h"
#include "wamp/msg.h"
#include "conf/iotconf.h"

void wag_conf_tables(struct wag_conf *c, struct cfg_table tables[2])
{
    tables[0] = (struct cfg_table){wag_cfg_opts, wag_cfg_nopts, c};
    tables[1] = (struct cfg_table){tun_server_cfg_opts, tun_server_cfg_nopts, &c->wstun};
}

static int check_hostport(const char *what, const char *s, char host[WAG_HOST_MAX], int *port,
                          int allow_zero, struct error *err)
{
    char h[TUN_HOST_MAX];

    if (tun_hostport_parse(s, allow_zero, h, port, err) < 0)
        return error_prefix(err, "%s", what);
    snprintf(host, WAG_HOST_MAX, "%s", h);
    return 0;
}

static int derive_host(struct wag_conf *c, struct error *err)
{
    if (c->host != NULL && c->host[0] != '\0') {
        if (strlen(c->host) >= WAG_HOST_MAX)
            return error_set(err, -EINVAL, "[DEFAULT] host is too long");
        snprintf(c->hostname, sizeof(c->hostname), "%s", c->host);
    } else if (gethostname(c->hostname, sizeof(c->hostname) - 1) < 0 || !c->hostname[0]) {
        snprintf(c->hostname, sizeof(c->hostname), "wagent");
    }
    /* The name becomes an AMQP queue name (wagent.<host>, at most 255). */
    if (strlen(c->hostname) > 200 || strpbrk(c->hostname, " \t\r\n") != NULL)
        return error_set(err, -EINVAL, "[DEFAULT] host '%s' cannot name a wagent", c->hostname);
    return 0;
}

/* [wstun] public_url, or the board-facing host of [wamp] wamp_transport_url
 * with the [wstun] listen port: boards already reach that host. */
static int derive_public_url(struct wag_conf *c, const struct tun_url *wamp, struct error *err)
{
    struct tun_url u;
    char h[TUN_HOST_MAX];
    int port;
    const char *fmt;

    if (c->wstun.public_url != NULL && c->wstun.public_url[0] != '\0') {
        if (tun_url_parse(c->wstun.public_url, &u, err) < 0)
            return error_prefix(err, "[wstun] public_url");
        if (strlen(c->wstun.public_url) >= WAG_URL_MAX)
            return error_set(err, -EINVAL, "[wstun] public_url is too long");
        snprintf(c->wstun_public_url, sizeof(c->wstun_public_url), "%s", c->wstun.public_url);
        return 0;
    }
    if (tun_hostport_parse(c->wstun.listen, 1, h, &port, err) < 0)
        return error_prefix(err, "[wstun] listen");
    fmt = strchr(wamp->host, ':') ? "%s://[%s]:%d/" : "%s://%s:%d/";
    snprintf(c->wstun_public_url, sizeof(c->wstun_public_url), fmt,
             c->cert_file != NULL ? "wss" : "ws", wamp->host, port);
    return 0;
}

int wag_conf_check(struct wag_conf *c, struct error *err)
{
    struct tun_url wamp;
    int rc;

    if (c->db_connection == NULL)
        return error_set(err, -EINVAL, "[database] connection is required");
    if (c->transport_url == NULL)
        return error_set(err, -EINVAL, "[DEFAULT] transport_url is required");
    if ((c->cert_file == NULL) != (c->key_file == NULL))
        return error_set(err, -EINVAL, "[wagent] cert_file and key_file go together");
    if (c->realm[0] == '\0' || strlen(c->realm) > 255)
        return error_set(err, -EINVAL, "[wamp] wamp_realm must be 1 to 255 bytes");
    if (tun_url_parse(c->wamp_transport_url, &wamp, err) < 0 ||
        strlen(c->wamp_transport_url) >= WAG_URL_MAX)
        return error_prefix(err, "[wamp] wamp_transport_url");
    if (c->ping_timeout <= c->ping_interval)
        return error_set(err, -EINVAL, "[wagent] ping_timeout must be above ping_interval");
    if ((rc = derive_host(c, err)) < 0 ||
        (rc = check_hostport("[wagent] listen", c->listen, c->listen_host, &c->listen_port, 1,
                             err)) < 0)
        return rc;
    c->admin_host[0] = '\0';
    c->admin_port = 0;
    if (c->admin_listen != NULL && c->admin_listen[0] != '\0' &&
        (rc = check_hostport("[wagent] admin_listen", c->admin_listen, c->admin_host,
                             &c->admin_port, 1, err)) < 0)
        return rc;
    return derive_public_url(c, &wamp, err);
}

static int bind_and_check(struct cfg *cfg, struct wag_conf *c, struct error *err)
{
    struct cfg_table t[2];
    int rc;

    wag_conf_tables(c, t);
    iotconf_add_known(cfg);
    rc = cfg_bind(cfg, t, 2, err);
    return rc < 0 ? rc : wag_conf_check(c, err);
}

int wag_conf_load(int *argc, char **argv, const char *default_path, struct wag_conf *c,
                  struct error *err)
{
    struct cfg *cfg = cfg_new();
    int rc;

    memset(c, 0, sizeof(*c));
    rc = cfg_load_args(cfg, argc, argv, default_path, err);
    if (rc == 0)
        rc = bind_and_check(cfg, c, err);
    cfg_free(cfg);
    return rc;
}

int wag_conf_load_text(const char *text, struct wag_conf *c, struct error *err)
{
    struct cfg *cfg = cfg_new();
    int rc;

    memset(c, 0, sizeof(*c));
    rc = cfg_load_text(cfg, "<text>", text, err);
    if (rc == 0)
        rc = bind_and_check(cfg, c, err);
    cfg_free(cfg);
    return rc;
}

void wag_conf_free(struct wag_conf *c)
{
    struct cfg_table t[2];

    wag_conf_tables(c, t);
    cfg_unbind(t, 2);
}
