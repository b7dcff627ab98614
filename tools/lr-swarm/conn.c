/* tools/lr-swarm/conn.c: the client side of RFC 6455 for one board, on libev.
 *
 * Why not lws client connections: lr-swarm must hold tens of thousands of
 * sessions from several source addresses with as little memory per board as
 * possible, and lws keeps per-connection buffers and state sized for
 * general use. Here a board's transport is its ev_io and a socket; input is
 * read into the swarm's one read buffer and handed on in place, and bytes
 * are kept per board only while a frame is incomplete (sw_rx) or the kernel
 * did not take all we wrote (sw_tx).
 *
 * Invariants: a board has a socket exactly in CONNECTING, HANDSHAKE, WAMP
 * and ONLINE. Frames from the server must be unmasked (RFC 6455 5.1);
 * ours are masked. A binary frame is a protocol violation for WAMP
 * (board-protocol.md 2). Whatever goes wrong only marks the board
 * (SW_F_KILL); the close happens at the end of the callback. */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/encode.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "swarm.h"
#include "tunnel/wsproto.h"
#include "wsframe.h"

static void want_write(struct sw_board *b, int on)
{
    int events = EV_READ | (on ? EV_WRITE : 0);

    if (b->io.fd < 0 || (on != 0) == ((b->flags & SW_F_WRITING) != 0))
        return;
    b->flags = on ? (b->flags | SW_F_WRITING) : (b->flags & ~SW_F_WRITING);
    ev_io_stop(b->sw->ev, &b->io);
    ev_io_modify(&b->io, events);
    ev_io_start(b->sw->ev, &b->io);
}

/* Queues what the kernel did not take: the iovecs from byte skip on. */
static void queue_rest(struct sw_board *b, const struct iovec *iov, int n, size_t skip)
{
    size_t total = 0, off = 0;
    struct sw_tx *t, **tail;

    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    t = xmalloc(sizeof(*t) + total - skip);
    t->next = NULL;
    t->len = total - skip;
    t->off = 0;
    for (int i = 0; i < n; i++) {
        size_t l = iov[i].iov_len;
        const unsigned char *p = iov[i].iov_base;

        if (skip >= l) {
            skip -= l;
            continue;
        }
        memcpy(t->data + off, p + skip, l - skip);
        off += l - skip;
        skip = 0;
    }
    for (tail = &b->tx; *tail != NULL; tail = &(*tail)->next)
        ;
    *tail = t;
    want_write(b, 1);
}

/* Writes the iovecs now if nothing is queued, else queues them. */
static void send_iov(struct sw_board *b, const struct iovec *iov, int n)
{
    ssize_t w = 0;

    if (b->io.fd < 0 || (b->flags & SW_F_KILL))
        return;
    if (b->tx == NULL) {
        w = writev(b->io.fd, iov, n);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            sw_board_kill(b, "write failed", 0);
            return;
        }
        if (w < 0)
            w = 0;
        b->sw->st.bytes_out += (uint64_t)w;
    }
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    if ((size_t)w < total)
        queue_rest(b, iov, n, (size_t)w);
}

static void flush(struct sw_board *b)
{
    while (b->tx != NULL) {
        struct sw_tx *t = b->tx;
        ssize_t w = write(b->io.fd, t->data + t->off, t->len - t->off);

        if (w < 0) {
            if (errno != EAGAIN && errno != EINTR)
                sw_board_kill(b, "write failed", 0);
            return;
        }
        b->sw->st.bytes_out += (uint64_t)w;
        t->off += (size_t)w;
        if (t->off < t->len)
            return;
        b->tx = t->next;
        free(t);
    }
    want_write(b, 0);
}

/* Sends one frame: a masked header, then the payload, masked in place
 * (the caller's bytes are ours to change). The mask comes from the swarm's
 * fast generator: the masking key only keeps intermediaries from reading
 * our frames as something else, and there are none on loopback. */
