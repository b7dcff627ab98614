/* tunnel/client_conn.c: one tunnelled connection on the board.
 *
 * On NC:<id> the data channel (WebSocket GET <path>/?id=<id>) and the local
 * TCP connection to 127.0.0.1:<local_port> are opened together, which saves
 * a round trip over waiting for one before the other; bytes that arrive
 * before their way out is open wait in the fifo (bounded by the same
 * buffer_limit back-pressure). When one side ends, what it had sent is
 * delivered to the other, which is then closed: TCP FIN becomes WebSocket
 * close 1000 and a WebSocket close becomes a TCP close. */
#include "tunnel/client_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"

static void cconn_maybe_free(struct cconn *cc)
{
    if (cc->ws != NULL || cc->tcp != NULL)
        return;
    lws_dll2_remove(&cc->link);
    tun_fifo_free(&cc->to_tcp);
    tun_fifo_free(&cc->to_ws);
    free(cc);
}

static void kill_wsi(struct cconn *cc, struct lws *wsi)
{
    cli_kill(cc->cl, wsi);
}

static int connect_tcp(struct cconn *cc, int port)
{
    struct lws_client_connect_info i;

    memset(&i, 0, sizeof(i));
    i.context = cc->cl->ctx;
    i.vhost = cc->cl->vh;
    i.address = "127.0.0.1";
    i.port = port;
    i.host = "127.0.0.1";
    i.method = "RAW";
    i.local_protocol_name = TUN_CLI_TCP_PROTOCOL;
    i.opaque_user_data = cc;
    cc->tcp = lws_client_connect_via_info(&i);
    return cc->tcp == NULL ? -EIO : 0;
}

void cconn_start(struct ctun *t, const char *id)
{
    struct cconn *cc = xcalloc(1, sizeof(*cc));
    char path[TUN_PATH_MAX + 64];

    cc->cl = t->cl;
    cc->tun = t;
    lws_dll2_add_tail(&cc->link, &t->conns);
    if (tun_url_data_path(&t->url, id, path, sizeof(path)) < 0 ||
        cli_connect_ws(t->cl, &t->url, path, TUN_CLI_DATA_PROTOCOL, cc, &cc->ws) < 0) {
        log_warn("tunnel %s: cannot open the data channel for %s", t->service, id);
        cc->ws = NULL;
        cconn_maybe_free(cc);
        return;
    }
    if (connect_tcp(cc, t->local_port) < 0) {
        log_warn("tunnel %s: cannot connect to 127.0.0.1:%d", t->service, t->local_port);
        cc->tcp_done = 1;
        if (cc->ws != NULL)
            kill_wsi(cc, cc->ws);
    }
}

/* The tunnel is closing: both sockets go now. */
void cconn_abort(struct cconn *cc)
{
    lws_dll2_remove(&cc->link);
    cc->tun = NULL;
    cc->ws_done = cc->tcp_done = 1;
    if (cc->ws != NULL)
        kill_wsi(cc, cc->ws);
    if (cc->tcp != NULL)
        kill_wsi(cc, cc->tcp);
}

static void flow(struct lws *wsi, int *paused, int allow)
{
    if (wsi == NULL || *paused == !allow)
        return;
    *paused = !allow;
    lws_rx_flow_control(wsi, allow);
}

/* One side ended: the other gets what is queued for it, then closes (its
 * WRITEABLE callback sees the *_done flag: a WebSocket sends close 1000). */
static void side_done(struct cconn *cc, int ws_side)
{
    struct lws *other = ws_side ? cc->tcp : cc->ws;
    int up = ws_side ? cc->tcp_up : cc->ws_up;

    if (ws_side)
        cc->ws_done = 1;
    else
        cc->tcp_done = 1;
    if (other == NULL)
        return;
    if (up)
        lws_callback_on_writable(other);
    else
        kill_wsi(cc, other);
}

static int write_chunk(struct lws *wsi, struct tun_fifo *q, enum lws_write_protocol wp)
{
    size_t n = tun_fifo_len(q);

    if (n > TUN_CLI_WRITE_CHUNK)
        n = TUN_CLI_WRITE_CHUNK;
    if (n == 0)
        return 0;
    /* The fifo keeps TUN_FIFO_HEADROOM >= LWS_PRE bytes before its data, so
     * lws frames (and masks) in place. */
    if (lws_write(wsi, tun_fifo_data(q), n, wp) < (int)n)
        return -1;
    tun_fifo_consume(q, n);
    if (tun_fifo_len(q) > 0)
        lws_callback_on_writable(wsi);
    return 0;
}

