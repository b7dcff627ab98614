/* tunnel/server.c: the tunnel server's API, its control listener and the life
 * of tunnels (one per public port). The board-side WebSocket handling is in
 * server_peer.c, the public TCP side in server_conn.c; server_int.h says who
 * owns what. */
#include "tunnel/server_int.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

#define ACCEPTS_PER_EVENT 64
#define LISTEN_BACKLOG 512

void tun_server_opts_init(struct tun_server_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->listen = "0.0.0.0:8080";
    o->bind_address = "0.0.0.0";
    o->data_id_ttl = 10;
    o->buffer_limit = 1048576;
    o->max_tunnels_per_board = 64;
    o->max_connections_per_tunnel = 256;
    o->max_pending = 64;
    o->handshake_timeout = 10;
}

/* A non-blocking, close-on-exec listening socket on a numeric address (the
 * loop must not wait for DNS). */
int srv_listen_socket(const char *host, int port, int *bound_port, struct error *err)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    struct addrinfo *ai = NULL;
    char pbuf[8];
    int fd = -1, one = 1, rc;

    snprintf(pbuf, sizeof(pbuf), "%d", port);
    rc = getaddrinfo(host[0] ? host : NULL, pbuf, &hints, &ai);
    if (rc != 0)
        return error_set(err, -EINVAL, "'%s' is not a numeric address: %s", host,
                         gai_strerror(rc));
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        rc = -errno;
        error_set(err, rc, "cannot listen on %s:%d: %s", host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return rc;
    }
    freeaddrinfo(ai);
    if (bound_port != NULL)
        *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                     : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

static void adopt_peer(struct tun_server *srv, int fd)
{
    lws_adopt_desc_t d;
    int one = 1;

    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    memset(&d, 0, sizeof(d));
    d.vh = srv->vh;
    d.type = LWS_ADOPT_SOCKET | (srv->tls ? LWS_ADOPT_ALLOW_SSL : 0);
    d.fd.sockfd = fd;
    d.vh_prot_name = TUN_PEER_PROTOCOL;
    /* On failure lws has closed the descriptor already. */
    if (lws_adopt_descriptor_vhost_via_info(&d) == NULL)
        log_warn("tunnel: cannot adopt a board connection");
}

static void on_control_accept(struct ev_loop *ev, ev_io *w, int revents)
{
    struct tun_server *srv = w->data;

    (void)ev;
    (void)revents;
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warn("tunnel: accept on :%d: %s", srv->port, strerror(errno));
            return;
        }
        adopt_peer(srv, fd);
    }
}

/* See srv_kill() in server_int.h. */
static void on_tick(struct ev_loop *ev, ev_timer *w, int revents)
{
    struct tun_server *srv = w->data;

    (void)ev;
    (void)revents;
    if (srv->peers.count > 0)
        lws_cancel_service(srv->ctx);
}

static void copy_opts(struct tun_server_opts *dst, const struct tun_server_opts *src)
{
    *dst = *src;
    dst->listen = xstrdup(src->listen ? src->listen : "0.0.0.0:8080");
    dst->bind_address = xstrdup(src->bind_address ? src->bind_address : "0.0.0.0");
    dst->cert_file = src->cert_file ? xstrdup(src->cert_file) : NULL;
    dst->key_file = src->key_file ? xstrdup(src->key_file) : NULL;
}

static void free_opts(struct tun_server_opts *o)
{
    free((char *)o->listen);
    free((char *)o->bind_address);
    free((char *)o->cert_file);
    free((char *)o->key_file);
}