static void send_frame(struct sw_board *b, enum tun_ws_opcode op, unsigned char *p, size_t len)
{
    uint8_t hdr[14];
    uint32_t m = (uint32_t)sw_rand(b->sw);
    uint8_t mask[4];
    struct iovec iov[2];
    size_t hl;

    memcpy(mask, &m, 4);
    hl = tun_ws_frame_header_masked(hdr, op, len, mask);
    for (size_t i = 0; i < len; i++)
        p[i] ^= mask[i & 3];
    iov[0] = (struct iovec){hdr, hl};
    iov[1] = (struct iovec){p, len};
    send_iov(b, iov, len ? 2 : 1);
}

void sw_conn_send_text(struct sw_board *b, char *frame, size_t len)
{
    send_frame(b, TUN_WS_TEXT, (unsigned char *)frame, len);
    free(frame);
}

void sw_conn_ping(struct sw_board *b)
{
    unsigned char p[4] = {'s', 'w', 'r', 'm'};

    send_frame(b, TUN_WS_PING, p, sizeof(p));
}

void sw_conn_send_close(struct sw_board *b, uint16_t code)
{
    unsigned char p[2] = {(unsigned char)(code >> 8), (unsigned char)code};

    if (b->flags & SW_F_CLOSE_SENT)
        return;
    b->flags |= SW_F_CLOSE_SENT;
    send_frame(b, TUN_WS_CLOSE, p, sizeof(p));
}

void sw_conn_close(struct sw_board *b)
{
    if (b->io.fd >= 0) {
        ev_io_stop(b->sw->ev, &b->io);
        close(b->io.fd);
        ev_io_set(&b->io, -1, EV_READ);
    }
    b->flags &= ~(SW_F_WRITING | SW_F_CLOSE_SENT);
    while (b->tx != NULL) {
        struct sw_tx *t = b->tx;

        b->tx = t->next;
        free(t);
    }
    if (b->rx != NULL) {
        buf_free(&b->rx->in);
        buf_free(&b->rx->frag);
        free(b->rx);
        b->rx = NULL;
    }
}

static struct sw_rx *rx_get(struct sw_board *b)
{
    if (b->rx == NULL) {
        b->rx = xcalloc(1, sizeof(*b->rx));
        buf_init(&b->rx->in, b->sw->o.max_message + 16 + SW_HEAD_MAX);
        buf_init(&b->rx->frag, b->sw->o.max_message);
    }
    return b->rx;
}

/* ---------------------------------------------------------------- handshake */

static void send_upgrade(struct sw_board *b)
{
    const struct sw_url *u = &b->sw->urls[b->url];
    unsigned char raw[16];
    struct buf req;
    struct iovec iov;

    for (int i = 0; i < 16; i += 8) {
        uint64_t r = sw_rand(b->sw);
        memcpy(raw + i, &r, 8);
    }
    base64_encode(raw, sizeof(raw), b->key, BASE64_STD);
    buf_init(&req, 4096);
    if (buf_printf(&req,
                   "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: " SW_WS_SUBPROTOCOL "\r\n\r\n",
                   u->path, u->hostport, b->key) < 0) {
        buf_free(&req);
        sw_board_kill(b, "request too long", 0);
        return;
    }
    iov = (struct iovec){req.data, req.len};
    send_iov(b, &iov, 1);
    buf_free(&req);
    sw_set_state(b, SW_HANDSHAKE);
}

/* 503 (the wagent's handshake limit, board-protocol.md 2): come back after
 * Retry-After seconds, spread over one more second. */
static void refused(struct sw_board *b, unsigned secs)
{
    b->sw->st.refused++;
    sw_note(b->sw, SW_N_REFUSED, "board %u: the wagent refused the upgrade (503), retry in %u s",
            b->idx, secs);
    sw_board_kill(b, "503", 0);
    b->due = sw_now(b->sw) + secs * 1000 + (uint32_t)(sw_rand(b->sw) % 1000);
    b->flags |= SW_F_DUE; /* the due time above is the backoff */
}