static int ws_writeable(struct cconn *cc, struct lws *wsi)
{
    if (write_chunk(wsi, &cc->to_ws, LWS_WRITE_BINARY) < 0)
        return -1;
    if (tun_fifo_len(&cc->to_ws) < cc->cl->opts.buffer_limit)
        flow(cc->tcp, &cc->tcp_paused, 1);
    if (tun_fifo_len(&cc->to_ws) == 0 && cc->tcp_done) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
    }
    return 0;
}

static void ws_receive(struct cconn *cc, struct lws *wsi, const void *in, size_t len)
{
    if (!lws_frame_is_binary(wsi)) {
        /* A text frame on a data channel ends it (board-protocol.md 9.3). */
        log_warn("tunnel: text frame on a data channel; closing it");
        lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, NULL, 0);
        kill_wsi(cc, wsi);
        return;
    }
    if (len == 0 || cc->tcp_done)
        return;
    tun_fifo_append(&cc->to_tcp, in, len);
    if (cc->tun != NULL)
        cc->tun->bytes_in += len;
    if (cc->tcp_up)
        lws_callback_on_writable(cc->tcp);
    if (tun_fifo_len(&cc->to_tcp) >= cc->cl->opts.buffer_limit)
        flow(wsi, &cc->ws_paused, 0);
}

int tun_cli_data_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct cconn *cc = lws_get_opaque_user_data(wsi);

    (void)user;
    if (cc == NULL)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        cc->ws_up = 1;
        if (tun_fifo_len(&cc->to_ws) > 0 || cc->tcp_done)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        ws_receive(cc, wsi, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return ws_writeable(cc, wsi);
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (reason == LWS_CALLBACK_CLIENT_CONNECTION_ERROR)
            log_info("tunnel: data channel failed: %s", in ? (const char *)in : "?");
        lws_set_opaque_user_data(wsi, NULL);
        cc->ws = NULL;
        side_done(cc, 1);
        cconn_maybe_free(cc);
        return 0;
    default:
        return 0;
    }
}

static void tcp_receive(struct cconn *cc, const void *in, size_t len)
{
    if (cc->ws_done)
        return;
    tun_fifo_append(&cc->to_ws, in, len);
    if (cc->tun != NULL)
        cc->tun->bytes_out += len;
    if (cc->ws_up)
        lws_callback_on_writable(cc->ws);
    if (tun_fifo_len(&cc->to_ws) >= cc->cl->opts.buffer_limit)
        flow(cc->tcp, &cc->tcp_paused, 0);
}

static int tcp_writeable(struct cconn *cc, struct lws *wsi)
{
    if (write_chunk(wsi, &cc->to_tcp, LWS_WRITE_RAW) < 0)
        return -1;
    if (tun_fifo_len(&cc->to_tcp) < cc->cl->opts.buffer_limit)
        flow(cc->ws, &cc->ws_paused, 1);
    return tun_fifo_len(&cc->to_tcp) == 0 && cc->ws_done ? -1 : 0;
}

int tun_cli_tcp_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    struct cconn *cc = lws_get_opaque_user_data(wsi);

    (void)user;
    if (cc == NULL)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_RAW_CONNECTED:
        cc->tcp_up = 1;
        if (tun_fifo_len(&cc->to_tcp) > 0 || cc->ws_done)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_RAW_RX:
        tcp_receive(cc, in, len);
        return 0;
    case LWS_CALLBACK_RAW_WRITEABLE:
        return tcp_writeable(cc, wsi);
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_RAW_CLOSE:
        if (reason == LWS_CALLBACK_CLIENT_CONNECTION_ERROR)
            log_info("tunnel: local service: %s", in ? (const char *)in : "connection failed");
        lws_set_opaque_user_data(wsi, NULL);
        cc->tcp = NULL;
        side_done(cc, 0);
        cconn_maybe_free(cc);
        return 0;
    default:
        return 0;
    }
}
