/* tunnel/client_int.h: the client's objects, shared by client*.c only.
 *
 * Ownership:
 *   struct tun_client  made by tun_client_new(), freed by tun_client_free();
 *   struct ctun        one per tunnel (public port), owned by the client; its
 *                      control wsi points back to it and is detached when it goes;
 *   struct cconn       one per tunnelled connection, owned jointly by its two
 *                      wsi (data WebSocket, local TCP): freed when the last closes.
 */
#ifndef IOT_TUNNEL_CLIENT_INT_H
#define IOT_TUNNEL_CLIENT_INT_H

#include <ev.h>
#include <libwebsockets.h>

#include "common/uuid.h"
#include "tunnel/client.h"
#include "tunnel/fifo.h"
#include "tunnel/wire.h"
#include "tunnel/wsproto.h"

#define TUN_CLI_CTL_PROTOCOL "iottun-cli-ctl"
#define TUN_CLI_DATA_PROTOCOL "iottun-cli-data"
#define TUN_CLI_TCP_PROTOCOL "iottun-cli-tcp"
#define TUN_CLI_WSDATA_PROTOCOL "iottun-cli-wsdata"
#define TUN_CLI_WRITE_CHUNK (128 * 1024)

/* Whether a socket that is done may close now: lws_write() keeps whatever
 * the kernel did not take and sends it before the next WRITEABLE callback,
 * so closing while lws still holds some would drop the tail of the stream.
 * Returns -1 (close) once nothing is held; else asks for another WRITEABLE
 * and returns 0. */
static inline int tun_cli_close_flushed(struct lws *wsi)
{
    if (lws_send_pipe_choked(wsi)) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    return -1;
}

struct tun_client {
    struct loop *loop;
    struct lws_context *ctx;
    struct ev_loop *ev;
    struct lws_vhost *vh;
    ev_timer tick;                 /* lws timer service, as in server_int.h srv_kill() */
    struct tun_client_opts opts;   /* ca_file owned */
    lws_retry_bo_t ping_policy;
    lws_dll2_owner_t tunnels;      /* struct ctun */
    int stopping;
};

enum ctun_state { CT_CONNECTING, CT_UP };

struct ctun {
    lws_dll2_t link;
    struct tun_client *cl;
    char service[64];
    struct tun_url url;
    char uuid[UUID_STR_LEN];
    char *secret;                  /* NULL: no proof */
    int public_port, local_port;
    enum ctun_state state;
    struct lws *ctl;               /* the control channel, NULL between attempts */
    unsigned failures;             /* consecutive, for the backoff */
    int64_t since_us, up_mono_us;
    ev_timer retry;
    char msg[64];                  /* a text message being reassembled */
    size_t msg_len;
    int msg_bad;
    lws_dll2_owner_t conns;        /* struct cconn */
    uint64_t bytes_in, bytes_out;
};

enum cws_state { CWS_CONNECTING, CWS_HANDSHAKE, CWS_OPEN };

struct cconn {
    lws_dll2_t link;               /* in tun->conns; detached if the tunnel went */
    struct tun_client *cl;
    struct ctun *tun;
    struct lws *ws, *tcp;          /* NULL once closed; ws is a raw socket (client_conn.c) */
    int ws_up, tcp_up;
    int ws_done, tcp_done;         /* that side ended: flush to it, then close it */
    int ws_paused, tcp_paused;
    int lws_ws;                    /* wss: ws is an lws WebSocket and to_ws holds payload */
    enum cws_state cws;
    int request_sent, close_sent;
    char key[TUN_WS_KEY_LEN + 1];
    struct tun_fifo hs;            /* the upgrade request, then the answer's head */
    struct tun_ws_dec dec;
    uint64_t prng;                 /* frame masks */
    struct tun_fifo to_tcp, to_ws; /* to_ws holds complete, masked frames */
};

/* client_conn.c */
void cconn_start(struct ctun *t, const char *id);
void cconn_abort(struct cconn *cc);
int tun_cli_data_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);
int tun_cli_wsdata_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len);
int tun_cli_tcp_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len);

/* client.c */
int cli_connect_ws(struct tun_client *cl, const struct tun_url *u, const char *path,
                   const char *local_protocol, void *opaque, struct lws **out);
void cli_host_header(const struct tun_url *u, char *out, size_t cap);

/* Closes wsi (see srv_kill() in server_int.h for why lws is poked). */
static inline void cli_kill(struct tun_client *cl, struct lws *wsi)
{
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, cl->stopping ? LWS_TO_KILL_SYNC
                                                               : LWS_TO_KILL_ASYNC);
    if (!cl->stopping)
        lws_cancel_service(cl->ctx);
}

#endif
