/* tunnel/server_conn.c: the public side of the tunnel server.
 *
 * Each tunnel listens on its public port (a libev watcher on our own socket,
 * so that EADDRINUSE is known at once). An accepted connection stays a bare,
 * unread descriptor while its id waits for the board's data channel: it is
 * "paused" for free, and the TTL timer closes it if the board never comes
 * (board-protocol.md 9.3). Once joined it becomes an lws raw socket whose
 * bytes become binary frames on the data channel, and back. */
#include "tunnel/server_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"

#define ACCEPTS_PER_EVENT 64

static void conn_unlink_pending(struct sconn *c)
{
    ev_timer_stop(c->srv->ev, &c->ttl);
    lws_dll2_remove(&c->plink);
    if (c->tun != NULL)
        c->tun->npending--;
}

static void conn_free_pending(struct sconn *c)
{
    conn_unlink_pending(c);
    if (c->fd >= 0)
        close(c->fd);
    lws_dll2_remove(&c->link);
    free(c);
}

static void on_ttl(struct ev_loop *ev, ev_timer *w, int revents)
{
    struct sconn *c = w->data;

    (void)ev;
    (void)revents;
    log_info("tunnel: connection id expired port=%d id=%s", c->tun ? c->tun->port : 0, c->id);
    c->srv->st.ids_expired++;
    conn_free_pending(c);
}

static void new_pending(struct stun *t, int fd)
{
    struct tun_server *srv = t->srv;
    struct sconn *c = xcalloc(1, sizeof(*c));
    char nc[TUN_NC_MAX];
    size_t n;

    c->srv = srv;
    c->tun = t;
    c->fd = fd;
    uuid_v4(c->id);
    lws_dll2_add_tail(&c->link, &t->conns);
    lws_dll2_add_tail(&c->plink, &srv->pending);
    t->npending++;
    t->conns_total++;
    ev_timer_init(&c->ttl, on_ttl, (double)srv->opts.data_id_ttl, 0.0);
    c->ttl.data = c;
    ev_timer_start(srv->ev, &c->ttl);
    n = tun_nc_format(nc, c->id);
    peer_send_frame(t->ctl, TUN_WS_TEXT, nc, n);
}

static void on_public_accept(struct ev_loop *ev, ev_io *w, int revents)
{
    struct stun *t = w->data;
    const struct tun_server_opts *o = &t->srv->opts;

    (void)ev;
    (void)revents;
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        int fd = accept4(t->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;

        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warn("tunnel: accept on :%d: %s", t->port, strerror(errno));
            return;
        }
        /* Limits (9.3): accepted, then closed at once. */
        if (t->ctl == NULL || t->ctl->phase != P_CONTROL ||
            t->conns.count >= o->max_connections_per_tunnel || t->npending >= o->max_pending) {
            t->srv->st.refused_limit++;
            close(fd);
            continue;
        }
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        new_pending(t, fd);
    }
}

int conn_listen(struct stun *t, struct error *err)
{
    int fd = srv_listen_socket(t->srv->opts.bind_address, t->port, NULL, err);

    if (fd < 0)
        return fd;
    t->listen_fd = fd;
    ev_io_init(&t->io, on_public_accept, fd, EV_READ);
    t->io.data = t;
    ev_io_start(t->srv->ev, &t->io);
    return 0;
}

void conn_listen_stop(struct stun *t)
{
    if (t->listen_fd < 0)
        return;
    ev_io_stop(t->srv->ev, &t->io);
    close(t->listen_fd);
    t->listen_fd = -1;
}

struct sconn *conn_take_pending(struct tun_server *srv, const char *id)
{
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&srv->pending)) {
        struct sconn *c = lws_container_of(d, struct sconn, plink);

        if (strcmp(c->id, id) == 0) {
            conn_unlink_pending(c);
            return c;
        }
    } lws_end_foreach_dll(d);
    return NULL;
}

/* Hands the paused descriptor to lws, joined to the data channel p. */
int conn_join(struct sconn *c, struct speer *p)
{
    lws_adopt_desc_t d;
    struct lws *wsi;

    memset(&d, 0, sizeof(d));
    d.vh = c->srv->vh;
    d.type = LWS_ADOPT_SOCKET;
    d.fd.sockfd = c->fd;
    d.vh_prot_name = TUN_CONN_PROTOCOL;
    d.opaque = c;
    c->fd = -1; /* lws owns it now, and closes it even when adoption fails */
    wsi = lws_adopt_descriptor_vhost_via_info(&d);
    if (wsi == NULL) {
        lws_dll2_remove(&c->link);
        free(c);
        return -EIO;
    }
    c->wsi = wsi;
    c->peer = p;
    p->conn = c;
    return 0;
}

