/* wagent/transport.c: the WAMP listener's sockets (board-protocol.md 2).
 *
 * Each accepted connection is an lws raw socket (TLS when configured) and a
 * struct wag_session. The upgrade request is read and answered here
 * (handshake.h): 101 with wamp.2.json, or the exact refusal. Then bytes go
 * through the RFC 6455 decoder of tunnel/wsproto.h; text messages, whole or
 * reassembled from fragments up to max_message_size, go to the router.
 * Anything else a client may not send (binary frames, bad framing, an
 * oversized message) ends that session only.
 *
 * Writing: frames queue on the session and leave in the WRITEABLE callback,
 * small ones coalesced into one write. A board that stops reading is not
 * read from either once WAG_TX_PAUSE bytes are queued for it, and is closed
 * past WAG_TX_LIMIT, so no board can make the wagent buffer without bound. */
#include "wagent/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "wagent/handshake.h"

#define WAG_WRITE_CHUNK (256 * 1024)
#define WAG_TX_PAUSE (4u << 20)  /* queued bytes above which the board is not read */
#define WAG_TX_RESUME (1u << 20) /* ... until the queue drains below this */
/* Connections above max_sessions still get their 503; beyond this many more
 * they are refused before anything is read. */
#define WAG_HANDSHAKE_SLACK 4096

static size_t tx_limit(const struct wag *w)
{
    return 2 * (size_t)w->cfg->max_message_size + WAG_TX_PAUSE;
}

/* ------------------------------------------------------------ frames */

void wag_frame_begin(struct wag *w, struct buf *b)
{
    static const char zero[WAG_FRAME_PRE];

    buf_init(b, WAG_FRAME_PRE + (size_t)w->cfg->max_message_size);
    if (buf_append(b, zero, WAG_FRAME_PRE) < 0)
        abort(); /* the limit is above WAG_FRAME_PRE */
}

static void tx_push(struct wag_session *s, struct wag_frame *f)
{
    f->next = NULL;
    if (s->tx_tail != NULL)
        s->tx_tail->next = f;
    else
        s->tx_head = f;
    s->tx_tail = f;
    s->tx_bytes += f->len;
    if (s->w->m.bytes_out != NULL)
        metrics_add(s->w->m.bytes_out, (double)f->len);
    if (s->tx_bytes > WAG_TX_PAUSE && !s->rx_paused) {
        s->rx_paused = 1;
        lws_rx_flow_control(s->wsi, 0);
    }
    lws_callback_on_writable(s->wsi);
    if (s->tx_bytes > tx_limit(s->w) && !s->close_after_flush) {
        log_warn("session %llu peer=%s: not reading (%zu bytes queued); closing",
                 (unsigned long long)s->id, s->peer, s->tx_bytes);
        wag_session_end(s, "not reading");
        s->kill = 1;
        if (!s->in_callback) {
            lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
            loop_kick_lws(s->w->loop);
        }
    }
}

void wag_session_queue(struct wag_session *s, struct buf *b, enum tun_ws_opcode op)
{
    uint8_t hdr[10];
    size_t plen = b->len - WAG_FRAME_PRE, hl;
    struct wag_frame *f;
    size_t total;
    char *mem;

    if (s->close_after_flush || s->kill) {
        buf_free(b);
        return;
    }
    hl = tun_ws_frame_header(hdr, op, plen);
    mem = buf_take(b, &total);
    f = (struct wag_frame *)mem;
    f->start = WAG_FRAME_PRE - hl;
    memcpy(mem + f->start, hdr, hl);
    f->len = hl + plen;
    f->sent = 0;
    tx_push(s, f);
}

/* Raw bytes (HTTP answers), outside any frame. */
static void queue_raw(struct wag_session *s, const char *p, size_t n)
{
    struct wag_frame *f = xmalloc(WAG_FRAME_PRE + n);

    f->start = WAG_FRAME_PRE;
    f->len = n;
    f->sent = 0;
    memcpy((char *)f + WAG_FRAME_PRE, p, n);
    tx_push(s, f);
}

void wag_session_send_text(struct wag_session *s, const char *text, size_t n)
{
    struct buf b;

    wag_frame_begin(s->w, &b);
    if (buf_append(&b, text, n) < 0) {
        log_warn("session %llu: a %zu-byte message exceeds max_message_size; not sent",
                 (unsigned long long)s->id, n);
        buf_free(&b);
        return;
    }
    wag_session_queue(s, &b, TUN_WS_TEXT);
}

