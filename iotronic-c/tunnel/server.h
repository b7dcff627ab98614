/* tunnel/server.h: the wstun-compatible tunnel server, mounted by the wagent.
 *
 * Boards open a control channel per exposed service (board-protocol.md 9.2):
 *   GET /?dst=<host>:<public_port>&uuid=<board uuid>[&auth=<ts>.<sig>]
 * The server asks the owner to authorise it (asynchronously: the wagent checks
 * the database on a worker), answers HTTP 401 without a WebSocket when it is
 * refused, else listens on bind_address:public_port. For each TCP connection
 * accepted there it sends "NC:<id>" on the control channel; the board opens
 * GET /?id=<id> and the two are joined, binary frames carrying the bytes
 * (9.3). Ids are single-use and live data_id_ttl seconds; an unknown one is
 * answered 404 at once. Each side buffers at most buffer_limit bytes before
 * the other side stops being read.
 *
 * The server lives in the owner's event loop (loop/loop.h): it adds its own
 * lws vhost and libev watchers there and never blocks. One per wagent, made
 * after loop_new() and freed before loop_free(). Loop thread only. */
#ifndef IOT_TUNNEL_SERVER_H
#define IOT_TUNNEL_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/uuid.h"
#include "loop/loop.h"

struct tun_server_opts {
    const char *listen;        /* [wstun] listen: "0.0.0.0:8080"; port 0 picks a free one */
    const char *bind_address;  /* [wstun] bind_address: where public ports listen */
    const char *cert_file;     /* TLS (wss) when both are set */
    const char *key_file;
    unsigned data_id_ttl;      /* seconds a connection id stays valid (10) */
    size_t buffer_limit;       /* bytes buffered per side before pausing the other (1 MiB) */
    unsigned max_tunnels_per_board;      /* 64 */
    unsigned max_connections_per_tunnel; /* 256: further TCP connections are closed */
    unsigned max_pending;                /* 64 ids waiting for their data channel, per tunnel */
    unsigned handshake_timeout;          /* seconds to send the upgrade request (10) */
};

/* The defaults of board-protocol.md 12.1. */
void tun_server_opts_init(struct tun_server_opts *o);

/* A control channel waiting to be authorised. Borrowed: valid during the
 * callback only (copy what a worker needs). */
struct tun_auth_request {
    uint64_t id;              /* to give back to tun_server_authorize_done() */
    const char *uuid;         /* normalised board UUID */
    int public_port;
    const char *auth;         /* "<ts>.<sig>" as sent, or NULL (wamp_wstun_verify() checks it) */
    const char *peer;         /* the board's address, for logs */
};

/* Called on the loop thread for each control channel. It must lead to exactly
 * one tun_server_authorize_done() for req->id, on the loop thread, now or
 * later; an answer for a board that has hung up meanwhile is ignored. */
typedef void (*tun_server_authorize_cb)(void *arg, const struct tun_auth_request *req);

struct tun_server;

/* Starts listening on opts->listen. Returns 0 with a new server in *out
 * (tun_server_free()), or a negated errno with the reason in err (bad
 * options, the port in use, TLS files unreadable). */
int tun_server_new(struct loop *loop, const struct tun_server_opts *opts,
                   tun_server_authorize_cb cb, void *cb_arg, struct tun_server **out,
                   struct error *err) IOT_WUR;

/* The answer to an authorisation request. allowed = 0 refuses the control
 * channel with HTTP 401; reason goes to the log only (the board is told
 * nothing more). Loop thread only. */
void tun_server_authorize_done(struct tun_server *srv, uint64_t id, int allowed,
                               const char *reason);

/* Closes every tunnel of a board (its session ended, it was deleted, it moved
 * to another wagent): control channels get close 1000, public listeners and
 * their connections close. Returns how many tunnels were closed. */
unsigned tun_server_close_board(struct tun_server *srv, const char *uuid);

/* Closes the tunnel on public_port (a service was disabled). Returns 1 if
 * there was one, else 0. */
unsigned tun_server_close_port(struct tun_server *srv, int public_port);

/* One tunnel, for metrics and status. bytes_in: from public clients towards the
 * board; bytes_out: from the board to public clients. */
struct tun_tunnel_info {
    char uuid[UUID_STR_LEN];
    int public_port;
    unsigned connections;      /* joined TCP connections open now */
    unsigned pending;          /* connections waiting for their data channel */
    uint64_t connections_total;
    uint64_t bytes_in, bytes_out;
    int64_t since_us;          /* wall clock, µs since the epoch */
};

/* Every open tunnel, in *out (free() it; NULL when there are none). Returns
 * the count. */
size_t tun_server_list(struct tun_server *srv, struct tun_tunnel_info **out);

/* Totals since the start, for /metrics. */
struct tun_server_stats {
    unsigned tunnels, connections, pending;
    uint64_t bytes_in, bytes_out;         /* including closed tunnels */
    uint64_t connections_total;
    uint64_t refused_unauthorised;        /* control channels answered 401 */
    uint64_t refused_bad_request;         /* 400/404/405/426/431 answers */
    uint64_t refused_limit;               /* TCP connections closed at a limit */
    uint64_t ids_expired;
};
void tun_server_get_stats(const struct tun_server *srv, struct tun_server_stats *out);

/* The port the control listener is bound to (useful with port 0). */
int tun_server_port(const struct tun_server *srv);

/* Closes every tunnel and connection at once and frees the server. Call on
 * the loop thread, before loop_free(). Accepts NULL. */
void tun_server_free(struct tun_server *srv);

#endif
