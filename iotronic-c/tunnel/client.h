/* tunnel/client.h: the board's tunnel client (board-protocol.md 9.4).
 *
 * For each exposed service the client keeps a control channel open to the
 * wagent's wstun_url (GET <path>/?dst=<host>:<public_port>&uuid=<uuid>
 * [&auth=<proof>]), re-opening it with exponential backoff and full jitter
 * when it fails or drops (10.4). On "NC:<id>" it opens a data channel
 * (GET <path>/?id=<id>) and a TCP connection to 127.0.0.1:<local_port>, and
 * pumps bytes between them, pausing a side whose peer has buffer_limit bytes
 * waiting. It speaks to the original wstun server as well as to ours.
 *
 * Runs in the owner's event loop (loop/loop.h), with its own lws vhost; it
 * holds no memory for idle tunnels beyond their bookkeeping and a small
 * receive buffer per control channel. One per agent, made after loop_new()
 * and freed before loop_free(). Loop thread only. */
#ifndef IOT_TUNNEL_CLIENT_H
#define IOT_TUNNEL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "loop/loop.h"

struct tun_client_opts {
    const char *ca_file;          /* wss:// verification: NULL means the system CAs */
    int insecure;                 /* 1: no certificate verification (a warning per connection) */
    unsigned backoff_initial_ms;  /* 1000 */
    unsigned backoff_max_ms;      /* 60000 */
    size_t buffer_limit;          /* 1 MiB per side of each connection */
    unsigned ping_interval;       /* seconds between pings on control channels (20); 0: none */
};

void tun_client_opts_init(struct tun_client_opts *o);

/* One tunnel to open. Strings are copied. */
struct tun_tunnel_spec {
    const char *service;          /* the service's name, for status and logs */
    const char *url;              /* the wagent's wstun_url: ws:// or wss:// */
    int public_port;              /* the port on the wagent's host */
    int local_port;               /* the service on 127.0.0.1 */
    const char *uuid;             /* the board's UUID, or NULL (wstun without -u) */
    const char *secret;           /* the board secret: signs each control channel (9.5, with
                                     wamp/cra.h), or NULL */
};

struct tun_client;

int tun_client_new(struct loop *loop, const struct tun_client_opts *opts, struct tun_client **out,
                   struct error *err) IOT_WUR;

/* Opens the tunnel for spec->public_port, replacing one already there
 * (ServiceEnable and ServiceRestore). Connecting happens in the loop; this
 * only fails on a bad spec (-EINVAL with the reason in err). */
int tun_client_open(struct tun_client *c, const struct tun_tunnel_spec *spec,
                    struct error *err) IOT_WUR;

/* Closes the tunnel on public_port and its connections (ServiceDisable).
 * Returns 0 or -ENOENT. */
int tun_client_close(struct tun_client *c, int public_port);

/* One tunnel, as ServicesStatus reports it. bytes_in: from the cloud to the
 * local service; bytes_out: from the local service to the cloud. */
struct tun_client_status {
    char service[64];
    int public_port;
    int local_port;
    const char *state;            /* "up" or "connecting" (static strings) */
    unsigned connections;         /* open data connections */
    uint64_t bytes_in, bytes_out;
    int64_t since_us;             /* wall clock of the last state change */
};

/* Every tunnel, in *out (free() it; NULL when none). Returns the count. */
size_t tun_client_status(struct tun_client *c, struct tun_client_status **out);

/* Closes everything and frees the client. Loop thread, before loop_free().
 * Accepts NULL. */
void tun_client_free(struct tun_client *c);

#endif
