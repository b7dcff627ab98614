/* tunnel/server_peer.c: the board side of the tunnel server, on lws raw sockets.
 *
 * A board socket reads its upgrade request (P_HEAD), may wait for the owner's
 * authorisation (P_AUTH, reading paused), and then speaks WebSocket as a
 * control channel (P_CONTROL: the server sends NC: messages, ignores data and
 * answers pings) or a data channel (P_DATA: binary frames to and from one
 * public TCP connection). Everything it sends goes through its out fifo and
 * leaves in the WRITEABLE callback; P_CLOSING sockets only flush and close. */
#include "tunnel/server_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"

#define AUTH_TIMEOUT 30  /* seconds the owner has to answer an authorisation */
#define CLOSE_TIMEOUT 5  /* seconds a closing socket has to take its last bytes */

void peer_queue(struct speer *p, const void *data, size_t n)
{
    tun_fifo_append(&p->out, data, n);
    lws_callback_on_writable(p->wsi);
}

void peer_send_frame(struct speer *p, enum tun_ws_opcode op, const void *data, size_t n)
{
    uint8_t hdr[10];
    size_t hl = tun_ws_frame_header(hdr, op, n);
    unsigned char *dst = tun_fifo_reserve(&p->out, hl + n);

    memcpy(dst, hdr, hl);
    if (n > 0)
        memcpy(dst + hl, data, n);
    tun_fifo_commit(&p->out, hl + n);
    lws_callback_on_writable(p->wsi);
}

void peer_kill(struct speer *p)
{
    p->phase = P_CLOSING;
    srv_kill(p->srv, p->wsi);
}

/* Sends a close frame and closes once it is written. */
void peer_send_close(struct speer *p, int code, const char *reason)
{
    uint8_t payload[125];
    size_t rl = reason ? strnlen(reason, sizeof(payload) - 2) : 0;

    if (p->close_after_flush)
        return;
    payload[0] = (uint8_t)(code >> 8);
    payload[1] = (uint8_t)code;
    if (rl > 0)
        memcpy(payload + 2, reason, rl);
    peer_send_frame(p, TUN_WS_CLOSE, payload, rl + 2);
    p->close_after_flush = 1;
    p->phase = P_CLOSING;
    peer_flow(p, 1);
    lws_set_timeout(p->wsi, PENDING_TIMEOUT_USER_OK, CLOSE_TIMEOUT);
}

void peer_http_error(struct speer *p, int status, const char *message)
{
    char buf[512];
    size_t n = tun_http_error_response(status, message, buf, sizeof(buf));

    if (status != 401 && status != 429)
        p->srv->st.refused_bad_request++;
    log_debug("tunnel: %d to %s: %s", status, p->addr, message);
    tun_fifo_free(&p->in);
    peer_queue(p, buf, n);
    p->close_after_flush = 1;
    p->phase = P_CLOSING;
    lws_set_timeout(p->wsi, PENDING_TIMEOUT_USER_OK, CLOSE_TIMEOUT);
}

void peer_flow(struct speer *p, int allow)
{
    if (p->rx_paused == !allow)
        return;
    p->rx_paused = !allow;
    lws_rx_flow_control(p->wsi, allow);
}

/* Sends 101: from now on the socket speaks WebSocket. */
void peer_upgrade(struct speer *p)
{
    char buf[512];
    size_t n = tun_http_upgrade_response(p->key, buf, sizeof(buf));

    tun_fifo_free(&p->in);
    tun_ws_dec_init(&p->dec);
    lws_set_timeout(p->wsi, NO_PENDING_TIMEOUT, 0);
    peer_queue(p, buf, n);
}

static void start_authorisation(struct speer *p)
{
    struct tun_server *srv = p->srv;
    struct tun_auth_request ar;

    if (p->req.uuid[0] == '\0') {
        /* As wstun with an allowlist: no client named, not authorised. */
        srv->st.refused_unauthorised++;
        peer_http_error(p, 401, "Tunnel not authorised.");
        return;
    }
    p->phase = P_AUTH;
    p->auth_id = ++srv->next_auth_id;
    peer_flow(p, 0);
    lws_set_timeout(p->wsi, PENDING_TIMEOUT_USER_OK, AUTH_TIMEOUT);
    ar.id = p->auth_id;
    ar.uuid = p->req.uuid;
    ar.public_port = p->req.public_port;
    ar.auth = p->req.auth[0] ? p->req.auth : NULL;
    ar.peer = p->addr;
    srv->auth_cb(srv->auth_arg, &ar);
}

static void start_data(struct speer *p)
{
    struct sconn *c = conn_take_pending(p->srv, p->req.id);

    if (c == NULL) {
        peer_http_error(p, 404, "Unknown, expired or already used connection id.");
        return;
    }
    if (conn_join(c, p) < 0) {
        peer_http_error(p, 503, "Cannot join the connection.");
        return;
    }
    p->phase = P_DATA;
    peer_upgrade(p);
}

/* A complete request head of hl bytes is in p->in. */
static void handle_head(struct speer *p, size_t hl)
{
    const char *head = (const char *)tun_fifo_data(&p->in);
    struct tun_http_req hr;
    struct error err;
    int status;

    error_clear(&err);
    status = tun_http_parse(head, hl, &hr, &err);
    if (status == 0 && tun_fifo_len(&p->in) != hl)
        status = error_set(&err, 400, "data sent before the handshake completed");
    if (status == 0 && tun_request_parse(hr.query ? hr.query : "", hr.query_len, &p->req, &err))
        status = 400;
    if (status != 0) {
        peer_http_error(p, status, err.msg);
        return;
    }
    memcpy(p->key, hr.key, sizeof(p->key));
    if (p->req.kind == TUN_REQ_CONTROL)
        start_authorisation(p);
    else
        start_data(p);
}