int wag_session_send(struct wag_session *s, const struct wamp_msg *msg)
{
    struct error err;
    struct buf b;
    int rc;

    if (!wag_session_live(s) && msg->type != WAMP_ABORT && msg->type != WAMP_GOODBYE)
        return -ESHUTDOWN;
    wag_frame_begin(s->w, &b);
    rc = wamp_msg_write(&b, msg, &err);
    if (rc < 0) {
        log_warn("session %llu: cannot send %s: %s", (unsigned long long)s->id,
                 wamp_type_name(msg->type),
                 rc == -EMSGSIZE ? "larger than max_message_size" : err.msg);
        buf_free(&b);
        return rc;
    }
    wag_count_out(s->w, msg->type);
    wag_session_queue(s, &b, TUN_WS_TEXT);
    return 0;
}

/* ------------------------------------------------------------ the handshake */

static void count_hs(struct wag *w, enum wag_hs_outcome o)
{
    if (w->m.handshakes[o] != NULL)
        metrics_inc(w->m.handshakes[o]);
}

static void refuse(struct wag_session *s, int status, const char *message, int retry_after)
{
    char buf[1024];
    size_t n = wag_hs_error(status, message, retry_after, buf, sizeof(buf));

    count_hs(s->w, status == 400   ? WAG_HS_400
                   : status == 426 ? WAG_HS_426
                   : status == 503 ? WAG_HS_503
                                   : WAG_HS_OTHER);
    log_debug("wamp: %d to %s: %s", status, s->peer, message);
    queue_raw(s, buf, n);
    s->close_after_flush = 1;
    wag_session_end(s, NULL);
}

static unsigned live_sessions(const struct wag *w)
{
    return w->count[WAG_S_HELLO] + w->count[WAG_S_AUTHWAIT] + w->count[WAG_S_CHALLENGED] +
           w->count[WAG_S_UNBOUND] + w->count[WAG_S_BOUND];
}

static void rx_frames(struct wag_session *s, uint8_t *in, size_t len);

/* A complete head of hl bytes is at the start of head[0..len). */
static void handshake(struct wag_session *s, char *head, size_t hl, size_t len)
{
    struct wag *w = s->w;
    struct wag_hs hs;
    struct error err;
    char buf[256];
    int status;

    error_clear(&err);
    status = wag_hs_parse(head, hl, &hs, &err);
    if (status != 0) {
        refuse(s, status, err.msg, 0);
        return;
    }
    if (live_sessions(w) >= (unsigned)w->cfg->max_sessions) {
        refuse(s, 503, "Too many sessions; retry later.", 1);
        return;
    }
    if (!wag_hsrate_take(&w->hsrate, (unsigned)w->cfg->max_handshakes_per_second, wag_now(w))) {
        refuse(s, 503, "Too many handshakes; retry later.", 1);
        return;
    }
    count_hs(w, WAG_HS_OK);
    queue_raw(s, buf, wag_hs_accept(&hs, buf, sizeof(buf)));
    wag_session_set_state(s, WAG_S_HELLO);
    /* A session must say HELLO within bind_timeout too. */
    s->deadline = wag_now(w) + (ev_tstamp)w->cfg->bind_timeout;
    wag_session_rearm(s);
    if (len > hl)
        rx_frames(s, (uint8_t *)head + hl, len - hl);
}

static void rx_head(struct wag_session *s, const void *in, size_t len)
{
    size_t hl, total;
    char *head;

    if (buf_append(&s->rx, in, len) < 0) {
        refuse(s, 431, "Request head too large.", 0);
        return;
    }
    hl = wag_hs_head_len(s->rx.data, s->rx.len);
    if (hl == 0)
        return;
    /* The head's buffer leaves s->rx, which now collects messages; bytes
     * after the head (frames sent at once) are decoded from it. */
    head = buf_take(&s->rx, &total);
    buf_init(&s->rx, (size_t)s->w->cfg->max_message_size);
    handshake(s, head, hl, total);
    free(head);
}

/* ------------------------------------------------------------ frames in */

