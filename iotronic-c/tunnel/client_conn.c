/* tunnel/client_conn.c: one tunnelled connection on the board.
 *
 * The data channel speaks WebSocket on an lws raw connection with our own
 * framing (tunnel/wsproto.h), not through lws's WebSocket client: lws 4.1
 * parses what it receives one byte at a time, which capped a tunnelled
 * stream at about 150 MB/s on this machine, while these channels carry
 * nothing but bulk binary frames. The control channel, which needs none of
 * that speed, stays an lws WebSocket (client.c). Over wss the data channel is
 * an lws WebSocket too, because lws 4.1 cannot start TLS on a raw client
 * connection (it sets TLS up before the socket connects, and fails).
 *
 * On NC:<id> the data channel (GET <path>/?id=<id>) and the local
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

#include "common/encode.h"
#include "common/log.h"
#include "common/uuid.h"
#include "common/xalloc.h"

static void cconn_maybe_free(struct cconn *cc)
{
    if (cc->ws != NULL || cc->tcp != NULL)
        return;
    lws_dll2_remove(&cc->link);
    tun_fifo_free(&cc->hs);
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

static uint64_t next_rand(struct cconn *cc)
{
    /* xorshift64*: masks only need to vary (RFC 6455 10.3 guards browsers,
     * not us), and a syscall per frame would cost more than the frame. */
    cc->prng ^= cc->prng >> 12;
    cc->prng ^= cc->prng << 25;
    cc->prng ^= cc->prng >> 27;
    return cc->prng * 0x2545F4914F6CDD1DULL;
}

/* Appends one masked frame to to_ws. */
static void queue_frame(struct cconn *cc, enum tun_ws_opcode op, const void *data, size_t n)
{
    uint64_t r = next_rand(cc);
    uint8_t mask[4], hdr[14], mpos = 0;
    size_t hl;
    unsigned char *dst;

    memcpy(mask, &r, 4);
    hl = tun_ws_frame_header_masked(hdr, op, n, mask);
    dst = tun_fifo_reserve(&cc->to_ws, hl + n);
    memcpy(dst, hdr, hl);
    if (n > 0) {
        memcpy(dst + hl, data, n);
        tun_ws_unmask(dst + hl, n, mask, &mpos); /* XOR: masking is the same operation */
    }
    tun_fifo_commit(&cc->to_ws, hl + n);
}

static void queue_close(struct cconn *cc, int code)
{
    uint8_t p[2] = { (uint8_t)(code >> 8), (uint8_t)code };

    if (cc->close_sent)
        return;
    cc->close_sent = 1;
    queue_frame(cc, TUN_WS_CLOSE, p, 2);
    if (cc->ws != NULL && cc->ws_up)
        lws_callback_on_writable(cc->ws);
}

static void prepare_request(struct cconn *cc, const struct ctun *t, const char *id)
{
    unsigned char raw[16];
    char path[TUN_PATH_MAX + 64], host[TUN_HOST_MAX + 10], req[1024];
    size_t n;

    rand_bytes(raw, sizeof(raw));
    base64_encode(raw, sizeof(raw), cc->key, BASE64_STD);
    rand_bytes(&cc->prng, sizeof(cc->prng));
    cc->prng |= 1;
    cli_host_header(&t->url, host, sizeof(host));
    if (tun_url_data_path(&t->url, id, path, sizeof(path)) < 0)
        path[0] = '\0';
    n = tun_ws_client_request(path, host, cc->key, req, sizeof(req));
    tun_fifo_append(&cc->hs, req, n);
    tun_ws_dec_init_client(&cc->dec);
}