/* Consumes the answer head from p; returns the bytes used (0: incomplete). */
static size_t handshake_input(struct sw_board *b, const unsigned char *p, size_t n)
{
    const char *s = (const char *)p;
    size_t hl = sw_ws_head_len(s, n, SW_HEAD_MAX);
    unsigned retry = 0;
    struct error err;
    int rc;

    if (hl == 0) {
        if (n >= SW_HEAD_MAX) {
            sw_note(b->sw, SW_N_HANDSHAKE, "board %u: answer head too long", b->idx);
            b->sw->st.handshake_fail++;
            sw_board_kill(b, "head too long", 0);
        }
        return 0;
    }
    rc = sw_ws_head_check(s, hl, b->key, &retry, &err);
    if (rc == -EAGAIN) {
        refused(b, retry);
    } else if (rc < 0) {
        sw_note(b->sw, SW_N_HANDSHAKE, "board %u: %s", b->idx, err.msg);
        b->sw->st.handshake_fail++;
        sw_board_kill(b, "handshake", 0);
    } else {
        sw_board_opened(b);
    }
    return hl;
}

/* ---------------------------------------------------------------- frames */

static void violation(struct sw_board *b, uint16_t code, const char *why)
{
    sw_note(b->sw, SW_N_PROTO, "board %u: WebSocket protocol error: %s", b->idx, why);
    sw_conn_send_close(b, code);
    sw_board_kill(b, why, 0);
}

static void control(struct sw_board *b, uint8_t op, unsigned char *p, size_t len)
{
    switch (op) {
    case TUN_WS_PING:
        send_frame(b, TUN_WS_PONG, p, len);
        break;
    case TUN_WS_CLOSE:
        sw_conn_send_close(b, len >= 2 ? (uint16_t)(p[0] << 8 | p[1]) : 1000);
        sw_board_kill(b, "closed by the wagent", 0);
        break;
    default: /* pong: last_rx is all it means */
        break;
    }
}

static void data(struct sw_board *b, uint8_t op, int fin, const unsigned char *p, size_t len)
{
    struct sw_rx *rx = b->rx;

    if (op == TUN_WS_BINARY || (op == TUN_WS_CONT && (rx == NULL || rx->frag_op == 0)) ||
        (op == TUN_WS_TEXT && rx != NULL && rx->frag_op != 0)) {
        violation(b, 1002, op == TUN_WS_BINARY ? "binary frame" : "bad fragmentation");
        return;
    }
    if (fin && op == TUN_WS_TEXT) {
        sw_board_text(b, (const char *)p, len);
        return;
    }
    rx = rx_get(b);
    if (buf_append(&rx->frag, p, len) < 0) {
        violation(b, 1009, "message too big");
        return;
    }
    rx->frag_op = TUN_WS_TEXT;
    if (fin) {
        size_t n;
        char *msg = buf_take(&rx->frag, &n);

        rx->frag_op = 0;
        sw_board_text(b, msg, n);
        free(msg);
    }
}

/* Decodes the frames in p[0..n); returns the bytes used (a trailing
 * incomplete frame is left). */
static size_t frames_input(struct sw_board *b, unsigned char *p, size_t n)
{
    size_t used = 0;

    while (!(b->flags & SW_F_KILL)) {
        struct sw_ws_frame f;
        uint16_t code = 1002;
        struct error err;
        unsigned char *payload;
        int rc = sw_ws_frame_parse(p + used, n - used, b->sw->o.max_message, &f, &code, &err);

        if (rc == 0)
            break;
        if (rc < 0) {
            violation(b, code, err.msg);
            break;
        }
        payload = p + used + f.header_len;
        if (f.opcode >= 0x8)
            control(b, f.opcode, payload, (size_t)f.payload_len);
        else
            data(b, f.opcode, f.fin, payload, (size_t)f.payload_len);
        used += f.header_len + (size_t)f.payload_len;
    }
    return used;
}