static void rx_head(struct speer *p, const void *in, size_t len)
{
    size_t hl;

    tun_fifo_append(&p->in, in, len);
    hl = tun_http_head_len((const char *)tun_fifo_data(&p->in), tun_fifo_len(&p->in));
    if (hl == 0 && tun_fifo_len(&p->in) > TUN_HTTP_HEAD_MAX)
        peer_http_error(p, 431, "Request head too large.");
    else if (hl > TUN_HTTP_HEAD_MAX)
        peer_http_error(p, 431, "Request head too large.");
    else if (hl > 0)
        handle_head(p, hl);
}

static int on_frame(void *arg, enum tun_ws_event ev, enum tun_ws_opcode op, uint8_t *data,
                    size_t n)
{
    struct speer *p = arg;

    switch (ev) {
    case TUN_WSE_DATA:
        if (p->phase != P_DATA)
            return 0; /* the control channel carries nothing from boards */
        if (op == TUN_WS_TEXT) {
            peer_send_close(p, 1003, "text frames are not allowed on a data channel");
            return 1;
        }
        if (p->conn != NULL)
            conn_from_peer(p->conn, data, n);
        return 0;
    case TUN_WSE_PING:
        peer_send_frame(p, TUN_WS_PONG, data, n);
        return 0;
    case TUN_WSE_PONG:
        return 0;
    case TUN_WSE_CLOSE:
    default:
        peer_send_close(p, n >= 2 ? (data[0] << 8 | data[1]) : 1000, NULL);
        return 1;
    }
}

static void rx_frames(struct speer *p, uint8_t *in, size_t len)
{
    struct error err;
    int code = 1002;

    if (tun_ws_decode(&p->dec, in, len, on_frame, p, &code, &err) == -EPROTO) {
        log_debug("tunnel: protocol error from %s: %s", p->addr, err.msg);
        peer_send_close(p, code, err.msg);
    }
    /* A data channel that stopped (close, text, error) ends its connection. */
    if (p->phase == P_CLOSING && p->conn != NULL) {
        conn_peer_gone(p->conn);
        p->conn = NULL;
    }
}

static int peer_rx(struct speer *p, void *in, size_t len)
{
    switch (p->phase) {
    case P_HEAD:
        rx_head(p, in, len);
        return 0;
    case P_CONTROL:
    case P_DATA:
        rx_frames(p, in, len);
        return 0;
    case P_AUTH:
        return -1; /* a client must wait for the answer to its upgrade */
    case P_CLOSING:
    default:
        return 0;
    }
}

static int peer_writeable(struct speer *p)
{
    size_t n = tun_fifo_len(&p->out);

    if (n > TUN_WRITE_CHUNK)
        n = TUN_WRITE_CHUNK;
    if (n > 0) {
        if (lws_write(p->wsi, tun_fifo_data(&p->out), n, LWS_WRITE_RAW) < 0)
            return -1;
        tun_fifo_consume(&p->out, n);
    }
    if (tun_fifo_len(&p->out) > 0)
        lws_callback_on_writable(p->wsi);
    else if (p->close_after_flush)
        return tun_srv_close_flushed(p->wsi);
    if (p->conn != NULL && p->conn->rx_paused && tun_fifo_len(&p->out) < p->srv->opts.buffer_limit)
        conn_flow(p->conn, 1);
    return 0;
}

static int peer_new(struct tun_server *srv, struct lws *wsi)
{
    struct speer *p = xcalloc(1, sizeof(*p));

    p->srv = srv;
    p->wsi = wsi;
    p->phase = P_HEAD;
    lws_get_peer_simple(wsi, p->addr, sizeof(p->addr));
    lws_dll2_add_tail(&p->link, &srv->peers);
    lws_set_opaque_user_data(wsi, p);
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, (int)srv->opts.handshake_timeout);
    return 0;
}

static void peer_free(struct speer *p)
{
    lws_set_opaque_user_data(p->wsi, NULL);
    lws_dll2_remove(&p->link);
    if (p->tun != NULL) {
        p->tun->ctl = NULL;
        srv_tunnel_close(p->tun, 0, NULL);
    }
    if (p->conn != NULL)
        conn_peer_gone(p->conn);
    tun_fifo_free(&p->in);
    tun_fifo_free(&p->out);
    free(p);
}

int tun_srv_peer_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct speer *p = lws_get_opaque_user_data(wsi);

    (void)user;
    switch (reason) {
    case LWS_CALLBACK_RAW_ADOPT:
        return peer_new(lws_vhost_user(lws_get_vhost(wsi)), wsi);
    case LWS_CALLBACK_RAW_RX:
        return p != NULL ? peer_rx(p, in, len) : -1;
    case LWS_CALLBACK_RAW_WRITEABLE:
        return p != NULL ? peer_writeable(p) : -1;
    case LWS_CALLBACK_RAW_CLOSE:
        if (p != NULL)
            peer_free(p);
        return 0;
    default:
        return 0;
    }
}
