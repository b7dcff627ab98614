/* tunnel/conf.c: see conf.h. Bounds keep a typo from starving the server
 * (a buffer_limit of 10 bytes) or from letting one board exhaust it. */
#include "tunnel/conf.h"

#define F(f) offsetof(struct tun_server_conf, f)

const struct cfg_opt tun_server_cfg_opts[] = {
    { "wstun", "listen", CFG_STR, "0.0.0.0:8080", F(listen), 0, 0, NULL, 0 },
    { "wstun", "public_url", CFG_STR, NULL, F(public_url), 0, 0, NULL, 0 },
    { "wstun", "bind_address", CFG_STR, "0.0.0.0", F(bind_address), 0, 0, NULL, 0 },
    { "wstun", "data_id_ttl", CFG_INT, "10", F(data_id_ttl), 1, 3600, NULL, 0 },
    { "wstun", "buffer_limit", CFG_INT, "1048576", F(buffer_limit), 4096, 1 << 30, NULL, 0 },
    { "wstun", "max_tunnels_per_board", CFG_INT, "64", F(max_tunnels_per_board), 1, 65535,
      NULL, 0 },
    { "wstun", "max_connections_per_tunnel", CFG_INT, "256", F(max_connections_per_tunnel), 1,
      65535, NULL, 0 },
    { "wstun", "max_pending", CFG_INT, "64", F(max_pending), 1, 65535, NULL, 0 },
};

const size_t tun_server_cfg_nopts = sizeof(tun_server_cfg_opts) / sizeof(tun_server_cfg_opts[0]);

void tun_server_conf_opts(const struct tun_server_conf *c, struct tun_server_opts *o)
{
    tun_server_opts_init(o);
    o->listen = c->listen;
    o->bind_address = c->bind_address;
    o->data_id_ttl = (unsigned)c->data_id_ttl;
    o->buffer_limit = (size_t)c->buffer_limit;
    o->max_tunnels_per_board = (unsigned)c->max_tunnels_per_board;
    o->max_connections_per_tunnel = (unsigned)c->max_connections_per_tunnel;
    o->max_pending = (unsigned)c->max_pending;
}