static size_t input(struct sw_board *b, unsigned char *p, size_t n)
{
    size_t used = 0;

    if (b->state == SW_HANDSHAKE) {
        used = handshake_input(b, p, n);
        if (used == 0 || b->state == SW_HANDSHAKE || (b->flags & SW_F_KILL))
            return used;
    }
    return used + frames_input(b, p + used, n - used);
}

/* Hands new bytes on, through the board's kept input if it has some. */
static void received(struct sw_board *b, unsigned char *p, size_t n)
{
    size_t used;

    if (b->rx != NULL && b->rx->in.len > 0) {
        if (buf_append(&b->rx->in, p, n) < 0) {
            violation(b, 1009, "message too big");
            return;
        }
        used = input(b, (unsigned char *)b->rx->in.data, b->rx->in.len);
        if (b->rx != NULL && !(b->flags & SW_F_KILL))
            buf_consume(&b->rx->in, used);
        return;
    }
    used = input(b, p, n);
    if (used < n && !(b->flags & SW_F_KILL) && b->io.fd >= 0 &&
        buf_append(&rx_get(b)->in, p + used, n - used) < 0)
        violation(b, 1009, "message too big");
}

static void do_read(struct sw_board *b)
{
    ssize_t r = read(b->io.fd, b->sw->rbuf, SW_RBUF);

    if (r > 0) {
        b->last_rx = sw_now(b->sw);
        b->sw->st.bytes_in += (uint64_t)r;
        received(b, b->sw->rbuf, (size_t)r);
    } else if (r == 0) {
        sw_board_kill(b, "connection closed", 0);
    } else if (errno != EAGAIN && errno != EINTR) {
        sw_board_kill(b, "read failed", 0);
    }
}

static void connected(struct sw_board *b)
{
    int e = 0;
    socklen_t el = sizeof(e);

    if (getsockopt(b->io.fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
        e = errno;
    if (e != 0) {
        b->sw->st.connect_fail++;
        sw_note(b->sw, SW_N_CONNECT, "board %u: connect to %s: %s", b->idx,
                b->sw->urls[b->url].text, strerror(e));
        sw_board_kill(b, "connect failed", 0);
        return;
    }
    want_write(b, 0);
    send_upgrade(b);
}

static void on_io(struct ev_loop *ev, ev_io *w, int revents)
{
    struct sw_board *b = w->data;

    (void)ev;
    if (b->state == SW_CONNECTING) {
        if (revents & (EV_WRITE | EV_READ))
            connected(b);
    } else {
        if ((revents & EV_WRITE) && b->tx != NULL)
            flush(b);
        if ((revents & EV_READ) && !(b->flags & SW_F_KILL))
            do_read(b);
    }
    sw_board_reap(b);
}

int sw_conn_open(struct sw_board *b, uint16_t url)
{
    struct swarm *sw = b->sw;
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr = sw->o.sources[b->src]};
    int one = 1, fd, rc;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* Board calls are small request/answer pairs: never wait for Nagle. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* Choose the port at connect(), per destination, so that each source
     * address offers the whole ephemeral range to each wagent. */
    (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
        (connect(fd, (struct sockaddr *)&sw->urls[url].addr, sizeof(sw->urls[url].addr)) < 0 &&
         errno != EINPROGRESS)) {
        rc = -errno;
        close(fd);
        return rc;
    }
    b->url = url;
    ev_io_init(&b->io, on_io, fd, EV_READ | EV_WRITE);
    b->io.data = b;
    b->flags |= SW_F_WRITING;
    ev_io_start(sw->ev, &b->io);
    sw_set_state(b, SW_CONNECTING);
    return 0;
}
