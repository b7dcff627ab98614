/* tunnel/conf.h: the [wstun] section of iotronic.conf (board-protocol.md 12.1).
 *
 * The wagent binds this table with cfg_bind() next to its own, then turns the
 * result into tun_server_opts. TLS comes from [wagent] cert_file/key_file (9.1
 * says the same certificate settings as the WAMP listener), which the wagent
 * sets on the options itself. */
#ifndef IOT_TUNNEL_CONF_H
#define IOT_TUNNEL_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "tunnel/server.h"

struct tun_server_conf {
    char *listen;          /* 0.0.0.0:8080 */
    char *public_url;      /* what boards are told (5.2); NULL: ws://<host>:8080/ */
    char *bind_address;    /* 0.0.0.0 */
    int64_t data_id_ttl, buffer_limit;
    int64_t max_tunnels_per_board, max_connections_per_tunnel, max_pending;
};

extern const struct cfg_opt tun_server_cfg_opts[];
extern const size_t tun_server_cfg_nopts;

/* Fills o from a bound c: o's strings borrow c's, so c must outlive o's use
 * in tun_server_new() (which copies them). */
void tun_server_conf_opts(const struct tun_server_conf *c, struct tun_server_opts *o);

#endif
