/* tunnel/server_int.h: the server's objects, shared by server*.c only.
 *
 * Ownership:
 *   struct tun_server  made by tun_server_new(), freed by tun_server_free();
 *   struct stun        one per public port, owned by the server, freed when
 *                      its control channel closes or the API closes it;
 *   struct speer       one per board-side socket (control, data, or not yet
 *                      known), owned by its lws wsi: freed in its close callback;
 *   struct sconn       one per public TCP connection: owned by its tunnel while
 *                      pending (a bare fd), then by its lws wsi once joined.
 * Cross pointers (peer <-> conn, tunnel <-> control peer, conn -> tunnel) are
 * cleared by whichever side goes first, so nothing outlives what it points to. */
#ifndef IOT_TUNNEL_SERVER_INT_H
#define IOT_TUNNEL_SERVER_INT_H

#include <ev.h>
#include <libwebsockets.h>

#include "tunnel/fifo.h"
#include "tunnel/server.h"
#include "tunnel/wire.h"
#include "tunnel/wsproto.h"

#define TUN_WRITE_CHUNK (256 * 1024) /* at most this much per lws_write */
#define TUN_PEER_PROTOCOL "iottun-peer"
#define TUN_CONN_PROTOCOL "iottun-tcp"

/* Whether a socket that is done may close now: lws_write() keeps whatever
 * the kernel did not take and sends it before the next WRITEABLE callback,
 * so closing while lws still holds some would drop the tail of the stream.
 * Returns -1 (close) once nothing is held; else asks for another WRITEABLE
 * and returns 0. */
static inline int tun_srv_close_flushed(struct lws *wsi)
{
    if (lws_send_pipe_choked(wsi)) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    return -1;
}

struct tun_server {
    struct loop *loop;
    struct lws_context *ctx;
    struct ev_loop *ev;
    struct lws_vhost *vh;
    struct tun_server_opts opts;   /* strings owned (copies) */
    int tls;
    tun_server_authorize_cb auth_cb;
    void *auth_arg;
    int listen_fd;
    int port;
    ev_io listen_io;
    ev_timer tick;                 /* see srv_kill() */
    lws_dll2_owner_t tunnels;      /* struct stun */
    lws_dll2_owner_t peers;        /* every struct speer */
    lws_dll2_owner_t pending;      /* struct sconn waiting for their data channel */
    uint64_t next_auth_id;
    int stopping;                  /* in tun_server_free(): kill sockets synchronously */
    struct tun_server_stats st;    /* counters (the gauges are computed) */
};

struct stun {
    lws_dll2_t link;               /* in srv->tunnels */
    struct tun_server *srv;
    char uuid[UUID_STR_LEN];
    int port;
    struct speer *ctl;             /* the control channel; NULL once it went */
    int listen_fd;
    ev_io io;
    lws_dll2_owner_t conns;        /* struct sconn, pending and joined */
    unsigned npending;
    uint64_t conns_total, bytes_in, bytes_out;
    int64_t since_us;
};

enum peer_phase { P_HEAD, P_AUTH, P_CONTROL, P_DATA, P_CLOSING };

struct speer {
    lws_dll2_t link;               /* in srv->peers */
    struct tun_server *srv;
    struct lws *wsi;
    enum peer_phase phase;
    struct tun_fifo in;            /* the request head while P_HEAD */
    struct tun_fifo out;           /* bytes to send: answers and frames */
    struct tun_ws_dec dec;
    int close_after_flush;
    int rx_paused;
    uint64_t auth_id;
    struct tun_request req;
    char key[TUN_WS_KEY_LEN + 1];  /* Sec-WebSocket-Key, for the 101 */
    struct stun *tun;              /* P_CONTROL */
    struct sconn *conn;            /* P_DATA */
    char addr[64];
};

struct sconn {
    lws_dll2_t link;               /* in tun->conns */
    lws_dll2_t plink;              /* in srv->pending while pending */
    struct tun_server *srv;
    struct stun *tun;              /* NULL once the tunnel closed */
    int fd;                        /* pending: the accepted socket; then -1 */
    struct lws *wsi;               /* joined */
    struct speer *peer;
    char id[UUID_STR_LEN];
    ev_timer ttl;                  /* pending: data_id_ttl */
    struct tun_fifo out;           /* bytes for the public client */
    int close_after_flush;
    int rx_paused;
};

/* server.c */
int srv_listen_socket(const char *host, int port, int *bound_port, struct error *err);
void srv_tunnel_open(struct speer *p);
void srv_tunnel_close(struct stun *t, int code, const char *reason);
struct stun *srv_tunnel_by_port(struct tun_server *srv, int port);

/* server_peer.c */
int tun_srv_peer_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);
void peer_queue(struct speer *p, const void *data, size_t n);
void peer_send_frame(struct speer *p, enum tun_ws_opcode op, const void *data, size_t n);
void peer_send_close(struct speer *p, int code, const char *reason);
void peer_http_error(struct speer *p, int status, const char *message);
void peer_kill(struct speer *p);
void peer_flow(struct speer *p, int allow);
void peer_upgrade(struct speer *p);

/* server_conn.c */
int tun_srv_conn_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);
int conn_listen(struct stun *t, struct error *err);
void conn_listen_stop(struct stun *t);
struct sconn *conn_take_pending(struct tun_server *srv, const char *id);
int conn_join(struct sconn *c, struct speer *p);
void conn_from_peer(struct sconn *c, const uint8_t *data, size_t n);
void conn_peer_gone(struct sconn *c);
void conn_drop(struct sconn *c);
void conn_flow(struct sconn *c, int allow);

/* Closes wsi: at once while the server stops, else on the next loop turn.
 *
 * lws implements asynchronous kills and timeouts with its timer list, and
 * its libev glue (4.1) re-arms its timer only after servicing one of its own
 * sockets, never earlier than an already armed expiry. So whatever we ask
 * of it from outside its callbacks (the owner's API calls, our timers) is
 * followed by lws_cancel_service(), which makes it service its ripe timers
 * now, and srv->tick does the same every second for its own timeouts. */
static inline void srv_kill(struct tun_server *srv, struct lws *wsi)
{
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, srv->stopping ? LWS_TO_KILL_SYNC
                                                                : LWS_TO_KILL_ASYNC);
    if (!srv->stopping)
        lws_cancel_service(srv->ctx);
}

#endif