static const struct lws_protocols server_protocols[] = {
    { TUN_PEER_PROTOCOL, tun_srv_peer_cb, 0, 0, 0, NULL, 0 },
    { TUN_CONN_PROTOCOL, tun_srv_conn_cb, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static int make_vhost(struct tun_server *srv, struct error *err)
{
    struct lws_context_creation_info info;

    memset(&info, 0, sizeof(info));
    info.vhost_name = "iottun-server";
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = server_protocols;
    info.user = srv;
    if (srv->tls) {
        info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = srv->opts.cert_file;
        info.ssl_private_key_filepath = srv->opts.key_file;
    }
    srv->vh = lws_create_vhost(srv->ctx, &info);
    if (srv->vh == NULL)
        return error_set(err, -EIO, "cannot create the tunnel vhost%s",
                         srv->tls ? " (check cert_file and key_file)" : "");
    return 0;
}

static int check_opts(const struct tun_server_opts *o, struct error *err)
{
    if ((o->cert_file == NULL) != (o->key_file == NULL))
        return error_set(err, -EINVAL, "cert_file and key_file go together");
    if (o->data_id_ttl == 0 || o->buffer_limit < 4096 || o->max_tunnels_per_board == 0 ||
        o->max_connections_per_tunnel == 0 || o->max_pending == 0 || o->handshake_timeout == 0)
        return error_set(err, -EINVAL, "tunnel limits must be positive (buffer_limit >= 4096)");
    return 0;
}

int tun_server_new(struct loop *loop, const struct tun_server_opts *opts,
                   tun_server_authorize_cb cb, void *cb_arg, struct tun_server **out,
                   struct error *err)
{
    char host[TUN_HOST_MAX];
    struct tun_server *srv;
    int port, rc;

    *out = NULL;
    if ((rc = check_opts(opts, err)) < 0)
        return rc;
    if (tun_hostport_parse(opts->listen ? opts->listen : "0.0.0.0:8080", 1, host, &port, err) < 0)
        return error_prefix(err, "[wstun] listen");
    srv = xcalloc(1, sizeof(*srv));
    srv->loop = loop;
    srv->ctx = loop_lws(loop);
    srv->ev = loop_ev(loop);
    srv->listen_fd = -1;
    copy_opts(&srv->opts, opts);
    srv->tls = opts->cert_file != NULL;
    if ((rc = make_vhost(srv, err)) < 0)
        goto fail;
    rc = srv->listen_fd = srv_listen_socket(host, port, &srv->port, err);
    if (rc < 0)
        goto fail;
    srv->auth_cb = cb;
    srv->auth_arg = cb_arg;
    ev_io_init(&srv->listen_io, on_control_accept, srv->listen_fd, EV_READ);
    srv->listen_io.data = srv;
    ev_io_start(srv->ev, &srv->listen_io);
    ev_timer_init(&srv->tick, on_tick, 1.0, 1.0);
    srv->tick.data = srv;
    ev_timer_start(srv->ev, &srv->tick);
    log_info("tunnel server listening on %s:%d%s", host, srv->port, srv->tls ? " (TLS)" : "");
    *out = srv;
    return 0;
fail:
    tun_server_free(srv);
    return rc;
}

struct stun *srv_tunnel_by_port(struct tun_server *srv, int port)
{
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&srv->tunnels)) {
        struct stun *t = lws_container_of(d, struct stun, link);

        if (t->port == port)
            return t;
    } lws_end_foreach_dll(d);
    return NULL;
}

static unsigned board_tunnels(struct tun_server *srv, const char *uuid)
{
    unsigned n = 0;

    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&srv->tunnels)) {
        struct stun *t = lws_container_of(d, struct stun, link);

        n += strcmp(t->uuid, uuid) == 0;
    } lws_end_foreach_dll(d);
    return n;
}

/* Closes a tunnel: its listener, its connections, and (with a code) its
 * control channel; code 0 means the control channel is already gone. */
void srv_tunnel_close(struct stun *t, int code, const char *reason)
{
    struct speer *ctl = t->ctl;

    log_info("tunnel closed port=%d board=%s reason=\"%s\"", t->port, t->uuid,
             reason ? reason : "control channel closed");
    lws_dll2_remove(&t->link);
    conn_listen_stop(t);
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&t->conns)) {
        conn_drop(lws_container_of(d, struct sconn, link));
    } lws_end_foreach_dll_safe(d, d1);
    t->srv->st.bytes_in += t->bytes_in;
    t->srv->st.bytes_out += t->bytes_out;
    t->srv->st.connections_total += t->conns_total;
    if (ctl != NULL) {
        ctl->tun = NULL;
        if (code)
            peer_send_close(ctl, code, reason);
        else
            peer_kill(ctl);
    }
    free(t);
}

/* An authorised control channel becomes a tunnel (board-protocol.md 9.2):
 * replace the port's previous tunnel, listen, then accept the WebSocket; a
 * listen failure is told with close 1011 on the accepted WebSocket. */
void srv_tunnel_open(struct speer *p)
{
    struct tun_server *srv = p->srv;
    struct stun *t, *old = srv_tunnel_by_port(srv, p->req.public_port);
    struct error err;

    if (old != NULL)
        srv_tunnel_close(old, 1000, "replaced by a new control channel");
    if (board_tunnels(srv, p->req.uuid) >= srv->opts.max_tunnels_per_board) {
        srv->st.refused_limit++;
        peer_http_error(p, 429, "Too many tunnels for this board.");
        return;
    }
    t = xcalloc(1, sizeof(*t));
    t->srv = srv;
    t->port = p->req.public_port;
    t->listen_fd = -1;
    memcpy(t->uuid, p->req.uuid, sizeof(t->uuid));
    t->since_us = time_now_us();
    peer_upgrade(p);
    if (conn_listen(t, &err) < 0) {
        log_warn("tunnel refused port=%d board=%s: %s", t->port, t->uuid, err.msg);
        free(t);
        peer_send_close(p, 1011, err.msg);
        return;
    }
    lws_dll2_add_tail(&t->link, &srv->tunnels);
    t->ctl = p;
    p->tun = t;
    p->phase = P_CONTROL;
    log_info("tunnel open port=%d board=%s peer=%s", t->port, t->uuid, p->addr);
}