static void message(struct wag_session *s, char *text, size_t n, int owned)
{
    struct wag *w = s->w;
    struct wamp_msg *m = NULL;
    struct error err;
    int rc;

    error_clear(&err);
    if (owned)
        rc = wamp_msg_parse_take(text, n, (size_t)w->cfg->max_message_size, &m, &err);
    else
        rc = wamp_msg_parse_max(text, n, (size_t)w->cfg->max_message_size, &m, &err);
    if (rc == -EMSGSIZE) {
        wag_session_violation_code(s, 1009, "message too large");
        return;
    }
    if (rc < 0) {
        wag_session_violation(s, "%s", err.msg);
        return;
    }
    if (m->type < WAG_TYPE_MAX && w->m.msg_in[m->type] != NULL)
        metrics_inc(w->m.msg_in[m->type]);
    wag_router_message(s, m);
    wamp_msg_free(m);
}

static void data_piece(struct wag_session *s, enum tun_ws_opcode op, uint8_t *p, size_t n)
{
    int complete = wag_ws_message_complete(&s->dec);
    size_t total;
    char *text;

    if (op == TUN_WS_BINARY) {
        wag_session_violation(s, "binary frames are not allowed (wamp.2.json)");
        return;
    }
    if (p == NULL)
        p = (uint8_t *)""; /* an empty frame */
    if (complete && s->rx.len == 0) {
        message(s, (char *)p, n, 0);
        return;
    }
    if (n > 0 && buf_append(&s->rx, p, n) < 0) {
        buf_reset(&s->rx);
        wag_session_violation_code(s, 1009, "message too large");
        return;
    }
    if (complete) {
        text = buf_take(&s->rx, &total);
        buf_init(&s->rx, (size_t)s->w->cfg->max_message_size);
        message(s, text, total, 1);
    }
}

static void send_control(struct wag_session *s, enum tun_ws_opcode op, const void *p, size_t n)
{
    struct buf b;

    wag_frame_begin(s->w, &b);
    if (n > 0 && buf_append(&b, p, n) < 0)
        abort(); /* control payloads are at most 125 bytes */
    wag_session_queue(s, &b, op);
}

static int on_ws_event(void *arg, enum tun_ws_event ev, enum tun_ws_opcode op, uint8_t *p, size_t n)
{
    struct wag_session *s = arg;

    if (!wag_session_live(s))
        return 1;
    switch (ev) {
    case TUN_WSE_DATA:
        data_piece(s, op, p, n);
        break;
    case TUN_WSE_PING:
        send_control(s, TUN_WS_PONG, p, n);
        break;
    case TUN_WSE_PONG:
        break;
    case TUN_WSE_CLOSE:
    default:
        /* Echo the peer's code, as RFC 6455 5.5.1 asks, and close. */
        send_control(s, TUN_WS_CLOSE, p, n >= 2 ? 2 : 0);
        s->close_after_flush = 1;
        wag_session_end(s, "closed by the board");
        return 1;
    }
    return wag_session_live(s) ? 0 : 1;
}

static void rx_frames(struct wag_session *s, uint8_t *in, size_t len)
{
    struct error err;
    int code = 1002;

    error_clear(&err);
    if (tun_ws_decode(&s->dec, in, len, on_ws_event, s, &code, &err) == -EPROTO &&
        wag_session_live(s))
        wag_session_violation_code(s, code, err.msg);
}

static void on_rx(struct wag_session *s, void *in, size_t len)
{
    s->last_rx = wag_now(s->w);
    if (s->w->m.bytes_in != NULL)
        metrics_add(s->w->m.bytes_in, (double)len);
    if (!wag_session_live(s))
        return; /* closing: what the board still sends is discarded */
    if (s->state == WAG_S_HANDSHAKE)
        rx_head(s, in, len);
    else
        rx_frames(s, in, len);
}

/* ------------------------------------------------------------ writing */

/* Copies whole small frames from the queue into the scratch buffer, for one
 * write. Returns the byte count (0: the head frame is large, write it alone). */
static size_t coalesce(struct wag_session *s)
{
    unsigned char *dst = s->w->scratch + LWS_PRE;
    size_t n = 0;

    for (struct wag_frame *f = s->tx_head; f != NULL; f = f->next) {
        size_t left = f->len - f->sent;

        if (n + left > WAG_SCRATCH - LWS_PRE)
            break;
        memcpy(dst + n, (char *)f + f->start + f->sent, left);
        n += left;
    }
    return s->tx_head != NULL && s->tx_head->next != NULL ? n : 0;
}