void cconn_start(struct ctun *t, const char *id)
{
    struct cconn *cc = xcalloc(1, sizeof(*cc));
    char path[TUN_PATH_MAX + 64];

    cc->cl = t->cl;
    cc->tun = t;
    lws_dll2_add_tail(&cc->link, &t->conns);
    cc->lws_ws = t->url.tls;
    if (!cc->lws_ws)
        prepare_request(cc, t, id);
    else if (tun_url_data_path(&t->url, id, path, sizeof(path)) < 0)
        path[0] = '\0';
    if (cli_connect_ws(t->cl, &t->url, cc->lws_ws ? path : NULL,
                       cc->lws_ws ? TUN_CLI_WSDATA_PROTOCOL : TUN_CLI_DATA_PROTOCOL, cc,
                       &cc->ws) < 0) {
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
    if (cc->cws == CWS_HANDSHAKE && !cc->request_sent) {
        cc->request_sent = 1;
        if (lws_write(wsi, tun_fifo_data(&cc->hs), tun_fifo_len(&cc->hs), LWS_WRITE_RAW) < 0)
            return -1;
        tun_fifo_free(&cc->hs);
        return 0;
    }
    if (cc->cws != CWS_OPEN)
        return 0;
    if (cc->tcp_done && tun_fifo_len(&cc->to_ws) == 0)
        queue_close(cc, 1000); /* TCP FIN: close 1000 after the data (9.3) */
    if (write_chunk(wsi, &cc->to_ws, LWS_WRITE_RAW) < 0)
        return -1;
    /* The local side ended and this chunk was its last: the close follows it
     * (write_chunk() asks for no further WRITEABLE once the fifo is empty). */
    if (cc->tcp_done && tun_fifo_len(&cc->to_ws) == 0)
        queue_close(cc, 1000);
    if (tun_fifo_len(&cc->to_ws) < cc->cl->opts.buffer_limit)
        flow(cc->tcp, &cc->tcp_paused, 1);
    return tun_fifo_len(&cc->to_ws) == 0 && cc->close_sent ? tun_cli_close_flushed(wsi) : 0;
}

static int on_frame(void *arg, enum tun_ws_event ev, enum tun_ws_opcode op, uint8_t *p,
                    size_t n)
{
    struct cconn *cc = arg;

    switch (ev) {
    case TUN_WSE_DATA:
        if (op == TUN_WS_TEXT) {
            /* A text frame on a data channel ends it (board-protocol.md 9.3). */
            log_warn("tunnel: text frame on a data channel; closing it");
            queue_close(cc, 1003);
            return 1;
        }
        if (n == 0 || cc->tcp_done)
            return 0;
        tun_fifo_append(&cc->to_tcp, p, n);
        if (cc->tun != NULL)
            cc->tun->bytes_in += n;
        if (cc->tcp_up)
            lws_callback_on_writable(cc->tcp);
        if (tun_fifo_len(&cc->to_tcp) >= cc->cl->opts.buffer_limit)
            flow(cc->ws, &cc->ws_paused, 0);
        return 0;
    case TUN_WSE_PING:
        queue_frame(cc, TUN_WS_PONG, p, n);
        lws_callback_on_writable(cc->ws);
        return 0;
    case TUN_WSE_PONG:
        return 0;
    case TUN_WSE_CLOSE:
    default:
        queue_close(cc, n >= 2 ? (p[0] << 8 | p[1]) : 1000);
        return 1;
    }
}

static void ws_frames(struct cconn *cc, uint8_t *in, size_t len)
{
    struct error err;
    int code = 1002;

    if (cc->ws_done)
        return;
    if (tun_ws_decode(&cc->dec, in, len, on_frame, cc, &code, &err) == -EPROTO) {
        log_warn("tunnel: data channel protocol error: %s", err.msg);
        queue_close(cc, code);
    }
    if (cc->close_sent)
        side_done(cc, 1);
}

/* The answer to the upgrade request: 101, or a refusal (404 for an id that
 * expired meanwhile). Frames may follow the head in the same read. */
static int ws_handshake(struct cconn *cc, struct lws *wsi, const uint8_t *in, size_t len)
{
    size_t hl, total;
    struct error err;
    int rc;

    tun_fifo_append(&cc->hs, in, len);
    total = tun_fifo_len(&cc->hs);
    hl = tun_http_head_len((const char *)tun_fifo_data(&cc->hs), total);
    if (hl == 0)
        return total > TUN_HTTP_HEAD_MAX ? -1 : 0;
    rc = tun_ws_client_check((const char *)tun_fifo_data(&cc->hs), hl, cc->key, &err);
    if (rc != 0) {
        log_info("tunnel: data channel refused: %s", err.msg);
        return -1;
    }
    cc->cws = CWS_OPEN;
    cc->ws_up = 1;
    if (total > hl)
        ws_frames(cc, tun_fifo_data(&cc->hs) + hl, total - hl);
    tun_fifo_free(&cc->hs);
    if (tun_fifo_len(&cc->to_ws) > 0 || cc->tcp_done)
        lws_callback_on_writable(wsi);
    return 0;
}

static int ws_rx(struct cconn *cc, struct lws *wsi, uint8_t *in, size_t len)
{
    if (cc->cws == CWS_HANDSHAKE)
        return ws_handshake(cc, wsi, in, len);
    if (cc->cws == CWS_OPEN)
        ws_frames(cc, in, len);
    return 0;
}

int tun_cli_data_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct cconn *cc = lws_get_opaque_user_data(wsi);

    (void)user;
    if (cc == NULL)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_RAW_CONNECTED:
        cc->cws = CWS_HANDSHAKE;
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_RAW_RX:
        return ws_rx(cc, wsi, in, len);
    case LWS_CALLBACK_RAW_WRITEABLE:
        return ws_writeable(cc, wsi);
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_RAW_CLOSE:
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
    if (cc->ws_done || cc->close_sent)
        return;
    if (cc->lws_ws)
        tun_fifo_append(&cc->to_ws, in, len);
    else
        queue_frame(cc, TUN_WS_BINARY, in, len);
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
    return tun_fifo_len(&cc->to_tcp) == 0 && cc->ws_done ? tun_cli_close_flushed(wsi) : 0;
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

/* wss data channels: an lws WebSocket; to_ws holds payload, framed by lws. */
static int wsdata_writeable(struct cconn *cc, struct lws *wsi)
{
    if (write_chunk(wsi, &cc->to_ws, LWS_WRITE_BINARY) < 0)
        return -1;
    if (tun_fifo_len(&cc->to_ws) < cc->cl->opts.buffer_limit)
        flow(cc->tcp, &cc->tcp_paused, 1);
    if (tun_fifo_len(&cc->to_ws) == 0 && cc->tcp_done) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return tun_cli_close_flushed(wsi);
    }
    return 0;
}

static void wsdata_receive(struct cconn *cc, struct lws *wsi, const void *in, size_t len)
{
    if (!lws_frame_is_binary(wsi)) {
        log_warn("tunnel: text frame on a data channel; closing it");
        lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, NULL, 0);
        kill_wsi(cc, wsi);
        return;
    }
    on_frame(cc, TUN_WSE_DATA, TUN_WS_BINARY, (uint8_t *)in, len);
}

int tun_cli_wsdata_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
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
        wsdata_receive(cc, wsi, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return wsdata_writeable(cc, wsi);
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