void conn_flow(struct sconn *c, int allow)
{
    if (c->rx_paused == !allow)
        return;
    c->rx_paused = !allow;
    lws_rx_flow_control(c->wsi, allow);
}

/* Bytes of a binary frame from the board, for the public client. */
void conn_from_peer(struct sconn *c, const uint8_t *data, size_t n)
{
    if (n == 0 || c->close_after_flush)
        return;
    tun_fifo_append(&c->out, data, n);
    if (c->tun != NULL)
        c->tun->bytes_out += n;
    lws_callback_on_writable(c->wsi);
    if (tun_fifo_len(&c->out) >= c->srv->opts.buffer_limit && c->peer != NULL)
        peer_flow(c->peer, 0);
}

/* The data channel went: write what is buffered, then close. */
void conn_peer_gone(struct sconn *c)
{
    c->peer = NULL;
    c->close_after_flush = 1;
    conn_flow(c, 0);
    if (tun_fifo_len(&c->out) == 0)
        srv_kill(c->srv, c->wsi);
    else
        lws_callback_on_writable(c->wsi);
}

/* The tunnel closes: a pending connection goes now, a joined one and its
 * data channel as soon as the loop gets to them. */
void conn_drop(struct sconn *c)
{
    if (c->wsi == NULL) {
        conn_free_pending(c);
        return;
    }
    lws_dll2_remove(&c->link);
    c->tun = NULL;
    if (c->peer != NULL) {
        c->peer->conn = NULL;
        peer_kill(c->peer);
        c->peer = NULL;
    }
    srv_kill(c->srv, c->wsi);
}

static void conn_rx(struct sconn *c, const void *in, size_t len)
{
    struct speer *p = c->peer;

    if (p == NULL || p->phase != P_DATA)
        return;
    if (c->tun != NULL)
        c->tun->bytes_in += len;
    peer_send_frame(p, TUN_WS_BINARY, in, len);
    if (tun_fifo_len(&p->out) >= c->srv->opts.buffer_limit)
        conn_flow(c, 0);
}

static int conn_writeable(struct sconn *c)
{
    size_t n = tun_fifo_len(&c->out);

    if (n > TUN_WRITE_CHUNK)
        n = TUN_WRITE_CHUNK;
    if (n > 0) {
        if (lws_write(c->wsi, tun_fifo_data(&c->out), n, LWS_WRITE_RAW) < 0)
            return -1;
        tun_fifo_consume(&c->out, n);
    }
    if (tun_fifo_len(&c->out) > 0)
        lws_callback_on_writable(c->wsi);
    else if (c->close_after_flush)
        return tun_srv_close_flushed(c->wsi);
    if (c->peer != NULL && c->peer->rx_paused && tun_fifo_len(&c->out) < c->srv->opts.buffer_limit)
        peer_flow(c->peer, 1);
    return 0;
}

/* The public client hung up (or the socket failed): close 1000 (9.3). */
static void conn_closed(struct sconn *c)
{
    if (c->peer != NULL) {
        c->peer->conn = NULL;
        peer_send_close(c->peer, 1000, NULL);
    }
    lws_dll2_remove(&c->link);
    tun_fifo_free(&c->out);
    free(c);
}

int tun_srv_conn_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct sconn *c = lws_get_opaque_user_data(wsi);

    (void)user;
    if (c == NULL)
        return reason == LWS_CALLBACK_RAW_RX || reason == LWS_CALLBACK_RAW_WRITEABLE ? -1 : 0;
    switch (reason) {
    case LWS_CALLBACK_RAW_RX:
        conn_rx(c, in, len);
        return 0;
    case LWS_CALLBACK_RAW_WRITEABLE:
        return conn_writeable(c);
    case LWS_CALLBACK_RAW_CLOSE:
        lws_set_opaque_user_data(wsi, NULL);
        conn_closed(c);
        return 0;
    default:
        return 0;
    }
}