static void tx_consume(struct wag_session *s, size_t n)
{
    while (n > 0 && s->tx_head != NULL) {
        struct wag_frame *f = s->tx_head;
        size_t left = f->len - f->sent, k = left < n ? left : n;

        f->sent += k;
        n -= k;
        if (f->sent < f->len)
            break;
        s->tx_head = f->next;
        if (s->tx_head == NULL)
            s->tx_tail = NULL;
        s->tx_bytes -= f->len;
        free(f);
    }
}

static int on_writeable(struct wag_session *s)
{
    struct wag_frame *f = s->tx_head;
    size_t n;

    if (f != NULL) {
        n = coalesce(s);
        if (n > 0) {
            if (lws_write(s->wsi, s->w->scratch + LWS_PRE, n, LWS_WRITE_RAW) < 0)
                return -1;
        } else {
            n = f->len - f->sent;
            if (n > WAG_WRITE_CHUNK)
                n = WAG_WRITE_CHUNK;
            if (lws_write(s->wsi, (unsigned char *)f + f->start + f->sent, n, LWS_WRITE_RAW) < 0)
                return -1;
        }
        tx_consume(s, n);
    }
    if (s->tx_head != NULL)
        lws_callback_on_writable(s->wsi);
    else if (s->close_after_flush)
        return -1;
    if (s->rx_paused && s->tx_bytes < WAG_TX_RESUME && wag_session_live(s)) {
        s->rx_paused = 0;
        lws_rx_flow_control(s->wsi, 1);
    }
    return 0;
}

/* ------------------------------------------------------------ lifecycle */

static void peer_name(struct wag_session *s)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (getpeername(lws_get_socket_fd(s->wsi), (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;

            inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

            inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
            port = ntohs(a->sin6_port);
        }
        if (wag_addr_key((struct sockaddr *)&ss, &s->addr) < 0)
            memset(&s->addr, 0, sizeof(s->addr));
    }
    snprintf(s->peer, sizeof(s->peer), strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip, port);
}

static int on_adopt(struct wag *w, struct lws *wsi)
{
    struct wag_session *s = xcalloc(1, sizeof(*s));

    s->w = w;
    s->wsi = wsi;
    s->state = WAG_S_HANDSHAKE;
    w->count[WAG_S_HANDSHAKE]++;
    lws_dll2_add_tail(&s->link, &w->all);
    lws_set_opaque_user_data(wsi, s);
    peer_name(s);
    buf_init(&s->rx, WAG_HS_HEAD_MAX);
    tun_ws_dec_init(&s->dec);
    s->opened = s->last_rx = s->last_ping = wag_now(w);
    s->deadline = s->opened + WAG_HANDSHAKE_TIMEOUT;
    wag_bucket_init(&s->callee_rate, WAG_CALLEE_BURST, s->opened);
    ev_timer_init(&s->timer, wag_session_timer_cb, 0, 0);
    s->timer.data = s;
    wag_session_rearm(s);
    return 0;
}

static int in_cb(struct wag_session *s, int (*fn)(struct wag_session *, void *, size_t), void *in,
                 size_t len)
{
    int rc;

    s->in_callback = 1;
    rc = fn(s, in, len);
    s->in_callback = 0;
    return rc < 0 || s->kill ? -1 : 0;
}

static int rx_cb(struct wag_session *s, void *in, size_t len)
{
    on_rx(s, in, len);
    return 0;
}

static int wr_cb(struct wag_session *s, void *in, size_t len)
{
    (void)in;
    (void)len;
    return on_writeable(s);
}

int wag_transport_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    struct wag_session *s = lws_get_opaque_user_data(wsi);
    struct wag *w;

    (void)user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        w = lws_vhost_user(lws_get_vhost(wsi));
        return w == NULL || w->stopping ||
               w->all.count >= (uint32_t)w->cfg->max_sessions + WAG_HANDSHAKE_SLACK;
    case LWS_CALLBACK_RAW_ADOPT:
        w = lws_vhost_user(lws_get_vhost(wsi));
        return w == NULL ? -1 : on_adopt(w, wsi);
    case LWS_CALLBACK_RAW_RX:
        return s != NULL ? in_cb(s, rx_cb, in, len) : -1;
    case LWS_CALLBACK_RAW_WRITEABLE:
        return s != NULL ? in_cb(s, wr_cb, NULL, 0) : -1;
    case LWS_CALLBACK_RAW_CLOSE:
        if (s != NULL) {
            lws_set_opaque_user_data(wsi, NULL);
            wag_session_free(s);
        }
        return 0;
    default:
        return 0;
    }
}