void tun_server_authorize_done(struct tun_server *srv, uint64_t id, int allowed,
                               const char *reason)
{
    struct speer *p = NULL;

    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&srv->peers)) {
        struct speer *q = lws_container_of(d, struct speer, link);

        if (q->phase == P_AUTH && q->auth_id == id)
            p = q;
    } lws_end_foreach_dll(d);
    if (p == NULL) {
        log_debug("tunnel: authorisation %llu answered after its board left",
                  (unsigned long long)id);
        return;
    }
    if (!allowed) {
        log_info("tunnel unauthorised port=%d board=%s peer=%s reason=\"%s\"",
                 p->req.public_port, p->req.uuid, p->addr, reason ? reason : "");
        srv->st.refused_unauthorised++;
        peer_http_error(p, 401, "Tunnel not authorised.");
        return;
    }
    peer_flow(p, 1);
    srv_tunnel_open(p);
}

unsigned tun_server_close_board(struct tun_server *srv, const char *uuid)
{
    char norm[UUID_STR_LEN];
    unsigned n = 0;

    if (uuid_normalize(uuid, norm) < 0)
        return 0;
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&srv->tunnels)) {
        struct stun *t = lws_container_of(d, struct stun, link);

        if (strcmp(t->uuid, norm) == 0) {
            srv_tunnel_close(t, 1000, "board session ended");
            n++;
        }
    } lws_end_foreach_dll_safe(d, d1);
    return n;
}

unsigned tun_server_close_port(struct tun_server *srv, int public_port)
{
    struct stun *t = srv_tunnel_by_port(srv, public_port);

    if (t == NULL)
        return 0;
    srv_tunnel_close(t, 1000, "tunnel closed by the cloud");
    return 1;
}

static void tunnel_info(const struct stun *t, struct tun_tunnel_info *i)
{
    memset(i, 0, sizeof(*i));
    memcpy(i->uuid, t->uuid, sizeof(i->uuid));
    i->public_port = t->port;
    i->pending = t->npending;
    i->connections = t->conns.count - t->npending;
    i->connections_total = t->conns_total;
    i->bytes_in = t->bytes_in;
    i->bytes_out = t->bytes_out;
    i->since_us = t->since_us;
}

size_t tun_server_list(struct tun_server *srv, struct tun_tunnel_info **out)
{
    size_t n = 0;

    *out = NULL;
    if (srv->tunnels.count == 0)
        return 0;
    *out = xcalloc(srv->tunnels.count, sizeof(**out));
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&srv->tunnels)) {
        tunnel_info(lws_container_of(d, struct stun, link), &(*out)[n++]);
    } lws_end_foreach_dll(d);
    return n;
}

void tun_server_get_stats(const struct tun_server *srv, struct tun_server_stats *out)
{
    *out = srv->st;
    out->tunnels = srv->tunnels.count;
    lws_start_foreach_dll(struct lws_dll2 *, d, srv->tunnels.head) {
        const struct stun *t = lws_container_of(d, struct stun, link);

        out->pending += t->npending;
        out->connections += t->conns.count - t->npending;
        out->bytes_in += t->bytes_in;
        out->bytes_out += t->bytes_out;
        out->connections_total += t->conns_total;
    } lws_end_foreach_dll(d);
}

int tun_server_port(const struct tun_server *srv)
{
    return srv->port;
}

void tun_server_free(struct tun_server *srv)
{
    if (srv == NULL)
        return;
    srv->stopping = 1;
    if (ev_is_active(&srv->tick))
        ev_timer_stop(srv->ev, &srv->tick);
    if (srv->listen_fd >= 0) {
        ev_io_stop(srv->ev, &srv->listen_io);
        close(srv->listen_fd);
    }
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&srv->tunnels)) {
        srv_tunnel_close(lws_container_of(d, struct stun, link), 0, "server stopping");
    } lws_end_foreach_dll_safe(d, d1);
    /* Close every board socket now: their callbacks reach srv, which must
     * still exist, and nothing of ours may outlive this call. */
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&srv->peers)) {
        srv_kill(srv, lws_container_of(d, struct speer, link)->wsi);
    } lws_end_foreach_dll_safe(d, d1);
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&srv->peers)) {
        struct speer *p = lws_container_of(d, struct speer, link);

        log_warn("tunnel: a board socket did not close; detaching it");
        lws_set_opaque_user_data(p->wsi, NULL);
        lws_dll2_remove(&p->link);
        tun_fifo_free(&p->in);
        tun_fifo_free(&p->out);
        free(p);
    } lws_end_foreach_dll_safe(d, d1);
    if (srv->vh != NULL)
        lws_vhost_destroy(srv->vh);
    free_opts(&srv->opts);
    free(srv);
}
